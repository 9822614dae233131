"""Tables of billing: cost items, allocation policies, allocation runs and the ledger.

* :class:`CostItem` (費目): one cost line of a fiscal year, in yen as invoiced (tax included),
  with its tax treatment. An amortised build cost is stored as one row per fiscal year, the
  yearly amounts from :func:`billing.allocation.amortise`, linked to the first year's row.
* :class:`AllocationPolicy` (按分方式): versioned; never edited (a change is a new version).
  Fractions are stored as exact strings (``"1/2"``), never floats. One version at a time is
  *adopted*: the one the next run uses.
* :class:`AllocationRun` (按分計算) and :class:`AllocationRunLine`: a run snapshots its inputs
  (JSON text on the run, plus one line per payer), then moves computed → reviewed → approved
  (posted to the ledger) → reversed, along :data:`RUN_TRANSITIONS` only: the database guard of
  runs is generated from that table (:mod:`billing.run_guards`; the table is in :mod:`billing.run_lifecycle`). At most
  one approved run per fiscal year (a partial unique index on both databases).
* :class:`Account`, :class:`JournalEntry`, :class:`Posting`: the double-entry ledger. Only
  :mod:`billing.ledger` writes entries; the database itself refuses unbalanced posted entries
  and any change to a posted one (the DDL text in :mod:`billing.ledger_guards`, installed by
  ``create_all`` from here; the Alembic migrations reuse the same strings). See the design overview
  in :mod:`billing.ledger`.

No ``from __future__ import annotations`` here: SQLModel needs the real annotations.
"""


import datetime as dt
import enum

import sqlalchemy as sa
from sqlalchemy import DDL, event
from sqlmodel import Field, SQLModel

import core.db  # noqa: F401  (naming convention before any table)
from core.db import pg_guard_installer, quoted_current_schema, utcnow
from billing.run_guards import pg_run_guard, sqlite_run_guards
from billing.run_lifecycle import RunStatus
from billing.run_kinds import FREEZING_RUN_KINDS, RUN_KIND_SLOT, RunKind  # noqa: F401
from core.db import enum_column as _enum_column, timestamp_column as _timestamp
from billing.ledger_guards import LEDGER_GUARD_DDL, _PG_LEDGER_GUARDS, _SQLITE_LEDGER_GUARDS
from billing import posted_year_guards, year_close_guards
from core.labelled import LabelledEnum




def _yen(nullable: bool = False, **kwargs) -> sa.Column:
    return sa.Column(sa.BigInteger, nullable=nullable, **kwargs)


# --- cost items ---------------------------------------------------------------------------------

class CostCategory(LabelledEnum):
    build = "build", "構築費", "Build"
    run = "run", "運用費", "Running"
    # seed 001: at most 10 % of the other costs (billing.budgets)
    overhead = "overhead", "一般管理費", "Overhead"


class TaxTreatment(LabelledEnum):
    """How consumption tax applies to the invoiced amount (it is always tax included)."""

    taxable_10 = "taxable_10", "課税10%（税込）", "Taxable 10% (tax included)"
    taxable_8 = "taxable_8", "課税8%・軽減税率（税込）", "Taxable 8%, reduced rate (tax included)"
    exempt = "exempt", "非課税", "Exempt"
    out_of_scope = "out_of_scope", "不課税", "Out of scope"  # 不課税（対象外）


TAX_RATE_PERCENT = {TaxTreatment.taxable_10: 10, TaxTreatment.taxable_8: 8}


