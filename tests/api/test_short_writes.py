"""Short writes on the event loop (issue 18): AppState.run_short_write runs a write of a few local SQLite statements
in place when the write lock is free now, and on the write threads (waiting for the lock there, never on the loop)
when another thread or process holds it; a one-document submission without processing takes that way."""

from __future__ import annotations

import asyncio
import fcntl
import os
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient

from riskmine.api.state import AppState
from riskmine.review.users import UserStore
from riskmine.settings import Settings
from riskmine.store.base import Collection
from riskmine.store.locks import LOCK_FILE, SharedWriteLock, WriteLock
from riskmine.store.sqlite import SQLiteStore


def _state(settings: Settings, users: UserStore, store: SQLiteStore) -> AppState:
    return AppState(settings=settings, users=users, store=store)


def _local_only(store: object) -> None:
    """Writes run in place only over a local SQLite store (the API suite also runs over the search cluster)."""
    if not isinstance(store, SQLiteStore):
        pytest.skip("writes run in place only over a local SQLite store")


def _where(lock: WriteLock) -> tuple[int, bool]:
    """The thread a write runs on, and whether it holds the write lock there."""
    return threading.get_ident(), lock.locked() and lock._thread_lock._is_owned()  # type: ignore[attr-defined]


def test_a_short_write_runs_in_place_under_the_lock_when_it_is_free(
    settings: Settings, users: UserStore, store: SQLiteStore
) -> None:
    _local_only(store)
    state = _state(settings, users, store)
    assert isinstance(state.write_lock, WriteLock) and state.inline_writes()

    async def go() -> tuple[int, tuple[int, bool]]:
        return threading.get_ident(), await state.run_short_write(_where, state.write_lock)

    loop_thread, (write_thread, held) = asyncio.run(go())
    assert write_thread == loop_thread and held
    assert state.inline_write_count == 1
    assert not state.write_lock.locked()  # released: another thread takes it at once
    other = threading.Thread(target=lambda: state.write_lock.acquire() or state.write_lock.release())
    other.start()
    other.join(timeout=5)
    assert not other.is_alive()
    state.close()


def test_an_error_in_a_short_write_releases_the_lock(settings: Settings, users: UserStore, store: SQLiteStore) -> None:
    state = _state(settings, users, store)

    def fail() -> None:
        raise ValueError("refused")

    async def go() -> None:
        try:
            await state.run_short_write(fail)
        except ValueError:
            return
        raise AssertionError("the error was not raised")

    asyncio.run(go())
    assert not state.write_lock.locked()
    assert state.write_lock.try_acquire()
    state.write_lock.release()


def test_a_write_waits_for_a_held_lock_on_a_write_thread_while_the_loop_serves_others(
    settings: Settings, users: UserStore, store: SQLiteStore
) -> None:
    state = _state(settings, users, store)
    held = threading.Event()
    release = threading.Event()

    def holder() -> None:
        with state.write_lock:
            held.set()
            release.wait(10)

    thread = threading.Thread(target=holder)
    thread.start()
    assert held.wait(5)

    async def go() -> tuple[int, tuple[int, bool], int]:
        ticks = 0

        async def ticker() -> None:
            nonlocal ticks
            while True:
                await asyncio.sleep(0.01)
                ticks += 1

        tick = asyncio.create_task(ticker())
        asyncio.get_running_loop().call_later(0.2, release.set)
        where = await state.run_short_write(_where, state.write_lock)
        tick.cancel()
        return threading.get_ident(), where, ticks

    loop_thread, (write_thread, locked), ticks = asyncio.run(go())
    thread.join(5)
    assert write_thread != loop_thread and locked  # on a write thread, under the lock
    assert state.inline_write_count == 0
    assert ticks >= 5  # the loop ran on while the write waited for the lock
    state.close()


def test_a_lock_held_by_another_process_is_waited_for_off_the_loop(
    settings: Settings, users: UserStore, store: SQLiteStore
) -> None:
    state = _state(settings, users, store)
    assert isinstance(state.write_lock, WriteLock)
    # a flock on another open file description of the lock file: what another server process holds
    state.write_lock.path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(settings.var_dir / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o644)
    fcntl.flock(fd, fcntl.LOCK_EX)
    unlocked_at: list[float] = []

    def unlock() -> None:
        unlocked_at.append(time.perf_counter())
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)

    async def go() -> tuple[int, tuple[int, bool]]:
        asyncio.get_running_loop().call_later(0.1, unlock)
        return threading.get_ident(), await state.run_short_write(_where, state.write_lock)

    loop_thread, (write_thread, locked) = asyncio.run(go())
    assert write_thread != loop_thread and locked and unlocked_at
    assert state.inline_write_count == 0
    state.close()


def test_with_a_task_queue_writes_keep_to_the_write_threads(
    settings: Settings, users: UserStore, store: SQLiteStore
) -> None:
    state = _state(settings.model_copy(update={"queue_url": "redis://127.0.0.1:1/0"}), users, store)
    assert isinstance(state.write_lock, SharedWriteLock)
    assert not state.inline_writes()  # the shared lock is a network round trip: never on the loop


def _doc(n: int) -> dict[str, Any]:
    return {"id": f"short-{n}-{time.time_ns()}", "text": f"充电宝充电时冒烟发烫，第{n}次反馈", "product": "充电宝"}


def test_a_small_submission_without_processing_is_stored_on_the_loop(
    client: TestClient, login: Callable[..., dict[str, str]], store: SQLiteStore
) -> None:
    _local_only(store)
    state: AppState = client.app.state.riskmine  # type: ignore[attr-defined]
    headers = login("analyst")
    before = state.inline_write_count
    r = client.post(
        "/api/v1/documents?source=t&source_type=review&process=false", json=[_doc(1), _doc(2)], headers=headers
    )
    assert r.status_code == 201, r.text
    assert r.json()["accepted"] == 2
    assert state.inline_write_count == before + 1
    assert all(store.get(Collection.documents, i) is not None for i in r.json()["document_ids"])

    # processing (the pipeline), or a batch over the bound, stays on the write threads
    r = client.post("/api/v1/documents?source=t&source_type=review", json=[_doc(3)], headers=headers)
    assert r.status_code == 201, r.text
    from riskmine.api.routers.documents import INLINE_WRITE_ROWS

    many = [_doc(10 + i) for i in range(INLINE_WRITE_ROWS + 1)]
    r = client.post("/api/v1/documents?source=t&source_type=review&process=false", json=many, headers=headers)
    assert r.status_code == 201, r.text
    assert state.inline_write_count == before + 1

    # the checks ahead of the write are unchanged: no login, a role that may not write, an invalid row
    assert client.post("/api/v1/documents?process=false", json=[_doc(4)]).status_code == 401
    r = client.post("/api/v1/documents?process=false", json=[_doc(5)], headers=login("api_consumer"))
    assert r.status_code == 403
    r = client.post("/api/v1/documents?source=t&process=false", json=[{"id": "x"}], headers=headers)
    assert r.status_code == 422
    assert state.inline_write_count == before + 2  # the invalid row was refused by the write itself, in place
