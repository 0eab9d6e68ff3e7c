"""Chinese wording of the reports: the shared label tables (riskmine.schema.labels) and the reports' own notes."""

from __future__ import annotations

from riskmine.schema.labels import (
    HARM_LABELS,
    HAZARD_LABELS,
    MEASURE_LABELS,
    RISK_LEVEL_LABELS,
    SCOPE_LABELS,
    SOURCE_TYPE_LABELS,
    STATUS_LABELS,
    TIER_LABELS,
    UNKNOWN_HAZARD_LABEL,
    WARNING_COLOR_LABELS,
)
from riskmine.schema.labels import POPULATION_LABELS as POPULATION_LABELS  # re-exported for the report modules

__all__ = [
    "COLOUR_LABELS",
    "HARM_LABELS",
    "LEVEL_LABELS",
    "MEASURE_LABELS",
    "MONTHLY_NOTES",
    "POPULATION_LABELS",
    "SCOPE_LABELS",
    "SOURCE_TYPE_LABELS",
    "STATUS_LABELS",
    "TIER_LABELS",
    "UNKNOWN_REGION",
    "hazard_label",
    "label",
]

LEVEL_LABELS: dict[str, str] = RISK_LEVEL_LABELS
COLOUR_LABELS: dict[str, str] = WARNING_COLOR_LABELS
UNKNOWN_REGION = "未知"
# Notes (注) of the monthly forms: how a form counts, filled with str.format.
MONTHLY_NOTES: dict[str, str] = {
    "holidays": "{year}年节假日安排尚未收录，报送截止日期按周末顺延计算，请核对。",
    "no_product": "{n}条差评缺少商品名称，未列入报送表。",
    "empty": "本期无符合条件的风险信息。",
    "duplicates": "{n}条重复信息（同一信息重复报送，或被判定为其他信息的重复）只计一次。",
    "shared": "{n}条信息同属多个风险，只计入优先级最高的风险所在行，不在其他行重复列出。",
    "keywords": "关键词：监测站报送的行保留报送的关键词；序号{rows}无报送关键词，填写的是系统归类的产品类别。",
}


def label(table: dict[str, str], code: object, default: str | None = None) -> str:
    """The Chinese label of a code (enum or str); the code itself when the table has none."""
    if code is None:
        return default or ""
    key = getattr(code, "value", code)
    return table.get(str(key), default if default is not None else str(key))


def hazard_label(code: object) -> str:
    return label(HAZARD_LABELS, code, UNKNOWN_HAZARD_LABEL)
