"""Tables and value types of usage metering and quotas (利用実績・利用上限).

* :data:`METRICS` is the closed list of what is metered. A *counter* (``api_calls``) adds up
  within a period (a Japan-time calendar month) and starts again at zero in the next one; a
  *gauge* (``broker_entities``, ``storage_bytes``, ``user_seats``, ``datasets``) reports a level,
  and the level is its latest reported value.
* ``usage_event`` holds raw events, unique by ``event_id`` and ``occurred_at`` (a batch sent
  again counts once), kept for the retention period and then purged (on PostgreSQL whole
  monthly partitions are dropped). ``batch_id`` is a plain column, not a foreign key:
  the insert path is the hot path, and ``usage_batch`` rows outlive purged events anyway.
* ``usage_aggregate`` holds one row per tenant × metric × day and per tenant × metric × month
  (Japan time), updated in the same transaction as the events it counts; reports, quota
  checks and billing read only aggregates, never raw events.
* Quota plans (``quota_plan`` with ``quota_limit`` rows) apply by population band or by explicit
  assignment (``tenant_quota``); ``quota_override`` replaces one metric's limit for one tenant.
"""

import dataclasses
import datetime as dt
import enum
import re
from collections.abc import Iterable
from typing import Annotated, Optional

import sqlalchemy as sa
from pydantic import StringConstraints
from sqlmodel import Field, Relationship, SQLModel

import core.db  # noqa: F401  (naming convention first)
from core.db import pg_guard_installer, utcnow
from core.db import enum_column as _enum_column, timestamp_column as _timestamp
from core.labelled import LabelledEnum


class MetricKind(str, enum.Enum):
    counter = "counter"
    gauge = "gauge"


class Enforcement(LabelledEnum):
    soft = "soft", "警告のみ（ソフトリミット）", "Soft: warn only"  # warn at the thresholds, never deny
    # warn at the thresholds, and deny once the limit is used up
    hard = "hard", "上限で停止（ハードリミット）", "Hard: stop at the limit"


class Granularity(str, enum.Enum):
    day = "day"
    month = "month"


@dataclasses.dataclass(frozen=True)
class Metric:
    name: str
    kind: MetricKind
    unit: str
    label_ja: str
    label_en: str


METRICS: dict[str, Metric] = {
    m.name: m
    for m in (
        Metric("api_calls", MetricKind.counter, "calls", "API 呼び出し回数（月間）", "API calls per month"),
        Metric("broker_entities", MetricKind.gauge, "entities", "ブローカー登録エンティティ数", "Broker entities"),
        Metric("storage_bytes", MetricKind.gauge, "bytes", "ストレージ使用量（バイト）", "Storage (bytes)"),
        Metric("user_seats", MetricKind.gauge, "users", "利用者アカウント数", "User seats"),
        Metric("datasets", MetricKind.gauge, "datasets", "データセット数", "Datasets"),
        Metric("api_clients", MetricKind.gauge, "clients", "API クライアント数", "API clients"),
    )
}

DEFAULT_THRESHOLDS = (80, 100)


def thresholds_of(text: str) -> tuple[int, ...]:
    """The thresholds (percent) a limit row stores as text ("80,100"): the one reading of that column."""
    return tuple(int(part) for part in text.split(",") if part.strip())


def thresholds_text(thresholds: Iterable[int]) -> str:
    """What a limit row stores for ``thresholds``: the one writing of that column."""
    return ",".join(str(t) for t in thresholds)

# BIGINT primary keys do not auto-increment on SQLite; INTEGER there is the same 64-bit rowid.
_BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


class UsageBatch(SQLModel, table=True):
    """One request (or import) that delivered usage events: who sent it, when, and how many counted."""

    __tablename__ = "usage_batch"

    id: Optional[int] = Field(default=None, primary_key=True)
    received_at: dt.datetime = Field(default_factory=utcnow, sa_column=_timestamp())
    source: str = Field(default="api", max_length=16)  # api, import, keycloak
    actor_issuer: str = Field(max_length=255)
    actor_subject: str = Field(max_length=255)
    actor_name: str = Field(default="", max_length=255)
    request_id: Optional[str] = Field(default=None, max_length=64)
    source_ip: Optional[str] = Field(default=None, max_length=64)
    events_received: int = Field(default=0)
    events_accepted: int = Field(default=0)
    events_duplicate: int = Field(default=0)


