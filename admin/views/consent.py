"""The pages of personal data by consent (issue 23; residents/consent):

* ``consent_services``: the services that receive personal data; a tenant's or organisation's admin
  registers one and revises its consent text; the operator approves, suspends, resumes and ends
  them (each asks first and says what follows) and keeps the assurance levels; a service's page
  shows its controller, the split of responsibility and every version of its consent text, and its
  linkages (to its owner's admins, the operator and the auditor: an audited read).
* ``consent_records``: a clerk of a municipality records a person's paper consent at the counter, or
  its withdrawal (asks first), the person named by their pseudonymous identifier, the service and
  the text version picked; the printable consent receipt.
* ``consent_history``: everything about one person of a tenant (開示請求), printable, CSV and Excel.
* ``consent_linkages``: the auditor's and operator's search of linkage records across tenants.

Every change is a POST through admin/views/base.py's one POST path; every read of a person's
history and every linkage search is audited by the operation it calls.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from urllib.parse import quote

from flask import Response, abort, current_app, g, request, url_for
from flask_admin import expose
from flask_babel import gettext as _, lazy_gettext as _l

from admin.extensions import db
from admin.problems import status_of, stop_unless_about_fields
from admin.views.base import SecureView, confirm_first, flash_error, post_action, tenants_for
from core import authz
from core.calendar import day_start_utc, jst_text
from core.errors import DomainError
from core.spreadsheet import CSV_MIMETYPE
from core.validation import whole_number
from residents.consent import history, lifecycle, operations as consent, terms
from residents.consent import subject_ids
from residents.consent.models import ConsentEvent, ConsentMethod, ServiceStatus
from catalogue import catalogue, operations as datasets
from tenancy.identity.models import ApiClient

SERVICE_FIELDS = ("owner_code", "name", "provider", "controller", "controller_contact", "responsibility",
                  "retention_days", "required_level", "api_client_id", "user_id_pattern", "user_id_min_length",
                  "user_id_max_length")
TEXT_FIELDS = ("title", "body_ja", "body_en", "purposes", "optional_purposes", "items", "legal_basis", "jurisdiction")
TERMS_FIELDS = ("special_care", "processing")  # a checkbox and checkboxes: read apart
RECORD_FIELDS = ("tenant_code", "subject_id", "text_choice", "method", "assurance_level", "expires_on")
WITHDRAW_FIELDS = ("tenant_code", "subject_id", "service_id", "method")


def _ja() -> bool:
    from admin.i18n import current_language

    return current_language() == "ja"


def _pick(pair) -> str:
    return pair[0] if _ja() else pair[1]


def _jst(moment: dt.datetime | None) -> str:
    return jst_text(moment) if moment else ""


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.replace("\r", "").split("\n") if line.strip()]


def _field_of(path: str, mapping: dict[str, str]) -> str:
    """The form field a problem's path (``text.items.生年月日.[key]``, ``retention_days``) belongs to."""
    head = path.split("[")[0]
    for prefix, field in mapping.items():
        if head == prefix or head.startswith(prefix + "."):
            return field
    return head.split(".")[-1]


def _errors_of(error: DomainError, mapping: dict[str, str], known: tuple[str, ...]) -> tuple[dict[str, str], list]:
    """The problems beside their form fields, and those no field takes."""
    errors, left = {}, []
    for item in error.problems:
        field = _field_of(item.get("field", ""), mapping)
        text = item["message_ja"] if _ja() else item["message_en"]
        if field in known:
            errors.setdefault(field, text)
        else:
            left.append(item)
    return errors, left


TEXT_MAPPING = {"text.title": "title", "text.body_ja": "body_ja", "text.body_en": "body_en", "text.purposes": "purposes",
                "text.optional_purposes": "optional_purposes", "text.items": "items", "text.legal_basis": "legal_basis",
                "text.jurisdiction": "jurisdiction", "text.processing": "processing", "text": "purposes", "title": "title",
                "body_ja": "body_ja", "body_en": "body_en", "purposes": "purposes", "optional_purposes": "optional_purposes",
                "items": "items", "legal_basis": "legal_basis", "jurisdiction": "jurisdiction", "processing": "processing"}


# The data items of a consent text are rows of the form: a name typed, the dataset it comes from picked
# (the datasets the service's owner may name, searchable); never an identifier typed.
BLANK_ROWS, MORE_ROWS, PICKER_SIZE = 3, 3, 50
_TERM_DEFAULTS = {"legal_basis": terms.DEFAULT_LEGAL_BASIS, "special_care": False,
                  "processing": list(terms.DEFAULT_PROCESSING), "jurisdiction": terms.DEFAULT_JURISDICTION}
_ITEM_PROBLEM = re.compile(r"^(?:text\.)?items\[(\d+)\]\.dataset_ref$")


