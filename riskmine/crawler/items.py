"""What the spiders yield: one document's RawDocument fields, plus the address of the detail page it
came from (remembered as fetched once the document is stored)."""

from __future__ import annotations

from typing import Any

import scrapy

from riskmine.feeds.headers import INPUT_FIELDS

# The RawDocument fields a spider may fill (id and collected_at are set by the ingest service).
DOCUMENT_FIELDS: tuple[str, ...] = tuple(name for name in INPUT_FIELDS if name != "collected_at")


class DocumentItem(scrapy.Item):
    """A document for the ingest service: a field for each of DOCUMENT_FIELDS, and `fetched_url`, the page
    to remember as fetched."""

    vars().update({name: scrapy.Field() for name in DOCUMENT_FIELDS})  # the namespace ItemMeta takes fields from
    fetched_url = scrapy.Field()


def document_row(item: DocumentItem | dict[str, Any]) -> dict[str, Any]:
    """The ingest row of an item: its document fields that are set (None values left out)."""
    return {k: item[k] for k in DOCUMENT_FIELDS if k in item and item[k] is not None}
