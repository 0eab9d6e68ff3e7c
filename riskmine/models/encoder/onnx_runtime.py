"""The transformer tier served with ONNX Runtime: no torch on the serving path.

An exported encoder is a folder (written at training time by :mod:`riskmine.models.encoder.onnx_export`)::

    encoder.onnx          the encoder with mean pooling and L2 normalisation inside the graph
                          (inputs input_ids, attention_mask; output embedding), int8 weights per channel
    tokenizer.json        the checkpoint's fast tokenizer (the Rust ``tokenizers`` library reads it)
    encoder.json          the manifest: encoder name, prefix, max length, pad id, quantisation, the file's
                          SHA-256 and the agreement with the fp32 torch encoder measured at export

:class:`OnnxEncoder` embeds texts like :meth:`riskmine.models.encoder.load.Encoder.embed`: the prefix, batches of
similar token length (tokenised once, each batch padded to its longest: less padding), inputs in order out.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from riskmine.models.encoder.load import EncoderUnavailable

ONNX_FILE = "encoder.onnx"
TOKENIZER_FILE = "tokenizer.json"
MANIFEST_FILE = "encoder.json"


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def has_export(folder: Path | None) -> bool:
    """Whether ``folder`` holds an exported encoder (its manifest, model and tokenizer)."""
    return folder is not None and all((folder / n).is_file() for n in (MANIFEST_FILE, ONNX_FILE, TOKENIZER_FILE))


@dataclass
class OnnxEncoder:
    """An exported encoder loaded into an ONNX Runtime session. ``embed`` returns (n, dim) float32, L2-normalised."""

    session: Any
    tokenizer: Any
    path: Path
    name: str
    prefix: str
    max_length: int
    threads: int
    manifest: dict[str, Any]
    pad_id: int = 1  # XLM-R's; batches are padded with it (the attention mask hides it)
    # the most texts per session.run, whatever batch_size a caller asks for: on one thread small batches are faster
    # (multilingual-e5-small int8, 128 dev texts, one thread, idle 2-core machine, medians of 5: 89 texts/s at 1,
    # 98 at 2, 94 at 4, 82 at 8; loaded: 60 at 16, 46 at 32)
    max_batch: int = 4

    @property
    def dim(self) -> int:
        return int(self.manifest["dim"])

    def embed(self, texts: Sequence[str], batch_size: int = 32) -> np.ndarray:
        texts = list(texts)
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        if not texts:
            return out
        # tokenised once, unpadded; batches of texts of similar token length, each padded to its longest
        encodings = self.tokenizer.encode_batch([self.prefix + t for t in texts])
        lengths = np.fromiter((len(e.ids) for e in encodings), dtype=np.int64, count=len(texts))
        order = np.argsort(lengths, kind="stable")
        size = max(1, min(batch_size, self.max_batch))
        for start in range(0, len(texts), size):
            idx = order[start : start + size]
            width = int(lengths[idx].max())
            ids = np.full((len(idx), width), self.pad_id, dtype=np.int64)
            mask = np.zeros((len(idx), width), dtype=np.int64)
            for row, i in enumerate(idx):
                n = int(lengths[i])
                ids[row, :n] = encodings[i].ids
                mask[row, :n] = 1
            (vecs,) = self.session.run(["embedding"], {"input_ids": ids, "attention_mask": mask})
            out[idx] = vecs
        return out


_lock = threading.Lock()
_loaded: dict[tuple[str, str, int], OnnxEncoder] = {}


def load_onnx_encoder(folder: Path, *, threads: int = 1, expect_name: str | None = None) -> OnnxEncoder:
    """The exported encoder in ``folder`` (cached per process and file). EncoderUnavailable when it cannot be used:
    ONNX Runtime missing, files missing or changed since export, or another encoder than ``expect_name``."""
    folder = Path(folder)
    if not has_export(folder):
        raise EncoderUnavailable(f"no exported encoder in {folder} ({MANIFEST_FILE}, {ONNX_FILE}, {TOKENIZER_FILE})")
    try:
        manifest = json.loads((folder / MANIFEST_FILE).read_text(encoding="utf-8"))
        name, prefix = str(manifest["name"]), str(manifest["prefix"])
        max_length, pad_id, sha = int(manifest["max_length"]), int(manifest["pad_id"]), str(manifest["sha256"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise EncoderUnavailable(f"{folder / MANIFEST_FILE} is unreadable: {exc}") from exc
    if expect_name is not None and name != expect_name:
        raise EncoderUnavailable(f"{folder} holds the encoder {name}, not {expect_name}")
    key = (str(folder.resolve()), sha, threads)
    with _lock:
        if key in _loaded:
            return _loaded[key]
        if file_sha256(folder / ONNX_FILE) != sha:
            raise EncoderUnavailable(f"{folder / ONNX_FILE} changed since it was exported (SHA-256 differs)")
        session = open_session(folder / ONNX_FILE, threads)
        tokenizer = open_tokenizer(folder / TOKENIZER_FILE, max_length)
        encoder = OnnxEncoder(session, tokenizer, folder, name, prefix, max_length, threads, manifest, pad_id)
        _loaded[key] = encoder
        return encoder


def _runtime_modules() -> tuple[Any, Any]:
    try:
        import onnxruntime
        import tokenizers
    except ImportError as exc:
        raise EncoderUnavailable(
            f"serving the transformer tier needs {exc.name} (a base dependency): pip install -e ."
        ) from exc
    return onnxruntime, tokenizers


def open_session(model_file: Path, threads: int = 1) -> Any:
    """An ONNX Runtime CPU session on ``model_file``: ``threads`` threads inside an operator, one across."""
    ort, _ = _runtime_modules()
    options = ort.SessionOptions()
    options.intra_op_num_threads = max(1, threads)
    options.inter_op_num_threads = 1
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    return ort.InferenceSession(str(model_file), options, providers=["CPUExecutionProvider"])


def open_tokenizer(tokenizer_file: Path, max_length: int) -> Any:
    """The fast tokenizer, truncating to ``max_length``, not padding (:meth:`OnnxEncoder.embed` pads each batch to
    its longest text)."""
    _, tokenizers = _runtime_modules()
    tokenizer = tokenizers.Tokenizer.from_file(str(tokenizer_file))
    tokenizer.enable_truncation(max_length)
    tokenizer.no_padding()
    return tokenizer


def head_probability(embeddings: np.ndarray, head: tuple[np.ndarray, np.ndarray], logit_scale: float) -> np.ndarray:
    """P(class 1) of a linear head over scaled embeddings (softmax of two logits), float64."""
    weight, bias = head
    logits = (embeddings.astype(np.float64) * logit_scale) @ weight.astype(np.float64).T + bias.astype(np.float64)
    logits -= logits.max(axis=1, keepdims=True)
    exp = np.exp(logits)
    return np.asarray(exp[:, 1] / exp.sum(axis=1))
