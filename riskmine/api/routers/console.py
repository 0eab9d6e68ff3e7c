"""The review console: server-rendered pages (no JavaScript), Chinese labels, every crawled text escaped."""

from __future__ import annotations

from enum import Enum
from typing import Annotated, Any, TypeVar
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Form, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse, Response

from riskmine.api.auth import (
    clear_session_cookie,
    create_access_token,
    reads_open,
    same_origin,
    set_session_cookie,
)
from riskmine.api.deps import OptionalUserDep, StateDep, StoreDep
from riskmine.api.errors import ApiError, not_found
from riskmine.api.filters import MAX_QUERY_CHARS, build_filters
from riskmine.api.labels import HAZARD, RISK_LEVEL, SOURCE_TYPE, STATUS, TIER
from riskmine.api.render import SECURITY_HEADERS, local_path, signal_excerpt
from riskmine.api.users import User
from riskmine.api.views import candidate_url, document_url, signal_url
from riskmine.schema import CandidateStatus, HazardType, RiskLevel, SourceType, Tier
from riskmine.store.base import Collection, StoreError

router = APIRouter(include_in_schema=False)

PAGE_SIZE = 50
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


@router.get("/")
def queue(
    request: Request,
    state: StateDep,
    store: StoreDep,
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
    number = _page_number(page)
    result = store.query(
        Collection.candidates,
        filters=build_filters(**chosen),
        sort="priority",
        descending=True,
        limit=PAGE_SIZE,
        offset=(number - 1) * PAGE_SIZE,
    )
    tiers = {b.key: b.count for b in store.aggregate(Collection.candidates, "tier")}
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
        },
    )


@router.get("/candidates/{candidate_id}")
def candidate_page(
    request: Request, candidate_id: str, state: StateDep, store: StoreDep, user: OptionalUserDep
) -> Response:
    if _needs_login(state, user):
        return _login_redirect(request)
    cand = store.get(Collection.candidates, candidate_id)
    if cand is None:
        raise not_found("candidate", candidate_id)
    signals = {s.id: s for s in store.get_many(Collection.signals, [ev.signal_id for ev in cand.evidence])}
    evidence = []
    for ev in cand.evidence:
        sig = signals.get(ev.signal_id)
        evidence.append(
            {
                "ev": ev,
                "excerpt": signal_excerpt(sig, focus=cand.hazard) if sig is not None else None,
                "document_url": document_url(ev.document_id),
                "signal_url": signal_url(ev.signal_id),
            }
        )
    return render(
        request,
        "candidate.html",
        {"user": user, "c": cand, "evidence": evidence, "api_url": candidate_url(cand.id)},
    )


@router.get("/signals")
def signals_page(
    request: Request,
    state: StateDep,
    store: StoreDep,
    user: OptionalUserDep,
    q: str | None = None,
    source_type: str | None = None,
    hazard: str | None = None,
    is_risk: str | None = None,
    page: str | None = None,
) -> Response:
    if _needs_login(state, user):
        return _login_redirect(request)
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
    try:
        result = store.query(
            Collection.signals,
            filters=build_filters(**chosen),
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
