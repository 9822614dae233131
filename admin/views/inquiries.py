"""問合せ窓口 (inquiries): the secretariat's log (list, record, one inquiry with its replies, assignment and
moves) and the public inquiry form (/inquiry/, no account; CSRF, a honeypot field and the domain's limit per
address). The rules are secretariat/inquiries.py's; these pages parse, call, and show the problems beside
the fields."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, g, redirect, render_template, request, url_for
from flask_admin import expose
from flask_babel import gettext as _, lazy_gettext as _l
from wtforms import SelectField, StringField, TextAreaField
from wtforms.validators import InputRequired, Length

from admin.extensions import db
from admin.problems import status_of
from admin.views import operator_forms as forms
from admin.views.base import SecureView, apply_problems, check_csrf, csrf_field, post_action
from core import authz
from core.calendar import today_jst
from core.errors import DomainError
from residents import data_inquiries
from secretariat import inquiries as inq

def _choices(enum_cls) -> list[tuple[str, str]]:
    return [(member.value, forms.pick(member.label)) for member in enum_cls]


class InquiryForm(forms.RenkeiForm):
    inquirer_kind = SelectField(_l("Who asked"), choices=[], validate_choice=False)
    channel = SelectField(_l("Received by"), choices=[], validate_choice=False)
    category = SelectField(_l("Category"), choices=[], validate_choice=False)
    subject = StringField(_l("Subject"), validators=[InputRequired(message=_l("Enter a subject.")), Length(max=200)])
    question = TextAreaField(_l("Question"), validators=[InputRequired(message=_l("Write the question.")),
                                                         Length(max=inq.QUESTION_MAX)])
    inquirer_name = StringField(_l("Name"), validators=[Length(max=100)])
    organisation_name = StringField(_l("Organisation"), validators=[Length(max=200)])
    email = StringField(_l("E-mail address"), validators=[Length(max=254)])
    phone = StringField(_l("Phone"), validators=[Length(max=32)])
    member_number = StringField(_l("Member (corporate number)"), validators=[Length(max=13)])
    tenant_code = StringField(_l("Municipality (tenant code)"), validators=[Length(max=6)])
    dataset_uid = StringField(_l("Dataset (identifier)"), validators=[Length(max=36)])
    incident_ref = StringField(_l("Incident reference"), validators=[Length(max=64)])

    def fill_choices(self) -> InquiryForm:
        self.inquirer_kind.choices = _choices(inq.InquirerKind)
        self.channel.choices = [c for c in _choices(inq.Channel) if c[0] != inq.Channel.portal.value]  # the portal's own
        self.category.choices = _choices(inq.Category)
        return self

    def checked(self, *, public: bool = False) -> bool:
        """WTForms' checks and the domain's (so that every problem shows at once, each beside its field)."""
        valid = self.validate()
        draft = self.draft()
        if public:
            draft = inq.InquiryDraft(**{**draft.__dict__, "channel": inq.Channel.web_form.value})
        for found in inq.inquiry_problems(db.session, draft, public=public):
            field = getattr(self, found["field"], None)
            if field is not None and not field.errors:
                field.errors = [*field.errors, forms.pick((found["message_ja"], found["message_en"]))]
                valid = False
        return valid

    def draft(self) -> inq.InquiryDraft:
        return inq.InquiryDraft(**{name: (self[name].data or "") for name in (
            "inquirer_kind", "channel", "category", "subject", "question", "inquirer_name", "organisation_name",
            "email", "phone", "member_number", "tenant_code", "dataset_uid", "incident_ref")})


def response_days() -> int:
    return int(current_app.config.get("RENKEI_INQUIRY_RESPONSE_DAYS", inq.DEFAULT_RESPONSE_DAYS))


def labels() -> dict:
    return {name: {member.value: forms.pick(member.label) for member in enum_cls} for name, enum_cls in (
        ("status", inq.InquiryStatus), ("category", inq.Category), ("channel", inq.Channel),
        ("inquirer", inq.InquirerKind))}


class InquiriesView(SecureView):
    required_action = "inquiry.read"

    def _page(self, form):
        status = request.args.get("status") or None
        category = request.args.get("category") or None
        if status not in {None, *(s.value for s in inq.InquiryStatus)} or \
                category not in {None, *(c.value for c in inq.Category)}:
            abort(400)
        overdue = request.args.get("overdue") == "1"
        rows = inq.list_inquiries(db.session, g.actor, status=status, category=category,
                                  overdue_on=today_jst() if overdue else None)
        # a resident's question from the portal: the service it is about; who asked only to those who may see
        # the municipality's residents (residents.data_inquiries.desk_facts)
        portal = data_inquiries.desk_facts(db.session, g.actor, [row.id for row in rows])
        return self.render("renkei/inquiries.html", rows=rows, form=form, labels=labels(), status=status, portal=portal,
                           category=category, overdue=overdue, today=today_jst(), is_overdue=inq.is_overdue,
                           can_manage=authz.allowed(g.actor, "inquiry.manage"), days=response_days())

    @expose("/")
    def index(self):
        return self._page(InquiryForm().fill_choices())

    @expose("/record", methods=("POST",))
    def record(self):
        form = InquiryForm(request.form).fill_choices()
        if not form.checked():
            return self._page(form)

        def record():
            try:
                return inq.record_inquiry(db.session, g.actor, form.draft(), response_days=response_days())
            except DomainError as error:
                apply_problems(form, error)
                raise

        return post_action(record, saved=lambda row: _("Inquiry %(number)s was recorded; due %(due)s.",
                                                       number=row.id, due=row.due_on.isoformat()),
                           done=lambda row: redirect(url_for(".detail", inquiry_id=row.id)),
                           failed=lambda: self._page(form))

    @expose("/<int:inquiry_id>")
    def detail(self, inquiry_id: int):
        try:
            inquiry = inq.get_inquiry(db.session, g.actor, inquiry_id)
        except DomainError as error:
            abort(status_of(error))
        return self.render("renkei/inquiry_detail.html", inquiry=inquiry, replies=inq.replies_of(db.session, inquiry),
                           portal=data_inquiries.facts_of(db.session, g.actor, inquiry.id),
                           labels=labels(), overdue=inq.is_overdue(inquiry),
                           moves=[(m.name, forms.pick((m.label_ja, m.label_en)))
                                  for m in inq.INQUIRIES.moves_from(inquiry.status)],
                           can_manage=authz.allowed(g.actor, "inquiry.manage"), values=request.form)

    def _back(self, inquiry_id: int) -> str:
        return url_for(".detail", inquiry_id=inquiry_id)

    @expose("/<int:inquiry_id>/assign", methods=("POST",))
    def assign(self, inquiry_id: int):
        mine = request.form.get("me") == "1"
        name = g.actor.name if mine else request.form.get("assignee_name", "")
        return post_action(lambda: inq.assign(db.session, g.actor, inquiry_id, subject=g.actor.subject if mine else "",
                                              name=name or ""),
                           back=self._back(inquiry_id), saved=_("Saved."))

    @expose("/<int:inquiry_id>/reply", methods=("POST",))
    def reply(self, inquiry_id: int):
        return post_action(lambda: inq.reply(db.session, g.actor, inquiry_id, request.form.get("body", "")),
                           back=self._back(inquiry_id), saved=_("The reply was queued to be sent and kept with the inquiry."))

    @expose("/<int:inquiry_id>/move", methods=("POST",))
    def move(self, inquiry_id: int):
        return post_action(lambda: inq.transition(db.session, g.actor, inquiry_id, request.form.get("move", "")),
                           back=self._back(inquiry_id), saved=_("Saved."))


def views(session):
    return [InquiriesView(name=_l("Inquiries"), endpoint="inquiries", url="inquiries")]


# --- the public form -------------------------------------------------------------------------------

public = Blueprint("inquiry_public", __name__, url_prefix="/inquiry")


def _public_form(form, message: str | None = None, status: int = 200):
    return render_template("renkei/inquiry_public.html", form=form, message=message, csrf_field=csrf_field,
                           honeypot=forms.HONEYPOT), status


def _public_fields(formdata=None) -> InquiryForm:
    form = InquiryForm(formdata).fill_choices()
    return form


@public.get("/")
def public_form():
    form = _public_fields()
    form.inquirer_kind.data = inq.InquirerKind.resident.value
    return _public_form(form)


@public.post("/")
def public_submit():
    check_csrf()
    form = _public_fields(request.form)
    if request.form.get(forms.HONEYPOT):
        abort(400)  # a robot filled the field people never see
    if not form.checked(public=True):
        return _public_form(form, _("The form has problems. Nothing was saved; correct the fields below and send it again."), 422)
    try:
        inquiry = inq.submit_public(db.session, form.draft(), source_ip=request.remote_addr or "",
                                    request_id=getattr(g, "request_id", None), response_days=response_days(),
                                    hourly_limit=int(current_app.config.get("RENKEI_PUBLIC_FORM_HOURLY_LIMIT", 5)))
    except DomainError as error:
        db.session.rollback()
        apply_problems(form, error)
        return _public_form(form, forms.pick((error.message_ja, error.message_en)), status_of(error))
    return render_template("renkei/inquiry_public.html", done=inquiry, form=None, csrf_field=csrf_field)
