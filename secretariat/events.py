"""Events (イベント・セミナー・コミュニティ会合・研修): the consortium's year of meetings with people.

Rules:

* An event has a kind (:class:`EventKind`), a start and end, a place and an online link, a capacity
  and an audience (:class:`Audience`). The secretariat (``event.manage``: the operator) creates it,
  records attendance on the day and the recording's archive link afterwards.
* Registration: anyone through the public form for an event open to anyone (:func:`register_public`,
  bounded like /join/); signed-in people for the others (:func:`register`, ``event.register``: members'
  people for members' and community events, municipal people for staff training; the operator for
  anyone). One live registration per e-mail address and event.
* Capacity: a registration beyond it goes on the waiting list. A cancellation moves the first on the
  waiting list up, in the same transaction, with the event's row locked (``FOR UPDATE``) by every
  registration, cancellation and promotion, so two at once are counted one after the other: never more
  registered than the capacity, never one place promoted twice.
* Messages through the outbox: confirmation (registered or waiting), promotion, and a reminder
  (:func:`queue_reminders`, the due job, the day before; once per registration).
* Figures (:func:`event_figures`, :func:`year_figures`): registrations, attendance, members and
  non-members (member = an approved member's corporate number at registration), and new members who
  first came to an event (attended as a non-member, approved afterwards). The year's targets per
  kind (:class:`EventTarget`) default to seed 001's figures (:data:`DEFAULT_TARGETS`).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any, Optional

import sqlalchemy as sa
from sqlalchemy.orm import Session
from sqlmodel import Field, SQLModel

from core import audit, authz, outbox
from core.actor import Actor
from core.calendar import JST, add_business_days, fiscal_year_of, jst_day, jst_text_ja, today_jst
from core.codes import corporate_number_problem
from core.db import enum_column, lock_key, timestamp_column, utcnow
from core.errors import Conflict, Invalid, NotFound, problem
from core.labelled import LabelledEnum, labels
from core.lifecycle import IllegalMove, Lifecycle, Move
from core.validation import email_problem, text_field_problem
from secretariat.groups import Group
from secretariat.inquiries import PUBLIC_ISSUER, Addressee, refuse_too_many
from tenancy.registry.prefecture import office_closed_days


class EventKind(LabelledEnum):
    open_event = "open_event", "オープンイベント", "Open event"
    member_seminar = "member_seminar", "会員セミナー", "Member seminar"
    community_meeting = "community_meeting", "コミュニティ会合", "Community meeting"
    workshop = "workshop", "ワークショップ・ハッカソン", "Workshop or hackathon"
    staff_training = "staff_training", "県・市町村職員研修", "Staff training"


class Audience(LabelledEnum):
    anyone = "anyone", "どなたでも", "Anyone"
    members = "members", "会員", "Members"
    community = "community", "コミュニティ", "Community"
    staff = "staff", "県・市町村職員", "Prefecture and municipal staff"


class RegistrationStatus(LabelledEnum):
    registered = "registered", "参加登録済み", "Registered"
    waitlisted = "waitlisted", "キャンセル待ち", "Waiting list"
    cancelled = "cancelled", "取消", "Cancelled"


# Seed 001: one open event of about 200 people; about five member seminars of about 30 (workshops and
# hackathons among them); a community of about 20 companies meeting about five times; staff training
# (seed 003/004: 県及び県内市町職員を対象とした研修, no number stated: one, attendance not set).
DEFAULT_TARGETS: dict[EventKind, tuple[int, int]] = {
    EventKind.open_event: (1, 200), EventKind.member_seminar: (5, 150), EventKind.community_meeting: (5, 100),
    EventKind.workshop: (0, 0), EventKind.staff_training: (1, 0)}

# who may register signed in, by audience (the operator registers anyone for any event)
_AUDIENCE_ROLES = {Audience.anyone: authz.PEOPLE_ROLES, Audience.members: tuple(authz.ORG_ROLES),
                   Audience.community: tuple(authz.ORG_ROLES),
                   Audience.staff: (authz.MUNICIPAL_ADMIN, authz.MUNICIPAL_STAFF)}


class Event(SQLModel, table=True):
    __tablename__ = "secretariat_event"

    id: int | None = Field(default=None, primary_key=True)
    kind: EventKind = Field(sa_column=enum_column(EventKind, length=24, index=True))
    title: str = Field(max_length=200)
    description: str = Field(default="", sa_column=sa.Column(sa.Text, nullable=False, server_default=""))
    starts_at: dt.datetime = Field(sa_column=timestamp_column(nullable=False, index=True))
    ends_at: dt.datetime = Field(sa_column=timestamp_column(nullable=False))
    place: str = Field(default="", max_length=200)
    online_url: str = Field(default="", max_length=500)
    capacity: int
    audience: Audience = Field(sa_column=enum_column(Audience, length=16))
    archive_url: str = Field(default="", max_length=500)
    # the community or working group a community meeting is of (secretariat.groups), shown on the group's page
    group_id: Optional[int] = Field(default=None, foreign_key="secretariat_group.id", index=True)
    created_at: dt.datetime = Field(default_factory=utcnow, sa_column=timestamp_column(nullable=False))


class EventRegistration(SQLModel, table=True):
    __tablename__ = "secretariat_event_registration"

    id: int | None = Field(default=None, primary_key=True)
    event_id: int = Field(foreign_key="secretariat_event.id", index=True)
    name: str = Field(max_length=100)
    email: str = Field(max_length=254)
    organisation_name: str = Field(default="", max_length=200)
    corporate_number: str = Field(default="", max_length=13, index=True)
    member_at_registration: bool = Field(default=False)
    subject: str = Field(default="", max_length=255)  # the signed-in person's identity, "" from the public form
    status: RegistrationStatus = Field(sa_column=enum_column(RegistrationStatus, length=16, checked=True, index=True))
    attended: bool = Field(default=False)
    source_ip: str = Field(default="", max_length=64)
    registered_at: dt.datetime = Field(default_factory=utcnow, sa_column=timestamp_column(nullable=False))
    cancelled_at: Optional[dt.datetime] = Field(default=None, sa_column=timestamp_column(nullable=True))


class EventTarget(SQLModel, table=True):
    """The year's target of one kind: how many events and how many attendances in all."""

    __tablename__ = "secretariat_event_target"
    __table_args__ = (sa.UniqueConstraint("fiscal_year", "kind"),)

    id: int | None = Field(default=None, primary_key=True)
    fiscal_year: int
    kind: EventKind = Field(sa_column=enum_column(EventKind, length=24))
    events: int
    attendance: int


