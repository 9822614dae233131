"""The residents' desk (issue 42): enrol a person at the counter, look a person up with a reason (audited),
the review queue of enrolments that matched someone. residents.operations decides and audits; a municipality's
own residents' desk only."""

from __future__ import annotations

import sqlalchemy as sa
from flask import flash, g, request, url_for
from flask_admin import expose
from flask_babel import gettext as _, lazy_gettext as _l

from admin.extensions import db
from admin.problems import status_of
from admin.resident_keys import keyring, small_count
from admin.views.base import SecureView, _ja, confirm_first, flash_error, tenants_for
from core.calendar import jst_text
from core.errors import Conflict, DomainError, Invalid
from residents.consent.models import AssuranceLevel, ConsentEvent
from core.validation import whole_number
from residents import figures, moves, operations as residents, recovery
from residents.models import LinkMethod, MatchReason, RecoveryKind, RecoveryStatus, Sex, VerificationMethod

ENROL_FIELDS = ("full_name", "address", "birth_date", "sex", "verification", "assurance_level")
# the link form's fields and the operation's field each stands for (one page holds several forms)
LINK_FIELDS = {"link_service": "service_id", "link_user_id": "service_user_id", "link_verification": "verification",
               "link_assurance": "assurance_level"}


def _label(value: str, kind) -> str:
    ja, en = kind(value).label
    return ja if _ja() else en


def _problems(error: DomainError) -> dict[str, str]:
    ja = _ja()
    return {p["field"].split(".")[-1]: (p["message_ja"] if ja else p["message_en"]) for p in error.problems}


