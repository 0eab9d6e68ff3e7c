"""Text encodings of uploaded files: detection by a strict-decode ladder, and streaming line reading.

Detection looks at a byte-order mark first (UTF-8 with BOM, UTF-16 LE/BE), then decodes a sample
strictly as UTF-8, and failing that as GB18030 (a superset of GBK and GB2312, so one decoder covers
all three). A strict ladder is used rather than a statistical guesser such as charset_normalizer:
on short Chinese samples a guesser may pick Big5, cp949 or Shift-JIS and silently produce mojibake,
and its answer can change between library versions. Strict UTF-8 almost never accepts GBK bytes
(GBK pairs are rarely valid UTF-8 sequences), so trying it first is safe and the outcome is
predictable and explainable. A sample that is plainly UTF-8 up to a bad byte is read as UTF-8 (the
reader stops at the bad byte, naming its offset), never re-read as GB18030 mojibake.
"""

from __future__ import annotations

import codecs
from collections import deque
from pathlib import Path
from types import TracebackType
from typing import BinaryIO

from riskmine.feeds.rows import FeedDecodeError
from riskmine.schema import MAX_TEXT_CHARS
from riskmine.schema.errors import RiskmineError

# Bytes decoded to decide the encoding.
SAMPLE_BYTES = 1 << 20
# Longest physical line (or CSV field) read; longer ones are skipped with a rejection, never loaded whole.
MAX_RECORD_CHARS = 10 * MAX_TEXT_CHARS
# Non-ASCII characters that must decode as UTF-8 before a bad byte for the file to count as corrupt UTF-8.
_UTF8_EVIDENCE_CHARS = 4

