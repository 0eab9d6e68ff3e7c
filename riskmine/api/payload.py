"""Batch request bodies: a JSON array of objects, or NDJSON (one JSON value per line).

Rows are numbered from 1: the position in the array, or the line number in NDJSON
(blank lines are skipped but counted), so a rejection's row points into what was sent.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from fastapi import Request
from fastapi.concurrency import run_in_threadpool

from riskmine.api.errors import ApiError
from riskmine.feeds.messages import message

JSON_TYPES = frozenset({"application/json", "text/json"})
NDJSON_TYPES = frozenset({"application/x-ndjson", "application/ndjson", "application/jsonl", "application/x-jsonlines"})
_ROW_PREFIX = re.compile(r"^\s*(?:row|line)\s+\d+\s*:\s*", re.IGNORECASE)
# Arrays and objects nested deeper than this are refused before parsing: deeper input exhausts Python's stack
# (json.loads and everything that walks the value recurses), and no document needs it.
MAX_JSON_DEPTH = 64
_JSON_STRING = re.compile(r'"(?:[^"\\]|\\.)*"', re.DOTALL)
_JSON_BRACKET = re.compile(r"[\[\]{}]")


@dataclass
class RowError:
    row: int
    reason: str
    field: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"row": self.row, "field": self.field, "reason": self.reason}


@dataclass
class Batch:
    """The parsed values, the row number of each, and the rows that could not be parsed."""

    items: list[Any] = field(default_factory=list)
    rows: list[int] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)

    @property
    def size(self) -> int:
        return len(self.items) + len(self.errors)


def _media_type(request: Request) -> str:
    return request.headers.get("content-type", "").split(";", 1)[0].strip().lower()


def _decode(body: bytes) -> str:
    try:
        return body.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ApiError(
            400, "invalid_encoding", f"the body is not valid UTF-8 (byte offset {exc.start}); send UTF-8 text"
        ) from None


def _too_many(count: int, max_items: int) -> ApiError:
    return ApiError(
        413,
        "too_many_items",
        f"{count:,} items in one request; the limit is {max_items:,}: split the batch",
        [{"items": count, "limit": max_items}],
    )


def _is_json(media_type: str) -> bool:
    return media_type in JSON_TYPES or media_type.endswith("+json")


def check_media_type(media_type: str) -> None:
    """ApiError 415 unless the media type is JSON or NDJSON."""
    if media_type not in NDJSON_TYPES and not _is_json(media_type):
        raise ApiError(
            415,
            "unsupported_media_type",
            f"Content-Type {media_type or '(none)'!r} is not accepted: send application/json (a JSON array of "
            "objects) or application/x-ndjson (one JSON object per line)",
        )


def parse_batch_text(text: str, media_type: str, max_items: int) -> Batch:
    check_media_type(media_type)
    if media_type in NDJSON_TYPES:
        return _parse_ndjson(text, max_items)
    return _parse_json(text, max_items)


def json_depth(text: str) -> int:
    """The deepest nesting of arrays and objects in JSON text, counted in one pass without recursion;
    brackets inside strings do not count."""
    depth = deepest = 0
    for match in _JSON_BRACKET.finditer(_JSON_STRING.sub("", text)):
        if match.group() in "[{":
            depth += 1
            deepest = max(deepest, depth)
        else:
            depth -= 1
    return deepest


def _too_deep(depth: int) -> str:
    return f"JSON 数组/对象嵌套 {depth:,} 层，超过上限 {MAX_JSON_DEPTH} 层（nesting depth）：请展平数据后重新提交"


def _parse_json(text: str, max_items: int) -> Batch:
    depth = json_depth(text)
    if depth > MAX_JSON_DEPTH:
        raise ApiError(422, "too_deep", _too_deep(depth), [{"depth": depth, "limit": MAX_JSON_DEPTH}])
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ApiError(
            400,
            "invalid_json",
            f"the body is not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}",
            [{"line": exc.lineno, "column": exc.colno}],
        ) from None
    if isinstance(value, dict):
        value = [value]
    if not isinstance(value, list):
        raise ApiError(422, "invalid_batch", f"expected a JSON array of objects, got {type(value).__name__}")
    if len(value) > max_items:
        raise _too_many(len(value), max_items)
    return Batch(items=value, rows=list(range(1, len(value) + 1)))


def _parse_ndjson(text: str, max_items: int) -> Batch:
    batch = Batch()
    for lineno, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        if batch.size >= max_items:
            raise _too_many(sum(1 for ln in text.splitlines() if ln.strip()), max_items)
        depth = json_depth(line)
        if depth > MAX_JSON_DEPTH:
            batch.errors.append(RowError(lineno, _too_deep(depth)))
            continue
        try:
            batch.items.append(json.loads(line))
            batch.rows.append(lineno)
        except json.JSONDecodeError as exc:
            reason = message("not_json", detail=exc.msg, column=exc.colno, hint="")
            batch.errors.append(RowError(lineno, reason))
    return batch


def _parse_body(body: bytes, media_type: str, max_items: int) -> Batch:
    text = _decode(body)
    if not text.strip():
        raise ApiError(422, "empty_batch", "the body is empty: send at least one item")
    return parse_batch_text(text, media_type, max_items)


INLINE_PARSE_BYTES = 16 * 1024  # a body up to this is parsed on the event loop (issue 18: a write under read load)


async def read_batch(request: Request, max_items: int) -> Batch:
    """The request's body as a batch; ApiError for a body that cannot be a batch at all."""
    media_type = _media_type(request)
    check_media_type(media_type)  # before reading the body
    body = await request.body()
    # decoding and parsing up to RISKMINE_MAX_UPLOAD_BYTES is CPU work: off the event loop, which serves others;
    # a small body is parsed in place (microseconds): the thread-pool round trip would cost it turns of a busy loop
    if len(body) <= INLINE_PARSE_BYTES:
        batch = _parse_body(body, media_type, max_items)
    else:
        batch = await run_in_threadpool(_parse_body, body, media_type, max_items)
    if batch.size == 0:
        raise ApiError(422, "empty_batch", "the batch has no items: send at least one")
    return batch


def remap_rejection(rejection: Any, rows: Sequence[int]) -> RowError:
    """A rejection numbered over the parsed items (1-based), renumbered to the row that was sent."""
    index = int(rejection.row) - 1
    row = rows[index] if 0 <= index < len(rows) else int(rejection.row)
    reason = _ROW_PREFIX.sub("", str(rejection.reason)) or "invalid row"
    return RowError(row, reason, getattr(rejection, "field", None))
