"""Submitted and approved (提出・検査・承認, issue 57 item 2): the one workflow of every document a contractor owes
the prefecture.

Rules:

* A **submission** is one owed document: its kind (:class:`SubmissionKind`: minutes, the monthly progress report,
  the service's monthly report, an incident report, the project plan, a contract deliverable), what it refers to
  (``refers_to``: ``meeting:12``, a month ``2027-01``, ``incident:5``, or the prefecture's own words), the
  contractor that owes it (:class:`governance.subcontracts.Contractor`) and its due date. There is one submission
  per kind and thing (a unique pair): owing it twice is the same submission.
* **Due dates** count business days of :mod:`core.calendar` (weekends, holidays, 年末年始 12/29–1/3 and the office's
  own closed days, :func:`tenancy.registry.prefecture.office_closed_days`): minutes are due
  :data:`MINUTES_DUE_BUSINESS_DAYS` business days after the meeting (:func:`minutes_due`), a monthly report
  :data:`MONTHLY_DUE_BUSINESS_DAYS` business days after its month's last day (:func:`monthly_due`); the
  prefecture gives the due date of the others when it opens them.
* Its lifecycle (:data:`SUBMISSIONS`): 未提出 → 検査待ち (a version submitted) → 承認 or 差戻し (the prefecture's
  inspection, 検査; returning takes a reason) and 差戻し → 検査待ち again with a new version. A version submitted
  while one awaits inspection replaces it in the queue (the earlier one stays in the history, uninspected).
* A **version** keeps the content as submitted (text, or a file and its name), its SHA-256 (of the file's bytes,
  else of the text in UTF-8), who submitted it and when, whether it was on time (submitted on or before the due
  date, Japan time), and its inspection (approved / returned, the reason, by whom, when).
* **Four eyes**: the person who submitted the version under inspection never inspects it.
* **Approved is frozen**: no version is submitted after approval, and the approved version's number and SHA-256
  are kept on the submission and recorded in the audit chain (``submission.approve``'s ``after.sha256``).
* **Who**: each kind names the grant that submits it and the grant that inspects it (:data:`GRANTS`). Minutes are
  written by the consortium's desk (``meeting.manage``) and approved by the prefecture (``meeting.approve``), as
  :mod:`governance.meetings` always said: meetings call this module, which holds the rule. The other kinds are
  submitted by their contractor (``submission.submit``; a contractor sees and submits its own only) and inspected
  by the prefecture (``submission.inspect``); the prefecture opens them (``submission.open``).
* **A kind kept on a record of its own** (the minutes on their meeting) registers an :class:`Owner`
  (:data:`OWNERS`): its versions are submitted through its own operation (writing the minutes), and inspecting it
  here hands over to that operation, which moves its record and comes back to :func:`inspect` for the rule.
* **Overdue** (:func:`overdue`): a submission not approved whose due date has passed and that awaits its
  contractor (nothing submitted yet, or returned).

Every act is audited: ``submission.open``, ``submission.submit`` (with the version's SHA-256),
``submission.approve``, ``submission.return``.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
from collections.abc import Callable
from typing import Any, Optional

import sqlalchemy as sa
from sqlalchemy.orm import Session
from sqlmodel import Field, SQLModel

from core import audit, authz
from core.actor import Actor
from core.calendar import FIRST_FISCAL_YEAR, LAST_FISCAL_YEAR, add_business_days, add_months, fiscal_year_of, \
    jst_day, today_jst
from core.db import enum_column, timestamp_column, utcnow
from core.errors import Conflict, Invalid, NotFound, problem
from core.labelled import LabelledEnum, labels
from core.lifecycle import Lifecycle, Move, require_reason
from core.validation import text_field_problem
from governance.subcontracts import Contractor, contractors_of
from tenancy.registry.prefecture import office_closed_days

READ, READ_ALL = "submission.read", "submission.read_all"
OPEN, SUBMIT, INSPECT = "submission.open", "submission.submit", "submission.inspect"
MINUTES_DUE_BUSINESS_DAYS = 3  # 「打合せ実施の3営業日以内に甲に提出し承認を受ける」 (seed 003), 「3営業日以内に提出」 (seed 002)
# a monthly report: the fifth business day after its month. The seeds give no day for it (seed 001: 「月に１回…県に報告書を
# 提出すること」); five business days is the seeds' own measure for the first document of a contract (seed 003:
# 業務計画書「契約の日から5営業日以内」), and the office's choice here
MONTHLY_DUE_BUSINESS_DAYS = 5
# an incident's report (its final report to the prefecture): owed when the incident is closed, due the fifth
# business day after (no seed gives a day; the monthly reports' measure)
INCIDENT_REPORT_DUE_BUSINESS_DAYS = 5
TITLE_MAX, REFERS_MAX, TEXT_MAX, REASON_MAX = 200, 100, 200_000, 2000
FILE_MAX_BYTES = 20 * 1024 * 1024


class SubmissionKind(LabelledEnum):
    minutes = "minutes", "議事録", "Minutes"
    progress_report = "progress_report", "進捗・課題管理報告書（月次）", "Monthly progress report"
    service_report = "service_report", "運用月次報告書", "Service monthly report"
    incident_report = "incident_report", "障害報告書", "Incident report"
    project_plan = "project_plan", "プロジェクト計画書", "Project plan"
    deliverable = "deliverable", "成果品", "Contract deliverable"


K = SubmissionKind
GRANTS: dict[SubmissionKind, tuple[str, str]] = {
    kind: (SUBMIT, INSPECT) for kind in SubmissionKind} | {K.minutes: ("meeting.manage", "meeting.approve")}
"""Per kind: the grant that submits a version, the grant that inspects it."""

OWED_BY: dict[SubmissionKind, Contractor] = {
    K.minutes: Contractor.secretariat, K.progress_report: Contractor.secretariat,
    K.service_report: Contractor.vendor, K.incident_report: Contractor.vendor}
"""The contractor that owes a kind (the project plan and deliverables: whichever the prefecture names)."""

MONTHLY = frozenset({K.progress_report, K.service_report})


class SubmissionStatus(LabelledEnum):
    open = "open", "未提出", "Not submitted"
    submitted = "submitted", "検査待ち", "Awaiting inspection"
    returned = "returned", "差戻し", "Returned"
    approved = "approved", "承認済み（確定）", "Approved (final)"


S = SubmissionStatus
SUBMISSIONS = Lifecycle("提出書類", "submission", SubmissionStatus, labels(SubmissionStatus), (
    Move("submit", frozenset({S.open, S.submitted, S.returned}), S.submitted, "提出", "submit"),
    Move("approve", frozenset({S.submitted}), S.approved, "承認", "approve"),
    Move("return", frozenset({S.submitted}), S.returned, "差戻し", "return", reason_required=True),
), initial=(S.open,))
"""Owed, then submitted as a version, inspected: approved (final) or returned with a reason and submitted again."""


class Inspection(LabelledEnum):
    none = "", "未検査", "Not inspected"
    approved = "approved", "承認", "Approved"
    returned = "returned", "差戻し", "Returned"


class Submission(SQLModel, table=True):
    __tablename__ = "submission"
    __table_args__ = (sa.UniqueConstraint("kind", "refers_to"),)

    id: int | None = Field(default=None, primary_key=True)
    kind: SubmissionKind = Field(sa_column=enum_column(SubmissionKind, length=32, checked=True, index=True))
    refers_to: str = Field(max_length=REFERS_MAX)
    title: str = Field(max_length=TITLE_MAX)
    contractor: Contractor = Field(sa_column=enum_column(Contractor, length=16, checked=True, index=True))
    due_on: dt.date = Field(index=True)
    status: SubmissionStatus = Field(sa_column=enum_column(SubmissionStatus, length=16, checked=True, index=True))
    opened_at: dt.datetime = Field(default_factory=utcnow, sa_column=timestamp_column(nullable=False))
    opened_by: str = Field(default="", max_length=200)
    approved_version: Optional[int] = Field(default=None)
    approved_sha256: str = Field(default="", max_length=64)
    approved_at: Optional[dt.datetime] = Field(default=None, sa_column=timestamp_column(nullable=True))
    approved_by: str = Field(default="", max_length=200)


class SubmissionVersion(SQLModel, table=True):
    __tablename__ = "submission_version"
    __table_args__ = (sa.UniqueConstraint("submission_id", "number"),)

    id: int | None = Field(default=None, primary_key=True)
    submission_id: int = Field(foreign_key="submission.id", index=True)
    number: int
    text: str = Field(default="", sa_column=sa.Column(sa.Text, nullable=False, server_default=""))
    file: Optional[bytes] = Field(default=None, sa_column=sa.Column(sa.LargeBinary, nullable=True))
    filename: str = Field(default="", max_length=200)
    sha256: str = Field(max_length=64)
    submitted_at: dt.datetime = Field(default_factory=utcnow, sa_column=timestamp_column(nullable=False))
    submitted_by: str = Field(max_length=255)  # the submitter's subject: the four-eyes rule compares it
    submitted_by_name: str = Field(default="", max_length=200)
    on_time: bool = True
    inspection: Inspection = Field(default=Inspection.none,
                                   sa_column=enum_column(Inspection, length=16, checked=True, server_default="none"))
    reason: str = Field(default="", sa_column=sa.Column(sa.Text, nullable=False, server_default=""))
    inspected_at: Optional[dt.datetime] = Field(default=None, sa_column=timestamp_column(nullable=True))
    inspected_by: str = Field(default="", max_length=200)


class OwnSubmission(Conflict):
    """The person who submitted a version never inspects it."""


class SubmissionInvalid(Invalid):
    def __init__(self, problems: list[dict[str, str]]) -> None:
        super().__init__("The submission has problems; nothing was saved.", "提出内容に誤りがあります。保存していません。",
                         problems=problems)


# --- due dates ----------------------------------------------------------------------------------------------

OUTSIDE_CALENDAR = ("The due date falls outside the years renkei's calendar knows (1989–2099).",
                    "提出期限が renkei の暦（1989〜2099年）の範囲外です。")


def _business_days_after(session: Session, day: dt.date, count: int, field: str) -> dt.date:
    try:
        return add_business_days(day, count, office_closed_days(session))
    except ValueError:  # the holidays are known for 1989–2099 only
        raise SubmissionInvalid([problem(field, *OUTSIDE_CALENDAR)]) from None


def minutes_due(session: Session, held_on: dt.date, field: str = "held_at") -> dt.date:
    """Minutes are due the third business day after the meeting (the meeting's day never counts)."""
    return _business_days_after(session, held_on, MINUTES_DUE_BUSINESS_DAYS, field)


def monthly_due(session: Session, month: dt.date, field: str = "month") -> dt.date:
    """A monthly report is due the fifth business day after its month's last day."""
    last_day = add_months(month.replace(day=1), 1) - dt.timedelta(days=1)
    return _business_days_after(session, last_day, MONTHLY_DUE_BUSINESS_DAYS, field)


def owe_incident_report(session: Session, actor: Actor, incident_id: int, title: str, closed_on: dt.date) -> Submission:
    """The platform vendor owes the prefecture the report of a closed incident (:mod:`service.incidents.operations`
    calls it when closing), due :data:`INCIDENT_REPORT_DUE_BUSINESS_DAYS` business days after; closing it again
    (reopened, then closed) is the same submission, its due date following the last closing until approved."""
    return owe(session, actor, K.incident_report, f"incident:{incident_id}", f"障害報告書（{title}）",
               _business_days_after(session, closed_on, INCIDENT_REPORT_DUE_BUSINESS_DAYS, "closed_on"))


# --- who sees what ------------------------------------------------------------------------------------------

def _sees_all(actor: Actor) -> bool:
    return authz.allowed(actor, READ_ALL)


def _may_see(actor: Actor, row: Submission) -> bool:
    return _sees_all(actor) or row.contractor in contractors_of(actor) \
        or (row.kind is K.minutes and authz.allowed(actor, "meeting.read"))


def summary(row: Submission) -> dict[str, Any]:
    """What the audit record keeps of a submission."""
    return {"kind": row.kind.value, "refers_to": row.refers_to, "title": row.title, "contractor": row.contractor.value,
            "due_on": row.due_on.isoformat(), "status": row.status.value, "approved_version": row.approved_version,
            "approved_sha256": row.approved_sha256 or None}


# --- owing a document ---------------------------------------------------------------------------------------

def owe(session: Session, actor: Actor, kind: SubmissionKind, refers_to: str, title: str, due_on: dt.date,
        contractor: Contractor | None = None) -> Submission:
    """The submission of ``kind`` for ``refers_to``, opened if new (audited ``submission.open``); the caller's
    operation has authorised the actor (meetings owe their minutes; :func:`open_submission` for the prefecture).
    A submission not yet approved follows a changed due date or title (a meeting moved)."""
    contractor = contractor or OWED_BY[kind]
    row = session.scalar(sa.select(Submission).where(Submission.kind == kind, Submission.refers_to == refers_to))
    if row is not None:
        if row.status is not S.approved and (row.due_on, row.title) != (due_on, title[:TITLE_MAX]):
            before = summary(row)
            row.due_on, row.title = due_on, title[:TITLE_MAX]
            session.flush()
            audit.record(session, actor, "submission.open", "submission", str(row.id), before=before, after=summary(row))
        return row
    row = Submission(kind=kind, refers_to=refers_to, title=title[:TITLE_MAX], contractor=contractor, due_on=due_on,
                     status=S.open, opened_by=actor.recorded_name[:200])
    session.add(row)
    session.flush()
    audit.record(session, actor, "submission.open", "submission", str(row.id), after=summary(row))
    return row


def adopt(session: Session, actor: Actor, row: Submission, *, text: str, file: bytes | None, filename: str,
          submitted_by: str, submitted_by_name: str, submitted_at: dt.datetime, approved_by: str = "",
          approved_at: dt.datetime | None = None) -> SubmissionVersion:
    """A document written before this workflow (minutes of a meeting recorded earlier) taken in as its first version,
    by its writer and when it was written; approved already when it was (its hash then kept). Audited
    ``submission.adopt`` (the caller's operation has authorised the actor)."""
    version = SubmissionVersion(submission_id=row.id, number=1, text=text if file is None else "", file=file,
                                filename=filename if file is not None else "", sha256=sha256_of(text, file),
                                submitted_at=submitted_at, submitted_by=submitted_by[:255],
                                submitted_by_name=submitted_by_name[:200], on_time=jst_day(submitted_at) <= row.due_on)
    before = summary(row)
    row.status = S.submitted
    if approved_at is not None:
        version.inspection, version.inspected_at, version.inspected_by = Inspection.approved, approved_at, approved_by[:200]
        row.status, row.approved_version, row.approved_sha256 = S.approved, 1, version.sha256
        row.approved_at, row.approved_by = approved_at, approved_by[:200]
    session.add(version)
    session.flush()
    audit.record(session, actor, "submission.adopt", "submission", str(row.id), before=before,
                 after={**summary(row), "version": 1, "sha256": version.sha256})
    return version


def find(session: Session, kind: SubmissionKind, refers_to: str) -> Submission | None:
    return session.scalar(sa.select(Submission).where(Submission.kind == kind, Submission.refers_to == refers_to))


def _day(value: Any) -> dt.date | None:
    if isinstance(value, str):
        try:
            value = dt.date.fromisoformat(value.strip())
        except ValueError:
            return None
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime) \
            and FIRST_FISCAL_YEAR <= fiscal_year_of(value) <= LAST_FISCAL_YEAR:
        return value
    return None


