"""News: RSS/Atom feeds, sitemaps or list pages lead to article pages, extracted with trafilatura and
the site's selectors (title, body, publish time, author)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import scrapy
from scrapy.http import Response

from riskmine.crawler.extract import DAMAGED_FEED_STAT, DamagedFeed, ExtractError, extract_article, parse_feed
from riskmine.crawler.items import DocumentItem
from riskmine.crawler.seen import DETAIL
from riskmine.crawler.spiders.base import RiskmineSpider

_XML_HEADS = (b"<?xml", b"<rss", b"<feed", b"<urlset", b"<sitemapindex")


class NewsSpider(RiskmineSpider):
    name = "news"

    def parse(self, response: Response, **kwargs: Any) -> Iterator[Any]:
        content_type = (response.headers.get("Content-Type") or b"").decode("latin-1").lower()
        if "xml" in content_type or response.body.lstrip()[:16].startswith(_XML_HEADS):
            try:
                entries = parse_feed(response.body)
            except DamagedFeed as exc:  # follow what could be read; the source's crawl is reported failed
                self.logger.error("%s: %s", response.url, exc)
                self.crawler.stats.inc_value(DAMAGED_FEED_STAT)
                entries = exc.entries
            except ExtractError as exc:
                self.logger.error("%s: %s", response.url, exc)
                self.crawler.stats.inc_value("riskmine/extract_errors")
                return
            for entry in entries:
                url = response.urljoin(entry.url)
                yield scrapy.Request(url, callback=self.parse_article, meta={DETAIL: True, "feed_title": entry.title})
            return
        yield from self.follow_list(response, self.parse_article)

    def parse_article(self, response: Response) -> Iterator[DocumentItem]:
        try:
            article = extract_article(self.page_text(response), response.url, self.profile)
        except ExtractError as exc:
            self.logger.error("%s", exc)
            self.crawler.stats.inc_value("riskmine/extract_errors")
            return
        meta: dict[str, Any] = {"crawler": self.name}
        if article.author:
            meta["author"] = article.author
        yield DocumentItem(
            source_type=self.source.source_type,
            url=response.url,
            title=article.title or response.meta.get("feed_title"),
            text=article.text,
            published_at=article.published_at.isoformat() if article.published_at else None,
            meta=meta,
            fetched_url=self.first_url(response),
        )
