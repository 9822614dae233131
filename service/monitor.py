"""Probing and recording: each probe's result is kept (a year), and the component's intervals change
only when its state does (one row per change, not per probe).

A probe is an HTTP GET answered with the expected status within the timeout (:func:`probe_http`),
or a check the shell hands in (the database's). :func:`record` is the state machine:

* the first probe opens an interval; a probe in the same state extends the open one;
* a probe in the other state closes it at that moment and opens the next;
* a gap longer than :data:`STALE` since the last probe (the due job did not run) closes the open
  interval at its last probe: the gap is unmeasured, never counted as up or down;
* down for ``outage_after_minutes`` (the service settings) outside an announced maintenance window
  of the component: :func:`service.outage.confirmed`, once; back up after a confirmed outage:
  :func:`service.outage.recovered`. Down inside a window is maintenance: no outage, no incident;
  down past the window's end counts from that end.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import datetime as dt
import time
from collections.abc import Callable

import sqlalchemy as sa
from sqlalchemy.orm import Session

from core import retention
from core.db import utcnow
from service import components as components_, maintenance, outage, settings as settings_
from service.models import ComponentState, ServiceComponent, ServiceInterval, ServiceProbe, ServiceSettings

STALE = dt.timedelta(minutes=5)


@dataclasses.dataclass(frozen=True)
class ProbeResult:
    ok: bool
    response_ms: int
    status_code: int | None = None
    error: str = ""


def probe_http(url: str, expected_status: int, timeout_ms: int) -> ProbeResult:
    """GET ``url``: up when it answers ``expected_status`` within the timeout (redirects not followed)."""
    import requests

    seconds = timeout_ms / 1000
    started = time.perf_counter()
    try:
        response = requests.get(url, timeout=(seconds, seconds), allow_redirects=False)
    except requests.RequestException as error:
        return ProbeResult(False, _elapsed(started), None, f"{type(error).__name__}: {error}"[:500])
    elapsed = _elapsed(started)
    if response.status_code != expected_status:
        return ProbeResult(False, elapsed, response.status_code, f"HTTP {response.status_code} (expected {expected_status})")
    return ProbeResult(True, elapsed, response.status_code)


def probe_call(check: Callable[[], None]) -> ProbeResult:
    """Run a check that raises when the component is down (the database's ``SELECT 1``)."""
    started = time.perf_counter()
    try:
        check()
    except Exception as error:  # any failure of the check is the component's being down
        return ProbeResult(False, _elapsed(started), None, f"{type(error).__name__}: {error}"[:500])
    return ProbeResult(True, _elapsed(started))


def _elapsed(started: float) -> int:
    return round((time.perf_counter() - started) * 1000)


def probe_all(checks: dict[str, Callable[[], ProbeResult]]) -> dict[str, ProbeResult]:
    """Run the probes side by side (a slow component does not delay the others)."""
    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, min(8, len(checks)))) as pool:
        futures = {key: pool.submit(check) for key, check in checks.items()}
        return {key: future.result() for key, future in futures.items()}


def open_interval(session: Session, component: ServiceComponent) -> ServiceInterval | None:
    return session.scalar(sa.select(ServiceInterval).where(ServiceInterval.component_id == component.id,
                                                           ServiceInterval.ended_at.is_(None)))


def _extend(interval: ServiceInterval, result: ProbeResult, at: dt.datetime) -> None:
    interval.last_probe_at = at
    interval.probes += 1
    interval.response_ms_total += result.response_ms
    interval.response_ms_max = max(interval.response_ms_max, result.response_ms)
    if not result.ok:
        interval.detail = result.error[:500]


def _start(session: Session, component: ServiceComponent, result: ProbeResult, at: dt.datetime) -> ServiceInterval:
    interval = ServiceInterval(component_id=component.id, state=ComponentState.up if result.ok else ComponentState.down,
                               started_at=at, last_probe_at=at)
    _extend(interval, result, at)
    session.add(interval)
    return interval


