"""The organisation scope over sources: which signals, documents and station batches a user sees."""

from __future__ import annotations

from riskmine.review import visibility
from riskmine.review.roles import SystemActor
from riskmine.review.sqlite_repository import SQLiteReviewRepository
from tests.review.conftest import ADMIN, ANALYST, CONSUMER, STATION

OWN = "station:武侯区产品质量监测站"
STORED = [OWN, "station:别处监测站", "news:cctv", "station:成都检测院"]


def test_the_scope_by_source_follows_the_candidates_rule(db: SQLiteReviewRepository) -> None:
    from riskmine.review import orgs

    orgs.add_org(db, "成都检测院", "station", "成都市", ADMIN)
    for everyone in (ADMIN, ANALYST):
        assert visibility.source_scope(db, everyone).sources(STORED) is None
    station = visibility.source_scope(db, STATION)
    assert station.sources(STORED) == [OWN] and station.sees_station("武侯区产品质量监测站")
    assert not station.sees("news:cctv") and not station.sees_station("成都检测院")
    city = visibility.source_scope(db, SystemActor("c", "viewer", "成都市"))
    assert city.sources(STORED) == sorted([OWN, "station:成都检测院"])
    # a province also sees crawled data and stations the tree does not know, like unassigned candidates
    province = visibility.source_scope(db, SystemActor("p", "analyst", "四川省"))
    assert province.sources(STORED) == sorted(STORED)
    # a station outside the tree sees its own submissions only (under its username when it has no organisation)
    lone = visibility.source_scope(db, SystemActor("lone", "station", None))
    assert lone.sources([*STORED, "station:lone"]) == ["station:lone"] and lone.sources(STORED) == []
    for nobody in (None, CONSUMER):
        assert visibility.source_scope(db, nobody).sources(STORED) == []
        assert not visibility.source_scope(db, nobody).sees(OWN)
