"""From rows of cells (CSV records, worksheet rows) to numbered rows of named values.

Shared by the CSV and XLSX readers: finds the header row below any title rows, recognises the
station report forms, skips empty rows, and rejects rows with more values than the header has
columns.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from riskmine.feeds import forms
from riskmine.feeds.headers import canonical_field, find_header_row, header_key, is_blank, parse_preamble
from riskmine.feeds.messages import at, message
from riskmine.feeds.rows import FeedFormatError, Rejection, Row
from riskmine.feeds.values import FieldValueError

# Rows looked at to find the header.
HEADER_SCAN_ROWS = 10


def _known(cell: Any) -> bool:
    return canonical_field(cell) is not None or forms.is_form_header(cell)


def raw_excerpt(cells: Iterable[Any], sep: str = ",") -> str:
    return sep.join("" if c is None else str(c) for c in cells)


@dataclass
class TableInfo:
    """What was learnt about a table from its first rows (filled in as the rows are read)."""

    header_row: int | None = None
    headers: list[str] = field(default_factory=list)
    form: str | None = None
    preamble: dict[str, str] = field(default_factory=dict)


def _trim(cells: list[Any]) -> list[Any]:
    end = len(cells)
    while end and is_blank(cells[end - 1]):
        end -= 1
    return cells[:end]


def _headers(cells: list[Any], row_no: int, name: str) -> list[str]:
    headers: list[str] = []
    seen: dict[str, int] = {}
    for i, cell in enumerate(cells, start=1):
        header = f"column {i}" if is_blank(cell) else " ".join(str(cell).split())
        key = header_key(header)
        if key in seen:
            raise FeedFormatError(
                f"{name}: row {row_no}: columns {seen[key]} and {i} are both named {header!r}; rename one of them"
            )
        seen[key] = i
        headers.append(header)
    return headers


def table_rows(
    records: Iterable[tuple[int, list[Any]]], *, name: str, sep: str = ",", info: TableInfo | None = None
) -> Iterator[Row]:
    """Numbered dict rows (or rejections) from numbered lists of cells; `name` labels errors.

    `records` may also yield (number, Rejection) for records the reader could not parse.
    """
    info = info if info is not None else TableInfo()
    it = iter(records)
    head: list[tuple[int, list[Any]]] = []
    pending: list[tuple[int, Rejection]] = []
    for number, cells in it:
        if isinstance(cells, Rejection):
            pending.append((number, cells))
            break
        if not _trim(list(cells)):
            continue
        head.append((number, list(cells)))
        if len(head) >= HEADER_SCAN_ROWS:
            break
    if not head:
        yield from pending
        return
    idx = find_header_row([cells for _, cells in head], _known)
    header_no, header_cells = head[idx]
    headers = _headers(_trim(header_cells), header_no, name)
    info.header_row, info.headers = header_no, headers
    info.preamble = parse_preamble([cells for _, cells in head[:idx]])
    info.form = forms.detect_form(headers)

    def rest() -> Iterator[tuple[int, Any]]:
        yield from head[idx + 1 :]
        yield from pending
        yield from it

    for number, cells in rest():
        if isinstance(cells, Rejection):
            yield number, cells
            continue
        values = _trim(list(cells))
        if not values:
            continue
        if len(values) > len(headers):
            yield (
                number,
                Rejection(
                    number,
                    at(
                        "row",
                        number,
                        message("too_many_values", values=len(values), header=header_no, columns=len(headers)),
                    ),
                    raw=raw_excerpt(values, sep),
                ),
            )
            continue
        row = {h: (values[i] if i < len(values) else None) for i, h in enumerate(headers)}
        if info.form is None:
            yield number, row
            continue
        if forms.is_filler_row(row):
            continue
        try:
            mapped = forms.map_form_row(info.form, row, info.preamble)
        except FieldValueError as exc:
            yield (
                number,
                Rejection(
                    number,
                    at("row", number, exc.message),
                    field=exc.field,
                    raw=json.dumps(row, ensure_ascii=False, default=str),
                ),
            )
            continue
        for warning in mapped.get("meta", {}).get(forms.WARNINGS, ()):
            warning["row"] = number
        yield number, mapped
