"""/api/v1/progress: the secretariat's year (secretariat/progress.py): the schedule's work items, the issue
list and the monthly progress report. Parse, authorise (the operation asks core.authz), call the
operation; the request commits once. Owners are the secretariat's people by their user id, picked from
``GET /api/v1/progress/people`` (the operators); anyone else is refused."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from flask import jsonify
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from admin.api import API_PREFIX, BEARER, PROBLEM_RESPONSES, CachedSchema, tag
from admin.api.contract import XLSX, media
from admin import identity
from admin.auth import current_actor
from admin.edge import StrictAPIBlueprint
from admin.downloads import progress_report_file
from admin.extensions import db
from core.calendar import FIRST_FISCAL_YEAR, LAST_FISCAL_YEAR, fiscal_year_of, today_jst
from core.validation import ID_RANGE, NOT_BLANK, PlainText, SingleLineText
from secretariat import progress

bp = StrictAPIBlueprint("api_progress", __name__, url_prefix=API_PREFIX,
                        abp_tags=tag("progress", "年間予定・進捗・課題 / schedule, progress and issues"),
                        abp_security=BEARER, abp_responses=PROBLEM_RESPONSES)

ItemStatus = Literal[tuple(s.value for s in progress.ItemStatus)]  # type: ignore[valid-type]
IssueStatus = Literal[tuple(s.value for s in progress.IssueStatus)]  # type: ignore[valid-type]
Title = Annotated[SingleLineText, StringConstraints(strip_whitespace=True, min_length=1, max_length=progress.TITLE_MAX),
                  NOT_BLANK]
Detail = Annotated[PlainText, StringConstraints(max_length=progress.TEXT_MAX)]
Owner = Annotated[SingleLineText, StringConstraints(strip_whitespace=True, min_length=1, max_length=255), NOT_BLANK]
MONTH = r"^(19(89|9\d)|20\d\d|2100)-(0[1-9]|1[0-2])$"


class ItemPath(BaseModel):
    item_id: int = Field(**ID_RANGE)


class IssuePath(BaseModel):
    issue_id: int = Field(**ID_RANGE)


class ScheduleQuery(CachedSchema):
    fiscal_year: int | None = Field(default=None, ge=FIRST_FISCAL_YEAR, le=LAST_FISCAL_YEAR,
                                    description="Fiscal year (April–March); the current one when left out")


class WorkItemBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    title: Title
    due_on: dt.date = Field(description="Due date (Japan time), in fiscal years 1989–2100; the item belongs to its "
                                        "fiscal year")
    owner: Owner = Field(description="User id of one of the secretariat's people (an operator)")
    detail: Detail = ""


class WorkItemChange(BaseModel):
    model_config = ConfigDict(extra="forbid")
    title: Title | None = None
    due_on: dt.date | None = Field(default=None, description="Due date (Japan time), in fiscal years 1989–2100")
    owner: Owner | None = None
    status: ItemStatus | None = Field(default=None, description="planned (未着手), in_progress (実施中), done (完了)")


class WorkItemOut(BaseModel):
    id: int
    fiscal_year: int
    title: str
    due_on: dt.date
    owner: str
    owner_name: str
    status: ItemStatus
    status_ja: str
    done_on: dt.date | None
    late: bool


class WorkScheduleOut(BaseModel):
    fiscal_year: int
    fiscal_year_ja: str
    items: list[WorkItemOut]


class ProgressIssueBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    title: Title
    owner: Owner = Field(description="User id of one of the secretariat's people (an operator)")
    detail: Detail = ""


class ProgressIssueChange(BaseModel):
    model_config = ConfigDict(extra="forbid")
    owner: Owner | None = None
    status: IssueStatus | None = Field(default=None, description="open (未対応), in_progress (対応中), resolved (解決済: "
                                                                  "needs a resolution)")
    resolution: Detail | None = None


class ProgressIssueOut(BaseModel):
    id: int
    title: str
    detail: str
    raised_on: dt.date
    raised_by: str
    owner: str
    owner_name: str
    status: IssueStatus
    status_ja: str
    resolution: str
    resolved_on: dt.date | None


class SecretariatPerson(BaseModel):
    id: str
    name: str


class SecretariatPeopleOut(BaseModel):
    items: list[SecretariatPerson]


class ProgressIssueList(BaseModel):
    items: list[ProgressIssueOut]


class ReportQuery(BaseModel):
    month: str | None = Field(default=None, pattern=MONTH, max_length=7, description="A month (2026-05); the current one "
                                                                                    "when left out")
    format: Literal["pdf", "xlsx"] = Field(default="pdf", description="pdf (A4) or xlsx (one sheet per section)")


def _item(item: progress.WorkItem) -> dict:
    return {"id": item.id, "fiscal_year": item.fiscal_year, "title": item.title, "due_on": item.due_on.isoformat(),
            "owner": item.owner_subject, "owner_name": item.owner_name, "status": item.status.value,
            "status_ja": item.status.ja, "done_on": item.done_on.isoformat() if item.done_on else None,
            "late": progress.is_late(item)}


def _issue(issue: progress.Issue) -> dict:
    return {"id": issue.id, "title": issue.title, "detail": issue.detail, "raised_on": issue.raised_on.isoformat(),
            "raised_by": issue.raised_by, "owner": issue.owner_subject, "owner_name": issue.owner_name,
            "status": issue.status.value, "status_ja": issue.status.ja, "resolution": issue.resolution,
            "resolved_on": issue.resolved_on.isoformat() if issue.resolved_on else None}


@bp.get("/progress/people", responses={200: SecretariatPeopleOut},
        summary="The secretariat's people (the operators), whom work items and issues can be given to")
def list_people():
    return jsonify({"items": [{"id": i, "name": n} for i, n in progress.owners(current_actor(), identity.secretariat_people).items()]})


@bp.get("/progress/items", responses={200: WorkScheduleOut}, summary="The fiscal year's schedule of work items (年間予定)")
def list_items(query: ScheduleQuery):
    year = query.fiscal_year or fiscal_year_of(today_jst())
    items = progress.schedule(db.session, current_actor(), year)
    return jsonify({"fiscal_year": year, "fiscal_year_ja": progress.fiscal_year_label(year),
                    "items": [_item(i) for i in items]})


@bp.post("/progress/items", responses={201: WorkItemOut}, summary="Add a work item to the schedule; audited")
def add_item(body: WorkItemBody):
    item = progress.add_item(db.session, current_actor(), identity.secretariat_people, title=body.title, due_on=body.due_on,
                             owner=body.owner, detail=body.detail)
    return jsonify(_item(item)), 201


@bp.patch("/progress/items/<item_id>", responses={200: WorkItemOut},
          summary="Change a work item's title, due date, owner or status (done records the day); audited")
def update_item(path: ItemPath, body: WorkItemChange):
    item = progress.update_item(db.session, current_actor(), identity.secretariat_people, path.item_id, title=body.title,
                                due_on=body.due_on, owner=body.owner, status=body.status)
    return jsonify(_item(item))


@bp.get("/progress/issues", responses={200: ProgressIssueList}, summary="The issue list (課題), newest first")
def list_issues():
    return jsonify({"items": [_issue(i) for i in progress.issues(db.session, current_actor())]})


@bp.post("/progress/issues", responses={201: ProgressIssueOut}, summary="Raise an issue; audited")
def raise_issue(body: ProgressIssueBody):
    issue = progress.raise_issue(db.session, current_actor(), identity.secretariat_people, title=body.title, owner=body.owner,
                                 detail=body.detail)
    return jsonify(_issue(issue)), 201


@bp.patch("/progress/issues/<issue_id>", responses={200: ProgressIssueOut},
          summary="Change an issue's owner or status, or record its resolution (resolving needs one); audited")
def update_issue(path: IssuePath, body: ProgressIssueChange):
    issue = progress.update_issue(db.session, current_actor(), identity.secretariat_people, path.issue_id, owner=body.owner,
                                  status=body.status, resolution=body.resolution)
    return jsonify(_issue(issue))


@bp.get("/progress/report", responses={200: media("application/pdf", XLSX)},
        summary="The monthly progress report to the prefecture (進捗・課題管理報告書), as an A4 PDF or a workbook; audited")
def get_report(query: ReportQuery):
    month = progress.parse_month(query.month) if query.month else progress.current_month()
    return progress_report_file(progress.generate(db.session, current_actor(), month, query.format), month, query.format)
