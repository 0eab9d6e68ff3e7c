"""Feed readers for station uploads and data files: JSON Lines, CSV/TSV and XLSX (report forms and
spot-check result tables too).

Each reader yields ``(row_or_line_number, dict)`` for a row and ``(number, Rejection)`` for a row it
could not read, streaming the file. :func:`read_feed` picks the reader from the file extension.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from riskmine.feeds.csv_reader import read_csv
from riskmine.feeds.encoding import detect_encoding
from riskmine.feeds.forms import ECOMMERCE, GENERAL, SPOT_CHECK, detect_form, map_form_row
from riskmine.feeds.jsonl import read_jsonl
from riskmine.feeds.rows import (
    FeedDecodeError,
    FeedError,
    FeedFormatError,
    FeedNotFound,
    Rejection,
    Row,
    UnsupportedFileType,
)
from riskmine.feeds.table import TableInfo
from riskmine.feeds.xlsx import read_xlsx, sheet_names

# File extension -> reader kind.
EXTENSIONS: dict[str, str] = {
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "jsonl",
    ".csv": "csv",
    ".tsv": "csv",
    ".xlsx": "xlsx",
}


def feed_kind(path: Path) -> str:
    """'jsonl', 'csv' or 'xlsx' from the file extension; UnsupportedFileType with what to do otherwise."""
    suffix = Path(path).suffix.lower()
    if suffix in EXTENSIONS:
        return EXTENSIONS[suffix]
    name = Path(path).name
    if suffix == ".xls":
        raise UnsupportedFileType(
            f"{name}: the old Excel format (.xls) is not supported; open it in Excel or LibreOffice and "
            "save it as .xlsx (or as CSV UTF-8)"
        )
    if suffix in (".xlsm", ".xltx", ".xltm", ".ods", ".numbers"):
        raise UnsupportedFileType(f"{name}: {suffix} workbooks are not supported; save the sheet as .xlsx")
    supported = ", ".join(EXTENSIONS)
    what = f"file type {suffix!r}" if suffix else "a file without an extension"
    raise UnsupportedFileType(f"{name}: {what} is not supported; supported: {supported}")


@dataclass
class Feed:
    """An opened feed: its rows (an iterator, consumed once) and what was learnt reading it."""

    path: Path
    kind: str
    rows: Iterator[Row]
    info: TableInfo = field(default_factory=TableInfo)

    @property
    def unit(self) -> str:
        """What the numbers count: 'line' for JSON Lines, 'row' for tables."""
        return "line" if self.kind == "jsonl" else "row"


def read_feed(
    path: Path, *, sheet: str | None = None, encoding: str | None = None, delimiter: str | None = None
) -> Feed:
    """Open a feed file with the reader its extension calls for.

    Raises FeedError subclasses for a whole file that cannot be read (missing, unsupported type,
    undecodable text, corrupt workbook, missing sheet), each with a message saying what to do.
    """
    path = Path(path)
    kind = feed_kind(path)
    if not path.exists():
        raise FeedNotFound(f"{path}: no such file")
    if not path.is_file():
        raise FeedNotFound(f"{path}: not a file")
    if sheet is not None and kind != "xlsx":
        raise ValueError(f"{path.name}: a sheet name applies to .xlsx files only")
    if kind == "xlsx" and (encoding is not None or delimiter is not None):
        raise ValueError(f"{path.name}: encoding and delimiter apply to text files only")
    info = TableInfo()
    if kind == "jsonl":
        if delimiter is not None:
            raise ValueError(f"{path.name}: a delimiter applies to CSV files only")
        rows = read_jsonl(path, encoding=encoding)
    elif kind == "csv":
        rows = read_csv(path, encoding=encoding, delimiter=delimiter, info=info)
    else:
        rows = read_xlsx(path, sheet=sheet, info=info)
    return Feed(path, kind, rows, info)


__all__ = [
    "ECOMMERCE",
    "EXTENSIONS",
    "GENERAL",
    "SPOT_CHECK",
    "Feed",
    "FeedDecodeError",
    "FeedError",
    "FeedFormatError",
    "FeedNotFound",
    "Rejection",
    "Row",
    "TableInfo",
    "UnsupportedFileType",
    "detect_encoding",
    "detect_form",
    "feed_kind",
    "map_form_row",
    "read_csv",
    "read_feed",
    "read_jsonl",
    "read_xlsx",
    "sheet_names",
]
