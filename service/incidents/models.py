"""Tables of the incident register.

An incident is detected at one moment; the 24-hour recovery clock runs from it. ``outage_key`` holds
the component code while an incident opened by the probe is unrecovered: its unique key makes
:func:`service.incidents.operations.open_for_outage` idempotent even between two processes. The
timeline (``incident_entry``) is appended to, never changed. The reports are letters numbered in the
office's one sequence (:func:`billing.documents.next_sequences`, the table marked ``letter_numbers``).
"""

from __future__ import annotations

import datetime as dt
from typing import Optional

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

import core.db  # noqa: F401  (naming convention first)
from core.db import enum_column, timestamp_column, utcnow
from core.labelled import LabelledEnum


class IncidentStatus(LabelledEnum):
    open = "open", "対応中", "Open"
    recovered = "recovered", "復旧済み", "Recovered"
    closed = "closed", "完了", "Closed"


class Severity(LabelledEnum):
    critical = "critical", "重大（全面停止）", "Critical (service down)"
    major = "major", "重要（一部停止）", "Major (partly down)"
    minor = "minor", "軽微", "Minor"


class EntryKind(LabelledEnum):
    detected = "detected", "検知", "Detected"
    first_report = "first_report", "第一報", "First report"
    workaround = "workaround", "暫定対応", "Workaround"
    note = "note", "経過", "Progress"
    recovered = "recovered", "復旧", "Recovered"
    closed = "closed", "完了（最終報告）", "Closed (final report)"


class ReportKind(LabelledEnum):
    first = "first", "障害発生報告（第一報）", "First report of the incident"
    final = "final", "障害報告書（最終報告）", "Final report of the incident"


class Incident(SQLModel, table=True):
    """One platform failure (障害)."""

    __tablename__ = "incident"

    id: Optional[int] = Field(default=None, primary_key=True)
    title: str = Field(max_length=200)
    severity: Severity = Field(sa_column=enum_column(Severity, checked=True))
    status: IncidentStatus = Field(sa_column=enum_column(IncidentStatus, checked=True, index=True))
    source: str = Field(default="manual", max_length=16)  # manual or probe
    outage_key: Optional[str] = Field(default=None, max_length=64, sa_column_kwargs={"unique": True})
    description: str = Field(default="", sa_column=sa.Column(sa.Text, nullable=False, server_default=""))
    detected_at: dt.datetime = Field(sa_column=timestamp_column(nullable=False, index=True))
    recovered_at: Optional[dt.datetime] = Field(default=None, sa_column=timestamp_column(nullable=True))
    closed_at: Optional[dt.datetime] = Field(default=None, sa_column=timestamp_column(nullable=True))
    opened_by: str = Field(default="", max_length=255)
    # the final report's four parts (原因, 影響, 対応, 再発防止策), written when the incident closes
    cause: str = Field(default="", sa_column=sa.Column(sa.Text, nullable=False, server_default=""))
    impact: str = Field(default="", sa_column=sa.Column(sa.Text, nullable=False, server_default=""))
    response: str = Field(default="", sa_column=sa.Column(sa.Text, nullable=False, server_default=""))
    prevention: str = Field(default="", sa_column=sa.Column(sa.Text, nullable=False, server_default=""))


class IncidentComponent(SQLModel, table=True):
    """A platform component the incident affects (its code as the availability probe names it)."""

    __tablename__ = "incident_component"
    __table_args__ = (sa.UniqueConstraint("incident_id", "component_code"),)

    id: Optional[int] = Field(default=None, primary_key=True)
    incident_id: int = Field(foreign_key="incident.id", index=True)
    component_code: str = Field(max_length=64)
    component_name: str = Field(default="", max_length=200)


class IncidentTenant(SQLModel, table=True):
    """A municipality (tenant) the incident affects."""

    __tablename__ = "incident_tenant"
    __table_args__ = (sa.UniqueConstraint("incident_id", "tenant_code"),)

    id: Optional[int] = Field(default=None, primary_key=True)
    incident_id: int = Field(foreign_key="incident.id", index=True)
    tenant_code: str = Field(max_length=13)


class IncidentMember(SQLModel, table=True):
    """A member organisation (会員, by corporate number) the incident affects."""

    __tablename__ = "incident_member"
    __table_args__ = (sa.UniqueConstraint("incident_id", "corporate_number"),)

    id: Optional[int] = Field(default=None, primary_key=True)
    incident_id: int = Field(foreign_key="incident.id", index=True)
    corporate_number: str = Field(max_length=13)


class IncidentEntry(SQLModel, table=True):
    """One line of an incident's timeline, by a person (or the probe)."""

    __tablename__ = "incident_entry"

    id: Optional[int] = Field(default=None, primary_key=True)
    incident_id: int = Field(foreign_key="incident.id", index=True)
    kind: EntryKind = Field(sa_column=enum_column(EntryKind, checked=True))
    at: dt.datetime = Field(default_factory=utcnow, sa_column=timestamp_column(nullable=False))
    by: str = Field(default="", max_length=255)
    text: str = Field(default="", sa_column=sa.Column(sa.Text, nullable=False, server_default=""))


