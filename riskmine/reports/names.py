"""Names a report is asked for: the organisation and the product category, checked before anything is drafted.

An organisation nobody knows, or a category neither the category tree nor the store knows, would give an empty
report that looks like a quiet month; both are refused with the names that are known.
"""

from __future__ import annotations

from collections.abc import Collection as Names

from riskmine.reports.errors import ReportError
from riskmine.store.base import Collection, Store
from riskmine.text.lexicon import get_lexicons

MAX_KNOWN = 10_000
SHOWN_NAMES = 30


def known_list(names: Names[str], what: str) -> str:
    """The known names, at most SHOWN_NAMES of them, as a sentence."""
    ordered = sorted(names)
    shown = "、".join(ordered[:SHOWN_NAMES]) or "（无）"
    more = f" 等 {len(ordered)} 个" if len(ordered) > SHOWN_NAMES else ""
    return f"已知的{what}：{shown}{more}"


def check_organisation(organisation: str | None, known: Names[str]) -> None:
    """Refuse an organisation that is not among the known ones (None or blank: the reporter's own, fine)."""
    if organisation is None or not organisation.strip():
        return
    if organisation.strip() not in known:
        names = known_list(known, "单位")
        raise ReportError(f"未知的单位“{organisation.strip()}”：组织机构树、候选风险和监测站报送中都没有它。{names}")


def resolve_category(store: Store, category: str) -> str:
    """The category a name or synonym denotes (移动电源 → 充电宝); one that neither the category tree nor the
    store's candidates know is refused."""
    word = category.strip()
    found = get_lexicons().taxonomy.lookup(word)
    if found is not None:
        return found.name
    in_store = {str(b.key) for b in store.aggregate(Collection.candidates, "product_category", size=MAX_KNOWN) if b.key}
    if word in in_store:
        return word
    known = known_list(in_store, "类别（已有候选风险）")
    raise ReportError(f"未知的产品类别“{word}”：类别表和已有候选风险中都没有它。{known}")
