"""Grants (交付金): the municipalities share what the grants leave, as a finance office reads it.

The worked example is test_ledger_worked_example's FY2025 (12,000,000 yen of costs: 10,000,000 of
running cost and this year's 2,000,000 of an amortised build cost; 県 1/2, then 均等割 1/2 and 人口割
1/2 over 熊本市, 八代市 and 人吉市, who joined on 15 October), now with a 1/2 grant on the running
cost. Worked out by hand: the grant funds 10,000,000 × 1/2 = 5,000,000 yen, so 7,000,000 yen are
shared (負担対象額); the prefecture bears 3,500,000 and the municipalities 3,500,000, each 7/12 of
what it paid without the grant (熊本市 3,075,000 → 1,793,750; 八代市 1,950,000 → 1,137,500;
人吉市 975,000 → 568,750).
"""

from __future__ import annotations

import datetime as dt
from fractions import Fraction

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from billing import allocation, allocation_runs, grants, integrity, ledger, operations, statements
from billing.allocation import Component, CostItem, Grant, Participant, Policy, allocate_costs, apply_grants
from billing.errors import AllocationError
from billing.ledger_errors import BillingConflict, InvalidBillingData
from billing.schemas import GrantCreate, GrantFix

from .conftest import colleague, cost_data
from .test_runs import audit_actions

AUDITOR_ROLES = frozenset({"auditor"})


def grant_data(**fields) -> GrantCreate:
    data = {"fiscal_year": 2025, "name": "新しい地方経済・生活環境創生交付金（デジタル実装型）", "grantor": "内閣府",
            "rate": "1/2", "categories": ["run"], "applied_amount": 6_000_000,
            "decided_amount": 6_000_000, "decided_on": "2025-06-01", **fields}
    return GrantCreate.model_validate(data)


def _year_with_costs(db, finance):
    operations.create_cost_item(db, finance, cost_data(name="クラウド利用料", amount=10_000_000))
    operations.create_cost_item(db, finance, cost_data(name="基盤構築費", category="build", amount=6_000_000,
                                                       amortisation_years=3, tax_treatment="taxable_10"))


def _approve(db, finance, fiscal_year=2025):
    run = allocation_runs.create_run(db, finance, fiscal_year)
    allocation_runs.review_run(db, colleague(2), run.id)
    allocation_runs.approve_run(db, colleague(3, "県 財政課長"), run.id, posted_on=dt.date(2025, 7, 31))
    db.commit()
    return run


def _auditor():
    from core.actor import Actor

    return Actor(issuer="urn:test", subject="auditor-1", name="監査委員", roles=AUDITOR_ROLES)


def test_a_half_grant_on_the_running_cost_halves_what_it_leaves_to_share(db, finance, kumamoto, adopted_policy):
    _year_with_costs(db, finance)
    grant = grants.create_grant(db, finance, grant_data())
    run = _approve(db, finance)

    amounts = {line.tenant_code: line.amount for line in allocation_runs.run_lines(db, run)}
    assert amounts == {"430005": 3_500_000, "431001": 1_793_750, "432024": 1_137_500, "432032": 568_750}
    assert allocation_runs.run_funding(run) == {"cost_total": 12_000_000, "grant_total": 5_000_000}
    assert run.total == 7_000_000
    # the grantor owes what the grant funds; income is the shares and the grant; the ledger balances
    balance = ledger.trial_balance(db, fiscal_year=2025)
    assert balance.row(ledger.grant_receivable(grant.id)).debit == 5_000_000
    assert balance.row(ledger.GRANT_REVENUE).credit == 5_000_000
    assert balance.row("payable").credit == 12_000_000
    assert balance.difference == 0
    assert integrity.check(db, _auditor()).findings == []
    assert audit_actions(db)[:3] == ["billing.policy.create", "billing.policy.adopt", "billing.cost_item.create"]
    assert "billing.grant.create" in audit_actions(db)


