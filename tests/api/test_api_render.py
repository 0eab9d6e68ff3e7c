"""Escaping, highlighting and link safety of the console's text rendering."""

from __future__ import annotations

import pytest

from riskmine.api.labels import label
from riskmine.api.render import Mark, bars, excerpt, highlight, local_path, safe_url, week_bars


def test_highlight_escapes_before_wrapping() -> None:
    text = "<b>起火</b> & 漏电"
    html = highlight(text, [Mark(3, 5, "fire", "火灾"), Mark(12, 14, "electric_shock", '"x"')])
    assert str(html) == (
        '&lt;b&gt;<mark class="hz hz-fire" title="火灾">起火</mark>&lt;/b&gt; &amp; '
        '<mark class="hz hz-electric_shock" title="&#34;x&#34;">漏电</mark>'
    )


def test_span_covering_markup_is_escaped_inside_the_mark() -> None:
    text = "a<script>alert(1)</script>b"
    html = str(highlight(text, [Mark(1, 26, "fire")]))
    assert "<script>" not in html
    assert '<mark class="hz hz-fire" title="">&lt;script&gt;alert(1)&lt;/script&gt;</mark>' in html


def test_hostile_mark_kind_and_title_are_escaped() -> None:
    html = str(highlight("起火", [Mark(0, 2, '"><script>', "<img src=x>")]))
    assert "<script>" not in html
    assert "<img" not in html


def test_bad_spans_are_dropped_not_raised() -> None:
    text = "充电宝起火"
    marks = [Mark(3, 5, "fire"), Mark(4, 9, "fire"), Mark(2, 2, "fire"), Mark(-1, 1, "fire"), Mark(3, 4, "x")]
    html = str(highlight(text, marks))
    assert html == '充电宝<mark class="hz hz-fire" title="">起火</mark>'


def test_excerpt_window_centres_on_the_focused_mark() -> None:
    text = "甲" * 300 + "漏电" + "乙" * 100 + "起火" + "丙" * 300
    marks = [Mark(300, 302, "electric_shock"), Mark(402, 404, "fire")]
    ex = excerpt(text, marks, width=100, before=20, focus="fire")
    assert ex.cut_before and ex.cut_after
    assert '<mark class="hz hz-fire" title="">起火</mark>' in str(ex.html)
    assert "漏电" not in str(ex.html)
    short = excerpt("短文本起火", [Mark(3, 5, "fire")], width=100)
    assert not short.cut_before and not short.cut_after


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://shop.example.com/a?b=1", "https://shop.example.com/a?b=1"),
        ("http://news.example.cn/x", "http://news.example.cn/x"),
        ("javascript:alert(1)", None),
        ("JaVaScRiPt:alert(1)", None),
        (" javascript:alert(1)", None),
        ("data:text/html,<script>alert(1)</script>", None),
        ("/relative/path", None),
        ("//evil.example/x", None),
        ("http://[::1", None),
        ("", None),
        (None, None),
    ],
)
def test_safe_url(url: str | None, expected: str | None) -> None:
    assert safe_url(url) == expected


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("/signals?q=1", "/signals?q=1"),
        ("/candidates/c1", "/candidates/c1"),
        ("//evil.example", "/"),
        ("/\\evil.example", "/"),
        ("https://evil.example", "/"),
        ("/ok\r\nSet-Cookie: x=1", "/"),
        (None, "/"),
    ],
)
def test_local_path(target: str | None, expected: str) -> None:
    assert local_path(target) == expected


def test_bars_scale_to_the_largest_and_label() -> None:
    rows = bars({"review": 2, "news": 4, "recall": 1}, table="source_type")
    expected = [("新闻舆情", 4, 100.0), ("电商评论", 2, 50.0), ("召回", 1, 25.0)]
    assert [(b.label, b.count, b.percent) for b in rows] == expected
    assert bars({}) == []


def test_week_bars_fill_gaps_across_a_year_end() -> None:
    rows = week_bars({"2024-W51": 2, "2025-W02": 4, "garbage": 9})
    assert [(b.label, b.count) for b in rows] == [
        ("2024-W51", 2),
        ("2024-W52", 0),
        ("2025-W01", 0),
        ("2025-W02", 4),
    ]
    assert len(week_bars({"2020-W01": 1, "2024-W01": 1}, max_weeks=10)) == 10


def test_labels() -> None:
    assert label("fire", "hazard") == "起火/冒烟"  # the shared table in riskmine/schema/labels.py
    assert label("immediate", "tier") == "立即处置"
    assert label("brand-new-code", "hazard") == "brand-new-code"
    assert label(None, "tier") == "—"


