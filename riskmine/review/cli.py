"""`riskmine users|keys|orgs`: users, API keys and the organisation tree.

Each change is recorded in the audit log under the actor ``cli:<login name>``. Passwords are
asked for at a hidden prompt unless given with ``--password`` (e.g. in scripts).
"""

from __future__ import annotations

import getpass
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

from riskmine.review import audit, orgs
from riskmine.review.errors import ReviewError
from riskmine.review.repository import ReviewRepository, open_review_repository
from riskmine.review.roles import SystemActor

if TYPE_CHECKING:
    from riskmine.review.users import UserStore
    from riskmine.settings import Settings

users_app = typer.Typer(help="Create, list and change users and their roles.", no_args_is_help=True)
keys_app = typer.Typer(help="Issue, list and revoke API keys for machines.", no_args_is_help=True)
orgs_app = typer.Typer(help="The organisation tree: province, city, county, station.", no_args_is_help=True)

out = Console()
err = Console(stderr=True)


def _settings() -> Settings:
    from riskmine.settings import get_settings

    return get_settings()


def _actor() -> SystemActor:
    try:
        name = getpass.getuser()
    except Exception:  # no login name (some containers)
        name = "unknown"
    return SystemActor(f"cli:{name}")


def _db() -> ReviewRepository:
    return open_review_repository(_settings())


def _users() -> UserStore:
    from riskmine.review.users import UserStore

    return UserStore.from_settings(_settings())


def _fail(message: str) -> typer.Exit:
    err.print(f"[red]error:[/red] {message}")
    return typer.Exit(2)


def _check_org(organisation: str | None) -> None:
    if organisation and orgs.get_org(_db(), organisation) is None:
        raise _fail(f"no organisation {organisation!r} in the tree; add it with `riskmine orgs add` first")


# --- users ---------------------------------------------------------------------------------


@users_app.command("add")
def users_add(
    username: str,
    role: Annotated[str, typer.Option(help="admin, analyst, publisher, station, viewer or api_consumer")] = "viewer",
    org: Annotated[str | None, typer.Option("--org", help="organisation in the tree")] = None,
    password: Annotated[str | None, typer.Option(help="default: asked for at a hidden prompt")] = None,
) -> None:
    """Create a user."""
    from riskmine.review.users import UserError

    _check_org(org)
    pw = password if password is not None else typer.prompt("password", hide_input=True, confirmation_prompt=True)
    try:
        user = _users().create_user(username, pw, role, organisation=org)
    except UserError as exc:
        raise _fail(str(exc)) from None
    public = {k: v for k, v in user.public().items() if k != "via"}
    audit.record(_db(), _actor(), "user.create", "user", user.username, after=public)
    out.print(f"created {user.username} ({user.role.value}, organisation {user.organisation or '-'})")


@users_app.command("list")
def users_list() -> None:
    """All active users."""
    table = Table("username", "role", "organisation", "id")
    for u in _users().list_users():
        table.add_row(u.username, u.role.value, u.organisation or "-", u.id)
    out.print(table)


@users_app.command("set-role")
def users_set_role(username: str, role: str) -> None:
    """Change a user's role."""
    from riskmine.review.users import UserError

    store = _users()
    before = store.get_by_username(username)
    try:
        user = store.set_role(username, role)
    except UserError as exc:
        raise _fail(str(exc)) from None
    audit.record(
        _db(),
        _actor(),
        "user.set_role",
        "user",
        username,
        before={"role": before.role.value if before else None},
        after={"role": user.role.value},
    )
    out.print(f"{username} is now {user.role.value}")


@users_app.command("set-org")
def users_set_org(
    username: str, organisation: Annotated[str, typer.Argument(help="organisation name; '-' clears it")]
) -> None:
    """Change a user's organisation."""
    from riskmine.review.users import UserError

    org = None if organisation == "-" else organisation
    _check_org(org)
    store = _users()
    before = store.get_by_username(username)
    try:
        user = store.set_organisation(username, org)
    except UserError as exc:
        raise _fail(str(exc)) from None
    audit.record(
        _db(),
        _actor(),
        "user.set_org",
        "user",
        username,
        before={"organisation": before.organisation if before else None},
        after={"organisation": user.organisation},
    )
    out.print(f"{username} now belongs to {user.organisation or '-'}")


