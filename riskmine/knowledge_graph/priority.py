"""A candidate risk's priority: named factors in [0, 1], weighed into one score.

Each factor is computed from the candidate's signals or statistics by a small
function; the priority is the weighted sum of the factors named in the weights over
the total weight. The factors follow the priority criteria of the seeds (Sichuan
第十条, Shanxi 二.(四)1): serious harm (severity, harm), a rising trend (growth, trend),
wide circulation (circulation), industry-wide / regional / systemic problems (scope,
disproportionality), high public attention (attention), products the government
prioritises (priority_product), problems notified by other departments
(other_departments), and the exposed population (vulnerable). A factor with no weight
is recorded for the analyst but does not move the score.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from riskmine.knowledge_graph.evidence import as_china_time
from riskmine.knowledge_graph.hazards import HIGH_SEVERITY, MAX_SEVERITY, severity
from riskmine.schema import DispositionMeasure, HarmKind, HazardType, Population, RiskLevel, WarningColor
from riskmine.settings import Settings

DEFAULT_WEIGHTS: dict[str, float] = {
    "severity": 0.14,
    "harm": 0.12,
    "events": 0.16,
    "growth": 0.06,
    "trend": 0.12,  # early discovery: a statistically rising story outranks a steady one of the same size
    "scope": 0.08,
    "disproportionality": 0.05,
    "circulation": 0.04,
    "attention": 0.05,
    "priority_product": 0.07,
    "other_departments": 0.05,
    "source_diversity": 0.03,
    "vulnerable": 0.06,
}
# Meta keys of documents that carry review counts or sales (station forms: 评论数, 差评数, 销量).
CIRCULATION_META_KEYS = ("review_count", "comment_count", "reviews", "sales", "sales_volume", "评论数", "销量")
CIRCULATION_SATURATION = 1_000_000  # reviews or sales giving the full circulation factor
OUTLETS_SATURATION = 5  # distinct news outlets giving the full outlet part of attention
SPREAD_SATURATION = 10  # copies of one story giving the full spread part of attention
DEPARTMENT_NOTICES_SATURATION = 2  # notices from other departments giving the full factor
POPULATION_WEIGHT: dict[Population, float] = {
    Population.infants: 1.0,
    Population.children: 1.0,
    Population.pregnant: 0.9,
    Population.elderly: 0.8,
}
INJURY_HARM = frozenset({HarmKind.injury, HarmKind.hospital})
EVENTS_SATURATION = 50  # this many distinct events give the full volume factor
RECENT_WEEKS = 4
BASELINE_WEEKS = 8
GROWTH_SATURATION = 4.0  # a weekly rate this many times the baseline gives the full growth factor
SOURCE_TYPES_SATURATION = 4  # this many distinct source types give the full diversity factor

_LEVEL_ORDER = [RiskLevel.low, RiskLevel.medium, RiskLevel.high]
_COLOR_ORDER = [WarningColor.green, WarningColor.yellow, WarningColor.orange, WarningColor.red]


@dataclass(frozen=True)
class PriorityConfig:
    """How candidates are scored, scoped, refined and tiered (riskmine.settings fills it from RISKMINE_*)."""

    weights: Mapping[str, float] = field(default_factory=lambda: dict(DEFAULT_WEIGHTS))
    review_top_n: int = 20  # candidates (beyond the immediate ones) sent to analysts for review per period
    review_period_days: int = 14  # only candidates with signals in this many days before `now` compete for review
    review_min_priority: float = 0.2  # below this a candidate is not worth an analyst's time, budget or not
    immediate_min_severity: int = HIGH_SEVERITY
    immediate_deadline_hours: int = 24
    industry_min_organisations: int = 3  # distinct canonical enterprises/brands that make a risk industry-wide
    systemic_min_categories: int = 2
    refine_min_events: int = 3  # a brand or province sub-candidate needs this many events …
    refine_min_share: float = 0.5  # … and at least this share of the parent's events


def trend_factor(trend: Mapping[str, object]) -> float:
    """1 when EARS or the Poisson test signals; else up to 0.5 by how small the Poisson p-value is."""
    if trend.get("rising"):
        return 1.0
    poisson = trend.get("poisson")
    p = float(poisson.get("p_value", 1.0)) if isinstance(poisson, Mapping) else 1.0
    return min(0.5, max(0.0, -math.log10(max(p, 1e-12))) / 4)


def scope_factor(scope: Sequence[str]) -> float:
    """One third for each scope flag (industry-wide, regional, systemic)."""
    return min(1.0, len(set(scope)) / 3)


def circulation_factor(counts: Sequence[float]) -> float:
    """The largest review count or sales figure known, on a log scale (1 at CIRCULATION_SATURATION)."""
    top = max((c for c in counts if c > 0), default=0.0)
    return min(1.0, math.log10(1 + top) / math.log10(1 + CIRCULATION_SATURATION))


def attention_factor(news_outlets: int, largest_spread: int) -> float:
    """Public attention: half from distinct news outlets, half from the largest duplicate group (copies)."""
    outlets = min(1.0, news_outlets / OUTLETS_SATURATION)
    spread = min(1.0, math.log1p(max(0, largest_spread - 1)) / math.log1p(SPREAD_SATURATION))
    return 0.5 * outlets + 0.5 * spread


def other_departments_factor(notices: int) -> float:
    """Government notices, recalls and spot-check results about the candidate (1 from 2 on)."""
    return min(1.0, notices / DEPARTMENT_NOTICES_SATURATION)


def severity_factor(hazard: HazardType | None, event_harms: Sequence[frozenset[HarmKind]]) -> float:
    """The hazard's severity class over 4, at the upper end of its range if any event reports a hospital visit."""
    hospital = any(HarmKind.hospital in h for h in event_harms)
    return severity(hazard, hospital=hospital) / MAX_SEVERITY


