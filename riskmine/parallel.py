"""Parallel processing: the NLP stages spread over worker processes, results written by the parent.

How a run goes (``riskmine process --workers N``):

* the stages are cut into **steps**: runs of stages that work on each batch on its own
  go to the workers; an order-dependent stage (:data:`SEQUENTIAL_STAGES`: ``dedup``,
  whose answer for a document depends on every document seen before it) runs in the
  parent, on the batches in document order;
* when the stages' declared contracts allow it (the later parallel stages neither read
  nor write what the order-dependent stage writes), the order-dependent stage is
  **hoisted** after them: each batch then makes one trip to a worker, which runs every
  parallel stage and keeps a copy of the fields the order-dependent stage reads that a
  later stage overwrites (``normalized_text``, which ``tag`` may fill). The parent runs
  the order-dependent stage on a view of each signal with those fields as they were at
  its place in the pipeline, and copies its writes back: the same answer as in place;
* the **pool lives as long as the processor**: N worker processes (``spawn``: no state
  inherited from the parent) each build their stages once, in the pool initializer, so
  models and lexicons load once per worker, and serve every batch of every
  :meth:`ParallelProcessor.process_documents` call until :meth:`ParallelProcessor.close`
  (the processor is a context manager). :meth:`ParallelProcessor.start` starts them
  early, so that loading overlaps the parent's own work;
* the parent reads batches of documents from the store, hands them to the pool (a free
  worker takes the next batch, so each gets work in proportion to its speed), applies the
  order-dependent steps in order as results come back, and writes the signals itself (so
  SQLite has a single writer), batch after batch in document order. At most ``2 × N + 1``
  batches are in flight, which bounds memory;
* when the store can make its rows apart (:class:`~riskmine.store.base.PreparedWriter`, the SQLite
  store), the workers of the last parallel step make them (JSON bodies, facets, full-text columns, the
  changed documents' rows) and send those back rather than the signals: the parent's share, which
  two workers cannot spread (issue 18), is then the order-dependent stages, run on **views** holding
  only the fields they read, the gaps their writes fill in the rows, and the inserts, one transaction per
  batch. Rows the store cannot make apart (an index reading a field the parent writes) fall back to
  sending the signals;
* results are the same as a one-process run over the same batches: the batches are the
  same, each parallel stage only sees its batch, and the order-dependent stages see the
  batches in the same order;
* an exception in a stage is re-raised as :class:`ParallelProcessingError` naming the
  batch; a worker that dies (killed, out of memory) raises :class:`WorkerCrashError` and
  the broken pool is dropped (the next call starts a fresh one). Either way, batches
  written before stay written and the rest stay pending (no batch is half-written), so
  running ``riskmine process`` again finishes the job.

(``multiprocessing.Pool.imap_unordered`` would hand out batches the same way, but it hangs
for ever when a worker is killed; :class:`~concurrent.futures.ProcessPoolExecutor` notices.)
"""

from __future__ import annotations

import copy
import multiprocessing
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from typing import Any, Protocol

from riskmine.nlp.base import BoundStage, StageContext, build_stage, field_root, registered
from riskmine.pipeline import Pipeline, StageSpec, load_config
from riskmine.processing import ProcessReport, pending_document_ids, store_signals
from riskmine.schema import RawDocument, Signal
from riskmine.schema.errors import RiskmineError
from riskmine.settings import Settings
from riskmine.store.base import Collection, DuplicatePolicy, PreparedWriter, Store

# Stages whose result for a document depends on the documents processed before it.
SEQUENTIAL_STAGES = frozenset({"dedup"})

Contract = tuple[tuple[str, ...], tuple[str, ...]]  # a stage's declared (reads, writes)


class ParallelProcessingError(RiskmineError, RuntimeError):
    code = "processing_failed"
    status = 500


class WorkerCrashError(ParallelProcessingError):
    code = "worker_crashed"


