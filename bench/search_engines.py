"""The search backends side by side (issue 20, item 6): bulk indexing (signals/s) into OpenSearch and into the
embedded SQLite store, then the console's queries at that size in each, p50/p99 over repeats.

The queries are those the console's signal search and queue run: the newest signals of a source type, risky ones
with a hazard, a full-text search (relevance), a full-text search with a filter, counts per hazard (the facets),
and signals per week of a category (trends). Every timing is repeated and the median (p50) and p99 reported.

The search cluster is RISKMINE_ES_URL when set; else the single-node OpenSearch of ``deploy/opensearch`` when its
launcher is built (``deploy/opensearch/opensearch.sh build``), started on a free loopback port with its data in a
temporary folder and stopped at the end; else the OpenSearch half is skipped with the reason.

    python -m bench.search_engines [--signals N] [--repeats R]

N defaults to 1,000,000 (about 20 minutes on the 2-core bench machine, most of it writing); 100000 gives the
same comparison in a few minutes.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from statistics import median
from typing import Any

from bench.console_latency import SEARCH_TERMS, free_port, percentile, synthetic_signals
from bench.targets import record
from riskmine.schema import HazardType, SourceType
from riskmine.store.base import Collection, Range, Store, TimeBucket
from riskmine.store.sqlite import SQLiteStore

DEFAULT_SIGNALS = 1_000_000
DEFAULT_REPEATS = 30
BATCH = 5_000
OPENSEARCH = Path(__file__).resolve().parents[1] / "deploy" / "opensearch"
GOAL_QUERY_P99_MS = 100.0  # the console's search target (issue 18), here at 1M signals


@contextmanager
def search_cluster(scratch: Path) -> Iterator[str | None]:
    """The cluster URL, or None (with the reason printed) when there is none to use."""
    url = os.environ.get("RISKMINE_ES_URL")
    if url:
        yield url
        return
    if not (OPENSEARCH / "target" / "classpath.txt").is_file() or not shutil.which("java"):
        print("OpenSearch: skipped (set RISKMINE_ES_URL, or build deploy/opensearch/opensearch.sh build)")
        yield None
        return
    port = free_port()
    env = {**os.environ, "OPENSEARCH_PORT": str(port), "OPENSEARCH_DATA": str(scratch / "opensearch")}
    script = str(OPENSEARCH / "opensearch.sh")
    started = subprocess.run([script, "start"], env=env, capture_output=True, text=True, timeout=400)
    try:
        if started.returncode != 0:
            print(f"OpenSearch: did not start: {started.stderr[-500:]}")
            yield None
        else:
            yield f"http://127.0.0.1:{port}"
    finally:
        subprocess.run([script, "stop"], env=env, capture_output=True, timeout=120)


def bulk_load(store: Store, n: int) -> float:
    """Write ``n`` synthetic signals (and their documents) in batches; the signals written per second."""
    seconds = 0.0
    for start in range(0, n, BATCH):
        batch = synthetic_signals(min(BATCH, n - start), offset=start)  # generating is not timed
        t0 = time.perf_counter()
        store.write(Collection.documents, [s.document for s in batch])
        store.write(Collection.signals, batch)
        seconds += time.perf_counter() - t0
        done = start + len(batch)
        if done % 100_000 == 0 or done == n:
            print(f"  {done:>9,} written, {done / seconds:,.0f} signals/s", flush=True)
    return n / seconds


def console_queries() -> dict[str, Callable[[Store], Any]]:
    """The reads of the console's signal search, queue facets and trend chart, by name."""
    since = Range(gte=datetime(2024, 3, 1, tzinfo=UTC), lt=datetime(2024, 6, 1, tzinfo=UTC))
    return {
        "newest of a source type": lambda s: s.query(
            Collection.signals, filters={"source_type": SourceType.complaint.value}, sort="time", limit=20
        ),
        "risky with a hazard, a quarter": lambda s: s.query(
            Collection.signals,
            filters={"is_risk": True, "hazard": HazardType.fire.value, "time": since},
            sort="time",
            limit=20,
        ),
        "full text": lambda s: s.query(Collection.signals, text=SEARCH_TERMS[0], limit=20),
        "full text + filter": lambda s: s.query(
            Collection.signals, text=SEARCH_TERMS[1], filters={"source_type": SourceType.review.value}, limit=20
        ),
        "facets: per hazard": lambda s: s.aggregate(Collection.signals, "hazard", filters={"is_risk": True}),
        "trend: per week of a category": lambda s: s.aggregate(
            Collection.signals, None, filters={"product_category": "充电宝"}, time_bucket=TimeBucket.week
        ),
    }


def time_queries(store: Store, repeats: int) -> dict[str, tuple[float, float]]:
    """Per query: (p50, p99) in milliseconds over ``repeats`` runs, after one warm-up run."""
    out = {}
    for name, run in console_queries().items():
        run(store)
        times = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            run(store)
            times.append((time.perf_counter() - t0) * 1000)
        out[name] = (median(times), percentile(times, 99))
    return out


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="bench.search_engines")
    parser.add_argument("--signals", type=int, default=int(os.environ.get("RISKMINE_BENCH_SIGNALS", DEFAULT_SIGNALS)))
    parser.add_argument("--repeats", type=int, default=DEFAULT_REPEATS)
    args = parser.parse_args(argv)
    n, repeats = args.signals, args.repeats
    print(f"{n:,} signals; each query {repeats}× (p50 = median); load average {os.getloadavg()[0]:.1f}")
    with tempfile.TemporaryDirectory(prefix="bench-engines-") as tmp:
        scratch = Path(tmp)
        results: dict[str, tuple[float, dict[str, tuple[float, float]]]] = {}
        print("SQLite (embedded):")
        sqlite = SQLiteStore(scratch / "store.sqlite3")
        try:
            rate = bulk_load(sqlite, n)
            results["SQLite"] = (rate, time_queries(sqlite, repeats))
        finally:
            sqlite.close()
        with search_cluster(scratch) as url:
            if url is not None:
                from riskmine.store.elasticsearch import ElasticsearchStore

                print(f"OpenSearch ({url}):")
                cluster = ElasticsearchStore(url, prefix=f"riskmine-bench-{uuid.uuid4().hex[:8]}", refresh=False)
                try:
                    rate = bulk_load(cluster, n)
                    cluster.refresh()
                    results["OpenSearch"] = (rate, time_queries(cluster, repeats))
                finally:
                    cluster.drop()
                    cluster.close()
    print(f"\n{'bulk indexing':<34}" + "".join(f"{name:>22}" for name in results))
    print(f"{'signals/s':<34}" + "".join(f"{rate:>22,.0f}" for rate, _ in results.values()))
    if len(results) == 2:
        print(f"{'OpenSearch / SQLite':<34}{results['OpenSearch'][0] / results['SQLite'][0]:>22.2f}×")
    print(f"\n{'query, p50 / p99 ms':<34}" + "".join(f"{name:>22}" for name in results))
    for query in console_queries():
        cells = "".join(f"{t[query][0]:>12.1f} / {t[query][1]:>7.1f}" for _, t in results.values())
        print(f"{query:<34}{cells}")
    for name, (_, timings) in results.items():
        worst = max(p99 for _, p99 in timings.values())
        record(
            f"search p99, worst console query, {n:,} signals, {name}",
            worst,
            GOAL_QUERY_P99_MS,
            unit="ms",
            higher_is_better=False,
        )
    print(f"load average {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main(sys.argv[1:])
