"""Fixtures of the billing database tests: a finance officer, Kumamoto tenants, a policy."""

from __future__ import annotations

import datetime as dt

import pytest

from billing import allocation_policies, allocation_runs, operations
from core.actor import Actor
from core.calendar import JST


@pytest.fixture
def finance() -> Actor:
    return Actor(issuer="urn:test", subject="finance-1", name="県 財政担当", roles=frozenset({"finance-officer"}))


def colleague(number: int, name: str = "県 財政担当（確認）") -> Actor:
    """Another finance officer: four eyes need a second (and third) person to review and approve."""
    return Actor(issuer="urn:test", subject=f"finance-{number}", name=name, roles=frozenset({"finance-officer"}))


@pytest.fixture
def kumamoto(db, tenant_factory, operator):
    """熊本県 (prefecture), 熊本市 and 八代市 active all year, 人吉市 active from 15 October 2025.

    Populations are round numbers chosen so that the shares can be worked out by hand.
    """
    from tenancy.registry.history import record_transition
    from tenancy.registry.models import TenantStatus

    tenants = {
        "430005": tenant_factory("430005"),
        "431001": tenant_factory("431001", population=500_000),
        "432024": tenant_factory("432024", population=200_000),
        "432032": tenant_factory("432032", population=200_000, status="approved"),
    }
    record_transition(db, operator, tenants["432032"], TenantStatus.active, reason="joined in the second wave",
                      at=dt.datetime(2025, 10, 15, 10, 0, tzinfo=JST))
    db.commit()
    return tenants


def policy_data(**fields):
    from billing.schemas import PolicyCreate

    data = {
        "name": "共同利用負担金の按分",
        "prefecture_share": "1/2",
        "components": [{"basis": "equal", "weight": "1/2"}, {"basis": "population", "weight": "1/2"}],
        **fields,
    }
    return PolicyCreate.model_validate(data)


def cost_data(**fields):
    from billing.schemas import CostItemCreate

    data = {"fiscal_year": 2025, "name": "クラウド利用料", "category": "run", "amount": 7_600_000,
            "tax_treatment": "taxable_10", "vendor": "クラウド事業者", "reference": "INV-2025-001", **fields}
    return CostItemCreate.model_validate(data)


ADOPTER_NUMBER = 4


def adopter() -> Actor:
    """The finance officer who adopts the policies the fixtures draft (four eyes: not the drafter)."""
    return colleague(ADOPTER_NUMBER, "県 財政課長")


@pytest.fixture
def adopted_policy(db, finance):

    policy = allocation_policies.create_policy(db, finance, policy_data())
    allocation_policies.adopt_policy(db, adopter(), policy.id)
    db.commit()
    return policy


@pytest.fixture
def posted_fy2025(db, finance, kumamoto, adopted_policy):
    """FY2025 with 12,000,000 yen of costs, approved on 31 July 2025; 八代市 has paid 1,000,000 yen.

    Shares (worked out in test_ledger_worked_example): 県 6,000,000; 熊本市 3,075,000
    (均等割 1,200,000 + 人口割 1,875,000); 八代市 1,950,000 (1,200,000 + 750,000); 人吉市 975,000.
    """
    operations.create_cost_item(db, finance, cost_data(name="クラウド利用料", amount=10_000_000))
    operations.create_cost_item(db, finance, cost_data(name="基盤構築費", category="build", amount=6_000_000,
                                                       amortisation_years=3, tax_treatment="taxable_10"))
    run = allocation_runs.create_run(db, finance, 2025)
    allocation_runs.review_run(db, colleague(2), run.id)
    allocation_runs.approve_run(db, colleague(3, "県 財政課長"), run.id, posted_on=dt.date(2025, 7, 31))
    pay_from_bank(db, finance, "432024", 2025, 1_000_000, dt.date(2025, 9, 1), "ﾔﾂｼﾛｼ")
    db.commit()
    return run


def pay_from_bank(db, finance, tenant_code: str, fiscal_year: int, amount: int, day: dt.date, payer: str):
    """A payment as finance records it: the bank's CSV line imported and confirmed for the statement."""
    from billing import bank_reconciliation

    raw = f"日付,金額,振込依頼人,参照\n{day.isoformat()},{amount},{payer},\n".encode()
    line = bank_reconciliation.import_bank_file(db, finance, raw, "bank.csv").lines[0]
    return bank_reconciliation.confirm_line(db, finance, line.id, tenant_code, fiscal_year)


def make_reviewed_run(db, tenant_factory, finance):
    """A reviewed FY2025 run of 12,000,000 yen over 熊本県, 熊本市 and 八代市, computed by ``finance``
    under an adopted policy and reviewed by a colleague: what approve, reverse and discard act on."""
    for code in ("430005", "431001", "432024"):
        tenant_factory(code)
    policy = allocation_policies.create_policy(db, finance, policy_data())
    allocation_policies.adopt_policy(db, adopter(), policy.id)
    operations.create_cost_item(db, finance, cost_data(amount=12_000_000))
    run = allocation_runs.create_run(db, finance, 2025)
    allocation_runs.review_run(db, colleague(2), run.id)
    db.commit()
    return run


@pytest.fixture
def resolution(db, operator, tenant_factory):
    """A council resolution: a proposal voted on by 熊本市 (against) and 八代市 (for), then closed."""
    from governance import council
    from governance.models import VoteChoice
    from governance.schemas import ProposalCreate
    from tests.governance.test_governance_read_permissions import KUMAMOTO_ADMIN, YATSUSHIRO_ADMIN

    for code in ("431001", "432024"):
        tenant_factory(code)
    closes_at = dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=10)
    proposal = council.propose(db, operator, ProposalCreate(title="定例議案", closes_at=closes_at))
    council.cast_vote(db, KUMAMOTO_ADMIN, proposal.id, VoteChoice.against)
    council.cast_vote(db, YATSUSHIRO_ADMIN, proposal.id, VoteChoice.for_)
    resolution = council.close_proposal(db, operator, proposal.id)
    db.commit()
    return resolution
