"""The audit router: admins read every change and export, newest first."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient


def test_audit_lists_changes_for_admins_only(
    client: TestClient, login: Callable[..., dict[str, str]], seeded: dict[str, Any]
) -> None:
    cid = seeded["candidates"][0].id
    analyst, admin = login("analyst"), login("admin")
    client.post(f"/api/v1/review/candidates/{cid}/assign", json={"assignee": "analyst-user"}, headers=analyst)
    client.get("/api/v1/review/feedback.jsonl", headers=analyst)
    assert client.get("/api/v1/audit", headers=analyst).status_code == 403
    assert client.get("/api/v1/audit").status_code == 401
    r = client.get("/api/v1/audit", headers=admin)
    assert r.status_code == 200
    actions = [e["action"] for e in r.json()["items"]]
    assert actions[:2] == ["feedback.export", "candidate.assign"]
    assign = client.get("/api/v1/audit", params={"target_id": cid}, headers=admin).json()["items"][0]
    assert assign["actor"] == "analyst-user" and assign["actor_role"] == "analyst"
    assert assign["before"]["assignee"] is None and assign["after"]["assignee"] == "analyst-user"
    assert client.get("/api/v1/audit", params={"since": "not-a-date"}, headers=admin).status_code == 422
