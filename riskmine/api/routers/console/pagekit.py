"""What every console page uses: rendering, reading query and form values, the login redirect, paging, and the
checks and write lock of the POST forms."""

from __future__ import annotations

from collections.abc import Callable
from enum import Enum
from typing import Any, TypeVar
from urllib.parse import quote, urlencode

from fastapi import Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse, Response

from riskmine.api.auth import same_origin
from riskmine.api.errors import ApiError
from riskmine.api.filters import MAX_QUERY_CHARS
from riskmine.api.render import SECURITY_HEADERS
from riskmine.review.advisories import KIND_LABELS
from riskmine.review.roles import REVIEW_READER_ROLES, role_name
from riskmine.review.users import User

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
ADVISORY_KIND: dict[str, str] = {k.value: v for k, v in KIND_LABELS.items()}
E = TypeVar("E", bound=Enum)
T = TypeVar("T")


def enum_param(cls: type[E], value: str | None) -> E | None:
    """The enum member for a form value; None for an empty or unknown value (forms send "" for "any")."""
    if not value:
        return None
    try:
        return cls(value)
    except ValueError:
        return None


def text_param(value: str | None) -> str | None:
    if value is None:
        return None
    value = " ".join(value.split())[:MAX_QUERY_CHARS]
    return value or None


def page_number(value: str | None) -> int:
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


def login_redirect(request: Request) -> RedirectResponse:
    """To the login page, and back here afterwards. Every page of unpublished data (the queue, a candidate, the
    signals, the overdue list, a station's submissions) sends an anonymous visitor here, in every mode: only the
    published advisories and the login page are shown without a login, as the API answers 401 for the rest."""
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"/login?next={quote(target, safe='')}", status_code=303)


def pager(page: int, total: int, params: dict[str, Any], *, size: int = PAGE_SIZE, anchor: str = "") -> dict[str, Any]:
    """Page ``page`` of ``total`` items, ``size`` a page: links to the previous and next page keeping ``params``,
    each ending in ``anchor`` ("#id", or empty)."""
    pages = max(1, -(-total // size))
    keep = {k: v for k, v in params.items() if v not in (None, "")}

    def link(n: int) -> str:
        return "?" + urlencode({**keep, "page": n}) + anchor

    return {
        "page": page,
        "pages": pages,
        "total": total,
        "prev": link(page - 1) if page > 1 else None,
        "next": link(page + 1) if page < pages else None,
    }


def reads_review(user: User) -> bool:
    """Whether the user may read candidates at all (an api_consumer reads published advisories only)."""
    return role_name(user.role) in REVIEW_READER_ROLES


def refuse_cross_site(request: Request, what: str) -> None:
    """POST forms are accepted from this site only (the login cookie is SameSite=Lax; this is the second lock)."""
    if not same_origin(request):
        raise ApiError(403, "cross_site_request", f"the {what} form was posted from another site; request refused")


def signed_in(request: Request, user: User | None) -> User:
    if user is None:
        raise ApiError(401, "not_authenticated", "log in to the console first")
    return user


async def locked(state: Any, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Run a review change in a worker thread under the app's write lock (one writer at a time)."""

    def run() -> T:
        with state.write_lock:
            return fn(*args, **kwargs)

    return await run_in_threadpool(run)
