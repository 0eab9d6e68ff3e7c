"""Report charts: Chinese labels from the bundled font on a machine without any CJK font, readable layout."""

from __future__ import annotations

import itertools
import os
import subprocess
import sys
import textwrap
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest
from matplotlib.figure import Figure
from matplotlib.text import Text

from riskmine.reports import charts

REGIONS = [
    "新疆维吾尔自治区",
    "内蒙古自治区",
    "广西壮族自治区",
    "宁夏回族自治区",
    "香港特别行政区",
    "黑龙江省",
    "浙江省台州市温岭市",
    "未知地区",
    "上海市",
    "西藏自治区",
]
LONG = ["电动自行车充电器过热起火风险", "儿童玩具小零件误吞窒息", "触电/漏电", "USB-C 充电线 绝缘层破损"] * 3

# Run in a fresh interpreter with matplotlib's cache in an empty folder. Every font that is not
# matplotlib's own (DejaVu, which has no Chinese) is dropped before the charts register theirs, so a
# machine's CJK system fonts cannot help; warnings are errors, so a glyph missing from the font fails.
FRESH_MACHINE = textwrap.dedent(
    """
    import warnings
    warnings.simplefilter("error")
    from pathlib import Path
    import matplotlib
    from matplotlib import font_manager, ft2font
    own = Path(matplotlib.get_data_path()).resolve()
    font_manager.fontManager.ttflist = [
        f for f in font_manager.fontManager.ttflist if Path(f.fname).resolve().is_relative_to(own)
    ]
    assert not [f.name for f in font_manager.fontManager.ttflist if "CJK" in f.name]
    from riskmine.reports import charts

    labels = ["新疆维吾尔自治区", "浙江省", "触电/漏电", "起火/冒烟", "未知地区"]
    figures = [
        charts.bar_figure(labels, [5, 4, 3, 2, 1], title="地区分布", xlabel="省份"),
        charts.barh_figure(labels, [5, 4, 3, 2, 1], title="危害类型分布"),
    ]
    used = set()
    for fig in figures:
        fig.canvas.draw()
        for text in fig.findobj(lambda a: hasattr(a, "get_fontproperties") and a.get_text()):
            found = font_manager.findfont(text.get_fontproperties(), fallback_to_default=False)
            face = ft2font.FT2Font(found, face_index=getattr(found, "face_index", 0))
            assert face.family_name == charts.CJK_FAMILY, (text.get_text(), face.family_name)
            assert Path(found).resolve() == Path(charts.font_file()).resolve(), found
            missing = [ch for ch in text.get_text() if not ch.isspace() and face.get_char_index(ord(ch)) == 0]
            assert not missing, (text.get_text(), missing)
            used.update(ch for ch in text.get_text() if ord(ch) > 0x2E80)
    assert {"疆", "浙", "触", "漏", "危", "害"} <= used, used
    chart = charts.render(figures[0])
    charts.render(figures[1])
    assert chart.png.startswith(b"\\x89PNG") and "<svg" in chart.svg
    print("CJK-OK", charts.font_file(), len(used))
    """
)


def test_chinese_labels_use_the_bundled_font_on_a_fresh_machine(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "MPLCONFIGDIR": str(tmp_path / "mpl"),
        "XDG_CACHE_HOME": str(tmp_path / "cache"),
        "HOME": str(tmp_path),
        "MPLBACKEND": "Agg",
    }
    done = subprocess.run(
        [sys.executable, "-W", "error", "-c", FRESH_MACHINE],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        cwd=Path(__file__).resolve().parents[2],
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "CJK-OK" in done.stdout
    assert (tmp_path / "mpl").is_dir()  # matplotlib built its font cache there, from nothing
    assert "missing from font" not in done.stderr and "findfont" not in done.stderr


@pytest.fixture
def figures() -> Iterator[list[Figure]]:
    made: list[Figure] = []
    yield made
    for fig in made:
        chart = charts.render(fig)
        assert chart.png.startswith(b"\x89PNG") and "<svg" in chart.svg


def _tick_labels(fig: Figure, axis: str) -> list[Text]:
    ax = fig.axes[0]
    ticks = ax.get_xticklabels() if axis == "x" else ax.get_yticklabels()
    return [t for t in ticks if t.get_text()]


def _assert_readable(fig: Figure, axis: str) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a missing glyph warns at draw time
        fig.canvas.draw()
    renderer = fig.canvas.get_renderer()  # type: ignore[attr-defined]
    boxes = [t.get_window_extent(renderer) for t in _tick_labels(fig, axis)]
    assert boxes
    for a, b in itertools.combinations(boxes, 2):
        assert not a.overlaps(b), (a, b)
    page = fig.bbox
    for box in [*boxes, fig.axes[0].title.get_window_extent(renderer)]:
        assert page.x0 <= box.x0 and box.x1 <= page.x1 and page.y0 <= box.y0 and box.y1 <= page.y1, (box, page)


def test_many_long_labels_on_vertical_bars_do_not_overlap(figures: list[Figure]) -> None:
    fig = charts.bar_figure(LONG, list(range(len(LONG))), title="危害类型分布", xlabel="危害")
    figures.append(fig)
    _assert_readable(fig, "x")
    texts = [t.get_text() for t in _tick_labels(fig, "x")]
    assert all(t.count("\n") <= 3 for t in texts) and any("\n" in t for t in texts)
    assert all(t.get_rotation() == 0 for t in _tick_labels(fig, "x"))  # wrapped, never turned


def test_months_fit_on_one_line(figures: list[Figure]) -> None:
    months = [f"{m}月" for m in range(1, 13)]
    fig = charts.bar_figure(months, [3, 0, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5], title="2025年风险信号月度趋势")
    figures.append(fig)
    _assert_readable(fig, "x")
    assert [t.get_text() for t in _tick_labels(fig, "x")] == months


def test_region_names_on_horizontal_bars_do_not_overlap(figures: list[Figure]) -> None:
    fig = charts.barh_figure(REGIONS, list(range(10, 0, -1)), title="地区分布")
    figures.append(fig)
    _assert_readable(fig, "y")
    shown = [t.get_text().replace("\n", "") for t in _tick_labels(fig, "y")]
    assert shown == REGIONS  # the first (largest) on top, none cut


def test_wrap_label() -> None:
    assert charts.wrap_label("新疆维吾尔自治区", 4) == "新疆维吾\n尔自治区"
    assert charts.wrap_label("浙江省", 6) == "浙江省"
    assert charts.wrap_label("一二三四五六七八九十" * 2, 4, max_lines=2).endswith("…")
