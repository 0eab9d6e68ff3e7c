"""The alerts page: one's own subscriptions (add, delete) and their delivery log (an admin's: every delivery).
Rules in riskmine.review.alerts; a refused form shows the page again with the reason."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse, Response

from riskmine.api.deps import OptionalUserDep, ReviewDBDep, SettingsDep
from riskmine.api.errors import ApiError
from riskmine.api.routers.alerts import AlertRepoDep
from riskmine.api.routers.console import pagekit
from riskmine.review import alerts
from riskmine.review.alert_repository import AlertRepository
from riskmine.review.errors import ReviewError
from riskmine.review.users import User
from riskmine.schema.labels import ALERT_CHANNEL_LABELS, ALERT_EVENT_LABELS, ALERT_OWNER_LABELS, DELIVERY_STATUS_LABELS

router = APIRouter()

LOG_SIZE = 30
NOTICES = {"subscribed": "订阅已保存。", "deleted": "订阅已删除。"}


def _page(request: Request, repo: AlertRepository, user: User, *, status_code: int = 200, **extra: object) -> Response:
    deliveries, total = alerts.delivery_log(repo, user, limit=LOG_SIZE)
    context = {
        "user": user,
        "subscriptions": alerts.list_subscriptions(repo, user),
        "deliveries": deliveries,
        "delivery_total": total,
        "event_labels": ALERT_EVENT_LABELS,
        "channel_labels": ALERT_CHANNEL_LABELS,
        "owner_labels": ALERT_OWNER_LABELS,
        "status_labels": DELIVERY_STATUS_LABELS,
        "notice_ok": NOTICES.get(request.query_params.get("done", "")),
        **extra,
    }
    return pagekit.render(request, "alerts.html", context, status_code=status_code)


def _reader(request: Request, user: User | None) -> User:
    who = pagekit.signed_in(request, user)
    if not pagekit.reads_review(who):
        raise ApiError(403, "forbidden", "接口用户只能阅读已发布的风险通告，不能订阅风险提醒")
    return who


@router.get("/alerts")
async def alerts_page(request: Request, repo: AlertRepoDep, user: OptionalUserDep) -> Response:
    """Your subscriptions, a form to add one, and the latest deliveries."""
    if user is None:
        return pagekit.login_redirect(request)
    if not pagekit.reads_review(user):
        return RedirectResponse("/advisories", status_code=303)
    return await run_in_threadpool(_page, request, repo, user)


@router.post("/alerts/subscriptions")
async def subscribe(
    request: Request,
    repo: AlertRepoDep,
    db: ReviewDBDep,
    settings: SettingsDep,
    user: OptionalUserDep,
    channel: Annotated[str, Form(max_length=20)],
    target: Annotated[str, Form(max_length=alerts.MAX_TARGET_CHARS)],
    events: Annotated[list[str] | None, Form(max_length=len(alerts.EVENT_KINDS))] = None,
    owner_kind: Annotated[str, Form(max_length=10)] = "user",
    organisation: Annotated[str | None, Form(max_length=100)] = None,
) -> Response:
    """Add a subscription; a webhook's signing secret is shown on the page that answers, once."""
    pagekit.refuse_cross_site(request, "alert subscription")
    who = _reader(request, user)
    try:
        sub = await run_in_threadpool(
            alerts.create_subscription,
            repo,
            db,
            who,
            events=events or [],
            channel=channel,
            target=target,
            owner_kind=owner_kind,
            organisation=(organisation or "").strip() or None,
            allow_private=settings.allow_private_urls,
        )
    except ReviewError as exc:
        return await run_in_threadpool(_page, request, repo, who, status_code=exc.status, form_error=f"未能保存：{exc}")
    if sub.secret:
        notice = NOTICES["subscribed"]
        return await run_in_threadpool(_page, request, repo, who, new_secret=sub.secret, notice_ok=notice)
    return RedirectResponse("/alerts?done=subscribed", status_code=303)


@router.post("/alerts/subscriptions/{subscription_id}/delete")
async def unsubscribe(request: Request, subscription_id: str, repo: AlertRepoDep, user: OptionalUserDep) -> Response:
    pagekit.refuse_cross_site(request, "alert subscription")
    who = _reader(request, user)
    try:
        await run_in_threadpool(alerts.delete_subscription, repo, who, subscription_id)
    except ReviewError as exc:
        return await run_in_threadpool(_page, request, repo, who, status_code=exc.status, form_error=f"未能删除：{exc}")
    return RedirectResponse("/alerts?done=deleted", status_code=303)
