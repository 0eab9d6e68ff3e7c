"""The labelled risk corpus (riskmine/data/corpus/labels/): loading, validation, splits, analyst feedback.

The corpus is a JSON-lines file, or a folder of them read in name order (the bundled corpus is
sharded so that no file grows past a few MiB: ``core.jsonl``, ``domain.jsonl``). One JSON
object per line::

    {"id": "...", "text": "...", "source_type": "review", "is_risk": true, "hazards": ["fire"],
     "harm_occurred": false, "product_category": "充电宝", "dataset": "...", "file": "...",
     "row": 12, "synthetic": false, "split": "train"}

``id``, ``text``, ``is_risk`` and ``split`` are required; the other fields have
defaults (``hazards`` [], ``harm_occurred`` false, ``synthetic`` false, the rest
null); other fields (notes, provenance) are ignored. Every problem is reported
with its file, line and field, never as a stack trace. A feedback file (analyst
decisions exported later) has the same format, ``split`` optional: its new rows
are appended to train, and a row whose id is already in the corpus replaces that
row's labels (a correction) in its own split.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal, cast

from riskmine.schema import HazardType, SourceType
from riskmine.schema.errors import RiskmineError
from riskmine.settings import BUNDLED_CORPUS

Split = Literal["train", "dev", "test"]
SPLITS: tuple[Split, ...] = ("train", "dev", "test")
CORPUS_ENV = "RISKMINE_CORPUS_PATH"
MAX_REPORTED_ERRORS = 20

_REQUIRED = ("id", "text", "is_risk")
SYNTHETIC_GROUP = "synthetic"


class CorpusError(RiskmineError, ValueError):
    """The corpus file is missing or has invalid rows; ``errors`` lists each problem."""

    code = "corpus_invalid"
    status = 400

    def __init__(self, message: str, errors: Sequence[str] = ()) -> None:
        self.errors = list(errors)
        super().__init__(message)


class InsufficientDataError(RiskmineError, ValueError):
    """Too few examples of a class to train or evaluate a model."""

    code = "insufficient_data"
    status = 400


@dataclass(frozen=True)
class LabelledExample:
    id: str
    text: str
    is_risk: bool
    split: Split
    hazards: tuple[HazardType, ...] = ()
    harm_occurred: bool = False
    source_type: SourceType | None = None
    product_category: str | None = None
    dataset: str | None = None
    file: str | None = None
    row: int | str | None = None
    synthetic: bool = False

    @property
    def source_group(self) -> str:
        """The source the example came from: its data set (synthetic texts form one group of their own)."""
        return SYNTHETIC_GROUP if self.synthetic else (self.dataset or "unknown")

    @property
    def source_type_value(self) -> str | None:
        return self.source_type.value if self.source_type is not None else None

    def fingerprint(self) -> str:
        """What the labels and text of this example hash to (for the training-data hash)."""
        hazards = ",".join(sorted(h.value for h in self.hazards))
        return "\x1f".join(
            [self.id, self.split, self.text, str(int(self.is_risk)), hazards, str(int(self.harm_occurred))]
        )


def default_corpus_path(settings: Any = None) -> Path:
    """``settings.corpus_path`` (itself read from RISKMINE_CORPUS_PATH), else that variable, else the bundled one.

    The bundled corpus is the folder riskmine/data/corpus/labels/, installed with the package.
    """
    configured = getattr(settings, "corpus_path", None)
    if configured:
        return Path(configured)
    env = os.environ.get(CORPUS_ENV)
    if env:
        return Path(env)
    return BUNDLED_CORPUS


def _bool(obj: dict[str, Any], name: str, default: bool | None, where: str) -> bool:
    value = obj.get(name, default)
    if value is None and default is not None:
        return default
    if not isinstance(value, bool):
        raise ValueError(f"{where}: field {name!r} must be true or false, got {value!r}")
    return value


def _optional_str(obj: dict[str, Any], name: str, where: str) -> str | None:
    value = obj.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValueError(f"{where}: field {name!r} must be a string or null, got {value!r}")
    return value or None


def parse_example(obj: Any, where: str, *, default_split: Split | None = None) -> LabelledExample:
    """Validate one decoded JSON line; raises ValueError naming ``where`` and the field."""
    if not isinstance(obj, dict):
        raise ValueError(f"{where}: expected a JSON object, got {type(obj).__name__}")
    missing = [name for name in _REQUIRED if name not in obj]
    if "split" not in obj and default_split is None:
        missing.append("split")
    if missing:
        raise ValueError(f"{where}: missing field(s) {', '.join(repr(m) for m in missing)}")
    ident = obj["id"]
    if isinstance(ident, int) and not isinstance(ident, bool):
        ident = str(ident)
    if not isinstance(ident, str) or not ident.strip():
        raise ValueError(f"{where}: field 'id' must be a non-empty string, got {obj['id']!r}")
    text = obj["text"]
    if not isinstance(text, str) or not text.strip():
        raise ValueError(f"{where}: field 'text' must be a non-empty string")

    split = obj.get("split", default_split)
    if split not in SPLITS:
        raise ValueError(f"{where}: field 'split' must be one of {', '.join(SPLITS)}, got {split!r}")

    raw_hazards = obj.get("hazards") or []
    if not isinstance(raw_hazards, list):
        raise ValueError(f"{where}: field 'hazards' must be a list of hazard codes, got {raw_hazards!r}")
    hazards: list[HazardType] = []
    for code in raw_hazards:
        try:
            hazard = HazardType(code)
        except ValueError:
            known = ", ".join(h.value for h in HazardType)
            raise ValueError(f"{where}: field 'hazards' has unknown code {code!r}; known codes: {known}") from None
        if hazard not in hazards:
            hazards.append(hazard)

    source_type: SourceType | None = None
    if obj.get("source_type") is not None:
        try:
            source_type = SourceType(obj["source_type"])
        except ValueError:
            known = ", ".join(s.value for s in SourceType)
            raise ValueError(
                f"{where}: field 'source_type' has unknown value {obj['source_type']!r}; known: {known}"
            ) from None

    row = obj.get("row")
    if row is not None and (isinstance(row, bool) or not isinstance(row, int | str)):
        raise ValueError(f"{where}: field 'row' must be an integer, a string or null, got {row!r}")

    return LabelledExample(
        id=ident,
        text=text,
        is_risk=_bool(obj, "is_risk", None, where),
        split=cast(Split, split),
        hazards=tuple(hazards),
        harm_occurred=_bool(obj, "harm_occurred", False, where),
        source_type=source_type,
        product_category=_optional_str(obj, "product_category", where),
        dataset=_optional_str(obj, "dataset", where),
        file=_optional_str(obj, "file", where),
        row=row,
        synthetic=_bool(obj, "synthetic", False, where),
    )


def corpus_files(path: Path) -> list[Path]:
    """The JSON-lines files of a corpus: ``path`` itself, or the ``*.jsonl`` files of a folder in name order."""
    return sorted(path.glob("*.jsonl")) if path.is_dir() else [path]


def read_examples(path: Path, *, default_split: Split | None = None) -> list[LabelledExample]:
    """Read and validate a labels JSONL file (or a folder of them); all problems (up to 20) are raised together
    as CorpusError."""
    path = Path(path)
    if not (path.is_file() or (path.is_dir() and corpus_files(path))):
        raise CorpusError(f"labelled corpus not found: {path} (set {CORPUS_ENV} or settings.corpus_path)")
    examples: list[LabelledExample] = []
    errors: list[str] = []
    seen: dict[str, tuple[str, int]] = {}
    for file in corpus_files(path):
        try:
            lines = file.read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError) as exc:
            raise CorpusError(f"cannot read {file}: {exc}") from exc
        for lineno, line in enumerate(lines, start=1):
            if len(errors) >= MAX_REPORTED_ERRORS:
                break
            if not line.strip():
                continue
            where = f"{file.name} line {lineno}"
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as exc:
                errors.append(f"{where}: not valid JSON ({exc.msg} at column {exc.colno})")
                continue
            try:
                example = parse_example(obj, where, default_split=default_split)
            except ValueError as exc:
                errors.append(str(exc))
                continue
            if example.id in seen:
                first_file, first_line = seen[example.id]
                at = f"line {first_line}" if first_file == file.name else f"{first_file} line {first_line}"
                errors.append(f"{where}: field 'id' {example.id!r} repeats {at}")
                continue
            seen[example.id] = (file.name, lineno)
            examples.append(example)
    if errors:
        more = " (first 20 shown)" if len(errors) >= MAX_REPORTED_ERRORS else ""
        raise CorpusError(f"{path}: {len(errors)} invalid row(s){more}:\n  " + "\n  ".join(errors), errors)
    return examples


@dataclass
class Corpus:
    """Validated examples with their splits; ``feedback_count`` rows came from a feedback file."""

    examples: list[LabelledExample]
    path: Path | None = None
    feedback_path: Path | None = None
    feedback_added: int = 0
    feedback_corrected: int = 0
    _by_split: dict[str, list[LabelledExample]] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        self._by_split = {s: [e for e in self.examples if e.split == s] for s in SPLITS}

    def split(self, name: str) -> list[LabelledExample]:
        if name not in SPLITS:
            raise ValueError(f"unknown split {name!r}; choose one of {', '.join(SPLITS)}")
        return self._by_split[name]

    @property
    def train(self) -> list[LabelledExample]:
        return self._by_split["train"]

    @property
    def dev(self) -> list[LabelledExample]:
        return self._by_split["dev"]

    @property
    def test(self) -> list[LabelledExample]:
        return self._by_split["test"]

    def data_hash(self, splits: Iterable[str] = SPLITS) -> str:
        """SHA-256 over the examples of the given splits (order-independent)."""
        wanted = set(splits)
        h = hashlib.sha256()
        for fp in sorted(e.fingerprint() for e in self.examples if e.split in wanted):
            h.update(fp.encode("utf-8"))
            h.update(b"\x1e")
        return h.hexdigest()

    def leaked_texts(self) -> int:
        """How many dev/test texts also occur (identically) in train."""
        train_texts = {e.text.strip() for e in self.train}
        return sum(1 for e in self.examples if e.split != "train" and e.text.strip() in train_texts)

    def summary(self) -> dict[str, Any]:
        out: dict[str, Any] = {"path": str(self.path) if self.path else None, "total": len(self.examples)}
        for s in SPLITS:
            rows = self._by_split[s]
            hazards: Counter[str] = Counter(h.value for e in rows if e.is_risk for h in e.hazards)
            out[s] = {
                "examples": len(rows),
                "risk": sum(e.is_risk for e in rows),
                "harm_occurred": sum(e.harm_occurred for e in rows),
                "synthetic": sum(e.synthetic for e in rows),
                "hazards": dict(sorted(hazards.items(), key=lambda kv: (-kv[1], kv[0]))),
            }
        out["feedback"] = {
            "path": str(self.feedback_path) if self.feedback_path else None,
            "added": self.feedback_added,
            "corrected": self.feedback_corrected,
        }
        out["leaked_texts"] = self.leaked_texts()
        return out

    def __iter__(self) -> Iterator[LabelledExample]:
        return iter(self.examples)

    def __len__(self) -> int:
        return len(self.examples)


def merge_feedback(
    examples: list[LabelledExample], feedback: list[LabelledExample]
) -> tuple[list[LabelledExample], int, int]:
    """New feedback ids are appended to train; known ids get the feedback labels in their own split."""
    index = {e.id: i for i, e in enumerate(examples)}
    merged = list(examples)
    added = corrected = 0
    for fb in feedback:
        if fb.id in index:
            merged[index[fb.id]] = replace(fb, split=merged[index[fb.id]].split)
            corrected += 1
        else:
            index[fb.id] = len(merged)
            merged.append(replace(fb, split="train"))
            added += 1
    return merged, added, corrected


def as_served(examples: Sequence[LabelledExample]) -> list[LabelledExample]:
    """The examples with their text as the classify stage sees it: normalised by the normalize stage
    (NFKC, traditional → simplified, markup stripped, personal data masked).

    Training and evaluation use these, so the model learns and is measured on the text it
    will serve; trained on raw text and served normalised text, dev F1 fell from 0.830 to 0.810.
    """
    from riskmine.text.normalize import normalize_text

    return [replace(e, text=normalize_text(e.text) or e.text) for e in examples]


def load_corpus(path: Path | None = None, *, feedback: Path | None = None, settings: Any = None) -> Corpus:
    """Load and validate the corpus (default: :func:`default_corpus_path`), plus an optional feedback file."""
    corpus_path = Path(path) if path is not None else default_corpus_path(settings)
    examples = read_examples(corpus_path)
    added = corrected = 0
    if feedback is not None:
        fb_rows = read_examples(Path(feedback), default_split="train")
        examples, added, corrected = merge_feedback(examples, fb_rows)
    return Corpus(
        examples,
        path=corpus_path,
        feedback_path=Path(feedback) if feedback is not None else None,
        feedback_added=added,
        feedback_corrected=corrected,
    )
