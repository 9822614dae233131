"""Quotas (利用上限): plans, per-tenant overrides, warning thresholds, the quota check and its alerts.

Which limit applies to a tenant's metric, first match wins:

1. the tenant's override for that metric (``quota_override``);
2. for ``user_seats`` only, the registry's ``tenant.user_seat_limit`` (the limit invitations
   already enforce), as a hard limit;
3. the limit in the tenant's plan: the plan assigned to it (``tenant_quota``), else the plan
   whose population band contains the tenant's population;
4. none: the metric is not limited.

A *soft* limit warns at its thresholds (default 80 % and 100 %) and never denies; a *hard*
limit warns the same way and makes :meth:`QuotaCache.check` deny a request that would take the
usage beyond the limit. Counters (``api_calls``) are compared per Japan-time month and start
again at zero in a new month; gauges compare their latest reported level.

Alerts: when an ingest leaves the current month's usage at or above a threshold, one
notification is queued in the outbox with the dedupe key
``quota:<tenant>:<metric>:<YYYY-MM>:<threshold>``, so each threshold alerts once per period
however many batches cross it (and the aggregate row lock serialises concurrent batches).

The quota check is served from a per-process :class:`QuotaCache`: an entry is reloaded from
the database when it is older than ``max_age_seconds`` (default 5) or the month changed, and
ingests committed in the same process update it at once. So a decision is at most
``max_age_seconds`` behind usage recorded by other processes and limit changes.

Permissions are asked here, by each use case: :func:`check_quota` needs ``quota.check`` on the
tenant, :func:`tenant_quota_status` ``usage.read`` on it, :func:`list_plans` ``usage.read``, and
every change of a plan, an assignment or an override ``quota.manage`` (a plan changed by a
council resolution: the council's ``council.manage``, whose vote decided it).

The changes themselves (plans, assignments, overrides, the default plans) are in
:mod:`usage.quota_plans`; the list of limits reached, in :mod:`usage.quota_alerts`.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import threading
import time
from collections.abc import Mapping, Callable, Iterable, Sequence
from typing import Any, Literal

import sqlalchemy as sa
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from sqlalchemy import event
from sqlalchemy.orm import Session

from core import authz
from core import outbox
from core.actor import Actor
from core.errors import Invalid, NotFound
from core.calendar import current_month
from core.db import utcnow
from tenancy.errors import TenantNotFound
from usage.models import (
    DEFAULT_THRESHOLDS,
    thresholds_of,
    METRICS,
    Enforcement,
    Granularity,
    MetricKind,
    QuotaOverride,
    QuotaPlan,
    TenantQuota,
    UsageAggregate,
)
from core.outbox import Notification
from catalogue.operations import dataset_counts
from tenancy.identity.models import ApiClient, ClientStatus
from tenancy.registry.models import Tenant, TenantStatus
from core.validation import problems_from

MetricName = Literal["api_calls", "broker_entities", "storage_bytes", "user_seats", "datasets", "api_clients"]
assert set(MetricName.__args__) == set(METRICS)  # type: ignore[attr-defined]

OPEN_STATUSES = frozenset({TenantStatus.active, TenantStatus.provisioning})
ALERT_KIND = "quota.threshold"


# --- input models ------------------------------------------------------------------------------

class QuotaLimitSpec(BaseModel):
    """One metric's limit: ``limit`` None removes it (the metric is then not limited by this plan)."""

    model_config = ConfigDict(extra="forbid")

    metric: MetricName
    limit: int | None = Field(ge=0, le=2**53, description="Monthly total for api_calls; level for the gauges")
    enforcement: Enforcement = Enforcement.soft
    thresholds: list[int] = Field(default_factory=lambda: list(DEFAULT_THRESHOLDS),
                                  json_schema_extra={"minItems": 1, "items": {"type": "integer", "minimum": 1, "maximum": 1000}},
                                  description="Warning thresholds in percent of the limit (1 to 1000)")

    @field_validator("thresholds")
    @classmethod
    def _thresholds(cls, value: list[int]) -> list[int]:
        if not value or any(t < 1 or t > 1000 for t in value):
            raise ValueError("give one or more thresholds between 1 and 1000 (percent)")
        return sorted(set(value))


