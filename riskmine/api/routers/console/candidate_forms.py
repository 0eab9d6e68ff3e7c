"""The forms posted from a candidate's page: decision, status step, advisory draft, comment, assignment,
objection and its answer. Each redirects back on success; a refusal shows the page again with the reason."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse, Response

from riskmine.api.deps import OptionalUserDep, ReviewDBDep, StateDep, StoreDep
from riskmine.api.errors import ApiError
from riskmine.api.routers.console import pagekit
from riskmine.api.routers.console.candidate import candidate_context
from riskmine.api.state import AppState
from riskmine.review import advisories, deadlines, workflow
from riskmine.review.errors import ReviewError
from riskmine.review.repository import ReviewRepository
from riskmine.review.roles import REVIEWER_ROLES
from riskmine.review.users import User
from riskmine.review.workflow import MAX_COMMENT_CHARS, MAX_OBJECTION_CHARS, MAX_RATIONALE_CHARS
from riskmine.schema import DispositionMeasure
from riskmine.store.base import Collection, Store

router = APIRouter()


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

    async def submit(self, candidate_id: str, what: str, change: Callable[[User], object], done: str) -> Response:
        """Same-site and signed-in checks, the reviewer's role (every form here needs it, as the API's review
        routes do, before anything about the candidate or objection is looked up), `change(user)` under the
        write lock, then a redirect to `done` (a path, or "?query#anchor" on the candidate's page); a refusal
        from the review service shows the candidate page again with its reason."""
        pagekit.refuse_cross_site(self.request, what)
        who = pagekit.signed_in(self.request, self.user)
        try:
            workflow.require_role(who, REVIEWER_ROLES, f"submit the {what} form")
            await pagekit.locked(self.state, change, who)
        except ReviewError as exc:
            return await _form_failed(self.request, self.store, self.db, who, candidate_id, exc)
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
