"""Tagging by lexicon automata (riskmine.text.tagger) on real review lines, spot-check records and adversarial input."""

from __future__ import annotations

import csv
import time
from typing import Any

import pytest

from riskmine.schema import HarmKind, HazardType, Population, RawDocument, Signal
from riskmine.settings import shared_data_dir
from riskmine.text.gazetteer import get_gazetteer
from riskmine.text.lexicon import Lexicons, get_lexicons
from riskmine.text.tagger import Tagger, context_cue

# Real lines from /work/shared/data (data set, file, row id as in riskmine/data/disambiguation/README.md).
# online_shopping_10_cats.csv row 12809 (平板)
HUAWEI_LEAK = "华为P9 在充电时，金属后背漏电，有麻麻的感觉 以申请退货 现在京东不咋地啊 客服不说话 打电话没人接 服了"
# fewclue_eprstmt unlabeled.json id 13829
USB_LIVE = "用电笔测试过，充电时usb外壳带电!"
# online_shopping_10_cats.csv row 36437 (热水器)
HEATER_RCD = "装上了，一切都还好。防电墙有了，就是没有防漏电开关，如果有的话就更好了。价格划算。发票也有。"
# online_shopping_10_cats.csv row 12990 (平板)
CHARGER_BURST = (
    "差评啊，第一次遇到手机充电时把充电器爆了的，还好没烧起来，华为这质量很怀疑啊，才买不到两个月，希望能给个说法"
)
# online_shopping_10_cats.csv row 44754 (衣服)
FORMALDEHYDE = "服装制作过程中甲醛含量超标，气味很大，熏得头疼"
# waimai_10k.csv row 6126
FOIL_CUT = "卷饼铝箔把嘴唇划破了，郁闷"
# food_spotcheck_foodmate/国内22年冷冻20230728001346_format.csv data row 1
SPOT_CHECK: dict[str, Any] = {
    "text": "爱尚红小豆(红豆口味冰棍) 检测项目：大肠菌群 检测结果：不合格",
    "product": "爱尚红小豆(红豆口味冰棍)",
    "meta": {
        "产品分类": "冷冻饮品-->冰棍",
        "生产商": "宿迁市泗洪裕康食品有限公司",
        "供应商": "温州市鹿城区双屿郑米秀食品店",
    },
}


@pytest.fixture(scope="module")
def tagger() -> Tagger:
    return Tagger(get_lexicons(), get_gazetteer())


def tag(tagger: Tagger, text: str, **doc: Any) -> Signal:
    signal = Signal.from_document(RawDocument(source="test", source_type="review", text=text, **doc))
    return tagger([signal])[0]


def tagger_lexicons() -> Lexicons:
    return get_lexicons()


def assert_spans_exact(signal: Signal) -> None:
    text = signal.normalized_text
    for h in signal.hazards:
        assert text[h.start : h.end] == h.term == h.text
    for e in signal.evidence:
        assert text[e.start : e.end] == e.text
    for o in signal.organisations:
        if o.start is not None and o.end is not None:
            surface = text[o.start : o.end]
            brand = tagger_lexicons().brands.get(surface)
            assert surface == o.name or (brand is not None and brand.name == o.name)


SHOPPING_CSV = shared_data_dir() / "online_shopping_10_cats" / "online_shopping_10_cats.csv"


def test_real_leakage_review(tagger: Tagger) -> None:
    s = tag(tagger, HUAWEI_LEAK, product="平板")
    assert_spans_exact(s)
    assert [(h.term, h.hazard) for h in s.hazards] == [
        ("漏电", HazardType.electric_shock),
        ("麻麻的", HazardType.electric_shock),
    ]
    assert s.product_category == "平板电脑"
    names = {(o.kind, o.name) for o in s.organisations}
    assert ("brand", "华为") in names and ("platform", "京东") in names
    assert s.evidence and "金属后背漏电" in s.evidence[0].text
    assert not s.harm_occurred


