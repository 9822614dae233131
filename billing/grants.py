"""Use cases of grants (交付金): entering a grant of a fiscal year, its decision (交付決定) and its
fixed amount (額の確定). The conventions of every billing operation are stated in
:mod:`billing.operations`.

A grant funds ``rate × eligible`` of the year's costs rounded down to its unit (1 yen, or 1,000 yen:
千円未満切捨て, as its 交付要綱 says), never more than its cap (the fixed amount, else the decided amount,
else the applied amount), or exactly its fixed amount where that is authoritative: :func:`billing.allocation.apply_grants`
is the one rule, and an allocation run shares what the grants leave. A year whose run is posted
keeps its grants as they are (like its cost items), except that the fixed amount, known only after
the year, may be recorded at any time: it changes nothing posted.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from billing import allocation
from billing.errors import AllocationError
from billing.closed_years import refuse_if_closed
from billing.ledger_errors import BillingConflict, BillingNotFound, InvalidBillingData
from billing.models import CostCategory, CostItem, Grant, GrantRounding
from billing.operations import _cost_items, _manage, _refuse_if_year_posted
from billing.schemas import GrantCreate, GrantFix, fraction_text, parse_fraction
from core import audit, authz
from core.actor import Actor
from core.calendar import fiscal_year_ja


def _words(values: str) -> list[str]:
    return [value for value in values.split() if value]


def grant_value(grant: Grant) -> allocation.Grant:
    """The grant as the allocation's arithmetic takes it."""
    return allocation.Grant(id=str(grant.id), rate=parse_fraction(grant.rate),
                            categories=frozenset(_words(grant.categories)), item_ids=frozenset(_words(grant.item_ids)),
                            cap=grant.cap, unit=GrantRounding(grant.rounding).unit,
                            exact=grant.fixed_amount if grant.fixed_amount_authoritative else None)


def cost_value(item: CostItem) -> allocation.CostItem:
    """A cost item as the allocation's arithmetic takes it (its category decides grant eligibility)."""
    return allocation.CostItem(id=str(item.id), amount=item.amount, category=CostCategory(item.category).value)


def grant_summary(grant: Grant) -> dict[str, Any]:
    """A grant as runs snapshot it, the API returns it and the audit log records it."""
    categories = _words(grant.categories)
    return {
        "id": grant.id,
        "fiscal_year": grant.fiscal_year,
        "name": grant.name,
        "grantor": grant.grantor,
        "rate": grant.rate,
        "categories": categories,
        "categories_ja": [CostCategory(category).ja for category in categories],
        "item_ids": [int(item_id) for item_id in _words(grant.item_ids)],
        "applied_amount": grant.applied_amount,
        "decided_amount": grant.decided_amount,
        "decided_on": grant.decided_on.isoformat() if grant.decided_on else None,
        "decision_reference": grant.decision_reference,
        "fixed_amount": grant.fixed_amount,
        "fixed_on": grant.fixed_on.isoformat() if grant.fixed_on else None,
        "cap": grant.cap,
        "rounding": GrantRounding(grant.rounding).value,
        "rounding_ja": GrantRounding(grant.rounding).ja,
        "fixed_amount_authoritative": grant.fixed_amount_authoritative,
    }


def year_grants(session: Session, fiscal_year: int) -> list[Grant]:
    return list(session.scalars(sa.select(Grant).where(Grant.fiscal_year == fiscal_year).order_by(Grant.id)))


def list_grants(session: Session, actor: Actor, fiscal_year: int | None = None) -> list[Grant]:
    authz.authorize(actor, "billing.read")
    query = sa.select(Grant).order_by(Grant.fiscal_year, Grant.id)
    if fiscal_year is not None:
        query = query.where(Grant.fiscal_year == fiscal_year)
    return list(session.scalars(query))


def get_grant(session: Session, grant_id: int) -> Grant:
    grant = session.get(Grant, grant_id)
    if grant is None:
        raise BillingNotFound(f"No grant #{grant_id}.", f"交付金 #{grant_id} は登録されていません。", grant_id=grant_id)
    return grant


def read_grant(session: Session, actor: Actor, grant_id: int) -> Grant:
    authz.authorize(actor, "billing.read")
    return get_grant(session, grant_id)


def _refuse_if_posted(session: Session, fiscal_year: int) -> None:
    _refuse_if_year_posted(session, fiscal_year, ("grants", "交付金"),
                           (" (A fixed amount can be recorded at any time.)", "（確定額の登録はいつでもできます）"))


def _check_fits_the_year(session: Session, fiscal_year: int, data: GrantCreate, grant_id: int | None) -> None:
    """The items named are the year's, and no cost item is claimed by two grants of the year."""
    items = _cost_items(session, fiscal_year)
    known = {item.id for item in items}
    unknown = [item_id for item_id in data.item_ids if item_id not in known]
    if unknown:
        listed = ", ".join(f"#{item_id}" for item_id in unknown)
        raise InvalidBillingData(
            f"cost items {listed} are not cost items of FY{fiscal_year}",
            f"費目 {listed} は{fiscal_year_ja(fiscal_year)}の費目ではありません。",
            problems=[{"field": "item_ids", "message_en": f"Not a cost item of FY{fiscal_year}: {listed}.",
                       "message_ja": f"{fiscal_year_ja(fiscal_year)}の費目ではありません: {listed}"}])
    clash = session.scalars(sa.select(Grant).where(Grant.fiscal_year == fiscal_year, Grant.name == data.name,
                                                   Grant.id != (grant_id or 0))).first()
    if clash is not None:
        raise BillingConflict(f"FY{fiscal_year} already has a grant named {data.name!r} (#{clash.id})",
                              f"{fiscal_year_ja(fiscal_year)}には同じ名称の交付金（#{clash.id}）が登録されています。",
                              grant_id=clash.id)
    candidate = allocation.Grant(id="new", rate=parse_fraction(data.rate),
                                 categories=frozenset(category.value for category in data.categories),
                                 item_ids=frozenset(str(item_id) for item_id in data.item_ids))
    others = [grant_value(grant) for grant in year_grants(session, fiscal_year) if grant.id != grant_id]
    try:
        allocation.apply_grants([cost_value(item) for item in items], [*others, candidate])
    except AllocationError as error:
        raise InvalidBillingData(error.message_en, error.message_ja, problems=[
            {"field": "categories", "message_en": "A cost item would be funded by two grants of the year.",
             "message_ja": "同じ費目が年度内の二つの交付金の対象になります。対象経費を見直してください。"}]) from None


