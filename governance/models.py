"""Tables of the governance package: the audit log, agreements and the council.

* Audit log: :class:`AuditRecord` (append-only, hash-chained), :class:`AuditChainHead` (the one
  row appends lock), :class:`AuditAnchor` (where verification starts after a purge). The
  database itself refuses UPDATE and DELETE on ``audit_record`` except the purge path; the
  trigger DDL is in :data:`AUDIT_GUARD_DDL` (reused by the Alembic migration).
* Agreements: :class:`AgreementVersion` (one version of one governance document, immutable
  text with a content hash) and :class:`AgreementAcceptance` (a tenant's acceptance of one).
* Council: :class:`CouncilProposal`, :class:`CouncilVote` (one per member, enforced by a
  unique constraint), :class:`CouncilResolution` (the outcome of a closed vote).
"""


import datetime as dt
import enum

import sqlalchemy as sa
from sqlalchemy import DDL, event
from sqlmodel import Field, SQLModel

import tenancy.base  # noqa: F401  (naming convention before any table)
from tenancy.base import utcnow
from tenancy.base import enum_column as _enum_column, timestamp_column as _timestamp




# --- audit log ------------------------------------------------------------------------------------

class AuditRecord(SQLModel, table=True):
    """One administrative act. Append-only; each record carries the hash of the previous one."""

    __tablename__ = "audit_record"

    id: int | None = Field(default=None, primary_key=True)
    seq: int = Field(sa_column=sa.Column(sa.BigInteger, nullable=False, unique=True))
    occurred_at: dt.datetime = Field(
        default_factory=utcnow, sa_column=_timestamp(nullable=False)
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


class AuditAnchor(SQLModel, table=True):
    """A single row: the records up to ``purged_through_seq`` were archived and purged.

    Verification of the remaining records starts from ``purged_through_hash``; the archive file
    (``archive_name``, whose SHA-256 is ``archive_sha256``) verifies the purged part. The row only
    moves forward (a trigger refuses lowering it or deleting it), and the purge's own audit
    record repeats these values, so a forged anchor does not match the chain.
    """

    __tablename__ = "audit_anchor"

    id: int = Field(default=1, primary_key=True)
    purged_through_seq: int = Field(default=0, sa_column=sa.Column(sa.BigInteger, nullable=False))
    purged_through_hash: str = Field(max_length=64)
    purged_count: int = Field(default=0, sa_column=sa.Column(sa.BigInteger, nullable=False))
    purged_at: dt.datetime = Field(default_factory=utcnow, sa_column=_timestamp())
    archive_name: str = Field(default="", max_length=255)
    archive_sha256: str = Field(default="", max_length=64)


# The database's own refusal to change or remove audit records. The purge (governance.audit.purge)
# first moves the anchor forward, then deletes only records at or below it; on PostgreSQL it must
# also set the transaction-local flag renkei.audit_purge. The chain head and the anchor only move
# forward and cannot be deleted. A database owner can still drop these
# triggers: the hash chain is what makes such tampering visible (docs/audit-log.md).
AUDIT_GUARD_DDL: dict[str, dict[str, list[str]]] = {
    "postgresql": {
        "audit_record": [
            """
CREATE OR REPLACE FUNCTION renkei_audit_record_guard() RETURNS trigger LANGUAGE plpgsql AS $guard$
BEGIN
    IF TG_OP = 'DELETE'
       AND current_setting('renkei.audit_purge', true) = 'on'
       AND OLD.seq <= COALESCE((SELECT purged_through_seq FROM audit_anchor WHERE id = 1), 0) THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION USING
        MESSAGE = 'audit_record is append-only: ' || TG_OP || ' of record #' || OLD.seq || ' refused',
        HINT = 'Records leave the log only through renkei audit purge, which archives them first.',
        ERRCODE = 'insufficient_privilege';
END
$guard$
""",
            "CREATE TRIGGER audit_record_append_only BEFORE UPDATE OR DELETE ON audit_record "
            "FOR EACH ROW EXECUTE FUNCTION renkei_audit_record_guard()",
        ],
        "audit_chain_head": [
            """
CREATE OR REPLACE FUNCTION renkei_audit_head_guard() RETURNS trigger LANGUAGE plpgsql AS $guard$
BEGIN
    IF TG_OP = 'UPDATE' AND NEW.last_seq > OLD.last_seq THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION USING
        MESSAGE = 'audit_chain_head only moves forward: ' || TG_OP || ' refused',
        ERRCODE = 'insufficient_privilege';
END
$guard$
""",
            "CREATE TRIGGER audit_chain_head_forward_only BEFORE UPDATE OR DELETE ON audit_chain_head "
            "FOR EACH ROW EXECUTE FUNCTION renkei_audit_head_guard()",
        ],
        "audit_anchor": [
            """
CREATE OR REPLACE FUNCTION renkei_audit_anchor_guard() RETURNS trigger LANGUAGE plpgsql AS $guard$
BEGIN
    IF TG_OP = 'UPDATE' AND NEW.purged_through_seq >= OLD.purged_through_seq THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION USING
        MESSAGE = 'audit_anchor only moves forward: ' || TG_OP || ' refused',
        ERRCODE = 'insufficient_privilege';
END
$guard$
""",
            "CREATE TRIGGER audit_anchor_forward_only BEFORE UPDATE OR DELETE ON audit_anchor "
            "FOR EACH ROW EXECUTE FUNCTION renkei_audit_anchor_guard()",
        ],
    },
    "sqlite": {
        "audit_record": [
            "CREATE TRIGGER audit_record_no_update BEFORE UPDATE ON audit_record BEGIN "
            "SELECT RAISE(ABORT, 'audit_record is append-only: UPDATE refused'); END",
            "CREATE TRIGGER audit_record_no_delete BEFORE DELETE ON audit_record "
            "WHEN OLD.seq > COALESCE((SELECT purged_through_seq FROM audit_anchor WHERE id = 1), 0) BEGIN "
            "SELECT RAISE(ABORT, 'audit_record is append-only: DELETE refused (only renkei audit purge removes archived records)'); END",
        ],
        "audit_chain_head": [
            "CREATE TRIGGER audit_chain_head_forward_only BEFORE UPDATE ON audit_chain_head "
            "WHEN NEW.last_seq <= OLD.last_seq BEGIN "
            "SELECT RAISE(ABORT, 'audit_chain_head only moves forward'); END",
            "CREATE TRIGGER audit_chain_head_no_delete BEFORE DELETE ON audit_chain_head BEGIN "
            "SELECT RAISE(ABORT, 'audit_chain_head cannot be deleted'); END",
        ],
        "audit_anchor": [
            "CREATE TRIGGER audit_anchor_forward_only BEFORE UPDATE ON audit_anchor "
            "WHEN NEW.purged_through_seq < OLD.purged_through_seq BEGIN "
            "SELECT RAISE(ABORT, 'audit_anchor only moves forward'); END",
            "CREATE TRIGGER audit_anchor_no_delete BEFORE DELETE ON audit_anchor BEGIN "
            "SELECT RAISE(ABORT, 'audit_anchor cannot be deleted'); END",
        ],
    },
}

# Names of the guard triggers per dialect and table (tests drop them to play the attacker).
AUDIT_GUARD_TRIGGERS = {
    "postgresql": {"audit_record": ["audit_record_append_only"], "audit_chain_head": ["audit_chain_head_forward_only"],
                   "audit_anchor": ["audit_anchor_forward_only"]},
    "sqlite": {"audit_record": ["audit_record_no_update", "audit_record_no_delete"],
               "audit_chain_head": ["audit_chain_head_forward_only", "audit_chain_head_no_delete"],
               "audit_anchor": ["audit_anchor_forward_only", "audit_anchor_no_delete"]},
}

for _dialect, _tables in AUDIT_GUARD_DDL.items():
    for _table, _statements in _tables.items():
        _target = {"audit_record": AuditRecord, "audit_chain_head": AuditChainHead, "audit_anchor": AuditAnchor}[_table].__table__
        for _statement in _statements:
            event.listen(_target, "after_create", DDL(_statement).execute_if(dialect=_dialect))


# --- agreements -----------------------------------------------------------------------------------

class AgreementDocument(str, enum.Enum):
    """The governance documents every tenant accepts (one versioned text each)."""

    joint_use_agreement = "joint_use_agreement"
    operating_rules = "operating_rules"
    data_handling_rules = "data_handling_rules"
    personal_data_terms = "personal_data_terms"


DOCUMENT_LABELS = {
    AgreementDocument.joint_use_agreement: ("共同利用協定", "Joint-use agreement"),
    AgreementDocument.operating_rules: ("運用規約", "Operating rules"),
    AgreementDocument.data_handling_rules: ("データ取扱規程", "Data-handling rules"),
    AgreementDocument.personal_data_terms: ("個人情報の取扱いに関する特記事項", "Special terms for personal data"),
}


class VersionStatus(str, enum.Enum):
    draft = "draft"
    published = "published"


class AgreementVersion(SQLModel, table=True):
    """One version of one document. The text never changes after creation (``content_hash``)."""

    __tablename__ = "agreement_version"
    __table_args__ = (sa.UniqueConstraint("document", "number"),)

    id: int | None = Field(default=None, primary_key=True)
    document: AgreementDocument = Field(sa_column=_enum_column(AgreementDocument, index=True))
    number: int = Field(description="1, 2, 3… per document")
    title: str = Field(max_length=200)
    body_md: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    effective_on: dt.date = Field(sa_column=sa.Column(sa.Date, nullable=False))
    required: bool = Field(default=True, description="Tenants must accept it (activation and re-acceptance)")
    content_hash: str = Field(max_length=64)
    status: VersionStatus = Field(default=VersionStatus.draft, sa_column=_enum_column(VersionStatus))
    created_at: dt.datetime = Field(default_factory=utcnow, sa_column=_timestamp())
    created_by: str = Field(default="", max_length=255)
    published_at: dt.datetime | None = Field(default=None, sa_column=_timestamp(nullable=True))
    published_by: str = Field(default="", max_length=255)
    reacceptance_days: int | None = Field(default=None)
    deadline_on: dt.date | None = Field(default=None, sa_column=sa.Column(sa.Date, nullable=True))
    resolution_id: int | None = Field(default=None, foreign_key="council_resolution.id")


class AgreementAcceptance(SQLModel, table=True):
    """A tenant accepted one version: who (a municipal admin of that tenant), when, which text."""

    __tablename__ = "agreement_acceptance"
    __table_args__ = (sa.UniqueConstraint("tenant_code", "version_id"),)

    id: int | None = Field(default=None, primary_key=True)
    tenant_code: str = Field(max_length=6, index=True)
    version_id: int = Field(foreign_key="agreement_version.id", index=True)
    document: AgreementDocument = Field(sa_column=_enum_column(AgreementDocument))
    version_number: int
    content_hash: str = Field(max_length=64)
    accepted_at: dt.datetime = Field(default_factory=utcnow, sa_column=_timestamp())
    actor_issuer: str = Field(max_length=255)
    actor_subject: str = Field(max_length=255)
    actor_name: str = Field(default="", max_length=255)


# --- council --------------------------------------------------------------------------------------

class ChangeType(str, enum.Enum):
    adopt_allocation_policy = "adopt_allocation_policy"
    admit_municipality = "admit_municipality"
    change_quota_plan = "change_quota_plan"
    publish_agreement_version = "publish_agreement_version"
    free_text = "free_text"


CHANGE_LABELS = {
    ChangeType.adopt_allocation_policy: ("負担割合方式の採用", "Adopt an allocation policy"),
    ChangeType.admit_municipality: ("市町村の参加承認", "Admit a municipality"),
    ChangeType.change_quota_plan: ("利用上限プランの変更", "Change a quota plan"),
    ChangeType.publish_agreement_version: ("協定・規約の改定", "Publish an agreement version"),
    ChangeType.free_text: ("その他の議案", "Other matter"),
}


class ProposalStatus(str, enum.Enum):
    open = "open"
    adopted = "adopted"
    rejected = "rejected"
    withdrawn = "withdrawn"


PROPOSAL_STATUS_LABELS = {
    ProposalStatus.open: ("投票受付中", "Voting open"),
    ProposalStatus.adopted: ("可決", "Adopted"),
    ProposalStatus.rejected: ("否決", "Rejected"),
    ProposalStatus.withdrawn: ("取下げ", "Withdrawn"),
}


class VoteChoice(str, enum.Enum):
    for_ = "for"
    against = "against"
    abstain = "abstain"


VOTE_LABELS = {VoteChoice.for_: ("賛成", "For"), VoteChoice.against: ("反対", "Against"),
               VoteChoice.abstain: ("棄権", "Abstain")}


class CouncilProposal(SQLModel, table=True):
    """A matter put to the council's vote, with its typed change (or free text) and voting window.

    ``electorate`` (JSON list of tenant codes) is fixed when the proposal is made, so quorum and
    threshold do not move while members vote.
    """

    __tablename__ = "council_proposal"

    id: int | None = Field(default=None, primary_key=True)
    title: str = Field(max_length=200)
    description: str = Field(default="", sa_column=sa.Column(sa.Text, nullable=False, server_default=""))
    change_type: ChangeType = Field(sa_column=_enum_column(ChangeType))
    change_params: str = Field(default="{}", sa_column=sa.Column(sa.Text, nullable=False, server_default="{}"))
    quorum_rule: str = Field(max_length=32)
    threshold_rule: str = Field(max_length=32)
    opens_at: dt.datetime = Field(sa_column=_timestamp())
    closes_at: dt.datetime = Field(sa_column=_timestamp())
    electorate: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    status: ProposalStatus = Field(default=ProposalStatus.open, sa_column=_enum_column(ProposalStatus, index=True))
    created_at: dt.datetime = Field(default_factory=utcnow, sa_column=_timestamp())
    created_by: str = Field(default="", max_length=255)
    closed_at: dt.datetime | None = Field(default=None, sa_column=_timestamp(nullable=True))
    withdrawn_reason: str = Field(default="", sa_column=sa.Column(sa.Text, nullable=False, server_default=""))


class CouncilVote(SQLModel, table=True):
    """One member's vote on one proposal, cast by a person of that member (tenant)."""

    __tablename__ = "council_vote"
    __table_args__ = (sa.UniqueConstraint("proposal_id", "tenant_code"),)

    id: int | None = Field(default=None, primary_key=True)
    proposal_id: int = Field(foreign_key="council_proposal.id", index=True)
    tenant_code: str = Field(max_length=6)
    choice: VoteChoice = Field(sa_column=_enum_column(VoteChoice))
    cast_at: dt.datetime = Field(default_factory=utcnow, sa_column=_timestamp())
    actor_issuer: str = Field(max_length=255)
    actor_subject: str = Field(max_length=255)
    actor_name: str = Field(default="", max_length=255)


class CouncilResolution(SQLModel, table=True):
    """The outcome of a closed vote (議決), numbered per fiscal year; adopted or rejected.

    ``enacted_ref`` is what the owning package's operation returned when it enacted the change;
    the enacted change itself refers back to :attr:`ref`.
    """

    __tablename__ = "council_resolution"
    __table_args__ = (sa.UniqueConstraint("fiscal_year", "number"),)

    id: int | None = Field(default=None, primary_key=True)
    proposal_id: int = Field(foreign_key="council_proposal.id", unique=True)
    fiscal_year: int
    number: int
    adopted: bool
    reason: str = Field(max_length=32)  # adopted, quorum_not_met, threshold_not_met
    members: int
    votes_for: int
    votes_against: int
    votes_abstain: int
    quorum_rule: str = Field(max_length=32)
    threshold_rule: str = Field(max_length=32)
    decided_at: dt.datetime = Field(default_factory=utcnow, sa_column=_timestamp())
    decided_by: str = Field(default="", max_length=255)
    enacted_at: dt.datetime | None = Field(default=None, sa_column=_timestamp(nullable=True))
    enacted_ref: str = Field(default="", max_length=255)

    @property
    def ref(self) -> str:
        """The stable reference an enacted change stores (e.g. ``council-resolution:12``)."""
        return f"council-resolution:{self.id}"

    @property
    def label_ja(self) -> str:
        era = self.fiscal_year - 2018
        return f"令和{'元' if era == 1 else era}年度 協議会議決第{self.number}号"

    @property
    def label_en(self) -> str:
        return f"Council resolution FY{self.fiscal_year} No. {self.number}"
