"""The attacks of issue 13 on SQLite (the embedded default): raw SQL on the database file, each
refused by a guard trigger and changing nothing; what renkei itself does still works.

SQLite only: tests/billing/test_db_guards_pg.py makes the same attacks on PostgreSQL. On SQLite
whoever holds the file can drop the triggers (tests/billing/test_integrity.py plays that owner).
"""

from __future__ import annotations


import pytest
import sqlalchemy as sa

from billing import allocation_runs, ledger
from billing.models import AllocationRun, RunStatus
from governance.models import CouncilResolution
from tests.billing.conftest import colleague, make_reviewed_run

sqlite_only = pytest.mark.usefixtures("sqlite_only")

LINES = "SELECT tenant_code, amount, months, bound FROM billing_run_line WHERE run_id = :run ORDER BY tenant_code"
ACCOUNTS = "SELECT id, code, type, tenant_code, name_ja FROM billing_account ORDER BY id"
NEW_LINE = ("INSERT INTO billing_run_line (run_id, tenant_code, tenant_name, is_prefecture, months, population_source, "
            "usage_json, amount, components_json) VALUES (:run, '433004', '', 0, 12, '', '{}', 1, '[]')")


@pytest.fixture(name="sqlite_only")
def _sqlite_only(db):
    if db.get_bind().dialect.name != "sqlite":
        pytest.skip("SQLite's triggers; tests/billing/test_db_guards_pg.py covers PostgreSQL")


def attack(db, *statements: str, **params) -> str:
    """Run ``statements`` in one transaction straight on the database file; it must be refused.
    Returns the guard's message."""
    db.commit()
    with pytest.raises(sa.exc.IntegrityError) as refusal:
        with db.get_bind().connect() as connection, connection.begin():
            for statement in statements:
                connection.execute(sa.text(statement), params)
    db.expire_all()
    return str(refusal.value.orig)


def run_sql(db, statement: str, **params) -> None:
    """One raw statement committed on its own (what is allowed)."""
    db.commit()
    with db.get_bind().connect() as connection, connection.begin():
        connection.execute(sa.text(statement), params)
    db.expire_all()


def rows(db, query: str, **params):
    return db.execute(sa.text(query), params).all()


# --- accounts -------------------------------------------------------------------------------------

@sqlite_only
def test_receivables_with_postings_cannot_be_swapped(db, posted_fy2025):
    owed = {code: ledger.tenant_balance(db, code, fiscal_year=2025) for code in ("431001", "432024")}
    assert owed["431001"] != owed["432024"]
    accounts = rows(db, ACCOUNTS)
    swap = ("UPDATE billing_account SET code = 'tmp' WHERE code = 'receivable:431001'",
            "UPDATE billing_account SET code = 'receivable:431001' WHERE code = 'receivable:432024'",
            "UPDATE billing_account SET code = 'receivable:432024' WHERE code = 'tmp'")
    assert "the account has postings: its code, type and tenant cannot be changed" in attack(db, *swap)
    # through a receivable-looking name, or with the tenants swapped along: still refused
    attack(db, "UPDATE billing_account SET code = 'receivable:swap' WHERE code = 'receivable:431001'")
    attack(db, "UPDATE billing_account SET code = 'receivable:swap', tenant_code = 'swap' WHERE code = 'receivable:431001'")
    assert rows(db, ACCOUNTS) == accounts
    assert {code: ledger.tenant_balance(db, code, fiscal_year=2025) for code in owed} == owed
    assert ledger.trial_balance(db).difference == 0


@sqlite_only
def test_an_accounts_tenant_and_type_are_fixed_once_it_has_postings(db, posted_fy2025):
    accounts = rows(db, ACCOUNTS)
    message = attack(db, "UPDATE billing_account SET tenant_code = '432024' WHERE code = 'receivable:431001'")
    assert "receivable" in message and "bound to its own tenant" in message
    assert "has postings" in attack(db, "UPDATE billing_account SET type = 'income' WHERE code = 'receivable:431001'")
    assert "has postings" in attack(db, "UPDATE billing_account SET type = 'expense' WHERE code = 'cost_recovery'")
    assert rows(db, ACCOUNTS) == accounts
    # its names are not what the tenants owe: they may still be corrected
    run_sql(db, "UPDATE billing_account SET name_ja = '熊本市 未収金' WHERE code = 'receivable:431001'")
    assert db.execute(sa.text("SELECT name_ja FROM billing_account WHERE code = 'receivable:431001'")).scalar_one() \
        == "熊本市 未収金"


