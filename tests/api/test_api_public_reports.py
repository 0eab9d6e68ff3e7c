"""Public reports: no login, validated, stored as public_report with the contact masked, link checked
(never fetched), and rate-limited per client with 429 + Retry-After."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError

from riskmine.api.routers.public_reports import SlidingWindowLimiter
from riskmine.schema import SourceType
from riskmine.settings import Settings
from riskmine.store.base import Collection
from riskmine.store.sqlite import SQLiteStore

URL = "/api/v1/public-reports"
REPORT = {
    "product": "某品牌充电宝",
    "description": "充电时突然起火，烧坏了床单。联系我 13812345678 或 wang@example.com",
    "contact": "13812345678",
    "link": "https://93.184.216.34/item/1",
}


def test_report_is_stored_masked_and_processed(client: TestClient, store: SQLiteStore) -> None:
    r = client.post(URL, json=REPORT)
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["duplicate"] is False and body["link_check"] == {
        "allowed": True,
        "reason": None,
        "addresses": ["93.184.216.34"],
    }
    doc = store.get(Collection.documents, body["id"])
    assert doc is not None
    assert doc.source == "public" and doc.source_type is SourceType.public_report
    assert doc.product == "某品牌充电宝" and doc.url == REPORT["link"]
    assert "13812345678" not in doc.text and "wang@example.com" not in doc.text
    assert doc.text.startswith("充电时突然起火，烧坏了床单。联系我 [联系方式] 或 [邮箱]")
    assert doc.meta["contact"] == "13812345678" and doc.meta["link"] == REPORT["link"]
    signal = store.get(Collection.signals, body["id"])
    assert signal is not None and signal.is_risk  # processed like any document ("起火")

    assert body["message"] == "感谢您的举报：信息已收到，将由风险分析人员研判。"
    again = client.post(URL, json=REPORT)
    assert again.status_code == 200 and again.json()["duplicate"] is True and again.json()["id"] == body["id"]
    assert again.json()["message"] == "该信息此前已收到，未重复登记；感谢您的举报。"
    assert store.count(Collection.documents) == 1


@pytest.mark.parametrize(
    ("link", "reason"),
    [
        ("http://127.0.0.1:8080/admin", "loopback address 127.0.0.1"),
        ("http://[::ffff:192.168.1.1]/", "private address 192.168.1.1 (embedded in the IPv6 address"),
        ("http://169.254.169.254/latest/meta-data", "link-local address 169.254.169.254"),
    ],
)
def test_private_links_are_recorded_as_refused_not_linked(
    client: TestClient, store: SQLiteStore, link: str, reason: str
) -> None:
    r = client.post(URL, json={"product": "电热水壶", "description": "底座漏电，手碰到发麻", "link": link})
    assert r.status_code == 201, r.text
    check = r.json()["link_check"]
    assert check["allowed"] is False and check["reason"].startswith(reason)
    doc = store.get(Collection.documents, r.json()["id"])
    assert doc is not None and doc.url is None and doc.meta["link"] == link
    assert doc.meta["link_check"]["allowed"] is False


def test_allow_private_urls_setting_lets_loopback_links_pass(make_client: Callable[..., TestClient]) -> None:
    client = make_client(allow_private_urls=True)
    r = client.post(
        URL, json={"product": "电热水壶", "description": "底座漏电，手碰到发麻", "link": "http://127.0.0.1/x"}
    )
    assert r.status_code == 201 and r.json()["link_check"]["allowed"] is True


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"description": "充电时突然起火"}, "product"),
        ({"product": "充电宝"}, "description"),
        ({"product": "   ", "description": "充电时突然起火"}, "product"),
        ({"product": "充电宝", "description": "火"}, "description"),
        ({"product": "充电宝", "description": "x" * 5001}, "description"),
        ({"product": "充电宝", "description": "充电时\x00突然起火"}, "description"),
        ({"product": "充电宝", "description": "充电时突然起火", "contact": "1" * 201}, "contact"),
        ({"product": "充电宝", "description": "充电时突然起火", "phone": "138"}, "phone"),
        ({"product": ["充电宝"], "description": "充电时突然起火"}, "product"),
    ],
)
def test_invalid_reports_name_the_field(client: TestClient, payload: dict[str, object], field: str) -> None:
    r = client.post(URL, json=payload)
    assert r.status_code == 422, r.text
    error = r.json()["error"]
    assert error["code"] == "invalid_request"
    assert field in {d["field"] for d in error["details"]}


def test_rate_limit_answers_429_with_retry_after(make_client: Callable[..., TestClient], store: SQLiteStore) -> None:
    client = make_client(public_report_limit=2, public_report_window_seconds=600)
    for i in range(2):
        r = client.post(URL, json={"product": "电动车", "description": f"电池鼓包第{i}次，差点起火"})
        assert r.status_code == 201, r.text
    r = client.post(URL, json={"product": "电动车", "description": "电池又鼓包了"})
    assert r.status_code == 429
    assert r.json()["error"]["code"] == "too_many_requests"
    assert 590 <= int(r.headers["Retry-After"]) <= 600
    assert store.count(Collection.documents) == 2


def test_sliding_window_limiter_counts_per_key_and_forgets_old_events() -> None:
    now = [1000.0]
    limiter = SlidingWindowLimiter(2, 60, clock=lambda: now[0], max_keys=3)
    assert limiter.hit("a") == 0 and limiter.hit("a") == 0
    assert limiter.hit("a") == pytest.approx(60)
    assert limiter.hit("b") == 0  # another client has its own budget
    now[0] += 30
    assert limiter.hit("a") == pytest.approx(30)
    now[0] += 30.5  # the first two events left the window
    assert limiter.hit("a") == 0 and limiter.hit("a") == 0
    assert limiter.hit("a") > 0
    for key in ("c", "d", "e"):
        limiter.hit(key)
    assert len(limiter._events) <= 3  # bounded memory
    with pytest.raises(ValueError, match="limit >= 1"):
        SlidingWindowLimiter(0, 60)


def test_a_reporters_contact_is_shown_to_admins_only(client: TestClient, login: Callable[..., dict[str, str]]) -> None:
    report_id = client.post(URL, json=REPORT).json()["id"]
    for path in (f"/api/v1/documents/{report_id}", f"/api/v1/signals/{report_id}"):
        as_analyst = client.get(path, headers=login("analyst")).json()
        as_admin = client.get(path, headers=login("admin")).json()
        meta_analyst = as_analyst.get("meta", as_analyst.get("document", {}).get("meta"))
        meta_admin = as_admin.get("meta", as_admin.get("document", {}).get("meta"))
        assert "contact" not in meta_analyst and meta_analyst["link"] == REPORT["link"], path
        assert meta_admin["contact"] == "13812345678", path


def _served(app: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    """The app as `riskmine serve` hands it to uvicorn: wrapped by uvicorn's own middleware for that config."""
    import uvicorn

    from riskmine import cli
    from riskmine.api import app as app_module

    seen: dict[str, Any] = {}
    monkeypatch.setattr(app_module, "create_app", lambda settings: app)
    monkeypatch.setattr(uvicorn, "run", lambda application, **kwargs: seen.update(kwargs, app=application))
    cli._serve(Settings(), "127.0.0.1", 8000)
    config = uvicorn.Config(seen.pop("app"), **seen)
    config.load()
    return config.loaded_app


