"""Statistics of the labelled corpus, and the keyword-mining precision/recall estimate.

    python scripts/corpus/stats.py                 # print the statistics (markdown)
    python scripts/corpus/stats.py --population    # also estimate keyword recall from the source data sets
    python scripts/corpus/stats.py --write-readme  # replace the statistics block of riskmine/data/corpus/README.md

Keyword precision: among real review/news texts that contain a mining keyword
(scripts/corpus/lexicon.py), the share labelled as risks.  Recall estimate: every key
(data set, or online_shopping cat) had a seeded random sample of texts without keywords
read and labelled; the risk rate found there, times the number of unique no-keyword texts
of that key in the source, estimates the risks the keywords miss.
"""

from __future__ import annotations

import argparse
import re
from collections import Counter, defaultdict
from typing import Any

from corpus_io import CORPUS_DIR, LABELS, CorpusError, fail, load_labels
from lexicon import keyword_hits
from sources import ONLINE_SHOPPING, SOURCE_READERS, review_and_news_sources
from textnorm import normalize

README = CORPUS_DIR / "README.md"
BEGIN, END = "<!-- stats:begin -->", "<!-- stats:end -->"
FREE_TEXT = {"review", "news"}


def row_key(row: dict[str, Any]) -> str:
    """The mining key of a real free-text row (data set, or online_shopping cat via its category)."""
    if row["dataset"] == ONLINE_SHOPPING:
        return SHOPPING_KEY_BY_ROW.get((row["file"], row["row"]), ONLINE_SHOPPING)
    return str(row["dataset"])


SHOPPING_KEY_BY_ROW: dict[tuple[str, int], str] = {}


def _load_shopping_keys() -> None:
    if not SHOPPING_KEY_BY_ROW:
        for st in SOURCE_READERS[ONLINE_SHOPPING]():
            SHOPPING_KEY_BY_ROW[(st.file, st.row)] = st.extra


def table(title: str, counter: Counter[Any], total: int | None = None) -> list[str]:
    lines = [f"| {title} | texts |", "|---|---:|"]
    for key, n in sorted(counter.items(), key=lambda kv: (-kv[1], str(kv[0]))):
        lines.append(f"| {key if key is not None else '(none)'} | {n} |")
    if total is not None:
        lines.append(f"| **total** | **{total}** |")
    return lines


def mining_figures(rows: list[dict[str, Any]]) -> tuple[dict[str, list[int]], dict[str, list[int]]]:
    """Per key: [texts, risks] for keyword hits and for no-keyword (random sample) texts."""
    _load_shopping_keys()
    hits: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    misses: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for r in rows:
        if r["synthetic"] or r["source_type"] not in FREE_TEXT:
            continue
        key = row_key(r)
        bucket = hits if keyword_hits(r["text"], key) else misses
        bucket[key][0] += 1
        bucket[key][1] += int(r["is_risk"])
    return hits, misses


def population() -> dict[str, list[int]]:
    """Per key: [unique texts with a keyword, unique texts without] in the source data sets."""
    seen: set[str] = set()
    pop: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for st in review_and_news_sources():
        norm = normalize(st.text)
        if not norm or norm in seen:
            continue
        seen.add(norm)
        key = st.extra if st.dataset == ONLINE_SHOPPING else st.dataset
        pop[key][0 if keyword_hits(st.text, key) else 1] += 1
    return pop