class CostItem(SQLModel, table=True):
    """One cost line of a fiscal year (April–March), in yen as invoiced, tax included.

    ``amount`` is what this fiscal year bears. For an amortised build cost, ``invoiced_amount``
    is the whole invoice, ``amortisation_years`` the period, ``amortisation_index`` this row's
    year (1-based), and ``amortised_from_id`` the first year's row (None on the first row).
    ``tax_amount`` is the consumption tax contained in ``amount`` (0 when not taxable).
    """

    __tablename__ = "billing_cost_item"

    id: int | None = Field(default=None, primary_key=True)
    fiscal_year: int = Field(index=True)
    name: str = Field(max_length=200)
    category: CostCategory = Field(sa_column=_enum_column(CostCategory))
    amount: int = Field(sa_column=_yen())
    invoiced_amount: int = Field(sa_column=_yen())
    tax_treatment: TaxTreatment = Field(sa_column=_enum_column(TaxTreatment))
    tax_amount: int = Field(default=0, sa_column=_yen(server_default="0"))
    vendor: str = Field(default="", max_length=200)
    reference: str = Field(default="", max_length=200)
    amortisation_years: int = Field(default=1)
    amortisation_index: int = Field(default=1)
    amortised_from_id: int | None = Field(default=None, foreign_key="billing_cost_item.id", index=True)
    created_at: dt.datetime = Field(default_factory=utcnow, sa_column=_timestamp())
    created_by: str = Field(default="", max_length=255)

    __table_args__ = (
        sa.CheckConstraint("amount >= 0", name="amount_not_negative"),
        sa.CheckConstraint("invoiced_amount >= amount", name="invoice_covers_amount"),
        sa.CheckConstraint("amortisation_index >= 1 AND amortisation_index <= amortisation_years",
                           name="amortisation_index_in_period"),
    )


# --- grants ------------------------------------------------------------------------------------

class GrantRounding(LabelledEnum):
    """How the grantor's 交付要綱 rounds the amount a grant funds (its rate times the eligible costs)."""

    yen = "yen", "1円単位", "To the yen"
    thousand = "thousand", "千円未満切捨て", "Down to 1,000 yen"

    @property
    def unit(self) -> int:
        return 1000 if self is GrantRounding.thousand else 1


class Grant(SQLModel, table=True):
    """A grant (交付金) that funds part of a fiscal year's costs, e.g. 内閣府の新しい地方経済・生活環境
    創生交付金: the municipalities share what the grants leave (docs/allocation.md, "Grants").

    ``rate`` (補助率) is an exact fraction as text (``"1/2"``). The eligible costs (交付対象経費)
    are the year's cost items whose category is in ``categories`` (space-separated
    :class:`CostCategory` values) or whose id is in ``item_ids`` (space-separated). The grant funds
    ``rate × eligible`` rounded down to its ``rounding`` (1 yen, or 千円未満切捨て as the grantor's
    交付要綱 says), never more than its cap: the fixed amount (確定額) once recorded, else the decided
    amount (交付決定額), else the applied amount (申請額). Where ``fixed_amount_authoritative`` (the
    交付要綱 makes the notice of the fixed amount decide), a recorded fixed amount is what the grant
    funds, exactly as the grantor's notice says. A cost item is funded by one grant at most.
    """

    __tablename__ = "billing_grant"

    id: int | None = Field(default=None, primary_key=True)
    fiscal_year: int = Field(index=True)
    name: str = Field(max_length=200)
    grantor: str = Field(max_length=200)
    rate: str = Field(max_length=20)
    categories: str = Field(default="", max_length=200)
    item_ids: str = Field(default="", max_length=2000)
    applied_amount: int | None = Field(default=None, sa_column=_yen(nullable=True))
    decided_amount: int | None = Field(default=None, sa_column=_yen(nullable=True))
    decided_on: dt.date | None = Field(default=None)
    decision_reference: str = Field(default="", max_length=200)
    fixed_amount: int | None = Field(default=None, sa_column=_yen(nullable=True))
    fixed_on: dt.date | None = Field(default=None)
    rounding: GrantRounding = Field(default=GrantRounding.yen, sa_column=_enum_column(GrantRounding, server_default="yen"))
    fixed_amount_authoritative: bool = Field(
        default=False, sa_column=sa.Column(sa.Boolean, nullable=False, server_default=sa.false()))
    created_at: dt.datetime = Field(default_factory=utcnow, sa_column=_timestamp())
    created_by: str = Field(default="", max_length=255)

    __table_args__ = (
        sa.CheckConstraint("applied_amount IS NULL OR applied_amount >= 0", name="applied_not_negative"),
        sa.CheckConstraint("decided_amount IS NULL OR decided_amount >= 0", name="decided_not_negative"),
        sa.CheckConstraint("fixed_amount IS NULL OR fixed_amount >= 0", name="fixed_not_negative"),
        sa.CheckConstraint("(decided_amount IS NULL) = (decided_on IS NULL)", name="decided_with_date"),
        sa.CheckConstraint("(fixed_amount IS NULL) = (fixed_on IS NULL)", name="fixed_with_date"),
        sa.UniqueConstraint("fiscal_year", "name", name="uq_billing_grant_year_name"),
    )

    @property
    def cap(self) -> int | None:
        """What the grant can fund at most now: fixed, else decided, else applied (None: unknown)."""
        for amount in (self.fixed_amount, self.decided_amount, self.applied_amount):
            if amount is not None:
                return amount
        return None

    def __str__(self) -> str:
        return f"{self.name}（{self.grantor}）"


