"""Inquiries (問合せ窓口): the secretariat's log of every question asked of the consortium.

Rules:

* An inquiry records who asked (a member, a municipality, another body or a resident; linked to the
  member's corporate number or the municipality's tenant code where known), the channel, the category,
  the question, and optional links to a member, a tenant, a dataset (its uid) and an incident (its
  reference). The secretariat (``inquiry.manage``: the operator, who also screens members,
  docs/identity.md) records inquiries that came by mail, phone or in person; the public form
  (:func:`submit_public`) records web-form inquiries with no account.
* Its due date is the response target in **business days** after the day it was received (Japan
  time; weekends, public holidays, 12/29-1/3 and the office's own closed days skipped, :func:`core.calendar.add_business_days`). An inquiry
  not yet answered after its due day is overdue (:func:`overdue`), shown on the secretariat's home page.
* Status: 受付 → 対応中 → 回答済 → 完了 (:data:`INQUIRIES`, one exception per illegal move); an
  answered inquiry may be reopened (回答済 → 対応中). A reply (:func:`reply`) is queued in the outbox
  to the inquirer's address and kept with the inquiry; the first reply answers it. An inquiry asked in the
  residents' portal (channel ``portal``) has no address: its reply is kept with it, and the resident reads it
  in the portal (:mod:`residents.data_inquiries`).
* Personal data (name, address, phone, the question and the replies' text, the sender's network
  address) is removed :func:`purge_personal_data` days after the inquiry was closed (the retention
  table's ``inquiries``; ``RENKEI_INQUIRY_RETENTION_DAYS``); the category, channel, dates and links
  stay for the year's figures.
* The public form is bounded like /join/: CSRF and a honeypot field in the shell, every field's
  length and characters checked here, and at most ``limit`` inquiries per network address an hour.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
from typing import Any, Optional

import sqlalchemy as sa
from sqlalchemy.orm import Session
from sqlmodel import Field, SQLModel

from core import audit, authz, outbox
from core.actor import Actor
from core.calendar import add_business_days, today_jst
from core.db import enum_column, timestamp_column, utcnow
from core.errors import DomainError, Invalid, NotFound, problem
from core.labelled import LabelledEnum, labels
from core.lifecycle import IllegalMove, Lifecycle, Move
from core.validation import email_problem, text_field_problem
from tenancy.registry.prefecture import office_closed_days

PUBLIC_ISSUER = "urn:renkei:public"
REMOVED_JA = "（保存期間の経過により削除しました）"
DEFAULT_RESPONSE_DAYS = 3
DEFAULT_HOURLY_LIMIT = 5
QUESTION_MAX = 4000
REPLY_MAX = 8000


class InquirerKind(LabelledEnum):
    member = "member", "会員", "Member"
    municipality = "municipality", "市町村", "Municipality"
    other_body = "other_body", "その他の団体", "Other body"
    resident = "resident", "住民", "Resident"


class Channel(LabelledEnum):
    web_form = "web_form", "Web フォーム", "Web form"
    mail = "mail", "メール", "Mail"
    phone = "phone", "電話", "Phone"
    in_person = "in_person", "来訪・対面", "In person"
    # a resident's question in the residents' portal (residents.data_inquiries): answered there, not by mail
    portal = "portal", "住民ポータル", "Residents' portal"


class Category(LabelledEnum):
    joining = "joining", "入会", "Joining"
    member_info = "member_info", "会員情報", "Member information"
    catalogue = "catalogue", "データ・カタログ", "Data and catalogue"
    technical = "technical", "技術・API", "Technical and API"
    fault = "fault", "障害", "Fault"
    personal_data = "personal_data", "個人情報・同意", "Personal data and consent"
    other = "other", "その他", "Other"


class InquiryStatus(LabelledEnum):
    received = "received", "受付", "Received"
    in_progress = "in_progress", "対応中", "In progress"
    answered = "answered", "回答済", "Answered"
    closed = "closed", "完了", "Closed"


class Inquiry(SQLModel, table=True):
    __tablename__ = "secretariat_inquiry"

    id: int | None = Field(default=None, primary_key=True)
    inquirer_kind: InquirerKind = Field(sa_column=enum_column(InquirerKind, length=16))
    inquirer_name: str = Field(default="", max_length=100)
    organisation_name: str = Field(default="", max_length=200)
    email: str = Field(default="", max_length=254)
    phone: str = Field(default="", max_length=32)
    channel: Channel = Field(sa_column=enum_column(Channel, length=16))
    category: Category = Field(sa_column=enum_column(Category, length=16, index=True))
    subject: str = Field(max_length=200)
    question: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    member_number: Optional[str] = Field(default=None, max_length=13, index=True)
    tenant_code: Optional[str] = Field(default=None, max_length=6, index=True)
    dataset_uid: Optional[str] = Field(default=None, max_length=36)
    incident_ref: str = Field(default="", max_length=64)
    assignee_subject: str = Field(default="", max_length=255)
    assignee_name: str = Field(default="", max_length=200)
    status: InquiryStatus = Field(sa_column=enum_column(InquiryStatus, length=16, checked=True, index=True))
    received_on: dt.date
    due_on: dt.date = Field(index=True)
    received_at: dt.datetime = Field(default_factory=utcnow, sa_column=timestamp_column(nullable=False))
    answered_at: Optional[dt.datetime] = Field(default=None, sa_column=timestamp_column(nullable=True))
    closed_at: Optional[dt.datetime] = Field(default=None, sa_column=timestamp_column(nullable=True))
    source_ip: str = Field(default="", max_length=64)
    personal_data_removed_at: Optional[dt.datetime] = Field(default=None, sa_column=timestamp_column(nullable=True))


class InquiryReply(SQLModel, table=True):
    """A reply sent to the inquirer: kept with the inquiry, queued in the outbox (``notification_id``)."""

    __tablename__ = "secretariat_inquiry_reply"

    id: int | None = Field(default=None, primary_key=True)
    inquiry_id: int = Field(foreign_key="secretariat_inquiry.id", index=True)
    body: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    sent_by: str = Field(max_length=200)
    sent_at: dt.datetime = Field(default_factory=utcnow, sa_column=timestamp_column(nullable=False))
    notification_id: Optional[int] = Field(default=None, foreign_key="notification.id")


# --- the lifecycle: one exception per illegal move -----------------------------------------------

class CannotStart(IllegalMove):
    """Only a received inquiry can be taken up (対応中)."""


class CannotAnswer(IllegalMove):
    """Only an inquiry being handled can be answered."""


class CannotClose(IllegalMove):
    """Only an answered inquiry can be closed."""


class CannotReopen(IllegalMove):
    """Only an answered inquiry can be reopened."""


_REFUSALS = {"start": CannotStart, "answer": CannotAnswer, "close": CannotClose, "reopen": CannotReopen}
S = InquiryStatus


def _refusal(move: Move, status: InquiryStatus, inquiry: Any) -> IllegalMove:
    ja, en = status.label
    return _REFUSALS[move.name](
        f"The inquiry is {en.lower()}; it cannot {move.label_en} from that status. Nothing was changed.",
        f"この問合せは「{ja}」のため「{move.label_ja}」できません。変更は行っていません。",
        status=status.value, move=move.name)


INQUIRIES = Lifecycle("問合せ", "inquiry", InquiryStatus, labels(InquiryStatus), (
    Move("start", frozenset({S.received}), S.in_progress, "対応開始", "start", grant="inquiry.manage"),
    Move("answer", frozenset({S.received, S.in_progress}), S.answered, "回答", "answer", grant="inquiry.manage"),
    Move("close", frozenset({S.answered}), S.closed, "完了", "close", grant="inquiry.manage"),
    Move("reopen", frozenset({S.answered}), S.in_progress, "再対応", "reopen", grant="inquiry.manage"),
), initial=(S.received,), refusal=_refusal)


# --- recording an inquiry ------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class InquiryDraft:
    """What is recorded of an inquiry (the form's and the API's fields, strings as typed)."""

    inquirer_kind: str
    channel: str
    category: str
    subject: str
    question: str
    inquirer_name: str = ""
    organisation_name: str = ""
    email: str = ""
    phone: str = ""
    member_number: str = ""
    tenant_code: str = ""
    dataset_uid: str = ""
    incident_ref: str = ""


class InquiryInvalid(Invalid):
    def __init__(self, problems: list[dict[str, str]]) -> None:
        super().__init__("The inquiry has problems; nothing was recorded.", "問合せの内容に誤りがあります。登録していません。",
                         problems=problems)


def _choice(field: str, value: str, enum_cls: type[enum.Enum], ja: str) -> dict[str, str] | None:
    if value in {member.value for member in enum_cls}:
        return None
    return problem(field, f"Choose one of: {', '.join(m.value for m in enum_cls)}.", f"{ja}を選んでください。")


def _channel(value: str, from_portal: bool) -> dict[str, str] | None:
    """The channel: ``portal`` only for an inquiry the residents' portal takes in (its reply is never mailed)."""
    if value == Channel.portal.value and not from_portal:
        return problem("channel", "Inquiries of the residents' portal are asked there; choose how this one came.",
                       "住民ポータルの問合せはポータルから受け付けます。受付方法を選んでください。")
    return _choice("channel", value, Channel, "受付方法")


