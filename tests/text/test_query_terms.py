"""Filter words mean what they denote: short region names, category synonyms and the categories below."""

from __future__ import annotations

from riskmine.text.query_terms import category_terms, region_terms


def test_region_words_resolve_to_division_names() -> None:
    assert region_terms("广东") == ["广东省", "广东"]
    assert region_terms(" 广东省 ") == ["广东省"]
    assert region_terms("深圳") == ["深圳市", "深圳"]
    assert region_terms("新疆") == ["新疆维吾尔自治区", "新疆"]
    assert len(region_terms("朝阳")) > 1 and all(n.startswith("朝阳") for n in region_terms("朝阳"))
    assert region_terms("火星基地") == ["火星基地"]  # unknown words are kept


def test_category_words_resolve_to_the_category_and_those_below() -> None:
    assert category_terms("移动电源") == ["充电宝", "移动电源"]
    assert category_terms("电热水壶") == ["电水壶", "电热水壶"]  # records may carry the synonym as written
    assert category_terms("充电宝") == ["充电宝"]
    below = category_terms("电子产品")
    assert below[0] == "电子产品" and "充电宝" in below and "手机" in below
    assert category_terms("不存在的品类") == ["不存在的品类"]
