"""The ingest service: rows in (files, uploads, API bodies), RawDocuments stored, every bad row explained.

Rows are mapped to :class:`RawDocument` with tolerant headers (see
:mod:`riskmine.feeds.headers`), values are parsed (dates, prices, ratings), and each row
is either accepted or rejected with a reason naming the row and the field. Valid documents are
written in batches as they come, so nothing accepted is lost when a later row is bad or a file is
cut short; a document whose stable id is already stored is counted as a duplicate, not added.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from riskmine.feeds import read_feed
from riskmine.feeds.forms import WARNINGS
from riskmine.feeds.headers import INPUT_FIELDS, canonical_field, header_key, is_blank
from riskmine.feeds.messages import at, message
from riskmine.feeds.rows import RAW_EXCERPT_CHARS, FeedError, Rejection, Row
from riskmine.feeds.values import parse_document_time, parse_price, parse_rating
from riskmine.schema import MAX_TEXT_CHARS, RawDocument, SourceType
from riskmine.schema.urls import URL_ORIGINAL_META_KEY, is_script_url, web_url
from riskmine.store.base import Collection, DuplicatePolicy, Store
from riskmine.text.pii import mask_document

__all__ = [
    "EXTRA_POLICIES",
    "MAX_FIELD_CHARS",
    "IngestReport",
    "Rejection",
    "ingest_path",
    "ingest_rows",
    "parse_source_type",
    "validate_rows",
    "write_rejections",
]

# What to do with a field that is not a RawDocument field: reject the row, keep it in meta, or drop it.
EXTRA_POLICIES = ("reject", "meta", "ignore")
# Longest value of a short text field (title, product, url, ...) and of the JSON of meta.
MAX_FIELD_CHARS = 10_000
# Rejections kept before reading stops (a file this bad is most likely the wrong file or format).
DEFAULT_MAX_REJECTIONS = 10_000

_SHORT_TEXT_FIELDS = ("source", "source_id", "url", "title", "product", "shop", "brand", "enterprise", "region")

_SOURCE_TYPE_ALIASES: dict[SourceType, tuple[str, ...]] = {
    SourceType.review: ("评论", "评价", "商品评论", "用户评论", "差评", "电商评论"),
    SourceType.news: ("新闻", "舆情", "媒体", "媒体报道", "网络舆情"),
    SourceType.complaint: ("投诉", "消费投诉", "12315", "投诉举报"),
    SourceType.recall: ("召回", "召回公告", "缺陷召回"),
    SourceType.spot_check: ("抽检", "抽查", "监督抽查", "抽样检验", "监督抽检"),
    SourceType.injury_report: ("伤害", "伤害报告", "伤害监测", "伤害事件"),
    SourceType.government_notice: ("政府公告", "公告", "通报", "政府通报", "监管通报"),
    SourceType.station_report: ("监测站", "监测站报送", "报送", "监测站报告"),
    SourceType.public_report: ("举报", "公众举报", "群众举报"),
}
_SOURCE_TYPE_BY_KEY: dict[str, SourceType] = {header_key(t.value): t for t in SourceType}
for _type, _names in _SOURCE_TYPE_ALIASES.items():
    for _name in _names:
        _SOURCE_TYPE_BY_KEY[header_key(_name)] = _type

_PARSERS: dict[str, Callable[[Any], Any]] = {
    "published_at": parse_document_time,
    "collected_at": parse_document_time,
    "price": parse_price,
    "rating": parse_rating,
}


def parse_source_type(value: Any) -> SourceType:
    """A SourceType from its value ('review', 'spot-check', 'SPOT_CHECK') or a Chinese name ('抽检', '投诉')."""
    if isinstance(value, SourceType):
        return value
    found = _SOURCE_TYPE_BY_KEY.get(header_key(value)) if isinstance(value, str) else None
    if found is None:
        raise ValueError(message("unknown_source_type", value=value, known=", ".join(t.value for t in SourceType)))
    return found


@dataclass
class IngestReport:
    """What an ingest run did: rows read, documents newly stored, duplicates, rejected rows and why."""

    path: str | None
    rows: int = 0
    accepted: int = 0
    duplicates: int = 0
    rejected: list[Rejection] = field(default_factory=list)
    # rows accepted with a field left empty, and why (a Rejection's shape: row, reason, field)
    warnings: list[Rejection] = field(default_factory=list)
    document_ids: list[str] = field(default_factory=list)  # ids of newly stored documents
    # ids of rows whose document was stored already (by an earlier submission, or an interrupted try of this one)
    duplicate_ids: list[str] = field(default_factory=list)
    form: str | None = None  # station report form recognised ('general', 'ecommerce'), if any

    @property
    def ok(self) -> bool:
        """True when no row was rejected."""
        return not self.rejected

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "rows": self.rows,
            "accepted": self.accepted,
            "duplicates": self.duplicates,
            "rejected": [r.to_dict() for r in self.rejected],
            "warnings": [w.to_dict() for w in self.warnings],
            "document_ids": list(self.document_ids),
            "form": self.form,
            "ok": self.ok,
        }


def write_rejections(rejections: Sequence[Rejection], path: Path) -> None:
    """Write rejections as JSON Lines {row, reason, field, raw} (the file is replaced)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="\n") as fh:
        for r in rejections:
            fh.write(json.dumps(r.to_dict(), ensure_ascii=False) + "\n")


