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
    "DAMAGED_FEED_STAT",
    "Article",
    "DamagedFeed",
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
    """Text of a page: the site override's encoding, else UTF-8 when the bytes hold non-ASCII text that is
    valid UTF-8 (pages re-saved as UTF-8 often keep a stale `<meta charset=gbk>`, and GBK text is practically
    never valid UTF-8), else the HTTP header's, else the page's <meta> (or XML declaration), else UTF-8 if it
    decodes, else GB18030. GBK and GB2312 are read as GB18030, their superset, so characters outside GB2312
    that sites send anyway decode too."""
    if override is None and not body.isascii():
        try:
            return body.decode("utf-8")
        except UnicodeDecodeError:
            pass
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


def _untable_layout(tree: lxml.html.HtmlElement, cell_chars: int = 100) -> None:
    """Turn layout tables (holding another table, or a cell of more than `cell_chars` characters) into divs.

    Older Chinese portals lay whole pages out in tables; trafilatura keeps a table it picks as one block, rows
    of navigation and all, while as divs its boilerplate rules apply row by row. Data tables (short cells) stay.
    """
    for table in tree.xpath("//table"):
        cells = table.xpath(".//td | .//th")
        if table.xpath(".//table") or any(len(_bare(c.text_content())) > cell_chars for c in cells):
            for el in [table, *table.xpath(".//tbody | .//thead | .//tfoot | .//tr"), *cells]:
                el.tag = "div"


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


# Where a <title> splits into headline and site name: "_", "--", "|", "»", ">", " - " and the like, spaces, and
# before a bracket (「(页 1)」); not "——", which Chinese headlines use between headline and subtitle.
_TITLE_SPLIT_RE = re.compile(r"\s*(?:[_|｜»›>]+|-{1,2}|::)\s*|\s[–—]\s|\s+|(?=[(（])")
_STRONG_SPLIT_RE = re.compile(r"\s*(?:_+|\s[-–—|｜»]\s|--|[|｜»])\s*")
_HEADING_TAGS = {"h1", "h2", "h3", "h4", "b", "strong"}


def _bare(text: str) -> str:
    return "".join(text.split())


def _shown_text(tree: lxml.html.HtmlElement) -> str:
    """The text the page shows (no scripts or styles), without whitespace."""
    return _bare("".join(tree.xpath("//body//text()[not(ancestor::script or ancestor::style)]")))


def _title_tag(tree: lxml.html.HtmlElement) -> str:
    nodes = tree.xpath("//title")
    return _squash(nodes[0].text_content()) if nodes else ""


def _heading_like(el: lxml.html.HtmlElement) -> bool:
    marks = f"{el.get('class', '')} {el.get('id', '')}".lower()
    return el.tag in _HEADING_TAGS or "title" in marks


def _page_title(tree: lxml.html.HtmlElement) -> tuple[str | None, bool]:
    """(headline, whether a heading of the page shows it) from <title>: the run of its segments (split at
    separators such as "_", " - ", "|") that an element of the page shows as its whole text, so site names such
    as 「-新华网」 drop off. Runs shown by a heading (h1-h4, b, strong, class or id "title") win, then runs that
    open the <title>, then longer runs. When no run is shown: the longest segment between strong separators.
    (None, False) when the page has no <title>."""
    full = _title_tag(tree)
    if not full:
        return None, False
    floor = max(4, int(0.2 * len(_bare(full))))
    shown: dict[str, tuple[str, bool]] = {}
    size = "string-length(normalize-space(.))"
    for el in tree.xpath(f"//body//*[not(self::title)][{size} >= {floor} and {size} <= {len(full) + 8}]"):
        text = _squash(el.text_content())
        key = _bare(text)
        known = shown.get(key)
        shown[key] = (known[0] if known else text, _heading_like(el) or (known is not None and known[1]))
    cuts = [0, *(pos for m in _TITLE_SPLIT_RE.finditer(full) for pos in (m.start(), m.end())), len(full)]
    starts, ends = sorted(set(cuts[0::2])), sorted(set(cuts[1::2]))
    best: tuple[bool, bool, int] | None = None
    headline = ""
    for i in starts:
        for j in ends:
            piece = _bare(full[i:j])
            if len(piece) >= floor and piece in shown:
                text, heading = shown[piece]
                rank = (heading, i == 0, len(piece))
                if best is None or rank > best:
                    best, headline = rank, text
    if headline:
        return headline, bool(best and best[0])
    return max(_STRONG_SPLIT_RE.split(full), key=len).strip() or full, False


def _headline_near_body(tree: lxml.html.HtmlElement, body: str, title: str | None, reach: int = 300) -> str | None:
    """For a <title> run that no heading shows: the longer of the run (when the page shows it within `reach`
    characters before the first line of the body) and the last heading there (see `_heading_like`, 4 to 80
    characters), which is the headline of a page whose <title> names only the site or column; else None."""
    flat = _shown_text(tree)
    lead = _bare(body.strip().partition("\n")[0])[:12]
    start = flat.find(lead) if len(lead) >= 4 else -1
    if start < 0:
        return None
    low = max(0, start - reach)
    near = [title] if title and flat.rfind(_bare(title), low, start + len(_bare(title))) >= 0 else []
    found = None
    size = "string-length(normalize-space(.))"
    for el in tree.xpath(f"//body//*[{size} >= 4 and {size} <= 80]"):
        if _heading_like(el):
            text = _squash(el.text_content())
            pos = flat.rfind(_bare(text), low, start)
            if pos >= 0 and (found is None or pos > found[0]):
                found = (pos, text)
    if found and not (near and _bare(near[0]) in _bare(found[1])):  # a heading around the run adds only a label
        near.append(found[1])
    return max(near, key=lambda t: len(_bare(t))) if near else None


