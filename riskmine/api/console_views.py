"""What the console's pages show, computed from the records: factor bars, statistics rows, evidence
with highlighted hazard spans, the graph neighbourhood, a station's submissions, the overdue list.

These helpers return plain data (and pre-escaped Markup where HTML is built); the templates lay it out.
"""

from __future__ import annotations

import json
import math
import re
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from markupsafe import Markup

from riskmine.api.labels import FACTOR, HAZARD, label
from riskmine.api.render import Bar, Excerpt, bars, safe_url, signal_excerpt
from riskmine.api.svg import meter
from riskmine.api.views import document_url, signal_url
from riskmine.knowledge_graph.graph import GraphError, current_graph
from riskmine.knowledge_graph.graph import lock as graph_lock
from riskmine.knowledge_graph.graph import node_id as graph_node_id
from riskmine.review.deadlines import current_deadline
from riskmine.schema import CandidateRisk, Evidence, RawDocument, Signal
from riskmine.schema.labels import MEASURE_LABELS, NODE_TYPE_LABELS, SCOPE_LABELS
from riskmine.store.base import Collection, Store

# Names of the statistics a candidate may carry (riskmine.knowledge_graph statistics), in display order.
STATISTIC: dict[str, str] = {
    "trend": "趋势检验",
    "ears": "早期异常检测（EARS）",
    "cusum": "累积和检验（CUSUM）",
    "poisson": "泊松检验",
    "prr": "比例报告比（PRR）",
    "disproportionality": "不相称性分析",
    "scope": "影响范围",
    "immediate": "立即处置判定",
    "refinement": "细分分析",
    "causes": "致因",
    "priority": "优先级",
    "as_of": "统计截至",
}
# Names of the fields inside one statistic.
STATISTIC_FIELD: dict[str, str] = {
    "statistic": "统计量",
    "method": "方法",
    "value": "值",
    "threshold": "阈值",
    "verdict": "结论",
    "p_value": "p 值",
    "n": "样本数",
    "chi2": "卡方值（χ²）",
    "chi2_yates": "卡方值（χ²，Yates 校正）",
    "signal": "发出信号",
    "rising": "上升",
    "prr": "比例报告比（PRR）",
    "alpha": "显著性水平",
    "recent": "近期事件数",
    "recent_days": "近期天数",
    "baseline": "基线期事件数",
    "baseline_days": "基线天数",
    "expected": "期望值",
    "rate_ratio": "率比",
    "min_count": "最小事件数",
    "lag_days": "滞后天数",
    "days_since_alert": "距最近告警天数",
    "min_sigma": "最小标准差",
    "c2_threshold": "C2 阈值",
    "c3_threshold": "C3 阈值",
    "thresholds": "阈值",
    "table": "四格表",
    "a": "本类本危害数（a）",
    "b": "本类其他危害数（b）",
    "c": "其他类本危害数（c）",
    "d": "其他类其他危害数（d）",
    "c2": "C2 检验（EARS C2）",
    "c3": "C3 检验（EARS C3）",
    "k": "本组事件数（k）",
    "prr_infinite": "比例报告比为无穷大（PRR=∞）",
    "threshold_categories": "达到阈值的品类数",
    "expected_share": "期望占比",
    "observed_share": "观察占比",
    "share": "占比",
    "brands": "品牌数",
    "enterprises": "企业数",
    "province": "省份",
    "parent": "上级品类",
    "by": "细分依据",
    "refinement": "细分",
    "qualifies": "符合条件",
    "first_qualifying_at": "首次符合条件时间",
    "found_at": "发现时间",
    "rule": "判定规则",
}
# The statistics' methods, kept in English in the data, as the page shows them (the method's name in brackets).
METHOD: dict[str, str] = {
    "EARS C2/C3 on daily event counts": "按日事件数的早期异常检测（EARS C2/C3）",
    "exact conditional Poisson rate test, recent window vs baseline window": "近期与基线期事件率的精确条件泊松检验",
    "proportional reporting ratio of the hazard in the category vs all other categories": (
        "本品类该危害与其他品类相比的比例报告比（PRR）"
    ),
    "exact one-sided binomial test of the group's count vs its share of all signals": (
        "本组事件数与其在全部信号中占比的精确单侧二项检验"
    ),
    "exact one-sided binomial test by province": "按省份的精确单侧二项检验",
    "distinct canonical enterprises / brands named in the signals": "信号中提及的不同企业、品牌数",
    "same hazard with the same cause (component/material) across product categories": (
        "跨品类同一危害、同一致因（部件/材料）"
    ),
    "weighted sum of the factors over the total weight": "各因素加权和除以总权重",
    "brand": "品牌",
    "region": "地区",
}
# The immediate-tier rule, kept in English with its threshold in the data.
_IMMEDIATE_RULE = re.compile(r"death, or injury/hospital visit from a hazard of severity ≥ (\d+)")
# Inputs kept with the statistics (raw daily counts, parameters) that the page does not list.
HIDDEN_STATISTICS = frozenset({"daily_events", "inputs", "priority", "as_of"})
# Priority factors added with the candidate statistics, beside those named in riskmine.api.labels.FACTOR.
MORE_FACTORS: dict[str, str] = {
    "priority_product": "重点产品目录",
    "trend": "趋势检验",
    "attention": "社会关注度",
    "circulation": "流通范围",
    "disproportionality": "不相称性（PRR）",
    "other_departments": "其他部门通报",
    "scope": "影响范围",
}
# Factors that are ratios, not shares in [0, 1]: shown as numbers, without a bar.
RATIO_FACTORS = frozenset({"growth_ratio"})
SCOPE: dict[str, str] = SCOPE_LABELS
VERDICT: dict[str, str] = {
    "signal": "发出信号",
    "alert": "告警",
    "no_signal": "未发出信号",
    "none": "无",
    "insufficient_data": "数据不足",
}
MAX_STATISTIC_TEXT = 200


