"""The knowledge graph in a reader's organisation scope (issue 17, item 10): a station reads the part of the graph
its own signals support (stats, entities, nodes, neighbourhoods, paths, enterprise profiles); another station's
source node, signals and the entities only they name answer 404; the assessment centre reads the whole graph."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from riskmine.knowledge_graph.graph import forget_graphs
from riskmine.processing import process_documents
from riskmine.review.users import UserStore
from riskmine.store.base import Collection
from riskmine.store.sqlite import SQLiteStore
from tests.api.apikit import SEED_DOCUMENTS, keyword_pipeline
from tests.api.test_scope import A, B, station_logins, upload

PRODUCT, MAKER = "极充PB-20000充电宝", "深圳市共充科技有限公司"
SHOPS = {A: "甲乐数码旗舰店", B: "乙美电器专营店"}
SHARED, SHOP_A, SHOP_B = "product:极充PB20000充电宝", f"shop:{SHOPS[A]}", f"shop:{SHOPS[B]}"
SOURCE_A, SOURCE_B = f"source:station:{A}", f"source:station:{B}"
GRAPH = "/api/v1/graph"


@pytest.fixture
def graph_of_two_stations(client: TestClient, users: UserStore, store: SQLiteStore) -> Iterator[dict[str, Any]]:
    """Crawled seed documents, and two stations whose complaints name their own shop, a shared product and maker
    (A three, B two)."""
    forget_graphs()
    store.write(Collection.documents, SEED_DOCUMENTS)
    process_documents(store, keyword_pipeline(), [d.id for d in SEED_DOCUMENTS])
    heads = station_logins(client, users)
    batches = {
        s: upload(client, heads[s], s, n=3 if s == A else 2, shop=SHOPS[s], product=PRODUCT, enterprise=MAKER)
        for s in (A, B)
    }
    yield {"headers": heads, "signals": {s: [f"signal:{i}" for i in batches[s]["document_ids"]] for s in (A, B)}}
    forget_graphs()


def _ids(body: dict[str, Any]) -> set[str]:
    return {n["id"] for n in body["nodes"]}


def test_a_station_reads_the_graph_of_its_own_signals(
    client: TestClient, graph_of_two_stations: dict[str, Any], login: Callable[..., dict[str, str]]
) -> None:
    a = graph_of_two_stations["headers"][A]
    own, other = (graph_of_two_stations["signals"][s] for s in (A, B))
    whole = client.get(f"{GRAPH}/stats", headers=login("analyst")).json()

    stats = client.get(f"{GRAPH}/stats", headers=a).json()
    assert stats["signals"] == stats["nodes_by_type"]["signal"] == 3
    assert stats["nodes_by_type"]["source"] == 1 and stats["nodes_by_type"]["shop"] == 1
    assert stats["edges_by_relation"]["from"] == 3 and stats["edges"] < whole["edges"]

    for hidden in (SOURCE_B, SHOP_B, *other, f"signal:{SEED_DOCUMENTS[0].id}"):
        for path in (f"{GRAPH}/nodes/{hidden}", f"{GRAPH}/nodes/{hidden}/neighbourhood"):
            r = client.get(path, headers=a)
            assert r.status_code == 404, (path, r.text)  # not 403: node ids are not probed
    for q in ("乙美", SOURCE_B, "source:test", "station:"):
        found = {i["id"] for i in client.get(f"{GRAPH}/entities", params={"q": q}, headers=a).json()["items"]}
        assert found <= {SOURCE_A}, (q, found)
    assert client.get(f"{GRAPH}/nodes/{SOURCE_A}", headers=a).json()["degree"] == 3
    assert client.get(f"{GRAPH}/nodes/{SHOP_A}", headers=a).json()["degree"] == 3

    product = client.get(f"{GRAPH}/nodes/{SHARED}/neighbourhood", headers=a).json()
    assert {n for n in _ids(product) if n.startswith("signal:")} == set(own) and product["counts"]["signal"] == 3
    assert "category:电热水壶" not in _ids(product)  # the product's category in B's complaints is B's
    assert client.get(f"{GRAPH}/nodes/{SHARED}", headers=a).json()["degree"] == product["counts"]["signal"] + 1
    wide = _ids(client.get(f"{GRAPH}/nodes/{SHARED}/neighbourhood", params={"depth": 3}, headers=a).json())
    assert SHOP_A in wide and SOURCE_A in wide and not wide & {SHOP_B, SOURCE_B, *other}
    assert "hazard:electric_shock" not in wide  # only B's complaints (漏电) name it

    r = client.get(f"{GRAPH}/paths", params={"source": SHOP_A, "target": "hazard:electric_shock"}, headers=a)
    assert r.status_code == 200 and r.json()["paths"] == []  # the path through B's signals is not there
    assert client.get(f"{GRAPH}/paths", params={"source": SHOP_A, "target": SHOP_B}, headers=a).status_code == 404
    paths = client.get(f"{GRAPH}/paths", params={"source": SHOP_A, "target": "hazard:fire"}, headers=a).json()
    assert paths["paths"] and all(s["id"] not in (*other, SHOP_B) for p in paths["paths"] for s in p)


def test_a_stations_enterprise_profiles_count_its_own_signals(
    client: TestClient, graph_of_two_stations: dict[str, Any], login: Callable[..., dict[str, str]]
) -> None:
    a, b = (graph_of_two_stations["headers"][s] for s in (A, B))
    for headers, n in ((a, 3), (b, 2), (login("analyst"), 5)):
        listed = client.get("/api/v1/enterprises", params={"q": "共充"}, headers=headers).json()
        assert [i["signals"] for i in listed["items"]] == [n]
        profile = client.get(f"/api/v1/enterprises/{MAKER}", headers=headers).json()
        assert profile["signals"] == n == len(profile["recent_signals"]) == sum(profile["source_types"].values())


def test_the_assessment_centre_reads_the_whole_graph(
    client: TestClient, graph_of_two_stations: dict[str, Any], login: Callable[..., dict[str, str]]
) -> None:
    analyst = login("analyst")
    everyone = graph_of_two_stations["signals"][A] + graph_of_two_stations["signals"][B]
    stats = client.get(f"{GRAPH}/stats", headers=analyst).json()
    assert stats["signals"] == 5 + len(SEED_DOCUMENTS) and stats["nodes_by_type"]["shop"] == 2
    for nid in (SOURCE_A, SOURCE_B, SHOP_A, SHOP_B, *everyone):
        assert client.get(f"{GRAPH}/nodes/{nid}", headers=analyst).status_code == 200, nid
    product = client.get(f"{GRAPH}/nodes/{SHARED}/neighbourhood", headers=analyst).json()
    assert {n for n in _ids(product) if n.startswith("signal:")} == set(everyone)
    r = client.get(f"{GRAPH}/paths", params={"source": SHOP_A, "target": "hazard:electric_shock"}, headers=analyst)
    assert r.json()["paths"] and any(s["id"] in everyone[3:] for s in r.json()["paths"][0])


def test_a_stations_candidate_page_shows_the_neighbourhood_of_its_own_signals(
    client: TestClient, graph_of_two_stations: dict[str, Any], login: Callable[..., dict[str, str]]
) -> None:
    a = graph_of_two_stations["headers"][A]
    listed = client.get("/api/v1/candidates", headers=a).json()["items"]
    assert listed
    pages = [client.get(f"/candidates/{c['id']}", headers=a) for c in listed]
    assert all(p.status_code == 200 for p in pages)
    assert any(SHOPS[A] in p.text for p in pages)  # the neighbourhood is drawn from A's signals
    assert not any(SHOPS[B] in p.text for p in pages)  # and never from B's
    b = graph_of_two_stations["headers"][B]
    seen_by_b = [
        client.get(f"/candidates/{c['id']}", headers=b)
        for c in client.get("/api/v1/candidates", headers=b).json()["items"]
    ]
    assert any(SHOPS[B] in p.text for p in seen_by_b) and not any(SHOPS[A] in p.text for p in seen_by_b)
