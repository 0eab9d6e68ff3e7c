"""Alerts delivered to real servers on 127.0.0.1: an SMTP server (aiosmtpd) receives the e-mail and the digest, an
HTTP server the signed webhook; a failing endpoint is retried with back-off, logged, and blocks nothing."""

from __future__ import annotations

import email
import email.policy
import hashlib
import hmac
import socket
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from riskmine.review import alert_delivery, alerts, workflow
from riskmine.review.alert_delivery import Context, run_once
from riskmine.review.alert_repository import alert_repository_at
from riskmine.review.records import User, now_utc
from riskmine.review.roles import Role
from riskmine.review.sqlite_repository import SQLiteReviewRepository, SQLiteUserRepository
from riskmine.schema import CandidateRisk, Tier
from riskmine.settings import Settings
from riskmine.store.base import Collection
from riskmine.store.sqlite import SQLiteStore

from .conftest import ANALYST

controller_module = pytest.importorskip("aiosmtpd.controller", reason="pip install -e '.[dev]' (aiosmtpd)")

ADMIN_USER = User("u-admin", "root", Role.admin)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Inbox:
    """The SMTP server's handler: keeps every message it is sent."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        parsed = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        self.messages.append(parsed)
        return "250 Message accepted for delivery"


@pytest.fixture(scope="module")
def smtp() -> Iterator[tuple[Inbox, int]]:
    inbox = Inbox()
    port = free_port()
    controller = controller_module.Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    yield inbox, port
    controller.stop()


class Hook(BaseHTTPRequestHandler):
    """Answers each POST with the next scripted status (200 once the script is used up) and keeps the request."""

    script: list[int]
    received: list[tuple[dict[str, str], bytes]]

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        self.received.append(({k.lower(): v for k, v in self.headers.items()}, body))
        self.send_response(self.script.pop(0) if self.script else 200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *_args: Any) -> None:
        return None


@pytest.fixture
def hook() -> Iterator[tuple[type[Hook], str]]:
    handler = type("ScriptedHook", (Hook,), {"script": [], "received": []})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield handler, f"http://127.0.0.1:{server.server_address[1]}/hook"
    server.shutdown()
    server.server_close()
    thread.join(5)


@pytest.fixture
def settings(tmp_path: Path, smtp: tuple[Inbox, int]) -> Settings:
    return Settings(
        var_dir=tmp_path,  # the review db's var dir (conftest): the objection's outbox is there
        smtp_host="127.0.0.1",
        smtp_port=smtp[1],
        smtp_starttls=False,
        smtp_from="riskmine@example.cn",
        allow_private_urls=True,
        alert_retry_seconds=30,
        alert_max_attempts=3,
        alert_timeout_seconds=5,
    )


@pytest.fixture
def ctx(settings: Settings, store: SQLiteStore, db: SQLiteReviewRepository, tmp_path: Path) -> Context:
    users = SQLiteUserRepository(tmp_path / "users.sqlite3")
    users.add_user(ADMIN_USER, "hash", "2026-05-01T00:00:00+00:00")
    return Context(settings, alert_repository_at(db.var_dir), store, db, users)


def immediate(store: SQLiteStore) -> CandidateRisk:
    return next(c for c in store.iterate(Collection.candidates) if c.tier is Tier.immediate)


def object_to(store: SQLiteStore, db: SQLiteReviewRepository, cand: CandidateRisk) -> str:
    workflow.decide(store, db, cand.id, ANALYST, status="rejected", rationale="样品与投诉产品不符")
    obj = workflow.record_objection(
        store, db, cand.id, ANALYST, objector="某某电器有限公司", objector_kind="producer", text="样品非本公司生产"
    )
    return obj.id


def subscribe(ctx: Context, channel: str, target: str, events: tuple[str, ...] = ("objection",)) -> Any:
    return alerts.create_subscription(
        ctx.repo, ctx.review_db, ADMIN_USER, events=list(events), channel=channel, target=target, allow_private=True
    )


def test_an_objection_is_mailed_in_chinese_to_a_real_smtp_server(
    ctx: Context, smtp: tuple[Inbox, int], store: SQLiteStore, db: SQLiteReviewRepository
) -> None:
    inbox = smtp[0]
    inbox.messages.clear()
    subscribe(ctx, "email", "chief@example.cn")
    cand = immediate(store)
    object_to(store, db, cand)
    report = run_once(ctx)
    assert (report.deliveries, report.sent) == (1, 1)
    [msg] = inbox.messages
    assert msg["To"] == "chief@example.cn" and msg["From"] == "riskmine@example.cn"
    assert msg["Subject"] == f"【风险提醒】收到异议：{cand.title}"
    body = msg.get_content()
    assert "某某电器有限公司（生产者）" in body and "异议内容：样品非本公司生产" in body
    assert f"/candidates/{cand.id}" in body
    run_once(ctx)
    assert len(inbox.messages) == 1  # one event, delivered once
    [delivery], _ = ctx.repo.deliveries(limit=10, offset=0)
    assert delivery.status == "sent" and [a.ok for a in delivery.log] == [True]


def test_a_webhook_is_signed_retried_with_back_off_and_logged(
    ctx: Context, hook: tuple[type[Hook], str], store: SQLiteStore, db: SQLiteReviewRepository
) -> None:
    handler, url = hook
    handler.script[:] = [500]
    sub = subscribe(ctx, "webhook", url)
    object_to(store, db, immediate(store))
    t0 = now_utc()
    assert run_once(ctx, now=t0).sent == 0
    assert run_once(ctx, now=t0 + timedelta(seconds=29)).sent == 0  # backing off
    assert len(handler.received) == 1
    assert run_once(ctx, now=t0 + timedelta(seconds=30)).sent == 1
    assert len(handler.received) == 2
    for headers, body in handler.received:
        stamp = headers["x-riskmine-timestamp"]
        expected = hmac.new(sub.secret.encode(), stamp.encode() + b"." + body, hashlib.sha256).hexdigest()
        assert hmac.compare_digest(headers["x-riskmine-signature"], f"sha256={expected}")
        assert abs(int(stamp) - time.time()) < 60
        assert headers["content-type"].startswith("application/json")
    assert b'"kind": "objection"' in handler.received[0][1]
    assert "异议".encode() in handler.received[0][1]  # the JSON keeps Chinese as it is
    [delivery], _ = ctx.repo.deliveries(limit=10, offset=0)
    assert delivery.status == "sent" and delivery.attempts == 2
    assert [(a.ok, a.status_code, a.error) for a in delivery.log] == [(False, 500, "HTTP 500"), (True, 200, None)]
    assert delivery.log[1].at > delivery.log[0].at


def test_a_refused_connection_is_logged_failed_and_never_blocks_the_objection(
    ctx: Context, store: SQLiteStore, db: SQLiteReviewRepository
) -> None:
    subscribe(ctx, "webhook", f"http://127.0.0.1:{free_port()}/hook")  # nothing listens there
    started = time.perf_counter()
    object_to(store, db, immediate(store))
    assert time.perf_counter() - started < 5  # the objection never waits for the endpoint
    t0 = now_utc()
    for n in range(3):  # back-off: 30 s, then 60 s
        run_once(ctx, now=t0 + timedelta(seconds=30 * (2**n - 1)))
    [delivery], _ = ctx.repo.deliveries(limit=10, offset=0)
    assert delivery.status == "failed" and delivery.attempts == 3
    assert all(not a.ok and a.status_code is None and "ConnectError" in (a.error or "") for a in delivery.log)
    assert run_once(ctx, now=t0 + timedelta(days=1)).sent == 0  # given up: never tried again
    assert len(ctx.repo.get_delivery(delivery.id).log) == 3  # type: ignore[union-attr]


def test_a_hanging_endpoint_does_not_hold_up_the_others(
    ctx: Context, store: SQLiteStore, db: SQLiteReviewRepository
) -> None:
    reached = {"/a": threading.Event(), "/b": threading.Event()}

    class EachWaitsForTheOther(BaseHTTPRequestHandler):
        """Each endpoint answers only once the other one has been reached: sent one after the other, the first
        would time out (504) whichever it is."""

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length", "0")))
            reached[self.path].set()
            other = reached["/b" if self.path == "/a" else "/a"]
            self.send_response(200 if other.wait(4) else 504)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *_args: Any) -> None:
            return None

    server = ThreadingHTTPServer(("127.0.0.1", 0), EachWaitsForTheOther)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        for path in reached:
            subscribe(ctx, "webhook", f"http://127.0.0.1:{server.server_address[1]}{path}")
        object_to(store, db, immediate(store))
        assert run_once(ctx).sent == 2
    finally:
        server.shutdown()
        server.server_close()
    deliveries, _ = ctx.repo.deliveries(limit=10, offset=0)
    assert [d.status for d in deliveries] == ["sent", "sent"]


def test_a_client_error_is_not_retried(ctx: Context, hook: tuple[type[Hook], str], store: SQLiteStore, db: Any) -> None:
    handler, url = hook
    handler.script[:] = [410]
    subscribe(ctx, "webhook", url)
    object_to(store, db, immediate(store))
    run_once(ctx)
    [delivery], _ = ctx.repo.deliveries(status="failed", limit=10, offset=0)
    assert delivery.attempts == 1 and delivery.last_error == "HTTP 410"


def test_the_daily_digest_lists_the_days_events_in_one_mail(
    ctx: Context, smtp: tuple[Inbox, int], store: SQLiteStore, db: SQLiteReviewRepository
) -> None:
    inbox = smtp[0]
    inbox.messages.clear()
    subscribe(ctx, "digest", "daily@example.cn", ("immediate_tier", "objection"))
    alerts.candidates_refreshed(store, db.var_dir)  # while it waits for its decision
    object_to(store, db, immediate(store))
    today = now_utc()
    run_once(ctx, now=today)
    assert inbox.messages == []  # a digest subscription is told once a day, not at once
    next_morning = today + timedelta(days=1)
    local = next_morning.astimezone(alert_delivery.deadlines.CHINA_TZ)
    at_nine = next_morning + timedelta(hours=9 - local.hour, minutes=-local.minute)
    run_once(ctx, now=at_nine)
    run_once(ctx, now=at_nine + timedelta(hours=1))
    [msg] = inbox.messages
    day = (at_nine.astimezone(alert_delivery.deadlines.CHINA_TZ).date() - timedelta(days=1)).isoformat()
    assert msg["Subject"] == f"【风险提醒】每日摘要 {day}（共 2 条）"
    body = msg.get_content()
    assert "1. 收到异议" in body or "1. 候选风险进入立即处置" in body
    assert "收到异议" in body and "候选风险进入立即处置" in body


def test_a_scheduler_job_opens_what_the_settings_name(settings: Settings, store: SQLiteStore) -> None:
    ctx = alert_delivery.open_context(settings, store)
    report = run_once(ctx)  # nothing subscribed: events reach the outbox, nothing is sent
    assert report.events >= 1 and (report.deliveries, report.sent) == (0, 0)
    assert (settings.var_dir / "alerts.sqlite3").exists()
