"""The review console: server-rendered pages (no JavaScript), Chinese labels, every crawled text escaped."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from typing import Annotated, Any, TypeVar
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Depends, Form, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse, Response

from riskmine.api.auth import (
    clear_session_cookie,
    create_access_token,
    reads_open,
    same_origin,
    set_session_cookie,
)
from riskmine.api.console_views import (
    BATCH_STATUS,
    DEADLINE_KIND,
    MEASURE,
    SCOPE,
    deadline_view,
    decisions_of,
    evidence_rows,
    factor_rows,
    neighbourhood,
    region_bars,
    station_documents,
    statistic_rows,
)
from riskmine.api.deps import OptionalUserDep, ReviewDBDep, StateDep, StoreDep
from riskmine.api.errors import ApiError
from riskmine.api.filters import MAX_QUERY_CHARS, build_filters
from riskmine.api.labels import HAZARD, RISK_LEVEL, SOURCE_TYPE, STATUS, TIER, WARNING_COLOR, label
from riskmine.api.render import SECURITY_HEADERS, local_path, signal_excerpt
from riskmine.api.state import AppState
from riskmine.api.svg import weekly_trend_chart
from riskmine.api.views import candidate_url, document_url, signal_url
from riskmine.feeds.batches import BatchRegistry
from riskmine.review import advisories, orgs, workflow
from riskmine.review.advisories import KIND_LABELS
from riskmine.review.db import ReviewDB
from riskmine.review.errors import ReviewError
from riskmine.review.orgs import station_source
from riskmine.review.roles import PUBLISHER_ROLES, REVIEW_READER_ROLES, STATION, VIEWER, Role, SystemActor, role_name
from riskmine.review.users import User
from riskmine.review.workflow import MAX_COMMENT_CHARS, MAX_OBJECTION_CHARS, MAX_RATIONALE_CHARS
from riskmine.schema import CandidateRisk, CandidateStatus, DispositionMeasure, HazardType, RiskLevel, SourceType, Tier
from riskmine.store.base import Collection, Page, Store, StoreError

router = APIRouter(include_in_schema=False)

PAGE_SIZE = 50
# Confirmations shown after a form was handled (the redirect names which).
DONE_NOTICES: dict[str, str] = {
    "decided": "研判结论已保存。",
    "drafted": "通告草稿已保存，待发布员审核。",
    "approved": "通告已批准发布。",
    "moved": "状态已更新。",
    "commented": "意见已添加。",
    "assigned": "已分派。",
    "objection": "异议已登记。",
    "answered": "异议已答复。",
}
OBJECTOR_KIND: dict[str, str] = {"producer": "生产者", "seller": "销售者"}
ADVISORY_KIND: dict[str, str] = {k.value: v for k, v in KIND_LABELS.items()}
E = TypeVar("E", bound=Enum)


def _enum(cls: type[E], value: str | None) -> E | None:
    """The enum member for a form value; None for an empty or unknown value (forms send "" for "any")."""
    if not value:
        return None
    try:
        return cls(value)
    except ValueError:
        return None


def _text(value: str | None) -> str | None:
    if value is None:
        return None
    value = " ".join(value.split())[:MAX_QUERY_CHARS]
    return value or None


def _page_number(value: str | None) -> int:
    try:
        return max(1, min(int(value or 1), 10_000))
    except ValueError:
        return 1


def render(request: Request, name: str, context: dict[str, Any], status_code: int = 200) -> Response:
    templates = request.app.state.templates
    response: Response = templates.TemplateResponse(
        request, name, context, status_code=status_code, headers=SECURITY_HEADERS
    )
    return response


def _login_redirect(request: Request) -> RedirectResponse:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"/login?next={quote(target, safe='')}", status_code=303)


def _needs_login(state: Any, user: User | None) -> bool:
    return user is None and not reads_open(state.settings)


def _pager(page: int, total: int, params: dict[str, Any]) -> dict[str, Any]:
    pages = max(1, -(-total // PAGE_SIZE))
    keep = {k: v for k, v in params.items() if v not in (None, "")}

    def link(n: int) -> str:
        return "?" + urlencode({**keep, "page": n})

    return {
        "page": page,
        "pages": pages,
        "total": total,
        "prev": link(page - 1) if page > 1 else None,
        "next": link(page + 1) if page < pages else None,
    }


TIER_ORDER = (Tier.immediate, Tier.review, Tier.watch)


def tiered_page(store: Store, filters: dict[str, Any], *, limit: int, offset: int) -> Page:
    """A page of the candidate queue: immediate first, then review, then watch; by priority within a tier.

    The store sorts by one field, so the page is assembled from the tiers' own pages using their counts."""
    if "tier" in filters:
        return store.query(
            Collection.candidates, filters=filters, sort="priority", descending=True, limit=limit, offset=offset
        )
    counts = {b.key: b.count for b in store.aggregate(Collection.candidates, "tier", filters=filters)}
    items: list[Any] = []
    skip = offset
    for tier in TIER_ORDER:
        n = counts.get(tier.value, 0)
        if skip >= n:
            skip -= n
            continue
        if len(items) < limit:
            part = store.query(
                Collection.candidates,
                filters={**filters, "tier": tier.value},
                sort="priority",
                descending=True,
                limit=limit - len(items),
                offset=skip,
            )
            items.extend(part.items)
        skip = 0
    return Page(items=items, total=sum(counts.values()))


