"""Deadlines of the review workflow, from the seeds.

* major risk (tier immediate, a high suggested level, or harm that occurred): reported within
  24 hours of the candidate being raised (Sichuan 第十九条, second paragraph);
* monitoring results (spot-check evidence): reported within 7 days (Sichuan 第十九条);
* objections by a producer or seller: within 15 days of the decision (Sichuan 第二十一条);
* red and orange warnings: handled centrally at once, so due the moment they are confirmed;
  yellow: the district disposes and sends a written report within 24 hours of disposition;
  green: kept under watch, no deadline (Shanghai 2022 第12条).

Days are calendar days counted from the day after the event and end at midnight China time;
a period whose last day is a rest day (weekend or statutory holiday, per the chinesecalendar
package) ends on the first working day after it (Sichuan 第二十七条). Hour limits run on the clock.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, timezone
from enum import StrEnum

import chinese_calendar

from riskmine.schema import CandidateRisk, CandidateStatus, RiskLevel, SourceType, Tier, WarningColor

CHINA_TZ = timezone(timedelta(hours=8), "CST")
MAJOR_RISK_HOURS = 24
MONITORING_DAYS = 7
OBJECTION_DAYS = 15
YELLOW_REPORT_HOURS = 24


class DeadlineKind(StrEnum):
    major_risk_report = "major_risk_report"  # 24 h
    monitoring_result = "monitoring_result"  # 7 days
    objection_window = "objection_window"  # 15 days
    immediate_disposition = "immediate_disposition"  # red / orange: at once
    yellow_written_report = "yellow_written_report"  # 24 h after disposition


@dataclass(frozen=True)
class Deadline:
    kind: DeadlineKind
    due_at: datetime


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def is_rest_day(day: date) -> bool:
    """A weekend or statutory holiday in China (weekends only for years the calendar does not cover)."""
    try:
        return bool(chinese_calendar.is_holiday(day))
    except NotImplementedError:
        return day.weekday() >= 5


def days_after(start: datetime, days: int) -> datetime:
    """The end of a period of `days` calendar days starting the day after `start` (China time),
    moved past a last day that is a rest day."""
    last = _aware(start).astimezone(CHINA_TZ).date() + timedelta(days=days)
    while is_rest_day(last):
        last += timedelta(days=1)
    return datetime.combine(last + timedelta(days=1), time(0, 0), tzinfo=CHINA_TZ).astimezone(UTC)


def hours_after(start: datetime, hours: int) -> datetime:
    return _aware(start).astimezone(UTC) + timedelta(hours=hours)


def objection_deadline(decided_at: datetime) -> datetime:
    """Last moment an objection to a decision made at `decided_at` is accepted."""
    return days_after(decided_at, OBJECTION_DAYS)


def is_major(candidate: CandidateRisk) -> bool:
    """A major risk: tier immediate, suggested level high, or a death, injury or hospital stay reported."""
    return candidate.tier is Tier.immediate or candidate.risk_level is RiskLevel.high or candidate.harm_count > 0


def initial_deadline(candidate: CandidateRisk) -> Deadline | None:
    """The deadline of a candidate not yet decided: 24 h for a major risk, 7 days for monitoring results."""
    raised = candidate.created_at
    if is_major(candidate):
        return Deadline(DeadlineKind.major_risk_report, hours_after(raised, MAJOR_RISK_HOURS))
    if candidate.counts_by_source_type.get(SourceType.spot_check.value):
        return Deadline(DeadlineKind.monitoring_result, days_after(raised, MONITORING_DAYS))
    return None


def deadline_on_entry(
    status: CandidateStatus, candidate: CandidateRisk, at: datetime, colour: WarningColor | None
) -> Deadline | None:
    """The deadline that starts when `candidate` enters `status` at `at` (None: no deadline runs).

    `colour` is the decided warning colour (the latest decision's)."""
    if status in (CandidateStatus.new, CandidateStatus.in_review):
        return initial_deadline(candidate)
    if status is CandidateStatus.confirmed and colour in (WarningColor.red, WarningColor.orange):
        return Deadline(DeadlineKind.immediate_disposition, _aware(at).astimezone(UTC))
    if status is CandidateStatus.disposed and colour is WarningColor.yellow:
        return Deadline(DeadlineKind.yellow_written_report, hours_after(at, YELLOW_REPORT_HOURS))
    return None


_KIND_OF_STATUS = {
    CandidateStatus.confirmed: DeadlineKind.immediate_disposition,
    CandidateStatus.disposed: DeadlineKind.yellow_written_report,
}
OPEN_STATUSES = frozenset(
    {CandidateStatus.new, CandidateStatus.in_review, CandidateStatus.confirmed, CandidateStatus.disposed}
)


def current_deadline(candidate: CandidateRisk) -> Deadline | None:
    """The deadline running for the candidate now: its stored ``due_at`` (set by the workflow on each
    transition) or, for a candidate never touched, the initial one; None once closed, merged or rejected."""
    if candidate.status not in OPEN_STATUSES:
        return None
    if candidate.due_at is None:
        return initial_deadline(candidate) if candidate.status is CandidateStatus.new else None
    initial = initial_deadline(candidate)
    kind = _KIND_OF_STATUS.get(candidate.status) or (initial.kind if initial else DeadlineKind.major_risk_report)
    return Deadline(kind, _aware(candidate.due_at).astimezone(UTC))
