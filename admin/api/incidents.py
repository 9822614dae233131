"""/api/v1 endpoints of the incident register (障害台帳): the register (platform incidents and identity
incidents as kinds of one list), opening, the timeline, the first report, closing with the final
report, the reports as facts or one-page PDFs; and the request log's search (by time window, request
id, tenant, path, status). The operations authorise themselves and audit every act."""

from __future__ import annotations

import datetime as dt
import urllib.parse
from typing import Annotated, Literal

from flask import Response, current_app, jsonify
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints

from admin import request_log
from admin.api import API_PREFIX, BEARER, PROBLEM_RESPONSES, tag
from admin.api.contract import media
from admin.auth import current_actor
from admin.edge import StrictAPIBlueprint
from admin.extensions import db
from admin.service.incident_settings import first_report_hours, report_recipients, reporter
from core.validation import ID_RANGE, NOT_BLANK, PlainText, SingleLineText, TenantCode
from service.incidents import letters, logs, operations, register
from service.incidents.models import EntryKind, Severity

bp = StrictAPIBlueprint("api_incidents", __name__, url_prefix=API_PREFIX,
                        abp_tags=tag("incidents", "障害台帳・リクエストログ / incident register, request log"),
                        abp_security=BEARER, abp_responses=PROBLEM_RESPONSES)
PDF = "application/pdf"

Title = Annotated[SingleLineText, StringConstraints(strip_whitespace=True, min_length=1, max_length=operations.TITLE_MAX), NOT_BLANK]
Part = Annotated[PlainText, StringConstraints(strip_whitespace=True, min_length=1, max_length=operations.PART_MAX), NOT_BLANK]
ComponentCode = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9:_.-]{0,63}$")]
CorporateNumber = Annotated[str, StringConstraints(pattern=r"^[1-9][0-9]{12}$")]
HandKind = Literal[tuple(kind.value for kind in operations.ENTRY_KINDS_BY_HAND)]  # type: ignore[valid-type]


class IncidentPath(BaseModel):
    incident_id: int = Field(**ID_RANGE)


class IncidentReportPath(BaseModel):
    incident_id: int = Field(**ID_RANGE)
    kind: Literal["first", "final"]


class IncidentReportQuery(BaseModel):
    format: Literal["json", "pdf"] = "json"


class IncidentComponentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    code: ComponentCode
    name: Annotated[SingleLineText, StringConstraints(strip_whitespace=True, min_length=1, max_length=200), NOT_BLANK]


class IncidentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    title: Title
    severity: Severity = Severity.major
    detected_at: AwareDatetime | None = Field(default=None, description="When it was detected, with its offset (default: "
                                                                        "now); not in the future")
    description: Annotated[PlainText, StringConstraints(strip_whitespace=True, max_length=operations.TEXT_MAX)] = ""
    components: list[IncidentComponentIn] = Field(default_factory=list, max_length=20)
    tenant_codes: list[TenantCode] = Field(default_factory=list, max_length=100,
                                           description="Registered tenants the incident affects")
    member_numbers: list[CorporateNumber] = Field(default_factory=list, max_length=100,
                                                  description="Corporate numbers of registered member organisations")


class IncidentEditIn(BaseModel):
    """What the incident's edit page changes: the severity, and municipalities and members added (never removed:
    the notices already sent to them stay true)."""
    model_config = ConfigDict(extra="forbid")
    severity: Severity | None = Field(default=None, description="The new severity (absent: unchanged)")
    add_tenant_codes: list[TenantCode] = Field(default_factory=list, max_length=100,
                                               description="Registered tenants the incident also affects")
    add_member_numbers: list[CorporateNumber] = Field(default_factory=list, max_length=100,
                                                      description="Corporate numbers of member organisations it also affects")


class IncidentEntryIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kind: HandKind
    text: Annotated[PlainText, StringConstraints(strip_whitespace=True, min_length=1, max_length=operations.ENTRY_MAX), NOT_BLANK]
    at: AwareDatetime | None = Field(default=None, description="When, with its offset (default: now); not before the "
                                                               "detection")


class IncidentFinalIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    cause: Part
    impact: Part
    response: Part
    prevention: Part