class QuotaOverrideSpec(QuotaLimitSpec):
    """One tenant's own limit for a metric. Its enforcement left out keeps what applies without it
    (issue 36: an override lowering a plan's hard limit used to become soft by default, silently
    ending the stop): the plan's for that metric, hard for user seats the registry limits, and
    soft where nothing limits the metric (:func:`inherited_enforcement`)."""

    enforcement: Enforcement | None = Field(
        default=None, description="hard or soft; left out, the enforcement that applies without this override "
                                  "(the plan's for the metric; soft where nothing limits it)")


def inherited_enforcement(session: Session, tenant: Tenant, metric: str) -> Enforcement:
    """The enforcement of ``metric``'s limit for ``tenant`` without its own override."""
    plan = plan_of(session, tenant)
    for row in plan.limits if plan is not None else ():
        if row.metric == metric:
            return Enforcement(row.enforcement)
    if metric == "user_seats" and tenant.user_seat_limit is not None:
        return Enforcement.hard  # the registry's seat limit (effective_limits_of)
    return Enforcement.soft


class QuotaPlanChange(BaseModel):
    """A change to a plan (created if it does not exist); fields left out stay as they are.

    ``limits`` upserts the metrics it names; a limit of ``null`` removes that metric's limit.
    It is JSON-able, so a council proposal can carry it and enact it later.
    """

    model_config = ConfigDict(extra="forbid")

    name_ja: str | None = Field(default=None, min_length=1, max_length=100)
    name_en: str | None = Field(default=None, max_length=100)
    population_min: int | None = Field(default=None, ge=0, le=2**53)
    population_max: int | None = Field(default=None, ge=0, le=2**53)
    limits: list[QuotaLimitSpec] = Field(default_factory=list)

    @model_validator(mode="after")
    def _band(self) -> QuotaPlanChange:
        if self.population_min is not None and self.population_max is not None and self.population_min > self.population_max:
            raise ValueError("population_min must not exceed population_max")
        return self

    @field_validator("limits")
    @classmethod
    def _once_each(cls, limits: list[QuotaLimitSpec]) -> list[QuotaLimitSpec]:
        metrics = [spec.metric for spec in limits]
        if len(metrics) != len(set(metrics)):
            raise ValueError("each metric may appear only once in limits")
        return limits


class QuotaError(Invalid):
    pass


class PlanNotFound(NotFound):
    def __init__(self, code: str) -> None:
        super().__init__(f"No quota plan {code!r}.", f"利用上限プラン {code!r} はありません。", plan=code)


def _validated(model: type[BaseModel], payload: Any) -> Any:
    if isinstance(payload, model):
        return payload
    try:
        return model.model_validate(payload)
    except ValidationError as error:
        raise QuotaError("The quota settings have errors; nothing was changed.",
                         "利用上限の設定内容に誤りがあります。変更は行っていません。",
                         problems=problems_from(error)) from None


# --- effective limits --------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class EffectiveLimit:
    metric: str
    limit: int
    enforcement: Enforcement
    thresholds: tuple[int, ...]
    source: str  # "override", "registry" or "plan:<code>"

    def summary(self) -> dict[str, Any]:
        return {"limit": self.limit, "enforcement": Enforcement(self.enforcement).value,
                "thresholds": list(self.thresholds), "source": self.source}


def _thresholds(text: str) -> tuple[int, ...]:
    return thresholds_of(text) or DEFAULT_THRESHOLDS


def find_plan(session: Session, code: str) -> QuotaPlan | None:
    return session.scalars(sa.select(QuotaPlan).where(QuotaPlan.code == code)).one_or_none()


