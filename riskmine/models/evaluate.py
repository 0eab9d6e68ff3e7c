"""Evaluation of a risk model on a labelled split, and its rendering as rich tables.

Figures (all on the split given):

* ``risk``: precision / recall / F1 of both classes at the model's threshold,
  PR-AUC (average precision), ROC-AUC, precision@50 (the share of true risks among
  the 50 highest-scored texts; k is the split size when smaller), Brier score and
  10 equal-width reliability bins (count, mean score, observed risk rate).
* ``hazards``: per hazard code precision / recall / F1 / average precision over
  the true risks that carry gold hazard codes, comparing the gold set with the
  predicted set (the top code plus every code with P ≥ ``hazard_min_prob``).
  Codes neither gold nor predicted in the split are left out.
  **Hazard accuracy** is the fraction of those true risks whose predicted set
  contains at least one gold code (target ≥ 0.90); ``accuracy_flagged`` counts a
  text only if it is also flagged as a risk (the end-to-end figure);
  ``top1_accuracy`` asks the top code alone to be a gold code; ``coverage`` is the
  share whose gold codes include a modelled code (the ceiling of the others).
* ``harm``: precision / recall / F1 at ``harm_threshold``, average precision, Brier.
* ``speed``: texts per second of ``model.predict`` (features and every head) on
  one thread, measured on the split's texts after a warm-up call: per second of
  wall time, and per second of this process's CPU time (the per-core figure when
  the machine is shared).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import numpy as np
from rich.console import Console
from rich.table import Table
from sklearn.metrics import (
    average_precision_score,
    brier_score_loss,
    precision_recall_fscore_support,
    roc_auc_score,
)
from threadpoolctl import threadpool_limits

from riskmine.models.base import Predictions, RiskModel
from riskmine.models.corpus import InsufficientDataError, LabelledExample

HAZARD_ACCURACY_TARGET = 0.90
RELIABILITY_BINS = 10


def _prf(y: np.ndarray, pred: np.ndarray) -> dict[str, float | int]:
    p, r, f, _ = precision_recall_fscore_support(y, pred, average="binary", pos_label=1, zero_division=0)
    return {"precision": float(p), "recall": float(r), "f1": float(f), "support": int(y.sum())}


def _both_classes(y: np.ndarray) -> bool:
    return 0 < int(y.sum()) < len(y)


def reliability(y: np.ndarray, scores: np.ndarray, bins: int = RELIABILITY_BINS) -> list[dict[str, Any]]:
    """Equal-width bins of the score: count, mean score and observed positive rate (empty bins omitted)."""
    edges = np.linspace(0.0, 1.0, bins + 1)
    idx = np.clip(np.digitize(scores, edges[1:-1], right=False), 0, bins - 1)
    out = []
    for b in range(bins):
        mask = idx == b
        n = int(mask.sum())
        if n == 0:
            continue
        out.append(
            {
                "bin": f"{edges[b]:.1f}-{edges[b + 1]:.1f}",
                "count": n,
                "mean_score": float(scores[mask].mean()),
                "observed": float(y[mask].mean()),
            }
        )
    return out


def precision_at_k(y: np.ndarray, scores: np.ndarray, k: int = 50) -> dict[str, float | int]:
    k = min(k, len(y))
    if k == 0:
        return {"k": 0, "value": 0.0}
    top = np.argsort(-scores, kind="stable")[:k]
    return {"k": k, "value": float(y[top].mean())}


def risk_metrics(
    y: np.ndarray, scores: np.ndarray, threshold: float, k: int = 50, flagged: np.ndarray | None = None
) -> dict[str, Any]:
    """Figures of the risk head; decisions are ``flagged`` when given, else ``scores >= threshold``."""
    pred = (scores >= threshold if flagged is None else flagged).astype(np.int8)
    out: dict[str, Any] = {"threshold": threshold, **_prf(y, pred)}
    out["non_risk"] = _prf(1 - y, 1 - pred)
    out["flagged"] = int(pred.sum())
    out["average_precision"] = float(average_precision_score(y, scores)) if _both_classes(y) else None
    out["roc_auc"] = float(roc_auc_score(y, scores)) if _both_classes(y) else None
    out["precision_at_k"] = precision_at_k(y, scores, k)
    out["brier"] = float(brier_score_loss(y, scores, pos_label=1)) if len(y) else None
    out["reliability"] = reliability(y, scores)
    return out


def hazard_metrics(
    examples: Sequence[LabelledExample], preds: Predictions, flagged: np.ndarray, min_prob: float
) -> dict[str, Any]:
    rows = [i for i, e in enumerate(examples) if e.is_risk and e.hazards]
    modelled = set(preds.hazard_codes)
    out: dict[str, Any] = {
        "definition": (
            "share of true risks with gold hazard codes whose predicted hazard set (top code plus codes with "
            f"P ≥ {min_prob:.2f}) contains at least one gold code"
        ),
        "target": HAZARD_ACCURACY_TARGET,
        "evaluated_risks": len(rows),
    }
    if not rows:
        out.update(accuracy=None, accuracy_flagged=None, top1_accuracy=None, coverage=None, per_code={})
        return out
    hits = flagged_hits = top1 = covered = 0
    predicted_sets = {}
    for i in rows:
        gold = set(examples[i].hazards)
        predicted = preds.hazard_set(i, min_prob)
        predicted_sets[i] = set(predicted)
        hit = bool(gold & set(predicted))
        hits += hit
        flagged_hits += hit and bool(flagged[i])
        top1 += bool(predicted) and predicted[0] in gold
        covered += bool(gold & modelled)
    n = len(rows)
    out.update(
        accuracy=hits / n,
        accuracy_flagged=flagged_hits / n,
        top1_accuracy=top1 / n,
        coverage=covered / n,
        meets_target=hits / n >= HAZARD_ACCURACY_TARGET,
    )
    per_code: dict[str, Any] = {}
    codes = sorted({h for i in rows for h in examples[i].hazards} | modelled, key=lambda c: c.value)
    f1s = []
    tp_all = fp_all = fn_all = 0
    for code in codes:
        y = np.array([code in examples[i].hazards for i in rows], dtype=np.int8)
        pred = np.array([code in predicted_sets[i] for i in rows], dtype=np.int8)
        if not y.any() and not pred.any():
            continue  # neither gold nor predicted in this split: nothing to measure
        stats: dict[str, Any] = {**_prf(y, pred), "modelled": code in modelled}
        if code in modelled and _both_classes(y):
            j = preds.hazard_codes.index(code)
            stats["average_precision"] = float(average_precision_score(y, preds.hazard[rows, j]))
        else:
            stats["average_precision"] = None
        per_code[code.value] = stats
        f1s.append(stats["f1"])
        tp_all += int((y & pred).sum())
        fp_all += int(((1 - y) & pred).sum())
        fn_all += int((y & (1 - pred)).sum())
    out["per_code"] = per_code
    out["macro_f1"] = float(np.mean(f1s)) if f1s else None
    out["micro_f1"] = 2 * tp_all / (2 * tp_all + fp_all + fn_all) if tp_all + fp_all + fn_all else None
    return out


def harm_metrics(examples: Sequence[LabelledExample], preds: Predictions, threshold: float) -> dict[str, Any]:
    if preds.harm is None:
        return {"trained": False}
    y = np.array([e.harm_occurred for e in examples], dtype=np.int8)
    pred = (preds.harm >= threshold).astype(np.int8)
    return {
        "trained": True,
        "threshold": threshold,
        **_prf(y, pred),
        "average_precision": float(average_precision_score(y, preds.harm)) if _both_classes(y) else None,
        "brier": float(brier_score_loss(y, preds.harm, pos_label=1)) if len(y) else None,
    }


def measure_speed(model: RiskModel, texts: Sequence[str], *, repeats: int = 1) -> dict[str, Any]:
    """Texts per second of ``model.predict`` on one thread (after a warm-up call on a few texts).

    Each pass starts with no cached word segmentation, so the figure includes cutting the texts into words
    (in the pipeline the segment stage pays that before classify).
    """
    from riskmine.text.tokenize import clear_cache

    if not texts:
        return {"texts": 0, "seconds": 0.0, "texts_per_second": None, "threads": 1}
    seconds = cpu = 0.0
    with threadpool_limits(limits=1):
        model.predict(list(texts[:8]))
        for _ in range(repeats):
            clear_cache()
            t0, c0 = time.perf_counter(), time.process_time()
            model.predict(list(texts))
            seconds, cpu = seconds + time.perf_counter() - t0, cpu + time.process_time() - c0
    total = len(texts) * repeats
    return {
        "texts": total,
        "seconds": round(seconds, 4),
        "texts_per_second": round(total / seconds, 1) if seconds > 0 else None,
        "cpu_seconds": round(cpu, 4),
        "texts_per_cpu_second": round(total / cpu, 1) if cpu > 0 else None,
        "threads": 1,
        "mean_chars": round(float(np.mean([len(t) for t in texts])), 1),
    }


def evaluate_model(model: RiskModel, examples: Sequence[LabelledExample], *, split: str = "dev") -> dict[str, Any]:
    """Every figure of the module docstring for ``examples``, of the served decision
    (:mod:`riskmine.models.decision`: the model, its thresholds per source type and the stated-hazard
    rule); ``risk_model_only`` gives the risk figures of the model's own threshold alone."""
    from riskmine.models.decision import apply_decision, source_thresholds_of

    if not examples:
        raise InsufficientDataError(f"the {split} split is empty; nothing to evaluate")
    texts = [e.text for e in examples]
    stypes = [e.source_type_value for e in examples]
    with threadpool_limits(limits=1):
        raw = model.predict(texts)
    decided = apply_decision(
        raw, texts, stypes, threshold=model.threshold, source_thresholds=source_thresholds_of(model)
    )
    preds, flagged = decided.preds, decided.flagged
    y = np.array([e.is_risk for e in examples], dtype=np.int8)
    lifted = sum(1 for w in decided.why if w.startswith("stated:"))
    return {
        "split": split,
        "examples": len(examples),
        "risks": int(y.sum()),
        "model_version": model.version,
        "evaluated_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "risk": risk_metrics(y, preds.risk, model.threshold, flagged=flagged),
        "risk_model_only": risk_metrics(y, raw.risk, model.threshold, flagged=raw.decisions(model.threshold)),
        "decision": {"lifted_by_stated_hazard": lifted, "source_thresholds": source_thresholds_of(model)},
        "hazards": hazard_metrics(examples, preds, flagged, model.hazard_min_prob),
        "harm": harm_metrics(examples, preds, model.harm_threshold),
        "speed": measure_speed(model, texts),
    }