@dataclass(frozen=True)
class FactorRow:
    """One factor of a candidate's priority: its value, and a bar when the value is a share in [0, 1]."""

    name: str
    label: str
    value: float
    bar: Markup | None


def factor_rows(cand: CandidateRisk) -> list[FactorRow]:
    """The priority factors, largest share first; ratios outside [0, 1] are shown as numbers only."""
    rows = []
    for name, value in cand.factors.items():
        v = float(value)
        if not math.isfinite(v):
            continue
        share = 0.0 <= v <= 1.0 and name not in RATIO_FACTORS
        text = FACTOR.get(name) or MORE_FACTORS.get(name, name)
        rows.append(FactorRow(name, text, v, meter(v, label=f"{text} {v:.2f}") if share else None))
    return sorted(rows, key=lambda r: (r.bar is None, -r.value, r.name))


def _show(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, float):
        return f"{value:.4g}" if math.isfinite(value) else str(value)
    if isinstance(value, str):
        rule = _IMMEDIATE_RULE.fullmatch(value)
        if rule:
            text = f"出现死亡，或严重程度≥{rule.group(1)}的危害造成受伤、就医"
        else:
            text = VERDICT.get(value, SCOPE.get(value, METHOD.get(value, value)))
    else:
        text = json.dumps(value, ensure_ascii=False, default=str, sort_keys=True)
    return text if len(text) <= MAX_STATISTIC_TEXT else text[: MAX_STATISTIC_TEXT - 1] + "…"


@dataclass(frozen=True)
class StatisticRow:
    """One statistic of a candidate, its fields as (label, shown value) pairs."""

    name: str
    label: str
    fields: list[tuple[str, str]]
    verdict: str | None = None


MAX_STATISTIC_FIELDS = 40


def _flatten(value: Mapping[str, Any], prefix: str = "", depth: int = 0) -> list[tuple[str, Any]]:
    """(dotted name, value) pairs of a nested statistic, known fields first at each level."""
    known = [k for k in STATISTIC_FIELD if k in value]
    keys = known + sorted((k for k in value if k not in STATISTIC_FIELD), key=str)
    out: list[tuple[str, Any]] = []
    for key in keys:
        name = STATISTIC_FIELD.get(str(key)) or STATISTIC.get(str(key)) or SCOPE.get(str(key), str(key))
        full = f"{prefix} · {name}" if prefix else name
        item = value[key]
        if isinstance(item, Mapping) and depth < 3:
            out.extend(_flatten(item, full, depth + 1))
        else:
            out.append((full, item))
    return out


def _signalled(value: Mapping[str, Any]) -> bool:
    """Whether a statistic (or one nested in it) says it found a signal."""
    if value.get("signal") is True or value.get("verdict") in ("signal", "alert"):
        return True
    return any(isinstance(v, Mapping) and _signalled(v) for v in value.values())