class UsageEvent(SQLModel, table=True):
    """A raw event, known by its ``event_id`` and instant. On PostgreSQL the table is partitioned by
    Japan-time month of ``occurred_at`` (``usage/partitions.py``), whose key must hold the
    partition key: the same key on SQLite, where it is a plain table."""

    __tablename__ = "usage_event"
    __table_args__ = ({"postgresql_partition_by": "RANGE (occurred_at)"},)

    event_id: str = Field(max_length=128, primary_key=True)
    occurred_at: dt.datetime = Field(sa_column=_timestamp(primary_key=True))
    tenant_code: str = Field(max_length=6)
    metric: str = Field(max_length=32)
    quantity: int = Field(sa_column=sa.Column(sa.BigInteger, nullable=False))
    # indexed: the aggregate guard (and nothing else on the hot path) reads a batch's events back
    batch_id: Optional[int] = Field(default=None, index=True)
    # the register's name of the tenant's own dataset whose use this counts (optional; issue 22)
    dataset: Optional[str] = Field(default=None, max_length=100)


def _create_partitions(target: sa.Table, connection: sa.Connection, **_: object) -> None:
    """``create_all`` on PostgreSQL: the default partition and the months of the retention window
    and ahead, as migration 0003 creates them."""
    if connection.dialect.name == "postgresql":
        from usage import partitions

        partitions.create_initial(connection)


sa.event.listen(UsageEvent.__table__, "after_create", _create_partitions)


class UsageDatasetMonth(SQLModel, table=True):
    """Usage of one provider's dataset, one metric, one Japan-time month: the sum of the quantities
    (and the number) of the events that named the dataset, added in the same transaction as the
    events (usage/event_store.add_dataset_months). The monthly report's usage by dataset
    reads these rows, never raw events. A sum means what a counter means (``api_calls``: calls).

    The key starts with the month: the report reads one month (and, for a municipality, its own
    provider code) at a time."""

    __tablename__ = "usage_dataset_month"
    __table_args__ = (sa.UniqueConstraint("period_start", "metric", "tenant_code", "dataset",
                                          name="uq_usage_dataset_month_key"),)

    id: Optional[int] = Field(default=None, sa_column=sa.Column(_BIG_ID, primary_key=True))
    period_start: dt.date = Field(sa_column=sa.Column(sa.Date, nullable=False))
    metric: str = Field(max_length=32)
    tenant_code: str = Field(max_length=6)  # the provider: the events' tenant
    dataset: str = Field(max_length=100)
    total: int = Field(default=0, sa_column=sa.Column(sa.BigInteger, nullable=False))
    events: int = Field(default=0, sa_column=sa.Column(sa.BigInteger, nullable=False))


class UsageDatasetCall(SQLModel, table=True):
    """Calls through the API gateway to one dataset in one Japan-time month, by consumer (a tenant's
    code or a member organisation's corporate number) and API client: who uses a provider's data
    (usage/dataset_use.py). Added when the gateway's call log is folded, for the calls the
    check let through whose route names the dataset (catalogue/routes.py)."""

    __tablename__ = "usage_dataset_call"
    __table_args__ = (sa.UniqueConstraint("period_start", "provider_code", "dataset", "consumer_code", "client_id",
                                          name="uq_usage_dataset_call_key"),)

    id: Optional[int] = Field(default=None, sa_column=sa.Column(_BIG_ID, primary_key=True))
    period_start: dt.date = Field(sa_column=sa.Column(sa.Date, nullable=False))
    provider_code: str = Field(max_length=13)
    dataset: str = Field(max_length=100)
    consumer_code: str = Field(max_length=13)
    client_id: int = Field(default=0)  # the API client's number in renkei
    calls: int = Field(default=0, sa_column=sa.Column(sa.BigInteger, nullable=False))


class GatewayFoldedSegment(SQLModel, table=True):
    """A segment of a gateway call log (usage/call_log.py) folded into the database, by its file
    name, written in the fold's transaction: a segment read again (its folder stopped between the
    commit and the file's removal) adds nothing a second time, the dataset use its lines carry
    included (which, unlike the api_calls events, has no event of its own to know it by). Kept
    :data:`usage.metering.FOLDED_SEGMENT_DAYS` days."""

    __tablename__ = "gateway_folded_segment"

    name: str = Field(sa_column=sa.Column(sa.String(200), primary_key=True))
    folded_at: dt.datetime = Field(sa_column=_timestamp(index=True))


