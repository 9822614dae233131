"""Paging and searching tenant-sized lists in the admin views (agreements board, onboarding board,
the users page's tenant picker): the page asked for (``?page=``, 1 = first), the search text
(``?q=``), and the slice of rows to render, so that a page stays the same size at 1,741 tenants.

The template side is ``renkei/_pager.html`` (result count, page links with aria-current).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from typing import Generic, TypeVar

from flask import abort, request

from core.validation import whole_number

T = TypeVar("T")

PAGE_SIZE = 50


@dataclasses.dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    page: int
    pages: int
    count: int  # rows that match the search, on every page
    size: int

    @classmethod
    def of(cls, items: Sequence[T], page: int, count: int, size: int = PAGE_SIZE) -> Page[T]:
        """Page ``page`` of a list the database cut into pages: ``items`` are its rows, ``count`` the
        rows that match on every page."""
        return cls(list(items), page, pages_for(count, size), count, size)

    @property
    def first(self) -> int:
        return (self.page - 1) * self.size + 1 if self.items else 0

    @property
    def last(self) -> int:
        return (self.page - 1) * self.size + len(self.items)

    def numbers(self, around: int = 2) -> list[int | None]:
        """Page numbers to link: the first, the last and those around the current one (None = a gap)."""
        wanted = sorted({1, self.pages, *range(max(1, self.page - around), min(self.pages, self.page + around) + 1)})
        shown: list[int | None] = []
        for number in wanted:
            if shown and number - (shown[-1] or 0) > 1:
                shown.append(None)
            shown.append(number)
        return shown


def pages_for(count: int, size: int = PAGE_SIZE) -> int:
    """How many pages ``count`` rows fill (one at least: no rows is one empty page)."""
    return max(1, -(-count // size))


def search_text(name: str = "q") -> str:
    """The search box's text, trimmed (at most 100 characters)."""
    return (request.args.get(name) or "").strip()[:100]


def page_number(name: str = "page") -> int:
    """The page asked for; 400 for a page number below 1 or not a number."""
    text = request.args.get(name)
    if text is None or text == "":
        return 1
    number = whole_number(text, max_digits=9)
    if number is None or number < 1:
        abort(400)
    return number


def matches(search: str, *texts: str | None) -> bool:
    """The search text is in one of the texts (case-insensitive for Latin letters)."""
    if not search:
        return True
    needle = search.casefold()
    return any(needle in text.casefold() for text in texts if text)


def paginate(rows: Sequence[T], page: int, size: int = PAGE_SIZE,
             keep: Callable[[T], bool] | None = None) -> Page[T]:
    """The rows of page ``page`` (after ``keep`` filters them); a page past the end shows the last page."""
    kept = [row for row in rows if keep(row)] if keep is not None else list(rows)
    pages = pages_for(len(kept), size)
    page = min(page, pages)
    return Page(kept[(page - 1) * size: page * size], page, pages, len(kept), size)
