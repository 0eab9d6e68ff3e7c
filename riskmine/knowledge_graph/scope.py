"""Scope of a candidate risk (行业性 / 区域性 / 系统性) and the priority product lists.

* **industry-wide**: at least K distinct canonical enterprises or brands are named in
  its signals (K = ``industry_min_organisations``);
* **regional**: its events are concentrated in one province beyond chance, by an
  exact binomial test of that province's count against the province's share of all
  candidate signals with a known province;
* **systemic**: one cause (a component or material from ``data/causes.toml``) carries
  the same hazard in at least two product categories.

The across-candidate context those tests need (event counts per category and
hazard, signals per province, categories per hazard and cause) is a
:class:`Landscape`, computed from the parent candidates, so that it can be rebuilt
from stored candidates without reading every signal again.
"""

from __future__ import annotations

import re
import tomllib
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from riskmine.knowledge_graph.statistics import binomial_concentration_test, prr_test
from riskmine.schema import CandidateRisk
from riskmine.schema.errors import RiskmineError

DATA_DIR = Path(__file__).resolve().parent / "data"
CAUSES_FILE = DATA_DIR / "causes.toml"
PRIORITY_PRODUCTS_FILE = DATA_DIR / "priority_products.toml"
UNKNOWN_REGION = "未知"
INDUSTRY_WIDE = "industry_wide"
REGIONAL = "regional"
SYSTEMIC = "systemic"


class ScopeDataError(RiskmineError, ValueError):
    """A malformed cause lexicon or priority product list."""

    code = "scope_data_invalid"
    status = 500


@dataclass(frozen=True)
class Cause:
    name: str
    terms: tuple[str, ...]


@dataclass(frozen=True)
class PriorityProduct:
    name: str
    aliases: tuple[str, ...]
    weight: float
    source_list: str


def _load_toml(path: Path, table: str) -> list[dict[str, Any]]:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ScopeDataError(f"{path}: cannot read: {exc}") from exc
    rows = data.get(table)
    if not isinstance(rows, list) or not rows:
        raise ScopeDataError(f"{path}: expected one or more [[{table}]] tables")
    return rows


@lru_cache(maxsize=4)
def load_causes(path: Path = CAUSES_FILE) -> tuple[Cause, ...]:
    """The cause lexicon; each entry needs a name and at least one term."""
    causes = []
    for i, row in enumerate(_load_toml(path, "cause"), start=1):
        name, terms = row.get("name"), row.get("terms")
        if not isinstance(name, str) or not name.strip():
            raise ScopeDataError(f"{path}: cause #{i} has no name")
        if not isinstance(terms, list) or not terms or not all(isinstance(t, str) and t for t in terms):
            raise ScopeDataError(f"{path}: cause #{i} ({name}) needs a non-empty list of terms")
        causes.append(Cause(name.strip(), tuple(terms)))
    return tuple(causes)


@lru_cache(maxsize=4)
def load_priority_products(path: Path = PRIORITY_PRODUCTS_FILE) -> tuple[PriorityProduct, ...]:
    """The priority product list; each entry needs a name and a weight in (0, 1]."""
    products = []
    for i, row in enumerate(_load_toml(path, "product"), start=1):
        name, weight = row.get("name"), row.get("weight", 1.0)
        aliases = row.get("aliases", [])
        if not isinstance(name, str) or not name.strip():
            raise ScopeDataError(f"{path}: product #{i} has no name")
        if not isinstance(weight, int | float) or not 0 < float(weight) <= 1:
            raise ScopeDataError(f"{path}: product #{i} ({name}) weight must be in (0, 1], got {weight!r}")
        if not isinstance(aliases, list) or not all(isinstance(a, str) and a for a in aliases):
            raise ScopeDataError(f"{path}: product #{i} ({name}) aliases must be a list of names")
        products.append(PriorityProduct(name.strip(), tuple(aliases), float(weight), str(row.get("list", ""))))
    return tuple(products)


@lru_cache(maxsize=8)
def _cause_matcher(causes: tuple[Cause, ...]) -> tuple[re.Pattern[str], dict[str, str], dict[str, int]]:
    """One alternation of every term (longest first), the cause of each term and each cause's lexicon rank."""
    term_cause: dict[str, str] = {}
    for cause in causes:
        for term in cause.terms:
            term_cause.setdefault(term, cause.name)
    pattern = re.compile("|".join(re.escape(t) for t in sorted(term_cause, key=len, reverse=True)))
    return pattern, term_cause, {c.name: i for i, c in enumerate(causes)}


