"""The transformer fusions applied at export (issue 18): the fused graph computes what the traced one does.

``data/tiny-fusion`` holds the tiny checkpoint's fp32 graph as traced and after ONNX Runtime's BERT fusions (written
by :mod:`tests.models.encoder.make_tiny_export`); the first tests need only ONNX Runtime, the last one torch.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from riskmine.models.encoder.onnx_runtime import MANIFEST_FILE, load_onnx_encoder, open_session, open_tokenizer

from .make_tiny_export import FOLDER, FUSED, FUSION, REFERENCE_TEXTS, UNFUSED


def padded_batch() -> dict[str, np.ndarray]:
    """The reference texts in one batch padded to the longest (the long one truncated): masks of every length."""
    manifest = json.loads((FOLDER / MANIFEST_FILE).read_text(encoding="utf-8"))
    tokenizer = open_tokenizer(FOLDER / "tokenizer.json", manifest["max_length"])
    tokenizer.enable_padding(pad_id=manifest["pad_id"], pad_token=manifest["pad_token"])
    encodings = tokenizer.encode_batch([manifest["prefix"] + t for t in REFERENCE_TEXTS])
    ids = np.asarray([e.ids for e in encodings], dtype=np.int64)
    mask = np.asarray([e.attention_mask for e in encodings], dtype=np.int64)
    assert 0 < mask.sum(axis=1).min() < mask.shape[1]  # some rows are padded
    return {"input_ids": ids, "attention_mask": mask}


def test_the_fused_graph_gives_the_outputs_of_the_unfused_one() -> None:
    feed = padded_batch()
    unfused = open_session(FUSION / UNFUSED).run(["embedding"], feed)[0]
    fused = open_session(FUSION / FUSED).run(["embedding"], feed)[0]
    assert fused.shape == unfused.shape == (len(REFERENCE_TEXTS), 32)
    assert np.allclose(fused, unfused, atol=1e-5)
    # padding does not leak into the fused attention: each text alone gives its row of the padded batch
    session = open_session(FUSION / FUSED)
    for row, n in enumerate(feed["attention_mask"].sum(axis=1)):
        alone = {k: v[row : row + 1, :n] for k, v in feed.items()}
        assert np.allclose(session.run(["embedding"], alone)[0][0], fused[row], atol=1e-5)


def test_the_fused_graph_is_smaller() -> None:
    assert (FUSION / FUSED).stat().st_size < (FUSION / UNFUSED).stat().st_size


def test_the_manifest_says_which_fusions_the_served_graph_holds() -> None:
    optimization = load_onnx_encoder(FOLDER).manifest["optimization"]
    assert optimization["fusion"].startswith("onnxruntime.transformers optimize_model, model_type=bert")
    assert optimization["nodes_after"] < optimization["nodes_before"]
    # the tiny checkpoint has 2 layers: one (quantised) attention, two skip layer norms and one bias GELU each
    served = optimization["ops_served"]
    assert served["QAttention"] == 2 and served["SkipLayerNormalization"] == 4 and served["BiasGelu"] == 2
    assert "MatMul" not in served  # every remaining weight MatMul is int8
    assert optimization["ops_before"]["MatMul"] == 16 and optimization["ops_after"]["MatMul"] == 6


def test_fused_and_unfused_exports_agree_with_torch(tmp_path: Path) -> None:
    pytest.importorskip("torch")
    pytest.importorskip("onnx")
    from riskmine.models.encoder.load import load_checkpoint
    from riskmine.models.encoder.onnx_export import export_encoder

    from .tiny_checkpoint import write_tiny_checkpoint

    encoder = load_checkpoint(write_tiny_checkpoint(tmp_path / "tiny", REFERENCE_TEXTS), threads=1, max_length=64)
    attention = encoder.model.config._attn_implementation
    export_encoder(encoder, tmp_path / "fused", REFERENCE_TEXTS, quantize=False, fused=True)
    export_encoder(encoder, tmp_path / "unfused", REFERENCE_TEXTS, quantize=False)  # the default
    assert encoder.model.config._attn_implementation == attention  # eager only while tracing
    fused, unfused = load_onnx_encoder(tmp_path / "fused"), load_onnx_encoder(tmp_path / "unfused")
    assert fused.manifest["optimization"]["ops_after"]["Attention"] == 2
    assert unfused.manifest["optimization"]["fusion"] is None
    assert "Attention" not in unfused.manifest["optimization"]["ops_served"]
    assert np.allclose(fused.embed(REFERENCE_TEXTS), unfused.embed(REFERENCE_TEXTS), atol=1e-5)
    assert np.allclose(fused.embed(REFERENCE_TEXTS), encoder.embed(REFERENCE_TEXTS), atol=1e-4)
