"""Deadlines from the seeds, with the rest-day rule of Sichuan 第二十七条."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from riskmine.review import deadlines
from riskmine.schema import CandidateRisk, CandidateStatus, SourceType, Tier, WarningColor


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
    lab = CandidateRisk(
        id="c2", key="k", title="t", counts_by_source_type={SourceType.spot_check.value: 1}, created_at=raised
    )
    assert deadlines.initial_deadline(lab) is not None and deadlines.initial_deadline(lab).kind == "monitoring_result"  # type: ignore[union-attr]
    plain = CandidateRisk(id="c3", key="k", title="t", created_at=raised)
    assert deadlines.initial_deadline(plain) is None
    at = datetime(2024, 6, 1, tzinfo=UTC)
    red = deadlines.deadline_on_entry(CandidateStatus.confirmed, plain, at, WarningColor.red)
    assert red is not None and red.due_at == at and red.kind == "immediate_disposition"
    assert deadlines.deadline_on_entry(CandidateStatus.confirmed, plain, at, WarningColor.yellow) is None
    yellow = deadlines.deadline_on_entry(CandidateStatus.disposed, plain, at, WarningColor.yellow)
    assert yellow is not None and yellow.due_at == at + timedelta(hours=24)
    assert deadlines.deadline_on_entry(CandidateStatus.disposed, plain, at, WarningColor.green) is None
    assert deadlines.current_deadline(plain.model_copy(update={"status": CandidateStatus.closed})) is None
