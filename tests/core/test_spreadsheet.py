"""The one export rule (core/spreadsheet.py): no stored value can run or break a spreadsheet."""

import io

import pytest
from openpyxl import Workbook, load_workbook

from core.spreadsheet import safe_cell, safe_row


@pytest.mark.parametrize("text", ['=HYPERLINK("http://example.invalid","x")', "+81-96", "-1+2", "@SUM(A1)", "\tx", "\rx"])
def test_text_that_starts_like_a_formula_is_shown_as_text(text):
    assert safe_cell(text) == "'" + text


def test_control_characters_and_lone_surrogates_become_a_replacement_character():
    assert safe_cell("八代\x07市\x00") == "八代\ufffd市\ufffd"
    assert safe_cell("ev-\ud800") == "ev-\ufffd"


def test_numbers_and_plain_text_pass_unchanged():
    assert safe_row(["熊本市", 1200, None, -5, "改行\nあり"]) == ["熊本市", 1200, None, -5, "改行\nあり"]


def test_a_neutralised_control_character_no_longer_breaks_an_xlsx():
    book = Workbook()
    book.active.append(safe_row(["八代\x07市", "=1+1"]))
    out = io.BytesIO()
    book.save(out)
    assert [c.value for c in load_workbook(io.BytesIO(out.getvalue())).active[1]] == ["八代\ufffd市", "'=1+1"]
