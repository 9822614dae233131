"""/api/v1/submissions: the documents a contractor owes the prefecture, their versions and the prefecture's inspection
(governance/submissions.py). The rules and the audit records are the operations'."""

from __future__ import annotations

import base64
import binascii
import datetime as dt
from typing import Annotated, Literal

from flask import jsonify
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from admin import downloads
from admin.api import API_PREFIX, BEARER, PROBLEM_RESPONSES, CachedSchema, tag
from admin.api.contract import BASE64, media
from admin.api.fields import MONTH_PATTERN, line, pattern
from admin.auth import current_actor
from admin.edge import StrictAPIBlueprint
from admin.extensions import db
from core.calendar import today_jst
from core.errors import Invalid, problem
from core.validation import ID_RANGE, NOT_BLANK, PlainText, SingleLineText
from governance import submissions as subs

bp = StrictAPIBlueprint("api_submissions", __name__, url_prefix=API_PREFIX,
                        abp_tags=tag("submissions", "提出書類と検査 / documents owed to the prefecture and their inspection"),
                        abp_security=BEARER, abp_responses=PROBLEM_RESPONSES)

Kind = Literal[tuple(k.value for k in subs.SubmissionKind)]  # type: ignore[valid-type]
OpenKind = Literal[tuple(k.value for k in subs.SubmissionKind if k not in subs.OWNERS)]  # type: ignore[valid-type]
Status = Literal[tuple(s.value for s in subs.SubmissionStatus)]  # type: ignore[valid-type]
ContractorName = Literal[tuple(c.value for c in subs.Contractor)]  # type: ignore[valid-type]
Inspection = Literal["", "approved", "returned"]


class SubmissionPath(BaseModel):
    submission_id: int = Field(**ID_RANGE)


class SubmissionVersionPath(BaseModel):
    submission_id: int = Field(**ID_RANGE)
    number: int = Field(ge=1, le=100_000)


class SubmissionQuery(CachedSchema):
    kind: Kind | None = None
    status: Status | None = None
    overdue: bool = Field(default=False, description="Only those past their due date awaiting their contractor")


class SubmissionOpenBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kind: OpenKind = Field(description="Minutes are owed by their meeting, not opened here")
    title: Annotated[SingleLineText, StringConstraints(strip_whitespace=True, min_length=1, max_length=subs.TITLE_MAX),
                     NOT_BLANK]
    due_on: dt.date | None = Field(default=None, description="The due date (not for a monthly report: it is counted)")
    month: pattern("^$|" + MONTH_PATTERN) = Field(default="", description="A monthly report's month, YYYY-MM")
    contractor: ContractorName | None = Field(default=None, description="The project plan's and a deliverable's "
                                                                        "contractor (the other kinds name theirs)")
    refers_to: line(subs.REFERS_MAX) = Field(default="", description="What it refers to (incident:5, a contract's "
                                                                     "deliverable); by default its kind and title")


class SubmissionVersionBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    text: Annotated[PlainText, StringConstraints(max_length=subs.TEXT_MAX)] = Field(
        default="", description="The document written as text; or file_base64")
    file_base64: str = Field(default="", max_length=subs.FILE_MAX_BYTES * 4 // 3 + 4,
                             description="The document as a file (at most 20 MB), base64",
                             json_schema_extra={"pattern": BASE64})
    filename: line(200) = ""


class SubmissionReasonBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: Annotated[PlainText, StringConstraints(strip_whitespace=True, min_length=1, max_length=subs.REASON_MAX),
                      NOT_BLANK] = Field(description="Why it is returned (required)")


class SubmissionVersionOut(BaseModel):
    number: int
    sha256: str
    form: Literal["text", "file"]
    filename: str
    bytes: int
    submitted_at: dt.datetime
    submitted_by: str
    on_time: bool
    inspection: Inspection
    reason: str
    inspected_at: dt.datetime | None
    inspected_by: str


class SubmissionOut(BaseModel):
    id: int
    kind: Kind
    kind_ja: str
    refers_to: str
    title: str
    contractor: ContractorName
    contractor_ja: str
    due_on: dt.date
    status: Status
    status_ja: str
    overdue: bool
    approved_version: int | None
    approved_sha256: str | None
    approved_at: dt.datetime | None
    approved_by: str
    versions: list[SubmissionVersionOut]


class SubmissionList(BaseModel):
    items: list[SubmissionOut]
    total: int


