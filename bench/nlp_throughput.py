"""Throughput of the NLP path (normalize → denoise → dedup → segment → tag → disambiguate) against jieba alone.

On one core, over real reviews from /work/shared/data (online_shopping_10_cats,
fewclue unlabeled, waimai_10k, ChnSentiCorp hotel reviews):

* documents/s of the NLP path, of the whole configured path without the encoder (with
  the baseline classifier and grading), and of ``jieba.lcut`` over the same texts (HMM on,
  and off as the segment stage runs it), and their ratios beside issue 18's targets
  (≥ 1.0× without classify, ≥ 0.6× with it): medians of interleaved repeats, with the
  load average;
* seconds per stage, wall and CPU (the CPU seconds are the steadier figure on a shared machine);
* peak resident memory of the process;
* the near-duplicate index's memory per document at 10k, 100k and 1M documents (the
  larger set made by perturbing real texts with random swaps, insertions,
  deletions and substitutions), and its growth; 1M again with the index bounded;
* the num_perm trade-off: time, memory, recall of perturbed copies and the share
  of near merges that are true near duplicates, for 64/128/256 permutations.

Run: ``python -m bench nlp_throughput`` or ``python -m bench.nlp_throughput [n]``.
"""

from __future__ import annotations

import csv
import dataclasses
import gc
import json
import os
import random
import resource
import statistics
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.targets import record
from riskmine.settings import shared_data_dir

DATA_DIR = shared_data_dir()
# issue 18: documents/s over jieba.lcut's (HMM on, as it comes), one core
PATH_TARGET = 1.0  # normalize → … → disambiguate
FULL_TARGET = 0.6  # the configured path, classify and grade included
SOURCES = (
    ("online_shopping_10_cats/online_shopping_10_cats.csv", "review"),
    ("fewclue_eprstmt/unlabeled.json", "sentence"),
    ("waimai_10k/waimai_10k.csv", "review"),
    ("ChnSentiCorp_htl_all/ChnSentiCorp_htl_all.csv", "review"),
)


def load_reviews(limit: int | None = None, data_dir: Path = DATA_DIR) -> list[str]:
    """Non-blank review texts from the four data sets, in file order, at most `limit`."""
    texts: list[str] = []
    for rel, field in SOURCES:
        path = data_dir / rel
        if not path.is_file():
            raise FileNotFoundError(f"benchmark data missing: {path} (set RISKMINE_SHARED_DATA)")
        with path.open(encoding="utf-8-sig", newline="") as f:
            rows: Any = (json.loads(line) for line in f) if path.suffix == ".json" else csv.DictReader(f)
            for row in rows:
                text = (row.get(field) or "").strip()
                if text:
                    texts.append(text)
    return texts[:limit] if limit else texts


def perturb(text: str, rng: random.Random, rate: float) -> str:
    """`text` with about `rate` edits per character: adjacent swaps, insertions, deletions, substitutions."""
    chars = list(text)
    edits = max(1, round(len(chars) * rate))
    for _ in range(edits):
        if len(chars) < 2:
            break
        i = rng.randrange(len(chars) - 1)
        op = rng.randrange(4)
        if op == 0:
            chars[i], chars[i + 1] = chars[i + 1], chars[i]
        elif op == 1:
            chars.insert(i, chr(rng.randrange(0x4E00, 0x9FA5)))
        elif op == 2:
            del chars[i]
        else:
            chars[i] = chr(rng.randrange(0x4E00, 0x9FA5))
    return "".join(chars)


def _one_core() -> str:
    try:
        cpu = min(os.sched_getaffinity(0))
        os.sched_setaffinity(0, {cpu})
        return f"pinned to CPU {cpu}"
    except (AttributeError, OSError):
        return "not pinned (no sched_setaffinity)"


def _timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


