"""The embedded SQLite backend of the :class:`~riskmine.store.base.Store` Protocol.

Layout, per collection ``c`` (documents, signals, candidates, decisions):

* ``c``: a narrow row table: ``rid`` (integer key), ``id`` (unique), ``time`` (POSIX
  seconds, indexed with id), so that probing, sorting and time buckets stay cheap;
* ``c_bodies``: ``rid`` → ``body``, the record as JSON (the only source of truth);
* ``c_facets``: one row per (field, value, rid), values typed (text, integer, real;
  booleans as 0/1), primary key (field, value, rid) and an index on (rid, field):
  every filter, sort by field and aggregation is an index lookup, never a scan of JSON
  (see :class:`_Where` for how a read with several filters is driven);
* ``c_fts``: an FTS5 table (rowid = rid) with the ``words`` and ``chars`` columns
  built by :mod:`riskmine.store.fulltext`; relevance is bm25.

Which fields exist and how they are extracted is :mod:`riskmine.store.fields`;
when its ``FIELDS_VERSION`` changes, facets and full-text rows are rebuilt on open.

Threads: each thread gets its own connection (``threading.local``; closed when the
thread ends or the store closes), so readers run in parallel under WAL; writes are
serialised by a lock in the store and a ``BEGIN IMMEDIATE`` transaction (which also
guards against other processes; the busy timeout makes them wait rather than fail).
Each read runs in one transaction, so a page and its total come from one snapshot.
``":memory:"`` databases use a single connection behind the lock.

Schema migrations are an ordered list applied at open; the ``schema_version`` table
records how many have run. ``data_versions`` counts the writes per collection (response caches key on it).
"""

from __future__ import annotations

import sqlite3
import threading
import weakref
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager, suppress
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from riskmine.store.base import (
    RECORD_TYPES,
    Bucket,
    Collection,
    DuplicatePolicy,
    DuplicateRecordError,
    Filters,
    Page,
    Range,
    StoreError,
    TimeBucket,
    WriteResult,
    check_omit,
)
from riskmine.store.fields import (
    FIELDS_VERSION,
    INDEXES,
    TIME_FIELD,
    CollectionIndex,
    FieldSpec,
    InvalidFilterError,
    Value,
    collection_of,
)
from riskmine.store.fulltext import CHARS_COLUMN, index_columns, segment_query
from riskmine.store.writes import check_aggregate, prepare_write

_CHUNK = 500  # ids per IN (...) list
_ESTIMATE_CAP = 2000  # facet rows counted at most when choosing the condition that drives a read
_BM25_WEIGHTS = "2.0, 1.0"  # words column counts double the characters column


# --- schema migrations -------------------------------------------------------------


def _create_collection(conn: sqlite3.Connection, c: str) -> None:
    # Narrow row table (fast rowid probes and sorts); bodies apart.
    conn.execute(f"CREATE TABLE {c} (rid INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, time REAL NOT NULL)")
    conn.execute(f"CREATE INDEX {c}_time ON {c}(time, id)")
    conn.execute(
        f"CREATE TABLE {c}_bodies (rid INTEGER PRIMARY KEY REFERENCES {c}(rid) ON DELETE CASCADE, body TEXT NOT NULL)"
    )
    # `value` has no declared type: values keep their own type (no affinity conversion).
    conn.execute(
        f"CREATE TABLE {c}_facets (field TEXT NOT NULL, value NOT NULL, "
        f"rid INTEGER NOT NULL REFERENCES {c}(rid) ON DELETE CASCADE, "
        "PRIMARY KEY (field, value, rid)) WITHOUT ROWID"
    )
    conn.execute(f"CREATE INDEX {c}_facets_rid ON {c}_facets(rid, field)")
    conn.execute(
        f"CREATE VIRTUAL TABLE {c}_fts USING fts5(words, {CHARS_COLUMN}, tokenize='unicode61 remove_diacritics 2')"
    )


def _m1_initial(conn: sqlite3.Connection) -> None:
    """Collections, facets, full-text tables and the record of the fields version indexed."""
    for c in Collection:
        _create_collection(conn, c.value)
    conn.execute("CREATE TABLE index_state (collection TEXT PRIMARY KEY, fields_version INTEGER NOT NULL)")
    conn.executemany(
        "INSERT INTO index_state (collection, fields_version) VALUES (?, ?)",
        [(c.value, FIELDS_VERSION) for c in Collection],
    )


def _m2_data_versions(conn: sqlite3.Connection) -> None:
    """A write counter per collection (see :meth:`SQLiteStore.data_version`)."""
    conn.execute("CREATE TABLE data_versions (collection TEXT PRIMARY KEY, n INTEGER NOT NULL)")
    conn.executemany("INSERT INTO data_versions (collection, n) VALUES (?, 0)", [(c.value,) for c in Collection])


Migration = Callable[[sqlite3.Connection], None]

# Append only: migration i (1-based) upgrades a database at schema version i-1.
MIGRATIONS: list[Migration] = [_m1_initial, _m2_data_versions]


def _bump(conn: sqlite3.Connection, c: str) -> None:
    """Count a write to collection `c`, in the writing transaction (so every process sees it with the data)."""
    conn.execute("UPDATE data_versions SET n = n + 1 WHERE collection = ?", (c,))


