"""A notice to a municipality's residents, shown in the residents' portal (issue 42 item 7): the operator, or the
municipality's own residents' desk, writes it; residents.portal_records addresses it and audits it."""

from __future__ import annotations

from flask import flash, g, request
from flask_admin import expose
from flask_babel import gettext as _, lazy_gettext as _l

from admin.extensions import db
from admin.problems import status_of
from admin.views.base import SecureView, _ja, tenants_for
from core.errors import DomainError
from residents import portal_records

FIELDS = ("title_ja", "body_ja", "title_en", "body_en")


class ResidentNoticesView(SecureView):
    required_action = "resident.notice.publish"

    def _page(self, values=None, errors=None, status=200):
        tenants = tenants_for("resident.notice.publish")
        tenant = (request.values.get("tenant") or "").strip() or (tenants[0][0] if len(tenants) == 1 else "")
        return self.render("renkei/resident_notices.html", tenants=tenants, values={"tenant": tenant, **(values or {})},
                           errors=errors or {}), status

    @expose("/")
    def index(self):
        return self._page()

    @expose("/", methods=("POST",))
    def publish(self):
        values = {name: request.form.get(name, "") for name in ("tenant", *FIELDS)}
        try:
            result = portal_records.publish_notice(db.session, g.actor, values["tenant"],
                                                   {name: values[name] for name in FIELDS})
        except DomainError as error:
            db.session.rollback()
            ja = _ja()
            errors = {p["field"].split(".")[-1]: (p["message_ja"] if ja else p["message_en"]) for p in error.problems}
            if not errors:
                errors = {"tenant": error.message_ja if ja else error.message_en}
            return self._page(values, errors, status_of(error))
        flash(_("The notice was posted to %(count)s residents.", count=result["residents"]), "success")
        return self._page()


def views(session):
    return [ResidentNoticesView(name=_l("Notices to residents"), endpoint="resident_notices", url="resident-notices")]
