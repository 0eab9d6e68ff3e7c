"""The audit log is append-only: SQLite triggers refuse UPDATE and DELETE."""

from __future__ import annotations

import sqlite3

import pytest

from riskmine.review import audit
from riskmine.review.sqlite_repository import SQLiteReviewRepository
from tests.review.conftest import ANALYST


def test_events_are_recorded_and_cannot_be_changed(db: SQLiteReviewRepository) -> None:
    audit.record(
        db, ANALYST, "candidate.assign", "candidate", "c1", before={"assignee": None}, after={"assignee": "li"}
    )
    events, total = audit.events(db, target_id="c1")
    assert total == 1
    e = events[0]
    assert (e.actor, e.actor_role, e.action, e.before, e.after) == (
        "li",
        "analyst",
        "candidate.assign",
        {"assignee": None},
        {"assignee": "li"},
    )
    with db.file.connect() as c, pytest.raises(sqlite3.IntegrityError, match="append-only"):
        c.execute("UPDATE audit SET actor = 'mallory'")
    with db.file.connect() as c, pytest.raises(sqlite3.IntegrityError, match="append-only"):
        c.execute("DELETE FROM audit")
    # the demo tree (4 organisations) was audited too, and nothing was lost
    assert audit.events(db)[1] == 5
    assert audit.events(db, action="org.add", limit=2)[1] == 4
    assert len(audit.events(db, action="org.add", limit=2)[0]) == 2
