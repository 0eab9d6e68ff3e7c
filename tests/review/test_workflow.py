"""The review workflow over a real store: status machine, decisions, merge, split, objections, overdue."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from riskmine.processing import refresh_candidates
from riskmine.review import audit, workflow
from riskmine.review.errors import DeadlinePassed, InvalidTransition, ReviewError, ReviewForbidden, ReviewNotFound
from riskmine.review.records import iso
from riskmine.review.sqlite_repository import SQLiteReviewRepository
from riskmine.schema import CandidateRisk, CandidateStatus, Decision, Grade, RiskLevel, WarningColor
from riskmine.store.base import Collection, DuplicatePolicy
from riskmine.store.sqlite import SQLiteStore
from tests.review.conftest import ADMIN, ANALYST, CONSUMER, STATION, VIEWER


def _by_key(candidates: list[CandidateRisk], key: str) -> CandidateRisk:
    return next(c for c in candidates if c.key == key)


def test_status_machine_walks_to_closed_and_refuses_jumps(
    store: SQLiteStore, db: SQLiteReviewRepository, candidates: list[CandidateRisk]
) -> None:
    cid = _by_key(candidates, "充电宝|fire").id
    with pytest.raises(InvalidTransition, match="cannot move to disposed"):
        workflow.transition(store, db, cid, "disposed", ANALYST)
    with pytest.raises(InvalidTransition, match="record a decision"):
        workflow.transition(store, db, cid, "confirmed", ANALYST)
    assert workflow.transition(store, db, cid, "in_review", ANALYST).status is CandidateStatus.in_review
    decision = workflow.decide(
        store,
        db,
        cid,
        ANALYST,
        status="confirmed",
        risk_level="medium",
        warning_color="yellow",
        measures=["spot_check", "consumer_advisory"],
        rationale="多源报告起火",
    )
    stored = store.get(Collection.decisions, decision.id)
    assert isinstance(stored, Decision) and stored.decided_by == "li" and stored.measures[0].value == "spot_check"
    cand = workflow.get_candidate(store, cid)
    assert cand.status is CandidateStatus.confirmed and cand.decision_id == decision.id
    assert cand.due_at is None  # yellow: the written report is due after disposition
    disposed = workflow.transition(store, db, cid, "disposed", ANALYST)
    assert disposed.due_at is not None and disposed.due_at - disposed.updated_at == timedelta(hours=24)
    closed = workflow.transition(store, db, cid, "closed", ANALYST)
    assert closed.status is CandidateStatus.closed and closed.due_at is None
    with pytest.raises(InvalidTransition, match="none \\(final\\)"):
        workflow.transition(store, db, cid, "in_review", ANALYST)
    with pytest.raises(ReviewError, match="unknown status"):
        workflow.transition(store, db, cid, "bogus", ANALYST)
    actions = [e.action for e in audit.events(db, target_id=cid)[0]]
    assert actions.count("candidate.transition") == 3 and "candidate.decide" in actions


def test_decision_needs_level_colour_rationale_and_a_reviewer(
    store: SQLiteStore, db: SQLiteReviewRepository, candidates: list[CandidateRisk]
) -> None:
    cid = candidates[0].id
    with pytest.raises(ReviewError, match="risk level"):
        workflow.decide(store, db, cid, ANALYST, status="confirmed", rationale="x")
    with pytest.raises(ReviewError, match="rationale"):
        workflow.decide(store, db, cid, ANALYST, status="rejected", rationale="  ")
    with pytest.raises(ReviewError, match="invalid decision"):
        workflow.decide(store, db, cid, ANALYST, status="rejected", measures=["shout"], rationale="x")
    for actor in (VIEWER, STATION, CONSUMER):
        with pytest.raises(ReviewForbidden):
            workflow.decide(store, db, cid, actor, status="rejected", rationale="不是风险")
    d = workflow.decide(store, db, cid, ANALYST, status="rejected", rationale="误报")
    assert workflow.get_candidate(store, cid).status is CandidateStatus.rejected
    with pytest.raises(InvalidTransition, match="only a new or in_review"):
        workflow.decide(store, db, cid, ANALYST, status="rejected", rationale="again")
    assert [x.id for x in workflow.decisions_of(store, db, cid, ANALYST)] == [d.id]


def test_a_found_major_risk_runs_24_hours_from_its_arrival_and_the_immediate_report_meets_it(
    store: SQLiteStore, db: SQLiteReviewRepository, candidates: list[CandidateRisk]
) -> None:
    kettle = _by_key(candidates, "电热水壶|electric_shock")
    assert kettle.tier.value == "immediate"
    # its injury report was published in 2024 but collected just now: found now, so the 24 hours run from now
    arrived = datetime.fromisoformat(kettle.statistics["immediate"]["found_at"])
    assert arrived > datetime.now(UTC) - timedelta(hours=1)
    assert kettle.due_at == arrived + timedelta(hours=24)
    now = arrived + timedelta(hours=1)
    assert kettle.id not in {o.candidate_id for o in workflow.overdue(store, db, ANALYST, now=now)}
    # assigning it (new -> in_review) keeps the clock; it does not restart from when the candidate was built
    assigned = workflow.assign(store, db, kettle.id, ANALYST, assignee="li", now=now)
    assert assigned.due_at == kettle.due_at
    late = {o.candidate_id: o for o in workflow.overdue(store, db, ANALYST, now=arrived + timedelta(hours=25))}
    assert late[kettle.id].deadline_kind == "major_risk_report" and late[kettle.id].overdue_hours == 1.0
    when = arrived + timedelta(hours=5)
    workflow.decide(
        store,
        db,
        kettle.id,
        ANALYST,
        status="confirmed",
        risk_level="high",
        warning_color="red",
        rationale="伤害事件",
        now=when,
    )
    # confirming it writes its immediate report beside the review db, which meets the 24-hour deadline
    reports = sorted(p.suffix for p in (db.path.parent / "reports" / "immediate").iterdir())
    assert reports == [".docx", ".html"]
    found, _ = audit.events(db, action="report.immediate", target_id=kettle.id)
    assert len(found) == 1 and found[0].after["on_time"] is True
    assert found[0].before == {"due_at": iso(kettle.due_at)} and found[0].after["due_at"] is None
    cand = workflow.get_candidate(store, kettle.id)
    assert cand.status is CandidateStatus.confirmed and cand.due_at is None
    assert kettle.id not in {o.candidate_id for o in workflow.overdue(store, db, ANALYST, now=when + timedelta(days=9))}
    workflow.transition(store, db, kettle.id, "disposed", ANALYST)
    assert kettle.id not in {o.candidate_id for o in workflow.overdue(store, db, ANALYST)}


@pytest.mark.parametrize("colour", ["red", "orange"])
def test_confirming_red_or_orange_is_not_overdue_at_once_its_immediate_report_is_made(
    store: SQLiteStore, db: SQLiteReviewRepository, candidates: list[CandidateRisk], colour: str
) -> None:
    fire = _by_key(candidates, "充电宝|fire")
    assert fire.tier.value == "review" and fire.due_at is None
    when = datetime(2030, 1, 7, 8, 0, tzinfo=UTC)
    workflow.decide(
        store,
        db,
        fire.id,
        ANALYST,
        status="confirmed",
        risk_level="high",
        warning_color=colour,
        rationale="多源起火",
        now=when,
    )
    for later in (timedelta(0), timedelta(hours=1), timedelta(days=3)):
        assert fire.id not in {o.candidate_id for o in workflow.overdue(store, db, ANALYST, now=when + later)}
    found, _ = audit.events(db, action="report.immediate", target_id=fire.id)
    assert len(found) == 1 and found[0].after["on_time"] is True
    assert (db.path.parent / "reports" / "immediate" / f"immediate-{fire.id}.docx").exists()
    assert workflow.get_candidate(store, fire.id).due_at is None


def test_assign_comment_and_scope(
    store: SQLiteStore, db: SQLiteReviewRepository, candidates: list[CandidateRisk]
) -> None:
    cid = candidates[0].id
    cand = workflow.assign(store, db, cid, ANALYST, assignee="li", organisation="武侯区")
    assert cand.assignee == "li" and cand.organisation == "武侯区" and cand.status is CandidateStatus.in_review
    with pytest.raises(ReviewNotFound, match="no organisation"):
        workflow.assign(store, db, cid, ANALYST, assignee="li", organisation="火星")
    workflow.add_comment(store, db, cid, ANALYST, "请核实<b>来源</b>")
    assert [c.text for c in workflow.list_comments(store, db, cid, VIEWER)] == ["请核实<b>来源</b>"]
    # the station sits under 武侯区 but a station only sees its subtree: the county's candidate is not its own
    with pytest.raises(ReviewNotFound):
        workflow.list_comments(store, db, cid, STATION)
    with pytest.raises(ReviewForbidden):
        workflow.list_comments(store, db, cid, CONSUMER)
    with pytest.raises(ReviewForbidden):
        workflow.add_comment(store, db, cid, VIEWER, "hi")


def test_merge_unions_signals_and_split_moves_them(
    store: SQLiteStore, db: SQLiteReviewRepository, candidates: list[CandidateRisk]
) -> None:
    a, b = _by_key(candidates, "充电宝|fire"), _by_key(candidates, "电热水壶|electric_shock")
    merged = workflow.merge(store, db, a.id, [b.id], ANALYST)
    assert set(merged.signal_ids) == set(a.signal_ids) | set(b.signal_ids)
    assert merged.signal_count == len(a.signal_ids) + len(b.signal_ids)
    gone = workflow.get_candidate(store, b.id)
    assert gone.status is CandidateStatus.merged and gone.merged_into == a.id
    with pytest.raises(InvalidTransition):
        workflow.merge(store, db, a.id, [b.id], ANALYST)
    with pytest.raises(ReviewError, match="itself"):
        workflow.merge(store, db, a.id, [a.id], ANALYST)

    reduced, created = workflow.split(store, db, a.id, b.signal_ids, ANALYST)
    assert set(reduced.signal_ids) == set(a.signal_ids)
    assert set(created.signal_ids) == set(b.signal_ids) and created.status is CandidateStatus.in_review
    assert store.get(Collection.candidates, created.id) is not None
    with pytest.raises(ReviewError, match="not in candidate"):
        workflow.split(store, db, a.id, ["nope"], ANALYST)
    with pytest.raises(ReviewError, match="not none or all"):
        workflow.split(store, db, a.id, reduced.signal_ids, ANALYST)


def test_the_latest_decision_grades_the_candidate_and_a_refresh_keeps_it(
    store: SQLiteStore, db: SQLiteReviewRepository, candidates: list[CandidateRisk]
) -> None:
    fire = _by_key(candidates, "充电宝|fire")
    fire.risk_level, fire.warning_color = RiskLevel.high, WarningColor.red  # the model suggests 高风险, 红色
    store.write(Collection.candidates, [fire], DuplicatePolicy.overwrite)
    assert fire.decided is None and fire.grade == fire.suggested == Grade(risk_level="high", warning_color="red")
    workflow.decide(store, db, fire.id, ANALYST, status="rejected", rationale="误报")
    rejected = workflow.get_candidate(store, fire.id)
    assert rejected.grade == Grade()  # a rejection grades nothing; the suggestion stays beside it
    assert rejected.suggested == Grade(risk_level="high", warning_color="red")
    workflow.transition(store, db, fire.id, "in_review", ANALYST)
    _, created = workflow.split(store, db, fire.id, fire.signal_ids[:1], ANALYST)
    assert created.decided is None and created.grade == created.suggested  # nobody decided on the split-off part
    workflow.decide(
        store, db, fire.id, ANALYST, status="confirmed", risk_level="medium", warning_color="yellow", rationale="个案"
    )
    refresh_candidates(store)
    kept = workflow.get_candidate(store, fire.id)
    assert kept.grade == Grade(risk_level="medium", warning_color="yellow")
    assert kept.suggested == Grade(risk_level="medium", warning_color=None)  # recomputed from the signals
    assert [c.id for c in store.iterate(Collection.candidates, filters={"warning_color": "yellow"})] == [fire.id]


def test_objections_within_15_days_then_answered(
    store: SQLiteStore, db: SQLiteReviewRepository, candidates: list[CandidateRisk]
) -> None:
    cid = candidates[0].id
    with pytest.raises(ReviewError, match="no decision"):
        workflow.record_objection(store, db, cid, ANALYST, objector="某公司", objector_kind="producer", text="异议")
    decided = datetime(2024, 9, 20, 2, 0, tzinfo=UTC)  # 15 days end on 10-05, a holiday: moved to 10-08
    workflow.decide(store, db, cid, ANALYST, status="rejected", rationale="误报", now=decided)
    ok = workflow.record_objection(
        store,
        db,
        cid,
        ANALYST,
        objector="某公司",
        objector_kind="seller",
        text="检测样品非本店",
        received_at=datetime(2024, 10, 7, 10, 0, tzinfo=UTC),
    )
    assert ok.status == "open" and ok.deadline.startswith("2024-10-08T16:00")
    with pytest.raises(DeadlinePassed, match="too late"):
        workflow.record_objection(
            store,
            db,
            cid,
            ANALYST,
            objector="某公司",
            objector_kind="seller",
            text="迟到",
            received_at=datetime(2024, 10, 8, 16, 0, tzinfo=UTC),
        )
    with pytest.raises(ReviewError, match="objector_kind"):
        workflow.record_objection(store, db, cid, ANALYST, objector="x", objector_kind="buyer", text="x")
    answered = workflow.answer_objection(store, db, ok.id, ANALYST, "已复检，维持结论")
    assert answered.status == "answered" and answered.answered_by == "li"
    with pytest.raises(ReviewError, match="already answered"):
        workflow.answer_objection(store, db, ok.id, ANALYST, "again")
    assert [o.status for o in workflow.list_objections(store, db, VIEWER, candidate_id=cid)] == ["answered"]
    assert workflow.list_objections(store, db, VIEWER, status="open") == []


def test_objection_window_runs_from_when_the_producer_received_the_result(
    store: SQLiteStore, db: SQLiteReviewRepository, candidates: list[CandidateRisk]
) -> None:
    cid = candidates[0].id
    decided = datetime(2024, 9, 2, 2, 0, tzinfo=UTC)
    workflow.decide(store, db, cid, ANALYST, status="rejected", rationale="误报", now=decided)
    objection = {"objector": "某公司", "objector_kind": "producer", "text": "样品非我司生产"}
    received = datetime(2024, 10, 7, 10, 0, tzinfo=UTC)  # 35 days after the decision
    # the result reached the producer on 09-20: 15 days end on 10-05, a holiday, so on 10-08
    ok = workflow.record_objection(
        store,
        db,
        cid,
        ANALYST,
        **objection,
        received_at=received,
        result_received_at=datetime(2024, 9, 20, 1, 0, tzinfo=UTC),
    )
    assert ok.deadline.startswith("2024-10-08T16:00") and ok.result_received_at is not None
    assert ok.result_received_at.startswith("2024-09-20T01:00") and ok.deadline_basis == "result_received"
    assert workflow.list_objections(store, db, VIEWER, candidate_id=cid) == [ok]
    # not recorded: counted from the decision day, and the refusal says so and what to give
    with pytest.raises(DeadlinePassed, match=r"no date of receipt was given.*result_received_at"):
        workflow.record_objection(store, db, cid, ANALYST, **objection, received_at=received)
    assumed = workflow.record_objection(store, db, cid, ANALYST, **objection, received_at=decided + timedelta(days=3))
    assert assumed.result_received_at is None and assumed.deadline_basis == "decision"
    assert assumed.deadline.startswith("2024-09-18T16:00")  # 09-17 is a holiday
    with pytest.raises(ReviewError, match="before the decision"):
        workflow.record_objection(
            store, db, cid, ANALYST, **objection, received_at=received, result_received_at=decided - timedelta(days=1)
        )
    with pytest.raises(ReviewError, match="after the objection"):
        workflow.record_objection(
            store, db, cid, ANALYST, **objection, received_at=received, result_received_at=received + timedelta(days=1)
        )


def test_allowed_actions_follow_the_status_machine_and_the_role(candidates: list[CandidateRisk]) -> None:
    cand = candidates[0].model_copy(update={"status": CandidateStatus.new})
    can = workflow.allowed_actions(cand, ANALYST)
    assert can.may_review and can.decide and can.assign and not can.draft
    assert can.next_steps == (CandidateStatus.in_review,)
    rejected = workflow.allowed_actions(cand.model_copy(update={"status": CandidateStatus.rejected}), ANALYST)
    assert set(rejected.next_steps) == {CandidateStatus.in_review, CandidateStatus.closed} and not rejected.decide
    confirmed = workflow.allowed_actions(cand.model_copy(update={"status": CandidateStatus.confirmed}), ANALYST)
    assert confirmed.draft and confirmed.next_steps == (CandidateStatus.disposed,)
    merged = workflow.allowed_actions(cand.model_copy(update={"status": CandidateStatus.merged}), ANALYST)
    assert not merged.assign and merged.next_steps == ()
    for actor in (VIEWER, STATION, CONSUMER, None):
        nobody = workflow.allowed_actions(cand, actor)
        assert not (nobody.may_review or nobody.decide or nobody.assign or nobody.draft or nobody.next_steps)


def test_visible_candidates_is_the_one_scoped_queue(
    store: SQLiteStore, db: SQLiteReviewRepository, candidates: list[CandidateRisk]
) -> None:
    everyone = list(store.iterate(Collection.candidates))
    for actor in (ANALYST, VIEWER, STATION):
        seen = workflow.visible_candidates(store, db, actor, {})
        assert {c.id for c in seen} == {c.id for c in everyone if workflow.can_see(store, db, actor, c)}
    tier = everyone[0].tier.value
    narrowed = workflow.visible_candidates(store, db, ANALYST, {"tier": [tier]})
    assert narrowed and all(c.tier.value == tier for c in narrowed)


@pytest.mark.slow
def test_the_demo_has_nothing_overdue_right_after_loading() -> None:
    """Loaded now, the demo's reports (published months ago) are found now: only its immediate-tier candidates
    have a deadline, 24 hours from now; nothing is overdue until then."""
    from typer.testing import CliRunner

    from riskmine.cli import app
    from riskmine.review import deadlines
    from riskmine.review.repository import open_review_repository
    from riskmine.settings import get_settings
    from riskmine.store import open_store

    result = CliRunner().invoke(app, ["demo", "--no-serve"])
    assert result.exit_code == 0, result.output
    settings = get_settings()
    store, db = open_store(settings), open_review_repository(settings)
    try:
        now = datetime.now(UTC)
        assert workflow.overdue(store, db, ADMIN, now=now) == []
        immediate = {c.id for c in store.iterate(Collection.candidates, filters={"tier": "immediate"})}
        running = {c.id: deadlines.current_deadline(c) for c in store.iterate(Collection.candidates)}
        due = {cid: d for cid, d in running.items() if d is not None}
        assert immediate and set(due) == immediate
        for deadline in due.values():
            assert deadline.kind == "major_risk_report"
            assert timedelta(hours=23) < deadline.remaining(now) <= timedelta(hours=24)
        later = workflow.overdue(store, db, ADMIN, now=now + timedelta(hours=25))
        assert {o.candidate_id for o in later} == immediate
    finally:
        store.close()
