"""The competition's tables and the seed's default template (seed 000: 令和７年度 データ活用事例創出事業
委託業務にかかる公募型企画コンペ).

A call (:class:`Call`, 公募) is one per fiscal year. Its schedule is a list of dated milestones
(:class:`Milestone`; the seed's thirteen steps are :data:`DEFAULT_SCHEDULE`), its scoring table a list of
criteria (:class:`Criterion`: a pass/fail gate or a maximum score; the seed's 200-point table is
:data:`DEFAULT_CRITERIA`). Each milestone names the documents it requires (:class:`DocumentKind`).
Uploaded files are kept in the database with the record they belong to (:class:`Document`).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
from typing import Optional

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from core.db import enum_column, timestamp_column, utcnow
from core.labelled import LabelledEnum

DEFAULT_CAP_YEN = 5_000_000  # 委託限度額 5,000千円（消費税及び地方消費税を含む）／件
DEFAULT_COMMISSION_COUNT = 3  # 委託予定件数 3件
DEFAULT_PAGE_LIMIT = 10  # 表紙・目次、積算書を除き、10ページ以内
MAX_UPLOAD_BYTES = 10 * 1024 * 1024


class CallStatus(LabelledEnum):
    """Where a call stands (:data:`CALLS` in competition/stages.py moves it)."""

    draft = "draft", "準備中", "Draft"  # being prepared, not public
    open = "open", "公募中", "Open"  # published: questions, declarations and proposals by their deadlines
    first_review = "first_review", "一次審査中", "First review"  # 一次審査（書面）: proposals closed, reviewers score
    hearing = "hearing", "二次審査（ヒアリング）中", "Second review (hearing)"  # 二次審査（ヒアリング）: the groups the first stage passed on
    # the final selection recorded: contracts with the selected groups
    contracts = "contracts", "選定済み・契約", "Selected; contracts"
    # ended without a selection (nothing to review), with its reason; the operator may reopen it
    closed = "closed", "終了（選定なし）", "Closed without selection"


class Stage(LabelledEnum):
    """The review's two stages."""

    first = "first", "一次審査（書面）", "First review (documents)"
    second = "second", "二次審査（ヒアリング）", "Second review (presentations)"


class CriterionKind(str, enum.Enum):
    gate = "gate"  # 可・否
    score = "score"  # 0 .. max_score


class DocumentKind(LabelledEnum):
    participation_form = "participation_form", "参加表明書（別紙様式２）", "Declaration of participation (form 2)"
    company_profile = "company_profile", "会社概要（別紙様式３）", "Company profile (form 3)"
    pledge = "pledge", "誓約書（別紙様式４）", "Pledge (form 4)"
    # 事業者の取組に関する申出書（別紙様式５）、該当がある場合のみ
    initiatives = "initiatives", "事業者の取組に関する申出書（別紙様式５・該当する場合のみ）", "Statement of the company's initiatives (form 5, only if any)"
    proposal = "proposal", "企画提案書（PDF）", "Proposal (PDF)"  # 企画提案書 (PDF)


# the declaration's documents: the first three required, the fourth only when the representative has initiatives
DECLARATION_REQUIRED = (DocumentKind.participation_form, DocumentKind.company_profile, DocumentKind.pledge)
DECLARATION_OPTIONAL = (DocumentKind.initiatives,)


@dataclasses.dataclass(frozen=True)
class Step:
    key: str
    label_ja: str
    label_en: str
    month: int
    day: int
    hour: int | None = None  # a deadline at this hour (正午 = 12), else the whole day
    end_day_offset: int = 0  # a step over several days
    note: str = ""
    documents: tuple[str, ...] = ()


