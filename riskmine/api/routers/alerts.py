"""Alert subscriptions and the delivery log: who is told of immediate-tier candidates, deadlines coming near and
objections, by e-mail, signed webhook or a daily digest (rules in riskmine.review.alerts; sending in
riskmine.review.alert_delivery, off the request path).

Everyone who reads candidates manages their own subscriptions; an admin sees everyone's, and every delivery.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field

from riskmine.api.deps import ReviewDBDep, ReviewReaderDep, SettingsDep
from riskmine.api.filters import OffsetQuery
from riskmine.api.routers.review import call
from riskmine.review import alerts
from riskmine.review.alert_repository import AlertRepository, Delivery, Subscription, open_alert_repository
from riskmine.schema.labels import (
    ALERT_CHANNEL_LABELS,
    ALERT_EVENT_LABELS,
    ALERT_OWNER_LABELS,
    DELIVERY_STATUS_LABELS,
)

router = APIRouter(prefix="/api/v1/alerts", tags=["alerts"])

MAX_PAGE = 200
EventKind = Literal["immediate_tier", "deadline_near", "objection"]


def alert_repo(request: Request, settings: SettingsDep) -> AlertRepository:
    """The alert repository under the settings' var_dir, opened once per app."""
    if getattr(request.app.state, "alert_repo", None) is None:
        request.app.state.alert_repo = open_alert_repository(settings)
    repo: AlertRepository = request.app.state.alert_repo
    return repo


AlertRepoDep = Annotated[AlertRepository, Depends(alert_repo)]


class SubscriptionBody(BaseModel):
    events: list[EventKind] = Field(min_length=1, max_length=len(alerts.EVENT_KINDS))
    channel: Literal["email", "webhook", "digest"]
    target: str = Field(min_length=1, max_length=alerts.MAX_TARGET_CHARS, description="e-mail address or webhook URL")
    owner_kind: Literal["user", "org"] = "user"
    organisation: str | None = Field(None, max_length=100, description="the organisation of an org subscription")


def _subscription(sub: Subscription) -> dict[str, Any]:
    return sub.public() | {
        "event_labels": [ALERT_EVENT_LABELS.get(e, e) for e in sub.events],
        "channel_label": ALERT_CHANNEL_LABELS.get(sub.channel, sub.channel),
        "owner_label": ALERT_OWNER_LABELS.get(sub.owner_kind, sub.owner_kind),
    }


def _delivery(d: Delivery) -> dict[str, Any]:
    return d.public() | {
        "channel_label": ALERT_CHANNEL_LABELS.get(d.channel, d.channel),
        "status_label": DELIVERY_STATUS_LABELS.get(d.status, d.status),
    }


@router.get("/kinds", summary="The alert events and channels, with their Chinese labels")
async def kinds(_user: ReviewReaderDep) -> dict[str, Any]:
    return {
        "events": [{"code": k, "label": ALERT_EVENT_LABELS[k]} for k in alerts.EVENT_KINDS],
        "channels": [{"code": c, "label": ALERT_CHANNEL_LABELS[c]} for c in alerts.CHANNELS],
    }


@router.get("/subscriptions", summary="Your alert subscriptions (an admin: everyone's, with all=true)")
async def list_subscriptions(user: ReviewReaderDep, repo: AlertRepoDep, all: bool = False) -> dict[str, Any]:
    found = await call(alerts.list_subscriptions, repo, user, everyone=all)
    return {"total": len(found), "items": [_subscription(s) for s in found]}


@router.post("/subscriptions", status_code=201, summary="Subscribe by e-mail, signed webhook or daily digest")
async def create_subscription(
    body: SubscriptionBody, user: ReviewReaderDep, db: ReviewDBDep, settings: SettingsDep, repo: AlertRepoDep
) -> JSONResponse:
    sub = await call(
        alerts.create_subscription, repo, db, user, allow_private=settings.allow_private_urls, **body.model_dump()
    )
    out = _subscription(sub)
    if sub.secret:
        out["secret"] = sub.secret  # the webhook's signing secret: shown here only
    return JSONResponse(out, status_code=201)


@router.delete("/subscriptions/{subscription_id}", status_code=204, summary="Delete one of your subscriptions")
async def delete_subscription(subscription_id: str, user: ReviewReaderDep, repo: AlertRepoDep) -> Response:
    await call(alerts.delete_subscription, repo, user, subscription_id)
    return Response(status_code=204)


@router.get("/deliveries", summary="The delivery log of your subscriptions (an admin: all), newest first")
async def deliveries(
    user: ReviewReaderDep,
    repo: AlertRepoDep,
    status: Literal["pending", "sending", "sent", "failed"] | None = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 50,
    offset: OffsetQuery = 0,
) -> dict[str, Any]:
    items, total = await call(alerts.delivery_log, repo, user, status=status, limit=limit, offset=offset)
    return {"total": total, "items": [_delivery(d) for d in items], "limit": limit, "offset": offset}