def render(rows: list[dict[str, Any]], with_population: bool) -> str:
    real = [r for r in rows if not r["synthetic"]]
    risks = [r for r in rows if r["is_risk"]]
    out: list[str] = []
    out.append(
        f"**{len(rows)} texts, {len(risks)} risks** "
        f"({len(real)} real texts with {sum(r['is_risk'] for r in real)} risks; "
        f"{len(rows) - len(real)} synthetic texts with {sum(r['is_risk'] for r in rows if r['synthetic'])} risks); "
        f"{len({h for r in risks for h in r['hazards']})} hazard codes, "
        f"{len({r['product_category'] for r in rows if r['product_category']})} product categories "
        f"({len({r['product_category'] for r in risks if r['product_category']})} among risks); "
        f"harm occurred in {sum(r['harm_occurred'] for r in rows)} texts."
    )
    out.append("")
    split_rows = ["| split | texts | risks | real | synthetic |", "|---|---:|---:|---:|---:|"]
    for s in ("train", "dev", "test"):
        part = [r for r in rows if r["split"] == s]
        split_rows.append(
            f"| {s} | {len(part)} | {sum(r['is_risk'] for r in part)} | "
            f"{sum(not r['synthetic'] for r in part)} | {sum(r['synthetic'] for r in part)} |"
        )
    out += [*split_rows, ""]
    hz = Counter(h for r in risks for h in r["hazards"])
    hz_rows = ["| hazard | risks | real | synthetic | test |", "|---|---:|---:|---:|---:|"]
    for h, n in sorted(hz.items(), key=lambda kv: -kv[1]):
        with_h = [r for r in risks if h in r["hazards"]]
        hz_rows.append(
            f"| {h} | {n} | {sum(not r['synthetic'] for r in with_h)} | {sum(r['synthetic'] for r in with_h)} | "
            f"{sum(r['split'] == 'test' for r in with_h)} |"
        )
    out += [*hz_rows, ""]
    out += [*table("source type (all texts)", Counter(r["source_type"] for r in rows)), ""]
    out += [*table("data set (all texts)", Counter(r["dataset"] for r in rows)), ""]
    cat_rows = ["| product category | texts | risks |", "|---|---:|---:|"]
    cats = Counter(r["product_category"] for r in rows)
    cat_risk = Counter(r["product_category"] for r in risks)
    for c, n in sorted(cats.items(), key=lambda kv: (-cat_risk[kv[0]], -kv[1], str(kv[0]))):
        cat_rows.append(f"| {c if c is not None else '(none)'} | {n} | {cat_risk[c]} |")
    out += [*cat_rows, ""]
    hits, misses = mining_figures(rows)
    th, rh = sum(v[0] for v in hits.values()), sum(v[1] for v in hits.values())
    tm, rm = sum(v[0] for v in misses.values()), sum(v[1] for v in misses.values())
    out.append(
        f"**Keyword mining**: {th} real review/news texts contain a mining keyword; {rh} of them are risks "
        f"(precision {rh / max(th, 1):.1%}). Of {tm} randomly sampled texts without a keyword, {rm} are risks "
        f"({rm / max(tm, 1):.1%})."
    )
    out.append("")
    mine_rows = [
        "| key | keyword hits | risks | precision | sampled non-hits | risks |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for key in sorted(set(hits) | set(misses)):
        h, m = hits.get(key, [0, 0]), misses.get(key, [0, 0])
        prec = f"{h[1] / h[0]:.0%}" if h[0] else "-"
        mine_rows.append(f"| {key} | {h[0]} | {h[1]} | {prec} | {m[0]} | {m[1]} |")
    out += mine_rows
    if with_population:
        pop = population()
        found = missed = 0.0
        for key, (n_hit, n_miss) in pop.items():
            h, m = hits.get(key, [0, 0]), misses.get(key, [0, 0])
            found += h[1] * (n_hit / h[0]) if h[0] else 0.0
            missed += (m[1] / m[0]) * n_miss if m[0] else 0.0
        total = found + missed
        out.append("")
        out.append(
            f"**Recall estimate** (source data sets, unique texts): keyword hits hold about {found:.0f} risks, "
            f"texts without a keyword about {missed:.0f} (sampled risk rate × no-keyword texts per key), so the "
            f"keyword list finds about {found / max(total, 1):.0%} of the risks in these data sets."
        )
    return "\n".join(out)


def write_readme(block: str) -> None:
    text = README.read_text(encoding="utf-8") if README.exists() else ""
    if BEGIN not in text or END not in text:
        fail(f"{README} has no {BEGIN} … {END} block to replace")
    new = re.sub(re.escape(BEGIN) + r".*?" + re.escape(END), lambda _m: f"{BEGIN}\n{block}\n{END}", text, flags=re.S)
    README.write_text(new, encoding="utf-8")
    print(f"updated {README}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--population", action="store_true", help="estimate keyword recall from the source data sets")
    ap.add_argument("--write-readme", action="store_true", help="replace the statistics block of README.md")
    args = ap.parse_args()
    try:
        rows = load_labels(LABELS)
    except CorpusError as exc:
        fail(str(exc))
    block = render(rows, args.population or args.write_readme)
    if args.write_readme:
        write_readme(block)
    else:
        print(block)


if __name__ == "__main__":
    main()
