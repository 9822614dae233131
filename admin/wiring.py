"""The composition root: connects the domain packages' extension points at start-up.

Domain packages do not import each other's operations to react to one another; instead:

* the council (:mod:`governance.council`) enacts adopted changes through handlers registered
  here, each calling the owning package's operation (billing adopts a policy, the lifecycle
  approves a municipality, quotas change a plan, agreements publish a version), passing the
  resolution so that the enacted change refers to it;
* the tenant lifecycle (:mod:`tenancy.onboarding.lifecycle`) asks the guards registered here before a
  move: governance's "required agreement versions accepted" before any move to ``active``
  (activation after provisioning, and resuming a suspended tenant).

:func:`wire` is idempotent (registering again replaces), so creating several apps is harmless.
"""

from __future__ import annotations

import json

import importlib
import logging
from typing import Any

from pydantic import ValidationError
from sqlalchemy.orm import Session

from governance import agreements, council
from governance.models import ChangeType, CouncilResolution
from core.actor import Actor
from core.errors import Conflict, Invalid
from core.validation import problems_from

log = logging.getLogger(__name__)


def _optional(module: str):
    """A package module that may not be installed in this build (each is wired only if present)."""
    try:
        return importlib.import_module(module)
    except ImportError:
        log.warning("renkei wiring: %s is not available; its council change type stays disabled", module)
        return None


# --- council enactors -----------------------------------------------------------------------------

def _adopt_policy(session: Session, actor: Actor, params: dict, resolution: CouncilResolution) -> str:
    from billing import allocation_policies

    policy = allocation_policies.adopt_policy(session, actor, int(params["policy_id"]), resolution.id, by_council=True)
    return f"allocation_policy:{policy.id}"


def _adopt_budget(session: Session, actor: Actor, params: dict, resolution: CouncilResolution) -> str:
    from billing import budgets

    budget = budgets.adopt_budget(session, actor, int(params["budget_id"]), resolution.ref)
    return f"budget:{budget.id}"


def _check_budget(session: Session, params: dict) -> None:
    from billing import budgets

    budgets.check_adoptable(session, int(params["budget_id"]))


def _reopen_year(session: Session, actor: Actor, params: dict, resolution: CouncilResolution) -> str:
    from billing import year_close

    year_close.reopen_year(session, actor, int(params["fiscal_year"]), resolution.id, resolution.ref)
    return f"fiscal_year:{params['fiscal_year']}"


def _check_reopen(session: Session, params: dict) -> None:
    from billing import year_close

    year_close.check_reopenable(session, int(params["fiscal_year"]))


def _council_decisions(session: Session, resolution_id: int | None = None) -> list:
    """The council's resolutions as billing reads them (the picker of the resolution adopting a policy)."""
    from billing import allocation_policies

    return [allocation_policies.CouncilDecision(
        id=resolution.id, ref=resolution.ref, fiscal_year=resolution.fiscal_year, number=resolution.number,
        title=proposal.title, decided_at=resolution.decided_at, adopted=resolution.adopted,
        change_type=ChangeType(proposal.change_type).value, enacted_ref=resolution.enacted_ref or "",
        label_ja=resolution.label_ja, label_en=resolution.label_en,
    ) for resolution, proposal in council.resolutions_with_proposals(session, resolution_id)]


def _check_policy(session: Session, params: dict) -> None:
    from billing import allocation_policies

    allocation_policies.get_policy(session, int(params["policy_id"]))


def _admit(session: Session, actor: Actor, params: dict, resolution: CouncilResolution) -> str:
    from tenancy.onboarding import lifecycle

    code = params["tenant_code"]
    lifecycle.approve(session, actor, code, f"協議会の議決により参加を承認（{resolution.label_ja}、{resolution.ref}）")
    return f"tenant:{code}"


def _check_admission(session: Session, params: dict) -> None:
    from tenancy.registry.models import TenantStatus
    from tenancy.registry.operations import get_tenant

    tenant = get_tenant(session, params["tenant_code"])
    if TenantStatus(tenant.status) != TenantStatus.screening:
        raise Conflict(
            f"{tenant.name_en_shown} ({tenant.code}) is {TenantStatus(tenant.status).value}; the council admits a municipality under screening.",
            f"{tenant.name_ja}（{tenant.code}）は審査中ではないため、参加承認の議案にできません。",
            problems=[{"field": "params.tenant_code", "message_en": "Not under screening.", "message_ja": "審査中ではありません。"}],
        )


