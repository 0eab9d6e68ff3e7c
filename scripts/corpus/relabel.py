"""Correct the labels of texts already in the corpus.

    python scripts/corpus/relabel.py CORRECTIONS.txt

One line per correction, in the label-line syntax of apply_labels.py but keyed by id::

    <id> R hazard[,hazard...] [H] [c=品类] [# note]
    <id> N [c=品类] [# note]

The text, provenance and split are kept; splits are re-assigned on save.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from apply_labels import parse_spec
from corpus_io import LABELS, CorpusError, fail, load_labels, save_labels


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("corrections", type=Path)
    args = ap.parse_args()
    if not args.corrections.exists():
        fail(f"no such file {args.corrections}")
    try:
        rows = load_labels(LABELS)
    except CorpusError as exc:
        fail(str(exc))
    by_id = {r["id"]: r for r in rows}
    # Reuse the batch parser: number the lines, then map the numbers back to ids.
    ids: list[str] = []
    numbered: list[str] = []
    for raw in args.corrections.read_text(encoding="utf-8").splitlines():
        if not raw.strip() or raw.lstrip().startswith("#"):
            continue
        rid, _, rest = raw.strip().partition(" ")
        if rid not in by_id:
            fail(f"unknown id {rid!r}")
        numbered.append(f"{len(ids)} {rest}")
        ids.append(rid)
    tmp = args.corrections.with_suffix(".numbered.tmp")
    tmp.write_text("\n".join(numbered) + "\n", encoding="utf-8")
    try:
        spec = parse_spec(tmp)
    finally:
        tmp.unlink()
    for n, rid in enumerate(ids):
        s, row = spec[n], by_id[rid]
        if s["kind"] == "X":
            fail(f"{rid}: use the label forms R or N")
        risk = s["kind"] == "R"
        row["is_risk"] = risk
        row["hazards"] = s.get("hazards", []) if risk else []
        row["harm_occurred"] = bool(s.get("harm")) and risk
        if "category" in s:
            row["product_category"] = s["category"]
        if s["note"]:
            # the sampling slice of a domain row (domain_batches.py) heads its note and stays there
            head = (row.get("note") or "").split(";")[0]
            row["note"] = f"{head}; {s['note']}" if head in ("enriched", "random", "all") else s["note"]
    try:
        save_labels(rows, LABELS)
    except CorpusError as exc:
        fail(str(exc))
    print(f"corrected {len(ids)} rows; corpus {len(rows)} texts, {sum(r['is_risk'] for r in rows)} risks")


if __name__ == "__main__":
    main()
