"""スマートシティサービス (issue 57 item 5) in /admin: the register of services found (status moved by buttons the
table allows, withdrawing asked first), the workshops' ideas (proposer a member picked by name or written; the needs
they answer picked), the fiscal year's target of services found with its progress, and the municipalities' needs
(each municipality answers its own; the desk reads every one). A refused form comes back with what was typed and the
problem beside its field. The rules are :mod:`secretariat.smart_services`'s."""

from __future__ import annotations

from flask import abort, g, redirect, request, url_for
from flask_admin import expose
from flask_babel import gettext as _, lazy_gettext as _l
from wtforms import DateField, SelectField, SelectMultipleField, StringField, TextAreaField
from wtforms.validators import InputRequired, Length

from admin.extensions import db
from admin.i18n import format_date, format_fiscal_year
from admin.views import operator_forms as forms
from admin.views.base import (SecureView, confirm_first, post_action, query_fiscal_year, tenants_for, typed_id,
                              typed_number, with_problems_beside_fields)
from core import authz
from core.calendar import fiscal_year_of, is_supported_fiscal_year, today_jst
from core.errors import NotFound
from secretariat import smart_services as ss


def _locale() -> str:
    return "ja" if forms.ja() else "en"


def _year_label(year: int) -> str:
    return format_fiscal_year(year, _locale())


def _years(around: int) -> list[tuple[str, str]]:
    return [(str(year), _year_label(year)) for year in range(around + 1, around - 6, -1)]


def _labelled(enum_cls) -> list[tuple[str, str]]:
    return [("", _("(choose)"))] + [(member.value, forms.pick(member.label)) for member in enum_cls]


def _day(day) -> str:
    return format_date(day, _locale())


class ServiceForm(forms.RenkeiForm):
    name = StringField(_l("Service name"), validators=[InputRequired(message=_l("Enter the service name.")),
                                                       Length(max=ss.NAME_MAX)])
    summary = TextAreaField(_l("Summary"), validators=[Length(max=ss.TEXT_MAX)])
    field = SelectField(_l("Field"), choices=[], validate_choice=False)
    scope = SelectField(_l("Scope"), choices=[], validate_choice=False)
    found_on = DateField(_l("Day found"), validators=[InputRequired(message=_l("Enter the day found."))])
    idea_ids = SelectMultipleField(_l("Ideas it came from"), choices=[], validate_choice=False)

    def fill_choices(self, ideas) -> ServiceForm:
        self.field.choices, self.scope.choices = _labelled(ss.ServiceField), _labelled(ss.ServiceScope)
        self.idea_ids.choices = [(str(i.id), i.title) for i in ideas]
        return self

    def draft(self) -> ss.ServiceDraft:
        return ss.ServiceDraft(self.name.data or "", self.summary.data or "", self.field.data or "", self.scope.data or "",
                               self.found_on.data, tuple(filter(None, map(typed_id, self.idea_ids.data or []))))


class IdeaForm(forms.RenkeiForm):
    title = StringField(_l("Idea"), validators=[InputRequired(message=_l("Enter the idea.")), Length(max=ss.NAME_MAX)])
    description = TextAreaField(_l("Description"), validators=[Length(max=ss.TEXT_MAX)])
    workshop = StringField(_l("Workshop"), validators=[Length(max=ss.WORKSHOP_MAX)])
    proposed_on = DateField(_l("Day proposed"), validators=[InputRequired(message=_l("Enter the day proposed."))])
    proposer_number = SelectField(_l("Proposer (member organisation)"), choices=[], validate_choice=False)
    proposer_name = StringField(_l("Proposer (other than a member)"), validators=[Length(max=ss.NAME_MAX)])
    need_ids = SelectMultipleField(_l("Needs it answers"), choices=[], validate_choice=False)

    def fill_choices(self, members, needs, tenant_names) -> IdeaForm:
        self.proposer_number.choices = [("", _("(not a member)"))] + [(number, name) for number, name in members]
        self.need_ids.choices = [(str(n.id), f"{tenant_names.get(n.tenant_code, n.tenant_code)}: {n.title}"
                                             f"（{_year_label(n.fiscal_year)}）") for n in needs]
        return self

    def draft(self) -> ss.IdeaDraft:
        return ss.IdeaDraft(self.title.data or "", self.description.data or "", self.workshop.data or "",
                            self.proposed_on.data, self.proposer_number.data or "", self.proposer_name.data or "",
                            tuple(filter(None, map(typed_id, self.need_ids.data or []))))


