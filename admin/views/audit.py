"""The audit log (操作ログ), read-only."""

from __future__ import annotations

from flask_babel import get_locale, lazy_gettext as _l

from admin.i18n import format_date
from admin.views.base import SecureModelView
from governance.models import AuditRecord


def _timestamp(view, context, model, name):
    return format_date(model.occurred_at, str(get_locale() or "ja"))


class AuditView(SecureModelView):
    required_action = "audit.read"
    column_list = ("seq", "occurred_at", "actor_name", "actor_role", "tenant_code", "action", "target_type", "target_id")
    column_details_list = ("seq", "occurred_at", "actor_issuer", "actor_subject", "actor_name", "actor_role",
                           "tenant_code", "action", "target_type", "target_id", "before", "after", "request_id",
                           "source_ip", "prev_hash", "hash")
    column_searchable_list = ("action", "target_id", "actor_name", "tenant_code")
    column_filters = ("action", "tenant_code", "actor_role")
    column_default_sort = ("seq", True)
    column_labels = {
        "seq": _l("No."),
        "occurred_at": _l("Time"),
        "actor_name": _l("Actor"),
        "actor_role": _l("Role"),
        "tenant_code": _l("Tenant"),
        "action": _l("Action"),
        "target_type": _l("Target type"),
        "target_id": _l("Target"),
        "before": _l("Before"),
        "after": _l("After"),
    }
    column_formatters = {"occurred_at": _timestamp}
    column_formatters_detail = column_formatters


def views(session):
    return [AuditView(AuditRecord, session, name=_l("Audit log"), endpoint="audit", url="audit")]
