"""A minimal streamed xlsx writer: rows go straight into the zip, one sheet after another.

For reports of thousands of rows, where openpyxl (even in write-only mode) spends most of the
time building cell objects: here a row becomes its XML text at once. Strings are written inline
(no shared-strings table to hold in memory), every value passes through
:func:`core.spreadsheet.safe_cell` (formulas and illegal characters neutralised), and a few fixed
styles cover what the reports need: bold, a title, wrapped header text, ``#,##0`` numbers and amounts in
yen (``#,##0"円"``), in one font for the workbook; a sheet may be set to print on A4 one page wide.
Excel, LibreOffice and openpyxl read the result.
"""

from __future__ import annotations

import zipfile
from collections.abc import Iterable
from typing import Any, BinaryIO
from xml.sax.saxutils import escape, quoteattr

from core.spreadsheet import safe_cell

# style ids (cellXfs below)
PLAIN, BOLD, NUMBER, BOLD_NUMBER, TITLE, HEADER, YEN = 0, 1, 2, 3, 4, 5, 6
YEN_FORMAT = '#,##0"円"'

_STYLES = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">
<numFmts count="2"><numFmt numFmtId="164" formatCode="#,##0"/><numFmt numFmtId="165" formatCode={yen}/></numFmts>
<fonts count="3"><font><sz val="11"/><name val={font}/></font><font><b/><sz val="11"/><name val={font}/></font><font><b/><sz val="14"/><name val={font}/></font></fonts>
<fills count="2"><fill><patternFill patternType="none"/></fill><fill><patternFill patternType="gray125"/></fill></fills>
<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>
<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>
<cellXfs count="7">
<xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>
<xf numFmtId="0" fontId="1" fillId="0" borderId="0" xfId="0" applyFont="1"/>
<xf numFmtId="164" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>
<xf numFmtId="164" fontId="1" fillId="0" borderId="0" xfId="0" applyFont="1" applyNumberFormat="1"/>
<xf numFmtId="0" fontId="2" fillId="0" borderId="0" xfId="0" applyFont="1"/>
<xf numFmtId="0" fontId="1" fillId="0" borderId="0" xfId="0" applyFont="1" applyAlignment="1"><alignment wrapText="1" vertical="top"/></xf>
<xf numFmtId="165" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>
</cellXfs>
<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>
</styleSheet>"""

_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"


def column_letter(index: int) -> str:
    """1 → A, 27 → AA."""
    letters = ""
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


_LETTERS = [column_letter(i) for i in range(1, 257)]
_BATCH = 500  # rows per write into the zip stream (one write per row cost more than building the row)
_TEXTS_KEPT = 200_000  # distinct strings a workbook keeps written (its cache's bound)


def _s(style: int) -> str:
    return f' s="{style}"' if style else ""


_STYLE_ATTRS = {style: _s(style) for style in (PLAIN, BOLD, NUMBER, BOLD_NUMBER, TITLE, HEADER, YEN)}


class Sheet:
    def __init__(self, stream: BinaryIO, freeze: str | None, widths: dict[int, float], a4: bool = False,
                 texts: dict[str, str] | None = None) -> None:
        self._stream, self._row, self._a4 = stream, 0, a4
        # a text's cell content (neutralised and escaped) by the text: the workbook's names, kinds and labels
        # repeat on every row (a national report's 52,000 rows hold a few thousand distinct texts)
        self._texts: dict[str, str] = texts if texts is not None else {}
        self._pending: list[str] = []  # rows not yet written: the zip stream gets them in batches
        head = [f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<worksheet xmlns="{_MAIN}" xmlns:r="{_REL}">']
        if a4:
            head.append('<sheetPr><pageSetUpPr fitToPage="1"/></sheetPr>')
        if freeze:
            column = len(freeze.rstrip("0123456789"))
            letters, row = freeze[:column], int(freeze[column:])
            col_index = sum((ord(c) - 64) * 26 ** i for i, c in enumerate(reversed(letters)))
            pane = ['<pane']
            if col_index > 1:
                pane.append(f' xSplit="{col_index - 1}"')
            if row > 1:
                pane.append(f' ySplit="{row - 1}"')
            pane.append(f' topLeftCell="{freeze}" activePane="bottomRight" state="frozen"/>')
            head.append(f'<sheetViews><sheetView workbookViewId="0">{"".join(pane)}</sheetView></sheetViews>')
        if widths:
            head.append("<cols>" + "".join(f'<col min="{i}" max="{i}" width="{w}" customWidth="1"/>'
                                           for i, w in sorted(widths.items())) + "</cols>")
        head.append("<sheetData>")
        self._write("".join(head))

    def _write(self, text: str) -> None:
        self._pending.append(text)
        if len(self._pending) >= _BATCH:
            self._flush()

    def _flush(self) -> None:
        if self._pending:
            self._stream.write("".join(self._pending).encode("utf-8"))
            self._pending = []

    def append(self, values: Iterable[Any], style: int = PLAIN, number_from: int | None = None,
               yen: frozenset[int] = frozenset()) -> None:
        """One row; ``number_from``: integers from this column (1-based) on get ``#,##0``; ``yen``: integers in
        these columns (0-based) get ``#,##0"円"``."""
        self._row += 1
        row = self._row
        cells: list[str] = []
        add = cells.append
        texts = self._texts
        plain = _STYLE_ATTRS[style] if style in _STYLE_ATTRS else _s(style)
        number = _STYLE_ATTRS[BOLD_NUMBER if style == BOLD else NUMBER]
        in_yen = _STYLE_ATTRS[YEN]
        first_number = number_from - 1 if number_from is not None else len(_LETTERS)
        inline = f'{row}" t="inlineStr"{plain}><is><t xml:space="preserve">'  # a text cell's XML after its column
        for index, value in enumerate(values):
            kind = type(value)
            if kind is str:  # the common cases first, written as the general path below would
                if value:  # safe_cell keeps a text non-empty
                    text = texts.get(value)
                    if text is None:
                        text = escape(safe_cell(value))
                        if len(texts) < _TEXTS_KEPT:
                            texts[value] = text
                    add(f'<c r="{_LETTERS[index]}{inline}{text}</t></is></c>')
                continue
            if kind is int:
                shown = in_yen if index in yen else number if index >= first_number else plain
                add(f'<c r="{_LETTERS[index]}{row}"{shown}><v>{value}</v></c>')
                continue
            value = safe_cell(value)
            if value is None or value == "":
                continue
            ref = f"{_LETTERS[index]}{row}"
            if isinstance(value, bool):
                cells.append(f'<c r="{ref}" t="b"{_s(style)}><v>{int(value)}</v></c>')
            elif isinstance(value, (int, float)):
                numeric = style
                if number_from is not None and index + 1 >= number_from and isinstance(value, int):
                    numeric = BOLD_NUMBER if style == BOLD else NUMBER
                cells.append(f'<c r="{ref}"{_s(numeric)}><v>{value}</v></c>')
            else:
                cells.append(f'<c r="{ref}" t="inlineStr"{_s(style)}><is><t xml:space="preserve">{escape(str(value))}</t></is></c>')
        self._write(f'<row r="{row}">{"".join(cells)}</row>' if cells else f'<row r="{row}"/>')

    def close(self) -> None:
        self._write("</sheetData>" + ('<pageMargins left="0.7" right="0.7" top="0.75" bottom="0.75" header="0.3" footer="0.3"/>'
                                      '<pageSetup paperSize="9" orientation="portrait" fitToWidth="1" fitToHeight="0"/>'
                                      if self._a4 else "") + "</worksheet>")
        self._flush()
        self._stream.close()


