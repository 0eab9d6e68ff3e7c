"""The JSON Lines, CSV and XLSX readers, and picking one by file extension."""

from __future__ import annotations

import csv
import io
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from openpyxl import Workbook

from riskmine.feeds import (
    FeedDecodeError,
    FeedFormatError,
    FeedNotFound,
    Rejection,
    UnsupportedFileType,
    feed_kind,
    read_csv,
    read_feed,
    read_jsonl,
    read_xlsx,
)
from riskmine.feeds.csv_reader import sniff_delimiter

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "feeds"


def rows_of(rows: Any) -> list[tuple[int, Any]]:
    return list(rows)


def good(rows: list[tuple[int, Any]]) -> dict[int, dict[str, Any]]:
    return {n: r for n, r in rows if not isinstance(r, Rejection)}


def bad(rows: list[tuple[int, Any]]) -> dict[int, Rejection]:
    return {n: r for n, r in rows if isinstance(r, Rejection)}


def make_xlsx(path: Path, rows: list[list[Any]], title: str = "Sheet1", extra_sheets: int = 0) -> Path:
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    for i in range(extra_sheets):
        wb.create_sheet(f"说明{i}", 0).append(["本表说明：请在第二个工作表填写"])
    ws.title = title
    for row in rows:
        ws.append(row)
    wb.save(path)
    return path


# --- JSON Lines ---------------------------------------------------------------------------


def test_jsonl_fixture_numbers_lines_and_explains_malformed_ones() -> None:
    rows = rows_of(read_jsonl(FIXTURES / "reviews.jsonl"))
    assert sorted(good(rows)) == [1, 2, 5, 6, 7, 8]  # line 3 is blank
    rejected = bad(rows)
    assert list(rejected) == [4]
    reason = rejected[4].reason
    assert reason.startswith("line 4: 不是有效的 JSON（Expecting ',' delimiter，第 ")
    assert rejected[4].raw is not None and "衣服甲醛" in rejected[4].raw
    assert good(rows)[1]["text"] == "充电宝充电时很烫，怕起火"


def test_jsonl_non_objects_and_truncated_last_line(tmp_path: Path) -> None:
    path = tmp_path / "x.ndjson"
    path.write_text('{"text": "a"}\n42\n"s"\nnull\n{"text": "cut', encoding="utf-8")
    rejected = bad(rows_of(read_jsonl(path)))
    assert rejected[2].reason == "line 2: 不是 JSON 对象（而是数字）"
    assert rejected[3].reason == "line 3: 不是 JSON 对象（而是字符串）"
    assert rejected[4].reason == "line 4: 不是 JSON 对象（而是 null）"
    assert rejected[5].reason.startswith("line 5: 不是有效的 JSON（Unterminated string")
    assert "文件是否不完整" in rejected[5].reason


def test_jsonl_array_file_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "a.json"
    path.write_text('[{"text": "a"},\n{"text": "b"}]\n', encoding="utf-8")
    with pytest.raises(FeedFormatError, match="JSON array; give JSON Lines"):
        list(read_jsonl(path))


def test_jsonl_undecodable_bytes_mid_file_stop_with_a_rejection(tmp_path: Path) -> None:
    path = tmp_path / "x.jsonl"
    path.write_bytes(
        '{"text": "充电宝起火"}\n{"text": "漏电漏电"}\n'.encode() + b'{"text": "\xff"}\n{"text": "after"}\n'
    )
    rows = rows_of(read_jsonl(path))
    assert sorted(good(rows)) == [1, 2]
    reason = bad(rows)[3].reason
    assert reason.startswith("line 3: ")
    assert "x.jsonl" in reason and "byte offset" in reason


def test_jsonl_overlong_line_is_rejected_and_reading_goes_on(tmp_path: Path) -> None:
    from riskmine.feeds.encoding import MAX_RECORD_CHARS

    path = tmp_path / "big.jsonl"
    with path.open("w", encoding="utf-8") as fh:
        fh.write('{"text": "' + "长" * (MAX_RECORD_CHARS + 10) + '"}\n{"text": "ok"}\n')
    rows = rows_of(read_jsonl(path))
    assert "超过" in bad(rows)[1].reason
    assert good(rows)[2] == {"text": "ok"}