@users_app.command("passwd")
def users_passwd(
    username: str, password: Annotated[str | None, typer.Option(help="default: asked for at a hidden prompt")] = None
) -> None:
    """Set a user's password."""
    from riskmine.review.users import UserError

    pw = password if password is not None else typer.prompt("new password", hide_input=True, confirmation_prompt=True)
    try:
        _users().set_password(username, pw)
    except UserError as exc:
        raise _fail(str(exc)) from None
    audit.record(_db(), _actor(), "user.set_password", "user", username)
    out.print(f"password of {username} changed")


def _set_disabled(username: str, disabled: bool) -> None:
    from riskmine.review.users import UserError

    try:
        _users().set_disabled(username, disabled)
    except UserError as exc:
        raise _fail(str(exc)) from None
    action = "user.disable" if disabled else "user.enable"
    audit.record(_db(), _actor(), action, "user", username, after={"disabled": disabled})


@users_app.command("disable")
def users_disable(username: str) -> None:
    """Disable a user: its tokens, console session and API keys are refused from the next request on, in every
    server process; nothing of what it did is removed."""
    _set_disabled(username, True)
    out.print(f"{username} is disabled")


@users_app.command("enable")
def users_enable(username: str) -> None:
    """Enable a disabled user again."""
    _set_disabled(username, False)
    out.print(f"{username} is enabled again")


# --- keys ----------------------------------------------------------------------------------


@keys_app.command("issue")
def keys_issue(username: str, name: Annotated[str, typer.Option(help="what the key is for")] = "default") -> None:
    """Issue an API key for a user; the key is printed once, only now."""
    store = _users()
    user = store.get_by_username(username)
    if user is None:
        raise _fail(f"no user {username!r}")
    record, key = store.create_api_key(user.id, name)
    audit.record(_db(), _actor(), "key.issue", "api_key", record.id, after={"user": username, "name": record.name})
    err.print(f"API key {record.id} for {username} ({record.name}); store it now, it is not shown again:")
    out.print(key)


@keys_app.command("list")
def keys_list(username: str) -> None:
    """A user's API keys (without the keys themselves)."""
    store = _users()
    user = store.get_by_username(username)
    if user is None:
        raise _fail(f"no user {username!r}")
    table = Table("id", "name", "created", "last used", "revoked")
    for k in store.list_api_keys(user.id):
        table.add_row(k.id, k.name, k.created_at, k.last_used_at or "-", "yes" if k.revoked else "no")
    out.print(table)


@keys_app.command("revoke")
def keys_revoke(key_id: str) -> None:
    """Revoke an API key by its id."""
    if not _users().revoke_api_key(key_id):
        raise _fail(f"no active API key with id {key_id!r}")
    audit.record(_db(), _actor(), "key.revoke", "api_key", key_id)
    out.print(f"revoked {key_id}")


# --- orgs ----------------------------------------------------------------------------------


@orgs_app.command("add")
def orgs_add(
    name: str,
    level: Annotated[str, typer.Option(help="province, city, county or station")],
    parent: Annotated[str | None, typer.Option(help="parent organisation (none for a province)")] = None,
) -> None:
    """Add an organisation to the tree."""
    try:
        org = orgs.add_org(_db(), name, level, parent, _actor())
    except ReviewError as exc:
        raise _fail(str(exc)) from None
    out.print(f"added {org.name} ({org.level.value}) under {org.parent or '-'}")


@orgs_app.command("list")
def orgs_list() -> None:
    """The organisation tree."""
    lines = orgs.tree_lines(_db())
    if not lines:
        out.print("no organisations yet; add a province with `riskmine orgs add NAME --level province`")
    for line in lines:
        out.print(line, highlight=False)
