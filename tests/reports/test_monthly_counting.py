"""The monthly forms count each event once, in one row, and only the reporting organisation's data.

The cases come from analysts' checks of drafted forms: the same e-commerce form uploaded by two
stations (the second copy flagged duplicate) counted twice; a county's form held another station's
row with its 关键词 rewritten to the normalised category and 评论关键词 repeating terms; general-form
rows of overlapping candidates shared most of their signals.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import closing
from datetime import date
from pathlib import Path

import pytest

from riskmine.reports.monthly import MonthlyDraft, build_monthly_draft
from riskmine.reports.periods import parse_period
from riskmine.reports.scope import ReportScope, report_scope
from riskmine.review.orgs import ensure_demo_orgs, subtree
from riskmine.review.roles import SystemActor
from riskmine.review.sqlite_repository import SQLiteReviewRepository
from riskmine.schema import CandidateRisk, HazardType, Signal, SourceType
from riskmine.store.base import Collection
from riskmine.store.sqlite import SQLiteStore
from tests.reports.reportkit import at, make_candidate, signal, station_row

WUHOU = "武侯区"
WUHOU_STATION = "武侯区产品质量监测站"
OTHER_STATION = "锦江区监测站"


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SQLiteStore]:
    with closing(SQLiteStore(tmp_path / "store.sqlite3")) as s:
        yield s


@pytest.fixture
def wuhou(tmp_path: Path) -> ReportScope:
    """武侯区's scope, its subtree from the demo organisation tree (四川省 → 成都市 → 武侯区 → its station)."""
    db = SQLiteReviewRepository(tmp_path / "review.sqlite3")
    ensure_demo_orgs(db, SystemActor("test"))
    return report_scope(WUHOU, resolver=lambda name: subtree(db, name))


def write(store: SQLiteStore, signals: list[Signal], candidates: list[CandidateRisk]) -> None:
    store.write(Collection.signals, signals)
    store.write(Collection.candidates, candidates)


def draft(store: SQLiteStore, form: str, scope: ReportScope | None = None) -> MonthlyDraft:
    scope = scope or report_scope(None)
    return build_monthly_draft(
        store, parse_period("2025-03"), form, scope.organisation or "示范中心", scope, filled_at=date(2025, 3, 25)
    )


def duplicate_of(first: Signal, copy: Signal) -> Signal:
    """`copy` as the dedup stage leaves it: in `first`'s group, flagged duplicate."""
    first.duplicate_group = first.id
    return copy.model_copy(update={"duplicate_group": first.id, "is_duplicate": True})


# ----------------------------------------------------------------------------- each event once


def test_ecommerce_form_uploaded_by_two_stations_counts_once(store: SQLiteStore) -> None:
    first = station_row("u1", WUHOU_STATION)
    copy = duplicate_of(first, station_row("u2", OTHER_STATION, when_day=12))
    write(store, [first, copy], [make_candidate("c1", [first, copy])])
    d = draft(store, "ecommerce")
    assert len(d.rows) == 1
    cells = d.rows[0].cells
    assert (cells["差评数"], cells["评论数"]) == (37, 1520)  # not 74/3040
    assert any("重复" in note for note in d.notes), d.notes


def test_a_document_re_sent_counts_once(store: SQLiteStore) -> None:
    row = station_row("u1", WUHOU_STATION)
    review = signal(
        "r1", "暖手宝用了一次就着火", at(3, 11), term="着火", product="小熊暖手宝", shop="小熊旗舰店", rating=1
    )
    # the same documents listed twice by one candidate and held by another one too
    write(
        store,
        [row, review],
        [
            make_candidate("c1", [row, review], signal_ids=["u1", "u1", "r1", "r1"], priority=0.9),
            make_candidate("c2", [row], hazard=HazardType.electric_shock, priority=0.5),
        ],
    )
    cells = draft(store, "ecommerce").rows[0].cells
    assert (cells["差评数"], cells["评论数"]) == (38, 1521)  # the station's 37/1520 and one review
    general = draft(store, "general")
    assert "相关风险信息2条" in str(general.rows[0].cells["风险信息内容"])
    assert "本期信息2条，累计2条" in str(general.rows[0].cells["信息分析"])


def test_flagged_duplicate_reviews_count_once(store: SQLiteStore) -> None:
    reviews = [
        signal("r1", "暖手宝充电时着火了", at(3, 1), term="着火", product="小熊暖手宝", shop="小熊旗舰店", rating=1),
        signal("r3", "挺暖和", at(3, 3), hazard=None, product="小熊暖手宝", shop="小熊旗舰店", rating=5, is_risk=False),
    ]
    again = duplicate_of(
        reviews[0],
        signal("r2", "暖手宝充电时着火了！", at(3, 2), term="着火", product="小熊暖手宝", shop="小熊旗舰店", rating=1),
    )
    write(store, [*reviews, again], [make_candidate("c1", [reviews[0], again])])
    cells = draft(store, "ecommerce").rows[0].cells
    assert (cells["差评数"], cells["评论数"]) == (1, 2)
    general = draft(store, "general")
    assert "相关风险信息1条" in str(general.rows[0].cells["风险信息内容"])


# ----------------------------------------------------------------------------- own data only


def test_county_form_holds_only_its_subtree_stations_rows(store: SQLiteStore, wuhou: ReportScope) -> None:
    own = station_row(
        "u1", WUHOU_STATION, keyword="电热毯", product="彩虹电热毯", shop="彩虹店", comment_keywords="漏电"
    )
    other = station_row("u2", OTHER_STATION)
    write(store, [own, other], [make_candidate("c1", [own, other])])
    assert WUHOU_STATION in (wuhou.members or ())
    d = draft(store, "ecommerce", wuhou)
    assert [r.cells["商品名称"] for r in d.rows] == ["彩虹电热毯"]
    assert d.rows[0].signal_ids == ["u1"]
    general = draft(store, "general", wuhou)
    assert [r.signal_ids for r in general.rows] == [["u1"]]
    assert OTHER_STATION not in str(general.rows[0].cells["信息来源"])
    # the centre's form (no scope) holds both
    assert len(draft(store, "ecommerce").rows) == 2