# --- registration lifecycle: one exception per illegal move ---------------------------------------

class CannotPromote(IllegalMove):
    """Only a registration on the waiting list moves up."""


class CannotCancel(IllegalMove):
    """A cancelled registration cannot be cancelled again."""


R = RegistrationStatus
_REFUSALS = {"promote": CannotPromote, "cancel": CannotCancel}


def _refusal(move: Move, status: RegistrationStatus, registration: Any) -> IllegalMove:
    ja, en = status.label
    return _REFUSALS[move.name](f"The registration is {en.lower()}; it cannot {move.label_en}. Nothing was changed.",
                                f"この参加登録は「{ja}」のため「{move.label_ja}」できません。変更は行っていません。",
                                status=status.value, move=move.name)


REGISTRATIONS = Lifecycle("参加登録", "registration", RegistrationStatus, labels(RegistrationStatus), (
    Move("promote", frozenset({R.waitlisted}), R.registered, "繰り上げ", "move up"),
    Move("cancel", frozenset({R.registered, R.waitlisted}), R.cancelled, "取消", "cancel"),
), initial=(R.registered, R.waitlisted), refusal=_refusal)


class EventFull(Conflict):
    """Not raised for capacity (the waiting list takes it); raised when the event has ended."""


# --- events ---------------------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class EventDraft:
    kind: str
    title: str
    starts_at: dt.datetime
    ends_at: dt.datetime
    capacity: int
    audience: str
    place: str = ""
    online_url: str = ""
    description: str = ""
    group_id: int | None = None


