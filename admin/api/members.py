"""/api/v1/members and /api/v1/project-groups: consortium members (organisations by corporate number),
their screening, and project groups. The public application form is a page (admin/views/members.py)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from typing import Annotated, Literal

from flask import jsonify
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from admin.api import API_PREFIX, BEARER, PROBLEM_RESPONSES, CachedSchema, tag
from admin.api.paging import PageNumber, PerPage
from admin.auth import current_actor
from admin.edge import StrictAPIBlueprint
from admin.extensions import db
from admin.identity import identity_directory
from core.codes import INDUSTRY_MAJOR_GROUPS
from core.validation import (ID_RANGE, NOT_BLANK, SINGLE_LINE, StatedInSchema, plain_text, single_line,
                             stated_text_rule)
from tenancy.identity.keycloak import ACCOUNT_EMAIL_PATTERN
from tenancy.identity import operations as identity
from tenancy.members import details as member_details
from tenancy.members import operations as members
from tenancy.members.models import PREFECTURES, MemberStatus, SizeBand
from tenancy.registry.schemas import Email

bp = StrictAPIBlueprint("api_members", __name__, url_prefix=API_PREFIX, abp_tags=tag("members", "会員（企業・大学・団体）/ members"),
                        abp_security=BEARER, abp_responses=PROBLEM_RESPONSES)

Number = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^[0-9]{13}$"),
                   StatedInSchema(format="jp-corporate-number", description="Corporate number: 13 digits, the first a check digit")]
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000), NOT_BLANK]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100), NOT_BLANK]


class MemberPath(BaseModel):
    corporate_number: Number = Field(description="Corporate number (法人番号), 13 digits with its check digit")


class CheckPath(BaseModel):
    corporate_number: Number
    item_id: int = Field(**ID_RANGE)


class MemberQuery(CachedSchema):
    q: str = Field(default="", max_length=100, description="Name, kana or corporate number")
    status: MemberStatus | None = None
    page: PageNumber = 1
    per_page: PerPage = 50


class MemberRowOut(BaseModel):
    corporate_number: str
    name: str
    kind: str
    prefecture: str
    in_prefecture: bool
    status: str
    tenant_code: str | None


class MemberPage(BaseModel):
    items: list[MemberRowOut]
    total: int
    page: int
    per_page: int


class MemberCheckOut(BaseModel):
    item_id: int
    label_ja: str
    checked: bool
    note: str


class MemberOut(BaseModel):
    corporate_number: str
    name: str
    kind: str
    prefecture: str
    in_prefecture: bool
    status: str
    representative: str
    pledge_received_on: dt.date | None
    profile_received_on: dt.date | None
    checklist: list[MemberCheckOut] = Field(description="The screening checklist (an application, for a screener); else empty")


class DocumentBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    document: Annotated[str, StringConstraints(pattern=r"^(pledge|profile)$")] = Field(description="pledge (誓約書) or profile (会社概要)")
    received_on: dt.date


class CheckBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    checked: bool
    note: str = Field(default="", max_length=500)


class ItemBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    label_ja: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200), NOT_BLANK]
    label_en: str = Field(default="", max_length=200)


class ApproveBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: Text
    admin_username: Annotated[str, StringConstraints(strip_whitespace=True, min_length=3, max_length=64, pattern=r"^[A-Za-z0-9._@-]+$")]
    admin_first_name: Name
    admin_last_name: Name
    admin_email: Annotated[Email, StatedInSchema(pattern=ACCOUNT_EMAIL_PATTERN)] | None = Field(
        default=None, description="The admin's e-mail (as Keycloak takes one: ASCII); the application's contact address if omitted")


class ReasonBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: Text


class ScreeningItemOut(BaseModel):
    id: int
    label_ja: str
    label_en: str


class GroupBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200), NOT_BLANK]
    representative: Number
    members: list[Number] = Field(max_length=100, json_schema_extra={"minItems": 2})


class GroupPath(BaseModel):
    group_id: int = Field(**ID_RANGE)


class GroupDissolveBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: Text


class GroupOut(BaseModel):
    id: int
    name: str
    representative: str
    members: list[str]


class GroupList(BaseModel):
    items: list[GroupOut]


def _row(row: members.MemberRow) -> dict:
    return {"corporate_number": row.corporate_number, "name": row.name, "kind": row.kind, "prefecture": row.prefecture,
            "in_prefecture": row.in_prefecture, "status": row.status_label[1].lower(), "tenant_code": row.tenant_code}


def _member(number: str) -> dict:
    actor = current_actor()
    org = members.get_member(db.session, actor, number)
    checklist = []
    if org.status == MemberStatus.applied and identity_can_screen(actor):
        checklist = [{"item_id": item.id, "label_ja": item.label_ja, "checked": bool(check and check.checked),
                      "note": check.note if check else ""} for item, check in members.screening_state(db.session, actor, number)]
    return {"corporate_number": org.corporate_number, "name": org.name, "kind": org.kind.value,
            "prefecture": org.prefecture, "in_prefecture": org.in_prefecture, "status": org.status.value,
            "representative": org.representative,
            "pledge_received_on": org.pledge_received_on.isoformat() if org.pledge_received_on else None,
            "profile_received_on": org.profile_received_on.isoformat() if org.profile_received_on else None,
            "checklist": checklist}


def identity_can_screen(actor) -> bool:
    from core import authz

    return authz.allowed(actor, "member.screen")


@bp.get("/members", responses={200: MemberPage}, summary="List members: organisations and municipalities")
def list_members(query: MemberQuery):
    rows, total = members.list_members(db.session, current_actor(), search=query.q,
                                       status=query.status.value if query.status else None,
                                       page=query.page, per_page=query.per_page)
    return jsonify({"items": [_row(r) for r in rows], "total": total, "page": query.page, "per_page": query.per_page})


@bp.get("/members/<corporate_number>", responses={200: MemberOut}, summary="One member organisation and its screening")
def get_member(path: MemberPath):
    return jsonify(_member(path.corporate_number))


@bp.post("/members/<corporate_number>/documents", responses={200: MemberOut}, summary="Record a document's receipt")
def record_document(path: MemberPath, body: DocumentBody):
    members.record_document(db.session, current_actor(), path.corporate_number, body.document, body.received_on)
    return jsonify(_member(path.corporate_number))


@bp.put("/members/<corporate_number>/checklist/<item_id>", responses={200: MemberOut}, summary="Tick a screening item")
def check_item(path: CheckPath, body: CheckBody):
    members.check_item(db.session, current_actor(), path.corporate_number, path.item_id, body.checked, body.note)
    return jsonify(_member(path.corporate_number))


@bp.post("/members/<corporate_number>/approve", responses={200: MemberOut}, summary="Approve and open the organisation's accounts")
def approve(path: MemberPath, body: ApproveBody):
    actor = current_actor()
    org = members.get_member(db.session, actor, path.corporate_number)
    admin = identity.Invitation(body.admin_username, body.admin_email or org.contact_email, body.admin_first_name,
                                body.admin_last_name,
                                frozenset())
    members.approve(db.session, actor, identity_directory(), path.corporate_number, body.reason, admin)
    return jsonify(_member(path.corporate_number))


@bp.post("/members/<corporate_number>/reject", responses={200: MemberOut}, summary="Reject an application, with the reason")
def reject(path: MemberPath, body: ReasonBody):
    members.reject(db.session, current_actor(), path.corporate_number, body.reason)
    return jsonify(_member(path.corporate_number))


@bp.post("/members/<corporate_number>/withdraw", responses={200: MemberOut}, summary="Withdraw from the consortium")
def withdraw(path: MemberPath, body: ReasonBody):
    members.withdraw(db.session, current_actor(), path.corporate_number, body.reason, identity_directory())
    return jsonify(_member(path.corporate_number))


@bp.post("/members/checklist", responses={201: ScreeningItemOut}, summary="Add a screening criterion")
def add_item(body: ItemBody):
    item = members.add_screening_item(db.session, current_actor(), body.label_ja, body.label_en)
    return jsonify({"id": item.id, "label_ja": item.label_ja, "label_en": item.label_en}), 201


@bp.get("/project-groups", responses={200: GroupList}, summary="List project groups")
def list_groups():
    groups = members.list_groups(db.session, current_actor())
    return jsonify({"items": [{"id": g.id, "name": g.name, "representative": g.representative, "members": m}
                              for g, m in groups]})


@bp.post("/project-groups", responses={201: GroupOut}, summary="Form a project group (rules checked)")
def form_group(body: GroupBody):
    group = members.form_group(db.session, current_actor(), body.name, body.representative, body.members)
    return jsonify({"id": group.id, "name": group.name, "representative": group.representative,
                    "members": list(dict.fromkeys(body.members))}), 201


@bp.put("/project-groups/<group_id>", responses={200: GroupOut},
        summary="Change a project group: name, members, representative (rules checked again)")
def change_group(path: GroupPath, body: GroupBody):
    actor = current_actor()
    members.change_group(db.session, actor, path.group_id, body.name, body.representative, body.members)
    group, numbers = members.get_group(db.session, actor, path.group_id)
    return jsonify({"id": group.id, "name": group.name, "representative": group.representative, "members": numbers})


@bp.post("/project-groups/<group_id>/dissolve", responses={204: None}, summary="Dissolve a project group, with the reason")
def dissolve_group(path: GroupPath, body: GroupDissolveBody):
    members.dissolve_group(db.session, current_actor(), path.group_id, body.reason)
    return "", 204


# --- a member keeps its own details (issue 58 item 1) ----------------------------------------------

def _line(limit: int, *, required: bool = False):
    constraints = StringConstraints(strip_whitespace=True, min_length=1 if required else 0, max_length=limit)
    return Annotated[str, constraints, AfterValidator(single_line), SINGLE_LINE, *((NOT_BLANK,) if required else ())]


Required100, Required200 = _line(100, required=True), _line(200, required=True)
Line32, Line200, Line300 = _line(32), _line(200), _line(300)


class MemberDetailsBody(BaseModel):
    """Every field of the member's details, as they should be: the name, its kana, the prefecture, the address
    and the representative wait for the secretariat (an organisation's admin); the rest apply at once."""

    model_config = ConfigDict(extra="forbid")
    name: Required200
    name_kana: Line200 = ""
    prefecture: Literal[PREFECTURES] = Field(description="The head office's prefecture")  # type: ignore[valid-type]
    address: Line300 = ""
    representative: Required100
    contact_name: Required100
    contact_email: Email
    contact_phone: Line32 = ""
    industry: Literal[("",) + tuple(INDUSTRY_MAJOR_GROUPS)] = Field(  # type: ignore[valid-type]
        default="", description="日本標準産業分類 major group letter; empty if not known")
    size_band: Literal[("",) + tuple(band.value for band in SizeBand)] = Field(  # type: ignore[valid-type]
        default="", description="small, medium, large or not_applicable; empty if not known")
    employees: int | None = Field(default=None, ge=0, le=10**15)
    capital_yen: int | None = Field(default=None, ge=0, le=10**15, description="Capital in yen")
    public_profile: Annotated[str, StringConstraints(strip_whitespace=True, max_length=member_details.PROFILE_LIMIT),
                              AfterValidator(plain_text), StatedInSchema(**stated_text_rule())] = Field(
        default="", description="What the member says of itself to other members (several lines)")


class MemberChangePath(BaseModel):
    change_id: int = Field(**ID_RANGE)


class MemberChangeApproveBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: str = Field(default="", max_length=2000, description="Why (optional when approving)")


class MemberChangeRejectBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: Text


class MemberChangeOut(BaseModel):
    id: int
    status: Literal["applied", "pending", "approved", "rejected"]
    before: dict[str, str | int | None] = Field(description="The changed fields (those of the details) as they were")
    after: dict[str, str | int | None] = Field(description="The changed fields as they became (or, waiting, would become)")
    requested_by: str
    requested_at: dt.datetime
    decided_by: str
    decided_at: dt.datetime | None
    decision_reason: str


class MemberDetailsOut(BaseModel):
    name: str
    name_kana: str
    prefecture: str
    address: str
    representative: str
    contact_name: str
    contact_email: str
    contact_phone: str
    industry: str
    size_band: str
    employees: int | None
    capital_yen: int | None
    public_profile: str


class MemberDetailsAnswer(BaseModel):
    corporate_number: str
    details: MemberDetailsOut = Field(description="The member's details as they are now")
    pending: MemberChangeOut | None = Field(description="The change awaiting the secretariat, if any")


class MemberChangeResultOut(MemberDetailsAnswer):
    applied: list[str] = Field(description="The fields applied at once")


class MemberChangeList(BaseModel):
    items: list[MemberChangeOut]


def _change(change) -> dict | None:
    if change is None:
        return None
    return {"id": change.id, "status": change.status.value, "before": json.loads(change.before),
            "after": json.loads(change.after), "requested_by": change.requested_by,
            "requested_at": change.requested_at.isoformat(), "decided_by": change.decided_by,
            "decided_at": change.decided_at.isoformat() if change.decided_at else None,
            "decision_reason": change.decision_reason}


def _details(number: str) -> dict:
    org = members.get_member(db.session, current_actor(), number)
    return {"corporate_number": number, "details": dataclasses.asdict(member_details.details_of(org)),
            "pending": _change(member_details.pending_change(db.session, org))}


@bp.get("/members/<corporate_number>/details", responses={200: MemberDetailsAnswer},
        summary="A member's details (its own admin, the secretariat)")
def get_details(path: MemberPath):
    return jsonify(_details(path.corporate_number))


@bp.put("/members/<corporate_number>/details", responses={200: MemberChangeResultOut},
        summary="Change a member's details: the contact, industry, size and profile at once; the name, "
                "prefecture, address and representative after the secretariat's approval")
def change_details(path: MemberPath, body: MemberDetailsBody):
    outcome = member_details.change_details(db.session, current_actor(), path.corporate_number,
                                            member_details.MemberDetails(**body.model_dump()))
    return jsonify({**_details(path.corporate_number), "applied": list(outcome.applied)})


@bp.get("/members/<corporate_number>/changes", responses={200: MemberChangeList},
        summary="The history of a member's details, newest first")
def list_changes(path: MemberPath):
    rows = member_details.history(db.session, current_actor(), path.corporate_number)
    return jsonify({"items": [_change(row.change) for row in rows]})


@bp.post("/member-changes/<change_id>/approve", responses={200: MemberChangeOut},
         summary="Approve a member's change awaiting the secretariat: it applies now")
def approve_change(path: MemberChangePath, body: MemberChangeApproveBody):
    return jsonify(_change(member_details.approve_change(db.session, current_actor(), path.change_id, body.reason)))


@bp.post("/member-changes/<change_id>/reject", responses={200: MemberChangeOut},
         summary="Reject a member's change awaiting the secretariat, with the reason")
def reject_change(path: MemberChangePath, body: MemberChangeRejectBody):
    return jsonify(_change(member_details.reject_change(db.session, current_actor(), path.change_id, body.reason)))
