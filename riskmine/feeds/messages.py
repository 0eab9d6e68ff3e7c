"""The wording of every row-level rejection reason, in Chinese, in one table.

Stations and analysts read these reasons. The marker in front ("row 6: ", "line 3: ") stays
machine-stable (callers strip or match it); what follows is Chinese and names the field. A
technical detail an expert may need (a JSON parser's message, a type name) stays in brackets.
Templates use :meth:`str.format` fields; values are shown with ``repr`` so that control characters
in hostile input are escaped.
"""

from __future__ import annotations

from typing import Any

MESSAGES: dict[str, str] = {
    # where: the machine-stable marker, then the reason
    "at": "{unit} {number}: {reason}",
    # values.py: dates, prices, ratings, counts
    "not_date": "{value} 不是日期",
    "not_date_number": "{value} 不是日期（既不是 Excel 日期序号，也不是 YYYYMMDD 或以秒/毫秒计的时间戳）",
    "not_date_text": "{value} 不是日期（请写成 2024-05-01、2024-05-01 12:30、2024/5/1 或 2024年5月1日）",
    "time_without_date": "{value} 只有时刻，没有日期",
    "empty_date": "日期为空",
    "invalid_date": "{value} 不是有效日期（{detail}）",
    "empty_range": "日期范围为空",
    "not_range": "{value} 不是日期范围{detail}；请写成如 2024.4.25-2024.5.24 或 2024年4月25日至5月24日",
    "range_reversed": "{value} 的结束日期早于开始日期",
    "not_price": "{value} 不是价格（请填数字，如 1299.00 或 ¥1,299.00）",
    "negative_price": "{value} 不是价格（不能小于 0）",
    "not_rating": "{value} 不是评分（请填数字，如 4、4.5 或 5星）",
    "negative_rating": "{value} 不是评分（不能小于 0）",
    "not_count": "{value} 不是整数",
    "negative_count": "{value} 不是有效的数量（不能为负数）",
    # a named field or form column with a bad value
    "field": "字段 {name!r}",
    "field_column": "字段 {name!r}（列 {column!r}）",
    "field_value": "{field}：{detail}",
    # readers: tables, JSON Lines, CSV
    "too_many_values": "有 {values} 个值，但表头（第 {header} 行）只有 {columns} 列",
    "not_json": "不是有效的 JSON（{detail}，第 {column} 列）{hint}",
    "not_json_last_line": "（这是文件的最后一行：文件是否不完整？）",
    "json_too_deep": "不是有效的 JSON（嵌套过深）",
    "not_json_object": "不是 JSON 对象（而是{kind}）",
    "line_too_long": "超过 {limit:,} 个字符，已跳过",
    "csv_unparsable": "无法解析 CSV（{detail}），在第 {line} 行停止读取",
    "csv_unclosed_quote": "引号内的字段到文件末尾仍未闭合（文件被截断？）",
    "csv_line_too_long": "第 {line} 行超过 {limit:,} 个字符，停止读取",
    # forms.py: the station report forms
    "missing_form_field": "缺少必填字段 {name!r}（{what}）",
    "form_clash": "列 {column!r} 与{form}表的字段重名",
    # ingest.py: one row to one document
    "not_mapping": "不是带字段名的对象（而是 {kind}）",
    "missing_text": "缺少必填字段 'text'（正文）",
    "missing_id": "缺少必填字段 'id'（编号）",
    "unknown_analyze_field": "未知字段 {name!r}（可用字段：{known}）",
    "missing_source": "缺少字段 'source'（来源；请在行中给出，或设置默认来源）",
    "missing_source_type": "缺少字段 'source_type'（来源类型；请在行中给出，或设置默认值，如 --source-type review）",
    "unknown_source_type": "未知的来源类型（source_type）{value!r}（可用：{known}）",
    "unknown_fields": "未知字段 {listed}（可用字段：{known}，id（即 source_id），以及 标题、内容、发布时间、链接 等"
    "中文表头；其他字段可用 extra='meta' 存入 meta）",
    "must_be_text": "{field} 应为文本，而不是 {kind}",
    "too_long": "{field} 长 {length:,} 个字符，超过上限 {limit:,}",
    "text_too_long": "{field} 长 {length:,} 个字符，超过上限 {limit:,} 个字符（MAX_TEXT_CHARS）",
    "not_web_address": "{field}：{value!r} 不是网址（请用 http:// 或 https:// 开头的地址）",
    "meta_not_json": "{field} 不是有效的 JSON（{detail}，第 {column} 列）",
    "meta_not_object": "{field} 应为 JSON 对象",
    "meta_too_long": "字段 'meta' 的 JSON 长 {length:,} 个字符，超过上限 {limit:,}",
    "columns_disagree": "列 {first!r} 和 {second!r} 都给出字段 {name!r}，但值不同",
    "invalid_field": "字段 {name!r} 的值无效（{detail}）",
    "reading_stopped": "读取中止：{detail}",
    "too_many_rejections": "已有 {count:,} 行被拒收，停止读取；请检查文件和格式是否选对",
}

# Python's own messages for an impossible date, as a station reads them.
_DATE_DETAILS: dict[str, str] = {
    "month must be in 1..12": "月份应在 1–12 之间",
    "day is out of range for month": "该月没有这一天",
    "hour must be in 0..23": "小时应在 0–23 之间",
    "minute must be in 0..59": "分钟应在 0–59 之间",
    "second must be in 0..59": "秒应在 0–59 之间",
}

# What a JSON line held instead of an object.
_JSON_KINDS: dict[type, str] = {list: "数组", str: "字符串", int: "数字", float: "数字", bool: "布尔值"}


def message(key: str, **values: Any) -> str:
    """The reason ``key`` of :data:`MESSAGES` filled in with ``values``."""
    return MESSAGES[key].format(**values)


def at(unit: str, number: int, reason: str) -> str:
    """A reason behind its machine-stable marker: 'row 6: …' or 'line 3: …'."""
    return message("at", unit=unit, number=number, reason=reason)


def json_kind(value: Any) -> str:
    """What a JSON value is, to follow '而是': '数组', '数字', ' null' (a technical name keeps a space before it)."""
    if value is None:
        return " null"
    return _JSON_KINDS.get(type(value), f" {type(value).__name__}")


def date_detail(detail: str) -> str:
    """Python's message for an impossible date in Chinese (kept as it is when not known)."""
    return _DATE_DETAILS.get(detail, detail)
