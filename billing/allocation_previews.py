"""What an allocation of a year reads, and previews of it (按分の試算): the year's members and their
usage, the split a policy would give them, and the municipalities without a share and why. Reads
only: runs (:mod:`billing.allocation_runs`) compute from the same inputs and store them.

Usage figures for ``usage:<metric>`` components come from :data:`USAGE_TOTALS`, by default
``usage.metering.usage_total``.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
from collections.abc import Callable, Collection, Sequence
from typing import NamedTuple

import sqlalchemy as sa
from sqlalchemy.orm import Session

from billing import allocation
from billing.allocation_policies import policy_value
from billing.errors import AllocationError
from billing.grants import cost_value, grant_value, year_grants
from billing.ledger_errors import InvalidBillingData
from billing.models import AllocationPolicy
from billing.operations import _cost_items, require_all_tenants
from core.actor import Actor
from core.calendar import day_text, fiscal_year_ja, fiscal_year_start
from core.errors import DomainError
from tenancy.registry.history import active_intervals, histories, participation_months
from tenancy.registry.models import Tenant, TenantKind, TenantStatus
from usage.metering import usage_total, usage_totals

USAGE_TOTALS: Callable[[Session, str, str, int], int] = usage_total
"""``(session, tenant_code, metric, fiscal_year) -> int``: a tenant's metered total for a year.
Replace it (tests, another metering source) to change where usage figures come from."""


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
    of participation, the metrics' totals read so far, and the participants made so far (a
    participant is a frozen value: the two sides of a what-if share the members they have in common)."""

    candidates: list[_Member]
    transitions: dict[int, list]
    months: dict[int, int]
    totals: dict[str, dict[str, int]]
    participants: dict[tuple[str, int, tuple[str, ...]], allocation.Participant] = dataclasses.field(default_factory=dict)


class _Member(NamedTuple):
    """What an allocation reads of a municipality (a run's snapshot and an estimate too), read as a
    plain row: building 1,741 mapped Tenant objects cost more than the allocation, and a row's
    fields are read several times for each municipality."""

    id: int
    code: str
    name_ja: str
    population: int
    population_source: str
    status: TenantStatus
    wave_fiscal_year: int | None


_MEMBER_COLUMNS = tuple(getattr(Tenant, name) for name in _Member._fields)


def _year_members(session: Session, fiscal_year: int) -> _YearMembers:
    candidates = list(map(_Member._make, session.execute(
        sa.select(*_MEMBER_COLUMNS).where(Tenant.kind != TenantKind.prefecture).order_by(Tenant.code))))
    transitions = histories(session, candidates)  # one query, not one per tenant
    months, without_moves = {}, {}
    for tenant in candidates:
        moves = transitions[tenant.id]
        if moves:
            months[tenant.id] = participation_months(session, tenant, fiscal_year, moves)
            continue
        # no recorded move (most tenants): the months follow from the status and the wave alone,
        # worked out once for each of those
        key = (tenant.status, tenant.wave_fiscal_year)
        if key not in without_moves:
            without_moves[key] = participation_months(session, tenant, fiscal_year, moves)
        months[tenant.id] = without_moves[key]
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
    metric_names = tuple(metrics)
    for tenant in known.candidates:
        months = known.months[tenant.id]
        if months == 0:
            if members != "with_applicants" or TenantStatus(tenant.status) in (TenantStatus.withdrawn,
                                                                                TenantStatus.suspended):
                continue
            months = allocation.MONTHS_IN_YEAR
        key = (tenant.code, months, metric_names)
        participant = known.participants.get(key)
        if participant is None:
            usage = {metric: _usage(session, tenant.code, metric, fiscal_year, totals.get(metric)) for metric in metrics}
            participant = known.participants[key] = allocation.Participant(
                code=tenant.code, population=tenant.population, months=months, usage=usage)
        participants.append(participant)
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

    @functools.cached_property  # the page asks more than once; the lines do not change
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
            [cost_value(item) for item in items], participants, value,
            prefecture.code if prefecture is not None else None,
            [grant_value(grant) for grant in year_grants(session, fiscal_year)],
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
    return day_text(moment)


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
            ja = (f"まだ利用を開始していないため（現在: {status.ja}）、{era}の参加月数は0か月で、"
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
            ja = f"{era}に利用中の月がないため（現在: {status.ja}）、負担はありません。"
            en = f"No active month in FY{fiscal_year}: no share."
        found.append(NotSharing(tenant.code, tenant.name_ja, ja, en))
    return found
