"""Queue workers coalesce their refreshes (issue 18), on a real redis-server started here on 127.0.0.1: while tasks
wait in the queue, a task's refresh is left owed until enough signals are owed or the oldest has waited the
promised delay; once the queue is empty everything owed is refreshed, and the result equals processing in the
request. Each host's graph takes the other hosts' refreshes from the stream in Redis instead of being rebuilt."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
import redis

from riskmine.knowledge_graph.graph import forget_graphs, graph_file, iter_signal_nodes, load_graph
from riskmine.queue import LEGACY_PENDING_KEY, NAMESPACE, QUEUE_NAME, REFRESHED_KEY, PendingRefresh, TaskQueue
from riskmine.settings import Settings
from riskmine.store.base import Collection
from tests.test_worker import ROWS, _hosts, _in_process, _runner, _state, redis_url

pytestmark = pytest.mark.integration

__all__ = ["redis_url"]  # the fixture, used by name


def _waiting(settings: Settings) -> None:
    """A task waits in the queue (sent, nobody takes it here): the workers' refreshes are not due for that."""
    TaskQueue(settings).enqueue(["not-a-document"])


def _drain(url: str) -> None:
    """The queue empties (the task waiting is taken elsewhere)."""
    redis.Redis.from_url(url).delete(f"{NAMESPACE}:{QUEUE_NAME}")


def _coalescing(settings: Settings, **update: Any) -> Settings:
    return settings.model_copy(
        update={"queue_refresh_min_owed": 10**6, "queue_refresh_max_delay_seconds": 3600.0, **update}
    )


@pytest.mark.slow
def test_small_tasks_of_two_workers_share_one_refresh_once_the_queue_is_empty(
    tmp_path: Path, redis_url: str, shared_models_dir: Path
) -> None:
    expected = _in_process(tmp_path, shared_models_dir, batch_size=256)
    ids, settings = _hosts(tmp_path, redis_url, shared_models_dir, ROWS)
    settings = _coalescing(settings)
    one, two = _runner(settings, "host1"), _runner(settings, "host2")
    owed = PendingRefresh(settings)
    size = -(-len(ids) // 4)
    tasks = [ids[i : i + size] for i in range(0, len(ids), size)]  # in order: the same duplicate groups
    _waiting(settings)
    for runner, task in zip((one, two, one, two), tasks, strict=False):
        outcome = runner.run(task)
        assert outcome.processed == len(task)
        assert outcome.timings["refreshes"] == 0 and outcome.timings["deferred"] == 1  # left owed, not lost
    assert owed.count() == len(ids) and one.store.count(Collection.candidates) == 0
    assert one.refresh_owed() is None  # idle, but a task waits and nothing is old: not due yet
    _drain(redis_url)
    outcome = two.refresh_owed()  # the queue is empty: an idle worker refreshes for all four tasks at once
    assert outcome is not None and outcome.timings["refreshes"] == 1
    assert owed.count() == 0 and _state(two.store) == expected
    assert one.refresh_owed() is None  # nothing left owed


@pytest.mark.slow
def test_a_refresh_is_made_once_the_oldest_owed_signal_has_waited_the_promised_delay(
    tmp_path: Path, redis_url: str, shared_models_dir: Path
) -> None:
    ids, settings = _hosts(tmp_path, redis_url, shared_models_dir, ROWS)
    settings = _coalescing(settings, queue_refresh_max_delay_seconds=1.0)
    one, two = _runner(settings, "host1"), _runner(settings, "host2")
    owed = PendingRefresh(settings)
    first, second = ids[: len(ids) // 2], ids[len(ids) // 2 :]
    _waiting(settings)
    assert one.run(first).timings["refreshes"] == 0
    time.sleep(1.1)
    assert owed.state()[1] >= 1.0  # the oldest owed, by the Redis clock
    outcome = two.run(second)  # a task still waits, but the first task's signals have waited long enough
    assert outcome.timings["refreshes"] == 1 and owed.count() == 0
    candidates = {sid for c in two.store.iterate(Collection.candidates) for sid in c.signal_ids}
    assert candidates & set(first) and candidates & set(second)
    # enough owed is due at once, however young
    more = _coalescing(settings, queue_refresh_min_owed=2)
    three = _runner(more, "host3")
    assert PendingRefresh(more).due() is False
    PendingRefresh(more).add(first[:2])
    assert PendingRefresh(more).due() is True and three.refresh_owed() is not None and owed.count() == 0


@pytest.mark.slow
def test_each_hosts_graph_takes_the_other_hosts_refreshes_without_a_rebuild(
    tmp_path: Path, redis_url: str, shared_models_dir: Path
) -> None:
    ids, settings = _hosts(tmp_path, redis_url, shared_models_dir, ROWS)
    one, two = _runner(settings, "host1"), _runner(settings, "host2")
    a, b, c, late = ids[:8], ids[8:16], ids[16:-2], ids[-2:]
    assert one.run(a).timings["refreshes"] == 1  # the queue is empty: refreshed at once
    assert two.run(b).timings["refreshes"] == 1
    # a signal stored but not refreshed yet (another worker's task in hand): no reason for host1 to rebuild
    one.submission.processor.process_documents(one.store, late)  # type: ignore[union-attr]
    assert one.run(c).timings["refreshes"] == 1
    forget_graphs()
    kg1 = load_graph(graph_file(settings.model_copy(update={"var_dir": settings.var_dir.with_name("host1")})))
    assert kg1 is not None
    assert kg1.signal_count == len(a) + len(b) + len(c)  # host2's refresh taken from the stream, no rebuild
    assert {sid for sid, _ in iter_signal_nodes(kg1, ids)} == set(a) | set(b) | set(c)


def test_the_stream_of_refreshes_gives_the_other_hosts_ids_and_says_when_it_no_longer_reaches_back(
    redis_url: str,
) -> None:
    settings = Settings(queue_url=redis_url)
    owed = PendingRefresh(settings)
    start = owed.position()
    mine = owed.published(["s1", "s2"], "host1")
    theirs = owed.published(["s3"], "host2")
    assert owed.refreshed_since(start, "host1") == (["s3"], theirs)
    assert owed.refreshed_since(start, "host2") == (["s1", "s2"], theirs)
    assert owed.refreshed_since(mine, "host1") == (["s3"], theirs) and owed.position() == theirs
    owed.published(["s4"], "host2")
    redis.Redis.from_url(redis_url).xtrim(REFRESHED_KEY, maxlen=1, approximate=False)  # older records dropped
    assert owed.refreshed_since(mine, "host1") is None  # host1 catches up from the store instead


def test_ids_an_earlier_version_left_owed_are_adopted(redis_url: str) -> None:
    redis.Redis.from_url(redis_url).sadd(LEGACY_PENDING_KEY, "s1", "s2")
    owed = PendingRefresh(Settings(queue_url=redis_url))
    assert owed.snapshot() == ["s1", "s2"] and not redis.Redis.from_url(redis_url).exists(LEGACY_PENDING_KEY)
    assert owed.due()  # no task waits: refreshed by the next worker that looks