class ResidentsView(SecureView):
    required_action = "resident.read"

    def _tenant(self) -> tuple[str, list]:
        tenants = tenants_for("resident.read")
        chosen = (request.values.get("tenant") or "").strip()
        return (chosen or (tenants[0][0] if len(tenants) == 1 else "")), tenants

    def _page(self, *, values=None, errors=None, found=None, status=200, matches=None, person=None, disclosures=None):
        """The desk's page; ``person`` (the common ID and the reason it was looked up for) shows the forms to link
        a service and set the disclosure ranges: with ``found`` (the person's data, a view audited by
        ``look_up``) after a look-up or a change, without it when a form was refused (then only ``disclosures``,
        the refused range as typed, is shown again: nothing of the person is read on a page that saves nothing)."""
        tenant, tenants = self._tenant()
        reviews, recoveries, services = [], [], []
        if tenant:
            try:
                reviews = [{**row, "reason_label": _label(row["reason"], MatchReason)}
                           for row in residents.list_reviews(db.session, g.actor, tenant)]
                recoveries = [{**row, "kind_label": _label(row["kind"], RecoveryKind),
                               "status_label": _label(row["status"], RecoveryStatus)}
                              for row in recovery.list_recoveries(db.session, g.actor, tenant)]
                services = residents.desk_services(db.session, g.actor, tenant)
            except DomainError as error:
                db.session.rollback()
                status = status_of(error)
        names = {service["id"]: service["name"] for service in services}
        ja = _ja()
        options = {"sex": [(s.value, _label(s.value, Sex)) for s in Sex],
                   "verification": [(v.value, _label(v.value, VerificationMethod))
                                    for v in VerificationMethod],
                   "service": [(str(service["id"]), service["name"]) for service in services],
                   "assurance": [(str(row.level), _("Level %(level)s: %(label)s", level=row.level,
                                                    label=row.label_ja if ja or not row.label_en else row.label_en))
                                 for row in db.session.scalars(sa.select(AssuranceLevel).order_by(AssuranceLevel.level))]}
        if found:
            move = moves.described(db.session, moved_to=found.get("moved_to"), moved_from=found.get("moved_from"),
                                   moved_at=found.get("moved_at"))
            found = {**found, "sex_label": _label(found["sex"], Sex), "move_label": (move[0] if ja else move[1]) if move else "",
                     "consents": [{**consent, "event": _label(consent["event"], ConsentEvent),
                                   "service_name": names.get(consent["service_id"], consent["service_id"]),
                                   "occurred_at": jst_text(consent['occurred_at'])}
                                  for consent in found["consents"]],
                     "links": [{**link, "method_label": _label(link["method"], LinkMethod),
                                "service_name": names.get(link["service_id"], link["service_id"]),
                                "verification_label": _label(link["verification"], VerificationMethod)
                                if link["verification"] else ""}
                               for link in found["links"]]}
            vocabulary = {service["id"]: service["items"] for service in services}
            disclosures = [{"service_id": link["service_id"], "name": link["service_name"], "chosen": link["disclosed"],
                            "items": vocabulary.get(link["service_id"], []), "reason": ""}
                           for link in found["links"] if not link["ended_at"]]
        if matches is not None:
            matches = [{**row, "sex_label": _label(row["sex"], Sex)} for row in matches]
        return self.render("renkei/residents.html", tenant=tenant, tenants=tenants, values=values or {},
                           errors=errors or {}, found=found, reviews=reviews, recoveries=recoveries,
                           options=options, matches=matches, person=person, disclosures=disclosures or []), status

    @expose("/")
    def index(self):
        return self._page()

    @expose("/lookup", methods=("POST",))
    def lookup(self):
        """By common ID, or by a service (picked by name) and its user ID; always with a reason (audited)."""
        tenant = self._tenant()[0]
        values = {name: (request.form.get(name) or "").strip()
                  for name in ("common_id", "reason", "lookup_service", "lookup_user_id")}
        service_id = whole_number(values["lookup_service"], max_digits=9)
        try:
            found = residents.look_up(db.session, g.actor, keyring(), tenant, common_id=values["common_id"],
                                      service_id=service_id, service_user_id=values["lookup_user_id"],
                                      reason=values["reason"])
        except DomainError as error:
            db.session.rollback()
            flash_error(error)
            return self._page(values=values, errors=_problems(error), status=status_of(error))
        return self._page(values=values, found=found, person=_person(found["common_id"], values["reason"]))

    # --- on a person found: link a service at the counter, set a disclosure range ----------------------

    def _refused_form(self, error: DomainError, person: dict, values: dict, errors: dict, disclosures=None):
        db.session.rollback()
        flash_error(error)
        # a mistake in the form (a field's problem, a duplicate link) comes back as typed; not allowed or not
        # found stops with its own status
        status = 422 if isinstance(error, (Invalid, Conflict)) else status_of(error)
        return self._page(values=values, errors=errors, person=person, disclosures=disclosures, status=status)

    def _shown_again(self, person: dict, done: str):
        """The person again after a change (a view, audited with the reason they were looked up for)."""
        found = residents.look_up(db.session, g.actor, keyring(), self._tenant()[0], common_id=person["common_id"],
                                  reason=person["reason"])
        flash(done, "success")
        return self._page(found=found, person=person)

    @expose("/link", methods=("POST",))
    def link(self):
        tenant, form = self._tenant()[0], request.form
        person = _person(form.get("common_id"), form.get("lookup_reason"))
        values = {name: (form.get(name) or "").strip() for name in LINK_FIELDS}
        service_id = whole_number(values["link_service"], max_digits=9)
        level = whole_number(values["link_assurance"], max_digits=2)
        try:
            link = residents.link_service(db.session, g.actor, tenant, person["common_id"], {
                "service_id": service_id if service_id is not None else values["link_service"],
                "service_user_id": values["link_user_id"], "method": "counter",
                "verification": values["link_verification"],  # required at a counter: '' is refused beside the field
                "assurance_level": level if level is not None else values["link_assurance"]})
            return self._shown_again(person, _("Linked: the user ID %(user_id)s of %(service)s.",
                                               user_id=link.service_user_id, service=_service_name(tenant, link.service_id)))
        except DomainError as error:
            fields = {operation: page for page, operation in LINK_FIELDS.items()}
            errors = {fields.get(name, name): text for name, text in _problems(error).items()}
            return self._refused_form(error, person, values, errors)

    @expose("/disclosure", methods=("POST",))
    def disclosure(self):
        tenant, form = self._tenant()[0], request.form
        person = _person(form.get("common_id"), form.get("lookup_reason"))
        service_id = whole_number((form.get("disclosure_service") or "").strip(), max_digits=9)
        items = [item.strip() for item in form.getlist("disclosure_items")]
        reason = (form.get("disclosure_reason") or "").strip()
        try:
            residents.set_disclosure(db.session, g.actor, tenant, person["common_id"], {
                "service_id": service_id or 0, "items": items, "reason": reason})
            return self._shown_again(person, _("The disclosure range of %(service)s is saved.",
                                               service=_service_name(tenant, service_id)))
        except DomainError as error:
            db.session.rollback()
            vocabulary = _service_items(tenant, service_id)
            typed = [{"service_id": service_id, "name": _service_name(tenant, service_id), "items": vocabulary,
                      "chosen": items, "reason": reason,
                      "errors": {"disclosure_" + name if name in ("items", "reason") else name: text
                                 for name, text in _problems(error).items()}}]
            return self._refused_form(error, person, {}, {}, disclosures=typed)

    @expose("/search", methods=("POST",))
    def search(self):
        """By full name (optionally with the date of birth), with a reason: audited with each person shown."""
        tenant = self._tenant()[0]
        values = {name: (request.form.get(name) or "").strip() for name in ("search_name", "search_birth_date",
                                                                           "search_reason")}
        try:
            matches = residents.search_by_name(db.session, g.actor, keyring(), tenant, reason=values["search_reason"],
                                               full_name=values["search_name"], birth_date=values["search_birth_date"])
        except DomainError as error:
            db.session.rollback()
            flash_error(error)
            errors = {f"search_{field}" if field != "full_name" else "search_name": message
                      for field, message in _problems(error).items()}
            return self._page(values=values, errors=errors, status=status_of(error))
        return self._page(values=values, matches=matches)

    @expose("/enrol", methods=("POST",))
    def enrol(self):
        tenant = self._tenant()[0]
        values = {name: (request.form.get(name) or "").strip() for name in ENROL_FIELDS}
        level = whole_number(values["assurance_level"], max_digits=2)
        try:
            enrolment = residents.enrol(db.session, g.actor, keyring(), {
                **values, "tenant_code": tenant, "assurance_level": level if level is not None else values["assurance_level"]})
        except DomainError as error:
            db.session.rollback()
            flash_error(error)
            return self._page(values=values, errors=_problems(error), status=status_of(error))
        if enrolment.review is None:
            flash(_("Enrolled: common ID %(common_id)s.", common_id=enrolment.resident.common_id), "success")
        else:
            flash(_("This person may already be enrolled: the enrolment waits for review (%(number)s).",
                    number=enrolment.review.id), "warning")
        return self._page()

    @expose("/reviews/<int:review_id>", methods=("POST",))
    def decide(self, review_id: int):
        tenant = self._tenant()[0]
        try:
            residents.decide_review(db.session, g.actor, tenant, review_id, request.form.get("decision") == "same",
                                    request.form.get("reason") or "", keys=keyring())
        except DomainError as error:
            db.session.rollback()
            flash_error(error)
            return self._page(status=status_of(error))
        return self._page()

    # --- recovery: split a wrong link, merge two common IDs (four eyes; residents.recovery) ------------

    def _recover(self, act, done: str, *, reason_field: str = "reason"):
        try:
            act()
        except DomainError as error:
            db.session.rollback()
            flash_error(error)
            values = {name: (request.form.get(name) or "").strip() for name in request.form if name != "csrf_token"}
            errors = {(reason_field if name == "reason" else name): text for name, text in _problems(error).items()}
            return self._page(values=values, errors=errors, status=status_of(error))
        flash(done, "success")
        return self._page()

    @expose("/recoveries/split", methods=("POST",))
    def propose_split(self):
        tenant, form = self._tenant()[0], request.form
        service_id = whole_number((form.get("service_id") or "").strip(), max_digits=9)
        return self._recover(lambda: recovery.propose_split(db.session, g.actor, tenant, form.get("common_id") or "",
                                                            service_id or 0, form.get("reason") or ""),
                             _("Proposed. The link ends when another person of the desk approves it."))

    @expose("/recoveries/merge", methods=("POST",))
    def propose_merge(self):
        tenant, form = self._tenant()[0], request.form
        return self._recover(lambda: recovery.propose_merge(
            db.session, g.actor, tenant, form.get("surviving_common_id") or "", form.get("merged_common_id") or "",
            form.get("merge_reason") or ""), _("Proposed. The IDs are merged when another person of the desk approves it."),
            reason_field="merge_reason")

    @expose("/recoveries/<int:recovery_id>", methods=("POST",))
    def decide_recovery(self, recovery_id: int):
        tenant, decision = self._tenant()[0], request.form.get("decision")
        reason = request.form.get("reason") or ""
        if decision == "approve":
            asking = self._confirm_approval(tenant, recovery_id)
            if asking is not None:
                return asking
            return self._recover(lambda: recovery.approve(db.session, g.actor, tenant, recovery_id, reason),
                                 _("Approved and done: the services and the resident are notified."))
        move = recovery.cancel if decision == "cancel" else recovery.refuse
        return self._recover(lambda: move(db.session, g.actor, tenant, recovery_id, reason),
                             _("Cancelled: nothing changed.") if decision == "cancel" else _("Refused: nothing changed."))

    def _confirm_approval(self, tenant: str, recovery_id: int):
        """The confirmation page saying what the approval will do (nothing is written before it is confirmed)."""
        try:
            row = recovery.recovery_view(db.session, recovery.get_recovery(db.session, tenant, recovery_id), g.actor)
        except DomainError:
            return None  # the operation refuses it in its own words
        if row["kind"] == "split":
            consequence = _("The link of common ID %(common_id)s to the user ID %(user_id)s of service %(service)s "
                            "ends (it is kept as ended). The linkage records made under it are marked, and the service "
                            "and the resident are notified. This cannot be undone.", common_id=row["common_id"],
                            user_id=row["service_user_id"], service=row["service_id"])
        else:
            consequence = _("Common ID %(merged)s is merged into %(surviving)s: its links, consents and sign-in "
                            "identifiers move to %(surviving)s, and %(merged)s stands for %(surviving)s from now on. "
                            "The services and the resident are notified. This cannot be undone.",
                            merged=row["merged_common_id"], surviving=row["common_id"])
        return confirm_first(self, title=_("Approve the proposal"), consequence=consequence,
                             confirm_label=_("Approve and carry it out"), back=url_for(".index", tenant=tenant))


