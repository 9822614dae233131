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

The life of an allocation run (按分計算)::

    computed ──review──▶ reviewed ──approve──▶ approved ──reverse──▶ reversed
        └──────────discard──────────┘ (never posted)

*Approve* posts the run to the ledger (one entry per payer, one for the year's costs) through
:mod:`billing.ledger`, the only writer of entries; approving an approved run posts nothing new.
*Reverse* posts a reversal entry for each of the run's entries; the run stays visible with
status ``reversed`` and a new run can then be computed and approved for the year.

Usage figures for ``usage:<metric>`` components come from :data:`USAGE_TOTALS`, by default
``tenancy.usage.metering.usage_total``.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from collections.abc import Callable, Collection, Sequence
from fractions import Fraction
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from billing import allocation, ledger
from billing.errors import AllocationError
from billing.ledger_errors import (
    BillingConflict,
    BillingNotFound,
    FourEyesRefused,
    IllegalTransition,
    InvalidBillingData,
)
from billing.models import (
    CATEGORY_LABELS_JA,
    RUN_STATUS_LABELS_JA,
    RUN_TRANSITIONS,
    TAX_RATE_PERCENT,
    AllocationPolicy,
    AllocationRun,
    AllocationRunLine,
    CostCategory,
    CostItem,
    EntryKind,
    JournalEntry,
    PolicyStatus,
    RunStatus,
    TaxTreatment,
)
from billing.schemas import CostItemCreate, PaymentCreate, PolicyCreate, fraction_text, parse_fraction
from core import audit, authz
from core.actor import Actor
from core.calendar import fiscal_year_en, fiscal_year_ja, fiscal_year_of, fiscal_year_start, to_jst, today_jst
from core.db import utcnow
from core.errors import DomainError, NotPermitted
from tenancy.registry.history import active_intervals, histories, participation_months
from tenancy.registry.models import STATUS_LABELS_JA, Tenant, TenantKind, TenantStatus
from tenancy.usage.metering import usage_total, usage_totals
from tenancy.usage.models import METRICS


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


def _who(actor: Actor) -> str:
    return (actor.name or actor.subject)[:255]


who = _who  # the name a run or a document records for the person acting


def _key(actor: Actor) -> str:
    """The person, by identity (issuer and subject): names may repeat, identities do not."""
    return f"{actor.issuer} {actor.subject}"[:600]


# --- usage hook -------------------------------------------------------------------------------------

USAGE_TOTALS: Callable[[Session, str, str, int], int] = usage_total
"""``(session, tenant_code, metric, fiscal_year) -> int``: a tenant's metered total for a year.
Replace it (tests, another metering source) to change where usage figures come from."""


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
        "category_ja": CATEGORY_LABELS_JA[CostCategory(item.category)],
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
                                       AllocationRun.status == RunStatus.approved)
    ).one_or_none()


def posted_run(session: Session, fiscal_year: int) -> AllocationRun | None:
    """The year's approved (posted, not reversed) run, if any: its cost items can no longer change."""
    return _posted_run(session, fiscal_year)


