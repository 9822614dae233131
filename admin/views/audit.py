"""The audit log (操作ログ): the read-only list, and the verification and export page for the auditor."""

from __future__ import annotations

import datetime as dt
import itertools

import sqlalchemy as sa
from flask import Response, abort, current_app, flash, g, redirect, request, url_for
from flask_admin import expose
from flask_babel import get_locale, gettext, lazy_gettext as _l
from markupsafe import Markup

from admin.extensions import db
from admin.i18n import format_date
from admin.views import labels
from admin.views.base import SecureModelView, SecureView
from governance import audit as audit_records, audit_export, integrity
from core.audit import AuditRecord
from core import authz
from core.calendar import jst_seconds_text
from core.spreadsheet import csv_bytes, csv_text
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
    return labels.audit_target_text(model)


def _actor(view, context, model, name):
    return labels.actor_text(model)


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
    column_formatters = {"occurred_at": _timestamp, "actor_role": _role, "action": _action, "actor_name": _actor,
                         "target_type": _target_type, "target_id": _target, "tenant_code": _tenant}
    column_formatters_detail = {**column_formatters, "before": _values, "after": _values, "prev_hash": _hash,
                                "hash": _hash}

    list_template = "renkei/audit_list.html"

    @staticmethod
    def _recent() -> bool:
        """Only the last RECENT_DAYS days (``?recent=30``, the home page's figure); 400 for another number."""
        asked = request.args.get("recent")
        if asked in (None, ""):
            return False
        if asked != str(audit_records.RECENT_DAYS):
            abort(400)
        return True

    def get_query(self):
        query = super().get_query()
        return query.filter(audit_records.recent_records()) if self._recent() else query

    def get_count_query(self):
        query = super().get_count_query()
        return query.filter(audit_records.recent_records()) if self._recent() else query

    def render(self, template, **kwargs):
        return super().render(template, recent_days=audit_records.RECENT_DAYS if self._recent() else None, **kwargs)

    def get_list(self, *args, **kwargs):
        count, records = super().get_list(*args, **kwargs)
        labels.prefetch_targets(list(records))  # the page's targets by name: one query per kind of target
        return count, records


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
        from maintenance.signing import checkpoint_copy_dir, checkpoint_dir, trusted_keys

        folders = (checkpoint_dir(current_app.config), checkpoint_copy_dir(current_app.config))  # the copy off the host too
        result, checkpoint = integrity.verify_since_latest(db.session, g.actor, folders, trusted_keys(current_app.config))
        db.session.rollback()
        locale = str(get_locale() or "ja")
        return self.render("renkei/governance_audit_verify.html", result=result, checkpoint=checkpoint,
                           checkpoint_at=format_date(checkpoint.at, locale) if checkpoint and checkpoint.at else None,
                           checked_at=format_date(result.checked_at, locale),
                           can_export=authz.allowed(g.actor, "audit.read"), words_limit=f"{WORDS_LIMIT:,}")

    @expose("/export")
    def export(self):
        first, last = _day(request.args.get("from")), _day(request.args.get("to"))
        fmt = request.args.get("format", "words")
        if fmt not in ("csv", "jsonl"):  # the office's CSV in words, unless a machine-readable file is asked for
            return self._export_in_words(first, last)
        try:  # streamed: read in batches on a session of its own, sent as written
            pieces = audit_export.export_download(db.engine, g.actor, first, last, fmt)
        except NotPermitted:
            raise  # a refused export is a 403 page, as for any other page the reader may not see
        except DomainError as error:
            flash(error.message_ja if str(get_locale() or "ja") == "ja" else error.message_en, "error")
            return redirect(url_for(".index"))
        response = Response(pieces, mimetype="application/x-ndjson" if fmt == "jsonl" else "text/csv")
        response.headers["Content-Disposition"] = f'attachment; filename="audit-{first or "start"}-{last or "now"}.{fmt}"'
        return response


    def _export_in_words(self, first: dt.date | None, last: dt.date | None):
        """The CSV an office reads in Excel: Japanese headers, Japan time, people, tenants, members and
        targets by name, actions and before/after in words. At most WORDS_LIMIT records (the words are
        worked out record by record); a longer period is refused before anything is written, with the
        limit and the way out (a shorter period, or the machine-readable CSV)."""
        try:
            records = audit_export.records_in_period(db.session, g.actor, first, last)
        except DomainError as error:
            flash(error.message_ja if labels.ja() else error.message_en, "error")
            return redirect(url_for(".index"))
        start, end = audit_export.period_bounds(first, last)
        count = db.session.scalar(sa.select(sa.func.count(AuditRecord.id)).where(
            *([AuditRecord.occurred_at >= start] if start else []), *([AuditRecord.occurred_at < end] if end else [])))
        if count > WORDS_LIMIT:
            flash(gettext("The period holds %(count)s records; the CSV in words holds at most %(limit)s. Choose a "
                          "shorter period, or the machine-readable CSV (no limit).",
                          count=f"{count:,}", limit=f"{WORDS_LIMIT:,}"), "error")
            return redirect(url_for(".index"))
        # written whole within the request (bounded above): the names are read on the request's session
        response = Response(b"".join(_words_csv(records)), mimetype="text/csv")
        name = f"audit-{first or 'start'}-{last or 'now'}-{'ja' if labels.ja() else 'en'}.csv"
        response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
        return response


# The CSV in words holds at most this many records (Excel's sheet holds about a million rows; an office's
# period is a month or a year of acts, tens of thousands at most).
WORDS_LIMIT = 50_000
WORDS_BATCH = 500


def words_headers() -> list[str]:
    return [gettext("No."), gettext("Time (Japan)"), gettext("Actor"), gettext("Role"), gettext("Tenant"),
            gettext("Action"), gettext("Target type"), gettext("Target"), gettext("Before"), gettext("After"),
            gettext("Source IP address")]


def words_row(entry) -> list[str]:
    """One record in words, as the log's page shows it."""
    return [str(entry.seq), jst_seconds_text(entry.occurred_at), labels.actor_text(entry),
            labels.role_label(entry.actor_role), labels.tenant_label(entry.tenant_code),
            labels.audit_action(entry.action), labels.audit_target(entry.target_type), labels.audit_target_text(entry),
            labels.readable_text(entry.before, entry.target_type), labels.readable_text(entry.after, entry.target_type),
            entry.source_ip or ""]


def _words_csv(records):
    """The CSV in words, a batch of records at a time (their targets' names read once per batch)."""
    yield csv_bytes([words_headers()])
    entries = iter(records)
    while batch := list(itertools.islice(entries, WORDS_BATCH)):
        labels.prefetch_targets(batch)
        yield csv_text(words_row(entry) for entry in batch).encode("utf-8")


def views(session):
    return [AuditView(AuditRecord, session, name=_l("Audit log"), endpoint="audit", url="audit"),
            AuditVerifyView(name=_l("Audit log verification"), endpoint="audit_verify", url="audit-verify")]
