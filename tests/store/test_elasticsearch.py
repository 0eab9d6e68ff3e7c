"""The Elasticsearch backend.

* :class:`TestElasticsearchStore` runs the shared store contract against a real cluster
  when ``RISKMINE_ES_URL`` is set (``-m integration``; an index prefix per test, removed
  after); see docs/elasticsearch.md. It is skipped otherwise.
* The rest runs everywhere. For the retry/backoff and bulk-error paths only, the client
  talks to :class:`_FakeCluster`, a **protocol-level fake** on 127.0.0.1: it answers the
  handful of requests the store makes at open with fixed empty answers and scripts the
  ``_bulk`` responses. It is not a stand-in for Elasticsearch's search semantics, which
  only the contract suite against a real cluster checks.
"""

from __future__ import annotations

import json
import os
import threading
import uuid
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from riskmine.schema import Signal
from riskmine.settings import Settings
from riskmine.store import open_store
from riskmine.store.base import Collection, DuplicatePolicy, Store, StoreError
from riskmine.store.elasticsearch import ElasticsearchStore
from riskmine.store.es_translate import BulkWriteError, ErrorKind

from .contract import StoreContract

ES_URL = os.environ.get("RISKMINE_ES_URL")
S = Collection.signals


@pytest.mark.integration
@pytest.mark.skipif(
    not ES_URL,
    reason="no Elasticsearch cluster: set RISKMINE_ES_URL=http://127.0.0.1:9200 (deploy/docker-compose.yml) to run",
)
class TestElasticsearchStore(StoreContract):
    @pytest.fixture
    def make_store(self) -> Iterator[Callable[[], Store]]:
        prefix = f"riskmine-test-{uuid.uuid4().hex[:12]}"
        opened: list[ElasticsearchStore] = []

        def make() -> Store:
            store = ElasticsearchStore(ES_URL, prefix=prefix, refresh="wait_for")
            opened.append(store)
            return store

        yield make
        if opened:
            cleaner = ElasticsearchStore(ES_URL, prefix=prefix)
            cleaner.drop()
            cleaner.close()
        for store in opened:
            store.close()


# --- the protocol-level fake for error paths ------------------------------------------------


class _FakeCluster:
    """Answers the store's set-up requests with empty results and plays scripted ``_bulk`` answers.

    Each scripted answer is ``(http_status, items_for)``: ``items_for(actions)`` returns the
    per-item results for the (op, id) pairs of that request, or None for a whole-request error.
    When the script runs out, every item succeeds.
    """

    def __init__(self) -> None:
        self.bulk_script: list[tuple[int, Callable[[list[tuple[str, str]]], list[dict[str, Any]]] | None]] = []
        self.bulk_requests: list[list[tuple[str, str]]] = []
        self.requests: list[str] = []
        cluster = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _send(self, status: int, body: Any) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("X-Elastic-Product", "Elasticsearch")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                path = self.path.split("?")[0]
                cluster.requests.append(f"{self.command} {path}")
                if path.endswith("/_bulk"):
                    self._send(*cluster.bulk(raw))
                elif path.startswith("/_nodes"):
                    self._send(200, {"nodes": {"n1": {"plugins": []}}})
                elif path.endswith("/_search"):
                    self._send(200, {"hits": {"total": {"value": 0, "relation": "eq"}, "hits": []}})
                elif path == "/":
                    self._send(200, {"version": {"number": "8.15.0"}, "tagline": "You Know, for Search"})
                else:  # templates, index creation, index listing: acknowledged, nothing there
                    self._send(200, {} if self.command == "GET" else {"acknowledged": True})

            do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _handle

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def bulk(self, raw: bytes) -> tuple[int, Any]:
        lines = [json.loads(line) for line in raw.decode().splitlines() if line.strip()]
        actions: list[tuple[str, str]] = []
        i = 0
        while i < len(lines):
            op, meta = next(iter(lines[i].items()))
            actions.append((op, meta["_id"]))
            i += 1 if op == "delete" else 2
        self.bulk_requests.append(actions)
        status, items_for = self.bulk_script.pop(0) if self.bulk_script else (200, None)
        if status != 200:
            return status, {"error": {"type": "unavailable", "reason": "scripted"}, "status": status}
        items = items_for(actions) if items_for else [{op: {"_id": i, "status": 201}} for op, i in actions]
        return 200, {"took": 1, "errors": any(next(iter(x.values()))["status"] >= 300 for x in items), "items": items}

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


@pytest.fixture
def cluster() -> Iterator[_FakeCluster]:
    fake = _FakeCluster()
    yield fake
    fake.stop()


@pytest.fixture
def es(cluster: _FakeCluster) -> Iterator[ElasticsearchStore]:
    store = ElasticsearchStore(cluster.url, prefix="rm-fake", initial_backoff=0.01, max_backoff=0.05, max_retries=3)
    yield store
    store.close()


def _fail(status: int, *ids: str, error: str = "es_rejected_execution_exception") -> Any:
    def items(actions: list[tuple[str, str]]) -> list[dict[str, Any]]:
        return [
            {op: {"_id": i, "status": status, "error": {"type": error, "reason": "scripted"}}}
            if i in ids
            else {op: {"_id": i, "status": 201}}
            for op, i in actions
        ]

    return items


