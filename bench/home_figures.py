"""Every figure of a home page against the list it links to (issue 38 item 3): the home page's
figures (its attention counts and the rows of its charts' tables that link to a list), each
followed to its list, whose count is read where the link points (``#id``: the element with that id,
or ``id-count`` of a pager, carries ``data-count``). Used by tests/admin/test_home_figures.py on a
seeded database and by bench/bench_home_figures.py at national size."""

from __future__ import annotations

import dataclasses
import html
import re

FIGURE = re.compile(r'<a href="([^"]+)" class="badge[^"]*home-count"\s+data-figure="(\d+)"')
CHART_ROW = re.compile(r'<tr><th scope="row"><a href="([^"]+)">[^<]*</a></th><td class="text-right">([\d,]+)')


@dataclasses.dataclass(frozen=True)
class Figure:
    href: str  # the list it links to, with the #id where that list's count is
    shown: int  # the figure on the home page
    listed: int | None  # the list's count (None: the list page has no count at that id, or did not answer 200)
    status: int  # the list page's HTTP status

    @property
    def agrees(self) -> bool:
        return self.status == 200 and self.listed == self.shown


def figures_of(page: str) -> list[tuple[str, int]]:
    """(link, figure) of each figure on a home page: attention counts, and chart rows linking to a list's count."""
    found = [(html.unescape(href), int(number)) for href, number in FIGURE.findall(page)]
    found += [(html.unescape(href), int(number.replace(",", ""))) for href, number in CHART_ROW.findall(page)
              if "#" in href]
    return found


def count_at(page: str, anchor: str) -> int | None:
    """The ``data-count`` of the element with id ``anchor`` (or ``anchor``-count, a pager's count)."""
    for name in (anchor, f"{anchor}-count"):
        tag = re.search(r'<[^>]*\bid="' + re.escape(name) + r'"[^>]*>', page)
        if tag:
            count = re.search(r'data-count="(\d+)"', tag.group(0))
            if count:
                return int(count.group(1))
    return None


def compare(client, home: str = "/admin/") -> list[Figure]:
    """Each figure of ``home`` (fetched with ``client``, a Flask test client signed in) beside its list's count."""
    response = client.get(home)
    if response.status_code != 200:
        raise AssertionError(f"{home} answered {response.status_code}")
    result = []
    for href, shown in figures_of(response.get_data(as_text=True)):
        path, _hash, anchor = href.partition("#")
        listed = client.get(path)
        result.append(Figure(href, shown, count_at(listed.get_data(as_text=True), anchor) if anchor else None,
                             listed.status_code))
    return result
