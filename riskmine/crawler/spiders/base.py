"""What every riskmine spider shares: its source and site profile from the configuration files,
start URLs (overridable), CSS selectors with an '@attr' suffix, and list-page following."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator, Iterator
from typing import Any

import scrapy
from scrapy.http import Response, TextResponse

from riskmine.crawler.extract import SiteProfile, decode_html
from riskmine.crawler.seen import DETAIL
from riskmine.crawler.sources import Source, load_sites, load_sources

_CHARSET_RE = re.compile(r"charset\s*=\s*([A-Za-z0-9_\-]+)", re.IGNORECASE)


def scrapy_css(selector: str) -> str:
    """'a.title@href' -> 'a.title::attr(href)'; 'h1' -> 'h1::text' is not implied (whole nodes)."""
    if "@" in selector:
        css, attr = selector.rsplit("@", 1)
        return f"{css.strip()}::attr({attr.strip()})"
    return selector


class RiskmineSpider(scrapy.Spider):
    """Base spider: `-a source=NAME` picks the [source.NAME] entry; `-a start_urls=a,b` overrides its URLs."""

    name = "riskmine-base"
    spider_kind = ""

    def __init__(self, source: str | None = None, start_urls: str | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if not source:
            raise ValueError(f"spider {self.name!r} needs a source: -a source=NAME (see sources.toml)")
        sources = load_sources()
        if source not in sources:
            raise ValueError(f"unknown source {source!r}; configured: {', '.join(sorted(sources)) or 'none'}")
        self.source: Source = sources[source]
        if self.source.spider != self.name:
            raise ValueError(f"source {source!r} is for spider {self.source.spider!r}, not {self.name!r}")
        self.source_name = source
        sites = load_sites()
        if self.source.site not in sites:
            raise ValueError(f"source {source!r} names site {self.source.site!r}, which sites.toml does not define")
        self.profile: SiteProfile = sites[self.source.site]
        urls = [u.strip() for u in start_urls.split(",") if u.strip()] if start_urls else list(self.source.start_urls)
        self.start_urls = urls

    def option(self, key: str, default: Any = None) -> Any:
        """A source option (sources.toml) or, failing that, a site selector (sites.toml)."""
        if key in self.source.options:
            return self.source.options[key]
        return self.profile.selector(key) or default

    async def start(self) -> AsyncIterator[Any]:
        for request in self.initial_requests():
            yield request

    def initial_requests(self) -> Iterator[scrapy.Request]:
        # On a frontier shared by several processes the start pages go through the shared duplicate
        # filter, so that only one process fetches them; alone, a crawl always fetches them.
        shared = bool(getattr(self, "settings", None) and self.settings.getbool("RISKMINE_SHARED_FRONTIER"))
        for url in self.start_urls:
            yield scrapy.Request(url, callback=self.parse, dont_filter=not shared)

    # --- helpers -----------------------------------------------------------------------------

    def page_text(self, response: Response) -> str:
        declared = None
        content_type = response.headers.get("Content-Type")
        if content_type:
            m = _CHARSET_RE.search(content_type.decode("latin-1"))
            declared = m.group(1) if m else None
        return decode_html(response.body, declared, override=self.profile.encoding)

    @staticmethod
    def first_url(response: Response) -> str:
        """The address first asked for (before redirects): the one remembered as fetched."""
        redirects = response.meta.get("redirect_urls")
        return str(redirects[0]) if redirects else response.url

    def css_all(self, response: Response, key: str, default: str | None = None) -> list[str]:
        selector = self.option(key, default)
        if not selector or not isinstance(response, TextResponse):
            return []
        return [v.strip() for v in response.css(scrapy_css(selector)).getall() if v and v.strip()]

    def follow_list(self, response: Response, detail_callback: Any) -> Iterator[scrapy.Request]:
        """Detail pages linked from a list page (sites.toml 'links'), and its next page ('next_page')."""
        pattern = self.option("link_pattern")
        for href in self.css_all(response, "links", "a@href"):
            url = response.urljoin(href)
            if pattern and not re.search(pattern, url):
                continue
            yield scrapy.Request(url, callback=detail_callback, meta={DETAIL: True})
        page = int(response.meta.get("list_page", 1))
        max_pages = int(self.option("max_pages", 50))
        for href in self.css_all(response, "next_page")[:1]:
            if page < max_pages:
                yield scrapy.Request(response.urljoin(href), callback=self.parse, meta={"list_page": page + 1})

    @staticmethod
    def json_body(response: Response) -> Any:
        try:
            return json.loads(response.body)
        except (ValueError, UnicodeDecodeError) as exc:
            raise ValueError(f"{response.url}: not valid JSON ({exc})") from None
