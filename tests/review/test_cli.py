"""`riskmine users|keys|orgs` over the settings' var dir."""

from __future__ import annotations

from typer.testing import CliRunner

from riskmine.review import audit
from riskmine.review.cli import keys_app, orgs_app, users_app
from riskmine.review.repository import open_review_repository
from riskmine.review.users import UserStore
from riskmine.settings import get_settings

runner = CliRunner()


def test_orgs_users_and_keys_commands() -> None:
    assert runner.invoke(orgs_app, ["add", "四川省", "--level", "province"]).exit_code == 0
    assert runner.invoke(orgs_app, ["add", "成都市", "--level", "city", "--parent", "四川省"]).exit_code == 0
    bad = runner.invoke(orgs_app, ["add", "武侯区", "--level", "county", "--parent", "四川省"])
    assert bad.exit_code == 2 and "cannot sit under" in bad.output
    assert runner.invoke(orgs_app, ["list"]).output.splitlines() == ["四川省 (province)", "  成都市 (city)"]
    r = runner.invoke(users_app, ["add", "wang", "--role", "analyst", "--org", "成都市", "--password", "long-password"])
    assert r.exit_code == 0, r.output
    assert runner.invoke(users_app, ["add", "x", "--org", "火星", "--password", "long-password"]).exit_code == 2
    assert runner.invoke(users_app, ["set-role", "wang", "publisher"]).exit_code == 0
    assert runner.invoke(users_app, ["set-role", "wang", "king"]).exit_code == 2
    assert runner.invoke(users_app, ["set-org", "wang", "四川省"]).exit_code == 0
    assert runner.invoke(users_app, ["passwd", "wang", "--password", "another-password"]).exit_code == 0
    users = UserStore.from_settings(get_settings())
    user = users.authenticate("wang", "another-password")
    assert user is not None and user.role.value == "publisher" and user.organisation == "四川省"
    issued = runner.invoke(keys_app, ["issue", "wang", "--name", "feed"])
    assert issued.exit_code == 0
    key = issued.stdout.strip().splitlines()[-1]
    assert users.authenticate_api_key(key) is not None
    key_id = users.list_api_keys(user.id)[0].id
    assert runner.invoke(keys_app, ["revoke", key_id]).exit_code == 0
    assert users.authenticate_api_key(key) is None
    assert "wang" in runner.invoke(users_app, ["list"]).output
    assert runner.invoke(users_app, ["disable", "wang"]).exit_code == 0
    assert users.authenticate("wang", "another-password") is None  # a disabled user cannot log in
    assert runner.invoke(users_app, ["enable", "wang"]).exit_code == 0
    assert users.authenticate("wang", "another-password") is not None
    assert runner.invoke(users_app, ["disable", "nobody"]).exit_code == 2
    actions = {e.action for e in audit.events(open_review_repository(get_settings()), limit=100)[0]}
    assert {
        "org.add",
        "user.create",
        "user.set_role",
        "user.set_org",
        "user.set_password",
        "key.issue",
        "key.revoke",
        "user.disable",
        "user.enable",
    } <= actions
