"""Storing checked usage events and their day and month aggregates (the ingest's writing half):
the PostgreSQL COPY path and its careful fallback, the portable path (SQLite), the aggregate
buckets, and the overflow check against stored aggregates.

Moved out of :mod:`usage.metering` (issue 24: modules a person can hold); metering
calls these in one transaction per batch.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import itertools
import operator
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from core.errors import problem
from core.calendar import jst_day, month_of
from core.db import conflict_insert
from usage.models import (
    METRICS, USAGE_ADD_FUNCTION, Granularity, MetricKind, UsageAggregate, UsageDatasetMonth, UsageEvent,
)
from usage.event_checks import CheckedEvents, UsageRejected, ValidEvent, _default_where, _reject

_UPSERT_CHUNK = 1000

def _dialect_insert(session: Session, table: sa.Table):
    return conflict_insert(session.get_bind().dialect.name, table)


# On PostgreSQL the usual batch (every event new) is copied (COPY) straight into usage_event while
# it is checked: validate_events hands each part of checked events to the COPY, so PostgreSQL
# stores one part while Python checks the next, inside a savepoint (COPY_EVENTS_PG). The primary
# key (event_id, occurred_at) is the check for events already stored. A bad event anywhere, a
# unique violation (a re-send, or a concurrent batch that committed the same event) or a deadlock
# (two batches sharing events, copied in different orders) rolls back to the savepoint: a bad
# event is refused, and otherwise the careful path decides. It copies the batch into a temporary
# staging table; one statement stores the events not stored yet, in key order (ON CONFLICT DO
# NOTHING), and hands back the ones already stored (STORE_EVENTS_PG). Either way one more
# statement upserts the day and month aggregates of what was stored, summed in Python
# (UPSERT_AGGREGATES_PG). SQLite (tests) takes the portable statements below.
# The staging table's name changes with its columns: a session that outlives a deploy (a pooled
# server connection) may still hold the table of an earlier version (usage_event_stage had a
# position column), and CREATE ... IF NOT EXISTS would keep that one.
STAGE_PG = (  # usage_event's columns, so that the rows copied into usage_event are staged as they are
    "CREATE TEMPORARY TABLE IF NOT EXISTS usage_ingest_rows (event_id varchar(128) NOT NULL, "
    "occurred_at timestamptz NOT NULL, tenant_code varchar(6) NOT NULL, metric varchar(32) NOT NULL, "
    "quantity bigint NOT NULL, batch_id integer, dataset varchar(100)) ON COMMIT DELETE ROWS"
)
COPY_STAGE_PG = ("COPY usage_ingest_rows (event_id, occurred_at, tenant_code, metric, quantity, batch_id, dataset) "
                 "FROM STDIN (FORMAT BINARY)")
STORE_EVENTS_PG = (
    "WITH stored AS ("
    " INSERT INTO usage_event (event_id, occurred_at, tenant_code, metric, quantity, batch_id, dataset)"
    " SELECT event_id, occurred_at, tenant_code, metric, quantity, batch_id, dataset FROM usage_ingest_rows"
    " ORDER BY event_id, occurred_at"
    " ON CONFLICT (event_id, occurred_at) DO NOTHING RETURNING event_id, occurred_at) "
    # the events stored before, with what was stored (NULL if committed by another batch since
    # this statement began: the insert waited for it, the statement's snapshot does not show it)
    "SELECT s.event_id, s.occurred_at, e.tenant_code, e.metric, e.quantity, e.dataset FROM usage_ingest_rows s"
    " LEFT JOIN usage_event e ON e.event_id = s.event_id AND e.occurred_at = s.occurred_at"
    " WHERE NOT EXISTS (SELECT 1 FROM stored WHERE stored.event_id = s.event_id AND stored.occurred_at = s.occurred_at)"
)
# The day and month aggregates of what was stored: summed in Python while the batch is in hand
# (one dict pass, far cheaper than reading the staging table back), upserted in one statement
# from arrays (psycopg adapts each list; %b: in binary, which costs a third of the text form),
# in key order so that concurrent batches lock the rows in the same order.
# The batch row: its id taken first (the events carry it), the row written with the counts at the end.
BATCH_ID_PG = "SELECT nextval(pg_get_serial_sequence('usage_batch', 'id'))"
INSERT_BATCH_PG = (
    "INSERT INTO usage_batch (id, received_at, source, actor_issuer, actor_subject, actor_name, request_id, source_ip, "
    "events_received, events_accepted, events_duplicate) VALUES (%(id)s, %(received_at)s, %(source)s, %(actor_issuer)s, "
    "%(actor_subject)s, %(actor_name)s, %(request_id)s, %(source_ip)s, %(events_received)s, %(events_accepted)s, "
    "%(events_duplicate)s)"
)
# hands back the month rows only (quotas compare months); writes the batch row too. The application
# role may not write usage_aggregate itself: the owner's function (models.USAGE_ADD_FUNCTION) checks
# the day rows against the batch's stored events before it upserts them, in key order.
UPSERT_AGGREGATES_PG = (
    f"SELECT tenant_code, metric, period_start, total, peak, last_value FROM {USAGE_ADD_FUNCTION}("
    "%(id)s, %(received_at)s, %(source)s, %(actor_issuer)s, %(actor_subject)s, %(actor_name)s, %(request_id)s, "
    "%(source_ip)s, %(events_received)s, %(events_accepted)s, %(events_duplicate)s, "
    "%(tenant)b::varchar[], %(metric)b::varchar[], %(granularity)b::varchar[], %(period)b::date[], "
    "%(total)b::bigint[], %(peak)b::bigint[], %(events)b::bigint[], %(last_value)b::bigint[], %(last_at)b::timestamptz[])"
)
COPY_EVENTS_PG = ("COPY usage_event (event_id, occurred_at, tenant_code, metric, quantity, batch_id, dataset) "
                  "FROM STDIN (FORMAT BINARY)")
# the PostgreSQL types of the copied columns, in that order (a binary COPY is told them)
_COPY_TYPES = ("varchar", "timestamptz", "varchar", "varchar", "int8", "int4", "varchar")
_DEADLOCK = "40P01"
_EVENT_KEY = operator.attrgetter("event_id", "occurred_at")  # what identifies a stored event
_UNIQUE_VIOLATION = "23505"
_CAREFUL_ATTEMPTS = 3  # the careful path, tried again after a deadlock with a batch on the fast path


def _write_rows(copy: Any, events: CheckedEvents, batch_id: int) -> None:
    """The rows of usage_event (and of the staging table) to a binary COPY, in COPY_EVENTS_PG's
    column order, each value as psycopg dumps it (the instant as the microseconds Python read)."""
    copy.set_types(_COPY_TYPES)
    write = copy.write_row
    for row in zip(events.event_id, events.occurred_at, events.tenant_code, events.metric, events.quantity,
                   itertools.repeat(batch_id), events.dataset):
        write(row)


def _postgresql(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def _store_events(session: Session, events: list[ValidEvent], batch_id: int | None) -> set[tuple[str, dt.datetime]]:
    """Insert the events not stored yet (SQLite); returns the (event_id, occurred_at) of those inserted.

    Events are inserted in key order, so that two batches sharing events (a log import beside the
    live gateway) take their row locks in the same order and cannot deadlock each other.
    """
    if not events:
        return set()
    table = UsageEvent.__table__
    ordered = sorted(events, key=_EVENT_KEY)
    statement = (_dialect_insert(session, table)
                 .on_conflict_do_nothing(index_elements=["event_id", "occurred_at"])
                 .returning(table.c.event_id, table.c.occurred_at))
    return {tuple(row) for row in session.connection().execute(statement, [
        {"event_id": e.event_id, "tenant_code": e.tenant_code, "metric": e.metric, "quantity": e.quantity,
         "occurred_at": e.occurred_at, "batch_id": batch_id, "dataset": e.dataset} for e in ordered])}


def _ingest_pg(session: Session, check: Callable[[Callable[[CheckedEvents], None] | None], tuple],
               refused: Callable[[CheckedEvents], list[dict[str, Any]]], batch: dict[str, Any],
               on_resent: Callable[[list[ValidEvent], Mapping[tuple, tuple | None]], None],
               ) -> tuple[CheckedEvents, int, int, list[MonthFigure], CheckedEvents]:
    """PostgreSQL: check the batch while copying it into usage_event (or, when some of it is stored
    already, through the staging table), store what is new, upsert its aggregates and write the
    batch row (``batch``: its columns but the id and the counts).

    ``check(sink)`` is :func:`validate_events` bound to the batch; ``refused(events)`` names what
    the stored aggregates refuse (:func:`aggregate_overflow`); ``on_resent`` is called with the
    events already stored and what was stored (before any aggregate changes), so that a reused
    event_id can refuse the batch. A refusal raises :class:`UsageRejected`, with nothing of the
    batch written. Returns (events, batch id, events stored, month figures, the events stored now). Round trips: one for
    the savepoint and the batch's id (pipelined), the COPY, one for the release, the aggregates and
    the batch row (pipelined).
    """
    connection = session.connection()
    driver = connection.connection.driver_connection
    days: dict[tuple, list] = {}
    with driver.cursor() as cursor:
        with driver.pipeline():  # (BEGIN,) SAVEPOINT and the id in one round trip
            driver.execute("SAVEPOINT usage_ingest")
            cursor.execute(BATCH_ID_PG)
        batch_id = cursor.fetchone()[0]

        def copied(part: CheckedEvents) -> None:  # PostgreSQL stores this part while the next is checked
            _write_rows(copy, part, batch_id)
            _add_days(days, part)

        events = rows = overflow = None
        try:
            with cursor.copy(COPY_EVENTS_PG) as copy:
                events, _, problems = check(copied)
                if problems:
                    raise _reject(problems)
                rows = _aggregate_columns(days)  # while PostgreSQL takes the last rows
            overflow = refused(events)
            if overflow:
                raise _reject(overflow)
        except Exception as error:
            cursor.execute("ROLLBACK TO SAVEPOINT usage_ingest")
            cursor.execute("RELEASE SAVEPOINT usage_ingest")
            if isinstance(error, UsageRejected) or getattr(error, "sqlstate", None) not in (_UNIQUE_VIOLATION, _DEADLOCK):
                raise
            fast = False
        else:
            fast = True
        resent: list[ValidEvent] = []
        fresh = events
        if not fast:  # some of the batch is stored already (or was being stored by another batch)
            if rows is None:  # stopped before the check was done
                events, _, problems = check(None)
                if problems:
                    raise _reject(problems)
            if overflow is None:  # the copy stopped before the aggregates were asked
                overflow = refused(events)
                if overflow:
                    raise _reject(overflow)
            stored_before = _store_careful(connection, driver, events, batch_id)
            resent = [e for e in events if _EVENT_KEY(e) in stored_before]
            if resent:
                on_resent(resent, stored_before)
                fresh = CheckedEvents.of(e for e in events if _EVENT_KEY(e) not in stored_before)
                rows = _aggregate_rows(fresh)
        accepted = len(events) - len(resent)
        values = {**batch, "id": batch_id, "events_accepted": accepted,
                  "events_duplicate": batch["events_received"] - accepted}
        with driver.pipeline():
            if fast:
                driver.execute("RELEASE SAVEPOINT usage_ingest")
            cursor.execute(UPSERT_AGGREGATES_PG if accepted else INSERT_BATCH_PG, {**rows, **values} if accepted else values)
        figures = [MonthFigure(*row) for row in cursor] if accepted else []
    return events, batch_id, accepted, figures, fresh


def _store_careful(connection: sa.Connection, driver: Any, events: CheckedEvents,
                   batch_id: int) -> dict[tuple[str, dt.datetime], tuple | None]:
    """The careful path: stage the batch, store the events not stored yet in key order; returns
    the events stored before, by (event_id, occurred_at), each with what was stored (its
    :meth:`ValidEvent.key`, or None when it is not known yet). A deadlock with a batch copied on
    the fast path (in its own order) is tried again, a few times, from a savepoint."""
    connection.exec_driver_sql(STAGE_PG)
    attempts = 0
    with driver.cursor() as cursor:
        while True:
            attempts += 1
            cursor.execute("SAVEPOINT usage_ingest_careful")
            try:
                with cursor.copy(COPY_STAGE_PG) as copy:
                    _write_rows(copy, events, batch_id)
                cursor.execute(STORE_EVENTS_PG)
                stored_before = {(event_id, at): (tenant, metric, quantity, at, dataset) if tenant is not None else None
                                 for event_id, at, tenant, metric, quantity, dataset in cursor}
            except Exception as error:
                cursor.execute("ROLLBACK TO SAVEPOINT usage_ingest_careful")
                cursor.execute("RELEASE SAVEPOINT usage_ingest_careful")
                if getattr(error, "sqlstate", None) != _DEADLOCK or attempts == _CAREFUL_ATTEMPTS:
                    raise
                continue
            cursor.execute("RELEASE SAVEPOINT usage_ingest_careful")
            cursor.execute("DELETE FROM usage_ingest_rows")  # stored or refused: stage nothing more
            return stored_before


def _add_days(days: dict[tuple, list], events: CheckedEvents) -> None:
    """Add ``events`` to their Japan-time day buckets in ``days``: [total, peak, count, the value
    with the latest timestamp (the later event on a tie), that timestamp]."""
    for tenant, metric, quantity, at, day in zip(events.tenant_code, events.metric, events.quantity,
                                                 events.occurred_at, map(jst_day, events.occurred_at)):
        key = (tenant, metric, day)
        bucket = days.get(key)
        if bucket is None:
            days[key] = [quantity, quantity, 1, quantity, at]
            continue
        bucket[0] += quantity
        bucket[2] += 1
        if quantity > bucket[1]:
            bucket[1] = quantity
        if at >= bucket[4]:
            bucket[3], bucket[4] = quantity, at


def _aggregate_rows(events: CheckedEvents) -> dict[str, list]:
    """The day and month buckets of ``events`` as the columns of :data:`UPSERT_AGGREGATES_PG`."""
    days: dict[tuple, list] = {}
    _add_days(days, events)
    return _aggregate_columns(days)


def _months_of(days: dict[tuple, list]) -> dict[tuple, list]:
    """The month buckets (tenant, metric, first day of the month) that the day buckets of
    :func:`_add_days` make, in the same form."""
    months: dict[tuple, list] = {}
    for (tenant, metric, day), (total, peak, count, last_value, last_at) in days.items():
        key = (tenant, metric, day.replace(day=1))
        bucket = months.get(key)
        if bucket is None:
            months[key] = [total, peak, count, last_value, last_at]
            continue
        bucket[0] += total
        bucket[2] += count
        if peak > bucket[1]:
            bucket[1] = peak
        if last_at > bucket[4]:  # days do not overlap: two days never share a last timestamp
            bucket[3], bucket[4] = last_value, last_at
    return months


def _aggregate_columns(days: dict[tuple, list]) -> dict[str, list]:
    """The day buckets of :func:`_add_days` and their month buckets as the columns of
    :data:`UPSERT_AGGREGATES_PG` (one list a column, which psycopg adapts to an array): tenant,
    metric, granularity, period, total, peak, count, and the value with the latest timestamp."""
    if not days:
        return {name: [] for name in ("tenant", "metric", "granularity", "period", "total", "peak", "events",
                                      "last_value", "last_at")}
    months = _months_of(days)
    tenant, metric, period = map(list, zip(*days, *months))
    total, peak, events, last_value, last_at = map(list, zip(*days.values(), *months.values()))
    return {"tenant": tenant, "metric": metric, "granularity": [Granularity.day.value] * len(days) +
            [Granularity.month.value] * len(months), "period": period, "total": total, "peak": peak,
            "events": events, "last_value": last_value, "last_at": last_at}


def _check_resent(session: Session, resent: list[ValidEvent], where: Callable[[int], str],
                  positions: dict[tuple[str, dt.datetime], int],
                  known: Mapping[tuple[str, dt.datetime], tuple | None] | None = None) -> None:
    """Events already stored must be the same events: the same event_id at the same instant for
    other data is refused (``positions``: where each (event_id, instant) was in the batch;
    ``known``: what was stored, by (event_id, instant), as far as the caller read it)."""
    table = UsageEvent.__table__
    stored: dict[tuple[str, dt.datetime], tuple] = {key: value for key, value in (known or {}).items() if value}
    keys = [key for key in map(_EVENT_KEY, resent) if key not in stored]
    for start in range(0, len(keys), 1000):
        for row in session.connection().execute(
            sa.select(table.c.event_id, table.c.tenant_code, table.c.metric, table.c.quantity, table.c.occurred_at,
                      table.c.dataset)
            .where(sa.tuple_(table.c.event_id, table.c.occurred_at).in_(keys[start:start + 1000]))
        ):
            stored[(row.event_id, row.occurred_at)] = (row.tenant_code, row.metric, row.quantity, row.occurred_at,
                                                       row.dataset)
    problems = []
    for event in resent:
        if stored.get(_EVENT_KEY(event), event.key()) != event.key():
            index = positions.get(_EVENT_KEY(event), 0)
            problems.append({**problem(f"{where(index)}.event_id",
                                       f"event_id {event.event_id} was already recorded for a different event at the same time; each event needs its own event_id",
                                       f"event_id {event.event_id} は同じ日時の別の内容の利用実績ですでに記録されています。イベントごとに別の event_id を付けてください。"),
                             "index": index, "event_id": event.event_id})
    if problems:
        raise _reject(problems)


@dataclasses.dataclass(frozen=True)
class MonthFigure:
    """A tenant's month aggregate for one metric after an ingest."""

    tenant_code: str
    metric: str
    month: dt.date
    total: int
    peak: int
    last_value: int

    @property
    def used(self) -> int:
        """What a quota compares: the month's sum for a counter, the latest level for a gauge."""
        return self.last_value if METRICS[self.metric].kind is MetricKind.gauge else self.total


