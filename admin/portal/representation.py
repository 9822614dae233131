"""Acting for someone as their legal representative (issue 56 item 3), on the portal's blueprint.

* ``/portal/representation``: the people the signed-in resident represents today (residents.representation
  .representing), each with a button to act for them, and a button to stop acting for someone.
* ``POST /portal/representation/act`` (``representation``): from now on the portal's pages are the represented
  person's and every act is recorded as by the representative (admin/portal/session.py); ``…/stop``: back to
  oneself.
"""

from __future__ import annotations

from flask import redirect, render_template, request, url_for

from admin.extensions import db
from admin.portal.blueprint import bp
from admin.portal.session import act_for, current_resident, resident_required, stop_acting
from admin.resident_keys import keyring
from admin.views.base import check_csrf, csrf_field, typed_id
from core.errors import DomainError
from residents import representation


def _page(status: int = 200, error: DomainError | None = None):
    signed = current_resident()
    rows = representation.representing(db.session, keyring(), current_resident().signed_in_id)
    return render_template("portal/representation.html", csrf_field=csrf_field, error=error,
                           acting_for=signed.common_id if signed.representative_id else None,
                           people=[{"id": row.id, "common_id": person.common_id, "kind": row.kind}
                                   for row, person in rows]), status


@bp.route("/representation")
@resident_required
def representation_page():
    return _page()


@bp.post("/representation/act")
@resident_required
def representation_act():
    check_csrf()
    try:
        chosen = typed_id(request.form.get("representation", ""))
        row = representation.check_in_force(db.session, keyring(), chosen or 0, current_resident().signed_in_id)
    except DomainError as error:
        return _page(403, error)
    person = representation.represented_person(db.session, row)
    act_for(row, person.common_id)
    return redirect(url_for("portal.index"))


@bp.post("/representation/stop")
@resident_required
def representation_stop():
    check_csrf()
    stop_acting()
    return redirect(url_for("portal.representation_page"))
