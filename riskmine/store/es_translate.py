"""The pure Elasticsearch / OpenSearch translation layer of the store: no client, no network.

Everything the search backend sends or reads is built or parsed here, so it can be
unit-tested without a cluster. The same bodies serve Elasticsearch 8/9 and OpenSearch
2.x (their query DSL, mappings and bulk format agree on everything used here):

* **index names**: one index per collection and month (``riskmine-signals-2025.03``)
  behind an alias per collection (``riskmine-signals``); the month is the record's time
  at the store's UTC offset (China, UTC+8, by default);
* **templates and mappings**, derived from :mod:`riskmine.store.fields`: keyword,
  double, boolean and date fields for the facets (under ``f.<name>``), a ``date_nanos``
  ``time``, a keyword ``id`` (tie-breaks, ``search_after``), whitespace-analysed
  ``words`` (jieba tokens) and ``chars`` (one token per CJK character) text fields that
  give the same matches as the SQLite backend without any plugin, and a ``text`` field
  analysed with ``ik_max_word`` or ``smartcn`` when the cluster has the plugin, else with
  the built-in ``cjk`` analyzer (CJK bigrams; Elasticsearch's and OpenSearch's
  analysis-common), used for ranking only; the mapping carries its version
  (:data:`MAPPING_VERSION`) in ``_meta``;
* **documents → index bodies**: the record JSON in ``_record`` (an object mapped with
  ``enabled: false``: kept in ``_source``, never indexed) plus the extracted values;
* **filters, Range, text and sort → query DSL**, paging with ``search_after``;
* **aggregations** (``terms``, ``date_histogram``) → :class:`~riskmine.store.base.Bucket`;
* **bulk actions** and the classification of bulk item errors (retryable 429/5xx,
  conflicts, permanent), with a report of the ids that failed.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, timezone
from enum import StrEnum
from typing import Any

from pydantic import BaseModel

from riskmine.store.base import Bucket, Collection, DuplicatePolicy, Filters, Range, StoreError, TimeBucket
from riskmine.store.fields import (
    FIELDS_VERSION,
    TIME_FIELD,
    CollectionIndex,
    FieldKind,
    FieldSpec,
    InvalidFilterError,
)
from riskmine.store.fulltext import (
    _CHAR_TOKEN,
    _CHUNK,
    _CJK_CHAR,
    QUERY_STOPWORDS,
    _clean_tokens,
    _jieba,
    index_columns,
)

DEFAULT_PREFIX = "riskmine"
DEFAULT_OFFSET = timedelta(hours=8)
MAX_WINDOW = 10_000  # Elasticsearch's default index.max_result_window: from + size beyond it needs search_after
FACETS = "f"  # object holding the facet fields: f.hazard, f.region, ...
RECORD = "_record"
ANALYZER = "riskmine_whitespace"
# Version of the index layout (settings, analyzers, mapping of the text fields). Raise it when a change
# cannot be applied to existing indices with a mapping update; the store then rebuilds them at open.
# 1: `text` analysed per character (standard); 2: CJK bigrams (cjk).
MAPPING_VERSION = 2
ENGINE_NAMES = ("elasticsearch", "opensearch")
_PREFIX_RE = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,100}$")


class Plugin(StrEnum):
    """A Chinese analysis plugin the cluster may have."""

    ik = "analysis-ik"
    smartcn = "analysis-smartcn"


# The analyzer of the `text` field per plugin (index time, search time); without one, the `cjk`
# analyzer of analysis-common (overlapping CJK bigrams after width folding), which Elasticsearch
# ships in every distribution and OpenSearch's analysis-common module provides.
PLUGIN_ANALYZERS: dict[Plugin | None, tuple[str, str]] = {
    Plugin.ik: ("ik_max_word", "ik_smart"),
    Plugin.smartcn: ("smartcn", "smartcn"),
    None: ("cjk", "cjk"),
}


def engine_name(info: Mapping[str, Any]) -> str:
    """ "opensearch" or "elasticsearch", from the answer to ``GET /`` (OpenSearch says
    ``version.distribution: opensearch``; Elasticsearch says no distribution)."""
    version = info.get("version") if isinstance(info, Mapping) else None
    if isinstance(version, Mapping) and version.get("distribution") == "opensearch":
        return "opensearch"
    return "elasticsearch"


def server_major(info: Mapping[str, Any]) -> int | None:
    """The server's major version from the answer to ``GET /`` (``version.number``), or None."""
    version = info.get("version") if isinstance(info, Mapping) else None
    number = version.get("number") if isinstance(version, Mapping) else None
    head = str(number or "").split(".", 1)[0]
    return int(head) if head.isdigit() else None


