"""会員へのメール配信 (issue 58 item 3) in /admin: the secretariat writes a mailing to a segment of the members,
sees how many it reaches before saving, and sends it through the outbox (asked first: it cannot be taken back);
and the public unsubscribe page (/mail/unsubscribe/<token>), which needs no sign-in: its GET shows a button and
only its POST stops announcements. The rules are :mod:`secretariat.mailings`'s."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, g, redirect, render_template, request, url_for
from flask_admin import expose
from flask_babel import gettext as _, lazy_gettext as _l
from wtforms import DateField, RadioField, StringField, TextAreaField
from wtforms.validators import Optional

from admin.extensions import db
from admin.problems import status_of
from admin.views import operator_forms as forms
from admin.views.base import SecureView, apply_problems, check_csrf, confirm_first, csrf_field, post_action
from admin.views.times import local_time
from core import authz
from core.codes import INDUSTRY_MAJOR_GROUPS
from core.errors import DomainError
from secretariat import mailings
from tenancy.members.models import SizeBand

PREVIEW_NAMES = 50  # recipients named on the page before it says "and N more"


def _ids(values: list[str]) -> tuple[int, ...]:
    """Ticked ids; anything not a number becomes 0, which no row has, so the domain refuses it beside the field."""
    return tuple(int(value) if value.isdigit() and len(value) < 10 else 0 for value in values)


class MailingForm(forms.RenkeiForm):
    kind = RadioField(_l("Kind"), choices=[], validate_choice=False)
    subject = StringField(_l("Subject"))
    body = TextAreaField(_l("Body (plain text)"))
    industries = forms.CheckboxListField(_l("Industry"), choices=[], validate_choice=False)
    size_bands = forms.CheckboxListField(_l("Size"), choices=[], validate_choice=False)
    municipality_codes = forms.CheckboxListField(_l("Head office's municipality"), choices=[], validate_choice=False)
    group_ids = forms.CheckboxListField(_l("Community or working group"), choices=[], validate_choice=False)
    event_ids = forms.CheckboxListField(_l("Attended the event"), choices=[], validate_choice=False)
    joined_since = DateField(_l("Joined on or after"), validators=[Optional()])

    def fill_choices(self) -> MailingForm:
        offered = mailings.choices(db.session, g.actor)
        self.kind.choices = [(kind.value, forms.pick(kind.label)) for kind in mailings.MailingKind]
        self.industries.choices = [(letter, f"{letter} {forms.pick(pair)}") for letter, pair in INDUSTRY_MAJOR_GROUPS.items()]
        self.size_bands.choices = [(band.value, forms.pick(band.label)) for band in SizeBand]
        self.municipality_codes.choices = [(code, f"{name}（{code}）") for code, name in offered.municipalities]
        self.group_ids.choices = [(str(ident), name) for ident, name in offered.groups]
        self.event_ids.choices = [(str(ident), name) for ident, name in offered.events]
        return self

    def draft(self) -> mailings.MailingDraft:
        return mailings.MailingDraft(self.kind.data or "", self.subject.data or "", self.body.data or "", self.segment())

    def segment(self) -> mailings.Segment:
        return mailings.Segment(industries=tuple(self.industries.data or ()), size_bands=tuple(self.size_bands.data or ()),
                                municipality_codes=tuple(self.municipality_codes.data or ()),
                                group_ids=_ids(self.group_ids.data or []), event_ids=_ids(self.event_ids.data or []),
                                joined_since=self.joined_since.data)


def _industries_in_words(letters) -> str:
    """The chosen industries, each its letter and its major group's name."""
    return "、".join(f"{letter} {forms.pick(INDUSTRY_MAJOR_GROUPS[letter])}" for letter in letters
                    if letter in INDUSTRY_MAJOR_GROUPS)


def describe(segment: mailings.Segment, offered: mailings.Choices) -> list[tuple[str, str]]:
    """The segment as a reader says it: (criterion, the values chosen), the criteria given only."""
    groups, events, places = dict(offered.groups), dict(offered.events), dict(offered.municipalities)
    rows = [
        (_("Industry"), _industries_in_words(segment.industries)),
        (_("Size"), "、".join(forms.pick(SizeBand(band).label) for band in segment.size_bands)),
        (_("Head office's municipality"), "、".join(places.get(code, code) for code in segment.municipality_codes)),
        (_("Community or working group"), "、".join(groups.get(ident, str(ident)) for ident in segment.group_ids)),
        (_("Attended the event"), "、".join(events.get(ident, str(ident)) for ident in segment.event_ids)),
        (_("Joined on or after"), segment.joined_since.isoformat() if segment.joined_since else ""),
    ]
    return [(label, value) for label, value in rows if value] or [(_("Audience"), _("Every member"))]


