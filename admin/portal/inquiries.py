"""The residents' portal: 「データの使われ方について問い合わせる」 (issue 56 item 6), on the portal's blueprint.

* ``/portal/inquiries``: the form (the service it is about, picked from the services linked to the resident, or
  「その他・わからない」; the question) and the resident's own questions with their status and the desk's answers.
* ``POST /portal/inquiries``: the question sent (CSRF); a refused form comes back with what was typed and the
  error beside its field (422), a sent one goes back to the page saying its number and due date.

A thin shell over :mod:`residents.data_inquiries`: the resident from the session, the operation, the request's
one commit.
"""

from __future__ import annotations

from flask import redirect, render_template, request, url_for

from admin.extensions import db
from admin.i18n import current_language
from admin.portal.blueprint import bp
from admin.portal.services import _actor, _field_errors, _signed
from admin.problems import status_of
from admin.portal.session import resident_required
from admin.views.base import check_csrf, csrf_field, typed_number
from admin.views.inquiries import response_days
from core.errors import DomainError
from residents import data_inquiries


def _page(status: int = 200, error: DomainError | None = None, typed: dict | None = None):
    _, row, refusal = _signed()
    lang = current_language()
    context = {"csrf_field": csrf_field, "refusal": refusal, "error": error, "errors": _field_errors(error),
               "typed": typed or {}, "choices": [], "asked": [], "limit": data_inquiries.QUESTION_MAX, "sent": None}
    if row is not None:
        context["choices"] = data_inquiries.service_choices(db.session, row, lang)
        context["asked"] = data_inquiries.my_inquiries(db.session, row, lang)
        sent = typed_number(request.args.get("sent"), low=1) if status == 200 else None
        context["sent"] = sent if sent in {item.number for item in context["asked"]} else None  # only one of mine
    return render_template("portal/inquiries.html", **context), status


@bp.route("/inquiries")
@resident_required
def inquiries():
    return _page()


@bp.post("/inquiries")
@resident_required
def ask_inquiry():
    check_csrf()
    typed = {"service": request.form.get("service", "")[:40], "question": request.form.get("question", "")}
    resident, row, refusal = _signed()
    if refusal is not None:
        return _page(status_of(refusal), typed=typed)
    try:
        asked = data_inquiries.ask(db.session, _actor(resident), row, typed["service"], typed["question"],
                                   response_days=response_days())
    except DomainError as error:
        db.session.rollback()
        return _page(status_of(error), error, typed)
    return redirect(url_for("portal.inquiries", sent=asked.inquiry_id) + "#asked")
