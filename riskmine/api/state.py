"""What the app holds while it runs: settings, the store, the users, and the pipeline (built once, on first use)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

from riskmine.api.cache import ResponseCache
from riskmine.feeds.batches import BatchRegistry, open_batch_registry
from riskmine.pipeline import Pipeline
from riskmine.queue import refresh_lock
from riskmine.review.alerts import refresh_hook
from riskmine.review.users import UserStore
from riskmine.settings import Settings
from riskmine.station_intake import StationIntake
from riskmine.store.base import Store
from riskmine.store.journal import work_journal
from riskmine.store.locks import SharedWriteLock, WriteLock, write_lock_for
from riskmine.store.sqlite import SQLiteStore
from riskmine.submission import Submission

_T = TypeVar("_T")


@dataclass
class AppState:
    settings: Settings
    users: UserStore
    store: Store | None = None
    pipeline_factory: Callable[[Settings, Store | None], Pipeline] | None = None
    owns_store: bool = False
    _pipeline: Pipeline | None = field(default=None, repr=False)
    _pipeline_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    # Ingest + processing + candidate refresh (and review changes) run one at a time: across this server's
    # threads, its worker processes and any CLI run on the same var dir (riskmine.store.locks); with a task
    # queue also across hosts: the workers' refresh lock is held too (a worker's candidate refresh on another
    # host would otherwise write back candidates it read before a decision or merge, undoing it).
    write_lock: WriteLock | SharedWriteLock = field(init=False, repr=False)
    # Submissions run on threads of their own, not the pool every read shares: under read load a write
    # would otherwise queue for a thread behind all the reads (one runs at a time, under write_lock; a
    # second thread lets the next one read its body and wait at the lock).
    _writes: ThreadPoolExecutor | None = field(default=None, repr=False)
    _lazy_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)  # the write threads, the registry
    _batches: BatchRegistry | None = field(default=None, repr=False)
    # serialised list responses by query and data version (riskmine.api.cache)
    responses: ResponseCache = field(default_factory=ResponseCache, repr=False)
    inline_write_count: int = field(default=0, repr=False)  # writes run on the event loop (run_short_write)

    def __post_init__(self) -> None:
        local = write_lock_for(self.settings.var_dir)
        settings = self.settings
        self.write_lock = SharedWriteLock(local, lambda: refresh_lock(settings)) if settings.queue_url else local

    @property
    def batches(self) -> BatchRegistry:
        """The station batch registry, opened on first use and kept (opening checks its migrations)."""
        with self._lazy_lock:
            if self._batches is None:
                self._batches = open_batch_registry(self.settings)
            return self._batches

    async def run_write(self, fn: Callable[..., _T], *args: Any, **kwargs: Any) -> _T:
        """Run a submission (store, process, refresh) on the write threads, off the event loop."""
        with self._lazy_lock:
            if self._writes is None:
                self._writes = ThreadPoolExecutor(max_workers=2, thread_name_prefix="riskmine-write")
            writes = self._writes
        return await asyncio.get_running_loop().run_in_executor(writes, partial(fn, *args, **kwargs))

    def inline_writes(self) -> bool:
        """Whether a short write may run on the event loop: the store is a local SQLite file and the write lock is
        this host's alone (no task queue, whose shared lock is a network round trip)."""
        store = self.store
        return (
            isinstance(self.write_lock, WriteLock)
            and isinstance(store, SQLiteStore)
            and isinstance(store.path, Path)
            and not self.settings.queue_url
        )

    async def run_short_write(self, fn: Callable[..., _T], *args: Any, **kwargs: Any) -> _T:
        """Run a short write (a few local SQLite statements: milliseconds) under the write lock: on the event loop
        when that lock is free now, else on the write threads (:meth:`run_write`), waiting for the lock there.

        Under read load a hand-off to a thread costs the write several turns of the loop, each serving every ready
        reader (the thread's result reaches the loop in one turn, the waiting handler resumes in the next: issue
        18), and the thread shares the interpreter with the busy loop. Run in place, the write completes within the
        turn its handler runs in, ahead of the reads queued behind it. The lock is only tried, never waited for on
        the loop: when another thread or process holds it, the write waits for it on a write thread, as before.
        """
        lock = self.write_lock
        if isinstance(lock, WriteLock) and self.inline_writes() and lock.try_acquire(blocking=False):
            self.inline_write_count += 1
            try:
                return fn(*args, **kwargs)
            finally:
                lock.release()

        def locked() -> _T:
            with lock:  # re-entrant: ``fn`` may take it again (a submission does)
                return fn(*args, **kwargs)

        return await self.run_write(locked)

    def close(self) -> None:
        """Let running writes finish and stop the write threads (started again by the next write)."""
        with self._lazy_lock:
            writes, self._writes = self._writes, None
        if writes is not None:
            writes.shutdown(wait=True)

    @property
    def pipeline_loaded(self) -> bool:
        return self._pipeline is not None

    def get_pipeline(self) -> Pipeline:
        """The pipeline, built on the first call (it loads models; call it from a worker thread)."""
        if self._pipeline is None:
            with self._pipeline_lock:
                if self._pipeline is None:
                    factory = self.pipeline_factory or _default_pipeline
                    self._pipeline = factory(self.settings, self.store)
        return self._pipeline

    def submission(self, store: Store, pipeline: Pipeline | None) -> Submission:
        """The submission service over ``store``, under the write lock (``pipeline`` None: store only)."""
        return Submission(
            store,
            pipeline,
            lock=self.write_lock,
            batch_size=self.settings.batch_size,
            settings=self.settings,
            after_refresh=refresh_hook(self.settings),
        )

    def intake(self, store: Store) -> StationIntake:
        """Station batches received into ``store`` (through the submission service, under the write lock)."""
        return StationIntake(self.settings, self.batches, lambda pipeline: self.submission(store, pipeline))

    def recover(self, stop: threading.Event) -> None:
        """Finish what a killed process left: journal entries of its submissions, then station batches whose
        receiver died (waiting for leases that have not yet run out); stops early when ``stop`` is set.
        Runs in a thread of its own at start-up; the pipeline is built only if there is work."""
        store = self.store
        if store is None:
            return
        if work_journal(self.settings.var_dir).orphans():
            self.submission(store, self.get_pipeline()).recover()
        intake = self.intake(store)
        while not stop.is_set():
            intake.resume_stale(self.get_pipeline)
            wait = intake.next_expiry()
            if wait is None:
                return
            stop.wait(wait + 0.05)


def _default_pipeline(settings: Settings, store: Store | None) -> Pipeline:
    return Pipeline.from_settings(settings, store)
