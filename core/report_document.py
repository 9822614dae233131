"""A report as titled sections of rows, in both formats renkei hands out: an A4 PDF and a workbook.

One list of :class:`Section` feeds both, so the PDF and the workbook carry the same facts. The PDF is
HTML rendered by WeasyPrint on A4 with the Japanese Gothic of Debian's fonts-ipafont-gothic; the
workbook is streamed by :mod:`core.xlsxstream`, one sheet per section printed on A4, every text cell
neutralised (:func:`core.spreadsheet.safe_cell`). Used by the annual report (:mod:`billing.annual_report`) and the
member report (:mod:`secretariat.member_report`).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import html
import io
from typing import Any

from core.calendar import date_ja
from core.errors import Unavailable

SHEET_FONT = "IPAゴシック"


@dataclasses.dataclass(frozen=True)
class Section:
    title: str  # also the sheet's name (at most 31 characters)
    headers: tuple[str, ...]
    rows: tuple[tuple[Any, ...], ...]
    yen: frozenset[int] = frozenset()  # the columns in yen
    note: str = ""
    empty: str = "該当なし"


def to_xlsx(title: str, sections: list[Section], *, font: str = SHEET_FONT) -> bytes:
    """One sheet per section, A4 portrait, one page wide; yen cells as numbers formatted ``#,##0"円"``.

    Streamed (:mod:`core.xlsxstream`: each row written as XML at once, no cell objects): a national report's
    sheets of 1,741 municipalities or 52,000 datasets took seconds in openpyxl's cells."""
    from core.xlsxstream import BOLD, TITLE, StreamedWorkbook

    buffer = io.BytesIO()
    book = StreamedWorkbook(buffer, font=font)
    for section in sections:
        sheet = book.sheet(section.title[:31], a4=True,
                           widths={index + 1: 40 if index in (1, 2) else 18 for index in range(len(section.headers))})
        sheet.append([f"{title}　{section.title}"], style=TITLE)
        sheet.append([section.note] if section.note else [])
        sheet.append(section.headers, style=BOLD)
        for values in section.rows or ((section.empty,),):
            sheet.append(values, yen=section.yen)
    book.close()
    return buffer.getvalue()


STYLE = """
@page { size: A4; margin: 18mm 16mm 16mm 16mm; @bottom-center { content: counter(page) " / " counter(pages); font-size: 8pt; } }
body { font-family: "IPAGothic", "IPAexGothic", "Noto Sans CJK JP", sans-serif; font-size: 9pt; color: #000; }
h1 { font-size: 15pt; text-align: center; margin: 0 0 2mm; }
.issuer { text-align: right; margin: 0 0 4mm; }
h2 { font-size: 11pt; margin: 5mm 0 1.5mm; border-bottom: 0.8px solid #000; }
table { border-collapse: collapse; width: 100%; }
table.fixed { table-layout: fixed; }
th, td { border: 0.6px solid #000; padding: 0.8mm 1.5mm; text-align: left; vertical-align: top; }
thead th { background: #eee; }
td.yen { text-align: right; white-space: nowrap; }
p.note { font-size: 8pt; margin: 1mm 0; }
"""


def _cell_html(value: Any, is_yen: bool) -> str:
    if value is None:
        return "<td></td>"
    if is_yen and isinstance(value, int):
        return f'<td class="yen">{value:,}円</td>'
    if isinstance(value, int):
        return f'<td class="yen">{value:,}</td>'
    return f"<td>{html.escape(str(value))}</td>"


def section_html(section: Section, *, fixed_layout: bool = False) -> str:
    """The section's title, note and table; with ``fixed_layout`` the table's columns share its width evenly
    (CSS ``table-layout: fixed``: WeasyPrint then lays the table out without measuring every cell first, in
    about two thirds of the time)."""
    e = html.escape
    head = "".join(f'<th scope="col">{e(header)}</th>' for header in section.headers)
    if section.rows:
        body = "".join("<tr>" + "".join(_cell_html(value, index in section.yen) for index, value in enumerate(row))
                       + "</tr>" for row in section.rows)
    else:
        body = f'<tr><td colspan="{len(section.headers)}">{e(section.empty)}</td></tr>'
    note = f'<p class="note">{e(section.note)}</p>' if section.note else ""
    table = '<table class="fixed">' if fixed_layout else "<table>"
    return f"<h2>{e(section.title)}</h2>{note}{table}<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def to_html(title: str, issuer: str, day: dt.date, sections: list[Section], *, fixed_layout: bool = False) -> str:
    """The document: its title, issuer and day, then each section (``fixed_layout``: :func:`section_html`'s)."""
    e = html.escape
    return (f'<!DOCTYPE html><html lang="ja"><head><meta charset="utf-8"><title>{e(title)}</title>'
            f"<style>{STYLE}</style></head><body><h1>{e(title)}</h1>"
            f'<p class="issuer">{e(issuer)}<br>{e(date_ja(day))}</p>'
            + "".join(section_html(section, fixed_layout=fixed_layout) for section in sections) + "</body></html>")


def to_pdf(document: str, what_en: str, what_ja: str) -> bytes:
    """``document`` (HTML) as an A4 PDF; :class:`Unavailable` naming ``what`` when Pango is missing."""
    try:
        import weasyprint  # imported here: loading Pango is only worth it when a PDF is asked for
    except OSError as error:  # Pango missing on this machine: say what to install, never a 500
        raise Unavailable(
            f"The PDF {what_en} needs Pango on the server (Debian: libpango-1.0-0 libpangoft2-1.0-0): {error}",
            f"PDF の{what_ja}を作るためのライブラリ（Pango）がサーバーにありません。管理者に連絡してください。") from None
    return weasyprint.HTML(string=document).write_pdf()
