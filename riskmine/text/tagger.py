"""Tagging by lexicon automata: product category, hazards, populations, regions, organisations, standards, harm.

Everything is matched on characters of ``Signal.normalized_text`` with one
Aho-Corasick automaton per lexicon (see :mod:`riskmine.text.lexicon`), so tagging
does not depend on segmentation. Document hints (``product``, ``region``,
``brand``, ``shop``, ``enterprise`` and spot-check fields in ``meta``) are used
first where they exist. :func:`context_cue` finds the negation, hypothetical and
accessory cue words beside a term, for the stages and the models alike.

Hazard mentions are emitted for every lexicon hit, including ambiguous ones
(漏电 in 漏电保护器, 爆炸 in 销量爆炸); the ``disambiguate`` stage judges them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from riskmine.schema import EntityMention, HarmKind, HazardMention, Population, RegionMention, Signal, Span
from riskmine.text.clauses import span_bounds
from riskmine.text.gazetteer import PLACEHOLDER_NAMES, Division, RegionGazetteer
from riskmine.text.lexicon import Brand, Cue, Lexicons
from riskmine.text.matching import Match, TermIndex
from riskmine.text.standards import find_standards
from riskmine.text.taxonomy import Category

# Characters that end a clause (cue words act within one) and a sentence (evidence spans).
CLAUSE_BREAKS = frozenset("。！？!?；;，,、\n\r\t …~～:：()（）【】[]")
SENTENCE_BREAKS = frozenset("。！？!?；;\n\r…")
# Words that may stand between a negation cue and its term: 没有[出现]漏电, 无[任何]异味.
NEGATION_FILLERS = tuple(
    sorted(
        [
            "有",
            "出现",
            "发生",
            "造成",
            "导致",
            "引起",
            "致",
            "人员",
            "人",
            "会",
            "再",
            "任何",
            "什么",
            "一点",
            "一丝",
            "丝毫",
            "半点",
            "过",
            "发现",
            "产生",
            "明显",
            "感觉",
            "感觉到",
            "觉得",
            "太",
            "很",
            "那么",
            "怎么",
            "是",
            "被",
            "遇到",
            "碰到",
            "闻到",
            "啥",
            "任何的",
            "含",
            "含有",
            "添加",
            "甚",
        ],
        key=len,
        reverse=True,
    )
)
AFTER_FILLERS = ("含量", "的", "都", "也", "均", "完全", "是", "等", "之类的", "之类", "各种")
# Spot-check and station fields in RawDocument.meta that name the producer or supplier.
ENTERPRISE_META_KEYS = (
    "enterprise",
    "producer",
    "manufacturer",
    "supplier",
    "生产商",
    "生产企业",
    "标称生产企业",
    "供应商",
    "被抽样单位",
    "企业名称",
)
CATEGORY_META_KEYS = ("product_category", "category", "产品分类", "产品类别", "cat")

_COMPANY_RE = re.compile(
    r"[\u4e00-\u9fffA-Za-z0-9（）()·&]{2,40}?"
    r"(股份有限公司|有限责任公司|集团有限公司|有限公司|集团公司|集团|分公司|总厂|厂|公司)"
)
_SHOP_RE = re.compile(r"[\u4e00-\u9fffA-Za-z0-9·&]{2,24}?(旗舰店|专卖店|专营店|自营店)")
_NAME_BOUNDARY = re.compile(r".*[的是由在被向对和与及经从给为将把了买购卖称据查系于这那该个]")
_GENERIC_COMPANY = re.compile(
    r"(快递|物流|保险|电力|燃气|航空|网络|科技|这家|那家|一家|各家|每家|本|贵|黑心|无良|工|加工|代工)$"
)
# Before a bare 公司/厂, words of a sentence rather than a name: a whereabouts (送到公司, 拿回公司, 寄去厂里,
# 在公司) or a pronoun or common noun (我们公司, 东西…公司).
_SENTENCE_STEM = re.compile(r"(到|回|去|进|往|在|至|向|来)$|^(东西|我们|你们|他们|她们|大家|自己|人家|我|你|他|她|它)")
_BARE_SUFFIXES = frozenset({"公司", "厂"})
_BRAND_FOLLOWERS = ("牌", "品牌", "官方", "旗舰", "专卖", "专营", "自营", "售后", "客服", "家的", "出品", "新款")
_MODEL_RE = re.compile(r"[ \-]?[A-Za-z0-9]")


def context_cue(lex: Lexicons, text: str, start: int, end: int) -> Cue | None:
    """The negation, hypothetical or accessory cue that governs the term at [start, end), if any.

    Before the term the cue must lie in the same clause within its ``max_gap``
    characters; negations allow only filler words in between (没有[出现]漏电).
    After the term, accessory cues must follow at once (漏电|保护器) and others
    within their gap in the same clause (起火|的风险, 甲醛|含量合格).
    """
    lo = start
    while lo > 0 and start - lo < 16 and text[lo - 1] not in CLAUSE_BREAKS:
        lo -= 1
    window = text[lo:start]
    best: Cue | None = None
    best_gap = 10**6
    for m in lex.cues_before.find(window, longest=False):
        cue, gap = m.value, window[m.end :]
        if len(gap) > cue.max_gap or len(gap) > best_gap:
            continue
        if cue.kind == "negation" and not _only_fillers(gap, NEGATION_FILLERS):
            continue
        best, best_gap = cue, len(gap)
    if best is not None:
        return best
    hi = end
    while hi < len(text) and hi - end < 12 and text[hi] not in CLAUSE_BREAKS:
        hi += 1
    after = text[end:hi]
    for m in lex.cues_after.find(after, longest=False):
        cue, gap = m.value, after[: m.start]
        if len(gap) > cue.max_gap:
            continue
        if cue.kind in ("negation", "accessory") and not _only_fillers(gap, AFTER_FILLERS):
            continue
        return cue
    return None


def _only_fillers(gap: str, fillers: Iterable[str]) -> bool:
    words = tuple(fillers)
    while gap:
        for w in words:
            if gap.startswith(w):
                gap = gap[len(w) :]
                break
        else:
            return False
    return True


def signal_text(signal: Signal) -> str:
    """The text a tagger works on: normalized_text, else the document's title and text."""
    if signal.normalized_text:
        return signal.normalized_text
    doc = signal.document
    return "\n".join(p for p in (doc.title, doc.text) if p)


