"""/api/v1: the annual report (年度報告書) of a fiscal year, as an A4 PDF or a workbook.

The report and who may have it (the operator, finance and the auditor) are :mod:`billing.annual_report`'s;
every file handed out is audited there with its SHA-256.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from admin.api import API_PREFIX, BEARER, PROBLEM_RESPONSES, tag
from admin.api.contract import XLSX, media
from admin.auth import current_actor
from admin.downloads import annual_report_file
from admin.edge import StrictAPIBlueprint
from admin.extensions import db
from billing import annual_report
from core.calendar import FIRST_FISCAL_YEAR, LAST_FISCAL_YEAR

bp = StrictAPIBlueprint("api_reports", __name__, url_prefix=API_PREFIX, abp_tags=tag("reports", "年度報告書 / annual report"),
                        abp_security=BEARER, abp_responses=PROBLEM_RESPONSES)


class ReportYearPath(BaseModel):
    fiscal_year: int = Field(ge=FIRST_FISCAL_YEAR, le=LAST_FISCAL_YEAR, description="Fiscal year (April–March), e.g. 2025 for 令和7年度")


class AnnualReportQuery(BaseModel):
    format: Literal["pdf", "xlsx"] = Field(default="pdf", description="pdf (A4) or xlsx (one sheet per section)")


@bp.get("/fiscal-years/<int:fiscal_year>/annual-report", responses={200: media("application/pdf", XLSX)},
        summary="The year's annual report (年度報告書) from the records, as an A4 PDF or a workbook; each file is audited")
def get_annual_report(path: ReportYearPath, query: AnnualReportQuery):
    data = annual_report.generate(db.session, current_actor(), path.fiscal_year, query.format)
    return annual_report_file(data, path.fiscal_year, query.format)
