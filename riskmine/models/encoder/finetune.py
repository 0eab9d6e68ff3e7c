"""The encoder fine-tuned with a linear is_risk head: the cascade's transformer (better on dev than a frozen head).

:func:`finetune` trains a private copy of the encoder on the train split: AdamW, linear warm-up and decay,
class-weighted cross-entropy on the pooled, L2-normalised embedding scaled by ``logit_scale`` (e5 was trained
with a temperature), batches of similar length (less padding), the 250k-row word-embedding table frozen (it is
most of e5-small's weights and the costliest to update), stopped early at ``time_cap_s``; the threshold is
chosen on dev.

:class:`FinetunedModel` implements :class:`riskmine.models.base.RiskModel`. It keeps the weights that changed
(every parameter but the frozen table, about 21 M floats) and the head as numpy arrays, so a saved model is a
plain pickle. Saved by the registry, it also writes the tuned encoder exported for ONNX Runtime (int8) into its
version folder (:meth:`FinetunedModel.write_artifacts`), and a loaded model serves from that export, without
torch; a version without an export loads the base checkpoint the weights were trained from (checked by name) and
applies them with torch.
"""

from __future__ import annotations

import math
import os
import shutil
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from riskmine.models.base import Predictions
from riskmine.models.baseline import choose_threshold
from riskmine.models.corpus import InsufficientDataError, LabelledExample
from riskmine.models.encoder.load import (
    ENCODER_ENV,
    Encoder,
    EncoderUnavailable,
    encoder_path,
    load_checkpoint,
    load_encoder,
    require_ml,
)
from riskmine.models.encoder.onnx_runtime import OnnxEncoder, has_export, head_probability, load_onnx_encoder

if TYPE_CHECKING:
    from riskmine.settings import Settings

MODEL_NAME = "risk-e5-finetuned"
StepCallback = Callable[[int, int, float, float], None]  # step, total steps, epochs done, loss
EXPORT_DIR = "encoder"  # the ONNX export, inside the registry's version folder
CHECK_TEXTS = 200  # dev texts the export is checked on against the torch encoder
_attach_lock = threading.Lock()


@dataclass
class FinetuneConfig:
    epochs: float = 2.0
    batch_size: int = 16
    lr: float = 5e-5
    head_lr: float = 1e-3
    max_length: int = 128
    time_cap_s: float = 3600.0
    threads: int | None = None  # None: torch's default (every core)
    seed: int = 0
    logit_scale: float = 20.0
    freeze_embeddings: bool = True
    # tune only the top N transformer layers (the rest frozen, and no gradient flows through them); None: all
    train_layers: int | None = None
    bucket: int = 50  # batches drawn from windows of bucket × batch_size texts sorted by length


@dataclass
class FinetuneResult:
    steps: int
    examples_seen: int
    seconds: float
    stopped_by_time: bool
    threshold: float
    losses: list[float] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        tail = self.losses[-20:]
        return {
            "steps": self.steps,
            "examples_seen": self.examples_seen,
            "seconds": round(self.seconds, 1),
            "stopped_by_time": self.stopped_by_time,
            "threshold": self.threshold,
            "final_loss": round(float(np.mean(tail)), 4) if tail else None,
        }


