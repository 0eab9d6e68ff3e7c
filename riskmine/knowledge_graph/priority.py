"""A candidate risk's priority: named factors in [0, 1], weighed into one score.

Each factor is computed from the candidate's signals by a small function; the
priority is the weighted sum of the factors named in the weights. Statistics added
later (EARS, PRR, scope) add factors to the dict and a weight here; a factor with
no weight is recorded for the analyst but does not move the score.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from riskmine.knowledge_graph.evidence import as_china_time
from riskmine.knowledge_graph.hazards import HIGH_SEVERITY, MAX_SEVERITY, severity
from riskmine.schema import HarmKind, HazardType, Population, RiskLevel, WarningColor

DEFAULT_WEIGHTS: dict[str, float] = {
    "severity": 0.20,
    "harm": 0.20,
    "events": 0.25,
    "growth": 0.15,  # early discovery: a rising story should outrank a steady one of the same size
    "source_diversity": 0.10,
    "vulnerable": 0.10,
}
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
    weights: Mapping[str, float] = field(default_factory=lambda: dict(DEFAULT_WEIGHTS))
    review_top_n: int = 20  # candidates (beyond the immediate ones) sent to analysts for review
    immediate_min_severity: int = HIGH_SEVERITY


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
