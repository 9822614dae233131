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
"""

from __future__ import annotations

import re
from collections.abc import Iterable
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


def safe_row(values: Iterable[Any]) -> list[Any]:
    """Every value of a row through :func:`safe_cell`."""
    return [safe_cell(value) for value in values]
