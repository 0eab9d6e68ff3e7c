"""GET /api/v1/graph/*: entity lookup, neighbourhood, paths and counts over real demo signals."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from riskmine.knowledge_graph.graph import forget_graphs
from riskmine.store.base import Collection, DuplicatePolicy
from riskmine.store.sqlite import SQLiteStore
from tests.knowledge_graph.graphkit import demo_signals


@pytest.fixture(autouse=True)
def _reads_as_analyst(reader: TestClient) -> None:
    """Every test here reads as a logged-in analyst: the graph's routes need a login in every mode."""


@pytest.fixture
def graphed(store: SQLiteStore) -> Iterator[int]:
    """The tagged demo signals in the store (the API builds its graph from them on first use)."""
    forget_graphs()
    signals = demo_signals()
    store.write(Collection.signals, signals, DuplicatePolicy.overwrite)
    yield len(signals)
    forget_graphs()


def test_stats_count_the_stored_signals(client: TestClient, graphed: int) -> None:
    r = client.get("/api/v1/graph/stats")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["signals"] == graphed == body["nodes_by_type"]["signal"]
    assert body["edges_by_relation"]["mentions"] > 0


def test_entities_resolve_aliases_and_filter_by_type(client: TestClient, graphed: int) -> None:
    r = client.get("/api/v1/graph/entities", params={"q": "深圳市极充科技有限公司"})
    assert r.status_code == 200
    first = r.json()["items"][0]
    assert first == {**first, "id": "enterprise:极充科技", "type": "enterprise", "exact": True}
    r = client.get("/api/v1/graph/entities", params={"q": "极充", "type": "shop"})
    assert r.json()["items"] and {i["type"] for i in r.json()["items"]} == {"shop"}
    assert client.get("/api/v1/graph/entities", params={"q": "无此实体"}).json()["items"] == []


@pytest.mark.parametrize(
    "params",
    [{"q": ""}, {"q": "x", "type": "person"}, {"q": "x", "limit": 0}, {"q": "x" * 201}, {}, {"q": "   "}],
)
def test_entities_bad_parameters_are_422(client: TestClient, graphed: int, params: dict[str, Any]) -> None:
    r = client.get("/api/v1/graph/entities", params=params)
    assert r.status_code == 422, r.text
    assert r.json()["error"]["code"] == "invalid_request"


def test_neighbourhood_by_id_or_name(client: TestClient, graphed: int) -> None:
    r = client.get(
        "/api/v1/graph/nodes/enterprise:极充科技/neighbourhood",
        params={"depth": 2, "types": ["hazard", "region"], "limit": 10},
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["centre"] == "enterprise:极充科技"
    assert {n["type"] for n in body["nodes"][1:]} <= {"hazard", "region"} and len(body["nodes"]) <= 11
    assert body["counts"]["signal"] > 0
    by_name = client.get("/api/v1/graph/nodes/深圳市极充科技有限公司/neighbourhood").json()
    assert by_name["centre"] == "enterprise:极充科技"
    node = client.get("/api/v1/graph/nodes/brand:极充").json()
    assert node["type"] == "brand" and node["degree"] > 0


def test_neighbourhood_errors(client: TestClient, graphed: int) -> None:
    r = client.get("/api/v1/graph/nodes/brand:没有这个/neighbourhood")
    assert r.status_code == 404 and "brand:没有这个" in r.json()["error"]["message"]
    assert client.get("/api/v1/graph/nodes/brand:极充/neighbourhood", params={"depth": 5}).status_code == 422
    assert client.get("/api/v1/graph/nodes/brand:极充/neighbourhood", params={"types": "person"}).status_code == 422


def test_paths_between_names(client: TestClient, graphed: int) -> None:
    r = client.get("/api/v1/graph/paths", params={"source": "极充", "target": "hazard:fire", "max_len": 3})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["source"] == "brand:极充" and body["total"] == len(body["paths"]) > 0
    assert all(p[0]["id"] == "brand:极充" and p[-1]["id"] == "hazard:fire" for p in body["paths"])
    none = client.get("/api/v1/graph/paths", params={"source": "极充", "target": "hazard:fire", "max_len": 1})
    assert none.json()["paths"] == []
    missing = client.get("/api/v1/graph/paths", params={"source": "极充", "target": "没有的东西"})
    assert missing.status_code == 404 and "target" in missing.json()["error"]["message"]
    assert client.get("/api/v1/graph/paths", params={"source": "极充"}).status_code == 422


def test_graph_follows_new_signals(client: TestClient, graphed: int, store: SQLiteStore) -> None:
    assert client.get("/api/v1/graph/stats").json()["signals"] == graphed
    store.delete(Collection.signals, [demo_signals()[0].id])
    assert client.get("/api/v1/graph/stats").json()["signals"] == graphed - 1


def test_reads_need_a_login_in_every_mode(make_client: Callable[..., TestClient], graphed: int) -> None:
    closed = make_client()  # development, as `make run` serves
    assert closed.get("/api/v1/graph/stats").status_code == 401
    assert closed.get("/api/v1/graph/entities", params={"q": "极充"}).status_code == 401


def test_entities_take_partial_names_and_full_region_names(client: TestClient, graphed: int) -> None:
    items = client.get("/api/v1/graph/entities", params={"q": "极充", "type": "enterprise"}).json()["items"]
    assert [i["label"] for i in items] == ["深圳市极充科技有限公司"] and items[0]["exact"] is False
    city = client.get("/api/v1/graph/entities", params={"q": "浙江省台州市"}).json()["items"][0]
    assert city == {**city, "id": "region:331000", "label": "台州市", "exact": True}
    assert len(client.get("/api/v1/graph/entities", params={"q": "市", "limit": 3}).json()["items"]) == 3
