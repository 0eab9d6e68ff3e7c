"""Sending alerts, off the request and processing path: the outbox is drained by :func:`run_once` (the API's
background :class:`AlertWorker` calls it every ``RISKMINE_ALERT_POLL_SECONDS``; a scheduler job may too).

One pass: the clock's events are found (:func:`riskmine.review.alerts.scan`); each new event becomes one delivery
per responsible subscription (fan-out; e-mail and webhook subscriptions; a digest subscription collects the day's
events instead); due deliveries are claimed and sent; after ``RISKMINE_ALERT_DIGEST_HOUR`` (China time) each digest
subscription gets one e-mail listing the events of the day before.

* e-mail: SMTP with the standard library (RISKMINE_SMTP_HOST, _PORT, _USER, _PASSWORD, _FROM, _STARTTLS);
* webhook: an HTTP POST of the event as JSON, signed: ``X-Riskmine-Timestamp`` (Unix seconds) and
  ``X-Riskmine-Signature: sha256=<hex>``, the HMAC-SHA256 under the subscription's secret of
  ``<timestamp>.<raw body>`` (the receiver recomputes it and refuses an old timestamp). Redirects are not followed,
  and the URL must pass the public-address guard (riskmine.feeds.netguard; RISKMINE_ALLOW_PRIVATE_URLS for an
  intranet receiver).

A failed attempt is logged (time, HTTP status, error) and retried after RISKMINE_ALERT_RETRY_SECONDS, doubling each
time, up to RISKMINE_ALERT_MAX_ATTEMPTS; an answer that will not change (a 4xx other than 408/429, an unsafe URL)
ends it at once. A sender holds what it claimed under a lease: one that dies lets it fall due again.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import secrets
import smtplib
import ssl
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Any, Protocol

import httpx

from riskmine.feeds.netguard import check_url
from riskmine.review import alerts, deadlines
from riskmine.review.alert_repository import (
    AlertEvent,
    AlertRepository,
    Delivery,
    DeliveryAttempt,
    Subscription,
    open_alert_repository,
)
from riskmine.review.records import iso, now_utc
from riskmine.review.repository import (
    ReviewRepository,
    UserRepository,
    open_review_repository,
    open_user_repository,
)
from riskmine.schema.labels import ALERT_EVENT_LABELS
from riskmine.settings import Settings
from riskmine.store.base import Store

log = logging.getLogger("riskmine.alerts")

SIGNATURE_HEADER = "X-Riskmine-Signature"
TIMESTAMP_HEADER = "X-Riskmine-Timestamp"
LEASE_SECONDS = 300.0
BATCH = 200
SEND_THREADS = 8  # deliveries sent at once: 200 endpoints hanging for the default 10 s timeout end within the lease
_RETRYABLE_STATUS = frozenset({408, 429})


# --- messages --------------------------------------------------------------------------------------


def _china_time(value: str | None) -> str:
    if not value:
        return "—"
    moment = deadlines.aware(datetime.fromisoformat(value)).astimezone(deadlines.CHINA_TZ)
    return moment.strftime("%Y-%m-%d %H:%M（北京时间）")


def _lines(payload: dict[str, Any], public_url: str) -> list[str]:
    """The event in Chinese, line by line."""
    lines = [
        f"事件：{payload.get('kind_label', '')}",
        f"候选风险：{payload.get('title', '')}（编号 {payload.get('candidate_id', '')}）",
        f"分级：{payload.get('tier_label', '—')}；状态：{payload.get('status_label', '—')}",
        f"负责单位：{payload.get('organisation') or '—'}；承办人：{payload.get('assignee') or '—'}",
    ]
    if payload.get("due_at"):
        left = payload.get("hours_left")
        extra = f"（剩余约 {left} 小时）" if left is not None else ""
        lines.append(f"时限：{_china_time(payload['due_at'])}{extra}")
    if payload.get("objection_id"):
        kind = "生产者" if payload.get("objector_kind") == "producer" else "销售者"
        lines.append(f"异议人：{payload.get('objector', '')}（{kind}）")
        lines.append(f"异议内容：{payload.get('objection_text', '')}")
    lines.append(f"发生时间：{_china_time(payload.get('created_at'))}")
    if payload.get("candidate_id"):
        lines.append(f"查看：{public_url.rstrip('/')}/candidates/{payload['candidate_id']}")
    return lines


def email_message(event: AlertEvent, public_url: str) -> tuple[str, str]:
    """Subject and body of an event's e-mail."""
    subject = f"【风险提醒】{ALERT_EVENT_LABELS.get(event.kind, event.kind)}：{event.payload.get('title', '')}"
    body = "\n".join([*_lines(event.payload, public_url), "", "此邮件由 riskmine 按您的订阅自动发送。"])
    return subject, body


