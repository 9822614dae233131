"""アドバイザー相談 (issue 58 item 6) in /admin: the secretariat's advisers (fields, hours per month, active; each
changed on its own page), the consultations booked with them (a member's admin books for their own member, the
secretariat picks any approved member by name) and the record of each one's outcome, asked first since it is
final; an outcome left empty is shown beside its field with what was typed. The rules are
:mod:`secretariat.advisers`'s."""

from __future__ import annotations

import datetime as dt

from flask import abort, g, redirect, request, url_for
from flask_admin import expose
from flask_babel import gettext as _, lazy_gettext as _l
from wtforms import BooleanField, DateTimeLocalField, IntegerField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange

from admin.extensions import db
from admin.views import operator_forms as forms
from admin.views.base import SecureView, apply_problems, confirm_first, post_action, typed_id, with_problems_beside_fields
from core import authz
from core.calendar import JST, jst_text
from core.errors import DomainError, NotFound
from secretariat import advisers as adv


class AdviserForm(forms.RenkeiForm):
    name = StringField(_l("Name"), validators=[InputRequired(message=_l("Enter the name.")), Length(max=adv.NAME_MAX)])
    fields = StringField(_l("Fields of expertise"), validators=[InputRequired(message=_l("Enter the fields of expertise.")),
                                                                 Length(max=adv.FIELDS_MAX)])
    monthly_hours = IntegerField(_l("Hours per month"), validators=[
        InputRequired(message=_l("Enter the hours per month.")), NumberRange(min=1, max=adv.MAX_MONTHLY_HOURS)])
    active = BooleanField(_l("Active"), default=True)


class BookingForm(forms.RenkeiForm):
    adviser_id = SelectField(_l("Adviser"), choices=[], validate_choice=False)
    member_number = SelectField(_l("Member organisation"), choices=[], validate_choice=False)
    starts_at = DateTimeLocalField(_l("Date and time"), format="%Y-%m-%dT%H:%M",
                                   validators=[InputRequired(message=_l("Enter the date and time."))])
    hours = IntegerField(_l("Hours"), validators=[InputRequired(message=_l("Enter the hours.")),
                                                  NumberRange(min=1, max=adv.MAX_LENGTH_HOURS)])
    topic = StringField(_l("Topic"), validators=[InputRequired(message=_l("Enter the topic.")), Length(max=adv.TOPIC_MAX)])

    def fill_choices(self) -> BookingForm:
        self.adviser_id.choices = [("", _("(choose)"))] + [
            (str(a.id), f"{a.name}（{a.fields}）") for a in adv.list_advisers(db.session, g.actor, active_only=True)]
        members = adv.bookable_members(db.session, g.actor)
        self.member_number.choices = ([] if len(members) == 1 else [("", _("(choose)"))]) + [
            (number, f"{name}（{number}）") for number, name in members]
        return self

    def booking(self) -> adv.Booking:
        mine = sorted(g.actor.tenant_codes)
        number = (self.member_number.data or "").strip() or (mine[0] if len(mine) == 1 else "")
        return adv.Booking(typed_id(self.adviser_id.data), number, self.starts_at.data.replace(tzinfo=JST),
                           self.hours.data, self.topic.data or "")


class RecordForm(forms.RenkeiForm):
    """The record of one booked consultation: held or not, and what came of it (or why it was not held)."""

    held = SelectField(_l("Held"), choices=[("1", _l("Held")), ("0", _l("Not held"))], validate_choice=False)
    outcome = TextAreaField(_l("Outcome"), validators=[
        DataRequired(message=_l("Enter the outcome, or why it was not held.")), Length(max=adv.OUTCOME_MAX)])


def _when(moment: dt.datetime) -> str:
    return jst_text(moment)


