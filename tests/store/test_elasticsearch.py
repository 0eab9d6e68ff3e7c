"""The Elasticsearch / OpenSearch backend.

* :class:`TestElasticsearchStore` runs the shared store contract against a real cluster
  (``-m integration``; an index prefix per test, removed after): the one at
  ``RISKMINE_ES_URL``, or else the single-node OpenSearch of deploy/opensearch, which the
  ``es_url`` fixture starts when its launcher is built; see docs/elasticsearch.md. It is
  skipped when there is neither. The ``migrate --to es`` tests run the same way.
* The rest runs everywhere. For the retry/backoff and bulk-error paths only, the client
  talks to :class:`_FakeCluster`, a **protocol-level fake** on 127.0.0.1: it answers the
  handful of requests the store makes at open with fixed empty answers and scripts the
  ``_bulk`` responses. It is not a stand-in for Elasticsearch's search semantics, which
  only the contract suite against a real cluster checks.
"""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from riskmine.schema import CandidateRisk, Signal
from riskmine.settings import Settings
from riskmine.store import es_translate as tr
from riskmine.store import open_store
from riskmine.store.base import Collection, DuplicatePolicy, Store, StoreError
from riskmine.store.elasticsearch import ElasticsearchStore
from riskmine.store.es_translate import BulkWriteError, ErrorKind
from riskmine.store.fields import INDEXES

from .contract import StoreContract

S = Collection.signals


@pytest.mark.integration
class TestElasticsearchStore(StoreContract):
    @pytest.fixture
    def make_store(self, es_url: str) -> Iterator[Callable[[], Store]]:
        prefix = f"riskmine-test-{uuid.uuid4().hex[:12]}"
        opened: list[ElasticsearchStore] = []

        def make() -> Store:
            store = ElasticsearchStore(es_url, prefix=prefix, refresh="wait_for")
            opened.append(store)
            return store

        yield make
        if opened:
            cleaner = ElasticsearchStore(es_url, prefix=prefix)
            cleaner.drop()
            cleaner.close()
        for store in opened:
            store.close()


@pytest.fixture
def real_store(es_url: str) -> Iterator[ElasticsearchStore]:
    store = ElasticsearchStore(es_url, prefix=f"riskmine-test-{uuid.uuid4().hex[:12]}")
    yield store
    store.drop()
    store.close()


@pytest.mark.integration
def test_the_text_field_is_analysed_in_cjk_bigrams(real_store: ElasticsearchStore) -> None:
    """The engine has the cjk analyzer (OpenSearch: analysis-common) and the text field uses it."""
    index = real_store._indices(S)[0]
    resp = real_store.client.indices.analyze(index=index, body={"field": "text", "text": "充电宝冒烟"})
    assert [t["token"] for t in resp["tokens"]] == ["充电", "电宝", "宝冒", "冒烟"]
    meta = real_store.client.indices.get_mapping(index=index)[index]["mappings"]["_meta"]
    assert meta["mapping_version"] == tr.MAPPING_VERSION


@pytest.mark.integration
def test_an_index_of_an_older_layout_is_rebuilt_at_open(es_url: str, signals: dict[str, Signal]) -> None:
    """An index built before the cjk analyzer (layout 1: `text` per character) is rebuilt under its name at
    the next open, its records kept; a rebuild stopped half-way (a copy set aside) is finished."""
    prefix = f"riskmine-test-{uuid.uuid4().hex[:12]}"
    store = ElasticsearchStore(es_url, prefix=prefix)
    try:
        old = f"{prefix}-signals-2020.01"
        layout_1 = {"_meta": {"mapping_version": 1}, "properties": {"text": {"type": "text", "analyzer": "standard"}}}
        store.engine.create_index(old, {"mappings": layout_1})
        sigs = list(signals.values())
        first = tr.index_body(INDEXES[S], sigs[0])
        store._bulk([tr.bulk_action("index", old, sigs[0].id, first)])
        # a rebuild of another month that stopped after deleting the original: only the copy is left
        aside = tr.rebuild_name(prefix, f"{prefix}-signals-2020.02")
        store.engine.create_index(aside, tr.rebuild_body(INDEXES[S]))
        store._bulk([tr.bulk_action("index", aside, sigs[1].id, tr.index_body(INDEXES[S], sigs[1]))])
        store.client.indices.refresh(index=f"{old},{aside}")
        tokens = store.client.indices.analyze(index=old, body={"field": "text", "text": "冒烟"})["tokens"]
        assert [t["token"] for t in tokens] == ["冒", "烟"]
    finally:
        store.close()
    again = ElasticsearchStore(es_url, prefix=prefix)
    try:
        tokens = again.client.indices.analyze(index=old, body={"field": "text", "text": "冒烟"})["tokens"]
        assert [t["token"] for t in tokens] == ["冒烟"]
        assert again._outdated(again._indices(S)) == []
        assert f"{prefix}-signals-2020.02" in again._indices(S)
        assert not dict(again.client.indices.get(index=tr.rebuild_pattern(prefix, S), allow_no_indices=True))
        assert again.get_many(S, [sigs[0].id, sigs[1].id]) == [sigs[0], sigs[1]]
    finally:
        again.drop()
        again.close()


