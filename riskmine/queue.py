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


OWED_KEY = f"{NAMESPACE}:refresh-owed"  # a sorted set: signal ids not refreshed for, scored by when first recorded
LEGACY_PENDING_KEY = f"{NAMESPACE}:refresh-pending"  # the plain set earlier versions kept (adopted once)
REFRESHING_KEY = f"{NAMESPACE}:refreshing"  # set while a worker refreshes (and looks at the set again after)
# a Redis stream: the ids of each refresh, in refresh order (the graph of every host takes the others' from it)
REFRESHED_KEY = f"{NAMESPACE}:refreshed"
REFRESHED_KEEP = 1000  # refreshes the stream keeps (about): a host further behind catches up from the store
_CHUNK = 5000  # ids per Redis command


class PendingRefresh:
    """The refresh the workers owe, shared across hosts through the queue's Redis (issues 18 and 20).

    A worker that has stored a task's signals records their ids in a Redis sorted set (scored by the Redis clock
    when first recorded), then refreshes candidates and the graph only when the refresh is :meth:`due`: enough
    ids owed (``RISKMINE_QUEUE_REFRESH_MIN_OWED``), the oldest owed for ``RISKMINE_QUEUE_REFRESH_MAX_DELAY_SECONDS``,
    or no task waiting in the queue; otherwise it goes on to the next task and a later refresh takes its ids too
    (fewer, larger refreshes). A refresh takes the refresh lock only if it can at once: whoever holds it refreshes
    for every id recorded and removes those ids only once their refresh is stored, so a worker that dies on the
    way loses nothing. While a worker refreshes it keeps :data:`REFRESHING_KEY` set and, after releasing the
    lock, looks at the set again: a worker that finds the lock taken and that key set leaves its ids to it
    instead of waiting in line. Idle workers also look at the set (:func:`riskmine.worker.serve_tasks`), which
    settles what a holder that died or an API write left behind.
    """

    def __init__(self, settings: Settings) -> None:
        import redis

        self.url = queue_url(settings)
        self.client = redis.Redis.from_url(self.url)
        self.lock = RefreshLock(settings)
        self.max_delay = settings.queue_refresh_max_delay_seconds
        self.min_owed = settings.queue_refresh_min_owed
        self._adopt_legacy()

    def _call(self, fn: Any, *args: Any) -> Any:
        import redis

        try:
            return fn(*args)
        except (redis.RedisError, OSError) as exc:
            raise unreachable(self.url, exc) from None

    def _now(self) -> float:
        """The Redis server's clock (the same for the workers of every host)."""
        seconds, micros = self._call(self.client.time)
        return float(seconds) + micros / 1e6

    def _adopt_legacy(self) -> None:
        """Ids an earlier version left owed in its plain set: recorded here, as owed since now."""
        if not self._call(self.client.exists, LEGACY_PENDING_KEY):
            return
        members = self._call(self.client.smembers, LEGACY_PENDING_KEY)
        self.add([i.decode() if isinstance(i, bytes) else str(i) for i in members])
        self._call(self.client.delete, LEGACY_PENDING_KEY)

    def add(self, signal_ids: Sequence[str]) -> None:
        """Record signals stored but not yet refreshed for (one recorded already keeps its first time)."""
        ids = list(signal_ids)
        if not ids:
            return
        now = self._now()
        for start in range(0, len(ids), _CHUNK):
            self._call(
                lambda chunk: self.client.zadd(OWED_KEY, dict.fromkeys(chunk, now), nx=True),
                ids[start : start + _CHUNK],
            )

    def count(self) -> int:
        return int(self._call(self.client.zcard, OWED_KEY))

    def snapshot(self) -> list[str]:
        """The ids waiting for a refresh now, sorted."""
        members = self._call(self.client.zrange, OWED_KEY, 0, -1)
        return sorted(i.decode() if isinstance(i, bytes) else str(i) for i in members)

    def done(self, signal_ids: Sequence[str]) -> None:
        """These ids' refresh is stored: take them out of the set (those added again since stay added)."""
        ids = list(signal_ids)
        for start in range(0, len(ids), _CHUNK):
            self._call(self.client.zrem, OWED_KEY, *ids[start : start + _CHUNK])

    def state(self) -> tuple[int, float, int]:
        """(ids owed, seconds the oldest of them has been owed, tasks waiting in the queue), in one round trip."""

        def read() -> list[Any]:
            pipe = self.client.pipeline(transaction=False)
            pipe.zcard(OWED_KEY)
            pipe.zrange(OWED_KEY, 0, 0, withscores=True)
            pipe.time()
            pipe.llen(f"{NAMESPACE}:{QUEUE_NAME}")
            return list(pipe.execute())

        count, oldest, (seconds, micros), waiting = self._call(read)
        age = float(seconds) + micros / 1e6 - oldest[0][1] if oldest else 0.0
        return int(count), max(age, 0.0), int(waiting)

    def due(self) -> bool:
        """Whether the ids owed are to be refreshed now: some are, and enough of them, or the oldest has waited
        ``max_delay`` seconds, or no task waits in the queue (nobody would come back for them soon)."""
        count, age, waiting = self.state()
        return count > 0 and (count >= self.min_owed or age >= self.max_delay or waiting == 0)

    def position(self) -> str:
        """Where the stream of refreshes ends now (where :meth:`refreshed_since` takes up from later)."""
        last = self._call(lambda: self.client.xrevrange(REFRESHED_KEY, count=1))
        return _text(last[0][0]) if last else "0-0"

    def published(self, signal_ids: Sequence[str], origin: str) -> str:
        """Under the refresh lock, once stored: record that these ids were refreshed (by ``origin``, this process);
        the position of the record."""
        ids = list(signal_ids)
        entry = "0-0"
        for start in range(0, max(len(ids), 1), _CHUNK):
            fields = {"origin": origin, "ids": "\n".join(ids[start : start + _CHUNK])}
            entry = _text(
                self._call(
                    lambda f: self.client.xadd(REFRESHED_KEY, f, maxlen=REFRESHED_KEEP, approximate=True), fields
                )
            )
        return entry

    def refreshed_since(self, position: str, origin: str) -> tuple[list[str], str] | None:
        """Under the refresh lock: the ids others than ``origin`` refreshed after ``position``, and the position
        now; None when the stream no longer reaches back that far (trimmed: catch up from the store)."""
        first = self._call(lambda: self.client.xrange(REFRESHED_KEY, count=1))
        gone = bool(first) and _stream_id(_text(first[0][0])) > _stream_id(position)  # the record at ``position``
        if gone and (position != "0-0" or self._call(self.client.xlen, REFRESHED_KEY) >= REFRESHED_KEEP):
            return None  # records after it may have been trimmed before this host read them
        ids: list[str] = []
        ms, seq = _stream_id(position)
        after = f"{ms}-{seq + 1}"  # the first id after ``position`` (Redis 6.0 has no exclusive ranges)
        for entry, fields in self._call(lambda: self.client.xrange(REFRESHED_KEY, min=after)):
            position = _text(entry)
            if _text(fields.get(b"origin", b"")) != origin:
                ids.extend(i for i in _text(fields.get(b"ids", b"")).split("\n") if i)
        return ids, position

    def refreshing(self) -> bool:
        """Whether a worker is refreshing now (and will look at the set again once it has released the lock)."""
        return bool(self._call(self.client.exists, REFRESHING_KEY))

    def mark(self) -> None:
        self._call(lambda: self.client.set(REFRESHING_KEY, b"1", ex=int(REFRESH_LOCK_SECONDS)))

    def unmark(self) -> None:
        self._call(self.client.delete, REFRESHING_KEY)


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _stream_id(entry: str) -> tuple[int, int]:
    ms, _, seq = entry.partition("-")
    return int(ms), int(seq or 0)


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
