"""Parsing of cell and field values: dates, date ranges, prices, ratings, counts.

Every parser raises :class:`ValueError` with a message that says what was wrong with the
value; callers add the row and field. Naive times are taken as China Standard Time (+08:00,
the Asia/Shanghai zone, which has had no daylight saving since 1991; a fixed offset keeps the
result independent of the system's time zone database).
"""

from __future__ import annotations

import calendar
import math
import re
import unicodedata
from datetime import UTC, date, datetime, time, timedelta, timezone
from typing import Any

from riskmine.feeds.messages import date_detail, message
from riskmine.schema.errors import RiskmineError

SHANGHAI = timezone(timedelta(hours=8), "Asia/Shanghai")
_EXCEL_EPOCH = datetime(1899, 12, 30)
# Numbers read as dates: Excel serial days below this, then YYYYMMDD, epoch seconds, epoch milliseconds.
_EXCEL_SERIAL_MAX = 1_000_000

_DATE_RE = re.compile(
    r"^(?P<y>\d{4})\s*[-/.年]\s*(?P<m>\d{1,2})\s*[-/.月]\s*(?P<d>\d{1,2})\s*[日号]?"
    r"(?:\s*T?\s*(?P<H>\d{1,2})\s*[:时点]\s*(?P<M>\d{1,2})\s*分?"
    r"(?:\s*[:：]?\s*(?P<S>\d{1,2})(?:\.(?P<f>\d{1,6}))?\s*秒?)?)?$"
)
_COMPACT_DATE_RE = re.compile(r"^(?P<y>\d{4})(?P<m>\d{2})(?P<d>\d{2})$")
_CN_DIGITS = {
    "零": 0,
    "〇": 0,
    "一": 1,
    "二": 2,
    "两": 2,
    "三": 3,
    "四": 4,
    "五": 5,
    "六": 6,
    "七": 7,
    "八": 8,
    "九": 9,
    "十": 10,
}


class FieldValueError(RiskmineError, ValueError):
    """A bad value in a named field (the message already says what is wrong)."""

    code = "invalid_value"
    status = 422

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        self.message = message
        super().__init__(message)


def _clean(value: Any) -> str:
    return unicodedata.normalize("NFKC", str(value)).strip()


def _aware(dt: datetime) -> datetime:
    return dt.replace(tzinfo=SHANGHAI) if dt.tzinfo is None else dt


def _from_number(v: float) -> datetime:
    if not math.isfinite(v) or v <= 0:
        raise ValueError(message("not_date", value=repr(v)))
    if v < _EXCEL_SERIAL_MAX:
        return _aware(_EXCEL_EPOCH + timedelta(days=v))
    if v == int(v) and 10_000_000 <= v < 100_000_000:
        return parse_datetime(str(int(v)))
    if 100_000_000 <= v < 100_000_000_000:
        return datetime.fromtimestamp(v, UTC)
    if 100_000_000_000 <= v < 100_000_000_000_000:
        return datetime.fromtimestamp(v / 1000, UTC)
    raise ValueError(message("not_date_number", value=repr(v)))


