"""Alerts that reach people: which events there are, who is responsible for them, who may subscribe to what.

Events (codes; Chinese labels in riskmine.schema.labels.ALERT_EVENT_LABELS):

* ``immediate_tier``: a candidate still to be decided (new or in review) is in the immediate tier, found a major
  risk by the system (its 24-hour report runs, riskmine.review.deadlines). Written to the outbox by the candidate
  refresh (the submission service calls :func:`candidates_refreshed`) and by the periodic :func:`scan`;
* ``deadline_near``: a candidate's current deadline (riskmine.review.deadlines.current_deadline) ends within
  ``RISKMINE_ALERT_DEADLINE_HOURS`` (4) hours and has not passed; found by :func:`scan`;
* ``objection``: a producer's or seller's objection was recorded (riskmine.review.workflow.record_objection
  calls :func:`objection_received`).

Each event has a key (``immediate_tier:<candidate>``, ``deadline_near:<candidate>:<kind>:<due>``,
``objection:<id>``): the outbox keeps one event per key, so one event alerts once however often it is seen.
Writing to the outbox never fails the change that triggered it (an error is logged); sending happens later,
off the request and processing path (riskmine.review.alert_delivery).

Who is told: the subscriptions taking the event's kind whose owner is responsible for its candidate:

* a user's own subscription: the user (enabled, a role that reads candidates) is the candidate's assignee or sees
  the candidate under the organisation visibility rule (riskmine.review.orgs): an admin and the assessment centre
  everything, a regional user their subtree, a station its own submissions;
* an organisation's subscription: the candidate is visible to that organisation (same rule, as its analyst).

Who may subscribe: anyone who reads candidates, for themselves; an admin for any organisation, an analyst for an
organisation within their own scope. A subscription is its creator's to list and delete (an admin sees all).
"""

from __future__ import annotations

import logging
import re
import secrets
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from riskmine.feeds.netguard import check_url
from riskmine.review import deadlines, orgs
from riskmine.review.alert_repository import (
    AlertEvent,
    AlertRepository,
    Delivery,
    Subscription,
    alert_outbox_of,
    alert_repository_at,
    open_alert_repository,
)
from riskmine.review.errors import ReviewError, ReviewForbidden, ReviewNotFound
from riskmine.review.records import Objection, iso, now_utc
from riskmine.review.repository import ReviewRepository, UserRepository
from riskmine.review.roles import ADMIN, ANALYST, REVIEW_READER_ROLES, Actor, SystemActor, role_name
from riskmine.review.workflow import can_see
from riskmine.schema import CandidateRisk, CandidateStatus, Tier
from riskmine.schema.labels import ALERT_EVENT_LABELS, STATUS_LABELS, TIER_LABELS
from riskmine.settings import Settings
from riskmine.store.base import Collection, Store

log = logging.getLogger("riskmine.alerts")

IMMEDIATE_TIER, DEADLINE_NEAR, OBJECTION = "immediate_tier", "deadline_near", "objection"
EVENT_KINDS = (IMMEDIATE_TIER, DEADLINE_NEAR, OBJECTION)
EMAIL, WEBHOOK, DIGEST = "email", "webhook", "digest"
CHANNELS = (EMAIL, WEBHOOK, DIGEST)
OWNER_KINDS = ("user", "org")
MAX_SUBSCRIPTIONS = 50  # per creator
MAX_TARGET_CHARS = 2_000
UNDECIDED = (CandidateStatus.new.value, CandidateStatus.in_review.value)
_EMAIL = re.compile(r"^[^@\s<>,;]+@[^@\s<>,;]+\.[^@\s<>,;]+$")


class SubscriptionError(ReviewError):
    code = "invalid_subscription"


# --- events into the outbox ----------------------------------------------------------------------------


def _candidate_payload(cand: CandidateRisk) -> dict[str, Any]:
    return {
        "candidate_id": cand.id,
        "title": cand.title,
        "tier": cand.tier.value,
        "tier_label": TIER_LABELS.get(cand.tier, cand.tier.value),
        "status": cand.status.value,
        "status_label": STATUS_LABELS.get(cand.status, cand.status.value),
        "organisation": cand.organisation,
        "assignee": cand.assignee,
    }


def _event(kind: str, key: str, cand: CandidateRisk, when: datetime, **extra: Any) -> AlertEvent:
    created = iso(when)
    payload = {"kind": kind, "kind_label": ALERT_EVENT_LABELS[kind], "created_at": created}
    return AlertEvent(
        id="e" + secrets.token_hex(8),
        key=key,
        kind=kind,
        candidate_id=cand.id,
        payload=payload | _candidate_payload(cand) | extra,
        created_at=created,
    )


