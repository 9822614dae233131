"""Usage page (利用状況) with the monthly report and chart, and the notifications outbox (通知).

Both are read-only. A municipal user sees only their own tenants' usage and notifications;
the operator, finance and the auditor see every tenant. Plans and overrides are changed through
the API or the council (operations in tenancy.usage.quotas), not here.
"""

from __future__ import annotations

import datetime as dt

from flask import Response, abort, g, request
from flask_admin import expose
from flask_babel import get_locale, lazy_gettext as _l
from markupsafe import Markup

from admin.extensions import db
from admin.i18n import format_date, format_fiscal_year
from admin.views.base import SecureModelView, SecureView
from core.calendar import current_month, fiscal_year_of, is_supported_fiscal_year
from tenancy.usage import quotas, reports as usage_reports
from tenancy.usage.models import METRICS, Enforcement
from core.outbox import Notification


def _locale() -> str:
    return str(get_locale() or "ja")


class UsageView(SecureView):
    required_action = "usage.read"

    def _month(self) -> dt.date:
        text = request.args.get("month")
        if not text:
            return current_month()
        try:
            month = dt.datetime.strptime(text, "%Y-%m").date()
        except ValueError:
            abort(400)
        if not is_supported_fiscal_year(fiscal_year_of(month)):
            abort(400)
        return month

    def _metric(self) -> str:
        metric = request.args.get("metric", "api_calls")
        if metric not in METRICS:
            abort(400)
        return metric

    @expose("/")
    def index(self):
        month, metric = self._month(), self._metric()
        report = usage_reports.build_report(db.session, g.actor, month)
        ja = _locale() == "ja"
        metrics = [{"name": m.name, "label": m.label_ja if ja else m.label_en, "gauge": m.kind.value == "gauge"}
                   for m in METRICS.values()]
        plans = quotas.list_plans(db.session, g.actor)
        return self.render(
            "renkei/usage_dashboard.html", report=report, month=month, metric=metric, metrics=metrics,
            metric_label=next(m["label"] for m in metrics if m["name"] == metric),
            fiscal_year=fiscal_year_of(month), fiscal_label=format_fiscal_year(fiscal_year_of(month), _locale()),
            plans=[quotas.plan_summary(p) for p in plans], hard=Enforcement.hard.value, ja=ja,
        )

    @expose("/chart.png")
    def chart(self):
        month, metric = self._month(), self._metric()
        png = usage_reports.chart_png(db.session, g.actor, fiscal_year_of(month), metric, last_month=month)
        response = Response(png, mimetype="image/png")
        if request.args.get("download"):
            response.headers["Content-Disposition"] = (
                f'attachment; filename="usage-{metric}-FY{fiscal_year_of(month)}-{month:%Y-%m}.png"')
        return response

    @expose("/report.<fmt>")
    def download(self, fmt: str):
        if fmt not in {"xlsx", "csv"}:
            abort(404)
        month = self._month()
        report = usage_reports.build_report(db.session, g.actor, month)
        if fmt == "csv":
            data, mimetype = usage_reports.report_csv(report, _locale() == "ja"), "text/csv; charset=utf-8"
        else:
            data = usage_reports.report_xlsx(report)
            mimetype = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        response = Response(data, mimetype=mimetype)
        response.headers["Content-Disposition"] = f'attachment; filename="usage-{month:%Y-%m}.{fmt}"'
        return response


def _timestamp(view, context, model, name):
    return format_date(getattr(model, name), _locale())


def _status(view, context, model, name):
    labels = {"queued": "送信待ち", "sent": "送信済み", "failed": "送信失敗"}
    label = labels.get(model.status, model.status) if _locale() == "ja" else model.status
    return Markup('<span class="badge badge-notification-{}">{}</span>').format(model.status, label)


class OutboxView(SecureModelView):
    """The notifications outbox: onboarding messages and quota alerts alike."""

    required_action = "notification.read"
    tenant_code_column = "tenant_code"
    column_list = ("created_at", "tenant_code", "kind", "subject", "status", "attempts", "sent_at")
    column_details_list = ("created_at", "tenant_code", "kind", "recipients", "subject", "body", "status", "attempts",
                           "last_error", "dedupe_key", "sent_at")
    column_filters = ("kind", "status", "tenant_code")
    column_searchable_list = ("subject", "tenant_code", "kind")
    column_default_sort = ("id", True)
    column_labels = {
        "created_at": _l("Created"), "tenant_code": _l("Tenant"), "kind": _l("Kind"), "subject": _l("Subject"),
        "status": _l("Status"), "attempts": _l("Attempts"), "sent_at": _l("Sent"), "recipients": _l("Recipients"),
        "body": _l("Message"), "last_error": _l("Last error"), "dedupe_key": _l("Dedupe key"),
    }
    column_formatters = {"created_at": _timestamp, "sent_at": _timestamp, "status": _status}
    column_formatters_detail = column_formatters


def views(session):
    return [
        UsageView(name=_l("Usage"), endpoint="usage", url="usage"),
        OutboxView(Notification, session, name=_l("Notifications"), endpoint="outbox", url="outbox"),
    ]
