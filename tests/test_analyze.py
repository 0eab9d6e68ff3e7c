"""The analyze contract: order kept, every field present, bad rows answered in place, nothing stored."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from riskmine.analyze import analyze_file, analyze_rows, parse_item
from riskmine.pipeline import Pipeline
from riskmine.schema import HazardType, RawDocument
from riskmine.settings import Settings

KEYS = {"id", "is_risk", "risk_score", "hazards", "harm_occurred", "product_category", "risk_level", "evidence"}


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory: pytest.TempPathFactory, shared_models_dir: Path) -> Pipeline:
    # module scope: the per-test settings are not set yet, so name the session's models (and a var dir) here
    settings = Settings(var_dir=tmp_path_factory.mktemp("var"), models_dir=shared_models_dir)
    return Pipeline.from_settings(settings, None)


def test_results_keep_input_order_and_contract(pipeline: Pipeline) -> None:
    rows = [
        {"id": "a", "text": "热水器洗澡的时候漏电，手一碰就麻，太危险了", "product": "热水器"},
        {"id": "b", "text": "物流很快，东西不错"},
        {"id": "c", "text": "儿童玩具的小零件掉下来，孩子差点误吞，送医院检查了", "rating": "1星"},
    ]
    results, rejected = analyze_rows(rows, pipeline)
    assert rejected == []
    assert [r["id"] for r in results if r] == ["a", "b", "c"]
    for r in results:
        assert r is not None and set(r) == KEYS
        assert 0.0 <= r["risk_score"] <= 1.0
        assert all(h in HazardType.__members__ for h in r["hazards"])
    a, b, _ = results
    assert a is not None and a["is_risk"] and "electric_shock" in a["hazards"] and a["evidence"]
    assert b is not None and not b["is_risk"] and b["hazards"] == [] and b["risk_level"] is None


def test_bad_rows_are_rejected_in_place(pipeline: Pipeline) -> None:
    rows = [
        {"id": "ok", "text": "充电宝冒烟了"},
        {"id": "x"},
        {"text": "无编号"},
        {"id": "y", "text": "t", "colour": 1},
        7,
    ]
    results, rejected = analyze_rows(rows, pipeline)
    assert results[0] is not None and results[1:] == [None, None, None, None]
    assert [r.row for r in rejected] == [2, 3, 4, 5]
    assert "缺少必填字段 'text'" in rejected[0].reason
    assert "'id'" in rejected[1].reason
    assert "未知字段 'colour'" in rejected[2].reason
    assert rejected[2].field == "colour"


def test_parse_item_maps_fields() -> None:
    doc = parse_item(1, {"id": 5, "text": "t", "rating": "4.5分", "source_type": "news", "published_at": "2026-01-01"})
    assert isinstance(doc, RawDocument)
    assert doc.source_id == "5" and doc.rating == 4.5 and doc.source_type == "news"
    bad = parse_item(1, {"id": "1", "text": "t", "source_type": "tweet"})
    assert not isinstance(bad, RawDocument) and bad.field == "source_type"


def test_analyze_file_streams_gbk_input_line_for_line(pipeline: Pipeline, tmp_path: Path) -> None:
    src = tmp_path / "in.jsonl"
    lines = [
        json.dumps({"id": "1", "text": "电暖器倒了也不断电，差点把地毯烧着"}, ensure_ascii=False),
        '{"id": "2", "text": broken',
        "",
        json.dumps({"id": "3", "text": "衣服质量不错"}, ensure_ascii=False),
    ]
    src.write_bytes("\n".join(lines).encode("gbk"))
    out = tmp_path / "out.jsonl"
    written, rejected = analyze_file(src, out, pipeline, batch_size=2)
    got = [json.loads(x) for x in out.read_text(encoding="utf-8").splitlines()]
    assert written == 3 and len(got) == 3
    assert got[0]["id"] == "1" and set(got[0]) == KEYS
    assert got[1]["id"] is None and "不是有效的 JSON" in got[1]["error"]
    assert got[1]["row"] == 2 and set(got[1]) == {"id", "error", "row", "field"}  # the shape POST /analyze gives
    assert got[2]["id"] == "3"
    assert len(rejected) == 1 and rejected[0].row == 2


def test_stated_hazards_from_issue_14_reach_the_review_band(pipeline: Pipeline) -> None:
    """Texts from sources the model was never trained on, which the model of 2026-11 scored below 0.12."""
    rows = [
        {"id": "ac", "text": "老爸发现外机漏电，还好没有伤到人！", "product": "空调"},
        {"id": "fire", "text": "头天下午安装好之后第二天上午房子不知道什么原因着火了"},
        {"id": "car", "text": "广汽丰田凯美瑞行驶中发动机失去动力", "source_type": "complaint"},
        {"id": "pb", "text": "冲一会就发烫 手机充电宝都是烫的"},
        {"id": "gas", "text": "燃气热水器一氧化碳泄漏致人中毒事件，1人住院", "source_type": "station_report"},
        {"id": "pram", "text": "婴儿推车 刹车失灵;侧翻", "source_type": "station_report"},
    ]
    results, rejected = analyze_rows(rows, pipeline)
    assert rejected == []
    for r in results:
        assert r is not None and r["is_risk"], r
        assert r["risk_score"] >= 0.5 and r["evidence"], r
    by_id = {r["id"]: r for r in results if r}
    assert "electric_shock" in by_id["ac"]["hazards"]
    assert by_id["gas"]["harm_occurred"]


@pytest.mark.parametrize("when", ["9999-12-31T23:59:59+14:00", "1970-01-01"])
def test_an_absurd_date_is_rejected_by_row_and_field(when: str) -> None:
    rejection = parse_item(3, {"id": "a", "text": "充电宝冒烟", "published_at": when})
    assert not isinstance(rejection, RawDocument)
    assert rejection.field == "published_at" and rejection.reason.startswith("row 3: ")
    assert "不是有效的文档时间" in rejection.reason


def test_a_sane_date_is_parsed() -> None:
    doc = parse_item(1, {"id": "a", "text": "充电宝冒烟", "published_at": "2026-11-30 08:00"})
    assert isinstance(doc, RawDocument) and doc.published_at is not None and doc.published_at.year == 2026
