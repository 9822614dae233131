"""The catalogue's search words, counted for the monthly report (issue 39, item 5: 検索状況, the most
frequent search words, anonymised, those below a minimum count omitted).

* :func:`words_of`: the words a ``q`` searches, read as the console reads a query
  (:func:`core.search.read_query`: NFKC, white space collapsed) and lower-cased; the words of the
  datasets' texts only (``text``, ``title``, ``notes`` terms of the Solr query, phrases split into their
  words), not field filters (``organization:…``) nor operators (AND, OR, NOT); each once per search.
* :func:`count`: adds one to each word's count of the day (Japan time) in :class:`SearchWordCount`.
  Only counts are kept: no query string, no reader, no address. A failure to count is logged and the
  search answers all the same (:func:`count_quietly`).
* :func:`top_words`: a month's words searched at least the minimum (the service setting
  ``search_words_minimum``), the most first; the rest are omitted, never shown.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable

import sqlalchemy as sa
from sqlalchemy.orm import Session

from core.calendar import JST, add_months
from core.db import utcnow
from core.search import read_query
from service.models import SearchWordCount
from catalogue import solr

log = logging.getLogger(__name__)
TEXT_FIELDS = ("text", "title", "notes")
MAX_WORD = 100
MAX_WORDS = 20  # words counted of one search at most
TOP = 30  # words the monthly report names at most


def _terms(tree: solr.Node) -> Iterable[solr.Term]:
    if isinstance(tree, solr.Term):
        yield tree
    elif isinstance(tree, solr.Not):
        return  # a word excluded is not what was looked for
    elif isinstance(tree, (solr.And, solr.Or)):
        for clause in tree.clauses:
            yield from _terms(clause)


def words_of(q: str | None) -> list[str]:
    """The normalised words ``q`` searches in the datasets' texts, each once, in order."""
    text = read_query(q).text
    try:
        tree = solr.parse(text)
    except solr.QueryError:
        return []
    words: list[str] = []
    for term in _terms(tree):
        if term.field not in TEXT_FIELDS:
            continue
        for word in read_query(term.value).folded.split():
            if word not in words and len(word) <= MAX_WORD:
                words.append(word)
    return words[:MAX_WORDS]


def _upsert(session: Session, word: str, day: dt.date) -> None:
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    table = SearchWordCount.__table__
    statement = insert(table).values(word=word, day=day, count=1)
    session.execute(statement.on_conflict_do_update(index_elements=[table.c.word, table.c.day],
                                                    set_={"count": table.c.count + 1}))


def count(session: Session, q: str | None, *, now: dt.datetime | None = None) -> list[str]:
    """Add one to the day's count of each word ``q`` searches (nothing for a search without words)."""
    words = words_of(q)
    day = (now or utcnow()).astimezone(JST).date()
    for word in sorted(words):  # one order for every search: two searches never wait on each other's rows
        _upsert(session, word, day)
    return words


def count_quietly(session: Session, q: str | None, *, now: dt.datetime | None = None) -> None:
    """:func:`count` in its own savepoint, committed; a failure is logged and undone, never raised: counting
    must never fail a search."""
    if not words_of(q):
        return
    try:
        with session.begin_nested():
            count(session, q, now=now)
        session.commit()
    except Exception:  # noqa: BLE001  (any failure to count leaves the search to answer)
        log.warning("The catalogue's search words were not counted.", exc_info=True)
        try:
            session.rollback()
        except Exception:  # noqa: BLE001
            log.warning("The session could not be rolled back after the search words failed.", exc_info=True)


def top_words(session: Session, month: dt.date, minimum: int) -> list[tuple[str, int]]:
    """The month's words searched at least ``minimum`` times, the most first (then by word), at most
    :data:`TOP` of them."""
    total = sa.func.sum(SearchWordCount.count)
    rows = session.execute(sa.select(SearchWordCount.word, total)
                           .where(SearchWordCount.day >= month, SearchWordCount.day < add_months(month, 1))
                           .group_by(SearchWordCount.word).having(total >= max(minimum, 1))
                           .order_by(total.desc(), SearchWordCount.word).limit(TOP))
    return [(word, int(n)) for word, n in rows]
