"""The task queue: a submission's stored documents become a task that a ``riskmine worker`` processes.

With ``RISKMINE_QUEUE_URL`` (``redis://host:6379/1``) set, :class:`riskmine.submission.Submission` stores the
documents as always and then, instead of processing them in the request, sends one task naming their ids
through Dramatiq's Redis broker. ``riskmine worker`` (:mod:`riskmine.worker`) takes tasks on any host that
reaches the Redis and the shared store, processes them through the same submission service, and
acknowledges each task only when it is done: a task of a worker that dies is handed out again once that
worker has been silent for ``RISKMINE_QUEUE_REDELIVERY_SECONDS`` (at least once), and documents already
processed are skipped then, so nothing is duplicated.

Dramatiq rather than Celery or Ray: it is small and well kept, acknowledges a message only after its actor
has returned (at least once, no "late ack" option to remember), brings its Redis broker in the same
package, and a producer can send a message by actor name without importing the worker's code, which keeps
this module below the submission layer.

Unset, nothing changes: documents are processed in the request.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any

from riskmine.schema.errors import RiskmineError
from riskmine.schema.labels import WORKER_LABELS
from riskmine.settings import Settings

if TYPE_CHECKING:
    from dramatiq.brokers.redis import RedisBroker

QUEUE_NAME = "riskmine"
ACTOR_NAME = "process_documents"
NAMESPACE = "riskmine-queue"  # the broker's Redis keys


class QueueError(RiskmineError, RuntimeError):
    """The task queue is not configured or its Redis cannot be reached; the message says which URL."""

    code = "queue_unavailable"
    status = 503


def redacted(url: str) -> str:
    """The URL without its password (what the messages show)."""
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    netloc = f"{parts.username or ''}:***@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))


def unreachable(url: str, exc: BaseException) -> QueueError:
    return QueueError(WORKER_LABELS["unreachable"].format(url=redacted(url), reason=exc))


def queue_url(settings: Settings) -> str:
    """The configured queue URL, or a QueueError saying how to set it."""
    if not settings.queue_url:
        raise QueueError(WORKER_LABELS["no_queue"])
    return settings.queue_url


_BROKERS: dict[tuple[str, float], RedisBroker] = {}
_BROKERS_LOCK = threading.Lock()


def broker_for(settings: Settings) -> RedisBroker:
    """This process's Dramatiq Redis broker for the settings' queue (one per URL; connects lazily)."""
    try:
        from dramatiq.brokers.redis import MAINTENANCE_SCALE, RedisBroker
    except ImportError:
        raise QueueError(WORKER_LABELS["not_installed"]) from None

    url = queue_url(settings)
    key = (url, settings.queue_redelivery_seconds)
    with _BROKERS_LOCK:
        broker = _BROKERS.get(key)
        if broker is None:
            broker = RedisBroker(
                url=url,
                namespace=NAMESPACE,
                heartbeat_timeout=int(settings.queue_redelivery_seconds * 1000),
                # every fetch looks for silent workers (one sorted-set range): a dead worker's tasks return promptly
                maintenance_chance=MAINTENANCE_SCALE,
            )
            broker.declare_queue(QUEUE_NAME)
            _BROKERS[key] = broker
        return broker


def check_queue(settings: Settings) -> None:
    """Raise QueueError (in Chinese, naming the URL) unless the queue's Redis answers."""
    broker_for(settings)  # QueueError when the queue extra is missing
    import redis

    url = queue_url(settings)
    try:
        redis.Redis.from_url(url, socket_connect_timeout=5, socket_timeout=5).ping()
    except (redis.RedisError, OSError, ValueError) as exc:
        raise unreachable(url, exc) from None


REFRESH_LOCK_SECONDS = 600.0  # a worker that dies holding the refresh lock releases it this late


