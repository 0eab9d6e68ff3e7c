"""The review workflow over a real store: status machine, decisions, merge, split, objections, overdue."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from riskmine.review import audit, workflow
from riskmine.review.errors import DeadlinePassed, InvalidTransition, ReviewError, ReviewForbidden, ReviewNotFound
from riskmine.review.sqlite_repository import SQLiteReviewRepository
from riskmine.schema import CandidateRisk, CandidateStatus, Decision
from riskmine.store.base import Collection
from riskmine.store.sqlite import SQLiteStore
from tests.review.conftest import ANALYST, CONSUMER, STATION, VIEWER


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


def test_red_confirmation_is_due_at_once_and_listed_overdue(
    store: SQLiteStore, db: SQLiteReviewRepository, candidates: list[CandidateRisk]
) -> None:
    kettle = _by_key(candidates, "电热水壶|electric_shock")
    assert kettle.tier.value == "immediate"
    before = {o.candidate_id: o for o in workflow.overdue(store, db, ANALYST)}
    assert before[kettle.id].deadline_kind == "major_risk_report"  # raised in 2024, 24 h long passed
    when = datetime(2030, 1, 7, 8, 0, tzinfo=UTC)
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
    cand = workflow.get_candidate(store, kettle.id)
    assert cand.due_at == when
    # confirming an immediate-tier candidate writes its immediate report beside the review db
    reports = sorted(p.suffix for p in (db.path.parent / "reports" / "immediate").iterdir())
    assert reports == [".docx", ".html"]
    found, _ = audit.events(db, action="report.immediate", target_id=kettle.id)
    assert len(found) == 1
    items = workflow.overdue(store, db, ANALYST, now=when + timedelta(hours=2))
    item = next(o for o in items if o.candidate_id == kettle.id)
    assert item.deadline_kind == "immediate_disposition" and item.overdue_hours == 2.0
    workflow.transition(store, db, kettle.id, "disposed", ANALYST)
    assert kettle.id not in {o.candidate_id for o in workflow.overdue(store, db, ANALYST)}


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
