"""Encoding detection and streaming line reading."""

from __future__ import annotations

from pathlib import Path

import pytest

from riskmine.feeds.encoding import LineTooLong, TextLines, detect_encoding, resolve_encoding
from riskmine.feeds.rows import FeedDecodeError

TEXT = "标题,内容\n充电宝,充电时很烫，怕起火\n热水器,洗澡时漏电\n"


def write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


@pytest.mark.parametrize(
    ("encoding", "expected"),
    [
        ("utf-8", "utf-8"),
        ("utf-8-sig", "utf-8-sig"),
        ("gbk", "gb18030"),
        ("gb2312", "gb18030"),
        ("gb18030", "gb18030"),
        ("utf-16", "utf-16-le"),  # Python writes a little-endian BOM
    ],
)
def test_detects_each_supported_encoding_and_reads_the_same_lines(tmp_path: Path, encoding: str, expected: str) -> None:
    path = write(tmp_path, "f.csv", TEXT.encode(encoding))
    assert detect_encoding(path) == expected
    with TextLines(path) as lines:
        assert list(lines) == TEXT.splitlines(keepends=True)


def test_utf16_big_endian_with_bom(tmp_path: Path) -> None:
    import codecs

    path = write(tmp_path, "f.csv", codecs.BOM_UTF16_BE + TEXT.encode("utf-16-be"))
    assert detect_encoding(path) == "utf-16-be"
    with TextLines(path) as lines:
        assert "".join(lines) == TEXT


def test_ascii_only_is_utf8(tmp_path: Path) -> None:
    assert detect_encoding(write(tmp_path, "a.csv", b"a,b\n1,2\n")) == "utf-8"


def test_undecodable_file_names_file_and_offset(tmp_path: Path) -> None:
    path = write(tmp_path, "junk.csv", b"ab\x80\xff\xfe\x00\xff")
    with pytest.raises(FeedDecodeError) as err:
        detect_encoding(path)
    message = str(err.value)
    assert "junk.csv" in message
    assert "byte offset" in message
    assert err.value.offset in (2, 3, 4)
    assert err.value.code == "undecodable_file"


def test_utf8_file_with_one_bad_byte_is_read_as_utf8_up_to_it_not_as_gbk(tmp_path: Path) -> None:
    good = "内容\n充电宝充电时很烫\n".encode()
    path = write(tmp_path, "broken.csv", good + b"\xff" + "后面\n".encode())
    assert detect_encoding(path) == "utf-8"
    with TextLines(path) as lines:
        assert [next(lines), next(lines)] == ["内容\n", "充电宝充电时很烫\n"]
        with pytest.raises(FeedDecodeError) as err:
            next(lines)
    assert err.value.offset == len(good)
    assert f"broken.csv: cannot decode the text at byte offset {len(good)}" in str(err.value)


@pytest.mark.parametrize("chunk_bytes", [1, 2, 3, 5, 7, 64])
def test_multibyte_characters_split_across_chunks(tmp_path: Path, chunk_bytes: int) -> None:
    for encoding in ("utf-8", "gb18030", "utf-16"):
        path = write(tmp_path, f"f-{encoding}.csv", TEXT.encode(encoding))
        with TextLines(path, chunk_bytes=chunk_bytes) as lines:
            assert "".join(lines) == TEXT


def test_bad_bytes_mid_file_give_the_lines_before_then_the_offset(tmp_path: Path) -> None:
    head = "第一行\n第二行\n".encode()
    path = write(tmp_path, "mid.jsonl", head + "第三".encode() + b"\xc3\x28" + "\n第四\n".encode())
    with TextLines(path, encoding="utf-8", chunk_bytes=4) as lines:
        assert next(lines) == "第一行\n"
        assert next(lines) == "第二行\n"
        with pytest.raises(FeedDecodeError) as err:
            next(lines)
        assert err.value.offset == len(head) + len("第三".encode())
        with pytest.raises(StopIteration):
            next(lines)


def test_overlong_line_is_skipped_and_reading_goes_on(tmp_path: Path) -> None:
    path = write(tmp_path, "long.jsonl", b"short\n" + b"x" * 5000 + b"\nafter\n")
    with TextLines(path, max_line_chars=1000, chunk_bytes=256) as lines:
        assert next(lines) == "short\n"
        with pytest.raises(LineTooLong) as err:
            next(lines)
        assert err.value.line == 2
        assert err.value.chars >= 5000
        assert next(lines) == "after\n"
        assert lines.line_no == 3


def test_last_line_without_newline_and_crlf_endings(tmp_path: Path) -> None:
    path = write(tmp_path, "crlf.csv", "a,b\r\n1,2\r\n最后".encode())
    with TextLines(path) as lines:
        assert list(lines) == ["a,b\r\n", "1,2\r\n", "最后"]


def test_explicit_encoding_names(tmp_path: Path) -> None:
    path = write(tmp_path, "f.csv", TEXT.encode("gbk"))
    assert resolve_encoding(path, "GBK") == "gb18030"
    with TextLines(path, encoding="gbk") as lines:
        assert "".join(lines) == TEXT
    with pytest.raises(ValueError, match="unknown text encoding 'klingon'"):
        resolve_encoding(path, "klingon")
