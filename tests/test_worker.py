"""Processing on the task queue, on a real redis-server (started here on 127.0.0.1, stopped afterwards): a queued
submission comes out of a worker as it would have out of the request; two workers share the near-duplicate
index; a task whose worker is killed is handed out again and finished with nothing duplicated."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import redis

from riskmine.knowledge_graph.graph import forget_graphs
from riskmine.nlp.dedup import DedupIndex
from riskmine.pipeline import Pipeline
from riskmine.queue import NAMESPACE, QUEUE_NAME, PendingRefresh, RefreshLock, TaskQueue
from riskmine.settings import Settings
from riskmine.store.base import Collection, Store
from riskmine.store.sqlite import SQLiteStore
from riskmine.submission import Submission
from riskmine.text.normalize import content_hash
from riskmine.worker import TaskRunner, serve_tasks
from tests.redis_server import redis_server
from tests.test_submission import GROUPED_ROWS

pytestmark = pytest.mark.integration

_BASES = [
    "这个充电宝充电的时候冒烟了，外壳鼓包发烫，差点起火，太吓人了，大家千万别买这个牌子",
    "电热毯通电后冒烟，还烧焦了一块，差点着火，晚上睡觉都不敢开了，质量太差",
    "电动车停在楼下充电突然自燃，烧了好几辆车，物业说是电池的问题，太危险了",
    "儿童玩具的小零件很容易掉下来，孩子差点吞下去，家长们一定要注意看好孩子",
    "新买的高压锅用了一次就漏气，锅盖差点飞出来，把厨房的墙都弄脏了，太可怕了",
    "吹风机用了十分钟就开始冒火花，还有一股烧焦的味道，插头都烫得不敢碰了",
]
# near duplicates (one character apart), never exact ones
PAIRS = [(f"{base}，商家还不给退货", f"{base}，商家还不给退款") for base in _BASES]
PRODUCTS = ["充电宝", "电热毯", "电动车", "玩具", "高压锅", "吹风机"]
PAIR_ROWS = [
    {"id": f"pair-{side}{i}", "text": pair[k], "product": PRODUCTS[i]}
    for k, side in enumerate("ab")
    for i, pair in enumerate(PAIRS)
]
ROWS = PAIR_ROWS + GROUPED_ROWS  # and groups of risk reports that make candidates
WORKER = [sys.executable, "-c", "from riskmine.cli import main; main()", "worker"]
STARTED, DONE = "处理进程已启动", "任务完成"

# Run as a worker process of its own that dies (SIGKILL) once four documents of its task are stored, before the
# candidates or the graph are brought up to date and before the task is acknowledged.
_DIE_MIDWAY = """
import os, signal, threading
from riskmine.pipeline import Pipeline
from riskmine.settings import get_settings
from riskmine.store.factory import open_store
from riskmine.worker import TaskRunner, serve_tasks

settings = get_settings()
store = open_store(settings)
done = 0

def die_midway(n):
    global done
    done += n
    if done >= 4:
        os.kill(os.getpid(), signal.SIGKILL)

class Dying(TaskRunner):
    def run(self, document_ids, progress=None):
        return super().run(document_ids, die_midway)

runner = Dying(settings, store, Pipeline.from_settings(settings, store), log=print)
serve_tasks(settings, runner, threading.Event(), log=print)
"""


@pytest.fixture
def redis_url(tmp_path: Path) -> Iterator[str]:
    with redis_server(tmp_path) as url:
        yield url


def _state(store: Store) -> tuple[list[tuple[str, list[str]]], list[tuple[str, bool, bool, str | None]]]:
    """The candidates with their signals, and each signal's verdict and duplicate group."""
    candidates = sorted((c.id, sorted(c.signal_ids)) for c in store.iterate(Collection.candidates))
    signals = sorted((s.id, s.is_risk, s.is_duplicate, s.duplicate_group) for s in store.iterate(Collection.signals))
    return candidates, signals


