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
    """The hits of one kind: the first ``LIMIT`` and how many there are in all."""

    hits: list[Hit]
    total: int


def counted(session, columns: list, where, order_by: list, limit: int) -> tuple[list, int]:
    """The first ``limit`` rows of ``columns`` matching ``where`` in ``order_by``'s order, and how many
    match in all, in one statement (the count a window over the matches: they are read once, not twice)."""
    import sqlalchemy as sa

    rows = session.execute(sa.select(*columns, sa.func.count().over().label("matches")).where(where)
                           .order_by(*order_by).limit(limit)).all()
    return [tuple(row)[:-1] for row in rows], (int(rows[0][-1]) if rows else 0)
