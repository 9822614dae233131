"""A tenant's status history, and the months of participation billing charges for.

Rule (docs/allocation.md): a month of the fiscal year counts when the tenant was ``active`` at
any moment of it. So a municipality activated on 15 October pays October to March (6 months),
and one suspended in November pays November and no month after it until it is active again.
Times are read in Japan time (JST), since fiscal months are Japanese calendar months.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.orm import Session

from core.actor import Actor
from core.calendar import JST, fiscal_month_spans, fiscal_year_start, to_jst
from core.db import utcnow
from tenancy.registry.models import Tenant, TenantStatus, TenantTransition


def record_transition(session: Session, actor: Actor, tenant: Tenant, to_status: TenantStatus,
                      reason: str = "", at: dt.datetime | None = None) -> TenantTransition:
    """Move ``tenant`` to ``to_status`` and keep the history row (the caller audits the act)."""
    transition = TenantTransition(
        tenant_id=tenant.id, from_status=tenant.status, to_status=to_status, at=at or utcnow(),
        actor_issuer=actor.issuer, actor_subject=actor.subject, actor_name=actor.name, reason=reason,
    )
    tenant.status = to_status
    tenant.updated_at = transition.at
    session.add(transition)
    session.flush()
    return transition


def history(session: Session, tenant: Tenant) -> list[TenantTransition]:
    return list(session.scalars(
        sa.select(TenantTransition).where(TenantTransition.tenant_id == tenant.id).order_by(TenantTransition.at, TenantTransition.id)
    ))


def histories(session: Session, tenants: Sequence[Tenant]) -> dict[int, list[TenantTransition]]:
    """tenant id → its transitions in order (as :func:`history`), in one query for all the tenants."""
    result: dict[int, list[TenantTransition]] = {tenant.id: [] for tenant in tenants}
    if result:
        for transition in session.scalars(sa.select(TenantTransition).where(TenantTransition.tenant_id.in_(list(result)))
                                          .order_by(TenantTransition.at, TenantTransition.id)):
            result[transition.tenant_id].append(transition)
    return result


def active_intervals(transitions: list[TenantTransition], initial: TenantStatus | None = None,
                     since: dt.datetime | None = None) -> list[tuple[dt.datetime, dt.datetime]]:
    """[start, end) intervals during which the tenant was active, from its transitions.

    ``initial`` is the status before the first transition; if active, the tenant counts as active
    from ``since`` (its wave's first day) or, without one, from before any fiscal year.
    """
    intervals, started = [], None
    if initial == TenantStatus.active:
        started = since or dt.datetime(1900, 1, 1, tzinfo=JST)
    for transition in transitions:
        at = to_jst(transition.at)
        if transition.to_status == TenantStatus.active and started is None:
            started = at
        elif transition.to_status != TenantStatus.active and started is not None:
            intervals.append((started, at))
            started = None
    if started is not None:
        intervals.append((started, dt.datetime(9999, 1, 1, tzinfo=JST)))
    return intervals


def participation_months(session: Session, tenant: Tenant, fiscal_year: int,
                         transitions: list[TenantTransition] | None = None) -> int:
    """Months (0–12) of ``fiscal_year`` in which the tenant was active at any moment.

    A tenant registered as active without a recorded activation (members imported from the
    spreadsheet era) counts as active from the first day (1 April) of its onboarding wave's fiscal
    year, or from before any year when no wave is recorded, until its first recorded move.
    """
    if transitions is None:
        transitions = history(session, tenant)
    initial = transitions[0].from_status if transitions else tenant.status
    since = fiscal_year_start(tenant.wave_fiscal_year) if tenant.wave_fiscal_year else None
    intervals = active_intervals(transitions, initial, since)
    if not intervals:
        return 0
    spans = _month_spans(fiscal_year)
    year_start, year_end = spans[0][0], spans[-1][1]
    if any(a_start <= year_start and a_end >= year_end for a_start, a_end in intervals):
        return len(spans)  # active the whole year: most tenants, without walking the months
    return sum(
        1 for start, end in spans
        if any(a_start < end and a_end > start for a_start, a_end in intervals)
    )


@functools.lru_cache(maxsize=64)
def _month_spans(fiscal_year: int) -> tuple[tuple[dt.datetime, dt.datetime], ...]:
    """The year's month spans, worked out once per year (participation_months runs per tenant)."""
    return tuple(fiscal_month_spans(fiscal_year))