class StagePlan(Protocol):
    """Which stages to run, buildable in any process (it must pickle: it travels to the workers)."""

    def names(self) -> list[str]: ...

    def build(self, names: Sequence[str], store: Store | None) -> list[BoundStage]: ...

    def contracts(self) -> dict[str, Contract]:
        """The declared reads and writes of the stages it knows (a stage left out is never reordered)."""
        ...


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

    def contracts(self) -> dict[str, Contract]:
        return {name: (reg.reads, reg.writes) for name, reg in registered().items()}


@dataclass(frozen=True)
class Step:
    names: tuple[str, ...]
    parallel: bool
    # parallel step: (position in names, fields) — copies of these fields taken before that stage runs;
    # sequential step: the index of the capture (in its parallel step's list) its view is built from
    captures: tuple[tuple[int, tuple[str, ...]], ...] = ()
    view: int | None = None


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


def _roots(fields: Sequence[str]) -> set[str]:
    return {field_root(f) for f in fields}


def hoisted_steps(
    names: Sequence[str], contracts: Mapping[str, Contract], sequential: frozenset[str] = SEQUENTIAL_STAGES
) -> list[Step] | None:
    """One parallel step with every parallel stage, then the sequential stages in order (each on a view of
    the signals as they were at its place); None when the declared contracts do not allow it."""
    if not any(n in sequential for n in names) or any(n not in contracts for n in names):
        return None
    parallel = [n for n in names if n not in sequential]
    captures: list[tuple[int, tuple[str, ...]]] = []
    for i, name in enumerate(names):
        if name not in sequential:
            continue
        reads, writes = (_roots(f) for f in contracts[name])
        later = [n for n in names[i + 1 :] if n not in sequential]
        for other in later:
            o_reads, o_writes = (_roots(f) for f in contracts[other])
            if writes & (o_reads | o_writes):
                return None  # a later stage needs (or overwrites) what this one writes
        overwritten = set().union(*(_roots(contracts[o][1]) for o in later)) if later else set()
        position = sum(1 for n in names[:i] if n not in sequential)
        captures.append((position, tuple(sorted(reads & overwritten))))
    steps = [Step(tuple(parallel), True, tuple(captures))] if parallel else []
    seq = [n for n in names if n in sequential]
    steps.extend(Step((n,), False, view=k if parallel else None) for k, n in enumerate(seq))
    return steps


# --- the worker side ------------------------------------------------------------------

_WORKER_STEPS: dict[int, list[tuple[Pipeline, tuple[str, ...] | None]]] = {}
_WORKER_STARTUP = 0.0

Captured = list[list[dict[str, Any]]]  # per capture, per signal: the fields copied


@dataclass(frozen=True)
class RowsSpec:
    """What a worker returns for the last parallel step when the store's rows can be made in the workers
    (:class:`~riskmine.store.base.PreparedWriter`): the rows instead of the signals, which then never travel
    back whole. ``late`` are the fields the order-dependent stages after the step write (left as gaps in the
    rows, filled in by the parent); ``views`` the fields each of them reads, per capture index (the parent runs
    them on views made of these, as it would on the whole signals)."""

    preparer: Any  # the store's row_preparer: a module-level function, sent by name
    late: tuple[str, ...]
    views: tuple[tuple[int, tuple[str, ...]], ...]


@dataclass
class Prepared:
    """A batch's rows made in a worker: signals (with gaps for the late fields) and the changed documents."""

    ids: list[str]
    signals: Any  # the store's prepared rows
    documents: Any | None  # the documents a stage changed, prepared (None: none changed)
    changed: dict[str, str]  # their JSON, by id (the parent's views read them)
    views: list[list[dict[str, Any]]]  # per view index, per signal: the fields the stage reads
    flags: list[tuple[bool, bool, bool]]  # per signal: is_risk, is_duplicate, noisy (as the step left them)


# the signals, the captures, the stages' seconds, (a batch of documents) each document's JSON as it came, and
# the batch's rows when they were made in the worker (then no signals come back)
StepResult = tuple[list[Signal], Captured, dict[str, float], dict[str, str], Prepared | None]


