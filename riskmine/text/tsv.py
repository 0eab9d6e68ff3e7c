"""Reading the TSV data files of the lexicons: rows that name their file and line in every error."""

from __future__ import annotations

import csv
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from riskmine.schema.errors import RiskmineError


class LexiconError(RiskmineError, ValueError):
    """A lexicon file is missing or has a bad row; the message names the file, row and problem."""

    code = "lexicon_invalid"
    status = 500


@dataclass(frozen=True)
class Row:
    path: Path
    line: int
    values: dict[str, str]

    def __getitem__(self, key: str) -> str:
        return self.values.get(key, "")

    def error(self, problem: str) -> LexiconError:
        return LexiconError(f"{self.path.name} row {self.line}: {problem}")

    def flag(self, key: str) -> bool:
        v = self[key].strip()
        if v not in ("0", "1", ""):
            raise self.error(f"{key} must be 0 or 1, got {v!r}")
        return v == "1"


def read_tsv(path: Path, required: Sequence[str]) -> list[Row]:
    """Rows of a UTF-8 TSV file with a header; blank lines are skipped."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise LexiconError(f"lexicon file {path} is missing") from exc
    except UnicodeDecodeError as exc:
        raise LexiconError(f"{path.name} is not UTF-8: {exc}") from exc
    reader = csv.reader(text.splitlines(), delimiter="\t", quoting=csv.QUOTE_NONE)
    try:
        header = [h.strip() for h in next(reader)]
    except StopIteration as exc:
        raise LexiconError(f"{path.name} is empty (a header row is required)") from exc
    missing = [c for c in required if c not in header]
    if missing:
        raise LexiconError(f"{path.name}: header lacks column(s) {', '.join(missing)}; found {', '.join(header)}")
    rows: list[Row] = []
    for line, cells in enumerate(reader, start=2):
        if not any(c.strip() for c in cells):
            continue
        if len(cells) > len(header):
            raise LexiconError(f"{path.name} row {line}: {len(cells)} cells but the header has {len(header)}")
        values = {h: (cells[i].strip() if i < len(cells) else "") for i, h in enumerate(header)}
        row = Row(path, line, values)
        for c in required:
            if c == header[0] and not values[c]:
                raise row.error(f"empty {c}")
        rows.append(row)
    return rows


def enum_cell(row: Row, key: str, enum: type[Any]) -> Any:
    try:
        return enum(row[key])
    except ValueError:
        allowed = ", ".join(e.value for e in enum)
        raise row.error(f"unknown {key} {row[key]!r}; allowed: {allowed}") from None


def split_aliases(value: str) -> list[str]:
    return [a.strip() for a in value.split("|") if a.strip()]
