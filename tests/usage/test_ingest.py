"""POST /api/v1/usage: a gateway reports usage in batches; resends count once; a bad batch writes nothing."""

import datetime as dt

import pytest
import sqlalchemy as sa

from usage.models import UsageAggregate, UsageBatch, UsageEvent
from tests.usage.conftest import JST, event


def count(db, model):
    db.expire_all()
    return db.scalar(sa.select(sa.func.count()).select_from(model))


def month_figure(client, headers, code, metric="api_calls", month=None):
    month = month or dt.datetime.now(JST).strftime("%Y-%m")
    report = client.get(f"/api/v1/usage/report?month={month}&tenant={code}", headers=headers)
    assert report.status_code == 200, report.get_json()
    return report.get_json()["tenants"][0]["values"][metric]


@pytest.fixture
def cities(tenant_factory):
    return tenant_factory("431001"), tenant_factory("432024")


def test_the_same_batch_sent_three_times_counts_once(client, db, cities, metering_headers, as_operator):
    batch = [event("431001", quantity=5), event("431001", quantity=7), event("432024", quantity=11)]
    answers = [client.post("/api/v1/usage", json={"events": batch}, headers=metering_headers) for _ in range(3)]
    assert [a.status_code for a in answers] == [200, 200, 200]
    assert [(a.get_json()["accepted"], a.get_json()["duplicates"]) for a in answers] == [(3, 0), (0, 3), (0, 3)]
    assert month_figure(client, as_operator, "431001") == 12
    assert month_figure(client, as_operator, "432024") == 11
    assert count(db, UsageEvent) == 3


def test_a_repeat_inside_one_batch_also_counts_once(client, db, cities, metering_headers, as_operator):
    first = event("431001", quantity=4)
    answer = client.post("/api/v1/usage", json={"events": [first, dict(first), event("431001", quantity=1)]},
                         headers=metering_headers).get_json()
    assert (answer["accepted"], answer["duplicates"]) == (2, 1)
    assert month_figure(client, as_operator, "431001") == 5


def test_one_bad_event_rejects_the_whole_batch_and_is_named(client, db, cities, metering_headers):
    batch = [event("431001"), event("431001"), event("999999", event_id="gw-bad-7"), event("432024")]
    response = client.post("/api/v1/usage", json={"events": batch}, headers=metering_headers)
    assert response.status_code == 422
    body = response.get_json()
    assert [(e["index"], e["event_id"], e["field"]) for e in body["errors"]] == [(2, "gw-bad-7", "events[2].tenant")]
    assert "999999" in body["errors"][0]["message_ja"] and "登録されていません" in body["errors"][0]["message_ja"]
    assert "何も記録していません" in body["detail_ja"]
    assert count(db, UsageEvent) == 0 and count(db, UsageAggregate) == 0 and count(db, UsageBatch) == 0


def _now():
    return dt.datetime.now(JST)


@pytest.mark.parametrize(("change", "field", "words"), [
    ({"metric": "api_cals"}, "metric", "api_calls"),
    ({"quantity": -1}, "quantity", "0 以上の整数"),
    ({"quantity": 1.5}, "quantity", "0 以上の整数"),
    ({"quantity": 2.0}, "quantity", "0 以上の整数"),
    ({"quantity": "3"}, "quantity", "0 以上の整数"),
    ({"quantity": True}, "quantity", "0 以上の整数"),
    ({"timestamp": "2026-11-01 10:00"}, "timestamp", "タイムゾーン"),
    ({"timestamp": "yesterday"}, "timestamp", "ISO 8601"),
    # times relative to now are computed when the test runs (a callable of now), never at import
    ({"timestamp": lambda now: (now + dt.timedelta(minutes=10)).isoformat()}, "timestamp", "先です"),
    ({"timestamp": lambda now: (now - dt.timedelta(days=14 * 31)).isoformat()}, "timestamp", "保存期間"),
    ({"event_id": ""}, "event_id", "必須"),
    ({"event_id": "x" * 129}, "event_id", "128"),
    ({"tenant": None}, "tenant", "登録されていません"),
])
def test_each_kind_of_bad_input_is_refused_with_its_field(client, db, cities, metering_headers, change, field, words):
    now = _now()
    bad = {**event("431001"), **{key: value(now) if callable(value) else value for key, value in change.items()}}
    response = client.post("/api/v1/usage", json={"events": [event("431001"), bad]}, headers=metering_headers)
    assert response.status_code == 422
    errors = response.get_json()["errors"]
    assert [e["field"] for e in errors] == [f"events[1].{field}"]
    assert words in errors[0]["message_ja"] or words in errors[0]["message_en"]
    assert count(db, UsageEvent) == 0


