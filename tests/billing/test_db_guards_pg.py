"""The attacks of issue 13, made with raw SQL through the application's own database connection
(in CI the application role: SELECT/INSERT and only the updates the code needs), each refused.

PostgreSQL only: the TEMP-table trick and the roles are PostgreSQL's; SQLite has its own triggers
(tests/billing/test_ledger.py, tests/billing/test_db_guards_sqlite.py) and no roles.
"""

from __future__ import annotations

import sqlalchemy as sa
import pytest

from billing import allocation_runs, ledger
from billing.ledger_errors import IdempotencyConflict
from billing.models import AllocationRun, RunStatus
from tests.billing.conftest import colleague, make_reviewed_run
from tests.conftest import TEST_DATABASE_OWNER_URL, TEST_DATABASE_URL, owner_bind

pytestmark = pytest.mark.skipif(
    not TEST_DATABASE_URL.startswith("postgresql"),
    reason="PostgreSQL only (TEMP tables shadowing guarded tables, database roles); the PostgreSQL run checks this (CI runs both)")

# What the attacker creates first so that a guard reading tables through the search_path would
# see these instead of the real ones (pg_temp is searched first unless placed last).
TEMP_LEDGER = [
    "CREATE TEMP TABLE billing_journal_entry(id int, status text)",
    "CREATE TEMP TABLE billing_posting(entry_id int, amount numeric)",
]


def _refused(bind, statements, params) -> str:
    with pytest.raises(sa.exc.DBAPIError) as refusal:
        with bind.connect() as connection, connection.begin():
            for statement in statements:
                connection.execute(sa.text(statement), params)
    return str(refusal.value.orig)


def attack(db, *statements: str, **params) -> str:
    """Run ``statements`` in one transaction on the app's own connection (in CI the application
    role), then again as the schema owner, whom the rights do not stop but the guards do; both
    must be refused. Returns the guard's refusal."""
    db.commit()
    _refused(db.get_bind(), statements, params)
    message = _refused(owner_bind(db), statements, params)
    db.expire_all()
    return message


def _charge_entry_id(db, run_id: int, tenant: str) -> int:
    return db.execute(sa.text("SELECT id FROM public.billing_journal_entry WHERE idempotency_key = :key"),
                      {"key": f"run:{run_id}:charge:{tenant}"}).scalar_one()


def test_the_app_role_is_not_the_schema_owner(db):
    if sa.make_url(TEST_DATABASE_URL).username == sa.make_url(TEST_DATABASE_OWNER_URL).username:
        pytest.skip("no separate application role configured (RENKEI_TEST_DATABASE_OWNER_URL); CI sets one")
    engine = sa.create_engine(TEST_DATABASE_URL)
    try:
        for statement in ("TRUNCATE billing_posting", "ALTER TABLE billing_posting DISABLE TRIGGER billing_posting_immutable",
                          "DROP TRIGGER billing_posting_immutable ON billing_posting",
                          "CREATE TABLE public.renkei_attacker(id int)",
                          "CREATE OR REPLACE FUNCTION public.billing_guard_posting() RETURNS trigger "
                          "LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$"):
            with pytest.raises(sa.exc.ProgrammingError, match="permission denied|must be owner"):
                with engine.begin() as connection:
                    connection.execute(sa.text(statement))
    finally:
        engine.dispose()


def test_a_temp_table_cannot_unlock_a_posted_posting(db, posted_fy2025):
    owed = ledger.tenant_balance(db, "431001", fiscal_year=2025)
    entry_id = _charge_entry_id(db, posted_fy2025.id, "431001")
    message = attack(db, *TEMP_LEDGER,
                     "UPDATE public.billing_posting SET amount = amount + 1000000 WHERE entry_id = :entry",
                     entry=entry_id)
    assert f"posted journal entry {entry_id}" in message
    assert ledger.tenant_balance(db, "431001", fiscal_year=2025) == owed
    assert ledger.trial_balance(db).difference == 0
    # nor removed, nor the entry itself turned back to pending
    attack(db, *TEMP_LEDGER, "DELETE FROM public.billing_posting WHERE entry_id = :entry", entry=entry_id)
    attack(db, *TEMP_LEDGER, "UPDATE public.billing_journal_entry SET status = 'pending' WHERE id = :entry", entry=entry_id)
    assert ledger.tenant_balance(db, "431001", fiscal_year=2025) == owed


def test_a_temp_anchor_cannot_vouch_for_deleting_an_audit_record(db, posted_fy2025):
    count = db.execute(sa.text("SELECT count(*) FROM public.audit_record")).scalar_one()
    assert count > 0
    message = attack(
        db,
        "CREATE TEMP TABLE audit_anchor(id int, purged_through_seq bigint)",
        "INSERT INTO audit_anchor VALUES (1, 1000000000)",
        "SET LOCAL renkei.audit_purge = 'on'",
        "DELETE FROM public.audit_record WHERE seq = 1",
    )
    assert "append-only" in message
    assert db.execute(sa.text("SELECT count(*) FROM public.audit_record")).scalar_one() == count