def _date_after_headline(tree: lxml.html.HtmlElement, title: str | None) -> datetime | None:
    """The first date written within 300 characters after the headline (news pages print the publish time
    under it, 「2005年03月21日 11:21 来源：…」), skipping the headline's own text."""
    if not title:
        return None
    flat = _shown_text(tree)
    pos = flat.find(_bare(title))
    if pos < 0:
        return None
    window = flat[pos + len(_bare(title)) : pos + len(_bare(title)) + 300]
    m = _DATE_IN_TEXT_RE.search(window)
    return _date(m.group(0)) if m else None


# No dateparser search over the page text: slow (seconds per page) and often wrong on Chinese pages.
_DATE_PARAMS = {"extensive_search": False, "original_date": True}


def _trafilatura(html: str, url: str, *, precision: bool, metadata: bool = True) -> Any:
    doc = trafilatura.bare_extraction(
        html,
        url=url,
        with_metadata=metadata,
        include_comments=False,
        favor_precision=precision,
        date_extraction_params=_DATE_PARAMS if metadata else None,
    )
    return doc if doc is not None and not isinstance(doc, dict) else None


def extract_article(html: str, url: str, profile: SiteProfile | None = None) -> Article:
    """Title, body, publish time and author of an article page.

    Site selectors (after noise nodes are removed) win; then the headline from <title> (see `_page_title`) and
    trafilatura for the rest. Trafilatura's precise mode is kept unless it returns under half of what its
    default mode finds (it cuts some long articles and notices to a fragment).
    Raises ExtractError when no body text can be found.
    """
    profile = profile or SiteProfile()
    tree = _tree(html)
    _drop_noise(tree, profile.noise)
    title = select_text(tree, profile.title)
    title_shown = title is not None
    if title is None:
        title, title_shown = _page_title(tree)
    body = select_text(tree, profile.body, block=True)
    when = _date(select_text(tree, profile.date)) or _date(_first_meta(tree, _DATE_METAS))
    author = select_text(tree, profile.author) or _first_meta(tree, _AUTHOR_METAS)
    doc = None
    if body is None or not title_shown or when is None or author is None:
        _untable_layout(tree)
        cleaned = lxml.html.tostring(tree, encoding="unicode")
        doc = _trafilatura(cleaned, url, precision=True)
        if body is None:
            body = (doc.text if doc is not None else None) or None
            broad = _trafilatura(cleaned, url, precision=False, metadata=False)
            if broad is not None and len(broad.text or "") > 2 * len(body or ""):
                body = broad.text
    if not title_shown and body:
        title = _headline_near_body(tree, body, title) or title
    if doc is not None:
        title = title or (doc.title or None)
        author = author or (doc.author or None)
    when = when or _date_after_headline(tree, title) or (_date(doc.date) if doc is not None else None)
    if body and title:
        body = _drop_headline(body, title)
    if not body or not body.strip():
        raise ExtractError(f"{url}: no article text found (set 'body' for this site in sites.toml)")
    return Article(url=url, title=title, text=body.strip(), published_at=when, author=author)


def _drop_headline(body: str, title: str) -> str:
    """The body without the headline that trafilatura keeps as its first line."""
    first, _, rest = body.partition("\n")
    return rest if rest and _bare(first) == _bare(title) else body


DAMAGED_FEED_STAT = "riskmine/damaged_feeds"  # the crawl stat counting feeds the XML parser had to repair


class DamagedFeed(ExtractError):
    """A feed the XML parser had to repair (cut off in transfer, or malformed): ``entries`` holds what could be
    read of it, which is worth following, but the crawl of its source is not a success."""

    def __init__(self, message: str, entries: list[FeedEntry]) -> None:
        super().__init__(message)
        self.entries = entries


def parse_feed(data: bytes) -> list[FeedEntry]:
    """Entries of an RSS 2.0, Atom or sitemap (urlset) document; ExtractError if it is none of them, and
    DamagedFeed (with the entries read) if it is one but malformed or cut off."""
    parser = lxml.etree.XMLParser(recover=True, resolve_entities=False)
    try:
        root = lxml.etree.fromstring(data, parser=parser)
    except lxml.etree.XMLSyntaxError as exc:
        raise ExtractError(f"not an XML feed ({exc})") from None
    if root is None:
        raise ExtractError("not an XML feed (empty document)")
    entries = _feed_entries(root)
    damage = [e for e in parser.error_log if e.level >= lxml.etree.ErrorLevels.ERROR]
    if damage:
        first = damage[0]
        raise DamagedFeed(
            f"the feed is malformed or cut off (line {first.line}: {first.message}); "
            f"{len(entries)} entr{'y' if len(entries) == 1 else 'ies'} read",
            entries,
        )
    return entries


def _feed_entries(root: lxml.etree._Element) -> list[FeedEntry]:
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
