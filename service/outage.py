"""The seam between measuring and the incident register: the monitor calls :func:`confirmed` when a
component's probes have failed for the configured time, and :func:`recovered` when it answers again.

Each records the outage on the component's down interval, writes an audit record, and opens (or
recovers) the component's incident in the register (service/incidents/): connected here, and only here.
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Session

from core import audit, authz
from core.actor import Actor
from service.incidents import operations as incidents
from service.models import ComponentState, ServiceComponent, ServiceInterval

MONITOR = Actor(issuer="urn:renkei:service", subject="service-monitor", name="稼働監視 / service monitor",
                roles=frozenset({authz.OPERATOR}))


def _down_interval(session: Session, component: ServiceComponent, at: dt.datetime) -> ServiceInterval | None:
    """The component's down interval that holds ``at`` (the newest that started by then)."""
    return session.scalar(sa.select(ServiceInterval)
                          .where(ServiceInterval.component_id == component.id,
                                 ServiceInterval.state == ComponentState.down, ServiceInterval.started_at <= at)
                          .order_by(ServiceInterval.started_at.desc()).limit(1))


def confirmed(session: Session, component: ServiceComponent, detected_at: dt.datetime) -> None:
    """The component has been down since ``detected_at`` for the configured time: an outage."""
    interval = _down_interval(session, component, detected_at)
    if interval is not None and interval.outage_confirmed_at is None:
        interval.outage_confirmed_at = max(detected_at, interval.last_probe_at)
    session.flush()
    audit.record(session, MONITOR, "service.outage.confirmed", "service_component", component.key,
                 after={"component": component.key, "name_ja": component.name_ja, "detected_at": detected_at.isoformat(),
                        "detail": interval.detail if interval is not None else ""})
    incidents.open_for_outage(session, component.key, component.name_ja, detected_at)


def recovered(session: Session, component: ServiceComponent, recovered_at: dt.datetime) -> None:
    """The component answers again after a confirmed outage."""
    interval = _down_interval(session, component, recovered_at)
    if interval is not None:
        interval.recovered_at = recovered_at
    session.flush()
    detected = interval.started_at.isoformat() if interval is not None else None
    audit.record(session, MONITOR, "service.outage.recovered", "service_component", component.key,
                 after={"component": component.key, "name_ja": component.name_ja, "detected_at": detected,
                        "recovered_at": recovered_at.isoformat()})
    incidents.record_recovered(session, component.key, recovered_at)
