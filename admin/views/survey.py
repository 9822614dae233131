"""The consortium's yearly survey (年次アンケート, issue 58 item 5): the desk's page in /admin (the year's questions,
carried from the year before or added; the recipients, every member and the non-members of an imported file; the
answer links sent, asked first; the response rate; the results as xlsx and PDF), and the public answer page
(/survey/<token>): no sign-in, the one-time link from the e-mail. A bad or used link shows a page saying so; a
refused answer comes back with the problem beside its field. The rules are :mod:`secretariat.survey`'s."""

from __future__ import annotations

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for
from flask_admin import expose
from flask_babel import gettext as _, lazy_gettext as _l
from wtforms import RadioField, StringField, TextAreaField

from admin.downloads import attachment
from admin.extensions import db
from admin.problems import status_of, stop_unless_about_fields
from admin.views import operator_forms as forms
from admin.views.base import (MAX_UPLOAD, SecureView, apply_problems, check_csrf, confirm_first, csrf_field, file_line,
                              post_action)
from core import authz
from core.calendar import fiscal_year_ja, fiscal_year_of, is_supported_fiscal_year, today_jst
from core.errors import DomainError, Invalid, problem
from secretariat import member_report, survey
from tenancy.registry.prefecture import consortium_name

TOKEN_MAX = 64  # a link's token is 32 characters; anything much longer is no link of ours

public = Blueprint("survey", __name__, url_prefix="/survey")


def _page(token: str, status: int = 200, **shown):
    return render_template("renkei/survey_answer.html", token=token, csrf_field=csrf_field, **shown), status


@public.get("/<token>")
def answer_form(token: str):
    """What the link opens: the year's questions (a GET changes nothing: mail scanners open links)."""
    if len(token) > TOKEN_MAX:
        return _page(token[:TOKEN_MAX], 404, failure=True)
    try:
        recipient = survey.recipient_of_token(db.session, token)
    except DomainError as error:
        return _page(token, status_of(error), failure=True)
    return _page(token, questions=survey.questions_of(db.session, recipient.fiscal_year), given={}, problems={})


@public.post("/<token>")
def answer_sent(token: str):
    check_csrf()
    if len(token) > TOKEN_MAX:
        return _page(token[:TOKEN_MAX], 404, failure=True)
    given = {key[2:]: request.form.getlist(key) for key in request.form if key.startswith("q_")}
    try:
        survey.answer(db.session, token, given)
    except Invalid as error:
        db.session.rollback()
        recipient = survey.recipient_of_token(db.session, token)
        return _page(token, status_of(error), questions=survey.questions_of(db.session, recipient.fiscal_year),
                     given=given, problems={p["field"]: p for p in error.problems})
    except DomainError as error:
        db.session.rollback()
        return _page(token, status_of(error), failure=True)
    return _page(token, done=True)


# --- the desk's page: /admin/survey/ -------------------------------------------------------------------

class QuestionForm(forms.RenkeiForm):
    key = StringField(_l("Question code"))
    kind = RadioField(_l("Kind of answer"), choices=[], validate_choice=False)
    text = TextAreaField(_l("Survey question"))
    choices = TextAreaField(_l("Choices (one a line)"))

    def fill_choices(self) -> QuestionForm:
        self.kind.choices = [(kind.value, forms.pick(kind.label)) for kind in survey.QuestionKind]
        if self.kind.data is None:
            self.kind.data = survey.QuestionKind.single.value
        return self


def _year() -> int:
    """The fiscal year asked for (``?year=`` or the form's ``year``), this fiscal year if none or not one renkei knows."""
    text = (request.values.get("year") or "").strip()
    year = int(text) if text.isdigit() and len(text) == 4 else fiscal_year_of(today_jst())
    return year if is_supported_fiscal_year(year) else fiscal_year_of(today_jst())


