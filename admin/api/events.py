"""/api/v1/events: events, seminars, community meetings and training (secretariat/events.py): the
secretariat's acts, signed-in registration and cancellation, and the year's figures against the targets."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from flask import jsonify
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints

from admin.api import API_PREFIX, BEARER, PROBLEM_RESPONSES, CachedSchema, tag
from admin.auth import current_actor
from admin.edge import StrictAPIBlueprint
from admin.extensions import db
from core import authz
from core.calendar import FIRST_FISCAL_YEAR, LAST_FISCAL_YEAR
from admin.api.fields import line, pattern
from core.validation import ID_RANGE, NOT_BLANK, SINGLE_LINE, PlainText, RowId, SingleLineText
from secretariat import events

bp = StrictAPIBlueprint("api_events", __name__, url_prefix=API_PREFIX,
                        abp_tags=tag("events", "イベント・セミナー・研修 / events"), abp_security=BEARER,
                        abp_responses=PROBLEM_RESPONSES)

Kind = Literal[tuple(k.value for k in events.EventKind)]  # type: ignore[valid-type]
Audience = Literal[tuple(a.value for a in events.Audience)]  # type: ignore[valid-type]
Status = Literal[tuple(s.value for s in events.RegistrationStatus)]  # type: ignore[valid-type]
FiscalYear = Annotated[int, Field(ge=FIRST_FISCAL_YEAR, le=LAST_FISCAL_YEAR)]
Url = Annotated[str, StringConstraints(max_length=500, pattern=r"^(https?://\S+)?$"), SINGLE_LINE]  # \S lets a format character by


class EventPath(BaseModel):
    event_id: int = Field(**ID_RANGE)


class EventRegistrationPath(BaseModel):
    registration_id: int = Field(**ID_RANGE)


class EventYearPath(BaseModel):
    fiscal_year: FiscalYear


class EventTargetPath(BaseModel):
    fiscal_year: FiscalYear
    event_kind: Kind  # not "kind": the incident reports' path names its own kind (report kinds)


class EventQuery(CachedSchema):
    fiscal_year: FiscalYear | None = None


class EventBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kind: Kind
    title: Annotated[SingleLineText, StringConstraints(strip_whitespace=True, min_length=1, max_length=200), NOT_BLANK]
    starts_at: AwareDatetime
    ends_at: AwareDatetime
    capacity: int = Field(ge=1, le=100_000)
    audience: Audience
    place: line(200) = Field(default="", description="The venue; a place or an online link (or both) is required")
    online_url: Url = ""
    description: Annotated[PlainText, StringConstraints(max_length=8000)] = ""
    community_group_id: int | None = Field(default=None, **ID_RANGE,
                                           description="The community or working group a community meeting is of")


class EventRegistrationBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: Annotated[SingleLineText, StringConstraints(strip_whitespace=True, min_length=1, max_length=100), NOT_BLANK]
    email: Annotated[str, StringConstraints(min_length=3, max_length=254, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")]
    organisation_name: line(200) = ""
    corporate_number: pattern(r"^([0-9]{13})?$") = ""


class EventAttendanceBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    attended: list[RowId] = Field(max_length=100_000, description="The registrations (ids) that came; the others did not")


class EventArchiveBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    archive_url: Annotated[str, StringConstraints(min_length=8, max_length=500, pattern=r"^https?://\S+$"), SINGLE_LINE]


class EventTargetBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    events: int = Field(ge=0, le=1000)
    attendance: int = Field(ge=0, le=1_000_000)


class EventFiguresOut(BaseModel):
    registrations: int
    waitlisted: int
    attended: int
    members: int
    non_members: int
    new_members: int


class EventOut(BaseModel):
    id: int
    kind: Kind
    kind_ja: str
    title: str
    starts_at: dt.datetime
    ends_at: dt.datetime
    place: str
    online_url: str
    capacity: int
    audience: Audience
    archive_url: str
    community_group_id: int | None
    figures: EventFiguresOut


class EventList(BaseModel):
    items: list[EventOut]
    total: int


class EventRegistrationOut(BaseModel):
    id: int
    event_id: int
    name: str
    status: Status
    attended: bool
    promoted_id: int | None = Field(default=None, description="On a cancellation: the registration moved up, if any")


class EventRegistrationList(BaseModel):
    items: list[EventRegistrationOut]
    total: int


class EventKindYearOut(BaseModel):
    kind: Kind
    kind_ja: str
    events_held: int
    events_target: int
    attendance_target: int
    figures: EventFiguresOut


class EventYearOut(BaseModel):
    fiscal_year: int
    kinds: list[EventKindYearOut]


def _figures(figures: events.Figures) -> dict:
    return {"registrations": figures.registrations, "waitlisted": figures.waitlisted, "attended": figures.attended,
            "members": figures.members, "non_members": figures.non_members, "new_members": figures.new_members}


def _event(event: events.Event) -> dict:
    return {"id": event.id, "kind": event.kind.value, "kind_ja": event.kind.ja, "title": event.title,
            "starts_at": event.starts_at.isoformat(), "ends_at": event.ends_at.isoformat(), "place": event.place,
            "online_url": event.online_url, "capacity": event.capacity, "audience": event.audience.value,
            "archive_url": event.archive_url, "community_group_id": event.group_id,
            "figures": _figures(events.event_figures(db.session, current_actor(), event.id))}


def _registration(row: events.EventRegistration, promoted: events.EventRegistration | None = None) -> dict:
    return {"id": row.id, "event_id": row.event_id, "name": row.name, "status": row.status.value,
            "attended": row.attended, "promoted_id": promoted.id if promoted is not None else None}


@bp.get("/events", responses={200: EventList}, summary="Events of a fiscal year (all when none is given)")
def list_events(query: EventQuery):
    rows = events.list_events(db.session, current_actor(), fiscal_year=query.fiscal_year)
    return jsonify({"items": [_event(row) for row in rows], "total": len(rows)})


@bp.post("/events", responses={201: EventOut}, summary="Create an event, seminar, community meeting or training")
def create_event(body: EventBody):
    fields = body.model_dump()
    fields["group_id"] = fields.pop("community_group_id")
    event = events.create_event(db.session, current_actor(), events.EventDraft(**fields))
    return jsonify(_event(event)), 201


@bp.get("/events/<event_id>", responses={200: EventOut}, summary="One event with its figures")
def get_event(path: EventPath):
    authz.authorize(current_actor(), "event.read")
    return jsonify(_event(events.get_event(db.session, path.event_id)))


@bp.get("/events/<event_id>/registrations", responses={200: EventRegistrationList}, summary="Who registered, who waits")
def list_registrations(path: EventPath):
    rows = events.registrations_of(db.session, current_actor(), path.event_id)
    return jsonify({"items": [_registration(row) for row in rows], "total": len(rows)})


@bp.post("/events/<event_id>/registrations", responses={201: EventRegistrationOut},
         summary="Register signed in (the event's audience); the waiting list when it is full")
def register(path: EventPath, body: EventRegistrationBody):
    row = events.register(db.session, current_actor(), path.event_id, events.Registrant(**body.model_dump()))
    return jsonify(_registration(row)), 201


@bp.post("/event-registrations/<registration_id>/cancel", responses={200: EventRegistrationOut},
         summary="Cancel a registration (one's own, or the secretariat any); the first waiting moves up")
def cancel(path: EventRegistrationPath):
    row, promoted = events.cancel(db.session, current_actor(), path.registration_id)
    return jsonify(_registration(row, promoted))


@bp.put("/events/<event_id>/attendance", responses={200: EventOut}, summary="Record who came (on the day or after)")
def attendance(path: EventPath, body: EventAttendanceBody):
    events.record_attendance(db.session, current_actor(), path.event_id, set(body.attended))
    return jsonify(_event(events.get_event(db.session, path.event_id)))


@bp.put("/events/<event_id>/archive", responses={200: EventOut}, summary="The recording's archive link, after the event")
def archive(path: EventPath, body: EventArchiveBody):
    return jsonify(_event(events.set_archive(db.session, current_actor(), path.event_id, body.archive_url)))


@bp.get("/event-years/<fiscal_year>", responses={200: EventYearOut},
        summary="The year's events per kind against the targets: held, registrations, attendance, members, new members")
def year(path: EventYearPath):
    return _year(path.fiscal_year)


def _year(fiscal_year: int):
    rows = events.year_figures(db.session, current_actor(), fiscal_year)
    return jsonify({"fiscal_year": fiscal_year, "kinds": [
        {"kind": row.kind.value, "kind_ja": row.kind.ja, "events_held": row.events_held,
         "events_target": row.events_target, "attendance_target": row.attendance_target,
         "figures": _figures(row.figures)} for row in rows]})


@bp.put("/event-years/<fiscal_year>/targets/<event_kind>", responses={200: EventYearOut}, summary="Set the year's target of a kind")
def set_target(path: EventTargetPath, body: EventTargetBody):
    events.set_target(db.session, current_actor(), path.fiscal_year, path.event_kind, body.events, body.attendance)
    return _year(path.fiscal_year)
