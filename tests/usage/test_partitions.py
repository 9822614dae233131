"""Raw usage events by month: partitions on PostgreSQL, idempotent re-sends across months,
retention, and ``renkei jobs run-due``. The partition checks need PostgreSQL (CI runs the suite
on PostgreSQL too); what a user sees (counts, aggregates, refusals) is checked on both databases."""

from __future__ import annotations

import datetime as dt
import os

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from core.calendar import JST
from usage import metering
from usage.models import UsageEvent
from tests.conftest import OPERATOR, owner_bind
from tests.usage.conftest import event


def _postgresql(db) -> bool:
    return db.get_bind().dialect.name == "postgresql"


needs_postgresql = pytest.mark.skipif(
    not os.environ.get("RENKEI_TEST_DATABASE_URL", "").startswith("postgresql"),
    reason="partitions exist on PostgreSQL only; the PostgreSQL run checks this (CI runs both)")


def _month_start_jst(months_back: int) -> dt.datetime:
    """The first instant of the Japan-time month ``months_back`` months before this one."""
    today = dt.datetime.now(JST)
    index = today.year * 12 + today.month - 1 - months_back
    return dt.datetime(index // 12, index % 12 + 1, 1, tzinfo=JST)


def _partition_of(month_start: dt.datetime) -> str:
    return f"usage_event_p{month_start.year}{month_start.month:02d}"


def _partitions(db) -> set[str]:
    return set(db.execute(sa.text(
        "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
        "WHERE i.inhparent = 'usage_event'::regclass")).scalars())


def _count(db, metric: str = "api_calls") -> int:
    """The events of ``metric`` (the due jobs also record the datasets gauge of every tenant)."""
    return db.scalar(sa.select(sa.func.count()).select_from(UsageEvent).where(UsageEvent.metric == metric))


def _month_total(db, code: str, month_start: dt.datetime) -> int:
    month = month_start.date()
    return metering.monthly_values(db, [month], [code], ["api_calls"]).get((code, "api_calls", month), 0)


@pytest.fixture
def cities(tenant_factory):
    return tenant_factory("431001"), tenant_factory("432024")


@pytest.fixture
def restore_partitions(app):
    """Tests that drop partitions put back those the other tests expect (as the schema owner:
    partitions are DDL, which the application role may not do)."""
    yield
    from admin.extensions import db as database

    with app.app_context(), Session(owner_bind(database.session)) as owner:
        metering.prepare_partitions(owner)
        owner.commit()


@needs_postgresql
def test_events_land_in_the_partition_of_their_japan_time_month(db, cities):
    last_month = _month_start_jst(1)
    month_before = _month_start_jst(2)
    # one hour after last month began in Japan is still the day before in UTC
    early = event("431001", at=last_month + dt.timedelta(hours=1))
    late = event("431001", at=last_month - dt.timedelta(hours=1))
    metering.ingest(db, OPERATOR, [early, late])
    db.commit()
    placed = dict(db.execute(sa.text("SELECT event_id, tableoid::regclass::text FROM usage_event")).all())
    assert placed == {early["event_id"]: _partition_of(last_month), late["event_id"]: _partition_of(month_before)}


def test_a_batch_spanning_two_months_sent_again_adds_nothing(db, cities):
    this_month, last_month = _month_start_jst(0), _month_start_jst(1)
    batch = [event("431001", quantity=3, at=last_month + dt.timedelta(days=2)),
             event("431001", quantity=4, at=dt.datetime.now(JST) - dt.timedelta(minutes=1)),
             event("432024", quantity=5, at=last_month + dt.timedelta(hours=3))]
    first = metering.ingest(db, OPERATOR, batch)
    db.commit()
    again = metering.ingest(db, OPERATOR, batch)
    db.commit()
    assert (first.accepted, again.accepted, again.duplicates) == (3, 0, 3)
    assert _count(db) == 3
    assert _month_total(db, "431001", last_month) == 3 and _month_total(db, "431001", this_month) == 4
    assert _month_total(db, "432024", last_month) == 5


def test_an_event_id_sent_in_two_months_is_two_events_and_each_resend_counts_once(db, cities):
    last_month, this_month = _month_start_jst(1), _month_start_jst(0)
    then = event("431001", quantity=5, at=last_month + dt.timedelta(days=1), event_id="gw-9")
    now = event("431001", quantity=2, event_id="gw-9")  # now, this month
    metering.ingest(db, OPERATOR, [then])
    db.commit()
    assert metering.ingest(db, OPERATOR, [now, then]).accepted == 1
    db.commit()
    assert metering.ingest(db, OPERATOR, [then, now]).duplicates == 2
    db.commit()
    assert _count(db) == 2
    assert _month_total(db, "431001", last_month) == 5 and _month_total(db, "431001", this_month) == 2
    changed = dict(then, quantity=6)
    with pytest.raises(metering.UsageRejected) as refused:
        metering.ingest(db, OPERATOR, [now, changed])
    db.rollback()
    assert [(p["index"], p["event_id"]) for p in refused.value.problems] == [(1, "gw-9")]


def test_retention_drops_old_months_and_keeps_newer_ones(db, cities, restore_partitions):
    two_back, last_month, this_month = _month_start_jst(2), _month_start_jst(1), _month_start_jst(0)
    old = event("431001", quantity=2, at=two_back + dt.timedelta(days=3))
    kept = [event("431001", quantity=7, at=last_month + dt.timedelta(days=3)),
            event("431001", quantity=1, at=dt.datetime.now(JST) - dt.timedelta(minutes=1))]
    metering.ingest(db, OPERATOR, [old, *kept])
    db.commit()
    before = _partitions(db) if _postgresql(db) else set()

    # eleven months on, the default 13 months keep last month (and the year core.retention asks) only
    later = _month_start_jst(-11) + dt.timedelta(days=5)
    with Session(owner_bind(db)) as owner:  # retention drops partitions: the owner's job (renkei jobs run-due)
        result = metering.purge_events(owner, OPERATOR, now=later)
        owner.commit()

    assert result.deleted == 1
    assert set(db.execute(sa.select(UsageEvent.event_id)).scalars()) == {e["event_id"] for e in kept}
    assert _month_total(db, "431001", two_back) == 2  # reports keep the aggregates
    if _postgresql(db):
        after = _partitions(db)
        assert _partition_of(two_back) in before and _partition_of(two_back) not in after
        assert {_partition_of(last_month), _partition_of(this_month)} <= after
        assert {name for name in before - after} == {
            name for name in before if name != "usage_event_default" and name < _partition_of(last_month)}
    # the purged event's id is free again only in the sense that its month is refused at ingest
    with pytest.raises(metering.UsageRejected):
        metering.ingest(db, OPERATOR, [old], settings=metering.MeteringSettings(retention_months=2))
    db.rollback()


@needs_postgresql
def test_run_due_creates_the_next_months_and_is_idempotent(app, db, cities, restore_partitions):
    ahead = _partition_of(_month_start_jst(-3))
    last_month = _month_start_jst(1)
    with owner_bind(db).begin() as connection:  # as if the jobs had not run for a while
        for name in (ahead, _partition_of(last_month)):
            connection.execute(sa.text(f"ALTER TABLE usage_event DETACH PARTITION {name}"))
            connection.execute(sa.text(f"DROP TABLE {name}"))
    late = event("431001", quantity=6, at=last_month + dt.timedelta(days=5))
    metering.ingest(db, OPERATOR, [late])  # lands in the default partition meanwhile
    db.commit()

    runner = app.test_cli_runner()
    first = runner.invoke(args=["jobs", "run-due", "--as", "operator"])
    assert first.exit_code == 0, first.output
    assert {ahead, _partition_of(last_month)} <= _partitions(db)
    assert ahead in first.output
    placed = db.execute(sa.text("SELECT tableoid::regclass::text FROM usage_event WHERE event_id = :id"),
                        {"id": late["event_id"]}).scalar()
    assert placed == _partition_of(last_month)

    partitions_before = _partitions(db)
    second = runner.invoke(args=["jobs", "run-due", "--as", "operator"])
    assert second.exit_code == 0, second.output
    assert "created 0 usage partition(s)" in second.output
    assert _partitions(db) == partitions_before
    assert _count(db) == 1 and _month_total(db, "431001", last_month) == 6