def migrate(conn: sqlite3.Connection, migrations: Sequence[Migration] = MIGRATIONS) -> int:
    """Apply the migrations the database lacks, in one transaction; returns the schema version."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        conn.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
        row = conn.execute("SELECT version FROM schema_version").fetchone()
        current = int(row[0]) if row else 0
        if current > len(migrations):
            raise StoreError(
                f"the database is at schema version {current}, newer than this riskmine knows "
                f"({len(migrations)}): upgrade riskmine to open it"
            )
        for step in migrations[current:]:
            step(conn)
        if row is None:
            conn.execute("INSERT INTO schema_version (version) VALUES (?)", (len(migrations),))
        elif current != len(migrations):
            conn.execute("UPDATE schema_version SET version = ?", (len(migrations),))
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    return len(migrations)


# --- query building ----------------------------------------------------------------


@dataclass
class _Cond:
    """One filter: on a facet field, or on the record time (`field` None); `test` has ``{col}``."""

    field: str | None
    test: str
    params: list[Any]

    def on(self, column: str) -> str:
        return self.test.replace("{col}", column)


@dataclass
class _Where:
    """The conditions of a read: filters, the full-text expression, and how to run them.

    Facet conditions are ``rid IN (...)`` lists from the facet primary key. :meth:`plan`
    counts (up to ``_ESTIMATE_CAP``) what each condition matches: when one is selective, it
    alone drives the lookup (the time index, if it is the time range) and the other facet
    conditions become point lookups per candidate record (``EXISTS`` on the (rid, field)
    index); when none is, SQLite intersects the lists.
    """

    conds: list[_Cond] = field(default_factory=list)
    match: str | None = None
    empty: bool = False  # nothing can match (empty value list, text without searchable words)
    driver: int | None = None  # index of the selective condition that drives the lookup, if any

    def plan(self, conn: sqlite3.Connection, c: str) -> None:
        self.driver = None
        if len(self.conds) < 2:
            return
        best: tuple[int, int] | None = None
        for i, cond in enumerate(self.conds):
            if cond.field is None:
                sql = f"SELECT count(*) FROM (SELECT 1 FROM {c} t WHERE {cond.on('t.time')} LIMIT {_ESTIMATE_CAP})"
                params = cond.params
            else:
                sql = (
                    f"SELECT count(*) FROM (SELECT 1 FROM {c}_facets WHERE field = ? AND {cond.on('value')} "
                    f"LIMIT {_ESTIMATE_CAP})"
                )
                params = [cond.field, *cond.params]
            n = int(conn.execute(sql, params).fetchone()[0])
            if best is None or n < best[0]:
                best = (n, i)
        if best is not None and best[0] < _ESTIMATE_CAP:
            self.driver = best[1]

    def clause(self, c: str, *, extra: Sequence[str] = (), fts_join: bool = False) -> tuple[str, list[Any]]:
        """The WHERE clause over alias ``t`` of collection `c` and its parameters.

        `extra` conditions come last (the caller appends their parameters). With `fts_join`
        the caller joins the full-text table and it is matched directly, else through a
        subquery on rowid."""
        selective = self.driver is not None
        parts: list[str] = []
        params: list[Any] = []
        for i, cond in enumerate(self.conds):
            if cond.field is None:
                parts.append(cond.on("t.time"))
                params.extend(cond.params)
            elif i == self.driver or not selective:
                parts.append(f"t.rid IN (SELECT rid FROM {c}_facets WHERE field = ? AND {cond.on('value')})")
                params.extend([cond.field, *cond.params])
            else:
                parts.append(
                    f"EXISTS (SELECT 1 FROM {c}_facets x INDEXED BY {c}_facets_rid "
                    f"WHERE x.rid = t.rid AND x.field = ? AND {cond.on('x.value')})"
                )
                params.extend([cond.field, *cond.params])
        if self.match is not None:
            if fts_join:
                parts.append(f"{c}_fts MATCH ?")
            else:
                parts.append(f"t.rid IN (SELECT rowid FROM {c}_fts WHERE {c}_fts MATCH ?)")
            params.append(self.match)
        parts.extend(extra)
        return (" WHERE " + " AND ".join(parts) if parts else ""), params


def _placeholders(n: int) -> str:
    return ", ".join("?" * n)


def _chunks(seq: Sequence[Any], n: int = _CHUNK) -> Iterator[Sequence[Any]]:
    for i in range(0, len(seq), n):
        yield seq[i : i + n]


_PERIOD_FORMATS = {TimeBucket.day: "%Y-%m-%d", TimeBucket.week: "%Y-%m-%d", TimeBucket.month: "%Y-%m"}


def _week_key(day: str) -> str:
    year, week, _ = date.fromisoformat(day).isocalendar()
    return f"{year}-W{week:02d}"


@dataclass(frozen=True)
class _Row:
    """What is stored for one record: its time, JSON body, facets and full-text columns."""

    time: float
    body: str
    facets: list[tuple[str, Value]]
    words: str | None  # None: the record replaces one with the same text, whose full-text row stays
    chars: str | None


def _prepare(idx: CollectionIndex, record: BaseModel, *, text: bool = True) -> _Row:
    words, chars = index_columns(idx.text(record)) if text else (None, None)
    return _Row(idx.time_of(record), record.model_dump_json(), idx.facets(record), words, chars)


@dataclass
class PreparedRows:
    """A batch of records turned into the rows :meth:`SQLiteStore.write` would store (JSON body, time, facets,
    full-text columns), made by :func:`prepare_rows` in any process (it pickles as plain strings and tuples) and
    written by :meth:`SQLiteStore.write_prepared`, which then only runs SQL.

    With ``late`` fields (written after the rows were prepared, e.g. by an order-dependent stage in the
    writing process), each body keeps a gap per run of late fields and the facets of the fields that read them
    are left out; :meth:`complete` fills both from records carrying the late values.
    """

    collection: Collection
    ids: list[str]
    times: list[float]
    bodies: list[list[str]]  # per record, the JSON of each run of fields (between the outer braces); "" = gap
    facets: list[list[tuple[str, Value]]]
    words: list[str]
    chars: list[str]
    n_records: int = 0  # records given (repeated ids included)
    repeated: list[str] = field(default_factory=list)
    late_runs: tuple[tuple[str, ...], ...] = ()  # per body run: the late fields it holds (() = prepared run)
    late_specs: list[tuple[str, ...]] = field(default_factory=list)  # per record: the facets still to compute

    @property
    def is_complete(self) -> bool:
        return not any(self.late_runs)

    def complete(self, late_records: Sequence[BaseModel]) -> PreparedRows:
        """The rows with the late fields' JSON and facets taken from `late_records` (one per id, in order)."""
        if self.is_complete:
            return self
        if len(late_records) != len(self.ids):
            raise StoreError(f"{len(late_records)} late records for {len(self.ids)} prepared rows")
        idx = INDEXES[self.collection]
        bodies: list[list[str]] = []
        facets: list[list[tuple[str, Value]]] = []
        for i, rec in enumerate(late_records):
            runs = self.bodies[i]
            bodies.append(
                [
                    rec.model_dump_json(include=set(late))[1:-1] if late else run
                    for run, late in zip(runs, self.late_runs, strict=True)
                ]
            )
            facets.append([*self.facets[i], *((n, v) for n in self.late_specs[i] for v in idx.fields[n].values(rec))])
        return replace(self, bodies=bodies, facets=facets, late_runs=(), late_specs=[])

    def rows(self) -> dict[str, _Row]:
        """The complete rows by id."""
        if not self.is_complete:
            raise StoreError("prepared rows with late fields left: complete() them first")
        return {
            i: _Row(t, "{" + ",".join(r for r in body if r) + "}", f, w, c)
            for i, t, body, f, w, c in zip(
                self.ids, self.times, self.bodies, self.facets, self.words, self.chars, strict=True
            )
        }


