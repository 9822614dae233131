"""Mailings to members by segment, with opt-out (会員へのメール配信, issue 58 item 3).

Rules:

* The secretariat (``mailing.send``: the operator or the contracted secretariat) writes a **mailing**: its
  kind, a subject and a Japanese plain-text body, and its **segment** (:class:`Segment`): members by industry
  (日本標準産業分類 major groups), size band, head office's municipality (全国地方公共団体コード), community or
  working group (:mod:`secretariat.groups`), attendance at chosen events (:mod:`secretariat.events`, marked
  attended under the member's corporate number) and joining on or after a date. Within one criterion any
  value matches; a member must match every criterion given. Only approved members are ever addressed.
* A mailing's **kind** is an announcement (:attr:`MailingKind.advertising`, 特定電子メール法's advertising mail:
  each message carries the sender and a link to stop such mail) or a **service notice**
  (:attr:`MailingKind.service`, not advertising: marked 【事務連絡】 as such, and sent to every member of the
  segment, including those who stopped announcements).
* :func:`preview` counts the recipients before anything is saved or sent; :func:`send_mailing` queues one
  message per recipient in the outbox (:mod:`core.outbox`, never sent directly), to the member's contact, once
  (a draft is sent once: :data:`MAILINGS`; each message has its dedupe key). It is irreversible and the page
  asks first.
* The **unsubscribe link** is signed (:func:`unsubscribe_token`: HMAC-SHA256 of the member's corporate number
  under the installation's secret key), so it works without signing in; opening it shows a button and only
  the POST stops announcements (:func:`unsubscribe`). A member's own admin (or the secretariat) sets the
  preference on the member's page (:func:`set_preference`, ``mailing.preference``). Members without a
  preference row receive announcements.

Every act is audited: ``mailing.create``, ``mailing.send`` (with the recipients' corporate numbers),
``mailing.unsubscribe`` (by the link) and ``mailing.preference`` (on the member's page).
"""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import hashlib
import hmac
import json
from collections.abc import Callable
from typing import Any, Optional

import sqlalchemy as sa
from sqlalchemy.orm import Session
from sqlmodel import Field, SQLModel

from core import audit, authz, codes, outbox
from core.actor import Actor
from core.calendar import day_text
from core.codes import INDUSTRY_MAJOR_GROUPS
from core.db import enum_column, timestamp_column, utcnow
from core.errors import Conflict, Invalid, NotFound, problem
from core.labelled import LabelledEnum, labels
from core.lifecycle import Lifecycle, Move
from core.validation import text_field_problem
from secretariat.events import Event, EventRegistration
from secretariat.groups import Group, GroupMember
from tenancy.members.models import MemberStatus, Organisation, SizeBand
from tenancy.registry.prefecture import consortium_name

READ, SEND, PREFERENCE = "mailing.read", "mailing.send", "mailing.preference"
SUBJECT_MAX, BODY_MAX = 150, 20_000
PUBLIC_ISSUER = "urn:renkei:public"
_TOKEN_CONTEXT = b"renkei.mailing.unsubscribe:"


class MailingKind(LabelledEnum):
    advertising = "advertising", "ご案内（広告・宣伝を含む。配信停止できます）", "Announcement (may advertise; members may opt out)"
    service = "service", "事務連絡（広告・宣伝ではありません。配信停止の対象外）", "Service notice (not advertising; always sent)"


class MailingStatus(LabelledEnum):
    draft = "draft", "下書き", "Draft"
    sent = "sent", "送信済み", "Sent"


SUBJECT_MARK = {MailingKind.advertising: "【ご案内】", MailingKind.service: "【事務連絡】"}
OUTBOX_KIND = {MailingKind.advertising: "mailing.advertising", MailingKind.service: "mailing.service"}

MAILINGS = Lifecycle("会員へのメール配信", "mailing", MailingStatus, labels(MailingStatus), (
    Move("send", frozenset({MailingStatus.draft}), MailingStatus.sent, "送信", "send", grant=SEND),
), initial=(MailingStatus.draft,))
"""A mailing is written as a draft and sent once (:func:`send_mailing`)."""