AGGREGATE_FILLFACTOR = 70  # per cent of each page filled by inserts; the rest is room for updates


class UsageAggregate(SQLModel, table=True):
    """Usage of one tenant, one metric, one Japan-time day or month.

    ``total`` is the sum of quantities (what a counter means), ``peak`` the largest single value
    and ``last_value`` the value with the latest timestamp (what a gauge means).
    """

    __tablename__ = "usage_aggregate"
    # Every usage batch updates its tenants' day and month rows in place: free room in each page
    # (fillfactor) lets PostgreSQL keep the new version on the same page without touching the
    # indexes (a HOT update; none of the updated columns is indexed). The unique key's first
    # column serves look-ups by tenant, so tenant_code has no index of its own.
    __table_args__ = (sa.UniqueConstraint("tenant_code", "metric", "granularity", "period_start",
                                          name="uq_usage_aggregate_key"),
                      # a month's figures over every tenant (the usage page's total row, the home page's
                      # chart): only the figures' keys, so updating a figure stays a HOT update on PostgreSQL
                      sa.Index("ix_usage_aggregate_month_metric", "granularity", "metric", "period_start"),
                      {"postgresql_with": {"fillfactor": AGGREGATE_FILLFACTOR}})

    id: Optional[int] = Field(default=None, primary_key=True)
    tenant_code: str = Field(max_length=6)
    metric: str = Field(max_length=32)
    granularity: Granularity = Field(sa_column=_enum_column(Granularity, length=16))
    period_start: dt.date = Field(sa_column=sa.Column(sa.Date, nullable=False))
    total: int = Field(default=0, sa_column=sa.Column(sa.BigInteger, nullable=False))
    peak: int = Field(default=0, sa_column=sa.Column(sa.BigInteger, nullable=False))
    events: int = Field(default=0, sa_column=sa.Column(sa.BigInteger, nullable=False))
    last_value: int = Field(default=0, sa_column=sa.Column(sa.BigInteger, nullable=False))
    last_at: dt.datetime = Field(sa_column=_timestamp())

    def value(self) -> int:
        """The period's figure: the sum for a counter, the peak level for a gauge."""
        metric = METRICS.get(self.metric)
        return self.peak if metric is not None and metric.kind is MetricKind.gauge else self.total


# --- the aggregates' guard ----------------------------------------------------------------------
#
# The application role may not INSERT or UPDATE usage_aggregate (maintenance/db_roles.py). Ingest writes
# aggregates through one function, owned by the schema owner (SECURITY DEFINER), which the
# application role may execute: it writes the batch's usage_batch row (its primary key makes a
# batch count once), checks that the day rows it was handed are exactly the batch's stored events
# (usage_event rows with that batch_id) summed by Japan-time day, and the month rows exactly the
# sums of those day rows, then upserts them. So an aggregate can only ever grow by events that are
# stored; an edit by the owner (or a guard dropped) is found by ``renkei check``, which sums the
# kept events again (usage/integrity.py).
# The Japan-time day of a stored instant, in SQL (Japan keeps no summer time): the same bucket as
# event_store._add_days, for the guard and for the check.
JST_DAY_SQL = {
    "postgresql": "((occurred_at AT TIME ZONE 'UTC') + interval '9 hours')::date",
    "sqlite": "date(occurred_at, '+9 hours')",
}
JST_MONTH_SQL = {  # the first day of that day's month
    "postgresql": f"date_trunc('month', {JST_DAY_SQL['postgresql']})::date",
    "sqlite": "strftime('%Y-%m-01', occurred_at, '+9 hours')",
}
USAGE_ADD_FUNCTION = "renkei_usage_add"

