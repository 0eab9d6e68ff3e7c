"""Generalisation to sources never trained on: leave-one-source-out evaluation and thresholds per source type.

A test split drawn from the same sources as training measures memory of those sources. The figure
that stands for "text it has never seen" is **leave-one-source-out** (LOSO): for each source group
(a data set of the corpus: one review site, one news feed, one forum …), train on every other
group and test on this one. Synthetic texts are never a test group; they train every fold.

Nothing of the held-out group is used to decide anything about it: its texts are scored by a
model that never saw its source, and the thresholds applied to it (the model's own, and the one
per source type) are chosen on the out-of-source scores of the *other* groups only.

The same out-of-source scores choose the served model's thresholds per source type
(:func:`choose_source_thresholds`), which is what "chosen on held-out data" means for them.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from rich.console import Console
from rich.table import Table
from sklearn.metrics import precision_recall_fscore_support
from threadpoolctl import threadpool_limits

from riskmine.models.base import Predictions, RiskModel
from riskmine.models.baseline import BaselineConfig, BaselineRiskModel, choose_threshold
from riskmine.models.corpus import SYNTHETIC_GROUP, LabelledExample
from riskmine.models.decision import DecisionParts, apply_decision
from riskmine.models.evaluate import hazard_metrics, precision_at_k
from riskmine.models.stated_hazard import stated_hazards_batch

MIN_PER_CLASS = 5  # risks and non-risks a source type needs among the other groups for a threshold of its own
# source groups a source type needs for a threshold of its own: with one, the threshold fits that one source's
# base rate, not the type's (decided before any held-out figure of the full corpus was seen)
MIN_GROUPS = 2

# the decision variants of the held-out table, each adding one part
VARIANTS: dict[str, DecisionParts] = {
    "model": DecisionParts(source_thresholds=False, rules=False, always_risk_sources=False),
    "model + source thresholds": DecisionParts(rules=False, always_risk_sources=False),
    "rules alone": DecisionParts(model=False),
    "model + rules (served)": DecisionParts(source_thresholds=False),
    "model + source thresholds + rules": DecisionParts(),
}
# the served decision: thresholds per source type are opt-in (models train --source-thresholds) because they did
# not help on held-out sources
SERVED = "model + rules (served)"


def group_of(example: LabelledExample) -> str:
    """The source group of an example (synthetic texts form their own, never tested, group)."""
    return example.source_group


@dataclass
class OutOfSource:
    """Scores of every example by a model that never saw its group, with the fold models' thresholds."""

    examples: list[LabelledExample]
    groups: list[str]
    preds: Predictions
    seconds: float

    def mask(self, group: str) -> np.ndarray:
        return np.array([g == group for g in self.groups], dtype=bool)


def _concat(parts: list[tuple[np.ndarray, Predictions]], n: int) -> Predictions:
    """One Predictions for all n examples from per-fold predictions (hazard columns united by code)."""
    codes: list[Any] = []
    for _, p in parts:
        codes.extend(c for c in p.hazard_codes if c not in codes)
    risk = np.zeros(n)
    hazard = np.zeros((n, len(codes)))
    harm = np.zeros(n)
    for idx, p in parts:
        risk[idx] = p.risk
        for j, c in enumerate(p.hazard_codes):
            hazard[idx, codes.index(c)] = p.hazard[:, j]
        if p.harm is not None:
            harm[idx] = p.harm
    return Predictions(risk, tuple(codes), hazard, harm)


FoldFit = Callable[[list[LabelledExample]], RiskModel]


def train_dev_split(examples: Sequence[LabelledExample]) -> tuple[list[LabelledExample], list[LabelledExample]]:
    """A fold's texts as a served model uses them: (train and test splits to train on, the dev split)."""
    return [e for e in examples if e.split != "dev"], [e for e in examples if e.split == "dev"]


def fit_on_train_split(examples: list[LabelledExample]) -> BaselineRiskModel:
    """A fold model as a served one is trained: the baseline on the train and test splits, its threshold on dev.

    The cascade's folds are trained so (:func:`riskmine.models.encoder.training.cascade_fold_fit`), and this is the
    baseline to compare them with.
    """
    return BaselineRiskModel().fit(*train_dev_split(examples))


def out_of_source_predictions(
    examples: Sequence[LabelledExample],
    folds: Sequence[Sequence[str]] | None = None,
    config: BaselineConfig | None = None,
    progress: Callable[[str], None] | None = None,
    fit: FoldFit | None = None,
) -> OutOfSource:
    """Train a model once per fold of source groups (default: one fold per group) and score that fold.

    The model is the baseline on every text of the other groups, or what ``fit`` returns for them.
    """
    examples = list(examples)
    groups = [group_of(e) for e in examples]
    testable = sorted({g for g in groups if g != SYNTHETIC_GROUP})
    folds = [list(f) for f in folds] if folds is not None else [[g] for g in testable]
    t0 = time.perf_counter()
    parts: list[tuple[np.ndarray, Predictions]] = []
    for k, fold in enumerate(folds, start=1):
        held = set(fold)
        idx = np.array([i for i, g in enumerate(groups) if g in held], dtype=np.int64)
        if idx.size == 0:
            continue
        train = [e for e, g in zip(examples, groups, strict=True) if g not in held]
        if progress:
            progress(f"fold {k}/{len(folds)}: training without {', '.join(sorted(held))} ({len(train)} texts)")
        model = fit(train) if fit else BaselineRiskModel(config).fit(train, (), choose_risk_threshold=False)
        with threadpool_limits(limits=1):
            parts.append((idx, model.predict([examples[i].text for i in idx])))
    return OutOfSource(examples, groups, _concat(parts, len(examples)), time.perf_counter() - t0)