class Mailing(SQLModel, table=True):
    __tablename__ = "secretariat_mailing"

    id: int | None = Field(default=None, primary_key=True)
    kind: MailingKind = Field(sa_column=enum_column(MailingKind, length=16, checked=True))
    subject: str = Field(max_length=SUBJECT_MAX)
    body: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    segment: str = Field(sa_column=sa.Column(sa.Text, nullable=False))  # the Segment as JSON
    status: MailingStatus = Field(sa_column=enum_column(MailingStatus, length=16, checked=True, index=True))
    created_by: str = Field(max_length=255)
    created_at: dt.datetime = Field(default_factory=utcnow, sa_column=timestamp_column(nullable=False))
    sent_by: str = Field(default="", max_length=255)
    sent_at: Optional[dt.datetime] = Field(default=None, sa_column=timestamp_column(nullable=True))
    recipient_count: int = Field(default=0)
    opted_out_count: int = Field(default=0)  # members of the segment left out: they stopped announcements


class MailPreference(SQLModel, table=True):
    """A member's choice about announcements; a member without a row receives them."""

    __tablename__ = "secretariat_mail_preference"

    corporate_number: str = Field(primary_key=True, max_length=13)
    advertising: bool
    via: str = Field(max_length=16)  # "link" (the unsubscribe link) or "page" (the member's page)
    changed_by: str = Field(max_length=255)
    changed_at: dt.datetime = Field(default_factory=utcnow, sa_column=timestamp_column(nullable=False))


# --- the segment ------------------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class Segment:
    """Who a mailing is for: every criterion given must match (any of its values); none given: every member."""

    industries: tuple[str, ...] = ()          # 日本標準産業分類 major group letters
    size_bands: tuple[str, ...] = ()          # SizeBand values
    municipality_codes: tuple[str, ...] = ()  # the head office's 全国地方公共団体コード
    group_ids: tuple[int, ...] = ()           # communities and working groups
    event_ids: tuple[int, ...] = ()           # events the member attended
    joined_since: dt.date | None = None       # joined on or after

    def as_json(self) -> str:
        data = {key: list(value) for key, value in dataclasses.asdict(self).items() if key != "joined_since"}
        data["joined_since"] = self.joined_since.isoformat() if self.joined_since else None
        return json.dumps(data, ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str) -> Segment:
        data = json.loads(text)
        since = data.pop("joined_since", None)
        return cls(**{key: tuple(value) for key, value in data.items()},
                   joined_since=dt.date.fromisoformat(since) if since else None)


def _all_exist(session: Session, id_column: Any, ids: tuple[int, ...]) -> bool:
    """Whether every one of ``ids`` (none: true) names a row of ``id_column``'s table."""
    if not ids:
        return True
    return len(set(session.scalars(sa.select(id_column).where(id_column.in_(ids))))) == len(set(ids))


def segment_problems(session: Session, segment: Segment) -> list[dict[str, str]]:
    found = []
    if any(letter not in INDUSTRY_MAJOR_GROUPS for letter in segment.industries):
        found.append(problem("industries", "Choose the industries from the list.", "業種を一覧から選んでください。"))
    if any(band not in {b.value for b in SizeBand} for band in segment.size_bands):
        found.append(problem("size_bands", "Choose the sizes from the list.", "規模を一覧から選んでください。"))
    if any(codes.code_problem(code) for code in segment.municipality_codes):
        found.append(problem("municipality_codes", "Choose the municipalities from the list.", "所在地を一覧から選んでください。"))
    if not _all_exist(session, Group.id, segment.group_ids):
        found.append(problem("group_ids", "Choose the groups from the list.", "グループを一覧から選んでください。"))
    if not _all_exist(session, Event.id, segment.event_ids):
        found.append(problem("event_ids", "Choose the events from the list.", "イベントを一覧から選んでください。"))
    return found


