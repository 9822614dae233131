"""Tables of the identity use cases."""

import datetime as dt
from typing import Optional

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

import core.db  # noqa: F401  (naming convention first)
from core.db import timestamp_column, utcnow


class IdentityIncident(SQLModel, table=True):
    """A multi-step Keycloak operation that failed and could not be undone: on record for the operator."""

    __tablename__ = "identity_incident"

    id: Optional[int] = Field(default=None, primary_key=True)
    at: dt.datetime = Field(default_factory=utcnow, sa_column=timestamp_column(nullable=False))
    operation: str = Field(max_length=64)
    tenant_code: str = Field(max_length=13, index=True)  # or a member organisation's corporate number
    username: str = Field(max_length=255)
    keycloak_user_id: Optional[str] = Field(default=None, max_length=64)
    step: str = Field(max_length=64)
    error: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    resolved_at: Optional[dt.datetime] = Field(default=None, sa_column=timestamp_column(nullable=True))
    resolved_by: Optional[str] = Field(default=None, max_length=255)  # the operator's name (subject)
    resolution_note: Optional[str] = Field(default=None, sa_column=sa.Column(sa.Text, nullable=True))


class DeniedSubject(SQLModel, table=True):
    """A person whose access ended (disabled, removed, demoted): their tokens issued up to
    ``denied_at`` are refused by renkei until ``keep_until`` (past the longest token lifetime).
    See :mod:`tenancy.identity.denylist`."""

    __tablename__ = "denied_subject"

    subject: str = Field(primary_key=True, max_length=255)  # the token's ``sub`` (Keycloak user id)
    denied_at: dt.datetime = Field(sa_column=timestamp_column(nullable=False))
    keep_until: dt.datetime = Field(sa_column=timestamp_column(nullable=False, index=True))
    reason: str = Field(max_length=64)


class ApiClient(SQLModel, table=True):
    """A machine client of the platform (client credentials) owned by a tenant, with its IP allowlist.

    The owner is ``tenant_code`` for now; an organisation's clients will get an ``organisation_id``
    column beside it (exactly one of the two set). Keycloak holds the credentials
    (:class:`ApiClientCredential`); this row is what the gateway check reads. See
    :mod:`tenancy.identity.api_clients`."""

    __tablename__ = "api_client"

    id: Optional[int] = Field(default=None, primary_key=True)
    tenant_code: str = Field(max_length=13, index=True)
    name: str = Field(max_length=100)
    purpose: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    scopes: str = Field(default="", max_length=500)  # space-separated, from api_clients.SCOPES
    allowlist: str = Field(sa_column=sa.Column(sa.Text, nullable=False))  # CIDRs, space-separated, normalised
    allow_any: bool = Field(default=False)  # only the operator may set it
    expires_on: dt.date
    status: str = Field(default="active", max_length=16)  # active, disabled, revoked
    created_at: dt.datetime = Field(default_factory=utcnow, sa_column=timestamp_column(nullable=False))
    created_by: str = Field(max_length=255)
    revoked_at: Optional[dt.datetime] = Field(default=None, sa_column=timestamp_column(nullable=True))


class ApiClientCredential(SQLModel, table=True):
    """One Keycloak client (client id + secret) of an :class:`ApiClient`. A rotation adds a new one
    and gives the previous one ``valid_until`` (the overlap); after it, the old one is refused."""

    __tablename__ = "api_client_credential"

    id: Optional[int] = Field(default=None, primary_key=True)
    api_client_id: int = Field(foreign_key="api_client.id", index=True)
    keycloak_client_id: str = Field(max_length=100, unique=True)
    generation: int = Field(default=1)
    created_at: dt.datetime = Field(default_factory=utcnow, sa_column=timestamp_column(nullable=False))
    valid_until: Optional[dt.datetime] = Field(default=None, sa_column=timestamp_column(nullable=True))
    retired: bool = Field(default=False)  # disabled in Keycloak (after the overlap, or on revocation)