def _immediate(cand: CandidateRisk, when: datetime) -> AlertEvent:
    deadline = deadlines.current_deadline(cand)
    due = iso(deadline.due_at) if deadline else None
    return _event(IMMEDIATE_TIER, f"{IMMEDIATE_TIER}:{cand.id}", cand, when, due_at=due)


def immediate_events(store: Store, when: datetime) -> list[AlertEvent]:
    """An ``immediate_tier`` event for every undecided candidate of the immediate tier."""
    found = store.iterate(Collection.candidates, filters={"tier": [Tier.immediate.value], "status": list(UNDECIDED)})
    return [_immediate(c, when) for c in found if isinstance(c, CandidateRisk)]


def deadline_events(store: Store, when: datetime, hours: float) -> list[AlertEvent]:
    """A ``deadline_near`` event for every open candidate whose deadline ends within ``hours`` of ``when``."""
    out = []
    statuses = [s.value for s in deadlines.OPEN_STATUSES]
    for cand in store.iterate(Collection.candidates, filters={"status": statuses}):
        deadline = deadlines.current_deadline(cand) if isinstance(cand, CandidateRisk) else None
        if deadline is None or deadline.overdue(when) or deadline.remaining(when) > timedelta(hours=hours):
            continue
        due = iso(deadline.due_at)
        remaining = round(deadline.remaining(when).total_seconds() / 3600, 1)
        key = f"{DEADLINE_NEAR}:{cand.id}:{deadline.kind.value}:{due}"
        out.append(
            _event(DEADLINE_NEAR, key, cand, when, due_at=due, deadline_kind=deadline.kind.value, hours_left=remaining)
        )
    return out


def enqueue(repo: AlertRepository, events: Iterable[AlertEvent]) -> int:
    """Write the events to the outbox (one per key); how many were new."""
    return sum(1 for e in events if repo.enqueue(e))


def _quietly(what: str, fn: Callable[[], int]) -> int:
    """Run an outbox write; an error is logged, never raised: alerting must not fail the change it reports."""
    try:
        return fn()
    except Exception:
        log.exception("alerts: could not write %s to the outbox", what)
        return 0


def candidates_refreshed(store: Store, outbox: AlertRepository | Path, *, now: datetime | None = None) -> int:
    """After a candidate refresh: an ``immediate_tier`` event for each undecided immediate-tier candidate (new ones
    only reach the outbox: the key holds one per candidate). Never raises; returns how many were new."""
    when = now or now_utc()
    repo = alert_repository_at(outbox) if isinstance(outbox, Path) else outbox
    return _quietly("immediate-tier events", lambda: enqueue(repo, immediate_events(store, when)))


def refresh_hook(settings: Settings) -> Callable[[Store], int]:
    """What the submission service calls after each candidate refresh."""
    return lambda store: candidates_refreshed(store, open_alert_repository(settings))


def scan(store: Store, repo: AlertRepository, *, now: datetime | None = None, deadline_hours: float = 4.0) -> int:
    """The events the clock makes (deadlines coming near) and those a refresh in another process made (the
    immediate tier), into the outbox; how many were new."""
    when = now or now_utc()
    return enqueue(repo, [*immediate_events(store, when), *deadline_events(store, when, deadline_hours)])


def objection_received(review: ReviewRepository, candidate: CandidateRisk, objection: Objection) -> None:
    """An ``objection`` event for a just-recorded objection. Never raises."""
    event = _event(
        OBJECTION,
        f"{OBJECTION}:{objection.id}",
        candidate,
        deadlines.aware(datetime.fromisoformat(objection.received_at)),
        objection_id=objection.id,
        objector=objection.objector,
        objector_kind=objection.objector_kind,
        objection_text=objection.text[:2000],
        due_at=objection.deadline,
    )
    _quietly("an objection event", lambda: int(alert_outbox_of(review).enqueue(event)))


# --- who is responsible ------------------------------------------------------------------------------


def responsible(
    sub: Subscription, event: AlertEvent, store: Store, db: ReviewRepository, users: UserRepository
) -> bool:
    """Whether the subscription's owner is responsible for the event's candidate (rule in the module docstring)."""
    if event.kind not in sub.events:
        return False
    cand = store.get(Collection.candidates, event.candidate_id) if event.candidate_id else None
    actor: Actor
    if sub.owner_kind == "org":
        actor = SystemActor(f"org:{sub.owner}", ANALYST, sub.owner)
    else:
        user = users.get_user(sub.owner)
        if user is None or role_name(user.role) not in REVIEW_READER_ROLES:
            return False
        if event.payload.get("assignee") and event.payload["assignee"] == user.username:
            return True
        actor = user
    if not isinstance(cand, CandidateRisk):
        return role_name(actor.role) == ADMIN
    return can_see(store, db, actor, cand)


