"""Use cases of budgets (予算) and the rules a cost item meets against them. The conventions of every
billing operation are stated in :mod:`billing.operations`.

A fiscal year's budget is an amount per cost category and, where set, the contract ceiling
(委託上限額, tax included). Versions are never edited: the finance office drafts a version, the
council adopts it (change type ``adopt_budget``, enacted through :mod:`admin.wiring`), and a
revision (補正) is a new version with its reason that supersedes the adopted one when the council
adopts it in turn.

The rules a cost item meets against the budget (seed 001's overhead rule, the adopted budget's
contract ceiling) are :mod:`billing.cost_rules`, which :mod:`billing.operations` asks.

:func:`budget_actual` is the year's 予実: budget, committed (cost items entered), booked (the cost
accounts of the ledger), grant and the difference, per category.
"""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from fractions import Fraction
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from billing import allocation, ledger
from billing.ledger_errors import BillingConflict, BillingNotFound, InvalidBillingData
from billing.models import (Account, Budget, BudgetLine, BudgetStatus,
                            CostCategory, CostItem, EntryStatus, JournalEntry, Posting)
from billing.cost_rules import adopted_budget, year_cost_sums
from billing.schemas import BudgetCreate
from core import audit, authz
from core.actor import Actor
from core.calendar import fiscal_year_ja
from core.db import utcnow
from core.lifecycle import Lifecycle, Move

BUDGETS = Lifecycle("予算", "budget", BudgetStatus,
                    {status: (status.ja, status.value) for status in BudgetStatus}, (
    Move("adopt", frozenset({BudgetStatus.draft}), BudgetStatus.adopted, "議決", "adopt", grant="council.manage"),
    Move("supersede", frozenset({BudgetStatus.adopted}), BudgetStatus.superseded, "補正による改定", "supersede"),
), initial=(BudgetStatus.draft,))
"""A budget version's lifecycle: drafted, adopted by the council, superseded by a later revision."""


def budget_lines(session: Session, budget: Budget) -> dict[str, int]:
    rows = session.scalars(sa.select(BudgetLine).where(BudgetLine.budget_id == budget.id))
    amounts = {CostCategory(line.category).value: line.amount for line in rows}
    return {category.value: amounts[category.value] for category in CostCategory if category.value in amounts}


def budget_summary(session: Session, budget: Budget) -> dict[str, Any]:
    amounts = budget_lines(session, budget)
    return {
        "id": budget.id, "fiscal_year": budget.fiscal_year, "version": budget.version,
        "status": BudgetStatus(budget.status).value, "status_ja": BudgetStatus(budget.status).ja,
        "amounts": amounts, "total": sum(amounts.values()), "contract_ceiling": budget.contract_ceiling,
        "reason": budget.reason, "created_by": budget.created_by,
        "created_at": audit.timestamp_text(budget.created_at) if budget.created_at else None,
        "adopted_at": audit.timestamp_text(budget.adopted_at) if budget.adopted_at else None,
        "resolution_ref": budget.resolution_ref,
    }


def get_budget(session: Session, budget_id: int) -> Budget:
    budget = session.get(Budget, budget_id)
    if budget is None:
        raise BillingNotFound(f"No budget version #{budget_id}.", f"予算 #{budget_id} はありません。", budget_id=budget_id)
    return budget


def read_budget(session: Session, actor: Actor, budget_id: int) -> Budget:
    authz.authorize(actor, "billing.read")
    return get_budget(session, budget_id)


def list_budgets(session: Session, actor: Actor, fiscal_year: int | None = None) -> list[Budget]:
    authz.authorize(actor, "billing.read")
    query = sa.select(Budget).order_by(Budget.fiscal_year, Budget.version)
    if fiscal_year is not None:
        query = query.where(Budget.fiscal_year == fiscal_year)
    return list(session.scalars(query))