# --- budgets ------------------------------------------------------------------------------------

class BudgetStatus(LabelledEnum):
    draft = "draft", "案", "Draft"  # 予算案
    adopted = "adopted", "議決済み（現行）", "Adopted (current)"
    superseded = "superseded", "補正により改定", "Superseded by a revision"  # 補正で置き換え


class Budget(SQLModel, table=True):
    """A version of a fiscal year's budget (予算): an amount per cost category and, where set, the
    contract ceiling (委託上限額, tax included). Versions are never edited: a revision (補正) is a new
    version with its reason; the council adopts one (council change type ``adopt_budget``), and the
    version adopted before is superseded. At most one adopted version per year (partial unique index)."""

    __tablename__ = "billing_budget"

    id: int | None = Field(default=None, primary_key=True)
    fiscal_year: int = Field(index=True)
    version: int
    status: BudgetStatus = Field(default=BudgetStatus.draft, sa_column=_enum_column(BudgetStatus, checked=True))
    reason: str = Field(default="", max_length=2000)
    contract_ceiling: int | None = Field(default=None, sa_column=_yen(nullable=True))
    created_at: dt.datetime = Field(default_factory=utcnow, sa_column=_timestamp())
    created_by: str = Field(default="", max_length=255)
    adopted_at: dt.datetime | None = Field(default=None, sa_column=_timestamp(nullable=True))
    resolution_ref: str = Field(default="", max_length=255)

    __table_args__ = (
        sa.UniqueConstraint("fiscal_year", "version", name="uq_billing_budget_year_version"),
        sa.CheckConstraint("contract_ceiling IS NULL OR contract_ceiling >= 0", name="ceiling_not_negative"),
        sa.Index("uq_billing_budget_adopted", "fiscal_year", unique=True,
                 sqlite_where=sa.text("status = 'adopted'"), postgresql_where=sa.text("status = 'adopted'")),
    )


class BudgetLine(SQLModel, table=True):
    """One category's amount in a budget version (yen, tax included)."""

    __tablename__ = "billing_budget_line"

    id: int | None = Field(default=None, primary_key=True)
    budget_id: int = Field(foreign_key="billing_budget.id", index=True)
    category: CostCategory = Field(sa_column=_enum_column(CostCategory))
    amount: int = Field(sa_column=_yen())

    __table_args__ = (
        sa.UniqueConstraint("budget_id", "category", name="uq_billing_budget_line_category"),
        sa.CheckConstraint("amount >= 0", name="amount_not_negative"),
    )


# --- year close (決算) ------------------------------------------------------------------------------

class YearCloseStatus(LabelledEnum):
    # a finance officer asked to close the year
    requested = "requested", "締めの申請中", "Close requested"
    # a second one closed it: nothing dated in the year may be written
    closed = "closed", "締め済み（決算確定）", "Closed"
    # the request was withdrawn before the close
    withdrawn = "withdrawn", "申請の取下げ", "Request withdrawn"
    # the council decided to reopen the year (its resolution is kept)
    reopened = "reopened", "協議会の議決により再開", "Reopened by the council"


