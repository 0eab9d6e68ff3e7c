"""The forms posted from a candidate's page: decision, status step, advisory draft, comment, assignment,
objection and its answer. Each redirects back on success; a refusal shows the page again with the reason."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Annotated, TypeVar
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse, Response

from riskmine.api.deps import OptionalUserDep, ReviewDBDep, StateDep, StoreDep
from riskmine.api.errors import ApiError
from riskmine.api.labels import label
from riskmine.api.routers.console import pagekit
from riskmine.api.routers.console.candidate import (
    MAX_REASON_CHARS,
    MERGE_TARGET_STATUSES,
    MERGEABLE_STATUSES,
    candidate_context,
)
from riskmine.api.routers.review import MAX_IDS
from riskmine.api.state import AppState
from riskmine.review import advisories, deadlines, workflow
from riskmine.review.errors import InvalidTransition, ReviewError
from riskmine.review.repository import ReviewRepository
from riskmine.review.roles import REVIEWER_ROLES
from riskmine.review.users import User
from riskmine.review.workflow import MAX_COMMENT_CHARS, MAX_OBJECTION_CHARS, MAX_RATIONALE_CHARS
from riskmine.schema import CandidateRisk, CandidateStatus, DispositionMeasure
from riskmine.store.base import Collection, Store

router = APIRouter()
T = TypeVar("T")


async def _form_failed(
    request: Request, store: Store, db: ReviewRepository, user: User, candidate_id: str, exc: ReviewError
) -> Response:
    """The candidate page again, with the service's reason why the form was refused."""
    cand = await run_in_threadpool(store.get, Collection.candidates, candidate_id)
    if cand is None:
        raise ApiError(exc.status, exc.code, str(exc))
    context = await run_in_threadpool(candidate_context, request, store, db, user, cand)
    context["form_error"] = f"未能保存：{exc}"
    return pagekit.render(request, "candidate.html", context, status_code=exc.status)


@dataclass
class CandidateForm:
    """What a form posted on a candidate's page needs: the request, the app state, the store, the review db
    and the user."""

    request: Request
    state: AppState
    store: Store
    db: ReviewRepository
    user: User | None

    async def submit(
        self, candidate_id: str, what: str, change: Callable[[User], T], done: str | Callable[[T], str]
    ) -> Response:
        """Same-site and signed-in checks, the reviewer's role (every form here needs it, as the API's review
        routes do, before anything about the candidate or objection is looked up), `change(user)` under the
        write lock, then a redirect to `done` (a path, or "?query#anchor" on the candidate's page; or a function
        of what `change` returned that gives one); a refusal from the review service shows the candidate page
        again with its reason."""
        pagekit.refuse_cross_site(self.request, what)
        who = pagekit.signed_in(self.request, self.user)
        try:
            workflow.require_role(who, REVIEWER_ROLES, f"submit the {what} form")
            result = await pagekit.locked(self.state, change, who)
        except ReviewError as exc:
            return await _form_failed(self.request, self.store, self.db, who, candidate_id, exc)
        done = done if isinstance(done, str) else done(result)
        target = done if done.startswith("/") else f"/candidates/{quote(candidate_id, safe='')}{done}"
        return RedirectResponse(target, status_code=303)


def _candidate_form(
    request: Request, state: StateDep, store: StoreDep, db: ReviewDBDep, user: OptionalUserDep
) -> CandidateForm:
    return CandidateForm(request, state, store, db, user)


CandidateFormDep = Annotated[CandidateForm, Depends(_candidate_form)]


@router.post("/candidates/{candidate_id}/decision")
async def decide_form(
    candidate_id: str,
    form: CandidateFormDep,
    status: Annotated[str, Form(max_length=20)] = "",
    risk_level: Annotated[str, Form(max_length=20)] = "",
    warning_color: Annotated[str, Form(max_length=20)] = "",
    measures: Annotated[list[str] | None, Form(max_length=len(DispositionMeasure))] = None,
    rationale: Annotated[str, Form(max_length=MAX_RATIONALE_CHARS)] = "",
) -> Response:
    """The decision form: confirm (with level and colour) or reject, with measures and rationale."""
    return await form.submit(
        candidate_id,
        "decision",
        lambda who: workflow.decide(
            form.store,
            form.db,
            candidate_id,
            who,
            status=status,
            risk_level=risk_level or None,
            warning_color=warning_color or None,
            measures=measures or [],
            rationale=rationale,
        ),
        "?done=decided#decision",
    )


