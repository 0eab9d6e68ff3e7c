"""The var dir's write lock: re-entrant in a thread, exclusive across threads and processes."""

from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path

from riskmine.store.locks import write_lock_for

# Exits 0 when it could take the lock file's flock at once, 1 when someone holds it.
_TRY = """
import fcntl, os, sys
fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT)
try:
    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
except BlockingIOError:
    sys.exit(1)
"""


def _free_elsewhere(path: Path) -> bool:
    return subprocess.run([sys.executable, "-c", _TRY, str(path)], check=False).returncode == 0


def test_one_lock_per_var_dir_reentrant_and_held_across_processes(tmp_path: Path) -> None:
    lock = write_lock_for(tmp_path)
    assert write_lock_for(tmp_path) is lock and write_lock_for(tmp_path / "other") is not lock
    with lock:
        with write_lock_for(tmp_path):  # nested in one thread: no wait on itself
            assert lock.locked()
        assert lock.locked() and not _free_elsewhere(lock.path)  # another process waits
    assert not lock.locked() and _free_elsewhere(lock.path)


def test_another_thread_waits_for_the_holder(tmp_path: Path) -> None:
    lock = write_lock_for(tmp_path)
    order: list[str] = []
    entered = threading.Event()

    def other() -> None:
        entered.set()
        with lock:
            order.append("other")

    with lock:
        thread = threading.Thread(target=other)
        thread.start()
        entered.wait(5)
        thread.join(0.2)  # it cannot get in while this thread holds the lock
        order.append("holder")
    thread.join(5)
    assert order == ["holder", "other"]


# Holds the lock file's flock until its standard input closes.
_HOLD = """
import fcntl, os, sys
fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT)
fcntl.flock(fd, fcntl.LOCK_EX)
print("held", flush=True)
sys.stdin.read()
"""


def test_try_acquire_does_not_wait_for_another_process_or_thread(tmp_path: Path) -> None:
    lock = write_lock_for(tmp_path)
    lock.path.parent.mkdir(parents=True, exist_ok=True)
    holder = subprocess.Popen(
        [sys.executable, "-c", _HOLD, str(lock.path)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        assert not lock.try_acquire() and not lock.locked()  # another process holds it: no wait, nothing held
    finally:
        assert holder.stdin is not None
        holder.stdin.close()
        holder.wait(timeout=30)
    assert lock.try_acquire() and lock.locked()
    try:
        assert lock.try_acquire()  # re-entrant in this thread
        lock.release()
        other: list[bool] = []
        thread = threading.Thread(target=lambda: other.append(lock.try_acquire()))
        thread.start()
        thread.join(timeout=30)
        assert other == [False]  # another thread of this process does not wait either
        assert not _free_elsewhere(lock.path)
    finally:
        lock.release()
    assert not lock.locked() and _free_elsewhere(lock.path)
