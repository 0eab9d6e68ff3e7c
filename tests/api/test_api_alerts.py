"""The alerts router: one's own subscriptions (an admin sees all), Chinese labels, the delivery log; an objection
recorded over HTTP reaches the outbox and is delivered by the sender, off the request."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient

from riskmine.review.alert_delivery import context_for, run_once
from riskmine.review.repository import open_review_repository
from riskmine.review.users import UserStore
from riskmine.settings import Settings
from riskmine.store.sqlite import SQLiteStore

A = "/api/v1/alerts"


def _refused_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{s.getsockname()[1]}/hook"  # closed again: nothing listens there


def test_own_subscriptions_are_listed_and_deleted(client: TestClient, login: Callable[..., dict[str, str]]) -> None:
    analyst, viewer, admin = login("analyst"), login("viewer"), login("admin")
    body = {"events": ["immediate_tier", "deadline_near"], "channel": "email", "target": "li@example.cn"}
    r = client.post(f"{A}/subscriptions", json=body, headers=analyst)
    assert r.status_code == 201, r.text
    created = r.json()
    assert created["event_labels"] == ["候选风险进入立即处置", "研判时限将至"]
    assert created["channel_label"] == "电子邮件" and created["owner_label"] == "本人" and "secret" not in created
    mine = client.get(f"{A}/subscriptions", headers=analyst).json()
    assert [s["id"] for s in mine["items"]] == [created["id"]]
    assert client.get(f"{A}/subscriptions", headers=viewer).json()["items"] == []
    assert client.get(f"{A}/subscriptions?all=true", headers=viewer).status_code == 403
    assert [s["id"] for s in client.get(f"{A}/subscriptions?all=true", headers=admin).json()["items"]] == [
        created["id"]
    ]
    r = client.delete(f"{A}/subscriptions/{created['id']}", headers=viewer)
    assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"
    assert client.delete(f"{A}/subscriptions/{created['id']}", headers=analyst).status_code == 204
    assert client.get(f"{A}/subscriptions", headers=analyst).json()["total"] == 0


def test_bad_subscriptions_are_refused_in_chinese(client: TestClient, login: Callable[..., dict[str, str]]) -> None:
    analyst = login("analyst")
    r = client.post(
        f"{A}/subscriptions", json={"events": ["x"], "channel": "email", "target": "a@b.cn"}, headers=analyst
    )
    assert r.status_code == 422
    r = client.post(
        f"{A}/subscriptions", json={"events": ["objection"], "channel": "email", "target": "nobody"}, headers=analyst
    )
    assert r.status_code == 422 and "不是电子邮件地址" in r.json()["error"]["message"]
    r = client.post(
        f"{A}/subscriptions",
        json={"events": ["objection"], "channel": "webhook", "target": "http://127.0.0.1:9/hook"},
        headers=analyst,
    )
    assert r.status_code == 422 and "网址不可用" in r.json()["error"]["message"]
    r = client.post(
        f"{A}/subscriptions",
        json={"events": ["objection"], "channel": "email", "target": "a@b.cn", "owner_kind": "org"},
        headers=analyst,
    )
    assert r.status_code == 422 and "单位" in r.json()["error"]["message"]
    kinds = client.get(f"{A}/kinds", headers=analyst).json()
    assert {"code": "objection", "label": "收到异议"} in kinds["events"]
    assert client.get(f"{A}/kinds", headers=login("api_consumer")).status_code == 403


def test_an_objection_is_delivered_off_the_request_and_logged(
    make_client: Callable[..., TestClient],
    login: Callable[..., dict[str, str]],
    seeded: dict[str, Any],
    store: SQLiteStore,
    users: UserStore,
    settings: Settings,
) -> None:
    client = make_client(allow_private_urls=True)
    analyst, admin, viewer = login("analyst", via=client), login("admin", via=client), login("viewer", via=client)
    hook = {"events": ["objection"], "channel": "webhook", "target": _refused_url()}
    r = client.post(f"{A}/subscriptions", json=hook, headers=analyst)
    assert r.status_code == 201 and len(r.json()["secret"]) >= 32  # shown once
    assert "secret" not in client.get(f"{A}/subscriptions", headers=analyst).json()["items"][0]
    cand = next(c for c in seeded["candidates"] if c.key == "充电宝|fire")
    decision = {"status": "rejected", "rationale": "样品与投诉产品不符"}
    assert client.post(f"/api/v1/review/candidates/{cand.id}/decisions", json=decision, headers=analyst).is_success
    started = time.perf_counter()
    r = client.post(
        f"/api/v1/review/candidates/{cand.id}/objections",
        json={"objector": "某电子公司", "objector_kind": "producer", "text": "样品非我司生产"},
        headers=analyst,
    )
    assert r.status_code == 201 and time.perf_counter() - started < 5  # the dead endpoint is not waited for
    run = settings.model_copy(update={"allow_private_urls": True})
    ctx = context_for(run, store, open_review_repository(run), users.repository)
    assert run_once(ctx).deliveries == 1
    assert run_once(ctx).deliveries == 0  # one event, one delivery
    log = client.get(f"{A}/deliveries", headers=analyst).json()
    [item] = log["items"]
    assert item["status"] == "pending" and item["status_label"] == "待发送" and item["channel_label"] == "Webhook 回调"
    assert item["log"][0]["ok"] is False and "ConnectError" in item["log"][0]["error"]
    assert client.get(f"{A}/deliveries", headers=viewer).json()["total"] == 0
    assert client.get(f"{A}/deliveries", headers=admin).json()["total"] == 1


def test_the_console_page_adds_lists_and_deletes_subscriptions(client: TestClient, users: UserStore) -> None:
    from tests.api.test_api_console import console_login

    assert client.get("/alerts", follow_redirects=False).headers["location"].startswith("/login")
    console_login(client, users, "analyst")
    page = client.get("/alerts")
    assert page.status_code == 200 and "风险提醒" in page.text and "尚无订阅" in page.text
    form = {"events": ["objection", "deadline_near"], "channel": "email", "target": "li@example.cn"}
    r = client.post("/alerts/subscriptions", data=form, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/alerts?done=subscribed"
    page = client.get("/alerts?done=subscribed")
    assert "订阅已保存" in page.text and "li@example.cn" in page.text and "收到异议、研判时限将至" in page.text
    refused = client.post("/alerts/subscriptions", data=form | {"target": "nobody"})
    assert refused.status_code == 422 and "未能保存" in refused.text and "不是电子邮件地址" in refused.text
    hook = form | {"channel": "webhook", "target": "https://8.8.8.8/hook"}
    shown = client.post("/alerts/subscriptions", data=hook)
    assert shown.status_code == 200 and "仅显示这一次" in shown.text
    evil = client.post("/alerts/subscriptions", data=form, headers={"Origin": "http://evil.example"})
    assert evil.status_code == 403
    [sub] = [s for s in client.get(f"{A}/subscriptions").json()["items"] if s["channel"] == "email"]
    r = client.post(f"/alerts/subscriptions/{sub['id']}/delete", follow_redirects=False)
    assert r.status_code == 303
    assert "li@example.cn" not in client.get("/alerts?done=deleted").text
