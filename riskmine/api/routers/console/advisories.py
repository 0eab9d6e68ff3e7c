"""The advisories page (published ones, and drafts for those who review them) and a publisher's approval."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from riskmine.api.deps import OptionalUserDep, ReviewDBDep, StateDep
from riskmine.api.routers.console import pagekit
from riskmine.review import advisories
from riskmine.review.roles import PUBLISHER_ROLES, role_name

router = APIRouter()


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
    number = pagekit.page_number(page)
    items, total = advisories.list_advisories(
        db, user, status=wanted, limit=pagekit.PAGE_SIZE, offset=(number - 1) * pagekit.PAGE_SIZE
    )
    return pagekit.render(
        request,
        "advisories.html",
        {
            "user": user,
            "items": items,
            "status": wanted,
            "sees_drafts": advisories.sees_drafts(user),
            "can_approve": user is not None and role_name(user.role) in PUBLISHER_ROLES,
            "kinds": pagekit.ADVISORY_KIND,
            "pager": pagekit.pager(number, total, {"status": wanted}),
            "notice_ok": pagekit.DONE_NOTICES.get(done or ""),
        },
    )


@router.post("/advisories/{advisory_id}/approve")
async def approve_form(
    request: Request, advisory_id: str, state: StateDep, db: ReviewDBDep, user: OptionalUserDep
) -> Response:
    """A publisher approves a draft: it is published to its audience."""
    pagekit.refuse_cross_site(request, "approval")
    who = pagekit.signed_in(request, user)
    await pagekit.locked(state, advisories.approve, db, advisory_id, who)
    return RedirectResponse("/advisories?done=approved", status_code=303)