def record(session: Session, component: ServiceComponent, result: ProbeResult, at: dt.datetime,
           settings: ServiceSettings) -> ServiceInterval:
    """Keep the probe's result and move the component's intervals; the interval it is in now."""
    session.add(ServiceProbe(component_id=component.id, probed_at=at, ok=result.ok, status_code=result.status_code,
                             response_ms=result.response_ms, error=result.error[:500]))
    state = ComponentState.up if result.ok else ComponentState.down
    current = open_interval(session, component)
    if current is not None and at - current.last_probe_at > STALE:
        return _after_gap(session, component, current, result, at, settings)
    if current is not None and current.state == state:
        _extend(current, result, at)
    else:
        if current is not None:
            current.ended_at = at
            _recover_if_confirmed(session, component, current, state, at)
        current = _start(session, component, result, at)
    session.flush()
    _confirm_if_due(session, component, current, at, settings)
    return current


def _recover_if_confirmed(session: Session, component: ServiceComponent, closed: ServiceInterval, state: ComponentState,
                          at: dt.datetime) -> None:
    if closed.outage_confirmed_at is not None and closed.recovered_at is None and state == ComponentState.up:
        session.flush()
        outage.recovered(session, component, at)


def _after_gap(session: Session, component: ServiceComponent, current: ServiceInterval, result: ProbeResult,
               at: dt.datetime, settings: ServiceSettings) -> ServiceInterval:
    """The probes stopped for longer than :data:`STALE`: the open interval ends at its last probe (the
    gap stays unmeasured) and the next starts now. A confirmed outage still down carries over (one
    outage, not two); one found up is recovered."""
    current.ended_at = current.last_probe_at
    state = ComponentState.up if result.ok else ComponentState.down
    _recover_if_confirmed(session, component, current, state, at)
    following = _start(session, component, result, at)
    if state == ComponentState.down and current.state == ComponentState.down:
        following.outage_confirmed_at = current.outage_confirmed_at
    session.flush()
    _confirm_if_due(session, component, following, at, settings)
    return following


def _confirm_if_due(session: Session, component: ServiceComponent, interval: ServiceInterval, at: dt.datetime,
                    settings: ServiceSettings) -> None:
    if interval.state != ComponentState.down or interval.outage_confirmed_at is not None:
        return
    if maintenance.under_way(session, component.id, at):
        return  # announced maintenance: the stop is planned, not an outage
    since = maintenance.down_outside_windows_since(session, component.id, interval.started_at, at)
    if at - since >= dt.timedelta(minutes=settings.outage_after_minutes):
        outage.confirmed(session, component, since)


def purge_probes(session: Session, now: dt.datetime | None = None) -> int:
    """Remove the probe results past their retention (a year, core.retention ``service_probes``)."""
    now = now or utcnow()
    cutoff = now - dt.timedelta(days=retention.kind("service_probes").days)
    result = session.execute(sa.delete(ServiceProbe).where(ServiceProbe.probed_at < cutoff))
    return result.rowcount or 0


Check = Callable[[], ProbeResult]


def registered_check(component: ServiceComponent) -> Check:
    """The probe of a registered component (its address read now: the probe runs in another thread)."""
    url, expected, timeout = component.url, component.expected_status, component.timeout_ms
    return lambda: probe_http(url, expected, timeout)


def checks_for(session: Session, builtin_checks: dict[str, Check], only: set[str] | None = None
               ) -> tuple[dict[str, ServiceComponent], dict[str, Check]]:
    """The active components (``only``: those keys) and their probes; a built-in one without a check
    from the shell (``builtin_checks``) is not probed."""
    found = {c.key: c for c in components_.all_components(session, active_only=True) if only is None or c.key in only}
    checks = {key: builtin_checks.get(key) if c.builtin else registered_check(c) for key, c in found.items()}
    return found, {key: check for key, check in checks.items() if check is not None}


def record_all(session: Session, found: dict[str, ServiceComponent], results: dict[str, ProbeResult],
               now: dt.datetime) -> dict[str, ServiceInterval]:
    """Record each probe's result at ``now``; key -> the component's interval now."""
    current = settings_.current(session)
    return {key: record(session, found[key], result, now, current) for key, result in results.items()}
