"""/api/v1/service: running the platform (issue 39): the components probed and their state, each
month's availability against the target, planned maintenance, and the service settings. The
operator changes them; the auditor reads; each operation authorises itself and audits its act.
The public status is a page and JSON outside the API (``/status``, ``/status.json``)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from flask import Response, current_app, jsonify
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints

from admin.api import API_PREFIX, BEARER, PROBLEM_RESPONSES, CachedSchema, tag
from admin.api.contract import XLSX, media
from admin.api.fields import MONTH_PATTERN
from admin.auth import current_actor
from admin.edge import StrictAPIBlueprint
from admin.extensions import db
from core import authz
from core.calendar import current_month, parse_month
from core.db import utcnow
from core.validation import HTTP_URL_PATTERN, ID_RANGE, NOT_BLANK, SINGLE_LINE
from service import components, maintenance, report, settings, status
from service.availability import percent_text

bp = StrictAPIBlueprint("api_service", __name__, url_prefix=API_PREFIX,
                        abp_tags=tag("service", "稼働監視・計画メンテナンス / running the platform"),
                        abp_security=BEARER, abp_responses=PROBLEM_RESPONSES)
PDF = "application/pdf"

KEY_PATTERN = "^(?:" + "|".join(components.BUILTINS) + r"|c-[1-9][0-9]{0,8})$"
Title = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200), NOT_BLANK]
Reason = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500), NOT_BLANK]


class ServiceComponentPath(BaseModel):
    key: str = Field(pattern=KEY_PATTERN, description="renkei, database, keycloak, gateway, ckan, dcat, or c-<n>")


class MaintenanceWindowPath(BaseModel):
    window_id: int = Field(**ID_RANGE)


class ServiceMonthQuery(CachedSchema):
    month: str | None = Field(default=None, pattern=MONTH_PATTERN, description="YYYY-MM (Japan time); default: this month")


class ServiceComponentBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name_ja: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100), NOT_BLANK] = Field(
        description="Japanese name, unique among the components")
    name_en: str = Field(default="", max_length=100)
    url: Annotated[str, StringConstraints(max_length=500, pattern=HTTP_URL_PATTERN), SINGLE_LINE] = Field(
        description="The health URL probed by GET")
    expected_status: int = Field(default=200, ge=100, le=599)
    timeout_ms: int = Field(default=5000, ge=components.TIMEOUT_MS[0], le=components.TIMEOUT_MS[1])


class ServiceActiveBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    active: bool = Field(description="false: stop probing (its intervals stay); true: probe again")


class ServiceComponentOut(BaseModel):
    key: str
    name_ja: str
    name_en: str
    builtin: bool
    url: str
    expected_status: int
    timeout_ms: int
    active: bool
    state: str = Field(description="up, down or unknown (no recent probe)")
    since: dt.datetime | None


class ServiceComponentList(BaseModel):
    items: list[ServiceComponentOut]


class ServiceComponentMonthOut(BaseModel):
    key: str
    name_ja: str
    availability_percent: str | None = Field(description="Up time / (up time + down time), planned maintenance excluded, written "
                                                         "down to 3 places; null: nothing measured (未計測)")
    availability_ratio: str | None = Field(description="The same, exactly, as numerator/denominator")
    target_percent: str
    meets_target: bool | None
    maintenance_minutes: int = Field(description="Planned maintenance excluded from the period (whole minutes)")
    down_minutes: int
    unmeasured_minutes: int = Field(description="Time no probe covered (未計測): neither up nor down")
    measured_percent: str | None = Field(description="The share of the month (less maintenance) measured, written down to 3 places")
    outages: int = Field(description="Outages confirmed (probes failed for the configured time) starting in the month")
    mean_response_ms: int | None


class ServiceAvailabilityOut(BaseModel):
    month: str
    maintenance_excluded: bool = Field(description="Always true: planned maintenance is not counted as downtime")
    requests: int | None = Field(description="Requests in the request log in the month (null: the log is not kept in files)")
    requests_over_3s: int | None
    share_over_3s_percent: str | None
    items: list[ServiceComponentMonthOut]


class MaintenanceWindowBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    title: Title
    starts_at: AwareDatetime = Field(description="In the future; within the permitted hours unless outside_hours_reason")
    ends_at: AwareDatetime = Field(description="After starts_at, within 7 days")
    component_keys: list[Annotated[str, StringConstraints(pattern=KEY_PATTERN)]] = Field(min_length=1, max_length=50)
    tenant_codes: list[Annotated[str, StringConstraints(pattern=r"^[0-9]{6}$")]] = Field(
        default=[], max_length=200, description="Affected active municipalities; none: every active one")
    description: str = Field(default="", max_length=5000)
    outside_hours_reason: str = Field(default="", max_length=500, description="Required outside the permitted hours")
    to_members: bool = Field(default=False, description="Announce to the approved member organisations too")


class MaintenanceCancelBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: Reason


class MaintenanceWindowOut(BaseModel):
    id: int
    title: str
    description: str
    starts_at: dt.datetime
    ends_at: dt.datetime
    components: list[str]
    tenants: list[str]
    outside_hours_reason: str
    to_members: bool
    notice_id: int | None
    cancelled_at: dt.datetime | None
    cancel_reason: str


class MaintenanceWindowList(BaseModel):
    items: list[MaintenanceWindowOut]


Recipient = Annotated[str, StringConstraints(pattern=r"^[^@\s,]+@[^@\s,]+\.[^@\s,]+$", max_length=96)]


class ServiceSettingsBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    target_basis_points: int = Field(ge=5000, le=10000, description="Availability target in hundredths of a percent (9950 = 99.50 %)")
    outage_after_minutes: int = Field(ge=1, le=1440, description="Probes failing this long confirm an outage")
    maintenance_weekdays_only: bool
    maintenance_start_hour: int = Field(ge=0, le=23, description="Permitted maintenance hours start (Japan time)")
    maintenance_end_hour: int = Field(ge=1, le=24, description="and end; after the start")
    search_words_minimum: int = Field(default=5, ge=1, le=1000, description="The monthly report names a catalogue "
                                      "search word searched at least this often (the rest are omitted)")
    first_report_minutes: int | None = Field(default=None, ge=1, le=1440, description="An incident's first report to the "
                                             "prefecture is due so many minutes after detection (absent: unchanged)")
    report_recipients: list[Recipient] | None = Field(default=None, max_length=20, description="The prefecture's "
                                                      "recipients of the reports ([]: the installation's; absent: unchanged)")


class ServiceSettingsOut(ServiceSettingsBody):
    target_percent: str


def _iso(moment: dt.datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


def _component(item: status.ComponentNow) -> dict:
    c = item.component
    return {"key": c.key, "name_ja": c.name_ja, "name_en": c.name_en, "builtin": c.builtin, "url": c.url,
            "expected_status": c.expected_status, "timeout_ms": c.timeout_ms, "active": c.active, "state": item.state,
            "since": _iso(item.since)}


def _component_now(key: str) -> dict:
    found = components.by_key(db.session, key)
    state, since = status.component_state(db.session, found, utcnow())
    return _component(status.ComponentNow(found, state, since, False, []))


@bp.get("/service/components", responses={200: ServiceComponentList}, summary="The components probed and their state now")
def list_components():
    authz.authorize(current_actor(), "service.read")
    now = utcnow()
    items = [status.ComponentNow(c, *status.component_state(db.session, c, now), False, [])
             for c in components.all_components(db.session)]
    return jsonify({"items": [_component(item) for item in items]})


@bp.post("/service/components", responses={201: ServiceComponentOut}, summary="Register a component by its health URL")
def register_component(body: ServiceComponentBody):
    draft = components.ComponentDraft(**body.model_dump())
    found = components.register(db.session, current_actor(), draft)
    return jsonify(_component_now(found.key)), 201


@bp.put("/service/components/<key>/active", responses={200: ServiceComponentOut}, summary="Stop or resume probing a component")
def set_component_active(path: ServiceComponentPath, body: ServiceActiveBody):
    components.set_active(db.session, current_actor(), path.key, body.active)
    return jsonify(_component_now(path.key))


def _month_row(row: report.ComponentMonth) -> dict:
    ratio, measured = row.measured.ratio, row.measured
    return {"key": row.component.key, "name_ja": row.component.name_ja,
            "availability_percent": None if ratio is None else percent_text(ratio),
            "availability_ratio": None if ratio is None else f"{ratio.numerator}/{ratio.denominator}",
            "target_percent": percent_text(row.target, 2), "meets_target": row.meets,
            "maintenance_minutes": measured.maintenance // 60_000_000, "down_minutes": measured.down // 60_000_000,
            "unmeasured_minutes": measured.unmeasured // 60_000_000,
            "measured_percent": None if measured.measured_share is None else percent_text(measured.measured_share),
            "outages": row.outages,
            "mean_response_ms": row.mean_response_ms}


@bp.get("/service/availability", responses={200: ServiceAvailabilityOut},
        summary="Each component's availability in a month against the target, planned maintenance excluded; the 3-second rule")
def month_availability(query: ServiceMonthQuery):
    from flask import current_app

    month = parse_month(query.month) if query.month else current_month()
    rows = report.month_availability(db.session, current_actor(), month, now=utcnow())
    slow = report.responsiveness(current_app.config.get("RENKEI_REQUEST_LOG"), month)
    share = None if slow is None or slow.slow_share is None else percent_text(slow.slow_share)
    return jsonify({"month": f"{month:%Y-%m}", "maintenance_excluded": True,
                    "requests": slow.requests if slow else None, "requests_over_3s": slow.slow if slow else None,
                    "share_over_3s_percent": share, "items": [_month_row(row) for row in rows]})


def _window(window) -> dict:
    return {"id": window.id, "title": window.title, "description": window.description, "starts_at": _iso(window.starts_at),
            "ends_at": _iso(window.ends_at), "components": maintenance.keys_of(db.session, window),
            "tenants": maintenance.tenants_of(db.session, window), "outside_hours_reason": window.outside_hours_reason,
            "to_members": window.to_members, "notice_id": window.notice_id, "cancelled_at": _iso(window.cancelled_at),
            "cancel_reason": window.cancel_reason}


@bp.get("/service/maintenance", responses={200: MaintenanceWindowList}, summary="Planned maintenance windows, cancelled ones too")
def list_windows():
    authz.authorize(current_actor(), "service.read")
    return jsonify({"items": [_window(w) for w in maintenance.windows(db.session, include_cancelled=True)]})


@bp.post("/service/maintenance", responses={201: MaintenanceWindowOut},
         summary="Schedule a maintenance window and announce it to the affected municipalities (notice and e-mail)")
def schedule_window(body: MaintenanceWindowBody):
    draft = maintenance.WindowDraft(**body.model_dump())
    window = maintenance.schedule(db.session, current_actor(), draft, settings.current(db.session))
    return jsonify(_window(window)), 201


@bp.post("/service/maintenance/<int:window_id>/cancel", responses={200: MaintenanceWindowOut},
         summary="Cancel a maintenance window and announce the cancellation")
def cancel_window(path: MaintenanceWindowPath, body: MaintenanceCancelBody):
    return jsonify(_window(maintenance.cancel(db.session, current_actor(), path.window_id, body.reason)))


def _settings(row) -> dict:
    return {**settings.summary(row), "target_percent": percent_text(settings.target(row), 2)}


@bp.get("/service/settings", responses={200: ServiceSettingsOut}, summary="The availability target, outage time and permitted hours")
def get_settings():
    authz.authorize(current_actor(), "service.read")
    return jsonify(_settings(settings.current(db.session)))


@bp.put("/service/settings", responses={200: ServiceSettingsOut}, summary="Change the service settings")
def put_settings(body: ServiceSettingsBody):
    return jsonify(_settings(settings.save(db.session, current_actor(), settings.SettingsDraft(**body.model_dump()))))


# --- the monthly report to the prefecture (月次運用報告) ----------------------------------------------

class MonthlyReportPath(BaseModel):
    report_id: int = Field(**ID_RANGE)


class MonthlyReportQuery(CachedSchema):
    format: Literal["json", "pdf", "xlsx"] = "json"


class MonthlyReportBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    month: str = Field(pattern=MONTH_PATTERN, description="YYYY-MM (Japan time)")


class MonthlyReportRequests(BaseModel):
    catalogue_people: int
    catalogue_machines: int
    admin_people: int
    admin_machines: int
    public_people: int = Field(default=0, description="The public pages read (/status, /inquiry/…, /events/…)")
    public_machines: int = Field(default=0, description="The public status read by machines (/status.json)")
    searches: int
    logged: bool = Field(description="false: the request log is not written to files, so nothing was counted")


class MonthlyReportDowntime(BaseModel):
    name_ja: str
    minutes: int


class MonthlyReportSignIns(BaseModel):
    client_id: str
    sign_ins: int


class MonthlyReportSignInDay(BaseModel):
    day: dt.date
    sign_ins: int


class MonthlyReportFigures(BaseModel):
    requests: MonthlyReportRequests
    registrations: dict[str, int] = Field(description="members, users (invitations), api_clients, datasets")
    sign_ins: dict[str, int] = Field(description="sign_ins and people (Keycloak's LOGIN events of the platform realm)")
    sign_ins_by_client: list[MonthlyReportSignIns] = Field(default_factory=list, description="per client, the most first")
    sign_ins_by_day: list[MonthlyReportSignInDay] = Field(default_factory=list, description="per Japan-time day")
    api_calls: int
    consent: dict[str, int] = Field(description="checks and linkages (allowed checks)")
    inquiries: int
    incidents: int
    maintenance: int
    downtime_minutes: dict[str, int | None] = Field(description="component key -> minutes down in the month; null: not "
                                                                "measured in the month (未計測), neither up nor down")
    availability_percent: dict[str, str | None] = Field(
        default_factory=dict, description="component key -> availability of the time measured (up / (up + down), planned "
                                          "maintenance excluded), written down to 3 places; null: not measured (未計測)")
    measured_percent: dict[str, str | None] = Field(
        default_factory=dict, description="component key -> the share of the month (less maintenance) measured; null: all "
                                          "of it was maintenance")
    downtime: list[MonthlyReportDowntime] = Field(description="the components down at all in the month")


class MonthlyReportOut(BaseModel):
    id: int
    month: str
    version: int
    written_at: dt.datetime
    written_by: str
    sent_at: dt.datetime | None
    sent_by: str
    recipients: str
    figures: MonthlyReportFigures


class MonthlyReportList(BaseModel):
    items: list[MonthlyReportOut]


def _monthly(row) -> dict:
    from service import monthly_report

    figures = monthly_report.summary_of(row)
    figures.pop("month", None)
    figures["downtime"] = [{"name_ja": name, "minutes": minutes} for name, minutes in figures.get("downtime", [])]
    figures["sign_ins_by_client"] = [{"client_id": c, "sign_ins": n} for c, n in figures.get("sign_ins_by_client", [])]
    figures["sign_ins_by_day"] = [{"day": day, "sign_ins": n} for day, n in figures.get("sign_ins_by_day", [])]
    return {"id": row.id, "month": f"{row.month:%Y-%m}", "version": row.version, "written_at": _iso(row.written_at),
            "written_by": row.written_by, "sent_at": _iso(row.sent_at), "sent_by": row.sent_by,
            "recipients": row.recipients, "figures": figures}


@bp.get("/service/monthly-reports", responses={200: MonthlyReportList},
        summary="Every writing of the monthly report to the prefecture, newest month first")
def list_monthly_reports():
    from service import monthly_report

    return jsonify({"items": [_monthly(row) for row in monthly_report.history(db.session, current_actor())]})


@bp.post("/service/monthly-reports", responses={201: MonthlyReportOut},
         summary="Write a month's report again (a new version; the earlier ones stay)")
def write_monthly_report(body: MonthlyReportBody):
    from admin.request_log import destination
    from service import monthly_report

    row = monthly_report.write(db.session, current_actor(), parse_month(body.month), destination(current_app.config))
    return jsonify(_monthly(row)), 201


@bp.get("/service/monthly-reports/<int:report_id>", responses={200: media(MonthlyReportOut, PDF, XLSX)},
        summary="One writing: its figures, or its PDF or workbook (?format=pdf|xlsx)")
def get_monthly_report(path: MonthlyReportPath, query: MonthlyReportQuery):
    from service import monthly_report

    if query.format == "json":
        return jsonify(_monthly(monthly_report.get(db.session, current_actor(), path.report_id)))
    row, data = monthly_report.download(db.session, current_actor(), path.report_id, query.format)
    response = Response(data, mimetype=PDF if query.format == "pdf" else XLSX)
    response.headers["Content-Disposition"] = f'attachment; filename="{monthly_report.filename(row, query.format)}"'
    return response


@bp.post("/service/monthly-reports/<int:report_id>/send", responses={200: MonthlyReportOut},
         summary="Send a writing to the prefecture's recipients (the outbox), once")
def send_monthly_report(path: MonthlyReportPath):
    from admin.service.incident_settings import report_recipients
    from service import monthly_report

    return jsonify(_monthly(monthly_report.send(db.session, current_actor(), path.report_id, report_recipients())))
