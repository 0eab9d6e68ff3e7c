"""The report pages: draft the monthly form of a month, edit cells, rows and notes, download the edited draft as
XLSX, CSV, DOCX and PDF; the thematic report as PDF, DOCX and HTML; drafts per user; roles."""

from __future__ import annotations

import csv
import io
import re
from typing import Any

import pytest
from docx import Document
from fastapi.testclient import TestClient
from openpyxl import load_workbook

from tests.api.test_api_console import console_login


@pytest.fixture
def analyst(client: TestClient, users: Any, seeded: dict[str, Any]) -> TestClient:
    console_login(client, users, "analyst")
    return client


def new_draft(client: TestClient, **fields: str) -> str:
    r = client.post("/reports/drafts", data={"period": "2024-05", "form": "general", **fields}, follow_redirects=False)
    assert r.status_code == 303, r.text
    return str(r.headers["location"])


def test_a_drafted_form_is_edited_and_downloaded_in_every_format(analyst: TestClient) -> None:
    page = analyst.get("/reports").text
    assert "月度报送表" in page and "专题分析报告" in page
    url = new_draft(analyst, phone="010-1234")
    editor = analyst.get(url).text
    assert "产品质量安全风险信息报送表" in editor and "涉及产品" in editor and 'name="c0_0"' in editor
    rows = len(re.findall(r'name="drop" value="\d+"', editor))
    assert rows >= 1
    r = analyst.post(
        url,
        data={
            "c0_5": "=建议专项抽查（分析员修改）",
            "filled_by": "张三",
            "notes": "第1行：数据待核实\n\n",
            "add_row": "1",
        },
        follow_redirects=False,
    )
    assert r.status_code == 303 and r.headers["location"].endswith("?done=saved")
    edited = analyst.get(r.headers["location"]).text
    assert "修改已保存" in edited and "=建议专项抽查（分析员修改）" in edited and "第1行：数据待核实" in edited
    assert len(re.findall(r'name="drop" value="\d+"', edited)) == rows + 1
    base = url + "/download"
    csv_file = analyst.get(base, params={"format": "csv"})
    assert csv_file.content.startswith(b"\xef\xbb\xbf") and "attachment" in csv_file.headers["content-disposition"]
    cells = [c for row in csv.reader(io.StringIO(csv_file.content.decode("utf-8-sig"))) for c in row]
    assert "'=建议专项抽查（分析员修改）" in cells and "填报人：张三" in cells
    sheet = load_workbook(io.BytesIO(analyst.get(base, params={"format": "xlsx"}).content)).active
    assert "=建议专项抽查（分析员修改）" in [c.value for row in sheet.iter_rows() for c in row]
    docx = Document(io.BytesIO(analyst.get(base, params={"format": "docx"}).content))
    assert "=建议专项抽查（分析员修改）" in [c.text for t in docx.tables for row in t.rows for c in row.cells]
    pdf = analyst.get(base, params={"format": "pdf"})
    assert pdf.headers["content-type"] == "application/pdf" and pdf.content.startswith(b"%PDF")


def test_rows_are_dropped_and_a_bad_cell_is_refused_with_the_reason(analyst: TestClient) -> None:
    url = new_draft(analyst)
    rows = len(re.findall(r'name="drop" value="\d+"', analyst.get(url).text))
    assert analyst.post(url, data={"drop": "0"}, follow_redirects=False).status_code == 303
    assert len(re.findall(r'name="drop" value="\d+"', analyst.get(url).text)) == rows - 1
    ecommerce = new_draft(analyst, form="ecommerce")
    assert analyst.post(ecommerce, data={"add_row": "1"}, follow_redirects=False).status_code == 303
    editor = analyst.get(ecommerce).text
    last = len(re.findall(r'name="drop" value="\d+"', editor)) - 1
    refused = analyst.post(ecommerce, data={f"c{last}_4": "很多"})  # 差评数 is a whole number
    assert refused.status_code == 422 and "未能保存" in refused.text and "差评数" in refused.text


def test_drafts_are_their_owners_and_deleted(analyst: TestClient, users: Any) -> None:
    url = new_draft(analyst)
    assert "2024-05" in analyst.get("/reports").text
    console_login(analyst, users, "admin")
    assert analyst.get(url).status_code == 404
    assert analyst.get(url + "/download").status_code == 404
    console_login(analyst, users, "analyst")
    draft_id = url.rsplit("/", 1)[1]
    r = analyst.post(f"/reports/drafts/{draft_id}/delete", follow_redirects=False)
    assert r.status_code == 303 and "草稿已删除" in analyst.get(r.headers["location"]).text
    assert analyst.get(url).status_code == 404


def test_the_thematic_report_downloads(analyst: TestClient) -> None:
    params = {"category": "充电宝", "year": "2024"}
    pdf = analyst.get("/reports/thematic", params={**params, "format": "pdf"})
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    docx = analyst.get("/reports/thematic", params={**params, "format": "docx"})
    assert "专题分析报告" in Document(io.BytesIO(docx.content)).paragraphs[0].text
    html = analyst.get("/reports/thematic", params={**params, "format": "html"})
    assert html.headers["content-type"].startswith("text/html") and "2024年充电宝" in html.text
    assert "script-src" not in html.headers["content-security-policy"] and "<script" not in html.text
    missing = analyst.get("/reports/thematic", params={"format": "pdf"})
    assert missing.status_code == 422 and "请填写产品类别" in missing.text


@pytest.mark.parametrize("role", ["viewer", "publisher"])
def test_roles_that_make_no_reports_are_refused(client: TestClient, users: Any, role: str) -> None:
    assert client.get("/reports", follow_redirects=False).headers["location"].startswith("/login")
    console_login(client, users, role)
    assert client.get("/reports").status_code == 403
    assert "/reports" not in client.get("/signals").text.split("<main>")[0]  # no menu entry
