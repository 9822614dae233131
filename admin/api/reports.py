"""/api/v1: the annual report (年度報告書) of a fiscal year, as an A4 PDF or a workbook; the grant's indicators
(成果指標) with their targets and actual figures, the operator's targets, and the results report (実績報告書).

The reports and who may have them (the operator, finance and the auditor) are :mod:`billing.annual_report`'s and
:mod:`service.kpis`'s; every file handed out is audited there with its SHA-256, and so is a change of targets.
"""

from __future__ import annotations

from typing import Literal

from flask import jsonify
from pydantic import BaseModel, ConfigDict, Field, create_model

from admin.api import API_PREFIX, BEARER, PROBLEM_RESPONSES, tag
from admin.api.contract import XLSX, media
from admin.auth import current_actor
from admin.downloads import annual_report_file, results_report_file
from admin.edge import StrictAPIBlueprint
from admin.extensions import db
from billing import annual_report
from core.calendar import FIRST_FISCAL_YEAR, LAST_FISCAL_YEAR
from service import kpis
from service.models import Kpi

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


# --- the grant's indicators (成果指標) and the results report (実績報告書) ---------------------------------------

class KpiLineOut(BaseModel):
    kpi: Kpi = Field(description="The indicator")
    label_ja: str
    label_en: str
    unit_ja: str
    target: int | None = Field(description="The year's target; null when none is set (未設定)")
    actual: int | None = Field(description="The figure from the records; null when the year has not begun (未計測)")
    rate_tenths: int | None = Field(description="actual / target in tenths of a percent, rounded down; null without both")
    rate_ja: str = Field(description="「85.0%」, 「未設定」 or 「未計測」")
    rate_en: str
    how_ja: str = Field(description="What is counted")


class KpisOut(BaseModel):
    fiscal_year: int
    era: str = Field(description="令和7年度")
    complete: bool = Field(description="The year is over (its figures are the year's, not so far)")
    counted_to: str = Field(description="When the figures were counted to, in Japanese")
    lines: list[KpiLineOut]


KpiTargetsIn = create_model(
    "KpiTargetsIn", __config__=ConfigDict(extra="forbid"),
    **{kpi.value: (int | None, Field(default=None, ge=1, le=kpis.MAX_TARGET,
                                     description=f"{kpi.ja}: the year's target; null removes it; absent leaves it"))
       for kpi in Kpi})


def _kpis_answer(fiscal_year: int):
    report = kpis.results_report(db.session, current_actor(), fiscal_year)
    return jsonify({"fiscal_year": fiscal_year, "era": report.era, "complete": report.complete,
                    "counted_to": report.counted_to, "lines": [line.as_dict() for line in report.lines]})


@bp.get("/fiscal-years/<int:fiscal_year>/kpis", responses={200: KpisOut},
        summary="The year's indicators (成果指標): each target, the actual figure from the records and the rate")
def get_kpis(path: ReportYearPath):
    return _kpis_answer(path.fiscal_year)


@bp.put("/fiscal-years/<int:fiscal_year>/kpi-targets", responses={200: KpisOut},
        summary="Set the year's targets of the indicators named (null removes one); audited with before and after")
def put_kpi_targets(path: ReportYearPath, body: KpiTargetsIn):
    kpis.set_targets(db.session, current_actor(), path.fiscal_year,
                     {name: getattr(body, name) for name in body.model_fields_set})
    return _kpis_answer(path.fiscal_year)


@bp.get("/fiscal-years/<int:fiscal_year>/results-report", responses={200: media("application/pdf", XLSX)},
        summary="The year's results report for the grantor (実績報告書: targets, actual figures, rates), as an A4 PDF or "
                "a workbook; each file is audited")
def get_results_report(path: ReportYearPath, query: AnnualReportQuery):
    data = kpis.generate(db.session, current_actor(), path.fiscal_year, query.format)
    return results_report_file(data, path.fiscal_year, query.format)
