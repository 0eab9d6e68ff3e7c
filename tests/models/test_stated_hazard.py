"""The stated-hazard rule: events stated in the hazard sense are found, other senses and worries are not."""

from __future__ import annotations

import pytest

from riskmine.models.stated_hazard import find_stated_hazards, stated_hazards_batch
from riskmine.schema import HazardType as H


def codes(text: str, source_type: str | None = "review") -> set[H]:
    return {c for e in find_stated_hazards(text, source_type) for c in e.hazards}


@pytest.mark.parametrize(
    ("text", "source_type", "expected"),
    [
        # the misses that opened issue 14, from sources the model was not trained on
        ("老爸发现外机漏电，还好没有伤到人！", "review", {H.electric_shock}),
        ("头天下午安装好之后第二天上午房子不知道什么原因着火了", "review", {H.fire}),
        ("广汽丰田凯美瑞行驶中发动机失去动力", "news", {H.injuries}),
        ("冲一会就发烫 手机充电宝都是烫的", "review", {H.fire}),
        ("燃气热水器一氧化碳泄漏致人中毒事件，1人住院", "station_report", {H.chemical}),
        ("婴儿推车刹车失灵;侧翻", "station_report", {H.safety_function_failure, H.injuries}),
        ("儿童滑板车断裂;摔伤", "station_report", {H.injuries}),
        ("电动车充电自燃导致火灾，一家4口不幸遇难", "news", {H.fire}),
        ("用了这个面霜第二天就过敏了，脸上起红疹", "review", {H.chemical}),
    ],
)
def test_stated_events_are_found(text: str, source_type: str, expected: set[H]) -> None:
    assert expected <= codes(text, source_type)


@pytest.mark.parametrize(
    ("text", "source_type"),
    [
        ("买了漏电保护器，装上以后很安全", "review"),  # accessory
        ("销量爆炸，好评如潮", "review"),  # another sense
        ("怕起火，一直不敢用", "review"),  # a worry, nothing observed
        ("从来没有漏电过，质量不错", "review"),  # negated
        ("会不会漏电啊？", "review"),  # a question
        ("这颜值令人窒息", "review"),  # slang
        ("美国华裔鞋王遇火灾身亡", "news"),  # a fire with no product as its cause
        ("广西一鞋店起火4人死亡", "news"),  # a shop is a place, not a product
        ("森林大火起火原因查明", "news"),
        ("充电器一点都不烫", "review"),
        ("这价格太伤人了，再也不买了", "review"),  # 伤人 of feelings
        ("耳机音量一大耳朵都要爆炸", "review"),  # hyperbole
        ("电池漏电，待机一天就没电了", "review"),  # battery drain
        ("保时捷与电动车碰撞后撞树起火", "news"),  # a fire after a crash
        ("滨州一小区烟花爆炸致1死", "news"),  # fireworks set off by people
        ("台湾超级电池工厂爆炸", "news"),  # a factory accident
        ("11个月大婴儿吃柚子窒息", "news"),  # ordinary food
        ("小米汽车称断轴非产品质量问题", "news"),  # a finding that clears the product
    ],
)
def test_other_senses_and_worries_are_not_events(text: str, source_type: str) -> None:
    assert find_stated_hazards(text, source_type) == []


def test_more_stated_events() -> None:
    assert H.electric_shock in codes("碰到洗衣机的不锈钢内筒时会有触电的感觉")
    assert H.chemical in codes("质量差，用了长痘痘，几天了还没消")
    assert H.burns in codes("拍几张照片手机烫得拿不住")
    assert H.other in codes("23批次化妆品抽检不合格", "news")
    assert H.safety_function_failure in codes("特斯拉回应踩不下刹车", "news")


def test_news_needs_a_product_beside_the_event_reviews_do_not() -> None:
    assert codes("仓库突然起火", "news") == set()
    assert codes("仓库突然起火", "review") == {H.fire}
    assert codes("一辆电动车突然起火", "news") == {H.fire}


def test_spans_and_harm() -> None:
    text = "洗澡的时候热水器漏电，被电到了，手麻了好久"
    events = find_stated_hazards(text, "review")
    assert [text[e.start : e.end] for e in events] == [e.text for e in events]
    assert any(e.harm for e in events)  # 被电到: a shock was felt
    leak = find_stated_hazards("外壳漏电，电笔一测就亮", "review")
    assert leak and not any(e.harm for e in leak)  # found by a tester: no harm stated
    fire = find_stated_hazards("电动车充电时起火，造成2人受伤", "news")
    assert fire and fire[0].harm


def test_batch_aligns_and_checks_lengths() -> None:
    assert [bool(x) for x in stated_hazards_batch(["外机漏电", "很好用"], ["review", None])] == [True, False]
    with pytest.raises(ValueError, match="source types"):
        stated_hazards_batch(["a", "b"], ["review"])


def test_the_rules_findings_are_also_features_of_the_baseline() -> None:
    from riskmine.models.features import FeatureConfig, hazard_sense_tokens

    tokens = hazard_sense_tokens("刚买的热水器外壳漏电", stated=True)
    assert "stated:live_casing" in tokens and "stated:electric_shock" in tokens
    assert not any(t.startswith("stated:") for t in hazard_sense_tokens("刚买的热水器外壳漏电"))
    assert FeatureConfig().stated_hazards
    # a model saved before the field existed was trained without these tokens, and loads so
    state = {k: v for k, v in vars(FeatureConfig()).items() if k != "stated_hazards"}
    old = FeatureConfig.__new__(FeatureConfig)
    old.__setstate__(state)
    assert old.stated_hazards is False