def get_plan(session: Session, code: str) -> QuotaPlan:
    plan = find_plan(session, code)
    if plan is None:
        raise PlanNotFound(code)
    return plan


def list_plans(session: Session, actor: Actor) -> list[QuotaPlan]:
    authz.authorize(actor, "usage.read")
    return list(session.scalars(sa.select(QuotaPlan).order_by(QuotaPlan.population_min.is_(None), QuotaPlan.population_min,
                                                              QuotaPlan.code)))


@dataclasses.dataclass(frozen=True)
class TenantQuotaSettings:
    """What the operator set for one tenant: the plan assigned to it (None: its population band's
    plan applies), the plan that applies now, and its overrides by metric."""

    tenant: Tenant
    assigned_plan: QuotaPlan | None
    plan: QuotaPlan | None
    overrides: dict[str, QuotaOverride]


def tenant_quota_settings(session: Session, actor: Actor, tenant_code: str) -> TenantQuotaSettings:
    """The assignment and overrides of one tenant (``usage.read`` on it), for the forms that change them."""
    authz.authorize(actor, "usage.read", tenant_code)
    tenant = _tenant(session, tenant_code)
    assignment = session.scalars(sa.select(TenantQuota).where(TenantQuota.tenant_code == tenant_code)).one_or_none()
    assigned = session.get(QuotaPlan, assignment.plan_id) if assignment is not None else None
    overrides = {row.metric: row for row in session.scalars(
        sa.select(QuotaOverride).where(QuotaOverride.tenant_code == tenant_code).order_by(QuotaOverride.metric))}
    return TenantQuotaSettings(tenant, assigned, plan_of(session, tenant), overrides)


def _band_plan(plans: Sequence[QuotaPlan], population: int) -> QuotaPlan | None:
    """The plan whose population band holds ``population``; the one with the highest lower bound wins."""
    matching = [p for p in plans
                if (p.population_min is not None or p.population_max is not None)
                and (p.population_min is None or p.population_min <= population)
                and (p.population_max is None or p.population_max >= population)]
    matching.sort(key=lambda p: (-(p.population_min if p.population_min is not None else -1), p.code))
    return matching[0] if matching else None


def plans_of(session: Session, tenants: Sequence[Tenant]) -> dict[str, QuotaPlan | None]:
    """Each tenant's assigned plan, else the plan of its population band."""
    plans = list(session.scalars(sa.select(QuotaPlan)))
    by_id = {p.id: p for p in plans}
    assigned = dict(session.execute(sa.select(TenantQuota.tenant_code, TenantQuota.plan_id)
                                    .where(TenantQuota.tenant_code.in_([t.code for t in tenants]))).all())
    return {t.code: by_id[assigned[t.code]] if t.code in assigned else _band_plan(plans, t.population) for t in tenants}


def plan_of(session: Session, tenant: Tenant) -> QuotaPlan | None:
    return plans_of(session, [tenant])[tenant.code]


def effective_limits_of(session: Session, tenants: Sequence[Tenant], *,
                        plans: dict[str, QuotaPlan | None] | None = None) -> dict[str, dict[str, EffectiveLimit]]:
    """metric → limit for each tenant, in three queries whatever the number of tenants (one when
    ``plans``, their :func:`plans_of`, is known already)."""
    plans = plans if plans is not None else plans_of(session, tenants)
    overrides: dict[str, list[QuotaOverride]] = {}
    for row in session.scalars(sa.select(QuotaOverride).where(QuotaOverride.tenant_code.in_([t.code for t in tenants]))):
        overrides.setdefault(row.tenant_code, []).append(row)
    result = {}
    # a plan's limits, made once per plan (a handful) rather than once per tenant (1,741 at national size)
    of_plan: dict[str, dict[str, EffectiveLimit]] = {}
    for tenant in tenants:
        plan = plans[tenant.code]
        if plan is None:
            limits: dict[str, EffectiveLimit] = {}
        else:
            if plan.code not in of_plan:
                of_plan[plan.code] = {row.metric: EffectiveLimit(row.metric, row.limit, Enforcement(row.enforcement),
                                                                 _thresholds(row.thresholds), f"plan:{plan.code}")
                                      for row in plan.limits}
            limits = dict(of_plan[plan.code])
        if tenant.user_seat_limit is not None:
            limits["user_seats"] = EffectiveLimit("user_seats", tenant.user_seat_limit, Enforcement.hard,
                                                  DEFAULT_THRESHOLDS, "registry")
        for row in overrides.get(tenant.code, []):
            limits[row.metric] = EffectiveLimit(row.metric, row.limit, Enforcement(row.enforcement),
                                                _thresholds(row.thresholds), "override")
        result[tenant.code] = limits
    return result


