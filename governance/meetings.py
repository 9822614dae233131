"""Meetings and minutes (会議・議事録): council meetings, the monthly meeting with the prefecture, and the
community's and working groups' meetings.

Rules:

* A meeting has a kind (:class:`MeetingKind`), a title, when it is held, a place, its attendees (people
  and organisations: a municipality or the prefecture by tenant code, a member organisation by corporate
  number; a person of neither, such as a guest, by name alone) and numbered agenda items, each of which may link the council proposal decided there. A
  proposal is decided at one meeting at most (a unique link), and only once it is closed (adopted or
  rejected); the proposal's page and the API show that meeting (:func:`meeting_of_proposal`).
* A community or working-group meeting belongs to a group (:mod:`secretariat.groups` schedules it:
  governance does not read the secretariat's tables, it keeps the group's id).
* Minutes (議事録) are written in renkei (plain text, at most :data:`MINUTES_MAX` characters, shown
  escaped) or attached as a PDF (checked: ``%PDF-`` and at most :data:`PDF_MAX_BYTES`). Then
  draft → approved → published (:data:`MINUTES`). The minutes are a document the secretariat owes the
  prefecture (:mod:`governance.submissions`, the one workflow of every such document, which holds the rule):
  recording a meeting owes them, due 3 business days after it; each writing is a submitted version; the
  prefecture (``meeting.approve``) approves them (never their writer: four eyes) or returns them with a
  reason (back to draft, rewritten and submitted again); approved minutes are frozen (their SHA-256 in the
  audit chain) and published once approved; they never change again.
* Publishing sends a notice (:mod:`governance.notices`) to the attendees' organisations only, fixed at
  that moment, with one e-mail each through the outbox, in the same transaction; audited ``meeting.publish``.
* The minutes as a PDF (:func:`minutes_pdf`): A4 through :mod:`core.report_document`, the issuer (the
  consortium) and the date; the attached PDF itself when the minutes were attached.
* The secretariat (the platform operator, ``meeting.manage``) records meetings and writes minutes;
  the auditor reads them (``meeting.read``). Every act is audited.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
from collections.abc import Sequence
from typing import Any, Optional

import sqlalchemy as sa
from sqlalchemy.orm import Session
from sqlmodel import Field, SQLModel

from core import audit, authz, report_document
from core.actor import Actor
from core.calendar import jst_day, jst_text
from core.db import enum_column, timestamp_column, utcnow
from core.errors import Conflict, Invalid, NotFound, problem
from core.labelled import LabelledEnum, labels
from core.lifecycle import IllegalMove, Lifecycle, Move
from core.report_document import Section
from core.validation import text_field_problem
from governance.models import CouncilProposal, ProposalStatus
from governance import submissions
from governance.notices import send_notice
from tenancy.members.models import MemberStatus, Organisation
from tenancy.registry.models import Tenant
from tenancy.registry.prefecture import consortium_name

MINUTES_MAX = 50_000
PDF_MAX_BYTES = 10 * 1024 * 1024
AGENDA_MAX = 30
ATTENDEES_MAX = 200


class MeetingKind(LabelledEnum):
    council = "council", "協議会", "Council meeting"
    prefecture = "prefecture", "県との定例会（月例）", "Monthly meeting with the prefecture"
    community = "community", "データ利活用コミュニティ会合", "Community meeting"
    working_group = "working_group", "ワーキンググループ会合", "Working-group meeting"


GROUP_KINDS = frozenset({MeetingKind.community, MeetingKind.working_group})

class MinutesStatus(LabelledEnum):
    none = "none", "未作成", "Not written"
    draft = "draft", "承認待ち", "Awaiting approval"
    approved = "approved", "承認済み", "Approved"
    published = "published", "公開済み", "Published"


class Meeting(SQLModel, table=True):
    __tablename__ = "meeting"

    id: int | None = Field(default=None, primary_key=True)
    kind: MeetingKind = Field(sa_column=enum_column(MeetingKind, length=16, index=True))
    title: str = Field(max_length=200)
    held_at: dt.datetime = Field(sa_column=timestamp_column(nullable=False, index=True))
    place: str = Field(default="", max_length=200)
    group_id: Optional[int] = Field(default=None, index=True)  # secretariat_group.id for community and WG meetings
    minutes_status: MinutesStatus = Field(default=MinutesStatus.none,
                                          sa_column=enum_column(MinutesStatus, length=16, checked=True))
    minutes_text: str = Field(default="", sa_column=sa.Column(sa.Text, nullable=False, server_default=""))
    minutes_pdf: Optional[bytes] = Field(default=None, sa_column=sa.Column(sa.LargeBinary, nullable=True))
    minutes_filename: str = Field(default="", max_length=200)
    written_by: str = Field(default="", max_length=255)  # the writer's subject (the four-eyes rule compares it)
    written_by_name: str = Field(default="", max_length=255)
    approved_by: str = Field(default="", max_length=255)
    approved_at: Optional[dt.datetime] = Field(default=None, sa_column=timestamp_column(nullable=True))
    published_at: Optional[dt.datetime] = Field(default=None, sa_column=timestamp_column(nullable=True))
    notice_id: Optional[int] = Field(default=None, foreign_key="notice.id")
    created_at: dt.datetime = Field(default_factory=utcnow, sa_column=timestamp_column(nullable=False))


class MeetingAttendee(SQLModel, table=True):
    """A person (name, may be blank) of an organisation: a tenant (code) or a member (corporate number)."""

    __tablename__ = "meeting_attendee"

    id: int | None = Field(default=None, primary_key=True)
    meeting_id: int = Field(foreign_key="meeting.id", index=True)
    name: str = Field(default="", max_length=100)
    tenant_code: str = Field(default="", max_length=6)
    corporate_number: str = Field(default="", max_length=13)


class MeetingAgendaItem(SQLModel, table=True):
    __tablename__ = "meeting_agenda_item"
    __table_args__ = (sa.UniqueConstraint("proposal_id"),)

    id: int | None = Field(default=None, primary_key=True)
    meeting_id: int = Field(foreign_key="meeting.id", index=True)
    position: int
    title: str = Field(max_length=200)
    proposal_id: Optional[int] = Field(default=None, foreign_key="council_proposal.id")


# --- the minutes' lifecycle: one exception per illegal move ---------------------------------------

class CannotWrite(IllegalMove):
    """Published minutes never change."""


class CannotApprove(IllegalMove):
    """Only written minutes awaiting approval are approved."""


class CannotPublish(IllegalMove):
    """Only approved minutes are published."""


OwnMinutes = submissions.OwnSubmission
"""The writer of the minutes never approves or returns them (the four eyes of :mod:`governance.submissions`)."""


class MeetingSettled(Conflict):
    """A meeting whose minutes are approved or published is no longer corrected."""


M = MinutesStatus
_REFUSALS = {"write": CannotWrite, "approve": CannotApprove, "publish": CannotPublish}


def _refusal(move: Move, status: MinutesStatus, meeting: Any) -> IllegalMove:
    ja, en = MinutesStatus(status).label
    return _REFUSALS[move.name](f"The minutes are {en.lower()}; they cannot be {move.label_en}. Nothing was changed.",
                                f"この議事録は「{ja}」のため「{move.label_ja}」できません。変更は行っていません。",
                                status=status.value, move=move.name)


MINUTES = Lifecycle("議事録", "minutes", MinutesStatus, labels(MinutesStatus), (
    Move("write", frozenset({M.none, M.draft}), M.draft, "作成・修正", "written"),
    Move("approve", frozenset({M.draft}), M.approved, "承認", "approved"),
    Move("publish", frozenset({M.approved}), M.published, "公開", "published"),
), initial=(M.none,), refusal=_refusal)


def _move(meeting: Meeting, name: str) -> MinutesStatus:
    """Move the minutes by ``name`` (or refuse); the status before."""
    before = MinutesStatus(meeting.minutes_status)
    meeting.minutes_status = MINUTES.move(name, before, meeting).target
    return before


# --- meetings -------------------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class Attendee:
    name: str = ""
    tenant_code: str = ""
    corporate_number: str = ""


@dataclasses.dataclass(frozen=True)
class AgendaItem:
    title: str
    proposal_id: int | None = None


@dataclasses.dataclass(frozen=True)
class MeetingDraft:
    kind: str
    title: str
    held_at: dt.datetime
    place: str = ""
    attendees: Sequence[Attendee] = ()
    agenda: Sequence[AgendaItem] = ()


def _attendee_problems(session: Session, attendees: Sequence[Attendee]) -> list[dict[str, str]]:
    found: list[dict[str, str]] = []
    if len(attendees) > ATTENDEES_MAX:
        return [problem("attendees", f"At most {ATTENDEES_MAX} attendees.", f"出席者は {ATTENDEES_MAX} 件までです。")]
    codes = {a.tenant_code for a in attendees if a.tenant_code}
    numbers = {a.corporate_number for a in attendees if a.corporate_number}
    known_codes = set(session.scalars(sa.select(Tenant.code).where(Tenant.code.in_(codes)))) if codes else set()
    approved = set(session.scalars(sa.select(Organisation.corporate_number).where(
        Organisation.corporate_number.in_(numbers), Organisation.status == MemberStatus.approved))) if numbers else set()
    for index, who in enumerate(attendees, start=1):
        field = f"attendees[{index}]"
        if who.tenant_code and who.corporate_number or not (who.tenant_code or who.corporate_number or who.name):
            found.append(problem(field, f"Attendee {index}: a name, or one organisation (a municipality or a member).",
                                 f"出席者 {index}: 氏名か、所属（市町村・県または会員）を1つ入力してください。"))
            continue
        if who.tenant_code and who.tenant_code not in known_codes:
            found.append(problem(field, f"Attendee {index}: no tenant {who.tenant_code}.",
                                 f"出席者 {index}: 団体コード {who.tenant_code} の団体はありません。"))
        if who.corporate_number and who.corporate_number not in approved:
            found.append(problem(field, f"Attendee {index}: {who.corporate_number} is not an approved member.",
                                 f"出席者 {index}: 法人番号 {who.corporate_number} は入会承認済みの会員ではありません。"))
        bad = text_field_problem(field, who.name, "name", f"出席者 {index} の氏名", 100)
        if bad:
            found.append(bad)
    return found


def _agenda_problems(session: Session, agenda: Sequence[AgendaItem], meeting_id: int | None) -> list[dict[str, str]]:
    found: list[dict[str, str]] = []
    if len(agenda) > AGENDA_MAX:
        return [problem("agenda", f"At most {AGENDA_MAX} agenda items.", f"議題は {AGENDA_MAX} 件までです。")]
    ids = [item.proposal_id for item in agenda if item.proposal_id is not None]
    if len(ids) != len(set(ids)):
        found.append(problem("agenda", "A proposal is linked twice.", "同じ議案が2回選ばれています。"))
    proposals = {p.id: p for p in session.scalars(sa.select(CouncilProposal).where(CouncilProposal.id.in_(ids)))} if ids else {}
    taken = {row.proposal_id: row.meeting_id for row in session.execute(
        sa.select(MeetingAgendaItem.proposal_id, MeetingAgendaItem.meeting_id).where(MeetingAgendaItem.proposal_id.in_(ids)))
    } if ids else {}
    for index, item in enumerate(agenda, start=1):
        field = f"agenda[{index}]"
        bad = text_field_problem(field, item.title, "agenda item", f"議題 {index}", 200, required=True)
        if bad:
            found.append(bad)
        if item.proposal_id is None:
            continue
        proposal = proposals.get(item.proposal_id)
        if proposal is None:
            found.append(problem(field, f"Agenda item {index}: no proposal {item.proposal_id}.",
                                 f"議題 {index}: 議案 {item.proposal_id} はありません。"))
        elif ProposalStatus(proposal.status) not in (ProposalStatus.adopted, ProposalStatus.rejected):
            found.append(problem(field, f"Agenda item {index}: the proposal is not decided yet (closed).",
                                 f"議題 {index}: 議案「{proposal.title}」はまだ議決されていません。"))
        elif item.proposal_id in taken and taken[item.proposal_id] != meeting_id:
            found.append(problem(field, f"Agenda item {index}: the proposal was decided at meeting {taken[item.proposal_id]}.",
                                 f"議題 {index}: 議案「{proposal.title}」は別の会議（{taken[item.proposal_id]}）で議決済みです。"))
    return found


def meeting_problems(session: Session, draft: MeetingDraft, meeting_id: int | None = None) -> list[dict[str, str]]:
    found = [p for p in (
        None if draft.kind in {k.value for k in MeetingKind} else problem("kind", "Choose the kind.", "種類を選んでください。"),
        text_field_problem("title", draft.title, "title", "会議名", 200, required=True),
        text_field_problem("place", draft.place, "place", "場所", 200),
    ) if p]
    if draft.held_at is None or draft.held_at.tzinfo is None:
        found.append(problem("held_at", "Give the date and time.", "開催日時を入力してください。"))
    else:
        try:  # the minutes are due in business days, which renkei's calendar knows for 1989–2099
            submissions.minutes_due(session, jst_day(draft.held_at))
        except submissions.SubmissionInvalid as error:
            found.extend(error.problems)
    return found + _attendee_problems(session, draft.attendees) + _agenda_problems(session, draft.agenda, meeting_id)


def meeting_summary(session: Session, meeting: Meeting) -> dict[str, Any]:
    return {"kind": MeetingKind(meeting.kind).value, "title": meeting.title, "held_at": meeting.held_at.isoformat(),
            "place": meeting.place, "group_id": meeting.group_id,
            "attendees": [{"name": a.name, "tenant_code": a.tenant_code, "corporate_number": a.corporate_number}
                          for a in attendees_of(session, meeting.id)],
            "agenda": [{"title": i.title, "proposal_id": i.proposal_id} for i in agenda_of(session, meeting.id)]}


def _trimmed(draft: MeetingDraft) -> MeetingDraft:
    return dataclasses.replace(draft, title=(draft.title or "").strip(), place=(draft.place or "").strip(),
                               attendees=tuple(Attendee((a.name or "").strip(), (a.tenant_code or "").strip(),
                                                        (a.corporate_number or "").strip()) for a in draft.attendees),
                               agenda=tuple(AgendaItem((i.title or "").strip(), i.proposal_id) for i in draft.agenda))


def _add_rows(session: Session, meeting: Meeting, draft: MeetingDraft) -> None:
    for who in draft.attendees:
        session.add(MeetingAttendee(meeting_id=meeting.id, name=who.name, tenant_code=who.tenant_code,
                                    corporate_number=who.corporate_number))
    for position, item in enumerate(draft.agenda, start=1):
        session.add(MeetingAgendaItem(meeting_id=meeting.id, position=position, title=item.title,
                                      proposal_id=item.proposal_id))
    session.flush()


def create_meeting(session: Session, actor: Actor, draft: MeetingDraft, *, group_id: int | None = None) -> Meeting:
    """Record a meeting with its attendees and agenda; audited ``meeting.create``. A community or
    working-group meeting needs its group (:func:`secretariat.groups.create_group_meeting` passes it)."""
    authz.authorize(actor, "meeting.manage")
    draft = _trimmed(draft)
    problems = meeting_problems(session, draft)
    if draft.kind in {k.value for k in GROUP_KINDS} and group_id is None:
        problems.append(problem("group_id", "A community or working-group meeting is recorded on its group.",
                                "コミュニティ・ワーキンググループの会合はグループを選んで登録してください。"))
    if problems:
        raise Invalid("The meeting cannot be recorded as given; nothing was saved.",
                      "会議の内容に誤りがあります。保存していません。", problems=problems)
    meeting = Meeting(kind=MeetingKind(draft.kind), title=draft.title, held_at=draft.held_at, place=draft.place,
                      group_id=group_id)
    session.add(meeting)
    session.flush()
    with audit.act(session, actor, "meeting.create", "meeting", str(meeting.id)):
        _add_rows(session, meeting, draft)
        audit.record(session, actor, "meeting.create", "meeting", str(meeting.id), after=meeting_summary(session, meeting))
        minutes_submission(session, actor, meeting)
    return meeting


def minutes_submission(session: Session, actor: Actor, meeting: Meeting) -> submissions.Submission:
    """The submission of the meeting's minutes (owed when the meeting is recorded, due 3 business days after
    it; a moved meeting moves its due date until the minutes are approved)."""
    owed = submissions.owe(session, actor, submissions.SubmissionKind.minutes, f"meeting:{meeting.id}",
                           f"議事録　{meeting.title}", submissions.minutes_due(session, jst_day(meeting.held_at)))
    status = MinutesStatus(meeting.minutes_status)
    if owed.status is submissions.S.open and status is not M.none and submissions.latest(session, owed.id) is None:
        # minutes written before the workflow (migration 0123): taken in as they stand, approved if they were
        submissions.adopt(session, actor, owed, text=meeting.minutes_text, file=meeting.minutes_pdf,
                          filename=meeting.minutes_filename, submitted_by=meeting.written_by,
                          submitted_by_name=meeting.written_by_name, submitted_at=meeting.created_at,
                          approved_by=meeting.approved_by,
                          approved_at=(meeting.approved_at or utcnow()) if status is not M.draft else None)
    return owed


EDITABLE = frozenset({MinutesStatus.none, MinutesStatus.draft})


def draft_of(session: Session, meeting: Meeting) -> MeetingDraft:
    """The meeting as recorded, as a draft to correct (the edit form and the command line start from it)."""
    return MeetingDraft(kind=MeetingKind(meeting.kind).value, title=meeting.title, held_at=meeting.held_at,
                        place=meeting.place,
                        attendees=tuple(Attendee(a.name, a.tenant_code, a.corporate_number)
                                        for a in attendees_of(session, meeting.id)),
                        agenda=tuple(AgendaItem(i.title, i.proposal_id) for i in agenda_of(session, meeting.id)))


def update_meeting(session: Session, actor: Actor, meeting_id: int, draft: MeetingDraft) -> Meeting:
    """Correct a recorded meeting (title, date and time, place, attendees, agenda) while its minutes are
    not written or still await approval; its kind and group stay (``draft.kind`` is not read). Once the
    minutes are approved or published the record is what they were approved on: refused, nothing changed.
    Audited ``meeting.update`` with before and after (nothing recorded when nothing changed)."""
    authz.authorize(actor, "meeting.manage")
    meeting = get_meeting(session, meeting_id, lock=True)
    status = MinutesStatus(meeting.minutes_status)
    if status not in EDITABLE:
        raise MeetingSettled(f"The minutes of this meeting are {status.en.lower()}; the meeting can no longer be "
                             "corrected. Nothing was changed.",
                             f"この会議の議事録は「{status.ja}」のため、会議の内容は修正できません。変更は行っていません。",
                             status=status.value)
    draft = dataclasses.replace(_trimmed(draft), kind=MeetingKind(meeting.kind).value)
    problems = meeting_problems(session, draft, meeting.id)
    if problems:
        raise Invalid("The meeting cannot be corrected as given; nothing was saved.",
                      "会議の内容に誤りがあります。保存していません。", problems=problems)
    before = meeting_summary(session, meeting)
    meeting.title, meeting.held_at, meeting.place = draft.title, draft.held_at, draft.place
    for table in (MeetingAttendee, MeetingAgendaItem):
        session.execute(sa.delete(table).where(table.meeting_id == meeting.id))
    session.flush()
    with audit.act(session, actor, "meeting.update", "meeting", str(meeting.id)):
        _add_rows(session, meeting, draft)
        after = meeting_summary(session, meeting)
        if after != before:
            audit.record(session, actor, "meeting.update", "meeting", str(meeting.id), before=before, after=after)
            minutes_submission(session, actor, meeting)
    return meeting


def get_meeting(session: Session, meeting_id: int, *, lock: bool = False) -> Meeting:
    query = sa.select(Meeting).where(Meeting.id == meeting_id)
    meeting = session.scalar(query.with_for_update() if lock else query)
    if meeting is None:
        raise NotFound(f"No meeting {meeting_id}.", f"会議 {meeting_id} はありません。")
    return meeting


def read_meeting(session: Session, actor: Actor, meeting_id: int) -> Meeting:
    authz.authorize(actor, "meeting.read")
    return get_meeting(session, meeting_id)


def list_meetings(session: Session, actor: Actor, *, kind: str | None = None, group_id: int | None = None) -> list[Meeting]:
    """Meetings, the latest first."""
    authz.authorize(actor, "meeting.read")
    query = sa.select(Meeting).order_by(Meeting.held_at.desc(), Meeting.id.desc())
    if kind:
        query = query.where(Meeting.kind == MeetingKind(kind))
    if group_id is not None:
        query = query.where(Meeting.group_id == group_id)
    return list(session.scalars(query))


def attendees_of(session: Session, meeting_id: int) -> list[MeetingAttendee]:
    return list(session.scalars(sa.select(MeetingAttendee).where(MeetingAttendee.meeting_id == meeting_id)
                                .order_by(MeetingAttendee.id)))


def agenda_of(session: Session, meeting_id: int) -> list[MeetingAgendaItem]:
    return list(session.scalars(sa.select(MeetingAgendaItem).where(MeetingAgendaItem.meeting_id == meeting_id)
                                .order_by(MeetingAgendaItem.position)))


@dataclasses.dataclass(frozen=True)
class MeetingParts:
    """The attendees and agenda items of some meetings (by meeting id) and the attending organisations' names."""

    attendees: dict[int, list[MeetingAttendee]]
    agenda: dict[int, list[MeetingAgendaItem]]
    names: dict[str, str]