def _refuse_if_year_posted(session: Session, fiscal_year: int) -> None:
    run = _posted_run(session, fiscal_year)
    if run is not None:
        raise BillingConflict(
            f"FY{fiscal_year} has a posted allocation run (#{run.id}); its cost items can change only "
            "after that run is reversed.",
            f"{fiscal_year_ja(fiscal_year)}は按分計算（#{run.id}）が計上済みのため、費目を変更できません。"
            "変更する場合は先にその按分計算を取り消してください。",
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
            amortisation_index=index, amortised_from_id=items[0].id if items else None, created_by=_who(actor),
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
    audit.record(session, actor, "billing.cost_item.delete", "cost_item", str(first_id), before=before)


# --- policies -----------------------------------------------------------------------------------------

def policy_components(policy: AllocationPolicy) -> list[tuple[str, Fraction]]:
    return [(component["basis"], parse_fraction(component["weight"])) for component in json.loads(policy.components_json)]


def policy_value(policy: AllocationPolicy) -> allocation.Policy:
    """The stored policy as the allocation's value type."""
    share = parse_fraction(policy.prefecture_share) if policy.prefecture_share is not None else None
    return allocation.Policy(
        prefecture_share=share,
        components=tuple(allocation.Component(basis, weight) for basis, weight in policy_components(policy)),
        floor=policy.floor,
        cap=policy.cap,
    )


def percent_text(value: Fraction) -> str:
    """``1/2`` → ``50%``, ``1/8`` → ``12.5%``, ``1/3`` → ``1/3``: exact, never a rounded float."""
    percent = Fraction(value) * 100
    if percent.denominator == 1:
        return f"{percent.numerator}%"
    for places in (1, 2, 3):
        scaled = percent * 10**places
        if scaled.denominator == 1:
            whole, rest = divmod(scaled.numerator, 10**places)
            return f"{whole}.{rest:0{places}d}%"
    return fraction_text(value)


def basis_label_ja(basis: str) -> str:
    if basis == allocation.EQUAL:
        return "均等割"
    if basis == allocation.POPULATION:
        return "人口割"
    if basis == allocation.PREFECTURE_COMPONENT:
        return "県負担"
    metric = allocation.usage_metric(basis)
    return f"利用割（{metric_label_ja(metric)}）" if metric is not None else basis


def metric_label_ja(metric: str) -> str:
    """A usage metric in words (「API 呼び出し回数」), the code itself for a metric not in the table."""
    known = METRICS.get(metric)
    return known.label_ja.replace("（月間）", "") if known is not None else metric


def describe_policy_ja(prefecture_share: Fraction | None, components: list[tuple[str, Fraction]],
                       floor: int | None = None, cap: int | None = None) -> str:
    """The policy in words: 「県負担 50%、残りを均等割 50%・人口割 50% で按分」."""
    parts = "・".join(f"{basis_label_ja(basis)} {percent_text(weight)}" for basis, weight in components)
    if prefecture_share is None or prefecture_share == 0:
        text = f"{parts} で按分"
    elif prefecture_share == 1:
        text = "県負担 100%"
    else:
        text = f"県負担 {percent_text(prefecture_share)}、残りを{parts} で按分"
    bounds = []
    if floor is not None:
        bounds.append(f"下限 {floor:,}円")
    if cap is not None:
        bounds.append(f"上限 {cap:,}円")
    if bounds and prefecture_share != 1:
        text += f"（1団体あたり年額 {'・'.join(bounds)}）"
    return text


def describe_policy(policy: AllocationPolicy) -> str:
    share = parse_fraction(policy.prefecture_share) if policy.prefecture_share is not None else None
    return describe_policy_ja(share, policy_components(policy), policy.floor, policy.cap)


def policy_summary(policy: AllocationPolicy) -> dict[str, Any]:
    return {
        "id": policy.id,
        "name": policy.name,
        "version": policy.version,
        "description": policy.description,
        "prefecture_share": policy.prefecture_share,
        "components": json.loads(policy.components_json),
        "floor": policy.floor,
        "cap": policy.cap,
        "status": PolicyStatus(policy.status).value,
        "resolution_ref": policy.resolution_ref,
        "adopted_at": policy.adopted_at.isoformat() if policy.adopted_at else None,
        "adopted_by": policy.adopted_by,
        "in_words": describe_policy(policy),
    }


def create_policy(session: Session, actor: Actor, data: PolicyCreate) -> AllocationPolicy:
    """Record a new policy version (the next version of ``data.name``). Versions never change."""
    _manage(actor)
    components = [(component.basis, parse_fraction(component.weight)) for component in data.components]
    share = parse_fraction(data.prefecture_share) if data.prefecture_share is not None else None
    try:
        allocation.Policy(
            prefecture_share=share,
            components=tuple(allocation.Component(basis, weight) for basis, weight in components),
            floor=data.floor, cap=data.cap,
        )
    except AllocationError as error:
        raise InvalidBillingData(error.message_en, error.message_ja, problems=[
            {"field": "components", "message_en": error.message_en, "message_ja": error.message_ja}
        ]) from None
    latest = session.scalar(sa.select(sa.func.max(AllocationPolicy.version)).where(AllocationPolicy.name == data.name))
    policy = AllocationPolicy(
        name=data.name, version=(latest or 0) + 1, description=data.description,
        prefecture_share=fraction_text(share) if share is not None else None,
        components_json=json.dumps([{"basis": basis, "weight": fraction_text(weight)} for basis, weight in components]),
        floor=data.floor, cap=data.cap, created_by=_who(actor), created_by_key=_key(actor),
    )
    session.add(policy)
    session.flush()
    audit.record(session, actor, "billing.policy.create", "allocation_policy", str(policy.id), after=policy_summary(policy))
    return policy


def get_policy(session: Session, policy_id: int) -> AllocationPolicy:
    policy = session.get(AllocationPolicy, policy_id)
    if policy is None:
        raise BillingNotFound(f"no allocation policy {policy_id}", f"按分方式 {policy_id} はありません。",
                              policy_id=policy_id)
    return policy


def read_policy(session: Session, actor: Actor, policy_id: int) -> AllocationPolicy:
    authz.authorize(actor, "billing.read")
    return get_policy(session, policy_id)


def list_policies(session: Session, actor: Actor) -> list[AllocationPolicy]:
    authz.authorize(actor, "billing.read")
    return list(session.scalars(sa.select(AllocationPolicy).order_by(AllocationPolicy.name, AllocationPolicy.version)))


def adopted_policy(session: Session) -> AllocationPolicy | None:
    return session.scalars(sa.select(AllocationPolicy).where(AllocationPolicy.status == PolicyStatus.adopted)).one_or_none()


# --- council resolutions, as billing sees them ----------------------------------------------------

@dataclasses.dataclass(frozen=True)
class CouncilDecision:
    """A council resolution (議決) as billing reads it: governance's record, handed over by the
    composition root (``admin/wiring.py``) through :data:`COUNCIL_RESOLUTIONS`, since billing and
    governance do not import each other."""

    id: int
    ref: str  # the stable reference an adopted policy stores, e.g. ``council-resolution:12``
    fiscal_year: int
    number: int
    title: str  # the proposal's title
    decided_at: dt.datetime
    adopted: bool  # 可決 (else 否決)
    change_type: str  # the proposal's change type: ``free_text``, ``adopt_allocation_policy`` ...
    enacted_ref: str  # what carried it out, e.g. ``allocation_policy:3``; "" while nothing has
    label_ja: str  # 「令和7年度 協議会議決第3号」
    label_en: str


def _no_council(session: Session, resolution_id: int | None = None) -> list[CouncilDecision]:
    return []


COUNCIL_RESOLUTIONS: Callable[[Session, int | None], list[CouncilDecision]] = _no_council
"""``(session, resolution_id or None for all) -> [CouncilDecision]``: the council's resolutions.
Set by the composition root; without a council every picked resolution is unknown (refused)."""

NOTE_ENACTED: Callable[[Session, int, str], None] = lambda session, resolution_id, reference: None
"""``(session, resolution_id, reference)``: note on the resolution what carried it out, once."""

def council_decision(session: Session, resolution_id: int) -> CouncilDecision | None:
    """One council resolution by its id, ``None`` when there is none."""
    return next((item for item in COUNCIL_RESOLUTIONS(session, resolution_id) if item.id == resolution_id), None)


POLICY_RESOLUTION_CHANGES = ("free_text", "adopt_allocation_policy")


def resolution_refusal(decision: CouncilDecision, policy: AllocationPolicy,
                       fiscal_year: int) -> tuple[str, str] | None:
    """Why ``decision`` cannot stand for adopting ``policy`` in ``fiscal_year`` (English, Japanese),
    ``None`` when it can: the council adopted it (可決) in this fiscal year, on an allocation policy
    or an other matter, and it has not carried out anything else (a resolution adopts one policy)."""
    label_en, label_ja = decision.label_en, decision.label_ja
    if not decision.adopted:
        return (f"{label_en} was not adopted by the council (rejected).",
                f"{label_ja}は否決された議決のため、採用の根拠にできません。")
    if decision.fiscal_year != fiscal_year:
        return (f"{label_en} is of another fiscal year; pick a resolution of {fiscal_year_en(fiscal_year)}.",
                f"{label_ja}は別の年度の議決です。{fiscal_year_ja(fiscal_year)}の議決を選んでください。")
    if decision.change_type not in POLICY_RESOLUTION_CHANGES or (
            decision.enacted_ref and decision.enacted_ref != f"allocation_policy:{policy.id}"):
        return (f"{label_en} decided another matter ({decision.enacted_ref or decision.change_type}), "
                f"not this allocation policy.",
                f"{label_ja}は別の事項についての議決のため、この按分方式の採用の根拠にできません。")
    return None


def resolution_choices(session: Session, actor: Actor,
                       policies: Sequence[AllocationPolicy]) -> dict[int, list[CouncilDecision]]:
    """For each policy, the resolutions a finance officer may pick to adopt it (newest first): the
    pickers' lists. The council's resolutions are read once for all."""
    _manage(actor)
    year = fiscal_year_of(utcnow())
    decisions = sorted(COUNCIL_RESOLUTIONS(session, None), key=lambda item: (item.fiscal_year, item.number), reverse=True)
    return {policy.id: [decision for decision in decisions if resolution_refusal(decision, policy, year) is None]
            for policy in policies}


def resolutions_for_policy(session: Session, actor: Actor, policy_id: int) -> list[CouncilDecision]:
    """The resolutions a finance officer may pick to adopt policy ``policy_id`` (newest first)."""
    _manage(actor)
    policy = get_policy(session, policy_id)
    return resolution_choices(session, actor, [policy])[policy.id]


def drafted_by(policy: AllocationPolicy, actor: Actor) -> bool:
    """Whether ``actor`` drafted ``policy`` (and so may adopt it only with a council resolution)."""
    return _same_person(actor, policy.created_by_key, policy.created_by)


def resolution_text(session: Session, resolution_ref: str | None) -> str | None:
    """A policy's resolution reference as people read it: 「令和8年度 協議会議決第3号（title）」 for a
    council resolution (``council-resolution:12``); any other text (typed before resolutions were
    picked) as it is."""
    prefix = "council-resolution:"
    if not resolution_ref or not resolution_ref.startswith(prefix) or not resolution_ref[len(prefix):].isdigit():
        return resolution_ref
    decision = council_decision(session, int(resolution_ref[len(prefix):]))
    return f"{decision.label_ja}（{decision.title}）" if decision is not None else resolution_ref


ADOPT_ALONE_JA = ("按分方式を作成した担当者は、ひとりでは採用できません。別の財政担当者が採用するか、"
                  "採用を決めた協議会の議決を選んでください。")
ADOPT_ALONE_EN = ("You drafted this allocation policy, so you cannot adopt it alone: another finance officer "
                  "adopts it, or pick the council resolution that decided it (four eyes).")


def _adoption_authority(session: Session, actor: Actor, policy: AllocationPolicy, resolution_id: int | None, *,
                        by_council: bool = False, four_eyes: bool = True) -> CouncilDecision | None:
    """The resolution that stands for adopting ``policy`` (``None``: a second finance officer adopts,
    or without ``four_eyes`` any finance officer), or the refusal: an unknown resolution, one that
    cannot stand for it, or the drafter alone where the office requires four eyes."""
    if resolution_id is not None and (isinstance(resolution_id, bool) or not isinstance(resolution_id, int)):
        raise TypeError("resolution_id is a council resolution's id (an int), not text")
    decision = None
    if resolution_id is not None:
        decision = council_decision(session, resolution_id)
        if decision is None:
            raise InvalidBillingData(
                f"There is no council resolution {resolution_id}; pick one of the council's resolutions.",
                "選んだ協議会の議決が見つかりません。協議会の議決から選んでください。",
                problems=[{"field": "resolution_id", "message_en": "No such council resolution.",
                           "message_ja": "該当する議決がありません。"}], resolution_id=resolution_id)
        refusal = None if by_council else resolution_refusal(decision, policy, fiscal_year_of(utcnow()))
        if refusal is not None:
            raise InvalidBillingData(refusal[0], refusal[1], problems=[
                {"field": "resolution_id", "message_en": refusal[0], "message_ja": refusal[1]}],
                resolution_id=resolution_id)
    if decision is None and four_eyes and drafted_by(policy, actor):
        raise FourEyesRefused(ADOPT_ALONE_EN, ADOPT_ALONE_JA, policy_id=policy.id, rule="four_eyes", problems=[
            {"field": "resolution_id", "message_en": ADOPT_ALONE_EN, "message_ja": ADOPT_ALONE_JA}])
    return decision


def check_adoption(session: Session, actor: Actor, policy_id: int, resolution_id: int | None, *,
                   four_eyes: bool = True) -> None:
    """Refuse now, writing nothing, what :func:`adopt_policy` would refuse (before a confirmation step)."""
    _manage(actor)
    _adoption_authority(session, actor, get_policy(session, policy_id), resolution_id, four_eyes=four_eyes)


def adopt_policy(session: Session, actor: Actor, policy_id: int, resolution_id: int | None = None, *,
                 by_council: bool = False, four_eyes: bool = True) -> AllocationPolicy:
    """Mark a policy version as adopted (the one the next run uses).

    Two people decide it (four eyes, the rule of :func:`_same_person` that run approval follows):
    a finance officer (``billing.manage``) other than the one who drafted the version, or the
    council: ``resolution_id`` picks one of the council's resolutions, which must stand for it
    (:func:`resolution_refusal`); the drafter may adopt with such a resolution. ``by_council``
    is the council enacting its own adopted resolution (``resolution_id``), where the authority
    is the council's vote and the act is its closing (``council.manage``). Without ``four_eyes``
    (the office's setting, ``RENKEI_FOUR_EYES``, passed by the caller as for run approval) one
    finance officer may adopt what they drafted; the record says it was a one-person office's.

    The resolution's reference (``council-resolution:12``) is stored and shown with the policy;
    the previously adopted version becomes ``superseded``. Adopting the adopted version again with
    the same resolution changes nothing.
    """
    authz.authorize(actor, "council.manage" if by_council else "billing.manage")
    policy = get_policy(session, policy_id)
    decision = _adoption_authority(session, actor, policy, resolution_id, by_council=by_council, four_eyes=four_eyes)
    resolution_ref = decision.ref if decision is not None else None
    if policy.status == PolicyStatus.adopted and policy.resolution_ref == resolution_ref:
        return policy
    previous = adopted_policy(session)
    if previous is not None and previous.id != policy.id:
        previous.status = PolicyStatus.superseded
        session.flush()  # one adopted version at a time (partial unique index)
    before = {"status": PolicyStatus(policy.status).value, "resolution_ref": policy.resolution_ref,
              "previously_adopted": previous.id if previous is not None else None}
    policy.status = PolicyStatus.adopted
    policy.resolution_ref = resolution_ref
    policy.adopted_at = utcnow()
    policy.adopted_by = _who(actor)
    session.flush()
    if decision is not None and not by_council and not decision.enacted_ref:
        NOTE_ENACTED(session, decision.id, f"allocation_policy:{policy.id}")
    authority = ({"by": "council_resolution", "resolution": {
        "id": decision.id, "ref": decision.ref, "label": decision.label_ja, "title": decision.title,
        "decided_at": audit.timestamp_text(decision.decided_at)}} if decision is not None
        else _officer_authority(policy, actor))
    audit.record(session, actor, "billing.policy.adopt", "allocation_policy", str(policy.id), before=before,
                 after={"status": "adopted", "resolution_ref": resolution_ref, "in_words": describe_policy(policy),
                        "drafted_by": policy.created_by, "adopted_by": _who(actor), **authority})
    return policy


def _officer_authority(policy: AllocationPolicy, actor: Actor) -> dict[str, Any]:
    """What the audit record says stood for an adoption without a resolution: a second finance
    officer, or (the office without four eyes) the drafter alone."""
    if drafted_by(policy, actor):
        return {"by": "single_finance_officer", "single_person_office": True}
    return {"by": "second_finance_officer", "second_officer": _who(actor)}


# --- runs ----------------------------------------------------------------------------------------------

def _prefecture(session: Session) -> Tenant | None:
    prefectures = list(session.scalars(sa.select(Tenant).where(Tenant.kind == TenantKind.prefecture).order_by(Tenant.code)))
    if len(prefectures) > 1:
        codes = ", ".join(tenant.code for tenant in prefectures)
        raise InvalidBillingData(f"more than one prefecture tenant is registered ({codes})",
                                 f"県の参加団体が複数登録されています（{codes}）。")
    return prefectures[0] if prefectures else None


def _usage(session: Session, tenant_code: str, metric: str, fiscal_year: int,
           known: dict[str, int] | None = None) -> int:
    """``known``: every tenant's totals of the metric read at once (the default source), else one query."""
    total = known.get(tenant_code, 0) if known is not None else USAGE_TOTALS(session, tenant_code, metric, fiscal_year)
    if not isinstance(total, int) or isinstance(total, bool) or total < 0:
        raise InvalidBillingData(
            f"usage total of {metric} for {tenant_code} in FY{fiscal_year} is not a whole number ≥ 0: {total!r}",
            f"団体コード {tenant_code} の{fiscal_year_ja(fiscal_year)}の利用実績（{metric}）が0以上の整数ではありません: {total!r}",
        )
    return total


@dataclasses.dataclass
class _YearMembers:
    """What every allocation of a year reads about the municipalities, worked out once when one
    request compares several (the what-if page): the candidates, their histories, their months
    of participation, and the metrics' totals read so far."""

    candidates: list[Tenant]
    transitions: dict[int, list]
    months: dict[int, int]
    totals: dict[str, dict[str, int]]


def _year_members(session: Session, fiscal_year: int) -> _YearMembers:
    candidates = list(session.scalars(sa.select(Tenant).options(sa.orm.lazyload(Tenant.contacts))
                                      .where(Tenant.kind != TenantKind.prefecture).order_by(Tenant.code)))
    transitions = histories(session, candidates)  # one query, not one per tenant
    months = {tenant.id: participation_months(session, tenant, fiscal_year, transitions[tenant.id])
              for tenant in candidates}
    return _YearMembers(candidates, transitions, months, {})


def _snapshot_inputs(session: Session, fiscal_year: int, policy: AllocationPolicy | allocation.Policy,
                     members: str = "participating", known: _YearMembers | None = None):
    """The run's inputs. ``members``: ``participating`` (the tenants with active months in the
    year, for their months: what a run uses) or ``with_applicants`` (a what-if: also the tenants
    applying or approved but not yet active, and those that joined after the year, as if they had
    taken part all year). ``known``: the year's members already read in this request."""
    value = policy if isinstance(policy, allocation.Policy) else policy_value(policy)
    metrics = [component.metric for component in value.components if component.metric is not None]
    prefecture = _prefecture(session) if value.prefecture_share is not None else None
    if value.prefecture_share is not None and prefecture is None:
        raise InvalidBillingData(
            "the policy has a prefecture share but no prefecture tenant (kind prefecture) is registered",
            "按分方式に県負担がありますが、県（種別: 都道府県）の参加団体が登録されていません。",
        )
    participants, tenants = [], {}
    known = known or _year_members(session, fiscal_year)
    # the default source reads each metric's totals for every tenant at once
    if USAGE_TOTALS is usage_total:
        for metric in metrics:
            if metric not in known.totals:
                known.totals[metric] = usage_totals(session, metric, fiscal_year)
        totals = {metric: known.totals[metric] for metric in metrics}
    else:
        totals = {}
    for tenant in known.candidates:
        months = known.months[tenant.id]
        if months == 0:
            if members != "with_applicants" or TenantStatus(tenant.status) in (TenantStatus.withdrawn,
                                                                                TenantStatus.suspended):
                continue
            months = allocation.MONTHS_IN_YEAR
        usage = {metric: _usage(session, tenant.code, metric, fiscal_year, totals.get(metric)) for metric in metrics}
        participants.append(allocation.Participant(code=tenant.code, population=tenant.population, months=months,
                                                   usage=usage))
        tenants[tenant.code] = tenant
    return value, prefecture, participants, tenants


MEMBER_SETS_JA = {
    "participating": "参加実績のある団体（参加月数で按分）",
    "with_applicants": "申請中・承認済みの団体を含む（年度途中以降の参加も通年参加として試算）",
}
MEMBER_SETS_EN = {
    "participating": "Members that took part (by their months)",
    "with_applicants": "Including applying and approved tenants (as if taking part all year)",
}


@dataclasses.dataclass(frozen=True)
class NotSharing:
    """A municipality registered but without a share of the year, and why (in words)."""

    code: str
    name: str
    reason_ja: str
    reason_en: str


@dataclasses.dataclass(frozen=True)
class Preview:
    """An allocation worked out without writing anything: a policy's split of a year's costs."""

    fiscal_year: int
    result: allocation.AllocationResult
    names: dict[str, str]
    cost_count: int
    members: str
    not_sharing: tuple[NotSharing, ...]

    @property
    def municipalities(self) -> int:
        return sum(1 for line in self.result.lines if not line.is_prefecture)


def _allocate_year(session: Session, fiscal_year: int, policy: AllocationPolicy | allocation.Policy,
                   members: str = "participating", known: _YearMembers | None = None):
    """The year's cost items, prefecture, participants (with their tenants) and the allocation the
    policy gives them: what a run snapshots and a preview shows. Refused when it cannot be computed."""
    items = _cost_items(session, fiscal_year)
    if not items:
        raise InvalidBillingData(f"FY{fiscal_year} has no cost items to allocate",
                                 f"{fiscal_year_ja(fiscal_year)}の費目が登録されていないため、按分できません。",
                                 problems=[{"field": "fiscal_year", "message_en": "This year has no cost items.",
                                            "message_ja": "この年度には費目が登録されていません。"}])
    value, prefecture, participants, tenants = _snapshot_inputs(session, fiscal_year, policy, members, known)
    if not participants:
        raise InvalidBillingData(f"no municipality took part in FY{fiscal_year} (no active month)",
                                 f"{fiscal_year_ja(fiscal_year)}に参加した市町村がありません（利用中の月がありません）。")
    try:
        result = allocation.allocate_costs(
            [allocation.CostItem(id=str(item.id), amount=item.amount) for item in items],
            participants, value, prefecture.code if prefecture is not None else None,
        )
    except AllocationError as error:
        raise InvalidBillingData(error.message_en, error.message_ja) from None
    return items, prefecture, participants, tenants, result


def preview_allocations(session: Session, actor: Actor, fiscal_year: int,
                        choices: Sequence[tuple[allocation.Policy | AllocationPolicy, str]]) -> list[Preview | DomainError]:
    """:func:`preview_allocation` for each ``(policy, members)`` of ``choices``, in order, reading
    the year's municipalities once for all of them (the what-if page compares two): each answer
    is the preview or the refusal that choice meets alone."""
    require_all_tenants(actor)
    known = None
    answers: list[Preview | DomainError] = []
    for policy, members in choices:
        try:
            if known is None and members in MEMBER_SETS_JA:
                known = _year_members(session, fiscal_year)
            answers.append(preview_allocation(session, actor, fiscal_year, policy, members, known=known))
        except DomainError as error:
            answers.append(error)
    return answers


def preview_allocation(session: Session, actor: Actor, fiscal_year: int, policy: allocation.Policy | AllocationPolicy,
                       members: str = "participating", *, known: _YearMembers | None = None) -> Preview:
    """The split a policy would give the year's cost items and members now: reads only, writes
    nothing (no run, no audit record). Refused like a run when it cannot be computed."""
    require_all_tenants(actor)
    if members not in MEMBER_SETS_JA:
        raise InvalidBillingData(f"unknown member set {members!r}", "参加団体の範囲の指定に誤りがあります。",
                                 problems=[{"field": "members", "message_en": "Choose from the list.",
                                            "message_ja": "一覧から選んでください。"}])
    items, prefecture, participants, tenants, result = _allocate_year(session, fiscal_year, policy, members, known)
    names = {code: tenant.name_ja for code, tenant in tenants.items()}
    if prefecture is not None:
        names[prefecture.code] = prefecture.name_ja
    shared = {participant.code for participant in participants}
    return Preview(fiscal_year, result, names, len(items), members,
                   tuple(not_sharing(session, fiscal_year, excluding=shared, known=known)))


def _day(moment: dt.datetime) -> str:
    return f"{to_jst(moment):%Y/%m/%d}"


def not_sharing(session: Session, fiscal_year: int, excluding: Collection[str] = (),
                known: _YearMembers | None = None) -> list[NotSharing]:
    """Every registered municipality with no month in the fiscal year, with the reason in words:
    not yet active, joined after the year, or left before it. ``excluding``: codes known to share
    (a run's lines), left out in the query so that only the others are looked at. ``known``: the
    year's members already read in this request (then nothing is queried)."""
    start, end = fiscal_year_start(fiscal_year), fiscal_year_start(fiscal_year + 1)
    era = fiscal_year_ja(fiscal_year)
    found = []
    if known is not None:
        left_out = set(excluding)
        candidates = [tenant for tenant in known.candidates if tenant.code not in left_out]
        every_history = known.transitions
    else:
        query = (sa.select(Tenant).options(sa.orm.lazyload(Tenant.contacts))
                 .where(Tenant.kind != TenantKind.prefecture).order_by(Tenant.code))
        if excluding:
            query = query.where(Tenant.code.not_in(sorted(excluding)))
        candidates = list(session.scalars(query))
        every_history = histories(session, candidates)  # one query, not one per tenant
    for tenant in candidates:
        transitions = every_history[tenant.id]
        months = known.months[tenant.id] if known is not None \
            else participation_months(session, tenant, fiscal_year, transitions)
        if months:
            continue
        initial = transitions[0].from_status if transitions else tenant.status
        since = fiscal_year_start(tenant.wave_fiscal_year) if tenant.wave_fiscal_year else None
        intervals = active_intervals(transitions, initial, since)
        status = TenantStatus(tenant.status)
        if not intervals:
            ja = (f"まだ利用を開始していないため（現在: {STATUS_LABELS_JA[status]}）、{era}の参加月数は0か月で、"
                  "負担はありません。")
            en = f"Not active yet (now {status.value}): 0 months in FY{fiscal_year}, no share."
        elif intervals[0][0] >= end:
            ja = (f"{era}の後（{_day(intervals[0][0])}）に利用を開始したため、{era}の参加月数は0か月で、負担はありません。"
                  "参加した月から負担します。")
            en = f"Joined after FY{fiscal_year} (on {_day(intervals[0][0])}): 0 months, no share for that year."
        elif intervals[-1][1] <= start:
            ja = f"{era}より前（{_day(intervals[-1][1])}）に利用を終了したため、{era}の参加月数は0か月で、負担はありません。"
            en = f"Left before FY{fiscal_year} (on {_day(intervals[-1][1])}): 0 months, no share."
        else:
            ja = f"{era}に利用中の月がないため（現在: {STATUS_LABELS_JA[status]}）、負担はありません。"
            en = f"No active month in FY{fiscal_year}: no share."
        found.append(NotSharing(tenant.code, tenant.name_ja, ja, en))
    return found


def default_year(session: Session, actor: Actor, this_year: int) -> int:
    """The year the billing pages open on: the fiscal year in progress when it has data, else the latest
    year with data up to it (a later year holds only amortised shares entered ahead), else this year."""
    grant = authz.authorize(actor, "billing.read")
    if grant.all_tenants:
        columns = (CostItem.fiscal_year, AllocationRun.fiscal_year)
        years = [session.scalar(sa.select(sa.func.max(column)).where(column <= this_year)) for column in columns]
    else:
        years = [session.scalar(sa.select(sa.func.max(JournalEntry.fiscal_year)).where(
            JournalEntry.kind == EntryKind.charge, JournalEntry.tenant_code.in_(sorted(actor.tenant_codes)),
            JournalEntry.fiscal_year <= this_year))]
    found = [year for year in years if year is not None]
    return max(found) if found else (latest_year_with_data(session, actor) or this_year)


def latest_year_with_data(session: Session, actor: Actor) -> int | None:
    """The latest fiscal year with cost items or runs (what finance opens on), or for someone who
    reads only their own tenant, the latest year with a posted charge to it."""
    grant = authz.authorize(actor, "billing.read")
    if not grant.all_tenants:
        return session.scalar(sa.select(sa.func.max(JournalEntry.fiscal_year)).where(
            JournalEntry.kind == EntryKind.charge, JournalEntry.tenant_code.in_(sorted(actor.tenant_codes))))
    years = [session.scalar(sa.select(sa.func.max(CostItem.fiscal_year))),
             session.scalar(sa.select(sa.func.max(AllocationRun.fiscal_year)))]
    years = [year for year in years if year is not None]
    return max(years) if years else None


def statement_years(session: Session, actor: Actor, tenant_code: str) -> list[int]:
    """The fiscal years for which the tenant has a posted charge (a statement), newest first."""
    authz.authorize(actor, "billing.read", tenant_code)
    reversed_ids = set(session.scalars(sa.select(JournalEntry.reverses_id).where(JournalEntry.reverses_id.is_not(None))))
    rows = session.execute(sa.select(JournalEntry.id, JournalEntry.fiscal_year).where(
        JournalEntry.kind == EntryKind.charge, JournalEntry.tenant_code == tenant_code)).all()
    return sorted({year for entry_id, year in rows if entry_id not in reversed_ids}, reverse=True)


def create_run(session: Session, actor: Actor, fiscal_year: int, policy_id: int | None = None) -> AllocationRun:
    """Snapshot a fiscal year's inputs and compute the shares (status ``computed``)."""
    _manage(actor)
    policy = get_policy(session, policy_id) if policy_id is not None else adopted_policy(session)
    if policy is None:
        raise InvalidBillingData("no allocation policy is adopted; adopt one or name a policy version",
                                 "採用中の按分方式がありません。按分方式を採用するか、使う版を指定してください。")
    items, prefecture, participants, tenants, result = _allocate_year(session, fiscal_year, policy)
    snapshot = {
        "fiscal_year": fiscal_year,
        "computed_at": utcnow().isoformat(),
        "policy": policy_summary(policy),
        "prefecture": {"code": prefecture.code, "name": prefecture.name_ja} if prefecture is not None else None,
        "cost_items": [cost_item_summary(item) for item in items],
        "participants": [
            {"code": p.code, "name": tenants[p.code].name_ja, "population": p.population,
             "population_source": tenants[p.code].population_source, "months": p.months, "usage": dict(p.usage)}
            for p in participants
        ],
        "total": result.total,
        "municipal_total": fraction_text(result.municipal_total),
        "scale": fraction_text(result.scale),
    }
    run = AllocationRun(fiscal_year=fiscal_year, policy_id=policy.id, total=result.total,
                        prefecture_code=result.prefecture_code, created_by=_who(actor), created_by_key=_key(actor),
                        snapshot_json=json.dumps(snapshot, ensure_ascii=False))
    session.add(run)
    session.flush()
    usage_by_code = {participant.code: dict(participant.usage) for participant in participants}
    for line in result.lines:
        tenant = tenants.get(line.code) or prefecture
        session.add(AllocationRunLine(
            run_id=run.id, tenant_code=line.code, tenant_name=tenant.name_ja, is_prefecture=line.is_prefecture,
            months=line.months, population=None if line.is_prefecture else tenant.population,
            population_source="" if line.is_prefecture else tenant.population_source,
            usage_json=json.dumps({} if line.is_prefecture else usage_by_code[line.code]),
            amount=line.amount, components_json=json.dumps(dict(line.components)), bound=line.bound,
        ))
    session.flush()
    audit.record(session, actor, "billing.run.create", "allocation_run", str(run.id),
                 after={"fiscal_year": fiscal_year, "policy_id": policy.id, "total": result.total,
                        "amounts": result.amounts()})
    return run


def get_run(session: Session, run_id: int, *, lock: bool = False) -> AllocationRun:
    """The run; ``lock`` takes its row lock (and rereads it) so that two approvals or reversals
    of the same run queue up and the second sees the first's outcome."""
    run = session.get(AllocationRun, run_id, with_for_update=lock, populate_existing=lock)
    if run is None:
        raise BillingNotFound(f"no allocation run {run_id}", f"按分計算 {run_id} はありません。", run_id=run_id)
    return run


def read_run(session: Session, actor: Actor, run_id: int) -> AllocationRun:
    """One run (its lines show every tenant's share: see :func:`require_all_tenants`)."""
    require_all_tenants(actor)
    return get_run(session, run_id)


def list_runs(session: Session, actor: Actor, fiscal_year: int | None = None) -> list[AllocationRun]:
    require_all_tenants(actor)
    query = sa.select(AllocationRun).order_by(AllocationRun.fiscal_year, AllocationRun.id)
    if fiscal_year is not None:
        query = query.where(AllocationRun.fiscal_year == fiscal_year)
    return list(session.scalars(query))


def run_lines(session: Session, run: AllocationRun) -> list[AllocationRunLine]:
    return list(session.scalars(sa.select(AllocationRunLine).where(AllocationRunLine.run_id == run.id)
                                .order_by(AllocationRunLine.tenant_code)))


def run_summary(run: AllocationRun, lines: list[AllocationRunLine] | None = None) -> dict[str, Any]:
    summary: dict[str, Any] = {
        "id": run.id,
        "fiscal_year": run.fiscal_year,
        "status": RunStatus(run.status).value,
        "status_ja": RUN_STATUS_LABELS_JA[RunStatus(run.status)],
        "policy_id": run.policy_id,
        "total": run.total,
        "prefecture_code": run.prefecture_code,
        "created_at": run.created_at.isoformat() if run.created_at else None,
        "created_by": run.created_by,
        "reviewed_by": run.reviewed_by,
        "review_note": run.review_note,
        "approved_by": run.approved_by,
        "posted_on": run.posted_on.isoformat() if run.posted_on else None,
        "reversed_by": run.reversed_by,
        "reversal_reason": run.reversal_reason,
        "four_eyes": run.four_eyes,
    }
    if lines is not None:
        summary["lines"] = [
            {"tenant_code": line.tenant_code, "tenant_name": line.tenant_name, "is_prefecture": line.is_prefecture,
             "months": line.months, "population": line.population, "population_source": line.population_source,
             "usage": json.loads(line.usage_json), "amount": line.amount,
             "components": json.loads(line.components_json), "bound": line.bound}
            for line in lines
        ]
        summary["snapshot"] = json.loads(run.snapshot_json)
    return summary


RUN_ACTION_LABELS_JA = {name: move.label_ja for name, move in RUN_TRANSITIONS.items()}


def allowed_run_actions(run: AllocationRun) -> list[str]:
    """The actions (review, approve, reverse, discard) the run's status allows now."""
    status = RunStatus(run.status)
    return [name for name, move in RUN_TRANSITIONS.items() if status in move.sources]


def _move(run: AllocationRun, action: str) -> RunStatus:
    """The status ``action`` moves ``run`` to, by :data:`billing.models.RUN_TRANSITIONS` (the table
    the database guard is built from too); refused when the run's status is not one of its sources."""
    move = RUN_TRANSITIONS[action]
    allowed, label_ja = move.sources, move.label_ja
    current = RunStatus(run.status)
    if current not in allowed:
        needed = "、".join(RUN_STATUS_LABELS_JA[status] for status in sorted(allowed, key=lambda s: s.value))
        raise IllegalTransition(
            f"allocation run #{run.id} is {current.value}; only a run that is "
            f"{' or '.join(sorted(status.value for status in allowed))} can be {action}d",
            f"按分計算 #{run.id} は「{RUN_STATUS_LABELS_JA[current]}」のため{label_ja}できません"
            f"（{label_ja}できるのは「{needed}」の按分計算です）。",
            run_id=run.id, status=current.value,
        )
    return move.target


FOUR_EYES_APPROVE_JA = "計算または確認をした担当者は承認できません。別の財政担当者が承認してください。"


def _same_person(actor: Actor, key: str, name: str) -> bool:
    # Runs made before identities were kept have only the name to go by.
    return key == _key(actor) if key else bool(name) and name == _who(actor)


def four_eyes_refusals(run: AllocationRun, actor: Actor) -> dict[str, tuple[str, str]]:
    """The steps (review, approve) the four-eyes rule would refuse ``actor`` on this run, with why
    (Japanese, English): for pages that explain instead of offering a button that will be refused."""
    refusals = {}
    if _same_person(actor, run.created_by_key, run.created_by) or _same_person(actor, run.reviewed_by_key, run.reviewed_by):
        refusals["approve"] = (FOUR_EYES_APPROVE_JA,
                               "You computed or reviewed this run; another finance officer must approve it.")
    return refusals


def review_run(session: Session, actor: Actor, run_id: int, note: str = "", *, four_eyes: bool = True) -> AllocationRun:
    """Mark a computed run as reviewed. The person who computed it may review it: four eyes means
    that two different finance officers take part, so it is the approval (:func:`approve_run`)
    that must come from someone who neither computed nor reviewed the run. Without ``four_eyes``
    (the setting is the caller's), the run records that the rule was off."""
    _manage(actor)
    run = get_run(session, run_id)
    target = _move(run, "review")
    run.status = target
    run.reviewed_at, run.reviewed_by, run.review_note = utcnow(), _who(actor), note
    run.reviewed_by_key = _key(actor)
    run.four_eyes = bool(run.four_eyes and four_eyes)
    session.flush()
    audit.record(session, actor, "billing.run.review", "allocation_run", str(run.id),
                 before={"status": "computed"}, after={"status": "reviewed", "note": note, "four_eyes": four_eyes})
    return run


def discard_run(session: Session, actor: Actor, run_id: int) -> AllocationRun:
    _manage(actor)
    run = get_run(session, run_id)
    before = RunStatus(run.status).value
    run.status = _move(run, "discard")
    session.flush()
    audit.record(session, actor, "billing.run.discard", "allocation_run", str(run.id),
                 before={"status": before}, after={"status": "discarded"})
    return run


def _run_entries(run: AllocationRun, lines: list[AllocationRunLine], posted_on: dt.date, who: str) -> list[ledger.NewEntry]:
    snapshot = json.loads(run.snapshot_json)
    entries = []
    for line in lines:
        if line.amount == 0:
            continue
        income = ledger.PREFECTURE_SHARE if line.is_prefecture else ledger.COST_RECOVERY
        entries.append(ledger.NewEntry(
            idempotency_key=f"run:{run.id}:charge:{line.tenant_code}", kind=EntryKind.charge,
            fiscal_year=run.fiscal_year, occurred_on=posted_on,
            legs=(ledger.debit(ledger.receivable(line.tenant_code), line.amount), ledger.credit(income, line.amount)),
            description=f"{fiscal_year_ja(run.fiscal_year)} 負担金 {line.tenant_name}（按分計算 #{run.id}）",
            tenant_code=line.tenant_code, run_id=run.id, created_by=who,
        ))
    by_category: dict[str, int] = {}
    for item in snapshot["cost_items"]:
        by_category[item["category"]] = by_category.get(item["category"], 0) + item["amount"]
    cost_legs = [ledger.debit(ledger.cost_account(category), amount) for category, amount in sorted(by_category.items()) if amount]
    if cost_legs:
        entries.append(ledger.NewEntry(
            idempotency_key=f"run:{run.id}:costs", kind=EntryKind.cost, fiscal_year=run.fiscal_year,
            occurred_on=posted_on, legs=(*cost_legs, ledger.credit(ledger.PAYABLE, run.total)),
            description=f"{fiscal_year_ja(run.fiscal_year)} 費用の計上（按分計算 #{run.id}）", run_id=run.id, created_by=who,
        ))
    return entries


def approve_run(session: Session, actor: Actor, run_id: int, *, posted_on: dt.date | None = None,
                four_eyes: bool = True) -> AllocationRun:
    """Approve a reviewed run and post it to the ledger. Approving an approved run posts nothing.

    With ``four_eyes`` (the default; the setting is the caller's, e.g. ``RENKEI_FOUR_EYES``), the
    approver is neither the person who computed the run nor the one who reviewed it. Switched off
    (a one-person office), the run and the audit record keep that the rule did not apply.
    A run whose cost items changed since it was computed is refused: it would post costs that
    are no longer invoiced (or leave new ones unshared). Compute a new run instead.
    """
    _manage(actor)
    run = get_run(session, run_id, lock=True)
    if RunStatus(run.status) == RunStatus.approved:
        return run
    target = _move(run, "approve")
    _check_never_approved(session, run)
    if four_eyes and (_same_person(actor, run.created_by_key, run.created_by)
                      or _same_person(actor, run.reviewed_by_key, run.reviewed_by)):
        raise FourEyesRefused(
            f"You computed or reviewed allocation run #{run.id}; another finance officer must approve it (four eyes).",
            FOUR_EYES_APPROVE_JA, run_id=run.id, rule="four_eyes",
        )
    _check_costs_unchanged(session, run)
    other = _posted_run(session, run.fiscal_year)
    if other is not None:
        raise BillingConflict(
            f"FY{run.fiscal_year} already has a posted run (#{other.id}); reverse it before approving run #{run.id}",
            f"{fiscal_year_ja(run.fiscal_year)}は按分計算 #{other.id} が計上済みです。#{run.id} を承認する前に #{other.id} を取り消してください。",
            run_id=run.id, posted_run_id=other.id,
        )
    posted_on = posted_on or today_jst()
    entry_ids = ledger.post_entries(session, _run_entries(run, run_lines(session, run), posted_on, _who(actor)))
    _check_only_its_entries(session, run, entry_ids)
    run.status = target
    run.approved_at, run.approved_by, run.posted_on = utcnow(), _who(actor), posted_on
    run.four_eyes = bool(run.four_eyes and four_eyes)
    session.flush()
    audit.record(session, actor, "billing.run.approve", "allocation_run", str(run.id),
                 before={"status": "reviewed"},
                 after={"status": "approved", "posted_on": posted_on.isoformat(), "entries": entry_ids, "total": run.total,
                        "four_eyes": four_eyes, "single_person_approval": not run.four_eyes})
    return run


def _check_never_approved(session: Session, run: AllocationRun) -> None:
    """A run is approved once: its approval (the approve move's record columns) and the approval's
    audit record are written once. A run that carries an approval, or has one in the audit
    log, yet is not approved had its status set back outside renkei; approving it again would post
    nothing new but overwrite who approved it and record a second approval."""
    recorded = session.scalar(
        sa.select(audit.AuditRecord.seq).where(audit.AuditRecord.action == "billing.run.approve",
                                               audit.AuditRecord.target_type == "allocation_run",
                                               audit.AuditRecord.target_id == str(run.id)).limit(1))
    if any(getattr(run, column) for column in RUN_TRANSITIONS["approve"].records) or recorded is not None:
        raise IllegalTransition(
            f"allocation run #{run.id} was approved before (audit record {recorded}, by {run.approved_by or 'unknown'}); "
            f"a run is approved once: compute a new run",
            f"按分計算 #{run.id} はすでに承認された記録があります（操作ログ {recorded}、承認者 {run.approved_by or '不明'}）。"
            f"承認は一度だけです。新しく按分計算を行ってください。",
            run_id=run.id, audit_seq=recorded,
        )


def _check_only_its_entries(session: Session, run: AllocationRun, entry_ids: list[int]) -> None:
    """The run's entries are exactly those its approval just posted: an entry someone else wrote
    under the run (its id or its keys) would count as the run's without being one of its lines."""
    foreign = session.scalars(
        sa.select(JournalEntry.idempotency_key)
        .where(sa.or_(JournalEntry.run_id == run.id, JournalEntry.idempotency_key.startswith(f"run:{run.id}:")),
               JournalEntry.id.not_in(entry_ids))
        .limit(1)
    ).first()
    if foreign is not None:
        raise BillingConflict(
            f"Journal entry {foreign} claims allocation run #{run.id} but is not one of its lines; nothing was posted.",
            f"仕訳 {foreign} は按分計算 #{run.id} のものとされていますが、その明細ではありません。何も計上していません。",
            run_id=run.id, idempotency_key=foreign,
        )


def _check_costs_unchanged(session: Session, run: AllocationRun) -> None:
    def key(item: dict[str, Any]) -> tuple:
        return item["id"], item["amount"], item["category"]

    snapshot = sorted(key(item) for item in json.loads(run.snapshot_json)["cost_items"])
    current = sorted(key(cost_item_summary(item)) for item in _cost_items(session, run.fiscal_year))
    if snapshot != current:
        raise BillingConflict(
            f"The cost items of FY{run.fiscal_year} changed after run #{run.id} was computed; compute a new run and approve that one.",
            f"按分計算 #{run.id} の計算後に{fiscal_year_ja(run.fiscal_year)}の費目が変更されました。新しく按分計算を行い、そちらを承認してください。",
            run_id=run.id,
        )


def run_entry_ids(session: Session, run: AllocationRun) -> list[int]:
    """The run's own posted entries (charges and costs), not their reversals."""
    return list(session.scalars(
        sa.select(JournalEntry.id).where(JournalEntry.run_id == run.id, JournalEntry.reverses_id.is_(None),
                                         JournalEntry.kind.in_([EntryKind.charge, EntryKind.cost]))
        .order_by(JournalEntry.id)
    ))


def reverse_run(session: Session, actor: Actor, run_id: int, reason: str, *,
                reversed_on: dt.date | None = None) -> AllocationRun:
    """Undo a posted run with reversal entries; the run stays visible with status ``reversed``."""
    _manage(actor)
    run = get_run(session, run_id, lock=True)
    if RunStatus(run.status) == RunStatus.reversed:
        return run
    reason = (reason or "").strip()
    if not reason:
        raise InvalidBillingData("say why the run is reversed", "取消の理由を入力してください。",
                                 problems=[{"field": "reason", "message_en": "required", "message_ja": "必須項目です。"}])
    target = _move(run, "reverse")
    reversed_on = reversed_on or today_jst()
    reversal_ids = ledger.reverse_entries(
        session, run_entry_ids(session, run), occurred_on=reversed_on,
        description=f"取消（按分計算 #{run.id}）: {reason}"[:500], created_by=_who(actor),
    )
    run.status = target
    run.reversed_at, run.reversed_by, run.reversal_reason = utcnow(), _who(actor), reason
    session.flush()
    audit.record(session, actor, "billing.run.reverse", "allocation_run", str(run.id),
                 before={"status": "approved"},
                 after={"status": "reversed", "reason": reason, "reversal_entries": reversal_ids,
                        "reversed_on": reversed_on.isoformat()})
    return run


# --- payments ------------------------------------------------------------------------------------------

def record_payment(session: Session, actor: Actor, data: PaymentCreate) -> JournalEntry:
    """Record money received from a tenant: debit the bank, credit the tenant's receivable.

    The tenant code and reference identify the payment: recording the same one again (same
    amount) returns the entry already posted and records nothing new.
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
        tenant_code=data.tenant_code, created_by=_who(actor),
    ))
    if existed is None:
        audit.record(session, actor, "billing.payment.record", "journal_entry", str(entry.id),
                     tenant_code=data.tenant_code,
                     after={"fiscal_year": data.fiscal_year, "amount": data.amount,
                            "received_on": data.received_on.isoformat(), "reference": data.reference})
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