def effective_limits(session: Session, tenant: Tenant) -> dict[str, EffectiveLimit]:
    return effective_limits_of(session, [tenant])[tenant.code]


def _tenant(session: Session, code: str) -> Tenant:
    tenant = session.scalars(sa.select(Tenant).where(Tenant.code == code)).one_or_none()
    if tenant is None:
        raise TenantNotFound(code)
    return tenant


# --- decisions and the cache -------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class QuotaDecision:
    tenant_code: str
    metric: str
    period: dt.date
    allowed: bool
    reason: str  # no_limit, within_limit, over_soft_limit, hard_limit_reached, tenant_not_active
    used: int
    limit: int | None
    remaining: int | None
    enforcement: str | None
    as_of: dt.datetime
    max_staleness_seconds: float

    def summary(self) -> dict[str, Any]:
        return {
            "tenant": self.tenant_code, "metric": self.metric, "period": self.period.strftime("%Y-%m"),
            "allowed": self.allowed, "reason": self.reason, "used": self.used, "limit": self.limit,
            "remaining": self.remaining, "enforcement": self.enforcement,
            "as_of": self.as_of.isoformat(), "max_staleness_seconds": self.max_staleness_seconds,
        }


def decide(tenant_code: str, metric: str, period: dt.date, status: TenantStatus, limit: EffectiveLimit | None,
           used: int, quantity: int, as_of: dt.datetime, max_age: float) -> QuotaDecision:
    """Allow or deny ``quantity`` more units of ``metric`` on top of ``used``."""
    remaining = None if limit is None else max(limit.limit - used, 0)
    enforcement = None if limit is None else Enforcement(limit.enforcement).value
    if TenantStatus(status) not in OPEN_STATUSES:
        allowed, reason = False, "tenant_not_active"
    elif limit is None:
        allowed, reason = True, "no_limit"
    elif used + quantity <= limit.limit:
        allowed, reason = True, "within_limit"
    elif limit.enforcement is Enforcement.hard:
        allowed, reason = False, "hard_limit_reached"
    else:
        allowed, reason = True, "over_soft_limit"
    limit_value = None if limit is None else limit.limit
    return QuotaDecision(tenant_code, metric, period, allowed, reason, used, limit_value, remaining, enforcement,
                         as_of, max_age)


def api_client_counts(session: Session, codes: Sequence[str] | None = None) -> dict[str, int]:
    """The ``api_clients`` level: each holder's clients that are not revoked or rejected (waiting for
    approval, active or disabled), counted from the clients' own table (its one home; never reported
    as usage events)."""
    query = (sa.select(ApiClient.tenant_code, sa.func.count())
             .where(ApiClient.status.not_in([ClientStatus.revoked, ClientStatus.rejected]))
             .group_by(ApiClient.tenant_code))
    if codes is not None:
        query = query.where(ApiClient.tenant_code.in_(list(codes)))
    return {code: int(count) for code, count in session.execute(query)}