def _url_problem(field: str, value: str) -> dict[str, str] | None:
    if value and not (value.startswith("https://") or value.startswith("http://")) or len(value) > 500:
        return problem(field, "Enter an address starting with https:// (at most 500 characters).",
                       "https:// で始まるアドレス（500 文字以内）を入力してください。")
    return text_field_problem(field, value, "address", "アドレス", 500)


def _choice_problems(draft: EventDraft) -> list[dict[str, str]]:
    """The event's kind and audience, each one of those offered."""
    found = []
    if draft.kind not in {k.value for k in EventKind}:
        found.append(problem("kind", "Choose the kind.", "種類を選んでください。"))
    if draft.audience not in {a.value for a in Audience}:
        found.append(problem("audience", "Choose the audience.", "対象を選んでください。"))
    return found


def event_problems(draft: EventDraft) -> list[dict[str, str]]:
    found = _choice_problems(draft) + [p for p in (
        text_field_problem("title", draft.title, "title", "名称", 200, required=True),
        text_field_problem("place", draft.place, "place", "会場", 200),
        text_field_problem("description", draft.description, "description", "内容", 8000, single_line=False),
        _url_problem("online_url", draft.online_url),
    ) if p is not None]
    if not 1 <= draft.capacity <= 100_000:
        found.append(problem("capacity", "The capacity is a whole number from 1 to 100000.", "定員は 1〜100000 の整数です。"))
    if draft.ends_at <= draft.starts_at:
        found.append(problem("ends_at", "The end must be after the start.", "終了は開始より後にしてください。"))
    if not draft.place and not draft.online_url:
        found.append(problem("place", "Enter a place or an online link (or both).", "会場かオンラインのアドレス（または両方）を入力してください。"))
    return found


def _group_problems(session: Session, draft: EventDraft) -> list[dict[str, str]]:
    """Only a community meeting names a group (the community or a working group), and an existing one."""
    if draft.group_id is None:
        return []
    if draft.kind != EventKind.community_meeting.value:
        return [problem("group_id", "Only a community meeting names its group.",
                        "グループを指定できるのはコミュニティ会合だけです。")]
    if session.get(Group, draft.group_id) is None:
        return [problem("group_id", f"No group {draft.group_id}.", f"グループ {draft.group_id} はありません。")]
    return []


def group_events(session: Session, actor: Actor, group_id: int) -> list[Event]:
    """The community meetings held as events of a group, the latest first (the group's page lists them)."""
    authz.authorize(actor, "event.read")
    return list(session.scalars(sa.select(Event).where(Event.group_id == group_id)
                                .order_by(Event.starts_at.desc(), Event.id.desc())))


def create_event(session: Session, actor: Actor, draft: EventDraft) -> Event:
    authz.authorize(actor, "event.manage")
    draft = dataclasses.replace(draft, title=draft.title.strip(), place=draft.place.strip(),
                                online_url=draft.online_url.strip(), description=draft.description.strip())
    found = event_problems(draft) + _group_problems(session, draft)
    if found:
        raise Invalid("The event has problems; nothing was saved.", "イベントの内容に誤りがあります。保存していません。",
                      problems=found)
    event = Event(**{**dataclasses.asdict(draft), "kind": EventKind(draft.kind), "audience": Audience(draft.audience)})
    session.add(event)
    session.flush()
    audit.record(session, actor, "event.create", "event", str(event.id), after=event_summary(event))
    return event


def event_summary(event: Event) -> dict[str, Any]:
    return {"event_kind": event.kind.value, "title": event.title, "starts_at": event.starts_at.isoformat(),
            "capacity": event.capacity, "event_audience": event.audience.value, "place": event.place,
            "online_url": event.online_url, "archive_url": event.archive_url, "group_id": event.group_id}


