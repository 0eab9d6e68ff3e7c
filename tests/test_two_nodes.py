"""Two nodes agree with one (issue 20, item 5): two API processes and two workers, each node with a var dir of its
own (as two hosts), sharing only OpenSearch (the store), PostgreSQL (review, users, batches) and Redis (the queue,
the near-duplicate index, the refresh lock). The same corpus is sent half through each API (documents and a station
upload each), the members of every near-duplicate group through both, a worker is killed (SIGKILL) in the middle of
its task and started again, and decisions are taken through both APIs. Signals, duplicate groups, candidates,
decisions and audit entries then equal those of a single-node run (one API and one worker over the same engines,
in an index prefix, database and Redis database of their own): nothing lost, nothing duplicated."""

from __future__ import annotations

import signal
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from riskmine.api.state import AppState
from riskmine.queue import QueueError, refresh_lock
from riskmine.review.users import UserStore
from riskmine.settings import Settings
from riskmine.store.base import Collection
from riskmine.store.factory import open_store
from riskmine.store.locks import write_lock_for
from tests.api.test_crash_recovery import Server
from tests.nodes import Cluster, cluster, corpus, drained, outcome, wait_for
from tests.pg_server import PostgresServer
from tests.redis_server import free_port, redis_server
from tests.test_station_intake import _csv
from tests.test_worker import _DIE_MIDWAY, STARTED, Worker

pytestmark = pytest.mark.integration

CORPUS = corpus()
STATION = "测试监测站"
TASK = "收到任务"
SKIPPED = "其中 24 篇已处理，跳过"
# a worker that dies (SIGKILL) once 24 documents of its task are stored: three batches of eight, before the
# task's candidates are refreshed and before it is acknowledged
DYING = [sys.executable, "-c", _DIE_MIDWAY.replace("done >= 4", "done >= 24")]
assert "done >= 24" in DYING[-1], "tests.test_worker's dying worker changed: adapt DYING"

Engines = tuple[str, PostgresServer, str]


@pytest.fixture(scope="module")
def engines(
    es_url: str, postgres_server: PostgresServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Engines]:
    """The search cluster, the PostgreSQL server and a redis-server (skipped, saying how, when one is missing)."""
    with redis_server(tmp_path_factory.mktemp("redis")) as url:
        yield es_url, postgres_server, url


def _post(server: Server, auth: dict[str, str], rows: list[dict[str, str]]) -> None:
    answer = httpx.post(
        f"{server.base}/api/v1/documents?source=test&source_type=review", json=rows, headers=auth, timeout=300
    )
    assert answer.status_code == 201, answer.text
    assert answer.json()["accepted"] == len(rows) and answer.json()["processed"] == 0  # queued, not processed here


def _upload(server: Server, auth: dict[str, str], rows: list[dict[str, str]]) -> None:
    answer = httpx.post(
        f"{server.base}/api/v1/stations/{STATION}/batches?filename=up.csv",
        content=_csv(rows),
        headers=auth,
        timeout=300,
    )
    assert answer.status_code == 201, answer.text
    assert answer.json()["accepted"] == len(rows), answer.json()


def _drain(found: Cluster, var: Path, workers: list[Worker]) -> None:
    """Wait until every document has its signal and every task is acknowledged."""
    store = open_store(found.settings(var))
    try:
        wait_for(
            lambda: drained(found, store, CORPUS.size),
            "the queue to drain",
            say=lambda: "\n---\n".join(w.output() for w in workers),
        )
        assert store.count(Collection.documents) == CORPUS.size
    finally:
        store.close()


def _decide(found: Cluster, var: Path, apis: list[Server]) -> None:
    """The same review, call by call, through the APIs in turn: a confirmation, a merge, a rejection, a
    confirmation of the merged candidate, a comment."""
    store = open_store(found.settings(var))
    try:
        open_ids = sorted(c.id for c in store.iterate(Collection.candidates) if c.status.value == "new")
    finally:
        store.close()
    assert len(open_ids) >= 4, open_ids
    first, kept, merged, rejected = open_ids[:4]
    review = "/api/v1/review/candidates"
    calls: list[tuple[str, dict[str, Any]]] = [
        (f"{review}/{first}/decisions", {"status": "confirmed", "risk_level": "high", "warning_color": "red",
                                          "rationale": "多地反映起火冒烟，确认为高风险"}),
        (f"{review}/{kept}/merge", {"candidate_ids": [merged]}),
        (f"{review}/{rejected}/decisions", {"status": "rejected", "rationale": "证据不足"}),
        (f"{review}/{kept}/decisions", {"status": "confirmed", "risk_level": "medium", "warning_color": "yellow",
                                         "rationale": "合并后确认为中风险"}),
        (f"{review}/{first}/comments", {"text": "已通知生产企业"}),
    ]  # fmt: skip
    tokens = [api.token() for api in apis]
    for n, (path, body) in enumerate(calls):
        api = apis[n % len(apis)]
        answer = httpx.post(f"{api.base}{path}", json=body, headers=tokens[n % len(apis)], timeout=120)
        assert answer.status_code in (200, 201), (path, answer.text)


