"""The reports API: role and organisation rules, the monthly draft → edit → file loop, immediate and thematic."""

from __future__ import annotations

from collections.abc import Callable
from io import BytesIO
from typing import Any

import pytest
from docx import Document
from fastapi.testclient import TestClient
from openpyxl import load_workbook

from riskmine.review.orgs import DEMO_ORGS
from riskmine.review.users import UserStore
from riskmine.store.base import Collection
from riskmine.store.sqlite import SQLiteStore
from tests.api.apikit import PASSWORD
from tests.reports.reportkit import make_candidate, seed, station_row

Login = Callable[..., dict[str, str]]


@pytest.fixture
def reports_store(store: SQLiteStore) -> SQLiteStore:
    seed(store)
    return store


def _login(client: TestClient, users: UserStore, name: str, role: str, org: str | None) -> dict[str, str]:
    users.create_user(name, PASSWORD, role, organisation=org)
    r = client.post("/api/v1/auth/token", data={"username": name, "password": PASSWORD})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


MONTHLY = "/api/v1/reports/monthly?period=2025-03"


@pytest.mark.parametrize("role", ["viewer", "publisher"])
def test_viewers_and_publishers_are_denied(
    client: TestClient, users: UserStore, reports_store: SQLiteStore, role: str
) -> None:
    headers = _login(client, users, f"{role}1", role, "示范中心")
    for url in (MONTHLY, "/api/v1/reports/thematic?category=充电宝&year=2025", "/api/v1/reports/immediate/c-fire"):
        r = client.get(url, headers=headers)
        assert r.status_code == 403, url


def test_anonymous_and_api_keys_are_denied(client: TestClient, users: UserStore, reports_store: SQLiteStore) -> None:
    assert client.get(MONTHLY).status_code == 401
    user = users.create_user("machine", PASSWORD, "analyst", organisation=None)
    _, secret = users.create_api_key(user.id, "ci")
    r = client.get(MONTHLY, headers={"X-API-Key": secret})
    assert r.status_code == 403 and "API keys" in r.text


def test_station_reports_for_its_own_organisation_only(
    client: TestClient, users: UserStore, reports_store: SQLiteStore
) -> None:
    headers = _login(client, users, "station1", "station", "示范站")
    r = client.get(MONTHLY, headers=headers)
    assert r.status_code == 200, r.text
    assert r.json()["organisation"] == "示范站"
    assert [row["candidate_ids"] for row in r.json()["rows"]] == [["c-kettle"]]
    assert client.get(MONTHLY + "&org=示范中心", headers=headers).status_code == 403
    assert client.get("/api/v1/reports/immediate/c-fire", headers=headers).status_code == 404


def test_analyst_outside_the_subtree_is_refused(
    client: TestClient, users: UserStore, reports_store: SQLiteStore
) -> None:
    headers = _login(client, users, "analyst1", "analyst", "示范中心")
    assert client.get(MONTHLY + "&org=别的中心", headers=headers).status_code == 403
    assert client.get(MONTHLY, headers=headers).status_code == 200


def test_monthly_draft_edit_and_render(client: TestClient, users: UserStore, reports_store: SQLiteStore) -> None:
    headers = _login(client, users, "admin1", "admin", None)
    body = {"name": "示范中心", "level": "province", "parent": None}
    assert client.post("/api/v1/review/orgs", json=body, headers=headers).status_code == 201
    r = client.get(MONTHLY + "&org=示范中心&form=general&phone=010-1", headers=headers)
    assert r.status_code == 200, r.text
    draft: dict[str, Any] = r.json()
    assert draft["columns"][0] == "涉及产品" and draft["due"] == "2025-03-25"
    draft["rows"][0]["cells"]["初步建议"] = "建议开展专项整治。"
    r = client.post("/api/v1/reports/monthly/render?format=xlsx", json=draft, headers=headers)
    assert r.status_code == 200, r.text
    assert "attachment" in r.headers["content-disposition"]
    ws = load_workbook(BytesIO(r.content)).active
    assert ws["F4"].value == "建议开展专项整治。"
    r = client.post("/api/v1/reports/monthly/render?format=csv", json=draft, headers=headers)
    assert r.content.startswith(b"\xef\xbb\xbf")
    r = client.post("/api/v1/reports/monthly/render?format=docx", json=draft, headers=headers)
    assert r.status_code == 200 and r.headers["content-disposition"].endswith(".docx")
    cells = [c.text for t in Document(BytesIO(r.content)).tables for row in t.rows for c in row.cells]
    assert "建议开展专项整治。" in cells
    r = client.post("/api/v1/reports/monthly/render?format=pdf", json=draft, headers=headers)
    assert r.status_code == 200 and r.headers["content-type"] == "application/pdf" and r.content.startswith(b"%PDF")
    draft["rows"][0]["cells"]["备注"] = "x"
    r = client.post("/api/v1/reports/monthly/render", json=draft, headers=headers)
    assert r.status_code == 422
    assert r.json()["error"]["code"] == "invalid_draft"
    assert "row 1: unknown column '备注'" in r.json()["error"]["message"]
    assert client.get("/api/v1/reports/monthly?period=2025-13", headers=headers).status_code == 400