def digest_message(day: str, events: list[AlertEvent], public_url: str) -> tuple[str, str]:
    """Subject and body of a day's digest."""
    subject = f"【风险提醒】每日摘要 {day}（共 {len(events)} 条）"
    parts = [f"{day} 的风险提醒，共 {len(events)} 条：", ""]
    for n, event in enumerate(events, 1):
        parts.append(f"{n}. {ALERT_EVENT_LABELS.get(event.kind, event.kind)}")
        parts.extend("   " + line for line in _lines(event.payload, public_url)[1:])
        parts.append("")
    parts.append("此邮件由 riskmine 按您的订阅自动发送。")
    return subject, "\n".join(parts)


def webhook_body(event: AlertEvent) -> str:
    return json.dumps({"id": event.id, **event.payload}, ensure_ascii=False, sort_keys=True)


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """The signature header's value: ``sha256=`` and the HMAC-SHA256 of ``<timestamp>.<body>`` under ``secret``."""
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


# --- senders -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    ok: bool
    status_code: int | None = None
    error: str | None = None
    final: bool = False  # a failure that retrying will not mend


class Sender(Protocol):
    def __call__(self, delivery: Delivery, subscription: Subscription) -> Outcome: ...


def send_email(settings: Settings, delivery: Delivery) -> Outcome:
    """One try at sending the delivery's e-mail through the configured SMTP server."""
    if not settings.smtp_host:
        return Outcome(False, error="未配置邮件服务器（RISKMINE_SMTP_HOST）")
    msg = EmailMessage()
    msg["Subject"] = delivery.subject
    msg["From"] = settings.smtp_from
    msg["To"] = delivery.target
    msg["Date"] = formatdate(localtime=False)
    msg["Message-ID"] = make_msgid(domain="riskmine")
    msg.set_content(delivery.body)
    try:
        with smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=settings.alert_timeout_seconds) as smtp:
            if settings.smtp_starttls:
                smtp.starttls(context=ssl.create_default_context())
            if settings.smtp_user:
                smtp.login(settings.smtp_user, settings.smtp_password or "")
            smtp.send_message(msg)
    except smtplib.SMTPRecipientsRefused as exc:
        return Outcome(False, error=f"收件地址被拒绝：{exc}", final=True)
    except (OSError, smtplib.SMTPException) as exc:
        return Outcome(False, error=f"{type(exc).__name__}: {exc}")
    return Outcome(True)


def send_webhook(
    settings: Settings, delivery: Delivery, subscription: Subscription, transport: httpx.BaseTransport | None = None
) -> Outcome:
    """One signed POST of the delivery's body to the subscription's URL."""
    verdict = check_url(delivery.target, allow_private=settings.allow_private_urls)
    if not verdict.allowed:
        return Outcome(False, error=f"网址不可用：{verdict.reason}", final=True)
    body = delivery.body.encode()
    stamp = str(int(time.time()))
    headers = {
        "Content-Type": "application/json; charset=utf-8",
        "User-Agent": "riskmine-alerts",
        "X-Riskmine-Delivery": delivery.id,
        "X-Riskmine-Event": delivery.event_id,
        TIMESTAMP_HEADER: stamp,
        SIGNATURE_HEADER: sign(subscription.secret or "", stamp, body),
    }
    try:
        with httpx.Client(timeout=settings.alert_timeout_seconds, follow_redirects=False, transport=transport) as c:
            response = c.post(delivery.target, content=body, headers=headers)
    except httpx.HTTPError as exc:
        return Outcome(False, error=f"{type(exc).__name__}: {exc}")
    code = response.status_code
    if 200 <= code < 300:
        return Outcome(True, code)
    final = 300 <= code < 500 and code not in _RETRYABLE_STATUS
    return Outcome(False, code, f"HTTP {code}", final=final)