def parts_of(session: Session, meeting_ids: Sequence[int]) -> MeetingParts:
    """The attendees, agenda items and organisation names of the meetings ``meeting_ids`` in three queries,
    however many meetings (a list of meetings reads them once, not per row)."""
    ids = sorted(set(meeting_ids))
    attendees: dict[int, list[MeetingAttendee]] = {meeting_id: [] for meeting_id in ids}
    agenda: dict[int, list[MeetingAgendaItem]] = {meeting_id: [] for meeting_id in ids}
    if ids:
        for attendee in session.scalars(sa.select(MeetingAttendee).where(MeetingAttendee.meeting_id.in_(ids))
                                        .order_by(MeetingAttendee.id)):
            attendees[attendee.meeting_id].append(attendee)
        for item in session.scalars(sa.select(MeetingAgendaItem).where(MeetingAgendaItem.meeting_id.in_(ids))
                                    .order_by(MeetingAgendaItem.meeting_id, MeetingAgendaItem.position)):
            agenda[item.meeting_id].append(item)
    names = organisation_names(session, [a for rows in attendees.values() for a in rows])
    return MeetingParts(attendees, agenda, names)


def meeting_of_proposal(session: Session, proposal_id: int) -> Meeting | None:
    """The meeting at which the proposal was decided (linked from an agenda item), or None."""
    return session.scalar(sa.select(Meeting).join(MeetingAgendaItem, MeetingAgendaItem.meeting_id == Meeting.id)
                          .where(MeetingAgendaItem.proposal_id == proposal_id))