class StreamedWorkbook:
    """``book = StreamedWorkbook(out); sheet = book.sheet("名前", freeze="D5", widths={3: 18}); sheet.append([...]); ...; book.close()``.
    One sheet is open at a time: opening the next closes the previous."""

    def __init__(self, out: BinaryIO, *, font: str = "Calibri") -> None:
        self._font = font
        self._zip = zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1)
        self._names: list[str] = []
        self._open: Sheet | None = None
        self._texts: dict[str, str] = {}  # shared by the sheets (Sheet's cache of written texts)

    def sheet(self, name: str, *, freeze: str | None = None, widths: dict[int, float] | None = None,
              a4: bool = False) -> Sheet:
        """The next sheet (``a4``: printed on A4 portrait, one page wide)."""
        if self._open is not None:
            self._open.close()
        self._names.append(name)
        stream = self._zip.open(f"xl/worksheets/sheet{len(self._names)}.xml", "w", force_zip64=True)
        self._open = Sheet(stream, freeze, widths or {}, a4, self._texts)
        return self._open

    def close(self) -> None:
        if self._open is not None:
            self._open.close()
            self._open = None
        count = len(self._names)
        sheets = "".join(f'<sheet name={quoteattr(name)} sheetId="{i}" r:id="rId{i}"/>'
                         for i, name in enumerate(self._names, start=1))
        rels = "".join(f'<Relationship Id="rId{i}" Type="{_REL}/worksheet" Target="worksheets/sheet{i}.xml"/>'
                       for i in range(1, count + 1))
        overrides = "".join(f'<Override PartName="/xl/worksheets/sheet{i}.xml" '
                            'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
                            for i in range(1, count + 1))
        self._zip.writestr("[Content_Types].xml",
                           '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
                           '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
                           '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
                           '<Default Extension="xml" ContentType="application/xml"/>'
                           '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
                           '<Override PartName="/xl/styles.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>'
                           f'{overrides}</Types>')
        self._zip.writestr("_rels/.rels",
                           '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
                           '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
                           f'<Relationship Id="rId1" Type="{_REL}/officeDocument" Target="xl/workbook.xml"/></Relationships>')
        self._zip.writestr("xl/workbook.xml",
                           f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<workbook xmlns="{_MAIN}" xmlns:r="{_REL}">'
                           f'<sheets>{sheets}</sheets></workbook>')
        self._zip.writestr("xl/_rels/workbook.xml.rels",
                           '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
                           '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
                           f'{rels}<Relationship Id="rId{count + 1}" Type="{_REL}/styles" Target="styles.xml"/></Relationships>')
        self._zip.writestr("xl/styles.xml", _STYLES.format(font=quoteattr(self._font), yen=quoteattr(YEN_FORMAT)))
        self._zip.close()
