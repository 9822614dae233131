"""Tables of the governance package: agreements and the council (the audit log's tables are in core.audit).

* Agreements: :class:`AgreementVersion` (one version of one governance document, immutable
  text with a content hash) and :class:`AgreementAcceptance` (a tenant's acceptance of one).
* Council: :class:`CouncilProposal`, :class:`CouncilVote` (one per member, enforced by a
  unique constraint), :class:`CouncilResolution` (the outcome of a closed vote).
* Notices: :class:`Notice` (a message of the operator to all or some municipalities) and
  :class:`NoticeTenant` (one row per addressed tenant, fixed when it is published).
"""


import datetime as dt

import sqlalchemy as sa

from sqlmodel import Field, SQLModel

import core.db  # noqa: F401  (naming convention before any table)
from core.calendar import fiscal_year_en, fiscal_year_ja
from core.db import pg_guard_installer, utcnow
from core.db import enum_column as _enum_column, timestamp_column as _timestamp
from core.labelled import LabelledEnum


# --- agreements -----------------------------------------------------------------------------------

class AgreementDocument(LabelledEnum):
    """The governance documents every tenant accepts (one versioned text each)."""

    joint_use_agreement = "joint_use_agreement", "共同利用協定", "Joint-use agreement"
    operating_rules = "operating_rules", "運用規約", "Operating rules"
    data_handling_rules = "data_handling_rules", "データ取扱規程", "Data-handling rules"
    personal_data_terms = "personal_data_terms", "個人情報の取扱いに関する特記事項", "Special terms for personal data"


class VersionStatus(LabelledEnum):
    draft = "draft", "下書き", "Draft"
    published = "published", "公開済み", "Published"


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
    status: VersionStatus = Field(default=VersionStatus.draft, sa_column=_enum_column(VersionStatus, checked=True))
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

class ChangeType(LabelledEnum):
    adopt_allocation_policy = "adopt_allocation_policy", "負担割合方式の採用", "Adopt an allocation policy"
    adopt_budget = "adopt_budget", "予算の議決", "Adopt a budget"
    reopen_fiscal_year = "reopen_fiscal_year", "締めた年度の再開", "Reopen a closed fiscal year"
    admit_municipality = "admit_municipality", "市町村の参加承認", "Admit a municipality"
    change_quota_plan = "change_quota_plan", "利用上限プランの変更", "Change a quota plan"
    publish_agreement_version = "publish_agreement_version", "協定・規約の改定", "Publish an agreement version"
    free_text = "free_text", "その他の議案", "Other matter"


class ProposalStatus(LabelledEnum):
    open = "open", "投票受付中", "Voting open"
    adopted = "adopted", "可決", "Adopted"
    rejected = "rejected", "否決", "Rejected"
    withdrawn = "withdrawn", "取下げ", "Withdrawn"


class VoteChoice(LabelledEnum):
    for_ = "for", "賛成", "For"
    against = "against", "反対", "Against"
    abstain = "abstain", "棄権", "Abstain"


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
    status: ProposalStatus = Field(default=ProposalStatus.open, sa_column=_enum_column(ProposalStatus, index=True, checked=True))
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
        return f"{fiscal_year_ja(self.fiscal_year)} 協議会議決第{self.number}号"

    @property
    def label_en(self) -> str:
        return f"Council resolution {fiscal_year_en(self.fiscal_year)} No. {self.number}"


# A resolution is the council's record: never deleted, never edited. The only change it takes is
# its enactment being noted once (enacted_at, enacted_ref). PostgreSQL; ``{s}`` is the quoted schema.
_PG_RESOLUTION_GUARD = [
    """CREATE OR REPLACE FUNCTION {s}.council_guard_resolution() RETURNS trigger LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp AS $guard$
BEGIN
    IF TG_OP = 'UPDATE' AND OLD.enacted_at IS NULL
       AND (to_jsonb(NEW) - 'enacted_at' - 'enacted_ref') = (to_jsonb(OLD) - 'enacted_at' - 'enacted_ref') THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION USING ERRCODE = 'restrict_violation',
        MESSAGE = 'council resolution ' || OLD.id || ' is a record of the council: ' || TG_OP || ' refused';
END
$guard$""",
    "DROP TRIGGER IF EXISTS council_resolution_fixed ON {s}.council_resolution",
    "CREATE TRIGGER council_resolution_fixed BEFORE UPDATE OR DELETE ON {s}.council_resolution "
    "FOR EACH ROW EXECUTE FUNCTION {s}.council_guard_resolution()",
]


