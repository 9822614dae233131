"""The residents' portal, part 2 (issue 42 item 7), on the portal's blueprint (admin/portal.py): a thin shell
over :mod:`residents.portal_records`, for the signed-in resident only (:func:`resident_required`).

* ``/portal/history``: who received what and when (paged).
* ``/portal/notices``: the resident's notices; opening the page marks them read.
* ``/portal/data``, ``/portal/data.json``, ``/portal/data.csv``: everything renkei holds about the resident
  (the download audited, the resident as the actor).
* ``/portal/leave``: what leaving means, then (POST, with the form's token) links ended, consents withdrawn,
  the status ``left``, the session ended.
"""

from __future__ import annotations

import json

from flask import Blueprint, Response, redirect, render_template, request, url_for

from admin.extensions import db
from admin.i18n import current_language
from admin.resident_keys import keyring
from admin.resident_session import current_resident, resident_required, sign_out_resident
from admin.views.base import typed_number
from core.actor import Actor
from residents import portal_records as records
from residents.portal import resident_actor


ROUTES: list[tuple[str, object, tuple[str, ...]]] = []


def _route(rule: str, methods: tuple[str, ...] = ("GET",)):
    """Kept for :func:`register`: this module does not import the portal's blueprint (admin/portal.py imports it)."""
    def keep(view):
        ROUTES.append((rule, view, methods))
        return view
    return keep


def register(bp: Blueprint) -> None:
    """These pages on the portal's blueprint (admin/portal.py, once, before it is registered)."""
    for rule, view, methods in ROUTES:
        bp.add_url_rule(rule, view_func=view, methods=list(methods))


def _me():
    signed = current_resident()
    return signed, records.resident_of(db.session, signed.resident_id, signed.tenant_code)


def _actor(signed) -> Actor:
    """The resident as the actor of their own acts (one home: residents.portal.resident_actor)."""
    return resident_actor(db.session, signed.resident_id, signed.provider,
                          request_id=request.headers.get("X-Request-Id"), source_ip=request.remote_addr)


@_route("/history")
@resident_required
def history():
    _, resident = _me()
    page = typed_number(request.args.get("page"), low=1) or 1
    found = records.history(db.session, resident, page=page, lang=current_language())
    return render_template("portal/history.html", history=found)


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
    return render_template("portal/data.html")


def _download(form: str) -> tuple[dict, object]:
    signed, resident = _me()
    content = records.my_data(db.session, keyring(), resident, current_language())
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


@_route("/leave", ("GET", "POST"))
@resident_required
def leave():
    from admin.views.base import check_csrf, csrf_field

    signed, resident = _me()
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
