"""GET /health."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from riskmine import __version__
from riskmine.settings import Settings


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


def test_health_names_the_served_risk_model(client: TestClient, settings: Settings) -> None:
    from riskmine.models.registry import current_version, serving_name

    body = client.get("/health").json()
    name = serving_name(settings)
    assert body["risk_model"] == {"name": name, "version": current_version(settings, name)}
    assert name in ("risk-baseline", "risk-cascade")


def test_a_wrong_risk_model_setting_is_refused_before_the_app_starts() -> None:
    from riskmine.settings import SettingsError, load_settings

    with pytest.raises(SettingsError, match=r"RISKMINE_RISK_MODEL: .*'auto', 'risk-baseline' or 'risk-cascade'"):
        load_settings(risk_model="risk-bert")
