"""Candidate batches from the domain sources (issue 14): an enriched slice and a random slice per source.

    python scripts/corpus/domain_batches.py --out-dir /tmp/domain [--seed 20261203]

Sampling follows a monitoring stream: for each review or forum source, a seeded random
sample of its texts (what the stream mostly is) plus a sample of the texts that hit a
hazard keyword (the enriched slice, which also holds the hard negatives: hazard words in
other senses); news and trending-topic sources are read whole. Texts already labelled, and
exact duplicates after normalisation (of a labelled text or of an earlier candidate), are
skipped. The complaints bundled under riskmine/data/corpus/sources are read whole too. Each batch row has the
fields ``apply_labels.py`` reads, plus ``slice``
(``enriched``, ``random`` or ``all``) which the corpus keeps in the row's note.
"""

from __future__ import annotations

import argparse
import json
import random
from pathlib import Path
from typing import Any

from corpus_io import LABELS, fail, load_labels
from lexicon import domain_hits
from mine import new_texts, record, write_batch
from sources import (
    BUNDLED_DIR,
    CAR_FORUM,
    COSMETICS,
    HEIMAO,
    HOT_TOPICS,
    PHONE,
    QQ_NEWS,
    WASHER,
    WEIBO_2026,
    SourceText,
    bundled_source,
    domain_source,
    heimao,
    online_shopping,
    thucnews,
)
from textnorm import normalize

# data set → (enriched sample size, random sample size); None = every text.
PLAN: dict[str, tuple[int, int] | None] = {
    HOT_TOPICS: None,
    QQ_NEWS: None,
    CAR_FORUM: (450, 600),
    PHONE: (380, 450),
    COSMETICS: (400, 400),
    WASHER: (300, 450),
}
# Categories of online_shopping_10_cats whose products the regulators watch, and THUCNews society titles.
SHOPPING_KEYS = frozenset({"热水器", "手机", "平板", "计算机"})
SHOPPING_PLAN = (180, 300)
THUC_PLAN = (260, 250)


def _pools(seen: set[str], done: set[str], texts: list[SourceText]) -> tuple[list, list]:
    """New texts split into those with a keyword hit and the rest, each as (text, hits)."""
    hit, rest = [], []
    for st in new_texts(texts, seen, done):
        hits = domain_hits(st.text, st.dataset)
        (hit if hits else rest).append((st, hits))
    return hit, rest


def json_lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def _take(rng: random.Random, pool: list, k: int) -> list:
    return rng.sample(pool, min(k, len(pool)))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out-dir", type=Path, required=True)
    ap.add_argument("--seed", type=int, default=20261203)
    args = ap.parse_args()
    try:
        labels = load_labels(LABELS)
    except ValueError as exc:
        fail(str(exc))
    done = {r["id"] for r in labels}
    seen = {normalize(r["text"]) for r in labels}
    rng = random.Random(args.seed)
    batches: dict[str, list[dict[str, Any]]] = {}

    def add(name: str, chosen: list, slice_: str) -> None:
        recs = batches.setdefault(name, [])
        for st, hits in chosen:
            rec = record(len(recs), st, hits)
            if st.source_type == "news":
                rec["category"] = None  # a headline's product is named by the annotator, not guessed
            rec["slice"] = slice_
            recs.append(rec)

    for dataset, plan in PLAN.items():
        hit, rest = _pools(seen, done, list(domain_source(dataset)))
        if plan is None:
            add(dataset, hit + rest, "all")
            continue
        add(dataset, _take(rng, hit, plan[0]), "enriched")
        add(dataset, _take(rng, rest, plan[1]), "random")
    hit, rest = _pools(seen, done, [st for st in online_shopping() if st.extra in SHOPPING_KEYS])
    add("online_shopping_10_cats", _take(rng, hit, SHOPPING_PLAN[0]), "enriched")
    add("online_shopping_10_cats", _take(rng, rest, SHOPPING_PLAN[1]), "random")
    hit, rest = _pools(seen, done, [st for st in thucnews() if st.extra in ("society", "science")])
    add("THUCNews_titles", _take(rng, hit, THUC_PLAN[0]), "enriched")
    add("THUCNews_titles", _take(rng, rest, THUC_PLAN[1]), "random")
    # sources fetched from public repositories, bundled under riskmine/data/corpus/sources: the complaints read whole;
    # the 2026 Weibo headlines as their extract.py sampled them (hazard-word slice = enriched, the rest random)
    add(HEIMAO, [(st, []) for st in new_texts(heimao(), seen, done)], "all")
    weibo = json_lines(BUNDLED_DIR / WEIBO_2026 / "topics.jsonl")
    for st in new_texts(bundled_source(WEIBO_2026), seen, done):
        add(WEIBO_2026, [(st, [])], "enriched" if weibo[st.row]["slice"] == "hazard_word" else "random")
    for name, recs in batches.items():
        write_batch(args.out_dir / f"{name}.jsonl", recs)
    print(f"{sum(len(r) for r in batches.values())} candidates in {len(batches)} batches")


if __name__ == "__main__":
    main()
