"""The review console pages: queue, candidate detail, signal search, login; crawled text stays inert."""

from __future__ import annotations

import re
from typing import Any

import pytest
from fastapi.testclient import TestClient

from riskmine.api.render import SECURITY_HEADERS
from tests.api.apikit import HOSTILE_TEXT


def fire_candidate(seeded: dict[str, Any]) -> Any:
    return next(c for c in seeded["candidates"] if c.product_category == "充电宝")


def test_queue_page_lists_candidates(client: TestClient, seeded: dict[str, Any]) -> None:
    r = client.get("/")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/html")
    for header, value in SECURITY_HEADERS.items():
        assert r.headers[header] == value
    html = r.text
    assert "候选风险队列" in html
    for cand in seeded["candidates"]:
        assert f'href="/candidates/{cand.id}"' in html
    assert "立即处置" in html  # tier label
    assert "触电" in html  # hazard label
    assert "高风险" in html  # level badge
    assert "2024-05-11" in html  # last seen
    assert "<script" not in html


def test_queue_filters(client: TestClient, seeded: dict[str, Any]) -> None:
    fire = fire_candidate(seeded)
    html = client.get("/", params={"hazard": "fire", "tier": "", "region": ""}).text
    assert f"/candidates/{fire.id}" in html
    assert all(f"/candidates/{c.id}" not in html for c in seeded["candidates"] if c.id != fire.id)
    assert '<option value="fire" selected>' in html
    # unknown values in a hand-edited URL are ignored, not a crash
    assert client.get("/", params={"hazard": "lasers", "page": "x"}).status_code == 200


def test_candidate_page_escapes_hostile_text_and_highlights_spans(client: TestClient, seeded: dict[str, Any]) -> None:
    fire = fire_candidate(seeded)
    r = client.get(f"/candidates/{fire.id}")
    assert r.status_code == 200
    html = r.text
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<img src=x" not in html
    assert "&lt;img src=x onerror=alert(2)&gt;" in html
    assert "<script" not in html
    assert re.search(r'<mark class="hz hz-fire" title="[^"]*">自燃</mark>', html)
    assert re.search(r'<mark class="hz hz-fire" title="[^"]*">起火</mark>', html)
    # a javascript: URL is never made a link
    assert 'href="javascript:' not in html
    assert "原文链接不可用" in html
    # evidence links back to the stored documents, and they resolve
    links = re.findall(r'href="(/api/v1/documents/[^"]+)"', html)
    assert len(links) == 3
    for link in links:
        assert client.get(link).status_code == 200
    assert 'href="https://shop.example.com/item/r1"' in html
    # counts by source type and week are drawn
    assert "电商评论" in html and "新闻" in html and "投诉" in html
    assert "2024-W19" in html
    assert "<svg" in html


def test_hostile_title_is_escaped(client: TestClient, seeded: dict[str, Any]) -> None:
    r = client.get("/signals", params={"q": "自燃"})
    assert r.status_code == 200
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in r.text
    assert "<script>" not in r.text
    assert HOSTILE_TEXT not in r.text


@pytest.mark.parametrize(
    "q",
    [
        "<script>alert(1)</script>",
        '"><img src=x onerror=alert(1)>',
        "' OR 1=1 --",
        'NEAR("充电宝"',
        "*",
        "\u202e起火",
    ],
)
def test_hostile_search_strings_render_inert(client: TestClient, seeded: dict[str, Any], q: str) -> None:
    r = client.get("/signals", params={"q": q})
    assert r.status_code == 200
    assert "<script>alert" not in r.text
    assert "<img src=x" not in r.text
    assert 'value="' in r.text


def test_query_is_not_evaluated_as_a_template(client: TestClient) -> None:
    r = client.get("/signals", params={"q": "{{ 7*7 }}"})
    assert 'value="{{ 7*7 }}"' in r.text
    assert "“{{ 7*7 }}”" in r.text


def test_signal_search_page(client: TestClient, seeded: dict[str, Any]) -> None:
    r = client.get("/signals", params={"q": "电热水壶"})
    html = r.text
    assert "共 2 条" in html
    assert '<mark class="hz hz-electric_shock"' in html
    assert 'value="电热水壶"' in html
    r = client.get("/signals", params={"hazard": "fire", "is_risk": "1", "source_type": ""})
    assert "共 3 条" in r.text
    r = client.get("/signals")
    assert "共 7 条" in r.text


def test_login_page(client: TestClient) -> None:
    r = client.get("/login", params={"next": "//evil.example"})
    assert r.status_code == 200
    assert 'name="next" value="/"' in r.text
    assert 'type="password"' in r.text


def test_static_css_is_served(client: TestClient) -> None:
    r = client.get("/static/console.css")
    assert r.status_code == 200
    assert "text/css" in r.headers["content-type"]


def test_pages_load_no_external_assets(client: TestClient, seeded: dict[str, Any]) -> None:
    for path in ("/", f"/candidates/{fire_candidate(seeded).id}", "/signals", "/login"):
        html = client.get(path).text
        assert not re.search(r'(src|href)="(https?:)?//(?!shop\.example\.com)', html), path
