"""Expert review of candidate risks: status, assignment, comments, decisions, merge and split,
objections, the overdue list, the organisation tree and the feedback export.

Thin wrappers over riskmine.review.workflow: the service checks roles and organisation scope
and records every change in the audit log; writes hold the app's write lock.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, Literal, TypeVar

from fastapi import APIRouter
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel, Field

from riskmine.api.deps import (
    AdminDep,
    ReviewDBDep,
    ReviewerDep,
    ReviewReaderDep,
    StateDep,
    StoreDep,
)
from riskmine.api.labels import label
from riskmine.review import feedback, orgs, workflow
from riskmine.review.records import Objection
from riskmine.review.workflow import MAX_COMMENT_CHARS, MAX_OBJECTION_CHARS, MAX_RATIONALE_CHARS, MAX_REASON_CHARS
from riskmine.schema import CandidateStatus, DispositionMeasure, RiskLevel, WarningColor

router = APIRouter(prefix="/api/v1/review", tags=["review"])

T = TypeVar("T")
MAX_IDS = 1000


async def call(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Run a read of the review service in a worker thread (its errors answer through the one error handler)."""
    return await run_in_threadpool(fn, *args, **kwargs)


async def write(state: Any, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Run a change through the review service under the app's write lock (one writer at a time)."""

    def locked() -> T:
        with state.write_lock:
            return fn(*args, **kwargs)

    return await call(locked)


class TransitionBody(BaseModel):
    to: CandidateStatus


class AssignBody(BaseModel):
    assignee: str | None = Field(None, max_length=64, description="username; null unassigns")
    organisation: str | None = Field(None, max_length=100, description="an organisation of the tree")


class CommentBody(BaseModel):
    text: str = Field(min_length=1, max_length=MAX_COMMENT_CHARS)


class DecisionBody(BaseModel):
    status: Literal["confirmed", "rejected"]
    risk_level: RiskLevel | None = None
    warning_color: WarningColor | None = None
    measures: list[DispositionMeasure] = Field(default_factory=list, max_length=len(DispositionMeasure))
    rationale: str = Field(min_length=1, max_length=MAX_RATIONALE_CHARS)


class MergeBody(BaseModel):
    candidate_ids: list[str] = Field(min_length=1, max_length=100, description="merged into the path's candidate")
    reason: str | None = Field(None, max_length=MAX_REASON_CHARS, description="why, kept in the audit log")


class SplitBody(BaseModel):
    signal_ids: list[str] = Field(min_length=1, max_length=MAX_IDS, description="moved into a new candidate")
    reason: str | None = Field(None, max_length=MAX_REASON_CHARS, description="why, kept in the audit log")


class ObjectionBody(BaseModel):
    objector: str = Field(min_length=1, max_length=200, description="the producer or seller objecting")
    objector_kind: Literal["producer", "seller"]
    text: str = Field(min_length=1, max_length=MAX_OBJECTION_CHARS)
    received_at: datetime | None = Field(None, description="when the written objection arrived; default now")
    result_received_at: datetime | None = Field(
        None,
        description="when the producer or seller received the result: the 15 days run from that day (Sichuan"
        " 第二十一条); unknown: from the decision day, and the answer says so (deadline_basis, deadline_note)",
    )


class AnswerBody(BaseModel):
    answer: str = Field(min_length=1, max_length=MAX_OBJECTION_CHARS)


class OrgBody(BaseModel):
    name: str = Field(min_length=1, max_length=orgs.MAX_ORG_NAME_CHARS)
    level: orgs.OrgLevel
    parent: str | None = Field(None, max_length=orgs.MAX_ORG_NAME_CHARS)


def _objection(o: Objection) -> dict[str, Any]:
    """An objection with what its deadline was counted from: a code and a note in Chinese."""
    return o.public() | {"deadline_basis": o.deadline_basis, "deadline_note": label(o.deadline_basis, "deadline_basis")}


def _candidate_review(c: Any) -> dict[str, Any]:
    return {"id": c.id, "title": c.title, **workflow.review_view(c)}


@router.post("/candidates/{candidate_id}/transition", summary="Move a candidate along the status machine")
async def post_transition(
    candidate_id: str, body: TransitionBody, user: ReviewerDep, store: StoreDep, db: ReviewDBDep, state: StateDep
) -> dict[str, Any]:
    cand = await write(state, workflow.transition, store, db, candidate_id, body.to, user)
    return _candidate_review(cand)


@router.post("/candidates/{candidate_id}/assign", summary="Assign a candidate to an analyst and/or organisation")
async def post_assign(
    candidate_id: str, body: AssignBody, user: ReviewerDep, store: StoreDep, db: ReviewDBDep, state: StateDep
) -> dict[str, Any]:
    cand = await write(
        state, workflow.assign, store, db, candidate_id, user, assignee=body.assignee, organisation=body.organisation
    )
    return _candidate_review(cand)


@router.get("/candidates/{candidate_id}/comments", summary="A candidate's comments, oldest first")
async def get_comments(
    candidate_id: str, user: ReviewReaderDep, store: StoreDep, db: ReviewDBDep
) -> list[dict[str, Any]]:
    return [c.public() for c in await call(workflow.list_comments, store, db, candidate_id, user)]


@router.post("/candidates/{candidate_id}/comments", status_code=201, summary="Comment on a candidate")
async def post_comment(
    candidate_id: str, body: CommentBody, user: ReviewerDep, store: StoreDep, db: ReviewDBDep
) -> JSONResponse:
    comment = await call(workflow.add_comment, store, db, candidate_id, user, body.text)
    return JSONResponse(comment.public(), status_code=201)


@router.get("/candidates/{candidate_id}/decisions", summary="A candidate's decisions, newest first")
async def get_decisions(
    candidate_id: str, user: ReviewReaderDep, store: StoreDep, db: ReviewDBDep
) -> list[dict[str, Any]]:
    return [d.model_dump(mode="json") for d in await call(workflow.decisions_of, store, db, candidate_id, user)]


@router.post("/candidates/{candidate_id}/decisions", status_code=201, summary="Confirm or reject a candidate")
async def post_decision(
    candidate_id: str, body: DecisionBody, user: ReviewerDep, store: StoreDep, db: ReviewDBDep, state: StateDep
) -> JSONResponse:
    decision = await write(
        state,
        workflow.decide,
        store,
        db,
        candidate_id,
        user,
        status=body.status,
        risk_level=body.risk_level,
        warning_color=body.warning_color,
        measures=body.measures,
        rationale=body.rationale,
    )
    return JSONResponse(decision.model_dump(mode="json"), status_code=201)


@router.post("/candidates/{candidate_id}/merge", summary="Merge other candidates into this one")
async def post_merge(
    candidate_id: str, body: MergeBody, user: ReviewerDep, store: StoreDep, db: ReviewDBDep, state: StateDep
) -> dict[str, Any]:
    cand = await write(state, workflow.merge, store, db, candidate_id, body.candidate_ids, user, reason=body.reason)
    return _candidate_review(cand) | {"signal_ids": cand.signal_ids, "merged": body.candidate_ids}


@router.post("/candidates/{candidate_id}/split", status_code=201, summary="Move signals into a new candidate")
async def post_split(
    candidate_id: str, body: SplitBody, user: ReviewerDep, store: StoreDep, db: ReviewDBDep, state: StateDep
) -> JSONResponse:
    reduced, created = await write(
        state, workflow.split, store, db, candidate_id, body.signal_ids, user, reason=body.reason
    )
    out = {
        "candidate": _candidate_review(reduced) | {"signal_ids": reduced.signal_ids},
        "new_candidate": _candidate_review(created) | {"signal_ids": created.signal_ids},
    }
    return JSONResponse(out, status_code=201)


@router.get("/candidates/{candidate_id}/objections", summary="Objections to a candidate's decisions")
async def get_candidate_objections(
    candidate_id: str, user: ReviewReaderDep, store: StoreDep, db: ReviewDBDep
) -> list[dict[str, Any]]:
    found = await call(workflow.list_objections, store, db, user, candidate_id=candidate_id)
    return [_objection(o) for o in found]


@router.post(
    "/candidates/{candidate_id}/objections",
    status_code=201,
    summary="Record a producer's or seller's objection (within 15 days of receiving the result)",
)
async def post_objection(
    candidate_id: str, body: ObjectionBody, user: ReviewerDep, store: StoreDep, db: ReviewDBDep
) -> JSONResponse:
    obj = await call(
        workflow.record_objection,
        store,
        db,
        candidate_id,
        user,
        objector=body.objector,
        objector_kind=body.objector_kind,
        text=body.text,
        received_at=body.received_at,
        result_received_at=body.result_received_at,
    )
    return JSONResponse(_objection(obj), status_code=201)


@router.get("/objections", summary="Objections in your scope, oldest first")
async def get_objections(
    user: ReviewReaderDep,
    store: StoreDep,
    db: ReviewDBDep,
    status: Literal["open", "answered"] | None = None,
) -> list[dict[str, Any]]:
    return [_objection(o) for o in await call(workflow.list_objections, store, db, user, status=status)]


@router.post("/objections/{objection_id}/answer", summary="Answer an objection")
async def post_answer(
    objection_id: str, body: AnswerBody, user: ReviewerDep, store: StoreDep, db: ReviewDBDep
) -> dict[str, Any]:
    return _objection(await call(workflow.answer_objection, store, db, objection_id, user, body.answer))


@router.get("/overdue", summary="Open candidates in your scope past their deadline, most overdue first")
async def get_overdue(user: ReviewReaderDep, store: StoreDep, db: ReviewDBDep) -> dict[str, Any]:
    items = await call(workflow.overdue, store, db, user)
    return {"total": len(items), "items": [i.public() for i in items]}


@router.get("/orgs", summary="The organisation tree")
async def get_orgs(_user: ReviewReaderDep, db: ReviewDBDep) -> list[dict[str, Any]]:
    return await call(orgs.tree, db)


@router.post("/orgs", status_code=201, summary="Add an organisation (admins only)")
async def post_org(body: OrgBody, user: AdminDep, db: ReviewDBDep) -> JSONResponse:
    org = await call(orgs.add_org, db, body.name, body.level, body.parent, user)
    return JSONResponse(org.public(), status_code=201)


@router.get(
    "/feedback.jsonl",
    summary="Confirmed and rejected decisions as labelled corpus rows (JSON lines)",
    response_class=StreamingResponse,
)
async def get_feedback(user: ReviewerDep, store: StoreDep, db: ReviewDBDep) -> StreamingResponse:
    lines = await call(lambda: list(feedback.export_lines(store, db, user)))
    return StreamingResponse(
        iter(lines),
        media_type="application/x-ndjson",
        headers={"Content-Disposition": 'attachment; filename="feedback.jsonl"'},
    )
