"""The audit log: every change and every export, append-only (who, when, what, before/after).

Each event is one row of the ``audit`` table in the review database; SQLite triggers abort
any UPDATE or DELETE on that table, so the log can only grow.

Retention: the seeds require records to be kept at least 5 years (Sichuan 第二十七条), so
nothing is ever deleted by default. Archiving, when the file grows large, is done offline and
keeps every row: copy ``var/review.sqlite3`` with ``sqlite3 var/review.sqlite3 ".backup
archive-YYYY.sqlite3"`` (a consistent copy while the service runs), check the copy with
``PRAGMA integrity_check``, store it read-only (WORM storage or a signed tarball) for at least
5 years from its newest event, and keep the live file as it is; see riskmine/review/README.md.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import BaseModel

from riskmine.review.db import ReviewDB, iso, now_utc
from riskmine.review.roles import Actor, role_name

MAX_PAGE = 500


@dataclass(frozen=True)
class AuditEvent:
    """One recorded change or export."""

    seq: int
    at: str
    actor: str
    actor_role: str | None
    action: str
    target_kind: str
    target_id: str | None
    before: Any
    after: Any

    def public(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "at": self.at,
            "actor": self.actor,
            "actor_role": self.actor_role,
            "action": self.action,
            "target_kind": self.target_kind,
            "target_id": self.target_id,
            "before": self.before,
            "after": self.after,
        }


def _to_json(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, BaseModel):
        value = value.model_dump(mode="json")
    return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)


def record(
    db: ReviewDB,
    actor: Actor,
    action: str,
    target_kind: str,
    target_id: str | None,
    *,
    before: Any = None,
    after: Any = None,
    conn: sqlite3.Connection | None = None,
    at: datetime | None = None,
) -> None:
    """Append one event. Pass `conn` to write it in the same transaction as the change it records."""
    row = (
        iso(at or now_utc()),
        actor.username,
        role_name(actor.role) if actor.role is not None else None,
        action,
        target_kind,
        target_id,
        _to_json(before),
        _to_json(after),
    )
    sql = (
        "INSERT INTO audit (at, actor, actor_role, action, target_kind, target_id, before, after)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
    )
    if conn is not None:
        conn.execute(sql, row)
        return
    with db.connect() as c:
        c.execute(sql, row)


def _event(row: sqlite3.Row) -> AuditEvent:
    return AuditEvent(
        seq=row["seq"],
        at=row["at"],
        actor=row["actor"],
        actor_role=row["actor_role"],
        action=row["action"],
        target_kind=row["target_kind"],
        target_id=row["target_id"],
        before=json.loads(row["before"]) if row["before"] else None,
        after=json.loads(row["after"]) if row["after"] else None,
    )


def events(
    db: ReviewDB,
    *,
    actor: str | None = None,
    action: str | None = None,
    target_kind: str | None = None,
    target_id: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int = 100,
    offset: int = 0,
) -> tuple[list[AuditEvent], int]:
    """Matching events, newest first, and how many match in all."""
    where, args = [], []
    for column, value in (("actor", actor), ("action", action), ("target_kind", target_kind), ("target_id", target_id)):
        if value is not None:
            where.append(f"{column} = ?")
            args.append(value)
    if since is not None:
        where.append("at >= ?")
        args.append(iso(since))
    if until is not None:
        where.append("at <= ?")
        args.append(iso(until))
    clause = (" WHERE " + " AND ".join(where)) if where else ""
    limit = max(1, min(limit, MAX_PAGE))
    with db.connect() as c:
        total = int(c.execute("SELECT COUNT(*) FROM audit" + clause, args).fetchone()[0])
        rows = c.execute(
            "SELECT * FROM audit" + clause + " ORDER BY seq DESC LIMIT ? OFFSET ?", [*args, limit, max(0, offset)]
        ).fetchall()
    return [_event(r) for r in rows], total
