"""Export an encoder to ONNX at training time (torch), quantised to int8 for ONNX Runtime.

The graph holds the encoder, mean pooling over the attention mask and L2 normalisation, so serving is one
``session.run`` (:mod:`riskmine.models.encoder.onnx_runtime`). Weights are quantised dynamically to int8 per output
channel (activations stay float, quantised per call); the export is checked against the fp32 torch encoder on
sample texts and refused below ``min_mean_cosine``.

With ``fused=True``, before quantisation the fp32 graph goes through ONNX Runtime's transformer optimizer
(``onnxruntime.transformers``, BERT fusions, shipped with onnxruntime): each layer's attention becomes one
``Attention`` op (quantised to ``QAttention``), residual + LayerNorm ``SkipLayerNormalization``, bias + GELU
``BiasGelu``. The encoder is traced with eager attention (the SDPA trace is not a pattern the fusion knows). The
manifest records the fusion applied (or none) and the op counts before and after.
"""

from __future__ import annotations

import json
import re
import shutil
import tempfile
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from riskmine.models.encoder.load import Encoder, EncoderUnavailable, require_ml
from riskmine.models.encoder.onnx_runtime import (
    MANIFEST_FILE,
    ONNX_FILE,
    TOKENIZER_FILE,
    OnnxEncoder,
    file_sha256,
    load_onnx_encoder,
    open_session,
    open_tokenizer,
)

MIN_MEAN_COSINE = 0.995
OPSET = 17
PROBE_TEXTS = 64  # texts the sensitivity of each layer is measured on
FFN_DOWN = re.compile(r"layer\.\d+/output/dense/MatMul$")  # not attention/output/dense
FUSION_MODEL_TYPE = "bert"  # XLM-R's layers are BERT's
# the ops the fusion makes and their quantised forms: what the manifest counts in the served graph
FUSED_OPS = (
    "Attention",
    "QAttention",
    "SkipLayerNormalization",
    "BiasGelu",
    "FastGelu",
    "Gelu",
    "EmbedLayerNormalization",
    "MatMulInteger",
    "MatMul",
)


class ExportError(EncoderUnavailable):
    """The exported encoder does not agree with the torch encoder it came from."""

    code = "encoder_export_failed"


@dataclass(frozen=True)
class ExportReport:
    folder: Path
    quantization: str
    mean_cosine: float
    min_cosine: float
    texts: int
    megabytes: float

    def summary(self) -> dict[str, Any]:
        return {
            "quantization": self.quantization,
            "mean_cosine_to_fp32": round(self.mean_cosine, 5),
            "min_cosine_to_fp32": round(self.min_cosine, 5),
            "checked_texts": self.texts,
            "megabytes": round(self.megabytes, 1),
        }


def _pooled_module(model: Any) -> Any:
    torch, _ = require_ml()

    class Pooled(torch.nn.Module):  # type: ignore[name-defined]
        def __init__(self) -> None:
            super().__init__()
            self.model = model

        def forward(self, input_ids: Any, attention_mask: Any) -> Any:
            hidden = self.model(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
            mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1.0)
            return torch.nn.functional.normalize(pooled, p=2, dim=1)

    return Pooled().eval()


def _write_tokenizer(encoder: Encoder, dest: Path) -> None:
    source = encoder.path / TOKENIZER_FILE
    if source.is_file():
        shutil.copyfile(source, dest)
    else:
        encoder.tokenizer.backend_tokenizer.save(str(dest))


@contextmanager
def _eager_attention(model: Any) -> Iterator[None]:
    """Attention as explicit MatMul/Softmax while tracing (the pattern the Attention fusion matches), restored after."""
    config = getattr(model, "config", None)
    previous = getattr(config, "_attn_implementation", None)
    if config is None or previous in (None, "eager"):
        yield
        return
    setter = getattr(model, "set_attn_implementation", None)
    try:
        if callable(setter):
            setter("eager")
        else:
            config._attn_implementation = "eager"
        yield
    finally:
        if callable(setter):
            setter(previous)
        else:
            config._attn_implementation = previous


