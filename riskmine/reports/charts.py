"""Charts for the reports (matplotlib, Agg, no pyplot): bar charts as PNG for DOCX and SVG for HTML.

Chinese labels on any machine: the charts do not depend on a system font. They use Noto Sans CJK SC
from the ``noto-cjk-sans-otc`` package (a base dependency; SIL Open Font License), registered with
matplotlib's font manager by :func:`chart_font` and named explicitly in every chart's rcParams, so a
machine without fontconfig or any CJK font draws the same glyphs (no boxes, no missing-glyph
warnings). SVG text is drawn as paths, so the HTML report needs no font either.

Readable labels: long category labels are wrapped onto at most three lines; categories (hazards,
regions) are drawn as horizontal bars, one label per row; the figure grows with the number of bars
and the widest label, and the layout is constrained so that nothing is cut off.
"""

from __future__ import annotations

import io
import textwrap
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any

import matplotlib as mpl
from matplotlib import font_manager
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator
from noto_cjk_sans_otc import FONT_PATH

from riskmine.schema.errors import RiskmineError

# The Simplified Chinese face of the Noto Sans CJK collection (the collection holds JP, KR, SC, TC, HK).
CJK_FAMILY = "Noto Sans CJK SC"
FONT_SIZE = 9.0
_BAR_COLOUR = "#3b6ea8"
_MAX_LINES = 3
_VERTICAL_WRAP = 6  # characters per line under a vertical bar
_HORIZONTAL_WRAP = 12  # characters per line beside a horizontal bar
# rcParams are global: one chart is styled, built and saved at a time (the API renders in threads)
_STYLE_LOCK = threading.RLock()
_MAX_WIDTH_IN = 11.0  # a vertical chart no wider than this: past it, its labels wrap narrower


class ChartFontError(RiskmineError, RuntimeError):
    """The bundled CJK font could not be registered with matplotlib."""

    code = "chart_font_missing"
    status = 500


@lru_cache(maxsize=1)
def chart_font() -> str:
    """Register the bundled CJK font with matplotlib (once) and return the family name to use."""
    with resources.as_file(FONT_PATH) as path:
        if not path.is_file():
            raise ChartFontError(f"the chart font is missing: {path} (reinstall noto-cjk-sans-otc)")
        font_manager.fontManager.addfont(str(path))
    if CJK_FAMILY not in {f.name for f in font_manager.fontManager.ttflist}:
        # matplotlib < 3.11 registers only the first face of a collection
        raise ChartFontError(f"{CJK_FAMILY} was not registered from {path}; matplotlib >= 3.11 is needed")
    return CJK_FAMILY


def font_file() -> str:
    """The path of the font file that :func:`chart_font` registers."""
    with resources.as_file(FONT_PATH) as path:
        return str(path)


@dataclass(frozen=True)
class Chart:
    png: bytes
    svg: str


def wrap_label(label: str, width: int, *, max_lines: int = _MAX_LINES) -> str:
    """`label` on lines of at most `width` characters (CJK text has no spaces: it breaks anywhere)."""
    lines = textwrap.wrap(
        " ".join(label.split()),
        width=width,
        break_long_words=True,
        break_on_hyphens=False,
        max_lines=max_lines,
        placeholder="…",
    )
    return "\n".join(lines) or label


def _line_chars(labels: Sequence[str]) -> int:
    return max((len(line) for lab in labels for line in lab.splitlines()), default=1)


@contextmanager
def _chart_style() -> Iterator[None]:
    with _STYLE_LOCK:
        family = chart_font()
    style: dict[str, Any] = {
        "font.family": [family],
        "font.size": FONT_SIZE,
        "axes.unicode_minus": False,
        "svg.fonttype": "path",
        "svg.hashsalt": "riskmine",
        "figure.dpi": 110,
    }
    with _STYLE_LOCK, mpl.rc_context(style):  # type: ignore[arg-type]  # the stub wants literal keys
        yield


