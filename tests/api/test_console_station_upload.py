"""The station page's upload form: a file sent through the console goes through the same intake as the API and
the browser lands on the batch's row-level report, in Chinese; unreadable files, files over the size limit and
uploads for another station get a clear Chinese reason; the form is same-site only and escapes what it shows."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from riskmine.review.users import UserStore
from tests.api.test_api_console import console_login

FEEDS = Path(__file__).resolve().parents[1] / "fixtures" / "feeds"
UPLOAD = "/station/batches"
STATION = "某电商平台监测站"
HTML = {"Accept": "text/html"}


def send(client: TestClient, name: str, body: bytes, media_type: str = "text/csv", **form: str) -> Any:
    files = {"file": (name, body, media_type)}
    return client.post(UPLOAD, files=files, data=form, headers=HTML, follow_redirects=False)


def batches(client: TestClient, station: str = STATION) -> int:
    return int(client.get(f"/api/v1/stations/{station}/batches").json()["total"])


def test_station_uploads_a_csv_and_reads_the_row_report(client: TestClient, users: UserStore) -> None:
    console_login(client, users, "station", organisation=STATION)
    page = client.get("/station")
    assert 'action="/station/batches"' in page.text and 'enctype="multipart/form-data"' in page.text
    assert 'name="station"' not in page.text  # a station sends for its own organisation only
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert 'src="/static/station_upload.js"' in page.text
    assert client.get("/static/station_upload.js").status_code == 200

    r = send(client, "报送表.csv", (FEEDS / "station_general.csv").read_bytes())
    assert r.status_code == 303, r.text
    assert r.headers["location"].startswith("/station?batch=") and r.headers["location"].endswith("#report")
    html = client.get(r.headers["location"]).text
    assert "报送表已接收，以下是逐行处理结果" in html and "处理结果：报送表.csv" in html
    assert '<span class="badge batch-done">已完成</span>' in html
    assert '<dd id="report-rows">3</dd>' in html and '<dd id="report-accepted">3</dd>' in html
    # the warning's row and field, its reason without the machine marker
    assert '<td class="num">第 6 行</td><td>涉及企业数量</td><td>涉及企业数量：“若干”不是数量' in html
    assert 'href="/station?batch=' in html  # the batch list links to each batch's report

    again = send(client, "again.csv", (FEEDS / "station_general.csv").read_bytes())
    assert again.status_code == 303 and "done=replayed" in again.headers["location"]
    assert "该文件此前已报送过，未重复登记" in client.get(again.headers["location"]).text
    assert batches(client) == 1


def test_gbk_file_with_a_bad_row_names_the_row(client: TestClient, users: UserStore) -> None:
    console_login(client, users, "station", organisation=STATION)
    r = send(client, "电商报送表.csv", (FEEDS / "station_ecommerce_gbk.csv").read_bytes())
    assert r.status_code == 303, r.text
    html = client.get(r.headers["location"]).text
    assert "部分接收" in html and '<dd id="report-accepted">2</dd>' in html
    assert '<dd id="report-rejected">1</dd>' in html
    assert '<td class="num">第 6 行</td><td>时间采集范围</td><td>时间采集范围：&#39;上个月&#39; 不是日期范围' in html
    assert "row 6:" not in html


def test_unreadable_files_get_a_chinese_reason_and_are_not_recorded(client: TestClient, users: UserStore) -> None:
    console_login(client, users, "station", organisation=STATION)
    r = send(client, "bad.csv", b"text,source_id\nok,1\n\x81\x00\x81\x00,2\n")
    assert r.status_code == 400
    assert "文件编码无法识别：既不是 UTF-8，也不是 GBK/GB18030（第 3 行，第 20 个字节处）" in r.text
    assert "另存为“CSV UTF-8”" in r.text
    r = send(client, "old.xls", b"\xd0\xcf\x11\xe0", "application/vnd.ms-excel")
    assert r.status_code == 415 and "不支持的文件类型" in r.text
    r = send(client, "header.csv", "涉及产品,风险信息内容\n".encode())
    assert r.status_code == 422 and "文件中没有数据行" in r.text
    r = client.post(UPLOAD, data={}, headers=HTML, follow_redirects=False)
    assert r.status_code == 422 and "没有选择文件" in r.text
    r = send(client, "broken.xlsx", b"PK\x03\x04 not really")
    assert r.status_code == 400 and "文件内容无法按其格式读取" in r.text
    assert 'action="/station/batches"' in r.text  # the page again, with the form
    assert batches(client) == 0


def test_all_rows_rejected_and_hostile_text_escaped(client: TestClient, users: UserStore) -> None:
    console_login(client, users, "admin")
    lines = [{"title": "x"}, {"text": "充电宝鼓包", "source_id": "j2", "<img src=x onerror=alert(1)>": "y"}]
    body = "\n".join(json.dumps(x, ensure_ascii=False) for x in lines).encode()
    r = send(client, "<script>alert(2)</script>.jsonl", body, "application/x-ndjson", station="<b>站</b>")
    assert r.status_code == 303, r.text
    html = client.get(r.headers["location"]).text
    assert "已拒收" in html and "没有一行被接收" in html
    assert "<img src=x" not in html and "&lt;img src=x onerror=alert(1)&gt;" in html
    assert "<script>alert(2)" not in html and "&lt;script&gt;alert(2)&lt;/script&gt;.jsonl" in html
    assert "<b>站</b>" not in html and "&lt;b&gt;站&lt;/b&gt;" in html
    assert "第 1 行" in html and "缺少必填字段 &#39;text&#39;" in html


def test_over_size_file_gets_a_chinese_page(make_client: Callable[..., TestClient], users: UserStore) -> None:
    client = make_client(max_upload_bytes=2_000)
    console_login(client, users, "station", organisation=STATION)
    assert "文件不超过 2 KB" in client.get("/station").text
    r = send(client, "big.csv", "涉及产品,风险信息内容\n".encode() + "电热毯,起火\n".encode() * 400)
    assert r.status_code == 413 and r.headers["content-type"].startswith("text/html")
    assert "文件过大：超过上限 2 KB，请拆分成较小的文件分批报送" in r.text and 'href="/station"' in r.text
    assert batches(client) == 0
    api = client.post(f"/api/v1/stations/{STATION}/batches", content=b"x" * 3_000, headers=HTML)
    assert api.status_code == 413 and api.json()["error"]["code"] == "payload_too_large"  # the API stays JSON


def test_who_may_upload_for_which_station(client: TestClient, users: UserStore) -> None:
    body = (FEEDS / "station_general.csv").read_bytes()
    assert send(client, "a.csv", body).status_code == 401  # not logged in
    console_login(client, users, "station", organisation=STATION)
    r = send(client, "a.csv", body, station="别的监测站")
    assert r.status_code == 403 and "无权为监测站 别的监测站 报送" in r.text
    r = client.post(
        UPLOAD, files={"file": ("a.csv", body, "text/csv")}, headers={**HTML, "Origin": "https://evil.example"}
    )
    assert r.status_code == 403  # posted from another site
    assert batches(client) == 0
    client.post("/logout")
    console_login(client, users, "viewer")
    r = send(client, "a.csv", body, station=STATION)
    assert r.status_code == 403 and "查看者账号不能报送" in r.text
    client.post("/logout")
    console_login(client, users, "analyst")
    r = send(client, "a.csv", body)
    assert r.status_code == 422 and "请填写要报送的监测站名称" in r.text
    r = send(client, "a.csv", body, station=STATION)
    assert r.status_code == 303 and f"station={STATION}" not in r.headers["location"]  # url-encoded
    assert "station=%E6%9F%90" in r.headers["location"]
    assert batches(client) == 1
