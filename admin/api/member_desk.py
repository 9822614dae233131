"""/api/v1/members/import, /api/v1/members/report and /api/v1/members/recruitment-targets: the secretariat's
desk for the member register (issue 40 items 1 and 2). The rules and the audit records are
:mod:`secretariat.members_import`'s and :mod:`secretariat.member_report`'s."""

from __future__ import annotations

import base64
import binascii
from typing import Annotated, Literal

from flask import jsonify
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from admin.api import API_PREFIX, BEARER, PROBLEM_RESPONSES, tag
from admin.api.contract import XLSX, media
from admin.api.fields import MAX_FILE_BYTES
from admin.downloads import member_report_file
from admin.auth import current_actor
from admin.edge import StrictAPIBlueprint
from admin.extensions import db
from core.calendar import FIRST_FISCAL_YEAR, LAST_FISCAL_YEAR, today_jst
from core.errors import Invalid, problem
from secretariat import member_report, members_import

bp = StrictAPIBlueprint("api_member_desk", __name__, url_prefix=API_PREFIX,
                        abp_tags=tag("member desk", "会員名簿の取込と報告 / member import and report"),
                        abp_security=BEARER, abp_responses=PROBLEM_RESPONSES)


class MemberFileBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    filename: Annotated[str, StringConstraints(max_length=255)] = ""
    content_base64: str = Field(max_length=MAX_FILE_BYTES * 4 // 3 + 4,
                                description="The member list's bytes (xlsx, or CSV in UTF-8 or CP932), base64",
                                json_schema_extra={"pattern": r"^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$"})
    dry_run: bool = Field(default=True, description="Only check and preview (the default); false imports")
    notify: bool = Field(default=False, description="Mail each new member's contact through the outbox")


class ChangeOut(BaseModel):
    field: str
    in_register: str
    in_file: str


class PreviewRowOut(BaseModel):
    line: int
    corporate_number: str
    name: str
    outcome: Literal["new", "same", "differs"]
    changes: list[ChangeOut]


class MemberImportOut(BaseModel):
    dry_run: bool
    new: int
    same: int
    differs: int
    rows: list[PreviewRowOut]
    created: list[str]
    updated: list[str]
    notified: int


def _bytes(body: MemberFileBody) -> bytes:
    try:
        return base64.b64decode(body.content_base64, validate=True)
    except (binascii.Error, ValueError):
        raise Invalid("content_base64 is not base64.", "content_base64 が base64 ではありません。",
                      problems=[problem("content_base64", "Not base64.", "base64 ではありません。")]) from None


def _text(value) -> str:
    return "" if value is None else value.isoformat() if hasattr(value, "isoformat") else str(value)


@bp.post("/members/import", responses={200: MemberImportOut},
         summary="Check a member list and preview each row (new / same / differs), or import it (dry_run false): all rows or none")
def import_members(body: MemberFileBody):
    raw = _bytes(body)
    preview = members_import.check_file(db.session, current_actor(), raw, notify=body.notify)
    result = None
    if not body.dry_run:
        result = members_import.import_file(db.session, current_actor(), raw, notify=body.notify)
    rows = [{"line": row.line, "corporate_number": row.corporate_number, "name": row.name, "outcome": row.outcome,
             "changes": [{"field": name, "in_register": _text(before), "in_file": _text(after)}
                         for name, (before, after) in row.changes.items()]} for row in preview.rows]
    return jsonify({"dry_run": body.dry_run, "new": preview.count("new"), "same": preview.count("same"),
                    "differs": preview.count("differs"), "rows": rows,
                    "created": result.created if result else [], "updated": result.updated if result else [],
                    "notified": result.notified if result else 0})


class ReportQuery(BaseModel):
    period: str | None = Field(default=None, pattern=member_report.PERIOD_PATTERN, max_length=7,
                               description="A month (2026-05), a quarter of the fiscal year (2026-Q1: April–June 2026) "
                                           "or a fiscal year (FY2026); the current quarter when left out")
    format: Literal["pdf", "xlsx"] = Field(default="pdf", description="pdf (A4) or xlsx (one sheet per section)")


@bp.get("/members/report", responses={200: media("application/pdf", XLSX)},
        summary="The member report to the prefecture (会員状況報告書) for a period, as an A4 PDF or a workbook; audited")
def get_member_report(query: ReportQuery):
    period = member_report.parse_period(query.period) if query.period else member_report.current_quarter()
    return member_report_file(member_report.generate(db.session, current_actor(), period, query.format), period, query.format)


class TargetPath(BaseModel):
    fiscal_year: int = Field(ge=FIRST_FISCAL_YEAR, le=LAST_FISCAL_YEAR, description="Fiscal year (April–March)")


class TargetBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    target: int = Field(ge=1, le=100_000, description="New members to recruit in the fiscal year")


class TargetOut(BaseModel):
    fiscal_year: int
    target: int
    joined: int
    percent: int


@bp.put("/members/recruitment-targets/<int:fiscal_year>", responses={200: TargetOut},
        summary="Set the fiscal year's recruitment target (default 50); audited")
def set_target(path: TargetPath, body: TargetBody):
    member_report.set_recruitment_target(db.session, current_actor(), path.fiscal_year, body.target)
    progress = member_report.progress_of(db.session, path.fiscal_year,
                                         min(member_report.parse_period(f"FY{path.fiscal_year}").end,
                                             today_jst()))
    return jsonify({"fiscal_year": path.fiscal_year, "target": progress.target, "joined": progress.joined,
                    "percent": progress.percent})
