"""/api/v1 usage metering and quotas: ingest, the gateway's quota check, usage, reports, plans."""

from __future__ import annotations

import dataclasses
import os
from typing import Annotated, Any, Literal, get_args

from flask import Response, current_app, jsonify
from pydantic import BaseModel, Field, create_model

from admin.api import API_PREFIX, BEARER, PROBLEM_RESPONSES, CachedSchema, tag
from admin.api.contract import json_csv_xlsx, media
from admin.api.decisions import QuotaDecisionOut, quota_cache
from admin.api.fields import MONTH_PATTERN
from admin.auth import current_actor
from admin.edge import StrictAPIBlueprint
from admin.extensions import db
from usage import dataset_use, event_checks, metering, quota_plans, quotas, reports as usage_reports
from core.calendar import FIRST_FISCAL_YEAR, LAST_FISCAL_YEAR, current_month, fiscal_year_of, parse_month
from usage.models import METRICS
from usage.quotas import MetricName, QuotaOverrideSpec, QuotaPlanChange
from core.spreadsheet import CSV_MIMETYPE
from core.validation import AccountHolderCode, StatedInSchema, TenantCode
from catalogue.operations import NAME_PATTERN

bp = StrictAPIBlueprint("api_usage", __name__, url_prefix=API_PREFIX,
                        abp_tags=tag("usage", "利用実績・利用上限 / usage metering and quotas"),
                        abp_security=BEARER, abp_responses=PROBLEM_RESPONSES)

def metering_settings() -> metering.MeteringSettings:
    config = {name: current_app.config.get(name) or os.environ.get(name)
              for name in ("RENKEI_USAGE_RETENTION_MONTHS", "RENKEI_USAGE_MAX_FUTURE_SECONDS")}
    return metering.MeteringSettings.from_mapping(config)


# --- ingest ------------------------------------------------------------------------------------

# An event's time in the plain ISO 8601 form with a zone, which the check takes (it takes other forms
# Python reads too); a subset: days 01-28 stand for every day, so that each string the pattern admits
# is a date
TIMESTAMP_PATTERN = (r"^[12][0-9]{3}-(?:0[1-9]|1[0-2])-(?:0[1-9]|1[0-9]|2[0-8])T(?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]"
                     r"(?:\.[0-9]{1,6})?(?:Z|[+-](?:0[0-9]|1[0-4]):[0-5][0-9])$")


# the metrics a client reports: every metric but those renkei counts itself (event_checks.COUNTED_BY_RENKEI)
ReportedMetric = Literal[tuple(name for name in get_args(MetricName) if name not in event_checks.COUNTED_BY_RENKEI)]


class UsageEventDoc(BaseModel):
    tenant: str = Field(description="Local government code of the tenant, e.g. 431001")
    metric: ReportedMetric = Field(description="A metric a client reports (datasets is counted from the register)")
    quantity: int = Field(ge=0, le=event_checks.MAX_QUANTITY,
                          description="Whole number ≥ 0: calls for api_calls, the current level for a gauge")
    timestamp: str = Field(json_schema_extra={"pattern": TIMESTAMP_PATTERN},
                           description="ISO 8601 with a time zone, e.g. 2025-06-01T09:30:00+09:00; within the "
                                       "retention window and not in the future (beyond a schema: refused per event)")
    event_id: str = Field(min_length=1, max_length=128, pattern=r"\S", description="Unique per event; with the timestamp it names the event, so a batch sent again (same event_id and timestamp) counts once")
    dataset: str | None = Field(default=None, json_schema_extra={"pattern": NAME_PATTERN},
                                description="Optional: the catalogue name (CKAN package_show's name) of a dataset of "
                                            "the register that the event's tenant provides, whose use this counts "
                                            "(beyond a schema: an unknown dataset or another provider's is refused per event)")


class UsageBatchIn(BaseModel):
    events: list[Any] = Field(
        description="1 to 10,000 usage events; checked together, recorded all or nothing",
        json_schema_extra={"items": UsageEventDoc.model_json_schema(), "minItems": 1,
                           "maxItems": metering.MeteringSettings().max_batch},
    )


class IngestOut(BaseModel):
    batch_id: int
    received: int
    accepted: int = Field(description="Events counted now")
    duplicates: int = Field(description="Events already recorded (same event_id and timestamp): not counted again")
    alerts: int = Field(description="Quota threshold alerts queued by this batch")


