"""The scheduled jobs page (admins): each job's last run, outcome and next run, read-only (riskmine.scheduler)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from riskmine.api.deps import OptionalUserDep, SettingsDep
from riskmine.api.errors import ApiError
from riskmine.api.routers.console import pagekit
from riskmine.review.roles import Role
from riskmine.scheduler import job_rows

router = APIRouter()


@router.get("/jobs")
async def jobs_page(request: Request, settings: SettingsDep, user: OptionalUserDep) -> Response:
    """The scheduled jobs with their last run, outcome and next run."""
    if user is None:
        return pagekit.login_redirect(request)
    if user.role is not Role.admin:
        raise ApiError(403, "forbidden", "只有管理员可以查看定时任务")
    rows = await run_in_threadpool(job_rows, settings)
    return pagekit.render(request, "jobs.html", {"user": user, "rows": rows, "enabled": settings.scheduler})
