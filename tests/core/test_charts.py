"""The one chart function (core/charts.py): an SVG a screen reader names and describes, bars as long
as their figures, the table of the same figures beside it, ids unique on a page, the same figure in a
PDF (WeasyPrint draws the inline SVG), and the home pages' and the what-if page's charts built by it."""

from __future__ import annotations

import re

import pytest

from core import charts
from tests.conftest import sign_in


def _chart(key: str = "chart-test", horizontal: bool = False) -> charts.Chart:
    return charts.of(key, "API呼び出し回数 月別", "4月から6月の棒グラフ。最も多いのは5月。",
                     [("4月", 1_200), ("5月", 3_000), ("6月", 0)], category_header="月", series_name="API呼び出し回数",
                     unit="回", horizontal=horizontal, links=["/a", "/b", None])


def _bar_lengths(svg: str, key: str, horizontal: bool) -> list[float]:
    """The drawn length of each bar of the first series, from its path (x for horizontal bars, y for vertical)."""
    lengths = []
    for position in range(3):
        path = re.search(r'<g id="' + key + rf'-bar-0-{position}">\s*<path d="([^"]+)"', svg)
        assert path, f"bar {position} is not drawn"
        numbers = [float(n) for n in re.findall(r"-?\d+(?:\.\d+)?", path.group(1))]
        coordinates = numbers[0::2] if horizontal else numbers[1::2]
        lengths.append(max(coordinates) - min(coordinates))
    return lengths


@pytest.mark.parametrize("horizontal", [False, True])
def test_the_svg_is_named_and_described_for_screen_readers_and_scales_to_its_container(horizontal):
    svg = charts.svg(_chart(horizontal=horizontal))
    opening = re.match(r"<svg\b[^>]*>", svg).group(0)
    assert 'role="img"' in opening and 'aria-labelledby="chart-test-title chart-test-desc"' in opening
    assert 'width="100%"' in opening and re.search(r'viewBox="0 0 [\d.]+ [\d.]+"', opening)
    # the title and the description come first inside it, with the ids the label points at
    assert svg[len(opening):].startswith('<title id="chart-test-title">API呼び出し回数 月別</title>'
                                         '<desc id="chart-test-desc">4月から6月の棒グラフ。最も多いのは5月。</desc>')
    assert "<?xml" not in svg and "<!DOCTYPE" not in svg and "*{" not in svg  # nothing that reaches the page around it
    assert ">4月<" in svg and ">5月<" in svg  # the labels stay text (selectable, drawn by the page's font)


@pytest.mark.parametrize("horizontal", [False, True])
def test_each_bar_is_as_long_as_its_figure(horizontal):
    april, may, june = _bar_lengths(charts.svg(_chart(horizontal=horizontal)), "chart-test", horizontal)
    assert may / april == pytest.approx(3_000 / 1_200, rel=0.01)
    assert june == pytest.approx(0, abs=0.01)


def test_the_table_beside_it_holds_the_same_figures_with_their_links():
    chart = _chart()
    table = charts.table(chart)
    assert "<caption>API呼び出し回数 月別</caption>" in table
    rows = re.findall(r'<tr><th scope="row">(.*?)</th><td class="text-right">([^<]+)</td></tr>', table)
    assert rows == [('<a href="/a">4月</a>', "1,200回"), ('<a href="/b">5月</a>', "3,000回"), ("6月", "0回")]
    figure = charts.figure(chart)
    assert figure.index("<svg") < figure.index("<table")  # the drawing, then its data


def test_two_charts_on_one_page_share_no_id():
    first, second = charts.figure(_chart("chart-one")), charts.figure(_chart("chart-two"))
    ids_first = set(re.findall(r'\bid="([^"]+)"', first))
    ids_second = set(re.findall(r'\bid="([^"]+)"', second))
    assert ids_first and not ids_first & ids_second
    assert len(re.findall(r'\bid="([^"]+)"', first)) == len(ids_first)  # none twice within one chart either
    # what refers to an id inside the drawing refers to its own
    assert all(ref in ids_first for ref in re.findall(r"url\(#([^)]+)\)", first))


def test_a_chart_is_refused_when_its_figures_do_not_match_its_categories():
    with pytest.raises(ValueError):
        charts.Chart("chart-bad", "t", "d", ("a", "b"), (charts.Series("s", (1,)),), "x")
    with pytest.raises(ValueError):
        charts.of("Bad Key", "t", "d", [("a", 1)], category_header="x", series_name="s")


def test_the_same_chart_is_drawn_in_a_pdf():
    """The figure's HTML in a PDF's HTML (as the letters and reports are made): WeasyPrint draws the
    SVG as an image, beside the table's text."""
    import weasyprint

    html = (f'<!DOCTYPE html><html lang="ja"><head><meta charset="utf-8"><title>t</title>'
            f'<style>{charts.CSS}</style></head><body>{charts.figure(_chart())}</body></html>')
    document = weasyprint.HTML(string=html).render()

    def boxes(box):
        yield box
        for child in getattr(box, "children", ()):
            yield from boxes(child)

    found = list(boxes(document.pages[0]._page_box))
    images = [box for box in found if type(getattr(box, "replacement", None)).__name__ == "SVGImage"]
    assert len(images) == 1
    text = "".join(getattr(box, "text", "") for box in found)
    assert "3,000回" in text and "API呼び出し回数 月別" in text
    assert document.write_pdf().startswith(b"%PDF")


# --- the pages that show charts ----------------------------------------------------------------------

def _charts_on(page: str) -> dict[str, str]:
    return dict(re.findall(r'<figure class="renkei-chart" id="([^"]+)">(.*?)</figure>', page, re.S))


def test_the_operators_home_shows_usage_datasets_and_outstanding_charts(client, db, operator, tenant_factory):
    from billing import attention
    from catalogue.sample import load_sample_datasets

    for code in ("430005", "431001", "432024"):
        tenant_factory(code)
    load_sample_datasets(db, operator)
    db.commit()
    sign_in(client, ["platform-operator"])
    page = client.get("/admin/").get_data(as_text=True)
    found = _charts_on(page)
    assert set(found) == {"chart-usage", "chart-datasets"}  # nothing owed yet: no chart of it
    assert attention.outstanding_by_year(db, operator) == []
    for key, body in found.items():
        assert f'aria-labelledby="{key}-title {key}-desc"' in body and f'<table class="table table-sm renkei-chart-table" id="{key}-table">' in body
    assert ".renkei-chart-svg" in page  # the charts' own style, once, in the head
    assert page.count(".renkei-chart-svg {") == 1


def test_a_municipal_admins_home_charts_only_their_own(client, db, operator, tenant_factory):
    from catalogue.sample import load_sample_datasets

    for code in ("430005", "431001", "432024"):
        tenant_factory(code)
    load_sample_datasets(db, operator)
    db.commit()
    sign_in(client, ["platform-operator"])
    everyone = re.findall(r'<td class="text-right">([\d,]+)</td>',
                          _charts_on(client.get("/admin/").get_data(as_text=True))["chart-datasets"])
    sign_in(client, ["municipal-admin"], ["431001"])
    page = client.get("/admin/").get_data(as_text=True)
    found = _charts_on(page)
    assert "chart-outstanding" not in found  # every tenant's balances are not theirs to read
    own = re.findall(r'<td class="text-right">([\d,]+)</td>', found["chart-datasets"])
    assert 0 < sum(int(n.replace(",", "")) for n in own) < sum(int(n.replace(",", "")) for n in everyone)
