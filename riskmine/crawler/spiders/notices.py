"""Notices: recall announcements and spot-check result lists (list pages with pagination → detail
pages). A notice's HTML tables and XLSX attachments are parsed into structured rows (product,
enterprise, test item, verdict, authority, date), and each notice becomes one document."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import lxml.html
import scrapy
from scrapy.http import Response

from riskmine.crawler.extract import ExtractError, parse_html_tables, parse_xlsx_bytes, select_text, structured_row
from riskmine.crawler.items import DocumentItem
from riskmine.crawler.spiders.base import RiskmineSpider
from riskmine.feeds.forms import SPOT_CHECK, detect_form, spot_check_text
from riskmine.feeds.values import parse_datetime


def _row_line(row: dict[str, Any], form: str | None) -> str:
    if isinstance(row.get("meta"), dict) and isinstance(row.get("text"), str):
        return str(row["text"])  # already mapped through the report form by the feed reader
    if form == SPOT_CHECK:
        return spot_check_text(row)
    return "，".join(f"{k}：{v}" for k, v in row.items())


class NoticesSpider(RiskmineSpider):
    name = "notices"

    def parse(self, response: Response, **kwargs: Any) -> Iterator[Any]:
        yield from self.follow_list(response, self.parse_notice)

    def parse_notice(self, response: Response) -> Iterator[Any]:
        html = self.page_text(response)
        tree = lxml.html.fromstring(html)
        body_css = self.profile.body
        tables = parse_html_tables(html, self.option("table", "table"))
        body = None
        if body_css:
            # the body text without its tables (their rows are listed separately)
            for node in tree.cssselect(body_css):
                for table in node.cssselect("table"):
                    table.drop_tree()
            body = select_text(tree, body_css, block=True)
        notice: dict[str, Any] = {
            "url": response.url,
            "fetched_url": self.first_url(response),
            "title": select_text(tree, self.profile.title) or select_text(tree, "title"),
            "date": select_text(tree, self.profile.date),
            "authority": select_text(tree, self.option("authority")),
            "body": body or "",
            "tables": [(tables, detect_form(tables[0].keys()) if tables else None)] if tables else [],
            "attachments": [],
        }
        attachments = [response.urljoin(h) for h in self.css_all(response, "attachments", 'a[href$=".xlsx"]@href')]
        yield from self._next(notice, attachments)

    def _next(self, notice: dict[str, Any], pending: list[str]) -> Iterator[Any]:
        if pending:
            url, rest = pending[0], pending[1:]
            yield scrapy.Request(
                url, callback=self.parse_attachment, cb_kwargs={"notice": notice, "pending": rest}, dont_filter=True
            )
        else:
            item = self._document(notice)
            if item is not None:
                yield item

    def parse_attachment(self, response: Response, notice: dict[str, Any], pending: list[str]) -> Iterator[Any]:
        try:
            rows, form = parse_xlsx_bytes(response.body, response.url.rsplit("/", 1)[-1])
        except ExtractError as exc:
            self.logger.error("%s (attachment of %s)", exc, notice["url"])
            self.crawler.stats.inc_value("riskmine/extract_errors")
        else:
            notice["tables"].append((rows, form))
            notice["attachments"].append(response.url)
        yield from self._next(notice, pending)

    def _document(self, notice: dict[str, Any]) -> DocumentItem | None:
        rows: list[dict[str, Any]] = []
        lines: list[str] = []
        spot_check = False
        for table_rows, form in notice["tables"]:
            spot_check = spot_check or form == SPOT_CHECK
            for row in table_rows:
                rows.append(structured_row(row))
                lines.append(_row_line(row, form))
        text = "\n".join(x for x in [notice["body"], *lines] if x)
        if not text.strip():
            self.logger.error("%s: notice has no text and no table rows", notice["url"])
            self.crawler.stats.inc_value("riskmine/extract_errors")
            return None
        published = None
        if notice["date"]:
            try:
                published = parse_datetime(notice["date"]).isoformat()
            except ValueError:
                self.logger.warning("%s: cannot read the notice date %r", notice["url"], notice["date"])
        enterprises = {r["enterprise"] for r in rows if r.get("enterprise")}
        products = {r["product"] for r in rows if r.get("product")}
        meta: dict[str, Any] = {"crawler": self.name, "rows": rows}
        if notice["authority"]:
            meta["authority"] = notice["authority"]
        if notice["attachments"]:
            meta["attachments"] = notice["attachments"]
        return DocumentItem(
            source_type="spot_check" if spot_check else self.source.source_type,
            url=notice["url"],
            title=notice["title"],
            text=text,
            published_at=published,
            product=next(iter(products)) if len(products) == 1 else None,
            enterprise=next(iter(enterprises)) if len(enterprises) == 1 else None,
            meta=meta,
            fetched_url=notice["fetched_url"],
        )
