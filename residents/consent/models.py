"""Tables of personal data by consent (本人同意): services, consent texts, consent records, linkage records.

* :class:`AssuranceLevel`: the identity assurance levels (個人認証レベル) the operator keeps.
* :class:`DataService`: a service that receives personal data (データ利用サービス), owned by a
  tenant or a member organisation (``owner_code``), with its controller, retention, the level it
  requires and the platform API client that calls the broker for it. Its lifecycle is
  :mod:`residents.consent.lifecycle`.
* :class:`ConsentText` (同意文): one version of a service's consent text with its purposes and data
  items (:class:`ConsentPurpose`, :class:`ConsentDataItem`); the text never changes after creation
  (``content_hash``). A change of purpose or items is a new version, which needs new consent.
* :class:`ConsentRecord` (同意記録): append-only and hash-chained (:mod:`core.chain`): a consent
  given, withdrawn or expired is a new entry, never an edit. Its fields are those of ISO/IEC TS
  27560 (see docs/consent.md for the mapping).
* :class:`LinkageRecord` (連携記録): one consent check of the broker, allowed or refused, with the
  consent it relied on; append-only and hash-chained, purged only after its retention, archived first.

The person is only ever a pseudonymous identifier unique per tenant (``tenant_code`` + ``subject_id``):
never a name or My Number.
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy import DDL, event
from sqlmodel import Field, SQLModel

import core.db  # noqa: F401  (naming convention before any table)
from core.db import enum_column, pg_guard_installer, row_guards_pg, timestamp_column, utcnow
from residents.consent.subject_ids import DEFAULT_MAX_LENGTH, DEFAULT_MIN_LENGTH, DEFAULT_PATTERN
from core.labelled import LabelledEnum


class AssuranceLevel(SQLModel, table=True):
    """An identity assurance level (個人認証レベル): 1 = self-declared … 3 = My Number Card (公的個人認証)."""

    __tablename__ = "assurance_level"

    level: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    label_ja: str = Field(max_length=200)
    label_en: str = Field(default="", max_length=200)

    def label(self, ja: bool) -> str:
        """The level's words in the page's language (English falls back to the Japanese)."""
        return self.label_ja if ja else (self.label_en or self.label_ja)


class ServiceStatus(LabelledEnum):
    registered = "registered", "承認待ち", "Awaiting approval"
    approved = "approved", "承認済み（利用可）", "Approved"
    suspended = "suspended", "一時停止", "Suspended"
    ended = "ended", "終了", "Ended"


class DataService(SQLModel, table=True):
    """A service that receives personal data (データ利用サービス)."""

    __tablename__ = "data_service"

    id: int | None = Field(default=None, primary_key=True)
    owner_code: str = Field(max_length=13, index=True)  # a tenant's code or a member's corporate number
    name: str = Field(max_length=200)
    provider: str = Field(max_length=200)  # who provides the service to residents
    controller: str = Field(max_length=200)  # the party answerable for the data it receives
    controller_contact: str = Field(default="", max_length=300)
    responsibility: str = Field(default="", sa_column=sa.Column(sa.Text, nullable=False, server_default=""))
    retention_days: int
    required_level: int = Field(foreign_key="assurance_level.level")
    api_client_id: int | None = Field(default=None, foreign_key="api_client.id")
    current_text_id: int | None = Field(default=None)  # the newest consent text (consent_text.id)
    status: ServiceStatus = Field(default=ServiceStatus.registered, sa_column=enum_column(ServiceStatus, checked=True))
    status_reason: str = Field(default="", max_length=500)
    created_at: dt.datetime = Field(default_factory=utcnow, sa_column=timestamp_column())
    created_by: str = Field(default="", max_length=255)
    # the form of the service's user IDs (residents.consent.subject_ids): the defaults are the platform's own
    user_id_pattern: str = Field(default=DEFAULT_PATTERN, sa_column=sa.Column(
        sa.String(200), nullable=False, server_default=DEFAULT_PATTERN))
    user_id_min_length: int = Field(default=DEFAULT_MIN_LENGTH, sa_column=sa.Column(
        sa.Integer, nullable=False, server_default=str(DEFAULT_MIN_LENGTH)))
    user_id_max_length: int = Field(default=DEFAULT_MAX_LENGTH, sa_column=sa.Column(
        sa.Integer, nullable=False, server_default=str(DEFAULT_MAX_LENGTH)))


class ConsentText(SQLModel, table=True):
    """One version of a service's consent text (同意文). Immutable once created."""

    __tablename__ = "consent_text"
    __table_args__ = (sa.UniqueConstraint("service_id", "number"),)

    id: int | None = Field(default=None, primary_key=True)
    service_id: int = Field(foreign_key="data_service.id", index=True)
    number: int
    title: str = Field(max_length=200)
    body_ja: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    body_en: str = Field(default="", sa_column=sa.Column(sa.Text, nullable=False, server_default=""))
    content_hash: str = Field(max_length=64)
    # what ISO/IEC TS 27560 records of the processing consented to (residents.consent.terms; bound by
    # the text's hash, which every consent record carries): the legal basis, whether the items include
    # 要配慮個人情報, the processing operations (JSON list), the jurisdiction, the retention in days
    legal_basis: str = Field(default="appi-27-1", max_length=40, sa_column_kwargs={"server_default": "appi-27-1"})
    special_care: bool = Field(default=False, sa_column_kwargs={"server_default": sa.false()})
    processing: str = Field(default='["transfer", "store", "use"]', sa_column=sa.Column(
        sa.Text, nullable=False, server_default='["transfer", "store", "use"]'))
    jurisdiction: str = Field(default="JP", max_length=10, sa_column_kwargs={"server_default": "JP"})
    retention_days: int | None = Field(default=None)  # the service's when the text was made (None: older texts)
    created_at: dt.datetime = Field(default_factory=utcnow, sa_column=timestamp_column())
    created_by: str = Field(default="", max_length=255)


