"""The transformer tier served by ONNX Runtime, without torch: the committed tiny export reproduces torch.

``data/tiny-export`` was written by :mod:`tests.models.encoder.make_tiny_export` (with torch) from the tiny random
checkpoint, with the torch fp32 embeddings of its texts beside it. Nothing here imports torch.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from riskmine.models.encoder.finetune import EXPORT_DIR, FinetunedModel
from riskmine.models.encoder.load import EncoderUnavailable
from riskmine.models.encoder.onnx_runtime import (
    MANIFEST_FILE,
    ONNX_FILE,
    has_export,
    head_probability,
    load_onnx_encoder,
)

from .make_tiny_export import FOLDER, REFERENCE

REF = json.loads((FOLDER / REFERENCE).read_text(encoding="utf-8"))
TEXTS: list[str] = REF["texts"]
TORCH = np.asarray(REF["embeddings"], dtype=np.float32)
NAME = json.loads((FOLDER / MANIFEST_FILE).read_text(encoding="utf-8"))["name"]


def cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.asarray(np.sum(a * b, axis=1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1)))


def copy_export(dest: Path) -> Path:
    shutil.copytree(FOLDER, dest)
    return dest


def test_the_export_reproduces_the_torch_embeddings() -> None:
    encoder = load_onnx_encoder(FOLDER)
    out = encoder.embed(TEXTS)
    assert out.shape == TORCH.shape and out.dtype == np.float32
    assert cosines(out, TORCH).min() >= 0.995  # int8 weights against torch fp32, the long text truncated alike
    assert np.allclose(np.linalg.norm(out, axis=1), 1.0, atol=1e-5)


def test_embeddings_do_not_depend_on_batching_or_order() -> None:
    encoder = load_onnx_encoder(FOLDER)
    whole = encoder.embed(TEXTS, batch_size=32)
    one_by_one = encoder.embed(TEXTS, batch_size=1)
    reversed_ = encoder.embed(TEXTS[::-1], batch_size=2)[::-1]
    # activations are quantised per call (their scale depends on the batch), so batching moves the 5th decimal
    assert np.allclose(whole, one_by_one, atol=1e-3) and np.allclose(whole, reversed_, atol=1e-3)
    assert encoder.embed([]).shape == (0, encoder.dim)


def test_a_changed_or_incomplete_export_is_refused(tmp_path: Path) -> None:
    changed = copy_export(tmp_path / "changed")
    with (changed / ONNX_FILE).open("ab") as fh:
        fh.write(b"\0")
    with pytest.raises(EncoderUnavailable, match="changed since it was exported"):
        load_onnx_encoder(changed)
    incomplete = copy_export(tmp_path / "incomplete")
    (incomplete / "tokenizer.json").unlink()
    assert not has_export(incomplete)
    with pytest.raises(EncoderUnavailable, match="no exported encoder"):
        load_onnx_encoder(incomplete)
    with pytest.raises(EncoderUnavailable, match="not another-encoder"):
        load_onnx_encoder(FOLDER, expect_name="another-encoder")


def test_head_probability_is_the_softmax_of_two_logits() -> None:
    rng = np.random.default_rng(0)
    emb, weight, bias = rng.normal(size=(5, 4)), rng.normal(size=(2, 4)), rng.normal(size=2)
    logits = emb * 20.0 @ weight.T + bias
    expected = np.exp(logits[:, 1]) / np.exp(logits).sum(axis=1)
    assert np.allclose(head_probability(emb, (weight, bias), 20.0), expected)
    huge = head_probability(emb * 1e6, (weight, bias), 20.0)  # no overflow
    assert np.all(np.isfinite(huge))


def test_a_saved_fine_tuned_model_scores_from_its_export_without_torch(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    head = (rng.normal(size=(2, TORCH.shape[1])).astype(np.float32), rng.normal(size=2).astype(np.float32))
    model = FinetunedModel(NAME, {}, head, logit_scale=20.0, max_length=64)  # weights: only torch needs them
    version = tmp_path / "version"
    copy_export(version / EXPORT_DIR)
    model.locate(version)
    scores = model.score_texts(TEXTS)
    assert np.allclose(scores, head_probability(TORCH, head, 20.0), atol=0.02)
    assert model._encoder is None and model._onnx is not None


def test_a_version_without_an_export_needs_torch_or_names_what_is_missing(tmp_path: Path) -> None:
    try:
        import torch  # noqa: F401
    except ImportError:
        model = FinetunedModel(NAME, {}, (np.zeros((2, 32)), np.zeros(2)), logit_scale=20.0, max_length=64)
        model.locate(tmp_path / "version-without-export")
        with pytest.raises(EncoderUnavailable, match=r"riskmine\[ml\]"):
            model.score_texts(TEXTS)
    else:
        pytest.skip("torch is installed here: a version without an export is served by torch")


def test_session_runs_take_at_most_max_batch_texts_of_similar_token_length() -> None:
    import dataclasses

    encoder = load_onnx_encoder(FOLDER)
    widths: list[tuple[int, int]] = []

    class Counting:  # the real session, its inputs' shapes recorded
        def run(self, names: list[str], feed: dict[str, np.ndarray]) -> list[np.ndarray]:
            widths.append(feed["input_ids"].shape)
            return list(encoder.session.run(names, feed))

    capped = dataclasses.replace(encoder, session=Counting(), max_batch=2)
    out = capped.embed(TEXTS, batch_size=32)
    assert [rows for rows, _ in widths] == [2, 2, 2]  # 6 texts, at most 2 per run whatever the caller asks
    assert [w for _, w in widths] == sorted(w for _, w in widths)  # shortest first: padding only within a batch
    assert np.allclose(out, encoder.embed(TEXTS), atol=1e-3)