def parse_datetime(value: Any) -> datetime:
    """A time zone aware datetime from a datetime/date, Excel serial, epoch number or text.

    Text may be ISO 8601 ('2024-05-01T12:30:00+08:00', '2024-05-01 12:30'), '2024/5/1',
    '2024.5.1 8:05', '2024年5月1日', '2024年5月1日 12时30分' or '20240501'.
    """
    if isinstance(value, datetime):
        return _aware(value)
    if isinstance(value, date):
        return datetime.combine(value, time(), SHANGHAI)
    if isinstance(value, time):
        raise ValueError(message("time_without_date", value=repr(value.isoformat())))
    if isinstance(value, bool):
        raise ValueError(message("not_date", value=repr(value)))
    if isinstance(value, int | float):
        return _from_number(float(value))
    text = _clean(value)
    if not text:
        raise ValueError(message("empty_date"))
    m = _DATE_RE.match(text) or _COMPACT_DATE_RE.match(text)
    if m:
        g = m.groupdict()
        frac = (g.get("f") or "").ljust(6, "0")
        try:
            dt = datetime(
                int(g["y"]),
                int(g["m"]),
                int(g["d"]),
                int(g.get("H") or 0),
                int(g.get("M") or 0),
                int(g.get("S") or 0),
                int(frac or 0),
            )
        except ValueError as exc:
            raise ValueError(message("invalid_date", value=repr(text), detail=date_detail(str(exc)))) from None
        return _aware(dt)
    try:
        return _aware(datetime.fromisoformat(text.replace("z", "Z")))
    except ValueError:
        pass
    if re.fullmatch(r"\d+(\.\d+)?", text):
        return _from_number(float(text))
    raise ValueError(message("not_date_text", value=repr(text)))


# The window a document's time (published_at, collected_at) must lie in: from 1990 to a day past the clock. A time
# outside it is a typo or a placeholder (9999-12-31); stored, it would stand for "now" in windows and deadlines.
EARLIEST_DOCUMENT_TIME = datetime(1990, 1, 1, tzinfo=SHANGHAI)
DOCUMENT_TIME_LEEWAY = timedelta(days=1)


def check_document_time(moment: datetime, now: datetime | None = None) -> datetime:
    """`moment` if it lies from 1990 to a day past `now` (default: the clock); else a ValueError saying why."""
    moment = _aware(moment)
    latest = (now or datetime.now(UTC)) + DOCUMENT_TIME_LEEWAY
    if moment < EARLIEST_DOCUMENT_TIME:
        raise ValueError(f"时间 {moment.isoformat()} 早于 1990-01-01，不是有效的文档时间")
    if moment > latest:
        raise ValueError(
            f"时间 {moment.isoformat()} 晚于服务器当前时间一天以上"
            f"（上限 {latest.astimezone(SHANGHAI):%Y-%m-%d %H:%M}），不是有效的文档时间"
        )
    return moment


def parse_document_time(value: Any, now: datetime | None = None) -> datetime:
    """:func:`parse_datetime` for a document's own time, checked by :func:`check_document_time`."""
    return check_document_time(parse_datetime(value), now)


def parse_date(value: Any) -> date:
    """The calendar date of :func:`parse_datetime`'s result, in the value's own time zone."""
    return parse_datetime(value).date()


_FULL_DATE = r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*[日号]?"
_MONTH_DAY = r"(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*[日号]?"
_YEAR_MONTH = r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*月?"
_RANGE_SEP = r"\s*(?:至|到|~|～|—+|–|-+|－|_)\s*"
_RANGE_FULL = re.compile(rf"^{_FULL_DATE}{_RANGE_SEP}{_FULL_DATE}$")
_RANGE_SHORT_END = re.compile(rf"^{_FULL_DATE}{_RANGE_SEP}{_MONTH_DAY}$")
_RANGE_NO_YEAR = re.compile(rf"^{_MONTH_DAY}{_RANGE_SEP}{_MONTH_DAY}$")
_SINGLE_MONTH = re.compile(rf"^{_YEAR_MONTH}$")


