"""Chinese display labels shared by candidate titles, the console, the API and the reports (one table, so they
agree: a status, tier, source type, harm or measure reads the same wherever an analyst meets it)."""

from __future__ import annotations

from riskmine.schema.enums import (
    CandidateStatus,
    DispositionMeasure,
    HarmKind,
    HazardType,
    Population,
    RiskLevel,
    SourceType,
    Tier,
    WarningColor,
)

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
TIER_LABELS: dict[str, str] = {Tier.immediate: "立即处置", Tier.review: "待研判", Tier.watch: "持续关注"}
STATUS_LABELS: dict[str, str] = {
    CandidateStatus.new: "新建",
    CandidateStatus.in_review: "研判中",
    CandidateStatus.confirmed: "已确认",
    CandidateStatus.rejected: "已排除",
    CandidateStatus.merged: "已合并",
    CandidateStatus.disposed: "已处置",
    CandidateStatus.closed: "已关闭",
}
HARM_LABELS: dict[str, str] = {
    HarmKind.injury: "人员受伤",
    HarmKind.hospital: "就医",
    HarmKind.death: "死亡",
    HarmKind.property_damage: "财产损失",
}
# Disposition measures (Sichuan 第二十三条, Shanghai 2022 第9条), as actions.
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
SCOPE_LABELS: dict[str, str] = {"industry_wide": "行业性", "regional": "区域性", "systemic": "系统性"}
# Alerts (riskmine.review.alerts): what happened, how people are told, how a delivery went.
ALERT_EVENT_LABELS: dict[str, str] = {
    "immediate_tier": "候选风险进入立即处置",
    "deadline_near": "研判时限将至",
    "objection": "收到异议",
}
ALERT_CHANNEL_LABELS: dict[str, str] = {"email": "电子邮件", "webhook": "Webhook 回调", "digest": "每日摘要邮件"}
ALERT_OWNER_LABELS: dict[str, str] = {"user": "本人", "org": "单位"}
DELIVERY_STATUS_LABELS: dict[str, str] = {
    "pending": "待发送",
    "sending": "发送中",
    "sent": "已送达",
    "failed": "发送失败",
}
# Scheduled jobs (riskmine.scheduler) and how their last run went.
JOB_LABELS: dict[str, str] = {
    "crawl": "到期抓取",
    "refresh": "候选风险刷新",
    "monthly_draft": "月报草稿",
    "alerts": "预警发送",
    "digest": "每日摘要",
}
JOB_OUTCOME_LABELS: dict[str, str] = {"ok": "成功", "failed": "失败", "running": "运行中", "never": "尚未运行"}
# Why a crawl source failed (riskmine.crawler.run), in Chinese with the technical term in brackets.
CRAWL_FAILURE_LABELS: dict[str, str] = {
    "connection_refused": "连接被拒绝（connection refused）",
    "dns_error": "域名解析失败（DNS lookup failed）",
    "timeout": "连接超时（timeout）",
    "download_error": "下载失败（download error）",
    "http_forbidden": "被拒绝访问（HTTP {status}）",
    "http_not_found": "页面不存在（HTTP {status}）",
    "http_error": "服务器返回错误（HTTP {status}）",
    "robots_forbidden": "robots.txt 禁止抓取",
    "parse_error": "解析失败（parse error）",
    "crawl_timeout": "抓取超时（crawl timed out）",
    "crawl_error": "抓取进程出错（crawl error）",
    "errors": "抓取出错（errors）",
}


def crawl_failure_label(code: str | None, status: int | None = None) -> str | None:
    """The Chinese reason of a failed crawl (None when it did not fail); HTTP reasons name the status."""
    if not code:
        return None
    template = CRAWL_FAILURE_LABELS.get(code, CRAWL_FAILURE_LABELS["errors"])
    return template.replace("{status}", str(status or "?"))
