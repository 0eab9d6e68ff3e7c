"""The shared crawl frontier: two crawler processes on one real redis-server (started here on
127.0.0.1, stopped afterwards) fetch every page of a source exactly once between them."""

from __future__ import annotations

import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from riskmine.crawler.frontier import frontier_keys, frontier_round, frontier_settings
from riskmine.crawler.run import CrawlReport
from tests.redis_server import redis_server

from .conftest import CrawlEnv, FixtureSite

PAGES = 24
# one process alone needs PAGES × DOWNLOAD_DELAY = 24 s, far longer than the second one takes to start (a few
# seconds on a loaded CI machine), so both get work; at 0.25 s the first sometimes finished alone
SHARED_SOURCE = """
[source.fixture-shared]
spider = "news"
site = "fixture-news"
start_urls = ["{base}/news/big/list.html"]
interval = "1h"
settings = {{ DOWNLOAD_DELAY = 1.0, RANDOMIZE_DOWNLOAD_DELAY = false, AUTOTHROTTLE_ENABLED = false, \
CONCURRENT_REQUESTS_PER_DOMAIN = 1, HTTPCACHE_ENABLED = false, RISKMINE_FRONTIER_IDLE_SECONDS = 3 }}
"""
ARTICLE = (
    '<html><head><meta charset="utf-8"><title>{n}</title></head><body><h1 class="title">第{n}号产品召回</h1>'
    '<span class="pubtime">2024-05-{day:02d} 08:00</span><div class="article-body"><p>第{n}号移动电源存在过热起火隐患，'
    "企业决定召回。</p></div></body></html>"
)


def test_frontier_round_and_keys() -> None:
    hour = timedelta(hours=1)
    t0 = datetime(2024, 5, 1, 10, 0, tzinfo=UTC)
    assert frontier_round(hour, t0) == frontier_round(hour, t0 + timedelta(minutes=59))
    assert frontier_round(hour, t0) != frontier_round(hour, t0 + timedelta(minutes=60))
    keys = frontier_keys("news-a", "42")
    assert keys == {
        "requests": "riskmine:frontier:news-a:42:requests",
        "dupefilter": "riskmine:frontier:news-a:42:dupefilter",
    }
    s = frontier_settings("news-a", "redis://127.0.0.1:6379/0", "42")
    assert s["SCHEDULER"] == "scrapy_redis.scheduler.Scheduler"
    assert s["DUPEFILTER_CLASS"] == "scrapy_redis.dupefilter.RFPDupeFilter"
    assert s["SCHEDULER_PERSIST"] is True and s["REDIS_URL"] == "redis://127.0.0.1:6379/0"
    assert s["SCHEDULER_QUEUE_KEY"] == keys["requests"] and s["SCHEDULER_DUPEFILTER_KEY"] == keys["dupefilter"]


@pytest.fixture
def redis_url(tmp_path: Path) -> Iterator[str]:
    with redis_server(tmp_path) as url:
        yield url


def _big_site(site: FixtureSite) -> list[str]:
    folder = site.root / "news" / "big"
    folder.mkdir(parents=True, exist_ok=True)
    links = "".join(f'<li><a href="/news/big/a{n}.html">第{n}号</a></li>' for n in range(1, PAGES + 1))
    (folder / "list.html").write_text(
        f'<html><head><meta charset="utf-8"></head><body><ul class="news-list">{links}</ul></body></html>',
        encoding="utf-8",
    )
    for n in range(1, PAGES + 1):
        (folder / f"a{n}.html").write_text(ARTICLE.format(n=n, day=1 + n % 28), encoding="utf-8")
    return ["/news/big/list.html", *[f"/news/big/a{n}.html" for n in range(1, PAGES + 1)]]


@pytest.mark.integration
def test_two_processes_share_one_frontier(crawl_env: CrawlEnv, fixture_site: FixtureSite, redis_url: str) -> None:
    import redis

    pages = _big_site(fixture_site)
    with crawl_env.sources_file.open("a", encoding="utf-8") as fh:
        fh.write(SHARED_SOURCE.format(base=fixture_site.base_url))
    env = CrawlEnv(
        crawl_env.settings.model_copy(update={"redis_url": redis_url}), crawl_env.sources_file, crawl_env.sites_file
    )
    round_id = f"test-{uuid.uuid4().hex[:8]}"
    mark = fixture_site.mark()
    reports: list[CrawlReport] = []

    def run() -> None:
        reports.append(
            env.crawl("fixture-shared", extra_settings={"RISKMINE_FRONTIER_ROUND": round_id}, record=False, timeout=120)
        )

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
        time.sleep(0.5)
    for t in threads:
        t.join(timeout=180)
    assert len(reports) == 2 and all(r.ok for r in reports), reports

    fetched = Counter(p for p in fixture_site.fetched_since(mark) if p.startswith("/news/big/"))
    assert set(fetched) == set(pages)  # the union is complete
    assert max(fetched.values()) == 1, fetched  # and nothing was fetched twice
    assert all(r.new_items > 0 for r in reports), reports  # both processes did work
    assert sum(r.new_items for r in reports) == PAGES and sum(r.duplicates for r in reports) == 0
    docs = env.documents()
    assert len(docs) == PAGES and len({d.url for d in docs}) == PAGES

    client = redis.Redis.from_url(redis_url)
    keys = frontier_keys("fixture-shared", round_id)
    assert client.scard(keys["dupefilter"]) == len(pages)  # every request seen once, in Redis
    assert client.zcard(keys["requests"]) == 0  # the shared queue is drained
    assert 0 < client.ttl(keys["dupefilter"]) <= 2 * 3600  # the round's keys expire
    client.close()
