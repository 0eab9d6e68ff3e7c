"""Value parsers (dates, ranges, prices, ratings, counts) and header matching."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from riskmine.feeds.headers import canonical_field, find_header_row, header_key, parse_preamble
from riskmine.feeds.values import (
    SHANGHAI,
    parse_count,
    parse_date_range,
    parse_datetime,
    parse_price,
    parse_rating,
)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2024-05-01", datetime(2024, 5, 1, tzinfo=SHANGHAI)),
        ("2024-05-01 12:30", datetime(2024, 5, 1, 12, 30, tzinfo=SHANGHAI)),
        ("2024-05-01T12:30:45", datetime(2024, 5, 1, 12, 30, 45, tzinfo=SHANGHAI)),
        ("2024/5/1", datetime(2024, 5, 1, tzinfo=SHANGHAI)),
        ("2024.5.1 8:05", datetime(2024, 5, 1, 8, 5, tzinfo=SHANGHAI)),
        ("2024年5月1日", datetime(2024, 5, 1, tzinfo=SHANGHAI)),
        ("2024年5月1日 12时30分", datetime(2024, 5, 1, 12, 30, tzinfo=SHANGHAI)),
        ("２０２４－０５－０１", datetime(2024, 5, 1, tzinfo=SHANGHAI)),  # full-width digits
        ("20240501", datetime(2024, 5, 1, tzinfo=SHANGHAI)),
        ("2024-05-01T04:30:00Z", datetime(2024, 5, 1, 4, 30, tzinfo=UTC)),
        ("2024-05-01T12:30:00+09:00", datetime(2024, 5, 1, 3, 30, tzinfo=UTC)),
        (datetime(2024, 5, 1, 12, 30), datetime(2024, 5, 1, 12, 30, tzinfo=SHANGHAI)),
        (date(2024, 5, 1), datetime(2024, 5, 1, tzinfo=SHANGHAI)),
        (45413, datetime(2024, 5, 1, tzinfo=SHANGHAI)),  # Excel serial day
        (45413.5, datetime(2024, 5, 1, 12, tzinfo=SHANGHAI)),
        (1714537800, datetime(2024, 5, 1, 4, 30, tzinfo=UTC)),  # epoch seconds
        (1714537800000, datetime(2024, 5, 1, 4, 30, tzinfo=UTC)),  # epoch milliseconds
    ],
)
def test_dates(value: object, expected: datetime) -> None:
    parsed = parse_datetime(value)
    assert parsed == expected
    assert parsed.tzinfo is not None


def test_naive_times_are_china_standard_time() -> None:
    assert parse_datetime("2024-05-01 08:00").utcoffset() == timedelta(hours=8)


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        ("2024-13-45", "不是有效日期（月份应在 1–12 之间）"),
        ("2024-02-30", "该月没有这一天"),
        ("昨天", "不是日期"),
        ("", "日期为空"),
        (True, "不是日期"),
    ],
)
def test_bad_dates_say_why(value: object, fragment: str) -> None:
    with pytest.raises(ValueError, match=fragment):
        parse_datetime(value)


@pytest.mark.parametrize(
    ("value", "start", "end"),
    [
        ("2024.4.25-2024.5.24", date(2024, 4, 25), date(2024, 5, 24)),
        ("2024-04-25-2024-05-24", date(2024, 4, 25), date(2024, 5, 24)),
        ("2024/04/25~2024/05/24", date(2024, 4, 25), date(2024, 5, 24)),
        ("2024年4月25日至2024年5月24日", date(2024, 4, 25), date(2024, 5, 24)),
        ("2024年4月25日至5月24日", date(2024, 4, 25), date(2024, 5, 24)),
        ("2024年12月25日-1月24日", date(2024, 12, 25), date(2025, 1, 24)),
        ("2024年5月", date(2024, 5, 1), date(2024, 5, 31)),
        ("2024-05-24", date(2024, 5, 24), date(2024, 5, 24)),
    ],
)
def test_date_ranges(value: str, start: date, end: date) -> None:
    assert parse_date_range(value) == (start, end)


def test_date_range_without_year_needs_a_default_year() -> None:
    assert parse_date_range("12月25日-1月24日", default_year=2025) == (date(2024, 12, 25), date(2025, 1, 24))
    with pytest.raises(ValueError, match="不是日期范围"):
        parse_date_range("4月25日-5月24日")


@pytest.mark.parametrize("value", ["上个月", "2024.5.24-2024.4.25", "2024.13.1-2024.5.1"])
def test_bad_date_ranges(value: str) -> None:
    with pytest.raises(ValueError, match=repr(value)):
        parse_date_range(value)


@pytest.mark.parametrize(
    ("value", "expected"),
    [("¥1,299.00", 1299.0), ("￥99", 99.0), ("1299元", 1299.0), ("RMB 12.5", 12.5), (159, 159.0), ("0", 0.0)],
)
def test_prices(value: object, expected: float) -> None:
    assert parse_price(value) == expected


@pytest.mark.parametrize("value", ["abc", "99-129", "-5", "nan"])
def test_bad_prices(value: str) -> None:
    with pytest.raises(ValueError, match="不是价格"):
        parse_price(value)


@pytest.mark.parametrize(
    ("value", "expected"),
    [("5星", 5.0), ("4.5分", 4.5), ("五星", 5.0), ("★★★☆☆", 3.0), (4, 4.0), ("3", 3.0)],
)
def test_ratings(value: object, expected: float) -> None:
    assert parse_rating(value) == expected


@pytest.mark.parametrize("value", ["abc", "-1", "很好"])
def test_bad_ratings(value: str) -> None:
    with pytest.raises(ValueError, match="不是评分"):
        parse_rating(value)


@pytest.mark.parametrize(("value", "expected"), [("12", 12), ("1,234", 1234), ("3家", 3), ("约3家", 3), (12.0, 12)])
def test_counts(value: object, expected: int) -> None:
    assert parse_count(value) == expected


@pytest.mark.parametrize("value", ["若干", "1.5", 2.5, "-3"])
def test_bad_counts(value: object) -> None:
    with pytest.raises(ValueError, match="不是整数"):
        parse_count(value)


@pytest.mark.parametrize(
    ("header", "field"),
    [
        ("标题", "title"),
        (" 标 题 ", "title"),
        ("\u3000内容\u3000", "text"),  # full-width spaces
        ("正文", "text"),
        ("评论内容", "text"),
        ("风险信息内容", "text"),
        ("发布时间", "published_at"),
        ("时间", "published_at"),
        ("商品地址", "url"),
        ("商品价格（元）", "price"),
        ("*评分", "rating"),
        ("公司所在区域", "region"),
        ("信息来源", "source"),
        ("Published At", "published_at"),
        ("PUBLISHED_AT", "published_at"),
        ("ＴＥＸＴ", "text"),  # full-width letters
        ("id", "source_id"),
        ("\ufeffid", "source_id"),
        ("foo", None),
        ("备注", None),
    ],
)
def test_header_matching(header: str, field: str | None) -> None:
    assert canonical_field(header) == field


def test_header_key_normalises() -> None:
    assert header_key("时间采集\n范围") == "时间采集范围"
    assert header_key("Source-Type") == header_key("source_type")


def test_header_row_found_below_title_rows() -> None:
    rows: list[list[Any]] = [
        ["上海市产品质量安全风险信息报送表", None, None],
        ["填报单位：某协会", None, "填报时间：2024年5月25日"],
        ["标题", "内容", "发布时间"],
        ["a", "b", "2024-05-01"],
    ]
    assert find_header_row(rows) == 2
    assert parse_preamble(rows[:2]) == {"填报单位": "某协会", "填报时间": "2024年5月25日"}


def test_header_row_is_not_taken_from_data_that_looks_like_headers() -> None:
    rows = [["内容", "foo", "bar"], ["充电宝很烫", "评论", "标题"], ["x", "y", "z"]]
    assert find_header_row(rows) == 0  # the data row names more known columns, but comes later
    assert find_header_row([["内容", "类型"], ["充电宝很烫", "评论"]]) == 0


def test_unknown_headers_fall_back_to_the_first_non_empty_row() -> None:
    assert find_header_row([[None, ""], ["foo", "bar"], ["1", "2"]]) == 1


def test_preamble_on_one_line_and_value_in_next_cell() -> None:
    assert parse_preamble([["填报单位：  （风险信息监测站名）        填报时间：2024-05-27"]]) == {
        "填报单位": "（风险信息监测站名）",
        "填报时间": "2024-05-27",
    }
    assert parse_preamble([["填报单位：", "某电商平台"]]) == {"填报单位": "某电商平台"}


def test_document_time_window() -> None:
    from riskmine.feeds.values import check_document_time, parse_document_time

    now = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
    assert parse_document_time("2024-05-02 12:00", now) == datetime(2024, 5, 2, 12, tzinfo=SHANGHAI)  # within a day
    assert check_document_time(datetime(1990, 1, 1, tzinfo=SHANGHAI), now).year == 1990
    for bad in ("9999-12-31T23:59:59+14:00", "2024-05-03", "1989-12-31"):
        with pytest.raises(ValueError, match="不是有效的文档时间"):
            parse_document_time(bad, now)
    with pytest.raises(ValueError, match="9999-12-31"):
        parse_document_time("9999-12-31T23:59:59+14:00")  # against the clock