def test_station_form_leaves_out_collected_reviews_of_others(store: SQLiteStore) -> None:
    own = station_row("u1", WUHOU_STATION)
    review = signal("r1", "暖手宝着火了", at(3, 11), term="着火", product="小熊暖手宝", shop="小熊旗舰店", rating=1)
    write(store, [own, review], [make_candidate("c1", [own, review])])
    d = draft(store, "ecommerce", report_scope(WUHOU_STATION, include_unassigned=False))
    cells = d.rows[0].cells
    assert (cells["差评数"], cells["评论数"]) == (37, 1520)  # the station's own counts, not the collected review
    assert d.rows[0].signal_ids == ["u1"]


def test_organisation_form_leaves_out_candidates_of_other_organisations(store: SQLiteStore, wuhou: ReportScope) -> None:
    own = station_row("u1", WUHOU_STATION, product="彩虹电热毯", shop="彩虹店")
    review = signal("r1", "暖手宝着火了", at(3, 11), term="着火", product="小熊暖手宝", shop="小熊旗舰店", rating=1)
    # another organisation's candidate that also holds our station's row
    write(store, [own, review], [make_candidate("c1", [own, review], organisation="锦江区")])
    d = draft(store, "ecommerce", wuhou)
    assert [r.cells["商品名称"] for r in d.rows] == ["彩虹电热毯"]


# ----------------------------------------------------------------------------- cells as submitted


def test_keyword_is_the_submitted_one(store: SQLiteStore) -> None:
    row = station_row("u1", WUHOU_STATION, keyword="暖手宝")
    review = signal("r1", "电热毯漏电", at(3, 11), term="漏电", product="彩虹电热毯", shop="彩虹店", rating=1)
    write(store, [row, review], [make_candidate("c1", [row, review])])
    d = draft(store, "ecommerce")
    keywords = {r.cells["商品名称"]: r.cells["关键词"] for r in d.rows}
    assert keywords == {"小熊暖手宝": "暖手宝", "彩虹电热毯": "电热毯"}
    # the collected review's row shows the normalised category, and the notes say so
    assert any("关键词" in note and "产品类别" in note for note in d.notes), d.notes


def test_comment_keywords_list_each_term_once(store: SQLiteStore) -> None:
    a = station_row("u1", WUHOU_STATION, comment_keywords="着火、烧焦、漏电")
    b = station_row("u2", WUHOU_STATION, comment_keywords="烧焦;着火", negative=3, reviews=40, when_day=14)
    c = station_row("u3", WUHOU_STATION, comment_keywords=" 漏电 ；冒烟/ 着火", negative=1, reviews=10, when_day=15)
    write(store, [a, b, c], [make_candidate("c1", [a, b, c])])
    cells = draft(store, "ecommerce").rows[0].cells
    terms = str(cells["评论关键词"]).split("、")
    assert len(terms) == len(set(terms)), terms
    assert set(terms) == {"着火", "烧焦", "漏电", "冒烟"}
    assert (cells["差评数"], cells["评论数"]) == (41, 1570)


# ----------------------------------------------------------------------------- one row per signal


def test_general_rows_do_not_share_signals(store: SQLiteStore) -> None:
    def mat(i: int) -> Signal:
        return signal(
            f"m{i}",
            f"爬行垫甲醛超标第{i}例，孩子起红疹",
            at(3, 1 + i),
            source_type=SourceType.complaint,
            term="甲醛",
            hazard=HazardType.chemical,
            category="爬行垫",
        )

    signals = [mat(i) for i in range(10)]
    chemical = make_candidate(
        "c-chem", signals[:8], product_category="爬行垫", hazard=HazardType.chemical, priority=0.9
    )
    other = make_candidate(
        "c-other", [*signals[2:8], *signals[8:10]], product_category="爬行垫", hazard=HazardType.other, priority=0.4
    )
    write(store, signals, [chemical, other])
    d = draft(store, "general")
    seen: list[str] = [sid for row in d.rows for sid in row.signal_ids]
    assert len(seen) == len(set(seen)) == 10, [r.signal_ids for r in d.rows]
    assert d.rows[0].candidate_ids[0] == "c-chem" and d.rows[0].signal_ids == [f"m{i}" for i in range(8)]
    assert d.rows[1].signal_ids == ["m8", "m9"]
    assert "相关风险信息2条" in str(d.rows[1].cells["风险信息内容"])
    assert any("只计入" in note for note in d.notes), d.notes


def test_candidate_whose_signals_all_sit_in_an_earlier_row_adds_no_row(store: SQLiteStore) -> None:
    signals = [
        signal(f"m{i}", f"爬行垫甲醛超标{i}", at(3, 1 + i), term="甲醛", hazard=HazardType.chemical, category="爬行垫")
        for i in range(3)
    ]
    big = make_candidate("c-big", signals, product_category="爬行垫", hazard=HazardType.chemical, priority=0.9)
    small = make_candidate("c-small", signals[:2], product_category="爬行垫", hazard=HazardType.other, priority=0.2)
    write(store, signals, [big, small])
    d = draft(store, "general")
    assert [r.signal_ids for r in d.rows] == [["m0", "m1", "m2"]]
    assert d.rows[0].candidate_ids == ["c-big", "c-small"]
