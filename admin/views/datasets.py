"""The dataset register's pages: the list, one dataset (its responsibility split, distributions, schema
checks and the review checklist), the form to register or change one, the file check of a standard
dataset, the workflow's buttons (publish, refuse and withdraw ask first), the import, the coverage
matrix (municipalities × standard kinds, CSV and Excel); the lists the operator keeps (categories, licences)
are in admin/views/dataset_lists.py.
Every change is a POST through admin/views/base.py's one POST path."""

from __future__ import annotations

import datetime as dt
import io

from flask import Response, abort, flash, g, redirect, request, url_for
from flask_admin import expose
from flask_babel import gettext as _, lazy_gettext as _l

from admin.extensions import db
from admin.problems import status_of, stop_unless_about_fields
from admin.views import paging
from admin.views.base import SecureView, confirm_first, flash_error, post_action
from core import authz
from core.calendar import jst_text
from core.errors import DomainError
from core.labelled import labels
from core.spreadsheet import CSV_MIMETYPE, XLSX_MIMETYPE, csv_bytes, safe_row
from core.xlsxstream import BOLD, PLAIN, StreamedWorkbook
from core.validation import whole_number
from catalogue import catalogue, conformance, coverage, file_checks, importing, lists, operations, standards, terms
from catalogue.models import RESPONSIBILITY, Access, DatasetStatus, Frequency, PersonalInfo

# an API distribution's route through the gateway (catalogue/routes.py)
ROUTE_FIELDS = ("route_service", "route_service_path", "route_entity_type", "route_path")
FIELDS = ("provider_code", "title_ja", "title_en", "description", "category_code", "keywords", "licence_code", "access",
          "grantees", "frequency", "last_updated_on", "department", "contact_email", "contact_phone", "personal_info",
          "standard_kind", "responsibility_remark", "url", "format", "media_type", "byte_size", *ROUTE_FIELDS)
MAX_UPLOAD = 20 * 1024 * 1024


def _ja() -> bool:
    from admin.i18n import current_language

    return current_language() == "ja"


def _pick(pair) -> str:
    return pair[0] if _ja() else pair[1]


def _choices(enum_cls):
    return [(member.value, _pick(member.label)) for member in enum_cls]


def _values_of(dataset) -> dict[str, str]:
    first = next(iter(operations.distributions(db.session, dataset)), None)
    return {"provider_code": dataset.provider_code, "title_ja": dataset.title_ja, "title_en": dataset.title_en,
            "description": dataset.description, "category_code": dataset.category_code, "keywords": dataset.keywords,
            "licence_code": dataset.licence_code, "access": dataset.access.value,
            "grantees": "、".join(operations.grantees(db.session, dataset)), "frequency": dataset.frequency.value,
            "last_updated_on": dataset.last_updated_on.isoformat() if dataset.last_updated_on else "",
            "department": dataset.department, "contact_email": dataset.contact_email,
            "contact_phone": dataset.contact_phone, "personal_info": dataset.personal_info.value,
            "standard_kind": dataset.standard_kind or "", "responsibility_remark": dataset.responsibility_remark,
            **_distribution_values(first)}


def _distribution_values(first) -> dict[str, str]:
    """The form's distribution fields from the dataset's first distribution (blank when it has none)."""
    if first is None:
        return {name: "" for name in ("url", "format", "media_type", "byte_size", *ROUTE_FIELDS)}
    return {"url": first.url, "format": first.format, "media_type": first.media_type,
            "byte_size": str(first.byte_size) if first.byte_size is not None else "",
            **{name: getattr(first, name) for name in ROUTE_FIELDS}}


def _with_code(items, code: str | None):
    """The list entry (category, licence) with this code, or None."""
    return next((item for item in items if item.code == code), None)


