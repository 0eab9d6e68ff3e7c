"""The Elasticsearch / OpenSearch backend of the :class:`~riskmine.store.base.Store` Protocol.

What is sent and read is built by :mod:`riskmine.store.es_translate`; this module
talks to the cluster with the official client of its engine: ``elasticsearch``
(Elasticsearch 8.x/9.x) or ``opensearch-py`` (OpenSearch 2.x). The engine is chosen by
setting (``RISKMINE_ES_ENGINE``) or, with ``auto``, by what the server answers to
``GET /``; only the few calls whose form differs go through :class:`Engine`.

Layout: per collection, one index per month (``<prefix>-signals-2025.03``) created
from an index template that attaches it to the collection's alias
(``<prefix>-signals``). Reads, counts and aggregations go through the alias; retention
and archiving drop or snapshot whole monthly indices.

**Which index holds a record.** A new record goes to the index of the month of its
time (at the store's UTC offset). A record then stays in that index for good:
overwriting it with a changed time rewrites it in place, so an id is never in two
indices and writes stay idempotent by id. ``get``, ``get_many``, ``delete`` and the
existence checks of ``write`` therefore look ids up across the alias with an ``ids``
query (a document GET or ``mget`` needs one concrete index). Only a record's month
index decides retention: a record rewritten with a later time is dropped with the
month it was first stored in.

Writes go in ``_bulk`` requests of ``chunk_size`` records: ``skip`` creates (a 409 from a concurrent
writer counts as skipped), ``overwrite`` indexes, ``fail`` looks the ids up first and
raises :class:`DuplicateRecordError` writing nothing. Items answered 429 or 5xx are
retried with exponential backoff (``max_retries``, ``initial_backoff``,
``max_backoff``); whatever still fails is reported in a :class:`BulkWriteError`
naming the ids, after the rest of the batch is written. Other requests are retried
by the client's transport on 429/502/503/504 and timeouts.

``refresh`` (default ``"wait_for"``) is passed to bulk writes and deletes so that a
write is visible to the next read, as the contract requires; ``False`` trades that for
throughput (bulk loads, migration), after which :meth:`ElasticsearchStore.refresh`.
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import timedelta
from typing import Any, Literal

from pydantic import BaseModel

from riskmine.store import es_translate as tr
from riskmine.store.base import (
    RECORD_TYPES,
    Bucket,
    Collection,
    DuplicatePolicy,
    DuplicateRecordError,
    Filters,
    Page,
    StoreError,
    TimeBucket,
    WriteResult,
    check_omit,
)
from riskmine.store.fields import FIELDS_VERSION, INDEXES, InvalidFilterError, collection_of
from riskmine.store.writes import check_aggregate, prepare_write

log = logging.getLogger(__name__)

Refresh = Literal["wait_for", "true", "false"] | bool
_LOOKUP_CHUNK = 1000  # ids per lookup request


# --- engines: Elasticsearch 8/9 (elasticsearch-py) and OpenSearch 2.x (opensearch-py) ---------------

ENGINES = ("auto", "elasticsearch", "opensearch")


class Engine:
    """The calls whose form differs between the two clients; everything else is called on ``client``."""

    name = "elasticsearch"

    def __init__(self, client: Any, bulk_client: Any = None) -> None:
        self.client = client
        self.bulk_client = bulk_client if bulk_client is not None else client

    @property
    def errors(self) -> tuple[type[BaseException], ...]:
        from elasticsearch import ApiError, TransportError

        return (ApiError, TransportError)

    def where(self) -> str:
        try:
            nodes = self.client.transport.node_pool.all()
            return ", ".join(str(n.base_url) for n in nodes) or "the cluster"
        except Exception:  # a client without a node pool (any transport)
            return "the cluster"

    def put_index_template(self, template: Mapping[str, Any]) -> None:
        self.client.indices.put_index_template(**template)

    def put_mapping(self, index: str, mapping: Mapping[str, Any]) -> None:
        self.client.indices.put_mapping(
            index=index, properties=mapping["properties"], meta=mapping["_meta"], dynamic=mapping["dynamic"]
        )

    def delete_index_template(self, name: str) -> None:
        self.client.options(ignore_status=404).indices.delete_index_template(name=name)

    def create_index(self, name: str, body: Mapping[str, Any] | None = None) -> bool:
        """Create an index from its template (or from `body`: settings, mappings); False when it exists already."""
        try:
            self._create(name, body)
        except self._bad_request() as exc:
            if "resource_already_exists" not in str(exc):
                raise
            return False
        return True

    def _bad_request(self) -> type[BaseException]:
        from elasticsearch import BadRequestError

        return BadRequestError

    def _create(self, name: str, body: Mapping[str, Any] | None) -> None:
        self.client.indices.create(index=name, **(body or {}))

    def count(self, index: str, query: Mapping[str, Any]) -> int:
        return int(self.client.count(index=index, query=query)["count"])

    def bulk(self, operations: list[dict[str, Any]], refresh: Refresh) -> Mapping[str, Any]:
        """One ``_bulk`` request, not retried by the transport (the store retries, per item)."""
        return self.bulk_client.options(max_retries=0).bulk(operations=operations, refresh=refresh)

    def close(self) -> None:
        self.client.close()


class OpenSearchEngine(Engine):
    name = "opensearch"

    @property
    def errors(self) -> tuple[type[BaseException], ...]:
        from opensearchpy.exceptions import OpenSearchException

        return (OpenSearchException,)

    def where(self) -> str:
        try:
            hosts = self.client.transport.hosts or []
            return ", ".join(f"{h.get('scheme', 'http')}://{h['host']}:{h['port']}" for h in hosts) or "the cluster"
        except Exception:
            return "the cluster"

    def put_index_template(self, template: Mapping[str, Any]) -> None:
        body = {("_meta" if k == "meta" else k): v for k, v in template.items() if k != "name"}
        self.client.indices.put_index_template(name=template["name"], body=body)

    def put_mapping(self, index: str, mapping: Mapping[str, Any]) -> None:
        self.client.indices.put_mapping(index=index, body=dict(mapping))

    def delete_index_template(self, name: str) -> None:
        self.client.indices.delete_index_template(name=name, ignore=404)

    def _bad_request(self) -> type[BaseException]:
        from opensearchpy.exceptions import RequestError

        return RequestError

    def _create(self, name: str, body: Mapping[str, Any] | None) -> None:
        self.client.indices.create(index=name, body=dict(body) if body else None)

    def count(self, index: str, query: Mapping[str, Any]) -> int:
        return int(self.client.count(index=index, body={"query": query})["count"])

    def bulk(self, operations: list[dict[str, Any]], refresh: Refresh) -> Mapping[str, Any]:
        return self.bulk_client.bulk(body=operations, refresh=refresh)

    def close(self) -> None:
        self.client.close()
        if self.bulk_client is not self.client:
            self.bulk_client.close()


def engine_of(client: Any) -> Engine:
    """The engine adapter of a ready client (by the client's package)."""
    if type(client).__module__.split(".")[0] == "opensearchpy":
        return OpenSearchEngine(client)
    return Engine(client)


def connect(
    url: str,
    engine: str = "auto",
    *,
    api_key: str | None = None,
    basic_auth: tuple[str, str] | None = None,
    ca_certs: str | None = None,
    request_timeout: float = 30.0,
    max_retries: int = 5,
) -> Engine:
    """A client for `url`: ``elasticsearch`` (elasticsearch-py), ``opensearch`` (opensearch-py), or ``auto``:
    ask the server (``GET /``: OpenSearch answers ``version.distribution: opensearch``).

    ``auto`` asks with opensearch-py when it is installed, since elasticsearch-py refuses to talk to a
    server that is not Elasticsearch; without it, Elasticsearch is assumed."""
    if engine not in ENGINES:
        raise StoreError(f"unknown search engine {engine!r} (RISKMINE_ES_ENGINE); use one of {', '.join(ENGINES)}")
    server_major = None
    if engine == "auto":
        engine, server_major = _detect(url, api_key, basic_auth, ca_certs, request_timeout)
    if engine == "opensearch":
        return _opensearch(url, api_key, basic_auth, ca_certs, request_timeout, max_retries)
    try:
        from elasticsearch import Elasticsearch
    except ImportError:
        raise StoreError(
            "the Elasticsearch store needs the `elasticsearch` package: pip install 'riskmine[es]'"
        ) from None
    options = _retry_options("request_timeout", request_timeout, max_retries)
    if api_key:
        options["api_key"] = api_key
    if basic_auth:
        options["basic_auth"] = basic_auth
    if ca_certs:
        options["ca_certs"] = ca_certs
    compat = _compat_transport(server_major)
    if compat is not None:
        options["transport_class"] = compat
    return Engine(Elasticsearch(url, **options))


def _compat_transport(server_major: int | None) -> Any:
    """elasticsearch-py N asks every request for ``compatible-with=N``, which an older Elasticsearch refuses
    (400 media_type_header_exception: 9.x against 8.x). For a server one major behind, a transport that asks
    for the server's major instead; None when the client is not newer than the server (or it is unknown)."""
    from elastic_transport import Transport
    from elasticsearch import __versionstr__

    client_major = int(__versionstr__.split(".", 1)[0])
    if server_major is None or server_major >= client_major:
        return None
    ours, theirs = f"compatible-with={client_major}", f"compatible-with={server_major}"

    class CompatTransport(Transport):
        def perform_request(self, method: str, target: str, **kwargs: Any) -> Any:
            headers = kwargs.get("headers")
            if isinstance(headers, Mapping):
                kwargs["headers"] = {
                    key: value.replace(ours, theirs) if isinstance(value, str) else value
                    for key, value in headers.items()
                }
            return super().perform_request(method, target, **kwargs)

    return CompatTransport


def _retry_options(timeout_name: str, timeout: float, max_retries: int) -> dict[str, Any]:
    """The transport's time-out and retries (on 429/502/503/504 and time-outs), as either client names them."""
    return {
        timeout_name: timeout,
        "retry_on_status": (429, 502, 503, 504),
        "retry_on_timeout": True,
        "max_retries": max_retries,
    }


def _opensearch_client(
    url: str,
    api_key: str | None,
    basic_auth: tuple[str, str] | None,
    ca_certs: str | None,
    request_timeout: float,
    max_retries: int,
) -> Any:
    from opensearchpy import OpenSearch

    options = _retry_options("timeout", request_timeout, max_retries)
    if api_key:
        options["headers"] = {"Authorization": f"ApiKey {api_key}"}
    if basic_auth:
        options["http_auth"] = basic_auth
    if ca_certs:
        options["ca_certs"] = ca_certs
        options["verify_certs"] = True
    return OpenSearch([url], **options)


def _opensearch(
    url: str,
    api_key: str | None,
    basic_auth: tuple[str, str] | None,
    ca_certs: str | None,
    request_timeout: float,
    max_retries: int,
) -> Engine:
    try:
        import opensearchpy  # noqa: F401
    except ImportError:
        raise StoreError("the OpenSearch store needs the `opensearch-py` package: pip install 'riskmine[es]'") from None
    client = _opensearch_client(url, api_key, basic_auth, ca_certs, request_timeout, max_retries)
    # bulk requests are retried by the store, per item, with backoff: not again by the transport
    bulk = _opensearch_client(url, api_key, basic_auth, ca_certs, request_timeout, 0)
    return OpenSearchEngine(client, bulk)


def _detect(
    url: str, api_key: str | None, basic_auth: tuple[str, str] | None, ca_certs: str | None, timeout: float
) -> tuple[str, int | None]:
    """The engine that answers ``GET /`` and its major version (None when not asked)."""
    try:
        import opensearchpy
    except ImportError:
        return "elasticsearch", None
    probe = _opensearch_client(url, api_key, basic_auth, ca_certs, timeout, 0)
    try:
        info = probe.info()
    except opensearchpy.exceptions.OpenSearchException as exc:
        raise StoreError(f"cannot set up the search indices at {url}: no answer to GET / ({exc})") from exc
    finally:
        probe.close()
    return tr.engine_name(info), tr.server_major(info)


class ElasticsearchStore:
    """A :class:`~riskmine.store.base.Store` on an Elasticsearch or OpenSearch cluster (see the module notes).

    Give a ready ``client`` (elasticsearch-py or opensearch-py) or a ``url`` (with optional ``api_key``,
    ``basic_auth``, ``ca_certs``, and ``engine``: auto, elasticsearch or opensearch). `prefix` names the
    indices, aliases and templates; `utc_offset` sets the calendar of monthly indices and time buckets
    (default UTC+8, China).
    """

    def __init__(
        self,
        url: str | None = None,
        *,
        client: Any = None,
        engine: str = "auto",
        prefix: str = tr.DEFAULT_PREFIX,
        api_key: str | None = None,
        basic_auth: tuple[str, str] | None = None,
        ca_certs: str | None = None,
        refresh: Refresh = "wait_for",
        utc_offset: timedelta = tr.DEFAULT_OFFSET,
        max_retries: int = 5,
        initial_backoff: float = 0.5,
        max_backoff: float = 30.0,
        chunk_size: int = 500,
        request_timeout: float = 30.0,
        shards: int = 1,
        replicas: int = 0,
    ) -> None:
        self.prefix = tr.check_prefix(prefix)
        self.refresh_policy = refresh
        self.offset = utc_offset
        self.max_retries = max_retries
        self.initial_backoff = initial_backoff
        self.max_backoff = max_backoff
        self.chunk_size = chunk_size
        self._closed = False
        self._own_client = client is None
        if client is None:
            if not url:
                raise StoreError("the Elasticsearch store needs a URL (RISKMINE_ES_URL), e.g. http://127.0.0.1:9200")
            self.engine = connect(
                url,
                engine,
                api_key=api_key,
                basic_auth=basic_auth,
                ca_certs=ca_certs,
                request_timeout=request_timeout,
                max_retries=max_retries,
            )
        else:
            self.engine = engine_of(client)
        self.client = self.engine.client
        self._known_indices: set[str] = set()
        self.plugin: tr.Plugin | None = None
        try:
            self._ensure_layout(shards, replicas)
        except self.engine.errors as exc:
            self.close()
            raise StoreError(f"cannot set up the {self._engine_title()} indices at {self._where()}: {exc}") from exc

    # --- set-up ------------------------------------------------------------------

    def _where(self) -> str:
        return self.engine.where()

    def _engine_title(self) -> str:
        return "OpenSearch" if self.engine.name == "opensearch" else "Elasticsearch"

    def _ensure_layout(self, shards: int, replicas: int) -> None:
        """Detect the analysis plugin, put the templates, give each alias an index, update mappings."""
        self.plugin = tr.detect_plugin(self.client.nodes.info(metric="plugins"))
        if self.plugin:
            log.info("%s has %s: the text field uses it", self._engine_title(), self.plugin.value)
        for coll in Collection:
            idx = INDEXES[coll]
            template = tr.index_template(self.prefix, idx, self.plugin, shards=shards, replicas=replicas)
            self.engine.put_index_template(template)
            alias = tr.alias_name(self.prefix, coll)
            self._finish_rebuilds(coll)
            for name in self._outdated(self._indices(coll)):
                log.warning("%s was built with index layout version < %d: rebuilding it", name, tr.MAPPING_VERSION)
                self._rebuild(coll, name)
            existing = self._indices(coll)
            if not existing:
                from datetime import UTC, datetime

                self._create_index(tr.index_name(self.prefix, coll, datetime.now(UTC), self.offset))
                continue
            stale = self._stale(existing)
            # New facet fields are added to older indices (adding fields to a mapping is allowed).
            mapping = tr.mappings(idx, self.plugin)
            props = {k: v for k, v in mapping["properties"].items() if k != "text"}
            self.engine.put_mapping(",".join(existing), {**mapping, "properties": props})
            self._known_indices.update(existing)
            if stale:
                log.warning("%s was indexed with another fields version: reindexing", alias)
                self.reindex(coll)

    def _indices(self, coll: Collection) -> list[str]:
        resp = self.client.indices.get(
            index=tr.index_pattern(self.prefix, coll), allow_no_indices=True, ignore_unavailable=True
        )
        return sorted(resp.keys()) if isinstance(resp, Mapping) else sorted(dict(resp).keys())

    def _outdated(self, indices: Sequence[str]) -> list[str]:
        """The indices built with another index layout (MAPPING_VERSION): analyzers cannot change in place."""
        if not indices:
            return []
        resp = self.client.indices.get_mapping(index=",".join(indices))
        return sorted(name for name, body in dict(resp).items() if tr.layout_version(body) != tr.MAPPING_VERSION)

    def _copy(self, source: str, target: str) -> int:
        """Copy every document of one index into another as it is stored (re-analysed there); returns how many."""
        search: tr.Search = lambda b: self.client.search(index=source, body=b)  # noqa: E731
        done = 0
        for batch in tr.scan_after(search, {"query": {"match_all": {}}, "sort": tr.ID_SORT}, 500):
            actions = [tr.bulk_action("index", target, str(h["_id"]), h["_source"]) for h in batch]
            report = self._bulk(actions)
            if report.failed:
                raise tr.BulkWriteError(target, report.failed, done=len(report.done))
            done += len(report.done)
        self.client.indices.refresh(index=target)
        return done

    def _rebuild(self, coll: Collection, name: str) -> None:
        """Rebuild an index with the current layout under the same name: copy it aside (into an index outside
        the alias), delete it, create it again from the template, copy back, delete the copy. A rebuild
        stopped half-way is finished at the next open (:meth:`_finish_rebuilds`)."""
        aside = tr.rebuild_name(self.prefix, name)
        self.client.indices.delete(index=aside, ignore_unavailable=True)
        self.engine.create_index(aside, tr.rebuild_body(INDEXES[coll], self.plugin))
        copied = self._copy(name, aside)
        if self.engine.count(aside, {"match_all": {}}) != copied:
            raise StoreError(f"rebuilding {name}: the copy in {aside} does not hold the {copied} documents")
        self.client.indices.delete(index=name)
        self._finish_rebuild(name, aside)

    def _finish_rebuild(self, name: str, aside: str) -> None:
        self.engine.create_index(name)
        self._copy(aside, name)
        self.client.indices.delete(index=aside)

    def _finish_rebuilds(self, coll: Collection) -> None:
        """Finish rebuilds that stopped half-way: an index set aside whose original is gone or already rebuilt
        is copied back; one whose original is still in the old layout is dropped (the rebuild starts over)."""
        resp = self.client.indices.get(
            index=tr.rebuild_pattern(self.prefix, coll), allow_no_indices=True, ignore_unavailable=True
        )
        present = set(self._indices(coll))
        outdated = set(self._outdated(sorted(present)))
        for aside in sorted(dict(resp)):
            name = tr.rebuilt_name(self.prefix, aside)
            if name in outdated:
                self.client.indices.delete(index=aside)
            else:
                log.warning("finishing the rebuild of %s from %s", name, aside)
                if name in present:
                    self._copy(aside, name)
                    self.client.indices.delete(index=aside)
                else:
                    self._finish_rebuild(name, aside)

    def _stale(self, indices: Sequence[str]) -> bool:
        resp = self.client.indices.get_mapping(index=",".join(indices))
        for body in dict(resp).values():
            meta = (body.get("mappings") or {}).get("_meta") or {}
            if meta.get("fields_version") != FIELDS_VERSION:
                return True
        return False

    def _create_index(self, name: str) -> None:
        if name in self._known_indices:
            return
        self.engine.create_index(name)
        self._known_indices.add(name)

    def _alias(self, coll: Collection) -> str:
        if self._closed:
            raise StoreError("the Elasticsearch store is closed")
        return tr.alias_name(self.prefix, coll)

    def refresh(self, collection: Collection | None = None) -> None:
        """Make every write so far visible to reads (after writes with ``refresh=False``)."""
        names = [self._alias(collection_of(collection))] if collection else [self._alias(c) for c in Collection]
        self._call(lambda: self.client.indices.refresh(index=",".join(names)))

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._own_client:
            try:
                self.engine.close()
            except Exception as exc:  # closing never raises to the caller
                log.debug("closing the search client: %s", exc)

    def __enter__(self) -> ElasticsearchStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def drop(self) -> None:
        """Delete this prefix's indices and templates (tests, and starting a migration afresh)."""
        for coll in Collection:
            for pattern in (tr.index_pattern(self.prefix, coll), tr.rebuild_pattern(self.prefix, coll)):
                self.client.indices.delete(index=pattern, allow_no_indices=True, ignore_unavailable=True)
            self.engine.delete_index_template(tr.template_name(self.prefix, coll))
        self._known_indices.clear()

    def _call(self, fn: Any) -> Any:
        try:
            return fn()
        except self.engine.errors as exc:
            raise StoreError(f"{self._engine_title()} request failed: {exc}") from exc

    def _search(self, coll: Collection, body: dict[str, Any]) -> Mapping[str, Any]:
        alias = self._alias(coll)
        return self._call(lambda: self.client.search(index=alias, body=body))

    # --- writing ---------------------------------------------------------------------

    def _locate(self, coll: Collection, ids: Sequence[str]) -> dict[str, str]:
        """id → the index holding it, for the ids that are stored (looked up across the alias)."""
        found: dict[str, str] = {}
        unique = list(dict.fromkeys(ids))
        for i in range(0, len(unique), _LOOKUP_CHUNK):
            part = unique[i : i + _LOOKUP_CHUNK]
            resp = self._search(coll, {"query": tr.ids_query(part), "size": len(part), "_source": False})
            for hit in tr._hits(resp):
                found[str(hit["_id"])] = str(hit["_index"])
        return found

    def write(
        self,
        collection: Collection,
        records: Sequence[BaseModel],
        policy: DuplicatePolicy = DuplicatePolicy.skip,
    ) -> WriteResult:
        """Write a batch with the bulk API (see the module notes for the duplicate policies).

        Within a batch, records behave as if written one after another: with ``skip`` a
        repeated id is skipped, with ``overwrite`` the last copy wins, with ``fail`` it
        fails the batch. Raises :class:`~riskmine.store.es_translate.BulkWriteError` naming
        the records that failed after the retries (the others are written).
        """
        batch = prepare_write(collection, records, policy)
        coll, policy, chosen, repeated, n_records = (
            batch.collection,
            batch.policy,
            batch.chosen,
            batch.repeated,
            batch.n_records,
        )
        if not chosen:
            return WriteResult()
        existing = self._locate(coll, list(chosen))
        if policy is DuplicatePolicy.fail and (existing or repeated):
            again = set(repeated)
            raise DuplicateRecordError(coll.value, [i for i in chosen if i in existing or i in again])
        todo = list(chosen) if policy is DuplicatePolicy.overwrite else [i for i in chosen if i not in existing]
        idx = INDEXES[coll]
        op = tr.op_type(policy)
        actions = []
        for rec_id in todo:
            rec = chosen[rec_id]
            target = existing.get(rec_id) or tr.index_name(self.prefix, coll, idx.time(rec), self.offset)
            self._create_index(target)
            actions.append(tr.bulk_action(op, target, rec_id, tr.index_body(idx, rec)))
        report = self._bulk(actions)
        if report.failed:
            raise tr.BulkWriteError(coll.value, report.failed, done=len(report.done))
        late = set(report.conflicts)  # created by another writer between the lookup and the bulk
        new = [i for i in todo if i not in existing and i not in late]
        done = [i for i in todo if i not in late]
        if policy is DuplicatePolicy.overwrite:
            return WriteResult(written=len(new), overwritten=n_records - len(new), ids=done)
        return WriteResult(written=len(new), skipped=n_records - len(new), ids=done)

    def _bulk(self, actions: list[dict[str, Any]]) -> tr.BulkReport:
        """Send the actions in chunks; items answered 429/5xx (or a whole request answered so) are sent
        again after an exponential backoff, up to ``max_retries`` times."""
        report = tr.BulkReport()
        for start in range(0, len(actions), max(1, self.chunk_size)):
            self._bulk_chunk(actions[start : start + max(1, self.chunk_size)], report, len(actions))
        return report

    def _bulk_chunk(self, chunk: list[dict[str, Any]], report: tr.BulkReport, total: int) -> None:
        pending: Sequence[Mapping[str, Any]] = chunk
        for attempt in range(self.max_retries + 1):
            if attempt:
                time.sleep(min(self.max_backoff, self.initial_backoff * 2 ** (attempt - 1)))
            try:
                resp = self.engine.bulk(tr.bulk_operations(pending), self.refresh_policy)
            except self.engine.errors as exc:
                if tr.error_status(exc) in tr.RETRY_STATUSES and attempt < self.max_retries:
                    continue
                raise StoreError(
                    f"{self._engine_title()} bulk request failed after {attempt} retries: {exc}; "
                    f"{len(report.done)} of {total} records were written"
                ) from exc
            pending = tr.bulk_results(pending, resp, report, retry=attempt < self.max_retries)
            if not pending:
                return

    def delete(self, collection: Collection, record_ids: Sequence[str]) -> int:
        """Delete records wherever they are (looked up across the alias); returns how many existed."""
        coll = collection_of(collection)
        ids = list(dict.fromkeys(record_ids))
        if not ids:
            return 0
        where = self._locate(coll, ids)
        report = self._bulk([tr.bulk_action("delete", where[i], i) for i in ids if i in where])
        if report.failed:
            raise tr.BulkWriteError(coll.value, report.failed, done=len(report.done))
        return len(report.done)

    def reindex(self, collection: Collection | None = None) -> int:
        """Rewrite every stored record's derived fields from its ``_record`` (after a fields change)."""
        done = 0
        for coll in [collection_of(collection)] if collection else list(Collection):
            idx, model = INDEXES[coll], RECORD_TYPES[coll]
            body = {"query": {"match_all": {}}, "sort": tr.ID_SORT, "_source": [tr.RECORD]}
            for batch in tr.scan_after(functools.partial(self._search, coll), body, 500):
                actions = [
                    tr.bulk_action(
                        "index", str(h["_index"]), str(h["_id"]), tr.index_body(idx, tr.record_from_hit(model, h))
                    )
                    for h in batch
                ]
                report = self._bulk(actions)
                if report.failed:
                    raise tr.BulkWriteError(coll.value, report.failed, done=len(report.done))
                done += len(report.done)
        return done

    # --- reading ---------------------------------------------------------------------

    def data_version(self, collection: Collection) -> str:
        """The collection's indices (by uuid) with their primaries' indexing, deletion and refresh counts: every
        write raises a count and every refresh that makes writes visible raises another, so the token changes
        whenever what a search sees can have changed (it may also change without, which costs a cache miss)."""
        alias = self._alias(collection_of(collection))
        resp = self._call(lambda: self.client.indices.stats(index=alias, metric="indexing,refresh", level="indices"))
        return tr.stats_version(resp)

    def get(self, collection: Collection, record_id: str) -> Any | None:
        got = self.get_many(collection, [record_id])
        return got[0] if got else None

    def get_many(self, collection: Collection, record_ids: Sequence[str]) -> list[Any]:
        """Records in the order of the ids asked for; missing ids are left out."""
        coll = collection_of(collection)
        model = RECORD_TYPES[coll]
        unique = list(dict.fromkeys(record_ids))
        found: dict[str, Any] = {}
        for i in range(0, len(unique), _LOOKUP_CHUNK):
            part = unique[i : i + _LOOKUP_CHUNK]
            resp = self._search(coll, {"query": tr.ids_query(part), "size": len(part), "_source": [tr.RECORD]})
            for hit in tr._hits(resp):
                found[str(hit["_id"])] = tr.record_from_hit(model, hit)
        return [found[i] for i in record_ids if i in found]

    def count(self, collection: Collection, *, filters: Filters | None = None, text: str | None = None) -> int:
        coll = collection_of(collection)
        q = tr.build_query(INDEXES[coll], filters, text)
        if q.empty:
            return 0
        alias = self._alias(coll)
        return int(self._call(lambda: self.engine.count(alias, q.query)))

    def query(
        self,
        collection: Collection,
        *,
        filters: Filters | None = None,
        text: str | None = None,
        sort: str | None = None,
        descending: bool = True,
        limit: int = 50,
        offset: int = 0,
        omit: Iterable[str] | None = None,
    ) -> Page:
        """Matching records and their total; by relevance with `text` and no `sort`, else by `sort`
        ("time" by default), ties by id; deep pages by ``search_after``. Fields in `omit` are left out of
        ``_source`` (source filtering) and take their defaults."""
        coll = collection_of(collection)
        idx = INDEXES[coll]
        left_out = check_omit(coll, omit)
        if limit < 0 or offset < 0:
            raise InvalidFilterError(f"limit and offset must not be negative (got limit={limit}, offset={offset})")
        order = tr.sort_clause(idx, sort, descending, ranked=False)  # validates the sort field first
        q = tr.build_query(idx, filters, text)
        if q.empty:
            return Page([], 0)
        if q.ranked:
            order = tr.sort_clause(idx, sort, descending, ranked=True)
        body = {"query": q.query, "sort": order, "_source": tr.record_source(left_out)}
        hits, total = tr.page_hits(lambda b: self._search(coll, b), body, offset=offset, limit=limit)
        model = RECORD_TYPES[coll]
        return Page([tr.record_from_hit(model, h) for h in hits], total)

    def iterate(
        self,
        collection: Collection,
        *,
        filters: Filters | None = None,
        batch_size: int = 1000,
        omit: Iterable[str] | None = None,
    ) -> Iterator[Any]:
        """Every matching record, in id order, `batch_size` at a time by ``search_after`` on id; fields in
        `omit` are left out of ``_source`` and take their defaults."""
        coll = collection_of(collection)
        left_out = check_omit(coll, omit)
        if batch_size < 1:
            raise InvalidFilterError(f"batch_size must be at least 1 (got {batch_size})")
        q = tr.build_query(INDEXES[coll], filters, None)
        return self._iterate(coll, q, batch_size, left_out)

    def _iterate(self, coll: Collection, q: tr.Query, batch_size: int, omit: Sequence[str] = ()) -> Iterator[Any]:
        if q.empty:
            return
        model = RECORD_TYPES[coll]
        body = {"query": q.query, "sort": tr.ID_SORT, "_source": tr.record_source(omit)}
        for batch in tr.scan_after(lambda b: self._search(coll, b), body, min(batch_size, tr.MAX_WINDOW)):
            for hit in batch:
                yield tr.record_from_hit(model, hit)

    def aggregate(
        self,
        collection: Collection,
        field: str | None,
        *,
        filters: Filters | None = None,
        text: str | None = None,
        time_bucket: TimeBucket | None = None,
        size: int = 100,
    ) -> list[Bucket]:
        """Counts per value of `field`, per time period, or per (period, value), as the SQLite backend
        orders them: values most frequent first (ties by value), periods in time order."""
        req = check_aggregate(collection, field, time_bucket, size)
        coll, idx, spec, bucket = req.collection, req.index, req.field, req.bucket
        q = tr.build_query(idx, filters, text)
        if q.empty or size == 0:
            return []

        def aggs(body: dict[str, Any]) -> Mapping[str, Any]:
            resp = self._search(coll, {"query": q.query, "size": 0, "aggs": body, "track_total_hits": False})
            return resp.get("aggregations") or {}

        if spec is not None and bucket is None:
            return tr.parse_terms(spec, aggs({"values": tr.terms_agg(spec, size)})["values"])
        if spec is None:
            assert bucket is not None
            return tr.parse_periods(bucket, aggs({"periods": tr.histogram_agg(bucket, self.offset)})["periods"])
        assert bucket is not None
        top_raw = aggs({"values": tr.terms_agg(spec, size)})["values"].get("buckets") or []
        if not top_raw:
            return []
        include = [b["key"] for b in top_raw]
        keep = [tr.bucket_value(spec, b) for b in top_raw]
        hist = tr.histogram_agg(bucket, self.offset)
        hist["aggs"] = {"values": tr.terms_agg(spec, len(include), include=include)}
        return tr.parse_period_values(bucket, spec, aggs({"periods": hist})["periods"], keep)
