"""The residents' portal, part 2 (issue 42 item 7), on the portal's blueprint (admin/portal/door.py): a thin shell
over :mod:`residents.portal_records`, for the signed-in resident only (:func:`resident_required`).

* ``/portal/history``: who received what and when (paged): each service's request, its purpose, the items asked,
  given and refused.
* ``/portal/lookups``: each look-up of the resident by municipal staff at the desk (who, municipality, when, why).
* ``/portal/dispute?record=lookup-<seq>|linkage-<seq>``: dispute one of those records (an inquiry to the
  secretariat naming it); the form again with the error beside the field on bad input, else the page saying it
  was sent.
* ``/portal/notices``: the resident's notices; opening the page marks them read.
* ``/portal/data``, ``/portal/data.json``, ``/portal/data.csv``: the resident's 基本4情報 on screen, and
  everything renkei holds about them to download (the download audited, the resident as the actor).
* ``/portal/signing-keys/<key id>.pub``: the public keys that sign the chains' checkpoints, published (no
  sign-in) so that anyone can check a receipt's proof against them (docs/receipts.md).
* ``/portal/leave``: what leaving means, then (POST, with the form's token) links ended, consents withdrawn,
  the status ``left``, the session ended.
"""

from __future__ import annotations

import json

from flask import Blueprint, Response, abort, current_app, redirect, render_template, request, url_for
from flask_babel import gettext as _

from admin.extensions import db
from admin.i18n import current_language
from admin.resident_keys import keyring
from admin.portal.session import current_resident, resident_required, sign_out_resident
from admin.views.base import typed_number
from core.actor import Actor
from admin.problems import status_of
from core.errors import DomainError, Forbidden, NotFound
from residents import portal_history, portal_records as records
from residents.portal import resident_actor


ROUTES: list[tuple[str, object, tuple[str, ...]]] = []


def _route(rule: str, methods: tuple[str, ...] = ("GET",)):
    """Kept for :func:`register`: this module does not import the portal's blueprint (admin/portal/door.py imports it)."""
    def keep(view):
        ROUTES.append((rule, view, methods))
        return view
    return keep


def register(bp: Blueprint) -> None:
    """These pages on the portal's blueprint (admin/portal/door.py, once, before it is registered)."""
    for rule, view, methods in ROUTES:
        bp.add_url_rule(rule, view_func=view, methods=list(methods))


def _me():
    signed = current_resident()
    return signed, records.resident_of(db.session, signed.resident_id, signed.tenant_code)


def _actor(signed) -> Actor:
    """The resident as the actor of their own acts (one home: residents.portal.resident_actor)."""
    return resident_actor(db.session, signed.resident_id, signed.provider,
                          request_id=request.headers.get("X-Request-Id"), source_ip=request.remote_addr,
                          representative_id=signed.representative_id, representation_id=signed.representation_id)


@_route("/history")
@resident_required
def history():
    _, resident = _me()
    page = typed_number(request.args.get("page"), low=1) or 1
    lang = current_language()
    found = records.history(db.session, resident, page=page, lang=lang)
    rows = [portal_history.service_request_words(row, lang) for row in found.rows]
    return render_template("portal/history.html", history=found, rows=rows,
                           disputed=portal_history.disputes_sent(db.session, resident))


@_route("/lookups")
@resident_required
def lookups():
    _, resident = _me()
    return render_template("portal/lookups.html",
                           lookups=portal_history.desk_lookups(db.session, resident, current_language()),
                           disputed=portal_history.disputes_sent(db.session, resident))


