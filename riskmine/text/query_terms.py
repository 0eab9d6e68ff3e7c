"""What an analyst's filter word means: a region or a product category, with its short forms and synonyms.

A queue filter of 广东 means 广东省, 深圳 means 深圳市, 移动电源 means 充电宝; a category also covers the
categories below it (电子产品 covers 充电宝). The word itself always stays among the terms (records may carry it
as written), and words the gazetteer or the category tree does not know are kept as they are.
"""

from __future__ import annotations

from riskmine.text.gazetteer import get_gazetteer
from riskmine.text.lexicon import get_lexicons


def region_terms(term: str) -> list[str]:
    """The division names a region word denotes (广东 → 广东省; 朝阳 → every 朝阳区/朝阳市/朝阳县), else the word."""
    word = term.strip()
    entry = get_gazetteer().index.get(word)
    if entry is None:
        return [word]
    return list(dict.fromkeys([*(d.name for d in entry.divisions), word]))


def category_terms(term: str) -> list[str]:
    """The category a name or alias denotes and every category below it (移动电源 → 充电宝, …), else the word."""
    word = term.strip()
    taxonomy = get_lexicons().taxonomy
    found = taxonomy.lookup(word) or taxonomy.get(word)
    if found is None:
        return [word]
    below = (c.name for c in taxonomy if found.name in c.path and c.name != found.name)
    return list(dict.fromkeys([found.name, word, *below]))
