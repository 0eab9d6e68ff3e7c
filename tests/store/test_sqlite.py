"""The SQLite backend: the shared contract plus what only SQLite has (schema, migrations, plans)."""

from __future__ import annotations

import gc
import sqlite3
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path

import pytest

from riskmine.schema import Signal
from riskmine.store import fields
from riskmine.store.base import Bucket, Collection, Range, Store, StoreError, TimeBucket
from riskmine.store.sqlite import MIGRATIONS, SQLiteStore, migrate

from .contract import StoreContract
from .samples import at, make_signal

S = Collection.signals


class TestSQLiteStore(StoreContract):
    @pytest.fixture
    def make_store(self, tmp_path: Path) -> Iterator[Callable[[], Store]]:
        opened: list[SQLiteStore] = []

        def make() -> Store:
            store = SQLiteStore(tmp_path / "riskmine.sqlite3")
            opened.append(store)
            return store

        yield make
        for store in opened:
            store.close()


class TestInMemorySQLiteStore(StoreContract):
    """An in-memory database: one connection behind a lock; it cannot be reopened."""

    @pytest.fixture
    def make_store(self) -> Callable[[], Store]:
        return lambda: SQLiteStore(":memory:")

    def test_persists_across_reopen(self) -> None:  # type: ignore[override]
        pytest.skip("an in-memory database does not outlive its store")

    def test_data_version_sees_writes_by_another_handle(self) -> None:  # type: ignore[override]
        pytest.skip("another in-memory store is another database")


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "store.sqlite3"


@pytest.fixture
def store(db_path: Path) -> Iterator[SQLiteStore]:
    s = SQLiteStore(db_path)
    yield s
    s.close()


def _raw(path: Path) -> sqlite3.Connection:
    return sqlite3.connect(path)


def test_database_settings(store: SQLiteStore) -> None:
    conn = store._conn()
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    assert conn.execute("PRAGMA busy_timeout").fetchone()[0] == 30000


def test_schema_version_recorded(store: SQLiteStore, db_path: Path) -> None:
    assert store.schema_version == len(MIGRATIONS)
    with _raw(db_path) as conn:
        assert conn.execute("SELECT version FROM schema_version").fetchall() == [(len(MIGRATIONS),)]
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    for c in Collection:
        assert {c.value, f"{c.value}_bodies", f"{c.value}_facets", f"{c.value}_fts"} <= tables


def test_migrations_are_idempotent_on_reopen(db_path: Path, signals: dict[str, Signal]) -> None:
    with SQLiteStore(db_path) as first:
        first.write(S, list(signals.values()))
    for _ in range(2):
        with SQLiteStore(db_path) as again:
            assert again.schema_version == len(MIGRATIONS)
            assert again.count(S) == len(signals)
    with _raw(db_path) as conn:
        assert conn.execute("SELECT count(*) FROM schema_version").fetchone()[0] == 1
        conn.isolation_level = None
        assert migrate(conn) == len(MIGRATIONS)
        assert conn.execute("SELECT count(*) FROM signals").fetchone()[0] == len(signals)


def test_migrations_apply_in_order_from_the_recorded_version(db_path: Path) -> None:
    applied: list[str] = []

    def add_notes(conn: sqlite3.Connection) -> None:
        applied.append("notes")
        conn.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY, text TEXT)")

    SQLiteStore(db_path).close()
    conn = sqlite3.connect(db_path, isolation_level=None)
    try:
        assert migrate(conn, [*MIGRATIONS, add_notes]) == len(MIGRATIONS) + 1
        assert migrate(conn, [*MIGRATIONS, add_notes]) == len(MIGRATIONS) + 1
        assert applied == ["notes"]
        assert conn.execute("SELECT version FROM schema_version").fetchone()[0] == len(MIGRATIONS) + 1
    finally:
        conn.close()


def test_failed_migration_leaves_the_database_as_it_was(db_path: Path) -> None:
    def broken(conn: sqlite3.Connection) -> None:
        conn.execute("CREATE TABLE half (x)")
        raise RuntimeError("boom")

    SQLiteStore(db_path).close()
    conn = sqlite3.connect(db_path, isolation_level=None)
    try:
        with pytest.raises(RuntimeError):
            migrate(conn, [*MIGRATIONS, broken])
        assert conn.execute("SELECT version FROM schema_version").fetchone()[0] == len(MIGRATIONS)
        assert conn.execute("SELECT count(*) FROM sqlite_master WHERE name = 'half'").fetchone()[0] == 0
    finally:
        conn.close()


def test_newer_schema_is_refused_clearly(db_path: Path) -> None:
    SQLiteStore(db_path).close()
    with _raw(db_path) as conn:
        conn.execute("UPDATE schema_version SET version = 99")
    with pytest.raises(StoreError, match="newer"):
        SQLiteStore(db_path)


