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
* :class:`ResidentLinkCode`: a one-time code a service issued for one of its user IDs, entered by the
  resident in the portal to link it (hashed, short-lived, single use); :class:`ResidentLinkAttempt`, a wrong
  code entered (the portal's limit on guessing).
* :class:`ResidentDisclosure`: per resident and service, the data items that service may receive
  (公開範囲), append-only.
* :class:`ResidentRecovery`: a split of a wrong link or a merge of two common IDs of one person, proposed
  by one person of the residents' desk and approved (or refused) by another (four eyes).
* :class:`LinkageMark`: a linkage record made under a link later split as wrong (the linkage records
  themselves are append-only, so the mark is a row of its own).
* :class:`ResidentNotice`: a notice to a resident (a split of their link, a merge of their IDs), kept
  for the residents' portal to show.
* :class:`ResidentInquiry`: a resident's question about how their data is used, asked in the portal: the
  secretariat's inquiry it opened and the service it is about (none: 「その他・わからない」). The inquiry itself
  never names the resident (:mod:`residents.data_inquiries`).
* :class:`FileRegisterSetting`: whether a municipality publishes its file register (:mod:`residents.file_register`).
* :class:`Representation`: a legal representative (親権者, 成年後見人) of a resident, recorded by the desk; the
  representative acts for them in the portal (:mod:`residents.representation`).
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

import core.db  # noqa: F401  (naming convention before any table)
from core.db import enum_column, timestamp_column, utcnow
from core.labelled import LabelledEnum

# the encrypted fields of a resident, in the order they are shown, and their words (Japanese, English)
ENCRYPTED_FIELDS = ("full_name", "address", "birth_date", "sex")
ITEM_LABELS = {"full_name": ("氏名", "name"), "address": ("住所", "address"), "birth_date": ("生年月日", "date of birth"),
               "sex": ("性別", "sex")}


class ResidentStatus(LabelledEnum):
    active = "active", "登録済み", "Enrolled"
    # enrolled while matching someone: no common ID until staff decide
    review = "review", "確認待ち（同一人物の疑い）", "Awaiting review (possible duplicate)"
    # decided to be an existing person: kept, never issued
    duplicate = "duplicate", "既存の住民と同一（発行せず）", "Same as an existing resident (not issued)"
    # a second common ID of a person, merged into the surviving one (resolves to it)
    merged = "merged", "統合済み（存続する共通IDへ）", "Merged (into the surviving common ID)"
    # the resident left in the portal: links ended, consents withdrawn (residents.portal_records)
    left = "left", "退会済み", "Left"
    # the resident moved to another municipality or out of the platform's area (residents.moves): links ended (or
    # carried to the new municipality's common ID), consents withdrawn, kept to the retention as one who left
    moved = "moved", "転出済み", "Moved out"


class VerificationMethod(LabelledEnum):
    my_number_card = "my_number_card", "マイナンバーカード（券面確認）", "My Number Card (inspected)"
    # a driving licence, passport or other photo document
    photo_id = "photo_id", "顔写真付き本人確認書類（運転免許証・旅券など）", "Photo ID (driving licence, passport…)"
    # two documents without a photo (health insurance card, pension book…)
    two_documents = "two_documents", "顔写真なし書類2点（健康保険証・年金手帳など）", "Two documents without a photo"
    # an identity provider's sign-in (the card provider's claims)
    provider = "provider", "認証事業者によるサインイン", "An identity provider's sign-in"


class Sex(LabelledEnum):
    """ISO/IEC 5218, as the card's 性別 is given."""

    male = "1", "男", "Male"
    female = "2", "女", "Female"
    not_applicable = "9", "適用不能", "Not applicable"


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
    merged_into_id: int | None = Field(default=None, foreign_key="resident.id")  # set when status is merged
    # the resident left (status left) and, after the retention, when the key material was erased
    left_at: dt.datetime | None = Field(default=None, sa_column=timestamp_column(nullable=True))
    # a move between municipalities (residents.moves): on the old row, when and where to ("" outside the area);
    # on the new municipality's row, where from
    moved_at: dt.datetime | None = Field(default=None, sa_column=timestamp_column(nullable=True))
    moved_to: str | None = Field(default=None, max_length=6)
    moved_from: str | None = Field(default=None, max_length=6)
    erased_at: dt.datetime | None = Field(default=None, sa_column=timestamp_column(nullable=True))

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


class ReviewStatus(LabelledEnum):
    open = "open", "確認待ち", "Open"
    # the enrolment is the existing person: no new ID
    same_person = "same_person", "同一人物（新たに発行せず）", "Same person (not issued)"
    different_person = "different_person", "別人（共通IDを発行）", "Different person (issued)"  # issued its own common ID


class MatchReason(LabelledEnum):
    provider_identifier = "provider_identifier", "認証事業者の識別子が一致", "The provider's identifier matches"
    basic_four = "basic_four", "基本4情報（氏名・生年月日・性別）が一致", "Name, date of birth and sex match"
    # name, address and sex match, the date of birth differs
    birth_date_differs = "birth_date_differs", "氏名・住所・性別が一致（生年月日のみ異なる）", "Name, address and sex match; only the date of birth differs"
    # name, address and date of birth match, the sex differs
    sex_differs = "sex_differs", "氏名・住所・生年月日が一致（性別のみ異なる）", "Name, address and date of birth match; only the sex differs"
    # a sign-in matching, by the 基本4情報, a person who left (them or a namesake)
    left_person = "left_person", "退会した住民と基本4情報が一致（本人か同姓同名の別人かを確認）", "Name, date of birth and sex match a resident who left (them, or a namesake?)"


class ResidentReview(SQLModel, table=True):
    __tablename__ = "resident_review"

    id: int | None = Field(default=None, primary_key=True)
    tenant_code: str = Field(max_length=6, index=True)
    candidate_id: int = Field(foreign_key="resident.id", unique=True)
    matched_id: int = Field(foreign_key="resident.id")
    # set when the candidate holds the changed items of a known person's sign-in (residents.operations.
    # refresh_claims): that person; the candidate is never issued a common ID of its own
    claims_of_id: int | None = Field(default=None, foreign_key="resident.id")
    reason: MatchReason = Field(sa_column=enum_column(MatchReason))
    address_matches: bool
    status: ReviewStatus = Field(default=ReviewStatus.open, sa_column=enum_column(ReviewStatus, checked=True))
    created_at: dt.datetime = Field(default_factory=utcnow, sa_column=timestamp_column())
    decided_at: dt.datetime | None = Field(default=None, sa_column=timestamp_column(nullable=True))
    decided_by: str = Field(default="", max_length=255)
    decision_reason: str = Field(default="", max_length=500)


class LinkMethod(LabelledEnum):
    counter = "counter", "窓口（職員）", "At a counter (staff)"  # staff at a counter
    # the resident in the portal, through the service's own sign-in
    portal_signin = "portal_signin", "ポータル（サービスのサインイン）", "Portal (the service's sign-in)"
    # the resident in the portal, with a one-time code the service issued
    portal_code = "portal_code", "ポータル（ワンタイムコード）", "Portal (one-time code)"
    # the service's API with the resident present
    service_api = "service_api", "サービスのAPI（本人立会い）", "The service's API (resident present)"
    # carried over by the resident from the municipality they moved from (residents.moves)
    moved = "moved", "転入時の引継ぎ（本人）", "Carried over on moving (the resident)"


class ServiceLink(SQLModel, table=True):
    """A link is current until a split ends it (``ended_at``, by whom, why): nothing is deleted, and the
    uniqueness (one person per service user ID, one link per person and service) holds among current
    links. A link moved by a merge keeps the resident it was made for (``origin_resident_id``)."""

    __tablename__ = "service_link"
    __table_args__ = (sa.Index("uq_service_link_current_user", "service_id", "service_user_id", unique=True,
                               sqlite_where=sa.text("ended_at IS NULL"), postgresql_where=sa.text("ended_at IS NULL")),
                      sa.Index("uq_service_link_current_resident", "resident_id", "service_id", unique=True,
                               sqlite_where=sa.text("ended_at IS NULL"), postgresql_where=sa.text("ended_at IS NULL")))

    id: int | None = Field(default=None, primary_key=True)
    resident_id: int = Field(foreign_key="resident.id", index=True)
    service_id: int = Field(foreign_key="data_service.id")
    service_user_id: str = Field(max_length=128)
    method: LinkMethod = Field(sa_column=enum_column(LinkMethod))
    # how staff verified the person's identity at a counter (None: made by the resident or the service)
    verification: VerificationMethod | None = Field(default=None, sa_column=enum_column(VerificationMethod, nullable=True))
    assurance_level: int = Field(foreign_key="assurance_level.level")
    linked_at: dt.datetime = Field(default_factory=utcnow, sa_column=timestamp_column())
    linked_by: str = Field(max_length=255)
    origin_resident_id: int | None = Field(default=None, foreign_key="resident.id")  # moved by a merge: from whom
    ended_at: dt.datetime | None = Field(default=None, sa_column=timestamp_column(nullable=True))
    ended_by: str = Field(default="", max_length=255)
    ended_reason: str = Field(default="", max_length=500)


CURRENT_LINK = ServiceLink.ended_at.is_(None)  # the links in force (a split one is kept, ended)


class ResidentLinkCode(SQLModel, table=True):
    """A one-time code a service issued for one of its own user IDs (issue 42 item 2): the resident enters it
    in the portal to link that ID to their common ID. Only its hash is kept; it is valid for a few minutes
    and used once (``used_at``, by whom: ``resident_id``)."""

    __tablename__ = "resident_link_code"
    __table_args__ = (sa.UniqueConstraint("service_id", "code_hash"),)

    id: int | None = Field(default=None, primary_key=True)
    service_id: int = Field(foreign_key="data_service.id")
    service_user_id: str = Field(max_length=128)
    code_hash: str = Field(max_length=64)  # SHA-256 (hex) of the service and the code
    issued_at: dt.datetime = Field(default_factory=utcnow, sa_column=timestamp_column())
    issued_by: str = Field(max_length=255)  # the service's API client
    expires_at: dt.datetime = Field(sa_column=timestamp_column())
    used_at: dt.datetime | None = Field(default=None, sa_column=timestamp_column(nullable=True))
    resident_id: int | None = Field(default=None, foreign_key="resident.id")  # who used it


class ResidentLinkAttempt(SQLModel, table=True):
    """A wrong link code a resident entered in the portal: :func:`residents.portal.link_with_code` counts a
    resident's wrong codes of the last minutes here (in the database, so that the limit holds across
    workers) and refuses further attempts once there are too many. Only the service and when, never the
    code typed. Append-only."""

    __tablename__ = "resident_link_attempt"
    __table_args__ = (sa.Index("ix_resident_link_attempt_recent", "resident_id", "attempted_at"),)

    id: int | None = Field(default=None, primary_key=True)
    resident_id: int = Field(foreign_key="resident.id")
    service_id: int = Field(foreign_key="data_service.id")
    attempted_at: dt.datetime = Field(default_factory=utcnow, sa_column=timestamp_column())


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


class ResidentProvider(SQLModel, table=True):
    """An identity provider residents sign in to the portal with (issue 42 item 4), configured in the
    residents' realm by ``renkei residents provider-add``: its alias there, its issuer (from its discovery
    document) and the assurance level (the existing levels) a sign-in through it carries, e.g. 3 for the My
    Number card's, lower for a city's LINE-based portal."""

    __tablename__ = "resident_provider"

    id: int | None = Field(default=None, primary_key=True)
    alias: str = Field(max_length=64, unique=True)
    display_name: str = Field(max_length=200)
    issuer: str = Field(max_length=255)
    discovery_url: str = Field(max_length=500)
    assurance_level: int = Field(foreign_key="assurance_level.level")
    created_at: dt.datetime = Field(default_factory=utcnow, sa_column=timestamp_column())
    created_by: str = Field(max_length=255)


class ResidentSignIn(SQLModel, table=True):
    """A resident's sign-in to the portal: through which provider, as which of its identifiers, at what
    assurance, which claims the provider verified (their names: the values are the resident's encrypted
    items), and when. Append-only."""

    __tablename__ = "resident_sign_in"

    id: int | None = Field(default=None, primary_key=True)
    resident_id: int = Field(foreign_key="resident.id", index=True)
    provider_id: int = Field(foreign_key="resident_provider.id")
    subject: str = Field(max_length=255)
    assurance_level: int = Field(foreign_key="assurance_level.level")
    verified_claims: str = Field(max_length=200)  # the claims' names, comma-separated
    signed_in_at: dt.datetime = Field(default_factory=utcnow, sa_column=timestamp_column())
class RecoveryKind(LabelledEnum):
    # end a link of a common ID to a service's user ID that is not this person
    split = "split", "誤った連携の解除", "Split a wrong link"
    # two common IDs of one person: the second is merged into the surviving one
    merge = "merge", "共通IDの統合", "Merge two common IDs"


class RecoveryStatus(LabelledEnum):
    proposed = "proposed", "承認待ち", "Awaiting approval"
    approved = "approved", "承認・実施済み", "Approved and done"  # done: the link ended, or the IDs merged
    refused = "refused", "却下", "Refused"  # by the second person
    cancelled = "cancelled", "取下げ", "Cancelled"  # by the proposer


class ResidentRecovery(SQLModel, table=True):
    """A split or a merge: proposed with a reason by one person of the municipality's residents' desk,
    approved or refused (with a reason) by another of the same desk, or cancelled by the proposer.

    split: ``link_id`` is the wrong link, ``resident_id`` its resident. merge: ``resident_id`` survives and
    ``merged_id`` is merged into it."""

    __tablename__ = "resident_recovery"

    id: int | None = Field(default=None, primary_key=True)
    tenant_code: str = Field(max_length=6, index=True)
    kind: RecoveryKind = Field(sa_column=enum_column(RecoveryKind, checked=True))
    status: RecoveryStatus = Field(default=RecoveryStatus.proposed, sa_column=enum_column(RecoveryStatus, checked=True))
    resident_id: int = Field(foreign_key="resident.id", index=True)
    link_id: int | None = Field(default=None, foreign_key="service_link.id")
    merged_id: int | None = Field(default=None, foreign_key="resident.id")
    reason: str = Field(max_length=500)
    proposed_at: dt.datetime = Field(default_factory=utcnow, sa_column=timestamp_column())
    proposed_by: str = Field(max_length=255)
    proposed_by_key: str = Field(max_length=600)  # core.actor.identity_key: the four-eyes rule compares it
    decided_at: dt.datetime | None = Field(default=None, sa_column=timestamp_column(nullable=True))
    decided_by: str = Field(default="", max_length=255)
    decided_by_key: str = Field(default="", max_length=600)
    decision_reason: str = Field(default="", max_length=500)


class LinkageMark(SQLModel, table=True):
    """A linkage record (``linkage_record.seq``) made under a link later split as wrong: from the link's
    creation to the split, the service's requests for that user ID were answered with another person's
    data. No foreign key: a linkage record is purged after its retention, its mark stays."""

    __tablename__ = "linkage_mark"
    __table_args__ = (sa.UniqueConstraint("recovery_id", "linkage_seq"),)

    id: int | None = Field(default=None, primary_key=True)
    recovery_id: int = Field(foreign_key="resident_recovery.id")
    linkage_seq: int = Field(sa_column=sa.Column(sa.BigInteger, nullable=False, index=True))
    marked_at: dt.datetime = Field(default_factory=utcnow, sa_column=timestamp_column())


class ResidentNotice(SQLModel, table=True):
    """A notice to a resident about their own record (a link of theirs split, their IDs merged), in
    Japanese and English, for the residents' portal to show (``read_at`` once they have seen it)."""

    __tablename__ = "resident_notice"

    id: int | None = Field(default=None, primary_key=True)
    resident_id: int = Field(foreign_key="resident.id", index=True)
    kind: str = Field(max_length=64)
    recovery_id: int | None = Field(default=None, foreign_key="resident_recovery.id")
    title_ja: str = Field(max_length=200)
    title_en: str = Field(max_length=200)
    body_ja: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    body_en: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    created_at: dt.datetime = Field(default_factory=utcnow, sa_column=timestamp_column())
    read_at: dt.datetime | None = Field(default=None, sa_column=timestamp_column(nullable=True))


class ResidentInquiry(SQLModel, table=True):
    """A resident's question about how their data is used (issue 56 item 6): which resident asked, the
    secretariat's inquiry it opened (``secretariat_inquiry``, one each) and the linked service it is about
    (None: 「その他・わからない」). Who asked is kept here, not in the inquiry, so that the secretariat's
    pages name the resident only to those who may see the municipality's residents."""

    __tablename__ = "resident_inquiry"

    id: int | None = Field(default=None, primary_key=True)
    resident_id: int = Field(foreign_key="resident.id", index=True)
    inquiry_id: int = Field(foreign_key="secretariat_inquiry.id", unique=True)
    service_id: int | None = Field(default=None, foreign_key="data_service.id")
    tenant_code: str = Field(max_length=6, index=True)
    created_at: dt.datetime = Field(default_factory=utcnow, sa_column=timestamp_column())


class FileRegisterSetting(SQLModel, table=True):
    """Whether a municipality publishes its file register (個人情報ファイル簿, issue 56 item 5) on the public page:
    one row per municipality once it has chosen (none: not published); who changed it and when."""

    __tablename__ = "resident_file_register_setting"

    id: int | None = Field(default=None, primary_key=True)
    tenant_code: str = Field(max_length=6, unique=True)
    published: bool = Field(default=False)
    changed_at: dt.datetime = Field(default_factory=utcnow, sa_column=timestamp_column())
    changed_by: str = Field(default="", max_length=255)


class RepresentationKind(LabelledEnum):
    parental = "parental", "親権者", "Parent (parental authority)"
    guardian = "guardian", "成年後見人", "Adult guardian"


class RepresentationEvidence(LabelledEnum):
    """The document the desk saw (its kind only: never its number or contents)."""

    family_register = "family_register", "戸籍謄本・抄本", "Family register (koseki) certificate"
    guardianship_certificate = ("guardianship_certificate", "登記事項証明書（後見登記）",
                                "Certificate of registered matters (guardianship registry)")
    court_decision = "court_decision", "家庭裁判所の審判書（確定証明書付き）", "Family court's decision (with its finality)"


class Representation(SQLModel, table=True):
    """A legal representative of a resident (issue 56 item 3): who (``representative_id``, a resident of the same
    municipality who signs in with their own card), for whom (``represented_id``), the kind, the evidence the desk
    saw, from and until (``until`` as the desk typed it; a parent's ends by itself when the represented person
    turns 18, computed from their encrypted date of birth on every act and never stored: a stored day would be
    their date of birth in plain text). Ended early by the desk (``ended_at``, by whom, why); nothing deleted."""

    __tablename__ = "resident_representation"

    id: int | None = Field(default=None, primary_key=True)
    tenant_code: str = Field(max_length=6, index=True)
    representative_id: int = Field(foreign_key="resident.id", index=True)
    represented_id: int = Field(foreign_key="resident.id", index=True)
    kind: RepresentationKind = Field(sa_column=enum_column(RepresentationKind, checked=True))
    evidence: RepresentationEvidence = Field(sa_column=enum_column(RepresentationEvidence, length=32))
    starts_on: dt.date
    until: dt.date | None = Field(default=None)
    reason: str = Field(max_length=500)
    recorded_at: dt.datetime = Field(default_factory=utcnow, sa_column=timestamp_column())
    recorded_by: str = Field(max_length=255)
    ended_at: dt.datetime | None = Field(default=None, sa_column=timestamp_column(nullable=True))
    ended_by: str = Field(default="", max_length=255)
    ended_reason: str = Field(default="", max_length=500)


class PortalMunicipality(SQLModel, table=True):
    """A member municipality's place in the one residents' portal (issue 56 item 1): whether its residents sign in
    there (opted in by the operator or the municipality's own admin), and the words it shows them after they sign
    in; one row per municipality once it has chosen (none: not in the portal); who changed it and when."""

    __tablename__ = "resident_portal_municipality"

    id: int | None = Field(default=None, primary_key=True)
    tenant_code: str = Field(max_length=6, unique=True)
    opted_in: bool = Field(default=False)
    welcome_ja: str = Field(default="", sa_column=sa.Column(sa.Text, nullable=False, server_default=""))
    welcome_en: str = Field(default="", sa_column=sa.Column(sa.Text, nullable=False, server_default=""))
    changed_at: dt.datetime = Field(default_factory=utcnow, sa_column=timestamp_column())
    changed_by: str = Field(default="", max_length=255)
