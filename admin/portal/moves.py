"""Moving between the platform's municipalities (転出・転入, issue 56 item 2), on the portal's blueprint: a thin shell
over :mod:`residents.moves`, for the signed-in resident only.

* ``/portal/move``: where the card's address now lies, each current link and whether it can be carried over (a
  box to tick) or ends, with the new municipality's consent text of each one that can; the page is the question
  asked before an act that cannot be undone.
* ``POST /portal/move``: the move; into a municipality of the portal the session goes on as its resident (its
  common ID), out of the area the resident is signed out.
"""

from __future__ import annotations

from flask import redirect, render_template, request, url_for

from admin.extensions import db
from admin.portal.blueprint import bp
from admin.portal.session import current_resident, resident_required, sign_in_resident, sign_out_resident
from admin.problems import status_of
from admin.resident_keys import keyring
from admin.views.base import check_csrf, csrf_field
from core.errors import DomainError, Forbidden
from residents import moves, portal_municipalities, portal_records
from residents.portal import resident_actor
from residents.consent import operations as consent
from residents.signin import PortalSignIn


def _me():
    signed = current_resident()
    return signed, portal_records.resident_of(db.session, signed.resident_id, signed.tenant_code)


def _actor(signed):
    return resident_actor(db.session, signed.resident_id, signed.provider,
                          request_id=request.headers.get("X-Request-Id"), source_ip=request.remote_addr)


def _page(status: int = 200, error: DomainError | None = None, ticked: set[int] | None = None):
    signed, resident = _me()
    found = moves.plan(db.session, keyring(), resident, signed.assurance_level)
    texts = {c.service.id: {"purposes": consent.purposes_of(db.session, c.text.id, required=True),
                            "items": [item.name for item in consent.items_of(db.session, c.text.id)]}
             for c in (found.carries if found else []) if c.text is not None}
    return render_template("portal/move.html", csrf_field=csrf_field, plan=found, texts=texts, error=error,
                           ticked=ticked, representative=signed.representative_id is not None), status


@bp.route("/move")
@resident_required
def move_page():
    return _page()


@bp.post("/move")
@resident_required
def move_confirmed():
    check_csrf()
    signed, resident = _me()
    if signed.representative_id is not None:
        return _page(403, Forbidden(*moves.NOT_BY_REPRESENTATIVE))
    carry = {int(value) for value in request.form.getlist("carry") if value.isdigit() and len(value) < 10}
    shown = {int(key[5:]): value for key, value in request.form.items()
             if key.startswith("text-") and key[5:].isdigit() and len(key) < 15}
    try:
        moved = moves.move(db.session, _actor(signed), keyring(), resident, carry=carry, shown=shown,
                           assurance_level=signed.assurance_level)
    except DomainError as error:
        db.session.rollback()
        return _page(status_of(error), error, carry)
    if moved.new is None:  # out of the platform's area: nothing of the portal is theirs any more
        sign_out_resident()
        return redirect(url_for("portal.moved_away"))
    new = moved.new
    taking_part = set(portal_municipalities.opted_in(db.session))
    sign_in_resident(PortalSignIn(
        resident_id=new.id, tenant_code=new.tenant_code, common_id=new.common_id, status=new.status.value, how="moved",
        provider=signed.provider, assurance_level=signed.assurance_level, signed_in_at=signed.signed_in_at,
        municipalities=tuple(code for code in dict.fromkeys((new.tenant_code, *signed.municipalities))
                             if code != resident.tenant_code and code in taking_part)))
    return redirect(url_for("portal.index", moved=1))


@bp.route("/moved-away")
def moved_away():
    if current_resident() is not None:
        return redirect(url_for("portal.index"))
    return render_template("portal/moved_away.html")
