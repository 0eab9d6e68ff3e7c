"""GET /api/v1/signals (filters, full text, paging) and /api/v1/signals/{id}."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

HOSTILE_QUERIES = [
    '"',
    "充电宝\"'",
    "*",
    "AND OR NOT",
    "NEAR(充电宝",
    "起火 -- ; DROP TABLE signals;",
    "<script>alert(1)</script>",
    "text:起火",
    "^起火",
    "(((",
    "\\",
    "%_%",
    "\u0000起火",
    "🔥充电宝🔥",
]


@pytest.fixture(autouse=True)
def _reads_as_analyst(reader: TestClient) -> None:
    """Every test here reads as a logged-in analyst: signals need a login in every mode."""


def ids(r: Any) -> set[str]:
    return {item["id"] for item in r.json()["items"]}


def test_list_shape_and_default_order(client: TestClient, seeded: dict[str, Any]) -> None:
    r = client.get("/api/v1/signals")
    assert r.status_code == 200
    body = r.json()
    assert body["total"] == 7
    assert body["limit"] == 50
    assert body["offset"] == 0
    times = [item["published_at"] for item in body["items"]]
    assert times == sorted(times, reverse=True)
    first = body["items"][0]
    assert first["document_url"] == f"/api/v1/documents/{first['document_id']}"
    assert "segmented_text" not in first


def test_filters(client: TestClient, seeded: dict[str, Any]) -> None:
    docs = seeded["documents"]
    assert client.get("/api/v1/signals", params={"is_risk": "true"}).json()["total"] == 5
    assert ids(client.get("/api/v1/signals", params={"is_risk": "false"})) == {docs["ok1"].id, docs["ok2"].id}
    assert ids(client.get("/api/v1/signals", params={"hazard": "electric_shock"})) == {docs["i1"].id, docs["i2"].id}
    r = client.get("/api/v1/signals", params=[("source_type", "news"), ("source_type", "injury_report")])
    assert ids(r) == {docs["n1"].id, docs["i1"].id}
    assert ids(client.get("/api/v1/signals", params={"product_category": "电热水壶", "risk_level": "high"})) == {
        docs["i1"].id
    }
    assert ids(client.get("/api/v1/signals", params={"region": "广东"})) == {docs["i1"].id}


def test_published_range(client: TestClient, seeded: dict[str, Any]) -> None:
    docs = seeded["documents"]
    r = client.get("/api/v1/signals", params={"since": "2024-05-08", "until": "2024-05-09"})
    assert ids(r) == {docs["n1"].id, docs["c1"].id}
    r = client.get("/api/v1/signals", params={"until": "2024-05-01"})
    assert ids(r) == {docs["r1"].id}
    r = client.get("/api/v1/signals", params={"since": "2024-05-11T09:00:00+08:00"})
    assert ids(r) == {docs["i2"].id}


def test_bad_dates_are_422(client: TestClient) -> None:
    r = client.get("/api/v1/signals", params={"since": "last tuesday"})
    assert r.status_code == 422
    assert r.json()["error"]["details"][0]["field"] == "since"
    r = client.get("/api/v1/signals", params={"since": "2024-06-01", "until": "2024-05-01"})
    assert r.status_code == 422


def test_bad_enum_is_422(client: TestClient) -> None:
    r = client.get("/api/v1/signals", params={"hazard": "lasers"})
    assert r.status_code == 422
    assert r.json()["error"]["details"][0]["field"] == "hazard"


def test_full_text_search(client: TestClient, seeded: dict[str, Any]) -> None:
    docs = seeded["documents"]
    r = client.get("/api/v1/signals", params={"q": "电热水壶"})
    assert ids(r) == {docs["i1"].id, docs["i2"].id}
    r = client.get("/api/v1/signals", params={"q": "充电宝", "sort": "time", "order": "asc"})
    times = [item["published_at"] for item in r.json()["items"]]
    assert times == sorted(times)
    assert ids(r) == {docs["r1"].id, docs["n1"].id, docs["c1"].id}


def test_paging(client: TestClient, seeded: dict[str, Any]) -> None:
    pages = [client.get("/api/v1/signals", params={"limit": 3, "offset": off}).json() for off in (0, 3, 6)]
    assert [len(p["items"]) for p in pages] == [3, 3, 1]
    assert len({i["id"] for p in pages for i in p["items"]}) == 7
    assert client.get("/api/v1/signals", params={"limit": 0}).status_code == 422
    assert client.get("/api/v1/signals", params={"limit": 200}).status_code == 200
    assert client.get("/api/v1/signals", params={"offset": -1}).status_code == 422


@pytest.mark.parametrize("q", HOSTILE_QUERIES)
def test_hostile_queries_never_break(client: TestClient, seeded: dict[str, Any], q: str) -> None:
    r = client.get("/api/v1/signals", params={"q": q})
    assert r.status_code == 200, r.text
    assert r.json()["total"] >= 0


def test_overlong_query_is_422(client: TestClient) -> None:
    r = client.get("/api/v1/signals", params={"q": "起" * 201})
    assert r.status_code == 422


def test_signal_detail_and_404(client: TestClient, seeded: dict[str, Any]) -> None:
    doc = seeded["documents"]["i1"]
    r = client.get(f"/api/v1/signals/{doc.id}")
    assert r.status_code == 200
    body = r.json()
    assert body["hazard_codes"] == ["electric_shock"]
    assert body["document"]["text"] == doc.text
    assert body["document_url"] == f"/api/v1/documents/{doc.id}"
    assert client.get(body["document_url"]).status_code == 200
    assert client.get("/api/v1/signals/nope").status_code == 404