def open_submission(session: Session, actor: Actor, *, kind: Any, title: Any, due_on: Any = None,
                    contractor: Any = None, refers_to: Any = None, month: Any = None) -> Submission:
    """The prefecture says a contractor owes a document: its kind, title, due date and contractor (a kind owed by
    one contractor names it itself); a monthly report names its month (YYYY-MM) and its due date is counted.
    Audited ``submission.open``."""
    authz.authorize(actor, OPEN)
    found: list[dict[str, str]] = []
    try:
        kind = SubmissionKind(kind)
    except ValueError:
        kind = None
        found.append(problem("kind", "Choose the kind of document.", "書類の種類を選んでください。"))
    title = (title or "").strip() if isinstance(title, str) else ""
    if wrong := text_field_problem("title", title, "title", "件名", TITLE_MAX, required=True):
        found.append(wrong)
    chosen: Contractor | None = None
    if kind is not None and kind in OWED_BY:
        chosen = OWED_BY[kind]
    else:
        try:
            chosen = Contractor(contractor)
        except ValueError:
            found.append(problem("contractor", "Choose the contractor that owes it.", "提出する受託事業者を選んでください。"))
    due: dt.date | None = None
    refers = (refers_to or "").strip() if isinstance(refers_to, str) else ""
    if kind in MONTHLY:
        first = _day(f"{month}-01") if isinstance(month, str) else None
        if first is None:
            found.append(problem("month", "Give the report's month (YYYY-MM).", "報告の対象月（YYYY-MM）を入力してください。"))
        else:
            due, refers = monthly_due(session, first), first.strftime("%Y-%m")
    else:
        due = _day(due_on)
        if due is None:
            found.append(problem("due_on", "Give the due date (YYYY-MM-DD).", "提出期限を日付（YYYY-MM-DD）で入力してください。"))
        if kind is K.minutes:
            found.append(problem("kind", "Minutes are owed by their meeting.", "議事録は会議の登録により提出対象になります。"))
    if not refers:
        refers = f"{kind.value if kind else ''}:{title}"[:REFERS_MAX]
    elif wrong := text_field_problem("refers_to", refers, "reference", "対象", REFERS_MAX):
        found.append(wrong)
    if found:
        raise SubmissionInvalid(found)
    if find(session, kind, refers) is not None:
        raise SubmissionInvalid([problem("refers_to", "This document is owed already.", "この書類はすでに提出対象です。")])
    return owe(session, actor, kind, refers, title, due, chosen)


