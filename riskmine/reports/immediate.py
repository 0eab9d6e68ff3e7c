"""The immediate report (重要风险信息及时报) for important risk information.

Shanxi 2023 plan 二.(三)4(3) and Shanghai 2020 三.(二)3: information is important when the product
has already caused deaths or injuries, seriously endangers health, life or property, or has a wide
impact; it is reported at once, and major risks within 24 hours (Sichuan 第十九条). The report is
made when an immediate-tier candidate, or any candidate with a red or orange warning, is confirmed: the review
workflow calls :func:`on_candidate_confirmed`, which writes the DOCX and HTML under
``<var_dir>/reports/immediate/``; that meets the 24-hour deadline (riskmine.review.deadlines).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from riskmine.reports.document import ReportDocument, Section, Table, render_docx, render_html
from riskmine.reports.errors import NotEligibleError, NotFoundError
from riskmine.reports.gather import CandidateSlice, candidate_slice, enterprise_counts, region_counts
from riskmine.reports.labels import (
    COLOUR_LABELS,
    HARM_LABELS,
    LEVEL_LABELS,
    MEASURE_LABELS,
    POPULATION_LABELS,
    SCOPE_LABELS,
    SOURCE_TYPE_LABELS,
    STATUS_LABELS,
    UNKNOWN_REGION,
    hazard_label,
    label,
)
from riskmine.reports.periods import CST
from riskmine.schema import CandidateRisk, CandidateStatus, Decision, RiskLevel, Tier, WarningColor
from riskmine.store.base import Collection, Store

# Major risks are reported within 24 hours of being confirmed (Sichuan 第十九条).
REPORT_WITHIN = timedelta(hours=24)
WIDE_IMPACT_REGIONS = 3  # provinces: information from this many is of wide impact
MAX_EVIDENCE_ROWS = 30
_SNIPPET_CHARS = 160


@dataclass(frozen=True)
class ImmediateFiles:
    docx: Path
    html: Path


def _fmt(moment: datetime | None) -> str:
    return moment.astimezone(CST).strftime("%Y-%m-%d %H:%M") if moment else "—"


def criteria(piece: CandidateSlice) -> list[str]:
    """Which of the important-information criteria the candidate meets, in the seeds' words."""
    c = piece.candidate
    out: list[str] = []
    harmed = [s for s in piece.signals if s.harm_occurred]
    if harmed or c.harm_count:
        kinds = Counter(h.value for s in harmed for h in s.harm)
        detail = "、".join(f"{label(HARM_LABELS, k)}{n}条" for k, n in kinds.most_common()) or f"{c.harm_count}条"
        out.append(f"已经造成人员伤亡或财产损失（{detail}）")
    level, colour = c.grade.risk_level, c.grade.warning_color
    if level is RiskLevel.high or colour in (WarningColor.red, WarningColor.orange):
        out.append(f"严重危及公众健康和生命、财产安全（{label(LEVEL_LABELS, level)}，{label(COLOUR_LABELS, colour)}）")
    regions = region_counts(piece.signals)
    regions.pop(UNKNOWN_REGION, None)
    if c.scope or len(regions) >= WIDE_IMPACT_REGIONS:
        scope = "、".join(label(SCOPE_LABELS, s) for s in c.scope)
        out.append(f"影响范围大（涉及{len(regions)}个省级地区{('，' + scope) if scope else ''}）")
    return out


def deadline(piece: CandidateSlice, now: datetime | None = None) -> datetime:
    """When the report is due: the candidate's own deadline, else 24 hours after it was confirmed."""
    if piece.candidate.due_at is not None:
        return piece.candidate.due_at
    confirmed = piece.decision.decided_at if piece.decision else (now or datetime.now(CST))
    return confirmed + REPORT_WITHIN


def build_immediate_report(
    store: Store, candidate_id: str, *, organisation: str | None = None, now: datetime | None = None
) -> ReportDocument:
    """The immediate report of a candidate; NotFoundError / NotEligibleError when it has none to make."""
    candidate = store.get(Collection.candidates, candidate_id)
    if not isinstance(candidate, CandidateRisk):
        raise NotFoundError(f"没有编号为 {candidate_id} 的候选风险")
    piece = candidate_slice(store, candidate)
    met = criteria(piece)
    if candidate.tier is not Tier.immediate and not met:
        raise NotEligibleError(
            f"candidate {candidate_id} is in tier {candidate.tier.value!r} and meets none of the criteria of "
            "important risk information (casualties, serious danger, wide impact); use the monthly form"
        )
    return _document(piece, met, organisation, now or datetime.now(CST))