def test_fields_version_change_rebuilds_the_index(db_path: Path, signals: dict[str, Signal]) -> None:
    with SQLiteStore(db_path) as first:
        first.write(S, list(signals.values()))
    with _raw(db_path) as conn:  # as if written by an older fields module
        conn.execute("DELETE FROM signals_facets")
        conn.execute("DELETE FROM signals_fts")
        conn.execute("UPDATE index_state SET fields_version = 0 WHERE collection = 'signals'")
    with SQLiteStore(db_path) as again:
        assert again.count(S, filters={"hazard": "fire"}) == 4
        assert again.count(S, text="冒烟") == 2
    with _raw(db_path) as conn:
        assert conn.execute("SELECT fields_version FROM index_state WHERE collection = 'signals'").fetchone() == (
            fields.FIELDS_VERSION,
        )


def test_reindex_returns_the_records_done(store: SQLiteStore, signals: dict[str, Signal]) -> None:
    store.write(S, list(signals.values()))
    assert store.reindex(S) == len(signals)
    assert store.count(S, filters={"region": "浙江省"}) == 4
    assert store.reindex() == len(signals)


def test_values_keep_their_types(store: SQLiteStore, signals: dict[str, Signal], db_path: Path) -> None:
    store.write(S, list(signals.values()))
    with _raw(db_path) as conn:
        kinds = dict(
            conn.execute(
                "SELECT field, typeof(value) FROM signals_facets WHERE field IN ('risk_score', 'is_risk', 'region') "
                "GROUP BY field"
            ).fetchall()
        )
    assert kinds == {"risk_score": "real", "is_risk": "integer", "region": "text"}
    # A code that looks like a number stays text: "330100" is not 330100.
    assert store.count(S, filters={"region": "330100"}) == 4


def test_filtered_queries_use_indexes(store: SQLiteStore, signals: dict[str, Signal]) -> None:
    store.write(S, list(signals.values()))
    conn = store._conn()
    filters = {"product_category": "充电宝", "is_risk": True, "region": "浙江省", "time": Range(gte="2024-01-01")}
    where = store._where(S, filters, None)
    where.plan(conn, "signals")
    assert where.driver is not None
    assert where.conds[where.driver].field == "product_category"  # 3 records: the most selective
    clause, params = where.clause("signals")
    plan = conn.execute(f"EXPLAIN QUERY PLAN SELECT count(*) FROM signals t{clause}", params).fetchall()
    details = [row[3] for row in plan]
    assert any("signals_facets USING PRIMARY KEY (field=? AND value=?)" in d for d in details), details
    assert sum("USING COVERING INDEX signals_facets_rid (rid=? AND field=?" in d for d in details) == 2, details
    assert not any(d.startswith("SCAN") for d in details), details


def test_a_selective_time_range_drives_the_read(store: SQLiteStore, signals: dict[str, Signal]) -> None:
    store.write(S, list(signals.values()))
    conn = store._conn()
    where = store._where(S, {"is_risk": True, "time": Range(gte="2024-03-12")}, None)
    where.plan(conn, "signals")
    assert where.driver is not None
    assert where.conds[where.driver].field is None
    clause, params = where.clause("signals")
    details = [r[3] for r in conn.execute(f"EXPLAIN QUERY PLAN SELECT t.rid FROM signals t{clause}", params)]
    assert any("signals_time (time>?)" in d for d in details), details
    assert store.count(S, filters={"is_risk": True, "time": Range(gte="2024-03-12")}) == 0
    assert store.count(S, filters={"is_risk": False, "time": Range(gte="2024-03-12")}) == 1


def test_closed_store_refuses_use(db_path: Path) -> None:
    s = SQLiteStore(db_path)
    s.close()
    with pytest.raises(StoreError, match="closed"):
        s.count(S)
    s.close()  # closing twice is harmless


def test_missing_folder_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="does not exist"):
        SQLiteStore(tmp_path / "no" / "such" / "db.sqlite3")


def test_file_that_is_not_a_database_is_a_clear_error(tmp_path: Path) -> None:
    bogus = tmp_path / "notes.sqlite3"
    bogus.write_text("these are not the tables you are looking for\n" * 100, encoding="utf-8")
    with pytest.raises(StoreError, match="cannot open SQLite database"):
        SQLiteStore(bogus)


def test_each_thread_has_its_own_connection(store: SQLiteStore) -> None:
    main = store._conn()
    seen: list[sqlite3.Connection] = []
    t = threading.Thread(target=lambda: seen.append(store._conn()))
    t.start()
    t.join()
    assert seen and seen[0] is not main
    assert store._conn() is main