def _members_of(session: Session, segment: Segment) -> list[Organisation]:
    query = sa.select(Organisation).where(Organisation.status == MemberStatus.approved)
    if segment.industries:
        query = query.where(Organisation.industry.in_(segment.industries))
    if segment.size_bands:
        query = query.where(Organisation.size_band.in_(segment.size_bands))
    if segment.municipality_codes:
        query = query.where(Organisation.municipality_code.in_(segment.municipality_codes))
    if segment.group_ids:
        query = query.where(Organisation.corporate_number.in_(
            sa.select(GroupMember.corporate_number).where(GroupMember.group_id.in_(segment.group_ids))))
    if segment.event_ids:
        query = query.where(Organisation.corporate_number.in_(
            sa.select(EventRegistration.corporate_number).where(EventRegistration.event_id.in_(segment.event_ids),
                                                                EventRegistration.attended.is_(True))))
    if segment.joined_since is not None:
        query = query.where(Organisation.joined_on >= segment.joined_since)
    return list(session.scalars(query.order_by(Organisation.corporate_number)))


def _opted_out(session: Session) -> set[str]:
    return set(session.scalars(sa.select(MailPreference.corporate_number).where(MailPreference.advertising.is_(False))))


@dataclasses.dataclass(frozen=True)
class Preview:
    """Who a mailing of ``kind`` to a segment reaches now, and the segment's members it leaves out."""

    recipients: list[Organisation]
    opted_out: list[Organisation]


def _split(session: Session, kind: MailingKind, segment: Segment) -> Preview:
    members = _members_of(session, segment)
    if kind != MailingKind.advertising:
        return Preview(members, [])
    stopped = _opted_out(session)
    return Preview([org for org in members if org.corporate_number not in stopped],
                   [org for org in members if org.corporate_number in stopped])


def _kind(value: str) -> MailingKind:
    try:
        return MailingKind(value)
    except ValueError:
        raise Invalid("Choose the kind of mailing.", "配信の種類を選んでください。",
                      problems=[problem("kind", "Choose the kind.", "種類を選んでください。")]) from None


def preview(session: Session, actor: Actor, kind: str, segment: Segment) -> Preview:
    """The recipients a mailing would have now (nothing saved)."""
    authz.authorize(actor, READ)
    kind = _kind(kind)
    if found := segment_problems(session, segment):
        raise Invalid("The audience has errors.", "配信先の条件に誤りがあります。", problems=found)
    return _split(session, kind, segment)


# --- writing and sending ----------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class MailingDraft:
    kind: str
    subject: str
    body: str
    segment: Segment = Segment()


def mailing_summary(mailing: Mailing) -> dict[str, Any]:
    return {"kind": MailingKind(mailing.kind).value, "subject": mailing.subject, "segment": json.loads(mailing.segment),
            "status": MailingStatus(mailing.status).value}


def create_mailing(session: Session, actor: Actor, draft: MailingDraft) -> Mailing:
    """A mailing written as a draft (nothing is sent)."""
    authz.authorize(actor, SEND)
    subject, body = (draft.subject or "").strip(), (draft.body or "").replace("\r\n", "\n").strip()
    found = [p for p in (
        None if draft.kind in {k.value for k in MailingKind} else problem("kind", "Choose the kind.", "種類を選んでください。"),
        text_field_problem("subject", subject, "subject", "件名", SUBJECT_MAX, required=True),
        text_field_problem("body", body, "body", "本文", BODY_MAX, required=True, single_line=False),
    ) if p is not None] + segment_problems(session, draft.segment)
    if found:
        raise Invalid("The mailing has errors; nothing was saved.", "配信の内容に誤りがあります。保存していません。", problems=found)
    mailing = Mailing(kind=MailingKind(draft.kind), subject=subject, body=body, segment=draft.segment.as_json(),
                      status=MailingStatus.draft, created_by=actor.recorded_name)
    session.add(mailing)
    session.flush()
    audit.record(session, actor, "mailing.create", "mailing", str(mailing.id), after=mailing_summary(mailing))
    return mailing


def get_mailing(session: Session, actor: Actor, mailing_id: int, *, lock: bool = False) -> Mailing:
    authz.authorize(actor, READ)
    mailing = session.get(Mailing, mailing_id, with_for_update=lock or None, populate_existing=lock)
    if mailing is None:
        raise NotFound(f"No mailing {mailing_id}.", f"配信 {mailing_id} はありません。")
    return mailing