def get(session: Session, actor: Actor, submission_id: int) -> Submission:
    """One submission: another contractor's is as if it did not exist."""
    authz.authorize(actor, READ)
    row = session.get(Submission, submission_id)
    if row is None or not _may_see(actor, row):
        raise NotFound(f"No submission {submission_id}.", f"提出書類 {submission_id} はありません。")
    return row


def submissions(session: Session, actor: Actor, *, kind: SubmissionKind | None = None,
                status: SubmissionStatus | None = None) -> list[Submission]:
    """Every submission the actor may see: not yet approved first, by due date; then the approved, newest first."""
    authz.authorize(actor, READ)
    query = sa.select(Submission)
    if not _sees_all(actor):
        mine = contractors_of(actor)
        seen = [Submission.contractor.in_(mine)] if mine else []
        if authz.allowed(actor, "meeting.read"):
            seen.append(Submission.kind == K.minutes)
        if not seen:
            return []
        query = query.where(sa.or_(*seen))
    if kind is not None:
        query = query.where(Submission.kind == kind)
    if status is not None:
        query = query.where(Submission.status == status)
    settled = sa.case((Submission.status == S.approved, 1), else_=0)
    rows = list(session.scalars(query.order_by(settled, Submission.due_on, Submission.id)))
    return rows


