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
    tenant_code: str = Field(max_length=6, index=True)
    username: str = Field(max_length=255)
    keycloak_user_id: Optional[str] = Field(default=None, max_length=64)
    step: str = Field(max_length=64)
    error: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    resolved_at: Optional[dt.datetime] = Field(default=None, sa_column=timestamp_column(nullable=True))