class IncidentRegisterRowOut(BaseModel):
    kind: Literal["platform", "identity"]
    kind_ja: str
    id: int
    title: str
    severity: str
    state_ja: str
    state_en: str
    open: bool
    detected_at: str


class IncidentRegisterOut(BaseModel):
    items: list[IncidentRegisterRowOut]
    total: int


class IncidentEntryOut(BaseModel):
    kind: str
    at: str
    by: str
    text: str


class IncidentReportOut(BaseModel):
    incident_id: int
    kind: Literal["first", "final"]
    number: str
    issued_on: str
    issued_by: str


class IncidentOut(BaseModel):
    id: int
    title: str
    severity: str
    status: str
    source: str
    detected_at: str
    recovered_at: str | None
    closed_at: str | None
    recover_by: str
    first_report_by: str
    overdue: bool
    description: str
    components: list[str]
    tenant_codes: list[str]
    member_numbers: list[str]
    timeline: list[IncidentEntryOut]
    reports: list[IncidentReportOut]
    cause: str
    impact: str
    response: str
    prevention: str


class RequestLogQuery(BaseModel):
    start: AwareDatetime | None = Field(default=None, description="Start of the window, with its offset (default: an "
                                                                  "hour before the end)")
    end: AwareDatetime | None = Field(default=None, description="End of the window (exclusive), after the start, at "
                                                                "most 31 days later (default: now)")
    request_id: Annotated[str, StringConstraints(max_length=64)] = ""
    tenant: Annotated[str, StringConstraints(max_length=13)] = ""
    path: Annotated[str, StringConstraints(max_length=300)] = ""
    status: int | None = Field(default=None, ge=1, le=599, description="A status (e.g. 500) or its hundred (5: 5xx)")


class RequestLogLineOut(BaseModel):
    time: str
    request_id: str | None
    actor: str | None
    tenant: str | None
    method: str | None
    path: str | None
    status: int | None
    duration_ms: float | None


class RequestLogOut(BaseModel):
    items: list[RequestLogLineOut]
    total: int
    more: bool
    kept_in_files: bool


