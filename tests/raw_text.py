"""What raw text looks like, whatever new shape it takes (issue 25, Build 4): the one rule that the
browser crawl applies to every page's visible text and to the first rows of every CSV and xlsx a
person downloads from a page.

Beside the crawl's list of known codes (role ids, statuses, audit actions), these are shapes no
Japanese page or office file should show:

* a Python object's text: ``role='admin'``, ``<Tenant object at 0x7f…>``;
* JSON or a dict: ``{"key":``, ``{'key':``;
* a bare identifier: ``snake_case_words`` or ``dotted.lower.names`` (three parts or more), when
  not part of an e-mail address, a URL, a path, a file name or a longer word; a field's path as
  pydantic writes it (``distributions.0.url``);
* a Python or JSON list of strings: ``['有', '無']``;
* a Japanese sentence that lost a word: ``…はではありません`` (a type's name missing), ``「」``
  (the value given missing);
* in the Japanese UI's own words (``words=True``), an English word: any word of Latin letters not in
  ``JAPANESE_UI_WORDS``, when not part of an e-mail address, a URL, a path, a file name or a code
  with digits (``INV-001``, ``A4``).

Which text is the UI's own words and which is data is the caller's to say, by region, not by
guessing from the word: the crawl checks English words in everything a page shows except what a
person or an outside system gave (table data cells, description values, form values, code and
examples, and any element marked ``translate="no"``, the HTML way of saying "a name, not a word of
the page"), and in a download's header row, not its data rows. A dataset titled "Open Data Kumamoto"
is data; a status shown as ``pending`` is not, and the crawl's list of known codes catches codes in
data cells too.
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
  | (?<![\w.@/:=#%-])[a-z_]+(?:\.\d+)+(?:\.[a-z_]+)+                    # a field's path: distributions.0.url
  | \[\s*(?:'[^'\n]*'|"[^"\n]*")(?:\s*,\s*(?:'[^'\n]*'|"[^"\n]*"))*\s*\]  # a Python or JSON list: ['有', '無']
""", re.X | re.ASCII)
# Shapes of Japanese sentences that lost a word: 「…はではありません。」 (a type's name went missing), or
# empty quotes where the value given should stand (「」は…).
LOST_WORDS = re.compile(r"はでは(?:ありません|ない)|がでは(?:ありません|ない)|「」")


# Latin-letter words a Japanese office writes as they are (in 公用文, in the national lists it
# follows and in the software it uses), so they are words of the Japanese UI, not English left
# untranslated. Keep it short: a word belongs here only if the Japanese page would be less clear
# with it translated. A single letter is a label (A案, B案), not a word, and is not checked.
JAPANESE_UI_WORDS = frozenset({
    # file formats and encodings an office picks by these names (Excel's save dialog, the national
    # open data guides): the file's extension or the format's published name
    "CSV", "Excel", "PDF", "PNG", "JSON", "GeoJSON", "GTFS", "HTML", "Markdown", "Turtle", "BOM",
    # technical terms with no Japanese word in use: API, URL, ID (利用者ID), IP address, the login
    # standards (OAuth, OIDC), the hash named in the audit check (SHA), one-time codes (TOTP)
    "API", "URL", "ID", "IP", "OAuth", "OIDC", "SHA", "TOTP",
    # acronyms of the national recommended datasets' own titles (AED設置箇所一覧, 公衆無線LAN…) and of
    # the government's programme names (自治体DX推進計画)
    "AED", "LAN", "DX",
    # the names of products and standards the platform works with (proper nouns)
    "renkei", "Keycloak", "CKAN", "FIWARE", "DCAT",
    # the language switch names the other language in that language
    "English",
    # units of storage (JIS and IEC symbols have no katakana form in use)
    "KB", "MB", "GB", "TB", "KiB", "MiB", "GiB", "TiB",
    # Creative Commons licence names as published (CC BY 4.0, CC BY-SA; CC0 is a code with a digit)
    "CC", "BY", "SA", "ND", "NC",
})
# names of more than one word, as published
JAPANESE_UI_PHRASES = ("JSON Lines",)
ENGLISH_WORD = re.compile(r"""
    (?<![\w.@/:=#%&?+'’-])       # not inside an address, path, query, file name or longer token
    [A-Za-z]+(?:['’-][A-Za-z]+)*  # a word, with its hyphen or apostrophe (e-mail, don't)
    (?![\w@/=+-]|\.\w|['’]\w|://)  # not followed by digits (A4, INV-001), an address, an extension, ://
""", re.X | re.ASCII)


def raw_shapes(text: str, context: int = 30, *, words: bool = False) -> dict[str, list[str]]:
    """Each raw-looking piece of ``text`` -> where it stands (a few characters either side); with
    ``words``, ``text`` is the Japanese UI's own words, and an English word is raw too."""
    found: dict[str, list[str]] = {}

    def add(match: re.Match) -> None:
        found.setdefault(match.group(0), []).append(
            text[max(0, match.start() - context):match.end() + context].replace("\n", " ⏎ "))

    for match in RAW_SHAPES.finditer(text):
        add(match)
    for match in LOST_WORDS.finditer(text):
        add(match)
    if words:
        for phrase in JAPANESE_UI_PHRASES:
            text = text.replace(phrase, " " * len(phrase))  # same length: the snippets stay in place
        for match in ENGLISH_WORD.finditer(text):
            word = match.group(0)
            if len(word) > 1 and word not in JAPANESE_UI_WORDS and word not in found:
                add(match)
    return found


def first_rows(body: bytes, content_type: str, rows: int = 6) -> list[list[str]] | None:
    """The header and first data rows of a CSV or xlsx download (of each sheet, one after the
    other), or None for any other kind of file."""
    if "spreadsheetml" in content_type or body[:4] == b"PK\x03\x04":
        from openpyxl import load_workbook

        book = load_workbook(io.BytesIO(body), read_only=True, data_only=True)
        lines = []
        for sheet in book.worksheets:
            for values in sheet.iter_rows(max_row=rows, values_only=True):
                lines.append(["" if value is None else str(value) for value in values])
        book.close()
        return lines
    if "text/csv" in content_type:
        for encoding in ("utf-8-sig", "cp932"):
            try:
                text = body.decode(encoding)
                break
            except UnicodeDecodeError:
                continue
        else:
            return None
        return [row for row, _ in zip(csv.reader(io.StringIO(text, newline="")), range(rows))]
    return None


def first_rows_text(body: bytes, content_type: str, rows: int = 6) -> str | None:
    """The header and first data rows of a CSV or xlsx download as text (cells separated by tabs),
    or None for any other kind of file."""
    lines = first_rows(body, content_type, rows)
    return None if lines is None else "\n".join("\t".join(line) for line in lines)


def download_raw_text(body: bytes, content_type: str, rows: int = 6) -> dict[str, list[str]] | None:
    """The raw text of a download's header and first rows: raw shapes anywhere, and English words
    in the header (the file's own words; the rows below it are data). None for other files."""
    lines = first_rows(body, content_type, rows)
    if lines is None:
        return None
    found = raw_shapes("\t".join(lines[0]) if lines else "", words=True)
    for shape, snippets in raw_shapes("\n".join("\t".join(line) for line in lines[1:])).items():
        found.setdefault(shape, []).extend(snippets)
    return found