def _without(record: BaseModel, names: Iterable[str]) -> BaseModel:
    """A shallow copy of `record` on which reading any of `names` raises AttributeError."""
    copy = record.model_copy()
    for name in names:
        copy.__dict__.pop(name, None)
    return copy


def prepare_rows(
    collection: Collection | str, records: Iterable[BaseModel], late: Iterable[str] = ()
) -> PreparedRows | None:
    """The rows of `records` as :meth:`SQLiteStore.write` would store them (repeated ids: the last copy), with
    gaps for the top-level `late` fields (see :class:`PreparedRows`). None when the late fields cannot be left
    for later: the record's time or full-text input reads them, a facet reads them together with other fields,
    or the record type's JSON is not the JSON of its fields in order (then write the records themselves)."""
    batch = prepare_write(collection, records, DuplicatePolicy.overwrite)
    coll = batch.collection
    idx = INDEXES[coll]
    model = RECORD_TYPES[coll]
    late_set = set(late) & set(model.model_fields)
    runs: list[tuple[bool, list[str]]] = []
    for name in model.model_fields:
        gap = name in late_set
        if runs and runs[-1][0] == gap:
            runs[-1][1].append(name)
        else:
            runs.append((gap, [name]))
    late_runs = tuple(tuple(names) if gap else () for gap, names in runs)
    out = PreparedRows(coll, list(batch.chosen), [], [], [], [], [], batch.n_records, batch.repeated, late_runs)
    only_late = [n for n in model.model_fields if n not in late_set]
    for rec in batch.chosen.values():
        parts = [rec.model_dump_json(include=set(names))[1:-1] for _, names in runs]
        if "{" + ",".join(p for p in parts if p) + "}" != rec.model_dump_json():
            return None  # a serializer of its own (computed fields, model serializer): not split into runs
        if late_set:
            early = _without(rec, late_set)
            try:
                at, text = idx.time_of(early), idx.text(early)
            except AttributeError:
                return None
            facets: list[tuple[str, Value]] = []
            later: list[str] = []
            for name, spec in idx.fields.items():
                try:
                    facets.extend((name, v) for v in spec.values(early))
                except AttributeError:
                    later.append(name)
            if later:  # they must read nothing but the late fields (all the completing records carry)
                bare = _without(rec, only_late)
                try:
                    for name in later:
                        idx.fields[name].values(bare)
                except AttributeError:
                    return None
            out.late_specs.append(tuple(later))
            parts = ["" if gap else p for (gap, _), p in zip(runs, parts, strict=True)]
        else:
            at, text, facets = idx.time_of(rec), idx.text(rec), idx.facets(rec)
        words, chars = index_columns(text)
        out.times.append(at)
        out.bodies.append(parts)
        out.facets.append(facets)
        out.words.append(words)
        out.chars.append(chars)
    return out


class _ThreadConnection:
    """A thread's connection; closed when the thread ends (its thread-local is dropped)."""

    __slots__ = ("__weakref__", "conn")

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def __del__(self) -> None:
        with suppress(Exception):
            self.conn.close()


