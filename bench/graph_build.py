"""Knowledge graph build time and memory at 10k, 100k and 1M signals, and their growth.

Signals are synthesised by perturbing the real demo-corpus signals (tagged by the real
normalize and tag stages): each copy gets a new id, a brand from a pool that grows with
the stream (lexicon brands, demo brands and new names), an enterprise from a growing pool
of names built like real ones (region + trade name + industry + legal form), a random county
from the division table and a date within two years. The entity pools grow with n (one brand
per 50 signals, one enterprise per 100), as a real stream's would.

Each size runs in a fresh Python process so that peak memory (ru_maxrss) is its own; the
figures are: seconds to add the signals (generation excluded), signals/s, peak RSS growth
over the process after setup (the graph, plus one batch of signals), bytes per signal, seconds
to save the snapshot and its size; then the incremental update (issue 18): 1% new signals added
and persisted the way ``update_graph`` does it (appended to the change log), the median of
``--repeats`` updates, and the seconds to load the snapshot with its log. Growth is printed as
ratios from each size to the next, measured in this run, with the load average.

At 1M signals the peak memory (goal: well under 1 GiB) and the incremental update (goal: ≤ 10 s)
are recorded against the issue-18 targets (bench/targets.py).

Run: ``python -m bench graph_build`` or
``python bench/graph_build.py [--sizes 10000,100000] [--skip-1m] [--repeats 5]``.
"""

from __future__ import annotations

import argparse
import functools
import gc
import itertools
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

SIZES = (10_000, 100_000, 1_000_000)
BATCH = 5_000
TIME_LIMIT_S = 900  # per size
REPEATS = 5  # incremental updates measured per size
GOAL_RSS_MB = 1024  # the graph at 1M signals: well under 1 GiB
GOAL_UPDATE_S = 10.0  # an incremental update of 1% new signals at 1M


@functools.lru_cache(maxsize=1)
def _demo_signals() -> list[Any]:
    from riskmine.pipeline import Pipeline
    from riskmine.schema import RawDocument
    from riskmine.settings import Settings

    settings = Settings()
    docs = [RawDocument(**json.loads(x)) for x in settings.demo_path.read_text(encoding="utf-8").splitlines() if x]
    stages = ("denoise", "dedup", "segment", "disambiguate", "classify", "grade")
    signals = Pipeline.from_settings(Settings(disabled_stages=",".join(stages))).process(docs)
    for s in signals:
        s.is_risk = bool(s.hazard_codes)
    return signals


