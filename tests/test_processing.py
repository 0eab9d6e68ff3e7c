"""Documents in, signals and candidate risks out, through the real stages and the SQLite store."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from riskmine.pipeline import Pipeline
from riskmine.processing import pending_document_ids, process_documents, refresh_candidates
from riskmine.schema import CandidateStatus, Decision, Grade, HarmKind, RawDocument, Tier
from riskmine.settings import Settings
from riskmine.store.base import Collection, DuplicatePolicy
from riskmine.store.sqlite import SQLiteStore
from tests.knowledge_graph.test_candidates import NOW, power_bank_signals, shampoo_signals, toy_signals

TEXTS = [
    ("r1", "这个充电宝充电的时候冒烟了，外壳鼓包发烫，差点起火，太吓人了", "充电宝"),
    ("r2", "充电宝用了一周，充电时冒烟还有焦味，赶紧拔了，怕着火", "充电宝"),
    ("r3", "移动电源充着电突然冒烟起火，把床单都烧了一个洞", "充电宝"),
    ("r4", "物流很快，包装完好，手机很好用，好评", "手机"),
    ("r5", "快递太慢了，等了一个星期才到，客服也不理人", "手机"),
    ("r6", "联系我请打13812345678，这个充电宝冒烟了", "充电宝"),
]


@pytest.fixture
def store(tmp_path: Path) -> SQLiteStore:
    s = SQLiteStore(tmp_path / "store.sqlite3")
    docs = [
        RawDocument(source="test", source_type="review", source_id=i, text=t, product=p, published_at="2026-10-01")
        for i, t, p in TEXTS
    ]
    s.write(Collection.documents, docs, DuplicatePolicy.skip)
    return s


def test_process_pending_then_nothing_left(store: SQLiteStore) -> None:
    settings = Settings()
    pipeline = Pipeline.from_settings(settings, store)
    assert len(pending_document_ids(store)) == len(TEXTS)
    report = process_documents(store, pipeline)
    assert report.processed == len(TEXTS)
    assert store.count(Collection.signals) == len(TEXTS)
    assert pending_document_ids(store) == []
    assert set(report.stage_seconds) == set(pipeline.names)
    risky = {s.document.source_id for s in store.iterate(Collection.signals, filters={"is_risk": True})}
    assert {"r1", "r3"} <= risky
    assert "r4" not in risky and "r5" not in risky


def test_personal_data_is_masked_in_the_stored_document(store: SQLiteStore) -> None:
    pipeline = Pipeline.from_settings(Settings(), store)
    process_documents(store, pipeline)
    doc = next(d for d in store.iterate(Collection.documents) if d.source_id == "r6")
    assert "13812345678" not in doc.text
    sig = store.get(Collection.signals, doc.id)
    assert "13812345678" not in sig.normalized_text


def test_refresh_candidates_groups_and_keeps_analyst_status(store: SQLiteStore) -> None:
    pipeline = Pipeline.from_settings(Settings(), store)
    process_documents(store, pipeline)
    n = refresh_candidates(store)
    assert n >= 1
    cands = store.query(Collection.candidates, sort="priority").items
    fire = next(c for c in cands if c.hazard == "fire")
    assert fire.product_category == "充电宝"
    assert "充电宝" in fire.title
    assert fire.signal_count >= 3
    assert all(store.get(Collection.documents, ev.document_id) for ev in fire.evidence)
    fire.status = CandidateStatus.confirmed
    store.write(Collection.candidates, [fire], DuplicatePolicy.overwrite)
    refresh_candidates(store)
    assert store.get(Collection.candidates, fire.id).status == CandidateStatus.confirmed


# --- incremental refresh over hand-made signals (no NLP stages) ---------------------------------------


def _signals_store(tmp_path: Path, name: str) -> SQLiteStore:
    return SQLiteStore(tmp_path / f"{name}.sqlite3")


def _comparable(store: SQLiteStore) -> list[dict[str, object]]:
    return [c.model_dump(exclude={"created_at"}) for c in store.iterate(Collection.candidates)]


def test_incremental_refresh_matches_a_full_rebuild(tmp_path: Path) -> None:
    first = [*power_bank_signals(), *shampoo_signals(4, days=[20, 30])]
    later = [*shampoo_signals(8, days=[1, 2, 3])[4:], *toy_signals()]
    later = [s.model_copy(update={"id": f"new-{s.id}"}) for s in later]
    incremental, full = _signals_store(tmp_path, "inc"), _signals_store(tmp_path, "full")
    incremental.write(Collection.signals, first)
    assert refresh_candidates(incremental, now=NOW) == 2
    incremental.write(Collection.signals, later)
    n = refresh_candidates(incremental, now=NOW, signal_ids=[s.id for s in later])
    full.write(Collection.signals, [*first, *later])
    assert refresh_candidates(full, now=NOW) == n == 3
    assert _comparable(incremental) == _comparable(full)
    shampoo = next(c for c in incremental.iterate(Collection.candidates) if c.key == "洗发水|chemical")
    assert shampoo.signal_count == 8
    assert shampoo.statistics["trend"]["poisson"]["recent"] == 4


def test_incremental_refresh_keeps_review_fields_and_decided_candidates(tmp_path: Path) -> None:
    store = _signals_store(tmp_path, "review")
    signals = [*power_bank_signals(), *shampoo_signals(3, days=[2, 5])]
    store.write(Collection.signals, signals)
    refresh_candidates(store, now=NOW)
    by_key = {c.key: c for c in store.iterate(Collection.candidates)}
    fire, shampoo = by_key["充电宝|fire"], by_key["洗发水|chemical"]
    fire.status, fire.assignee, fire.organisation = CandidateStatus.in_review, "analyst-1", "测试中心"
    shampoo.status = CandidateStatus.confirmed
    store.write(Collection.candidates, [fire, shampoo], DuplicatePolicy.overwrite)

    # a new power-bank report arrives; the shampoo reports are reprocessed and found not to be risks
    extra = power_bank_signals()[0].model_copy(update={"id": "pb-new"})
    cleared = [s.model_copy(update={"is_risk": False}) for s in signals if s.id.startswith("sh")]
    store.write(Collection.signals, [extra, *cleared], DuplicatePolicy.overwrite)
    refresh_candidates(store, now=NOW, signal_ids=["pb-new", *(s.id for s in cleared)])

    after = {c.key: c for c in store.iterate(Collection.candidates)}
    assert after["充电宝|fire"].signal_count == 7
    assert (after["充电宝|fire"].status, after["充电宝|fire"].assignee) == (CandidateStatus.in_review, "analyst-1")
    assert after["充电宝|fire"].organisation == "测试中心"
    assert after["充电宝|fire"].created_at == fire.created_at
    assert after["洗发水|chemical"].status == CandidateStatus.confirmed  # decided: kept though its signals left


def test_refresh_grades_a_candidate_decided_before_the_grade_was_kept_on_it(tmp_path: Path) -> None:
    store = _signals_store(tmp_path, "legacy")
    store.write(Collection.signals, power_bank_signals())
    refresh_candidates(store, now=NOW)
    fire = next(iter(store.iterate(Collection.candidates)))
    decision = Decision(
        candidate_id=fire.id, status=CandidateStatus.confirmed, risk_level="low", warning_color="green", decided_by="li"
    )
    store.write(Collection.decisions, [decision])
    legacy = fire.model_copy(update={"status": CandidateStatus.confirmed, "decision_id": decision.id})
    store.write(Collection.candidates, [legacy], DuplicatePolicy.overwrite)
    refresh_candidates(store, now=NOW)
    graded = store.get(Collection.candidates, fire.id)
    assert graded.decided == graded.grade == Grade(risk_level="low", warning_color="green")


def test_immediate_deadline_is_24_hours_after_the_qualifying_signal_and_kept(tmp_path: Path) -> None:
    store = _signals_store(tmp_path, "immediate")
    (toy,) = toy_signals()
    store.write(Collection.signals, [toy])
    refresh_candidates(store, now=NOW)
    (cand,) = store.iterate(Collection.candidates)
    assert cand.tier == Tier.immediate
    assert cand.due_at == toy.when + timedelta(hours=24)
    later = toy.model_copy(update={"id": "toy-later"})
    later.document = later.document.model_copy(update={"published_at": NOW})
    store.write(Collection.signals, [later])
    refresh_candidates(store, now=NOW, signal_ids=["toy-later"])
    (again,) = store.iterate(Collection.candidates)
    assert again.due_at == cand.due_at and again.signal_count == 2


def test_a_decided_candidate_that_later_qualifies_for_the_immediate_tier_gets_no_new_deadline(tmp_path: Path) -> None:
    """Confirmed before it qualified: the analysts own it; a fresh 24-hour clock would be met by nothing."""
    store = _signals_store(tmp_path, "decided-then-immediate")
    (toy,) = toy_signals()
    no_hospital = toy.model_copy(update={"harm": [HarmKind.injury], "id": "toy-injury"})  # below the immediate rule
    store.write(Collection.signals, [no_hospital, no_hospital.model_copy(update={"id": "toy-injury2"})])
    refresh_candidates(store, now=NOW)
    (cand,) = store.iterate(Collection.candidates)
    assert cand.tier != Tier.immediate and cand.due_at is None
    confirmed = cand.model_copy(update={"status": CandidateStatus.confirmed})
    store.write(Collection.candidates, [confirmed], DuplicatePolicy.overwrite)
    store.write(Collection.signals, [toy])
    refresh_candidates(store, now=NOW, signal_ids=[toy.id])
    (again,) = store.iterate(Collection.candidates)
    assert again.tier == Tier.immediate and again.status is CandidateStatus.confirmed and again.due_at is None


def test_refresh_with_nothing_to_do(tmp_path: Path) -> None:
    store = _signals_store(tmp_path, "empty")
    assert refresh_candidates(store) == 0
    assert refresh_candidates(store, signal_ids=["missing"]) == 0


def test_refresh_keeps_an_analysts_merge_and_split(tmp_path: Path) -> None:
    from riskmine.review import workflow
    from riskmine.review.roles import SystemActor
    from riskmine.review.sqlite_repository import SQLiteReviewRepository

    store = _signals_store(tmp_path, "membership")
    db = SQLiteReviewRepository(tmp_path / "review.sqlite3")
    analyst = SystemActor("li", "analyst")
    store.write(Collection.signals, [*power_bank_signals(), *shampoo_signals(3, days=[2, 5])])
    refresh_candidates(store, now=NOW)
    by_key = {c.key: c for c in store.iterate(Collection.candidates)}
    fire, shampoo = by_key["充电宝|fire"], by_key["洗发水|chemical"]

    reduced, split_off = workflow.split(store, db, fire.id, fire.signal_ids[:2], analyst, now=NOW)
    merged = workflow.merge(store, db, shampoo.id, [split_off.id], analyst, now=NOW)
    expected_fire, expected_shampoo = set(reduced.signal_ids), set(merged.signal_ids)
    assert set(fire.signal_ids[:2]) <= expected_shampoo and not expected_fire & set(fire.signal_ids[:2])

    for signal_ids in (None, [fire.signal_ids[-1]], [shampoo.signal_ids[0]]):  # full and incremental refreshes
        refresh_candidates(store, now=NOW, signal_ids=signal_ids)
        after = {c.id: c for c in store.iterate(Collection.candidates)}
        assert set(after[fire.id].signal_ids) == expected_fire, signal_ids
        assert set(after[shampoo.id].signal_ids) == expected_shampoo, signal_ids
        assert after[split_off.id].status is CandidateStatus.merged and after[split_off.id].merged_into == shampoo.id
        assert after[shampoo.id].signal_count == len(expected_shampoo)
