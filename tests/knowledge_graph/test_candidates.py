"""Candidate risks built from hand-made signals (no NLP stages run here)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from riskmine.knowledge_graph.candidates import (
    build_candidates,
    candidate_id,
    candidate_key,
    candidates_by_key,
    iso_week,
)
from riskmine.knowledge_graph.evidence import snippet
from riskmine.knowledge_graph.priority import PriorityConfig
from riskmine.schema import (
    EntityMention,
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

CST = timezone(timedelta(hours=8))
NOW = datetime(2026, 11, 15, 20, 0, tzinfo=CST)


def make_signal(
    sid: str,
    text: str,
    *,
    category: str | None,
    hazards: list[tuple[HazardType, str]],
    days_ago: float = 3,
    source_type: SourceType = SourceType.review,
    province: str | None = None,
    city: str | None = None,
    brands: tuple[str, ...] = (),
    enterprises: tuple[str, ...] = (),
    harm: tuple[HarmKind, ...] = (),
    populations: tuple[Population, ...] = (),
    risk_score: float = 0.8,
    duplicate_group: str | None = None,
    is_risk: bool = True,
    weight: float = 1.0,
    risk_level: RiskLevel | None = None,
    warning_color: WarningColor | None = None,
    out_of_sense: tuple[str, ...] = (),
) -> Signal:
    doc = RawDocument(
        source="test",
        source_type=source_type,
        source_id=sid,
        url=f"https://example.invalid/{sid}",
        title=None if source_type == SourceType.review else text[:12],
        text=text,
        published_at=NOW - timedelta(days=days_ago),
        collected_at=NOW - timedelta(days=days_ago),
    )
    mentions = []
    for hazard, term in hazards:
        start = text.index(term)
        mentions.append(
            HazardMention(
                start=start,
                end=start + len(term),
                text=term,
                hazard=hazard,
                term=term,
                in_sense=term not in out_of_sense,
            )
        )
    regions = []
    if city:
        regions.append(RegionMention(name=city, level="city", province=province, city=city))
    elif province:
        regions.append(RegionMention(name=province, level="province", province=province))
    orgs = [EntityMention(kind="brand", name=b) for b in brands]
    orgs += [EntityMention(kind="enterprise", name=e) for e in enterprises]
    return Signal(
        id=sid,
        document=doc,
        normalized_text=text,
        duplicate_group=duplicate_group,
        is_duplicate=duplicate_group is not None and duplicate_group != sid,
        weight=weight,
        product_category=category,
        hazards=mentions,
        populations=list(populations),
        regions=regions,
        organisations=orgs,
        harm=list(harm),
        harm_occurred=bool(harm),
        is_risk=is_risk,
        risk_score=risk_score,
        risk_level=risk_level,
        warning_color=warning_color,
    )


def power_bank_signals() -> list[Signal]:
    news = (
        "近日，多名消费者反映，在宿舍为充电宝充电时，充电宝外壳鼓包并冒烟，随后起火，"
        "所幸被及时扑灭。记者调查发现，涉事产品均为同一批次的20000毫安移动电源。"
    )
    return [
        make_signal(
            "pb1",
            "充电宝充了一晚上，早上起来发现外壳鼓包，还有一股焦味，吓死了",
            category="充电宝",
            hazards=[(HazardType.fire, "焦味")],
            days_ago=2,
            province="广东省",
            city="深圳市",
            brands=("极充",),
            risk_level=RiskLevel.medium,
            warning_color=WarningColor.yellow,
        ),
        make_signal(
            "pb2",
            "买的移动电源充电时冒烟了，赶紧拔掉插头，客服说是个例，拒绝退货。",
            category="充电宝",
            hazards=[(HazardType.fire, "冒烟")],
            days_ago=5,
            source_type=SourceType.complaint,
            province="浙江省",
            city="杭州市",
            brands=("极充",),
            enterprises=("深圳市极充科技有限公司",),
            risk_level=RiskLevel.high,
            warning_color=WarningColor.orange,
        ),
        make_signal(
            "pb3",
            news,
            category="充电宝",
            hazards=[(HazardType.fire, "冒烟"), (HazardType.fire, "起火")],
            days_ago=6,
            source_type=SourceType.news,
            province="江苏省",
            brands=("能量方舟",),
            duplicate_group="pb3",
        ),
        make_signal(
            "pb3-copy1",
            "【转载】" + news,
            category="充电宝",
            hazards=[(HazardType.fire, "冒烟")],
            days_ago=5.5,
            source_type=SourceType.news,
            province="江苏省",
            duplicate_group="pb3",
        ),
        make_signal(
            "pb3-copy2",
            news + "（来源：消费观察）",
            category="充电宝",
            hazards=[(HazardType.fire, "冒烟")],
            days_ago=5,
            source_type=SourceType.news,
            duplicate_group="pb3",
        ),
        make_signal(
            "pb4",
            "充电宝在车里充电，突然冒烟起火，车座烧了一个洞，还好人没事。",
            category="充电宝",
            hazards=[(HazardType.fire, "起火"), (HazardType.property_damage, "烧了一个洞")],
            days_ago=40,
            source_type=SourceType.complaint,
            harm=(HarmKind.property_damage,),
        ),
    ]


def test_groups_by_category_and_hazard_counting_duplicates_as_one_event() -> None:
    candidates = candidates_by_key(build_candidates(power_bank_signals(), now=NOW))
    assert set(candidates) == {"充电宝|fire"}  # property damage has one signal only: below min_signals
    fire = candidates["充电宝|fire"]
    assert fire.id == candidate_id("充电宝|fire") == candidate_id(candidate_key("充电宝", HazardType.fire))
    assert fire.signal_count == 6
    assert fire.event_count == 4  # the three syndicated copies are one event
    assert fire.title == "充电宝 · 起火/冒烟 (fire) · 6 条信号"
    assert fire.counts_by_source_type == {"news": 3, "complaint": 2, "review": 1}
    assert fire.counts_by_region == {"江苏省": 2, "广东省": 1, "未知": 2, "浙江省": 1}
    assert sorted(fire.places) == ["杭州市", "深圳市"]  # the cities its signals name, for the region filter
    assert fire.first_seen == NOW - timedelta(days=40)
    assert fire.last_seen == NOW - timedelta(days=2)
    assert fire.brands == ["极充", "能量方舟"]
    assert fire.enterprises == ["深圳市极充科技有限公司"]
    assert fire.harm_count == 1
    assert sum(fire.counts_by_week.values()) == 6
    assert fire.signal_ids[0] == "pb4"  # oldest first


def test_evidence_has_one_representative_per_duplicate_group() -> None:
    fire = build_candidates(power_bank_signals(), now=NOW)[0]
    assert len(fire.evidence) == fire.event_count == 4
    news = [e for e in fire.evidence if e.signal_id.startswith("pb3")]
    assert len(news) == 1 and news[0].duplicates == 2
    assert all(e.duplicates == 0 for e in fire.evidence if not e.signal_id.startswith("pb3"))
    scores = [e.score for e in fire.evidence]
    assert scores == sorted(scores, reverse=True)
    # the review, the weakest source type, comes after the complaint of the same recency
    order = [e.signal_id for e in fire.evidence]
    assert order.index("pb2") < order.index("pb1")
    assert build_candidates(power_bank_signals(), now=NOW, evidence_limit=2)[0].evidence == fire.evidence[:2]


def test_signal_with_two_hazards_joins_two_candidates_and_uncategorised_title() -> None:
    text = "电热水器漏电，洗澡时手一碰就麻手，接头处还冒烟了"
    signals = [
        make_signal(
            f"wh{i}",
            text,
            category=None,
            hazards=[(HazardType.electric_shock, "漏电"), (HazardType.fire, "冒烟")],
            days_ago=i,
        )
        for i in range(1, 4)
    ]
    by_key = candidates_by_key(build_candidates(signals, now=NOW))
    assert set(by_key) == {"|electric_shock", "|fire"}
    assert by_key["|electric_shock"].title.startswith("未分类产品 · 触电/漏电 (electric_shock)")
    assert by_key["|electric_shock"].signal_ids == by_key["|fire"].signal_ids
    assert by_key["|electric_shock"].evidence[0].snippet.startswith("电热水器漏电")


def test_non_risk_noise_and_out_of_sense_hazards_are_left_out() -> None:
    signals = [
        make_signal(
            "fa1",
            "这款手机销量爆炸，火爆到断货",
            category="手机",
            hazards=[(HazardType.fire, "爆炸")],
            is_risk=False,
        ),
        make_signal(
            "fa2",
            "漏电保护器顺便一起买了，安装师傅很专业",
            category="热水器",
            hazards=[(HazardType.electric_shock, "漏电")],
            weight=0.0,
        ),
        make_signal(
            "fa3",
            "买了个漏电保护器配热水器，没出过问题",
            category="热水器",
            hazards=[(HazardType.electric_shock, "漏电")],
            out_of_sense=("漏电",),
        ),
        make_signal(
            "fa4",
            "一直用这款热水器，出水忽冷忽热，水温不稳定",
            category="热水器",
            hazards=[],
        ),
    ]
    candidates = build_candidates(signals, now=NOW)
    # fa3's only hazard was ruled out, so with fa4 it joins the unknown-hazard group
    assert [c.key for c in candidates] == ["热水器|"]
    assert candidates[0].hazard is None
    assert candidates[0].title == "热水器 · 未明危害 · 2 条信号"


def toy_signals() -> list[Signal]:
    return [
        make_signal(
            "toy1",
            "孩子玩的积木小零件脱落，两岁的宝宝误吞后送医院急诊，做了喉镜才取出来",
            category="玩具",
            hazards=[(HazardType.choking, "误吞")],
            source_type=SourceType.injury_report,
            harm=(HarmKind.hospital, HarmKind.injury),
            populations=(Population.infants,),
            province="河南省",
            risk_level=RiskLevel.medium,
            warning_color=WarningColor.yellow,
        )
    ]


def test_a_single_injury_report_reaches_the_immediate_tier() -> None:
    candidates = build_candidates(toy_signals(), now=NOW)
    assert len(candidates) == 1
    toy = candidates[0]
    assert toy.tier == Tier.immediate
    assert toy.harm_count == 1
    assert toy.populations == [Population.infants]
    # the suggestion is raised one step because harm occurred
    assert toy.risk_level == RiskLevel.high
    assert toy.warning_color == WarningColor.orange
    assert toy.factors["vulnerable"] == 1.0
    assert toy.factors["harm"] == pytest.approx(0.8)


def test_a_found_major_risk_is_due_24_hours_after_riskmine_received_it_not_after_it_was_published() -> None:
    (toy,) = toy_signals()  # published 3 days before NOW, reaching riskmine an hour before NOW
    arrived = toy.model_copy(
        update={"document": toy.document.model_copy(update={"collected_at": NOW - timedelta(hours=1)})}
    )
    (cand,) = build_candidates([arrived], now=NOW)
    assert cand.tier == Tier.immediate
    assert cand.due_at == NOW + timedelta(hours=23)
    assert cand.statistics["immediate"]["first_qualifying_at"] == toy.when.isoformat()  # the report's own date
    assert cand.statistics["immediate"]["found_at"] == (NOW - timedelta(hours=1)).isoformat()


def test_choking_reaches_the_top_class_only_with_hospital_care() -> None:
    (hospital,) = build_candidates(toy_signals(), now=NOW)
    assert hospital.factors["severity"] == 1.0  # choking is class 3, class 4 once hospital care is reported
    near_miss = toy_signals()[0].model_copy(update={"harm": [HarmKind.injury], "id": "toy-near"})
    (injury_only,) = build_candidates([near_miss, near_miss.model_copy(update={"id": "toy-near2"})], now=NOW)
    assert injury_only.tier == Tier.review
    assert injury_only.factors["severity"] == 0.75


def test_hospital_visit_from_a_lesser_hazard_is_reviewed_not_immediate() -> None:
    signals = [
        make_signal(
            f"ear{i}",
            "戴这款耳机听了一小时耳朵就疼，去医院检查说是听力受损",
            category="耳机",
            hazards=[(HazardType.hearing_damage, "听力受损")],
            harm=(HarmKind.hospital,),
        )
        for i in range(2)
    ] + [
        make_signal(
            "sh-hospital",
            "老公用了过敏。还去了一趟医院……",
            category="洗发水",
            hazards=[(HazardType.chemical, "过敏")],
            harm=(HarmKind.hospital,),
        )
    ]
    candidates = candidates_by_key(build_candidates(signals, now=NOW))
    assert candidates["耳机|hearing_damage"].tier == Tier.review
    assert candidates["耳机|hearing_damage"].harm_count == 2
    assert "洗发水|chemical" not in candidates  # one signal, below min_signals, and not immediate


def test_a_reported_death_is_immediate_whatever_the_hazard() -> None:
    signal = make_signal(
        "death",
        "老人在浴室滑倒，防滑垫完全不起作用，送医后抢救无效死亡",
        category="防滑垫",
        hazards=[(HazardType.injuries, "滑倒")],
        harm=(HarmKind.death, HarmKind.hospital),
        populations=(Population.elderly,),
    )
    (candidate,) = build_candidates([signal], now=NOW)
    assert candidate.tier == Tier.immediate
    assert candidate.factors["harm"] == 1.0


def shampoo_signals(n: int, *, days: list[float]) -> list[Signal]:
    return [
        make_signal(
            f"sh{i}",
            "用了这瓶洗发水以后头皮红肿，过敏了，全家人用都痒",
            category="洗发水",
            hazards=[(HazardType.chemical, "过敏")],
            days_ago=days[i % len(days)],
            risk_score=0.6,
        )
        for i in range(n)
    ]


def test_growth_factor_rewards_a_rising_story() -> None:
    rising = shampoo_signals(8, days=[1, 5, 9, 14, 20, 25])
    flat = [
        make_signal(
            f"fl{i}",
            "衣服甲醛味很重，穿了皮肤发痒",
            category="衣服",
            hazards=[(HazardType.chemical, "甲醛")],
            days_ago=i * 7 + 1,  # one a week for 12 weeks: flat
            risk_score=0.6,
        )
        for i in range(12)
    ]
    by_key = candidates_by_key(build_candidates(rising + flat, now=NOW))
    assert by_key["洗发水|chemical"].factors["growth"] > 0.5
    assert by_key["衣服|chemical"].factors["growth"] == 0.0
    assert by_key["洗发水|chemical"].priority > by_key["衣服|chemical"].priority


def test_one_loud_complaint_does_not_outrank_a_story_across_sources() -> None:
    rant = (
        "我真的是气炸了！！！" * 30 + "这个电饭煲盖子边上烫得要命，差点烫到手，客服踢皮球，商家不理人，"
        "我要投诉到底！！！" + "再也不买了！！！" * 40
    )
    signals = [
        *power_bank_signals(),
        make_signal(
            "rant", rant, category="电饭煲", hazards=[(HazardType.burns, "烫")], source_type=SourceType.complaint
        ),
    ]
    candidates = build_candidates(signals, now=NOW)
    assert "电饭煲|burns" not in candidates_by_key(candidates)
    lowered = build_candidates(signals, now=NOW, min_signals=1)
    keys = [c.key for c in lowered]
    assert keys.index("充电宝|fire") < keys.index("电饭煲|burns")


def test_review_budget_sends_the_rest_to_watch() -> None:
    signals = [
        *power_bank_signals(),
        *shampoo_signals(3, days=[2, 30]),
        *toy_signals(),
    ]
    candidates = build_candidates(signals, now=NOW, config=PriorityConfig(review_top_n=1))
    tiers = {c.key: c.tier for c in candidates}
    assert tiers == {"玩具|choking": Tier.immediate, "充电宝|fire": Tier.review, "洗发水|chemical": Tier.watch}
    assert [c.key for c in candidates] == ["玩具|choking", "充电宝|fire", "洗发水|chemical"]


def test_result_is_deterministic_and_order_independent() -> None:
    signals = [*power_bank_signals(), *shampoo_signals(4, days=[3, 10]), *toy_signals()]
    first = build_candidates(signals, now=NOW)
    second = build_candidates(list(reversed(signals)), now=NOW)
    assert [c.model_dump() for c in first] == [c.model_dump() for c in second]
    assert first[0].created_at == first[0].updated_at == NOW


def test_now_is_the_clock_never_a_signals_own_time() -> None:
    # a document dated 9999 used to become "now": candidates created in 9999, deadlines past the calendar's end
    signals = power_bank_signals()
    far = datetime(9999, 12, 31, 23, 59, 59, tzinfo=timezone(timedelta(hours=14)))
    doc = signals[0].document.model_copy(update={"published_at": far, "collected_at": far})
    signals[0] = signals[0].model_copy(update={"document": doc})
    before = datetime.now(UTC)
    candidates = build_candidates(signals)
    assert candidates
    for cand in candidates:
        assert before <= cand.created_at <= datetime.now(UTC)
        assert cand.updated_at == cand.created_at


def test_snippet_centres_on_the_hazard_and_marks_cuts() -> None:
    text = "前面是一段很长的铺垫，" * 10 + "充电宝突然冒烟起火" + "，后面还有很多无关的叙述。" * 10
    signal = make_signal("long", text, category="充电宝", hazards=[(HazardType.fire, "冒烟")])
    cut = snippet(signal, HazardType.fire)
    assert cut.startswith("…") and cut.endswith("…")
    assert "冒烟" in cut
    assert len(cut) < len(text)


def test_iso_week_uses_china_time() -> None:
    # Sunday 23:30 UTC is Monday morning in China: the next ISO week
    assert iso_week(datetime(2026, 2, 15, 23, 30, tzinfo=UTC)) == "2026-W08"
    assert iso_week(datetime(2026, 2, 15, 12, 0, tzinfo=CST)) == "2026-W07"


def test_bad_arguments_are_named() -> None:
    with pytest.raises(ValueError, match="min_signals"):
        build_candidates([], min_signals=0)
    with pytest.raises(ValueError, match="evidence_limit"):
        build_candidates([], evidence_limit=-1)
    assert build_candidates([]) == []


def test_one_story_copied_many_times_is_one_event_and_not_a_candidate() -> None:
    rant = make_signal(
        "loud0", "电饭煲盖子烫得要命，差点烫到手！！！", category="电饭煲", hazards=[(HazardType.burns, "烫")]
    )
    copies = [rant.model_copy(update={"id": f"loud{i}", "duplicate_group": "loud0"}) for i in range(8)]
    assert build_candidates(copies, now=NOW) == []
    (alone,) = build_candidates(copies, now=NOW, min_signals=1)
    assert (alone.signal_count, alone.event_count) == (8, 1)
    assert alone.statistics["inputs"]["largest_spread"] == 8
    assert alone.factors["attention"] > 0
