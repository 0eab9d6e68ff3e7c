from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from riskmine.models.cli import app
from riskmine.models.registry import current_version, read_card
from riskmine.settings import Settings, get_settings
from tests.models.corpus_factory import write_jsonl

runner = CliRunner()


@pytest.fixture
def models_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "models"
    monkeypatch.setenv("RISKMINE_MODELS_DIR", str(path))
    get_settings.cache_clear()
    return path


def test_train_list_evaluate(models_dir: Path, corpus_file: Path, tmp_path: Path) -> None:
    feedback = write_jsonl(
        tmp_path / "feedback.jsonl",
        [{"id": "fb-1", "text": "电动车电池在楼道充电时起火，烧坏了邻居家的门", "is_risk": True, "hazards": ["fire"]}],
    )
    result = runner.invoke(app, ["train", "--corpus", str(corpus_file), "--with-feedback", str(feedback)])
    assert result.exit_code == 0, result.output
    assert "trained risk-baseline version" in result.output
    assert "1 added to train" in result.output
    assert "hazard accuracy" in result.output
    settings = Settings(models_dir=models_dir)
    version = current_version(settings)
    assert version is not None

    listed = runner.invoke(app, ["list"])
    assert listed.exit_code == 0, listed.output
    assert version in listed.output

    evaluated = runner.invoke(app, ["evaluate", "--split", "test"])
    assert evaluated.exit_code == 0, evaluated.output
    assert "on test" in evaluated.output
    card = read_card(version, settings)
    assert set(card["evaluation"]) == {"dev", "test"}
    assert card["evaluation"]["test"]["examples"] > 0


def test_invalid_corpus_is_an_error_message_not_a_traceback(models_dir: Path, tmp_path: Path) -> None:
    bad = tmp_path / "labels.jsonl"
    bad.write_text(json.dumps({"id": "a", "text": "漏电", "is_risk": "maybe", "split": "train"}) + "\n", "utf-8")
    result = runner.invoke(app, ["train", "--corpus", str(bad)])
    assert result.exit_code == 2
    assert "error (corpus_invalid)" in result.output
    assert "line 1: field 'is_risk'" in result.output
    assert "Traceback" not in result.output


def test_evaluate_and_list_without_a_model(models_dir: Path) -> None:
    result = runner.invoke(app, ["evaluate"])
    assert result.exit_code == 2
    assert "error (model_not_found)" in result.output
    listed = runner.invoke(app, ["list"])
    assert listed.exit_code == 0
    assert "no trained models" in listed.output


def test_bad_split_is_refused(models_dir: Path) -> None:
    result = runner.invoke(app, ["evaluate", "--split", "train"])
    assert result.exit_code == 2
    assert "--split must be dev or test" in result.output
