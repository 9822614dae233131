"""Tenants list (参加団体一覧): search by name or code, filter by status, kind and wave."""

from __future__ import annotations

import base64
import binascii

from flask import flash, g, request, url_for
from flask_admin import expose
from flask_babel import get_locale, gettext, lazy_gettext as _l
from markupsafe import Markup

from admin.extensions import db
from admin.i18n import format_date, format_fiscal_year
from admin.views import labels
from admin.problems import status_of, stop_unless_about_fields
from admin.views.base import MAX_UPLOAD, SecureModelView, SecureView, file_line, post_action
from core import authz
from core.errors import DomainError
from tenancy.errors import ImportRejected
from tenancy.registry import importing
from core.codes import corporate_number_of_local_government
from tenancy.registry.models import Tenant, TenantKind, TenantStatus


def _locale() -> str:
    return str(get_locale() or "ja")


def _status(view, context, model, name):
    status = TenantStatus(model.status)
    label = status.ja if _locale() == "ja" else status.en
    return Markup('<span class="badge badge-status-{}">{}</span>').format(status.value, label)


def _kind(view, context, model, name):
    kind = TenantKind(model.kind)
    return kind.ja if _locale() == "ja" else kind.en


def _population(view, context, model, name):
    return f"{model.population:,}"


def _wave(view, context, model, name):
    return format_fiscal_year(model.wave_fiscal_year, _locale())


def _corporate_number(view, context, model, name):
    """Derived from the local-government code (熊本県 430005 → 7000020430005): one member list holds everyone."""
    return corporate_number_of_local_government(model.code)


def _timestamp(view, context, model, name):
    return format_date(getattr(model, name), _locale())


class TenantView(labels.LabelledFilters, SecureModelView):
    required_action = "tenant.read"
    filter_option_labels = {"status": labels.tenant_status, "kind": labels.tenant_kind}
    tenant_code_column = "code"
    column_list = ("code", "name_ja", "name_en", "kind", "population", "status", "wave_fiscal_year", "updated_at")
    column_details_list = ("code", "corporate_number", "name_ja", "name_en", "name_kana", "kind", "population", "population_source",
                           "status", "wave_fiscal_year", "user_seat_limit", "contacts", "created_at", "updated_at")
    column_searchable_list = ("code", "name_ja", "name_en", "name_kana")
    column_filters = ("status", "kind", "wave_fiscal_year")
    column_default_sort = "code"
    column_labels = {
        "code": _l("Code"),
        "corporate_number": _l("Corporate number"),
        "name_ja": _l("Name"),
        "name_en": _l("Name (English)"),
        "name_kana": _l("Name (kana)"),
        "kind": _l("Kind"),
        "population": _l("Population"),
        "population_source": _l("Population source"),
        "status": _l("Status"),
        "wave_fiscal_year": _l("Wave"),
        "user_seat_limit": _l("User seat limit"),
        "contacts": _l("Contacts"),
        "created_at": _l("Registered"),
        "updated_at": _l("Updated"),
    }
    column_formatters = {
        "status": _status,
        "kind": _kind,
        "population": _population,
        "corporate_number": _corporate_number,
        "wave_fiscal_year": _wave,
        "created_at": _timestamp,
        "updated_at": _timestamp,
    }
    column_formatters_detail = column_formatters


PREVIEW_ROWS = 20


class TenantImportView(SecureView):
    """The tenant registry's CSV import in the operator's UI, as ``renkei tenants import`` does it:
    the file is uploaded and every row checked (nothing written); problems are listed by line (the
    first ones, all counted); a file without problems is shown with what it would register and the
    operator confirms; the import then checks every row again and registers all or nothing, in one
    act of the audit log (``tenant.import``). The checked file travels in the confirmation form (no
    copy is kept on the server); what is imported is what is checked again at that moment."""

    required_action = "tenant.create"

    @expose("/", methods=("GET", "POST"))
    def index(self):
        if request.method == "GET":
            return self._page()
        if request.form.get("confirmed") == "1":
            return self._import()
        upload = request.files.get("file")
        try:
            raw = self._read(upload)
            checked = importing.check_csv(db.session, g.actor, raw)
        except DomainError as error:
            db.session.rollback()
            stop_unless_about_fields(error, ("forbidden",))
            return self._page(error=error), status_of(error)
        db.session.rollback()  # a check writes nothing
        return self._page(checked=checked, content=base64.b64encode(raw).decode("ascii"),
                          filename=upload.filename if upload else "")

    def _read(self, upload) -> bytes:
        if upload is None or not upload.filename:
            raise ImportRejected("Choose a file.", "ファイルを選んでください。")
        raw = upload.stream.read(MAX_UPLOAD + 1)
        if len(raw) > MAX_UPLOAD:
            raise ImportRejected("The file is larger than 20 MB.", "ファイルが 20 MB を超えています。")
        return raw

    def _import(self):
        try:
            raw = base64.b64decode(request.form.get("content", ""), validate=True)
        except (binascii.Error, ValueError):
            raw = b""
        if not raw:
            flash(gettext("The file to import was lost; choose it again."), "error")
            return self._page(), 422
        failed = {}

        def run():
            try:
                return importing.import_csv(db.session, g.actor, raw)
            except DomainError as error:
                failed["error"] = error  # e.g. a tenant registered by someone else since the check
                raise

        return post_action(run, back=url_for(".index"),
                           done=lambda result: self._done(len(result.created)),
                           failed=lambda: (self._page(error=failed.get("error")), 422))

    def _done(self, count: int):
        from flask import redirect

        flash(gettext("%(count)s tenants were registered.", count=f"{count:,}"), "success")
        return redirect(url_for("tenants.index_view"))

    def _page(self, *, error=None, checked=None, content="", filename=""):
        problems = [(file_line(p.get("field", "")), p["message_ja"] if labels.ja() else p["message_en"])
                    for p in (error.problems if error is not None else [])]
        return self.render("renkei/tenants_import.html", error=error, problems=problems, checked=checked,
                           preview=(checked or [])[:PREVIEW_ROWS], content=content, filename=filename,
                           columns=list(importing.EXPORT_HEADERS_JA.values()), kind_label=labels.tenant_kind,
                           max_listed=importing.csvfile.MAX_PROBLEMS_LISTED)


def views(session):
    return [TenantView(Tenant, session, name=_l("Tenants"), endpoint="tenants", url="tenants"),
            TenantImportView(name=_l("Import tenants"), endpoint="tenant_import", url="tenants-import")]