# --- CSV ----------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["reviews_gbk.csv", "reviews_utf8bom.csv"])
def test_csv_fixtures_in_gbk_and_utf8_bom_read_the_same(name: str) -> None:
    rows = rows_of(read_csv(FIXTURES / name))
    assert sorted(good(rows)) == [2, 3, 6, 7, 8, 9]  # row 4 is empty, row 5 has an extra value
    assert bad(rows)[5].reason == "row 5: 有 13 个值，但表头（第 1 行）只有 12 列"
    first = good(rows)[2]
    assert first["id"] == "r1"  # the BOM is not part of the first header
    assert first["评论内容"] == "充电宝充电时很烫，怕起火"
    assert first["价格"] == "￥1,299.00"
    assert good(rows)[9]["评论内容"] == "儿童玩具小零件容易脱落，\n有窒息风险"  # quoted multi-line field


def test_gbk_and_bom_fixtures_give_identical_rows() -> None:
    assert rows_of(read_csv(FIXTURES / "reviews_gbk.csv")) == rows_of(read_csv(FIXTURES / "reviews_utf8bom.csv"))


@pytest.mark.parametrize(("delimiter", "suffix"), [(",", ".csv"), ("\t", ".tsv"), (";", ".csv"), ("\t", ".csv")])
def test_delimiter_is_sniffed(tmp_path: Path, delimiter: str, suffix: str) -> None:
    buf = io.StringIO()
    writer = csv.writer(buf, delimiter=delimiter)
    writer.writerow(["标题", "内容", "价格"])
    writer.writerow(["电热毯", "用了一晚，局部过热, 烧焦床单; 太吓人", "1,299"])
    writer.writerow(["插座", "插头一插就冒火花", "39"])
    path = tmp_path / f"f{suffix}"
    path.write_text(buf.getvalue(), encoding="utf-8")
    rows = good(rows_of(read_csv(path)))
    assert rows[2] == {"标题": "电热毯", "内容": "用了一晚，局部过热, 烧焦床单; 太吓人", "价格": "1,299"}
    assert rows[3]["内容"] == "插头一插就冒火花"


def test_sniffer_prefers_the_consistent_delimiter() -> None:
    lines = ["a;b;c\n", "1,5;2;3\n", "4;5,5;6\n"]
    assert sniff_delimiter(lines) == ";"
    assert sniff_delimiter(["just one column\n"]) == ","
    assert sniff_delimiter(["just one column\n"], preferred="\t") == "\t"