def test_a_pending_entry_under_a_runs_key_does_not_take_the_charges_place(db, tenant_factory, finance):
    run = make_reviewed_run(db, tenant_factory, finance)
    amount = db.execute(sa.text("SELECT amount FROM billing_run_line WHERE run_id = :run AND tenant_code = '431001'"),
                        {"run": run.id}).scalar_one()
    key = f"run:{run.id}:charge:431001"
    # the attacker writes, under the charge's key, a balanced entry with the charge's very legs, left pending
    db.commit()
    with db.get_bind().begin() as connection:
        accounts = {}
        for code, kind, tenant in (("receivable:431001", "asset", "431001"), ("cost_recovery", "income", None)):
            accounts[code] = connection.execute(sa.text(
                "INSERT INTO billing_account (code, name_ja, name_en, type, tenant_code) "
                "VALUES (:code, :code, :code, :type, :tenant) RETURNING id"),
                {"code": code, "type": kind, "tenant": tenant}).scalar_one()
        entry = connection.execute(sa.text(
            "INSERT INTO billing_journal_entry (idempotency_key, status, kind, fiscal_year, occurred_on, description, "
            "created_at, created_by) VALUES (:key, 'pending', 'charge', 2025, '2025-07-31', '', now(), '') RETURNING id"),
            {"key": key}).scalar_one()
        connection.execute(sa.text("INSERT INTO billing_posting (entry_id, account_id, amount) VALUES "
                                   "(:entry, :debit, :amount), (:entry, :credit, -:amount)"),
                           {"entry": entry, "debit": accounts["receivable:431001"],
                            "credit": accounts["cost_recovery"], "amount": amount})
    db.expire_all()

    with pytest.raises(IdempotencyConflict, match=key):
        allocation_runs.approve_run(db, colleague(3, "県 財政課長"), run.id)
    db.rollback()
    assert RunStatus(db.get(AllocationRun, run.id).status) == RunStatus.reviewed
    assert ledger.tenant_balance(db, "431001", fiscal_year=2025) == 0
    assert ledger.postings(db, run_id=run.id) == []


def test_receivable_accounts_cannot_be_renamed_or_rebound(db, posted_fy2025):
    owed = {code: ledger.tenant_balance(db, code, fiscal_year=2025) for code in ("431001", "432024")}
    assert owed["431001"] != owed["432024"]
    attack(db, "UPDATE billing_account SET code = 'receivable:swap' WHERE code = 'receivable:431001'",
           "UPDATE billing_account SET code = 'receivable:431001' WHERE code = 'receivable:432024'",
           "UPDATE billing_account SET code = 'receivable:432024' WHERE code = 'receivable:swap'")
    attack(db, "UPDATE billing_account SET tenant_code = '432024' WHERE code = 'receivable:431001'")
    attack(db, "DELETE FROM billing_account WHERE code = 'receivable:431001'")
    # a new receivable cannot be bound to another tenant either
    attack(db, "INSERT INTO billing_account (code, name_ja, name_en, type, tenant_code) "
               "VALUES ('receivable:433004', 'x', 'x', 'asset', '431001')")
    assert {code: ledger.tenant_balance(db, code, fiscal_year=2025) for code in owed} == owed


def test_the_lines_of_an_approved_run_cannot_be_edited(db, posted_fy2025):
    lines = "SELECT tenant_code, amount FROM billing_run_line WHERE run_id = :run ORDER BY tenant_code"
    before = db.execute(sa.text(lines), {"run": posted_fy2025.id}).all()
    message = attack(db, "UPDATE billing_run_line SET amount = amount - 1000 WHERE run_id = :run AND tenant_code = '431001'",
                     run=posted_fy2025.id)
    assert f"allocation run {posted_fy2025.id}" in message
    attack(db, "DELETE FROM billing_run_line WHERE run_id = :run", run=posted_fy2025.id)
    attack(db, "INSERT INTO billing_run_line (run_id, tenant_code, tenant_name, is_prefecture, months, population_source, "
               "usage_json, amount, components_json) VALUES (:run, '433004', '', false, 12, '', '{}', 1, '[]')",
           run=posted_fy2025.id)
    assert db.execute(sa.text(lines), {"run": posted_fy2025.id}).all() == before


def test_a_council_resolution_cannot_be_edited_or_deleted(db, resolution):
    record = "SELECT adopted, votes_for, votes_against, number FROM council_resolution WHERE id = :id"
    before = db.execute(sa.text(record), {"id": resolution.id}).one()
    message = attack(db, "UPDATE council_resolution SET votes_for = votes_for + 5, adopted = NOT adopted WHERE id = :id",
                     id=resolution.id)
    assert f"council resolution {resolution.id}" in message
    attack(db, "DELETE FROM council_resolution WHERE id = :id", id=resolution.id)
    assert db.execute(sa.text(record), {"id": resolution.id}).one() == before


