"""会員専用サイト (the members' site, issue 58 item 2) in /admin, for signed-in members' people: the solution register
(search by words, category and industry; a member's own solutions listed, changed and withdrawn, asked first), the
member directory (what each member publishes of itself), the archive of past events, and the notices for members.
Anonymous visitors are sent to sign in (the secure base view); a refused form comes back with what was typed and the
problem beside its field. The rules are :mod:`secretariat.solutions`', :func:`secretariat.events.event_archive`'s,
:func:`tenancy.members.operations.member_directory`'s and :mod:`governance.notices`'."""

from __future__ import annotations

from flask import abort, g, redirect, request, url_for
from flask_admin import expose
from flask_babel import gettext as _, lazy_gettext as _l
from wtforms import SelectField, SelectMultipleField, StringField, TextAreaField
from wtforms.validators import InputRequired, Length

from admin.extensions import db
from admin.i18n import format_date
from admin.views import operator_forms as forms
from admin.views.base import SecureView, confirm_first, post_action, typed_id, with_problems_beside_fields
from core import authz
from core.calendar import jst_text
from core.codes import INDUSTRY_MAJOR_GROUPS
from core.errors import NotFound
from core.search import MAX_QUERY
from governance import meetings, notices
from secretariat import events
from secretariat import solutions as sol
from tenancy.members import operations as members
from tenancy.members.models import OrganisationKind


def _industries(empty: str) -> list[tuple[str, str]]:
    return [("", empty)] + [(letter, f"{letter} {forms.pick(pair)}") for letter, pair in INDUSTRY_MAJOR_GROUPS.items()]


def _categories() -> list[tuple[str, str]]:
    return [(c.value, forms.pick(c.label)) for c in sol.SolutionCategory]


class SolutionForm(forms.RenkeiForm):
    title = StringField(_l("Solution name"), validators=[InputRequired(message=_l("Enter the solution name.")),
                                                         Length(max=sol.TITLE_MAX)])
    description = TextAreaField(_l("Outline of the solution"), validators=[InputRequired(message=_l("Enter the outline of the solution.")),
                                                               Length(max=sol.TEXT_MAX)])
    categories = SelectMultipleField(_l("Categories"), choices=[], validate_choice=False)
    need_ids = SelectMultipleField(_l("Municipalities' needs it answers"), choices=[], validate_choice=False)
    contact_name = StringField(_l("Contact person"), validators=[InputRequired(message=_l("Enter the contact person.")),
                                                                 Length(max=sol.CONTACT_MAX)])
    contact_email = StringField(_l("Contact e-mail address"), validators=[
        InputRequired(message=_l("Enter the contact e-mail address.")), Length(max=sol.EMAIL_MAX)])
    corporate_number = SelectField(_l("Member organisation"), choices=[], validate_choice=False)

    def fill_choices(self) -> SolutionForm:
        self.categories.choices = _categories()
        self.need_ids.choices = [(str(need_id), label) for need_id, label in sol.answerable_needs(db.session, g.actor)]
        mine = sorted(g.actor.tenant_codes)
        self.corporate_number.choices = [(number, number) for number in mine]
        return self

    def draft(self) -> sol.SolutionDraft:
        return sol.SolutionDraft(self.title.data or "", self.description.data or "", tuple(self.categories.data or ()),
                                 self.contact_name.data or "", self.contact_email.data or "",
                                 tuple(filter(None, map(typed_id, self.need_ids.data or []))),
                                 (self.corporate_number.data or "").strip())


class WithdrawForm(forms.RenkeiForm):
    reason = TextAreaField(_l("Reason for withdrawing"), validators=[
        InputRequired(message=_l("Enter the reason for withdrawing.")), Length(max=sol.REASON_MAX)])


def _search_args() -> tuple[str, str, str]:
    words = (request.args.get("q") or "")[:MAX_QUERY * 2]
    category = request.args.get("category") or ""
    industry = request.args.get("industry") or ""
    return words, category, industry


