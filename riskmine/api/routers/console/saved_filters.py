"""Saved filters: a user saves the queue's or the signals page's current filter under a Chinese name, lists them,
applies (a link to the page with that filter) and deletes them. Stored per user in the workspace
(riskmine.review.workspace: SQLite, or PostgreSQL with RISKMINE_DATABASE_URL)."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import parse_qsl

from fastapi import APIRouter, Depends, Form, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse, Response

from riskmine.api.deps import OptionalUserDep, SettingsDep
from riskmine.api.errors import ApiError
from riskmine.api.routers.console import pagekit
from riskmine.review import workspace
from riskmine.review.errors import ReviewError
from riskmine.review.users import User
from riskmine.review.workspace import WorkspaceRepository, open_workspace
from riskmine.schema.labels import (
    FILTER_FIELD_LABELS,
    HAZARD_LABELS,
    RISK_LEVEL_LABELS,
    SAVED_FILTER_PAGE_LABELS,
    SOURCE_TYPE_LABELS,
    STATUS_LABELS,
    TIER_LABELS,
)

router = APIRouter()

NOTICES = {"saved": "筛选条件已保存。", "deleted": "筛选条件已删除。"}
VALUE_LABELS: dict[str, dict[str, str]] = {
    "tier": TIER_LABELS,
    "status": STATUS_LABELS,
    "hazard": HAZARD_LABELS,
    "risk_level": RISK_LEVEL_LABELS,
    "source_type": SOURCE_TYPE_LABELS,
    "is_risk": {"1": "是", "0": "否"},
}


def describe(query: str) -> str:
    """A saved filter's query string in words: 层级：立即处置；地区：上海."""
    parts = [f"{FILTER_FIELD_LABELS.get(k, k)}：{VALUE_LABELS.get(k, {}).get(v, v)}" for k, v in parse_qsl(query)]
    return "；".join(parts) or "全部"


def workspace_repo(request: Request, settings: SettingsDep) -> WorkspaceRepository:
    """The workspace (saved filters, report drafts) the settings name, opened once per app."""
    state = request.app.state
    repo: WorkspaceRepository = getattr(state, "workspace", None) or open_workspace(settings)
    state.workspace = repo
    return repo


WorkspaceDep = Annotated[WorkspaceRepository, Depends(workspace_repo)]


def reader_or_redirect(request: Request, user: User | None) -> User | Response:
    """A user who reads the review pages, or where a GET page sends anyone else: an anonymous visitor to the login
    page, an api_consumer to the published advisories."""
    if user is None:
        return pagekit.login_redirect(request)
    if not pagekit.reads_review(user):
        return RedirectResponse("/advisories", status_code=303)
    return user


def _reader(request: Request, user: User | None) -> User:
    who = pagekit.signed_in(request, user)
    if not pagekit.reads_review(who):
        raise ApiError(403, "forbidden", "接口用户只能阅读已发布的风险通告，不能保存筛选条件")
    return who


def render_page(
    request: Request, template: str, notices: dict[str, str], context: dict[str, Any], status_code: int = 200
) -> Response:
    """A workspace page: its context, and the notice of what the redirect that led here says was done."""
    notice = notices.get(request.query_params.get("done", ""))
    return pagekit.render(request, template, {"notice_ok": notice, **context}, status_code=status_code)


def _page(
    request: Request, repo: WorkspaceRepository, user: User, *, status_code: int = 200, **extra: object
) -> Response:
    saved = repo.filters(user.id)
    context = {"user": user, "saved": saved, "page_labels": SAVED_FILTER_PAGE_LABELS, "describe": describe, **extra}
    return render_page(request, "saved_filters.html", NOTICES, context, status_code)


@router.get("/filters")
async def saved_filters_page(request: Request, repo: WorkspaceDep, user: OptionalUserDep) -> Response:
    """Your saved filters, by page: apply or delete."""
    who = reader_or_redirect(request, user)
    if isinstance(who, Response):
        return who
    return await run_in_threadpool(_page, request, repo, who)


async def _change(request: Request, repo: WorkspaceRepository, user: User | None, done: str, change: Any) -> Response:
    """Run a change of the user's saved filters; back to the list, saying what was done or why it was not."""
    pagekit.refuse_cross_site(request, "saved filter")
    who = _reader(request, user)
    try:
        await run_in_threadpool(change, who)
    except ReviewError as exc:
        verb = "保存" if done == "saved" else "删除"
        error = f"未能{verb}：{exc}"
        return await run_in_threadpool(_page, request, repo, who, status_code=exc.status, form_error=error)
    return RedirectResponse(f"/filters?done={done}", status_code=303)


@router.post("/filters")
async def save_filter(
    request: Request,
    repo: WorkspaceDep,
    user: OptionalUserDep,
    page: Annotated[str, Form(max_length=20)],
    name: Annotated[str, Form(max_length=200)],
    query: Annotated[str, Form(max_length=workspace.MAX_QUERY_CHARS)] = "",
) -> Response:
    """Save the page's filter (its query string) under the name; the same name again replaces it."""
    return await _change(request, repo, user, "saved", lambda who: workspace.save_filter(repo, who, page, name, query))


@router.post("/filters/{filter_id}/delete")
async def delete_filter(request: Request, filter_id: str, repo: WorkspaceDep, user: OptionalUserDep) -> Response:
    return await _change(request, repo, user, "deleted", lambda who: workspace.delete_filter(repo, who, filter_id))
