"""The audit log page (admins only): every change and export, filtered by actor, action, target and time,
newest first, a page at a time; each entry's details are shown as escaped text."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from riskmine.api.deps import OptionalUserDep, ReviewDBDep
from riskmine.api.errors import ApiError
from riskmine.api.routers.console import pagekit
from riskmine.review import audit
from riskmine.review.deadlines import start_of_china_day
from riskmine.review.records import AuditEvent
from riskmine.review.roles import Role
from riskmine.schema.labels import AUDIT_ACTION_LABELS, AUDIT_TARGET_LABELS

router = APIRouter()

# The longest before/after text shown in full; longer details are cut (the API's /api/v1/audit has them all).
MAX_DETAIL_CHARS = 4000
MAX_FIELD_CHARS = 200


@dataclass(frozen=True)
class AuditRow:
    """One audit event as the page shows it: labels for its action and target, its details as JSON text."""

    event: AuditEvent
    action: str
    target_kind: str
    before: str | None
    after: str | None


def _detail(value: Any) -> str | None:
    if value is None:
        return None
    text = json.dumps(value, ensure_ascii=False, indent=1, sort_keys=True, default=str)
    return text if len(text) <= MAX_DETAIL_CHARS else text[: MAX_DETAIL_CHARS - 1] + "…"


def audit_row(event: AuditEvent) -> AuditRow:
    return AuditRow(
        event=event,
        action=AUDIT_ACTION_LABELS.get(event.action, event.action),
        target_kind=AUDIT_TARGET_LABELS.get(event.target_kind, event.target_kind),
        before=_detail(event.before),
        after=_detail(event.after),
    )


def _day(value: str | None, name: str, problems: list[str]) -> date | None:
    """A date filter (YYYY-MM-DD, as the date input sends it); None when empty, with a note when malformed."""
    if not value or not value.strip():
        return None
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        problems.append(f"{name}应为“年-月-日”格式的日期（如 2024-05-01），已忽略“{value[:20]}”。")
        return None


def _field(value: str | None) -> str | None:
    value = (value or "").strip()[:MAX_FIELD_CHARS]
    return value or None


@router.get("/audit")
async def audit_page(
    request: Request,
    db: ReviewDBDep,
    user: OptionalUserDep,
    actor: str | None = None,
    action: str | None = None,
    target_kind: str | None = None,
    target_id: str | None = None,
    since: str | None = None,
    until: str | None = None,
    page: str | None = None,
) -> Response:
    """The audit log, newest first, PAGE_SIZE a page, with the filters kept in the page links."""
    if user is None:
        return pagekit.login_redirect(request)
    if user.role is not Role.admin:
        raise ApiError(403, "forbidden", "只有管理员可以查看审计日志")
    problems: list[str] = []
    first, last = _day(since, "起始日期", problems), _day(until, "截止日期", problems)
    chosen = {
        "actor": _field(actor),
        "action": _field(action),
        "target_kind": _field(target_kind),
        "target_id": _field(target_id),
        "since": first.isoformat() if first else None,
        "until": last.isoformat() if last else None,
    }
    number = pagekit.page_number(page)
    events, total = await run_in_threadpool(
        audit.events,
        db,
        actor=chosen["actor"],
        action=chosen["action"],
        target_kind=chosen["target_kind"],
        target_id=chosen["target_id"],
        since=start_of_china_day(first) if first else None,
        # the whole of the last day, China time
        until=start_of_china_day(last + timedelta(days=1)) - timedelta(microseconds=1) if last else None,
        limit=pagekit.PAGE_SIZE,
        offset=(number - 1) * pagekit.PAGE_SIZE,
    )
    return pagekit.render(
        request,
        "audit.html",
        {
            "user": user,
            "rows": [audit_row(e) for e in events],
            "chosen": chosen,
            "problems": problems,
            "pager": pagekit.pager(number, total, chosen),
            "options": {"action": AUDIT_ACTION_LABELS, "target_kind": AUDIT_TARGET_LABELS},
        },
    )