# Seed 000's schedule (令和７年度): month and day in the call's fiscal year (公募開始 is in the March before it).
DEFAULT_SCHEDULE: tuple[Step, ...] = (
    Step("call_opens", "公募開始", "Call opens", 3, 24),
    Step("briefing_application", "事業説明会申込期限", "Briefing applications close", 3, 27, hour=12),
    Step("briefing", "事業説明会", "Briefing", 3, 28, hour=14, note="午後2時～3時"),
    Step("consultation_application", "個別相談会申込期限", "Individual consultation applications close", 4, 3, hour=12),
    Step("consultation", "個別相談会", "Individual consultations", 4, 7, end_day_offset=1),
    Step("question_deadline", "質問書の提出期限", "Questions close", 4, 11, hour=12),
    Step("answer_deadline", "質問書の回答期限", "Answers published by", 4, 18),
    Step("declaration_deadline", "参加表明書提出期限", "Declarations of participation close", 4, 25, hour=12,
         documents=tuple(k.value for k in DECLARATION_REQUIRED + DECLARATION_OPTIONAL)),
    Step("proposal_deadline", "企画提案書提出期限", "Proposals close", 5, 14, hour=12,
         documents=(DocumentKind.proposal.value, "estimate")),
    Step("first_review", "一次審査（書面）", "First review (documents)", 5, 21, note="応募多数の場合"),
    Step("first_review_notice", "一次審査結果通知", "First review results notified", 5, 22),
    Step("second_review", "二次審査（ヒアリング）", "Second review (presentations)", 5, 28),
    Step("selection_notice", "選定結果通知", "Selection notified", 6, 4, note="審査後1週間以内を予定"),
)
DEADLINE_STEPS = {"question": "question_deadline", "declaration": "declaration_deadline", "proposal": "proposal_deadline"}


@dataclasses.dataclass(frozen=True)
class CriterionTemplate:
    title: str
    kind: CriterionKind
    max_score: int
    description: str


# Seed 000's 評価項目 (total 200)
DEFAULT_CRITERIA: tuple[CriterionTemplate, ...] = (
    CriterionTemplate("課題要件への適合性", CriterionKind.gate, 0, "事業内容が課題要件に合致するものか"),
    CriterionTemplate("デジタルの取組みとしての有用性", CriterionKind.score, 100,
                      "(1)課題解決策の有効性：課題の設定や着眼点に優れ、解決に十分に有効である実施策が設計されているか。"
                      "実施策には創意工夫や新規性があるか。課題を有する主体が継続的に利益を享受できるものであるか。\n"
                      "(2)共創レベル：産学官など、他業種との共創があるか。サービスなどが分野横断的に活用されているか。\n"
                      "(3)取組の実装可能性・横展開の可能性：本事業終了後、サービスの実装可能性があるか。"
                      "他地域や他事業者への横展開が容易・有益であるか。"),
    CriterionTemplate("データ活用事例としての有用性", CriterionKind.score, 70,
                      "(1)データ活用レベル：課題解決に有用なデータが使われているか。複数データの組合せにより課題解決に"
                      "取り組むものであるか。多数のデータ保有主体を巻き込んだ取組みであるか。\n"
                      "(2)データ連携基盤の活用：データ連携基盤が課題解決に有用な方法で活用されているか。"
                      "データ連携基盤との連携は、より機能的な方法（API など自動的・機械的、NGSI など共通データ形式）を"
                      "予定しているものか。"),
    CriterionTemplate("実施体制", CriterionKind.score, 15,
                      "提案内容を実現するための体制が整えられており、関係者間の役割分担が明確であるか。"
                      "実施スケジュールが現実的であるか。"),
    CriterionTemplate("見積", CriterionKind.score, 15, "積算内容は適正であり費用対効果が高いか。"),
)

DEFAULT_THEMES = ("教育・子育て、こどもまんなか政策", "交通対策", "環境対策", "外国人材との共生", "住民利便性の向上",
                  "産業の振興", "農林水産業の振興", "観光業の振興", "ヘルスケアの推進", "災害対策")
DEFAULT_ELIGIBLE = ("業務の実施に必要となるソフトウェアライセンス、機器導入費、API接続に係る改修費、人件費、旅費、資料作成費、"
                    "知的財産権の利用に係る経費等、一切の経費を含む。例：クラウドサービスの月額費用（委託期間外の費用は対象外）、"
                    "当事業で収集したデータを基盤に接続する作業費")
DEFAULT_INELIGIBLE = "本委託契約の締結前に発注、契約、申し込み等をした費用。その他、事業目的にそぐわないと判断されるもの。"


class Call(SQLModel, table=True):
    """A call for proposals (公募), one per fiscal year."""

    __tablename__ = "competition_call"

    id: int | None = Field(default=None, primary_key=True)
    fiscal_year: int = Field(sa_column_kwargs={"unique": True})
    title: str = Field(max_length=200)
    themes: str = Field(default="", sa_column=sa.Column(sa.Text, nullable=False, server_default=""))  # one per line
    cap_yen: int = Field(default=DEFAULT_CAP_YEN)  # tax included, per project
    commission_count: int = Field(default=DEFAULT_COMMISSION_COUNT)
    page_limit: int = Field(default=DEFAULT_PAGE_LIMIT)
    eligible_costs: str = Field(default="", sa_column=sa.Column(sa.Text, nullable=False, server_default=""))
    ineligible_costs: str = Field(default="", sa_column=sa.Column(sa.Text, nullable=False, server_default=""))
    published_at: Optional[dt.datetime] = Field(default=None, sa_column=timestamp_column(nullable=True))
    created_at: dt.datetime = Field(default_factory=utcnow, sa_column=timestamp_column(nullable=False))
    status: CallStatus = Field(default=CallStatus.draft,
                               sa_column=enum_column(CallStatus, length=16, checked=True, server_default="draft"))
    closed_reason: str = Field(default="", max_length=500, sa_column_kwargs={"server_default": ""})


