"""Candidate refresh at scale: time and peak memory at 10k, 100k (and 1M where it fits) risk signals.

Signals are synthesised from real ones: the demo corpus (riskmine/data/demo/demo.jsonl, real
texts from the shared data sets) is run once through the configured NLP pipeline; its
risk signals are then copied with new ids, publication times spread over 26 weeks,
a random province and a brand from a pool, and now and then a category swapped for
another seen one, so that groups, sub-candidates and statistics have realistic sizes.

Measured, each in this run:

* ``build_candidates`` over N in-memory signals (the pure function): seconds and the
  peak of Python allocations (tracemalloc) during the build;
* ``refresh_candidates`` on a SQLite store holding N signals: a full rebuild, then an
  incremental refresh after 1 % new signals in two categories;
* growth ratios between sizes (time and memory per 10× signals) and the incremental
  refresh's time as a share of the full one.

1M signals are measured only when the estimated memory (per-signal bytes at 100k ×
1M) stays under ``MAX_BYTES``; otherwise the bench says so. Run:
``python -m bench candidates_scale`` or ``python bench/candidates_scale.py [sizes…]``.
"""

from __future__ import annotations

import gc
import json
import random
import sys
import tempfile
import time
import tracemalloc
from datetime import datetime, timedelta
from itertools import pairwise
from pathlib import Path

from riskmine.knowledge_graph.candidates import build_candidates, is_candidate_signal
from riskmine.knowledge_graph.evidence import CHINA_TZ
from riskmine.knowledge_graph.priority import PriorityConfig
from riskmine.models.registry import ensure_model
from riskmine.pipeline import Pipeline
from riskmine.processing import refresh_candidates
from riskmine.schema import EntityMention, RawDocument, RegionMention, Signal
from riskmine.settings import Settings, get_settings
from riskmine.store.base import Collection, DuplicatePolicy
from riskmine.store.sqlite import SQLiteStore

SIZES = (10_000, 100_000, 1_000_000)
STORE_SIZES = (10_000, 100_000)  # writing 1M signals into SQLite alone takes longer than a bench should
MAX_BYTES = 2 * 1024**3  # the bench machine is shared: stay well under its free memory
NEW_SHARE = 0.01
PROVINCES = ("广东省", "浙江省", "江苏省", "山东省", "河南省", "四川省", "湖北省", "福建省", "河北省", "上海市")
BRANDS = ("极充", "罗马仕", "小米", "安克", "美的", "格力", "海尔", "九阳", "苏泊尔", "奥克斯", "飞科", "品胜")
START = datetime(2026, 1, 5, tzinfo=CHINA_TZ)
WEEKS = 26


def seed_signals(settings: Settings, folder: Path) -> list[Signal]:
    """The demo corpus's risk signals, from the configured pipeline (its dedup journal kept in `folder`)."""
    docs = [
        RawDocument.model_validate(json.loads(line))
        for line in settings.demo_path.read_text(encoding="utf-8").splitlines()
        if line.strip()
    ]
    local = settings.model_copy(update={"var_dir": folder, "models_dir": settings.models_path})
    ensure_model(local)  # trained once, outside the timing
    pipeline = Pipeline.from_settings(local)
    signals = [s for batch in pipeline.process_stream(docs) for s in batch if is_candidate_signal(s)]
    if not signals:
        raise RuntimeError("the demo corpus gave no risk signals to synthesise from")
    return signals


def synthesise(base: list[Signal], n: int, rng: random.Random, prefix: str = "syn") -> list[Signal]:
    """n perturbed copies of the base signals (new ids, times, provinces, brands; a few categories swapped)."""
    categories = sorted({s.product_category for s in base if s.product_category})
    span = timedelta(weeks=WEEKS).total_seconds()
    out = []
    for i in range(n):
        src = rng.choice(base)
        sid = f"{prefix}-{i}"
        when = START + timedelta(seconds=rng.uniform(0, span))
        doc = src.document.model_copy(update={"id": sid, "source_id": sid, "published_at": when})
        province = rng.choice(PROVINCES)
        orgs = [o for o in src.organisations if o.kind != "brand"]
        orgs.append(EntityMention(kind="brand", name=rng.choice(BRANDS), source="meta"))
        update = {
            "id": sid,
            "document": doc,
            "regions": [RegionMention(name=province, level="province", province=province)],
            "organisations": orgs,
            "duplicate_group": None,
            "is_duplicate": False,
        }
        if categories and rng.random() < 0.1:
            update["product_category"] = rng.choice(categories)
        out.append(src.model_copy(update=update))
    return out


def _now() -> datetime:
    return START + timedelta(weeks=WEEKS)