def test_the_statement_shows_the_cost_the_grant_and_what_is_shared(db, finance, kumamoto, adopted_policy):
    _year_with_costs(db, finance)
    grants.create_grant(db, finance, grant_data())
    _approve(db, finance)

    statement = statements.build_statement(db, finance, "431001", 2025)
    rows = statements._amount_rows(statement)
    assert rows[:3] == [("事業費", 12_000_000),
                        ("交付金充当額（新しい地方経済・生活環境創生交付金（デジタル実装型）、補助率 1/2）", 5_000_000),
                        ("負担対象額（事業費 − 交付金充当額）", 7_000_000)]
    assert ("負担金額（合計）", 1_793_750) in rows
    page = statements.to_html(statement)
    assert "事業費" in page and "5,000,000円" in page and "7,000,000円" in page


def test_the_decided_amount_caps_the_grant(db, finance, kumamoto, adopted_policy):
    _year_with_costs(db, finance)
    grants.create_grant(db, finance, grant_data(decided_amount=4_000_000))
    run = _approve(db, finance)
    # 1/2 of 10,000,000 would be 5,000,000; the decision gives 4,000,000, so 8,000,000 are shared
    assert allocation_runs.run_funding(run) == {"cost_total": 12_000_000, "grant_total": 4_000_000}
    assert sum(line.amount for line in allocation_runs.run_lines(db, run)) == 8_000_000


def test_one_cost_item_is_funded_by_one_grant_only(db, finance, kumamoto):
    _year_with_costs(db, finance)
    grants.create_grant(db, finance, grant_data())
    with pytest.raises(InvalidBillingData) as refused:
        grants.create_grant(db, finance, grant_data(name="県単独補助金", grantor="熊本県", categories=[],
                                                    item_ids=[item.id for item in operations.list_cost_items(db, finance, 2025)
                                                              if item.category == "run"]))
    assert "複数の交付金" in refused.value.message_ja


def test_a_cost_item_of_another_year_is_refused_with_its_number(db, finance, kumamoto):
    items = operations.create_cost_item(db, finance, cost_data(fiscal_year=2026, amount=1_000))
    with pytest.raises(InvalidBillingData) as refused:
        grants.create_grant(db, finance, grant_data(categories=[], item_ids=[items[0].id]))
    assert f"#{items[0].id}" in refused.value.message_ja and "令和7年度" in refused.value.message_ja


def test_a_posted_year_keeps_its_grants_but_takes_the_fixed_amount(db, finance, kumamoto, adopted_policy):
    _year_with_costs(db, finance)
    grant = grants.create_grant(db, finance, grant_data())
    _approve(db, finance)
    with pytest.raises(BillingConflict):
        grants.update_grant(db, finance, grant.id, grant_data(rate="2/3"))
    with pytest.raises(BillingConflict):
        grants.delete_grant(db, finance, grant.id)
    fixed = grants.fix_grant(db, finance, grant.id, GrantFix(fixed_amount=4_500_000, fixed_on=dt.date(2026, 5, 20)))
    assert fixed.cap == 4_500_000
    assert audit_actions(db)[-1] == "billing.grant.fix"


def test_a_run_computed_before_the_grant_changed_cannot_be_approved(db, finance, kumamoto, adopted_policy):
    _year_with_costs(db, finance)
    grant = grants.create_grant(db, finance, grant_data())
    run = allocation_runs.create_run(db, finance, 2025)
    allocation_runs.review_run(db, colleague(2), run.id)
    grants.update_grant(db, finance, grant.id, grant_data(decided_amount=3_000_000))
    with pytest.raises(BillingConflict) as refused:
        allocation_runs.approve_run(db, colleague(3), run.id)
    assert "交付金が変更されました" in refused.value.message_ja


