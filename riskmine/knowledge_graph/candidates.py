"""Grouping risk signals into candidate risks: one per (product category, hazard), refined by brand and region.

Pure functions over signals: no store access. A signal joins one candidate for
each distinct hazard it mentions (a risk signal with no identified hazard joins the
category's "未明危害" candidate). Members of one duplicate group (syndicated copies,
re-posts) count as one event. Where one brand or one province holds most of a
group's events (and enough of them), a sub-candidate for it is built besides the
parent (key ``充电宝|fire|brand:极充`` or ``充电宝|fire|region:广东省``).

Building happens in two steps so that a refresh can redo only what changed:

1. :func:`build_core` — everything that depends on the candidate's own signals:
   counts by source type, region and week, canonical brands and enterprises, ranked
   evidence, the signal-based priority factors, daily event counts and causes named
   (kept in ``statistics`` for step 2);
2. :func:`finalise` — everything that depends on the time and on the other
   candidates: trend tests, PRR, scope flags, growth, priority, suggested level,
   colour and measures, tiers. It needs only the candidates, so stored candidates
   whose signals did not change go through it without reading their signals again.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import cached_property, lru_cache
from typing import Any

from riskmine.knowledge_graph.entities import EntityError, canonical_key, display_name
from riskmine.knowledge_graph.evidence import as_china_time, evidence_score, make_evidence, signal_text
from riskmine.knowledge_graph.hazards import harm_gravity, hazard_label
from riskmine.knowledge_graph.priority import (
    CIRCULATION_META_KEYS,
    PriorityConfig,
    attention_factor,
    circulation_factor,
    events_factor,
    growth_factor,
    growth_ratio,
    harm_factor,
    most_severe_color,
    most_severe_level,
    other_departments_factor,
    qualifies_immediate,
    scope_factor,
    severity_factor,
    source_diversity_factor,
    suggest_measures,
    trend_factor,
    vulnerable_factor,
    weighted_priority,
)
from riskmine.knowledge_graph.scope import (
    INDUSTRY_WIDE,
    REGIONAL,
    SYSTEMIC,
    Landscape,
    causes_in,
    industry_wide_test,
    priority_product_match,
)
from riskmine.knowledge_graph.statistics import china_date, trend_statistics
from riskmine.schema import (
    CandidateRisk,
    CandidateStatus,
    Evidence,
    HarmKind,
    HazardType,
    Population,
    Signal,
    SourceType,
    Tier,
)
from riskmine.schema.records import stable_id, utcnow

UNCATEGORISED = "未分类产品"
UNKNOWN_REGION = "未知"
_TIER_ORDER = {Tier.immediate: 0, Tier.review: 1, Tier.watch: 2}
DEPARTMENT_SOURCES = frozenset({SourceType.government_notice, SourceType.recall, SourceType.spot_check})
# Review states that still need an analyst's attention: only these compete for the review budget.
OPEN_STATUSES = frozenset({CandidateStatus.new, CandidateStatus.in_review})

GroupKey = tuple[str | None, HazardType | None]


@dataclass
class Event:
    """One distinct event in a candidate: the members of one duplicate group (or a lone signal)."""

    key: str
    members: list[Signal]

    # computed once, when first asked for (the members are all in by then: split_events builds an event whole)
    @cached_property
    def harms(self) -> frozenset[HarmKind]:
        return frozenset(h for s in self.members for h in s.harm)

    @cached_property
    def harm_occurred(self) -> bool:
        return any(s.harm_occurred or s.harm for s in self.members)

    @cached_property
    def first_seen(self) -> datetime:
        return min((s.when for s in self.members), key=as_china_time)


def candidate_key(category: str | None, hazard: HazardType | None) -> str:
    """The grouping key, e.g. "充电宝|fire"; an empty side stands for no category / no hazard."""
    return f"{category or ''}|{hazard.value if hazard is not None else ''}"


def parent_key(key: str) -> str:
    """The (category, hazard) key of a candidate key: itself for a parent, the first two parts for a sub-candidate."""
    return "|".join(key.split("|")[:2])


def candidate_id(key: str) -> str:
    return stable_id(key, prefix="c")


def is_candidate_signal(signal: Signal) -> bool:
    """A risk signal that noise filtering kept (weight above 0)."""
    return signal.is_risk and signal.weight > 0


def signal_keys(signal: Signal) -> list[str]:
    """The parent candidate keys a signal belongs to (none for a signal that is not a candidate signal)."""
    if not is_candidate_signal(signal):
        return []
    hazards: list[HazardType | None] = list(signal.hazard_codes) or [None]
    return list(dict.fromkeys(candidate_key(signal.product_category, h) for h in hazards))


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


def _check_arguments(min_signals: int, evidence_limit: int, cfg: PriorityConfig) -> None:
    if min_signals < 1:
        raise ValueError(f"min_signals must be at least 1, got {min_signals}")
    if evidence_limit < 0:
        raise ValueError(f"evidence_limit must be 0 or more, got {evidence_limit}")
    if cfg.review_top_n < 0:
        raise ValueError(f"review_top_n must be 0 or more, got {cfg.review_top_n}")
    if not 0 < cfg.refine_min_share <= 1:
        raise ValueError(f"refine_min_share must be in (0, 1], got {cfg.refine_min_share}")


def build_candidates(
    signals: Iterable[Signal],
    *,
    now: datetime | None = None,
    min_signals: int = 2,
    evidence_limit: int = 20,
    config: PriorityConfig | None = None,
) -> list[CandidateRisk]:
    """Candidate risks from the given signals, immediate tier first, then by priority.

    `now` anchors recency, trend and growth and is when the candidates are created; by default the
    clock, never the signals' own times (one document dated 9999 would otherwise be "now"). A group
    with fewer than `min_signals` distinct events (a duplicate group counts once, so one story copied across many
    sites is one event) is left out unless it qualifies for the immediate tier: a
    single report of death or injury still reaches analysts.
    """
    cfg = config or PriorityConfig()
    _check_arguments(min_signals, evidence_limit, cfg)
    groups = group_signals(signals)
    if not groups:
        return []
    if now is None:
        now = utcnow()
    cores = build_cores(groups, now=now, min_signals=min_signals, evidence_limit=evidence_limit, config=cfg)
    return finalise(cores, now=now, config=cfg)


def build_cores(
    groups: dict[GroupKey, list[Signal]],
    *,
    now: datetime,
    min_signals: int = 2,
    evidence_limit: int = 20,
    config: PriorityConfig | None = None,
) -> list[CandidateRisk]:
    """Step 1 for each group: the parent candidate and its brand / region sub-candidates (not yet finalised)."""
    cfg = config or PriorityConfig()
    _check_arguments(min_signals, evidence_limit, cfg)
    out: list[CandidateRisk] = []
    for (category, hazard), members in groups.items():
        events = split_events(members)
        immediate = qualifies_immediate(hazard, [e.harms for e in events], cfg.immediate_min_severity)
        if len(events) < min_signals and not immediate:
            continue
        parent = build_core(category, hazard, members, now=now, evidence_limit=evidence_limit, config=cfg)
        out.append(parent)
        for by, value, sub_members, share in refinements(events, cfg):
            sub = build_core(
                category,
                hazard,
                sub_members,
                now=now,
                evidence_limit=evidence_limit,
                config=cfg,
                refinement={"parent": parent.key, "by": by, "value": value, "share": round(share, 4)},
            )
            out.append(sub)
    return out


def _event_brands(event: Event) -> set[str]:
    return {k for s in event.members for k, _ in _canonical_orgs(s, "brand")}


def _event_provinces(event: Event) -> set[str]:
    return {p for s in event.members for p in provinces(s) if p != UNKNOWN_REGION}


def refinements(events: Sequence[Event], cfg: PriorityConfig) -> list[tuple[str, str, list[Signal], float]]:
    """Sub-candidates the data supports: (by, value, members, share of events) for the dominant brand and province.

    A brand or province is dominant when it holds at least `refine_min_events` events and at
    least `refine_min_share` of the group's events, but not all of them (then the parent says it).
    """
    out = []
    total = len(events)
    for by, of in (("brand", _event_brands), ("region", _event_provinces)):
        per_event = [of(e) for e in events]
        counts = Counter(v for values in per_event for v in values)
        if not counts:
            continue
        value, n = min(counts.items(), key=lambda kv: (-kv[1], kv[0]))
        share = n / total
        if n >= cfg.refine_min_events and share >= cfg.refine_min_share and n < total:
            members = [s for e, values in zip(events, per_event, strict=True) if value in values for s in e.members]
            out.append((by, value, members, share))
    return out


def build_core(
    category: str | None,
    hazard: HazardType | None,
    members: list[Signal],
    *,
    now: datetime,
    evidence_limit: int = 20,
    config: PriorityConfig | None = None,
    refinement: dict[str, Any] | None = None,
) -> CandidateRisk:
    """A candidate's signal-based part: counts, entities, evidence, signal-based factors and raw statistics."""
    cfg = config or PriorityConfig()
    key = candidate_key(category, hazard)
    label = category or UNCATEGORISED
    title_parts = [label, hazard_label(hazard)]
    if refinement is not None:
        key = f"{key}|{refinement['by']}:{refinement['value']}"
        title_parts.append(str(refinement["value"]))
    members = sorted(members, key=lambda s: (as_china_time(s.when), s.id))
    events = split_events(members)
    harm_events = [e for e in events if e.harm_occurred]
    populations = sorted({p for s in members for p in s.populations}, key=list(Population).index)
    source_types = Counter(s.document.source_type.value for s in members)
    brands, brand_keys = _organisations(members, "brand")
    enterprises, enterprise_keys = _organisations(members, "enterprise")
    news_outlets = len({s.document.source for s in members if s.document.source_type == SourceType.news})
    largest_spread = max(len(e.members) for e in events)
    department_notices = sum(1 for e in events if any(s.document.source_type in DEPARTMENT_SOURCES for s in e.members))
    circulation = _circulation(members)
    product = priority_product_match([category, *{t for s in members for t in s.product_terms}])
    cause_counts = Counter(c for s in members for c in causes_in(signal_text(s)))
    immediate_at = _first_qualifying(hazard, events, cfg)
    found_at = _first_qualifying(hazard, events, cfg, moment=_received_at) if immediate_at is not None else None

    factors = {
        "severity": severity_factor(hazard, [e.harms for e in events]),
        "harm": harm_factor([harm_gravity(e.harms, e.harm_occurred) for e in events]),
        "events": events_factor(len(events)),
        "source_diversity": source_diversity_factor(len(source_types)),
        "vulnerable": vulnerable_factor(populations),
        "circulation": circulation_factor([circulation] if circulation else []),
        "attention": attention_factor(news_outlets, largest_spread),
        "priority_product": float(product["weight"]),
        "other_departments": other_departments_factor(department_notices),
    }
    statistics: dict[str, Any] = {
        "daily_events": dict(sorted(Counter(china_date(e.first_seen).isoformat() for e in events).items())),
        "causes": dict(sorted(cause_counts.items(), key=lambda kv: (-kv[1], kv[0]))),
        "inputs": {
            "news_outlets": news_outlets,
            "largest_spread": largest_spread,
            "department_notices": department_notices,
            "circulation": circulation,
            "priority_product": product,
            "canonical_brands": brand_keys,
            "canonical_enterprises": enterprise_keys,
        },
        "immediate": {
            "qualifies": immediate_at is not None,
            "first_qualifying_at": immediate_at.isoformat() if immediate_at else None,
            "found_at": found_at.isoformat() if found_at else None,
            "rule": f"death, or injury/hospital visit from a hazard of severity ≥ {cfg.immediate_min_severity}",
        },
    }
    if refinement is not None:
        statistics["refinement"] = refinement
    title_parts.append(f"{len(members)} 条信号")
    return CandidateRisk(
        id=candidate_id(key),
        key=key,
        title=" · ".join(title_parts),
        product_category=category,
        hazard=hazard,
        signal_ids=[s.id for s in members],
        evidence=_rank_evidence(events, hazard, now, evidence_limit),
        signal_count=len(members),
        event_count=len(events),
        counts_by_source_type=_ordered_counts(source_types),
        counts_by_region=_ordered_counts(Counter(p for s in members for p in provinces(s))),
        places=list(_ordered_counts(Counter(p for s in members for p in places(s)))),
        counts_by_week=dict(sorted(Counter(iso_week(s.when) for s in members).items())),
        first_seen=members[0].when,
        last_seen=max((s.when for s in members), key=as_china_time),
        brands=brands,
        enterprises=enterprises,
        populations=populations,
        harm_count=len(harm_events),
        factors={name: round(value, 4) for name, value in factors.items()},
        risk_level=most_severe_level([s.risk_level for s in members], raise_one=bool(harm_events)),
        warning_color=most_severe_color([s.warning_color for s in members], raise_one=bool(harm_events)),
        statistics=statistics,
        tier=Tier.immediate if immediate_at is not None else Tier.watch,
        due_at=_deadline(found_at, cfg.immediate_deadline_hours) if found_at is not None else None,
        created_at=now,
        updated_at=now,
    )


