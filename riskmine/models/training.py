"""Train the baseline from the labelled corpus, evaluate it on dev, and register the version."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from riskmine.models.baseline import BaselineConfig, BaselineRiskModel, train_baseline
from riskmine.models.corpus import Corpus, as_served, load_corpus
from riskmine.models.evaluate import evaluate_model
from riskmine.models.registry import VersionInfo, make_version, model_root, save_model

if TYPE_CHECKING:
    from riskmine.settings import Settings

M = TypeVar("M")


@dataclass(frozen=True)
class TrainResult(Generic[M]):
    model: M
    card: dict[str, Any]
    saved: VersionInfo

    @property
    def version(self) -> str:
        return self.saved.version


def new_version(settings: Settings | None, name: str, corpus: Corpus, created: datetime) -> str:
    """A version id for a model of ``name`` trained on ``corpus`` at ``created``, not yet taken."""
    root = model_root(settings, name)
    base = make_version(corpus.data_hash(), created)
    version, suffix = base, 1
    while (root / version).exists():
        suffix += 1
        version = f"{base}.{suffix}"
    return version


def build_card(model: BaselineRiskModel, corpus: Corpus, created_at: datetime) -> dict[str, Any]:
    return {
        "name": model.name,
        "version": model.version,
        "created_at": created_at.isoformat(),
        "data_hash": corpus.data_hash(),
        "train_hash": corpus.data_hash(["train"]),
        "corpus": corpus.summary(),
        "model": model.info(),
        "intended_use": (
            "ranking Chinese texts (reviews, news, complaints, recalls, spot checks) by the probability that they "
            "report a product quality-safety risk, for analysts to review; not a decision on its own"
        ),
        "evaluation": {},
    }


def train_and_register(
    settings: Settings | None = None,
    *,
    corpus_path: Path | None = None,
    feedback: Path | None = None,
    corpus: Corpus | None = None,
    config: BaselineConfig | None = None,
    promote: bool = True,
    source_folds: int = 0,
) -> TrainResult[BaselineRiskModel]:
    """Load the corpus (plus feedback), train on train, choose the threshold and evaluate on dev, save.

    ``source_folds`` folds of whole source groups of train+dev choose the thresholds per source type
    (:func:`riskmine.models.heldout.fit_source_thresholds`); 0 (the default) skips them: on sources never
    trained on they barely changed F1 and lowered the recall on texts that state harm (the leave-one-source-out
    table in docs/risk-model.md), so the served decision uses the model's own threshold unless asked.

    Raises CorpusError for an invalid or missing corpus and InsufficientDataError when
    a class has too few examples.
    """
    if corpus is None:
        corpus = load_corpus(corpus_path, feedback=feedback, settings=settings)
    created = datetime.now(UTC).replace(microsecond=0)
    train, dev = as_served(corpus.train), as_served(corpus.dev)
    model = train_baseline(train, dev, config)
    if source_folds:
        from riskmine.models.heldout import fit_source_thresholds

        fit_source_thresholds(model, [*train, *dev], folds=source_folds, config=config)
    model.version = new_version(settings, model.name, corpus, created)
    card = build_card(model, corpus, created)
    if corpus.dev:
        card["evaluation"]["dev"] = evaluate_model(model, dev, split="dev")
    saved = save_model(model, card, settings, promote=promote)
    return TrainResult(model, card, saved)