def is_overdue(row: Submission, today: dt.date) -> bool:
    """Past its due date and awaiting its contractor (not submitted yet, or returned)."""
    return row.status in (S.open, S.returned) and row.due_on < today


def overdue(session: Session, actor: Actor, *, now: dt.datetime | None = None) -> list[Submission]:
    """The submissions the actor may see that are overdue today (Japan time), the longest overdue first."""
    today = today_jst(now or utcnow())
    return [row for row in submissions(session, actor) if is_overdue(row, today)]


def versions_of(session: Session, submission_id: int) -> list[SubmissionVersion]:
    return list(session.scalars(sa.select(SubmissionVersion).where(SubmissionVersion.submission_id == submission_id)
                                .order_by(SubmissionVersion.number)))


def versions_by_submission(session: Session, submission_ids: list[int]) -> dict[int, list[SubmissionVersion]]:
    """The versions of several submissions in one query (a list's)."""
    found: dict[int, list[SubmissionVersion]] = {}
    if submission_ids:
        for version in session.scalars(sa.select(SubmissionVersion).where(
                SubmissionVersion.submission_id.in_(submission_ids)).order_by(SubmissionVersion.number)):
            found.setdefault(version.submission_id, []).append(version)
    return found


def latest(session: Session, submission_id: int) -> SubmissionVersion | None:
    return session.scalar(sa.select(SubmissionVersion).where(SubmissionVersion.submission_id == submission_id)
                          .order_by(SubmissionVersion.number.desc()).limit(1))


