"""Complaints: complaint-platform list pages (with pagination) → detail pages (title, body, company,
status, time, product), one complaint document per detail page."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import lxml.html
from scrapy.http import Response

from riskmine.crawler.extract import select_text
from riskmine.crawler.items import DocumentItem
from riskmine.crawler.spiders.base import RiskmineSpider
from riskmine.feeds.values import parse_datetime


class ComplaintsSpider(RiskmineSpider):
    name = "complaints"

    def parse(self, response: Response, **kwargs: Any) -> Iterator[Any]:
        yield from self.follow_list(response, self.parse_complaint)

    def parse_complaint(self, response: Response) -> Iterator[DocumentItem]:
        tree = lxml.html.fromstring(self.page_text(response))
        body = select_text(tree, self.profile.body, block=True)
        if not body:
            self.logger.error("%s: no complaint text (check 'body' for site %r)", response.url, self.profile.name)
            self.crawler.stats.inc_value("riskmine/extract_errors")
            return
        when = select_text(tree, self.profile.date)
        published = None
        if when:
            try:
                published = parse_datetime(when).isoformat()
            except ValueError:
                self.logger.warning("%s: cannot read the complaint time %r", response.url, when)
        meta: dict[str, Any] = {"crawler": self.name}
        status = select_text(tree, self.option("status"))
        if status:
            meta["status"] = status
        yield DocumentItem(
            source_type=self.source.source_type,
            url=response.url,
            title=select_text(tree, self.profile.title),
            text=body,
            published_at=published,
            enterprise=select_text(tree, self.option("company")),
            product=select_text(tree, self.option("product")),
            meta=meta,
            fetched_url=self.first_url(response),
        )
