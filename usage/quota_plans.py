"""Changing quotas: plans, a tenant's assigned plan, per-tenant overrides, and the default plans.

Each change is audited and asks ``quota.manage`` (a plan changed by a council resolution: the
council's ``council.manage``, whose vote decided it); a committed change empties the quota caches
of this process (:func:`usage.quotas.quota_cache`). Which limit applies is decided in
:mod:`usage.quotas`; the default plans follow the population bands of
:data:`DEFAULT_PLANS`, and :func:`apply_default_quotas` is the onboarding step.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from core import audit, authz
from core.actor import Actor
from core.db import utcnow
from core.errors import problem
from tenancy.registry.models import Tenant
from usage.models import Enforcement, QuotaLimit, QuotaOverride, QuotaPlan, TenantQuota, is_plan_code, thresholds_text
from usage.quotas import (QuotaError, QuotaLimitSpec, QuotaOverrideSpec, QuotaPlanChange, _defer, _tenant,
                                  _thresholds, _validated, effective_limits_of, find_plan, get_plan,
                                  inherited_enforcement, plan_of)

def plan_summary(plan: QuotaPlan) -> dict[str, Any]:
    return {
        "code": plan.code, "name_ja": plan.name_ja, "name_en": plan.name_en,
        "population_min": plan.population_min, "population_max": plan.population_max,
        "limits": {row.metric: {"limit": row.limit, "enforcement": Enforcement(row.enforcement).value,
                                "thresholds": list(_thresholds(row.thresholds))} for row in plan.limits},
    }


def _check_plan_code(code: str) -> None:
    if not is_plan_code(code):
        raise QuotaError(f"Plan code {code!r} must be 1-32 letters, digits, '-' or '_'.",
                         f"プランコード {code!r} は英数字・-・_ の 1〜32 文字にしてください。",
                         problems=[problem("code", "1-32 letters, digits, '-' or '_'", "英数字・-・_ の 1〜32 文字")])


def change_quota_plan(session: Session, actor: Actor, plan_code: str, change: QuotaPlanChange | dict, *,
                      resolution_ref: str | None = None) -> QuotaPlan:
    """Create plan ``plan_code`` or change its name, population band and limits (audited as ``quota.plan.change``).

    ``resolution_ref``: the council resolution that decided the change, kept on the plan; the
    council enacting it acts by its vote (``council.manage``), anyone else needs ``quota.manage``.
    """
    authz.authorize(actor, "council.manage" if resolution_ref is not None else "quota.manage")
    change = _validated(QuotaPlanChange, change)
    _check_plan_code(plan_code)
    plan = find_plan(session, plan_code)
    before = plan_summary(plan) if plan is not None else None
    if plan is None:
        if not change.name_ja:
            raise QuotaError("A new plan needs name_ja.", "新しいプランには名称（name_ja）が必要です。",
                             problems=[problem("name_ja", "required for a new plan", "新しいプランには必須です。")])
        plan = QuotaPlan(code=plan_code, name_ja=change.name_ja, limits=[])
        session.add(plan)
    fields = change.model_dump(exclude_unset=True, exclude={"limits"})
    if fields.get("name_ja", "") is None:
        fields.pop("name_ja")
    for name, value in fields.items():
        setattr(plan, name, value if value is not None or name.startswith("population") else "")
    if plan.population_min is not None and plan.population_max is not None and plan.population_min > plan.population_max:
        raise QuotaError("population_min must not exceed population_max.", "人口の下限が上限を超えています。",
                         problems=[problem("population_min", "must not exceed population_max", "上限以下にしてください。")])
    rows = {row.metric: row for row in plan.limits}
    for spec in change.limits:
        row = rows.get(spec.metric)
        if spec.limit is None:
            if row is not None:
                plan.limits.remove(row)
            continue
        if row is None:
            row = QuotaLimit(metric=spec.metric, limit=spec.limit, enforcement=spec.enforcement)
            plan.limits.append(row)
        row.limit, row.enforcement = spec.limit, spec.enforcement
        row.thresholds = thresholds_text(spec.thresholds)
    after = plan_summary(plan)
    if after == before:
        return plan
    if resolution_ref is not None:
        plan.resolution_ref = resolution_ref
        after = {**after, "resolution_ref": resolution_ref}
    plan.updated_at = utcnow()
    session.flush()
    audit.record(session, actor, "quota.plan.change", "quota_plan", plan_code, before=before, after=after)
    _defer(session, ("reset",))
    return plan


def assign_quota_plan(session: Session, actor: Actor, tenant_code: str, plan_code: str | None) -> Tenant:
    """Give a tenant an explicit plan; ``None`` returns it to the plan of its population band."""
    authz.authorize(actor, "quota.manage", tenant_code)
    tenant = _tenant(session, tenant_code)
    assignment = session.scalars(sa.select(TenantQuota).where(TenantQuota.tenant_code == tenant_code)).one_or_none()
    before = None
    if assignment is not None:
        before = session.get(QuotaPlan, assignment.plan_id).code
    if before == plan_code:
        return tenant
    if plan_code is None:
        session.delete(assignment)
    else:
        plan = get_plan(session, plan_code)
        if assignment is None:
            session.add(TenantQuota(tenant_code=tenant_code, plan_id=plan.id))
        else:
            assignment.plan_id, assignment.updated_at = plan.id, utcnow()
    session.flush()
    audit.record(session, actor, "quota.assign", "tenant", tenant_code, tenant_code=tenant_code,
                 before={"plan": before}, after={"plan": plan_code})
    _defer(session, ("reset",))
    return tenant


def set_quota_override(session: Session, actor: Actor, tenant_code: str, spec: QuotaOverrideSpec | dict,
                       reason: str = "") -> QuotaOverride | None:
    """Set (or with ``limit`` None, remove) one tenant's own limit for one metric. Without an
    enforcement, the override keeps the one that applies without it (the plan's: a lowered hard
    limit stays hard); the audit record says where it came from."""
    authz.authorize(actor, "quota.manage", tenant_code)
    spec = _validated(QuotaOverrideSpec, spec)
    tenant = _tenant(session, tenant_code)
    if spec.enforcement is None:
        spec = spec.model_copy(update={"enforcement": inherited_enforcement(session, tenant, spec.metric)})
        inherited = True
    else:
        inherited = False
    row = session.scalars(sa.select(QuotaOverride).where(QuotaOverride.tenant_code == tenant_code,
                                                         QuotaOverride.metric == spec.metric)).one_or_none()

    def state(item: QuotaOverride | None):
        if item is None:
            return None
        return {"limit": item.limit, "enforcement": Enforcement(item.enforcement).value,
                "thresholds": list(_thresholds(item.thresholds)), "reason": item.reason}

    before = state(row)
    if spec.limit is None:
        if row is None:
            return None
        session.delete(row)
        row = None
    else:
        if row is None:
            row = QuotaOverride(tenant_code=tenant_code, metric=spec.metric, limit=spec.limit, enforcement=spec.enforcement)
            session.add(row)
        row.limit, row.enforcement, row.reason = spec.limit, spec.enforcement, reason
        row.thresholds = thresholds_text(spec.thresholds)
        row.updated_at = utcnow()
    after = state(row)
    if after == before:
        return row
    session.flush()
    audit.record(session, actor, "quota.override", "quota_override", f"{tenant_code}:{spec.metric}",
                 tenant_code=tenant_code, before=before,
                 after=after if after is None else {**after, "enforcement_from": "plan" if inherited else "override"})
    _defer(session, ("reset",))
    return row


GIB = 1024 ** 3

DEFAULT_PLANS: dict[str, dict[str, Any]] = {
    "small": {"name_ja": "小規模団体（人口5万人未満）", "name_en": "Small (population under 50,000)",
              "population_min": 0, "population_max": 49_999,
              "limits": {"api_calls": (1_000_000, "hard"), "broker_entities": (50_000, "soft"),
                         "storage_bytes": (20 * GIB, "hard"), "user_seats": (30, "soft"), "datasets": (100, "soft")}},
    "medium": {"name_ja": "中規模団体（人口5万人以上30万人未満）", "name_en": "Medium (50,000 to 299,999)",
               "population_min": 50_000, "population_max": 299_999,
               "limits": {"api_calls": (5_000_000, "hard"), "broker_entities": (200_000, "soft"),
                          "storage_bytes": (100 * GIB, "hard"), "user_seats": (100, "soft"), "datasets": (300, "soft")}},
    "large": {"name_ja": "大規模団体（人口30万人以上）", "name_en": "Large (300,000 and over)",
              "population_min": 300_000, "population_max": None,
              "limits": {"api_calls": (20_000_000, "hard"), "broker_entities": (1_000_000, "soft"),
                         "storage_bytes": (500 * GIB, "hard"), "user_seats": (300, "soft"), "datasets": (1_000, "soft")}},
}


def load_default_plans(session: Session, actor: Actor) -> list[QuotaPlan]:
    """Create the population-band plans that do not exist yet (existing plans are left as they are)."""
    created = []
    for code, spec in DEFAULT_PLANS.items():
        if find_plan(session, code) is not None:
            continue
        change = {key: value for key, value in spec.items() if key != "limits"}
        change["limits"] = [{"metric": metric, "limit": limit, "enforcement": enforcement}
                            for metric, (limit, enforcement) in spec["limits"].items()]
        created.append(change_quota_plan(session, actor, code, change))
    return created


def apply_default_quotas(session: Session, actor: Actor, tenant: Tenant) -> dict[str, Any]:
    """Onboarding step: make sure the tenant is covered by a plan; returns the plan and limits that apply.

    Plans follow the population band, so nothing is stored per tenant (a later population
    change moves the tenant to its new band). Only when no plan exists at all are the default
    plans created (audited). Safe to run again.
    """
    plan = plan_of(session, tenant)
    if plan is None and session.scalar(sa.select(sa.func.count()).select_from(QuotaPlan)) == 0:
        load_default_plans(session, actor)
        plan = plan_of(session, tenant)
    limits = effective_limits_of(session, [tenant], plans={tenant.code: plan})[tenant.code]
    return {"plan": plan.code if plan else None,
            "limits": {metric: limit.summary() for metric, limit in sorted(limits.items())}}
