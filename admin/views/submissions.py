"""提出書類 (documents owed to the prefecture, issue 57 item 2) in /admin: the list with due dates and the overdue
ones, a document's versions, a contractor's submission (text or a file), the prefecture's inspection (approve, or
return with the reason beside its field when empty), each irreversible act asked first; the prefecture opens a
document owed with its due date. The rules are :mod:`governance.submissions`'; the minutes are written and inspected
on their meeting's page (the same rules)."""

from __future__ import annotations

from flask import abort, g, redirect, request, url_for
from flask_admin import expose
from flask_babel import gettext as _, lazy_gettext as _l
from wtforms import SelectField, StringField

from admin import downloads
from admin.extensions import db
from admin.i18n import current_language, format_date
from admin.views import operator_forms as forms
from admin.views.base import SecureView, apply_problems, confirm_first, post_action
from core import authz
from core.calendar import jst_text, today_jst
from core.errors import DomainError, NotFound
from governance import submissions as subs


class OpenForm(forms.RenkeiForm):
    kind = SelectField(_l("Kind of document"), choices=[], validate_choice=False)
    title = StringField(_l("Title"))
    contractor = SelectField(_l("Contractor"), choices=[], validate_choice=False)
    due_on = StringField(_l("Due date"))
    month = StringField(_l("Month of the report"))

    def fill_choices(self) -> OpenForm:
        self.kind.choices = [(k.value, forms.pick(k.label)) for k in subs.SubmissionKind if k is not subs.K.minutes]
        self.contractor.choices = [(c.value, forms.pick(c.label)) for c in subs.Contractor]
        return self


def _reason_error(error: DomainError) -> str:
    found = error.problems[0] if error.problems else {"message_ja": error.message_ja, "message_en": error.message_en}
    return found["message_ja" if current_language() == "ja" else "message_en"]


class SubmissionsView(SecureView):
    required_action = subs.READ

    def _list(self, form: OpenForm | None = None):
        rows = subs.submissions(db.session, g.actor)
        today = today_jst()
        if request.args.get("overdue") == "1":
            rows = [row for row in rows if subs.is_overdue(row, today)]
        late = {row.id for row in rows if subs.is_overdue(row, today)}
        return self.render("renkei/submissions.html", rows=rows, late=late, pick=forms.pick, lang=current_language(),
                           format_date=format_date, form=form or OpenForm().fill_choices(),
                           can_open=authz.allowed(g.actor, subs.OPEN), only_overdue=request.args.get("overdue") == "1")

    @expose("/")
    def index(self):
        return self._list()

    @expose("/open", methods=("POST",))
    def open(self):
        form = OpenForm(request.form).fill_choices()

        def opened():
            try:
                return subs.open_submission(db.session, g.actor, kind=form.kind.data, title=form.title.data,
                                            due_on=form.due_on.data, contractor=form.contractor.data,
                                            month=form.month.data or None)
            except DomainError as error:
                apply_problems(form, error)
                raise

        return post_action(opened, saved=_("The document is owed by the contractor from now on."),
                           done=lambda row: redirect(url_for(".detail", submission_id=row.id)),
                           failed=lambda: (self._list(form), 422))

    def _detail(self, submission_id: int, reason: str = "", reason_error: str | None = None,
                submit_error: str | None = None):
        try:
            row = subs.get(db.session, g.actor, submission_id)
        except NotFound:
            abort(404)
        meeting_id = int(row.refers_to.removeprefix("meeting:")) if row.kind is subs.K.minutes else None
        return self.render("renkei/submission.html", row=row, versions=subs.versions_of(db.session, row.id),
                           may=subs.may(db.session, g.actor, row), pick=forms.pick, lang=current_language(),
                           format_date=format_date, when=jst_text, overdue=subs.is_overdue(row, today_jst()),
                           meeting_id=meeting_id, reason=reason, reason_error=reason_error, submit_error=submit_error)

    @expose("/<int:submission_id>")
    def detail(self, submission_id: int):
        return self._detail(submission_id)

    def _back(self, submission_id: int) -> str:
        return url_for(".detail", submission_id=submission_id)

    @expose("/<int:submission_id>/versions/<int:number>")
    def content(self, submission_id: int, number: int):
        try:
            return downloads.submission_file(subs.content(db.session, g.actor, submission_id, number))
        except NotFound:
            abort(404)

    @expose("/<int:submission_id>/submit", methods=("POST",))
    def submit(self, submission_id: int):
        upload = request.files.get("file")
        data = upload.read() if upload is not None and upload.filename else None
        text = request.form.get("text", "")

        def submitted():
            return subs.submit(db.session, g.actor, submission_id, text=text, file=data,
                               filename=upload.filename if data is not None else "")

        try:
            return post_action(submitted, saved=_("The version was submitted to the prefecture for inspection."),
                               back=self._back(submission_id), failed=lambda: (self._detail(submission_id), 422))
        except NotFound:
            abort(404)

    @expose("/<int:submission_id>/approve", methods=("POST",))
    def approve(self, submission_id: int):
        if authz.allowed(g.actor, subs.INSPECT) or authz.allowed(g.actor, "meeting.approve"):
            asked = confirm_first(self, title=_("Approve this version?"),
                                  consequence=_("The version becomes final: no further version can be submitted, and its "
                                                "SHA-256 is recorded in the audit log."),
                                  confirm_label=_("Approve"), back=self._back(submission_id))
            if asked is not None:
                return asked
        return post_action(lambda: subs.approve(db.session, g.actor, submission_id), back=self._back(submission_id),
                           saved=_("The document was approved."))

    @expose("/<int:submission_id>/return", methods=("POST",))
    def give_back(self, submission_id: int):
        typed = request.form.get("reason", "")
        if authz.allowed(g.actor, subs.INSPECT) or authz.allowed(g.actor, "meeting.approve"):
            try:
                subs.return_reason(typed)
            except DomainError as error:
                return self._detail(submission_id, reason=typed, reason_error=_reason_error(error)), 422
            asked = confirm_first(self, title=_("Return this version?"),
                                  consequence=_("The contractor is told the reason and submits a new version; the "
                                                "returned version stays in the history."),
                                  confirm_label=_("Return with the reason"), back=self._back(submission_id))
            if asked is not None:
                return asked
        return post_action(lambda: subs.return_submission(db.session, g.actor, submission_id, typed),
                           back=self._back(submission_id), saved=_("The document was returned to the contractor."))


def views(db_):
    return [SubmissionsView(name=_l("Submitted documents"), endpoint="submissions", url="submissions")]