def draft_problems(draft: InquiryDraft, *, public: bool = False, from_portal: bool = False) -> list[dict[str, str]]:
    found = [p for p in (
        _choice("inquirer_kind", draft.inquirer_kind, InquirerKind, "問合せ者の区分"),
        _channel(draft.channel, from_portal),
        _choice("category", draft.category, Category, "分類"),
        text_field_problem("subject", draft.subject, "subject", "件名", 200, required=True),
        text_field_problem("question", draft.question, "question", "問合せ内容", QUESTION_MAX, required=True,
                           single_line=False),
        text_field_problem("inquirer_name", draft.inquirer_name, "name", "氏名", 100, required=public),
        text_field_problem("organisation_name", draft.organisation_name, "organisation", "団体名", 200),
        text_field_problem("phone", draft.phone, "phone number", "電話番号", 32),
        text_field_problem("incident_ref", draft.incident_ref, "incident reference", "障害の参照番号", 64),
    ) if p is not None]
    if draft.email or public:
        if (wrong := email_problem("email", draft.email)) is not None:
            found.append(wrong)
    return found


def _links(session: Session, draft: InquiryDraft) -> tuple[dict[str, Any], list[dict[str, str]]]:
    """The member, tenant and dataset the inquiry names, each checked to exist."""
    from catalogue.models import Dataset
    from tenancy.members.models import Organisation
    from tenancy.registry.models import Tenant

    links: dict[str, Any] = {"member_number": None, "tenant_code": None, "dataset_uid": None}
    found = []
    for field, model, column, ja in (("member_number", Organisation, Organisation.corporate_number, "会員の法人番号"),
                                     ("tenant_code", Tenant, Tenant.code, "団体コード"),
                                     ("dataset_uid", Dataset, Dataset.uid, "データセット")):
        value = getattr(draft, field).strip()
        if not value:
            continue
        if len(value) > 36 or session.scalar(sa.select(model.id).where(column == value)) is None:
            found.append(problem(field, f"No such {field.replace('_', ' ')}: {value[:40]}.", f"{ja}が見つかりません。"))
        else:
            links[field] = value
    return links, found