class _Interrupted(RuntimeError):
    pass


@pytest.mark.integration
def test_migrate_to_es_resumes_after_an_interruption(
    es_url: str, tmp_path: Path, signals: dict[str, Signal], candidates: dict[str, CandidateRisk]
) -> None:
    """`riskmine migrate --to es`'s copy into the real engine: stopped after two batches, then resumed; each
    record is written once, and the verification (counts, sampled records, a full-text count) agrees."""
    from riskmine.store.migrate import Checkpoint, migrate
    from riskmine.store.sqlite import SQLiteStore

    prefix = f"riskmine-test-{uuid.uuid4().hex[:12]}"
    source = SQLiteStore(tmp_path / "source.sqlite3")
    source.write(S, list(signals.values()))
    source.write(Collection.documents, [s.document for s in signals.values()])
    source.write(Collection.candidates, list(candidates.values()))
    cp_path = tmp_path / "cp.json"
    written: list[tuple[Collection, str]] = []

    class Crashing(ElasticsearchStore):
        allowed = 2

        def write(self, collection: Collection, records: Any, policy: DuplicatePolicy = DuplicatePolicy.skip) -> Any:
            if self.allowed == 0:
                raise _Interrupted("stopped mid-migration")
            self.allowed -= 1
            written.extend((collection, r.id) for r in records)
            return super().write(collection, records, policy)

    first = Crashing(es_url, prefix=prefix, refresh=False)
    try:
        with pytest.raises(_Interrupted):
            migrate(source, first, checkpoint=Checkpoint.load(cp_path, f"es:{prefix}"), batch_size=3)
    finally:
        first.close()
    before = len(written)
    assert before == 6
    target = Crashing(es_url, prefix=prefix, refresh=False)
    target.allowed = 10_000
    try:
        report = migrate(source, target, checkpoint=Checkpoint.load(cp_path, f"es:{prefix}"), batch_size=3)
        assert report.ok, report.problems()
        total = sum(source.count(c) for c in Collection)
        assert len(written) == total and len(set(written)) == total  # nothing written twice, nothing lost
        target.refresh()
        for coll in Collection:
            assert target.count(coll) == source.count(coll)
            assert list(target.iterate(coll)) == list(source.iterate(coll))
        assert target.count(S, text="冒烟") == source.count(S, text="冒烟") > 0
    finally:
        target.drop()
        target.close()
        source.close()


@pytest.mark.integration
def test_migrate_cli_copies_into_the_engine(
    es_url: str, tmp_path: Path, signals: dict[str, Signal], monkeypatch: pytest.MonkeyPatch
) -> None:
    """`riskmine migrate --to es` with RISKMINE_ES_URL: copies, verifies, and a second run copies nothing."""
    from typer.testing import CliRunner

    from riskmine.cli import app
    from riskmine.settings import get_settings
    from riskmine.store.sqlite import SQLiteStore

    with SQLiteStore(tmp_path / "source.sqlite3") as source:
        source.write(S, list(signals.values()))
    prefix = f"riskmine-test-{uuid.uuid4().hex[:12]}"
    for name, value in {
        "DB_PATH": str(tmp_path / "source.sqlite3"),
        "ES_URL": es_url,
        "ES_INDEX_PREFIX": prefix,
    }.items():
        monkeypatch.setenv(f"RISKMINE_{name}", value)
    get_settings.cache_clear()
    runner = CliRunner()
    try:
        first = runner.invoke(app, ["migrate", "--to", "es", "--batch-size", "4"])
        assert first.exit_code == 0, first.output
        assert f"signals: {len(signals)} → {len(signals)} records" in first.output and "verified" in first.output
        again = runner.invoke(app, ["migrate", "--to", "es"])
        assert again.exit_code == 0 and f"0 copied now, {len(signals)} before" in again.output, again.output
    finally:
        cleaner = ElasticsearchStore(es_url, prefix=prefix)
        cleaner.drop()
        cleaner.close()