def scoped_page(
    store: Store, db: ReviewDB, user: User, filters: dict[str, Any], *, limit: int, offset: int
) -> tuple[Page, dict[str, int]]:
    """The queue page of a user whose organisation scope is limited: the matching candidates they may see
    (riskmine.review.workflow.visible_candidates), tier first and by priority, and their counts per tier."""
    rank = {t.value: i for i, t in enumerate(TIER_ORDER)}
    seen = workflow.visible_candidates(store, db, user, filters)
    seen.sort(key=lambda c: (rank.get(c.tier.value, len(rank)), -c.priority, c.id))
    counts: dict[str, int] = {}
    for c in seen:
        counts[c.tier.value] = counts.get(c.tier.value, 0) + 1
    return Page(items=seen[offset : offset + limit], total=len(seen)), counts


def _reads_review(user: User | None) -> bool:
    """Whether the user may read candidates at all (an api_consumer reads published advisories only)."""
    return user is None or role_name(user.role) in REVIEW_READER_ROLES


@router.get("/")
def queue(
    request: Request,
    state: StateDep,
    store: StoreDep,
    db: ReviewDBDep,
    user: OptionalUserDep,
    tier: str | None = None,
    status: str | None = None,
    product_category: str | None = None,
    hazard: str | None = None,
    risk_level: str | None = None,
    region: str | None = None,
    page: str | None = None,
) -> Response:
    if _needs_login(state, user):
        return _login_redirect(request)
    chosen = {
        "tier": _enum(Tier, tier),
        "status": _enum(CandidateStatus, status),
        "hazard": _enum(HazardType, hazard),
        "risk_level": _enum(RiskLevel, risk_level),
        "product_category": _text(product_category),
        "region": _text(region),
    }
    if not _reads_review(user):
        return RedirectResponse("/advisories", status_code=303)
    number = _page_number(page)
    filters = build_filters(**chosen)
    if user is None or orgs.scope_for(db, user).everything:
        result = tiered_page(store, filters, limit=PAGE_SIZE, offset=(number - 1) * PAGE_SIZE)
        tiers = {str(b.key): b.count for b in store.aggregate(Collection.candidates, "tier")}
    else:
        result, _ = scoped_page(store, db, user, filters, limit=PAGE_SIZE, offset=(number - 1) * PAGE_SIZE)
        _, tiers = scoped_page(store, db, user, {}, limit=0, offset=0)
    params = {k: (v.value if isinstance(v, Enum) else v) for k, v in chosen.items()}
    return render(
        request,
        "queue.html",
        {
            "user": user,
            "candidates": result.items,
            "pager": _pager(number, result.total, params),
            "chosen": params,
            "tier_counts": tiers,
            "options": {"tier": TIER, "status": STATUS, "hazard": HAZARD, "risk_level": RISK_LEVEL},
            "candidate_api": candidate_url,
            "deadline_of": deadline_view,
        },
    )


ANONYMOUS = SystemActor("anonymous", role=VIEWER)