_USAGE_ADD_PG = f"""
CREATE OR REPLACE FUNCTION {{s}}.{USAGE_ADD_FUNCTION}(
    p_id bigint, p_received_at timestamptz, p_source varchar, p_actor_issuer varchar, p_actor_subject varchar,
    p_actor_name varchar, p_request_id varchar, p_source_ip varchar, p_events_received integer,
    p_events_accepted integer, p_events_duplicate integer,
    p_tenant varchar[], p_metric varchar[], p_granularity varchar[], p_period date[], p_total bigint[],
    p_peak bigint[], p_events bigint[], p_last_value bigint[], p_last_at timestamptz[])
RETURNS TABLE (tenant_code varchar, metric varchar, period_start date, total bigint, peak bigint, last_value bigint)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $guard$
#variable_conflict use_column
DECLARE
    wrong record;
BEGIN
    INSERT INTO {{s}}.usage_batch (id, received_at, source, actor_issuer, actor_subject, actor_name, request_id,
        source_ip, events_received, events_accepted, events_duplicate)
    VALUES (p_id, p_received_at, p_source, p_actor_issuer, p_actor_subject, p_actor_name, p_request_id,
        p_source_ip, p_events_received, p_events_accepted, p_events_duplicate);
    SELECT a.tenant_code, a.metric, a.period_start, a.total AS sent, e.total AS stored INTO wrong
    FROM (SELECT * FROM unnest(p_tenant, p_metric, p_granularity, p_period, p_total, p_peak, p_events, p_last_at)
          AS u(tenant_code, metric, granularity, period_start, total, peak, events, last_at)
          WHERE granularity = 'day') a
    FULL JOIN (SELECT tenant_code, metric, {JST_DAY_SQL["postgresql"]} AS period_start, sum(quantity) AS total,
                      max(quantity) AS peak, count(*) AS events, max(occurred_at) AS last_at
               FROM {{s}}.usage_event WHERE batch_id = p_id GROUP BY 1, 2, 3) e
      ON e.tenant_code = a.tenant_code AND e.metric = a.metric AND e.period_start = a.period_start
    WHERE a.total IS DISTINCT FROM e.total OR a.peak IS DISTINCT FROM e.peak OR a.events IS DISTINCT FROM e.events
       OR a.last_at IS DISTINCT FROM e.last_at
    LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION USING ERRCODE = 'check_violation', MESSAGE = 'usage batch ' || p_id
            || ': the day aggregate of ' || coalesce(wrong.tenant_code, '?') || ' ' || coalesce(wrong.metric, '?')
            || ' ' || coalesce(wrong.period_start::text, '?') || ' is not the sum of the batch''s stored events';
    END IF;
    SELECT m.tenant_code, m.metric, m.period_start INTO wrong
    FROM (SELECT * FROM unnest(p_tenant, p_metric, p_granularity, p_period, p_total, p_peak, p_events, p_last_at)
          AS u(tenant_code, metric, granularity, period_start, total, peak, events, last_at)
          WHERE granularity = 'month') m
    FULL JOIN (SELECT tenant_code, metric, date_trunc('month', period_start)::date AS period_start, sum(total) AS total,
                      max(peak) AS peak, sum(events) AS events, max(last_at) AS last_at
               FROM unnest(p_tenant, p_metric, p_granularity, p_period, p_total, p_peak, p_events, p_last_at)
                    AS u(tenant_code, metric, granularity, period_start, total, peak, events, last_at)
               WHERE granularity = 'day' GROUP BY 1, 2, 3) d
      ON d.tenant_code = m.tenant_code AND d.metric = m.metric AND d.period_start = m.period_start
    WHERE m.total IS DISTINCT FROM d.total OR m.peak IS DISTINCT FROM d.peak OR m.events IS DISTINCT FROM d.events
       OR m.last_at IS DISTINCT FROM d.last_at
    LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION USING ERRCODE = 'check_violation', MESSAGE = 'usage batch ' || p_id
            || ': a month aggregate is not the sum of its day aggregates';
    END IF;
    RETURN QUERY
    WITH upserted AS (
        INSERT INTO {{s}}.usage_aggregate AS g (tenant_code, metric, granularity, period_start, total, peak, events,
            last_value, last_at)
        SELECT * FROM unnest(p_tenant, p_metric, p_granularity, p_period, p_total, p_peak, p_events, p_last_value,
                             p_last_at)
        ORDER BY 1, 2, 3, 4
        ON CONFLICT (tenant_code, metric, granularity, period_start) DO UPDATE SET
            total = g.total + excluded.total,
            peak = GREATEST(g.peak, excluded.peak),
            events = g.events + excluded.events,
            last_value = CASE WHEN excluded.last_at >= g.last_at THEN excluded.last_value ELSE g.last_value END,
            last_at = GREATEST(g.last_at, excluded.last_at)
        RETURNING g.tenant_code, g.metric, g.granularity, g.period_start, g.total, g.peak, g.last_value)
    SELECT u.tenant_code, u.metric, u.period_start, u.total, u.peak, u.last_value FROM upserted u
    WHERE u.granularity = 'month';
END
$guard$"""


