"""Stated hazard events: the rule layer that keeps a text reporting a product hazard from being missed.

A learned model trained on some sources can score a plain report such as 「老爸发现外机漏电」 or
「行驶中发动机失去动力」 near zero when its sources never phrased a hazard that way. The labelling
guide (riskmine/data/corpus/GUIDE.md §1, §2, §6) is unambiguous about such texts: a hazard event caused by
a product, stated as having happened and not negated, is a risk. This module finds those
statements with a short list of event patterns, each checked the way the disambiguate stage
checks a hazard word:

* **sense**: the project's collocation rules (漏电保护器, 销量爆炸, 着火点 …) and explicit
  exclusions per pattern rule the word out;
* **negation and hypotheticals**: a negation (没有漏电, 从未起火), hypothetical (怕起火,
  万一爆炸, 会不会漏电) or accessory cue (漏电|保护) governing the event rules it out;
* **a product as cause**: in news, where fires and poisonings often have no product cause
  (山火, 仓库起火, 纵火), the event counts only when a product of the taxonomy stands right
  before or after it in the same clause (电动车充电自燃, 热水器爆炸, 起火的充电宝), and not as
  the name of a place (鞋店, 家具厂). Reviews, complaints and reports are about a product already.

:func:`find_stated_hazards` returns each event with its span (the evidence shown to analysts),
its hazard codes and whether the wording itself says harm happened. The decision layer
(:mod:`riskmine.models.decision`) lifts a text with such an event into the review band
whatever the learned model scored. Nothing here was tuned on a held-out source: the patterns
restate the guide's rules.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from riskmine.models.features import hazard_rules
from riskmine.schema import HazardType
from riskmine.text.clauses import span_bounds
from riskmine.text.matching import PatternGate

H = HazardType
# source types whose texts are about a product by construction (a review of it, a complaint or report on it)
PRODUCT_BOUND_SOURCES = frozenset(
    {"review", "complaint", "station_report", "public_report", "injury_report", "recall", "spot_check"}
)
# a product term that is part of a place name (鞋店, 家具厂, 电器城) names no product as the cause
_PLACE_AFTER = re.compile(r"^(?:店|厂|城|市场|商场|仓库|公司|行|铺|超市|门店|专卖店|车间)")
# words of harm that, asserted in the same clause as an event, mean it hurt someone or burnt something
_HARM_WORDS = re.compile(r"死亡|身亡|遇难|丧生|受伤|伤者|伤亡|住院|送医|抢救|烧伤|烫伤|烧毁|烧光|中毒|致\d*人")
_HARM_NEGATION = re.compile(r"(?:没有?|未|无|幸好没|还好没|好在没)(?:人员?|造成)?$")


@dataclass(frozen=True)
class EventPattern:
    """One kind of stated event: a regex whose group ``c`` is the event word checked for negation."""

    name: str
    regex: re.Pattern[str]
    hazards: tuple[HazardType, ...]
    harm: bool  # the wording itself says harm happened (触电, 烫伤, 中毒 …)
    needs_product: bool = True  # in texts not bound to a product (news), a product must be named beside it


def _p(
    name: str, pattern: str, hazards: tuple[HazardType, ...], harm: bool, needs_product: bool = True
) -> EventPattern:
    return EventPattern(name, re.compile(pattern), hazards, harm, needs_product)


# Order matters only for overlapping matches: the first pattern that claims a span keeps it.
PATTERNS: tuple[EventPattern, ...] = (
    # electric shock
    _p(
        "touch_shock",
        # the whole touch-to-shock span is the event: "会有触电的感觉" after a touch is habitual, not hypothetical
        r"(?P<c>(?:碰|摸|接触|触碰)[^。！？!?]{0,16}(?:触电的感觉|有电的感觉|被电|麻手|麻麻的))",
        (H.electric_shock,),
        True,
    ),
    _p(
        "shock_felt",
        r"(?P<c>(?<![充用耗来停供])(?:被电(?:到|了|击|伤|麻)|电到(?:我|手|人|了)|电了一下|电手(?!机)"
        r"|麻手|手被电麻|有电感|触电(?!般|的感觉|感|一样的感觉)))",
        (H.electric_shock,),
        True,
    ),
    _p(
        "live_casing",
        r"(?P<c>(?:外壳|机身|金属|外机|内机|水管|龙头|螺丝|机器|插座)(?:上)?(?:会)?(?:带电|有电|漏电))"
        r"(?!似的|一样)",
        (H.electric_shock,),
        False,
    ),
    _p(
        "leakage",
        r"(?<!电池)(?<!以为)(?<![像中])(?P<c>漏电)(?!保护|开关|断路|检测|测试|插头|保护器|似的|一样|等)",
        (H.electric_shock,),
        False,
    ),
    # fire and explosion
    _p(
        "fire",
        r"(?P<c>起火|着火(?!点)|失火|自燃|爆燃|(?<![嗓喉头])(?<!轮胎)(?<!刹到)冒(?:黑|白|青)?烟"
        r"|冒火花|打火花|电火花|烧起来|燃起来)",
        (H.fire,),
        False,
    ),
    _p(
        "explosion",
        r"(?P<c>(?<!销量|信息|知识|流量|人气|心态|音质|效果|性能|数据|热度|口碑|都要|早就)(?<![要快会大就])"
        r"爆炸(?!性|头|款|式|声音乐|戏|案))",
        (H.fire,),
        False,
    ),
    _p(
        "device_exploded",
        r"(?:手机|电池|充电宝|充电器|充电头|电瓶|锂电池|移动电源|电动车|气罐|煤气罐"
        r"|液化气罐|高压锅|压力锅|热水器)(?:突然|直接|竟然|居然)?(?P<c>炸了|爆了|炸开|爆裂)",
        (H.fire,),
        False,
        False,
    ),
    _p("battery_swelling", r"(?P<c>电池[^，。！？,!?]{0,4}鼓包|鼓包(?:的)?电池)", (H.fire,), False, False),
    _p("gas_leak", r"(?P<c>(?:燃气|煤气|天然气|液化气)(?:罐|管|软管|灶)?(?:泄漏|泄露|漏气))", (H.fire,), False, False),
    _p("co_leak", r"(?P<c>一氧化碳(?:泄漏|泄露|超标))", (H.chemical,), False, False),
    # a charger, power bank, plug or socket that is itself hot (GUIDE §2: where charging fires start)
    _p(
        "hot_charger",
        r"(?:充电宝|移动电源|充电器|充电头|适配器|插头|插座|插线板|排插|接线板|数据线|电源线)"
        r"[^，。！？,!?\s]{0,6}(?P<c>发烫|很烫|烫手|烫的|过热|烫得|巨烫|超烫|好烫|太烫|特别烫|非常烫)",
        (H.fire,),
        False,
        False,
    ),
    # burns
    _p(
        "burn",
        r"(?P<c>烫伤|烧伤|灼伤|烫起泡|烫出(?:了)?泡|烫红了|烫得(?:拿不住|握不住|不敢摸|没法拿))",
        (H.burns,),
        True,
    ),
    # poisoning
    _p("co_poisoning", r"(?P<c>(?:一氧化碳|煤气|燃气|天然气)中毒)", (H.chemical,), True),
    _p("caused_poisoning", r"(?:致|导致|造成|引发)\d*(?:人|名|户)?(?P<c>中毒)", (H.chemical,), True),
    _p("food_poisoning", r"(?P<c>食物中毒|上吐下泻|吃坏(?:了)?肚子)", (H.microbiological,), True),
    _p(
        "ate_and_ill",
        r"吃(?:了|完|过)[^。！？!?]{0,10}(?P<c>拉肚子|腹泻|呕吐|肚子疼|肚子痛)",
        (H.microbiological,),
        True,
    ),
    # adverse reactions to cosmetics, clothing and other body-contact goods
    _p("reaction", r"(?P<c>过敏了|出现过敏|过敏反应|起了?(?:红)?疹子|起红疹|烂脸)", (H.chemical,), True),
    _p(
        "reaction_after_use",
        r"(?:用|擦|涂|抹|敷)[^。！？!?，,]{0,8}(?P<c>长(?:了)?(?:很多|好多)?痘痘?|起(?:了)?痘痘?"
        r"|爆痘|闷痘|脂肪粒|红肿|脱皮)",
        (H.chemical,),
        True,
    ),
    # vehicles and other machines whose safety function failed in use
    _p(
        "brake_failure",
        r"(?P<c>(?:刹车|制动)(?:系统)?(?:突然|完全)?(?:失灵|失效|不灵了|踩不下去)|刹不住车?|踩不下刹车)",
        (H.safety_function_failure, H.injuries),
        False,
        False,
    ),
    _p(
        "steering_failure",
        r"(?P<c>(?:方向盘|转向)(?:突然)?(?:失灵|失效|锁死|卡死))",
        (H.safety_function_failure, H.injuries),
        False,
        False,
    ),
    _p(
        "airbag_failure",
        r"(?P<c>(?:安全)?气囊(?:都)?(?:没有?|未|不)(?:弹出|打开|弹开))",
        (H.safety_function_failure, H.injuries),
        False,
        False,
    ),
    _p(
        "stall_while_driving",
        r"(?:行驶|开着|开车|高速|路上|跑着|等红灯|加速|过弯|上坡|车速)[^。！？!?；;]{0,10}"
        r"(?P<c>熄火|失去动力|没(?:有)?动力了|动力中断|突然断电)",
        (H.injuries,),
        False,
        False,
    ),
    _p("axle_break", r"(?P<c>断轴|暴冲)", (H.injuries,), False, False),
    # mechanical injuries
    _p(
        "broke_and_hurt",
        r"(?:断裂|断了|折断|脱落|碎裂|爆裂|掉下来)[^。！？!?]{0,10}"
        r"(?P<c>摔伤|受伤|伤到|砸伤|划伤|割伤|骨折|致伤|伤人)",
        (H.injuries,),
        True,
    ),
    _p(
        "cut_body",
        r"(?P<c>(?:划伤|割伤|划破|扎伤|刺伤|夹伤|砸伤|摔伤)(?:了)?(?:我的|宝宝的|孩子的)?"
        r"(?:手|手指|皮肤|脚|腿|孩子|宝宝|小孩|人|脸))",
        (H.injuries,),
        True,
    ),
    _p(
        "body_cut",
        r"(?:手|手指|皮肤|孩子|宝宝|小孩)(?:被)?[^。！？!?，,]{0,4}"
        r"(?P<c>划伤|割伤|划破|夹伤|扎伤|刺伤|夹到)",
        (H.injuries,),
        True,
    ),
    # a failed spot check or test of a named product (GUIDE §6: no item named → other)
    _p("failed_check", r"(?:抽检|抽查|监督检查|检测|检验)[^。！？!?]{0,10}(?P<c>不合格|不达标)", (H.other,), False),
    # harm to a person with the hazard left to the model (刚买的新机就出外机漏电伤人)
    _p("hurt_someone", r"(?P<c>(?<=[电烫砸炸烧夹])伤人|伤到了?人(?!心)|致人受伤|致\d+人(?:受伤|死亡|身亡))", (), True),
    # choking and suffocation
    _p("suffocation", r"(?<!令人)(?<!美到)(?<!美得)(?P<c>窒息)(?!感|般|的感觉)", (H.suffocation,), True),
    _p("choking", r"(?P<c>卡住喉咙|卡喉咙?|误吞|噎住)", (H.choking,), True),
)
# Context that rules an event out (GUIDE §6): a fire or explosion after a crash, of fireworks, a bomb or in a
# factory; choking or suffocation on ordinary food.
_CRASH_BEFORE = re.compile(r"撞|追尾|碰撞|相撞|侧翻|翻车|车祸|交通事故")
_NOT_A_PRODUCT_FIRE = re.compile(r"烟花|鞭炮|爆竹|炸弹|炸药|袭击|工厂|企业|车间|作坊|演练")
_EATING = re.compile(r"吃|喝|食物|呛")
# a finding or ruling that clears the product (GUIDE §6 "Claims, denials and rulings"), read in texts not bound to it
_CLEARED = re.compile(
    r"非产品质量问题|非车辆(?:自身)?原因|而非[^。！？!?]{0,12}(?:失灵|自燃|缺陷)|报道不实|不实报道|被判道歉|判[^。！？!?]{0,12}道歉"
)
_EVENT_GATE = PatternGate(p.regex for p in PATTERNS)
_FIRE_PATTERNS = frozenset({"fire", "explosion", "device_exploded"})
_AIRWAY_PATTERNS = frozenset({"suffocation", "choking"})


def _context_rules_out(pattern: str, text: str, start: int, end: int) -> bool:
    if pattern in _FIRE_PATTERNS:
        sentence_start = max(span_bounds(text, start, end, _SENTENCE_MARKS)[0], start - MAX_CLAUSE_CHARS)
        if _CRASH_BEFORE.search(text, sentence_start, start):
            return True
        return bool(_NOT_A_PRODUCT_FIRE.search(text[max(0, start - 12) : end + 6]))
    if pattern in _AIRWAY_PATTERNS:
        lo, hi = _clause_bounds(text, start, end)
        return bool(_EATING.search(text, lo, hi))
    return False


@dataclass(frozen=True)
class StatedHazard:
    """An event stated in a text: the span [start, end) of the matched wording, its hazards, and harm."""

    start: int
    end: int
    text: str
    pattern: str
    hazards: tuple[HazardType, ...]
    harm: bool


# How far a clause or sentence reaches to either side of an event: a text with no punctuation for thousands of
# characters is no sentence, and unbounded windows made long texts cost quadratic time.
MAX_CLAUSE_CHARS = 200
_CLAUSE_MARKS = frozenset("。！？!?；;\n")
_SENTENCE_MARKS = frozenset("。！？!?\n")


def _clause_bounds(text: str, start: int, end: int) -> tuple[int, int]:
    """The clause around [start, end), at most MAX_CLAUSE_CHARS to either side (text without marks is no clause)."""
    lo, hi = span_bounds(text, start, end, _CLAUSE_MARKS)
    return max(lo, start - MAX_CLAUSE_CHARS), min(hi, end + MAX_CLAUSE_CHARS)


def _ruled_out(text: str, start: int, end: int) -> bool:
    """A negation, hypothetical or accessory cue governs [start, end), or a collocation rules the word out."""
    from riskmine.text.tagger import context_cue

    rules = hazard_rules()
    if context_cue(rules.lex, text, start, end) is not None:
        return True
    judged = rules.judge(text, start, end, text[start:end])
    return judged is not None and not judged[0]


def _product_beside(text: str, start: int, end: int) -> bool:
    """A product of the taxonomy within the event's clause, just before (≤ 14 chars) or after (≤ 8 chars) it."""
    lo, hi = _clause_bounds(text, start, end)
    lo, hi = max(lo, start - 14), min(hi, end + 8)
    window = text[lo:hi]
    for m in hazard_rules().lex.taxonomy.index.find(window):
        a, b = lo + m.start, lo + m.end
        if b <= start or a >= end:
            if _PLACE_AFTER.match(text[b:]):
                continue
            return True
    return False