# --- mapping one row -------------------------------------------------------------------------


class _RowError(Exception):
    def __init__(self, reason: str, field: str | None = None) -> None:
        self.reason = reason
        self.field = field
        super().__init__(reason)


def _json_safe(value: Any) -> Any:
    if value is None or type(value) in (str, int, bool):
        return value
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, Mapping):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(v) for v in value]
    return value


def _raw(row: Any) -> str:
    try:
        text = json.dumps(_json_safe(row), ensure_ascii=False, default=str)
    except (TypeError, ValueError):
        text = repr(row)
    return text[:RAW_EXCERPT_CHARS]


def _named(name: str, column: str) -> str:
    if header_key(column) == header_key(name):
        return message("field", name=name)
    return message("field_column", name=name, column=column)


def _short_text(name: str, column: str, value: Any) -> str:
    if type(value) is str:
        text = value.strip()
    elif isinstance(value, bool | Mapping | list | tuple | set):
        raise _RowError(message("must_be_text", field=_named(name, column), kind=type(value).__name__), name)
    elif isinstance(value, float) and value.is_integer():
        text = str(int(value))
    else:
        text = value.isoformat() if isinstance(value, datetime | date) else str(value).strip()
    if len(text) > MAX_FIELD_CHARS:
        raise _RowError(message("too_long", field=_named(name, column), length=len(text), limit=MAX_FIELD_CHARS), name)
    if name == "url" and is_script_url(text):
        raise _RowError(message("not_web_address", field=_named(name, column), value=text[:40]), name)
    return text


