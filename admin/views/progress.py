"""年間予定・進捗・課題 (issue 40 item 7) in /admin: a fiscal year's schedule of work items, the issue list,
and the monthly progress report with its PDF and workbook. Owners are picked from the secretariat's
people (the operators in Keycloak, :func:`admin.identity.secretariat_people`). The rules are :mod:`secretariat.progress`'s."""

from __future__ import annotations

from flask import abort, g, request, url_for
from flask_admin import expose
from flask_babel import gettext, lazy_gettext as _l

from admin import identity
from admin.downloads import progress_report_file
from admin.extensions import db
from admin.views.base import SecureView, confirm_first, post_action, query_fiscal_year, submit_then_show
from admin.views.operator_forms import pick
from core import authz
from core.calendar import fiscal_year_of, today_jst
from core.errors import DomainError
from governance import subcontracts, submissions
from secretariat import progress
from secretariat.member_report import MEDIA_TYPES


class ProgressView(SecureView):
    required_action = progress.READ

    @expose("/")
    def index(self):
        year = query_fiscal_year("year", fiscal_year_of(today_jst()))
        month_text, error = request.args.get("month", "").strip(), None
        try:
            month = progress.parse_month(month_text) if month_text else progress.current_month()
        except DomainError as refused:
            error, month = refused, progress.current_month()
        can_manage = authz.allowed(g.actor, progress.MANAGE)
        report = progress.build_report(db.session, g.actor, month) if authz.allowed(g.actor, progress.REPORT) else None
        items = progress.schedule(db.session, g.actor, year)
        found = progress.issues(db.session, g.actor)
        owed = submissions.find(db.session, submissions.K.progress_report, month.start.strftime("%Y-%m")) \
            if report is not None else None
        db.session.rollback()  # reading writes nothing
        return self.render(
            "renkei/progress.html", year=year, year_label=progress.fiscal_year_label(year), items=items, issues=found,
            late={i.id for i in items if progress.is_late(i)}, report=report, month_text=month_text or month.key,
            error=error, people=progress.owners(g.actor, identity.secretariat_people) if can_manage else {}, can_manage=can_manage,
            pick=pick, subcontract_period=subcontracts.period_text, subcontract_amount=subcontracts.amount_text,
            item_statuses=list(progress.ItemStatus), issue_statuses=list(progress.IssueStatus), owed=owed,
            can_submit=authz.allowed(g.actor, submissions.GRANTS[submissions.K.progress_report][0])), \
            422 if error else 200

    def _back(self) -> str:
        return url_for(".index", year=request.form.get("year", ""))

    @expose("/items", methods=("POST",))
    def add_item(self):
        form = request.form
        return post_action(lambda: progress.add_item(db.session, g.actor, identity.secretariat_people, title=form.get("title", ""),
                                                     due_on=form.get("due_on", ""), owner=form.get("owner", ""),
                                                     detail=form.get("detail", "")),
                           back=self._back(), saved=gettext("The work item was added to the schedule."))

    @expose("/items/<int:item_id>", methods=("POST",))
    def update_item(self, item_id: int):
        form = request.form
        return post_action(lambda: progress.update_item(db.session, g.actor, identity.secretariat_people, item_id,
                                                        owner=form.get("owner") or None,
                                                        status=form.get("status") or None),
                           back=self._back(), saved=gettext("The work item was updated."))

    @expose("/issues", methods=("POST",))
    def raise_issue(self):
        form = request.form
        return post_action(lambda: progress.raise_issue(db.session, g.actor, identity.secretariat_people, title=form.get("title", ""),
                                                        owner=form.get("owner", ""), detail=form.get("detail", "")),
                           back=self._back(), saved=gettext("The issue was recorded."))

    @expose("/issues/<int:issue_id>", methods=("POST",))
    def update_issue(self, issue_id: int):
        form = request.form
        return post_action(lambda: progress.update_issue(db.session, g.actor, identity.secretariat_people, issue_id,
                                                         owner=form.get("owner") or None,
                                                         status=form.get("status") or None,
                                                         resolution=form.get("resolution") or None),
                           back=self._back(), saved=gettext("The issue was updated."))

    @expose("/report/<month>/submit", methods=("POST",))
    def submit(self, month: str):
        """The month's report (the PDF the download gives) submitted to the prefecture, asked first."""
        try:
            found = progress.parse_month(month)
        except DomainError:
            abort(404)
        confirmation = confirm_first(
            self, title=gettext("Submit this month's progress report to the prefecture?"),
            consequence=gettext("Its PDF, as the download gives it now, goes to the prefecture for inspection as a new "
                                "version; the prefecture approves it or returns it with its reasons."),
            confirm_label=gettext("Submit to the prefecture"), back=url_for(".index", month=found.key))
        if confirmation is not None:
            return confirmation
        return submit_then_show(lambda: progress.submit_report(db.session, g.actor, found),
                                back=url_for(".index", month=found.key))

    @expose("/report/<month>.<fmt>")
    def download(self, month: str, fmt: str):
        if fmt not in MEDIA_TYPES:
            abort(404)
        try:
            found = progress.parse_month(month)
        except DomainError:
            abort(404)
        return progress_report_file(progress.generate(db.session, g.actor, found, fmt), found, fmt)


def views(session):
    return [ProgressView(name=_l("Schedule, progress and issues"), endpoint="progress", url="progress")]
