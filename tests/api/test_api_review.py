"""The review router: transitions, assignment, comments, decisions, merge/split, objections, overdue, feedback."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient

R = "/api/v1/review"


def _ids(seeded: dict[str, Any]) -> tuple[str, str]:
    cands = {c.key: c for c in seeded["candidates"]}
    return cands["充电宝|fire"].id, cands["电热水壶|electric_shock"].id


def test_review_flow_over_http(
    client: TestClient, login: Callable[..., dict[str, str]], seeded: dict[str, Any]
) -> None:
    fire, kettle = _ids(seeded)
    analyst, viewer = login("analyst"), login("viewer")
    r = client.post(f"{R}/candidates/{fire}/transition", json={"to": "closed"}, headers=analyst)
    assert r.status_code == 409 and r.json()["error"]["code"] == "invalid_transition"
    assert client.post(f"{R}/candidates/{fire}/transition", json={"to": "in_review"}, headers=viewer).status_code == 403
    r = client.post(f"{R}/candidates/{fire}/assign", json={"assignee": "analyst-user"}, headers=analyst)
    assert r.status_code == 200 and r.json()["status"] == "in_review" and r.json()["assignee"] == "analyst-user"
    r = client.post(f"{R}/candidates/{fire}/comments", json={"text": "需要抽检"}, headers=analyst)
    assert r.status_code == 201
    assert [c["text"] for c in client.get(f"{R}/candidates/{fire}/comments", headers=viewer).json()] == ["需要抽检"]
    bad = client.post(
        f"{R}/candidates/{fire}/decisions", json={"status": "confirmed", "rationale": "x"}, headers=analyst
    )
    assert bad.status_code == 422 and "risk level" in bad.json()["error"]["message"]
    body = {
        "status": "confirmed",
        "risk_level": "high",
        "warning_color": "red",
        "measures": ["spot_check", "recall_advice"],
        "rationale": "多源起火报告",
    }
    r = client.post(f"{R}/candidates/{fire}/decisions", json=body, headers=analyst)
    assert r.status_code == 201 and r.json()["decided_by"] == "analyst-user"
    assert client.get(f"{R}/candidates/{fire}/decisions", headers=viewer).json()[0]["warning_color"] == "red"
    # confirmed red: its immediate report is written at once, which meets the 24-hour deadline; the kettle,
    # found in the immediate tier when its injury report was collected just now, has 24 hours left
    assert client.get(f"{R}/overdue", headers=viewer).json() == {"total": 0, "items": []}
    assert client.get(f"/api/v1/candidates/{fire}", headers=viewer).json()["deadline"] is None
    running = client.get(f"/api/v1/candidates/{kettle}", headers=viewer).json()["deadline"]
    assert running["kind"] == "major_risk_report" and running["overdue"] is False
    assert 23.0 < running["remaining_hours"] <= 24.0 and running["overdue_hours"] is None
    listed = {c["id"]: c for c in client.get("/api/v1/candidates", headers=viewer).json()["items"]}
    assert listed[kettle]["deadline"]["kind"] == "major_risk_report" and listed[fire]["deadline"] is None
    r = client.post(
        f"{R}/candidates/{fire}/objections",
        json={"objector": "某电子公司", "objector_kind": "producer", "text": "样品非我司生产"},
        headers=analyst,
    )
    assert r.status_code == 201
    oid = r.json()["id"]
    # no date of receipt given: counted from the decision, and the answer says so
    assert r.json()["result_received_at"] is None and r.json()["deadline_basis"] == "decision"
    assert "未登记" in r.json()["deadline_note"] and "研判" in r.json()["deadline_note"]
    decided = client.get(f"{R}/candidates/{fire}/decisions", headers=viewer).json()[0]["decided_at"]
    known = client.post(
        f"{R}/candidates/{fire}/objections",
        json={"objector": "某商店", "objector_kind": "seller", "text": "异议", "result_received_at": decided[:19]},
        headers=analyst,
    )
    assert known.status_code == 201 and known.json()["deadline_basis"] == "result_received"  # no zone: UTC
    assert known.json()["deadline_note"] == "自收到结果之日起 15 日内"
    early = client.post(
        f"{R}/candidates/{fire}/objections",
        json={"objector": "x", "objector_kind": "seller", "text": "y", "result_received_at": "2020-01-01T00:00:00"},
        headers=analyst,
    )
    assert early.status_code == 422 and "before the decision" in early.json()["error"]["message"]
    client.post(f"{R}/objections/{known.json()['id']}/answer", json={"answer": "维持"}, headers=analyst)
    assert [o["id"] for o in client.get(f"{R}/objections?status=open", headers=viewer).json()] == [oid]
    r = client.post(f"{R}/objections/{oid}/answer", json={"answer": "维持结论"}, headers=analyst)
    assert r.status_code == 200 and r.json()["status"] == "answered"
    late = client.post(
        f"{R}/candidates/{fire}/objections",
        json={"objector": "x", "objector_kind": "seller", "text": "迟", "received_at": "2099-01-01T00:00:00Z"},
        headers=analyst,
    )
    assert late.status_code == 422 and late.json()["error"]["code"] == "deadline_passed"
    lines = client.get(f"{R}/feedback.jsonl", headers=analyst)
    assert lines.status_code == 200 and lines.headers["content-type"].startswith("application/x-ndjson")
    rows = [json.loads(x) for x in lines.text.splitlines()]
    assert rows and all(row["is_risk"] for row in rows)
    assert client.get(f"{R}/feedback.jsonl", headers=viewer).status_code == 403


def test_merge_split_and_unknown_candidate(
    client: TestClient, login: Callable[..., dict[str, str]], seeded: dict[str, Any]
) -> None:
    fire, kettle = _ids(seeded)
    analyst = login("analyst")
    body = {"candidate_ids": [kettle], "reason": "同一批次插线板"}
    r = client.post(f"{R}/candidates/{fire}/merge", json=body, headers=analyst)
    assert r.status_code == 200 and r.json()["merged"] == [kettle]
    merged_signals = r.json()["signal_ids"]
    kettle_view = client.get(f"/api/v1/candidates/{kettle}", headers=analyst).json()
    assert kettle_view["status"] == "merged"
    moved = merged_signals[-1:]
    r = client.post(f"{R}/candidates/{fire}/split", json={"signal_ids": moved, "reason": "另一产品"}, headers=analyst)
    assert r.status_code == 201 and r.json()["new_candidate"]["signal_ids"] == moved
    # the reviewer's reasons are kept in the audit entries of the merge and the split
    events = client.get("/api/v1/audit", params={"target_id": fire}, headers=login("admin")).json()["items"]
    reasons = {e["action"]: e["after"].get("reason") for e in events}
    assert reasons["candidate.merge"] == "同一批次插线板" and reasons["candidate.split"] == "另一产品"
    too_long = {"candidate_ids": [kettle], "reason": "长" * 2001}
    assert client.post(f"{R}/candidates/{fire}/merge", json=too_long, headers=analyst).status_code == 422
    r = client.post(f"{R}/candidates/nope/transition", json={"to": "in_review"}, headers=analyst)
    assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"
    r = client.post(f"{R}/candidates/{fire}/transition", json={"to": "bogus"}, headers=analyst)
    assert r.status_code == 422


def test_orgs_over_http(client: TestClient, login: Callable[..., dict[str, str]]) -> None:
    admin = login("admin")
    assert client.post(f"{R}/orgs", json={"name": "四川省", "level": "province"}, headers=admin).status_code == 201
    r = client.post(f"{R}/orgs", json={"name": "成都市", "level": "city", "parent": "四川省"}, headers=login("analyst"))
    assert r.status_code == 403
    r = client.post(f"{R}/orgs", json={"name": "青羊区", "level": "county", "parent": "四川省"}, headers=admin)
    assert r.status_code == 422 and "cannot sit under" in r.json()["error"]["message"]
    assert client.get(f"{R}/orgs", headers=login("viewer")).json() == [
        {"name": "四川省", "level": "province", "children": []}
    ]
