"""Page extraction that needs no Scrapy: decoding Chinese pages, articles (trafilatura plus per-site
selectors), HTML tables and XLSX attachments of notices, and feeds (RSS, Atom, sitemaps).

Every function takes bytes or text and returns plain data, so the spiders stay thin and these
pieces can be tested (and reused by other collectors) without a crawl.
"""

from __future__ import annotations

import re
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import lxml.etree
import lxml.html
import trafilatura

from riskmine.feeds import TableInfo, read_xlsx
from riskmine.feeds.forms import detect_form, form_column
from riskmine.feeds.headers import is_blank
from riskmine.feeds.rows import Rejection
from riskmine.feeds.values import parse_datetime
from riskmine.schema.errors import RiskmineError

__all__ = [
    "Article",
    "ExtractError",
    "FeedEntry",
    "SiteProfile",
    "decode_html",
    "extract_article",
    "parse_feed",
    "parse_html_tables",
    "parse_xlsx_bytes",
    "select_text",
    "structured_row",
]

_META_CHARSET_RE = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_\-]+)""", re.IGNORECASE)
_XML_ENCODING_RE = re.compile(rb"""<\?xml[^>]+encoding\s*=\s*["']([A-Za-z0-9_\-]+)["']""", re.IGNORECASE)
_CHINESE_CODECS = {"gb2312": "gb18030", "gbk": "gb18030", "gb18030": "gb18030", "x-gbk": "gb18030", "cp936": "gb18030"}
_DATE_IN_TEXT_RE = re.compile(
    r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?(?:\s*(\d{1,2})\s*[:：时]\s*(\d{1,2})(?:\s*[:：分]\s*(\d{1,2}))?)?"
)


class ExtractError(RiskmineError, ValueError):
    """A page that cannot be extracted, with the reason (and the URL when known)."""

    code = "extract_failed"
    status = 422


@dataclass(frozen=True)
class SiteProfile:
    """Per-site overrides from sites.toml: CSS selectors for fields, noise nodes to drop, and the
    selectors the list/detail spiders follow. Empty selectors mean "use the generic extractor"."""

    name: str = "default"
    encoding: str | None = None
    title: str | None = None
    body: str | None = None
    date: str | None = None
    author: str | None = None
    noise: tuple[str, ...] = ()
    selectors: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def from_mapping(cls, name: str, data: Mapping[str, Any]) -> SiteProfile:
        known = {"encoding", "title", "body", "date", "author", "noise", "domains"}
        noise = data.get("noise", ())
        if isinstance(noise, str) or not all(isinstance(n, str) for n in noise):
            raise ExtractError(f"site {name!r}: 'noise' must be a list of CSS selectors")
        selectors = {str(k): str(v) for k, v in data.items() if k not in known}
        return cls(
            name=name,
            encoding=data.get("encoding"),
            title=data.get("title"),
            body=data.get("body"),
            date=data.get("date"),
            author=data.get("author"),
            noise=tuple(noise),
            selectors=selectors,
        )

    def selector(self, key: str) -> str | None:
        return self.selectors.get(key)


@dataclass
class Article:
    """A news article as extracted: the fields of a news document."""

    url: str
    title: str | None
    text: str
    published_at: datetime | None
    author: str | None


@dataclass(frozen=True)
class FeedEntry:
    """One entry of an RSS/Atom feed or a sitemap."""

    url: str
    title: str | None = None
    published: str | None = None


def _codec(name: str | None) -> str | None:
    if not name:
        return None
    low = name.strip().lower()
    return _CHINESE_CODECS.get(low, low)


def decode_html(body: bytes, declared: str | None = None, *, override: str | None = None) -> str:
    """Text of a page: the site override's encoding, else the HTTP header's, else the page's <meta>
    (or XML declaration), else UTF-8 if it decodes, else GB18030. GBK and GB2312 are read as
    GB18030, their superset, so characters outside GB2312 that sites send anyway decode too."""
    head = body[:4096]
    found = _META_CHARSET_RE.search(head) or _XML_ENCODING_RE.search(head)
    candidates = [_codec(override), _codec(declared), _codec(found.group(1).decode("ascii")) if found else None]
    for codec in candidates:
        if codec is None:
            continue
        try:
            return body.decode(codec)
        except LookupError:
            continue
        except UnicodeDecodeError:
            if codec == "gb18030":
                return body.decode(codec, errors="replace")
            continue
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        return body.decode("gb18030", errors="replace")


def _tree(html: str) -> lxml.html.HtmlElement:
    try:
        return lxml.html.fromstring(html)
    except (lxml.etree.ParserError, ValueError) as exc:
        raise ExtractError(f"not an HTML page ({exc})") from None


def _squash(text: str) -> str:
    return " ".join(text.split())


def select_text(tree: lxml.html.HtmlElement, css: str | None, *, block: bool = False) -> str | None:
    """Text of the first element matching a CSS selector (blocks joined by newlines when `block`),
    or None. A selector ending in '@attr' returns that attribute."""
    if not css:
        return None
    attr = None
    if "@" in css:
        css, attr = css.rsplit("@", 1)
    nodes = tree.cssselect(css.strip())
    if not nodes:
        return None
    node = nodes[0]
    if attr:
        value = node.get(attr)
        return value.strip() if value else None
    if block:
        parts = [_squash(p.text_content()) for p in node.cssselect("p, li, h2, h3, h4, tr")]
        parts = [p for p in parts if p]
        text = "\n".join(parts) if parts else _squash(node.text_content())
    else:
        text = _squash(node.text_content())
    return text or None


def _date(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        return parse_datetime(value)
    except ValueError:
        m = _DATE_IN_TEXT_RE.search(value)
        if not m:
            return None
        y, mo, d, hh, mm, ss = m.groups()
        try:
            return parse_datetime(
                f"{y}-{int(mo):02d}-{int(d):02d} {int(hh or 0):02d}:{int(mm or 0):02d}:{int(ss or 0):02d}"
            )
        except ValueError:
            return None


def _drop_noise(tree: lxml.html.HtmlElement, noise: Sequence[str]) -> None:
    for css in noise:
        for node in tree.cssselect(css):
            node.drop_tree()


_DATE_METAS = (
    'meta[property="article:published_time"]@content',
    'meta[name="pubdate"]@content',
    'meta[name="publishdate"]@content',
    'meta[name="PubDate"]@content',
    'meta[itemprop="datePublished"]@content',
)
_AUTHOR_METAS = ('meta[name="author"]@content', 'meta[property="article:author"]@content')


def _first_meta(tree: lxml.html.HtmlElement, selectors: Sequence[str]) -> str | None:
    for css in selectors:
        value = select_text(tree, css)
        if value:
            return value
    return None


def extract_article(html: str, url: str, profile: SiteProfile | None = None) -> Article:
    """Title, body, publish time and author of an article page.

    Site selectors (after noise nodes are removed) win; trafilatura fills what they leave out.
    Raises ExtractError when no body text can be found.
    """
    profile = profile or SiteProfile()
    tree = _tree(html)
    _drop_noise(tree, profile.noise)
    cleaned = lxml.html.tostring(tree, encoding="unicode")
    title = select_text(tree, profile.title)
    body = select_text(tree, profile.body, block=True)
    when = _date(select_text(tree, profile.date)) or _date(_first_meta(tree, _DATE_METAS))
    author = select_text(tree, profile.author) or _first_meta(tree, _AUTHOR_METAS)
    if body is None or title is None or when is None or author is None:
        doc = trafilatura.bare_extraction(
            cleaned, url=url, with_metadata=True, include_comments=False, favor_precision=True
        )
        if doc is not None and not isinstance(doc, dict):
            title = title or (doc.title or None)
            body = body or (doc.text or None)
            when = when or _date(doc.date)
            author = author or (doc.author or None)
    if body and title and body.startswith(title + "\n"):
        body = body[len(title) + 1 :]  # trafilatura keeps the headline as the first line
    if not body or not body.strip():
        raise ExtractError(f"{url}: no article text found (set 'body' for this site in sites.toml)")
    return Article(url=url, title=title, text=body.strip(), published_at=when, author=author)


def parse_feed(data: bytes) -> list[FeedEntry]:
    """Entries of an RSS 2.0, Atom or sitemap (urlset) document; ExtractError if it is none of them."""
    try:
        root = lxml.etree.fromstring(data, parser=lxml.etree.XMLParser(recover=True, resolve_entities=False))
    except lxml.etree.XMLSyntaxError as exc:
        raise ExtractError(f"not an XML feed ({exc})") from None
    if root is None:
        raise ExtractError("not an XML feed (empty document)")
    tag = lxml.etree.QName(root).localname
    entries: list[FeedEntry] = []
    if tag == "rss":
        for item in root.iter("item"):
            link = (item.findtext("link") or "").strip()
            if link:
                entries.append(
                    FeedEntry(link, (item.findtext("title") or "").strip() or None, item.findtext("pubDate"))
                )
    elif tag == "feed":
        ns = "{http://www.w3.org/2005/Atom}"
        for entry in root.iter(f"{ns}entry"):
            link_el = entry.find(f"{ns}link")
            link = (link_el.get("href") if link_el is not None else "") or ""
            if link:
                published = entry.findtext(f"{ns}published") or entry.findtext(f"{ns}updated")
                entries.append(FeedEntry(link.strip(), (entry.findtext(f"{ns}title") or "").strip() or None, published))
    elif tag in ("urlset", "sitemapindex"):
        for el in root.iter():
            if lxml.etree.QName(el).localname == "loc" and el.text:
                entries.append(FeedEntry(el.text.strip()))
    else:
        raise ExtractError(f"not an RSS, Atom or sitemap document (root element <{tag}>)")
    return entries


# --- notices: tables and attachments ---------------------------------------------------------

# Structured row keys and the form columns (see feeds.forms) or recall-table headers they come from.
_ROW_KEYS: dict[str, tuple[str, ...]] = {
    "product": ("物料名称", "产品名称", "召回产品", "商品名称", "产品"),
    "enterprise": ("生产商", "生产企业", "召回企业", "企业名称", "生产者"),
    "test_item": ("检测项目", "不合格项目", "缺陷", "缺陷描述", "问题"),
    "verdict": ("判定", "结论"),
    "authority": ("发布单位", "抽检单位", "发布机关"),
    "date": ("发布日期", "召回日期", "日期"),
    "quantity": ("召回数量", "数量"),
    "model": ("型号", "规格型号"),
}


def structured_row(row: Mapping[str, Any]) -> dict[str, Any]:
    """(product, enterprise, test item, verdict, authority, date, ...) of one table row, from its
    headers (spot-check form spellings understood via feeds.forms); unknown columns are kept as-is."""
    meta = row.get("meta")
    if isinstance(meta, Mapping) and meta.get("form"):
        return _from_form_row(row, meta)
    out: dict[str, Any] = {}
    used: set[str] = set()
    for key, names in _ROW_KEYS.items():
        for header, value in row.items():
            if header in used or is_blank(value):
                continue
            canon = form_column(header) or str(header).strip()
            if canon in names or str(header).strip() in names:
                out[key] = value.strip() if isinstance(value, str) else value
                used.add(header)
                break
    for header, value in row.items():
        if header not in used and not is_blank(value):
            out[str(header).strip()] = value.strip() if isinstance(value, str) else value
    return out


def _from_form_row(row: Mapping[str, Any], meta: Mapping[str, Any]) -> dict[str, Any]:
    """A row the feed reader already mapped through a report form (feeds.forms) back to table keys."""
    out: dict[str, Any] = {"product": row.get("product"), "enterprise": row.get("enterprise")}
    for key in ("test_item", "verdict", "authority", "result", "limit", "unit", "category", "supplier", "batch"):
        if meta.get(key):
            out[key] = meta[key]
    if row.get("published_at"):
        out["date"] = str(row["published_at"])
    if meta.get("production_date"):
        out["production_date"] = meta["production_date"]
    return {k: v for k, v in out.items() if v is not None}


def parse_html_tables(html: str, css: str = "table") -> list[dict[str, str]]:
    """Rows of the HTML tables matching `css` as header -> cell text (the first row with <th>, else
    the first row, is the header)."""
    tree = _tree(html)
    rows: list[dict[str, str]] = []
    for table in tree.cssselect(css):
        trs = table.cssselect("tr")
        if not trs:
            continue
        header_idx = next((i for i, tr in enumerate(trs) if tr.cssselect("th")), 0)
        headers = [_squash(c.text_content()) for c in trs[header_idx].cssselect("th, td")]
        for tr in trs[header_idx + 1 :]:
            cells = [_squash(c.text_content()) for c in tr.cssselect("td, th")]
            if not any(cells):
                continue
            rows.append({h: c for h, c in zip(headers, cells, strict=False) if h})
    return rows


def parse_xlsx_bytes(data: bytes, name: str = "attachment.xlsx") -> tuple[list[dict[str, Any]], str | None]:
    """(rows as header -> value, form recognised by feeds.forms or None) of an XLSX attachment.
    Raises ExtractError naming the attachment (and the row) when the workbook or a row cannot be read."""
    info = TableInfo()
    with tempfile.TemporaryDirectory(prefix="riskmine-xlsx-") as tmp:
        path = Path(tmp) / "attachment.xlsx"
        path.write_bytes(data)
        try:
            numbered = list(read_xlsx(path, info=info))
        except Exception as exc:
            raise ExtractError(f"{name}: cannot read the workbook ({exc})") from None
    rows: list[dict[str, Any]] = []
    for _number, row in numbered:
        if isinstance(row, Rejection):
            raise ExtractError(f"{name}: {row.reason}")
        rows.append({k: v for k, v in row.items() if not is_blank(v)})
    return rows, info.form or detect_form(info.headers or [])