def _document(piece: CandidateSlice, met: list[str], organisation: str | None, now: datetime) -> ReportDocument:
    c, decision = piece.candidate, piece.decision
    due = deadline(piece, now)
    level, colour = c.grade.risk_level, c.grade.warning_color
    meta = [
        ("报告单位", organisation or c.organisation or "—"),
        ("报告时间", _fmt(now)),
        ("报送时限", f"{_fmt(due)}前" + ("（已超时）" if due < now else "")),
        ("候选风险编号", c.id),
        ("研判状态", label(STATUS_LABELS, c.status)),
    ]
    regions = region_counts(piece.signals)
    regions.pop(UNKNOWN_REGION, None)
    sources = Counter(s.document.source_type.value for s in piece.signals)
    by_source = "、".join(f"{label(SOURCE_TYPE_LABELS, k)}{n}条" for k, n in sources.most_common())
    facts = [
        f"产品类别：{c.product_category or '未分类产品'}；危害类型：{hazard_label(c.hazard)}。",
        f"相关信息{len(piece.signals)}条（{by_source}），首次发现{_fmt(c.first_seen)}，最近一次{_fmt(c.last_seen)}。",
    ]
    if regions:
        facts.append("涉及地区：" + "、".join(f"{r}{n}条" for r, n in regions.most_common(10)) + "。")
    enterprises = enterprise_counts(piece.signals)
    if enterprises or c.enterprises:
        names = [e for e, _ in enterprises.most_common(10)] or c.enterprises[:10]
        facts.append("涉及企业：" + "、".join(names) + "。")
    if c.brands:
        facts.append("涉及品牌：" + "、".join(c.brands[:10]) + "。")
    if c.populations:
        facts.append("涉及人群：" + "、".join(label(POPULATION_LABELS, p) for p in c.populations) + "。")
    judgement = [
        f"风险等级：{label(LEVEL_LABELS, level) or '未定'}；预警级别：{label(COLOUR_LABELS, colour) or '未定'}。"
    ]
    if decision:
        judgement.append(f"研判人：{decision.decided_by}；研判时间：{_fmt(decision.decided_at)}。")
        if decision.rationale.strip():
            judgement.append(f"研判意见：{decision.rationale.strip()}")
    measures = (decision.measures if decision else []) or c.suggested_measures
    judgement.append(
        "处置措施：" + ("；".join(label(MEASURE_LABELS, m) for m in measures) if measures else "尚未确定") + "。"
    )
    evidence_signals = sorted(piece.signals, key=lambda s: (not s.harm_occurred, -s.risk_score, s.id))
    rows = [
        [
            _fmt(s.when),
            label(SOURCE_TYPE_LABELS, s.document.source_type),
            s.document.source,
            _snippet(s.document.title, s.normalized_text or s.document.text),
            s.document.url or "—",
        ]
        for s in evidence_signals[:MAX_EVIDENCE_ROWS]
    ]
    shown = [s.id for s in evidence_signals[:MAX_EVIDENCE_ROWS]]
    evidence_note = (
        f"共{len(piece.signals)}条，列出{len(rows)}条（伤害信息优先，其余按风险分值）。"
        if len(rows) < len(piece.signals)
        else f"共{len(rows)}条。"
    )
    sections: list[Section] = [
        Section("一、报告情形", blocks=list(_numbered(met) or ["该候选风险列为及时报层级。"])),
        Section("二、基本情况", blocks=[*facts], signal_ids=[s.id for s in piece.signals]),
        Section("三、研判意见与处置建议", blocks=[*judgement]),
        Section(
            "四、证据",
            blocks=[evidence_note, Table("证据清单", ["时间", "来源类型", "来源", "内容摘要", "链接"], rows, shown)],
        ),
    ]
    title = f"重要风险信息及时报告：{c.product_category or '未分类产品'}{hazard_label(c.hazard)}"
    return ReportDocument(title=title, subtitle=c.title, meta=meta, sections=sections)


def _numbered(items: list[str]) -> list[str | Table]:
    return [f"{i}. {m}" for i, m in enumerate(items, 1)]


def _snippet(title: str | None, text: str) -> str:
    body = " ".join(text.split())
    if len(body) > _SNIPPET_CHARS:
        body = body[: _SNIPPET_CHARS - 1] + "…"
    return f"【{title}】{body}" if title and title not in body else body


def write_immediate_report(report: ReportDocument, out_dir: Path, candidate_id: str) -> ImmediateFiles:
    out_dir.mkdir(parents=True, exist_ok=True)
    docx_path = out_dir / f"immediate-{candidate_id}.docx"
    html_path = out_dir / f"immediate-{candidate_id}.html"
    docx_path.write_bytes(render_docx(report))
    html_path.write_text(render_html(report), encoding="utf-8")
    return ImmediateFiles(docx_path, html_path)


def on_candidate_confirmed(
    store: Store, candidate: CandidateRisk, decision: Decision | None, var_dir: Path
) -> ImmediateFiles | None:
    """Hook for the review workflow: call after a candidate is confirmed (its decision stored).

    Writes the immediate report of a major risk, an immediate-tier candidate or one confirmed with a red or
    orange warning (Shanghai 2022 第12条: handled at once; riskmine.review.deadlines.is_major, the same rule),
    under <var_dir>/reports/immediate/ and returns the files; returns None for any other candidate or status.
    """
    if candidate.status not in (CandidateStatus.confirmed, CandidateStatus.disposed):
        return None
    if decision is not None and decision.status is not CandidateStatus.confirmed:
        return None
    colour = decision.warning_color if decision is not None else None
    if candidate.tier is not Tier.immediate and colour not in (WarningColor.red, WarningColor.orange):
        return None
    report = build_immediate_report(store, candidate.id, organisation=candidate.organisation)
    return write_immediate_report(report, var_dir / "reports" / "immediate", candidate.id)
