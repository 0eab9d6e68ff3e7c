"""Entity resolution: one canonical key per brand, enterprise, shop and product model.

The same maker turns up as 格力, GREE, Gree and 格力电器; the same enterprise as
深圳市极充科技有限公司 and 极充科技; the same model as ``KFR-35GW/NhGc1B`` and
``kfr 35gw nhgc1b``. The graph, the candidate builder and the enterprise profiles key
their nodes by the functions here, so that all spellings land on one node:

* :func:`canonical_brand` — the brand lexicon's name for a known brand (aliases from
  ``riskmine/text/lexicons/brands.tsv`` and ``data/brand_aliases.tsv`` beside this module),
  else the name folded for width and case;
* :func:`canonical_enterprise` — the name without legal form (有限公司, 股份有限公司, 集团 …),
  without notes in brackets (（原…）) and without a leading administrative region where
  what remains is still a distinctive name (深圳市极充科技有限公司 → 极充科技);
* :func:`canonical_model` — upper case, without spaces and separators;
* :func:`canonical_shop` — folded for width and case.

Keys are stable: they depend only on the name and the bundled data files.
"""

from __future__ import annotations

import itertools
import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from riskmine.schema.errors import RiskmineError
from riskmine.text.gazetteer import Division, get_gazetteer
from riskmine.text.lexicon import get_lexicons
from riskmine.text.tsv import LexiconError, read_tsv

DATA_DIR = Path(__file__).resolve().parent / "data"
BRAND_ALIASES_FILE = DATA_DIR / "brand_aliases.tsv"

# Entity kinds that have a canonical key (EntityMention.kind values, plus product models).
ENTITY_KINDS = ("brand", "enterprise", "shop", "platform", "product")

# Fewest characters left after removing a region prefix from an enterprise name (字号 + 行业).
MIN_CORE_CHARS = 4
# Longest name accepted; longer input is not a name (pasted text) and is cut.
MAX_NAME_CHARS = 200

_BRACKETS = str.maketrans({"〔": "(", "〕": ")", "【": "(", "】": ")", "［": "(", "］": ")", "[": "(", "]": ")"})
_SPACES = re.compile(r"\s+")
_LEGAL_FORMS = (
    "股份有限公司",
    "有限责任公司",
    "集团有限公司",
    "集团股份有限公司",
    "有限公司",
    "股份公司",
    "集团公司",
    "总公司",
    "公司",
    "集团",
    "总厂",
    "厂",
)
_LEGAL_FORM_RE = re.compile("(?:" + "|".join(sorted(_LEGAL_FORMS, key=len, reverse=True)) + ")$")
# Bracketed notes that are not part of an enterprise's identity: legal forms, former names.
_NOTE_IN_BRACKETS = re.compile(r"\((?:集团|控股|股份|普通合伙|有限合伙|特殊普通合伙|原[^()]*|[^()]*?曾用名[^()]*)\)")
# "生产商：X；经销商：Y" and similar labelled lists in station and spot-check rows.
_LABEL_RE = re.compile(
    r"(?:标称)?(?:生产企业名称|生产企业|生产商|制造商|委托生产企业名称|委托方|受委托生产企业名称|经销商|供应商|进口商)[:：]"
)
_PRODUCER_LABEL = re.compile(r"^(?:标称)?(?:生产企业名称|生产企业|生产商|制造商)[:：]")
# A branch (…有限公司黄埔分公司) counts as its parent enterprise.
_BRANCH_RE = re.compile(r"(?<=.{2})(?:公司|厂)[\u4e00-\u9fff]{1,8}?分(?:公司|厂|店)$")
_SUBDIVISION_RE = re.compile(r"^[\u4e00-\u9fff]{1,4}?(?:镇|乡|街道|经济开发区|高新技术产业开发区|开发区|工业园区?)")
_NULL_NAMES = frozenset({"", "/", "-", "无", "不详", "未知", "null", "none", "n/a", "na"})
_MODEL_SEPARATORS = re.compile(r"[\s\-_‐‑–—―·・./\\:：,，+＋#＃()]+")
_MODEL_LABEL = re.compile(r"^(?:产品)?(?:型号|规格型号|货号|model|sku|型)\s*[:：]?\s*", re.IGNORECASE)


class EntityError(RiskmineError, ValueError):
    """A name that cannot be resolved (empty after cleaning, or a bad alias file)."""

    code = "entity_invalid"
    status = 400


def fold(text: str) -> str:
    """Width-, case- and space-folded text: NFKC (full-width → half-width), brackets unified,
    whitespace collapsed, Latin letters lower-cased."""
    s = unicodedata.normalize("NFKC", text[:MAX_NAME_CHARS]).translate(_BRACKETS)
    return _SPACES.sub(" ", s).strip().casefold()


