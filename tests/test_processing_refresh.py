"""Issue 18: an incremental candidate refresh costs what changed, not the whole collection.

The store is the real SQLite backend, subclassed only to count what a refresh reads and writes.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from riskmine import processing
from riskmine.knowledge_graph.candidates import parent_key
from riskmine.processing import refresh_candidates
from riskmine.schema import CandidateRisk, Signal
from riskmine.store.base import Collection, DuplicatePolicy, Filters, WriteResult
from riskmine.store.sqlite import SQLiteStore
from tests.knowledge_graph.test_candidates import NOW, power_bank_signals, shampoo_signals, toy_signals

FIRE, SHAMPOO = "充电宝|fire", "洗发水|chemical"


class CountingStore(SQLiteStore):
    """The SQLite store, recording the records each call reads and writes."""

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self.reset()

    def reset(self) -> None:
        self.full_reads: list[Any] = []  # records read with every field
        self.light_reads: list[Any] = []  # records read without some fields (omit)
        self.get_many_sizes: list[int] = []
        self.written: list[Any] = []

    def get_many(self, collection: Collection, record_ids: Sequence[str]) -> list[Any]:
        found = super().get_many(collection, record_ids)
        if collection is Collection.candidates:
            self.get_many_sizes.append(len(record_ids))
        self.full_reads.extend(found)
        return found

    def iterate(
        self,
        collection: Collection,
        *,
        filters: Filters | None = None,
        batch_size: int = 1000,
        omit: Iterable[str] | None = None,
    ) -> Iterator[Any]:
        reads = self.light_reads if omit else self.full_reads
        for record in super().iterate(collection, filters=filters, batch_size=batch_size, omit=omit):
            reads.append(record)
            yield record

    def write(
        self, collection: Collection, records: Sequence[BaseModel], policy: DuplicatePolicy = DuplicatePolicy.skip
    ) -> WriteResult:
        self.written.extend(records)
        return super().write(collection, records, policy)

    def candidate_keys(self, records: list[Any], *, full: bool = True) -> set[str]:
        return {r.key for r in records if isinstance(r, CandidateRisk) and (not full or r.signal_ids)}


def _first() -> list[Signal]:
    return [*power_bank_signals(), *shampoo_signals(4, days=[20, 30]), *toy_signals()]


def _snapshot(store: SQLiteStore, exclude: set[str] | None = None) -> list[dict[str, object]]:
    left_out = {"created_at", *(exclude or ())}
    return [c.model_dump(exclude=left_out) for c in SQLiteStore.iterate(store, Collection.candidates)]


@pytest.fixture
def counted(tmp_path: Path) -> CountingStore:
    store = CountingStore(tmp_path / "counted.sqlite3")
    store.write(Collection.signals, _first())
    refresh_candidates(store, now=NOW)
    assert {parent_key(c.key) for c in store.iterate(Collection.candidates)} >= {FIRE, SHAMPOO}
    store.reset()
    return store


def test_reprocessing_one_signal_reads_and_rewrites_only_its_candidates(counted: CountingStore) -> None:
    before = _snapshot(counted)
    shampoo_id = next(s.id for s in _first() if s.product_category == "洗发水")
    refresh_candidates(counted, now=NOW, signal_ids=[shampoo_id])

    assert _snapshot(counted) == before  # nothing changed
    signals = [r for r in [*counted.full_reads, *counted.light_reads] if isinstance(r, Signal)]
    assert signals and {s.product_category for s in signals} == {"洗发水"}  # only the touched category's signals
    # the other candidates were read without their member ids and evidence, and not written again
    assert {parent_key(k) for k in counted.candidate_keys(counted.full_reads)} <= {SHAMPOO}
    assert {parent_key(c.key) for c in counted.written} == {SHAMPOO}
    assert all(c.signal_ids == [] and c.evidence == [] for c in counted.light_reads if isinstance(c, CandidateRisk))


def test_a_later_refresh_rewrites_the_others_a_batch_at_a_time_keeping_their_members(
    tmp_path: Path, counted: CountingStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(processing, "_WRITE_BATCH", 1)
    stored_fire = next(c for c in counted.iterate(Collection.candidates) if c.key == FIRE)
    later = NOW + timedelta(hours=6)
    new = [s.model_copy(update={"id": f"new-{s.id}"}) for s in shampoo_signals(6, days=[1, 2])[4:]]
    counted.write(Collection.signals, new)
    counted.reset()
    n = refresh_candidates(counted, now=later, signal_ids=[s.id for s in new])

    # every other candidate changed (its statistics are as of `later`): read in full and written one at a time
    assert counted.get_many_sizes and max(counted.get_many_sizes) == 1
    carried = {c.key for c in counted.written if parent_key(c.key) != SHAMPOO}
    assert FIRE in carried
    # and the result is what a full rebuild gives, member ids included; a candidate whose signals did not change
    # keeps its stored evidence (ranked when it was built: a full rebuild ranks it again, as of `later`)
    full = SQLiteStore(tmp_path / "full.sqlite3")
    full.write(Collection.signals, [*_first(), *new])
    assert refresh_candidates(full, now=later) == n
    assert _snapshot(counted, exclude={"evidence"}) == _snapshot(full, exclude={"evidence"})
    fire = next(c for c in counted.iterate(Collection.candidates) if c.key == FIRE)
    assert fire.signal_ids == stored_fire.signal_ids and fire.evidence == stored_fire.evidence
    assert fire.signal_ids and fire.evidence and fire.updated_at == later
