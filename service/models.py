"""Tables of running the platform (service/): the components probed, their up and down intervals,
the probe results kept a year, the planned maintenance windows, and the service settings.

* :class:`ServiceComponent`: one thing probed, built in (renkei, its database, Keycloak, the gateway
  check, the CKAN API, the DCAT feed: their addresses come from renkei's configuration) or
  registered by the operator with a health URL, an expected status and a timeout.
* :class:`ServiceInterval`: one row per state change, never one per probe: the component was up
  (or down) from ``started_at`` until ``ended_at`` (open while it lasts). A down interval carries
  when its outage was confirmed (the probes failed for the configured time) and recovered.
* :class:`ServiceProbe`: each probe's result, kept the one year of seed 004, then removed by the
  due job (``core.retention`` kind ``service_probes``).
* :class:`MaintenanceWindow` with its components and tenants: planned maintenance, announced by a
  notice and counted apart from downtime.
* :class:`ServiceSettings`: one row (id 1): the availability target, how long probes must fail
  before an outage is confirmed, and the permitted maintenance hours.
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

import core.db  # noqa: F401  (naming convention before any table)
from core.db import enum_column, timestamp_column, utcnow
from core.labelled import LabelledEnum


class ComponentState(LabelledEnum):
    up = "up", "稼働中", "Up"
    down = "down", "停止中", "Down"


UNKNOWN_LABEL = ("不明（未計測）", "Unknown (not measured)")
STATE_WORDS = {state.value: state.label for state in ComponentState} | {"unknown": UNKNOWN_LABEL}
MAINTENANCE_LABEL = ("計画メンテナンス中", "Planned maintenance")


class ServiceComponent(SQLModel, table=True):
    """One component of the platform the due job probes every minute."""

    __tablename__ = "service_component"

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(max_length=40, unique=True)  # renkei, database, keycloak, gateway, ckan, dcat, or c-<n>
    name_ja: str = Field(max_length=100)
    name_en: str = Field(default="", max_length=100)
    builtin: bool = Field(default=False)
    url: str = Field(default="", max_length=500)  # registered components only; built-in ones read the configuration
    expected_status: int = Field(default=200)
    timeout_ms: int = Field(default=5000)
    active: bool = Field(default=True)
    created_at: dt.datetime = Field(default_factory=utcnow, sa_column=timestamp_column(nullable=False))


class ServiceInterval(SQLModel, table=True):
    """A component up (or down) from ``started_at`` until ``ended_at`` (None: still so, last seen at
    ``last_probe_at``). Response times are summed so the interval's mean is exact."""

    __tablename__ = "service_interval"
    __table_args__ = (sa.Index("ix_service_interval_component_start", "component_id", "started_at"),)

    id: int | None = Field(default=None, primary_key=True)
    component_id: int = Field(foreign_key="service_component.id")
    state: ComponentState = Field(sa_column=enum_column(ComponentState, length=8))
    started_at: dt.datetime = Field(sa_column=timestamp_column(nullable=False))
    ended_at: dt.datetime | None = Field(default=None, sa_column=timestamp_column(nullable=True))
    last_probe_at: dt.datetime = Field(sa_column=timestamp_column(nullable=False))
    probes: int = Field(default=0)
    response_ms_total: int = Field(default=0, sa_column=sa.Column(sa.BigInteger, nullable=False))
    response_ms_max: int = Field(default=0)
    detail: str = Field(default="", max_length=500)  # the last failure's words (down intervals)
    outage_confirmed_at: dt.datetime | None = Field(default=None, sa_column=timestamp_column(nullable=True))
    recovered_at: dt.datetime | None = Field(default=None, sa_column=timestamp_column(nullable=True))


class ServiceProbe(SQLModel, table=True):
    """One probe's result (kept a year)."""

    __tablename__ = "service_probe"
    __table_args__ = (sa.Index("ix_service_probe_component_time", "component_id", "probed_at"),)

    id: int | None = Field(default=None, sa_column=sa.Column(sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
                                                             primary_key=True, autoincrement=True))
    component_id: int = Field(foreign_key="service_component.id")
    probed_at: dt.datetime = Field(sa_column=timestamp_column(nullable=False, index=True))
    ok: bool
    status_code: int | None = Field(default=None)
    response_ms: int = Field(default=0)
    error: str = Field(default="", max_length=500)


