"""The tagging lexicons: TSV data files in ``riskmine/text/lexicons``, loaded and validated once per process.

Each file in ``riskmine/text/lexicons/`` is UTF-8 TSV with a header row; its first
column is always the surface term (the segmenter adds it to jieba's dictionary).

* ``categories.tsv`` — product category tree: name, code, parent code, aliases (``|``), kind (product/service)
* ``hazards.tsv`` — hazard term, :class:`HazardType` code, ambiguous flag (0/1), note
* ``populations.tsv`` — term, :class:`Population`
* ``harm.tsv`` — term, :class:`HarmKind`, needs_hazard flag (counts only beside a hazard mention)
* ``brands.tsv`` — brand or platform name, aliases, category name, kind (brand/platform), ambiguous flag
* ``context/cues.tsv`` — negation / hypothetical / accessory cue words, their side and the largest gap to the term
* ``context/collocations.tsv`` — strings around a hazard term that settle its sense (read by the disambiguate stage)

Every lexicon is matched with one Aho-Corasick automaton (:mod:`riskmine.text.matching`), built
once per process. The category tree is :mod:`riskmine.text.taxonomy`; administrative regions are
:mod:`riskmine.text.gazetteer`; standard numbers :mod:`riskmine.text.standards`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from riskmine.schema import HarmKind, HazardType, Population
from riskmine.text.matching import TermIndex, case_variants
from riskmine.text.taxonomy import Taxonomy, load_categories
from riskmine.text.tsv import Row, enum_cell, read_tsv, split_aliases

LEXICON_DIR = Path(__file__).resolve().parent / "lexicons"
# Context-rule files (cue words, collocations) live one folder down, so that the jieba user
# dictionary, which reads the first column of every lexicons/*.tsv, does not take them as words.
CONTEXT_SUBDIR = "context"


@dataclass(frozen=True)
class HazardTerm:
    term: str
    hazard: HazardType
    ambiguous: bool
    note: str = ""


@dataclass(frozen=True)
class HarmTerm:
    term: str
    harm: HarmKind
    needs_hazard: bool


@dataclass(frozen=True)
class Brand:
    name: str
    aliases: tuple[str, ...]
    category: str | None
    kind: str  # "brand" or "platform"
    ambiguous: bool


@dataclass(frozen=True)
class Cue:
    term: str
    kind: str  # negation | hypothetical | accessory
    side: str  # before | after
    max_gap: int


CUE_KINDS = ("negation", "hypothetical", "accessory")


def _unique(rows: Sequence[Row], key: str) -> None:
    seen: dict[str, int] = {}
    for row in rows:
        if row[key] in seen:
            raise row.error(f"duplicate {key} {row[key]!r} (first at row {seen[row[key]]})")
        seen[row[key]] = row.line


def load_hazards(path: Path) -> list[HazardTerm]:
    rows = read_tsv(path, ["term", "hazard", "ambiguous"])
    _unique(rows, "term")
    return [HazardTerm(r["term"], enum_cell(r, "hazard", HazardType), r.flag("ambiguous"), r["note"]) for r in rows]


def load_populations(path: Path) -> dict[str, Population]:
    rows = read_tsv(path, ["term", "population"])
    _unique(rows, "term")
    return {r["term"]: enum_cell(r, "population", Population) for r in rows}


def load_harm(path: Path) -> list[HarmTerm]:
    rows = read_tsv(path, ["term", "harm", "needs_hazard"])
    _unique(rows, "term")
    return [HarmTerm(r["term"], enum_cell(r, "harm", HarmKind), r.flag("needs_hazard")) for r in rows]


def load_cues(path: Path) -> list[Cue]:
    rows = read_tsv(path, ["term", "kind", "side", "max_gap"])
    out = []
    seen: set[tuple[str, str]] = set()
    for r in rows:
        if r["kind"] not in CUE_KINDS:
            raise r.error(f"kind must be one of {', '.join(CUE_KINDS)}, got {r['kind']!r}")
        if r["side"] not in ("before", "after"):
            raise r.error(f"side must be before or after, got {r['side']!r}")
        if not r["max_gap"].isdigit():
            raise r.error(f"max_gap must be a whole number, got {r['max_gap']!r}")
        if (r["term"], r["side"]) in seen:
            raise r.error(f"duplicate cue {r['term']!r} on side {r['side']}")
        seen.add((r["term"], r["side"]))
        out.append(Cue(r["term"], r["kind"], r["side"], int(r["max_gap"])))
    return out


def load_brands(path: Path, taxonomy: Taxonomy) -> list[Brand]:
    rows = read_tsv(path, ["name", "aliases", "category", "kind", "ambiguous"])
    _unique(rows, "name")
    owner: dict[str, tuple[str, int]] = {}
    brands = []
    for r in rows:
        if r["kind"] not in ("brand", "platform"):
            raise r.error(f"kind must be brand or platform, got {r['kind']!r}")
        category = r["category"] or None
        if category is not None and category not in taxonomy.by_name:
            raise r.error(f"category {category!r} is not a category name in categories.tsv")
        aliases = tuple(a for a in split_aliases(r["aliases"]) if a != r["name"])
        for term in (r["name"], *aliases):
            if term in owner:
                raise r.error(f"brand term {term!r} already belongs to {owner[term][0]!r} (row {owner[term][1]})")
            owner[term] = (r["name"], r.line)
        brands.append(Brand(r["name"], aliases, category, r["kind"], r.flag("ambiguous")))
    return brands


@dataclass
class Lexicons:
    taxonomy: Taxonomy
    hazards: TermIndex[HazardTerm]
    hazard_terms: list[HazardTerm]
    populations: TermIndex[Population]
    harm: TermIndex[HarmTerm]
    brands: TermIndex[Brand]
    brand_list: list[Brand]
    cues_before: TermIndex[Cue]
    cues_after: TermIndex[Cue]
    directory: Path = field(default=LEXICON_DIR)

    def brand(self, name: str) -> Brand | None:
        return self.brands.get(name)


def load_lexicons(directory: Path = LEXICON_DIR) -> Lexicons:
    """Read and validate every lexicon file in ``directory``; raises :class:`LexiconError`."""
    directory = Path(directory)
    taxonomy = load_categories(directory / "categories.tsv")
    hazard_terms = load_hazards(directory / "hazards.tsv")
    harm_terms = load_harm(directory / "harm.tsv")
    brand_list = load_brands(directory / "brands.tsv", taxonomy)
    cues = load_cues(directory / CONTEXT_SUBDIR / "cues.tsv")
    brand_terms: dict[str, Brand] = {}
    for b in brand_list:
        for term in (b.name, *b.aliases):
            for variant in case_variants(term):
                brand_terms.setdefault(variant, b)
    return Lexicons(
        taxonomy=taxonomy,
        hazards=TermIndex({h.term: h for h in hazard_terms}),
        hazard_terms=hazard_terms,
        populations=TermIndex(load_populations(directory / "populations.tsv")),
        harm=TermIndex({h.term: h for h in harm_terms}),
        brands=TermIndex(brand_terms),
        brand_list=brand_list,
        cues_before=TermIndex({c.term: c for c in cues if c.side == "before"}),
        cues_after=TermIndex({c.term: c for c in cues if c.side == "after"}),
        directory=directory,
    )


@lru_cache(maxsize=4)
def get_lexicons(directory: Path = LEXICON_DIR) -> Lexicons:
    """The lexicons of ``directory``, loaded once per process."""
    return load_lexicons(directory)
