"""A console user's own things: saved filters of the queue and signals pages, and drafts of the monthly report
form being edited before download, behind the :class:`WorkspaceRepository` protocol, and the one place that opens it.

Both belong to one user (``owner``: the user's id) and nobody else lists, reads or deletes them. The embedded backend
is :class:`~riskmine.review.sqlite_workspace.SQLiteWorkspace` (``<var_dir>/workspace.sqlite3``); the shared one for
several API nodes, :class:`~riskmine.review.pg_workspace.PgWorkspace` (``RISKMINE_DATABASE_URL``), passes the same
contract suite (``tests/review/workspace_contract.py``).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import parse_qsl, urlencode

from riskmine.review.errors import ReviewError, ReviewNotFound
from riskmine.review.records import User

if TYPE_CHECKING:
    from riskmine.settings import Settings

WORKSPACE_FILE = "workspace.sqlite3"
# The pages whose filters can be saved, and the query parameters each filters by (paging is not a filter).
FILTER_FIELDS: dict[str, tuple[str, ...]] = {
    "queue": ("tier", "status", "hazard", "risk_level", "product_category", "region"),
    "signals": ("q", "source_type", "hazard", "is_risk"),
}
FILTER_PATHS: dict[str, str] = {"queue": "/", "signals": "/signals"}
MAX_NAME_CHARS = 50
MAX_QUERY_CHARS = 2_000
MAX_FILTERS = 100  # a user's saved filters, all pages together
MAX_DRAFTS = 50  # a user's report drafts


@dataclass(frozen=True)
class SavedFilter:
    """A filter of a console page under a name its owner chose; ``query`` is the page's query string."""

    id: str
    owner: str
    page: str
    name: str
    query: str
    created_at: str

    @property
    def url(self) -> str:
        path = FILTER_PATHS.get(self.page, "/")
        return path + (f"?{self.query}" if self.query else "")


@dataclass(frozen=True)
class ReportDraft:
    """A report being edited: ``body`` is the report's JSON (a monthly draft as the reports package builds it)."""

    id: str
    owner: str
    kind: str
    title: str
    body: dict[str, Any]
    created_at: str
    updated_at: str


class WorkspaceRepository(Protocol):
    """Saved filters and report drafts, each read and changed through its owner only."""

    def save_filter(self, saved: SavedFilter) -> SavedFilter:
        """Store the filter; one of the owner's with the same page and name is replaced (its id kept). Returns what
        is stored."""
        ...

    def filters(self, owner: str, page: str | None = None) -> list[SavedFilter]:
        """The owner's filters (of one page, or all), by page and name."""
        ...

    def get_filter(self, owner: str, filter_id: str) -> SavedFilter | None: ...

    def delete_filter(self, owner: str, filter_id: str) -> bool: ...

    def save_draft(self, draft: ReportDraft) -> None:
        """Store the draft, replacing the owner's draft of the same id."""
        ...

    def drafts(self, owner: str) -> list[ReportDraft]:
        """The owner's drafts, the latest changed first."""
        ...

    def get_draft(self, owner: str, draft_id: str) -> ReportDraft | None: ...

    def delete_draft(self, owner: str, draft_id: str) -> bool: ...

    def close(self) -> None: ...


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds")


def workspace_at(var_dir: Path) -> WorkspaceRepository:
    """The embedded workspace of a var dir."""
    from riskmine.review.sqlite_workspace import SQLiteWorkspace

    return SQLiteWorkspace(Path(var_dir) / WORKSPACE_FILE)


def open_workspace(settings: Settings) -> WorkspaceRepository:
    """The workspace the settings name: PostgreSQL when RISKMINE_DATABASE_URL is set, else a SQLite file."""
    if settings.database_url:
        from riskmine.review.pg_workspace import PgWorkspace

        return PgWorkspace(settings.database_url, pool_size=settings.database_pool_size)
    return workspace_at(Path(settings.var_dir))


# ----------------------------------------------------------------------------- rules


def filter_query(page: str, query: str) -> str:
    """The filtering part of a page's query string: only the page's filter fields, empty values and paging left out,
    in the page's field order."""
    fields = FILTER_FIELDS.get(page)
    if fields is None:
        raise ReviewError(f"只能保存以下页面的筛选条件：{'、'.join(FILTER_FIELDS)}")
    values = {k: v.strip() for k, v in parse_qsl(query[:MAX_QUERY_CHARS]) if k in fields and v.strip()}
    return urlencode([(k, values[k]) for k in fields if k in values])


def save_filter(repo: WorkspaceRepository, user: User, page: str, name: str, query: str) -> SavedFilter:
    """Save the page's current filter under a name (a second save under the same name replaces the first)."""
    clean_query = filter_query(page, query)
    clean_name = " ".join(name.split())
    if not clean_name:
        raise ReviewError("请为筛选条件填写名称")
    if len(clean_name) > MAX_NAME_CHARS:
        raise ReviewError(f"名称最多 {MAX_NAME_CHARS} 个字")
    mine = repo.filters(user.id)
    if len(mine) >= MAX_FILTERS and not any(f.page == page and f.name == clean_name for f in mine):
        raise ReviewError(f"每人最多保存 {MAX_FILTERS} 个筛选条件，请先删除不用的")
    saved = SavedFilter(uuid.uuid4().hex, user.id, page, clean_name, clean_query, now())
    return repo.save_filter(saved)


def delete_filter(repo: WorkspaceRepository, user: User, filter_id: str) -> None:
    if not repo.delete_filter(user.id, filter_id):
        raise ReviewNotFound(f"没有编号为 {filter_id} 的已保存筛选条件")


def new_draft(repo: WorkspaceRepository, user: User, kind: str, title: str, body: dict[str, Any]) -> ReportDraft:
    """Keep a newly drafted report for its owner to edit."""
    if len(repo.drafts(user.id)) >= MAX_DRAFTS:
        raise ReviewError(f"每人最多保留 {MAX_DRAFTS} 份报表草稿，请先删除不用的")
    at = now()
    draft = ReportDraft(uuid.uuid4().hex, user.id, kind, title, body, at, at)
    repo.save_draft(draft)
    return draft


def get_draft(repo: WorkspaceRepository, user: User, draft_id: str) -> ReportDraft:
    draft = repo.get_draft(user.id, draft_id)
    if draft is None:
        raise ReviewNotFound(f"没有编号为 {draft_id} 的报表草稿")
    return draft


def update_draft(repo: WorkspaceRepository, draft: ReportDraft, body: dict[str, Any]) -> ReportDraft:
    changed = replace(draft, body=body, updated_at=now())
    repo.save_draft(changed)
    return changed


def delete_draft(repo: WorkspaceRepository, user: User, draft_id: str) -> None:
    if not repo.delete_draft(user.id, draft_id):
        raise ReviewNotFound(f"没有编号为 {draft_id} 的报表草稿")
