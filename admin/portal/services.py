"""The residents' portal: my services, links and consents (issue 42 items 2, 5, 7), on the portal's blueprint.

* ``/portal/services``: the services linked to my common ID, and the form to link one with the one-time code
  the service gave me (``POST /portal/services/link``).
* ``/portal/services/<id>``: a linked service's current consent text, my consent to it, and one form for my
  consent and the items it may receive (``POST …/consent``); withdrawing (``…/withdraw``) and ending the link
  (``…/unlink``) each ask first on a page of their own, saying the consequence.

A thin shell over :mod:`residents.portal`: the resident from the session (:func:`current_resident`), the
operation, the request's one commit (admin._finish_request); a refused form comes back with what was typed
and the error beside the field (422).
"""

from __future__ import annotations

from flask import redirect, render_template, request, url_for

from admin.extensions import db
from admin.i18n import current_language
from admin.portal.blueprint import bp
from admin.problems import status_of
from admin.portal.session import current_resident, resident_required
from admin.views.base import check_csrf, csrf_field, typed_id
from core.calendar import jst_text
from core.errors import DomainError
from residents.consent.models import AssuranceLevel, ConsentEvent
from residents import portal as operations
from residents.models import LinkMethod


CONSENT_STATE_LABELS = {
    ConsentEvent.given: ("同意しています", "Consent given"),
    ConsentEvent.withdrawn: ("撤回しました", "Withdrawn"),
    ConsentEvent.expired: ("期限が切れました", "Expired"),
}


def _ja() -> bool:
    return current_language() == "ja"


def _words(pair: tuple[str, str]) -> str:
    return pair[0] if _ja() else pair[1]


def _message(error: DomainError) -> str:
    return error.message_ja if _ja() else error.message_en


def _field_errors(error: DomainError | None) -> dict[str, str]:
    found: dict[str, str] = {}
    for item in (error.problems if error else []):
        field = str(item.get("field") or "").split("[")[0]
        found.setdefault(field, item.get("message_ja") if _ja() else item.get("message_en"))
    return found


def _signed():
    """The signed-in resident and their row (with a common ID), or the reason there is none."""
    resident = current_resident()
    try:
        return resident, operations.my_resident(db.session, resident.resident_id, resident.tenant_code), None
    except DomainError as error:
        return resident, None, error


def _actor(resident):
    return operations.resident_actor(db.session, resident.resident_id, resident.provider,
                                     request_id=request.headers.get("X-Request-Id"), source_ip=request.remote_addr,
                                     representative_id=resident.representative_id,
                                     representation_id=resident.representation_id)


def _level_label(level: int) -> str:
    row = db.session.get(AssuranceLevel, level)
    if row is None:
        return str(level)
    return row.label(_ja())


def _services_page(status: int = 200, error: DomainError | None = None, typed: dict | None = None):
    resident, row, refusal = _signed()
    context = {"csrf_field": csrf_field, "refusal": refusal, "error": error, "errors": _field_errors(error),
               "typed": typed or {}, "links": [], "services": []}
    if row is not None:
        context["links"] = [{"service_id": service.id, "name": service.name, "user_id": link.service_user_id,
                             "method": _words(LinkMethod(link.method).label), "linked_at": jst_text(link.linked_at),
                             "level": _level_label(link.assurance_level)}
                            for link, service in operations.my_links(db.session, row)]
        context["services"] = [{"id": service.id, "name": service.name,
                                "level": _level_label(service.required_level)}
                               for service in operations.linkable_services(db.session, row.tenant_code)]
        context["my_level"] = _level_label(resident.assurance_level)
    return render_template("portal/services.html", **context), status


@bp.route("/services")
@resident_required
def services():
    return _services_page()


