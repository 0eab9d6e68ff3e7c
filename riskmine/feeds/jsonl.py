"""JSON Lines reader: one JSON object per line, numbered by physical line, streamed."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

from riskmine.feeds.encoding import LineTooLong, TextLines
from riskmine.feeds.rows import FeedDecodeError, FeedFormatError, Rejection, Row

_JSON_TYPES = {list: "an array", str: "a string", int: "a number", float: "a number", bool: "true/false"}


def parse_line(number: int, line: str) -> Row | None:
    """One line as (number, object), (number, Rejection), or None for a blank line."""
    text = line.strip()
    if not text:
        return None
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        where = f"column {exc.colno}" if exc.msg.endswith(" at") else f"at column {exc.colno}"
        hint = "" if line.endswith(("\n", "\r")) else " (the last line of the file: was the file cut short?)"
        return number, Rejection(number, f"line {number}: not valid JSON: {exc.msg} {where}{hint}", raw=text)
    except RecursionError:
        return number, Rejection(number, f"line {number}: not valid JSON: nested too deeply", raw=text)
    if not isinstance(value, dict):
        kind = "null" if value is None else _JSON_TYPES.get(type(value), type(value).__name__)
        return number, Rejection(number, f"line {number}: not a JSON object (got {kind})", raw=text)
    return number, value


def _rows(lines: TextLines) -> Iterator[Row]:
    with lines:
        first = True
        while True:
            try:
                line = next(lines)
            except StopIteration:
                return
            except LineTooLong as exc:
                yield exc.line, Rejection(exc.line, f"line {exc.line}: longer than {exc.limit:,} characters; skipped")
                continue
            except FeedDecodeError as exc:
                number = lines.line_no + 1
                yield number, Rejection(number, f"line {number}: {exc}")
                return
            if first and line.strip():
                first = False
                if line.lstrip().startswith("["):
                    raise FeedFormatError(
                        f"{lines.path.name}: holds a JSON array; give JSON Lines instead (one object per line, "
                        "e.g. `jq -c '.[]' file.json > file.jsonl`)"
                    )
            row = parse_line(lines.line_no, line)
            if row is not None:
                yield row


def read_jsonl(path: Path, *, encoding: str | None = None) -> Iterator[Row]:
    """Numbered objects of a JSON Lines file (.jsonl, .ndjson, .json); blank lines skipped.

    The encoding is detected now (FeedDecodeError if the file decodes in none); lines are read as
    the iterator is consumed. A line that is not a JSON object gives a Rejection, and reading goes on.
    """
    return _rows(TextLines(Path(path), encoding))