# --- names -----------------------------------------------------------------------


def check_prefix(prefix: str) -> str:
    """The index prefix if Elasticsearch accepts it in index names; StoreError otherwise."""
    if not isinstance(prefix, str) or not _PREFIX_RE.match(prefix):
        raise StoreError(
            f"invalid Elasticsearch index prefix {prefix!r}: use lower-case letters, digits, '-', '_' or '.', "
            "starting with a letter or digit (RISKMINE_ES_INDEX_PREFIX)"
        )
    return prefix


def alias_name(prefix: str, collection: Collection) -> str:
    """The alias that reads see: every monthly index of the collection."""
    return f"{prefix}-{collection.value}"


def index_pattern(prefix: str, collection: Collection) -> str:
    return f"{prefix}-{collection.value}-*"


def template_name(prefix: str, collection: Collection) -> str:
    return f"{prefix}-{collection.value}"


def rebuild_name(prefix: str, index: str) -> str:
    """Where an index is set aside while it is rebuilt: outside the collection's pattern, so outside its alias."""
    return f"{prefix}-rebuild-{index[len(prefix) + 1 :]}"


def rebuilt_name(prefix: str, aside: str) -> str:
    """The index that :func:`rebuild_name` set aside."""
    return f"{prefix}-{aside[len(prefix) + len('-rebuild-') :]}"


def rebuild_pattern(prefix: str, collection: Collection) -> str:
    return f"{prefix}-rebuild-{collection.value}-*"


def month_of(when: datetime, offset: timedelta = DEFAULT_OFFSET) -> str:
    """ "YYYY.MM" of a time at the given UTC offset (naive times are UTC)."""
    dt = when if when.tzinfo is not None else when.replace(tzinfo=UTC)
    local = dt.astimezone(timezone(offset))
    return f"{local.year:04d}.{local.month:02d}"


def index_name(prefix: str, collection: Collection, when: datetime, offset: timedelta = DEFAULT_OFFSET) -> str:
    """The monthly index a new record of time `when` goes to, e.g. riskmine-signals-2025.03."""
    return f"{prefix}-{collection.value}-{month_of(when, offset)}"


# --- mappings --------------------------------------------------------------------

_KIND_TYPES: dict[FieldKind, dict[str, Any]] = {
    FieldKind.keyword: {"type": "keyword"},
    FieldKind.number: {"type": "double"},
    FieldKind.boolean: {"type": "boolean"},
    FieldKind.time: {"type": "date_nanos"},
}


def mappings(idx: CollectionIndex, plugin: Plugin | None = None) -> dict[str, Any]:
    """The index mapping of a collection, from its field specification."""
    analyzer, search_analyzer = PLUGIN_ANALYZERS[plugin]
    return {
        "dynamic": "strict",
        "_meta": {
            "fields_version": FIELDS_VERSION,
            "mapping_version": MAPPING_VERSION,
            "plugin": plugin.value if plugin else None,
        },
        "properties": {
            "id": {"type": "keyword"},
            TIME_FIELD: {"type": "date_nanos"},
            RECORD: {"type": "object", "enabled": False},
            FACETS: {
                "type": "object",
                "dynamic": "strict",
                "properties": {name: dict(_KIND_TYPES[spec.kind]) for name, spec in idx.fields.items()},
            },
            "words": {"type": "text", "analyzer": ANALYZER, "norms": True},
            "chars": {"type": "text", "analyzer": ANALYZER},
            "text": {"type": "text", "analyzer": analyzer, "search_analyzer": search_analyzer},
        },
    }


