"""Official letters (納入通知書) and the prefecture's settings in /admin.

* ``/admin/billing/documents/…``: a municipality's letter as PDF, a run's letters in one PDF, and
  the finance office's two acts: issue a posted run's letters (numbers them; asks first) and
  reissue one letter (same number, marked 再発行; asks first). Reads follow ``billing.read``, so a
  municipal admin downloads their own letter only; the acts call :mod:`billing.documents`.
* ``/admin/settings/``: the operator's form for the prefecture's facts that letters carry
  (:mod:`tenancy.registry.prefecture`): issuer, office, designated bank, document symbol.
"""

from __future__ import annotations

import datetime as dt

from flask import Response, current_app, g, redirect, request, url_for
from flask_admin import expose
from flask_babel import gettext as _, lazy_gettext as _l
from pydantic import ValidationError
from wtforms import DateField, IntegerField, SelectField, StringField, TextAreaField
from wtforms.validators import InputRequired, Length, Optional

from admin.downloads import attachment
from admin.extensions import db
from admin.views.base import SecureView, _ja, apply_problems, confirm_first, post_action, with_problems_beside_fields
from admin.views.operator_forms import REQUIRED, InRange, RenkeiForm as _Form
from billing import documents, reminders
from billing.ledger_errors import InvalidBillingData
from core import authz
from core.calendar import date_ja
from core.validation import problems_from
from tenancy.registry.models import BankAccountType, SealMark
from tenancy.registry.prefecture import (FIELDS, PrefectureSettingsIn, default_consortium_name, get_settings,
                                        home_prefecture_name, update_settings)

PDF = "application/pdf"


class IssueForm(_Form):
    due_on = DateField(_l("Payment deadline (納期限)"), validators=[InputRequired(message=REQUIRED)])


class StatementDocumentsView(SecureView):
    required_action = "billing.read"

    def is_visible(self) -> bool:
        return False  # reached from a statement's page and a run's page

    @expose("/")
    def index(self):
        return redirect(url_for("billing.index"))

    @expose("/<code>/<int:fiscal_year>.pdf")
    def letter_pdf(self, code: str, fiscal_year: int):
        found = documents.issued_letter(db.session, g.actor, code, fiscal_year)
        return _pdf(documents.letters_pdf(db.session, g.actor, [found]), f"statement-{code}-FY{fiscal_year}",
                    f"納入通知書_{found.statement.tenant_name}_{found.statement.era}")

    @expose("/reminders/<int:reminder_id>.pdf")
    def reminder_pdf(self, reminder_id: int):
        """A 督促状 as it was sent (finance, or the municipality's own readers)."""
        reminder, content = reminders.reminder_file(db.session, g.actor, reminder_id)
        return _pdf(content, f"reminder-{reminder.tenant_code}-FY{reminder.fiscal_year}-{reminder.id}",
                    f"督促状_{reminder.number}")

    @expose("/runs/<int:run_id>.pdf")
    def run_pdf(self, run_id: int):
        letters = documents.run_letters(db.session, g.actor, run_id)
        return _pdf(documents.letters_pdf(db.session, g.actor, letters), f"statements-run-{run_id}",
                    f"納入通知書_一括_{letters[0].statement.era}_按分計算{run_id}")

    @expose("/runs/<int:run_id>/issue", methods=("POST",))
    def issue(self, run_id: int):
        back = url_for("billing.run", run_id=run_id)
        form = IssueForm(request.form)
        if not form.validate():
            return post_action(lambda: _refuse_form(form), back=back)
        asked = confirm_first(
            self, title=_("Issue the letters of this run"),
            consequence=_("Each municipality's letter gets a document number that can never be changed or given "
                          "again, dated today, with the payment deadline %(due)s.", due=_date(form.due_on.data)),
            confirm_label=_("Issue the letters"), back=back)
        if asked is not None:
            return asked
        return post_action(
            lambda: documents.issue_documents(db.session, g.actor, run_id, due_on=form.due_on.data),
            back=back, saved=lambda issued: _("%(count)s letters issued.", count=len(issued)) if issued
            else _("Every letter of this run was issued already; nothing was numbered."))

    @expose("/<code>/<int:fiscal_year>/reissue", methods=("POST",))
    def reissue(self, code: str, fiscal_year: int):
        back = url_for("billing.statement", code=code, fiscal_year=fiscal_year)
        asked = confirm_first(
            self, title=_("Reissue this letter"),
            consequence=_("The letter keeps its document number and is marked 再発行 with today's date; "
                          "the reissue is recorded in the audit log."),
            confirm_label=_("Reissue"), back=back)
        if asked is not None:
            return asked
        return post_action(lambda: documents.reissue_document(db.session, g.actor, code, fiscal_year), back=back,
                           saved=lambda document: _("Letter %(number)s reissued.", number=document.number))


def _refuse_form(form) -> None:
    raise InvalidBillingData("The form has problems; nothing was saved.", "入力内容に誤りがあります。保存していません。",
                             problems=[{"field": name, "message_en": " ".join(errors), "message_ja": " ".join(errors)}
                                       for name, errors in form.errors.items()])


def _date(day: dt.date) -> str:
    return date_ja(day) if _ja() else day.isoformat()


def _pdf(data: bytes, stem: str, label: str) -> Response:
    return attachment(data, PDF, f"{stem}.pdf", f"{label}.pdf")


# --- the prefecture's settings ------------------------------------------------------------------------

