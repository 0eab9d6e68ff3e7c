"""Segmentation for the full-text index and safe FTS5 query building."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from riskmine.store import fulltext
from riskmine.store.fulltext import (
    chars_for_index,
    clean_segmented,
    index_columns,
    segment_for_index,
    segment_query,
)

CJK_ALPHABET = "充电宝冒烟起火甲醛爬行垫漏电热水器的了很小孩子宝宝玩具零件脱落过敏"


@pytest.fixture(scope="module")
def fts() -> Iterator[sqlite3.Connection]:
    conn = sqlite3.connect(":memory:")
    conn.execute(f"CREATE VIRTUAL TABLE t USING fts5(words, {fulltext.CHARS_COLUMN}, tokenize='unicode61')")
    for i, text in enumerate(["充电宝充电时冒烟了，外壳很烫", "宝宝爬行垫甲醛超标", "iPhone 15 Pro 发烫"], start=1):
        words, chars = index_columns([(text, None)])
        conn.execute("INSERT INTO t (rowid, words, chars) VALUES (?, ?, ?)", (i, words, chars))
    yield conn
    conn.close()


def search(conn: sqlite3.Connection, q: str) -> set[int]:
    expr = segment_query(q)
    if not expr:
        return set()
    return {r for (r,) in conn.execute("SELECT rowid FROM t WHERE t MATCH ?", (expr,))}


def test_segment_for_index_uses_search_mode_and_drops_punctuation() -> None:
    tokens = segment_for_index("电热水器漏电了！！洗澡时被电麻了。").split()
    assert {"电热水器", "热水器", "热水", "漏电", "洗澡"} <= set(tokens)
    assert not any(t in {"！", "。", "!"} for t in tokens)
    assert segment_for_index("") == ""
    assert segment_for_index("   \n") == ""


def test_segment_for_index_lower_cases_and_normalises_width() -> None:
    assert segment_for_index("iPhone ＷｉＦｉ 15") == "iphone wifi 15"


def test_chars_for_index_splits_cjk_and_keeps_latin_runs() -> None:
    assert chars_for_index("iPhone 15充电宝，冒烟！") == "iphone 15 充 电 宝 冒 烟"
    assert chars_for_index("") == ""


def test_clean_segmented_normalises_tokens_from_elsewhere() -> None:
    assert clean_segmented("充电宝 ， 冒烟 WiFi 🔥 a-b") == "充电宝 冒烟 wifi a b"


def test_index_columns_prefers_the_given_segmentation() -> None:
    words, chars = index_columns([("标题", None), ("爬行垫甲醛超标", "爬行垫 甲醛 超标"), (None, None)])
    assert words.split() == [*segment_for_index("标题").split(), "爬行垫", "甲醛", "超标"]
    assert chars == "标 题 爬 行 垫 甲 醛 超 标"


def test_query_needs_every_word(fts: sqlite3.Connection) -> None:
    assert search(fts, "冒烟") == {1}
    assert search(fts, "充电宝 冒烟") == {1}
    assert search(fts, "充电宝冒烟了") == {1}
    assert search(fts, "甲醛 冒烟") == set()
    assert search(fts, "宝宝") == {2}
    assert search(fts, "IPHONE pro") == {3}


def test_lone_characters_must_stand_next_to_their_neighbours(fts: sqlite3.Connection) -> None:
    # jieba cuts 充电宝 into 充电 + 宝; 宝 alone would also match 宝宝 in document 2.
    assert search(fts, "充电宝") == {1}
    assert "(chars" in segment_query("充电宝")


def test_function_words_are_not_required_alone() -> None:
    assert '"了"' not in segment_query("冒烟了")
    assert segment_query("的") != ""


def test_queries_without_letters_or_digits_are_empty() -> None:
    for q in ["", "   ", "🔥🔥", "！？。", '"', "*", "()", ":", "\x00"]:
        assert segment_query(q) == ""


def test_query_syntax_in_user_text_is_quoted(fts: sqlite3.Connection) -> None:
    expr = segment_query('NEAR(充电宝 冒烟) AND "x" OR y* col:z')
    assert '"near"' in expr and '"and"' in expr and '"or"' in expr
    assert "*" not in expr and "col:" not in expr
    assert search(fts, 'NEAR(充电宝 冒烟) AND "x" OR y* col:z') == set()
    assert search(fts, "充电宝*") == {1}


@settings(max_examples=300, deadline=None, database=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(q=st.text(max_size=60))
def test_any_text_gives_a_valid_expression(fts: sqlite3.Connection, q: str) -> None:
    search(fts, q)  # raises sqlite3.OperationalError on a malformed expression


@settings(max_examples=200, deadline=None, database=None)
@given(data=st.data(), text=st.text(alphabet=CJK_ALPHABET, min_size=1, max_size=40))
def test_any_chinese_substring_finds_its_text(data: st.DataObject, text: str) -> None:
    start = data.draw(st.integers(0, len(text) - 1))
    end = data.draw(st.integers(start + 1, len(text)))
    conn = sqlite3.connect(":memory:")
    try:
        conn.execute(f"CREATE VIRTUAL TABLE t USING fts5(words, {fulltext.CHARS_COLUMN})")
        words, chars = index_columns([(text, None)])
        conn.execute("INSERT INTO t (rowid, words, chars) VALUES (1, ?, ?)", (words, chars))
        assert search(conn, text[start:end]) == {1}, (text, text[start:end], segment_query(text[start:end]))
    finally:
        conn.close()


def test_jieba_is_loaded_once() -> None:
    assert fulltext._jieba() is fulltext._jieba()
