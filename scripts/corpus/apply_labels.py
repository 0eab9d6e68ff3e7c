"""Append hand labels for a candidate batch to the corpus (riskmine/data/corpus/labels/).

    python scripts/corpus/apply_labels.py BATCH.jsonl LABELS.txt

LABELS.txt holds one line per text that is not a plain negative with the batch's default
category (every other text of the batch is recorded as a negative, so the whole batch is
labelled once the file is applied).  Line forms (``n`` may be a range ``a-b``)::

    n R hazard[,hazard...] [H] [c=品类] [t=类型] [# note]    a risk; H = harm occurred
    n N [c=品类] [t=类型] [# note]                           a negative (with a category or note)
    n X [# reason]                                           leave out (unreadable or not a text)

``c=-`` sets the category to null; ``t=`` overrides the batch's source type (review, news,
complaint, recall, spot_check).  Blank lines and lines starting with # are ignored.
A batch row's ``slice`` (enriched / random / all, from domain_batches.py) is kept at the
head of the note.

    python scripts/corpus/apply_labels.py --check BATCH.jsonl LABELS.txt

checks a label file against its batch (codes, categories listed in GUIDE.md §5, numbers)
and writes nothing.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path
from typing import Any

from corpus_io import GUIDE_CATEGORIES, HAZARDS, LABELS, SOURCE_TYPES, CorpusError, fail, load_labels, save_labels

LINE = re.compile(r"^(\d+)(?:-(\d+))?\s+([RNX])(.*)$")


def parse_spec(path: Path) -> dict[int, dict[str, Any]]:
    labels: dict[int, dict[str, Any]] = {}
    for lineno, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        body, _, note = line.partition("#")
        m = LINE.match(body.strip())
        if not m:
            fail(f"{path}:{lineno}: cannot read {raw!r} (expected 'n R hazards [H] [c=品类]' or 'n N' or 'n X')")
            raise AssertionError  # unreachable
        first, last, kind, rest = int(m.group(1)), int(m.group(2) or m.group(1)), m.group(3), m.group(4).split()
        spec: dict[str, Any] = {"kind": kind, "note": note.strip()}
        for tok in rest:
            if tok.startswith("c="):
                spec["category"] = None if tok[2:] == "-" else tok[2:]
                if spec["category"] is not None and spec["category"] not in GUIDE_CATEGORIES:
                    fail(f"{path}:{lineno}: category {tok[2:]!r} is not listed in GUIDE.md §5")
            elif tok.startswith("t="):
                if tok[2:] not in SOURCE_TYPES:
                    fail(f"{path}:{lineno}: source type {tok[2:]!r} not in {sorted(SOURCE_TYPES)}")
                spec["source_type"] = tok[2:]
            elif tok == "H":
                spec["harm"] = True
            elif kind == "R" and "hazards" not in spec:
                hz = tok.split(",")
                bad = [h for h in hz if h not in HAZARDS]
                if bad:
                    fail(f"{path}:{lineno}: unknown hazard code(s) {bad}; use one of {sorted(HAZARDS)}")
                spec["hazards"] = hz
            else:
                fail(f"{path}:{lineno}: unexpected token {tok!r}")
        if kind == "R" and not spec.get("hazards"):
            fail(f"{path}:{lineno}: a risk line needs hazard codes")
        for n in range(first, last + 1):
            if n in labels:
                fail(f"{path}:{lineno}: text {n} is labelled twice")
            labels[n] = spec
    return labels


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("batch", type=Path)
    ap.add_argument("labels", type=Path)
    ap.add_argument("--check", action="store_true", help="validate the label file against the batch; write nothing")
    args = ap.parse_args()
    for p in (args.batch, args.labels):
        if not p.exists():
            fail(f"no such file {p}")
    batch = [json.loads(line) for line in args.batch.read_text(encoding="utf-8").splitlines() if line.strip()]
    spec = parse_spec(args.labels)
    unknown = sorted(set(spec) - {rec["n"] for rec in batch})
    if unknown:
        fail(f"labels for texts not in the batch: {unknown[:10]}")
    if args.check:
        kinds = [s["kind"] for s in spec.values()]
        print(
            f"{args.labels}: {len(spec)} label lines for a batch of {len(batch)} texts "
            f"({kinds.count('R')} risks, {kinds.count('N')} negatives with a note or category, "
            f"{kinds.count('X')} left out)"
        )
        return
    try:
        rows = load_labels(LABELS)
    except CorpusError as exc:
        fail(str(exc))
    have = {r["id"] for r in rows}
    added = risks = skipped = 0
    for rec in batch:
        s = spec.get(rec["n"], {"kind": "N", "note": ""})
        if s["kind"] == "X" or rec["id"] in have:
            skipped += 1
            continue
        risk = s["kind"] == "R"
        row: dict[str, Any] = {
            "id": rec["id"],
            "text": rec["text"],
            "source_type": s.get("source_type", rec["source_type"]),
            "is_risk": risk,
            "hazards": s.get("hazards", []) if risk else [],
            "harm_occurred": bool(s.get("harm")) and risk,
            "product_category": s.get("category", rec["category"]),
            "dataset": rec["dataset"],
            "file": rec["file"],
            "row": rec["row"],
            "synthetic": bool(rec.get("synthetic", False)),
            "split": "train",
        }
        note = "; ".join(p for p in (rec.get("slice", ""), s["note"]) if p)
        if note:
            row["note"] = note
        rows.append(row)
        have.add(row["id"])
        added += 1
        risks += risk
    try:
        save_labels(rows, LABELS)
    except CorpusError as exc:
        fail(str(exc))
    total_risks = sum(r["is_risk"] for r in rows)
    print(f"added {added} texts ({risks} risks), skipped {skipped}; corpus now {len(rows)} texts, {total_risks} risks")
    sys.exit(0)


if __name__ == "__main__":
    main()