def index_settings(shards: int = 1, replicas: int = 0) -> dict[str, Any]:
    """Index settings: the whitespace analyzer the jieba-segmented fields use."""
    return {
        "number_of_shards": shards,
        "number_of_replicas": replicas,
        "analysis": {"analyzer": {ANALYZER: {"type": "custom", "tokenizer": "whitespace", "filter": ["lowercase"]}}},
    }


def layout_version(index_mapping: Mapping[str, Any]) -> int:
    """The MAPPING_VERSION an index was built with, from its ``GET <index>/_mapping`` entry (1 before it was
    recorded)."""
    meta = (index_mapping.get("mappings") or {}).get("_meta") or {}
    try:
        return int(meta.get("mapping_version", 1))
    except (TypeError, ValueError):
        return 1


def rebuild_body(idx: CollectionIndex, plugin: Plugin | None = None) -> dict[str, Any]:
    """Settings and mappings of the index a rebuild copies into (no template applies to its name)."""
    return {"settings": index_settings(), "mappings": mappings(idx, plugin)}


def index_template(
    prefix: str,
    idx: CollectionIndex,
    plugin: Plugin | None = None,
    *,
    shards: int = 1,
    replicas: int = 0,
) -> dict[str, Any]:
    """Keyword arguments of ``indices.put_index_template`` for a collection's monthly indices."""
    coll = idx.collection
    return {
        "name": template_name(prefix, coll),
        "index_patterns": [index_pattern(prefix, coll)],
        "priority": 200,
        "template": {
            "settings": index_settings(shards, replicas),
            "mappings": mappings(idx, plugin),
            "aliases": {alias_name(prefix, coll): {}},
        },
        "meta": {"fields_version": FIELDS_VERSION, "mapping_version": MAPPING_VERSION, "managed_by": "riskmine"},
    }


def detect_plugin(nodes_info: Mapping[str, Any]) -> Plugin | None:
    """The best Chinese analysis plugin every node has, from a ``GET _nodes/plugins`` response."""
    nodes = nodes_info.get("nodes") or {}
    if not isinstance(nodes, Mapping) or not nodes:
        return None
    per_node = [
        {str(p.get("name")) for p in (n.get("plugins") or []) if isinstance(p, Mapping)} for n in nodes.values()
    ]
    for plugin in (Plugin.ik, Plugin.smartcn):
        if all(plugin.value in names for names in per_node):
            return plugin
    return None


# --- documents -------------------------------------------------------------------


def iso_time(value: datetime | float) -> str:
    """A time as the UTC ISO-8601 string the ``date_nanos`` fields take (microseconds kept)."""
    if isinstance(value, datetime):
        dt = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
    else:
        seconds = float(value)
        dt = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=round(seconds * 1_000_000))
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _facet_value(spec: FieldSpec, value: Any) -> Any:
    return iso_time(value) if spec.kind is FieldKind.time else value


def index_body(idx: CollectionIndex, record: BaseModel) -> dict[str, Any]:
    """What is indexed for a record: its JSON (not indexed), id, time, facet values and text fields."""
    facets: dict[str, Any] = {}
    for name, spec in idx.fields.items():
        values = [_facet_value(spec, v) for v in spec.values(record)]
        if values:
            facets[name] = values if spec.multi else values[0]
    parts = idx.text(record)
    words, chars = index_columns(parts)
    raw = " ".join(p for p, _ in parts if p)
    return {
        "id": record.id,  # type: ignore[attr-defined]
        TIME_FIELD: iso_time(idx.time(record)),
        RECORD: json.loads(record.model_dump_json()),
        FACETS: facets,
        "words": words,
        "chars": chars,
        "text": raw,
    }


