"""/api/v1/inquiries: the secretariat's inquiry log (secretariat/inquiries.py). Parse, authorise (the
operation asks core.authz), call the operation; the request commits once."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from flask import current_app, jsonify
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from admin.api import API_PREFIX, BEARER, PROBLEM_RESPONSES, CachedSchema, tag
from admin.api.fields import line, pattern
from admin.auth import current_actor
from admin.edge import StrictAPIBlueprint
from admin.extensions import db
from core.validation import ID_RANGE, NOT_BLANK, PlainText, SingleLineText
from secretariat import inquiries

bp = StrictAPIBlueprint("api_inquiries", __name__, url_prefix=API_PREFIX,
                        abp_tags=tag("inquiries", "問合せ窓口 / inquiries"), abp_security=BEARER,
                        abp_responses=PROBLEM_RESPONSES)

InquirerKind = Literal[tuple(k.value for k in inquiries.InquirerKind)]  # type: ignore[valid-type]
Channel = Literal[tuple(k.value for k in inquiries.Channel)]  # type: ignore[valid-type]
# how an inquiry recorded by the desk came (a portal inquiry is asked in the residents' portal, never recorded here)
RecordedChannel = Literal[tuple(k.value for k in inquiries.Channel if k is not inquiries.Channel.portal)]  # type: ignore[valid-type]
Category = Literal[tuple(k.value for k in inquiries.Category)]  # type: ignore[valid-type]
Status = Literal[tuple(k.value for k in inquiries.InquiryStatus)]  # type: ignore[valid-type]
Move = Literal[tuple(inquiries.INQUIRIES.moves)]  # type: ignore[valid-type]
Text = Annotated[SingleLineText, StringConstraints(strip_whitespace=True, min_length=1, max_length=200), NOT_BLANK]


OptionalEmail = pattern(r"^([^@\s]+@[^@\s]+\.[^@\s]+)?$")


class InquiryPath(BaseModel):
    inquiry_id: int = Field(**ID_RANGE)


class InquiryQuery(CachedSchema):
    status: Status | None = None
    category: Category | None = None
    overdue: bool = Field(default=False, description="Only open inquiries past their due day (Japan time)")


class InquiryBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    inquirer_kind: InquirerKind
    channel: RecordedChannel
    category: Category
    subject: Text
    question: Annotated[PlainText, StringConstraints(min_length=1, max_length=inquiries.QUESTION_MAX), NOT_BLANK]
    inquirer_name: line(100) = ""
    organisation_name: line(200) = ""
    email: Annotated[OptionalEmail, StringConstraints(max_length=254)] = ""
    phone: line(32) = ""
    member_number: pattern(r"^([0-9]{13})?$") = Field(default="", description="A registered member's corporate number")
    tenant_code: pattern(r"^([0-9]{6})?$") = Field(default="", description="A registered municipality's tenant code")
    dataset_uid: pattern(r"^([0-9a-f-]{36})?$") = Field(default="", description="A dataset of the register (its uid)")
    incident_ref: line(64) = ""


class InquiryAssignBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    assignee_name: Text
    assignee_subject: line(255) = Field(default="", description="The person's identity (subject), if known")


class InquiryReplyBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    body: Annotated[PlainText, StringConstraints(min_length=1, max_length=inquiries.REPLY_MAX), NOT_BLANK]


class InquiryMoveBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    move: Move = Field(description="start (対応開始), answer (回答済: answered without a reply here), close (完了), reopen")


class InquiryReplyOut(BaseModel):
    id: int
    body: str
    sent_by: str
    sent_at: dt.datetime
    notification_id: int | None


class InquiryOut(BaseModel):
    id: int
    inquirer_kind: InquirerKind
    inquirer_name: str
    organisation_name: str
    email: str
    channel: Channel
    category: Category
    category_ja: str
    subject: str
    question: str
    status: Status
    status_ja: str
    assignee_name: str
    received_on: dt.date
    due_on: dt.date
    overdue: bool
    member_number: str | None
    tenant_code: str | None
    dataset_uid: str | None
    incident_ref: str
    replies: list[InquiryReplyOut]


class InquiryList(BaseModel):
    items: list[InquiryOut]
    total: int


def _out(inquiry: inquiries.Inquiry, with_replies: bool = True) -> dict:
    replies = inquiries.replies_of(db.session, inquiry) if with_replies else []
    return {"id": inquiry.id, "inquirer_kind": inquiry.inquirer_kind.value, "inquirer_name": inquiry.inquirer_name,
            "organisation_name": inquiry.organisation_name, "email": inquiry.email, "channel": inquiry.channel.value,
            "category": inquiry.category.value, "category_ja": inquiry.category.ja,
            "subject": inquiry.subject, "question": inquiry.question, "status": inquiry.status.value,
            "status_ja": inquiry.status.ja, "assignee_name": inquiry.assignee_name,
            "received_on": inquiry.received_on.isoformat(), "due_on": inquiry.due_on.isoformat(),
            "overdue": inquiries.is_overdue(inquiry), "member_number": inquiry.member_number,
            "tenant_code": inquiry.tenant_code, "dataset_uid": inquiry.dataset_uid, "incident_ref": inquiry.incident_ref,
            "replies": [{"id": r.id, "body": r.body, "sent_by": r.sent_by, "sent_at": r.sent_at.isoformat(),
                         "notification_id": r.notification_id} for r in replies]}


def response_days() -> int:
    return int(current_app.config.get("RENKEI_INQUIRY_RESPONSE_DAYS", inquiries.DEFAULT_RESPONSE_DAYS))


@bp.get("/inquiries", responses={200: InquiryList}, summary="The inquiry log, by due date (問合せの一覧)")
def list_inquiries(query: InquiryQuery):
    from core.calendar import today_jst

    rows = inquiries.list_inquiries(db.session, current_actor(), status=query.status, category=query.category,
                                    overdue_on=today_jst() if query.overdue else None)
    return jsonify({"items": [_out(row, with_replies=False) for row in rows], "total": len(rows)})


@bp.post("/inquiries", responses={201: InquiryOut}, summary="Record an inquiry taken by mail, phone or in person")
def record_inquiry(body: InquiryBody):
    inquiry = inquiries.record_inquiry(db.session, current_actor(), inquiries.InquiryDraft(**body.model_dump()),
                                       response_days=response_days())
    return jsonify(_out(inquiry)), 201


@bp.get("/inquiries/<inquiry_id>", responses={200: InquiryOut}, summary="One inquiry with its replies")
def get_inquiry(path: InquiryPath):
    return jsonify(_out(inquiries.get_inquiry(db.session, current_actor(), path.inquiry_id)))


@bp.post("/inquiries/<inquiry_id>/assign", responses={200: InquiryOut}, summary="Give the inquiry to a secretariat person")
def assign(path: InquiryPath, body: InquiryAssignBody):
    inquiry = inquiries.assign(db.session, current_actor(), path.inquiry_id, subject=body.assignee_subject,
                               name=body.assignee_name)
    return jsonify(_out(inquiry))


@bp.post("/inquiries/<inquiry_id>/replies", responses={201: InquiryOut},
         summary="Reply to the inquirer (queued in the outbox, kept with the inquiry; answers it)")
def reply(path: InquiryPath, body: InquiryReplyBody):
    inquiries.reply(db.session, current_actor(), path.inquiry_id, body.body)
    return jsonify(_out(inquiries.get_inquiry(db.session, current_actor(), path.inquiry_id))), 201


@bp.post("/inquiries/<inquiry_id>/transitions", responses={200: InquiryOut},
         summary="Move the inquiry: start, answer, close or reopen (409 names an illegal move)")
def transition(path: InquiryPath, body: InquiryMoveBody):
    return jsonify(_out(inquiries.transition(db.session, current_actor(), path.inquiry_id, body.move)))
