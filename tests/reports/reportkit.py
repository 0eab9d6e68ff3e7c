"""Fixture data for the report tests: signals and candidates written straight into a real SQLiteStore."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

from riskmine.schema import (
    CandidateRisk,
    CandidateStatus,
    DispositionMeasure,
    HarmKind,
    HazardMention,
    HazardType,
    Population,
    RawDocument,
    RegionMention,
    RiskLevel,
    Signal,
    SourceType,
    Tier,
    WarningColor,
)
from riskmine.store.base import Collection, Store

CST = timezone(timedelta(hours=8))
HOSTILE = '<script>alert(1)</script>=HYPERLINK("x")'


def signal(
    sid: str,
    text: str,
    when: datetime,
    *,
    source_type: SourceType = SourceType.review,
    source: str = "test",
    hazard: HazardType | None = HazardType.fire,
    term: str = "起火",
    product: str | None = None,
    shop: str | None = None,
    rating: float | None = None,
    price: float | None = None,
    region: str | None = None,
    enterprise: str | None = None,
    harm: list[HarmKind] | None = None,
    is_risk: bool = True,
    category: str = "充电宝",
    meta: dict[str, Any] | None = None,
    url: str | None = None,
) -> Signal:
    doc = RawDocument(
        source=source,
        source_type=source_type,
        source_id=sid,
        url=url,
        text=text,
        published_at=when,
        product=product,
        shop=shop,
        rating=rating,
        price=price,
        region=region,
        enterprise=enterprise,
        meta=meta or {},
    )
    hazards = []
    if hazard is not None and term in text:
        start = text.index(term)
        hazards = [HazardMention(start=start, end=start + len(term), text=term, hazard=hazard, term=term)]
    regions = [RegionMention(name=region, province=region, level="province", code="440000")] if region else []
    return Signal(
        id=sid,
        document=doc,
        normalized_text=text,
        product_category=category,
        hazards=hazards,
        regions=regions,
        harm=harm or [],
        harm_occurred=bool(harm),
        is_risk=is_risk,
        risk_score=0.9 if is_risk else 0.1,
    )


def at(month: int, day: int, hour: int = 10, year: int = 2025) -> datetime:
    return datetime(year, month, day, hour, tzinfo=CST)


def seed(store: Store) -> dict[str, Any]:
    """Signals of March 2025 (period 2025-02-25 … 2025-03-24) and around it, and three candidates."""
    power = [
        signal(
            "s1",
            "充电宝充电时起火，烧坏床单",
            at(2, 25, 1),
            product="移动电源A",
            shop="甲店",
            rating=1,
            price=99.0,
            region="广东省",
            url="https://shop.example.com/a",
            enterprise="深圳甲公司",
        ),
        signal("s2", "充电宝半夜起火冒烟", at(3, 10), product="移动电源A", shop="甲店", rating=2, region="广东省"),
        signal(
            "s3",
            "充电宝起火，孩子手被烫伤",
            at(3, 24, 23),
            source_type=SourceType.complaint,
            harm=[HarmKind.injury],
            region="浙江省",
            enterprise="深圳甲公司",
        ),
        signal("s4", "充电宝起火" + HOSTILE, at(3, 25, 0), product="移动电源A", shop="甲店", rating=1),  # next period
        signal("s5", "充电宝起火了", at(2, 20), product="移动电源A", shop="甲店", rating=1),  # previous period
    ]
    others = [
        # reviews of the same product in the period that are not negative: count in 评论数 only
        signal("s6", "充电宝很好用", at(3, 1), product="移动电源A", shop="甲店", rating=5, is_risk=False, hazard=None),
        signal("s7", "发货快", at(3, 2), product="移动电源A", shop="甲店", rating=4, is_risk=False, hazard=None),
        # same product in another shop: its own row-less count
        signal("s8", "一般", at(3, 3), product="移动电源A", shop="乙店", rating=3, is_risk=False, hazard=None),
        signal(
            "k1",
            "电热水壶漏电",
            at(3, 5),
            hazard=HazardType.electric_shock,
            term="漏电",
            category="电热水壶",
            source="station:示范站",
            source_type=SourceType.station_report,
        ),
        signal(
            "sc1",
            "【监督抽查】移动电源 不合格，生产商 深圳甲公司",
            at(1, 15),
            source_type=SourceType.spot_check,
            hazard=None,
            enterprise="深圳甲公司",
            meta={"verdict": "不合格", "test_item": "过充保护"},
        ),
    ]
    store.write(Collection.signals, [*power, *others])
    fire = CandidateRisk(
        id="c-fire",
        key="充电宝|fire",
        title="充电宝 · 起火",
        product_category="充电宝",
        hazard=HazardType.fire,
        signal_ids=["s1", "s2", "s3", "s4", "s5"],
        signal_count=5,
        brands=["极充"],
        enterprises=["深圳甲公司"],
        populations=[Population.children],
        tier=Tier.immediate,
        risk_level=RiskLevel.high,
        warning_color=WarningColor.red,
        suggested_measures=[DispositionMeasure.spot_check, DispositionMeasure.consumer_advisory],
        status=CandidateStatus.confirmed,
        harm_count=1,
        priority=0.9,
        first_seen=at(2, 20),
        last_seen=at(3, 25, 0),
    )
    kettle = CandidateRisk(
        id="c-kettle",
        key="电热水壶|electric_shock",
        title="电热水壶 · 漏电",
        product_category="电热水壶",
        hazard=HazardType.electric_shock,
        signal_ids=["k1"],
        signal_count=1,
        tier=Tier.watch,
        status=CandidateStatus.new,
        organisation="示范站",
        priority=0.3,
        first_seen=at(3, 5),
        last_seen=at(3, 5),
    )
    rejected = CandidateRisk(
        id="c-rejected",
        key="充电宝|other",
        title="充电宝 · 其他",
        product_category="充电宝",
        hazard=HazardType.other,
        signal_ids=["s2"],
        signal_count=1,
        status=CandidateStatus.rejected,
        priority=0.5,
        first_seen=at(3, 10),
        last_seen=at(3, 10),
    )
    store.write(Collection.candidates, [fire, kettle, rejected])
    return {"fire": fire, "kettle": kettle}


def station_row(sid: str, station: str, when_day: int = 10, **kw: Any) -> Signal:
    """A row of a station's uploaded e-commerce form, as riskmine.feeds.forms maps it."""
    meta = {
        "form": "ecommerce",
        "keyword": kw.pop("keyword", "暖手宝"),
        "comment_keywords": kw.pop("comment_keywords", "着火、烧焦、漏电"),
        "negative_reviews": kw.pop("negative", 37),
        "reviews": kw.pop("reviews", 1520),
    }
    product = kw.pop("product", "小熊暖手宝")
    text = f"商品名称：{product}；关键词：{meta['keyword']}；评论关键词：{meta['comment_keywords']}"
    return signal(
        sid,
        text,
        at(3, when_day),
        source=f"station:{station}",
        source_type=SourceType.station_report,
        term="着火",
        product=product,
        shop=kw.pop("shop", "小熊旗舰店"),
        category="电热毯",
        meta=meta,
        **kw,
    )


def make_candidate(cid: str, signals: list[Signal], **kw: Any) -> CandidateRisk:
    """A candidate of `signals` (an electric blanket fire unless told otherwise)."""
    category = kw.pop("product_category", "电热毯")
    hazard = kw.pop("hazard", HazardType.fire)
    return CandidateRisk(
        id=cid,
        key=f"{category}|{hazard.value}",
        title=f"{category} · {hazard.value}",
        product_category=category,
        hazard=hazard,
        signal_ids=kw.pop("signal_ids", [s.id for s in signals]),
        signal_count=len(signals),
        status=kw.pop("status", CandidateStatus.confirmed),
        first_seen=min(s.when for s in signals),
        last_seen=max(s.when for s in signals),
        **kw,
    )
