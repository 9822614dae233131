"""アドバイザー相談 (issue 58 item 6) in /admin: the secretariat's advisers (fields, hours per month), the
consultations booked with them (a member's admin books for their own member, the secretariat for any) and
the record of each one's outcome, asked first since it is final. The rules are :mod:`secretariat.advisers`'s."""

from __future__ import annotations

import datetime as dt

from flask import g, request, url_for
from flask_admin import expose
from flask_babel import gettext as _, lazy_gettext as _l
from wtforms import BooleanField, DateTimeLocalField, IntegerField, SelectField, StringField
from wtforms.validators import InputRequired, Length, NumberRange

from admin.extensions import db
from admin.views import operator_forms as forms
from admin.views.base import SecureView, apply_problems, confirm_first, post_action, typed_id
from core import authz
from core.calendar import JST
from core.errors import DomainError
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
    member_number = StringField(_l("Member (corporate number)"), validators=[Length(max=13)])
    starts_at = DateTimeLocalField(_l("Date and time"), format="%Y-%m-%dT%H:%M",
                                   validators=[InputRequired(message=_l("Enter the date and time."))])
    hours = IntegerField(_l("Hours"), validators=[InputRequired(message=_l("Enter the hours.")),
                                                  NumberRange(min=1, max=adv.MAX_LENGTH_HOURS)])
    topic = StringField(_l("Topic"), validators=[InputRequired(message=_l("Enter the topic.")), Length(max=adv.TOPIC_MAX)])

    def fill_choices(self) -> BookingForm:
        self.adviser_id.choices = [("", _("(choose)"))] + [
            (str(a.id), f"{a.name}（{a.fields}）") for a in adv.list_advisers(db.session, g.actor, active_only=True)]
        return self

    def booking(self) -> adv.Booking:
        mine = sorted(g.actor.tenant_codes)
        number = (self.member_number.data or "").strip() or (mine[0] if len(mine) == 1 else "")
        return adv.Booking(typed_id(self.adviser_id.data), number, self.starts_at.data.replace(tzinfo=JST),
                           self.hours.data, self.topic.data or "")


def _when(moment: dt.datetime) -> str:
    return f"{moment.astimezone(JST):%Y-%m-%d %H:%M}"


class AdvisersView(SecureView):
    required_action = adv.BOOK

    def _page(self, adviser_form=None, booking_form=None):
        desk = authz.allowed(g.actor, adv.READ)
        mine = sorted(g.actor.tenant_codes)
        rows = adv.consultations(db.session, g.actor) if desk else \
            [c for number in mine for c in adv.consultations(db.session, g.actor, member_number=number)]
        names = {a.id: a.name for a in adv.list_advisers(db.session, g.actor)}
        return self.render("renkei/advisers.html", advisers=adv.list_advisers(db.session, g.actor), rows=rows, names=names,
                           adviser_form=adviser_form or AdviserForm(), booking_form=booking_form or BookingForm().fill_choices(),
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
        held = request.form.get("held") == "1"
        asked = confirm_first(self, title=_("Record the consultation"),
                              consequence=_("The record is final: it cannot be changed afterwards."),
                              confirm_label=_("Record"), back=url_for(".index"))
        if asked is not None:
            return asked
        return post_action(lambda: adv.record(db.session, g.actor, consultation_id, held=held,
                                              outcome=request.form.get("outcome", "")),
                           back=url_for(".index"), saved=_("The consultation was recorded."))


def views(session):
    return [AdvisersView(name=_l("Advisers and consultations"), endpoint="advisers", url="advisers")]
