"""The index specification of each collection, shared by every storage backend.

For each :class:`~riskmine.store.base.Collection` this module declares the fields
that can be filtered, sorted and aggregated (each an extractor from the record to
a list of values; multi-valued fields give several), the record's time (the
pseudo-field ``"time"``) and the text that goes into the full-text index. It holds
no SQL and no backend code: the SQLite backend stores the values in a facet table,
Elasticsearch will map them to keyword/number/boolean fields.

Values are normalised per field kind: keywords to ``str`` (enums by value), numbers
to ``int``/``float``, booleans to ``bool`` and times to POSIX seconds (``float``,
naive datetimes taken as UTC). Filter values given by callers go through the same
:meth:`FieldSpec.coerce`, so ``"true"``, ``"0.8"`` or an ISO date string work too.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from enum import Enum, StrEnum
from typing import Any

from riskmine.schema import CandidateRisk, Decision, RawDocument, Signal
from riskmine.store.base import Collection, StoreError, UnknownFieldError

# Bump when a field is added, removed or extracted differently: backends rebuild
# their derived index data (facets, full-text rows) for stored records on open.
FIELDS_VERSION = 3

# The pseudo-field naming each record's time (sort, Range filters, time buckets).
TIME_FIELD = "time"

Value = str | int | float | bool
TextPart = tuple[str | None, str | None]  # (raw text, already-segmented text or None)


class InvalidFilterError(StoreError):
    """A filter, sort or range value that does not fit the field's kind."""

    code = "invalid_filter"
    status = 400  # the client's filter value is wrong


class FieldKind(StrEnum):
    keyword = "keyword"
    number = "number"
    boolean = "boolean"
    time = "time"


_TRUE = {"true", "1", "yes", "y", "t", "on"}
_FALSE = {"false", "0", "no", "n", "f", "off"}


def to_epoch(value: datetime | date | str | float | int) -> float:
    """POSIX seconds of a datetime, date, ISO-8601 string or number; naive times are UTC."""
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not a time")
    if isinstance(value, int | float):
        if not math.isfinite(value):
            raise ValueError(f"{value!r} is not a finite time")
        return float(value)
    if isinstance(value, str):
        text = value.strip()
        if text.endswith(("Z", "z")):
            text = text[:-1] + "+00:00"
        try:
            value = datetime.fromisoformat(text)
        except ValueError:
            raise ValueError(f"{value!r} is not an ISO-8601 date or time") from None
    if isinstance(value, datetime):
        dt = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
        return dt.timestamp()
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=UTC).timestamp()
    raise ValueError(f"{value!r} is not a time")


@dataclass(frozen=True)
class FieldSpec:
    """One indexed field: its kind, whether it holds several values, and its extractor."""

    name: str
    kind: FieldKind
    extract: Callable[[Any], Iterable[Any]]
    multi: bool = False
    description: str = ""

    def values(self, record: Any) -> list[Value]:
        """The record's normalised values for this field, distinct, in order; None and "" left out."""
        out: list[Value] = []
        seen: set[Value] = set()  # not `in out`: a candidate's member ids run to 10⁵ (issue 18)
        for raw in self.extract(record):
            if raw is None or raw == "":
                continue
            value = self._normalise(raw)
            if value not in seen:  # a field has one kind, so no 1 == True confusion
                seen.add(value)
                out.append(value)
        return out

    def _normalise(self, raw: Any) -> Value:
        if self.kind is FieldKind.keyword:
            return raw.value if isinstance(raw, Enum) else str(raw)
        if self.kind is FieldKind.boolean:
            return bool(raw)
        if self.kind is FieldKind.number:
            return raw if isinstance(raw, int) and not isinstance(raw, bool) else float(raw)
        return to_epoch(raw)

    def coerce(self, value: Any) -> Value:
        """A caller's filter or range value as this field's stored type; InvalidFilterError if it cannot be."""
        try:
            return self._coerce(value)
        except (ValueError, TypeError) as exc:
            raise InvalidFilterError(f"invalid value for {self.kind.value} field {self.name!r}: {exc}") from None

    def _coerce(self, value: Any) -> Value:
        if self.kind is FieldKind.keyword:
            if isinstance(value, Enum):
                return str(value.value)
            if isinstance(value, str | int | float) and not isinstance(value, bool):
                return str(value)
            raise ValueError(f"{value!r} is not text")
        if self.kind is FieldKind.boolean:
            if isinstance(value, bool):
                return value
            if isinstance(value, int) and value in (0, 1):
                return bool(value)
            if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
                return value.strip().lower() in _TRUE
            raise ValueError(f"{value!r} is not true or false")
        if self.kind is FieldKind.number:
            if isinstance(value, bool):
                raise ValueError(f"{value!r} is not a number")
            if isinstance(value, int):
                return value
            number = float(value)
            if not math.isfinite(number):
                raise ValueError(f"{value!r} is not a finite number")
            return number
        return to_epoch(value)

    def render(self, value: Any) -> str:
        """A stored value as a bucket key."""
        if self.kind is FieldKind.boolean:
            return "true" if value else "false"
        if self.kind is FieldKind.time:
            return datetime.fromtimestamp(float(value), UTC).isoformat()
        if self.kind is FieldKind.number and isinstance(value, float) and value.is_integer():
            return str(int(value))
        return str(value)