def harm_factor(grades: Sequence[float]) -> float:
    """From each event's harm gravity: the gravest, plus 0.1 for each further event reporting harm (at most 1)."""
    reported = [g for g in grades if g > 0]
    if not reported:
        return 0.0
    return min(1.0, max(reported) + 0.1 * (len(reported) - 1))


def events_factor(event_count: int) -> float:
    """Volume on a log scale: 1 event ≈ 0.18, 10 ≈ 0.61, 50 or more = 1."""
    return min(1.0, math.log1p(event_count) / math.log1p(EVENTS_SATURATION))


def growth_ratio(event_times: Sequence[datetime], now: datetime) -> float:
    """Weekly event rate over the last 4 weeks over that of the 8 weeks before (add-one smoothed)."""
    now_local = as_china_time(now)
    recent_start = now_local - timedelta(weeks=RECENT_WEEKS)
    base_start = recent_start - timedelta(weeks=BASELINE_WEEKS)
    recent = base = 0
    for t in event_times:
        local = as_china_time(t)
        if recent_start < local <= now_local:
            recent += 1
        elif base_start < local <= recent_start:
            base += 1
    return (recent / RECENT_WEEKS + 1) / (base / BASELINE_WEEKS + 1)


def growth_factor(ratio: float) -> float:
    """0 for flat or falling counts, 1 at GROWTH_SATURATION times the baseline rate."""
    if ratio <= 1.0:
        return 0.0
    return min(1.0, math.log(ratio) / math.log(GROWTH_SATURATION))


def source_diversity_factor(source_types: int) -> float:
    """0 for one source type, 1 from SOURCE_TYPES_SATURATION types on."""
    if source_types <= 1:
        return 0.0
    return min(1.0, (source_types - 1) / (SOURCE_TYPES_SATURATION - 1))


def vulnerable_factor(populations: Sequence[Population]) -> float:
    return max((POPULATION_WEIGHT.get(p, 0.0) for p in populations), default=0.0)