def parse_date_range(value: Any, default_year: int | None = None) -> tuple[date, date]:
    """A (start, end) date range from text like '2024.4.25-2024.5.24', '2024年4月25日至5月24日',
    '2024/04/25~2024/05/24', '2024年5月' (the whole month) or '4月25日-5月24日' (with default_year)."""
    if isinstance(value, datetime | date):
        d = value.date() if isinstance(value, datetime) else value
        return d, d
    text = _clean(value)
    if not text:
        raise ValueError(message("empty_range"))
    try:
        if m := _RANGE_FULL.match(text):
            y1, m1, d1, y2, m2, d2 = (int(x) for x in m.groups())
            start, end = date(y1, m1, d1), date(y2, m2, d2)
        elif m := _RANGE_SHORT_END.match(text):
            y1, m1, d1, m2, d2 = (int(x) for x in m.groups())
            start = date(y1, m1, d1)
            end = date(y1, m2, d2)
            if end < start:
                end = date(y1 + 1, m2, d2)
        elif (m := _RANGE_NO_YEAR.match(text)) and default_year is not None:
            m1, d1, m2, d2 = (int(x) for x in m.groups())
            start = date(default_year, m1, d1)
            end = date(default_year, m2, d2)
            if end < start:  # e.g. 12月25日-1月24日: the range ends in the given year
                start = date(default_year - 1, m1, d1)
        elif m := _SINGLE_MONTH.match(text):
            y, mo = int(m.group(1)), int(m.group(2))
            start, end = date(y, mo, 1), date(y, mo, calendar.monthrange(y, mo)[1])
        else:
            start = end = parse_date(text)
    except ValueError as exc:
        detail = "" if str(exc).startswith(repr(text)) else f"（{date_detail(str(exc))}）"
        raise ValueError(message("not_range", value=repr(text), detail=detail)) from None
    if end < start:
        raise ValueError(message("range_reversed", value=repr(text)))
    return start, end


_PRICE_STRIP = re.compile(r"(?i)^(?:rmb|cny|人民币)|[¥￥元,\s]|(?:rmb|cny)$")


def parse_price(value: Any) -> float:
    """A price in yuan from 1299, '1299.00', '¥1,299.00', '1299元', 'RMB 12'."""
    if isinstance(value, bool):
        raise ValueError(message("not_price", value=repr(value)))
    if isinstance(value, int | float):
        number = float(value)
    else:
        text = _clean(value)
        cleaned = _PRICE_STRIP.sub("", text)
        try:
            number = float(cleaned)
        except ValueError:
            raise ValueError(message("not_price", value=repr(text))) from None
    if not math.isfinite(number) or number < 0:
        raise ValueError(message("negative_price", value=repr(value)))
    return number


def _cn_number(text: str) -> int | None:
    if text in _CN_DIGITS:
        return _CN_DIGITS[text]
    return None


def parse_rating(value: Any) -> float:
    """A rating from 4, 4.5, '5星', '4.5分', '五星', '★★★★'."""
    if isinstance(value, bool):
        raise ValueError(message("not_rating", value=repr(value)))
    if isinstance(value, int | float):
        number = float(value)
    else:
        text = _clean(value)
        if text and set(text) <= {"★", "☆"}:
            return float(text.count("★"))
        core = re.sub(r"\s*(?:星级|星|分|颗星)$", "", text)
        cn = _cn_number(core)
        if cn is not None:
            number = float(cn)
        else:
            try:
                number = float(core)
            except ValueError:
                raise ValueError(message("not_rating", value=repr(text))) from None
    if not math.isfinite(number) or number < 0:
        raise ValueError(message("negative_rating", value=repr(value)))
    return number


def parse_count(value: Any) -> int:
    """A whole number of things from 12, 12.0, '12', '1,234', '12条', '约3家'."""
    if isinstance(value, bool):
        raise ValueError(message("not_count", value=repr(value)))
    if isinstance(value, int):
        number = value
    elif isinstance(value, float):
        if not value.is_integer():
            raise ValueError(message("not_count", value=repr(value)))
        number = int(value)
    else:
        text = _clean(value)
        core = re.sub(r"^(?:约|大约|共)|(?:条|个|家|次|件|人|余)+$|,", "", text).strip()
        cn = _cn_number(core)
        if cn is not None:
            number = cn
        elif re.fullmatch(r"\d+(?:\.0+)?", core):
            number = int(float(core))
        else:
            raise ValueError(message("not_count", value=repr(text)))
    if number < 0:
        raise ValueError(message("negative_count", value=repr(value)))
    return number