def _posted_rows() -> list[dict[str, str]]:
    names, picked = request.form.getlist("item_name"), request.form.getlist("item_dataset")
    rows = [{"name": (name or "").strip()[:200], "dataset": (picked[i] if i < len(picked) else "").strip()[:100]}
            for i, name in enumerate(names[:200])]
    return rows


def _with_blanks(rows: list[dict[str, str]], blanks: int = BLANK_ROWS) -> list[dict[str, str]]:
    return rows + [{"name": "", "dataset": ""} for _ in range(blanks)]


def _text_values(values: dict) -> dict:
    """The text fields typed, with the item rows and the picker's search."""
    values = {**values, "rows": _posted_rows(), "dataset_q": (request.form.get("dataset_q") or "").strip()[:100],
              "special_care": bool(request.form.get("special_care")),
              "processing": [code for code in request.form.getlist("processing")[:20] if code in terms.PROCESSING]}
    if request.form.get("action") == "more_rows":
        values["rows"] = _with_blanks(values["rows"], MORE_ROWS)
    return values


def _text_draft(values: dict) -> tuple[dict, list[int], dict[str, str]]:
    """The draft of the typed text; the row of each data item (by its position); problems of rows
    the draft cannot carry (a dataset picked for no name)."""
    named = [(index, row) for index, row in enumerate(values["rows"]) if row["name"]]
    errors = {f"item_dataset_{index}": _("Enter the name of the data item this dataset is the source of.")
              for index, row in enumerate(values["rows"]) if row["dataset"] and not row["name"]}
    items = consent.items_named([row["name"] for _index, row in named])
    for _index, row in named:
        if row["dataset"]:
            items[row["name"]] = {"dataset_ref": row["dataset"]}
    draft = {"title": values["title"], "body_ja": values["body_ja"], "body_en": values["body_en"],
             "purposes": _lines(values["purposes"]), "optional_purposes": _lines(values.get("optional_purposes", "")),
             "items": items, "legal_basis": values.get("legal_basis") or terms.DEFAULT_LEGAL_BASIS,
             "special_care": bool(values.get("special_care")),
             "processing": values.get("processing") or list(terms.DEFAULT_PROCESSING),
             "jurisdiction": values.get("jurisdiction") or terms.DEFAULT_JURISDICTION}
    return draft, [index for index, _row in named], errors


def _text_errors(error: DomainError, rows_of: list[int], known: tuple[str, ...]) -> tuple[dict[str, str], list]:
    """The problems beside their fields: a data item's dataset beside its row's picker."""
    errors, left = {}, []
    for item in error.problems:
        found = _ITEM_PROBLEM.match(item.get("field", ""))
        if found and int(found.group(1)) < len(rows_of):
            errors.setdefault(f"item_dataset_{rows_of[int(found.group(1))]}", item["message_ja"] if _ja() else item["message_en"])
        else:
            left.append(item)
    error.problems = left
    more, left = _errors_of(error, TEXT_MAPPING, known)
    return {**more, **errors}, left


def _dataset_label(dataset, provider) -> str:
    """A dataset as the picker names it: its title with its provider's name, in the reader's language."""
    who = (provider.name_ja if _ja() else provider.name_en) if provider else dataset.provider_code
    title = dataset.title_ja if _ja() else (dataset.title_en or dataset.title_ja)
    return f"{title}（{who}）"


def _picker(owner_codes: list[str] | None, values: dict) -> dict:
    """What the items' dataset pickers offer: the datasets the owner may name matching the search,
    those already picked first; each by its title with its provider's name."""
    chosen = [row["dataset"] for row in values.get("rows", []) if row["dataset"]]
    rows, total = datasets.nameable_choices(db.session, owner_codes, search=values.get("dataset_q", ""), chosen=chosen,
                                            limit=PICKER_SIZE)
    names = catalogue.providers(db.session, [d.provider_code for d in rows])
    options = [(d.uid, _dataset_label(d, names.get(d.provider_code))) for d in rows]
    known = {uid for uid, _label in options}
    # a pick that is no longer offered (typed by hand, or not the owner's to name) stays shown as picked
    options += [(uid, uid) for uid in chosen if uid not in known]
    return {"options": options, "matching": total, "size": PICKER_SIZE}


def _shown_sources(summaries: list[tuple[str, dict | None]]) -> list[dict]:
    """Data items as the pages show them: the name, the dataset's title and provider in the reader's
    language, and the link to the dataset's page where the reader may open it."""
    shown = []
    for name, dataset in summaries:
        entry = {"name": name, "title": None, "provider": None, "url": None}
        if dataset is not None:
            entry["title"] = dataset["title_ja"] if _ja() else dataset["title_en"]
            entry["provider"] = dataset["provider_name_ja"] if _ja() else dataset["provider_name_en"]
            if authz.allowed(g.actor, "dataset.read", dataset["provider_code"]):
                entry["url"] = url_for("datasets.detail", uid=dataset["uid"])
        shown.append(entry)
    return shown


