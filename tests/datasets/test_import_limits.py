"""Imports answer every file in seconds (issue 36, item 8): "one authorised dataset import of 400,000
rows with a bad category kept a worker at 100 % CPU for over 12 minutes with memory growing until it
was killed". Every import of records has a row cap (core.csvfile.Columns.max_rows, refused as the
file is read: the datasets' importing.MAX_ROWS, the registry's and waves' IMPORT_MAX_ROWS), and the
dataset import's checks read the database once per file, not once per row.
No timed assertion here: bench/bench_imports.py prints the times."""

from __future__ import annotations

import base64

import pytest
import sqlalchemy as sa

from core.csvfile import IMPORT_MAX_ROWS
from catalogue.importing import MAX_ROWS
from catalogue.models import Dataset
from tests.governance.test_audit_append import statements_of

HEADER = "提供者コード,タイトル,分野,ライセンス,更新頻度\n"


def dataset_rows(count: int, category: str = "bad", providers=("431001", "432024")) -> bytes:
    """``count`` rows (short ones: 400,000 fit the API's 20 MB file limit)."""
    body = "".join(f"{providers[i % len(providers)]},t{i},{category},CC-BY-4.0,毎年\n" for i in range(count))
    return (HEADER + body).encode("utf-8")


def test_a_400000_row_faulty_dataset_import_is_refused_over_the_cap(open_api, db, providers):
    raw = dataset_rows(400_000)
    answer = open_api.post("/api/v1/datasets/import", json={"content_base64": base64.b64encode(raw).decode()})
    assert answer.status_code == 422 and answer.mimetype == "application/problem+json"
    problem = answer.get_json()
    assert f"{MAX_ROWS:,}" in problem["detail_en"] and f"{MAX_ROWS:,}" in problem["detail_ja"]
    assert [item["field"] for item in problem["errors"]] == [f"line {MAX_ROWS + 2}"]
    assert db.scalar(sa.select(sa.func.count(Dataset.id))) == 0


def test_the_largest_accepted_faulty_file_is_judged_with_a_few_queries(db, operator, providers):
    """Every row of a file at the cap has a bad category: all counted, the first listed, and the
    database asked a few times for the whole file (it was several times per row)."""
    from catalogue import lists
    from catalogue.importing import ImportRejected, import_datasets

    lists.ensure_lists(db)  # the default lists written first, outside the count
    raw = dataset_rows(MAX_ROWS)
    refused = []

    def run():
        with pytest.raises(ImportRejected) as error:
            import_datasets(db, operator, raw)
        refused.append(error.value)

    statements = statements_of(db, run)
    assert f"{MAX_ROWS:,} problems" in refused[0].message_en
    assert len(refused[0].problems) == 200
    assert len(statements) < 20, len(statements)


def test_a_file_at_the_cap_with_good_rows_is_judged_with_a_few_queries_and_imported(db, operator, providers):
    """The checks of valid rows read the lists, the distinct providers and the names taken once."""
    from catalogue import operations
    from catalogue.importing import import_datasets

    raw = dataset_rows(300, category="防災")
    lookups = []
    real = operations.DraftLookups.know_providers

    def counted(self, codes):
        codes = list(codes)
        lookups.append(len(codes))
        return real(self, codes)

    operations.DraftLookups.know_providers = counted
    try:
        created = import_datasets(db, operator, raw)
    finally:
        operations.DraftLookups.know_providers = real
    assert len(created) == 300
    assert lookups == [300]  # every provider looked up together once, none asked again row by row


@pytest.mark.parametrize("kind", ["tenants", "wave"])
def test_the_registry_and_wave_files_are_refused_over_the_cap(db, kind):
    from tenancy.onboarding.waves import parse_wave_csv
    from tenancy.registry.importing import ImportRejected, parse_csv, validate_rows

    if kind == "tenants":
        text = "code,name_ja,kind,population\n" + "431001,熊本市,市,1\n" * (IMPORT_MAX_ROWS + 5)
        read = lambda: validate_rows(db, parse_csv(text.encode()))  # noqa: E731
    else:
        text = "code,contact_name,contact_email\n" + "431001,担当,a@example.jp\n" * (IMPORT_MAX_ROWS + 5)
        read = lambda: parse_wave_csv(text.encode())  # noqa: E731
    with pytest.raises(ImportRejected) as refused:
        read()
    assert f"{IMPORT_MAX_ROWS:,}" in refused.value.message_en
    assert refused.value.problems[0]["field"] == f"line {IMPORT_MAX_ROWS + 2}"