def _figure(width: float, height: float) -> Figure:
    """A figure of its own (no pyplot state to leak or share between threads), drawn with Agg."""
    fig = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def _finish(ax: Axes, title: str, xlabel: str, ylabel: str) -> None:
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.spines[["top", "right"]].set_visible(False)


def bar_figure(
    labels: Sequence[str], values: Sequence[float], *, title: str, xlabel: str = "", ylabel: str = "条数"
) -> Figure:
    """A vertical bar chart (for short, ordered labels such as months), to :func:`render` or draw.

    Labels are never turned: the figure widens for long labels up to a limit, and past it labels wrap
    onto more, narrower lines, so that each stays within its own bar's slot.
    """
    with _chart_style():
        em = FONT_SIZE / 72  # inches per CJK character
        n = max(1, len(labels))
        chars = min(_VERTICAL_WRAP, _line_chars(labels))
        slot = max(0.45, chars * em + 0.2)
        if slot * n + 1.5 > _MAX_WIDTH_IN:
            slot = (_MAX_WIDTH_IN - 1.5) / n
            chars = max(1, int((slot - 0.15) / em))
        wrapped = [wrap_label(lab, chars, max_lines=_MAX_LINES + 1) for lab in labels]
        lines = max((lab.count("\n") + 1 for lab in wrapped), default=1)
        fig = _figure(max(6.0, slot * n + 1.5), 3.4 + 0.16 * lines)
        ax = fig.add_subplot()
        positions = list(range(len(labels)))
        bars = ax.bar(positions, list(values), color=_BAR_COLOUR)
        ax.set_xticks(positions, wrapped)
        ax.bar_label(bars, fmt="%g", fontsize=FONT_SIZE - 1)
        ax.margins(y=0.12)
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))  # counts
        _finish(ax, title, xlabel, ylabel)
    return fig


def barh_figure(
    labels: Sequence[str], values: Sequence[float], *, title: str, xlabel: str = "条数", ylabel: str = ""
) -> Figure:
    """A horizontal bar chart (for categories with long names), the first label on top, to :func:`render`."""
    with _chart_style():
        wrapped = [wrap_label(lab, _HORIZONTAL_WRAP) for lab in labels]
        lines = sum(lab.count("\n") + 1 for lab in wrapped)
        height = max(1.9, 0.3 * lines + 0.12 * len(labels) + 1.3)
        fig = _figure(7.0, height)
        ax = fig.add_subplot()
        positions = list(range(len(labels)))
        bars = ax.barh(positions, list(values), height=0.6, color=_BAR_COLOUR)
        ax.set_yticks(positions, wrapped)
        ax.invert_yaxis()
        ax.bar_label(bars, fmt="%g", fontsize=FONT_SIZE - 1, padding=2)
        ax.margins(x=0.1)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # counts
        _finish(ax, title, xlabel, ylabel)
    return fig


def render(fig: Figure) -> Chart:
    """The figure as PNG and SVG (text as paths, no date: the same data give the same SVG)."""
    with _chart_style():
        png, svg = io.BytesIO(), io.StringIO()
        fig.savefig(png, format="png")
        fig.savefig(svg, format="svg", metadata={"Date": None})
    return Chart(png.getvalue(), svg.getvalue())


def bar_chart(
    labels: Sequence[str], values: Sequence[float], *, title: str, xlabel: str = "", ylabel: str = "条数"
) -> Chart:
    """A vertical bar chart with Chinese labels, rendered."""
    return render(bar_figure(labels, values, title=title, xlabel=xlabel, ylabel=ylabel))


def barh_chart(
    labels: Sequence[str], values: Sequence[float], *, title: str, xlabel: str = "条数", ylabel: str = ""
) -> Chart:
    """A horizontal bar chart with Chinese labels, rendered."""
    return render(barh_figure(labels, values, title=title, xlabel=xlabel, ylabel=ylabel))