def test_a_timestamp_a_few_seconds_ahead_is_accepted(client, db, cities, metering_headers):
    ahead = event("431001", at=_now() + dt.timedelta(seconds=60))
    assert client.post("/api/v1/usage", json={"events": [ahead]}, headers=metering_headers).status_code == 200


def test_every_bad_event_is_listed(client, db, cities, metering_headers):
    batch = [event("431001", quantity=-2), event("431001"), event("431001", metric="cpu"), event("000000")]
    errors = client.post("/api/v1/usage", json={"events": batch}, headers=metering_headers).get_json()["errors"]
    assert sorted(e["index"] for e in errors) == [0, 2, 3]


def test_an_event_id_reused_for_other_data_at_the_same_time_is_refused(client, db, cities, metering_headers, as_operator):
    sent = _now() - dt.timedelta(minutes=5)
    client.post("/api/v1/usage", json={"events": [event("431001", quantity=5, at=sent, event_id="gw-1")]},
                headers=metering_headers)
    again = event("431001", quantity=50, at=sent.astimezone(dt.timezone.utc), event_id="gw-1")  # the same instant, in UTC
    response = client.post("/api/v1/usage", json={"events": [event("431001", quantity=1), again]}, headers=metering_headers)
    assert response.status_code == 422
    error = response.get_json()["errors"][0]
    assert (error["event_id"], error["index"]) == ("gw-1", 1)
    assert "同じ日時" in error["message_ja"]
    assert month_figure(client, as_operator, "431001") == 5  # neither event of the refused batch counted


def test_an_event_id_sent_again_at_another_time_is_another_event(client, db, cities, metering_headers, as_operator):
    earlier, later = _now() - dt.timedelta(minutes=5), _now() - dt.timedelta(minutes=1)
    first = client.post("/api/v1/usage", json={"events": [event("431001", quantity=5, at=earlier, event_id="gw-2")]},
                        headers=metering_headers)
    both = [event("431001", quantity=3, at=later, event_id="gw-2"), event("431001", quantity=5, at=earlier, event_id="gw-2")]
    second = client.post("/api/v1/usage", json={"events": both}, headers=metering_headers)
    assert (first.status_code, second.status_code) == (200, 200)
    assert (second.get_json()["accepted"], second.get_json()["duplicates"]) == (1, 1)
    assert month_figure(client, as_operator, "431001") == 8 and count(db, UsageEvent) == 2


def test_one_batch_may_hold_an_event_id_at_two_times_but_not_twice_at_one_time(client, db, cities, metering_headers,
                                                                              as_operator):
    earlier, later = _now() - dt.timedelta(minutes=5), _now() - dt.timedelta(minutes=1)
    two_times = [event("431001", quantity=2, at=earlier, event_id="gw-3"), event("431001", quantity=4, at=later, event_id="gw-3"),
                 event("431001", quantity=4, at=later, event_id="gw-3")]  # the last one repeats the second
    answer = client.post("/api/v1/usage", json={"events": two_times}, headers=metering_headers)
    assert answer.status_code == 200 and (answer.get_json()["accepted"], answer.get_json()["duplicates"]) == (2, 1)
    clash = [event("431001", quantity=1, at=earlier, event_id="gw-4"), event("431001", quantity=9, at=earlier, event_id="gw-4")]
    refused = client.post("/api/v1/usage", json={"events": clash}, headers=metering_headers)
    assert refused.status_code == 422 and refused.get_json()["errors"][0]["index"] == 1
    assert month_figure(client, as_operator, "431001") == 6


def test_more_than_10000_events_is_refused(client, db, cities, metering_headers):
    batch = [event("431001", event_id=f"big-{i}") for i in range(10_001)]
    response = client.post("/api/v1/usage", json={"events": batch}, headers=metering_headers)
    assert response.status_code == 422
    assert "10,000" in response.get_json()["detail_ja"]
    assert count(db, UsageEvent) == 0


def test_10000_events_in_one_batch_are_accepted(client, db, cities, metering_headers, as_operator):
    batch = [event("431001" if i % 2 else "432024", quantity=2, event_id=f"full-{i}") for i in range(10_000)]
    answer = client.post("/api/v1/usage", json={"events": batch}, headers=metering_headers)
    assert answer.status_code == 200 and answer.get_json()["accepted"] == 10_000
    assert month_figure(client, as_operator, "431001") == 10_000  # 5,000 events × 2


