"""The demo's review data: why the demo viewer (成都市) saw no candidate, and the hand-down that fixes it."""

from __future__ import annotations

from pathlib import Path

from riskmine.processing import refresh_candidates
from riskmine.review import audit, workflow
from riskmine.review.demo import DEMO_CITY, hand_down_local_candidates, located_city
from riskmine.review.roles import SystemActor
from riskmine.review.sqlite_repository import SQLiteReviewRepository
from riskmine.schema import CandidateRisk, RegionMention, Signal
from riskmine.store.base import Collection, DuplicatePolicy
from riskmine.store.sqlite import SQLiteStore
from tests.review.conftest import ANALYST

CITY_VIEWER = SystemActor("viewer", "viewer", DEMO_CITY)  # as riskmine.review.users.DEMO_USERS has it
COUNTY_VIEWER = SystemActor("county", "viewer", "武侯区")
PROVINCE_ANALYST = SystemActor("analyst", "analyst", "四川省")


def _locate(store: SQLiteStore, candidate: CandidateRisk, province: str, city: str) -> None:
    """Give the candidate's signals a region from their document's metadata, as the tag stage does."""
    signals: list[Signal] = store.get_many(Collection.signals, candidate.signal_ids)
    for s in signals:
        s.regions = [
            RegionMention(name=province, level="province", province=province, source="meta"),
            RegionMention(name=city, level="city", province=province, city=city, source="meta"),
        ]
    store.write(Collection.signals, signals, DuplicatePolicy.overwrite)


def _seen(store: SQLiteStore, db: SQLiteReviewRepository, actor: SystemActor) -> set[str]:
    return {c.id for c in workflow.visible_candidates(store, db, actor, {})}


def test_the_demo_viewer_sees_the_candidates_handed_down_to_its_city(
    store: SQLiteStore, db: SQLiteReviewRepository, candidates: list[CandidateRisk]
) -> None:
    fire = next(c for c in candidates if c.product_category == "充电宝")
    kettle = next(c for c in candidates if c.product_category == "电热水壶")
    _locate(store, fire, "四川省", DEMO_CITY)
    _locate(store, kettle, "广东省", "深圳市")
    refresh_candidates(store)
    everyone = {c.id for c in store.iterate(Collection.candidates)}
    # the cause: no candidate has an organisation and none came from a station of the tree, so every one is
    # province-level, and a city sees only its own subtree
    assert _seen(store, db, CITY_VIEWER) == set()
    assert _seen(store, db, PROVINCE_ANALYST) == everyone

    assert hand_down_local_candidates(store, db) == [fire.id]
    assert _seen(store, db, CITY_VIEWER) == {fire.id}
    assert _seen(store, db, COUNTY_VIEWER) == set()  # 武侯区 is below 成都市: the city's candidates are not its
    assert _seen(store, db, PROVINCE_ANALYST) == everyone == _seen(store, db, ANALYST)
    handed = workflow.get_candidate(store, fire.id)
    assert handed.organisation == DEMO_CITY and handed.status.value == "new" and handed.assignee is None
    events, _ = audit.events(db, actor="demo-setup", action="candidate.assign")
    assert [e.target_id for e in events] == [fire.id]

    assert hand_down_local_candidates(store, db) == []  # again: nothing changes
    refresh_candidates(store)  # re-clustering keeps the organisation, as it keeps every review field
    assert _seen(store, db, CITY_VIEWER) == {fire.id}


def test_a_candidate_an_analyst_placed_is_left_alone(
    store: SQLiteStore, db: SQLiteReviewRepository, candidates: list[CandidateRisk]
) -> None:
    fire = next(c for c in candidates if c.product_category == "充电宝")
    _locate(store, fire, "四川省", DEMO_CITY)
    workflow.assign(store, db, fire.id, ANALYST, assignee=None, organisation="四川省")
    assert hand_down_local_candidates(store, db) == []
    assert workflow.get_candidate(store, fire.id).organisation == "四川省"


def test_no_hand_down_without_the_city_in_the_tree(tmp_path: Path, store: SQLiteStore) -> None:
    empty = SQLiteReviewRepository(tmp_path / "other.sqlite3")
    assert hand_down_local_candidates(store, empty) == []


def test_a_city_comes_from_the_document_metadata_only(store: SQLiteStore) -> None:
    signal = next(iter(store.iterate(Collection.signals)))
    signal.regions = [RegionMention(name="乐山市", level="city", province="四川省", city="乐山市", source="text")]
    assert located_city(signal) is None  # a city the text merely mentions does not place the signal
    signal.regions.append(RegionMention(name="成都市", level="city", province="四川省", city="成都市", source="meta"))
    assert located_city(signal) == "成都市"
