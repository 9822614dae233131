"""What raw text looks like, whatever new shape it takes (issue 25, Build 4): the one rule that the
browser crawl applies to every page's visible text and to the first rows of every CSV and xlsx a
person downloads from a page.

Beside the crawl's list of known codes (role ids, statuses, audit actions), these are shapes no
Japanese page or office file should show:

* a Python object's text: ``role='admin'``, ``<Tenant object at 0x7f…>``;
* JSON or a dict: ``{"key":``, ``{'key':``;
* a bare identifier: ``snake_case_words`` or ``dotted.lower.names`` (three parts or more), when
  not part of an e-mail address, a URL, a path, a file name or a longer word.
"""

from __future__ import annotations

import csv
import io
import re

RAW_SHAPES = re.compile(r"""
    \b[a-z_]+='[^'\n]*'                                   # key='value': a Python object's repr
  | \bobject\ at\ 0x[0-9a-f]+                             # <... object at 0x7f...>
  | [{]\s*["'][A-Za-z_]+["']\s*:                          # {"key": or {'key':
  | (?<![\w.@/:=#%-])[a-z][a-z0-9]*(?:_[a-z0-9]+)+(?![\w@/=-]|\.\w)   # snake_case_identifier
  | (?<![\w.@/:=#%-])[a-z]+(?:\.[a-z_]+){2,}(?![\w@/-]|\.\w)          # dotted.lower.name
""", re.X | re.ASCII)


def raw_shapes(text: str, context: int = 30) -> dict[str, list[str]]:
    """Each raw-looking piece of ``text`` -> where it stands (a few characters either side)."""
    found: dict[str, list[str]] = {}
    for match in RAW_SHAPES.finditer(text):
        found.setdefault(match.group(0), []).append(
            text[max(0, match.start() - context):match.end() + context].replace("\n", " ⏎ "))
    return found


def first_rows_text(body: bytes, content_type: str, rows: int = 6) -> str | None:
    """The header and first data rows of a CSV or xlsx download as text (cells separated by tabs),
    or None for any other kind of file."""
    if "spreadsheetml" in content_type or body[:4] == b"PK\x03\x04":
        from openpyxl import load_workbook

        book = load_workbook(io.BytesIO(body), read_only=True, data_only=True)
        lines = []
        for sheet in book.worksheets:
            for values in sheet.iter_rows(max_row=rows, values_only=True):
                lines.append("\t".join("" if value is None else str(value) for value in values))
        book.close()
        return "\n".join(lines)
    if "text/csv" in content_type:
        for encoding in ("utf-8-sig", "cp932"):
            try:
                text = body.decode(encoding)
                break
            except UnicodeDecodeError:
                continue
        else:
            return None
        return "\n".join("\t".join(row) for row, _ in zip(csv.reader(io.StringIO(text, newline="")), range(rows)))
    return None
