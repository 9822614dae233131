"""Honest status figures (issue 55 item 3): time no probe measured is 未計測 (not measured), never up and
never down, on the status page, in /status.json and in the monthly report; the availability of a
measured period is the same as a count made here from the stored probes; a stop inside an announced
maintenance window is maintenance (メンテナンス中): no outage, no incident, not "down" in public."""

from __future__ import annotations

import datetime as dt

import jsonschema
import sqlalchemy as sa

from core.audit import AuditRecord
from core.calendar import JST
from service import components, maintenance, monitor, monthly_report, settings
from service.incidents.models import Incident
from service.models import ComponentState, ServiceComponent, ServiceInterval, ServiceProbe
from tests.conftest import sign_in

UP, DOWN = monitor.ProbeResult(True, 100), monitor.ProbeResult(False, 5000, None, "timeout")


def component(db, key: str) -> ServiceComponent:
    found = {c.key: c for c in components.all_components(db)}  # the built-in ones are made on first reading
    db.commit()
    return found[key]


def probe(db, found: ServiceComponent, at: dt.datetime, result: monitor.ProbeResult = UP) -> None:
    monitor.record(db, found, result, at, settings.current(db))
    db.commit()


def outage_records(db) -> list[str]:
    return list(db.scalars(sa.select(AuditRecord.action).where(AuditRecord.action.like("service.outage.%"))))


def test_with_no_measurement_no_day_has_a_percentage_and_the_page_says_nothing_is_measured(app, db):
    client = app.test_client()
    body = client.get("/status.json").get_json()
    jsonschema.validate(body, client.get("/status.schema.json").get_json())
    assert body["measured_since"] is None and body["overall"] == "unknown"
    for item in body["components"]:
        assert item["measured_since"] is None
        assert len(item["days"]) == 90 and {day["percent"] for day in item["days"]} == {None}
    page = client.get("/status").get_data(as_text=True)
    assert "まだ計測を始めていません" in page
    assert "稼働率100％未満の日：0 日、未計測の日：90 日" in page  # grey, not red: never counted as down
    assert 'class="low"' not in page and 'class="full"' not in page


def _probes_by_day(db, key_id: int) -> dict[dt.date, tuple[int, int]]:
    """Japan day -> (seconds up, seconds down), counted here from the stored probes: between one probe
    and the next within 5 minutes the component was as the first probe found it; a longer gap and the
    time after the last probe are not measured."""
    probes = list(db.execute(sa.select(ServiceProbe.probed_at, ServiceProbe.ok).where(ServiceProbe.component_id == key_id)
                             .order_by(ServiceProbe.probed_at)))
    counts: dict[dt.date, list[int]] = {}
    for (at, ok), (following, _ok) in zip(probes, probes[1:]):
        if following - at > dt.timedelta(minutes=5):
            continue
        at, following = at.astimezone(JST), following.astimezone(JST)
        while at < following:  # split at each Japan midnight: each piece in its own day
            midnight = dt.datetime.combine(at.date() + dt.timedelta(days=1), dt.time(), JST)
            piece = min(following, midnight)
            counts.setdefault(at.date(), [0, 0])[0 if ok else 1] += int((piece - at).total_seconds())
            at = piece
    return {day: (up, down) for day, (up, down) in counts.items()}


def _written_down(up: int, down: int) -> str:
    thousandths = up * 100_000 // (up + down)  # percent to 3 places, the rest dropped
    return f"{thousandths // 1000}.{thousandths % 1000:03d}"