def inquiry_problems(session: Session, draft: InquiryDraft, *, public: bool = False) -> list[dict[str, str]]:
    """Every problem of a draft the secretariat records (or of the public form's, which links nothing)."""
    draft = _strip(draft)
    return draft_problems(draft, public=public) + ([] if public else _links(session, draft)[1])


def _summary(inquiry: Inquiry) -> dict[str, Any]:
    """What the audit log keeps of an inquiry: no personal data (the log outlives the inquiry's)."""
    return {"inquiry_category": inquiry.category.value, "inquiry_channel": inquiry.channel.value,
            "inquirer_kind": inquiry.inquirer_kind.value, "inquiry_status": inquiry.status.value,
            "due_on": inquiry.due_on.isoformat(), "member_number": inquiry.member_number,
            "tenant_code": inquiry.tenant_code, "dataset_uid": inquiry.dataset_uid, "incident_ref": inquiry.incident_ref}


def _create(session: Session, draft: InquiryDraft, links: dict[str, Any], response_days: int, now: dt.datetime,
            source_ip: str = "") -> Inquiry:
    received_on = today_jst(now)
    inquiry = Inquiry(inquirer_kind=InquirerKind(draft.inquirer_kind), channel=Channel(draft.channel),
                      category=Category(draft.category), subject=draft.subject, question=draft.question,
                      inquirer_name=draft.inquirer_name, organisation_name=draft.organisation_name, email=draft.email,
                      phone=draft.phone, incident_ref=draft.incident_ref, status=S.received, received_on=received_on,
                      due_on=add_business_days(received_on, response_days, office_closed_days(session)), received_at=now,
                      source_ip=source_ip[:64],
                      **links)
    session.add(inquiry)
    session.flush()
    return inquiry


