"""The overdue page: open candidates in the user's scope past their deadline."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from riskmine.api.console_views import DEADLINE_KIND
from riskmine.api.deps import OptionalUserDep, ReviewDBDep, StoreDep
from riskmine.api.routers.console import pagekit
from riskmine.review import workflow

router = APIRouter()


@router.get("/overdue")
def overdue_page(request: Request, store: StoreDep, db: ReviewDBDep, user: OptionalUserDep) -> Response:
    """Open candidates in the user's scope whose deadline has passed, most overdue first."""
    if user is None:
        return pagekit.login_redirect(request)
    rows = workflow.overdue(store, db, user)
    return pagekit.render(request, "overdue.html", {"user": user, "rows": rows, "deadline_kinds": DEADLINE_KIND})
