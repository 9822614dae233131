"""Finance's reminder page (/admin/billing/reminders/, 督促): the statements unpaid after their due date and
the 督促状 sent, and the act of sending them (asks first: a numbered letter cannot be taken back). The
rules, the letter and the audit records are :mod:`billing.reminders`'; a reminder's PDF is served by the
letters' view (admin/views/documents.py), which a municipality's reader may open for its own."""

from __future__ import annotations

import sqlalchemy as sa
from flask import g, redirect, request, url_for
from flask_admin import expose
from flask_babel import gettext as _, lazy_gettext as _l
from wtforms import DateField
from wtforms.validators import InputRequired

from admin.extensions import db
from admin.views.base import SecureView, confirm_first, post_action, with_problems_beside_fields
from admin.views.billing.forms import REQUIRED, _Form, _ja
from billing import reminders
from billing.models import Reminder
from core.calendar import date_ja, fiscal_year_ja, today_jst
from tenancy.registry.models import Tenant


class ReminderForm(_Form):
    due_on = DateField(_l("New payment deadline (新たな納期限)"), validators=[InputRequired(message=REQUIRED)])


def _day(value) -> str:
    return date_ja(value) if _ja() else value.isoformat()


class ReminderView(SecureView):
    required_action = "billing.manage"

    def _page(self, form: ReminderForm | None = None, chosen: set[str] | None = None, status: int = 200):
        overdue = reminders.overdue_list(db.session, g.actor)
        sent = list(db.session.scalars(sa.select(Reminder).order_by(Reminder.issued_on.desc(), Reminder.id.desc())))
        names = dict(db.session.execute(sa.select(Tenant.code, Tenant.name_ja).where(
            Tenant.code.in_({reminder.tenant_code for reminder in sent}))).all()) if sent else {}
        chosen = chosen if chosen is not None else {f"{item.tenant_code}/{item.fiscal_year}" for item in overdue}
        return self.render("renkei/billing_reminders.html", overdue=overdue, sent=sent, names=names,
                           form=form or ReminderForm(), chosen=chosen, today=today_jst(), day=_day,
                           year_ja=fiscal_year_ja), status

    @expose("/")
    def index(self):
        return self._page()

    @expose("/issue", methods=("POST",))
    def issue(self):
        form = ReminderForm(request.form)
        picked = request.form.getlist("statement")
        statements = []
        for value in picked:
            code, _slash, year = value.partition("/")
            if code and year.isdigit():
                statements.append((code, int(year)))
        failed = lambda: self._page(form, set(picked), status=422)  # noqa: E731
        if not form.validate():
            return failed()
        checked = post_action(with_problems_beside_fields(form, lambda: (
            reminders.check_due_on(form.due_on.data, today_jst()), reminders.check_chosen(statements))),
            failed=failed, done=lambda _checked: None)  # refused before the confirmation, not after it
        if checked is not None:
            return checked
        asked = confirm_first(
            self, title=_("Send the reminders (督促状)"),
            consequence=_("Each chosen statement gets a 督促状 with a document number that can never be changed or "
                          "given again, dated today, with the new payment deadline %(due)s. The letters are kept as "
                          "issued and the act is recorded in the audit log.", due=_day(form.due_on.data)),
            confirm_label=_("Send the reminders"), back=url_for(".index"))
        if asked is not None:
            return asked
        return post_action(
            with_problems_beside_fields(
                form, lambda: reminders.issue_reminders(db.session, g.actor, statements, form.due_on.data)),
            saved=lambda issued: _("%(count)s reminder(s) sent.", count=len(issued)),
            done=lambda issued: redirect(url_for(".index")), failed=failed)


def views(session):
    return [ReminderView(name=_l("Reminders (督促)"), endpoint="billing_reminders", url="billing/reminders")]