def _draft_from(values: dict[str, str]) -> tuple[operations.DatasetDraft, dict[str, str]]:
    errors = {}
    last = None
    if values["last_updated_on"]:
        try:
            last = dt.date.fromisoformat(values["last_updated_on"])
        except ValueError:
            errors["last_updated_on"] = _("Enter the date as YYYY-MM-DD.")
    size = None
    if values["byte_size"]:
        if whole_number(values["byte_size"], max_digits=17) is not None:
            size = whole_number(values["byte_size"])
        else:
            errors["byte_size"] = _("Enter the size in bytes (digits only).")
    dists = ()
    if values["url"]:
        dists = (operations.DistributionDraft(url=values["url"], format=values["format"], media_type=values["media_type"],
                                              byte_size=size, is_api=values["format"].lower() == "api",
                                              **{name: values.get(name, "") for name in ROUTE_FIELDS}),)
    grantees = tuple(part for part in values["grantees"].replace(",", "、").replace("\n", "、").split("、") if part.strip())
    draft = operations.DatasetDraft(
        provider_code=values["provider_code"], title_ja=values["title_ja"], title_en=values["title_en"],
        description=values["description"], category_code=values["category_code"], keywords=values["keywords"],
        licence_code=values["licence_code"], access=values["access"], grantees=grantees, frequency=values["frequency"],
        last_updated_on=last, department=values["department"], contact_email=values["contact_email"],
        contact_phone=values["contact_phone"], personal_info=values["personal_info"],
        standard_kind=values["standard_kind"] or None, responsibility_remark=values["responsibility_remark"],
        distributions=dists)
    return draft, errors


def _entry_label(ja: str, en: str, active: bool) -> str:
    """A category's or licence's name in the reader's language; one no longer in use (the dataset keeps it) says so."""
    label = ja if _ja() else (en or ja)
    return label if active else f"{label}（{_('not in use')}）"


def _form_errors(error: DomainError) -> dict[str, str]:
    """The refusal's problems by form field, in the reader's language."""
    ja = _ja()
    return {_field_of(p["field"]): (p["message_ja"] if ja else p["message_en"]) for p in error.problems}


def _field_of(problem_field: str) -> str:
    head = problem_field.split(".")[0]
    if head == "distributions":
        return problem_field.split(".")[-1] if "." in problem_field else "url"
    return head


def _conformance_labels():
    """A dataset's conformance state's labels (:func:`catalogue.conformance.conformance_state`), today's
    cutoffs computed once for the page."""
    cutoffs = conformance.overdue_cutoffs(conformance.today_jst())
    return lambda dataset: conformance.conformance_state(dataset, cutoffs=cutoffs).label