def get_event(session: Session, event_id: int, *, lock: bool = False) -> Event:
    """The event; ``lock`` holds it until the transaction ends (:func:`core.db.lock_key`, and its row
    on PostgreSQL) and reads it anew, so that registrations, cancellations and attendance of one event
    queue up and each counts the places after the one before."""
    query = sa.select(Event).where(Event.id == event_id)
    if lock:
        lock_key(session, "secretariat.event", event_id)
        query = query.with_for_update().execution_options(populate_existing=True)
    event = session.scalars(query).one_or_none()
    if event is None:
        raise NotFound(f"No event {event_id}.", f"イベント {event_id} はありません。")
    return event


def list_events(session: Session, actor: Actor, *, fiscal_year: int | None = None) -> list[Event]:
    authz.authorize(actor, "event.read")
    query = sa.select(Event).order_by(Event.starts_at, Event.id)
    if fiscal_year is not None:
        start = dt.datetime(fiscal_year, 4, 1, tzinfo=JST)
        query = query.where(Event.starts_at >= start, Event.starts_at < start.replace(year=fiscal_year + 1))
    return list(session.scalars(query))


def open_events(session: Session, *, now: dt.datetime | None = None) -> list[Event]:
    """Events open to anyone that have not begun: the public page's list."""
    return list(session.scalars(sa.select(Event).where(Event.audience == Audience.anyone,
                                                       Event.starts_at > (now or utcnow())).order_by(Event.starts_at)))


def _runs_events(actor: Actor) -> bool:
    """Whether the actor runs the events (the operator or the contracted secretariat): they register anyone for
    any event and cancel any registration."""
    return authz.allowed(actor, "event.manage")


def events_open_to(session: Session, actor: Actor, *, now: dt.datetime | None = None) -> list[Event]:
    """Events not yet begun whose audience the actor belongs to (the operator: every one)."""
    authz.authorize(actor, "event.register")
    rows = session.scalars(sa.select(Event).where(Event.starts_at > (now or utcnow())).order_by(Event.starts_at))
    return [event for event in rows
            if _runs_events(actor) or set(actor.roles) & set(_AUDIENCE_ROLES[event.audience])]


def event_archive(session: Session, actor: Actor, *, now: dt.datetime | None = None) -> list[Event]:
    """The members' site's archive (issue 58 item 2): events that have begun and have an archive link, the latest
    first, whose audience the actor belongs to (a member's people: events for anyone, members and the community; a
    municipality's: events for anyone and staff training); the desk and the auditor see every one. Never anonymous."""
    authz.authorize(actor, "event.archive")
    rows = session.scalars(sa.select(Event).where(Event.starts_at <= (now or utcnow()), Event.archive_url != "")
                           .order_by(Event.starts_at.desc(), Event.id.desc()))
    desk = authz.allowed(actor, "event.read")
    return [event for event in rows if desk or set(actor.roles) & set(_AUDIENCE_ROLES[event.audience])]


def set_archive(session: Session, actor: Actor, event_id: int, url: str, *, now: dt.datetime | None = None) -> Event:
    """The recording's archive link, once the event has begun."""
    authz.authorize(actor, "event.manage")
    event = get_event(session, event_id)
    url = (url or "").strip()
    wrong = _url_problem("archive_url", url) or (None if url else problem("archive_url", "Enter the link.",
                                                                         "アーカイブのアドレスを入力してください。"))
    if wrong is None and event.starts_at > (now or utcnow()):
        wrong = problem("archive_url", "The event has not taken place yet.", "イベントはまだ開催されていません。")
    if wrong is not None:
        raise Invalid("The archive link was not saved.", "アーカイブのアドレスを保存できません。", problems=[wrong])
    before, event.archive_url = event.archive_url, url
    session.flush()
    audit.record(session, actor, "event.archive", "event", str(event.id), before={"archive_url": before},
                 after={"archive_url": url})
    return event


# --- registration -----------------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class Registrant:
    name: str
    email: str
    organisation_name: str = ""
    corporate_number: str = ""


def _registrant_problems(who: Registrant) -> list[dict[str, str]]:
    found = [p for p in (text_field_problem("name", who.name, "name", "氏名", 100, required=True),
                         email_problem("email", who.email),
                         text_field_problem("organisation_name", who.organisation_name, "organisation", "所属", 200))
             if p is not None]
    if who.corporate_number and (why := corporate_number_problem(who.corporate_number)):
        found.append(problem("corporate_number", *why))
    return found


