"""`riskmine status` shows the crawl sources with their health; `riskmine sources` lists them."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from riskmine.cli import app
from riskmine.crawler.health import FAIL_THRESHOLD, record_run
from riskmine.crawler.run import CrawlReport
from riskmine.settings import Settings, get_settings

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


@pytest.fixture
def settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """SOURCES configured, a wide terminal for the status table, and the settings."""
    path = tmp_path / "sources.toml"
    path.write_text(SOURCES, encoding="utf-8")
    monkeypatch.setenv("RISKMINE_CRAWL_SOURCES", str(path))
    monkeypatch.setenv("COLUMNS", "300")
    return get_settings()


def test_status_shows_source_health_and_flags(settings: Settings) -> None:
    record_run(settings, CrawlReport("news-a", "t0", "2024-05-01T08:00:00+00:00", "finished", 7, 4))
    for _ in range(FAIL_THRESHOLD):
        record_run(settings, CrawlReport("notices-b", "t0", "2024-05-02T08:00:00+00:00", "finished", errors=3))

    result = CliRunner().invoke(app, ["status"])
    assert result.exit_code == 0, result.output
    assert "crawl sources" in result.output
    lines = {line.split("│")[1].strip(): line for line in result.output.splitlines() if line.count("│") > 5}
    news = [c.strip() for c in lines["news-a"].split("│")[1:-1]]
    assert news == [
        "news-a",
        "6h",
        "2024-05-01T08:00:00+00:00",
        "7",
        "4",
        "0",
        "2024-05-01T08:00:00+00:00",
        "0",
        "due",
        "-",
    ]
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


def test_sources_and_status_say_why_a_source_failed(settings: Settings) -> None:
    refused = CrawlReport("notices-b", "t0", "t1", "finished", errors=1, failure="connection_refused")
    record_run(settings, refused)
    record_run(settings, CrawlReport("news-a", "t0", "t1", "finished", failure="http_forbidden", failure_status=403))

    listed = CliRunner().invoke(app, ["sources"])
    assert listed.exit_code == 0, listed.output
    lines = {line.split("\t")[0]: line for line in listed.output.splitlines()}
    assert lines["news-a"].endswith("失败原因 被拒绝访问（HTTP 403）")
    assert lines["notices-b"].endswith("失败原因 连接被拒绝（connection refused）")

    status = CliRunner().invoke(app, ["status"])
    assert "被拒绝访问（HTTP 403）" in status.output and "连接被拒绝（connection refused）" in status.output

    record_run(settings, CrawlReport("news-a", "t2", "t3", "finished", 2, 2))  # a success clears the reason
    listed = CliRunner().invoke(app, ["sources"])
    assert "失败原因" not in next(line for line in listed.output.splitlines() if line.startswith("news-a"))
