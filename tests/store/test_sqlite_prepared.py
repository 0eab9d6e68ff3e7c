"""Rows prepared apart (``prepare_rows``, as a worker of ``riskmine process --workers N`` makes them) and written
by ``SQLiteStore.write_prepared`` store exactly what ``SQLiteStore.write`` stores: rows, bodies, facets and
full-text rows."""

from __future__ import annotations

import pickle
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from riskmine.schema import RawDocument, Signal
from riskmine.store.base import Collection, DuplicatePolicy, DuplicateRecordError, PreparedWriter
from riskmine.store.sqlite import SQLiteStore, prepare_rows

LATE = ("duplicate_group", "is_duplicate")  # what the parent's dedup writes after the workers made the rows


def _tables(path: Path) -> dict[str, list[Any]]:
    """Every row the store keeps for signals and documents (index and full-text rows included)."""
    conn = sqlite3.connect(path)
    try:
        out: dict[str, list[Any]] = {}
        for c in ("signals", "documents"):
            out[c] = conn.execute(f"SELECT rid, id, time FROM {c} ORDER BY rid").fetchall()
            out[f"{c}_bodies"] = conn.execute(f"SELECT rid, body FROM {c}_bodies ORDER BY rid").fetchall()
            out[f"{c}_facets"] = conn.execute(f"SELECT field, value, rid FROM {c}_facets ORDER BY 1, 2, 3").fetchall()
            out[f"{c}_fts"] = conn.execute(f"SELECT rowid, words, chars FROM {c}_fts ORDER BY rowid").fetchall()
        out["data_versions"] = conn.execute("SELECT * FROM data_versions ORDER BY 1").fetchall()
        return out
    finally:
        conn.close()


def _deduplicated(signals: list[Signal]) -> list[Signal]:
    """The signals as dedup leaves them: every other one a duplicate of the first."""
    out = [s.model_copy(deep=True) for s in signals]
    for s in out:
        s.duplicate_group, s.is_duplicate = out[0].id, s is not out[0] and len(s.id) % 2 == 0
    return out


def test_prepared_rows_completed_later_store_what_write_stores(tmp_path: Path, signals: dict[str, Signal]) -> None:
    before = list(signals.values())  # as the workers leave them, before dedup
    after = _deduplicated(before)
    docs = [s.document for s in before]
    masked = [d.model_copy(update={"text": d.text + "（已脱敏）", "product": "改过的产品"}) for d in docs[:3]]

    plain = SQLiteStore(tmp_path / "plain.sqlite3")
    prepared = SQLiteStore(tmp_path / "prepared.sqlite3")
    try:
        for store in (plain, prepared):
            store.write(Collection.documents, docs)
        plain.write(Collection.signals, after, DuplicatePolicy.overwrite)
        plain.write(Collection.documents, masked, DuplicatePolicy.overwrite)

        assert isinstance(prepared, PreparedWriter)
        rows = prepare_rows(Collection.signals, before, LATE)
        doc_rows = prepare_rows(Collection.documents, masked)
        assert rows is not None and doc_rows is not None
        assert not rows.is_complete and any(rows.late_specs)
        rows, doc_rows = pickle.loads(pickle.dumps((rows, doc_rows)))  # they travel from a worker
        late = [
            Signal.model_construct(id=s.id, duplicate_group=s.duplicate_group, is_duplicate=s.is_duplicate)
            for s in after
        ]
        results = prepared.write_prepared([rows.complete(late), doc_rows])
        assert [(r.written, r.overwritten) for r in results] == [(len(after), 0), (0, len(masked))]

        assert _tables(tmp_path / "prepared.sqlite3") == _tables(tmp_path / "plain.sqlite3")
        assert prepared.get(Collection.signals, after[1].id) == after[1]
        assert prepared.count(Collection.signals, filters={"is_duplicate": True}) == sum(s.is_duplicate for s in after)
        assert prepared.count(Collection.documents, text="已脱敏") == len(masked)
    finally:
        plain.close()
        prepared.close()


def test_write_prepared_keeps_the_duplicate_policies(tmp_path: Path, signals: dict[str, Signal]) -> None:
    items = list(signals.values())
    with SQLiteStore(tmp_path / "s.sqlite3") as store:
        first = prepare_rows(Collection.signals, items[:3])
        assert first is not None and first.is_complete
        store.write_prepared([first])
        again = prepare_rows(Collection.signals, [items[2], items[3], items[3]])
        assert again is not None
        skipped = store.write_prepared([again], DuplicatePolicy.skip)[0]
        assert (skipped.written, skipped.skipped, skipped.ids) == (1, 2, [items[3].id])
        with pytest.raises(DuplicateRecordError):
            store.write_prepared([again], DuplicatePolicy.fail)
        assert store.count(Collection.signals) == 4


def test_rows_are_not_prepared_apart_when_the_index_reads_a_late_field(signals: dict[str, Signal]) -> None:
    items = list(signals.values())
    # the full-text input and several facets read the document: it cannot be filled in later
    assert prepare_rows(Collection.signals, items, ("document",)) is None
    rows = prepare_rows(Collection.signals, items, ("weight",))  # no index reads it: only the body has a gap
    assert rows is not None and not rows.is_complete and not any(rows.late_specs)
    with pytest.raises(Exception, match="complete"):
        rows.rows()


def test_documents_prepare_like_signals(tmp_path: Path, signals: dict[str, Signal]) -> None:
    docs: list[RawDocument] = [s.document for s in signals.values()]
    with SQLiteStore(tmp_path / "a.sqlite3") as a, SQLiteStore(tmp_path / "b.sqlite3") as b:
        a.write(Collection.documents, docs)
        rows = prepare_rows(Collection.documents, docs)
        assert rows is not None
        b.write_prepared([rows], DuplicatePolicy.skip)
    assert _tables(tmp_path / "a.sqlite3") == _tables(tmp_path / "b.sqlite3")
