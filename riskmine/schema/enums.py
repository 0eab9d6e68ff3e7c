"""Enumerations shared by every part of riskmine (see GLOSSARY.md for the terms)."""

from __future__ import annotations

from enum import StrEnum

# The document source of what a monitoring station submits: ``station:<organisation name>``.
STATION_SOURCE_PREFIX = "station:"


def station_source(station: str) -> str:
    """The document source under which a station (named by its organisation) submits."""
    return f"{STATION_SOURCE_PREFIX}{station}"


class SourceType(StrEnum):
    """Where a document came from (Shanxi plan 二.(三)1 lists the nine sources)."""

    review = "review"
    news = "news"
    complaint = "complaint"
    recall = "recall"
    spot_check = "spot_check"
    injury_report = "injury_report"
    government_notice = "government_notice"
    station_report = "station_report"
    public_report = "public_report"


class HazardType(StrEnum):
    """Hazard codes modelled on EU Safety Gate's risk types."""

    electric_shock = "electric_shock"
    fire = "fire"
    burns = "burns"
    chemical = "chemical"
    injuries = "injuries"
    choking = "choking"
    suffocation = "suffocation"
    strangulation = "strangulation"
    microbiological = "microbiological"
    hearing_damage = "hearing_damage"
    sight_damage = "sight_damage"
    entrapment = "entrapment"
    drowning = "drowning"
    safety_function_failure = "safety_function_failure"
    property_damage = "property_damage"
    other = "other"


class RiskLevel(StrEnum):
    """高 / 中 / 低 风险 (Sichuan 第十八条)."""

    high = "high"
    medium = "medium"
    low = "low"


class WarningColor(StrEnum):
    """红 / 橙 / 黄 / 绿 预警 (Shanghai 2022 第8条)."""

    red = "red"
    orange = "orange"
    yellow = "yellow"
    green = "green"


class CandidateStatus(StrEnum):
    """Life cycle of a candidate risk under expert review."""

    new = "new"
    in_review = "in_review"
    confirmed = "confirmed"
    rejected = "rejected"
    merged = "merged"
    disposed = "disposed"
    closed = "closed"


class Population(StrEnum):
    """Exposed populations weighed higher (一老一小 and pregnant women)."""

    infants = "infants"
    children = "children"
    elderly = "elderly"
    pregnant = "pregnant"


class HarmKind(StrEnum):
    """Harm that actually occurred, as reported in the text."""

    injury = "injury"
    hospital = "hospital"
    death = "death"
    property_damage = "property_damage"


class Tier(StrEnum):
    """What reaches analysts: immediate (24 h), review (budgeted top-N), watch."""

    immediate = "immediate"
    review = "review"
    watch = "watch"


class DispositionMeasure(StrEnum):
    """Measures an analyst may decide on (Sichuan 第二十三条, Shanghai 2022 第9条)."""

    spot_check = "spot_check"  # 监督抽查
    enforcement_inspection = "enforcement_inspection"  # 执法检查
    special_campaign = "special_campaign"  # 专项整治
    summons = "summons"  # 约谈
    recall_advice = "recall_advice"  # 召回建议
    internal_bulletin = "internal_bulletin"  # 风险通报
    industry_warning = "industry_warning"  # 风险警示
    consumer_advisory = "consumer_advisory"  # 消费提示
    clue_transfer = "clue_transfer"  # 移送线索
    standard_revision = "standard_revision"  # 标准制修订建议
