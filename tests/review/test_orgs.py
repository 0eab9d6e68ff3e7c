"""The organisation tree and the visibility rule."""

from __future__ import annotations

import pytest

from riskmine.review import orgs
from riskmine.review.errors import ReviewConflict, ReviewError, ReviewNotFound
from riskmine.review.roles import SystemActor
from riskmine.review.sqlite_repository import SQLiteReviewRepository
from tests.review.conftest import ADMIN, ANALYST, CONSUMER, STATION


def test_demo_tree_and_its_rules(db: SQLiteReviewRepository) -> None:
    assert orgs.tree_lines(db) == [
        "四川省 (province)",
        "  成都市 (city)",
        "    武侯区 (county)",
        "      武侯区产品质量监测站 (station)",
    ]
    assert orgs.subtree(db, "成都市") == {"成都市", "武侯区", "武侯区产品质量监测站"}
    assert orgs.subtree(db, "nowhere") == frozenset()
    with pytest.raises(ReviewConflict):
        orgs.add_org(db, "成都市", "city", "四川省", ADMIN)
    with pytest.raises(ReviewError, match="needs a parent"):
        orgs.add_org(db, "绵阳市", "city", None, ADMIN)
    with pytest.raises(ReviewError, match="cannot sit under"):
        orgs.add_org(db, "青羊区", "county", "四川省", ADMIN)
    with pytest.raises(ReviewError, match="a station has no organisations"):
        orgs.add_org(db, "x", "station", "武侯区产品质量监测站", ADMIN)
    with pytest.raises(ReviewNotFound, match="no parent"):
        orgs.add_org(db, "x", "city", "广东省", ADMIN)
    with pytest.raises(ReviewError, match="unknown organisation level"):
        orgs.add_org(db, "x", "town", "成都市", ADMIN)
    assert orgs.add_org(db, "成都检测院", "station", "成都市", ADMIN).parent == "成都市"


def test_nobody_logged_in_sees_no_candidate(db: SQLiteReviewRepository) -> None:
    # not the assessment centre's everything, as while development left reads open: candidates are unpublished
    nobody = orgs.scope_for(db, None)
    assert not nobody.everything
    known = orgs.known_orgs(db)
    for organisation, sources in ((None, ["test"]), ("成都市", []), (None, ["station:武侯区产品质量监测站"])):
        assert not nobody.allows(organisation, sources, known)


def test_scope_rule(db: SQLiteReviewRepository) -> None:
    known = orgs.known_orgs(db)
    province = orgs.scope_for(db, SystemActor("p", "analyst", "四川省"))
    city = orgs.scope_for(db, SystemActor("c", "viewer", "成都市"))
    station = orgs.scope_for(db, STATION)
    assert orgs.scope_for(db, ANALYST).everything  # no organisation: the assessment centre
    assert orgs.scope_for(db, SystemActor("a", "admin", "成都市")).everything
    assert not orgs.scope_for(db, CONSUMER).allows(None, [], known)
    # a candidate of no organisation from no known station is province-level
    assert province.allows(None, ["test"], known) and not city.allows(None, ["test"], known)
    # a candidate built from the station's submissions is seen by the station and everyone above it
    sources = ["station:武侯区产品质量监测站"]
    assert station.allows(None, sources, known) and city.allows(None, sources, known)
    assert province.allows(None, sources, known)
    assert city.allows("武侯区", [], known) and not station.allows("武侯区", [], known)
    assert not city.allows("四川省", [], known)
    unknown_station = orgs.scope_for(db, SystemActor("s", "station", None))
    assert unknown_station.allows(None, ["station:s"], known) and not unknown_station.allows(None, ["test"], known)