@bp.post("/usage", responses={200: IngestOut}, summary="Report usage events (machine clients: metering-client role)",
         description=(
             "A batch of up to 10,000 events `{tenant, metric, quantity, timestamp, event_id}`, each optionally naming "
             "the `dataset` (its catalogue name) of the tenant's own whose use it counts. Every event is checked "
             "first; if one is wrong (unknown tenant or metric, negative or non-integer quantity, timestamp more than "
             "5 minutes ahead or before the retention window, a dataset not in the register or another provider's), "
             "the whole batch is refused with 422 and `errors` names "
             "each bad event (`index`, `event_id`, `field`); nothing is recorded. `event_id` with `timestamp` makes the call "
             "idempotent: sending the same batch again counts each event once (send each event again with its "
             "original timestamp). Authenticate with a client-credentials token of a "
             "client holding the realm role `metering-client`."))
def post_usage(body: UsageBatchIn):
    result = metering.ingest(db.session, current_actor(), body.events, settings=metering_settings())
    return jsonify(result.summary())


# --- quota check -------------------------------------------------------------------------------

class TenantPath(BaseModel):
    code: TenantCode = Field(description="Local government code, 6 digits with check digit")


class QuotaCheckQuery(CachedSchema):
    metric: MetricName = "api_calls"
    quantity: int = Field(default=1, ge=1, le=1_000_000_000, description="Units the caller wants to use now")


@bp.get("/tenants/<code>/quota-check", responses={200: QuotaDecisionOut},
        summary="Quota check for an API gateway: allow or deny, and what remains",
        description=(
            "What an API gateway in front of the context broker calls before forwarding a tenant's request: "
            "`allowed` false means deny (a hard limit is used up, or the tenant is not active). Always 200 when the "
            "check itself worked; the gateway decides on `allowed`. Served from memory: figures are at most "
            "`max_staleness_seconds` (default 5, setting RENKEI_QUOTA_CACHE_SECONDS) behind usage recorded by other "
            "server processes and limit changes; usage recorded by the same process counts at once. Counters "
            "(api_calls) count the current Japan-time month and start again at zero each month."))
def quota_check(path: TenantPath, query: QuotaCheckQuery):
    decision = quotas.check_quota(db.session, current_actor(), quota_cache(), path.code, query.metric, query.quantity)
    body = current_app.json.dumps(decision.summary(), separators=(",", ":")) + "\n"
    headers = {} if decision.remaining is None else {"X-Quota-Remaining": str(decision.remaining)}
    return Response(body, mimetype="application/json", headers=headers)


# --- usage of a tenant, reports ----------------------------------------------------------------

class UsageQuery(CachedSchema):
    fiscal_year: int | None = Field(default=None, ge=FIRST_FISCAL_YEAR, le=LAST_FISCAL_YEAR, description="Fiscal year (April-March); default: the current one")


class MetricStatusOut(BaseModel):
    metric: str
    kind: Literal["counter", "gauge"]
    label_ja: str
    label_en: str
    period: str = Field(description="YYYY-MM (Japan time)")
    used: int
    limit: int | None = Field(description="null: no limit")
    percent: int | None = Field(description="used as a percentage of the limit (null: no limit, or a limit of 0)")
    enforcement: Literal["soft", "hard"] | None
    thresholds: list[int] = Field(description="Alert thresholds, percent of the limit")
    source: str | None = Field(description="Where the limit comes from: override, registry or plan:<code>")
    plan: str | None = Field(description="The quota plan that applies to the tenant")


UsageMonthOut = create_model(
    "UsageMonthOut", __doc__="One month (YYYY-MM) and the value of each metric in it.",
    month=(str, Field(description="YYYY-MM (Japan time)")), **{name: (int, ...) for name in METRICS})


class TenantUsageOut(BaseModel):
    tenant: str
    fiscal_year: int
    now: list[MetricStatusOut] = Field(description="Usage now against the tenant's limits")
    months: list[UsageMonthOut] = Field(description="Per month (YYYY-MM): the value of each metric")


@bp.get("/tenants/<code>/usage", responses={200: TenantUsageOut}, summary="A tenant's usage now, against its limits, and per month of a fiscal year")
def tenant_usage(path: TenantPath, query: UsageQuery):
    return jsonify(usage_reports.tenant_usage(db.session, current_actor(), path.code, query.fiscal_year))


class ReportQuery(CachedSchema):
    month: Annotated[str, StatedInSchema(pattern=MONTH_PATTERN)] | None = Field(
        default=None, description="YYYY-MM (Japan time) in a supported fiscal year; default: the current month")
    tenant: TenantCode | None = Field(default=None, description="One tenant; default: every tenant you may see")
    format: Literal["json", "csv", "xlsx"] = "json"


