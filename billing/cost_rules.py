"""The rules a fiscal year's cost items meet whenever one is entered, changed or withdrawn
(:func:`check_cost_rules`, asked by :mod:`billing.operations`):

* seed 001's overhead rule: 一般管理費 at most :data:`OVERHEAD_SHARE` (10 %) of the year's other costs;
* the contract ceiling (委託上限額, tax included) of the year's adopted budget, where set: the year's
  cost items add up to no more than it.

Budgets themselves are :mod:`billing.budgets`; this module reads them only.
"""

from __future__ import annotations

from fractions import Fraction

import sqlalchemy as sa
from sqlalchemy.orm import Session

from billing.ledger_errors import InvalidBillingData
from billing.models import Budget, BudgetStatus, CostCategory, CostItem
from core.calendar import fiscal_year_ja

OVERHEAD_SHARE = Fraction(1, 10)
"""Seed 001: 一般管理費 is at most 10 % of the other costs."""


def adopted_budget(session: Session, fiscal_year: int) -> Budget | None:
    """The year's budget version the council adopted (None: none yet)."""
    return session.scalars(sa.select(Budget).where(Budget.fiscal_year == fiscal_year,
                                                   Budget.status == BudgetStatus.adopted)).one_or_none()


def year_cost_sums(session: Session, fiscal_year: int) -> dict[str, int]:
    rows = session.execute(sa.select(CostItem.category, sa.func.sum(CostItem.amount))
                           .where(CostItem.fiscal_year == fiscal_year).group_by(CostItem.category)).all()
    return {CostCategory(category).value: int(total or 0) for category, total in rows}


def check_cost_rules(session: Session, fiscal_year: int) -> None:
    """The year's cost items as they now stand meet the overhead rule and the adopted budget's
    contract ceiling; refused in words otherwise (the caller's transaction then rolls back)."""
    sums = year_cost_sums(session, fiscal_year)
    overhead = sums.get(CostCategory.overhead.value, 0)
    others = sum(amount for category, amount in sums.items() if category != CostCategory.overhead.value)
    era = fiscal_year_ja(fiscal_year)
    if overhead > others * OVERHEAD_SHARE:
        limit = others * OVERHEAD_SHARE
        raise InvalidBillingData(
            f"FY{fiscal_year}'s overhead would be {overhead:,} yen, more than 10 % of the other costs "
            f"({others:,} yen: at most {int(limit):,} yen).",
            f"{era}の一般管理費が {overhead:,}円 になり、その他の経費（{others:,}円）の10%（{int(limit):,}円）を超えます。",
            problems=[{"field": "amount", "message_en": f"Overhead is at most {int(limit):,} yen this year.",
                       "message_ja": f"この年度の一般管理費は {int(limit):,}円 までです（その他の経費の10%）。"}])
    budget = adopted_budget(session, fiscal_year)
    total = overhead + others
    if budget is not None and budget.contract_ceiling is not None and total > budget.contract_ceiling:
        raise InvalidBillingData(
            f"FY{fiscal_year}'s cost items would add up to {total:,} yen, above the contract ceiling of "
            f"{budget.contract_ceiling:,} yen (budget version {budget.version}).",
            f"{era}の費目の合計が {total:,}円 になり、委託上限額 {budget.contract_ceiling:,}円"
            f"（予算 第{budget.version}版）を超えます。",
            problems=[{"field": "amount", "message_en": f"The ceiling is {budget.contract_ceiling:,} yen (tax included).",
                       "message_ja": f"委託上限額は {budget.contract_ceiling:,}円（税込）です。"}])