def measure_build(signals: list[Signal], repeats: int = 2) -> tuple[float, int]:
    """Best seconds of `repeats` build_candidates runs (the machine is shared), then the peak traced
    allocation of one more, traced build."""
    seconds = float("inf")
    for _ in range(repeats):
        gc.collect()
        t0 = time.perf_counter()
        build_candidates(signals, now=_now())
        seconds = min(seconds, time.perf_counter() - t0)
    gc.collect()
    tracemalloc.start()
    build_candidates(signals, now=_now())
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return seconds, peak


def measure_store(base: list[Signal], n: int, rng: random.Random, folder: Path) -> dict[str, float]:
    """Full and incremental refresh_candidates on a SQLite store of n signals."""
    store = SQLiteStore(folder / f"bench-{n}.sqlite3")
    cfg = PriorityConfig()
    try:
        signals = synthesise(base, n, rng)
        t0 = time.perf_counter()
        for i in range(0, n, 5000):
            store.write(Collection.signals, signals[i : i + 5000], DuplicatePolicy.overwrite)
        write_s = time.perf_counter() - t0
        del signals
        t0 = time.perf_counter()
        refresh_candidates(store, now=_now(), config=cfg)
        full_s = time.perf_counter() - t0
        two = sorted({s.product_category for s in base if s.product_category})[:2]
        pool = [s for s in base if s.product_category in two] or base
        new = synthesise(pool, max(1, int(n * NEW_SHARE)), rng, prefix="new")
        store.write(Collection.signals, new, DuplicatePolicy.overwrite)
        t0 = time.perf_counter()
        refresh_candidates(store, now=_now(), signal_ids=[s.id for s in new], config=cfg)
        inc_s = time.perf_counter() - t0
        candidates = store.count(Collection.candidates)
    finally:
        store.close()
    return {"write_s": write_s, "full_s": full_s, "incremental_s": inc_s, "candidates": candidates}


def main(argv: list[str]) -> None:
    sizes = tuple(int(a) for a in argv) or SIZES
    rng = random.Random(11)
    settings = get_settings()
    with tempfile.TemporaryDirectory(prefix="bench-candidates-") as tmp:
        folder = Path(tmp)
        t0 = time.perf_counter()
        base = seed_signals(settings, folder)
        print(f"{len(base)} real risk signals from the demo corpus in {time.perf_counter() - t0:.1f}s", flush=True)

        builds: dict[int, tuple[float, int]] = {}
        per_signal = 0.0
        for n in sizes:
            if n > 100_000 and per_signal * n > MAX_BYTES:
                print(
                    f"build_candidates at {n:,}: skipped, needs about {per_signal * n / 1024**3:.1f} GiB "
                    f"(signals + build) over the {MAX_BYTES / 1024**3:.0f} GiB this bench allows",
                    flush=True,
                )
                continue
            gc.collect()
            tracemalloc.start()
            signals = synthesise(base, n, rng)
            held, _ = tracemalloc.get_traced_memory()
            tracemalloc.stop()
            seconds, peak = measure_build(signals)
            per_signal = (held + peak) / n
            builds[n] = (seconds, peak)
            print(
                f"build_candidates at {n:>9,}: {seconds:7.2f}s, {n / seconds:9,.0f} signals/s, "
                f"peak during build {peak / 1024**2:8.1f} MiB, signals held {held / 1024**2:8.1f} MiB",
                flush=True,
            )
            del signals
        done = sorted(builds)
        for a, b in pairwise(done):
            ta, ma = builds[a]
            tb, mb = builds[b]
            print(f"growth {a:,} → {b:,} ({b / a:.0f}× signals): time ×{tb / ta:.1f}, build memory ×{mb / ma:.1f}")

        stores: dict[int, dict[str, float]] = {}
        for n in (s for s in STORE_SIZES if s in sizes):
            r = measure_store(base, n, rng, folder)
            stores[n] = r
            print(
                f"store at {n:>9,} signals: write {r['write_s']:.1f}s, full refresh {r['full_s']:.2f}s, "
                f"incremental refresh after {NEW_SHARE:.0%} new {r['incremental_s']:.2f}s "
                f"(×{r['incremental_s'] / r['full_s']:.2f} of full), {int(r['candidates'])} candidates",
                flush=True,
            )
        done = sorted(stores)
        for a, b in pairwise(done):
            print(
                f"store growth {a:,} → {b:,}: full ×{stores[b]['full_s'] / stores[a]['full_s']:.1f}, "
                f"incremental ×{stores[b]['incremental_s'] / stores[a]['incremental_s']:.1f}"
            )


if __name__ == "__main__":
    main(sys.argv[1:])