class DatasetsView(SecureView):
    required_action = "dataset.read"

    def _providers(self) -> list[tuple[str, str]]:
        """The providers the person may register datasets for: (code, name)."""
        grant = authz.grant_for(g.actor, "dataset.manage")
        if grant is None:
            return []
        found = catalogue.providers(db.session, None if grant.all_tenants else sorted(grant.tenant_codes))
        return [(code, f"{p.name_ja}（{code}）") for code, p in sorted(found.items())]

    def _form(self, values: dict, errors: dict, dataset=None, status: int = 200):
        return self.render(
            "renkei/datasets_form.html", values=values, errors=errors, dataset=dataset, providers=self._providers(),
            categories=[(c.code, _entry_label(c.label_ja, c.label_en, c.active))
                        for c in lists.choices(lists.categories(db.session, include_inactive=True),
                                               dataset.category_code if dataset else None)],
            licences=[(lic.code, _entry_label(lic.title_ja, lic.title_en, lic.active))
                      for lic in lists.choices(lists.licences(db.session, include_inactive=True),
                                               dataset.licence_code if dataset else None)],
            accesses=_choices(Access), frequencies=_choices(Frequency),
            personal=_choices(PersonalInfo),
            kinds=[(k.code, k.title_ja if _ja() else k.title_en) for k in standards.kinds().values()]), status

    @expose("/")
    def index(self):
        status = request.args.get("status") or None
        if status and status not in {s.value for s in DatasetStatus}:
            abort(400)
        rows, total = operations.list_datasets(db.session, g.actor, search=paging.search_text(), status=status,
                                               page=paging.page_number(), per_page=paging.PAGE_SIZE)
        page = paging.Page.of(rows, paging.page_number(), total)
        names = catalogue.providers(db.session, [d.provider_code for d in rows])
        return self.render("renkei/datasets.html", page=page, search=paging.search_text(), status=status,
                           statuses=_choices(DatasetStatus), pick=_pick, labels=operations.LABELS,
                           names=names, conformance=_conformance_labels(),
                           can_manage=authz.grant_for(g.actor, "dataset.manage") is not None,
                           can_settings=authz.allowed(g.actor, "dataset.settings"))

    @expose("/new", methods=("GET", "POST"))
    def new(self):
        if authz.grant_for(g.actor, "dataset.manage") is None:
            abort(403)
        if request.method == "GET":
            providers = self._providers()
            return self._form({"provider_code": providers[0][0] if len(providers) == 1 else "", "access": "open",
                               "frequency": "yearly", "personal_info": "none", "licence_code": "CC-BY-4.0"}, {})
        values = {name: (request.form.get(name) or "").strip() for name in FIELDS}
        draft, errors = _draft_from(values)
        if not errors:
            try:
                dataset = operations.register(db.session, g.actor, draft)
            except DomainError as error:
                db.session.rollback()
                stop_unless_about_fields(error, ("forbidden",))
                errors = _form_errors(error)
            else:
                return post_action(lambda: dataset, back=url_for(".detail", uid=dataset.uid),
                                   saved=_("The dataset was registered as a draft."))
        return self._form(values, errors, status=422)

    def _dataset(self, uid: str):
        try:
            return operations.get_dataset(db.session, g.actor, uid)
        except DomainError as error:
            abort(status_of(error))

    @expose("/<uid>")
    def detail(self, uid: str):
        return self._detail(uid)

    def _detail(self, uid: str, terms_values: dict | None = None, terms_errors: dict | None = None, status: int = 200):
        dataset = self._dataset(uid)
        checks = operations.checks(db.session, dataset)
        provider = catalogue.providers(db.session, [dataset.provider_code]).get(dataset.provider_code)
        category = _with_code(lists.categories(db.session, include_inactive=True), dataset.category_code)
        licence = _with_code(lists.licences(db.session, include_inactive=True), dataset.licence_code)
        return self.render(
            "renkei/datasets_detail.html", dataset=dataset, provider=provider, category=category, licence=licence,
            distributions=operations.distributions(db.session, dataset), grantees=operations.grantees(db.session, dataset),
            checks=checks, latest_problems=file_checks.check_problems(checks[0]) if checks else [],
            served=file_checks.distribution_check(db.session, dataset) if dataset.conformant is not None else None,
            version_of=lambda check: standards.verdict_version(standards.kind_of(check.standard_kind), check.standard_version),
            schema_path=standards.schema_path,
            jst=jst_text,
            kind=standards.kind_of(dataset.standard_kind), conformance=conformance.conformance_state(dataset).label,
            checklist=operations.review_checklist(db.session, dataset) if dataset.status == DatasetStatus.submitted else [],
            moves=operations.moves_for(g.actor, dataset), pick=_pick, labels=operations.LABELS,
            responsibility=RESPONSIBILITY, own_terms=licence is not None and licence.own_terms,
            terms_versions=terms.versions(db.session, dataset), accepted_by=self._accepted_by(dataset),
            terms_values=terms_values, terms_errors=terms_errors or {},
            can_manage=authz.allowed(g.actor, "dataset.manage", dataset.provider_code)
            and dataset.status != DatasetStatus.withdrawn), status

    def _accepted_by(self, dataset) -> dict[int, list[str]]:
        """Version number -> the names of the consumers that accepted it."""
        rows = terms.acceptances(db.session, g.actor, dataset.uid)
        names = catalogue.providers(db.session, [a.consumer_code for a in rows])
        found: dict[int, list[str]] = {}
        for a in rows:
            found.setdefault(a.number, []).append(names[a.consumer_code].name_ja if a.consumer_code in names else a.consumer_code)
        return found

    @expose("/<uid>/terms", methods=("POST",))
    def terms(self, uid: str):
        typed = {"title": request.form.get("title", ""), "body_md": request.form.get("body_md", "")}
        try:
            version = terms.revise(db.session, g.actor, uid, typed["title"], typed["body_md"])
        except DomainError as error:
            db.session.rollback()
            stop_unless_about_fields(error)
            errors = {p["field"]: (p["message_ja"] if _ja() else p["message_en"]) for p in error.problems}
            if not errors:
                errors["title"] = error.message_ja if _ja() else error.message_en
            return self._detail(uid, typed, errors, status=422)
        return post_action(lambda: version, back=url_for(".detail", uid=uid) + "#terms",
                           saved=lambda t: _("Version %(n)s of the terms is in force.", n=t.number))

    @expose("/<uid>/edit", methods=("GET", "POST"))
    def edit(self, uid: str):
        dataset = self._dataset(uid)
        if not authz.allowed(g.actor, "dataset.manage", dataset.provider_code):
            abort(403)
        if request.method == "GET":
            return self._form(_values_of(dataset), {}, dataset)
        values = {name: (request.form.get(name) or "").strip() for name in FIELDS}
        values["provider_code"] = dataset.provider_code
        draft, errors = _draft_from(values)
        if not errors:
            try:
                operations.update(db.session, g.actor, uid, draft)
            except DomainError as error:
                db.session.rollback()
                if error.kind != "invalid":
                    flash_error(error)
                    return redirect(url_for(".detail", uid=uid))
                errors = _form_errors(error)
            else:
                return post_action(lambda: None, back=url_for(".detail", uid=uid), saved=_("Saved."))
        return self._form(values, errors, dataset, status=422)

    @expose("/<uid>/check", methods=("POST",))
    def check(self, uid: str):
        upload = request.files.get("file")

        def act():
            raw = _uploaded_bytes(upload, "The file is larger than 20 MB; check a sample of it.",
                                  "ファイルが 20 MB を超えています。一部を取り出して確認してください。")
            return file_checks.check_file(db.session, g.actor, uid, upload.filename, raw,
                                         replaces=request.form.get("replaces") == "1")

        def said(c) -> str:
            verdict = _("Conformant.") if c.conformant else \
                _("Not conformant: %(n)s problems (listed below).", n=f"{c.problem_count:,}")
            return verdict if c.of_distribution else " ".join(
                (verdict, _("This file was checked on its own: it is not the distribution's file, and the dataset's verdict is unchanged. To make it the distribution's file, tick \u201cThis file replaces the distribution's file\u201d and check it again.")))

        return post_action(act, back=url_for(".detail", uid=uid) + "#check", saved=said)

    @expose("/<uid>/move/<verb>", methods=("POST",))
    def move(self, uid: str, verb: str):
        if verb not in operations.TRANSITIONS:
            abort(404)
        asks = {"publish": (_("Publish this dataset?"), _("It appears in the catalogue (CKAN API and DCAT feed) for everyone its access level allows; the provider is notified."), _("Publish")),
                "refuse": (_("Send this dataset back to its provider?"), _("It returns to draft with your reason; the provider is notified."), _("Send back")),
                "withdraw": (_("Withdraw this dataset?"), _("It leaves the catalogue at once and can no longer be changed; the provider is notified."), _("End publication"))}
        if verb in asks:
            title, consequence, label = asks[verb]
            confirmation = confirm_first(self, title=title, consequence=consequence, confirm_label=label,
                                         back=url_for(".detail", uid=uid))
            if confirmation is not None:
                return confirmation
        saved = {"submit": _("Submitted for review."), "publish": _("Published."), "refuse": _("Sent back to the provider."),
                 "withdraw": _("Publication ended.")}[verb]
        return post_action(lambda: operations.move(db.session, g.actor, uid, verb, request.form.get("reason", "")),
                           back=url_for(".detail", uid=uid), saved=saved)

    @expose("/import", methods=("GET", "POST"))
    def import_file(self):
        if authz.grant_for(g.actor, "dataset.manage") is None:
            abort(403)
        problems, held = [], []
        if request.method == "POST":
            upload = request.files.get("file")
            try:
                raw = _uploaded_bytes(upload, "The file is larger than 20 MB.", "ファイルが 20 MB を超えています。")
                created = importing.import_datasets(db.session, g.actor, raw)
            except DomainError as error:
                db.session.rollback()
                stop_unless_about_fields(error, ("forbidden",))
                flash_error_only(error)
                problems = error.problems
            else:
                if not created.held:
                    return post_action(lambda: None, back=url_for(".index"),
                                       saved=_("%(n)s datasets were imported.", n=len(created)))
                flash(_("%(n)s datasets were imported; %(m)s of those marked published stay drafts (listed below).",
                        n=len(created), m=len(created.held)), "warning")
                held = created.held
        headers = [ja for ja, _en in importing.HEADERS.values()]
        return self.render("renkei/datasets_import.html", problems=problems, held=held, headers=headers, pick=_pick), \
            (422 if problems else 200)


