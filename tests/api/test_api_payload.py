"""Parsing batch bodies: JSON arrays and NDJSON, row numbering, limits."""

from __future__ import annotations

import pytest

from riskmine.api.errors import ApiError
from riskmine.api.payload import parse_batch_text, remap_rejection
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
    assert [(e.row, e.reason.split(":")[0]) for e in b.errors] == [(3, "not valid JSON")]
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
    r = remap_rejection(Rejection(2, "row 2: missing required field 'text'", "text"), [1, 4, 7])
    assert (r.row, r.field, r.reason) == (4, "text", "missing required field 'text'")