def _iso(moment: dt.datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def _report(report) -> dict:
    return {"incident_id": report.incident_id, "kind": report.kind.value, "number": report.number,
            "issued_on": report.issued_on.isoformat(), "issued_by": report.issued_by}


def _incident(incident_id: int) -> dict:
    session, actor = db.session, current_actor()
    incident = operations.get_incident(session, actor, incident_id)
    clock = operations.clock(session, incident, first_report_hours=first_report_hours())
    return {"id": incident.id, "title": incident.title, "severity": incident.severity.value,
            "status": incident.status.value, "source": incident.source, "detected_at": _iso(incident.detected_at),
            "recovered_at": _iso(incident.recovered_at), "closed_at": _iso(incident.closed_at),
            "recover_by": _iso(clock.recover_by), "first_report_by": _iso(clock.first_report_by), "overdue": clock.overdue,
            "description": incident.description, "components": operations.component_codes(session, incident.id),
            "tenant_codes": operations.tenant_codes(session, incident.id),
            "member_numbers": operations.member_numbers(session, incident.id),
            "timeline": [{"kind": e.kind.value, "at": _iso(e.at), "by": e.by, "text": e.text}
                         for e in operations.timeline(session, incident.id)],
            "reports": [_report(r) for r in operations.reports(session, incident.id).values()],
            "cause": incident.cause, "impact": incident.impact, "response": incident.response,
            "prevention": incident.prevention}


@bp.get("/incidents", responses={200: IncidentRegisterOut},
        summary="The incident register: platform incidents and identity incidents, newest first")
def list_register():
    rows = register.register(db.session, current_actor())
    items = [{"kind": row.kind, "kind_ja": row.kind_label[0], "id": row.id, "title": row.title,
              "severity": row.severity_en, "state_ja": row.status_ja, "state_en": row.status_en, "open": row.open,
              "detected_at": _iso(row.detected_at)} for row in rows]
    return jsonify({"items": items, "total": len(items)})


@bp.post("/incidents", responses={201: IncidentOut}, summary="Open an incident by hand (障害の登録)")
def open_incident(body: IncidentIn):
    incident = operations.open_incident(db.session, current_actor(), operations.IncidentDraft(
        title=body.title, severity=body.severity.value, detected_at=body.detected_at, description=body.description,
        components=[(c.code, c.name) for c in body.components], tenant_codes=body.tenant_codes,
        member_numbers=body.member_numbers))
    return jsonify(_incident(incident.id)), 201


@bp.get("/incidents/<int:incident_id>", responses={200: IncidentOut},
        summary="An incident with its 24-hour clock, timeline and reports")
def get_incident(path: IncidentPath):
    return jsonify(_incident(path.incident_id))


@bp.patch("/incidents/<int:incident_id>", responses={200: IncidentOut},
          summary="Change an open incident's severity and add the municipalities and members it affects (audited)")
def edit_incident(path: IncidentPath, body: IncidentEditIn):
    operations.edit_incident(db.session, current_actor(), path.incident_id,
                             severity=body.severity.value if body.severity else None,
                             add_tenant_codes=body.add_tenant_codes, add_member_numbers=body.add_member_numbers)
    return jsonify(_incident(path.incident_id))


@bp.post("/incidents/<int:incident_id>/entries", responses={201: IncidentOut},
         summary="Add a timeline entry: a workaround, progress, or the recovery (which stops the clock)")
def add_entry(path: IncidentPath, body: IncidentEntryIn):
    operations.add_entry(db.session, current_actor(), path.incident_id, body.kind, body.text, body.at)
    return jsonify(_incident(path.incident_id)), 201


@bp.post("/incidents/<int:incident_id>/first-report", responses={201: IncidentReportOut},
         summary="Send the first report to the prefecture: a numbered letter, notices to the affected")
def first_report(path: IncidentPath):
    report = operations.send_first_report(db.session, current_actor(), path.incident_id, recipients=report_recipients())
    return jsonify(_report(report)), 201


@bp.post("/incidents/<int:incident_id>/close", responses={201: IncidentReportOut},
         summary="Close a recovered incident with the final report (原因, 影響, 対応, 再発防止策)")
def close_incident(path: IncidentPath, body: IncidentFinalIn):
    report = operations.close_incident(db.session, current_actor(), path.incident_id,
                                       operations.FinalReport(body.cause, body.impact, body.response, body.prevention),
                                       recipients=report_recipients())
    return jsonify(_report(report)), 201


@bp.get("/incidents/<int:incident_id>/reports/<kind>", responses={200: media(IncidentReportOut, PDF)},
        summary="A report to the prefecture, as its facts or as a one-page A4 PDF letter")
def report(path: IncidentReportPath, query: IncidentReportQuery):
    session, actor = db.session, current_actor()
    if query.format == "pdf":
        letter = letters.report_letter(session, actor, path.incident_id, path.kind,
                                       reporter=reporter())
        response = Response(letters.report_pdf(letter), mimetype=PDF)
        quoted = urllib.parse.quote(f"{letter.title}_{letter.report.number}.pdf")
        response.headers["Content-Disposition"] = (f"attachment; filename=\"incident-{path.incident_id}-{path.kind}.pdf\"; "
                                                   f"filename*=UTF-8''{quoted}")
        return response
    return jsonify(_report(operations.get_report(session, actor, path.incident_id, path.kind)))


@bp.get("/request-log", responses={200: RequestLogOut},
        summary="Search the request log: a time window, by request id, tenant, path and status")
def search_request_log(query: RequestLogQuery):
    where = request_log.destination(current_app.config)
    in_files = where not in (None, "stdout")
    end = query.end or dt.datetime.now(dt.timezone.utc)
    found = logs.search(where if in_files else None, current_actor(), logs.LogQuery(
        start=query.start or end - dt.timedelta(hours=1), end=end, request_id=query.request_id, tenant=query.tenant, path=query.path,
        status=query.status))
    items = [{"time": str(line.get("time")), **{key: line.get(key) for key in
              ("request_id", "actor", "tenant", "method", "path", "status", "duration_ms")}} for line in found.lines]
    return jsonify({"items": items, "total": len(items), "more": found.more, "kept_in_files": in_files})
