"""Readers for the public data sets the corpus is drawn from (/work/shared/data).

Every reader yields :class:`SourceText` records with the provenance the corpus keeps:
data set name, file name, and ``row`` = the 0-based index of the record in that file
(CSV: data records as read by ``csv.DictReader``, header excluded; JSON lines and
THUCNews ``.txt``: 0-based line number).  Texts are cleaned with :func:`clean_text`
only (BOM removed, surrounding whitespace stripped), so a labelled text can be
checked against its source row.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from riskmine.settings import shared_data_dir

DATA_DIR = shared_data_dir()

ONLINE_SHOPPING = "online_shopping_10_cats"
WAIMAI = "waimai_10k"
HOTEL = "ChnSentiCorp_htl_all"
THUCNEWS = "THUCNews_titles"
FEWCLUE = "fewclue_eprstmt"
SPOTCHECK = "food_spotcheck_foodmate"
# Domain sources added in 2026-12 (issue 14): JSON lines, one record a line, `text` field.
WASHER = "jd_haier_washer_reviews"
PHONE = "jd_phone_reviews_2025"
COSMETICS = "cosmetics_reviews_zhijiang"
CAR_FORUM = "car_forum_opinions_ccf2018"
QQ_NEWS = "news_product_safety_qq"
HOT_TOPICS = "hot_topics_product_safety"

HEIMAO = "heimao_diapers"
WEIBO_2026 = "weibo_hot_2026"
# sources fetched from public repositories, bundled under riskmine/data/corpus/sources/<name>/ with PROVENANCE.md
BUNDLED_DIR = Path(__file__).resolve().parents[2] / "riskmine" / "data" / "corpus" / "sources"

# data set → (file, source_type, default product category); None = decided per text.
DOMAIN_SOURCES: dict[str, tuple[str, str, str | None]] = {
    WASHER: ("reviews.jsonl", "review", "洗衣机"),
    PHONE: ("reviews.jsonl", "review", "手机"),
    COSMETICS: ("reviews.jsonl", "review", "化妆品"),
    CAR_FORUM: ("comments.jsonl", "complaint", "汽车"),
    QQ_NEWS: ("news.jsonl", "news", None),
    HOT_TOPICS: ("topics.jsonl", "news", None),
}

# online_shopping_10_cats `cat` → product category name used in the corpus (see GUIDE.md).
SHOPPING_CATEGORY = {
    "平板": "平板电脑",
    "水果": "水果",
    "洗发水": "洗发水",
    "衣服": "服装",
    "酒店": "酒店服务",
    "计算机": "计算机",
    "书籍": "书籍",
    "手机": "手机",
    "蒙牛": "乳制品",
    "热水器": "热水器",
}

FEWCLUE_FILES = ("unlabeled.json", "test.json", "test_public.json", "train_few_all.json", "dev_few_all.json")
THUCNEWS_FILES = ("dev.txt", "test.txt")


@dataclass(frozen=True)
class SourceText:
    dataset: str
    file: str
    row: int
    text: str
    source_type: str
    category: str | None  # default product category from the data set (None = decide per text)
    extra: str = ""  # data-set specific hint (e.g. the online_shopping `cat`, the THUCNews class)


def clean_text(text: str) -> str:
    """The only transformation applied to a source text before it enters the corpus."""
    return text.replace("\ufeff", "").strip()


def _csv_rows(path: Path) -> Iterator[tuple[int, dict[str, str]]]:
    with path.open(encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(fh)
        if reader.fieldnames:
            reader.fieldnames = [clean_text(f) for f in reader.fieldnames]
        yield from enumerate(reader)


def online_shopping(data_dir: Path = DATA_DIR) -> Iterator[SourceText]:
    name = "online_shopping_10_cats.csv"
    for row, rec in _csv_rows(data_dir / ONLINE_SHOPPING / name):
        text = clean_text(rec.get("review") or "")
        if text:
            cat = rec["cat"]
            yield SourceText(ONLINE_SHOPPING, name, row, text, "review", SHOPPING_CATEGORY.get(cat), cat)


def waimai(data_dir: Path = DATA_DIR) -> Iterator[SourceText]:
    name = "waimai_10k.csv"
    for row, rec in _csv_rows(data_dir / WAIMAI / name):
        text = clean_text(rec.get("review") or "")
        if text:
            yield SourceText(WAIMAI, name, row, text, "review", "外卖餐食")


def hotel(data_dir: Path = DATA_DIR) -> Iterator[SourceText]:
    name = "ChnSentiCorp_htl_all.csv"
    for row, rec in _csv_rows(data_dir / HOTEL / name):
        text = clean_text(rec.get("review") or "")
        if text:
            yield SourceText(HOTEL, name, row, text, "review", "酒店服务")


def thucnews(data_dir: Path = DATA_DIR) -> Iterator[SourceText]:
    classes = (data_dir / THUCNEWS / "class.txt").read_text(encoding="utf-8").split()
    for name in THUCNEWS_FILES:
        with (data_dir / THUCNEWS / name).open(encoding="utf-8") as fh:
            for row, line in enumerate(fh):
                title, _, cls = line.rstrip("\n").rpartition("\t")
                text = clean_text(title)
                if text:
                    label = classes[int(cls)] if cls.strip().isdigit() else ""
                    yield SourceText(THUCNEWS, name, row, text, "news", None, label)


def fewclue(data_dir: Path = DATA_DIR) -> Iterator[SourceText]:
    for name in FEWCLUE_FILES:
        with (data_dir / FEWCLUE / name).open(encoding="utf-8") as fh:
            for row, line in enumerate(fh):
                if not line.strip():
                    continue
                text = clean_text(json.loads(line).get("sentence") or "")
                if text:
                    yield SourceText(FEWCLUE, name, row, text, "review", None)


def domain_source(dataset: str, data_dir: Path = DATA_DIR) -> Iterator[SourceText]:
    """One of the 2026-12 domain sources (``DOMAIN_SOURCES``); ``extra`` carries the platform of hot topics."""
    name, source_type, category = DOMAIN_SOURCES[dataset]
    with (data_dir / dataset / name).open(encoding="utf-8") as fh:
        for row, line in enumerate(fh):
            if not line.strip():
                continue
            rec = json.loads(line)
            text = clean_text(rec.get("text") or "")
            if text:
                extra = str(rec.get("platform") or rec.get("product") or "")
                yield SourceText(dataset, name, row, text, source_type, category, extra)


# bundled source → (file, source_type, default product category)
BUNDLED_SOURCES: dict[str, tuple[str, str, str | None]] = {
    HEIMAO: ("texts.jsonl", "complaint", "纸尿裤"),
    WEIBO_2026: ("topics.jsonl", "news", None),
}


def bundled_source(dataset: str, data_dir: Path = DATA_DIR) -> Iterator[SourceText]:
    """A source fetched from a public repository, bundled under riskmine/data/corpus/sources (``data_dir`` unused)."""
    name, source_type, category = BUNDLED_SOURCES[dataset]
    with (BUNDLED_DIR / dataset / name).open(encoding="utf-8") as fh:
        for row, line in enumerate(fh):
            text = clean_text(json.loads(line).get("text") or "") if line.strip() else ""
            if text:
                yield SourceText(dataset, name, row, text, source_type, category)


def heimao(data_dir: Path = DATA_DIR) -> Iterator[SourceText]:
    """Complaints about diapers from a complaint platform (bundled)."""
    return bundled_source(HEIMAO, data_dir)


def review_and_news_sources(data_dir: Path = DATA_DIR) -> Iterator[SourceText]:
    """All free-text sources, in a fixed order (earlier sources win exact-duplicate ties)."""
    yield from online_shopping(data_dir)
    yield from fewclue(data_dir)
    yield from waimai(data_dir)
    yield from hotel(data_dir)
    yield from thucnews(data_dir)


def spotcheck_rows(data_dir: Path = DATA_DIR) -> Iterator[tuple[str, int, dict[str, str]]]:
    """(file name, row, record) for every spot-check record, files in name order."""
    for path in sorted((data_dir / SPOTCHECK).glob("*.csv")):
        with path.open(encoding="utf-8-sig", newline="") as fh:
            for row, rec in enumerate(csv.DictReader(fh)):
                yield path.name, row, rec


SOURCE_READERS = {
    ONLINE_SHOPPING: online_shopping,
    WAIMAI: waimai,
    HOTEL: hotel,
    THUCNEWS: thucnews,
    FEWCLUE: fewclue,
    **{name: partial(domain_source, name) for name in DOMAIN_SOURCES},
    **{name: partial(bundled_source, name) for name in BUNDLED_SOURCES},
}


def read_source_text(dataset: str, file: str, row: int, data_dir: Path = DATA_DIR) -> str | None:
    """Re-read one free-text source row (None if the row does not exist or is empty)."""
    if dataset not in SOURCE_READERS:
        raise ValueError(f"unknown data set {dataset!r}")
    for st in SOURCE_READERS[dataset](data_dir):
        if st.file == file and st.row == row:
            return st.text
    return None
