"""Budgets (予算): drafted by finance, adopted by the council, revised (補正) as new versions, and the
rules a year's cost items meet (seed 001's overhead rule, the contract ceiling), with the 予実."""

from __future__ import annotations

import datetime as dt
import io

import pytest
import sqlalchemy as sa
from openpyxl import load_workbook

from billing import budgets, grants, operations
from billing.ledger_errors import BillingConflict, InvalidBillingData
from billing.models import Budget, BudgetStatus, CostItem
from billing.schemas import BudgetCreate, GrantCreate
from core.audit import AuditRecord

from .conftest import cost_data


def budget_data(**fields) -> BudgetCreate:
    return BudgetCreate.model_validate({"fiscal_year": 2026, "amounts": {"build": 2_000_000, "run": 10_000_000,
                                                                         "overhead": 1_000_000}, **fields})


def council_adopts(db, operator, tenant_factory, budget_id: int):
    """The council votes on adopting the budget version (熊本市 and 八代市 for) and closes the vote."""
    from governance import council
    from governance.models import VoteChoice
    from governance.schemas import ProposalCreate
    from tests.governance.test_governance_read_permissions import KUMAMOTO_ADMIN, YATSUSHIRO_ADMIN

    for code in ("431001", "432024"):
        if not db.scalar(sa.text("SELECT count(*) FROM tenant WHERE code = :c"), {"c": code}):
            tenant_factory(code)
    closes_at = dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=10)
    proposal = council.propose(db, operator, ProposalCreate(title="令和8年度予算", closes_at=closes_at,
                                                            change_type="adopt_budget", params={"budget_id": budget_id}))
    council.cast_vote(db, KUMAMOTO_ADMIN, proposal.id, VoteChoice.for_)
    council.cast_vote(db, YATSUSHIRO_ADMIN, proposal.id, VoteChoice.for_)
    resolution = council.close_proposal(db, operator, proposal.id)
    db.commit()
    return resolution


def test_the_council_adopts_a_budget_and_a_revision_supersedes_it(db, finance, operator, tenant_factory):
    first = budgets.draft_budget(db, finance, budget_data())
    db.commit()
    assert BudgetStatus(first.status) == BudgetStatus.draft and first.version == 1
    resolution = council_adopts(db, operator, tenant_factory, first.id)
    db.expire_all()
    assert budgets.adopted_budget(db, 2026).id == first.id
    assert first.resolution_ref == resolution.ref and resolution.enacted_ref == f"budget:{first.id}"

    with pytest.raises(InvalidBillingData) as no_reason:
        budgets.draft_budget(db, finance, budget_data(amounts={"run": 12_000_000}))
    assert "補正の理由" in no_reason.value.message_ja
    revision = budgets.draft_budget(db, finance, budget_data(amounts={"build": 2_000_000, "run": 12_000_000},
                                                             reason="クラウド利用料の増額（9月補正）"))
    db.commit()
    council_adopts(db, operator, tenant_factory, revision.id)
    db.expire_all()
    assert [(b.version, BudgetStatus(b.status)) for b in db.scalars(sa.select(Budget).order_by(Budget.version))] == [
        (1, BudgetStatus.superseded), (2, BudgetStatus.adopted)]
    # the first version is kept as it was: never overwritten
    assert budgets.budget_lines(db, first) == {"build": 2_000_000, "run": 10_000_000, "overhead": 1_000_000}
    assert budgets.budget_lines(db, revision) == {"build": 2_000_000, "run": 12_000_000}
    actions = list(db.scalars(sa.select(AuditRecord.action).order_by(AuditRecord.seq)))
    assert actions.count("billing.budget.draft") == 2


def test_only_a_draft_can_be_put_to_the_council(db, finance, operator, tenant_factory):
    budget = budgets.draft_budget(db, finance, budget_data())
    db.commit()
    council_adopts(db, operator, tenant_factory, budget.id)
    with pytest.raises(BillingConflict):
        budgets.check_adoptable(db, budget.id)


def test_overhead_above_ten_percent_of_the_other_costs_is_refused_in_words(db, finance):
    operations.create_cost_item(db, finance, cost_data(fiscal_year=2026, name="クラウド利用料", amount=10_000_000))
    operations.create_cost_item(db, finance, cost_data(fiscal_year=2026, name="事務局運営費", category="overhead",
                                                       amount=1_000_000))
    db.commit()
    with pytest.raises(InvalidBillingData) as refused:
        operations.create_cost_item(db, finance, cost_data(fiscal_year=2026, name="管理費の追加", category="overhead",
                                                           amount=1))
    db.rollback()
    assert "一般管理費が 1,000,001円" in refused.value.message_ja and "1,000,000円" in refused.value.message_ja
    # withdrawing the running cost would leave the overhead above the rule: refused as well
    cloud = db.scalars(sa.select(CostItem).where(CostItem.name == "クラウド利用料")).one()
    with pytest.raises(InvalidBillingData):
        operations.delete_cost_item(db, finance, cloud.id)
    db.rollback()
    assert db.scalar(sa.select(sa.func.count()).select_from(CostItem)) == 2


def test_the_adopted_budgets_contract_ceiling_caps_the_years_costs(db, finance, operator, tenant_factory):
    budget = budgets.draft_budget(db, finance, budget_data(contract_ceiling=11_000_000))
    db.commit()
    council_adopts(db, operator, tenant_factory, budget.id)
    operations.create_cost_item(db, finance, cost_data(fiscal_year=2026, amount=11_000_000))
    db.commit()
    with pytest.raises(InvalidBillingData) as refused:
        operations.create_cost_item(db, finance, cost_data(fiscal_year=2026, name="保守費", amount=1))
    assert "委託上限額 11,000,000円" in refused.value.message_ja


