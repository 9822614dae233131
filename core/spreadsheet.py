"""Values written to a spreadsheet (CSV or xlsx): the one rule every export follows.

People type the names, references and descriptions renkei exports, so no stored value may
weaponise or break the file it lands in:

* **Formulas** (CSV/formula injection): text starting with ``=``, ``+``, ``-``, ``@``, tab or CR
  is a live formula in Excel (``=HYPERLINK(...)``); it gets a leading apostrophe, which Excel
  shows as text.
* **Illegal characters**: control characters other than tab, LF and CR cannot be written to an
  xlsx file (openpyxl raises ``IllegalCharacterError``, and one bad tenant name would break the
  export for everybody), and lone surrogates cannot be written as UTF-8; each becomes U+FFFD.

Numbers, dates and None pass unchanged. Used by the usage, billing, registry, members and audit
exports; this module imports nothing from renkei.

A CSV file renkei offers is written one way (:func:`csv_bytes`, :func:`csv_chunks`): UTF-8 with a
byte order mark, which Excel needs to read UTF-8 rather than the local code page, then
:func:`csv_text`'s lines (``csv``'s default dialect with CRLF line ends, every value through
:func:`safe_row`).
"""

from __future__ import annotations

import csv
import io
import itertools
import re
from collections.abc import Iterable, Iterator
from typing import Any

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
# openpyxl's ILLEGAL_CHARACTERS_RE, plus DEL and lone surrogates
_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")
REPLACEMENT = "\ufffd"


def safe_cell(value: Any) -> Any:
    """``value`` as a spreadsheet may hold it: text neutralised (see the module), anything else as is."""
    if not isinstance(value, str):
        return value
    value = _ILLEGAL.sub(REPLACEMENT, value)
    if value.startswith(FORMULA_START):
        return "'" + value
    return value


def is_safe_text(value: str) -> bool:
    """:func:`safe_cell` would give ``value`` back unchanged (no illegal character, not starting like a formula):
    asked without building the neutralised copy."""
    return not _ILLEGAL.search(value) and not value.startswith(FORMULA_START)


def safe_row(values: Iterable[Any]) -> list[Any]:
    """Every value of a row through :func:`safe_cell`."""
    return [safe_cell(value) for value in values]


CSV_MIMETYPE = "text/csv"  # what a Response is given: Werkzeug adds "; charset=utf-8" to every text/* type itself
XLSX_MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

BOM = "\ufeff"  # Excel reads a CSV file that starts with it as UTF-8


def csv_text(rows: Iterable[Iterable[Any]]) -> str:
    """``rows`` as CSV lines: csv's default dialect, CRLF line ends, every value through :func:`safe_row`
    (None is an empty cell)."""
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerows(safe_row(row) for row in rows)
    return buffer.getvalue()


def csv_bytes(rows: Iterable[Iterable[Any]]) -> bytes:
    """A CSV file for Excel: UTF-8 with a BOM, then :func:`csv_text` of ``rows``."""
    return (BOM + csv_text(rows)).encode("utf-8")


def csv_chunks(rows: Iterable[Iterable[Any]], rows_per_chunk: int = 200) -> Iterator[bytes]:
    """The bytes of :func:`csv_bytes` in pieces of ``rows_per_chunk`` rows, for a streamed download
    (``rows`` is read as the pieces are sent)."""
    rows = iter(rows)
    yield BOM.encode("utf-8")
    while part := list(itertools.islice(rows, rows_per_chunk)):
        yield csv_text(part).encode("utf-8")
