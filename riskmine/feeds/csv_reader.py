"""CSV/TSV reader: encoding detected, delimiter sniffed among ',', tab and ';', streamed record by record.

Rows are numbered as a spreadsheet shows them: record 1 is the first line (title rows and the
header included), a quoted field spanning several lines stays one row.
"""

from __future__ import annotations

import csv
from collections import deque
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from riskmine.feeds.encoding import MAX_RECORD_CHARS, LineTooLong, TextLines
from riskmine.feeds.messages import at, message
from riskmine.feeds.rows import FeedDecodeError, Rejection, Row
from riskmine.feeds.table import TableInfo, raw_excerpt, table_rows

DELIMITERS: tuple[str, ...] = (",", "\t", ";")
SNIFF_LINES = 50


def _ensure_field_limit() -> None:
    # The csv module's default (131,072 characters) is below the longest text a document may have;
    # raise it (never lower it) so a long text is rejected by the text limit with a clear reason.
    if csv.field_size_limit() < MAX_RECORD_CHARS:
        csv.field_size_limit(MAX_RECORD_CHARS)


def sniff_delimiter(lines: list[str], preferred: str = ",") -> str:
    """The delimiter among ',', tab and ';' that splits most lines into the same number of fields
    (counting outside double quotes); `preferred` on ties or when none occurs."""
    best: tuple[int, int, int] = (0, 0, 0)
    choice = preferred
    order = [preferred, *[d for d in DELIMITERS if d != preferred]]
    for rank, delim in enumerate(order):
        counts: list[int] = []
        in_quotes = False
        for line in lines:
            n = 0
            for ch in line:
                if ch == '"':
                    in_quotes = not in_quotes
                elif ch == delim and not in_quotes:
                    n += 1
            if not in_quotes and line.strip():
                counts.append(n)
        nonzero = [c for c in counts if c]
        if not nonzero:
            continue
        mode = max(set(nonzero), key=lambda c: (nonzero.count(c), c))
        score = (nonzero.count(mode), mode, -rank)
        if score > best:
            best, choice = score, delim
    return choice


class _GuardedLines:
    """Lines for csv.reader: stops (instead of raising) at an undecodable byte or an overlong
    line, remembering the error; counts double quotes to tell an unterminated quoted field."""

    def __init__(self, lines: TextLines) -> None:
        self.lines = lines
        self.buffer: deque[str] = deque()
        self.error: FeedDecodeError | LineTooLong | None = None
        self.exhausted = False
        self.quotes = 0
        self.last_line_ended = True

    def prefetch(self, n: int) -> list[str]:
        while len(self.buffer) < n and not self.exhausted:
            line = self._read()
            if line is None:
                break
            self.buffer.append(line)
        return list(self.buffer)

    def _read(self) -> str | None:
        if self.exhausted:
            return None
        try:
            line = next(self.lines)
        except StopIteration:
            self.exhausted = True
            return None
        except (FeedDecodeError, LineTooLong) as exc:
            self.error = exc
            self.exhausted = True
            return None
        self.quotes += line.count('"')
        self.last_line_ended = line.endswith(("\n", "\r"))
        return line

    def __iter__(self) -> _GuardedLines:
        return self

    def __next__(self) -> str:
        if self.buffer:
            return self.buffer.popleft()
        line = self._read()
        if line is None:
            raise StopIteration
        return line


def _records(lines: TextLines, delimiter: str | None, name: str) -> Iterator[tuple[int, Any]]:
    with lines:
        guarded = _GuardedLines(lines)
        sample = guarded.prefetch(SNIFF_LINES)
        preferred = "\t" if name.lower().endswith((".tsv", ".tab")) else ","
        delim = delimiter or sniff_delimiter(sample, preferred)
        _ensure_field_limit()
        reader = csv.reader(guarded, delimiter=delim)
        number = 0
        while True:
            try:
                cells = next(reader)
            except StopIteration:
                break
            except csv.Error as exc:
                number += 1
                yield (
                    number,
                    Rejection(number, at("row", number, message("csv_unparsable", detail=exc, line=lines.line_no))),
                )
                return
            number += 1
            if guarded.error is not None:
                break  # this record was cut short by the error; reported below
            if guarded.exhausted and not guarded.buffer and not guarded.last_line_ended and guarded.quotes % 2:
                yield (
                    number,
                    Rejection(
                        number,
                        at("row", number, message("csv_unclosed_quote")),
                        raw=raw_excerpt(cells, delim),
                    ),
                )
                return
            yield number, cells
        if guarded.error is not None:
            number += 1
            if isinstance(guarded.error, LineTooLong):
                error = guarded.error
                reason = at("row", number, message("csv_line_too_long", line=error.line, limit=error.limit))
            else:
                reason = at("row", number, str(guarded.error))
            yield number, Rejection(number, reason)


def read_csv(
    path: Path, *, encoding: str | None = None, delimiter: str | None = None, info: TableInfo | None = None
) -> Iterator[Row]:
    """Numbered rows of a CSV/TSV file with a header row (title rows above it are skipped).

    The encoding is detected now (FeedDecodeError if the file decodes in none); rows are read as
    the iterator is consumed. `info` (optional) receives the header row, headers and form found.
    """
    path = Path(path)
    if delimiter is not None and len(delimiter) != 1:
        raise ValueError(f"delimiter must be one character, not {delimiter!r}")
    lines = TextLines(path, encoding)
    return table_rows(_records(lines, delimiter, path.name), name=path.name, sep=delimiter or ",", info=info)
