"""The ledger writer posting a batch of entries at once (the bulk path of ``post_entries``)."""

import datetime as dt

import sqlalchemy as sa

from billing import ledger
from billing.models import EntryKind, EntryStatus, JournalEntry, Posting

JUNE = dt.date(2025, 6, 30)


def charge(key, code, amount):
    return ledger.NewEntry(key, EntryKind.charge, 2025, JUNE,
                           (ledger.debit(ledger.receivable(code), amount), ledger.credit(ledger.COST_RECOVERY, amount)),
                           description=f"負担金 {code}", tenant_code=code, created_by="finance-1")


def test_a_batch_of_new_and_posted_entries_returns_each_id_in_order_with_its_own_legs(db):
    (earlier,) = ledger.post_entries(db, [charge("run:7:charge:432024", "432024", 40_000)])
    db.commit()
    batch = [charge("run:8:charge:431001", "431001", 120_000), charge("run:7:charge:432024", "432024", 40_000),
             charge("run:8:charge:433012", "433012", 7_500)]
    ids = ledger.post_entries(db, batch)
    db.commit()

    assert len(ids) == 3 and ids[1] == earlier and len(set(ids)) == 3
    db.expire_all()
    stored = {entry.id: entry for entry in db.scalars(sa.select(JournalEntry))}
    assert [stored[i].idempotency_key for i in ids] == [e.idempotency_key for e in batch]
    for entry_id, entry in zip(ids, batch):
        row = stored[entry_id]
        assert (row.status, row.kind, row.fiscal_year, row.occurred_on) == (EntryStatus.posted, EntryKind.charge, 2025, JUNE)
        assert (row.tenant_code, row.description, row.created_by) == (entry.tenant_code, entry.description, "finance-1")
    legs = db.execute(sa.select(Posting.entry_id, Posting.amount)).all()
    assert sorted(amount for entry_id, amount in legs if entry_id == ids[0]) == [-120_000, 120_000]
    assert sorted(amount for entry_id, amount in legs if entry_id == ids[2]) == [-7_500, 7_500]
    assert len(legs) == 6
    assert ledger.tenant_balance(db, "431001") == 120_000
    assert ledger.tenant_balance(db, "432024") == 40_000
    assert ledger.trial_balance(db).difference == 0


def test_a_batch_of_reversals_points_each_at_its_original(db):
    ids = ledger.post_entries(db, [charge(f"run:9:charge:{code}", code, 1_000 * (n + 1))
                                   for n, code in enumerate(("431001", "432024"))])
    db.commit()
    reversals = ledger.reverse_entries(db, ids, occurred_on=JUNE, created_by="finance-2")
    db.commit()
    db.expire_all()
    for original, reversal in zip(ids, reversals):
        row = db.get(JournalEntry, reversal)
        assert (row.reverses_id, row.kind, row.status) == (original, EntryKind.reversal, EntryStatus.posted)
    assert ledger.tenant_balance(db, "431001") == 0 and ledger.tenant_balance(db, "432024") == 0