class YearClose(SQLModel, table=True):
    """One closing of a fiscal year (決算): requested by a finance officer after the 出納整理期間
    (to 31 May), closed by a second one. While a row of the year is ``closed`` the database refuses
    any journal entry, cost item, grant or allocation run of that year (billing.year_close_guards),
    for the application's role too; only a council resolution of type ``reopen_fiscal_year`` reopens
    it. ``statement_json`` is the year's 収支決算 as closed, ``statement_sha256`` its hash (also in the
    close's audit record, so in the chain)."""

    __tablename__ = "billing_year_close"

    id: int | None = Field(default=None, primary_key=True)
    fiscal_year: int = Field(index=True)
    status: YearCloseStatus = Field(default=YearCloseStatus.requested,
                                    sa_column=_enum_column(YearCloseStatus, checked=True))
    requested_at: dt.datetime = Field(default_factory=utcnow, sa_column=_timestamp())
    requested_by: str = Field(default="", max_length=255)
    requested_by_key: str = Field(default="", max_length=600)
    closed_at: dt.datetime | None = Field(default=None, sa_column=_timestamp(nullable=True))
    closed_by: str = Field(default="", max_length=255)
    statement_json: str = Field(default="", sa_column=sa.Column(sa.Text, nullable=False, server_default=""))
    statement_sha256: str = Field(default="", max_length=64)
    reopened_at: dt.datetime | None = Field(default=None, sa_column=_timestamp(nullable=True))
    reopen_resolution_id: int | None = Field(default=None, foreign_key="council_resolution.id")

    __table_args__ = (
        sa.Index("uq_billing_year_close_open", "fiscal_year", unique=True,
                 sqlite_where=sa.text("status IN ('requested', 'closed')"),
                 postgresql_where=sa.text("status IN ('requested', 'closed')")),
    )


# --- allocation policies ------------------------------------------------------------------------

class PolicyStatus(LabelledEnum):
    draft = "draft", "案", "Draft"
    adopted = "adopted", "採用中", "Adopted"
    superseded = "superseded", "採用終了", "Superseded"


class AllocationPolicy(SQLModel, table=True):
    """One version of an allocation policy. Rows are never updated except to record adoption.

    ``prefecture_share`` is an exact fraction string (``"1/2"``) or None (no prefecture line);
    ``components_json`` is ``[{"basis": "equal", "weight": "1/2"}, ...]`` with weights as exact
    fraction strings adding up to 1; ``floor``/``cap`` are yearly yen per municipality or None.
    """

    __tablename__ = "billing_policy"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=200)
    version: int = Field(default=1)
    description: str = Field(default="", sa_column=sa.Column(sa.Text, nullable=False, server_default=""))
    prefecture_share: str | None = Field(default=None, max_length=64)
    components_json: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    floor: int | None = Field(default=None, sa_column=_yen(nullable=True))
    cap: int | None = Field(default=None, sa_column=_yen(nullable=True))
    status: PolicyStatus = Field(default=PolicyStatus.draft, sa_column=_enum_column(PolicyStatus, checked=True))
    resolution_ref: str | None = Field(default=None, max_length=255)
    adopted_at: dt.datetime | None = Field(default=None, sa_column=_timestamp(nullable=True))
    adopted_by: str = Field(default="", max_length=255)
    created_at: dt.datetime = Field(default_factory=utcnow, sa_column=_timestamp())
    created_by: str = Field(default="", max_length=255)
    # who drafted it, by identity (issuer and subject): the drafter alone may not adopt it
    created_by_key: str = Field(default="", sa_column=sa.Column(sa.String(600), nullable=False, server_default=""))

    __table_args__ = (
        sa.UniqueConstraint("name", "version", name="uq_billing_policy_name_version"),
        # At most one adopted version: the one the next run uses.
        sa.Index("uq_billing_policy_one_adopted", "status", unique=True,
                 postgresql_where=sa.text("status = 'adopted'"), sqlite_where=sa.text("status = 'adopted'")),
    )

    def __str__(self) -> str:
        return f"{self.name} v{self.version}"


# --- allocation runs ----------------------------------------------------------------------------

