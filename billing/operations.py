"""Use cases of billing: cost items, allocation policies, allocation runs, payments.

Each operation takes the session and the acting :class:`~core.actor.Actor`, asks the
authorization policy itself, flushes and never commits (the request or command commits once),
and records every state change exactly once with :func:`core.audit.record`. A refused act
raises a :mod:`billing.ledger_errors` error (or :class:`core.errors.NotPermitted`) and records
nothing.

Who may do what (the policy is :mod:`core.authz`): every change needs ``billing.manage``
(finance). Cost items and policies are read with ``billing.read`` of any scope; a statement
needs ``billing.read`` on its tenant; runs, the ledger and the year's summary show every
tenant's share, so they need ``billing.read`` for all tenants (:func:`require_all_tenants`).
Functions without an actor (``get_run``, ``run_lines``, ``get_policy`` ...) are helpers for
operations that have authorised their act already.

Cost items meet the overhead rule and the adopted budget's contract ceiling (:mod:`billing.cost_rules`).

Here: the helpers every billing operation shares, cost items, payments and the ledger read. Policies
and their adoption are :mod:`billing.allocation_policies`; allocation runs :mod:`billing.allocation_runs`.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from billing import allocation, ledger, overdue
from billing.closed_years import refuse_if_closed
from billing.cost_rules import check_cost_rules
from billing.ledger_errors import BillingConflict, BillingNotFound
from billing.models import (FREEZING_RUN_KINDS, TAX_RATE_PERCENT, AllocationRun, CostCategory, CostItem, EntryKind,
                            JournalEntry, RunStatus, TaxTreatment)
from billing.schemas import CostItemCreate, PaymentCreate
from core import audit, authz
from core.actor import Actor, identity_key, same_person
from core.calendar import fiscal_year_ja
from core.errors import NotPermitted
from tenancy.registry.models import Tenant


def require_all_tenants(actor: Actor, action: str = "billing.read") -> authz.Grant:
    """The actor's grant for ``action`` over every tenant: runs, the ledger and the year's summary
    show every tenant's share, so someone who may read only their own tenant's figures is refused."""
    grant = authz.authorize(actor, action)
    if not grant.all_tenants:
        raise NotPermitted(
            "This view shows every tenant's share; you may read your own tenant's statement only.",
            "この画面は全団体の負担金を含むため閲覧できません。自団体の負担金通知のみ閲覧できます。",
            action=action,
        )
    return grant


def _manage(actor: Actor) -> None:
    authz.authorize(actor, "billing.manage")


_key = identity_key  # the four-eyes rule's home is core.actor (the residents' recovery follows it too)
_same_person = same_person


# --- cost items -------------------------------------------------------------------------------------

def _default_tax(amount: int, treatment: TaxTreatment) -> int:
    # Tax contained in a tax-included amount, rounded down as Japanese invoices usually do.
    rate = TAX_RATE_PERCENT.get(TaxTreatment(treatment))
    return amount * rate // (100 + rate) if rate else 0


def cost_item_summary(item: CostItem) -> dict[str, Any]:
    return {
        "id": item.id,
        "fiscal_year": item.fiscal_year,
        "name": item.name,
        "category": CostCategory(item.category).value,
        "category_ja": CostCategory(item.category).ja,
        "amount": item.amount,
        "invoiced_amount": item.invoiced_amount,
        "tax_treatment": TaxTreatment(item.tax_treatment).value,
        "tax_amount": item.tax_amount,
        "vendor": item.vendor,
        "reference": item.reference,
        "amortisation_years": item.amortisation_years,
        "amortisation_index": item.amortisation_index,
        "amortised_from_id": item.amortised_from_id,
    }


def _posted_run(session: Session, fiscal_year: int) -> AllocationRun | None:
    return session.scalars(
        sa.select(AllocationRun).where(AllocationRun.fiscal_year == fiscal_year,
                                       AllocationRun.status == RunStatus.approved,
                                       AllocationRun.kind.in_(FREEZING_RUN_KINDS))
        .order_by(AllocationRun.id.desc())
    ).first()


def posted_run(session: Session, fiscal_year: int) -> AllocationRun | None:
    """The year's approved (posted, not reversed) run that fixes it (確定 or 精算), if any: its cost
    items can no longer change (under a 概算 they stay open for the 精算; the database guards the same,
    :mod:`billing.posted_year_guards`)."""
    return _posted_run(session, fiscal_year)


def _refuse_if_year_posted(session: Session, fiscal_year: int, what: tuple[str, str] = ("cost items", "費目"),
                           also: tuple[str, str] = ("", "")) -> None:
    """Refused when the year is closed or has a posted run: ``what`` (English, Japanese) of it can
    change only after that run is reversed; ``also`` adds a sentence of the caller's."""
    refuse_if_closed(session, fiscal_year)
    run = _posted_run(session, fiscal_year)
    if run is not None:
        raise BillingConflict(
            f"FY{fiscal_year} has a posted allocation run (#{run.id}); its {what[0]} can change only "
            f"after that run is reversed.{also[0]}",
            f"{fiscal_year_ja(fiscal_year)}は按分計算（#{run.id}）が計上済みのため、{what[1]}を変更できません。"
            f"変更する場合は先にその按分計算を取り消してください。{also[1]}",
            run_id=run.id, fiscal_year=fiscal_year,
        )


