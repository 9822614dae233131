"""The demo's sample fiscal year (サンプルの年度): FY2025 (令和7年度) as the finance office lives it, so
that finance, the municipal admins and the auditor see a year at once after ``renkei demo``.

Everything goes through the real operations, in the office's order and with its rules: the year's
cost items (a running and a build cost) and a 1/2 national grant, an allocation policy drafted by
one finance officer and adopted by another, a final (確定) run computed and reviewed by the first
and approved (posted) by the second (four eyes), the municipalities' letters (納入通知書) issued, and
熊本市's payment of its letter recorded. Every name the office reads carries 「（サンプル）」.

The figures are made up. The dates lie inside FY2025 (posted on 31 July 2025, letters of 1 August,
paid on 25 August), as a year lived then. Loading again adds nothing: a year that holds any cost
item or run already (the sample, or the office's own entries) is left as it is.
"""

from __future__ import annotations

import dataclasses
import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Session

from billing import allocation_policies, allocation_runs, bank_reconciliation, documents, grants, ledger, operations
from billing.models import AllocationPolicy, AllocationRun, CostItem, EntryKind, JournalEntry, RunKind
from billing.schemas import CostItemCreate, GrantCreate, PolicyCreate
from core.actor import Actor
from core.calendar import fiscal_year_ja

SAMPLE_YEAR = 2025
SAMPLE = "（サンプル）"
COST_ITEMS = (  # (name, category, amount tax included, vendor, reference)
    (f"クラウド利用料{SAMPLE}", "run", 7_600_000, f"クラウド事業者{SAMPLE}", "INV-2025-SAMPLE-01"),
    (f"基盤構築費（償却分）{SAMPLE}", "build", 2_400_000, f"構築事業者{SAMPLE}", "INV-2025-SAMPLE-02"),
)
GRANT = {"name": f"新しい地方経済・生活環境創生交付金（デジタル実装型）{SAMPLE}", "grantor": "内閣府", "rate": "1/2",
         "categories": ["run"], "applied_amount": 3_800_000, "decided_amount": 3_800_000,
         "decided_on": dt.date(2025, 6, 2), "decision_reference": f"府地創第0000号{SAMPLE}"}
POLICY = {"name": f"共同利用負担金の按分{SAMPLE}", "description": "デモ用のサンプルです。", "prefecture_share": "1/2",
          "components": [{"basis": "equal", "weight": "1/2"}, {"basis": "population", "weight": "1/2"}]}
POSTED_ON = dt.date(2025, 7, 31)
ISSUED_ON = dt.date(2025, 8, 1)
PAID_ON = dt.date(2025, 8, 25)
PAYER = "431001"  # 熊本市 pays its letter in full
PAYMENT_REFERENCE = f"口座振込{SAMPLE}"
PAYMENT_PAYER = "ｸﾏﾓﾄｼ ｶｲｹｲｶﾝﾘｼﾔ"  # as the bank writes 熊本市 会計管理者


@dataclasses.dataclass(frozen=True)
class SampleYear:
    """What the sample year holds after loading: its run, letters and payments (``added``: loaded now)."""

    fiscal_year: int
    added: bool
    run_id: int | None
    letters: int
    payments: int

    def line(self) -> str:
        """The demo's summary line."""
        state = "added" if self.added else "already there, left as it is"
        run = f"approved run #{self.run_id}" if self.run_id is not None else "no approved run"
        return (f"sample year FY{self.fiscal_year} ({fiscal_year_ja(self.fiscal_year)}): {state}; {run}, "
                f"{self.letters} letter(s) issued, {self.payments} payment(s) recorded")


def load_sample_year(session: Session, loader: Actor, approver: Actor) -> SampleYear:
    """Load the sample FY2025 unless the year holds anything already; ``loader`` enters, computes and
    issues, ``approver`` (another finance officer) adopts the policy and approves the run. Flushes,
    never commits (the demo commits once)."""
    if _year_is_used(session):
        return _as_it_is(session, added=False)
    _enter_costs_and_grant(session, loader)
    policy = _sample_policy(session, loader, approver)
    run = allocation_runs.create_run(session, loader, SAMPLE_YEAR, policy.id, kind=RunKind.final)
    allocation_runs.review_run(session, loader, run.id, note=f"費目・交付金・参加月数を確認しました{SAMPLE}")
    allocation_runs.approve_run(session, approver, run.id, posted_on=POSTED_ON)
    issued = documents.issue_documents(session, loader, run.id, issued_on=ISSUED_ON)
    payer = PAYER if any(document.tenant_code == PAYER for document in issued) else issued[0].tenant_code
    owed = ledger.tenant_balance(session, payer, fiscal_year=SAMPLE_YEAR)
    # paid as every payment is recorded: a line of the bank's file (the common CSV), confirmed by finance
    raw = f"日付,金額,振込依頼人,参照\n{PAID_ON.isoformat()},{owed},{PAYMENT_PAYER},{PAYMENT_REFERENCE}\n".encode()
    line = bank_reconciliation.import_bank_file(session, loader, raw, f"入出金明細{SAMPLE}.csv").lines[0]
    bank_reconciliation.confirm_line(session, loader, line.id, payer, SAMPLE_YEAR)
    return _as_it_is(session, added=True)