# --- subscriptions -------------------------------------------------------------------------------------


def _owner(db: ReviewRepository, actor: Any, owner_kind: str, organisation: str | None) -> str:
    if owner_kind == "user":
        return str(actor.id)
    if not organisation:
        raise SubscriptionError("单位订阅须填写单位名称（organisation）")
    if orgs.get_org(db, organisation) is None:
        raise ReviewNotFound(f"组织机构中没有单位「{organisation}」")
    role = role_name(actor.role)
    if role == ADMIN:
        return organisation
    scope = orgs.scope_for(db, actor)
    if role == ANALYST and (scope.everything or organisation in scope.orgs):
        return organisation
    raise ReviewForbidden(f"您不能为单位「{organisation}」订阅提醒：管理员可为任何单位订阅，分析员限本单位及下级单位")


def _check_target(channel: str, target: str, allow_private: bool) -> str:
    target = (target or "").strip()
    if not target or len(target) > MAX_TARGET_CHARS:
        raise SubscriptionError(f"接收地址须为 1-{MAX_TARGET_CHARS} 个字符")
    if channel in (EMAIL, DIGEST):
        if not _EMAIL.match(target):
            raise SubscriptionError(f"「{target[:100]}」不是电子邮件地址")
        return target
    verdict = check_url(target, allow_private=allow_private)
    if not verdict.allowed:
        raise SubscriptionError(f"Webhook 网址不可用：{verdict.reason}")
    return target


def create_subscription(
    repo: AlertRepository,
    db: ReviewRepository,
    actor: Any,
    *,
    events: Sequence[str],
    channel: str,
    target: str,
    owner_kind: str = "user",
    organisation: str | None = None,
    allow_private: bool = False,
) -> Subscription:
    """A new subscription of ``actor`` (a user: it has an ``id``) or of an organisation they may subscribe for.
    A webhook subscription gets a new secret (returned here once; never shown again)."""
    if role_name(actor.role) not in REVIEW_READER_ROLES:
        raise ReviewForbidden(f"角色 {role_name(actor.role)} 不能订阅风险提醒")
    kinds = list(dict.fromkeys(events))
    if not kinds or any(k not in EVENT_KINDS for k in kinds):
        raise SubscriptionError(f"提醒事件须为以下一项或多项：{'、'.join(ALERT_EVENT_LABELS[k] for k in EVENT_KINDS)}")
    if channel not in CHANNELS:
        raise SubscriptionError("发送方式须为电子邮件（email）、Webhook 回调（webhook）或每日摘要邮件（digest）")
    if owner_kind not in OWNER_KINDS:
        raise SubscriptionError("订阅对象须为本人（user）或单位（org）")
    owner = _owner(db, actor, owner_kind, organisation)
    if len(repo.subscriptions(created_by=actor.id)) >= MAX_SUBSCRIPTIONS:
        raise SubscriptionError(f"每位用户最多 {MAX_SUBSCRIPTIONS} 个订阅，请先删除不用的订阅")
    sub = Subscription(
        id="s" + secrets.token_hex(8),
        owner_kind=owner_kind,
        owner=owner,
        created_by=actor.id,
        events=tuple(kinds),
        channel=channel,
        target=_check_target(channel, target, allow_private),
        secret=secrets.token_urlsafe(32) if channel == WEBHOOK else None,
        created_at=iso(now_utc()),
    )
    repo.add_subscription(sub)
    return sub


def list_subscriptions(repo: AlertRepository, actor: Any, *, everyone: bool = False) -> list[Subscription]:
    """The actor's subscriptions; with ``everyone``, an admin's view of all."""
    if everyone:
        if role_name(actor.role) != ADMIN:
            raise ReviewForbidden("只有管理员可以查看全部订阅")
        return repo.subscriptions()
    return repo.subscriptions(created_by=actor.id)


def delete_subscription(repo: AlertRepository, actor: Any, subscription_id: str) -> Subscription:
    """Delete a subscription of the actor's (an admin: anyone's); its delivery log stays."""
    sub = repo.get_subscription(subscription_id)
    if sub is None or (sub.created_by != actor.id and role_name(actor.role) != ADMIN):
        raise ReviewNotFound(f"没有编号为 {subscription_id} 的订阅")
    repo.delete_subscription(sub.id)
    return sub


def delivery_log(
    repo: AlertRepository, actor: Any, *, status: str | None = None, limit: int = 50, offset: int = 0
) -> tuple[list[Delivery], int]:
    """Deliveries of the actor's subscriptions (an admin: all), newest first, with each attempt."""
    mine = None if role_name(actor.role) == ADMIN else str(actor.id)
    return repo.deliveries(created_by=mine, status=status, limit=limit, offset=offset)
