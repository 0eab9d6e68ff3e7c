"""The one submission service: every way text enters riskmine goes through :class:`Submission`.

``riskmine ingest`` and ``riskmine process``, the document, station and public-report routers, the
scenario runner and the crawler's item pipeline all submit through it, so the steps are written once
and happen in one order, under one lock:

1. **ingest**: rows (API bodies, crawled items), a feed file (station uploads, ``riskmine ingest``)
   or ready documents (public reports) are checked and stored; bad rows are rejected by row, and
   nothing already accepted is lost;
2. **process**: the NLP stages over the new documents, in this process (:class:`SerialProcessor`) or
   in worker processes (:class:`riskmine.parallel.ParallelProcessor`), signals stored;
3. **refresh** the candidate risks those signals touch (incremental);
4. **update the graph** with the new signals (one load and one save per submission).

Every submission that is to be processed keeps a journal entry (:mod:`riskmine.store.journal`) of the
documents it stored until candidates and graph are up to date; a later submission adopts the entries a
killed process left behind, so a rerun after any interruption gives the uninterrupted result. A row whose
document is stored already but was never processed (an interrupted earlier try) is processed now.

A submission without a processor only stores (the crawler: processing follows the crawl).

With a task queue (``RISKMINE_QUEUE_URL``, :mod:`riskmine.queue`) step 2 onwards is a task: the stored
documents' ids are sent to the queue and a ``riskmine worker`` runs :meth:`Submission.process_task` on them.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

from riskmine.ingest import IngestReport, ingest_path, ingest_rows
from riskmine.knowledge_graph.priority import PriorityConfig, config_from_settings
from riskmine.pipeline import Pipeline
from riskmine.processing import (
    ProcessReport,
    pending_document_ids,
    process_documents,
    refresh_candidates,
    unprocessed,
)
from riskmine.queue import PendingRefresh, TaskQueue, task_queue
from riskmine.schema import RawDocument, SourceType
from riskmine.settings import Settings
from riskmine.store.base import Collection, DuplicatePolicy, Store
from riskmine.store.journal import JournalEntry, WorkJournal, work_journal
from riskmine.store.locks import write_lock_for

Progress = Callable[[int], None]
log = logging.getLogger(__name__)


def _value(source_type: SourceType | str | None) -> str | None:
    return source_type.value if isinstance(source_type, SourceType) else source_type


class Processor(Protocol):
    """Runs the NLP stages over stored documents and stores their signals."""

    def process_documents(
        self,
        store: Store,
        document_ids: Sequence[str] | None = None,
        *,
        batch_size: int = 256,
        progress: Progress | None = None,
    ) -> ProcessReport: ...


class SerialProcessor:
    """The stages of one :class:`~riskmine.pipeline.Pipeline`, run in this process."""

    def __init__(self, pipeline: Pipeline) -> None:
        self.pipeline = pipeline

    def process_documents(
        self,
        store: Store,
        document_ids: Sequence[str] | None = None,
        *,
        batch_size: int = 256,
        progress: Progress | None = None,
    ) -> ProcessReport:
        return process_documents(store, self.pipeline, document_ids, batch_size=batch_size, progress=progress)


@dataclass
class Outcome:
    """What one submission did: the ingest report (none when only processing), processing, candidates."""

    ingest: IngestReport | None = None
    process: ProcessReport | None = None
    candidates: int | None = None  # candidate risks after the refresh; None when nothing was processed
    queued: bool = False  # the documents were sent to the task queue, to be processed by a worker
    # where a task's time went (seconds; "_cpu": CPU seconds of this process): process, refresh, lock_wait
    timings: dict[str, float] = field(default_factory=dict)
    refreshed: list[str] = field(default_factory=list)  # the signal ids the refresh brought candidates up to date for

    @property
    def document_ids(self) -> list[str]:
        return list(self.ingest.document_ids) if self.ingest is not None else []

    @property
    def processed(self) -> int:
        return self.process.processed if self.process is not None else 0

    @property
    def risks(self) -> int:
        return self.process.risks if self.process is not None else 0


class Submission:
    """Submit rows, feed files or documents into ``store``, then process, refresh and update the graph.

    ``processor`` None stores only. ``lock`` is held for the whole of each submission: by default the var
    dir's write lock (:mod:`riskmine.store.locks`: one writer at a time across threads and processes, the
    API's included); ``priority`` and ``now`` reach the candidate refresh (the scenario runner's clock);
    ``settings`` say where the graph is kept and, unless ``priority`` is given, the analysts' budget.
    """

    def __init__(
        self,
        store: Store,
        processor: Processor | Pipeline | None = None,
        *,
        settings: Settings,
        lock: AbstractContextManager[Any] | None = None,
        batch_size: int = 256,
        priority: PriorityConfig | None = None,
        after_refresh: Callable[[Store], Any] | None = None,
        queue: TaskQueue | None = None,
        shared_lock: AbstractContextManager[Any] | None = None,
        pending: PendingRefresh | None = None,
    ) -> None:
        self.store = store
        # a task's refresh, owed and coalesced across the workers of every host (riskmine.queue.PendingRefresh)
        self.pending = pending
        # this process's graph has every refresh up to here in the stream of refreshes (None: not known yet)
        self._graph_position: str | None = None
        self._origin = uuid.uuid4().hex  # names this process's records in that stream
        # where new documents go to be processed: a task queue (default the settings' one, if any), else here
        self.queue = queue if queue is not None else task_queue(settings)
        self.shared_lock = shared_lock  # also held by a task's refresh: the workers' lock across hosts
        # told after each candidate refresh, under the lock (the API passes riskmine.review.alerts.refresh_hook)
        self.after_refresh = after_refresh
        self.processor: Processor | None = SerialProcessor(processor) if isinstance(processor, Pipeline) else processor
        self.lock = lock if lock is not None else write_lock_for(settings.var_dir)
        self.batch_size = batch_size
        self.settings = settings
        # the analysts' review budget and scope thresholds: given, else from these settings
        self.priority = priority or config_from_settings(settings)

    def close(self) -> None:
        """Stop the processor's worker processes, if it keeps any (a ParallelProcessor's pool lives until then)."""
        close = getattr(self.processor, "close", None)
        if callable(close):
            close()

    def _locked(self) -> AbstractContextManager[Any]:
        return self.lock

    @property
    def journal(self) -> WorkJournal:
        """The journal of submissions stored but not yet fully processed (<var_dir>/journal)."""
        return work_journal(self.settings.var_dir)

    def _entry(self, process: bool, entry: JournalEntry | None) -> JournalEntry | None:
        """The journal entry a submission records its stored documents in (none when nothing is processed)."""
        if entry is not None:
            return entry
        return self.journal.begin() if process and self.processor is not None else None

    def rows(
        self,
        rows: Iterable[dict[str, Any]],
        *,
        source: str | None,
        source_type: SourceType | str | None = None,
        extra: str = "reject",
        process: bool = True,
        fixed_source: bool = False,
        entry: JournalEntry | None = None,
    ) -> Outcome:
        """Store rows (each checked on its own; ``extra``: what unknown fields do), then process what is new.
        With ``fixed_source``, ``source`` replaces any source the rows name (see ingest.validate_rows).
        ``entry``: the journal entry to record stored documents in (a station batch's); default a new one."""
        with self._locked():
            entry = self._entry(process, entry)
            report = ingest_rows(
                list(rows),
                self.store,
                source=source,
                source_type=_value(source_type),
                extra=extra,
                fixed_source=fixed_source,
                on_stored=entry.add if entry is not None else None,
            )
            return self._then(Outcome(ingest=report), process, entry)

    def path(
        self,
        path: Path,
        *,
        source: str | None,
        source_type: SourceType | str | None = None,
        sheet: str | None = None,
        progress: Progress | None = None,
        process: bool = True,
        check: Callable[[IngestReport], None] | None = None,
        fixed_source: bool = False,
        entry: JournalEntry | None = None,
    ) -> Outcome:
        """Store the rows of a feed file (JSONL, CSV, XLSX), then process what is new.

        ``check`` sees the ingest report before processing and may raise to stop there (an upload
        with no data rows is refused before anything is processed).
        """
        with self._locked():
            entry = self._entry(process, entry)
            report = ingest_path(
                path,
                self.store,
                source=source,
                source_type=_value(source_type),
                sheet=sheet,
                progress=progress,
                fixed_source=fixed_source,
                on_stored=entry.add if entry is not None else None,
            )
            if check is not None:
                check(report)
            return self._then(Outcome(ingest=report), process, entry)

    def documents(self, documents: Sequence[RawDocument], *, process: bool = True) -> Outcome:
        """Store ready documents (duplicates by id skipped, personal data masked), then process the new ones."""
        from riskmine.text.pii import mask_document

        with self._locked():
            masked = [mask_document(d) for d in documents]
            result = self.store.write(Collection.documents, masked, DuplicatePolicy.skip)
            report = IngestReport(None, len(documents), result.written, len(documents) - result.written)
            report.document_ids.extend(result.ids)
            entry = self._entry(process, None)
            if entry is not None:
                entry.add(result.ids)
            return self._then(Outcome(ingest=report), process, entry)

    def process(
        self,
        document_ids: Sequence[str] | None = None,
        *,
        progress: Progress | None = None,
        now: datetime | None = None,
    ) -> Outcome:
        """Process the given stored documents (default: every one not yet processed), refresh, update the graph.

        With nothing to process, every candidate is refreshed (statistics and tiers move with the clock).
        """
        with self._locked():
            ids = list(document_ids) if document_ids is not None else pending_document_ids(self.store)
            return self._process(Outcome(), ids, progress, now, None)

    def process_task(self, document_ids: Sequence[str], *, progress: Progress | None = None) -> Outcome:
        """Process a queued task's documents, those not processed yet, then refresh candidates and the graph
        for all of them: a task handed out again (its worker died) adds nothing twice.

        The NLP stages run outside the lock, so that workers process in parallel (the near-duplicate index
        keeps its own lock); the refresh and the graph update take the lock and ``shared_lock`` (the workers'
        lock across hosts), so that each refresh reads every signal written before it. With ``pending`` (the
        workers' shared record of refreshes owed) the task's ids are recorded there and the refresh is
        coalesced: see :meth:`refresh_pending`."""
        ids = list(dict.fromkeys(document_ids))
        entry = self.journal.begin()
        entry.add(ids)  # until refreshed; also for those an earlier try processed before it died
        t0, c0 = time.perf_counter(), time.process_time()
        todo = unprocessed(self.store, ids)
        done = ProcessReport()
        if todo:
            if self.processor is None:
                raise ValueError("this submission has no processor: it stores documents only")
            done = self.processor.process_documents(self.store, todo, batch_size=self.batch_size, progress=progress)
        timings = {"process": time.perf_counter() - t0, "process_cpu": time.process_time() - c0}
        for name, sec in done.stage_seconds.items():
            timings[f"stage_{name}"] = sec
        if self.pending is not None:
            self.pending.add(ids)  # kept in Redis until some worker's refresh for them is stored
            entry.close()
            outcome = self.refresh_pending(when_due=True)
        else:
            t1, c1 = time.perf_counter(), time.process_time()
            with self._locked(), self.shared_lock or nullcontext():
                timings["lock_wait"] = time.perf_counter() - t1
                t2 = time.perf_counter()
                outcome = self._process(Outcome(), [], progress, None, entry, refresh_all=False)
                timings["refresh"] = time.perf_counter() - t2
            timings["refresh_cpu"] = time.process_time() - c1
        adopted = outcome.process or ProcessReport()  # documents of killed processes' entries, finished here
        for name in ("processed", "risks", "duplicates", "noisy", "seconds"):
            setattr(done, name, getattr(done, name) + getattr(adopted, name))
        outcome.process = done
        outcome.timings = {**timings, **outcome.timings}
        return outcome

    @contextmanager
    def _refresh_locks(self, blocking: bool) -> Iterator[bool]:
        """The local write lock, then the workers' lock across hosts; without ``blocking``, taken only if both
        are free at once (yields whether they were taken)."""
        assert self.pending is not None
        shared = self.pending.lock
        try_local = getattr(self.lock, "try_acquire", None)
        if blocking or not callable(try_local):
            with self._locked(), shared:
                yield True
            return
        if not try_local():
            yield False
            return
        try:
            if not shared.acquire(blocking=False):
                yield False
                return
            try:
                yield True
            finally:
                shared.release()
        finally:
            self.lock.__exit__(None, None, None)

    def follow_refreshes(self) -> None:
        """Before the first task (a worker starting): bring this host's graph up to date with the store (rebuilt
        only if it lags) and follow the stream of refreshes from here, so that later refreshes add only what the
        other hosts refreshed since (:meth:`riskmine.queue.PendingRefresh.refreshed_since`), never rebuilding
        because the store holds signals processed and not yet refreshed."""
        if self.pending is None:
            return
        position = self.pending.position()
        if self.settings.graph_update:
            from riskmine.knowledge_graph.graph import current_graph

            try:
                with self._locked():
                    current_graph(self.settings, self.store)
            except Exception:  # derived data: the first refresh catches up from the store instead
                log.exception("the knowledge graph could not be brought up to date; the first refresh will")
                return
        self._graph_position = position

    def refresh_pending(self, *, mark: bool = True, when_due: bool = False) -> Outcome:
        """Refresh candidates and the graph for every signal id the workers have recorded as owed, unless a
        worker refreshing now will take them (then return at once: no worker waits in line for another).

        ``when_due``: only if the refresh is due (:meth:`riskmine.queue.PendingRefresh.due`: enough ids owed, the
        oldest owed too long, or no task waiting), else the ids stay owed for a later, larger refresh; a refresh
        made goes on while what was recorded meanwhile is due.

        The refresh lock is tried without waiting: the holder refreshes for all the ids recorded (one refresh
        for the tasks of several workers), removes them once stored, and after releasing the lock looks again,
        so ids recorded while it held the lock are not left behind. When the lock is held by someone who does
        not refresh (an API write), this waits for it. A worker killed half-way leaves its ids recorded.
        ``mark`` False (a worker's idle refresh): others wait for this refresh instead of leaving theirs to it,
        so that a task is acknowledged only once its refresh is stored or is another task's to finish."""
        pending = self.pending
        if pending is None:
            raise ValueError("this submission keeps no record of refreshes owed (no task queue)")
        outcome = Outcome()
        timings = dict.fromkeys(("lock_wait", "refresh", "refresh_cpu", "refresh_candidates", "refresh_graph"), 0.0)
        timings["refreshes"] = 0
        first = True

        def owed() -> bool:
            return pending.due() if when_due else pending.count() > 0

        if not owed():
            timings["deferred"] = 1  # left owed: a later refresh (another task's, or an idle worker's) takes it
        while owed():
            t0 = time.perf_counter()
            with self._refresh_locks(blocking=False) as held:
                if held:
                    self._refresh_owed(pending, outcome, timings, first, mark, owed)
                    first = False
            if not held:
                if pending.refreshing():
                    break  # its holder looks at the set again once it has released the lock: it takes ours
                with self._refresh_locks(blocking=True):
                    timings["lock_wait"] += time.perf_counter() - t0
                    self._refresh_owed(pending, outcome, timings, first, mark, owed)
                    first = False
        if outcome.candidates is None:
            outcome.candidates = self.store.count(Collection.candidates)
        outcome.timings = timings
        return outcome

    def _refresh_owed(
        self,
        pending: PendingRefresh,
        outcome: Outcome,
        timings: dict[str, float],
        first: bool,
        mark: bool,
        again: Callable[[], bool],
    ) -> None:
        """Under the refresh locks: refresh for the ids recorded, and again while ``again`` says that what was
        recorded meanwhile is to be refreshed too."""
        if mark:
            pending.mark()
        try:
            while (owed := pending.snapshot()) and (timings["refreshes"] == 0 or again()):
                t, c = time.perf_counter(), time.process_time()
                # the graph (one per host) takes what other hosts refreshed since this one's last refresh; from the
                # store (rebuilt if it lags) the first time, or if the stream of refreshes has been trimmed since
                known = self._graph_position
                others = pending.refreshed_since(known, self._origin) if known is not None else None
                done = self._process(
                    Outcome(),
                    [],
                    None,
                    None,
                    None,
                    refresh_all=False,
                    also=owed,
                    graph_also=others[0] if others is not None else (),
                    graph_catch_up=others is None,
                )
                self._graph_position = pending.published(done.refreshed, self._origin)  # before they leave the set
                pending.done(owed)
                timings["refresh"] += time.perf_counter() - t
                timings["refresh_cpu"] += time.process_time() - c
                timings["refreshes"] += 1
                for part in ("refresh_candidates", "refresh_graph"):
                    timings[part] += done.timings.get(part, 0.0)
                outcome.candidates = done.candidates
                if first:
                    outcome.process, first = done.process, False
        finally:
            if mark:
                pending.unmark()

    def recover(self) -> Outcome | None:
        """Finish what killed processes left in the journal (None when there was nothing)."""
        with self._locked():
            if self.processor is None or not self.journal.orphans():
                return None
            return self._process(Outcome(), [], None, None, None, refresh_all=False)

    def _then(self, outcome: Outcome, process: bool, entry: JournalEntry | None) -> Outcome:
        if not process or self.processor is None or outcome.ingest is None:
            return outcome
        # new documents, and those stored by an interrupted earlier try but never processed
        ids = outcome.document_ids + unprocessed(self.store, outcome.ingest.duplicate_ids)
        if not ids:
            if entry is not None:
                entry.close()
            return outcome
        if self.queue is not None:  # a worker processes them; until the task is sent the journal keeps them
            self.queue.enqueue(ids)
            outcome.queued = True
            if entry is not None:
                entry.close()
            return outcome
        return self._process(outcome, ids, None, None, entry)

    def _process(
        self,
        outcome: Outcome,
        ids: list[str],
        progress: Progress | None,
        now: datetime | None,
        entry: JournalEntry | None,
        *,
        refresh_all: bool = True,
        also: Sequence[str] = (),
        graph_also: Sequence[str] = (),
        graph_catch_up: bool = True,
    ) -> Outcome:
        if self.processor is None:
            raise ValueError("this submission has no processor: it stores documents only")
        entry = entry or self.journal.begin()
        entry.add(ids)
        orphans = self.journal.orphans(exclude=[entry])
        adopted = [i for orphan in orphans for i in orphan.ids()]
        done = set(ids)
        todo = ids + unprocessed(self.store, dict.fromkeys(i for i in adopted if i not in done))
        # every document of this submission (a resumed batch's earlier try too) and of the adopted entries
        touched = list(dict.fromkeys([*entry.ids(), *adopted, *also]))
        outcome.process = ProcessReport()
        if todo:
            outcome.process = self.processor.process_documents(
                self.store, todo, batch_size=self.batch_size, progress=progress
            )
        t0 = time.perf_counter()
        if not ids and refresh_all:  # nothing new: every candidate is brought up to date (the clock moves on)
            outcome.candidates = refresh_candidates(self.store, now=now, config=self.priority)
        else:  # incremental: only the candidate groups these signals touch are rebuilt
            outcome.candidates = refresh_candidates(self.store, now=now, signal_ids=touched, config=self.priority)
        if self.after_refresh is not None:
            self.after_refresh(self.store)
        t1 = time.perf_counter()
        if touched:
            from riskmine.knowledge_graph.graph import update_graph

            graph_ids = list(dict.fromkeys([*touched, *graph_also])) if graph_also else touched
            update_graph(self.store, graph_ids, self.settings, catch_up=graph_catch_up)
        outcome.timings.update(refresh_candidates=t1 - t0, refresh_graph=time.perf_counter() - t1)
        outcome.refreshed = touched
        for done_entry in (entry, *orphans):
            done_entry.close()
        return outcome
