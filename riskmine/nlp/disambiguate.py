"""The disambiguate stage: is each hazard mention used in its hazard sense?

Two parts decide ``HazardMention.in_sense`` and ``confidence``:

1. Rules, checked first: known collocations (``lexicons/context/collocations.tsv``: 销量爆炸,
   漏电保护器, 充电到, 防蓝光 …), accessory cues (漏电|保护器) and negation cues
   (没有漏电, 不发烫, 无甲醛, 甲醛检测合格; ``lexicons/context/cues.tsv``).
2. A small model for the rest: logistic regression over character n-grams of the
   context window left and right of the term (plus the term, its hazard code and
   the cue kind found beside it), trained on the ``train`` split of the hand-labelled
   set in ``riskmine/data/disambiguation/mentions.jsonl``.

The model is trained at first use (well under a second) and kept for the process;
a model saved with :meth:`Disambiguator.save` under ``<models_path>/disambiguate.joblib``
is loaded instead when present and made from the same labels. Nothing is trained or
written at import time.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from riskmine.nlp.base import StageContext, stage
from riskmine.schema import HazardMention, Signal
from riskmine.schema.errors import RiskmineError
from riskmine.settings import BUNDLED_DISAMBIGUATION
from riskmine.text.lexicon import LEXICON_DIR, Lexicons
from riskmine.text.senses import Rules, build_rules
from riskmine.text.tagger import context_cue
from riskmine.text.tsv import LexiconError

LABELS_PATH = BUNDLED_DISAMBIGUATION
MODEL_FILE = "disambiguate.joblib"
MODEL_VERSION = "disambiguate-lr-1"

# Confidence given to each kind of decision.
UNAMBIGUOUS_CONFIDENCE = 0.9


class DisambiguationError(RiskmineError, ValueError):
    """The labelled set is missing or malformed; the message names the file and line."""

    code = "disambiguation_labels"
    status = 500


# --------------------------------------------------------------------------- labelled data


@dataclass(frozen=True)
class LabelledMention:
    id: str
    term: str
    hazard: str
    context: str
    start: int
    end: int
    in_sense: bool
    split: str
    dataset: str = ""
    file: str = ""
    row: int | str = ""


def load_labels(path: Path = LABELS_PATH) -> list[LabelledMention]:
    """The labelled mentions; raises :class:`DisambiguationError` naming the bad line."""
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise DisambiguationError(f"cannot read the disambiguation labels {path}: {exc}") from exc
    out = []
    for n, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            d = json.loads(line)
            m = LabelledMention(
                id=str(d["id"]),
                term=str(d["term"]),
                hazard=str(d["hazard"]),
                context=str(d["context"]),
                start=int(d["start"]),
                end=int(d["end"]),
                in_sense=bool(d["in_sense"]),
                split=str(d["split"]),
                dataset=str(d.get("dataset", "")),
                file=str(d.get("file", "")),
                row=d.get("row", ""),
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise DisambiguationError(f"{Path(path).name} line {n}: not a labelled mention ({exc})") from exc
        if m.context[m.start : m.end] != m.term:
            raise DisambiguationError(f"{Path(path).name} line {n}: context[{m.start}:{m.end}] is not {m.term!r}")
        if m.split not in ("train", "test"):
            raise DisambiguationError(f"{Path(path).name} line {n}: split must be train or test, got {m.split!r}")
        out.append(m)
    if not out:
        raise DisambiguationError(f"{path} holds no labelled mentions")
    return out


# --------------------------------------------------------------------------- the model


def mention_features(
    text: str, start: int, end: int, term: str, hazard: str, cue: str | None, window: int
) -> list[str]:
    """Character 1-3-grams left and right of the term (each side marked), plus the term, hazard and cue."""
    left = "^" + text[max(0, start - window) : start]
    right = text[end : end + window] + "$"
    feats = [f"T:{term}", f"H:{hazard}", f"C:{cue or 'none'}"]
    for n in (1, 2, 3):
        feats.extend("L:" + left[i : i + n] for i in range(max(0, len(left) - n + 1)))
        feats.extend("R:" + right[i : i + n] for i in range(max(0, len(right) - n + 1)))
    # the two characters hugging the term, the strongest clue for collocations
    feats.append("LL:" + left[-2:])
    feats.append("RR:" + right[:2])
    return feats


def _identity(x: list[str]) -> list[str]:
    return x


@dataclass
class Disambiguator:
    """Rules first, then the logistic-regression model."""

    lex: Lexicons
    rules: Rules
    model: Any = None  # sklearn Pipeline (CountVectorizer → TfidfTransformer → LogisticRegression)
    window: int = 6
    labels_digest: str = ""
    info: dict[str, Any] = field(default_factory=dict)

    def features(self, text: str, start: int, end: int, term: str, hazard: str) -> list[str]:
        cue = context_cue(self.lex, text, start, end)
        return mention_features(text, start, end, term, hazard, cue.kind if cue else None, self.window)

    def fit(self, mentions: Sequence[LabelledMention], c: float = 3.0) -> Disambiguator:
        from sklearn.feature_extraction.text import CountVectorizer, TfidfTransformer
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import make_pipeline

        x = [self.features(m.context, m.start, m.end, m.term, m.hazard) for m in mentions]
        y = [int(m.in_sense) for m in mentions]
        if len(set(y)) < 2:
            raise DisambiguationError("the training mentions need both in-sense and out-of-sense examples")
        vec = CountVectorizer(analyzer=_identity, binary=True, min_df=1)
        lr = LogisticRegression(C=c, max_iter=2000, class_weight="balanced")
        self.model = make_pipeline(vec, TfidfTransformer(sublinear_tf=True), lr).fit(x, y)
        self.info = {"trained_on": len(y), "C": c, "window": self.window}
        return self

    def model_probability(self, text: str, start: int, end: int, term: str, hazard: str) -> float:
        if self.model is None:
            raise DisambiguationError("the disambiguation model is not trained")
        x = [self.features(text, start, end, term, hazard)]
        return float(self.model.predict_proba(x)[0][1])

    def judge(self, text: str, start: int, end: int, term: str, hazard: str) -> tuple[bool, float, str]:
        """(in_sense, confidence, how) for the mention text[start:end]."""
        decided = self._without_model(text, start, end, term)
        if decided is not None:
            return decided
        p = self.model_probability(text, start, end, term, hazard)
        return p >= 0.5, round(max(p, 1 - p), 4), "model"

    def __call__(self, batch: list[Signal]) -> list[Signal]:
        pending: list[tuple[HazardMention, list[str]]] = []
        for signal in batch:
            text = signal.normalized_text
            for h in signal.hazards:
                if text[h.start : h.end] != h.term:  # spans must index normalized_text
                    h.in_sense, h.confidence = None, None
                    continue
                decided = self._without_model(text, h.start, h.end, h.term)
                if decided is not None:
                    h.in_sense, h.confidence = decided[0], decided[1]
                else:
                    pending.append((h, self.features(text, h.start, h.end, h.term, h.hazard.value)))
        if pending:  # one model call for the whole batch
            if self.model is None:
                raise DisambiguationError("the disambiguation model is not trained")
            probs = self.model.predict_proba([f for _, f in pending])[:, 1]
            for (h, _), p in zip(pending, probs, strict=True):
                h.in_sense, h.confidence = bool(p >= 0.5), round(float(max(p, 1 - p)), 4)
        return batch

    def _without_model(self, text: str, start: int, end: int, term: str) -> tuple[bool, float, str] | None:
        ruled = self.rules.judge(text, start, end, term)
        if ruled is not None:
            return ruled
        entry = self.lex.hazards.get(term)
        if entry is not None and not entry.ambiguous:
            return True, UNAMBIGUOUS_CONFIDENCE, "unambiguous"
        return None

    def save(self, path: Path) -> Path:
        import joblib

        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        payload = {
            "version": MODEL_VERSION,
            "model": self.model,
            "window": self.window,
            "labels_digest": self.labels_digest,
            "info": self.info,
        }
        joblib.dump(payload, path)
        return path


def labels_digest(path: Path) -> str:
    return hashlib.sha1(Path(path).read_bytes()).hexdigest()[:16]


# Chosen by 5-fold grouped cross-validation on the training mentions (window 4-8, C 0.3-3).
DEFAULT_C = 3.0
DEFAULT_WINDOW = 6


def train_disambiguator(
    labels_path: Path = LABELS_PATH,
    *,
    lexicon_dir: Path = LEXICON_DIR,
    c: float = DEFAULT_C,
    window: int = DEFAULT_WINDOW,
    split: str = "train",
) -> Disambiguator:
    """Rules plus a model trained on the ``split`` part of the labelled set."""
    rules = build_rules(lexicon_dir)
    mentions = [m for m in load_labels(labels_path) if m.split == split]
    d = Disambiguator(rules.lex, rules, window=window, labels_digest=labels_digest(labels_path))
    return d.fit(mentions, c=c)


def load_disambiguator(model_path: Path, labels_path: Path = LABELS_PATH) -> Disambiguator | None:
    """A saved model if the file exists, is ours and was made from the current labels."""
    if not Path(model_path).is_file():
        return None
    import joblib

    try:
        payload = joblib.load(model_path)
    except Exception:  # a damaged or foreign file: fall back on training
        return None
    if not isinstance(payload, dict) or payload.get("version") != MODEL_VERSION:
        return None
    if payload.get("labels_digest") != labels_digest(labels_path):
        return None
    rules = build_rules()
    return Disambiguator(
        rules.lex,
        rules,
        model=payload["model"],
        window=int(payload["window"]),
        labels_digest=str(payload["labels_digest"]),
        info=dict(payload.get("info", {})),
    )


@lru_cache(maxsize=2)
def get_disambiguator(labels_path: Path = LABELS_PATH, models_dir: Path | None = None) -> Disambiguator:
    """The process-wide disambiguator: loaded from ``models_dir`` when saved there, else trained."""
    if models_dir is not None:
        loaded = load_disambiguator(Path(models_dir) / MODEL_FILE, labels_path)
        if loaded is not None:
            return loaded
    return train_disambiguator(labels_path)


# --------------------------------------------------------------------------- evaluation


def evaluate(
    labels_path: Path = LABELS_PATH, split: str = "test", disambiguator: Disambiguator | None = None
) -> dict[str, float | int]:
    """Accuracy on ``split`` of: the stage (rules + model), rules alone (the rest taken as in sense),
    the model alone, and the majority class of the training split. The model is trained on the
    ``train`` split unless a disambiguator trained on it is given."""
    mentions = load_labels(labels_path)
    train = [m for m in mentions if m.split == "train"]
    test = [m for m in mentions if m.split == split]
    if not test:
        raise DisambiguationError(f"{labels_path} has no {split!r} mentions")
    d = disambiguator or train_disambiguator(labels_path)
    majority = sum(m.in_sense for m in train) * 2 >= len(train)
    stage_ok = rules_ok = model_ok = base_ok = ruled = 0
    for m in test:
        args = (m.context, m.start, m.end, m.term)
        verdict, _, _ = d.judge(*args, m.hazard)
        stage_ok += verdict == m.in_sense
        r = d.rules.judge(*args)
        ruled += r is not None
        rules_ok += (r[0] if r is not None else True) == m.in_sense
        model_ok += (d.model_probability(*args, m.hazard) >= 0.5) == m.in_sense
        base_ok += majority == m.in_sense
    n = len(test)
    return {
        "n": n,
        "stage": stage_ok / n,
        "rules_only": rules_ok / n,
        "model_only": model_ok / n,
        "majority": base_ok / n,
        "rule_coverage": ruled / n,
    }


@stage("disambiguate", reads=("normalized_text", "hazards"), writes=("hazards",))
def make_disambiguate(
    ctx: StageContext,
    *,
    labels_path: str | None = None,
) -> Callable[[list[Signal]], list[Signal]]:
    """Set HazardMention.in_sense and confidence: collocation, accessory and negation rules,
    then a character n-gram logistic regression trained on the labelled mentions."""
    path = Path(labels_path) if labels_path else LABELS_PATH
    try:
        return get_disambiguator(path, ctx.settings.models_path)
    except LexiconError as exc:
        raise DisambiguationError(str(exc)) from exc


def judge_all(d: Disambiguator, mentions: Iterable[LabelledMention]) -> list[tuple[bool, float, str]]:
    return [d.judge(m.context, m.start, m.end, m.term, m.hazard) for m in mentions]