def _is_member(session: Session, corporate_number: str) -> bool:
    from tenancy.members.models import MemberStatus, Organisation

    return bool(corporate_number) and session.scalar(sa.select(Organisation.id).where(
        Organisation.corporate_number == corporate_number, Organisation.status == MemberStatus.approved)) is not None


def _live(session: Session, event: Event, status: RegistrationStatus | None = None):
    query = sa.select(EventRegistration).where(EventRegistration.event_id == event.id,
                                               EventRegistration.status != R.cancelled)
    return query.where(EventRegistration.status == status) if status is not None else query


def _count(session: Session, event: Event, status: RegistrationStatus) -> int:
    return session.scalar(sa.select(sa.func.count()).select_from(_live(session, event, status).subquery()))


def _message(session: Session, event: Event, registration: EventRegistration, kind: str, dedupe: str | None = None):
    when = jst_text_ja(event.starts_at)
    where = "、".join(part for part in (event.place, event.online_url) if part)
    words = {"event.registered": ("参加登録を受け付けました", "参加登録を受け付けました。当日お待ちしています。"),
             "event.waitlisted": ("キャンセル待ちで受け付けました", "定員に達したため、キャンセル待ちで受け付けました。"
                                  "空きが出ましたら順に繰り上げてお知らせします。"),
             "event.promoted": ("参加が確定しました", "キャンセルが出たため、キャンセル待ちから参加登録に繰り上がりました。"),
             "event.reminder": ("開催のご案内", "明日以降に開催します。お気をつけてお越しください。")}[kind]
    addressee = Addressee(registration.corporate_number or None, registration.email)
    return outbox.queue(session, kind=kind, tenant=addressee, dedupe_key=dedupe,
                        subject=f"【{words[0]}】{event.title}",
                        body=f"{registration.name} 様\n\n{words[1]}\n\n{event.title}\n日時：{when}\n会場：{where}\n")


def _add(session: Session, actor: Actor, event: Event, who: Registrant, *, subject: str = "",
         source_ip: str = "", now: dt.datetime) -> EventRegistration:
    """Register ``who`` on ``event`` (its row locked by the caller): a place if one is free, else the waiting list."""
    if event.starts_at <= now:
        raise EventFull("The event has begun; registration is closed.", "イベントは開始しているため登録を締め切りました。",
                        problems=[problem("event", "registration closed", "登録締切")])
    if session.scalar(sa.select(EventRegistration.id).where(
            EventRegistration.event_id == event.id, EventRegistration.status != R.cancelled,
            sa.func.lower(EventRegistration.email) == who.email.lower())) is not None:
        raise Conflict("This address is already registered for the event.", "このメールアドレスは登録済みです。",
                       problems=[problem("email", "already registered", "登録済みです")])
    status = R.registered if _count(session, event, R.registered) < event.capacity else R.waitlisted
    registration = EventRegistration(event_id=event.id, name=who.name, email=who.email,
                                     organisation_name=who.organisation_name, corporate_number=who.corporate_number,
                                     member_at_registration=_is_member(session, who.corporate_number),
                                     subject=subject, status=status, source_ip=source_ip[:64], registered_at=now)
    session.add(registration)
    session.flush()
    audit.record(session, actor, "event.register", "event", str(event.id),
                 after={"registration_id": registration.id, "registration_status": status.value,
                        "member_registrant": registration.member_at_registration})
    _message(session, event, registration, f"event.{status.value}")
    return registration


def _clean(who: Registrant) -> Registrant:
    return Registrant(*(value.strip() for value in dataclasses.astuple(who)))