def _in_process(tmp_path: Path, models: Path, batch_size: int) -> tuple[Any, ...]:
    """What processing the rows in the request gives (the control)."""
    forget_graphs()
    settings = Settings(var_dir=tmp_path / "control", models_dir=models)
    store = SQLiteStore(tmp_path / "control.sqlite3")
    pipeline = Pipeline.from_settings(settings, store)
    Submission(store, pipeline, settings=settings, batch_size=batch_size).rows(
        ROWS, source="test", source_type="review"
    )
    state = _state(store)
    store.close()
    assert state[0] and len(state[1]) == len(ROWS)
    return state


def _queue(settings: Settings, store: Store, rows: list[dict[str, Any]]) -> None:
    """Submit the rows as the API does with a queue: stored here, one task sent (an empty pipeline: no models)."""
    outcome = Submission(store, Pipeline([]), settings=settings, queue=TaskQueue(settings)).rows(
        rows, source="test", source_type="review"
    )
    assert outcome.queued and outcome.processed == 0


def _wait(condition: Callable[[], bool], what: str, timeout: float = 240.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.2)


class Worker:
    """A worker process (``riskmine worker`` unless told otherwise) whose output lines are collected."""

    def __init__(self, env: dict[str, str], command: list[str] = WORKER) -> None:
        self.lines: list[str] = []
        self.proc = subprocess.Popen(
            command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, encoding="utf-8"
        )
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line.rstrip("\n"))

    def said(self, text: str) -> int:
        return sum(text in line for line in self.lines)

    def output(self) -> str:
        return "\n".join(self.lines)[-3000:]

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=60)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait()
            self._reader.join(timeout=5)


def _env(var_dir: Path, db: Path, url: str, **extra: str) -> dict[str, str]:
    env = dict(os.environ, PYTHONUNBUFFERED="1", COLUMNS="200")
    env.update(RISKMINE_VAR_DIR=str(var_dir), RISKMINE_DB_PATH=str(db), RISKMINE_QUEUE_URL=url, **extra)
    return env


def test_two_processes_share_the_near_duplicate_index_through_redis(redis_url: str) -> None:
    one, two = DedupIndex(redis_url=redis_url), DedupIndex(redis_url=redis_url)  # two processes' memories
    items = {
        side: [(f"{side}{i}", content_hash(p[k]), p[k]) for i, p in enumerate(PAIRS)] for k, side in enumerate("ab")
    }
    with ThreadPoolExecutor(2) as pool:  # at the same time
        a, b = pool.submit(one.assign, items["a"]), pool.submit(two.assign, items["b"])
        results = {"a": a.result(), "b": b.result()}
    for i in range(len(PAIRS)):
        first, second = results["a"][i], results["b"][i]
        assert [first.is_duplicate, second.is_duplicate].count(False) == 1  # exactly one is accepted
        assert first.group == second.group in (f"a{i}", f"b{i}")
    later = DedupIndex(redis_url=redis_url)
    later.load()
    assert len(later) == 2 * len(PAIRS) and later.assign(items["b"][:1])[0].group == results["b"][0].group


def test_a_queued_submission_is_processed_by_a_worker_as_in_the_request(
    tmp_path: Path, redis_url: str, shared_models_dir: Path
) -> None:
    expected = _in_process(tmp_path, shared_models_dir, batch_size=256)
    forget_graphs()
    settings = Settings(var_dir=tmp_path / "var", models_dir=shared_models_dir, queue_url=redis_url)
    store = SQLiteStore(tmp_path / "store.sqlite3")
    _queue(settings, store, ROWS)
    assert store.count(Collection.documents) == len(ROWS) and store.count(Collection.signals) == 0
    lines: list[str] = []
    runner = TaskRunner(settings, store, Pipeline.from_settings(settings, store), log=lines.append)
    stop = threading.Event()
    thread = threading.Thread(target=serve_tasks, args=(settings, runner, stop), kwargs={"log": lines.append})
    thread.start()
    try:
        _wait(lambda: any(DONE in line for line in lines), "the worker to finish the task")
    finally:
        stop.set()
        thread.join(timeout=60)
    assert _state(store) == expected
    assert any(f"收到任务：{len(ROWS)} 篇文档" in line for line in lines)


