"""The ledger writer, balances, and the database guards that raw SQL cannot get past.

The guard tests commit for real through ``db.execute(text(...)); db.commit()`` and expect the
database (PostgreSQL or SQLite, whichever the suite runs on) to refuse.
"""

import datetime as dt

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError

from billing import ledger
from billing.ledger_errors import IdempotencyConflict, UnbalancedEntry, UnknownAccount
from billing.models import EntryKind, JournalEntry, Posting

MAY = dt.date(2025, 5, 1)


def charge(key, code, amount, on=MAY, fiscal_year=2025):
    return ledger.NewEntry(key, EntryKind.charge, fiscal_year, on,
                           (ledger.debit(ledger.receivable(code), amount), ledger.credit(ledger.COST_RECOVERY, amount)),
                           description=f"charge {code}", tenant_code=code)


def payment(key, code, amount, on):
    return ledger.NewEntry(key, EntryKind.payment, 2025, on,
                           (ledger.debit(ledger.BANK, amount), ledger.credit(ledger.receivable(code), amount)),
                           tenant_code=code)


def count(db, model):
    return db.scalar(sa.select(sa.func.count()).select_from(model))


# --- the writer -----------------------------------------------------------------------------------

def test_a_charge_and_a_payment_leave_what_is_still_owed(db):
    ledger.post_entry(db, charge("c-1", "431001", 300_000))
    ledger.post_entry(db, payment("p-1", "431001", 120_000, dt.date(2025, 6, 1)))
    db.commit()
    assert ledger.tenant_balance(db, "431001") == 180_000
    assert ledger.balance(db, ledger.BANK) == 120_000
    assert ledger.balance(db, ledger.COST_RECOVERY) == 300_000  # income, shown on its credit side
    assert ledger.raw_balance(db, ledger.COST_RECOVERY) == -300_000  # postings: credits negative
    # as of the day before the payment, the whole charge was owed
    assert ledger.tenant_balance(db, "431001", as_of=dt.date(2025, 5, 31)) == 300_000


def test_trial_balance_lists_debit_and_credit_balances_that_agree(db):
    ledger.post_entries(db, [charge("c-1", "431001", 300_000), charge("c-2", "432024", 200_000),
                             payment("p-1", "432024", 200_000, dt.date(2025, 6, 1))])
    db.commit()
    books = ledger.trial_balance(db)
    assert books.row("receivable:431001").debit == 300_000
    assert books.row("receivable:432024").debit == 0 and books.row("receivable:432024").credit == 0
    assert books.row("cost_recovery").credit == 500_000
    assert books.row("bank").debit == 200_000
    assert books.total_debit == books.total_credit == 500_000
    assert books.difference == 0


def test_unbalanced_entry_is_refused_before_anything_is_written(db):
    bad = ledger.NewEntry("bad", EntryKind.adjustment, 2025, MAY,
                          (ledger.debit(ledger.BANK, 1000), ledger.credit(ledger.COST_RECOVERY, 999)))
    with pytest.raises(UnbalancedEntry) as refused:
        ledger.post_entries(db, [charge("good", "431001", 500), bad])
    assert "1,000" in refused.value.message_en and "999" in refused.value.message_en
    assert "貸借が一致しません" in refused.value.message_ja
    assert count(db, JournalEntry) == 0 and count(db, Posting) == 0


@pytest.mark.parametrize("legs", [
    (ledger.debit(ledger.BANK, 1000),),
    (ledger.debit(ledger.BANK, 0), ledger.credit(ledger.COST_RECOVERY, 0)),
    (ledger.debit(ledger.BANK, True), ledger.credit(ledger.COST_RECOVERY, True)),
])
def test_entries_need_two_nonzero_whole_yen_legs(db, legs):
    with pytest.raises(UnbalancedEntry):
        ledger.post_entry(db, ledger.NewEntry("x", EntryKind.adjustment, 2025, MAY, legs))


