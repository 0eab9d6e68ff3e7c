"""`riskmine ingest` and `riskmine process` with a task queue (RISKMINE_QUEUE_URL, a real redis-server): the new
documents are sent to the queue as one task, as the API sends them, and the output says so in Chinese with the
count; --local processes them in this process anyway; a queue that cannot be reached is a clear error."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from riskmine.cli import app
from riskmine.queue import QUEUE_NAME
from riskmine.store.base import Collection
from riskmine.store.factory import open_store
from tests.redis_server import free_port, redis_server

runner = CliRunner()
ROWS = [
    {"source_id": "1", "text": "充电宝充电时冒烟起火，烧坏了桌子", "product": "充电宝", "source_type": "review"},
    {"source_id": "2", "text": "移动电源充电发烫冒烟，吓得赶紧拔掉", "product": "充电宝", "source_type": "review"},
    {"source_id": "3", "text": "快递很快，包装很好", "source_type": "review"},
]


@pytest.fixture
def redis_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    from riskmine.settings import get_settings

    with redis_server(tmp_path) as url:
        monkeypatch.setenv("RISKMINE_QUEUE_URL", url)
        get_settings.cache_clear()
        yield url


def _feed(path: Path, rows: list[dict[str, str]] = ROWS) -> Path:
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n", encoding="utf-8")
    return path


def _tasks(url: str) -> list[list[str]]:
    """The document ids of each task waiting in the queue (read from Redis the way a worker reads them)."""
    import dramatiq
    import redis

    from riskmine.queue import NAMESPACE

    client = redis.Redis.from_url(url)
    ids = client.lrange(f"{NAMESPACE}:{QUEUE_NAME}", 0, -1)
    messages = [client.hget(f"{NAMESPACE}:{QUEUE_NAME}.msgs", i) for i in ids]
    return [list(dramatiq.Message.decode(m).args[0]) for m in messages if m is not None]


def _counts() -> tuple[int, int]:
    from riskmine.settings import get_settings

    store = open_store(get_settings())
    try:
        return store.count(Collection.documents), store.count(Collection.signals)
    finally:
        store.close()


def test_ingest_sends_the_new_documents_to_the_queue(tmp_path: Path, redis_url: str) -> None:
    result = runner.invoke(app, ["ingest", str(_feed(tmp_path / "feed.jsonl")), "--source", "t"])
    assert result.exit_code == 0, result.output
    assert "3 accepted" in result.output
    assert "已将 3 篇文档提交处理队列" in result.output and redis_url in result.output
    assert "candidate risks" not in result.output  # nothing processed here
    assert _counts() == (3, 0)
    [task] = _tasks(redis_url)
    assert len(task) == 3

    # the same file again while no worker has run: the stored but unprocessed documents are sent again (as the
    # API sends them; a worker skips those processed meanwhile)
    again = runner.invoke(app, ["ingest", str(tmp_path / "feed.jsonl"), "--source", "t"])
    assert again.exit_code == 0 and "3 duplicates" in again.output and "已将 3 篇文档提交处理队列" in again.output
    assert len(_tasks(redis_url)) == 2
    # once processed, the same file again sends nothing
    assert runner.invoke(app, ["process", "--local"]).exit_code == 0 and _counts() == (3, 3)
    third = runner.invoke(app, ["ingest", str(tmp_path / "feed.jsonl"), "--source", "t"])
    assert third.exit_code == 0 and "3 duplicates" in third.output and "提交处理队列" not in third.output
    assert len(_tasks(redis_url)) == 2


def test_process_queues_what_is_pending_and_local_processes_here(tmp_path: Path, redis_url: str) -> None:
    stored = runner.invoke(app, ["ingest", str(_feed(tmp_path / "feed.jsonl")), "--source", "t", "--no-process"])
    assert stored.exit_code == 0 and "提交处理队列" not in stored.output
    queued = runner.invoke(app, ["process"])
    assert queued.exit_code == 0, queued.output
    assert "已将 3 篇文档提交处理队列" in queued.output
    assert _counts() == (3, 0) and [len(t) for t in _tasks(redis_url)] == [3]

    local = runner.invoke(app, ["process", "--local"])
    assert local.exit_code == 0, local.output
    assert "processed 3 documents" in local.output and "提交处理队列" not in local.output
    assert _counts() == (3, 3)
    assert len(_tasks(redis_url)) == 1  # nothing more sent

    # --all reprocesses here: a worker would skip the documents processed already
    again = runner.invoke(app, ["process", "--all"])
    assert again.exit_code == 0, again.output
    assert "在本进程处理" in again.output and "processed 3 documents" in again.output
    assert len(_tasks(redis_url)) == 1


def test_ingest_local_processes_here(tmp_path: Path, redis_url: str) -> None:
    result = runner.invoke(app, ["ingest", str(_feed(tmp_path / "feed.jsonl")), "--source", "t", "--local"])
    assert result.exit_code == 0, result.output
    assert "processed 3 documents" in result.output and "提交处理队列" not in result.output
    assert _counts() == (3, 3) and _tasks(redis_url) == []


def test_an_unreachable_queue_is_a_clear_error_and_the_documents_stay_stored(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from riskmine.settings import get_settings

    monkeypatch.setenv("RISKMINE_QUEUE_URL", f"redis://127.0.0.1:{free_port()}/0")  # nothing listens there
    get_settings.cache_clear()
    result = runner.invoke(app, ["ingest", str(_feed(tmp_path / "feed.jsonl")), "--source", "t"])
    assert result.exit_code == 1, result.output
    assert "未能提交处理队列" in result.output and "--local" in result.output
    assert _counts() == (3, 0)  # stored; `riskmine process` sends or processes them later