def stats_version(stats: Mapping[str, Any]) -> str:
    """A data version from an index stats answer (``metric=indexing,refresh``, ``level=indices``): per index,
    its uuid and its primaries' index, delete and refresh totals."""
    parts = []
    for name, index in sorted((stats.get("indices") or {}).items()):
        prim = index.get("primaries") or {}
        indexing, refresh = prim.get("indexing") or {}, prim.get("refresh") or {}
        counts = (indexing.get("index_total", 0), indexing.get("delete_total", 0), refresh.get("total", 0))
        parts.append(f"{name}@{index.get('uuid', '')}:{counts[0]}.{counts[1]}.{counts[2]}")
    return "|".join(parts)


def record_source(omit: Sequence[str] = ()) -> list[str] | dict[str, list[str]]:
    """The ``_source`` filter of a read: the stored record, without its top-level fields in `omit`."""
    if not omit:
        return [RECORD]
    return {"includes": [RECORD], "excludes": [f"{RECORD}.{name}" for name in omit]}


def record_from_hit(model: type[BaseModel], hit: Mapping[str, Any]) -> BaseModel:
    """The record stored in a search hit's ``_source``; StoreError when it holds none."""
    source = hit.get("_source") or {}
    body = source.get(RECORD)
    if not isinstance(body, Mapping):
        raise StoreError(f"Elasticsearch document {hit.get('_id')!r} in {hit.get('_index')!r} has no {RECORD} object")
    return model.model_validate(body)


# --- queries ---------------------------------------------------------------------

MATCH_NONE: dict[str, Any] = {"match_none": {}}


def _field_path(name: str) -> str:
    return TIME_FIELD if name == TIME_FIELD else f"{FACETS}.{name}"


def _bound(spec: FieldSpec, value: Any) -> Any:
    if spec.kind is FieldKind.time:
        if isinstance(value, datetime):
            return iso_time(value)
        if isinstance(value, date):
            return iso_time(datetime(value.year, value.month, value.day, tzinfo=UTC))
        return iso_time(float(spec.coerce(value)))
    return spec.coerce(value)


def filter_clause(spec: FieldSpec, cond: Any) -> dict[str, Any] | None:
    """The DSL of one filter condition; None when nothing can match (an empty list)."""
    path = _field_path(spec.name)
    if isinstance(cond, Range):
        pairs = (("gte", cond.gte), ("lte", cond.lte), ("gt", cond.gt), ("lt", cond.lt))
        bounds = {op: _bound(spec, v) for op, v in pairs if v is not None}
        return {"range": {path: bounds}} if bounds else {"match_all": {}}
    if isinstance(cond, list | tuple | set | frozenset):
        values = list(dict.fromkeys(_bound(spec, v) for v in cond if v is not None))
        if not values:
            return None
        return {"terms": {path: values}}
    if isinstance(cond, dict):
        raise InvalidFilterError(f"filter on {spec.name!r} is a mapping; give a value, a list of values or a Range")
    return {"term": {path: _bound(spec, cond)}}


def _chars_phrase(word: str) -> dict[str, Any]:
    return {"match_phrase": {"chars": " ".join(_CHAR_TOKEN.findall(word))}}


def _any(*clauses: dict[str, Any]) -> dict[str, Any]:
    return {"bool": {"should": list(clauses), "minimum_should_match": 1}}


