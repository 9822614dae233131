"""Advisers (アドバイザー, issue 58 item 6): the people the secretariat keeps for members to consult,
the consultations members book with them, and what came of each.

Rules:

* An **adviser** has a name, fields of expertise (専門分野), the hours available per month (a whole
  number, 1–200) and whether they are active. The secretariat keeps them (``adviser.manage``).
* A **consultation** names an adviser (an active one), a member (an approved member organisation, by
  corporate number; :func:`bookable_members` lists those the actor may book for, by name), a start (Japan time, on the hour or the half hour), a length in whole hours (1–8)
  and a topic. A member's organisation admin books for their own member; the secretariat books for any
  (``adviser.book`` scoped to the member).
* A booking is refused when the adviser's booked hours in the month of its start (Japan time), with it,
  would exceed their hours for the month, or when it overlaps another booking of the same adviser. Both
  are decided under :func:`core.db.lock_key` on the adviser, so two bookings at once are counted one
  after the other (PostgreSQL advisory lock; SQLite's write lock).
* The secretariat records a booked consultation (``adviser.manage``) as **held** with its outcome
  (required), or as **not held** (cancelled, a reason required); a recorded consultation is final and
  its hours stay counted if held. A cancelled one frees its hours and its slot. The table
  :data:`CONSULTATIONS` is the one statement of which record may follow which status: recording a
  recorded consultation is its refusal (:class:`AlreadyRecorded`, HTTP 409), and two records at once
  are decided one after the other under the consultation's lock.
* :func:`consultations_held` is the one count of consultations held in a month (and their hours): the
  monthly progress report (:mod:`secretariat.progress`) shows it.

Every change is audited with before and after: ``adviser.create``, ``adviser.update``,
``adviser.consultation.book``, ``adviser.consultation.record``.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any, Optional

import sqlalchemy as sa
from sqlalchemy.orm import Session
from sqlmodel import Field, SQLModel

from core import audit, authz
from core.actor import Actor
from core.calendar import JST
from core.db import enum_column, lock_key, timestamp_column, utcnow
from core.errors import Conflict, Invalid, NotFound, problem
from core.labelled import LabelledEnum, labels
from core.lifecycle import IllegalMove, Lifecycle, Move
from core.validation import text_field_problem

READ, MANAGE, BOOK = "adviser.read", "adviser.manage", "adviser.book"
NAME_MAX, FIELDS_MAX, TOPIC_MAX, OUTCOME_MAX = 100, 500, 500, 4000
MAX_MONTHLY_HOURS, MAX_LENGTH_HOURS = 200, 8


class ConsultationStatus(LabelledEnum):
    booked = "booked", "予約済み", "Booked"
    held = "held", "実施済み", "Held"
    cancelled = "cancelled", "中止", "Not held"


class AlreadyRecorded(IllegalMove):
    """A consultation is recorded once: the table has no move from held or not held."""


def _recorded_already(move: Move, status: ConsultationStatus, consultation: Any) -> IllegalMove:
    ja, en = status.label
    return AlreadyRecorded(f"The consultation is recorded already ({en.lower()}); nothing was changed.",
                           f"この相談は「{ja}」として記録済みです。変更していません。", status=status.value, move=move.name)


CS = ConsultationStatus
CONSULTATIONS = Lifecycle("アドバイザー相談", "consultation", ConsultationStatus, labels(ConsultationStatus), (
    Move("hold", frozenset({CS.booked}), CS.held, "実施の記録", "record as held", grant="adviser.manage"),
    Move("cancel", frozenset({CS.booked}), CS.cancelled, "中止の記録", "record as not held", reason_required=True,
         grant="adviser.manage"),
), initial=(CS.booked,), refusal=_recorded_already)
"""A consultation is booked, then recorded once as held or not held (:func:`record`, the one place its status moves)."""


class Adviser(SQLModel, table=True):
    __tablename__ = "secretariat_adviser"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=NAME_MAX)
    fields: str = Field(max_length=FIELDS_MAX)  # fields of expertise, as the secretariat writes them
    monthly_hours: int
    active: bool = Field(default=True)
    created_at: dt.datetime = Field(default_factory=utcnow, sa_column=timestamp_column(nullable=False))


class Consultation(SQLModel, table=True):
    __tablename__ = "secretariat_consultation"

    id: int | None = Field(default=None, primary_key=True)
    adviser_id: int = Field(foreign_key="secretariat_adviser.id", index=True)
    member_number: str = Field(max_length=13, index=True)  # the member organisation's corporate number
    starts_at: dt.datetime = Field(sa_column=timestamp_column(nullable=False, index=True))
    hours: int
    topic: str = Field(max_length=TOPIC_MAX)
    status: ConsultationStatus = Field(sa_column=enum_column(ConsultationStatus, length=16, checked=True, index=True))
    outcome: str = Field(default="", sa_column=sa.Column(sa.Text, nullable=False, server_default=""))
    booked_by: str = Field(max_length=200)
    booked_at: dt.datetime = Field(default_factory=utcnow, sa_column=timestamp_column(nullable=False))
    recorded_by: str = Field(default="", max_length=200)
    recorded_at: Optional[dt.datetime] = Field(default=None, sa_column=timestamp_column(nullable=True))

    @property
    def ends_at(self) -> dt.datetime:
        return self.starts_at + dt.timedelta(hours=self.hours)


class AdviserHoursExceeded(Conflict):
    """The adviser's hours of the month would be exceeded."""