def choose_source_thresholds(
    y: np.ndarray,
    scores: np.ndarray,
    source_types: Sequence[str | None],
    groups: Sequence[str],
    min_per_class: int = MIN_PER_CLASS,
    min_groups: int = MIN_GROUPS,
) -> tuple[float, dict[str, float], dict[str, str]]:
    """The overall threshold and one per source type (max F1 on these scores); notes say how each was chosen.

    A source type with fewer than ``min_per_class`` risks or non-risks, or from fewer than
    ``min_groups`` source groups, gets none (the overall one applies).
    """
    overall, how = choose_threshold(y, scores, "max_f1")
    per: dict[str, float] = {}
    notes = {"*": how}
    types = np.array([s or "" for s in source_types])
    group_arr = np.array(list(groups))
    for s in sorted(set(types) - {""}):
        m = types == s
        pos = int(y[m].sum())
        n_groups = len(set(group_arr[m]))
        if pos < min_per_class or int(m.sum()) - pos < min_per_class or n_groups < min_groups:
            notes[s] = (
                f"{pos} risks of {int(m.sum())} from {n_groups} source group(s): too few, the overall threshold applies"
            )
            continue
        per[s], notes[s] = choose_threshold(y[m], scores[m], "max_f1")
    return overall, per, notes


def _figures(examples: list[LabelledExample], preds: Predictions, flagged: np.ndarray) -> dict[str, Any]:
    y = np.array([e.is_risk for e in examples], dtype=np.int8)
    pred = flagged.astype(np.int8)
    p, r, f, _ = precision_recall_fscore_support(y, pred, average="binary", zero_division=0)
    macro = precision_recall_fscore_support(y, pred, average="macro", zero_division=0)[2]
    harm = np.array([e.harm_occurred and e.is_risk for e in examples], dtype=bool)
    hz = hazard_metrics(examples, preds, flagged, 0.5)
    return {
        "texts": len(examples),
        "risks": int(y.sum()),
        "precision": float(p),
        "recall": float(r),
        "f1": float(f),
        "macro_f1": float(macro),
        "harm_texts": int(harm.sum()),
        "harm_recall": float(flagged[harm].mean()) if harm.any() else None,
        "precision_at_50": precision_at_k(y, preds.risk, 50),
        # the hazard code is right (the predicted set holds a gold code) for this share of true risks
        "hazard_accuracy": hz.get("accuracy"),
        "hazard_accuracy_flagged": hz.get("accuracy_flagged"),
        "flagged": int(pred.sum()),
    }


def held_out_table(
    oos: OutOfSource, variants: dict[str, DecisionParts] | None = None, splits: Sequence[str] | None = None
) -> dict[str, Any]:
    """Figures per held-out group and variant; thresholds for a group come from the other groups' scores.

    ``splits`` limits the figures to the held-out group's texts in those splits (``("dev", "test")``: the texts
    that no rule or feature was developed on); the models and thresholds are the same.
    """
    variants = variants or VARIANTS
    y = np.array([e.is_risk for e in oos.examples], dtype=np.int8)
    stypes = [e.source_type_value for e in oos.examples]
    texts = [e.text for e in oos.examples]
    stated = stated_hazards_batch(texts, stypes)
    testable = sorted({g for g in oos.groups if g != SYNTHETIC_GROUP})
    rows: dict[str, dict[str, Any]] = {}
    in_splits = np.array([splits is None or e.split in splits for e in oos.examples], dtype=bool)
    for group in testable:
        m = oos.mask(group)
        others = ~m & np.array([g != SYNTHETIC_GROUP for g in oos.groups])
        m = m & in_splits
        if not m.any():
            continue
        overall, per, _ = choose_source_thresholds(
            y[others],
            oos.preds.risk[others],
            [s for s, o in zip(stypes, others, strict=True) if o],
            [g for g, o in zip(oos.groups, others, strict=True) if o],
        )
        idx = np.flatnonzero(m)
        sub = [oos.examples[i] for i in idx]
        harm = None if oos.preds.harm is None else oos.preds.harm[idx]
        sub_preds = Predictions(oos.preds.risk[idx], oos.preds.hazard_codes, oos.preds.hazard[idx], harm)
        rows[group] = {"thresholds": {"*": overall, **per}}
        for name, parts in variants.items():
            d = apply_decision(
                sub_preds,
                [texts[i] for i in idx],
                [stypes[i] for i in idx],
                threshold=overall,
                source_thresholds=per,
                parts=parts,
                stated=[stated[i] for i in idx] if parts.rules else [[] for _ in idx],
            )
            rows[group][name] = _figures(sub, d.preds, d.flagged)
    summary: dict[str, Any] = {}
    for name in variants:
        vals: dict[str, list[float]] = defaultdict(list)
        for group in rows:
            fig = rows[group][name]
            for key in ("f1", "macro_f1", "precision", "recall", "hazard_accuracy"):
                if fig[key] is not None and fig["risks"] > 0:
                    vals[key].append(fig[key])
            if fig["harm_recall"] is not None:
                vals["harm_recall_weighted"].extend([fig["harm_recall"]] * fig["harm_texts"])
            if fig["risks"] >= 50:
                vals["precision_at_50"].append(fig["precision_at_50"]["value"])
        summary[name] = {k: float(np.mean(v)) if v else None for k, v in vals.items()}
        summary[name]["groups"] = len(rows)
    return {
        "groups": rows,
        "summary": summary,
        "splits": list(splits) if splits is not None else ["train", "dev", "test"],
        "seconds_training": round(oos.seconds, 1),
    }


