"""負担金見込額: the estimates the municipalities put into their budget requests for the coming year.

FY2026 is estimated in autumn 2025 from its draft budget: 10,000,000 yen of running cost and
2,000,000 of build cost, with the 1/2 grant on the running cost decided at 6,000,000 (it funds
5,000,000), so 7,000,000 yen are to be shared. By the adopted policy (県 1/2, then 均等割 1/2 and
人口割 1/2) the municipalities share 3,500,000, each for the whole year (人吉市 joined in October
2025 and takes part all of FY2026), worked out by hand: 均等割 1,750,000 / 3 each; 人口割
1,750,000 × 500,000 / 900,000 for 熊本市 and × 200,000 / 900,000 for 八代市 and 人吉市. So
熊本市 14,000,000 / 9 = 1,555,555.6 → 1,555,556 (the largest remainder takes the odd yen), 八代市
and 人吉市 8,750,000 / 9 = 972,222.2 → 972,222.
"""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from billing import allocation_runs, budgets, estimates, grants, statements
from billing.ledger_errors import BillingConflict, InvalidBillingData
from billing.schemas import BudgetCreate

from .conftest import colleague, cost_data
from .test_grants import _auditor, grant_data
from .test_statement_documents import pdf_page_size, pdf_pages, pdf_text, settings  # noqa: F401

EXPECTED = {"431001": 1_555_556, "432024": 972_222, "432032": 972_222}


def _budgeted_fy2026(db, finance):
    budgets.draft_budget(db, finance, BudgetCreate.model_validate(
        {"fiscal_year": 2026, "amounts": {"run": 10_000_000, "build": 2_000_000}}))
    grants.create_grant(db, finance, grant_data(fiscal_year=2026))
    db.commit()


def test_the_estimate_splits_what_the_expected_grant_leaves_of_the_budget(db, finance, kumamoto, adopted_policy):
    _budgeted_fy2026(db, finance)
    estimate = estimates.compute_estimate(db, finance, 2026)
    assert {line.tenant_code: line.amount for line in estimate.lines} == EXPECTED
    assert estimate.municipal_total == 3_500_000
    assert (estimate.assumptions["cost_total"], estimate.assumptions["grant_total"],
            estimate.assumptions["shared_total"]) == (12_000_000, 5_000_000, 7_000_000)
    assert all(line.basis["months"] == 12 for line in estimate.lines)


def test_issued_estimates_are_numbered_kept_and_one_a4_page_each(db, finance, kumamoto, adopted_policy, settings, tmp_path):
    _budgeted_fy2026(db, finance)
    first = estimates.issue_estimates(db, finance, 2026, billing_month="2026-06", issued_on=dt.date(2025, 10, 1))
    db.commit()
    assert [letter.number for letter in first] == ["デ戦第1号", "デ戦第2号", "デ戦第3号"]
    # the budget is revised: issuing again makes a second version, the first is kept
    budgets.draft_budget(db, finance, BudgetCreate.model_validate(
        {"fiscal_year": 2026, "amounts": {"run": 10_000_000, "build": 2_900_000}, "reason": "補正"}))
    second = estimates.issue_estimates(db, finance, 2026, billing_month="2026-06", issued_on=dt.date(2025, 11, 1))
    db.commit()
    assert {letter.version for letter in second} == {2} and second[0].number == "デ戦第4号"
    assert db.scalar(sa.text("SELECT count(*) FROM billing_estimate")) == 6
    assert sum(letter.amount for letter in second) > sum(letter.amount for letter in first)
    actions = [action for (action,) in db.execute(sa.text("SELECT action FROM audit_record ORDER BY seq"))]
    assert actions.count("billing.estimate.issue") == 2

    pdf = estimates.estimates_pdf(db, finance, [first[0]])
    assert len(pdf_pages(pdf, tmp_path)) == 1 and pdf_page_size(pdf, tmp_path).endswith("(A4)")
    text = pdf_text(pdf, tmp_path)
    for expected in ("熊本市長 様", "熊本県知事", "デ戦第1号", "令和7年10月1日", "令和8年度 連携基盤共同利用負担金見込額について",
                     "1,555,556円", "補助率 1/2", "5,000,000円", "交付決定額", "500,000人", "令和8年6月頃",
                     "精算", "12か月"):
        assert expected in text, expected