class AllocationRun(SQLModel, table=True):
    """One computation of a fiscal year's shares, with the snapshot of everything it used."""

    __tablename__ = "billing_run"

    id: int | None = Field(default=None, primary_key=True)
    fiscal_year: int = Field(index=True)
    status: RunStatus = Field(default=RunStatus.computed, sa_column=_enum_column(RunStatus, index=True))
    kind: RunKind = Field(default=RunKind.final, sa_column=_enum_column(RunKind, checked=True, server_default="final"))
    settles_run_id: int | None = Field(default=None, foreign_key="billing_run.id")
    policy_id: int = Field(foreign_key="billing_policy.id", index=True)
    total: int = Field(sa_column=_yen())
    prefecture_code: str | None = Field(default=None, max_length=6)
    snapshot_json: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    created_at: dt.datetime = Field(default_factory=utcnow, sa_column=_timestamp())
    created_by: str = Field(default="", max_length=255)
    reviewed_at: dt.datetime | None = Field(default=None, sa_column=_timestamp(nullable=True))
    reviewed_by: str = Field(default="", max_length=255)
    review_note: str = Field(default="", sa_column=sa.Column(sa.Text, nullable=False, server_default=""))
    approved_at: dt.datetime | None = Field(default=None, sa_column=_timestamp(nullable=True))
    approved_by: str = Field(default="", max_length=255)
    posted_on: dt.date | None = Field(default=None, sa_column=sa.Column(sa.Date, nullable=True))
    reversed_at: dt.datetime | None = Field(default=None, sa_column=_timestamp(nullable=True))
    reversed_by: str = Field(default="", max_length=255)
    reversal_reason: str = Field(default="", sa_column=sa.Column(sa.Text, nullable=False, server_default=""))
    # Four eyes (four-eyes principle): who computed and who reviewed, by identity (issuer + subject),
    # so that the approver can be told apart from them; ``four_eyes`` is False when a step was taken
    # with the rule switched off (a one-person office), and stays so for the run's record.
    created_by_key: str = Field(default="", sa_column=sa.Column(sa.String(600), nullable=False, server_default=""))
    reviewed_by_key: str = Field(default="", sa_column=sa.Column(sa.String(600), nullable=False, server_default=""))
    four_eyes: bool = Field(default=True, sa_column=sa.Column(sa.Boolean, nullable=False, server_default=sa.true()))

    __table_args__ = (
        # One posted (approved, not reversed) run per fiscal year and kind; billing.posted_year_guards
        # adds that a year's 確定 and 概算 exclude each other in the ledger.
        sa.Index("uq_billing_run_one_approved_per_year_kind", "fiscal_year", "kind", unique=True,
                 postgresql_where=sa.text("status = 'approved'"), sqlite_where=sa.text("status = 'approved'")),
        sa.CheckConstraint("(kind = 'settlement') = (settles_run_id IS NOT NULL)", name="settlement_settles_a_run"),
    )

    def __str__(self) -> str:
        return f"#{self.id} FY{self.fiscal_year}"


class AllocationRunLine(SQLModel, table=True):
    """One payer's line of a run: its inputs (months, population, usage) and its share."""

    __tablename__ = "billing_run_line"

    id: int | None = Field(default=None, primary_key=True)
    run_id: int = Field(foreign_key="billing_run.id", index=True)
    tenant_code: str = Field(max_length=6, index=True)
    tenant_name: str = Field(default="", max_length=100)
    is_prefecture: bool = Field(default=False)
    months: int = Field(default=12)
    population: int | None = Field(default=None, sa_column=sa.Column(sa.BigInteger, nullable=True))
    population_source: str = Field(default="", max_length=255)
    usage_json: str = Field(default="{}", sa_column=sa.Column(sa.Text, nullable=False, server_default="{}"))
    amount: int = Field(sa_column=_yen())
    components_json: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    bound: str | None = Field(default=None, max_length=8)

    __table_args__ = (sa.UniqueConstraint("run_id", "tenant_code", name="uq_billing_run_line_run_tenant"),)


class StatementDocument(SQLModel, table=True):
    """A statement issued as an official document (納入通知書): its number, issue date and due date.

    Numbered once per run and payer (``{symbol}第{sequence}号``, the sequence counting from 1 the
    documents issued in the issue date's fiscal year, as an office numbers its letters); a number
    is never changed, deleted or given again. A reissue keeps
    the number and is recorded on the same row (the document then says 再発行).
    """

    __tablename__ = "billing_statement_document"

    id: int | None = Field(default=None, primary_key=True)
    run_id: int = Field(foreign_key="billing_run.id", index=True)
    tenant_code: str = Field(max_length=6)
    fiscal_year: int  # the statement's fiscal year
    number_year: int  # the fiscal year whose numbering gave the number (that of the issue date)
    sequence: int
    number: str = Field(max_length=60)
    issued_on: dt.date = Field(sa_column=sa.Column(sa.Date, nullable=False))
    due_on: dt.date = Field(sa_column=sa.Column(sa.Date, nullable=False))
    issued_by: str = Field(default="", max_length=255)
    reissue_count: int = Field(default=0)
    reissued_on: dt.date | None = Field(default=None, sa_column=sa.Column(sa.Date, nullable=True))
    reissued_by: str = Field(default="", max_length=255)

    __table_args__ = (
        sa.UniqueConstraint("run_id", "tenant_code", name="uq_billing_statement_document_run_tenant"),
        sa.UniqueConstraint("number_year", "sequence", name="uq_billing_statement_document_year_sequence"),
        sa.UniqueConstraint("number_year", "number", name="uq_billing_statement_document_year_number"),
    )


