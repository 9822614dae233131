"""Provisional billing and settlement (概算・精算), as a finance office lives them.

The year is test_grants' worked example: 12,000,000 yen of costs, a 1/2 grant on the 10,000,000 yen
running cost decided at 6,000,000 (it funds 5,000,000), so 7,000,000 yen are shared: 県 3,500,000,
熊本市 1,793,750, 八代市 1,137,500, 人吉市 568,750 (worked by hand in test_grants). The year is
charged by a 概算 run. Then the grant is fixed lower than decided, at 4,000,000 yen (額の確定): the
grant funds 4,000,000, 8,000,000 yen are shared, and every share grows by 8/7, worked by hand:
県 4,000,000 (+500,000), 熊本市 2,050,000 (+256,250), 八代市 1,300,000 (+162,500), 人吉市 650,000
(+81,250). The differences add up to 1,000,000 yen, the change in the total shared.
"""

from __future__ import annotations

import datetime as dt
import json

import pytest
import sqlalchemy as sa

from billing import allocation_runs, documents, grants, integrity, ledger, operations, statements
from billing.ledger_errors import BillingConflict, InvalidBillingData
from billing.models import AllocationRun, CostItem, RunKind
from billing.schemas import GrantFix

from .conftest import colleague, cost_data
from .test_grants import _auditor, _year_with_costs, grant_data
from .test_statement_documents import pdf_page_size, pdf_pages, pdf_text, settings  # noqa: F401  (settings: the issuer)

REVIEWER, APPROVER = colleague(2), colleague(3, "県 財政課長")
ESTIMATED = {"430005": 3_500_000, "431001": 1_793_750, "432024": 1_137_500, "432032": 568_750}
ACTUAL = {"430005": 4_000_000, "431001": 2_050_000, "432024": 1_300_000, "432032": 650_000}


def _post(db, run, on=dt.date(2025, 7, 31)) -> AllocationRun:
    allocation_runs.review_run(db, REVIEWER, run.id)
    allocation_runs.approve_run(db, APPROVER, run.id, posted_on=on)
    db.commit()
    return run


def _provisional_year(db, finance):
    _year_with_costs(db, finance)
    grant = grants.create_grant(db, finance, grant_data())
    run = _post(db, allocation_runs.create_run(db, finance, 2025, kind=RunKind.provisional))
    return grant, run


def _fix(db, finance, grant, amount=4_000_000):
    grants.fix_grant(db, finance, grant.id, GrantFix(fixed_amount=amount, fixed_on=dt.date(2026, 5, 20)))
    db.commit()


def _charged(db, code: str) -> int:
    return statements.build_statement(db, _auditor(), code, 2025).charged


def test_a_settlement_after_the_grant_is_fixed_lower_posts_only_the_differences(db, finance, kumamoto, adopted_policy):
    grant, provisional = _provisional_year(db, finance)
    assert {code: _charged(db, code) for code in ESTIMATED} == ESTIMATED
    entries_before = db.scalar(sa.text("SELECT count(*) FROM billing_journal_entry"))
    _fix(db, finance, grant)

    settlement = allocation_runs.create_settlement(db, finance, 2025)
    _post(db, settlement, on=dt.date(2026, 5, 25))

    differences = {line.tenant_code: line.amount for line in allocation_runs.run_lines(db, settlement)}
    assert differences == {"430005": 500_000, "431001": 256_250, "432024": 162_500, "432032": 81_250}
    assert sum(differences.values()) == 1_000_000 == settlement.total
    # the 概算's entries stand as they were; the 精算 added one charge per payer, the grant and nothing else
    assert db.scalar(sa.text("SELECT count(*) FROM billing_journal_entry WHERE run_id = :id"),
                     {"id": provisional.id}) == 6
    assert db.scalar(sa.text("SELECT count(*) FROM billing_journal_entry")) == entries_before + 5
    assert {code: _charged(db, code) for code in ACTUAL} == ACTUAL
    balance = ledger.trial_balance(db, fiscal_year=2025)
    assert balance.difference == 0
    assert balance.row(ledger.GRANT_REVENUE).credit == 4_000_000
    assert balance.row(ledger.grant_receivable(grant.id)).debit == 4_000_000
    assert integrity.check(db, _auditor()).findings == []


