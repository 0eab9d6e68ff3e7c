"""Candidate mining for annotation: keyword hits and a random sample of non-hits.

    python scripts/corpus/mine.py hits   --out /tmp/corpus/h1.jsonl [--keys 洗发水,waimai_10k] [--limit 400]
    python scripts/corpus/mine.py sample --out /tmp/corpus/s1.jsonl --per-key 120 [--keys ...] [--seed 7]

Texts already in the corpus, and exact duplicates (after normalisation) of an earlier
source text or of a labelled text, are skipped, so every batch holds new texts only.
The ``key`` of a text is its data set name, or the ``cat`` for online_shopping_10_cats.
"""

from __future__ import annotations

import argparse
import json
import random
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from corpus_io import LABELS, fail, load_labels
from lexicon import guess_category, keyword_hits
from sources import ONLINE_SHOPPING, SourceText, review_and_news_sources
from textnorm import normalize


def text_key(st: SourceText) -> str:
    return st.extra if st.dataset == ONLINE_SHOPPING else st.dataset


def new_texts(texts: Iterable[SourceText], seen: set[str], done_ids: set[str]) -> Iterator[SourceText]:
    """The texts not yet labelled (id not in ``done_ids``) and not exact duplicates (after normalisation) of a
    text in ``seen``; every text read is added to ``seen``, so earlier texts win duplicate ties."""
    for st in texts:
        norm = normalize(st.text)
        fresh = bool(norm) and norm not in seen and f"{st.dataset}:{st.file}:{st.row}" not in done_ids
        seen.add(norm)
        if fresh:
            yield st


def unique_new_texts(labels: list[dict[str, Any]]) -> Iterator[tuple[SourceText, list[str]]]:
    """Source texts not yet labelled and not exact duplicates of anything seen, with their keyword hits."""
    seen = {normalize(r["text"]) for r in labels}
    for st in new_texts(review_and_news_sources(), seen, {r["id"] for r in labels}):
        yield st, keyword_hits(st.text, text_key(st))


def record(n: int, st: SourceText, hits: list[str]) -> dict[str, Any]:
    category = st.category if st.category is not None else guess_category(st.text)
    return {
        "n": n,
        "id": f"{st.dataset}:{st.file}:{st.row}",
        "dataset": st.dataset,
        "file": st.file,
        "row": st.row,
        "text": st.text,
        "source_type": st.source_type,
        "category": category,
        "key": text_key(st),
        "hits": hits,
    }


def write_batch(out: Path, recs: list[dict[str, Any]]) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", encoding="utf-8") as fh:
        for rec in recs:
            fh.write(json.dumps(rec, ensure_ascii=False) + "\n")
    print(f"wrote {len(recs)} candidates to {out}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("mode", choices=("hits", "sample"))
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--keys", default="", help="comma-separated data set keys to mine (default: all)")
    ap.add_argument("--limit", type=int, default=0, help="at most this many hits (0 = all)")
    ap.add_argument("--per-key", type=int, default=100, help="sample size per key (sample mode)")
    ap.add_argument("--seed", type=int, default=20240731)
    ap.add_argument("--max-chars", type=int, default=0, help="sample only texts up to this length (0 = any)")
    args = ap.parse_args()
    keys = {k for k in args.keys.split(",") if k}
    try:
        labels = load_labels(LABELS)
    except ValueError as exc:
        fail(str(exc))
    recs: list[dict[str, Any]] = []
    if args.mode == "hits":
        for st, hits in unique_new_texts(labels):
            if hits and (not keys or text_key(st) in keys):
                recs.append(record(len(recs), st, hits))
                if args.limit and len(recs) >= args.limit:
                    break
    else:
        pools: dict[str, list[SourceText]] = {}
        for st, hits in unique_new_texts(labels):
            key = text_key(st)
            if hits or (keys and key not in keys) or (args.max_chars and len(st.text) > args.max_chars):
                continue
            pools.setdefault(key, []).append(st)
        rng = random.Random(args.seed)
        for key in sorted(pools):
            pool = pools[key]
            for st in rng.sample(pool, min(args.per_key, len(pool))):
                recs.append(record(len(recs), st, []))
    write_batch(args.out, recs)


if __name__ == "__main__":
    main()
