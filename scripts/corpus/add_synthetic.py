"""Load the hand-written synthetic texts (riskmine/data/corpus/synthetic.tsv) into the corpus (its labels/).

    python scripts/corpus/add_synthetic.py

synthetic.tsv is the source of truth for synthetic rows: every run replaces all ``syn:*``
rows of the corpus with the rows of the file.  Columns: source_type, product_category
(``-`` = null), hazards (comma-separated codes, ``-`` = not a risk), harm (``H`` = harm
occurred, ``-`` = not), text.  Row n of the file (1-based, header excluded) becomes
``syn:<n>``; synthetic rows always go to train.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

from corpus_io import CORPUS_DIR, HAZARDS, LABELS, SOURCE_TYPES, CorpusError, fail, load_labels, save_labels

SYNTHETIC = CORPUS_DIR / "synthetic.tsv"
COLUMNS = ["source_type", "product_category", "hazards", "harm", "text"]


def read_synthetic(path: Path = SYNTHETIC) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    with path.open(encoding="utf-8", newline="") as fh:
        reader = csv.reader(fh, delimiter="\t", quoting=csv.QUOTE_NONE)
        header = next(reader, None)
        if header != COLUMNS:
            fail(f"{path}: header must be {COLUMNS}, got {header}")
        for n, rec in enumerate(reader, start=1):
            where = f"{path.name} row {n}"
            if len(rec) != len(COLUMNS):
                fail(f"{where}: expected {len(COLUMNS)} tab-separated columns, got {len(rec)}")
            source_type, category, hazards, harm, text = (c.strip() for c in rec)
            if source_type not in SOURCE_TYPES:
                fail(f"{where}: source_type {source_type!r} not in {sorted(SOURCE_TYPES)}")
            codes = [] if hazards == "-" else hazards.split(",")
            bad = [c for c in codes if c not in HAZARDS]
            if bad:
                fail(f"{where}: unknown hazard code(s) {bad}")
            if harm not in ("H", "-"):
                fail(f"{where}: harm must be 'H' or '-', got {harm!r}")
            if not text:
                fail(f"{where}: empty text")
            rows.append(
                {
                    "id": f"syn:{n}",
                    "text": text,
                    "source_type": source_type,
                    "is_risk": bool(codes),
                    "hazards": codes,
                    "harm_occurred": harm == "H" and bool(codes),
                    "product_category": None if category == "-" else category,
                    "dataset": "synthetic",
                    "file": path.name,
                    "row": n,
                    "synthetic": True,
                    "split": "train",
                }
            )
    return rows


def main() -> None:
    if not SYNTHETIC.exists():
        fail(f"no synthetic file {SYNTHETIC}")
    synthetic = read_synthetic()
    try:
        rows = [r for r in load_labels(LABELS) if not r["synthetic"]]
        rows.extend(synthetic)
        save_labels(rows, LABELS)
    except CorpusError as exc:
        fail(str(exc))
    risks = sum(r["is_risk"] for r in synthetic)
    print(f"{len(synthetic)} synthetic texts ({risks} risks); corpus now {len(rows)} texts")


if __name__ == "__main__":
    main()
