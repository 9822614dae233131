"""Use cases of billing's allocation policies (按分方式): versions, their words, and adoption.

A policy is versioned and never edited (a change is a new version); one version at a time is
adopted, the one the next run uses. Adopting asks ``billing.manage``, a second finance officer when
the actor drafted the policy, or a council resolution that decided it (as billing sees the council,
:class:`CouncilDecision`). The conventions of every billing operation are stated in
:mod:`billing.operations`.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from collections.abc import Callable, Sequence
from fractions import Fraction
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from billing import allocation
from billing.errors import AllocationError
from billing.ledger_errors import BillingNotFound, FourEyesRefused, InvalidBillingData
from billing.models import AllocationPolicy, PolicyStatus
from billing.operations import _key, _manage, _same_person
from billing.schemas import PolicyCreate, fraction_text, parse_fraction
from core import audit, authz
from core.actor import Actor
from core.calendar import fiscal_year_en, fiscal_year_ja, fiscal_year_of
from core.db import utcnow
from core.labelled import labels
from core.lifecycle import Lifecycle, Move
from usage.models import METRICS


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
        floor=data.floor, cap=data.cap, created_by=actor.recorded_name, created_by_key=_key(actor),
    )
    session.add(policy)
    session.flush()
    audit.record(session, actor, "billing.policy.create", "allocation_policy", str(policy.id), after=policy_summary(policy))
    return policy


# --- the lifecycle -----------------------------------------------------------------------------------
#
#   draft ──adopt──▶ adopted ──supersede──▶ superseded ──adopt──▶ adopted
#
# One version is adopted at a time: adopting one supersedes the one adopted before. Adopting the
# adopted version again with another authority (a council resolution) records that authority.
# Who may adopt (four eyes, or the council's resolution) is :func:`_adoption_authority`.

POLICIES = Lifecycle("按分方式", "allocation policy", PolicyStatus, labels(PolicyStatus), (
    Move("adopt", frozenset({PolicyStatus.draft, PolicyStatus.adopted, PolicyStatus.superseded}), PolicyStatus.adopted,
         "採用", "adopt", grant="billing.manage"),
    Move("supersede", frozenset({PolicyStatus.adopted}), PolicyStatus.superseded, "採用終了", "supersede"),
), initial=(PolicyStatus.draft,))
"""An allocation policy version's lifecycle."""


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
    adopt = POLICIES.move("adopt", policy.status, policy)
    previous = adopted_policy(session)
    if previous is not None and previous.id != policy.id:
        previous.status = POLICIES.move("supersede", previous.status, previous).target
        session.flush()  # one adopted version at a time (partial unique index)
    before = {"status": PolicyStatus(policy.status).value, "resolution_ref": policy.resolution_ref,
              "previously_adopted": previous.id if previous is not None else None}
    policy.status = adopt.target
    policy.resolution_ref = resolution_ref
    policy.adopted_at = utcnow()
    policy.adopted_by = actor.recorded_name
    session.flush()
    if decision is not None and not by_council and not decision.enacted_ref:
        NOTE_ENACTED(session, decision.id, f"allocation_policy:{policy.id}")
    authority = ({"by": "council_resolution", "resolution": {
        "id": decision.id, "ref": decision.ref, "label": decision.label_ja, "title": decision.title,
        "decided_at": audit.timestamp_text(decision.decided_at)}} if decision is not None
        else _officer_authority(policy, actor))
    audit.record(session, actor, "billing.policy.adopt", "allocation_policy", str(policy.id), before=before,
                 after={"status": "adopted", "resolution_ref": resolution_ref, "in_words": describe_policy(policy),
                        "drafted_by": policy.created_by, "adopted_by": actor.recorded_name, **authority})
    return policy


def _officer_authority(policy: AllocationPolicy, actor: Actor) -> dict[str, Any]:
    """What the audit record says stood for an adoption without a resolution: a second finance
    officer, or (the office without four eyes) the drafter alone."""
    if drafted_by(policy, actor):
        return {"by": "single_finance_officer", "single_person_office": True}
    return {"by": "second_finance_officer", "second_officer": actor.recorded_name}