def _actor(user: User | None) -> Any:
    """Who reads: the user, or an anonymous viewer while reads are open (development)."""
    return user if user is not None else ANONYMOUS


def _decide_context(user: User | None, cand: CandidateRisk) -> dict[str, Any]:
    """What the decision, status and advisory forms offer this user, or why they are not shown."""
    can = workflow.allowed_actions(cand, user)
    if user is None:
        reason: str | None = "登录为分析员后可作出研判。"
    elif not can.may_review:
        reason = f"当前角色（{label(user.role.value, 'role')}）不能作出研判。"
    else:
        reason = None
    return {
        "allowed": can.decide,
        "reason": reason,
        "statuses": {s.value: STATUS[s] for s in (CandidateStatus.confirmed, CandidateStatus.rejected)},
        "default_status": CandidateStatus.confirmed.value,
        "levels": RISK_LEVEL,
        "colors": WARNING_COLOR,
        "measures": MEASURE,
        "suggested": {m.value for m in cand.suggested_measures},
        "max_rationale": MAX_RATIONALE_CHARS,
        "max_comment": MAX_COMMENT_CHARS,
        "can_assign": can.assign,
        "next_steps": {s.value: STATUS[s] for s in can.next_steps},
        "can_draft": can.draft,
        "advisory_kinds": ADVISORY_KIND,
    }


def _candidate_context(
    request: Request, store: Store, db: ReviewDB, user: User | None, cand: CandidateRisk
) -> dict[str, Any]:
    """Everything the candidate page shows: the analysis, the evidence, the review record and the forms."""
    return {
        "user": user,
        "c": cand,
        "api_url": candidate_url(cand.id),
        "deadline": deadline_view(cand),
        "factors": factor_rows(cand),
        "statistics": statistic_rows(cand.statistics),
        "scope_labels": SCOPE,
        "trend_chart": weekly_trend_chart(cand.counts_by_week),
        "regions": region_bars(cand),
        "hood": neighbourhood(cand, request.app.state.riskmine.settings),
        "evidence": evidence_rows(cand, store),
        "decisions": decisions_of(store, cand.id),
        "comments": workflow.list_comments(store, db, cand.id, _actor(user)) if _reads_review(user) else [],
        "objections": workflow.list_objections(store, db, _actor(user), candidate_id=cand.id)
        if _reads_review(user)
        else [],
        "objector_kinds": OBJECTOR_KIND,
        "decide": _decide_context(user, cand),
        "measure_labels": MEASURE,
    }


def _visible_candidate(store: Store, db: ReviewDB, user: User | None, candidate_id: str) -> CandidateRisk:
    """The candidate if the user's role and organisation scope let them read it (404 otherwise)."""
    return workflow.visible_candidate(store, db, _actor(user), candidate_id)


@router.get("/candidates/{candidate_id}")
def candidate_page(
    request: Request,
    candidate_id: str,
    state: StateDep,
    store: StoreDep,
    db: ReviewDBDep,
    user: OptionalUserDep,
    done: str | None = None,
) -> Response:
    if _needs_login(state, user):
        return _login_redirect(request)
    cand = _visible_candidate(store, db, user, candidate_id)
    context = _candidate_context(request, store, db, user, cand)
    context["notice_ok"] = DONE_NOTICES.get(done or "")
    return render(request, "candidate.html", context)


def _refuse_cross_site(request: Request, what: str) -> None:
    """POST forms are accepted from this site only (the login cookie is SameSite=Lax; this is the second lock)."""
    if not same_origin(request):
        raise ApiError(403, "cross_site_request", f"the {what} form was posted from another site; request refused")


def _signed_in(request: Request, user: User | None) -> User:
    if user is None:
        raise ApiError(401, "not_authenticated", "log in to the console first")
    return user


T = TypeVar("T")


