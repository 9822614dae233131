"""The console's one search box (issue 38): how a typed query is read, and what a hit is.

Each kind of thing is searched by an operation beside its own list, scoped by that list's own
authorization (``search_tenants`` in tenancy/registry, ``search_members``, ``search_datasets``,
``search_people``, ``search_api_clients``, ``search_proposals``); ``governance/search.py`` asks them
all and groups the answers. This module holds only what they share:

* :func:`read_query`: the text as people type it, normalised once: NFKC (full-width Latin letters
  and digits to half-width, half-width katakana to full-width), white space collapsed, at most
  :data:`MAX_QUERY` characters; its kana form (hiragana as katakana: registers write readings in
  katakana, people often type them in hiragana); its digits alone when it is a number (a code);
* :func:`contains`: the LIKE pattern of "holds the text", with LIKE's own characters escaped;
* :class:`Hit`: one thing found, with what its page needs to be linked.
"""

from __future__ import annotations

import dataclasses
import re
import unicodedata
from collections.abc import Callable
from typing import Any

MAX_QUERY = 100
LIMIT = 10  # hits shown per kind
ESCAPE = "\\"

_HIRAGANA = re.compile("[\u3041-\u3096]")
_SPACES = re.compile(r"\s+")


def katakana(text: str) -> str:
    """``text`` with its hiragana written as katakana (ぁ..ゖ → ァ..ヶ), the rest as it is."""
    return _HIRAGANA.sub(lambda match: chr(ord(match.group()) + 0x60), text)


@dataclasses.dataclass(frozen=True)
class Query:
    text: str    # normalised (NFKC, single spaces, trimmed)
    kana: str    # the same with hiragana as katakana
    digits: str  # the text when it is only digits (a code, a 法人番号, an id), else ""

    def __bool__(self) -> bool:
        return bool(self.text)

    @property
    def folded(self) -> str:
        """Lower-cased, as the names are compared (``lower(name) LIKE``)."""
        return self.text.lower()


def read_query(typed: str | None) -> Query:
    """The query as searched: see the module's docstring."""
    text = _SPACES.sub(" ", unicodedata.normalize("NFKC", typed or "")).strip()[:MAX_QUERY].strip()
    digits = text.replace("-", "") if re.fullmatch(r"[0-9][0-9-]*", text) else ""
    return Query(text, katakana(text), digits)


def contains(text: str) -> str:
    """The LIKE pattern (escaped by :data:`ESCAPE`) of a value that holds ``text``."""
    escaped = text.replace(ESCAPE, ESCAPE * 2).replace("%", ESCAPE + "%").replace("_", ESCAPE + "_")
    return f"%{escaped}%"


def starts(text: str) -> str:
    """The LIKE pattern (escaped by :data:`ESCAPE`) of a value that begins with ``text``."""
    return contains(text)[1:]


@dataclasses.dataclass(frozen=True)
class Hit:
    """One thing found: ``key`` names it for its page (a code, a 法人番号, a uid, an id), ``title`` is
    what people call it, ``detail`` what tells it from its namesakes (a code, a provider, a state);
    ``scope`` the tenant or organisation it belongs to, where its page is reached through it."""

    key: str
    title: str
    detail: str = ""
    scope: str = ""


@dataclasses.dataclass(frozen=True)
class Found:
    """The hits of one kind: the first ``LIMIT`` of them, and how many match, counted up to
    :data:`COUNTED` (``capped``: more than that match; the person adds words to narrow the search)."""

    hits: list[Hit]
    total: int
    capped: bool = False
    as_of: Any = None  # a kind read from a copy (the people index): when that copy last matched its source


COUNTED = 100


def counted(session, columns: list, where, order: Callable[[tuple], Any], limit: int) -> tuple[list[tuple], int, bool]:
    """Rows of ``columns`` matching ``where``: the first ``limit`` in ``order`` (a sort key of a row) among
    at most :data:`COUNTED` + 1 read, how many of those there are (up to :data:`COUNTED`), and whether
    there are more. A search box's answer is a few hits and a count: reading every match of a broad word
    (一覧: most of a national register's 52,000 datasets) only to count them is what it must not do."""
    import sqlalchemy as sa

    rows = [tuple(row) for row in session.execute(sa.select(*columns).where(where).limit(COUNTED + 1))]
    return sorted(rows, key=order)[:limit], min(len(rows), COUNTED), len(rows) > COUNTED
