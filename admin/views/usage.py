"""Usage page (利用状況) with the monthly report and chart, and the notifications outbox (通知).

A municipal user sees only their own tenants' usage and notifications; the operator, finance and
the auditor see every tenant. The operator (``quota.manage``) edits quota plans, assigns a plan to
a tenant and sets or removes a tenant's own limit here, through forms that call the operations of
usage.quotas (which authorise and audit themselves); a plan can also change by a council vote.
"""

from __future__ import annotations

import datetime as dt
import re

from flask import Response, abort, current_app, g, redirect, request, url_for
from flask_admin import expose
from flask_babel import get_locale, gettext as _, lazy_gettext as _l
from markupsafe import Markup, escape

from admin.extensions import db
from admin.problems import status_of
from admin.identity import measured_levels
from admin.i18n import format_date, format_fiscal_year
from admin.views import operator_forms as forms
from admin.views import labels, paging
from admin.views.base import SecureModelView, SecureView, post_action, with_problems_beside_fields
from core import authz
from core.calendar import fiscal_year_of, parse_month
from core.errors import DomainError, NotFound
from core.spreadsheet import CSV_MIMETYPE
from usage import quota_alerts, quota_plans, quotas, reports as usage_reports
from usage.models import METRICS, Enforcement
from core.outbox import Notification, NotificationStatus


def _locale() -> str:
    return str(get_locale() or "ja")