def statistic_rows(statistics: Mapping[str, Any]) -> list[StatisticRow]:
    """The candidate's statistics in a known order (unknown ones after), nested fields flattened and
    labelled, each marked when it signals; empty when there are none."""
    order = list(STATISTIC)
    rows = []
    shown = [n for n in statistics if n not in HIDDEN_STATISTICS]
    for name in sorted(shown, key=lambda n: (order.index(n) if n in order else len(order), str(n))):
        value = statistics[name]
        if isinstance(value, Mapping):
            pairs = _flatten(value)[:MAX_STATISTIC_FIELDS]
            verdict = "signal" if _signalled(value) else None
        else:
            pairs, verdict = [("值", value)], None
        fields = [(k, _show(v)) for k, v in pairs]
        if not fields:
            continue
        rows.append(StatisticRow(str(name), STATISTIC.get(str(name), str(name)), fields, verdict))
    return rows


@dataclass(frozen=True)
class EvidenceRow:
    """One piece of evidence: its record, the excerpt with highlighted hazards, and links to its sources."""

    ev: Evidence
    excerpt: Excerpt | None
    document_url: str
    signal_url: str
    original_url: str | None


def evidence_rows(cand: CandidateRisk, store: Store) -> list[EvidenceRow]:
    """The candidate's evidence, each excerpt taken from its stored signal around the candidate's hazard
    (escaped, hazard spans in <mark>); the snippet alone when the signal is gone."""
    signals = {s.id: s for s in store.get_many(Collection.signals, [ev.signal_id for ev in cand.evidence])}
    rows = []
    for ev in cand.evidence:
        sig: Signal | None = signals.get(ev.signal_id)
        rows.append(
            EvidenceRow(
                ev=ev,
                excerpt=signal_excerpt(sig, focus=cand.hazard) if sig is not None else None,
                document_url=document_url(ev.document_id),
                signal_url=signal_url(ev.signal_id),
                original_url=safe_url(ev.url),
            )
        )
    return rows


def region_bars(cand: CandidateRisk) -> list[Bar]:
    return bars(cand.counts_by_region, limit=15)


@dataclass(frozen=True)
class Neighbour:
    kind: str  # Chinese name of the entity kind
    name: str
    weight: int | None = None


@dataclass
class Neighbourhood:
    """Entities linked to a candidate: from the knowledge graph when it is built, else from the candidate."""

    source: str  # "graph" or "candidate"
    groups: dict[str, list[Neighbour]] = field(default_factory=dict)


KIND: dict[str, str] = NODE_TYPE_LABELS


def _neighbours_from_candidate(cand: CandidateRisk) -> Neighbourhood:
    hood = Neighbourhood("candidate")

    def add(kind: str, names: Iterable[tuple[str, int | None]]) -> None:
        items = [Neighbour(KIND[kind], n, w) for n, w in names if n]
        if items:
            hood.groups[KIND[kind]] = items

    add("category", [(cand.product_category or "", None)])
    add("hazard", [(HAZARD.get(cand.hazard.value, cand.hazard.value), None)] if cand.hazard else [])
    add("brand", [(b, None) for b in cand.brands])
    add("enterprise", [(e, None) for e in cand.enterprises])
    regions = sorted(cand.counts_by_region.items(), key=lambda kv: (-kv[1], kv[0]))
    add("region", [(r, int(n)) for r, n in regions])
    add("population", [(label(p, "population"), None) for p in cand.populations])
    return hood


# Node types listed as a candidate's neighbours, in display order (its own category and hazard are in the header).
NEIGHBOUR_TYPES = ("brand", "enterprise", "shop", "platform", "product", "region", "standard", "population", "source")
MAX_GRAPH_SIGNALS = 200


