"""The field types and bounds that more than one of the API's modules uses (each module keeps its own)."""

from __future__ import annotations

from typing import Annotated

from pydantic import StringConstraints

from admin.api.contract import digits_between
from core.calendar import FIRST_FISCAL_YEAR, LAST_FISCAL_YEAR
from core.validation import SingleLineText

# a file sent base64 in a body (a dataset's CSV, the member desk's list): at most this many bytes
MAX_FILE_BYTES = 20 * 1024 * 1024


def line(limit: int):
    """An optional one-line text of at most ``limit`` characters (names, numbers, references)."""
    return Annotated[SingleLineText, StringConstraints(strip_whitespace=True, max_length=limit)]


def pattern(regex: str):
    return Annotated[str, StringConstraints(pattern=regex)]


def _month_pattern() -> str:
    """The months :func:`core.calendar.parse_month` takes, as a pattern: April of the first supported fiscal year
    to March after the last."""
    first, last = FIRST_FISCAL_YEAR, LAST_FISCAL_YEAR
    return (f"^(?:{first}-(?:0[4-9]|1[0-2])|{digits_between(str(first + 1), str(last))}-(?:0[1-9]|1[0-2])"
            f"|{last + 1}-0[1-3])$")


MONTH_PATTERN = _month_pattern()