# --- the protocol-level fake for error paths ------------------------------------------------


class _FakeCluster:
    """Answers the store's set-up requests with empty results and plays scripted ``_bulk`` answers.

    Each scripted answer is ``(http_status, items_for)``: ``items_for(actions)`` returns the
    per-item results for the (op, id) pairs of that request, or None for a whole-request error.
    When the script runs out, every item succeeds.
    """

    def __init__(self, distribution: str | None = None) -> None:
        self.distribution = distribution  # what GET / says: None (Elasticsearch) or "opensearch"
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
                    version = {"number": "8.15.0"}
                    if cluster.distribution:
                        version = {"number": "2.19.6", "distribution": cluster.distribution}
                    self._send(200, {"version": version, "tagline": "You Know, for Search"})
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
        items: list[dict[str, Any]] = (
            items_for(actions) if items_for else [{op: {"_id": i, "status": 201}} for op, i in actions]
        )
        return 200, {"took": 1, "errors": any(next(iter(x.values()))["status"] >= 300 for x in items), "items": items}

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


@pytest.fixture(params=[None, "opensearch"], ids=["elasticsearch", "opensearch"])
def cluster(request: pytest.FixtureRequest) -> Iterator[_FakeCluster]:
    """The fake, answering GET / as Elasticsearch 8 or as OpenSearch 2 (so each client's code path runs)."""
    fake = _FakeCluster(request.param)
    yield fake
    fake.stop()


@pytest.fixture
def es(cluster: _FakeCluster) -> Iterator[ElasticsearchStore]:
    store = ElasticsearchStore(cluster.url, prefix="rm-fake", initial_backoff=0.01, max_backoff=0.05, max_retries=3)
    assert store.engine.name == (cluster.distribution or "elasticsearch")  # auto: what GET / said
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


def test_the_engine_can_be_named(cluster: _FakeCluster) -> None:
    for engine in ("elasticsearch", "opensearch"):
        store = ElasticsearchStore(cluster.url, engine=engine, prefix="rm-named")
        try:
            assert store.engine.name == engine
            assert type(store.client).__module__.split(".")[0] == engine.replace("opensearch", "opensearchpy")
        finally:
            store.close()
    with pytest.raises(StoreError, match="RISKMINE_ES_ENGINE"):
        ElasticsearchStore(cluster.url, engine="solr")


def test_no_cluster_is_a_clear_error() -> None:
    with pytest.raises(StoreError, match=r"cannot set up the .* indices"):
        ElasticsearchStore("http://127.0.0.1:9", max_retries=0, request_timeout=2)


# --- the factory -------------------------------------------------------------------------------


def test_factory_needs_a_url(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="RISKMINE_ES_URL"):
        open_store(Settings(store="es", es_url=None, var_dir=tmp_path))  # whatever RISKMINE_ES_URL says


def test_factory_opens_the_es_store(tmp_path: Path, cluster: _FakeCluster) -> None:
    for name in ("es", "elasticsearch"):
        store = open_store(Settings(store=name, es_url=cluster.url, es_index_prefix="rm-fac", var_dir=tmp_path))
        try:
            assert isinstance(store, ElasticsearchStore)
            assert isinstance(store, Store)
            assert store.prefix == "rm-fac" and store.refresh_policy == "wait_for"
            assert store.engine.name == (cluster.distribution or "elasticsearch")
        finally:
            store.close()
    named = open_store(Settings(store="es", es_url=cluster.url, es_engine="opensearch", var_dir=tmp_path))
    try:
        assert isinstance(named, ElasticsearchStore) and named.engine.name == "opensearch"
    finally:
        named.close()


def test_factory_refuses_bad_settings(tmp_path: Path, cluster: _FakeCluster) -> None:
    from riskmine.settings import SettingsError, load_settings

    with pytest.raises(SettingsError, match="RISKMINE_ES_REFRESH"):
        load_settings(store="es", es_url=cluster.url, es_refresh="sometimes", var_dir=tmp_path)
    with pytest.raises(StoreError, match="RISKMINE_ES_PASSWORD"):
        open_store(Settings(store="es", es_url=cluster.url, es_username="elastic", var_dir=tmp_path))
    with pytest.raises(StoreError, match="index prefix"):
        open_store(Settings(store="es", es_url=cluster.url, es_index_prefix="Bad Prefix", var_dir=tmp_path))
