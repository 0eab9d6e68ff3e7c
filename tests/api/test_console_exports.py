"""Exports of the queue and the signals page (CSV with BOM, XLSX; exactly what the filter shows, every page, capped
with a Chinese line; formula injection guarded) and saved filters (save, list, apply, delete; per user)."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook

from riskmine.schema.labels import CANDIDATE_EXPORT_COLUMNS, SIGNAL_EXPORT_COLUMNS
from riskmine.store.base import Collection, DuplicatePolicy
from riskmine.store.sqlite import SQLiteStore
from tests.api.test_api_console import console_login


def read_csv(r: Any) -> list[list[str]]:
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/csv") and r.content.startswith(b"\xef\xbb\xbf")
    assert "attachment" in r.headers["content-disposition"]
    return list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))


@pytest.fixture
def analyst(client: TestClient, users: Any, seeded: dict[str, Any]) -> TestClient:
    console_login(client, users, "analyst")
    return client


def test_the_candidate_export_is_what_the_queue_filter_shows(analyst: TestClient, seeded: dict[str, Any]) -> None:
    rows = read_csv(analyst.get("/export/candidates", params={"hazard": "fire", "page": "2", "format": "csv"}))
    assert rows[0] == list(CANDIDATE_EXPORT_COLUMNS.values())
    fire = [c for c in seeded["candidates"] if c.hazard is not None and c.hazard.value == "fire"]
    assert sorted(r[0] for r in rows[1:]) == sorted(c.id for c in fire) and fire  # every page, not page 2
    assert all(r[4] == "起火/冒烟" for r in rows[1:])
    everything = read_csv(analyst.get("/export/candidates"))
    assert len(everything) == 1 + len(seeded["candidates"])
    queue = analyst.get("/").text  # the queue's order: immediate tier first, by priority
    order = [m for m in re.findall(r'href="/candidates/([^"]+)"', queue)]
    assert [r[0] for r in everything[1 : 1 + len(order)]] == order


def test_the_signal_export_follows_the_search_and_guards_formulas(analyst: TestClient, store: SQLiteStore) -> None:
    signal = store.query(Collection.signals, limit=1).items[0]
    signal.document.title = '=HYPERLINK("http://evil.example/","点我")'
    store.write(Collection.signals, [signal], DuplicatePolicy.overwrite)
    rows = read_csv(analyst.get("/export/signals", params={"format": "csv"}))
    assert rows[0] == list(SIGNAL_EXPORT_COLUMNS.values())
    assert len(rows) - 1 == store.query(Collection.signals, limit=0).total
    titles = [r[4] for r in rows[1:]]
    assert '\'=HYPERLINK("http://evil.example/","点我")' in titles and not any(t.startswith("=") for t in titles)
    book = load_workbook(io.BytesIO(analyst.get("/export/signals", params={"format": "xlsx"}).content))
    sheet = book.active
    cells = [c for row in sheet.iter_rows() for c in row if c.value == '=HYPERLINK("http://evil.example/","点我")']
    assert cells and all(c.data_type == "s" for c in cells)  # text, never a formula
    hits = read_csv(analyst.get("/export/signals", params={"q": "起火"}))
    assert 1 <= len(hits) - 1 < len(rows) - 1


def test_an_export_over_the_cap_says_so_in_chinese(
    make_client: Callable[..., TestClient], users: Any, seeded: dict[str, Any]
) -> None:
    assert len(seeded["candidates"]) > 1
    client = make_client(export_max_rows=1)
    console_login(client, users, "analyst")
    rows = read_csv(client.get("/export/candidates"))
    assert len(rows) == 1 + 1 + 1
    assert (
        rows[-1][0] == f"仅导出前 1 条（共 {len(seeded['candidates'])} 条，超过导出上限）：请缩小筛选范围后分批导出。"
    )
    sheet = load_workbook(io.BytesIO(client.get("/export/candidates?format=xlsx").content)).active
    assert sheet.max_row == 3 and str(sheet.cell(row=3, column=1).value).startswith("仅导出前 1 条")


def test_exports_need_a_reader(client: TestClient, users: Any) -> None:
    r = client.get("/export/signals", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/login")
    console_login(client, users, "api_consumer")
    assert client.get("/export/candidates", follow_redirects=False).headers["location"] == "/advisories"


def test_saved_filters_are_saved_listed_applied_and_deleted_per_user(analyst: TestClient, users: Any) -> None:
    queue = analyst.get("/", params={"hazard": "fire"}).text
    assert 'name="query" value="hazard=fire"' in queue and "/export/candidates?hazard=fire&amp;format=xlsx" in queue
    r = analyst.post(
        "/filters", data={"page": "queue", "name": "起火类", "query": "hazard=fire&page=3"}, follow_redirects=False
    )
    assert r.status_code == 303 and r.headers["location"] == "/filters?done=saved"
    listed = analyst.get(r.headers["location"]).text
    assert "筛选条件已保存" in listed and "起火类" in listed and "危害：起火/冒烟" in listed
    assert 'href="/?hazard=fire"' in listed
    refused = analyst.post("/filters", data={"page": "queue", "name": " ", "query": ""})
    assert refused.status_code == 422 and "请为筛选条件填写名称" in refused.text
    filter_id = re.search(r'action="/filters/([0-9a-f]+)/delete"', listed).group(1)  # type: ignore[union-attr]
    console_login(analyst, users, "viewer")  # another user sees none of it and cannot delete it
    assert "起火类" not in analyst.get("/filters").text
    assert analyst.post(f"/filters/{filter_id}/delete").status_code == 404
    console_login(analyst, users, "analyst")
    assert analyst.post(f"/filters/{filter_id}/delete", follow_redirects=False).status_code == 303
    assert "起火类" not in analyst.get("/filters").text