def _f(value: Any) -> str:
    if value is None:
        return "–"
    return f"{value:.3f}" if isinstance(value, float) else str(value)


def render_held_out(table: dict[str, Any], console: Console | None = None, variant: str = SERVED) -> None:
    """Print the per-source table of the served decision and the summary of every variant."""
    console = console or Console()
    t = Table(title=f"leave-one-source-out: {variant}; texts of the held-out source in {'+'.join(table['splits'])}")
    for col in ("held-out source", "texts", "risks", "P", "R", "F1", "macro F1", "harm R (n)", "P@50", "hazard acc."):
        t.add_column(col, justify="left" if col == "held-out source" else "right")
    for group, row in table["groups"].items():
        fig = row[variant]
        pk = fig["precision_at_50"]
        t.add_row(
            group,
            str(fig["texts"]),
            str(fig["risks"]),
            _f(fig["precision"]),
            _f(fig["recall"]),
            _f(fig["f1"]),
            _f(fig["macro_f1"]),
            f"{_f(fig['harm_recall'])} ({fig['harm_texts']})",
            f"{_f(pk['value'])}" + ("" if pk["k"] == 50 else f" @{pk['k']}"),
            _f(fig["hazard_accuracy"]),
        )
    console.print(t)
    s = Table(
        title="averages over held-out sources (P@50 over sources with ≥ 50 risks; harm recall over all harm texts)"
    )
    for col in ("decision", "F1", "macro F1", "P", "R", "harm R", "P@50", "hazard acc."):
        s.add_column(col, justify="left" if col == "decision" else "right")
    for name, fig in table["summary"].items():
        s.add_row(
            name,
            _f(fig.get("f1")),
            _f(fig.get("macro_f1")),
            _f(fig.get("precision")),
            _f(fig.get("recall")),
            _f(fig.get("harm_recall_weighted")),
            _f(fig.get("precision_at_50")),
            _f(fig.get("hazard_accuracy")),
        )
    console.print(s)


def source_group_folds(examples: Sequence[LabelledExample], k: int) -> list[list[str]]:
    """Up to ``k`` folds of whole source groups, balanced by size (largest groups placed first)."""
    sizes: dict[str, int] = defaultdict(int)
    for e in examples:
        if (g := group_of(e)) != SYNTHETIC_GROUP:
            sizes[g] += 1
    folds: list[list[str]] = [[] for _ in range(min(k, len(sizes)))]
    load = [0] * len(folds)
    for g in sorted(sizes, key=lambda g: (-sizes[g], g)):
        j = int(np.argmin(load))
        folds[j].append(g)
        load[j] += sizes[g]
    return [f for f in folds if f]


def fit_source_thresholds(
    model: BaselineRiskModel,
    examples: Sequence[LabelledExample],
    *,
    folds: int = 5,
    config: BaselineConfig | None = None,
) -> dict[str, float]:
    """Set ``model.source_thresholds`` from out-of-source scores of ``examples`` (train and dev, never test).

    The examples are split into ``folds`` folds of whole source groups; each fold is scored by a
    baseline trained on the others; the thresholds per source type are the max-F1 ones on those
    scores. With fewer than two source groups nothing is set.
    """
    fold_groups = source_group_folds(examples, folds)
    if len(fold_groups) < 2:
        model.source_thresholds, model.source_threshold_notes = {}, {"*": "fewer than two source groups"}
        return {}
    oos = out_of_source_predictions(examples, fold_groups, config or model.config)
    keep = np.array([g != SYNTHETIC_GROUP for g in oos.groups], dtype=bool)
    y = np.array([e.is_risk for e in oos.examples], dtype=np.int8)[keep]
    stypes = [e.source_type_value for e, k in zip(oos.examples, keep, strict=True) if k]
    groups = [g for g in oos.groups if g != SYNTHETIC_GROUP]
    _, per, notes = choose_source_thresholds(y, oos.preds.risk[keep], stypes, groups)
    notes["*"] = f"out-of-source scores of {int(keep.sum())} texts in {len(fold_groups)} folds of source groups"
    model.source_thresholds, model.source_threshold_notes = per, notes
    return per