def create_cost_item(session: Session, actor: Actor, data: CostItemCreate) -> list[CostItem]:
    """Enter a cost line; an amortised build cost becomes one row per fiscal year of its period."""
    _manage(actor)
    yearly = allocation.amortise(data.amount, data.amortisation_years)
    years = [data.fiscal_year + offset for offset in range(data.amortisation_years)]
    for year in years:
        _refuse_if_year_posted(session, year)
    tax = data.tax_amount if data.tax_amount is not None else _default_tax(data.amount, data.tax_treatment)
    yearly_tax = allocation.amortise(tax, data.amortisation_years)
    items = _add_cost_rows(session, actor, data, years, yearly, yearly_tax)
    for year in years:
        check_cost_rules(session, year)
    audit.record(session, actor, "billing.cost_item.create", "cost_item", str(items[0].id),
                 after=[cost_item_summary(item) for item in items])
    return items


def _add_cost_rows(session: Session, actor: Actor, data: CostItemCreate, years: list[int], yearly: list[int],
                   yearly_tax: list[int]) -> list[CostItem]:
    items: list[CostItem] = []
    for index, (year, amount, year_tax) in enumerate(zip(years, yearly, yearly_tax), start=1):
        item = CostItem(
            fiscal_year=year, name=data.name, category=data.category, amount=amount,
            invoiced_amount=data.amount, tax_treatment=data.tax_treatment, tax_amount=year_tax,
            vendor=data.vendor, reference=data.reference, amortisation_years=data.amortisation_years,
            amortisation_index=index, amortised_from_id=items[0].id if items else None, created_by=actor.recorded_name,
        )
        session.add(item)
        session.flush()
        items.append(item)
    return items


def get_cost_item(session: Session, item_id: int) -> CostItem:
    item = session.get(CostItem, item_id)
    if item is None:
        raise BillingNotFound(f"no cost item {item_id}", f"費目 {item_id} はありません。", cost_item_id=item_id)
    return item


def list_cost_items(session: Session, actor: Actor, fiscal_year: int | None = None) -> list[CostItem]:
    """The cost items (of one fiscal year): readable by anyone who reads billing."""
    authz.authorize(actor, "billing.read")
    return _cost_items(session, fiscal_year)


def _cost_items(session: Session, fiscal_year: int | None = None) -> list[CostItem]:
    query = sa.select(CostItem).order_by(CostItem.fiscal_year, CostItem.category, CostItem.id)
    if fiscal_year is not None:
        query = query.where(CostItem.fiscal_year == fiscal_year)
    return list(session.scalars(query))


def cost_item_group(session: Session, item: CostItem) -> list[CostItem]:
    """Every year's row of the cost line ``item`` belongs to (one row unless amortised), first year first."""
    first_id = item.amortised_from_id or item.id
    return list(session.scalars(
        sa.select(CostItem).where(sa.or_(CostItem.id == first_id, CostItem.amortised_from_id == first_id))
        .order_by(CostItem.amortisation_index)
    ))


def cost_item_input(session: Session, item: CostItem) -> dict[str, Any]:
    """The cost line as it was entered (the first year, the whole invoice): what an edit form starts from."""
    group = cost_item_group(session, item)
    first = group[0]
    return {
        "fiscal_year": first.fiscal_year, "name": first.name, "category": CostCategory(first.category).value,
        "amount": first.invoiced_amount, "tax_treatment": TaxTreatment(first.tax_treatment).value,
        "tax_amount": sum(member.tax_amount for member in group), "vendor": first.vendor,
        "reference": first.reference, "amortisation_years": first.amortisation_years,
    }


def cost_item_locked(session: Session, item: CostItem) -> AllocationRun | None:
    """The approved run that uses this cost line (any year of it), if any: then it cannot change."""
    for member in cost_item_group(session, item):
        run = _posted_run(session, member.fiscal_year)
        if run is not None:
            return run
    return None