def _upsert_aggregates(session: Session, events: CheckedEvents) -> list[MonthFigure]:
    """The portable upsert of the day and month buckets (SQLite), in key order."""
    days: dict[tuple, list] = {}
    _add_days(days, events)
    if not days:
        return []
    buckets = {**{(t, m, "day", p): b for (t, m, p), b in days.items()},
               **{(t, m, "month", p): b for (t, m, p), b in _months_of(days).items()}}
    figures = []
    table = UsageAggregate.__table__
    rows = [{"tenant_code": t, "metric": m, "granularity": g, "period_start": p, "total": total, "peak": peak,
             "events": count, "last_value": last_value, "last_at": last_at}
            for (t, m, g, p), (total, peak, count, last_value, last_at) in sorted(buckets.items())]
    for start in range(0, len(rows), _UPSERT_CHUNK):
        statement = _dialect_insert(session, table).values(rows[start:start + _UPSERT_CHUNK])
        new = statement.excluded
        newer = new.last_at >= table.c.last_at
        statement = statement.on_conflict_do_update(
            index_elements=["tenant_code", "metric", "granularity", "period_start"],
            set_={
                "total": table.c.total + new.total,
                "peak": sa.case((new.peak > table.c.peak, new.peak), else_=table.c.peak),
                "events": table.c.events + new.events,
                "last_value": sa.case((newer, new.last_value), else_=table.c.last_value),
                "last_at": sa.case((newer, new.last_at), else_=table.c.last_at),
            },
        ).returning(table.c.tenant_code, table.c.metric, table.c.granularity, table.c.period_start,
                    table.c.total, table.c.peak, table.c.last_value)
        for row in session.connection().execute(statement):
            if Granularity(row.granularity) is Granularity.month:
                figures.append(MonthFigure(row.tenant_code, row.metric, row.period_start, row.total, row.peak,
                                           row.last_value))
    return figures