async def _locked(state: Any, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Run a review change in a worker thread under the app's write lock (one writer at a time)."""

    def run() -> T:
        with state.write_lock:
            return fn(*args, **kwargs)

    return await run_in_threadpool(run)


async def _form_failed(
    request: Request, store: Store, db: ReviewDB, user: User, candidate_id: str, exc: ReviewError
) -> Response:
    """The candidate page again, with the service's reason why the form was refused."""
    cand = await run_in_threadpool(store.get, Collection.candidates, candidate_id)
    if cand is None:
        raise ApiError(exc.status, exc.code, str(exc))
    context = await run_in_threadpool(_candidate_context, request, store, db, user, cand)
    context["form_error"] = f"未能保存：{exc}"
    return render(request, "candidate.html", context, status_code=exc.status)


@dataclass
class CandidateForm:
    """What a form posted on a candidate's page needs: the request, the app state, the store, the review db
    and the user."""

    request: Request
    state: AppState
    store: Store
    db: ReviewDB
    user: User | None

    async def submit(self, candidate_id: str, what: str, change: Callable[[User], object], done: str) -> Response:
        """Same-site and signed-in checks, `change(user)` under the write lock, then a redirect to `done`
        (a path, or "?query#anchor" on the candidate's page); a refusal from the review service shows
        the candidate page again with its reason."""
        _refuse_cross_site(self.request, what)
        who = _signed_in(self.request, self.user)
        try:
            await _locked(self.state, change, who)
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
) -> Response:
    """Record a producer's or seller's objection to the latest decision (within 15 days of it)."""
    return await form.submit(
        candidate_id,
        "objection",
        lambda who: workflow.record_objection(
            form.store, form.db, candidate_id, who, objector=objector, objector_kind=objector_kind, text=text
        ),
        "?done=objection#objections",
    )


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


@router.get("/advisories")
def advisories_page(
    request: Request,
    state: StateDep,
    db: ReviewDBDep,
    user: OptionalUserDep,
    status: str | None = None,
    page: str | None = None,
    done: str | None = None,
) -> Response:
    """Published advisories the user may read; drafts awaiting approval for analysts, publishers and admins."""
    wanted = "draft" if status == "draft" and advisories.sees_drafts(user) else "published"
    number = _page_number(page)
    items, total = advisories.list_advisories(db, user, status=wanted, limit=PAGE_SIZE, offset=(number - 1) * PAGE_SIZE)
    return render(
        request,
        "advisories.html",
        {
            "user": user,
            "items": items,
            "status": wanted,
            "sees_drafts": advisories.sees_drafts(user),
            "can_approve": user is not None and role_name(user.role) in PUBLISHER_ROLES,
            "kinds": ADVISORY_KIND,
            "pager": _pager(number, total, {"status": wanted}),
            "notice_ok": DONE_NOTICES.get(done or ""),
        },
    )


@router.post("/advisories/{advisory_id}/approve")
async def approve_form(
    request: Request, advisory_id: str, state: StateDep, db: ReviewDBDep, user: OptionalUserDep
) -> Response:
    """A publisher approves a draft: it is published to its audience."""
    _refuse_cross_site(request, "approval")
    who = _signed_in(request, user)
    await _locked(state, advisories.approve, db, advisory_id, who)
    return RedirectResponse("/advisories?done=approved", status_code=303)


@router.get("/signals")
def signals_page(
    request: Request,
    state: StateDep,
    store: StoreDep,
    db: ReviewDBDep,
    user: OptionalUserDep,
    q: str | None = None,
    source_type: str | None = None,
    hazard: str | None = None,
    is_risk: str | None = None,
    page: str | None = None,
) -> Response:
    if _needs_login(state, user):
        return _login_redirect(request)
    if not _reads_review(user):
        return RedirectResponse("/advisories", status_code=303)
    text = _text(q)
    chosen: dict[str, Any] = {
        "source_type": _enum(SourceType, source_type),
        "hazard": _enum(HazardType, hazard),
        "is_risk": {"1": True, "0": False}.get(is_risk or ""),
    }
    number = _page_number(page)
    notice = None
    items: list[Any] = []
    total = 0
    filters = build_filters(**chosen)
    if user is not None and role_name(user.role) == STATION:
        # a station searches its own organisation's submissions only
        filters["source"] = sorted(orgs.scope_for(db, user).sources) or ["station:"]
    try:
        result = store.query(
            Collection.signals,
            filters=filters,
            text=text,
            sort=None if text else "time",
            descending=True,
            limit=PAGE_SIZE,
            offset=(number - 1) * PAGE_SIZE,
        )
        items, total = result.items, result.total
    except StoreError as exc:
        notice = f"无法执行该检索：{exc}"
    params = {
        "q": text,
        "source_type": chosen["source_type"].value if chosen["source_type"] else None,
        "hazard": chosen["hazard"].value if chosen["hazard"] else None,
        "is_risk": is_risk if is_risk in ("1", "0") else None,
    }
    rows = [
        {
            "s": s,
            "excerpt": signal_excerpt(s),
            "document_url": document_url(s.document.id),
            "signal_url": signal_url(s.id),
        }
        for s in items
    ]
    return render(
        request,
        "signals.html",
        {
            "user": user,
            "rows": rows,
            "q": text or "",
            "chosen": params,
            "notice": notice,
            "pager": _pager(number, total, params),
            "options": {"source_type": SOURCE_TYPE, "hazard": HAZARD},
        },
    )