def decided_proposals(session: Session) -> list[CouncilProposal]:
    """Closed proposals not yet linked to a meeting: the agenda form's picker."""
    linked = sa.select(MeetingAgendaItem.proposal_id).where(MeetingAgendaItem.proposal_id.is_not(None))
    return list(session.scalars(sa.select(CouncilProposal).where(
        CouncilProposal.status.in_([ProposalStatus.adopted, ProposalStatus.rejected]), CouncilProposal.id.not_in(linked))
        .order_by(CouncilProposal.id.desc())))


def organisation_names(session: Session, attendees: Sequence[MeetingAttendee]) -> dict[str, str]:
    """Tenant codes and corporate numbers of the attendees → their names (Japanese)."""
    codes = {a.tenant_code for a in attendees if a.tenant_code}
    numbers = {a.corporate_number for a in attendees if a.corporate_number}
    names = {t.code: t.name_ja for t in session.scalars(sa.select(Tenant).where(Tenant.code.in_(codes)))} if codes else {}
    if numbers:
        names.update({o.corporate_number: o.name for o in session.scalars(
            sa.select(Organisation).where(Organisation.corporate_number.in_(numbers)))})
    return names


# --- minutes --------------------------------------------------------------------------------------


def pdf_problem(data: bytes) -> dict[str, str] | None:
    if not data:
        return problem("minutes_pdf", "Attach the minutes' PDF.", "議事録の PDF ファイルを選んでください。")
    if len(data) > PDF_MAX_BYTES:
        return problem("minutes_pdf", f"The file is larger than {PDF_MAX_BYTES // (1024 * 1024)} MB.",
                       f"ファイルが {PDF_MAX_BYTES // (1024 * 1024)} MB を超えています。")
    if not data.startswith(b"%PDF-"):
        return problem("minutes_pdf", "The file is not a PDF.", "PDF ファイルではありません。")
    return None