# The largest total an aggregate column (bigint) holds. A batch is checked against the stored
# aggregates only for periods to which it adds at least AGGREGATE_CHECK_FROM: batches adding less
# would need billions of batches for one tenant and month to come near the limit.
AGGREGATE_MAX = 2**63 - 1
AGGREGATE_CHECK_FROM = 2**32


def aggregate_overflow(session: Session, events: CheckedEvents, where: Callable[[int], str] = _default_where,
                       raw_events: Sequence[Any] | None = None) -> list[dict[str, Any]]:
    """Problems naming the first event of each day or month aggregate the batch would overflow
    (beyond what a bigint column holds), so such a batch is refused at validation, not by the database."""
    if sum(events.quantity) < AGGREGATE_CHECK_FROM:
        return []  # the usual batch: no aggregate can receive AGGREGATE_CHECK_FROM from it, nothing to look up
    added: dict[tuple, int] = {}
    keyed = []
    for event in events:
        day = jst_day(event.occurred_at)
        keys = ((event.tenant_code, event.metric, Granularity.day, day),
                (event.tenant_code, event.metric, Granularity.month, month_of(day)))
        keyed.append((event, keys))
        for key in keys:
            added[key] = added.get(key, 0) + event.quantity
    large = [key for key, amount in added.items() if amount >= AGGREGATE_CHECK_FROM]
    if not large:
        return []
    table = UsageAggregate.__table__
    stored: dict[tuple, int] = {}
    for tenant_code, metric, granularity, period in large:
        total = session.execute(sa.select(table.c.total).where(
            table.c.tenant_code == tenant_code, table.c.metric == metric,
            table.c.granularity == granularity.value, table.c.period_start == period)).scalar()
        stored[(tenant_code, metric, granularity, period)] = int(total or 0)
    problems: list[dict[str, Any]] = []
    positions: dict[str, int] = {}
    for index, (event, keys) in enumerate(keyed):
        for key in keys:
            if key not in stored or stored[key] > AGGREGATE_MAX:
                continue
            stored[key] += event.quantity
            if stored[key] > AGGREGATE_MAX:  # reported once per aggregate, at the event that overflows it
                if raw_events is not None and not positions:  # where the event was in the batch sent
                    for position, raw in enumerate(raw_events):
                        positions.setdefault(raw["event_id"], position)
                position = positions.get(event.event_id, index)
                place = where(position)
                period_en = "day" if key[2] is Granularity.day else "month"
                period_ja = "日" if key[2] is Granularity.day else "月"
                problems.append({**problem(
                    f"{place}.quantity",
                    f"event {event.event_id}: the {period_en} total of {event.metric} for tenant {event.tenant_code} "
                    f"({key[3].isoformat()}) would exceed {AGGREGATE_MAX:,}, the largest figure renkei can keep; "
                    "check the quantities",
                    f"イベント {event.event_id}：団体 {event.tenant_code} の {event.metric} の{period_ja}合計（{key[3].isoformat()}）が"
                    f"記録できる上限 {AGGREGATE_MAX:,} を超えます。数量を確認してください。"),
                    "index": position, "event_id": event.event_id})
    return problems



