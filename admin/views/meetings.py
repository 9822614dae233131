"""会議・議事録 (meetings and minutes) and コミュニティ・ワーキンググループ (groups): the secretariat's pages.
A meeting is recorded with pickers (organisations, decided proposals); its minutes are written or attached,
approved by another person and published (confirmed first). The rules are governance/meetings.py's and
secretariat/groups.py's."""

from __future__ import annotations

import dataclasses
import datetime as dt

import sqlalchemy as sa
from flask import abort, g, redirect, request, url_for
from flask_admin import expose
from flask_babel import gettext as _, lazy_gettext as _l
from wtforms import DateTimeLocalField, IntegerField, SelectField, SelectMultipleField, StringField, TextAreaField
from wtforms.validators import InputRequired, Length, NumberRange, Optional

from admin.downloads import minutes_pdf
from admin.extensions import db
from admin.i18n import current_language, format_date
from admin.problems import status_of
from admin.views import operator_forms as forms
from admin.views.base import (SecureView, apply_problems, confirm_first, post_action, typed_id, typed_number,
                               with_problems_beside_fields)
from core import authz
from core.calendar import JST, jst_text
from core.errors import DomainError
from governance import council, meetings, submissions
from secretariat import events as ev, groups
from tenancy.members.models import MemberStatus, Organisation
from tenancy.registry.models import Tenant

AGENDA_ROWS = 5


def _when(moment: dt.datetime) -> str:
    return jst_text(moment)


class MeetingForm(forms.RenkeiForm):
    kind = SelectField(_l("Kind"), choices=[], validate_choice=False)
    group_id = SelectField(_l("Group"), choices=[], validate_choice=False)
    title = StringField(_l("Title"), validators=[InputRequired(message=_l("Enter a title.")), Length(max=200)])
    held_at = DateTimeLocalField(_l("Held at"), format="%Y-%m-%dT%H:%M",
                                 validators=[InputRequired(message=_l("Enter when it is held."))])
    place = StringField(_l("Place"), validators=[Length(max=200)])
    tenants = SelectMultipleField(_l("Municipalities and the prefecture attending"), choices=[], validate_choice=False)
    members = SelectMultipleField(_l("Member organisations attending"), choices=[], validate_choice=False)
    people = TextAreaField(_l("People attending (one name a line)"), validators=[Optional(), Length(max=4000)])

    def fill_choices(self) -> MeetingForm:
        self.kind.choices = [(k.value, forms.pick(k.label)) for k in meetings.MeetingKind]
        self.group_id.choices = [("", _("(none: council or monthly meeting)"))] + [
            (str(row.id), f"{row.name}（{forms.pick(groups.GroupKind(row.kind).label)}）")
            for row in db.session.scalars(sa.select(groups.Group).order_by(groups.Group.name))]
        return self.fill_attendees()

    def fill_attendees(self) -> MeetingForm:
        # columns, not rows: every municipality of the country at national size (1,741)
        self.tenants.choices = [(code, f"{name}（{code}）") for code, name in db.session.execute(
            sa.select(Tenant.code, Tenant.name_ja).order_by(Tenant.code))]
        self.members.choices = [(number, name) for number, name in db.session.execute(
            sa.select(Organisation.corporate_number, Organisation.name).where(
                Organisation.status == MemberStatus.approved).order_by(Organisation.name))]
        return self

    def draft(self, agenda: tuple[meetings.AgendaItem, ...]) -> meetings.MeetingDraft:
        people = tuple(meetings.Attendee(name=line.strip()) for line in (self.people.data or "").splitlines() if line.strip())
        attendees = (tuple(meetings.Attendee(tenant_code=code) for code in self.tenants.data or ())
                     + tuple(meetings.Attendee(corporate_number=number) for number in self.members.data or ()) + people)
        kind = self.kind.data if self.kind is not None else ""
        return meetings.MeetingDraft(kind=kind or "", title=self.title.data or "",
                                     held_at=self.held_at.data.replace(tzinfo=JST), place=self.place.data or "",
                                     attendees=attendees, agenda=agenda)