def neighbourhood(
    cand: CandidateRisk, settings: Any, limit: int = 12, sees: Callable[[str], bool] | None = None
) -> Neighbourhood:
    """The entities the knowledge graph links to the candidate's signals (one hop from each signal node),
    each with the number of the candidate's signals that link to it, most linked first, `limit` per type.
    ``sees`` (a reader whose organisation scope is limited: which sources it sees) restricts the graph to
    what the signals of those sources support (KnowledgeGraph.restricted).

    Falls back to the brands, enterprises, regions and populations recorded on the candidate when the
    graph has not been built or holds none of its signals."""
    try:
        kg = current_graph(settings)
    except Exception:  # an unreadable graph file is reported by the graph API; here the page falls back
        return _neighbours_from_candidate(cand)
    counts: Counter[str] = Counter()
    labels: dict[str, str] = {}
    with graph_lock:
        if sees is not None:
            kg = kg.restricted(sees)
        for sid in cand.signal_ids[:MAX_GRAPH_SIGNALS]:
            centre = graph_node_id("signal", sid)
            if centre not in kg:
                continue
            try:
                found = kg.neighbourhood(centre, depth=1, types=NEIGHBOUR_TYPES, limit=100)
            except GraphError:
                continue
            for node in found.nodes[1:]:
                counts[node["id"]] += 1
                labels[node["id"]] = str(node.get("label", node["id"]))
    if not counts:
        return _neighbours_from_candidate(cand)
    hood = Neighbourhood("graph")
    for kind in NEIGHBOUR_TYPES:
        ids = sorted((n for n in counts if n.split(":", 1)[0] == kind), key=lambda n: (-counts[n], labels[n]))
        if ids:
            hood.groups[KIND.get(kind, kind)] = [
                Neighbour(KIND.get(kind, kind), labels[n], counts[n]) for n in ids[:limit]
            ]
    return hood


@dataclass(frozen=True)
class StationDocument:
    """One document a station submitted and what became of it."""

    doc: RawDocument
    signal: Signal | None
    candidate_ids: list[str]

    @property
    def outcome(self) -> str:
        if self.signal is None:
            return "待处理"
        if self.signal.is_duplicate:
            return "重复"
        if self.signal.noise:
            return "噪声"
        if self.candidate_ids:
            return "已进入候选风险"
        return "风险信号" if self.signal.is_risk else "非风险"


def station_documents(store: Store, source: str, *, limit: int, offset: int) -> tuple[list[StationDocument], int]:
    """A page of the documents submitted under `source`, newest first, with their signal and candidates."""
    page = store.query(
        Collection.documents, filters={"source": source}, sort="time", descending=True, limit=limit, offset=offset
    )
    docs: list[RawDocument] = page.items
    signals = {s.id: s for s in store.get_many(Collection.signals, [d.id for d in docs])}
    rows = []
    for d in docs:
        cands = store.query(Collection.candidates, filters={"signal_id": d.id}, limit=5).items
        rows.append(StationDocument(d, signals.get(d.id), [c.id for c in cands]))
    return rows, page.total


# What each running deadline is (riskmine.review.deadlines.DeadlineKind).
DEADLINE_KIND: dict[str, str] = {
    "major_risk_report": "重大风险 24 小时内报告（及时报告）",
    "objection_window": "异议 15 日内提出",
    "yellow_written_report": "黄色预警处置后 24 小时内书面报告",
}


@dataclass(frozen=True)
class DeadlineView:
    """The deadline running for a candidate, as the page shows it: the time left while it runs, the time
    overdue once passed (days, hours, minutes)."""

    label: str
    due_at: datetime
    overdue: bool
    days: int
    hours: int
    minutes: int


def deadline_view(cand: CandidateRisk, now: datetime | None = None) -> DeadlineView | None:
    """The candidate's current deadline (riskmine.review.deadlines), whether it has passed and by how much,
    or how long is left."""
    found = current_deadline(cand)
    if found is None:
        return None
    moment = now or datetime.now(UTC)
    minutes = int(abs(found.remaining(moment).total_seconds()) // 60)
    days, rest = divmod(minutes, 24 * 60)
    return DeadlineView(
        DEADLINE_KIND.get(found.kind.value, found.kind.value),
        found.due_at,
        found.overdue(moment),
        days,
        rest // 60,
        rest % 60,
    )


# Disposition measures (Sichuan 第二十三条, Shanghai 2022 第9条), from the shared label table.
MEASURE: dict[str, str] = MEASURE_LABELS


def decisions_of(store: Store, candidate_id: str, limit: int = 50) -> list[Any]:
    """The candidate's decisions, newest first."""
    page = store.query(
        Collection.decisions, filters={"candidate_id": candidate_id}, sort="time", descending=True, limit=limit
    )
    return list(page.items)


# Statuses of a station batch (riskmine.feeds.batches).
BATCH_STATUS: dict[str, str] = {
    "received": "处理中",
    "done": "已完成",
    "partial": "部分接收",
    "rejected": "已拒收",
    "failed": "处理失败",
}
