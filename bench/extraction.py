"""Article extraction on real Chinese pages: the news spider's extractor against trafilatura alone.

The pages and their reference title, date and body are in tests/fixtures/extraction/ (see PROVENANCE.md there).
Scores: title exact match after NFKC and removing whitespace; body F1 over the multiset of non-space characters
(Chinese has no word boundaries, so characters are the tokens); date exact to the precision the reference gives
(year, month, day). Figures are printed for the whole set and for its two halves, "tune" (used while fixing the
extractor) and "holdout" (not looked at while tuning). tests/crawler/test_extract_regression.py asserts on them.

Run: ``python -m bench extraction``.
"""

from __future__ import annotations

import json
import lzma
import re
import statistics
import time
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import trafilatura

from bench.targets import record
from riskmine.crawler.extract import ExtractError, decode_html, extract_article

FIXTURES = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "extraction"
_REF_DATE = re.compile(r"(\d{4})(?:-(\d{1,2}))?(?:-(\d{1,2}))?")
# Most pages of the source set are stored in a corpus record, not as served: <text id="URL" title="<title> text"
# encoding="charset">page or body fragment</text>. The loader undoes it (the spider sees the page and the charset
# of the HTTP header), rebuilding <html><head><title> around a body fragment.
_RECORD = re.compile(rb'\A\s*<text id="([^"]*)" title="([^"]*)" encoding="([^"]*)">(.*)</text>\s*\Z', re.DOTALL)


@dataclass(frozen=True)
class Page:
    id: str
    split: str
    html: bytes
    url: str
    encoding: str | None
    title: str | None
    date: str | None
    body: str


@dataclass(frozen=True)
class Extracted:
    title: str | None
    date: datetime | str | None
    body: str


@dataclass(frozen=True)
class Scores:
    title_exact: float
    body_f1: float
    date_exact: float
    pages: int


def load_pages(folder: Path = FIXTURES) -> list[Page]:
    """The regression set: expected.jsonl rows with their xz-compressed page bytes."""
    pages = []
    for line in (folder / "expected.jsonl").read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        html = lzma.decompress((folder / "pages" / f"{row['id']}.html.xz").read_bytes())
        html, encoding = unwrap_record(html)
        url = row["url"] or f"http://example.invalid/{row['id']}.html"
        pages.append(Page(row["id"], row["split"], html, url, encoding, row["title"], row["date"], row["body"]))
    return pages


def unwrap_record(data: bytes) -> tuple[bytes, str | None]:
    """(page bytes, charset of the record or None) of a stored page; pages not in a record pass as they are."""
    m = _RECORD.match(data)
    if not m:
        return data, None
    _url, title, encoding, inner = m.groups()
    if not re.search(rb"<html", inner, re.IGNORECASE):
        inner = b"<html><head><title>" + title + b"</title></head><body>" + inner + b"</body></html>"
    return inner, None if encoding == b"unset" else encoding.decode("ascii")


def norm_title(title: str | None) -> str:
    return "".join(unicodedata.normalize("NFKC", title or "").split())


def char_f1(reference: str, got: str) -> float:
    """F1 over the multiset of non-space characters."""
    ref = Counter(c for c in reference if not c.isspace())
    out = Counter(c for c in got if not c.isspace())
    overlap = sum((ref & out).values())
    if not overlap:
        return 1.0 if not ref and not out else 0.0
    precision, recall = overlap / sum(out.values()), overlap / sum(ref.values())
    return 2 * precision * recall / (precision + recall)


def date_matches(reference: str, got: datetime | str | None) -> bool:
    """Year, month and day as far as the reference gives them."""
    m = _REF_DATE.match(reference)
    if not m or got is None:
        return False
    if isinstance(got, str):
        found = _REF_DATE.match(got.strip())
        if not found:
            return False
        have = [int(g) if g else None for g in found.groups()]
    else:
        have = [got.year, got.month, got.day]
    want = [int(g) if g else None for g in m.groups()]
    return all(w is None or w == h for w, h in zip(want, have, strict=True))


def ours(page: Page) -> Extracted:
    try:
        art = extract_article(decode_html(page.html, page.encoding), page.url)
    except ExtractError:
        return Extracted(None, None, "")
    return Extracted(art.title, art.published_at, art.text)


def trafilatura_alone(page: Page) -> Extracted:
    """trafilatura's defaults on the page bytes, except the extensive date search (dateparser over the whole
    text: seconds per page; the extractor turns it off too). Title and body are as with the defaults."""
    doc = trafilatura.bare_extraction(
        page.html, url=page.url, with_metadata=True, date_extraction_params={"extensive_search": False}
    )
    if doc is None or isinstance(doc, dict):
        return Extracted(None, None, "")
    return Extracted(doc.title, doc.date, doc.text or "")


def run(pages: Iterable[Page], extract: Callable[[Page], Extracted]) -> list[tuple[Page, Extracted]]:
    return [(page, extract(page)) for page in pages]


def score(results: Iterable[tuple[Page, Extracted]], split: str | None = None) -> Scores:
    """Scores over the pages of one split ("tune", "holdout") or, by default, all of them."""
    titles, bodies, dates = [], [], []
    for page, got in results:
        if split is not None and page.split != split:
            continue
        if page.title is not None:
            titles.append(norm_title(got.title) == norm_title(page.title))
        bodies.append(char_f1(page.body, got.body))
        if page.date is not None:
            dates.append(date_matches(page.date, got.date))
    return Scores(
        statistics.mean(titles) if titles else 0.0,
        statistics.mean(bodies) if bodies else 0.0,
        statistics.mean(dates) if dates else 0.0,
        len(bodies),
    )


def main(argv: list[str]) -> None:
    pages = load_pages()
    print(f"{'extractor':<26}{'pages':>6}{'title exact':>13}{'body F1':>9}{'date exact':>12}{'seconds':>9}")
    found: dict[str, Scores] = {}
    for name, fn in (("ours", ours), ("trafilatura alone", trafilatura_alone)):
        t0 = time.perf_counter()
        results = run(pages, fn)
        seconds = time.perf_counter() - t0
        for split in (None, "tune", "holdout"):
            s = found[f"{name}/{split or 'all'}"] = score(results, split)
            print(
                f"{name + ' ' + (split or 'all'):<26}{s.pages:>6}{s.title_exact:>13.3f}{s.body_f1:>9.3f}"
                f"{s.date_exact:>12.3f}{seconds if split is None else 0:>9.1f}"
            )
    record("extraction: title exact on real Chinese pages (all)", found["ours/all"].title_exact, 0.90)
    record("extraction: body F1 on real Chinese pages (all)", found["ours/all"].body_f1, 0.90)
    record("extraction: body F1, held-out half", found["ours/holdout"].body_f1, 0.90)
