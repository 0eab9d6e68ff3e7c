"""The advisories router and its Atom feed."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from xml.etree import ElementTree

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError

from riskmine.settings import Settings

A = "/api/v1/advisories"


def test_draft_approve_publish_and_feed(
    client: TestClient, login: Callable[..., dict[str, str]], seeded: dict[str, Any]
) -> None:
    cid = seeded["candidates"][0].id
    analyst, publisher = login("analyst"), login("publisher")
    r = client.post(A, json={"candidate_id": cid, "kind": "consumer_advisory"}, headers=analyst)
    assert r.status_code == 422 and "confirmed" in r.json()["error"]["message"]
    decision = {"status": "confirmed", "risk_level": "medium", "warning_color": "yellow", "rationale": "r"}
    assert client.post(f"/api/v1/review/candidates/{cid}/decisions", json=decision, headers=analyst).status_code == 201
    body = {"candidate_id": cid, "kind": "consumer_advisory", "title": "<script>alert(1)</script>充电宝提示"}
    assert client.post(A, json=body, headers=publisher).status_code == 403
    r = client.post(A, json=body, headers=analyst)
    assert r.status_code == 201 and r.json()["status"] == "draft"
    aid = r.json()["id"]
    assert client.get(A).json()["total"] == 0  # not visible before approval
    assert client.get(f"{A}/{aid}").status_code == 404
    assert client.get(A, params={"status": "draft"}, headers=publisher).json()["total"] == 1
    assert client.post(f"{A}/{aid}/approve", headers=analyst).status_code == 403
    r = client.post(f"{A}/{aid}/approve", headers=publisher)
    assert r.status_code == 200 and r.json()["status"] == "published"
    assert client.post(f"{A}/{aid}/approve", headers=publisher).status_code == 409
    listed = client.get(A).json()
    assert [a["id"] for a in listed["items"]] == [aid]
    assert client.get(f"{A}/{aid}", headers=login("api_consumer")).json()["title"].startswith("<script>")
    feed = client.get(f"{A}/feed.atom")
    assert feed.status_code == 200 and feed.headers["content-type"].startswith("application/atom+xml")
    assert b"<script>" not in feed.content
    root = ElementTree.fromstring(feed.content)
    titles = [e.findtext("{http://www.w3.org/2005/Atom}title") for e in root.iter("{http://www.w3.org/2005/Atom}entry")]
    assert titles == ["<script>alert(1)</script>充电宝提示"]
    r = client.post(A, json={"candidate_id": cid, "kind": "press_release"}, headers=analyst)
    assert r.status_code == 422


def test_feed_links_come_from_the_configured_address_not_the_host_header(
    make_client: Callable[..., TestClient],
) -> None:
    client = make_client(public_url="https://riskmine.example.cn/")
    feed = client.get(f"{A}/feed.atom", headers={"Host": "evil.example"})
    assert feed.status_code == 200
    assert b"evil.example" not in feed.content
    root = ElementTree.fromstring(feed.content)
    assert root.findtext("{http://www.w3.org/2005/Atom}id") == "https://riskmine.example.cn/api/v1/advisories/feed.atom"
    links = [e.get("href") for e in root.iter("{http://www.w3.org/2005/Atom}link")]
    assert links == ["https://riskmine.example.cn/api/v1/advisories/feed.atom"]


@pytest.mark.parametrize("url", ["//evil.example", "javascript:alert(1)", "riskmine.example.cn"])
def test_public_url_must_be_an_absolute_web_address(url: str) -> None:
    with pytest.raises(ValidationError, match="不是网址"):
        Settings(public_url=url)