def resolution_guards_pg(schema: str) -> list[str]:
    """The PostgreSQL guard of council resolutions in ``schema`` (quoted); create_all and migration 0006."""
    return [statement.replace("{s}", schema) for statement in _PG_RESOLUTION_GUARD]


# The same rule on SQLite: every column but the enactment's is compared by name (SQLite has no
# to_jsonb), so a column added to CouncilResolution must be added here (a test checks it) and
# the trigger recreated by that change's migration. Installed by create_all and migration 0013.
RESOLUTION_ENACTMENT_COLUMNS = ("enacted_at", "enacted_ref")
RESOLUTION_FIXED_COLUMNS = ("id", "proposal_id", "fiscal_year", "number", "adopted", "reason", "members",
                            "votes_for", "votes_against", "votes_abstain", "quorum_rule", "threshold_rule",
                            "decided_at", "decided_by")
_SQLITE_RESOLUTION_GUARD = {
    "council_resolution_fixed": (
        "CREATE TRIGGER council_resolution_fixed BEFORE UPDATE ON council_resolution\n"
        "WHEN OLD.enacted_at IS NOT NULL OR "
        + " OR ".join(f"NEW.{column} IS NOT OLD.{column}" for column in RESOLUTION_FIXED_COLUMNS)
        + "\nBEGIN SELECT RAISE(ABORT, 'a council resolution is a record of the council: UPDATE refused "
          "(only its enactment is noted, once)'); END"),
    "council_resolution_undeletable": (
        "CREATE TRIGGER council_resolution_undeletable BEFORE DELETE ON council_resolution\n"
        "BEGIN SELECT RAISE(ABORT, 'a council resolution is a record of the council: DELETE refused'); END"),
}


def resolution_guards_sqlite() -> dict[str, str]:
    """The SQLite guard of council resolutions: trigger name -> CREATE statement; create_all and migration 0013."""
    return dict(_SQLITE_RESOLUTION_GUARD)


sa.event.listen(CouncilResolution.__table__, "after_create", pg_guard_installer(resolution_guards_pg))
for _statement in resolution_guards_sqlite().values():
    sa.event.listen(CouncilResolution.__table__, "after_create", sa.DDL(_statement).execute_if(dialect="sqlite"))

# --- notices --------------------------------------------------------------------------------------

class NoticeAudience(LabelledEnum):
    all_active = "all_active", "利用中のすべての市町村", "Every active municipality"  # every one when it was published
    chosen = "chosen", "選んだ市町村", "Chosen municipalities"  # the municipalities the operator ticked


class Notice(SQLModel, table=True):
    """A notice (お知らせ) of the operator: shown on each addressed municipality's home page and
    sent to its contacts by e-mail. The text never changes once published."""

    __tablename__ = "notice"

    id: int | None = Field(default=None, primary_key=True)
    title: str = Field(max_length=200)
    body: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    audience: NoticeAudience = Field(sa_column=_enum_column(NoticeAudience))
    show_until: dt.date | None = Field(default=None, sa_column=sa.Column(sa.Date, nullable=True))
    published_at: dt.datetime = Field(default_factory=utcnow, sa_column=_timestamp(index=True))
    published_by: str = Field(default="", max_length=255)
    # also addressed to every approved member organisation (企業・大学・団体) when it was published
    to_members: bool = Field(default=False, sa_column=sa.Column(sa.Boolean, nullable=False, server_default=sa.false()))


class NoticeTenant(SQLModel, table=True):
    """One tenant a notice is addressed to."""

    __tablename__ = "notice_tenant"
    __table_args__ = (sa.UniqueConstraint("notice_id", "tenant_code"),)

    id: int | None = Field(default=None, primary_key=True)
    notice_id: int = Field(foreign_key="notice.id", index=True)
    tenant_code: str = Field(max_length=6, index=True)


class NoticeMember(SQLModel, table=True):
    """One member organisation a notice is addressed to (by corporate number)."""

    __tablename__ = "notice_member"
    __table_args__ = (sa.UniqueConstraint("notice_id", "corporate_number"),)

    id: int | None = Field(default=None, primary_key=True)
    notice_id: int = Field(foreign_key="notice.id", index=True)
    corporate_number: str = Field(max_length=13, index=True)
