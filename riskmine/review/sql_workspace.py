"""The workspace repository written once, in SQL that SQLite and PostgreSQL both run.

A backend (:mod:`riskmine.review.sqlite_workspace`, :mod:`riskmine.review.pg_workspace`) supplies its tables (its
migrations) and a connection in a transaction per call (``?`` placeholders, rows read by column name). Every query
names the owner: a user never reaches another's filters or drafts.
"""

from __future__ import annotations

import json
from contextlib import AbstractContextManager
from typing import Any

from riskmine.review.workspace import ReportDraft, SavedFilter

_SCHEMA = """
CREATE TABLE IF NOT EXISTS saved_filters (
    id TEXT{C} PRIMARY KEY,
    owner TEXT{C} NOT NULL,
    page TEXT{C} NOT NULL,
    name TEXT{C} NOT NULL,
    query TEXT NOT NULL,
    created_at TEXT{C} NOT NULL,
    UNIQUE (owner, page, name)
);
CREATE TABLE IF NOT EXISTS report_drafts (
    id TEXT{C} PRIMARY KEY,
    owner TEXT{C} NOT NULL,
    kind TEXT NOT NULL,
    title TEXT NOT NULL,
    body TEXT NOT NULL,
    created_at TEXT{C} NOT NULL,
    updated_at TEXT{C} NOT NULL
);
CREATE INDEX IF NOT EXISTS report_drafts_owner ON report_drafts(owner, updated_at);
"""

Connection = Any
Row = Any


def schema(*, collate: str) -> str:
    """The tables, for SQLite (``collate`` "") or PostgreSQL (``' COLLATE "C"'``: code-point order, as SQLite's)."""
    return _SCHEMA.format(C=collate)


def _filter(r: Row) -> SavedFilter:
    return SavedFilter(r["id"], r["owner"], r["page"], r["name"], r["query"], r["created_at"])


def _draft(r: Row) -> ReportDraft:
    return ReportDraft(
        r["id"], r["owner"], r["kind"], r["title"], json.loads(r["body"]), r["created_at"], r["updated_at"]
    )


class SQLWorkspace:
    """Saved filters and report drafts in SQL (a backend subclasses it; implements
    :class:`~riskmine.review.workspace.WorkspaceRepository`)."""

    def _connect(self) -> AbstractContextManager[Connection]:
        """A connection in a transaction: committed when the block ends, rolled back on an error."""
        raise NotImplementedError

    def close(self) -> None:
        return None  # no connection is held between calls (or the process's pool holds them)

    def save_filter(self, saved: SavedFilter) -> SavedFilter:
        with self._connect() as c:
            c.execute(
                "INSERT INTO saved_filters (id, owner, page, name, query, created_at) VALUES (?, ?, ?, ?, ?, ?)"
                " ON CONFLICT (owner, page, name)"
                " DO UPDATE SET query = excluded.query, created_at = excluded.created_at",
                (saved.id, saved.owner, saved.page, saved.name, saved.query, saved.created_at),
            )
            r = c.execute(
                "SELECT * FROM saved_filters WHERE owner = ? AND page = ? AND name = ?",
                (saved.owner, saved.page, saved.name),
            ).fetchone()
        return _filter(r)

    def filters(self, owner: str, page: str | None = None) -> list[SavedFilter]:
        where, args = "owner = ?", [owner]
        if page is not None:
            where, args = where + " AND page = ?", [*args, page]
        with self._connect() as c:
            rows = c.execute(f"SELECT * FROM saved_filters WHERE {where} ORDER BY page, name, id", args).fetchall()
        return [_filter(r) for r in rows]

    def _one(self, table: str, owner: str, record_id: str) -> Row | None:
        with self._connect() as c:
            return c.execute(f"SELECT * FROM {table} WHERE owner = ? AND id = ?", (owner, record_id)).fetchone()

    def _delete(self, table: str, owner: str, record_id: str) -> bool:
        with self._connect() as c:
            return bool(c.execute(f"DELETE FROM {table} WHERE owner = ? AND id = ?", (owner, record_id)).rowcount == 1)

    def get_filter(self, owner: str, filter_id: str) -> SavedFilter | None:
        r = self._one("saved_filters", owner, filter_id)
        return _filter(r) if r else None

    def delete_filter(self, owner: str, filter_id: str) -> bool:
        return self._delete("saved_filters", owner, filter_id)

    def save_draft(self, draft: ReportDraft) -> None:
        body = json.dumps(draft.body, ensure_ascii=False)
        with self._connect() as c:
            c.execute(
                "INSERT INTO report_drafts (id, owner, kind, title, body, created_at, updated_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET title = excluded.title,"
                " body = excluded.body, updated_at = excluded.updated_at WHERE report_drafts.owner = excluded.owner",
                (draft.id, draft.owner, draft.kind, draft.title, body, draft.created_at, draft.updated_at),
            )

    def drafts(self, owner: str) -> list[ReportDraft]:
        with self._connect() as c:
            rows = c.execute(
                "SELECT * FROM report_drafts WHERE owner = ? ORDER BY updated_at DESC, id", (owner,)
            ).fetchall()
        return [_draft(r) for r in rows]

    def get_draft(self, owner: str, draft_id: str) -> ReportDraft | None:
        r = self._one("report_drafts", owner, draft_id)
        return _draft(r) if r else None

    def delete_draft(self, owner: str, draft_id: str) -> bool:
        return self._delete("report_drafts", owner, draft_id)