def test_csv_title_rows_are_skipped(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text("风险信息汇总表,,\n填报单位：某检测机构,,\n标题,内容,发布时间\na,b,2024-05-01\n", encoding="utf-8")
    info_rows = read_feed(path)
    rows = rows_of(info_rows.rows)
    assert rows == [(4, {"标题": "a", "内容": "b", "发布时间": "2024-05-01"})]
    assert info_rows.info.header_row == 3


def test_csv_unterminated_quote_at_end_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "cut.csv"
    path.write_text('内容,标题\n"好的",a\n"充电宝充电时\n突然冒烟然后', encoding="utf-8")
    rows = rows_of(read_csv(path))
    assert good(rows) == {2: {"内容": "好的", "标题": "a"}}
    assert "到文件末尾仍未闭合" in bad(rows)[3].reason


def test_csv_duplicate_headers_are_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "dup.csv"
    path.write_text("内容,标题,内容\na,b,c\n", encoding="utf-8")
    with pytest.raises(FeedFormatError, match="columns 1 and 3 are both named '内容'"):
        list(read_csv(path))


def test_csv_blank_header_cells_are_named_by_position(tmp_path: Path) -> None:
    path = tmp_path / "blank.csv"
    path.write_text("内容,,标题\na,x,b\n", encoding="utf-8")
    assert good(rows_of(read_csv(path)))[2] == {"内容": "a", "column 2": "x", "标题": "b"}


def test_csv_undecodable_file_raises_at_open(tmp_path: Path) -> None:
    path = tmp_path / "bin.csv"
    path.write_bytes(b"\x80\x81\xff\x00" * 10)
    with pytest.raises(FeedDecodeError, match=r"bin\.csv: cannot decode the text at byte offset \d+"):
        read_csv(path)


def test_csv_is_streamed_not_loaded_whole(tmp_path: Path) -> None:
    path = tmp_path / "many.csv"
    with path.open("w", encoding="utf-8") as fh:
        fh.write("标题,内容\n")
        for i in range(20_000):
            fh.write(f"t{i},充电宝第{i}次充电发烫\n")
    rows = read_csv(path)
    first = next(rows)
    assert first == (2, {"标题": "t0", "内容": "充电宝第0次充电发烫"})
    assert sum(1 for _ in rows) == 19_999


# --- XLSX ---------------------------------------------------------------------------------


def test_xlsx_header_below_title_rows_and_date_cells(tmp_path: Path) -> None:
    path = make_xlsx(
        tmp_path / "r.xlsx",
        [
            ["产品质量安全风险信息表"],
            ["填报单位：某检测机构", None, "填报时间：2024年5月25日"],
            [],
            ["标题", "内容", "发布时间", "价格"],
            ["充电宝", "充电时很烫，怕起火", datetime(2024, 5, 1, 12, 30), 99.0],
            [None, None, None, None],
            ["热水器", "洗澡时漏电", "2024/5/2", 1299.5],
        ],
    )
    feed = read_feed(path)
    rows = rows_of(feed.rows)
    assert rows == [
        (5, {"标题": "充电宝", "内容": "充电时很烫，怕起火", "发布时间": datetime(2024, 5, 1, 12, 30), "价格": 99}),
        (7, {"标题": "热水器", "内容": "洗澡时漏电", "发布时间": "2024/5/2", "价格": 1299.5}),
    ]
    assert feed.info.header_row == 4
    assert feed.info.preamble == {"填报单位": "某检测机构", "填报时间": "2024年5月25日"}


def test_xlsx_first_sheet_with_a_header_or_a_named_sheet(tmp_path: Path) -> None:
    path = make_xlsx(tmp_path / "s.xlsx", [["内容"], ["电热毯烧焦床单"]], title="数据", extra_sheets=1)
    assert rows_of(read_xlsx(path)) == [(2, {"内容": "电热毯烧焦床单"})]
    assert rows_of(read_xlsx(path, sheet="数据")) == [(2, {"内容": "电热毯烧焦床单"})]
    with pytest.raises(FeedFormatError, match="no sheet named '其他'; sheets: '说明0', '数据'"):
        read_xlsx(path, sheet="其他")


def test_xlsx_corrupt_workbook_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "bad.xlsx"
    path.write_bytes(b"PK\x03\x04 not really a workbook")
    with pytest.raises(FeedFormatError, match=r"bad\.xlsx: not a readable \.xlsx workbook"):
        read_xlsx(path)


# --- picking a reader ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("a.jsonl", "jsonl"),
        ("a.NDJSON", "jsonl"),
        ("a.json", "jsonl"),
        ("a.csv", "csv"),
        ("a.tsv", "csv"),
        ("a.xlsx", "xlsx"),
        ("A.XLSX", "xlsx"),
    ],
)
def test_kind_from_extension(name: str, kind: str) -> None:
    assert feed_kind(Path(name)) == kind


def test_unsupported_types_say_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(UnsupportedFileType, match=r"old Excel format \(\.xls\).*save it as \.xlsx"):
        feed_kind(Path("report.xls"))
    with pytest.raises(UnsupportedFileType, match=r"file type '\.pdf' is not supported; supported: \.jsonl"):
        feed_kind(Path("report.pdf"))
    with pytest.raises(UnsupportedFileType, match="without an extension"):
        feed_kind(Path("README"))
    with pytest.raises(FeedNotFound, match="no such file"):
        read_feed(tmp_path / "missing.csv")
    with pytest.raises(ValueError, match=r"applies to \.xlsx files only"):
        read_feed(FIXTURES / "reviews.jsonl", sheet="x")
