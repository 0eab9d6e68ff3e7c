"""POST /api/v1/analyze: results in input order, 207 / 422 / 413, nothing stored."""

from __future__ import annotations

import json
from typing import Any

from fastapi.testclient import TestClient

from riskmine.api.routers.analyze import MAX_ANALYZE_ITEMS
from riskmine.store.base import Collection
from riskmine.store.sqlite import SQLiteStore

ITEMS = [
    {"id": "a", "text": "充电宝充电时起火，烧到了手，受伤了。"},
    {"id": "b", "text": "物流很快，包装完好。"},
    {"id": "c", "text": "电热水壶漏电", "source_type": "complaint", "rating": "1星"},
]


def test_results_in_input_order(client: TestClient, store: SQLiteStore) -> None:
    r = client.post("/api/v1/analyze", json=ITEMS)
    assert r.status_code == 200, r.text
    results = r.json()
    assert [x["id"] for x in results] == ["a", "b", "c"]
    assert [x["is_risk"] for x in results] == [True, False, True]
    assert results[0]["hazards"] == ["fire"]
    assert results[0]["harm_occurred"] is True
    assert results[0]["product_category"] == "充电宝"
    assert results[2]["hazards"] == ["electric_shock"]
    assert set(results[0]) == {
        "id",
        "is_risk",
        "risk_score",
        "hazards",
        "harm_occurred",
        "product_category",
        "risk_level",
        "evidence",
    }
    assert store.count(Collection.documents) == 0
    assert store.count(Collection.signals) == 0


def test_ndjson_input(client: TestClient) -> None:
    body = "\n".join(json.dumps(x, ensure_ascii=False) for x in ITEMS) + "\n"
    r = client.post("/api/v1/analyze", content=body.encode(), headers={"Content-Type": "application/x-ndjson"})
    assert r.status_code == 200
    assert [x["id"] for x in r.json()] == ["a", "b", "c"]


def test_some_invalid_gives_207_with_nulls_in_place(client: TestClient) -> None:
    items = [ITEMS[0], {"id": "x"}, "just a string", ITEMS[1], {"id": "y", "text": "起火", "colour": "red"}]
    r = client.post("/api/v1/analyze", json=items)
    assert r.status_code == 207, r.text
    body = r.json()
    assert [x["id"] if x else None for x in body["results"]] == ["a", None, None, "b", None]
    assert [(e["row"], e["field"]) for e in body["rejected"]] == [(2, "text"), (3, None), (5, "colour")]
    assert "expected a JSON object" in body["rejected"][1]["reason"]


def test_ndjson_bad_line_keeps_alignment(client: TestClient) -> None:
    lines = [json.dumps(ITEMS[0], ensure_ascii=False), "{oops", "", json.dumps(ITEMS[1], ensure_ascii=False)]
    r = client.post(
        "/api/v1/analyze", content="\n".join(lines).encode(), headers={"Content-Type": "application/x-ndjson"}
    )
    assert r.status_code == 207
    body = r.json()
    assert [x["id"] if x else None for x in body["results"]] == ["a", None, "b"]
    assert [e["row"] for e in body["rejected"]] == [2]


def test_all_invalid_gives_422(client: TestClient) -> None:
    r = client.post("/api/v1/analyze", json=[{"id": "x"}, {"text": "起火"}])
    assert r.status_code == 422
    err = r.json()["error"]
    assert err["code"] == "no_valid_rows"
    assert [(d["row"], d["field"]) for d in err["details"]] == [(1, "text"), (2, "id")]


def test_too_many_items_is_413(client: TestClient) -> None:
    r = client.post("/api/v1/analyze", json=[{"id": "x", "text": "t"}] * (MAX_ANALYZE_ITEMS + 1))
    assert r.status_code == 413
    err = r.json()["error"]
    assert err["code"] == "too_many_items"
    assert err["details"] == [{"items": MAX_ANALYZE_ITEMS + 1, "limit": MAX_ANALYZE_ITEMS}]


def test_single_object_is_a_batch_of_one(client: TestClient) -> None:
    r = client.post("/api/v1/analyze", json=ITEMS[0])
    assert r.status_code == 200
    assert [x["id"] for x in r.json()] == ["a"]


def test_pipeline_is_built_once(client: TestClient) -> None:
    state: Any = client.app.state.riskmine  # type: ignore[attr-defined]
    assert not state.pipeline_loaded
    client.post("/api/v1/analyze", json=ITEMS[:1])
    first = state.get_pipeline()
    client.post("/api/v1/analyze", json=ITEMS[:1])
    assert state.get_pipeline() is first
    assert client.get("/health").json()["pipeline_loaded"] is True


def test_pipeline_that_cannot_be_built_is_503(store: SQLiteStore, users: Any, settings: Any) -> None:
    from riskmine.api.app import create_app

    def broken(settings: Any, store: Any) -> Any:
        raise FileNotFoundError("no model artifact in var/models")

    app = create_app(settings, store=store, users=users, pipeline_factory=broken)
    with TestClient(app) as c:
        r = c.post("/api/v1/analyze", json=ITEMS[:1])
    assert r.status_code == 503
    err = r.json()["error"]
    assert err["code"] == "pipeline_unavailable"
    assert "no model artifact" in err["message"]