def _init_worker(plan: StagePlan, steps: list[Step]) -> None:
    """Build this worker's stages once (models, lexicons), grouped by step and cut where fields are captured."""
    global _WORKER_STARTUP
    t0 = time.perf_counter()
    wanted = [n for step in steps if step.parallel for n in step.names]
    built = {s.name: s for s in plan.build(wanted, None)}
    for i, step in enumerate(steps):
        if not step.parallel:
            continue
        cuts = dict(step.captures)
        parts: list[tuple[Pipeline, tuple[str, ...] | None]] = []
        start = 0
        for pos in [*sorted(cuts), len(step.names)]:
            stages = [built[n] for n in step.names[start:pos] if n in built]
            parts.append((Pipeline(stages), cuts.get(pos)))
            start = pos
        _WORKER_STEPS[i] = parts
    _WORKER_STARTUP = time.perf_counter() - t0


def _ready() -> float:
    """A no-op task that makes a worker start (and says how long building its stages took)."""
    return _WORKER_STARTUP


def _run_step(
    step: int,
    batch: list[Signal] | list[RawDocument],
    rows: RowsSpec | None = None,
    originals_in: dict[str, str] | None = None,
) -> StepResult:
    # the documents as read, serialised here rather than in the parent (which writes back those a stage changed)
    originals = {d.id: d.model_dump_json() for d in batch if isinstance(d, RawDocument)}
    signals = [Signal.from_document(d) if isinstance(d, RawDocument) else d for d in batch]
    captured: Captured = []
    timings: dict[str, float] = {}
    for pipeline, capture in _WORKER_STEPS[step]:
        pipeline.timings.clear()
        signals = pipeline.run(signals)
        for name, sec in pipeline.timings.items():
            timings[name] = timings.get(name, 0.0) + sec
        if capture is not None:
            captured.append([{f: copy.deepcopy(getattr(s, f)) for f in capture} for s in signals])
    if rows is not None:
        prepared = _prepare(rows, signals, captured, originals or originals_in or {})
        if prepared is not None:
            return [], [], timings, {}, prepared
    return signals, captured, timings, originals, None


def _prepare(rows: RowsSpec, signals: list[Signal], captured: Captured, originals: dict[str, str]) -> Prepared | None:
    """The batch's rows, made here so that the parent only runs the inserts; None when the store cannot make
    them apart (the parent then writes the signals)."""
    prepared = rows.preparer(Collection.signals, signals, rows.late)
    if prepared is None:
        return None
    changed = {}
    for s in signals:
        dumped = s.document.model_dump_json()
        if dumped != originals.get(s.id):
            changed[s.id] = dumped
    documents = None
    if changed:
        documents = rows.preparer(Collection.documents, [s.document for s in signals if s.id in changed], ())
        if documents is None:
            return None
    views = []
    for k, names in rows.views:
        taken = captured[k] if k < len(captured) else [{} for _ in signals]
        views.append(
            [
                {f: c[f] if f in c else getattr(s, f) for f in names if f in c or f != "document"}
                for s, c in zip(signals, taken, strict=True)
            ]
        )
    flags = [(s.is_risk, s.is_duplicate, bool(s.noise)) for s in signals]
    return Prepared([s.id for s in signals], prepared, documents, changed, views, flags)


# --- the parent side ------------------------------------------------------------------


@dataclass
class _Batch:
    number: int
    ids: Sequence[str]
    originals: dict[str, str]
    signals: list[Signal] | list[RawDocument]  # documents until the first step has run
    step: int = 0
    future: Future[StepResult] | None = None
    captured: Captured = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    error: ParallelProcessingError | None = None  # raised when the batch's turn to be written comes
    prepared: Prepared | None = None  # the rows, made by a worker (then `signals` is empty)
    documents: dict[str, RawDocument] = field(default_factory=dict)  # as read (the views' documents)
    late: list[dict[str, Any]] = field(default_factory=list)  # per signal: what the parent's stages wrote

    def size(self) -> int:
        return len(self.prepared.ids) if self.prepared is not None else len(self.signals)


