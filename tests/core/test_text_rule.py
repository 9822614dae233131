"""The single-line text rule (names, titles) refuses Unicode's format characters: the list in
core.validation is Unicode's category Cf, and the contract's pattern says what the check does."""

from __future__ import annotations

import re
import sys
import unicodedata

import pytest

from core.validation import FORBIDDEN_SINGLE_LINE_CLASS, FORMAT_CHARACTERS, text_problem


def test_the_format_characters_are_unicodes_category_cf():
    listed = {code for low, high in FORMAT_CHARACTERS for code in range(low, high + 1)}
    assert listed == {code for code in range(sys.maxunicode + 1) if unicodedata.category(chr(code)) == "Cf"}


@pytest.mark.parametrize("char", ["\u202e", "\u2066", "\u200b", "\u200f", "\ufeff", "\u00ad", "\U000e0041"])
def test_a_name_with_a_format_character_is_refused_in_words_and_by_the_stated_pattern(char):
    name = f"熊本{char}市"
    en, ja = text_problem(name, single_line=True)
    assert f"U+{ord(char):04X}" in en and f"U+{ord(char):04X}" in ja and "format" in en
    assert re.search(FORBIDDEN_SINGLE_LINE_CLASS, name)
    assert text_problem("熊本市 Kumamoto-shi（くまもと）", single_line=True) is None
    assert not re.search(FORBIDDEN_SINGLE_LINE_CLASS, "熊本市 Kumamoto-shi（くまもと）")