def test_connections_of_ended_threads_are_closed(store: SQLiteStore) -> None:
    opened: list[sqlite3.Connection] = []

    def work() -> None:
        assert store.count(S) == 0
        opened.append(store._conn())

    threads = [threading.Thread(target=work) for _ in range(5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    gc.collect()
    assert len(store._conns) == 1  # only this thread's
    for conn in opened:
        with pytest.raises(sqlite3.ProgrammingError):
            conn.execute("SELECT 1")
    assert store.count(S) == 0


def test_two_stores_on_one_file_see_each_others_writes(db_path: Path, signals: dict[str, Signal]) -> None:
    with SQLiteStore(db_path) as a, SQLiteStore(db_path) as b:
        a.write(S, list(signals.values())[:4])
        assert b.count(S) == 4
        b.write(S, list(signals.values()))
        assert a.count(S) == len(signals)


def test_utc_offset_sets_the_bucket_calendar(tmp_path: Path) -> None:
    late = make_signal("充电宝冒烟", source_id="late", published_at=at(1, 31, 23))  # 15:00 UTC
    with SQLiteStore(tmp_path / "cn.sqlite3") as cn, SQLiteStore(tmp_path / "utc.sqlite3", utc_offset=timedelta()) as u:
        cn.write(S, [late])
        u.write(S, [late])
        assert [b.period for b in cn.aggregate(S, None, time_bucket=TimeBucket.day)] == ["2024-01-31"]
        assert [b.period for b in u.aggregate(S, None, time_bucket=TimeBucket.day)] == ["2024-01-31"]
        early = make_signal("充电宝起火", source_id="early", published_at=at(2, 1, 1))  # 17:00 UTC on Jan 31
        cn.write(S, [early])
        u.write(S, [early])
        assert [b.period for b in cn.aggregate(S, None, time_bucket=TimeBucket.month)] == ["2024-01", "2024-02"]
        assert [b.period for b in u.aggregate(S, None, time_bucket=TimeBucket.month)] == ["2024-01"]


def test_many_threads_writing_and_reading(store: SQLiteStore) -> None:
    """The FastAPI threadpool pattern: overlapping writers (skip policy) and readers at once."""
    batches = [
        [make_signal(f"爬行垫甲醛超标{i}", source_id=f"p{i}", published_at=at(2, 1 + i % 20)) for i in range(k, k + 60)]
        for k in range(0, 240, 30)  # consecutive batches overlap by half
    ]

    def write(batch: list[Signal]) -> int:
        return store.write(S, batch).written

    def read(_: int) -> int:
        page = store.query(S, text="甲醛", sort="time", limit=10)
        assert len(page.items) == min(10, page.total)
        assert [s.when for s in page.items] == sorted((s.when for s in page.items), reverse=True)
        return page.total

    with ThreadPoolExecutor(max_workers=8) as pool:
        writes = [pool.submit(write, b) for b in batches]
        reads = [pool.submit(read, i) for i in range(40)]
        written = sum(f.result(timeout=60) for f in writes)
        assert all(0 <= f.result(timeout=60) <= 270 for f in reads)
    assert written == 270 == store.count(S)
    assert store.count(S, filters={"time": Range(gte=at(2, 1), lt=at(2, 2))}) == 14


FILTER_MIXES: list[dict[str, object]] = [
    {"product_category": "充电宝", "is_risk": True},
    {"region": "浙江省", "hazard": ["fire", "choking"], "time": Range(gte="2024-02-01")},
    {"risk_score": Range(gte=0.5), "source_type": "review", "is_duplicate": False},
    {"population": "children", "harm_occurred": True},
    {"time": Range(gte="2024-03-01"), "noisy": False},
]


@pytest.mark.parametrize("filters", FILTER_MIXES)
def test_selective_and_intersecting_plans_agree(
    store: SQLiteStore, signals: dict[str, Signal], monkeypatch: pytest.MonkeyPatch, filters: dict[str, object]
) -> None:
    """Whether one condition drives (EXISTS for the rest) or SQLite intersects lists, results agree."""
    from riskmine.store import sqlite as backend

    store.write(S, list(signals.values()))

    def run() -> tuple[list[str], int, list[Bucket], list[str]]:
        page = store.query(S, filters=filters, sort="risk_score")
        return (
            [s.id for s in page.items],
            store.count(S, filters=filters),
            store.aggregate(S, "hazard", filters=filters),
            [s.id for s in store.iterate(S, filters=filters, batch_size=2)],
        )

    selective = run()
    monkeypatch.setattr(backend, "_ESTIMATE_CAP", 1)  # nothing counts as selective: lists intersect
    intersecting = run()
    assert selective == intersecting
    assert selective[1] == len(selective[0]) > 0


def test_delete_and_overwrite_leave_no_orphan_rows(
    store: SQLiteStore, signals: dict[str, Signal], db_path: Path
) -> None:
    sigs = list(signals.values())
    store.write(S, sigs)
    store.write(S, sigs, "overwrite")  # type: ignore[arg-type]
    with _raw(db_path) as conn:
        counts = [conn.execute(f"SELECT count(DISTINCT rid) FROM signals{t}").fetchone()[0] for t in ("", "_bodies")]
        assert counts == [len(sigs), len(sigs)]
        assert conn.execute("SELECT count(*) FROM signals_fts").fetchone()[0] == len(sigs)
    assert store.delete(S, [s.id for s in sigs]) == len(sigs)
    with _raw(db_path) as conn:
        for table in ("signals", "signals_bodies", "signals_facets", "signals_fts"):
            assert conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0] == 0, table