class ReportLimitOut(BaseModel):
    limit: int
    enforcement: Literal["soft", "hard"]
    thresholds: list[int] = Field(description="Alert thresholds, percent of the limit")
    source: str = Field(description="Where the limit comes from: override, registry or plan:<code>")


class ReportTenantOut(BaseModel):
    code: str
    name_ja: str
    plan: str
    values: dict[str, int] = Field(description="The month's figure per metric")
    limits: dict[str, ReportLimitOut] = Field(description="The limit in force per metric (metrics with one)")
    percent: dict[str, int | None] = Field(description="Per metric: the figure as a percentage of its limit (null: no limit)")


class DatasetUseOut(BaseModel):
    name: str = Field(description="The dataset's catalogue name (CKAN package_show's name)")
    title_ja: str
    provider_code: str = Field(description="The providing tenant's local government code")
    provider_name: str = Field(description="The providing tenant's name (Japanese)")
    calls: int = Field(description="API calls in the month that named the dataset (件)")


class ProviderUseOut(BaseModel):
    code: str
    name_ja: str
    datasets: int = Field(description="How many of its datasets were used in the month")
    calls: int = Field(description="API calls in the month that named one of its datasets (件)")


class DatasetUsageOut(BaseModel):
    top: list[DatasetUseOut] = Field(description="Every dataset used in the month, most calls first")
    providers: list[ProviderUseOut] = Field(description="Totals by provider, most calls first")
    total: int = Field(description="Every API call in the month that named a dataset")


class UsageReportOut(BaseModel):
    month: str = Field(description="YYYY-MM (Japan time)")
    platform: bool = Field(description="True: every tenant (the prefecture's report); false: only some tenants")
    tenants: list[ReportTenantOut]
    totals: dict[str, int] | None = Field(description="Per metric, every tenant's total (platform report only)")
    datasets: DatasetUsageOut = Field(description="Usage by dataset of the tenants in the report (api_calls events that "
                                                  "named a dataset of the register)")


@bp.get("/usage/report", responses={200: json_csv_xlsx(UsageReportOut)}, summary="Monthly usage report (per tenant, or the whole platform): JSON, CSV or Excel")
def usage_report(query: ReportQuery):
    month = parse_month(query.month)
    report = usage_reports.build_report(db.session, current_actor(), month, [query.tenant] if query.tenant else None)
    name = f"usage-{month:%Y-%m}{'-' + query.tenant if query.tenant else ''}"
    if query.format == "csv":
        return _download(usage_reports.report_csv(report), CSV_MIMETYPE, f"{name}.csv")
    datasets = usage_reports.dataset_usage(db.session, current_actor(), month, [query.tenant] if query.tenant else None)
    if query.format == "xlsx":
        return _download(usage_reports.report_xlsx(report, datasets),
                         "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", f"{name}.xlsx")
    return jsonify({
        "month": month.strftime("%Y-%m"), "platform": report.platform,
        "tenants": [{"code": t.code, "name_ja": t.name_ja, "plan": t.plan, "values": t.values,
                     "limits": {m: lim.summary() for m, lim in t.limits.items()},
                     "percent": {m: t.percent(m) for m in t.values}} for t in report.tenants],
        "totals": report.totals() if report.platform else None,
        "datasets": {"top": [dataclasses.asdict(use) for use in datasets.top],
                     "providers": [dataclasses.asdict(provider) for provider in datasets.providers],
                     "total": datasets.total},
    })


class ChartQuery(CachedSchema):
    fiscal_year: int | None = Field(default=None, ge=FIRST_FISCAL_YEAR, le=LAST_FISCAL_YEAR)
    metric: MetricName = "api_calls"
    tenant: TenantCode | None = None


@bp.get("/usage/chart.png", responses={200: media("image/png")}, summary="PNG chart of a metric per tenant over the months of a fiscal year")
def usage_chart(query: ChartQuery):
    this_month = current_month()
    year = query.fiscal_year or fiscal_year_of(this_month)
    png = usage_reports.chart_png(db.session, current_actor(), year, query.metric, [query.tenant] if query.tenant else None,
                                  last_month=this_month)
    return _download(png, "image/png", f"usage-{query.metric}-FY{year}.png", inline=True)


def _download(data: bytes, mimetype: str, filename: str, inline: bool = False) -> Response:
    response = Response(data, mimetype=mimetype)
    response.headers["Content-Disposition"] = f'{"inline" if inline else "attachment"}; filename="{filename}"'
    return response


# --- who uses a provider's datasets (issue 37) ---------------------------------------------------

