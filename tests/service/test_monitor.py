"""A registered component stops answering: its probes fail, the outage is confirmed after the
configured time, and recovery is recorded when it answers again (issue 39 Done-when 1). The clock is
the probes' ``now``: no sleeping."""

from __future__ import annotations

import datetime as dt
from fractions import Fraction

import pytest
import sqlalchemy as sa

from core.audit import AuditRecord
from service import components, monitor, report, settings
from service.models import ComponentState, ServiceInterval, ServiceProbe

T0 = dt.datetime(2026, 11, 2, 1, 0, tzinfo=dt.timezone.utc)  # 10:00 JST


def minute(n: int) -> dt.datetime:
    return T0 + dt.timedelta(minutes=n)


def probe(db, key: str, n: int):
    found, checks = monitor.checks_for(db, {}, only={key})
    db.commit()
    result = monitor.record_all(db, found, monitor.probe_all(checks), minute(n))[key]
    db.commit()
    return result


def outage_records(db) -> list[str]:
    return list(db.scalars(sa.select(AuditRecord.action).where(AuditRecord.action.like("service.outage.%"))
                           .order_by(AuditRecord.seq)))


@pytest.fixture
def registered(db, operator, component_server):
    component = components.register(db, operator, components.ComponentDraft(
        name_ja="コンテキストブローカー", name_en="Context broker", url=component_server.url, timeout_ms=3000))
    db.commit()
    return component


def test_a_stopped_component_confirms_an_outage_after_the_configured_time_and_records_recovery(
        db, operator, registered, component_server):
    settings.save(db, operator, settings.SettingsDraft(9950, 3, True, 9, 17))
    db.commit()
    assert probe(db, registered.key, 0).state == ComponentState.up
    assert probe(db, registered.key, 1).state == ComponentState.up
    component_server.stop()
    for n in (2, 3, 4):
        interval = probe(db, registered.key, n)
        assert interval.state == ComponentState.down and interval.outage_confirmed_at is None
    assert outage_records(db) == []  # down 2 minutes: not yet the configured 3
    interval = probe(db, registered.key, 5)
    assert interval.outage_confirmed_at is not None
    assert outage_records(db) == ["service.outage.confirmed"]
    probe(db, registered.key, 6)
    assert outage_records(db) == ["service.outage.confirmed"]  # once per outage
    component_server.start()
    assert probe(db, registered.key, 7).state == ComponentState.up
    assert outage_records(db) == ["service.outage.confirmed", "service.outage.recovered"]
    rows = list(db.scalars(sa.select(ServiceInterval).where(ServiceInterval.component_id == registered.id)
                           .order_by(ServiceInterval.started_at)))
    assert [(r.state, r.started_at, r.ended_at) for r in rows] == [
        (ComponentState.up, minute(0), minute(2)), (ComponentState.down, minute(2), minute(7)),
        (ComponentState.up, minute(7), None)]
    assert rows[1].recovered_at == minute(7) and rows[1].probes == 5 and "ConnectionError" in rows[1].detail
    assert db.scalar(sa.select(sa.func.count()).select_from(ServiceProbe)) == 8  # every probe kept, 3 intervals
    months = {m.component.key: m for m in report.month_availability(db, operator, dt.date(2026, 11, 1), now=minute(7))}
    measured = months[registered.key].measured
    # the month so far (1 Nov 00:00 JST to the last probe): up 2 minutes, down 5, the rest not measured
    assert measured.up == 2 * 60_000_000 and measured.down == 5 * 60_000_000
    so_far = minute(7) - report.month_span(dt.date(2026, 11, 1))[0]
    assert measured.ratio == Fraction(2, 7)  # of the 7 minutes measured; the rest neither up nor down
    assert measured.measured_share == Fraction(7 * 60, int(so_far.total_seconds()))
    assert months[registered.key].outages == 1


def test_a_gap_in_probing_is_left_unmeasured(db, registered):
    probe(db, registered.key, 0)
    probe(db, registered.key, 1)
    probe(db, registered.key, 30)  # the due job did not run for 29 minutes
    rows = list(db.scalars(sa.select(ServiceInterval).order_by(ServiceInterval.started_at)))
    assert [(r.started_at, r.ended_at) for r in rows] == [(minute(0), minute(1)), (minute(30), None)]


def test_probe_results_older_than_a_year_are_removed(db, registered):
    probe(db, registered.key, 0)
    probe(db, registered.key, 1)
    assert monitor.purge_probes(db, now=minute(0) + dt.timedelta(days=365, seconds=30)) == 1
    db.commit()
    assert db.scalar(sa.select(sa.func.count()).select_from(ServiceProbe)) == 1
    assert db.scalar(sa.select(sa.func.count()).select_from(ServiceInterval)) == 1  # intervals stay


def test_an_unexpected_status_is_down(db, operator, component_server):
    component = components.register(db, operator, components.ComponentDraft(
        name_ja="ダッシュボード", url=component_server.url, expected_status=204))
    db.commit()
    interval = probe(db, component.key, 0)
    assert interval.state == ComponentState.down and interval.detail == "HTTP 200 (expected 204)"


def test_a_confirmed_outage_across_a_gap_in_probing_is_one_outage_and_recovers_once(db, operator, registered, component_server):
    settings.save(db, operator, settings.SettingsDraft(9950, 2, True, 9, 17))
    db.commit()
    component_server.stop()
    for n in (0, 1, 2):
        probe(db, registered.key, n)
    assert outage_records(db) == ["service.outage.confirmed"]
    for n in (20, 21, 22):  # the timer stopped for 18 minutes; still down
        probe(db, registered.key, n)
    assert outage_records(db) == ["service.outage.confirmed"]
    component_server.start()
    probe(db, registered.key, 40)  # back after another gap
    assert outage_records(db) == ["service.outage.confirmed", "service.outage.recovered"]


def test_a_confirmed_outage_opens_its_incident_in_the_register_and_its_recovery_recovers_it(
        db, operator, registered, component_server):
    """The seam (service.outage) connects the monitor to the incident register: one incident per outage,
    opened by the probe when the outage is confirmed, shown on the public status page while it is not
    closed, and recovered when the component answers again."""
    from service import status
    from service.incidents.models import Incident, IncidentStatus

    settings.save(db, operator, settings.SettingsDraft(9950, 3, True, 9, 17))
    db.commit()
    probe(db, registered.key, 0)
    component_server.stop()
    for n in (1, 2, 3):
        probe(db, registered.key, n)
    assert db.scalar(sa.select(sa.func.count()).select_from(Incident)) == 0  # down, but not yet an outage
    probe(db, registered.key, 4)
    probe(db, registered.key, 5)  # still down: the same outage, the same incident
    (incident,) = db.scalars(sa.select(Incident))
    assert incident.source == "probe" and incident.status == IncidentStatus.open
    assert registered.name_ja in incident.title and incident.detected_at == minute(1)
    shown = status.open_incidents_for_status(db)
    assert [(i["status_ja"], i["components"]) for i in shown] == [("対応中", [registered.key])]
    component_server.start()
    probe(db, registered.key, 6)
    db.refresh(incident)
    assert incident.status == IncidentStatus.recovered and incident.recovered_at == minute(6)
    assert [i["status_ja"] for i in status.open_incidents_for_status(db)] == ["復旧済み"]  # until it is closed
