"""What every backend checks before it writes or aggregates: a write batch's policy, the records' type and
ids and repeats in the batch; an aggregation's field, time bucket and size."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel

from riskmine.store.base import RECORD_TYPES, Collection, DuplicatePolicy, StoreError, TimeBucket
from riskmine.store.fields import INDEXES, CollectionIndex, FieldSpec, InvalidFilterError, collection_of


@dataclass
class WriteBatch:
    """A batch checked for writing: one record per id (the last one under ``overwrite``, else the first)."""

    collection: Collection
    policy: DuplicatePolicy
    chosen: dict[str, BaseModel] = field(default_factory=dict)  # id -> record, in first-seen order
    repeated: list[str] = field(default_factory=list)  # ids given more than once in the batch
    n_records: int = 0


def prepare_write(collection: Collection | str, records: Iterable[Any], policy: DuplicatePolicy | str) -> WriteBatch:
    """Check a batch for ``Store.write``: StoreError naming the policy or the record (#n) that does not fit."""
    coll = collection_of(collection)
    try:
        policy = DuplicatePolicy(policy)
    except ValueError:
        known = ", ".join(p.value for p in DuplicatePolicy)
        raise StoreError(f"unknown duplicate policy {policy!r}; policies: {known}") from None
    model = RECORD_TYPES[coll]
    batch = WriteBatch(coll, policy)
    n = -1
    for n, rec in enumerate(records):
        if not isinstance(rec, model):
            raise StoreError(f"{coll.value}: record #{n} is a {type(rec).__name__}, expected a {model.__name__}")
        rec_id = getattr(rec, "id", "")
        if not isinstance(rec_id, str) or not rec_id:
            raise StoreError(f"{coll.value}: record #{n} has no id")
        if rec_id in batch.chosen:
            batch.repeated.append(rec_id)
            if policy is DuplicatePolicy.overwrite:
                batch.chosen[rec_id] = rec
        else:
            batch.chosen[rec_id] = rec
    batch.n_records = n + 1
    return batch


@dataclass(frozen=True)
class AggregateRequest:
    """The checked arguments of ``Store.aggregate``."""

    collection: Collection
    index: CollectionIndex
    field: FieldSpec | None
    bucket: TimeBucket | None


def check_aggregate(
    collection: Collection | str, field: str | None, time_bucket: TimeBucket | str | None, size: int
) -> AggregateRequest:
    """Check ``Store.aggregate``'s arguments: InvalidFilterError naming a bad bucket, a missing field and bucket,
    or a negative size; UnknownFieldError for a field the collection does not index."""
    coll = collection_of(collection)
    index = INDEXES[coll]
    spec = index.field(field) if field is not None else None
    bucket: TimeBucket | None = None
    if time_bucket is not None:
        try:
            bucket = TimeBucket(time_bucket)
        except ValueError:
            known = ", ".join(b.value for b in TimeBucket)
            raise InvalidFilterError(f"unknown time bucket {time_bucket!r}; buckets: {known}") from None
    if spec is None and bucket is None:
        raise InvalidFilterError("aggregate needs a field, a time_bucket or both")
    if size < 0:
        raise InvalidFilterError(f"size must not be negative (got {size})")
    return AggregateRequest(coll, index, spec, bucket)