class ConsentPurpose(SQLModel, table=True):
    """One purpose (利用目的) of a consent text, stated in words; required (a consent to the text is a
    consent to it) or optional (the person may consent to it or not: consent per purpose)."""

    __tablename__ = "consent_purpose"
    __table_args__ = (sa.UniqueConstraint("text_id", "statement"),)

    id: int | None = Field(default=None, primary_key=True)
    text_id: int = Field(foreign_key="consent_text.id", index=True)
    position: int
    statement: str = Field(max_length=500)
    required: bool = Field(default=True, sa_column_kwargs={"server_default": sa.true()})


class ConsentDataItem(SQLModel, table=True):
    """One data item a consent text covers, and the dataset of the register it comes from (``dataset_id``),
    or none (a free item). A reference by the register's row, so that the database itself refuses one
    to a dataset it does not hold and a dataset named by a text cannot vanish from under it; the API
    speaks of it by the dataset's catalogue name (CKAN's ``name``) and uid."""

    __tablename__ = "consent_data_item"
    __table_args__ = (sa.UniqueConstraint("text_id", "name"),)

    id: int | None = Field(default=None, primary_key=True)
    text_id: int = Field(foreign_key="consent_text.id", index=True)
    position: int
    name: str = Field(max_length=200)
    dataset_id: int | None = Field(default=None, foreign_key="dataset.id", index=True)


class ConsentEvent(LabelledEnum):
    given = "given", "同意", "Given"
    withdrawn = "withdrawn", "撤回", "Withdrawn"
    expired = "expired", "期限切れ", "Expired"


class ConsentMethod(LabelledEnum):
    web = "web", "ウェブ", "Web"
    app = "app", "アプリ", "App"
    paper = "paper", "窓口（紙）", "Paper at a counter"