def default_senders(settings: Settings) -> dict[str, Sender]:
    email: Sender = lambda delivery, _sub: send_email(settings, delivery)  # noqa: E731
    webhook: Sender = lambda delivery, sub: send_webhook(settings, delivery, sub)  # noqa: E731
    return {alerts.EMAIL: email, alerts.DIGEST: email, alerts.WEBHOOK: webhook}


# --- one pass -----------------------------------------------------------------------------------------


@dataclass
class Context:
    """What a pass works with."""

    settings: Settings
    repo: AlertRepository
    store: Store
    review_db: ReviewRepository
    users: UserRepository
    senders: dict[str, Sender] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.senders = {**default_senders(self.settings), **self.senders}


def _delivery(sub: Subscription, event_id: str, subject: str, body: str, now: str) -> Delivery:
    return Delivery(
        id="d" + secrets.token_hex(8),
        event_id=event_id,
        subscription_id=sub.id,
        created_by=sub.created_by,
        channel=sub.channel,
        target=sub.target,
        subject=subject,
        body=body,
        status="pending",
        attempts=0,
        next_attempt_at=now,
        created_at=now,
    )


def fan_out(ctx: Context, now: datetime) -> int:
    """Turn new outbox events into deliveries, one per responsible e-mail or webhook subscription."""
    made = 0
    stamp = iso(now)
    for event in ctx.repo.unfanned(BATCH):
        for sub in ctx.repo.subscriptions(event=event.kind):
            if sub.channel == alerts.DIGEST:
                continue
            try:
                if not alerts.responsible(sub, event, ctx.store, ctx.review_db, ctx.users):
                    continue
            except Exception:
                log.exception("alerts: could not tell whether subscription %s takes event %s", sub.id, event.id)
                continue
            if sub.channel == alerts.WEBHOOK:
                subject, body = ALERT_EVENT_LABELS.get(event.kind, event.kind), webhook_body(event)
            else:
                subject, body = email_message(event, ctx.settings.public_url)
            made += ctx.repo.add_delivery(_delivery(sub, event.id, subject, body, stamp))
        ctx.repo.mark_fanned_out(event.id, stamp)
    return made


def backoff(settings: Settings, attempt: int) -> timedelta:
    """The wait after failed attempt number ``attempt`` (1, 2, …): the first retry wait, doubled each time."""
    return timedelta(seconds=settings.alert_retry_seconds * 2 ** (attempt - 1))


def _attempt(ctx: Context, delivery: Delivery, sub: Subscription | None) -> Outcome:
    if sub is None:
        return Outcome(False, error="订阅已删除", final=True)
    try:
        return ctx.senders[delivery.channel](delivery, sub)
    except Exception as exc:  # a sender's bug must not stop the others
        log.exception("alerts: sending delivery %s", delivery.id)
        return Outcome(False, error=f"{type(exc).__name__}: {exc}")