def _compact(text: str) -> str:
    """fold() without spaces between CJK and Latin runs (格力 电器 = 格力电器)."""
    return fold(text).replace(" ", "")


def is_null_name(name: str | None) -> bool:
    """True for missing names and the placeholders forms use for them (/, 无, 不详 …)."""
    return name is None or fold(name) in _NULL_NAMES


# --------------------------------------------------------------------------- brands


@dataclass(frozen=True)
class BrandInfo:
    """A known brand: its canonical name and, where known, the enterprise owning it."""

    name: str
    enterprise: str | None = None


@lru_cache(maxsize=1)
def _brand_table() -> dict[str, BrandInfo]:
    """Folded alias → brand, from the brand lexicon and the alias file (the file wins)."""
    table: dict[str, BrandInfo] = {}
    try:
        lexicon_brands = get_lexicons().brand_list
    except LexiconError as exc:  # the graph still resolves with the alias file alone
        raise EntityError(f"brand lexicon could not be read: {exc}") from exc
    for b in lexicon_brands:
        info = BrandInfo(b.name)
        for term in (b.name, *b.aliases):
            table.setdefault(_compact(term), info)
    try:
        rows = read_tsv(BRAND_ALIASES_FILE, ["brand", "aliases", "enterprise"])
    except LexiconError as exc:
        raise EntityError(str(exc)) from exc
    seen: dict[str, tuple[str, int]] = {}
    for row in rows:
        info = BrandInfo(row["brand"], row["enterprise"] or None)
        for term in (row["brand"], *(a for a in row["aliases"].split("|") if a.strip())):
            key = _compact(term)
            if not key:
                raise EntityError(str(row.error(f"alias {term!r} is empty after folding")))
            if key in seen and seen[key][0] != row["brand"]:
                owner, line = seen[key]
                raise EntityError(str(row.error(f"alias {term!r} already belongs to {owner!r} (row {line})")))
            seen[key] = (row["brand"], row.line)
            table[key] = info
    return table


def brand_info(name: str) -> BrandInfo | None:
    """The known brand that ``name`` spells (any alias, width or case), else None."""
    key = _compact(name)
    table = _brand_table()
    info = table.get(key)
    if info is None and len(key) > 2 and key.endswith("牌"):
        info = table.get(key[:-1])
    return info


@lru_cache(maxsize=65536)
def canonical_brand(name: str) -> str:
    """The brand's canonical key: 格力 for 格力 / GREE / Gree / 格力电器 / ＧＲＥＥ; an unknown
    brand is folded for width and case (``Anker`` and ``ANKER`` share a key)."""
    info = brand_info(name)
    if info is not None:
        return info.name
    key = _compact(name)
    if len(key) > 2 and key.endswith("牌"):
        key = key[:-1]
    if not key:
        raise EntityError(f"brand name {name!r} is empty")
    return key


def brand_owner(name: str) -> str | None:
    """The enterprise known to own the brand (from the alias file), as a full name."""
    info = brand_info(name)
    return info.enterprise if info else None


# --------------------------------------------------------------------------- enterprises


@dataclass(frozen=True)
class EnterpriseName:
    """An enterprise name taken apart: its key, its region (from the leading division names)
    and its cleaned full name for display."""

    key: str
    full: str
    region: Division | None = None


def split_enterprises(raw: str) -> list[str]:
    """The enterprise names in a labelled field such as
    ``经销商：连云港棠品食品有限公司；生产商：舟山恒冠食品有限公司`` — producers first."""
    text = unicodedata.normalize("NFKC", raw[: MAX_NAME_CHARS * 2])
    parts = [p.strip() for p in re.split(r"[;；\n]", text) if p.strip()]
    if len(parts) <= 1 and not _LABEL_RE.search(text):
        return [] if is_null_name(text) else [text.strip()]
    producers: list[str] = []
    others: list[str] = []
    for part in parts:
        bucket = producers if _PRODUCER_LABEL.match(part) else others
        name = _LABEL_RE.sub("", part).strip()
        if not is_null_name(name):
            bucket.append(name)
    return producers + others


def _strip_legal_form(name: str) -> str:
    name = _BRANCH_RE.sub("公司", name)
    prev = None
    while prev != name:
        prev = name
        name = _NOTE_IN_BRACKETS.sub("", name).strip()
        stripped = _LEGAL_FORM_RE.sub("", name)
        if len(stripped) >= 2:
            name = stripped
    return name


