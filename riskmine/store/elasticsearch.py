"""The Elasticsearch backend of the :class:`~riskmine.store.base.Store` Protocol.

What is sent and read is built by :mod:`riskmine.store.es_translate`; this module
talks to the cluster with the official ``elasticsearch`` client (8.x/9.x API).

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

Writes use ``helpers.streaming_bulk``: ``skip`` creates (a 409 from a concurrent
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


def _client_errors() -> tuple[type[BaseException], ...]:
    from elasticsearch import ApiError, TransportError

    return (ApiError, TransportError)


class ElasticsearchStore:
    """A :class:`~riskmine.store.base.Store` on an Elasticsearch cluster (see the module notes).

    Give a ready ``client`` or a ``url`` (with optional ``api_key``, ``basic_auth``,
    ``ca_certs``). `prefix` names the indices, aliases and templates; `utc_offset` sets
    the calendar of monthly indices and time buckets (default UTC+8, China).
    """

    def __init__(
        self,
        url: str | None = None,
        *,
        client: Any = None,
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
            try:
                from elasticsearch import Elasticsearch
            except ImportError:  # pragma: no cover - the package is a dependency
                raise StoreError(
                    "the Elasticsearch store needs the `elasticsearch` package: pip install 'elasticsearch>=8'"
                ) from None
            options: dict[str, Any] = {
                "request_timeout": request_timeout,
                "retry_on_status": (429, 502, 503, 504),
                "retry_on_timeout": True,
                "max_retries": max_retries,
            }
            if api_key:
                options["api_key"] = api_key
            if basic_auth:
                options["basic_auth"] = basic_auth
            if ca_certs:
                options["ca_certs"] = ca_certs
            client = Elasticsearch(url, **options)
        self.client = client
        self._known_indices: set[str] = set()
        self.plugin: tr.Plugin | None = None
        try:
            self._ensure_layout(shards, replicas)
        except _client_errors() as exc:
            self.close()
            raise StoreError(f"cannot set up the Elasticsearch indices at {self._where()}: {exc}") from exc

    # --- set-up ------------------------------------------------------------------

    def _where(self) -> str:
        try:
            nodes = self.client.transport.node_pool.all()
            return ", ".join(str(n.base_url) for n in nodes) or "the cluster"
        except Exception:  # a client without a node pool (any transport)
            return "the cluster"

    def _ensure_layout(self, shards: int, replicas: int) -> None:
        """Detect the analysis plugin, put the templates, give each alias an index, update mappings."""
        self.plugin = tr.detect_plugin(self.client.nodes.info(metric="plugins"))
        if self.plugin:
            log.info("Elasticsearch has %s: the text field uses it", self.plugin.value)
        for coll in Collection:
            idx = INDEXES[coll]
            template = tr.index_template(self.prefix, idx, self.plugin, shards=shards, replicas=replicas)
            self.client.indices.put_index_template(**template)
            alias = tr.alias_name(self.prefix, coll)
            existing = self._indices(coll)
            if not existing:
                from datetime import UTC, datetime

                self._create_index(tr.index_name(self.prefix, coll, datetime.now(UTC), self.offset))
                continue
            stale = self._stale(existing)
            # New facet fields are added to older indices (adding fields to a mapping is allowed).
            mapping = tr.mappings(idx, self.plugin)
            props = {k: v for k, v in mapping["properties"].items() if k != "text"}
            self.client.indices.put_mapping(
                index=",".join(existing), properties=props, meta=mapping["_meta"], dynamic="strict"
            )
            self._known_indices.update(existing)
            if stale:
                log.warning("%s was indexed with another fields version: reindexing", alias)
                self.reindex(coll)

    def _indices(self, coll: Collection) -> list[str]:
        resp = self.client.indices.get(
            index=tr.index_pattern(self.prefix, coll), allow_no_indices=True, ignore_unavailable=True
        )
        return sorted(resp.keys()) if isinstance(resp, Mapping) else sorted(dict(resp).keys())

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
        from elasticsearch import BadRequestError

        try:
            self.client.indices.create(index=name)
        except BadRequestError as exc:
            if "resource_already_exists" not in str(exc):
                raise
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
                self.client.close()
            except Exception as exc:  # closing never raises to the caller
                log.debug("closing the Elasticsearch client: %s", exc)

    def __enter__(self) -> ElasticsearchStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def drop(self) -> None:
        """Delete this prefix's indices and templates (tests, and starting a migration afresh)."""
        for coll in Collection:
            self.client.indices.delete(
                index=tr.index_pattern(self.prefix, coll), allow_no_indices=True, ignore_unavailable=True
            )
            self.client.options(ignore_status=404).indices.delete_index_template(
                name=tr.template_name(self.prefix, coll)
            )
        self._known_indices.clear()

    def _call(self, fn: Any) -> Any:
        try:
            return fn()
        except _client_errors() as exc:
            raise StoreError(f"Elasticsearch request failed: {exc}") from exc

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
        from elasticsearch import helpers

        report = tr.BulkReport()
        if not actions:
            return report
        client = self.client.options(max_retries=0)  # retried here, with backoff, per item
        try:
            for ok, item in helpers.streaming_bulk(
                client,
                actions,
                chunk_size=self.chunk_size,
                raise_on_error=False,
                raise_on_exception=True,
                max_retries=self.max_retries,
                initial_backoff=self.initial_backoff,
                max_backoff=self.max_backoff,
                retry_on_status=tr.RETRY_STATUSES,
                refresh=self.refresh_policy,
            ):
                report.add(ok, item)
        except _client_errors() as exc:
            raise StoreError(
                f"Elasticsearch bulk request failed after {self.max_retries} retries: {exc}; "
                f"{len(report.done)} of {len(actions)} records were written"
            ) from exc
        return report

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
        resp = self._call(lambda: self.client.count(index=alias, query=q.query))
        return int(resp["count"])

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
        self, collection: Collection, *, filters: Filters | None = None, batch_size: int = 1000
    ) -> Iterator[Any]:
        """Every matching record, in id order, `batch_size` at a time by ``search_after`` on id."""
        coll = collection_of(collection)
        if batch_size < 1:
            raise InvalidFilterError(f"batch_size must be at least 1 (got {batch_size})")
        q = tr.build_query(INDEXES[coll], filters, None)
        return self._iterate(coll, q, batch_size)

    def _iterate(self, coll: Collection, q: tr.Query, batch_size: int) -> Iterator[Any]:
        if q.empty:
            return
        model = RECORD_TYPES[coll]
        body = {"query": q.query, "sort": tr.ID_SORT, "_source": [tr.RECORD]}
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
