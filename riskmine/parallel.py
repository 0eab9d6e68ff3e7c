"""Parallel processing: the NLP stages spread over worker processes, results written by the parent.

How a run goes (``riskmine process --workers N``):

* the stages are cut into **steps**: runs of stages that work on each batch on its own
  go to the workers; an order-dependent stage (:data:`SEQUENTIAL_STAGES`: ``dedup``,
  whose answer for a document depends on every document seen before it) runs in the
  parent, on the batches in document order;
* N worker processes (``spawn``: no state inherited from the parent) each build their
  stages once, in the pool initializer, so models and lexicons load once per worker;
* the parent reads batches of documents from the store, sends them to the workers,
  applies the sequential steps in order, and writes the signals itself (so SQLite has a
  single writer), batch after batch in document order. At most ``2 × N`` batches are in
  flight, which bounds memory;
* results are the same as a one-process run over the same batches: the batches are the
  same, each parallel stage only sees its batch, and the order-dependent stages see the
  batches in the same order;
* an exception in a stage is re-raised as :class:`ParallelProcessingError` naming the
  batch; a worker that dies (killed, out of memory) raises :class:`WorkerCrashError`.
  Either way, batches written before stay written and the rest stay pending, so running
  ``riskmine process`` again finishes the job.
"""

from __future__ import annotations

import multiprocessing
import time
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from typing import Any, Protocol

from riskmine.nlp.base import BoundStage, StageContext, build_stage
from riskmine.pipeline import Pipeline, StageSpec, load_config
from riskmine.processing import ProcessReport, pending_document_ids, store_signals
from riskmine.schema import RawDocument, Signal
from riskmine.schema.errors import RiskmineError
from riskmine.settings import Settings
from riskmine.store.base import Collection, Store

# Stages whose result for a document depends on the documents processed before it.
SEQUENTIAL_STAGES = frozenset({"dedup"})


class ParallelProcessingError(RiskmineError, RuntimeError):
    code = "processing_failed"
    status = 500


class WorkerCrashError(ParallelProcessingError):
    code = "worker_crashed"


class StagePlan(Protocol):
    """Which stages to run, buildable in any process (it must pickle: it travels to the workers)."""

    def names(self) -> list[str]: ...

    def build(self, names: Sequence[str], store: Store | None) -> list[BoundStage]: ...


@dataclass(frozen=True)
class ConfiguredStages:
    """The configured pipeline (settings.pipeline_file, less the disabled stages)."""

    settings: Settings

    def _specs(self) -> list[StageSpec]:
        off = self.settings.disabled
        return [s for s in load_config(self.settings.pipeline_file) if s.enabled and s.name not in off]

    def names(self) -> list[str]:
        return [s.name for s in self._specs()]

    def build(self, names: Sequence[str], store: Store | None) -> list[BoundStage]:
        wanted = set(names)
        ctx = StageContext(settings=self.settings, store=store)
        return [build_stage(s.name, ctx, s.options) for s in self._specs() if s.name in wanted]


@dataclass(frozen=True)
class Step:
    names: tuple[str, ...]
    parallel: bool


def plan_steps(names: Sequence[str], sequential: frozenset[str] = SEQUENTIAL_STAGES) -> list[Step]:
    """The stage names cut into steps: runs of parallel stages, each sequential stage on its own."""
    steps: list[Step] = []
    run: list[str] = []
    for name in names:
        if name in sequential:
            if run:
                steps.append(Step(tuple(run), True))
                run = []
            steps.append(Step((name,), False))
        else:
            run.append(name)
    if run:
        steps.append(Step(tuple(run), True))
    return steps


# --- the worker side ------------------------------------------------------------------

_WORKER_STEPS: dict[int, Pipeline] = {}


def _init_worker(plan: StagePlan, steps: list[Step]) -> None:
    """Build this worker's stages once (models, lexicons), grouped by step."""
    wanted = [n for step in steps if step.parallel for n in step.names]
    built = {s.name: s for s in plan.build(wanted, None)}
    for i, step in enumerate(steps):
        if step.parallel:
            _WORKER_STEPS[i] = Pipeline([built[n] for n in step.names if n in built])


def _run_step(step: int, batch: list[Signal]) -> tuple[list[Signal], dict[str, float]]:
    pipeline = _WORKER_STEPS[step]
    pipeline.timings.clear()
    out = pipeline.run(batch)
    return out, dict(pipeline.timings)


# --- the parent side ------------------------------------------------------------------


@dataclass
class _Batch:
    number: int
    ids: Sequence[str]
    originals: dict[str, str]
    signals: list[Signal]
    step: int = 0
    future: Future[tuple[list[Signal], dict[str, float]]] | None = None
    timings: dict[str, float] = field(default_factory=dict)
    error: ParallelProcessingError | None = None  # raised when the batch's turn to be written comes


def _context() -> Any:
    return multiprocessing.get_context("spawn")