class MaintenanceWindow(SQLModel, table=True):
    """A planned maintenance window: announced by a notice when scheduled, excluded from availability."""

    __tablename__ = "maintenance_window"

    id: int | None = Field(default=None, primary_key=True)
    title: str = Field(max_length=200)
    description: str = Field(default="", sa_column=sa.Column(sa.Text, nullable=False, server_default=""))
    starts_at: dt.datetime = Field(sa_column=timestamp_column(nullable=False, index=True))
    ends_at: dt.datetime = Field(sa_column=timestamp_column(nullable=False))
    outside_hours_reason: str = Field(default="", max_length=500)  # required outside the permitted hours
    to_members: bool = Field(default=False)
    notice_id: int | None = Field(default=None, foreign_key="notice.id")
    scheduled_by: str = Field(default="", max_length=255)
    scheduled_at: dt.datetime = Field(default_factory=utcnow, sa_column=timestamp_column(nullable=False))
    cancelled_at: dt.datetime | None = Field(default=None, sa_column=timestamp_column(nullable=True))
    cancel_reason: str = Field(default="", max_length=500)


class MaintenanceComponent(SQLModel, table=True):
    __tablename__ = "maintenance_component"
    __table_args__ = (sa.UniqueConstraint("window_id", "component_id"),)

    id: int | None = Field(default=None, primary_key=True)
    window_id: int = Field(foreign_key="maintenance_window.id", index=True)
    component_id: int = Field(foreign_key="service_component.id")


class MaintenanceTenant(SQLModel, table=True):
    __tablename__ = "maintenance_tenant"
    __table_args__ = (sa.UniqueConstraint("window_id", "tenant_code"),)

    id: int | None = Field(default=None, primary_key=True)
    window_id: int = Field(foreign_key="maintenance_window.id", index=True)
    tenant_code: str = Field(max_length=6)


class ServiceSettings(SQLModel, table=True):
    """The service promises renkei measures against (one row, id 1; defaults until the operator saves)."""

    __tablename__ = "service_settings"

    id: int | None = Field(default=None, primary_key=True)
    target_basis_points: int = Field(default=9950)  # 99.50 %: availability target in hundredths of a percent
    outage_after_minutes: int = Field(default=5)  # probes failing this long confirm an outage
    maintenance_weekdays_only: bool = Field(default=True)
    maintenance_start_hour: int = Field(default=9)  # Japan time, inclusive
    maintenance_end_hour: int = Field(default=17)  # Japan time, the window ends by then
    # the monthly report names a catalogue search word only when it was searched at least this often
    search_words_minimum: int = Field(default=5, sa_column=sa.Column(sa.Integer, nullable=False, server_default="5"))
    # an incident's first report to the prefecture is due so many minutes after detection (None: the
    # installation's default, RENKEI_INCIDENT_FIRST_REPORT_HOURS)
    first_report_minutes: int | None = Field(default=None, sa_column=sa.Column(sa.Integer, nullable=True))
    # the prefecture's recipients of the incident reports and the monthly report ("": the installation's
    # RENKEI_INCIDENT_REPORT_RECIPIENTS, else the prefecture settings' e-mail)
    report_recipients: str = Field(default="", sa_column=sa.Column(sa.String(2000), nullable=False, server_default=""))
    updated_at: dt.datetime = Field(default_factory=utcnow, sa_column=timestamp_column(nullable=False))


class SearchWordCount(SQLModel, table=True):
    """How often a word was searched in the catalogue on a day (Japan time): counts only, no query, no
    reader, no address (the monthly report's most frequent search words, those below the minimum omitted)."""

    __tablename__ = "search_word_count"

    word: str = Field(primary_key=True, max_length=100)  # normalised as core.search reads a query, lower case
    day: dt.date = Field(primary_key=True, index=True)
    count: int = Field(default=0)


class MonthlyReport(SQLModel, table=True):
    """One writing of a month's report to the prefecture (月次運用報告): its figures (JSON), its
    workbook and its PDF. Written again, a month gets a new version; the old ones stay (its
    history). Nothing changes a version but its sending (when, by whom, to whom)."""

    __tablename__ = "service_monthly_report"
    __table_args__ = (sa.UniqueConstraint("month", "version"),)

    id: int | None = Field(default=None, primary_key=True)
    month: dt.date = Field(index=True)  # the month's first day
    version: int = Field(default=1)
    figures: str = Field(sa_column=sa.Column(sa.Text, nullable=False))  # JSON: the counts shown
    xlsx: bytes = Field(sa_column=sa.Column(sa.LargeBinary, nullable=False))
    pdf: bytes = Field(sa_column=sa.Column(sa.LargeBinary, nullable=False))
    written_at: dt.datetime = Field(default_factory=utcnow, sa_column=timestamp_column(nullable=False))
    written_by: str = Field(default="", max_length=255)
    sent_at: dt.datetime | None = Field(default=None, sa_column=timestamp_column(nullable=True))
    sent_by: str = Field(default="", max_length=255)
    recipients: str = Field(default="", max_length=1000)


