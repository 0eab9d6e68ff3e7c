"""``riskmine worker``: takes processing tasks from the queue (:mod:`riskmine.queue`) and runs them.

A worker process opens the store and builds the pipeline once (models load once per process), then takes one
task at a time from the Redis broker: the task's documents not processed yet are processed, their signals
written, and the candidates and graph refreshed from the shared store, all through
:meth:`riskmine.submission.Submission.process_task`, the path every submission takes. A task is acknowledged
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
from riskmine.queue import ACTOR_NAME, QUEUE_NAME, broker_for, redacted, refresh_lock
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
            shared_lock=refresh_lock(settings),
        )

    def run(self, document_ids: Sequence[str], progress: Callable[[int], None] | None = None) -> Outcome:
        """Process one task's documents (those not yet processed), refresh candidates and the graph;
        ``progress`` is told of each batch of documents processed."""
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
    beat = settings.queue_redelivery_seconds / 4
    try:
        # The broker counts a worker alive while it talks to Redis; one busy with a long task fetches nothing, so
        # it says it is alive here, lest its task be handed to another worker too.
        while not stop.wait(beat):
            with suppress(redis.RedisError):
                broker.do_qsize(QUEUE_NAME)
    finally:
        say(WORKER_LABELS["stopping"])
        worker.stop()
