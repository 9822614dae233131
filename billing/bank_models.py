"""Tables of the bank's files and the payments they prove (:mod:`billing.bank_reconciliation`).

Every table here is only added to (the application role inserts and reads): a file imported, its
credit lines, and the link from a payment entry to the one bank line it records. A bank line is the
evidence behind a payment: ``renkei check`` names a payment entry that has neither a bank line nor
a manual payment decided by two people (:class:`ManualPayment`).
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

import core.db  # noqa: F401  (naming convention before any table)
from core.db import timestamp_column as _timestamp, utcnow


class BankFile(SQLModel, table=True):
    """A file of the bank imported once (its SHA-256 is unique: the same file again is refused)."""

    __tablename__ = "billing_bank_file"

    id: int | None = Field(default=None, primary_key=True)
    sha256: str = Field(max_length=64, sa_column_kwargs={"unique": True})
    filename: str = Field(default="", max_length=255)
    kind: str = Field(max_length=40)  # bank_files.KIND_LABELS
    account: str = Field(default="", max_length=40)
    credit_count: int
    credit_total: int = Field(sa_column=sa.Column(sa.BigInteger, nullable=False))
    refused_lines: str = Field(default="", max_length=2000)  # lines of the file refused as repeated in it
    imported_at: dt.datetime = Field(default_factory=utcnow, sa_column=_timestamp())
    imported_by: str = Field(default="", max_length=255)


class BankLine(SQLModel, table=True):
    """One credit the bank reported: money received (a 振込 or another deposit)."""

    __tablename__ = "billing_bank_line"

    id: int | None = Field(default=None, primary_key=True)
    file_id: int = Field(foreign_key="billing_bank_file.id", index=True)
    line_no: int
    identity: str = Field(max_length=64, sa_column_kwargs={"unique": True})  # bank_files.CreditLine.identity
    booked_on: dt.date = Field(sa_column=sa.Column(sa.Date, nullable=False, index=True))
    amount: int = Field(sa_column=sa.Column(sa.BigInteger, nullable=False))
    payer: str = Field(default="", max_length=100)
    reference: str = Field(default="", max_length=150)
    bank_ref: str = Field(default="", max_length=20)
    sender_bank: str = Field(default="", max_length=40)

    __table_args__ = (sa.CheckConstraint("amount > 0", name="amount_positive"),)


class BankPayment(SQLModel, table=True):
    """The payment entry a bank line was confirmed as (one line, one entry, once)."""

    __tablename__ = "billing_bank_payment"

    id: int | None = Field(default=None, primary_key=True)
    bank_line_id: int = Field(foreign_key="billing_bank_line.id", sa_column_kwargs={"unique": True})
    entry_id: int = Field(foreign_key="billing_journal_entry.id", sa_column_kwargs={"unique": True})
    tenant_code: str = Field(max_length=6)
    fiscal_year: int
    confirmed_at: dt.datetime = Field(default_factory=utcnow, sa_column=_timestamp())
    confirmed_by: str = Field(default="", max_length=255)


class ManualPayment(SQLModel, table=True):
    """A payment with no bank line, the exception: one finance officer asks with a reason, another
    decides; only then is the entry posted (``entry_id``)."""

    __tablename__ = "billing_manual_payment"

    id: int | None = Field(default=None, primary_key=True)
    tenant_code: str = Field(max_length=6)
    fiscal_year: int
    amount: int = Field(sa_column=sa.Column(sa.BigInteger, nullable=False))
    received_on: dt.date = Field(sa_column=sa.Column(sa.Date, nullable=False))
    reference: str = Field(default="", max_length=150)
    reason: str = Field(max_length=2000)
    requested_at: dt.datetime = Field(default_factory=utcnow, sa_column=_timestamp())
    requested_by: str = Field(default="", max_length=255)
    requested_by_key: str = Field(default="", max_length=600)
    approved_at: dt.datetime | None = Field(default=None, sa_column=_timestamp(nullable=True))
    approved_by: str = Field(default="", max_length=255)
    entry_id: int | None = Field(default=None, foreign_key="billing_journal_entry.id",
                                 sa_column_kwargs={"unique": True})

    __table_args__ = (sa.CheckConstraint("amount > 0", name="amount_positive"),)
