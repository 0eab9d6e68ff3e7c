"""Parallel processing: N workers give the same signals as one process; failures are reported.

The stage plan here is real registered stages (normalize, denoise, dedup, segment) plus the
API tests' keyword stage, so workers start fast; the configured pipeline is measured by
``python -m bench parallel_process``.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from riskmine.nlp.base import BoundStage, StageContext, build_stage, registered
from riskmine.parallel import (
    ParallelProcessingError,
    ParallelProcessor,
    Step,
    WorkerCrashError,
    hoisted_steps,
    plan_steps,
)
from riskmine.pipeline import Pipeline
from riskmine.processing import process_documents
from riskmine.schema import RawDocument, Signal, SourceType
from riskmine.settings import Settings
from riskmine.store.base import Collection
from riskmine.store.sqlite import SQLiteStore
from tests.api.apikit import keyword_stage

REAL_STAGES = ("normalize", "denoise", "dedup", "segment")


def _explode(batch: list[Signal]) -> list[Signal]:
    for s in batch:
        if "触发崩溃" in s.document.text:
            os._exit(3)  # a worker dying as if killed
        if "触发异常" in s.document.text:
            raise ValueError(f"cannot handle {s.id}")
    return batch


@dataclass(frozen=True)
class KeywordPlan:
    """Real cleaning stages and dedup, then the keyword stage (and a failure trigger)."""

    var_dir: str

    def names(self) -> list[str]:
        return [*REAL_STAGES, "keywords", "explode"]

    def build(self, names: Sequence[str], store: Any) -> list[BoundStage]:
        ctx = StageContext(settings=Settings(var_dir=Path(self.var_dir)), store=store)
        out = []
        for name in names:
            if name == "keywords":
                out.append(BoundStage("keywords", ("document",), ("hazards", "is_risk"), keyword_stage))
            elif name == "explode":
                out.append(BoundStage("explode", ("document",), (), _explode))
            else:
                out.append(build_stage(name, ctx))
        return out

    def contracts(self) -> dict[str, tuple[tuple[str, ...], tuple[str, ...]]]:
        known = {name: (reg.reads, reg.writes) for name, reg in registered().items()}
        return {**known, "keywords": (("document",), ("hazards", "is_risk")), "explode": (("document",), ())}


TEXTS = [
    "这个充电宝充电时外壳很烫，晚上突然起火了，差点烧到床单。",
    "电热水壶漏电，孩子触碰后受伤送医。",
    "质量很好，物流很快，充电速度也不错。",
    "电动车电池自燃，楼道里全是烟，联系电话13812345678。",
    "衣服尺码合适，颜色好看。",
]


def _documents(n: int) -> list[RawDocument]:
    docs = []
    for i in range(n):
        text = TEXTS[i % len(TEXTS)]
        if i % 7 == 3:
            text = text + f"第{i}次反馈"  # near duplicates across batches
        docs.append(
            RawDocument(source="test", source_type=SourceType.review, source_id=f"p{i}", text=text, product="样品")
        )
    return docs


def _store(path: Path, docs: list[RawDocument]) -> SQLiteStore:
    store = SQLiteStore(path)
    store.write(Collection.documents, docs)
    return store


def _comparable(store: SQLiteStore) -> list[dict[str, Any]]:
    return [s.model_dump(mode="json", exclude={"processed_at"}) for s in store.iterate(Collection.signals)]


def test_plan_steps_isolate_order_dependent_stages() -> None:
    assert plan_steps(["normalize", "denoise", "dedup", "segment", "tag"]) == [
        Step(("normalize", "denoise"), True),
        Step(("dedup",), False),
        Step(("segment", "tag"), True),
    ]
    assert plan_steps(["dedup"]) == [Step(("dedup",), False)]
    assert plan_steps(["a", "b"], frozenset()) == [Step(("a", "b"), True)]


def test_dedup_is_hoisted_after_the_stages_that_do_not_need_it() -> None:
    contracts = {name: (reg.reads, reg.writes) for name, reg in registered().items()}
    names = ["normalize", "denoise", "dedup", "segment", "tag", "classify", "grade"]
    # tag may fill normalized_text, which dedup reads: a copy is taken where dedup stood
    assert hoisted_steps(names, contracts) == [
        Step(("normalize", "denoise", "segment", "tag", "classify", "grade"), True, ((2, ("normalized_text",)),)),
        Step(("dedup",), False, view=0),
    ]
    # a later stage reading what dedup writes keeps it in place; so does a stage of unknown contract
    needy = {**contracts, "spread": (("duplicate_group",), ("weight",))}
    assert hoisted_steps(["normalize", "dedup", "spread"], needy) is None
    assert hoisted_steps(["normalize", "dedup", "mystery"], contracts) is None
    assert hoisted_steps(["normalize", "segment"], contracts) is None  # nothing to hoist


def test_two_workers_give_the_same_signals_as_one_process(tmp_path: Path) -> None:
    docs = _documents(120)
    one = _store(tmp_path / "one.sqlite3", docs)
    two = _store(tmp_path / "two.sqlite3", docs)
    try:
        single_plan = KeywordPlan(str(tmp_path / "var1"))
        pipeline = Pipeline(single_plan.build(single_plan.names(), one))
        ref = process_documents(one, pipeline, batch_size=16)  # the pending documents, in id order
        seen: list[int] = []
        processor = ParallelProcessor(KeywordPlan(str(tmp_path / "var2")), 2)
        rep = processor.process_documents(two, batch_size=16, progress=seen.append)
        assert seen == [16] * 7 + [8]
        assert processor._rows is not None and processor._rows[1].late == ("duplicate_group", "is_duplicate")
        assert (rep.processed, rep.risks, rep.duplicates, rep.noisy) == (120, ref.risks, ref.duplicates, ref.noisy)
        assert rep.duplicates > 0 and rep.risks > 0
        assert _comparable(two) == _comparable(one)
        # the masked phone number was written back to the stored documents by the parent
        masked = [d for d in two.iterate(Collection.documents) if "电动车" in d.text]
        assert masked and all("13812345678" not in d.text for d in masked)
        assert set(rep.stage_seconds) == {*REAL_STAGES, "keywords", "explode"}
        assert processor.process_documents(two).processed == 0  # nothing pending any more
    finally:
        one.close()
        two.close()


def test_one_pool_serves_several_submissions_like_serial_runs(tmp_path: Path) -> None:
    docs = _documents(90)
    one = _store(tmp_path / "one.sqlite3", docs)
    two = _store(tmp_path / "two.sqlite3", docs)
    three = _store(tmp_path / "three.sqlite3", docs)
    ids = [d.id for d in docs]
    parts = (ids[:50], ids[50:])  # the second submission meets near duplicates of the first
    try:
        plan = KeywordPlan(str(tmp_path / "var1"))
        pipeline = Pipeline(plan.build(plan.names(), one))
        for part in parts:
            process_documents(one, pipeline, part, batch_size=16)
        with ParallelProcessor(KeywordPlan(str(tmp_path / "var2")), 2) as processor:
            assert processor.hoisted
            pool = processor._pool
            reports = [processor.process_documents(two, part, batch_size=16) for part in parts]
            assert processor._pool is pool  # the workers started once
        assert processor._pool is None
        assert [r.processed for r in reports] == [50, 40]
        assert _comparable(two) == _comparable(one)
        # the order-dependent stage kept in place (two trips to the workers) gives the same again
        with ParallelProcessor(KeywordPlan(str(tmp_path / "var3")), 2, hoist=False) as in_place:
            assert not in_place.hoisted
            for part in parts:
                in_place.process_documents(three, part, batch_size=16)
        assert _comparable(three) == _comparable(one)
    finally:
        one.close()
        two.close()
        three.close()


def test_a_failing_stage_names_the_batch(tmp_path: Path) -> None:
    bad = RawDocument(source="test", source_type=SourceType.review, source_id="bad", text="这一条会触发异常的评论")
    docs = [*_documents(20), bad]
    store = _store(tmp_path / "s.sqlite3", docs)
    try:
        ids = [d.id for d in docs]
        with pytest.raises(ParallelProcessingError, match=r"a stage failed on batch 3 .*ValueError: cannot handle"):
            ParallelProcessor(KeywordPlan(str(tmp_path / "v")), 2).process_documents(store, ids, batch_size=10)
        assert store.count(Collection.signals) == 20  # the batches before were written
    finally:
        store.close()


def test_a_dead_worker_is_reported(tmp_path: Path) -> None:
    docs = [*_documents(6), RawDocument(source="t", source_type=SourceType.review, source_id="x", text="触发崩溃")]
    store = _store(tmp_path / "s.sqlite3", docs)
    good = [d.id for d in docs[:6]]
    try:
        with ParallelProcessor(KeywordPlan(str(tmp_path / "v")), 2) as processor:
            with pytest.raises(WorkerCrashError, match="a worker process died"):
                processor.process_documents(store, [d.id for d in docs], batch_size=4)
            # nothing half-written: the first batch is stored whole or not at all, the crashing one not
            written = {s.id for s in store.iterate(Collection.signals)}
            assert written in (set(), set(good[:4]))
            assert processor._pool is None  # the broken pool was dropped
            rep = processor.process_documents(store, good, batch_size=4)  # a fresh pool finishes the job
        assert rep.processed == 6 and {s.id for s in store.iterate(Collection.signals)} == set(good)
    finally:
        store.close()


def test_workers_must_be_positive(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="at least 1"):
        ParallelProcessor(KeywordPlan(str(tmp_path)), 0)


class _CountingStore(SQLiteStore):
    """A SQLite store that counts the documents written to it (the parent writes; workers never do)."""

    documents_written = 0

    def write(self, collection: Collection, records: Any, *args: Any, **kwargs: Any) -> Any:
        records = list(records)
        if collection is Collection.documents:
            self.documents_written += len(records)
        return super().write(collection, records, *args, **kwargs)

    def write_prepared(self, batches: Any, *args: Any, **kwargs: Any) -> Any:
        self.documents_written += sum(len(b.ids) for b in batches if b.collection is Collection.documents)
        return super().write_prepared(batches, *args, **kwargs)


def test_the_parent_writes_back_only_the_documents_a_stage_changed(tmp_path: Path) -> None:
    """The workers serialise the documents as they came, so that the parent, which only writes, rewrites the
    masked ones alone (the phone number is masked in every fifth document)."""
    docs = _documents(40)
    store = _CountingStore(tmp_path / "s.sqlite3")
    store.write(Collection.documents, docs)
    store.documents_written = 0
    try:
        with ParallelProcessor(KeywordPlan(str(tmp_path / "var")), 2) as processor:
            assert processor.process_documents(store, batch_size=8).processed == 40
        masked = [d for d in docs if "13812345678" in d.text]
        assert len(masked) == 8 and store.documents_written == len(masked)
        assert all("13812345678" not in d.text for d in store.iterate(Collection.documents))
    finally:
        store.close()


class _PlainWriteStore(SQLiteStore):
    """A SQLite store whose rows cannot be made apart: the workers send the signals back and the parent writes them."""

    row_preparer = None


def test_workers_make_the_rows_or_send_the_signals_with_the_same_result(tmp_path: Path) -> None:
    """With a store that prepares rows apart the workers make them and the parent only inserts them (dedup's
    answers filled in); without, the workers send the signals and the parent writes them: the same rows."""
    docs = _documents(60)
    rows = _store(tmp_path / "rows.sqlite3", docs)
    plain = _PlainWriteStore(tmp_path / "plain.sqlite3")
    plain.write(Collection.documents, docs)
    try:
        reports = []
        for store, var in ((rows, "v1"), (plain, "v2")):
            with ParallelProcessor(KeywordPlan(str(tmp_path / var)), 2) as processor:
                reports.append(processor.process_documents(store, batch_size=16))
                assert (processor._rows is not None) is (store is rows)
        assert [(r.processed, r.risks, r.duplicates, r.noisy) for r in reports] == [
            (reports[1].processed, reports[1].risks, reports[1].duplicates, reports[1].noisy)
        ] * 2
        assert reports[0].duplicates > 0
        assert _comparable(rows) == _comparable(plain)
        for c in (Collection.signals, Collection.documents):  # the index rows too: the same records are found
            for filters in ({"is_duplicate": True}, {"is_risk": True}, {"noisy": False}):
                if c is Collection.signals:
                    assert rows.count(c, filters=filters) == plain.count(c, filters=filters)
            assert rows.count(c, text="充电宝") == plain.count(c, text="充电宝") > 0
        assert [d.text for d in rows.iterate(Collection.documents)] == [
            d.text for d in plain.iterate(Collection.documents)
        ]
    finally:
        rows.close()
        plain.close()