def test_the_budget_against_actual_per_category(db, finance, operator, tenant_factory):
    budget = budgets.draft_budget(db, finance, budget_data())
    db.commit()
    council_adopts(db, operator, tenant_factory, budget.id)
    operations.create_cost_item(db, finance, cost_data(fiscal_year=2026, name="クラウド利用料", amount=9_000_000))
    operations.create_cost_item(db, finance, cost_data(fiscal_year=2026, name="基盤構築費", category="build",
                                                       amount=2_500_000))
    grants.create_grant(db, finance, GrantCreate.model_validate({
        "fiscal_year": 2026, "name": "交付金", "grantor": "内閣府", "rate": "1/2", "categories": ["run", "build"]}))
    db.commit()

    report = budgets.budget_actual(db, finance, 2026)
    by_category = {row.category: (row.budget, row.committed, row.booked, row.grant, row.difference) for row in report.rows}
    # the grant funds 1/2 of 11,500,000 = 5,750,000, split over the categories it covers: 4,500,000 and 1,250,000
    assert by_category == {"build": (2_000_000, 2_500_000, 0, 1_250_000, -500_000),
                           "run": (10_000_000, 9_000_000, 0, 4_500_000, 1_000_000),
                           "overhead": (1_000_000, 0, 0, 0, 1_000_000)}
    sheet = load_workbook(io.BytesIO(budgets.budget_actual_xlsx(report))).active
    assert sheet["A1"].value.startswith("令和8年度 予算執行状況（予実）（予算 第1版）")
    assert [cell.value for cell in sheet[3]] == ["構築費", 2_000_000, 2_500_000, 0, 1_250_000, -500_000]
    assert [cell.value for cell in sheet[6]] == ["合計", 13_000_000, 11_500_000, 0, 5_750_000, 1_500_000]


def test_finance_drafts_a_budget_on_its_page_and_sees_the_budget_against_actual(client, db, finance):
    import re

    from tests.billing.test_finance_views import as_finance

    operations.create_cost_item(db, finance, cost_data(fiscal_year=2026, name="クラウド利用料", amount=9_000_000))
    db.commit()
    token = as_finance(client)
    page = client.get("/admin/billing/budget/?fy=2026").get_data(as_text=True)
    assert "予実" in page and "9,000,000円" in page and "この年度の予算はまだ議決されていません" in page
    saved = client.post("/admin/billing/budget/new", data={"csrf_token": token, "fiscal_year": "2026",
                                                          "run": "１０,０００,０００", "overhead": "900,000"})
    assert saved.status_code == 302
    revision = client.post("/admin/billing/budget/new", data={"csrf_token": token, "fiscal_year": "2026",
                                                             "run": "12,000,000"})
    shown = revision.get_data(as_text=True)
    assert revision.status_code == 422 and "補正の理由を入力してください" in shown
    assert re.search(r'<div id="reason-error"[^>]*>', shown) and 'value="12,000,000"' in shown
    versions = client.get("/admin/billing/budget/?fy=2026").get_data(as_text=True)
    assert "第1版" in versions and "運用費 10,000,000円" in versions
    workbook = client.get("/admin/billing/budget/2026.xlsx")
    assert workbook.status_code == 200 and workbook.data[:2] == b"PK"


def test_finance_drafts_a_budget_and_reads_the_budget_against_actual_from_the_command_line(app, db, finance):
    operations.create_cost_item(db, finance, cost_data(fiscal_year=2026, name="クラウド利用料", amount=9_000_000))
    db.commit()
    runner = app.test_cli_runner()
    drafted = runner.invoke(args=["billing", "budget", "2026", "--run", "10000000", "--overhead", "900000"])
    assert drafted.exit_code == 0 and "version 1" in drafted.output and "total 10,900,000" in drafted.output
    refused = runner.invoke(args=["billing", "budget", "2026", "--run", "12000000"])
    assert refused.exit_code == 2 and "補正の理由" in refused.output
    actual = runner.invoke(args=["billing", "budget-actual", "2026"])
    assert actual.exit_code == 0 and "運用費,0,9000000,0,0,-9000000" in actual.output  # not adopted yet: budget 0


def test_the_operator_puts_a_drafted_budget_to_the_council_from_its_page(client, db, finance, tenant_factory):
    import re

    from billing.models import BudgetStatus as Status
    from governance.models import CouncilProposal
    from tests.conftest import sign_in

    for code in ("431001", "432024"):  # the council's members
        tenant_factory(code)
    budget = budgets.draft_budget(db, finance, budget_data())
    db.commit()
    sign_in(client, ["platform-operator"])
    page = client.get("/admin/billing/budget/?fy=2026").get_data(as_text=True)
    assert f'id="title-budget-{budget.id}"' in page and "令和8年度予算（第1版）の議決" in page
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    sent = client.post(f"/admin/billing/budget/{budget.id}/propose",
                       data={"csrf_token": token, "title": "令和8年度予算の議決", "closes_on": "2099-04-30"})
    assert sent.status_code == 302 and "/council/" in sent.headers["Location"]
    proposal = db.scalars(sa.select(CouncilProposal)).one()
    assert proposal.change_type == "adopt_budget" and f'"budget_id": {budget.id}' in proposal.change_params
    assert Status(db.get(Budget, budget.id).status) == Status.draft  # adopted only when the council decides