def get_version(session: Session, actor: Actor, submission_id: int, number: int) -> SubmissionVersion:
    get(session, actor, submission_id)
    version = session.scalar(sa.select(SubmissionVersion).where(SubmissionVersion.submission_id == submission_id,
                                                                 SubmissionVersion.number == number))
    if version is None:
        raise NotFound(f"No version {number} of submission {submission_id}.", f"提出書類 {submission_id} の第{number}版はありません。")
    return version


# --- submitting and inspecting ------------------------------------------------------------------------------

def sha256_of(text: str, file: bytes | None) -> str:
    return hashlib.sha256(file if file is not None else text.encode("utf-8")).hexdigest()


def _submitter_may(actor: Actor, row: Submission) -> bool:
    grant = GRANTS[row.kind][0]
    return authz.allowed(actor, grant) and (grant != SUBMIT or row.contractor in contractors_of(actor))


@dataclasses.dataclass(frozen=True)
class Owner:
    """A kind whose document lives on a record of its own: its operations for writing (named for the page), approving
    and returning; each ends in :func:`add_version` or :func:`inspect`."""

    writes_on: str  # where its versions are written, for the refusal: 「会議の議事録」
    approve: Callable[[Session, Actor, "Submission", Optional[dt.datetime]], Any]
    return_: Callable[[Session, Actor, "Submission", str, Optional[dt.datetime]], Any]


