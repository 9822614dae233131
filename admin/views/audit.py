"""The audit log (操作ログ): the read-only list, and the verification and export page for the auditor."""

from __future__ import annotations

import datetime as dt

from flask import Response, flash, g, redirect, request, url_for
from flask_admin import expose
from flask_babel import get_locale, lazy_gettext as _l
from markupsafe import Markup

from admin.extensions import db
from admin.i18n import format_date
from admin.views import labels
from admin.views.base import SecureModelView, SecureView
from governance import audit, integrity
from core.audit import AuditRecord
from core import authz
from core.errors import DomainError, NotPermitted


def _timestamp(view, context, model, name):
    return format_date(model.occurred_at, str(get_locale() or "ja"))


def _role(view, context, model, name):
    return labels.role_label(model.actor_role)


def _action(view, context, model, name):
    return labels.audit_action(model.action)


def _target_type(view, context, model, name):
    return labels.audit_target(model.target_type)


def _target(view, context, model, name):
    return labels.audit_target_id(model.target_type, model.target_id)


def _tenant(view, context, model, name):
    return labels.tenant_label(model.tenant_code) if model.tenant_code else "—"


def _values(view, context, model, name):
    return labels.readable(getattr(model, name), model.target_type)


def _hash(view, context, model, name):
    return Markup('<span class="text-monospace text-break">{}</span>').format(getattr(model, name) or "")


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
        "actor_issuer": _l("Identity provider"),
        "actor_subject": _l("Person's ID at the identity provider"),
        "request_id": _l("Request ID"),
        "source_ip": _l("Source IP address"),
        "prev_hash": _l("Hash of the previous record"),
        "hash": _l("Hash of this record"),
    }
    column_formatters = {"occurred_at": _timestamp, "actor_role": _role, "action": _action,
                         "target_type": _target_type, "target_id": _target, "tenant_code": _tenant}
    column_formatters_detail = {**column_formatters, "before": _values, "after": _values, "prev_hash": _hash,
                                "hash": _hash}


def _day(text: str | None) -> dt.date | None:
    try:
        return dt.date.fromisoformat(text) if text else None
    except ValueError:
        return None


class AuditVerifyView(SecureView):
    """Verify the hash chain now (auditor, operator), see the purge anchor, export a period.

    The page re-hashes only the records after the newest audit checkpoint (written by
    ``renkei jobs run-due`` after a full verification) and says so; the full walk stays in
    ``renkei audit verify`` and ``renkei check``."""

    required_action = "audit.verify"

    @expose("/")
    def index(self):
        from admin.maintenance.signing import checkpoint_dir, trusted_keys

        result, checkpoint = integrity.verify_since_latest(db.session, g.actor, checkpoint_dir(), trusted_keys())
        db.session.rollback()
        locale = str(get_locale() or "ja")
        return self.render("renkei/governance_audit_verify.html", result=result, checkpoint=checkpoint,
                           checkpoint_at=format_date(checkpoint.at, locale) if checkpoint and checkpoint.at else None,
                           checked_at=format_date(result.checked_at, locale),
                           can_export=authz.allowed(g.actor, "audit.read"))

    @expose("/export")
    def export(self):
        first, last = _day(request.args.get("from")), _day(request.args.get("to"))
        fmt = request.args.get("format", "csv")
        fmt = "jsonl" if fmt == "jsonl" else "csv"
        try:  # streamed: read in batches on a session of its own, sent as written
            pieces = audit.export_download(db.engine, g.actor, first, last, fmt)
        except NotPermitted:
            raise  # a refused export is a 403 page, as for any other page the reader may not see
        except DomainError as error:
            flash(error.message_ja if str(get_locale() or "ja") == "ja" else error.message_en, "error")
            return redirect(url_for(".index"))
        response = Response(pieces, mimetype="application/x-ndjson" if fmt == "jsonl" else "text/csv")
        response.headers["Content-Disposition"] = f'attachment; filename="audit-{first or "start"}-{last or "now"}.{fmt}"'
        return response


def views(session):
    return [AuditView(AuditRecord, session, name=_l("Audit log"), endpoint="audit", url="audit"),
            AuditVerifyView(name=_l("Audit log verification"), endpoint="audit_verify", url="audit-verify")]