@sqlite_only
def test_an_account_with_postings_cannot_be_deleted(db, posted_fy2025):
    accounts = rows(db, ACCOUNTS)
    owed = ledger.tenant_balance(db, "431001", fiscal_year=2025)
    message = attack(db, "DELETE FROM billing_account WHERE code = 'receivable:431001'")
    assert "the account has postings: it cannot be deleted" in message
    assert rows(db, ACCOUNTS) == accounts
    assert ledger.tenant_balance(db, "431001", fiscal_year=2025) == owed


@sqlite_only
def test_a_receivable_is_bound_to_its_own_tenant_from_its_insertion(db, posted_fy2025):
    accounts = rows(db, ACCOUNTS)
    for tenant in ("431001", None):
        message = attack(db, "INSERT INTO billing_account (code, name_ja, name_en, type, tenant_code) "
                             "VALUES ('receivable:433004', 'x', 'x', 'asset', :tenant)", tenant=tenant)
        assert "must be bound to its own tenant" in message
    assert rows(db, ACCOUNTS) == accounts
    # bound to its own tenant it is accepted, and an unused account may still be renamed
    run_sql(db, "INSERT INTO billing_account (code, name_ja, name_en, type, tenant_code) "
                "VALUES ('receivable:433004', 'x', 'x', 'asset', '433004')")
    run_sql(db, "UPDATE billing_account SET code = 'receivable:433005', tenant_code = '433005' WHERE code = 'receivable:433004'")
    # but not rebound to another tenant, even unused
    assert "bound to its own tenant" in attack(
        db, "UPDATE billing_account SET tenant_code = '431001' WHERE code = 'receivable:433005'")
    assert rows(db, "SELECT tenant_code FROM billing_account WHERE code = 'receivable:433005'") == [("433005",)]


# --- run lines ------------------------------------------------------------------------------------

def _line_attacks(db, run_id: int) -> list[str]:
    before = rows(db, LINES, run=run_id)
    assert before
    messages = [
        attack(db, "UPDATE billing_run_line SET amount = amount - 1000 WHERE run_id = :run AND tenant_code = '431001'",
               run=run_id),
        attack(db, "UPDATE billing_run_line SET months = 6 WHERE run_id = :run", run=run_id),
        attack(db, "DELETE FROM billing_run_line WHERE run_id = :run AND tenant_code = '432024'", run=run_id),
        attack(db, NEW_LINE, run=run_id),
    ]
    assert rows(db, LINES, run=run_id) == before
    return messages


@sqlite_only
def test_the_lines_of_an_approved_run_cannot_be_edited_deleted_or_added_to(db, posted_fy2025):
    owed = ledger.tenant_balance(db, "431001", fiscal_year=2025)
    changed, _, deleted, added = _line_attacks(db, posted_fy2025.id)
    assert "lines of a reviewed, approved or reversed allocation run cannot be changed" in changed
    assert "lines of a reviewed, approved or reversed allocation run cannot be deleted" in deleted
    assert "the allocation run is reviewed, approved or reversed: no line can be added to it" in added
    assert ledger.tenant_balance(db, "431001", fiscal_year=2025) == owed


@sqlite_only
def test_the_lines_of_a_reviewed_run_are_fixed_and_its_approval_posts_them(db, tenant_factory, finance):
    run = make_reviewed_run(db, tenant_factory, finance)
    lines = dict(rows(db, "SELECT tenant_code, amount FROM billing_run_line WHERE run_id = :run", run=run.id))
    _line_attacks(db, run.id)
    # nor can a line of another run be moved into it
    other = allocation_runs.create_run(db, finance, 2025)
    db.commit()
    assert "cannot be changed" in attack(
        db, "UPDATE billing_run_line SET run_id = :run WHERE run_id = :other AND tenant_code = '431001'",
        run=run.id, other=other.id)

    allocation_runs.approve_run(db, colleague(3, "県 財政課長"), run.id)
    db.commit()
    assert RunStatus(db.get(AllocationRun, run.id).status) == RunStatus.approved
    assert ledger.tenant_balance(db, "431001", fiscal_year=2025) == lines["431001"]


