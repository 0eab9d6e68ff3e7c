"""Realistic test records for the store tests: Chinese reviews, news and complaints."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import datetime, timedelta, timezone

from riskmine.schema import (
    CandidateRisk,
    CandidateStatus,
    Decision,
    DispositionMeasure,
    EntityMention,
    Evidence,
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
from riskmine.store.fulltext import segment_for_index

CST = timezone(timedelta(hours=8))  # China Standard Time, as Chinese sources report it

HANGZHOU = RegionMention(name="杭州市", code="330100", level="city", province="浙江省", city="杭州市")
SHENZHEN = RegionMention(name="深圳市", code="440300", level="city", province="广东省", city="深圳市")
CHENGDU = RegionMention(name="成都市", code="510100", level="city", province="四川省", city="成都市")
BEIJING = RegionMention(name="北京市", code="110000", level="province", province="北京市")


def at(month: int, day: int, hour: int = 12, year: int = 2024) -> datetime:
    """A time in 2024, China Standard Time (noon by default, far from any day boundary)."""
    return datetime(year, month, day, hour, tzinfo=CST)


def make_document(
    text: str,
    *,
    source: str = "station:jd",
    source_type: SourceType = SourceType.review,
    source_id: str | None = None,
    title: str | None = None,
    published_at: datetime | None = None,
    product: str | None = None,
    brand: str | None = None,
    shop: str | None = None,
    region: str | None = None,
    url: str | None = None,
) -> RawDocument:
    return RawDocument(
        source=source,
        source_type=source_type,
        source_id=source_id,
        url=url,
        title=title,
        text=text,
        published_at=published_at,
        collected_at=at(3, 31, 8),
        product=product,
        brand=brand,
        shop=shop,
        region=region,
        meta={"rating": 1, "tags": ["差评"]},
    )


def _mentions(
    text: str, hazards: Sequence[tuple[HazardType, str] | tuple[HazardType, str, bool]]
) -> list[HazardMention]:
    out = []
    for h in hazards:
        hazard, term = h[0], h[1]
        in_sense = h[2] if len(h) > 2 else True
        start = text.find(term)
        if start < 0:
            raise ValueError(f"term {term!r} is not in {text!r}")
        out.append(
            HazardMention(
                start=start,
                end=start + len(term),
                text=term,
                hazard=hazard,
                term=term,
                in_sense=in_sense,
                confidence=0.9,
            )
        )
    return out


def make_signal(
    text: str,
    *,
    product_category: str | None = None,
    hazards: Sequence[tuple[HazardType, str] | tuple[HazardType, str, bool]] = (),
    populations: Sequence[Population] = (),
    regions: Sequence[RegionMention] = (),
    brands: Sequence[str] = (),
    harm: Sequence[HarmKind] = (),
    noise: Sequence[str] = (),
    is_risk: bool = False,
    risk_score: float = 0.0,
    risk_level: RiskLevel | None = None,
    warning_color: WarningColor | None = None,
    duplicate_of: Signal | None = None,
    segmented: bool = True,
    **doc: object,
) -> Signal:
    """A signal as the pipeline would leave it; `segmented` fills segmented_text like the segment stage."""
    document = make_document(text, **doc)  # type: ignore[arg-type]
    signal = Signal.from_document(document)
    signal.normalized_text = text
    signal.segmented_text = segment_for_index(text) if segmented else ""
    signal.content_hash = hashlib.sha1(text.encode("utf-8")).hexdigest()[:16]
    signal.product_category = product_category
    signal.product_terms = [product_category] if product_category else []
    signal.hazards = _mentions(text, hazards)
    signal.populations = list(populations)
    signal.regions = list(regions)
    signal.organisations = [EntityMention(kind="brand", name=b, source="meta") for b in brands]
    signal.harm = list(harm)
    signal.harm_occurred = bool(harm)
    signal.noise = list(noise)
    signal.is_risk = is_risk
    signal.risk_score = risk_score
    signal.risk_level = risk_level
    signal.warning_color = warning_color
    if duplicate_of is not None:
        signal.duplicate_group = duplicate_of.duplicate_group or duplicate_of.id
        signal.is_duplicate = True
    signal.model_versions = {"classify": "tfidf-lr-2024.03"}
    signal.processed_at = at(4, 1, 9)
    return signal


def signal_corpus() -> dict[str, Signal]:
    """Ten signals with known tags, spread over January-March 2024."""
    h = HazardType
    pb = make_signal(
        "充电宝充电的时候冒烟了，外壳烫手，差点起火，吓得赶紧拔掉",
        source_id="jd-1001",
        published_at=at(2, 5),
        product="罗马仕充电宝20000毫安",
        brand="罗马仕",
        product_category="充电宝",
        hazards=[(h.fire, "冒烟"), (h.fire, "起火"), (h.burns, "烫手")],
        regions=[HANGZHOU],
        brands=["罗马仕"],
        is_risk=True,
        risk_score=0.92,
        risk_level=RiskLevel.high,
        warning_color=WarningColor.red,
    )
    signals = {
        "powerbank_smoke": pb,
        "powerbank_dup": make_signal(
            "充电宝充电的时候冒烟了，外壳烫手，差点起火！",
            source="station:tmall",
            source_id="tm-77",
            published_at=at(2, 6),
            product_category="充电宝",
            hazards=[(h.fire, "冒烟"), (h.fire, "起火")],
            regions=[HANGZHOU],
            is_risk=True,
            risk_score=0.9,
            risk_level=RiskLevel.high,
            warning_color=WarningColor.red,
            duplicate_of=pb,
            segmented=False,
        ),
        "powerbank_news": make_signal(
            "市场监管总局抽查发现，多款充电宝存在过热起火隐患，电芯不合格",
            source="news:samr",
            source_type=SourceType.news,
            title="充电宝质量抽查结果通报",
            url="https://www.samr.gov.cn/example/1",
            published_at=at(1, 20),
            product_category="充电宝",
            hazards=[(h.fire, "起火")],
            regions=[BEIJING],
            is_risk=True,
            risk_score=0.75,
            risk_level=RiskLevel.medium,
            warning_color=WarningColor.orange,
        ),
        "playmat_formaldehyde": make_signal(
            "宝宝爬行垫甲醛味道很重，孩子趴了一天皮肤过敏起红疹",
            source_id="jd-2002",
            published_at=at(2, 14),
            brand="可优比",
            product_category="爬行垫",
            hazards=[(h.chemical, "甲醛")],
            populations=[Population.infants, Population.children],
            regions=[SHENZHEN],
            brands=["可优比"],
            harm=[HarmKind.injury],
            is_risk=True,
            risk_score=0.81,
            risk_level=RiskLevel.high,
            warning_color=WarningColor.orange,
        ),
        "heater_leak": make_signal(
            "电热水器漏电，洗澡的时候被电麻了一下，太危险了",
            source="12315",
            source_type=SourceType.complaint,
            source_id="c-3003",
            published_at=at(3, 2),
            product_category="热水器",
            hazards=[(h.electric_shock, "漏电")],
            regions=[CHENGDU],
            harm=[HarmKind.injury],
            is_risk=True,
            risk_score=0.88,
            risk_level=RiskLevel.high,
            warning_color=WarningColor.red,
        ),
        "toy_choking": make_signal(
            "儿童玩具的小零件很容易脱落，差点被两岁的孩子吞下去",
            source_id="jd-4004",
            published_at=at(3, 10),
            product_category="玩具",
            hazards=[(h.choking, "吞下")],
            populations=[Population.children],
            regions=[HANGZHOU],
            is_risk=True,
            risk_score=0.6,
            risk_level=RiskLevel.medium,
            warning_color=WarningColor.yellow,
            segmented=False,
        ),
        "shampoo_allergy": make_signal(
            "洗发水用了以后头皮过敏发痒，味道刺鼻，不推荐",
            source_id="jd-5005",
            published_at=at(1, 8),
            product_category="洗发水",
            hazards=[(h.chemical, "过敏")],
            is_risk=True,
            risk_score=0.35,
            risk_level=RiskLevel.low,
            warning_color=WarningColor.yellow,
        ),
        "phone_hype": make_signal(
            "这款手机销量爆炸，火爆到断货，性价比很高",
            source_id="jd-6006",
            published_at=at(2, 20),
            product_category="手机",
            hazards=[(h.fire, "爆炸", False)],
            noise=["hype"],
            risk_score=0.02,
        ),
        "heater_elderly": make_signal(
            "给老人买的取暖器用了两天插头就烧焦了，还好人没事",
            source="station:pdd",
            source_id="pdd-7007",
            published_at=at(1, 29),
            product_category="取暖器",
            hazards=[(h.fire, "烧焦")],
            populations=[Population.elderly],
            regions=[HANGZHOU],
            harm=[HarmKind.property_damage],
            is_risk=True,
            risk_score=0.7,
            risk_level=RiskLevel.medium,
            warning_color=WarningColor.orange,
        ),
        "iphone_hot": make_signal(
            "iPhone 15 Pro 充电时背面发烫，Wi-Fi 也断断续续",
            source_id="jd-8008",
            published_at=at(3, 15),
            product="iPhone 15 Pro",
            brand="Apple",
            product_category="手机",
            brands=["Apple"],
            risk_score=0.3,
        ),
    }
    return signals


def make_candidate(
    key: str,
    members: Sequence[Signal],
    *,
    priority: float,
    tier: Tier = Tier.review,
    status: CandidateStatus = CandidateStatus.new,
    risk_level: RiskLevel | None = None,
    warning_color: WarningColor | None = None,
) -> CandidateRisk:
    category, _, hazard = key.partition("|")
    regions: dict[str, int] = {}
    kinds: dict[str, int] = {}
    for s in members:
        for r in s.regions:
            if r.province:
                regions[r.province] = regions.get(r.province, 0) + 1
        kinds[s.document.source_type.value] = kinds.get(s.document.source_type.value, 0) + 1
    times = [s.when for s in members]
    return CandidateRisk(
        id=f"c-{key}",
        key=key,
        title=f"{category}{'起火冒烟' if hazard == 'fire' else '安全'}风险",
        product_category=category or None,
        hazard=HazardType(hazard) if hazard else None,
        signal_ids=[s.id for s in members],
        evidence=[
            Evidence(
                signal_id=s.id,
                document_id=s.document.id,
                source=s.document.source,
                source_type=s.document.source_type,
                url=s.document.url,
                title=s.document.title,
                snippet=s.normalized_text[:40],
                published_at=s.document.published_at,
                score=s.risk_score,
            )
            for s in members
        ],
        signal_count=len(members),
        event_count=len({s.duplicate_group or s.id for s in members}),
        counts_by_source_type=kinds,
        counts_by_region=regions,
        counts_by_week={"2024-W06": len(members)},
        first_seen=min(times),
        last_seen=max(times),
        brands=sorted({o.name for s in members for o in s.organisations}),
        enterprises=["深圳市某某电子有限公司"] if category == "充电宝" else [],
        populations=sorted({p for s in members for p in s.populations}),
        harm_count=sum(1 for s in members if s.harm_occurred),
        priority=priority,
        factors={"severity": 0.8, "trend": 0.4},
        tier=tier,
        risk_level=risk_level,
        warning_color=warning_color,
        status=status,
        created_at=at(4, 1, 10),
        updated_at=at(4, 2, 10),
    )


def candidate_corpus(signals: dict[str, Signal]) -> dict[str, CandidateRisk]:
    s = signals
    return {
        "powerbank": make_candidate(
            "充电宝|fire",
            [s["powerbank_smoke"], s["powerbank_dup"], s["powerbank_news"]],
            priority=0.91,
            tier=Tier.immediate,
            risk_level=RiskLevel.high,
            warning_color=WarningColor.red,
        ),
        "playmat": make_candidate(
            "爬行垫|chemical",
            [s["playmat_formaldehyde"]],
            priority=0.74,
            status=CandidateStatus.in_review,
            risk_level=RiskLevel.high,
            warning_color=WarningColor.orange,
        ),
        "heater": make_candidate("热水器|electric_shock", [s["heater_leak"]], priority=0.66),
        "toy": make_candidate("玩具|choking", [s["toy_choking"]], priority=0.4, tier=Tier.watch),
    }


def make_decision(
    candidate: CandidateRisk,
    status: CandidateStatus,
    *,
    by: str = "analyst.wang",
    when: datetime | None = None,
    measures: Sequence[DispositionMeasure] = (),
    rationale: str = "",
) -> Decision:
    return Decision(
        candidate_id=candidate.id,
        status=status,
        risk_level=candidate.risk_level,
        warning_color=candidate.warning_color,
        measures=list(measures),
        rationale=rationale,
        decided_by=by,
        decided_at=when or at(4, 3, 15),
    )


def decision_corpus(candidates: dict[str, CandidateRisk]) -> dict[str, Decision]:
    c = candidates
    return {
        "confirm_powerbank": make_decision(
            c["powerbank"],
            CandidateStatus.confirmed,
            measures=[DispositionMeasure.spot_check, DispositionMeasure.consumer_advisory],
            rationale="多地消费者反映充电宝冒烟起火，且抽查不合格，建议开展监督抽查并发布消费提示",
        ),
        "review_playmat": make_decision(
            c["playmat"],
            CandidateStatus.in_review,
            by="analyst.li",
            when=at(4, 5, 9),
            rationale="爬行垫甲醛超标需送检确认",
        ),
        "reject_toy": make_decision(
            c["toy"],
            CandidateStatus.rejected,
            by="analyst.li",
            when=at(4, 20, 9),
            rationale="个例，证据不足",
        ),
    }