def _views(apis: list[Server]) -> list[dict[str, Any]]:
    """What each API node shows: the candidate list, the signal count, the knowledge graph's counts."""
    shown = []
    for api in apis:
        auth = api.token()

        def get(path: str, auth: dict[str, str] = auth, api: Server = api) -> Any:
            answer = httpx.get(f"{api.base}{path}", headers=auth, timeout=120)
            assert answer.status_code == 200, (path, answer.text)
            return answer.json()

        listed = get("/api/v1/candidates?limit=200")
        assert listed["total"] == len(listed["items"])
        shown.append(
            {
                "candidates": sorted((c["id"], c["status"], c["signal_count"]) for c in listed["items"]),
                "signals": get("/api/v1/signals?limit=1")["total"],
                # its version counts the updates it has had: the two nodes' workers shared them out
                "graph": {k: v for k, v in get("/api/v1/graph/stats").items() if k != "version"},
            }
        )
    return shown


def _stop(workers: list[Worker], servers: list[Server]) -> None:
    for w in workers:
        w.stop()
    for s in servers:
        s.stop()


@pytest.fixture(scope="module")
def single_node(engines: Engines, shared_models_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """One API and one worker on one host (one var dir): the reference."""
    es, pg, redis_url = engines
    tmp = tmp_path_factory.mktemp("single")
    var = tmp / "var"
    with cluster("one", es, pg, redis_url, 1, shared_models_dir, var) as found:
        env = found.env(var)
        workers = [Worker(env)]
        servers: list[Server] = []
        try:
            servers.append(Server(tmp, env, "api"))
            auth = servers[0].token()
            for post, upload in zip(CORPUS.posts, CORPUS.uploads, strict=True):
                _post(servers[0], auth, post)
                _upload(servers[0], auth, upload)
            _drain(found, var, workers)
            _decide(found, var, servers)
            views = _views(servers)
        finally:
            _stop(workers, servers)
        return outcome(found, var) | {"views": views}


@pytest.fixture(scope="module")
def two_nodes(engines: Engines, shared_models_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Two nodes (a var dir each), documents and decisions through both, node A's worker killed mid-task."""
    es, pg, redis_url = engines
    tmp = tmp_path_factory.mktemp("two")
    var_a, var_b = tmp / "a", tmp / "b"
    with cluster("two", es, pg, redis_url, 2, shared_models_dir, var_a) as found:
        env_a, env_b = found.env(var_a), found.env(var_b)
        dying = Worker(env_a, DYING)
        workers = [dying]
        servers: list[Server] = []
        try:
            servers += [Server(tmp, env_a, "api-a"), Server(tmp, env_b, "api-b")]
            api_a, api_b = servers
            auth_a, auth_b = api_a.token(), api_b.token()
            wait_for(lambda: dying.said(STARTED) > 0 or dying.proc.poll() is not None, "worker A", say=dying.output)
            _post(api_a, auth_a, CORPUS.posts[0])
            wait_for(lambda: dying.said(TASK) > 0, "worker A to take the first task", say=dying.output)
            workers.append(Worker(env_b))  # worker B
            wait_for(lambda: workers[1].said(STARTED) > 0, "worker B", say=workers[1].output)
            _upload(api_a, auth_a, CORPUS.uploads[0])
            _post(api_b, auth_b, CORPUS.posts[1])
            _upload(api_b, auth_b, CORPUS.uploads[1])
            assert dying.proc.wait(timeout=300) == -signal.SIGKILL, dying.output()
            workers.append(Worker(env_a))  # node A's worker, started again on its host
            _drain(found, var_a, workers)
            _decide(found, var_b, [api_a, api_b])
            views = _views(servers)
        finally:
            _stop(workers, servers)
        # the killed worker's task was handed out again, its first 24 documents skipped; worker B had tasks too
        assert sum(w.said(SKIPPED) for w in workers) == 1, [w.output() for w in workers]
        assert workers[1].said(TASK) >= 1, workers[1].output()
        return outcome(found, var_a) | {"views": views}


def test_the_corpus_sends_near_duplicates_through_both_nodes() -> None:
    node_a = {r["id"] for rows in (CORPUS.posts[0], CORPUS.uploads[0]) for r in rows}
    node_b = {r["id"] for rows in (CORPUS.posts[1], CORPUS.uploads[1]) for r in rows}
    assert not node_a & node_b and 180 <= CORPUS.size <= 400
    for g in range(8):
        members = {f"n{g}{v}" for v in "货款换"}
        assert members & node_a and members & node_b


def test_every_document_has_one_signal_on_two_nodes(single_node: dict[str, Any], two_nodes: dict[str, Any]) -> None:
    for run in (single_node, two_nodes):
        assert len(run["documents"]) == CORPUS.size
        assert run["signal_ids"] == run["documents"]  # one signal per document: nothing lost, nothing twice
    assert two_nodes["signal_ids"] == single_node["signal_ids"]
    assert two_nodes["risks"] == single_node["risks"]


def test_duplicate_groups_are_those_of_one_node(single_node: dict[str, Any], two_nodes: dict[str, Any]) -> None:
    assert two_nodes["duplicate_groups"] == single_node["duplicate_groups"]
    # every group of three near duplicates is one group, with exactly one member accepted
    assert sum(len(g) == 3 for g in single_node["duplicate_groups"]) == 8
    assert len(two_nodes["accepted"]) == len(single_node["duplicate_groups"])


def test_candidates_are_those_of_one_node(single_node: dict[str, Any], two_nodes: dict[str, Any]) -> None:
    assert single_node["candidates"]
    assert two_nodes["candidates"] == single_node["candidates"]


def test_station_batches_are_those_of_one_node(single_node: dict[str, Any], two_nodes: dict[str, Any]) -> None:
    assert len(single_node["batches"]) == 2
    assert two_nodes["batches"] == single_node["batches"]


def test_decisions_and_audit_are_those_of_one_node(single_node: dict[str, Any], two_nodes: dict[str, Any]) -> None:
    assert len(single_node["decisions"]) == 3
    assert two_nodes["decisions"] == single_node["decisions"]
    assert two_nodes["audit"] == single_node["audit"]


def test_both_nodes_show_what_one_node_shows(single_node: dict[str, Any], two_nodes: dict[str, Any]) -> None:
    """The candidate list, the signal count and the knowledge graph, asked of each API node."""
    (expected,) = single_node["views"]
    assert expected["signals"] == CORPUS.size and expected["graph"]
    for shown in two_nodes["views"]:
        assert shown == expected


def test_an_api_write_waits_for_a_workers_refresh_on_another_host(tmp_path: Path) -> None:
    """With a task queue, the API's write lock (review changes, submissions) holds the workers' refresh lock too:
    a worker refreshing candidates on another host (no shared var dir, no shared file lock) reads candidates and
    writes them back, and a decision taken in between would be undone."""
    with redis_server(tmp_path) as url:
        settings = Settings(var_dir=tmp_path / "api", queue_url=url)
        state = AppState(settings, UserStore.from_settings(settings))
        worker = refresh_lock(Settings(var_dir=tmp_path / "worker", queue_url=url))  # another host's worker
        entered = threading.Event()

        def review_change() -> None:
            with state.write_lock, state.write_lock:  # re-entrant, as the write lock always was
                entered.set()

        with worker:
            writer = threading.Thread(target=review_change)
            writer.start()
            assert not entered.wait(1.5)  # waits while the worker refreshes
        assert entered.wait(30)
        writer.join(timeout=30)
        assert not state.write_lock.locked()
        with worker:  # and the API released it
            pass


def test_with_the_queue_unreachable_an_api_write_is_refused_in_chinese_and_holds_nothing(tmp_path: Path) -> None:
    url = f"redis://127.0.0.1:{free_port()}/0"
    settings = Settings(var_dir=tmp_path / "api", queue_url=url)
    state = AppState(settings, UserStore.from_settings(settings))
    with pytest.raises(QueueError, match="无法连接任务队列") as raised, state.write_lock:
        pass
    assert url in str(raised.value) and raised.value.status == 503
    assert not state.write_lock.locked() and not write_lock_for(settings.var_dir).locked()
