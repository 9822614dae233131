"""Running the platform (運用と監査): the components probed and the service settings, each month's
availability against the target, and planned maintenance. The operator changes them; the auditor
reads. Every change is an operation of service/ (audited there)."""

from __future__ import annotations

import sqlalchemy as sa
from flask import g, redirect, request, url_for
from flask_admin import expose
from flask_babel import gettext as _, lazy_gettext as _l
from wtforms import BooleanField, DateTimeLocalField, IntegerField, StringField, TextAreaField
from wtforms.validators import InputRequired, Length, NumberRange, Optional

from admin.extensions import db
from admin.views.base import SecureView, confirm_first, post_action, submit_then_show, with_problems_beside_fields
from admin.views.operator_forms import CheckboxListField, RenkeiForm, ja, pick
from core import authz
from core.calendar import JST, current_month, jst_text, parse_month
from core.db import utcnow
from core.errors import DomainError
from service import components, maintenance, report, settings, status
from service.availability import percent_text
from service.models import STATE_WORDS



class ComponentForm(RenkeiForm):
    name_ja = StringField(_l("Name (Japanese)"), validators=[InputRequired(message=_l("Enter a name.")), Length(max=100)])
    name_en = StringField(_l("Name (English)"), validators=[Optional(), Length(max=100)])
    url = StringField(_l("Health URL"), validators=[InputRequired(message=_l("Enter the health URL.")), Length(max=500)])
    expected_status = IntegerField(_l("Expected HTTP status"), default=200, validators=[NumberRange(100, 599)])
    timeout_ms = IntegerField(_l("Timeout (milliseconds)"), default=5000, validators=[NumberRange(100, 30_000)])


class SettingsForm(RenkeiForm):
    target_basis_points = IntegerField(_l("Availability target (hundredths of a percent: 9950 is 99.50 percent)"),
                                       validators=[NumberRange(5000, 10_000)])
    outage_after_minutes = IntegerField(_l("Minutes of failed probes that confirm an outage"), validators=[NumberRange(1, 1440)])
    maintenance_weekdays_only = BooleanField(_l("Maintenance on weekdays only"))
    maintenance_start_hour = IntegerField(_l("Permitted maintenance hours: from (hour, Japan time)"), validators=[NumberRange(0, 23)])
    maintenance_end_hour = IntegerField(_l("to (hour, Japan time)"), validators=[NumberRange(1, 24)])
    search_words_minimum = IntegerField(_l("Least searches of a word named in the monthly report"), default=5,
                                        validators=[NumberRange(1, 1000)])
    first_report_minutes = IntegerField(_l("Minutes from an incident's detection to its first report to the prefecture"),
                                        validators=[NumberRange(1, 1440)])
    report_recipients = TextAreaField(_l("The prefecture's recipients of the reports (e-mail addresses, one per line)"),
                                      validators=[Optional(), Length(max=settings.RECIPIENTS_LENGTH)])

    @classmethod
    def of(cls, current, first_report_hours: float) -> SettingsForm:
        """The form filled with the saved settings (the installation's defaults where none is saved)."""
        data = settings.summary(current)
        data["report_recipients"] = "\n".join(data["report_recipients"])
        if data["first_report_minutes"] is None:
            data["first_report_minutes"] = round(first_report_hours * 60)
        return cls(data=data)

    def draft(self) -> settings.SettingsDraft:
        values = {name: getattr(self, name).data for name in settings.FIELDS}
        values["report_recipients"] = settings.recipients_of(self.report_recipients.data or "")
        return settings.SettingsDraft(**values)


class WindowForm(RenkeiForm):
    title = StringField(_l("Subject"), validators=[InputRequired(message=_l("Enter a subject.")), Length(max=200)])
    starts_at = DateTimeLocalField(_l("Starts (Japan time)"), format="%Y-%m-%dT%H:%M",
                                   validators=[InputRequired(message=_l("Enter when it starts."))])
    ends_at = DateTimeLocalField(_l("Ends (Japan time)"), format="%Y-%m-%dT%H:%M",
                                 validators=[InputRequired(message=_l("Enter when it ends."))])
    component_keys = CheckboxListField(_l("Affected components"), choices=[], validate_choice=False)
    tenant_codes = CheckboxListField(_l("Affected municipalities (none ticked: every active one)"), choices=[],
                                     validate_choice=False)
    description = TextAreaField(_l("What is done and what users notice"), validators=[Optional(), Length(max=5000)])
    outside_hours_reason = StringField(_l("Reason, when outside the permitted hours"), validators=[Optional(), Length(max=500)])
    to_members = BooleanField(_l("Also announce to the member organisations"))


def _name(component) -> str:
    return component.name_ja if ja() else (component.name_en or component.name_ja)