def _chunk_clauses(chunk: str) -> list[dict[str, Any]]:
    """The same rule as the SQLite backend's query: every word, as a word or as a phrase of characters."""
    words = _clean_tokens(_jieba().cut(chunk))
    only_stopwords = all(w in QUERY_STOPWORDS for w in words)
    clauses: list[dict[str, Any]] = []
    for i, word in enumerate(words):
        if word in QUERY_STOPWORDS and not only_stopwords:
            continue
        if len(word) == 1 and _CJK_CHAR.match(word) and len(words) > 1:
            around = []
            if i > 0:
                around.append(_chars_phrase(words[i - 1] + word))
            if i + 1 < len(words):
                around.append(_chars_phrase(word + words[i + 1]))
            clauses.append(_any(*around))
        elif _CJK_CHAR.search(word):
            clauses.append(_any({"term": {"words": word}}, _chars_phrase(word)))
        else:
            clauses.append(_any({"term": {"words": word}}, {"term": {"chars": word}}))
    return clauses


def text_clauses(q: str) -> list[dict[str, Any]] | None:
    """Clauses that must all match for user text; None for blank text (no condition), [] when
    the text holds no letter or digit (it matches nothing). Never raises, whatever the input:
    user text only reaches term values, never query_string syntax."""
    if not q or not q.strip():
        return None
    import unicodedata

    clauses: list[dict[str, Any]] = []
    for chunk in _CHUNK.findall(unicodedata.normalize("NFKC", q)):
        for clause in _chunk_clauses(chunk):
            if clause not in clauses:
                clauses.append(clause)
    return clauses


@dataclass
class Query:
    """A translated read: the bool query, whether it can match nothing, and whether text ranks it."""

    query: dict[str, Any]
    empty: bool = False
    ranked: bool = False


def build_query(idx: CollectionIndex, filters: Filters | None = None, text: str | None = None) -> Query:
    """Filters (AND) and text → a bool query. Unknown fields raise UnknownFieldError, bad values
    InvalidFilterError, exactly as in the SQLite backend."""
    if filters is not None and not hasattr(filters, "items"):
        raise InvalidFilterError(f"filters must be a mapping of field name to condition, not {type(filters)}")
    conds: list[dict[str, Any]] = []
    empty = False
    for name, cond in (filters or {}).items():
        spec = idx.spec(name)
        if cond is None:
            continue
        clause = filter_clause(spec, cond)
        if clause is None:
            empty = True
        else:
            conds.append(clause)
    if text is not None and not isinstance(text, str):
        raise InvalidFilterError(f"text must be a string, not {type(text).__name__}")
    must = text_clauses(text or "")
    if must == []:
        empty = True
    if empty:
        return Query(dict(MATCH_NONE), empty=True)
    body: dict[str, Any] = {}
    if conds:
        body["filter"] = conds
    if must:
        body["must"] = must
        # Ranking only: the plugin-analysed text (or standard per-character analysis) adds to the score.
        body["should"] = [{"match": {"text": {"query": text}}}]
    if not body:
        return Query({"match_all": {}})
    return Query({"bool": body}, ranked=bool(must))


def sort_clause(idx: CollectionIndex, sort: str | None, descending: bool, ranked: bool) -> list[dict[str, Any]]:
    """The sort of a query: relevance (with text, no sort), the time (default) or a field; ties by id.

    Records lacking the field come last; a multi-valued field sorts by its largest value
    descending, its smallest ascending (as in the SQLite backend)."""
    order = "desc" if descending else "asc"
    if sort is None and ranked:
        return [{"_score": {"order": "desc"}}, {"id": {"order": "asc"}}]
    spec = idx.spec(sort) if sort is not None else None
    if spec is None or spec.name == TIME_FIELD:
        return [{TIME_FIELD: {"order": order}}, {"id": {"order": order}}]
    mode = "max" if descending else "min"
    return [{_field_path(spec.name): {"order": order, "mode": mode, "missing": "_last"}}, {"id": {"order": order}}]


ID_SORT: list[dict[str, Any]] = [{"id": {"order": "asc"}}]


def ids_query(ids: Sequence[str]) -> dict[str, Any]:
    return {"ids": {"values": list(ids)}}


# --- paging ----------------------------------------------------------------------