class Milestone(SQLModel, table=True):
    __tablename__ = "competition_milestone"
    __table_args__ = (sa.UniqueConstraint("call_id", "key"),)

    id: int | None = Field(default=None, primary_key=True)
    call_id: int = Field(foreign_key="competition_call.id", index=True)
    position: int
    key: str = Field(max_length=40)
    label_ja: str = Field(max_length=100)
    label_en: str = Field(max_length=100)
    at: dt.datetime = Field(sa_column=timestamp_column(nullable=False))  # a deadline's moment, or the day's start
    timed: bool = Field(default=False)  # at a stated time (a deadline at noon), else the whole day
    ends_on: Optional[dt.date] = Field(default=None, sa_column=sa.Column(sa.Date, nullable=True))
    note: str = Field(default="", max_length=200)
    documents: str = Field(default="", max_length=200)  # the kinds it requires, comma-separated


class Criterion(SQLModel, table=True):
    __tablename__ = "competition_criterion"

    id: int | None = Field(default=None, primary_key=True)
    call_id: int = Field(foreign_key="competition_call.id", index=True)
    position: int
    title: str = Field(max_length=100)
    kind: CriterionKind = Field(sa_column=enum_column(CriterionKind, length=8))
    max_score: int = Field(default=0)  # 0 for a gate
    description: str = Field(default="", sa_column=sa.Column(sa.Text, nullable=False, server_default=""))


class Question(SQLModel, table=True):
    """A member's question (質問書); its answer is published with all the others at once, without who asked."""

    __tablename__ = "competition_question"

    id: int | None = Field(default=None, primary_key=True)
    call_id: int = Field(foreign_key="competition_call.id", index=True)
    question: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    asked_by: str = Field(max_length=255)  # the person's identity (never published)
    asked_for: str = Field(default="", max_length=13)  # the organisation's or tenant's code (never published)
    asked_at: dt.datetime = Field(default_factory=utcnow, sa_column=timestamp_column(nullable=False))
    answer: str = Field(default="", sa_column=sa.Column(sa.Text, nullable=False, server_default=""))
    answered_by: str = Field(default="", max_length=255)
    answered_at: Optional[dt.datetime] = Field(default=None, sa_column=timestamp_column(nullable=True))
    published_at: Optional[dt.datetime] = Field(default=None, sa_column=timestamp_column(nullable=True))


class Declaration(SQLModel, table=True):
    """A project group's declaration of participation (参加表明) in a call."""

    __tablename__ = "competition_declaration"
    __table_args__ = (sa.UniqueConstraint("call_id", "group_id"),)

    id: int | None = Field(default=None, primary_key=True)
    call_id: int = Field(foreign_key="competition_call.id", index=True)
    group_id: int = Field(foreign_key="member_project_group.id", index=True)
    group_name: str = Field(max_length=200)  # as it was at declaration
    representative: str = Field(max_length=13)
    members: str = Field(max_length=2000)  # corporate numbers at declaration, comma-separated
    declared_by: str = Field(max_length=255)
    declared_at: dt.datetime = Field(default_factory=utcnow, sa_column=timestamp_column(nullable=False))
    # withdrawn by the group before the declaration deadline (competition/versions.py): kept, never reviewed
    withdrawn_at: Optional[dt.datetime] = Field(default=None, sa_column=timestamp_column(nullable=True))
    withdrawn_by: str = Field(default="", max_length=255, sa_column_kwargs={"server_default": ""})