class RefreshLock:
    """The lock across hosts (a Redis lock), held while a task refreshes candidates and the graph, and by the API
    while it changes candidates (riskmine.api.state): reusable; a Redis that cannot be reached is a QueueError."""

    def __init__(self, settings: Settings) -> None:
        import redis

        self.url = queue_url(settings)
        client = redis.Redis.from_url(self.url)
        self._lock = client.lock(f"{NAMESPACE}:refresh", timeout=REFRESH_LOCK_SECONDS, blocking_timeout=None)

    def acquire(self, blocking: bool = True) -> bool:
        """Take the lock (waiting for it unless ``blocking`` is False); whether it was taken."""
        import redis

        try:
            return bool(self._lock.acquire(blocking=blocking))
        except (redis.RedisError, OSError) as exc:
            raise unreachable(self.url, exc) from None

    def release(self) -> None:
        self._lock.release()

    def __enter__(self) -> RefreshLock:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def refresh_lock(settings: Settings) -> AbstractContextManager[Any]:
    """The workers' lock across hosts, held while a task refreshes candidates and the graph (a Redis lock)."""
    return RefreshLock(settings)


PENDING_KEY = f"{NAMESPACE}:refresh-pending"  # a Redis set: signal ids whose candidates and graph are not refreshed
REFRESHING_KEY = f"{NAMESPACE}:refreshing"  # set while a worker refreshes (and looks at the set again after)
_CHUNK = 5000  # ids per Redis command


class PendingRefresh:
    """The refresh the workers owe, shared across hosts through the queue's Redis (issue 20).

    A worker that has stored a task's signals adds their ids to a Redis set, then refreshes candidates and the
    graph only if it can take the refresh lock at once: whoever holds it refreshes for every id in the set and
    removes those ids only once their refresh is stored, so a worker that dies on the way loses nothing. While a
    worker refreshes it keeps :data:`REFRESHING_KEY` set and, after releasing the lock, looks at the set again:
    a worker that finds the lock taken and that key set leaves its ids to it instead of waiting in line. Workers
    also look at the set when idle (:func:`riskmine.worker.serve_tasks`), which settles what a holder that died
    or an API write left behind.
    """

    def __init__(self, settings: Settings) -> None:
        import redis

        self.url = queue_url(settings)
        self.client = redis.Redis.from_url(self.url)
        self.lock = RefreshLock(settings)

    def _call(self, fn: Any, *args: Any) -> Any:
        import redis

        try:
            return fn(*args)
        except (redis.RedisError, OSError) as exc:
            raise unreachable(self.url, exc) from None

    def add(self, signal_ids: Sequence[str]) -> None:
        """Record signals stored but not yet refreshed for."""
        ids = list(signal_ids)
        for start in range(0, len(ids), _CHUNK):
            self._call(self.client.sadd, PENDING_KEY, *ids[start : start + _CHUNK])

    def count(self) -> int:
        return int(self._call(self.client.scard, PENDING_KEY))

    def snapshot(self) -> list[str]:
        """The ids waiting for a refresh now, sorted."""
        members = self._call(self.client.smembers, PENDING_KEY)
        return sorted(i.decode() if isinstance(i, bytes) else str(i) for i in members)

    def done(self, signal_ids: Sequence[str]) -> None:
        """These ids' refresh is stored: take them out of the set (those added again since stay added)."""
        ids = list(signal_ids)
        for start in range(0, len(ids), _CHUNK):
            self._call(self.client.srem, PENDING_KEY, *ids[start : start + _CHUNK])

    def refreshing(self) -> bool:
        """Whether a worker is refreshing now (and will look at the set again once it has released the lock)."""
        return bool(self._call(self.client.exists, REFRESHING_KEY))

    def mark(self) -> None:
        self._call(lambda: self.client.set(REFRESHING_KEY, b"1", ex=int(REFRESH_LOCK_SECONDS)))

    def unmark(self) -> None:
        self._call(self.client.delete, REFRESHING_KEY)


class TaskQueue:
    """Sends processing tasks (a list of stored document ids each) to the workers."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def enqueue(self, document_ids: Sequence[str], **options: Any) -> str:
        """Send one task for these documents; its message id. QueueError when the Redis cannot be reached."""
        broker = broker_for(self.settings)  # QueueError when the queue extra is missing
        import dramatiq
        import redis

        message: dramatiq.Message[Any] = dramatiq.Message(
            queue_name=QUEUE_NAME, actor_name=ACTOR_NAME, args=(list(document_ids),), kwargs={}, options=options
        )
        try:
            return broker.enqueue(message).message_id
        except (redis.RedisError, OSError) as exc:
            raise unreachable(queue_url(self.settings), exc) from None


def task_queue(settings: Settings) -> TaskQueue | None:
    """The task queue the settings name (None: process in the request, as without a queue)."""
    return TaskQueue(settings) if settings.queue_url else None