def _text_sources(text_id: int) -> list[dict]:
    sources = consent.item_sources(db.session, text_id)
    summaries = consent.dataset_summary(db.session, [s.dataset for s in sources])
    return _shown_sources([(s.item.name, summaries[s.dataset.id] if s.dataset else None) for s in sources])


def _levels() -> list[tuple[str, str]]:
    return [(str(row.level), row.label(_ja()))
            for row in consent.list_levels(db.session)]


def _term_options() -> dict:
    """The choices of a consent text's TS 27560 fields, in the reader's language."""
    return {"legal_bases": [(code, _pick((ja, en))) for code, (ja, en, _dpv) in terms.LEGAL_BASES.items()],
            "processing": [(code, _pick((ja, en))) for code, (ja, en, _dpv) in terms.PROCESSING.items()],
            "jurisdictions": [(code, f"{name}（{code}）") for code, name in terms.jurisdictions(_ja())]}


def _term_rows(found: dict) -> list[tuple[str, str]]:
    """The TS 27560 fields of a consent (:func:`residents.consent.terms.record_terms`, or the receipt
    that carries them) as label and value, in the reader's language."""
    label = "label_ja" if _ja() else "label_en"
    days = found["storage_duration"]["days"]
    return [
        (_("Legal basis"), "、".join(entry[label] for entry in found["legal_basis"])),
        (_("Special-care personal information"),
         _("Included (its acquisition needs the person's consent)") if found["special_care_personal_data"] else _("Not included")),
        (_("Processing"), "、".join(entry[label] for entry in found["processing"])),
        (_("Jurisdiction and applicable law"), f"{found['jurisdiction']}（{found['applicable_law'][label]}）"),
        (_("Retention by the service"), _("%(days)s days", days=days) if days else _("Not stated")),
    ]


def _purposes_shown(session, text_id: int) -> list[tuple[str, bool]]:
    """A text's purposes in order, each with whether it is required."""
    required = set(consent.purposes_of(session, text_id, required=True))
    return [(statement, statement in required) for statement in consent.purposes_of(session, text_id)]


class _RowsRefused(Exception):
    """The item rows have problems of their own (found before the operation is asked)."""