class FinetunedModel:
    """P(is_risk) from the fine-tuned encoder and its linear head. Implements RiskModel (no hazard or harm head)."""

    name = MODEL_NAME

    def __init__(
        self,
        encoder_name: str,
        weights: dict[str, np.ndarray],
        head: tuple[np.ndarray, np.ndarray],
        *,
        logit_scale: float,
        max_length: int,
        threshold: float = 0.5,
        threshold_note: str = "not chosen",
    ) -> None:
        self.encoder_name, self.weights, self.head = encoder_name, weights, head
        self.logit_scale, self.max_length = logit_scale, max_length
        self.threshold, self.threshold_note = threshold, threshold_note
        self.version = ""
        self.hazard_min_prob = 0.5
        self.harm_threshold = 0.5
        self.training: dict[str, Any] = {}
        self.settings: Settings | None = None
        self.folder: Path | None = None
        self._encoder: Encoder | None = None
        self._onnx: OnnxEncoder | None = None
        self._check_texts: list[str] = []

    def bind(self, settings: Settings | None) -> None:
        """Remember the settings a saved model was loaded with; the base encoder is loaded from them on first use."""
        self.settings = settings

    def locate(self, folder: Path | None) -> None:
        """The registry's version folder this model was loaded from (where its ONNX export lies)."""
        self.folder = folder

    def export_folder(self) -> Path | None:
        return self.folder / EXPORT_DIR if self.folder is not None else None

    def export(self, folder: Path) -> dict[str, Any]:
        """Export the tuned encoder into ``folder`` for ONNX Runtime (int8), checked against torch fp32 on dev texts,
        and serve from the export from now on (so the threshold and the figures are those of what is served)."""
        from riskmine.models.encoder.onnx_export import export_encoder

        report = export_encoder(self._torch_encoder(), folder, self._check_texts or ["充电宝充电时冒烟", "很好用"])
        self._onnx = load_onnx_encoder(folder, threads=1, expect_name=self.encoder_name)
        self.training["onnx"] = report.summary()
        return report.summary()

    def write_artifacts(self, folder: Path) -> dict[str, Any]:
        """Write the ONNX export into the registry's version ``folder`` (exported now unless it already was)."""
        if self._onnx is None:
            self.export(folder / EXPORT_DIR)
        else:
            shutil.copytree(self._onnx.path, folder / EXPORT_DIR)
        return {"onnx": self.training.get("onnx", {})}

    def attach(self, encoder: Encoder) -> None:
        """Apply the fine-tuned weights to ``encoder`` (a private copy of the base checkpoint) and use it."""
        torch, _ = require_ml()
        if encoder.name != self.encoder_name:
            raise EncoderUnavailable(
                f"{self.name} {self.version} was fine-tuned from the encoder {self.encoder_name}, but "
                f"{encoder.path} holds {encoder.name}; retrain with `riskmine models train --cascade` "
                f"or point {ENCODER_ENV} at the encoder it was trained from"
            )
        state = {k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in self.weights.items()}
        missing = set(state) - set(encoder.model.state_dict())
        if missing:
            raise EncoderUnavailable(f"{encoder.path} has no parameters {sorted(missing)[:3]} that {self.name} tuned")
        encoder.model.load_state_dict(state, strict=False)
        encoder.model.eval()
        encoder.max_length = min(encoder.max_length, self.max_length)
        self._encoder = encoder

    def _torch_encoder(self) -> Encoder:
        with _attach_lock:  # concurrent first requests (API worker threads) load one copy, not one each
            if self._encoder is None:
                self._load()
        assert self._encoder is not None
        return self._encoder

    def _runtime(self) -> OnnxEncoder | Encoder:
        """The ONNX export when this version has one (no torch), else the torch encoder with the tuned weights."""
        if self._onnx is not None:
            return self._onnx
        if self._encoder is not None:  # just trained, not exported: the torch encoder is at hand
            return self._encoder
        export = self.export_folder()
        if export is not None and has_export(export):
            with _attach_lock:
                if self._onnx is None:
                    self._onnx = load_onnx_encoder(export, threads=1, expect_name=self.encoder_name)
            return self._onnx
        return self._torch_encoder()

    def _load(self) -> None:
        if self._encoder is None:
            path = encoder_path(self.settings)
            if not os.environ.get(ENCODER_ENV) and not (path / "model.safetensors").is_file():
                load_encoder(self.settings)  # rebuilds the missing checkpoint
            self.attach(load_checkpoint(path, threads=1, max_length=self.max_length))  # its own copy: weights change

    def score_texts(self, texts: Sequence[str], batch_size: int = 32) -> np.ndarray:
        return self._score(self._runtime(), texts, batch_size)

    def score_unquantised(self, texts: Sequence[str], batch_size: int = 32) -> np.ndarray:
        """Scores of the torch fp32 encoder with the tuned weights, whatever is served (needs the ``ml`` extra):
        the reference the int8 export is checked against."""
        return self._score(self._torch_encoder(), texts, batch_size)

    def _score(self, encoder: OnnxEncoder | Encoder, texts: Sequence[str], batch_size: int) -> np.ndarray:
        texts = list(texts)
        out = np.zeros(len(texts))
        if not texts:
            return out
        if isinstance(encoder, OnnxEncoder):
            return head_probability(encoder.embed(texts, batch_size), self.head, self.logit_scale)
        torch, _ = require_ml()
        weight = torch.from_numpy(self.head[0])
        bias = torch.from_numpy(self.head[1])
        order = np.argsort([len(t) for t in texts], kind="stable")
        previous = torch.get_num_threads()
        torch.set_num_threads(encoder.threads or previous)
        try:
            with torch.inference_mode():
                for start in range(0, len(texts), batch_size):
                    idx = order[start : start + batch_size]
                    logits = (encoder.forward([texts[i] for i in idx]) * self.logit_scale) @ weight.T + bias
                    out[idx] = torch.softmax(logits, dim=1)[:, 1].double().numpy()
        finally:
            torch.set_num_threads(previous)
        return out

    def predict(self, texts: Sequence[str]) -> Predictions:
        risk = self.score_texts(texts)
        return Predictions(risk, (), np.zeros((len(risk), 0)), None)

    def info(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "kind": "multilingual-e5-small fine-tuned (mean pooled, 'query: ', word embeddings frozen) + linear head",
            "encoder": self.encoder_name,
            "threshold": self.threshold,
            "threshold_note": self.threshold_note,
            "tuned_parameters": int(sum(v.size for v in self.weights.values())),
            "training": dict(self.training),
        }

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state.update(_encoder=None, _onnx=None, settings=None, folder=None, _check_texts=[])
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        state.setdefault("folder", None)  # models pickled before the ONNX export
        state.setdefault("_onnx", None)
        state.setdefault("_check_texts", [])
        self.__dict__.update(state)