def test_open_puts_templates_and_bootstraps_each_alias(es: ElasticsearchStore, cluster: _FakeCluster) -> None:
    assert es.plugin is None
    puts = [r for r in cluster.requests if r.startswith("PUT /_index_template/")]
    assert sorted(puts) == sorted(f"PUT /_index_template/rm-fake-{c.value}" for c in Collection)
    created = [r for r in cluster.requests if r.startswith("PUT /rm-fake-")]
    assert len(created) == len(Collection)  # one monthly index per collection, so each alias resolves


def test_item_429_is_retried_with_backoff(
    es: ElasticsearchStore, cluster: _FakeCluster, signals: dict[str, Signal]
) -> None:
    sigs = list(signals.values())[:3]
    cluster.bulk_script = [(200, _fail(429, sigs[1].id))]
    result = es.write(S, sigs)
    assert (result.written, result.skipped) == (3, 0)
    assert len(cluster.bulk_requests) == 2
    assert cluster.bulk_requests[1] == [("create", sigs[1].id)]  # only the rejected item is sent again


def test_whole_request_503_is_retried(
    es: ElasticsearchStore, cluster: _FakeCluster, signals: dict[str, Signal]
) -> None:
    sigs = list(signals.values())[:2]
    cluster.bulk_script = [(503, None), (503, None)]
    assert es.write(S, sigs, DuplicatePolicy.overwrite).written == 2
    assert len(cluster.bulk_requests) == 3


def test_permanent_item_errors_are_reported_by_id(
    es: ElasticsearchStore, cluster: _FakeCluster, signals: dict[str, Signal]
) -> None:
    sigs = list(signals.values())[:4]
    cluster.bulk_script = [(200, _fail(400, sigs[2].id, error="mapper_parsing_exception"))]
    with pytest.raises(BulkWriteError) as err:
        es.write(S, sigs)
    assert [e.id for e in err.value.failed] == [sigs[2].id]
    assert err.value.failed[0].kind is ErrorKind.permanent
    assert err.value.done == 3
    assert "mapper_parsing_exception" in str(err.value)
    assert len(cluster.bulk_requests) == 1  # a 400 is not retried


def test_items_still_rejected_after_the_retries_are_reported(
    es: ElasticsearchStore, cluster: _FakeCluster, signals: dict[str, Signal]
) -> None:
    sigs = list(signals.values())[:2]
    cluster.bulk_script = [(200, _fail(429, sigs[0].id))] * 10
    with pytest.raises(BulkWriteError, match="try again later") as err:
        es.write(S, sigs)
    assert err.value.failed[0].kind is ErrorKind.retryable
    assert len(cluster.bulk_requests) == 1 + es.max_retries


def test_a_cluster_that_stays_down_is_a_store_error(
    es: ElasticsearchStore, cluster: _FakeCluster, signals: dict[str, Signal]
) -> None:
    cluster.bulk_script = [(503, None)] * 10
    with pytest.raises(StoreError, match="bulk request failed after 3 retries"):
        es.write(S, list(signals.values())[:1])


def test_a_concurrent_create_counts_as_skipped(
    es: ElasticsearchStore, cluster: _FakeCluster, signals: dict[str, Signal]
) -> None:
    sigs = list(signals.values())[:2]
    cluster.bulk_script = [(200, _fail(409, sigs[0].id, error="version_conflict_engine_exception"))]
    result = es.write(S, sigs)
    assert (result.written, result.skipped, result.ids) == (1, 1, [sigs[1].id])


def test_no_cluster_is_a_clear_error() -> None:
    with pytest.raises(StoreError, match="cannot set up the Elasticsearch indices"):
        ElasticsearchStore("http://127.0.0.1:9", max_retries=0, request_timeout=2)


# --- the factory -------------------------------------------------------------------------------


def test_factory_needs_a_url(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="RISKMINE_ES_URL"):
        open_store(Settings(store="es", var_dir=tmp_path))


def test_factory_opens_the_es_store(tmp_path: Path, cluster: _FakeCluster) -> None:
    for name in ("es", "elasticsearch"):
        store = open_store(Settings(store=name, es_url=cluster.url, es_index_prefix="rm-fac", var_dir=tmp_path))
        try:
            assert isinstance(store, ElasticsearchStore)
            assert isinstance(store, Store)
            assert store.prefix == "rm-fac" and store.refresh_policy == "wait_for"
        finally:
            store.close()


def test_factory_refuses_bad_settings(tmp_path: Path, cluster: _FakeCluster) -> None:
    from riskmine.settings import SettingsError, load_settings

    with pytest.raises(SettingsError, match="RISKMINE_ES_REFRESH"):
        load_settings(store="es", es_url=cluster.url, es_refresh="sometimes", var_dir=tmp_path)
    with pytest.raises(StoreError, match="RISKMINE_ES_PASSWORD"):
        open_store(Settings(store="es", es_url=cluster.url, es_username="elastic", var_dir=tmp_path))
    with pytest.raises(StoreError, match="index prefix"):
        open_store(Settings(store="es", es_url=cluster.url, es_index_prefix="Bad Prefix", var_dir=tmp_path))