class EstimateLetter(SQLModel, table=True):
    """One municipality's 負担金見込額 for a coming fiscal year, as issued for its budget request.

    Issued from the year's budget (adopted, else the newest draft) and its expected grants by the
    adopted policy (:mod:`billing.estimates`); numbered from the same sequence as the 納入通知書
    (:func:`billing.documents.next_sequences`). Issuing again makes a new ``version``; earlier ones
    are kept. ``basis_json`` holds the municipality's inputs (population and its source, months,
    usage), ``assumptions_json`` the year's (budget, grants, shared total, usage period, schedule).
    """

    __tablename__ = "billing_estimate"

    id: int | None = Field(default=None, primary_key=True)
    fiscal_year: int = Field(index=True)
    version: int
    tenant_code: str = Field(max_length=6, index=True)
    tenant_name: str = Field(default="", max_length=100)
    amount: int = Field(sa_column=_yen())
    components_json: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    basis_json: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    assumptions_json: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    number_year: int
    sequence: int
    number: str = Field(max_length=60)
    issued_on: dt.date = Field(sa_column=sa.Column(sa.Date, nullable=False))
    issued_by: str = Field(default="", max_length=255)
    created_at: dt.datetime = Field(default_factory=utcnow, sa_column=_timestamp())

    __table_args__ = (
        sa.UniqueConstraint("fiscal_year", "version", "tenant_code", name="uq_billing_estimate_year_version_tenant"),
        sa.UniqueConstraint("number_year", "sequence", name="uq_billing_estimate_year_sequence"),
        sa.CheckConstraint("amount >= 0", name="amount_not_negative"),
    )


class LetterFileKind(LabelledEnum):
    statement = "statement", "納入通知書・精算書", "Payment notice or settlement"
    estimate = "estimate", "負担金見込額通知", "Cost-share estimate"
    reminder = "reminder", "督促状", "Payment reminder"


class LetterFile(SQLModel, table=True):
    """The exact file of an issued letter, as it was sent (:mod:`billing.letter_files`): its bytes and
    their SHA-256, which the audit chain records. A download gives these bytes, never a new rendering.

    ``letter_id`` is the :class:`StatementDocument` (kind ``statement``) or :class:`EstimateLetter`
    (kind ``estimate``); ``edition`` 0 is the letter first issued, n its n-th reissue (再発行). Rows are
    only ever added: on PostgreSQL the application role may only read and insert them (maintenance.db_roles).
    """

    __tablename__ = "billing_letter_file"

    id: int | None = Field(default=None, primary_key=True)
    kind: LetterFileKind = Field(sa_column=_enum_column(LetterFileKind, length=16))
    letter_id: int
    edition: int = Field(default=0)
    number: str = Field(max_length=60)
    tenant_code: str = Field(max_length=6)
    fiscal_year: int
    sha256: str = Field(max_length=64)
    content: bytes = Field(sa_column=sa.Column(sa.LargeBinary, nullable=False))
    created_at: dt.datetime = Field(default_factory=utcnow, sa_column=_timestamp())

    __table_args__ = (
        sa.UniqueConstraint("kind", "letter_id", "edition", name="uq_billing_letter_file_edition"),
        sa.CheckConstraint("edition >= 0", name="edition_not_negative"),
    )