class SlotTaken(Conflict):
    """The adviser has another consultation at that time."""


# --- advisers -------------------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class AdviserDraft:
    name: str
    fields: str
    monthly_hours: int | None
    active: bool = True


def adviser_problems(draft: AdviserDraft) -> list[dict[str, str]]:
    found = [p for p in (
        text_field_problem("name", draft.name, "name", "氏名", NAME_MAX, required=True),
        text_field_problem("fields", draft.fields, "fields of expertise", "専門分野", FIELDS_MAX, required=True),
    ) if p is not None]
    if draft.monthly_hours is None or not 1 <= draft.monthly_hours <= MAX_MONTHLY_HOURS:
        found.append(problem("monthly_hours", f"The hours per month are a whole number from 1 to {MAX_MONTHLY_HOURS}.",
                             f"月あたりの対応可能時間は 1〜{MAX_MONTHLY_HOURS} の整数です。"))
    return found


def _clean_adviser(draft: AdviserDraft) -> AdviserDraft:
    return dataclasses.replace(draft, name=draft.name.strip(), fields=draft.fields.strip())


def adviser_summary(adviser: Adviser) -> dict[str, Any]:
    return {"name": adviser.name, "fields": adviser.fields, "monthly_hours": adviser.monthly_hours,
            "active": adviser.active}


def _refuse_adviser(found: list[dict[str, str]]) -> None:
    if found:
        raise Invalid("The adviser has problems; nothing was saved.", "アドバイザーの内容に誤りがあります。保存していません。",
                      problems=found)


def create_adviser(session: Session, actor: Actor, draft: AdviserDraft) -> Adviser:
    authz.authorize(actor, MANAGE)
    draft = _clean_adviser(draft)
    _refuse_adviser(adviser_problems(draft))
    adviser = Adviser(**dataclasses.asdict(draft))
    session.add(adviser)
    session.flush()
    audit.record(session, actor, "adviser.create", "adviser", str(adviser.id), after=adviser_summary(adviser))
    return adviser


def update_adviser(session: Session, actor: Actor, adviser_id: int, draft: AdviserDraft) -> Adviser:
    authz.authorize(actor, MANAGE)
    adviser = get_adviser(session, actor, adviser_id)
    draft = _clean_adviser(draft)
    _refuse_adviser(adviser_problems(draft))
    before = adviser_summary(adviser)
    for key, value in dataclasses.asdict(draft).items():
        setattr(adviser, key, value)
    session.flush()
    audit.record(session, actor, "adviser.update", "adviser", str(adviser.id), before=before, after=adviser_summary(adviser))
    return adviser


def get_adviser(session: Session, actor: Actor, adviser_id: int) -> Adviser:
    if not authz.allowed(actor, READ):
        authz.authorize(actor, BOOK)
    adviser = session.get(Adviser, adviser_id)
    if adviser is None:
        raise NotFound(f"No adviser {adviser_id}.", f"アドバイザー {adviser_id} はいません。")
    return adviser


def list_advisers(session: Session, actor: Actor, *, active_only: bool = False) -> list[Adviser]:
    """Every adviser for the secretariat; the active ones for a member's admin choosing whom to consult."""
    if not authz.allowed(actor, READ):
        authz.authorize(actor, BOOK)
        active_only = True
    query = sa.select(Adviser).order_by(Adviser.name, Adviser.id)
    if active_only:
        query = query.where(Adviser.active.is_(True))
    return list(session.scalars(query))


# --- consultations --------------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class Booking:
    adviser_id: int | None
    member_number: str
    starts_at: dt.datetime | None  # aware, or naive meaning Japan time
    hours: int | None
    topic: str


