"""Chinese labels for the console by table name (codes stay English in the data and the API); the tables
themselves are riskmine.schema.labels, shared with the reports."""

from __future__ import annotations

from enum import Enum

from riskmine.schema.labels import (
    HARM_LABELS,
    HAZARD_LABELS,
    MEASURE_LABELS,
    NODE_TYPE_LABELS,
    POPULATION_LABELS,
    RELATION_LABELS,
    RISK_LEVEL_LABELS,
    SCOPE_LABELS,
    SOURCE_TYPE_LABELS,
    STATUS_LABELS,
    TIER_LABELS,
    WARNING_COLOR_LABELS,
)

HAZARD: dict[str, str] = HAZARD_LABELS
SOURCE_TYPE: dict[str, str] = SOURCE_TYPE_LABELS
TIER: dict[str, str] = TIER_LABELS
STATUS: dict[str, str] = STATUS_LABELS
RISK_LEVEL: dict[str, str] = RISK_LEVEL_LABELS
WARNING_COLOR: dict[str, str] = WARNING_COLOR_LABELS
POPULATION: dict[str, str] = POPULATION_LABELS

HARM: dict[str, str] = HARM_LABELS
MEASURE: dict[str, str] = MEASURE_LABELS
SCOPE: dict[str, str] = SCOPE_LABELS

ROLE: dict[str, str] = {
    "admin": "管理员",
    "analyst": "分析员",
    "publisher": "发布员",
    "station": "监测站",
    "viewer": "查看者",
    "api_consumer": "接口用户",
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

# What an objection's 15 days were counted from (riskmine.review.records.Objection.deadline_basis).
DEADLINE_BASIS: dict[str, str] = {
    "result_received": "自收到结果之日起 15 日内",
    "decision": "未登记收到结果日期，按研判日期起算 15 日",
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
    "measure": MEASURE,
    "scope": SCOPE,
    "role": ROLE,
    "factor": FACTOR,
    "deadline_basis": DEADLINE_BASIS,
    "node_type": NODE_TYPE_LABELS,
    "relation": RELATION_LABELS,
}


def label(value: object, table: str) -> str:
    """The Chinese label of a code; the code itself when it has none; "—" for nothing."""
    if value is None or value == "":
        return "—"
    key = value.value if isinstance(value, Enum) else str(value)
    return TABLES[table].get(key, key)