def usage_guards_pg(schema: str) -> list[str]:
    """The PostgreSQL guard of the aggregates (the function above) in ``schema`` (quoted): only the
    application role it is granted to (maintenance/db_roles.py) may run it. Used by ``create_all`` and
    migration 0017."""
    return [_USAGE_ADD_PG.replace("{s}", schema),
            f"REVOKE ALL ON FUNCTION {schema}.{USAGE_ADD_FUNCTION} FROM PUBLIC"]


# SQLite has no roles: the application is the database file's owner. Its guard refuses an
# aggregate row written, or changed, by anything but the newest batch's stored events: a new row
# must be exactly their sums, a change must add exactly them (total and events; the peak is the
# larger one). An edit by hand (UPDATE ... SET total = total + 1) adds nothing the newest batch
# stored, and is refused; no row is deleted (the application role has no DELETE either).
_SQLITE_BATCH_SUMS = f"""(SELECT coalesce(sum(quantity), 0) AS total, count(*) AS events, coalesce(max(quantity), 0) AS peak
      FROM usage_event WHERE batch_id = (SELECT max(id) FROM usage_batch)
      AND tenant_code = NEW.tenant_code AND metric = NEW.metric
      AND CASE NEW.granularity WHEN 'day' THEN {JST_DAY_SQL["sqlite"]} ELSE {JST_MONTH_SQL["sqlite"]} END = NEW.period_start)"""
_SQLITE_GUARD_MESSAGE = ("usage aggregates are written only by ingest, with the sums of the batch''s stored events; "
                         "an edit by hand is refused")
USAGE_GUARDS_SQLITE = {
    "usage_aggregate_ingest_only_insert": f"""
    CREATE TRIGGER usage_aggregate_ingest_only_insert BEFORE INSERT ON usage_aggregate
    WHEN NOT EXISTS (SELECT 1 FROM {_SQLITE_BATCH_SUMS} AS b
                     WHERE b.events > 0 AND NEW.total = b.total AND NEW.events = b.events AND NEW.peak = b.peak)
    BEGIN SELECT RAISE(ABORT, '{_SQLITE_GUARD_MESSAGE}'); END""",
    "usage_aggregate_ingest_only_update": f"""
    CREATE TRIGGER usage_aggregate_ingest_only_update BEFORE UPDATE ON usage_aggregate
    WHEN NEW.tenant_code IS NOT OLD.tenant_code OR NEW.metric IS NOT OLD.metric
      OR NEW.granularity IS NOT OLD.granularity OR NEW.period_start IS NOT OLD.period_start
      OR NOT EXISTS (SELECT 1 FROM {_SQLITE_BATCH_SUMS} AS b
                     WHERE b.events > 0 AND NEW.total - OLD.total = b.total AND NEW.events - OLD.events = b.events
                       AND NEW.peak = max(OLD.peak, b.peak))
    BEGIN SELECT RAISE(ABORT, '{_SQLITE_GUARD_MESSAGE}'); END""",
    "usage_aggregate_undeletable": """
    CREATE TRIGGER usage_aggregate_undeletable BEFORE DELETE ON usage_aggregate
    BEGIN SELECT RAISE(ABORT, 'usage aggregates are never deleted: reports and billing read them'); END""",
}


def usage_guards_sqlite() -> dict[str, str]:
    """The SQLite guards of the aggregates: trigger name -> CREATE statement (``create_all`` and
    migration 0017)."""
    return {name: statement.strip() for name, statement in USAGE_GUARDS_SQLITE.items()}


sa.event.listen(UsageAggregate.__table__, "after_create", pg_guard_installer(usage_guards_pg))
for _statement in usage_guards_sqlite().values():
    sa.event.listen(UsageAggregate.__table__, "after_create",  # DDL formats with %: the month's %Y-%m stays
                    sa.DDL(_statement.replace("%", "%%")).execute_if(dialect="sqlite"))


