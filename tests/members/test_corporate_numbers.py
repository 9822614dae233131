"""Corporate numbers (法人番号): the check digit refused in words, and a municipality's number derived."""

from __future__ import annotations

import pytest

from core.codes import corporate_number_of_local_government, corporate_number_problem, is_corporate_number


def test_the_nta_example_is_valid_and_every_other_first_digit_is_refused_in_words():
    assert is_corporate_number("7000012050002")
    for digit in "012345689":
        why = corporate_number_problem(f"{digit}000012050002")
        assert why is not None
        assert "7000012050002" in why[1] and "検査用数字" in why[1]  # says what the right number is


@pytest.mark.parametrize("bad", ["700001205000", "70000120500021", "7000-12050002", "７０００01205000２", None])
def test_anything_but_thirteen_ascii_digits_is_refused(bad):
    assert corporate_number_problem(bad) is not None


def test_kumamoto_prefecture_number_is_derived_from_its_local_government_code():
    assert corporate_number_of_local_government("430005") == "7000020430005"  # the example


def test_a_derived_municipal_number_passes_the_corporate_check():
    assert is_corporate_number(corporate_number_of_local_government("431001"))


def test_a_tenant_page_shows_its_derived_corporate_number(client, tenant_factory):
    from tests.conftest import sign_in

    tenant_id = tenant_factory("430005", name_ja="熊本県", kind="prefecture").id
    sign_in(client)
    page = client.get(f"/admin/tenants/details/?id={tenant_id}")
    assert page.status_code == 200
    assert "7000020430005" in page.get_data(as_text=True)