def _apply(grant: Grant, data: GrantCreate) -> None:
    grant.fiscal_year, grant.name, grant.grantor = data.fiscal_year, data.name, data.grantor
    grant.rate = fraction_text(parse_fraction(data.rate))
    grant.categories = " ".join(category.value for category in data.categories)
    grant.item_ids = " ".join(str(item_id) for item_id in data.item_ids)
    grant.applied_amount, grant.decided_amount, grant.decided_on = data.applied_amount, data.decided_amount, data.decided_on
    grant.decision_reference = data.decision_reference
    grant.rounding, grant.fixed_amount_authoritative = data.rounding, data.fixed_amount_authoritative


def create_grant(session: Session, actor: Actor, data: GrantCreate) -> Grant:
    """Enter a grant of a fiscal year (its application, or its decision when known)."""
    _manage(actor)
    _refuse_if_posted(session, data.fiscal_year)
    _check_fits_the_year(session, data.fiscal_year, data, None)
    grant = Grant(created_by=actor.recorded_name, fiscal_year=data.fiscal_year, name="", grantor="", rate="")
    _apply(grant, data)
    session.add(grant)
    session.flush()
    audit.record(session, actor, "billing.grant.create", "grant", str(grant.id), after=grant_summary(grant))
    return grant


def update_grant(session: Session, actor: Actor, grant_id: int, data: GrantCreate) -> Grant:
    """Change a grant (its decision, its costs, its rate) while no run of its year is posted."""
    _manage(actor)
    grant = get_grant(session, grant_id)
    before = grant_summary(grant)
    for year in {grant.fiscal_year, data.fiscal_year}:
        _refuse_if_posted(session, year)
    _check_fits_the_year(session, data.fiscal_year, data, grant.id)
    _apply(grant, data)
    session.flush()
    audit.record(session, actor, "billing.grant.update", "grant", str(grant.id), before=before,
                 after=grant_summary(grant))
    return grant


def delete_grant(session: Session, actor: Actor, grant_id: int) -> None:
    _manage(actor)
    grant = get_grant(session, grant_id)
    _refuse_if_posted(session, grant.fiscal_year)
    before = grant_summary(grant)
    session.delete(grant)
    session.flush()
    audit.record(session, actor, "billing.grant.delete", "grant", str(grant_id), before=before)


def fix_grant(session: Session, actor: Actor, grant_id: int, data: GrantFix) -> Grant:
    """Record the grant's fixed amount (額の確定). Allowed at any time: it changes nothing posted;
    the year's settlement (精算) works from it."""
    _manage(actor)
    grant = get_grant(session, grant_id)
    refuse_if_closed(session, grant.fiscal_year)
    before = grant_summary(grant)
    grant.fixed_amount, grant.fixed_on = data.fixed_amount, data.fixed_on
    if grant.fixed_amount_authoritative:
        try:
            allocation.apply_grants([cost_value(item) for item in _cost_items(session, grant.fiscal_year)],
                                    [grant_value(grant)])
        except AllocationError as error:
            raise InvalidBillingData(error.message_en, error.message_ja, problems=[
                {"field": "fixed_amount", "message_en": "The fixed amount is more than the grant's eligible costs.",
                 "message_ja": "確定額が交付対象経費を超えています。交付額確定通知書の金額を確かめてください。"}]) from None
    session.flush()
    audit.record(session, actor, "billing.grant.fix", "grant", str(grant.id), before=before,
                 after=grant_summary(grant))
    return grant


@dataclasses.dataclass(frozen=True)
class YearFunding:
    """A year's funding as it stands now (what the next run would take): 事業費, each grant with what it
    funds, and 負担対象額, what the payers share."""

    fiscal_year: int
    cost_total: int
    grants: tuple[tuple[Grant, allocation.GrantShare], ...]

    @property
    def grant_total(self) -> int:
        return sum(share.amount for _, share in self.grants)

    @property
    def shared(self) -> int:
        return self.cost_total - self.grant_total


def year_funding(session: Session, actor: Actor, fiscal_year: int) -> YearFunding:
    """The year's costs, grants and what they leave, by the allocation's own rule
    (:func:`billing.allocation.apply_grants`)."""
    authz.authorize(actor, "billing.read")
    items = _cost_items(session, fiscal_year)
    found = year_grants(session, fiscal_year)
    try:
        shares = allocation.apply_grants([cost_value(item) for item in items], [grant_value(grant) for grant in found])
    except AllocationError as error:
        raise InvalidBillingData(error.message_en, error.message_ja) from None
    return YearFunding(fiscal_year, sum(item.amount for item in items), tuple(zip(found, shares)))
