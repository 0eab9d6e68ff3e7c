"""Classifier heads on the encoder's embeddings: LogisticRegression for is_risk, one-vs-rest heads for hazards.

:class:`EmbeddingHeadModel` implements :class:`riskmine.models.base.RiskModel` (``predict`` / ``score_texts``),
so the evaluation functions of :mod:`riskmine.models.evaluate` and a cascade can use it as they use the baseline.
Embeddings are cached by text hash under ``<var>/cache/encoder/<encoder name>/`` so retraining is cheap.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from sklearn.linear_model import LogisticRegression

from riskmine.models.base import Predictions
from riskmine.models.baseline import choose_threshold
from riskmine.models.corpus import InsufficientDataError, LabelledExample
from riskmine.models.encoder.load import ENCODER_ENV, Encoder, EncoderUnavailable, load_encoder
from riskmine.schema import HazardType

if TYPE_CHECKING:
    from riskmine.settings import Settings

MODEL_NAME = "risk-e5-head"


def text_key(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:24]


class EmbeddingCache:
    """Embeddings of texts by SHA-256 of the text, one .npz file per encoder; missing ones computed and added."""

    def __init__(self, encoder: Encoder, cache_dir: Path | None) -> None:
        self.encoder = encoder
        self.path = (Path(cache_dir) / f"{encoder.name.replace('/', '_')}.npz") if cache_dir else None
        self._table: dict[str, np.ndarray] = {}
        if self.path is not None and self.path.is_file():
            with np.load(self.path) as data:
                keys, vecs = data["keys"], data["vectors"]
            self._table = {str(k): v for k, v in zip(keys, vecs, strict=True)}

    def __len__(self) -> int:
        return len(self._table)

    def embed(self, texts: Sequence[str], batch_size: int = 32) -> np.ndarray:
        keys = [text_key(t) for t in texts]
        missing = sorted({k: t for k, t in zip(keys, texts, strict=True) if k not in self._table}.items())
        if missing:
            vecs = self.encoder.embed([t for _, t in missing], batch_size=batch_size)
            for (k, _), v in zip(missing, vecs, strict=True):
                self._table[k] = v
            self._save()
        if not keys:
            return np.zeros((0, self.encoder.dim), dtype=np.float32)
        return np.stack([self._table[k] for k in keys]).astype(np.float32)

    def _save(self) -> None:
        if self.path is None:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        keys = np.array(list(self._table), dtype="U24")
        vecs = np.stack(list(self._table.values()))
        tmp = self.path.with_suffix(".tmp.npz")
        np.savez(tmp, keys=keys, vectors=vecs)
        tmp.replace(self.path)


@dataclass
class HeadConfig:
    C: float = 4.0
    min_class_examples: int = 5
    min_hazard_examples: int = 5
    hazard_min_prob: float = 0.5
    harm_threshold: float = 0.5
    threshold_rule: str = "max_f1"
    max_iter: int = 2000


def _logreg(config: HeadConfig) -> LogisticRegression:
    return LogisticRegression(C=config.C, class_weight="balanced", max_iter=config.max_iter)


@dataclass
class EmbeddingHeadModel:
    """Logistic-regression heads on frozen encoder embeddings. Implements RiskModel."""

    encoder: Encoder | None
    config: HeadConfig = field(default_factory=HeadConfig)
    name: str = MODEL_NAME
    version: str = ""
    threshold: float = 0.5
    threshold_note: str = "not fitted"
    hazard_min_prob: float = 0.5
    harm_threshold: float = 0.5
    risk_head: LogisticRegression | None = None
    hazard_codes: tuple[HazardType, ...] = ()
    hazard_heads: list[LogisticRegression] = field(default_factory=list)
    harm_head: LogisticRegression | None = None
    training: dict[str, Any] = field(default_factory=dict)
    cache: EmbeddingCache | None = None
    batch_size: int = 32
    encoder_name: str = ""  # the encoder the heads were fitted on (name@source hash); checked when reattached
    settings: Settings | None = None  # where a loaded model finds its encoder (bind); None: the process settings

    def bind(self, settings: Settings | None) -> None:
        """Remember the settings a saved model was loaded with; the encoder is loaded from them on first use."""
        self.settings = settings

    def attach(self, encoder: Encoder) -> None:
        """Use ``encoder``; it must be the one the heads were fitted on (embeddings differ between encoders)."""
        if self.encoder_name and encoder.name != self.encoder_name:
            raise EncoderUnavailable(
                f"{self.name} {self.version or ''} was trained on the encoder {self.encoder_name}, but "
                f"{encoder.path} holds {encoder.name}; retrain with `riskmine models train --cascade` "
                f"or point {ENCODER_ENV} at the encoder it was trained on"
            )
        self.encoder = encoder

    def _embed(self, texts: Sequence[str]) -> np.ndarray:
        if self.cache is not None:
            return self.cache.embed(texts, self.batch_size)
        if self.encoder is None:
            self.attach(load_encoder(self.settings))  # load_encoder is locked and cached per process
        assert self.encoder is not None
        return self.encoder.embed(texts, self.batch_size)

    def fit(self, train: Sequence[LabelledExample], dev: Sequence[LabelledExample] = ()) -> EmbeddingHeadModel:
        cfg = self.config
        self.hazard_min_prob, self.harm_threshold = cfg.hazard_min_prob, cfg.harm_threshold
        y = np.array([e.is_risk for e in train], dtype=np.int8)
        pos = int(y.sum())
        if pos < cfg.min_class_examples or len(y) - pos < cfg.min_class_examples:
            raise InsufficientDataError(
                f"is_risk: the train split has {pos} risk and {len(y) - pos} non-risk example(s); "
                f"at least {cfg.min_class_examples} of each are needed"
            )
        t0 = time.perf_counter()
        encoder = self.encoder or (self.cache.encoder if self.cache is not None else None)
        self.encoder_name = encoder.name if encoder is not None else ""
        X = self._embed([e.text for e in train])
        t_embed = time.perf_counter() - t0
        self.risk_head = _logreg(cfg).fit(X, y)
        rows = [i for i, e in enumerate(train) if e.is_risk and e.hazards]
        codes: list[HazardType] = []
        heads: list[LogisticRegression] = []
        for code in HazardType:
            yh = np.array([code in train[i].hazards for i in rows], dtype=np.int8)
            if int(yh.sum()) >= cfg.min_hazard_examples and len(yh) - int(yh.sum()) >= cfg.min_hazard_examples:
                codes.append(code)
                heads.append(_logreg(cfg).fit(X[rows], yh))
        self.hazard_codes, self.hazard_heads = tuple(codes), heads
        yharm = np.array([e.harm_occurred for e in train], dtype=np.int8)
        enough_harm = min(int(yharm.sum()), len(yharm) - int(yharm.sum())) >= cfg.min_class_examples
        self.harm_head = _logreg(cfg).fit(X, yharm) if enough_harm else None
        if dev:
            y_dev = np.array([e.is_risk for e in dev], dtype=np.int8)
            if 0 < int(y_dev.sum()) < len(y_dev):
                self.threshold, how = choose_threshold(y_dev, self.score_texts([e.text for e in dev]))
                self.threshold_note = f"max_f1: {how}, on dev split ({len(dev)} texts)"
        self.training = {
            "train_examples": len(train),
            "seconds_embed": round(t_embed, 2),
            "seconds_total": round(time.perf_counter() - t0, 2),
        }
        return self

    def score_texts(self, texts: Sequence[str]) -> np.ndarray:
        if self.risk_head is None:
            raise RuntimeError("the embedding head is not trained; call fit()")
        if not texts:
            return np.zeros(0)
        return np.asarray(self.risk_head.predict_proba(self._embed(texts))[:, 1], dtype=np.float64)

    def predict(self, texts: Sequence[str]) -> Predictions:
        if self.risk_head is None:
            raise RuntimeError("the embedding head is not trained; call fit()")
        n, k = len(texts), len(self.hazard_codes)
        if n == 0:
            return Predictions(np.zeros(0), self.hazard_codes, np.zeros((0, k)), None)
        X = self._embed(texts)
        risk = np.asarray(self.risk_head.predict_proba(X)[:, 1], dtype=np.float64)
        hazard = np.zeros((n, k))
        for j, head in enumerate(self.hazard_heads):
            hazard[:, j] = head.predict_proba(X)[:, 1]
        harm = self.harm_head.predict_proba(X)[:, 1] if self.harm_head is not None else None
        return Predictions(risk, self.hazard_codes, hazard, harm)

    def info(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "kind": "multilingual-e5-small embeddings (mean pooled, 'query: ') + LogisticRegression heads",
            "encoder": self.encoder_name or (self.encoder.name if self.encoder else None),
            "threshold": self.threshold,
            "threshold_note": self.threshold_note,
            "hazard_codes": [c.value for c in self.hazard_codes],
            "training": dict(self.training),
        }

    def __getstate__(self) -> dict[str, Any]:
        # the encoder and cache are reattached at load time (the checkpoint lives on disk, not in the pickle)
        state = dict(self.__dict__)
        state["encoder"] = None
        state["cache"] = None
        state["settings"] = None
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        state.setdefault("encoder_name", "")  # models pickled before the name was kept
        state.setdefault("settings", None)
        self.__dict__.update(state)


def train_head(
    encoder: Encoder,
    train: Sequence[LabelledExample],
    dev: Sequence[LabelledExample] = (),
    *,
    cache_dir: Path | None = None,
    config: HeadConfig | None = None,
) -> EmbeddingHeadModel:
    """Fit :class:`EmbeddingHeadModel` on ``train`` (threshold on ``dev``), embeddings cached under ``cache_dir``."""
    model = EmbeddingHeadModel(encoder, config or HeadConfig(), cache=EmbeddingCache(encoder, cache_dir))
    return model.fit(train, dev)