class ServiceComponentsView(SecureView):
    required_action = "service.read"

    def _page(self, form=None, status_code: int = 200):
        now = utcnow()
        rows = [(c, *status.component_state(db.session, c, now)) for c in components.all_components(db.session)]
        return self.render("renkei/service_components.html", rows=rows, form=form or ComponentForm(),
                           can_manage=authz.allowed(g.actor, "service.manage"), words=STATE_WORDS, ja=ja(),
                           name=_name, jst_text=jst_text), status_code

    @expose("/")
    def index(self):
        return self._page()

    @expose("/register", methods=("POST",))
    def register(self):
        form = ComponentForm(request.form)
        if not form.validate():
            return self._page(form=form, status_code=400)
        draft = components.ComponentDraft(name_ja=form.name_ja.data, name_en=form.name_en.data or "", url=form.url.data,
                                          expected_status=form.expected_status.data, timeout_ms=form.timeout_ms.data)
        return post_action(with_problems_beside_fields(form, lambda: components.register(db.session, g.actor, draft)),
                           saved=lambda c: _("The component %(name)s is probed from the next minute.", name=c.name_ja),
                           done=lambda c: redirect(url_for(".index")), failed=lambda: self._page(form=form, status_code=400))

    @expose("/<key>/active", methods=("POST",))
    def active(self, key: str):
        wanted = request.form.get("active") == "1"
        return post_action(lambda: components.set_active(db.session, g.actor, key, wanted),
                           saved=_("Probing resumed.") if wanted else _("Probing stopped; the recorded intervals stay."),
                           back=url_for(".index"))


class ServiceAvailabilityView(SecureView):
    required_action = "service.read"

    @expose("/")
    def index(self):
        from flask import current_app

        text = request.args.get("month") or ""
        try:
            month = parse_month(text) if text else current_month()
        except DomainError as error:
            return self.render("renkei/service_availability.html", rows=[], month=None, slow=None,
                               error=error.message_ja if ja() else error.message_en, text=text, **self._words()), 400
        rows = report.month_availability(db.session, g.actor, month, now=utcnow())
        slow = report.responsiveness(current_app.config.get("RENKEI_REQUEST_LOG"), month)
        return self.render("renkei/service_availability.html", rows=rows, month=month, slow=slow, error=None,
                           text=f"{month:%Y-%m}", **self._words())

    @staticmethod
    def _words() -> dict:
        return {"percent": percent_text, "name": _name, "minutes": lambda micros: f"{micros // 60_000_000:,}"}


class ServiceMaintenanceView(SecureView):
    required_action = "service.read"

    def _form(self, formdata=None) -> WindowForm:
        from governance.notices import addressable

        form = WindowForm(formdata)
        form.component_keys.choices = [(c.key, _name(c)) for c in components.all_components(db.session, active_only=True)]
        can = authz.allowed(g.actor, "notice.publish")
        form.tenant_codes.choices = [(t.code, f"{t.code} {t.name_ja}") for t in addressable(db.session, g.actor)] if can else []
        return form

    def _page(self, form=None, status_code: int = 200):
        found = maintenance.windows(db.session, include_cancelled=True)
        rows = [(w, maintenance.keys_of(db.session, w), maintenance.tenants_of(db.session, w)) for w in reversed(found)]
        current = settings.current(db.session)
        names = {c.key: _name(c) for c in components.all_components(db.session)}
        return self.render("renkei/service_maintenance.html", form=form or self._form(), rows=rows, settings=current, names=names,
                           can_manage=authz.allowed(g.actor, "service.manage"), jst_text=jst_text, now=utcnow()), status_code

    @expose("/")
    def index(self):
        return self._page()

    def _draft(self, form: WindowForm) -> maintenance.WindowDraft:
        return maintenance.WindowDraft(
            title=form.title.data, starts_at=form.starts_at.data.replace(tzinfo=JST), ends_at=form.ends_at.data.replace(tzinfo=JST),
            component_keys=tuple(form.component_keys.data or ()), tenant_codes=tuple(form.tenant_codes.data or ()),
            description=form.description.data or "", outside_hours_reason=form.outside_hours_reason.data or "",
            to_members=bool(form.to_members.data))

    @expose("/schedule", methods=("POST",))
    def schedule(self):
        form = self._form(request.form)
        if not form.validate():
            return self._page(form, 400)
        confirmation = confirm_first(
            self, title=_("Schedule and announce this maintenance?"),
            consequence=_("A notice goes at once to the affected municipalities' home pages and contacts by e-mail; "
                          "the window shows on the public status page and is left out of the availability."),
            confirm_label=_("Schedule and announce"), back=url_for(".index"))
        if confirmation is not None:
            return confirmation
        draft = self._draft(form)
        operation = with_problems_beside_fields(
            form, lambda: maintenance.schedule(db.session, g.actor, draft, settings.current(db.session)))
        return post_action(operation, saved=_("The maintenance was scheduled and announced."),
                           done=lambda _w: redirect(url_for(".index")), failed=lambda: self._page(form, 400))

    @expose("/<int:window_id>/cancel", methods=("POST",))
    def cancel(self, window_id: int):
        reason = (request.form.get("reason") or "").strip()
        confirmation = confirm_first(
            self, title=_("Cancel this maintenance?"),
            consequence=_("The cancellation is announced to the same municipalities; the window is counted again."),
            confirm_label=_("Cancel the maintenance"), back=url_for(".index"))
        if confirmation is not None:
            return confirmation
        return post_action(lambda: maintenance.cancel(db.session, g.actor, window_id, reason),
                           saved=_("The maintenance was cancelled and the cancellation announced."), back=url_for(".index"))


