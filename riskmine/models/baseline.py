"""The scikit-learn baseline: TF-IDF features and calibrated linear SVMs for risk, hazards and harm.

* Features: character 1-3-grams + word 1-2-grams, TF-IDF with sublinear tf, and
  hazard-sense indicators (a lexicon hazard term in its hazard sense, ruled out by a
  collocation or negation, or hypothetical; harm asserted or negated; the same per term
  and per product group) from the tag and disambiguate stages' lexicons and rules
  (:mod:`riskmine.models.features`), fitted once on the training texts and shared by
  every head. The indicators raised the risk head's 5-fold cross-validated PR-AUC over
  train+dev from 0.922 to 0.934 and its best F1 from 0.844 to 0.869
  (``scripts/corpus/baseline_dev_report.py --cv``).
* Heads: each a ``LinearSVC`` with ``class_weight="balanced"`` (the positive class
  is rare) inside ``CalibratedClassifierCV`` (Platt scaling on out-of-fold decision
  values, so the probabilities are calibrated to the real class balance).

  - ``is_risk``: binary, over all training texts;
  - hazards: one-vs-rest, one head per hazard code with at least
    ``min_hazard_examples`` positive and negative examples, trained on the risk
    texts that carry hazard labels, so a head gives P(code | text is a risk);
  - ``harm_occurred``: binary over all training texts, when it has enough positives.

* Threshold for ``is_risk``: chosen on the dev split. The default rule,
  ``max_f1``, takes the score that maximises F1 on dev; ``min_precision`` takes
  the lowest score whose dev precision is at least ``min_precision`` (the most
  recall at that precision). With fewer than 3 positives or negatives in dev the
  threshold is chosen on out-of-fold predictions over train instead. The
  threshold and the way it was chosen are saved with the model.
"""

from __future__ import annotations

import platform
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

import numpy as np
import scipy.sparse as sp
import sklearn
from scipy.special import expit
from sklearn.base import clone
from sklearn.calibration import CalibratedClassifierCV
from sklearn.metrics import precision_recall_curve
from sklearn.model_selection import StratifiedKFold, cross_val_predict
from sklearn.pipeline import FeatureUnion
from sklearn.svm import LinearSVC

from riskmine.models.base import Predictions
from riskmine.models.corpus import InsufficientDataError, LabelledExample
from riskmine.models.features import FeatureConfig, build_features, transform
from riskmine.schema import HazardType

MODEL_NAME = "risk-baseline"
ThresholdRule = Literal["max_f1", "min_precision"]
MIN_DEV_PER_CLASS = 3


@dataclass(frozen=True)
class BaselineConfig:
    features: FeatureConfig = field(default_factory=FeatureConfig)
    C: float = 0.5
    cv: int = 3
    min_class_examples: int = 5
    min_hazard_examples: int = 5
    threshold_rule: ThresholdRule = "max_f1"
    min_precision: float = 0.9
    hazard_min_prob: float = 0.5
    harm_threshold: float = 0.5
    random_state: int = 0


def _calibrated_svm(y: np.ndarray, config: BaselineConfig) -> CalibratedClassifierCV:
    minority = int(min(y.sum(), len(y) - y.sum()))
    folds = max(2, min(config.cv, minority))
    svm = LinearSVC(C=config.C, class_weight="balanced", random_state=config.random_state)
    cv = StratifiedKFold(n_splits=folds, shuffle=True, random_state=config.random_state)
    return CalibratedClassifierCV(svm, method="sigmoid", cv=cv, ensemble=False)


def _fit_head(X: sp.spmatrix, y: np.ndarray, config: BaselineConfig) -> CalibratedClassifierCV:
    clf = _calibrated_svm(y, config)
    clf.fit(X, y)
    for calibrated in clf.calibrated_classifiers_:
        # features absent from a head's training texts get weight 0: store the weights sparse
        calibrated.estimator.sparsify()
    return clf


def _positive_proba(clf: CalibratedClassifierCV, X: sp.spmatrix) -> np.ndarray:
    return np.asarray(clf.predict_proba(X)[:, 1], dtype=np.float64)