def test_immediate_and_thematic(client: TestClient, users: UserStore, reports_store: SQLiteStore) -> None:
    headers = _login(client, users, "analyst2", "analyst", None)
    r = client.get("/api/v1/reports/immediate/c-fire", headers=headers)
    assert r.status_code == 200 and "重要风险信息及时报告" in r.text
    assert client.get("/api/v1/reports/immediate/c-kettle", headers=headers).status_code == 409
    r = client.get("/api/v1/reports/thematic?category=充电宝&year=2025&format=docx", headers=headers)
    assert r.status_code == 200
    assert Document(BytesIO(r.content)).paragraphs[0].text == "2025年充电宝产品质量安全形势专题分析报告"
    r = client.get("/api/v1/reports/thematic?category=充电宝&year=2025&format=pdf", headers=headers)
    assert r.status_code == 200 and r.content.startswith(b"%PDF")
    r = client.get("/api/v1/reports/immediate/c-fire?format=pdf", headers=headers)
    assert r.status_code == 200 and r.content.startswith(b"%PDF") and "c-fire.pdf" in r.headers["content-disposition"]
    r = client.get("/api/v1/reports/thematic?category=充电宝&year=2025", headers=headers)
    assert r.status_code == 200 and "四、下步工作建议" in r.text
    r = client.get("/api/v1/reports/thematic?category=移动电源&year=2025", headers=headers)  # a synonym
    assert r.status_code == 200 and "充电宝" in r.text


def test_unknown_organisations_and_categories_are_refused(
    client: TestClient, users: UserStore, reports_store: SQLiteStore
) -> None:
    headers = _login(client, users, "analyst3", "analyst", None)
    r = client.get(MONTHLY + "&org=不存在的站", headers=headers)
    assert r.status_code == 400 and "未知的单位“不存在的站”" in r.json()["error"]["message"]
    assert "示范站" in r.json()["error"]["message"]  # the known names
    r = client.get("/api/v1/reports/thematic?category=不存在的品类&year=2025", headers=headers)
    assert r.status_code == 400 and "未知的产品类别“不存在的品类”" in r.json()["error"]["message"]


def test_county_form_holds_its_stations_rows_and_no_other_stations(
    client: TestClient, users: UserStore, store: SQLiteStore
) -> None:
    """The organisation tree gives a county's form its stations' uploads, and only theirs."""
    admin = _login(client, users, "admin2", "admin", None)
    for name, level, parent in DEMO_ORGS:
        body = {"name": name, "level": level.value, "parent": parent}
        assert client.post("/api/v1/review/orgs", json=body, headers=admin).status_code == 201
    own = station_row("u1", "武侯区产品质量监测站", keyword="电热毯", product="彩虹电热毯", shop="彩虹店")
    other = station_row("u2", "锦江区监测站")
    store.write(Collection.signals, [own, other])
    store.write(
        Collection.candidates,
        [make_candidate("c1", [own], organisation="武侯区产品质量监测站"), make_candidate("c2", [other])],
    )
    headers = _login(client, users, "wuhou", "analyst", "武侯区")
    r = client.get(MONTHLY + "&form=ecommerce", headers=headers)
    assert r.status_code == 200, r.text
    assert [row["cells"]["商品名称"] for row in r.json()["rows"]] == ["彩虹电热毯"]
    assert client.get(MONTHLY + "&org=武侯区产品质量监测站", headers=headers).status_code == 200