class Document(SQLModel, table=True):
    """An uploaded file, kept with the declaration it belongs to."""

    __tablename__ = "competition_document"

    id: int | None = Field(default=None, primary_key=True)
    declaration_id: int = Field(foreign_key="competition_declaration.id", index=True)
    kind: DocumentKind = Field(sa_column=enum_column(DocumentKind, length=24))
    filename: str = Field(max_length=255)
    content_type: str = Field(max_length=100)
    size: int
    sha256: str = Field(max_length=64)
    content: bytes = Field(sa_column=sa.Column(sa.LargeBinary, nullable=False))
    uploaded_by: str = Field(max_length=255)
    uploaded_at: dt.datetime = Field(default_factory=utcnow, sa_column=timestamp_column(nullable=False))
    # a declaration's document replaced by an amendment (competition/versions.py): kept, no longer current
    replaced_at: Optional[dt.datetime] = Field(default=None, sa_column=timestamp_column(nullable=True))


class Proposal(SQLModel, table=True):
    """A declared group's proposal (企画提案書, a PDF within the page limit) and its estimate (積算書), one row per
    version: a resubmission adds a version and marks the one before replaced, a withdrawal marks it withdrawn
    (competition/versions.py); the current version (:data:`CURRENT_PROPOSAL`) is the one neither replaced nor
    withdrawn, and only it is reviewed."""

    __tablename__ = "competition_proposal"
    __table_args__ = (sa.UniqueConstraint("declaration_id", "version", name="uq_competition_proposal_version"),)

    id: int | None = Field(default=None, primary_key=True)
    declaration_id: int = Field(foreign_key="competition_declaration.id", index=True)
    version: int = Field(default=1, sa_column_kwargs={"server_default": "1"})
    replaced_at: Optional[dt.datetime] = Field(default=None, sa_column=timestamp_column(nullable=True))
    withdrawn_at: Optional[dt.datetime] = Field(default=None, sa_column=timestamp_column(nullable=True))
    withdrawn_by: str = Field(default="", max_length=255, sa_column_kwargs={"server_default": ""})
    document_id: int = Field(foreign_key="competition_document.id")
    pages: int
    estimate_total_yen: int
    submitted_by: str = Field(max_length=255)
    submitted_at: dt.datetime = Field(default_factory=utcnow, sa_column=timestamp_column(nullable=False))


class EstimateLine(SQLModel, table=True):
    __tablename__ = "competition_estimate_line"

    id: int | None = Field(default=None, primary_key=True)
    proposal_id: int = Field(foreign_key="competition_proposal.id", index=True)
    position: int
    item: str = Field(max_length=200)
    amount_yen: int


class Selection(SQLModel, table=True):
    """A group's place in a stage's selection (chosen or not), with its numbered notice letter."""

    __tablename__ = "competition_selection"
    __table_args__ = (sa.UniqueConstraint("call_id", "stage", "declaration_id"), sa.UniqueConstraint("number_year", "sequence"),
                      {"info": {"letter_numbers": True}})

    id: int | None = Field(default=None, primary_key=True)
    call_id: int = Field(foreign_key="competition_call.id", index=True)
    stage: Stage = Field(sa_column=enum_column(Stage, length=8))
    declaration_id: int = Field(foreign_key="competition_declaration.id")
    selected: bool
    rank: int
    number_year: int
    sequence: int
    number: str = Field(max_length=64)
    issued_on: dt.date = Field(sa_column=sa.Column(sa.Date, nullable=False))
    recorded_by: str = Field(max_length=255)
    recorded_at: dt.datetime = Field(default_factory=utcnow, sa_column=timestamp_column(nullable=False))


# --- versions (issue 59 item 2, competition/versions.py): which rows are current, and scores' earlier values --------

CURRENT_PROPOSAL = sa.and_(Proposal.replaced_at.is_(None), Proposal.withdrawn_at.is_(None))
ACTIVE_DECLARATION = Declaration.withdrawn_at.is_(None)
CURRENT_DOCUMENT = Document.replaced_at.is_(None)


class ScoreRevision(SQLModel, table=True):
    """A score's earlier value, kept when its reviewer corrects it while the stage is open (competition/review.py
    :func:`correct_score`): the value it had, when it was given, and when and by whom it was replaced."""

    __tablename__ = "competition_score_revision"

    id: int | None = Field(default=None, primary_key=True)
    score_id: int = Field(foreign_key="competition_score.id", index=True)
    passed: Optional[bool] = Field(default=None)
    points: int = Field(default=0)
    comment: str = Field(default="", max_length=2000)
    scored_at: dt.datetime = Field(sa_column=timestamp_column(nullable=False))
    replaced_by: str = Field(max_length=255)
    replaced_at: dt.datetime = Field(default_factory=utcnow, sa_column=timestamp_column(nullable=False))
