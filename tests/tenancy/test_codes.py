import csv
from importlib import resources

import pytest

from core import codes


@pytest.mark.parametrize("code", ["430005", "431001", "432024", "131016"])
def test_published_codes_are_valid(code):
    assert codes.is_valid(code)


def test_every_kumamoto_reference_code_has_a_valid_check_digit():
    text = (resources.files("tenancy") / "data" / "kumamoto_municipalities.csv").read_text("utf-8")
    rows = list(csv.DictReader(text.splitlines()))
    assert len(rows) == 46
    assert all(codes.is_valid(row["code"]) for row in rows)


def test_check_digit_by_hand():
    # 13101 (千代田区): 1*6 + 3*5 + 1*4 + 0*3 + 1*2 = 27; 27 mod 11 = 5; 11 - 5 = 6
    assert codes.check_digit("13101") == 6
    # 43000 (熊本県): 4*6 + 3*5 = 39; 39 mod 11 = 6; 11 - 6 = 5
    assert codes.check_digit("43000") == 5


def test_wrong_check_digit_names_the_right_one_in_both_languages():
    en, ja = codes.code_problem("431002")
    assert "431001" in en and "431001" in ja


@pytest.mark.parametrize("bad", ["43100", "4310011", "43100a", "", None, 431001, "４３１００１"])
def test_malformed_codes_are_refused(bad):
    assert not codes.is_valid(bad)
