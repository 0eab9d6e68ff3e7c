"""Analysts' decisions as labels for the models: one corpus row per signal of a decided candidate.

The rows have the fields of riskmine/data/corpus/labels/ (see riskmine.models.corpus): ``id``
(``review:<signal id>``), ``text``, ``source_type``, ``is_risk``, ``hazards``, ``harm_occurred``,
``product_category``, ``dataset`` ("review_feedback"), ``file`` (the decision id), ``row`` (the
candidate id), ``synthetic`` false and ``split`` "train". A signal in a confirmed candidate is a
risk with that candidate's hazard; a signal whose candidates were all rejected is not a risk. When
candidates sharing a signal disagree, confirmed wins and the hazards of the confirmed ones are kept.
Exports are recorded in the audit log.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from riskmine.review import audit
from riskmine.review.repository import ReviewRepository
from riskmine.review.roles import FEEDBACK_ROLES, Actor
from riskmine.review.workflow import latest_decision, require_role
from riskmine.schema import CandidateRisk, CandidateStatus, Decision, Signal
from riskmine.store.base import Collection, Store

DATASET = "review_feedback"
# A decided candidate is in one of these statuses; its latest decision says confirmed or rejected.
_DECIDED = [
    CandidateStatus.confirmed.value,
    CandidateStatus.rejected.value,
    CandidateStatus.disposed.value,
    CandidateStatus.closed.value,
]


@dataclass
class _Label:
    is_risk: bool
    hazards: list[str] = field(default_factory=list)
    decision_id: str = ""
    candidate_id: str = ""


def _labels(store: Store) -> dict[str, _Label]:
    labels: dict[str, _Label] = {}
    for cand in store.iterate(Collection.candidates, filters={"status": _DECIDED}):
        assert isinstance(cand, CandidateRisk)
        decision: Decision | None = latest_decision(store, cand)
        if decision is None or decision.status not in (CandidateStatus.confirmed, CandidateStatus.rejected):
            continue
        confirmed = decision.status is CandidateStatus.confirmed
        for sid in cand.signal_ids:
            label = labels.get(sid)
            if label is None or (confirmed and not label.is_risk):
                label = labels[sid] = _Label(confirmed, [], decision.id, cand.id)
            if confirmed and cand.hazard is not None and cand.hazard.value not in label.hazards:
                label.hazards.append(cand.hazard.value)
    return labels


def feedback_rows(store: Store) -> Iterator[dict[str, Any]]:
    """Labelled rows for every signal of a confirmed or rejected candidate, in signal id order."""
    labels = _labels(store)
    ids = sorted(labels)
    for start in range(0, len(ids), 500):
        for sig in store.get_many(Collection.signals, ids[start : start + 500]):
            if not isinstance(sig, Signal):
                continue
            label = labels[sig.id]
            yield {
                "id": f"review:{sig.id}",
                "text": sig.document.text,
                "source_type": sig.document.source_type.value,
                "is_risk": label.is_risk,
                "hazards": label.hazards,
                "harm_occurred": sig.harm_occurred,
                "product_category": sig.product_category,
                "dataset": DATASET,
                "file": label.decision_id,
                "row": label.candidate_id,
                "synthetic": False,
                "split": "train",
            }


def export_lines(store: Store, db: ReviewRepository, actor: Actor) -> Iterator[str]:
    """The feedback as JSON lines (analyst or admin); the export is recorded in the audit log."""
    require_role(actor, FEEDBACK_ROLES, "export feedback labels")
    rows = list(feedback_rows(store))
    audit.record(
        db,
        actor,
        "feedback.export",
        "export",
        "feedback.jsonl",
        after={"rows": len(rows), "risks": sum(1 for r in rows if r["is_risk"])},
    )
    for row in rows:
        yield json.dumps(row, ensure_ascii=False) + "\n"
