"""What the spiders yield: one document's RawDocument fields, plus the address of the detail page it
came from (remembered as fetched once the document is stored)."""

from __future__ import annotations

from typing import Any

import scrapy

# The RawDocument fields a spider may fill (id and collected_at are set by the ingest service).
DOCUMENT_FIELDS = (
    "source",
    "source_type",
    "source_id",
    "url",
    "title",
    "text",
    "published_at",
    "product",
    "shop",
    "brand",
    "enterprise",
    "price",
    "rating",
    "region",
    "meta",
)


class DocumentItem(scrapy.Item):
    """A document for the ingest service; `fetched_url` is the page to remember as fetched."""

    source = scrapy.Field()
    source_type = scrapy.Field()
    source_id = scrapy.Field()
    url = scrapy.Field()
    title = scrapy.Field()
    text = scrapy.Field()
    published_at = scrapy.Field()
    product = scrapy.Field()
    shop = scrapy.Field()
    brand = scrapy.Field()
    enterprise = scrapy.Field()
    price = scrapy.Field()
    rating = scrapy.Field()
    region = scrapy.Field()
    meta = scrapy.Field()
    fetched_url = scrapy.Field()


def document_row(item: DocumentItem | dict[str, Any]) -> dict[str, Any]:
    """The ingest row of an item: its document fields that are set (None values left out)."""
    return {k: item[k] for k in DOCUMENT_FIELDS if k in item and item[k] is not None}