def _version_out(v: subs.SubmissionVersion) -> dict:
    return {"number": v.number, "sha256": v.sha256, "form": "file" if v.file is not None else "text",
            "filename": v.filename, "bytes": len(v.file) if v.file is not None else len(v.text.encode("utf-8")),
            "submitted_at": v.submitted_at.isoformat(), "submitted_by": v.submitted_by_name, "on_time": v.on_time,
            "inspection": subs.Inspection(v.inspection).value, "reason": v.reason,
            "inspected_at": v.inspected_at.isoformat() if v.inspected_at else None, "inspected_by": v.inspected_by}


def submission_out(row: subs.Submission, versions: list[subs.SubmissionVersion] | None = None) -> dict:
    versions = subs.versions_of(db.session, row.id) if versions is None else versions
    return {"id": row.id, "kind": row.kind.value, "kind_ja": row.kind.ja, "refers_to": row.refers_to, "title": row.title,
            "contractor": row.contractor.value, "contractor_ja": row.contractor.ja, "due_on": row.due_on.isoformat(),
            "status": row.status.value, "status_ja": row.status.ja, "overdue": subs.is_overdue(row, today_jst()),
            "approved_version": row.approved_version, "approved_sha256": row.approved_sha256 or None,
            "approved_at": row.approved_at.isoformat() if row.approved_at else None, "approved_by": row.approved_by,
            "versions": [_version_out(v) for v in versions]}


@bp.get("/submissions", responses={200: SubmissionList},
        summary="The documents owed to the prefecture the caller may see: not yet approved first, by due date")
def list_submissions(query: SubmissionQuery):
    actor = current_actor()
    kind = subs.SubmissionKind(query.kind) if query.kind else None
    status = subs.SubmissionStatus(query.status) if query.status else None
    rows = subs.submissions(db.session, actor, kind=kind, status=status)
    if query.overdue:
        today = today_jst()
        rows = [row for row in rows if subs.is_overdue(row, today)]
    versions = subs.versions_by_submission(db.session, [row.id for row in rows])
    return jsonify({"items": [submission_out(row, versions.get(row.id, [])) for row in rows], "total": len(rows)})


@bp.post("/submissions", responses={201: SubmissionOut},
         summary="The prefecture says a contractor owes a document, with its due date (a monthly report's is counted)")
def open_submission(body: SubmissionOpenBody):
    row = subs.open_submission(db.session, current_actor(), kind=body.kind, title=body.title, due_on=body.due_on,
                               contractor=body.contractor, refers_to=body.refers_to, month=body.month or None)
    return jsonify(submission_out(row)), 201


@bp.get("/submissions/<submission_id>", responses={200: SubmissionOut}, summary="One owed document with its versions")
def get_submission(path: SubmissionPath):
    return jsonify(submission_out(subs.get(db.session, current_actor(), path.submission_id)))


def _file_of(body: SubmissionVersionBody) -> bytes | None:
    if not body.file_base64:
        return None
    try:
        return base64.b64decode(body.file_base64, validate=True)
    except (binascii.Error, ValueError):
        raise Invalid("file_base64 is not base64.", "file_base64 が base64 ではありません。",
                      problems=[problem("file_base64", "Not base64.", "base64 ではありません。")]) from None


@bp.post("/submissions/<submission_id>/versions", responses={201: SubmissionOut},
         summary="Submit a version (text or a file) for inspection; refused once approved (the approved version is final)")
def submit(path: SubmissionPath, body: SubmissionVersionBody):
    actor = current_actor()
    subs.submit(db.session, actor, path.submission_id, text=body.text, file=_file_of(body), filename=body.filename)
    return jsonify(submission_out(subs.get(db.session, actor, path.submission_id))), 201


@bp.get("/submissions/<submission_id>/versions/<number>/content",
        responses={200: media("application/pdf", "application/octet-stream", "text/plain")},
        summary="A submitted version's content, as it was submitted")
def version_content(path: SubmissionVersionPath):
    return downloads.submission_file(subs.content(db.session, current_actor(), path.submission_id, path.number))


@bp.post("/submissions/<submission_id>/approve", responses={200: SubmissionOut},
         summary="Approve the version under inspection (not by its submitter): final, its SHA-256 in the audit chain")
def approve(path: SubmissionPath):
    return jsonify(submission_out(subs.approve(db.session, current_actor(), path.submission_id)))


@bp.post("/submissions/<submission_id>/return", responses={200: SubmissionOut},
         summary="Return the version under inspection with the reason (not by its submitter); it is submitted again")
def return_submission(path: SubmissionPath, body: SubmissionReasonBody):
    return jsonify(submission_out(subs.return_submission(db.session, current_actor(), path.submission_id, body.reason)))
