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
from typing import Optional

import sqlalchemy as sa
from sqlmodel import Field, Relationship, SQLModel

import core.db  # noqa: F401  (naming convention first)
from core.db import utcnow
from core.db import enum_column as _enum_column, timestamp_column as _timestamp


class MetricKind(str, enum.Enum):
    counter = "counter"
    gauge = "gauge"


class Enforcement(str, enum.Enum):
    soft = "soft"  # warn at the thresholds, never deny
    hard = "hard"  # warn at the thresholds, and deny once the limit is used up


ENFORCEMENT_LABELS = {
    Enforcement.soft: ("警告のみ（ソフトリミット）", "Soft: warn only"),
    Enforcement.hard: ("上限で停止（ハードリミット）", "Hard: stop at the limit"),
}


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
    Japan-time month of ``occurred_at`` (``tenancy/usage/partitions.py``), whose key must hold the
    partition key: the same key on SQLite, where it is a plain table."""

    __tablename__ = "usage_event"
    __table_args__ = ({"postgresql_partition_by": "RANGE (occurred_at)"},)

    event_id: str = Field(max_length=128, primary_key=True)
    occurred_at: dt.datetime = Field(sa_column=_timestamp(primary_key=True))
    tenant_code: str = Field(max_length=6)
    metric: str = Field(max_length=32)
    quantity: int = Field(sa_column=sa.Column(sa.BigInteger, nullable=False))
    batch_id: Optional[int] = Field(default=None)


def _create_partitions(target: sa.Table, connection: sa.Connection, **_: object) -> None:
    """``create_all`` on PostgreSQL: the default partition and the months of the retention window
    and ahead, as migration 0003 creates them."""
    if connection.dialect.name == "postgresql":
        from tenancy.usage import partitions

        partitions.create_initial(connection)


sa.event.listen(UsageEvent.__table__, "after_create", _create_partitions)


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
    thresholds: str = Field(default="80,100", max_length=64)  # warning thresholds in percent

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
    thresholds: str = Field(default="80,100", max_length=64)
    reason: str = Field(default="", sa_column=sa.Column(sa.Text, nullable=False, server_default=""))
    updated_at: dt.datetime = Field(default_factory=utcnow, sa_column=_timestamp())

