"""GET /api/v1/sources: each configured source with its interval and crawl health, flagged sources."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from riskmine.crawler.health import FAIL_THRESHOLD, record_run
from riskmine.crawler.run import CrawlReport
from riskmine.settings import Settings

SOURCES = """
[source.news-a]
spider = "news"
start_urls = ["https://news.example.com/rss.xml"]
interval = "6h"

[source.shop-b]
spider = "reviews"
start_urls = ["https://shop.example.com/p/1.html"]
interval = "30m"
enabled = false
"""


@pytest.fixture
def sources_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "sources.toml"
    path.write_text(SOURCES, encoding="utf-8")
    monkeypatch.setenv("RISKMINE_CRAWL_SOURCES", str(path))
    return path


@pytest.fixture(autouse=True)
def _reads_as_analyst(reader: TestClient) -> None:
    """Every test here reads as a logged-in analyst: the sources need a login in every mode."""


def test_sources_show_schedule_and_health(client: TestClient, settings: Settings, sources_file: Path) -> None:
    ok = CrawlReport("news-a", "2024-05-01T00:00:00+00:00", "2024-05-01T00:05:00+00:00", "finished", 5, 3, errors=1)
    record_run(settings, ok)
    for i in range(FAIL_THRESHOLD):
        record_run(settings, CrawlReport("shop-b", "t", f"2024-05-0{i + 2}T00:00:00+00:00", "finished", errors=2))
    record_run(settings, CrawlReport("retired", "t", "2024-04-01T00:00:00+00:00", "finished", 1, 1))

    r = client.get("/api/v1/sources")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["sources_file"] == str(sources_file) and body["flagged"] == ["shop-b"]
    items = {i["source"]: i for i in body["items"]}
    assert list(items) == ["news-a", "retired", "shop-b"]
    news = items["news-a"]
    assert (news["interval"], news["interval_seconds"], news["spider"], news["enabled"]) == ("6h", 21600, "news", True)
    assert (news["items"], news["new_items"], news["errors"], news["runs"]) == (5, 3, 1, 1)
    assert news["last_run"] == news["last_success"] == "2024-05-01T00:05:00+00:00"
    assert news["consecutive_failures"] == 0 and news["flagged"] is False and news["due"] is True
    shop = items["shop-b"]
    assert shop["interval"] == "30m" and shop["enabled"] is False and shop["due"] is False
    assert shop["consecutive_failures"] == FAIL_THRESHOLD and shop["flagged"] is True
    assert shop["last_success"] is None and "2 errors" in shop["last_error"]
    assert items["retired"]["configured"] is False and items["retired"]["interval"] is None


def test_a_source_never_run_is_listed_and_due(client: TestClient, sources_file: Path) -> None:
    items = {i["source"]: i for i in client.get("/api/v1/sources").json()["items"]}
    assert items["news-a"]["last_run"] is None and items["news-a"]["runs"] == 0 and items["news-a"]["due"] is True


def test_a_broken_sources_file_is_a_clear_503(client: TestClient, sources_file: Path) -> None:
    sources_file.write_text('[source.x]\nspider = "bogus"\n', encoding="utf-8")
    r = client.get("/api/v1/sources")
    assert r.status_code == 503
    assert (
        r.json()["error"]["code"] == "sources_config_invalid"
        and "'spider' must be one of" in r.json()["error"]["message"]
    )


def test_sources_need_a_login_in_every_mode(make_client: Callable[..., TestClient], sources_file: Path) -> None:
    for env in ("development", "production"):
        assert make_client(env=env).get("/api/v1/sources").status_code == 401


def test_a_failed_source_says_why_in_the_api_and_the_console(
    client: TestClient, settings: Settings, sources_file: Path, users: Any
) -> None:
    from tests.api.test_api_console import console_login

    forbidden = CrawlReport("news-a", "t0", "2024-05-01T00:00:00+00:00", "finished", failure="http_forbidden")
    forbidden.failure_status = 403
    record_run(settings, forbidden)
    record_run(settings, CrawlReport("shop-b", "t0", "2024-05-01T00:00:00+00:00", "finished", 3, 3))

    items = {i["source"]: i for i in client.get("/api/v1/sources").json()["items"]}
    assert items["news-a"]["failure_reason"] == "被拒绝访问（HTTP 403）"
    assert items["news-a"]["last_failure"] == {
        "code": "http_forbidden",
        "status": 403,
        "label": "被拒绝访问（HTTP 403）",
    }
    assert items["shop-b"]["failure_reason"] is None and items["shop-b"]["last_failure"] is None

    client.headers.pop("Authorization", None)
    assert client.get("/sources", follow_redirects=False).status_code == 303  # the console needs a login
    console_login(client, users, "viewer")
    html = client.get("/sources").text
    row = html.split('id="source-news-a"', 1)[1].split("</tr>", 1)[0]
    assert "被拒绝访问（HTTP 403）" in row and "新闻舆情" in row
    assert 'href="/sources"' in html
