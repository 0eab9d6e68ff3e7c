"""Parsing batch bodies: JSON arrays and NDJSON, row numbering, limits."""

from __future__ import annotations

import pytest

from riskmine.api.errors import ApiError
from riskmine.api.payload import MAX_JSON_DEPTH, json_depth, parse_batch_text, remap_rejection
from riskmine.ingest import Rejection


def test_json_array_rows_are_positions() -> None:
    b = parse_batch_text('[{"a": 1}, 2, "x"]', "application/json", 10)
    assert b.items == [{"a": 1}, 2, "x"]
    assert b.rows == [1, 2, 3]
    assert b.errors == []


def test_json_object_is_one_row_and_scalars_are_refused() -> None:
    assert parse_batch_text('{"a": 1}', "application/json", 10).items == [{"a": 1}]
    with pytest.raises(ApiError) as exc:
        parse_batch_text('"text"', "application/json", 10)
    assert exc.value.code == "invalid_batch"


def test_ndjson_rows_are_line_numbers() -> None:
    b = parse_batch_text('{"a": 1}\n\n{bad\n  \n[1]\n', "application/x-ndjson", 10)
    assert b.items == [{"a": 1}, [1]]
    assert b.rows == [1, 5]
    assert [(e.row, e.reason.split("（")[0]) for e in b.errors] == [(3, "不是有效的 JSON")]
    assert b.size == 3


def test_item_cap() -> None:
    with pytest.raises(ApiError) as exc:
        parse_batch_text("[1, 2, 3]", "application/json", 2)
    assert (exc.value.status, exc.value.code) == (413, "too_many_items")
    with pytest.raises(ApiError) as exc:
        parse_batch_text("1\n2\n3\n", "application/x-ndjson", 2)
    assert exc.value.details == [{"items": 3, "limit": 2}]


def test_other_media_types_are_415() -> None:
    with pytest.raises(ApiError) as exc:
        parse_batch_text("a,b", "text/csv", 10)
    assert exc.value.status == 415


def test_remap_rejection_points_at_the_sent_row() -> None:
    r = remap_rejection(Rejection(2, "row 2: 缺少必填字段 'text'（正文）", "text"), [1, 4, 7])
    assert (r.row, r.field, r.reason) == (4, "text", "缺少必填字段 'text'（正文）")


def test_json_depth_is_measured_without_recursion() -> None:
    assert json_depth('[{"a": [1, {"b": "[[[{{{"}]}]') == 4  # brackets inside strings do not count
    assert json_depth('"\\"[["') == 0
    assert json_depth("[" * 200_000 + "]" * 200_000) == 200_000


def test_too_deep_json_is_refused_and_a_too_deep_ndjson_line_is_a_row_error() -> None:
    deep = "[" * (MAX_JSON_DEPTH + 1) + "]" * (MAX_JSON_DEPTH + 1)
    with pytest.raises(ApiError) as exc:
        parse_batch_text(deep, "application/json", 10)
    assert (exc.value.status, exc.value.code) == (422, "too_deep")
    ok = "[" * MAX_JSON_DEPTH + "]" * MAX_JSON_DEPTH
    assert parse_batch_text(ok, "application/json", 10).size == 1
    b = parse_batch_text('{"a": 1}\n' + deep + "\n", "application/x-ndjson", 10)
    assert b.items == [{"a": 1}]
    assert [e.row for e in b.errors] == [2]
    assert str(MAX_JSON_DEPTH) in b.errors[0].reason