def _change_quota_plan(session: Session, actor: Actor, params: dict, resolution: CouncilResolution) -> str:
    from usage import quota_plans

    plan = quota_plans.change_quota_plan(session, actor, params["plan_code"], params["change"], resolution_ref=resolution.ref)
    return f"quota_plan:{plan.code}"


def _check_quota_change(session: Session, params: dict) -> None:
    from usage import quotas

    try:
        # strict JSON mode, as the API's bodies: "5" is not an integer, false is not a number
        quotas.QuotaPlanChange.model_validate_json(json.dumps(params["change"]), strict=True)
    except ValidationError as error:
        raise Invalid("The quota plan change has errors.", "利用上限プランの変更内容に誤りがあります。",
                      problems=[{**p, "field": f"params.change.{p['field']}"} for p in problems_from(error)]) from None
    if quotas.find_plan(session, params["plan_code"]) is None and not params["change"].get("name_ja"):
        raise Invalid("A new quota plan needs name_ja.", "新しい利用上限プランには名称（name_ja）が必要です。",
                      problems=[{"field": "params.change.name_ja", "message_en": "Required for a new plan.",
                                 "message_ja": "新しいプランには必須です。"}])


ENACTORS: dict[ChangeType, tuple[str, Any, Any]] = {
    # change type: (module that must be importable, handler, proposal check)
    ChangeType.adopt_allocation_policy: ("billing.allocation_policies", _adopt_policy, _check_policy),
    ChangeType.adopt_budget: ("billing.budgets", _adopt_budget, _check_budget),
    ChangeType.reopen_fiscal_year: ("billing.year_close", _reopen_year, _check_reopen),
    ChangeType.admit_municipality: ("tenancy.onboarding.lifecycle", _admit, _check_admission),
    ChangeType.change_quota_plan: ("usage.quotas", _change_quota_plan, _check_quota_change),
    ChangeType.publish_agreement_version: ("governance.agreements", agreements.enact_publish,
                                           agreements.check_publish_proposal),
}


# --- lifecycle guards -----------------------------------------------------------------------------

def agreements_accepted_for_activation(session: Session, tenant, move) -> list[dict[str, Any]]:
    """Lifecycle guard: a newly provisioned tenant is activated only once every required agreement
    version is accepted (by a municipal admin of the tenant).

    Resuming a suspended tenant is not held up: its accounts were disabled while suspended, so
    it could not have accepted a version published meanwhile; that goes through the ordinary
    re-acceptance window (and its deadline flag on the board) instead.
    """
    from tenancy.registry.models import TenantStatus

    if move.from_status != TenantStatus.provisioning:
        return []
    try:
        agreements.require_accepted(session, tenant)
    except Conflict as refusal:
        return refusal.problems
    return []


def wire() -> dict[str, list[str]]:
    """Register every handler and guard whose package is present; returns what was wired."""
    wired: dict[str, list[str]] = {"enactors": [], "guards": []}
    for change_type, (module, handler, check) in ENACTORS.items():
        if _optional(module) is None:
            council.unregister_enactor(change_type)
            continue
        council.register_enactor(change_type, handler, check=check)
        wired["enactors"].append(change_type.value)
    billing = _optional("billing.allocation_policies")
    if billing is not None:  # billing reads the council's resolutions (adopting a policy by one)
        billing.COUNCIL_RESOLUTIONS = _council_decisions
        billing.NOTE_ENACTED = council.note_enacted
        wired.setdefault("readers", []).append("billing:council_resolutions")
    report = _optional("billing.annual_report")
    register = _optional("service.incidents.operations")
    if report is not None and register is not None:  # the annual report lists the incident register's failures
        report.PLATFORM_INCIDENTS = register.year_rows
        wired.setdefault("readers", []).append("billing:platform_incidents")
    lifecycle = _optional("tenancy.onboarding.lifecycle")
    if lifecycle is not None:
        from tenancy.registry.models import TenantStatus

        # A name of its own: the screening checklist's "agreements accepted" item (the signed
        # joint-use agreement, before any account exists) stays a condition of approval.
        lifecycle.register_guard(TenantStatus.active, agreements_accepted_for_activation, name="agreement_versions_accepted")
        wired["guards"].append("active:agreement_versions_accepted")
    return wired
