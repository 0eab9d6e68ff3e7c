"""The served decision: the learned model's scores, a threshold per source type, and the stated-hazard rule.

Three parts decide whether a text is a risk, each measured on its own by
``riskmine models evaluate --held-out source``:

1. **The learned model** (baseline or cascade) scores every text.
2. **Thresholds per source type.** Base rates differ by two orders of magnitude between a
   stream of buyer reviews and a stream of recall notices, so one threshold cannot serve both.
   A model carries ``source_thresholds`` (source type → threshold) chosen on out-of-source
   predictions (:mod:`riskmine.models.heldout`); a source type without one uses the model's
   own threshold.
3. **Stated hazards** (:mod:`riskmine.models.stated_hazard`): a text that states a hazard event
   caused by a product, in the hazard sense and not negated, reaches the review band whatever the
   model scored: it is flagged, its score is raised to at least ``REVIEW_FLOOR`` (or its source
   threshold, if higher), its stated hazard codes lead the hazard set, and harm stated in the
   wording sets harm. The spans are the evidence shown to analysts.

Station reports and public reports are risk information by definition (山西省产品质量安全风险
监控工作方案 三.(三)): they are always kept as risks and graded, whatever the model scored.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from riskmine.models.base import Predictions, RiskModel
from riskmine.models.stated_hazard import StatedHazard, stated_hazards_batch
from riskmine.schema import HazardType

# the lowest risk score of a text lifted by a stated hazard: above every served threshold so far,
# and below the scores of texts the model itself is sure of, so those still rank first
REVIEW_FLOOR = 0.5
ALWAYS_RISK_SOURCES = frozenset({"station_report", "public_report"})
RULE_HAZARD_PROBABILITY = 1.0


@dataclass(frozen=True)
class DecisionParts:
    """Which parts of the decision are on (the held-out evaluation switches them one by one)."""

    source_thresholds: bool = True
    rules: bool = True
    always_risk_sources: bool = True
    model: bool = True  # off: rules (and always-risk sources) alone decide, the score is the rule's


FULL = DecisionParts()


@dataclass
class Decided:
    """Predictions after the decision layer, aligned with the texts; ``why`` says what flagged each text."""

    preds: Predictions
    flagged: np.ndarray
    thresholds: np.ndarray
    stated: list[list[StatedHazard]] = field(default_factory=list)
    why: list[str] = field(default_factory=list)


def source_thresholds_of(model: RiskModel) -> dict[str, float]:
    """The model's thresholds per source type (empty for models saved before they existed)."""
    return dict(getattr(model, "source_thresholds", None) or {})


def thresholds_for(source_types: Sequence[str | None], default: float, per_source: dict[str, float]) -> np.ndarray:
    return np.array([per_source.get(s or "", default) for s in source_types], dtype=np.float64)


def _with_codes(preds: Predictions, extra: Sequence[HazardType]) -> Predictions:
    """``preds`` with zero columns added for hazard codes the model has no head for."""
    missing = [c for c in dict.fromkeys(extra) if c not in preds.hazard_codes]
    if not missing:
        return Predictions(preds.risk.copy(), preds.hazard_codes, preds.hazard.copy(), preds.harm, preds.flagged)
    hazard = np.hstack([preds.hazard.reshape(len(preds), -1), np.zeros((len(preds), len(missing)))])
    return Predictions(preds.risk.copy(), (*preds.hazard_codes, *missing), hazard, preds.harm, preds.flagged)


def apply_decision(
    preds: Predictions,
    texts: Sequence[str],
    source_types: Sequence[str | None] | None,
    *,
    threshold: float,
    source_thresholds: dict[str, float] | None = None,
    parts: DecisionParts = FULL,
    stated: list[list[StatedHazard]] | None = None,
) -> Decided:
    """The decision layer over a model's ``preds`` (see the module docstring)."""
    n = len(texts)
    types = list(source_types) if source_types is not None else [None] * n
    per_source = (source_thresholds or {}) if parts.source_thresholds else {}
    thr = thresholds_for(types, threshold, per_source)
    if stated is None:
        stated = stated_hazards_batch(texts, types) if parts.rules else [[] for _ in range(n)]
    out = _with_codes(preds, [c for events in stated for e in events for c in e.hazards])
    if not parts.model:
        out.risk[:] = 0.0
        flagged = np.zeros(n, dtype=bool)
    elif preds.flagged is not None and not per_source:
        flagged = np.asarray(preds.flagged, dtype=bool).copy()  # a cascade's own decisions
    else:
        flagged = out.risk >= thr
    why = ["model" if f else "" for f in flagged]
    harm = None if out.harm is None else out.harm.copy()
    for i, events in enumerate(stated):
        if not (parts.rules and events):
            continue
        if not flagged[i]:
            why[i] = "stated:" + events[0].pattern
        flagged[i] = True
        out.risk[i] = max(out.risk[i], REVIEW_FLOOR, min(thr[i], 0.99))
        for e in events:
            for code in e.hazards:
                out.hazard[i, out.hazard_codes.index(code)] = RULE_HAZARD_PROBABILITY
        if any(e.harm for e in events):
            if harm is None:
                harm = np.zeros(n, dtype=np.float64)
            harm[i] = 1.0
    if parts.always_risk_sources:
        for i, s in enumerate(types):
            if s in ALWAYS_RISK_SOURCES and not flagged[i]:
                flagged[i] = True
                why[i] = f"source:{s}"
    decided = Predictions(out.risk, out.hazard_codes, out.hazard, harm, flagged)
    return Decided(decided, flagged, thr, stated, why)


def decide(
    model: RiskModel,
    texts: Sequence[str],
    source_types: Sequence[str | None] | None = None,
    *,
    parts: DecisionParts = FULL,
) -> Decided:
    """``model.predict(texts)`` followed by :func:`apply_decision` with the model's thresholds."""
    return apply_decision(
        model.predict(texts),
        texts,
        source_types,
        threshold=model.threshold,
        source_thresholds=source_thresholds_of(model),
        parts=parts,
    )