def _path_stages(var_dir: Path) -> tuple[list[Any], list[str]]:
    """normalize, denoise, dedup, segment, and tag when riskmine/nlp/tag.py registers it and can be built."""
    from riskmine.nlp.base import StageContext, build_stage, registered
    from riskmine.settings import Settings

    ctx = StageContext(settings=Settings(var_dir=var_dir))
    names = ["normalize", "denoise", "dedup", "segment"]
    stages = [build_stage(name, ctx) for name in names]
    if not Path(__file__).resolve().parent.parent.joinpath("riskmine", "nlp", "tag.py").is_file():
        return stages, names
    try:
        has_tag = "tag" in registered()
    except ImportError as exc:  # another stage module failing to import must not hide the figures
        print(f"  (tag not measured: {exc})")
        return stages, names
    if has_tag:
        for label, options in (("tag", {}), ("tag[regions=False]", {"regions": False})):
            try:
                stages.append(build_stage("tag", ctx, options))
            except Exception as exc:  # report why and measure without it
                print(f"  ({label} not built: {type(exc).__name__}: {exc})")
                continue
            names.append(label)
            break
        if "disambiguate" in registered():
            stages.append(build_stage("disambiguate", ctx))
            names.append("disambiguate")
    return stages, names


def _configured_pipeline(var_dir: Path) -> tuple[Any, list[str]]:
    """The configured pipeline (riskmine/pipeline.toml) with the serving baseline model, trained if missing."""
    from riskmine.models.registry import ensure_model
    from riskmine.pipeline import Pipeline
    from riskmine.settings import Settings, get_settings

    # the baseline, even where a cascade is trained (bench.encoder_speed measures that)
    settings = Settings(var_dir=var_dir, models_dir=get_settings().models_path, risk_model="risk-baseline")
    ensure_model(settings)  # trained once, outside the timing
    pipe = Pipeline.from_settings(settings)
    return pipe, [s.name for s in pipe.stages]


def _cpu_timed(stages: list[Any], cpu: dict[str, float]) -> list[Any]:
    """The stages, each adding the CPU seconds it takes to ``cpu`` (steadier than wall time on a shared machine)."""

    def timed(name: str, fn: Callable[[list[Any]], list[Any]]) -> Callable[[list[Any]], list[Any]]:
        def run(batch: list[Any]) -> list[Any]:
            t0 = time.process_time()
            try:
                return fn(batch)
            finally:
                cpu[name] = cpu.get(name, 0.0) + time.process_time() - t0

        return run

    return [dataclasses.replace(st, fn=timed(st.name, st.fn)) for st in stages]


def _time_pipeline(pipe: Any, docs: list[Any], batch_size: int) -> tuple[float, dict[str, float], dict[str, float]]:
    """Wall seconds of the whole run, and wall and CPU seconds per stage."""
    cpu: dict[str, float] = {}
    pipe.stages = _cpu_timed(pipe.stages, cpu)
    pipe.process(docs[:50])  # warm-up: dictionaries, automata and models are loaded outside the timing
    pipe.timings.clear()
    cpu.clear()
    secs, _ = _timed(lambda: [pipe.process(docs[i : i + batch_size]) for i in range(0, len(docs), batch_size)])
    return secs, dict(pipe.timings), dict(cpu)


