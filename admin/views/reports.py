"""年度報告書 (the annual report) in /admin: the years a report can be made of, each with its A4 PDF and
its workbook, for the operator, finance and the auditor. The report and its audit record (who, which
year, the file's SHA-256) are :mod:`billing.annual_report`'s."""

from __future__ import annotations

from flask import abort, g
from flask_admin import expose
from flask_babel import get_locale, lazy_gettext as _l

from admin.downloads import annual_report_file
from admin.extensions import db
from admin.i18n import format_fiscal_year
from admin.views.base import SecureView
from billing import annual_report


class AnnualReportsView(SecureView):
    required_action = annual_report.ACTION

    @expose("/")
    def index(self):
        locale = str(get_locale() or "ja")
        years = [(year, format_fiscal_year(year, locale)) for year in annual_report.report_years(db.session, g.actor)]
        return self.render("renkei/annual_reports.html", years=years)

    @expose("/<int:fiscal_year>.<fmt>")
    def download(self, fiscal_year: int, fmt: str):
        if fmt not in annual_report.MEDIA_TYPES:
            abort(404)
        return annual_report_file(annual_report.generate(db.session, g.actor, fiscal_year, fmt), fiscal_year, fmt)


def views(session):
    return [AnnualReportsView(name=_l("Annual reports"), endpoint="annual_reports", url="annual-reports")]