def add_dataset_months(session: Session, events: CheckedEvents) -> int:
    """Add the stored ``events`` that name a dataset to their dataset's month figures
    (``usage_dataset_month``: provider × dataset × metric × Japan-time month), in the batch's
    transaction and in key order (no deadlock between concurrent batches); returns the rows touched.
    The usual batch names no dataset and costs one pass over its events here."""
    sums: dict[tuple, list[int]] = {}
    if not any(events.dataset):
        return 0
    for dataset, tenant, metric, quantity, at in zip(events.dataset, events.tenant_code, events.metric,
                                                     events.quantity, events.occurred_at):
        if dataset is None:
            continue
        key = (month_of(jst_day(at)), metric, tenant, dataset)
        bucket = sums.get(key)
        if bucket is None:
            sums[key] = [quantity, 1]
        else:
            bucket[0] += quantity
            bucket[1] += 1
    if not sums:
        return 0
    table = UsageDatasetMonth.__table__
    rows = [{"period_start": month, "metric": metric, "tenant_code": tenant, "dataset": dataset, "total": total,
             "events": count} for (month, metric, tenant, dataset), (total, count) in sorted(sums.items())]
    for start in range(0, len(rows), _UPSERT_CHUNK):
        statement = _dialect_insert(session, table).values(rows[start:start + _UPSERT_CHUNK])
        statement = statement.on_conflict_do_update(
            index_elements=["period_start", "metric", "tenant_code", "dataset"],
            set_={"total": table.c.total + statement.excluded.total, "events": table.c.events + statement.excluded.events})
        session.connection().execute(statement)
    return len(rows)