class MeetingEditForm(MeetingForm):
    """The correction of a recorded meeting: its kind and group stay."""

    kind = None
    group_id = None

    def fill_choices(self) -> MeetingEditForm:
        return self.fill_attendees()


def _edit_values(draft: meetings.MeetingDraft) -> tuple[dict, dict[str, list[str]]]:
    """The edit form's first values from the recorded meeting, and the names recorded beside an organisation
    (the form picks organisations and lists people apart; a named attendee of an organisation keeps the name
    while the organisation stays picked)."""
    named: dict[str, list[str]] = {}
    for a in draft.attendees:
        if a.name and (a.tenant_code or a.corporate_number):
            named.setdefault(a.tenant_code or a.corporate_number, []).append(a.name)
    values = {"title": draft.title, "held_at": draft.held_at.astimezone(JST).replace(tzinfo=None), "place": draft.place,
              "tenants": list(dict.fromkeys(a.tenant_code for a in draft.attendees if a.tenant_code)),
              "members": list(dict.fromkeys(a.corporate_number for a in draft.attendees if a.corporate_number)),
              "people": "\n".join(a.name for a in draft.attendees if not (a.tenant_code or a.corporate_number))}
    for index, item in enumerate(draft.agenda, start=1):
        values[f"agenda_title_{index}"] = item.title
        values[f"agenda_proposal_{index}"] = str(item.proposal_id) if item.proposal_id else ""
    return values, named


def _with_names(draft: meetings.MeetingDraft, named: dict[str, list[str]]) -> meetings.MeetingDraft:
    attendees = []
    for a in draft.attendees:
        key = a.tenant_code or a.corporate_number
        names = named.get(key, []) if key and not a.name else []
        attendees += [meetings.Attendee(n, a.tenant_code, a.corporate_number) for n in names] or [a]
    return dataclasses.replace(draft, attendees=tuple(attendees))


def _agenda_from_form() -> tuple[meetings.AgendaItem, ...]:
    items = []
    for index in range(1, meetings.AGENDA_MAX + 1):
        title = (request.form.get(f"agenda_title_{index}") or "").strip()
        proposal = (request.form.get(f"agenda_proposal_{index}") or "").strip()
        if title or proposal:
            items.append(meetings.AgendaItem(title, typed_id(proposal)))
    return tuple(items)


def labels() -> dict:
    return {name: {member.value: forms.pick(member.label) for member in enum_cls} for name, enum_cls in (
        ("kind", meetings.MeetingKind), ("minutes", meetings.MinutesStatus), ("group", groups.GroupKind),
        ("member", groups.MemberKind))}


def _place_problems(form: MeetingForm, error: DomainError, agenda_errors: dict[str, str]) -> None:
    """Each problem of a refused meeting beside its field: an agenda row's, the attendees' (under the people
    box), the form's own."""
    for item in error.problems:
        name = item.get("field", "")
        if name.startswith("agenda"):
            agenda_errors[name] = forms.pick((item["message_ja"], item["message_en"]))
        elif name.startswith("attendees"):
            form.people.errors = [*form.people.errors, forms.pick((item["message_ja"], item["message_en"]))]
    error.problems[:] = [p for p in error.problems if not p.get("field", "").startswith(("agenda", "attendees"))]
    apply_problems(form, error, {"group_id": "group_id"})


