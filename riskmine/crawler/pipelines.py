"""The one item pipeline: each item is handed to the submission service (riskmine.submission), which
validates it and stores it (a document already stored is counted as a duplicate; processing follows the
crawl); then its detail page is remembered as fetched. Nothing here writes the store directly."""

from __future__ import annotations

from typing import Any

from scrapy import Spider
from scrapy.exceptions import DropItem

from riskmine.crawler.items import document_row
from riskmine.crawler.seen import SeenStore, open_seen_store
from riskmine.settings import get_settings
from riskmine.store.base import Store
from riskmine.store.factory import open_store
from riskmine.submission import Submission


class IngestPipeline:
    """Stores items one at a time (crawl rates are low, and a killed crawl loses nothing stored)."""

    def __init__(self, seen_db: str) -> None:
        self.seen_db = seen_db
        self.store: Store | None = None
        self.submission: Submission | None = None
        self.seen: SeenStore | None = None
        self.stats: Any = None

    @classmethod
    def from_crawler(cls, crawler: Any) -> IngestPipeline:
        pipeline = cls(crawler.settings.get("RISKMINE_SEEN_DB"))
        pipeline.stats = crawler.stats
        return pipeline

    def open_spider(self, spider: Spider) -> None:
        settings = get_settings()
        self.store = open_store(settings)
        self.submission = Submission(self.store, settings=settings)  # stores only: processing follows the crawl
        self.seen = open_seen_store(self.seen_db)

    def close_spider(self, spider: Spider) -> None:
        if self.store is not None:
            self.store.close()
        if self.seen is not None:
            self.seen.close()

    def process_item(self, item: Any, spider: Spider) -> Any:
        assert self.submission is not None and self.seen is not None
        source = getattr(spider, "source_name", spider.name)
        outcome = self.submission.rows([document_row(item)], source=source, process=False)
        assert outcome.ingest is not None
        report = outcome.ingest
        self.stats.inc_value("riskmine/items")
        if report.rejected:
            reason = report.rejected[0].reason
            self.stats.inc_value("riskmine/rejected")
            spider.logger.error(
                "item from %s rejected by ingest: %s", item.get("fetched_url") or item.get("url"), reason
            )
            raise DropItem(reason)
        self.stats.inc_value("riskmine/new_items", report.accepted)
        self.stats.inc_value("riskmine/duplicates", report.duplicates)
        fetched = item.get("fetched_url")
        if fetched:
            self.seen.add(source, fetched)
        return item