def test_real_live_usb_shell(tagger: Tagger) -> None:
    s = tag(tagger, USB_LIVE)
    assert_spans_exact(s)
    assert [h.term for h in s.hazards] == ["外壳带电"]


def test_accessory_and_negation_are_found_for_the_next_stage(tagger: Tagger) -> None:
    s = tag(tagger, HEATER_RCD, product="热水器")
    assert_spans_exact(s)
    assert s.product_category == "热水器"
    assert [h.term for h in s.hazards] == ["漏电"]
    cue = context_cue(tagger.lex, s.normalized_text, s.hazards[0].start, s.hazards[0].end)
    assert cue is not None and cue.term in ("防", "开关")


def test_real_formaldehyde_review(tagger: Tagger) -> None:
    s = tag(tagger, FORMALDEHYDE, product="衣服")
    assert_spans_exact(s)
    assert s.product_category == "服装"
    assert {h.hazard for h in s.hazards} == {HazardType.chemical}


def test_real_charger_burst_has_no_occurred_fire(tagger: Tagger) -> None:
    s = tag(tagger, CHARGER_BURST, product="平板")
    assert_spans_exact(s)
    assert [h.term for h in s.hazards] == ["爆了", "烧起来"]
    assert s.product_category == "平板电脑"  # the hint decides over 手机/充电器 mentions in the text


def test_real_food_review_injury_occurred(tagger: Tagger) -> None:
    s = tag(tagger, FOIL_CUT)
    assert_spans_exact(s)
    assert s.hazards[0].term == "划破"
    assert s.harm == [HarmKind.injury] and s.harm_occurred


def test_spot_check_record(tagger: Tagger) -> None:
    s = tag(tagger, **SPOT_CHECK)
    assert_spans_exact(s)
    assert s.product_category == "冰棍"
    assert [h.hazard for h in s.hazards] == [HazardType.microbiological]
    enterprises = {o.name for o in s.organisations if o.kind == "enterprise" and o.source == "meta"}
    assert enterprises == {"宿迁市泗洪裕康食品有限公司", "温州市鹿城区双屿郑米秀食品店"}
    codes = {r.code for r in s.regions}
    assert {"321300", "321324", "330300", "330302"} <= codes  # 宿迁市, 泗洪县, 温州市, 鹿城区


@pytest.mark.parametrize(
    ("hint", "expected"),
    [
        ("平板", "平板电脑"),
        ("水果", "水果"),
        ("洗发水", "洗发水"),
        ("衣服", "服装"),
        ("酒店", "酒店"),
        ("计算机", "计算机"),
        ("书籍", "书籍"),
        ("手机", "手机"),
        ("蒙牛", "乳制品"),
        ("热水器", "热水器"),
        ("冷冻饮品-->雪糕", "雪糕"),
        ("豆及豆制品-->非发酵豆制品", "非发酵豆制品"),
        ("水产及其制品-->生鲜（冻）水产品", "生鲜水产品"),
        ("食品相关产品-->洗涤剂/消毒剂", "洗涤剂"),
        ("罗马仕10000毫安充电宝", "充电宝"),
    ],
)
def test_category_from_the_product_hint(tagger: Tagger, hint: str, expected: str) -> None:
    assert tag(tagger, "东西收到了", product=hint).product_category == expected


def test_category_from_the_text(tagger: Tagger) -> None:
    s = tag(tagger, "充电宝用了一周就鼓包，充电宝发烫，手机也热")
    assert s.product_category == "充电宝"
    assert s.product_terms[:2] == ["充电宝", "手机"]
    # a product wins over a service when both are named as often
    assert tag(tagger, "快递很快，手机不错").product_category == "手机"
    # a brand's known category when no product is named
    assert tag(tagger, "格力的质量还行").product_category == "空调"
    # a more specific kind of the hinted category
    assert tag(tagger, "雪糕化了", product="冷冻饮品").product_category == "雪糕"