TIME_SPEC = FieldSpec(TIME_FIELD, FieldKind.time, lambda r: [], description="the record's time")


@dataclass(frozen=True)
class CollectionIndex:
    """What a backend indexes for one collection."""

    collection: Collection
    fields: Mapping[str, FieldSpec]
    time: Callable[[Any], datetime]
    text: Callable[[Any], list[TextPart]]
    known: tuple[str, ...] = dataclasses.field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "known", (TIME_FIELD, *self.fields))

    def field(self, name: str) -> FieldSpec:
        """The spec of an indexed field; UnknownFieldError for any other name (including "time")."""
        try:
            return self.fields[name]
        except KeyError:
            raise UnknownFieldError(self.collection.value, name, self.known) from None

    def spec(self, name: str) -> FieldSpec:
        """The spec of an indexed field or of "time"; UnknownFieldError otherwise."""
        return TIME_SPEC if name == TIME_FIELD else self.field(name)

    def check(self, name: str) -> str:
        """`name` if it is "time" or an indexed field; UnknownFieldError otherwise."""
        if name != TIME_FIELD and name not in self.fields:
            raise UnknownFieldError(self.collection.value, name, self.known)
        return name

    def facets(self, record: Any) -> list[tuple[str, Value]]:
        """Every (field, value) pair of the record."""
        return [(name, v) for name, spec in self.fields.items() for v in spec.values(record)]

    def time_of(self, record: Any) -> float:
        return to_epoch(self.time(record))


def _one(get: Callable[[Any], Any]) -> Callable[[Any], list[Any]]:
    return lambda r: [get(r)]


def _spec(
    name: str, kind: FieldKind, extract: Callable[[Any], Iterable[Any]], multi: bool = False, doc: str = ""
) -> FieldSpec:
    return FieldSpec(name, kind, extract, multi, doc)


def _fields(*specs: FieldSpec) -> dict[str, FieldSpec]:
    return {s.name: s for s in specs}


K, N, B = FieldKind.keyword, FieldKind.number, FieldKind.boolean  # short names for the tables below


# --- documents -------------------------------------------------------------------


def _document_time(d: RawDocument) -> datetime:
    return d.published_at or d.collected_at


def _document_text(d: RawDocument) -> list[TextPart]:
    return [(d.title, None), (d.text, None), (_names(d.product, d.brand, d.shop, d.enterprise), None)]


def _names(*names: str | None) -> str:
    return " ".join(n for n in names if n)


DOCUMENT_FIELDS = _fields(
    _spec("source", K, _one(lambda d: d.source), doc="collector or station name"),
    _spec("source_type", K, _one(lambda d: d.source_type)),
    _spec("product", K, _one(lambda d: d.product)),
    _spec("shop", K, _one(lambda d: d.shop)),
    _spec("brand", K, _one(lambda d: d.brand)),
    _spec("enterprise", K, _one(lambda d: d.enterprise)),
    _spec("region", K, _one(lambda d: d.region)),
)


# --- signals ---------------------------------------------------------------------


def _signal_regions(s: Signal) -> list[str | None]:
    out: list[str | None] = [s.document.region]
    for r in s.regions:
        out.extend((r.name, r.code, r.province, r.city))
    return out


def _signal_brands(s: Signal) -> list[str | None]:
    return [s.document.brand, *(o.name for o in s.organisations if o.kind == "brand")]


def _signal_text(s: Signal) -> list[TextPart]:
    d = s.document
    body = s.normalized_text or d.text
    return [(d.title, None), (body, s.segmented_text or None), (_names(d.product, d.brand, d.shop), None)]