@router.post("/candidates/{candidate_id}/transition")
async def transition_form(
    candidate_id: str,
    form: CandidateFormDep,
    to: Annotated[str, Form(max_length=20)] = "",
) -> Response:
    """Move a candidate one step along the status machine (e.g. confirmed → disposed → closed)."""
    return await form.submit(
        candidate_id,
        "status",
        lambda who: workflow.transition(form.store, form.db, candidate_id, to, who),
        "?done=moved#decision",
    )


@router.post("/candidates/{candidate_id}/advisories")
async def draft_form(
    candidate_id: str,
    form: CandidateFormDep,
    kind: Annotated[str, Form(max_length=40)] = "",
    title: Annotated[str, Form(max_length=advisories.MAX_TITLE_CHARS)] = "",
    body: Annotated[str, Form(max_length=advisories.MAX_BODY_CHARS)] = "",
) -> Response:
    """Draft an advisory from a confirmed candidate; it waits for a publisher's approval."""
    return await form.submit(
        candidate_id,
        "advisory",
        lambda who: advisories.draft(form.store, form.db, candidate_id, who, kind=kind, title=title, body=body),
        "/advisories?status=draft&done=drafted",
    )


@router.post("/candidates/{candidate_id}/comments")
async def comment_form(
    candidate_id: str,
    form: CandidateFormDep,
    text: Annotated[str, Form(max_length=MAX_COMMENT_CHARS)] = "",
) -> Response:
    """A comment on the candidate by an analyst or admin."""
    return await form.submit(
        candidate_id,
        "comment",
        lambda who: workflow.add_comment(form.store, form.db, candidate_id, who, text),
        "?done=commented#comments",
    )


@router.post("/candidates/{candidate_id}/assign")
async def assign_form(
    candidate_id: str,
    form: CandidateFormDep,
    assignee: Annotated[str, Form(max_length=64)] = "",
) -> Response:
    """Assign the candidate to a user (empty: unassign); a new candidate moves to in_review."""
    return await form.submit(
        candidate_id,
        "assignment",
        lambda who: workflow.assign(form.store, form.db, candidate_id, who, assignee=assignee.strip() or None),
        "?done=assigned",
    )


@router.post("/candidates/{candidate_id}/objections")
async def objection_form(
    candidate_id: str,
    form: CandidateFormDep,
    objector: Annotated[str, Form(max_length=200)] = "",
    objector_kind: Annotated[str, Form(max_length=20)] = "",
    text: Annotated[str, Form(max_length=MAX_OBJECTION_CHARS)] = "",
    result_received_at: Annotated[str, Form(max_length=20)] = "",
) -> Response:
    """Record a producer's or seller's objection to the latest decision (within 15 days of the day they received
    the result, `result_received_at` as YYYY-MM-DD; left empty: from the decision day)."""
    return await form.submit(
        candidate_id,
        "objection",
        lambda who: workflow.record_objection(
            form.store,
            form.db,
            candidate_id,
            who,
            objector=objector,
            objector_kind=objector_kind,
            text=text,
            result_received_at=_day(result_received_at, "result_received_at"),
        ),
        "?done=objection#objections",
    )


def _day(value: str, name: str) -> datetime | None:
    """A date field of a form (YYYY-MM-DD) as the start of that day in China; None when left empty."""
    if not value.strip():
        return None
    try:
        return deadlines.start_of_china_day(date.fromisoformat(value.strip()))
    except ValueError:
        raise ReviewError(f"{name} must be a date as YYYY-MM-DD, got {value!r}") from None


@router.post("/candidates/{candidate_id}/objections/{objection_id}/answer")
async def answer_form(
    candidate_id: str,
    objection_id: str,
    form: CandidateFormDep,
    answer: Annotated[str, Form(max_length=MAX_OBJECTION_CHARS)] = "",
) -> Response:
    """Answer an open objection (once)."""
    return await form.submit(
        candidate_id,
        "answer",
        lambda who: workflow.answer_objection(form.store, form.db, objection_id, who, answer),
        "?done=answered#objections",
    )


# --- merge and split: the review service's merge and split, with the reason kept as a comment ------------------


def _reason(text: str, what: str) -> str:
    reason = text.strip()
    if not reason:
        raise ReviewError(f"请填写{what}理由。")
    return reason


