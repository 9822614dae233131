"""A closed fiscal year is closed to every write (renkei issue 52 item 4).

The attacks of the issue, made as the application's role (the ``db`` session: renkei_ci_app on
PostgreSQL): a pending entry of the closed year given postings and posted, a pending entry of an open
year moved into the closed one, a closed year's run rewritten; and the close of a year that still
holds a pending entry. What the owner's rights can still do is named by ``renkei check``.
"""

from __future__ import annotations

import datetime as dt
import json

import pytest
import sqlalchemy as sa

from billing import integrity, year_close
from billing.ledger_errors import BillingConflict
from billing.models import YearClose, YearCloseStatus
from tests.conftest import owner_bind

from .conftest import colleague
from .test_integrity import AUDITOR
from .test_year_close import JUNE_2026, _closed_fy2025

FIVE_MILLION = 5_000_000


def _as_owner(db, tables: tuple[str, ...], statements: list[tuple[str, dict]]) -> None:
    """Play the database owner: run ``statements`` with the user triggers of ``tables`` off, then put
    them back (one transaction)."""
    db.commit()
    bind = owner_bind(db)
    with bind.begin() as connection:
        if bind.dialect.name == "postgresql":
            for table in tables:
                connection.exec_driver_sql(f"ALTER TABLE {table} DISABLE TRIGGER USER")
            for statement, parameters in statements:
                connection.execute(sa.text(statement), parameters)
            for table in tables:
                connection.exec_driver_sql(f"ALTER TABLE {table} ENABLE TRIGGER USER")
        else:
            triggers = connection.execute(sa.text(
                "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name IN "
                f"({', '.join(repr(t) for t in tables)})")).all()
            for name, _ in triggers:
                connection.exec_driver_sql(f'DROP TRIGGER "{name}"')
            for statement, parameters in statements:
                connection.execute(sa.text(statement), parameters)
            for _, sql in triggers:
                connection.exec_driver_sql(sql)
    db.expire_all()


def _accounts(db) -> tuple[int, int]:
    receivable = db.scalar(sa.text("SELECT id FROM billing_account WHERE code = 'receivable:431001'"))
    cash = db.scalar(sa.text("SELECT id FROM billing_account WHERE code NOT LIKE 'receivable:%' ORDER BY id LIMIT 1"))
    return receivable, cash


_ENTRY = ("INSERT INTO billing_journal_entry (idempotency_key, status, kind, fiscal_year, occurred_on, description, "
          "created_at, created_by) VALUES (:key, 'pending', 'payment', :year, '2026-03-31', 'x', :at, 'x')")
_LEG = "INSERT INTO billing_posting (entry_id, account_id, amount) VALUES (:entry, :account, :amount)"


def _entry_id(db, key: str) -> int:
    return db.scalar(sa.text("SELECT id FROM billing_journal_entry WHERE idempotency_key = :k"), {"k": key})


def _pending_left_in_closed_fy2025(db, finance, *, with_legs: bool) -> int:
    """A pending FY2025 entry written before the close (as the issue measured; a database closed
    before this rule may hold one): put there by the owner, since the close now refuses it."""
    _closed_fy2025(db, finance)
    receivable, cash = _accounts(db)
    before_close = db.scalar(sa.select(YearClose.closed_at)) - dt.timedelta(minutes=5)
    statements = [(_ENTRY, {"key": "left:1", "year": 2025, "at": before_close})]
    if with_legs:
        statements += [(_LEG.replace(":entry", "(SELECT id FROM billing_journal_entry WHERE idempotency_key = 'left:1')"),
                        {"account": account, "amount": amount})
                       for account, amount in ((cash, FIVE_MILLION), (receivable, -FIVE_MILLION))]
    _as_owner(db, ("billing_journal_entry", "billing_posting"), statements)
    return _entry_id(db, "left:1")


def _refused(db, statement: str, parameters: dict | None = None) -> str:
    with pytest.raises(sa.exc.DatabaseError) as refused:
        db.execute(sa.text(statement), parameters or {})
        db.commit()
    db.rollback()
    return str(refused.value)


def _refused_to_both(db, statement: str, parameters: dict | None = None) -> None:
    """Refused to the application's role (by the closed year's guard, or on PostgreSQL by its grants
    where the column is not its to write), and by the guard to the owner too."""
    message = _refused(db, statement, parameters)
    assert "fiscal year is closed" in message or (
        db.get_bind().dialect.name == "postgresql" and "permission denied" in message), message
    with pytest.raises(sa.exc.DatabaseError) as refused, owner_bind(db).begin() as connection:
        connection.execute(sa.text(statement), parameters or {})
    assert "fiscal year is closed" in str(refused.value)


