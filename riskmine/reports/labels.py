"""Chinese wording the reports use for the codes kept in the data (hazards come from schema.labels)."""

from __future__ import annotations

from riskmine.schema import CandidateStatus, DispositionMeasure, HarmKind, SourceType, Tier
from riskmine.schema.labels import (
    HAZARD_LABELS,
    RISK_LEVEL_LABELS,
    UNKNOWN_HAZARD_LABEL,
    WARNING_COLOR_LABELS,
)
from riskmine.schema.labels import POPULATION_LABELS as POPULATION_LABELS  # re-exported for the report modules

SOURCE_TYPE_LABELS: dict[str, str] = {
    SourceType.review: "电商评论",
    SourceType.news: "新闻舆情",
    SourceType.complaint: "消费者投诉",
    SourceType.recall: "召回",
    SourceType.spot_check: "监督抽查",
    SourceType.injury_report: "伤害监测",
    SourceType.government_notice: "政府通报",
    SourceType.station_report: "监测站报送",
    SourceType.public_report: "公众举报",
}
MEASURE_LABELS: dict[str, str] = {
    DispositionMeasure.spot_check: "实施监督抽查",
    DispositionMeasure.enforcement_inspection: "组织执法检查",
    DispositionMeasure.special_campaign: "开展专项整治",
    DispositionMeasure.summons: "约谈相关企业",
    DispositionMeasure.recall_advice: "提出召回建议",
    DispositionMeasure.internal_bulletin: "发布风险通报",
    DispositionMeasure.industry_warning: "发布风险警示",
    DispositionMeasure.consumer_advisory: "发布消费提示",
    DispositionMeasure.clue_transfer: "移送案件线索",
    DispositionMeasure.standard_revision: "提出标准制修订建议",
}
LEVEL_LABELS: dict[str, str] = RISK_LEVEL_LABELS
COLOUR_LABELS: dict[str, str] = WARNING_COLOR_LABELS
STATUS_LABELS: dict[str, str] = {
    CandidateStatus.new: "待研判",
    CandidateStatus.in_review: "研判中",
    CandidateStatus.confirmed: "已确认",
    CandidateStatus.rejected: "已排除",
    CandidateStatus.merged: "已合并",
    CandidateStatus.disposed: "已处置",
    CandidateStatus.closed: "已关闭",
}
TIER_LABELS: dict[str, str] = {Tier.immediate: "及时报", Tier.review: "待研判", Tier.watch: "持续关注"}
HARM_LABELS: dict[str, str] = {
    HarmKind.injury: "人员受伤",
    HarmKind.hospital: "就医",
    HarmKind.death: "死亡",
    HarmKind.property_damage: "财产损失",
}
SCOPE_LABELS: dict[str, str] = {"industry_wide": "行业性", "regional": "区域性", "systemic": "系统性"}
UNKNOWN_REGION = "未知"


def label(table: dict[str, str], code: object, default: str | None = None) -> str:
    """The Chinese label of a code (enum or str); the code itself when the table has none."""
    if code is None:
        return default or ""
    key = getattr(code, "value", code)
    return table.get(str(key), default if default is not None else str(key))


def hazard_label(code: object) -> str:
    return label(HAZARD_LABELS, code, UNKNOWN_HAZARD_LABEL)