OWNERS: dict[SubmissionKind, Owner] = {}


class OwnedElsewhere(Conflict):
    """A kind kept on a record of its own is written there."""


def submit(session: Session, actor: Actor, submission_id: int, *, text: str = "", file: bytes | None = None,
           filename: str = "", now: dt.datetime | None = None) -> SubmissionVersion:
    """A contractor submits a version (text, or a file); refused once approved (frozen). Audited
    ``submission.submit`` with the version's SHA-256."""
    row = get(session, actor, submission_id)
    if (owner := OWNERS.get(row.kind)) is not None:
        raise OwnedElsewhere(f"{row.kind.en} are written on their own page ({owner.writes_on}).",
                             f"{row.kind.ja}は{owner.writes_on}の画面で作成・提出します。")
    return add_version(session, actor, row, text=text, file=file, filename=filename, now=now)


def submit_monthly(session: Session, actor: Actor, kind: SubmissionKind, month: dt.date, title: str, file: bytes,
                   filename: str, *, now: dt.datetime | None = None) -> SubmissionVersion:
    """A monthly report's file submitted by its contractor (:mod:`secretariat.progress`, :mod:`service.monthly_report`):
    owed for its month if the prefecture had not opened it (due :func:`monthly_due`), then submitted."""
    if kind not in MONTHLY:
        raise ValueError(f"{kind} is not a monthly report")
    authz.authorize(actor, GRANTS[kind][0])
    first = month.replace(day=1)
    row = find(session, kind, first.strftime("%Y-%m")) or owe(session, actor, kind, first.strftime("%Y-%m"), title,
                                                                monthly_due(session, first))
    return submit(session, actor, row.id, file=file, filename=filename, now=now)


def add_version(session: Session, actor: Actor, row: Submission, *, text: str = "", file: bytes | None = None,
                filename: str = "", now: dt.datetime | None = None) -> SubmissionVersion:
    """The version submitted (the rule of :func:`submit`; an :class:`Owner`'s operation calls it directly)."""
    authz.authorize(actor, GRANTS[row.kind][0])
    if not _submitter_may(actor, row):
        raise authz.NotPermitted("Only the contractor that owes this document submits it.",
                                 "この書類は提出する受託事業者のみが提出できます。")
    text = (text or "").replace("\r\n", "\n").strip() if file is None else ""
    if file is not None:
        if not file:
            raise SubmissionInvalid([problem("file", "The file is empty.", "ファイルが空です。")])
        if len(file) > FILE_MAX_BYTES:
            raise SubmissionInvalid([problem("file", f"The file is larger than {FILE_MAX_BYTES // (1024 * 1024)} MB.",
                                             f"ファイルが {FILE_MAX_BYTES // (1024 * 1024)} MB を超えています。")])
    elif wrong := text_field_problem("text", text, "document", "提出内容", TEXT_MAX, required=True, single_line=False):
        raise SubmissionInvalid([wrong])
    move = SUBMISSIONS.move("submit", row.status, row)
    now = now or utcnow()
    previous = latest(session, row.id)
    version = SubmissionVersion(submission_id=row.id, number=(previous.number + 1) if previous else 1, text=text,
                                file=file, filename=(filename or "document")[:200] if file is not None else "",
                                sha256=sha256_of(text, file), submitted_at=now, submitted_by=actor.subject[:255],
                                submitted_by_name=actor.recorded_name[:200], on_time=today_jst(now) <= row.due_on)
    before = summary(row)
    row.status = move.target
    session.add(version)
    session.flush()
    audit.record(session, actor, "submission.submit", "submission", str(row.id), before=before,
                 after={**summary(row), "version": version.number, "sha256": version.sha256, "on_time": version.on_time,
                        "bytes": len(file) if file is not None else len(text.encode("utf-8"))})
    return version


