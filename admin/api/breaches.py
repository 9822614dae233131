"""/api/v1 endpoints of personal-data breaches (個人情報の漏えい等報告, issue 56 item 4): the breaches with both
deadlines to the Commission (速報, 確報), one breach (no resident named: how many), marking an incident as a
breach, and recording a report as submitted. The rules, the deadlines and the authorisation are
:mod:`service.breaches`'; the operations audit every act."""

from __future__ import annotations

from typing import Annotated, Literal

from flask import jsonify
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints

from admin.api import API_PREFIX, BEARER, PROBLEM_RESPONSES, tag
from admin.auth import current_actor
from admin.edge import StrictAPIBlueprint
from admin.extensions import db
from core.calendar import date_ja
from core.validation import ID_RANGE, PlainText, TenantCode
from service import breaches
from service.incidents.models import BreachKind, BreachReportKind, IncidentBreach

bp = StrictAPIBlueprint("api_breaches", __name__, url_prefix=API_PREFIX,
                        abp_tags=tag("breaches", "個人情報の漏えい等報告 / personal-data breaches"),
                        abp_security=BEARER, abp_responses=PROBLEM_RESPONSES)

KindValue = Literal[tuple(kind.value for kind in BreachKind)]  # type: ignore[valid-type]
ReportValue = Literal[tuple(kind.value for kind in BreachReportKind)]  # type: ignore[valid-type]


class BreachPath(BaseModel):
    breach_id: int = Field(**ID_RANGE)


class BreachIncidentPath(BaseModel):
    incident_id: int = Field(**ID_RANGE)


class BreachIn(BaseModel):
    """An incident marked as a breach of one municipality's residents' data (as the page's form)."""
    model_config = ConfigDict(extra="forbid")
    tenant_code: TenantCode = Field(description="The municipality whose residents are concerned (it reports)")
    kind: KindValue = Field(description="What happened: leak (漏えい), loss (滅失), damage (毀損), "
                                        "unauthorised_access (不正アクセス)")
    unlawful_purpose: bool = Field(default=False, description="It may have been done with an unlawful purpose "
                                                              "(不正の目的): the 確報 is then due in 60 days")
    window_start: AwareDatetime = Field(description="Start of the window, with its offset; not in the future")
    window_end: AwareDatetime = Field(description="End of the window, with its offset; not before its start")
    known_at: AwareDatetime = Field(description="When it became known, with its offset: the deadlines count from its "
                                                "day in Japan time")
    service_ids: list[int] = Field(min_length=1, max_length=100, description="The data services concerned (their ids)")
    summary: Annotated[PlainText, StringConstraints(strip_whitespace=True, max_length=breaches.PART_MAX)] = ""


class BreachSubmissionIn(BaseModel):
    """A report (速報 or 確報) submitted to the Commission (個人情報保護委員会)."""
    model_config = ConfigDict(extra="forbid")
    kind: ReportValue = Field(description="preliminary (速報) or final (確報, after the 速報)")
    at: AwareDatetime | None = Field(default=None, description="When it was submitted, with its offset (default: now); "
                                                               "not before the breach became known")


class BreachDeadlineOut(BaseModel):
    kind: ReportValue
    kind_ja: str
    due_on: str = Field(description="The last day, ISO")
    due_on_ja: str = Field(description="The last day as an era date (令和…)")
    days_left: int = Field(description="Days from today (Japan) to the last day; negative once passed")
    overdue: bool
    submitted: bool
    submitted_at: str | None


class BreachRowOut(BaseModel):
    id: int
    incident_id: int
    tenant_code: str
    municipality: str
    kind: KindValue
    kind_ja: str
    known_at: str
    preliminary: BreachDeadlineOut
    final: BreachDeadlineOut


class BreachListOut(BaseModel):
    items: list[BreachRowOut]
    total: int


class BreachServiceOut(BaseModel):
    id: int
    name: str


class BreachOut(BreachRowOut):
    unlawful_purpose: bool
    window_start: str
    window_end: str
    marked_at: str
    marked_by: str
    summary: str
    affected_count: int = Field(description="Residents possibly affected (no one named)")
    affected_items: list[str] = Field(description="The items possibly affected, over every resident")
    services: list[BreachServiceOut]


def _deadline(due: breaches.Deadline) -> dict:
    return {"kind": due.kind.value, "kind_ja": due.kind.ja, "due_on": due.due_on.isoformat(),
            "due_on_ja": date_ja(due.due_on), "days_left": due.days_left, "overdue": due.overdue,
            "submitted": due.reported_at is not None,
            "submitted_at": due.reported_at.isoformat() if due.reported_at else None}


def _row(breach: IncidentBreach) -> dict:
    preliminary, final = breaches.deadlines(breach)
    kind = BreachKind(breach.kind)
    return {"id": breach.id, "incident_id": breach.incident_id, "tenant_code": breach.tenant_code,
            "municipality": breaches.municipality_name(db.session, breach.tenant_code), "kind": kind.value,
            "kind_ja": kind.ja, "known_at": breach.known_at.isoformat(), "preliminary": _deadline(preliminary),
            "final": _deadline(final)}


def _breach(breach_id: int) -> dict:
    session, actor = db.session, current_actor()
    breach = breaches.get_breach(session, actor, breach_id)
    return {**_row(breach), "unlawful_purpose": breach.unlawful_purpose,
            "window_start": breach.window_start.isoformat(), "window_end": breach.window_end.isoformat(),
            "marked_at": breach.marked_at.isoformat(), "marked_by": breach.marked_by, "summary": breach.summary,
            "affected_count": breaches.affected_count(session, actor, breach.id),
            "affected_items": breaches.affected_items(session, actor, breach.id),
            "services": [{"id": sid, "name": name} for sid, name in breaches.services(session, breach.id)]}


@bp.get("/breaches", responses={200: BreachListOut},
        summary="The personal-data breaches the caller may read, with both deadlines to the Commission")
def list_breaches():
    items = [_row(breach) for breach in breaches.list_breaches(db.session, current_actor())]
    return jsonify({"items": items, "total": len(items)})


@bp.get("/breaches/<int:breach_id>", responses={200: BreachOut},
        summary="A breach: its deadlines, how many residents and which items are possibly affected, its services")
def get_breach(path: BreachPath):
    return jsonify(_breach(path.breach_id))


@bp.post("/incidents/<int:incident_id>/breaches", responses={201: BreachOut},
         summary="Mark an incident as a personal-data breach of a municipality's residents (漏えい等の記録)")
def mark_breach(path: BreachIncidentPath, body: BreachIn):
    breach = breaches.mark_breach(db.session, current_actor(), path.incident_id, breaches.BreachDraft(
        tenant_code=body.tenant_code, kind=body.kind, window_start=body.window_start, window_end=body.window_end,
        known_at=body.known_at, service_ids=body.service_ids, unlawful_purpose=body.unlawful_purpose,
        summary=body.summary))
    return jsonify(_breach(breach.id)), 201


@bp.post("/breaches/<int:breach_id>/submissions", responses={201: BreachOut},
         summary="Record the 速報 or the 確報 as submitted to the Commission (once each; cannot be undone)")
def record_submission(path: BreachPath, body: BreachSubmissionIn):
    breaches.record_report(db.session, current_actor(), path.breach_id, body.kind, at=body.at)
    return jsonify(_breach(path.breach_id)), 201

