"""POST /api/v1/documents (201 / 207 / 422) and GET /api/v1/documents/{id}."""

from __future__ import annotations

import json
from typing import Any

from fastapi.testclient import TestClient

from riskmine.store.base import Collection
from riskmine.store.sqlite import SQLiteStore

ROWS = [
    {"source": "jd", "source_id": "a1", "source_type": "review", "text": "充电宝用了两天就起火了，太吓人了。"},
    {"source": "jd", "source_id": "a2", "source_type": "review", "text": "充电宝充电时冒烟起火，烧坏了桌子。"},
    {"source": "news", "source_id": "n1", "source_type": "news", "text": "某品牌充电宝起火事件引发关注。"},
]


def test_all_valid_rows_give_201_and_are_processed(client: TestClient, login: Any, store: SQLiteStore) -> None:
    analyst = login("analyst")
    r = client.post("/api/v1/documents", json=ROWS, headers=analyst)
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["accepted"] == 3
    assert body["duplicates"] == 0
    assert body["rejected"] == []
    assert body["rows"] == 3
    assert body["processed"] == 3
    assert body["risks"] == 3
    assert body["candidates"] == 1
    assert len(body["document_ids"]) == 3
    assert store.count(Collection.signals) == 3
    (cand,) = store.query(Collection.candidates).items
    assert cand.product_category == "充电宝"
    assert cand.signal_count == 3
    for url in body["document_urls"]:
        got = client.get(url, headers=analyst)
        assert got.status_code == 200
        assert got.json()["links"]["self"] == url


def test_resubmitting_counts_duplicates(client: TestClient, login: Any) -> None:
    headers = login("analyst")
    client.post("/api/v1/documents", json=ROWS, headers=headers)
    r = client.post("/api/v1/documents", json=ROWS, headers=headers)
    assert r.status_code == 201
    assert r.json()["accepted"] == 0
    assert r.json()["duplicates"] == 3
    assert r.json()["processed"] == 0


def test_some_rows_invalid_gives_207_naming_row_and_field(client: TestClient, login: Any, store: SQLiteStore) -> None:
    rows = [ROWS[0], {"source": "jd", "source_type": "review", "text": "   "}, ROWS[1], {"source_type": "bogus"}]
    r = client.post("/api/v1/documents", json=rows, headers=login("admin"))
    assert r.status_code == 207, r.text
    body = r.json()
    assert body["accepted"] == 2
    assert [e["row"] for e in body["rejected"]] == [2, 4]
    assert body["rejected"][0]["field"] == "text"
    assert not body["rejected"][0]["reason"].startswith("row ")
    assert store.count(Collection.documents) == 2


def test_no_valid_row_gives_422(client: TestClient, login: Any, store: SQLiteStore) -> None:
    r = client.post("/api/v1/documents", json=[{"source_type": "review"}, 42], headers=login("analyst"))
    assert r.status_code == 422
    err = r.json()["error"]
    assert err["code"] == "no_valid_rows"
    assert [d["row"] for d in err["details"]] == [1, 2]
    assert "expected a JSON object" in err["details"][1]["reason"]
    assert store.count(Collection.documents) == 0


def test_ndjson_rows_are_numbered_by_line(client: TestClient, login: Any) -> None:
    lines = [json.dumps(ROWS[0], ensure_ascii=False), "", "{broken json", json.dumps(ROWS[1], ensure_ascii=False)]
    lines.append(json.dumps({"source": "jd", "source_type": "review"}))
    r = client.post(
        "/api/v1/documents",
        content="\n".join(lines).encode(),
        headers={**login("analyst"), "Content-Type": "application/x-ndjson"},
    )
    assert r.status_code == 207, r.text
    body = r.json()
    assert body["accepted"] == 2
    assert [(e["row"], e["field"]) for e in body["rejected"]] == [(3, None), (5, "text")]
    assert "not valid JSON" in body["rejected"][0]["reason"]


def test_default_source_is_the_submitter(client: TestClient, login: Any, store: SQLiteStore) -> None:
    r = client.post(
        "/api/v1/documents",
        json=[{"text": "电热水壶漏电", "source_type": "complaint"}],
        headers=login("station", username="tmall"),
    )
    stored = store.get(Collection.documents, r.json()["document_ids"][0])
    assert stored is not None
    assert stored.source == "station:测试中心"
    r = client.post(
        "/api/v1/documents?source=upload-2024&source_type=news",
        json=[{"text": "电热水壶漏电"}],
        headers=login("analyst"),
    )
    stored = store.get(Collection.documents, r.json()["document_ids"][0])
    assert stored is not None
    assert (stored.source, stored.source_type.value) == ("upload-2024", "news")


def test_process_false_stores_without_processing(client: TestClient, login: Any, store: SQLiteStore) -> None:
    r = client.post("/api/v1/documents?process=false", json=ROWS, headers=login("analyst"))
    assert r.status_code == 201
    assert r.json()["processed"] == 0
    assert store.count(Collection.documents) == 3
    assert store.count(Collection.signals) == 0


def test_too_many_documents_is_413(client: TestClient, login: Any) -> None:
    from riskmine.api.routers.documents import MAX_DOCUMENTS_PER_REQUEST

    r = client.post("/api/v1/documents", json=[{}] * (MAX_DOCUMENTS_PER_REQUEST + 1), headers=login("analyst"))
    assert r.status_code == 413
    assert r.json()["error"]["code"] == "too_many_items"


def test_get_document_and_404(reader: TestClient, seeded: dict[str, Any]) -> None:
    client = reader  # a stored document is unpublished: reading it needs a login in every mode
    doc = seeded["documents"]["r1"]
    r = client.get(f"/api/v1/documents/{doc.id}")
    assert r.status_code == 200
    assert r.json()["text"] == doc.text
    assert r.json()["links"]["signal"] == f"/api/v1/signals/{doc.id}"
    r = client.get("/api/v1/documents/nope")
    assert r.status_code == 404
    assert r.json()["error"] == {"code": "not_found", "message": "没有编号为 nope 的文档", "details": []}
