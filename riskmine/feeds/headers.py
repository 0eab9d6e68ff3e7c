"""Column names: tolerant matching of headers to RawDocument fields, header-row detection, title rows.

Headers match after NFKC (full-width letters, digits, colons and spaces become half-width), with
all whitespace, underscores and hyphens removed and case ignored; a trailing unit in brackets
('商品价格（元）') and required-field stars ('*标题') are ignored too.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Sequence
from functools import lru_cache
from typing import Any

from riskmine.schema import RawDocument

# RawDocument fields a row may give, in the model's order (`id` is not one: it is accepted as an alias of source_id).
INPUT_FIELDS: tuple[str, ...] = tuple(name for name in RawDocument.model_fields if name != "id")

# Header (any spelling that normalises the same) -> field.
_ALIASES: dict[str, tuple[str, ...]] = {
    "source": ("来源", "信息来源", "数据来源", "来源渠道", "渠道", "平台", "source_name"),
    "source_type": ("来源类型", "信息类型", "信息类别", "来源类别", "sourcetype"),
    "source_id": ("id", "编号", "原始编号", "原始id", "信息编号", "评论id", "sourceid", "doc_id", "external_id"),
    "url": ("链接", "网址", "商品地址", "原文链接", "来源链接", "商品链接", "网页地址", "link", "href"),
    "title": ("标题", "题目", "主题", "新闻标题", "headline", "subject"),
    "text": (
        "内容",
        "正文",
        "评论内容",
        "风险信息内容",
        "评论",
        "评价内容",
        "评价",
        "文本",
        "投诉内容",
        "举报内容",
        "信息内容",
        "详情",
        "content",
        "body",
        "review",
        "sentence",
    ),
    "published_at": (
        "发布时间",
        "时间",
        "日期",
        "发布日期",
        "评论时间",
        "评价时间",
        "投诉时间",
        "发生时间",
        "published",
        "date",
        "time",
        "datetime",
        "publish_time",
        "pubdate",
    ),
    "collected_at": ("采集时间", "采集日期", "抓取时间", "crawled_at"),
    "product": ("商品名称", "涉及产品", "产品", "产品名称", "商品", "商品名"),
    "shop": ("店铺名称", "店铺", "店铺名", "商家", "商家名称", "store"),
    "brand": ("品牌", "品牌名称", "商标"),
    "enterprise": (
        "企业",
        "生产企业",
        "涉及企业",
        "企业名称",
        "生产厂家",
        "厂家",
        "生产者",
        "生产单位",
        "company",
        "manufacturer",
    ),
    "price": ("价格", "商品价格", "售价", "单价"),
    "rating": ("评分", "星级", "评星", "score", "stars"),
    "region": ("地区", "涉及区域", "公司所在区域", "区域", "地域", "所在地区", "所在地", "省份", "area"),
    "meta": ("元数据", "附加信息", "metadata"),
}

_STRIP_RE = re.compile(r"[\s_\-\u200b\ufeff]+")
_UNIT_RE = re.compile(r"\([^()]*\)$")


def header_key(name: Any) -> str:
    """The form of a header used for matching: NFKC, no whitespace/underscores/hyphens, lower case."""
    text = unicodedata.normalize("NFKC", str(name)).casefold()
    text = _STRIP_RE.sub("", text)
    return text.strip("*:").strip()


def _key_variants(name: Any) -> list[str]:
    key = header_key(name)
    variants = [key]
    no_unit = _UNIT_RE.sub("", key)
    if no_unit and no_unit != key:
        variants.append(no_unit)
    return variants


_FIELD_BY_KEY: dict[str, str] = {}
for _field in INPUT_FIELDS:
    _FIELD_BY_KEY[header_key(_field)] = _field
for _field, _names in _ALIASES.items():
    for _name in _names:
        _FIELD_BY_KEY.setdefault(header_key(_name), _field)


def canonical_field(name: Any) -> str | None:
    """The RawDocument field a header or key stands for, or None when unknown."""
    return _canonical(str(name))


@lru_cache(maxsize=4096)
def _canonical(name: str) -> str | None:
    for key in _key_variants(name):
        if key in _FIELD_BY_KEY:
            return _FIELD_BY_KEY[key]
    return None


def match_key(name: Any, keys: dict[str, str]) -> str | None:
    """Look a header up in a table keyed by header_key (trying also without a trailing unit)."""
    for key in _key_variants(name):
        if key in keys:
            return keys[key]
    return None


def is_blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def find_header_row(rows: Sequence[Sequence[Any]], is_known: Callable[[Any], bool] | None = None) -> int:
    """Index of the header among the first rows of a table: the first row with a cell that names
    a known column (title rows such as '填报单位：…' or '…报送表' name none); else the first row
    that is not empty.

    The first such row wins even when a later row names more known columns: taking a data row for
    the header would silently drop the rows above it.
    """
    known = is_known or (lambda cell: canonical_field(cell) is not None)
    for i, row in enumerate(rows):
        if any(not is_blank(cell) and known(cell) for cell in row):
            return i
    for i, row in enumerate(rows):
        if any(not is_blank(cell) for cell in row):
            return i
    return 0


_PREAMBLE_KEYS = ("填报单位", "填报时间", "填报日期", "填报人", "联系电话", "报送单位", "报送时间", "监测站")
_PREAMBLE_RE = re.compile(
    rf"({'|'.join(_PREAMBLE_KEYS)})\s*[:：]\s*(.*?)\s*(?=(?:{'|'.join(_PREAMBLE_KEYS)})\s*[:：]|$)", re.S
)


def parse_preamble(rows: Sequence[Sequence[Any]]) -> dict[str, str]:
    """Key-value pairs from title rows above a header, e.g. {'填报单位': 'XX协会', '填报时间': '2024年5月25日'}.

    A key whose value stands in the next cell ('填报单位：' | 'XX协会') is read too.
    """
    found: dict[str, str] = {}
    for row in rows:
        cells = [str(c).strip() for c in row if not is_blank(c)]
        line = "  ".join(cells)
        for key, value in _PREAMBLE_RE.findall(line):
            value = value.strip()
            if value and key not in found:
                found[key] = value
    return found
