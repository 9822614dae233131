"""/api/v1/meetings and /api/v1/community-groups: meetings with their attendees, agenda and minutes
(governance/meetings.py), and the data-utilisation community and working groups (secretariat/groups.py).
The rules and the audit records are the operations'."""

from __future__ import annotations

import base64
import binascii
import datetime as dt
from typing import Annotated, Literal

from flask import jsonify
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints

from admin.api import API_PREFIX, BEARER, PROBLEM_RESPONSES, CachedSchema, tag
from admin.api.contract import BASE64, media
from admin.api.fields import line, pattern
from admin.auth import current_actor
from admin import downloads
from admin.edge import StrictAPIBlueprint
from admin.extensions import db
from core.errors import Invalid, problem
from core.validation import ID_RANGE, NOT_BLANK, PlainText, RowId, SingleLineText
from governance import meetings
from secretariat import groups

bp = StrictAPIBlueprint("api_meetings", __name__, url_prefix=API_PREFIX,
                        abp_tags=tag("meetings", "会議・議事録とコミュニティ / meetings, minutes and groups"),
                        abp_security=BEARER, abp_responses=PROBLEM_RESPONSES)

MeetingKind = Literal[tuple(k.value for k in meetings.MeetingKind)]  # type: ignore[valid-type]
MinutesStatus = Literal[tuple(s.value for s in meetings.MinutesStatus)]  # type: ignore[valid-type]
GroupKind = Literal[tuple(k.value for k in groups.GroupKind)]  # type: ignore[valid-type]
MemberKind = Literal[tuple(k.value for k in groups.MemberKind)]  # type: ignore[valid-type]
CorporateNumber = pattern(r"^[0-9]{13}$")
TenantCode = pattern(r"^[0-9]{6}$")


class MeetingPath(BaseModel):
    meeting_id: int = Field(**ID_RANGE)


class CommunityGroupPath(BaseModel):
    community_group_id: int = Field(**ID_RANGE)


class CommunityMemberPath(BaseModel):
    community_group_id: int = Field(**ID_RANGE)
    corporate_number: CorporateNumber


class CommunityMembershipPath(BaseModel):
    community_group_id: int = Field(**ID_RANGE)
    membership_id: int = Field(**ID_RANGE)


class CommunityGroupQuery(CachedSchema):
    staff_of: TenantCode | None = Field(
        default=None, description="A tenant code: only the groups its staff are in, each with those staff only "
                                  "(what the tenant's municipal admin may read)")


class MeetingQuery(CachedSchema):
    kind: MeetingKind | None = None
    community_group_id: int | None = Field(default=None, **ID_RANGE)


class MeetingAttendeeBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: line(100) = ""
    tenant_code: pattern(r"^([0-9]{6})?$") = Field(default="", description="A municipality or the prefecture")
    corporate_number: pattern(r"^([0-9]{13})?$") = Field(default="", description="An approved member organisation")


class MeetingAgendaBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    title: Annotated[SingleLineText, StringConstraints(strip_whitespace=True, min_length=1, max_length=200), NOT_BLANK]
    proposal_id: RowId | None = Field(default=None, description="The council proposal decided at this meeting (closed)")


class MeetingBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kind: MeetingKind
    title: Annotated[SingleLineText, StringConstraints(strip_whitespace=True, min_length=1, max_length=200), NOT_BLANK]
    held_at: AwareDatetime
    place: line(200) = ""
    community_group_id: int | None = Field(default=None, **ID_RANGE,
                                           description="The group of a community or working-group meeting (its kind follows the group's)")
    attendees: list[MeetingAttendeeBody] = Field(default_factory=list, max_length=meetings.ATTENDEES_MAX)
    agenda: list[MeetingAgendaBody] = Field(default_factory=list, max_length=meetings.AGENDA_MAX)


class MeetingEditBody(BaseModel):
    """The whole corrected record (its kind and group stay): the attendees and the agenda given replace
    the recorded ones."""
    model_config = ConfigDict(extra="forbid")
    title: Annotated[SingleLineText, StringConstraints(strip_whitespace=True, min_length=1, max_length=200), NOT_BLANK]
    held_at: AwareDatetime
    place: line(200) = ""
    attendees: list[MeetingAttendeeBody] = Field(default_factory=list, max_length=meetings.ATTENDEES_MAX)
    agenda: list[MeetingAgendaBody] = Field(default_factory=list, max_length=meetings.AGENDA_MAX)


class MinutesBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    text: Annotated[PlainText, StringConstraints(max_length=meetings.MINUTES_MAX)] = Field(
        default="", description="The minutes written in renkei (plain text); or pdf_base64")
    pdf_base64: str = Field(default="", max_length=meetings.PDF_MAX_BYTES * 4 // 3 + 4,
                            description="An attached PDF (at most 10 MB), base64", json_schema_extra={"pattern": BASE64})
    filename: line(200) = ""


class CommunityGroupBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kind: GroupKind
    name: Annotated[SingleLineText, StringConstraints(strip_whitespace=True, min_length=1, max_length=200), NOT_BLANK]
    purpose: Annotated[PlainText, StringConstraints(max_length=4000)] = ""
    target_members: int | None = Field(default=None, ge=0, le=groups.TARGET_MAX,
                                       description="Target number of member companies (default: the community's 20)")
    under_council: bool = Field(default=False, description="A working group that is a sub-body of the council (部会)")


class CommunityCouncilBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    under_council: bool = Field(description="Attach the working group to the council as its sub-body, or detach it")


class CommunityTargetBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    target_members: int = Field(ge=0, le=groups.TARGET_MAX)


class CommunityMemberBody(BaseModel):
    """Who joins: a consortium member by corporate number (the default kind); a municipality's or the prefecture's
    staff member by tenant code and name (and Keycloak's user id when known); an adviser by name and affiliation."""
    model_config = ConfigDict(extra="forbid")
    member_kind: MemberKind = "consortium_member"
    corporate_number: pattern(r"^([0-9]{13})?$") = Field(default="", description="consortium_member: an approved member")
    tenant_code: pattern(r"^([0-9]{6})?$") = Field(default="", description="municipal_staff: a municipality; "
                                                                         "prefecture_staff: the prefecture")
    user_id: pattern(r"^([A-Za-z0-9-]{1,64})?$") = Field(default="", description="Staff: Keycloak's user id, when known")
    name: line(groups.NAME_MAX) = Field(default="", description="Staff and advisers: the person's name")
    affiliation: line(groups.AFFILIATION_MAX) = Field(default="", description="Advisers: their affiliation")


class MeetingAttendeeOut(BaseModel):
    name: str
    tenant_code: str | None = Field(description="The municipality or prefecture the attendee came for; null if none")
    corporate_number: str | None = Field(description="The member organisation the attendee came for; null if none")
    organisation: str


class MeetingAgendaOut(BaseModel):
    position: int
    title: str
    proposal_id: int | None


class MeetingOut(BaseModel):
    id: int
    kind: MeetingKind
    kind_ja: str
    title: str
    held_at: dt.datetime
    place: str
    community_group_id: int | None
    minutes_status: MinutesStatus
    minutes_status_ja: str
    minutes_form: Literal["none", "text", "pdf"]
    written_by: str
    approved_by: str
    published_at: dt.datetime | None
    attendees: list[MeetingAttendeeOut]
    agenda: list[MeetingAgendaOut]


class MeetingList(BaseModel):
    items: list[MeetingOut]
    total: int


class CommunityMemberOut(BaseModel):
    id: int = Field(description="The membership (DELETE .../memberships/{id} removes it)")
    member_kind: MemberKind
    member_kind_ja: str
    corporate_number: str | None = Field(description="A consortium member's; null for a person")
    tenant_code: str | None = Field(description="A staff member's municipality or prefecture; null otherwise")
    user_id: str | None
    name: str = Field(description="The organisation's name, or the person's")
    affiliation: str


class CommunityGroupOut(BaseModel):
    id: int
    kind: GroupKind
    kind_ja: str
    name: str
    purpose: str
    target_members: int
    under_council: bool
    members: list[CommunityMemberOut]


class CommunityGroupList(BaseModel):
    items: list[CommunityGroupOut]
    total: int


def meeting_out(meeting: meetings.Meeting, parts: meetings.MeetingParts | None = None) -> dict:
    """The meeting as the API gives it; ``parts``: its attendees and agenda already read with others'
    (:func:`governance.meetings.parts_of`), else read for it alone."""
    parts = parts if parts is not None else meetings.parts_of(db.session, [meeting.id])
    attendees, names = parts.attendees[meeting.id], parts.names
    status = meetings.MinutesStatus(meeting.minutes_status)
    form = "none" if status == meetings.MinutesStatus.none else ("pdf" if meeting.minutes_pdf is not None else "text")
    return {"id": meeting.id, "kind": meeting.kind.value, "kind_ja": meetings.MeetingKind(meeting.kind).ja,
            "title": meeting.title, "held_at": meeting.held_at.isoformat(), "place": meeting.place,
            "community_group_id": meeting.group_id, "minutes_status": status.value,
            "minutes_status_ja": meetings.MinutesStatus(status).ja, "minutes_form": form,
            "written_by": meeting.written_by_name, "approved_by": meeting.approved_by,
            "published_at": meeting.published_at.isoformat() if meeting.published_at else None,
            "attendees": [{"name": a.name, "tenant_code": a.tenant_code or None, "corporate_number": a.corporate_number or None,
                           "organisation": names.get(a.tenant_code or a.corporate_number, "")} for a in attendees],
            "agenda": [{"position": i.position, "title": i.title, "proposal_id": i.proposal_id}
                       for i in parts.agenda[meeting.id]]}