class MembersSiteView(SecureView):
    """The solution register: everyone signed in as a member (or the desk) searches; a member's people list theirs."""

    required_action = sol.READ

    def _page(self, form=None, status=200):
        may_list = authz.allowed(g.actor, sol.MANAGE)
        words, category, industry = _search_args()
        problems = sol.search_problems(category, industry)
        found = [] if problems else sol.search_solutions(db.session, g.actor, words=words, category=category or None,
                                                         industry=industry or None)
        own = sol.own_solutions(db.session, g.actor) if may_list else []
        titles = sol.need_titles(db.session, {n for row in found + own for n in row.need_ids})
        current = notices.notices_for(db.session, g.actor) if authz.allowed(g.actor, "notice.read") else []
        form = form if form is not None else (SolutionForm().fill_choices() if may_list else None)
        return self.render("renkei/members_site.html", found=found, own=own, titles=titles, form=form,
                           words=words, category=category, industry=industry,
                           search_errors={p["field"]: forms.pick((p["message_ja"], p["message_en"])) for p in problems},
                           categories=_categories(), industries=_industries(_("(any industry)")),
                           may_list=may_list, notices=current, category_label=lambda c: forms.pick(c.label),
                           status_label=lambda s: forms.pick(s.label),
                           when=lambda d: format_date(d, "ja" if forms.ja() else "en")), (422 if problems else status)

    @expose("/")
    def index(self):
        return self._page()

    @expose("/solutions", methods=("POST",))
    def create(self):
        if not authz.allowed(g.actor, sol.MANAGE):
            abort(403)
        form = SolutionForm(request.form).fill_choices()
        if not form.validate():
            return self._page(form, 422)
        return post_action(with_problems_beside_fields(form, lambda: sol.create_solution(db.session, g.actor, form.draft())),
                           back=url_for(".index"), saved=_("The solution was listed."),
                           failed=lambda: self._page(form, 422))

    def _row(self, solution_id: int) -> sol.SolutionRow:
        try:
            return sol.solution_row(db.session, g.actor, solution_id)
        except NotFound:
            abort(404)

    def _detail_page(self, row: sol.SolutionRow, withdraw_form=None, status=200):
        return self.render("renkei/members_site_solution.html", row=row,
                           titles=sol.need_titles(db.session, set(row.need_ids)),
                           mine=authz.allowed(g.actor, sol.MANAGE, row.solution.corporate_number),
                           withdrawable=sol.SOLUTIONS.allows("withdraw", row.solution.status),
                           withdraw_form=withdraw_form or WithdrawForm(), category_label=lambda c: forms.pick(c.label),
                           status_label=lambda s: forms.pick(s.label)), status

    def _mine(self, solution_id: int) -> sol.SolutionRow:
        row = self._row(solution_id)
        if not authz.allowed(g.actor, sol.MANAGE, row.solution.corporate_number):
            abort(403)
        return row

    @expose("/solutions/<int:solution_id>")
    def detail(self, solution_id: int):
        return self._detail_page(self._row(solution_id))

    @expose("/solutions/<int:solution_id>/edit", methods=("GET", "POST"))
    def edit(self, solution_id: int):
        row = self._mine(solution_id)
        solution = row.solution
        if request.method == "GET":
            form = SolutionForm(obj=solution).fill_choices()
            form.categories.data = [c.value for c in row.categories]
            form.need_ids.data = [str(n) for n in row.need_ids]
            form.corporate_number.data = solution.corporate_number
            return self._edit_page(solution, form)
        form = SolutionForm(request.form).fill_choices()
        if not form.validate():
            return self._edit_page(solution, form, 422)
        return post_action(with_problems_beside_fields(
            form, lambda: sol.update_solution(db.session, g.actor, solution_id, form.draft())),
            back=url_for(".detail", solution_id=solution_id), saved=_("The solution was changed."),
            failed=lambda: self._edit_page(solution, form, 422))

    def _edit_page(self, solution, form, status=200):
        return self.render("renkei/members_site_edit.html", solution=solution, form=form), status

    @expose("/solutions/<int:solution_id>/withdraw", methods=("POST",))
    def withdraw(self, solution_id: int):
        row = self._mine(solution_id)
        form = WithdrawForm(request.form)
        back = url_for(".detail", solution_id=solution_id)
        if not form.validate():
            return self._detail_page(row, form, 422)
        asked = confirm_first(self, title=_("Withdraw the solution"),
                              consequence=_("The solution is no longer shown to other members; it cannot be listed "
                                            "again (list it anew)."), confirm_label=_("Withdraw"), back=back)
        if asked is not None:
            return asked
        return post_action(with_problems_beside_fields(
            form, lambda: sol.withdraw_solution(db.session, g.actor, solution_id, form.reason.data or "")),
            back=url_for(".index"), saved=_("The solution was withdrawn."), failed=lambda: redirect(back))


class MemberDirectoryView(SecureView):
    required_action = "member.directory"

    @expose("/")
    def index(self):
        industry = request.args.get("industry") or ""
        wrong = bool(industry) and industry not in INDUSTRY_MAJOR_GROUPS
        shown = [] if wrong else members.member_directory(db.session, g.actor, industry=industry or None)
        return self.render("renkei/member_directory.html", shown=shown, industry=industry, wrong=wrong,
                           industries=_industries(_("(any industry)")),
                           kind_label=lambda kind: forms.pick(OrganisationKind(kind).label),
                           industry_label=lambda letter: forms.pick(INDUSTRY_MAJOR_GROUPS[letter])
                           if letter in INDUSTRY_MAJOR_GROUPS else ""), (422 if wrong else 200)


class EventArchiveView(SecureView):
    required_action = "event.archive"

    @expose("/")
    def index(self):
        return self.render("renkei/event_archive.html", past=events.event_archive(db.session, g.actor),
                           minutes=meetings.archived_minutes(db.session, g.actor),
                           when=jst_text, kind_label=lambda kind: forms.pick(kind.label))


def views(session):
    return [MembersSiteView(name=_l("Solutions (members' site)"), endpoint="members_site", url="members-site"),
            MemberDirectoryView(name=_l("Member directory"), endpoint="member_directory", url="member-directory"),
            EventArchiveView(name=_l("Event archive"), endpoint="event_archive", url="event-archive")]
