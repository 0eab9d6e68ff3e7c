"""Reading, validating and atomically writing the labelled corpus, riskmine/data/corpus/labels/.

The corpus is sharded so that no file grows past a few MiB: ``core.jsonl`` holds the corpus built
up to 2026-11, ``domain.jsonl`` the domain texts of 2026-12 (rows whose note starts with the slice
they were sampled in). Read in name order, the shards give the rows in the order they were added.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

from riskmine.models.corpus import corpus_files
from riskmine.schema.enums import HazardType

REPO = Path(__file__).resolve().parents[2]
CORPUS_DIR = REPO / "riskmine" / "data" / "corpus"
LABELS = CORPUS_DIR / "labels"
DOMAIN_SLICES = ("enriched", "random", "all")


def shard_of(row: dict[str, Any]) -> str:
    """The shard file of a row: ``domain.jsonl`` for a domain text (its note starts with a slice), else core."""
    return "domain.jsonl" if (row.get("note") or "").split(";")[0] in DOMAIN_SLICES else "core.jsonl"


FIELDS = (
    "id",
    "text",
    "source_type",
    "is_risk",
    "hazards",
    "harm_occurred",
    "product_category",
    "dataset",
    "file",
    "row",
    "synthetic",
    "split",
)
OPTIONAL = ("note",)
SOURCE_TYPES = frozenset({"review", "news", "complaint", "recall", "spot_check"})
SPLITS = frozenset({"train", "dev", "test"})
HAZARDS = frozenset(h.value for h in HazardType)
GUIDE = CORPUS_DIR / "GUIDE.md"


def _guide_categories() -> frozenset[str]:
    """The product category names listed in GUIDE.md §5 (comma- or colon-separated names, parentheses dropped)."""
    import re

    section = GUIDE.read_text(encoding="utf-8").split("## 5. Product categories", 1)[1].split("## 6.", 1)[0]
    items = section.split("\n- ")[1:]  # the bullet list; the prose after it ends the last item
    names: set[str] = set()
    for item in items:
        body = re.sub(r"\([^)]*\)", "", item.split("\n\n", 1)[0]).split(":", 1)[-1]
        names.update(n.strip() for n in re.split(r"[,，]", body))
    return frozenset(n for n in names if re.fullmatch(r"[\u4e00-\u9fff/]+", n))


GUIDE_CATEGORIES = _guide_categories()


class CorpusError(ValueError):
    """A row of the corpus breaks the schema; the message names the row and the problem."""


def row_errors(row: dict[str, Any]) -> list[str]:
    """Everything wrong with one corpus row (empty list = valid)."""
    errs: list[str] = []
    missing = [f for f in FIELDS if f not in row]
    if missing:
        errs.append(f"missing fields {missing}")
    extra = sorted(set(row) - set(FIELDS) - set(OPTIONAL))
    if extra:
        errs.append(f"unknown fields {extra}")
    if missing:
        return errs
    if not isinstance(row["id"], str) or not row["id"]:
        errs.append("id must be a non-empty string")
    if not isinstance(row["text"], str) or not row["text"].strip():
        errs.append("text is empty")
    if row["source_type"] not in SOURCE_TYPES:
        errs.append(f"source_type {row['source_type']!r} not in {sorted(SOURCE_TYPES)}")
    for f in ("is_risk", "harm_occurred", "synthetic"):
        if not isinstance(row[f], bool):
            errs.append(f"{f} must be true or false")
    hz = row["hazards"]
    if not isinstance(hz, list) or any(h not in HAZARDS for h in hz):
        errs.append(f"hazards {hz!r}: each must be one of {sorted(HAZARDS)}")
    elif len(set(hz)) != len(hz):
        errs.append("hazards repeat a code")
    if row["is_risk"] is True and not hz:
        errs.append("a risk needs at least one hazard code")
    if row["is_risk"] is False and (hz or row["harm_occurred"]):
        errs.append("a non-risk has no hazards and no harm")
    cat = row["product_category"]
    if cat is not None and (not isinstance(cat, str) or not cat.strip()):
        errs.append("product_category must be a name or null")
    if row["split"] not in SPLITS:
        errs.append(f"split {row['split']!r} not in {sorted(SPLITS)}")
    if row["synthetic"] is True:
        if not str(row["id"]).startswith("syn:"):
            errs.append("synthetic ids start with 'syn:'")
        if row["split"] not in ("train",) and row["split"] in SPLITS:
            errs.append("synthetic text outside train")
    elif row["synthetic"] is False:
        expected = f"{row['dataset']}:{row['file']}:{row['row']}"
        if row["id"] != expected:
            errs.append(f"id {row['id']!r} does not match its provenance {expected!r}")
        if not isinstance(row["row"], int) or row["row"] < 0:
            errs.append("row must be a non-negative integer for real text")
    if "note" in row and not isinstance(row["note"], str):
        errs.append("note must be a string")
    return errs


def load_labels(path: Path = LABELS) -> list[dict[str, Any]]:
    """Every row of the corpus (a JSONL file, or a folder of shards read in name order)."""
    if not path.exists():
        return []
    rows = []
    for file in corpus_files(path):
        with file.open(encoding="utf-8") as fh:
            for lineno, line in enumerate(fh, start=1):
                if not line.strip():
                    continue
                try:
                    rows.append(json.loads(line))
                except json.JSONDecodeError as exc:
                    raise CorpusError(f"{file}:{lineno}: not valid JSON ({exc.msg})") from exc
    return rows


def check_rows(rows: list[dict[str, Any]]) -> None:
    seen: set[str] = set()
    for i, row in enumerate(rows, start=1):
        errs = row_errors(row)
        if errs:
            raise CorpusError(f"row {i} ({row.get('id')!r}): " + "; ".join(errs))
        if row["id"] in seen:
            raise CorpusError(f"row {i}: duplicate id {row['id']!r}")
        seen.add(row["id"])


def ordered(row: dict[str, Any]) -> dict[str, Any]:
    out = {f: row[f] for f in FIELDS}
    if row.get("note"):
        out["note"] = row["note"]
    return out


def _write_atomic(path: Path, rows: list[dict[str, Any]]) -> None:
    """Replace ``path`` with ``rows`` atomically (readers never see half a file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.", suffix=".tmp")
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        for row in rows:
            fh.write(json.dumps(ordered(row), ensure_ascii=False) + "\n")
    os.chmod(tmp, 0o644)
    os.replace(tmp, path)


def save_labels(rows: list[dict[str, Any]], path: Path = LABELS) -> None:
    """Assign splits, validate every row, then write the corpus: one file, or (``path`` a folder or without a
    ``.jsonl`` suffix) each row to its shard (:func:`shard_of`), every shard replaced atomically."""
    from split import assign_splits  # local import: split imports this module

    splits = assign_splits(rows)
    for row in rows:
        row["split"] = splits[row["id"]]
    check_rows(rows)
    if path.suffix == ".jsonl":
        _write_atomic(path, rows)
        return
    shards: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        shards.setdefault(shard_of(row), []).append(row)
    for name, shard_rows in shards.items():
        _write_atomic(path / name, shard_rows)
    for stale in set(path.glob("*.jsonl")) - {path / name for name in shards}:
        stale.unlink()


def fail(message: str) -> None:
    """Exit with a clear message (no stack trace) for bad input to the scripts."""
    print(f"error: {message}", file=sys.stderr)
    raise SystemExit(2)