class Reminder(SQLModel, table=True):
    """A 督促状: a municipality is reminded of a statement still unpaid after its letter's 納期限
    (:mod:`billing.reminders`). Numbered from the office's one letter sequence (the table is marked
    ``letter_numbers``: :func:`billing.documents.next_sequences`); it names the letter it follows
    (``document_id``), the amount unpaid when it was sent and the new 納期限 finance chose. ``paid_on``
    is set once, by the payment that pays the statement off (:func:`billing.overdue.mark_paid`); the
    file sent is kept in :class:`LetterFile` (kind ``reminder``). One reminder per statement and new
    due date.
    """

    __tablename__ = "billing_reminder"

    id: int | None = Field(default=None, primary_key=True)
    document_id: int = Field(foreign_key="billing_statement_document.id", index=True)
    tenant_code: str = Field(max_length=6, index=True)
    fiscal_year: int  # the statement's fiscal year
    number_year: int
    sequence: int
    number: str = Field(max_length=60)
    issued_on: dt.date = Field(sa_column=sa.Column(sa.Date, nullable=False))
    due_on: dt.date = Field(sa_column=sa.Column(sa.Date, nullable=False))  # the new 納期限
    amount: int = Field(sa_column=_yen())  # unpaid when the reminder was sent
    issued_by: str = Field(default="", max_length=255)
    paid_on: dt.date | None = Field(default=None, sa_column=sa.Column(sa.Date, nullable=True))
    created_at: dt.datetime = Field(default_factory=utcnow, sa_column=_timestamp())

    __table_args__ = (
        sa.UniqueConstraint("tenant_code", "fiscal_year", "due_on", name="uq_billing_reminder_statement_due"),
        sa.UniqueConstraint("number_year", "sequence", name="uq_billing_reminder_year_sequence"),
        sa.CheckConstraint("amount > 0", name="amount_positive"),
        sa.CheckConstraint("due_on > issued_on", name="due_after_issue"),
        {"info": {"letter_numbers": True}},
    )


# --- ledger -------------------------------------------------------------------------------------

class AccountType(LabelledEnum):
    asset = "asset", "資産", "Asset"
    liability = "liability", "負債", "Liability"
    income = "income", "収益", "Income"
    expense = "expense", "費用", "Expense"
    equity = "equity", "純資産", "Equity"


DEBIT_NORMAL = frozenset({AccountType.asset, AccountType.expense})


class Account(SQLModel, table=True):
    __tablename__ = "billing_account"

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=64, sa_column_kwargs={"unique": True})
    name_ja: str = Field(max_length=200)
    name_en: str = Field(max_length=200)
    type: AccountType = Field(sa_column=_enum_column(AccountType))
    tenant_code: str | None = Field(default=None, max_length=6, index=True)

    def __str__(self) -> str:
        return f"{self.code} {self.name_ja}"


class EntryStatus(str, enum.Enum):
    pending = "pending"  # legs being written; counts nowhere
    posted = "posted"  # balanced, immutable, counted


class EntryKind(LabelledEnum):
    charge = "charge", "負担金の計上", "Charge"  # a payer's share of an approved run
    cost = "cost", "費用の計上", "Cost"  # the year's costs an approved run allocates
    # what a grant funds of the year's costs (receivable from the grantor)
    grant = "grant", "交付金の計上", "Grant"
    payment = "payment", "入金", "Payment"  # money received from a tenant
    reversal = "reversal", "取消", "Reversal"  # undoes one entry, leg by leg
    adjustment = "adjustment", "調整", "Adjustment"


class JournalEntry(SQLModel, table=True):
    """One journal entry (仕訳). Written only by :mod:`billing.ledger`; immutable once posted."""

    __tablename__ = "billing_journal_entry"

    id: int | None = Field(default=None, primary_key=True)
    idempotency_key: str = Field(max_length=200, sa_column_kwargs={"unique": True})
    status: EntryStatus = Field(default=EntryStatus.pending, sa_column=_enum_column(EntryStatus))
    kind: EntryKind = Field(sa_column=_enum_column(EntryKind, index=True))
    fiscal_year: int = Field(index=True)
    occurred_on: dt.date = Field(sa_column=sa.Column(sa.Date, nullable=False, index=True))
    description: str = Field(default="", max_length=500)
    tenant_code: str | None = Field(default=None, max_length=6, index=True)
    run_id: int | None = Field(default=None, foreign_key="billing_run.id", index=True)
    reverses_id: int | None = Field(default=None, foreign_key="billing_journal_entry.id",
                                    sa_column_kwargs={"unique": True})
    created_at: dt.datetime = Field(default_factory=utcnow, sa_column=_timestamp())
    created_by: str = Field(default="", max_length=255)


