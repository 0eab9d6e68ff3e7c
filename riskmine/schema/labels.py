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
# The knowledge graph (riskmine.knowledge_graph.graph): node types and the relation an edge's ends make.
NODE_TYPE_LABELS: dict[str, str] = {
    "product": "产品",
    "category": "品类",
    "brand": "品牌",
    "enterprise": "企业",
    "shop": "店铺",
    "region": "地区",
    "hazard": "危害",
    "standard": "标准",
    "signal": "信号",
    "population": "人群",
    "platform": "平台",
    "source": "信息来源",
}
RELATION_LABELS: dict[str, str] = {
    "about": "涉及",
    "mentions": "提及",
    "cites": "引用",
    "affects": "影响",
    "located_in": "位于",
    "from": "来自",
    "parent": "上级",
    "owned_by": "隶属于",
    "of_brand": "品牌为",
    "in_category": "属于品类",
    "related": "相关",
}
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
# Console exports (CSV/XLSX of what a filter shows): the column headers, by field.
CANDIDATE_EXPORT_COLUMNS: dict[str, str] = {
    "id": "编号",
    "tier": "层级",
    "title": "候选风险",
    "product_category": "品类",
    "hazard": "危害",
    "signal_count": "信号数",
    "event_count": "事件数",
    "first_seen": "首次发现",
    "last_seen": "最近发现",
    "risk_level": "风险等级",
    "warning_color": "预警级别",
    "status": "状态",
    "assignee": "负责人",
    "organisation": "责任单位",
    "due_at": "办理期限",
}
SIGNAL_EXPORT_COLUMNS: dict[str, str] = {
    "id": "编号",
    "when": "时间",
    "source_type": "来源类型",
    "source": "来源",
    "title": "标题",
    "is_risk": "风险信号",
    "risk_score": "风险分",
    "risk_level": "风险等级",
    "hazards": "危害",
    "product_category": "品类",
    "url": "原文链接",
    "text": "内容摘要",
}
EXPORT_TRUNCATED = "仅导出前 {cap} 条（共 {total} 条，超过导出上限）：请缩小筛选范围后分批导出。"
YES_NO_LABELS: dict[bool, str] = {True: "是", False: "否"}
# Saved filters and report drafts (the console's workspace).
SAVED_FILTER_PAGE_LABELS: dict[str, str] = {"queue": "候选风险队列", "signals": "信号检索"}
FILTER_FIELD_LABELS: dict[str, str] = {
    "tier": "层级",
    "status": "状态",
    "hazard": "危害",
    "risk_level": "风险等级",
    "product_category": "品类",
    "region": "地区",
    "q": "关键词",
    "source_type": "来源",
    "is_risk": "风险信号",
}
REPORT_FORM_LABELS: dict[str, str] = {"general": "行业组织、检验检测机构", "ecommerce": "电商平台"}
REPORT_FORMAT_LABELS: dict[str, str] = {"xlsx": "Excel（XLSX）", "csv": "CSV", "docx": "Word（DOCX）", "pdf": "PDF"}
# Scheduled jobs (riskmine.scheduler) and how their last run went.
JOB_LABELS: dict[str, str] = {
    "crawl": "到期抓取",
    "refresh": "候选风险刷新",
    "monthly_draft": "月报草稿",
    "alerts": "预警发送",
    "digest": "每日摘要",
}
JOB_OUTCOME_LABELS: dict[str, str] = {"ok": "成功", "failed": "失败", "running": "运行中", "never": "尚未运行"}
# The audit log (riskmine.review.audit): what was done, and to what kind of record.
AUDIT_ACTION_LABELS: dict[str, str] = {
    "candidate.transition": "变更候选风险状态",
    "candidate.assign": "分派候选风险",
    "candidate.decide": "研判候选风险",
    "candidate.merge": "合并候选风险（并入方）",
    "candidate.merged": "候选风险被合并",
    "candidate.split": "拆分候选风险",
    "candidate.create": "拆分新建候选风险",
    "decision.add": "记录研判结论",
    "comment.add": "添加研判意见",
    "objection.add": "登记异议",
    "objection.answer": "答复异议",
    "advisory.draft": "起草风险通告",
    "advisory.publish": "批准发布风险通告",
    "report.immediate": "生成即时报告",
    "feedback.export": "导出研判反馈语料",
    "org.add": "新增单位",
    "user.create": "新建用户",
    "user.set_role": "变更用户角色",
    "user.set_org": "变更用户单位",
    "user.set_password": "重设用户密码",
    "user.disable": "停用用户",
    "user.enable": "重新启用用户",
    "key.issue": "签发接口密钥",
    "key.revoke": "吊销接口密钥",
    "login.failed": "登录失败",
    "login.locked": "登录被锁定",
}
AUDIT_TARGET_LABELS: dict[str, str] = {
    "candidate": "候选风险",
    "decision": "研判结论",
    "objection": "异议",
    "advisory": "风险通告",
    "export": "导出",
    "org": "单位",
    "user": "用户",
    "api_key": "接口密钥",
    "account": "登录账号",
    "client": "客户端地址",
}
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
    "feed_damaged": "订阅源不完整或格式错误，仅读取部分条目（feed cut off or malformed）",
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