def test_regions_with_codes(tagger: Tagger) -> None:
    s = tag(tagger, "在山西太原小店区的店里买的，后来寄到广州")
    got = {(r.name, r.code, r.level) for r in s.regions}
    assert got == {
        ("山西省", "140000", "province"),
        ("太原市", "140100", "city"),
        ("小店区", "140105", "county"),
        ("广州市", "440100", "city"),
    }
    county = next(r for r in s.regions if r.code == "140105")
    assert (county.province, county.city, county.source) == ("山西省", "太原市", "text")


def test_region_hint_and_ambiguous_county(tagger: Tagger) -> None:
    s = tag(tagger, "朝阳区的仓库发的货", region="北京市")
    assert [(r.name, r.code, r.source) for r in s.regions] == [
        ("北京市", "110000", "meta"),
        ("朝阳区", "110105", "text"),
    ]
    alone = tag(tagger, "朝阳区的仓库发的货").regions
    assert [(r.name, r.code) for r in alone] == [("朝阳区", None)]  # Beijing or Changchun: not guessed


def test_common_words_are_not_regions(tagger: Tagger) -> None:
    for text in ("开封后要冷藏", "环境优雅安静", "大理石台面", "沿海城市的酒店", "吃了个三明治"):
        assert tag(tagger, text).regions == [], text
    assert [r.code for r in tag(tagger, "河南开封的朋友").regions] == ["410000", "410200"]


def test_brands_companies_and_shops(tagger: Tagger) -> None:
    s = tag(tagger, "我买的是广州市好易电器有限公司的美的空调，京东自营旗舰店发货，小米粥也不错，原厂配件")
    assert_spans_exact(s)
    got = {(o.kind, o.name) for o in s.organisations}
    assert ("enterprise", "广州市好易电器有限公司") in got
    assert ("brand", "美的") in got
    assert ("shop", "京东自营旗舰店") in got
    assert ("brand", "小米") not in got  # 小米粥 is food
    assert not any(o.name.endswith("原厂") for o in s.organisations)
    assert ("brand", "美的") not in {(o.kind, o.name) for o in tag(tagger, "颜色很美的衣服").organisations}
    names = [(o.kind, o.name) for o in tag(tagger, "由深圳市某某科技有限公司生产，中兴冷饮厂代工").organisations]
    assert names == [("enterprise", "深圳市某某科技有限公司"), ("enterprise", "中兴冷饮厂")]  # not the brand 中兴
    assert [o.name for o in tag(tagger, "这是玩具工厂做的，这家公司不行，原厂配件").organisations] == []
    # fragments of a sentence before 公司/厂 are no enterprise (a whereabouts, not a name)
    for text in (
        "东西送到公司，打开就冒烟",
        "我拿回公司试了一下",
        "他们寄去厂里修",
        "东西在公司放着",
        "我们公司也买了",
    ):
        assert [o.name for o in tag(tagger, text).organisations if o.kind == "enterprise"] == [], text
    named = tag(tagger, "宁波顺达运输公司送来的电暖器").organisations
    assert ("enterprise", "宁波顺达运输公司") in {(o.kind, o.name) for o in named}


def test_document_hints_become_organisations(tagger: Tagger) -> None:
    s = tag(tagger, "不好用", brand="GREE", shop="格力官方旗舰店", enterprise="珠海格力电器股份有限公司")
    got = {(o.kind, o.name, o.source) for o in s.organisations}
    assert got == {
        ("brand", "格力", "meta"),
        ("shop", "格力官方旗舰店", "meta"),
        ("enterprise", "珠海格力电器股份有限公司", "meta"),
    }
    assert {r.code for r in s.regions} == {"440400"}  # 珠海, from the enterprise name


def test_standards(tagger: Tagger) -> None:
    s = tag(tagger, "不符合GB 4706.1-2005和GB/T 22760的要求")
    assert s.standards == ["GB 4706.1-2005", "GB/T 22760"]


