"""Processing: run the NLP pipeline over stored documents, then refresh candidate risks."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from riskmine.knowledge_graph.candidates import build_candidates
from riskmine.pipeline import Pipeline
from riskmine.schema import CandidateRisk, CandidateStatus, RawDocument, Signal
from riskmine.store.base import Collection, DuplicatePolicy, Store


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


def _chunks(ids: Sequence[str], size: int) -> Iterator[Sequence[str]]:
    for i in range(0, len(ids), size):
        yield ids[i : i + size]


def pending_document_ids(store: Store, batch_size: int = 1000) -> list[str]:
    """Ids of stored documents that have no signal yet, in id order."""
    pending: list[str] = []
    batch: list[str] = []

    def flush() -> None:
        done = {s.id for s in store.get_many(Collection.signals, batch)}
        pending.extend(i for i in batch if i not in done)
        batch.clear()

    for doc in store.iterate(Collection.documents, batch_size=batch_size):
        batch.append(doc.id)
        if len(batch) >= batch_size:
            flush()
    if batch:
        flush()
    return pending


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
        signals: list[Signal] = pipeline.process(docs)
        store.write(Collection.signals, signals, DuplicatePolicy.overwrite)
        changed = [s.document for s in signals if s.document.model_dump_json() != originals.get(s.id)]
        if changed:
            store.write(Collection.documents, changed, DuplicatePolicy.overwrite)
        report.processed += len(signals)
        report.risks += sum(1 for s in signals if s.is_risk)
        report.duplicates += sum(1 for s in signals if s.is_duplicate)
        report.noisy += sum(1 for s in signals if s.noise)
        if progress:
            progress(len(docs))
    report.stage_seconds = {k: v - before.get(k, 0.0) for k, v in pipeline.timings.items()}
    report.seconds = time.perf_counter() - t0
    return report


# Statuses an analyst has moved a candidate into: refreshing never resets or deletes these.
_DECIDED = {s for s in CandidateStatus if s is not CandidateStatus.new}


def refresh_candidates(store: Store, *, now: datetime | None = None) -> int:
    """Rebuild candidate risks from the stored risk signals.

    Statistics are recomputed; an analyst's status on an existing candidate is kept,
    and candidates that no longer have signals are removed unless already decided.
    Returns the number of candidates stored.
    """
    signals = store.iterate(Collection.signals, filters={"is_risk": True})
    fresh: list[CandidateRisk] = build_candidates(signals, now=now)
    existing = {c.id: c for c in store.iterate(Collection.candidates)}
    for cand in fresh:
        old = existing.get(cand.id)
        if old is not None:
            cand.status = old.status
            cand.created_at = old.created_at
    fresh_ids = {c.id for c in fresh}
    stale = [cid for cid, c in existing.items() if cid not in fresh_ids and c.status not in _DECIDED]
    if stale:
        store.delete(Collection.candidates, stale)
    if fresh:
        store.write(Collection.candidates, fresh, DuplicatePolicy.overwrite)
    return len(fresh)