class MeetingsView(SecureView):
    required_action = "meeting.read"

    def _page(self, form, agenda_errors: dict | None = None):
        return self.render("renkei/meetings.html", form=form, rows=meetings.list_meetings(db.session, g.actor),
                           when=_when, labels=labels(), can_manage=authz.allowed(g.actor, "meeting.manage"),
                           proposals=meetings.decided_proposals(db.session), agenda_rows=AGENDA_ROWS,
                           values=request.form, agenda_errors=agenda_errors or {})

    @expose("/")
    def index(self):
        return self._page(MeetingForm().fill_choices())

    @expose("/create", methods=("POST",))
    def create(self):
        form = MeetingForm(request.form).fill_choices()
        if not form.validate():
            return self._page(form)
        agenda_errors: dict[str, str] = {}

        def create():
            draft = form.draft(_agenda_from_form())
            try:
                group = typed_id(form.group_id.data)
                if group is not None:
                    return groups.create_group_meeting(db.session, g.actor, group, draft)
                return meetings.create_meeting(db.session, g.actor, draft)
            except DomainError as error:
                _place_problems(form, error, agenda_errors)
                raise

        return post_action(create, saved=_("Saved."), done=lambda row: redirect(url_for(".detail", meeting_id=row.id)),
                           failed=lambda: self._page(form, agenda_errors))

    @expose("/<int:meeting_id>")
    def detail(self, meeting_id: int, minutes_errors: dict | None = None, reason: str = "",
               reason_error: str | None = None):
        try:
            meeting = meetings.read_meeting(db.session, g.actor, meeting_id)
        except DomainError as error:
            abort(status_of(error))
        owed = submissions.find(db.session, submissions.SubmissionKind.minutes, f"meeting:{meeting.id}")
        attendees = meetings.attendees_of(db.session, meeting.id)
        agenda = meetings.agenda_of(db.session, meeting.id)
        proposals = {p.id: p for p in council.list_proposals(db.session, g.actor)} if any(i.proposal_id for i in agenda) else {}
        group = db.session.get(groups.Group, meeting.group_id) if meeting.group_id else None
        return self.render("renkei/meeting_detail.html", meeting=meeting, attendees=attendees, agenda=agenda,
                           names=meetings.organisation_names(db.session, attendees), proposals=proposals, group=group,
                           labels=labels(), when=_when, status=meetings.MinutesStatus(meeting.minutes_status).value,
                           can_manage=authz.allowed(g.actor, "meeting.manage"),
                           editable=meetings.MinutesStatus(meeting.minutes_status) in meetings.EDITABLE,
                           can_approve=authz.allowed(g.actor, "meeting.approve") and meeting.written_by != g.actor.subject,
                           owed=owed, inspected=owed is not None and owed.status is submissions.S.submitted,
                           reason=reason, reason_error=reason_error, format_date=format_date, lang=current_language(),
                           values=request.form, minutes_errors=minutes_errors or {})

    def _edit_page(self, meeting, form, values, agenda_errors: dict | None = None, status: int = 200):
        rows = max(AGENDA_ROWS, min(meetings.AGENDA_MAX, sum(1 for k, v in values.items()
                                                           if k.startswith("agenda_title_") and v) + 2))
        return self.render("renkei/meeting_edit.html", meeting=meeting, form=form, labels=labels(), when=_when,
                           editable=meetings.MinutesStatus(meeting.minutes_status) in meetings.EDITABLE,
                           proposals=meetings.decided_proposals(db.session), agenda_rows=rows, values=values,
                           agenda_errors=agenda_errors or {}), status

    @expose("/<int:meeting_id>/edit", methods=("GET", "POST"))
    def edit(self, meeting_id: int):
        """Correct a meeting while its minutes are not approved (refused in words once they are)."""
        if not authz.allowed(g.actor, "meeting.manage"):
            abort(403)
        try:
            meeting = meetings.read_meeting(db.session, g.actor, meeting_id)
        except DomainError as error:
            abort(status_of(error))
        first, named = _edit_values(meetings.draft_of(db.session, meeting))
        if request.method == "GET":
            form = MeetingEditForm(data=first).fill_choices()
            return self._edit_page(meeting, form, first)
        form = MeetingEditForm(request.form).fill_choices()
        if not form.validate():
            return self._edit_page(meeting, form, request.form, status=400)
        agenda_errors: dict[str, str] = {}

        def update():
            draft = _with_names(form.draft(_agenda_from_form()), named)
            try:
                return meetings.update_meeting(db.session, g.actor, meeting_id, draft)
            except DomainError as error:
                _place_problems(form, error, agenda_errors)
                raise

        return post_action(update, saved=_("The meeting was corrected."), back=self._back(meeting_id),
                           failed=lambda: self._edit_page(meeting, form, request.form, agenda_errors, status=400))

    def _back(self, meeting_id: int) -> str:
        return url_for(".detail", meeting_id=meeting_id)

    @expose("/<int:meeting_id>/minutes", methods=("POST",))
    def minutes(self, meeting_id: int):
        upload = request.files.get("minutes_pdf")
        data = upload.read(meetings.PDF_MAX_BYTES + 1) if upload is not None and upload.filename else None
        text = request.form.get("minutes_text", "")
        errors: dict[str, str] = {}

        def write():
            try:
                return meetings.write_minutes(db.session, g.actor, meeting_id, text=text, pdf=data,
                                              filename=upload.filename if data is not None else "")
            except DomainError as error:
                errors.update({p["field"]: forms.pick((p["message_ja"], p["message_en"])) for p in error.problems
                               if p.get("field")})
                error.problems[:] = [p for p in error.problems if not p.get("field")]
                raise

        return post_action(write, back=self._back(meeting_id), saved=_("The minutes were saved; they await approval."),
                           failed=lambda: self.detail(meeting_id, errors))

    @expose("/<int:meeting_id>/approve", methods=("POST",))
    def approve(self, meeting_id: int):
        if authz.allowed(g.actor, "meeting.approve"):
            asked = confirm_first(self, title=_("Approve the minutes?"),
                                  consequence=_("The minutes become final: they can no longer be rewritten, and their "
                                                "SHA-256 is recorded in the audit log."),
                                  confirm_label=_("Approve the minutes"), back=self._back(meeting_id))
            if asked is not None:
                return asked
        return post_action(lambda: meetings.approve_minutes(db.session, g.actor, meeting_id), back=self._back(meeting_id),
                           saved=_("The minutes were approved."))

    @expose("/<int:meeting_id>/return", methods=("POST",))
    def give_back(self, meeting_id: int):
        typed = request.form.get("reason", "")
        if authz.allowed(g.actor, "meeting.approve"):
            try:
                submissions.return_reason(typed)
            except DomainError as error:
                found = error.problems[0] if error.problems else {"message_ja": error.message_ja,
                                                                  "message_en": error.message_en}
                return self.detail(meeting_id, reason=typed,
                                   reason_error=found["message_ja" if current_language() == "ja" else "message_en"]), 422
            asked = confirm_first(self, title=_("Return the minutes?"),
                                  consequence=_("The writer is told the reason, rewrites the minutes and submits them "
                                                "again."),
                                  confirm_label=_("Return the minutes"), back=self._back(meeting_id))
            if asked is not None:
                return asked
        return post_action(lambda: meetings.return_minutes(db.session, g.actor, meeting_id, typed),
                           back=self._back(meeting_id), saved=_("The minutes were returned to their writer."))

    @expose("/<int:meeting_id>/publish", methods=("POST",))
    def publish(self, meeting_id: int):
        try:
            meeting = meetings.read_meeting(db.session, g.actor, meeting_id)
        except DomainError as error:
            abort(status_of(error))
        count = len({a.tenant_code or a.corporate_number for a in meetings.attendees_of(db.session, meeting_id)
                     if a.tenant_code or a.corporate_number})
        confirmation = confirm_first(
            self, title=_("Publish the minutes of %(title)s", title=meeting.title),
            consequence=_("The minutes go to the %(count)s attending organisations as a notice and by e-mail. "
                          "Published minutes cannot be changed.", count=count),
            confirm_label=_("Publish"), back=self._back(meeting_id))
        if confirmation is not None:
            return confirmation
        return post_action(lambda: meetings.publish_minutes(db.session, g.actor, meeting_id), back=self._back(meeting_id),
                           saved=_("The minutes were published to %(count)s organisations.", count=count))

    @expose("/<int:meeting_id>/minutes.pdf")
    def pdf(self, meeting_id: int):
        try:
            meeting = meetings.get_meeting(db.session, meeting_id)
            return minutes_pdf(meetings.minutes_pdf(db.session, g.actor, meeting_id), meeting)
        except DomainError as error:
            abort(status_of(error))


