"""The sources page in headless Chromium: an analyst finds it in the menu and reads why a source failed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from riskmine.crawler.health import record_run
from riskmine.crawler.run import CrawlReport
from tests.browser.test_browser_console import _by, login, navigate

pytestmark = pytest.mark.browser


def test_an_analyst_reads_why_a_source_failed(
    live_app: dict[str, Any], browser: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sources = tmp_path / "sources.toml"
    sources.write_text(
        '[source.gov-notices]\nspider = "notices"\nstart_urls = ["https://gov.example.cn/list.html"]\n',
        encoding="utf-8",
    )
    monkeypatch.setenv("RISKMINE_CRAWL_SOURCES", str(sources))
    refused = CrawlReport("gov-notices", "t0", "2024-05-01T00:00:00+00:00", "finished", failure="connection_refused")
    record_run(live_app["settings"], refused)

    By = _by()
    base = live_app["url"]
    login(browser, base, "analyst")
    navigate(browser, browser.find_element(By.LINK_TEXT, "采集来源"))
    assert browser.current_url == base + "/sources"
    row = browser.find_element(By.ID, "source-gov-notices").text
    assert "连接被拒绝（connection refused）" in row and "召回" in row
