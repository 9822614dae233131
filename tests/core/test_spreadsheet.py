"""The one export rule (core/spreadsheet.py): no stored value can run or break a spreadsheet."""

import io

import pytest
from openpyxl import Workbook, load_workbook

from core.spreadsheet import is_safe_text, safe_cell, safe_row


@pytest.mark.parametrize("text", ['=HYPERLINK("http://example.invalid","x")', "+81-96", "-1+2", "@SUM(A1)", "\tx", "\rx"])
def test_text_that_starts_like_a_formula_is_shown_as_text(text):
    assert safe_cell(text) == "'" + text


def test_control_characters_and_lone_surrogates_become_a_replacement_character():
    assert safe_cell("八代\x07市\x00") == "八代\ufffd市\ufffd"
    assert safe_cell("ev-\ud800") == "ev-\ufffd"


def test_numbers_and_plain_text_pass_unchanged():
    assert safe_row(["熊本市", 1200, None, -5, "改行\nあり"]) == ["熊本市", 1200, None, -5, "改行\nあり"]


@pytest.mark.parametrize("text", ["熊本市", "改行\nあり", "", "1+2", "=1", "\tx", "八代\x07市", "ev-\ud800", "a\x7f"])
def test_is_safe_text_says_whether_safe_cell_would_change_the_text(text):
    assert is_safe_text(text) == (safe_cell(text) == text)


def test_a_neutralised_control_character_no_longer_breaks_an_xlsx():
    book = Workbook()
    book.active.append(safe_row(["八代\x07市", "=1+1"]))
    out = io.BytesIO()
    book.save(out)
    assert [c.value for c in load_workbook(io.BytesIO(out.getvalue())).active[1]] == ["八代\ufffd市", "'=1+1"]


# --- the CSV files renkei offers: one writing (csv_bytes, csv_chunks) ------------------------------

def test_a_csv_file_opens_in_excel_as_utf8_and_reads_back_as_the_rows_neutralised():
    import csv

    from core.spreadsheet import csv_bytes

    rows = [["団体コード", "名称"], ["431001", "熊本市, \"本庁\""], ["432024", "=HYPERLINK(\"x\")"], ["", None]]
    data = csv_bytes(rows)
    assert data.startswith("\ufeff".encode("utf-8"))  # the BOM: Excel reads UTF-8, not the local code page
    assert data.count(b"\r\n") == len(rows) and b"\n" not in data.replace(b"\r\n", b"")
    read = list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))
    assert read == [["団体コード", "名称"], ["431001", "熊本市, \"本庁\""], ["432024", "'=HYPERLINK(\"x\")"], ["", ""]]


@pytest.mark.parametrize("rows_per_chunk", [1, 2, 3, 200])
def test_a_streamed_csv_is_the_same_file_in_pieces(rows_per_chunk):
    from core.spreadsheet import csv_bytes, csv_chunks

    rows = [["a", 1], ["b\nc", -2], ["=d", None], ["e", "f,g"], ["h", 0]]
    pieces = list(csv_chunks(iter(rows), rows_per_chunk))
    assert b"".join(pieces) == csv_bytes(rows)
    assert len(pieces) == 1 + -(-len(rows) // rows_per_chunk)  # the BOM, then a piece per rows_per_chunk rows