def draft_budget(session: Session, actor: Actor, data: BudgetCreate) -> Budget:
    """Draft a new version of the year's budget; a revision (the year has a version already) needs its reason."""
    authz.authorize(actor, "billing.manage")
    latest = session.scalar(sa.select(sa.func.max(Budget.version)).where(Budget.fiscal_year == data.fiscal_year)) or 0
    if latest and not data.reason:
        raise InvalidBillingData(
            f"FY{data.fiscal_year} has a budget already; a revision (補正) needs its reason.",
            f"{fiscal_year_ja(data.fiscal_year)}の予算はすでにあります。補正の理由を入力してください。",
            problems=[{"field": "reason", "message_en": "Say why the budget is revised.",
                       "message_ja": "補正の理由を入力してください。"}])
    budget = Budget(fiscal_year=data.fiscal_year, version=latest + 1, reason=data.reason,
                    contract_ceiling=data.contract_ceiling, created_by=actor.recorded_name)
    session.add(budget)
    session.flush()
    for category, amount in data.amounts.items():
        session.add(BudgetLine(budget_id=budget.id, category=CostCategory(category), amount=amount))
    session.flush()
    audit.record(session, actor, "billing.budget.draft", "budget", str(budget.id), after=budget_summary(session, budget))
    return budget


def adopt_budget(session: Session, actor: Actor, budget_id: int, resolution_ref: str) -> Budget:
    """The council adopts a budget version (its enactment of an ``adopt_budget`` resolution);
    the version adopted before is superseded."""
    budget = get_budget(session, budget_id)
    move = BUDGETS.move("adopt", budget.status, budget)
    authz.authorize(actor, move.grant)
    previous = adopted_budget(session, budget.fiscal_year)
    if previous is not None:
        previous.status = BUDGETS.move("supersede", previous.status, previous).target
        session.flush()  # one adopted version a year (partial unique index)
    budget.status, budget.adopted_at, budget.resolution_ref = move.target, utcnow(), resolution_ref
    session.flush()
    audit.record(session, actor, "billing.budget.adopt", "budget", str(budget.id),
                 before={"status": "draft", "previously_adopted": previous.id if previous is not None else None},
                 after={"status": "adopted", "resolution_ref": resolution_ref, "version": budget.version,
                        "amounts": budget_lines(session, budget), "contract_ceiling": budget.contract_ceiling})
    return budget


def check_adoptable(session: Session, budget_id: int) -> None:
    """A council proposal may adopt a drafted version only."""
    budget = get_budget(session, budget_id)
    if BudgetStatus(budget.status) != BudgetStatus.draft:
        raise BillingConflict(
            f"Budget #{budget.id} is {BudgetStatus(budget.status).value}; the council adopts a drafted version.",
            f"予算 #{budget.id} は「{BudgetStatus(budget.status).ja}」です。議決できるのは案のみです。",
            problems=[{"field": "params.budget_id", "message_en": "Not a draft.", "message_ja": "案ではありません。"}])


# --- 予実: budget against actual ---------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class BudgetActualRow:
    category: str
    label_ja: str
    budget: int
    committed: int  # cost items entered
    booked: int  # the ledger's cost accounts (posted by approved runs, net of reversals)
    grant: int  # what the grants fund of this category's costs

    @property
    def difference(self) -> int:
        """Budget left: budget − committed (negative: over budget)."""
        return self.budget - self.committed


@dataclasses.dataclass(frozen=True)
class BudgetActual:
    fiscal_year: int
    budget: Budget | None
    rows: tuple[BudgetActualRow, ...]

    @property
    def era(self) -> str:
        return fiscal_year_ja(self.fiscal_year)

    def total(self, name: str) -> int:
        return sum(getattr(row, name) for row in self.rows)


def _booked(session: Session, fiscal_year: int) -> dict[str, int]:
    rows = session.execute(
        sa.select(Account.code, sa.func.sum(Posting.amount))
        .join(Posting, Posting.account_id == Account.id).join(JournalEntry, JournalEntry.id == Posting.entry_id)
        .where(JournalEntry.status == EntryStatus.posted, JournalEntry.fiscal_year == fiscal_year,
               Account.code.like(f"{ledger.COST_PREFIX}%"))
        .group_by(Account.code)).all()
    return {code[len(ledger.COST_PREFIX):]: int(total or 0) for code, total in rows}


