"""The audit log: every change and every export, append-only (who, when, what, before/after).

Each event is one entry of the review repository's audit log, which can only grow (the embedded
backend's triggers abort any UPDATE or DELETE on its ``audit`` table).

Retention: the seeds require records to be kept at least 5 years (Sichuan 第二十七条), so
nothing is ever deleted by default. Archiving, when the file grows large, is done offline and
keeps every row: copy ``var/review.sqlite3`` with ``sqlite3 var/review.sqlite3 ".backup
archive-YYYY.sqlite3"`` (a consistent copy while the service runs), check the copy with
``PRAGMA integrity_check``, store it read-only (WORM storage or a signed tarball) for at least
5 years from its newest event, and keep the live file as it is; see riskmine/review/README.md.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from riskmine.review.records import AuditEntry, AuditEvent, AuditQuery, iso, now_utc, to_json
from riskmine.review.repository import ReviewRepository
from riskmine.review.roles import Actor, role_name

MAX_PAGE = 500

__all__ = ["MAX_PAGE", "AuditEvent", "entry", "events", "record"]


def entry(
    actor: Actor,
    action: str,
    target_kind: str,
    target_id: str | None,
    *,
    before: Any = None,
    after: Any = None,
    at: datetime | None = None,
) -> AuditEntry:
    """The audit entry of one change by ``actor``; hand it to the repository with the change it records."""
    return AuditEntry(
        at=iso(at or now_utc()),
        actor=actor.username,
        actor_role=role_name(actor.role) if actor.role is not None else None,
        action=action,
        target_kind=target_kind,
        target_id=target_id,
        before=to_json(before),
        after=to_json(after),
    )


def record(
    db: ReviewRepository, actor: Actor, action: str, target_kind: str, target_id: str | None, **details: Any
) -> None:
    """Append one event on its own; ``details`` are :func:`entry`'s keywords (before, after, at). A change kept in
    the review repository is handed over with its entry instead, so both are written in one transaction."""
    db.append_audit(entry(actor, action, target_kind, target_id, **details))


def events(
    db: ReviewRepository,
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
    query = AuditQuery(
        actor=actor,
        action=action,
        target_kind=target_kind,
        target_id=target_id,
        since=iso(since) if since is not None else None,
        until=iso(until) if until is not None else None,
    )
    return db.audit_events(query, limit=max(1, min(limit, MAX_PAGE)), offset=max(0, offset))
