"""Processing: run the NLP pipeline over stored documents, then refresh candidate risks."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

from riskmine.knowledge_graph.candidates import (
    GroupKey,
    build_core,
    build_cores,
    candidate_key,
    finalise,
    group_signals,
    is_candidate_signal,
    parent_key,
    signal_keys,
)
from riskmine.knowledge_graph.priority import PriorityConfig
from riskmine.pipeline import Pipeline
from riskmine.schema import CandidateRisk, CandidateStatus, Decision, HazardType, RawDocument, Signal, Tier
from riskmine.schema.records import CANDIDATE_REVIEW_FIELDS, utcnow
from riskmine.store.base import Collection, DuplicatePolicy, Store

_T = TypeVar("_T")


@dataclass
class ProcessReport:
    processed: int = 0
    risks: int = 0
    duplicates: int = 0
    noisy: int = 0
    seconds: float = 0.0
    stage_seconds: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "processed": self.processed,
            "risks": self.risks,
            "duplicates": self.duplicates,
            "noisy": self.noisy,
            "seconds": round(self.seconds, 3),
            "stage_seconds": {k: round(v, 3) for k, v in self.stage_seconds.items()},
        }


def _chunks(items: Sequence[_T], size: int) -> Iterator[Sequence[_T]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def stored_signals(store: Store, document_ids: Sequence[str], batch_size: int = 1000) -> list[Signal]:
    """The stored signals of these documents (those processed), read in batches."""
    found: list[Signal] = []
    for start in range(0, len(document_ids), batch_size):
        found.extend(store.get_many(Collection.signals, document_ids[start : start + batch_size]))
    return found


def unprocessed(store: Store, document_ids: Iterable[str], batch_size: int = 1000) -> list[str]:
    """Those of the given document ids that have no signal yet, in the order given."""
    pending: list[str] = []
    batch: list[str] = []

    def flush() -> None:
        done = {s.id for s in store.get_many(Collection.signals, batch)}
        pending.extend(i for i in batch if i not in done)
        batch.clear()

    for doc_id in document_ids:
        batch.append(doc_id)
        if len(batch) >= batch_size:
            flush()
    if batch:
        flush()
    return pending


def pending_document_ids(store: Store, batch_size: int = 1000) -> list[str]:
    """Ids of stored documents that have no signal yet, in id order."""
    ids = (doc.id for doc in store.iterate(Collection.documents, batch_size=batch_size))
    return unprocessed(store, ids, batch_size)


def store_signals(store: Store, signals: list[Signal], originals: dict[str, str], report: ProcessReport) -> None:
    """Store a processed batch's signals, and the documents a stage changed (masked); count them in ``report``.

    ``originals`` holds each document's JSON as read, so that only documents the stages changed are written back.
    """
    if not signals:
        return
    store.write(Collection.signals, signals, DuplicatePolicy.overwrite)
    changed = [s.document for s in signals if s.document.model_dump_json() != originals.get(s.id)]
    if changed:
        store.write(Collection.documents, changed, DuplicatePolicy.overwrite)
    report.processed += len(signals)
    report.risks += sum(1 for s in signals if s.is_risk)
    report.duplicates += sum(1 for s in signals if s.is_duplicate)
    report.noisy += sum(1 for s in signals if s.noise)


def process_documents(
    store: Store,
    pipeline: Pipeline,
    document_ids: Sequence[str] | None = None,
    *,
    batch_size: int = 256,
    progress: Callable[[int], None] | None = None,
) -> ProcessReport:
    """Run the pipeline over the given documents (default: all not yet processed) and store the signals.

    Stages may mask personal data in the document text; the masked document replaces
    the stored one so that nothing unmasked is kept.
    """
    t0 = time.perf_counter()
    ids = list(document_ids) if document_ids is not None else pending_document_ids(store)
    report = ProcessReport()
    before = dict(pipeline.timings)
    for chunk in _chunks(ids, batch_size):
        docs: list[RawDocument] = store.get_many(Collection.documents, chunk)
        if not docs:
            continue
        originals = {d.id: d.model_dump_json() for d in docs}
        store_signals(store, pipeline.process(docs), originals, report)
        if progress:
            progress(len(docs))
    report.stage_seconds = {k: v - before.get(k, 0.0) for k, v in pipeline.timings.items()}
    report.seconds = time.perf_counter() - t0
    return report


# Statuses an analyst has moved a candidate into: refreshing never resets or deletes these.
_DECIDED = {s for s in CandidateStatus if s is not CandidateStatus.new}


def refresh_candidates(
    store: Store,
    *,
    now: datetime | None = None,
    signal_ids: Sequence[str] | None = None,
    config: PriorityConfig | None = None,
) -> int:
    """Bring the stored candidate risks up to date with the stored risk signals.

    With `signal_ids` (the signals just processed) the refresh is incremental: only the
    (category, hazard) groups those signals belong to now, or belonged to before, are
    rebuilt from their signals; every other stored candidate keeps its signal-based part
    and has its statistics, scope, priority and tier recomputed (they depend on the time
    and on the other candidates). Without `signal_ids`, everything is rebuilt.

    Memory and time follow what changed, not the collection (issue 18): stored candidates are read
    without their member ids and evidence; the rebuilt groups' signals (every group's, in a full refresh) are read
    one category at a time, without the fields no candidate step needs (tokens, provenance), few large reads;
    a carried candidate is written back, with the member ids and evidence it has stored (read a batch at
    a time), only when something of it changed.

    The review-owned fields (CANDIDATE_REVIEW_FIELDS: status, assignee, …, due_at,
    created_at) are kept from the stored candidate, so a decided grade is never overwritten by the
    recomputed suggestion (risk_level, warning_color); a deadline is set only when a
    candidate still undecided first qualifies for the immediate tier. Candidates that no longer have
    signals are removed unless an analyst has already acted on them. `now` defaults to
    the clock (never a signal's own time). `config` defaults to PriorityConfig() (the settings' defaults); the
    submission service passes the one built from the settings. Returns the number of candidates stored.
    """
    cfg = config or PriorityConfig()
    existing = _light_candidates(store)
    if signal_ids is None:
        rebuilt_keys: set[str] | None = None
        cores_of = _all_groups(store)
    else:
        rebuilt_keys = _touched_keys(store, list(dict.fromkeys(signal_ids)))
        cores_of = _load_groups(store, rebuilt_keys)
    carried = [c for c in existing.values() if rebuilt_keys is not None and parent_key(c.key) not in rebuilt_keys]
    if now is None:
        now = utcnow()  # the clock, never the data: a document dated 9999 must not become "now"
    # one batch of groups (a category's) at a time: its signals are dropped once its cores are built, before the
    # next batch is read
    cores: list[CandidateRisk] = []
    for groups in cores_of:
        cores.extend(build_cores(groups, now=now, config=cfg))
        del groups
    if not cores and not carried:
        return _drop_stale(store, existing, set())
    for cand in cores:
        old = existing.get(cand.id)
        if old is not None:
            fresh_due = cand.due_at
            for name in CANDIDATE_REVIEW_FIELDS:
                setattr(cand, name, getattr(old, name))
            if old.due_at is None and fresh_due is not None and old.tier != Tier.immediate and old.status in UNDECIDED:
                cand.due_at = fresh_due  # it has just become an immediate-tier candidate, still to be decided
    cores = _honour_review_membership(store, cores, _with_members(store, existing), now, cfg)
    before = {c.id: c.model_dump_json() for c in carried}
    result = finalise([*cores, *carried], now=now, config=cfg)
    _grade_decided(store, result)
    rebuilt = [c for c in result if c.id not in before]
    if rebuilt:
        store.write(Collection.candidates, rebuilt, DuplicatePolicy.overwrite)
    _write_carried(store, [c for c in carried if c.model_dump_json() != before[c.id]])
    _drop_stale(store, existing, {c.id for c in result})
    return len(result)


# A stored candidate's bulk at scale (60 % member ids, 20 % evidence): a refresh reads it only where it needs it.
_HEAVY_CANDIDATE_FIELDS = ("signal_ids", "evidence")
_WRITE_BATCH = 200  # carried candidates per read of their member ids and evidence, and per write


def _light_candidates(store: Store, filters: dict[str, Any] | None = None) -> dict[str, CandidateRisk]:
    """Stored candidates by id, without their member ids and evidence (what every other step needs of them)."""
    return {c.id: c for c in store.iterate(Collection.candidates, filters=filters, omit=_HEAVY_CANDIDATE_FIELDS)}


def _with_members(store: Store, existing: dict[str, CandidateRisk]) -> dict[str, CandidateRisk]:
    """`existing` with the full records (member ids included) of the candidates an analyst merged or split off."""
    wanted = [
        cid
        for cid, c in existing.items()
        if (c.merged_into and c.status is CandidateStatus.merged) or SPLIT_MARK in c.key
    ]
    if not wanted:
        return existing
    full = {c.id: c for c in store.get_many(Collection.candidates, wanted)}
    return {cid: full.get(cid, c) for cid, c in existing.items()}


def _write_carried(store: Store, changed: Sequence[CandidateRisk]) -> None:
    """Store the re-finalised candidates whose signals did not change, a batch at a time, each with the member
    ids and evidence it has stored (it was read without them)."""
    for chunk in _chunks(changed, _WRITE_BATCH):
        stored = {c.id: c for c in store.get_many(Collection.candidates, [c.id for c in chunk])}
        out = [
            c.model_copy(update={name: getattr(stored[c.id], name) for name in _HEAVY_CANDIDATE_FIELDS})
            for c in chunk
            if c.id in stored
        ]
        if out:
            store.write(Collection.candidates, out, DuplicatePolicy.overwrite)


def _grade_decided(store: Store, candidates: Iterable[CandidateRisk]) -> None:
    """Give a candidate decided before the decided grade was kept on it (a store written by an older
    version) the grade of its latest decision."""
    for cand in candidates:
        if cand.decision_id is not None and cand.decided is None:
            decision = store.get(Collection.decisions, cand.decision_id)
            if isinstance(decision, Decision):
                cand.record_decision(decision)


# Statuses in which a candidate that first qualifies for the immediate tier gets its 24-hour deadline: a decided one
# is the analysts' (its report, if any, was made when it was confirmed).
UNDECIDED = frozenset({CandidateStatus.new, CandidateStatus.in_review, CandidateStatus.rejected})

SPLIT_MARK = "#split-"  # a candidate split off by an analyst has the key "<parent key>#split-<id>"


def _honour_review_membership(
    store: Store, cores: list[CandidateRisk], existing: dict[str, CandidateRisk], now: datetime, cfg: PriorityConfig
) -> list[CandidateRisk]:
    """Rebuilt candidates with the analysts' merges and splits applied again.

    A refresh groups signals by (category, hazard) afresh; without this, signals an analyst
    split off would return to their group and a merge target would lose the merged
    candidates' signals. Here a candidate that others were merged into gets their (current)
    signals, and signals split off a candidate (held by a stored "<key>#split-…" candidate)
    stay out of it; the split-off candidates themselves keep their members.
    """
    by_id = {c.id: c for c in cores}
    merged_into: dict[str, list[CandidateRisk]] = {}
    split_off: dict[str, set[str]] = {}
    for cand in existing.values():
        if cand.merged_into and cand.status is CandidateStatus.merged:
            merged_into.setdefault(cand.merged_into, []).append(by_id.get(cand.id, cand))
        if SPLIT_MARK in cand.key:  # merged elsewhere or not, its signals left the parent
            split_off.setdefault(cand.key.split(SPLIT_MARK)[0], set()).update(cand.signal_ids)
    if not merged_into and not split_off:
        return cores
    out = []
    for core in cores:
        wanted = list(core.signal_ids)
        for source in merged_into.get(core.id, []):
            wanted.extend(source.signal_ids)
        gone = split_off.get(core.key, set())
        wanted = [sid for sid in dict.fromkeys(wanted) if sid not in gone]
        if wanted == core.signal_ids:
            out.append(core)
            continue
        members = [s for s in store.get_many(Collection.signals, wanted) if isinstance(s, Signal)]
        if not members:
            continue
        refinement = core.statistics.get("refinement")
        fresh = build_core(core.product_category, core.hazard, members, now=now, config=cfg, refinement=refinement)
        out.append(
            fresh.model_copy(update={name: getattr(core, name) for name in (*CANDIDATE_REVIEW_FIELDS, "id", "key")})
        )
    return out


def _drop_stale(store: Store, existing: dict[str, CandidateRisk], kept: set[str]) -> int:
    stale = [cid for cid, c in existing.items() if cid not in kept and c.status not in _DECIDED]
    if stale:
        store.delete(Collection.candidates, stale)
    return len(kept)


def _touched_keys(store: Store, signal_ids: list[str]) -> set[str]:
    """Parent keys the given signals belong to now, and those of stored candidates that held them."""
    keys: set[str] = set()
    for chunk in _chunks(signal_ids, 500):
        for signal in store.get_many(Collection.signals, chunk):
            keys.update(signal_keys(signal))
        keys.update(parent_key(c.key) for c in _light_candidates(store, {"signal_id": list(chunk)}).values())
    return keys


# Signal fields no candidate step reads (the tokens for the full-text index, provenance): left out of the reads.
_UNUSED_SIGNAL_FIELDS = ("segmented_text", "model_versions", "content_hash", "processed_at", "standards", "noise")
# Signals per read: a read of a filtered batch costs a query plan and a scan of the filter's index rows, so few large
# reads are much cheaper than many small ones (5000 bodies of a few KB each are held at a time).
_READ_BATCH = 5000
_MAX_CATEGORIES = 10_000  # more categories than this: the full refresh reads every risk signal as one batch


def _risk_signals(store: Store, filters: dict[str, Any]) -> Iterator[Signal]:
    """The matching risk signals, without the fields no candidate step reads."""
    return store.iterate(
        Collection.signals, filters={"is_risk": True, **filters}, batch_size=_READ_BATCH, omit=_UNUSED_SIGNAL_FIELDS
    )


def _all_groups(store: Store) -> Iterator[dict[GroupKey, list[Signal]]]:
    """Every signal group, one category at a time (uncategorised signals last), so that a caller that drops a batch
    before asking for the next holds one category's signals at a time; as one batch when the categories are too
    many to list."""
    buckets = store.aggregate(Collection.signals, "product_category", filters={"is_risk": True}, size=_MAX_CATEGORIES)
    if len(buckets) >= _MAX_CATEGORIES:
        yield group_signals(_risk_signals(store, {}))
        return
    for category in sorted(b.key for b in buckets if b.key):
        yield group_signals(_risk_signals(store, {"product_category": category}))
    if store.count(Collection.signals, filters={"is_risk": True}) > sum(b.count for b in buckets if b.key):
        yield group_signals(s for s in _risk_signals(store, {}) if not s.product_category)


def _load_groups(store: Store, keys: set[str]) -> Iterator[dict[GroupKey, list[Signal]]]:
    """The signal groups of the given parent keys, one category at a time (uncategorised keys last, by hazard).

    Only the signals of the wanted groups are kept; a caller that drops a batch before asking for the next holds
    one category's groups at a time.
    """
    if not keys:
        return
    by_category: dict[str, set[str]] = {}
    for k in sorted(keys):
        category, hazard = k.split("|")[:2]
        by_category.setdefault(category, set()).add(hazard)
    for category in sorted(c for c in by_category if c):
        filters: dict[str, Any] = {"product_category": category}
        if "" not in by_category[category]:  # a no-hazard key needs every signal of its category
            filters["hazard"] = sorted(by_category[category])
        wanted = {f"{category}|{h}" for h in by_category[category]}
        yield _wanted_groups(_risk_signals(store, filters), wanted)
    hazards = by_category.get("", set())
    if not hazards:
        return
    filters = {}
    if "" not in hazards:  # uncategorised signals with no hazard cannot be selected by an indexed field
        filters["hazard"] = sorted(hazards)
    wanted = {f"|{h}" for h in hazards}
    yield _wanted_groups(_risk_signals(store, filters), wanted)


def _wanted_groups(signals: Iterable[Signal], keys: set[str]) -> dict[GroupKey, list[Signal]]:
    """The groups of `signals` whose keys are in `keys` (as group_signals makes them); other signals are not kept."""
    groups: dict[GroupKey, list[Signal]] = {}
    for signal in signals:
        if not is_candidate_signal(signal):
            continue
        hazards: list[HazardType | None] = list(signal.hazard_codes) or [None]  # distinct, as in signal_keys
        for hazard in hazards:
            if candidate_key(signal.product_category, hazard) in keys:
                groups.setdefault((signal.product_category, hazard), []).append(signal)
    return groups
