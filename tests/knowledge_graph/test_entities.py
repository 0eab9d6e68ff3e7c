"""Entity resolution on real brand, enterprise and model names (demo corpus, spot-check data, lexicons)."""

from __future__ import annotations

import pytest

from riskmine.knowledge_graph import entities
from riskmine.knowledge_graph.entities import (
    EntityError,
    brand_owner,
    canonical_brand,
    canonical_enterprise,
    canonical_key,
    canonical_model,
    canonical_shop,
    display_name,
    is_null_name,
    parse_enterprise,
    split_enterprises,
)


@pytest.mark.parametrize(
    ("names", "key"),
    [
        (["格力", "GREE", "Gree", "gree", "格力电器", "ＧＲＥＥ", "格力 电器", "格力牌"], "格力"),
        (["美的", "Midea", "MIDEA", "美的集团"], "美的"),
        (["小米", "Xiaomi", "XIAOMI", "MI", "小米科技"], "小米"),
        (["华为", "HUAWEI", "Huawei"], "华为"),
        (["安克", "Anker", "ANKER"], "安克"),
        (["罗马仕", "ROMOSS", "romoss"], "罗马仕"),
    ],
)
def test_brand_aliases_share_one_key(names: list[str], key: str) -> None:
    assert {canonical_brand(n) for n in names} == {key}


def test_unknown_brand_is_folded_for_width_and_case() -> None:
    # demo-corpus brands that are in no lexicon
    assert canonical_brand("极充") == "极充"
    assert canonical_brand("Ｎｅｗ Ｂｒａｎｄ") == canonical_brand("new brand") == "newbrand"
    assert canonical_brand("乐淘童牌") == "乐淘童"
    with pytest.raises(EntityError, match="empty"):
        canonical_brand("   ")


def test_brand_owner_and_display_name() -> None:
    assert brand_owner("GREE") == "珠海格力电器股份有限公司"
    assert brand_owner("极充") is None
    assert display_name("brand", "gree") == "格力"
    assert display_name("brand", "Ｎｅｗ") == "New"


@pytest.mark.parametrize(
    ("names", "key"),
    [
        (
            [
                "深圳市极充科技有限公司",
                "极充科技股份有限公司",
                "广东 极充科技（集团）有限公司",
                "深圳极充科技有限责任公司",
            ],
            "极充科技",
        ),
        (["珠海格力电器股份有限公司", "格力电器有限公司", "珠海格力电器"], "格力电器"),
        (["内蒙古蒙牛乳业（集团）股份有限公司", "蒙牛乳业股份有限公司"], "蒙牛乳业"),
        (["海林市柴河镇中兴冷饮厂", "中兴冷饮厂"], "中兴冷饮"),
        (["广州市富乐尔科技有限公司黄埔分公司", "广州市富乐尔科技有限公司"], "富乐尔科技"),
        (["安琪酵母股份有限公司", "安琪酵母有限公司"], "安琪酵母"),
    ],
)
def test_enterprise_spellings_share_one_key(names: list[str], key: str) -> None:
    assert {canonical_enterprise(n) for n in names} == {key}


def test_enterprise_region_is_kept_apart() -> None:
    e = parse_enterprise("台州市黄岩区贝乐塑胶制品有限公司")
    assert e.key == "贝乐塑胶制品"
    assert e.region is not None and e.region.code == "331003" and e.region.name == "黄岩区"
    assert e.full == "台州市黄岩区贝乐塑胶制品有限公司"
    assert parse_enterprise("开封市淇乐多食品有限公司").region.code == "410200"  # type: ignore[union-attr]


def test_region_prefix_is_kept_when_nothing_distinctive_would_remain() -> None:
    # removing 北京市 would leave no name; a bracketed branch location stays part of the name
    assert canonical_enterprise("北京市公司") == "北京市"
    assert canonical_enterprise("蒙牛乳业（马鞍山）有限公司") == "蒙牛乳业(马鞍山)"
    assert canonical_enterprise("乐斯福〔明光〕有限公司") == "乐斯福(明光)"


def test_former_name_notes_are_dropped() -> None:
    assert canonical_enterprise("苏州市姑苏区宝灵商行（原苏州晓明制曲）") == "宝灵商行"


def test_labelled_enterprise_lists_put_the_producer_first() -> None:
    raw = "经销商：连云港棠品食品有限公司；生产商：舟山恒冠食品有限公司"
    assert split_enterprises(raw) == ["舟山恒冠食品有限公司", "连云港棠品食品有限公司"]
    assert canonical_enterprise(raw) == "恒冠食品"
    assert split_enterprises("/ ") == []
    assert is_null_name("不详") and is_null_name(None) and not is_null_name("极充")
    with pytest.raises(EntityError, match="empty"):
        canonical_enterprise("/")


def test_models_and_shops() -> None:
    assert canonical_model("KFR-35GW/NhGc1B") == canonical_model("kfr 35gw nhgc1b") == "KFR35GWNHGC1B"
    assert canonical_model("型号：ＡＢ－１２") == "AB12"
    assert canonical_shop("天猫棠品旗舰店 ") == canonical_shop("天猫棠品 旗舰店")
    with pytest.raises(EntityError):
        canonical_model(" - ")


def test_canonical_key_dispatches_and_rejects_unknown_kinds() -> None:
    assert canonical_key("brand", "GREE") == "格力"
    assert canonical_key("enterprise", "深圳市极充科技有限公司") == "极充科技"
    assert canonical_key("product", "a-1") == "A1"
    with pytest.raises(EntityError, match="unknown entity kind"):
        canonical_key("person", "张三")


def test_alias_file_conflicts_name_the_row(tmp_path: object, monkeypatch: pytest.MonkeyPatch) -> None:
    from pathlib import Path

    bad = Path(str(tmp_path)) / "aliases.tsv"
    bad.write_text("brand\taliases\tenterprise\n格力\tGREE\t\n美的\tgree\t\n", encoding="utf-8")
    monkeypatch.setattr(entities, "BRAND_ALIASES_FILE", bad)
    entities._brand_table.cache_clear()
    try:
        with pytest.raises(EntityError, match=r"row 3.*already belongs to '格力'"):
            entities._brand_table()
    finally:
        entities._brand_table.cache_clear()
        canonical_brand.cache_clear()