def test_a_grant_without_costs_or_with_a_zero_rate_is_refused_in_words():
    from pydantic import ValidationError

    with pytest.raises(ValidationError) as no_costs:
        grant_data(categories=[])
    assert "交付対象経費" in str(no_costs.value.errors()[0]["ctx"]["message_ja"])
    with pytest.raises(ValidationError) as zero:
        grant_data(rate="0")
    assert "補助率" in str(zero.value.errors()[0]["ctx"]["message_ja"])


# --- the arithmetic, over random years ------------------------------------------------------------

CATEGORIES = ("build", "run")


@st.composite
def years(draw):
    """Cost items of both categories, grants over disjoint categories or items with caps, a policy
    with or without a prefecture share, and municipalities joining mid-year."""
    costs = [CostItem(id=f"c{index}", amount=draw(st.integers(0, 50_000_000)), category=draw(st.sampled_from(CATEGORIES)))
             for index in range(draw(st.integers(1, 8)))]
    claimed: set[str] = set()
    year_grants = []
    for index in range(draw(st.integers(0, 3))):
        free = [cost.id for cost in costs if cost.id not in claimed]
        item_ids = frozenset(draw(st.lists(st.sampled_from(free), unique=True, max_size=3))) if free else frozenset()
        claimed |= item_ids
        cap = draw(st.one_of(st.none(), st.integers(0, 60_000_000)))
        rate = draw(st.fractions(min_value=Fraction(1, 100), max_value=1, max_denominator=100))
        year_grants.append(Grant(id=f"g{index}", rate=rate, item_ids=item_ids, cap=cap))
    members = [Participant(code=str(431_001 + index * 1_000), population=draw(st.integers(1, 800_000)),
                           months=draw(st.integers(1 if index == 0 else 0, 12)))
               for index in range(draw(st.integers(1, 10)))]
    share = draw(st.one_of(st.none(), st.fractions(min_value=0, max_value=1, max_denominator=100)))
    equal = draw(st.fractions(min_value=0, max_value=1, max_denominator=20))
    policy = Policy(share, (Component("equal", equal), Component("population", 1 - equal)))
    return costs, year_grants, members, policy


@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow], max_examples=200)
@given(years())
def test_shares_grants_and_the_prefecture_add_up_to_the_costs_exactly(year):
    costs, year_grants, members, policy = year
    result = allocate_costs(costs, members, policy, "430005" if policy.prefecture_share is not None else None,
                            year_grants)
    cost_total = sum(cost.amount for cost in costs)
    # Σ shares (the prefecture's line included) + Σ grants = Σ costs, to the yen
    assert sum(line.amount for line in result.lines) + result.grant_total == cost_total == result.cost_total
    for grant, share in zip(year_grants, result.grants):
        eligible = sum(cost.amount for cost in costs if cost.id in grant.item_ids)
        assert share.eligible == eligible
        assert share.amount == min(eligible * grant.rate.numerator // grant.rate.denominator,
                                   grant.cap if grant.cap is not None else eligible)
        assert 0 <= share.amount <= eligible
    # the prefecture's share is taken of what the grants leave
    if policy.prefecture_share is not None:
        exact = (cost_total - result.grant_total) * policy.prefecture_share
        assert abs(result.line("430005").amount - exact) < 1


def test_two_grants_on_one_item_are_refused():
    cost = CostItem(id="c1", amount=1_000, category="run")
    with pytest.raises(AllocationError):
        apply_grants([cost], [Grant(id="a", rate=Fraction(1, 2), categories={"run"}),
                              Grant(id="b", rate=Fraction(1, 3), item_ids={"c1"})])
    assert allocation.apply_grants([cost], [Grant(id="a", rate=Fraction(1, 3), categories={"run"})])[0].amount == 333


# --- the finance office's pages ---------------------------------------------------------------------