def _uploaded_bytes(upload, too_large_en: str, too_large_ja: str) -> bytes:
    """The uploaded file's bytes; refused when no file was chosen or it is larger than 20 MB."""
    if upload is None or not upload.filename:
        raise importing.ImportRejected("Choose a file.", "ファイルを選んでください。")
    raw = upload.stream.read(MAX_UPLOAD + 1)
    if len(raw) > MAX_UPLOAD:
        raise importing.ImportRejected(too_large_en, too_large_ja)
    return raw


def flash_error_only(error: DomainError) -> None:
    """The refusal's message (the problems are listed on the page, by line)."""
    from flask import flash

    flash(error.message_ja if _ja() else error.message_en, "error")


class CoverageView(SecureView):
    """Municipalities × standard kinds (the operator sees all; a municipality its own row)."""

    required_action = "dataset.read"

    def _filters(self):
        kind = request.args.get("kind") or None
        state = request.args.get("state") or None
        if (kind and kind not in standards.kinds()) or (state and state not in {cell.value for cell in coverage.Cell}):
            abort(400)
        return kind, state

    def _rows(self):
        kind, state = self._filters()
        return coverage.coverage(db.session, g.actor, search=paging.search_text(), kind=kind, state=state), kind, state

    @expose("/")
    def index(self):
        kind, state = self._filters()
        number = paging.page_number()
        rows, total = coverage.coverage(db.session, g.actor, search=paging.search_text(), kind=kind, state=state,
                                          page=number, per_page=paging.PAGE_SIZE)
        pages = paging.pages_for(total)
        if number > pages:  # a page past the end shows the last page
            number = pages
            rows, total = coverage.coverage(db.session, g.actor, search=paging.search_text(), kind=kind, state=state,
                                              page=number, per_page=paging.PAGE_SIZE)
        page = paging.Page.of(rows, number, total)
        return self.render("renkei/datasets_coverage.html", page=page, kinds=list(standards.kinds().values()), kind=kind,
                           state=state, search=paging.search_text(), pick=_pick,
                           cells=labels(coverage.Cell), ja=_ja(), no_use=coverage.NO_USE_LABEL)

    @expose("/export.<fmt>")
    def export(self, fmt: str):
        if fmt not in ("csv", "xlsx"):
            abort(404)
        rows, _kind, _state = self._rows()
        kinds = list(standards.kinds().values())
        table = [["団体コード", "団体名", *[k.title_ja for k in kinds]]]
        table += [safe_row([row.code, row.name_ja, *[coverage.Cell(row.cells[k.code]).ja for k in kinds]])
                  for row in rows]
        name = f"dataset-coverage-{dt.date.today():%Y%m%d}.{fmt}"
        if fmt == "csv":
            data, mimetype = csv_bytes(table), CSV_MIMETYPE
        else:  # streamed (core.xlsxstream): openpyxl's cells cost 0.6 s for the 1,741 municipalities x 10 kinds
            out = io.BytesIO()
            book = StreamedWorkbook(out)
            sheet = book.sheet("標準データセットの整備状況", freeze="C2")
            for number, row in enumerate(table):
                sheet.append(row, style=BOLD if number == 0 else PLAIN)
            book.close()
            data, mimetype = out.getvalue(), XLSX_MIMETYPE
        return Response(data, mimetype=mimetype, headers={"Content-Disposition": f"attachment; filename={name}"})