class ConsentRecord(SQLModel, table=True):
    """One consent event (ISO/IEC TS 27560): given, withdrawn or expired. Append-only, hash-chained."""

    __tablename__ = "consent_record"
    __table_args__ = (sa.Index("ix_consent_record_person_service", "service_id", "tenant_code", "subject_id", "seq"),)

    id: int | None = Field(default=None, primary_key=True)
    seq: int = Field(sa_column=sa.Column(sa.BigInteger, nullable=False, unique=True))
    receipt_id: str = Field(max_length=36, unique=True)  # the consent receipt's id (UUID)
    event: ConsentEvent = Field(sa_column=enum_column(ConsentEvent))
    refers_to: int | None = Field(default=None)  # the 'given' record a withdrawal or expiry ends
    occurred_at: dt.datetime = Field(default_factory=utcnow, sa_column=timestamp_column())
    tenant_code: str = Field(max_length=6, index=True)
    subject_id: str = Field(max_length=128)
    service_id: int = Field(index=True)
    controller: str = Field(max_length=200)
    text_id: int
    text_number: int
    text_hash: str = Field(max_length=64)
    purposes: str = Field(sa_column=sa.Column(sa.Text, nullable=False))  # JSON list, as shown
    items: str = Field(sa_column=sa.Column(sa.Text, nullable=False))  # JSON list, as shown
    method: ConsentMethod = Field(sa_column=enum_column(ConsentMethod))
    assurance_level: int
    expires_at: dt.datetime | None = Field(default=None, sa_column=timestamp_column(nullable=True))
    recorded_by_issuer: str = Field(max_length=255)
    recorded_by_subject: str = Field(max_length=255)
    recorded_by_name: str = Field(default="", max_length=255)
    api_client_id: int | None = Field(default=None)
    request_id: str | None = Field(default=None, max_length=64)
    prev_hash: str = Field(max_length=64)
    hash: str = Field(max_length=64)


CONSENT_HASHED_FIELDS = (
    "seq", "receipt_id", "event", "refers_to", "tenant_code", "subject_id", "service_id", "controller", "text_id",
    "text_number", "text_hash", "purposes", "items", "method", "assurance_level", "expires_at",
    "recorded_by_issuer", "recorded_by_subject", "recorded_by_name", "api_client_id", "request_id",
)

# the words of each hashed field, as a receipt's proof prints them (core.receipt_proof) and the
# verification names a changed one
RECORD_FIELD_LABELS: dict[str, tuple[str, str]] = {
    "seq": ("記録の番号", "record number"), "occurred_at": ("日時（UTC）", "time (UTC)"),
    "receipt_id": ("受付番号", "receipt number"), "event": ("同意の操作", "consent event"),
    "refers_to": ("終了させた同意の記録", "the consent record it ends"), "tenant_code": ("団体コード", "municipality code"),
    "subject_id": ("本人の識別子", "identifier of the person"), "service_id": ("サービスの番号", "service number"),
    "controller": ("管理者", "controller"), "text_id": ("同意文の番号", "consent text number"),
    "text_number": ("同意文の版", "consent text version"), "text_hash": ("同意文のハッシュ値", "consent text hash"),
    "purposes": ("利用目的", "purposes"), "items": ("データ項目", "data items"), "method": ("方法", "method"),
    "assurance_level": ("個人認証レベル", "assurance level"), "expires_at": ("有効期限", "expires at"),
    "recorded_by_issuer": ("記録者の発行者", "recorded by (issuer)"),
    "recorded_by_subject": ("記録者の識別子", "recorded by (subject)"), "recorded_by_name": ("記録者", "recorded by"),
    "api_client_id": ("API クライアントの番号", "API client number"), "request_id": ("要求の番号", "request ID"),
    "service_owner": ("サービスの提供団体", "service owner"), "purpose": ("利用目的", "purpose"),
    "allowed": ("提供したか", "provided"), "reason": ("理由", "reason"),
    "consent_record_id": ("根拠とした同意の記録", "consent record relied on"),
    "consent_receipt_id": ("根拠とした同意の受付番号", "consent receipt relied on"),
    "client": ("クライアント", "client"), "caller_issuer": ("呼出し元の発行者", "caller (issuer)"),
    "caller_subject": ("呼出し元の識別子", "caller (subject)"),
}


class LinkageRecord(SQLModel, table=True):
    """One consent check of the broker (連携記録): allowed or refused, and on which consent. Append-only, hash-chained."""

    __tablename__ = "linkage_record"
    __table_args__ = (sa.Index("ix_linkage_record_person", "tenant_code", "subject_id", "seq"),)

    id: int | None = Field(default=None, primary_key=True)
    seq: int = Field(sa_column=sa.Column(sa.BigInteger, nullable=False, unique=True))
    occurred_at: dt.datetime = Field(default_factory=utcnow, sa_column=timestamp_column(index=True))
    service_id: int = Field(index=True)
    service_owner: str = Field(default="", max_length=13)
    tenant_code: str = Field(max_length=6)
    subject_id: str = Field(max_length=128)
    items: str = Field(sa_column=sa.Column(sa.Text, nullable=False))  # JSON list, as asked
    purpose: str = Field(max_length=500)
    allowed: bool
    reason: str = Field(max_length=40)
    consent_record_id: int | None = Field(default=None)
    consent_receipt_id: str | None = Field(default=None, max_length=36)
    client: str = Field(default="", max_length=255)  # the platform API client the broker acts for
    caller_issuer: str = Field(max_length=255)
    caller_subject: str = Field(max_length=255)
    request_id: str | None = Field(default=None, max_length=64)
    prev_hash: str = Field(max_length=64)
    hash: str = Field(max_length=64)


