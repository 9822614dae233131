"""What the onboarding pages read: the board, a tenant's detail and timeline, the platform resources.

:func:`board`, :func:`detail`, :func:`timeline` and :func:`platform_resources` take the actor and ask
for ``tenant.read`` themselves: a tenant's page needs the right on that tenant, and the board and the
resource list show every tenant only to someone who may read them all (a municipal user sees their
own tenants).
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from core import authz
from core.actor import Actor
from tenancy.onboarding import lifecycle
from tenancy.onboarding.lifecycle import get_tenant, HANDOVER, SCREENING
from tenancy.onboarding.models import PlatformResource, ProvisioningStep, StepStatus, TenantOnboarding
from tenancy.onboarding.saga import platform_resource, STEP_BY_NAME, STEPS
from tenancy.registry.history import history
from tenancy.registry.models import Tenant, TenantKind, TenantStatus


def _readable(actor: Actor) -> list[str] | None:
    """The tenant codes the actor may read (``tenant.read``), or None for every tenant."""
    grant = authz.authorize(actor, "tenant.read")
    return None if grant.all_tenants else sorted(grant.tenant_codes)


def attention(session: Session, actor: Actor) -> dict[str, list[dict[str, Any]]]:
    """What onboarding needs from someone now, in two queries whatever the number of tenants:
    applications awaiting screening (applied or screening) and provisioning failures (a tenant in
    provisioning with a failed step), each ``{code, name_ja, name_en, status, step_label_ja, step_label_en}``."""
    codes = _readable(actor)
    waiting = sa.select(Tenant.code, Tenant.name_ja, Tenant.name_en, Tenant.status).where(
        Tenant.status.in_([TenantStatus.applied, TenantStatus.screening])).order_by(Tenant.code)
    failed = (sa.select(Tenant.code, Tenant.name_ja, Tenant.name_en, Tenant.status, ProvisioningStep.step)
              .join(ProvisioningStep, ProvisioningStep.tenant_id == Tenant.id)
              .where(Tenant.status == TenantStatus.provisioning, ProvisioningStep.status == StepStatus.failed)
              .order_by(Tenant.code))
    if codes is not None:
        waiting, failed = waiting.where(Tenant.code.in_(codes)), failed.where(Tenant.code.in_(codes))

    def row(code, name_ja, name_en, status, step=None) -> dict[str, Any]:
        label = STEP_BY_NAME.get(step) if step else None
        return {"code": code, "name_ja": name_ja, "name_en": name_en, "status": TenantStatus(status).value,
                "step_label_ja": label.label_ja if label else None, "step_label_en": label.label_en if label else None}

    return {"awaiting_screening": [row(*r) for r in session.execute(waiting)],
            "provisioning_failures": [row(*r) for r in session.execute(failed)]}


def board(session: Session, actor: Actor) -> dict[str, Any]:
    """Tenants by status, counts per wave, and the failed provisioning step of each tenant that has one.

    Every tenant for someone who may read them all; a municipal user's board holds their own tenants.
    """
    codes = _readable(actor)
    # the columns the board shows, not whole rows: every municipality of the country at national size
    query = sa.select(Tenant.id, Tenant.code, Tenant.name_ja, Tenant.name_en, Tenant.kind, Tenant.status,
                      Tenant.wave_fiscal_year).order_by(Tenant.code)
    if codes is not None:
        query = query.where(Tenant.code.in_(codes))
    tenants = session.execute(query).all()
    failures = {row.tenant_id: row for row in session.scalars(
        sa.select(ProvisioningStep).where(ProvisioningStep.status == StepStatus.failed))}
    steps_done = dict(session.execute(sa.select(ProvisioningStep.tenant_id, sa.func.count())
                                      .where(ProvisioningStep.status == StepStatus.done).group_by(ProvisioningStep.tenant_id)).all())
    columns: dict[str, list[dict[str, Any]]] = {status.value: [] for status in TenantStatus}
    waves: dict[str, dict[str, int]] = {}
    for tenant in tenants:
        failure = failures.get(tenant.id)
        step = STEP_BY_NAME.get(failure.step) if failure is not None else None
        columns[TenantStatus(tenant.status).value].append({
            "code": tenant.code, "name_ja": tenant.name_ja, "name_en": tenant.name_en, "kind": TenantKind(tenant.kind).value,
            "wave_fiscal_year": tenant.wave_fiscal_year,
            "failed_step": failure.step if failure is not None and tenant.status == TenantStatus.provisioning else None,
            "failed_step_label_ja": step.label_ja if step and tenant.status == TenantStatus.provisioning else None,
            "error": failure.last_error if failure is not None and tenant.status == TenantStatus.provisioning else None,
            # every step done but not active: a guard (e.g. agreements not yet accepted) holds the activation
            "awaiting_activation": tenant.status == TenantStatus.provisioning and steps_done.get(tenant.id, 0) == len(STEPS),
        })
        wave = str(tenant.wave_fiscal_year) if tenant.wave_fiscal_year else "-"
        counts = waves.setdefault(wave, {status.value: 0 for status in TenantStatus})
        counts[TenantStatus(tenant.status).value] += 1
    return {
        "columns": columns,
        "counts": {status: len(items) for status, items in columns.items()},
        "active_municipalities": sum(1 for t in tenants if t.status == TenantStatus.active and TenantKind(t.kind) != TenantKind.prefecture),
        "waves": dict(sorted(waves.items())),
    }


def _iso(moment) -> str | None:
    return moment.isoformat() if moment is not None else None


def _timeline(session: Session, tenant: Tenant) -> list[dict[str, Any]]:
    return [
        {"from_status": TenantStatus(t.from_status).value if t.from_status else None,
         "to_status": TenantStatus(t.to_status).value, "at": _iso(t.at), "actor": t.actor_name or t.actor_subject,
         "actor_subject": t.actor_subject, "reason": t.reason}
        for t in history(session, tenant)
    ]


def timeline(session: Session, actor: Actor, code: str) -> list[dict[str, Any]]:
    """A tenant's status changes, oldest first (who, when, why), as JSON-able values; ``tenant.read`` on it."""
    authz.authorize(actor, "tenant.read", code)
    return _timeline(session, get_tenant(session, code))


