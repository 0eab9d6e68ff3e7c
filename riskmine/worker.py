"""``riskmine worker``: takes processing tasks from the queue (:mod:`riskmine.queue`) and runs them.

A worker process opens the store and builds the pipeline once (models load once per process), then takes one
task at a time from the Redis broker: the task's documents not processed yet are processed, their signals
written, and the candidates and graph refreshed from the shared store, all through
:meth:`riskmine.submission.Submission.process_task`, the path every submission takes. The refresh is owed in
Redis until stored and coalesced (:class:`riskmine.queue.PendingRefresh`): a worker refreshes only when it is
due (enough signals owed, the oldest owed ``RISKMINE_QUEUE_REFRESH_MAX_DELAY_SECONDS``, or no task waiting),
else goes on to the next task; one that finds another refreshing leaves its ids to it rather than wait in line,
and an idle worker refreshes what is left owed once it is due. Each task's
timings (processing, refresh, lock wait, NLP stages; wall and CPU seconds) are logged. A task is acknowledged
only when that has returned: one of a worker that died is handed out again (after
``RISKMINE_QUEUE_REDELIVERY_SECONDS``) and finished without duplicating anything; one that failed is retried
with growing back-off. Workers on several hosts need the shared store (``RISKMINE_STORE=elasticsearch``) and
share the near-duplicate index through the queue's Redis.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from contextlib import suppress
from typing import Any

from riskmine.pipeline import Pipeline
from riskmine.processing import unprocessed
from riskmine.queue import ACTOR_NAME, QUEUE_NAME, PendingRefresh, broker_for, redacted
from riskmine.schema.labels import WORKER_LABELS
from riskmine.settings import Settings
from riskmine.store.base import Store
from riskmine.submission import Outcome, Submission

Log = Callable[[str], None]

TASK_TIME_LIMIT_MS = 24 * 3600 * 1000  # a task is not cut short (a big upload may take long)
TASK_MAX_RETRIES = 10


class TaskRunner:
    """What one worker process keeps between tasks: the store, the pipeline (models loaded once), the service."""

    def __init__(
        self,
        settings: Settings,
        store: Store,
        pipeline: Pipeline,
        *,
        after_refresh: Callable[[Store], Any] | None = None,
        log: Log | None = None,
    ) -> None:
        self.store = store
        self.log = log or (lambda line: None)
        self.submission = Submission(
            store,
            pipeline,
            settings=settings,
            batch_size=settings.batch_size,
            after_refresh=after_refresh,
            pending=PendingRefresh(settings),
        )
        self._busy = threading.Lock()  # a task in hand, or the idle refresh
        self.submission.follow_refreshes()  # this host's graph caught up now, then kept up from the others' refreshes

    def run(self, document_ids: Sequence[str], progress: Callable[[int], None] | None = None) -> Outcome:
        """Process one task's documents (those not yet processed), refresh candidates and the graph (or leave
        that to the worker refreshing now, see :meth:`Submission.refresh_pending`); ``progress`` is told of each
        batch of documents processed."""
        with self._busy:
            return self._run(document_ids, progress)

    def refresh_owed(self) -> Outcome | None:
        """When idle, refresh for what the workers recorded as owed once that is due (see
        :meth:`riskmine.queue.PendingRefresh.due`: what a task left for a later refresh, a worker that died
        refreshing, an API write that held the lock); None when busy or when nothing is due."""
        pending = self.submission.pending
        if pending is None or not self._busy.acquire(blocking=False):
            return None
        try:
            return self.submission.refresh_pending(mark=False, when_due=True) if pending.due() else None
        finally:
            self._busy.release()

    def _run(self, document_ids: Sequence[str], progress: Callable[[int], None] | None) -> Outcome:
        ids = list(dict.fromkeys(document_ids))
        self.log(WORKER_LABELS["task"].format(count=len(ids)))
        done_before = len(ids) - len(unprocessed(self.store, ids))
        if done_before:
            self.log(WORKER_LABELS["skipped"].format(count=done_before))
        t0 = time.perf_counter()
        outcome = self.submission.process_task(ids, progress=progress)
        report = outcome.process
        self.log(
            WORKER_LABELS["done"].format(
                processed=outcome.processed,
                risks=outcome.risks,
                duplicates=report.duplicates if report is not None else 0,
                candidates=outcome.candidates,
                seconds=f"{time.perf_counter() - t0:.1f}",
            )
        )
        timings = " ".join(f"{k}={v:.3f}" if isinstance(v, float) else f"{k}={v}" for k, v in outcome.timings.items())
        self.log(WORKER_LABELS["timings"].format(timings=timings))
        return outcome


def serve_tasks(settings: Settings, runner: TaskRunner, stop: threading.Event, *, log: Log | None = None) -> None:
    """Take tasks from the queue, one at a time, until ``stop`` is set; the task in hand is finished first."""
    import dramatiq
    import redis

    say = log or (lambda line: None)
    broker = broker_for(settings)

    def process_documents(document_ids: list[str]) -> None:
        try:
            runner.run(document_ids)
        except Exception as exc:
            say(WORKER_LABELS["failed"].format(error=f"{type(exc).__name__}: {exc}"))
            raise

    dramatiq.actor(
        actor_name=ACTOR_NAME,
        queue_name=QUEUE_NAME,
        broker=broker,
        max_retries=TASK_MAX_RETRIES,
        time_limit=TASK_TIME_LIMIT_MS,
    )(process_documents)
    worker = dramatiq.Worker(broker, queues={QUEUE_NAME}, worker_threads=1)
    worker.queue_prefetch = 1  # a task waits in the queue for whichever worker is free, not in this one's hand
    worker.start()
    say(WORKER_LABELS["started"].format(url=redacted(settings.queue_url or "")))
    # often enough to say it is alive, and for an idle worker to keep the refresh within its promised delay
    beat = min(settings.queue_redelivery_seconds / 4, max(settings.queue_refresh_max_delay_seconds / 2, 0.5))
    try:
        # The broker counts a worker alive while it talks to Redis; one busy with a long task fetches nothing, so
        # it says it is alive here, lest its task be handed to another worker too.
        while not stop.wait(beat):
            with suppress(redis.RedisError):
                broker.do_qsize(QUEUE_NAME)
            try:  # what a worker that died refreshing, or an API write holding the lock, left owed
                runner.refresh_owed()
            except Exception as exc:
                say(WORKER_LABELS["failed"].format(error=f"{type(exc).__name__}: {exc}"))
    finally:
        say(WORKER_LABELS["stopping"])
        worker.stop()
