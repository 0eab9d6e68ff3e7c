"""The ingest service against the real SQLite store: files in, RawDocuments stored, every bad row explained."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from openpyxl import Workbook

from riskmine.feeds import FeedError, UnsupportedFileType
from riskmine.ingest import (
    IngestReport,
    Rejection,
    ingest_path,
    ingest_rows,
    parse_source_type,
    validate_rows,
    write_rejections,
)
from riskmine.schema import MAX_TEXT_CHARS, RawDocument, SourceType
from riskmine.store.base import Collection, Store
from riskmine.store.sqlite import SQLiteStore

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "feeds"
CST = timedelta(hours=8)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SQLiteStore]:
    s = SQLiteStore(tmp_path / "riskmine.sqlite3")
    yield s
    s.close()


def docs(store: Store, report: IngestReport) -> dict[str, RawDocument]:
    """Stored documents of a report, by source_id (or text when there is none)."""
    out: dict[str, RawDocument] = {}
    for doc in store.get_many(Collection.documents, report.document_ids):
        out[doc.source_id or doc.text] = doc
    return out


def reasons(report: IngestReport) -> dict[int, str]:
    return {r.row: r.reason for r in report.rejected}


def consistent(report: IngestReport) -> bool:
    return report.rows == report.accepted + report.duplicates + len(report.rejected)


# --- JSON Lines ---------------------------------------------------------------------------


def test_jsonl_fixture_good_rows_stored_bad_rows_explained(store: SQLiteStore) -> None:
    report = ingest_path(FIXTURES / "reviews.jsonl", store, source_type="review")
    assert (report.rows, report.accepted, report.duplicates) == (7, 3, 0)
    assert consistent(report) and not report.ok
    got = reasons(report)
    assert got[4].startswith("line 4: 不是有效的 JSON（Expecting ',' delimiter，第 ")
    assert got[5].startswith("line 5: 未知字段 'foo'（可用字段：source, source_type, source_id, url, title, text")
    assert got[6] == "line 6: 缺少必填字段 'text'（正文）"
    assert got[7] == "line 7: 字段 'published_at'：'2024-13-45' 不是有效日期（月份应在 1–12 之间）"
    assert {r.row: r.field for r in report.rejected} == {4: None, 5: "foo", 6: "text", 7: "published_at"}

    stored = docs(store, report)
    assert set(stored) == {"r1", "r2", "r7"}
    r1 = stored["r1"]
    assert r1.source == "demo"  # the row's own source wins over the default
    assert r1.source_type is SourceType.review
    assert r1.price == 1299.0  # '￥1,299.00'
    assert r1.rating == 1.0  # '1星'
    assert r1.published_at == datetime(2024, 5, 1, 4, 30, tzinfo=UTC)  # naive 12:30 taken as +08:00
    assert r1.published_at is not None and r1.published_at.utcoffset() == CST
    assert stored["r2"].source == "upload:reviews"  # default source: the file stem
    assert stored["r7"].meta == {"channel": "app"}
    assert store.count(Collection.documents) == 3


def test_ingesting_the_same_file_twice_adds_nothing(store: SQLiteStore) -> None:
    first = ingest_path(FIXTURES / "reviews.jsonl", store, source_type="review")
    second = ingest_path(FIXTURES / "reviews.jsonl", store, source_type="review")
    assert first.accepted == 3
    assert (second.accepted, second.duplicates, second.document_ids) == (0, 3, [])
    assert consistent(second)
    assert store.count(Collection.documents) == 3


def test_extra_meta_keeps_unknown_fields(store: SQLiteStore) -> None:
    report = ingest_path(FIXTURES / "reviews.jsonl", store, source_type="review", extra="meta")
    assert report.accepted == 4
    assert docs(store, report)["r4"].meta == {"foo": "bar"}
    assert sorted(reasons(report)) == [4, 6, 7]


def test_truncated_jsonl_keeps_what_came_before(store: SQLiteStore) -> None:
    report = ingest_path(FIXTURES / "reviews_truncated.jsonl", store, source="demo", source_type="review")
    assert report.accepted == 2
    assert set(docs(store, report)) == {"t1", "t2"}
    assert reasons(report)[3].startswith("line 3: 不是有效的 JSON（Unterminated string")
    assert "文件是否不完整" in reasons(report)[3]


def test_file_cut_inside_a_character_and_batches_already_written(store: SQLiteStore, tmp_path: Path) -> None:
    lines = [json.dumps({"id": f"b{i}", "text": f"电源适配器第{i}次过热冒烟"}, ensure_ascii=False) for i in range(5)]
    data = ("\n".join(lines) + "\n" + '{"id": "b5", "text": "充电').encode()
    path = tmp_path / "cut.jsonl"
    path.write_bytes(data[:-1])  # the last character loses its final byte
    seen: list[int] = []
    report = ingest_path(path, store, source="demo", source_type="review", batch_size=2, progress=seen.append)
    assert report.accepted == 5
    assert store.count(Collection.documents) == 5
    assert seen == [2, 2, 2]  # rows read since the last call: after each batch, and at the end
    reason = reasons(report)[6]
    assert reason.startswith("line 6: ") and "cut.jsonl" in reason and f"byte offset {len(data) - 3}" in reason


def test_bad_bytes_mid_file_keep_accepted_rows(store: SQLiteStore, tmp_path: Path) -> None:
    head = "".join(json.dumps({"text": f"插线板第{i}处烧焦"}, ensure_ascii=False) + "\n" for i in range(3))
    path = tmp_path / "mixed.jsonl"
    path.write_bytes(head.encode() + '{"text": "电热毯"}\n'.encode("gbk") + b'{"text": "after"}\n')
    report = ingest_path(path, store, source="demo", source_type="review", batch_size=1)
    assert report.accepted == 3
    assert "byte offset" in reasons(report)[4] and "the rest of the file was not read" in reasons(report)[4]


# --- CSV and XLSX -------------------------------------------------------------------------


CSV_EXPECTED = {
    5: "row 5: 有 13 个值，但表头（第 1 行）只有 12 列",
    6: "row 6: 未知字段 'foo'",
    7: "row 7: 缺少必填字段 'text'",
    8: "row 8: 字段 'published_at'（列 '发布时间'）：'2024-13-45' 不是有效日期（月份应在 1–12 之间）",
}


@pytest.mark.parametrize("name", ["reviews_gbk.csv", "reviews_utf8bom.csv"])
def test_csv_fixtures_gbk_and_utf8_bom(store: SQLiteStore, name: str) -> None:
    report = ingest_path(FIXTURES / name, store, source_type="review")
    assert (report.rows, report.accepted) == (7, 3)
    got = reasons(report)
    assert sorted(got) == sorted(CSV_EXPECTED)
    for row, expected in CSV_EXPECTED.items():
        assert got[row].startswith(expected), got[row]
    stored = docs(store, report)
    assert stored["r1"].title == "充电宝发烫"  # 标题
    assert stored["r1"].product == "充电宝"  # 商品名称
    assert stored["r1"].brand == "某品牌"
    assert stored["r1"].region == "上海市"
    assert stored["r1"].price == 1299.0
    assert stored["r2"].source == f"upload:{Path(name).stem}"
    assert stored["r7"].text == "儿童玩具小零件容易脱落，\n有窒息风险"


def test_gbk_and_bom_csv_store_the_same_documents(tmp_path: Path) -> None:
    contents = []
    for name in ("reviews_gbk.csv", "reviews_utf8bom.csv"):
        with SQLiteStore(tmp_path / f"{name}.sqlite3") as s:
            report = ingest_path(FIXTURES / name, s, source="station:x", source_type="review")
            contents.append(
                sorted(
                    d.model_dump_json(exclude={"collected_at"})
                    for d in s.get_many(Collection.documents, report.document_ids)
                )
            )
    assert contents[0] == contents[1]
    assert len(contents[0]) == 3


def _reviews_xlsx(path: Path) -> Path:
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.append(["填报单位：某电商平台"])
    ws.append(["编号", "标题", "正文", "发布时间", "价格", "评分", "涉及企业"])
    ws.append([1001, "充电宝", "充电宝充电时很烫，怕起火", datetime(2024, 5, 1, 12, 30), 99.5, "5星", "某电子公司"])
    ws.append([1002, "热水器", "洗澡时漏电，手发麻", "2024年5月2日", "1,299", 1, None])
    ws.append([1003, "空行之后", None, None, None, None, None])
    ws.append([1004, "评分坏了", "插座冒火花", None, None, "abc", None])
    wb.save(path)
    return path


def test_xlsx_rows_and_date_cells(store: SQLiteStore, tmp_path: Path) -> None:
    report = ingest_path(_reviews_xlsx(tmp_path / "reviews.xlsx"), store, source_type="review")
    assert report.accepted == 2
    stored = docs(store, report)
    first = stored["1001"]  # numeric id cell as text
    assert first.published_at is not None
    assert (first.published_at.day, first.published_at.hour, first.published_at.utcoffset()) == (1, 12, CST)
    assert first.price == 99.5 and first.rating == 5.0 and first.enterprise == "某电子公司"
    assert stored["1002"].price == 1299.0
    assert reasons(report) == {
        5: "row 5: 缺少必填字段 'text'（正文）",
        6: "row 6: 字段 'rating'（列 '评分'）：'abc' 不是评分（请填数字，如 4、4.5 或 5星）",
    }


def test_station_forms_become_station_reports(store: SQLiteStore, tmp_path: Path) -> None:
    general = ingest_path(FIXTURES / "station_general.csv", store, source="station:sh-assoc")
    assert general.form == "general"
    assert (general.accepted, sorted(reasons(general))) == (3, [])
    assert [(w.row, w.field) for w in general.warnings] == [(6, "涉及企业数量")]  # 若干: count left empty
    assert general.to_dict()["warnings"][0]["reason"].startswith("涉及企业数量：“若干”不是数量")
    ecommerce = ingest_path(FIXTURES / "station_ecommerce_gbk.csv", store, source="station:ec")
    assert ecommerce.form == "ecommerce"
    assert (ecommerce.accepted, sorted(reasons(ecommerce))) == (2, [6])
    docs_ec = list(store.get_many(Collection.documents, ecommerce.document_ids))
    assert {d.source_type for d in docs_ec} == {SourceType.station_report}
    charger = next(d for d in docs_ec if d.shop == "某某数码专营店")
    assert charger.price == 99.0
    assert charger.published_at is not None and charger.published_at.date().isoformat() == "2024-05-24"
    assert charger.meta["negative_reviews"] == 12
    assert charger.meta["collection_period"]["end"] == "2024-05-24"
    bike = next(d for d in store.get_many(Collection.documents, general.document_ids) if d.product == "电动自行车")
    assert bike.meta["enterprise_count"] == 3
    assert bike.source == "station:sh-assoc"
    again = ingest_path(FIXTURES / "station_ecommerce_gbk.csv", store, source="station:ec")
    assert (again.accepted, again.duplicates) == (0, 2)


def test_spot_check_table_becomes_spot_check_documents(store: SQLiteStore) -> None:
    report = ingest_path(FIXTURES / "spot_check.csv", store)
    assert report.form == "spot_check"
    assert (report.accepted, sorted(reasons(report))) == (2, [4, 5])
    failed = next(d for d in store.get_many(Collection.documents, report.document_ids) if d.meta["verdict"] == "不合格")
    assert failed.source_type is SourceType.spot_check
    assert failed.source == "upload:spot_check"
    assert failed.published_at == datetime(2024, 4, 2, tzinfo=UTC) + timedelta(hours=-8)
    assert failed.enterprise == "示例食品加工坊"


# --- safety and limits --------------------------------------------------------------------


def test_hostile_html_is_stored_as_given_and_unsafe_urls_rejected(store: SQLiteStore) -> None:
    hostile = "<script>alert('x')</script><img src=x onerror=alert(1)>插座漏电&nbsp;<b>危险</b>"
    rows = [
        {"text": hostile, "title": "<iframe src=javascript:alert(1)>", "url": "https://example.com/a?x=<b>"},
        {"text": "正常文本", "url": "javascript:alert(document.cookie)"},
        {"text": "另一条", "url": " JavaScript:alert(1)"},
    ]
    report = ingest_rows(rows, store, source="demo", source_type="complaint")
    assert report.accepted == 1
    doc = store.get(Collection.documents, report.document_ids[0])
    assert isinstance(doc, RawDocument)
    assert doc.text == hostile  # cleaning is the normalize stage's job
    assert doc.title == "<iframe src=javascript:alert(1)>"
    assert {r.row: r.field for r in report.rejected} == {2: "url", 3: "url"}
    assert "不是网址" in report.rejected[0].reason
    assert json.loads(json.dumps(report.to_dict()))["rejected"][0]["raw"].startswith('{"text": "正常文本"')


@pytest.mark.parametrize(
    "url", ["java\tscript:alert(1)", "\x01javascript:alert(1)", "jav\nascript:x", "\u3000data:text/html,x"]
)
def test_obfuscated_script_urls_are_rejected(store: SQLiteStore, url: str) -> None:
    report = ingest_rows([{"text": "正常文本", "url": url}], store, source="demo", source_type="complaint")
    assert report.accepted == 0
    assert [(r.row, r.field) for r in report.rejected] == [(1, "url")]


@pytest.mark.parametrize("url", ["//evil.example/x", "/a/b", "www.example.com/x", "ftp://example.com/x"])
def test_addresses_that_are_not_web_addresses_are_kept_in_meta(store: SQLiteStore, url: str) -> None:
    report = ingest_rows([{"text": "正常文本", "url": url}], store, source="demo", source_type="complaint")
    assert report.accepted == 1
    doc = store.get(Collection.documents, report.document_ids[0])
    assert isinstance(doc, RawDocument)
    assert doc.url is None and doc.meta["url_original"] == url


def test_text_over_the_limit_is_rejected_and_neighbours_kept(store: SQLiteStore, tmp_path: Path) -> None:
    huge = "漏" * (MAX_TEXT_CHARS + 1)
    path = tmp_path / "huge.jsonl"
    path.write_text(
        "\n".join(json.dumps({"id": i, "text": t}, ensure_ascii=False) for i, t in enumerate(["前", huge, "后"]))
        + "\n",
        encoding="utf-8",
    )
    report = ingest_path(path, store, source="demo", source_type="review")
    assert report.accepted == 2
    reason = reasons(report)[2]
    assert reason == (
        f"line 2: 字段 'text' 长 {MAX_TEXT_CHARS + 1:,} 个字符，超过上限 {MAX_TEXT_CHARS:,} 个字符（MAX_TEXT_CHARS）"
    )
    assert len(report.rejected[0].raw or "") == 200

    csv_path = tmp_path / "huge.csv"
    csv_path.write_text(f"内容\n前\n{huge}\n后\n", encoding="utf-8")
    report = ingest_path(csv_path, store, source="demo2", source_type="review")
    assert report.accepted == 2 and "超过上限 200,000 个字符" in reasons(report)[3]


def test_text_at_the_limit_is_accepted() -> None:
    out = list(validate_rows([(1, {"text": "险" * MAX_TEXT_CHARS})], source="demo", source_type="review"))
    assert isinstance(out[0], RawDocument)


# --- ingest_rows and validate_rows --------------------------------------------------------


def test_ingest_rows_numbers_from_one_and_needs_source_and_type(store: SQLiteStore) -> None:
    rows: list[Any] = [
        {"id": "a", "text": "电动车电池鼓包", "source_type": "投诉"},  # Chinese source type
        {"id": "b", "text": "水壶把手断裂烫伤"},
        ["not", "an", "object"],
        {"id": "c", "text": "玩具", "source_type": "blog"},
    ]
    report = ingest_rows(rows, store, source="demo")
    assert report.path is None
    assert report.accepted == 1
    assert reasons(report) == {
        2: "row 2: 缺少字段 'source_type'（来源类型；请在行中给出，或设置默认值，如 --source-type review）",
        3: "row 3: 不是带字段名的对象（而是 list）",
        4: "row 4: 字段 'source_type'：未知的来源类型（source_type）'blog'（可用：review, news, complaint, recall, "
        "spot_check, injury_report, government_notice, station_report, public_report）",
    }
    stored = store.get(Collection.documents, report.document_ids[0])
    assert isinstance(stored, RawDocument) and stored.source_type is SourceType.complaint
    no_source = ingest_rows([{"text": "x", "source_type": "review"}], store)
    assert no_source.rejected[0].reason.startswith("row 1: 缺少字段 'source'")


def test_duplicates_within_one_file_and_conflicting_columns(store: SQLiteStore) -> None:
    rows = [
        {"id": "same", "text": "一"},
        {"id": "same", "text": "二"},
        {"内容": "甲", "正文": "乙"},
        {"内容": "同", "正文": "同"},
    ]
    report = ingest_rows(rows, store, source="demo", source_type="review")
    assert (report.accepted, report.duplicates) == (2, 1)
    assert reasons(report)[3] == "row 3: 列 '内容' 和 '正文' 都给出字段 'text'，但值不同"
    assert consistent(report)


def test_validate_rows_passes_reader_rejections_through_and_checks_options() -> None:
    rejection = Rejection(3, "line 3: 不是有效的 JSON（x）")
    out = list(validate_rows([(1, {"text": "t", "rating": "4.5分"}), (3, rejection)], source="s", source_type="review"))
    assert isinstance(out[0], RawDocument) and out[0].rating == 4.5
    assert out[1] is rejection
    with pytest.raises(ValueError, match="未知的来源类型（source_type）'blog'"):
        validate_rows([], source_type="blog")
    with pytest.raises(ValueError, match="extra must be one of reject, meta, ignore"):
        validate_rows([], extra="keep")
    ignored = list(validate_rows([(1, {"text": "t", "foo": 1})], source="s", source_type="news", extra="ignore"))
    assert isinstance(ignored[0], RawDocument) and ignored[0].meta == {}


def test_bad_values_name_the_field() -> None:
    rows: list[tuple[int, dict[str, Any] | Rejection]] = [
        (1, {"text": "t", "rating": "abc"}),
        (2, {"text": "t", "price": "贵"}),
        (3, {"text": "t", "meta": "[1]"}),
        (4, {"text": {"a": 1}}),
        (5, {"text": "t", "title": ["x"]}),
        (6, {"text": "t", "评分": -1}),
    ]
    out = list(validate_rows(rows, source="s", source_type="review"))
    assert [r.field for r in out if isinstance(r, Rejection)] == ["rating", "price", "meta", "text", "title", "rating"]
    assert out[5].reason == "row 6: 字段 'rating'（列 '评分'）：-1 不是评分（不能小于 0）"  # type: ignore[union-attr]


def test_parse_source_type_aliases() -> None:
    assert parse_source_type("spot-check") is SourceType.spot_check
    assert parse_source_type("抽检") is SourceType.spot_check
    assert parse_source_type(" Review ") is SourceType.review


# --- reports, rejects file, file-level errors ----------------------------------------------


def test_rejects_file_and_report_dict(store: SQLiteStore, tmp_path: Path) -> None:
    rejects = tmp_path / "out" / "rejects.jsonl"
    report = ingest_path(FIXTURES / "reviews.jsonl", store, source_type="review", rejects_path=rejects)
    lines = [json.loads(line) for line in rejects.read_text(encoding="utf-8").splitlines()]
    assert [line["row"] for line in lines] == [4, 5, 6, 7]
    assert set(lines[0]) == {"row", "reason", "field", "raw"}
    data = report.to_dict()
    assert data["ok"] is False and data["accepted"] == 3 and len(data["document_ids"]) == 3
    assert json.loads(json.dumps(data, ensure_ascii=False)) == data
    clean = tmp_path / "clean.jsonl"
    write_rejections([], clean)
    assert clean.read_text(encoding="utf-8") == ""


def test_too_many_rejections_stop_reading(store: SQLiteStore) -> None:
    rows = [{"foo": i} for i in range(20)]
    report = ingest_rows(rows, store, source="demo", source_type="review", max_rejections=5)
    assert report.rows == 5
    assert "已有 5 行被拒收，停止读取" in report.rejected[-1].reason


def test_file_level_errors_are_raised_clearly(store: SQLiteStore, tmp_path: Path) -> None:
    xls = tmp_path / "old.xls"
    xls.write_bytes(b"\xd0\xcf\x11\xe0")
    with pytest.raises(UnsupportedFileType, match=r"save it as \.xlsx"):
        ingest_path(xls, store, source_type="review")
    junk = tmp_path / "junk.csv"
    junk.write_bytes(b"\x80\xff\x80\xff\x00\x00")
    with pytest.raises(FeedError, match=r"junk\.csv: cannot decode the text at byte offset \d"):
        ingest_path(junk, store, source_type="review")
    with pytest.raises(ValueError, match="未知的来源类型"):
        ingest_path(FIXTURES / "reviews.jsonl", store, source_type="rumour")
    assert store.count(Collection.documents) == 0


def test_sqlite_store_satisfies_the_protocol(store: SQLiteStore) -> None:
    assert isinstance(store, Store)


# --- personal data -------------------------------------------------------------------------------

PII_PHONE = "13812345678"
PII_EMAIL = "zhang.san@example.com"
PII_CARD = "6217001234567893"


def pii_row() -> dict[str, Any]:
    return {
        "source_id": "pii",
        "text": f"充电宝冒烟，卡号{PII_CARD}",
        "title": f"电话{PII_PHONE}",
        "product": f"充电宝 客服{PII_PHONE}",
        "shop": f"小王数码 {PII_EMAIL}",
        "url": f"https://shop.example/item?tel={PII_PHONE}",
        "meta": {"buyer": {"phone": PII_PHONE, "mail": [PII_EMAIL]}, "mobile": int(PII_PHONE)},
        "联系人手机": PII_PHONE,  # an unknown column kept in meta
    }


def assert_no_pii(store: SQLiteStore) -> None:
    for doc in store.query(Collection.documents).items:
        dumped = doc.model_dump_json()
        assert not any(raw in dumped for raw in (PII_PHONE, PII_EMAIL, PII_CARD)), dumped
    for raw in (PII_PHONE, PII_EMAIL, PII_CARD, "zhang.san"):
        assert store.query(Collection.documents, text=raw).items == [], raw


def test_personal_data_is_masked_in_every_stored_field_before_it_is_written(store: SQLiteStore) -> None:
    report = ingest_rows([pii_row()], store, source="jd", source_type="review", extra="meta")
    assert report.accepted == 1
    assert_no_pii(store)
    (doc,) = docs(store, report).values()
    assert doc.product == "充电宝 客服[电话]" and doc.shop == "小王数码 [邮箱]" and doc.text.endswith("[银行卡]")
    assert doc.url is not None and doc.url.startswith("https://shop.example/item?tel=%5B")
    assert doc.meta["buyer"] == {"phone": "[电话]", "mail": ["[邮箱]"]}
    assert doc.meta["mobile"] == doc.meta["联系人手机"] == "[电话]"
    # the id is the one the unmasked row gives, so sending it again is a duplicate
    again = ingest_rows([pii_row()], store, source="jd", source_type="review", extra="meta")
    assert (again.accepted, again.duplicates) == (0, 1)


def test_personal_data_in_a_feed_file_is_masked(store: SQLiteStore, tmp_path: Path) -> None:
    path = tmp_path / "pii.jsonl"
    path.write_text(json.dumps(pii_row(), ensure_ascii=False) + "\n", encoding="utf-8")
    report = ingest_path(path, store, source_type="review", extra="meta")
    assert report.accepted == 1
    assert_no_pii(store)