def _posted_in(db, year: int) -> int:
    return db.scalar(sa.text("SELECT COUNT(*) FROM billing_journal_entry WHERE fiscal_year = :y AND status = 'posted' "
                             "AND kind = 'payment'"), {"y": year})


def test_a_pending_entry_of_a_closed_year_takes_no_postings(db, finance, kumamoto, adopted_policy):
    entry = _pending_left_in_closed_fy2025(db, finance, with_legs=False)
    receivable, cash = _accounts(db)

    # the attack: two balanced legs of 5,000,000 yen, then the entry posted, in one transaction
    with pytest.raises(sa.exc.DatabaseError) as refused:
        for account, amount in ((cash, FIVE_MILLION), (receivable, -FIVE_MILLION)):
            db.execute(sa.text(_LEG), {"entry": entry, "account": account, "amount": amount})
        db.execute(sa.text("UPDATE billing_journal_entry SET status = 'posted' WHERE id = :e"), {"e": entry})
        db.commit()
    db.rollback()
    message = str(refused.value)

    assert "fiscal year is closed" in message
    assert db.scalar(sa.text("SELECT COUNT(*) FROM billing_posting WHERE entry_id = :e"), {"e": entry}) == 0
    # what the owner left is named by renkei check
    report = integrity.check(db, AUDITOR)
    assert any(f.check == "closed years" and f"pending journal entries #{entry}" in f.message_en for f in report.findings)


def test_a_pending_entry_of_a_closed_year_is_not_posted(db, finance, kumamoto, adopted_policy):
    entry = _pending_left_in_closed_fy2025(db, finance, with_legs=True)
    payments_before = _posted_in(db, 2025)

    message = _refused(db, "UPDATE billing_journal_entry SET status = 'posted' WHERE id = :e", {"e": entry})

    assert "fiscal year is closed" in message
    assert _posted_in(db, 2025) == payments_before


def test_a_pending_entry_is_not_moved_into_a_closed_year(db, finance, kumamoto, adopted_policy):
    _closed_fy2025(db, finance)
    receivable, cash = _accounts(db)
    # FY2026 is open: the application's role may write a pending entry with its legs there
    db.execute(sa.text(_ENTRY), {"key": "moved:1", "year": 2026, "at": dt.datetime.now(dt.timezone.utc)})
    entry = _entry_id(db, "moved:1")
    for account, amount in ((cash, FIVE_MILLION), (receivable, -FIVE_MILLION)):
        db.execute(sa.text(_LEG), {"entry": entry, "account": account, "amount": amount})
    db.commit()
    payments_before = _posted_in(db, 2025)

    _refused_to_both(db, "UPDATE billing_journal_entry SET fiscal_year = 2025 WHERE id = :e", {"e": entry})

    assert db.scalar(sa.text("SELECT fiscal_year FROM billing_journal_entry WHERE id = :e"), {"e": entry}) == 2026
    assert _posted_in(db, 2025) == payments_before


def test_a_closed_years_run_is_not_rewritten(db, finance, kumamoto, adopted_policy):
    _closed_fy2025(db, finance)
    snapshot = db.scalar(sa.text("SELECT snapshot_json FROM billing_run WHERE fiscal_year = 2025"))

    _refused_to_both(db, "UPDATE billing_run SET snapshot_json = '{\"forged\": true}' WHERE fiscal_year = 2025")
    # a column the application's role may write (the review's note): the guard refuses it
    assert "fiscal year is closed" in _refused(db, "UPDATE billing_run SET review_note = 'forged' WHERE fiscal_year = 2025")

    assert db.scalar(sa.text("SELECT snapshot_json FROM billing_run WHERE fiscal_year = 2025")) == snapshot
    assert integrity.check(db, AUDITOR).ok


