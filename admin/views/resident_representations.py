"""Legal representatives at the residents' desk (issue 56 item 3): record a 親権者 or 成年後見人 of a resident, list
the municipality's representations, end one early. residents.representation holds the rules and audits each act."""

from __future__ import annotations

from flask import flash, g, request
from flask_admin import expose
from flask_babel import gettext as _, lazy_gettext as _l

from admin.extensions import db
from admin.problems import status_of
from admin.resident_keys import keyring
from admin.views.base import SecureView, _ja, tenants_for, typed_id
from core.calendar import today_jst
from core.errors import DomainError
from residents import representation
from residents.models import RepresentationEvidence, RepresentationKind

FIELDS = ("tenant", "representative_common_id", "represented_common_id", "kind", "evidence", "starts_on", "until",
          "reason")


def _errors(error: DomainError) -> dict[str, str]:
    ja = _ja()
    errors: dict[str, str] = {}
    for item in error.problems:
        field = str(item.get("field") or "").split(".")[-1].split("[")[0]
        errors.setdefault(field or "tenant", item["message_ja"] if ja else item["message_en"])
    return errors or {"tenant": error.message_ja if ja else error.message_en}


class ResidentRepresentationsView(SecureView):
    required_action = "resident.represent"

    def _page(self, values=None, errors=None, status=200):
        tenants = tenants_for("resident.represent")
        tenant = ((values or {}).get("tenant") or request.values.get("tenant") or "").strip() or (
            tenants[0][0] if len(tenants) == 1 else "")
        ja = _ja()
        rows = []
        if tenant and tenant in {code for code, _name in tenants}:
            rows = representation.desk_list(db.session, g.actor, keyring(), tenant)
        return self.render("renkei/resident_representations.html", tenants=tenants, rows=rows, ja=ja,
                           values={"starts_on": today_jst().isoformat(), **(values or {}), "tenant": tenant},
                           errors=errors or {},
                           kinds=[(kind.value, kind.ja if ja else kind.en) for kind in RepresentationKind],
                           evidences=[(item.value, item.ja if ja else item.en) for item in RepresentationEvidence]), status

    @expose("/")
    def index(self):
        return self._page()

    @expose("/", methods=("POST",))
    def record(self):
        values = {name: request.form.get(name, "").strip() for name in FIELDS}
        payload = {**{name: values[name] for name in FIELDS if name != "tenant"}, "tenant_code": values["tenant"],
                   "until": values["until"] or None}
        try:
            representation.record_representation(db.session, g.actor, keyring(), payload)
        except DomainError as error:
            db.session.rollback()
            errors = _errors(error)
            if "tenant_code" in errors:
                errors["tenant"] = errors.pop("tenant_code")
            return self._page(values, errors, status_of(error))
        flash(_("The representation was recorded."), "success")
        return self._page({"tenant": values["tenant"]})

    @expose("/<int:representation_id>/end", methods=("POST",))
    def end(self, representation_id: int):
        tenant = request.form.get("tenant", "").strip()
        try:
            representation.end_representation(db.session, g.actor, tenant, typed_id(str(representation_id)) or 0,
                                              request.form.get("end_reason", ""))
        except DomainError as error:
            db.session.rollback()
            errors = {f"end_reason_{representation_id}": error.message_ja if _ja() else error.message_en}
            return self._page({"tenant": tenant}, errors, status_of(error))
        flash(_("The representation was ended."), "success")
        return self._page({"tenant": tenant})


def views(session):
    return [ResidentRepresentationsView(name=_l("Legal representatives"), endpoint="resident_representations",
                                        url="resident-representations")]