def _fmt(value: Any, digits: int = 3) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def render_evaluation(metrics: dict[str, Any], console: Console | None = None) -> None:
    """Print the figures of :func:`evaluate_model` as rich tables."""
    console = console or Console()
    risk, hz, harm, speed = metrics["risk"], metrics["hazards"], metrics["harm"], metrics["speed"]
    title = f"{metrics.get('model_version') or 'model'} on {metrics['split']} ({metrics['examples']} texts, "
    title += f"{metrics['risks']} risks)"

    t = Table(title=title)
    for col in ("class", "precision", "recall", "F1", "support"):
        t.add_column(col, justify="left" if col == "class" else "right")
    t.add_row("risk", _fmt(risk["precision"]), _fmt(risk["recall"]), _fmt(risk["f1"]), str(risk["support"]))
    nr = risk["non_risk"]
    t.add_row("non-risk", _fmt(nr["precision"]), _fmt(nr["recall"]), _fmt(nr["f1"]), str(nr["support"]))
    if harm.get("trained"):
        t.add_row(
            "harm occurred", _fmt(harm["precision"]), _fmt(harm["recall"]), _fmt(harm["f1"]), str(harm["support"])
        )
    for code, s in hz.get("per_code", {}).items():
        label = f"hazard {code}" + ("" if s["modelled"] else " (not modelled)")
        t.add_row(label, _fmt(s["precision"]), _fmt(s["recall"]), _fmt(s["f1"]), str(s["support"]))
    console.print(t)

    s = Table(title="summary", show_header=False)
    s.add_column("figure")
    s.add_column("value", justify="right")
    s.add_row("risk threshold", _fmt(risk["threshold"], 4))
    s.add_row("PR-AUC (average precision)", _fmt(risk["average_precision"]))
    s.add_row("ROC-AUC", _fmt(risk["roc_auc"]))
    pk = risk["precision_at_k"]
    s.add_row(f"precision@{pk['k']}", _fmt(pk["value"]))
    s.add_row("Brier score", _fmt(risk["brier"], 4))
    s.add_row(
        f"hazard accuracy (target ≥ {hz['target']:.2f}, {hz['evaluated_risks']} risks)",
        _fmt(hz.get("accuracy")),
    )
    s.add_row("hazard accuracy, flagged risks only", _fmt(hz.get("accuracy_flagged")))
    s.add_row("hazard top-1 accuracy", _fmt(hz.get("top1_accuracy")))
    s.add_row("hazard coverage (gold code modelled)", _fmt(hz.get("coverage")))
    if harm.get("trained"):
        s.add_row("harm PR-AUC", _fmt(harm["average_precision"]))
    s.add_row("speed, texts/s on one thread (wall)", _fmt(speed["texts_per_second"], 1))
    s.add_row("speed, texts per CPU second", _fmt(speed.get("texts_per_cpu_second"), 1))
    console.print(s)

    r = Table(title="reliability (risk score)")
    for col in ("bin", "texts", "mean score", "observed risk rate"):
        r.add_column(col, justify="right")
    for b in risk["reliability"]:
        r.add_row(b["bin"], str(b["count"]), _fmt(b["mean_score"]), _fmt(b["observed"]))
    console.print(r)
