"""The monitoring stations' monthly report forms (报送表), recognised by their headers.

Two layouts come from the seed documents:

* the general form (Shanghai 2020 附件2 for industry bodies and test labs; Shanxi 2023 附件1):
  涉及产品, 涉及企业数量, 涉及区域, 风险信息内容, 信息分析, 初步建议, 信息来源;
* the e-commerce form (Shanghai 2020 附件2, 电商平台): 序号, 关键词, 评论关键词, 时间采集范围,
  差评数, 评论数, 店铺名称, 商品名称, 商品地址, 商品价格, 公司所在区域.

A third layout is the published supervisory spot-check result table (监督抽查结果, as in the shared
food_spotcheck_foodmate data): 物料名称, 产品分类, 生产商, 供应商, 生产日期, 批号, 检测项目, 单位,
检测结果, 限量值, 判定, 发布单位, 发布日期, ...; its rows become spot_check documents.

A form row becomes a row of RawDocument fields (source_type station_report; spot_check for the
spot-check table): the text is composed from the content columns, the other columns go to fields
(product, region, shop, url, price, enterprise) and to ``meta`` (counts as integers, the
collection period and production date as ISO dates). Columns outside the form
are passed through under their own header, for the ingest service to map or reject.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from riskmine.feeds.headers import header_key, is_blank, match_key
from riskmine.feeds.messages import message
from riskmine.feeds.values import FieldValueError, parse_count, parse_date, parse_date_range
from riskmine.schema import SourceType, stable_id

GENERAL = "general"
ECOMMERCE = "ecommerce"
SPOT_CHECK = "spot_check"
_FORM_NAMES = {GENERAL: "综合报送", ECOMMERCE: "电商报送", SPOT_CHECK: "监督抽查结果"}

GENERAL_COLUMNS: tuple[str, ...] = (
    "涉及产品",
    "涉及企业数量",
    "涉及区域",
    "风险信息内容",
    "信息分析",
    "初步建议",
    "信息来源",
)
ECOMMERCE_COLUMNS: tuple[str, ...] = (
    "序号",
    "关键词",
    "评论关键词",
    "时间采集范围",
    "差评数",
    "评论数",
    "店铺名称",
    "商品名称",
    "商品地址",
    "商品价格",
    "公司所在区域",
)
SPOT_CHECK_COLUMNS: tuple[str, ...] = (
    "信息来源",
    "搜索条件",
    "物料名称",
    "产品分类",
    "生产商",
    "供应商",
    "生产日期",
    "批号",
    "项目分类",
    "检测项目",
    "单位",
    "检测结果",
    "限量值",
    "判定",
    "发布单位",
    "发布日期",
    "备注",
)
FORM_COLUMNS: dict[str, tuple[str, ...]] = {
    GENERAL: GENERAL_COLUMNS,
    ECOMMERCE: ECOMMERCE_COLUMNS,
    SPOT_CHECK: SPOT_CHECK_COLUMNS,
}

# Spellings seen in the seed documents and in practice (the Shanghai form's header cell reads
# '评论关键词 复制' and '时间采集 范围', split over lines).
_VARIANTS: dict[str, tuple[str, ...]] = {
    "评论关键词": ("评论关键词复制", "差评关键词"),
    "时间采集范围": ("采集时间范围", "时间范围", "采集时间段", "采集周期"),
    "差评数": ("差评数量", "差评条数"),
    "评论数": ("评论数量", "评论条数", "评论总数"),
    "商品地址": ("商品链接", "商品网址"),
    "涉及企业数量": ("企业数量", "涉及企业数"),
    "风险信息内容": ("风险信息",),
    "物料名称": ("样品名称", "产品名称", "食品名称"),
    "生产商": ("标称生产企业名称", "生产企业", "生产企业名称", "标称生产企业"),
    "供应商": ("被抽样单位", "被抽样单位名称"),
    "检测项目": ("不合格项目", "检验项目"),
    "检测结果": ("检验结果",),
    "限量值": ("标准值", "标准规定"),
    "判定": ("判定结果", "结论", "检验结论"),
    "发布单位": ("抽检单位", "公告单位"),
    "发布日期": ("公告日期", "公布日期"),
}

_COLUMN_BY_KEY: dict[str, str] = {}
for _columns in FORM_COLUMNS.values():
    for _column in _columns:
        _COLUMN_BY_KEY[header_key(_column)] = _column
for _column, _names in _VARIANTS.items():
    for _name in _names:
        _COLUMN_BY_KEY[header_key(_name)] = _column

# Rows below the table that are not data.
_FOOTER_PREFIXES = ("填报人", "联系电话", "注:", "注：", "备注:", "备注：", "审核人", "负责人")


def form_column(header: Any) -> str | None:
    """The form column a header stands for (in its seed spelling), or None."""
    return match_key(header, _COLUMN_BY_KEY)


def detect_form(headers: Iterable[Any]) -> str | None:
    """'general' or 'ecommerce' when the headers are one of the station report forms, else None.

    The general form needs 风险信息内容 and at least 4 of its 7 columns; the e-commerce form needs
    评论关键词 or 差评数 and at least 6 of its 11 columns; the spot-check table ('spot_check') needs
    物料名称, 判定 and at least 5 of its columns. When several match, the best-covered one wins.
    """
    columns = {c for c in (form_column(h) for h in headers if not is_blank(h)) if c}
    required = {GENERAL: {"风险信息内容"}, ECOMMERCE: set(), SPOT_CHECK: {"物料名称", "判定"}}
    minimum = {GENERAL: 4, ECOMMERCE: 6, SPOT_CHECK: 5}
    matches: list[tuple[float, str]] = []
    for form, form_columns in FORM_COLUMNS.items():
        found = len(columns & set(form_columns))
        if form == ECOMMERCE and not columns & {"评论关键词", "差评数"}:
            continue
        if required[form] <= columns and found >= minimum[form]:
            matches.append((found / len(form_columns), form))
    return max(matches)[1] if matches else None


def is_form_header(header: Any) -> bool:
    return form_column(header) is not None


def is_filler_row(row: Mapping[str, Any]) -> bool:
    """A row that carries no data: empty, only a pre-filled 序号, or a footer such as '填报人：…'."""
    values = [(k, v) for k, v in row.items() if not is_blank(v)]
    if not values:
        return True
    if all(form_column(k) == "序号" for k, _ in values):
        return True
    first = str(values[0][1]).strip()
    return first.startswith(_FOOTER_PREFIXES)


def _text(value: Any) -> str | None:
    if is_blank(value):
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def _count(column: str, value: Any) -> int | None:
    if is_blank(value):
        return None
    try:
        return parse_count(value)
    except ValueError as exc:
        raise FieldValueError(column, message("field_value", field=column, detail=exc)) from None


# Columns whose bad value leaves the field empty with a warning instead of rejecting the row: the row's risk
# content is what the form is for (a 涉及企业数量 of 若干 is common in station forms).
SOFT_COLUMNS = frozenset({"涉及企业数量"})
WARNINGS = "warnings"  # meta key: [{"field", "reason", "row"}] of a row accepted with a field left empty


def _soft_count(column: str, value: Any, meta: dict[str, Any]) -> int | None:
    """The count, or None with a warning in ``meta`` when the value is not a count."""
    try:
        return _count(column, value)
    except FieldValueError:
        reason = f"{column}：“{str(value).strip()[:40]}”不是数量，已留空；本行其余内容照常接收"
        meta.setdefault(WARNINGS, []).append({"field": column, "reason": reason})
        return None


def _split(form: str, row: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(column of this form -> value, other header -> value)."""
    own = set(FORM_COLUMNS[form])
    cols: dict[str, Any] = {}
    others: dict[str, Any] = {}
    for header, value in row.items():
        column = form_column(header)
        if column is None or column not in own:
            others[header] = value
        elif is_blank(cols.get(column)):
            cols[column] = value
    return cols, others


