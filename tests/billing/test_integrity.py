"""`renkei check` on billing: a healthy ledger passes; a broken one fails naming the run, year or account."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from billing import integrity
from core.actor import Actor

AUDITOR = Actor(issuer="urn:test", subject="auditor-1", name="監査委員", roles=frozenset({"auditor"}))


def _drop_ledger_guards(db) -> None:
    """What the database file's owner can do: remove the guard triggers, then change the ledger with raw SQL.

    SQLite only: on PostgreSQL the tests run as the application role, which cannot drop the guards;
    tests/test_restore_drill.py covers a damaged ledger there (a restore with the ledger missing).
    """
    if db.get_bind().dialect.name != "sqlite":
        pytest.skip("tampering with the ledger needs the owner's rights; on PostgreSQL see tests/test_restore_drill.py")
    names = db.execute(sa.text("SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name LIKE 'billing_%'")).scalars().all()
    for name in names:
        db.execute(sa.text(f'DROP TRIGGER "{name}"'))


def check(app, *args):
    return app.test_cli_runner().invoke(args=["check", "--as", "kensa", *args])


def test_check_passes_on_a_posted_run_and_summarises_what_it_checked(app, db, posted_fy2025):
    result = check(app)
    assert result.exit_code == 0, result.output
    assert "approved runs: 1" in result.output
    assert "fiscal years: 1" in result.output
    assert "receivable accounts: 4" in result.output
    assert "OK" in result.output


def test_deleting_an_approved_runs_entries_makes_check_fail_and_name_the_run(app, db, posted_fy2025):
    _drop_ledger_guards(db)
    run_keys = f"run:{posted_fy2025.id}:%"
    db.execute(sa.text("DELETE FROM billing_posting WHERE entry_id IN "
                       "(SELECT id FROM billing_journal_entry WHERE idempotency_key LIKE :k)"), {"k": run_keys})
    db.execute(sa.text("DELETE FROM billing_journal_entry WHERE idempotency_key LIKE :k"), {"k": run_keys})
    db.commit()

    result = check(app)

    assert result.exit_code == 1
    assert f"run #{posted_fy2025.id} (FY2025) is approved but" in result.output
    assert "are not in the ledger" in result.output
    assert "会計帳簿にありません" in result.output


def test_a_pending_entry_under_a_runs_key_is_named(app, db, posted_fy2025):
    _drop_ledger_guards(db)
    db.execute(sa.text("UPDATE billing_journal_entry SET status = 'pending' WHERE idempotency_key = :k"),
               {"k": f"run:{posted_fy2025.id}:charge:431001"})
    db.commit()

    result = check(app)

    assert result.exit_code == 1
    assert f"entry run:{posted_fy2025.id}:charge:431001 under its keys is pending" in result.output


def test_swapped_receivable_accounts_are_named(app, db, posted_fy2025):
    _drop_ledger_guards(db)
    db.execute(sa.text("UPDATE billing_account SET code = 'tmp' WHERE code = 'receivable:431001'"))
    db.execute(sa.text("UPDATE billing_account SET code = 'receivable:431001' WHERE code = 'receivable:432024'"))
    db.execute(sa.text("UPDATE billing_account SET code = 'receivable:432024' WHERE code = 'tmp'"))
    db.commit()

    result = check(app)

    assert result.exit_code == 1
    # the run's charge now lands on another tenant's account: named first; the account itself too
    assert f"runs: run #{posted_fy2025.id} (FY2025): entry run:{posted_fy2025.id}:charge:431001 does not post" in result.output
    report = integrity.check(db, AUDITOR)
    assert "account receivable:431001 is recorded as tenant 432024's" in report.findings[-1].message_en


def test_a_year_whose_charges_differ_from_its_costs_is_named(db, finance, posted_fy2025):
    _drop_ledger_guards(db)
    # one charge leg grows by 1 yen on both sides (still balanced, so only the year check sees it)
    entry_id = db.execute(sa.text("SELECT id FROM billing_journal_entry WHERE idempotency_key = :k"),
                          {"k": f"run:{posted_fy2025.id}:charge:431001"}).scalar_one()
    db.execute(sa.text("UPDATE billing_posting SET amount = amount + 1 WHERE entry_id = :e AND amount > 0"), {"e": entry_id})
    db.execute(sa.text("UPDATE billing_posting SET amount = amount - 1 WHERE entry_id = :e AND amount < 0"), {"e": entry_id})
    db.commit()

    report = integrity.check(db, AUDITOR)

    assert [f.check for f in report.findings] == ["runs", "years"]
    assert "does not post the run's amounts" in report.findings[0].message_en
    assert report.findings[1].message_en == ("FY2025: charges 12,000,001 yen and grants 0 yen do not add up to the costs "
                                             "12,000,000 yen")


def test_a_municipal_admin_may_not_run_the_check(db, posted_fy2025):
    from core.errors import NotPermitted

    clerk = Actor(issuer="urn:test", subject="m", name="市 管理者", roles=frozenset({"municipal-admin"}),
                  tenant_codes=frozenset({"431001"}))
    with pytest.raises(NotPermitted):
        integrity.check(db, clerk)