def test_renkei_check_names_a_closed_years_run_the_owner_rewrote(app, db, finance, kumamoto, adopted_policy):
    _closed_fy2025(db, finance)
    run_id, snapshot = db.execute(sa.text("SELECT id, snapshot_json FROM billing_run WHERE fiscal_year = 2025")).one()
    forged = json.loads(snapshot)
    forged["cost_items"][0]["amount"] += FIVE_MILLION  # the snapshot says the year cost 5,000,000 yen more
    _as_owner(db, ("billing_run",), [("UPDATE billing_run SET snapshot_json = :s WHERE id = :r",
                                      {"s": json.dumps(forged, ensure_ascii=False), "r": run_id})])

    result = app.test_cli_runner().invoke(args=["check", "--as", "kensa"])

    assert result.exit_code == 1, result.output
    assert f"FY2025: allocation runs #{run_id} changed after the close" in result.output
    assert f"按分計算 #{run_id} は締めの後に変更されています" in result.output


def test_renkei_check_names_a_closed_years_ledger_the_owner_changed(db, finance, kumamoto, adopted_policy):
    _closed_fy2025(db, finance)
    receivable, cash = _accounts(db)
    _as_owner(db, ("billing_posting",), [("UPDATE billing_posting SET amount = amount + 1 WHERE account_id = :a "
                                          "AND amount > 0", {"a": cash}),
                                         ("UPDATE billing_posting SET amount = amount - 1 WHERE account_id = :a "
                                          "AND amount < 0", {"a": receivable})])

    findings = [f for f in integrity.check(db, AUDITOR).findings if f.check == "closed years"]

    assert findings and "FY2025: the ledger of the closed year no longer adds up" in findings[0].message_en


def test_the_close_records_each_runs_digest_in_its_audit_record(db, finance, kumamoto, adopted_policy):
    _closed_fy2025(db, finance)
    run_id = db.scalar(sa.text("SELECT id FROM billing_run WHERE fiscal_year = 2025"))
    after = json.loads(db.scalar(sa.text("SELECT after FROM audit_record WHERE action = 'billing.year.close'")))
    assert after["runs"] == {str(run_id): year_close.run_digests(db, 2025)[str(run_id)]}


def test_a_year_holding_a_pending_entry_is_not_closed(db, finance, kumamoto, adopted_policy):
    # written as the application's role while FY2025 is open, and left pending
    db.execute(sa.text(_ENTRY), {"key": "pending:1", "year": 2025, "at": dt.datetime.now(dt.timezone.utc)})
    entry = _entry_id(db, "pending:1")
    year_close.request_close(db, finance, 2025, today=JUNE_2026)
    db.commit()

    with pytest.raises(BillingConflict) as refused:
        year_close.close_year(db, colleague(3, "県 財政課長"), 2025)
    db.rollback()

    assert f"#{entry}" in refused.value.message_ja and "保留中の仕訳" in refused.value.message_ja
    assert "pending journal entr" in refused.value.message_en
    # nor by raw SQL as the application's role
    assert "pending journal entries" in _refused(
        db, "UPDATE billing_year_close SET status = 'closed', closed_by = 'x' WHERE fiscal_year = 2025")
    assert YearCloseStatus(db.scalar(sa.select(YearClose.status))) == YearCloseStatus.requested


def test_the_close_from_the_command_line_names_the_pending_entry(app, db, finance, kumamoto, adopted_policy):
    db.execute(sa.text(_ENTRY), {"key": "pending:1", "year": 2025, "at": dt.datetime.now(dt.timezone.utc)})
    entry = _entry_id(db, "pending:1")
    db.commit()
    runner = app.test_cli_runner()
    assert runner.invoke(args=["billing", "close", "2025", "--as", "tanaka"]).exit_code == 0

    refused = runner.invoke(args=["billing", "close-approve", "2025", "--as", "kacho"])

    assert refused.exit_code == 1 and "Traceback" not in refused.output
    assert "保留中の仕訳" in refused.output and f"#{entry}" in refused.output
    db.expire_all()
    assert YearCloseStatus(db.scalar(sa.select(YearClose.status))) == YearCloseStatus.requested


def test_renkei_check_names_an_unreadable_snapshot_instead_of_failing(app, db, finance, kumamoto, adopted_policy):
    _closed_fy2025(db, finance)
    run_id = db.scalar(sa.text("SELECT id FROM billing_run WHERE fiscal_year = 2025"))
    _as_owner(db, ("billing_run",), [("UPDATE billing_run SET snapshot_json = '{\"forged\": true}' WHERE id = :r",
                                      {"r": run_id})])

    result = app.test_cli_runner().invoke(args=["check", "--as", "kensa"])

    assert result.exit_code == 1, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)  # no crash
    assert f"run #{run_id} (FY2025): its snapshot cannot be read" in result.output
    assert f"FY2025: allocation runs #{run_id} changed after the close" in result.output
