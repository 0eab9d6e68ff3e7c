"""Documents in, signals and candidate risks out, through the real stages and the SQLite store."""

from __future__ import annotations

from pathlib import Path

import pytest

from riskmine.pipeline import Pipeline
from riskmine.processing import pending_document_ids, process_documents, refresh_candidates
from riskmine.schema import CandidateStatus, RawDocument
from riskmine.settings import Settings
from riskmine.store.base import Collection, DuplicatePolicy
from riskmine.store.sqlite import SQLiteStore

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