def register(session: Session, actor: Actor, event_id: int, who: Registrant, *,
             now: dt.datetime | None = None) -> EventRegistration:
    """A signed-in person registers (or the operator registers someone) for an event of their audience."""
    authz.authorize(actor, "event.register")
    who = _clean(who)
    if found := _registrant_problems(who):
        raise Invalid("The registration has problems.", "参加登録の内容に誤りがあります。", problems=found)
    event = get_event(session, event_id, lock=True)
    if not _runs_events(actor) and not set(actor.roles) & set(_AUDIENCE_ROLES[event.audience]):
        label = event.audience.label
        raise authz.NotPermitted(f"This event is for {label[1].lower()}.", f"このイベントの対象は「{label[0]}」です。",
                                 action="event.register")
    if not _runs_events(actor) and set(actor.roles) & authz.ORG_ROLES and actor.tenant_codes:
        who = dataclasses.replace(who, corporate_number=sorted(actor.tenant_codes)[0])
    return _add(session, actor, event, who, subject=actor.subject if not _runs_events(actor) else "",
                now=now or utcnow())


def register_public(session: Session, event_id: int, who: Registrant, *, source_ip: str, hourly_limit: int = 5,
                    request_id: str | None = None, now: dt.datetime | None = None) -> EventRegistration:
    """Registration through the public form (no account): events open to anyone only."""
    now = now or utcnow()
    who = _clean(who)
    if found := _registrant_problems(who):
        raise Invalid("The registration has problems.", "参加登録の内容に誤りがあります。", problems=found)
    refuse_too_many(session, EventRegistration.source_ip, EventRegistration.registered_at, source_ip, now, hourly_limit)
    event = get_event(session, event_id, lock=True)
    if event.audience is not Audience.anyone:
        raise NotFound(f"No public event {event_id}.", f"公開のイベント {event_id} はありません。")
    actor = Actor(issuer=PUBLIC_ISSUER, subject=f"registrant:{who.email.lower()}", name=who.name,
                  request_id=request_id, source_ip=source_ip)
    return _add(session, actor, event, who, source_ip=source_ip or "", now=now)


def cancel(session: Session, actor: Actor, registration_id: int) -> tuple[EventRegistration, EventRegistration | None]:
    """Cancel a registration (its own person, or the operator); the first on the waiting list moves up
    when a place came free. Returns (the cancelled one, the one promoted or None)."""
    authz.authorize(actor, "event.register")
    registration = session.get(EventRegistration, registration_id)
    if registration is None or (not _runs_events(actor) and registration.subject != actor.subject):
        raise NotFound(f"No registration {registration_id}.", f"参加登録 {registration_id} はありません。")
    event = get_event(session, registration.event_id, lock=True)
    session.refresh(registration)  # read again under the event's lock: a concurrent cancel may have won
    before = registration.status
    registration.status = REGISTRATIONS.move("cancel", registration.status, registration).target
    registration.cancelled_at = utcnow()
    session.flush()
    with audit.act(session, actor, "event.cancel", "event", str(event.id)):
        audit.record(session, actor, "event.cancel", "event", str(event.id), before={"registration_status": before.value},
                     after={"registration_id": registration.id, "registration_status": "cancelled"})
        promoted = _promote(session, actor, event)
    return registration, promoted


def _promote(session: Session, actor: Actor, event: Event) -> EventRegistration | None:
    if _count(session, event, R.registered) >= event.capacity:
        return None
    first = session.scalars(_live(session, event, R.waitlisted).order_by(EventRegistration.id).limit(1)).first()
    if first is None:
        return None
    first.status = REGISTRATIONS.move("promote", first.status, first).target
    session.flush()
    audit.record(session, actor, "event.promote", "event", str(event.id),
                 after={"registration_id": first.id, "registration_status": first.status.value})
    _message(session, event, first, "event.promoted")
    return first


def registrations_of(session: Session, actor: Actor, event_id: int) -> list[EventRegistration]:
    authz.authorize(actor, "event.manage")
    return list(session.scalars(sa.select(EventRegistration).where(EventRegistration.event_id == event_id)
                                .order_by(EventRegistration.id)))


def my_registrations(session: Session, actor: Actor) -> dict[int, EventRegistration]:
    """The signed-in person's live registrations, by event id."""
    rows = session.scalars(sa.select(EventRegistration).where(EventRegistration.subject == actor.subject,
                                                              EventRegistration.status != R.cancelled))
    return {row.event_id: row for row in rows} if actor.subject else {}


