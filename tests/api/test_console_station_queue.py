"""The station page with a task queue (RISKMINE_QUEUE_URL): a batch whose documents were sent to the queue says
"已排队，等待处理" while no worker has taken it (a real redis-server, no worker running), and shows the workers'
progress read from the store once a worker (riskmine.worker, in this process) has processed it."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from riskmine.review.users import UserStore
from riskmine.settings import Settings
from riskmine.store.base import Collection
from riskmine.store.sqlite import SQLiteStore
from riskmine.worker import TaskRunner, serve_tasks
from tests.api.apikit import keyword_pipeline
from tests.api.test_api_console import console_login
from tests.api.test_console_station_upload import FEEDS, STATION, send
from tests.redis_server import redis_server

QUEUED = "已排队，等待处理"


def _wait(condition: Callable[[], bool], what: str, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.2)


@pytest.mark.slow
def test_a_queued_batch_says_queued_then_shows_the_workers_progress(
    tmp_path: Path,
    make_client: Callable[..., TestClient],
    users: UserStore,
    store: SQLiteStore,
    settings: Settings,
) -> None:
    with redis_server(tmp_path) as url:
        client = make_client(queue_url=url)
        console_login(client, users, "station", organisation=STATION)
        r = send(client, "报送表.csv", (FEEDS / "station_general.csv").read_bytes())
        assert r.status_code == 303, r.text
        batch_id = re.search(r"batch=([^&#]+)", r.headers["location"]).group(1)  # type: ignore[union-attr]

        # no worker: the documents are stored, none processed, and the page says the batch waits in the queue
        assert store.count(Collection.documents) == 3 and store.count(Collection.signals) == 0
        html = client.get(r.headers["location"]).text
        assert f'<span class="badge batch-queued">{QUEUED}</span>' in html
        assert "后台处理进度：已处理 0 / 3 篇文档，风险信号 0 条" in html
        assert '<dd id="report-accepted">3</dd>' in html  # the row report is there already
        listing = client.get("/station").text  # the batch list says it too
        assert listing.count(QUEUED) == 1 and "0 / 3" in listing
        api = client.get(f"/api/v1/stations/{STATION}/batches/{batch_id}").json()
        assert api["processed"] == 0 and api["candidates"] is None

        # a worker takes the task: the page shows what it processed, from the store
        worker_settings = settings.model_copy(update={"queue_url": url})
        lines: list[str] = []
        runner = TaskRunner(worker_settings, store, keyword_pipeline(), log=lines.append)
        stop = threading.Event()
        thread = threading.Thread(
            target=serve_tasks, args=(worker_settings, runner, stop), kwargs={"log": lines.append}
        )
        thread.start()
        try:
            _wait(lambda: any("任务完成" in line for line in lines), "the worker to finish the task")
        finally:
            stop.set()
            thread.join(timeout=60)
        assert any("收到任务：3 篇文档" in line for line in lines), lines
        signals = list(store.iterate(Collection.signals))
        risks = sum(1 for s in signals if s.is_risk)
        assert len(signals) == 3
        html = client.get(r.headers["location"]).text
        assert QUEUED not in html
        assert '<span class="badge batch-done">已完成</span>' in html
        assert f"已由后台处理完成：3 篇文档，风险信号 {risks} 条" in html
        assert f'<dd id="report-risks">{risks}</dd>' in html
        assert QUEUED not in client.get("/station").text


def test_without_a_queue_the_batch_is_processed_in_the_request_and_never_says_queued(
    client: TestClient, users: UserStore, store: SQLiteStore
) -> None:
    console_login(client, users, "station", organisation=STATION)
    r = send(client, "报送表.csv", (FEEDS / "station_general.csv").read_bytes())
    assert r.status_code == 303, r.text
    html = client.get(r.headers["location"]).text
    assert store.count(Collection.signals) == 3
    assert QUEUED not in html and "后台处理" not in html
    assert '<span class="badge batch-done">已完成</span>' in html