def test_the_statement_shows_estimate_actual_and_difference(db, finance, kumamoto, adopted_policy):
    grant, _ = _provisional_year(db, finance)
    _fix(db, finance, grant)
    _post(db, allocation_runs.create_settlement(db, finance, 2025))

    statement = statements.build_statement(db, _auditor(), "431001", 2025)
    assert (statement.estimate, statement.charged, statement.settled) == (1_793_750, 2_050_000, 256_250)
    rows = dict(statements._amount_rows(statement))
    assert rows["概算額（概算で計上した負担金）"] == 1_793_750
    assert rows["精算額（実績による負担金）"] == 2_050_000
    assert rows["精算による追加納付額（精算額 − 概算額）"] == 256_250
    # the breakdown is the actual year's: the fixed grant and what it leaves
    assert dict(statements.funding_rows(statement))["負担対象額（事業費 − 交付金充当額）"] == 8_000_000


def test_a_higher_fixed_grant_refunds_and_the_letter_says_so(db, finance, kumamoto, adopted_policy, settings, tmp_path):
    """The grant fixed at its decided amount while a cost came in lower: every share falls; 熊本市 had
    paid its 概算 in full, so its 精算書 says a refund (還付) and asks for nothing."""
    grant, provisional = _provisional_year(db, finance)
    operations.record_payment(db, finance, _payment("431001", 1_793_750))
    item = db.scalars(sa.select(CostItem).where(CostItem.name == "クラウド利用料")).one()
    # under a 概算 the year's cost items stay open: the actual running cost was 9,000,000 yen
    operations.update_cost_item(db, finance, item.id, cost_data(name="クラウド利用料", amount=9_000_000))
    _fix(db, finance, grant, 5_000_000)
    settlement = _post(db, allocation_runs.create_settlement(db, finance, 2025))
    assert sum(line.amount for line in allocation_runs.run_lines(db, settlement)) == settlement.total < 0

    documents.issue_documents(db, finance, settlement.id, issued_on=dt.date(2026, 6, 1))
    db.commit()
    letters = {found.statement.tenant_code: found for found in documents.run_letters(db, finance, settlement.id)}
    kumamoto_letter = letters["431001"]
    assert kumamoto_letter.is_settlement and kumamoto_letter.title.endswith("精算書")
    assert kumamoto_letter.amount_due == 0 and kumamoto_letter.refund == -kumamoto_letter.statement.settled > 0
    html = documents.letter_html(kumamoto_letter)
    assert "還付額" in html and f"{kumamoto_letter.refund:,}円" in html and "納期限" not in html
    assert "概算額" in html and "精算額" in html
    yatsushiro = letters["432024"]  # paid nothing yet: owes the settled share, with a deadline
    assert yatsushiro.amount_due == yatsushiro.statement.charged and "納期限" in documents.letter_html(yatsushiro)
    # each 精算書 is one numbered A4 page with its issuer and date, like the 納入通知書
    pdf = documents.letters_pdf(db, finance, [kumamoto_letter])
    assert len(pdf_pages(pdf, tmp_path)) == 1 and pdf_page_size(pdf, tmp_path).endswith("(A4)")
    text = pdf_text(pdf, tmp_path)
    for expected in ("熊本市長 様", "熊本県知事", kumamoto_letter.document.number, "令和8年6月1日",
                     "令和7年度 連携基盤共同利用負担金 精算書", "還付額", f"{kumamoto_letter.refund:,}円"):
        assert expected in text, expected


def _payment(code: str, amount: int):
    from billing.schemas import PaymentCreate

    return PaymentCreate.model_validate({"tenant_code": code, "fiscal_year": 2025, "amount": amount,
                                         "received_on": "2025-09-30", "reference": "振込 0930"})


def test_a_settlement_waits_for_the_fixed_grant_and_a_posted_provisional_run(db, finance, kumamoto, adopted_policy):
    _year_with_costs(db, finance)
    grant = grants.create_grant(db, finance, grant_data())
    with pytest.raises(BillingConflict, match="no posted provisional"):
        allocation_runs.create_settlement(db, finance, 2025)
    _post(db, allocation_runs.create_run(db, finance, 2025, kind=RunKind.provisional))
    with pytest.raises(BillingConflict) as refusal:
        allocation_runs.create_settlement(db, finance, 2025)
    assert "確定額を登録" in refusal.value.message_ja and grant.name in refusal.value.message_ja
    with pytest.raises(InvalidBillingData):
        allocation_runs.create_run(db, finance, 2025, kind=RunKind.settlement)


def test_a_year_is_charged_once_final_and_provisional_exclude_each_other(db, finance, kumamoto, adopted_policy):
    _provisional_year(db, finance)
    final = allocation_runs.create_run(db, finance, 2025)
    allocation_runs.review_run(db, REVIEWER, final.id)
    with pytest.raises(BillingConflict) as refusal:
        allocation_runs.approve_run(db, APPROVER, final.id)
    assert "概算" in refusal.value.message_ja


