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
