"""POST /api/v1/analyze: one answer per input in input order, an error object where a row is rejected."""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi.testclient import TestClient

from riskmine.api.routers.analyze import MAX_ANALYZE_ITEMS
from riskmine.store.base import Collection
from riskmine.store.sqlite import SQLiteStore

ITEMS = [
    {"id": "a", "text": "充电宝充电时起火，烧到了手，受伤了。"},
    {"id": "b", "text": "物流很快，包装完好。"},
    {"id": "c", "text": "电热水壶漏电", "source_type": "complaint", "rating": "1星"},
]


@pytest.fixture(autouse=True)
def _signed_in(reader: TestClient) -> None:
    """Every test here calls as a logged-in analyst: analysis needs a login unless RISKMINE_OPEN_ANALYZE opts in."""


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


def test_some_invalid_answers_200_with_an_error_object_in_place(client: TestClient) -> None:
    items = [ITEMS[0], {"id": "x"}, "just a string", ITEMS[1], {"id": "y", "text": "起火", "colour": "red"}]
    r = client.post("/api/v1/analyze", json=items)
    assert r.status_code == 200, r.text
    results = r.json()
    assert isinstance(results, list) and len(results) == len(items)
    assert [x["id"] for x in results] == ["a", "x", None, "b", "y"]
    assert "error" not in results[0] and "error" not in results[3]
    errors = [x for x in results if "error" in x]
    assert [(e["row"], e["field"]) for e in errors] == [(2, "text"), (3, None), (5, "colour")]
    assert errors[0]["error"] == "row 2: 缺少必填字段 'text'（正文）"
    assert "不是 JSON 对象" in errors[1]["error"]
    assert "未知字段 'colour'" in errors[2]["error"]
    assert set(errors[0]) == {"id", "error", "row", "field"}


def test_ndjson_bad_line_keeps_alignment(client: TestClient) -> None:
    lines = [json.dumps(ITEMS[0], ensure_ascii=False), "{oops", "", json.dumps(ITEMS[1], ensure_ascii=False)]
    r = client.post(
        "/api/v1/analyze", content="\n".join(lines).encode(), headers={"Content-Type": "application/x-ndjson"}
    )
    assert r.status_code == 200
    results = r.json()
    assert [x["id"] for x in results] == ["a", None, "b"]
    assert results[1]["row"] == 2 and results[1]["error"].startswith("row 2: 不是有效的 JSON")


def test_ndjson_rejection_names_the_line_sent(client: TestClient) -> None:
    lines = [json.dumps(ITEMS[0], ensure_ascii=False), "", json.dumps({"id": "z"})]
    r = client.post(
        "/api/v1/analyze", content="\n".join(lines).encode(), headers={"Content-Type": "application/x-ndjson"}
    )
    assert r.status_code == 200
    assert r.json()[1] == {"id": "z", "error": "row 3: 缺少必填字段 'text'（正文）", "row": 3, "field": "text"}


def test_all_invalid_is_the_same_shape(client: TestClient) -> None:
    r = client.post("/api/v1/analyze", json=[{"id": "x"}, {"text": "起火"}, {"id": 7, "text": ""}])
    assert r.status_code == 200, r.text
    assert r.json() == [
        {"id": "x", "error": "row 1: 缺少必填字段 'text'（正文）", "row": 1, "field": "text"},
        {"id": None, "error": "row 2: 缺少必填字段 'id'（编号）", "row": 2, "field": "id"},
        {"id": "7", "error": "row 3: 缺少必填字段 'text'（正文）", "row": 3, "field": "text"},
    ]


def test_openapi_documents_one_answer(client: TestClient) -> None:
    responses = client.get("/openapi.json").json()["paths"]["/api/v1/analyze"]["post"]["responses"]
    assert "207" not in responses
    assert "200" in responses


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

    opened = settings.model_copy(update={"open_analyze": True})  # anonymous analysis, opted in
    app = create_app(opened, store=store, users=users, pipeline_factory=broken)
    with TestClient(app) as c:
        r = c.post("/api/v1/analyze", json=ITEMS[:1])
    assert r.status_code == 503
    err = r.json()["error"]
    assert err["code"] == "pipeline_unavailable"
    assert "no model artifact" in err["message"]