def record_attendance(session: Session, actor: Actor, event_id: int, attended_ids: set[int], *,
                      today: dt.date | None = None) -> int:
    """On the day (or after): mark who came among the registered; the others not. Returns how many came."""
    authz.authorize(actor, "event.manage")
    event = get_event(session, event_id, lock=True)
    if jst_day(event.starts_at) > (today or today_jst()):
        raise Invalid("Attendance is recorded on the day of the event or after.", "出欠は開催日以降に記録します。",
                      problems=[problem("attended", "not before the day", "開催日より前は記録できません")])
    registered = list(session.scalars(_live(session, event, R.registered)))
    unknown = attended_ids - {row.id for row in registered}
    if unknown:
        raise Invalid("Only registered people can be marked as attending.", "参加登録済みの人だけを出席にできます。",
                      problems=[problem("attended", f"not registered: {sorted(unknown)[:10]}", "登録のない番号があります")])
    before = sorted(row.id for row in registered if row.attended)
    for row in registered:
        row.attended = row.id in attended_ids
    session.flush()
    audit.record(session, actor, "event.attendance", "event", str(event.id), before={"attended": before},
                 after={"attended": sorted(attended_ids)})
    return len(attended_ids)


def queue_reminders(session: Session, actor: Actor, *, now: dt.datetime | None = None) -> int:
    """A reminder to everyone registered for an event that begins on the next business day or sooner (and has
    not begun); once per registration (the outbox's dedupe key). Returns how many were queued."""
    authz.authorize(actor, "event.manage")
    now = now or utcnow()
    horizon = dt.datetime.combine(add_business_days(today_jst(now), 1, office_closed_days(session)) + dt.timedelta(days=1),
                                  dt.time(), JST)
    rows = session.execute(sa.select(Event, EventRegistration).join(EventRegistration).where(
        Event.starts_at > now, Event.starts_at < horizon, EventRegistration.status == R.registered)).all()
    queued = sum(_message(session, event, row, "event.reminder", dedupe=f"event-reminder:{row.id}") is not None
                 for event, row in rows)
    if queued:
        audit.record(session, actor, "event.remind", "event", "reminders", after={"queued": queued})
    return queued


# --- targets and figures ------------------------------------------------------------------------------

def targets_of(session: Session, actor: Actor, fiscal_year: int) -> dict[EventKind, tuple[int, int]]:
    """The year's targets per kind: those set, else seed 001's defaults."""
    authz.authorize(actor, "event.read")
    rows = session.scalars(sa.select(EventTarget).where(EventTarget.fiscal_year == fiscal_year))
    return {**DEFAULT_TARGETS, **{row.kind: (row.events, row.attendance) for row in rows}}


def _target_problems(fiscal_year: int, kind: str, events: int, attendance: int) -> list[dict[str, str]]:
    """A target's kind offered, its counts and fiscal year within their ranges."""
    return [p for p in (
        None if kind in {k.value for k in EventKind} else problem("kind", "Choose the kind.", "種類を選んでください。"),
        None if 0 <= events <= 1000 else problem("events", "0 to 1000", "0〜1000 の整数"),
        None if 0 <= attendance <= 1_000_000 else problem("attendance", "0 to 1000000", "0〜1000000 の整数"),
        None if 1989 <= fiscal_year <= 2100 else problem("fiscal_year", "FY1989-FY2100", "1989〜2100 年度")) if p]


def set_target(session: Session, actor: Actor, fiscal_year: int, kind: str, events: int, attendance: int) -> EventTarget:
    authz.authorize(actor, "event.manage")
    found = _target_problems(fiscal_year, kind, events, attendance)
    if found:
        raise Invalid("The target was not saved.", "目標を保存できません。", problems=found)
    row = session.scalars(sa.select(EventTarget).where(EventTarget.fiscal_year == fiscal_year,
                                                       EventTarget.kind == EventKind(kind))).one_or_none()
    before = (row.events, row.attendance) if row else DEFAULT_TARGETS[EventKind(kind)]
    if row is None:
        row = EventTarget(fiscal_year=fiscal_year, kind=EventKind(kind), events=events, attendance=attendance)
        session.add(row)
    row.events, row.attendance = events, attendance
    session.flush()
    audit.record(session, actor, "event.target", "event_target", f"{fiscal_year}:{kind}",
                 before={"events": before[0], "attendance": before[1]}, after={"events": events, "attendance": attendance})
    return row