def inspect(session: Session, actor: Actor, row: Submission, name: str, now: dt.datetime | None = None,
            reason: str = "") -> SubmissionVersion:
    """The prefecture's inspection of the version under inspection (``approve``, or ``return`` with a reason): the
    rule of :func:`approve` and :func:`return_submission`, which an :class:`Owner`'s operation calls directly."""
    authz.authorize(actor, GRANTS[row.kind][1])
    move = SUBMISSIONS.move(name, row.status, row)
    version = latest(session, row.id)
    assert version is not None  # submitted: a version exists
    if version.submitted_by == actor.subject:
        raise OwnSubmission("The person who submitted this version cannot approve or return it; another person "
                            "inspects it.", "この版を提出した人は承認できません（差戻しもできません）。別の担当者が検査してください。")
    now = now or utcnow()
    before = summary(row)
    row.status = move.target
    version.inspection = Inspection.approved if name == "approve" else Inspection.returned
    version.reason, version.inspected_at, version.inspected_by = reason, now, actor.recorded_name[:200]
    if name == "approve":
        row.approved_version, row.approved_sha256 = version.number, version.sha256
        row.approved_at, row.approved_by = now, actor.recorded_name[:200]
    session.flush()
    audit.record(session, actor, f"submission.{name}", "submission", str(row.id), before=before,
                 after={**summary(row), "version": version.number, "sha256": version.sha256, "reason": reason or None,
                        "submitted_by": version.submitted_by_name})
    return version


def approve(session: Session, actor: Actor, submission_id: int, *, now: dt.datetime | None = None) -> Submission:
    """The prefecture approves the version under inspection (never its submitter): the submission is final, the
    version's SHA-256 recorded in the audit chain (``submission.approve``)."""
    row = get(session, actor, submission_id)
    authz.authorize(actor, GRANTS[row.kind][1])
    if (owner := OWNERS.get(row.kind)) is not None:
        owner.approve(session, actor, row, now)
    else:
        inspect(session, actor, row, "approve", now)
    return row


def return_reason(text: str | None) -> str:
    """The reason a return takes (Invalid on the field ``reason`` when empty)."""
    reason = require_reason(SUBMISSIONS.moves["return"], text)
    if wrong := text_field_problem("reason", reason, "reason", "理由", REASON_MAX, single_line=False):
        raise Invalid("The reason cannot be kept as typed.", "理由をそのまま記録できません。", problems=[wrong])
    return reason


def return_submission(session: Session, actor: Actor, submission_id: int, reason: str | None, *,
                      now: dt.datetime | None = None) -> Submission:
    """The prefecture returns the version under inspection with its reason; the contractor submits again.
    Audited ``submission.return``."""
    row = get(session, actor, submission_id)
    authz.authorize(actor, GRANTS[row.kind][1])
    typed = return_reason(reason)
    if (owner := OWNERS.get(row.kind)) is not None:
        owner.return_(session, actor, row, typed, now)
    else:
        inspect(session, actor, row, "return", now, typed)
    return row


def may(session: Session, actor: Actor, row: Submission) -> dict[str, bool]:
    """Which acts the page offers the actor on ``row`` (the table's, and the actor's grants)."""
    allowed = {move.name for move in SUBMISSIONS.moves_from(row.status)}
    inspects = authz.allowed(actor, GRANTS[row.kind][1])
    version = latest(session, row.id) if "approve" in allowed else None
    own = version is not None and version.submitted_by == actor.subject
    return {"submit": "submit" in allowed and _submitter_may(actor, row) and row.kind not in OWNERS,
            "approve": "approve" in allowed and inspects and not own,
            "return": "return" in allowed and inspects and not own}


@dataclasses.dataclass(frozen=True)
class Content:
    """A version's content to download: its bytes, name and type."""

    data: bytes
    filename: str
    mimetype: str


def content(session: Session, actor: Actor, submission_id: int, number: int) -> Content:
    version = get_version(session, actor, submission_id, number)
    if version.file is not None:
        kind = "application/pdf" if version.file.startswith(b"%PDF-") else "application/octet-stream"
        return Content(version.file, version.filename or "document", kind)
    return Content(version.text.encode("utf-8"), f"submission-{submission_id}-v{number}.txt", "text/plain; charset=utf-8")