class SettingsForm(_Form):
    issuer_title = StringField(_l("Issuer (title)"), validators=[InputRequired(message=REQUIRED), Length(max=100)])
    issuer_name = StringField(_l("Issuer (name, optional)"), validators=[Length(max=100)])
    office = StringField(_l("Office in charge"), validators=[InputRequired(message=REQUIRED), Length(max=200)])
    office_address = StringField(_l("Office address"), validators=[Length(max=200)])
    office_phone = StringField(_l("Office phone"), validators=[InputRequired(message=REQUIRED), Length(max=32)])
    office_email = StringField(_l("Office e-mail"), validators=[Length(max=254)])
    bank_name = StringField(_l("Designated bank (指定金融機関)"), validators=[InputRequired(message=REQUIRED), Length(max=100)])
    bank_branch = StringField(_l("Branch"), validators=[InputRequired(message=REQUIRED), Length(max=100)])
    account_type = SelectField(_l("Account type"), validators=[InputRequired(message=REQUIRED)])
    account_number = StringField(_l("Account number"), validators=[InputRequired(message=REQUIRED), Length(max=16)])
    account_holder = StringField(_l("Account holder"), validators=[InputRequired(message=REQUIRED), Length(max=100)])
    document_symbol = StringField(_l("Document symbol (文書記号)"), validators=[InputRequired(message=REQUIRED), Length(max=20)])
    payment_days = IntegerField(_l("Days to the payment deadline"),
                                validators=[InputRequired(message=REQUIRED), InRange(min=1, max=365, unit=_l(" days"))])
    consortium_name = StringField(_l("Consortium name"), validators=[Length(max=100)])
    seal = SelectField(_l("Official seal on letters"), default=SealMark.omitted.value, validators=[Optional()])
    closed_days = TextAreaField(_l("The office's own closed days"), validators=[Length(max=4000)])

    def __init__(self, formdata=None, **kwargs):
        super().__init__(formdata, **kwargs)
        self.account_type.choices = [(kind.value, kind.ja if _ja() else kind.en) for kind in BankAccountType]
        self.seal.choices = [(mark.value, mark.ja if _ja() else mark.en) for mark in SealMark]

    def to_schema(self) -> PrefectureSettingsIn:
        data = {name: getattr(self, name).data for name in FIELDS}
        data["office_email"] = data["office_email"] or None
        data["seal"] = data["seal"] or SealMark.omitted.value  # a form sent without the picker: as before
        data["closed_days"] = data["closed_days"] or ""
        try:
            return PrefectureSettingsIn.model_validate(data)
        except ValidationError as error:
            raise InvalidBillingData("The form has problems; nothing was saved.",
                                     "入力内容に誤りがあります。保存していません。", problems=problems_from(error)) from None


class PrefectureSettingsView(SecureView):
    required_action = "settings.manage"

    @expose("/", methods=("GET", "POST"))
    def index(self):
        saved = get_settings(db.session)
        if request.method == "GET":
            return self._page(self._saved_form(saved), saved)
        form = SettingsForm(request.form)
        valid = form.validate()
        try:
            data = form.to_schema()
        except InvalidBillingData as error:  # the domain's rules (account digits, phone): beside the fields too
            error.problems = [item for item in error.problems if not getattr(form, item.get("field", ""), None)
                              or not getattr(form, item["field"]).errors]
            apply_problems(form, error)
            valid = False
        if not valid:
            return self._page(form, saved), 422
        return post_action(
            with_problems_beside_fields(form, lambda: update_settings(db.session, g.actor, data)),
            saved=_("The prefecture's settings were saved."), done=lambda _saved: redirect(url_for(".index")),
            failed=lambda: (self._page(form, saved), 422))

    @expose("/service", methods=("POST",))
    def save_service(self):
        """The service settings (service.settings: the availability target, the incident settings, the
        permitted maintenance hours, the monthly report's settings), saved by the operation, audited there."""
        from admin.views.service import SettingsForm as ServiceSettingsForm
        from service import settings as service_settings

        form = ServiceSettingsForm(request.form)
        saved = get_settings(db.session)
        if not form.validate():
            return self._page(self._saved_form(saved), saved, service_form=form), 422
        return post_action(
            with_problems_beside_fields(form, lambda: service_settings.save(db.session, g.actor, form.draft())),
            saved=_("The service settings were saved."), done=lambda _row: redirect(url_for(".index") + "#service-settings-h"),
            failed=lambda: (self._page(self._saved_form(saved), saved, service_form=form), 422))

    @staticmethod
    def _saved_form(saved) -> SettingsForm:
        """The prefecture's form filled with what is saved."""
        form = SettingsForm(None, data={name: getattr(saved, name) for name in FIELDS} if saved else {"payment_days": 30})
        if saved is not None:
            form.account_type.data = saved.account_type.value if isinstance(saved.account_type, BankAccountType) \
                else saved.account_type
            form.seal.data = SealMark(saved.seal).value
        return form

    def _page(self, form, saved, service_form=None):
        from admin.service.incident_settings import first_report_hours
        from admin.proxies import parse_trusted
        from admin.views.service import SettingsForm as ServiceSettingsForm
        from service import settings as service_settings

        if service_form is None and authz.allowed(g.actor, "service.settings"):
            service_form = ServiceSettingsForm.of(service_settings.current(db.session), first_report_hours())
        return self.render("renkei/settings.html", form=form, saved=saved, service_form=service_form,
                           can_manage=authz.allowed(g.actor, "settings.manage"),
                           trusted_proxies=[str(network) for network in
                                            parse_trusted(current_app.config.get("RENKEI_TRUSTED_PROXIES") or "")],
                           home=home_prefecture_name(db.session), default_consortium=default_consortium_name(db.session))


def views(session):
    return [
        StatementDocumentsView(name=_l("Letters"), endpoint="documents", url="billing/documents"),
        PrefectureSettingsView(name=_l("Prefecture settings"), endpoint="prefecture_settings", url="settings"),
    ]