PLAN_CODE_PATTERN = r"^[A-Za-z0-9_-]+$"
PLAN_CODE_MAX = 32
#: A quota plan's code: 1-32 ASCII letters, digits, ``-`` or ``_`` (the one statement of the rule).
PlanCode = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=PLAN_CODE_MAX,
                                            pattern=PLAN_CODE_PATTERN)]


def is_plan_code(code: str) -> bool:
    """Whether ``code`` may name a quota plan (:data:`PlanCode`)."""
    return len(code) <= PLAN_CODE_MAX and re.fullmatch(PLAN_CODE_PATTERN, code) is not None


class QuotaPlan(SQLModel, table=True):
    """A named set of limits; applies to tenants whose population lies in [population_min, population_max]."""

    __tablename__ = "quota_plan"

    id: Optional[int] = Field(default=None, primary_key=True)
    code: str = Field(max_length=32, sa_column_kwargs={"unique": True})
    name_ja: str = Field(max_length=100)
    name_en: str = Field(default="", max_length=100)
    population_min: Optional[int] = Field(default=None, sa_column=sa.Column(sa.BigInteger, nullable=True))
    population_max: Optional[int] = Field(default=None, sa_column=sa.Column(sa.BigInteger, nullable=True))
    # the council resolution that last changed the plan (e.g. "FY2025-3"), when a vote decided it
    resolution_ref: Optional[str] = Field(default=None, max_length=255)
    created_at: dt.datetime = Field(default_factory=utcnow, sa_column=_timestamp())
    updated_at: dt.datetime = Field(default_factory=utcnow, sa_column=_timestamp())

    limits: list["QuotaLimit"] = Relationship(
        back_populates="plan",
        sa_relationship_kwargs={"cascade": "all, delete-orphan", "order_by": "QuotaLimit.metric", "lazy": "selectin"},
    )

    def __str__(self) -> str:
        return f"{self.name_ja} ({self.code})"


class QuotaLimit(SQLModel, table=True):
    __tablename__ = "quota_limit"
    __table_args__ = (sa.UniqueConstraint("plan_id", "metric", name="uq_quota_limit_plan_metric"),)

    id: Optional[int] = Field(default=None, primary_key=True)
    plan_id: int = Field(foreign_key="quota_plan.id", index=True)
    metric: str = Field(max_length=32)
    limit: int = Field(sa_column=sa.Column("limit_value", sa.BigInteger, nullable=False))
    enforcement: Enforcement = Field(sa_column=_enum_column(Enforcement, length=16))
    thresholds: str = Field(default=thresholds_text(DEFAULT_THRESHOLDS), max_length=64)  # warning thresholds in percent

    plan: Optional[QuotaPlan] = Relationship(back_populates="limits")


class TenantQuota(SQLModel, table=True):
    """An explicit plan for one tenant (instead of the one its population band selects)."""

    __tablename__ = "tenant_quota"

    id: Optional[int] = Field(default=None, primary_key=True)
    tenant_code: str = Field(max_length=6, sa_column_kwargs={"unique": True})
    plan_id: int = Field(foreign_key="quota_plan.id", index=True)
    updated_at: dt.datetime = Field(default_factory=utcnow, sa_column=_timestamp())


class QuotaOverride(SQLModel, table=True):
    """One tenant's own limit for one metric, replacing its plan's."""

    __tablename__ = "quota_override"
    __table_args__ = (sa.UniqueConstraint("tenant_code", "metric", name="uq_quota_override_tenant_metric"),)

    id: Optional[int] = Field(default=None, primary_key=True)
    tenant_code: str = Field(max_length=6, index=True)
    metric: str = Field(max_length=32)
    limit: int = Field(sa_column=sa.Column("limit_value", sa.BigInteger, nullable=False))
    enforcement: Enforcement = Field(sa_column=_enum_column(Enforcement, length=16))
    thresholds: str = Field(default=thresholds_text(DEFAULT_THRESHOLDS), max_length=64)
    reason: str = Field(default="", sa_column=sa.Column(sa.Text, nullable=False, server_default=""))
    updated_at: dt.datetime = Field(default_factory=utcnow, sa_column=_timestamp())

