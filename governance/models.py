"""Tables of the governance package: the audit log (agreements and council come later)."""


import datetime as dt

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

import tenancy.base  # noqa: F401  (naming convention before any table)
from tenancy.base import utcnow


class AuditRecord(SQLModel, table=True):
    """One administrative act. Append-only; each record carries the hash of the previous one."""

    __tablename__ = "audit_record"

    id: int | None = Field(default=None, primary_key=True)
    seq: int = Field(sa_column=sa.Column(sa.BigInteger, nullable=False, unique=True))
    occurred_at: dt.datetime = Field(
        default_factory=utcnow, sa_column=sa.Column(sa.DateTime(timezone=True), nullable=False)
    )
    actor_issuer: str = Field(max_length=255)
    actor_subject: str = Field(max_length=255)
    actor_name: str = Field(default="", max_length=255)
    actor_role: str = Field(default="", max_length=64)
    tenant_code: str | None = Field(default=None, max_length=6, index=True)
    action: str = Field(max_length=80, index=True)
    target_type: str = Field(max_length=80)
    target_id: str = Field(max_length=255)
    before: str | None = Field(default=None, sa_column=sa.Column(sa.Text, nullable=True))
    after: str | None = Field(default=None, sa_column=sa.Column(sa.Text, nullable=True))
    request_id: str | None = Field(default=None, max_length=64)
    source_ip: str | None = Field(default=None, max_length=64)
    prev_hash: str = Field(max_length=64)
    hash: str = Field(max_length=64)


class AuditChainHead(SQLModel, table=True):
    """A single row holding the last sequence number and hash; locked to serialise appends."""

    __tablename__ = "audit_chain_head"

    id: int = Field(default=1, primary_key=True)
    last_seq: int = Field(default=0, sa_column=sa.Column(sa.BigInteger, nullable=False))
    last_hash: str = Field(max_length=64)