def _deadline(found_at: datetime, hours: int) -> datetime:
    """`hours` after `found_at`; a time too late for that (a stored placeholder such as 9999-12-31) is its own."""
    try:
        return found_at + timedelta(hours=hours)
    except OverflowError:
        return found_at


def _received_at(signal: Signal) -> datetime:
    """When riskmine held the signal: its date, or its collection when that came later (a report published
    before it reached riskmine is found when it arrives: the 24 hours of Sichuan 第十九条 run from then)."""
    return max(signal.when, signal.document.collected_at, key=as_china_time)


def _first_qualifying(
    hazard: HazardType | None,
    events: Sequence[Event],
    cfg: PriorityConfig,
    moment: Callable[[Signal], datetime] = lambda s: s.when,
) -> datetime | None:
    """The earliest `moment` (default: the date) of a signal that alone puts the candidate in the immediate tier,
    else of an event whose members together do; None if none does."""
    times = [
        moment(s)
        for e in events
        for s in e.members
        if qualifies_immediate(hazard, [frozenset(s.harm)], cfg.immediate_min_severity)
    ]
    if not times:
        times = [
            min((moment(s) for s in e.members), key=as_china_time)
            for e in events
            if qualifies_immediate(hazard, [e.harms], cfg.immediate_min_severity)
        ]
    return min(times, key=as_china_time) if times else None


