"""A crawl frontier shared by several crawler processes, on Redis (scrapy-redis).

When RISKMINE_REDIS_URL is set, `riskmine crawl SOURCE` started on several machines (or several
times on one) shares one request queue and one duplicate filter per source and *round*: every
request is fetched by exactly one process. A round is the source's interval slot (the time divided
by the interval), so processes started within the same interval join the same frontier and the next
interval starts afresh; the keys expire some time after the round. Start requests go through the
duplicate filter too, so only the first process fetches the start pages; the others take their
work from the shared queue, and stay for RISKMINE_FRONTIER_IDLE_SECONDS of an empty queue before
closing, since a page another process is parsing may still add requests.

The queue is persistent (SCHEDULER_PERSIST): a killed process loses nothing scheduled, and a
process started again in the same round resumes from the queue (in place of JOBDIR).
"""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from scrapy import signals
from scrapy.exceptions import DontCloseSpider, NotConfigured

SHARED = "RISKMINE_SHARED_FRONTIER"
ROUND = "RISKMINE_FRONTIER_ROUND"
IDLE = "RISKMINE_FRONTIER_IDLE_SECONDS"
DEFAULT_IDLE_SECONDS = float(os.environ.get(IDLE, "10"))
KEY_PREFIX = "riskmine:frontier"


def frontier_round(interval: timedelta, now: datetime | None = None) -> str:
    """The round a crawl started now belongs to: the number of whole intervals since the epoch."""
    seconds = max(interval.total_seconds(), 1.0)
    stamp = (now or datetime.now(UTC)).timestamp()
    return str(int(stamp // seconds))


def frontier_keys(source: str, round_id: str) -> dict[str, str]:
    """The Redis keys of a source's frontier in one round."""
    base = f"{KEY_PREFIX}:{source}:{round_id}"
    return {"requests": f"{base}:requests", "dupefilter": f"{base}:dupefilter"}


def frontier_settings(source: str, redis_url: str, round_id: str) -> dict[str, Any]:
    """Scrapy settings that put the scheduler and duplicate filter of a source's crawl on Redis."""
    keys = frontier_keys(source, round_id)
    return {
        "SCHEDULER": "scrapy_redis.scheduler.Scheduler",
        "DUPEFILTER_CLASS": "scrapy_redis.dupefilter.RFPDupeFilter",
        "SCHEDULER_PERSIST": True,
        "SCHEDULER_QUEUE_CLASS": "scrapy_redis.queue.PriorityQueue",
        "SCHEDULER_QUEUE_KEY": keys["requests"],
        "SCHEDULER_DUPEFILTER_KEY": keys["dupefilter"],
        "REDIS_URL": redis_url,
        SHARED: True,
        ROUND: round_id,
    }


def expire_round(redis_url: str, source: str, round_id: str, ttl: timedelta) -> None:
    """Let a round's keys expire `ttl` from now (the other processes of the round may still use them)."""
    import redis

    client = redis.Redis.from_url(redis_url)
    try:
        for key in frontier_keys(source, round_id).values():
            client.expire(key, max(int(ttl.total_seconds()), 60))
    finally:
        client.close()


class SharedFrontierIdle:
    """Keeps a spider on a shared frontier open until the queue has been empty for a while.

    Another process may be parsing a page that adds requests to the shared queue; closing at the
    first empty queue would leave all of that work to it.
    """

    def __init__(self, idle_seconds: float) -> None:
        self.idle_seconds = idle_seconds
        self.idle_since: float | None = None

    @classmethod
    def from_crawler(cls, crawler: Any) -> SharedFrontierIdle:
        if not crawler.settings.getbool(SHARED):
            raise NotConfigured
        ext = cls(crawler.settings.getfloat(IDLE, DEFAULT_IDLE_SECONDS))
        crawler.signals.connect(ext.spider_idle, signal=signals.spider_idle)
        crawler.signals.connect(ext.busy, signal=signals.response_received)
        return ext

    def busy(self, *args: Any, **kwargs: Any) -> None:
        self.idle_since = None

    def spider_idle(self, spider: Any) -> None:
        now = time.monotonic()
        if self.idle_since is None:
            self.idle_since = now
        if now - self.idle_since < self.idle_seconds:
            raise DontCloseSpider
