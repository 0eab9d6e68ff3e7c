"""Deadlines of the review workflow, from the seeds.

* major risk: reported within 24 hours (Sichuan 第十九条, second paragraph), by the immediate report
  (riskmine.reports.immediate, 重要风险信息及时报). The clock runs from when the risk was found or confirmed,
  whichever came first: found when the system first held a signal putting the candidate in the immediate tier
  (the candidate builder sets ``due_at`` then, riskmine.knowledge_graph.candidates), confirmed when an analyst
  confirms it with a red or orange warning (Shanghai 2022 第12条: those are handled at once). The workflow writes
  the immediate report when such a candidate is confirmed, which meets the deadline;
* yellow: the district disposes and sends a written report within 24 hours of disposition;
  green: kept under watch, no deadline (Shanghai 2022 第12条);
* objections by a producer or seller: within 15 days of the day they received the result (Sichuan
  第二十一条); when that day is not recorded, from the decision day, the earliest it can have been.

Not deadlines of a candidate: a machine-suggested level or a harm below the immediate rule makes no major risk
until an analyst confirms one, and the 7 days of Sichuan 第十九条 bind the test lab reporting its monitoring
conclusion to the regulator: a spot-check result reaches riskmine already reported.

Days are calendar days counted from the day after the event and end at midnight China time;
a period whose last day is a rest day (weekend or statutory holiday, per the chinesecalendar
package) ends on the first working day after it (Sichuan 第二十七条). Hour limits run on the clock.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, timezone
from enum import StrEnum
from typing import Any

import chinese_calendar

from riskmine.schema import CandidateRisk, CandidateStatus, Tier, WarningColor

CHINA_TZ = timezone(timedelta(hours=8), "CST")
MAJOR_RISK_HOURS = 24
OBJECTION_DAYS = 15
YELLOW_REPORT_HOURS = 24
# Warning colours that make a confirmed candidate a major risk (the immediate report's hook uses the same).
MAJOR_COLOURS = frozenset({WarningColor.red, WarningColor.orange})


class DeadlineKind(StrEnum):
    major_risk_report = "major_risk_report"  # 24 h from found or confirmed; met by the immediate report
    objection_window = "objection_window"  # 15 days from the result's receipt
    yellow_written_report = "yellow_written_report"  # 24 h after disposition


@dataclass(frozen=True)
class Deadline:
    kind: DeadlineKind
    due_at: datetime

    def overdue(self, now: datetime) -> bool:
        """Whether the deadline has passed at ``now`` (it ends at ``due_at``)."""
        return aware(now) >= self.due_at

    def remaining(self, now: datetime) -> timedelta:
        """Time left at ``now``; negative once overdue."""
        return self.due_at - aware(now)

    def public(self, now: datetime) -> dict[str, Any]:
        """The deadline as the API shows it: while it runs the hours left, once passed the hours overdue."""
        hours = round(self.remaining(now).total_seconds() / 3600, 1)
        late = self.overdue(now)
        return {
            "kind": self.kind.value,
            "due_at": self.due_at.astimezone(UTC).isoformat(),
            "overdue": late,
            "remaining_hours": None if late else hours,
            "overdue_hours": -hours if late else None,
        }


def aware(value: datetime) -> datetime:
    """`value` with a time zone: a naive one is taken as UTC."""
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def is_rest_day(day: date) -> bool:
    """A weekend or statutory holiday in China (weekends only for years the calendar does not cover)."""
    try:
        return bool(chinese_calendar.is_holiday(day))
    except NotImplementedError:
        return day.weekday() >= 5


def china_day(moment: datetime) -> date:
    """The calendar day of `moment` in China (naive values are taken as UTC)."""
    return aware(moment).astimezone(CHINA_TZ).date()


def start_of_china_day(day: date) -> datetime:
    """Midnight China time at the start of `day` (a date given without a time, as on a form), in UTC."""
    return datetime.combine(day, time(0, 0), tzinfo=CHINA_TZ).astimezone(UTC)


# The latest moment a deadline can be: one a day short of the calendar's end leaves room for time zones (a placeholder
# date such as 9999-12-31 already stored must give a far deadline, not an OverflowError).
LATEST = datetime(9999, 12, 30, tzinfo=UTC)


def days_after(start: datetime, days: int) -> datetime:
    """The end of a period of `days` calendar days starting the day after `start` (China time),
    moved past a last day that is a rest day."""
    try:
        last = china_day(start) + timedelta(days=days)
        while is_rest_day(last):
            last += timedelta(days=1)
        return min(start_of_china_day(last + timedelta(days=1)), LATEST)
    except OverflowError:
        return LATEST


def hours_after(start: datetime, hours: int) -> datetime:
    try:
        return min(aware(start).astimezone(UTC) + timedelta(hours=hours), LATEST)
    except OverflowError:
        return LATEST


def objection_deadline(decided_at: datetime, result_received_at: datetime | None = None) -> datetime:
    """Last moment an objection is accepted: 15 days from the day the producer or seller received the result
    (``result_received_at``), or from the decision day when that is unknown."""
    return days_after(result_received_at or decided_at, OBJECTION_DAYS)


def is_major(candidate: CandidateRisk, colour: WarningColor | None = None) -> bool:
    """A major risk: found by the system (tier immediate) or confirmed with a red or orange warning (``colour``)."""
    return candidate.tier is Tier.immediate or colour in MAJOR_COLOURS


def initial_deadline(candidate: CandidateRisk) -> Deadline | None:
    """The deadline of a candidate waiting for its decision: the 24-hour report of a major risk found by the
    system, due when the candidate builder set it (24 h after the risk was found), else 24 h after the candidate
    was raised; None for any other candidate."""
    if not is_major(candidate):
        return None
    due = candidate.due_at or hours_after(candidate.created_at, MAJOR_RISK_HOURS)
    return Deadline(DeadlineKind.major_risk_report, aware(due).astimezone(UTC))


def deadline_on_entry(
    status: CandidateStatus, candidate: CandidateRisk, at: datetime, colour: WarningColor | None
) -> Deadline | None:
    """The deadline that runs once `candidate` enters `status` at `at` (None: no deadline runs).

    `colour` is the decided warning colour (the latest decision's). Review and confirmation keep a clock already
    running: a found major risk is due 24 h after it was found, a confirmed one 24 h after confirmation at the
    latest."""
    if status in (CandidateStatus.new, CandidateStatus.in_review):
        return initial_deadline(candidate)
    if status is CandidateStatus.confirmed and is_major(candidate, colour):
        found = initial_deadline(candidate)
        confirmed = hours_after(at, MAJOR_RISK_HOURS)
        return Deadline(DeadlineKind.major_risk_report, min(found.due_at, confirmed) if found else confirmed)
    if status is CandidateStatus.disposed and colour is WarningColor.yellow:
        return Deadline(DeadlineKind.yellow_written_report, hours_after(at, YELLOW_REPORT_HOURS))
    return None


_KIND_OF_STATUS = {
    CandidateStatus.confirmed: DeadlineKind.major_risk_report,
    CandidateStatus.disposed: DeadlineKind.yellow_written_report,
}
OPEN_STATUSES = frozenset(
    {CandidateStatus.new, CandidateStatus.in_review, CandidateStatus.confirmed, CandidateStatus.disposed}
)


def current_deadline(candidate: CandidateRisk) -> Deadline | None:
    """The deadline running for the candidate now: while it waits for a decision, the 24-hour report of a major
    risk it was found to be; after, the ``due_at`` the workflow set on the last transition (cleared once met);
    None once closed, merged or rejected."""
    if candidate.status not in OPEN_STATUSES:
        return None
    if candidate.status in (CandidateStatus.new, CandidateStatus.in_review):
        return initial_deadline(candidate)
    if candidate.due_at is None:
        return None
    return Deadline(_KIND_OF_STATUS[candidate.status], aware(candidate.due_at).astimezone(UTC))