class AdvisersView(SecureView):
    required_action = adv.BOOK

    def _page(self, adviser_form=None, booking_form=None, record_form=None, record_id=None):
        desk = authz.allowed(g.actor, adv.READ)
        mine = sorted(g.actor.tenant_codes)
        rows = adv.consultations(db.session, g.actor) if desk else \
            [c for number in mine for c in adv.consultations(db.session, g.actor, member_number=number)]
        advisers = adv.list_advisers(db.session, g.actor)
        booking_form = booking_form or BookingForm().fill_choices()
        return self.render("renkei/advisers.html", advisers=advisers, rows=rows, names={a.id: a.name for a in advisers},
                           members=dict(adv.bookable_members(db.session, g.actor)),
                           adviser_form=adviser_form or AdviserForm(), booking_form=booking_form,
                           record_form=record_form, record_id=record_id, recordable=_recordable, outcome_max=adv.OUTCOME_MAX,
                           can_manage=authz.allowed(g.actor, adv.MANAGE), desk=desk, when=_when,
                           status={s.value: forms.pick(s.label) for s in adv.ConsultationStatus})

    @expose("/")
    def index(self):
        return self._page()

    @expose("/advisers", methods=("POST",))
    def create_adviser(self):
        form = AdviserForm(request.form)
        if not form.validate():
            return self._page(adviser_form=form), 422

        def create():
            try:
                return adv.create_adviser(db.session, g.actor, adv.AdviserDraft(form.name.data or "", form.fields.data or "",
                                                                                form.monthly_hours.data, form.active.data))
            except DomainError as error:
                apply_problems(form, error)
                raise

        return post_action(create, back=url_for(".index"), saved=_("The adviser was added."),
                           failed=lambda: (self._page(adviser_form=form), 422))

    @expose("/advisers/<int:adviser_id>/edit", methods=("GET", "POST"))
    def edit_adviser(self, adviser_id: int):
        if not authz.allowed(g.actor, adv.MANAGE):
            abort(403)
        try:
            adviser = adv.get_adviser(db.session, g.actor, adviser_id)
        except NotFound:
            abort(404)
        if request.method == "GET":
            return self._edit_page(adviser, AdviserForm(obj=adviser))
        form = AdviserForm(request.form)
        if not form.validate():
            return self._edit_page(adviser, form), 422
        draft = adv.AdviserDraft(form.name.data or "", form.fields.data or "", form.monthly_hours.data, form.active.data)
        return post_action(with_problems_beside_fields(form, lambda: adv.update_adviser(db.session, g.actor, adviser_id, draft)),
                           back=url_for(".index"), saved=_("The adviser was changed."),
                           failed=lambda: (self._edit_page(adviser, form), 422))

    def _edit_page(self, adviser, form):
        return self.render("renkei/adviser_edit.html", adviser=adviser, form=form)

    @expose("/consultations", methods=("POST",))
    def book(self):
        form = BookingForm(request.form).fill_choices()
        if not form.validate():
            return self._page(booking_form=form), 422

        def book():
            try:
                return adv.book(db.session, g.actor, form.booking())
            except DomainError as error:
                apply_problems(form, error)
                raise

        return post_action(book, back=url_for(".index"), saved=_("The consultation was booked."),
                           failed=lambda: (self._page(booking_form=form), 422))

    @expose("/consultations/<int:consultation_id>/record", methods=("POST",))
    def record(self, consultation_id: int):
        form = RecordForm(request.form)

        def again():  # the page, the refused record's row showing what was typed and the problem beside it
            return self._page(record_form=form, record_id=consultation_id), 422

        if not form.validate():
            return again()
        asked = confirm_first(self, title=_("Record the consultation"),
                              consequence=_("The record is final: it cannot be changed afterwards."),
                              confirm_label=_("Record"), back=url_for(".index"))
        if asked is not None:
            return asked
        return post_action(with_problems_beside_fields(form, lambda: adv.record(
            db.session, g.actor, consultation_id, held=form.held.data == "1", outcome=form.outcome.data or "")),
            back=url_for(".index"), saved=_("The consultation was recorded."),
            failed=lambda: again() if form.outcome.errors else redirect(url_for(".index")))


def _recordable(consultation: adv.Consultation) -> bool:
    """Whether the table still lets the consultation be recorded (the page offers the form only then)."""
    return bool(adv.CONSULTATIONS.moves_from(consultation.status))


def views(session):
    return [AdvisersView(name=_l("Advisers and consultations"), endpoint="advisers", url="advisers")]
