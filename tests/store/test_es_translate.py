"""The pure Elasticsearch translation layer: names, mappings, bodies, DSL, paging, aggregations, bulk errors.

No cluster is involved. Where a test checks that the query DSL selects the right records,
it evaluates the DSL's few leaf queries (term, terms, range, match_phrase over whitespace
tokens: what the mapping's analyzers produce) against the index bodies, and compares with
the SQLite store on the same records. That checks the translation, not Elasticsearch.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from riskmine.schema import Signal
from riskmine.store import es_translate as tr
from riskmine.store.base import Bucket, Collection, DuplicatePolicy, Range, StoreError, TimeBucket, UnknownFieldError
from riskmine.store.fields import FIELDS_VERSION, INDEXES, FieldKind, InvalidFilterError
from riskmine.store.sqlite import SQLiteStore

from .samples import CST, at

S = Collection.signals
SIG = INDEXES[S]


# --- names -------------------------------------------------------------------------


def test_monthly_index_names_follow_china_time() -> None:
    assert tr.index_name("riskmine", S, datetime(2025, 3, 15, tzinfo=CST)) == "riskmine-signals-2025.03"
    # 20:00 UTC on 31 March is already April in China
    assert tr.index_name("riskmine", S, datetime(2025, 3, 31, 20, tzinfo=UTC)) == "riskmine-signals-2025.04"
    assert tr.index_name("rm", S, datetime(2025, 3, 31, 20), timedelta()) == "rm-signals-2025.03"  # naive = UTC
    assert tr.alias_name("riskmine", Collection.candidates) == "riskmine-candidates"
    assert tr.index_pattern("riskmine", S) == "riskmine-signals-*"


@pytest.mark.parametrize("bad", ["", "Riskmine", "-x", "a b", "x/y", "é", "a" * 200])
def test_invalid_prefixes_are_refused(bad: str) -> None:
    with pytest.raises(StoreError, match="index prefix"):
        tr.check_prefix(bad)
    assert tr.check_prefix("riskmine_test-01.a") == "riskmine_test-01.a"


# --- mappings ----------------------------------------------------------------------


def test_mapping_derives_from_the_field_specs() -> None:
    m = tr.mappings(SIG)
    facets = m["properties"]["f"]["properties"]
    assert set(facets) == set(SIG.fields)
    for name, spec in SIG.fields.items():
        expected = {"keyword": "keyword", "number": "double", "boolean": "boolean", "time": "date_nanos"}[spec.kind]
        assert facets[name] == {"type": expected}, name
    assert facets["hazard"] == {"type": "keyword"} and facets["risk_score"] == {"type": "double"}
    props = m["properties"]
    assert props["time"] == {"type": "date_nanos"}
    assert props["id"] == {"type": "keyword"}
    assert props["_record"] == {"type": "object", "enabled": False}  # stored, never indexed
    assert props["words"]["analyzer"] == props["chars"]["analyzer"] == tr.ANALYZER
    assert props["text"]["analyzer"] == props["text"]["search_analyzer"] == "cjk"  # CJK bigrams, no plugin needed
    assert m["dynamic"] == "strict" and m["_meta"]["fields_version"] == FIELDS_VERSION
    assert m["_meta"]["mapping_version"] == tr.MAPPING_VERSION


def test_plugin_analyzers_when_detected() -> None:
    assert tr.mappings(SIG, tr.Plugin.ik)["properties"]["text"] == {
        "type": "text",
        "analyzer": "ik_max_word",
        "search_analyzer": "ik_smart",
    }
    assert tr.mappings(SIG, tr.Plugin.smartcn)["properties"]["text"]["analyzer"] == "smartcn"


def test_plugin_detection_needs_every_node() -> None:
    def nodes(*plugin_sets: list[str]) -> dict[str, Any]:
        return {"nodes": {f"n{i}": {"plugins": [{"name": p} for p in ps]} for i, ps in enumerate(plugin_sets)}}

    assert tr.detect_plugin(nodes(["analysis-ik"], ["analysis-ik", "analysis-smartcn"])) is tr.Plugin.ik
    assert tr.detect_plugin(nodes(["analysis-ik", "analysis-smartcn"], ["analysis-smartcn"])) is tr.Plugin.smartcn
    assert tr.detect_plugin(nodes(["analysis-ik"], [])) is None
    assert tr.detect_plugin(nodes(["repository-s3"])) is None
    assert tr.detect_plugin({}) is None


def test_template_attaches_monthly_indices_to_the_alias() -> None:
    t = tr.index_template("riskmine", SIG)
    assert t["name"] == "riskmine-signals"
    assert t["index_patterns"] == ["riskmine-signals-*"]
    assert t["template"]["aliases"] == {"riskmine-signals": {}}
    analyzer = t["template"]["settings"]["analysis"]["analyzer"][tr.ANALYZER]
    assert analyzer == {"type": "custom", "tokenizer": "whitespace", "filter": ["lowercase"]}
    for coll in Collection:
        assert tr.index_template("p", INDEXES[coll])["template"]["aliases"] == {f"p-{coll.value}": {}}


# --- bodies ------------------------------------------------------------------------


def test_index_body_holds_the_record_and_its_values(signals: dict[str, Signal]) -> None:
    pb = signals["powerbank_smoke"]
    body = tr.index_body(SIG, pb)
    assert body["id"] == pb.id
    assert body["time"].endswith(".000000Z")  # UTC, microseconds kept
    assert datetime.fromisoformat(body["time"].replace("Z", "+00:00")) == pb.when
    assert Signal.model_validate(body["_record"]) == pb
    f = body["f"]
    assert f["product_category"] == "充电宝"
    assert "fire" in f["hazard"] and isinstance(f["hazard"], list)  # multi-valued: always a list
    assert f["is_risk"] is True and f["risk_score"] == pytest.approx(0.92)
    assert {"杭州市", "330100", "浙江省"} <= set(f["region"])
    assert "冒烟" in body["words"].split()
    assert "冒 烟" in body["chars"]
    assert tr.record_from_hit(Signal, {"_id": pb.id, "_source": body}) == pb


def test_a_hit_without_a_record_is_a_clear_error() -> None:
    with pytest.raises(StoreError, match="no _record"):
        tr.record_from_hit(Signal, {"_id": "x", "_index": "riskmine-signals-2024.01", "_source": {"id": "x"}})


def test_times_keep_microseconds() -> None:
    assert tr.iso_time(datetime(2024, 2, 5, 10, 0, 0, 123456, tzinfo=CST)) == "2024-02-05T02:00:00.123456Z"
    assert tr.iso_time(1707098400.5) == "2024-02-05T02:00:00.500000Z"


# --- filters and text --------------------------------------------------------------


def test_filters_translate_to_term_terms_and_range() -> None:
    q = tr.build_query(
        SIG,
        {
            "product_category": "充电宝",
            "hazard": ["fire", "burns", "fire"],
            "risk_score": Range(gte="0.5", lt=0.9),
            "is_risk": "true",
            "time": Range(gte="2024-02-01", lt=datetime(2024, 3, 1, tzinfo=CST)),
            "region": None,
        },
    )
    assert q.query == {
        "bool": {
            "filter": [
                {"term": {"f.product_category": "充电宝"}},
                {"terms": {"f.hazard": ["fire", "burns"]}},
                {"range": {"f.risk_score": {"gte": 0.5, "lt": 0.9}}},
                {"term": {"f.is_risk": True}},
                {"range": {"time": {"gte": "2024-02-01T00:00:00.000000Z", "lt": "2024-02-29T16:00:00.000000Z"}}},
            ]
        }
    }
    assert not q.empty and not q.ranked


def test_no_conditions_match_all_and_empty_lists_match_nothing() -> None:
    assert tr.build_query(SIG).query == {"match_all": {}}
    assert tr.build_query(SIG, {"hazard": []}).empty
    assert tr.build_query(SIG, text="！？。").empty  # no letter or digit
    assert tr.build_query(SIG, text="   ").query == {"match_all": {}}


def test_bad_filters_fail_clearly() -> None:
    with pytest.raises(UnknownFieldError, match="colour"):
        tr.build_query(SIG, {"colour": "red"})
    with pytest.raises(InvalidFilterError, match="risk_score"):
        tr.build_query(SIG, {"risk_score": "high"})
    with pytest.raises(InvalidFilterError, match="mapping"):
        tr.build_query(SIG, {"hazard": {"$ne": "fire"}})
    with pytest.raises(InvalidFilterError, match="time"):
        tr.build_query(SIG, {"time": Range(gte="last tuesday")})
    with pytest.raises(InvalidFilterError, match="text must be a string"):
        tr.build_query(SIG, text=42)  # type: ignore[arg-type]


def test_text_needs_every_word_as_a_word_or_a_character_phrase() -> None:
    q = tr.build_query(SIG, text="充电宝 冒烟")
    assert q.ranked
    must = q.query["bool"]["must"]
    # jieba cuts 充电宝 into 充电 + 宝: the lone character must stand next to 充电 as characters
    assert must == [
        {
            "bool": {
                "should": [{"term": {"words": "充电"}}, {"match_phrase": {"chars": "充 电"}}],
                "minimum_should_match": 1,
            }
        },
        {"bool": {"should": [{"match_phrase": {"chars": "充 电 宝"}}], "minimum_should_match": 1}},
        {
            "bool": {
                "should": [{"term": {"words": "冒烟"}}, {"match_phrase": {"chars": "冒 烟"}}],
                "minimum_should_match": 1,
            }
        },
    ]
    assert q.query["bool"]["should"] == [{"match": {"text": {"query": "充电宝 冒烟"}}}]


@pytest.mark.parametrize("q", ['"', "*", "()", ":", "NEAR(", "🔥🔥", "'; DROP TABLE signals; --", "\x00", "{}[]<>|&"])
def test_hostile_text_only_reaches_term_values(q: str) -> None:
    clauses = tr.text_clauses(q) or []
    leaves = list(_leaves({"bool": {"must": clauses}}))
    assert all(next(iter(leaf)) in {"term", "match_phrase"} for leaf in leaves)
    for leaf in leaves:
        value = next(iter(next(iter(leaf.values())).values()))
        assert all(ch.isalnum() or ch == " " for ch in value), value


def test_sort_clauses() -> None:
    assert tr.sort_clause(SIG, None, True, ranked=False) == [{"time": {"order": "desc"}}, {"id": {"order": "desc"}}]
    assert tr.sort_clause(SIG, None, True, ranked=True) == [{"_score": {"order": "desc"}}, {"id": {"order": "asc"}}]
    assert tr.sort_clause(SIG, "hazard", False, ranked=True) == [
        {"f.hazard": {"order": "asc", "mode": "min", "missing": "_last"}},
        {"id": {"order": "asc"}},
    ]
    with pytest.raises(UnknownFieldError):
        tr.sort_clause(SIG, "colour", True, ranked=False)


# A minimal evaluator of the leaf queries the translation emits, over the index bodies, to check that
# the DSL selects what the SQLite store selects on the same records.


def _leaves(q: Mapping[str, Any]) -> Iterator[Mapping[str, Any]]:
    if "bool" in q:
        for key in ("must", "filter", "should"):
            for sub in q["bool"].get(key, []):
                yield from _leaves(sub)
    else:
        yield q


def _field(body: Mapping[str, Any], path: str) -> list[Any]:
    value: Any = body
    for part in path.split("."):
        value = value.get(part) if isinstance(value, Mapping) else None
    return value if isinstance(value, list) else [] if value is None else [value]


def _matches(q: Mapping[str, Any], body: Mapping[str, Any]) -> bool:
    kind, arg = next(iter(q.items()))
    if kind == "match_all":
        return True
    if kind == "match_none":
        return False
    if kind == "bool":
        if not all(_matches(c, body) for c in arg.get("must", []) + arg.get("filter", [])):
            return False
        if arg.get("minimum_should_match"):
            return any(_matches(c, body) for c in arg.get("should", []))
        return True
    path, value = next(iter(arg.items()))
    if kind == "term":
        if path in ("words", "chars"):
            return value in body[path].split()
        return value in _field(body, path)
    if kind == "terms":
        return bool(set(value) & set(_field(body, path)))
    if kind == "range":
        ops = {
            "gte": lambda a, b: a >= b,
            "gt": lambda a, b: a > b,
            "lte": lambda a, b: a <= b,
            "lt": lambda a, b: a < b,
        }
        return any(all(ops[op](v, bound) for op, bound in value.items()) for v in _field(body, path))
    if kind == "match_phrase":
        tokens, phrase = body[path].split(), value.split()
        return any(tokens[i : i + len(phrase)] == phrase for i in range(len(tokens) - len(phrase) + 1))
    if kind == "match":  # ranking only; never decides a match here
        return True
    raise AssertionError(f"unexpected query {q}")


QUERIES: list[dict[str, Any]] = [
    {"text": "冒烟"},
    {"text": "充电宝冒烟了"},
    {"text": "老人 取暖器"},
    {"text": "充电宝 漏电"},
    {"text": "IPHONE"},
    {"text": "Wi-Fi"},
    {"text": "ｉＰｈｏｎｅ"},
    {"text": "罗马仕"},
    {"text": "充电宝🔥冒烟"},
    {"text": "-充电宝"},
    {"filters": {"region": "330100"}},
    {"filters": {"region": ["广东省", "510100"]}},
    {"filters": {"risk_score": Range(gte=0.3, lt=0.6)}},
    {"filters": {"is_duplicate": "true"}},
    {"filters": {"time": Range(gte=datetime(2024, 3, 10, 3, tzinfo=UTC))}},
    {"filters": {"time": Range(gte="2024-02-01", lt="2024-03-01")}},
    {"filters": {"hazard": "fire", "is_duplicate": False}, "text": "起火"},
]


@pytest.mark.parametrize("case", QUERIES, ids=lambda c: repr(c))
def test_dsl_selects_what_the_sqlite_store_selects(
    tmp_path: Path, signals: dict[str, Signal], case: dict[str, Any]
) -> None:
    with SQLiteStore(tmp_path / "ref.sqlite3") as ref:
        ref.write(S, list(signals.values()))
        expected = {s.id for s in ref.query(S, limit=100, **case).items}
    q = tr.build_query(SIG, case.get("filters"), case.get("text"))
    bodies = [tr.index_body(SIG, s) for s in signals.values()]
    got = {b["id"] for b in bodies if _matches(q.query, b)}
    assert got == expected


# --- paging ------------------------------------------------------------------------


class _Sorted:
    """A sorted list of ids answering search bodies with from/size or search_after (paging logic only)."""

    def __init__(self, n: int) -> None:
        self.ids = [f"id{i:05d}" for i in range(n)]
        self.calls: list[dict[str, Any]] = []

    def __call__(self, body: dict[str, Any]) -> dict[str, Any]:
        self.calls.append(body)
        start = body.get("from", 0)
        if "search_after" in body:
            start = self.ids.index(body["search_after"][0]) + 1
        chunk = self.ids[start : start + body["size"]]
        return {"hits": {"total": {"value": len(self.ids)}, "hits": [{"_id": i, "sort": [i]} for i in chunk]}}


def test_pages_within_the_window_use_from_and_size() -> None:
    search = _Sorted(50)
    hits, total = tr.page_hits(search, {"query": {}}, offset=10, limit=5, window=100)
    assert [h["_id"] for h in hits] == search.ids[10:15] and total == 50
    assert len(search.calls) == 1 and search.calls[0]["from"] == 10


def test_deep_pages_walk_with_search_after() -> None:
    search = _Sorted(1000)
    hits, total = tr.page_hits(search, {"query": {}}, offset=250, limit=120, window=100)
    assert [h["_id"] for h in hits] == search.ids[250:370]
    assert total == 1000
    assert all("from" not in c and c["size"] <= 100 for c in search.calls)
    assert all("search_after" in c for c in search.calls[1:])
    past, total = tr.page_hits(search, {"query": {}}, offset=990, limit=50, window=100)
    assert [h["_id"] for h in past] == search.ids[990:]
    assert tr.page_hits(search, {}, offset=5000, limit=200, window=100)[0] == []
    with pytest.raises(InvalidFilterError):
        tr.page_hits(search, {}, offset=-1, limit=5)


def test_scan_after_reads_every_hit_once() -> None:
    search = _Sorted(25)
    batches = list(tr.scan_after(search, {"sort": tr.ID_SORT}, 10))
    assert [len(b) for b in batches] == [10, 10, 5]
    assert [h["_id"] for b in batches for h in b] == search.ids
    assert list(tr.scan_after(_Sorted(20), {}, 10))[-1][-1]["_id"] == "id00019"  # exact multiple ends cleanly
    with pytest.raises(InvalidFilterError):
        next(tr.scan_after(search, {}, 0))


# --- aggregations ------------------------------------------------------------------


def test_aggregation_requests() -> None:
    assert tr.terms_agg(SIG.field("hazard"), 5) == {
        "terms": {"field": "f.hazard", "size": 5, "order": [{"_count": "desc"}, {"_key": "asc"}]}
    }
    hist = tr.histogram_agg(TimeBucket.week)["date_histogram"]
    assert hist["calendar_interval"] == "week" and hist["time_zone"] == "+08:00" and hist["min_doc_count"] == 1
    assert tr.utc_offset_text(timedelta(hours=-3, minutes=-30)) == "-03:30"


def test_terms_buckets_render_like_the_sqlite_store() -> None:
    resp = {"buckets": [{"key": "fire", "doc_count": 4}, {"key": "chemical", "doc_count": 2}]}
    assert tr.parse_terms(SIG.field("hazard"), resp) == [Bucket("fire", 4), Bucket("chemical", 2)]
    booleans = {
        "buckets": [
            {"key": 1, "key_as_string": "true", "doc_count": 8},
            {"key": 0, "key_as_string": "false", "doc_count": 2},
        ]
    }
    assert tr.parse_terms(SIG.field("is_risk"), booleans) == [Bucket("true", 8), Bucket("false", 2)]
    numbers = {"buckets": [{"key": 1.0, "doc_count": 3}, {"key": 0.25, "doc_count": 1}]}
    assert tr.parse_terms(INDEXES[Collection.candidates].field("signal_count"), numbers) == [
        Bucket("1", 3),
        Bucket("0.25", 1),
    ]
    assert SIG.field("is_risk").kind is FieldKind.boolean


def test_period_buckets() -> None:
    resp = {
        "buckets": [
            {"key_as_string": "2024-12-30", "key": 0, "doc_count": 2},
            {"key_as_string": "2025-01-06", "key": 0, "doc_count": 0},
            {"key_as_string": "2025-01-13", "key": 0, "doc_count": 1},
        ]
    }
    assert tr.parse_periods(TimeBucket.week, resp) == [Bucket(None, 2, "2025-W01"), Bucket(None, 1, "2025-W03")]
    assert tr.parse_periods(TimeBucket.month, {"buckets": [{"key_as_string": "2024-02-01", "doc_count": 4}]}) == [
        Bucket(None, 4, "2024-02")
    ]


def test_period_value_buckets_keep_the_top_values_in_time_order() -> None:
    resp = {
        "buckets": [
            {
                "key_as_string": "2024-02-01",
                "values": {"buckets": [{"key": "爬行垫", "doc_count": 1}, {"key": "充电宝", "doc_count": 2}]},
            },
            {"key_as_string": "2024-01-01", "values": {"buckets": [{"key": "取暖器", "doc_count": 1}]}},
        ]
    }
    got = tr.parse_period_values(TimeBucket.month, SIG.field("product_category"), resp, keep=["充电宝", "取暖器"])
    assert got == [Bucket("取暖器", 1, "2024-01"), Bucket("充电宝", 2, "2024-02")]


# --- bulk --------------------------------------------------------------------------


def test_bulk_actions_per_policy() -> None:
    assert tr.op_type(DuplicatePolicy.skip) == "create"
    assert tr.op_type(DuplicatePolicy.fail) == "create"
    assert tr.op_type(DuplicatePolicy.overwrite) == "index"
    assert tr.bulk_action("create", "i", "a", {"id": "a"}) == {
        "_op_type": "create",
        "_index": "i",
        "_id": "a",
        "_source": {"id": "a"},
    }
    assert tr.bulk_action("delete", "i", "a") == {"_op_type": "delete", "_index": "i", "_id": "a"}


@pytest.mark.parametrize(
    ("status", "kind"),
    [
        (409, "conflict"),
        (404, "missing"),
        (429, "retryable"),
        (500, "retryable"),
        (503, "retryable"),
        (400, "permanent"),
    ],
)
def test_status_classification(status: int, kind: str) -> None:
    assert tr.classify_status(status) is tr.ErrorKind(kind)


def test_bulk_report_sorts_items_and_names_the_failures() -> None:
    report = tr.BulkReport()
    report.add(True, {"index": {"_id": "a", "status": 201, "result": "created"}})
    report.add(False, {"create": {"_id": "b", "status": 409, "error": {"type": "version_conflict_engine_exception"}}})
    report.add(False, {"delete": {"_id": "c", "status": 404, "result": "not_found"}})
    report.add(
        False,
        {
            "index": {
                "_id": "d",
                "_index": "riskmine-signals-2024.02",
                "status": 400,
                "error": {"type": "mapper_parsing_exception", "reason": "failed to parse field [f.risk_score]"},
            }
        },
    )
    report.add(False, {"index": {"_id": "e", "status": 429, "error": {"type": "es_rejected_execution_exception"}}})
    assert report.done == ["a"] and report.conflicts == ["b"] and report.missing == ["c"]
    assert report.failed_ids == ["d", "e"]
    assert [e.kind for e in report.failed] == [tr.ErrorKind.permanent, tr.ErrorKind.retryable]
    err = tr.BulkWriteError("signals", report.failed, done=1)
    assert err.code == "bulk_failed" and isinstance(err, StoreError)
    assert "2 record(s) of signals failed, 1 written" in str(err)
    assert "mapper_parsing_exception" in str(err) and "try again later" in str(err)
    with pytest.raises(StoreError, match="unexpected bulk item"):
        tr.bulk_item_error({})


def test_at_is_china_time() -> None:  # the sample times the expectations above rely on
    assert at(2, 5, 10).utcoffset() == timedelta(hours=8)


def test_stats_version_changes_with_writes_and_refreshes() -> None:
    def stats(index_total: int, delete_total: int, refreshes: int, uuid: str = "u1") -> dict[str, Any]:
        prim = {"indexing": {"index_total": index_total, "delete_total": delete_total}, "refresh": {"total": refreshes}}
        return {"indices": {"riskmine-signals-2024.01": {"uuid": uuid, "primaries": prim}}}

    base = tr.stats_version(stats(3, 0, 1))
    assert base == tr.stats_version(stats(3, 0, 1))
    assert len({base, *(tr.stats_version(s) for s in (stats(4, 0, 1), stats(3, 1, 1), stats(3, 0, 2)))}) == 4
    assert tr.stats_version(stats(3, 0, 1, uuid="u2")) != base  # the index was dropped and made again
    assert tr.stats_version({"indices": {}}) == ""


def test_record_source_leaves_out_omitted_fields() -> None:
    assert tr.record_source() == [tr.RECORD]
    assert tr.record_source(("evidence",)) == {"includes": [tr.RECORD], "excludes": [f"{tr.RECORD}.evidence"]}


# --- two engines, one layer ----------------------------------------------------------------


def test_engine_name_from_the_root_answer() -> None:
    assert tr.engine_name({"version": {"distribution": "opensearch", "number": "2.19.6"}}) == "opensearch"
    assert tr.engine_name({"version": {"number": "8.15.0", "build_flavor": "default"}}) == "elasticsearch"
    assert tr.engine_name({}) == "elasticsearch"


def test_bulk_operations_and_results() -> None:
    actions = [
        tr.bulk_action("create", "i", "a", {"x": 1}),
        tr.bulk_action("index", "i", "b", {"x": 2}),
        tr.bulk_action("delete", "i", "c"),
    ]
    assert tr.bulk_operations(actions) == [
        {"create": {"_index": "i", "_id": "a"}},
        {"x": 1},
        {"index": {"_index": "i", "_id": "b"}},
        {"x": 2},
        {"delete": {"_index": "i", "_id": "c"}},
    ]
    resp = {
        "items": [
            {"create": {"_id": "a", "status": 201}},
            {"index": {"_id": "b", "status": 429, "error": {"type": "es_rejected_execution_exception"}}},
            {"delete": {"_id": "c", "status": 404}},
        ]
    }
    report = tr.BulkReport()
    assert tr.bulk_results(actions, resp, report, retry=True) == [actions[1]]  # sent again, not yet reported
    assert (report.done, report.missing, report.failed) == (["a"], ["c"], [])
    last = tr.BulkReport()
    assert tr.bulk_results(actions, resp, last, retry=False) == []
    assert last.failed_ids == ["b"] and last.failed[0].kind is tr.ErrorKind.retryable
    with pytest.raises(StoreError, match="2 items for 3 actions"):
        tr.bulk_results(actions, {"items": resp["items"][:2]}, tr.BulkReport(), retry=True)


def test_error_status_of_either_client() -> None:
    class Api(Exception):
        status_code = 503

    class Conn(Exception):
        status_code = "N/A"  # opensearch-py's connection errors

    assert tr.error_status(Api()) == 503
    assert tr.error_status(Conn()) is None and tr.error_status(ValueError()) is None


def test_layout_versions_and_rebuild_names() -> None:
    assert tr.layout_version({"mappings": {"_meta": {"mapping_version": 2}}}) == 2
    assert tr.layout_version({"mappings": {"_meta": {"fields_version": 3}}}) == 1  # before it was recorded
    assert tr.layout_version({}) == 1
    aside = tr.rebuild_name("rm", "rm-signals-2025.03")
    assert aside == "rm-rebuild-signals-2025.03" and tr.rebuilt_name("rm", aside) == "rm-signals-2025.03"
    assert not aside.startswith("rm-signals-")  # outside the alias's pattern
    assert tr.rebuild_pattern("rm", Collection.signals) == "rm-rebuild-signals-*"
    body = tr.rebuild_body(SIG)
    assert body["mappings"]["_meta"]["mapping_version"] == tr.MAPPING_VERSION
    assert body["settings"]["analysis"]["analyzer"][tr.ANALYZER]["tokenizer"] == "whitespace"
