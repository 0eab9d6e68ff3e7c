"""Deadlines from the seeds, with the rest-day rule of Sichuan 第二十七条."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from riskmine.review import deadlines
from riskmine.schema import CandidateRisk, CandidateStatus, RiskLevel, SourceType, Tier, WarningColor


def test_days_end_at_china_midnight_and_skip_rest_days() -> None:
    # decided Friday 2024-03-01 10:00 China time; 7 days end Friday 03-08 (a working day)
    assert deadlines.days_after(datetime(2024, 3, 1, 2, 0, tzinfo=UTC), 7) == datetime(2024, 3, 8, 16, 0, tzinfo=UTC)
    # 15 days from 2024-09-20 end on 10-05, inside the National Day holiday: moved to Tuesday 10-08
    assert deadlines.objection_deadline(datetime(2024, 9, 20, 2, 0, tzinfo=UTC)) == datetime(
        2024, 10, 8, 16, 0, tzinfo=UTC
    )
    # a last day on a weekend moves to Monday
    assert deadlines.days_after(datetime(2024, 3, 2, 2, 0, tzinfo=UTC), 7) == datetime(2024, 3, 11, 16, 0, tzinfo=UTC)


def test_deadlines_by_status_and_colour() -> None:
    raised = datetime(2024, 5, 1, tzinfo=UTC)
    major = CandidateRisk(id="c1", key="k", title="t", tier=Tier.immediate, created_at=raised)
    first = deadlines.initial_deadline(major)
    assert first is not None and first.kind == "major_risk_report" and first.due_at == raised + timedelta(hours=24)
    plain = CandidateRisk(id="c3", key="k", title="t", created_at=raised)
    assert deadlines.initial_deadline(plain) is None
    at = datetime(2024, 6, 1, tzinfo=UTC)
    assert deadlines.deadline_on_entry(CandidateStatus.confirmed, plain, at, WarningColor.yellow) is None
    yellow = deadlines.deadline_on_entry(CandidateStatus.disposed, plain, at, WarningColor.yellow)
    assert yellow is not None and yellow.due_at == at + timedelta(hours=24)
    assert deadlines.deadline_on_entry(CandidateStatus.disposed, plain, at, WarningColor.green) is None
    assert deadlines.current_deadline(plain.model_copy(update={"status": CandidateStatus.closed})) is None


def test_red_or_orange_confirmation_starts_the_24_hour_report_clock_it_is_not_overdue_at_once() -> None:
    plain = CandidateRisk(id="c3", key="k", title="t", created_at=datetime(2024, 5, 1, tzinfo=UTC))
    at = datetime(2024, 6, 1, tzinfo=UTC)
    for colour in (WarningColor.red, WarningColor.orange):
        due = deadlines.deadline_on_entry(CandidateStatus.confirmed, plain, at, colour)
        assert due == deadlines.Deadline(deadlines.DeadlineKind.major_risk_report, at + timedelta(hours=24))
        assert not due.overdue(at) and due.remaining(at) == timedelta(hours=24)
        assert due.public(at + timedelta(hours=2))["remaining_hours"] == 22.0
        assert due.overdue(at + timedelta(hours=24))
        late = due.public(at + timedelta(hours=27))
        assert late["overdue"] is True and late["overdue_hours"] == 3.0 and late["remaining_hours"] is None
    stored = plain.model_copy(update={"status": CandidateStatus.confirmed, "due_at": at + timedelta(hours=24)})
    assert deadlines.current_deadline(stored) == deadlines.Deadline(
        deadlines.DeadlineKind.major_risk_report, at + timedelta(hours=24)
    )


def test_a_found_major_risk_keeps_its_clock_through_assignment_and_confirmation() -> None:
    # the candidate builder set the deadline 24 h after the risk was found; the candidate was rebuilt later
    found_due = datetime(2024, 5, 2, 8, 0, tzinfo=UTC)
    toy = CandidateRisk(
        id="c1", key="k", title="t", tier=Tier.immediate, created_at=datetime(2024, 5, 20, tzinfo=UTC), due_at=found_due
    )
    major = deadlines.DeadlineKind.major_risk_report
    assert deadlines.current_deadline(toy) == deadlines.Deadline(major, found_due)
    assigned = deadlines.deadline_on_entry(CandidateStatus.in_review, toy, datetime(2024, 5, 1, 12, tzinfo=UTC), None)
    assert assigned == deadlines.Deadline(major, found_due)
    for colour in (WarningColor.yellow, WarningColor.red):
        confirmed = deadlines.deadline_on_entry(
            CandidateStatus.confirmed, toy, datetime(2024, 5, 1, 20, tzinfo=UTC), colour
        )
        assert confirmed == deadlines.Deadline(major, found_due)  # confirming does not move it later


def test_suggested_levels_and_spot_check_results_start_no_clock() -> None:
    """Only a major risk (found: tier immediate; confirmed: red/orange) has a 24-hour report due; a machine's
    suggested level on a watch-tier candidate, or harm below the immediate rule, does not. Spot-check results
    reach riskmine already reported: the 7 days of Sichuan 第十九条 bind the lab, not the analyst."""
    raised = datetime(2024, 5, 1, tzinfo=UTC)
    suggested = CandidateRisk(
        id="c2", key="k", title="t", tier=Tier.watch, risk_level=RiskLevel.high, harm_count=2, created_at=raised
    )
    lab = CandidateRisk(
        id="c4", key="k", title="t", counts_by_source_type={SourceType.spot_check.value: 3}, created_at=raised
    )
    for cand in (suggested, lab):
        assert deadlines.initial_deadline(cand) is None and deadlines.current_deadline(cand) is None
        stale = cand.model_copy(update={"due_at": raised + timedelta(hours=24)})  # stored by an earlier version
        assert deadlines.current_deadline(stale) is None


def test_objection_window_runs_from_when_the_producer_received_the_result() -> None:
    decided = datetime(2024, 9, 2, 2, 0, tzinfo=UTC)
    received = datetime(2024, 9, 20, 2, 0, tzinfo=UTC)  # 15 days end on 10-05, a holiday: moved to 10-08
    assert deadlines.objection_deadline(decided, received) == datetime(2024, 10, 8, 16, 0, tzinfo=UTC)
    # unknown: from the decision day, the earliest the result can have been received (09-17 is a holiday)
    assert deadlines.objection_deadline(decided) == deadlines.objection_deadline(decided, None)
    assert deadlines.objection_deadline(decided) == datetime(2024, 9, 18, 16, 0, tzinfo=UTC)


def test_deadlines_of_a_placeholder_date_do_not_overflow() -> None:
    # a candidate created "in 9999" (a stored placeholder date) used to make /overdue answer 500
    end = datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC)
    assert deadlines.hours_after(end, 24) == deadlines.LATEST
    assert deadlines.days_after(end, deadlines.OBJECTION_DAYS) == deadlines.LATEST
    assert deadlines.hours_after(datetime(2024, 5, 1, tzinfo=UTC), 24) == datetime(2024, 5, 2, tzinfo=UTC)