def test_a_body_without_events_is_422(client, db, cities, metering_headers):
    assert client.post("/api/v1/usage", json={"event": []}, headers=metering_headers).status_code == 422
    response = client.post("/api/v1/usage", json={"events": ["not an event"]}, headers=metering_headers)
    assert response.status_code == 422 and response.get_json()["errors"][0]["field"] == "events[0]"


def test_a_machine_client_without_the_metering_role_gets_403(client, db, cities, machine_client_headers):
    response = client.post("/api/v1/usage", json={"events": [event("431001")]}, headers=machine_client_headers())
    assert response.status_code == 403
    assert "利用実績の送信" in response.get_json()["detail_ja"]
    assert count(db, UsageEvent) == 0


def test_a_client_given_the_metering_role_may_report(client, db, cities, machine_client_headers):
    headers = machine_client_headers(("metering-client",))
    assert client.post("/api/v1/usage", json={"events": [event("431001")]}, headers=headers).status_code == 200


def test_people_other_than_the_operator_cannot_report_usage(client, db, cities, user_factory):
    _, municipal = user_factory(("municipal-admin",), "431001")
    _, finance = user_factory(("finance-officer",))
    for headers in (municipal, finance):
        assert client.post("/api/v1/usage", json={"events": [event("431001")]}, headers=headers).status_code == 403


def test_periods_are_japan_time_days_and_months(client, db, cities, metering_headers, as_operator):
    # one minute after midnight on the 1st in Japan is still the previous day in UTC
    now = _now()
    first_of_month = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    after = first_of_month + dt.timedelta(minutes=1)
    before = first_of_month - dt.timedelta(minutes=1)
    batch = [event("431001", quantity=3, at=after.astimezone(dt.timezone.utc)),
             event("431001", quantity=40, at=before.astimezone(dt.timezone.utc))]
    assert client.post("/api/v1/usage", json={"events": batch}, headers=metering_headers).status_code == 200
    assert month_figure(client, as_operator, "431001", month=f"{now:%Y-%m}") == 3
    assert month_figure(client, as_operator, "431001", month=f"{before:%Y-%m}") == 40
    days = {(row.period_start, row.total) for row in db.scalars(
        sa.select(UsageAggregate).where(UsageAggregate.granularity == "day"))}
    assert days == {(after.date(), 3), (before.date(), 40)}


def test_a_gauge_is_its_latest_level_and_the_month_shows_its_peak(client, db, cities, metering_headers, as_operator):
    start = _now() - dt.timedelta(minutes=30)
    levels = [(start, 100), (start + dt.timedelta(minutes=20), 200), (start + dt.timedelta(minutes=10), 300)]
    batch = [event("431001", metric="storage_bytes", quantity=q, at=t) for t, q in levels]
    client.post("/api/v1/usage", json={"events": batch[:2]}, headers=metering_headers)
    client.post("/api/v1/usage", json={"events": batch[2:]}, headers=metering_headers)  # arrives late
    check = client.get("/api/v1/tenants/431001/quota-check?metric=storage_bytes", headers=as_operator).get_json()
    assert check["used"] == 200  # the level with the latest timestamp, not the last to arrive
    assert month_figure(client, as_operator, "431001", "storage_bytes") == 300


@pytest.mark.parametrize("quantity,timestamp", [
    (10**20, None),                                   # beyond a 64-bit aggregate
    (1, "0001-01-01T00:00:00+01:00"),                 # a time that cannot be converted to UTC
    (1, "9999-12-31T23:59:59-01:00"),
])
def test_extreme_values_are_named_errors_not_500(client, db, tenant_factory, metering_headers, quantity, timestamp):
    import datetime as _dt

    tenant_factory("431001")
    event = {"tenant": "431001", "metric": "api_calls", "quantity": quantity, "event_id": "extreme-1",
             "timestamp": timestamp or _dt.datetime.now(_dt.timezone.utc).isoformat()}
    response = client.post("/api/v1/usage", json={"events": [event]}, headers=metering_headers)
    assert response.status_code == 422
    assert response.get_json()["errors"][0]["field"].startswith("events[0].")


def test_an_empty_batch_is_refused(client, db, tenant_factory, metering_headers):
    response = client.post("/api/v1/usage", json={"events": []}, headers=metering_headers)
    assert response.status_code == 422
    assert response.get_json()["errors"][0]["field"] == "events"