def test_the_statement_shows_the_charge_beside_its_estimate(db, finance, kumamoto, adopted_policy, settings):
    _budgeted_fy2026(db, finance)
    estimates.issue_estimates(db, finance, 2026, billing_month="2026-06", issued_on=dt.date(2025, 10, 1))
    from billing import operations

    operations.create_cost_item(db, finance, cost_data(fiscal_year=2026, name="クラウド利用料", amount=10_000_000))
    operations.create_cost_item(db, finance, cost_data(fiscal_year=2026, name="基盤構築費", category="build",
                                                       amount=2_000_000))
    run = allocation_runs.create_run(db, finance, 2026)
    allocation_runs.review_run(db, colleague(2), run.id)
    allocation_runs.approve_run(db, colleague(3, "県 財政課長"), run.id, posted_on=dt.date(2026, 6, 1))
    db.commit()
    statement = statements.build_statement(db, _auditor(), "431001", 2026)
    rows = dict(statements._amount_rows(statement))
    assert rows["負担金見込額（デ戦第1号で通知）"] == 1_555_556
    assert rows["負担金額（合計）"] == statement.charged == 1_555_556


def test_no_budget_no_estimate_and_the_billing_month_is_of_the_year(db, finance, kumamoto, adopted_policy, settings):
    with pytest.raises(BillingConflict) as refusal:
        estimates.compute_estimate(db, finance, 2026)
    assert "予算" in refusal.value.message_ja
    _budgeted_fy2026(db, finance)
    with pytest.raises(InvalidBillingData) as refusal:
        estimates.issue_estimates(db, finance, 2026, billing_month="2025-12")
    assert refusal.value.problems[0]["field"] == "billing_month"


def test_the_estimates_page_issues_after_a_confirmation_and_offers_the_letters(client, db, finance, kumamoto,
                                                                            adopted_policy, settings):
    from tests.billing.test_finance_views import as_finance, csrf

    _budgeted_fy2026(db, finance)
    token = as_finance(client, 1)
    page = client.get("/admin/billing/estimates/?fy=2026").get_data(as_text=True)
    assert "負担金見込額" in page and "1,555,556円" in page and "見込額を通知する" in page
    asked = client.post("/admin/billing/estimates/2026/issue", data={"csrf_token": token, "billing_month": "2026-06"})
    assert asked.status_code == 200 and "二度と使われません" in asked.get_data(as_text=True)
    assert db.scalar(sa.text("SELECT count(*) FROM billing_estimate")) == 0  # nothing before confirming
    done = client.post("/admin/billing/estimates/2026/issue", data={
        "csrf_token": csrf(asked.get_data(as_text=True)), "billing_month": "2026-06", "confirmed": "1"})
    assert done.status_code == 302
    page = client.get("/admin/billing/estimates/?fy=2026").get_data(as_text=True)
    assert "デ戦第1号" in page and "第1版" in page
    pdf = client.get("/admin/billing/estimates/2026/letters.pdf")
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")
    # a refused month comes back in words, nothing issued
    bad = client.post("/admin/billing/estimates/2026/issue", data={
        "csrf_token": csrf(page), "billing_month": "2025-12", "confirmed": "1"}, follow_redirects=True)
    assert "令和8年度中の年月" in bad.get_data(as_text=True)
    assert db.scalar(sa.text("SELECT count(*) FROM billing_estimate")) == 3


def test_the_cli_issues_and_writes_the_letters(app, db, finance, kumamoto, adopted_policy, settings, tmp_path):
    _budgeted_fy2026(db, finance)
    runner = app.test_cli_runner()
    shown = runner.invoke(args=["billing", "estimates", "2026", "--as", "tanaka"])
    assert shown.exit_code == 0 and "1,555,556" in shown.output and "not issued" in shown.output
    target = tmp_path / "estimates.pdf"
    issued = runner.invoke(args=["billing", "estimates", "2026", "--issue", "--billing-month", "2026-06",
                                 "-o", str(target), "--as", "tanaka"])
    assert issued.exit_code == 0, issued.output
    assert "デ戦第1号" in issued.output and target.read_bytes().startswith(b"%PDF")
