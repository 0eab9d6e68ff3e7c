"""One writer at a time per var dir: across threads and across processes on this host.

Storing, processing and refreshing candidates read and rewrite shared records (a candidate is rebuilt from
all of its signals), so two submissions must not interleave: not two request threads of one server, not two
server processes (``riskmine serve --workers N``), not a server and a ``riskmine process`` run. The lock is a
re-entrant thread lock taken first, then an exclusive ``flock`` on ``<var_dir>/write.lock`` held while the
outermost holder is inside. There is one lock object per var dir and process (:func:`write_lock_for`), so
nested use in one thread never waits on itself. A file lock covers one host: several hosts sharing one deployment
add the shared engine's lock (:class:`SharedWriteLock`, which the API takes with a task queue: its review changes
must not interleave with a worker's candidate refresh on another host).
"""

from __future__ import annotations

import fcntl
import os
import threading
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path
from types import TracebackType
from typing import Any, Self

__all__ = ["SharedWriteLock", "WriteLock", "write_lock_for"]

LOCK_FILE = "write.lock"


class _Held:
    """What the write locks share: ``with`` takes and releases them, :meth:`locked` says whether one is held."""

    _depth: int  # how deep the holding thread is inside

    def acquire(self) -> None:
        raise NotImplementedError

    def release(self) -> None:
        raise NotImplementedError

    def locked(self) -> bool:
        """Whether some thread of this process holds it."""
        return self._depth > 0

    def __enter__(self) -> Self:
        self.acquire()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.release()


class WriteLock(_Held):
    """Re-entrant within a thread, exclusive across threads and processes (see the module docstring)."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._thread_lock = threading.RLock()
        self._depth = 0
        self._fd: int | None = None

    def acquire(self) -> None:
        self.try_acquire(blocking=True)

    def try_acquire(self, blocking: bool = False) -> bool:
        """Take the lock, without waiting unless ``blocking``: whether it was taken (then release it)."""
        if not self._thread_lock.acquire(blocking=blocking):
            return False
        if self._depth == 0:
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX if blocking else fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    os.close(fd)
                    self._thread_lock.release()
                    return False
                except BaseException:
                    os.close(fd)
                    raise
            except BaseException:
                self._thread_lock.release()
                raise
            self._fd = fd
        self._depth += 1
        return True

    def release(self) -> None:
        self._depth -= 1
        if self._depth == 0 and self._fd is not None:
            fd, self._fd = self._fd, None
            try:
                fcntl.flock(fd, fcntl.LOCK_UN)
            finally:
                os.close(fd)
        self._thread_lock.release()


class SharedWriteLock(_Held):
    """A var dir's :class:`WriteLock` whose outermost holder also holds a lock every host shares (made by
    ``shared`` on first use, e.g. a Redis lock): re-entrant within a thread like the write lock, exclusive across
    threads, processes and hosts. The shared lock is taken after the local one and released before it."""

    def __init__(self, local: WriteLock, shared: Callable[[], AbstractContextManager[Any]]) -> None:
        self.local = local
        self._make_shared = shared
        self._shared: AbstractContextManager[Any] | None = None
        self._depth = 0  # guarded by the local lock

    def acquire(self) -> None:
        self.local.acquire()
        if self._depth == 0:
            try:
                if self._shared is None:
                    self._shared = self._make_shared()
                self._shared.__enter__()
            except BaseException:
                self.local.release()
                raise
        self._depth += 1

    def release(self) -> None:
        self._depth -= 1
        try:
            if self._depth == 0 and self._shared is not None:
                self._shared.__exit__(None, None, None)
        finally:
            self.local.release()


_locks: dict[Path, WriteLock] = {}
_locks_guard = threading.Lock()


def write_lock_for(var_dir: Path) -> WriteLock:
    """This process's write lock of a var dir (the same object on every call)."""
    path = (Path(var_dir) / LOCK_FILE).absolute()
    with _locks_guard:
        lock = _locks.get(path)
        if lock is None:
            lock = _locks[path] = WriteLock(path)
        return lock
