"""Member organisations (企業・大学・団体), their screening, and project groups (提案グループ).

An organisation is known by its corporate number (法人番号, :mod:`core.codes`). Once approved it
has a group ``/tenants/<corporate number>`` in Keycloak, so its people are managed by its own
admin through the same identity operations and pages as a municipality's; the authorization
policy's "own" scope then covers the corporate number as it covers a municipality's code.
Organisations are not tenants: they join no cost split (billing reads ``tenant`` only).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Optional

import sqlalchemy as sa
from sqlalchemy.orm import Session
from sqlmodel import Field, SQLModel

from core.db import enum_column, timestamp_column, utcnow
from core.errors import Conflict, NotFound
from core.labelled import LabelledEnum


class OrganisationKind(LabelledEnum):
    company = "company", "企業", "Company"
    university = "university", "大学・研究機関", "University"
    npo = "npo", "NPO・団体", "NPO"
    other = "other", "その他", "Other"


class MemberStatus(LabelledEnum):
    unconfirmed = "unconfirmed", "メール確認待ち", "E-mail not confirmed"  # applied; e-mail address not yet confirmed
    applied = "applied", "審査中", "Under screening"  # e-mail confirmed: under screening
    approved = "approved", "入会承認済み", "Approved"
    rejected = "rejected", "入会不承認", "Rejected"
    withdrawn = "withdrawn", "退会", "Withdrawn"


DOCUMENTS = {"pledge": ("誓約書", "Pledge"), "profile": ("会社概要", "Company profile")}

PREFECTURES = (
    "北海道", "青森県", "岩手県", "宮城県", "秋田県", "山形県", "福島県", "茨城県", "栃木県", "群馬県", "埼玉県",
    "千葉県", "東京都", "神奈川県", "新潟県", "富山県", "石川県", "福井県", "山梨県", "長野県", "岐阜県", "静岡県",
    "愛知県", "三重県", "滋賀県", "京都府", "大阪府", "兵庫県", "奈良県", "和歌山県", "鳥取県", "島根県", "岡山県",
    "広島県", "山口県", "徳島県", "香川県", "愛媛県", "高知県", "福岡県", "佐賀県", "長崎県", "熊本県", "大分県",
    "宮崎県", "鹿児島県", "沖縄県",
)


class Organisation(SQLModel, table=True):
    __tablename__ = "member_organisation"

    id: int | None = Field(default=None, primary_key=True)
    corporate_number: str = Field(max_length=13, sa_column_kwargs={"unique": True})
    name: str = Field(max_length=200)
    name_kana: str = Field(default="", max_length=200)
    kind: OrganisationKind = Field(sa_column=enum_column(OrganisationKind))
    prefecture: str = Field(max_length=8)
    in_prefecture: bool = Field(default=False)
    address: str = Field(default="", max_length=300)
    representative: str = Field(max_length=100)
    contact_name: str = Field(max_length=100)
    contact_email: str = Field(max_length=254)
    contact_phone: str = Field(default="", max_length=32)
    status: MemberStatus = Field(sa_column=enum_column(MemberStatus, index=True, checked=True))
    email_token_hash: Optional[str] = Field(default=None, max_length=64, index=True)
    email_confirmed_at: Optional[dt.datetime] = Field(default=None, sa_column=timestamp_column(nullable=True))
    pledge_received_on: Optional[dt.date] = Field(default=None)
    profile_received_on: Optional[dt.date] = Field(default=None)
    decision_reason: str = Field(default="", sa_column=sa.Column(sa.Text, nullable=False, server_default=""))
    decided_at: Optional[dt.datetime] = Field(default=None, sa_column=timestamp_column(nullable=True))
    applied_at: dt.datetime = Field(default_factory=utcnow, sa_column=timestamp_column(nullable=False))
    # member information (issue 40): what the periodic report to the prefecture counts
    industry: str = Field(default="", max_length=1)  # 日本標準産業分類 major group letter (core.codes), "" unknown
    size_band: str = Field(default="", max_length=16)  # a SizeBand value, "" unknown
    employees: Optional[int] = Field(default=None, ge=0)
    capital_yen: Optional[int] = Field(default=None, ge=0, sa_type=sa.BigInteger)
    municipality_code: str = Field(default="", max_length=6)  # 全国地方公共団体コード of the head office, "" unknown
    joined_on: Optional[dt.date] = Field(default=None, index=True)  # 入会日 (approval, or the imported list's)
    left_on: Optional[dt.date] = Field(default=None, index=True)    # 退会日
    leave_reason: str = Field(default="", sa_column=sa.Column(sa.Text, nullable=False, server_default=""))
    # what the member says of itself to other members (issue 58): kept by its own admin
    public_profile: str = Field(default="", sa_column=sa.Column(sa.Text, nullable=False, server_default=""))

    # what the identity operations and the outbox read of a "tenant"
    @property
    def code(self) -> str:
        return self.corporate_number

    @property
    def name_ja(self) -> str:
        return self.name

    @property
    def name_en(self) -> str:
        return self.name

    @property
    def user_seat_limit(self) -> None:
        return None

    @property
    def contacts(self) -> list:
        return [dataclasses.make_dataclass("Contact", ["email"])(self.contact_email)]


class ChangeStatus(LabelledEnum):
    """A change of a member's details (:mod:`tenancy.members.details`): applied at once, or waiting for the
    secretariat (the name, the facts the corporate number is registered with, the representative)."""

    applied = "applied", "反映済み", "Applied"
    pending = "pending", "事務局の確認待ち", "Awaiting the secretariat"
    approved = "approved", "事務局が承認・反映済み", "Approved and applied"
    rejected = "rejected", "事務局が差戻し", "Rejected by the secretariat"


class MemberChange(SQLModel, table=True):
    """One change of a member's details, its history: ``before`` and ``after`` are JSON objects of the
    changed fields only. A pending change is applied when the secretariat approves it."""

    __tablename__ = "member_change"

    id: int | None = Field(default=None, primary_key=True)
    organisation_id: int = Field(foreign_key="member_organisation.id", index=True)
    status: ChangeStatus = Field(sa_column=enum_column(ChangeStatus, length=16, checked=True))
    before: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    after: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    requested_by: str = Field(max_length=255)
    requested_at: dt.datetime = Field(default_factory=utcnow, sa_column=timestamp_column(nullable=False))
    decided_by: str = Field(default="", max_length=255)
    decided_at: Optional[dt.datetime] = Field(default=None, sa_column=timestamp_column(nullable=True))
    decision_reason: str = Field(default="", sa_column=sa.Column(sa.Text, nullable=False, server_default=""))


class SizeBand(LabelledEnum):
    """An organisation's size band, from its employees or its capital (中小企業基本法's line for most
    industries: capital up to 300 million yen or up to 300 employees is an SME; up to 20 employees small)."""

    small = "small", "小規模事業者（従業員20人以下）", "Small (up to 20 employees)"
    medium = "medium", "中小企業（従業員300人以下または資本金3億円以下）", "SME (up to 300 employees or 300 million yen)"
    large = "large", "大企業", "Large"
    # universities, associations: no capital
    not_applicable = "not_applicable", "対象外（大学・団体等）", "Not applicable (university, association)"


SMALL_EMPLOYEES, SME_EMPLOYEES, SME_CAPITAL_YEN = 20, 300, 300_000_000


def size_band_of(employees: int | None, capital_yen: int | None) -> SizeBand | None:
    """The band an organisation's figures put it in, or None when neither is known."""
    if employees is not None and employees <= SMALL_EMPLOYEES:
        return SizeBand.small
    if (employees is not None and employees <= SME_EMPLOYEES) or (capital_yen is not None and capital_yen <= SME_CAPITAL_YEN):
        return SizeBand.medium
    if employees is None and capital_yen is None:
        return None
    return SizeBand.large