class PublishedMinutesView(SecureView):
    """The published minutes' PDF for the attendees' organisations (the notice names this address); the
    secretariat and the auditor read every meeting's. Reached from the notice, not from the menu."""

    required_action = "notice.read"

    def is_visible(self) -> bool:
        return False

    @expose("/")
    def index(self):
        return redirect(url_for("admin.index"))

    @expose("/<int:meeting_id>.pdf")
    def pdf(self, meeting_id: int):
        try:
            meeting = meetings.get_meeting(db.session, meeting_id)
            return minutes_pdf(meetings.minutes_pdf(db.session, g.actor, meeting_id), meeting)
        except DomainError as error:
            abort(status_of(error))


class GroupForm(forms.RenkeiForm):
    kind = SelectField(_l("Kind"), choices=[], validate_choice=False)
    name = StringField(_l("Name"), validators=[InputRequired(message=_l("Enter a name.")), Length(max=200)])
    purpose = TextAreaField(_l("Purpose"), validators=[Optional(), Length(max=4000)])
    target_members = IntegerField(_l("Target number of member companies"),
                                  validators=[Optional(), NumberRange(min=0, max=groups.TARGET_MAX)])

    def fill_choices(self) -> GroupForm:
        self.kind.choices = [(k.value, forms.pick(k.label)) for k in groups.GroupKind]
        return self