def _circulation(members: Sequence[Signal]) -> float:
    """The largest review count or sales figure any member's document meta gives (0 when none)."""
    best = 0.0
    for s in members:
        for name in CIRCULATION_META_KEYS:
            value = s.document.meta.get(name)
            try:
                number = float(value) if value is not None and not isinstance(value, bool) else 0.0
            except (TypeError, ValueError):
                continue
            if number == number and number > best:  # NaN never wins
                best = number
    return best


def finalise(
    candidates: list[CandidateRisk],
    *,
    now: datetime,
    config: PriorityConfig | None = None,
) -> list[CandidateRisk]:
    """Step 2: time- and context-dependent statistics, scope, priority, suggestions and tiers (in place).

    Returns the candidates sorted by tier, then priority (highest first), then key.
    """
    cfg = config or PriorityConfig()
    landscape = Landscape.from_candidates(c for c in candidates if parent_key(c.key) == c.key)
    today = china_date(now)
    for cand in candidates:
        _finalise_one(cand, landscape, today, now, cfg)
    return assign_tiers(
        candidates,
        cfg.review_top_n,
        now=now,
        period_days=cfg.review_period_days,
        min_priority=cfg.review_min_priority,
    )


def _finalise_one(cand: CandidateRisk, land: Landscape, today: date, now: datetime, cfg: PriorityConfig) -> None:
    stats = cand.statistics
    daily: dict[str, int] = stats.get("daily_events", {})
    trend = trend_statistics(daily, today)
    inputs = stats.get("inputs", {})
    hazard = cand.hazard.value if cand.hazard else None
    scope_tests = {
        INDUSTRY_WIDE: industry_wide_test(
            inputs.get("canonical_enterprises", cand.enterprises),
            inputs.get("canonical_brands", cand.brands),
            cfg.industry_min_organisations,
        ),
        REGIONAL: land.regional(cand.counts_by_region),
        SYSTEMIC: land.systemic(hazard, stats.get("causes", {}), cfg.systemic_min_categories),
    }
    prr = land.prr(cand.product_category, hazard)
    cand.scope = [name for name, test in scope_tests.items() if test["signal"]]
    tz = as_china_time(now).tzinfo
    event_times: list[datetime] = []  # one time a day, repeated per event (not a new datetime per event)
    for day, n in daily.items():
        event_times.extend([datetime.combine(date.fromisoformat(day), datetime.min.time(), tzinfo=tz)] * n)
    ratio = growth_ratio(event_times, now)
    factors = dict(cand.factors)
    factors["growth"] = round(growth_factor(ratio), 4)
    factors["growth_ratio"] = round(ratio, 4)  # recorded, not weighed
    factors["trend"] = round(trend_factor(trend), 4)
    factors["scope"] = round(scope_factor(cand.scope), 4)
    factors["disproportionality"] = 1.0 if prr["signal"] else 0.0
    cand.factors = factors
    cand.priority = weighted_priority(factors, cfg.weights)
    stats.update(
        {
            "as_of": as_china_time(now).isoformat(),
            "trend": trend,
            "disproportionality": prr,
            "scope": scope_tests,
            "priority": {
                "method": "weighted sum of the factors over the total weight",
                "weights": dict(cfg.weights),
                "contributions": {
                    name: round(w * factors.get(name, 0.0) / sum(cfg.weights.values()), 4)
                    for name, w in cfg.weights.items()
                },
            },
        }
    )
    if stats.get("immediate", {}).get("qualifies"):
        cand.tier = Tier.immediate
    elif cand.tier == Tier.immediate:
        cand.tier = Tier.watch
    cand.suggested_measures = suggest_measures(
        risk_level=cand.risk_level,
        immediate=cand.tier == Tier.immediate,
        scope=cand.scope,
        has_enterprise=bool(cand.enterprises or cand.brands),
        source_types=cand.counts_by_source_type,
        rising=bool(trend["rising"]),
    )
    cand.updated_at = now


