"""お知らせ (notices): the operator writes a notice to every active municipality or to the ones ticked;
it shows on their home pages (governance.notices.notices_for) and goes to their contacts by e-mail."""

from __future__ import annotations

from flask import g, redirect, request, url_for
from flask_admin import expose
from flask_babel import get_locale, gettext as _, lazy_gettext as _l

from admin.extensions import db
from admin.i18n import format_date
from admin.views import operator_forms as forms
from admin.views.base import SecureView, apply_problems, confirm_first, post_action
from core import authz
from core.errors import DomainError
from governance import notices
from governance.models import NoticeAudience


def _ja() -> bool:
    return str(get_locale() or "ja") == "ja"


class NoticesView(SecureView):
    required_action = "notice.publish"

    def _form(self, formdata=None):
        form = forms.NoticeForm(formdata)
        form.audience.choices = [(a.value, forms.pick(NoticeAudience(a).label)) for a in NoticeAudience]
        form.tenant_codes.choices = [(t.code, f"{t.code} {t.name_ja if _ja() else t.name_en_shown}")
                                     for t in notices.addressable(db.session, g.actor)]
        if formdata is None:
            form.audience.data = NoticeAudience.all_active.value
        return form

    def _page(self, form):
        sent = notices.list_notices(db.session, g.actor)
        return self.render("renkei/governance_notices.html", form=form, sent=sent,
                           current=notices.count_for(db.session, g.actor) if authz.allowed(g.actor, "notice.read") else 0,
                           audience_labels={a.value: forms.pick(a.label) for a in NoticeAudience},
                           when=lambda value: format_date(value, "ja" if _ja() else "en"))

    @expose("/")
    def index(self):
        return self._page(self._form())

    @expose("/publish", methods=("POST",))
    def publish(self):
        form = self._form(request.form)
        valid = form.validate()
        audience = form.audience.data if form.audience.data in {a.value for a in NoticeAudience} else None
        if audience is None:
            form.audience.errors = [*form.audience.errors, _("Choose who receives the notice.")]
        elif audience == NoticeAudience.chosen.value and not form.tenant_codes.data and not form.to_members.data:
            form.tenant_codes.errors = [*form.tenant_codes.errors,
                                        _("Choose at least one municipality, or send to the member organisations.")]
        if not valid or any(f.errors for f in form):
            return self._page(form)
        count = (len(form.tenant_codes.choices) if audience == NoticeAudience.all_active.value
                 else len(set(form.tenant_codes.data or ())))
        members = len(notices.approved_members(db.session)) if form.to_members.data else 0
        consequence = _("Publishing shows the notice on the home page of %(count)d municipalities and sends it to "
                        "each of them by e-mail; it cannot be taken back.", count=count)
        if members:
            consequence += " " + _("It also goes to %(members)d member organisations, on their home page and by e-mail.",
                                   members=members)
        confirmation = confirm_first(
            self, title=_("Publish this notice?"),
            consequence=consequence,
            confirm_label=_("Publish and send"), back=url_for(".index"))
        if confirmation is not None:
            return confirmation
        draft = notices.NoticeDraft(title=form.title.data, body=form.body.data, audience=NoticeAudience(audience),
                                    tenant_codes=tuple(form.tenant_codes.data or ()) if audience == NoticeAudience.chosen.value else (),
                                    show_until=form.show_until.data, to_members=bool(form.to_members.data))

        def publish():
            try:
                return notices.publish_notice(db.session, g.actor, draft)
            except DomainError as error:
                apply_problems(form, error)
                raise

        return post_action(publish, saved=lambda notice: _("The notice was published and %(count)d e-mails were queued.",
                                                           count=count + members),
                           done=lambda notice: redirect(url_for(".index")), failed=lambda: self._page(form))


def views(session):
    return [NoticesView(name=_l("Notices"), endpoint="notices", url="notices")]
