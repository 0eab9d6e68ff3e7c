"""Signing in and out of the console: the login page and form, and logout (a session cookie)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse, Response

from riskmine.api.auth import clear_session_cookie, create_access_token, same_origin, set_session_cookie
from riskmine.api.deps import OptionalUserDep, ReviewDBDep, StateDep
from riskmine.api.errors import ApiError
from riskmine.api.render import local_path
from riskmine.api.routers.console import pagekit
from riskmine.api.routers.public_reports import client_key
from riskmine.api.state import AppState
from riskmine.review.login_guard import LoginGuard, LoginPolicy, LoginThrottled
from riskmine.review.users import demo_logins

router = APIRouter()


def _demo_logins(state: AppState) -> list[dict[str, str | None]]:
    """The demo users to list on the login page (development only: riskmine.review.users.demo_logins)."""
    return [
        {"username": u, "password": pw, "role": role, "organisation": org}
        for u, pw, role, org in demo_logins(state.settings, state.users)
    ]


@router.get("/login")
def login_page(request: Request, state: StateDep, user: OptionalUserDep, next: str | None = None) -> Response:
    context = {"user": user, "next": local_path(next), "error": None, "demo_logins": _demo_logins(state)}
    return pagekit.render(request, "login.html", context)


@router.post("/login")
async def login(
    request: Request,
    state: StateDep,
    review_db: ReviewDBDep,
    username: Annotated[str, Form(max_length=200)] = "",
    password: Annotated[str, Form(max_length=1024)] = "",
    next: Annotated[str, Form(max_length=2000)] = "/",
) -> Response:
    if not same_origin(request):
        raise ApiError(403, "cross_site_request", "the login form was posted from another site; request refused")
    target = local_path(next)
    guard = LoginGuard(state.users, review_db, LoginPolicy.from_settings(state.settings))
    error, status, headers = "用户名或密码错误", 401, {}
    try:
        found = (
            await run_in_threadpool(guard.login, username.strip(), password, client_key(request)) if username else None
        )
    except LoginThrottled as exc:  # the same page, whether or not the account exists
        found, error, status, headers = None, exc.message, exc.status, exc.headers
    if found is None:
        context = {
            "user": None,
            "next": target,
            "error": error,
            "username": username,
            "demo_logins": await run_in_threadpool(_demo_logins, state),
        }
        response = pagekit.render(request, "login.html", context, status_code=status)
        response.headers.update(headers)
        return response
    version = await run_in_threadpool(state.users.token_version, found.id)
    token, ttl = create_access_token(found, state.settings, version=version)
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
