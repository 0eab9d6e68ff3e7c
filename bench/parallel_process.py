"""Throughput of `riskmine process` with 1 and 2 worker processes over real texts.

Loads a few thousand real reviews from the shared data (see bench/nlp_throughput.py),
stores them as documents in a fresh SQLite store, and runs the configured pipeline:

* 1 worker: the in-process path (``processing.process_documents``), pipeline built once;
* 2 workers: :class:`riskmine.parallel.ParallelProcessor` (spawned workers, each building
  its stages once; dedup in the parent; the parent writes). Its time includes starting
  the workers, as a user running ``riskmine process --workers 2`` would see.

Prints docs/s of each and the ratio, and checks that both produced the same signals.
The machine's load matters: the figures are only comparable within one run.

Run: ``python -m bench parallel_process`` or ``python bench/parallel_process.py [n]``.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from bench.nlp_throughput import load_reviews


def _store_with(path: Path, texts: list[str]) -> object:
    from riskmine.schema import RawDocument, SourceType
    from riskmine.store.base import Collection
    from riskmine.store.sqlite import SQLiteStore

    store = SQLiteStore(path)
    collected = datetime(2024, 5, 1, tzinfo=UTC)  # fixed, so both runs store identical documents
    docs = [
        RawDocument(source="bench", source_type=SourceType.review, source_id=f"b{i}", text=t, collected_at=collected)
        for i, t in enumerate(texts)
    ]
    store.write(Collection.documents, docs)
    return store


def main(argv: list[str]) -> None:
    from riskmine.models.registry import ensure_model
    from riskmine.parallel import ConfiguredStages, ParallelProcessor
    from riskmine.pipeline import Pipeline
    from riskmine.processing import process_documents
    from riskmine.settings import Settings
    from riskmine.store.base import Collection

    n = int(argv[0]) if argv else 3000
    texts = load_reviews(n)
    print(f"{len(texts)} real texts; {os.cpu_count()} CPUs visible, load average {os.getloadavg()[0]:.1f}")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        models = os.environ.get("RISKMINE_MODELS_DIR")
        results = {}
        for workers in (1, 2):
            var = root / f"var{workers}"
            settings = Settings(
                var_dir=var, models_dir=Path(models) if models else root / "models", risk_model="risk-baseline"
            )
            ensure_model(settings)  # trained once (outside the timing)
            store = _store_with(root / f"w{workers}.sqlite3", texts)
            try:
                t0 = time.perf_counter()
                if workers == 1:
                    pipeline = Pipeline.from_settings(settings, store)
                    built = time.perf_counter() - t0
                    rep = process_documents(store, pipeline, batch_size=settings.batch_size)  # type: ignore[arg-type]
                else:
                    built = 0.0
                    rep = ParallelProcessor(ConfiguredStages(settings), workers).process_documents(
                        store,  # type: ignore[arg-type]
                        batch_size=settings.batch_size,
                    )
                seconds = time.perf_counter() - t0
                signals = [
                    s.model_dump(mode="json", exclude={"processed_at"})
                    for s in store.iterate(Collection.signals)  # type: ignore[attr-defined]
                ]
            finally:
                store.close()  # type: ignore[attr-defined]
            results[workers] = (rep.processed / seconds, seconds, signals)
            extra = f" (pipeline built in {built:.1f}s, included)" if workers == 1 else " (worker start-up included)"
            print(
                f"  {workers} worker(s): {rep.processed} docs in {seconds:.1f}s = "
                f"{rep.processed / seconds:.0f} docs/s{extra}"
            )
        ratio = results[2][0] / results[1][0]
        print(f"  2 workers / 1 worker: {ratio:.2f}x")
        print(f"  same signals: {results[1][2] == results[2][2]}")


if __name__ == "__main__":
    main(sys.argv[1:])