def _strip(draft: InquiryDraft) -> InquiryDraft:
    return InquiryDraft(**{k: v.strip() if k != "question" else v.strip("\r\n ") for k, v in dataclasses.asdict(draft).items()})


def record_inquiry(session: Session, actor: Actor, draft: InquiryDraft, *, response_days: int = DEFAULT_RESPONSE_DAYS,
                   now: dt.datetime | None = None) -> Inquiry:
    """An inquiry the secretariat took by mail, phone, in person (or typed from a web message)."""
    authz.authorize(actor, "inquiry.manage")
    return _checked_create(session, actor, draft, "inquiry.record", response_days, now)


def record_on_behalf(session: Session, actor: Actor, draft: InquiryDraft, *, response_days: int = DEFAULT_RESPONSE_DAYS,
                     now: dt.datetime | None = None) -> Inquiry:
    """An inquiry another package takes in and has authorised itself (a resident disputing a record of theirs in
    the portal: :func:`residents.portal_history.dispute`): checked and recorded as :func:`record_inquiry` does,
    without the secretariat's grant, audited as ``inquiry.submit`` with the caller as the actor."""
    return _checked_create(session, actor, draft, "inquiry.submit", response_days, now, from_portal=True)


def _checked_create(session: Session, actor: Actor, draft: InquiryDraft, action: str, response_days: int,
                    now: dt.datetime | None, *, from_portal: bool = False) -> Inquiry:
    """The draft checked (every problem at once), the inquiry made and audited as ``action``."""
    draft = _strip(draft)
    links, found = _links(session, draft)
    found = draft_problems(draft, from_portal=from_portal) + found
    if found:
        raise InquiryInvalid(found)
    inquiry = _create(session, draft, links, response_days, now or utcnow())
    audit.record(session, actor, action, "inquiry", str(inquiry.id), tenant_code=inquiry.tenant_code,
                 after=_summary(inquiry))
    return inquiry


class TooManyRequests(DomainError):
    """A public form's limit per network address and hour was reached (HTTP 429 in the shell)."""

    kind = "too_many"


def refuse_too_many(session: Session, ip_column: Any, time_column: Any, source_ip: str | None, now: dt.datetime,
                    hourly_limit: int) -> None:
    """The one rule of the public forms (inquiries, event registration): at most ``hourly_limit`` rows
    from one network address in the last hour (rows counted by ``ip_column`` and ``time_column``)."""
    if not source_ip:
        return
    recent = session.scalar(sa.select(sa.func.count()).where(ip_column == source_ip[:64],
                                                             time_column > now - dt.timedelta(hours=1)))
    if recent >= hourly_limit:
        raise TooManyRequests("Too many submissions from this address in the last hour; please try again later.",
                              "このネットワークからの送信が 1 時間の上限に達しました。時間をおいて送信してください。")


def submit_public(session: Session, draft: InquiryDraft, *, source_ip: str, request_id: str | None = None,
                  response_days: int = DEFAULT_RESPONSE_DAYS, hourly_limit: int = DEFAULT_HOURLY_LIMIT,
                  now: dt.datetime | None = None) -> Inquiry:
    """An inquiry from the public web form (no account): channel ``web_form``, the sender's address required;
    at most ``hourly_limit`` per network address in an hour. The inquirer gets an acknowledgement."""
    now = now or utcnow()
    draft = dataclasses.replace(_strip(draft), channel=Channel.web_form.value, member_number="", tenant_code="",
                                dataset_uid="", incident_ref="")
    found = draft_problems(draft, public=True)
    if found:
        raise InquiryInvalid(found)
    refuse_too_many(session, Inquiry.source_ip, Inquiry.received_at, source_ip, now, hourly_limit)
    inquiry = _create(session, draft, {"member_number": None, "tenant_code": None, "dataset_uid": None},
                      response_days, now, source_ip or "")
    actor = Actor(issuer=PUBLIC_ISSUER, subject=f"inquirer:{draft.email.lower()}", name=draft.inquirer_name,
                  request_id=request_id, source_ip=source_ip)
    audit.record(session, actor, "inquiry.submit", "inquiry", str(inquiry.id), after=_summary(inquiry))
    _send(session, inquiry, "inquiry.received", f"【問合せ受付】{inquiry.subject}",
          f"{inquiry.inquirer_name} 様\n\nお問合せを受け付けました（受付番号 {inquiry.id}）。"
          f"{inquiry.due_on:%Y年%m月%d日}までに回答します。\n")
    return inquiry