def write_minutes(session: Session, actor: Actor, meeting_id: int, *, text: str = "", pdf: bytes | None = None,
                  filename: str = "", now: dt.datetime | None = None) -> Meeting:
    """Write (or rewrite, until approved) the minutes: text, or an attached PDF; submitted to the prefecture as a
    version of their submission, awaiting approval (again)."""
    authz.authorize(actor, "meeting.manage")
    meeting = get_meeting(session, meeting_id, lock=True)
    text = (text or "").replace("\r\n", "\n").strip()
    if pdf is not None:
        bad = pdf_problem(pdf)
    else:
        bad = text_field_problem("minutes_text", text, "minutes", "議事録", MINUTES_MAX, required=True, single_line=False)
    if bad:
        raise Invalid("The minutes cannot be saved; nothing was changed.", "議事録を保存できません。変更は行っていません。",
                      problems=[bad])
    MINUTES.move("write", meeting.minutes_status, meeting)  # asked first: a refusal changes nothing
    with audit.act(session, actor, "meeting.minutes", "meeting", str(meeting.id)):
        owed = minutes_submission(session, actor, meeting)  # before the rewriting: earlier minutes taken in as they were
        before = _move(meeting, "write")
        meeting.minutes_text = text if pdf is None else ""
        meeting.minutes_pdf = pdf
        meeting.minutes_filename = (filename or "minutes.pdf")[:200] if pdf is not None else ""
        meeting.written_by, meeting.written_by_name = actor.subject, actor.recorded_name
        meeting.approved_by, meeting.approved_at = "", None
        session.flush()
        version = submissions.add_version(session, actor, owed, text=meeting.minutes_text, file=pdf,
                                          filename=meeting.minutes_filename, now=now)
        after: dict[str, Any] = {"minutes_status": meeting.minutes_status.value,
                                 "form": "pdf" if pdf is not None else "text",
                                 "bytes": len(pdf) if pdf is not None else len(text), "version": version.number,
                                 "sha256": version.sha256}
        audit.record(session, actor, "meeting.minutes", "meeting", str(meeting.id),
                     before={"minutes_status": before.value}, after=after)
    return meeting


