"""Tenants list (参加団体一覧): search by name or code, filter by status, kind and wave."""

from __future__ import annotations

from flask_babel import get_locale, lazy_gettext as _l
from markupsafe import Markup

from admin.i18n import format_date, format_fiscal_year
from admin.views import labels
from admin.views.base import SecureModelView
from core.codes import corporate_number_of_local_government
from tenancy.registry.models import (KIND_LABELS_EN, KIND_LABELS_JA, STATUS_LABELS_EN, STATUS_LABELS_JA, Tenant, TenantKind,
                                     TenantStatus)


def _locale() -> str:
    return str(get_locale() or "ja")


def _status(view, context, model, name):
    status = TenantStatus(model.status)
    label = STATUS_LABELS_JA[status] if _locale() == "ja" else STATUS_LABELS_EN[status]
    return Markup('<span class="badge badge-status-{}">{}</span>').format(status.value, label)


def _kind(view, context, model, name):
    kind = TenantKind(model.kind)
    return KIND_LABELS_JA[kind] if _locale() == "ja" else KIND_LABELS_EN[kind]


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


def views(session):
    return [TenantView(Tenant, session, name=_l("Tenants"), endpoint="tenants", url="tenants")]
