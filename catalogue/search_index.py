"""What the catalogue's search reads instead of its rules: two caches of a dataset's own fields.

* **The search index** (:class:`DatasetSearchGram`): every character pair of the dataset's
  ``search_text`` (:func:`models.search_grams`). A text query looks some pairs of each word up here
  (:func:`candidates`) and the rule's LIKE decides among those datasets only: any pair of a word is
  in every text that holds the word, so the answer is the rule's.
* **The formats** (``Dataset.formats``): the formats of the dataset's distributions in one text
  (:func:`formats_text`). CKAN's ``res_format`` filter tests it on the dataset's own row
  (:func:`has_format`) instead of reading the distributions (the rule, :func:`has_format_by_rule`):
  at national size that was every CSV distribution (about 17,000) per search.

Both are written only with what they derive from, by the one write path (``operations._apply``
calls :func:`set_search_text` and :func:`set_formats`), and built again in bulk from the stored
rows (:func:`index_search_texts`, :func:`index_formats`: migrations and the benchmarks' bulk loads).
``catalogue.search(..., use_index=False)`` reads the rules alone, and
tests/datasets/test_search_index.py (Hypothesis) proves both ways give the same answers.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from catalogue.models import Dataset, DatasetSearchGram, Distribution, search_grams

PROBES_PER_WORD, MAX_PROBES = 3, 6

# --- the search index --------------------------------------------------------------------------------


def set_search_text(session: Session, dataset: Dataset, text: str) -> None:
    """The one write of a dataset's search text: the text and its search index (:class:`DatasetSearchGram`)."""
    dataset.search_text = text
    session.flush()
    # "fetch": the rows deleted are found by key, not by evaluating the criteria on every object the
    # session holds (an import of thousands of datasets made that quadratic)
    session.execute(sa.delete(DatasetSearchGram).where(DatasetSearchGram.dataset_id == dataset.id),
                    execution_options={"synchronize_session": "fetch"})
    rows = [{"gram": gram, "dataset_id": dataset.id} for gram in search_grams(text)]
    if rows:
        session.execute(sa.insert(DatasetSearchGram), rows)


def index_search_texts(connection: Any) -> int:
    """The search index built again from every stored search text, in bulk (a migration, data loaded in
    bulk by the benchmarks); ``connection``: a Connection or a Session. How many pairs were written."""
    gram_table, dataset_table = DatasetSearchGram.__table__, Dataset.__table__
    connection.execute(sa.delete(gram_table))
    texts = connection.execute(sa.select(dataset_table.c.id, dataset_table.c.search_text)).all()
    written, rows = 0, []
    for dataset_id, text in texts:
        rows.extend({"gram": gram, "dataset_id": dataset_id} for gram in search_grams(text))
        if len(rows) >= 20_000:
            connection.execute(sa.insert(gram_table), rows)
            written, rows = written + len(rows), []
    if rows:
        connection.execute(sa.insert(gram_table), rows)
        written += len(rows)
    return written