def approve_minutes(session: Session, actor: Actor, meeting_id: int, *, now: dt.datetime | None = None) -> Meeting:
    """The prefecture approves the minutes (never their writer: :func:`governance.submissions.inspect`'s four eyes):
    their submitted version is final and its SHA-256 in the audit chain; audited ``meeting.approve``."""
    authz.authorize(actor, "meeting.approve")
    meeting = get_meeting(session, meeting_id, lock=True)
    before = MinutesStatus(meeting.minutes_status)
    target = MINUTES.move("approve", before, meeting).target  # asked first: a refusal changes nothing
    with audit.act(session, actor, "meeting.approve", "meeting", str(meeting.id)):
        owed = minutes_submission(session, actor, meeting)
        version = submissions.inspect(session, actor, owed, "approve", now)
        meeting.minutes_status = target
        meeting.approved_by, meeting.approved_at = actor.recorded_name, now or utcnow()
        session.flush()
        audit.record(session, actor, "meeting.approve", "meeting", str(meeting.id),
                     before={"minutes_status": before.value},
                     after={"minutes_status": meeting.minutes_status.value, "written_by": meeting.written_by_name,
                            "version": version.number, "sha256": version.sha256})
    return meeting


def return_minutes(session: Session, actor: Actor, meeting_id: int, reason: str | None, *,
                   now: dt.datetime | None = None) -> Meeting:
    """The prefecture returns the minutes awaiting approval with its reason (never their writer): they stay a
    draft, to be rewritten and submitted again; audited ``meeting.return``."""
    authz.authorize(actor, "meeting.approve")
    meeting = get_meeting(session, meeting_id, lock=True)
    typed = submissions.return_reason(reason)
    before = MinutesStatus(meeting.minutes_status)
    MINUTES.move("approve", before, meeting)  # only minutes awaiting approval are inspected
    with audit.act(session, actor, "meeting.return", "meeting", str(meeting.id)):
        owed = minutes_submission(session, actor, meeting)
        version = submissions.inspect(session, actor, owed, "return", now, typed)
        audit.record(session, actor, "meeting.return", "meeting", str(meeting.id),
                     before={"minutes_status": before.value},
                     after={"minutes_status": meeting.minutes_status.value, "reason": typed, "version": version.number})
    return meeting