DEFAULT_RECRUITMENT_TARGET = 50  # new members a fiscal year (seed 001: 年間50社・団体以上)


class RecruitmentTarget(SQLModel, table=True):
    """The year's recruitment target (新規会員の募集目標), set by the secretariat; a year without a row has
    :data:`DEFAULT_RECRUITMENT_TARGET`."""

    __tablename__ = "member_recruitment_target"

    fiscal_year: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    target: int = Field(ge=1)
    set_by: str = Field(default="", max_length=255)
    set_at: dt.datetime = Field(default_factory=utcnow, sa_column=timestamp_column(nullable=False))


class BaseKind(LabelledEnum):
    """An organisation's base other than its head office (本社 is the organisation's own address)."""

    branch = "branch", "支社・支店", "Branch"
    office = "office", "事業所・営業所", "Office"


MAX_BASES = 10


class MemberBase(SQLModel, table=True):
    """A base of a member organisation besides its head office: the prefecture it is in counts for the
    project-group rule (県内に本社・支社などの活動拠点を持つ企業・団体等を1以上含むこと)."""

    __tablename__ = "member_base"

    id: int | None = Field(default=None, primary_key=True)
    organisation_id: int = Field(foreign_key="member_organisation.id", index=True)
    kind: BaseKind = Field(sa_column=enum_column(BaseKind))
    prefecture: str = Field(max_length=8)


