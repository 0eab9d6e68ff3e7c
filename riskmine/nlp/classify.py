"""The classify stage: the risk model scores every signal of a batch in one vectorised call.

It reads the text (``normalized_text``, else the document's title and text), sets
``is_risk`` and ``risk_score`` (calibrated probability), records the model version
in ``model_versions["risk"]``, and completes the tagger's work:

* ``predicted_hazards``: the model's hazard set for a text flagged as a risk (the top
  code plus any above the model's ``hazard_min_prob``). ``hazards`` keeps the tagger's
  text mentions only; :attr:`Signal.hazard_codes` falls back to the predicted set when
  the text names no hazard in its hazard sense.
* ``harm_occurred``: stays true when the tagger set it; a risk the model thinks
  reports harm (P ≥ its ``harm_threshold``) is set true too.

The decision is the served one (:mod:`riskmine.models.decision`): the model's threshold per
source type, then the stated-hazard rule, which flags a text stating a product hazard event
(外机漏电, 行驶中熄火 …) and adds its wording to ``evidence``; station and public reports are
always kept as risks (Shanxi 三.(三)), whatever the score.

The model is any :class:`riskmine.models.base.RiskModel`: ``ctx.extras["risk_model"]``
when given (tests), else the serving version of the registry (RISKMINE_RISK_MODEL: the
cascade once `riskmine models train --cascade` has made one, else the baseline, which is
trained from the bundled corpus on first use).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import numpy as np

from riskmine.models.base import Predictions, RiskModel
from riskmine.models.decision import apply_decision, source_thresholds_of
from riskmine.nlp.base import StageContext, stage
from riskmine.schema import Signal, Span

log = logging.getLogger(__name__)

MODEL_KEY = "risk"


def signal_text(sig: Signal) -> str:
    """What the model reads: the normalised text, else the document's title and text."""
    if sig.normalized_text.strip():
        return sig.normalized_text
    doc = sig.document
    return "\n".join(part for part in (doc.title, doc.text) if part and part.strip())


def _resolve_model(ctx: StageContext, train_if_missing: bool) -> RiskModel:
    preloaded = ctx.extras.get("risk_model") if ctx.extras else None
    if preloaded is not None:
        if not isinstance(preloaded, RiskModel):
            raise TypeError(f"ctx.extras['risk_model'] is a {type(preloaded).__name__}, not a risk model")
        return preloaded
    from riskmine.models.registry import ensure_model, load_serving

    if train_if_missing:
        ensure_model(ctx.settings)
    return load_serving(ctx.settings)


class ClassifyStage:
    """Scores batches with ``model``; ``threshold`` overrides the model's own."""

    def __init__(self, model: RiskModel, threshold: float | None = None) -> None:
        if threshold is not None and not 0.0 <= threshold <= 1.0:
            raise ValueError(f"classify: threshold must lie in [0, 1], got {threshold}")
        self.model = model
        self.override = threshold is not None
        self.threshold = model.threshold if threshold is None else float(threshold)
        self.version_label = f"{model.name}@{model.version or 'unsaved'}"

    def score_texts(self, texts: Sequence[str]) -> np.ndarray:
        """The seam for a cascade: calibrated P(is_risk) for a batch of texts."""
        return self.model.score_texts(texts)

    def predict(self, texts: Sequence[str]) -> Predictions:
        return self.model.predict(texts)

    def __call__(self, batch: list[Signal]) -> list[Signal]:
        if not batch:
            return batch
        texts = [signal_text(s) for s in batch]
        raw = self.predict(texts)
        if self.override:  # the stage's threshold for every text, not a cascade's own decisions
            raw.flagged = None
        decided = apply_decision(
            raw,
            texts,
            [s.document.source_type.value for s in batch],
            threshold=self.threshold,
            source_thresholds={} if self.override else source_thresholds_of(self.model),
        )
        for i, sig in enumerate(batch):
            self._apply(sig, decided.preds, i, bool(decided.flagged[i]))
            if decided.stated[i] and sig.normalized_text.strip():
                # the wording that made the decision, unless a sentence span of the tagger already holds it
                sig.evidence.extend(
                    Span(start=e.start, end=e.end, text=e.text)
                    for e in decided.stated[i]
                    if not any(ev.start <= e.start and e.end <= ev.end for ev in sig.evidence)
                )
        return batch

    def _apply(self, sig: Signal, preds: Predictions, i: int, flagged: bool) -> None:
        sig.risk_score = float(preds.risk[i])
        sig.is_risk = flagged
        sig.model_versions[MODEL_KEY] = self.version_label
        sig.predicted_hazards = preds.hazard_set(i, self.model.hazard_min_prob) if sig.is_risk else []
        if sig.is_risk and not sig.harm_occurred and preds.harm is not None:
            sig.harm_occurred = bool(preds.harm[i] >= self.model.harm_threshold)


@stage(
    "classify",
    reads=["normalized_text", "document", "hazards", "harm_occurred", "evidence"],
    writes=["is_risk", "risk_score", "predicted_hazards", "harm_occurred", "model_versions", "evidence"],
)
def make_classify(ctx: StageContext, *, threshold: float | None = None, train_if_missing: bool = False) -> Any:
    """Risk model: is_risk and risk_score per signal, model hazards for risks the tagger found none in.

    threshold: decision threshold on the risk score (default: the model's, chosen on dev).
    train_if_missing: train the baseline from the bundled corpus when no model is saved yet (off: building a
    pipeline never trains as a side effect; `riskmine models train` and `riskmine demo` train explicitly).
    """
    model = _resolve_model(ctx, train_if_missing)
    log.info("classify: %s, threshold %.4f", f"{model.name}@{model.version}", model.threshold)
    classifier = ClassifyStage(model, threshold)
    warm_up = getattr(model, "warm_up", None)  # a cascade also loads its encoder
    if callable(warm_up):
        warm_up()
    else:
        classifier.score_texts(["预热：加载分词词典"])  # warm-up: loads jieba's dictionary now, not on the first batch
    return classifier