def assign_tiers(
    candidates: list[CandidateRisk],
    review_top_n: int,
    *,
    now: datetime | None = None,
    period_days: int | None = None,
    min_priority: float = 0.0,
) -> list[CandidateRisk]:
    """Keep immediate ones; the top `review_top_n` of the rest by priority go to review, others to watch.

    Only candidates still open for review (status new or in review), with a priority of at
    least `min_priority` and, when `now` and `period_days` are given, with a signal in the
    period before `now` compete for the budget; a sub-candidate does not take a review slot
    when its parent already holds one.
    Returns the candidates sorted by tier, then priority (highest first), then key.
    """
    ranked = sorted(candidates, key=lambda c: (-c.priority, c.key))
    start = as_china_time(now) - timedelta(days=period_days) if now is not None and period_days else None
    budget = review_top_n
    reviewed: set[str] = set()
    for candidate in ranked:
        if candidate.tier == Tier.immediate:
            reviewed.add(candidate.key)
    for candidate in ranked:
        if candidate.tier == Tier.immediate:
            continue
        eligible = (
            budget > 0
            and candidate.priority >= min_priority
            and candidate.status in OPEN_STATUSES
            and (start is None or candidate.last_seen is None or as_china_time(candidate.last_seen) > start)
            and (parent_key(candidate.key) == candidate.key or parent_key(candidate.key) not in reviewed)
        )
        candidate.tier = Tier.review if eligible else Tier.watch
        if eligible:
            reviewed.add(candidate.key)
            budget -= 1
    return sorted(ranked, key=lambda c: (_TIER_ORDER[c.tier], -c.priority, c.key))


