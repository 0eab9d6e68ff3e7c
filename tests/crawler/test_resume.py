"""A crawl killed with SIGKILL half-way (no chance to clean up) resumes from its JOBDIR: the store
ends with every item exactly once and nothing lost."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections import Counter
from pathlib import Path

from riskmine.crawler.run import CLEAN_STOP, crawl_command, jobdir, prepare_jobdir

from .conftest import CrawlEnv, FixtureSite

PAGES = 10
SLOW_SOURCE = """
[source.fixture-slow]
spider = "news"
site = "fixture-news"
start_urls = ["{base}/news/slow/list.html"]
interval = "1h"
settings = {{ DOWNLOAD_DELAY = 0.4, RANDOMIZE_DOWNLOAD_DELAY = false, AUTOTHROTTLE_ENABLED = false, \
CONCURRENT_REQUESTS = 1, CONCURRENT_REQUESTS_PER_DOMAIN = 1 }}
"""
ARTICLE = (
    '<html><head><meta charset="utf-8"></head><body><h1 class="title">第{n}批电热毯抽查不合格</h1>'
    '<span class="pubtime">2024-06-{day:02d} 09:30</span><div class="article-body"><p>第{n}批电热毯温控器失效，'
    "存在过热起火隐患。</p></div></body></html>"
)


def _slow_site(site: FixtureSite) -> list[str]:
    folder = site.root / "news" / "slow"
    folder.mkdir(parents=True, exist_ok=True)
    links = "".join(f'<li><a href="/news/slow/a{n}.html">第{n}批</a></li>' for n in range(1, PAGES + 1))
    (folder / "list.html").write_text(
        f'<html><head><meta charset="utf-8"></head><body><ul class="news-list">{links}</ul></body></html>',
        encoding="utf-8",
    )
    for n in range(1, PAGES + 1):
        (folder / f"a{n}.html").write_text(ARTICLE.format(n=n, day=n), encoding="utf-8")
    return [f"/news/slow/a{n}.html" for n in range(1, PAGES + 1)]


def test_sigkill_half_way_then_resume_stores_every_item_once(crawl_env: CrawlEnv, fixture_site: FixtureSite) -> None:
    articles = _slow_site(fixture_site)
    with crawl_env.sources_file.open("a", encoding="utf-8") as fh:
        fh.write(SLOW_SOURCE.format(base=fixture_site.base_url))
    mark = fixture_site.mark()
    cmd, env = crawl_command(
        "fixture-slow", crawl_env.settings, sources_file=crawl_env.sources_file, sites_file=crawl_env.sites_file
    )
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while len([p for p in fixture_site.fetched_since(mark) if p in articles]) < PAGES // 2 - 1:
            assert proc.poll() is None, "the crawl ended before it could be killed"
            assert time.monotonic() < deadline, "the crawl made no progress"
            time.sleep(0.05)
        os.kill(proc.pid, signal.SIGKILL)
        assert proc.wait(timeout=10) == -signal.SIGKILL
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()

    before = crawl_env.documents()
    assert 0 < len(before) < PAGES  # killed half-way
    job = jobdir(crawl_env.settings.var_dir, "fixture-slow")
    assert job.is_dir() and not (job / CLEAN_STOP).exists()  # the state a killed crawl left behind

    resumed = crawl_env.crawl("fixture-slow")
    assert resumed.ok and resumed.finish_reason == "finished", resumed
    docs = crawl_env.documents()
    urls = Counter(d.url for d in docs)
    assert set(urls) == {fixture_site.url(a) for a in articles}, (
        resumed,
        sorted(urls),
        fixture_site.fetched_since(mark),
    )  # nothing lost
    assert max(urls.values()) == 1 and len(docs) == PAGES  # nothing twice
    assert resumed.new_items == PAGES - len(before)
    assert not job.exists()  # the finished crawl cleared its state
    # pages stored before the kill are not fetched again; only the page in flight when the process was
    # killed may be (its document stored, the kill landing before the page was remembered as fetched)
    stored_before = {d.url for d in before}
    fetched = Counter(p for p in fixture_site.fetched_since(mark) if fixture_site.url(p) in stored_before)
    assert sum(n - 1 for n in fetched.values()) <= 1, fetched
    assert resumed.duplicates <= 1 and resumed.seen_skipped >= len(before) - 1, resumed


def test_prepare_jobdir_drops_only_a_killed_crawls_state(tmp_path: Path) -> None:
    killed = tmp_path / "killed"
    (killed / "requests.queue").mkdir(parents=True)
    (killed / "requests.seen").write_text("0" * 40 + "\n", encoding="utf-8")  # seen, but its queue is lost
    assert prepare_jobdir(killed) is True and not killed.exists()

    stopped = tmp_path / "stopped"
    stopped.mkdir()
    (stopped / "requests.seen").write_text("1" * 40 + "\n", encoding="utf-8")
    (stopped / CLEAN_STOP).write_text("shutdown", encoding="utf-8")
    assert prepare_jobdir(stopped) is False
    assert (stopped / "requests.seen").exists()  # resumed from
    assert not (stopped / CLEAN_STOP).exists()  # until this run stops cleanly in its turn
    assert prepare_jobdir(tmp_path / "fresh") is False