class SignInEvent(SQLModel, table=True):
    """One sign-in to the platform: a LOGIN event of Keycloak's platform realm, read by the due job
    (:mod:`service.sign_ins`) so the monthly report counts sign-ins without Keycloak and after
    Keycloak has let its events expire. The client signed in to, the person's id, no address."""

    __tablename__ = "sign_in_event"

    id: int | None = Field(default=None, primary_key=True)
    event_id: str = Field(max_length=100, unique=True)  # Keycloak's id of the event
    at: dt.datetime = Field(sa_column=timestamp_column(nullable=False, index=True))
    day: dt.date = Field(index=True)  # the Japan-time day
    client_id: str = Field(default="", max_length=255)
    user_id: str = Field(default="", max_length=64)


class AccountReview(SQLModel, table=True):
    """A tenant's yearly review of its accounts (issue 57 item 6, 年度のアカウント棚卸し): started for a fiscal
    year by the operator (every municipality) or the municipal admin (theirs), attested done by the admin
    (:mod:`service.account_reviews`)."""

    __tablename__ = "account_review"
    __table_args__ = (sa.UniqueConstraint("tenant_code", "fiscal_year"),)

    id: int | None = Field(default=None, primary_key=True)
    tenant_code: str = Field(max_length=6, index=True)
    fiscal_year: int = Field(index=True)
    started_at: dt.datetime = Field(default_factory=utcnow, sa_column=timestamp_column(nullable=False))
    started_by: str = Field(default="", max_length=255)
    attested_at: dt.datetime | None = Field(default=None, sa_column=timestamp_column(nullable=True))
    attested_by: str = Field(default="", max_length=255)


class AccountReviewEntry(SQLModel, table=True):
    """What the review decided for one person: kept, disabled, or handed over (their municipal-admin role
    given to ``successor_id``, a colleague of the same tenant). The person's name as it was then."""

    __tablename__ = "account_review_entry"
    __table_args__ = (sa.UniqueConstraint("review_id", "user_id"),)

    id: int | None = Field(default=None, primary_key=True)
    review_id: int = Field(foreign_key="account_review.id", index=True)
    user_id: str = Field(max_length=64)
    username: str = Field(default="", max_length=255)
    decision: str = Field(max_length=16)  # kept / disabled / handed_over
    successor_id: str = Field(default="", max_length=64)
    last_sign_in: dt.datetime | None = Field(default=None, sa_column=timestamp_column(nullable=True))
    decided_at: dt.datetime = Field(default_factory=utcnow, sa_column=timestamp_column(nullable=False))
    decided_by: str = Field(default="", max_length=255)


class Kpi(LabelledEnum):
    """The indicators (成果指標) the grant's plan declares per year (issue 57 item 7); what each counts is
    :data:`service.kpis.MEASURES`'s."""

    municipalities = "municipalities", "参加市町村数", "Participating municipalities"
    services = "services", "データ利用サービス数", "Data services in use"
    datasets = "datasets", "公開データセット数", "Published datasets"
    api_calls = "api_calls", "API 呼び出し回数", "API calls"
    members = "members", "コンソーシアム会員数", "Consortium members"
    residents = "residents", "登録住民数", "Enrolled residents"


class KpiTarget(SQLModel, table=True):
    """A fiscal year's target of one indicator, set by the operator (:func:`service.kpis.set_targets`); an indicator
    without a row has no target that year (未設定)."""

    __tablename__ = "kpi_target"

    fiscal_year: int = Field(primary_key=True)
    kpi: Kpi = Field(sa_column=enum_column(Kpi, primary_key=True))
    target: int = Field(sa_column=sa.Column(sa.BigInteger, nullable=False))
    set_at: dt.datetime = Field(default_factory=utcnow, sa_column=timestamp_column(nullable=False))
    set_by: str = Field(default="", max_length=255)