def weighted_priority(factors: Mapping[str, float], weights: Mapping[str, float]) -> float:
    """Weighted sum of the factors named in `weights`, divided by the total weight."""
    total = sum(weights.values())
    if total <= 0:
        raise ValueError("priority weights must sum to more than 0")
    return round(sum(w * factors.get(name, 0.0) for name, w in weights.items()) / total, 4)


def qualifies_immediate(hazard: HazardType | None, harms: Sequence[frozenset[HarmKind]], min_severity: int) -> bool:
    """A death reported, or an injury or hospital visit from a hazard whose severity reaches `min_severity`.

    Severity is judged per event, with the hospital upgrade where that event reports one
    (choking is class 3, class 4 once a child needed hospital care).
    """
    for h in harms:
        if HarmKind.death in h:
            return True
        if h & INJURY_HARM and severity(hazard, hospital=HarmKind.hospital in h) >= min_severity:
            return True
    return False


def most_severe_level(levels: Sequence[RiskLevel | None], raise_one: bool) -> RiskLevel | None:
    """The highest level given, one step higher when `raise_one` (harm occurred); None if none given."""
    ranks = [_LEVEL_ORDER.index(lv) for lv in levels if lv is not None]
    if not ranks:
        return None
    rank = max(ranks) + (1 if raise_one else 0)
    return _LEVEL_ORDER[min(rank, len(_LEVEL_ORDER) - 1)]


def most_severe_color(colors: Sequence[WarningColor | None], raise_one: bool) -> WarningColor | None:
    """The most urgent colour given, one step more urgent when `raise_one`; None if none given."""
    ranks = [_COLOR_ORDER.index(c) for c in colors if c is not None]
    if not ranks:
        return None
    rank = max(ranks) + (1 if raise_one else 0)
    return _COLOR_ORDER[min(rank, len(_COLOR_ORDER) - 1)]


def suggest_measures(
    *,
    risk_level: RiskLevel | None,
    immediate: bool,
    scope: Sequence[str],
    has_enterprise: bool,
    source_types: Mapping[str, int],
    rising: bool,
) -> list[DispositionMeasure]:
    """Disposition measures to suggest, from the seeds' lists (Sichuan 第二十三条, Shanghai 2022 第9条).

    High risk or the immediate tier: internal bulletin, spot check, enforcement inspection,
    consumer advisory, and with a named enterprise a summons and recall advice; medium:
    spot check and consumer advisory; low: consumer advisory only when rising.
    Industry-wide adds an industry warning and a special campaign, regional a special
    campaign, systemic a standard-revision proposal; a failed spot check or a recall in
    the evidence adds the transfer of the case lead to enforcement.
    """
    measures: list[DispositionMeasure] = []
    high = immediate or risk_level == RiskLevel.high
    if high:
        measures += [
            DispositionMeasure.internal_bulletin,
            DispositionMeasure.spot_check,
            DispositionMeasure.enforcement_inspection,
            DispositionMeasure.consumer_advisory,
        ]
        if has_enterprise:
            measures += [DispositionMeasure.summons, DispositionMeasure.recall_advice]
    elif risk_level == RiskLevel.medium or rising:
        measures += [DispositionMeasure.spot_check, DispositionMeasure.consumer_advisory]
    if "industry_wide" in scope:
        measures += [DispositionMeasure.industry_warning, DispositionMeasure.special_campaign]
    if "regional" in scope:
        measures.append(DispositionMeasure.special_campaign)
    if "systemic" in scope:
        measures.append(DispositionMeasure.standard_revision)
    if source_types.get("spot_check") or source_types.get("recall"):
        measures.append(DispositionMeasure.clue_transfer)
    return list(dict.fromkeys(measures))


def config_from_settings(settings: Settings) -> PriorityConfig:
    """The priority configuration with the analysts' budget and scope thresholds from RISKMINE_* settings."""
    return PriorityConfig(
        review_top_n=settings.candidate_review_top_n,
        review_period_days=settings.candidate_review_period_days,
        review_min_priority=settings.candidate_review_min_priority,
        industry_min_organisations=settings.candidate_industry_min_organisations,
    )