# --- handling -------------------------------------------------------------------------------------

def get_inquiry(session: Session, actor: Actor, inquiry_id: int) -> Inquiry:
    authz.authorize(actor, "inquiry.read")
    inquiry = session.get(Inquiry, inquiry_id)
    if inquiry is None:
        raise NotFound(f"No inquiry {inquiry_id}.", f"問合せ {inquiry_id} はありません。")
    return inquiry


def _move(session: Session, actor: Actor, inquiry: Inquiry, name: str, audit_action: str, **after: Any) -> Inquiry:
    before = inquiry.status.value
    inquiry.status = INQUIRIES.move(name, inquiry.status, inquiry).target
    now = utcnow()
    if inquiry.status is S.answered and inquiry.answered_at is None:
        inquiry.answered_at = now
    if inquiry.status is S.closed:
        inquiry.closed_at = now
    session.flush()
    audit.record(session, actor, audit_action, "inquiry", str(inquiry.id), tenant_code=inquiry.tenant_code,
                 before={"inquiry_status": before}, after={"inquiry_status": inquiry.status.value, **after})
    return inquiry


def transition(session: Session, actor: Actor, inquiry_id: int, move: str) -> Inquiry:
    """``start``, ``answer`` (without a reply: answered by phone or in person), ``close`` or ``reopen``."""
    authz.authorize(actor, "inquiry.manage")
    if move not in INQUIRIES.moves:
        raise Invalid(f"Unknown move {move!r}.", f"操作 {move!r} はありません。",
                      problems=[problem("move", "start, answer, close or reopen", "start・answer・close・reopen")])
    return _move(session, actor, get_inquiry(session, actor, inquiry_id), move, f"inquiry.{move}")


def assign(session: Session, actor: Actor, inquiry_id: int, *, subject: str, name: str) -> Inquiry:
    """Give the inquiry to a secretariat person (their identity's subject and name); a received one is taken up."""
    authz.authorize(actor, "inquiry.manage")
    inquiry = get_inquiry(session, actor, inquiry_id)
    wrong = text_field_problem("assignee", name.strip(), "assignee", "担当者", 200, required=True)
    if wrong is not None:
        raise Invalid("Name the person who handles the inquiry.", "担当者を指定してください。", problems=[wrong])
    if inquiry.status is S.closed:
        raise CannotStart("The inquiry is closed; it cannot be assigned.", "この問合せは「完了」のため担当者を変更できません。",
                          status=inquiry.status.value, move="assign")
    before = {"assignee": inquiry.assignee_name}
    inquiry.assignee_subject, inquiry.assignee_name = subject.strip()[:255], name.strip()
    if inquiry.status is S.received:
        inquiry.status = INQUIRIES.move("start", inquiry.status, inquiry).target
    session.flush()
    audit.record(session, actor, "inquiry.assign", "inquiry", str(inquiry.id), tenant_code=inquiry.tenant_code,
                 before=before, after={"assignee": inquiry.assignee_name, "inquiry_status": inquiry.status.value})
    return inquiry


@dataclasses.dataclass(frozen=True)
class Addressee:
    """What the outbox reads of an addressee: a code and contacts with an e-mail address."""

    code: str | None
    email: str

    @property
    def contacts(self) -> list:
        return [self] if self.email else []


def _send(session: Session, inquiry: Inquiry, kind: str, subject: str, body: str):
    return outbox.queue(session, kind=kind, subject=subject, body=body,
                        tenant=Addressee(inquiry.member_number or inquiry.tenant_code, inquiry.email))


def _reply_problem(inquiry: Inquiry, body: str) -> dict[str, str] | None:
    """A reply's text, and an address to send it to (the portal's inquirer reads it there)."""
    wrong = text_field_problem("body", body, "reply", "回答", REPLY_MAX, required=True, single_line=False)
    if wrong is None and not inquiry.email and inquiry.channel is not Channel.portal:
        wrong = problem("body", "The inquiry has no e-mail address to reply to; record the answer given instead.",
                        "問合せにメールアドレスがないため送信できません。回答済みにして記録してください。")
    return wrong


