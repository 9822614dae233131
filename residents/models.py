"""Tables of the residents' side: the person with a common ID, the identifiers providers gave them,
the enrolments held for review, and the links to services' own user IDs.

* :class:`Resident`: one person of one municipality (the personal-data controller, ``tenant_code``),
  with a common ID (共通ID, :func:`core.codes.is_common_id`) once issued. The 基本4情報 are stored
  encrypted field by field (:mod:`residents.crypto`; the database owner reads ciphertext) with keyed
  hashes of their normalised forms for matching (:mod:`residents.normalise`). A row enrolled while it
  matched someone else waits in ``review`` without a common ID; nothing is deleted.
* :class:`ResidentIdentity`: an identifier an identity provider gives the person (issuer, subject),
  unique per municipality: the first thing an enrolment is matched by.
* :class:`ResidentReview`: an enrolment that matched an existing person, and the staff's decision.
* :class:`ServiceLink`: a common ID tied to a registered service's (``data_service``) own user ID,
  with how, when and at what assurance it was made. A service only ever sees its own user ID.
* :class:`ResidentDisclosure`: per resident and service, the data items that service may receive
  (公開範囲), append-only.
"""

from __future__ import annotations

import datetime as dt
import enum

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

import core.db  # noqa: F401  (naming convention before any table)
from core.db import enum_column, timestamp_column, utcnow

# the encrypted fields of a resident, in the order they are shown
ENCRYPTED_FIELDS = ("full_name", "address", "birth_date", "sex")


class ResidentStatus(str, enum.Enum):
    active = "active"
    review = "review"  # enrolled while matching someone: no common ID until staff decide
    duplicate = "duplicate"  # decided to be an existing person: kept, never issued


RESIDENT_STATUS_LABELS = {
    ResidentStatus.active: ("登録済み", "Enrolled"),
    ResidentStatus.review: ("確認待ち（同一人物の疑い）", "Awaiting review (possible duplicate)"),
    ResidentStatus.duplicate: ("既存の住民と同一（発行せず）", "Same as an existing resident (not issued)"),
}


class VerificationMethod(str, enum.Enum):
    my_number_card = "my_number_card"
    photo_id = "photo_id"  # a driving licence, passport or other photo document
    two_documents = "two_documents"  # two documents without a photo (health insurance card, pension book…)
    provider = "provider"  # an identity provider's sign-in (the card provider's claims)


VERIFICATION_LABELS = {
    VerificationMethod.my_number_card: ("マイナンバーカード（券面確認）", "My Number Card (inspected)"),
    VerificationMethod.photo_id: ("顔写真付き本人確認書類（運転免許証・旅券など）", "Photo ID (driving licence, passport…)"),
    VerificationMethod.two_documents: ("顔写真なし書類2点（健康保険証・年金手帳など）", "Two documents without a photo"),
    VerificationMethod.provider: ("認証事業者によるサインイン", "An identity provider's sign-in"),
}


class Sex(str, enum.Enum):
    """ISO/IEC 5218, as the card's 性別 is given."""

    male = "1"
    female = "2"
    not_applicable = "9"


SEX_LABELS = {Sex.male: ("男", "Male"), Sex.female: ("女", "Female"), Sex.not_applicable: ("適用不能", "Not applicable")}


class Resident(SQLModel, table=True):
    __tablename__ = "resident"

    id: int | None = Field(default=None, primary_key=True)
    uid: str = Field(max_length=32, unique=True)  # random; binds each ciphertext to its row
    tenant_code: str = Field(max_length=6, index=True)
    common_id: str | None = Field(default=None, max_length=16, unique=True)
    status: ResidentStatus = Field(sa_column=enum_column(ResidentStatus, checked=True))
    # ciphertext (residents.crypto): "v1:<key id>:<base64>"
    full_name: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    address: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    birth_date: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    sex: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    key_id: str = Field(max_length=32)  # the key every field and hash of the row was written with
    # keyed hashes (hex) of the normalised values: name + birth date + sex, and the address
    person_hash: str = Field(max_length=64)
    address_hash: str = Field(max_length=64)
    # the keyed hash of the normalised full name alone: the blind index the staff's search by name uses
    # ('' for a row enrolled before it existed, until `renkei residents rotate-key` writes it)
    name_hash: str = Field(default="", max_length=64, sa_column_kwargs={"server_default": ""})
    verification: VerificationMethod = Field(sa_column=enum_column(VerificationMethod))
    assurance_level: int = Field(foreign_key="assurance_level.level")
    enrolled_at: dt.datetime = Field(default_factory=utcnow, sa_column=timestamp_column())
    enrolled_by: str = Field(max_length=255)

    __table_args__ = (sa.Index("ix_resident_tenant_person", "tenant_code", "person_hash"),
                      sa.Index("ix_resident_tenant_name", "tenant_code", "name_hash"))