# The task queue and `riskmine worker` (riskmine.queue, riskmine.worker): its log lines and errors.
WORKER_LABELS: dict[str, str] = {
    "no_queue": "未配置任务队列：请设置 RISKMINE_QUEUE_URL（例如 redis://127.0.0.1:6379/1）",
    "not_installed": "任务队列需要 queue 扩展：pip install 'riskmine[queue]'（Dramatiq 与 redis）",
    "unreachable": "无法连接任务队列 Redis（{url}）：{reason}",
    "started": "处理进程已启动，等待任务（队列 {url}）",
    "loading": "正在加载处理模型",
    "task": "收到任务：{count} 篇文档",
    "skipped": "其中 {count} 篇已处理，跳过",
    "done": "任务完成：处理 {processed} 篇，风险信号 {risks} 条，重复 {duplicates} 篇，"
    "候选风险 {candidates} 个，用时 {seconds} 秒",
    "failed": "任务失败（将重试）：{error}",
    "stopping": "处理进程正在停止",
    "queued": "已提交处理队列",
    "timings": "任务用时明细（秒）：{timings}",
}

# Who sends a public report (Shanxi plan: 任何单位、组织和个人均可以…提供风险信息).
REPORTER_KIND_LABELS: dict[str, str] = {"person": "个人", "unit": "单位", "organisation": "组织"}
# The public report form's fields, as its page and its error messages name them.
PUBLIC_REPORT_FIELD_LABELS: dict[str, str] = {
    "kind": "举报人",
    "product": "涉及产品",
    "problem": "存在的问题",
    "region": "所在地区",
    "contact": "联系方式",
    "link": "相关网址",
    "text": "详细情况",
    "description": "问题描述",
}
# Why a station's upload could not be read as a whole (nothing recorded), by error code; {limit} is the size limit.
UPLOAD_ERROR_LABELS: dict[str, str] = {
    "missing_file": "没有选择文件：请选择要报送的报送表文件",
    "empty_batch": "文件中没有数据行（只有表头，或只有空行和表尾行）",
    "unsupported_file_type": "不支持的文件类型：请上传 CSV、TSV、JSON Lines（.jsonl）或 Excel（.xlsx）文件；"
    "旧版 .xls 请先另存为 .xlsx",
    "undecodable_file": "文件编码无法识别：既不是 UTF-8，也不是 GBK/GB18030",
    "bad_feed_format": "文件内容无法按其格式读取（文件损坏，或扩展名与内容不符）",
    "line_too_long": "文件中有一行过长，无法读取",
    "payload_too_large": "文件过大：超过上限 {limit}，请拆分成较小的文件分批报送",
    "batch_in_progress": "同一文件正在处理中，请稍后刷新本页查看结果",
    "forbidden": "无权为监测站 {station} 报送：监测站账号只能为本单位报送，"
    "管理员和分析员只能为所属机构范围内的监测站报送",
    "role_forbidden": "{role}账号不能报送监测站报送表",
    "invalid_upload": "文件无法读取",
}

# What a failed spot check or a recall may carry from its form (riskmine.knowledge_graph.profiles._failure_brief),
# as the enterprise page heads it.
SPOT_CHECK_FIELD_LABELS: dict[str, str] = {
    "test_item": "不合格项目",
    "result": "检验结果",
    "limit": "标准要求",
    "verdict": "判定",
    "authority": "抽查机关",
}

# A station batch sent to the task queue (RISKMINE_QUEUE_URL), as the station page shows it: waiting for a worker,
# then how far the workers have got ({processed} of {total} documents, {risks} risk signals so far).
STATION_QUEUE_LABELS: dict[str, str] = {
    "queued": "已排队，等待处理",
    "progress": "后台处理进度：已处理 {processed} / {total} 篇文档，风险信号 {risks} 条",
    "processed": "已由后台处理完成：{total} 篇文档，风险信号 {risks} 条",
}
# `riskmine ingest` / `riskmine process` with a task queue (RISKMINE_QUEUE_URL) and without --local.
CLI_QUEUE_LABELS: dict[str, str] = {
    "queued": "已将 {count} 篇文档提交处理队列（{url}），由 riskmine worker 处理；加 --local 可在本进程处理",
    "failed": "未能提交处理队列：{error}；可加 --local 在本进程处理",
    "all_local": "--all 重新处理全部文档：在本进程处理（处理队列只处理尚未处理的文档）",
}