@dataclasses.dataclass(frozen=True)
class Figures:
    """Registrations (live: registered and waiting), waiting, attended, attended members and non-members,
    and attendees who became members after that event, their first."""

    registrations: int = 0
    waitlisted: int = 0
    attended: int = 0
    members: int = 0
    non_members: int = 0
    new_members: int = 0

    def __add__(self, other: Figures) -> Figures:
        return Figures(*(a + b for a, b in zip(dataclasses.astuple(self), dataclasses.astuple(other))))


def _first_attended(session: Session) -> dict[str, tuple[dt.datetime, int]]:
    """Each corporate number's first attended event: (its start, its id)."""
    rows = session.execute(sa.select(EventRegistration.corporate_number, Event.starts_at, Event.id)
                           .join(Event).where(EventRegistration.attended, EventRegistration.corporate_number != "")
                           .order_by(Event.starts_at, Event.id)).all()
    first: dict[str, tuple[dt.datetime, int]] = {}
    for number, starts_at, event_id in rows:
        first.setdefault(number, (starts_at, event_id))
    return first


def _joined_after(session: Session) -> dict[str, dt.datetime]:
    from tenancy.members.models import MemberStatus, Organisation

    return {number: decided for number, decided in session.execute(
        sa.select(Organisation.corporate_number, Organisation.decided_at).where(
            Organisation.status == MemberStatus.approved, Organisation.decided_at.is_not(None)))}


def _new_members(event: Event, came: list, first: dict, joined: dict) -> set[str]:
    """The corporate numbers of attendees, not members at registration, for whom the event was their first
    attended one and who joined after it."""
    return {row.corporate_number for row in came if not row.member_at_registration and row.corporate_number
            and first.get(row.corporate_number, (None, None))[1] == event.id
            and row.corporate_number in joined and joined[row.corporate_number] > event.starts_at}


def _figures(session: Session, event: Event, first: dict, joined: dict) -> Figures:
    rows = list(session.scalars(_live(session, event)))
    came = [row for row in rows if row.attended]
    new = _new_members(event, came, first, joined)
    return Figures(registrations=len(rows), waitlisted=sum(row.status is R.waitlisted for row in rows),
                   attended=len(came), members=sum(row.member_at_registration for row in came),
                   non_members=sum(not row.member_at_registration for row in came), new_members=len(new))


def event_figures(session: Session, actor: Actor, event_id: int) -> Figures:
    authz.authorize(actor, "event.read")
    return _figures(session, get_event(session, event_id), _first_attended(session), _joined_after(session))


@dataclasses.dataclass(frozen=True)
class KindYear:
    kind: EventKind
    events_held: int
    events_target: int
    attendance_target: int
    figures: Figures


def year_figures(session: Session, actor: Actor, fiscal_year: int, *, now: dt.datetime | None = None) -> list[KindYear]:
    """Per kind: events held in the fiscal year (begun by ``now``), their figures, against the targets."""
    targets = targets_of(session, actor, fiscal_year)
    now = now or utcnow()
    first, joined = _first_attended(session), _joined_after(session)
    by_kind: dict[EventKind, list[Event]] = {kind: [] for kind in EventKind}
    for event in list_events(session, actor, fiscal_year=fiscal_year):
        if event.starts_at <= now:
            by_kind[event.kind].append(event)
    return [KindYear(kind, len(events), *targets[kind],
                     sum((_figures(session, e, first, joined) for e in events), Figures()))
            for kind, events in by_kind.items()]


def fiscal_year_of_event(event: Event) -> int:
    return fiscal_year_of(event.starts_at)
