"""What cost sharing needs from someone now (the home pages): runs waiting for a review or an
approval, statements not fully paid, the latest year's cost items, and a tenant's own statements.

Each read authorises itself and runs a bounded number of aggregate queries, whatever the number of
tenants, runs or entries.
"""

from __future__ import annotations

import dataclasses

import sqlalchemy as sa
from sqlalchemy.orm import Session

from billing import ledger
from billing.models import AllocationRun, AllocationRunLine, CostItem, RunStatus
from billing.operations import require_all_tenants
from core import authz
from core.actor import Actor
from tenancy.registry.models import Tenant

WAITING_STATUSES = (RunStatus.computed, RunStatus.reviewed)


@dataclasses.dataclass(frozen=True)
class UnpaidStatement:
    tenant_code: str
    tenant_name: str
    fiscal_year: int
    balance: int  # yen still owed on that year's statement


@dataclasses.dataclass(frozen=True)
class CostYear:
    fiscal_year: int
    items: int
    total: int


@dataclasses.dataclass(frozen=True)
class OwnStatement:
    fiscal_year: int
    amount: int  # the tenant's share in the year's posted run
    balance: int  # what is still owed for that year


def runs_waiting(session: Session, actor: Actor) -> list[AllocationRun]:
    """Runs computed but not reviewed, or reviewed but not approved (every tenant's shares: all-tenants read)."""
    require_all_tenants(actor)
    return list(session.scalars(sa.select(AllocationRun).where(AllocationRun.status.in_(WAITING_STATUSES))
                                .order_by(AllocationRun.fiscal_year, AllocationRun.id)))


def unpaid_statements(session: Session, actor: Actor) -> list[UnpaidStatement]:
    """Every (tenant, fiscal year) whose receivable still shows a balance owed, by year then code, in one query."""
    require_all_tenants(actor)
    balances = ledger.receivable_balances().subquery()
    rows = session.execute(
        sa.select(balances.c.tenant_code, Tenant.name_ja, balances.c.fiscal_year, balances.c.balance)
        .outerjoin(Tenant, Tenant.code == balances.c.tenant_code)
        .where(balances.c.balance > 0).order_by(balances.c.fiscal_year, balances.c.tenant_code))
    return [UnpaidStatement(code, name or "", int(year), int(balance)) for code, name, year, balance in rows]


def unpaid_statements_shown(session: Session, actor: Actor, shown: int, offset: int = 0) -> tuple[list[UnpaidStatement], int]:
    """``shown`` of :func:`unpaid_statements` (same order) from ``offset``, and how many there are in
    all, in one query: only the rows shown are loaded, whatever the number of tenants. The home page's
    figure and the finance page's list of them (a page at a time) are this one read."""
    require_all_tenants(actor)
    balances = ledger.receivable_balances().subquery()
    owed = (sa.select(balances.c.tenant_code, balances.c.fiscal_year, balances.c.balance)
            .where(balances.c.balance > 0).subquery())
    rows = session.execute(
        sa.select(owed.c.tenant_code, Tenant.name_ja, owed.c.fiscal_year, owed.c.balance,
                  sa.func.count().over().label("total"))
        .outerjoin(Tenant, Tenant.code == owed.c.tenant_code)
        .order_by(owed.c.fiscal_year, owed.c.tenant_code).offset(offset).limit(shown)).all()
    total = int(rows[0].total) if rows else 0
    if not rows and offset:  # a page past the end: the count alone
        total = int(session.scalar(sa.select(sa.func.count()).select_from(owed)) or 0)
    return [UnpaidStatement(code, name or "", int(year), int(balance)) for code, name, year, balance, _total in rows], total


@dataclasses.dataclass(frozen=True)
class OutstandingYear:
    fiscal_year: int
    statements: int  # statements of that year not fully paid
    owed: int  # yen still owed on them


def outstanding_by_year(session: Session, actor: Actor) -> list[OutstandingYear]:
    """:func:`unpaid_statements` summed per fiscal year (oldest first), in one grouped query: the same
    balances and the same rule (a balance above zero), so the years add up to that list."""
    require_all_tenants(actor)
    balances = ledger.receivable_balances().subquery()
    rows = session.execute(
        sa.select(balances.c.fiscal_year, sa.func.count(), sa.func.sum(balances.c.balance))
        .where(balances.c.balance > 0).group_by(balances.c.fiscal_year).order_by(balances.c.fiscal_year))
    return [OutstandingYear(int(year), int(count), int(owed or 0)) for year, count, owed in rows]


def latest_cost_year(session: Session, actor: Actor) -> CostYear | None:
    """The latest fiscal year that has cost items: how many and their total (all-tenants read)."""
    require_all_tenants(actor)
    latest = sa.select(sa.func.max(CostItem.fiscal_year)).scalar_subquery()
    row = session.execute(sa.select(CostItem.fiscal_year, sa.func.count(CostItem.id), sa.func.sum(CostItem.amount))
                          .where(CostItem.fiscal_year == latest).group_by(CostItem.fiscal_year)).first()
    return None if row is None else CostYear(int(row[0]), int(row[1]), int(row[2] or 0))


def own_statements(session: Session, actor: Actor, tenant_code: str) -> list[OwnStatement]:
    """The tenant's statements (a posted run with a line for it), newest year first, with what is
    still owed; ``billing.read`` on that tenant. Two queries."""
    authz.authorize(actor, "billing.read", tenant_code)
    lines = session.execute(
        sa.select(AllocationRun.fiscal_year, AllocationRunLine.amount)
        .join(AllocationRunLine, AllocationRunLine.run_id == AllocationRun.id)
        .where(AllocationRun.status == RunStatus.approved, AllocationRunLine.tenant_code == tenant_code)
        .order_by(AllocationRun.fiscal_year.desc())).all()
    if not lines:
        return []
    owed = {int(year): int(balance) for _code, year, balance in session.execute(ledger.receivable_balances([tenant_code]))}
    return [OwnStatement(int(year), int(amount), owed.get(int(year), 0)) for year, amount in lines]
