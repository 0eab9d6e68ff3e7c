"""Bulk writes and filtered queries at volume stay fast and use the indexes."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from riskmine.schema import Signal
from riskmine.store.base import Collection, Range
from riskmine.store.sqlite import SQLiteStore

from .samples import signal_corpus

S = Collection.signals


def many_signals(n: int) -> list[Signal]:
    """`n` distinct signals cloned from the sample corpus (segmented, as the pipeline leaves them)."""
    templates = list(signal_corpus().values())
    out = []
    for i in range(n):
        t = templates[i % len(templates)]
        doc = t.document.model_copy(update={"id": f"d{i:07d}", "source_id": f"bulk-{i}"})
        out.append(t.model_copy(update={"id": f"d{i:07d}", "document": doc}))
    return out


def test_bulk_write_of_10k_signals(tmp_path: Path) -> None:
    sigs = many_signals(10_000)
    with SQLiteStore(tmp_path / "bulk.sqlite3") as store:
        t0 = time.perf_counter()
        result = store.write(S, sigs)
        elapsed = time.perf_counter() - t0
        assert result.written == 10_000
        assert elapsed < 20, f"10k signals took {elapsed:.1f}s"  # 1.5-2 s on a quiet core; 7 s on a loaded one
        t0 = time.perf_counter()
        page = store.query(S, filters={"product_category": "充电宝", "is_risk": True}, limit=20)
        assert time.perf_counter() - t0 < 2
        assert page.total == 3000 and len(page.items) == 20
        assert store.count(S, filters={"risk_score": Range(gte=0.9)}) == 2000
        again = store.write(S, sigs[:1000])
        assert again.skipped == 1000


@pytest.mark.slow
def test_filtered_queries_on_100k_signals(tmp_path: Path) -> None:
    with SQLiteStore(tmp_path / "big.sqlite3") as store:
        sigs = many_signals(100_000)
        for i in range(0, len(sigs), 10_000):
            store.write(S, sigs[i : i + 10_000])
        checks = [
            lambda: store.query(S, filters={"document_id": "d0000042"}),
            lambda: store.query(S, filters={"product_category": "爬行垫", "region": "广东省"}, limit=20),
            lambda: store.query(S, sort="risk_score", limit=20),
            lambda: store.aggregate(S, "hazard"),
            lambda: store.count(S, filters={"time": Range(gte="2024-03-01")}),
        ]
        for check in checks:
            check()
            t0 = time.perf_counter()
            check()
            assert time.perf_counter() - t0 < 1.0
        assert store.query(S, filters={"document_id": "d0000042"}).total == 1
        assert store.count(S, filters={"product_category": "爬行垫", "region": "广东省"}) == 10_000
