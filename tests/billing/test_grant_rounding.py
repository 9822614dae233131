"""A grant rounded as its 交付要綱 says (issue 52, item 5).

Worked by hand: a 1/2 grant on 7,654,321 yen of running cost gives 3,827,160.5 yen; 千円未満切捨て
makes it 3,827,000 yen, so 3,827,321 yen are shared (負担対象額). Every document — the 負担金見込額
letter, the 概算 納入通知書 and the 精算書 — shows 3,827,000 yen, the figure of the grantor's notice, and
the payers' shares still add up exactly to what the grant leaves.
"""

from __future__ import annotations

import datetime as dt
from fractions import Fraction

import pytest

from billing import allocation_runs, budgets, documents, estimates, grants, operations, statements
from billing.allocation import CostItem, Grant, apply_grants
from billing.errors import AllocationError
from billing.ledger_errors import InvalidBillingData
from billing.models import RunKind
from billing.schemas import BudgetCreate, GrantFix

from .conftest import colleague, cost_data
from .test_grants import grant_data
from .test_statement_documents import pdf_text, settings  # noqa: F401  (settings: the issuer)

COST = 7_654_321
ROUNDED = 3_827_000


def _post(db, run, on):
    allocation_runs.review_run(db, colleague(2), run.id)
    allocation_runs.approve_run(db, colleague(3, "県 財政課長"), run.id, posted_on=on)
    db.commit()
    return run


def test_thousand_yen_rounding_takes_off_what_is_below_a_thousand():
    costs = [CostItem("run", COST, "run")]
    to_the_yen, by_thousands = apply_grants(costs, [Grant("a", Fraction(1, 2), frozenset({"run"}))]), apply_grants(
        costs, [Grant("a", Fraction(1, 2), frozenset({"run"}), unit=1000)])
    assert to_the_yen[0].amount == 3_827_160
    assert by_thousands[0].amount == ROUNDED


def test_an_authoritative_fixed_amount_is_what_the_grant_funds_never_above_its_costs():
    costs = [CostItem("run", COST, "run")]
    notice = Grant("a", Fraction(1, 2), frozenset({"run"}), cap=3_826_500, unit=1000, exact=3_826_500)
    assert apply_grants(costs, [notice])[0].amount == 3_826_500
    with pytest.raises(AllocationError) as refused:
        apply_grants(costs, [Grant("a", Fraction(1, 2), frozenset({"run"}), exact=COST + 1)])
    assert "交付対象経費" in refused.value.message_ja


def test_every_letter_shows_the_grant_as_the_grantors_notice_and_the_shares_add_up(
        db, finance, kumamoto, adopted_policy, settings, tmp_path):
    rounded = {"rounding": "thousand", "decided_amount": 4_000_000, "applied_amount": 4_000_000}
    # the 負担金見込額 of the next year, from its budget
    budgets.draft_budget(db, finance, BudgetCreate.model_validate({"fiscal_year": 2026, "amounts": {"run": COST}}))
    grants.create_grant(db, finance, grant_data(fiscal_year=2026, **rounded))
    estimate = estimates.compute_estimate(db, finance, 2026)
    assert estimate.assumptions["grant_total"] == ROUNDED
    assert estimate.assumptions["shared_total"] == COST - ROUNDED
    issued = estimates.issue_estimates(db, finance, 2026, billing_month="2026-06", issued_on=dt.date(2025, 10, 1))
    db.commit()
    assert f"{ROUNDED:,}円" in pdf_text(estimates.estimates_pdf(db, finance, issued[:1]), tmp_path)

    # the year charged by a 概算 run, its 納入通知書; a build cost the grant does not cover
    operations.create_cost_item(db, finance, cost_data(name="クラウド利用料", amount=COST))
    [build] = operations.create_cost_item(db, finance, cost_data(name="画面改修", category="build", amount=1_000_000))
    grant = grants.create_grant(db, finance, grant_data(**rounded, fixed_amount_authoritative=True))
    assert grants.grant_summary(grant)["rounding_ja"] == "千円未満切捨て"
    provisional = _post(db, allocation_runs.create_run(db, finance, 2025, kind=RunKind.provisional), dt.date(2025, 7, 31))
    assert allocation_runs.run_funding(provisional) == {"cost_total": COST + 1_000_000, "grant_total": ROUNDED}
    lines = allocation_runs.run_lines(db, provisional)
    assert sum(line.amount for line in lines) == provisional.total == COST + 1_000_000 - ROUNDED
    documents.issue_documents(db, finance, provisional.id, issued_on=dt.date(2025, 8, 1))
    db.commit()
    notice = pdf_text(documents.letters_pdf(db, finance, [documents.issued_letter(db, finance, "431001", 2025)]), tmp_path)
    assert f"{ROUNDED:,}円" in notice and f"{COST + 1_000_000 - ROUNDED:,}円" in notice

    # the build cost came in at 1,200,000 yen; the grantor's notice of the fixed amount says 3,827,000 yen:
    # the 精算書 shows the same figure, and the differences add up to the 200,000 yen more to share
    operations.update_cost_item(db, finance, build.id, cost_data(name="画面改修", category="build", amount=1_200_000))
    grants.fix_grant(db, finance, grant.id, GrantFix(fixed_amount=ROUNDED, fixed_on=dt.date(2026, 5, 20)))
    settlement = _post(db, allocation_runs.create_settlement(db, finance, 2025), dt.date(2026, 5, 25))
    assert sum(line.amount for line in allocation_runs.run_lines(db, settlement)) == settlement.total == 200_000
    documents.issue_documents(db, finance, settlement.id, issued_on=dt.date(2026, 6, 1))
    db.commit()
    [found] = [found for found in documents.run_letters(db, finance, settlement.id)
               if found.statement.tenant_code == "431001"]
    assert found.is_settlement
    assert dict(statements.funding_rows(found.statement))["負担対象額（事業費 − 交付金充当額）"] == COST + 1_200_000 - ROUNDED
    assert f"{ROUNDED:,}円" in pdf_text(documents.letters_pdf(db, finance, [found]), tmp_path)