def candidates_by_key(candidates: Iterable[CandidateRisk]) -> dict[str, CandidateRisk]:
    """Candidates indexed by their grouping key (the last one wins if a key repeats)."""
    return {c.key: c for c in candidates}


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


def places(signal: Signal) -> list[str]:
    """Distinct cities and counties the signal mentions (with the city of a county)."""
    names: dict[str, None] = {}
    for region in signal.regions:
        if region.city:
            names.setdefault(region.city, None)
        if region.level in ("city", "county"):
            names.setdefault(region.name, None)
    return list(names)


def iso_week(when: datetime) -> str:
    """ISO week key of a time in China Standard Time, e.g. "2026-W07"."""
    year, week, _ = as_china_time(when).isocalendar()
    return f"{year}-W{week:02d}"


def _ordered_counts(counts: Counter[str]) -> dict[str, int]:
    return dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))


@lru_cache(maxsize=65536)
def _org_name(kind: str, name: str) -> tuple[str, str] | None:
    """(canonical key, display name) of an organisation name of the kind; None for an unusable name."""
    try:
        return canonical_key(kind, name), display_name(kind, name)
    except EntityError:
        return None


def _canonical_orgs(signal: Signal, kind: str) -> set[tuple[str, str]]:
    """(canonical key, display name) of the signal's organisations of the kind; unusable names are skipped."""
    out = set()
    for org in signal.organisations:
        if org.kind != kind or not org.name:
            continue
        named = _org_name(kind, org.name)
        if named is not None:
            out.add(named)
    return out


def _organisations(members: Sequence[Signal], kind: str) -> tuple[list[str], list[str]]:
    """Display names and canonical keys of the kind, most often mentioned (each signal once) first.

    Spellings of one entity (格力 / GREE) count together under the display name seen most often.
    """
    counts: Counter[str] = Counter()
    names: dict[str, Counter[str]] = {}
    for signal in members:
        for key, name in _canonical_orgs(signal, kind):
            counts[key] += 1
            names.setdefault(key, Counter())[name] += 1
    order = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    display = [min(names[k].items(), key=lambda kv: (-kv[1], kv[0]))[0] for k, _ in order]
    return display, [k for k, _ in order]
