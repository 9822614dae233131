"""Usage ingest of large batches (a gateway's serial numbers, or any order), with timestamps handed
to the database as sent. What a client must still see: every event stored once at the instant it
sent, and a bad event anywhere refused with its error and nothing written."""

import datetime as dt
import uuid

import pytest
import sqlalchemy as sa

from core.calendar import current_month
from usage import metering
from usage.models import UsageAggregate, UsageBatch, UsageEvent
from tests.conftest import OPERATOR
from tests.usage.conftest import JST, event


@pytest.fixture
def cities(tenant_factory):
    return tenant_factory("431001"), tenant_factory("432024")


def serial_batch(count, *, prefix=None, quantity=lambda n: n % 7 + 1):
    """``count`` events with ascending event_ids, a few seconds apart in the last hours (Japan time)."""
    prefix = prefix or f"gw-{uuid.uuid4().hex[:6]}"
    now = dt.datetime.now(JST)
    return [event("431001" if n % 3 else "432024", quantity=quantity(n), at=now - dt.timedelta(seconds=5 * n),
                  event_id=f"{prefix}-{n:06d}") for n in range(count)]


def counts(db):
    db.expire_all()
    return tuple(db.scalar(sa.select(sa.func.count()).select_from(model))
                 for model in (UsageEvent, UsageBatch))


def month_total(db, code):
    db.expire_all()
    return db.scalar(sa.select(UsageAggregate.total).where(
        UsageAggregate.tenant_code == code, UsageAggregate.metric == "api_calls",
        UsageAggregate.granularity == "month", UsageAggregate.period_start == current_month())) or 0


def test_a_large_batch_in_event_id_order_is_stored_once_with_its_totals(db, cities):
    batch = serial_batch(3500)
    result = metering.ingest(db, OPERATOR, batch)
    db.commit()
    assert (result.accepted, result.duplicates) == (3500, 0)
    assert counts(db) == (3500, 1)
    for code in ("431001", "432024"):
        assert month_total(db, code) == sum(e["quantity"] for e in batch if e["tenant"] == code)
    stored = db.scalar(sa.select(UsageBatch))
    assert (stored.events_received, stored.events_accepted, stored.events_duplicate) == (3500, 3500, 0)


@pytest.mark.parametrize("position", [10, 2400, 3499])
def test_a_bad_event_late_in_a_large_batch_is_refused_with_its_error_and_nothing_is_written(db, cities, position):
    batch = serial_batch(3500)
    batch[position]["timestamp"] = (dt.datetime.now(JST) + dt.timedelta(minutes=30)).isoformat()
    with pytest.raises(metering.UsageRejected) as refused:
        metering.ingest(db, OPERATOR, batch)
    db.rollback()
    assert [(p["index"], p["field"]) for p in refused.value.problems] == [(position, f"events[{position}].timestamp")]
    assert "先です" in refused.value.problems[0]["message_ja"]
    assert counts(db) == (0, 0)
    # the same batch, corrected, is then stored whole
    batch[position]["timestamp"] = dt.datetime.now(JST).isoformat()
    assert metering.ingest(db, OPERATOR, batch).accepted == 3500
    db.commit()
    assert counts(db) == (3500, 1)


def test_a_refused_batch_leaves_the_transaction_usable_for_the_next(db, cities):
    """A file import records several batches in one transaction: a refused one must leave nothing behind."""
    bad = serial_batch(2500)
    bad[2200]["metric"] = "api_cals"
    with pytest.raises(metering.UsageRejected):
        metering.ingest(db, OPERATOR, bad)
    good = serial_batch(2500)
    assert metering.ingest(db, OPERATOR, good).accepted == 2500
    db.commit()
    assert counts(db) == (2500, 1)


def test_a_large_resend_with_new_events_after_it_counts_each_once(db, cities):
    first = serial_batch(3000, prefix="gw-resend")
    metering.ingest(db, OPERATOR, first[:2000])
    db.commit()
    result = metering.ingest(db, OPERATOR, first)  # the first 2,000 again, then 1,000 new ones
    db.commit()
    assert (result.accepted, result.duplicates) == (1000, 2000)
    assert counts(db)[0] == 3000
    assert month_total(db, "431001") == sum(e["quantity"] for e in first if e["tenant"] == "431001")


def test_a_large_batch_reusing_a_stored_event_id_for_other_data_is_refused(db, cities):
    first = serial_batch(2500, prefix="gw-reuse")
    metering.ingest(db, OPERATOR, first[:10])
    db.commit()
    changed = [dict(e) for e in first]
    changed[5]["quantity"] += 1000
    with pytest.raises(metering.UsageRejected) as refused:
        metering.ingest(db, OPERATOR, changed)
    db.rollback()
    assert [p["index"] for p in refused.value.problems] == [5]
    assert counts(db) == (10, 1)


def test_a_large_batch_out_of_event_id_order_is_stored_as_well(db, cities):
    batch = serial_batch(2500)
    batch[1500], batch[100] = batch[100], batch[1500]
    assert metering.ingest(db, OPERATOR, batch).accepted == 2500
    db.commit()
    assert counts(db) == (2500, 1)


def test_each_timestamp_is_stored_as_the_instant_sent_whatever_its_form(db, cities):
    base = dt.datetime.now(dt.timezone.utc).replace(microsecond=0) - dt.timedelta(hours=2)
    forms = {
        "jst": base.astimezone(JST).isoformat(),
        "zulu": base.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "west": base.astimezone(dt.timezone(-dt.timedelta(hours=5))).isoformat(),
        "micro": (base + dt.timedelta(microseconds=123456)).astimezone(JST).isoformat(),
        "milli": base.astimezone(JST).isoformat(timespec="milliseconds"),
        # forms Python reads but PostgreSQL would read otherwise or not at all
        "seven-digits": base.astimezone(JST).strftime("%Y-%m-%dT%H:%M:%S") + ".1234567+09:00",
        "offset-seconds": base.astimezone(dt.timezone(dt.timedelta(hours=9, seconds=30))).isoformat(),
        "far-offset": base.astimezone(dt.timezone(dt.timedelta(hours=15, minutes=30))).isoformat(),
        "space": base.astimezone(JST).isoformat(sep=" "),
        "basic": base.astimezone(JST).strftime("%Y%m%dT%H%M%S+0900"),
    }
    # 1,500 filler events in order before them, so that on PostgreSQL they go the streamed way too
    batch = serial_batch(1500, prefix="gw-a") + [event("431001", event_id=f"gw-b-{name}", at=base) for name in forms]
    for item in batch[1500:]:
        item["timestamp"] = forms[item["event_id"][5:]]
    small = [dict(item, event_id=item["event_id"].replace("gw-b", "gw-c")) for item in batch[1500:]]
    metering.ingest(db, OPERATOR, batch)
    metering.ingest(db, OPERATOR, small)  # and the portable way, a small batch
    db.commit()
    db.expire_all()
    stored = {row.event_id: row.occurred_at for row in db.execute(
        sa.select(UsageEvent.event_id, UsageEvent.occurred_at).where(UsageEvent.event_id.like("gw-_-%")))}
    for name, text in forms.items():
        expected = dt.datetime.fromisoformat(text)
        for prefix in ("gw-b", "gw-c"):
            moment = stored[f"{prefix}-{name}"]
            moment = moment if moment.tzinfo else moment.replace(tzinfo=dt.timezone.utc)
            assert moment == expected, (name, text, moment)