class Posting(SQLModel, table=True):
    """One leg of an entry: ``amount`` yen, positive for a debit (借方), negative for a credit (貸方)."""

    __tablename__ = "billing_posting"

    id: int | None = Field(default=None, primary_key=True)
    entry_id: int = Field(foreign_key="billing_journal_entry.id", index=True)
    account_id: int = Field(foreign_key="billing_account.id", index=True)
    amount: int = Field(sa_column=_yen())

    __table_args__ = (sa.CheckConstraint("amount <> 0", name="amount_not_zero"),)


RUN_ENTRY_KINDS = (EntryKind.charge, EntryKind.cost, EntryKind.grant)
"""The kinds of entry an approved run posts (its payers' charges, the year's costs, what the grants fund)."""


# the run lifecycle's guard, generated from RUN_TRANSITIONS (billing/run_guards.py)
_PG_LEDGER_GUARDS["billing_run"] = pg_run_guard(AllocationRun.__table__, RUN_ENTRY_KINDS)
_SQLITE_LEDGER_GUARDS["billing_run"] = sqlite_run_guards(AllocationRun.__table__, RUN_ENTRY_KINDS)


def ledger_guards_sqlite(table: str | None = None) -> dict[str, str]:
    """The SQLite guards of accounts, run lines and runs (or of ``table`` only): trigger name -> CREATE
    statement. Used by ``create_all`` and by migrations 0013 (accounts, run lines) and 0016 (runs)."""
    tables = [table] if table else list(_SQLITE_LEDGER_GUARDS)
    return {name: statement.strip() for t in tables for name, statement in _SQLITE_LEDGER_GUARDS[t].items()}


def ledger_guards_pg(schema: str, table: str | None = None) -> list[str]:
    """The PostgreSQL guards of the ledger, accounts, run lines and runs (or of ``table`` only), naming
    tables in ``schema`` (a quoted identifier). Used by ``create_all`` and by migrations 0006 (all
    but runs) and 0016 (runs)."""
    tables = [table] if table else list(_PG_LEDGER_GUARDS)
    return [statement.replace("{s}", schema) for name in tables for statement in _PG_LEDGER_GUARDS[name]]


for _statement in LEDGER_GUARD_DDL["sqlite"]:
    event.listen(Posting.__table__, "after_create", DDL(_statement.strip()).execute_if(dialect="sqlite"))
# the account guards read billing_posting, so they come once it exists; run lines come after billing_run;
# the run's guard reads billing_journal_entry
for _table, _guards in ((Posting, "billing_account"), (AllocationRunLine, "billing_run_line"),
                        (JournalEntry, "billing_run")):
    for _statement in ledger_guards_sqlite(_guards).values():
        event.listen(_table.__table__, "after_create", DDL(_statement).execute_if(dialect="sqlite"))
for _table in (Posting, Account, AllocationRunLine, AllocationRun):
    event.listen(_table.__table__, "after_create",
                 pg_guard_installer(lambda schema, _name=_table.__tablename__: ledger_guards_pg(schema, _name)))


def _guards_once_every_table_exists(sqlite_guards, pg_guards, created_with: str):
    """An ``after_create`` listener of the whole metadata installing ``sqlite_guards()`` (name ->
    statement) or ``pg_guards(schema)`` when a ``create_all`` made ``created_with`` (or made every
    table): guards that read several tables come once all exist."""
    def install(target, connection, **kw) -> None:
        created = kw.get("tables")
        if created is not None and created_with not in {table.name for table in created}:
            return
        if connection.dialect.name == "sqlite":
            statements = list(sqlite_guards().values())
        elif connection.dialect.name == "postgresql":
            statements = pg_guards(quoted_current_schema(connection))
        else:
            statements = []
        for statement in statements:
            connection.exec_driver_sql(statement)
    return install


# the closed years' guards read the council's tables too; a posted year's read runs, entries, cost
# items and grants
event.listen(SQLModel.metadata, "after_create",
             _guards_once_every_table_exists(year_close_guards.closed_year_guards_sqlite,
                                             year_close_guards.closed_year_guards_pg, "billing_year_close"))
event.listen(SQLModel.metadata, "after_create",
             _guards_once_every_table_exists(posted_year_guards.posted_year_guards_sqlite,
                                             posted_year_guards.posted_year_guards_pg, "billing_run"))