@router.get("/login")
def login_page(request: Request, user: OptionalUserDep, next: str | None = None) -> Response:
    return render(request, "login.html", {"user": user, "next": local_path(next), "error": None})


@router.post("/login")
async def login(
    request: Request,
    state: StateDep,
    username: Annotated[str, Form(max_length=200)] = "",
    password: Annotated[str, Form(max_length=1024)] = "",
    next: Annotated[str, Form(max_length=2000)] = "/",
) -> Response:
    if not same_origin(request):
        raise ApiError(403, "cross_site_request", "the login form was posted from another site; request refused")
    target = local_path(next)
    found = await run_in_threadpool(state.users.authenticate, username.strip(), password) if username else None
    if found is None:
        context = {"user": None, "next": target, "error": "用户名或密码错误", "username": username}
        return render(request, "login.html", context, status_code=401)
    token, ttl = create_access_token(found, state.settings)
    response = RedirectResponse(target, status_code=303)
    set_session_cookie(response, token, ttl, state.settings)
    return response


@router.post("/logout")
def logout(request: Request, state: StateDep) -> Response:
    if not same_origin(request):
        raise ApiError(403, "cross_site_request", "the logout form was posted from another site; request refused")
    response = RedirectResponse("/login", status_code=303)
    clear_session_cookie(response, state.settings)
    return response


@router.get("/overdue")
def overdue_page(
    request: Request, state: StateDep, store: StoreDep, db: ReviewDBDep, user: OptionalUserDep
) -> Response:
    """Open candidates in the user's scope whose deadline has passed, most overdue first."""
    if _needs_login(state, user):
        return _login_redirect(request)
    rows = workflow.overdue(store, db, _actor(user))
    return render(request, "overdue.html", {"user": user, "rows": rows, "deadline_kinds": DEADLINE_KIND})


STATION_ROLES = frozenset({Role.admin, Role.analyst, Role.station})


@router.get("/station")
def station_page(
    request: Request,
    state: StateDep,
    store: StoreDep,
    user: OptionalUserDep,
    station: str | None = None,
    page: str | None = None,
) -> Response:
    """A station's batches and submitted documents with their outcomes. A station account sees its own
    organisation's; admins and analysts choose the station."""
    if user is None:
        return _login_redirect(request)
    if user.role not in STATION_ROLES:
        raise ApiError(403, "forbidden", f"role {user.role.value!r} cannot see station submissions")
    name = (user.organisation or user.username) if user.role is Role.station else _text(station)
    number = _page_number(page)
    batches: list[Any] = []
    batch_total = 0
    documents: list[Any] = []
    doc_total = 0
    if name:
        registry = BatchRegistry.from_settings(state.settings)
        batches, batch_total = registry.list(name, limit=PAGE_SIZE)
        documents, doc_total = station_documents(
            store, station_source(name), limit=PAGE_SIZE, offset=(number - 1) * PAGE_SIZE
        )
    return render(
        request,
        "station.html",
        {
            "user": user,
            "station": name,
            "choose": user.role is not Role.station,
            "batches": batches,
            "batch_total": batch_total,
            "documents": documents,
            "pager": _pager(number, doc_total, {"station": name if user.role is not Role.station else None}),
            "batch_status": BATCH_STATUS,
        },
    )