@_route("/dispute", ("GET", "POST"))
@resident_required
def dispute():
    from admin.views.base import check_csrf, csrf_field

    signed, resident = _me()
    ref = (request.values.get("record") or "")[:40]
    try:
        record = portal_history.disputed_record(db.session, resident, ref)
    except NotFound as error:
        return render_template("portal/dispute.html", record=None, error=error, csrf_field=csrf_field), 404
    ja = current_language() == "ja"
    label = record.label_ja if ja else record.label_en
    if request.method == "GET":
        return render_template("portal/dispute.html", record=record, label=label, text="", errors={},
                               csrf_field=csrf_field)
    check_csrf()
    text = request.form.get("text") or ""
    try:
        inquiry_id = portal_history.dispute(db.session, _actor(signed), resident, record.ref, text)
    except DomainError as error:
        db.session.rollback()
        errors = {p["field"]: (p["message_ja"] if ja else p["message_en"]) for p in error.problems}
        return render_template("portal/dispute.html", record=record, label=label, text=text, errors=errors,
                               error=error, csrf_field=csrf_field), status_of(error)
    return redirect(url_for("portal.dispute_sent", inquiry=inquiry_id))


@_route("/dispute/sent")
@resident_required
def dispute_sent():
    return render_template("portal/dispute_sent.html", inquiry=typed_number(request.args.get("inquiry"), low=1))


@_route("/notices")
@resident_required
def notices():
    _, resident = _me()
    shown = records.notices(db.session, resident, current_language())
    records.mark_read(db.session, resident)  # committed by the request: the next visit shows them read
    return render_template("portal/notices.html", notices=shown)


@_route("/data")
@resident_required
def data():
    _, resident = _me()
    return render_template("portal/data.html",
                           items=portal_history.own_items(resident, keyring(), current_language()))


def _download(form: str) -> tuple[dict, object]:
    signed, resident = _me()
    from maintenance.signing import seals

    content = records.my_data(db.session, keyring(), resident, current_language(), seals(current_app.config))
    records.record_download(db.session, _actor(signed), resident, form)
    return content, resident


@_route("/data.json")
@resident_required
def data_json():
    content, resident = _download("json")
    body = json.dumps(content, ensure_ascii=False, indent=2)
    return Response(body, mimetype="application/json", headers={
        "Content-Disposition": f"attachment; filename=renkei-my-data-{resident.common_id or resident.id}.json",
        "Cache-Control": "no-store"})


@_route("/data.csv")
@resident_required
def data_csv():
    content, resident = _download("csv")
    return Response(records.my_data_csv(content, current_language()), mimetype="text/csv", headers={
        "Content-Disposition": f"attachment; filename=renkei-my-data-{resident.common_id or resident.id}.csv",
        "Cache-Control": "no-store"})


@_route("/signing-keys/<key_id>.pub")
def signing_key(key_id: str):
    from maintenance.signing import published_key

    pem = published_key(current_app.config, key_id) if len(key_id) == 16 else None
    if pem is None:
        abort(404)
    return Response(pem, mimetype="text/plain", headers={"Cache-Control": "public, max-age=3600"})


LEAVE_NOT_BY_REPRESENTATIVE = Forbidden(
    "A legal representative cannot make the person leave the portal here: ask the municipality's residents' desk.",
    "法定代理人はここで本人の退会の手続きはできません。市町村の住民窓口にお申し出ください。")


@_route("/leave", ("GET", "POST"))
@resident_required
def leave():
    from admin.views.base import check_csrf, csrf_field

    signed, resident = _me()
    if signed.representative_id is not None:  # leaving ends the person's links and consents: at the desk only
        return render_template("portal/representation_ended.html", error=LEAVE_NOT_BY_REPRESENTATIVE,
                               heading=_("Leaving is done at the residents' desk")), 403
    if request.method == "GET":
        return render_template("portal/leave.html", csrf_field=csrf_field)
    check_csrf()
    records.leave(db.session, _actor(signed), resident)
    sign_out_resident()
    return redirect(url_for("portal.left"))


@_route("/left")
def left():
    return render_template("portal/left.html")


def unread_notices() -> int:
    """The signed-in resident's unread notices (the portal's front page shows the count)."""
    signed = current_resident()
    return records.unread_count(db.session, signed.resident_id) if signed is not None else 0
