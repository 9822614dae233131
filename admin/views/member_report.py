"""The member report to the prefecture (会員状況報告書, issue 40 item 2) in /admin: a period (month, quarter,
fiscal year) chosen, its figures shown, its A4 PDF and workbook downloaded; the year's recruitment target
set. The report, the target and their audit records are :mod:`secretariat.member_report`'s."""

from __future__ import annotations

from flask import abort, g, request, url_for
from flask_admin import expose
from flask_babel import gettext, lazy_gettext as _l

from admin.downloads import member_report_file
from admin.extensions import db
from admin.views.base import SecureView, post_action, typed_number
from core import authz
from core.errors import DomainError
from secretariat import member_report


class MemberReportView(SecureView):
    required_action = member_report.ACTION

    @expose("/")
    def index(self):
        text = request.args.get("period", "").strip()
        error = None
        try:
            period = member_report.parse_period(text) if text else member_report.current_quarter()
        except DomainError as refused:
            error, period = refused, member_report.current_quarter()
        report = member_report.build_report(db.session, g.actor, period)
        db.session.rollback()  # reading the report writes nothing (only a file handed out is audited)
        return self.render("renkei/member_report.html", report=report, sections=member_report.sections(report),
                           period_text=text or period.key, error=error,
                           can_set_target=authz.allowed(g.actor, member_report.TARGET_ACTION)), 422 if error else 200

    @expose("/<period>.<fmt>")
    def download(self, period: str, fmt: str):
        if fmt not in member_report.MEDIA_TYPES:
            abort(404)
        try:
            found = member_report.parse_period(period)
        except DomainError:
            abort(404)
        return member_report_file(member_report.generate(db.session, g.actor, found, fmt), found, fmt)

    @expose("/target", methods=("POST",))
    def target(self):
        back = url_for(".index", period=request.form.get("period", ""))
        # a value that is no whole number is refused by the operation with its own words
        year, target = (typed_number(request.form.get(name)) or 0 for name in ("fiscal_year", "target"))
        return post_action(lambda: member_report.set_recruitment_target(db.session, g.actor, year, target), back=back,
                           saved=gettext("The recruitment target was saved."))


def views(session):
    return [MemberReportView(name=_l("Member report"), endpoint="member_report", url="members-report")]