def update_cost_item(session: Session, actor: Actor, item_id: int, data: CostItemCreate) -> list[CostItem]:
    """Correct a cost line (every year of an amortised one) until an approved run uses it.

    The rows keep their ids when the years stay the same (a computed run then sees the change and
    cannot be approved: it must be computed again); a different first year or amortisation period
    replaces the rows. Refused when any old or new year has a posted (approved) run.
    """
    _manage(actor)
    item = get_cost_item(session, item_id)
    group = cost_item_group(session, item)
    new_years = [data.fiscal_year + offset for offset in range(data.amortisation_years)]
    for year in sorted({member.fiscal_year for member in group} | set(new_years)):
        _refuse_if_year_posted(session, year)
    before = [cost_item_summary(member) for member in group]
    yearly = allocation.amortise(data.amount, data.amortisation_years)
    tax = data.tax_amount if data.tax_amount is not None else _default_tax(data.amount, data.tax_treatment)
    yearly_tax = allocation.amortise(tax, data.amortisation_years)
    if [member.fiscal_year for member in group] == new_years:
        for member, amount, year_tax in zip(group, yearly, yearly_tax):
            member.name, member.category, member.amount = data.name, data.category, amount
            member.invoiced_amount, member.tax_treatment, member.tax_amount = data.amount, data.tax_treatment, year_tax
            member.vendor, member.reference = data.vendor, data.reference
        session.flush()
        items = group
    else:
        for member in reversed(group):
            session.delete(member)
            session.flush()
        items = _add_cost_rows(session, actor, data, new_years, yearly, yearly_tax)
    for year in sorted({member.fiscal_year for member in group} | set(new_years)):
        check_cost_rules(session, year)
    audit.record(session, actor, "billing.cost_item.update", "cost_item", str(items[0].id),
                 before=before, after=[cost_item_summary(member) for member in items])
    return items


def delete_cost_item(session: Session, actor: Actor, item_id: int) -> None:
    """Withdraw a cost line entered by mistake (every year of an amortised one), unless posted."""
    _manage(actor)
    item = get_cost_item(session, item_id)
    group = cost_item_group(session, item)
    first_id = group[0].id
    for year in sorted({member.fiscal_year for member in group}):
        _refuse_if_year_posted(session, year)
    before = [cost_item_summary(member) for member in group]
    for member in reversed(group):
        session.delete(member)
        session.flush()
    for year in sorted({member["fiscal_year"] for member in before}):
        check_cost_rules(session, year)
    audit.record(session, actor, "billing.cost_item.delete", "cost_item", str(first_id), before=before)


# --- payments ------------------------------------------------------------------------------------------

PAYMENT_ACTION = "billing.payment.record"  # the audit record of a payment: ``renkei check`` matches each entry with it


def record_payment(session: Session, actor: Actor, data: PaymentCreate, *, evidence: dict[str, Any] | None = None) -> JournalEntry:
    """Record money received from a tenant: debit the bank, credit the tenant's receivable.

    The tenant code and reference identify the payment: recording the same one again (same
    amount) returns the entry already posted and records nothing new. Only
    :mod:`billing.bank_reconciliation` calls this: a payment comes from a bank line or from a manual
    payment two people decided, and ``evidence`` (which) goes into the payment's one audit record.
    """
    _manage(actor)
    tenant = session.scalars(sa.select(Tenant).where(Tenant.code == data.tenant_code)).one_or_none()
    if tenant is None:
        raise BillingNotFound(f"No tenant with code {data.tenant_code} is registered.",
                              f"団体コード {data.tenant_code} の参加団体は登録されていません。", code=data.tenant_code)
    # the year is part of the key: the same reference and amount for another year is another payment
    key = f"payment:{data.tenant_code}:{data.fiscal_year}:{data.reference}"
    existed = session.scalar(sa.select(JournalEntry.id).where(JournalEntry.idempotency_key == key))
    entry = ledger.post_entry(session, ledger.NewEntry(
        idempotency_key=key, kind=EntryKind.payment, fiscal_year=data.fiscal_year, occurred_on=data.received_on,
        legs=(ledger.debit(ledger.BANK, data.amount), ledger.credit(ledger.receivable(data.tenant_code), data.amount)),
        description=f"{data.fiscal_year}年度 負担金 入金 {tenant.name_ja}（{data.reference}）",
        tenant_code=data.tenant_code, created_by=actor.recorded_name,
    ))
    if existed is None:
        audit.record(session, actor, PAYMENT_ACTION, "journal_entry", str(entry.id),
                     tenant_code=data.tenant_code,
                     after={"fiscal_year": data.fiscal_year, "amount": data.amount,
                            "received_on": data.received_on.isoformat(), "reference": data.reference, **(evidence or {})})
        overdue.mark_paid(session, data.tenant_code, data.fiscal_year, data.received_on)  # its reminders: paid on
    return entry


# --- the ledger, read ----------------------------------------------------------------------------------

def trial_balance(session: Session, actor: Actor, *, as_of: dt.date | None = None,
                  fiscal_year: int | None = None) -> ledger.TrialBalance:
    """The trial balance (試算表): every account, so every tenant's receivable (all-tenants read)."""
    require_all_tenants(actor)
    return ledger.trial_balance(session, as_of=as_of, fiscal_year=fiscal_year)


def journal(session: Session, actor: Actor, *, fiscal_year: int | None = None, tenant_code: str | None = None,
            run_id: int | None = None, account_code: str | None = None) -> list[ledger.PostingView]:
    """Journal entries' postings, filtered (all-tenants read, like the trial balance)."""
    require_all_tenants(actor)
    return list(ledger.postings(session, fiscal_year=fiscal_year, tenant_code=tenant_code, run_id=run_id,
                                account_code=account_code))
