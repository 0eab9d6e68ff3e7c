"""Station batches: uploads in both seed report forms (CSV, GBK CSV, XLSX) and JSONL, row-level
rejections, re-sending, size limits, and who may send or see which station's batches."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from pathlib import Path

from fastapi.testclient import TestClient
from openpyxl import Workbook

from riskmine.feeds.forms import ECOMMERCE_COLUMNS
from riskmine.review.users import UserStore
from riskmine.schema import SourceType
from riskmine.store.base import Collection
from riskmine.store.sqlite import SQLiteStore
from tests.api.apikit import PASSWORD

FEEDS = Path(__file__).resolve().parents[1] / "fixtures" / "feeds"
STATION = "某电商平台监测站"
URL = f"/api/v1/stations/{STATION}/batches"
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def station_login(client: TestClient, users: UserStore, organisation: str, username: str) -> dict[str, str]:
    if users.get_by_username(username) is None:
        users.create_user(username, PASSWORD, "station", organisation=organisation)
    r = client.post("/api/v1/auth/token", data={"username": username, "password": PASSWORD})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def ecommerce_xlsx() -> bytes:
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.append(["上海市产品质量安全风险信息报送表（电商平台）"])
    ws.append(["填报单位：某电商平台监测站", None, None, None, None, None, None, None, "填报时间：2024年6月27日"])
    ws.append(list(ECOMMERCE_COLUMNS))
    tail = ["https://item.example.com/9", 129.0, "浙江省宁波市"]
    ws.append([1, "暖风机", "烧焦 冒烟 起火", "2024年5月25日至6月24日", 7, 210, "某电器店", "小型暖风机", *tail])
    ws.append([2, "电水壶", "漏电", "不是日期", 2, 30, "某家电店", "电水壶", "https://item.example.com/10", 59, "浙江"])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def test_general_form_csv_upload_is_stored_processed_and_recorded(
    client: TestClient, users: UserStore, store: SQLiteStore
) -> None:
    headers = station_login(client, users, STATION, "station-a")
    body = (FEEDS / "station_general.csv").read_bytes()
    r = client.post(URL, content=body, headers={**headers, "Content-Type": "text/csv"})
    assert r.status_code == 201, r.text
    batch = r.json()
    assert batch["status"] == "done" and batch["form"] == "general" and batch["kind"] == "csv"
    # Row 6's 涉及企业数量 is 若干: the row and its risk content are kept, the count left empty with a warning.
    assert (batch["rows"], batch["accepted"], batch["duplicates"], batch["rejected"]) == (3, 3, 0, 0)
    assert batch["rejections"] == []
    assert batch["warnings"] == [
        {"row": 6, "field": "涉及企业数量", "reason": "涉及企业数量：“若干”不是数量，已留空；本行其余内容照常接收"}
    ]
    assert batch["replayed"] is False and batch["station"] == STATION and batch["submitted_by"] == "station-a"
    assert batch["processed"] == 3 and batch["risks"] == 1 and batch["candidates"] == 1  # keyword pipeline: 起火
    docs = store.get_many(Collection.documents, batch["document_ids"])
    assert {d.source for d in docs} == {f"station:{STATION}"}
    assert {d.source_type for d in docs} == {SourceType.station_report}
    assert sorted(d.product or "" for d in docs) == ["儿童推车", "电动自行车", "电热毯"]
    assert store.count(Collection.signals) == 3

    got = client.get(batch["url"], headers=headers)
    assert got.status_code == 200 and got.json()["status"] == "done"
    assert got.json()["warnings"] == batch["warnings"]
    assert got.json()["document_ids"] == batch["document_ids"]


def test_ecommerce_gbk_csv_names_the_bad_row(client: TestClient, users: UserStore) -> None:
    headers = station_login(client, users, STATION, "station-a")
    body = (FEEDS / "station_ecommerce_gbk.csv").read_bytes()
    files = {"file": ("电商报送表.csv", body, "text/csv")}
    r = client.post(URL, files=files, headers=headers)
    assert r.status_code == 207, r.text
    batch = r.json()
    assert batch["status"] == "partial" and batch["form"] == "ecommerce" and batch["filename"] == "电商报送表.csv"
    assert (batch["accepted"], batch["rejected"]) == (2, 1)
    [rej] = batch["rejections"]
    assert rej["row"] == 6 and rej["field"] == "时间采集范围"
    assert rej["reason"].startswith("row 6: 时间采集范围：'上个月' 不是日期范围")


def test_ecommerce_xlsx_upload_and_resend_adds_nothing(
    client: TestClient, users: UserStore, store: SQLiteStore
) -> None:
    headers = station_login(client, users, STATION, "station-a")
    body = ecommerce_xlsx()
    first = client.post(URL, content=body, headers={**headers, "Content-Type": XLSX_TYPE})
    assert first.status_code == 207, first.text
    batch = first.json()
    assert batch["kind"] == "xlsx" and batch["form"] == "ecommerce"
    assert (batch["accepted"], batch["rejected"]) == (1, 1)
    assert batch["rejections"][0]["row"] == 5 and batch["rejections"][0]["field"] == "时间采集范围"
    [doc] = store.get_many(Collection.documents, batch["document_ids"])
    assert doc.shop == "某电器店" and doc.price == 129 and doc.meta["negative_reviews"] == 7
    count = store.count(Collection.documents)

    again = client.post(URL, files={"file": ("again.xlsx", body, XLSX_TYPE)}, headers=headers)
    assert again.status_code == 200, again.text
    assert again.json()["batch_id"] == batch["batch_id"] and again.json()["replayed"] is True
    assert again.json()["created_at"] == batch["created_at"]
    assert store.count(Collection.documents) == count
    listing = client.get(URL, headers=headers).json()
    assert listing["total"] == 1 and [b["batch_id"] for b in listing["items"]] == [batch["batch_id"]]
    assert "rejections" not in listing["items"][0]


def test_jsonl_rows_with_problems_and_an_all_bad_batch(client: TestClient, users: UserStore) -> None:
    headers = station_login(client, users, STATION, "station-a")
    lines = [
        {"text": "电热水壶底座漏电，手一碰就麻。", "source_id": "j1", "source_type": "complaint"},
        {"title": "no text"},
        "not json",
        {"text": "充电宝鼓包", "source_id": "j2", "colour": "red"},
    ]
    body = "\n".join(x if isinstance(x, str) else json.dumps(x, ensure_ascii=False) for x in lines) + "\n"
    r = client.post(URL, params={"filename": "feed.jsonl"}, content=body.encode(), headers=headers)
    assert r.status_code == 207, r.text
    batch = r.json()
    assert batch["kind"] == "jsonl" and batch["accepted"] == 1 and batch["rejected"] == 3
    reasons = {x["row"]: x for x in batch["rejections"]}
    assert reasons[2]["field"] == "text" and "缺少必填字段 'text'" in reasons[2]["reason"]
    assert reasons[3]["reason"].startswith("line 3: 不是有效的 JSON")
    assert reasons[4]["field"] == "colour" and "未知字段 'colour'" in reasons[4]["reason"]

    bad = client.post(URL, params={"format": "jsonl"}, content=b'{"title": "x"}\n', headers=headers)
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "no_valid_rows"
    assert bad.json()["error"]["details"][0]["field"] == "text"
    listing = client.get(URL, headers=headers).json()
    assert sorted(b["status"] for b in listing["items"]) == ["partial", "rejected"]


def test_unreadable_uploads_get_clear_errors_and_are_not_recorded(client: TestClient, users: UserStore) -> None:
    headers = station_login(client, users, STATION, "station-a")
    r = client.post(URL, content=b"abc", headers={**headers, "Content-Type": "application/octet-stream"})
    assert r.status_code == 415 and "?format=" in r.json()["error"]["message"]
    r = client.post(URL, files={"file": ("old.xls", b"\xd0\xcf\x11\xe0", "application/vnd.ms-excel")}, headers=headers)
    assert r.status_code == 415 and ".xlsx" in r.json()["error"]["message"]
    r = client.post(URL, params={"filename": "broken.xlsx"}, content=b"PK\x03\x04 not really", headers=headers)
    assert r.status_code == 400, r.text
    error = r.json()["error"]
    assert error["code"] == "bad_feed_format" and error["message"].startswith("broken.xlsx: not a readable .xlsx")
    r = client.post(URL, params={"format": "csv"}, content=b"text,source_id\n\x81\x00\x81\x00,1\n", headers=headers)
    assert r.status_code == 400 and r.json()["error"]["code"] == "undecodable_file", r.text
    message = r.json()["error"]["message"]
    assert message.startswith("the csv upload: cannot decode the text at byte offset 15")
    assert "riskmine-batch" not in message  # the spooled file's path is not shown
    r = client.post(URL, params={"format": "csv"}, content="涉及产品,风险信息内容\n".encode(), headers=headers)
    assert r.status_code == 422 and r.json()["error"]["code"] == "empty_batch", r.text
    r = client.post(URL, params={"format": "csv"}, content=b"  \n", headers=headers)
    assert r.status_code == 422 and r.json()["error"]["code"] == "empty_batch"
    r = client.post(URL, params={"format": "pdf"}, content=b"x", headers=headers)
    assert r.status_code == 415
    assert client.get(URL, headers=headers).json()["total"] == 0


def test_over_size_upload_is_refused_with_413(make_client: Callable[..., TestClient], users: UserStore) -> None:
    client = make_client(max_upload_bytes=2_000)
    headers = station_login(client, users, STATION, "station-a")
    row = json.dumps({"text": "充电宝起火" * 50, "source_id": "big"}, ensure_ascii=False)
    body = "\n".join([row] * 10).encode()
    r = client.post(URL, params={"format": "jsonl"}, content=body, headers=headers)
    assert r.status_code == 413
    assert r.json()["error"]["code"] == "payload_too_large" and "2,000 bytes" in r.json()["error"]["message"]
    assert client.get(URL, headers=headers).json()["total"] == 0


def test_stations_see_only_their_own_batches(
    client: TestClient, users: UserStore, login: Callable[..., dict[str, str]]
) -> None:
    mine = station_login(client, users, STATION, "station-a")
    other = station_login(client, users, "某检测机构", "station-b")
    body = (FEEDS / "station_general.csv").read_bytes()
    batch = client.post(URL, content=body, headers={**mine, "Content-Type": "text/csv"}).json()

    r = client.post(URL, content=body, headers={**other, "Content-Type": "text/csv"})
    assert r.status_code == 403 and "某检测机构" in r.json()["error"]["message"]
    assert client.get(URL, headers=other).status_code == 403
    assert client.get(batch["url"], headers=other).status_code == 403
    # the other station's own listing does not show it, nor the batch under its name
    assert client.get("/api/v1/stations/某检测机构/batches", headers=other).json()["total"] == 0
    missing = client.get(f"/api/v1/stations/某检测机构/batches/{batch['batch_id']}", headers=other)
    assert missing.status_code == 404

    for role in ("analyst", "admin"):
        seen = client.get(batch["url"], headers=login(role))
        assert seen.status_code == 200 and seen.json()["batch_id"] == batch["batch_id"]
    assert client.get(URL, headers=login("viewer")).status_code == 403
    assert client.get(URL).status_code == 401
    assert client.post(URL, content=body, headers={"Content-Type": "text/csv"}).status_code == 401


def test_a_station_key_sends_only_its_own_batches_under_its_own_source(
    client: TestClient, users: UserStore, store: SQLiteStore
) -> None:
    owner = users.get_by_username("station-a") or users.create_user("station-a", PASSWORD, "station", STATION)
    _, key = users.create_api_key(owner.id, "uploader")
    row = {"source": "station:某检测机构", "source_id": "k1", "source_type": "complaint", "text": "电热水壶底座漏电"}
    body = json.dumps(row, ensure_ascii=False).encode() + b"\n"
    params = {"format": "jsonl", "process": "false"}
    r = client.post("/api/v1/stations/某检测机构/batches", params=params, content=body, headers={"X-API-Key": key})
    assert r.status_code == 403 and "某检测机构" in r.json()["error"]["message"]
    assert store.count(Collection.documents) == 0
    r = client.post(URL, params=params, content=body, headers={"X-API-Key": key})
    assert r.status_code == 201, r.text
    stored = store.get(Collection.documents, r.json()["document_ids"][0])
    assert stored is not None and stored.source == f"station:{STATION}"
    assert stored.meta["row_source"] == "station:某检测机构"


def test_analyst_may_upload_for_a_station(client: TestClient, login: Callable[..., dict[str, str]]) -> None:
    body = (FEEDS / "station_general.csv").read_bytes()
    r = client.post(URL, content=body, params={"process": "false"}, headers={**login(), "Content-Type": "text/csv"})
    assert r.status_code == 201, r.text
    assert r.json()["submitted_by"] == "analyst-user" and r.json()["processed"] == 0
    # another station's batch with the same bytes is its own batch; its rows are already stored
    r2 = client.post("/api/v1/stations/另一站/batches", content=body, headers={**login(), "Content-Type": "text/csv"})
    assert r2.status_code == 201 and r2.json()["batch_id"] != r.json()["batch_id"]
    assert r2.json()["accepted"] == 3  # stored under the other station's name


def test_feed_url_is_fetched_only_from_allowed_addresses(
    make_client: Callable[..., TestClient], users: UserStore, tmp_path: Path
) -> None:
    import threading
    from functools import partial
    from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

    (tmp_path / "www").mkdir()
    (tmp_path / "www" / "general.csv").write_bytes((FEEDS / "station_general.csv").read_bytes())
    handler = partial(SimpleHTTPRequestHandler, directory=str(tmp_path / "www"))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    feed = f"http://127.0.0.1:{server.server_address[1]}/general.csv"
    try:
        strict = make_client()
        headers = station_login(strict, users, STATION, "station-a")
        refused = strict.post(URL, params={"url": feed}, headers=headers)
        assert refused.status_code == 422 and refused.json()["error"]["code"] == "unsafe_url"
        assert "loopback address 127.0.0.1" in refused.json()["error"]["message"]
        assert strict.post(URL, params={"url": "file:///etc/passwd"}, headers=headers).status_code == 422

        lenient = make_client(allow_private_urls=True)
        r = lenient.post(URL, params={"url": feed}, headers=headers)
        assert r.status_code == 201, r.text
        assert r.json()["filename"] == "general.csv" and r.json()["form"] == "general" and r.json()["accepted"] == 3
        small = make_client(allow_private_urls=True, max_upload_bytes=100)
        too_big = small.post(URL, params={"url": feed}, headers=headers)
        assert too_big.status_code == 413 and too_big.json()["error"]["code"] == "payload_too_large"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
