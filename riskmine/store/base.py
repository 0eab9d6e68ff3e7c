"""The storage Protocol every backend implements, and the types it speaks.

Filters are a mapping of field name to a condition:

* a scalar (str, int, float, bool): the field equals it (for multi-valued fields:
  any value equals it);
* a list, tuple or set: the field equals any of them;
* a :class:`Range`: the value lies in the range (dates or numbers).

Only the fields a collection declares in :mod:`riskmine.store.fields` can be
filtered, sorted or aggregated; any other name raises :class:`UnknownFieldError`.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol, runtime_checkable

from pydantic import BaseModel

from riskmine.schema import CandidateRisk, Decision, RawDocument, Signal
from riskmine.schema.errors import RiskmineError


class Collection(StrEnum):
    documents = "documents"
    signals = "signals"
    candidates = "candidates"
    decisions = "decisions"


RECORD_TYPES: dict[Collection, type[BaseModel]] = {
    Collection.documents: RawDocument,
    Collection.signals: Signal,
    Collection.candidates: CandidateRisk,
    Collection.decisions: Decision,
}


class DuplicatePolicy(StrEnum):
    """What write() does with a record whose id is already stored."""

    skip = "skip"  # keep the stored record, count the new one as skipped
    overwrite = "overwrite"  # replace the stored record
    fail = "fail"  # raise DuplicateRecordError, writing nothing of the batch


class StoreError(RiskmineError):
    code = "store_error"
    status = 500


class DuplicateRecordError(StoreError):
    code = "duplicate_record"
    status = 409

    def __init__(self, collection: str, ids: Sequence[str]) -> None:
        self.collection = collection
        self.ids = list(ids)
        super().__init__(f"{len(self.ids)} record(s) already in {collection}: {', '.join(self.ids[:5])}")


class UnknownFieldError(StoreError):
    code = "unknown_field"
    status = 400  # the client asked for a field that does not exist

    def __init__(self, collection: str, name: str, known: Sequence[str]) -> None:
        super().__init__(f"{collection} has no indexed field {name!r}; known fields: {', '.join(sorted(known))}")


class InvalidOmitError(StoreError):
    code = "invalid_omit"
    status = 400


@dataclass(frozen=True)
class Range:
    gte: datetime | float | int | str | None = None
    lte: datetime | float | int | str | None = None
    gt: datetime | float | int | str | None = None
    lt: datetime | float | int | str | None = None


Filters = Mapping[str, Any]


def check_omit(collection: Collection, omit: Iterable[str] | None) -> tuple[str, ...]:
    """The top-level fields a read may leave out (``query(omit=...)``), validated: each must be a field of the
    collection's record type with a default, which the records read then carry in its place."""
    if not omit:
        return ()
    if isinstance(omit, str):
        raise InvalidOmitError(f"omit must be a collection of field names, not the string {omit!r}")
    model = RECORD_TYPES[Collection(collection)]
    names = tuple(dict.fromkeys(omit))
    for name in names:
        info = model.model_fields.get(name)
        if info is None:
            raise UnknownFieldError(str(collection), name, list(model.model_fields))
        if info.is_required():
            raise InvalidOmitError(f"{collection} field {name!r} has no default, so it cannot be omitted")
    return names


class TimeBucket(StrEnum):
    day = "day"
    week = "week"  # ISO week, key like "2024-W07"
    month = "month"  # key like "2024-02"


@dataclass
class WriteResult:
    written: int = 0  # new records
    overwritten: int = 0
    skipped: int = 0
    ids: list[str] = field(default_factory=list)  # ids of new or overwritten records


@dataclass
class Page:
    items: list[Any]
    total: int


@dataclass(frozen=True)
class Bucket:
    """One aggregation bucket: a field value and/or a time period, and its count."""

    key: str | None
    count: int
    period: str | None = None


@runtime_checkable
class Store(Protocol):
    """A document store over the four collections."""

    def write(
        self,
        collection: Collection,
        records: Sequence[BaseModel],
        policy: DuplicatePolicy = DuplicatePolicy.skip,
    ) -> WriteResult: ...

    def get(self, collection: Collection, record_id: str) -> Any | None: ...

    def get_many(self, collection: Collection, record_ids: Sequence[str]) -> list[Any]:
        """Records in the order of the ids asked for; missing ids are left out."""
        ...

    def query(
        self,
        collection: Collection,
        *,
        filters: Filters | None = None,
        text: str | None = None,
        sort: str | None = None,
        descending: bool = True,
        limit: int = 50,
        offset: int = 0,
        omit: Iterable[str] | None = None,
    ) -> Page:
        """Matching records and their total. With `text` and no `sort`, by relevance;
        else by `sort` (an indexed field or "time"), ties broken by id.

        `omit` names top-level fields a list view does not need (see :func:`check_omit`): the backend leaves
        them out of what it reads and parses, and each record carries the field's default instead."""
        ...

    def iterate(
        self,
        collection: Collection,
        *,
        filters: Filters | None = None,
        batch_size: int = 1000,
        omit: Iterable[str] | None = None,
    ) -> Iterator[Any]:
        """Every matching record, in id order, reading `batch_size` at a time; fields in `omit` take their
        defaults, as in :meth:`query`."""
        ...

    def count(self, collection: Collection, *, filters: Filters | None = None, text: str | None = None) -> int: ...

    def aggregate(
        self,
        collection: Collection,
        field: str | None,
        *,
        filters: Filters | None = None,
        text: str | None = None,
        time_bucket: TimeBucket | None = None,
        size: int = 100,
    ) -> list[Bucket]:
        """Counts per value of `field`, per time period, or per (period, value).
        Value buckets come most frequent first; period buckets in time order."""
        ...

    def delete(self, collection: Collection, record_ids: Sequence[str]) -> int: ...

    def data_version(self, collection: Collection) -> str:
        """An opaque token of the collection's state, cheap to read: it changes whenever the collection is
        written or deleted from, by any process, so that a response computed from it can be cached under it."""
        ...

    def close(self) -> None: ...


@runtime_checkable
class PreparedWriter(Protocol):
    """A store whose rows a batch's records turn into can be made in another process (a worker of
    ``riskmine process --workers N``), leaving the writing process only the inserts.

    ``row_preparer(collection, records, late)`` (a module-level function: it travels to the workers by name)
    returns the prepared rows, or None where they cannot be made apart (write the records then); the rows'
    ``complete(late_records)`` fills in the fields named ``late``; :meth:`write_prepared` writes completed rows,
    all the batches in one transaction, storing what :meth:`Store.write` would for the same records.
    """

    row_preparer: Any

    def write_prepared(self, batches: Sequence[Any], policy: DuplicatePolicy = ...) -> list[WriteResult]: ...