class ResidentIdentity(SQLModel, table=True):
    __tablename__ = "resident_identity"
    __table_args__ = (sa.UniqueConstraint("tenant_code", "issuer", "subject"),)

    id: int | None = Field(default=None, primary_key=True)
    resident_id: int = Field(foreign_key="resident.id", index=True)
    tenant_code: str = Field(max_length=6)
    issuer: str = Field(max_length=255)
    subject: str = Field(max_length=255)
    created_at: dt.datetime = Field(default_factory=utcnow, sa_column=timestamp_column())


class ReviewStatus(str, enum.Enum):
    open = "open"
    same_person = "same_person"  # the enrolment is the existing person: no new ID
    different_person = "different_person"  # issued its own common ID


REVIEW_STATUS_LABELS = {
    ReviewStatus.open: ("確認待ち", "Open"),
    ReviewStatus.same_person: ("同一人物（新たに発行せず）", "Same person (not issued)"),
    ReviewStatus.different_person: ("別人（共通IDを発行）", "Different person (issued)"),
}


class MatchReason(str, enum.Enum):
    provider_identifier = "provider_identifier"
    basic_four = "basic_four"


MATCH_REASON_LABELS = {
    MatchReason.provider_identifier: ("認証事業者の識別子が一致", "The provider's identifier matches"),
    MatchReason.basic_four: ("基本4情報（氏名・生年月日・性別）が一致", "Name, date of birth and sex match"),
}


class ResidentReview(SQLModel, table=True):
    __tablename__ = "resident_review"

    id: int | None = Field(default=None, primary_key=True)
    tenant_code: str = Field(max_length=6, index=True)
    candidate_id: int = Field(foreign_key="resident.id", unique=True)
    matched_id: int = Field(foreign_key="resident.id")
    reason: MatchReason = Field(sa_column=enum_column(MatchReason))
    address_matches: bool
    status: ReviewStatus = Field(default=ReviewStatus.open, sa_column=enum_column(ReviewStatus, checked=True))
    created_at: dt.datetime = Field(default_factory=utcnow, sa_column=timestamp_column())
    decided_at: dt.datetime | None = Field(default=None, sa_column=timestamp_column(nullable=True))
    decided_by: str = Field(default="", max_length=255)
    decision_reason: str = Field(default="", max_length=500)


class LinkMethod(str, enum.Enum):
    counter = "counter"  # staff at a counter
    portal_signin = "portal_signin"  # the resident in the portal, through the service's own sign-in
    portal_code = "portal_code"  # the resident in the portal, with a one-time code the service issued
    service_api = "service_api"  # the service's API with the resident present


LINK_METHOD_LABELS = {
    LinkMethod.counter: ("窓口（職員）", "At a counter (staff)"),
    LinkMethod.portal_signin: ("ポータル（サービスのサインイン）", "Portal (the service's sign-in)"),
    LinkMethod.portal_code: ("ポータル（ワンタイムコード）", "Portal (one-time code)"),
    LinkMethod.service_api: ("サービスのAPI（本人立会い）", "The service's API (resident present)"),
}


class ServiceLink(SQLModel, table=True):
    __tablename__ = "service_link"
    __table_args__ = (sa.UniqueConstraint("service_id", "service_user_id"),
                      sa.UniqueConstraint("resident_id", "service_id"))

    id: int | None = Field(default=None, primary_key=True)
    resident_id: int = Field(foreign_key="resident.id", index=True)
    service_id: int = Field(foreign_key="data_service.id")
    service_user_id: str = Field(max_length=128)
    method: LinkMethod = Field(sa_column=enum_column(LinkMethod))
    assurance_level: int = Field(foreign_key="assurance_level.level")
    linked_at: dt.datetime = Field(default_factory=utcnow, sa_column=timestamp_column())
    linked_by: str = Field(max_length=255)


class ResidentDisclosure(SQLModel, table=True):
    """The disclosure range (公開範囲) a resident set for one linked service: the data items (names from
    the service's consent text, the vocabulary) that service may receive. Append-only: a change is a
    new row, the newest row per resident and service is in force, and no row means nothing is
    disclosed. ``set_by`` is who recorded it (staff at the desk on the resident's behalf, for now)."""

    __tablename__ = "resident_disclosure"
    __table_args__ = (sa.Index("ix_resident_disclosure_current", "resident_id", "service_id", "id"),)

    id: int | None = Field(default=None, primary_key=True)
    resident_id: int = Field(foreign_key="resident.id")
    service_id: int = Field(foreign_key="data_service.id")
    items: str = Field(sa_column=sa.Column(sa.Text, nullable=False))  # JSON list, in the text's order
    reason: str = Field(max_length=500)
    set_at: dt.datetime = Field(default_factory=utcnow, sa_column=timestamp_column())
    set_by: str = Field(max_length=255)
