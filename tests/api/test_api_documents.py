"""POST /api/v1/documents (201 / 207 / 422) and GET /api/v1/documents/{id}."""

from __future__ import annotations

import json
import re
from typing import Any

from fastapi.testclient import TestClient

from riskmine.processing import process_documents
from riskmine.review.users import UserStore
from riskmine.schema import RawDocument, SourceType
from riskmine.store.base import Collection
from riskmine.store.sqlite import SQLiteStore
from tests.api.apikit import PASSWORD, keyword_pipeline

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
    assert body["processed"] == 3 and body["queued"] is False  # processed in the request: no task queue set
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
    assert err["details"][1]["reason"] == "不是 JSON 对象（而是数字）"
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
    assert "不是有效的 JSON" in body["rejected"][0]["reason"]


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


def key_of(users: UserStore, role: str) -> dict[str, str]:
    """An API key of a user with the role (organisation 测试中心, as the `login` fixture makes them)."""
    user = users.get_by_username(f"{role}-key-owner") or users.create_user(
        f"{role}-key-owner", PASSWORD, role, organisation="测试中心"
    )
    _, key = users.create_api_key(user.id, "test")
    return {"X-API-Key": key}


def test_a_key_carries_its_owners_role_viewer_and_publisher_keys_cannot_submit(
    client: TestClient, users: UserStore, store: SQLiteStore
) -> None:
    for role in ("viewer", "publisher", "api_consumer"):
        r = client.post("/api/v1/documents", json=ROWS, headers=key_of(users, role))
        assert r.status_code == 403, (role, r.text)
    assert store.count(Collection.documents) == 0
    r = client.post("/api/v1/documents", json=ROWS, headers=key_of(users, "analyst"))
    assert r.status_code == 201, r.text


def test_a_station_submits_only_as_itself_whatever_source_it_names(
    client: TestClient, users: UserStore, login: Any, store: SQLiteStore
) -> None:
    """The server sets a station's source from its identity: a source in the body or the query is replaced
    (the body's is kept in meta as row_source), so a station's key cannot write as another station."""
    row = {"source": "station:别的站", "source_type": "complaint", "text": "电热水壶漏电"}
    for n, headers in enumerate((key_of(users, "station"), login("station"))):
        r = client.post(
            "/api/v1/documents?source=station:别的站", json=[{**row, "source_id": f"s{n}"}], headers=headers
        )
        assert r.status_code == 201, r.text
        stored = store.get(Collection.documents, r.json()["document_ids"][0])
        assert stored is not None
        assert stored.source == "station:测试中心"
        assert stored.meta["row_source"] == "station:别的站"
    assert {d.source for d in store.query(Collection.documents).items} == {"station:测试中心"}


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


def test_a_far_future_date_is_rejected_and_the_pages_stay_up(
    client: TestClient, login: Any, store: SQLiteStore
) -> None:
    # one row dated 9999 used to be accepted and then made every console and overdue page answer 500
    far = {**ROWS[0], "source_id": "far", "published_at": "9999-12-31T23:59:59+14:00"}
    analyst = login("analyst")
    r = client.post("/api/v1/documents", json=[far, ROWS[1]], headers=analyst)
    assert r.status_code == 207, r.text
    body = r.json()
    assert body["accepted"] == 1
    (rejection,) = body["rejected"]
    assert (rejection["row"], rejection["field"]) == (1, "published_at")
    assert "published_at" in rejection["reason"] and "9999" in rejection["reason"]
    assert re.search(r"[\u4e00-\u9fff]", rejection["reason"])  # the reason is in Chinese
    assert client.post("/api/v1/documents", json=[ROWS[2]], headers=analyst).status_code == 201
    for cand in store.iterate(Collection.candidates):
        assert cand.created_at.year < 9999
    for path in ("/api/v1/review/overdue", "/", "/overdue"):
        assert client.get(path, headers=analyst).status_code == 200, path


HOSTILE_URLS = ["java\tscript:alert(1)", "\x01javascript:alert(1)", "//evil.example/x", "javascript:alert(1)"]


def test_api_shows_only_web_addresses(client: TestClient, login: Any, store: SQLiteStore) -> None:
    docs = [
        RawDocument(source="old", source_type=SourceType.review, source_id=f"h{i}", url=url, text="充电宝起火")
        for i, url in enumerate([*HOSTILE_URLS, "https://shop.example.com/a"])
    ]
    store.write(Collection.documents, docs)  # stored before ingest checked addresses, or by another writer
    process_documents(store, keyword_pipeline(), [d.id for d in docs])
    headers = login("analyst")
    got = [client.get(f"/api/v1/documents/{d.id}", headers=headers).json()["url"] for d in docs]
    assert got == [None, None, None, None, "https://shop.example.com/a"]
    signals = client.get(f"/api/v1/signals/{docs[0].id}", headers=headers).json()
    assert signals["document"]["url"] is None
    listed = client.get("/api/v1/signals", params={"limit": 50}, headers=headers).json()["items"]
    assert sorted(s["url"] or "" for s in listed) == ["", "", "", "", "https://shop.example.com/a"]


def test_hostile_urls_posted_are_refused_or_kept_in_meta(client: TestClient, login: Any, store: SQLiteStore) -> None:
    rows = [
        {"source": "jd", "source_id": f"u{i}", "source_type": "review", "text": "好", "url": u}
        for i, u in enumerate(HOSTILE_URLS)
    ]
    body = client.post("/api/v1/documents", json=rows, headers=login("analyst")).json()
    assert [r["field"] for r in body["rejected"]] == ["url", "url", "url"]
    (doc_id,) = body["document_ids"]
    doc = store.get(Collection.documents, doc_id)
    assert isinstance(doc, RawDocument) and doc.url is None and doc.meta["url_original"] == "//evil.example/x"


def test_personal_data_is_masked_in_every_field_even_unprocessed_and_is_not_searchable(
    client: TestClient, login: Any, store: SQLiteStore
) -> None:
    phone, email, card = "13812345678", "zhang.san@example.com", "6217001234567893"
    row = {
        "source": "jd",
        "source_type": "review",
        "source_id": "pii",
        "text": f"充电宝冒烟起火，退款到卡{card}",
        "title": f"联系{phone}",
        "product": f"充电宝 客服{phone}",
        "shop": f"小王数码 {email}",
        "url": f"https://shop.example/item?tel={phone}",
        "meta": {"buyer": {"phone": phone, "mail": email}},
    }
    headers = login("admin")  # admin: private meta is shown too
    for process in ("false", "true"):
        r = client.post(
            f"/api/v1/documents?process={process}", json=[{**row, "source_id": f"pii-{process}"}], headers=headers
        )
        assert r.status_code == 201, r.text
        for url in r.json()["document_urls"]:
            served = client.get(url, headers=headers)
            assert served.status_code == 200
            assert not [raw for raw in (phone, email, card) if raw in served.text], served.text
            assert served.json()["url"].startswith("https://shop.example/item?tel=%5B")
    assert store.count(Collection.signals) == 1
    for raw in (phone, email, card):
        found = client.get("/api/v1/signals", params={"q": raw}, headers=headers)
        assert found.status_code == 200 and found.json()["total"] == 0, found.text
        assert store.query(Collection.documents, text=raw).items == []
