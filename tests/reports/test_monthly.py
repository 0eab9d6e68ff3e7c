"""Golden tests of the monthly report form: exact headers, rows, XLSX and CSV that open and round-trip."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from datetime import date
from io import BytesIO, StringIO
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook

from riskmine.feeds import read_feed
from riskmine.reports.errors import DraftError
from riskmine.reports.monthly import MonthlyDraft, build_monthly_draft, parse_draft
from riskmine.reports.monthly_render import render_csv, render_xlsx
from riskmine.reports.periods import parse_period
from riskmine.reports.scope import report_scope
from riskmine.store.sqlite import SQLiteStore
from tests.reports.reportkit import HOSTILE, seed

GENERAL = ["涉及产品", "涉及企业数量", "涉及区域", "风险信息内容", "信息分析", "初步建议", "信息来源"]
ECOMMERCE = [
    "序号",
    "关键词",
    "评论关键词",
    "时间采集范围",
    "差评数",
    "评论数",
    "店铺名称",
    "商品名称",
    "商品地址",
    "商品价格",
    "公司所在区域",
]


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SQLiteStore]:
    s = SQLiteStore(tmp_path / "store.sqlite3")
    seed(s)
    yield s
    s.close()


def draft(store: SQLiteStore, form: str, org: str | None = None, **kw: Any) -> MonthlyDraft:
    return build_monthly_draft(
        store, parse_period("2025-03"), form, org or "示范中心", report_scope(org), filled_at=date(2025, 3, 25), **kw
    )


def test_general_rows(store: SQLiteStore) -> None:
    d = draft(store, "general", filled_by="张三", phone="010-1234")
    assert d.columns == GENERAL
    assert (d.period_start, d.period_end, d.due) == (date(2025, 2, 25), date(2025, 3, 24), date(2025, 3, 25))
    assert [r.candidate_ids for r in d.rows] == [["c-fire"], ["c-kettle"]]  # the rejected candidate is left out
    fire = d.rows[0]
    assert fire.signal_ids == ["s1", "s2", "s3"]  # s5 is in the previous period, s4 in the next
    assert fire.cells["涉及产品"] == "充电宝"
    assert fire.cells["涉及企业数量"] == 1
    assert fire.cells["涉及区域"] == "广东省、浙江省"
    assert "相关风险信息3条（电商评论2条、消费者投诉1条）" in str(fire.cells["风险信息内容"])
    assert "人员受伤1条" in str(fire.cells["风险信息内容"])
    analysis = str(fire.cells["信息分析"])
    assert "本期信息3条，累计5条" in analysis and "上一期1条，环比增长200%" in analysis
    assert fire.cells["初步建议"] == "建议实施监督抽查；发布消费提示。"
    assert "电商评论2条、消费者投诉1条" in str(fire.cells["信息来源"])
    assert "https://shop.example.com/a" in str(fire.cells["信息来源"])


def test_station_sees_its_own_candidates_only(store: SQLiteStore) -> None:
    d = build_monthly_draft(
        store, parse_period("2025-03"), "general", "示范站", report_scope("示范站", include_unassigned=False)
    )
    assert [r.candidate_ids for r in d.rows] == [["c-kettle"]]


def test_ecommerce_counts(store: SQLiteStore) -> None:
    d = draft(store, "ecommerce")
    assert d.columns == ECOMMERCE
    assert len(d.rows) == 1
    cells = d.rows[0].cells
    assert cells["序号"] == 1
    assert (cells["商品名称"], cells["店铺名称"]) == ("移动电源A", "甲店")
    assert (cells["差评数"], cells["评论数"]) == (2, 4)  # s1, s2 of s1, s2, s6, s7 (s8 is another shop)
    assert cells["时间采集范围"] == "2025-02-25至2025-03-24"
    assert cells["评论关键词"] == "起火"
    assert cells["商品地址"] == "https://shop.example.com/a"
    assert cells["商品价格"] == 99.0
    assert cells["公司所在区域"] == "广东省"


def test_xlsx_layout(store: SQLiteStore) -> None:
    d = draft(store, "general", filled_by="张三", phone="010-1234")
    ws = load_workbook(BytesIO(render_xlsx(d))).active
    assert ws["A1"].value == "产品质量安全风险信息报送表（行业组织、检验检测机构）"
    assert ws["A2"].value == "填报单位：示范中心"
    assert ws["D2"].value == "填报时间：2025年03月25日"
    assert [c.value for c in ws[3]] == GENERAL
    assert ws["A4"].value == "充电宝" and ws["B4"].value == 1
    assert ws["D4"].alignment.wrap_text
    assert ws.column_dimensions["D"].width == 40
    assert ws["A7"].value == "填报人：张三" and ws["D7"].value == "联系电话：010-1234"


@pytest.mark.parametrize("form", ["general", "ecommerce"])
def test_xlsx_prints_on_a4_landscape(store: SQLiteStore, form: str) -> None:
    d = draft(store, form, filled_by="张三", phone="010-1234")
    d.notes = ["本表由系统生成初稿，" * 20]
    d.rows[0].cells[d.columns[-1]] = "很长的一段说明文字，" * 30
    ws = load_workbook(BytesIO(render_xlsx(d))).active
    setup = ws.page_setup
    assert setup.paperSize == 9 and setup.orientation == "landscape"  # 9: A4
    assert ws.sheet_properties.pageSetUpPr.fitToPage  # without it Excel ignores the fit
    assert (setup.fitToWidth, setup.fitToHeight) == (1, 0)  # one page wide, as many pages down as needed
    assert ws.print_title_rows == "$3:$3"  # the column headers on every printed page
    assert ws.print_area == f"'报送表'!$A$1:${chr(64 + len(d.columns))}${len(d.rows) + 6}"
    assert "&P" in ws.oddFooter.center.text and "&N" in ws.oddFooter.center.text
    header, body = ws[3], [ws[r] for r in range(4, 4 + len(d.rows))]
    assert all(c.alignment.wrap_text for c in header)
    assert all(c.alignment.wrap_text for row in body for c in row)
    # every column has its own width, and the form fits the printable width at 80% or more
    widths = [ws.column_dimensions[chr(65 + i)].width for i in range(len(d.columns))]
    assert all(6 <= w <= 40 for w in widths)
    printable_in = 11.69 - ws.page_margins.left - ws.page_margins.right
    sheet_in = sum(w * 7 + 5 for w in widths) / 96  # Excel's column width in pixels at 96 dpi
    assert printable_in / sheet_in >= 0.8
    # rows are tall enough for their wrapped text: the long cell takes several lines, a short row one
    long_row = ws.row_dimensions[4].height
    assert long_row is not None and long_row >= 15 * 300 / (widths[-1] - 1)
    notes = ws.row_dimensions[len(d.rows) + 6].height
    assert notes is not None and notes > 15
    assert any(str(m) == f"A{len(d.rows) + 6}:{chr(64 + len(d.columns))}{len(d.rows) + 6}" for m in ws.merged_cells)


def test_text_never_becomes_a_formula(store: SQLiteStore) -> None:
    d = draft(store, "general")
    d.rows[0].cells["初步建议"] = HOSTILE[25:]  # '=HYPERLINK("x")'
    d = parse_draft(d.model_dump(mode="json"))
    ws = load_workbook(BytesIO(render_xlsx(d))).active
    assert ws["F4"].value == '=HYPERLINK("x")' and ws["F4"].data_type == "s"
    assert "'=HYPERLINK" in render_csv(d).decode("utf-8-sig")


def test_no_draft_field_becomes_a_formula(store: SQLiteStore) -> None:
    data = draft(store, "general").model_dump(mode="json")
    data["title"] = '=HYPERLINK("http://evil.example","x")'
    data["subtitle"] = "+1"
    data["notes"] = ["@SUM(A1)"]
    data["rows"][0]["cells"]["涉及产品"] = "-2+3"
    d = parse_draft(data)
    ws = load_workbook(BytesIO(render_xlsx(d))).active
    formulas = [c.coordinate for row in ws.iter_rows() for c in row if c.data_type == "f"]
    assert formulas == []
    assert ws["A1"].value == '=HYPERLINK("http://evil.example","x")+1'
    assert ws["A4"].value == "-2+3"
    rows = list(csv.reader(StringIO(render_csv(d).decode("utf-8-sig"))))
    assert rows[0][0].startswith("'=HYPERLINK") and rows[3][0] == "'-2+3"


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
@pytest.mark.parametrize("form", ["general", "ecommerce"])
def test_files_round_trip_through_the_station_feed_reader(
    store: SQLiteStore, tmp_path: Path, fmt: str, form: str
) -> None:
    d = draft(store, form, filled_by="张三", phone="010-1234")
    path = tmp_path / f"form.{fmt}"
    path.write_bytes(render_csv(d) if fmt == "csv" else render_xlsx(d))
    if fmt == "csv":
        assert path.read_bytes().startswith(b"\xef\xbb\xbf")
    feed = read_feed(path)
    rows = [row for _, row in feed.rows]
    assert feed.info.form == form
    assert feed.info.preamble["填报单位"] == "示范中心"
    assert len(rows) == len(d.rows)
    for got, want in zip(rows, d.rows, strict=True):
        assert isinstance(got, dict), got
        cells, meta = want.cells, got["meta"]
        assert meta["reporting_unit"] == "示范中心" and meta["reporting_date"] == "2025-03-25"
        if form == "general":
            assert (got["product"], got["region"]) == (cells["涉及产品"], cells["涉及区域"])
            assert str(got["text"]).startswith(str(cells["风险信息内容"]))
            assert meta["enterprise_count"] == cells["涉及企业数量"]
            assert (meta["analysis"], meta["suggestion"], meta["info_source"]) == (
                cells["信息分析"],
                cells["初步建议"],
                cells["信息来源"],
            )
        else:
            assert (got["product"], got["shop"], got["url"]) == (
                cells["商品名称"],
                cells["店铺名称"],
                cells["商品地址"],
            )
            assert float(got["price"]) == cells["商品价格"]
            assert (meta["negative_reviews"], meta["reviews"]) == (cells["差评数"], cells["评论数"])
            assert meta["collection_period"]["start"] == "2025-02-25"
            assert meta["comment_keywords"] == cells["评论关键词"]


def test_edited_draft_is_rendered(store: SQLiteStore) -> None:
    data = draft(store, "general").model_dump(mode="json")
    data["rows"][0]["cells"]["信息分析"] = "经专家研判，属行业性风险。"
    data["filled_by"] = "李四"
    edited = parse_draft(data)
    ws = load_workbook(BytesIO(render_xlsx(edited))).active
    assert ws["E4"].value == "经专家研判，属行业性风险。"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d["rows"][1]["cells"].update({"备注": "x"}), "row 2: unknown column '备注'"),
        (lambda d: d["rows"][0]["cells"].update({"涉及企业数量": "很多"}), "row 1, column 涉及企业数量"),
        (lambda d: d["rows"][0]["cells"].update({"信息分析": "长" * 6000}), "row 1, column 信息分析: 6000 characters"),
        (lambda d: d.update({"form": "weekly"}), "form"),
        (lambda d: d.update({"columns": d["columns"][::-1]}), "columns must be exactly"),
        (lambda d: d.update({"period": "2025-13"}), "month 13"),
        (lambda d: d.update({"surprise": 1}), "surprise"),
        (lambda d: d["rows"][0].update({"cells": "x"}), "row 1"),
    ],
)
def test_bad_drafts_name_the_problem(store: SQLiteStore, change: Any, message: str) -> None:
    data = draft(store, "general").model_dump(mode="json")
    change(data)
    with pytest.raises(DraftError, match=message.replace("(", r"\(")):
        parse_draft(data)


def test_empty_period_says_so(store: SQLiteStore) -> None:
    d = build_monthly_draft(store, parse_period("2024-03"), "general", "示范中心", report_scope(None))
    assert d.rows == [] and "本期无符合条件的风险信息。" in d.notes


def test_analysis_sentences_read_the_candidates_statistics() -> None:
    from datetime import date, timedelta

    from riskmine.knowledge_graph.statistics import prr_test, trend_statistics
    from riskmine.reports.monthly import _statistics_text

    today = date(2025, 3, 24)
    rising = {(today - timedelta(days=i)).isoformat(): 3 for i in range(5)}  # a burst after a quiet baseline
    rising[(today - timedelta(days=40)).isoformat()] = 1
    statistics = {"trend": trend_statistics(rising, today), "disproportionality": prr_test(55, 23, 17, 403)}
    sentences = _statistics_text(statistics)
    assert len(sentences) == 3, sentences
    assert sentences[0].startswith("EARS C2=") and "阈值3" in sentences[0]
    assert "泊松检验" in sentences[1] and sentences[1].endswith("显著上升")
    assert sentences[2].startswith("比例报告比PRR=17.4") and sentences[2].endswith("构成比例失衡信号")
    assert _statistics_text({"daily_events": {"2025-03-01": 1}, "inputs": {}}) == []  # inputs are not tests
