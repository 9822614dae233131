"""Usage metering (利用実績): ingest events, keep aggregates, purge raw events after retention.

Invariants:

* A batch is all or nothing. Every event is checked first (registered tenant, known metric,
  whole quantity ≥ 0, timestamp with a time zone, not more than ``max_future_seconds`` ahead and
  not before the retention window); if any fails, :class:`UsageRejected` names each bad event
  by position and ``event_id`` and nothing is written.
* An event is known by its ``event_id`` and its timestamp (the instant): an event already
  stored (or repeated within the batch) counts once. The same ``event_id`` at the same instant
  for *different* data is an error, not a duplicate; at another instant it is another event
  (``usage_event``'s primary key, which holds the partition key on PostgreSQL).
* Aggregates per tenant × metric × Japan-time day and month are updated in the same transaction
  as the events (insert ... on conflict do update), so they never disagree with what was
  stored, and nothing reads raw events to answer a question. Aggregate rows are upserted in
  key order so that concurrent batches lock them in the same order (no deadlock).
* The retention cutoff only moves forward, and events before it are refused at ingest; so a
  purged event can never be counted a second time by a late replay.

Ingestion is recorded per batch in ``usage_batch`` (who, when, from where, how many), which is
the processing log of metering; administrative acts (purge, quota changes) go to the audit log.

Permissions are asked here: ingesting needs ``usage.ingest`` (the metering client, the operator),
purging ``usage.purge``. The read functions (``monthly_values``, ``usage_total`` ...) are helpers
for use cases that have authorised the read (reports, billing's usage component).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from core import audit, authz, retention
from core.actor import Actor
from core.errors import Invalid, problem
from core.calendar import add_months, fiscal_months
from core.db import utcnow
from catalogue.operations import provider_lookup
from usage import dataset_use, partitions
from usage import quotas  # quotas reads what metering writes; metering tells quotas what it recorded
from usage.models import (
    GatewayFoldedSegment,
    METRICS,
    Granularity,
    MetricKind,
    UsageAggregate,
    UsageBatch,
    UsageEvent,
)
from usage.event_checks import (
    CLIENT_SOURCES, DEFAULT_SETTINGS, MAX_EVENT_ID_LENGTH, REGISTER_SOURCE, CheckedEvents, MeteringSettings, UsageRejected,
    ValidEvent, _default_where, _parse_timestamp, _refuse_counted_by_renkei, _reject,
    batch_too_large, retention_cutoff, tenant_codes, validate_events,
)
from usage.event_store import (
    _EVENT_KEY, _check_resent, _ingest_pg, _postgresql, _store_events, _upsert_aggregates, add_dataset_months, aggregate_overflow,
)

log = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class IngestResult:
    batch_id: int
    received: int
    accepted: int
    duplicates: int
    alerts: int

    def summary(self) -> dict[str, int]:
        return dataclasses.asdict(self)


def ingest(
    session: Session,
    actor: Actor,
    raw_events: Sequence[Any],
    *,
    source: str = "api",
    now: dt.datetime | None = None,
    settings: MeteringSettings = DEFAULT_SETTINGS,
    where: Callable[[int], str] = _default_where,
    known_tenants: frozenset[str] | None = None,
    provider_of: Callable[[str], str | None] | None = None,
) -> IngestResult:
    """Record a batch of usage events (all or nothing); update aggregates, alerts and the quota cache.

    An event may name a ``dataset`` of the register that its tenant provides; ``provider_of`` (default:
    the register, :func:`catalogue.operations.provider_lookup`) names a dataset's provider."""
    authz.authorize(actor, "usage.ingest")
    now = now or utcnow()
    if len(raw_events) > settings.max_batch:
        raise batch_too_large(len(raw_events), settings)
    if not raw_events:
        raise UsageRejected("The batch has no events; send at least one.", "イベントが1件もありません。1件以上送ってください。",
                            problems=[problem("events", "at least one event is required", "1件以上必要です。")])
    if source in CLIENT_SOURCES:
        _refuse_counted_by_renkei(raw_events, where)
    known = known_tenants if known_tenants is not None else tenant_codes(session)
    if provider_of is None:  # the datasets the batch names, read before the check (and the COPY) begins
        provider_of = provider_lookup(session, [raw.get("dataset") for raw in raw_events
                                                if type(raw) is dict or isinstance(raw, Mapping)])

    def check(sink: Callable[[CheckedEvents], None] | None = None) -> tuple:
        return validate_events(raw_events, known, now=now, settings=settings, where=where, sink=sink,
                               provider_of=provider_of)

    def refused(events: CheckedEvents) -> list[dict[str, Any]]:
        return aggregate_overflow(session, events, where, raw_events)

    def check_resent(resent: list[ValidEvent], known: Mapping[tuple, tuple | None] | None = None) -> None:
        ids = {e.event_id for e in resent}
        positions: dict[tuple[str, dt.datetime], int] = {}
        for index, raw in enumerate(raw_events):
            if raw["event_id"] in ids:
                positions.setdefault((raw["event_id"], _parse_timestamp(raw["timestamp"])), index)
        _check_resent(session, resent, where, positions, known)

    batch = dict(source=source, actor_issuer=actor.issuer, actor_subject=actor.subject, actor_name=actor.name,
                 request_id=actor.request_id, source_ip=actor.source_ip, events_received=len(raw_events),
                 received_at=now)
    session.flush()  # what the caller changed before, ahead of the batch (a no-op when nothing is pending)
    if _postgresql(session):  # checked while copied; the batch row is written with the aggregates
        events, batch_id, accepted, figures, fresh = _ingest_pg(session, check, refused, batch, check_resent)
    else:
        events, _, problems = check()
        if problems:
            raise _reject(problems)
        overflow = refused(events)
        if overflow:
            raise _reject(overflow)
        row = UsageBatch(**batch)
        session.add(row)
        session.flush()
        batch_id = row.id
        inserted = _store_events(session, events, batch_id)
        fresh = events
        if len(inserted) < len(events):
            check_resent([e for e in events if _EVENT_KEY(e) not in inserted])
            fresh = CheckedEvents.of(e for e in events if _EVENT_KEY(e) in inserted)
        accepted, figures = len(fresh), _upsert_aggregates(session, fresh)
        row.events_accepted = accepted
        row.events_duplicate = len(raw_events) - accepted
    add_dataset_months(session, fresh)
    alerts = quotas.after_usage_recorded(session, figures, now=now)
    tenants = sorted(set(events.tenant_code))
    # one audit record per batch (not per event): who sent what, and how much of it counted; not for
    # the gateway's own counted calls (consumers' requests, not administrative acts; the batch row records them)
    if source != GATEWAY_SOURCE:
        audit.record(session, actor, "usage.ingest", "usage_batch", str(batch_id),
                     tenant_code=tenants[0] if len(tenants) == 1 else None,
                     after={"source": source, "received": len(raw_events), "accepted": accepted,
                            "duplicates": len(raw_events) - accepted, "tenants": tenants, "alerts": alerts})
    session.flush()
    return IngestResult(batch_id, len(raw_events), accepted, len(raw_events) - accepted, alerts)