def measure_path(texts: list[str], batch_size: int = 256, *, full: bool = True, repeats: int = 3) -> dict[str, Any]:
    """Documents/s of the NLP path, and of the whole configured path, against jieba alone over the same texts.

    jieba is timed twice: ``jieba.lcut`` as it comes (HMM on) and without HMM, the mode the
    segment stage runs in; the ratios are documents/s of the path over jieba's. The timings
    are interleaved `repeats` times (fresh stages each time: the dedup index and the
    segmentation cache start empty) and each figure is the median.
    """
    import jieba

    from riskmine.pipeline import Pipeline
    from riskmine.schema import RawDocument
    from riskmine.text.tokenize import clear_cache, tokenizer

    def docs() -> list[Any]:  # fresh records for each path: stages write into them
        return [
            RawDocument(source="bench", source_type="review", source_id=str(i), text=t) for i, t in enumerate(texts)
        ]

    jieba.setLogLevel(30)
    jieba.lcut("预热")
    runs: dict[str, list[float]] = {}
    stage_runs: dict[str, dict[str, list[float]]] = {"path": {}, "full": {}}
    stage_cpu: dict[str, dict[str, list[float]]] = {"path": {}, "full": {}}
    out: dict[str, Any] = {"docs": len(texts), "repeats": repeats}
    for _ in range(repeats):
        with tempfile.TemporaryDirectory() as tmp:
            stages, names = _path_stages(Path(tmp) / "nlp")
            clear_cache()  # the path cuts every text itself, nothing carried over
            timed: list[tuple[str, float, dict[str, float], dict[str, float]]] = [
                ("path", *_time_pipeline(Pipeline(stages), docs(), batch_size))
            ]
            out["stages"] = names
            if full:
                pipe, out["full_stages"] = _configured_pipeline(Path(tmp) / "full")
                clear_cache()
                timed.append(("full", *_time_pipeline(pipe, docs(), batch_size)))
        for key, secs, per_stage, per_stage_cpu in timed:
            runs.setdefault(key, []).append(secs)
            for name, t in per_stage.items():
                stage_runs[key].setdefault(name, []).append(t)
            for name, t in per_stage_cpu.items():
                stage_cpu[key].setdefault(name, []).append(t)
        runs.setdefault("jieba", []).append(_timed(lambda: [jieba.lcut(t) for t in texts])[0])
        runs.setdefault("jieba_nohmm", []).append(_timed(lambda: [jieba.lcut(t, HMM=False) for t in texts])[0])
    med = {key: statistics.median(v) for key, v in runs.items()}
    n = len(texts)
    out.update(
        segmenter=tokenizer().name,
        path_seconds=med["path"],
        stage_seconds={k: statistics.median(v) for k, v in stage_runs["path"].items()},
        stage_cpu_seconds={k: statistics.median(v) for k, v in stage_cpu["path"].items()},
        jieba_docs_per_s=n / med["jieba"],
        jieba_nohmm_docs_per_s=n / med["jieba_nohmm"],
        path_docs_per_s=n / med["path"],
        ratio=med["jieba"] / med["path"],
        ratio_nohmm=med["jieba_nohmm"] / med["path"],
    )
    if full:
        out.update(
            full_seconds=med["full"],
            full_stage_seconds={k: statistics.median(v) for k, v in stage_runs["full"].items()},
            full_stage_cpu_seconds={k: statistics.median(v) for k, v in stage_cpu["full"].items()},
            full_docs_per_s=n / med["full"],
            full_ratio=med["jieba"] / med["full"],
            full_ratio_nohmm=med["jieba_nohmm"] / med["full"],
        )
    return out


def _rss_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * resource.getpagesize()


def _index_corpus(texts: list[str], size: int, seed: int) -> list[tuple[str, str, str]]:
    """`size` (id, content hash, text) items: the real texts, then perturbed copies of them."""
    from riskmine.text.normalize import content_hash, normalize_text

    rng = random.Random(seed)
    base = [normalize_text(t) for t in texts]
    corpus = (base[i] if i < len(base) else perturb(base[i % len(base)], rng, 0.05) for i in range(size))
    return [(f"d{i}", content_hash(t), t) for i, t in enumerate(corpus)]


def _fill_index(items: list[tuple[str, str, str]], max_signatures: int | None) -> tuple[Any, float]:
    from riskmine.nlp.dedup import DedupIndex

    index = DedupIndex(max_signatures=max_signatures)
    t0 = time.perf_counter()
    for i in range(0, len(items), 1000):
        index.assign(items[i : i + 1000])
    return index, time.perf_counter() - t0


def _resident_index_bytes(size: int, seed: int, max_signatures: int | None) -> tuple[float, int, int, float]:
    """In a fresh process: resident memory grown by filling the index (bytes), signatures, evicted, seconds."""
    items = _index_corpus(load_reviews(None), size, seed)
    gc.collect()
    before = _rss_bytes()
    index, secs = _fill_index(items, max_signatures)
    return float(_rss_bytes() - before), index.indexed, index.evicted, secs


def index_memory(
    texts: list[str],
    sizes: tuple[int, ...] = (10_000, 100_000, 1_000_000),
    seed: int = 7,
    max_signatures: int | None = None,
    traced_up_to: int = 100_000,
) -> dict[int, float]:
    """Bytes per document held by the dedup index after `size` documents.

    Up to `traced_up_to` documents the figure is tracemalloc's (exact Python allocations);
    above, tracing itself would cost gigabytes, so it is the growth of resident memory,
    measured in a fresh process so that memory freed by earlier runs does not hide it.
    """
    import multiprocessing

    out: dict[int, float] = {}
    for size in sizes:
        if size <= traced_up_to:
            items = _index_corpus(texts, size, seed)
            gc.collect()
            tracemalloc.start()
            before = tracemalloc.get_traced_memory()[0]
            index, secs = _fill_index(items, max_signatures)
            grown = float(tracemalloc.get_traced_memory()[0] - before)
            tracemalloc.stop()
            indexed, evicted, how = index.indexed, index.evicted, "tracemalloc"
            del index, items
        else:
            with multiprocessing.get_context("spawn").Pool(1) as pool:
                grown, indexed, evicted, secs = pool.apply(_resident_index_bytes, (size, seed, max_signatures))
            how = "resident memory, fresh process"
        out[size] = grown / size
        print(
            f"  {size:>9,} docs: {out[size]:,.0f} B/doc ({how}; {indexed:,} MinHash signatures indexed, "
            f"{evicted:,} evicted; {secs / size * 1e6:,.0f} µs/doc)",
            flush=True,
        )
        gc.collect()
    return out