def _meeting_of(row: submissions.Submission) -> int:
    return int(row.refers_to.removeprefix("meeting:"))


submissions.OWNERS[submissions.SubmissionKind.minutes] = submissions.Owner(
    "会議", lambda session, actor, row, now: approve_minutes(session, actor, _meeting_of(row), now=now),
    lambda session, actor, row, reason, now: return_minutes(session, actor, _meeting_of(row), reason, now=now))


def publish_minutes(session: Session, actor: Actor, meeting_id: int, *, now: dt.datetime | None = None) -> Meeting:
    """Publish approved minutes to the attendees' organisations: one notice, one e-mail each; audited."""
    authz.authorize(actor, "meeting.manage")
    meeting = get_meeting(session, meeting_id, lock=True)
    attendees = attendees_of(session, meeting.id)
    codes = sorted({a.tenant_code for a in attendees if a.tenant_code})
    numbers = sorted({a.corporate_number for a in attendees if a.corporate_number})
    before = _move(meeting, "publish")
    now = now or utcnow()
    tenants = list(session.scalars(sa.select(Tenant).where(Tenant.code.in_(codes)).order_by(Tenant.code))) if codes else []
    organisations = list(session.scalars(sa.select(Organisation).where(Organisation.corporate_number.in_(numbers))
                                         .order_by(Organisation.corporate_number))) if numbers else []
    held = jst_text(meeting.held_at)
    body = (f"{held} に開催した「{meeting.title}」の議事録を公開しました。\n"
            f"議事録（PDF）は管理画面の次のアドレスからご覧いただけます: /admin/minutes/{meeting.id}.pdf\n")
    notice = send_notice(session, actor, title=f"議事録公開: {meeting.title}", body=body, tenants=tenants,
                         organisations=organisations, now=now, kind="meeting-minutes")
    meeting.published_at, meeting.notice_id = now, notice.id
    session.flush()
    audit.record(session, actor, "meeting.publish", "meeting", str(meeting.id), before={"minutes_status": before.value},
                 after={"minutes_status": meeting.minutes_status.value, "notice_id": notice.id, "tenants": codes,
                        "members": numbers})
    return meeting