def month_of(moment: dt.datetime) -> tuple[dt.datetime, dt.datetime]:
    """The Japan-time month holding ``moment``, as [start, end) instants."""
    local = moment.astimezone(JST)
    start = dt.datetime(local.year, local.month, 1, tzinfo=JST)
    end = dt.datetime(local.year + (local.month == 12), local.month % 12 + 1, 1, tzinfo=JST)
    return start, end


def _start_problem(starts_at: dt.datetime | None) -> dict[str, str] | None:
    """A consultation starts at a given time, on the hour or the half hour."""
    if starts_at is None:
        return problem("starts_at", "Enter the date and time.", "日時を入力してください。")
    if starts_at.minute not in (0, 30) or starts_at.second or starts_at.microsecond:
        return problem("starts_at", "Start on the hour or the half hour.", "開始時刻は毎時 0 分か 30 分にしてください。")
    return None


def _booking_problems(booking: Booking) -> list[dict[str, str]]:
    found = [p for p in (text_field_problem("topic", booking.topic, "topic", "相談内容", TOPIC_MAX, required=True),)
             if p is not None]
    if booking.adviser_id is None:
        found.append(problem("adviser_id", "Choose the adviser.", "アドバイザーを選んでください。"))
    if not booking.member_number:
        found.append(problem("member_number", "Choose the member.", "会員を選んでください。"))
    if (wrong_start := _start_problem(booking.starts_at)) is not None:
        found.append(wrong_start)
    if booking.hours is None or not 1 <= booking.hours <= MAX_LENGTH_HOURS:
        found.append(problem("hours", f"The length is a whole number of hours from 1 to {MAX_LENGTH_HOURS}.",
                             f"時間は 1〜{MAX_LENGTH_HOURS} の整数（時間）です。"))
    return found


def consultation_summary(c: Consultation) -> dict[str, Any]:
    return {"adviser_id": c.adviser_id, "member_number": c.member_number, "starts_at": c.starts_at.isoformat(),
            "hours": c.hours, "topic": c.topic, "status": c.status.value, "outcome": c.outcome}


def booked_hours(session: Session, adviser_id: int, moment: dt.datetime) -> int:
    """The hours of the adviser booked or held in the Japan-time month of ``moment``."""
    start, end = month_of(moment)
    return session.scalar(sa.select(sa.func.coalesce(sa.func.sum(Consultation.hours), 0)).where(
        Consultation.adviser_id == adviser_id, Consultation.status != ConsultationStatus.cancelled,
        Consultation.starts_at >= start, Consultation.starts_at < end)) or 0


def _member(session: Session, number: str) -> Any:
    from tenancy.members.models import MemberStatus, Organisation
    org = session.scalars(sa.select(Organisation).where(Organisation.corporate_number == number)).one_or_none()
    if org is None or org.status != MemberStatus.approved:
        raise Invalid(f"Organisation {number} is not a member.", f"法人番号 {number} の団体は会員ではありません。",
                      problems=[problem("member_number", "Choose an approved member.", "会員を選んでください。")])
    return org


def bookable_members(session: Session, actor: Actor) -> list[tuple[str, str]]:
    """(corporate number, name) of the approved member organisations the actor may book for, by reading: every
    one for the secretariat, their own for a member's admin (the booking form's member picker)."""
    from tenancy.members.models import MemberStatus, Organisation
    grant = authz.authorize(actor, BOOK)
    query = sa.select(Organisation.corporate_number, Organisation.name).where(Organisation.status == MemberStatus.approved)
    if not grant.all_tenants:
        query = query.where(Organisation.corporate_number.in_(sorted(grant.tenant_codes)))
    return [(number, name) for number, name in session.execute(
        query.order_by(Organisation.name_kana, Organisation.name, Organisation.corporate_number))]