def test_an_account_outside_the_chart_is_refused(db):
    with pytest.raises(UnknownAccount) as refused:
        ledger.post_entry(db, ledger.NewEntry("x", EntryKind.adjustment, 2025, MAY,
                                              (ledger.debit("petty-cash", 10), ledger.credit(ledger.BANK, 10))))
    assert "petty-cash" in refused.value.message_en


def test_posting_the_same_key_again_posts_nothing_new(db):
    first = ledger.post_entry(db, charge("run:1:charge:431001", "431001", 300_000))
    again = ledger.post_entry(db, charge("run:1:charge:431001", "431001", 300_000))
    db.commit()
    assert again.id == first.id
    assert count(db, JournalEntry) == 1 and count(db, Posting) == 2
    assert ledger.tenant_balance(db, "431001") == 300_000


def test_the_same_key_with_other_amounts_is_a_conflict(db):
    ledger.post_entry(db, charge("run:1:charge:431001", "431001", 300_000))
    with pytest.raises(IdempotencyConflict) as refused:
        ledger.post_entry(db, charge("run:1:charge:431001", "431001", 300_001))
    assert refused.value.kind == "conflict"


def test_a_reversal_negates_every_leg_and_points_at_the_original(db):
    original = ledger.post_entry(db, charge("c-1", "431001", 300_000))
    [reversal_id] = ledger.reverse_entries(db, [original.id], occurred_on=dt.date(2025, 7, 1))
    [again] = ledger.reverse_entries(db, [original.id], occurred_on=dt.date(2025, 7, 2))
    db.commit()
    assert again == reversal_id  # reversed once, however often asked
    reversal = db.get(JournalEntry, reversal_id)
    assert reversal.reverses_id == original.id and reversal.kind == EntryKind.reversal
    legs = {view.account: view.amount for view in ledger.postings(db) if view.entry_id == reversal_id}
    assert legs == {"receivable:431001": -300_000, "cost_recovery": 300_000}
    assert ledger.tenant_balance(db, "431001") == 0
    assert ledger.tenant_balance(db, "431001", as_of=dt.date(2025, 6, 30)) == 300_000
    assert ledger.reversed_entry_ids(db) == {original.id}


def test_balances_by_fiscal_year_keep_years_apart(db):
    ledger.post_entries(db, [charge("c-2024", "431001", 100_000, on=dt.date(2024, 6, 1), fiscal_year=2024),
                             charge("c-2025", "431001", 250_000)])
    db.commit()
    assert ledger.tenant_balance(db, "431001", fiscal_year=2024) == 100_000
    assert ledger.tenant_balance(db, "431001", fiscal_year=2025) == 250_000
    assert ledger.tenant_balance(db, "431001") == 350_000


# --- what the database itself refuses --------------------------------------------------------------

def _posted(db):
    entry = ledger.post_entry(db, charge("c-1", "431001", 300_000))
    db.commit()
    accounts = dict(db.execute(sa.text("SELECT code, id FROM billing_account")).all())
    return entry.id, accounts


def _refused(db, *statements, params=None):
    with pytest.raises(DBAPIError):
        for statement in statements:
            db.execute(sa.text(statement), params or {})
        db.commit()
    db.rollback()


_NEW_ENTRY = ("INSERT INTO billing_journal_entry (idempotency_key, status, kind, fiscal_year, occurred_on, "
              "description, created_at, created_by) VALUES (:key, :status, 'adjustment', 2025, '2025-05-01', "
              "'raw SQL', '2025-05-01 00:00:00', 'intruder')")


def test_database_refuses_to_update_a_posted_posting(db):
    entry_id, _ = _posted(db)
    _refused(db, "UPDATE billing_posting SET amount = amount * 2 WHERE entry_id = :id", params={"id": entry_id})
    assert ledger.tenant_balance(db, "431001") == 300_000