def current_level(session: Session, tenant_code: str, metric: str, month: dt.date) -> int:
    """What a quota compares now: this month's total for a counter; the latest reported level for a gauge
    (``api_clients``: the clients counted now, :func:`api_client_counts`; ``datasets``: the provider's
    datasets counted now from the register, :func:`catalogue.operations.dataset_counts`, the one
    count its pages read; the due job ``dataset-gauge`` records the level as usage for the history)."""
    if metric == "api_clients":
        return api_client_counts(session, [tenant_code]).get(tenant_code, 0)
    if metric == "datasets":
        return dataset_counts(session, [tenant_code]).get(tenant_code, 0)
    table = UsageAggregate.__table__
    base = sa.select(table.c.total, table.c.last_value, table.c.period_start).where(
        table.c.tenant_code == tenant_code, table.c.metric == metric, table.c.granularity == Granularity.month.value)
    if METRICS[metric].kind is MetricKind.counter:
        row = session.execute(base.where(table.c.period_start == month)).first()
        return int(row.total) if row else 0
    # a gauge keeps its level across months until a new value is reported
    row = session.execute(base.where(table.c.period_start <= month)
                          .order_by(table.c.period_start.desc()).limit(1)).first()
    return int(row.last_value) if row else 0


@dataclasses.dataclass
class _Entry:
    status: TenantStatus
    limit: EffectiveLimit | None
    used: int
    month: dt.date
    loaded_at: float  # the cache's clock
    as_of: dt.datetime