@dataclass(frozen=True)
class FusedHeads:
    """Several calibrated binary heads as one sparse product: P = expit(-(a * (X @ W + c) + b)) per head.

    A ``CalibratedClassifierCV(method="sigmoid", ensemble=False)`` over a linear SVM answers exactly this for its
    positive class (its one estimator's decision value, Platt-scaled); scikit-learn computes it head by head with
    its input checks on every call, which cost more than the arithmetic. ``tests/models/test_baseline.py`` pins
    the fused probabilities to scikit-learn's.
    """

    weights: sp.csr_matrix  # features x heads, CSR: the form the product takes (a CSC one is converted per call)
    intercepts: np.ndarray  # c, one per head
    a: np.ndarray
    b: np.ndarray

    def proba(self, X: sp.spmatrix) -> np.ndarray:
        """P(positive) of every head for every row of X (rows x heads)."""
        decision = np.asarray((X @ self.weights).toarray(), dtype=np.float64) + self.intercepts
        return np.asarray(expit(-(self.a * decision + self.b)), dtype=np.float64)


def fuse_heads(heads: Sequence[CalibratedClassifierCV]) -> FusedHeads | None:
    """The heads as one :class:`FusedHeads`; None when one is not a single sigmoid-calibrated binary linear head."""
    columns: list[sp.csr_matrix] = []
    intercepts: list[float] = []
    a: list[float] = []
    b: list[float] = []
    for clf in heads:
        calibrated = getattr(clf, "calibrated_classifiers_", [])
        if clf.method != "sigmoid" or len(calibrated) != 1 or len(calibrated[0].classes) != 2:
            return None
        estimator, (calibrator,) = calibrated[0].estimator, calibrated[0].calibrators
        if not hasattr(estimator, "coef_") or np.ndim(estimator.intercept_) != 1:
            return None
        columns.append(sp.csr_matrix(estimator.coef_))
        intercepts.append(float(estimator.intercept_[0]))
        a.append(float(calibrator.a_))
        b.append(float(calibrator.b_))
    if not columns:
        return None
    return FusedHeads(sp.vstack(columns).T.tocsr(), np.array(intercepts), np.array(a), np.array(b))


def choose_threshold(
    y: np.ndarray, scores: np.ndarray, rule: ThresholdRule = "max_f1", min_precision: float = 0.9
) -> tuple[float, str]:
    """The decision threshold on ``scores`` by ``rule``, and a sentence saying how it was chosen.

    The threshold is placed midway between the chosen score and the next lower
    score, so the figures on these scores are unchanged and a new text scored just
    under the lowest flagged one is not lost to the exact boundary.
    """
    t, how = _pick_threshold(y, scores, rule, min_precision)
    below = scores[scores < t]
    return (float((t + below.max()) / 2) if below.size else t), how


def _pick_threshold(y: np.ndarray, scores: np.ndarray, rule: ThresholdRule, min_precision: float) -> tuple[float, str]:
    precision, recall, thresholds = precision_recall_curve(y, scores)
    precision, recall = precision[:-1], recall[:-1]  # the last point has no threshold
    with np.errstate(divide="ignore", invalid="ignore"):
        f1 = np.where(precision + recall > 0, 2 * precision * recall / (precision + recall), 0.0)
    if rule == "min_precision":
        ok = np.flatnonzero(precision >= min_precision)
        if ok.size:
            i = int(ok[np.argmax(recall[ok])])
            return float(thresholds[i]), (
                f"lowest score with precision ≥ {min_precision:.2f} "
                f"(precision {precision[i]:.3f}, recall {recall[i]:.3f})"
            )
        i = int(np.argmax(f1))
        return float(thresholds[i]), (
            f"no score reaches precision {min_precision:.2f}; fell back to maximum F1 ({f1[i]:.3f})"
        )
    i = int(np.argmax(f1))
    return float(thresholds[i]), f"maximum F1 ({f1[i]:.3f}; precision {precision[i]:.3f}, recall {recall[i]:.3f})"