def detail(session: Session, actor: Actor, code: str) -> dict[str, Any]:
    """Everything about one tenant's joining and leaving, as JSON-able values (API and views).

    Its status and next moves, checklists, provisioning steps, platform resources and timeline;
    ``tenant.read`` on that tenant.
    """
    authz.authorize(actor, "tenant.read", code)
    tenant = get_tenant(session, code)
    rows = {row.step: row for row in session.scalars(
        sa.select(ProvisioningStep).where(ProvisioningStep.tenant_id == tenant.id))}
    resource = platform_resource(session, tenant)
    record = session.scalars(sa.select(TenantOnboarding).where(TenantOnboarding.tenant_id == tenant.id)).one_or_none()
    return {
        "code": tenant.code,
        "name_ja": tenant.name_ja,
        "name_en": tenant.name_en,
        "status": TenantStatus(tenant.status).value,
        "status_label_ja": lifecycle.status_label(tenant.status),
        "wave_fiscal_year": tenant.wave_fiscal_year,
        "allowed_transitions": [t.name for t in lifecycle.allowed_transitions(tenant)]
                               + (["retry"] if tenant.status == TenantStatus.provisioning else []),
        "checklists": {
            name: [{"item": entry.key, "label_ja": entry.label_ja, "label_en": entry.label_en,
                    "checked": bool(row and row.checked), "checked_by": row.checked_by if row else "",
                    "checked_at": _iso(row.checked_at) if row else None, "note": row.note if row else ""}
                   for entry, row in lifecycle.checklist(session, tenant, name)]
            for name in (SCREENING, HANDOVER)
        },
        "provisioning": [
            {"step": step.name, "label_ja": step.label_ja, "label_en": step.label_en,
             "status": StepStatus(rows[step.name].status if step.name in rows else StepStatus.pending).value,
             "attempts": rows[step.name].attempts if step.name in rows else 0,
             "error": rows[step.name].last_error if step.name in rows else "",
             "finished_at": _iso(rows[step.name].finished_at) if step.name in rows else None}
            for step in STEPS
        ],
        "platform_resources": None if resource is None else {
            "fiware_service": resource.fiware_service, "catalog_organization": resource.catalog_organization},
        "final_settlement_due": bool(record and record.final_settlement_due),
        "timeline": _timeline(session, tenant),
    }


def platform_resources(session: Session, actor: Actor) -> list[dict[str, Any]]:
    """The FIWARE service and data catalog organisation of each provisioned tenant the actor may read."""
    codes = _readable(actor)
    query = (sa.select(Tenant.code, Tenant.name_ja, PlatformResource.fiware_service, PlatformResource.catalog_organization)
             .join(PlatformResource, PlatformResource.tenant_id == Tenant.id).order_by(Tenant.code))
    if codes is not None:
        query = query.where(Tenant.code.in_(codes))
    return [{"code": code, "name_ja": name, "fiware_service": service, "catalog_organization": organization}
            for code, name, service, organization in session.execute(query)]