def test_two_workers_with_near_duplicates_split_between_them_accept_one_of_each_pair(
    tmp_path: Path, redis_url: str
) -> None:
    db = tmp_path / "store.sqlite3"
    # two hosts: a var dir each (no shared lock, no shared file), one store; small batches, so the tasks overlap
    workers = [Worker(_env(tmp_path / f"host{n}", db, redis_url, RISKMINE_BATCH_SIZE="1")) for n in (1, 2)]
    try:
        for w in workers:
            _wait(lambda w=w: w.said(STARTED) > 0 or w.proc.poll() is not None, "a worker to start")
            assert w.said(STARTED), w.output()
        settings = Settings(var_dir=tmp_path / "api", db_path=db, queue_url=redis_url)
        store = SQLiteStore(db)
        fillers = [{"id": f"f{i}", "text": f"订单{i}号商品有点小问题", "product": "杂货"} for i in range(12)]
        half = len(PAIRS)
        _queue(settings, store, PAIR_ROWS[:half] + fillers[:6])  # every "a" text: one task
        _queue(settings, store, PAIR_ROWS[half:] + fillers[6:])  # every "b" text, its near duplicate: another
        _wait(lambda: sum(w.said(DONE) for w in workers) >= 2, "both tasks to be done")
    finally:
        codes = [w.stop() for w in workers]
    assert codes == [0, 0], [w.output() for w in workers]
    assert [w.said("收到任务") for w in workers] == [1, 1], [w.output() for w in workers]  # one task each
    signals = {s.id: s for s in store.iterate(Collection.signals)}
    assert len(signals) == len(PAIR_ROWS) + 12
    by_text = {s.document.text: s for s in signals.values()}
    for a_text, b_text in PAIRS:
        a, b = by_text[a_text], by_text[b_text]
        assert [a.is_duplicate, b.is_duplicate].count(False) == 1, (a_text, a.duplicate_group, b.duplicate_group)
        assert a.duplicate_group == b.duplicate_group in (a.id, b.id)


def test_a_task_whose_worker_is_killed_is_handed_out_again_and_nothing_is_duplicated(
    tmp_path: Path, redis_url: str, shared_models_dir: Path
) -> None:
    expected = _in_process(tmp_path, shared_models_dir, batch_size=2)
    db = tmp_path / "store.sqlite3"
    env = _env(tmp_path / "var", db, redis_url, RISKMINE_BATCH_SIZE="2", RISKMINE_QUEUE_REDELIVERY_SECONDS="2")
    dying = Worker(env, [sys.executable, "-c", _DIE_MIDWAY])
    settings = Settings(var_dir=tmp_path / "api", db_path=db, queue_url=redis_url)
    store = SQLiteStore(db)
    _queue(settings, store, ROWS)
    try:
        code = dying.proc.wait(timeout=240)
    finally:
        dying.stop()
    assert code == -signal.SIGKILL, dying.output()
    assert store.count(Collection.signals) == 4  # two batches stored; the task was never acknowledged
    second = Worker(env)
    try:
        _wait(lambda: second.said(DONE) > 0 or second.proc.poll() is not None, "the task handed out again")
    finally:
        code = second.stop()
    assert code == 0 and second.said("其中 4 篇已处理，跳过") == 1, second.output()
    assert _state(store) == expected


def _hosts(tmp_path: Path, redis_url: str, models: Path, rows: list[dict[str, Any]]) -> tuple[list[str], Settings]:
    """The rows stored and queued as the API does (no worker takes the tasks here); their ids, and the settings of
    one worker host (a var dir of its own)."""
    forget_graphs()
    db = tmp_path / "store.sqlite3"
    api = Settings(var_dir=tmp_path / "api", db_path=db, queue_url=redis_url)
    store = SQLiteStore(db)
    outcome = Submission(store, Pipeline([]), settings=api, queue=TaskQueue(api)).rows(
        rows, source="test", source_type="review"
    )
    store.close()
    redis.Redis.from_url(redis_url).delete(f"{NAMESPACE}:{QUEUE_NAME}")  # the task is taken (by the test's runners)
    return outcome.document_ids, Settings(var_dir=tmp_path / "host", db_path=db, queue_url=redis_url, models_dir=models)