def can_read_minutes(session: Session, actor: Actor, meeting: Meeting) -> bool:
    """The secretariat and the auditor always; an attendee's organisation once they are published."""
    if authz.allowed(actor, "meeting.read"):
        return True
    if MinutesStatus(meeting.minutes_status) != MinutesStatus.published:
        return False
    mine = set(actor.tenant_codes or ())
    return any(a.tenant_code in mine or a.corporate_number in mine for a in attendees_of(session, meeting.id))


def published_minutes_for(session: Session, actor: Actor) -> list[Meeting]:
    """The meetings whose published minutes the actor may read (:func:`can_read_minutes`: every one for the
    secretariat and the auditor, those their organisation attended otherwise), the latest first: the members' site
    lists them beside the event archive (issue 58 item 2)."""
    authz.authorize(actor, "notice.read")
    query = sa.select(Meeting).where(Meeting.minutes_status == MinutesStatus.published)
    if not authz.allowed(actor, "meeting.read"):
        mine = sorted(actor.tenant_codes or ())
        query = query.where(Meeting.id.in_(sa.select(MeetingAttendee.meeting_id).where(sa.or_(
            MeetingAttendee.tenant_code.in_(mine), MeetingAttendee.corporate_number.in_(mine)))))
    return list(session.scalars(query.order_by(Meeting.held_at.desc(), Meeting.id.desc())))


