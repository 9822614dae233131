"""The home pages with the demo's data (and a year posted, tests/browser/test_accessibility.py
``world``), in Chromium: every figure equals the count of the list it links to (the link followed in
the browser), each chart is an image named by its title and described, beside its table, and the
pages (and the what-if page's chart) meet WCAG 2.1 AA (axe-core)."""

from __future__ import annotations

import re

import pytest

from tests.browser.test_accessibility import world  # noqa: F401
from tests.browser.test_accessibility_issue25 import violations

COUNT_AT = """(anchor) => {
  for (const id of [anchor, anchor + '-count']) {  // the element itself, or a pager's count
    const element = document.getElementById(id);
    if (element && element.dataset.count !== undefined) return Number(element.dataset.count);
  }
  return null;
}"""


@pytest.mark.parametrize("role", ["operator", "finance", "auditor", "kumamoto"])
def test_a_home_page_in_the_demo_agrees_with_its_lists_and_its_charts_are_readable(page, login_as, live_server, people,
                                                                                   world, role):  # noqa: F811
    login_as(page, people[role].username)
    page.goto(live_server("/admin/"))
    assert violations(page) == []
    figures = page.eval_on_selector_all(
        "a.home-count[data-figure], .renkei-chart-table tbody tr",
        """elements => elements.map(e => e.matches('a') ? [e.getAttribute('href'), Number(e.dataset.figure)]
             : [e.querySelector('th a') && e.querySelector('th a').getAttribute('href'),
                Number(e.querySelector('td').textContent.replace(/[^0-9]/g, ''))])""")
    figures = [(href, shown) for href, shown in figures if href and "#" in href]
    assert figures, "no figure links to a list"
    charts = page.eval_on_selector_all("figure.renkei-chart svg[role=img]", """svgs => svgs.map(svg => [
        svg.getAttribute('aria-labelledby').split(' ').map(id => document.getElementById(id).textContent),
        svg.querySelector('title').textContent, svg.querySelector('desc').textContent,
        !!svg.closest('figure').querySelector('table.renkei-chart-table')])""")
    assert charts, "no chart on the home page"
    for (name, description), title, desc, has_table in charts:
        assert (name, description) == (title, desc) and title and desc and has_table
        assert page.get_by_role("img", name=title).count() == 1  # the accessibility tree names it by its title
    disagreeing = []
    for href, shown in figures:
        path, _hash, anchor = href.partition("#")
        response = page.goto(live_server(path))
        listed = page.evaluate(COUNT_AT, anchor)
        if response.status != 200 or listed != shown:
            disagreeing.append((href, shown, listed, response.status))
    assert disagreeing == []


def test_the_what_if_chart_is_the_shared_chart_and_meets_wcag_aa(page, login_as, live_server, people,
                                                                  world):  # noqa: F811
    login_as(page, people["finance"].username)
    page.goto(live_server("/admin/billing/what-if"))
    chart = page.locator("figure.renkei-chart#what-if-chart")
    assert chart.locator("svg[role=img]").count() == 1 and chart.locator("table.renkei-chart-table").count() == 1
    assert re.search(r"\d", chart.locator("table.renkei-chart-table tbody").inner_text())
    assert violations(page) == []
