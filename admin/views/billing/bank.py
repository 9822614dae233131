"""Finance's page of money received (/admin/billing/bank/): import the bank's file, confirm each credit as
the payment of a statement (picked by name, never by id), and the manual payment two people decide.
The rules, the matching and the audit records are :mod:`billing.bank_reconciliation`'s."""

from __future__ import annotations

import functools

import sqlalchemy as sa
from flask import flash, g, redirect, request, url_for
from flask_admin import expose
from flask_babel import get_locale, gettext as _, lazy_gettext as _l
from wtforms import FileField, SelectField, TextAreaField
from wtforms.validators import InputRequired, Length

from admin.extensions import db
from admin.problems import status_of
from admin.views import operator_forms as forms
from admin.views.base import SecureView, apply_problems, post_action, with_problems_beside_fields
from admin.views.billing.forms import REQUIRED, PaymentForm, _validated
from billing import bank_files, bank_reconciliation as bank
from billing.ledger_errors import InvalidBillingData
from billing.schemas import ManualPaymentCreate
from core.calendar import fiscal_year_ja
from core.errors import DomainError
from tenancy.registry.models import Tenant

MAX_UPLOAD = bank.MAX_FILE_BYTES


class BankFileForm(forms.RenkeiForm):
    file = FileField(_l("The bank's file"), validators=[InputRequired(message=REQUIRED)])


class ConfirmForm(forms.RenkeiForm):
    statement = SelectField(_l("Statement it pays"), validators=[InputRequired(message=REQUIRED)])


class ManualPaymentForm(PaymentForm):
    reason = TextAreaField(_l("Why there is no bank line"), validators=[InputRequired(message=REQUIRED), Length(max=2000)])

    def to_schema(self) -> ManualPaymentCreate:
        data = {"tenant_code": self.tenant_code.data, "fiscal_year": self.fiscal_year.data, "amount": self.amount.data,
                "received_on": self.received_on.data, "reference": self.reference.data, "reason": self.reason.data}
        return _validated(ManualPaymentCreate, data, {})


def _statement_value(candidate_or_statement) -> str:
    statement = getattr(candidate_or_statement, "statement", candidate_or_statement)
    return f"{statement.tenant_code}/{statement.fiscal_year}"


class BankView(SecureView):
    required_action = "billing.manage"

    def _page(self, *, upload=None, manual=None, status: int = 200):
        statements = functools.cache(lambda: bank.open_statements(db.session))  # read once, and only for an open line
        views = bank.bank_lines(db.session, g.actor, statements=statements)
        open_views = [view for view in views if not view.confirmed]
        # the pickers' list of every open statement, built once for all the pickers
        choices = [(_statement_value(s), s.label) for s in statements()] if open_views else []
        pickers = {}
        for view in open_views:
            form = ConfirmForm(prefix=f"line{view.line.id}")
            suggested = [(_statement_value(c), f"{c.statement.label}（{c.reasons_ja}）") for c in view.suggestions]
            taken = {value for value, _label in suggested}
            others = [(value, label) for value, label in choices if value not in taken]
            form.statement.choices = [("", _("Choose the statement"))] + suggested + others
            form.statement.data = _statement_value(view.match) if view.match else (suggested[0][0] if suggested else "")
            pickers[view.line.id] = form
        manual_form = manual or ManualPaymentForm(year=None)
        return self.render("renkei/billing_bank.html", views=views, pickers=pickers,
                           matched=sum(1 for view in views if view.match is not None and not view.confirmed),
                           upload=upload or BankFileForm(), manual=manual_form, kinds=bank_files.KIND_LABELS,
                           files=bank.bank_files_imported(db.session, g.actor),
                           requests=bank.manual_payments(db.session, g.actor), year_ja=fiscal_year_ja,
                           names=dict(db.session.execute(sa.select(Tenant.code, Tenant.name_ja)).all())), status

    @expose("/")
    def index(self):
        return self._page()

    @expose("/import", methods=("POST",))
    def import_file(self):
        form = BankFileForm()
        upload = request.files.get("file")
        if upload is None or not upload.filename:
            form.file.errors = [_("Choose the bank's file.")]
            return self._page(upload=form, status=422)
        raw = upload.stream.read(MAX_UPLOAD + 1)
        refusal = {"status": 422}

        def run():
            try:
                return bank.import_bank_file(db.session, g.actor, raw, upload.filename)
            except InvalidBillingData as error:
                apply_problems(form, error)
                raise
            except DomainError as error:  # a repeated file or line: said beside the file too
                refusal["status"] = status_of(error)
                form.file.errors = [error.message_ja if str(get_locale() or "ja") == "ja" else error.message_en]
                raise
        return post_action(run,
                           saved=lambda result: _("%(count)s credit(s) imported, %(refused)s repeated line(s) refused.",
                                                  count=len(result.lines), refused=len(result.refused)),
                           done=lambda result: redirect(url_for(".index")),
                           failed=lambda: self._page(upload=form, status=refusal["status"]))

    @expose("/lines/<int:line_id>/confirm", methods=("POST",))
    def confirm(self, line_id: int):
        chosen = request.form.get(f"line{line_id}-statement", "")
        code, _slash, year = chosen.partition("/")
        if not code or not year.isdigit():
            flash(_("Choose the statement the line pays."), "error")
            return redirect(url_for(".index"))
        return post_action(lambda: bank.confirm_line(db.session, g.actor, line_id, code, int(year)),
                           saved=lambda payment: _("The payment is recorded."), back=url_for(".index"))

    @expose("/confirm-matched", methods=("POST",))
    def confirm_matched(self):
        return post_action(lambda: bank.confirm_matched(db.session, g.actor),
                           saved=lambda done: _("%(count)s payment(s) recorded.", count=len(done)),
                           back=url_for(".index"))

    @expose("/manual", methods=("POST",))
    def manual(self):
        form = ManualPaymentForm(request.form)
        if not form.validate():
            return self._page(manual=form, status=422)
        return post_action(
            with_problems_beside_fields(form, lambda: bank.request_manual_payment(db.session, g.actor, form.to_schema())),
            saved=lambda request_: _("The manual payment waits for another finance officer's approval."),
            done=lambda request_: redirect(url_for(".index")),
            failed=lambda: self._page(manual=form, status=422))

    @expose("/manual/<int:request_id>/approve", methods=("POST",))
    def approve(self, request_id: int):
        return post_action(lambda: bank.approve_manual_payment(db.session, g.actor, request_id),
                           saved=lambda request_: _("The manual payment is approved and recorded."),
                           back=url_for(".index"))


def views(session):
    return [BankView(name=_l("Money received"), endpoint="billing_bank", url="billing/bank")]