def _person(common_id, reason) -> dict:
    """The person the desk's forms act on: their common ID and the reason they were looked up for."""
    return {"common_id": (common_id or "").strip(), "reason": (reason or "").strip()}


def _desk_services(tenant: str) -> list[dict]:
    try:
        return residents.desk_services(db.session, g.actor, tenant)
    except DomainError:
        return []


def _service_name(tenant: str, service_id) -> str:
    """The name of one of the municipality's approved services ('' for any other)."""
    return next((service["name"] for service in _desk_services(tenant) if service["id"] == service_id), "")


def _service_items(tenant: str, service_id) -> list:
    """The items one of the municipality's approved services may be disclosed (none for any other)."""
    if not (service_id and tenant):
        return []
    return next((service["items"] for service in _desk_services(tenant) if service["id"] == service_id), [])


class ResidentFiguresView(SecureView):
    """Numbers for policy work (residents.figures): counts only, small ones suppressed ("10未満")."""

    required_action = "resident.figures"

    @expose("/")
    def index(self):
        tenants = tenants_for("resident.figures")
        tenant = (request.values.get("tenant") or "").strip() or (tenants[0][0] if len(tenants) == 1 else "")
        fiscal_year = whole_number((request.values.get("fiscal_year") or "").strip(), max_digits=4)
        numbers, status = None, 200
        if tenant:
            try:
                numbers = figures.policy_figures(db.session, g.actor, tenant, fiscal_year=fiscal_year,
                                                 threshold=small_count())
            except DomainError as error:
                db.session.rollback()
                flash_error(error)
                status = status_of(error)
        return self.render("renkei/resident_figures.html", tenant=tenant, tenants=tenants, numbers=numbers,
                           fiscal_year=fiscal_year or ""), status


def views(session):
    return [ResidentsView(name=_l("Residents' desk"), endpoint="residents", url="residents"),
            ResidentFiguresView(name=_l("Residents' figures"), endpoint="resident_figures", url="residents-figures")]
