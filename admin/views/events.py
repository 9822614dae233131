"""イベント・セミナー・研修 (events): the secretariat's pages (the year's events against the targets, one
event with its registrations, attendance and archive link), signed-in registration for members' and staff
events (「参加できるイベント」), and the public registration for open events (/events/, no account; CSRF, a
honeypot and the domain's limit per address). The rules are secretariat/events.py's."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from flask import Blueprint, abort, current_app, g, redirect, render_template, request, url_for
from flask_admin import expose
from flask_babel import gettext as _, lazy_gettext as _l
from wtforms import DateTimeLocalField, IntegerField, SelectField, StringField, TextAreaField
from wtforms.validators import InputRequired, Length, NumberRange, Optional

from admin.extensions import db
from admin.problems import status_of
from admin.views import operator_forms as forms
from admin.views.base import (SecureView, apply_problems, check_csrf, csrf_field, post_action, query_fiscal_year,
                              typed_id, typed_number)
from core import authz
from core.calendar import JST, fiscal_year_label, fiscal_year_of, jst_text, today_jst
from core.errors import DomainError
from secretariat import events as ev
from secretariat.groups import Group


class EventForm(forms.RenkeiForm):
    kind = SelectField(_l("Kind"), choices=[], validate_choice=False)
    title = StringField(_l("Title"), validators=[InputRequired(message=_l("Enter a title.")), Length(max=200)])
    starts_at = DateTimeLocalField(_l("Starts"), format="%Y-%m-%dT%H:%M",
                                   validators=[InputRequired(message=_l("Enter when it starts."))])
    ends_at = DateTimeLocalField(_l("Ends"), format="%Y-%m-%dT%H:%M",
                                 validators=[InputRequired(message=_l("Enter when it ends."))])
    capacity = IntegerField(_l("Capacity"), validators=[InputRequired(message=_l("Enter the capacity.")),
                                                        NumberRange(min=1, max=100_000)])
    audience = SelectField(_l("Audience"), choices=[], validate_choice=False)
    place = StringField(_l("Place"), validators=[Length(max=200)])
    online_url = StringField(_l("Online link"), validators=[Length(max=500)])
    description = TextAreaField(_l("Description"), validators=[Optional(), Length(max=8000)])
    group_id = SelectField(_l("Group"), choices=[], validate_choice=False)

    def fill_choices(self) -> EventForm:
        self.kind.choices = [(k.value, forms.pick(k.label)) for k in ev.EventKind]
        self.audience.choices = [(k.value, forms.pick(k.label)) for k in ev.Audience]
        self.group_id.choices = [("", _("(none)"))] + [
            (str(row.id), row.name) for row in db.session.scalars(sa.select(Group).order_by(Group.name))]
        return self

    def draft(self) -> ev.EventDraft:
        return ev.EventDraft(kind=self.kind.data or "", title=self.title.data or "",
                             starts_at=self.starts_at.data.replace(tzinfo=JST),
                             ends_at=self.ends_at.data.replace(tzinfo=JST), capacity=self.capacity.data,
                             audience=self.audience.data or "", place=self.place.data or "",
                             online_url=self.online_url.data or "", description=self.description.data or "",
                             group_id=typed_id(self.group_id.data))


def labels() -> dict:
    return {name: {member.value: forms.pick(member.label) for member in enum_cls} for name, enum_cls in (
        ("kind", ev.EventKind), ("audience", ev.Audience), ("registration", ev.RegistrationStatus))}


def _when(moment: dt.datetime) -> str:
    return jst_text(moment)


def _fiscal_year() -> int:
    return query_fiscal_year("fiscal_year", fiscal_year_of(today_jst()))


class EventsView(SecureView):
    required_action = "event.read"

    def _page(self, form):
        year = _fiscal_year()
        return self.render("renkei/events.html", form=form, year=year, year_label=fiscal_year_label(year),
                           rows=ev.list_events(db.session, g.actor, fiscal_year=year), when=_when,
                           figures=ev.year_figures(db.session, g.actor, year), labels=labels(),
                           can_manage=authz.allowed(g.actor, "event.manage"))

    @expose("/")
    def index(self):
        return self._page(EventForm().fill_choices())

    @expose("/create", methods=("POST",))
    def create(self):
        form = EventForm(request.form).fill_choices()
        if not form.validate():
            return self._page(form)

        def create():
            try:
                return ev.create_event(db.session, g.actor, form.draft())
            except DomainError as error:
                apply_problems(form, error)
                raise

        return post_action(create, saved=_("Saved."), done=lambda row: redirect(url_for(".detail", event_id=row.id)),
                           failed=lambda: self._page(form))

    @expose("/targets", methods=("POST",))
    def targets(self):
        year = _fiscal_year()

        def number(name: str) -> int:
            number = typed_number(request.form.get(name), high=9_999_999)
            return -1 if number is None else number

        return post_action(lambda: [ev.set_target(db.session, g.actor, year, kind.value, number(f"events_{kind.value}"),
                                                  number(f"attendance_{kind.value}")) for kind in ev.EventKind],
                           back=url_for(".index", fiscal_year=year), saved=_("Saved."))

    @expose("/<int:event_id>")
    def detail(self, event_id: int):
        try:
            event = ev.get_event(db.session, event_id)
            figures = ev.event_figures(db.session, g.actor, event_id)
        except DomainError as error:
            abort(status_of(error))
        manage = authz.allowed(g.actor, "event.manage")
        return self.render("renkei/event_detail.html", event=event, figures=figures, labels=labels(), when=_when,
                           group=db.session.get(Group, event.group_id) if event.group_id else None,
                           registrations=ev.registrations_of(db.session, g.actor, event_id) if manage else [],
                           can_manage=manage, begun=event.starts_at.astimezone(JST).date() <= today_jst(),
                           values=request.form)

    def _back(self, event_id: int) -> str:
        return url_for(".detail", event_id=event_id)

    @expose("/<int:event_id>/register", methods=("POST",))
    def register(self, event_id: int):
        who = ev.Registrant(*(request.form.get(name, "") for name in ("name", "email", "organisation_name",
                                                                       "corporate_number")))
        return post_action(lambda: ev.register(db.session, g.actor, event_id, who), back=self._back(event_id),
                           saved=lambda row: _("Registered: %(status)s.", status=labels()["registration"][row.status.value]))

    @expose("/registrations/<int:registration_id>/cancel", methods=("POST",))
    def cancel(self, registration_id: int):
        back = typed_id(request.form.get("event_id"))
        target = self._back(back) if back is not None else url_for(".index")
        return post_action(lambda: ev.cancel(db.session, g.actor, registration_id), back=target,
                           saved=lambda done: _("Cancelled.") + (" " + _("%(name)s moved up from the waiting list.",
                                                                          name=done[1].name) if done[1] else ""))

    @expose("/<int:event_id>/attendance", methods=("POST",))
    def attendance(self, event_id: int):
        ids = {number for value in request.form.getlist("attended") if (number := typed_id(value)) is not None}
        return post_action(lambda: ev.record_attendance(db.session, g.actor, event_id, ids), back=self._back(event_id),
                           saved=lambda count: _("Attendance recorded: %(count)s came.", count=count))

    @expose("/<int:event_id>/archive", methods=("POST",))
    def archive(self, event_id: int):
        return post_action(lambda: ev.set_archive(db.session, g.actor, event_id, request.form.get("archive_url", "")),
                           back=self._back(event_id), saved=_("Saved."))


class MyEventsView(SecureView):
    """Events a signed-in person may register for (their audience), with their own registrations."""

    required_action = "event.register"

    @expose("/")
    def index(self):
        rows = ev.events_open_to(db.session, g.actor)
        return self.render("renkei/events_mine.html", rows=rows, mine=ev.my_registrations(db.session, g.actor),
                           labels=labels(), when=_when, name=g.actor.name)

    @expose("/<int:event_id>/register", methods=("POST",))
    def register(self, event_id: int):
        who = ev.Registrant(request.form.get("name", ""), request.form.get("email", ""),
                            request.form.get("organisation_name", ""))
        return post_action(lambda: ev.register(db.session, g.actor, event_id, who), back=url_for(".index"),
                           saved=lambda row: _("Registered: %(status)s.", status=labels()["registration"][row.status.value]))

    @expose("/registrations/<int:registration_id>/cancel", methods=("POST",))
    def cancel(self, registration_id: int):
        return post_action(lambda: ev.cancel(db.session, g.actor, registration_id), back=url_for(".index"),
                           saved=_("Cancelled."))


def views(session):
    return [EventsView(name=_l("Events and training"), endpoint="events", url="events"),
            MyEventsView(name=_l("Events to join"), endpoint="my_events", url="my-events")]


# --- the public registration for open events --------------------------------------------------------

public = Blueprint("events_public", __name__, url_prefix="/events")


def _public(event_id: int | None = None, errors: dict | None = None, values: dict | None = None,
            message: str | None = None, done=None, status: int = 200):
    return render_template("renkei/events_public.html", rows=ev.open_events(db.session), when=_when,
                           labels=labels(), errors=errors or {}, values=values or {}, message=message,
                           chosen=event_id, done=done, csrf_field=csrf_field, honeypot=forms.HONEYPOT), status


@public.get("/")
def public_list():
    return _public()


@public.post("/<int:event_id>")
def public_register(event_id: int):
    check_csrf()
    if request.form.get(forms.HONEYPOT):
        abort(400)  # a robot filled the field people never see
    values = {name: (request.form.get(name) or "") for name in ("name", "email", "organisation_name", "corporate_number")}
    try:
        row = ev.register_public(db.session, event_id, ev.Registrant(**values), source_ip=request.remote_addr or "",
                                 request_id=getattr(g, "request_id", None),
                                 hourly_limit=int(current_app.config.get("RENKEI_PUBLIC_FORM_HOURLY_LIMIT", 5)))
    except DomainError as error:
        db.session.rollback()
        errors = {p["field"]: forms.pick((p["message_ja"], p["message_en"])) for p in error.problems if p.get("field")}
        return _public(event_id, errors, values, forms.pick((error.message_ja, error.message_en)), status=status_of(error))
    return _public(done=row)