def test_database_refuses_to_delete_a_posted_posting(db):
    entry_id, _ = _posted(db)
    _refused(db, "DELETE FROM billing_posting WHERE entry_id = :id", params={"id": entry_id})
    assert count(db, Posting) == 2


def test_database_refuses_to_change_or_delete_a_posted_entry(db):
    entry_id, _ = _posted(db)
    _refused(db, "UPDATE billing_journal_entry SET fiscal_year = 2024 WHERE id = :id", params={"id": entry_id})
    _refused(db, "UPDATE billing_journal_entry SET status = 'pending' WHERE id = :id", params={"id": entry_id})
    _refused(db, "DELETE FROM billing_journal_entry WHERE id = :id", params={"id": entry_id})
    assert db.get(JournalEntry, entry_id).fiscal_year == 2025


def test_database_refuses_a_posting_added_to_a_posted_entry(db):
    entry_id, accounts = _posted(db)
    _refused(db, "INSERT INTO billing_posting (entry_id, account_id, amount) VALUES (:id, :account, 5000)",
             "INSERT INTO billing_posting (entry_id, account_id, amount) VALUES (:id, :other, -5000)",
             params={"id": entry_id, "account": accounts["receivable:431001"], "other": accounts["cost_recovery"]})
    assert ledger.tenant_balance(db, "431001") == 300_000


def test_database_refuses_an_entry_inserted_as_posted(db):
    _posted(db)
    _refused(db, _NEW_ENTRY, params={"key": "raw-1", "status": "posted"})
    assert count(db, JournalEntry) == 1


def test_database_refuses_to_post_an_unbalanced_entry(db):
    _, accounts = _posted(db)
    _refused(
        db,
        _NEW_ENTRY,
        "INSERT INTO billing_posting (entry_id, account_id, amount) "
        "SELECT id, :account, 100000 FROM billing_journal_entry WHERE idempotency_key = 'raw-1'",
        "UPDATE billing_journal_entry SET status = 'posted' WHERE idempotency_key = 'raw-1'",
        params={"key": "raw-1", "status": "pending", "account": accounts["receivable:431001"]},
    )
    assert ledger.tenant_balance(db, "431001") == 300_000
    assert ledger.trial_balance(db).difference == 0


def test_database_refuses_to_post_an_entry_with_a_single_leg_of_zero_sum(db):
    # one leg cannot be a double entry, even though nothing is left unbalanced
    _, accounts = _posted(db)
    _refused(db, _NEW_ENTRY, "UPDATE billing_journal_entry SET status = 'posted' WHERE idempotency_key = 'raw-1'",
             params={"key": "raw-1", "status": "pending"})
    assert count(db, JournalEntry) == 1


def test_an_unbalanced_pending_entry_never_reaches_the_books(db):
    """PostgreSQL refuses it at commit (deferred constraint trigger, check_violation). SQLite has no
    deferred triggers: the pending entry may be stored, but it counts nowhere and can never be posted."""
    _, accounts = _posted(db)
    statements = (
        _NEW_ENTRY,
        "INSERT INTO billing_posting (entry_id, account_id, amount) "
        "SELECT id, :account, 100000 FROM billing_journal_entry WHERE idempotency_key = 'raw-1'",
    )
    params = {"key": "raw-1", "status": "pending", "account": accounts["receivable:431001"]}
    if db.get_bind().dialect.name == "postgresql":
        with pytest.raises(DBAPIError) as refused:
            for statement in statements:
                db.execute(sa.text(statement), params)
            db.commit()
        db.rollback()
        assert "unbalanced" in str(refused.value) and "CheckViolation" in type(refused.value.orig).__name__
        assert count(db, JournalEntry) == 1
    else:
        for statement in statements:
            db.execute(sa.text(statement), params)
        db.commit()
        _refused(db, "UPDATE billing_journal_entry SET status = 'posted' WHERE idempotency_key = 'raw-1'")
    assert ledger.tenant_balance(db, "431001") == 300_000
    assert ledger.trial_balance(db).difference == 0
