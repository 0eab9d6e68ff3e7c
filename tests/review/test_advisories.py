"""Advisories: drafted from confirmed candidates, visible to their audience only after approval; Atom feed."""

from __future__ import annotations

from xml.etree import ElementTree

import pytest

from riskmine.review import advisories, workflow
from riskmine.review.errors import ReviewConflict, ReviewError, ReviewForbidden, ReviewNotFound
from riskmine.review.sqlite_repository import SQLiteReviewRepository
from riskmine.schema import CandidateRisk
from riskmine.store.sqlite import SQLiteStore
from tests.review.conftest import ADMIN, ANALYST, CONSUMER, PUBLISHER, STATION, VIEWER

ATOM = "{http://www.w3.org/2005/Atom}"


def _confirm(store: SQLiteStore, db: SQLiteReviewRepository, cid: str) -> None:
    workflow.decide(
        store, db, cid, ANALYST, status="confirmed", risk_level="high", warning_color="orange", rationale="多起起火"
    )


def test_draft_approve_and_audiences(
    store: SQLiteStore, db: SQLiteReviewRepository, candidates: list[CandidateRisk]
) -> None:
    cid = candidates[0].id
    with pytest.raises(ReviewError, match="confirmed candidates"):
        advisories.draft(store, db, cid, ANALYST, kind="consumer_advisory")
    _confirm(store, db, cid)
    with pytest.raises(ReviewForbidden):
        advisories.draft(store, db, cid, PUBLISHER, kind="consumer_advisory")
    with pytest.raises(ReviewError, match="unknown advisory kind"):
        advisories.draft(store, db, cid, ANALYST, kind="tweet")
    consumer = advisories.draft(store, db, cid, ANALYST, kind="consumer_advisory", title="<script>x</script> & 提示")
    bulletin = advisories.draft(store, db, cid, ANALYST, kind="internal_bulletin")
    assert "多起起火" in bulletin.body and "消费者" in consumer.body
    # drafts: nobody outside review sees them
    assert advisories.list_advisories(db, None)[1] == 0
    assert advisories.list_advisories(db, PUBLISHER, status="draft")[1] == 2
    assert advisories.list_advisories(db, VIEWER, status="draft")[1] == 0
    with pytest.raises(ReviewNotFound):
        advisories.get_advisory(db, consumer.id, None)
    with pytest.raises(ReviewForbidden):
        advisories.approve(db, consumer.id, ANALYST)
    published = advisories.approve(db, consumer.id, PUBLISHER)
    assert published.status == "published" and published.approved_by == "pub"
    with pytest.raises(ReviewConflict):
        advisories.approve(db, consumer.id, ADMIN)
    advisories.approve(db, bulletin.id, ADMIN)
    assert [a.id for a in advisories.list_advisories(db, None)[0]] == [consumer.id]
    assert [a.id for a in advisories.list_advisories(db, CONSUMER)[0]] == [consumer.id]
    assert [a.id for a in advisories.list_advisories(db, STATION)[0]] == [consumer.id]
    assert {a.id for a in advisories.list_advisories(db, VIEWER)[0]} == {consumer.id, bulletin.id}
    with pytest.raises(ReviewNotFound):
        advisories.get_advisory(db, bulletin.id, CONSUMER)


def test_atom_feed_is_valid_and_escaped(
    store: SQLiteStore, db: SQLiteReviewRepository, candidates: list[CandidateRisk]
) -> None:
    cid = candidates[0].id
    _confirm(store, db, cid)
    adv = advisories.draft(
        store, db, cid, ANALYST, kind="consumer_advisory", title="<script>alert(1)</script> & 充电宝", body="a < b"
    )
    advisories.draft(store, db, cid, ANALYST, kind="consumer_advisory", title="未批准")
    advisories.approve(db, adv.id, PUBLISHER)
    xml = advisories.atom_feed(db, "http://127.0.0.1:8000/")
    assert b"<script>" not in xml and b"&lt;script&gt;" in xml
    root = ElementTree.fromstring(xml)
    assert root.tag == f"{ATOM}feed"
    assert root.find(f"{ATOM}id") is not None and root.find(f"{ATOM}updated") is not None
    entries = root.findall(f"{ATOM}entry")
    assert [e.findtext(f"{ATOM}title") for e in entries] == ["<script>alert(1)</script> & 充电宝"]
    assert entries[0].findtext(f"{ATOM}content") == "a < b"
    assert entries[0].findtext(f"{ATOM}id") == f"http://127.0.0.1:8000/api/v1/advisories/{adv.id}"