SIGNAL_FIELDS = _fields(
    _spec("source", K, _one(lambda s: s.document.source)),
    _spec("source_type", K, _one(lambda s: s.document.source_type)),
    _spec("document_id", K, _one(lambda s: s.document.id)),
    _spec("product_category", K, _one(lambda s: s.product_category)),
    _spec("product", K, lambda s: [*s.product_terms, s.document.product], multi=True, doc="product terms found"),
    _spec("hazard", K, lambda s: s.hazard_codes, multi=True, doc="hazards not ruled out by disambiguation"),
    _spec("population", K, lambda s: s.populations, multi=True),
    _spec("harm", K, lambda s: s.harm, multi=True),
    _spec("region", K, _signal_regions, multi=True, doc="region names, codes, provinces and cities"),
    _spec("organisation", K, lambda s: [o.name for o in s.organisations], multi=True),
    _spec("brand", K, _signal_brands, multi=True),
    _spec("is_risk", B, _one(lambda s: s.is_risk)),
    _spec("risk_level", K, _one(lambda s: s.risk_level)),
    _spec("warning_color", K, _one(lambda s: s.warning_color)),
    _spec("duplicate_group", K, _one(lambda s: s.duplicate_group)),
    _spec("is_duplicate", B, _one(lambda s: s.is_duplicate)),
    _spec("harm_occurred", B, _one(lambda s: s.harm_occurred)),
    _spec("noisy", B, _one(lambda s: bool(s.noise)), doc="true when a denoise rule flagged it"),
    _spec("risk_score", N, _one(lambda s: s.risk_score)),
)


# --- candidates ------------------------------------------------------------------


def _candidate_time(c: CandidateRisk) -> datetime:
    return c.last_seen or c.updated_at


def _candidate_text(c: CandidateRisk) -> list[TextPart]:
    parts: list[TextPart] = [(c.title, None), (_names(c.product_category, *c.brands, *c.enterprises), None)]
    parts.extend((_names(e.title, e.snippet), None) for e in c.evidence)
    return parts


CANDIDATE_FIELDS = _fields(
    _spec("key", K, _one(lambda c: c.key), doc="grouping key, e.g. 充电宝|fire"),
    _spec("product_category", K, _one(lambda c: c.product_category)),
    _spec("hazard", K, _one(lambda c: c.hazard)),
    _spec("tier", K, _one(lambda c: c.tier)),
    _spec("risk_level", K, _one(lambda c: c.grade.risk_level), doc="decided, else suggested (CandidateRisk.grade)"),
    _spec("warning_color", K, _one(lambda c: c.grade.warning_color), doc="decided, else suggested"),
    _spec("status", K, _one(lambda c: c.status)),
    _spec("brand", K, lambda c: c.brands, multi=True),
    _spec("enterprise", K, lambda c: c.enterprises, multi=True),
    _spec("region", K, lambda c: [*c.counts_by_region, *c.places], multi=True, doc="provinces, cities, counties"),
    _spec("source_type", K, lambda c: list(c.counts_by_source_type), multi=True),
    _spec("population", K, lambda c: c.populations, multi=True),
    _spec("signal_id", K, lambda c: c.signal_ids, multi=True, doc="member signals"),
    _spec("priority", N, _one(lambda c: c.priority)),
    _spec("signal_count", N, _one(lambda c: c.signal_count)),
    _spec("harm_count", N, _one(lambda c: c.harm_count)),
    _spec("scope", K, lambda c: c.scope, multi=True, doc="industry_wide, regional, systemic"),
    _spec("assignee", K, _one(lambda c: c.assignee)),
    _spec("organisation", K, _one(lambda c: c.organisation)),
    _spec("merged_into", K, _one(lambda c: c.merged_into)),
)


# --- decisions -------------------------------------------------------------------

DECISION_FIELDS = _fields(
    _spec("candidate_id", K, _one(lambda x: x.candidate_id)),
    _spec("status", K, _one(lambda x: x.status)),
    _spec("decided_by", K, _one(lambda x: x.decided_by)),
    _spec("risk_level", K, _one(lambda x: x.risk_level)),
    _spec("warning_color", K, _one(lambda x: x.warning_color)),
    _spec("measure", K, lambda x: x.measures, multi=True),
)


def _decision_time(x: Decision) -> datetime:
    return x.decided_at


def _decision_text(x: Decision) -> list[TextPart]:
    return [(x.rationale, None)]


INDEXES: dict[Collection, CollectionIndex] = {
    Collection.documents: CollectionIndex(Collection.documents, DOCUMENT_FIELDS, _document_time, _document_text),
    Collection.signals: CollectionIndex(Collection.signals, SIGNAL_FIELDS, lambda s: s.when, _signal_text),
    Collection.candidates: CollectionIndex(Collection.candidates, CANDIDATE_FIELDS, _candidate_time, _candidate_text),
    Collection.decisions: CollectionIndex(Collection.decisions, DECISION_FIELDS, _decision_time, _decision_text),
}


def collection_of(collection: Collection | str) -> Collection:
    """The Collection named by `collection`; StoreError naming the known ones otherwise."""
    try:
        return Collection(collection)
    except ValueError:
        known = ", ".join(c.value for c in Collection)
        raise StoreError(f"unknown collection {collection!r}; collections: {known}") from None


def index_for(collection: Collection | str) -> CollectionIndex:
    return INDEXES[collection_of(collection)]


def field_names(collection: Collection | str) -> Sequence[str]:
    """Names usable in filters, sort and aggregations of the collection ("time" first)."""
    return index_for(collection).known
