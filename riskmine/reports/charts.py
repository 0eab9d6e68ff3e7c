"""Charts for the reports (matplotlib, Agg backend): bar charts as PNG for DOCX and SVG for HTML.

Chinese labels need a CJK font. When fontconfig knows one (``fc-list :lang=zh``) the charts use it
and Chinese labels; otherwise labels are codes (hazard codes, division codes, months) and the
report prints a legend from code to name under the chart.
"""

from __future__ import annotations

import io
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
from matplotlib import font_manager

_CJK_NAMES = ("Noto Sans CJK SC", "Source Han Sans SC", "WenQuanYi Zen Hei", "WenQuanYi Micro Hei", "SimHei")


@lru_cache(maxsize=1)
def cjk_font() -> str | None:
    """The family name of an installed font with Chinese glyphs, or None."""
    try:
        listed = subprocess.run(
            ["fc-list", ":lang=zh", "family"], capture_output=True, text=True, timeout=10, check=False
        ).stdout
    except (OSError, subprocess.SubprocessError):
        listed = ""
    families = [f.split(",")[0].strip() for f in listed.splitlines() if f.strip()]
    known = {f.name for f in font_manager.fontManager.ttflist}
    for name in (*_CJK_NAMES, *families):
        if name in known and (name in families or not families):
            return name
    return None


@dataclass(frozen=True)
class Chart:
    png: bytes
    svg: str


def bar_chart(
    labels: Sequence[str], values: Sequence[float], *, title: str, xlabel: str = "", ylabel: str = "signals"
) -> Chart:
    """A vertical bar chart; `labels` should be ASCII unless :func:`cjk_font` found a font."""
    font = cjk_font()
    with plt.rc_context({"svg.fonttype": "path", "svg.hashsalt": "riskmine"}):
        if font:
            plt.rcParams["font.family"] = [font, "DejaVu Sans"]
        fig, ax = plt.subplots(figsize=(max(6.0, 0.55 * len(labels) + 2), 3.6), dpi=110)
        try:
            positions = list(range(len(labels)))
            bars = ax.bar(positions, list(values), color="#3b6ea8")
            ax.set_xticks(positions, list(labels), rotation=30 if len(labels) > 6 else 0, ha="right")
            ax.bar_label(bars, fmt="%g", fontsize=8)
            ax.set_title(title)
            ax.set_xlabel(xlabel)
            ax.set_ylabel(ylabel)
            ax.spines[["top", "right"]].set_visible(False)
            fig.tight_layout()
            png, svg = io.BytesIO(), io.StringIO()
            fig.savefig(png, format="png")
            fig.savefig(svg, format="svg", metadata={"Date": None})
        finally:
            plt.close(fig)
    return Chart(png.getvalue(), svg.getvalue())
