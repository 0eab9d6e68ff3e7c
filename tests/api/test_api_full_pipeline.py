"""The API over the configured NLP pipeline (models trained or loaded on first use): slow."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from riskmine.api.app import create_app
from riskmine.review.users import UserStore
from riskmine.settings import Settings
from riskmine.store.base import Collection
from riskmine.store.sqlite import SQLiteStore

pytestmark = pytest.mark.slow

TEXTS = [
    ("jd", "review", "这个充电宝充电时突然起火了，把床单烧了一个洞。"),
    ("jd", "review", "充电宝用了一周就鼓包冒烟，晚上差点着火，太危险了。"),
    ("news", "news", "多地消费者反映某品牌充电宝充电时起火。"),
    ("jd", "review", "衣服颜色很好看，尺码也合适，物流很快。"),
]
ROWS = [
    {"source": source, "source_id": str(i), "source_type": kind, "text": text}
    for i, (source, kind, text) in enumerate(TEXTS, start=1)
]


def test_submit_process_and_review_with_the_configured_pipeline(
    settings: Settings, store: SQLiteStore, users: UserStore, login: Any
) -> None:
    app = create_app(settings, store=store, users=users)  # the configured pipeline, built on first use
    with TestClient(app) as client:
        headers = login("analyst", via=client)
        r = client.post("/api/v1/documents", json=ROWS, headers=headers)
        assert r.status_code == 201, r.text
        body = r.json()
        assert body["processed"] == 4
        assert body["risks"] >= 2
        assert store.count(Collection.signals) == 4
        risky = client.get("/api/v1/signals", params={"is_risk": "true", "hazard": "fire"}, headers=headers).json()
        assert risky["total"] >= 2
        queue = client.get("/api/v1/candidates", headers=headers).json()
        assert queue["total"] >= 1
        cand = client.get(queue["items"][0]["links"]["self"], headers=headers).json()
        for ev in cand["evidence"]:
            assert client.get(ev["document_url"], headers=headers).status_code == 200
        page = client.get(f"/candidates/{cand['id']}", headers=headers)
        assert page.status_code == 200
        assert "<mark" in page.text
        results = client.post("/api/v1/analyze", json=[{"id": "x", "text": ROWS[0]["text"]}], headers=headers).json()
        assert results[0]["is_risk"] is True
        assert "fire" in results[0]["hazards"]
