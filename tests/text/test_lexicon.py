"""The lexicon files and their loader: coverage, validation errors, matching."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from riskmine.schema import HarmKind, HazardType, Population
from riskmine.text.gazetteer import get_gazetteer
from riskmine.text.lexicon import LEXICON_DIR, get_lexicons, load_lexicons
from riskmine.text.matching import TermIndex, case_variants
from riskmine.text.standards import find_standards
from riskmine.text.tsv import LexiconError

HEADERS = {
    "categories.tsv": "name\tcode\tparent\taliases\tkind",
    "hazards.tsv": "term\thazard\tambiguous\tnote",
    "populations.tsv": "term\tpopulation\tnote",
    "harm.tsv": "term\tharm\tneeds_hazard\tnote",
    "brands.tsv": "name\taliases\tcategory\tkind\tambiguous",
    "cues.tsv": "term\tkind\tside\tmax_gap\tnote",
}
GOOD_ROWS = {
    "categories.tsv": [
        "电子产品\telectronics\t\t数码产品\tproduct",
        "充电宝\tpower_bank\telectronics\t移动电源\tproduct",
    ],
    "hazards.tsv": ["漏电\telectric_shock\t1\t", "起火\tfire\t0\t"],
    "populations.tsv": ["孩子\tchildren\t"],
    "harm.tsv": ["受伤\tinjury\t0\t"],
    "brands.tsv": ["罗马仕\tROMOSS\t充电宝\tbrand\t0"],
    "cues.tsv": ["没有\tnegation\tbefore\t6\t"],
}


def write_lexicons(folder: Path, **overrides: list[str]) -> Path:
    (folder / "context").mkdir(parents=True, exist_ok=True)
    for name, header in HEADERS.items():
        rows = overrides.get(name.removesuffix(".tsv"), GOOD_ROWS[name])
        path = folder / "context" / name if name == "cues.tsv" else folder / name
        path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    return folder


# --------------------------------------------------------------------------- the shipped lexicons


def test_shipped_lexicons_load_and_are_large_enough() -> None:
    lex = get_lexicons()
    assert len(lex.taxonomy) >= 100
    assert sum(1 for b in lex.brand_list if b.kind == "brand") >= 200
    assert len(lex.hazard_terms) >= 150
    assert {h.hazard for h in lex.hazard_terms} == set(HazardType)


def test_every_lexicon_file_has_the_surface_term_first() -> None:
    for path in sorted(LEXICON_DIR.rglob("*.tsv")):
        with path.open(encoding="utf-8") as fh:
            rows = list(csv.reader(fh, delimiter="\t", quoting=csv.QUOTE_NONE))
        assert rows[0][0] in ("name", "term"), path.name
        for row in rows[1:]:
            assert row[0] and "|" not in row[0] and row[0] == row[0].strip(), (path.name, row)


@pytest.mark.parametrize(
    ("term", "hazard", "ambiguous"),
    [
        ("漏电", HazardType.electric_shock, True),
        ("触电", HazardType.electric_shock, True),
        ("麻手", HazardType.electric_shock, True),
        ("起火", HazardType.fire, False),
        ("自燃", HazardType.fire, False),
        ("爆炸", HazardType.fire, True),
        ("烫伤", HazardType.burns, False),
        ("发烫", HazardType.burns, True),
        ("甲醛", HazardType.chemical, True),
        ("荧光剂", HazardType.chemical, True),
        ("割手", HazardType.injuries, True),
        ("误吞", HazardType.choking, False),
        ("窒息", HazardType.suffocation, True),
        ("勒颈", HazardType.strangulation, False),
        ("大肠菌群", HazardType.microbiological, False),
        ("菌落总数", HazardType.microbiological, False),
        ("刺耳", HazardType.hearing_damage, True),
        ("蓝光", HazardType.sight_damage, True),
        ("卡住手指", HazardType.entrapment, False),
        ("溺水", HazardType.drowning, False),
        ("刹车失灵", HazardType.safety_function_failure, False),
        ("漏电保护失效", HazardType.safety_function_failure, False),
        ("损坏家具", HazardType.property_damage, False),
        ("召回", HazardType.other, True),
    ],
)
def test_hazard_terms(term: str, hazard: HazardType, ambiguous: bool) -> None:
    entry = get_lexicons().hazards.get(term)
    assert entry is not None, term
    assert entry.hazard is hazard
    assert entry.ambiguous is ambiguous


def test_populations_and_harm() -> None:
    lex = get_lexicons()
    assert lex.populations.get("宝宝") is Population.infants
    assert lex.populations.get("小朋友") is Population.children
    assert lex.populations.get("长辈") is Population.elderly
    assert lex.populations.get("孕妇") is Population.pregnant
    harm = lex.harm.get("住院")
    assert harm is not None and harm.harm is HarmKind.hospital
    death = lex.harm.get("身亡")
    assert death is not None and death.harm is HarmKind.death
    weak = lex.harm.get("医院")
    assert weak is not None and weak.needs_hazard


@pytest.mark.parametrize(
    "product",
    [
        "充电宝",
        "移动电源",
        "电动自行车",
        "头盔",
        "儿童玩具",
        "爬行垫",
        "水晶泥",
        "纸尿裤",
        "老年鞋",
        "食品接触用塑料制品",
        "不锈钢制品",
        "食品接触用木制品",
        "纸杯",
        "玻璃器皿",
        "银制器皿",
        "电线电缆",
        "钢筋",
        "水泥",
        "建筑防水卷材",
        "危险化学品及其包装物",
        "电力设备",
        "热水器",
        "空调",
        "电暖器",
        "电吹风",
        "电饭煲",
        "电磁炉",
        "洗衣机",
        "冰箱",
        "安全座椅",
        "童车",
        "儿童服装",
        "燃气灶",
        "电子鞭炮",
        "降噪耳机",
        "健身器材",
    ],
)
def test_key_products_of_the_shanxi_plan_are_in_the_taxonomy(product: str) -> None:
    assert get_lexicons().taxonomy.lookup(product) is not None, product


@pytest.mark.parametrize(
    ("dataset_category", "expected", "is_product"),
    [
        ("平板", "平板电脑", True),
        ("水果", "水果", True),
        ("洗发水", "洗发水", True),
        ("衣服", "服装", True),
        ("酒店", "酒店", False),
        ("计算机", "计算机", True),
        ("书籍", "书籍", True),
        ("手机", "手机", True),
        ("蒙牛", "乳制品", True),
        ("热水器", "热水器", True),
    ],
)
def test_categories_of_the_real_data_sets(dataset_category: str, expected: str, is_product: bool) -> None:
    cat = get_lexicons().taxonomy.lookup(dataset_category)
    assert cat is not None and cat.name == expected
    assert cat.is_product is is_product


def test_taxonomy_is_a_tree_with_paths() -> None:
    tax = get_lexicons().taxonomy
    for cat in tax:
        assert cat.path[-1] == cat.name
        if cat.parent is not None:
            assert tax.by_code[cat.parent].path == cat.path[:-1]
    assert [c.name for c in tax.ancestors("雪糕")] == ["雪糕", "冷冻饮品", "食品"]


def test_brands_name_their_category() -> None:
    lex = get_lexicons()
    gree = lex.brands.get("GREE")
    assert gree is not None and gree.name == "格力" and gree.category == "空调"
    assert lex.brands.get("huawei") is not None  # ALL-CAPS names also match lower case
    midea = lex.brands.get("美的")
    assert midea is not None and midea.ambiguous
    jd = lex.brands.get("京东")
    assert jd is not None and jd.kind == "platform"


# --------------------------------------------------------------------------- validation


def test_a_valid_custom_folder_loads(tmp_path: Path) -> None:
    lex = load_lexicons(write_lexicons(tmp_path / "lex"))
    assert lex.taxonomy.lookup("移动电源") is not None
    assert [m.term for m in lex.hazards.find("充电宝漏电起火")] == ["漏电", "起火"]


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"hazards": ["漏电\telectricity\t1\t"]}, "hazards.tsv row 2: unknown hazard 'electricity'"),
        ({"hazards": ["漏电\telectric_shock\t1\t", "漏电\tfire\t0\t"]}, "hazards.tsv row 3: duplicate term '漏电'"),
        ({"hazards": ["漏电\telectric_shock\tyes\t"]}, "hazards.tsv row 2: ambiguous must be 0 or 1"),
        ({"populations": ["孩子\tkids\t"]}, "populations.tsv row 2: unknown population 'kids'"),
        ({"harm": ["受伤\tinjury\t2\t"]}, "harm.tsv row 2: needs_hazard must be 0 or 1"),
        (
            {"categories": ["充电宝\tpower_bank\tgadgets\t\tproduct"]},
            "categories.tsv row 2: parent 'gadgets' is not a category code",
        ),
        (
            {"categories": ["甲类\tcat_a\tcat_b\t\tproduct", "乙类\tcat_b\tcat_a\t\tproduct"]},
            "loops through",
        ),
        (
            {"categories": ["充电宝\tpower_bank\t\t移动电源\tproduct", "电源\tpower\t\t移动电源\tproduct"]},
            "categories.tsv row 3: term '移动电源' already belongs to '充电宝'",
        ),
        ({"categories": ["充电宝\tPower Bank\t\t\tproduct"]}, "code 'Power Bank' must be lower-case"),
        ({"categories": ["鞋类\tshoes\t\t鞋\tproduct"]}, "term '鞋' is shorter than 2 characters"),
        ({"brands": ["罗马仕\tROMOSS\t玩具\tbrand\t0"]}, "brands.tsv row 2: category '玩具' is not a category name"),
        ({"cues": ["没有\tnegation\tabove\t6\t"]}, "cues.tsv row 2: side must be before or after"),
        ({"hazards": ["\telectric_shock\t1\t"]}, "hazards.tsv row 2: empty term"),
        ({"hazards": ["漏电\telectric_shock\t1\tnote\textra"]}, "hazards.tsv row 2: 5 cells but the header has 4"),
    ],
)
def test_bad_rows_give_clear_errors(tmp_path: Path, overrides: dict[str, list[str]], message: str) -> None:
    folder = write_lexicons(tmp_path / "lex", **overrides)
    with pytest.raises(LexiconError, match=message.replace("(", r"\(").replace(")", r"\)")):
        load_lexicons(folder)


def test_missing_file_and_missing_column(tmp_path: Path) -> None:
    folder = write_lexicons(tmp_path / "lex")
    (folder / "harm.tsv").unlink()
    with pytest.raises(LexiconError, match=r"harm\.tsv is missing"):
        load_lexicons(folder)
    folder = write_lexicons(tmp_path / "lex2")
    (folder / "populations.tsv").write_text("term\tnote\n孩子\tx\n", encoding="utf-8")
    with pytest.raises(LexiconError, match="header lacks column"):
        load_lexicons(folder)


def test_non_utf8_file_is_reported(tmp_path: Path) -> None:
    folder = write_lexicons(tmp_path / "lex")
    (folder / "hazards.tsv").write_bytes("term\thazard\tambiguous\n漏电\telectric_shock\t1\n".encode("gbk"))
    with pytest.raises(LexiconError, match="not UTF-8"):
        load_lexicons(folder)


# --------------------------------------------------------------------------- matching


def test_term_index_latin_boundaries_and_longest_match() -> None:
    index = TermIndex({"MI": "xiaomi", "漏电": "a", "漏电保护器": "b"})
    assert [m.term for m in index.find("MINI 和 MI 8")] == ["MI"]
    assert [(m.term, m.start) for m in index.find("买了漏电保护器")] == [("漏电保护器", 2)]
    assert [m.term for m in index.find("漏电保护器", longest=False)] == ["漏电保护器", "漏电"]
    assert index.find("") == []
    assert TermIndex({}).find("anything") == []


def test_case_variants() -> None:
    assert set(case_variants("iPhone")) >= {"iPhone", "iphone", "IPHONE"}
    assert case_variants("Dove") == ["Dove"]  # a common English word matches only as written
    assert case_variants("漏电") == ["漏电"]


def test_standards_are_found_and_canonicalised() -> None:
    text = "符合GB 4943.1-2022和GB/T22760、QB/T 1333—2018及ISO 9001要求，编号AB123不是标准"
    assert [s for _, _, s in find_standards(text)] == ["GB 4943.1-2022", "GB/T 22760", "QB/T 1333-2018", "ISO 9001"]
    for start, end, _ in find_standards(text):
        assert text[start:end].replace(" ", "").startswith(("GB", "QB", "ISO"))


def test_gazetteer_has_divisions_and_weak_forms() -> None:
    gaz = get_gazetteer()
    assert len(gaz) > 3000
    assert gaz.by_code["140105"].name == "小店区"
    hits = {m.term: m.value for m in gaz.index.find("山西太原小店区")}
    assert set(hits) == {"山西", "太原", "小店区"} and not any(e.weak for e in hits.values())
    assert gaz.index.get("开封") is not None and gaz.index.get("开封").weak  # type: ignore[union-attr]
    assert gaz.index.get("延边") is not None  # autonomous prefecture without its ethnic suffix
