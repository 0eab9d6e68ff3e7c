"""Reading what a report needs from the store: candidates with their signals in a time window."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time

from riskmine.reports.labels import UNKNOWN_REGION
from riskmine.reports.periods import CST, china_date
from riskmine.reports.scope import ReportScope
from riskmine.schema import CandidateRisk, CandidateStatus, Decision, Signal
from riskmine.store.base import Collection, Range, Store

# 报送 covers confirmed candidates (and those already disposed) and the ones still awaiting review.
REPORTED_STATUSES: tuple[CandidateStatus, ...] = (
    CandidateStatus.confirmed,
    CandidateStatus.disposed,
    CandidateStatus.new,
    CandidateStatus.in_review,
)
_GET_BATCH = 500


@dataclass
class CandidateSlice:
    """A candidate, its latest decision, and its member signals: all of them and those in the window."""

    candidate: CandidateRisk
    decision: Decision | None
    signals: list[Signal]  # every stored member signal, oldest first
    in_window: list[Signal] = field(default_factory=list)  # members inside the report window, oldest first

    @property
    def signal_ids(self) -> list[str]:
        return [s.id for s in self.in_window]


def get_signals(store: Store, ids: Sequence[str]) -> list[Signal]:
    """The stored signals of `ids`, in batches, oldest first (missing ids left out)."""
    out: list[Signal] = []
    ids = list(dict.fromkeys(ids))  # a document listed twice is still one document
    for i in range(0, len(ids), _GET_BATCH):
        out.extend(store.get_many(Collection.signals, list(ids[i : i + _GET_BATCH])))
    return sorted(out, key=lambda s: (s.when, s.id))


def latest_decision(store: Store, candidate: CandidateRisk) -> Decision | None:
    if not candidate.decision_id:
        return None
    found = store.get(Collection.decisions, candidate.decision_id)
    return found if isinstance(found, Decision) else None


def candidate_slice(
    store: Store, candidate: CandidateRisk, start: date | None = None, end: date | None = None
) -> CandidateSlice:
    """The candidate with its signals; `in_window` holds those whose China date lies in [start, end]."""
    signals = get_signals(store, candidate.signal_ids)
    window = [s for s in signals if _within(s.when, start, end)]
    return CandidateSlice(candidate, latest_decision(store, candidate), signals, window)


def _within(moment: datetime, start: date | None, end: date | None) -> bool:
    day = china_date(moment)
    return (start is None or day >= start) and (end is None or day <= end)


def candidates_in_window(
    store: Store,
    start: date,
    end: date,
    scope: ReportScope,
    *,
    statuses: Iterable[CandidateStatus] = REPORTED_STATUSES,
    product_category: str | None = None,
) -> list[CandidateSlice]:
    """Candidates of the given statuses with at least one member signal in [start, end] that the scope
    covers, highest priority first."""
    filters: dict[str, object] = {
        "status": [s.value for s in statuses],
        # a candidate whose last signal precedes the window has nothing in it
        "time": Range(gte=datetime.combine(start, time.min, CST)),
    }
    if product_category is not None:
        filters["product_category"] = product_category
    out: list[CandidateSlice] = []
    for candidate in store.iterate(Collection.candidates, filters=filters):
        piece = candidate_slice(store, candidate, start, end)
        if piece.in_window and scope.covers_candidate(candidate, piece.in_window):
            out.append(piece)
    out.sort(key=lambda p: (-p.candidate.priority, p.candidate.id))
    return out


def event_key(signal: Signal) -> str:
    """The event a signal reports: its duplicate group (set by the dedup stage), else the signal itself."""
    return signal.duplicate_group or signal.id


def distinct_events(signals: Iterable[Signal]) -> list[Signal]:
    """One signal per event, the first of each, in the given order (re-sent documents and flagged
    duplicates of a kept signal are left out)."""
    kept: dict[str, Signal] = {}
    for s in signals:
        kept.setdefault(event_key(s), s)
    return list(kept.values())


def signal_regions(signal: Signal) -> list[str]:
    """Province-level region names of a signal (text mentions and document region), distinct."""
    names: list[str] = []
    for r in signal.regions:
        name = r.province or r.name
        if name and name not in names:
            names.append(name)
    if not names and signal.document.region:
        names.append(signal.document.region)
    return names


def region_counts(signals: Iterable[Signal]) -> Counter[str]:
    counts: Counter[str] = Counter()
    for s in signals:
        counts.update(signal_regions(s) or [UNKNOWN_REGION])
    return counts


def signal_enterprises(signal: Signal) -> list[str]:
    names = [signal.document.enterprise] if signal.document.enterprise else []
    names.extend(o.name for o in signal.organisations if o.kind == "enterprise" and o.name)
    return list(dict.fromkeys(names))


def enterprise_counts(signals: Iterable[Signal]) -> Counter[str]:
    counts: Counter[str] = Counter()
    for s in signals:
        counts.update(signal_enterprises(s))
    return counts
