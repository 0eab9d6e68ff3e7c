"""The monthly reporting period and its due date.

日常风险信息每月报 (Shanxi 2023 plan 二.(三)4(1); Shanghai 2020 三.(三)): each month's report covers
the risk information from the 25th of the previous month to the 24th of this month and is due on
the 25th, moved to the next working day when the 25th is a rest day (遇休息日顺延至下一个工作日).
Working days follow the State Council's holiday arrangements as published in chinesecalendar,
including the adjusted working Saturdays and Sundays (调休上班日).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, timezone

import chinese_calendar

from riskmine.reports.errors import ReportError

# China Standard Time: the reporting calendar is the Chinese civil calendar (no daylight saving).
CST = timezone(timedelta(hours=8), "CST")
PERIOD_START_DAY = 25
PERIOD_END_DAY = 24
DUE_DAY = 25
# The longest run of rest days in any arrangement is under two weeks; a longer search means bad data.
_MAX_REST_RUN = 31

_PERIOD_RE = re.compile(r"^\s*(\d{4})\s*[-/.年]\s*(\d{1,2})\s*月?\s*$")


class PeriodError(ReportError):
    """A period that cannot be parsed or has no calendar data; the message says which."""

    code = "invalid_period"


def calendar_covers(day: date) -> bool:
    """Whether chinesecalendar has the official holiday arrangement for the day's year."""
    try:
        chinese_calendar.is_workday(day)
    except NotImplementedError:
        return False
    return True


def is_working_day(day: date) -> bool:
    """A working day under the official arrangement (adjusted working weekends count as working).

    For a year chinesecalendar has no arrangement for, Monday to Friday; see :func:`calendar_covers`.
    """
    try:
        return bool(chinese_calendar.is_workday(day))
    except NotImplementedError:
        return day.weekday() < 5


def next_working_day(day: date) -> date:
    """The day itself when it is a working day, else the first working day after it."""
    current = day
    for _ in range(_MAX_REST_RUN):
        if is_working_day(current):
            return current
        current += timedelta(days=1)
    raise PeriodError(f"no working day within {_MAX_REST_RUN} days of {day.isoformat()}; check the holiday data")


@dataclass(frozen=True)
class ReportPeriod:
    """One monthly reporting period: named by the month it ends in, e.g. '2025-03'."""

    year: int
    month: int
    start: date  # the 25th of the previous month
    end: date  # the 24th of this month (inclusive)
    due: date  # the 25th, or the next working day after it
    due_adjusted: bool  # whether the due date was moved off the 25th
    calendar_complete: bool  # whether official holiday data covered the due date

    @property
    def label(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"

    @property
    def start_at(self) -> datetime:
        """The first instant of the period (00:00 China time on the start day)."""
        return datetime.combine(self.start, time.min, CST)

    @property
    def end_before(self) -> datetime:
        """The first instant after the period (00:00 China time on the 25th)."""
        return datetime.combine(self.end + timedelta(days=1), time.min, CST)

    def contains(self, moment: datetime | date) -> bool:
        """Whether a time (naive times taken as UTC) or a date falls in the period, by China date."""
        return self.start <= china_date(moment) <= self.end

    @property
    def range_text(self) -> str:
        """The collection range as the forms write it, e.g. '2025-02-25至2025-03-24'."""
        return f"{self.start.isoformat()}至{self.end.isoformat()}"


def china_date(moment: datetime | date) -> date:
    """The date in China of a time (naive times are UTC, as everywhere in the store)."""
    if isinstance(moment, datetime):
        aware = moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
        return aware.astimezone(CST).date()
    return moment


def due_date(year: int, month: int) -> date:
    """The report's due date: the 25th of the month, moved to the next working day when a rest day."""
    return next_working_day(date(year, month, DUE_DAY))


def monthly_period(year: int, month: int) -> ReportPeriod:
    """The period ending on the 24th of `month`."""
    if not 1 <= month <= 12:
        raise PeriodError(f"month {month} is not between 1 and 12")
    if not 1900 < year < 2200:
        raise PeriodError(f"year {year} is out of range")
    prev_year, prev_month = (year - 1, 12) if month == 1 else (year, month - 1)
    start = date(prev_year, prev_month, PERIOD_START_DAY)
    end = date(year, month, PERIOD_END_DAY)
    nominal = date(year, month, DUE_DAY)
    due = next_working_day(nominal)
    covered = all(calendar_covers(nominal + timedelta(days=i)) for i in range((due - nominal).days + 1))
    return ReportPeriod(year, month, start, end, due, due != nominal, covered)


def parse_period(text: str) -> ReportPeriod:
    """The period named 'YYYY-MM' (also 'YYYY/MM', 'YYYY年MM月')."""
    match = _PERIOD_RE.match(text or "")
    if not match:
        raise PeriodError(f"period {text!r} is not a month like 2025-03")
    return monthly_period(int(match.group(1)), int(match.group(2)))


def period_containing(moment: datetime | date) -> ReportPeriod:
    """The monthly period a time or date belongs to (the 25th onwards belongs to next month's)."""
    day = china_date(moment)
    if day.day >= PERIOD_START_DAY:
        year, month = (day.year + 1, 1) if day.month == 12 else (day.year, day.month + 1)
    else:
        year, month = day.year, day.month
    return monthly_period(year, month)