class ServiceMonthlyReportsView(SecureView):
    """The monthly report to the prefecture (月次運用報告): each writing with its figures and files;
    the operator writes a month again and sends a writing to the prefecture's recipients."""

    required_action = "service.read"

    def _page(self, error: str | None = None, text: str = "", status_code: int = 200):
        from admin.service.incident_settings import report_recipients
        from core.calendar import add_months
        from service import monthly_report

        from governance import submissions

        rows = [(row, monthly_report.summary_of(row)) for row in monthly_report.history(db.session, g.actor)]
        can_manage = authz.allowed(g.actor, "service.manage")
        months = sorted({row.month.strftime("%Y-%m") for row, _figures in rows})
        owed_by_month = {row.refers_to: row for row in db.session.scalars(sa.select(submissions.Submission).where(
            submissions.Submission.kind == submissions.K.service_report, submissions.Submission.refers_to.in_(months)))}
        return self.render("renkei/service_monthly_reports.html", rows=rows, can_manage=can_manage, error=error,
                           owed_by_month=owed_by_month, pick=pick,
                           can_submit=authz.allowed(g.actor, submissions.GRANTS[submissions.K.service_report][0]),
                           text=text or f"{add_months(current_month(), -1):%Y-%m}", jst_text=jst_text,
                           recipients=report_recipients() if can_manage else []), status_code

    @expose("/")
    def index(self):
        return self._page()

    @expose("/write", methods=("POST",))
    def write(self):
        from flask import current_app

        from admin.request_log import destination
        from service import monthly_report

        text = (request.form.get("month") or "").strip()
        try:
            month = parse_month(text)
        except DomainError as error:
            return self._page(error=error.message_ja if ja() else error.message_en, text=text, status_code=400)
        return post_action(lambda: monthly_report.write(db.session, g.actor, month, destination(current_app.config)),
                           saved=lambda row: _("The monthly report of %(month)s was written (version %(version)s).",
                                               month=f"{row.month:%Y-%m}", version=row.version),
                           back=url_for(".index"))

    @expose("/<int:report_id>/send", methods=("POST",))
    def send(self, report_id: int):
        from admin.service.incident_settings import report_recipients
        from service import monthly_report

        confirmation = confirm_first(
            self, title=_("Send this monthly report to the prefecture?"),
            consequence=_("An e-mail with its figures goes to the prefecture's recipients; a writing is sent once."),
            confirm_label=_("Send to the prefecture"), back=url_for(".index"))
        if confirmation is not None:
            return confirmation
        return post_action(lambda: monthly_report.send(db.session, g.actor, report_id, report_recipients()),
                           saved=_("The monthly report was queued to the prefecture's recipients."), back=url_for(".index"))

    @expose("/<int:report_id>/submit", methods=("POST",))
    def submit(self, report_id: int):
        """This writing's PDF submitted to the prefecture as the month's service report, asked first."""
        from service import monthly_report

        confirmation = confirm_first(
            self, title=_("Submit this monthly report to the prefecture?"),
            consequence=_("This writing's PDF goes to the prefecture for inspection as a new version; the prefecture "
                          "approves it or returns it with its reasons."),
            confirm_label=_("Submit to the prefecture"), back=url_for(".index"))
        if confirmation is not None:
            return confirmation
        return submit_then_show(lambda: monthly_report.submit(db.session, g.actor, report_id), back=url_for(".index"))

    @expose("/<int:report_id>.<fmt>")
    def download(self, report_id: int, fmt: str):
        from flask import Response, abort

        from core.spreadsheet import XLSX_MIMETYPE as XLSX
        from service import monthly_report

        if fmt not in monthly_report.FORMATS:
            abort(404)
        row, data = monthly_report.download(db.session, g.actor, report_id, fmt)
        return Response(data, mimetype="application/pdf" if fmt == "pdf" else XLSX,
                        headers={"Content-Disposition": f'attachment; filename="{monthly_report.filename(row, fmt)}"'})


def views(db_):
    return [ServiceComponentsView(name=_l("Monitored components"), endpoint="service_components", url="service/components"),
            ServiceAvailabilityView(name=_l("Availability"), endpoint="service_availability", url="service/availability"),
            ServiceMaintenanceView(name=_l("Planned maintenance"), endpoint="service_maintenance", url="service/maintenance"),
            ServiceMonthlyReportsView(name=_l("Monthly reports"), endpoint="service_monthly_reports",
                                      url="service/monthly-reports")]
