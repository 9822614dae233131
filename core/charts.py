"""Small charts for pages and PDFs: one bar chart drawn by matplotlib's SVG backend on the server,
with its title, its description and the table of the same figures beside it, no script needed.

The one charting library is matplotlib (already the usage report's PNG chart). A :class:`Chart` is
its figures; :func:`svg` draws it (``role="img"``, ``aria-labelledby`` its ``<title>`` and
``<desc>``, a ``viewBox`` and ``width="100%"`` so it scales to its container), :func:`table` writes
the table of the same figures, and :func:`figure` both in a ``<figure>``: the HTML a page embeds
(as markup) and a PDF's HTML embeds (WeasyPrint draws inline SVG), the same chart in both.

The text stays text (``svg.fonttype: none``): a reader can select it, the page's Japanese font
draws it, and the chart is a few kilobytes. Every ``id`` in the drawing is prefixed with the
chart's ``key``, so several charts on a page never share one.
"""

from __future__ import annotations

import dataclasses
import html
import io
import re
from collections.abc import Sequence
from functools import lru_cache

# colours told apart by readers who do not tell red from green (Okabe-Ito), dark enough on white
COLOURS = ("#0b5394", "#b45f06", "#38761d", "#741b47", "#7f6000", "#134f5c")
_KEY = re.compile(r"^[a-z][a-z0-9-]{0,40}$")


@dataclasses.dataclass(frozen=True)
class Series:
    """One series of a chart: its name and one figure per category (whole numbers)."""

    name: str
    values: tuple[int, ...]


@dataclasses.dataclass(frozen=True)
class Chart:
    """What a chart shows. ``key`` names it on its page (ids, CSS hooks: lower-case letters, digits
    and hyphens); ``categories`` are the bars' labels, ``series`` one or more sets of figures;
    ``category_header`` heads the table's first column; ``unit`` follows each figure in the table
    (円, 件); ``links`` optionally gives each category the list it counts (the table links it)."""

    key: str
    title: str
    description: str
    categories: tuple[str, ...]
    series: tuple[Series, ...]
    category_header: str
    unit: str = ""
    horizontal: bool = False
    links: tuple[str | None, ...] = ()

    def __post_init__(self) -> None:
        if not _KEY.match(self.key):
            raise ValueError(f"chart key {self.key!r}: lower-case letters, digits and hyphens")
        if any(len(s.values) != len(self.categories) for s in self.series):
            raise ValueError("each series has one figure per category")
        if self.links and len(self.links) != len(self.categories):
            raise ValueError("one link per category, or none")


def of(key: str, title: str, description: str, rows: Sequence[tuple[str, int]], *, category_header: str,
       series_name: str, unit: str = "", horizontal: bool = False,
       links: Sequence[str | None] = ()) -> Chart:
    """A chart of one series from ``(label, figure)`` rows."""
    return Chart(key, title, description, tuple(label for label, _value in rows),
                 (Series(series_name, tuple(int(value) for _label, value in rows)),), category_header, unit,
                 horizontal, tuple(links))


@lru_cache(maxsize=1)
def japanese_font() -> str | None:
    """The family name of an installed font that has Japanese glyphs, or None."""
    from matplotlib import font_manager

    wanted = ("IPAGothic", "IPAexGothic", "Noto Sans CJK JP", "Noto Sans JP", "TakaoGothic", "VL Gothic",
              "IPAPGothic", "Source Han Sans JP", "IPAMincho")
    installed = {font.name for font in font_manager.fontManager.ttflist}
    return next((name for name in wanted if name in installed), None)


def _figures(value: float, _position: object = None) -> str:
    return f"{value:,.0f}"


