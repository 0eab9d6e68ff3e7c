"""Query parameters → store filters, shared by the JSON API and the console pages."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, time
from enum import Enum
from typing import Annotated, Any

from fastapi import Query

from riskmine.api.errors import ApiError
from riskmine.knowledge_graph.evidence import CHINA_TZ
from riskmine.store.base import Range
from riskmine.text.query_terms import category_terms, region_terms

# The store's name for a signal's time (published_at, else collected_at).
TIME_FIELD = "time"
MAX_QUERY_CHARS = 200
# One bound for every list's offset: past it a page is never wanted, and an unbounded integer overflows the store.
MAX_OFFSET = 1_000_000
OffsetQuery = Annotated[int, Query(ge=0, le=MAX_OFFSET, description=f"items to skip, at most {MAX_OFFSET:,}")]


def parse_when(value: str | None, name: str, *, end_of_day: bool = False) -> datetime | None:
    """An ISO date (2024-05-01) or date-time; a bare date means the day's start (or end, for `until`).

    Without a time zone, China Standard Time is meant.
    """
    if value is None or not value.strip():
        return None
    raw = value.strip()
    try:
        if len(raw) == 10:
            day = date.fromisoformat(raw)
            moment = datetime.combine(day, time.max if end_of_day else time.min)
        else:
            moment = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise ApiError(
            422,
            "invalid_request",
            f"{name} {value!r} is not a date: use YYYY-MM-DD or an ISO date-time such as 2024-05-01T08:00:00+08:00",
            [{"in": "query", "field": name, "reason": "not an ISO date or date-time"}],
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=CHINA_TZ)
    return moment


def time_range(since: str | None, until: str | None) -> Range | None:
    start = parse_when(since, "since")
    end = parse_when(until, "until", end_of_day=True)
    if start is None and end is None:
        return None
    if start is not None and end is not None and start > end:
        raise ApiError(422, "invalid_request", f"since ({since}) is after until ({until})")
    return Range(gte=start, lte=end)


def clean_query(q: str | None) -> str | None:
    """The full-text query, trimmed; None when blank. Longer than MAX_QUERY_CHARS is refused."""
    if q is None:
        return None
    text = " ".join(q.split())
    if len(text) > MAX_QUERY_CHARS:
        raise ApiError(422, "query_too_long", f"the search text has {len(text)} characters; at most {MAX_QUERY_CHARS}")
    return text or None


def _value(v: Any) -> Any:
    return v.value if isinstance(v, Enum) else v


# Filter words an analyst types that mean more than themselves: a short region name, a category synonym.
EXPANDED = {"region": region_terms, "product_category": category_terms}


def build_filters(**conditions: Any) -> dict[str, Any]:
    """Store filters from keyword conditions, leaving out those not given (None or empty). A region or product
    category word matches what it denotes (广东 → 广东省, 移动电源 → 充电宝 and the categories below it)."""
    out: dict[str, Any] = {}
    for name, cond in conditions.items():
        if cond is None:
            continue
        if isinstance(cond, str):
            cond = cond.strip()
            if not cond:
                continue
            terms = EXPANDED[name](cond) if name in EXPANDED else [cond]
            out[name] = terms[0] if len(terms) == 1 else terms
        elif isinstance(cond, Sequence):
            values = [_value(v) for v in cond if v is not None and v != ""]
            if values:
                out[name] = values[0] if len(values) == 1 else values
        else:
            out[name] = _value(cond)
    return out


def within_sources(filters: dict[str, Any], visible: Sequence[str] | None) -> dict[str, Any]:
    """The filters narrowed to the sources a user sees (riskmine.review.visibility; None: all), in the store query
    itself so that totals and paging count only those. A ``source`` asked for outside them matches nothing."""
    if visible is None:
        return filters
    asked = filters.get("source")
    if asked is None:
        chosen = list(visible)
    else:
        allowed = set(visible)
        chosen = [s for s in (asked if isinstance(asked, list) else [asked]) if s in allowed]
    return {**filters, "source": chosen}
