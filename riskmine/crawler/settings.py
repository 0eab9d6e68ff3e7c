"""Scrapy settings for riskmine's spiders: polite by default (robots.txt, AutoThrottle, per-domain
concurrency, an identifying user agent), incremental (HTTP cache with conditional requests, fetched
detail pages remembered under var/crawl/), and one item pipeline that hands items to the ingest
service. The runner (riskmine.crawler.run) points the var paths at the configured var dir and applies
per-source overrides from sources.toml on top of these."""

from __future__ import annotations

import os

BOT_NAME = "riskmine"
SPIDER_MODULES = ["riskmine.crawler.spiders"]
NEWSPIDER_MODULE = "riskmine.crawler.spiders"

USER_AGENT = os.environ.get(
    "RISKMINE_CRAWL_USER_AGENT",
    "riskmine-crawler/0.1 (product quality-safety risk monitoring; set RISKMINE_CRAWL_USER_AGENT to your contact)",
)
ROBOTSTXT_OBEY = True

CONCURRENT_REQUESTS = 8
CONCURRENT_REQUESTS_PER_DOMAIN = 2
DOWNLOAD_DELAY = 1.0
DOWNLOAD_TIMEOUT = 30
RETRY_TIMES = 2
AUTOTHROTTLE_ENABLED = True
AUTOTHROTTLE_START_DELAY = 1.0
AUTOTHROTTLE_MAX_DELAY = 30.0
AUTOTHROTTLE_TARGET_CONCURRENCY = 1.0

# Conditional requests: cached responses are revalidated with If-Modified-Since / If-None-Match.
HTTPCACHE_ENABLED = True
HTTPCACHE_POLICY = "scrapy.extensions.httpcache.RFC2616Policy"
HTTPCACHE_STORAGE = "scrapy.extensions.httpcache.FilesystemCacheStorage"
HTTPCACHE_DIR = os.path.abspath(os.path.join("var", "crawl", "httpcache"))
HTTPCACHE_IGNORE_HTTP_CODES = [500, 502, 503, 504, 408, 429]

DOWNLOADER_MIDDLEWARES = {"riskmine.crawler.seen.SeenRequestsMiddleware": 540}
ITEM_PIPELINES = {"riskmine.crawler.pipelines.IngestPipeline": 300}
# Keeps a spider on a shared (Redis) frontier open while other processes may add work; off otherwise.
EXTENSIONS = {"riskmine.crawler.frontier.SharedFrontierIdle": 500}

# Where fetched detail pages are remembered (one SQLite file shared by all sources).
RISKMINE_SEEN_DB = os.path.abspath(os.path.join("var", "crawl", "seen.sqlite3"))

TELNETCONSOLE_ENABLED = False
LOG_LEVEL = "INFO"
REQUEST_FINGERPRINTER_IMPLEMENTATION = "2.7"
FEED_EXPORT_ENCODING = "utf-8"