class SQLiteStore:
    """A :class:`~riskmine.store.base.Store` in one SQLite file (or ``":memory:"``).

    Safe to share between threads (see the module notes). `utc_offset` sets the calendar
    of time buckets (default UTC+8, China); `timeout` is how long a write waits for
    another process's write to finish.
    """

    def __init__(self, path: Path | str, *, utc_offset: timedelta = timedelta(hours=8), timeout: float = 30.0) -> None:
        self.path = path if str(path) == ":memory:" else Path(path)
        self._memory = str(path) == ":memory:"
        self._offset_s = utc_offset.total_seconds()
        self._timeout = timeout
        self._local = threading.local()
        self._conns: weakref.WeakSet[_ThreadConnection] = weakref.WeakSet()  # live per-thread connections
        self._conns_lock = threading.Lock()
        self._lock = threading.RLock()  # serialises writes (and everything, for ":memory:")
        self._closed = False
        self._shared: sqlite3.Connection | None = None
        try:
            conn = self._conn_for_thread() if not self._memory else self._connect()
            if self._memory:
                self._shared = conn
            self.schema_version = migrate(conn)
            stale = [
                Collection(c)
                for c, v in conn.execute("SELECT collection, fields_version FROM index_state").fetchall()
                if v != FIELDS_VERSION
            ]
        except sqlite3.Error as exc:
            self.close()
            raise StoreError(f"cannot open SQLite database {self.path}: {exc}") from exc
        except StoreError:
            self.close()
            raise
        for c in stale:
            self.reindex(c)

    # --- connections and transactions ------------------------------------------------

    def _connect(self) -> sqlite3.Connection:
        if not self._memory:
            parent = Path(self.path).parent
            if not parent.is_dir():
                raise StoreError(f"cannot open SQLite database {self.path}: folder {parent} does not exist")
        conn = sqlite3.connect(str(self.path), timeout=self._timeout, isolation_level=None, check_same_thread=False)
        conn.execute(f"PRAGMA busy_timeout = {int(self._timeout * 1000)}")
        conn.execute("PRAGMA foreign_keys = ON")
        if not self._memory:
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = NORMAL")
        conn.execute("PRAGMA temp_store = MEMORY")
        conn.execute("PRAGMA cache_size = -32000")
        return conn

    def _conn(self) -> sqlite3.Connection:
        if self._closed:
            raise StoreError(f"the store on {self.path} is closed")
        if self._shared is not None:
            return self._shared
        return self._conn_for_thread()

    def _conn_for_thread(self) -> sqlite3.Connection:
        holder: _ThreadConnection | None = getattr(self._local, "holder", None)
        if holder is None:
            holder = _ThreadConnection(self._connect())
            self._local.holder = holder
            with self._conns_lock:
                self._conns.add(holder)
        return holder.conn

    @contextmanager
    def _transaction(self, begin: str, locked: bool) -> Iterator[sqlite3.Connection]:
        if locked:
            self._lock.acquire()
        try:
            conn = self._conn()
            conn.execute(begin)
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")
        except sqlite3.Error as exc:
            raise StoreError(f"SQLite error on {self.path}: {exc}") from exc
        finally:
            if locked:
                self._lock.release()

    def _writing(self) -> AbstractContextManager[sqlite3.Connection]:
        """A write transaction: this store's writers take turns; other processes wait (busy timeout)."""
        return self._transaction("BEGIN IMMEDIATE", locked=True)

    def _reading(self) -> AbstractContextManager[sqlite3.Connection]:
        """A read transaction on this thread's connection: one snapshot, concurrent with writers (WAL)."""
        return self._transaction("BEGIN", locked=self._memory)

    def close(self) -> None:
        """Close every connection the store opened (from any thread); later calls raise StoreError."""
        self._closed = True
        with self._conns_lock:
            conns = [h.conn for h in self._conns]
            self._conns.clear()
        if self._shared is not None:
            conns.append(self._shared)
        for conn in conns:
            with suppress(sqlite3.Error):
                conn.close()

    def __enter__(self) -> SQLiteStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- writing --------------------------------------------------------------------

    def write(
        self,
        collection: Collection,
        records: Sequence[BaseModel],
        policy: DuplicatePolicy = DuplicatePolicy.skip,
    ) -> WriteResult:
        """Write a batch in one transaction.

        Within a batch, records behave as if written one after another: with ``skip``
        a repeated id is skipped, with ``overwrite`` the last copy wins, with ``fail``
        it fails the batch. ``written + overwritten + skipped == len(records)``.
        """
        batch = prepare_write(collection, records, policy)
        coll, policy, chosen, repeated, n_records = (
            batch.collection,
            batch.policy,
            batch.chosen,
            batch.repeated,
            batch.n_records,
        )
        if not chosen:
            return WriteResult()
        idx = INDEXES[coll]
        c = coll.value
        # Serialise, extract and segment outside the write transaction (it only runs SQL), for the
        # records that will probably be written; the transaction decides with the ids it sees.
        same_text: set[str] = set()
        version = -1
        with self._reading() as conn:
            seen = self._rids(conn, c, list(chosen))
            if policy is DuplicatePolicy.overwrite and seen:
                version = self._version(conn, c)
                same_text = self._same_text(conn, coll, chosen, list(seen))
        likely = list(chosen) if policy is DuplicatePolicy.overwrite else [i for i in chosen if i not in seen]
        if policy is DuplicatePolicy.fail and (seen or repeated):
            likely = []
        prepared = {i: _prepare(idx, chosen[i], text=i not in same_text) for i in likely}
        with self._writing() as conn:
            if same_text and self._version(conn, c) != version:  # written since: segment them after all
                prepared = {i: row for i, row in prepared.items() if i not in same_text}
                same_text = set()
            existing = self._rids(conn, c, list(chosen))
            if policy is DuplicatePolicy.fail and (existing or repeated):
                again = set(repeated)
                dupes = [i for i in chosen if i in existing or i in again]
                raise DuplicateRecordError(c, dupes)
            new = [i for i in chosen if i not in existing]
            todo = list(chosen) if policy is DuplicatePolicy.overwrite else new
            next_rid = conn.execute(f"SELECT coalesce(max(rid), 0) + 1 FROM {c}").fetchone()[0]
            rows: list[tuple[int, str, _Row]] = []
            for i in todo:
                row = prepared.get(i) or _prepare(idx, chosen[i])
                if i in existing:
                    rows.append((existing[i], i, row))
                else:
                    rows.append((next_rid, i, row))
                    next_rid += 1
            replaced = [(existing[i],) for i in todo if i in existing]
            if replaced:
                rows = self._facet_changes(conn, c, rows, {r for (r,) in replaced})
                retext = [(existing[i],) for i in todo if i in existing and i not in same_text]
                conn.executemany(f"DELETE FROM {c}_fts WHERE rowid = ?", retext)
            self._insert(conn, c, rows, {r for (r,) in replaced})
            _bump(conn, c)
        if policy is DuplicatePolicy.overwrite:
            return WriteResult(written=len(new), overwritten=n_records - len(new), ids=todo)
        return WriteResult(written=len(new), skipped=n_records - len(new), ids=todo)

    # the rows of a batch can be made in another process (a worker), then written here with SQL alone
    row_preparer = staticmethod(prepare_rows)

    def write_prepared(
        self, batches: Sequence[PreparedRows], policy: DuplicatePolicy = DuplicatePolicy.overwrite
    ) -> list[WriteResult]:
        """Write batches of rows made by :func:`prepare_rows` (and completed), all in one transaction: the
        stored rows, index and full-text rows included, are those :meth:`write` stores for the same records,
        with the same policy and counts."""
        policy = DuplicatePolicy(policy)
        ready = [(b, b.rows()) for b in batches]
        results: list[WriteResult] = []
        with self._writing() as conn:
            for batch, prepared in ready:
                c = batch.collection.value
                if not prepared:
                    results.append(WriteResult())
                    continue
                existing = self._rids(conn, c, list(prepared))
                if policy is DuplicatePolicy.fail and (existing or batch.repeated):
                    again = set(batch.repeated)
                    raise DuplicateRecordError(c, [i for i in prepared if i in existing or i in again])
                new = [i for i in prepared if i not in existing]
                todo = list(prepared) if policy is DuplicatePolicy.overwrite else new
                next_rid = conn.execute(f"SELECT coalesce(max(rid), 0) + 1 FROM {c}").fetchone()[0]
                rows: list[tuple[int, str, _Row]] = []
                for i in todo:
                    if i in existing:
                        rows.append((existing[i], i, prepared[i]))
                    else:
                        rows.append((next_rid, i, prepared[i]))
                        next_rid += 1
                replaced = {existing[i] for i in todo if i in existing}
                if replaced:
                    rows = self._facet_changes(conn, c, rows, replaced)
                    conn.executemany(f"DELETE FROM {c}_fts WHERE rowid = ?", [(r,) for r in replaced])
                self._insert(conn, c, rows, replaced)
                _bump(conn, c)
                if policy is DuplicatePolicy.overwrite:
                    results.append(WriteResult(written=len(new), overwritten=batch.n_records - len(new), ids=todo))
                else:
                    results.append(WriteResult(written=len(new), skipped=batch.n_records - len(new), ids=todo))
        return results

    @staticmethod
    def _version(conn: sqlite3.Connection, c: str) -> int:
        return int(conn.execute("SELECT n FROM data_versions WHERE collection = ?", (c,)).fetchone()[0])

    @staticmethod
    def _same_text(
        conn: sqlite3.Connection, coll: Collection, chosen: dict[str, BaseModel], ids: list[str]
    ) -> set[str]:
        """Those of `ids` (stored) whose stored record has the full-text input of the record replacing it: their
        full-text rows stay, unsegmented again (a candidate refresh rewrites every candidate for its time-dependent
        statistics, with the same title and evidence, issue 18)."""
        idx, model, c = INDEXES[coll], RECORD_TYPES[coll], coll.value
        same: set[str] = set()
        for part in _chunks(ids):
            sql = (
                f"SELECT t.id, b.body FROM {c} t JOIN {c}_bodies b ON b.rid = t.rid "
                f"WHERE t.id IN ({_placeholders(len(part))})"
            )
            for record_id, body in conn.execute(sql, list(part)):
                if idx.text(model.model_validate_json(body)) == idx.text(chosen[record_id]):
                    same.add(record_id)
        return same

    @staticmethod
    def _facet_changes(
        conn: sqlite3.Connection, c: str, rows: list[tuple[int, str, _Row]], updates: set[int]
    ) -> list[tuple[int, str, _Row]]:
        """Delete the stored facets the replacing rows no longer have; the rows, each replacing one left with only
        the facets still to insert. A rewrite that changes few facets (a candidate with 10⁵ member ids whose
        statistics changed, issue 18) then touches only those, not every facet row again."""
        out = []
        for rid, record_id, row in rows:
            if rid not in updates:
                out.append((rid, record_id, row))
                continue
            stored = set(conn.execute(f"SELECT field, value FROM {c}_facets WHERE rid = ?", (rid,)).fetchall())
            new = set(row.facets)
            gone = [(name, value, rid) for name, value in stored - new]
            if gone:
                conn.executemany(f"DELETE FROM {c}_facets WHERE field = ? AND value = ? AND rid = ?", gone)
            added = [(name, value) for name, value in row.facets if (name, value) not in stored]
            out.append((rid, record_id, replace(row, facets=added)))
        return out

    @staticmethod
    def _insert(conn: sqlite3.Connection, c: str, rows: Sequence[tuple[int, str, _Row]], updates: set[int]) -> None:
        """Insert prepared rows under their rids; rids in `updates` replace a stored record."""
        main_new = [(rid, record_id, row.time) for rid, record_id, row in rows if rid not in updates]
        main_upd = [(row.time, rid) for rid, _, row in rows if rid in updates]
        if main_new:
            conn.executemany(f"INSERT INTO {c} (rid, id, time) VALUES (?, ?, ?)", main_new)
        if main_upd:
            conn.executemany(f"UPDATE {c} SET time = ? WHERE rid = ?", main_upd)
        conn.executemany(
            f"INSERT OR REPLACE INTO {c}_bodies (rid, body) VALUES (?, ?)", [(rid, row.body) for rid, _, row in rows]
        )
        conn.executemany(
            f"INSERT INTO {c}_facets (field, value, rid) VALUES (?, ?, ?)",
            [(name, value, rid) for rid, _, row in rows for name, value in row.facets],
        )
        conn.executemany(
            f"INSERT INTO {c}_fts (rowid, words, {CHARS_COLUMN}) VALUES (?, ?, ?)",
            [(rid, row.words, row.chars) for rid, _, row in rows if row.words is not None],
        )

    @staticmethod
    def _rids(conn: sqlite3.Connection, c: str, ids: Sequence[str]) -> dict[str, int]:
        found: dict[str, int] = {}
        for part in _chunks(ids):
            sql = f"SELECT id, rid FROM {c} WHERE id IN ({_placeholders(len(part))})"
            found.update(conn.execute(sql, list(part)).fetchall())
        return found

    def delete(self, collection: Collection, record_ids: Sequence[str]) -> int:
        """Delete records with their facets and full-text rows; returns how many existed."""
        c = collection_of(collection).value
        ids = list(dict.fromkeys(record_ids))
        if not ids:
            return 0
        with self._writing() as conn:
            rids = [(r,) for r in self._rids(conn, c, ids).values()]
            conn.executemany(f"DELETE FROM {c}_facets WHERE rid = ?", rids)
            conn.executemany(f"DELETE FROM {c}_fts WHERE rowid = ?", rids)
            conn.executemany(f"DELETE FROM {c}_bodies WHERE rid = ?", rids)
            conn.executemany(f"DELETE FROM {c} WHERE rid = ?", rids)
            if rids:
                _bump(conn, c)
        return len(rids)

    def reindex(self, collection: Collection | None = None) -> int:
        """Rebuild time, facets and full-text rows from the stored bodies; returns the records done."""
        done = 0
        for coll in [collection_of(collection)] if collection else list(Collection):
            c, idx, model = coll.value, INDEXES[coll], RECORD_TYPES[coll]
            with self._writing() as conn:
                conn.execute(f"DELETE FROM {c}_facets")
                conn.execute(f"DELETE FROM {c}_fts")
                last = 0
                while True:
                    batch = conn.execute(
                        f"SELECT t.rid, t.id, b.body FROM {c} t JOIN {c}_bodies b ON b.rid = t.rid "
                        "WHERE t.rid > ? ORDER BY t.rid LIMIT ?",
                        (last, _CHUNK),
                    ).fetchall()
                    if not batch:
                        break
                    rows = [
                        (rid, rec_id, _prepare(idx, model.model_validate_json(body))) for rid, rec_id, body in batch
                    ]
                    self._insert(conn, c, rows, {rid for rid, _, _ in rows})
                    last = batch[-1][0]
                    done += len(batch)
                conn.execute(
                    "INSERT OR REPLACE INTO index_state (collection, fields_version) VALUES (?, ?)",
                    (c, FIELDS_VERSION),
                )
                _bump(conn, c)
        return done

    # --- reading --------------------------------------------------------------------

    def data_version(self, collection: Collection) -> str:
        """The collection's write counter, kept in the database: it changes with every committed write, delete
        or reindex of the collection, by this store or any other process on the file."""
        c = collection_of(collection).value
        with self._reading() as conn:
            row = conn.execute("SELECT n FROM data_versions WHERE collection = ?", (c,)).fetchone()
        return str(row[0])

    def get(self, collection: Collection, record_id: str) -> Any | None:
        coll = collection_of(collection)
        with self._reading() as conn:
            c = coll.value
            row = conn.execute(
                f"SELECT b.body FROM {c} t JOIN {c}_bodies b ON b.rid = t.rid WHERE t.id = ?", (record_id,)
            ).fetchone()
        return RECORD_TYPES[coll].model_validate_json(row[0]) if row else None

    def get_many(self, collection: Collection, record_ids: Sequence[str]) -> list[Any]:
        """Records in the order of the ids asked for; missing ids are left out."""
        coll = collection_of(collection)
        ids = list(dict.fromkeys(record_ids))
        bodies: dict[str, str] = {}
        c = coll.value
        with self._reading() as conn:
            for part in _chunks(ids):
                sql = (
                    f"SELECT t.id, b.body FROM {c} t JOIN {c}_bodies b ON b.rid = t.rid "
                    f"WHERE t.id IN ({_placeholders(len(part))})"
                )
                bodies.update(conn.execute(sql, list(part)).fetchall())
        model = RECORD_TYPES[coll]
        parsed = {i: model.model_validate_json(b) for i, b in bodies.items()}
        return [parsed[i] for i in record_ids if i in parsed]

    def _where(self, coll: Collection, filters: Filters | None, text: str | None) -> _Where:
        idx = INDEXES[coll]
        where = _Where()
        if filters is not None and not hasattr(filters, "items"):
            raise InvalidFilterError(f"filters must be a mapping of field name to condition, not {type(filters)}")
        for name, cond in (filters or {}).items():
            spec = idx.spec(name)
            if cond is None:
                continue  # an unset filter (e.g. an optional API parameter) constrains nothing
            params: list[Any] = []
            test = self._condition(spec, cond, params)
            if test is None:
                where.empty = True
                continue
            where.conds.append(_Cond(None if name == TIME_FIELD else name, test, params))
        if text is not None and not isinstance(text, str):
            raise InvalidFilterError(f"text must be a string, not {type(text).__name__}")
        if text and text.strip():
            where.match = segment_query(text)
            if not where.match:
                where.empty = True
        return where

    @staticmethod
    def _condition(spec: FieldSpec, cond: Any, params: list[Any]) -> str | None:
        """SQL for one condition on ``{col}`` (params appended); None when nothing can match."""
        column = "{col}"
        if isinstance(cond, Range):
            parts = []
            for op, bound in ((">=", cond.gte), ("<=", cond.lte), (">", cond.gt), ("<", cond.lt)):
                if bound is not None:
                    parts.append(f"{column} {op} ?")
                    params.append(spec.coerce(bound))
            return " AND ".join(parts) if parts else "1"
        if isinstance(cond, list | tuple | set | frozenset):
            values = list(dict.fromkeys(spec.coerce(v) for v in cond if v is not None))
            if not values:
                return None
            params.extend(values)
            return f"{column} IN ({_placeholders(len(values))})"
        if isinstance(cond, dict):
            raise InvalidFilterError(f"filter on {spec.name!r} is a mapping; give a value, a list of values or a Range")
        params.append(spec.coerce(cond))
        return f"{column} = ?"

    def _count(self, conn: sqlite3.Connection, c: str, where: _Where) -> int:
        clause, params = where.clause(c)
        return int(conn.execute(f"SELECT count(*) FROM {c} t{clause}", params).fetchone()[0])

    def count(self, collection: Collection, *, filters: Filters | None = None, text: str | None = None) -> int:
        coll = collection_of(collection)
        where = self._where(coll, filters, text)
        if where.empty:
            return 0
        with self._reading() as conn:
            where.plan(conn, coll.value)
            return self._count(conn, coll.value, where)

    @staticmethod
    def _bodies(conn: sqlite3.Connection, c: str, rids: Sequence[int], omit: Sequence[str] = ()) -> list[str]:
        """Bodies of `rids`, in that order; without the top-level keys in `omit` (removed by SQLite's
        json_remove, in C, so that Python neither copies nor parses them)."""
        found: dict[int, str] = {}
        paths = [f'$."{name}"' for name in omit]  # names are the record type's fields (check_omit)
        body = f"json_remove(body, {_placeholders(len(paths))})" if paths else "body"
        for part in _chunks(rids):
            sql = f"SELECT rid, {body} FROM {c}_bodies WHERE rid IN ({_placeholders(len(part))})"
            found.update(conn.execute(sql, [*paths, *part]).fetchall())
        return [found[r] for r in rids if r in found]

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
        """Matching records and their total. With `text` and no `sort`, by relevance (bm25);
        else by `sort` (an indexed field or "time", the default), ties broken by id in the same
        direction. Records lacking the sort field come last (in id order); a multi-valued field
        sorts by its largest value when descending, its smallest when ascending. Fields in `omit` are
        left out of the bodies read and take their defaults (riskmine.store.base.check_omit)."""
        coll = collection_of(collection)
        c = coll.value
        left_out = check_omit(coll, omit)
        idx = INDEXES[coll]
        spec = idx.spec(sort) if sort is not None else None
        if limit < 0 or offset < 0:
            raise InvalidFilterError(f"limit and offset must not be negative (got limit={limit}, offset={offset})")
        where = self._where(coll, filters, text)
        if where.empty:
            return Page([], 0)
        direction = "DESC" if descending else "ASC"
        with self._reading() as conn:
            where.plan(conn, c)
            total = self._count(conn, c, where)
            if total == 0 or limit == 0 or offset >= total:
                return Page([], total)
            if where.match is not None and spec is None:
                clause, params = where.clause(c, fts_join=True)
                sql = (
                    f"SELECT t.rid FROM {c}_fts JOIN {c} t ON t.rid = {c}_fts.rowid{clause} "
                    f"ORDER BY bm25({c}_fts, {_BM25_WEIGHTS}), t.id LIMIT ? OFFSET ?"
                )
                rids = [r for (r,) in conn.execute(sql, [*params, limit, offset])]
            elif spec is None or spec.name == TIME_FIELD:
                clause, params = where.clause(c)
                sql = f"SELECT t.rid FROM {c} t{clause} ORDER BY t.time {direction}, t.id {direction} LIMIT ? OFFSET ?"
                rids = [r for (r,) in conn.execute(sql, [*params, limit, offset])]
            else:
                rids = self._sorted_by_field(conn, c, where, spec, descending, limit, offset)
            bodies = self._bodies(conn, c, rids, left_out)
        model = RECORD_TYPES[coll]
        return Page([model.model_validate_json(b) for b in bodies], total)

    def _sorted_by_field(
        self,
        conn: sqlite3.Connection,
        c: str,
        where: _Where,
        spec: FieldSpec,
        descending: bool,
        limit: int,
        offset: int,
    ) -> list[int]:
        """A page of rids by a facet field: records having it (driven by the facet index), then the rest."""
        direction = "DESC" if descending else "ASC"
        clause, params = where.clause(c, extra=["s.field = ?"])
        params = [*params, spec.name]
        joined = f"FROM {c}_facets s JOIN {c} t ON t.rid = s.rid{clause}"
        if spec.multi:
            pick = "max" if descending else "min"
            sql = (
                f"SELECT t.rid, {pick}(s.value) AS sv {joined} GROUP BY t.rid "
                f"ORDER BY sv {direction}, t.id {direction} LIMIT ? OFFSET ?"
            )
        else:
            sql = f"SELECT t.rid, s.value {joined} ORDER BY s.value {direction}, t.id {direction} LIMIT ? OFFSET ?"
        rids = [r for r, _ in conn.execute(sql, [*params, limit, offset])]
        if len(rids) == limit:
            return rids
        having = int(conn.execute(f"SELECT count(DISTINCT t.rid) {joined}", params).fetchone()[0])
        clause, rest_params = where.clause(c, extra=[f"t.rid NOT IN (SELECT rid FROM {c}_facets WHERE field = ?)"])
        sql = f"SELECT t.rid FROM {c} t{clause} ORDER BY t.id {direction} LIMIT ? OFFSET ?"
        rest = conn.execute(sql, [*rest_params, spec.name, limit - len(rids), max(0, offset - having)]).fetchall()
        return rids + [r for (r,) in rest]

    def iterate(
        self,
        collection: Collection,
        *,
        filters: Filters | None = None,
        batch_size: int = 1000,
        omit: Iterable[str] | None = None,
    ) -> Iterator[Any]:
        """Every matching record, in id order, reading `batch_size` at a time (no transaction
        stays open between batches, so the caller may write while iterating); fields in `omit` take their
        defaults, as in :meth:`query`."""
        coll = collection_of(collection)
        left_out = check_omit(coll, omit)
        if batch_size < 1:
            raise InvalidFilterError(f"batch_size must be at least 1 (got {batch_size})")
        where = self._where(coll, filters, None)
        return self._iterate(coll, where, batch_size, left_out)

    def _iterate(self, coll: Collection, where: _Where, batch_size: int, omit: Sequence[str] = ()) -> Iterator[Any]:
        if where.empty:
            return
        c, model = coll.value, RECORD_TYPES[coll]
        last: str | None = None
        while True:
            with self._reading() as conn:
                where.plan(conn, c)
                clause, params = where.clause(c, extra=["t.id > ?"] if last is not None else [])
                if last is not None:
                    params.append(last)
                rows = conn.execute(
                    f"SELECT t.rid, t.id FROM {c} t{clause} ORDER BY t.id LIMIT ?", [*params, batch_size]
                ).fetchall()
                bodies = self._bodies(conn, c, [r for r, _ in rows], omit)
            for body in bodies:
                yield model.model_validate_json(body)
            if len(rows) < batch_size:
                return
            last = rows[-1][1]

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

        Value buckets come most frequent first (ties by value), at most `size`. Period
        buckets come in time order, all of them (`size` caps values, not periods); periods
        without records are left out. With both, the `size` most frequent values overall
        are kept and their buckets listed per period (in time order, most frequent first
        within a period). Periods are calendar days,
        ISO weeks ("2024-W07") or months ("2024-02") at the store's UTC offset.
        """
        req = check_aggregate(collection, field, time_bucket, size)
        coll, spec, bucket = req.collection, req.field, req.bucket
        c = coll.value
        where = self._where(coll, filters, text)
        if where.empty or size == 0:
            return []
        period = f"strftime('{_PERIOD_FORMATS[bucket]}', t.time + {self._offset_s!r}, 'unixepoch')" if bucket else ""
        with self._reading() as conn:
            where.plan(conn, c)
            clause, params = where.clause(c)
            if spec is not None and bucket is None:
                if where.driver is not None:  # few records match: look up their values
                    sql = (
                        f"SELECT f.value, count(*) AS n FROM (SELECT t.rid FROM {c} t{clause}) m "
                        f"JOIN {c}_facets f INDEXED BY {c}_facets_rid ON f.rid = m.rid AND f.field = ? "
                        "GROUP BY f.value ORDER BY n DESC, f.value LIMIT ?"
                    )
                    args = [*params, spec.name, size]
                else:  # scan the field's values, keeping those of matching records
                    restrict = f" AND f.rid IN (SELECT t.rid FROM {c} t{clause})" if clause else ""
                    sql = (
                        f"SELECT f.value, count(*) AS n FROM {c}_facets f WHERE f.field = ?{restrict} "
                        "GROUP BY f.value ORDER BY n DESC, f.value LIMIT ?"
                    )
                    args = [spec.name, *params, size]
                rows = conn.execute(sql, args).fetchall()
                return [Bucket(key=spec.render(v), count=n) for v, n in rows]
            if spec is None:
                rows = conn.execute(f"SELECT {period} AS p, count(*) FROM {c} t{clause} GROUP BY p", params).fetchall()
                return self._periods(bucket, [(p, None, n) for p, n in rows], None, 0)
            rows = conn.execute(
                f"SELECT {period} AS p, f.value, count(*) FROM {c} t JOIN {c}_facets f "
                f"ON f.rid = t.rid AND f.field = ?{clause} GROUP BY p, f.value",
                [spec.name, *params],
            ).fetchall()
        return self._periods(bucket, rows, spec, size)

    @staticmethod
    def _periods(
        bucket: TimeBucket | None, rows: Sequence[tuple[str, Any, int]], spec: FieldSpec | None, size: int
    ) -> list[Bucket]:
        counts: dict[tuple[str, str | None], int] = {}
        for p, v, n in rows:
            key = _week_key(p) if bucket is TimeBucket.week else p
            k = (key, spec.render(v) if spec is not None else None)
            counts[k] = counts.get(k, 0) + n
        if spec is not None:
            totals: dict[str | None, int] = {}
            for (_, v), n in counts.items():
                totals[v] = totals.get(v, 0) + n
            keep = set(sorted(totals, key=lambda v: (-totals[v], v or ""))[:size])
            counts = {k: n for k, n in counts.items() if k[1] in keep}
            order = sorted(counts, key=lambda k: (k[0], -counts[k], k[1] or ""))
        else:
            order = sorted(counts)
        return [Bucket(key=v, count=counts[(p, v)], period=p) for p, v in order]