class GroupMemberForm(forms.RenkeiForm):
    """Who joins a group: the kind first, then that kind's fields (the domain says which are needed)."""

    member_kind = SelectField(_l("Kind of member"), choices=[], validate_choice=False)
    corporate_number = SelectField(_l("Consortium member"), choices=[], validate_choice=False)
    tenant_code = SelectField(_l("Municipality or the prefecture"), choices=[], validate_choice=False)
    name = StringField(_l("Name of the person"), validators=[Length(max=groups.NAME_MAX)])
    affiliation = StringField(_l("Affiliation (advisers)"), validators=[Length(max=groups.AFFILIATION_MAX)])

    def fill_choices(self, group_id: int) -> GroupMemberForm:
        self.member_kind.choices = [(k.value, forms.pick(k.label)) for k in groups.MemberKind]
        self.corporate_number.choices = [("", _("(choose)"))] + [
            (o.corporate_number, o.name) for o in groups.candidates(db.session, group_id)]
        tenants = groups.staff_tenants(db.session)
        self.tenant_code.choices = [("", _("(choose)"))] + [
            (t.code, t.name_ja) for kind in (groups.MemberKind.municipal_staff, groups.MemberKind.prefecture_staff)
            for t in tenants[kind]]
        return self

    def candidate(self) -> groups.Candidate:
        return groups.Candidate(self.member_kind.data or "", corporate_number=self.corporate_number.data or "",
                                tenant_code=self.tenant_code.data or "", name=self.name.data or "",
                                affiliation=self.affiliation.data or "")


