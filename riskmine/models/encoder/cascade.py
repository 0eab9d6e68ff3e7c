"""The cascade: the cheap baseline decides confident texts, the transformer head decides an uncertain band.

A text whose baseline score lies in ``[low, high)`` goes to the transformer; its cascade score is
``low + (high - low) · p_transformer``, so it keeps its place between the confident texts (rankings stay
monotone) and is flagged when the transformer's own probability reaches the transformer's threshold.
The band is chosen on dev (:func:`choose_band`): among bands sending at most ``max_share`` of the texts to
the transformer, the one with the best cascade F1. Implements :class:`riskmine.models.base.RiskModel`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from sklearn.metrics import f1_score

from riskmine.models.base import Predictions, RiskModel

if TYPE_CHECKING:
    from riskmine.settings import Settings

MODEL_NAME = "risk-cascade"


@dataclass(frozen=True)
class Band:
    low: float
    high: float
    share: float  # of the dev texts routed to the transformer
    dev_f1: float

    def contains(self, scores: np.ndarray) -> np.ndarray:
        return (scores >= self.low) & (scores < self.high)


def combine(base: np.ndarray, band: Band, routed: np.ndarray, transformer: np.ndarray) -> np.ndarray:
    """Cascade scores: baseline outside the band, the band rescaled by the transformer's probability inside."""
    out = base.astype(np.float64).copy()
    out[routed] = band.low + (band.high - band.low) * transformer
    return out


def decide(
    base: np.ndarray, base_threshold: float, band: Band, routed: np.ndarray, transformer: np.ndarray, t_threshold: float
) -> np.ndarray:
    flagged = base >= base_threshold
    flagged[routed] = transformer >= t_threshold
    return flagged


def choose_band(
    y: np.ndarray,
    base: np.ndarray,
    base_threshold: float,
    transformer: np.ndarray,
    t_threshold: float,
    max_share: float = 0.10,
) -> Band:
    """The band (bounds midway between sorted dev scores) of at most ``max_share`` texts maximising cascade F1.

    ``transformer`` holds the transformer's probability for every dev text (only band members are used).
    """
    n = len(base)
    if n == 0:
        raise ValueError("choose_band needs dev texts")
    order = np.argsort(base, kind="stable")
    s = base[order]
    edges = np.concatenate([[-np.inf], (s[:-1] + s[1:]) / 2, [np.inf]])  # edges[i]: between s[i-1] and s[i]
    k_max = int(np.floor(max_share * n))
    best = Band(base_threshold, base_threshold, 0.0, float(f1_score(y, base >= base_threshold, zero_division=0)))
    for k in range(1, k_max + 1):
        for i in range(0, n - k + 1):
            low, high = edges[i], edges[i + k]
            if not (low <= base_threshold <= high):
                continue  # a band away from the threshold cannot change a decision that matters less
            routed = (base >= low) & (base < high)
            pred = decide(base, base_threshold, best, routed, transformer[routed], t_threshold)
            f1 = float(f1_score(y, pred, zero_division=0))
            if f1 > best.dev_f1 + 1e-12:
                lo = float(max(low, 0.0))
                hi = float(min(high, 1.0))
                best = Band(lo, hi, float(routed.mean()), f1)
    return best


class CascadeModel:
    """baseline + transformer head + band. ``predict`` runs the transformer on band texts only."""

    name = MODEL_NAME

    def __init__(self, baseline: RiskModel, transformer: RiskModel, band: Band) -> None:
        self.baseline, self.transformer, self.band = baseline, transformer, band
        self.version = f"{baseline.version}+{transformer.version}"
        self.threshold = baseline.threshold
        self.hazard_min_prob = baseline.hazard_min_prob
        self.harm_threshold = baseline.harm_threshold
        self.last_routed = 0

    def _route(self, texts: Sequence[str]) -> tuple[Predictions, np.ndarray, np.ndarray, np.ndarray]:
        preds = self.baseline.predict(texts)
        routed = self.band.contains(preds.risk)
        self.last_routed = int(routed.sum())
        t_scores = self.transformer.score_texts([t for t, r in zip(texts, routed, strict=True) if r])
        risk = combine(preds.risk, self.band, routed, t_scores)
        flagged = decide(preds.risk, self.baseline.threshold, self.band, routed, t_scores, self.transformer.threshold)
        return preds, routed, risk, flagged

    def flags(self, texts: Sequence[str]) -> np.ndarray:
        return self._route(texts)[3]

    def score_texts(self, texts: Sequence[str]) -> np.ndarray:
        return self._route(texts)[2]

    def predict(self, texts: Sequence[str]) -> Predictions:
        """Baseline hazards and harm; the risk score of band texts from the transformer.

        The risk score is calibrated only outside the band; the decisions are in ``flagged`` (the transformer's
        threshold decides band texts, which ``risk >= threshold`` reproduces only approximately).
        """
        preds, _, risk, flagged = self._route(texts)
        return Predictions(risk, preds.hazard_codes, preds.hazard, preds.harm, flagged=flagged)

    def warm_up(self) -> None:
        """Load what the first batch would otherwise wait for: jieba's dictionary and the encoder."""
        self.baseline.score_texts(["预热：加载分词词典"])
        self.transformer.score_texts(["预热：加载编码器"])

    def bind(self, settings: Settings | None) -> None:
        """Pass the settings a saved cascade was loaded with to the transformer (it loads its encoder from them)."""
        bind = getattr(self.transformer, "bind", None)
        if callable(bind):
            bind(settings)

    def locate(self, folder: Path | None) -> None:
        """The registry's version folder (the transformer's ONNX export lies in it)."""
        locate = getattr(self.transformer, "locate", None)
        if callable(locate):
            locate(folder)

    def write_artifacts(self, folder: Path) -> dict[str, Any]:
        """Files saved beside the pickle in the version folder: the transformer's ONNX export, if it makes one."""
        write = getattr(self.transformer, "write_artifacts", None)
        return dict(write(folder)) if callable(write) else {}

    def info(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "threshold": self.threshold,
            "transformer_threshold": self.transformer.threshold,
            "band": {"low": self.band.low, "high": self.band.high, "dev_share": self.band.share},
            "baseline": self.baseline.info(),
            "transformer": self.transformer.info(),
        }