def book(session: Session, actor: Actor, booking: Booking) -> Consultation:
    """Book a consultation for a member (its organisation admin, or the secretariat for any member)."""
    number = booking.member_number.strip()
    authz.authorize(actor, BOOK, number or None)
    booking = dataclasses.replace(booking, member_number=number, topic=booking.topic.strip())
    if found := _booking_problems(booking):
        raise Invalid("The booking has problems; nothing was booked.", "予約の内容に誤りがあります。予約していません。",
                      problems=found)
    starts_at = booking.starts_at if booking.starts_at.tzinfo else booking.starts_at.replace(tzinfo=JST)
    lock_key(session, "secretariat.adviser", booking.adviser_id)  # before the reads the two rules decide on
    adviser = session.get(Adviser, booking.adviser_id)
    if adviser is None or not adviser.active:
        raise Invalid("Choose an active adviser.", "対応中のアドバイザーを選んでください。",
                      problems=[problem("adviser_id", "Choose an active adviser.", "対応中のアドバイザーを選んでください。")])
    _member(session, number)
    ends_at = starts_at + dt.timedelta(hours=booking.hours)
    live = [c for c in session.scalars(sa.select(Consultation).where(
        Consultation.adviser_id == adviser.id, Consultation.status != ConsultationStatus.cancelled,
        Consultation.starts_at < ends_at, Consultation.starts_at > starts_at - dt.timedelta(hours=MAX_LENGTH_HOURS)))
        if c.ends_at > starts_at]
    if live:
        raise SlotTaken(f"{adviser.name} has another consultation at that time; nothing was booked.",
                        f"{adviser.name} さんはその時間に別の相談が入っています。予約していません。",
                        problems=[problem("starts_at", "The adviser is booked at that time.", "その時間は予約済みです。")])
    used = booked_hours(session, adviser.id, starts_at)
    if used + booking.hours > adviser.monthly_hours:
        left = adviser.monthly_hours - used
        raise AdviserHoursExceeded(
            f"{adviser.name} has {left} of {adviser.monthly_hours} hours left that month; nothing was booked.",
            f"{adviser.name} さんのその月の残り時間は {adviser.monthly_hours} 時間中 {left} 時間です。予約していません。",
            problems=[problem("hours", f"{left} hours left that month.", f"その月の残りは {left} 時間です。")])
    consultation = Consultation(adviser_id=adviser.id, member_number=number, starts_at=starts_at, hours=booking.hours,
                                topic=booking.topic, status=ConsultationStatus.booked, booked_by=actor.recorded_name)
    session.add(consultation)
    session.flush()
    audit.record(session, actor, "adviser.consultation.book", "consultation", str(consultation.id), tenant_code=number,
                 after=consultation_summary(consultation))
    return consultation


def record(session: Session, actor: Actor, consultation_id: int, *, held: bool, outcome: str) -> Consultation:
    """The secretariat records a booked consultation as held (with its outcome) or not held (with why)."""
    authz.authorize(actor, MANAGE)
    lock_key(session, "secretariat.consultation", consultation_id)  # two records at once: the second finds it recorded
    consultation = session.get(Consultation, consultation_id)
    if consultation is None:
        raise NotFound(f"No consultation {consultation_id}.", f"相談 {consultation_id} はありません。")
    move = CONSULTATIONS.move("hold" if held else "cancel", consultation.status, consultation)
    outcome = outcome.strip()
    if (wrong := text_field_problem("outcome", outcome, "outcome", "結果", OUTCOME_MAX, required=True,
                                    single_line=False)) is not None:
        raise Invalid("The record has problems; nothing was saved.", "記録の内容に誤りがあります。保存していません。",
                      problems=[wrong])
    before = consultation_summary(consultation)
    consultation.status = move.target
    consultation.outcome, consultation.recorded_by, consultation.recorded_at = outcome, actor.recorded_name, utcnow()
    session.flush()
    audit.record(session, actor, "adviser.consultation.record", "consultation", str(consultation.id),
                 tenant_code=consultation.member_number, before=before, after=consultation_summary(consultation))
    return consultation


def consultations(session: Session, actor: Actor, *, member_number: str | None = None) -> list[Consultation]:
    """The secretariat sees every consultation; a member's admin those of their member."""
    if member_number is None:
        authz.authorize(actor, READ)
    elif not authz.allowed(actor, READ):
        authz.authorize(actor, BOOK, member_number)
    query = sa.select(Consultation).order_by(Consultation.starts_at.desc(), Consultation.id.desc())
    if member_number is not None:
        query = query.where(Consultation.member_number == member_number)
    return list(session.scalars(query))


@dataclasses.dataclass(frozen=True)
class Held:
    consultations: int
    hours: int


def consultations_held(session: Session, first: dt.date, last: dt.date) -> Held:
    """The consultations held whose start (Japan time) falls from ``first`` to ``last``, and their hours:
    the one count the monthly progress report shows."""
    start = dt.datetime.combine(first, dt.time(), tzinfo=JST)
    end = dt.datetime.combine(last + dt.timedelta(days=1), dt.time(), tzinfo=JST)
    count, hours = session.execute(sa.select(sa.func.count(Consultation.id), sa.func.coalesce(sa.func.sum(Consultation.hours), 0))
                                   .where(Consultation.status == ConsultationStatus.held,
                                          Consultation.starts_at >= start, Consultation.starts_at < end)).one()
    return Held(int(count), int(hours))