class ConsentServicesView(SecureView):
    """Services that receive personal data: the list, one service, registration, texts, the operator's moves."""

    required_action = "consent.service.read"  # every one who may register a service may read it

    def _owners(self) -> list[tuple[str, str]]:
        grant = authz.grant_for(g.actor, "consent.service.manage")
        if grant is None:
            return []
        found = catalogue.providers(db.session, None if grant.all_tenants else sorted(grant.tenant_codes))
        ja = _ja()  # once: every municipality at national size
        return [(code, f"{p.name_ja if ja else p.name_en}（{code}）") for code, p in sorted(found.items())]

    def _clients(self, owners: list[str]) -> list[tuple[str, str]]:
        if not owners:
            return []
        names = catalogue.providers(db.session, owners)
        rows = db.session.query(ApiClient).filter(ApiClient.tenant_code.in_(sorted(owners))).order_by(ApiClient.name)
        return [(str(c.id), f"{c.name}（{names[c.tenant_code].name_ja if c.tenant_code in names else c.tenant_code}）")
                for c in rows]

    @expose("/")
    def index(self):
        status = request.args.get("status") or None
        if status and status not in {s.value for s in ServiceStatus}:
            abort(400)
        services = consent.list_services(db.session, g.actor, status=ServiceStatus(status) if status else None)
        owners = catalogue.providers(db.session, [s.owner_code for s in services])
        return self.render("renkei/consent_services.html", services=services, owners=owners, status=status,
                           statuses=[(s.value, _pick(s.label)) for s in ServiceStatus],
                           status_label=lambda s: _pick(ServiceStatus(s).label),
                           can_register=authz.grant_for(g.actor, "consent.service.manage") is not None,
                           can_manage=authz.allowed(g.actor, "consent.manage"),
                           can_search=authz.allowed(g.actor, "consent.linkage.read"))

    def _form(self, values: dict, errors: dict, status: int = 200):
        owners = self._owners()
        grant = authz.grant_for(g.actor, "consent.service.manage")
        # the datasets the chosen owner may name; before one is chosen, those any of the reader's owners may
        scope = [values["owner_code"]] if values.get("owner_code") in dict(owners) else \
            (None if grant is not None and grant.all_tenants else [code for code, _label in owners])
        return self.render("renkei/consent_service_form.html", values=values, errors=errors, owners=owners,
                           levels=_levels(), clients=self._clients([code for code, _label in owners]),
                           picker=_picker(scope, values), term_options=_term_options()), status

    @expose("/new", methods=("GET", "POST"))
    def new(self):
        if authz.grant_for(g.actor, "consent.service.manage") is None:
            abort(403)
        if request.method == "GET":
            owners = self._owners()
            return self._form({"owner_code": owners[0][0] if len(owners) == 1 else "", "retention_days": "365",
                               "required_level": "2", "rows": _with_blanks([], 5), **_TERM_DEFAULTS,
                               "user_id_pattern": subject_ids.DEFAULT_PATTERN,
                               "user_id_min_length": str(subject_ids.DEFAULT_MIN_LENGTH),
                               "user_id_max_length": str(subject_ids.DEFAULT_MAX_LENGTH)}, {})
        values = _text_values({name: (request.form.get(name) or "").strip() for name in SERVICE_FIELDS + TEXT_FIELDS})
        if request.form.get("action") in ("search", "more_rows"):  # the picker narrowed, rows added: nothing saved
            return self._form(values, {})
        errors = {}
        days = None
        days = whole_number(values["retention_days"], max_digits=6)
        if days is None:
            errors["retention_days"] = _("Enter the number of days (digits only).")
        level = whole_number(values["required_level"], max_digits=2)
        if level is None:
            errors["required_level"] = _("Choose one of the levels.")
        lengths = {}  # a form without the user IDs' form (left blank) takes the platform's own
        for name, default in (("user_id_min_length", subject_ids.DEFAULT_MIN_LENGTH),
                              ("user_id_max_length", subject_ids.DEFAULT_MAX_LENGTH)):
            lengths[name] = whole_number(values[name], max_digits=3) if values[name] else default
            if lengths[name] is None:
                errors[name] = _("Enter the number of characters (digits only).")
        client = None
        if values["api_client_id"]:
            client = whole_number(values["api_client_id"], max_digits=9)
            if client is None:
                abort(400)
        rows_of: list[int] = []
        if not errors:
            try:
                draft, rows_of, errors = _text_draft(values)
                if errors:
                    raise _RowsRefused()
                data = {"owner_code": values["owner_code"], "name": values["name"], "provider": values["provider"],
                        "controller": values["controller"], "controller_contact": values["controller_contact"],
                        "responsibility": values["responsibility"], "retention_days": days, "required_level": level,
                        "api_client_id": client, "text": draft, "user_id_pattern": values["user_id_pattern"] or subject_ids.DEFAULT_PATTERN,
                        **lengths}
                service = consent.register_service(db.session, g.actor, data)
            except _RowsRefused:
                pass
            except DomainError as error:
                db.session.rollback()
                stop_unless_about_fields(error)
                errors, left = _text_errors(error, rows_of, SERVICE_FIELDS + TEXT_FIELDS + TERMS_FIELDS)
                if left or not errors:
                    error.problems = left
                    flash_error(error)
            else:
                return post_action(lambda: service, back=url_for(".detail", service_id=service.id),
                                   saved=_("The service was registered; it awaits the operator's approval."))
        return self._form(values, errors, status=422)

    def _service(self, service_id: int):
        try:
            return consent.read_service(db.session, g.actor, service_id)
        except DomainError as error:
            abort(status_of(error))

    @expose("/<int:service_id>")
    def detail(self, service_id: int):
        service = self._service(service_id)
        texts = consent.texts_of(db.session, service.id)
        owner = catalogue.providers(db.session, [service.owner_code]).get(service.owner_code)
        level = next((label for value, label in _levels() if value == str(service.required_level)), str(service.required_level))
        client = db.session.get(ApiClient, service.api_client_id) if service.api_client_id else None
        return self.render(
            "renkei/consent_service.html", service=service, owner=owner, level=level, client=client, texts=texts,
            current=consent.current_text(db.session, service),
            purposes={t.id: _purposes_shown(db.session, t.id) for t in texts},
            term_rows={t.id: _term_rows(terms.record_terms(t, service)) for t in texts},
            items={t.id: _text_sources(t.id) for t in texts},
            status_label=_pick(ServiceStatus(service.status).label),
            moves=lifecycle.allowed_transitions(service) if authz.allowed(g.actor, "consent.manage") else [],
            move_label=lambda t: t.label_ja if _ja() else t.label_en, jst=_jst,
            can_revise=authz.allowed(g.actor, "consent.service.manage", service.owner_code)
            and service.status != ServiceStatus.ended,
            can_linkages=authz.allowed(g.actor, "consent.service.read", service.owner_code))

    @expose("/<int:service_id>/move/<verb>", methods=("POST",))
    def move(self, service_id: int, verb: str):
        if verb not in lifecycle.TRANSITIONS:
            abort(404)
        if not authz.allowed(g.actor, "consent.manage"):
            abort(403)
        asks = {
            "approve": (_("Approve this service?"),
                        _("Residents can then consent to it, and the broker's consent check allows transfers of their data to it on their consent."),
                        _("Approve")),
            "suspend": (_("Suspend this service?"),
                        _("From the next consent check on, every transfer of personal data to it is refused, whatever the consents, until it is resumed."),
                        _("Suspend")),
            "resume": (_("Resume this service?"),
                       _("The consent check again allows transfers to it on the consents in force."), _("Resume")),
            "end": (_("End this service?"),
                    _("Every transfer to it is refused from the next check on, and no consent can be recorded for it. This cannot be undone."),
                    _("End the service")),
        }
        title, consequence, label = asks[verb]
        confirmation = confirm_first(self, title=title, consequence=consequence, confirm_label=label,
                                     back=url_for(".detail", service_id=service_id))
        if confirmation is not None:
            return confirmation
        saved = {"approve": _("The service was approved."), "suspend": _("The service was suspended."),
                 "resume": _("The service was resumed."), "end": _("The service was ended.")}[verb]
        return post_action(lambda: consent.move_service(db.session, g.actor, service_id, verb, request.form.get("reason", "")),
                           back=url_for(".detail", service_id=service_id), saved=saved)

    @expose("/<int:service_id>/texts/new", methods=("GET", "POST"))
    def revise(self, service_id: int):
        service = self._service(service_id)
        if not authz.allowed(g.actor, "consent.service.manage", service.owner_code):
            abort(403)
        current = consent.current_text(db.session, service)
        if request.method == "GET":
            values = {"title": current.title, "body_ja": current.body_ja, "body_en": current.body_en,
                      "purposes": "\n".join(consent.purposes_of(db.session, current.id, required=True)),
                      "optional_purposes": "\n".join(consent.purposes_of(db.session, current.id, required=False)),
                      "legal_basis": current.legal_basis, "special_care": current.special_care,
                      "processing": terms.processing_of(current), "jurisdiction": current.jurisdiction,
                      "rows": _with_blanks([{"name": s.item.name, "dataset": s.dataset.uid if s.dataset else ""}
                                            for s in consent.item_sources(db.session, current.id)])} \
                if current else {"rows": _with_blanks([], 5), **_TERM_DEFAULTS}
            return self._text_form(service, values, {})
        values = _text_values({name: (request.form.get(name) or "").strip() for name in TEXT_FIELDS})
        if request.form.get("action") in ("search", "more_rows"):  # the picker narrowed, rows added: nothing saved
            return self._text_form(service, values, {})
        try:
            draft, rows_of, errors = _text_draft(values)
        except DomainError as error:
            errors, left = _text_errors(error, [], TEXT_FIELDS + TERMS_FIELDS)
            return self._text_form(service, values, errors, 422)
        if errors:
            return self._text_form(service, values, errors, 422)
        confirmation = confirm_first(
            self, title=_("Publish a new version of the consent text?"),
            consequence=_("Consents given to earlier versions no longer allow any transfer: each person has to consent to the new version before their data goes to this service again. A version cannot be removed."),
            confirm_label=_("Publish the new version"), back=url_for(".detail", service_id=service_id))
        if confirmation is not None:
            return confirmation
        try:
            text = consent.revise_text(db.session, g.actor, service_id, draft)
        except DomainError as error:
            db.session.rollback()
            stop_unless_about_fields(error)
            errors, left = _text_errors(error, rows_of, TEXT_FIELDS + TERMS_FIELDS)
            if left or not errors:
                error.problems = left
                flash_error(error)
            return self._text_form(service, values, errors, 422)
        return post_action(lambda: text, back=url_for(".detail", service_id=service_id),
                           saved=_("Version %(n)s of the consent text is now the current one.", n=text.number))

    def _text_form(self, service, values: dict, errors: dict, status: int = 200):
        return self.render("renkei/consent_text_form.html", service=service, values=values, errors=errors,
                           picker=_picker([service.owner_code], values), term_options=_term_options()), status

    @expose("/<int:service_id>/linkages")
    def linkages(self, service_id: int):
        service = self._service(service_id)
        first, last, result = _period_args()
        try:
            rows = history.service_linkages(db.session, g.actor, service.id, first_day=first, last_day=last,
                                            allowed=None if result is None else result == "allowed")
        except DomainError as error:
            db.session.rollback()
            stop_unless_about_fields(error)
            flash_error(error)
            rows = []
        return self.render("renkei/consent_linkages.html", service=service, services=[], rows=history.linkage_dicts(
            rows, db.session, "ja" if _ja() else "en"), searched=True, args=request.args, limit=history.MAX_ROWS,
            action=url_for(".linkages", service_id=service.id), history_ok=_history_ok)

    @expose("/levels", methods=("GET", "POST"))
    def levels(self):
        if not authz.allowed(g.actor, "consent.manage"):
            abort(403)
        values, errors = {}, {}
        if request.method == "POST":
            values = {name: (request.form.get(name) or "").strip() for name in ("level", "label_ja", "label_en")}
            if not 1 <= (whole_number(values["level"], max_digits=2) or 0) <= 99:
                errors["level"] = _("Enter a number from 1 to 99.")
            elif _level_set(values, errors):
                return post_action(lambda: None, back=url_for(".levels"), saved=_("Saved."))
        return self.render("renkei/consent_levels.html", levels=consent.list_levels(db.session), values=values,
                           errors=errors), (422 if errors else 200)