_BOMS: tuple[tuple[bytes, str], ...] = (
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
# Encoding name as reported -> (codec used after the BOM, BOM length).
_BOM_CODECS = {"utf-8-sig": ("utf-8", 3), "utf-16-le": ("utf-16-le", 2), "utf-16-be": ("utf-16-be", 2)}
_ALIASES = {"gbk": "gb18030", "gb2312": "gb18030", "cp936": "gb18030", "utf8": "utf-8", "utf-16": "utf-16"}


def _strict_prefix_error(data: bytes, codec: str, final: bool) -> UnicodeDecodeError | None:
    try:
        codecs.getincrementaldecoder(codec)("strict").decode(data, final)
    except UnicodeDecodeError as exc:
        return exc
    return None


def detect_encoding(path: Path, sample_bytes: int = SAMPLE_BYTES) -> str:
    """The encoding of a text file: 'utf-8-sig', 'utf-16-le', 'utf-16-be', 'utf-8' or 'gb18030'.

    Raises FeedDecodeError naming the file and the byte offset where decoding fails.
    """
    with Path(path).open("rb") as fh:
        sample = fh.read(sample_bytes)
        final = not fh.read(1)
    for bom, name in _BOMS:
        if sample.startswith(bom):
            return name
    utf8_error = _strict_prefix_error(sample, "utf-8", final)
    if utf8_error is None:
        return "utf-8"
    prefix = sample[: utf8_error.start].decode("utf-8", errors="replace")
    if sum(1 for ch in prefix if ord(ch) > 127) >= _UTF8_EVIDENCE_CHARS:
        # UTF-8 with a corrupt byte: read as UTF-8, so the lines before it are kept and the reader
        # stops at the bad byte with its offset (as it does for a bad byte after the sample).
        return "utf-8"
    gb_error = _strict_prefix_error(sample, "gb18030", final)
    if gb_error is None:
        return "gb18030"
    offset = max(utf8_error.start, gb_error.start)
    raise FeedDecodeError(
        str(path),
        offset,
        f"the file is neither UTF-8 (invalid at byte {utf8_error.start}) nor GB18030/GBK/GB2312 "
        f"(invalid at byte {gb_error.start}), and has no UTF-8/UTF-16 byte-order mark; save it as UTF-8",
    )


def resolve_encoding(path: Path, encoding: str | None) -> str:
    """The caller's encoding (normalised) or the detected one."""
    if encoding is None:
        return detect_encoding(path)
    try:
        name = codecs.lookup(encoding).name
    except LookupError:
        raise ValueError(f"unknown text encoding {encoding!r}; use utf-8, gb18030 or utf-16") from None
    return _ALIASES.get(name, name)


class LineTooLong(RiskmineError):
    """A physical line longer than the reader's limit; it was skipped, reading may go on."""

    code = "line_too_long"
    status = 413

    def __init__(self, line: int, chars: int, limit: int) -> None:
        self.line = line
        self.chars = chars
        self.limit = limit
        super().__init__(f"line {line} is longer than {limit:,} characters (the limit for one record); skipped")


class _Overlong:
    __slots__ = ("chars",)

    def __init__(self, chars: int) -> None:
        self.chars = chars


class TextLines:
    """Iterate the lines of a text file (each with its line ending), decoding chunk by chunk.

    Never holds more than one chunk plus one line in memory. A line longer than `max_line_chars`
    raises LineTooLong from ``next()`` (after skipping it; iteration may continue). Bytes that do
    not decode raise FeedDecodeError (with the byte offset) once the lines before them are read;
    iteration ends there. `line_no` is the number of the last line returned or skipped.
    """

    def __init__(
        self,
        path: Path,
        encoding: str | None = None,
        *,
        max_line_chars: int = MAX_RECORD_CHARS,
        chunk_bytes: int = 1 << 16,
    ) -> None:
        self.path = Path(path)
        self.encoding = resolve_encoding(self.path, encoding)
        codec, bom_len = _BOM_CODECS.get(self.encoding, (self.encoding, 0))
        if self.encoding == "utf-16":  # asked for by name: the BOM says which byte order
            codec, bom_len = "utf-16", 0
        self._codec = codec
        self._decoder = codecs.getincrementaldecoder(codec)("strict")
        self._fh: BinaryIO = self.path.open("rb")
        if bom_len:
            head = self._fh.read(bom_len)
            if not any(head == bom for bom, _ in _BOMS):
                self._fh.seek(0)
                bom_len = 0
        self._offset = bom_len  # bytes fed to the decoder so far (file offset)
        self._chunk_bytes = chunk_bytes
        self.max_line_chars = max_line_chars
        self._ready: deque[str | _Overlong] = deque()
        self._parts: list[str] = []
        self._partial_len = 0
        self._skipping = 0  # > 0: inside an overlong line, characters dropped so far
        self._eof = False
        self._error: FeedDecodeError | None = None
        self.line_no = 0

    def __enter__(self) -> TextLines:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        self._fh.close()

    def __iter__(self) -> TextLines:
        return self

    def __next__(self) -> str:
        while not self._ready:
            if self._eof:
                if self._error is not None:
                    error, self._error = self._error, None
                    raise error
                raise StopIteration
            self._fill()
        item = self._ready.popleft()
        self.line_no += 1
        if isinstance(item, _Overlong):
            raise LineTooLong(self.line_no, item.chars, self.max_line_chars)
        return item

    def _fill(self) -> None:
        chunk = self._fh.read(self._chunk_bytes)
        final = not chunk
        pending = len(self._decoder.getstate()[0])
        try:
            text = self._decoder.decode(chunk, final)
        except UnicodeDecodeError as exc:
            bad_at = self._offset - pending + exc.start
            good = bytes(exc.object[: exc.start])
            text = good.decode(self._codec, errors="replace")
            self._error = FeedDecodeError(
                str(self.path), bad_at, f"invalid {self._codec} ({exc.reason}); the rest of the file was not read"
            )
            self._eof = True
            self._add_text(text)
            self._drop_partial()
            return
        self._offset += len(chunk)
        self._add_text(text)
        if final:
            self._eof = True
            self._flush_partial()

    def _add_text(self, text: str) -> None:
        start = 0
        while True:
            nl = text.find("\n", start)
            if nl < 0:
                self._extend(text[start:])
                return
            self._extend(text[start : nl + 1])
            self._flush_partial()
            start = nl + 1

    def _extend(self, piece: str) -> None:
        if not piece:
            return
        if self._skipping:
            self._skipping += len(piece)
            return
        self._parts.append(piece)
        self._partial_len += len(piece)
        if self._partial_len > self.max_line_chars:
            self._skipping = self._partial_len
            self._parts, self._partial_len = [], 0

    def _flush_partial(self) -> None:
        if self._skipping:
            self._ready.append(_Overlong(self._skipping))
            self._skipping = 0
        elif self._parts:
            self._ready.append("".join(self._parts))
        self._parts, self._partial_len = [], 0

    def _drop_partial(self) -> None:
        self._parts, self._partial_len, self._skipping = [], 0, 0