@bp.post("/services/link")
@resident_required
def link_service():
    check_csrf()
    typed = {"service_id": request.form.get("service_id", ""), "code": request.form.get("code", "")}
    resident, row, refusal = _signed()
    if refusal is not None:
        return _services_page(status_of(refusal), typed=typed)
    try:
        service_id = typed_id(typed["service_id"])
        operations.link_with_code(db.session, _actor(resident), row, service_id, typed["code"], resident.assurance_level)
    except operations.WrongCode as error:
        db.session.commit()  # the wrong code is counted although refused (and the lock it reached is recorded)
        return _services_page(422, error, typed)
    except DomainError as error:
        db.session.rollback()
        return _services_page(422 if status_of(error) in (409, 422) else status_of(error), error, typed)
    return redirect(url_for("portal.services", linked=service_id))


def _service_page(service_id: int, status: int = 200, error: DomainError | None = None, typed: dict | None = None,
                  template: str = "portal/service.html"):
    resident, row, refusal = _signed()
    if refusal is not None:
        return render_template("portal/services.html", refusal=refusal, csrf_field=csrf_field, links=[], services=[],
                               errors={}, typed={}, error=None), status_of(refusal)
    try:
        state = operations.service_state(db.session, row, service_id)
    except DomainError as not_linked:
        return render_template("portal/services.html", refusal=not_linked, csrf_field=csrf_field, links=[],
                               services=[], errors={}, typed={}, error=None), status_of(not_linked)
    record = state.record
    context = {
        "csrf_field": csrf_field, "error": error, "errors": _field_errors(error), "state": state,
        "service": state.service, "user_id": state.link.service_user_id,
        "state_label": _words(CONSENT_STATE_LABELS[state.state]) if state.state else "",
        "record_date": jst_text(record.occurred_at) if record else "",
        "record_version": record.text_number if record else None,
        "chosen_purposes": (typed or {}).get("optional_purposes", state.chosen_purposes),
        "chosen_items": (typed or {}).get("items", state.disclosed),
        "held": state.held,
    }
    return render_template(template, **context), status


@bp.route("/services/<int:service_id>")
@resident_required
def service(service_id: int):
    return _service_page(service_id)


@bp.post("/services/<int:service_id>/consent")
@resident_required
def save_consent(service_id: int):
    check_csrf()
    typed = {"optional_purposes": request.form.getlist("optional_purposes"), "items": request.form.getlist("items")}
    resident, row, refusal = _signed()
    if refusal is not None:
        return _service_page(service_id)
    try:
        operations.save_consent(db.session, _actor(resident), row, service_id,
                                content_hash=request.form.get("content_hash", ""),
                                optional_purposes=typed["optional_purposes"], items=typed["items"],
                                assurance_level=resident.assurance_level)
    except DomainError as error:
        db.session.rollback()
        return _service_page(service_id, 422 if status_of(error) in (409, 422) else status_of(error), error, typed)
    return redirect(url_for("portal.service", service_id=service_id, saved=1))


@bp.route("/services/<int:service_id>/withdraw", methods=("GET", "POST"))
@resident_required
def withdraw(service_id: int):
    if request.method == "GET":
        return _service_page(service_id, template="portal/service_withdraw.html")
    check_csrf()
    resident, row, refusal = _signed()
    if refusal is not None:
        return _service_page(service_id)
    try:
        operations.withdraw(db.session, _actor(resident), row, service_id)
    except DomainError as error:
        db.session.rollback()
        return _service_page(service_id, status_of(error), error, template="portal/service_withdraw.html")
    return redirect(url_for("portal.service", service_id=service_id, withdrawn=1))


@bp.route("/services/<int:service_id>/unlink", methods=("GET", "POST"))
@resident_required
def unlink(service_id: int):
    if request.method == "GET":
        return _service_page(service_id, template="portal/service_unlink.html")
    check_csrf()
    resident, row, refusal = _signed()
    if refusal is not None:
        return _service_page(service_id)
    try:
        operations.unlink(db.session, _actor(resident), row, service_id)
    except DomainError as error:
        db.session.rollback()
        return _service_page(service_id, status_of(error), error, template="portal/service_unlink.html")
    return redirect(url_for("portal.services", unlinked=1))
