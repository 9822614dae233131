"""Per component and month: availability against the target (planned maintenance excluded and said
so), outages, response times; and the 3-second rule from the request log."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from collections.abc import Iterable
from fractions import Fraction
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.orm import Session

from core import authz
from core.actor import Actor
from core.calendar import JST, add_months, month_start_utc
from service import components as components_
from service import maintenance, settings as settings_
from service.availability import Availability, Span, availability
from service.models import ComponentState, ServiceComponent, ServiceInterval

SLOW_MS = 3000  # seed 004: online operations answer within 3 seconds


def interval_spans(session: Session, since: dt.datetime, until: dt.datetime) -> dict[int, dict[ComponentState, list[Span]]]:
    """Component id -> its up and down spans overlapping [since, until); an open interval ends at its last probe."""
    rows = session.scalars(sa.select(ServiceInterval).where(
        ServiceInterval.started_at < until,
        sa.or_(ServiceInterval.ended_at.is_(None), ServiceInterval.ended_at > since)))
    spans: dict[int, dict[ComponentState, list[Span]]] = {}
    for row in rows:
        end = row.ended_at or row.last_probe_at
        spans.setdefault(row.component_id, {ComponentState.up: [], ComponentState.down: []})[row.state].append(
            (row.started_at, end))
    return spans


def component_availability(spans: dict[ComponentState, list[Span]] | None, holes: list[Span], period: Span) -> Availability:
    spans = spans or {ComponentState.up: [], ComponentState.down: []}
    return availability(spans[ComponentState.up], spans[ComponentState.down], holes, period)


def period_availability(session: Session, found: list[ServiceComponent], periods: list[Span], *,
                        now: dt.datetime | None = None) -> dict[int, list[Availability]]:
    """Component id -> its availability in each of ``periods`` (in their order), from the stored intervals
    with each component's planned maintenance excluded. The one computation behind every availability
    shown: the status page's days and /status.json (:mod:`service.status`), the month's figures on the
    admin page, the API and the monthly report (:func:`month_availability`). A period not yet over is
    counted to ``now``; one not begun has nothing measured (its ratio is None: 未計測)."""
    if not periods:
        return {component.id: [] for component in found}
    since = min(start for start, _end in periods)
    until = max(end for _start, end in periods)
    if now is not None:
        until = max(since, min(until, now))
    spans = interval_spans(session, since, until)
    holes = maintenance.spans_by_component(session, since, until)
    counted = [(start, max(start, min(end, now))) if now is not None else (start, end) for start, end in periods]
    return {component.id: [component_availability(spans.get(component.id), holes.get(component.id, []), period)
                           for period in counted] for component in found}


@dataclasses.dataclass(frozen=True)
class ComponentMonth:
    component: ServiceComponent
    measured: Availability
    target: Fraction
    outages: int
    mean_response_ms: int | None

    @property
    def meets(self) -> bool | None:
        return self.measured.meets(self.target)


def _outages_and_response(session: Session, since: dt.datetime, until: dt.datetime) -> dict[int, tuple[int, int, int]]:
    """Component id -> (confirmed outages detected in the month, probes, response ms summed) of its intervals."""
    rows = session.execute(sa.select(
        ServiceInterval.component_id,
        sa.func.count(ServiceInterval.outage_confirmed_at),
        sa.func.sum(ServiceInterval.probes), sa.func.sum(ServiceInterval.response_ms_total))
        .where(ServiceInterval.started_at >= since, ServiceInterval.started_at < until)
        .group_by(ServiceInterval.component_id))
    return {cid: (int(outages or 0), int(probes or 0), int(total or 0)) for cid, outages, probes, total in rows}


def month_span(month: dt.date) -> Span:
    return month_start_utc(month), month_start_utc(add_months(month, 1))


def month_availability(session: Session, actor: Actor, month: dt.date, *, now: dt.datetime | None = None) -> list[ComponentMonth]:
    """Each component's availability in ``month`` (Japan time); a month not yet over is counted to ``now``."""
    authz.authorize(actor, "service.read")
    since, until = month_span(month)
    target = settings_.target(settings_.current(session))
    found = components_.all_components(session)
    measured = period_availability(session, found, [(since, until)], now=now)
    extra = _outages_and_response(session, since, until)
    result = []
    for component in found:
        outages, probes, total = extra.get(component.id, (0, 0, 0))
        result.append(ComponentMonth(component, measured[component.id][0], target, outages, total // probes if probes else None))
    return result


@dataclasses.dataclass(frozen=True)
class Responsiveness:
    """The 3-second rule: requests in the month and those slower than 3 s (from the request log)."""

    requests: int
    slow: int

    @property
    def slow_share(self) -> Fraction | None:
        return Fraction(self.slow, self.requests) if self.requests else None


def _month_files(directory: Path, month: dt.date) -> Iterable[Path]:
    day = month
    while day < add_months(month, 1):
        path = directory / f"requests-{day.isoformat()}.jsonl"
        if path.is_file():
            yield path
        day += dt.timedelta(days=1)


def responsiveness(directory: str | Path | None, month: dt.date) -> Responsiveness | None:
    """Count the month's request log lines (one file per Japan day) and those over 3 s; None when the
    log is not written to files (stdout, off)."""
    if not directory or str(directory) in ("stdout", "off"):
        return None
    requests = slow = 0
    for path in _month_files(Path(directory), month):
        with path.open(encoding="utf-8") as lines:
            for text in lines:
                duration = _duration(text)
                if duration is None:
                    continue
                requests += 1
                slow += duration > SLOW_MS
    return Responsiveness(requests, slow)


def _duration(text: str) -> float | None:
    try:
        value = json.loads(text).get("duration_ms")
    except (ValueError, AttributeError):
        return None
    return float(value) if isinstance(value, (int, float)) else None


def jst_days(end_day: dt.date, count: int) -> list[tuple[dt.date, Span]]:
    """The ``count`` Japan days up to and including ``end_day``, each with its UTC span."""
    days = [end_day - dt.timedelta(days=offset) for offset in range(count - 1, -1, -1)]
    return [(day, (dt.datetime.combine(day, dt.time(), JST).astimezone(dt.timezone.utc),
                   dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), JST).astimezone(dt.timezone.utc)))
            for day in days]
