"""The limits reached: every tenant that has reached or passed one of its limits this month (the
operator's home page), computed in the database in a bounded number of queries.

The limit is resolved as :func:`usage.quotas.effective_limits_of` resolves it and the level
read as :func:`usage.quotas.current_level` reads it. The alert *messages* queued when an
ingest crosses a threshold are :func:`usage.quotas.after_usage_recorded`'s.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.orm import Session

from core import authz
from core.actor import Actor
from core.calendar import current_month
from tenancy.identity.models import ApiClient
from tenancy.registry.models import Tenant
from usage.models import (METRICS, Enforcement, Granularity, MetricKind, QuotaLimit, QuotaOverride, QuotaPlan,
                                  TenantQuota, UsageAggregate)
from usage.quotas import OPEN_STATUSES

@dataclasses.dataclass(frozen=True)
class QuotaAlert:
    """A tenant that has reached or passed one of its limits this month."""

    tenant_code: str
    tenant_name: str
    metric: str
    used: int
    limit: int
    enforcement: str  # soft (warned, still allowed) or hard (further use refused)

    @property
    def percent(self) -> int | None:
        return self.used * 100 // self.limit if self.limit else None


def _alerts_query(codes: Sequence[str] | None, month: dt.date) -> sa.Subquery:
    """Every limit reached or passed in ``month``, one row per (tenant, metric), computed in the
    database: the effective limit as :func:`effective_limits_of` resolves it (override, then the
    registry's seat limit, then the assigned plan else the population band's) and the level as
    :func:`current_level` reads it, so the work done in Python does not grow with the tenants."""
    metrics = sa.union_all(*[sa.select(sa.literal(name, sa.String).label("metric"),
                                       sa.literal(position, sa.Integer).label("position"))
                             for position, name in enumerate(METRICS)]).subquery("metrics")
    plan = QuotaPlan.__table__
    band = (sa.select(plan.c.id)
            .where(sa.or_(plan.c.population_min.isnot(None), plan.c.population_max.isnot(None)),
                   sa.or_(plan.c.population_min.is_(None), plan.c.population_min <= Tenant.population),
                   sa.or_(plan.c.population_max.is_(None), plan.c.population_max >= Tenant.population))
            .order_by(sa.func.coalesce(plan.c.population_min, -1).desc(), plan.c.code)
            .limit(1).correlate(Tenant).scalar_subquery())
    tenants = (sa.select(Tenant.code, Tenant.name_ja, Tenant.user_seat_limit,
                         sa.func.coalesce(TenantQuota.plan_id, band).label("plan_id"))
               .outerjoin(TenantQuota, TenantQuota.tenant_code == Tenant.code)
               .where(Tenant.status.in_([s.value for s in OPEN_STATUSES])))
    if codes is not None:
        tenants = tenants.where(Tenant.code.in_(list(codes)))
    t = tenants.cte("t").prefix_with("MATERIALIZED")  # each tenant's plan resolved once, not once per metric
    override, limit_row = QuotaOverride.__table__, QuotaLimit.__table__
    usage = UsageAggregate.__table__
    monthly = usage.c.granularity == Granularity.month.value
    counters = [m.name for m in METRICS.values() if m.kind is MetricKind.counter]
    # the month's own row, joined (one index lookup, cheaper than a subquery per row): a counter's total, and a
    # gauge's level when it was read this month; only a gauge not read this month looks for its latest earlier row
    this_month = usage.alias("this_month")
    earlier = (sa.select(usage.c.last_value)
               .where(usage.c.tenant_code == t.c.code, usage.c.metric == metrics.c.metric, monthly,
                      usage.c.period_start < month)
               .order_by(usage.c.period_start.desc()).limit(1).scalar_subquery())
    clients = (sa.select(sa.func.count()).select_from(ApiClient)
               .where(ApiClient.tenant_code == t.c.code, ApiClient.status != "revoked").scalar_subquery())
    used = sa.case((metrics.c.metric == "api_clients", clients),
                   (metrics.c.metric.in_(counters), sa.func.coalesce(this_month.c.total, 0)),
                   else_=sa.func.coalesce(this_month.c.last_value, earlier, 0))
    registry = sa.and_(metrics.c.metric == "user_seats", t.c.user_seat_limit.isnot(None))
    source = sa.case((override.c.id.isnot(None), "override"), (registry, "registry"),
                     (limit_row.c.id.isnot(None), "plan"), else_=None)
    limit = sa.case((override.c.id.isnot(None), override.c.limit_value), (registry, t.c.user_seat_limit),
                    else_=limit_row.c.limit_value)
    rows = (sa.select(t.c.code, t.c.name_ja, metrics.c.metric, metrics.c.position, used.label("used"),
                      limit.label("limit_value"), source.label("source"),
                      override.c.enforcement.label("override_enforcement"),
                      limit_row.c.enforcement.label("plan_enforcement"))
            .select_from(t.join(metrics, sa.true())
                         .outerjoin(override, sa.and_(override.c.tenant_code == t.c.code,
                                                      override.c.metric == metrics.c.metric))
                         .outerjoin(limit_row, sa.and_(limit_row.c.plan_id == t.c.plan_id,
                                                       limit_row.c.metric == metrics.c.metric))
                         .outerjoin(this_month, sa.and_(this_month.c.tenant_code == t.c.code,
                                                        this_month.c.metric == metrics.c.metric,
                                                        this_month.c.granularity == Granularity.month.value,
                                                        this_month.c.period_start == month)))
            .subquery("levels"))
    return (sa.select(rows).where(rows.c.limit_value.isnot(None), rows.c.used >= rows.c.limit_value)
            .subquery("alerts"))


def quota_alerts_shown(session: Session, actor: Actor, shown: int | None, *,
                       now: dt.datetime | None = None) -> tuple[list[QuotaAlert], int]:
    """The first ``shown`` alerts (every one with None) in the order of :func:`quota_alerts`, and how many
    there are in all; two queries whatever the number of tenants, and only the rows shown are loaded."""
    grant = authz.authorize(actor, "usage.read")
    codes = None if grant.all_tenants else sorted(grant.tenant_codes)
    if codes is not None and not codes:
        return [], 0
    alerts = _alerts_query(codes, current_month(now))
    if shown is None:
        query = sa.select(alerts).order_by(alerts.c.code, alerts.c.position)
    else:  # the rows shown and the count in one pass: the count is on each row
        query = (sa.select(alerts, sa.func.count().over().label("total"))
                 .order_by(alerts.c.code, alerts.c.position).limit(shown))
    rows = session.execute(query).all()
    total = len(rows) if shown is None else (int(rows[0].total) if rows else 0)
    if shown == 0 and total == 0:  # no row to carry the count
        total = int(session.scalar(sa.select(sa.func.count()).select_from(alerts)) or 0)
    result = []
    for row in rows:
        if row.source == "override":
            enforcement = Enforcement(row.override_enforcement).value
        elif row.source == "registry":
            enforcement = Enforcement.hard.value
        else:
            enforcement = Enforcement(row.plan_enforcement).value
        result.append(QuotaAlert(row.code, row.name_ja, row.metric, int(row.used), int(row.limit_value), enforcement))
    return result, total


def quota_alerts(session: Session, actor: Actor, *, now: dt.datetime | None = None) -> list[QuotaAlert]:
    """Every limit reached or passed this month by an active or provisioning tenant the actor may
    read (``usage.read``), by tenant and metric; a bounded number of queries whatever the number of tenants."""
    return quota_alerts_shown(session, actor, None, now=now)[0]
