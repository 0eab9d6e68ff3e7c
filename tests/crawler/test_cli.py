"""`riskmine status` shows the crawl sources with their health; `riskmine sources` lists them."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from riskmine.cli import app
from riskmine.crawler.health import FAIL_THRESHOLD, record_run
from riskmine.crawler.run import CrawlReport
from riskmine.settings import get_settings

SOURCES = """
[source.news-a]
spider = "news"
start_urls = ["https://news.example.com/rss.xml"]
interval = "6h"

[source.notices-b]
spider = "notices"
start_urls = ["https://gov.example.com/list.html"]
interval = "1d"
"""


def test_status_shows_source_health_and_flags(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "sources.toml"
    path.write_text(SOURCES, encoding="utf-8")
    monkeypatch.setenv("RISKMINE_CRAWL_SOURCES", str(path))
    monkeypatch.setenv("COLUMNS", "250")
    settings = get_settings()
    record_run(settings, CrawlReport("news-a", "t0", "2024-05-01T08:00:00+00:00", "finished", 7, 4))
    for _ in range(FAIL_THRESHOLD):
        record_run(settings, CrawlReport("notices-b", "t0", "2024-05-02T08:00:00+00:00", "finished", errors=3))

    result = CliRunner().invoke(app, ["status"])
    assert result.exit_code == 0, result.output
    assert "crawl sources" in result.output
    lines = {line.split("│")[1].strip(): line for line in result.output.splitlines() if line.count("│") > 5}
    news = [c.strip() for c in lines["news-a"].split("│")[1:-1]]
    assert news == ["news-a", "6h", "2024-05-01T08:00:00+00:00", "7", "4", "0", "2024-05-01T08:00:00+00:00", "0", "due"]
    notices = [c.strip() for c in lines["notices-b"].split("│")[1:-1]]
    assert notices[1] == "1d" and notices[5] == "3" and notices[6] == "-"
    assert notices[7] == str(FAIL_THRESHOLD) and notices[8] == "FLAGGED"


def test_status_says_when_the_sources_file_is_broken(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "sources.toml"
    path.write_text("[source.x\n", encoding="utf-8")
    monkeypatch.setenv("RISKMINE_CRAWL_SOURCES", str(path))
    monkeypatch.setenv("COLUMNS", "400")
    result = CliRunner().invoke(app, ["status"])
    assert result.exit_code == 0, result.output
    assert "crawl sources cannot be read" in result.output and "not valid TOML" in result.output