def _true_jaccard(a: str, b: str, k: int = 3) -> float:
    from riskmine.text.normalize import compact

    ka, kb = compact(a), compact(b)
    sa = {ka[i : i + k] for i in range(len(ka) - k + 1)}
    sb = {kb[i : i + k] for i in range(len(kb) - k + 1)}
    return len(sa & sb) / len(sa | sb) if sa and sb else 0.0


def num_perm_tradeoff(
    texts: list[str],
    configs: tuple[tuple[int, float], ...] = ((64, 0.9), (128, 0.9), (256, 0.9), (128, 0.5)),
    originals: int = 5000,
    seed: int = 11,
) -> list[dict[str, Any]]:
    """Per (num_perm, recall_weight): µs/doc, bytes/doc, recall of perturbed copies, precision of near merges."""
    from riskmine.nlp.dedup import DedupIndex
    from riskmine.text.normalize import compact, content_hash, normalize_text

    rng = random.Random(seed)
    base = [t for t in (normalize_text(x) for x in texts) if len(compact(t)) >= 40][:originals]
    copies = [perturb(t, rng, rng.choice((0.01, 0.03, 0.05, 0.08))) for t in base]
    corpus = base + copies
    items = [(f"d{i}", content_hash(t), t) for i, t in enumerate(corpus)]
    true_j = [_true_jaccard(c, b) for c, b in zip(copies, base, strict=True)]
    tiers = {"J>=0.9": [j >= 0.9 for j in true_j], "0.8<=J<0.9": [0.8 <= j < 0.9 for j in true_j]}
    text_of = {f"d{i}": t for i, t in enumerate(corpus)}
    rows = []
    for num_perm, recall_weight in configs:
        params: dict[str, Any] = {"num_perm": num_perm, "threshold": 0.8, "recall_weight": recall_weight}
        index = DedupIndex(**params)
        t0 = time.perf_counter()
        assigned = index.assign(items)  # timed without tracemalloc
        secs = time.perf_counter() - t0
        del index
        gc.collect()
        tracemalloc.start()
        before = tracemalloc.get_traced_memory()[0]
        probe = DedupIndex(**params)
        probe.assign(items)
        mem = tracemalloc.get_traced_memory()[0] - before
        tracemalloc.stop()
        del probe
        found = [assigned[len(base) + j].group == assigned[j].group for j in range(len(copies))]
        recall = {
            name: sum(f for f, m in zip(found, mask, strict=True) if m) / max(1, sum(mask))
            for name, mask in tiers.items()
        }
        near = [(i, a) for i, a in enumerate(assigned) if a.near]
        merge_j = [_true_jaccard(corpus[i], text_of[a.group]) for i, a in near]
        rows.append(
            {
                "num_perm": num_perm,
                "recall_weight": recall_weight,
                "us_per_doc": secs / len(items) * 1e6,
                "bytes_per_doc": mem / len(items),
                "recall": recall,
                "tier_sizes": {name: sum(mask) for name, mask in tiers.items()},
                "near_merges": len(near),
                "merges_true_ge_0.8": sum(j >= 0.8 for j in merge_j) / max(1, len(near)),
                "merges_true_ge_0.7": sum(j >= 0.7 for j in merge_j) / max(1, len(near)),
            }
        )
    return rows