class MoveForm(forms.RenkeiForm):
    move = SelectField(_l("What to do"), choices=[], validate_choice=False)
    reason = StringField(_l("Reason"), validators=[Length(max=ss.REASON_MAX)])


class NeedForm(forms.RenkeiForm):
    tenant_code = SelectField(_l("Municipality"), choices=[], validate_choice=False)
    fiscal_year = SelectField(_l("Fiscal year"), choices=[], validate_choice=False)
    field = SelectField(_l("Field"), choices=[], validate_choice=False)
    title = StringField(_l("Issue or need"), validators=[InputRequired(message=_l("Enter the issue or need.")),
                                                         Length(max=ss.NAME_MAX)])
    detail = TextAreaField(_l("Detail"), validators=[Length(max=ss.TEXT_MAX)])

    def fill_choices(self, year: int) -> NeedForm:
        mine = tenants_for(ss.NEED_ANSWER)
        self.tenant_code.choices = ([] if len(mine) == 1 else [("", _("(choose)"))]) + mine
        self.fiscal_year.choices = _years(year)
        self.field.choices = _labelled(ss.ServiceField)
        return self

    def draft(self) -> ss.NeedDraft:
        return ss.NeedDraft(self.tenant_code.data or "", typed_number(self.fiscal_year.data), self.field.data or "",
                            self.title.data or "", self.detail.data or "")


def _tenant_names() -> dict[str, str]:
    from tenancy.registry.models import Tenant

    return {code: (ja if forms.ja() else (en or ja)) for code, ja, en in
            db.session.query(Tenant.code, Tenant.name_ja, Tenant.name_en)}


def _moves(lifecycle, status) -> list[tuple[str, str]]:
    return [(move.name, forms.pick((move.label_ja, move.label_en))) for move in lifecycle.moves_from(status)]


