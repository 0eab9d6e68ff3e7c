"""What a risk model offers the classify stage: batch predictions behind one Protocol.

The baseline implements it; a later cascade (the baseline deciding the confident
cases and a transformer the uncertain band) implements the same Protocol, so the
classify stage need not change. ``score_texts`` is the seam: risk probabilities
for a batch in one vectorised call.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

import numpy as np

from riskmine.schema import HazardType


@dataclass
class Predictions:
    """Model outputs for a batch of n texts.

    ``risk``: calibrated P(is_risk) per text, shape (n,).
    ``hazard``: P(hazard code | text is a risk) per modelled code, shape (n, len(hazard_codes)).
    ``harm``: calibrated P(harm occurred) per text, shape (n,), or None when the model has no harm head.
    ``flagged``: the model's own is_risk decisions, shape (n,), when they are not simply
    ``risk >= threshold`` (a cascade whose band texts are decided by the transformer's threshold);
    None means ``risk >= threshold``.
    """

    risk: np.ndarray
    hazard_codes: tuple[HazardType, ...]
    hazard: np.ndarray
    harm: np.ndarray | None = None
    flagged: np.ndarray | None = None

    def decisions(self, threshold: float) -> np.ndarray:
        """is_risk per text: ``flagged`` when the model gave it, else ``risk >= threshold``."""
        if self.flagged is not None:
            return np.asarray(self.flagged, dtype=bool)
        return np.asarray(self.risk >= threshold, dtype=bool)

    def __len__(self) -> int:
        return int(self.risk.shape[0])

    def top_hazard(self, i: int) -> tuple[HazardType, float] | None:
        """The most probable hazard code of text ``i`` and its probability (None: no hazard head)."""
        if not self.hazard_codes:
            return None
        j = int(np.argmax(self.hazard[i]))
        return self.hazard_codes[j], float(self.hazard[i, j])

    def hazard_set(self, i: int, min_prob: float = 0.5) -> list[HazardType]:
        """The predicted hazard set of text ``i``: its top code plus every code with probability ≥ min_prob.

        Ordered by probability, highest first.
        """
        if not self.hazard_codes:
            return []
        row = self.hazard[i]
        order = np.argsort(-row, kind="stable")
        return [self.hazard_codes[int(j)] for rank, j in enumerate(order) if rank == 0 or row[j] >= min_prob]


@runtime_checkable
class RiskModel(Protocol):
    """A trained risk model as the classify stage sees it."""

    name: str
    version: str
    threshold: float
    hazard_min_prob: float
    harm_threshold: float

    def predict(self, texts: Sequence[str]) -> Predictions: ...

    def score_texts(self, texts: Sequence[str]) -> np.ndarray: ...

    def info(self) -> dict[str, Any]: ...