def reply(session: Session, actor: Actor, inquiry_id: int, body: str) -> InquiryReply:
    """Send a reply to the inquirer (queued in the outbox) and keep it with the inquiry; answers it."""
    authz.authorize(actor, "inquiry.manage")
    inquiry = get_inquiry(session, actor, inquiry_id)
    body = (body or "").strip()
    in_portal = inquiry.channel is Channel.portal
    wrong = _reply_problem(inquiry, body)
    if wrong is not None:
        raise Invalid("The reply cannot be sent.", "回答を送信できません。", problems=[wrong])
    if not INQUIRIES.allows("answer", inquiry.status) and inquiry.status is not S.answered:
        raise INQUIRIES.refuse("answer", inquiry.status, inquiry)
    message = None if in_portal else _send(session, inquiry, "inquiry.reply",
                                           f"【回答】{inquiry.subject}（受付番号 {inquiry.id}）", body)
    sent = InquiryReply(inquiry_id=inquiry.id, body=body, sent_by=actor.name or "事務局",
                        notification_id=message.id if message is not None else None)
    session.add(sent)
    session.flush()
    with audit.act(session, actor, "inquiry.reply", "inquiry", str(inquiry.id), tenant_code=inquiry.tenant_code):
        if inquiry.status is not S.answered:
            _move(session, actor, inquiry, "answer", "inquiry.answer", reply_id=sent.id)
        audit.record(session, actor, "inquiry.reply", "inquiry", str(inquiry.id), tenant_code=inquiry.tenant_code,
                     after={"reply_id": sent.id, "notification_id": sent.notification_id})
    return sent


def replies_of(session: Session, inquiry: Inquiry) -> list[InquiryReply]:
    return list(session.scalars(sa.select(InquiryReply).where(InquiryReply.inquiry_id == inquiry.id)
                                .order_by(InquiryReply.id)))


# --- reading ----------------------------------------------------------------------------------------

OPEN = (S.received, S.in_progress)


def list_inquiries(session: Session, actor: Actor, *, status: str | None = None, category: str | None = None,
                   overdue_on: dt.date | None = None, limit: int = 500) -> list[Inquiry]:
    authz.authorize(actor, "inquiry.read")
    query = sa.select(Inquiry).order_by(Inquiry.due_on, Inquiry.id).limit(limit)
    if status:
        query = query.where(Inquiry.status == InquiryStatus(status))
    if category:
        query = query.where(Inquiry.category == Category(category))
    if overdue_on is not None:
        query = query.where(Inquiry.status.in_(OPEN), Inquiry.due_on < overdue_on)
    return list(session.scalars(query))


def overdue(session: Session, actor: Actor, *, today: dt.date | None = None) -> list[Inquiry]:
    """Inquiries not answered by their due day (open after it ended), oldest due first."""
    return list_inquiries(session, actor, overdue_on=today or today_jst())


def is_overdue(inquiry: Inquiry, today: dt.date | None = None) -> bool:
    return inquiry.status in OPEN and inquiry.due_on < (today or today_jst())


# --- retention ------------------------------------------------------------------------------------

def purge_personal_data(session: Session, actor: Actor, *, retention_days: int,
                        now: dt.datetime | None = None) -> int:
    """Remove the personal data of inquiries closed more than ``retention_days`` ago (the inquirer's name,
    address, phone, network address, the question's and the replies' text, and the replies' messages
    in the outbox once sent); returns how many inquiries. Audited once (``inquiry.purge``)."""
    authz.authorize(actor, "inquiry.manage")
    if retention_days < 1:
        raise Invalid("retention_days must be at least 1.", "保存日数は 1 以上にしてください。",
                      problems=[problem("retention_days", "at least 1", "1 以上")])
    now = now or utcnow()
    due = list(session.scalars(sa.select(Inquiry).where(
        Inquiry.status == S.closed, Inquiry.personal_data_removed_at.is_(None),
        Inquiry.closed_at < now - dt.timedelta(days=retention_days))))
    for inquiry in due:
        inquiry.inquirer_name = inquiry.email = inquiry.phone = inquiry.source_ip = ""
        inquiry.question, inquiry.personal_data_removed_at = REMOVED_JA, now
        for sent in replies_of(session, inquiry):
            sent.body = REMOVED_JA
            if sent.notification_id is not None:
                session.execute(sa.update(outbox.Notification).where(
                    outbox.Notification.id == sent.notification_id,
                    outbox.Notification.status == outbox.NotificationStatus.sent).values(body=REMOVED_JA, recipients=""))
    session.flush()
    if due:
        audit.record(session, actor, "inquiry.purge", "inquiry", "personal-data",
                     after={"inquiries": [inquiry.id for inquiry in due], "retention_days": retention_days})
    return len(due)