def _runner(settings: Settings, host: str, **options: Any) -> TaskRunner:
    """A worker host's task runner, with a store connection of its own."""
    settings = settings.model_copy(update={"var_dir": settings.var_dir.with_name(host)})
    store = SQLiteStore(settings.db_path)
    return TaskRunner(settings, store, Pipeline.from_settings(settings, store), **options)


def _in_thread(fn: Callable[[], Any], timeout: float) -> Any:
    """fn's result, or a failure when it has not returned within timeout seconds (it waited for a lock)."""
    with ThreadPoolExecutor(1) as pool:
        future = pool.submit(fn)
        try:
            return future.result(timeout=timeout)
        except TimeoutError:
            pytest.fail(f"did not return within {timeout} s: it waited")


@pytest.mark.slow
def test_a_worker_leaves_its_refresh_to_the_worker_refreshing_now_which_takes_it(
    tmp_path: Path, redis_url: str, shared_models_dir: Path
) -> None:
    expected = _in_process(tmp_path, shared_models_dir, batch_size=256)
    ids, settings = _hosts(tmp_path, redis_url, shared_models_dir, ROWS)
    first, second = ids[: len(ids) // 2], ids[len(ids) // 2 :]
    one, two = _runner(settings, "host1"), _runner(settings, "host2")
    owed, refreshing = PendingRefresh(settings), RefreshLock(settings)
    assert refreshing.acquire()  # as a worker on a third host does while it refreshes
    owed.mark()
    try:
        outcome = _in_thread(lambda: one.run(first), timeout=120)  # blocking here would never return
        assert outcome.processed == len(first) and outcome.timings["refreshes"] == 0
        assert owed.count() == len(first) and one.store.count(Collection.candidates) == 0  # recorded, owed
    finally:
        owed.unmark()
        refreshing.release()
    outcome = two.run(second)  # takes the lock: one refresh for both tasks
    assert outcome.processed == len(second) and outcome.timings["refreshes"] == 1
    assert owed.count() == 0 and not owed.refreshing()
    assert _state(two.store) == expected
    assert one.refresh_owed() is None  # nothing left owed


@pytest.mark.slow
def test_a_worker_that_fails_before_its_refresh_is_stored_leaves_it_owed_and_another_does_it(
    tmp_path: Path, redis_url: str, shared_models_dir: Path
) -> None:
    expected = _in_process(tmp_path, shared_models_dir, batch_size=256)
    ids, settings = _hosts(tmp_path, redis_url, shared_models_dir, ROWS)

    def fail(store: Store) -> None:
        raise RuntimeError("killed half-way through the refresh")

    failing = _runner(settings, "host1", after_refresh=fail)
    with pytest.raises(RuntimeError, match="half-way"):
        failing.run(ids)
    owed = PendingRefresh(settings)
    assert failing.store.count(Collection.signals) == len(ids) and owed.count() == len(ids)  # kept in Redis
    assert not owed.refreshing()  # nobody takes them now: an idle worker does
    other = _runner(settings, "host2")
    outcome = other.refresh_owed()
    assert outcome is not None and outcome.timings["refreshes"] == 1
    assert owed.count() == 0 and _state(other.store) == expected


@pytest.mark.slow
def test_a_worker_waits_for_a_lock_holder_that_does_not_refresh_and_refreshes_itself(
    tmp_path: Path, redis_url: str, shared_models_dir: Path
) -> None:
    expected = _in_process(tmp_path, shared_models_dir, batch_size=256)
    ids, settings = _hosts(tmp_path, redis_url, shared_models_dir, ROWS)
    runner = _runner(settings, "host1")
    held, done = threading.Event(), threading.Event()
    owed = PendingRefresh(settings)

    def api_write() -> None:  # an API changing candidates holds the lock a while; it refreshes nothing
        with RefreshLock(settings):
            held.set()
            while owed.count() < len(ids) and not done.wait(0.05):  # until the worker has stored its signals
                pass
            done.wait(1.0)  # and then tries the lock

    holder = threading.Thread(target=api_write)
    holder.start()
    try:
        assert held.wait(30)
        outcome = runner.run(ids)
    finally:
        done.set()
        holder.join(timeout=30)
    assert outcome.timings["refreshes"] == 1 and outcome.timings["lock_wait"] > 0
    assert owed.count() == 0 and _state(runner.store) == expected