def _preamble_meta(preamble: Mapping[str, str] | None) -> tuple[dict[str, Any], Any]:
    meta: dict[str, Any] = {}
    published: Any = None
    if not preamble:
        return meta, published
    unit = preamble.get("填报单位") or preamble.get("报送单位") or preamble.get("监测站")
    if unit:
        meta["reporting_unit"] = unit
    when = preamble.get("填报时间") or preamble.get("填报日期") or preamble.get("报送时间")
    if when:
        meta["reporting_date"] = when
        try:
            published = parse_date(when)
            meta["reporting_date"] = published.isoformat()
        except ValueError:
            published = None
    return meta, published


def _general(cols: dict[str, Any], meta: dict[str, Any], published: Any) -> dict[str, Any]:
    content = _text(cols.get("风险信息内容"))
    if content is None:
        raise FieldValueError("风险信息内容", message("missing_form_field", name="风险信息内容", what="风险信息的正文"))
    analysis = _text(cols.get("信息分析"))
    suggestion = _text(cols.get("初步建议"))
    parts = [content]
    if analysis:
        parts.append(f"信息分析：{analysis}")
    if suggestion:
        parts.append(f"初步建议：{suggestion}")
    meta = {"form": GENERAL, **meta}
    count = _soft_count("涉及企业数量", cols.get("涉及企业数量"), meta)
    if count is not None:
        meta["enterprise_count"] = count
    for key, column in (("analysis", "信息分析"), ("suggestion", "初步建议"), ("info_source", "信息来源")):
        value = _text(cols.get(column))
        if value:
            meta[key] = value
    fields: dict[str, Any] = {
        "source_type": SourceType.station_report.value,
        "text": "\n".join(parts),
        "product": _text(cols.get("涉及产品")),
        "region": _text(cols.get("涉及区域")),
        "meta": meta,
    }
    if published is not None:
        fields["published_at"] = published
    return fields


