"""GET /api/v1/enterprises (search with counts) and /api/v1/enterprises/{name} (the profile)."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from fastapi.testclient import TestClient

from riskmine.knowledge_graph.graph import forget_graphs
from riskmine.schema import CandidateRisk, HazardType
from riskmine.store.base import Collection, DuplicatePolicy
from riskmine.store.sqlite import SQLiteStore
from tests.knowledge_graph.graphkit import demo_signals


@pytest.fixture(autouse=True)
def _reads_as_analyst(reader: TestClient) -> None:
    """Every test here reads as a logged-in analyst: enterprise profiles need a login in every mode."""


@pytest.fixture
def graphed(store: SQLiteStore) -> Iterator[None]:
    forget_graphs()
    store.write(Collection.signals, demo_signals(), DuplicatePolicy.overwrite)
    store.write(
        Collection.candidates,
        [
            CandidateRisk(
                id="cand-1",
                key="充电宝|fire",
                title="充电宝起火",
                hazard=HazardType.fire,
                enterprises=["深圳市极充科技有限公司"],
                priority=0.8,
            )
        ],
    )
    yield
    forget_graphs()


def test_list_and_search(client: TestClient, graphed: None) -> None:
    r = client.get("/api/v1/enterprises", params={"limit": 3})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["total"] > 3 and len(body["items"]) == 3
    assert body["items"][0]["signals"] >= body["items"][-1]["signals"]
    hit = client.get("/api/v1/enterprises", params={"q": "极充"}).json()
    assert [i["key"] for i in hit["items"]] == ["极充科技"]
    assert hit["items"][0]["name"] == "深圳市极充科技有限公司"
    assert client.get("/api/v1/enterprises", params={"limit": 0}).status_code == 422


def test_profile_by_any_spelling(client: TestClient, graphed: None) -> None:
    r = client.get("/api/v1/enterprises/极充科技股份有限公司")
    assert r.status_code == 200, r.text
    p = r.json()
    assert p["key"] == "极充科技" and p["region"]["name"] == "深圳市"
    assert p["hazards"]["fire"] > 0 and p["monthly"]
    assert [c["id"] for c in p["candidates"]] == ["cand-1"]
    assert p["recent_signals"][0]["signal_id"]


def test_profile_with_spot_check_failures(client: TestClient, graphed: None) -> None:
    p = client.get("/api/v1/enterprises/开封市淇乐多食品有限公司").json()
    assert p["spot_check_failures"] >= 1 and p["failures"][0]["source_type"] == "spot_check"


def test_unknown_enterprise_is_404_and_long_name_422(client: TestClient, graphed: None) -> None:
    r = client.get("/api/v1/enterprises/没有这家公司")
    assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"
    assert "没有这家公司" in r.json()["error"]["message"]
    assert client.get("/api/v1/enterprises/" + "厂" * 300).status_code == 422


def test_reads_need_a_login_in_every_mode(make_client: Callable[..., TestClient], graphed: None) -> None:
    for env in ("development", "production"):
        closed = make_client(env=env)
        assert closed.get("/api/v1/enterprises").status_code == 401
        assert closed.get("/api/v1/enterprises/极充科技").status_code == 401


def test_profiles_are_those_of_the_readers_scope(
    client: TestClient, graphed: None, login: Callable[..., dict[str, str]]
) -> None:
    """A station none of whose signals names an enterprise finds none: no list entry, no profile (404), neither
    counts nor records of others (tests/api/test_graph_scope.py counts a station's own); the centre sees them."""
    name = "/api/v1/enterprises/开封市淇乐多食品有限公司"
    assert client.get(name).json()["failures"]
    station = login("station")
    assert client.get("/api/v1/enterprises", headers=station).json()["total"] == 0
    for path in (name, "/api/v1/enterprises/极充科技"):
        assert client.get(path, headers=station).status_code == 404


def test_profile_by_part_of_the_name(client: TestClient, graphed: None) -> None:
    r = client.get("/api/v1/enterprises/极充")
    assert r.status_code == 200, r.text
    assert r.json()["key"] == "极充科技" and r.json()["name"] == "深圳市极充科技有限公司"