def freeze_below_top(model: Any, n: int) -> None:
    """Freeze every parameter of a BERT-like ``model`` but those of its top ``n`` transformer layers."""
    layers = getattr(getattr(model, "encoder", None), "layer", None)
    if layers is None:
        raise ValueError(f"train_layers needs a BERT-like encoder with encoder.layer; {type(model).__name__} has none")
    if not 0 <= n <= len(layers):
        raise ValueError(f"train_layers must lie in [0, {len(layers)}], got {n}")
    top = {id(p) for layer in list(layers)[len(layers) - n :] for p in layer.parameters()}
    for p in model.parameters():
        if id(p) not in top:
            p.requires_grad_(False)


def _batches(lengths: np.ndarray, cfg: FinetuneConfig, rng: np.random.Generator) -> list[np.ndarray]:
    """One epoch of index batches: shuffled, sorted by length within windows, the batch order shuffled."""
    order = rng.permutation(len(lengths))
    window = max(1, cfg.bucket) * cfg.batch_size
    batches: list[np.ndarray] = []
    for start in range(0, len(order), window):
        chunk = order[start : start + window]
        chunk = chunk[np.argsort(lengths[chunk], kind="stable")]
        batches.extend(chunk[i : i + cfg.batch_size] for i in range(0, len(chunk), cfg.batch_size))
    rng.shuffle(batches)
    return batches


