"""Organisation scope over signals, documents and station batches (issue 17, item 10): a station sees its own
submissions only, a user of the organisation tree its subtree's, the assessment centre everything; in lists,
counts, pages, by id (a foreign record answers 404) and in the console."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient

from riskmine.processing import process_documents
from riskmine.review.users import UserStore
from riskmine.store.base import Collection
from riskmine.store.sqlite import SQLiteStore
from tests.api.apikit import PASSWORD, SEED_DOCUMENTS, keyword_pipeline

A, B = "甲区产品质量监测站", "乙区产品质量监测站"
TEXTS = {A: "甲站收到投诉：充电宝充电时起火", B: "乙站收到投诉：电热水壶底座漏电"}


def user_login(
    client: TestClient, users: UserStore, role: str, organisation: str | None, username: str
) -> dict[str, str]:
    if users.get_by_username(username) is None:
        users.create_user(username, PASSWORD, role, organisation=organisation)
    r = client.post("/api/v1/auth/token", data={"username": username, "password": PASSWORD})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def upload(client: TestClient, headers: dict[str, str], station: str, n: int = 3, **fields: str) -> dict[str, Any]:
    """A batch of `n` complaints from the station; `fields` (shop, product, ...) go into every row."""
    rows = [
        {"source_id": f"{station}-{i}", "source_type": "complaint", "text": f"{TEXTS[station]}（{i}）", **fields}
        for i in range(n)
    ]
    body = "\n".join(json.dumps(r, ensure_ascii=False) for r in rows).encode()
    r = client.post(f"/api/v1/stations/{station}/batches", params={"format": "jsonl"}, content=body, headers=headers)
    assert r.status_code == 201, r.text
    return dict(r.json())


def station_logins(client: TestClient, users: UserStore, uploads: int = 0) -> dict[str, dict[str, str]]:
    """Stations A and B logged in (their auth headers), each having uploaded `uploads` rows when asked."""
    heads = {s: user_login(client, users, "station", s, f"user-{i}") for i, s in enumerate((A, B))}
    for s, headers in heads.items():
        if uploads:
            upload(client, headers, s, n=uploads)
    return heads


@pytest.fixture
def two_stations(client: TestClient, users: UserStore, store: SQLiteStore) -> dict[str, Any]:
    """Crawled seed documents, and two stations that each uploaded a batch."""
    store.write(Collection.documents, SEED_DOCUMENTS)
    process_documents(store, keyword_pipeline(), [d.id for d in SEED_DOCUMENTS])
    heads = station_logins(client, users)
    batches = {s: upload(client, heads[s], s, n=3 if s == A else 2) for s in (A, B)}
    return {"headers": heads, "batches": batches}


def signal_sources(client: TestClient, headers: dict[str, str], **params: Any) -> tuple[int, set[str]]:
    r = client.get("/api/v1/signals", params={"limit": 200, **params}, headers=headers)
    assert r.status_code == 200, r.text
    body = r.json()
    return body["total"], {i["source"] for i in body["items"]}


def test_a_station_sees_only_its_own_signals_documents_and_batches(
    client: TestClient, two_stations: dict[str, Any]
) -> None:
    a, b = (two_stations["headers"][s] for s in (A, B))
    batch_a, batch_b = (two_stations["batches"][s] for s in (A, B))

    assert signal_sources(client, a) == (3, {f"station:{A}"})
    assert signal_sources(client, a, limit=2, offset=2) == (3, {f"station:{A}"})  # paging counts its own only
    assert signal_sources(client, a, source=f"station:{B}") == (0, set())
    assert signal_sources(client, a, source="test") == (0, set())
    assert signal_sources(client, a, q="漏电")[0] == 0
    assert signal_sources(client, b) == (2, {f"station:{B}"})

    for doc_id in batch_b["document_ids"]:
        for path in (f"/api/v1/documents/{doc_id}", f"/api/v1/signals/{doc_id}"):
            r = client.get(path, headers=a)
            assert r.status_code == 404, (path, r.text)  # not 403: ids are not probed
        assert client.get(f"/api/v1/documents/{doc_id}", headers=b).status_code == 200
    seed = SEED_DOCUMENTS[0].id
    assert client.get(f"/api/v1/documents/{seed}", headers=a).status_code == 404
    assert client.get(f"/api/v1/signals/{seed}", headers=a).status_code == 404
    assert client.get(f"/api/v1/documents/{batch_a['document_ids'][0]}", headers=a).status_code == 200

    assert client.get(f"/api/v1/stations/{B}/batches", headers=a).status_code == 403
    assert client.get(batch_b["url"], headers=a).status_code == 403
    assert client.get(f"/api/v1/stations/{A}/batches/{batch_b['batch_id']}", headers=a).status_code == 404
    listed = client.get(f"/api/v1/stations/{A}/batches", headers=a).json()
    assert listed["total"] == 1 and [i["batch_id"] for i in listed["items"]] == [batch_a["batch_id"]]

    page = client.get("/signals", headers=a)
    assert page.status_code == 200 and "甲站收到投诉" in page.text and "乙站收到投诉" not in page.text
    assert "乙站收到投诉" not in client.get("/signals", params={"q": "漏电"}, headers=a).text
    own = client.get("/station", headers=a)
    assert own.status_code == 200 and "甲站收到投诉" in own.text and "乙站收到投诉" not in own.text
    assert client.get("/station", params={"station": B}, headers=a).text == own.text  # a station cannot choose


def test_the_assessment_centre_sees_both_stations(
    client: TestClient, two_stations: dict[str, Any], login: Callable[..., dict[str, str]]
) -> None:
    analyst = login("analyst")
    total, sources = signal_sources(client, analyst)
    assert total == 5 + len(SEED_DOCUMENTS) and {f"station:{A}", f"station:{B}", "test"} <= sources
    for station in (A, B):
        batch = two_stations["batches"][station]
        assert client.get(batch["url"], headers=analyst).status_code == 200
        assert client.get(f"/api/v1/documents/{batch['document_ids'][0]}", headers=analyst).status_code == 200
        assert client.get(f"/api/v1/signals/{batch['document_ids'][0]}", headers=analyst).status_code == 200
    page = client.get("/signals", headers=analyst).text
    assert "甲站收到投诉" in page and "乙站收到投诉" in page
    assert "乙站收到投诉" in client.get("/station", params={"station": B}, headers=analyst).text


def test_a_user_of_the_tree_sees_its_subtree(
    client: TestClient, users: UserStore, two_stations: dict[str, Any], login: Callable[..., dict[str, str]]
) -> None:
    """A city sees the stations under it; its province also sees crawled data; neither sees a station the tree
    puts elsewhere."""
    admin = login("admin")
    tree = [
        ("四川省", "province", None),
        ("成都市", "city", "四川省"),
        ("绵阳市", "city", "四川省"),
        (A, "station", "成都市"),
        (B, "station", "绵阳市"),
    ]
    for name, level, parent in tree:
        r = client.post("/api/v1/review/orgs", json={"name": name, "level": level, "parent": parent}, headers=admin)
        assert r.status_code == 201, r.text
    city = user_login(client, users, "analyst", "成都市", "chengdu-analyst")
    assert signal_sources(client, city) == (3, {f"station:{A}"})
    batch_b = two_stations["batches"][B]
    assert client.get(f"/api/v1/documents/{batch_b['document_ids'][0]}", headers=city).status_code == 404
    assert client.get(batch_b["url"], headers=city).status_code == 403
    assert client.get(two_stations["batches"][A]["url"], headers=city).status_code == 200
    assert client.get("/station", params={"station": B}, headers=city).status_code == 403

    province = user_login(client, users, "viewer", "四川省", "sichuan-viewer")
    total, sources = signal_sources(client, province)
    assert total == 5 + len(SEED_DOCUMENTS) and sources == {f"station:{A}", f"station:{B}", "test"}
    # a station the tree does not know belongs to no subtree but the provinces' (like its candidates)
    other = user_login(client, users, "station", "丙站", "user-c")
    assert signal_sources(client, other) == (0, set())
    assert signal_sources(client, city) == (3, {f"station:{A}"})