def _harm_nearby(text: str, start: int, end: int) -> bool:
    lo, hi = _clause_bounds(text, start, end)
    # the sentence around the clause: harm is often told in the next clause (…起火，造成2人死亡)
    span = text[lo : min(span_bounds(text, hi + 1, hi + 1, _CLAUSE_MARKS)[1], hi + MAX_CLAUSE_CHARS)]
    return any(not _HARM_NEGATION.search(span[max(0, m.start() - 6) : m.start()]) for m in _HARM_WORDS.finditer(span))


def find_stated_hazards(text: str, source_type: str | None = None) -> list[StatedHazard]:
    """The hazard events ``text`` states as having happened (see the module docstring), in text order.

    ``source_type`` decides whether the text is bound to a product (reviews, complaints, reports)
    or must name one beside the event (news and unknown sources with ``needs_product`` patterns).
    """
    if not text or not _EVENT_GATE.may_match(text):  # the gate: one scan for words no event can do without
        return []
    bound = source_type in PRODUCT_BOUND_SOURCES
    if not bound and _CLEARED.search(text):
        return []
    taken = bytearray(len(text))  # 1 where an event already found lies (checked per span, not per event)
    found: list[StatedHazard] = []
    for pattern in PATTERNS:
        for m in pattern.regex.finditer(text):
            start, end = m.span("c")
            if 1 in taken[start:end]:
                continue
            if _ruled_out(text, start, end) or _context_rules_out(pattern.name, text, start, end):
                continue
            if pattern.needs_product and not bound and not _product_beside(text, start, end):
                continue
            taken[start:end] = b"\x01" * (end - start)
            harm = pattern.harm or _harm_nearby(text, start, end)
            found.append(StatedHazard(start, end, text[start:end], pattern.name, pattern.hazards, harm))
    found.sort(key=lambda s: s.start)
    return found


def stated_hazards_batch(
    texts: Sequence[str], source_types: Sequence[str | None] | None = None
) -> list[list[StatedHazard]]:
    """:func:`find_stated_hazards` for each text (``source_types`` aligned with ``texts``, or None)."""
    types = list(source_types) if source_types is not None else [None] * len(texts)
    if len(types) != len(texts):
        raise ValueError(f"{len(texts)} texts but {len(types)} source types")
    return [find_stated_hazards(t, s) for t, s in zip(texts, types, strict=True)]
