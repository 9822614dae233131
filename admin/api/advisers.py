"""/api/v1/advisers: the secretariat's advisers and members' consultations with them (secretariat/advisers.py).
Parse, authorise (the operation asks core.authz), call the operation; the request commits once. A member's
organisation admin books for their own member; the secretariat keeps the advisers, books for any member and
records each consultation's outcome."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from flask import jsonify
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from admin.api import API_PREFIX, BEARER, PROBLEM_RESPONSES, CachedSchema, tag
from admin.auth import current_actor
from admin.edge import StrictAPIBlueprint
from admin.extensions import db
from core.validation import ID_RANGE, NOT_BLANK, PlainText, SingleLineText
from secretariat import advisers as adv

bp = StrictAPIBlueprint("api_advisers", __name__, url_prefix=API_PREFIX,
                        abp_tags=tag("advisers", "アドバイザー相談 / advisers and consultations"),
                        abp_security=BEARER, abp_responses=PROBLEM_RESPONSES)

Status = Literal[tuple(s.value for s in adv.ConsultationStatus)]  # type: ignore[valid-type]
Name = Annotated[SingleLineText, StringConstraints(strip_whitespace=True, min_length=1, max_length=adv.NAME_MAX), NOT_BLANK]
Fields = Annotated[SingleLineText, StringConstraints(strip_whitespace=True, min_length=1, max_length=adv.FIELDS_MAX),
                   NOT_BLANK]
Topic = Annotated[SingleLineText, StringConstraints(strip_whitespace=True, min_length=1, max_length=adv.TOPIC_MAX),
                  NOT_BLANK]
Outcome = Annotated[PlainText, StringConstraints(strip_whitespace=True, min_length=1, max_length=adv.OUTCOME_MAX), NOT_BLANK]
Number = Annotated[str, StringConstraints(pattern=r"^\d{13}$")]


class AdviserPath(BaseModel):
    adviser_id: int = Field(**ID_RANGE)


class ConsultationPath(BaseModel):
    consultation_id: int = Field(**ID_RANGE)


class AdviserBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: Name
    fields: Fields = Field(description="Fields of expertise (専門分野)")
    monthly_hours: int = Field(ge=1, le=adv.MAX_MONTHLY_HOURS, description="Hours available per month")
    active: bool = True


class AdviserOut(BaseModel):
    id: int
    name: str
    fields: str
    monthly_hours: int
    active: bool


class AdviserList(BaseModel):
    items: list[AdviserOut]


class BookingBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    adviser_id: int = Field(**ID_RANGE)
    member_number: Number = Field(description="The member organisation's corporate number (法人番号): your own unless "
                                              "you are the secretariat")
    starts_at: dt.datetime = Field(description="Start, on the hour or half hour; without an offset it is Japan time")
    hours: int = Field(ge=1, le=adv.MAX_LENGTH_HOURS, description="Length in whole hours")
    topic: Topic


class RecordBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    held: bool = Field(description="true: held (実施済み); false: not held (中止)")
    outcome: Outcome = Field(description="What came of it, or why it was not held")


class ConsultationOut(BaseModel):
    id: int
    adviser_id: int
    member_number: str
    starts_at: dt.datetime
    hours: int
    topic: str
    status: Status
    status_ja: str
    outcome: str


class ConsultationList(BaseModel):
    items: list[ConsultationOut]


class ConsultationQuery(CachedSchema):
    member_number: Number | None = Field(default=None, description="One member's consultations (a member's admin must "
                                                                   "name their own)")


def _adviser(a: adv.Adviser) -> dict:
    return {"id": a.id, "name": a.name, "fields": a.fields, "monthly_hours": a.monthly_hours, "active": a.active}


def _consultation(c: adv.Consultation) -> dict:
    return {"id": c.id, "adviser_id": c.adviser_id, "member_number": c.member_number, "starts_at": c.starts_at.isoformat(),
            "hours": c.hours, "topic": c.topic, "status": c.status.value, "status_ja": c.status.ja, "outcome": c.outcome}


@bp.get("/advisers", responses={200: AdviserList},
        summary="The advisers (every one for the secretariat, the active ones for a member's admin)")
def list_advisers():
    return jsonify({"items": [_adviser(a) for a in adv.list_advisers(db.session, current_actor())]})


@bp.post("/advisers", responses={201: AdviserOut}, summary="Add an adviser (the secretariat); audited")
def create_adviser(body: AdviserBody):
    adviser = adv.create_adviser(db.session, current_actor(), adv.AdviserDraft(**body.model_dump()))
    return jsonify(_adviser(adviser)), 201


@bp.put("/advisers/<adviser_id>", responses={200: AdviserOut}, summary="Change an adviser (the secretariat); audited")
def update_adviser(path: AdviserPath, body: AdviserBody):
    adviser = adv.update_adviser(db.session, current_actor(), path.adviser_id, adv.AdviserDraft(**body.model_dump()))
    return jsonify(_adviser(adviser))


@bp.get("/consultations", responses={200: ConsultationList}, summary="Consultations, the latest first")
def list_consultations(query: ConsultationQuery):
    found = adv.consultations(db.session, current_actor(), member_number=query.member_number)
    return jsonify({"items": [_consultation(c) for c in found]})


@bp.post("/consultations", responses={201: ConsultationOut},
         summary="Book a consultation for a member; refused (409) past the adviser's hours of the month or on a taken "
                 "slot; audited")
def book(body: BookingBody):
    consultation = adv.book(db.session, current_actor(), adv.Booking(body.adviser_id, body.member_number, body.starts_at,
                                                                     body.hours, body.topic))
    return jsonify(_consultation(consultation)), 201


@bp.post("/consultations/<consultation_id>/record", responses={200: ConsultationOut},
         summary="Record a booked consultation as held with its outcome, or not held (the secretariat, once); audited")
def record(path: ConsultationPath, body: RecordBody):
    consultation = adv.record(db.session, current_actor(), path.consultation_id, held=body.held, outcome=body.outcome)
    return jsonify(_consultation(consultation))
