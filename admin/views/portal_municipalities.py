"""住民ポータルへの参加 (issue 56 item 1) in /admin: the operator and each municipality's admin see which municipalities
take part in the one residents' portal, and place their own in it (or take it out) with the words its residents
read there; a refused form comes back with what was typed and the problem beside the field. The rules are
:mod:`residents.portal_municipalities`'."""

from __future__ import annotations

from flask import abort, g, redirect, request, url_for
from flask_admin import expose
from flask_babel import gettext as _, lazy_gettext as _l
from wtforms import BooleanField, TextAreaField

from admin.extensions import db
from core.calendar import jst_text
from core.errors import DomainError
from admin.views import operator_forms as forms
from admin.views.base import SecureView, apply_problems, post_action
from residents import portal_municipalities as pm


class PortalForm(forms.RenkeiForm):
    opted_in = BooleanField(_l("Its residents sign in at the residents' portal"))
    welcome_ja = TextAreaField(_l("Words for residents (Japanese)"))
    welcome_en = TextAreaField(_l("Words for residents (English, optional)"))


class PortalMunicipalitiesView(SecureView):
    required_action = pm.CONFIGURE

    def _page(self, code: str = "", form: PortalForm | None = None, status: int = 200, rows: list | None = None):
        rows = pm.settings_for(db.session, g.actor) if rows is None else rows
        chosen = next((row for row in rows if row.tenant_code == code), None)
        if code and chosen is None:
            abort(404)
        if chosen is not None and form is None:
            form = PortalForm(data={"opted_in": chosen.opted_in, "welcome_ja": chosen.welcome_ja,
                                    "welcome_en": chosen.welcome_en})
        return self.render("renkei/portal_municipalities.html", rows=rows, chosen=chosen, form=form,
                           when=lambda moment: jst_text(moment) if moment else "—",
                           welcome_max=pm.WELCOME_MAX), status

    @expose("/")
    def index(self):
        rows = pm.settings_for(db.session, g.actor)
        code = (request.args.get("tenant") or "").strip()[:6] or (rows[0].tenant_code if len(rows) == 1 else "")
        return self._page(code, rows=rows)  # read once: 1,390 active municipalities at national size

    @expose("/<code>", methods=("POST",))
    def save(self, code: str):
        form = PortalForm(request.form)

        def save():
            try:
                return pm.set_portal(db.session, g.actor, code, opted_in=bool(form.opted_in.data),
                                     welcome_ja=form.welcome_ja.data or "", welcome_en=form.welcome_en.data or "")
            except DomainError as error:  # the field problems beside their fields, then post_action shows the rest
                apply_problems(form, error)
                raise

        return post_action(save, saved=lambda row: _("Saved: the municipality takes part in the residents' portal.")
                           if row.opted_in else _("Saved: the municipality does not take part in the residents' portal."),
                           done=lambda row: redirect(url_for(".index", tenant=row.tenant_code)),
                           failed=lambda: self._page(code, form, 422))


def views(session):
    return [PortalMunicipalitiesView(name=_l("Residents' portal: municipalities"), endpoint="portal_municipalities",
                                     url="portal-municipalities")]