# --- server-rendered charts and the candidate page's helpers ----------------------------------------


def test_trend_chart_fills_weeks_and_escapes_labels() -> None:
    from riskmine.api.render import Bar
    from riskmine.api.svg import column_chart, weekly_trend_chart

    svg = str(weekly_trend_chart({"2024-W01": 2, "2024-W04": 4}))
    assert svg.startswith('<svg class="trend"') and svg.endswith("</svg>")
    assert svg.count("<rect") == 4  # weeks 1-4, the gap filled with zero weeks
    assert "<title>2024-W02：0</title>" in svg and "<title>2024-W04：4</title>" in svg
    assert ">4</text>" in svg  # y axis top = largest count
    hostile = str(column_chart([Bar("<script>x</script>", 3, 100.0)], title='"><img src=x>'))
    assert "<script>" not in hostile and "<img" not in hostile
    assert "&lt;script&gt;x&lt;/script&gt;" in hostile
    assert "暂无数据" in str(weekly_trend_chart({}))


def test_meter_clamps_and_escapes() -> None:
    from riskmine.api.svg import meter

    assert 'width="100"' in str(meter(7.5))
    assert 'width="0"' in str(meter(-1))
    assert 'width="42"' in str(meter(0.42, label="<b>"))
    assert "&lt;b&gt;" in str(meter(0.1, label="<b>"))


def test_factor_rows_bar_only_for_shares() -> None:
    from riskmine.api.console_views import factor_rows
    from riskmine.schema import CandidateRisk

    cand = CandidateRisk(
        id="c1", key="k", title="t", factors={"events": 0.8, "growth_ratio": 3.5, "harm": 0.0, "odd": float("nan")}
    )
    rows = factor_rows(cand)
    assert [r.name for r in rows] == ["events", "harm", "growth_ratio"]
    assert rows[0].label == "独立事件数" and rows[0].bar is not None and 'width="80"' in str(rows[0].bar)
    assert rows[-1].bar is None and rows[-1].value == 3.5


def test_statistic_rows_flatten_label_and_flag_signals() -> None:
    from riskmine.api.console_views import statistic_rows

    rows = statistic_rows(
        {
            "scope": {"regional": {"signal": False, "p_value": 0.2}},
            "trend": {"rising": True, "poisson": {"p_value": 0.008, "signal": True, "method": "<b>m</b>"}},
            "daily_events": {"2024-05-01": 3},
            "custom": 3,
        }
    )
    assert [r.name for r in rows] == ["trend", "scope", "custom"]  # known order, raw inputs left out
    trend = rows[0]
    assert trend.label == "趋势检验" and trend.verdict == "signal"
    assert ("泊松检验 · p 值", "0.008") in trend.fields
    assert ("泊松检验 · 方法", "<b>m</b>") in trend.fields  # escaped by the template, kept as text here
    assert ("上升", "是") in trend.fields
    assert rows[1].verdict is None
    assert rows[2].fields == [("值", "3")]
    assert statistic_rows({}) == []
    assert statistic_rows({"causes": {}}) == []  # nothing to show


def test_neighbourhood_falls_back_to_the_candidate(tmp_path: object) -> None:
    from riskmine.api.console_views import neighbourhood
    from riskmine.schema import CandidateRisk, HazardType
    from riskmine.settings import Settings

    cand = CandidateRisk(
        id="c1",
        key="k",
        title="t",
        product_category="充电宝",
        hazard=HazardType.fire,
        brands=["某牌"],
        counts_by_region={"广东": 3, "浙江": 5},
        signal_ids=["s-not-in-graph"],
    )
    hood = neighbourhood(cand, Settings(env="development", var_dir=tmp_path))
    assert hood.source == "candidate"
    assert [n.name for n in hood.groups["地区"]] == ["浙江", "广东"]
    assert hood.groups["品牌"][0].name == "某牌"
    assert hood.groups["危害"][0].name != "fire"  # labelled


def test_iso_times_are_shown_in_china_time() -> None:
    from riskmine.api.render import fmt_iso

    assert fmt_iso("2024-05-01T16:30:00+00:00") == "2024-05-02 00:30"
    assert fmt_iso(None) == "—"
    assert fmt_iso("not a time") == "not a time"


def test_week_bars_survive_the_last_week_of_the_calendar() -> None:
    # a stored placeholder date (9999-12-31) used to overflow and answer 500 on every page showing it
    rows = week_bars({"9999-W51": 1, "9999-W52": 2})
    assert [(r.label, r.count) for r in rows] == [("9999-W51", 1), ("9999-W52", 2)]
