"""Grouping risk signals into candidate risks: one per (product category, hazard).

A pure function over signals: no store access. A signal joins one candidate for
each distinct hazard it mentions (a risk signal with no identified hazard joins the
category's "未明危害" candidate). Members of one duplicate group (syndicated copies,
re-posts) count as one event. Each candidate gets counts by source type, region and
ISO week, its brands, enterprises and exposed populations, ranked evidence, a first
priority score with its factors, a tier and a suggested risk level and warning colour.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from riskmine.knowledge_graph.evidence import as_china_time, evidence_score, make_evidence
from riskmine.knowledge_graph.hazards import harm_gravity, hazard_label
from riskmine.knowledge_graph.priority import (
    PriorityConfig,
    events_factor,
    growth_factor,
    growth_ratio,
    harm_factor,
    most_severe_color,
    most_severe_level,
    qualifies_immediate,
    severity_factor,
    source_diversity_factor,
    vulnerable_factor,
    weighted_priority,
)
from riskmine.schema import CandidateRisk, Evidence, HarmKind, HazardType, Population, Signal, Tier, stable_id

UNCATEGORISED = "未分类产品"
UNKNOWN_REGION = "未知"
_TIER_ORDER = {Tier.immediate: 0, Tier.review: 1, Tier.watch: 2}

GroupKey = tuple[str | None, HazardType | None]


@dataclass
class Event:
    """One distinct event in a candidate: the members of one duplicate group (or a lone signal)."""

    key: str
    members: list[Signal]

    @property
    def harms(self) -> frozenset[HarmKind]:
        return frozenset(h for s in self.members for h in s.harm)

    @property
    def harm_occurred(self) -> bool:
        return any(s.harm_occurred or s.harm for s in self.members)

    @property
    def first_seen(self) -> datetime:
        return min((s.when for s in self.members), key=as_china_time)


def candidate_key(category: str | None, hazard: HazardType | None) -> str:
    """The grouping key, e.g. "充电宝|fire"; an empty side stands for no category / no hazard."""
    return f"{category or ''}|{hazard.value if hazard is not None else ''}"


def candidate_id(key: str) -> str:
    return stable_id(key, prefix="c")


def is_candidate_signal(signal: Signal) -> bool:
    """A risk signal that noise filtering kept (weight above 0)."""
    return signal.is_risk and signal.weight > 0


def group_signals(signals: Iterable[Signal]) -> dict[GroupKey, list[Signal]]:
    """Risk signals by (product category, hazard), each signal once per distinct hazard it mentions."""
    groups: dict[GroupKey, list[Signal]] = {}
    seen: set[tuple[GroupKey, str]] = set()
    for signal in signals:
        if not is_candidate_signal(signal):
            continue
        hazards: list[HazardType | None] = list(signal.hazard_codes) or [None]
        for hazard in hazards:
            key = (signal.product_category, hazard)
            if (key, signal.id) in seen:
                continue
            seen.add((key, signal.id))
            groups.setdefault(key, []).append(signal)
    return groups


def split_events(members: Sequence[Signal]) -> list[Event]:
    """Members grouped by duplicate group, in order of first appearance."""
    events: dict[str, Event] = {}
    for signal in members:
        key = signal.duplicate_group or signal.id
        events.setdefault(key, Event(key, [])).members.append(signal)
    return list(events.values())


def build_candidates(
    signals: Iterable[Signal],
    *,
    now: datetime | None = None,
    min_signals: int = 2,
    evidence_limit: int = 20,
    config: PriorityConfig | None = None,
) -> list[CandidateRisk]:
    """Candidate risks from the given signals, immediate tier first, then by priority.

    `now` anchors recency and growth; by default the latest signal's time, so the
    result depends on the signals alone. A group with fewer than `min_signals`
    signals is left out unless it qualifies for the immediate tier: a single report
    of death or injury still reaches analysts.
    """
    if min_signals < 1:
        raise ValueError(f"min_signals must be at least 1, got {min_signals}")
    if evidence_limit < 0:
        raise ValueError(f"evidence_limit must be 0 or more, got {evidence_limit}")
    cfg = config or PriorityConfig()
    if cfg.review_top_n < 0:
        raise ValueError(f"review_top_n must be 0 or more, got {cfg.review_top_n}")
    groups = group_signals(signals)
    if not groups:
        return []
    if now is None:
        now = max((s.when for members in groups.values() for s in members), key=as_china_time)

    candidates: list[CandidateRisk] = []
    for (category, hazard), members in groups.items():
        events = split_events(members)
        immediate = qualifies_immediate(hazard, [e.harms for e in events], cfg.immediate_min_severity)
        if len(members) < min_signals and not immediate:
            continue
        candidate = _build_one(category, hazard, members, events, now, evidence_limit, cfg)
        if immediate:
            candidate.tier = Tier.immediate
        candidates.append(candidate)
    return assign_tiers(candidates, cfg.review_top_n)


def assign_tiers(candidates: list[CandidateRisk], review_top_n: int) -> list[CandidateRisk]:
    """Keep immediate ones; the top `review_top_n` of the rest by priority go to review, others to watch.

    Returns the candidates sorted by tier, then priority (highest first), then key.
    """
    ranked = sorted(candidates, key=lambda c: (-c.priority, c.key))
    budget = review_top_n
    for candidate in ranked:
        if candidate.tier == Tier.immediate:
            continue
        candidate.tier = Tier.review if budget > 0 else Tier.watch
        budget -= 1
    return sorted(ranked, key=lambda c: (_TIER_ORDER[c.tier], -c.priority, c.key))


def candidates_by_key(candidates: Iterable[CandidateRisk]) -> dict[str, CandidateRisk]:
    """Candidates indexed by their grouping key (the last one wins if a key repeats)."""
    return {c.key: c for c in candidates}


def _build_one(
    category: str | None,
    hazard: HazardType | None,
    members: list[Signal],
    events: list[Event],
    now: datetime,
    evidence_limit: int,
    cfg: PriorityConfig,
) -> CandidateRisk:
    key = candidate_key(category, hazard)
    members = sorted(members, key=lambda s: (as_china_time(s.when), s.id))
    harm_events = [e for e in events if e.harm_occurred]
    populations = sorted({p for s in members for p in s.populations}, key=list(Population).index)
    source_types = Counter(s.document.source_type.value for s in members)

    factors = {
        "severity": severity_factor(hazard, [e.harms for e in events]),
        "harm": harm_factor([harm_gravity(e.harms, e.harm_occurred) for e in events]),
        "events": events_factor(len(events)),
        "source_diversity": source_diversity_factor(len(source_types)),
        "vulnerable": vulnerable_factor(populations),
    }
    ratio = growth_ratio([e.first_seen for e in events], now)
    factors["growth"] = growth_factor(ratio)
    factors = {name: round(value, 4) for name, value in factors.items()}
    factors["growth_ratio"] = round(ratio, 4)  # recorded, not weighed

    return CandidateRisk(
        id=candidate_id(key),
        key=key,
        title=f"{category or UNCATEGORISED} · {hazard_label(hazard)} · {len(members)} 条信号",
        product_category=category,
        hazard=hazard,
        signal_ids=[s.id for s in members],
        evidence=_rank_evidence(events, hazard, now, evidence_limit),
        signal_count=len(members),
        event_count=len(events),
        counts_by_source_type=_ordered_counts(source_types),
        counts_by_region=_ordered_counts(Counter(p for s in members for p in provinces(s))),
        counts_by_week=dict(sorted(Counter(iso_week(s.when) for s in members).items())),
        first_seen=members[0].when,
        last_seen=max((s.when for s in members), key=as_china_time),
        brands=_organisations(members, "brand"),
        enterprises=_organisations(members, "enterprise"),
        populations=populations,
        harm_count=len(harm_events),
        priority=weighted_priority(factors, cfg.weights),
        factors=factors,
        risk_level=most_severe_level([s.risk_level for s in members], raise_one=bool(harm_events)),
        warning_color=most_severe_color([s.warning_color for s in members], raise_one=bool(harm_events)),
        created_at=now,
        updated_at=now,
    )


def _rank_evidence(events: list[Event], hazard: HazardType | None, now: datetime, limit: int) -> list[Evidence]:
    """One representative per event (its most informative member), best first."""
    scored = []
    for event in events:
        ranked = sorted(
            ((evidence_score(s, now), s) for s in event.members),
            key=lambda pair: (-pair[0], as_china_time(pair[1].when), pair[1].id),
        )
        score, representative = ranked[0]
        scored.append((score, representative, len(event.members) - 1))
    scored.sort(key=lambda item: (-item[0], -as_china_time(item[1].when).timestamp(), item[1].id))
    return [make_evidence(s, hazard, score, dups) for score, s, dups in scored[:limit]]


def provinces(signal: Signal) -> list[str]:
    """Distinct province names the signal mentions, or ["未知"]."""
    names: dict[str, None] = {}
    for region in signal.regions:
        name = region.province or (region.name if region.level == "province" else None)
        if name:
            names.setdefault(name, None)
    return list(names) or [UNKNOWN_REGION]


def iso_week(when: datetime) -> str:
    """ISO week key of a time in China Standard Time, e.g. "2026-W07"."""
    year, week, _ = as_china_time(when).isocalendar()
    return f"{year}-W{week:02d}"


def _ordered_counts(counts: Counter[str]) -> dict[str, int]:
    return dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))


def _organisations(members: Sequence[Signal], kind: str) -> list[str]:
    """Names of the given kind, most often mentioned (counting each signal once) first."""
    counts: Counter[str] = Counter()
    for signal in members:
        counts.update({o.name for o in signal.organisations if o.kind == kind and o.name})
    return [name for name, _ in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))]
