"""The fixture site (tests/fixtures/sites, copied, re-encoded and completed with an XLSX attachment)
served on 127.0.0.1 for the session, and helpers to crawl it into a temporary store."""

from __future__ import annotations

import shutil
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

import openpyxl
import pytest

from riskmine.settings import Settings

SITE_SRC = Path(__file__).resolve().parents[1] / "fixtures" / "sites"
# Pages stored as UTF-8 in the repository and served in the encoding their <meta> declares.
GBK_FILES = {"news/articles/1.html": "gbk", "news/articles/2.html": "gb2312"}

SPOT_CHECK_HEADER = [
    "物料名称",
    "产品分类",
    "生产商",
    "供应商",
    "生产日期",
    "检测项目",
    "检测结果",
    "单位",
    "限量值",
    "判定",
    "发布单位",
    "发布日期",
]
SPOT_CHECK_ROWS = [
    [
        "儿童滑板车",
        "玩具-->童车",
        "永康市某车业有限公司",
        "某母婴店",
        "2024-01-05",
        "制动性能",
        "不符合",
        "",
        "GB 6675",
        "不合格",
        "浙江省市场监督管理局",
        "2024-05-20",
    ],
    [
        "移动电源",
        "电子电器",
        "深圳市某科技有限公司",
        "某数码店",
        "2024-02-11",
        "过充电保护",
        "不符合",
        "",
        "GB 4943.1",
        "不合格",
        "浙江省市场监督管理局",
        "2024-05-20",
    ],
    [
        "电热水壶",
        "家用电器",
        "慈溪市某电器有限公司",
        "某超市",
        "2024-03-01",
        "",
        "",
        "",
        "",
        "合格",
        "浙江省市场监督管理局",
        "2024-05-20",
    ],
]


def build_xlsx(path: Path) -> None:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "抽查结果"
    ws.append(["2024年第一批产品质量监督抽查结果"])
    ws.append(SPOT_CHECK_HEADER)
    for row in SPOT_CHECK_ROWS:
        ws.append(row)
    path.parent.mkdir(parents=True, exist_ok=True)
    wb.save(path)


@dataclass
class FixtureSite:
    root: Path
    base_url: str
    log: list[str] = field(default_factory=list)

    def url(self, path: str) -> str:
        return self.base_url + path

    def mark(self) -> int:
        return len(self.log)

    def fetched_since(self, mark: int) -> list[str]:
        return list(self.log[mark:])


def _handler(site: FixtureSite) -> type[SimpleHTTPRequestHandler]:
    class Handler(SimpleHTTPRequestHandler):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, directory=str(site.root), **kwargs)

        def translate_path(self, path: str) -> str:
            parts = urlsplit(path)
            if parts.query:
                query = "&".join(f"{k}={v}" for k, v in sorted(parse_qsl(parts.query)))
                path = unquote(parts.path).rstrip("/") + "/" + query + ".json"
            return super().translate_path(path)

        def send_head(self) -> Any:
            site.log.append(self.path)
            if self.path.startswith("/forbidden/"):  # a site that refuses the crawler
                self.send_error(403)
                return None
            return super().send_head()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler


@pytest.fixture(scope="session")
def fixture_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FixtureSite]:
    root = tmp_path_factory.mktemp("site") / "www"
    shutil.copytree(SITE_SRC, root)
    for rel, codec in GBK_FILES.items():
        path = root / rel
        path.write_bytes(path.read_text(encoding="utf-8").encode(codec))
    build_xlsx(root / "notices" / "files" / "n2.xlsx")
    site = FixtureSite(root=root, base_url="")
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(site))
    site.base_url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield site
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


SOURCES_TEMPLATE = """
[source.fixture-news]
spider = "news"
site = "fixture-news"
start_urls = ["{base}/news/rss.xml"]
interval = "1h"
settings = {{ DOWNLOAD_DELAY = 0, AUTOTHROTTLE_ENABLED = false, CONCURRENT_REQUESTS_PER_DOMAIN = 1 }}

[source.fixture-news-list]
spider = "news"
site = "fixture-news"
start_urls = ["{base}/news/list.html"]
interval = "1h"
settings = {{ DOWNLOAD_DELAY = 0, AUTOTHROTTLE_ENABLED = false }}

[source.fixture-reviews]
spider = "reviews"
site = "fixture-shop"
start_urls = ["{base}/shop/products/1001.html"]
reviews_url = "{base}/shop/api/reviews?sku={{sku}}&page={{page}}"
interval = "1h"
settings = {{ DOWNLOAD_DELAY = 0, AUTOTHROTTLE_ENABLED = false }}

[source.fixture-keyword]
spider = "reviews"
site = "fixture-shop"
keywords = ["充电宝"]
search_url = "{base}/shop/api/search?q={{keyword}}"
reviews_url = "{base}/shop/api/reviews?sku={{sku}}&page={{page}}"
interval = "1d"
settings = {{ DOWNLOAD_DELAY = 0, AUTOTHROTTLE_ENABLED = false }}

[source.fixture-notices]
spider = "notices"
site = "fixture-notices"
source_type = "recall"
start_urls = ["{base}/notices/list.html"]
interval = "1d"
settings = {{ DOWNLOAD_DELAY = 0, AUTOTHROTTLE_ENABLED = false }}

[source.fixture-complaints]
spider = "complaints"
site = "fixture-complaints"
start_urls = ["{base}/complaints/list.html"]
interval = "30m"
settings = {{ DOWNLOAD_DELAY = 0, AUTOTHROTTLE_ENABLED = false }}

[source.fixture-down]
spider = "news"
site = "fixture-news"
start_urls = ["http://127.0.0.1:9/feed.xml"]
interval = "1h"
settings = {{ DOWNLOAD_DELAY = 0, AUTOTHROTTLE_ENABLED = false, RETRY_ENABLED = false, DOWNLOAD_TIMEOUT = 5 }}
"""


@dataclass
class CrawlEnv:
    settings: Settings
    sources_file: Path
    sites_file: Path

    def crawl(self, source: str, **kwargs: Any) -> Any:
        from riskmine.crawler.run import crawl

        return crawl(source, self.settings, sources_file=self.sources_file, sites_file=self.sites_file, **kwargs)

    def documents(self) -> list[Any]:
        from riskmine.store.base import Collection
        from riskmine.store.factory import open_store

        store = open_store(self.settings)
        try:
            return list(store.iterate(Collection.documents))
        finally:
            store.close()


@pytest.fixture
def crawl_env(tmp_path: Path, fixture_site: FixtureSite) -> CrawlEnv:
    sources = tmp_path / "sources.toml"
    sources.write_text(SOURCES_TEMPLATE.format(base=fixture_site.base_url), encoding="utf-8")
    settings = Settings(var_dir=tmp_path / "var")
    return CrawlEnv(settings=settings, sources_file=sources, sites_file=SITE_SRC / "sites.toml")
