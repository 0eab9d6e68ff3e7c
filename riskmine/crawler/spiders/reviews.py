"""Reviews: product pages (SKU, name, shop, price, shop region, brand) and their paginated review
endpoints (JSON: rating, text, time). In keyword mode (a station's search: keyword → products →
reviews) it also counts negative and total reviews per product and yields the e-commerce report
form's row (差评数 / 评论数) as a station_report document, mapped by feeds.forms like an upload."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import Any
from urllib.parse import quote

import lxml.html
import scrapy
from scrapy.http import Response

from riskmine.crawler.extract import select_text
from riskmine.crawler.items import DocumentItem
from riskmine.crawler.spiders.base import RiskmineSpider
from riskmine.feeds.forms import ECOMMERCE, map_form_row
from riskmine.feeds.values import parse_datetime, parse_price, parse_rating


def _path(data: Any, path: str) -> Any:
    for part in path.split("."):
        if not isinstance(data, dict):
            return None
        data = data.get(part)
    return data


class ReviewsSpider(RiskmineSpider):
    name = "reviews"

    def initial_requests(self) -> Iterator[scrapy.Request]:
        keywords = self.option("keywords") or []
        if isinstance(keywords, str):
            keywords = [keywords]
        search_url = self.option("search_url")
        if keywords and not search_url:
            raise ValueError(f"source {self.source_name!r}: keyword mode needs 'search_url' (with {{keyword}})")
        for keyword in keywords:
            url = str(search_url).format(keyword=quote(keyword))
            yield scrapy.Request(url, callback=self.parse_search, cb_kwargs={"keyword": keyword}, dont_filter=True)
        yield from super().initial_requests()

    def parse_search(self, response: Response, keyword: str) -> Iterator[scrapy.Request]:
        data = self.json_body(response)
        results = _path(data, str(self.option("search_results", "products"))) or []
        key = str(self.option("search_url_key", "url"))
        for entry in results:
            href = entry.get(key) if isinstance(entry, dict) else entry
            if href:
                yield scrapy.Request(response.urljoin(str(href)), callback=self.parse, cb_kwargs={"keyword": keyword})

    def parse(self, response: Response, keyword: str | None = None, **kwargs: Any) -> Iterator[Any]:
        tree = lxml.html.fromstring(self.page_text(response))
        sku = select_text(tree, self.option("sku"))
        if not sku:
            self.logger.error("%s: no SKU found (check 'sku' for site %r)", response.url, self.profile.name)
            self.crawler.stats.inc_value("riskmine/extract_errors")
            return
        price_text = select_text(tree, self.option("price"))
        try:
            price = parse_price(price_text) if price_text else None
        except ValueError:
            price = None
        product = {
            "sku": sku,
            "url": response.url,
            "name": select_text(tree, self.option("name")),
            "shop": select_text(tree, self.option("shop")),
            "brand": select_text(tree, self.option("brand")),
            "region": select_text(tree, self.option("region")),
            "price": price,
            "keyword": keyword,
        }
        yield self._reviews_request(product, 1, {"negative": 0, "total": 0, "first": None, "last": None})

    def _reviews_request(self, product: dict[str, Any], page: int, counts: dict[str, Any]) -> scrapy.Request:
        template = self.option("reviews_url")
        if not template:
            raise ValueError(f"source {self.source_name!r}: 'reviews_url' (with {{sku}} and {{page}}) is not set")
        url = str(template).format(sku=quote(product["sku"]), page=page)
        return scrapy.Request(
            url, callback=self.parse_reviews, cb_kwargs={"product": product, "page": page, "counts": counts}
        )

    def parse_reviews(
        self, response: Response, product: dict[str, Any], page: int, counts: dict[str, Any]
    ) -> Iterator[Any]:
        data = self.json_body(response)
        reviews = _path(data, str(self.option("reviews_list", "reviews"))) or []
        negative_at = float(self.option("negative_rating", 2))
        for review in reviews:
            item = self._review(review, product)
            if item is None:
                continue
            counts["total"] += 1
            if item.get("rating") is not None and item["rating"] <= negative_at:
                counts["negative"] += 1
            day = (item.get("published_at") or "")[:10]
            if day:
                counts["first"] = min(counts["first"] or day, day)
                counts["last"] = max(counts["last"] or day, day)
            yield item
        pages = _path(data, str(self.option("reviews_pages", "pages")))
        max_pages = int(self.option("max_review_pages", 50))
        if reviews and isinstance(pages, int) and page < min(pages, max_pages):
            yield self._reviews_request(product, page + 1, counts)
        elif product.get("keyword"):
            yield self._summary(product, counts)

    def _review(self, review: Any, product: dict[str, Any]) -> DocumentItem | None:
        if not isinstance(review, dict):
            return None
        text = review.get(str(self.option("review_text", "content")))
        if not isinstance(text, str) or not text.strip():
            return None
        review_id = review.get(str(self.option("review_id", "id")))
        rating = review.get(str(self.option("review_rating", "rating")))
        when = review.get(str(self.option("review_time", "time")))
        try:
            rating_value = parse_rating(rating) if rating is not None else None
        except ValueError:
            rating_value = None
        try:
            published = parse_datetime(when).isoformat() if when else None
        except ValueError:
            published = None
        meta: dict[str, Any] = {"crawler": self.name, "sku": product["sku"]}
        if review_id is not None:
            meta["review_id"] = str(review_id)
        if product.get("keyword"):
            meta["keyword"] = product["keyword"]
        return DocumentItem(
            source_type=self.source.source_type,
            source_id=f"{product['sku']}:{review_id}" if review_id is not None else None,
            url=product["url"],
            title=product["name"],
            text=text.strip(),
            published_at=published,
            product=product["name"],
            shop=product["shop"],
            brand=product["brand"],
            price=product["price"],
            rating=rating_value,
            region=product["region"],
            meta=meta,
        )

    def _summary(self, product: dict[str, Any], counts: dict[str, Any]) -> DocumentItem:
        today = date.today().isoformat()
        row = {
            "关键词": product["keyword"],
            "差评数": counts["negative"],
            "评论数": counts["total"],
            "店铺名称": product["shop"],
            "商品名称": product["name"],
            "商品地址": product["url"],
            "商品价格": product["price"],
            "公司所在区域": product["region"],
            "时间采集范围": f"{counts['first'] or today}至{counts['last'] or today}",
        }
        fields = map_form_row(ECOMMERCE, {k: v for k, v in row.items() if v is not None})
        fields["source_type"] = self.source.options.get("summary_source_type", "station_report")
        fields["meta"] = {**fields.get("meta", {}), "crawler": self.name, "sku": product["sku"]}
        return DocumentItem(**{k: v for k, v in fields.items() if k in DocumentItem.fields})
