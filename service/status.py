"""The public status page's content (稼働状況): each component's state now, planned maintenance
coming or under way, open incidents in plain words, and the last 90 days' availability per day.
Public: no actor, nothing about tenants beyond what the notices already said to everyone affected.

A day no probe measured has no availability (None, 未計測), never 0 %; each component says since when
it is measured. A component inside an announced maintenance window is in maintenance (メンテナンス中),
whatever its probes say, and does not make the whole "down"."""

from __future__ import annotations

import dataclasses
import datetime as dt
from fractions import Fraction

import sqlalchemy as sa
from sqlalchemy.orm import Session

from core.calendar import jst_day
from core.db import utcnow
from service import components as components_
from service import maintenance, monitor
from service.incidents.models import Incident, IncidentComponent, IncidentStatus
from service.models import ComponentState, MaintenanceWindow, ServiceComponent, ServiceInterval
from service.availability import Availability
from service.report import jst_days, period_availability

DAYS = 90


def open_incidents_for_status(session: Session) -> list[dict]:
    """Open incidents in plain words, for the public page: dicts with ``title_ja``, ``title_en``,
    ``status_ja``, ``status_en``, ``started_at`` (aware datetime) and ``components`` (keys).
    Read from the incident register (service/incidents/): every incident not yet closed, newest first,
    in the words the register shows (its title and status); no description, timeline or party."""
    found = list(session.scalars(sa.select(Incident).where(Incident.status != IncidentStatus.closed)
                                 .order_by(Incident.detected_at.desc()).limit(50)))
    keys: dict[int, list[str]] = {}
    if found:
        for incident_id, code in session.execute(sa.select(IncidentComponent.incident_id, IncidentComponent.component_code)
                                                 .where(IncidentComponent.incident_id.in_([i.id for i in found]))):
            keys.setdefault(incident_id, []).append(code)
    return [{"title_ja": incident.title, "title_en": incident.title,
             "status_ja": IncidentStatus(incident.status).ja, "status_en": IncidentStatus(incident.status).en,
             "started_at": incident.detected_at, "components": sorted(keys.get(incident.id, []))} for incident in found]


@dataclasses.dataclass(frozen=True)
class ComponentNow:
    component: ServiceComponent
    state: str  # up, down, unknown
    since: dt.datetime | None
    in_maintenance: bool
    days: list[tuple[dt.date, Availability]]  # the last 90 Japan days, oldest first (today to now); ratio None: 未計測
    measured_since: dt.datetime | None = None  # its first probe; None: never measured

    @property
    def shown_state(self) -> str:
        """What the public sees: maintenance inside an announced window, else the probes' state."""
        return "maintenance" if self.in_maintenance else self.state


@dataclasses.dataclass(frozen=True)
class Status:
    generated_at: dt.datetime
    components: list[ComponentNow]
    maintenance: list[tuple[MaintenanceWindow, list[str]]]  # window and its component keys
    incidents: list[dict]

    @property
    def overall(self) -> str:
        """down when a component is down outside maintenance, else unknown when one is not measured now,
        else maintenance when one is in announced maintenance, else up."""
        states = {item.shown_state for item in self.components}
        return next((state for state in ("down", "unknown", "maintenance") if state in states), "up")

    @property
    def measured_since(self) -> dt.datetime | None:
        """The first probe of any component shown; None: nothing measured yet."""
        return min((item.measured_since for item in self.components if item.measured_since is not None), default=None)


def component_state(session: Session, component: ServiceComponent, now: dt.datetime) -> tuple[str, dt.datetime | None]:
    interval = monitor.open_interval(session, component)
    if interval is None or now - interval.last_probe_at > monitor.STALE:
        return "unknown", None
    return ("up" if interval.state == ComponentState.up else "down"), interval.started_at


def measuring_started(session: Session) -> dict[int, dt.datetime]:
    """Component id -> the start of its first interval (when measuring it started)."""
    return dict(session.execute(sa.select(ServiceInterval.component_id, sa.func.min(ServiceInterval.started_at))
                                .group_by(ServiceInterval.component_id)).all())


def snapshot(session: Session, *, now: dt.datetime | None = None, days: int = DAYS) -> Status:
    now = now or utcnow()
    calendar = jst_days(jst_day(now), days)
    shown = components_.all_components(session, active_only=True)
    measured = period_availability(session, shown, [span for _day, span in calendar], now=now)
    upcoming = maintenance.windows(session, since=now)
    ongoing = {key for w in upcoming if w.starts_at <= now for key in maintenance.keys_of(session, w)}
    started = measuring_started(session)
    items = []
    for component in shown:
        state, since_when = component_state(session, component, now)
        history = [(day, counted) for (day, _span), counted in zip(calendar, measured[component.id])]
        items.append(ComponentNow(component, state, since_when, component.key in ongoing, history,
                                  _aware(started.get(component.id))))
    windows = [(w, maintenance.keys_of(session, w)) for w in upcoming]
    return Status(now, items, windows, open_incidents_for_status(session))


def _aware(moment: dt.datetime | None) -> dt.datetime | None:
    """SQLite hands back naive UTC from an aggregate: make it aware."""
    return moment.replace(tzinfo=dt.timezone.utc) if moment is not None and moment.tzinfo is None else moment
