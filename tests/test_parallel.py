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

from riskmine.nlp.base import BoundStage, StageContext, build_stage
from riskmine.parallel import (
    ParallelProcessingError,
    ParallelProcessor,
    Step,
    WorkerCrashError,
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
    try:
        with pytest.raises(WorkerCrashError, match="a worker process died"):
            ParallelProcessor(KeywordPlan(str(tmp_path / "v")), 2).process_documents(
                store, [d.id for d in docs], batch_size=4
            )
    finally:
        store.close()


def test_workers_must_be_positive(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="at least 1"):
        ParallelProcessor(KeywordPlan(str(tmp_path)), 0)