class SmartServicesView(SecureView):
    required_action = ss.READ

    def _year(self) -> int:
        return query_fiscal_year("fiscal_year", fiscal_year_of(today_jst()))

    def _page(self, year: int | None = None, service_form=None, idea_form=None, move_form=None, move_key=None,
              target_error=None):
        year = year or self._year()
        services, ideas = ss.list_services(db.session, g.actor), ss.list_ideas(db.session, g.actor)
        needs = ss.list_needs(db.session, g.actor)
        names = _tenant_names()
        members = ss.proposer_members(db.session, g.actor)
        return self.render(
            "renkei/smart_services.html", year=year, years=_years(fiscal_year_of(today_jst())), year_label=_year_label,
            progress=ss.progress_of(db.session, g.actor, year), services=services, ideas=ideas, needs={n.id: n for n in needs},
            idea_titles={i.id: i.title for i in ideas}, service_ideas=ss.idea_links(db.session, [s.id for s in services]),
            idea_needs=ss.need_links(db.session, [i.id for i in ideas]), tenant_names=names,
            service_form=service_form or ServiceForm().fill_choices(ideas),
            idea_form=idea_form or IdeaForm().fill_choices(members, needs, names),
            move_form=move_form, move_key=move_key, target_error=target_error,
            service_moves=lambda s: _moves(ss.SERVICES, s.status), idea_moves=lambda i: _moves(ss.IDEAS, i.stage),
            can_manage=authz.allowed(g.actor, ss.MANAGE), can_target=authz.allowed(g.actor, ss.TARGET),
            label=forms.pick, day=_day, target_max=ss.MAX_TARGET, reason_max=ss.REASON_MAX)

    @expose("/")
    def index(self):
        return self._page()

    @expose("/target", methods=("POST",))
    def target(self):
        year = typed_number(request.form.get("fiscal_year"))
        target = typed_number(request.form.get("target"))
        back = url_for(".index", fiscal_year=year) if year and is_supported_fiscal_year(year) else url_for(".index")
        return post_action(lambda: ss.set_target(db.session, g.actor, year, target), back=back,
                           saved=_("The target was saved."))

    @expose("/services", methods=("POST",))
    def create_service(self):
        form = ServiceForm(request.form).fill_choices(ss.list_ideas(db.session, g.actor))
        if not form.validate():
            return self._page(service_form=form), 422
        return post_action(with_problems_beside_fields(form, lambda: ss.create_service(db.session, g.actor, form.draft())),
                           back=url_for(".index"), saved=_("The service was registered."),
                           failed=lambda: (self._page(service_form=form), 422))

    @expose("/services/<int:smart_service_id>/edit", methods=("GET", "POST"))
    def edit_service(self, smart_service_id: int):
        if not authz.allowed(g.actor, ss.MANAGE):
            abort(403)
        try:
            service = ss.get_service(db.session, g.actor, smart_service_id)
        except NotFound:
            abort(404)
        ideas = ss.list_ideas(db.session, g.actor)
        if request.method == "GET":
            form = ServiceForm(obj=service).fill_choices(ideas)
            form.field.data, form.scope.data = service.field.value, service.scope.value
            form.idea_ids.data = [str(i) for i in ss.idea_ids_of(db.session, service.id)]
            return self._edit("renkei/smart_service_edit.html", service, form)
        form = ServiceForm(request.form).fill_choices(ideas)
        if not form.validate():
            return self._edit("renkei/smart_service_edit.html", service, form), 422
        return post_action(with_problems_beside_fields(form, lambda: ss.update_service(db.session, g.actor, smart_service_id,
                                                                                       form.draft())),
                           back=url_for(".index"), saved=_("The service was changed."),
                           failed=lambda: (self._edit("renkei/smart_service_edit.html", service, form), 422))

    def _edit(self, template, subject, form):
        return self.render(template, subject=subject, form=form)

    def _move(self, kind: str, subject_id: int, lifecycle, operation, final_moves: set[str]):
        form = MoveForm(request.form)
        form.move.choices = [(name, name) for name in lifecycle.moves]

        def again():
            return self._page(move_form=form, move_key=(kind, subject_id)), 422

        if not form.validate():
            return again()
        if form.move.data in final_moves:
            asked = confirm_first(self, title=_("Withdraw the service or drop the idea"),
                                  consequence=_("A withdrawn service or a dropped idea cannot be moved again."),
                                  confirm_label=_("Withdraw or drop"), back=url_for(".index"))
            if asked is not None:
                return asked
        return post_action(with_problems_beside_fields(form, lambda: operation(
            db.session, g.actor, subject_id, form.move.data or "", form.reason.data or "")),
            back=url_for(".index"), saved=_("The change was saved."),
            failed=lambda: again() if form.reason.errors or form.move.errors else redirect(url_for(".index")))

    @expose("/services/<int:smart_service_id>/move", methods=("POST",))
    def move_service(self, smart_service_id: int):
        return self._move("service", smart_service_id, ss.SERVICES, ss.move_service, {"withdraw"})

    @expose("/ideas", methods=("POST",))
    def create_idea(self):
        form = self._idea_form(request.form)
        if not form.validate():
            return self._page(idea_form=form), 422
        return post_action(with_problems_beside_fields(form, lambda: ss.create_idea(db.session, g.actor, form.draft())),
                           back=url_for(".index"), saved=_("The idea was recorded."),
                           failed=lambda: (self._page(idea_form=form), 422))

    def _idea_form(self, data=None, obj=None) -> IdeaForm:
        return IdeaForm(data, obj=obj).fill_choices(ss.proposer_members(db.session, g.actor),
                                                    ss.list_needs(db.session, g.actor), _tenant_names())

    @expose("/ideas/<int:idea_id>/edit", methods=("GET", "POST"))
    def edit_idea(self, idea_id: int):
        if not authz.allowed(g.actor, ss.MANAGE):
            abort(403)
        try:
            idea = ss.get_idea(db.session, g.actor, idea_id)
        except NotFound:
            abort(404)
        if request.method == "GET":
            form = self._idea_form(obj=idea)
            form.need_ids.data = [str(i) for i in ss.need_ids_of(db.session, idea.id)]
            if idea.proposer_number:
                form.proposer_name.data = ""
            return self._edit("renkei/smart_idea_edit.html", idea, form)
        form = self._idea_form(request.form)
        if not form.validate():
            return self._edit("renkei/smart_idea_edit.html", idea, form), 422
        return post_action(with_problems_beside_fields(form, lambda: ss.update_idea(db.session, g.actor, idea_id, form.draft())),
                           back=url_for(".index"), saved=_("The idea was changed."),
                           failed=lambda: (self._edit("renkei/smart_idea_edit.html", idea, form), 422))

    @expose("/ideas/<int:idea_id>/move", methods=("POST",))
    def move_idea(self, idea_id: int):
        return self._move("idea", idea_id, ss.IDEAS, ss.move_idea, {"drop"})