class SurveyView(SecureView):
    required_action = survey.READ

    def _page(self, year: int, form: QuestionForm | None = None, file_problems=(), status: int = 200):
        this_year = fiscal_year_of(today_jst())
        shown = survey.overview(db.session, g.actor, year)
        return self.render("renkei/survey.html", shown=shown, form=form or QuestionForm().fill_choices(),
                           year_ja=fiscal_year_ja, years=range(this_year + 1, this_year - 4, -1),
                           can_manage=authz.allowed(g.actor, survey.MANAGE), file_problems=file_problems,
                           kind_label=lambda kind: forms.pick(kind.label), target=survey.TARGET_RATE,
                           percent=lambda rate: f"{float(rate.rate) * 100:.1f}%",
                           limits={"text": survey.TEXT_MAX, "key": survey.KEY_MAX,
                                   "recipients": survey.MAX_RECIPIENTS}), status

    @expose("/")
    def index(self):
        return self._page(_year())

    @expose("/questions", methods=("POST",))
    def add_question(self):
        year, form = _year(), QuestionForm(request.form).fill_choices()
        choices = tuple(line.strip() for line in (form.choices.data or "").splitlines() if line.strip())

        def add():
            try:
                return survey.add_question(db.session, g.actor, year, (form.key.data or "").strip(),
                                           form.kind.data or "", (form.text.data or "").strip(), choices)
            except DomainError as error:
                apply_problems(form, error)
                raise

        return post_action(add, saved=_("The question was added."),
                           done=lambda _q: redirect(url_for(".index", year=year)),
                           failed=lambda: self._page(year, form, status=422))

    @expose("/carry", methods=("POST",))
    def carry(self):
        year = _year()
        return post_action(lambda: survey.carry_questions(db.session, g.actor, year - 1, year),
                           saved=lambda added: _("%(count)d questions of the year before were added.", count=len(added)),
                           back=url_for(".index", year=year))

    @expose("/members", methods=("POST",))
    def add_members(self):
        year = _year()
        return post_action(lambda: survey.members_as_recipients(db.session, g.actor, year),
                           saved=lambda added: _("%(count)d members were added to the recipients.", count=len(added)),
                           back=url_for(".index", year=year))

    @expose("/import", methods=("POST",))
    def import_file(self):
        year = _year()
        upload = request.files.get("file")
        raw = upload.stream.read(MAX_UPLOAD + 1) if upload is not None and upload.filename else b""
        try:
            if not raw:
                raise Invalid("Choose a file.", "ファイルを選んでください。",
                              problems=[problem("file", "Choose a file.", "ファイルを選んでください。")])
            if len(raw) > MAX_UPLOAD:
                raise Invalid("The file is larger than 20 MB.", "ファイルが 20 MB を超えています。",
                              problems=[problem("file", "The file is larger than 20 MB.", "ファイルが 20 MB を超えています。")])
            added = survey.import_recipients(db.session, g.actor, year, raw)
        except DomainError as error:
            db.session.rollback()
            stop_unless_about_fields(error, ("forbidden",))
            return self._page(year, file_problems=[(file_line(p.get("field", "")), p) for p in error.problems]
                              or [("", {"message_ja": error.message_ja, "message_en": error.message_en})],
                              status=status_of(error))
        flash(_("%(count)d addresses were added to the recipients. Nothing has been sent yet.", count=len(added)))
        return redirect(url_for(".index", year=year))

    @expose("/send", methods=("POST",))
    def send(self):
        year = _year()
        back = url_for(".index", year=year)
        shown = survey.overview(db.session, g.actor, year)
        waiting = shown.members + shown.others - shown.answered
        confirmation = confirm_first(
            self, title=_("Send the answer links?"),
            consequence=_("One e-mail with a one-time link is queued for each of the %(count)d recipients who have "
                          "not answered. A link sent before stops working. Sending cannot be taken back.",
                          count=waiting),
            confirm_label=_("Send"), back=back)
        if confirmation is not None:
            return confirmation
        return post_action(lambda: survey.send_links(db.session, g.actor, year,
                                                     lambda token: url_for("survey.answer_form", token=token,
                                                                           _external=True)),
                           saved=lambda sent: _("%(count)d e-mails were queued in the outbox.", count=sent), back=back)

    @expose("/results.<fmt>")
    def results(self, fmt: str):
        if fmt not in ("xlsx", "pdf"):
            abort(404)
        year = _year()
        if fmt == "xlsx":
            data = survey.to_xlsx(db.session, g.actor, year)
        else:
            data = survey.to_pdf(db.session, g.actor, year, consortium_name(db.session))
        return attachment(data, member_report.MEDIA_TYPES[fmt], f"survey-{year}.{fmt}",
                          f"年次アンケート結果_{fiscal_year_ja(year)}.{fmt}")


def views(session):
    return [SurveyView(name=_l("Annual survey"), endpoint="survey_desk", url="survey")]