@sqlite_only
def test_the_lines_of_a_computed_run_are_still_open(db, tenant_factory, finance):
    """As on PostgreSQL, the guard starts at review: before, the lines are the run's draft."""
    run = make_reviewed_run(db, tenant_factory, finance)
    draft = allocation_runs.create_run(db, finance, 2025)
    db.commit()
    assert RunStatus(db.get(AllocationRun, draft.id).status) == RunStatus.computed
    run_sql(db, "UPDATE billing_run_line SET months = 6 WHERE run_id = :run AND tenant_code = '431001'", run=draft.id)
    run_sql(db, "DELETE FROM billing_run_line WHERE run_id = :run AND tenant_code = '432024'", run=draft.id)
    run_sql(db, NEW_LINE, run=draft.id)
    assert [(code, months) for code, _, months, _ in rows(db, LINES, run=draft.id)] == [
        ("430005", 12), ("431001", 6), ("433004", 12)]
    # discarding the draft and approving the reviewed run still work
    allocation_runs.discard_run(db, colleague(2), draft.id)
    allocation_runs.approve_run(db, colleague(3, "県 財政課長"), run.id)
    db.commit()
    assert RunStatus(db.get(AllocationRun, run.id).status) == RunStatus.approved


# --- council resolutions --------------------------------------------------------------------------

RECORD = "SELECT * FROM council_resolution WHERE id = :id"


@sqlite_only
def test_a_council_resolution_cannot_be_edited_or_deleted(db, resolution):
    before = rows(db, RECORD, id=resolution.id)
    message = attack(db, "UPDATE council_resolution SET votes_for = votes_for + 5, adopted = NOT adopted WHERE id = :id",
                     id=resolution.id)
    assert "a council resolution is a record of the council: UPDATE refused" in message
    for column, value in (("decided_by", "someone else"), ("number", 99), ("reason", "adopted")):
        attack(db, f"UPDATE council_resolution SET {column} = :value WHERE id = :id", value=value, id=resolution.id)
    # even together with noting an enactment
    attack(db, "UPDATE council_resolution SET enacted_at = '2026-01-01 00:00:00', votes_against = 0 WHERE id = :id",
           id=resolution.id)
    assert "DELETE refused" in attack(db, "DELETE FROM council_resolution WHERE id = :id", id=resolution.id)
    assert rows(db, RECORD, id=resolution.id) == before


@sqlite_only
def test_a_resolutions_enactment_is_noted_once(db, resolution):
    from governance.models import RESOLUTION_FIXED_COLUMNS

    fixed = f"SELECT {', '.join(RESOLUTION_FIXED_COLUMNS)} FROM council_resolution WHERE id = :id"
    before = rows(db, fixed, id=resolution.id)
    run_sql(db, "UPDATE council_resolution SET enacted_at = '2026-01-01 00:00:00.000000', enacted_ref = 'x:1' WHERE id = :id",
            id=resolution.id)
    assert "UPDATE refused" in attack(db, "UPDATE council_resolution SET enacted_ref = 'x:2' WHERE id = :id",
                                      id=resolution.id)
    assert "UPDATE refused" in attack(db, "UPDATE council_resolution SET enacted_at = NULL WHERE id = :id",
                                      id=resolution.id)
    assert db.get(CouncilResolution, resolution.id).enacted_ref == "x:1"
    assert rows(db, fixed, id=resolution.id) == before


def test_every_column_of_a_resolution_but_its_enactment_is_guarded():
    from governance.models import RESOLUTION_ENACTMENT_COLUMNS, RESOLUTION_FIXED_COLUMNS

    columns = {column.name for column in CouncilResolution.__table__.columns}
    assert set(RESOLUTION_FIXED_COLUMNS) == columns - set(RESOLUTION_ENACTMENT_COLUMNS)
