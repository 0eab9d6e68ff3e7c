"""Incremental crawls (only new pages fetched), resume after an interrupted crawl, crawl health."""

from __future__ import annotations

import os
import time

from riskmine.crawler.health import record_run, source_health
from riskmine.crawler.run import CrawlReport

from .conftest import CrawlEnv, FixtureSite

ITEM = "<item><title>{title}</title><link>/news/articles/{n}.html</link></item>"


def _write_feed(site: FixtureSite, numbers: list[int]) -> str:
    items = "".join(ITEM.format(title=f"第{n}篇", n=n) for n in numbers)
    path = site.root / "news" / "live.xml"
    path.write_text(f'<?xml version="1.0" encoding="utf-8"?><rss><channel>{items}</channel></rss>', encoding="utf-8")
    stamp = time.time() + 10 * len(numbers)  # a later Last-Modified for each version of the feed
    os.utime(path, (stamp, stamp))
    return site.url("/news/live.xml")


def test_second_crawl_fetches_only_new_pages(crawl_env: CrawlEnv, fixture_site: FixtureSite) -> None:
    feed = _write_feed(fixture_site, [1, 2])
    first = crawl_env.crawl("fixture-news", start_urls=[feed])
    assert first.ok and first.new_items == 2, first

    article = fixture_site.root / "news" / "articles" / "3.html"
    article.write_text(
        '<html><head><meta charset="utf-8"></head><body><h1 class="title">电热毯使用中冒烟</h1>'
        '<span class="pubtime">2024-05-15 08:00</span><div class="article-body"><p>消费者反映电热毯使用中冒烟。</p>'
        "</div></body></html>",
        encoding="utf-8",
    )
    _write_feed(fixture_site, [1, 2, 3])
    mark = fixture_site.mark()
    second = crawl_env.crawl("fixture-news", start_urls=[feed])
    assert second.ok, second
    fetched = [p for p in fixture_site.fetched_since(mark) if p.startswith("/news/articles/")]
    assert fetched == ["/news/articles/3.html"]
    assert second.new_items == 1 and second.seen_skipped == 2
    titles = sorted(d.title for d in crawl_env.documents())
    assert "电热毯使用中冒烟" in titles and len(titles) == 3


def test_interrupted_crawl_resumes_without_duplicates(crawl_env: CrawlEnv) -> None:
    limit = {"CLOSESPIDER_ITEMCOUNT": 1, "CONCURRENT_REQUESTS": 1}
    first = crawl_env.crawl("fixture-complaints", extra_settings=limit)
    assert first.finish_reason == "closespider_itemcount", first
    stored = len(crawl_env.documents())
    assert 1 <= stored < 3
    job = crawl_env.settings.var_dir / "crawl" / "jobs" / "fixture-complaints"
    assert job.is_dir()  # state kept for the resume

    second = crawl_env.crawl("fixture-complaints")
    assert second.ok and second.finish_reason == "finished", second
    docs = crawl_env.documents()
    urls = [d.url for d in docs]
    assert len(urls) == 3 and len(set(urls)) == 3
    assert second.duplicates == 0 and second.new_items == 3 - stored
    assert not job.exists()  # a finished crawl clears its state


def test_health_records_runs_and_flags_repeated_failures(crawl_env: CrawlEnv) -> None:
    down = crawl_env.crawl("fixture-down")
    assert not down.ok and down.errors >= 1
    [rec] = source_health(crawl_env.settings)
    assert rec["source"] == "fixture-down" and rec["failures_in_a_row"] == 1 and not rec["flagged"]
    assert rec["last_success"] is None
    for _ in range(2):
        record_run(crawl_env.settings, CrawlReport("fixture-down", "t0", "t1", finish_reason="finished", errors=1))
    [rec] = source_health(crawl_env.settings)
    assert rec["failures_in_a_row"] == 3 and rec["flagged"]
    record_run(
        crawl_env.settings, CrawlReport("fixture-down", "t2", "t3", finish_reason="finished", items=4, new_items=4)
    )
    [rec] = source_health(crawl_env.settings)
    assert rec["failures_in_a_row"] == 0 and not rec["flagged"] and rec["last_success"] == "t3"
    assert rec["runs"] == 4 and rec["new_items"] == 4