def clause_bounds(text: str, start: int, end: int, breaks: frozenset[str] = SENTENCE_BREAKS) -> tuple[int, int]:
    """The clause (or sentence) around [start, end), with its closing mark."""
    lo, hi = span_bounds(text, start, end, breaks)
    if hi < len(text):
        hi += 1  # keep the sentence's closing mark
    return lo, hi


@dataclass
class Tagger:
    """Tags one signal at a time; the lexicons and gazetteer are shared per process."""

    lex: Lexicons
    gazetteer: RegionGazetteer | None
    evidence_chars: int = 160

    # ------------------------------------------------------------------ the stage
    def __call__(self, batch: list[Signal]) -> list[Signal]:
        texts = [signal_text(signal) for signal in batch]
        for index in self._indexes():  # the texts that name no term of an index are not scanned for one
            index.prime(texts)
        for signal in batch:
            self.tag(signal)
        return batch

    def _indexes(self) -> list[TermIndex[Any]]:
        """The term indexes :meth:`tag` scans whole texts with."""
        lex = self.lex
        indexes: list[TermIndex[Any]] = [lex.hazards, lex.taxonomy.index, lex.brands, lex.populations, lex.harm]
        if self.gazetteer is not None:
            indexes.append(self.gazetteer.index)
        return indexes

    def tag(self, signal: Signal) -> Signal:
        text = signal_text(signal)
        if not signal.normalized_text and text:
            signal.normalized_text = text  # so that spans index normalized_text
        doc = signal.document
        signal.hazards = self.hazards(text)
        category, terms = self.category(text, doc.product, _meta_strings(doc.meta, CATEGORY_META_KEYS))
        signal.organisations = self.organisations(text, doc.brand, doc.shop, self._enterprises(doc))
        if category is None:  # fall back on the category a named brand is known for
            category = self._brand_category(signal.organisations)
        signal.product_category = category.name if category else None
        signal.product_terms = terms
        signal.populations = self.populations(text)
        if self.gazetteer is not None:
            places = [
                doc.region or "",
                *(e.name for e in signal.organisations if e.kind == "enterprise" and e.source == "meta"),
            ]
            signal.regions = self.regions(text, [p for p in places if p.strip()])
        else:
            signal.regions = []
        signal.standards = list(dict.fromkeys(s for _, _, s in find_standards(text)))
        signal.harm = self.harm(text, signal.hazards)
        signal.harm_occurred = bool(signal.harm)
        signal.evidence = self.evidence(text, signal.hazards)
        return signal

    # ------------------------------------------------------------------ hazards
    def hazards(self, text: str) -> list[HazardMention]:
        return [
            HazardMention(start=m.start, end=m.end, text=m.term, hazard=m.value.hazard, term=m.term)
            for m in self.lex.hazards.find(text)
        ]

    # ------------------------------------------------------------------ product category
    def category(self, text: str, product: str | None, extra_hints: list[str]) -> tuple[Category | None, list[str]]:
        taxonomy = self.lex.taxonomy
        hint_cat: Category | None = None
        hint_terms: list[str] = []
        for hint in [*extra_hints, *([product] if product else [])]:
            cat, terms = self._from_hint(hint)
            hint_terms.extend(terms)
            if cat is not None and (hint_cat is None or cat.depth > hint_cat.depth):
                hint_cat = cat
        matches = taxonomy.index.find(text)
        terms = list(dict.fromkeys([*hint_terms, *(m.term for m in matches)]))
        text_cat = self._best_in_text(matches)
        if hint_cat is None:
            return text_cat, terms
        if text_cat is not None and hint_cat.name in text_cat.path and text_cat.name != hint_cat.name:
            return text_cat, terms  # the text names a more specific kind of the hinted category
        return hint_cat, terms

    def _brand_category(self, organisations: list[EntityMention]) -> Category | None:
        for e in organisations:
            if e.kind == "brand":
                brand = self.lex.brands.get(e.name)
                if brand is not None and brand.category:
                    return self.lex.taxonomy.by_name[brand.category]
        return None

    def _from_hint(self, hint: str) -> tuple[Category | None, list[str]]:
        hint = hint.strip()
        if not hint:
            return None, []
        exact = self.lex.taxonomy.lookup(hint)
        if exact is not None:
            return exact, [hint]
        matches = self.lex.taxonomy.index.find(hint)
        if not matches:
            brand = self.lex.brands.get(hint)
            if brand is not None and brand.category:
                return self.lex.taxonomy.by_name[brand.category], []
            return None, []
        cats = [(self.lex.taxonomy.by_name[m.value], i) for i, m in enumerate(matches)]
        best = max(cats, key=lambda ci: (ci[0].depth, -ci[1]))[0]
        return best, [m.term for m in matches]

    def _best_in_text(self, matches: list[Match[str]]) -> Category | None:
        if not matches:
            return None
        by_name = self.lex.taxonomy.by_name
        counts: dict[str, int] = {}  # in order of first mention, as a Counter would be
        first: dict[str, int] = {}
        for m in matches:
            if m.value in counts:
                counts[m.value] += 1
            else:
                counts[m.value] = 1
                first[m.value] = m.start
        products = [n for n in counts if by_name[n].is_product]
        pool = products or list(counts)
        best = max(pool, key=lambda n: (counts[n], by_name[n].depth, -first[n]))
        return by_name[best]

    # ------------------------------------------------------------------ populations and harm
    def populations(self, text: str) -> list[Population]:
        return list(dict.fromkeys(m.value for m in self.lex.populations.find(text)))

    def harm(self, text: str, hazards: list[HazardMention]) -> list[HarmKind]:
        """Kinds of harm reported as having happened (not negated, not hypothetical)."""
        occurred: list[tuple[int, HarmKind, bool]] = []
        for m in self.lex.harm.find(text):
            cue = context_cue(self.lex, text, m.start, m.end)
            if cue is None or cue.kind == "accessory":
                occurred.append((m.start, m.value.harm, m.value.needs_hazard))
        # a weak word (医院, 伤口) counts beside a hazard or another harm that occurred
        strong = any(not weak for _, _, weak in occurred)
        out: dict[HarmKind, None] = {}
        for start, kind, weak in occurred:
            if weak and not strong and not self._hazard_near(text, start, start + 1, hazards):
                continue
            out.setdefault(kind, None)
        return list(out)

    def _hazard_near(self, text: str, start: int, end: int, hazards: list[HazardMention]) -> bool:
        """A weak harm word (医院, 伤口) counts beside an unambiguous hazard term anywhere in the
        text, or any hazard term in the same clause."""
        lo, hi = clause_bounds(text, start, end, CLAUSE_BREAKS)
        for h in hazards:
            term = self.lex.hazards.get(h.term)
            if (term is not None and not term.ambiguous) or (lo <= h.start and h.end <= hi):
                return True
        return False

    # ------------------------------------------------------------------ evidence
    def evidence(self, text: str, hazards: list[HazardMention]) -> list[Span]:
        spans: list[tuple[int, int]] = []
        half = self.evidence_chars // 2
        for h in hazards:
            lo, hi = clause_bounds(text, h.start, h.end)
            if hi - lo > self.evidence_chars:
                lo, hi = max(lo, h.start - half), min(hi, h.end + half)
            if spans and lo <= spans[-1][1]:
                spans[-1] = (spans[-1][0], max(spans[-1][1], hi))
            else:
                spans.append((lo, hi))
        return [Span(start=lo, end=hi, text=text[lo:hi]) for lo, hi in spans]

    # ------------------------------------------------------------------ regions
    def regions(self, text: str, hints: Iterable[str] = ()) -> list[RegionMention]:
        """Regions of the document hints (its region, then its enterprises' names) and the text."""
        out: dict[str, RegionMention] = {}
        context: list[Division] = []
        for hint in hints:
            for m in self._resolve(hint, context, "meta"):
                out.setdefault(m.code or m.name, m)
        for m in self._resolve(text, context, "text"):
            out.setdefault(m.code or m.name, m)
        return list(out.values())

    def _resolve(self, text: str, context: list[Division], source: str) -> list[RegionMention]:
        assert self.gazetteer is not None
        found: list[RegionMention] = []
        prev: Division | None = None
        prev_end = -10
        for m in self.gazetteer.index.find(text):
            entry = m.value
            adjacent = prev is not None and m.start - prev_end <= 1
            chosen: Division | None = None
            if adjacent and prev is not None:
                inside = [d for d in entry.divisions if d.within(prev) and d.code != prev.code]
                chosen = inside[0] if inside else None
            if chosen is None and entry.weak:
                continue
            if chosen is None:
                in_context = [d for d in entry.divisions if any(d.within(c) for c in context)]
                pool = in_context or list(entry.divisions)
                top_level = min(_LEVEL_RANK[d.level] for d in pool)
                top = [d for d in pool if _LEVEL_RANK[d.level] == top_level]
                if len(top) == 1:
                    chosen = top[0]
                else:  # the same name in several places and nothing to tell them apart
                    found.append(RegionMention(name=m.term, level=top[0].level, source=source))
                    prev, prev_end = None, m.end
                    continue
            found.append(self._mention(chosen, source))
            context.append(chosen)
            prev, prev_end = chosen, m.end
        return found

    def _mention(self, d: Division, source: str) -> RegionMention:
        assert self.gazetteer is not None
        province = self.gazetteer.province(d)
        city = self.gazetteer.city(d)
        return RegionMention(
            name=d.name,
            code=d.code,
            level=d.level,
            province=province.name if province else None,
            city=city.name if city and d.level != "province" and city.name not in PLACEHOLDER_NAMES else None,
            source=source,
        )

    # ------------------------------------------------------------------ organisations
    def _enterprises(self, doc: object) -> list[str]:
        names = [getattr(doc, "enterprise", None) or ""]
        names.extend(_meta_strings(getattr(doc, "meta", {}) or {}, ENTERPRISE_META_KEYS))
        return [n for n in names if n and n not in ("/", "-", "无", "不详")]

    def organisations(
        self, text: str, brand_hint: str | None, shop: str | None, enterprises: list[str]
    ) -> list[EntityMention]:
        out: dict[tuple[str, str], EntityMention] = {}

        def add(e: EntityMention) -> None:
            out.setdefault((e.kind, e.name), e)

        hinted: Brand | None = None
        if brand_hint and brand_hint.strip():
            hinted = self.lex.brands.get(brand_hint.strip())
            add(EntityMention(kind="brand", name=hinted.name if hinted else brand_hint.strip(), source="meta"))
        for name in enterprises:
            add(EntityMention(kind="enterprise", name=name.strip(), source="meta"))
        if shop and shop.strip():
            add(EntityMention(kind="shop", name=shop.strip(), source="meta"))
        named: list[EntityMention] = []
        if "公司" in text or "厂" in text or "集团" in text:
            named.extend(self._companies_in_text(text))
        if "店" in text:
            for m in _SHOP_RE.finditer(text):
                start, name = _trim_name(m.start(), m.group(0))
                if len(name) - len(m.group(1)) >= 2:
                    named.append(EntityMention(kind="shop", name=name, start=start, end=m.end()))
        spans = [(e.start, e.end) for e in named if e.start is not None and e.end is not None]
        for e in self._brands_in_text(text, hinted):
            # a brand name inside a company or shop name stays part of that name (中兴冷饮厂)
            inside = any(lo <= (e.start or 0) and (e.end or 0) <= hi for lo, hi in spans)
            if not inside or e.kind == "platform":
                add(e)
        for e in named:
            add(e)
        return list(out.values())

    def _brands_in_text(self, text: str, hinted: Brand | None) -> list[EntityMention]:
        matches = self.lex.brands.find(text)
        if not matches:
            return []
        sure = {m.value.name for m in matches if not m.value.ambiguous or (m.term != m.value.name and m.term.isascii())}
        out = []
        for m in matches:
            b = m.value
            if b.ambiguous and b.name not in sure and b is not hinted and not self._brand_context(text, m.end, b):
                continue
            out.append(EntityMention(kind=b.kind, name=b.name, start=m.start, end=m.end))
        return out

    def _brand_context(self, text: str, end: int, brand: Brand) -> bool:
        """An ambiguous brand name counts when a model number, 牌/旗舰…, or a product of the
        brand's own branch of the taxonomy follows it (美的空调, 小米的手机; not 很美的衣服)."""
        rest = text[end : end + 8]
        if rest.startswith(_BRAND_FOLLOWERS) or _MODEL_RE.match(rest):
            return True
        taxonomy = self.lex.taxonomy
        root = taxonomy.by_name[brand.category].path[0] if brand.category else None
        for skip in (0, 1):
            if skip and not rest.startswith("的"):
                break
            hit = taxonomy.index.find(rest[skip:])
            if hit and hit[0].start == 0 and (root is None or taxonomy.by_name[hit[0].value].path[0] == root):
                return True
        return False

    def _companies_in_text(self, text: str) -> list[EntityMention]:
        out = []
        for m in _COMPANY_RE.finditer(text):
            suffix = m.group(1)
            start, name = _trim_name(m.start(), m.group(0))
            stem = name[: -len(suffix)]
            bare = suffix in _BARE_SUFFIXES
            if len(stem) < 2 or (
                bare and (len(stem) < 3 or _GENERIC_COMPANY.search(stem) or _SENTENCE_STEM.search(stem))
            ):
                continue
            if suffix == "厂" and m.end() < len(text) and text[m.end()] in "家商区房长址里":
                continue
            out.append(EntityMention(kind="enterprise", name=name, start=start, end=m.end()))
        return out


_LEVEL_RANK = {"province": 0, "city": 1, "county": 2}


def _trim_name(start: int, name: str) -> tuple[int, str]:
    """Drop the words before a company or shop name (我买的|广州某某电器有限公司)."""
    cut = _NAME_BOUNDARY.match(name[:-2]) if len(name) > 2 else None
    if cut:
        return start + cut.end(), name[cut.end() :]
    return start, name


def _meta_strings(meta: dict[str, object], keys: Iterable[str]) -> list[str]:
    if not meta:
        return []
    out = []
    for k in keys:
        v = meta.get(k)
        if isinstance(v, str) and v.strip():
            out.append(v.strip())
    return out
