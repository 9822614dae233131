"""Tables and value types of the tenant registry.

A tenant (参加団体) is a participating municipality or the prefecture itself, identified by its
local government code. Table models skip pydantic validation (SQLModel), so input goes through
the non-table ``TenantCreate``/``TenantUpdate`` models in :mod:`tenancy.registry.schemas` first.
"""


import datetime as dt
from typing import Optional

import sqlalchemy as sa
from sqlmodel import Field, Relationship, SQLModel

from core.db import enum_column as _enum_column
from core.db import timestamp_column, utcnow
from core.labelled import LabelledEnum


class TenantKind(LabelledEnum):
    prefecture = "prefecture", "都道府県", "Prefecture"
    designated_city = "designated_city", "政令指定都市", "Designated city"
    city = "city", "市", "City"
    ward = "ward", "特別区", "Special ward"
    town = "town", "町", "Town"
    village = "village", "村", "Village"


class TenantStatus(LabelledEnum):
    applied = "applied", "申請受付", "Applied"
    screening = "screening", "審査中", "Screening"
    approved = "approved", "承認済", "Approved"
    provisioning = "provisioning", "環境構築中", "Provisioning"
    active = "active", "利用中", "Active"
    suspended = "suspended", "利用停止", "Suspended"
    withdrawn = "withdrawn", "脱退", "Withdrawn"


class Tenant(SQLModel, table=True):
    __tablename__ = "tenant"

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=6, sa_column_kwargs={"unique": True}, index=False)
    name_ja: str = Field(max_length=100)
    name_en: str = Field(default="", max_length=100)  # "" when not known: English pages show name_ja
    name_kana: str | None = Field(default=None, max_length=200)
    kind: TenantKind = Field(sa_column=_enum_column(TenantKind))
    population: int = Field(sa_column=sa.Column(sa.BigInteger, nullable=False))
    population_source: str = Field(default="", max_length=255)
    status: TenantStatus = Field(sa_column=_enum_column(TenantStatus, index=True, checked=True))
    wave_fiscal_year: int | None = Field(default=None, index=True)
    user_seat_limit: int | None = Field(default=None)
    created_at: dt.datetime = Field(
        default_factory=utcnow, sa_column=timestamp_column(nullable=False)
    )
    updated_at: dt.datetime = Field(
        default_factory=utcnow, sa_column=timestamp_column(nullable=False)
    )

    contacts: list["TenantContact"] = Relationship(
        back_populates="tenant",
        sa_relationship_kwargs={"cascade": "all, delete-orphan", "order_by": "TenantContact.id", "lazy": "selectin"},
    )

    def __str__(self) -> str:
        return f"{self.name_ja} ({self.code})"

    @property
    def name_en_shown(self) -> str:
        """The name on English pages: the English name when there is one, else the Japanese name."""
        return self.name_en or self.name_ja


class TenantContact(SQLModel, table=True):
    __tablename__ = "tenant_contact"

    id: int | None = Field(default=None, primary_key=True)
    tenant_id: int = Field(foreign_key="tenant.id", index=True)
    role: str = Field(default="admin", max_length=32)
    name: str = Field(max_length=100)
    department: str = Field(default="", max_length=100)
    email: str = Field(max_length=254)
    phone: str = Field(default="", max_length=32)

    tenant: Optional[Tenant] = Relationship(back_populates="contacts")


class TenantTransition(SQLModel, table=True):
    """One move of a tenant's status: who, when, why. The history billing reads months from."""

    __tablename__ = "tenant_transition"

    id: int | None = Field(default=None, primary_key=True)
    tenant_id: int = Field(foreign_key="tenant.id", index=True)
    from_status: Optional[TenantStatus] = Field(
        default=None,
        sa_column=sa.Column(sa.Enum(TenantStatus, native_enum=False, length=32, name="tenantstatus"), nullable=True),
    )
    to_status: TenantStatus = Field(sa_column=_enum_column(TenantStatus))
    at: dt.datetime = Field(default_factory=utcnow, sa_column=timestamp_column(nullable=False))
    actor_issuer: str = Field(max_length=255)
    actor_subject: str = Field(max_length=255)
    actor_name: str = Field(default="", max_length=255)
    reason: str = Field(default="", sa_column=sa.Column(sa.Text, nullable=False, server_default=""))


class BankAccountType(LabelledEnum):
    ordinary = "ordinary", "普通", "Ordinary"
    current = "current", "当座", "Current"


class SealMark(LabelledEnum):
    """What a letter carries where the issuer would seal it: 「公印省略」 (the office's usual practice for
    notices sent in numbers) or the printed seal (公印)."""

    omitted = "omitted", "公印省略", "Seal omitted (公印省略)"
    printed = "printed", "公印を印字する", "Print the official seal"


class PrefectureSettings(SQLModel, table=True):
    """The home prefecture's own facts that documents carry: who issues them, where to pay, whom
    to ask, and how documents are numbered. One row (id 1), edited by the operator and audited.

    The home prefecture itself (its name and code) is the registry's prefecture tenant, not a
    setting written a second time here.
    """

    __tablename__ = "prefecture_settings"

    id: int | None = Field(default=None, primary_key=True)
    issuer_title: str = Field(max_length=100)  # 発行者の職名: 熊本県知事
    issuer_name: str = Field(default="", max_length=100)  # 氏名 (optional on a notice)
    office: str = Field(max_length=200)  # 担当課: 企画振興部 デジタル戦略局 デジタル戦略推進課
    office_address: str = Field(default="", max_length=200)
    office_phone: str = Field(max_length=32)
    office_email: str = Field(default="", max_length=254)
    bank_name: str = Field(max_length=100)  # 指定金融機関
    bank_branch: str = Field(max_length=100)
    account_type: BankAccountType = Field(sa_column=_enum_column(BankAccountType))
    account_number: str = Field(max_length=16)
    account_holder: str = Field(max_length=100)
    document_symbol: str = Field(max_length=20)  # 文書記号: 「デ戦」 → デ戦第12号
    payment_days: int = Field(default=30)  # 納期限: so many days after the issue date, by default
    consortium_name: str = Field(default="", max_length=100)  # くまもとDXコンソーシアム: the public join form's name
    seal: SealMark = Field(default=SealMark.omitted, sa_column=_enum_column(SealMark, length=16, server_default="omitted"))
    # the office's own closed days (閉庁日) beside weekends, holidays and 12/29-1/3: ISO dates, one per line, sorted
    closed_days: str = Field(default="", sa_column=sa.Column(sa.Text, nullable=False, server_default=""))
    updated_at: dt.datetime = Field(default_factory=utcnow, sa_column=timestamp_column(nullable=False))
