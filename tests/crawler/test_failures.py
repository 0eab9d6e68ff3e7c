"""A failed crawl source says why (连接被拒绝, HTTP 403, robots.txt, parse error): each reason against the
fixture site on 127.0.0.1 (a closed port for refused), recorded in the crawl health (what `riskmine sources`,
`riskmine status`, GET /api/v1/sources and the console's sources page show: tests/crawler/test_cli.py,
tests/api/test_api_sources.py)."""

from __future__ import annotations

import socket

import pytest

from riskmine.crawler.health import source_health, source_overview
from riskmine.crawler.run import failure_from_stats
from riskmine.schema.labels import crawl_failure_label

from .conftest import CrawlEnv, FixtureSite

FAST = "settings = { DOWNLOAD_DELAY = 0, AUTOTHROTTLE_ENABLED = false, RETRY_ENABLED = false, DOWNLOAD_TIMEOUT = 5 }"


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])  # nothing listens once the socket is closed


@pytest.fixture
def failing_env(crawl_env: CrawlEnv, fixture_site: FixtureSite) -> CrawlEnv:
    broken = '<?xml version="1.0"?><catalog><book>not a feed</book></catalog>'
    (fixture_site.root / "news" / "broken.xml").write_text(broken, encoding="utf-8")
    feed = (fixture_site.root / "news" / "rss.xml").read_bytes()
    (fixture_site.root / "news" / "cut.xml").write_bytes(feed[: len(feed) * 2 // 3])  # cut off in transfer
    base = fixture_site.base_url
    sources = {
        "refused": f"http://127.0.0.1:{_closed_port()}/news/rss.xml",
        "forbidden": f"{base}/forbidden/rss.xml",
        "robots": f"{base}/news/private/secret.html",
        "broken": f"{base}/news/broken.xml",
        "truncated": f"{base}/news/cut.xml",
    }
    text = "".join(
        f'[source.{name}]\nspider = "news"\nsite = "fixture-news"\nstart_urls = ["{url}"]\ninterval = "1h"\n{FAST}\n\n'
        for name, url in sources.items()
    )
    crawl_env.sources_file.write_text(text, encoding="utf-8")
    return crawl_env


@pytest.mark.parametrize(
    ("source", "code", "label"),
    [
        ("refused", "connection_refused", "连接被拒绝（connection refused）"),
        ("forbidden", "http_forbidden", "被拒绝访问（HTTP 403）"),
        ("robots", "robots_forbidden", "robots.txt 禁止抓取"),
        ("broken", "parse_error", "解析失败（parse error）"),
        ("truncated", "feed_damaged", "订阅源不完整或格式错误，仅读取部分条目（feed cut off or malformed）"),
    ],
)
def test_a_failed_source_says_why(failing_env: CrawlEnv, source: str, code: str, label: str) -> None:
    report = failing_env.crawl(source)
    assert not report.ok and report.failure == code and report.failure_label == label, report
    [rec] = source_health(failing_env.settings)
    assert rec["last_failure"]["code"] == code and rec["last_failure"]["label"] == label
    [row] = [r for r in source_overview(failing_env.settings, None) if r["source"] == source]
    assert row["failure_reason"] == label and row["consecutive_failures"] == 1


def test_a_crawl_with_nothing_new_is_not_a_failure() -> None:
    assert failure_from_stats({"riskmine/seen_skipped": 3, "finish_reason": "finished"}) is None
    assert failure_from_stats({"riskmine/items": 2, "robotstxt/forbidden": 1}) is None
    stats = {
        "httperror/response_ignored_status_count/404": 1,
        "httperror/response_ignored_status_count/503": 4,
    }
    assert failure_from_stats(stats) == ("http_error", 503)
    assert crawl_failure_label("http_error", 503) == "服务器返回错误（HTTP 503）"
    assert crawl_failure_label(None) is None


def test_crawl_command_says_why_and_keeps_progress_off_the_pipe(
    failing_env: CrawlEnv, capfd: pytest.CaptureFixture[str]
) -> None:
    from typer.testing import CliRunner

    from riskmine.cli import app
    from riskmine.crawler.cli import crawl_progress

    args = ["crawl", "refused", "--sources", str(failing_env.sources_file), "--sites", str(failing_env.sites_file)]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 1
    assert result.stdout.strip().startswith("refused: FAILED: 连接被拒绝（connection refused） items=0")
    capfd.readouterr()
    with crawl_progress(2) as step:  # stderr is not a terminal here: no bar
        step("a")
        step("b")
        step(None)
    assert capfd.readouterr() == ("", "")