def _text(column: str, value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise _RowError(message("must_be_text", field=_named("text", column), kind=type(value).__name__), "text")
    text = value if isinstance(value, str) else str(value)
    if len(text) > MAX_TEXT_CHARS:
        raise _RowError(
            message("text_too_long", field=_named("text", column), length=len(text), limit=MAX_TEXT_CHARS), "text"
        )
    return text


def _meta(column: str, value: Any) -> dict[str, Any]:
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError as exc:
            reason = message("meta_not_json", field=_named("meta", column), detail=exc.msg, column=exc.colno)
            raise _RowError(reason, "meta") from None
    if not isinstance(value, Mapping):
        raise _RowError(message("meta_not_object", field=_named("meta", column)), "meta")
    return {str(k): _json_safe(v) for k, v in value.items()}


def _collect(row: Mapping[Any, Any], extra: str) -> tuple[dict[str, Any], dict[str, str], dict[str, Any]]:
    """(field -> value, field -> column it came from, unknown column -> value for meta)."""
    values: dict[str, Any] = {}
    columns: dict[str, str] = {}
    extras: dict[str, Any] = {}
    unknown: list[str] = []
    for key, value in row.items():
        column = str(key)
        name = canonical_field(column)
        if is_blank(value):
            continue
        if name is None:
            if extra == "meta":
                extras[column] = _json_safe(value)
            elif extra == "reject":
                unknown.append(column)
            continue
        if name in values:
            if values[name] != value:
                raise _RowError(message("columns_disagree", first=columns[name], second=column, name=name), name)
            continue
        values[name] = value
        columns[name] = column
    if unknown:
        listed = "、".join(repr(u) for u in unknown)
        raise _RowError(message("unknown_fields", listed=listed, known=", ".join(INPUT_FIELDS)), unknown[0])
    return values, columns, extras


def _document(
    row: Any, source: str | None, source_type: SourceType | None, extra: str, fixed_source: bool = False
) -> RawDocument:
    if not isinstance(row, Mapping):
        raise _RowError(message("not_mapping", kind=type(row).__name__))
    values, columns, extras = _collect(row, extra)
    if "text" not in values:
        raise _RowError(message("missing_text"), "text")
    doc: dict[str, Any] = {"text": _text(columns["text"], values["text"])}
    for name in _SHORT_TEXT_FIELDS:
        if name in values:
            doc[name] = _short_text(name, columns[name], values[name])
    if "url" in doc and web_url(doc["url"]) is None:
        # Not an absolute http(s) address (relative, protocol-relative, ftp:, ...): not a link, but kept.
        extras.setdefault(URL_ORIGINAL_META_KEY, doc.pop("url"))
    if fixed_source and source:
        own = doc.get("source")
        doc["source"] = source
        if own and own != source:
            extras.setdefault("row_source", own)  # kept, but the server's source is the provenance
    doc.setdefault("source", source)
    if not doc["source"]:
        raise _RowError(message("missing_source"), "source")
    if "source_type" in values:
        try:
            doc["source_type"] = parse_source_type(values["source_type"])
        except ValueError as exc:
            reason = message("field_value", field=_named("source_type", columns["source_type"]), detail=exc)
            raise _RowError(reason, "source_type") from None
    elif source_type is not None:
        doc["source_type"] = source_type
    else:
        raise _RowError(message("missing_source_type"), "source_type")
    for name, parse in _PARSERS.items():
        if name in values:
            try:
                doc[name] = parse(values[name])
            except ValueError as exc:
                raise _RowError(message("field_value", field=_named(name, columns[name]), detail=exc), name) from None
    meta = _meta(columns["meta"], values["meta"]) if "meta" in values else {}
    for key, value in extras.items():
        meta.setdefault(key, value)
    if meta:
        size = len(json.dumps(meta, ensure_ascii=False, default=str))
        if size > MAX_TEXT_CHARS:
            raise _RowError(message("meta_too_long", length=size, limit=MAX_TEXT_CHARS), "meta")
        doc["meta"] = meta
    try:
        document = RawDocument(**doc)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = str(err["loc"][0]) if err.get("loc") else None
        reason = message("invalid_field", name=loc, detail=err["msg"]) if loc else str(err["msg"])
        raise _RowError(reason, loc) from None
    return mask_document(document)  # personal data never stored, whatever is processed later


def _check_options(source: str | None, source_type: str | None, extra: str) -> SourceType | None:
    if extra not in EXTRA_POLICIES:
        raise ValueError(f"extra must be one of {', '.join(EXTRA_POLICIES)}, not {extra!r}")
    if source is not None and not source.strip():
        raise ValueError("the default source must not be empty")
    return parse_source_type(source_type) if source_type is not None else None


def validate_rows(
    rows: Iterable[tuple[int, dict[str, Any] | Rejection]],
    *,
    source: str | None = None,
    source_type: str | None = None,
    extra: str = "reject",
    unit: str = "row",
    fixed_source: bool = False,
) -> Iterator[RawDocument | Rejection]:
    """Map numbered rows to RawDocuments; a row that cannot be mapped gives a Rejection whose reason
    starts with '{unit} {number}: ' and names the field. Rejections in the input pass through.

    `source` and `source_type` are defaults for rows that do not give them; `extra` says what to
    do with unknown fields ('reject', 'meta' or 'ignore'). Bad options raise ValueError at once.
    With `fixed_source`, `source` is every row's source: one a row names is kept in meta as 'row_source'.
    """
    default_type = _check_options(source, source_type, extra)
    default_source = source.strip() if source else None
    return _validate(rows, default_source, default_type, extra, unit, fixed_source)


def _validate(
    rows: Iterable[tuple[int, Any]],
    source: str | None,
    source_type: SourceType | None,
    extra: str,
    unit: str,
    fixed_source: bool = False,
) -> Iterator[RawDocument | Rejection]:
    for number, row in rows:
        if isinstance(row, Rejection):
            yield row
            continue
        try:
            yield _document(row, source, source_type, extra, fixed_source)
        except _RowError as exc:
            yield Rejection(number, at(unit, number, exc.reason), exc.field, _raw(row))


# --- storing ---------------------------------------------------------------------------------


def _guard(rows: Iterator[Row], name: str, unit: str) -> Iterator[Row]:
    """Rows until the reader fails; a failure after some rows becomes a last Rejection (what was read
    stays accepted), a failure before any row is raised as a FeedError."""
    last = 0
    while True:
        try:
            number, row = next(rows)
        except StopIteration:
            return
        except Exception as exc:
            if last == 0:
                if isinstance(exc, FeedError):
                    raise
                raise FeedError(f"{name}: cannot be read ({type(exc).__name__}: {exc})") from exc
            detail = str(exc) if isinstance(exc, FeedError) else f"{type(exc).__name__}: {exc}"
            yield last + 1, Rejection(last + 1, at(unit, last + 1, message("reading_stopped", detail=detail)))
            return
        last = number
        yield number, row


def _row_warnings(document: RawDocument, row: int) -> list[Rejection]:
    """The warnings a feed reader left in the document's meta (a field left empty, the row kept)."""
    found = (document.meta or {}).get(WARNINGS)
    if not isinstance(found, list):
        return []
    return [
        Rejection(int(w.get("row") or row), str(w["reason"]), w.get("field"))
        for w in found
        if isinstance(w, dict) and w.get("reason")
    ]


def _store(
    documents: Iterable[RawDocument | Rejection],
    store: Store,
    report: IngestReport,
    *,
    batch_size: int,
    progress: Callable[[int], None] | None,
    max_rejections: int | None,
    unit: str,
    on_stored: Callable[[list[str]], None] | None = None,
) -> IngestReport:
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, not {batch_size}")
    batch: dict[str, RawDocument] = {}
    reported = 0

    def flush() -> None:
        nonlocal reported
        if batch:
            result = store.write(Collection.documents, list(batch.values()), DuplicatePolicy.skip)
            report.accepted += result.written
            report.duplicates += result.skipped
            report.document_ids.extend(result.ids)
            written = set(result.ids)
            report.duplicate_ids.extend(i for i in batch if i not in written)
            if on_stored is not None:
                on_stored(result.ids)
            batch.clear()
        if progress is not None and report.rows > reported:
            progress(report.rows - reported)
            reported = report.rows

    for item in documents:
        report.rows += 1
        if isinstance(item, Rejection):
            report.rejected.append(item)
            if max_rejections is not None and len(report.rejected) >= max_rejections:
                report.rejected.append(
                    Rejection(item.row, at(unit, item.row, message("too_many_rejections", count=len(report.rejected))))
                )
                break
            continue
        report.warnings.extend(_row_warnings(item, report.rows))
        if item.id in batch:
            report.duplicates += 1  # the same document twice in one batch
        else:
            batch[item.id] = item
        if len(batch) >= batch_size:
            flush()
    flush()
    return report


def ingest_rows(
    rows: Iterable[dict[str, Any]],
    store: Store,
    *,
    source: str | None = None,
    source_type: str | None = None,
    batch_size: int = 500,
    extra: str = "reject",
    max_rejections: int | None = DEFAULT_MAX_REJECTIONS,
    fixed_source: bool = False,
    on_stored: Callable[[list[str]], None] | None = None,
) -> IngestReport:
    """Store rows given as mappings (numbered from 1); see :func:`validate_rows` for the options.
    ``on_stored`` is called with the ids of each batch of documents just stored."""
    documents = validate_rows(
        enumerate(rows, start=1), source=source, source_type=source_type, extra=extra, fixed_source=fixed_source
    )
    return _store(
        documents,
        store,
        IngestReport(path=None),
        batch_size=batch_size,
        progress=None,
        max_rejections=max_rejections,
        unit="row",
        on_stored=on_stored,
    )


def ingest_path(
    path: Path,
    store: Store,
    *,
    source: str | None = None,
    source_type: str | None = None,
    rejects_path: Path | None = None,
    batch_size: int = 500,
    progress: Callable[[int], None] | None = None,
    extra: str = "reject",
    sheet: str | None = None,
    encoding: str | None = None,
    max_rejections: int | None = DEFAULT_MAX_REJECTIONS,
    fixed_source: bool = False,
    on_stored: Callable[[list[str]], None] | None = None,
) -> IngestReport:
    """Read a feed file (.jsonl/.ndjson/.json lines, .csv/.tsv, .xlsx) and store its rows.

    The default source is 'upload:<file stem>'. `progress` is called after each batch with the
    number of rows read since its previous call (an increment, as a progress bar's advance wants).
    Rejections are also written to `rejects_path` (JSON Lines) when given. `sheet` picks an XLSX
    worksheet, `encoding` overrides detection for text files; `on_stored` is called with the ids of each
    batch of documents just stored.

    Raises FeedError (with a message saying what to do) when the file as a whole cannot be read,
    and ValueError for bad options (unknown source_type, extra policy).
    """
    path = Path(path)
    default_source = source if source is not None else f"upload:{path.stem}"
    _check_options(default_source, source_type, extra)
    feed = read_feed(path, sheet=sheet, encoding=encoding)
    documents = validate_rows(
        _guard(feed.rows, path.name, feed.unit),
        source=default_source,
        source_type=source_type,
        extra=extra,
        unit=feed.unit,
        fixed_source=fixed_source,
    )
    report = IngestReport(path=str(path))
    _store(
        documents,
        store,
        report,
        batch_size=batch_size,
        progress=progress,
        max_rejections=max_rejections,
        unit=feed.unit,
        on_stored=on_stored,
    )
    report.form = feed.info.form
    if rejects_path is not None:
        write_rejections(report.rejected, rejects_path)
    return report
