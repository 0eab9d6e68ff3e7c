"""Chinese display labels shared by candidate titles, the console and reports (one table, so they agree)."""

from __future__ import annotations

from riskmine.schema.enums import HazardType, Population, RiskLevel, WarningColor

HAZARD_LABELS: dict[str, str] = {
    HazardType.electric_shock: "触电/漏电",
    HazardType.fire: "起火/冒烟",
    HazardType.burns: "烫伤/烧伤",
    HazardType.chemical: "有害化学物质",
    HazardType.injuries: "机械伤害",
    HazardType.choking: "误吞/卡喉",
    HazardType.suffocation: "窒息",
    HazardType.strangulation: "勒颈/缠绕",
    HazardType.microbiological: "微生物污染",
    HazardType.hearing_damage: "听力损伤",
    HazardType.sight_damage: "视力损伤",
    HazardType.entrapment: "夹伤/卡陷",
    HazardType.drowning: "溺水",
    HazardType.safety_function_failure: "安全功能失效",
    HazardType.property_damage: "财产损失",
    HazardType.other: "其他危害",
}
UNKNOWN_HAZARD_LABEL = "未明危害"

RISK_LEVEL_LABELS: dict[str, str] = {RiskLevel.high: "高风险", RiskLevel.medium: "中风险", RiskLevel.low: "低风险"}
WARNING_COLOR_LABELS: dict[str, str] = {
    WarningColor.red: "红色预警",
    WarningColor.orange: "橙色预警",
    WarningColor.yellow: "黄色预警",
    WarningColor.green: "绿色预警",
}
POPULATION_LABELS: dict[str, str] = {
    Population.infants: "婴幼儿",
    Population.children: "儿童",
    Population.elderly: "老年人",
    Population.pregnant: "孕妇",
}
