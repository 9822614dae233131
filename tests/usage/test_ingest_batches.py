"""Usage ingest of whole batches: what the bulk path (COPY, then plain inserts; the careful path
when a batch holds events already stored) must keep: every event counted once, event ids stored
exactly as sent, and day and month aggregates that agree with the events."""

import datetime as dt

import pytest
import sqlalchemy as sa

from core.calendar import add_months, current_month
from usage import metering
from usage.models import UsageAggregate, UsageBatch, UsageEvent
from tests.conftest import OPERATOR
from tests.usage.conftest import JST, event


@pytest.fixture
def cities(tenant_factory):
    return tenant_factory("431001"), tenant_factory("432024")


def post(db, events):
    """Ingest one batch as the gateway's request does (one commit); the result's counts."""
    result = metering.ingest(db, OPERATOR, events)
    db.commit()
    return {"accepted": result.accepted, "duplicates": result.duplicates}


def month_row(db, code, metric, month):
    db.expire_all()
    return db.execute(sa.select(UsageAggregate).where(
        UsageAggregate.tenant_code == code, UsageAggregate.metric == metric,
        UsageAggregate.granularity == "month", UsageAggregate.period_start == month)).scalar_one()


def test_a_batch_of_new_and_already_stored_events_counts_each_once(db, cities):
    first = [event("431001", quantity=5), event("431001", quantity=7)]
    assert post(db, first)["accepted"] == 2
    mixed = [first[1], event("431001", quantity=100), first[0], event("432024", quantity=3)]
    answer = post(db, mixed)
    assert (answer["accepted"], answer["duplicates"]) == (2, 2)
    this_month = current_month()
    assert month_row(db, "431001", "api_calls", this_month).total == 5 + 7 + 100
    assert month_row(db, "431001", "api_calls", this_month).events == 3
    assert month_row(db, "432024", "api_calls", this_month).total == 3
    assert db.scalar(sa.select(sa.func.count()).select_from(UsageEvent)) == 4


def test_event_ids_with_tabs_backslashes_and_line_breaks_are_stored_as_sent(db, cities):
    ids = ["gw\t1", "gw\\2", "gw\n3", "gw\r4", "gw\\N"]
    batch = [event("431001", quantity=1, event_id=event_id) for event_id in ids]
    assert post(db, batch)["accepted"] == 5
    db.expire_all()
    assert sorted(db.scalars(sa.select(UsageEvent.event_id))) == sorted(ids)
    again = post(db, batch)
    assert (again["accepted"], again["duplicates"]) == (0, 5)


def test_an_event_id_with_a_nul_character_is_refused_and_nothing_is_written(db, cities):
    # the API refuses NUL in any field before metering; a file import reaches metering directly
    with pytest.raises(metering.UsageRejected) as refused:
        metering.ingest(db, OPERATOR, [event("431001"), event("431001", event_id="gw\x00bad")], source="file")
    db.rollback()
    assert [(p["index"], p["field"]) for p in refused.value.problems] == [(1, "events[1].event_id")]
    assert "NUL" in refused.value.problems[0]["message_ja"]
    assert db.scalar(sa.select(sa.func.count()).select_from(UsageBatch)) == 0
    assert db.scalar(sa.select(sa.func.count()).select_from(UsageEvent)) == 0


def test_a_months_latest_level_comes_from_its_latest_day_whatever_the_order_sent(db, cities):
    last_month = add_months(current_month(), -1)
    day = dt.datetime(last_month.year, last_month.month, 1, 12, tzinfo=JST)
    batch = [event("431001", metric="storage_bytes", quantity=30, at=day + dt.timedelta(days=9)),   # latest
             event("431001", metric="storage_bytes", quantity=900, at=day + dt.timedelta(days=2)),  # the peak
             event("431001", metric="storage_bytes", quantity=50, at=day + dt.timedelta(days=4))]
    assert post(db, batch)["accepted"] == 3
    month = month_row(db, "431001", "storage_bytes", last_month)
    assert (month.last_value, month.peak, month.events) == (30, 900, 3)
    later = [event("431001", metric="storage_bytes", quantity=70, at=day + dt.timedelta(days=6))]  # not the latest
    post(db, later)
    month = month_row(db, "431001", "storage_bytes", last_month)
    assert (month.last_value, month.peak, month.events) == (30, 900, 4)
    days = db.execute(sa.select(UsageAggregate.period_start, UsageAggregate.last_value).where(
        UsageAggregate.tenant_code == "431001", UsageAggregate.metric == "storage_bytes",
        UsageAggregate.granularity == "day").order_by(UsageAggregate.period_start)).all()
    assert [value for _, value in days] == [900, 50, 70, 30]


def test_overlapping_batches_sent_at_once_in_opposite_orders_count_each_event_once(db, cities):
    """A log import beside the live gateway: two batches sharing half their events, each in its
    own order, stored at the same moment by two connections. Each event counts once and neither
    batch is refused (on PostgreSQL the second waits for the first's keys, then takes the careful path)."""
    from sqlalchemy.orm import Session
    import threading

    shared = [event("431001", quantity=n) for n in range(1, 41)]
    own_a = [event("431001", quantity=1000) for _ in range(20)]
    own_b = [event("432024", quantity=2000) for _ in range(20)]
    batches = [own_a + shared, list(reversed(shared)) + own_b]
    answers, errors = [], []
    start = threading.Barrier(2)
    engine = db.get_bind()

    def send(batch):
        with Session(engine) as session:
            try:
                start.wait()
                result = metering.ingest(session, OPERATOR, batch)
                session.commit()
                answers.append((result.accepted, result.duplicates))
            except Exception as error:  # noqa: BLE001 - reported below
                errors.append(repr(error))

    threads = [threading.Thread(target=send, args=(batch,)) for batch in batches]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    assert len(answers) == 2
    assert sum(accepted for accepted, _ in answers) == 80  # 40 shared + 20 + 20, each once
    this_month = current_month()
    assert month_row(db, "431001", "api_calls", this_month).total == sum(range(1, 41)) + 20 * 1000
    assert month_row(db, "432024", "api_calls", this_month).total == 20 * 2000