def test_populations(tagger: Tagger) -> None:
    s = tag(tagger, "给宝宝和爷爷买的，孕妇也能用，孩子很喜欢")
    assert s.populations == [Population.infants, Population.elderly, Population.pregnant, Population.children]


@pytest.mark.parametrize(
    ("text", "harm", "occurred"),
    [
        ("孩子被烫伤了，送到医院，幸好没有住院", [HarmKind.injury, HarmKind.hospital], True),
        ("差点烫伤孩子", [], False),
        ("担心孩子受伤", [], False),
        ("还好没有受伤", [], False),
        ("会不会受伤啊", [], False),
        ("万一起火烧毁房子怎么办", [], False),
        ("充电宝爆炸，房子被烧毁，一人死亡", [HarmKind.property_damage, HarmKind.death], True),
        ("酒店离医院很近，交通方便", [], False),  # 医院 alone is not harm
        ("手机漏电，手被电伤了，去医院看了", [HarmKind.injury, HarmKind.hospital], True),
        # news wording: "no one was hurt" (demo corpus power-bank story)
        ("充电宝突然冒烟，处置过程约三分钟，未造成人员受伤。", [], False),
        ("宿舍内移动电源着火，宿管用灭火器扑灭，无人员受伤。", [], False),
        ("事故没有导致人员受伤", [], False),
        ("电热毯起火，致一人受伤", [HarmKind.injury], True),
    ],
)
def test_harm_occurred_only_when_asserted(tagger: Tagger, text: str, harm: list[HarmKind], occurred: bool) -> None:
    s = tag(tagger, text)
    assert s.harm == harm
    assert s.harm_occurred is occurred


def test_emoji_and_html_remnants(tagger: Tagger) -> None:
    text = "<p>充电宝😡😡起火了&nbsp;！！</p><br/>🔥🔥 <script>x</script>"
    s = tag(tagger, text)
    assert_spans_exact(s)
    assert [h.term for h in s.hazards] == ["起火"]


def test_very_long_text(tagger: Tagger) -> None:
    text = ("这个热水器用了半年，" * 9_000 + "突然漏电，手麻了一下。")[:199_000]
    t0 = time.perf_counter()
    s = tag(tagger, text)
    assert time.perf_counter() - t0 < 5
    assert_spans_exact(s)
    assert s.product_category == "热水器"
    assert len(s.evidence) >= 1 and all(e.end - e.start <= tagger.evidence_chars + 10 for e in s.evidence)


def test_empty_normalized_text_falls_back_to_title_and_text(tagger: Tagger) -> None:
    doc = RawDocument(source="t", source_type="news", title="某品牌电暖器起火", text="多地报告电暖器自燃")
    s = tagger([Signal.from_document(doc)])[0]
    assert s.normalized_text == "某品牌电暖器起火\n多地报告电暖器自燃"
    assert [h.term for h in s.hazards] == ["起火", "自燃"]
    assert_spans_exact(s)
    assert s.product_category == "电暖器"


def test_text_without_anything(tagger: Tagger) -> None:
    s = tag(tagger, "   ok   ")
    assert s.hazards == [] and s.product_category is None and s.regions == [] and s.evidence == []
    assert tagger([]) == []


@pytest.mark.slow
@pytest.mark.skipif(not SHOPPING_CSV.is_file(), reason="shared/data is not beside the repository")
def test_throughput_on_20k_real_reviews(tagger: Tagger) -> None:
    with SHOPPING_CSV.open(encoding="utf-8-sig", newline="") as fh:
        rows = [r for r in csv.DictReader(fh) if (r["review"] or "").strip()][:20_000]
    signals = [
        Signal.from_document(RawDocument(source="bench", source_type="review", text=r["review"], product=r["cat"]))
        for r in rows
    ]
    t0 = time.perf_counter()
    tagger(signals)
    rate = len(signals) / (time.perf_counter() - t0)
    assert rate > 1_000, f"{rate:.0f} documents/s"
    assert sum(1 for s in signals if s.hazards) > 100