def _open_to(cand: CandidateRisk, statuses: frozenset[CandidateStatus], name: str, what: str) -> None:
    """Refuse, in Chinese, a merge or split the review service would refuse for the candidate's status."""
    if cand.status not in statuses:
        allowed = "、".join(label(s, "status") for s in CandidateStatus if s in statuses)
        status = label(cand.status, "status")
        raise InvalidTransition(f"{name}的状态为“{status}”，不能{what}（可{what}的状态：{allowed}）。")


def merge_with_reason(
    store: Store, db: ReviewRepository, candidate_id: str, who: User, other: str, reason: str, confirmed: bool
) -> CandidateRisk:
    """Merge candidate `other` into `candidate_id` (workflow.merge, as the API's merge does) after checking the
    form in Chinese, and keep the reason as a comment on the candidate merged into."""
    other = other.strip()
    if not other:
        raise ReviewError("请选择或填写要并入本候选风险的另一个候选风险编号。")
    if other == candidate_id:
        raise ReviewError("不能把候选风险合并到它自己，请选择另一个候选风险。")
    reason = _reason(reason, "合并")
    if not confirmed:
        raise ReviewError("请勾选“确认合并”后再提交：被并入的候选风险将不再单独研判。")
    target = workflow.visible_candidate(store, db, who, candidate_id)
    source = workflow.visible_candidate(store, db, who, other)
    _open_to(target, MERGE_TARGET_STATUSES, "本候选风险", "合并")
    _open_to(source, MERGEABLE_STATUSES, f"候选风险 {source.id}", "被合并")
    merged = workflow.merge(store, db, target.id, [source.id], who, reason=reason)
    workflow.add_comment(store, db, merged.id, who, f"合并理由（并入 {source.id}「{source.title[:100]}」）：{reason}")
    return merged


def split_with_reason(
    store: Store, db: ReviewRepository, candidate_id: str, who: User, signal_ids: list[str], reason: str
) -> CandidateRisk:
    """Move the chosen signals into a new candidate (workflow.split, as the API's split does) after checking the
    form in Chinese, and keep the reason as a comment on both candidates. Returns the new candidate."""
    chosen = list(dict.fromkeys(s.strip() for s in signal_ids if s.strip()))
    if not chosen:
        raise ReviewError("请在证据列表中至少勾选一条要拆分出去的信号。")
    reason = _reason(reason, "拆分")
    cand = workflow.visible_candidate(store, db, who, candidate_id)
    _open_to(cand, MERGEABLE_STATUSES, "本候选风险", "拆分")
    members = set(cand.signal_ids)
    strangers = [s for s in chosen if s not in members]
    if strangers:
        raise ReviewError(f"所选信号不属于本候选风险：{'、'.join(strangers[:5])}")
    if len(chosen) >= len(members):
        raise ReviewError("不能把全部信号都拆分出去：本候选风险至少要保留一条信号。")
    _, created = workflow.split(store, db, cand.id, chosen, who, reason=reason)
    note = f"拆分理由（{len(chosen)} 条信号自 {cand.id} 移入 {created.id}）：{reason}"
    for kept in (cand.id, created.id):
        workflow.add_comment(store, db, kept, who, note)
    return created


@router.post("/candidates/{candidate_id}/merge")
async def merge_form(
    candidate_id: str,
    form: CandidateFormDep,
    source: Annotated[str, Form(max_length=200)] = "",
    source_id: Annotated[str, Form(max_length=200)] = "",
    reason: Annotated[str, Form(max_length=MAX_REASON_CHARS)] = "",
    confirm: Annotated[str, Form(max_length=10)] = "",
) -> Response:
    """Merge another candidate (typed by id, else picked from the similar ones) into this one, with a reason."""
    return await form.submit(
        candidate_id,
        "merge",
        lambda who: merge_with_reason(
            form.store, form.db, candidate_id, who, source_id.strip() or source, reason, confirm == "yes"
        ),
        "?done=merged#evidence",
    )


@router.post("/candidates/{candidate_id}/split")
async def split_form(
    candidate_id: str,
    form: CandidateFormDep,
    signal_ids: Annotated[list[str] | None, Form(max_length=MAX_IDS)] = None,
    reason: Annotated[str, Form(max_length=MAX_REASON_CHARS)] = "",
) -> Response:
    """Move the signals ticked in the evidence list into a new candidate, with a reason; shows the new one."""
    return await form.submit(
        candidate_id,
        "split",
        lambda who: split_with_reason(form.store, form.db, candidate_id, who, signal_ids or [], reason),
        lambda created: f"/candidates/{quote(created.id, safe='')}?done=split",
    )