LINKAGE_HASHED_FIELDS = (
    "seq", "service_id", "service_owner", "tenant_code", "subject_id", "items", "purpose", "allowed", "reason",
    "consent_record_id", "consent_receipt_id", "client", "caller_issuer", "caller_subject", "request_id",
)


# --- the database's refusal to change or remove records ------------------------------------------
# consent_record: never updated or deleted. linkage_record: never updated; deleted only at or below
# its chain's anchor (the purge moves the anchor first, after writing the archive). A database owner
# can drop these triggers: the hash chains are what make such tampering visible (renkei check).

_SQLITE_GUARDS = {
    "consent_record": [
        "CREATE TRIGGER consent_record_no_update BEFORE UPDATE ON consent_record BEGIN "
        "SELECT RAISE(ABORT, 'consent_record is append-only: UPDATE refused'); END",
        "CREATE TRIGGER consent_record_no_delete BEFORE DELETE ON consent_record BEGIN "
        "SELECT RAISE(ABORT, 'consent_record is append-only: DELETE refused'); END",
    ],
    "linkage_record": [
        "CREATE TRIGGER linkage_record_no_update BEFORE UPDATE ON linkage_record BEGIN "
        "SELECT RAISE(ABORT, 'linkage_record is append-only: UPDATE refused'); END",
        "CREATE TRIGGER linkage_record_no_delete BEFORE DELETE ON linkage_record "
        "WHEN OLD.seq > COALESCE((SELECT purged_through_seq FROM chain_anchor WHERE name = 'linkage_record'), 0) BEGIN "
        "SELECT RAISE(ABORT, 'linkage_record is append-only: DELETE refused (only the archived purge removes records)'); END",
    ],
}

GUARD_TRIGGERS = {
    "sqlite": ["consent_record_no_update", "consent_record_no_delete", "linkage_record_no_update",
               "linkage_record_no_delete"],
    "postgresql": ["consent_record_append_only", "linkage_record_append_only"],
}


def guards_pg(schema: str, table: str | None = None) -> list[str]:
    """The PostgreSQL guards of the consent tables (or of ``table`` only) in ``schema`` (quoted)."""
    bodies = {
        "consent_record": ("renkei_consent_record_guard", """
BEGIN
    RAISE EXCEPTION USING
        MESSAGE = 'consent_record is append-only: ' || TG_OP || ' of record #' || OLD.seq || ' refused',
        ERRCODE = 'insufficient_privilege';
END""", "consent_record_append_only"),
        "linkage_record": ("renkei_linkage_record_guard", """
BEGIN
    IF TG_OP = 'DELETE'
       AND OLD.seq <= COALESCE((SELECT purged_through_seq FROM {s}.chain_anchor WHERE name = 'linkage_record'), 0) THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION USING
        MESSAGE = 'linkage_record is append-only: ' || TG_OP || ' of record #' || OLD.seq || ' refused',
        ERRCODE = 'insufficient_privilege';
END""", "linkage_record_append_only"),
    }
    return row_guards_pg(schema, bodies, table)


def sqlite_guards(table: str | None = None) -> list[str]:
    return [s for name, statements in _SQLITE_GUARDS.items() if table in (None, name) for s in statements]


for _model in (ConsentRecord, LinkageRecord):
    _name = _model.__tablename__
    for _statement in _SQLITE_GUARDS[_name]:
        event.listen(_model.__table__, "after_create", DDL(_statement).execute_if(dialect="sqlite"))
    event.listen(_model.__table__, "after_create", pg_guard_installer(lambda schema, _n=_name: guards_pg(schema, _n)))
