"""Storage: the Protocol, the index specification and the backends.

Import the SQLite backend from here or from :mod:`riskmine.store.sqlite`; open the
configured backend with :func:`open_store`.
"""

from riskmine.store.base import (
    RECORD_TYPES,
    Bucket,
    Collection,
    DuplicatePolicy,
    DuplicateRecordError,
    Filters,
    Page,
    Range,
    Store,
    StoreError,
    TimeBucket,
    UnknownFieldError,
    WriteResult,
)
from riskmine.store.factory import open_store
from riskmine.store.fields import FIELDS_VERSION, TIME_FIELD, FieldKind, InvalidFilterError, field_names, index_for
from riskmine.store.sqlite import SQLiteStore

__all__ = [
    "FIELDS_VERSION",
    "RECORD_TYPES",
    "TIME_FIELD",
    "Bucket",
    "Collection",
    "DuplicatePolicy",
    "DuplicateRecordError",
    "FieldKind",
    "Filters",
    "InvalidFilterError",
    "Page",
    "Range",
    "SQLiteStore",
    "Store",
    "StoreError",
    "TimeBucket",
    "UnknownFieldError",
    "WriteResult",
    "field_names",
    "index_for",
    "open_store",
]
