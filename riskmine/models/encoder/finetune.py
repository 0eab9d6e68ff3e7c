"""A short CPU fine-tune of the encoder with a linear is_risk head, to compare with the frozen-embedding head.

One pass over the (shuffled) train split, stopped early at ``time_cap_s``: AdamW, linear warm-up/decay,
class-weighted cross-entropy on the pooled, normalised embedding (scaled, as e5 was trained with a temperature),
the threshold chosen on dev. It is a measurement tool: :func:`finetune` returns the figures and the scorer.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from riskmine.models.baseline import choose_threshold
from riskmine.models.corpus import LabelledExample
from riskmine.models.encoder.load import Encoder, require_ml


@dataclass
class FinetuneConfig:
    epochs: float = 1.0
    batch_size: int = 16
    lr: float = 3e-5
    head_lr: float = 1e-3
    max_length: int = 128
    time_cap_s: float = 600.0
    threads: int | None = 2
    seed: int = 0
    logit_scale: float = 20.0
    # the 250k-row word-embedding table is most of e5-small's weights: updating it costs more than the layers
    freeze_embeddings: bool = True


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


class FinetunedScorer:
    """P(is_risk) from the fine-tuned encoder and its linear head."""

    def __init__(self, encoder: Encoder, head: Any, scale: float, threshold: float = 0.5) -> None:
        self.encoder, self.head, self.scale, self.threshold = encoder, head, scale, threshold

    def score_texts(self, texts: Sequence[str], batch_size: int = 32) -> np.ndarray:
        torch, _ = require_ml()
        texts = list(texts)
        out = np.zeros(len(texts))
        order = np.argsort([len(t) for t in texts], kind="stable")
        self.encoder.model.eval()
        with torch.inference_mode():
            for start in range(0, len(texts), batch_size):
                idx = order[start : start + batch_size]
                logits = self.head(self.encoder.forward([texts[i] for i in idx]) * self.scale)
                out[idx] = torch.softmax(logits, dim=1)[:, 1].double().numpy()
        return out


def finetune(
    encoder: Encoder,
    train: Sequence[LabelledExample],
    dev: Sequence[LabelledExample],
    config: FinetuneConfig | None = None,
) -> tuple[FinetunedScorer, FinetuneResult]:
    """Fine-tune ``encoder`` in place (its weights change) and return the scorer with the run's figures."""
    torch, transformers = require_ml()
    cfg = config or FinetuneConfig()
    torch.manual_seed(cfg.seed)
    previous_threads = torch.get_num_threads()
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    encoder.max_length = cfg.max_length
    model = encoder.model
    head = torch.nn.Linear(encoder.dim, 2)
    if cfg.freeze_embeddings:
        model.get_input_embeddings().weight.requires_grad_(False)
    trainable = [p for p in model.parameters() if p.requires_grad]
    y = np.array([e.is_risk for e in train], dtype=np.int64)
    pos = max(1, int(y.sum()))
    weights = torch.tensor([len(y) / (2 * (len(y) - pos)), len(y) / (2 * pos)], dtype=torch.float32)
    loss_fn = torch.nn.CrossEntropyLoss(weight=weights)
    optimiser = torch.optim.AdamW(
        [{"params": trainable, "lr": cfg.lr}, {"params": head.parameters(), "lr": cfg.head_lr}],
        weight_decay=0.01,
    )
    rng = np.random.default_rng(cfg.seed)
    order = rng.permutation(len(train))
    total_steps = max(1, math.ceil(len(train) * cfg.epochs / cfg.batch_size))
    scheduler = transformers.get_linear_schedule_with_warmup(optimiser, max(1, total_steps // 10), total_steps)
    losses: list[float] = []
    t0 = time.perf_counter()
    step = seen = 0
    stopped = False
    model.train()
    try:
        while step < total_steps:
            idx = order[(step * cfg.batch_size) % len(order) :][: cfg.batch_size]
            texts = [train[i].text for i in idx]
            logits = head(encoder.forward(texts) * cfg.logit_scale)
            loss = loss_fn(logits, torch.from_numpy(y[idx]))
            optimiser.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(trainable, 1.0)
            optimiser.step()
            scheduler.step()
            losses.append(float(loss.detach()))
            step += 1
            seen += len(idx)
            if time.perf_counter() - t0 > cfg.time_cap_s:
                stopped = True
                break
        seconds = time.perf_counter() - t0
        scorer = FinetunedScorer(encoder, head, cfg.logit_scale)
        y_dev = np.array([e.is_risk for e in dev], dtype=np.int8)
        if dev and 0 < int(y_dev.sum()) < len(y_dev):
            scorer.threshold, _ = choose_threshold(y_dev, scorer.score_texts([e.text for e in dev]))
    finally:
        model.eval()
        if cfg.threads:
            torch.set_num_threads(previous_threads)
    return scorer, FinetuneResult(step, seen, seconds, stopped, scorer.threshold, losses)