def run(
    n: int = 60_000,
    *,
    memory_sizes: tuple[int, ...] = (10_000, 100_000, 1_000_000),
    bounded: int | None = 250_000,
    tradeoff: bool = True,
) -> dict[str, Any]:
    """Measure everything on `n` real reviews (≥ 50,000 for the reported figures); returns the figures."""
    pinned = _one_core()
    texts = load_reviews(n)
    print(f"{len(texts):,} real reviews, {sum(map(len, texts)) / len(texts):.0f} characters on average; {pinned}")

    path = measure_path(texts)
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    print(
        f"medians of {path['repeats']} interleaved runs; segmenter {path['segmenter']}; load average {load}\n"
        f"jieba.lcut alone: {path['jieba_docs_per_s']:,.0f} docs/s (HMM on, as it comes), "
        f"{path['jieba_nohmm_docs_per_s']:,.0f} docs/s (HMM off, the segment stage's mode)"
    )
    print(f"NLP path ({' → '.join(path['stages'])}): {path['path_docs_per_s']:,.0f} docs/s")
    _print_target("NLP path without classify vs jieba.lcut", path["ratio"], PATH_TARGET, path["ratio_nohmm"])
    _print_stages(path["stage_seconds"], len(texts), path["stage_cpu_seconds"])
    if "full_seconds" in path:
        print(
            f"whole configured path without the encoder ({' → '.join(path['full_stages'])}): "
            f"{path['full_docs_per_s']:,.0f} docs/s"
        )
        _print_target("NLP path with classify vs jieba.lcut", path["full_ratio"], FULL_TARGET, path["full_ratio_nohmm"])
        _print_stages(path["full_stage_seconds"], len(texts), path["full_stage_cpu_seconds"])

    print("near-duplicate index memory per document (unbounded):")
    all_texts = load_reviews(None)
    memory = index_memory(all_texts, memory_sizes)
    if len(memory) >= 2:
        small, large = min(memory), max(memory)
        print(f"  growth {small:,} → {large:,} docs: {memory[large] / memory[small]:.2f}× per document")
    bounded_memory: dict[int, float] = {}
    if bounded and max(memory_sizes) > bounded:
        print(f"the same, bounded to the newest {bounded:,} signatures (the stage's max_signatures option):")
        bounded_memory = index_memory(all_texts, (max(memory_sizes),), max_signatures=bounded)

    rows: list[dict[str, Any]] = []
    if tradeoff:
        print("num_perm trade-off (threshold 0.8; 5,000 real texts ≥ 40 chars + a perturbed copy of each, 1-8% edits):")
        rows = num_perm_tradeoff(all_texts)
        sizes = rows[0]["tier_sizes"] if rows else {}
        print(f"  perturbed copies by true Jaccard to their original: {sizes}")
        for r in rows:
            print(
                f"  num_perm {r['num_perm']:>3}, recall_weight {r['recall_weight']}: {r['us_per_doc']:5.0f} µs/doc, "
                f"{r['bytes_per_doc']:6,.0f} B/doc, recall "
                + ", ".join(f"{k} {v:.3f}" for k, v in r["recall"].items())
                + f"; {r['near_merges']} near merges, {r['merges_true_ge_0.8']:.3f} with true J ≥ 0.8, "
                f"{r['merges_true_ge_0.7']:.3f} ≥ 0.7"
            )

    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(f"peak resident memory: {peak_kib / 1024:,.0f} MiB")
    return {
        **path,
        "index_bytes_per_doc": memory,
        "bounded_index_bytes_per_doc": bounded_memory,
        "num_perm": rows,
        "peak_rss_mib": peak_kib / 1024,
    }


def _print_target(label: str, ratio: float, target: float, ratio_nohmm: float) -> None:
    record(label, ratio, target, unit="x")
    verdict = "met" if ratio >= target else "NOT met"
    print(
        f"  {label}: {ratio:.2f}× (target ≥ {target}×: {verdict}, {ratio / target:.2f} of it); "
        f"{ratio_nohmm:.2f}× jieba without HMM"
    )


def _print_stages(stage_seconds: dict[str, float], n: int, cpu_seconds: dict[str, float] | None = None) -> None:
    total = sum(stage_seconds.values())
    for name, secs in stage_seconds.items():
        cpu = (cpu_seconds or {}).get(name)
        on_cpu = f"  {cpu:7.2f} s CPU ({n / cpu:10,.0f} docs/s)" if cpu else ""
        print(f"  {name:<18} {secs:7.2f} s  {secs / total:6.1%}  {n / secs:10,.0f} docs/s{on_cpu}")


def main(argv: list[str]) -> None:
    """``[n]``: the reviews measured (60,000 unless given)."""
    run(int(argv[0]) if argv else 60_000)


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    main(sys.argv[1:])
