"""What feed readers yield: numbered rows or rejections, and the errors that stop a whole file."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from riskmine.schema.errors import RiskmineError

# Longest raw excerpt kept with a rejection.
RAW_EXCERPT_CHARS = 200


@dataclass
class Rejection:
    """One input row that was not accepted, and why (the reason names the row and, where known, the field)."""

    row: int
    reason: str
    field: str | None = None
    raw: str | None = None  # excerpt of the input row, at most RAW_EXCERPT_CHARS characters

    def __post_init__(self) -> None:
        if self.raw is not None and len(self.raw) > RAW_EXCERPT_CHARS:
            self.raw = self.raw[:RAW_EXCERPT_CHARS]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


# A reader yields (row or line number, mapping of column name to value) or (number, Rejection).
Row = tuple[int, dict[str, Any] | Rejection]


class FeedError(RiskmineError):
    """A whole file cannot be read; the message says which file, where and what to do."""

    code = "feed_error"
    status = 422


class UnsupportedFileType(FeedError):
    code = "unsupported_file_type"


class FeedDecodeError(FeedError):
    """Bytes that decode in no supported encoding."""

    code = "undecodable_file"

    def __init__(self, path: str, offset: int, detail: str) -> None:
        self.path = path
        self.offset = offset
        super().__init__(f"{path}: cannot decode the text at byte offset {offset}: {detail}")


class FeedFormatError(FeedError):
    """The file's structure is wrong (no header row, corrupt workbook, missing sheet)."""

    code = "bad_feed_format"


class FeedNotFound(FeedError):
    code = "file_not_found"