def probes(words: Sequence[str]) -> list[str]:
    """The pairs a search looks up in the index: some of each word's (first, middle, last), a few in
    all; any of a word's pairs is in every text that holds the word, so any choice keeps the answer."""
    chosen: dict[str, None] = {}
    for word in words:
        pairs = search_grams(word)
        chosen.update(dict.fromkeys(pairs if len(pairs) <= PROBES_PER_WORD else
                                    [pairs[0], pairs[len(pairs) // 2], pairs[-1]]))
    return list(chosen)[:MAX_PROBES]


def candidates(session: Session, words: Sequence[str]) -> Any | None:
    """The SQL condition "the dataset holds some pairs of every word" (a superset of the datasets whose
    text holds the words: the rule's LIKE still decides), or None when no word has a pair to look up.

    PostgreSQL reads the candidates first, as an array (``id = ANY(ARRAY(...))``): as a join, its
    planner misjudges the LIKE as very selective and reads every dataset's text instead (20 ms
    rather than 4 at national size). SQLite reads them first from ``IN (...)``."""
    chosen = probes(words)
    if not chosen:
        return None
    found = [sa.select(DatasetSearchGram.dataset_id).where(DatasetSearchGram.gram == gram) for gram in chosen]
    among = found[0] if len(found) == 1 else sa.intersect(*found)
    if _dialect(session) == "postgresql":
        return Dataset.id == sa.any_(sa.func.array(among.scalar_subquery()))
    return Dataset.id.in_(among)


def published_among_candidates(session: Session, published: Any) -> Any:
    """The status test of a search that starts from candidates. SQLite without statistics would walk the
    status index (most of the register) rather than start from the candidates, so there the test is
    written so that no index serves it (``status || ''``); PostgreSQL's planner gets it as it is."""
    if _dialect(session) == "postgresql":
        return Dataset.status == published
    return sa.type_coerce(Dataset.status.op("||")(sa.literal_column("''")), sa.String) == published.value


def _dialect(session: Session) -> str:
    return session.get_bind().dialect.name


# --- the formats of a dataset's distributions ---------------------------------------------------------

_SEPARATOR = "\n"
_UNESCAPE = re.compile(r"\\(.)", re.DOTALL)


def _escaped(value: str) -> str:
    """A format written so that it holds no separator (backslash escapes: one format, one text)."""
    return value.replace("\\", "\\\\").replace(_SEPARATOR, "\\n")


def formats_text(formats: Iterable[str]) -> str:
    """The ``formats`` column of a dataset whose distributions have ``formats``: each distinct format,
    escaped, between separators ("" when it has none). A format is among them exactly when
    :func:`format_probe` of it is a part of this text: an escaped format holds no separator, so the
    probe can only span one whole format, and the escaping gives each format one text."""
    distinct = dict.fromkeys(formats)
    return "".join(_SEPARATOR + _escaped(value) for value in distinct) + _SEPARATOR if distinct else ""


def formats_of(text: str) -> list[str]:
    """The formats a ``formats`` text holds (:func:`formats_text` read back), in order."""
    return [_UNESCAPE.sub(lambda m: _SEPARATOR if m.group(1) == "n" else m.group(1), part) if "\\" in part else part
            for part in text.split(_SEPARATOR)[1:-1]]


def format_probe(value: str) -> str:
    return _SEPARATOR + _escaped(value) + _SEPARATOR


def set_formats(dataset: Dataset, formats: Iterable[str]) -> None:
    """The one write of a dataset's ``formats``, with its distributions (``operations._apply``)."""
    dataset.formats = formats_text(formats)


def index_formats(connection: Any) -> int:
    """Every dataset's ``formats`` written again from its stored distributions, in bulk (a migration, data
    loaded in bulk by the benchmarks); ``connection``: a Connection or a Session. How many datasets."""
    dataset_table, dist_table = Dataset.__table__, Distribution.__table__
    found: dict[int, list[str]] = {dataset_id: [] for dataset_id in connection.scalars(sa.select(dataset_table.c.id))}
    for dataset_id, value in connection.execute(sa.select(dist_table.c.dataset_id, dist_table.c.format)
                                                .order_by(dist_table.c.id)):
        found.setdefault(dataset_id, []).append(value)
    rows = [{"key": dataset_id, "value": formats_text(values)} for dataset_id, values in found.items()]
    statement = (sa.update(dataset_table).where(dataset_table.c.id == sa.bindparam("key"))
                 .values(formats=sa.bindparam("value")))
    for start in range(0, len(rows), 5000):
        connection.execute(statement, rows[start:start + 5000])
    return len(rows)


def has_format(session: Session, value: str) -> Any:
    """The SQL condition "one of the dataset's distributions has the format ``value``", read from its
    ``formats``: an exact, case-sensitive part of the text (``strpos`` on PostgreSQL, ``instr`` on
    SQLite, whose LIKE would fold the case)."""
    position = sa.func.strpos if _dialect(session) == "postgresql" else sa.func.instr
    return position(Dataset.formats, format_probe(value)) > 0


def has_format_by_rule(value: str, *, per_candidate: bool) -> Any:
    """The rule itself: a distribution of the dataset has the format ``value`` (as CKAN's, the format as
    written). ``per_candidate``: each dataset's distributions are read (a few candidates), else the list
    of the format's datasets."""
    of_format = sa.select(Distribution.dataset_id).where(Distribution.format == value)
    return of_format.where(Distribution.dataset_id == Dataset.id).exists() if per_candidate else \
        Dataset.id.in_(of_format)
