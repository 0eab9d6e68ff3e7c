"""The stations' report forms: recognised by header, mapped to RawDocument fields, from CSV and XLSX."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest
from openpyxl import Workbook

from riskmine.feeds import ECOMMERCE, GENERAL, SPOT_CHECK, Rejection, detect_form, map_form_row, read_feed
from riskmine.feeds.forms import ECOMMERCE_COLUMNS, GENERAL_COLUMNS, form_column
from riskmine.feeds.values import FieldValueError

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "feeds"


def split(rows: list[tuple[int, Any]]) -> tuple[dict[int, dict[str, Any]], dict[int, Rejection]]:
    ok = {n: r for n, r in rows if not isinstance(r, Rejection)}
    bad = {n: r for n, r in rows if isinstance(r, Rejection)}
    return ok, bad


def make_xlsx(path: Path, rows: list[list[Any]]) -> Path:
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "报送表"
    for row in rows:
        ws.append(row)
    ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(rows[2]))
    wb.save(path)
    return path


TAIL = ["商品地址", "商品价格（元）", "公司所在区域"]


def test_detect_form_by_headers() -> None:
    assert detect_form(GENERAL_COLUMNS) == GENERAL
    assert detect_form(ECOMMERCE_COLUMNS) == ECOMMERCE
    # the seed's own spellings: header cells split over lines, stray '复制', full-width and spaces
    assert (
        detect_form(
            [
                " 序号 ",
                "关键词",
                "评论关键词\n复制",
                "时间采集\n范围",
                "差评数",
                "评论数",
                "店铺名称",
                "商品名称",
                *TAIL,
            ]
        )
        == ECOMMERCE
    )
    assert detect_form(["涉 及 产 品", "涉及企业数量", "涉及区域", "风险信息内容：", "信息来源"]) == GENERAL
    assert detect_form(["标题", "内容", "发布时间"]) is None
    assert detect_form(["风险信息内容", "信息来源"]) is None  # too few columns: plain alias mapping applies
    assert form_column("时间采集\u3000范围") == "时间采集范围"


def test_general_form_csv_fixture() -> None:
    feed = read_feed(FIXTURES / "station_general.csv")
    ok, bad = split(list(feed.rows))
    assert feed.info.form == GENERAL
    assert feed.info.header_row == 3
    assert sorted(ok) == [4, 5, 6]  # the empty row and the 填报人 footer are skipped
    first = ok[4]
    assert first["source_type"] == "station_report"
    assert first["text"].startswith("多起电动自行车在楼道充电时电池起火")
    assert "信息分析：锂电池热失控" in first["text"]
    assert "初步建议：开展专项抽查" in first["text"]
    assert first["product"] == "电动自行车"
    assert first["region"] == "上海市"
    assert first["published_at"] == date(2024, 5, 25)  # 填报时间 in the title row
    assert first["meta"] == {
        "form": GENERAL,
        "reporting_unit": "上海市某行业协会",
        "reporting_date": "2024-05-25",
        "enterprise_count": 3,
        "analysis": "锂电池热失控，充电器与电池不匹配",
        "suggestion": "开展专项抽查，发布消费提示",
        "info_source": "网络舆情",
    }
    assert ok[5]["meta"]["enterprise_count"] == 2  # '2家'
    # A 涉及企业数量 of 若干 leaves the count empty with a warning; the row's risk content is kept.
    assert bad == {}
    assert ok[6]["text"].startswith("电热毯局部过热烧焦床单") and "enterprise_count" not in ok[6]["meta"]
    assert ok[6]["meta"]["warnings"] == [
        {"field": "涉及企业数量", "reason": "涉及企业数量：“若干”不是数量，已留空；本行其余内容照常接收", "row": 6}
    ]


def test_ecommerce_form_gbk_csv_fixture() -> None:
    feed = read_feed(FIXTURES / "station_ecommerce_gbk.csv")
    ok, bad = split(list(feed.rows))
    assert feed.info.form == ECOMMERCE
    assert sorted(ok) == [4, 5]  # row 7 holds only a pre-filled 序号, row 8 the footer
    first = ok[4]
    assert first["source_type"] == "station_report"
    assert first["shop"] == "某某数码专营店"
    assert first["product"] == first["title"] == "20000毫安充电宝"
    assert first["url"] == "https://item.example.com/1001.html"
    assert first["price"] == "￥99.00"  # parsed by the ingest service
    assert first["region"] == "广东省深圳市"
    assert "评论关键词：爆炸 起火 发烫" in first["text"]
    assert first["meta"]["negative_reviews"] == 12
    assert first["meta"]["reviews"] == 340
    assert first["meta"]["collection_period"] == {
        "start": "2024-04-25",
        "end": "2024-05-24",
        "text": "2024.4.25-2024.5.24",
    }
    assert first["published_at"] == date(2024, 5, 24)  # end of the collection period
    assert ok[5]["meta"]["reviews"] == 1200  # '1,200'
    assert ok[5]["meta"]["collection_period"]["start"] == "2024-04-25"
    assert bad[6].field == "时间采集范围"
    assert bad[6].reason.startswith("row 6: 时间采集范围：'上个月' 不是日期范围")


def test_ecommerce_ids_differ_by_period_so_a_later_month_is_new() -> None:
    row = {"商品地址": "https://item.example.com/1.html", "评论关键词": "起火", "时间采集范围": "2024.4.25-2024.5.24"}
    later = dict(row, 时间采集范围="2024.5.25-2024.6.24")
    assert map_form_row(ECOMMERCE, row)["source_id"] != map_form_row(ECOMMERCE, later)["source_id"]
    assert map_form_row(ECOMMERCE, row)["source_id"] == map_form_row(ECOMMERCE, dict(row))["source_id"]


def test_form_rows_missing_content_say_which_column() -> None:
    with pytest.raises(FieldValueError, match="缺少必填字段 '风险信息内容'"):
        map_form_row(GENERAL, {"涉及产品": "电热毯", "信息分析": "温控器失效"})
    with pytest.raises(FieldValueError, match="缺少必填字段 '评论关键词'"):
        map_form_row(ECOMMERCE, {"序号": 1, "店铺名称": "某店", "差评数": 3})
    with pytest.raises(ValueError, match="unknown form"):
        map_form_row("other", {})


def test_columns_outside_the_form_pass_through_for_the_ingest_service() -> None:
    row = map_form_row(GENERAL, {"风险信息内容": "插座过热", "备注": "复核中", "品牌": "某牌"})
    assert row["备注"] == "复核中"
    assert row["品牌"] == "某牌"


GENERAL_XLSX_ROWS: list[list[Any]] = [
    ["上海市产品质量安全风险信息报送表", None, None, None, None, None, None],
    ["填报单位：", "上海市某检验检测机构", None, None, "填报时间：", datetime(2024, 6, 25), None],
    ["涉及产品", "涉及企业\n数量", "涉及区域", "风险信息内容", "信息分析", "初步建议", "信息来源"],
    [
        "电动自行车充电器",
        4,
        "上海市浦东新区",
        "充电器外壳阻燃等级不达标，存在起火隐患",
        "材料以次充好",
        "监督抽查",
        "检测发现",
    ],
    [None, None, None, None, None, None, None],
    ["填报人：王五", None, None, "联系电话：021-87654321", None, None, None],
]

ECOMMERCE_TAIL = ["https://item.example.com/9", 129.0, "浙江省宁波市"]
ECOMMERCE_XLSX_ROWS: list[list[Any]] = [
    ["上海市产品质量安全风险信息报送表（电商平台）"] + [None] * 10,
    ["填报单位：某电商平台监测站", None, None, None, None, None, None, None, "填报时间：2024年6月27日", None, None],
    list(ECOMMERCE_COLUMNS),
    [1, "暖风机", "烧焦 冒烟", "2024年5月25日至6月24日", 7, 210, "某电器店", "小型暖风机", *ECOMMERCE_TAIL],
    [2, None, None, None, None, None, None, None, None, None, None],
]


@pytest.mark.parametrize(("rows", "form"), [(GENERAL_XLSX_ROWS, GENERAL), (ECOMMERCE_XLSX_ROWS, ECOMMERCE)])
def test_forms_as_xlsx_with_a_title_row(tmp_path: Path, rows: list[list[Any]], form: str) -> None:
    feed = read_feed(make_xlsx(tmp_path / f"{form}.xlsx", rows))
    ok, bad = split(list(feed.rows))
    assert feed.info.form == form
    assert feed.info.header_row == 3
    assert not bad
    assert list(ok) == [4]
    row = ok[4]
    assert row["source_type"] == "station_report"
    if form == GENERAL:
        assert row["meta"]["enterprise_count"] == 4
        assert row["meta"]["reporting_unit"] == "上海市某检验检测机构"  # value in the cell after the key
        assert row["published_at"] == date(2024, 6, 25)
        assert row["text"].startswith("充电器外壳阻燃等级不达标")
    else:
        assert row["meta"]["collection_period"] == {
            "start": "2024-05-25",
            "end": "2024-06-24",
            "text": "2024年5月25日至6月24日",
        }
        assert row["meta"]["negative_reviews"] == 7
        assert row["price"] == 129
        assert row["meta"]["reporting_unit"] == "某电商平台监测站"


def test_spot_check_table_becomes_spot_check_rows() -> None:
    feed = read_feed(FIXTURES / "spot_check.csv")
    ok, bad = split(list(feed.rows))
    assert feed.info.form == SPOT_CHECK
    assert sorted(ok) == [2, 3]
    failed = ok[2]
    assert failed["source_type"] == "spot_check"
    assert failed["product"] == "示例粉条"
    assert failed["enterprise"] == "示例食品加工坊"
    assert failed["title"] == "示例粉条不合格"
    # the wording of the labelled corpus (scripts/corpus/spotcheck.py)
    assert failed["text"] == (
        "【监督抽查】示例粉条（淀粉及淀粉制品/淀粉制品）山梨酸及其钾盐（以山梨酸计） 不合格，检测结果 0.161g/kg，"
        "标准 不得使用，生产商 示例食品加工坊，国内监督抽查(示例市场监管局) 2024-04-02"
    )
    assert (
        ok[3]["text"]
        == "【监督抽查】示例雪糕（冷冻饮品/雪糕）抽检合格，生产商 未标注，国内监督抽查(示例市场监管局) 2024-04-02"
    )
    assert failed["published_at"] == "2024-04-02"
    assert failed["meta"]["verdict"] == "不合格"
    assert failed["meta"]["supplier"] == "示例豆制品经销部"
    assert failed["meta"]["production_date"] == "2024-03-14"
    assert "enterprise" not in ok[3]  # '/' means none
    assert bad[4].reason == "row 4: 缺少必填字段 '物料名称'（被抽检的产品）"
    assert bad[5].field == "生产日期" and "该月没有这一天" in bad[5].reason
    with pytest.raises(FieldValueError, match="缺少必填字段 '判定'"):
        map_form_row(SPOT_CHECK, {"物料名称": "示例", "检测项目": "铅"})


def test_columns_of_another_form_are_not_swallowed() -> None:
    row = map_form_row(GENERAL, {"风险信息内容": "插座过热", "产品名称": "插座"})
    assert row["产品名称"] == "插座"  # a spot-check column name, passed through (maps to product later)
