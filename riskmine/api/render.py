"""Turning crawled text into safe HTML for the console.

Crawled text is hostile: it is escaped first, and only then are the hazard spans
wrapped in <mark>. Links are only made from http(s) URLs.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from fastapi.templating import Jinja2Templates
from jinja2 import Environment, FileSystemLoader
from markupsafe import Markup, escape

from riskmine.api.labels import HAZARD, label
from riskmine.knowledge_graph.evidence import as_china_time, signal_text
from riskmine.schema import HazardType, Signal
from riskmine.schema.urls import web_url

TEMPLATES_DIR = Path(__file__).resolve().parent / "templates"
STATIC_DIR = Path(__file__).resolve().parent / "static"

# Sent with every console page: no scripts at all, nothing loaded from elsewhere.
SECURITY_HEADERS: dict[str, str] = {
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; "
        "base-uri 'none'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
}

EXCERPT_CHARS = 240
EXCERPT_BEFORE = 60


@dataclass(frozen=True)
class Mark:
    """A span [start, end) of a text to highlight, with a CSS class suffix and a tooltip."""

    start: int
    end: int
    kind: str
    title: str = ""


def highlight(text: str, marks: Iterable[Mark]) -> Markup:
    """`text` escaped, with each mark wrapped in <mark>; overlapping or out-of-range marks are dropped."""
    out: list[str] = []
    pos = 0
    for m in sorted(marks, key=lambda m: (m.start, -m.end)):
        if m.start < pos or m.end <= m.start or m.end > len(text):
            continue
        out.append(str(escape(text[pos : m.start])))
        out.append(
            f'<mark class="hz hz-{escape(m.kind)}" title="{escape(m.title)}">{escape(text[m.start : m.end])}</mark>'
        )
        pos = m.end
    out.append(str(escape(text[pos:])))
    return Markup("".join(out))


def hazard_marks(signal: Signal) -> list[Mark]:
    """The signal's hazard mentions not ruled out by disambiguation, as marks over its normalized text."""
    return [
        Mark(h.start, h.end, h.hazard.value, f"{HAZARD.get(h.hazard, h.hazard.value)}：{h.term}")
        for h in signal.hazards
        if h.in_sense is not False
    ]


@dataclass(frozen=True)
class Excerpt:
    html: Markup
    cut_before: bool
    cut_after: bool


def excerpt(
    text: str, marks: Sequence[Mark], width: int = EXCERPT_CHARS, before: int = EXCERPT_BEFORE, focus: str | None = None
) -> Excerpt:
    """A window of `text` around its first mark of kind `focus` (else its first mark, else its start), highlighted."""
    valid = [m for m in marks if 0 <= m.start < m.end <= len(text)]
    focused = [m for m in valid if m.kind == focus] or valid
    first = min((m.start for m in focused), default=0)
    start = max(0, first - before) if len(text) > width else 0
    end = min(len(text), start + width)
    inside = [Mark(m.start - start, m.end - start, m.kind, m.title) for m in valid if m.start >= start and m.end <= end]
    return Excerpt(highlight(text[start:end], inside), start > 0, end < len(text))


def signal_excerpt(signal: Signal, width: int = EXCERPT_CHARS, focus: HazardType | None = None) -> Excerpt:
    """The signal's text (normalized, else raw: the text its spans refer to) around a hazard mention."""
    return excerpt(signal_text(signal), hazard_marks(signal), width, focus=focus.value if focus else None)


def safe_url(url: str | None) -> str | None:
    """The URL if it is an absolute http(s) URL, else None (no javascript:, data: or relative links)."""
    return web_url(url)


def local_path(target: str | None, default: str = "/") -> str:
    """A redirect target inside this site (a path), else `default`."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return default
    if any(ord(c) < 32 for c in target):
        return default
    return target


@dataclass(frozen=True)
class Bar:
    label: str
    count: int
    percent: float  # of the largest count, 0-100


def bars(counts: Mapping[str, int], *, table: str | None = None, by_key: bool = False, limit: int = 12) -> list[Bar]:
    """Bars for a count table: largest first (or in key order), with labels from a label table."""
    items = sorted(counts.items()) if by_key else sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    if not by_key:
        items = items[:limit]
    top = max((c for _, c in items), default=0) or 1
    return [Bar(label(k, table) if table else str(k), int(c), round(100.0 * c / top, 1)) for k, c in items]


MAX_WEEKS = 104


def _week_start(key: str) -> date | None:
    try:
        year, week = key.split("-W")
        return date.fromisocalendar(int(year), int(week), 1)
    except ValueError:
        return None


def week_bars(counts: Mapping[str, int], max_weeks: int = MAX_WEEKS) -> list[Bar]:
    """Bars for counts keyed by ISO week ("2024-W07"), in time order, weeks without signals filled with 0."""
    starts = {k: d for k in counts if (d := _week_start(k)) is not None}
    if not starts:
        return []
    first, last = min(starts.values()), max(starts.values())
    first = max(first, last - timedelta(weeks=max_weeks - 1))
    series: dict[str, int] = {}
    day = first
    while day <= last:
        year, week, _ = day.isocalendar()
        series[f"{year}-W{week:02d}"] = 0
        if day > date.max - timedelta(weeks=1):
            break  # the last week of the calendar (a stored placeholder date such as 9999-12-31)
        day += timedelta(weeks=1)
    for key, count in counts.items():
        if key in series:
            series[key] = int(count)
    return bars(series, by_key=True)


def fmt_time(value: datetime | None, fmt: str = "%Y-%m-%d") -> str:
    if value is None:
        return "—"
    return as_china_time(value).strftime(fmt)


def fmt_iso(value: str | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """An ISO-8601 time stored as text (review records, batches), shown in China time; "—" when absent."""
    if not value:
        return "—"
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return value
    return fmt_time(moment, fmt)


def percent(value: Any) -> str:
    return f"{float(value) * 100:.0f}%"


def build_templates() -> Jinja2Templates:
    env = Environment(loader=FileSystemLoader(TEMPLATES_DIR), autoescape=True, trim_blocks=True, lstrip_blocks=True)
    env.filters["label"] = label
    env.filters["when"] = fmt_time
    env.filters["when_iso"] = fmt_iso
    env.filters["safe_url"] = safe_url
    env.filters["percent"] = percent
    env.globals["bars"] = bars
    env.globals["week_bars"] = week_bars
    return Jinja2Templates(env=env)