class UsageView(SecureView):
    required_action = "usage.read"

    def _month(self) -> dt.date:
        try:
            return parse_month(request.args.get("month"))
        except DomainError:
            abort(400)

    def _metric(self) -> str:
        metric = request.args.get("metric", "api_calls")
        if metric not in METRICS:
            abort(400)
        return metric

    @expose("/")
    def index(self):
        """A page of paging.PAGE_SIZE tenants at a time (code order), searchable by code or name."""
        month, metric = self._month(), self._metric()
        search, number = paging.search_text(), paging.page_number()
        # the page shows the month only (the fiscal year's trend is the chart's and the Excel download's)
        report = usage_reports.build_report(db.session, g.actor, month, search=search or None,
                                            offset=(number - 1) * paging.PAGE_SIZE, limit=paging.PAGE_SIZE,
                                            with_trend=False)
        page = paging.Page.of(report.tenants, number, report.count)
        ja = _locale() == "ja"
        metrics = [{"name": m.name, "label": m.label_ja if ja else m.label_en, "gauge": m.kind.value == "gauge"}
                   for m in METRICS.values()]
        plans = quotas.list_plans(db.session, g.actor)
        datasets = usage_reports.dataset_usage(db.session, g.actor, month, top=usage_reports.PAGE_TOP_DATASETS)
        # this month's limits reached: the home page's figure, by the same read (the first 50 listed)
        alerts, alert_count = quota_alerts.quota_alerts_shown(db.session, g.actor, paging.PAGE_SIZE)
        return self.render(
            "renkei/usage_dashboard.html", report=report, month=month, metric=metric, metrics=metrics,
            alerts=[(f"{labels.tenant_label(a.tenant_code)}: {labels.metric_label(a.metric)} {a.used:,} / {a.limit:,} ({a.percent}%)",
                     url_for(".tenant_quota", code=a.tenant_code) if authz.allowed(g.actor, "quota.manage") else None)
                    for a in alerts], alert_count=alert_count,
            datasets=datasets, page_top=usage_reports.PAGE_TOP_DATASETS,
            metric_label=next(m["label"] for m in metrics if m["name"] == metric),
            fiscal_year=fiscal_year_of(month), fiscal_label=format_fiscal_year(fiscal_year_of(month), _locale()),
            plans=[quota_plans.plan_summary(p) for p in plans], hard=Enforcement.hard.value, ja=ja,
            plan_name={p.code: (p.name_ja if ja else (p.name_en or p.name_ja)) for p in plans},
            manage=authz.allowed(g.actor, "quota.manage"), search=search, page=page.page, pages=page.pages,
            first=page.first, last=page.last,
        )

    # --- quota plans and per-tenant settings (the operator) ------------------------------------------

    def _manage(self) -> None:
        if not authz.allowed(g.actor, "quota.manage"):
            abort(403)

    def _plan_page(self, form, plan):
        return self.render("renkei/usage_plan.html", form=form, plan=plan, metric_names=list(METRICS),
                           metric_label=forms.metric_label)

    def _plan_form(self, formdata=None):
        form = forms.plan_form_class()(formdata)
        for name in METRICS:
            form[f"enforcement_{name}"].choices = forms.enforcement_choices()
        return form

    @expose("/plans/new", methods=("GET", "POST"))
    def new_plan(self):
        return self.edit_plan(None)

    @expose("/plans/<code>/", methods=("GET", "POST"))
    def edit_plan(self, code: str | None):
        """A plan's name, population band and limits per metric; a new plan when ``code`` is None."""
        self._manage()
        plan = quotas.find_plan(db.session, code) if code is not None else None
        if code is not None and plan is None:
            abort(404)
        if request.method == "GET":
            form = self._plan_form()
            if plan is not None:
                form.code.data, form.name_ja.data, form.name_en.data = plan.code, plan.name_ja, plan.name_en
                form.population_min.data, form.population_max.data = plan.population_min, plan.population_max
                forms.fill_limits(form, {row.metric: row for row in plan.limits})
            return self._plan_page(form, plan)
        form = self._plan_form(request.form)
        valid = form.validate()
        plan_code = plan.code if plan is not None else (form.code.data or "").strip()
        if plan is None and not plan_code:
            form.code.errors = [*form.code.errors, _("Enter a code of letters, digits, - or _ for the new plan.")]
        if not valid or any(f.errors for f in form):
            return self._plan_page(form, plan)
        thresholds = {row.metric: list(quotas.thresholds_of(row.thresholds))
                      for row in (plan.limits if plan is not None else [])}
        limits = forms.limits_from(form, thresholds)
        change = {"name_ja": form.name_ja.data.strip(), "name_en": (form.name_en.data or "").strip(),
                  "population_min": form.population_min.data, "population_max": form.population_max.data,
                  "limits": limits}
        fields = forms.limit_problem_fields(limits)
        return post_action(with_problems_beside_fields(form, lambda: quota_plans.change_quota_plan(db.session, g.actor, plan_code, change),
                                         fields),
                           saved=_("Saved."), done=lambda saved: redirect(url_for(".edit_plan", code=saved.code)),
                           failed=lambda: self._plan_page(form, plan))

    def _tenant_page(self, code: str, assign=None, override=None):
        self._manage()
        try:
            settings = quotas.tenant_quota_settings(db.session, g.actor, code)
        except NotFound as error:
            abort(status_of(error))
        plans = quotas.list_plans(db.session, g.actor)
        ja = forms.ja()
        plan_name = lambda p: p.name_ja if ja else (p.name_en or p.name_ja)  # noqa: E731
        plan_label = lambda p: f"{plan_name(p)}（{p.code}）"  # noqa: E731  (in the picker, the code tells names apart)
        if assign is None:
            assign = forms.AssignPlanForm()
            assign.plan_code.data = settings.assigned_plan.code if settings.assigned_plan else ""
        assign.plan_code.choices = [("", _("The plan of its population band"))] + [(p.code, plan_label(p)) for p in plans]
        if override is None:
            override = forms.OverrideForm()
        override.metric.choices = [(name, forms.metric_label(name)) for name in METRICS]
        override.enforcement.choices = [("", _("As without this limit (see below)"))] + forms.enforcement_choices()
        inherited = ("、" if ja else ", ").join(f"{forms.metric_label(name)}: {forms.pick(Enforcement(quotas.inherited_enforcement(db.session, settings.tenant, name)).label)}"
                             for name in METRICS)
        status = quotas.tenant_quota_status(db.session, g.actor, code, measured=measured_levels(code))
        return self.render("renkei/usage_tenant_quota.html", settings=settings, tenant=settings.tenant, assign=assign,
                           override=override, status=status, plan_name=plan_name, metric_label=forms.metric_label,
                           enforcement_label=lambda value: forms.pick(Enforcement(value).label),
                           hard=Enforcement.hard.value, ja=ja, inherited=inherited)

    @expose("/tenants/<code>/")
    def tenant_quota(self, code: str):
        """One tenant's limits now, with the forms that assign its plan and set or remove its own limits."""
        return self._tenant_page(code)

    @expose("/tenants/<code>/assign", methods=("POST",))
    def assign_plan(self, code: str):
        self._manage()
        form = forms.AssignPlanForm(request.form)
        plan_code = (form.plan_code.data or "").strip() or None
        return post_action(with_problems_beside_fields(form, lambda: quota_plans.assign_quota_plan(db.session, g.actor, code, plan_code),
                                         {"plan": "plan_code", "code": "plan_code"}),
                           saved=_("Saved."), back=url_for(".tenant_quota", code=code),
                           failed=lambda: self._tenant_page(code, assign=form))

    @expose("/tenants/<code>/override", methods=("POST",))
    def set_override(self, code: str):
        self._manage()
        form = forms.OverrideForm(request.form)
        valid = form.validate()
        if form.metric.data not in METRICS:
            form.metric.errors = [*form.metric.errors, _("Choose the metric.")]
        if form.enforcement.data not in {"", *(e.value for e in Enforcement)}:  # "": as without the override
            form.enforcement.errors = [*form.enforcement.errors, _("Choose what happens when the limit is reached.")]
        if not valid or any(f.errors for f in form):
            return self._tenant_page(code, override=form)
        settings = quotas.tenant_quota_settings(db.session, g.actor, code)
        existing = settings.overrides.get(form.metric.data)
        spec = {"metric": form.metric.data, "limit": form.limit.data, "enforcement": form.enforcement.data or None}
        if existing is not None:
            spec["thresholds"] = list(quotas.thresholds_of(existing.thresholds))
        return post_action(with_problems_beside_fields(form, lambda: quota_plans.set_quota_override(
                               db.session, g.actor, code, spec, (form.reason.data or "").strip())),
                           saved=_("Saved."), back=url_for(".tenant_quota", code=code),
                           failed=lambda: self._tenant_page(code, override=form))

    @expose("/tenants/<code>/override/<metric>/remove", methods=("POST",))
    def remove_override(self, code: str, metric: str):
        self._manage()
        if metric not in METRICS:
            abort(404)
        return post_action(lambda: quota_plans.set_quota_override(db.session, g.actor, code, {"metric": metric, "limit": None}),
                           saved=_("The tenant's own limit was removed; its plan's limit applies again."),
                           back=url_for(".tenant_quota", code=code))

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
        report = usage_reports.build_report(db.session, g.actor, month, with_trend=fmt == "xlsx")  # the CSV has no trend
        if fmt == "csv":  # streamed: the first rows leave before the last are written
            data, mimetype = usage_reports.report_csv_chunks(report, _locale() == "ja"), CSV_MIMETYPE
        else:
            data = usage_reports.report_xlsx(report, usage_reports.dataset_usage(db.session, g.actor, month))
            mimetype = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        response = Response(data, mimetype=mimetype)
        response.headers["Content-Disposition"] = f'attachment; filename="usage-{month:%Y-%m}.{fmt}"'
        return response


    @expose("/datasets.csv")
    def download_datasets(self):
        """The month's usage by dataset as CSV: every dataset used, most used first (the provider's own
        for a municipality)."""
        month = self._month()
        usage = usage_reports.dataset_usage(db.session, g.actor, month)
        response = Response(usage_reports.dataset_csv(usage, _locale() == "ja"), mimetype=CSV_MIMETYPE)
        response.headers["Content-Disposition"] = f'attachment; filename="usage-datasets-{month:%Y-%m}.csv"'
        return response


