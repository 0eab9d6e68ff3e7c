"""Rejection reasons are Chinese behind a machine-stable "row N: " / "line N: " marker, and name the field."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from riskmine.feeds.messages import MESSAGES, at, date_detail, message
from riskmine.feeds.rows import Rejection
from riskmine.ingest import ingest_path, ingest_rows
from riskmine.store.sqlite import SQLiteStore

_CJK = re.compile(r"[\u4e00-\u9fff]")

GENERAL_FORM = (
    "涉及产品,涉及企业数量,涉及区域,风险信息内容,信息分析,初步建议,信息来源\n"
    "电热水壶,2,上海,壶底漏电,绝缘不良,约谈企业,12315\n"
    "电动车充电器,3,上海,,,,\n"
)
ECOMMERCE_FORM = (
    "序号,关键词,评论关键词,时间采集范围,差评数,评论数,店铺名称,商品名称,商品地址,商品价格,公司所在区域\n"
    "1,充电宝,发烫,2024.4.25-2024.5.24,12,300,甲店,充电宝A,https://a.example/1,99,上海\n"
    "2,充电宝,鼓包,2024.4.25-2024.5.24,x,300,乙店,充电宝B,https://a.example/2,99,上海\n"
    "3,取暖器,起火,上个月,5,80,丙店,取暖器C,https://a.example/3,199,上海\n"
)
REVIEWS = (
    "内容,发布时间,价格,评分,链接,颜色\n"
    "正常评论,2024-05-01,99,5,https://a.example/r,\n"
    "漏电,昨天,,,,\n"
    "起火,2024-05-01,abc,,,\n"
    "冒烟,,,很好,,\n"
    "发烫,,,,javascript:alert(1),\n"
    ",2024-05-01,99,,,\n"
    "异味,,,,,红色\n"
    "多,了,一,些,值,啊,呀\n"
    "鼓包,2024-02-30,,,,\n"
)
JSONL = "\n".join(
    [
        json.dumps({"text": "正常"}, ensure_ascii=False),
        "{bad",
        "[1]",
        json.dumps({"text": "x", "rating": -1}),
        json.dumps({"text": ["a"]}),
        json.dumps({"text": "x", "meta": "{bad"}),
        json.dumps({"text": "x", "source_type": "blog"}),
        json.dumps({"title": "没有正文"}, ensure_ascii=False),
        json.dumps({"text": "x", "colour": "red"}),
    ]
)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SQLiteStore]:
    s = SQLiteStore(tmp_path / "riskmine.sqlite3")
    yield s
    s.close()


def _check(rejections: list[Rejection], unit: str) -> None:
    for r in rejections:
        assert r.reason.startswith(f"{unit} {r.row}: "), r.reason
        assert _CJK.search(r.reason.split(": ", 1)[1]), r.reason
        assert not re.search(r"\b(?:is not|missing|unknown|values but|not valid|must be)\b", r.reason), r.reason
        if r.field is not None:
            assert r.field in r.reason, r


def test_a_hostile_feed_is_explained_in_chinese_row_by_row(store: SQLiteStore, tmp_path: Path) -> None:
    reviews = tmp_path / "reviews.csv"
    reviews.write_text(REVIEWS, encoding="utf-8")
    report = ingest_path(reviews, store, source_type="review")
    assert report.accepted == 1
    fields = {r.row: r.field for r in report.rejected}
    assert fields == {
        3: "published_at",
        4: "price",
        5: "rating",
        6: "url",
        7: "text",
        8: "颜色",
        9: None,
        10: "published_at",
    }
    _check(report.rejected, "row")

    lines = tmp_path / "feed.jsonl"
    lines.write_text(JSONL, encoding="utf-8")
    report = ingest_path(lines, store, source_type="review")
    assert report.accepted == 1
    assert {r.row: r.field for r in report.rejected} == {
        2: None,
        3: None,
        4: "rating",
        5: "text",
        6: "meta",
        7: "source_type",
        8: "text",
        9: "colour",
    }
    _check(report.rejected, "line")

    for name, body, expected in (
        ("综合报送表.csv", GENERAL_FORM, {3: "风险信息内容"}),
        ("电商报送表.csv", ECOMMERCE_FORM, {3: "差评数", 4: "时间采集范围"}),
    ):
        form = tmp_path / name
        form.write_text(body, encoding="utf-8")
        report = ingest_path(form, store)
        assert {r.row: r.field for r in report.rejected} == expected, report.rejected
        _check(report.rejected, "row")

    report = ingest_rows([["不是对象"], {"text": "没有来源类型"}], store, source="demo")
    assert [r.row for r in report.rejected] == [1, 2]
    _check(report.rejected, "row")


def test_the_wording_table_fills_in_and_keeps_the_marker() -> None:
    assert at("row", 6, message("field_value", field="涉及企业数量", detail=message("not_count", value="'若干'"))) == (
        "row 6: 涉及企业数量：'若干' 不是整数"
    )
    assert date_detail("month must be in 1..12") == "月份应在 1–12 之间"
    assert date_detail("something new") == "something new"
    assert all(_CJK.search(text) for key, text in MESSAGES.items() if key not in ("at", "field_value"))
