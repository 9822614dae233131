"""`renkei check` matches every payment entry with its audit record and recorder (issue 35, item 9).

The application role holds the ledger writer's rights: it can post any balanced entry, a payment
too. On PostgreSQL these tests run as that role (the app's own connection; tests/conftest.py), on
SQLite as the file's owner through the guards: what a payment needs is the audit record renkei's
recording of it writes (``billing.payment.record``: entry, tenant, amount, year) by the person the
entry names.
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from billing import integrity, ledger, models
from core import audit
from core.actor import Actor
from tests.billing.conftest import colleague

AUDITOR = Actor(issuer="urn:test", subject="auditor-1", name="監査委員", roles=frozenset({"auditor"}))
KUMAMOTO_CHARGE = 3_075_000  # 熊本市's FY2025 share (tests/billing/conftest.py::posted_fy2025)


def check(app, *args):
    return app.test_cli_runner().invoke(args=["check", "--as", "kensa", *args])


def owed(db, tenant: str = "431001") -> int:
    return ledger.tenant_balance(db, tenant, fiscal_year=2025)


def forge_payment(db, amount: int = KUMAMOTO_CHARGE, created_by: str = "県 財政担当") -> models.JournalEntry:
    """A balanced payment clearing 熊本市's whole charge, posted on the app's own connection with no
    recording behind it (the name of a real finance officer written in)."""
    return ledger.post_entry(db, ledger.NewEntry(
        "payment:431001:2025:forged", models.EntryKind.payment, 2025, dt.date(2025, 9, 1),
        (ledger.debit(ledger.BANK, amount), ledger.credit(ledger.receivable("431001"), amount)),
        description="2025年度 負担金 入金 熊本市（振込）", tenant_code="431001", created_by=created_by))


def audit_findings(findings):
    """The findings about payments and their audit records (a forged payment has no bank line either:
    tests/billing/test_bank_reconciliation.py names that)."""
    return [finding for finding in findings if "audit record" in finding.message_en]


def test_payments_recorded_through_renkei_pass(app, db, posted_fy2025):
    result = check(app)
    assert result.exit_code == 0, result.output
    assert "payments against their audit records: 1" in result.output


def test_a_payment_posted_without_its_audit_record_is_named(app, db, posted_fy2025):
    forge_payment(db)
    db.commit()
    assert owed(db) == 0  # the forgery took: 熊本市 owes nothing

    result = check(app)

    assert result.exit_code == 1
    assert ("payments: payment entry payment:431001:2025:forged" in result.output
            and "tenant 431001, 3,075,000 yen) has no billing.payment.record audit record" in result.output)
    assert "操作ログ（billing.payment.record）がありません" in result.output


def test_a_payment_whose_audit_record_says_another_amount_is_named(db, posted_fy2025):
    entry = forge_payment(db)
    audit.record(db, colleague(5), "billing.payment.record", "journal_entry", str(entry.id), tenant_code="431001",
                 after={"fiscal_year": 2025, "amount": 1_000, "received_on": "2025-09-01", "reference": "x"})
    db.commit()

    findings = audit_findings(integrity.check(db, AUDITOR).findings)

    assert [finding.check for finding in findings] == ["payments"]
    assert "differs from its billing.payment.record audit record" in findings[0].message_en
    assert "tenant 431001, 1000 yen, FY2025" in findings[0].message_en


def test_a_payment_whose_recorder_is_not_its_audit_records_actor_is_named(db, posted_fy2025):
    """The forger appends a matching audit record under its own identity but writes a finance
    officer's name on the entry: the entry's recorder is not the record's."""
    forger = Actor(issuer="urn:test", subject="svc-batch", name="バッチ", roles=frozenset({"finance-officer"}))
    entry = forge_payment(db)
    audit.record(db, forger, "billing.payment.record", "journal_entry", str(entry.id), tenant_code="431001",
                 after={"fiscal_year": 2025, "amount": KUMAMOTO_CHARGE, "received_on": "2025-09-01", "reference": "x"})
    db.commit()

    findings = audit_findings(integrity.check(db, AUDITOR).findings)

    assert len(findings) == 1
    assert findings[0].message_en.endswith("was posted by '県 財政担当' but its audit record "
                                           f"#{_seq_of(db, entry.id)} was written by 'バッチ'")
    assert "実行者は「バッチ」です" in findings[0].message_ja


def _seq_of(db, entry_id: int) -> int:
    return db.execute(sa.text("SELECT seq FROM audit_record WHERE action = 'billing.payment.record' AND target_id = :t"),
                      {"t": str(entry_id)}).scalar_one()


def test_payments_whose_audit_records_were_purged_are_counted_not_matched(db, finance, tenant_factory, operator,
                                                                          monkeypatch, tmp_path):
    """A payment recorded 800 days ago whose audit record `renkei audit purge` archived (400 days kept)
    is not named: its record is in the archive. Payments recorded since are still matched."""
    from billing import operations
    from billing.schemas import PaymentCreate
    from governance import audit_export

    long_ago = dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=800)
    with monkeypatch.context() as then:
        for clock in ("core.audit.utcnow", "billing.ledger.utcnow"):
            then.setattr(clock, lambda: long_ago)
        tenant_factory("431001")
        tenant_factory("432024")
        operations.record_payment(db, finance, PaymentCreate(tenant_code="432024", fiscal_year=2025, amount=1_000,
                                                             received_on=dt.date(2025, 9, 1), reference="古い振込"))
        db.commit()
    audit.record(db, operator, "tenant.update", "tenant", "431001", tenant_code="431001", after={"x": 1})
    db.commit()
    assert audit_export.purge(db, operator, tmp_path, retention_days=400) is not None
    db.commit()
    forge_payment(db, amount=5_000)
    db.commit()

    report = integrity.check(db, AUDITOR)

    assert report.checked["payments older than the kept audit log"] == 1
    assert report.checked["payments against their audit records"] == 1
    assert [finding.check for finding in audit_findings(report.findings)] == ["payments"]
    assert "payment:431001:2025:forged" in audit_findings(report.findings)[0].message_en
