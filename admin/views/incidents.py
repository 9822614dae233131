"""認証サーバーの不整合 (identity incidents): Keycloak work renkei could not undo, for the operator to
put right, with what to do; resolving one takes a note, asks first and is audited."""

from __future__ import annotations

from flask import g, redirect, request, url_for
from flask_admin import expose
from flask_babel import get_locale, gettext as _, lazy_gettext as _l

from admin.extensions import db
from admin.i18n import format_date
from admin.views.base import SecureView, confirm_first, post_action
from core.errors import DomainError
from tenancy.identity import incidents


def _ja() -> bool:
    return str(get_locale() or "ja") == "ja"


class IncidentsView(SecureView):
    required_action = incidents.ACTION

    def _page(self, notes: dict[int, str] | None = None, errors: dict[int, str] | None = None, status: int = 200):
        ja = _ja()
        return self.render("renkei/identity_incidents.html",
                           open_items=incidents.list_incidents(db.session, g.actor),
                           open_count=incidents.count_unresolved(db.session, g.actor),
                           resolved=incidents.list_incidents(db.session, g.actor, resolved=True, limit=20),
                           notes=notes or {}, errors=errors or {}, ja=ja,
                           when=lambda value: format_date(value, "ja" if ja else "en")), status

    @expose("/")
    def index(self):
        return self._page()

    @expose("/<int:incident_id>/resolve", methods=("POST",))
    def resolve(self, incident_id: int):
        note = (request.form.get("note") or "").strip()
        if not note or len(note) > incidents.NOTE_MAX:
            message = (_("Say what was done to resolve it.") if not note
                       else _("At most %(count)d characters.", count=incidents.NOTE_MAX))
            return self._page({incident_id: note}, {incident_id: message}, status=400)
        confirmation = confirm_first(
            self, title=_("Mark this incident resolved?"),
            consequence=_("The incident leaves the list of things to do, with your note on record in the audit log. "
                          "Do this only after putting the account right in Keycloak."),
            confirm_label=_("Mark resolved"), back=url_for(".index"))
        if confirmation is not None:
            return confirmation

        def failed():
            return self._page({incident_id: note}, status=400)

        return post_action(lambda: incidents.resolve(db.session, g.actor, incident_id, note),
                           saved=lambda incident: _("Incident %(id)d was marked resolved.", id=incident.id),
                           done=lambda incident: redirect(url_for(".index")), failed=failed)


def views(db_):
    return [IncidentsView(name=_l("Identity incidents"), endpoint="incidents", url="incidents")]