def _group_out(group: groups.Group, rows: list[groups.GroupMember] | None = None) -> dict:
    """The group with its members (``rows``: those given, else every member)."""
    rows = groups.memberships(db.session, group.id) if rows is None else rows
    names = groups.member_names(db.session, rows)
    return {"id": group.id, "kind": group.kind.value, "kind_ja": groups.GroupKind(group.kind).ja, "name": group.name,
            "purpose": group.purpose, "target_members": group.target_members, "under_council": bool(group.under_council),
            "members": [{"id": r.id, "member_kind": groups.MemberKind(r.member_kind).value,
                         "member_kind_ja": groups.MemberKind(r.member_kind).ja, "corporate_number": r.corporate_number or None,
                         "tenant_code": r.tenant_code or None, "user_id": r.user_id or None, "name": names[r.id],
                         "affiliation": r.affiliation} for r in rows]}


@bp.get("/meetings", responses={200: MeetingList}, summary="Meetings, the latest first (of a kind, of a group)")
def list_meetings(query: MeetingQuery):
    rows = meetings.list_meetings(db.session, current_actor(), kind=query.kind, group_id=query.community_group_id)
    parts = meetings.parts_of(db.session, [row.id for row in rows])  # three queries for the whole list
    return jsonify({"items": [meeting_out(row, parts) for row in rows], "total": len(rows)})


@bp.post("/meetings", responses={201: MeetingOut},
         summary="Record a meeting: attendees (people and organisations) and agenda items linking the proposals decided")
def create_meeting(body: MeetingBody):
    draft = meetings.MeetingDraft(kind=body.kind, title=body.title, held_at=body.held_at, place=body.place,
                                  attendees=tuple(meetings.Attendee(**a.model_dump()) for a in body.attendees),
                                  agenda=tuple(meetings.AgendaItem(**i.model_dump()) for i in body.agenda))
    actor = current_actor()
    if body.community_group_id is not None:
        meeting = groups.create_group_meeting(db.session, actor, body.community_group_id, draft)
    else:
        meeting = meetings.create_meeting(db.session, actor, draft)
    return jsonify(meeting_out(meeting)), 201


@bp.get("/meetings/<meeting_id>", responses={200: MeetingOut}, summary="One meeting with its attendees, agenda and minutes' state")
def get_meeting(path: MeetingPath):
    return jsonify(meeting_out(meetings.read_meeting(db.session, current_actor(), path.meeting_id)))


@bp.put("/meetings/<meeting_id>", responses={200: MeetingOut},
        summary="Correct a meeting (title, date and time, place, attendees, agenda) while its minutes are not yet approved")
def update_meeting(path: MeetingPath, body: MeetingEditBody):
    draft = meetings.MeetingDraft(kind="", title=body.title, held_at=body.held_at, place=body.place,
                                  attendees=tuple(meetings.Attendee(**a.model_dump()) for a in body.attendees),
                                  agenda=tuple(meetings.AgendaItem(**i.model_dump()) for i in body.agenda))
    return jsonify(meeting_out(meetings.update_meeting(db.session, current_actor(), path.meeting_id, draft)))


def _pdf_of(body: MinutesBody) -> bytes | None:
    if not body.pdf_base64:
        return None
    try:
        return base64.b64decode(body.pdf_base64, validate=True)
    except (binascii.Error, ValueError):
        raise Invalid("pdf_base64 is not base64.", "pdf_base64 が base64 ではありません。",
                      problems=[problem("pdf_base64", "Not base64.", "base64 ではありません。")]) from None


@bp.put("/meetings/<meeting_id>/minutes", responses={200: MeetingOut},
        summary="Write or attach the minutes (text or a PDF); they await approval by another person")
def write_minutes(path: MeetingPath, body: MinutesBody):
    meeting = meetings.write_minutes(db.session, current_actor(), path.meeting_id, text=body.text, pdf=_pdf_of(body),
                                     filename=body.filename)
    return jsonify(meeting_out(meeting))


@bp.post("/meetings/<meeting_id>/minutes/approve", responses={200: MeetingOut},
         summary="Approve the minutes (not by their writer)")
def approve_minutes(path: MeetingPath):
    return jsonify(meeting_out(meetings.approve_minutes(db.session, current_actor(), path.meeting_id)))


class MinutesReturnBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: Annotated[PlainText, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000), NOT_BLANK] = Field(
        description="Why they are returned (required)")


@bp.post("/meetings/<meeting_id>/minutes/return", responses={200: MeetingOut},
         summary="Return the minutes awaiting approval with the reason (not by their writer); they are rewritten")
def return_minutes(path: MeetingPath, body: MinutesReturnBody):
    return jsonify(meeting_out(meetings.return_minutes(db.session, current_actor(), path.meeting_id, body.reason)))


@bp.post("/meetings/<meeting_id>/minutes/publish", responses={200: MeetingOut},
         summary="Publish approved minutes to the attendees' organisations (a notice and one e-mail each)")
def publish_minutes(path: MeetingPath):
    return jsonify(meeting_out(meetings.publish_minutes(db.session, current_actor(), path.meeting_id)))


@bp.get("/meetings/<meeting_id>/minutes/pdf", responses={200: media("application/pdf")},
        summary="The minutes as an A4 PDF (the attached file, or rendered with the issuer and the date); audited")
def minutes_pdf(path: MeetingPath):
    # who may read them is the minutes' own rule (governance.meetings.can_read_minutes): the secretariat and the
    # auditor, and an attending organisation once they are published, as on the published-minutes page
    data = meetings.minutes_pdf(db.session, current_actor(), path.meeting_id)
    return downloads.minutes_pdf(data, db.session.get(meetings.Meeting, path.meeting_id))  # read by minutes_pdf: no query


@bp.get("/community-groups", responses={200: CommunityGroupList},
        summary="The data-utilisation community and the working groups (or those a tenant's staff are in)")
def list_groups(query: CommunityGroupQuery):
    if query.staff_of is not None:
        found = groups.groups_of_tenant(db.session, current_actor(), query.staff_of)
        return jsonify({"items": [_group_out(s.group, s.staff) for s in found], "total": len(found)})
    rows = groups.list_groups(db.session, current_actor())
    return jsonify({"items": [_group_out(row) for row in rows], "total": len(rows)})


@bp.post("/community-groups", responses={201: CommunityGroupOut}, summary="Create the community or a working group")
def create_group(body: CommunityGroupBody):
    group = groups.create_group(db.session, current_actor(), groups.GroupDraft(**body.model_dump()))
    return jsonify(_group_out(group)), 201


@bp.get("/community-groups/<community_group_id>", responses={200: CommunityGroupOut}, summary="One group with its members")
def get_group(path: CommunityGroupPath):
    return jsonify(_group_out(groups.read_group(db.session, current_actor(), path.community_group_id)))


@bp.put("/community-groups/<community_group_id>/target", responses={200: CommunityGroupOut},
        summary="The group's target number of member companies")
def set_target(path: CommunityGroupPath, body: CommunityTargetBody):
    return jsonify(_group_out(groups.set_target(db.session, current_actor(), path.community_group_id, body.target_members)))


@bp.put("/community-groups/<community_group_id>/council", responses={200: CommunityGroupOut},
        summary="Attach a working group to the council as its sub-body (部会), or detach it")
def set_under_council(path: CommunityGroupPath, body: CommunityCouncilBody):
    return jsonify(_group_out(groups.set_under_council(db.session, current_actor(), path.community_group_id,
                                                       body.under_council)))


@bp.post("/community-groups/<community_group_id>/members", responses={200: CommunityGroupOut},
         summary="Add a member: an approved consortium member, a municipality's or the prefecture's staff member, an adviser")
def add_member(path: CommunityGroupPath, body: CommunityMemberBody):
    groups.join(db.session, current_actor(), path.community_group_id, groups.Candidate(
        body.member_kind, corporate_number=body.corporate_number, tenant_code=body.tenant_code, user_id=body.user_id,
        name=body.name, affiliation=body.affiliation))
    return jsonify(_group_out(groups.get_group(db.session, path.community_group_id)))


@bp.delete("/community-groups/<community_group_id>/memberships/<membership_id>", responses={200: CommunityGroupOut},
           summary="Remove a member of any kind from the group")
def remove_membership(path: CommunityMembershipPath):
    groups.remove_membership(db.session, current_actor(), path.community_group_id, path.membership_id)
    return jsonify(_group_out(groups.get_group(db.session, path.community_group_id)))


@bp.delete("/community-groups/<community_group_id>/members/<corporate_number>", responses={200: CommunityGroupOut},
           summary="Remove a consortium member from the group (by corporate number)")
def remove_member(path: CommunityMemberPath):
    groups.remove_member(db.session, current_actor(), path.community_group_id, path.corporate_number)
    return jsonify(_group_out(groups.get_group(db.session, path.community_group_id)))