class MunicipalNeedsView(SecureView):
    required_action = ss.NEED_READ

    def _page(self, form=None):
        this_year = fiscal_year_of(today_jst())
        year = query_fiscal_year("fiscal_year", this_year)
        grant = authz.authorize(g.actor, ss.NEED_ANSWER) if authz.allowed(g.actor, ss.NEED_ANSWER) else None
        return self.render("renkei/municipal_needs.html", year=year, years=_years(this_year), year_label=_year_label,
                           needs=ss.list_needs(db.session, g.actor, fiscal_year=year), tenant_names=_tenant_names(),
                           form=form or self._form(year), can_answer=grant is not None,
                           answers_for=(lambda code: grant is not None and grant.covers(code)), label=forms.pick)

    def _form(self, year: int, data=None, obj=None) -> NeedForm:
        form = NeedForm(data, obj=obj).fill_choices(year)
        if data is None and obj is None:
            form.fiscal_year.data = str(year)
        return form

    @expose("/")
    def index(self):
        return self._page()

    @expose("/", methods=("POST",))
    def create(self):
        form = self._form(fiscal_year_of(today_jst()), request.form)
        if not form.validate():
            return self._page(form), 422
        return post_action(with_problems_beside_fields(form, lambda: ss.record_need(db.session, g.actor, form.draft())),
                           back=url_for(".index", fiscal_year=typed_number(form.fiscal_year.data) or None),
                           saved=_("The issue or need was saved."), failed=lambda: (self._page(form), 422))

    @expose("/<int:need_id>/edit", methods=("GET", "POST"))
    def edit(self, need_id: int):
        try:
            need = ss.get_need(db.session, g.actor, need_id)
        except NotFound:
            abort(404)
        if not authz.allowed(g.actor, ss.NEED_ANSWER, need.tenant_code):
            abort(403)
        if request.method == "GET":
            form = self._form(need.fiscal_year, obj=need)
            form.fiscal_year.data, form.field.data = str(need.fiscal_year), need.field.value
            return self.render("renkei/municipal_need_edit.html", need=need, form=form, tenant_names=_tenant_names())
        form = self._form(need.fiscal_year, request.form)
        form.tenant_code.data = need.tenant_code  # an answer stays its municipality's

        def again():
            return self.render("renkei/municipal_need_edit.html", need=need, form=form, tenant_names=_tenant_names()), 422

        if not form.validate():
            return again()
        return post_action(with_problems_beside_fields(form, lambda: ss.update_need(db.session, g.actor, need_id, form.draft())),
                           back=url_for(".index", fiscal_year=need.fiscal_year), saved=_("The issue or need was changed."),
                           failed=again)


def views(session):
    return [SmartServicesView(name=_l("Smart-city services"), endpoint="smart_services", url="smart-services"),
            MunicipalNeedsView(name=_l("Municipalities' issues and needs"), endpoint="municipal_needs",
                               url="municipal-needs")]