def _reports_from(client: TestClient, forwarded: list[str]) -> list[int]:
    """The status of one distinct report per X-Forwarded-For value."""
    return [
        client.post(
            URL,
            json={"product": "电动车", "description": f"电池鼓包第{i}次（{value}），差点起火"},
            headers={"X-Forwarded-For": value},
        ).status_code
        for i, value in enumerate(forwarded)
    ]


def test_forwarded_for_from_loopback_does_not_bypass_the_limit(
    make_client: Callable[..., TestClient], monkeypatch: pytest.MonkeyPatch
) -> None:
    app = make_client(public_report_limit=2, public_report_window_seconds=600).app
    loopback = TestClient(_served(app, monkeypatch), client=("127.0.0.1", 50000))
    codes = _reports_from(loopback, [f"203.0.113.{i}" for i in range(30)])
    assert codes.count(201) == 2
    assert codes.count(429) == 28


def test_forwarded_for_from_a_trusted_proxy_names_the_client(make_client: Callable[..., TestClient]) -> None:
    app = make_client(public_report_limit=2, public_report_window_seconds=600, trusted_proxies="10.0.0.0/8").app
    proxy = TestClient(app, client=("10.1.2.3", 50000))
    assert _reports_from(proxy, [f"203.0.113.{i}" for i in range(5)]) == [201] * 5  # five clients, one each
    assert _reports_from(proxy, ["198.51.100.7"] * 3) == [201, 201, 429]  # one client, counted by its own address
    spoofed = TestClient(app, client=("192.0.2.50", 50000))  # not a configured proxy: its header is ignored
    assert _reports_from(spoofed, ["198.51.100.8", "198.51.100.9", "198.51.100.10"]) == [201, 201, 429]


def test_trusted_proxies_must_be_addresses() -> None:
    assert Settings(trusted_proxies=" 10.0.0.5, 192.168.0.0/16 ").trusted_proxy_list == ["10.0.0.5", "192.168.0.0/16"]
    assert Settings().trusted_proxy_list == []
    with pytest.raises(ValidationError, match=r"'proxy\.local' is not an IP address"):
        Settings(trusted_proxies="10.0.0.5,proxy.local")