def _export_fp32(encoder: Encoder, dest: Path) -> None:
    torch, _ = require_ml()
    sample = encoder.tokenize(["样例文本：充电宝冒烟", "短"])
    args = (sample["input_ids"], sample["attention_mask"])
    with torch.inference_mode(), _eager_attention(encoder.model):
        torch.onnx.export(
            _pooled_module(encoder.model),
            args,
            str(dest),
            input_names=["input_ids", "attention_mask"],
            output_names=["embedding"],
            dynamic_axes={"input_ids": {0: "batch", 1: "tokens"}, "attention_mask": {0: "batch", 1: "tokens"}},
            opset_version=OPSET,
            dynamo=False,
            external_data=False,
        )


def op_counts(model_file: Path) -> dict[str, int]:
    """How many nodes of each op type the graph in ``model_file`` holds, most frequent first."""
    import onnx

    graph = onnx.load(str(model_file), load_external_data=False).graph
    return dict(Counter(node.op_type for node in graph.node).most_common())


def fuse(src: Path, dest: Path, num_heads: int, hidden_size: int) -> dict[str, Any]:
    """Write ``src`` with ONNX Runtime's BERT fusions applied (Python fusions only, ``opt_level=0``: the graph stays
    portable; the session applies ORT_ENABLE_ALL on load) to ``dest``; the op counts before and after."""
    from onnxruntime.transformers.optimizer import optimize_model

    optimized = optimize_model(
        str(src), model_type=FUSION_MODEL_TYPE, num_heads=num_heads, hidden_size=hidden_size, opt_level=0
    )
    optimized.save_model_to_file(str(dest))
    before, after = op_counts(src), op_counts(dest)
    return {
        "fusion": f"onnxruntime.transformers optimize_model, model_type={FUSION_MODEL_TYPE}, opt_level=0",
        "nodes_before": sum(before.values()),
        "nodes_after": sum(after.values()),
        "ops_before": {op: before[op] for op in FUSED_OPS if op in before},
        "ops_after": {op: after[op] for op in FUSED_OPS if op in after},
    }


def _quantize(src: Path, dest: Path, exclude: Sequence[str] = ()) -> None:
    """int8 weights per output channel for every MatMul, fused Attention (QAttention) and the embedding table
    (Gather) but ``exclude``: 112 MiB for multilingual-e5-small instead of 448 (the table alone is 384 MiB in
    float)."""
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    quantize_dynamic(
        str(src),
        str(dest),
        per_channel=True,
        weight_type=QuantType.QInt8,
        op_types_to_quantize=["MatMul", "Gather", "Attention"],
        nodes_to_exclude=list(exclude),
        # the fused ops are contrib ops that ONNX shape inference does not type
        extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT},
    )


def _cosines(model_file: Path, tokenizer_file: Path, encoder: Encoder, texts: list[str], reference: np.ndarray) -> Any:
    probe = OnnxEncoder(
        open_session(model_file, encoder.threads or 1),
        open_tokenizer(tokenizer_file, encoder.max_length),
        model_file.parent,
        encoder.name,
        encoder.prefix,
        encoder.max_length,
        encoder.threads or 1,
        {"dim": encoder.dim},
        int(encoder.tokenizer.pad_token_id),
    )
    return _cosine(probe.embed(texts), reference)


def _cosine(a: np.ndarray, b: np.ndarray) -> Any:
    """Row-wise cosine similarity."""
    return np.sum(a * b, axis=1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1) + 1e-12)


def _pad(encoder: Encoder) -> str:
    return str(encoder.tokenizer.pad_token)


def _by_sensitivity(
    fp32: Path, tokenizer_file: Path, encoder: Encoder, texts: list[str], reference: np.ndarray
) -> list[str]:
    """The feed-forward down projections, the one whose quantisation alone moves the embeddings most first (their
    inputs, after GELU, carry the activation outliers that per-call int8 scales handle worst)."""
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    names = [n.name for n in onnx.load(str(fp32)).graph.node if n.op_type == "MatMul" and FFN_DOWN.search(n.name)]
    drops = []
    probe = fp32.parent / "probe.onnx"
    for name in names:
        quantize_dynamic(
            str(fp32),
            str(probe),
            per_channel=True,
            weight_type=QuantType.QInt8,
            nodes_to_quantize=[name],
            extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT},
        )
        drops.append((1.0 - float(_cosines(probe, tokenizer_file, encoder, texts, reference).mean()), name))
    return [name for _, name in sorted(drops, reverse=True)]


