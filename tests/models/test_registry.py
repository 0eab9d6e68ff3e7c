from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest

from riskmine.models import registry
from riskmine.models.corpus import CORPUS_ENV, CorpusError
from riskmine.models.registry import (
    ModelLoadError,
    ModelNotFoundError,
    current_version,
    ensure_model,
    list_versions,
    load_model,
    load_serving,
    make_version,
    read_card,
    set_current,
)
from riskmine.models.training import train_and_register
from riskmine.settings import Settings

TEXTS = ["插线板冒烟起火，插头都烧焦了", "物流很快，包装完好"]


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(var_dir=tmp_path / "var", models_dir=tmp_path / "models")


def test_version_is_utc_time_plus_data_hash() -> None:
    from datetime import UTC, datetime

    assert make_version("ab12cd34ef", datetime(2025, 3, 1, 10, 15, 0, tzinfo=UTC)) == "20250301T101500Z-ab12cd34"


def test_train_saves_a_version_with_card_and_serves_it(settings: Settings, corpus_file: Path) -> None:
    result = train_and_register(settings, corpus_path=corpus_file)
    version_dir = settings.models_path / "risk-baseline" / result.version
    assert re.fullmatch(r"\d{8}T\d{6}Z-[0-9a-f]{8}", result.version)
    assert (version_dir / "model.joblib").is_file()
    card = json.loads((version_dir / "card.json").read_text(encoding="utf-8"))
    assert card["version"] == result.version
    assert card["data_hash"].startswith(result.version.split("-")[1])
    assert card["model"]["threshold"] == pytest.approx(result.model.threshold)
    assert card["evaluation"]["dev"]["risk"]["f1"] >= 0.8
    assert card["corpus"]["path"] == str(corpus_file)
    assert current_version(settings) == result.version
    assert (settings.models_path / "risk-baseline" / "current").read_text().strip() == result.version
    assert (version_dir.stat().st_mode & 0o777) == 0o755
    assert ((settings.models_path / "risk-baseline" / "current").stat().st_mode & 0o777) == 0o644

    served = load_serving(settings)
    assert served.version == result.version
    assert served is load_serving(settings)  # loaded once, cached
    np.testing.assert_allclose(served.score_texts(TEXTS), result.model.score_texts(TEXTS))


def test_list_and_switch_versions(settings: Settings, corpus_file: Path) -> None:
    first = train_and_register(settings, corpus_path=corpus_file)
    second = train_and_register(settings, corpus_path=corpus_file, promote=False)
    assert second.version != first.version  # same data and second: a suffix keeps them apart
    versions = list_versions(settings)
    assert [v.version for v in versions] == sorted([first.version, second.version])
    assert [v.current for v in versions if v.version == first.version] == [True]
    set_current(second.version, settings)
    assert load_serving(settings).version == second.version
    with pytest.raises(ModelNotFoundError, match="has no version 'nope'"):
        set_current("nope", settings)


def test_no_model_is_a_clear_error(settings: Settings) -> None:
    with pytest.raises(ModelNotFoundError, match="run `riskmine models train`"):
        load_serving(settings)
    with pytest.raises(ModelNotFoundError, match="version 'v1' is missing"):
        load_model("v1", settings)


def test_ensure_model_trains_once_from_the_corpus_setting(
    tmp_path: Path, corpus_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(CORPUS_ENV, str(corpus_file))
    settings = Settings(var_dir=tmp_path / "var", models_dir=tmp_path / "models")  # reads RISKMINE_CORPUS_PATH
    version = ensure_model(settings)
    assert read_card(version, settings)["corpus"]["path"] == str(corpus_file)
    assert current_version(settings) == version
    assert ensure_model(settings) == version
    assert len(list_versions(settings)) == 1


def test_ensure_model_without_corpus_names_the_path(settings: Settings, tmp_path: Path) -> None:
    with pytest.raises(CorpusError, match="labelled corpus not found"):
        ensure_model(settings, corpus_path=tmp_path / "missing.jsonl")


def test_ensure_model_promotes_the_newest_when_the_pointer_is_gone(settings: Settings, corpus_file: Path) -> None:
    result = train_and_register(settings, corpus_path=corpus_file)
    (settings.models_path / "risk-baseline" / "current").unlink()
    assert current_version(settings) is None
    assert ensure_model(settings) == result.version
    assert current_version(settings) == result.version


def test_damaged_artifact_is_reported_and_ensure_model_retrains(settings: Settings, corpus_file: Path) -> None:
    result = train_and_register(settings, corpus_path=corpus_file)
    (settings.models_path / "risk-baseline" / result.version / "model.joblib").write_bytes(b"not a pickle")
    registry._cache.clear()
    with pytest.raises(ModelLoadError, match=r"cannot load .*retrain"):
        load_serving(settings)
    new_version = ensure_model(settings, corpus_path=corpus_file)
    assert new_version != result.version
    assert load_serving(settings).version == new_version


def test_card_can_be_read_back(settings: Settings, corpus_file: Path) -> None:
    result = train_and_register(settings, corpus_path=corpus_file)
    card = read_card(result.version, settings)
    assert card["model"]["hazard_codes"]
    assert card["corpus"]["train"]["examples"] == result.model.training["train_examples"]
    with pytest.raises(ModelNotFoundError):
        read_card("missing", settings)


def test_a_model_saved_before_the_text_package_split_still_loads_and_scores_the_same() -> None:
    """A baseline pickled at commit 58e088e (stages and text helpers still in riskmine.nlp) loads and predicts."""
    import json

    import joblib
    import sklearn

    fixtures = Path(__file__).resolve().parents[1] / "fixtures" / "models"
    meta = json.loads((fixtures / "baseline-layout-58e088e.json").read_text(encoding="utf-8"))
    if meta["scikit_learn"] != sklearn.__version__:
        pytest.skip(f"the fixture was pickled with scikit-learn {meta['scikit_learn']}, not {sklearn.__version__}")
    model = joblib.load(fixtures / "baseline-layout-58e088e.joblib")
    assert model.version == "layout-58e088e"
    assert model.predict(meta["texts"]).risk == pytest.approx(meta["risk"], abs=1e-6)
