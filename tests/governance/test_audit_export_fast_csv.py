"""The audit export's fast paths are checked caches of the one rule each: for CSV
``core.spreadsheet.csv_text`` (``safe_row``, then ``csv.writer``), for JSON lines the canonical JSON of
each record (sorted keys, no spaces, non-ASCII as is), for the times SQLite stores the UTC text the
export writes. For any group of records each writes the very text the rule gives, row by row.

Pure: no database, no Keycloak. The values are drawn where the two could part: commas, quotes,
CR and LF (quoting), formula starts at the beginning of a value or after a line break inside it,
characters a spreadsheet cannot hold, backslashes and control characters (JSON escapes), the
character the fast paths join a column's values with, text that is not ASCII, empty text, None and
numbers; a column may hold a quote in every value, as the before/after columns' JSON text does.
"""

import datetime as dt
import json

from hypothesis import given, settings, strategies as st

from core.spreadsheet import csv_text
from governance import audit_export
from governance.audit import RECORD_FIELDS

_TRICKY = st.sampled_from([",", '"', "\r", "\n", "\r\n", "=", "+", "-", "@", "\t", "'", " ", "\x00", "\x1f", "\x7f",
                           "\ud800", "熊本", "\u3000", "a", "1", "`", "\\", "{", ":", "\u2028", "😀"])
_TEXT = st.lists(st.one_of(_TRICKY, st.text(max_size=4)), max_size=6).map("".join)


@st.composite
def groups(draw, width=None) -> list[list]:
    """Columns of one group as the export reads them: each all int or all text (each value holding
    a quote, now and then), None anywhere."""
    rows = draw(st.integers(min_value=1, max_value=6))
    columns = []
    for _ in range(width or draw(st.integers(min_value=2, max_value=5))):
        kind = draw(st.sampled_from(["int", "text", "quoted"]))
        values = {"int": st.integers(min_value=-(2**63), max_value=2**63 - 1), "text": _TEXT,
                  "quoted": _TEXT.map(lambda text: '{"k":"' + text + '"}')}[kind]
        columns.append(draw(st.lists(st.one_of(st.none(), values) if draw(st.booleans()) else values,
                                     min_size=rows, max_size=rows)))
    return columns


def _by_the_rule(columns: list[list]) -> str:
    return csv_text(zip(*columns))


@settings(max_examples=400, deadline=None)
@given(groups())
def test_the_fast_csv_text_is_what_safe_row_and_csv_writer_write(columns):
    assert audit_export._csv_text(columns) == _by_the_rule(columns)


@settings(max_examples=300, deadline=None)
@given(groups(width=len(RECORD_FIELDS)))
def test_the_fast_json_lines_are_each_records_canonical_json(columns):
    expected = "".join(json.dumps(dict(zip(RECORD_FIELDS, row)), ensure_ascii=False, sort_keys=True,
                                  separators=(",", ":")) + "\n" for row in zip(*columns))
    assert audit_export._jsonl_text(columns) == expected


@settings(max_examples=300, deadline=None)
@given(st.lists(st.datetimes(min_value=dt.datetime(1, 1, 1)), min_size=1, max_size=6))
def test_times_stored_by_sqlite_are_written_as_the_utc_text(moments):
    # SQLAlchemy's storage format in SQLite; a year before 1000 is read as SQLAlchemy reads it (None here)
    stored = [f"{m.year:04d}-{m.month:02d}-{m.day:02d} {m.hour:02d}:{m.minute:02d}:{m.second:02d}.{m.microsecond:06d}"
              for m in moments]
    expected = [f"{m.year:04d}-{m.month:02d}-{m.day:02d}T{m.hour:02d}:{m.minute:02d}:{m.second:02d}.{m.microsecond:06d}Z"
                for m in moments]
    assert audit_export._stored_timestamps(stored) == (expected if min(m.year for m in moments) >= 1000 else None)


def test_times_in_another_form_are_left_to_sqlalchemy():
    good = "2025-04-01 09:00:00.000005"
    for other in ("2025-04-01 09:00:00", "2025-04-01T09:00:00.000005", "2025-04-01 09:00:00.000005+09:00",
                  "2025-04-01 09:00:00.00000５", "2025-04-01 09:00:0a.000005", "0999-04-01 09:00:00.000005"):
        assert audit_export._stored_timestamps([good, other]) is None
    assert audit_export._stored_timestamps([dt.datetime(2025, 4, 1)]) is None  # PostgreSQL's moments
    assert audit_export._stored_timestamps([good, good]) == ["2025-04-01T09:00:00.000005Z"] * 2
