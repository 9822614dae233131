"""Usage aggregates against the raw events they count (what ``renkei check`` asks of metering).

Ingest writes the day and month aggregates in the same transaction as the events, and on
PostgreSQL the application role can write them only through the owner's function that checks
them against the batch's events (:data:`usage.models.USAGE_ADD_FUNCTION`). What that
cannot stop (the owner's edit, a guard dropped, a restore that lost rows) this finds: for every
period whose events are all still kept (from the retention cutoff on; events before it may have
been purged), the aggregates are summed again from ``usage_event`` in the database and every
period whose stored ``total``, ``peak`` or ``events`` differs is named. ``last_value`` is not
compared: of two events at the same instant the later *sent* one wins, which the stored events
do not record.

The per-dataset month figures (``usage_dataset_month``: provider × dataset × metric × Japan-time
month, which the monthly report's usage by dataset reads) are checked the same way
(:func:`check_dataset_months`): the application role may INSERT them (ingest upserts them with its
batch), so a row with no events behind it, or a total its events do not add up to, is named.

Reads only; the policy action is the caller's (``system.check``).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from core.calendar import to_jst
from core.db import UTCDateTime
from usage.models import JST_DAY_SQL, JST_MONTH_SQL

MAX_LISTED = 50  # differences named one by one; the rest are counted


@dataclasses.dataclass(frozen=True)
class Difference:
    """One aggregate that is not what its events add up to (``None``: no such row / no events)."""

    tenant_code: str
    metric: str
    granularity: str
    period_start: dt.date
    stored: dict[str, int] | None
    recomputed: dict[str, int] | None

    dataset: str | None = None  # a per-dataset month figure's dataset (None: a tenant's aggregate)

    def describe(self) -> tuple[str, str]:
        """(English, Japanese)."""
        def shown(values: dict[str, int] | None, none_en: str, none_ja: str) -> tuple[str, str]:
            if values is None:
                return none_en, none_ja
            text = ", ".join(f"{key} {value:,}" for key, value in values.items())
            return text, text

        stored_en, stored_ja = shown(self.stored, "no aggregate row", "集計行なし")
        events_en, events_ja = shown(self.recomputed, "no events", "イベントなし")
        unit_en, unit_ja = ("day", "日") if self.granularity == "day" else ("month", "月")
        if self.dataset is not None:
            return (f"dataset {self.dataset} of tenant {self.tenant_code}, {self.metric}, month "
                    f"{self.period_start.isoformat()}: stored {stored_en}; the events add up to {events_en}",
                    f"団体 {self.tenant_code} のデータセット {self.dataset} の {self.metric}（月 {self.period_start.isoformat()}）: "
                    f"記録された集計 {stored_ja}、イベントからの再計算 {events_ja}")
        return (f"tenant {self.tenant_code}, {self.metric}, {unit_en} {self.period_start.isoformat()}: "
                f"stored {stored_en}; the events add up to {events_en}",
                f"団体 {self.tenant_code} の {self.metric}（{unit_ja} {self.period_start.isoformat()}）: "
                f"記録された集計 {stored_ja}、イベントからの再計算 {events_ja}")


@dataclasses.dataclass(frozen=True)
class AggregateCheck:
    since: dt.date  # the first Japan-time day checked
    periods: int  # aggregate periods compared (stored or recomputed)
    differences: list[Difference]  # the first MAX_LISTED
    total_differences: int


_COLUMNS = ("total", "peak", "events")


def _recompute_sql(dialect: str) -> str:
    day, month = JST_DAY_SQL[dialect], JST_MONTH_SQL[dialect]
    events = "FROM usage_event WHERE occurred_at >= :cutoff GROUP BY 1, 2, 4"
    return (
        # each side's rows with the other side's columns NULL; summed per key, a missing side stays NULL
        "SELECT tenant_code, metric, granularity, period_start, "
        "sum(s_total) AS s_total, sum(s_peak) AS s_peak, sum(s_events) AS s_events, "
        "sum(r_total) AS r_total, sum(r_peak) AS r_peak, sum(r_events) AS r_events FROM ("
        " SELECT tenant_code, metric, granularity, period_start, total AS s_total, peak AS s_peak, events AS s_events,"
        " NULL AS r_total, NULL AS r_peak, NULL AS r_events FROM usage_aggregate WHERE period_start >= :since"
        " UNION ALL"
        f" SELECT tenant_code, metric, 'day', {day}, NULL, NULL, NULL, sum(quantity), max(quantity), count(*) {events}"
        " UNION ALL"
        f" SELECT tenant_code, metric, 'month', {month}, NULL, NULL, NULL, sum(quantity), max(quantity), count(*) {events}"
        ") AS sides GROUP BY tenant_code, metric, granularity, period_start "
        "HAVING NOT (sum(s_total) IS NOT NULL AND sum(r_total) IS NOT NULL"
        " AND sum(s_total) = sum(r_total) AND sum(s_peak) = sum(r_peak) AND sum(s_events) = sum(r_events)) "
        "ORDER BY tenant_code, metric, granularity, period_start"
    )


def _compare(session: Session, cutoff: dt.datetime, table: str, sql: str, columns: tuple[str, ...],
             difference: Callable[[Any, dt.date, dict | None, dict | None], Difference]) -> AggregateCheck:
    """Stored figures of ``table`` from ``cutoff`` on against their events summed again: ``sql``
    gives only the keys that differ, each with its stored (``s_*``) and recomputed (``r_*``) columns."""
    connection = session.connection()
    since = to_jst(cutoff).date()
    params = {"cutoff": cutoff, "since": since}
    periods = connection.execute(sa.text(f"SELECT count(*) FROM {table} WHERE period_start >= :since")
                                 .bindparams(sa.bindparam("since", type_=sa.Date())), params).scalar_one()
    differences: list[Difference] = []
    total = 0
    query = sa.text(sql).bindparams(
        sa.bindparam("cutoff", type_=UTCDateTime(timezone=True)), sa.bindparam("since", type_=sa.Date()))
    for row in connection.execute(query, params):
        total += 1
        if len(differences) >= MAX_LISTED:
            continue
        period = row.period_start if isinstance(row.period_start, dt.date) else dt.date.fromisoformat(row.period_start)
        stored = None if row.s_total is None else {c: int(getattr(row, f"s_{c}")) for c in columns}
        recomputed = None if row.r_total is None else {c: int(getattr(row, f"r_{c}")) for c in columns}
        differences.append(difference(row, period, stored, recomputed))
    return AggregateCheck(since, int(periods), differences, total)


def check_aggregates(session: Session, cutoff: dt.datetime) -> AggregateCheck:
    """Every day and month aggregate from ``cutoff`` (the retention cutoff: the start of a
    Japan-time month, from which every event is kept) on, against its events summed again."""
    return _compare(session, cutoff, "usage_aggregate", _recompute_sql(session.connection().dialect.name), _COLUMNS,
                    lambda row, period, stored, recomputed: Difference(
                        row.tenant_code, row.metric, row.granularity, period, stored, recomputed))


_DATASET_COLUMNS = ("total", "events")


def _dataset_sql(dialect: str) -> str:
    """The per-dataset month figures against their events, in one statement: each side's rows with the
    other's columns NULL, summed per key (a missing side stays NULL), only the keys that differ."""
    month = JST_MONTH_SQL[dialect]
    return (
        "SELECT tenant_code, metric, dataset, period_start, sum(s_total) AS s_total, sum(s_events) AS s_events, "
        "sum(r_total) AS r_total, sum(r_events) AS r_events FROM ("
        " SELECT tenant_code, metric, dataset, period_start, total AS s_total, events AS s_events,"
        " NULL AS r_total, NULL AS r_events FROM usage_dataset_month WHERE period_start >= :since"
        " UNION ALL"
        f" SELECT tenant_code, metric, dataset, {month}, NULL, NULL, sum(quantity), count(*) FROM usage_event"
        # a gateway call's event names the dataset its consumer used (usage_dataset_call), not its tenant's own
        " WHERE occurred_at >= :cutoff AND dataset IS NOT NULL AND event_id NOT LIKE 'gateway:%' GROUP BY 1, 2, 3, 4"
        ") AS sides GROUP BY tenant_code, metric, dataset, period_start "
        "HAVING NOT (sum(s_total) IS NOT NULL AND sum(r_total) IS NOT NULL"
        " AND sum(s_total) = sum(r_total) AND sum(s_events) = sum(r_events)) "
        "ORDER BY tenant_code, dataset, metric, period_start"
    )


def check_dataset_months(session: Session, cutoff: dt.datetime) -> AggregateCheck:
    """Every per-dataset month figure from ``cutoff`` (the retention cutoff) on, against the events
    that named its dataset, summed again (one GROUP BY over the kept events)."""
    return _compare(session, cutoff, "usage_dataset_month", _dataset_sql(session.connection().dialect.name),
                    _DATASET_COLUMNS, lambda row, period, stored, recomputed: Difference(
                        row.tenant_code, row.metric, "month", period, stored, recomputed, row.dataset))
