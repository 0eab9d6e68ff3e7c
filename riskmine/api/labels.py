"""Chinese labels for the console (codes stay English in the data and the API)."""

from __future__ import annotations

from enum import Enum

from riskmine.schema import (
    CandidateStatus,
    HarmKind,
    SourceType,
    Tier,
)
from riskmine.schema.labels import HAZARD_LABELS, POPULATION_LABELS, RISK_LEVEL_LABELS, WARNING_COLOR_LABELS

HAZARD: dict[str, str] = HAZARD_LABELS

SOURCE_TYPE: dict[str, str] = {
    SourceType.review: "电商评论",
    SourceType.news: "新闻",
    SourceType.complaint: "投诉",
    SourceType.recall: "召回",
    SourceType.spot_check: "监督抽查",
    SourceType.injury_report: "伤害报告",
    SourceType.government_notice: "政府通报",
    SourceType.station_report: "监测站报送",
    SourceType.public_report: "公众举报",
}

TIER: dict[str, str] = {Tier.immediate: "立即处置", Tier.review: "待研判", Tier.watch: "观察"}

STATUS: dict[str, str] = {
    CandidateStatus.new: "新建",
    CandidateStatus.in_review: "研判中",
    CandidateStatus.confirmed: "已确认",
    CandidateStatus.rejected: "已排除",
    CandidateStatus.merged: "已合并",
    CandidateStatus.disposed: "已处置",
    CandidateStatus.closed: "已关闭",
}

RISK_LEVEL: dict[str, str] = RISK_LEVEL_LABELS
WARNING_COLOR: dict[str, str] = WARNING_COLOR_LABELS
POPULATION: dict[str, str] = POPULATION_LABELS

HARM: dict[str, str] = {
    HarmKind.injury: "受伤",
    HarmKind.hospital: "就医",
    HarmKind.death: "死亡",
    HarmKind.property_damage: "财产损失",
}

ROLE: dict[str, str] = {
    "admin": "管理员",
    "analyst": "分析员",
    "publisher": "发布员",
    "station": "监测站",
    "viewer": "查看者",
}

# Factors of a candidate's priority score (riskmine.knowledge_graph.priority).
FACTOR: dict[str, str] = {
    "events": "独立事件数",
    "growth": "增长趋势",
    "growth_ratio": "增长倍数",
    "harm": "已造成伤害",
    "severity": "危害严重程度",
    "source_diversity": "来源多样性",
    "vulnerable": "涉及脆弱人群",
    "recency": "时效",
}

TABLES: dict[str, dict[str, str]] = {
    "hazard": HAZARD,
    "source_type": SOURCE_TYPE,
    "tier": TIER,
    "status": STATUS,
    "risk_level": RISK_LEVEL,
    "warning_color": WARNING_COLOR,
    "population": POPULATION,
    "harm": HARM,
    "role": ROLE,
    "factor": FACTOR,
}


def label(value: object, table: str) -> str:
    """The Chinese label of a code; the code itself when it has none; "—" for nothing."""
    if value is None or value == "":
        return "—"
    key = value.value if isinstance(value, Enum) else str(value)
    return TABLES[table].get(key, key)