def _level_set(values: dict[str, str], errors: dict[str, str]) -> bool:
    """Set the typed consent level; when refused, its problems go into ``errors`` beside their fields
    (the refusal flashed when some problem has no field) and False is returned."""
    try:
        consent.set_level(db.session, g.actor, whole_number(values["level"]), values["label_ja"], values["label_en"])
    except DomainError as error:
        db.session.rollback()
        stop_unless_about_fields(error)
        found, left = _errors_of(error, {}, ("level", "label_ja", "label_en"))
        errors.update(found)
        if left or not found:
            error.problems = left
            flash_error(error)
        return False
    return True


def _period_args() -> tuple[dt.date | None, dt.date | None, str | None]:
    def day(name):
        text = request.args.get(name) or ""
        if not text:
            return None
        try:
            return dt.date.fromisoformat(text)
        except ValueError:
            abort(400)

    result = request.args.get("result") or None
    if result not in (None, "allowed", "refused"):
        abort(400)
    return day("from"), day("to"), result


def _history_ok(tenant_code: str) -> bool:
    return authz.allowed(g.actor, "consent.history", tenant_code)


class ConsentRecordsView(SecureView):
    """A clerk records a person's paper consent or its withdrawal; the printable consent receipt."""

    required_action = "consent.record"

    def _choices(self) -> list[tuple[str, str]]:
        """Each approved service with its current text version: what the person can consent to now."""
        found = []
        for service in consent.approved_services(db.session, g.actor):
            text = consent.current_text(db.session, service)
            if text is not None:
                found.append((f"{service.id}:{text.id}",
                              _("%(service)s — version %(n)s “%(title)s”", service=service.name, n=text.number,
                                title=text.title)))
        return found

    def _texts(self):
        shown = []
        for service in consent.approved_services(db.session, g.actor):
            text = consent.current_text(db.session, service)
            if text is not None:
                shown.append((service, text, _purposes_shown(db.session, text.id), _text_sources(text.id)))
        return shown

    def _page(self, values: dict, errors: dict, withdraw_values: dict, withdraw_errors: dict, status: int = 200):
        return self.render(
            "renkei/consent_record.html", values=values, errors=errors, wvalues=withdraw_values, werrors=withdraw_errors,
            tenants=tenants_for("consent.record"), choices=self._choices(), texts=self._texts(), levels=_levels(),
            methods=[(m.value, _pick(m.label)) for m in (ConsentMethod.paper, ConsentMethod.web,
                                                                          ConsentMethod.app)],
            services=[(str(s.id), s.name) for s in consent.approved_services(db.session, g.actor, approved_only=False)]), status

    @expose("/")
    def index(self):
        tenants = tenants_for("consent.record")
        tenant = tenants[0][0] if len(tenants) == 1 else ""
        return self._page({"tenant_code": tenant, "method": "paper"}, {}, {"tenant_code": tenant, "method": "paper"}, {})

    @expose("/give", methods=("POST",))
    def give(self):
        values = {name: (request.form.get(name) or "").strip() for name in RECORD_FIELDS}
        errors = {}
        service_id = text_id = None
        choice = values["text_choice"].split(":")
        if len(choice) == 2 and all(whole_number(part, max_digits=9) is not None for part in choice):
            service_id, text_id = whole_number(choice[0]), whole_number(choice[1])
        else:
            errors["text_choice"] = _("Choose the service and the version of its consent text the person agreed to.")
        level = whole_number(values["assurance_level"], max_digits=2)
        if level is None:
            errors["assurance_level"] = _("Choose one of the levels.")
        expires = None
        if values["expires_on"]:
            try:
                expires = day_start_utc(dt.date.fromisoformat(values["expires_on"]) + dt.timedelta(days=1))
            except ValueError:
                errors["expires_on"] = _("Enter the date as YYYY-MM-DD.")
        if not errors:
            from residents.consent.models import ConsentText

            text = db.session.get(ConsentText, text_id)
            picked = [value.split("|", 1) for value in request.form.getlist("optional_purpose")[:50] if "|" in value]
            data = {"service_id": service_id, "tenant_code": values["tenant_code"], "subject_id": values["subject_id"],
                    "content_hash": text.content_hash if text is not None and text.service_id == service_id else "0" * 64,
                    "method": values["method"] or "paper", "assurance_level": level, "expires_at": expires,
                    "optional_purposes": list(dict.fromkeys(statement for chosen, statement in picked
                                                            if chosen == str(text_id)))}
            try:
                record = consent.give_consent(db.session, g.actor, data)
            except DomainError as error:
                db.session.rollback()
                if error.kind == "forbidden":
                    errors["tenant_code"] = _("You may record consents only for the people of your own municipality.")
                else:
                    errors, left = _errors_of(error, {"content_hash": "text_choice", "service_id": "text_choice",
                                                      "optional_purposes": "text_choice", "expires_at": "expires_on"},
                                              RECORD_FIELDS)
                    if error.kind == "conflict" and "text_choice" not in errors:
                        errors["text_choice"] = error.message_ja if _ja() else error.message_en
                    elif left or not errors:
                        error.problems = left
                        flash_error(error)
            else:
                return post_action(lambda: record, back=url_for(".receipt", receipt_id=record.receipt_id),
                                   saved=_("The consent was recorded. Hand the person their receipt."))
        return self._page(values, errors, {"tenant_code": values["tenant_code"], "subject_id": values["subject_id"],
                                           "method": "paper"}, {}, status=422)

    @expose("/withdraw", methods=("POST",))
    def withdraw(self):
        values = {name: (request.form.get(name) or "").strip() for name in WITHDRAW_FIELDS}
        errors = {}
        if whole_number(values["service_id"], max_digits=9) is None:
            errors["service_id"] = _("Choose the service.")
        if not errors:
            confirmation = confirm_first(
                self, title=_("Record the withdrawal of this consent?"),
                consequence=_("From the next consent check on, none of this person's data goes to the service. This cannot be undone: the person would have to consent again."),
                confirm_label=_("Record the withdrawal"), back=url_for(".index"))
            if confirmation is not None:
                return confirmation
            data = {"service_id": whole_number(values["service_id"]), "tenant_code": values["tenant_code"],
                    "subject_id": values["subject_id"], "method": values["method"] or "paper"}
            try:
                record = consent.withdraw_consent(db.session, g.actor, data)
            except DomainError as error:
                db.session.rollback()
                if error.kind == "forbidden":
                    errors["tenant_code"] = _("You may record consents only for the people of your own municipality.")
                else:
                    errors, left = _errors_of(error, {}, WITHDRAW_FIELDS)
                    if error.kind in ("conflict", "not_found") and not errors:
                        errors["service_id"] = error.message_ja if _ja() else error.message_en
                    elif left or not errors:
                        error.problems = left
                        flash_error(error)
            else:
                return post_action(lambda: record, back=url_for(".receipt", receipt_id=record.receipt_id),
                                   saved=_("The withdrawal was recorded; it applies to the next consent check."))
        return self._page({"tenant_code": values["tenant_code"], "method": "paper"}, {}, values, errors, status=422)

    def _receipt_record(self, receipt_id: str):
        """The consent record a receipt page or file shows (404 for an id that is not a UUID's length)."""
        if len(receipt_id) != 36:
            abort(404)
        try:
            return consent.get_record(db.session, g.actor, receipt_id)
        except DomainError as error:
            abort(status_of(error))

    @expose("/receipt/<receipt_id>")
    def receipt(self, receipt_id: str):
        record = self._receipt_record(receipt_id)
        data = consent.receipt(db.session, record, seals=_seals())
        return self.render("renkei/consent_receipt.html", r=data, proof=data["proof"], covered_rows=_covered_rows(data["proof"]), record=record, jst=_jst, term_rows=_term_rows(data),
                           expired=data["state"] == ConsentEvent.expired.value,
                           sources=_shown_sources([(s["category"], s["dataset"]) for s in data["personal_data_sources"]]),
                           event=_pick(ConsentEvent(record.event).label),
                           state=_pick(ConsentEvent(data["state"]).label),
                           method=_pick(ConsentMethod(record.method).label),
                           level=next((label for value, label in _levels() if value == str(record.assurance_level)),
                                      str(record.assurance_level)))

    @expose("/receipt/<receipt_id>.json")
    def receipt_json(self, receipt_id: str):
        """The verifiable receipt as a file (docs/receipts.md: ``renkei verify-receipt FILE``)."""
        record = self._receipt_record(receipt_id)
        body = json.dumps(consent.receipt(db.session, record, seals=_seals()), ensure_ascii=False, indent=1)
        return Response(body, mimetype="application/json", headers={
            "Content-Disposition": f"attachment; filename=consent-receipt-{receipt_id}.json", "Cache-Control": "no-store"})

    # the receipt is also reachable by those who only read histories (operator, auditor)
    def is_accessible(self) -> bool:
        return super().is_accessible() or (g.get("actor") is not None
                                           and request.endpoint in (f"{self.endpoint}.receipt", f"{self.endpoint}.receipt_json")
                                           and authz.grant_for(g.actor, "consent.history") is not None)