Search = Callable[[dict[str, Any]], Mapping[str, Any]]


def page_hits(
    search: Search,
    body: Mapping[str, Any],
    *,
    offset: int,
    limit: int,
    window: int = MAX_WINDOW,
) -> tuple[list[Mapping[str, Any]], int]:
    """The hits at [offset, offset + limit) and the total, calling `search(body)` as often as needed.

    Within the result window, one ``from``/``size`` request; beyond it, ``search_after`` steps
    (the sort must end with a unique tie-break, as :func:`sort_clause`'s do), each at most
    `window` hits, skipping to `offset` and then reading `limit` hits."""
    if limit < 0 or offset < 0:
        raise InvalidFilterError(f"limit and offset must not be negative (got limit={limit}, offset={offset})")
    if offset + limit <= window:
        resp = search({**body, "from": offset, "size": limit, "track_total_hits": True})
        return list(_hits(resp)), _total(resp)
    hits: list[Mapping[str, Any]] = []
    after: list[Any] | None = None
    skipped = 0
    total = 0
    while len(hits) < limit:
        want = min(window, offset - skipped) if skipped < offset else min(window, limit - len(hits))
        step: dict[str, Any] = {**body, "size": want, "track_total_hits": True}
        if after is not None:
            step["search_after"] = after
        resp = search(step)
        total = _total(resp)
        batch = list(_hits(resp))
        if not batch:
            break
        after = list(batch[-1]["sort"])
        if skipped < offset:
            skipped += len(batch)
        else:
            hits.extend(batch)
        if len(batch) < want:
            break
    return hits[:limit], total


def scan_after(search: Search, body: Mapping[str, Any], batch_size: int) -> Iterator[list[Mapping[str, Any]]]:
    """Batches of hits in the body's sort order (which must end with a unique key), by ``search_after``."""
    if batch_size < 1:
        raise InvalidFilterError(f"batch_size must be at least 1 (got {batch_size})")
    after: list[Any] | None = None
    while True:
        step: dict[str, Any] = {**body, "size": batch_size, "track_total_hits": False}
        if after is not None:
            step["search_after"] = after
        batch = list(_hits(search(step)))
        if batch:
            yield batch
        if len(batch) < batch_size:
            return
        after = list(batch[-1]["sort"])