def causes_in(text: str, causes: Iterable[Cause] | None = None) -> list[str]:
    """Names of the causes whose terms occur in the text, in lexicon order (one regex pass over the text)."""
    pattern, term_cause, rank = _cause_matcher(tuple(causes) if causes is not None else load_causes())
    found = {term_cause[m.group(0)] for m in pattern.finditer(text)}
    return sorted(found, key=rank.__getitem__)


def priority_product_match(
    names: Iterable[str | None], products: Iterable[PriorityProduct] | None = None
) -> dict[str, Any]:
    """The best-weighted priority product any of the names (category, product terms) matches exactly."""
    wanted = {n for n in names if n}
    best: PriorityProduct | None = None
    for product in products if products is not None else load_priority_products():
        if wanted & {product.name, *product.aliases} and (best is None or product.weight > best.weight):
            best = product
    if best is None:
        return {"match": None, "weight": 0.0}
    return {"match": best.name, "weight": best.weight, "list": best.source_list}


def industry_wide_test(enterprises: Iterable[str], brands: Iterable[str], min_organisations: int) -> dict[str, Any]:
    """Industry-wide when at least `min_organisations` distinct canonical enterprises or brands are named."""
    n_ent, n_brand = len(set(enterprises)), len(set(brands))
    return {
        "method": "distinct canonical enterprises / brands named in the signals",
        "enterprises": n_ent,
        "brands": n_brand,
        "threshold": min_organisations,
        "signal": max(n_ent, n_brand) >= min_organisations,
    }


@dataclass
class Landscape:
    """Across-candidate counts the scope and disproportionality tests compare a candidate with."""

    events: Counter[tuple[str, str]] = field(default_factory=Counter)  # (category, hazard) → events
    province_signals: Counter[str] = field(default_factory=Counter)  # province → signals (known provinces)
    cause_categories: dict[tuple[str, str], set[str]] = field(default_factory=dict)  # (hazard, cause) → categories

    @classmethod
    def from_candidates(cls, parents: Iterable[CandidateRisk]) -> Landscape:
        """From parent (category, hazard) candidates: their event counts, regions and recorded causes."""
        land = cls()
        for cand in parents:
            category, hazard = cand.product_category or "", cand.hazard.value if cand.hazard else ""
            land.events[(category, hazard)] += cand.event_count
            land.province_signals.update({p: n for p, n in cand.counts_by_region.items() if p != UNKNOWN_REGION})
            if cand.product_category:
                for cause in cand.statistics.get("causes", {}):
                    land.cause_categories.setdefault((hazard, cause), set()).add(cand.product_category)
        return land

    def prr(self, category: str | None, hazard: str | None) -> dict[str, Any]:
        """PRR of the hazard within the category against all other categories, from event counts."""
        cat, haz = category or "", hazard or ""
        a = b = c = d = 0
        for (k_cat, k_haz), n in self.events.items():
            if k_cat == cat:
                if k_haz == haz:
                    a += n
                else:
                    b += n
            elif k_haz == haz:
                c += n
            else:
                d += n
        return prr_test(a, b, c, d)

    def regional(self, counts_by_region: Mapping[str, int]) -> dict[str, Any]:
        """Binomial test of the candidate's top province against that province's share of all signals."""
        known = {p: n for p, n in counts_by_region.items() if p != UNKNOWN_REGION}
        total_all = sum(self.province_signals.values())
        if not known or total_all == 0:
            return {"method": "exact one-sided binomial test by province", "province": None, "signal": False}
        province, k = max(known.items(), key=lambda kv: (kv[1], kv[0]))
        share = self.province_signals.get(province, 0) / total_all
        # the candidate's own signals are part of the reference; when it is all there is, nothing is "beyond chance"
        result = binomial_concentration_test(k, sum(known.values()), min(1.0, share))
        return {**result, "province": province}

    def systemic(self, hazard: str | None, causes: Iterable[str], min_categories: int) -> dict[str, Any]:
        """Causes that carry this hazard in at least `min_categories` categories."""
        spread = {
            cause: sorted(self.cause_categories.get((hazard or "", cause), set()))
            for cause in causes
            if hazard  # an unknown hazard is not one shared cause
        }
        shared = {cause: cats for cause, cats in spread.items() if len(cats) >= min_categories}
        return {
            "method": "same hazard with the same cause (component/material) across product categories",
            "causes": shared or spread,
            "threshold_categories": min_categories,
            "signal": bool(shared),
        }