def _covered_rows(proof: dict) -> list[tuple[str, str]]:
    """The proof's covered fields as the page shows them: a text as it is, any other value as its JSON."""
    from core.chainhash import CANONICAL_JSON

    return [(entry["label_ja"] if _ja() else entry["label_en"],
             entry["value"] if isinstance(entry["value"], str) else CANONICAL_JSON.encode(entry["value"]))
            for entry in proof["covered"]]


def _seals():
    """The chains' newest signed checkpoints, for the receipts' proofs (maintenance.signing.seals)."""
    from maintenance.signing import seals

    return seals(current_app.config)


class ConsentHistoryView(SecureView):
    """A person's consents and linkages (開示請求): printable, CSV and Excel."""

    required_action = "consent.history"

    def _find(self):
        tenant, subject = (request.args.get("tenant") or "").strip(), (request.args.get("subject") or "").strip()
        if not tenant or not subject:
            return tenant, subject, None, {}
        try:
            return tenant, subject, history.person_history(db.session, g.actor, tenant, subject), {}
        except DomainError as error:
            db.session.rollback()
            if error.kind == "forbidden":
                return tenant, subject, None, {"tenant": _("You may see only the people of your own municipality.")}
            errors, left = _errors_of(error, {"subject_id": "subject", "tenant_code": "tenant"}, ("tenant", "subject"))
            return tenant, subject, None, errors or {"subject": error.message_ja if _ja() else error.message_en}

    @expose("/")
    def index(self):
        tenant, subject, found, errors = self._find()
        lang = "ja" if _ja() else "en"
        tenants = tenants_for("consent.history")
        if not tenant and len(tenants) == 1:
            tenant = tenants[0][0]
        return self.render(
            "renkei/consent_history.html", tenant=tenant, subject=subject, tenants=tenants, errors=errors, found=found,
            consents=[history.consent_row(r, found.services, lang, state=found.state(r)) for r in found.consents]
            if found else [],
            linkages=[history.linkage_row(r, found.services, lang) for r in found.linkages] if found else [],
            tenant_name=dict(tenants).get(tenant, tenant)), (422 if errors else 200)

    @expose("/export.<fmt>")
    def export(self, fmt: str):
        if fmt not in ("csv", "xlsx"):
            abort(404)
        tenant, subject, found, errors = self._find()
        if found is None:
            abort(404 if not errors else 403)
        lang = "ja" if _ja() else "en"
        body = history.history_csv(found, lang) if fmt == "csv" else history.history_xlsx(found, lang)
        mimetype = CSV_MIMETYPE if fmt == "csv" else \
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        # the tenant and the subject ID are typed: the ASCII name keeps only what a header may carry, and the full
        # name travels percent-encoded (RFC 6266), so a CR, LF or NUL typed in the ID never reaches a header
        name = f"consent-history-{tenant}-{subject}.{fmt}"
        ascii_name = re.sub(r"[^A-Za-z0-9._-]", "_", name)
        return Response(body, mimetype=mimetype, headers={
            "Content-Disposition": f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name, safe='')}"})