class BaselineRiskModel:
    """TF-IDF + calibrated linear heads; see the module docstring. Implements :class:`RiskModel`."""

    name = MODEL_NAME

    def __init__(self, config: BaselineConfig | None = None) -> None:
        self.config = config or BaselineConfig()
        self.version = ""
        self.threshold = 0.5
        self.threshold_note = "not fitted"
        self.hazard_min_prob = self.config.hazard_min_prob
        self.harm_threshold = self.config.harm_threshold
        self.features: FeatureUnion | None = None
        self.risk_head: CalibratedClassifierCV | None = None
        self.hazard_codes: tuple[HazardType, ...] = ()
        self.hazard_heads: list[CalibratedClassifierCV] = []
        self.hazard_skipped: dict[str, str] = {}
        self.harm_head: CalibratedClassifierCV | None = None
        self.harm_note = "not fitted"
        self.training: dict[str, Any] = {}
        # thresholds per source type, chosen on out-of-source scores (riskmine.models.heldout); set by training
        self.source_thresholds: dict[str, float] = {}
        self.source_threshold_notes: dict[str, str] = {}

    # ------------------------------------------------------------------ training
    def fit(
        self,
        train: Sequence[LabelledExample],
        dev: Sequence[LabelledExample] = (),
        *,
        choose_risk_threshold: bool = True,
    ) -> BaselineRiskModel:
        """Train every head on ``train`` and choose the risk threshold on ``dev``.

        ``choose_risk_threshold=False`` leaves the threshold at 0.5 (a fold model of the held-out
        evaluation, whose thresholds are chosen on other folds' scores).
        Raises InsufficientDataError when train has fewer than ``min_class_examples``
        risk or non-risk texts.
        """
        cfg = self.config
        t0 = time.perf_counter()
        y_risk = np.array([e.is_risk for e in train], dtype=np.int8)
        n_pos = int(y_risk.sum())
        n_neg = len(y_risk) - n_pos
        if n_pos < cfg.min_class_examples or n_neg < cfg.min_class_examples:
            raise InsufficientDataError(
                f"is_risk: the train split has {n_pos} risk and {n_neg} non-risk example(s); "
                f"at least {cfg.min_class_examples} of each are needed to train the baseline"
            )
        texts = [e.text for e in train]
        self.features = build_features(cfg.features)
        X = self.features.fit_transform(texts).tocsr()
        t_features = time.perf_counter() - t0

        self.risk_head = _fit_head(X, y_risk, cfg)
        self._fit_hazards(X, train)
        self._fit_harm(X, train)
        t_heads = time.perf_counter() - t0 - t_features

        if choose_risk_threshold:
            self._choose_threshold(X, y_risk, dev)
        self.training = {
            "train_examples": len(train),
            "train_risk": n_pos,
            "dev_examples": len(dev),
            "n_features": int(X.shape[1]),
            "seconds_features": round(t_features, 3),
            "seconds_heads": round(t_heads, 3),
            "seconds_total": round(time.perf_counter() - t0, 3),
        }
        return self

    def _fit_hazards(self, X: sp.csr_matrix, train: Sequence[LabelledExample]) -> None:
        cfg = self.config
        rows = [i for i, e in enumerate(train) if e.is_risk and e.hazards]
        self.hazard_codes, self.hazard_heads, self.hazard_skipped = (), [], {}
        if not rows:
            self.hazard_skipped["*"] = "no risk example in train carries hazard labels"
            return
        X_risk = X[rows]
        codes: list[HazardType] = []
        heads: list[CalibratedClassifierCV] = []
        for code in HazardType:
            y = np.array([code in train[i].hazards for i in rows], dtype=np.int8)
            pos, neg = int(y.sum()), len(y) - int(y.sum())
            if pos == 0:
                continue
            if pos < cfg.min_hazard_examples or neg < cfg.min_hazard_examples:
                self.hazard_skipped[code.value] = (
                    f"{pos} positive / {neg} negative risk example(s) in train; "
                    f"{cfg.min_hazard_examples} of each needed"
                )
                continue
            codes.append(code)
            heads.append(_fit_head(X_risk, y, cfg))
        self.hazard_codes, self.hazard_heads = tuple(codes), heads

    def _fit_harm(self, X: sp.csr_matrix, train: Sequence[LabelledExample]) -> None:
        cfg = self.config
        y = np.array([e.harm_occurred for e in train], dtype=np.int8)
        pos, neg = int(y.sum()), len(y) - int(y.sum())
        if pos < cfg.min_class_examples or neg < cfg.min_class_examples:
            self.harm_head = None
            self.harm_note = f"not trained: {pos} harm_occurred example(s) in train; {cfg.min_class_examples} needed"
            return
        self.harm_head = _fit_head(X, y, cfg)
        self.harm_note = f"trained on {pos} positive / {neg} negative example(s)"

    def _choose_threshold(self, X_train: sp.csr_matrix, y_train: np.ndarray, dev: Sequence[LabelledExample]) -> None:
        cfg = self.config
        y_dev = np.array([e.is_risk for e in dev], dtype=np.int8)
        if int(y_dev.sum()) >= MIN_DEV_PER_CLASS and len(y_dev) - int(y_dev.sum()) >= MIN_DEV_PER_CLASS:
            scores = self.score_texts([e.text for e in dev])
            threshold, how = choose_threshold(y_dev, scores, cfg.threshold_rule, cfg.min_precision)
            source = f"dev split ({len(dev)} texts, {int(y_dev.sum())} risks)"
        else:
            assert self.risk_head is not None
            folds = StratifiedKFold(n_splits=3, shuffle=True, random_state=cfg.random_state)
            oof = cross_val_predict(
                clone(_calibrated_svm(y_train, cfg)), X_train, y_train, cv=folds, method="predict_proba"
            )
            threshold, how = choose_threshold(y_train, oof[:, 1], cfg.threshold_rule, cfg.min_precision)
            source = f"out-of-fold train predictions (dev has {int(y_dev.sum())} risks of {len(dev)}, too few)"
        self.threshold = threshold
        self.threshold_note = f"{cfg.threshold_rule}: {how}, on {source}"

    # ---------------------------------------------------------------- prediction
    def _transform(self, texts: Sequence[str]) -> sp.csr_matrix:
        if self.features is None or self.risk_head is None:
            raise RuntimeError("the baseline model is not trained; call fit() or load a saved version")
        return transform(self.features, texts)  # self.features.transform(texts), the same matrix, faster

    def score_texts(self, texts: Sequence[str]) -> np.ndarray:
        """Calibrated P(is_risk) for each text, in one vectorised call."""
        if not texts:
            return np.zeros(0, dtype=np.float64)
        X = self._transform(texts)
        assert self.risk_head is not None
        return _positive_proba(self.risk_head, X)

    def predict(self, texts: Sequence[str]) -> Predictions:
        """Risk, hazard and harm probabilities for a batch (features computed once)."""
        n, k = len(texts), len(self.hazard_codes)
        if n == 0:
            return Predictions(np.zeros(0), self.hazard_codes, np.zeros((0, k)), None)
        X = self._transform(texts)
        assert self.risk_head is not None
        fused = self._fused()
        if fused is not None:  # every head in one product (the same probabilities)
            p = fused.proba(X)
            harm_p = p[:, 1 + k] if self.harm_head is not None else None
            return Predictions(p[:, 0], self.hazard_codes, p[:, 1 : 1 + k], harm_p)
        risk = _positive_proba(self.risk_head, X)
        hazard = np.zeros((n, k), dtype=np.float64)
        for j, head in enumerate(self.hazard_heads):
            hazard[:, j] = _positive_proba(head, X)
        harm = _positive_proba(self.harm_head, X) if self.harm_head is not None else None
        return Predictions(risk, self.hazard_codes, hazard, harm)

    def _fused(self) -> FusedHeads | None:
        """The risk, hazard and harm heads fused (built on first use, after fitting or loading)."""
        heads = [self.risk_head, *self.hazard_heads, *([self.harm_head] if self.harm_head is not None else [])]
        key = tuple(id(h) for h in heads)
        cached: tuple[tuple[int, ...], FusedHeads | None] | None = self.__dict__.get("_fused_heads")
        if cached is None or cached[0] != key:
            cached = (key, fuse_heads([h for h in heads if h is not None]))
            self.__dict__["_fused_heads"] = cached
        return cached[1]

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state.pop("_fused_heads", None)  # derived: rebuilt on first use after loading
        return state

    def _kind(self) -> str:
        features = self.config.features
        sense = " + hazard-sense indicators" if features.hazard_sense else ""
        return f"tfidf(char+word){sense} + calibrated LinearSVC heads"

    def info(self) -> dict[str, Any]:
        """What the model card records about the model itself."""
        cfg = asdict(self.config)
        return {
            "name": self.name,
            "kind": self._kind(),
            "config": cfg,
            "threshold": self.threshold,
            "threshold_note": self.threshold_note,
            "hazard_codes": [c.value for c in self.hazard_codes],
            "hazard_skipped": dict(self.hazard_skipped),
            "harm_head": self.harm_note,
            "training": dict(self.training),
            "source_thresholds": dict(getattr(self, "source_thresholds", {}) or {}),
            "source_threshold_notes": dict(getattr(self, "source_threshold_notes", {}) or {}),
            "libraries": {
                "python": platform.python_version(),
                "scikit-learn": sklearn.__version__,
                "numpy": np.__version__,
            },
        }


def train_baseline(
    train: Sequence[LabelledExample], dev: Sequence[LabelledExample] = (), config: BaselineConfig | None = None
) -> BaselineRiskModel:
    """Train a :class:`BaselineRiskModel` (see :meth:`BaselineRiskModel.fit`)."""
    return BaselineRiskModel(config).fit(train, dev)
