"""Issue 18: an incremental candidate refresh costs what changed, not the whole collection.

The store is the real SQLite backend, subclassed only to count what a refresh reads and writes.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterable, Iterator, Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from riskmine import processing
from riskmine.knowledge_graph.candidates import (
    GroupKey,
    build_candidates,
    build_cores,
    is_candidate_signal,
    parent_key,
    signal_keys,
)
from riskmine.pipeline import Pipeline
from riskmine.processing import refresh_candidates
from riskmine.schema import CandidateRisk, EntityMention, RawDocument, RegionMention, Signal
from riskmine.settings import Settings
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


# --- real-derived data: the demo corpus through the real pipeline, copied with perturbations ----------------------

_PROVINCES = ("广东省", "浙江省", "江苏省", "山东省", "四川省")
_BRANDS = ("极充", "罗马仕", "小米", "美的", "格力", "海尔")


def _copies(base: list[Signal], n: int, rng: random.Random, prefix: str) -> list[Signal]:
    """n copies of real signals with new ids and times, a province and a brand from a pool; now and then a category
    swapped or dropped (so uncategorised groups are there too)."""
    categories = sorted({s.product_category for s in base if s.product_category})
    out = []
    for i in range(n):
        src = rng.choice(base)
        sid = f"{prefix}-{i}"
        when = src.when + timedelta(days=rng.randint(-90, 0), hours=rng.randint(0, 23))
        province = rng.choice(_PROVINCES)
        orgs = [o for o in src.organisations if o.kind != "brand"]
        orgs.append(EntityMention(kind="brand", name=rng.choice(_BRANDS), source="meta"))
        update: dict[str, Any] = {
            "id": sid,
            "document": src.document.model_copy(update={"id": sid, "source_id": sid, "published_at": when}),
            "regions": [RegionMention(name=province, level="province", province=province)],
            "organisations": orgs,
        }
        if src.duplicate_group:  # copies of one story stay one event
            update["duplicate_group"] = f"{prefix}-{src.duplicate_group}-{i % 3}"
        roll = rng.random()
        if roll < 0.1:
            update["product_category"] = rng.choice(categories)
        elif roll < 0.13:
            update["product_category"] = None
        out.append(src.model_copy(update=update))
    return out


@pytest.fixture(scope="module")
def real_signals(tmp_path_factory: pytest.TempPathFactory, shared_models_dir: Path) -> list[Signal]:
    """Risk signals of a third of the demo corpus (real texts) from the configured pipeline, and copies of them."""
    settings = Settings(var_dir=tmp_path_factory.mktemp("real-var"), models_dir=shared_models_dir)
    lines = settings.demo_path.read_text(encoding="utf-8").splitlines()
    docs = [RawDocument.model_validate(json.loads(line)) for line in lines[::3] if line.strip()]
    pipeline = Pipeline.from_settings(settings)
    base = [s for batch in pipeline.process_stream(docs) for s in batch if is_candidate_signal(s)]
    assert len(base) > 50 and any(s.segmented_text for s in base)
    return [*base, *_copies(base, 900, random.Random(18), "copy")]


class CategoryStore(SQLiteStore):
    """The SQLite store, recording the product categories and the records of each read of signals."""

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self.signal_reads: list[list[Signal]] = []

    def iterate(
        self,
        collection: Collection,
        *,
        filters: Filters | None = None,
        batch_size: int = 1000,
        omit: Iterable[str] | None = None,
    ) -> Iterator[Any]:
        read: list[Signal] = []
        if collection is Collection.signals:
            self.signal_reads.append(read)
        for record in super().iterate(collection, filters=filters, batch_size=batch_size, omit=omit):
            if isinstance(record, Signal):
                read.append(record)
            yield record


def _by_id(store: SQLiteStore, exclude: set[str] | None = None) -> dict[str, dict[str, object]]:
    return {c.id: c.model_dump(exclude=exclude) for c in SQLiteStore.iterate(store, Collection.candidates)}


@pytest.mark.slow  # the demo corpus through the pipeline once per module
def test_a_full_refresh_holds_one_category_at_a_time_and_gives_what_one_batch_gives(
    tmp_path: Path, real_signals: list[Signal], monkeypatch: pytest.MonkeyPatch
) -> None:
    now = max(s.when for s in real_signals) + timedelta(days=1)
    store = CategoryStore(tmp_path / "full.sqlite3")
    store.write(Collection.signals, real_signals)
    batches: list[dict[GroupKey, list[Signal]]] = []

    def recording(groups: dict[GroupKey, list[Signal]], **kwargs: Any) -> list[CandidateRisk]:
        batches.append(groups)
        return build_cores(groups, **kwargs)

    monkeypatch.setattr(processing, "build_cores", recording)
    n = refresh_candidates(store, now=now)

    expected = {c.id: c.model_dump() for c in build_candidates(real_signals, now=now)}
    assert n == len(expected) > 20
    stored = _by_id(store)
    assert stored.keys() == expected.keys()
    for cid, fields in expected.items():  # field by field, for a readable difference
        for name, value in fields.items():
            assert stored[cid][name] == value, (fields["key"], name)
    # the groups were built a category at a time (uncategorised ones on their own), and the signals read without
    # the fields no step needs
    assert len(batches) > 5 and all(len({category or None for category, _ in b}) == 1 for b in batches)
    assert max(len({s.id for members in b.values() for s in members}) for b in batches) < len(real_signals) / 3
    assert any(category is None for category, _ in batches[-1])
    assert all(not s.segmented_text and not s.model_versions for r in store.signal_reads for s in r)


@pytest.mark.slow  # the demo corpus through the pipeline once per module
def test_an_incremental_refresh_on_real_derived_data_equals_a_full_rebuild(
    tmp_path: Path, real_signals: list[Signal], monkeypatch: pytest.MonkeyPatch
) -> None:
    now = max(s.when for s in real_signals) + timedelta(days=1)
    later = now + timedelta(hours=5)
    categories = sorted({s.product_category for s in real_signals if s.product_category})[:2]
    pool = [s for s in real_signals[:300] if s.product_category in categories or not s.product_category]
    new = _copies(pool, 60, random.Random(19), "new")
    incremental = CategoryStore(tmp_path / "inc.sqlite3")
    incremental.write(Collection.signals, real_signals)
    refresh_candidates(incremental, now=now)
    incremental.write(Collection.signals, new)
    held: list[Signal] = []

    def recording(groups: dict[GroupKey, list[Signal]], **kwargs: Any) -> list[CandidateRisk]:
        held.extend(s for members in groups.values() for s in members)
        return build_cores(groups, **kwargs)

    monkeypatch.setattr(processing, "build_cores", recording)
    n = refresh_candidates(incremental, now=later, signal_ids=[s.id for s in new])
    monkeypatch.undo()

    full = SQLiteStore(tmp_path / "full.sqlite3")
    full.write(Collection.signals, [*real_signals, *new])
    assert refresh_candidates(full, now=later) == n
    touched = {k for s in new for k in signal_keys(s)}
    got, want = _by_id(incremental, {"created_at"}), _by_id(full, {"created_at"})
    assert got.keys() == want.keys()
    for cid, fields in want.items():
        rebuilt = parent_key(str(fields["key"])) in touched
        for name, value in fields.items():
            if name != "evidence" or rebuilt:  # a carried candidate keeps the evidence ranked when it was built
                assert got[cid][name] == value, (fields["key"], name)
    assert touched and {k for s in held for k in signal_keys(s)} & touched == touched
    assert len({s.id for s in held}) < len(real_signals) / 2  # only the touched groups' signals were kept