def _year_is_used(session: Session) -> bool:
    """Whether the sample year holds a cost item or a run (the sample's, or the office's own)."""
    return any(session.scalar(sa.select(sa.func.count()).select_from(table).where(table.fiscal_year == SAMPLE_YEAR))
               for table in (CostItem, AllocationRun))


def _enter_costs_and_grant(session: Session, loader: Actor) -> None:
    for name, category, amount, vendor, reference in COST_ITEMS:
        operations.create_cost_item(session, loader, CostItemCreate.model_validate(
            {"fiscal_year": SAMPLE_YEAR, "name": name, "category": category, "amount": amount,
             "tax_treatment": "taxable_10", "vendor": vendor, "reference": reference}))
    grants.create_grant(session, loader, GrantCreate.model_validate({"fiscal_year": SAMPLE_YEAR, **GRANT}))


def _sample_policy(session: Session, loader: Actor, approver: Actor) -> AllocationPolicy:
    """The sample policy (its latest version, else a new one), adopted by the second officer unless
    another policy is adopted already: the office's own adoption is not superseded by a sample."""
    policy = session.scalars(sa.select(AllocationPolicy).where(AllocationPolicy.name == POLICY["name"])
                             .order_by(AllocationPolicy.version.desc())).first()
    if policy is None:
        policy = allocation_policies.create_policy(session, loader, PolicyCreate.model_validate(POLICY))
    if allocation_policies.adopted_policy(session) is None:
        allocation_policies.adopt_policy(session, approver, policy.id)
    return policy


def _as_it_is(session: Session, *, added: bool) -> SampleYear:
    run = operations.posted_run(session, SAMPLE_YEAR)
    payments = session.scalar(sa.select(sa.func.count()).select_from(JournalEntry).where(
        JournalEntry.kind == EntryKind.payment, JournalEntry.fiscal_year == SAMPLE_YEAR)) or 0
    return SampleYear(SAMPLE_YEAR, added, run.id if run is not None else None,
                      documents.issued_count(session, run.id) if run is not None else 0, payments)


# --- the next year: its budget and the municipalities' estimates (負担金見込額) -------------------------

NEXT_YEAR = SAMPLE_YEAR + 1
NEXT_BUDGET = {"run": 8_000_000, "build": 2_400_000}
NEXT_BILLING_MONTH = f"{NEXT_YEAR}-06"


@dataclasses.dataclass(frozen=True)
class SampleNextYear:
    """The next year's draft budget and the estimate letters issued from it (``budget_id`` None: left as it was)."""

    fiscal_year: int
    budget_id: int | None
    estimates: int


def load_sample_next_year(session: Session, loader: Actor) -> SampleNextYear:
    """FY2026's budget (a draft, awaiting the council's adoption) and the estimate letters issued from it;
    nothing when the year has a budget already or no allocation policy is adopted. Flushes, never commits."""
    from billing import budgets, estimates
    from billing.models import Budget
    from billing.schemas import BudgetCreate

    if session.scalar(sa.select(Budget.id).where(Budget.fiscal_year == NEXT_YEAR).limit(1)) is not None \
            or allocation_policies.adopted_policy(session) is None:  # no policy: nothing to estimate with
        return SampleNextYear(NEXT_YEAR, None, 0)
    budget = budgets.draft_budget(session, loader, BudgetCreate(fiscal_year=NEXT_YEAR, amounts=NEXT_BUDGET,
                                                                reason=f"当初予算案{SAMPLE}"))
    letters = estimates.issue_estimates(session, loader, NEXT_YEAR, billing_month=NEXT_BILLING_MONTH)
    return SampleNextYear(NEXT_YEAR, budget.id, len(letters))