def archived_minutes(session: Session, actor: Actor) -> list[Meeting]:
    """The published minutes the event archive lists beside the past events (its page and its API alike): those of
    :func:`published_minutes_for`, and none for a reader of the archive who reads no notices."""
    return published_minutes_for(session, actor) if authz.allowed(actor, "notice.read") else []


def _sections(session: Session, meeting: Meeting) -> list[Section]:
    attendees = attendees_of(session, meeting.id)
    names = organisation_names(session, attendees)
    agenda = agenda_of(session, meeting.id)
    proposals = {p.id: p for p in session.scalars(sa.select(CouncilProposal).where(
        CouncilProposal.id.in_([i.proposal_id for i in agenda if i.proposal_id])))}
    outcome = {ProposalStatus.adopted: "可決", ProposalStatus.rejected: "否決"}

    def decided(item: MeetingAgendaItem) -> str:
        proposal = proposals.get(item.proposal_id) if item.proposal_id else None
        if proposal is None:
            return ""
        return f"議案 {proposal.id}「{proposal.title}」{outcome.get(ProposalStatus(proposal.status), '')}"

    overview = (("種類", MeetingKind(meeting.kind).ja), ("日時", jst_text(meeting.held_at)),
                ("場所", meeting.place or "—"), ("作成", meeting.written_by_name or "—"), ("承認", meeting.approved_by or "—"))
    return [
        Section("概要", ("項目", "内容"), overview),
        Section("出席者", ("氏名", "所属"), tuple((a.name or "—", names.get(a.tenant_code or a.corporate_number,
                                                                           a.tenant_code or a.corporate_number))
                                                for a in attendees)),
        Section("議題", ("番号", "議題", "議決した議案"), tuple((i.position, i.title, decided(i)) for i in agenda)),
        Section("議事録", ("内容",), tuple((line,) for line in meeting.minutes_text.split("\n")) if meeting.minutes_text else (),
                empty="議事録は添付ファイルです。"),
    ]


def minutes_pdf(session: Session, actor: Actor, meeting_id: int) -> bytes:
    """The minutes as an A4 PDF (the attached one, or rendered with the issuer and the date); audited
    ``meeting.download`` with the file's SHA-256."""
    meeting = session.get(Meeting, meeting_id)
    if meeting is None and authz.allowed(actor, "meeting.read"):
        raise NotFound(f"No meeting {meeting_id}.", f"会議 {meeting_id} はありません。")
    if meeting is None or not can_read_minutes(session, actor, meeting):  # whether a meeting exists is not theirs
        raise authz.NotPermitted("These minutes are not published to your organisation.",
                                 "この議事録はあなたの団体には公開されていません。")
    if MinutesStatus(meeting.minutes_status) == MinutesStatus.none:
        raise NotFound("The minutes are not written yet.", "議事録はまだ作成されていません。")
    if meeting.minutes_pdf is not None:
        data = meeting.minutes_pdf
    else:
        title = f"議事録　{meeting.title}"
        day = jst_day(meeting.approved_at or meeting.held_at)
        data = report_document.to_pdf(report_document.to_html(title, consortium_name(session), day,
                                                              _sections(session, meeting)), "minutes", "議事録")
    audit.record(session, actor, "meeting.download", "meeting", str(meeting.id),
                 after={"sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)})
    return data