def test_a_fixed_amount_above_the_eligible_costs_is_refused_where_the_notice_decides(db, finance, kumamoto):
    operations.create_cost_item(db, finance, cost_data(name="クラウド利用料", amount=COST))
    grant = grants.create_grant(db, finance, grant_data(rounding="thousand", fixed_amount_authoritative=True))
    with pytest.raises(InvalidBillingData) as refused:
        grants.fix_grant(db, finance, grant.id, GrantFix(fixed_amount=COST + 1, fixed_on=dt.date(2026, 5, 20)))
    assert refused.value.problems[0]["field"] == "fixed_amount"


def test_the_rounding_is_a_choice_in_words_and_defaults_to_the_yen(client, db, finance):
    from tests.billing.test_finance_views import as_finance

    as_finance(client)
    form = client.get("/admin/billing/grants/new?fy=2025").get_data(as_text=True)
    assert '<option selected value="yen">1円単位</option>' in form
    assert '<option value="thousand">千円未満切捨て</option>' in form
    assert ">thousand<" not in form and ">yen<" not in form
    assert grant_data().rounding.value == "yen" and grant_data().fixed_amount_authoritative is False


def test_the_api_takes_the_rounding_and_says_it_in_words(client, db, user_factory):
    headers = user_factory(("finance-officer",))[1]
    created = client.post("/api/v1/billing/grants", headers=headers, json={
        **grant_data().model_dump(mode="json", exclude={"decided_on", "decided_amount"}), "rounding": "thousand"})
    assert created.status_code == 201, created.get_data(as_text=True)
    body = created.get_json()
    assert (body["rounding"], body["rounding_ja"], body["fixed_amount_authoritative"]) == ("thousand", "千円未満切捨て", False)
    refused = client.post("/api/v1/billing/grants", headers=headers, json={
        **grant_data().model_dump(mode="json", exclude={"decided_on", "decided_amount"}), "name": "別", "rounding": "10yen"})
    assert refused.status_code == 422 and refused.mimetype == "application/problem+json"
    assert "rounding" in refused.get_data(as_text=True)


def test_the_rounding_of_a_grant_can_be_changed_before_its_year_is_posted(db, finance, kumamoto):
    operations.create_cost_item(db, finance, cost_data(name="クラウド利用料", amount=COST))
    grant = grants.create_grant(db, finance, grant_data())
    db.commit()
    assert grants.year_funding(db, finance, 2025).grant_total == 3_827_160
    grants.update_grant(db, finance, grant.id, grant_data(rounding="thousand", fixed_amount_authoritative=True))
    db.commit()  # on PostgreSQL as the application role: its rights cover the new columns
    assert grants.year_funding(db, finance, 2025).grant_total == ROUNDED
    summary = grants.grant_summary(grants.get_grant(db, grant.id))
    assert (summary["rounding_ja"], summary["fixed_amount_authoritative"]) == ("千円未満切捨て", True)