class ParallelProcessor:
    """Runs a :class:`StagePlan` over stored documents with `workers` processes (see the module notes)."""

    def __init__(
        self,
        plan: StagePlan,
        workers: int,
        *,
        sequential: frozenset[str] = SEQUENTIAL_STAGES,
    ) -> None:
        if workers < 1:
            raise ValueError(f"workers must be at least 1 (got {workers})")
        self.plan = plan
        self.workers = workers
        self.steps = plan_steps(plan.names(), sequential)

    def process_documents(
        self,
        store: Store,
        document_ids: Sequence[str] | None = None,
        *,
        batch_size: int = 256,
        progress: Callable[[int], None] | None = None,
    ) -> ProcessReport:
        """Process the documents (default: all not yet processed) and store their signals."""
        t0 = time.perf_counter()
        ids = list(document_ids) if document_ids is not None else pending_document_ids(store)
        report = ProcessReport()
        if not ids:
            return report
        chunks = deque(ids[i : i + batch_size] for i in range(0, len(ids), batch_size))
        seq_names = [n for s in self.steps if not s.parallel for n in s.names]
        seq_stages = {s.name: s for s in self.plan.build(seq_names, store)} if seq_names else {}
        parent = {i: Pipeline([seq_stages[n] for n in s.names]) for i, s in enumerate(self.steps) if not s.parallel}
        next_in_order = {i: 0 for i in parent}  # the batch number each sequential step takes next
        pool = ProcessPoolExecutor(
            max_workers=self.workers,
            mp_context=_context(),
            initializer=_init_worker,
            initargs=(self.plan, self.steps),
        )
        pending: deque[_Batch] = deque()
        number = 0
        try:
            while chunks or pending:
                while chunks and len(pending) < 2 * self.workers:
                    chunk = chunks.popleft()
                    docs: list[RawDocument] = store.get_many(Collection.documents, chunk)
                    batch = _Batch(
                        number,
                        chunk,
                        {d.id: d.model_dump_json() for d in docs},
                        [Signal.from_document(d) for d in docs],
                    )
                    number += 1
                    pending.append(batch)
                moved = False
                for batch in pending:
                    moved |= self._advance(batch, pool, parent, next_in_order)
                if pending and pending[0].error is not None:
                    raise pending[0].error  # every batch before it is written
                while pending and pending[0].step == len(self.steps) and pending[0].future is None:
                    done = pending.popleft()
                    self._write(store, done, report)
                    if progress:
                        progress(len(done.signals))
                    moved = True
                if not moved:
                    running = [b.future for b in pending if b.future is not None]
                    if running:
                        wait(running, timeout=1.0, return_when=FIRST_COMPLETED)
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
        report.seconds = time.perf_counter() - t0
        return report

    def _advance(
        self,
        batch: _Batch,
        pool: ProcessPoolExecutor,
        parent: dict[int, Pipeline],
        next_in_order: dict[int, int],
    ) -> bool:
        """Move a batch on as far as it can go now; True if it moved."""
        moved = False
        if batch.error is not None:
            return False
        if batch.future is not None:
            if not batch.future.done():
                return False
            try:
                batch.signals, timings = self._result(batch)
            except ParallelProcessingError as exc:  # kept until the batches before it are written
                batch.error, batch.future = exc, None
                return True
            for name, sec in timings.items():
                batch.timings[name] = batch.timings.get(name, 0.0) + sec
            batch.future = None
            batch.step += 1
            moved = True
        while batch.step < len(self.steps):
            step = self.steps[batch.step]
            if step.parallel:
                if batch.signals:
                    batch.future = pool.submit(_run_step, batch.step, batch.signals)
                    return True
                batch.step += 1
                continue
            if next_in_order[batch.step] != batch.number:
                return moved  # an earlier batch has not passed this step yet
            pipeline = parent[batch.step]
            pipeline.timings.clear()
            batch.signals = pipeline.run(batch.signals)
            for name, sec in pipeline.timings.items():
                batch.timings[name] = batch.timings.get(name, 0.0) + sec
            next_in_order[batch.step] += 1
            batch.step += 1
            moved = True
        return moved

    def _result(self, batch: _Batch) -> tuple[list[Signal], dict[str, float]]:
        assert batch.future is not None
        where = f"batch {batch.number + 1} (documents {batch.ids[0]} … {batch.ids[-1]})"
        try:
            return batch.future.result()
        except BrokenProcessPool as exc:
            raise WorkerCrashError(
                f"a worker process died while processing {where}: {exc or 'killed or out of memory'}; "
                "earlier batches are stored, run `riskmine process` again for the rest"
            ) from exc
        except Exception as exc:
            raise ParallelProcessingError(f"a stage failed on {where}: {type(exc).__name__}: {exc}") from exc

    @staticmethod
    def _write(store: Store, batch: _Batch, report: ProcessReport) -> None:
        store_signals(store, batch.signals, batch.originals, report)
        for name, sec in batch.timings.items():
            report.stage_seconds[name] = report.stage_seconds.get(name, 0.0) + sec
