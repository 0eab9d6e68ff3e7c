"""Review test fixtures: a real SQLite store with seeded candidates, the review database, actors."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from riskmine.processing import process_documents, refresh_candidates
from riskmine.review.orgs import ensure_demo_orgs
from riskmine.review.roles import SystemActor
from riskmine.review.sqlite_repository import SQLiteReviewRepository
from riskmine.schema import CandidateRisk
from riskmine.store.base import Collection
from riskmine.store.sqlite import SQLiteStore
from tests.api.apikit import SEED_DOCUMENTS, keyword_pipeline

ANALYST = SystemActor("li", "analyst")
ADMIN = SystemActor("root", "admin")
PUBLISHER = SystemActor("pub", "publisher")
VIEWER = SystemActor("view", "viewer")
STATION = SystemActor("lab", "station", "武侯区产品质量监测站")
CONSUMER = SystemActor("feed", "api_consumer")


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SQLiteStore]:
    s = SQLiteStore(tmp_path / "store.sqlite3")
    s.write(Collection.documents, SEED_DOCUMENTS)
    process_documents(s, keyword_pipeline(), [d.id for d in SEED_DOCUMENTS])
    # "now" is the clock unless told; these seeds are of May 2024, so the review tests are built as of then
    refresh_candidates(s, now=max(d.published_at for d in SEED_DOCUMENTS if d.published_at))
    yield s
    s.close()


@pytest.fixture
def db(tmp_path: Path) -> SQLiteReviewRepository:
    review = SQLiteReviewRepository(tmp_path / "review.sqlite3")
    ensure_demo_orgs(review, ADMIN)
    return review


@pytest.fixture
def candidates(store: SQLiteStore) -> list[CandidateRisk]:
    items = store.query(Collection.candidates, sort="priority", limit=50).items
    assert len(items) >= 2
    return items