class ProviderPath(BaseModel):
    code: AccountHolderCode = Field(description="The provider: a tenant's code or a member organisation's corporate number")


class DatasetUseQuery(CachedSchema):
    month: Annotated[str, StatedInSchema(pattern=MONTH_PATTERN)] | None = Field(
        default=None, description="YYYY-MM (Japan time) in a supported fiscal year; default: the current month")


class ConsumerUseOut(BaseModel):
    consumer_code: str = Field(description="The consuming tenant's code or member organisation's corporate number")
    consumer_name: str
    client_id: int | None = Field(description="The API client's number in renkei")
    client_name: str
    calls: int = Field(description="Calls through the API gateway in the month (件)")


class DatasetConsumersOut(BaseModel):
    name: str = Field(description="The dataset's catalogue name")
    title_ja: str
    calls: int
    consumers: list[ConsumerUseOut] = Field(description="Most calls first")


class ProviderDatasetUseOut(BaseModel):
    provider_code: str
    month: str = Field(description="YYYY-MM (Japan time)")
    calls: int
    datasets: list[DatasetConsumersOut] = Field(description="The provider's datasets called in the month, most calls first")


@bp.get("/dataset-use/<code>", responses={200: ProviderDatasetUseOut},
        summary="Who used a provider's datasets in a month: calls through the API gateway by consumer and API client")
def provider_dataset_use(path: ProviderPath, query: DatasetUseQuery):
    use = dataset_use.dataset_use(db.session, current_actor(), path.code, parse_month(query.month))
    return jsonify({"provider_code": use.provider_code, "month": use.month.strftime("%Y-%m"), "calls": use.calls,
                    "datasets": [dataclasses.asdict(dataset) for dataset in use.datasets]})


# --- plans and overrides -----------------------------------------------------------------------

class PlanLimitOut(BaseModel):
    limit: int
    enforcement: Literal["soft", "hard"]
    thresholds: list[int] = Field(description="Alert thresholds, percent of the limit")


class QuotaPlanOut(BaseModel):
    code: str
    name_ja: str
    name_en: str
    population_min: int | None = None
    population_max: int | None = None
    limits: dict[str, PlanLimitOut] = Field(description="Per metric: limit, enforcement and alert thresholds")


class QuotaPlanList(BaseModel):
    items: list[QuotaPlanOut]


class TenantQuotaOut(BaseModel):
    tenant: str
    now: list[MetricStatusOut] = Field(description="The tenant's plan, limits and usage after the change")


class PlanPath(BaseModel):
    plan: str = Field(max_length=32, json_schema_extra={"pattern": r"^[A-Za-z0-9_-]{1,32}$"},
                      description="Plan code, e.g. small, medium, large: 1-32 letters, digits, '-' or '_'")


@bp.get("/quota-plans", responses={200: QuotaPlanList}, summary="Quota plans and their limits")
def list_plans():
    return jsonify({"items": [quota_plans.plan_summary(plan) for plan in quotas.list_plans(db.session, current_actor())]})


@bp.put("/quota-plans/<plan>", responses={200: QuotaPlanOut}, summary="Create a quota plan or change its limits (operator)")
def put_plan(path: PlanPath, body: QuotaPlanChange):
    plan = quota_plans.change_quota_plan(db.session, current_actor(), path.plan, body)
    return jsonify(quota_plans.plan_summary(plan))


class AssignBody(BaseModel):
    plan: str | None = Field(description="Plan code; null returns the tenant to the plan of its population band")


@bp.put("/tenants/<code>/quota-plan", responses={200: TenantQuotaOut}, summary="Assign a quota plan to a tenant (operator)")
def put_tenant_plan(path: TenantPath, body: AssignBody):
    actor = current_actor()
    quota_plans.assign_quota_plan(db.session, actor, path.code, body.plan)
    return jsonify({"tenant": path.code, "now": quotas.tenant_quota_status(db.session, actor, path.code)})


class OverrideBody(QuotaOverrideSpec):
    reason: str = Field(default="", max_length=1000)


@bp.put("/tenants/<code>/quota-override", responses={200: TenantQuotaOut}, summary="Set or remove (limit null) a tenant's own limit for one metric (operator)")
def put_override(path: TenantPath, body: OverrideBody):
    actor = current_actor()
    spec = QuotaOverrideSpec.model_validate(body.model_dump(exclude={"reason"}))
    quota_plans.set_quota_override(db.session, actor, path.code, spec, body.reason)
    return jsonify({"tenant": path.code, "now": quotas.tenant_quota_status(db.session, actor, path.code)})
