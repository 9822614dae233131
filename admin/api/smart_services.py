"""/api/v1/smart-services, /api/v1/smart-service-ideas, /api/v1/municipal-needs and /api/v1/smart-service-targets:
the register of smart-city services, the workshops' ideas, the municipalities' needs and the fiscal year's target of
services found (secretariat/smart_services.py). Parse, authorise (the operation asks core.authz), call the operation;
the request commits once. The desk keeps services and ideas; a municipality's people answer their own needs."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from flask import jsonify
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from admin.api import API_PREFIX, BEARER, PROBLEM_RESPONSES, CachedSchema, tag
from admin.auth import current_actor
from admin.edge import StrictAPIBlueprint
from admin.extensions import db
from core.calendar import FIRST_FISCAL_YEAR, LAST_FISCAL_YEAR
from core.validation import ID_RANGE, NOT_BLANK, PlainText, RowId, SingleLineText
from secretariat import smart_services as ss

bp = StrictAPIBlueprint("api_smart_services", __name__, url_prefix=API_PREFIX,
                        abp_tags=tag("smart-services", "スマートシティサービス・アイデア・市町の課題とニーズ / smart-city services"),
                        abp_security=BEARER, abp_responses=PROBLEM_RESPONSES)

FieldCode = Literal[tuple(f.value for f in ss.ServiceField)]  # type: ignore[valid-type]
Scope = Literal[tuple(s.value for s in ss.ServiceScope)]  # type: ignore[valid-type]
Status = Literal[tuple(s.value for s in ss.ServiceStatus)]  # type: ignore[valid-type]
Stage = Literal[tuple(s.value for s in ss.IdeaStage)]  # type: ignore[valid-type]
ServiceMove = Literal[tuple(ss.SERVICES.moves)]  # type: ignore[valid-type]
IdeaMove = Literal[tuple(ss.IDEAS.moves)]  # type: ignore[valid-type]
Name = Annotated[SingleLineText, StringConstraints(strip_whitespace=True, min_length=1, max_length=ss.NAME_MAX), NOT_BLANK]
Text = Annotated[PlainText, StringConstraints(strip_whitespace=True, max_length=ss.TEXT_MAX)]
Workshop = Annotated[SingleLineText, StringConstraints(strip_whitespace=True, max_length=ss.WORKSHOP_MAX)]
Proposer = Annotated[SingleLineText, StringConstraints(strip_whitespace=True, max_length=ss.NAME_MAX)]
Reason = Annotated[PlainText, StringConstraints(strip_whitespace=True, max_length=ss.REASON_MAX)]
Number = Annotated[str, StringConstraints(pattern=r"^\d{13}$")]
TenantCode = Annotated[str, StringConstraints(pattern=r"^\d{6}$")]
FiscalYear = Annotated[int, Field(ge=FIRST_FISCAL_YEAR, le=LAST_FISCAL_YEAR, description="Fiscal year (April–March)")]
Day = Annotated[dt.date, Field(description="A day in fiscal years 1989–2100 (renkei's calendar)")]


class SmartServicePath(BaseModel):
    smart_service_id: int = Field(**ID_RANGE)


class SmartIdeaPath(BaseModel):
    idea_id: int = Field(**ID_RANGE)


class MunicipalNeedPath(BaseModel):
    need_id: int = Field(**ID_RANGE)


class SmartTargetPath(BaseModel):
    fiscal_year: FiscalYear


class SmartServiceBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: Name
    summary: Text = ""
    field: FieldCode = Field(description="分野")
    scope: Scope = Field(description="prefecture: 県の事業; regional: 県と市町の広域連携")
    found_on: Day = Field(description="The day it was found (掘り起こした日): counts for that fiscal year's target")
    idea_ids: list[RowId] = Field(default_factory=list, max_length=ss.MAX_LINKS, description="The ideas it came from")


class SmartServiceOut(BaseModel):
    id: int
    name: str
    summary: str
    field: FieldCode
    scope: Scope
    found_on: dt.date
    status: Status
    status_ja: str
    status_reason: str
    idea_ids: list[int]


class SmartServiceList(BaseModel):
    items: list[SmartServiceOut]


class SmartServiceQuery(CachedSchema):
    fiscal_year: FiscalYear | None = Field(default=None, description="Only the services found in this fiscal year")


class SmartServiceMoveBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    move: ServiceMove = Field(description="pilot (実証の開始), run (運用の開始), withdraw (取り下げ, a reason required)")
    reason: Reason = ""


class SmartIdeaBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    title: Name
    description: Text = ""
    workshop: Workshop = Field(default="", description="The workshop it came from")
    proposed_on: Day
    proposer_number: Number | None = Field(default=None, description="An approved member organisation's corporate number")
    proposer_name: Proposer = Field(default="", description="Who proposed it, when not a member organisation")
    need_ids: list[RowId] = Field(default_factory=list, max_length=ss.MAX_LINKS, description="The needs it answers")


class SmartIdeaOut(BaseModel):
    id: int
    title: str
    description: str
    workshop: str
    proposed_on: dt.date
    proposer_number: str
    proposer_name: str
    stage: Stage
    stage_ja: str
    stage_reason: str
    need_ids: list[int]


class SmartIdeaList(BaseModel):
    items: list[SmartIdeaOut]


class SmartIdeaMoveBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    move: IdeaMove = Field(description="study (検討の開始), adopt (サービス案に採用), drop (見送り, a reason required)")
    reason: Reason = ""


class MunicipalNeedBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    tenant_code: TenantCode | None = Field(default=None, description="Your municipality (required if you belong to several)")
    fiscal_year: FiscalYear
    field: FieldCode = Field(description="分野")
    title: Name
    detail: Text = ""


class MunicipalNeedOut(BaseModel):
    id: int
    tenant_code: str
    fiscal_year: int
    field: FieldCode
    title: str
    detail: str


class MunicipalNeedList(BaseModel):
    items: list[MunicipalNeedOut]


class MunicipalNeedQuery(CachedSchema):
    fiscal_year: FiscalYear | None = None
    tenant_code: TenantCode | None = None


class SmartTargetBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    target: int = Field(ge=1, le=ss.MAX_TARGET, description="Services to find in the fiscal year")


class SmartTargetOut(BaseModel):
    fiscal_year: int
    target: int
    found: int
    percent: int


def _service(s: ss.SmartService, idea_ids: list[int]) -> dict:
    return {"id": s.id, "name": s.name, "summary": s.summary, "field": s.field.value, "scope": s.scope.value,
            "found_on": s.found_on.isoformat(), "status": s.status.value, "status_ja": s.status.ja,
            "status_reason": s.status_reason, "idea_ids": idea_ids}


def _idea(i: ss.SmartServiceIdea, need_ids: list[int]) -> dict:
    return {"id": i.id, "title": i.title, "description": i.description, "workshop": i.workshop,
            "proposed_on": i.proposed_on.isoformat(), "proposer_number": i.proposer_number, "proposer_name": i.proposer_name,
            "stage": i.stage.value, "stage_ja": i.stage.ja, "stage_reason": i.stage_reason, "need_ids": need_ids}


def _need(n: ss.MunicipalNeed) -> dict:
    return {"id": n.id, "tenant_code": n.tenant_code, "fiscal_year": n.fiscal_year, "field": n.field.value,
            "title": n.title, "detail": n.detail}


def _progress(p: ss.Progress) -> dict:
    return {"fiscal_year": p.fiscal_year, "target": p.target, "found": p.found, "percent": p.percent}


def _service_draft(body: SmartServiceBody) -> ss.ServiceDraft:
    return ss.ServiceDraft(body.name, body.summary, body.field, body.scope, body.found_on, tuple(body.idea_ids))


def _idea_draft(body: SmartIdeaBody) -> ss.IdeaDraft:
    return ss.IdeaDraft(body.title, body.description, body.workshop, body.proposed_on, body.proposer_number or "",
                        body.proposer_name, tuple(body.need_ids))


# --- services ------------------------------------------------------------------------------------------

@bp.get("/smart-services", responses={200: SmartServiceList}, summary="The smart-city services, the latest found first")
def list_services(query: SmartServiceQuery):
    found = ss.list_services(db.session, current_actor(), fiscal_year=query.fiscal_year)
    links = ss.idea_links(db.session, [s.id for s in found])
    return jsonify({"items": [_service(s, links[s.id]) for s in found]})


@bp.post("/smart-services", responses={201: SmartServiceOut}, summary="Register a service found (提案); audited")
def create_service(body: SmartServiceBody):
    service = ss.create_service(db.session, current_actor(), _service_draft(body))
    return jsonify(_service(service, ss.idea_ids_of(db.session, service.id))), 201


@bp.put("/smart-services/<smart_service_id>", responses={200: SmartServiceOut},
        summary="Change a service's details and the ideas it came from; audited")
def update_service(path: SmartServicePath, body: SmartServiceBody):
    service = ss.update_service(db.session, current_actor(), path.smart_service_id, _service_draft(body))
    return jsonify(_service(service, ss.idea_ids_of(db.session, service.id)))


@bp.post("/smart-services/<smart_service_id>/transitions", responses={200: SmartServiceOut},
         summary="Move a service: pilot, run or withdraw (409 names a move the table does not allow); audited")
def move_service(path: SmartServicePath, body: SmartServiceMoveBody):
    service = ss.move_service(db.session, current_actor(), path.smart_service_id, body.move, body.reason)
    return jsonify(_service(service, ss.idea_ids_of(db.session, service.id)))


# --- ideas ---------------------------------------------------------------------------------------------

@bp.get("/smart-service-ideas", responses={200: SmartIdeaList}, summary="The workshops' ideas, the latest first")
def list_ideas():
    found = ss.list_ideas(db.session, current_actor())
    links = ss.need_links(db.session, [i.id for i in found])
    return jsonify({"items": [_idea(i, links[i.id]) for i in found]})


@bp.post("/smart-service-ideas", responses={201: SmartIdeaOut},
         summary="Record an idea (発案): its proposer a member organisation or free text, the needs it answers; audited")
def create_idea(body: SmartIdeaBody):
    idea = ss.create_idea(db.session, current_actor(), _idea_draft(body))
    return jsonify(_idea(idea, ss.need_ids_of(db.session, idea.id))), 201


@bp.put("/smart-service-ideas/<idea_id>", responses={200: SmartIdeaOut}, summary="Change an idea; audited")
def update_idea(path: SmartIdeaPath, body: SmartIdeaBody):
    idea = ss.update_idea(db.session, current_actor(), path.idea_id, _idea_draft(body))
    return jsonify(_idea(idea, ss.need_ids_of(db.session, idea.id)))


@bp.post("/smart-service-ideas/<idea_id>/transitions", responses={200: SmartIdeaOut},
         summary="Move an idea: study, adopt or drop (409 names a move the table does not allow); audited")
def move_idea(path: SmartIdeaPath, body: SmartIdeaMoveBody):
    idea = ss.move_idea(db.session, current_actor(), path.idea_id, body.move, body.reason)
    return jsonify(_idea(idea, ss.need_ids_of(db.session, idea.id)))


# --- needs ---------------------------------------------------------------------------------------------

@bp.get("/municipal-needs", responses={200: MunicipalNeedList},
        summary="The municipalities' needs (every one for the desk, your own municipality's otherwise)")
def list_needs(query: MunicipalNeedQuery):
    found = ss.list_needs(db.session, current_actor(), fiscal_year=query.fiscal_year, tenant_code=query.tenant_code)
    return jsonify({"items": [_need(n) for n in found]})


@bp.post("/municipal-needs", responses={201: MunicipalNeedOut},
         summary="Answer the yearly survey with a need of your own municipality; audited")
def record_need(body: MunicipalNeedBody):
    from core import authz

    actor = current_actor()
    code = authz.acting_for(actor, body.tenant_code, "tenant_code", "the municipality", "市町村")
    need = ss.record_need(db.session, actor, ss.NeedDraft(code, body.fiscal_year, body.field, body.title, body.detail))
    return jsonify(_need(need)), 201


@bp.put("/municipal-needs/<need_id>", responses={200: MunicipalNeedOut}, summary="Change your municipality's need; audited")
def update_need(path: MunicipalNeedPath, body: MunicipalNeedBody):
    need = ss.update_need(db.session, current_actor(), path.need_id,
                          ss.NeedDraft(body.tenant_code or "", body.fiscal_year, body.field, body.title, body.detail))
    return jsonify(_need(need))


# --- the target ------------------------------------------------------------------------------------------

@bp.get("/smart-service-targets/<fiscal_year>", responses={200: SmartTargetOut},
        summary=f"The fiscal year's target of services found (default {ss.DEFAULT_TARGET}) and how many were found")
def get_target(path: SmartTargetPath):
    return jsonify(_progress(ss.progress_of(db.session, current_actor(), path.fiscal_year)))


@bp.put("/smart-service-targets/<fiscal_year>", responses={200: SmartTargetOut},
        summary="Set the fiscal year's target of services found; audited")
def set_target(path: SmartTargetPath, body: SmartTargetBody):
    ss.set_target(db.session, current_actor(), path.fiscal_year, body.target)
    return jsonify(_progress(ss.progress_of(db.session, current_actor(), path.fiscal_year)))
