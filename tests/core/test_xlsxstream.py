"""The streamed xlsx writer: what openpyxl (as Excel) reads back from it."""

from __future__ import annotations

import io

from openpyxl import load_workbook

from core.xlsxstream import BOLD, HEADER, TITLE, StreamedWorkbook


def written() -> bytes:
    out = io.BytesIO()
    book = StreamedWorkbook(out)
    first = book.sheet("月次利用実績", freeze="D5", widths={3: 18})
    first.append(["2026年10月 利用実績報告"], style=TITLE)
    first.append([])
    first.append(["団体コード", "団体名 <&>", "人口"], style=HEADER)
    first.append(["431001", "=HYPERLINK(\"http://evil\")", 1_234_567], number_from=3)
    first.append(["432024", "熊本\x07市", 0, None, 12], number_from=3)
    first.append(["", "合計（全団体）", 1_234_567], style=BOLD, number_from=3)
    second = book.sheet("月別推移", freeze="D2")
    second.append(["団体コード", "2026年4月"], style=BOLD)
    book.close()
    return out.getvalue()


def test_values_styles_and_sheets_read_back_as_written():
    book = load_workbook(io.BytesIO(written()))
    assert book.sheetnames == ["月次利用実績", "月別推移"]
    sheet = book["月次利用実績"]
    assert sheet["A1"].value == "2026年10月 利用実績報告" and sheet["A1"].font.b
    assert sheet["A2"].value is None
    assert sheet["B3"].value == "団体名 <&>" and sheet["B3"].alignment.wrap_text
    assert sheet["A4"].value == "431001"  # a code stays text, its leading zeros and all
    assert sheet["C4"].value == 1_234_567 and sheet["C4"].number_format == "#,##0"
    assert sheet["E5"].value == 12 and sheet["D5"].value is None
    assert sheet["C6"].font.b and sheet["C6"].number_format == "#,##0"
    assert sheet.freeze_panes == "D5" and sheet.column_dimensions["C"].width == 18
    assert book["月別推移"].freeze_panes == "D2"


def test_formulas_and_control_characters_are_neutralised():
    sheet = load_workbook(io.BytesIO(written()))["月次利用実績"]
    assert sheet["B4"].value == "'=HYPERLINK(\"http://evil\")" and sheet["B4"].data_type == "s"
    assert sheet["B5"].value == "熊本\ufffd市"