def finetune(
    encoder: Encoder,
    train: Sequence[LabelledExample],
    dev: Sequence[LabelledExample],
    config: FinetuneConfig | None = None,
    *,
    export_to: Path | None = None,
    on_step: StepCallback | None = None,
) -> tuple[FinetunedModel, FinetuneResult]:
    """Fine-tune ``encoder`` in place (pass a private copy: its weights change); the model and the run's figures.

    With ``export_to`` the tuned encoder is exported there for ONNX Runtime before the threshold is chosen, and
    the model scores with the export (what serving runs). ``on_step(step, total_steps, epochs_done, loss)`` is
    called after every step (progress)."""
    torch, transformers = require_ml()
    cfg = config or FinetuneConfig()
    y = np.array([e.is_risk for e in train], dtype=np.int64)
    pos = int(y.sum())
    if pos == 0 or pos == len(y):
        raise InsufficientDataError(f"fine-tuning needs risks and non-risks in train; it has {pos} of {len(y)}")
    torch.manual_seed(cfg.seed)
    previous_threads = torch.get_num_threads()
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    encoder.max_length = min(encoder.max_length, cfg.max_length)
    model = encoder.model
    head = torch.nn.Linear(encoder.dim, 2)
    if cfg.freeze_embeddings:
        model.get_input_embeddings().weight.requires_grad_(False)
    if cfg.train_layers is not None:
        freeze_below_top(model, cfg.train_layers)
    trainable = [p for p in model.parameters() if p.requires_grad]
    weights = torch.tensor([len(y) / (2 * (len(y) - pos)), len(y) / (2 * pos)], dtype=torch.float32)
    loss_fn = torch.nn.CrossEntropyLoss(weight=weights)
    optimiser = torch.optim.AdamW(
        [{"params": trainable, "lr": cfg.lr}, {"params": head.parameters(), "lr": cfg.head_lr}],
        weight_decay=0.01,
    )
    rng = np.random.default_rng(cfg.seed)
    lengths = np.array([len(e.text) for e in train])
    total_steps = max(1, math.ceil(len(train) * cfg.epochs / cfg.batch_size))
    scheduler = transformers.get_linear_schedule_with_warmup(optimiser, max(1, total_steps // 10), total_steps)
    losses: list[float] = []
    t0 = time.perf_counter()
    step = seen = 0
    stopped = False
    queue: list[np.ndarray] = []
    model.train()
    try:
        while step < total_steps:
            if not queue:
                queue = _batches(lengths, cfg, rng)
            idx = queue.pop()
            logits = head(encoder.forward([train[i].text for i in idx]) * cfg.logit_scale)
            loss = loss_fn(logits, torch.from_numpy(y[idx]))
            optimiser.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(trainable, 1.0)
            optimiser.step()
            scheduler.step()
            losses.append(float(loss.detach()))
            step += 1
            seen += len(idx)
            if on_step is not None:
                on_step(step, total_steps, seen / len(train), losses[-1])
            if time.perf_counter() - t0 > cfg.time_cap_s:
                stopped = True
                break
        seconds = time.perf_counter() - t0
    finally:
        model.eval()
        if cfg.threads:
            torch.set_num_threads(previous_threads)
    tuned = {n: p.detach().numpy().copy() for n, p in model.named_parameters() if p.requires_grad}
    result = FinetunedModel(
        encoder.name,
        tuned,
        (head.weight.detach().numpy().copy(), head.bias.detach().numpy().copy()),
        logit_scale=cfg.logit_scale,
        max_length=encoder.max_length,
    )
    result._encoder = encoder
    result._check_texts = [e.text for e in (dev or train)][:CHECK_TEXTS]
    run_figures: dict[str, Any] = {}
    if export_to is not None:
        run_figures["onnx"] = result.export(export_to)
    y_dev = np.array([e.is_risk for e in dev], dtype=np.int8)
    if dev and 0 < int(y_dev.sum()) < len(y_dev):
        result.threshold, how = choose_threshold(y_dev, result.score_texts([e.text for e in dev]))
        result.threshold_note = f"max_f1: {how}, on dev split ({len(dev)} texts)"
    run = FinetuneResult(step, seen, seconds, stopped, result.threshold, losses)
    result.training = {"train_examples": len(train), **run.summary(), "config": cfg.__dict__, **run_figures}
    return result, run