class ScreeningItem(SQLModel, table=True):
    """One criterion of the screening checklist, edited by the prefecture."""

    __tablename__ = "member_screening_item"

    id: int | None = Field(default=None, primary_key=True)
    label_ja: str = Field(max_length=200)
    label_en: str = Field(default="", max_length=200)
    active: bool = Field(default=True)
    position: int = Field(default=0)


DEFAULT_SCREENING_ITEMS = (("反社会的勢力でないことの確認", "Not an antisocial force"),)


class ScreeningCheck(SQLModel, table=True):
    __tablename__ = "member_screening_check"
    __table_args__ = (sa.UniqueConstraint("organisation_id", "item_id"),)

    id: int | None = Field(default=None, primary_key=True)
    organisation_id: int = Field(foreign_key="member_organisation.id", index=True)
    item_id: int = Field(foreign_key="member_screening_item.id")
    checked: bool = Field(default=False)
    note: str = Field(default="", max_length=500)
    checked_by: str = Field(default="", max_length=255)
    checked_at: dt.datetime = Field(default_factory=utcnow, sa_column=timestamp_column(nullable=False))


class ProjectGroup(SQLModel, table=True):
    """A proposal group (提案グループ): two or more members, one in the prefecture, one representative."""

    __tablename__ = "member_project_group"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=200, sa_column_kwargs={"unique": True})
    representative: str = Field(max_length=13)  # a member's corporate number
    created_at: dt.datetime = Field(default_factory=utcnow, sa_column=timestamp_column(nullable=False))


class ProjectGroupMember(SQLModel, table=True):
    __tablename__ = "member_project_group_member"
    __table_args__ = (sa.UniqueConstraint("group_id", "corporate_number"),)

    id: int | None = Field(default=None, primary_key=True)
    group_id: int = Field(foreign_key="member_project_group.id", index=True)
    corporate_number: str = Field(max_length=13)


# --- what tenancy.identity asks of an organisation with accounts --------------------------------

class OrganisationClosed(Conflict):
    def __init__(self, number: str, status: MemberStatus) -> None:
        ja, en = MemberStatus(status).label
        super().__init__(f"Organisation {number} is {en.lower()}; its users cannot be changed.",
                         f"法人番号 {number} の団体は「{ja}」のため、利用者を変更できません。")


def get_organisation_account(session: Session, number: str) -> Organisation:
    """An organisation that has (or had) accounts: approved or withdrawn; NotFound otherwise."""
    org = session.scalars(sa.select(Organisation).where(Organisation.corporate_number == number)).one_or_none()
    if org is None or org.status not in (MemberStatus.approved, MemberStatus.withdrawn):
        raise NotFound(f"No member organisation {number}.", f"法人番号 {number} の会員団体はありません。")
    return org


def open_organisation(session: Session, number: str) -> Organisation:
    """The organisation whose people are about to change: approved, not withdrawn."""
    org = get_organisation_account(session, number)
    if org.status != MemberStatus.approved:
        raise OrganisationClosed(number, org.status)
    return org


def organisations_with_accounts(session: Session, numbers: frozenset[str] | None) -> list[Organisation]:
    """Approved organisations (all, or those whose corporate numbers are given), by number."""
    query = sa.select(Organisation).where(Organisation.status == MemberStatus.approved)
    if numbers is not None:
        if not numbers:
            return []
        query = query.where(Organisation.corporate_number.in_(sorted(numbers)))
    return list(session.scalars(query.order_by(Organisation.corporate_number)))