def _hits(resp: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    return list((resp.get("hits") or {}).get("hits") or [])


def _total(resp: Mapping[str, Any]) -> int:
    total = (resp.get("hits") or {}).get("total")
    if isinstance(total, Mapping):
        return int(total.get("value", 0))
    return int(total or 0)


# --- aggregations ----------------------------------------------------------------

_INTERVALS = {TimeBucket.day: "day", TimeBucket.week: "week", TimeBucket.month: "month"}
SUB_TERMS_SIZE = 10_000


def utc_offset_text(offset: timedelta) -> str:
    minutes = int(offset.total_seconds() // 60)
    sign = "+" if minutes >= 0 else "-"
    minutes = abs(minutes)
    return f"{sign}{minutes // 60:02d}:{minutes % 60:02d}"


def terms_agg(spec: FieldSpec, size: int, include: Sequence[Any] | None = None) -> dict[str, Any]:
    """Most frequent values first, ties by value (the SQLite order)."""
    terms: dict[str, Any] = {
        "field": _field_path(spec.name),
        "size": size,
        "order": [{"_count": "desc"}, {"_key": "asc"}],
    }
    if include is not None:
        terms["include"] = list(include)
    return {"terms": terms}


def histogram_agg(bucket: TimeBucket, offset: timedelta = DEFAULT_OFFSET) -> dict[str, Any]:
    return {
        "date_histogram": {
            "field": TIME_FIELD,
            "calendar_interval": _INTERVALS[bucket],
            "time_zone": utc_offset_text(offset),
            "min_doc_count": 1,
            "format": "yyyy-MM-dd",
        }
    }


def bucket_value(spec: FieldSpec, raw: Mapping[str, Any]) -> str:
    """The bucket key of a terms bucket, rendered as the SQLite backend renders it."""
    key = raw.get("key")
    if spec.kind is FieldKind.boolean:
        return "true" if raw.get("key_as_string") == "true" or key in (1, True) else "false"
    if spec.kind is FieldKind.number:
        return spec.render(float(key)) if key is not None else ""
    if spec.kind is FieldKind.time:
        return spec.render(float(key) / 1000.0) if isinstance(key, int | float) else str(key)
    return str(key)


def period_key(bucket: TimeBucket, day: str) -> str:
    """The period of a histogram bucket (its first day, yyyy-MM-dd): a day, "2024-W07" or "2024-02"."""
    if bucket is TimeBucket.month:
        return day[:7]
    if bucket is TimeBucket.week:
        year, week, _ = date.fromisoformat(day).isocalendar()
        return f"{year}-W{week:02d}"
    return day


def parse_terms(spec: FieldSpec, agg: Mapping[str, Any]) -> list[Bucket]:
    return [Bucket(key=bucket_value(spec, b), count=int(b["doc_count"])) for b in agg.get("buckets") or []]


def parse_periods(bucket: TimeBucket, agg: Mapping[str, Any]) -> list[Bucket]:
    return [
        Bucket(key=None, count=int(b["doc_count"]), period=period_key(bucket, str(b["key_as_string"])))
        for b in agg.get("buckets") or []
        if int(b.get("doc_count", 0)) > 0
    ]


def parse_period_values(
    bucket: TimeBucket, spec: FieldSpec, agg: Mapping[str, Any], keep: Iterable[str] | None = None
) -> list[Bucket]:
    """(period, value) buckets from a date_histogram with a ``values`` terms sub-aggregation:
    in time order, most frequent first within a period, ties by value; only values in `keep`."""
    wanted = set(keep) if keep is not None else None
    counts: dict[tuple[str, str], int] = {}
    for b in agg.get("buckets") or []:
        period = period_key(bucket, str(b["key_as_string"]))
        for v in (b.get("values") or {}).get("buckets") or []:
            value = bucket_value(spec, v)
            if wanted is not None and value not in wanted:
                continue
            counts[(period, value)] = counts.get((period, value), 0) + int(v["doc_count"])
    order = sorted(counts, key=lambda k: (k[0], -counts[k], k[1]))
    return [Bucket(key=v, count=counts[(p, v)], period=p) for p, v in order]


# --- bulk ------------------------------------------------------------------------


def op_type(policy: DuplicatePolicy) -> str:
    """skip and fail create (a stored id answers 409); overwrite indexes (replaces)."""
    return "index" if policy is DuplicatePolicy.overwrite else "create"


def bulk_action(op: str, index: str, record_id: str, body: Mapping[str, Any] | None = None) -> dict[str, Any]:
    action: dict[str, Any] = {"_op_type": op, "_index": index, "_id": record_id}
    if body is not None:
        action["_source"] = body
    return action


def bulk_operations(actions: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The lines of a ``_bulk`` request body for actions made by :func:`bulk_action`."""
    lines: list[dict[str, Any]] = []
    for action in actions:
        op = str(action["_op_type"])
        lines.append({op: {"_index": action["_index"], "_id": action["_id"]}})
        if op != "delete":
            lines.append(dict(action["_source"]))
    return lines


def error_status(exc: BaseException) -> int | None:
    """The HTTP status of a client error (either client's), or None (connection errors, time-outs)."""
    status = getattr(exc, "status_code", None)
    return status if isinstance(status, int) else None


def bulk_results(
    actions: Sequence[Mapping[str, Any]], resp: Mapping[str, Any], report: BulkReport, *, retry: bool
) -> list[Mapping[str, Any]]:
    """Record the answer to a ``_bulk`` request of `actions` in `report`; return the actions to send
    again (items answered 429/5xx, when `retry`); those are not recorded."""
    items = list(resp.get("items") or [])
    if len(items) != len(actions):
        raise StoreError(f"the bulk answer has {len(items)} items for {len(actions)} actions")
    again: list[Mapping[str, Any]] = []
    for action, item in zip(actions, items, strict=True):
        info = next(iter(item.values())) if isinstance(item, Mapping) and item else {}
        status = int(info.get("status", 0) or 0)
        if 200 <= status < 300:
            report.add(True, item)
        elif retry and status in RETRY_STATUSES:
            again.append(action)
        else:
            report.add(False, item)
    return again


class ErrorKind(StrEnum):
    conflict = "conflict"  # 409: the id exists (create) or changed meanwhile
    retryable = "retryable"  # 429 and 5xx: the cluster is busy or a shard unavailable
    missing = "missing"  # 404 on delete: nothing to delete
    permanent = "permanent"  # anything else (mapping errors, bad requests)


RETRY_STATUSES = (429, 500, 502, 503, 504)


def classify_status(status: int) -> ErrorKind:
    if status == 409:
        return ErrorKind.conflict
    if status == 404:
        return ErrorKind.missing
    if status == 429 or status >= 500:
        return ErrorKind.retryable
    return ErrorKind.permanent


@dataclass(frozen=True)
class BulkItemError:
    """One bulk item that did not succeed."""

    id: str
    index: str | None
    op: str
    status: int
    kind: ErrorKind
    reason: str

    def __str__(self) -> str:
        return f"{self.id} ({self.op} → {self.status} {self.reason})"


def bulk_item_error(item: Mapping[str, Any]) -> BulkItemError:
    """Parse one failed bulk item, e.g. ``{"create": {"_id": ..., "status": 409, "error": {...}}}``."""
    if len(item) != 1:
        raise StoreError(f"unexpected bulk item shape: {sorted(item)!r}")
    op, info = next(iter(item.items()))
    status = int(info.get("status", 0) or 0)
    err = info.get("error")
    if isinstance(err, Mapping):
        reason = f"{err.get('type', 'error')}: {err.get('reason', '')}".strip()
    else:
        reason = str(err or info.get("result") or "")
    return BulkItemError(
        id=str(info.get("_id", "")),
        index=info.get("_index"),
        op=str(op),
        status=status,
        kind=classify_status(status),
        reason=reason,
    )


@dataclass
class BulkReport:
    """What a bulk run did: ids done, conflicts (already stored), missing, and failures."""

    done: list[str] = field(default_factory=list)
    conflicts: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    failed: list[BulkItemError] = field(default_factory=list)

    def add(self, ok: bool, item: Mapping[str, Any]) -> None:
        if ok:
            info = next(iter(item.values()))
            self.done.append(str(info.get("_id", "")))
            return
        error = bulk_item_error(item)
        if error.kind is ErrorKind.conflict and error.op == "create":
            self.conflicts.append(error.id)
        elif error.kind is ErrorKind.missing and error.op == "delete":
            self.missing.append(error.id)
        else:
            self.failed.append(error)

    @property
    def failed_ids(self) -> list[str]:
        return [e.id for e in self.failed]


class BulkWriteError(StoreError):
    """Some records of a bulk request failed (after retries); the others were written."""

    code = "bulk_failed"

    def __init__(self, collection: str, failed: Sequence[BulkItemError], done: int = 0) -> None:
        self.collection = collection
        self.failed = list(failed)
        self.done = done
        retryable = sum(1 for e in self.failed if e.kind is ErrorKind.retryable)
        sample = "; ".join(str(e) for e in self.failed[:5])
        hint = " (the cluster stayed busy after the retries: try again later)" if retryable else ""
        super().__init__(f"{len(self.failed)} record(s) of {collection} failed, {done} written{hint}: {sample}")