def test_the_provisional_run_is_not_reversed_under_its_settlement(db, finance, kumamoto, adopted_policy):
    grant, provisional = _provisional_year(db, finance)
    _fix(db, finance, grant)
    settlement = _post(db, allocation_runs.create_settlement(db, finance, 2025))
    with pytest.raises(BillingConflict, match="reverse the settlement first"):
        allocation_runs.reverse_run(db, APPROVER, provisional.id, "誤り")
    db.rollback()
    allocation_runs.reverse_run(db, APPROVER, settlement.id, "確定額の誤り")
    allocation_runs.reverse_run(db, APPROVER, provisional.id, "やり直し")
    db.commit()
    assert ledger.trial_balance(db, fiscal_year=2025).difference == 0
    assert integrity.check(db, _auditor()).findings == []


# --- a posted year's cost items, in the database itself ------------------------------------------------

def test_a_final_run_freezes_the_cost_items_and_a_provisional_one_does_not(db, finance, kumamoto, adopted_policy):
    _provisional_year(db, finance)
    db.execute(sa.text("UPDATE billing_cost_item SET name = name || '（実績）' WHERE fiscal_year = 2025"))
    db.commit()  # under the 概算 the application role may change the year's costs


@pytest.mark.parametrize("statement", [
    "UPDATE billing_cost_item SET amount = 99000000, invoiced_amount = 99000000 WHERE name = 'クラウド利用料'",
    "DELETE FROM billing_cost_item WHERE name = 'クラウド利用料'",
    "INSERT INTO billing_cost_item (fiscal_year, name, category, amount, invoiced_amount, tax_treatment, tax_amount, "
    "vendor, reference, amortisation_years, amortisation_index, created_at, created_by) VALUES "
    "(2025, 'x', 'run', 1, 1, 'exempt', 0, '', '', 1, 1, CURRENT_TIMESTAMP, 'x')",
    "UPDATE billing_grant SET rate = '1/1'",
])
def test_the_database_refuses_changing_a_posted_years_costs_as_the_applications_role(
        db, finance, kumamoto, adopted_policy, statement):
    """The forgery tried from outside: a posted year's cost item raised from 15,000,000 to 99,000,000 yen
    with raw SQL as the application role. The grant's fixed amount stays writable (額の確定)."""
    _year_with_costs(db, finance)
    grant = grants.create_grant(db, finance, grant_data())
    _post(db, allocation_runs.create_run(db, finance, 2025))
    with pytest.raises(sa.exc.DatabaseError, match="posted run"):
        db.execute(sa.text(statement))
        db.commit()
    db.rollback()
    _fix(db, finance, grant)  # still allowed


def test_a_run_keeps_its_kind_and_year(db, finance, kumamoto, adopted_policy):
    _, provisional = _provisional_year(db, finance)
    for change in ("kind = 'final'", "fiscal_year = 2026"):
        # refused by the guard, and on PostgreSQL first by the role's column rights
        with pytest.raises(sa.exc.DatabaseError, match="never change|permission denied"):
            db.execute(sa.text(f"UPDATE billing_run SET {change} WHERE id = :id"), {"id": provisional.id})
            db.commit()
        db.rollback()


@pytest.mark.parametrize(("fixed", "running_cost"), [(0, 10_000_000), (3_333_333, 10_000_001), (5_000_000, 7_777_777),
                                                      (6_000_000, 12_345_679), (4_999_999, 10_000_000)])
def test_the_differences_add_up_to_the_change_in_what_is_shared(db, finance, kumamoto, adopted_policy, fixed, running_cost):
    """Whatever the fixed grant and the actual running cost, the 精算's differences add up exactly to the
    change in the total shared, the year still balances, and every payer's charge is its actual share."""
    grant, provisional = _provisional_year(db, finance)
    item = db.scalars(sa.select(CostItem).where(CostItem.name == "クラウド利用料")).one()
    operations.update_cost_item(db, finance, item.id, cost_data(name="クラウド利用料", amount=running_cost))
    _fix(db, finance, grant, fixed)
    settlement = _post(db, allocation_runs.create_settlement(db, finance, 2025))
    actual = json.loads(settlement.snapshot_json)
    lines = allocation_runs.run_lines(db, settlement)
    assert sum(line.amount for line in lines) == actual["total"] - provisional.total == settlement.total
    assert actual["total"] + actual["grant_total"] == actual["cost_total"] == 2_000_000 + running_cost
    assert actual["grant_total"] == min(fixed, running_cost // 2)
    for line in lines:
        assert _charged(db, line.tenant_code) == actual["settlement"]["actual_amounts"][line.tenant_code]
    assert ledger.trial_balance(db, fiscal_year=2025).difference == 0
    assert integrity.check(db, _auditor()).findings == []