def test_an_entry_slipped_under_a_run_before_approval_makes_the_approval_refuse(db, tenant_factory, finance):
    from billing.ledger_errors import BillingConflict

    run = make_reviewed_run(db, tenant_factory, finance)
    db.commit()
    with db.get_bind().begin() as connection:  # not one of the run's lines: no such payer in it
        connection.execute(sa.text(
            "INSERT INTO billing_journal_entry (idempotency_key, status, kind, fiscal_year, occurred_on, description, "
            "run_id, created_at, created_by) VALUES (:key, 'pending', 'charge', 2025, '2025-07-31', '', :run, now(), '')"),
            {"key": f"run:{run.id}:charge:433004", "run": run.id})
    db.expire_all()
    with pytest.raises(BillingConflict, match=f"run:{run.id}:charge:433004"):
        allocation_runs.approve_run(db, colleague(3, "県 財政課長"), run.id)
    db.rollback()
    assert RunStatus(db.get(AllocationRun, run.id).status) == RunStatus.reviewed
    assert ledger.postings(db, run_id=run.id) == []


def test_a_posted_run_cannot_be_set_back_nor_its_approval_rewritten(db, posted_fy2025):
    """Issue 27: the first statement of the double-charging attack, refused to the application role
    and to the owner alike while the guard is in place (tests/billing/test_run_lifecycle.py has the rest)."""
    owed = ledger.tenant_balance(db, "431001", fiscal_year=2025)
    message = attack(db, "UPDATE public.billing_run SET status = 'computed' WHERE id = :run", run=posted_fy2025.id)
    assert f"allocation run {posted_fy2025.id} cannot move from approved to computed" in message
    message = attack(db, *TEMP_LEDGER, "UPDATE public.billing_run SET status = 'reversed' WHERE id = :run",
                     run=posted_fy2025.id)
    assert f"its posted entry run:{posted_fy2025.id}:" in message and "is not reversed" in message
    assert "approved_by of allocation run" in attack(
        db, "UPDATE public.billing_run SET approved_by = 'someone else' WHERE id = :run", run=posted_fy2025.id)
    assert RunStatus(db.get(AllocationRun, posted_fy2025.id).status) == RunStatus.approved
    assert ledger.tenant_balance(db, "431001", fiscal_year=2025) == owed


def test_the_app_role_cannot_change_what_a_run_computed_nor_delete_a_run(db, posted_fy2025):
    """Issue 27: besides its moves and their records, a run's columns are not the role's to update
    (column grants, maintenance/db_roles.py), and it may delete no run."""
    if sa.make_url(TEST_DATABASE_URL).username == sa.make_url(TEST_DATABASE_OWNER_URL).username:
        pytest.skip("no separate application role configured (RENKEI_TEST_DATABASE_OWNER_URL); CI sets one")
    db.commit()
    for statement in ("UPDATE billing_run SET total = total * 2 WHERE id = :run",
                      "UPDATE billing_run SET fiscal_year = 2026 WHERE id = :run",
                      "UPDATE billing_run SET snapshot_json = '{}' WHERE id = :run",
                      "UPDATE billing_run SET created_by_key = 'urn:x|y' WHERE id = :run",
                      "DELETE FROM billing_run WHERE id = :run"):
        with pytest.raises(sa.exc.ProgrammingError, match="permission denied"):
            with db.get_bind().begin() as connection:
                connection.execute(sa.text(statement), {"run": posted_fy2025.id})
    db.expire_all()
    assert db.get(AllocationRun, posted_fy2025.id).total == 12_000_000


def test_the_app_role_adds_the_file_of_an_issued_letter_and_never_changes_or_removes_it(db, finance, posted_fy2025,
                                                                                       operator):
    """Letters as issued (issue 52, item 3): the file sent is kept as it was, whatever the application does."""
    from billing import documents
    from tenancy.registry.prefecture import PrefectureSettingsIn, update_settings
    from tenancy.registry.sample import KUMAMOTO_SETTINGS

    if sa.make_url(TEST_DATABASE_URL).username == sa.make_url(TEST_DATABASE_OWNER_URL).username:
        pytest.skip("no separate application role configured (RENKEI_TEST_DATABASE_OWNER_URL); CI sets one")
    update_settings(db, operator, PrefectureSettingsIn.model_validate(KUMAMOTO_SETTINGS))
    documents.issue_documents(db, finance, posted_fy2025.id)
    db.commit()
    for statement in ("UPDATE billing_letter_file SET content = :forged, sha256 = :digest",
                      "DELETE FROM billing_letter_file"):
        assert "permission denied" in _refused(db.get_bind(), [statement], {"forged": b"%PDF-forged", "digest": "0" * 64})
    assert db.scalar(sa.text("SELECT count(*) FROM billing_letter_file")) == 3