class MailingsView(SecureView):
    required_action = mailings.READ

    def _page(self, form=None, preview=None, status=200):
        form = form or MailingForm().fill_choices()
        if form.kind.data is None:
            form.kind.data = mailings.MailingKind.advertising.value
        return self.render("renkei/mailings.html", form=form, rows=mailings.list_mailings(db.session, g.actor),
                           preview=preview, preview_names=PREVIEW_NAMES, can_send=authz.allowed(g.actor, mailings.SEND),
                           kind_label=lambda kind: forms.pick(mailings.MailingKind(kind).label),
                           status_label=lambda status: forms.pick(mailings.MailingStatus(status).label),
                           local_time=local_time), status

    @expose("/")
    def index(self):
        return self._page()

    @expose("/", methods=("POST",))
    def write(self):
        form = MailingForm(request.form).fill_choices()
        if not form.validate():
            return self._page(form, status=422)
        if request.form.get("action") == "preview":  # count the recipients; nothing is saved
            try:
                found = mailings.preview(db.session, g.actor, form.kind.data or "", form.segment())
            except DomainError as error:
                db.session.rollback()
                if error.kind == "forbidden":
                    abort(403)
                apply_problems(form, error)
                return self._page(form, status=status_of(error))
            return self._page(form, preview=found)
        return post_action(lambda: self._create(form), saved=_("The mailing was saved as a draft. It has not been sent."),
                           done=lambda mailing: redirect(url_for(".detail", mailing_id=mailing.id)),
                           failed=lambda: self._page(form, status=422))

    @staticmethod
    def _create(form: MailingForm):
        try:
            return mailings.create_mailing(db.session, g.actor, form.draft())
        except DomainError as error:
            apply_problems(form, error)
            raise

    @expose("/<int:mailing_id>")
    def detail(self, mailing_id: int):
        try:
            mailing = mailings.get_mailing(db.session, g.actor, mailing_id)
        except DomainError as error:
            abort(status_of(error))
        offered = mailings.choices(db.session, g.actor)
        draft = mailing.status == mailings.MailingStatus.draft
        found = mailings.recipients_of(db.session, g.actor, mailing) if draft else None
        sample = None
        if found and found.recipients:  # what the first recipient will read (the link shown as it will be made)
            first = found.recipients[0]
            sample = mailings.compose(mailing, first, sender=mailings.consortium_name(db.session),
                                      unsubscribe_link=url_for("mail.unsubscribe", token="…", _external=True))
        return self.render("renkei/mailing.html", mailing=mailing, criteria=describe(mailings.segment_of(mailing), offered),
                           preview=found, preview_names=PREVIEW_NAMES, sample=sample, draft=draft,
                           can_send=draft and authz.allowed(g.actor, mailings.SEND),
                           kind_label=forms.pick(mailings.MailingKind(mailing.kind).label),
                           status_label=forms.pick(mailings.MailingStatus(mailing.status).label), local_time=local_time)

    @expose("/<int:mailing_id>/send", methods=("POST",))
    def send(self, mailing_id: int):
        back = url_for(".detail", mailing_id=mailing_id)
        try:
            count = len(mailings.recipients_of(db.session, g.actor, mailings.get_mailing(db.session, g.actor, mailing_id)).recipients)
        except DomainError as error:
            abort(status_of(error))
        confirmation = confirm_first(
            self, title=_("Send this mailing?"),
            consequence=_("One e-mail is queued for each of the %(count)d members the audience now reaches. "
                          "Sending cannot be taken back.", count=count),
            confirm_label=_("Send"), back=back)
        if confirmation is not None:
            return confirmation
        secret = current_app.config["SECRET_KEY"]
        return post_action(lambda: mailings.send_mailing(
            db.session, g.actor, mailing_id, secret=secret,
            unsubscribe_url=lambda token: url_for("mail.unsubscribe", token=token, _external=True)),
            back=back, saved=lambda mailing: _("The mailing was sent: %(count)d e-mails were queued in the outbox.",
                                               count=mailing.recipient_count))


def views(session):
    return [MailingsView(name=_l("Mailings to members"), endpoint="mailings", url="mailings")]


# --- the public unsubscribe page ------------------------------------------------------------------------

public = Blueprint("mail", __name__, url_prefix="/mail")


def _unsubscribe_page(token: str, **shown):
    return render_template("renkei/mail_unsubscribe.html", token=token, csrf_field=csrf_field, **shown)


@public.get("/unsubscribe/<token>")
def unsubscribe(token: str):
    """What the link opens: the member's name and a button (a GET never changes anything: mail scanners open links)."""
    try:
        org, receives = mailings.member_of_token(db.session, current_app.config["SECRET_KEY"], token)
    except DomainError as error:
        return _unsubscribe_page(token, failure=True), status_of(error)
    return _unsubscribe_page(token, name=org.name, receives=receives)


@public.post("/unsubscribe/<token>")
def unsubscribe_confirmed(token: str):
    check_csrf()
    try:
        org = mailings.unsubscribe(db.session, current_app.config["SECRET_KEY"], token,
                                   request_id=getattr(g, "request_id", None), source_ip=request.remote_addr)
    except DomainError as error:
        db.session.rollback()
        return _unsubscribe_page(token, failure=True), status_of(error)
    return _unsubscribe_page(token, name=org.name, done=True)
