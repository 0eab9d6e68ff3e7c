"""Fixed, reproducible train/dev/test splits of the labelled corpus.

Rules (see riskmine/data/corpus/GUIDE.md):

* texts are grouped into duplicate clusters: same text after normalisation (NFKC, lower case,
  punctuation and whitespace removed) or character 3-gram Jaccard >= 0.8, across all data sets;
* a cluster holding any synthetic text goes to train; dev and test hold real text only;
* the other clusters are stratified by (is_risk, data set): inside each stratum they are
  ordered by a salted SHA-1 of the cluster's smallest id, the first 20 % go to test,
  the next 15 % to dev, the rest to train.

Run ``python scripts/corpus/split.py`` to re-assign the splits of the corpus in place.
"""

from __future__ import annotations

import hashlib
from collections import Counter, defaultdict
from collections.abc import Sequence
from typing import Any

from textnorm import jaccard, normalize, shingles

SALT = "riskmine-corpus-split-v1"
TEST_SHARE = 0.20
DEV_SHARE = 0.15
NEAR_DUP = 0.8


class _UnionFind:
    def __init__(self, n: int) -> None:
        self.parent = list(range(n))

    def find(self, i: int) -> int:
        while self.parent[i] != i:
            self.parent[i] = self.parent[self.parent[i]]
            i = self.parent[i]
        return i

    def union(self, a: int, b: int) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)


def near_duplicate_pairs(texts: Sequence[str], threshold: float = NEAR_DUP) -> list[tuple[int, int]]:
    """Index pairs (i < j) whose texts are equal after normalisation or have 3-gram Jaccard >= threshold."""
    pairs: list[tuple[int, int]] = []
    by_norm: dict[str, int] = {}
    grams = [shingles(t) for t in texts]
    index: dict[str, list[int]] = defaultdict(list)
    for j, text in enumerate(texts):
        norm = normalize(text)
        if norm in by_norm:
            pairs.append((by_norm[norm], j))
        else:
            by_norm[norm] = j
        gj = grams[j]
        if gj:
            shared: Counter[int] = Counter()
            for g in gj:
                for i in index[g]:
                    shared[i] += 1
            need = threshold * len(gj)
            for i, common in shared.items():
                # Jaccard >= t implies |A & B| >= t * max(|A|, |B|).
                if common >= need and common >= threshold * len(grams[i]) and jaccard(grams[i], gj) >= threshold:
                    pairs.append((i, j))
            for g in gj:
                index[g].append(j)
    return sorted(set(pairs))


def clusters(rows: Sequence[dict[str, Any]]) -> list[list[int]]:
    uf = _UnionFind(len(rows))
    for i, j in near_duplicate_pairs([r["text"] for r in rows]):
        uf.union(i, j)
    groups: dict[int, list[int]] = defaultdict(list)
    for i in range(len(rows)):
        groups[uf.find(i)].append(i)
    return list(groups.values())


def _rank_key(cluster_id: str) -> str:
    return hashlib.sha1(f"{SALT}\x1f{cluster_id}".encode()).hexdigest()


def assign_splits(rows: Sequence[dict[str, Any]]) -> dict[str, str]:
    """Split per row id (deterministic for a given set of rows)."""
    out: dict[str, str] = {}
    strata: dict[tuple[bool, str], list[tuple[str, list[int]]]] = defaultdict(list)
    for members in clusters(rows):
        if any(rows[i]["synthetic"] for i in members):
            for i in members:
                out[rows[i]["id"]] = "train"
            continue
        key_id = min(rows[i]["id"] for i in members)
        risky = any(rows[i]["is_risk"] for i in members)
        dataset = rows[min(members, key=lambda i: rows[i]["id"])]["dataset"]
        strata[(risky, dataset)].append((key_id, members))
    for items in strata.values():
        items.sort(key=lambda kv: _rank_key(kv[0]))
        n = len(items)
        for pos, (_key, members) in enumerate(items):
            frac = (pos + 0.5) / n
            split = "test" if frac < TEST_SHARE else "dev" if frac < TEST_SHARE + DEV_SHARE else "train"
            for i in members:
                out[rows[i]["id"]] = split
    return out


def main() -> None:
    from corpus_io import LABELS, load_labels, save_labels

    rows = load_labels(LABELS)
    save_labels(rows, LABELS)
    counts = Counter((r["split"], r["is_risk"]) for r in rows)
    for split in ("train", "dev", "test"):
        print(f"{split}: {counts[(split, True)] + counts[(split, False)]} texts, {counts[(split, True)]} risks")


if __name__ == "__main__":
    main()
