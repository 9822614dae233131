"""The public status page (稼働状況): ``/status`` for people (Japanese, English by ``?lang=en``),
``/status.json`` for machines and ``/status.schema.json``, its JSON Schema. No sign-in; the content
is :func:`service.status.snapshot`'s: each component's state now, planned maintenance coming or under
way, open incidents in plain words, and each of the last 90 Japan days' availability."""

from __future__ import annotations

import datetime as dt
from fractions import Fraction

from flask import Blueprint, Response, jsonify, render_template
from pydantic import BaseModel, Field

from admin.extensions import db
from core.calendar import jst_text
from service import status as service_status
from service.availability import Availability, percent_text
from service.models import MAINTENANCE_LABEL, STATE_WORDS as COMPONENT_WORDS

bp = Blueprint("status_page", __name__)

STATE_WORDS = COMPONENT_WORDS | {"maintenance": MAINTENANCE_LABEL}


class DayOut(BaseModel):
    date: dt.date
    percent: str | None = Field(description="Availability of the Japan day (up / (up + down), planned maintenance excluded), "
                                            "written down to 3 places; null: not measured (未計測), neither up nor down")
    measured_percent: str | None = Field(description="The share of the day (today: so far), planned maintenance excluded, "
                                                     "that was measured; the rest (an hour no probe covered) is 未計測 and "
                                                     "counts in neither direction; null: the whole day was maintenance")


class ComponentOut(BaseModel):
    key: str
    name_ja: str
    name_en: str
    state: str = Field(description="up, down or unknown (no recent probe)", pattern="^(up|down|unknown)$")
    since: dt.datetime | None
    in_maintenance: bool = Field(description="Inside an announced maintenance window now (メンテナンス中): a failure is "
                                             "maintenance, not an outage")
    measured_since: dt.datetime | None = Field(description="When measuring the component started; null: never measured")
    days: list[DayOut] = Field(description="The last 90 Japan days, oldest first")


class MaintenanceOut(BaseModel):
    id: int
    title: str
    starts_at: dt.datetime
    ends_at: dt.datetime
    components: list[str]


class IncidentOut(BaseModel):
    title_ja: str
    title_en: str
    status_ja: str
    status_en: str
    started_at: dt.datetime
    components: list[str]


class StatusOut(BaseModel):
    """renkei's public status (稼働状況)."""

    generated_at: dt.datetime
    overall: str = Field(pattern="^(up|down|unknown|maintenance)$",
                         description="down: a component is down outside maintenance; unknown: one is not measured now; "
                                     "maintenance: one is in announced maintenance; up: all are up")
    measured_since: dt.datetime | None = Field(description="When measuring started (the first probe); null: not yet")
    components: list[ComponentOut]
    maintenance: list[MaintenanceOut] = Field(description="Planned maintenance not yet over, oldest first")
    incidents: list[IncidentOut] = Field(description="Open incidents")


def _percent(ratio: Fraction | None) -> str | None:
    return None if ratio is None else percent_text(ratio)


def status_document(snapshot: service_status.Status) -> StatusOut:
    return StatusOut(
        generated_at=snapshot.generated_at, overall=snapshot.overall, measured_since=snapshot.measured_since,
        components=[ComponentOut(key=i.component.key, name_ja=i.component.name_ja, name_en=i.component.name_en or i.component.name_ja,
                                 state=i.state, since=i.since, in_maintenance=i.in_maintenance,
                                 measured_since=i.measured_since,
                                 days=[DayOut(date=day, percent=_percent(counted.ratio),
                                              measured_percent=_percent(counted.measured_share)) for day, counted in i.days])
                    for i in snapshot.components],
        maintenance=[MaintenanceOut(id=w.id, title=w.title, starts_at=w.starts_at, ends_at=w.ends_at, components=keys)
                     for w, keys in snapshot.maintenance],
        incidents=[IncidentOut(**incident) for incident in snapshot.incidents])


def _no_store(response: Response) -> Response:
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/status")
def status_html():
    snapshot = service_status.snapshot(db.session)
    names = {i.component.key: i.component for i in snapshot.components}
    return _no_store(Response(render_template("renkei/status.html", status=snapshot, words=STATE_WORDS, names=names,
                                              jst_text=jst_text, percent=_percent, bars=bars)))


@bp.get("/status.json")
def status_json():
    document = status_document(service_status.snapshot(db.session))
    return _no_store(Response(document.model_dump_json(), mimetype="application/json"))


@bp.get("/status.schema.json")
def status_schema():
    schema = {"$schema": "https://json-schema.org/draft/2020-12/schema", "$id": "/status.schema.json",
              **StatusOut.model_json_schema()}
    return jsonify(schema)


def bars(days: list[tuple[dt.date, Availability]]) -> list[dict]:
    """One bar per day for the SVG: its x, its colour class and its words; ``measured`` is the share of
    the day measured when not all of it was (the rest is 未計測), else None."""
    result = []
    for index, (day, counted) in enumerate(days):
        ratio, share = counted.ratio, counted.measured_share
        kind = "none" if ratio is None else "full" if ratio == 1 else "part" if ratio >= Fraction(99, 100) else "low"
        result.append({"x": index * 6, "kind": kind, "day": day, "percent": _percent(ratio),
                       "measured": _percent(share) if ratio is not None and share is not None and share < 1 else None})
    return result