@lru_cache(maxsize=256)
def _draw(chart: Chart) -> str:
    """matplotlib's SVG text of the bars (no title: the page's heading and the <title> carry it).
    Kept for the same figures (a chart is a frozen value): a page seen again with nothing changed
    does not draw again (a chart takes about 50 ms to draw)."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure
    from matplotlib.ticker import FuncFormatter, MaxNLocator

    families = [name for name in (japanese_font(), "DejaVu Sans") if name]
    shown = max(len(chart.categories), 1)
    size = (6.4, max(1.6, 0.45 * shown + 0.8)) if chart.horizontal else (6.4, 2.8)
    with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": chart.key, "font.family": families,
                                "font.size": 9, "axes.spines.top": False, "axes.spines.right": False}):
        figure = Figure(figsize=size)
        axes = figure.add_subplot(1, 1, 1)
        positions = list(range(len(chart.categories)))
        count = max(len(chart.series), 1)
        width = 0.8 / count
        for index, series in enumerate(chart.series):
            offsets = [p - 0.4 + width * (index + 0.5) for p in positions]
            colour = COLOURS[index % len(COLOURS)]
            if chart.horizontal:
                bars = axes.barh(offsets, series.values, height=width, color=colour, label=series.name)
            else:
                bars = axes.bar(offsets, series.values, width=width, color=colour, label=series.name)
            for position, bar in enumerate(bars):  # each bar named: series and category (and its figure in the table)
                bar.set_gid(f"bar-{index}-{position}")
        value_axis = axes.xaxis if chart.horizontal else axes.yaxis
        value_axis.set_major_formatter(FuncFormatter(_figures))
        value_axis.set_major_locator(MaxNLocator(nbins=5, integer=True))
        if chart.horizontal:
            axes.set_yticks(positions, list(chart.categories))
            axes.invert_yaxis()  # the first category on top, as in the table
            axes.set_xlim(left=0)
            axes.grid(True, axis="x", alpha=0.3)
        else:
            axes.set_xticks(positions, list(chart.categories))
            axes.set_ylim(bottom=0)
            axes.grid(True, axis="y", alpha=0.3)
        if count > 1:
            axes.legend(loc="best", frameon=False, fontsize=8)
        figure.tight_layout(pad=0.4)
        out = io.StringIO()
        figure.savefig(out, format="svg", metadata={"Date": None, "Creator": None, "Format": None, "Type": None})
    return out.getvalue()


_ROOT = re.compile(r"<svg\b[^>]*>")


def svg(chart: Chart) -> str:
    """The chart as an inline ``<svg>`` element: ``role="img"`` named by its ``<title>`` and described
    by its ``<desc>`` (both first inside it), scaled to its container (``viewBox``, width 100%)."""
    text = _draw(chart)
    text = text[text.index("<svg"):]  # no XML declaration or DOCTYPE inside HTML
    text = re.sub(r"<metadata>.*?</metadata>", "", text, flags=re.S)
    # matplotlib's <style> says "*{...}": inline, it would reach the whole page
    text = re.sub(r"<defs>\s*<style[^>]*>.*?</style>\s*</defs>", "", text, flags=re.S)
    # every id (and what refers to one) prefixed with the chart's key: unique on the page
    text = re.sub(r'\bid="([^"]+)"', lambda m: f'id="{chart.key}-{m.group(1)}"', text)
    text = re.sub(r"url\(#([^)]+)\)", lambda m: f"url(#{chart.key}-{m.group(1)})", text)
    text = re.sub(r'xlink:href="#([^"]+)"', lambda m: f'xlink:href="#{chart.key}-{m.group(1)}"', text)
    root = _ROOT.search(text)
    assert root is not None
    box = re.search(r'viewBox="([^"]+)"', root.group(0))
    title_id, desc_id = f"{chart.key}-title", f"{chart.key}-desc"
    opening = (f'<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" '
               f'viewBox="{box.group(1) if box else "0 0 460 200"}" width="100%" preserveAspectRatio="xMinYMin meet" '
               f'class="renkei-chart-svg" role="img" aria-labelledby="{title_id} {desc_id}">'
               f'<title id="{title_id}">{html.escape(chart.title)}</title>'
               f'<desc id="{desc_id}">{html.escape(chart.description)}</desc>')
    return opening + text[root.end():].strip()


def _cell(value: int, unit: str) -> str:
    return f"{value:,}{html.escape(unit)}"


def table(chart: Chart) -> str:
    """The table of the chart's figures (a caption naming the chart), the same numbers as the bars."""
    head = "".join(f'<th scope="col" class="text-right">{html.escape(s.name)}</th>' for s in chart.series)
    rows = []
    for index, category in enumerate(chart.categories):
        link = chart.links[index] if chart.links else None
        label = (f'<a href="{html.escape(link)}">{html.escape(category)}</a>' if link else html.escape(category))
        cells = "".join(f'<td class="text-right">{_cell(s.values[index], chart.unit)}</td>' for s in chart.series)
        rows.append(f'<tr><th scope="row">{label}</th>{cells}</tr>')
    return (f'<table class="table table-sm renkei-chart-table" id="{chart.key}-table">'
            f'<caption>{html.escape(chart.title)}</caption>'
            f'<thead><tr><th scope="col">{html.escape(chart.category_header)}</th>{head}</tr></thead>'
            f'<tbody>{"".join(rows)}</tbody></table>')


def figure(chart: Chart) -> str:
    """The chart and its table side by side (stacked on a narrow screen), as HTML."""
    return (f'<figure class="renkei-chart" id="{chart.key}">'
            f'<div class="renkei-chart-drawing">{svg(chart)}</div>'
            f'<div class="renkei-chart-data">{table(chart)}</div></figure>')


CSS = """
.renkei-chart { display: flex; flex-wrap: wrap; gap: 1rem; align-items: flex-start; margin: 0 0 1rem; }
.renkei-chart-drawing { flex: 1 1 18rem; min-width: 0; max-width: 40rem; }
.renkei-chart-svg { display: block; width: 100%; height: auto; }
.renkei-chart-data { flex: 1 1 14rem; min-width: 0; overflow-x: auto; }
.renkei-chart-table caption { caption-side: top; color: inherit; font-weight: bold; }
"""
"""The charts' own style (pages link it as a file, a PDF's HTML puts it in its <style>)."""
