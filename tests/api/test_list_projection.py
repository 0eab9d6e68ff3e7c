"""List views read records without the fields they never show (``Store.query(omit=...)``): their responses are
the same as when they read whole records."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from riskmine.api.routers import candidates as candidates_router
from riskmine.api.routers import signals as signals_router
from riskmine.api.routers.console import queue as queue_router
from tests.api.test_api_console import console_login

CANDIDATE_LISTS = [
    "/api/v1/candidates",
    "/api/v1/candidates?limit=2&offset=1",
    "/api/v1/candidates?sort=signal_count&order=asc",
    "/api/v1/candidates?hazard=fire",
    "/api/v1/candidates?q=充电宝",
]
SIGNAL_LISTS = [
    "/api/v1/signals",
    "/api/v1/signals?q=起火",
    "/api/v1/signals?sort=risk_score&limit=3",
    "/api/v1/signals?is_risk=true&order=asc",
]
QUEUE_PAGES = ["/", "/?tier=immediate", "/?hazard=fire", "/?page=2"]


def responses(client: TestClient, paths: list[str]) -> list[Any]:
    out = []
    for path in paths:
        r = client.get(path)
        assert r.status_code == 200, r.text
        out.append(r.json() if path.startswith("/api/") else r.text)
    return out


def test_api_lists_are_the_same_as_from_whole_records(
    reader: TestClient, seeded: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    assert seeded["candidates"]
    new = responses(reader, CANDIDATE_LISTS + SIGNAL_LISTS)
    assert any(r["items"] for r in new)
    monkeypatch.setattr(candidates_router, "LIST_OMIT", ())
    monkeypatch.setattr(signals_router, "LIST_OMIT", ())
    reader.app.state.riskmine.responses.clear()  # type: ignore[attr-defined]
    assert responses(reader, CANDIDATE_LISTS + SIGNAL_LISTS) == new


def test_console_queue_is_the_same_as_from_whole_records(
    client: TestClient, users: Any, seeded: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    console_login(client, users, "analyst")
    new = responses(client, QUEUE_PAGES)
    assert fire_title(seeded) in new[0]
    monkeypatch.setattr(queue_router, "LIST_OMIT", ())
    assert responses(client, QUEUE_PAGES) == new


def fire_title(seeded: dict[str, Any]) -> str:
    return str(seeded["candidates"][0].title)
