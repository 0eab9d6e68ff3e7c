"""Decisions exported as corpus rows that the corpus loader accepts."""

from __future__ import annotations

import json

import pytest

from riskmine.models.corpus import parse_example
from riskmine.review import audit, feedback, workflow
from riskmine.review.errors import ReviewForbidden
from riskmine.review.sqlite_repository import SQLiteReviewRepository
from riskmine.schema import CandidateRisk
from riskmine.store.sqlite import SQLiteStore
from tests.review.conftest import ANALYST, VIEWER


def test_confirmed_and_rejected_decisions_become_labels(
    store: SQLiteStore, db: SQLiteReviewRepository, candidates: list[CandidateRisk]
) -> None:
    fire = next(c for c in candidates if c.key == "充电宝|fire")
    kettle = next(c for c in candidates if c.key != "充电宝|fire")
    assert list(feedback.feedback_rows(store)) == []
    workflow.decide(
        store, db, fire.id, ANALYST, status="confirmed", risk_level="medium", warning_color="yellow", rationale="r"
    )
    workflow.decide(store, db, kettle.id, ANALYST, status="rejected", rationale="误报")
    with pytest.raises(ReviewForbidden):
        list(feedback.export_lines(store, db, VIEWER))
    lines = list(feedback.export_lines(store, db, ANALYST))
    rows = [json.loads(line) for line in lines]
    assert len(rows) == len(fire.signal_ids) + len(kettle.signal_ids)
    examples = [parse_example(r, f"feedback row {i}") for i, r in enumerate(rows)]
    by_id = {e.id: e for e in examples}
    for sid in fire.signal_ids:
        assert by_id[f"review:{sid}"].is_risk and [h.value for h in by_id[f"review:{sid}"].hazards] == ["fire"]
    for sid in kettle.signal_ids:
        assert not by_id[f"review:{sid}"].is_risk and by_id[f"review:{sid}"].hazards == ()
    exported = audit.events(db, action="feedback.export")[0]
    assert exported[0].after == {"rows": len(rows), "risks": len(fire.signal_ids)}