class GroupsView(SecureView):
    required_action = "group.read"

    def _page(self, form):
        return self.render("renkei/groups.html", form=form, rows=groups.list_groups(db.session, g.actor),
                           counts=groups.member_counts(db.session), labels=labels(),
                           can_manage=authz.allowed(g.actor, "group.manage"),
                           default_target=groups.DEFAULT_COMMUNITY_TARGET)

    @expose("/")
    def index(self):
        return self._page(GroupForm().fill_choices())

    @expose("/create", methods=("POST",))
    def create(self):
        form = GroupForm(request.form).fill_choices()
        if not form.validate():
            return self._page(form)

        def create():
            try:
                return groups.create_group(db.session, g.actor, groups.GroupDraft(
                    form.kind.data or "", form.name.data or "", form.purpose.data or "", form.target_members.data))
            except DomainError as error:
                apply_problems(form, error)
                raise

        return post_action(create, saved=_("Saved."), done=lambda row: redirect(url_for(".detail", community_group_id=row.id)),
                           failed=lambda: self._page(form))

    @expose("/<int:community_group_id>")
    def detail(self, community_group_id: int):
        return self._detail(community_group_id)

    def _detail(self, community_group_id: int, form: GroupMemberForm | None = None):
        try:
            group = groups.read_group(db.session, g.actor, community_group_id)
        except DomainError as error:
            abort(status_of(error))
        manage = authz.allowed(g.actor, "group.manage")
        rows = groups.memberships(db.session, group.id)
        tenant_names = {code: name for code, name in db.session.execute(sa.select(Tenant.code, Tenant.name_ja).where(
            Tenant.code.in_({r.tenant_code for r in rows if r.tenant_code})))}
        return self.render("renkei/group_detail.html", group=group, rows=rows,
                           names=groups.member_names(db.session, rows), tenant_names=tenant_names,
                           companies=sum(1 for r in rows if r.member_kind == groups.MemberKind.consortium_member),
                           form=(form or GroupMemberForm().fill_choices(group.id)) if manage else None, labels=labels(),
                           meetings=meetings.list_meetings(db.session, g.actor, group_id=group.id)
                           if authz.allowed(g.actor, "meeting.read") else [],
                           events=ev.group_events(db.session, g.actor, group.id) if authz.allowed(g.actor, "event.read") else [],
                           when=_when, can_manage=manage)

    def _back(self, community_group_id: int) -> str:
        return url_for(".detail", community_group_id=community_group_id)

    @expose("/<int:community_group_id>/members", methods=("POST",))
    def add(self, community_group_id: int):
        form = GroupMemberForm(request.form).fill_choices(community_group_id)
        if not form.validate():
            return self._detail(community_group_id, form)
        return post_action(with_problems_beside_fields(
            form, lambda: groups.join(db.session, g.actor, community_group_id, form.candidate())),
            back=self._back(community_group_id), saved=_("Added to the group."),
            failed=lambda: self._detail(community_group_id, form))

    @expose("/<int:community_group_id>/members/remove", methods=("POST",))
    def remove(self, community_group_id: int):
        membership = typed_id(request.form.get("membership_id"))
        if membership is None:  # the corporate number, as the page posted it before members had kinds
            return post_action(lambda: groups.remove_member(db.session, g.actor, community_group_id,
                                                            request.form.get("corporate_number", "")),
                               back=self._back(community_group_id), saved=_("Removed from the group."))
        return post_action(lambda: groups.remove_membership(db.session, g.actor, community_group_id, membership),
                           back=self._back(community_group_id), saved=_("Removed from the group."))

    @expose("/<int:community_group_id>/council", methods=("POST",))
    def council(self, community_group_id: int):
        attach = request.form.get("under_council") == "1"
        return post_action(lambda: groups.set_under_council(db.session, g.actor, community_group_id, attach),
                           back=self._back(community_group_id), saved=_("Saved."))

    @expose("/<int:community_group_id>/target", methods=("POST",))
    def target(self, community_group_id: int):
        typed = typed_number(request.form.get("target_members"), high=9_999_999)
        number = -1 if typed is None else typed
        return post_action(lambda: groups.set_target(db.session, g.actor, community_group_id, number),
                           back=self._back(community_group_id),
                           saved=_("Saved."))


def views(session):
    return [GroupsView(name=_l("Community and working groups"), endpoint="community_groups", url="community-groups"),
            MeetingsView(name=_l("Meetings and minutes"), endpoint="meetings", url="meetings"),
            PublishedMinutesView(name=_l("Minutes"), endpoint="published_minutes", url="minutes")]