class IncidentReport(SQLModel, table=True):
    """A report to the prefecture (first or final), a letter with its number; never renumbered."""

    __tablename__ = "incident_report"
    __table_args__ = (sa.UniqueConstraint("incident_id", "kind"), sa.UniqueConstraint("number_year", "sequence"),
                      {"info": {"letter_numbers": True}})

    id: Optional[int] = Field(default=None, primary_key=True)
    incident_id: int = Field(foreign_key="incident.id", index=True)
    kind: ReportKind = Field(sa_column=enum_column(ReportKind, checked=True))
    number_year: int
    sequence: int
    number: str = Field(max_length=64)
    issued_on: dt.date = Field(sa_column=sa.Column(sa.Date, nullable=False))
    issued_at: dt.datetime = Field(default_factory=utcnow, sa_column=timestamp_column(nullable=False))
    issued_by: str = Field(default="", max_length=255)


# --- personal-data breaches (個人情報保護法 漏えい等報告, service.breaches) --------------------------------

class BreachKind(LabelledEnum):
    leak = "leak", "漏えい", "Leak"
    loss = "loss", "滅失", "Loss"
    damage = "damage", "毀損", "Damage"
    unauthorised_access = "unauthorised_access", "不正アクセス", "Unauthorised access"


class BreachReportKind(LabelledEnum):
    preliminary = "preliminary", "速報", "Preliminary report"
    final = "final", "確報", "Final report"


class NoticeChannel(LabelledEnum):
    portal = "portal", "住民ポータルのお知らせ", "Notice in the residents' portal"
    letter = "letter", "郵送（ポータルを使っていない方）", "Letter (no portal account)"


class IncidentBreach(SQLModel, table=True):
    """An incident marked as a personal-data breach of one municipality's residents (the controller): the
    services whose received items are concerned, the window, when it became known (the deadlines count from
    it), and the items the Commission's form asks; the 速報 and 確報 once submitted."""

    __tablename__ = "incident_breach"
    __table_args__ = (sa.UniqueConstraint("incident_id", "tenant_code"),)

    id: Optional[int] = Field(default=None, primary_key=True)
    incident_id: int = Field(foreign_key="incident.id", index=True)
    tenant_code: str = Field(max_length=6, index=True)
    kind: BreachKind = Field(sa_column=enum_column(BreachKind, checked=True, length=24))
    unlawful_purpose: bool = Field(default=False)  # 不正の目的をもって行われたおそれ: 確報 within 60 days
    window_start: dt.datetime = Field(sa_column=timestamp_column(nullable=False))
    window_end: dt.datetime = Field(sa_column=timestamp_column(nullable=False))
    known_at: dt.datetime = Field(sa_column=timestamp_column(nullable=False))
    marked_at: dt.datetime = Field(default_factory=utcnow, sa_column=timestamp_column(nullable=False))
    marked_by: str = Field(default="", max_length=255)
    summary: str = Field(default="", sa_column=sa.Column(sa.Text, nullable=False, server_default=""))
    cause: str = Field(default="", sa_column=sa.Column(sa.Text, nullable=False, server_default=""))
    secondary_damage: str = Field(default="", sa_column=sa.Column(sa.Text, nullable=False, server_default=""))
    response_to_persons: str = Field(default="", sa_column=sa.Column(sa.Text, nullable=False, server_default=""))
    publication: str = Field(default="", sa_column=sa.Column(sa.Text, nullable=False, server_default=""))
    prevention: str = Field(default="", sa_column=sa.Column(sa.Text, nullable=False, server_default=""))
    other: str = Field(default="", sa_column=sa.Column(sa.Text, nullable=False, server_default=""))
    preliminary_reported_at: Optional[dt.datetime] = Field(default=None, sa_column=timestamp_column(nullable=True))
    preliminary_reported_by: str = Field(default="", max_length=255)
    final_reported_at: Optional[dt.datetime] = Field(default=None, sa_column=timestamp_column(nullable=True))
    final_reported_by: str = Field(default="", max_length=255)


class IncidentBreachService(SQLModel, table=True):
    """A data service (``data_service``) whose received items the breach concerns."""

    __tablename__ = "incident_breach_service"
    __table_args__ = (sa.UniqueConstraint("breach_id", "service_id"),)

    id: Optional[int] = Field(default=None, primary_key=True)
    breach_id: int = Field(foreign_key="incident_breach.id", index=True)
    service_id: int = Field(foreign_key="data_service.id")


class IncidentBreachNotice(SQLModel, table=True):
    """A resident told of the breach: through the portal (their notice) or put on the letter list; once each."""

    __tablename__ = "incident_breach_notice"
    __table_args__ = (sa.UniqueConstraint("breach_id", "resident_id"),)

    id: Optional[int] = Field(default=None, primary_key=True)
    breach_id: int = Field(foreign_key="incident_breach.id", index=True)
    resident_id: int = Field(foreign_key="resident.id")
    channel: NoticeChannel = Field(sa_column=enum_column(NoticeChannel, checked=True))
    notice_id: Optional[int] = Field(default=None, foreign_key="resident_notice.id")
    items: str = Field(default="[]", sa_column=sa.Column(sa.Text, nullable=False, server_default="[]"))  # JSON list
    at: dt.datetime = Field(default_factory=utcnow, sa_column=timestamp_column(nullable=False))
    by: str = Field(default="", max_length=255)
