"""GET /health."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from riskmine import __version__


def test_health_reports_status_version_and_counts(client: TestClient, seeded: dict[str, Any]) -> None:
    r = client.get("/health")
    assert r.status_code == 200
    body = r.json()
    assert body["status"] == "ok"
    assert body["version"] == __version__
    assert body["store"]["documents"] == len(seeded["documents"])
    assert body["store"]["signals"] == seeded["processed"]
    assert body["store"]["candidates"] == seeded["candidate_count"]
    assert body["store"]["risk_signals"] == 5
    assert body["pipeline_loaded"] is False


def test_health_on_an_empty_store(client: TestClient) -> None:
    body = client.get("/health").json()
    assert body["store"] == {"documents": 0, "signals": 0, "candidates": 0, "decisions": 0, "risk_signals": 0}