def _ecommerce(cols: dict[str, Any], meta: dict[str, Any], published: Any) -> dict[str, Any]:
    keyword = _text(cols.get("关键词"))
    comment_keywords = _text(cols.get("评论关键词"))
    product = _text(cols.get("商品名称"))
    shop = _text(cols.get("店铺名称"))
    url = _text(cols.get("商品地址"))
    negative = _count("差评数", cols.get("差评数"))
    reviews = _count("评论数", cols.get("评论数"))
    if not (keyword or comment_keywords or product):
        raise FieldValueError(
            "评论关键词",
            message(
                "missing_form_field", name="评论关键词", what="正文由 关键词、评论关键词 和 商品名称 组成，至少填一项"
            ),
        )
    meta = {"form": ECOMMERCE, **meta}
    seq = _text(cols.get("序号"))
    if seq:
        meta["seq"] = seq
    if keyword:
        meta["keyword"] = keyword
    if comment_keywords:
        meta["comment_keywords"] = comment_keywords
    if negative is not None:
        meta["negative_reviews"] = negative
    if reviews is not None:
        meta["reviews"] = reviews
    period_text = _text(cols.get("时间采集范围"))
    if period_text:
        default_year = published.year if published is not None else None
        try:
            start, end = parse_date_range(cols["时间采集范围"], default_year=default_year)
        except ValueError as exc:
            raise FieldValueError("时间采集范围", message("field_value", field="时间采集范围", detail=exc)) from None
        meta["collection_period"] = {"start": start.isoformat(), "end": end.isoformat(), "text": period_text}
        published = end
    parts = []
    if product:
        parts.append(f"商品名称：{product}")
    if keyword:
        parts.append(f"关键词：{keyword}")
    if comment_keywords:
        parts.append(f"评论关键词：{comment_keywords}")
    if negative is not None or reviews is not None:
        counts = []
        if negative is not None:
            counts.append(f"差评数：{negative}")
        if reviews is not None:
            counts.append(f"评论数：{reviews}")
        parts.append("，".join(counts))
    fields: dict[str, Any] = {
        "source_type": SourceType.station_report.value,
        # The same product may be reported again in a later period with new counts: that is new
        # information, so the id covers the period and the keywords, not just the URL.
        "source_id": "ecommerce:"
        + stable_id(url or "", shop or "", product or "", period_text or "", keyword or "", comment_keywords or ""),
        "title": product,
        "text": "；".join(parts),
        "product": product,
        "shop": shop,
        "url": url,
        "price": None if is_blank(cols.get("商品价格")) else cols["商品价格"],
        "region": _text(cols.get("公司所在区域")),
        "meta": meta,
    }
    if published is not None:
        fields["published_at"] = published
    return fields


def _none_marker(value: Any) -> str | None:
    text = _text(value)
    return None if text in (None, "/", "-", "—", "无", "／") else text


def _squash(value: Any) -> str:
    return " ".join(("" if is_blank(value) else str(value)).split())


