"""The task queue without a Redis: the setting, the Chinese error naming an unreachable URL, a submission that
queues instead of processing, and a task that is idempotent when handed out again."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from riskmine.cli import app
from riskmine.knowledge_graph.graph import forget_graphs
from riskmine.pipeline import Pipeline
from riskmine.queue import QueueError, TaskQueue, check_queue, task_queue
from riskmine.settings import Settings, SettingsError, get_settings, load_settings
from riskmine.store.base import Collection
from riskmine.store.sqlite import SQLiteStore
from riskmine.submission import Submission
from tests.redis_server import free_port

ROWS = [
    {"id": "q1", "text": "这个充电宝充电的时候冒烟了，外壳鼓包发烫，差点起火，太吓人了", "product": "充电宝"},
    {"id": "q2", "text": "移动电源充着电突然冒烟起火，把床单都烧了一个洞", "product": "充电宝"},
    {"id": "q3", "text": "物流很快，包装完好，手机很好用，好评", "product": "手机"},
]


class RecordingQueue(TaskQueue):
    """A queue that keeps the tasks it is sent."""

    def __init__(self, settings: Settings) -> None:
        super().__init__(settings)
        self.tasks: list[list[str]] = []

    def enqueue(self, document_ids: Sequence[str], **options: Any) -> str:
        self.tasks.append(list(document_ids))
        return str(len(self.tasks))


def _stored(store: SQLiteStore) -> list[str]:
    return sorted(d.id for d in store.iterate(Collection.documents))


@pytest.fixture
def pipeline(tmp_path_factory: pytest.TempPathFactory, shared_models_dir: Path) -> Pipeline:
    forget_graphs()
    settings = Settings(var_dir=tmp_path_factory.mktemp("queue-pipeline"), models_dir=shared_models_dir)
    return Pipeline.from_settings(settings, None)


def test_the_queue_url_is_a_redis_url_and_empty_means_in_process() -> None:
    assert load_settings(queue_url="  ").queue_url is None
    assert task_queue(load_settings()) is None
    assert load_settings(queue_url="redis://10.0.0.5:6379/1").queue_url == "redis://10.0.0.5:6379/1"
    with pytest.raises(SettingsError, match="RISKMINE_QUEUE_URL"):
        load_settings(queue_url="amqp://10.0.0.5")


def test_an_unreachable_queue_is_named_in_chinese(tmp_path: Path, pipeline: Pipeline) -> None:
    url = f"redis://127.0.0.1:{free_port()}/0"
    settings = Settings(var_dir=tmp_path / "var", queue_url=url)
    with pytest.raises(QueueError, match="无法连接任务队列") as raised:
        check_queue(settings)
    assert url in str(raised.value) and raised.value.status == 503
    store = SQLiteStore(tmp_path / "store.sqlite3")
    with pytest.raises(QueueError, match=url):
        Submission(store, pipeline, settings=settings).rows(ROWS, source="test", source_type="review")
    # the documents are kept: sending them again queues them (nothing was processed)
    assert store.count(Collection.documents) == len(ROWS) and store.count(Collection.signals) == 0
    queue = RecordingQueue(settings)
    again = Submission(store, pipeline, settings=settings, queue=queue).rows(ROWS, source="test", source_type="review")
    assert again.queued and len(queue.tasks) == 1 and sorted(queue.tasks[0]) == _stored(store)


def test_the_worker_command_says_what_is_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    runner = CliRunner()
    result = runner.invoke(app, ["worker"])
    assert result.exit_code == 2 and "RISKMINE_QUEUE_URL" in result.output and "未配置任务队列" in result.output
    url = f"redis://127.0.0.1:{free_port()}/3"
    monkeypatch.setenv("RISKMINE_QUEUE_URL", url)
    get_settings.cache_clear()
    result = runner.invoke(app, ["worker"])
    assert result.exit_code == 2 and "无法连接任务队列" in result.output and url in result.output


def test_a_queued_submission_stores_and_sends_a_task_and_the_task_is_idempotent(
    tmp_path: Path, pipeline: Pipeline
) -> None:
    settings = Settings(var_dir=tmp_path / "var")
    store = SQLiteStore(tmp_path / "store.sqlite3")
    queue = RecordingQueue(settings)
    outcome = Submission(store, pipeline, settings=settings, queue=queue).rows(
        ROWS, source="test", source_type="review"
    )
    assert outcome.queued and outcome.processed == 0 and outcome.candidates is None
    assert outcome.document_ids == queue.tasks[0] and sorted(queue.tasks[0]) == _stored(store)
    assert store.count(Collection.documents) == 3 and store.count(Collection.signals) == 0
    assert not list((settings.var_dir / "journal").glob("*.ids"))  # the queue holds the task now

    worker = Submission(store, pipeline, settings=settings)
    first = worker.process_task(queue.tasks[0])
    assert first.processed == 3 and first.candidates is not None and first.candidates >= 1
    signals = sorted(s.model_dump_json() for s in store.iterate(Collection.signals))
    candidates = sorted((c.id, sorted(c.signal_ids)) for c in store.iterate(Collection.candidates))
    again = worker.process_task(queue.tasks[0])  # handed out a second time: nothing new
    assert again.processed == 0 and again.candidates == first.candidates
    assert sorted(s.model_dump_json() for s in store.iterate(Collection.signals)) == signals
    assert sorted((c.id, sorted(c.signal_ids)) for c in store.iterate(Collection.candidates)) == candidates
    assert not list((settings.var_dir / "journal").glob("*.ids"))
