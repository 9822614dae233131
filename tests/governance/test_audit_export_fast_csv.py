"""The audit export's fast CSV path is a checked cache of the one rule, ``core.spreadsheet.csv_text``
(``safe_row``, then ``csv.writer``). For any group of records it writes the very text the rule gives, row by row.

Pure: no database, no Keycloak. The values are drawn where the two could part: commas, quotes,
CR and LF (quoting), formula starts at the beginning of a value or after a line break inside it,
characters a spreadsheet cannot hold, empty text, None and numbers.
"""

from hypothesis import given, settings, strategies as st

from core.spreadsheet import csv_text
from governance import audit_export

_TRICKY = st.sampled_from([",", '"', "\r", "\n", "\r\n", "=", "+", "-", "@", "\t", "'", " ", "\x00", "\x1f", "\x7f",
                           "\ud800", "熊本", "a", "1"])
_TEXT = st.lists(st.one_of(_TRICKY, st.text(max_size=4)), max_size=6).map("".join)


@st.composite
def groups(draw) -> list[list]:
    """Columns of one group as the export reads them: each all int or all text, None anywhere."""
    rows = draw(st.integers(min_value=1, max_value=6))
    columns = []
    for _ in range(draw(st.integers(min_value=2, max_value=5))):
        values = st.integers(min_value=-(2**63), max_value=2**63 - 1) if draw(st.booleans()) else _TEXT
        columns.append(draw(st.lists(st.one_of(st.none(), values) if draw(st.booleans()) else values,
                                     min_size=rows, max_size=rows)))
    return columns


def _by_the_rule(columns: list[list]) -> str:
    return csv_text(zip(*columns))


@settings(max_examples=400, deadline=None)
@given(groups())
def test_the_fast_csv_text_is_what_safe_row_and_csv_writer_write(columns):
    assert audit_export._csv_text(columns) == _by_the_rule(columns)