def test_finance_enters_a_half_grant_in_a_form_and_the_year_shows_what_is_shared(client, db, finance):
    import sqlalchemy as sa

    from billing.models import Grant
    import re

    from tests.billing.test_finance_views import as_finance, audit_actions as all_actions

    operations.create_cost_item(db, finance, cost_data(name="クラウド利用料", amount=10_000_000))
    operations.create_cost_item(db, finance, cost_data(name="基盤構築費", category="build", amount=2_000_000))
    db.commit()
    token = as_finance(client)
    form = client.get("/admin/billing/grants/new?fy=2025").get_data(as_text=True)
    assert "補助率" in form and "運用費のすべて" in form and "クラウド利用料（10,000,000円）" in form

    # no eligible cost ticked: the form comes back with what was typed and the problem beside the field
    refused = client.post("/admin/billing/grants/new", data={
        "csrf_token": token, "fiscal_year": "2025", "name": "デジタル実装型交付金", "grantor": "内閣府", "rate": "１/２",
        "decided_amount": "6,000,000", "decided_on": "2025-06-01"})
    page = refused.get_data(as_text=True)
    assert refused.status_code == 422
    beside = re.search(r'<div id="categories-error"[^>]*>(.*?)</div>', page, re.S)
    assert beside and "交付対象経費" in beside.group(1)
    assert 'aria-describedby="categories-error"' in page and 'value="デジタル実装型交付金"' in page
    assert db.scalar(sa.select(sa.func.count()).select_from(Grant)) == 0

    saved = client.post("/admin/billing/grants/new", data={
        "csrf_token": token, "fiscal_year": "2025", "name": "デジタル実装型交付金", "grantor": "内閣府", "rate": "１/２",
        "categories": "run", "decided_amount": "6,000,000", "decided_on": "2025-06-01"})
    assert saved.status_code == 302
    assert all_actions(db)[-1] == "billing.grant.create"
    year = client.get("/admin/billing/?fy=2025").get_data(as_text=True)
    funding = year[year.index('id="funding"'):year.index("</table>", year.index('id="funding"'))]
    assert "12,000,000円" in funding and "− 5,000,000円" in funding and "7,000,000円" in funding
    assert "交付決定額 6,000,000円" in funding


def test_finance_enters_and_fixes_a_grant_from_the_command_line(app, db, finance, kumamoto, adopted_policy):
    _year_with_costs(db, finance)
    db.commit()
    runner = app.test_cli_runner()
    refused = runner.invoke(args=["billing", "grant", "2025", "--name", "交付金", "--grantor", "内閣府", "--rate", "1/2",
                                  "--decided", "6000000"])
    assert refused.exit_code == 2 and "交付対象経費" in refused.output
    entered = runner.invoke(args=["billing", "grant", "2025", "--name", "交付金", "--grantor", "内閣府", "--rate", "1/2",
                                  "--category", "run", "--decided", "6000000", "--decided-on", "2025-06-01"])
    assert entered.exit_code == 0, entered.output
    grant_id = entered.output.split("\t")[0].lstrip("#")
    assert "cap 6,000,000" in runner.invoke(args=["billing", "grants", "2025"]).output
    fixed = runner.invoke(args=["billing", "grant-fix", grant_id, "--amount", "4500000", "--on", "2026-05-20"])
    assert fixed.exit_code == 0 and "cap 4,500,000" in fixed.output
    assert audit_actions(db)[-2:] == ["billing.grant.create", "billing.grant.fix"]


def test_reversing_a_run_reverses_what_its_grants_funded_too(db, finance, kumamoto, adopted_policy):
    _year_with_costs(db, finance)
    grant = grants.create_grant(db, finance, grant_data())
    run = _approve(db, finance)
    allocation_runs.reverse_run(db, colleague(3), run.id, "交付決定額の誤り")
    db.commit()
    balance = ledger.trial_balance(db, fiscal_year=2025)
    assert balance.row(ledger.grant_receivable(grant.id)).debit == 0
    assert balance.row(ledger.GRANT_REVENUE).credit == 0
    assert integrity.check(db, _auditor()).findings == []
    # and the year can be computed and posted again
    assert allocation_runs.run_funding(_approve(db, finance)) == {"cost_total": 12_000_000, "grant_total": 5_000_000}