def _grant_by_category(session: Session, fiscal_year: int) -> dict[str, int]:
    """Each grant's amount split over the categories of the items it funds, by largest remainder
    (so that the categories add up to the grant exactly)."""
    from billing.grants import cost_value, grant_value, year_grants

    items = list(session.scalars(sa.select(CostItem).where(CostItem.fiscal_year == fiscal_year)))
    grants = year_grants(session, fiscal_year)
    costs = [cost_value(item) for item in items]
    values = [grant_value(grant) for grant in grants]
    shares = allocation.apply_grants(costs, values)
    by_category: dict[str, int] = defaultdict(int)
    for grant, share in zip(values, shares):
        eligible = defaultdict(int)
        for cost in costs:
            if grant.covers(cost):
                eligible[cost.category] += cost.amount
        categories = sorted(eligible)
        if not categories or share.eligible == 0:
            continue
        parts = allocation.round_preserving_total(
            [Fraction(share.amount * eligible[category], share.eligible) for category in categories], share.amount)
        for category, part in zip(categories, parts):
            by_category[category] += part
    return dict(by_category)


def budget_actual(session: Session, actor: Actor, fiscal_year: int) -> BudgetActual:
    """The year's 予実 per cost category: the adopted budget (0 where none), committed, booked, grant."""
    authz.authorize(actor, "billing.read")
    budget = adopted_budget(session, fiscal_year)
    planned = budget_lines(session, budget) if budget is not None else {}
    committed, booked, grant = year_cost_sums(session, fiscal_year), _booked(session, fiscal_year), \
        _grant_by_category(session, fiscal_year)
    rows = tuple(BudgetActualRow(category.value, category.ja, planned.get(category.value, 0),
                                 committed.get(category.value, 0), booked.get(category.value, 0),
                                 grant.get(category.value, 0)) for category in CostCategory)
    return BudgetActual(fiscal_year, budget, rows)


def budget_actual_rows(report: BudgetActual) -> list[list[Any]]:
    """The 予実 as a sheet's rows (header, one row per category, the total): pages, xlsx and CSV."""
    head = ["区分", "予算額", "執行額（費目の登録）", "計上額（会計帳簿）", "交付金充当額", "予算残額"]
    rows = [[row.label_ja, row.budget, row.committed, row.booked, row.grant, row.difference] for row in report.rows]
    totals = ["合計", *(report.total(name) for name in ("budget", "committed", "booked", "grant")),
              report.total("budget") - report.total("committed")]
    return [head, *rows, totals]


def budget_actual_xlsx(report: BudgetActual) -> bytes:
    """The 予実 as an A4 landscape workbook, era year in the title."""
    import io

    from openpyxl import Workbook
    from openpyxl.styles import Font

    from core.spreadsheet import safe_cell

    book = Workbook()
    sheet = book.active
    sheet.title = "予実"
    version = (f"（予算 第{report.budget.version}版）" if report.budget is not None else "（議決済みの予算なし）")
    sheet.append([safe_cell(f"{report.era} 予算執行状況（予実）{version}")])
    sheet["A1"].font = Font(bold=True, size=13)
    for row in budget_actual_rows(report):
        sheet.append([safe_cell(value) if isinstance(value, str) else value for value in row])
    for row in sheet.iter_rows(min_row=3, min_col=2):
        for cell in row:
            cell.number_format = '#,##0"円";[Red]-#,##0"円"'
    for column in "ABCDEF":
        sheet.column_dimensions[column].width = 22
    sheet.page_setup.paperSize = sheet.PAPERSIZE_A4
    sheet.page_setup.orientation = "landscape"
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def budget_json(report: BudgetActual) -> dict[str, Any]:
    return {"fiscal_year": report.fiscal_year, "era": report.era,
            "budget_id": report.budget.id if report.budget is not None else None,
            "budget_version": report.budget.version if report.budget is not None else None,
            "rows": [{"category": row.category, "label_ja": row.label_ja, "budget": row.budget,
                      "committed": row.committed, "booked": row.booked, "grant": row.grant,
                      "difference": row.difference} for row in report.rows]}


