"""A wave file with very many bad rows gives a small report that counts them all (issue 14)."""

import pytest

from core.csvfile import MAX_PROBLEMS_LISTED


def bad_wave(bad_rows: int) -> str:
    return "code,contact_name,contact_email\n" + "".join(
        f"X{index % 100000:05d},a,a@b.jp\n" for index in range(bad_rows))  # not a code: every row is bad


def test_ten_thousand_bad_rows_are_counted_and_only_the_first_listed():
    """A file at the row cap (10,000 rows, tenancy.registry's IMPORT_MAX_ROWS) all bad: every row is
    counted, only the first are listed."""
    from tenancy.errors import ImportRejected
    from tenancy.onboarding.waves import parse_wave_csv

    with pytest.raises(ImportRejected) as refused:
        parse_wave_csv(bad_wave(10_000).encode())
    assert len(refused.value.problems) == MAX_PROBLEMS_LISTED
    assert refused.value.details["errors_total"] == 10_000
    assert "10,000" in refused.value.message_en and "10,000" in refused.value.message_ja


def test_a_wave_over_the_row_cap_is_refused_before_its_rows_are_judged():
    from tenancy.errors import ImportRejected
    from tenancy.onboarding.waves import parse_wave_csv

    with pytest.raises(ImportRejected) as refused:
        parse_wave_csv(bad_wave(200_000).encode())
    assert len(refused.value.problems) == 1 and "10,000" in refused.value.message_ja


def test_an_uploaded_wave_with_many_bad_rows_gives_a_small_problem_with_the_count(open_api):
    bad_rows = 10_000  # the row cap
    text = bad_wave(bad_rows)
    answer = open_api.post("/api/v1/onboarding/waves", json={"fiscal_year": "2025", "csv": text})
    assert answer.status_code == 422, answer.get_data(as_text=True)[:300]
    assert answer.mimetype == "application/problem+json"
    body = answer.get_json()
    assert len(answer.data) < 200_000  # was hundreds of megabytes for a million rows
    assert len(body["errors"]) == MAX_PROBLEMS_LISTED
    assert body["details"]["errors_total"] == bad_rows
    assert f"{body['details']['errors_total']:,}" in body["detail_en"]
    assert f"{body['details']['errors_total']:,}" in body["detail_ja"]