def _linkages_found(service: str, first: dt.date | None, last: dt.date | None, result: str | None) -> list:
    """The linkage records the search asks for; none, the refusal flashed, when it is refused."""
    try:
        return history.search_linkages(db.session, g.actor, service_id=whole_number(service) if service else None,
                                       first_day=first, last_day=last,
                                       allowed=None if result is None else result == "allowed")
    except DomainError as error:
        db.session.rollback()
        stop_unless_about_fields(error)
        flash_error(error)
        return []


class ConsentLinkagesView(SecureView):
    """The auditor's (and operator's) search of linkage records by service, period and result, across tenants."""

    required_action = "consent.linkage.read"

    @expose("/")
    def index(self):
        first, last, result = _period_args()
        service = request.args.get("service") or ""
        if service and whole_number(service, max_digits=9) is None:
            abort(400)
        searched = bool(request.args.get("search"))
        rows = _linkages_found(service, first, last, result) if searched else []
        services = consent.list_services(db.session, g.actor) if authz.allowed(g.actor, "consent.service.read") else []
        return self.render("renkei/consent_linkages.html", service=None,
                           services=[(str(s.id), s.name) for s in services], rows=history.linkage_dicts(
                               rows, db.session, "ja" if _ja() else "en"), searched=searched, args=request.args,
                           limit=history.MAX_ROWS, action=url_for(".index"), history_ok=_history_ok)


def views(session):
    return [ConsentServicesView(name=_l("Personal data services"), endpoint="consent_services", url="consent-services"),
            ConsentRecordsView(name=_l("Record a consent"), endpoint="consent_records", url="consent"),
            ConsentHistoryView(name=_l("A person's consents and linkages"), endpoint="consent_history",
                               url="consent-history"),
            ConsentLinkagesView(name=_l("Linkage records"), endpoint="consent_linkages", url="consent-linkages")]