def _context() -> Any:
    return multiprocessing.get_context("spawn")


def _template(batch: _Batch) -> Signal:
    """A signal with every field at its default, copied into the views of a batch whose rows a worker made
    (``model_copy`` with the view's fields: ``model_construct`` inspects every default factory, each time)."""
    return Signal.from_document(next(iter(batch.documents.values())))


def _signals(batch: _Batch) -> list[Signal]:
    return [Signal.from_document(d) if isinstance(d, RawDocument) else d for d in batch.signals]


class ParallelProcessor:
    """Runs a :class:`StagePlan` over stored documents with `workers` processes (see the module notes).

    The worker pool is started on first use (or by :meth:`start`) and kept for every later call until
    :meth:`close`; use the processor as a context manager. ``hoist`` False keeps every order-dependent
    stage in its place (a round trip to the workers on each side of it).
    """

    def __init__(
        self,
        plan: StagePlan,
        workers: int,
        *,
        sequential: frozenset[str] = SEQUENTIAL_STAGES,
        hoist: bool = True,
    ) -> None:
        if workers < 1:
            raise ValueError(f"workers must be at least 1 (got {workers})")
        self.plan = plan
        self.workers = workers
        names = plan.names()
        hoisted = hoisted_steps(names, plan.contracts(), sequential) if hoist else None
        self.hoisted = hoisted is not None
        self.steps = hoisted if hoisted is not None else plan_steps(names, sequential)
        self._pool: ProcessPoolExecutor | None = None
        self._warmup: list[Future[float]] = []
        self._parent: dict[int, Pipeline] | None = None
        self._parent_store: Store | None = None
        self._rows: tuple[int, RowsSpec] | None = None  # this call's step whose rows the workers make
        # where the last call's time went in the parent (seconds): see bench/parallel_process.py
        self.profile: dict[str, float] = {}

    # -- the pool

    def start(self) -> ParallelProcessor:
        """Start the workers now (they build their stages while the caller goes on); idempotent."""
        if self._pool is None:
            self._pool = ProcessPoolExecutor(
                max_workers=self.workers,
                mp_context=_context(),
                initializer=_init_worker,
                initargs=(self.plan, self.steps),
            )
            self._warmup = [self._pool.submit(_ready) for _ in range(self.workers)]
        return self

    def close(self) -> None:
        """Stop the workers (waits for them to exit); the next call would start new ones."""
        pool, self._pool, self._warmup = self._pool, None, []
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)

    def __enter__(self) -> ParallelProcessor:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _sequential(self, store: Store) -> dict[int, Pipeline]:
        """The order-dependent stages, built once per store in the parent (they keep their memory across calls)."""
        if self._parent is None or self._parent_store is not store:
            names = [n for s in self.steps if not s.parallel for n in s.names]
            built = {s.name: s for s in self.plan.build(names, store)} if names else {}
            self._parent = {
                i: Pipeline([built[n] for n in s.names]) for i, s in enumerate(self.steps) if not s.parallel
            }
            self._parent_store = store
        return self._parent

    # -- a run

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
        prof = self.profile = dict.fromkeys(("read", "sequential", "write", "idle", "startup"), 0.0)
        ids = list(document_ids) if document_ids is not None else pending_document_ids(store)
        report = ProcessReport()
        if not ids:
            return report
        pool = self.start()._pool
        assert pool is not None
        chunks = deque(ids[i : i + batch_size] for i in range(0, len(ids), batch_size))
        parent = self._sequential(store)
        self._rows = self._rows_spec(store, parent)
        next_in_order = {i: 0 for i in parent}  # the batch number each sequential step takes next
        pending: deque[_Batch] = deque()
        number = 0
        try:
            while chunks or pending:
                while chunks and len(pending) < 2 * self.workers + 1:
                    t = time.perf_counter()
                    chunk = chunks.popleft()
                    docs: list[RawDocument] = store.get_many(Collection.documents, chunk)
                    # the first step's workers serialise the documents as read, unless the parent runs it
                    originals = {} if self.steps[0].parallel else {d.id: d.model_dump_json() for d in docs}
                    batch = _Batch(number, chunk, originals, docs)
                    prof["read"] += time.perf_counter() - t
                    number += 1
                    pending.append(batch)
                moved = False
                for batch in pending:
                    moved |= self._advance(batch, pool, parent, next_in_order)
                if pending and pending[0].error is not None:
                    raise pending[0].error  # every batch before it is written
                while pending and pending[0].step == len(self.steps) and pending[0].future is None:
                    t = time.perf_counter()
                    done = pending.popleft()
                    self._write(store, done, report)
                    prof["write"] += time.perf_counter() - t
                    if progress:
                        progress(done.size())
                    moved = True
                if not moved:
                    running = [b.future for b in pending if b.future is not None]
                    if running:
                        t = time.perf_counter()
                        wait(running, timeout=1.0, return_when=FIRST_COMPLETED)
                        prof["idle"] += time.perf_counter() - t
        except BaseException as exc:
            for batch in pending:
                if batch.future is not None:
                    batch.future.cancel()
            if isinstance(exc, WorkerCrashError):
                self.close()  # a dead worker broke the pool: the next call starts a fresh one
            raise
        done_warmup = [f.result() for f in self._warmup if f.done() and f.exception() is None]
        prof["startup"] = max(done_warmup, default=0.0)
        report.seconds = time.perf_counter() - t0
        return report

    def _rows_spec(self, store: Store, parent: dict[int, Pipeline]) -> tuple[int, RowsSpec] | None:
        """The last parallel step, and what its workers send back, when they can make the store's rows: the store
        prepares rows apart and every step after it is an order-dependent stage hoisted (run on views)."""
        if not isinstance(store, PreparedWriter) or store.row_preparer is None:
            return None
        parallel = [i for i, s in enumerate(self.steps) if s.parallel]
        if not parallel or any(s.view is None for s in self.steps[parallel[-1] + 1 :]):
            return None
        after = range(parallel[-1] + 1, len(self.steps))
        late = sorted({field_root(w) for i in after for st in parent[i].stages for w in st.writes})
        views = []
        for i in after:
            view = self.steps[i].view
            assert view is not None
            reads = {field_root(r) for st in parent[i].stages for r in st.reads} - {"id"}
            views.append((view, tuple(sorted(reads))))
        return parallel[-1], RowsSpec(store.row_preparer, tuple(late), tuple(views))

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
                signals, batch.captured, timings, originals, prepared = self._result(batch)
            except ParallelProcessingError as exc:  # kept until the batches before it are written
                batch.error, batch.future = exc, None
                return True
            if prepared is not None:
                batch.documents = {d.id: d if isinstance(d, RawDocument) else d.document for d in batch.signals}
                batch.prepared = prepared
                batch.late = [{} for _ in prepared.ids]
            batch.signals = signals
            self._add_timings(batch, timings)
            batch.originals = originals or batch.originals
            batch.future = None
            batch.step += 1
            moved = True
        while batch.step < len(self.steps):
            step = self.steps[batch.step]
            if step.parallel:
                if batch.signals:
                    if self._rows is not None and self._rows[0] == batch.step:
                        rows = self._rows[1]
                        batch.future = pool.submit(_run_step, batch.step, batch.signals, rows, batch.originals)
                    else:
                        batch.future = pool.submit(_run_step, batch.step, batch.signals)
                    return True
                batch.step += 1
                continue
            if next_in_order[batch.step] != batch.number:
                return moved  # an earlier batch has not passed this step yet
            t = time.perf_counter()
            self._run_sequential(batch, step, parent[batch.step])
            self.profile["sequential"] += time.perf_counter() - t
            next_in_order[batch.step] += 1
            batch.step += 1
            moved = True
        return moved

    @staticmethod
    def _add_timings(batch: _Batch, timings: dict[str, float]) -> None:
        for name, sec in timings.items():
            batch.timings[name] = batch.timings.get(name, 0.0) + sec

    def _run_sequential(self, batch: _Batch, step: Step, pipeline: Pipeline) -> None:
        if batch.prepared is not None:
            self._run_on_views(batch, step, pipeline)
            return
        signals = _signals(batch)
        pipeline.timings.clear()
        if step.view is None:
            batch.signals = pipeline.run(signals)
        else:  # hoisted: run on the signals as they were at the stage's place, then take its writes
            views = [s.model_copy(update=c) for s, c in zip(signals, batch.captured[step.view], strict=True)]
            views = pipeline.run(views)
            if len(views) != len(signals):
                raise ParallelProcessingError(f"stage {step.names} returned {len(views)} of {len(signals)} signals")
            writes = {field_root(w) for st in pipeline.stages for w in st.writes}
            for sig, view in zip(signals, views, strict=True):
                for name in writes:
                    setattr(sig, name, getattr(view, name))
            batch.signals = signals
        self._add_timings(batch, pipeline.timings)

    def _run_on_views(self, batch: _Batch, step: Step, pipeline: Pipeline) -> None:
        """An order-dependent step on views of signals whose rows a worker made: each view holds the fields the
        stage reads (as at its place in the pipeline); what it writes is kept for completing the rows."""
        prep = batch.prepared
        assert prep is not None and step.view is not None
        assert self._rows is not None
        k = next(n for n, (view, _) in enumerate(self._rows[1].views) if view == step.view)
        captures = self.steps[self._rows[0]].captures
        # as at the stage's place: the fields copied there, else what earlier order-dependent stages wrote
        kept = set(captures[step.view][1]) if step.view < len(captures) else set()
        changed = {i: RawDocument.model_validate_json(j) for i, j in prep.changed.items()}
        writes = {field_root(w) for st in pipeline.stages for w in st.writes}
        template = _template(batch)
        views = []
        for sig_id, fields, late in zip(prep.ids, prep.views[k], batch.late, strict=True):
            values = {**fields, **{f: v for f, v in late.items() if f not in kept}}
            if "document" not in values:
                values["document"] = changed.get(sig_id) or batch.documents[sig_id]
            for name in writes - values.keys():  # its own copy of what the stage writes (never the template's)
                values[name] = copy.deepcopy(getattr(template, name))
            views.append(template.model_copy(update={"id": sig_id, **values}))
        pipeline.timings.clear()
        views = pipeline.run(views)
        if len(views) != len(prep.ids):
            raise ParallelProcessingError(f"stage {step.names} returned {len(views)} of {len(prep.ids)} signals")
        for late, view in zip(batch.late, views, strict=True):
            for name in writes:
                late[name] = getattr(view, name)
        self._add_timings(batch, pipeline.timings)

    def _result(self, batch: _Batch) -> StepResult:
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
        prep = batch.prepared
        if prep is None:
            store_signals(store, _signals(batch), batch.originals, report)
        else:  # the rows the worker made, completed with what the parent's stages wrote: inserts only
            assert isinstance(store, PreparedWriter)
            template = _template(batch)
            late = [
                template.model_copy(update={"id": i, **values}) for i, values in zip(prep.ids, batch.late, strict=True)
            ]
            rows = [prep.signals.complete(late)]
            if prep.documents is not None:
                rows.append(prep.documents)
            store.write_prepared(rows, DuplicatePolicy.overwrite)
            for (risk, duplicate, noisy), values in zip(prep.flags, batch.late, strict=True):
                report.risks += values.get("is_risk", risk)
                report.duplicates += values.get("is_duplicate", duplicate)
                report.noisy += bool(values["noise"]) if "noise" in values else noisy
            report.processed += len(prep.ids)
        for name, sec in batch.timings.items():
            report.stage_seconds[name] = report.stage_seconds.get(name, 0.0) + sec