def export_encoder(
    encoder: Encoder,
    folder: Path,
    check_texts: Sequence[str],
    *,
    quantize: bool = True,
    fused: bool = False,
    min_mean_cosine: float = MIN_MEAN_COSINE,
) -> ExportReport:
    """Write ``encoder`` (its current weights) as an ONNX export into ``folder`` and check it on ``check_texts``.

    Quantised, every MatMul gets int8 weights; when that leaves the mean cosine to torch fp32 below
    ``min_mean_cosine``, the most sensitive feed-forward down projections stay float, one at a time, until it
    does not (the manifest lists them). ``fused`` applies the transformer fusions first: off by default, as
    at the batch served on one thread (8) the fused int8 graph measured 11 % slower than the unfused one
    (61 against 69 texts/s; faster at batch 32); ``python -m bench.encoder_speed --checkpoint`` compares them."""
    if not check_texts:
        raise ValueError("export_encoder needs texts to check the export on")
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    texts = list(check_texts)
    reference = encoder.embed(texts)
    kept_float: list[str] = []
    with tempfile.TemporaryDirectory(prefix="onnx-export-") as tmp:
        fp32 = Path(tmp) / "fp32.onnx"
        _export_fp32(encoder, fp32)
        optimization: dict[str, Any] = {"fusion": None}
        if fused:
            config = encoder.model.config
            optimization = fuse(fp32, Path(tmp) / "fused.onnx", config.num_attention_heads, config.hidden_size)
            fp32 = Path(tmp) / "fused.onnx"
        tokenizer_file = Path(tmp) / TOKENIZER_FILE
        _write_tokenizer(encoder, tokenizer_file)
        chosen = fp32
        if quantize:
            chosen = Path(tmp) / "int8.onnx"
            _quantize(fp32, chosen)
            if _cosines(chosen, tokenizer_file, encoder, texts, reference).mean() < min_mean_cosine:
                probe_texts = texts[:PROBE_TEXTS]
                for name in _by_sensitivity(fp32, tokenizer_file, encoder, probe_texts, reference[: len(probe_texts)]):
                    kept_float.append(name)
                    _quantize(fp32, chosen, kept_float)
                    if _cosines(chosen, tokenizer_file, encoder, texts, reference).mean() >= min_mean_cosine:
                        break
        shutil.copyfile(chosen, folder / ONNX_FILE)
        shutil.copyfile(tokenizer_file, folder / TOKENIZER_FILE)
        served = op_counts(chosen)
        optimization["ops_served"] = {op: served[op] for op in FUSED_OPS if op in served}
    manifest = {
        "name": encoder.name,
        "prefix": encoder.prefix,
        "max_length": encoder.max_length,
        "pad_id": int(encoder.tokenizer.pad_token_id),
        "pad_token": _pad(encoder),
        "dim": encoder.dim,
        "opset": OPSET,
        "quantization": "int8 dynamic, per channel (QInt8 weights)" if quantize else "fp32",
        "kept_float": kept_float,
        "optimization": optimization,
        "sha256": file_sha256(folder / ONNX_FILE),
    }
    (folder / MANIFEST_FILE).write_text(json.dumps(manifest, ensure_ascii=False, indent=2) + "\n", "utf-8")
    cosine = _cosine(reference, load_onnx_encoder(folder, threads=encoder.threads or 1).embed(texts))
    report = ExportReport(
        folder,
        str(manifest["quantization"]),
        float(cosine.mean()),
        float(cosine.min()),
        len(texts),
        (folder / ONNX_FILE).stat().st_size / 2**20,
    )
    manifest["check"] = report.summary()
    (folder / MANIFEST_FILE).write_text(json.dumps(manifest, ensure_ascii=False, indent=2) + "\n", "utf-8")
    if report.mean_cosine < min_mean_cosine:
        for name in (ONNX_FILE, TOKENIZER_FILE, MANIFEST_FILE):
            (folder / name).unlink(missing_ok=True)
        raise ExportError(
            f"the ONNX export of {encoder.name} agrees with the torch encoder at mean cosine "
            f"{report.mean_cosine:.4f} (< {min_mean_cosine}) on {len(texts)} texts; not served"
        )
    return report