class DatasetTermsView(SecureView):
    """A consumer's view: the limited datasets with their own terms its municipality or organisation may
    use, where it stands with each, the text, and accepting the version in force (asks first)."""

    required_action = "dataset.terms.accept"

    def _consumer(self) -> str | None:
        code = request.args.get("consumer") or request.form.get("consumer") or None
        if code is None and len(g.actor.tenant_codes) == 1:
            code = next(iter(g.actor.tenant_codes))
        return code

    def _consumers(self) -> list[tuple[str, str]]:
        grant = authz.grant_for(g.actor, "dataset.terms.accept")
        found = catalogue.providers(db.session, sorted(grant.tenant_codes) if grant else [])
        return [(code, found[code].name_ja if code in found else code) for code in sorted(grant.tenant_codes if grant else ())]

    @expose("/")
    def index(self):
        consumer = self._consumer()
        try:
            rows = terms.to_accept(db.session, g.actor, consumer) if consumer else []
        except DomainError as error:
            abort(status_of(error))
        names = catalogue.providers(db.session, [s.dataset.provider_code for s in rows])
        return self.render("renkei/dataset_terms.html", rows=rows, consumer=consumer, consumers=self._consumers(),
                           names=names)

    @expose("/<ident>", methods=("GET", "POST"))
    def detail(self, ident: str):
        consumer = self._consumer()
        try:
            standing = terms.standing(db.session, g.actor, ident, consumer)
        except DomainError as error:  # an identifier that cannot be one names no page: 404, as an unknown one
            abort(404 if error.kind == "invalid" else status_of(error))
        if request.method == "POST":
            confirmation = confirm_first(
                self, title=_("Accept these terms?"),
                consequence=_("Your organisation is bound by version %(n)s of the terms of this dataset; the acceptance is recorded with your name and cannot be taken back.", n=standing.terms.number if standing.terms else 0),
                confirm_label=_("Accept"), back=url_for(".detail", ident=ident, consumer=consumer))
            if confirmation is not None:
                return confirmation
            number = request.form.get("number", "")
            return post_action(lambda: terms.accept(db.session, g.actor, ident, whole_number(number, max_digits=6) or 0,
                                                    request.form.get("content_hash", ""), consumer),
                               back=url_for(".detail", ident=ident, consumer=consumer),
                               saved=_("Accepted. The distributions of this dataset are available to your organisation."))
        provider = catalogue.providers(db.session, [standing.dataset.provider_code]).get(standing.dataset.provider_code)
        return self.render("renkei/dataset_terms_detail.html", standing=standing, consumer=consumer, provider=provider)


def views(session):
    return [DatasetsView(name=_l("Datasets"), endpoint="datasets", url="datasets"),
            DatasetTermsView(name=_l("Terms of use of datasets"), endpoint="dataset_terms", url="dataset-terms"),
            CoverageView(name=_l("Standard datasets coverage"), endpoint="dataset_coverage", url="dataset-coverage")]

