"""Shared kernel of renkei's domain packages.

Everything here is imported by ``tenancy``, ``billing`` and ``governance`` alike, and none of it
knows about Flask:

* the one SQLAlchemy ``MetaData`` (SQLModel's) with a naming convention, set before any table
  model is defined so that Alembic migrations get stable constraint names on SQLite and
  PostgreSQL alike;
* the root of the domain exception tree, whose kinds (not found, conflict, invalid, forbidden,
  unavailable) the web shell maps to HTTP status codes in one place;
* :class:`Actor`, the person or machine client on whose behalf an operation runs. Operations
  receive it as an argument; they never read a request.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any, ClassVar

import sqlalchemy as sa
from sqlmodel import SQLModel

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
SQLModel.metadata.naming_convention = NAMING_CONVENTION
metadata = SQLModel.metadata


def enum_column(enum_cls: type, *, length: int = 32, nullable: bool = False, **kwargs: Any) -> sa.Column:
    """An enum stored as a plain string with a CHECK constraint: readable in SQL, same on both databases."""
    return sa.Column(
        sa.Enum(enum_cls, native_enum=False, length=length, validate_strings=True, name=enum_cls.__name__.lower()),
        nullable=nullable,
        **kwargs,
    )


class UTCDateTime(sa.TypeDecorator):
    """A moment in time, aware and in UTC on both databases.

    PostgreSQL keeps the zone of a ``timestamptz``; SQLite keeps none, and would store a Japan-time
    value as its wall-clock time. So values are converted to UTC before they are stored (a naive
    value is taken as UTC, renkei's convention) and marked UTC when read back.
    """

    impl = sa.DateTime
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            value = value.replace(tzinfo=dt.timezone.utc)
        return value.astimezone(dt.timezone.utc)

    def process_result_value(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=dt.timezone.utc)
        return value


def timestamp_column(nullable: bool = False, **kwargs: Any) -> sa.Column:
    """A timestamp column: aware UTC datetimes in and out (:class:`UTCDateTime`)."""
    return sa.Column(UTCDateTime(timezone=True), nullable=nullable, **kwargs)


def utcnow() -> dt.datetime:
    """The current time, timezone-aware UTC (stored naive-free on both databases)."""
    return dt.datetime.now(dt.timezone.utc)


class DomainError(Exception):
    """Root of every error a domain operation raises on purpose.

    ``kind`` decides the HTTP status in the web shell; ``message_en`` and ``message_ja`` are
    what a municipal clerk reads, so they say what is wrong and what to do.
    ``problems`` lists field-level issues as ``{"field": ..., "message_en": ..., "message_ja": ...}``.
    """

    kind: ClassVar[str] = "invalid"
    retryable: ClassVar[bool] = False

    def __init__(
        self,
        message_en: str,
        message_ja: str | None = None,
        *,
        problems: list[dict[str, Any]] | None = None,
        **details: Any,
    ) -> None:
        super().__init__(message_en)
        self.message_en = message_en
        self.message_ja = message_ja or message_en
        self.problems = problems or []
        self.details = details


class NotFound(DomainError):
    kind = "not_found"


class Conflict(DomainError):
    kind = "conflict"


class Invalid(DomainError):
    kind = "invalid"


class Forbidden(DomainError):
    kind = "forbidden"


class Unavailable(DomainError):
    """A system renkei depends on (Keycloak, SMTP) did not answer; trying again may work."""

    kind = "unavailable"
    retryable = True


def problem(field: str, message_en: str, message_ja: str) -> dict[str, str]:
    """One field-level problem, in the shape every ``DomainError.problems`` list uses."""
    return {"field": field, "message_en": message_en, "message_ja": message_ja}


@dataclasses.dataclass(frozen=True)
class Actor:
    """Who is acting: identified by (issuer, subject), never by e-mail.

    ``roles`` are realm roles; ``tenant_codes`` the tenants the person belongs to. ``request_id``
    and ``source_ip`` travel with the actor so that the audit log can record them without the
    domain reading a request.
    """

    issuer: str
    subject: str
    name: str = ""
    roles: frozenset[str] = frozenset()
    tenant_codes: frozenset[str] = frozenset()
    request_id: str | None = None
    source_ip: str | None = None

    @property
    def primary_role(self) -> str:
        for role in ROLE_PRECEDENCE:
            if role in self.roles:
                return role
        return ""


ROLE_PRECEDENCE = (
    "platform-operator",
    "finance-officer",
    "auditor",
    "municipal-admin",
    "municipal-staff",
    "metering-client",
)

SYSTEM_ISSUER = "urn:renkei:system"


def system_actor(name: str = "renkei", **kwargs: Any) -> Actor:
    """The actor for commands run by an operator on the server itself (CLI, demo loader)."""
    return Actor(
        issuer=SYSTEM_ISSUER,
        subject=name,
        name=name,
        roles=frozenset({"platform-operator"}),
        **kwargs,
    )
