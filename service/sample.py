"""A measured sample for the demo (稼働状況のサンプル): the built-in components probed every 5 minutes
over the days before now, recorded through the monitor's own operation (:func:`service.monitor.record`),
so that the demo's status page and availability show figures computed as they are in production.

Clearly sample: each probe's words say ``sample (demo)`` (:data:`SAMPLE_WORDS`), the stretches are
made up and the same on every run, and nothing is loaded when any probe was recorded before. The
made-up stops are shorter than the outage time (5 minutes by default): no outage, no incident."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Session

from core.db import utcnow
from service import components as components_, monitor, settings as settings_
from service.models import ServiceProbe

SAMPLE_WORDS = "sample (demo)"
EVERY = dt.timedelta(minutes=5)  # the longest step the monitor keeps as one measured stretch
STOP = dt.timedelta(minutes=3)  # shorter than an outage: the bars show it, the register does not


def _stopped(component_index: int, day: int, at: dt.datetime, start: dt.datetime) -> bool:
    """The made-up stops: each component once on some days, at a time that depends on both."""
    if (day + component_index) % 7 != 3:
        return False
    opens = start + dt.timedelta(days=day, hours=2 + component_index * 3)
    return opens <= at < opens + STOP


def load_sample_measurements(session: Session, *, days: int = 7, now: dt.datetime | None = None) -> int:
    """Record the sample probes of the ``days`` before ``now``; the probes recorded (0 when any probe
    was recorded before: a real measurement is never mixed with the sample)."""
    if session.scalar(sa.select(ServiceProbe.id).limit(1)) is not None:
        return 0
    now = (now or utcnow()).replace(second=0, microsecond=0)
    start = now - dt.timedelta(days=days)
    current = settings_.current(session)
    found = [c for c in components_.all_components(session, active_only=True) if c.builtin]
    recorded = 0
    for index, component in enumerate(found):
        at = start
        while at < now:
            day = (at - start).days
            ok = not _stopped(index, day, at, start)
            monitor.record(session, component, monitor.ProbeResult(ok, 80 + index * 15, 200 if ok else None, SAMPLE_WORDS),
                           at, current)
            recorded += 1
            at += EVERY
    session.flush()
    return recorded