def test_a_measured_day_gives_the_availability_counted_from_the_stored_probes(app, db):
    ckan = component(db, "ckan")
    today = dt.datetime.now(JST).replace(hour=0, minute=0, second=0, microsecond=0)
    # three days ago: 09:00-11:00 probed every 4 minutes, down from 10:00 to 10:20; two days ago: 2 hours up,
    # a 30-minute gap (the due job did not run), 1 hour more with 8 minutes down
    start = today - dt.timedelta(days=3) + dt.timedelta(hours=9)
    for n in range(31):
        at = start + dt.timedelta(minutes=4 * n)
        probe(db, ckan, at, DOWN if dt.timedelta(hours=1) <= at - start < dt.timedelta(hours=1, minutes=20) else UP)
    start = today - dt.timedelta(days=2) + dt.timedelta(hours=13)
    for n in range(31):
        probe(db, ckan, start + dt.timedelta(minutes=4 * n))
    start += dt.timedelta(minutes=4 * 30 + 30)
    for n in range(16):
        probe(db, ckan, start + dt.timedelta(minutes=4 * n), DOWN if n in (5, 6) else UP)

    counted = _probes_by_day(db, ckan.id)
    assert len(counted) == 2 and all(down for _up, down in counted.values())  # not a trivial 100 %
    body = app.test_client().get("/status.json").get_json()
    item = next(c for c in body["components"] if c["key"] == "ckan")
    shown = {dt.date.fromisoformat(day["date"]): day["percent"] for day in item["days"]}
    assert {day: percent for day, percent in shown.items() if percent is not None} == {
        day: _written_down(up, down) for day, (up, down) in counted.items()}
    assert dt.datetime.fromisoformat(item["measured_since"]) == today - dt.timedelta(days=3) + dt.timedelta(hours=9)
    # the hours no probe covered are 未計測: each measured day says which share of it was measured
    measured = {dt.date.fromisoformat(day["date"]): day["measured_percent"] for day in item["days"] if day["percent"]}
    assert measured == {day: _written_down(up + down, 24 * 3600 - up - down) for day, (up, down) in counted.items()}
    page = app.test_client().get("/status").get_data(as_text=True)
    assert "から計測しています" in page and "未計測の日：88 日" in page
    assert f"（計測したのはこの日の {measured[min(measured)]}％、残りは未計測）" in page


def test_a_stop_inside_an_announced_window_is_maintenance_and_opens_no_incident(app, db, operator, tenant_factory):
    tenant_factory("431001")
    ckan = component(db, "ckan")
    now = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
    maintenance.schedule(db, operator, maintenance.WindowDraft(
        title="カタログの更新作業", starts_at=now - dt.timedelta(minutes=30), ends_at=now + dt.timedelta(hours=1),
        component_keys=["ckan"], tenant_codes=["431001"], outside_hours_reason="試験のため"),
        settings.current(db), now=now - dt.timedelta(hours=1))
    db.commit()
    for minutes in range(-20, 1, 2):  # down for 20 minutes: four times the 5 minutes that confirm an outage
        probe(db, ckan, now + dt.timedelta(minutes=minutes), DOWN)
    assert outage_records(db) == [] and db.scalar(sa.select(sa.func.count()).select_from(Incident)) == 0
    assert db.scalar(sa.select(ServiceInterval.outage_confirmed_at).where(ServiceInterval.component_id == ckan.id)) is None

    client = app.test_client()
    body = client.get("/status.json").get_json()
    jsonschema.validate(body, client.get("/status.schema.json").get_json())
    item = next(c for c in body["components"] if c["key"] == "ckan")
    assert item["in_maintenance"] is True and body["overall"] != "down" and body["incidents"] == []
    page = client.get("/status").get_data(as_text=True)
    assert "メンテナンス中" in page and "対応中の障害はありません" in page and "停止中" not in page


def test_a_stop_running_past_the_window_is_an_outage_counted_from_the_windows_end(db, operator, tenant_factory):
    tenant_factory("431001")
    ckan = component(db, "ckan")
    opens = dt.datetime(2026, 12, 2, 10, 0, tzinfo=JST)  # a Wednesday, within the permitted hours
    maintenance.schedule(db, operator, maintenance.WindowDraft(
        title="カタログの更新作業", starts_at=opens, ends_at=opens + dt.timedelta(hours=1), component_keys=["ckan"],
        tenant_codes=["431001"]), settings.current(db), now=opens - dt.timedelta(days=1))
    db.commit()
    for minutes in range(30, 65):  # down from 10:30, through the window's end at 11:00, until 11:04
        probe(db, ckan, opens + dt.timedelta(minutes=minutes), DOWN)
    assert outage_records(db) == []  # 4 minutes down outside the window: not yet the 5 that confirm an outage
    probe(db, ckan, opens + dt.timedelta(minutes=65), DOWN)
    assert outage_records(db) == ["service.outage.confirmed"]
    incident = db.scalar(sa.select(Incident))
    assert incident.detected_at == opens + dt.timedelta(hours=1)  # from the window's end, not from 10:30


def _half_measured_month(db) -> tuple[dt.date, ServiceComponent]:
    """September 2026 (Japan time) measured from the 16th only: up but for one hour down."""
    broker = ServiceComponent(key="c-broker", name_ja="ブローカー", url="http://127.0.0.1:9/version")
    db.add(broker)
    db.flush()
    half = dt.datetime(2026, 9, 16, tzinfo=JST)
    end = dt.datetime(2026, 10, 1, tzinfo=JST)
    down_from = half + dt.timedelta(days=3)
    db.add_all([ServiceInterval(component_id=broker.id, state=ComponentState.up, started_at=half, ended_at=down_from,
                                last_probe_at=down_from),
                ServiceInterval(component_id=broker.id, state=ComponentState.down, started_at=down_from,
                                ended_at=down_from + dt.timedelta(hours=1), last_probe_at=down_from + dt.timedelta(hours=1)),
                ServiceInterval(component_id=broker.id, state=ComponentState.up, started_at=down_from + dt.timedelta(hours=1),
                                ended_at=end, last_probe_at=end)])
    db.commit()
    return dt.date(2026, 9, 1), broker


