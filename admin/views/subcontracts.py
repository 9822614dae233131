"""再委託の承認 (subcontracting, issue 57 item 3) in /admin: a contractor (the secretariat, the platform vendor)
asks approval for a subcontractor and sees its own requests; the prefecture (the operator) approves or refuses
(the reason beside its field when empty), each asked first. The rules are :mod:`governance.subcontracts`'."""

from __future__ import annotations

from flask import abort, g, redirect, request, url_for
from flask_admin import expose
from flask_babel import gettext as _, lazy_gettext as _l
from wtforms import SelectField, StringField, TextAreaField

from admin.extensions import db
from admin.i18n import current_language, format_date
from admin.views import operator_forms as forms
from admin.views.base import SecureView, apply_problems, confirm_first, post_action
from core import authz
from core.errors import DomainError, NotFound
from governance import subcontracts as sub


class RequestForm(forms.RenkeiForm):
    contractor = SelectField(_l("Contractor"), choices=[], validate_choice=False)
    name = StringField(_l("Subcontractor's name"))
    corporate_number = StringField(_l("Corporate number (13 digits, optional)"))
    address = StringField(_l("Address of the subcontractor"))
    scope = TextAreaField(_l("Part of the work subcontracted"))
    reason = TextAreaField(_l("Reason for subcontracting"))
    amount_yen = StringField(_l("Amount (yen, optional)"))
    starts_on = StringField(_l("From"))
    ends_on = StringField(_l("Until"))

    def fill_choices(self) -> RequestForm:
        self.contractor.choices = [(c.value, forms.pick(c.label)) for c in sub.contractors_of(g.actor)]
        return self

    def draft(self) -> sub.Draft:
        return sub.Draft(name=self.name.data or "", address=self.address.data or "", scope=self.scope.data or "",
                         reason=self.reason.data or "", starts_on=self.starts_on.data or "", ends_on=self.ends_on.data or "",
                         corporate_number=self.corporate_number.data or "", amount_yen=self.amount_yen.data or "",
                         contractor=self.contractor.data or "")


class SubcontractsView(SecureView):
    required_action = sub.READ

    def _list(self, form: RequestForm | None = None):
        can_request = authz.allowed(g.actor, sub.REQUEST) and bool(sub.contractors_of(g.actor))
        return self.render("renkei/subcontracts.html", rows=sub.requests(db.session, g.actor), form=form or RequestForm().fill_choices(),
                           can_request=can_request, pick=forms.pick, amount_text=sub.amount_text,
                           period_text=sub.period_text)

    @expose("/")
    def index(self):
        return self._list()

    @expose("/request", methods=("POST",))
    def ask(self):
        form = RequestForm(request.form).fill_choices()

        def ask():
            try:
                return sub.request(db.session, g.actor, form.draft())
            except DomainError as error:
                apply_problems(form, error)
                raise

        return post_action(ask, saved=_("The request was sent to the prefecture for approval."),
                           done=lambda row: self._redirect(row.id), failed=lambda: (self._list(form), 422))

    def _redirect(self, subcontract_id: int):
        return redirect(url_for(".detail", subcontract_id=subcontract_id))

    def _detail(self, subcontract_id: int, reason: str = "", reason_error: str | None = None):
        try:
            row = sub.get(db.session, g.actor, subcontract_id)
        except NotFound:
            abort(404)
        return self.render("renkei/subcontract.html", row=row, may=sub.may(g.actor, row), pick=forms.pick,
                           amount_text=sub.amount_text, period_text=sub.period_text, reason=reason,
                           reason_error=reason_error, format_date=format_date, lang=current_language())

    @expose("/<int:subcontract_id>")
    def detail(self, subcontract_id: int):
        return self._detail(subcontract_id)

    def _back(self, subcontract_id: int) -> str:
        return url_for(".detail", subcontract_id=subcontract_id)

    @expose("/<int:subcontract_id>/approve", methods=("POST",))
    def approve(self, subcontract_id: int):
        if authz.allowed(g.actor, sub.DECIDE):
            asked = confirm_first(self, title=_("Approve this subcontract?"),
                                  consequence=_("The contractor may then have the subcontractor do the part of the work "
                                                "named; the subcontractor is listed in the contractor's monthly report."),
                                  confirm_label=_("Approve"), back=self._back(subcontract_id))
            if asked is not None:
                return asked
        return post_action(lambda: sub.approve(db.session, g.actor, subcontract_id), back=self._back(subcontract_id),
                           saved=_("The subcontract was approved."))

    @expose("/<int:subcontract_id>/refuse", methods=("POST",))
    def refuse(self, subcontract_id: int):
        typed = request.form.get("reason", "")
        if authz.allowed(g.actor, sub.DECIDE):
            try:
                sub.refusal_reason(typed)
            except DomainError as error:
                found = error.problems[0] if error.problems else {"message_ja": error.message_ja, "message_en": error.message_en}
                return self._detail(subcontract_id, reason=typed,
                                    reason_error=found["message_ja" if current_language() == "ja" else "message_en"]), 422
            asked = confirm_first(self, title=_("Refuse this subcontract?"),
                                  consequence=_("The contractor is told the reason and may not subcontract this work; "
                                                "a refusal is final (the contractor asks again with a new request)."),
                                  confirm_label=_("Refuse the subcontract"), back=self._back(subcontract_id))
            if asked is not None:
                return asked
        return post_action(lambda: sub.refuse(db.session, g.actor, subcontract_id, typed), back=self._back(subcontract_id),
                           saved=_("The subcontract was refused."))

    @expose("/<int:subcontract_id>/withdraw", methods=("POST",))
    def withdraw(self, subcontract_id: int):
        asked = confirm_first(self, title=_("Withdraw this request?"),
                              consequence=_("The prefecture will no longer decide it; a withdrawn request cannot be "
                                            "sent again."),
                              confirm_label=_("Withdraw the request"), back=self._back(subcontract_id))
        if asked is not None:
            return asked
        return post_action(lambda: sub.withdraw(db.session, g.actor, subcontract_id), back=self._back(subcontract_id),
                           saved=_("The request was withdrawn."))

    @expose("/<int:subcontract_id>/end", methods=("POST",))
    def end(self, subcontract_id: int):
        asked = confirm_first(self, title=_("Record this subcontract as ended?"),
                              consequence=_("Today is its last day: the monthly reports list it until this month."),
                              confirm_label=_("Record the end"), back=self._back(subcontract_id))
        if asked is not None:
            return asked
        return post_action(lambda: sub.end(db.session, g.actor, subcontract_id), back=self._back(subcontract_id),
                           saved=_("The subcontract was recorded as ended."))


def views(db_):
    return [SubcontractsView(name=_l("Subcontracting"), endpoint="subcontracts", url="subcontracts")]