def _timestamp(view, context, model, name):
    return format_date(getattr(model, name), _locale())


def _status(view, context, model, name):
    return Markup('<span class="badge badge-notification-{}">{}</span>').format(NotificationStatus(model.status).value,
                                                                               labels.outbox_status(model.status))


def _kind(view, context, model, name):
    return labels.outbox_kind(model.kind)


def _tenant(view, context, model, name):
    return labels.tenant_label(model.tenant_code) if model.tenant_code else "—"


_LINK = re.compile(r"https?://[^\s<>「」（）]+")


def _body(view, context, model, name):
    """The message as the recipient reads it, its links clickable and copyable; while it is not sent
    because no mail server is set, why, and that the link must reach the person another way."""
    text = str(model.body or "")
    parts, last = [], 0
    for found in _LINK.finditer(text):
        parts += [escape(text[last:found.start()]), Markup('<a href="{0}">{0}</a>').format(found.group(0))]
        last = found.end()
    parts.append(escape(text[last:]))
    body = Markup('<div class="outbox-body" style="white-space: pre-wrap">{}</div>').format(Markup("").join(parts))
    if model.status != "sent" and not current_app.config.get("RENKEI_SMTP_HOST"):
        reason = Markup('<p class="alert alert-warning" role="status">{}</p>').format(_(
            "This message has not been sent: no mail server (RENKEI_SMTP_HOST) is set. Pass its link or text to the "
            "person another way (copy it from below)."))
        return reason + body
    return body


class OutboxView(SecureModelView):
    """The notifications outbox: onboarding messages and quota alerts alike."""

    required_action = "notification.read"
    tenant_code_column = "tenant_code"
    column_list = ("created_at", "tenant_code", "kind", "subject", "status", "attempts", "sent_at")
    column_details_list = ("created_at", "tenant_code", "kind", "recipients", "subject", "body", "status", "attempts",
                           "last_error", "sent_at")
    column_filters = ("kind", "status", "tenant_code")
    column_searchable_list = ("subject", "tenant_code", "kind")
    column_default_sort = ("id", True)
    column_labels = {
        "created_at": _l("Created"), "tenant_code": _l("Tenant"), "kind": _l("Kind"), "subject": _l("Subject"),
        "status": _l("Status"), "attempts": _l("Attempts"), "sent_at": _l("Sent"), "recipients": _l("Recipients"),
        "body": _l("Message"), "last_error": _l("Last error"), "dedupe_key": _l("Dedupe key"),
    }
    column_formatters = {"created_at": _timestamp, "sent_at": _timestamp, "status": _status, "kind": _kind,
                         "tenant_code": _tenant}
    column_formatters_detail = {**column_formatters, "body": _body}


def views(session):
    return [
        UsageView(name=_l("Usage"), endpoint="usage", url="usage"),
        OutboxView(Notification, session, name=_l("Notifications"), endpoint="outbox", url="outbox"),
    ]