# An API call the gateway check let through is counted as one api_calls event, known by the
# gateway's request id: GATEWAY_EVENT_PREFIX + the id (nginx's $request_id). A request id already
# counted within GATEWAY_REPEAT_WINDOW (nginx asks again for the same request after an internal
# redirect; a gateway may retry) is not counted again.
GATEWAY_EVENT_PREFIX = "gateway:"
GATEWAY_REPEAT_WINDOW = dt.timedelta(hours=24)
GATEWAY_SOURCE = "gateway"


USE = "use"  # the key of a call's dataset use in its line of the call log (not part of the ingest's event)


def gateway_call_event(tenant_code: str, request_id: str, quantity: int = 1, *,
                       now: dt.datetime | None = None, use: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The usage event of one call the gateway check allowed, as the ingest reads it: the one place
    its content is decided (the gateway's call log stores it, :func:`fold_gateway_calls` records it).
    ``use``: the dataset the call reached (:func:`usage.dataset_use.call_use`), kept beside
    the event in the log and folded into the dataset's use by consumer."""
    now = (now or utcnow()).astimezone(dt.timezone.utc)
    event = {"event_id": f"{GATEWAY_EVENT_PREFIX}{request_id}"[:MAX_EVENT_ID_LENGTH], "tenant": tenant_code,
             "metric": "api_calls", "quantity": quantity, "timestamp": now.isoformat()}
    if use:
        event[USE] = dict(use)
    return event


def gateway_use_event(consumer_code: str, request_id: str, use: Mapping[str, Any], *,
                      now: dt.datetime | None = None) -> dict[str, Any]:
    """The line of one call the gateway check allowed for a member organisation's client (no quota, so
    no api_calls event): only the dataset it reached, ``use``, folded into that dataset's use by
    consumer (:func:`fold_gateway_calls`). Known by the same event id as a counted call's."""
    now = (now or utcnow()).astimezone(dt.timezone.utc)
    return {"event_id": f"{GATEWAY_EVENT_PREFIX}{request_id}"[:MAX_EVENT_ID_LENGTH], "tenant": consumer_code,
            "timestamp": now.isoformat(), USE: dict(use)}


def is_counted_call(event: Mapping[str, Any]) -> bool:
    """Whether a line of the call log counts api_calls (False: an organisation's dataset use only)."""
    return "metric" in event


def log_dataset_use(call_log: Any, actor: Actor, consumer_code: str, request_id: str, use: Mapping[str, Any], *,
                    now: dt.datetime | None = None) -> bool:
    """Note that a member organisation's allowed call reached a dataset: its line made durable in the
    process's call log before the call is answered (as :func:`count_gateway_call`), folded into
    ``usage_dataset_call`` by the log's folder, not written in the check's transaction. False for a
    request id this process noted already (not again)."""
    authz.authorize(actor, "usage.ingest")
    return call_log.append(gateway_use_event(consumer_code, request_id, use, now=now))


FOLDED_SEGMENT_DAYS = 35  # a folded segment's name is kept this long (a file left on disk after its commit)


def segment_already_folded(session: Session, name: str) -> bool:
    """Whether the call-log segment ``name`` was folded and committed already (its file left behind)."""
    return session.get(GatewayFoldedSegment, name) is not None


def note_segment_folded(session: Session, name: str, now: dt.datetime | None = None) -> None:
    """In the fold's transaction: the segment ``name`` is folded (and the names older than
    :data:`FOLDED_SEGMENT_DAYS` go)."""
    now = now or utcnow()
    table = GatewayFoldedSegment.__table__
    session.connection().execute(table.delete().where(
        table.c.folded_at < now - dt.timedelta(days=FOLDED_SEGMENT_DAYS)))
    session.connection().execute(table.insert().values(name=name, folded_at=now))


def _record_use_lines(session: Session, events: Sequence[Mapping[str, Any]]) -> None:
    """The organisations' dataset use lines (:func:`gateway_use_event`), the first of each event id."""
    seen: set[str] = set()
    for event in events:
        if event["event_id"] in seen:
            continue
        seen.add(event["event_id"])
        use = event[USE]
        dataset_use.record_call(session, use["provider"], use["dataset"], event["tenant"], use.get("client"),
                                dt.datetime.fromisoformat(event["timestamp"]))


def _without_use(events: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    return [{key: value for key, value in event.items() if key != USE} for event in events]


def _record_uses(session: Session, events: Sequence[Mapping[str, Any]]) -> None:
    """The dataset use of each newly counted event that names one (the same transaction as its count)."""
    for event in events:
        use = event.get(USE)
        if use:
            dataset_use.record_call(session, use["provider"], use["dataset"], event["tenant"], use.get("client"),
                                    dt.datetime.fromisoformat(event["timestamp"]), int(event.get("quantity", 1)))


def count_gateway_call(call_log: Any, actor: Actor, tenant_code: str, request_id: str, quantity: int = 1, *,
                       quota_cache: quotas.QuotaCache, now: dt.datetime | None = None,
                       use: Mapping[str, Any] | None = None) -> bool:
    """Count one call the gateway check allowed as ``quantity`` api_calls of ``tenant_code``: its event
    (:func:`gateway_call_event`) made durable in the process's call log (``call_log.append``,
    :class:`usage.call_log.CallLog`) before the call is answered, and added at once to this
    process's quota decisions; the log's folder records it in the database (:func:`fold_gateway_calls`).
    False when this process counted the request id already (not again). Raises
    :class:`usage.call_log.CallLogUnavailable` when the count cannot be made durable: the
    call must then be refused."""
    authz.authorize(actor, "usage.ingest")
    now = (now or utcnow()).astimezone(dt.timezone.utc)
    if not call_log.append(gateway_call_event(tenant_code, request_id, quantity, now=now, use=use)):
        return False
    quota_cache.note_unfolded(tenant_code, "api_calls", now, quantity)
    return True


def _repeats(session: Session, events: Sequence[Mapping[str, Any]]) -> set[tuple[str, str]]:
    """(event id, timestamp) of the events whose request id was counted within the repeat window
    before them at another instant (the same instant is the same event: a replay, which the ingest
    counts once)."""
    ids = sorted({e["event_id"] for e in events})
    if not ids:
        return set()
    earliest = min(_parse_timestamp(e["timestamp"]) for e in events) - GATEWAY_REPEAT_WINDOW
    table = UsageEvent.__table__
    stored: dict[str, list[dt.datetime]] = {}
    for start in range(0, len(ids), 1000):
        for event_id, at in session.connection().execute(
                sa.select(table.c.event_id, table.c.occurred_at).where(
                    table.c.event_id.in_(ids[start:start + 1000]), table.c.occurred_at >= earliest)):
            stored.setdefault(event_id, []).append(at if at.tzinfo else at.replace(tzinfo=dt.timezone.utc))
    found = set()
    for e in events:
        at = _parse_timestamp(e["timestamp"])
        if any(before != at and at - GATEWAY_REPEAT_WINDOW <= before < at for before in stored.get(e["event_id"], ())):
            found.add((e["event_id"], e["timestamp"]))
    return found


def fold_gateway_calls(session: Session, actor: Actor, events: Sequence[Mapping[str, Any]], *,
                       now: dt.datetime | None = None, settings: MeteringSettings = DEFAULT_SETTINGS) -> int:
    """Record the calls the gateway counted (:func:`gateway_call_event`, read back from its call log,
    :mod:`usage.call_log`) in the caller's transaction; returns how many were newly counted.

    Idempotent: an event already stored (the same event id and instant: a segment folded again)
    counts once; a request id counted within :data:`GATEWAY_REPEAT_WINDOW` before, at another
    instant, is not counted again; within ``events`` the first of an id counts. Recorded through
    :func:`ingest` (``usage_batch`` source ``gateway``, the aggregates, threshold alerts and quota
    cache as for every batch), in batches of at most ``settings.max_batch``. An event the ingest
    refuses (its tenant gone, its instant past the retention window) is left out and logged, so
    that one bad line never holds up the others. A member organisation's lines
    (:func:`gateway_use_event`) are added to their dataset's use, the first of each event id; the
    same lines read again are kept out by the fold's segment key (:func:`segment_already_folded`)."""
    authz.authorize(actor, "usage.ingest")
    _record_use_lines(session, [event for event in events if not is_counted_call(event) and event.get(USE)])
    first: dict[str, Mapping[str, Any]] = {}
    for event in events:
        if is_counted_call(event):
            first.setdefault(event["event_id"], event)
    repeats = _repeats(session, list(first.values()))
    kept = [e for e in first.values() if (e["event_id"], e["timestamp"]) not in repeats]
    counted = 0
    for start in range(0, len(kept), settings.max_batch):
        part = kept[start:start + settings.max_batch]
        try:
            with session.begin_nested():
                counted += ingest(session, actor, _without_use(part), source=GATEWAY_SOURCE, now=now,
                                  settings=settings).accepted
                _record_uses(session, part)
        except UsageRejected:
            for event in part:  # one by one: only the refused ones are left out
                try:
                    with session.begin_nested():
                        accepted = ingest(session, actor, _without_use([event]), source=GATEWAY_SOURCE, now=now,
                                          settings=settings).accepted
                        if accepted:
                            _record_uses(session, [event])
                        counted += accepted
                except UsageRejected as refused:
                    log.error("gateway call %s of %s not counted: %s", event.get("event_id"), event.get("tenant"),
                              refused.problems or refused.message_en)
    return counted


def record_levels(session: Session, actor: Actor, metric: str, level_of: Callable[[str], int], codes: Iterable[str],
                  *, source: str, now: dt.datetime | None = None) -> IngestResult:
    """A gauge of each tenant counted by renkei itself (not reported by a client), recorded as usage events
    known by ``source``, metric, tenant and instant."""
    now = now or utcnow()
    stamp = now.astimezone(dt.timezone.utc).isoformat()
    events = [{"tenant": code, "metric": metric, "quantity": level_of(code), "timestamp": stamp,
               "event_id": f"{source}:{metric}:{code}:{stamp}"} for code in codes]
    return ingest(session, actor, events, source=source, now=now)


def record_user_seats(session: Session, actor: Actor, count_members: Callable[[str], int],
                      codes: Iterable[str], *, now: dt.datetime | None = None) -> IngestResult:
    """The ``user_seats`` gauge of each tenant, counted from its Keycloak group, recorded as usage events."""
    return record_levels(session, actor, "user_seats", count_members, codes, source="keycloak", now=now)


def record_registered_datasets(session: Session, actor: Actor, counts: Mapping[str, int], codes: Iterable[str],
                               *, now: dt.datetime | None = None) -> IngestResult:
    """The ``datasets`` gauge of each tenant, counted from the dataset register
    (:func:`catalogue.operations.gauge_counts`), recorded as usage events."""
    return record_levels(session, actor, "datasets", lambda code: counts.get(code, 0), codes, source=REGISTER_SOURCE,
                         now=now)


# --- reading -----------------------------------------------------------------------------------

def _value_column(metric: str):
    table = UsageAggregate.__table__
    return table.c.peak if METRICS[metric].kind is MetricKind.gauge else table.c.total


class UnknownMetric(Invalid):
    def __init__(self, metric: str) -> None:
        names = ", ".join(METRICS)
        super().__init__(f"Unknown metric {metric!r}; use one of {names}.",
                         f"指標 {metric!r} はありません。次のいずれかを指定してください: {names}",
                         problems=[problem("metric", f"use one of {names}", f"次のいずれか: {names}")], metric=metric)


def usage_total(session: Session, tenant_code: str, metric: str, fiscal_year: int) -> int:
    """A tenant's usage of ``metric`` over a fiscal year (April..March): the sum of its monthly figures.

    A counter's monthly figure is its total; a gauge's is its peak level in the month, so a
    gauge's fiscal-year total is in unit-months (e.g. byte-months of storage). Billing's
    ``usage:<metric>`` basis reads this.
    """
    if metric not in METRICS:
        raise UnknownMetric(metric)
    table = UsageAggregate.__table__
    months = fiscal_months(fiscal_year)
    total = session.execute(
        sa.select(sa.func.coalesce(sa.func.sum(_value_column(metric)), 0)).where(
            table.c.tenant_code == tenant_code, table.c.metric == metric,
            table.c.granularity == Granularity.month.value,
            table.c.period_start >= months[0], table.c.period_start <= months[-1])
    ).scalar_one()
    return int(total)


def _year_of_metric(metric: str, fiscal_year: int):
    """The fiscal year's monthly rows of ``metric`` (what :func:`usage_totals` and :func:`usage_grand_total` add up)."""
    if metric not in METRICS:
        raise UnknownMetric(metric)
    table = UsageAggregate.__table__
    months = fiscal_months(fiscal_year)
    return sa.and_(table.c.metric == metric, table.c.granularity == Granularity.month.value,
                   table.c.period_start >= months[0], table.c.period_start <= months[-1])


def usage_totals(session: Session, metric: str, fiscal_year: int) -> dict[str, int]:
    """tenant → its :func:`usage_total` of ``metric`` over the fiscal year, for every tenant with
    usage, in one grouped query."""
    condition = _year_of_metric(metric, fiscal_year)  # first: an unknown metric is refused as such
    table = UsageAggregate.__table__
    rows = session.execute(
        sa.select(table.c.tenant_code, sa.func.coalesce(sa.func.sum(_value_column(metric)), 0))
        .where(condition).group_by(table.c.tenant_code))
    return {code: int(total) for code, total in rows}


def usage_grand_total(session: Session, metric: str, fiscal_year: int) -> int:
    """Every tenant's :func:`usage_total` of ``metric`` over the fiscal year, added up by the database (the
    :func:`usage_totals` rows, not grouped by tenant): the sum of the usage page's monthly total rows, and the
    results report's (service.kpis) API calls."""
    condition = _year_of_metric(metric, fiscal_year)
    return int(session.execute(sa.select(sa.func.coalesce(sa.func.sum(_value_column(metric)), 0)).where(condition))
               .scalar_one())


def monthly_values(session: Session, months: Sequence[dt.date], tenant_codes: Sequence[str] | None = None,
                   metrics: Sequence[str] | None = None) -> dict[tuple[str, str, dt.date], int]:
    """(tenant, metric, month) → the month's figure, for the months and tenants asked (absent = no usage)."""
    if not months:
        return {}
    table = UsageAggregate.__table__
    query = sa.select(table.c.tenant_code, table.c.metric, table.c.period_start, table.c.total, table.c.peak).where(
        table.c.granularity == Granularity.month.value,
        table.c.period_start >= min(months), table.c.period_start <= max(months))
    if tenant_codes is not None:
        query = query.where(table.c.tenant_code.in_(list(tenant_codes)))
    if metrics is not None:
        query = query.where(table.c.metric.in_(list(metrics)))
    wanted = set(months)
    result = {}
    for row in session.execute(query):
        if row.period_start in wanted and row.metric in METRICS:
            value = row.peak if METRICS[row.metric].kind is MetricKind.gauge else row.total
            result[(row.tenant_code, row.metric, row.period_start)] = int(value)
    return result


def daily_values(session: Session, tenant_code: str, metric: str, month: dt.date) -> dict[dt.date, int]:
    table = UsageAggregate.__table__
    rows = session.execute(
        sa.select(table.c.period_start, table.c.total, table.c.peak).where(
            table.c.tenant_code == tenant_code, table.c.metric == metric, table.c.granularity == Granularity.day.value,
            table.c.period_start >= month, table.c.period_start < add_months(month, 1)).order_by(table.c.period_start))
    gauge = METRICS[metric].kind is MetricKind.gauge
    return {row.period_start: int(row.peak if gauge else row.total) for row in rows}


# --- retention ---------------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class PurgeResult:
    cutoff: dt.datetime
    deleted: int
    partitions_dropped: list[str] = dataclasses.field(default_factory=list)


def prepare_partitions(session: Session, *, now: dt.datetime | None = None,
                       settings: MeteringSettings = DEFAULT_SETTINGS,
                       ahead: int = partitions.MONTHS_AHEAD) -> list[str]:
    """PostgreSQL: the monthly partitions of the retention window and ``ahead`` months beyond the
    current one (the due jobs); returns the partitions created. A no-op on SQLite."""
    connection = session.connection()
    if not partitions.is_partitioned(connection):
        return []
    partitions.ensure_default(connection)
    return partitions.ensure_months(connection, partitions.window(now, settings.retention_months, ahead))


def purge_events(session: Session, actor: Actor, *, now: dt.datetime | None = None,
                 settings: MeteringSettings = DEFAULT_SETTINGS, dry_run: bool = False) -> PurgeResult:
    """Delete raw events older than the retention window; aggregates stay (reports need them)."""
    authz.authorize(actor, "usage.purge")
    cutoff = retention_cutoff(now, settings)
    retention.refuse_before("usage_events", cutoff, now or utcnow(), field="retention_months")  # the one table
    connection = session.connection()
    table = UsageEvent.__table__
    dropped: list[str] = []
    if partitions.is_partitioned(connection):  # PostgreSQL: whole monthly partitions go
        dropped, deleted = partitions.drop_before(connection, cutoff, dry_run=dry_run)
    elif dry_run:
        deleted = session.execute(sa.select(sa.func.count()).select_from(table).where(table.c.occurred_at < cutoff)).scalar_one()
    else:
        deleted = connection.execute(sa.delete(table).where(table.c.occurred_at < cutoff)).rowcount
    if dry_run or not deleted and not dropped:
        return PurgeResult(cutoff, int(deleted))
    audit.record(session, actor, "usage.purge", "usage_event", cutoff.date().isoformat(),
                 after={"cutoff": cutoff.isoformat(), "deleted": int(deleted), "partitions_dropped": dropped,
                        "retention_months": settings.retention_months})
    return PurgeResult(cutoff, int(deleted), dropped)