def deliver_due(ctx: Context, now: datetime) -> int:
    """Claim the deliveries due at ``now`` and try each once, up to SEND_THREADS at a time (a slow or hanging
    endpoint holds one thread until its timeout, not the others); how many went through. The repository is used
    from this thread only: the attempts are recorded once they are all back."""
    sent = 0
    lease = iso(now + timedelta(seconds=LEASE_SECONDS))
    claimed = [(d, ctx.repo.get_subscription(d.subscription_id)) for d in ctx.repo.claim_due(iso(now), lease, BATCH)]
    if not claimed:
        return 0
    with ThreadPoolExecutor(min(SEND_THREADS, len(claimed)), thread_name_prefix="alert-send") as pool:
        outcomes = list(pool.map(lambda job: _attempt(ctx, *job), claimed))
    for (delivery, _), outcome in zip(claimed, outcomes, strict=True):
        attempt = delivery.attempts + 1
        record = DeliveryAttempt(delivery.id, attempt, iso(now), outcome.ok, outcome.status_code, outcome.error)
        if outcome.ok:
            ctx.repo.record_attempt(record, status="sent", next_attempt_at=None)
            sent += 1
        elif outcome.final or attempt >= ctx.settings.alert_max_attempts:
            ctx.repo.record_attempt(record, status="failed", next_attempt_at=None)
            log.warning("alerts: delivery %s to %s failed for good: %s", delivery.id, delivery.target, outcome.error)
        else:
            retry = iso(now + backoff(ctx.settings, attempt))
            ctx.repo.record_attempt(record, status="pending", next_attempt_at=retry)
    return sent


def send_digests(ctx: Context, now: datetime) -> int:
    """After the digest hour, one e-mail per digest subscription listing the responsible events of the day before
    (China time); none when there were none. Made once per subscription and day."""
    local = deadlines.aware(now).astimezone(deadlines.CHINA_TZ)
    if local.hour < ctx.settings.alert_digest_hour:
        return 0
    day = local.date() - timedelta(days=1)
    start = deadlines.start_of_china_day(day)
    events = ctx.repo.events_between(iso(start), iso(start + timedelta(days=1)))
    made = 0
    for sub in ctx.repo.subscriptions():
        if sub.channel != alerts.DIGEST:
            continue
        mine = [e for e in events if alerts.responsible(sub, e, ctx.store, ctx.review_db, ctx.users)]
        if not mine:
            continue
        subject, body = digest_message(day.isoformat(), mine, ctx.settings.public_url)
        made += ctx.repo.add_delivery(_delivery(sub, f"digest:{day.isoformat()}", subject, body, iso(now)))
    return made


@dataclass(frozen=True)
class PassReport:
    events: int
    deliveries: int
    sent: int


def run_once(ctx: Context, *, now: datetime | None = None) -> PassReport:
    """One pass: scan, fan out, send digests due, deliver what is due."""
    when = now or now_utc()
    events = alerts.scan(ctx.store, ctx.repo, now=when, deadline_hours=ctx.settings.alert_deadline_hours)
    made = fan_out(ctx, when) + send_digests(ctx, when)
    return PassReport(events, made, deliver_due(ctx, when))


class AlertWorker:
    """A daemon thread that runs :func:`run_once` every ``RISKMINE_ALERT_POLL_SECONDS`` until stopped."""

    def __init__(self, make_context: Callable[[], Context | None], poll_seconds: float) -> None:
        self.make_context = make_context
        self.poll_seconds = poll_seconds
        self.stop_event = threading.Event()
        self.thread = threading.Thread(target=self._loop, name="riskmine-alerts", daemon=True)

    def start(self) -> None:
        self.thread.start()

    def _loop(self) -> None:
        while not self.stop_event.wait(self.poll_seconds):
            try:
                ctx = self.make_context()
                if ctx is not None:
                    run_once(ctx)
            except Exception:  # the next pass tries again; alerts never take the server down
                log.exception("alerts: a pass failed")

    def stop(self, timeout: float = 30.0) -> None:
        self.stop_event.set()
        if self.thread.is_alive():
            self.thread.join(timeout)


def context_for(settings: Settings, store: Store, review_db: ReviewRepository, users: UserRepository) -> Context:
    """The context of the configured alert repository and senders, over these review and user repositories."""
    return Context(settings, open_alert_repository(settings), store, review_db, users)


def open_context(settings: Settings, store: Store) -> Context:
    """The context of every repository the settings name (a scheduler job: ``run_once(open_context(s, store))``)."""
    return context_for(settings, store, open_review_repository(settings), open_user_repository(settings))
