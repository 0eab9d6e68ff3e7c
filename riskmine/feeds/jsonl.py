"""JSON Lines reader: one JSON object per line, numbered by physical line, streamed."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

from riskmine.feeds.encoding import LineTooLong, TextLines
from riskmine.feeds.messages import at, json_kind, message
from riskmine.feeds.rows import FeedDecodeError, FeedFormatError, Rejection, Row


def parse_line(number: int, line: str) -> Row | None:
    """One line as (number, object), (number, Rejection), or None for a blank line."""
    text = line.strip()
    if not text:
        return None
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        hint = "" if line.endswith(("\n", "\r")) else message("not_json_last_line")
        reason = message("not_json", detail=exc.msg.removesuffix(" at"), column=exc.colno, hint=hint)
        return number, Rejection(number, at("line", number, reason), raw=text)
    except RecursionError:
        return number, Rejection(number, at("line", number, message("json_too_deep")), raw=text)
    if not isinstance(value, dict):
        return number, Rejection(
            number, at("line", number, message("not_json_object", kind=json_kind(value))), raw=text
        )
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
                yield exc.line, Rejection(exc.line, at("line", exc.line, message("line_too_long", limit=exc.limit)))
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