def test_the_report_of_a_half_measured_month_gives_the_measured_halfs_availability_and_says_so(db, operator):
    month, broker = _half_measured_month(db)
    found = monthly_report.figures(db, operator, month, None)
    rows = {row.component.key: row for row in found.availability}
    measured_hours = 15 * 24
    # 359 hours up of the 360 measured: 99.722 %, not 359 / 720 (the unmeasured half is not down)
    assert rows["c-broker"].measured.ratio * measured_hours == measured_hours - 1
    section = next(s for s in monthly_report.sections(found) if s.title == "稼働状況")
    table = {row[0]: row for row in section.rows}
    assert table["ブローカー"][1] == "99.722" and table["ブローカー"][6] == "50.000"
    assert {row[1] for name, row in table.items() if name != "ブローカー"} == {"未計測"}  # the built-in ones: never probed
    assert "ブローカー 50.000 %" in section.note and "計測した期間" in section.note
    summary = found.summary()
    assert summary["availability_percent"]["c-broker"] == "99.722" and summary["availability_percent"]["ckan"] is None
    # a component never probed was not 0 minutes down: its downtime is 未計測 (null), not a bar of 0 in the chart
    assert table["ブローカー"][3] == 60 and table["カタログ API（CKAN）"][3] == "未計測"
    assert summary["downtime_minutes"] == {**{key: None for key in summary["downtime_minutes"] if key != "c-broker"},
                                           "c-broker": 60}


def test_the_api_and_the_page_give_the_measured_halfs_availability_and_the_share_measured(app, db, client, monkeypatch):
    _half_measured_month(db)
    monkeypatch.setitem(app.config, "RENKEI_API_OPEN_FOR_DEVELOPMENT", True)
    items = {i["key"]: i for i in app.test_client().get("/api/v1/service/availability?month=2026-09").get_json()["items"]}
    assert (items["c-broker"]["availability_percent"], items["c-broker"]["measured_percent"]) == ("99.722", "50.000")
    assert (items["ckan"]["availability_percent"], items["ckan"]["measured_percent"], items["ckan"]["meets_target"]) == (
        None, "0.000", None)
    sign_in(client)
    page = client.get("/admin/service/availability/?month=2026-09")
    text = page.get_data(as_text=True)
    assert page.status_code == 200 and "99.722%" in text and "50.000%" in text and "未計測" in text


def test_the_demos_sample_is_recorded_by_the_monitor_and_shown_as_counted_from_its_stored_probes(app, db, operator):
    from service import sample

    now = dt.datetime.now(dt.timezone.utc).replace(second=0, microsecond=0)
    recorded = sample.load_sample_measurements(db, days=1, now=now)
    db.commit()
    assert recorded == 6 * 24 * 12  # six built-in components, every 5 minutes for a day
    assert set(db.scalars(sa.select(ServiceProbe.error).distinct())) == {sample.SAMPLE_WORDS}
    assert db.scalar(sa.select(sa.func.count()).select_from(Incident)) == 0 and outage_records(db) == []

    body = app.test_client().get("/status.json").get_json()
    month = now.astimezone(JST).date().replace(day=1)
    reported = monthly_report.figures(db, operator, month, None, now=dt.datetime.now(dt.timezone.utc)).summary()
    stopped = 0
    for item in body["components"]:
        counted = _probes_by_day(db, component(db, item["key"]).id)
        stopped += sum(down for _up, down in counted.values())
        shown = {dt.date.fromisoformat(day["date"]): day["percent"] for day in item["days"]}
        assert {day: percent for day, percent in shown.items() if percent is not None} == {
            day: _written_down(up, down) for day, (up, down) in counted.items()}, item["key"]
        in_month = [counts for day, counts in counted.items() if day >= month]
        assert reported["availability_percent"][item["key"]] == _written_down(
            sum(up for up, _down in in_month), sum(down for _up, down in in_month)), item["key"]
    assert stopped > 0  # the sample's made-up stop is counted: not a trivial 100 %
    assert sample.load_sample_measurements(db, days=1, now=now) == 0  # never twice, never over real probes