def list_mailings(session: Session, actor: Actor) -> list[Mailing]:
    authz.authorize(actor, READ)
    return list(session.scalars(sa.select(Mailing).order_by(Mailing.id.desc())))


def segment_of(mailing: Mailing) -> Segment:
    return Segment.from_json(mailing.segment)


def recipients_of(session: Session, actor: Actor, mailing: Mailing) -> Preview:
    """Who the mailing reaches now (a draft), by the one rule :func:`send_mailing` follows."""
    authz.authorize(actor, READ)
    return _split(session, MailingKind(mailing.kind), segment_of(mailing))


def compose(mailing: Mailing, org: Organisation, *, sender: str, unsubscribe_link: str | None) -> tuple[str, str]:
    """The subject and plain-text body one member receives: the announcement with the sender and the link to
    stop announcements (特定電子メール法), or the service notice marked as not advertising."""
    kind = MailingKind(mailing.kind)
    greeting = f"{org.name}\n{org.contact_name} 様\n\n" if org.contact_name else f"{org.name} 御中\n\n"
    if kind == MailingKind.advertising:
        footer = (f"このメールは、{sender}の会員の皆様にお送りしているご案内です。\n"
                  "今後このようなご案内が不要な場合は、次のリンクから配信を停止できます（サインインは不要です）。\n"
                  f"{unsubscribe_link}\n"
                  "（配信を停止しても、会員としての事務連絡は引き続きお送りします。）\n")
    else:
        footer = ("このメールは、会員の皆様への事務連絡です（広告・宣伝ではありません）。\n"
                  "会員としての手続きに関わるお知らせのため、配信停止の対象外です。\n")
    body = f"{greeting}{mailing.body}\n\n----\n{footer}送信者：{sender} 事務局\n"
    return f"{SUBJECT_MARK[kind]}{mailing.subject}", body


def send_mailing(session: Session, actor: Actor, mailing_id: int, *, secret: str,
                 unsubscribe_url: Callable[[str], str]) -> Mailing:
    """Queue the draft's messages in the outbox, one per recipient (irreversible); the mailing is then sent.

    ``unsubscribe_url`` turns a token into the public page's address (the shell knows its own address)."""
    mailing = get_mailing(session, actor, mailing_id, lock=True)
    authz.authorize(actor, SEND)
    MAILINGS.move("send", mailing.status, mailing)
    chosen = _split(session, MailingKind(mailing.kind), segment_of(mailing))
    if not chosen.recipients:
        raise Conflict("No member matches the audience now; nothing was sent.",
                       "現在、配信先の条件に合う会員がいません。送信していません。")
    sender = consortium_name(session)
    advertising = mailing.kind == MailingKind.advertising
    for org in chosen.recipients:
        link = unsubscribe_url(unsubscribe_token(secret, org.corporate_number)) if advertising else None
        subject, body = compose(mailing, org, sender=sender, unsubscribe_link=link)
        outbox.queue(session, kind=OUTBOX_KIND[MailingKind(mailing.kind)], tenant=org, subject=subject, body=body,
                     dedupe_key=f"mailing:{mailing.id}:{org.corporate_number}")
    mailing.status = MailingStatus.sent
    mailing.sent_by, mailing.sent_at = actor.recorded_name, utcnow()
    mailing.recipient_count, mailing.opted_out_count = len(chosen.recipients), len(chosen.opted_out)
    session.flush()
    audit.record(session, actor, "mailing.send", "mailing", str(mailing.id), before={"status": MailingStatus.draft.value},
                 after={"status": MailingStatus.sent.value, "recipients": [org.corporate_number for org in chosen.recipients],
                        "opted_out": [org.corporate_number for org in chosen.opted_out]})
    return mailing


# --- opting out ------------------------------------------------------------------------------------

def _signature(secret: str, number: str) -> str:
    digest = hmac.new(secret.encode("utf-8"), _TOKEN_CONTEXT + number.encode("ascii"), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest[:18]).decode("ascii")  # 144 bits, 24 characters, no padding