def _stream(n: int, seed: int = 7, start: int = 0) -> Iterator[list[Any]]:
    """Batches of n synthetic signals perturbed from the demo signals (ids b<start> on)."""
    from datetime import timedelta

    from riskmine.schema import RegionMention
    from riskmine.text.gazetteer import get_gazetteer
    from riskmine.text.lexicon import get_lexicons

    rng = random.Random(seed)
    base = _demo_signals()
    counties = [d for d in get_gazetteer().by_code.values() if d.level == "county"]
    cities = [d for d in get_gazetteer().by_code.values() if d.level == "city"]
    known_brands = [b.name for b in get_lexicons().brand_list if b.kind == "brand"]
    known_brands += sorted({s.document.brand for s in base if s.document.brand})
    trades = "安康泰华联兴盛达通宏鑫源恒利丰瑞祥博美佳星海天"
    industries = ["电器", "科技", "食品", "塑胶制品", "玩具", "电子", "日用品", "家居用品"]
    batch: list[Any] = []
    for i in range(start, start + n):
        s = base[i % len(base)]
        n_brands = max(len(known_brands), i // 50 + 1)
        b = rng.randrange(n_brands)
        brand = known_brands[b] if b < len(known_brands) else f"{trades[b % 20]}{trades[(b // 20) % 20]}{b}号"
        e = rng.randrange(i // 100 + 10)
        city = cities[e % len(cities)]
        trade = f"{trades[e % 20]}{trades[(e // 20) % 20]}{trades[(e // 400) % 20]}{e}"
        enterprise = f"{city.name}{trade}{industries[e % len(industries)]}有限公司"
        county = rng.choice(counties)
        doc = s.document.model_copy(
            update={
                "id": f"b{i}",
                "brand": brand,
                "enterprise": enterprise,
                "product": f"{brand} M{rng.randrange(200)}" if s.document.product else None,
                "published_at": s.when + timedelta(days=rng.randrange(-365, 365)),
            }
        )
        region = RegionMention(name=county.name, code=county.code, level="county")
        batch.append(s.model_copy(update={"id": f"b{i}", "document": doc, "regions": [region]}))
        if len(batch) >= BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def run_one(n: int, repeats: int = REPEATS) -> dict[str, Any]:
    """Build a graph of n synthetic signals in this process; its figures."""
    from riskmine.knowledge_graph.graph import KnowledgeGraph, load_graph, persist_graph, save_graph

    stream = _stream(n)
    first = next(stream)  # setup (lexicons, gazetteer, demo tagging) done before measuring
    kg = KnowledgeGraph()
    rss0 = _rss_mb()
    build = 0.0
    for batch in _chain(first, stream):
        t0 = time.perf_counter()
        kg.add_signals(batch)
        build += time.perf_counter() - t0
    peak = _rss_mb()
    stats = kg.stats()
    step = max(n // 100, 1)
    updates: list[float] = []
    modes: list[str] = []
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "graph.pickle"
        t0 = time.perf_counter()
        save_graph(kg, path)
        save_s = time.perf_counter() - t0
        size_mb = path.stat().st_size / 2**20
        for r in range(repeats):  # 1% new signals each, added and persisted as update_graph does
            new = [s for batch in _stream(step, seed=100 + r, start=n + r * step) for s in batch]
            t0 = time.perf_counter()
            kg.add_signals(new)
            modes.append(persist_graph(kg, path))
            updates.append(time.perf_counter() - t0)
        peak_update = _rss_mb()
        log_mb = _size_mb(path.with_name(path.name + ".log"))
        expected = kg.signal_count
        del kg
        gc.collect()
        t0 = time.perf_counter()
        loaded = load_graph(path)
        load_s = time.perf_counter() - t0
        assert loaded is not None and loaded.signal_count == expected, "the persisted graph lost signals"
    return {
        "n": n,
        "build_s": round(build, 2),
        "signals_per_s": round(n / build) if build else None,
        "rss_growth_mb": round(peak - rss0, 1),
        "bytes_per_signal": round((peak - rss0) * 2**20 / n),
        "save_s": round(save_s, 2),
        "file_mb": round(size_mb, 1),
        "update_signals": step,
        "update_s": round(statistics.median(updates), 3) if updates else None,
        "update_max_s": round(max(updates), 3) if updates else None,
        "update_modes": modes,
        "log_mb": round(log_mb, 2),
        "rss_after_updates_mb": round(peak_update - rss0, 1),
        "load_s": round(load_s, 2),
        "loadavg": round(os.getloadavg()[0], 2),
        "nodes": stats["nodes"],
        "edges": stats["edges"],
        "enterprises": stats["nodes_by_type"].get("enterprise", 0),
        "brands": stats["nodes_by_type"].get("brand", 0),
    }


def _size_mb(path: Path) -> float:
    return path.stat().st_size / 2**20 if path.exists() else 0.0


def _chain(first: list[Any], rest: Iterator[list[Any]]) -> Iterator[list[Any]]:
    yield first
    yield from rest


def main(argv: Sequence[str]) -> None:
    parser = argparse.ArgumentParser(prog="bench.graph_build")
    parser.add_argument("--sizes", default=",".join(str(s) for s in SIZES))
    parser.add_argument("--skip-1m", action="store_true", help="leave out the 1M run")
    parser.add_argument("--repeats", type=int, default=REPEATS, help="incremental updates measured per size")
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)  # child mode: one size, JSON out
    args = parser.parse_args(list(argv))
    if args.one:
        print(json.dumps(run_one(args.one, args.repeats)))
        return
    from bench.targets import record

    sizes = [int(x) for x in args.sizes.split(",") if x]
    if args.skip_1m:
        sizes = [s for s in sizes if s < 1_000_000]
    rows: list[dict[str, Any]] = []
    for n in sizes:
        cmd = [sys.executable, "-m", "bench.graph_build", "--one", str(n), "--repeats", str(args.repeats)]
        try:
            done = subprocess.run(
                cmd,
                capture_output=True,
                text=True,
                timeout=TIME_LIMIT_S,
                check=False,
                cwd=Path(__file__).resolve().parent.parent,
            )
        except subprocess.TimeoutExpired:
            print(f"{n:>9,} signals: not measured, took longer than {TIME_LIMIT_S} s", flush=True)
            continue
        if done.returncode != 0:
            print(f"{n:>9,} signals: failed: {done.stderr.strip().splitlines()[-1:]}", flush=True)
            continue
        row = json.loads(done.stdout.strip().splitlines()[-1])
        rows.append(row)
        print(
            f"{n:>9,} signals: build {row['build_s']:>7.2f} s ({row['signals_per_s']:,}/s), "
            f"peak RSS +{row['rss_growth_mb']:,.0f} MB ({row['bytes_per_signal']:,} B/signal), "
            f"save {row['save_s']:.2f} s, {row['file_mb']:.0f} MB; {row['nodes']:,} nodes, {row['edges']:,} edges, "
            f"{row['enterprises']:,} enterprises, {row['brands']:,} brands",
            flush=True,
        )
        print(
            f"{'':>19}incremental update of {row['update_signals']:,} signals (1%): median {row['update_s']:.3f} s "
            f"of {args.repeats} (max {row['update_max_s']:.3f} s; {', '.join(row['update_modes'])}), change log "
            f"{row['log_mb']:.1f} MB, peak RSS after them +{row['rss_after_updates_mb']:,.0f} MB; "
            f"load {row['load_s']:.2f} s; load average {row['loadavg']:.2f}",
            flush=True,
        )
        if n >= 1_000_000:
            record(
                f"graph: peak RSS at {n // 1_000_000}M signals",
                row["rss_after_updates_mb"],
                GOAL_RSS_MB,
                unit="MB",
                higher_is_better=False,
            )
            record(
                f"graph: incremental update of 1% at {n // 1_000_000}M",
                row["update_s"],
                GOAL_UPDATE_S,
                unit="s",
                higher_is_better=False,
            )
    # growth from each size to the next (the smallest run also pays for cold caches, so the
    # step between the two largest sizes is the fairest figure)
    if len(rows) > 1:
        for ref, row in itertools.pairwise(rows):
            k = row["n"] / ref["n"]
            print(
                f"growth {ref['n']:,} → {row['n']:,} (×{k:g} signals): time ×{row['build_s'] / ref['build_s']:.1f}, "
                f"memory ×{row['rss_growth_mb'] / max(ref['rss_growth_mb'], 0.1):.1f}, "
                f"file ×{row['file_mb'] / max(ref['file_mb'], 0.1):.1f}, "
                f"update ×{row['update_s'] / max(ref['update_s'], 0.001):.1f} (load average {os.getloadavg()[0]:.2f})",
                flush=True,
            )


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    main(sys.argv[1:])
    if "--one" not in sys.argv:
        from bench.targets import summary

        print(summary(), flush=True)
