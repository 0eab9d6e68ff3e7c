"""Server-rendered SVG charts for the console (the pages run no JavaScript).

Every label that goes into the markup is escaped; numbers are formatted by us.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from markupsafe import Markup, escape

from riskmine.api.render import Bar, week_bars

CHART_HEIGHT = 120
PLOT_TOP = 14
PLOT_BOTTOM = 100
BAR_STEP = 18
LEFT = 30
MIN_COLUMNS = 12  # narrower series keep this width, so a short chart does not stretch its columns
FEW_COLUMNS = 6


def _num(value: float) -> str:
    """A coordinate with at most one decimal (and no exponent)."""
    return f"{value:.1f}".rstrip("0").rstrip(".")


def column_chart(series: Sequence[Bar], *, title: str, css_class: str = "trend") -> Markup:
    """A column chart of `series` (in order) with a y axis from 0 to the largest count and the
    first and last labels under the x axis; each column carries its label and count as a tooltip."""
    if not series:
        return Markup('<p class="muted">暂无数据</p>')
    top = max(b.count for b in series) or 1
    width = LEFT + max(len(series), MIN_COLUMNS) * BAR_STEP + 4
    plot = PLOT_BOTTOM - PLOT_TOP
    parts = [
        f'<svg class="{escape(css_class)}" viewBox="0 0 {width} {CHART_HEIGHT}" width="100%" '
        f'role="img" aria-label="{escape(title)}" xmlns="http://www.w3.org/2000/svg">',
        f"<title>{escape(title)}</title>",
        f'<line class="axis" x1="{LEFT}" y1="{PLOT_BOTTOM}" x2="{width}" y2="{PLOT_BOTTOM}"></line>',
        f'<line class="axis" x1="{LEFT}" y1="{PLOT_TOP}" x2="{LEFT}" y2="{PLOT_BOTTOM}"></line>',
        f'<text class="tick" x="{LEFT - 3}" y="{PLOT_TOP + 4}" text-anchor="end">{top}</text>',
        f'<text class="tick" x="{LEFT - 3}" y="{PLOT_BOTTOM}" text-anchor="end">0</text>',
    ]
    for i, b in enumerate(series):
        h = plot * b.count / top
        x = LEFT + i * BAR_STEP + 2
        parts.append(
            f'<rect x="{_num(x)}" y="{_num(PLOT_BOTTOM - h)}" width="{BAR_STEP - 4}" height="{_num(max(h, 0.5))}">'
            f"<title>{escape(b.label)}：{b.count}</title></rect>"
        )
    if len(series) <= FEW_COLUMNS:  # room to name every column (the part after the year, e.g. "W19")
        for i, b in enumerate(series):
            mid = LEFT + i * BAR_STEP + BAR_STEP / 2
            short = b.label.rsplit("-", 1)[-1]
            parts.append(
                f'<text class="tick" x="{_num(mid)}" y="{PLOT_BOTTOM + 9}" text-anchor="middle">{escape(short)}</text>'
            )
        parts.append(f'<text class="tick" x="{LEFT}" y="{CHART_HEIGHT - 4}">{escape(series[0].label)}</text>')
    else:
        end = LEFT + len(series) * BAR_STEP
        parts.append(f'<text class="tick" x="{LEFT}" y="{CHART_HEIGHT - 4}">{escape(series[0].label)}</text>')
        parts.append(
            f'<text class="tick" x="{end}" y="{CHART_HEIGHT - 4}" text-anchor="end">{escape(series[-1].label)}</text>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))


def weekly_trend_chart(counts_by_week: Mapping[str, int]) -> Markup:
    """The weekly signal counts of a candidate ("2024-W07" keys), gaps filled with zero weeks."""
    return column_chart(week_bars(counts_by_week), title="每周信号数")


def meter(fraction: float, *, label: str = "") -> Markup:
    """A horizontal bar filled to `fraction` (clamped to [0, 1]), for one factor's value."""
    share = min(1.0, max(0.0, float(fraction)))
    return Markup(
        '<svg class="bar" viewBox="0 0 100 8" preserveAspectRatio="none" role="img" aria-label="{}">'
        '<rect width="{}" height="8"></rect></svg>'
    ).format(label, _num(100 * share))