def _strip_region(name: str) -> tuple[str, Division | None]:
    """Leading division names removed while the rest is still a distinctive name: at least
    :data:`MIN_CORE_CHARS` characters, a trade name and an industry (淇乐多食品), so that
    潍坊市百货 and 临沂市百货 stay apart. Returns the rest and the most specific division."""
    index = get_gazetteer().index
    region: Division | None = None
    rest = name
    while True:
        matches = index.find(rest)
        if not matches or matches[0].start != 0:
            break
        m = matches[0]
        entry = m.value
        full = any(d.name == m.term for d in entry.divisions)
        if entry.weak and not full:
            break
        remainder = rest[m.end :]
        candidates = list(entry.divisions)
        if region is not None:
            within = [d for d in candidates if d.within(region)]
            candidates = within or candidates
        region = candidates[0]  # the region is known even where its name stays in the key
        if len(remainder) < MIN_CORE_CHARS or remainder[0] in "()":
            break
        rest = remainder
    if region is not None:
        sub = _SUBDIVISION_RE.match(rest)
        if sub and len(rest) - sub.end() >= MIN_CORE_CHARS:
            rest = rest[sub.end() :]
    return rest, region


@lru_cache(maxsize=65536)
def parse_enterprise(name: str) -> EnterpriseName:
    """Key, region and display form of an enterprise name (raises EntityError when empty)."""
    names = split_enterprises(name)
    if not names:
        raise EntityError(f"enterprise name {name!r} is empty")
    full = _SPACES.sub("", unicodedata.normalize("NFKC", names[0]).translate(_BRACKETS)).strip()
    base = _strip_legal_form(full)
    core, region = _strip_region(base)
    core = _strip_legal_form(core)
    key = core.casefold()
    if not key:
        raise EntityError(f"enterprise name {name!r} is empty after removing region and legal form")
    return EnterpriseName(key=key, full=full, region=region)


def canonical_enterprise(name: str) -> str:
    """The enterprise's canonical key: 极充科技 for 深圳市极充科技有限公司, 广东 极充科技（集团）
    有限公司 and 极充科技股份有限公司."""
    return parse_enterprise(name).key


# --------------------------------------------------------------------------- shops and models


@lru_cache(maxsize=65536)
def canonical_shop(name: str) -> str:
    """The shop's key: folded for width and case, spaces removed."""
    key = _compact(name)
    if not key:
        raise EntityError(f"shop name {name!r} is empty")
    return key


@lru_cache(maxsize=65536)
def canonical_model(code: str) -> str:
    """The product model's key: upper case without a 型号 label, spaces or separators
    (``KFR-35GW/NhGc1B`` and ``kfr 35gw nhgc1b`` share ``KFR35GWNHGC1B``)."""
    s = unicodedata.normalize("NFKC", code[:MAX_NAME_CHARS]).strip()
    s = _MODEL_LABEL.sub("", s)
    key = _MODEL_SEPARATORS.sub("", s).upper()
    if not key:
        raise EntityError(f"product model {code!r} is empty")
    return key


def canonical_key(kind: str, name: str) -> str:
    """The canonical key of a name of the given entity kind (brand, enterprise, shop, platform, product)."""
    if kind in ("brand", "platform"):
        return canonical_brand(name)
    if kind == "enterprise":
        return canonical_enterprise(name)
    if kind == "shop":
        return canonical_shop(name)
    if kind == "product":
        return canonical_model(name)
    raise EntityError(f"unknown entity kind {kind!r}; known: {', '.join(ENTITY_KINDS)}")


def display_name(kind: str, name: str) -> str:
    """The name to show for an entity: a known brand's canonical name, an enterprise's cleaned
    full name, a product model in upper case, a shop as written (width-folded)."""
    if kind in ("brand", "platform"):
        info = brand_info(name)
        return info.name if info else unicodedata.normalize("NFKC", name).strip()
    if kind == "enterprise":
        return parse_enterprise(name).full
    if kind == "product":
        return unicodedata.normalize("NFKC", name).strip().upper()
    return _SPACES.sub(" ", unicodedata.normalize("NFKC", name)).strip()


def region_divisions(name: str) -> list[Division]:
    """The divisions a region name denotes: one term (台州市, 台州) or a chain of them naming each level
    (浙江省台州市, 浙江台州, 浙江省台州市椒江区), each within the one before; the most specific level's
    divisions, or none when the name is not wholly region names."""
    text = _SPACES.sub("", unicodedata.normalize("NFKC", name)).strip()
    matches = get_gazetteer().index.find(text)
    if not matches or matches[0].start != 0 or matches[-1].end != len(text):
        return []
    if any(a.end != b.start for a, b in itertools.pairwise(matches)):
        return []
    if len(matches) == 1:
        return list(matches[0].value.divisions) if matches[0].term == text else []
    chain: list[Division] = list(matches[0].value.divisions)
    for m in matches[1:]:
        chain = [d for d in m.value.divisions if any(d.within(p) and d.code != p.code for p in chain)]
        if not chain:
            return []
    return chain
