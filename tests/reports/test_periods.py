"""Monthly periods and due dates around the 2024 and 2025 holidays.

The expected dates come from the State Council's holiday arrangements (国务院办公厅关于2024年/2025年
部分节假日安排的通知), written out here by hand, not computed by the code under test:

* 2024 春节 2月10日至17日放假，2月4日（周日）、2月18日（周日）上班；劳动节 5月1日至5日放假，
  4月28日（周日）、5月11日（周六）上班；国庆节 10月1日至7日放假，9月29日（周日）、10月12日（周六）上班.
* 2025 春节 1月28日至2月4日放假，1月26日（周日）、2月8日（周六）上班；劳动节 5月1日至5日放假，
  4月27日（周日）上班；国庆节、中秋节 10月1日至8日放假，9月28日（周日）、10月11日（周六）上班.
* 2023 春节 1月21日至27日放假，1月28日（周六）、1月29日（周日）上班.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from riskmine.reports.periods import (
    PeriodError,
    is_working_day,
    monthly_period,
    next_working_day,
    parse_period,
    period_containing,
)


@pytest.mark.parametrize(
    ("year", "month", "due"),
    [
        (2025, 1, date(2025, 1, 26)),  # 25th a Saturday; Sunday 26th is the Spring Festival 调休 working day
        (2023, 1, date(2023, 1, 28)),  # 25th inside the Spring Festival; Saturday 28th is a 调休 working day
        (2024, 1, date(2024, 1, 25)),  # a Thursday
        (2024, 2, date(2024, 2, 26)),  # Sunday 25th → Monday
        (2024, 5, date(2024, 5, 27)),  # Saturday 25th (the 调休 Saturday is the 11th, not the 25th) → Monday
        (2024, 8, date(2024, 8, 26)),  # Sunday → Monday
        (2024, 10, date(2024, 10, 25)),  # a Friday after National Day
        (2025, 2, date(2025, 2, 25)),  # a Tuesday after the Spring Festival
        (2025, 4, date(2025, 4, 25)),  # a Friday before Labour Day
        (2025, 5, date(2025, 5, 26)),  # Sunday → Monday
        (2025, 10, date(2025, 10, 27)),  # Saturday 25th (the 调休 Saturday was the 11th) → Monday
    ],
)
def test_due_date(year: int, month: int, due: date) -> None:
    period = monthly_period(year, month)
    assert period.due == due
    assert period.due_adjusted is (due != date(year, month, 25))
    assert period.calendar_complete


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        (date(2024, 2, 10), date(2024, 2, 18)),  # Spring Festival 2024 → the working Sunday after it
        (date(2024, 2, 9), date(2024, 2, 9)),  # 除夕 2024 was officially a working Friday
        (date(2024, 5, 1), date(2024, 5, 6)),
        (date(2024, 10, 1), date(2024, 10, 8)),
        (date(2025, 1, 28), date(2025, 2, 5)),
        (date(2025, 5, 1), date(2025, 5, 6)),
        (date(2025, 10, 1), date(2025, 10, 9)),
        (date(2025, 10, 4), date(2025, 10, 9)),
    ],
)
def test_next_working_day_skips_holidays(day: date, expected: date) -> None:
    assert next_working_day(day) == expected


@pytest.mark.parametrize(
    "day",
    [
        date(2024, 2, 4),
        date(2024, 2, 18),
        date(2024, 4, 28),
        date(2024, 5, 11),
        date(2024, 9, 29),
        date(2024, 10, 12),
        date(2025, 1, 26),
        date(2025, 2, 8),
        date(2025, 4, 27),
        date(2025, 9, 28),
        date(2025, 10, 11),
    ],
)
def test_adjusted_weekend_working_days(day: date) -> None:
    assert day.weekday() >= 5
    assert is_working_day(day)
    assert next_working_day(day) == day


def test_period_bounds_cross_the_year() -> None:
    period = parse_period("2025-01")
    assert (period.start, period.end) == (date(2024, 12, 25), date(2025, 1, 24))
    assert period.label == "2025-01"
    assert period.range_text == "2024-12-25至2025-01-24"
    assert parse_period("2025年3月").start == date(2025, 2, 25)


def test_period_contains_uses_china_time() -> None:
    period = parse_period("2025-03")
    # 16:30 UTC on the 24th is 00:30 on the 25th in China: next period.
    assert not period.contains(datetime(2025, 3, 24, 16, 30, tzinfo=UTC))
    assert period.contains(datetime(2025, 3, 24, 15, 59, tzinfo=UTC))
    assert period.contains(datetime(2025, 2, 24, 16, 0, tzinfo=UTC))  # 00:00 on the 25th in China
    assert not period.contains(date(2025, 2, 24))


def test_period_containing() -> None:
    assert period_containing(date(2024, 12, 25)).label == "2025-01"
    assert period_containing(date(2025, 1, 24)).label == "2025-01"
    assert period_containing(date(2025, 3, 25)).label == "2025-04"


@pytest.mark.parametrize("text", ["2025-13", "2025", "March", "", "2025-00", "20250-01"])
def test_bad_period_is_named(text: str) -> None:
    with pytest.raises(PeriodError, match=r"2025|month|period"):
        parse_period(text)


def test_year_without_official_data_falls_back_to_weekends() -> None:
    period = monthly_period(2099, 1)  # 2099-01-25 is a Sunday; no arrangement is published for 2099
    assert period.due == date(2099, 1, 26)
    assert not period.calendar_complete