def unsubscribe_token(secret: str, number: str) -> str:
    """The token of a member's unsubscribe link: its corporate number and a signature no one else can make."""
    return f"{number}.{_signature(secret, number)}"


def _number_of(secret: str, token: str) -> str:
    number, _, signature = (token or "").partition(".")
    if not (codes.is_corporate_number(number) and hmac.compare_digest(signature.encode(), _signature(secret, number).encode())):
        raise NotFound("This unsubscribe link is not valid (mistyped or cut short).",
                       "この配信停止用のリンクは無効です（リンクが途中で切れているか、誤っています）。")
    return number


def member_of_token(session: Session, secret: str, token: str) -> tuple[Organisation, bool]:
    """The member an unsubscribe link is for, and whether it still receives announcements (nothing changes)."""
    number = _number_of(secret, token)
    org = session.scalars(sa.select(Organisation).where(Organisation.corporate_number == number)).one_or_none()
    if org is None:
        raise NotFound("This unsubscribe link is not valid.", "この配信停止用のリンクは無効です。")
    return org, receives_announcements(session, number)


def receives_announcements(session: Session, number: str) -> bool:
    row = session.get(MailPreference, number)
    return row is None or row.advertising


def _set(session: Session, actor: Actor, number: str, advertising: bool, via: str) -> bool:
    """Record the choice; False when it was already so (nothing written, nothing audited)."""
    row = session.get(MailPreference, number)
    before = row is None or row.advertising
    if before == advertising:
        return False
    if row is None:
        row = MailPreference(corporate_number=number, advertising=advertising, via=via, changed_by=actor.recorded_name)
        session.add(row)
    else:
        row.advertising, row.via, row.changed_by, row.changed_at = advertising, via, actor.recorded_name, utcnow()
    session.flush()
    audit.record(session, actor, "mailing.unsubscribe" if via == "link" else "mailing.preference", "member", number,
                 tenant_code=number, before={"advertising": before}, after={"advertising": advertising, "via": via})
    return True


def unsubscribe(session: Session, secret: str, token: str, *, request_id: str | None = None,
                source_ip: str | None = None) -> Organisation:
    """The link's POST, without signing in: the member receives no further announcements (service notices still)."""
    org, _receives = member_of_token(session, secret, token)
    actor = Actor(issuer=PUBLIC_ISSUER, subject=f"unsubscribe-link:{org.corporate_number}",
                  name=f"配信停止リンク（{org.name}）", request_id=request_id, source_ip=source_ip)
    _set(session, actor, org.corporate_number, False, "link")
    return org


def set_preference(session: Session, actor: Actor, number: str, advertising: bool) -> bool:
    """The member's admin (or the secretariat) chooses whether the member receives announcements."""
    authz.authorize(actor, PREFERENCE, number)
    org = session.scalars(sa.select(Organisation).where(Organisation.corporate_number == number)).one_or_none()
    if org is None:
        raise NotFound(f"No member organisation {number}.", f"法人番号 {number} の会員団体はありません。")
    return _set(session, actor, number, advertising, "page")


# --- what the form offers ------------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class Choices:
    municipalities: list[tuple[str, str]]   # (code, name) of the municipalities members' head offices are in
    groups: list[tuple[int, str]]
    events: list[tuple[int, str]]           # events held, newest first


def choices(session: Session, actor: Actor) -> Choices:
    authz.authorize(actor, READ)
    from secretariat.members_import import Places

    places = Places(session)
    found = session.scalars(sa.select(Organisation.municipality_code).distinct().where(
        Organisation.status == MemberStatus.approved, Organisation.municipality_code != ""))
    municipalities = sorted((code, places.name_of(code) or code) for code in found)
    groups = [(group.id, group.name) for group in session.scalars(sa.select(Group).order_by(Group.name))]
    events = [(event.id, f"{day_text(event.starts_at)} {event.title}") for event in
              session.scalars(sa.select(Event).where(Event.starts_at <= utcnow()).order_by(Event.starts_at.desc()))]
    return Choices(municipalities, groups, events)