class QuotaCache:
    """Per-process memory of (usage, limit) per tenant × metric, reloaded when older than ``max_age_seconds``."""

    def __init__(self, max_age_seconds: float = 5.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.max_age = float(max_age_seconds)
        self._clock = clock
        self._entries: dict[tuple[str, str], _Entry] = {}
        self._lock = threading.Lock()
        # one lock per (tenant, metric): when an entry expires, one thread reloads it and the
        # others asking for it meanwhile wait for that reload instead of each running their own
        self._loading: dict[tuple[str, str], threading.Lock] = {}
        self._generation = 0  # bumped by clear(): a load that began before it is not kept
        self._limits: tuple[float, dict[str, dict[str, EffectiveLimit]]] | None = None  # (loaded at, by tenant)
        # the threshold alerts (dedupe keys) of one month known to be in the outbox, committed
        self._alerted: tuple[dt.date, frozenset[str]] = (dt.date.min, frozenset())
        # usage this process counted that is not in the database yet (the gateway's call log, not
        # folded): added to every decision, kept across clear() and reloads (the database lacks it)
        self._unfolded: dict[tuple[str, str, dt.date], int] = {}

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._limits = None
            self._alerted = (dt.date.min, frozenset())
            self._generation += 1

    def alerted(self, month: dt.date) -> frozenset[str]:
        """The threshold alerts of ``month`` known to be queued already (by any process): ingest
        looks up in the outbox only the thresholds crossed that are not among them."""
        memo = self._alerted
        return memo[1] if memo[0] == month else frozenset()

    def note_alerted(self, month: dt.date, keys: Iterable[str]) -> None:
        """Alerts of ``month`` found in the outbox or queued, by a transaction that committed.
        Only the latest month is kept (alerts are for the current month)."""
        with self._lock:
            kept_month, known = self._alerted
            if month > kept_month:
                self._alerted = (month, frozenset(keys))
            elif month == kept_month:
                self._alerted = (month, known | frozenset(keys))

    def limits_of(self, session: Session, codes: Iterable[str]) -> dict[str, dict[str, EffectiveLimit]]:
        """The effective limits of ``codes``, from a memory of every tenant's limits kept at most
        ``max_age_seconds`` (the same bound as the decisions); a quota change committed in this
        process empties it. Ingest's threshold alerts read it, so that a batch costs no query for
        limits whatever the number of tenants it touches."""
        codes = set(codes)
        memo = self._limits
        if memo is None or self._clock() - memo[0] > self.max_age or not codes <= memo[1].keys():
            generation, loaded_at = self._generation, self._clock()
            tenants = list(session.scalars(sa.select(Tenant).options(sa.orm.lazyload(Tenant.contacts))))
            memo = (loaded_at, effective_limits_of(session, tenants))
            with self._lock:
                if generation == self._generation:
                    self._limits = memo
        return {code: memo[1].get(code, {}) for code in codes}

    def _load(self, session: Session, tenant_code: str, metric: str, month: dt.date, now: dt.datetime) -> _Entry:
        generation = self._generation
        loaded_at = self._clock()  # taken before the reads: the entry's age is never understated
        tenant = _tenant(session, tenant_code)
        entry = _Entry(status=TenantStatus(tenant.status), limit=effective_limits(session, tenant).get(metric),
                       used=current_level(session, tenant_code, metric, month), month=month,
                       loaded_at=loaded_at, as_of=now)
        with self._lock:
            if generation == self._generation:
                self._entries[(tenant_code, metric)] = entry
        return entry

    def _fresh(self, entry: _Entry | None, month: dt.date) -> bool:
        return entry is not None and entry.month == month and self._clock() - entry.loaded_at <= self.max_age

    def check(self, session: Session, tenant_code: str, metric: str, quantity: int = 1,
              now: dt.datetime | None = None) -> QuotaDecision:
        now = now or utcnow()
        month = current_month(now)
        key = (tenant_code, metric)
        entry = self._entries.get(key)
        if not self._fresh(entry, month):
            lock = self._loading.get(key)
            if lock is None:
                with self._lock:
                    lock = self._loading.setdefault(key, threading.Lock())
            with lock:
                entry = self._entries.get(key)  # another thread may have reloaded it while this one waited
                if not self._fresh(entry, month):
                    entry = self._load(session, tenant_code, metric, month, now)
        return self._answer(entry, tenant_code, metric, month, quantity)

    def peek(self, tenant_code: str, metric: str, quantity: int = 1,
             now: dt.datetime | None = None) -> QuotaDecision | None:
        """:meth:`check` answered from memory only; ``None`` when the entry is missing or due for a reload."""
        now = now or utcnow()
        month = current_month(now)
        entry = self._entries.get((tenant_code, metric))
        if not self._fresh(entry, month):
            return None
        return self._answer(entry, tenant_code, metric, month, quantity)

    def _answer(self, entry: _Entry, tenant_code: str, metric: str, month: dt.date, quantity: int) -> QuotaDecision:
        used = entry.used + self._unfolded.get((tenant_code, metric, month), 0)
        return decide(tenant_code, metric, month, entry.status, entry.limit, used, quantity, entry.as_of,
                      self.max_age)

    def note_unfolded(self, tenant_code: str, metric: str, at: dt.datetime, quantity: int) -> None:
        """``quantity`` of ``metric`` counted by this process at ``at`` but not yet in the database
        (negative: now committed there). The decisions of this process count it at once; other
        processes see it once it is folded and their entry reloaded (docs/gateway.md)."""
        key = (tenant_code, metric, current_month(at))
        with self._lock:
            left = self._unfolded.get(key, 0) + quantity
            if left > 0:
                self._unfolded[key] = left
            else:
                self._unfolded.pop(key, None)

    def note_folded(self, tenant_code: str, metric: str, at: dt.datetime, quantity: int) -> None:
        """``quantity`` this process counted at ``at`` (:meth:`note_unfolded`) is in the database now,
        committed by a folder, perhaps another process's: it leaves the unfolded counts and the entry is
        read again at its next decision (a load already under way is not kept: it may predate the
        commit), so the figure is never short of it."""
        key = (tenant_code, metric, current_month(at))
        with self._lock:
            left = self._unfolded.get(key, 0) - quantity
            if left > 0:
                self._unfolded[key] = left
            else:
                self._unfolded.pop(key, None)
            self._entries.pop((tenant_code, metric), None)
            self._generation += 1

    def forget_unfolded(self) -> None:
        """Tests: the call log was discarded with the database it described."""
        with self._lock:
            self._unfolded.clear()

    def note_usage(self, tenant_code: str, metric: str, month: dt.date, used: int) -> None:
        """A committed ingest's new figure for the current month: applied without waiting for a reload."""
        with self._lock:
            entry = self._entries.get((tenant_code, metric))
            if entry is not None and entry.month == month:
                entry.used = used


def check_quota(session: Session | None, actor: Actor, cache: QuotaCache, tenant_code: str, metric: str,
                quantity: int = 1, now: dt.datetime | None = None) -> QuotaDecision | None:
    """The quota check an API gateway asks before forwarding a tenant's request (``quota.check``).
    With ``session`` None it is answered from the cache's memory only: ``None`` when that cannot."""
    authz.authorize(actor, "quota.check", tenant_code)
    if session is None:
        return cache.peek(tenant_code, metric, quantity, now)
    return cache.check(session, tenant_code, metric, quantity, now)


_CACHES: dict[str, QuotaCache] = {}
_PENDING = "renkei_quota_pending"


def _bind_key(bind: sa.Engine | sa.Connection) -> str:
    engine = bind.engine if isinstance(bind, sa.Connection) else bind
    return engine.url.render_as_string(hide_password=True)


def quota_cache(bind: sa.Engine | sa.Connection, max_age_seconds: float | None = None) -> QuotaCache:
    """The process's cache for one database; ``max_age_seconds`` sets its bound (unset: the bound
    it has, 5 s for a new one)."""
    key = _bind_key(bind)
    cache = _CACHES.get(key)
    if cache is None:
        cache = _CACHES.setdefault(key, QuotaCache())
    if max_age_seconds is not None:
        cache.max_age = float(max_age_seconds)
    return cache


def reset_quota_caches() -> None:
    for cache in _CACHES.values():
        cache.clear()


def _defer(session: Session, item: tuple) -> None:
    session.info.setdefault(_PENDING, []).append(item)


def _after_commit(session: Session) -> None:
    pending = session.info.pop(_PENDING, None)
    if not pending:
        return
    cache = _CACHES.get(_bind_key(session.get_bind()))
    if cache is None:
        return
    for item in pending:
        if item[0] == "reset":
            cache.clear()
        elif item[0] == "alerted":
            cache.note_alerted(*item[1:])
        else:
            cache.note_usage(*item[1:])


def _after_rollback(session: Session) -> None:
    session.info.pop(_PENDING, None)


if not event.contains(Session, "after_commit", _after_commit):
    event.listen(Session, "after_commit", _after_commit)
    event.listen(Session, "after_rollback", _after_rollback)


# --- alerts ------------------------------------------------------------------------------------

def _alert_text(tenant: Tenant, metric: str, month: dt.date, threshold: int, used: int,
                limit: EffectiveLimit) -> tuple[str, str]:
    label = METRICS[metric].label_ja
    period = f"{month.year}年{month.month}月"
    if METRICS[metric].kind is MetricKind.gauge:
        period_note = f"（{period}時点の値）"
    else:
        period_note = f"（{period}分）"
    if limit.enforcement is Enforcement.hard:
        effect = "上限に達すると、API ゲートウェイがそれ以上の利用を止めます。"
    else:
        effect = "この上限は目安（ソフトリミット）のため、超えても利用は止まりません。"
    subject = f"【利用上限】{tenant.name_ja}：{label}が上限の{threshold}%に達しました（{period}）"
    body = (
        f"{tenant.name_ja} ご担当者様\n\n"
        f"{label}{period_note}が利用上限の {threshold}% に達しました。\n\n"
        f"・利用量：{used:,}\n・上限：{limit.limit:,}\n・利用率：{used * 100 // limit.limit if limit.limit else 100}%\n\n"
        f"{effect}\n"
        "利用状況は管理画面の「利用状況」で確認できます。上限の変更が必要な場合は運営者（県）にご相談ください。\n"
    )
    return subject, body


def after_usage_recorded(session: Session, figures: Sequence[Any], *, now: dt.datetime | None = None) -> int:
    """Queue threshold alerts for the current month's new figures and note them for the cache; returns alerts queued."""
    month = current_month(now)
    current = [f for f in figures if f.month == month]
    if not current:
        return 0
    cache = quota_cache(session.get_bind())
    limits_of = cache.limits_of(session, {f.tenant_code for f in current})
    crossed: dict[str, tuple] = {}
    for figure in current:
        _defer(session, ("usage", figure.tenant_code, figure.metric, month, figure.used))
        limit = limits_of[figure.tenant_code].get(figure.metric)
        if limit is None or figure.used <= 0:
            continue
        for threshold in limit.thresholds:
            if figure.used * 100 < threshold * limit.limit:
                break
            key = f"quota:{figure.tenant_code}:{figure.metric}:{month:%Y-%m}:{threshold}"
            crossed[key] = (figure, threshold, limit)
    alerted = cache.alerted(month)
    unknown = [key for key in crossed if key not in alerted]
    if not unknown:
        return 0
    # one query for the alerts already sent, instead of one per crossed threshold and batch; what
    # it finds (and what is queued below) is remembered once this transaction commits
    known = set(session.scalars(sa.select(Notification.dedupe_key).where(Notification.dedupe_key.in_(unknown))))
    fresh = {key: crossed[key] for key in unknown if key not in known}
    _defer(session, ("alerted", month, known | fresh.keys()))
    if not fresh:
        return 0
    # tenants (names for the message) only when an alert is queued; contacts are read by the outbox
    tenants = {t.code: t for t in session.scalars(sa.select(Tenant).options(sa.orm.lazyload(Tenant.contacts))
                                                  .where(Tenant.code.in_({item[0].tenant_code for item in fresh.values()})))}
    queued = 0
    for key, (figure, threshold, limit) in fresh.items():
        tenant = tenants[figure.tenant_code]
        subject, body = _alert_text(tenant, figure.metric, month, threshold, figure.used, limit)
        if outbox.queue(session, kind=ALERT_KIND, subject=subject, body=body, tenant=tenant, dedupe_key=key):
            queued += 1
    return queued


# --- a tenant's quotas now ------------------------------------------------------------------------

def tenant_quota_status(session: Session, actor: Actor, tenant_code: str, *,
                        now: dt.datetime | None = None, measured: Mapping[str, int] | None = None) -> list[dict[str, Any]]:
    """Every metric of one tenant now: used, limit, percentage, enforcement, where the limit comes from.

    ``measured``: levels counted just now at their source (``user_seats`` from Keycloak's accounts,
    :func:`tenancy.identity.operations.seats_used`), shown instead of the stored figure, which is only
    as fresh as its last recorded count."""
    authz.authorize(actor, "usage.read", tenant_code)
    tenant = _tenant(session, tenant_code)
    month = current_month(now)
    limits = effective_limits(session, tenant)
    plan = plan_of(session, tenant)
    result = []
    for metric in METRICS.values():
        fresh = measured is not None and metric.name in measured
        used = measured[metric.name] if fresh else current_level(session, tenant_code, metric.name, month)
        limit = limits.get(metric.name)
        result.append({
            "metric": metric.name, "kind": metric.kind.value, "label_ja": metric.label_ja, "label_en": metric.label_en,
            "period": month.strftime("%Y-%m"), "used": used,
            "limit": limit.limit if limit else None,
            "percent": (used * 100 // limit.limit if limit.limit else None) if limit else None,
            "enforcement": Enforcement(limit.enforcement).value if limit else None,
            "thresholds": list(limit.thresholds) if limit else [],
            "source": limit.source if limit else None,
            "plan": plan.code if plan else None,
        })
    return result


def active_tenant_codes(session: Session, codes: Iterable[str] | None = None) -> list[str]:
    query = sa.select(Tenant.code).where(Tenant.status.in_([s.value for s in OPEN_STATUSES])).order_by(Tenant.code)
    if codes is not None:
        query = query.where(Tenant.code.in_(list(codes)))
    return list(session.scalars(query))