def spot_check_text(cols: Mapping[str, Any]) -> str:
    """The text of a spot-check record, in the same wording as the labelled corpus
    (scripts/corpus/spotcheck.py), so the classifier sees what it was trained on:
    '【监督抽查】{物料名称}（{产品分类}）{检测项目} 不合格，检测结果 {检测结果}{单位}，标准 {限量值}，
    生产商 {生产商}，{发布单位} {发布日期}', or '…（…）抽检合格，生产商 …，… …' for a pass."""
    name = _squash(cols.get("物料名称"))
    category = _squash(cols.get("产品分类")).replace("-->", "/")
    head = f"【监督抽查】{name}（{category}）" if category else f"【监督抽查】{name}"
    producer = _squash(cols.get("生产商")).strip("/ ") or "未标注"
    issued = " ".join(x for x in (_squash(cols.get("发布单位")), _squash(cols.get("发布日期"))) if x)
    verdict = _squash(cols.get("判定"))
    if verdict == "合格":
        parts = [f"{head}抽检合格", f"生产商 {producer}"]
    else:
        parts = [f"{head}{_squash(cols.get('检测项目')) or '检验项目'} {verdict}"]
        result = _squash(cols.get("检测结果"))
        if result:
            unit = _squash(cols.get("单位"))
            parts.append(f"检测结果 {result}{unit if len(unit) <= 12 else ''}")
        limit = _squash(cols.get("限量值"))
        if limit:
            parts.append(f"标准 {limit}")
        parts.append(f"生产商 {producer}")
    if issued:
        parts.append(issued)
    return "，".join(parts)


def _spot_check(cols: dict[str, Any], meta: dict[str, Any], published: Any) -> dict[str, Any]:
    product = _none_marker(cols.get("物料名称"))
    verdict = _none_marker(cols.get("判定"))
    if product is None:
        raise FieldValueError("物料名称", message("missing_form_field", name="物料名称", what="被抽检的产品"))
    if verdict is None:
        raise FieldValueError("判定", message("missing_form_field", name="判定", what="检验结论：合格或不合格"))
    meta = {"form": SPOT_CHECK, **meta}
    for key, column in (
        ("category", "产品分类"),
        ("supplier", "供应商"),
        ("batch", "批号"),
        ("item_category", "项目分类"),
        ("test_item", "检测项目"),
        ("unit", "单位"),
        ("result", "检测结果"),
        ("limit", "限量值"),
        ("verdict", "判定"),
        ("authority", "发布单位"),
        ("search", "搜索条件"),
        ("info_source", "信息来源"),
        ("note", "备注"),
    ):
        value = _none_marker(cols.get(column))
        if value:
            meta[key] = value
    produced = _none_marker(cols.get("生产日期"))
    if produced:
        try:
            meta["production_date"] = parse_date(cols["生产日期"]).isoformat()
        except ValueError as exc:
            raise FieldValueError("生产日期", message("field_value", field="生产日期", detail=exc)) from None
    fields: dict[str, Any] = {
        "source_type": SourceType.spot_check.value,
        "title": f"{product}{verdict}",
        "text": spot_check_text(cols),
        "product": product,
        "enterprise": _none_marker(cols.get("生产商")),
        "meta": meta,
    }
    released = cols.get("发布日期")
    if not is_blank(released):
        fields["published_at"] = released  # parsed (and checked) by the ingest service
    elif published is not None:
        fields["published_at"] = published
    return fields


def map_form_row(form: str, row: Mapping[str, Any], preamble: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The RawDocument fields of one form row (columns outside the form kept under their header).

    Raises FieldValueError naming the form column for a bad value or missing content.
    """
    if form not in FORM_COLUMNS:
        raise ValueError(f"unknown form {form!r}; known: {', '.join(FORM_COLUMNS)}")
    cols, others = _split(form, row)
    meta, published = _preamble_meta(preamble)
    build = {GENERAL: _general, ECOMMERCE: _ecommerce, SPOT_CHECK: _spot_check}[form]
    fields = build(cols, meta, published)
    out = {k: v for k, v in fields.items() if v is not None}
    for header, value in others.items():
        if header in out:
            raise FieldValueError(str(header), message("form_clash", column=header, form=_FORM_NAMES.get(form, form)))
        out[header] = value
    return out
