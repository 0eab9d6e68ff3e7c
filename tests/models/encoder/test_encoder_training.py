"""Training, saving, serving and evaluating the cascade, on a tiny real checkpoint (RISKMINE_ENCODER_PATH)."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from riskmine.models import registry
from riskmine.models.corpus import InsufficientDataError
from riskmine.models.encoder.load import ENCODER_ENV, EncoderUnavailable
from riskmine.models.registry import (
    CASCADE_NAME,
    MODEL_NAME,
    current_version,
    load_model,
    load_serving,
    serving_name,
)
from riskmine.settings import Settings, SettingsError, get_settings
from tests.models.corpus_factory import corpus_rows
from tests.models.encoder.tiny_checkpoint import write_tiny_checkpoint

pytest.importorskip("torch")
pytest.importorskip("transformers")

TEXTS = ["插线板冒烟起火，插头都烧焦了", "物流很快，包装完好", "儿童玩具的小零件容易脱落，孩子差点吞下去"]


@pytest.fixture(scope="module")
def tiny_encoder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    texts = [row["text"] for row in corpus_rows()] + TEXTS
    return write_tiny_checkpoint(tmp_path_factory.mktemp("encoder") / "tiny", texts)


@pytest.fixture
def settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, tiny_encoder: Path) -> Iterator[Settings]:
    """Own models folder (a cascade there must not change what other tests serve) and the tiny encoder."""
    monkeypatch.setenv("RISKMINE_MODELS_DIR", str(tmp_path / "models"))
    monkeypatch.setenv(ENCODER_ENV, str(tiny_encoder))
    monkeypatch.delenv("RISKMINE_RISK_MODEL", raising=False)
    get_settings.cache_clear()
    yield get_settings()
    get_settings.cache_clear()


@pytest.fixture
def trained(settings: Settings, corpus_file: Path) -> object:
    from riskmine.models.encoder.training import train_cascade_and_register

    return train_cascade_and_register(settings, corpus_path=corpus_file, max_share=0.2, transformer="head")


def test_train_registers_baseline_and_cascade_with_card(settings: Settings, trained: object) -> None:
    from riskmine.models.encoder.cascade import CascadeModel
    from riskmine.models.training import TrainResult

    assert isinstance(trained, TrainResult) and isinstance(trained.model, CascadeModel)
    model, card = trained.model, trained.card
    assert current_version(settings, CASCADE_NAME) == trained.version
    assert current_version(settings, MODEL_NAME) == card["baseline_version"] == model.baseline.version
    assert card["encoder"] == "tiny-xlmr@00000000"
    band = model.band
    assert band.low <= model.baseline.threshold <= band.high and band.share <= 0.2
    dev = card["evaluation"]["dev"]
    assert dev["routed"]["share"] <= 0.2 + 1e-9 and dev["risk"]["f1"] > 0.5
    assert card["transformer_dev"]["speed"]["texts_per_second"] > 0
    saved = json.loads((trained.saved.path / "card.json").read_text(encoding="utf-8"))
    assert saved["model"]["band"]["low"] == pytest.approx(band.low)


def test_auto_serves_the_cascade_once_trained(
    settings: Settings, corpus_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from riskmine.models.training import train_and_register

    train_and_register(settings, corpus_path=corpus_file)
    assert serving_name(settings) == MODEL_NAME  # no cascade yet
    from riskmine.models.encoder.training import train_cascade_and_register

    train_cascade_and_register(settings, corpus_path=corpus_file, max_share=0.2, transformer="head")
    assert serving_name(settings) == CASCADE_NAME
    monkeypatch.setenv("RISKMINE_RISK_MODEL", MODEL_NAME)
    get_settings.cache_clear()
    assert serving_name(get_settings()) == MODEL_NAME
    monkeypatch.setenv("RISKMINE_RISK_MODEL", "risk-bert")
    get_settings.cache_clear()
    with pytest.raises(SettingsError, match="RISKMINE_RISK_MODEL"):
        get_settings()  # refused when the settings are read, before any model is asked for


def test_saved_cascade_loads_its_encoder_lazily_and_predicts_the_same(settings: Settings, trained: object) -> None:
    from riskmine.models.encoder.cascade import CascadeModel

    in_memory = trained.model  # type: ignore[attr-defined]
    registry._cache.clear()
    loaded = load_serving(settings)
    assert isinstance(loaded, CascadeModel) and loaded.transformer.encoder is None
    texts = TEXTS * 4
    got, want = loaded.predict(texts), in_memory.predict(texts)
    assert np.allclose(got.risk, want.risk) and np.array_equal(got.flagged, want.flagged)
    assert np.allclose(loaded.transformer.score_texts(texts), in_memory.transformer.score_texts(texts))
    assert loaded.transformer.encoder is not None  # loaded on first use, from RISKMINE_ENCODER_PATH


@pytest.mark.parametrize(
    ("kind", "message"), [("trained", "trained on the encoder tiny-xlmr"), ("finetuned", "fine-tuned from the encoder")]
)
def test_a_different_encoder_is_refused(
    settings: Settings,
    kind: str,
    message: str,
    request: pytest.FixtureRequest,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from riskmine.models.encoder import load

    result = request.getfixturevalue(kind)  # a cascade with a frozen-embedding head, or with the fine-tuned encoder
    if kind == "finetuned":  # its ONNX export carries the encoder; a version saved without one applies the weights
        shutil.rmtree(result.saved.path / "encoder")
    other = write_tiny_checkpoint(tmp_path / "other", TEXTS, name="another-encoder", seed=1)
    monkeypatch.setenv(ENCODER_ENV, str(other))
    load._loaded.clear()
    registry._cache.clear()
    model = load_model(None, settings, CASCADE_NAME)
    with pytest.raises(EncoderUnavailable, match=message):
        model.transformer.score_texts(TEXTS)  # type: ignore[attr-defined]


def test_classify_stage_serves_the_cascade(settings: Settings, trained: object) -> None:
    from riskmine.nlp.base import StageContext
    from riskmine.nlp.classify import make_classify
    from riskmine.schema import RawDocument, Signal, SourceType

    registry._cache.clear()
    stage = make_classify(StageContext(settings=settings))
    batch = [Signal.from_document(RawDocument(source="test", source_type=SourceType.review, text=t)) for t in TEXTS]
    for sig in batch:
        sig.normalized_text = sig.document.text
    stage(batch)
    assert all(s.model_versions["risk"] == f"{CASCADE_NAME}@{trained.version}" for s in batch)  # type: ignore[attr-defined]
    assert batch[0].is_risk and not batch[1].is_risk


def test_band_needs_dev_with_both_classes(settings: Settings, write_corpus: object) -> None:
    from riskmine.models.encoder.training import train_cascade_and_register

    rows = [r for r in corpus_rows() if not (r["split"] == "dev" and r["is_risk"])]
    path = write_corpus(rows)  # type: ignore[operator]
    with pytest.raises(InsufficientDataError, match="band is chosen on dev"):
        train_cascade_and_register(settings, corpus_path=path)


def test_cli_trains_lists_and_evaluates_the_cascade(settings: Settings, corpus_file: Path) -> None:
    from riskmine.models.cli import app

    runner = CliRunner()
    result = runner.invoke(app, ["train", "--corpus", str(corpus_file), "--cascade", "--max-share", "0.2"])
    assert result.exit_code == 0, result.output
    assert "risk-cascade" in result.output and "to the transformer" in result.output
    listed = runner.invoke(app, ["list"])
    assert listed.exit_code == 0 and "risk-cascade" in listed.output and "risk-baseline" in listed.output
    evaluated = runner.invoke(app, ["evaluate", "--model", CASCADE_NAME, "--split", "test"])
    assert evaluated.exit_code == 0, evaluated.output
    assert "the transformer decided" in evaluated.output
    card = json.loads(
        (settings.models_path / CASCADE_NAME / current_version(settings, CASCADE_NAME) / "card.json").read_text()  # type: ignore[operator]
    )
    assert card["evaluation"]["test"]["routed"]["texts"] >= 0
    bad = runner.invoke(app, ["evaluate", "--model", "risk-bert"])
    assert bad.exit_code == 2 and "--model must be one of" in bad.output


def test_cli_cascade_max_share_is_checked(settings: Settings, corpus_file: Path) -> None:
    from riskmine.models.cli import app

    result = CliRunner().invoke(app, ["train", "--corpus", str(corpus_file), "--cascade", "--max-share", "1.5"])
    assert result.exit_code == 2 and "--max-share must lie in [0, 1]" in result.output


@pytest.fixture
def finetuned(settings: Settings, corpus_file: Path) -> object:
    from riskmine.models.encoder.finetune import FinetuneConfig
    from riskmine.models.encoder.training import train_cascade_and_register

    config = FinetuneConfig(epochs=2, batch_size=8, lr=1e-3, head_lr=1e-2, threads=1)
    return train_cascade_and_register(
        settings, corpus_path=corpus_file, max_share=0.2, transformer="finetune", finetune_config=config
    )


def test_finetuned_cascade_saves_the_tuned_weights_and_reloads_them(settings: Settings, finetuned: object) -> None:
    from riskmine.models.encoder.finetune import FinetunedModel

    model, card = finetuned.model, finetuned.card  # type: ignore[attr-defined]
    tuned = model.transformer
    assert isinstance(tuned, FinetunedModel)
    assert card["model"]["transformer"]["name"] == "risk-e5-finetuned"
    training = card["model"]["transformer"]["training"]
    assert training["steps"] >= 1 and training["examples_seen"] >= 8
    # only the word-embedding table stays frozen; every other parameter was saved
    assert "embeddings.word_embeddings.weight" not in tuned.weights
    assert "encoder.layer.0.attention.self.query.weight" in tuned.weights
    # the tuned encoder was exported for ONNX Runtime (int8) into the version folder, checked against torch fp32,
    # and the threshold was chosen on the export's scores (what is served)
    saved = finetuned.saved.path  # type: ignore[attr-defined]
    assert {p.name for p in (saved / "encoder").iterdir()} == {"encoder.onnx", "encoder.json", "tokenizer.json"}
    check = card["artifacts"]["onnx"]
    assert check["mean_cosine_to_fp32"] >= 0.995 and check["checked_texts"] > 0
    assert "int8" in check["quantization"] and training["onnx"] == check
    # what int8 costs in dev F1, beside the unquantised encoder at the same thresholds and band
    effect = check["dev"]
    assert effect["dev_texts"] == card["corpus"]["dev"]["examples"] and 0 <= effect["routed"] <= effect["dev_texts"]
    for key in ("transformer_f1_fp32", "transformer_f1_int8", "cascade_f1_fp32", "cascade_f1_int8"):
        assert 0.0 <= effect[key] <= 1.0
    assert abs(effect["cascade_f1_int8"] - effect["cascade_f1_fp32"]) <= 0.05
    registry._cache.clear()
    loaded = load_serving(settings)
    again = loaded.transformer  # type: ignore[attr-defined]
    assert isinstance(again, FinetunedModel) and again._encoder is None
    texts = TEXTS * 3
    assert np.allclose(again.score_texts(texts), tuned.score_texts(texts), atol=1e-6)
    assert again._onnx is not None and again._encoder is None  # served by the export, not by torch
    # the base checkpoint the process shares is not modified by applying the tuned weights
    from riskmine.models.encoder.load import load_encoder

    base = load_encoder(settings)
    name = "encoder.layer.0.attention.self.query.weight"
    assert not np.allclose(base.model.state_dict()[name].numpy(), tuned.weights[name])


def test_tuning_only_the_top_layers_keeps_the_lower_ones_and_refuses_a_bad_count(
    settings: Settings, corpus_file: Path
) -> None:
    from riskmine.models.corpus import as_served, load_corpus
    from riskmine.models.encoder.finetune import FinetuneConfig, finetune
    from riskmine.models.encoder.load import load_checkpoint, load_encoder

    corpus = load_corpus(corpus_file)
    path = load_encoder(settings).path
    config = FinetuneConfig(epochs=1, batch_size=8, lr=1e-3, head_lr=1e-2, threads=1, train_layers=1)
    steps: list[tuple[int, int, float, float]] = []
    tuned, run = finetune(
        load_checkpoint(path),
        as_served(corpus.train),
        as_served(corpus.dev),
        config,
        on_step=lambda *a: steps.append(a),
    )
    assert tuned.weights and all(name.startswith("encoder.layer.1.") for name in tuned.weights)
    # progress: every step reported with the total, the epochs done and the loss
    assert [s[0] for s in steps] == list(range(1, run.steps + 1)) and {s[1] for s in steps} == {run.steps}
    assert 0 < steps[0][2] < steps[-1][2] <= 1.0 + 8 / len(corpus.train) and steps[-1][3] == run.losses[-1]
    with pytest.raises(ValueError, match=r"train_layers must lie in \[0, 2\]"):
        finetune(load_checkpoint(path), as_served(corpus.train), (), FinetuneConfig(train_layers=3))


def test_held_out_cascade_folds_against_the_baseline_on_the_same_splits(
    settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from riskmine.cli import app
    from riskmine.models.encoder.finetune import FinetuneConfig
    from tests.models.corpus_factory import write_jsonl
    from tests.models.test_heldout import GROUPS, grouped_rows

    quick = FinetuneConfig(epochs=1, batch_size=8, lr=1e-3, head_lr=1e-2, threads=1, train_layers=1)
    monkeypatch.setattr("riskmine.models.encoder.training.HELD_OUT_FINETUNE", quick)
    corpus = write_jsonl(tmp_path / "labels.jsonl", grouped_rows())
    out = tmp_path / "cascade.json"
    args = ["models", "evaluate", "--held-out", "source", "--model", "risk-cascade", "--folds", "2"]
    result = CliRunner().invoke(app, [*args, "--corpus", str(corpus), "--out", str(out)])
    assert result.exit_code == 0, result.output
    table = json.loads(out.read_text(encoding="utf-8"))
    assert set(table) == {"corpus", "risk-baseline", "risk-cascade"}
    for name in ("risk-baseline", "risk-cascade"):
        assert set(table[name]["groups"]) == set(GROUPS)
        assert sorted(g for fold in table[name]["folds"] for g in fold) == sorted(GROUPS)


def test_an_exported_cascade_is_served_without_torch_or_the_checkpoint(
    settings: Settings, finetuned: object, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from riskmine.models.encoder import finetune as finetune_module

    def no_torch() -> None:
        raise EncoderUnavailable("torch is not installed here")

    expected = finetuned.model.predict(TEXTS * 2).risk  # type: ignore[attr-defined]
    monkeypatch.setattr(registry, "ml_available", lambda: False)
    monkeypatch.setattr(finetune_module, "require_ml", no_torch)
    monkeypatch.setenv(ENCODER_ENV, str(tmp_path / "no-such-checkpoint"))
    registry._cache.clear()
    assert serving_name(settings) == CASCADE_NAME
    served = load_serving(settings)
    assert np.allclose(served.predict(TEXTS * 2).risk, expected, atol=1e-6)


def test_export_makes_a_version_saved_without_an_export_servable_again(
    settings: Settings, finetuned: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    from riskmine.cli import app

    saved, version = finetuned.saved.path, finetuned.version  # type: ignore[attr-defined]
    shutil.rmtree(saved / "encoder")  # as a version trained before the export was made
    card = json.loads((saved / "card.json").read_text(encoding="utf-8"))
    del card["artifacts"]
    (saved / "card.json").write_text(json.dumps(card), encoding="utf-8")
    registry._cache.clear()
    monkeypatch.setattr(registry, "ml_available", lambda: False)
    assert serving_name(settings) == MODEL_NAME  # neither torch nor an export: the baseline serves
    torch_scores = load_model(version, settings, CASCADE_NAME).transformer.score_texts(TEXTS)  # type: ignore[attr-defined]

    result = CliRunner().invoke(app, ["models", "export", version])
    assert result.exit_code == 0, result.output
    assert "int8" in result.output and "mean" in result.output and "dev F1" in result.output
    card = json.loads((saved / "card.json").read_text(encoding="utf-8"))
    assert set(card["artifacts"]["onnx"]["dev"]) >= {"transformer_f1_fp32", "transformer_f1_int8", "cascade_f1_int8"}
    assert (saved / "encoder" / "encoder.onnx").is_file()
    assert serving_name(settings) == CASCADE_NAME
    registry._cache.clear()
    exported = load_model(version, settings, CASCADE_NAME).transformer.score_texts(TEXTS)  # type: ignore[attr-defined]
    assert np.allclose(exported, torch_scores, atol=0.05)
