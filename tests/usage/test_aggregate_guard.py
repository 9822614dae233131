"""Usage totals cannot be edited past ingest, and `renkei check` names any that differ from their events (issue 27).

Reports and billing read only the aggregates. The application (on PostgreSQL its role; on SQLite
the file's owner, through the guard triggers) can write them only by ingesting events; what the
schema owner can still do by hand, ``renkei check`` finds by summing the kept events again.
"""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from core.calendar import add_months, current_month, month_start_utc
from usage import metering
from usage.models import USAGE_ADD_FUNCTION, usage_guards_sqlite
from tests.conftest import OPERATOR, owner_bind, record_usage


def check(app, *args):
    return app.test_cli_runner().invoke(args=["check", "--as", "kensa", *args])


def month_total(db, code="431001", metric="api_calls"):
    db.expire_all()
    return metering.monthly_values(db, [current_month()], [code], [metric]).get((code, metric, current_month()))


def as_application_role(db):
    """The refusals below are the application role's: on PostgreSQL a run as the owner proves nothing."""
    bind = db.get_bind()
    if bind.dialect.name == "postgresql" and bind.url.username == owner_bind(db).url.username:
        pytest.skip("PostgreSQL tests run as the application role in CI (RENKEI_TEST_DATABASE_OWNER_URL set)")


def play_the_owner(db) -> sa.Engine:
    """The schema owner: on SQLite (no roles) the file's owner, who can drop the guard triggers first."""
    owner = owner_bind(db)
    if owner.dialect.name == "sqlite":
        with owner.begin() as connection:
            for name in usage_guards_sqlite():
                connection.execute(sa.text(f"DROP TRIGGER IF EXISTS {name}"))
    return owner


@pytest.fixture
def used(db, tenant_factory):
    tenant_factory("431001")
    tenant_factory("432024")
    record_usage(db, "431001", "api_calls", 5)
    record_usage(db, "431001", "api_calls", 7)
    record_usage(db, "432024", "storage_bytes", 300)
    db.commit()
    assert month_total(db) == 12


@pytest.mark.parametrize("statement", [
    "UPDATE usage_aggregate SET total = total + 1",
    "UPDATE usage_aggregate SET total = total + 1, events = events + 1 WHERE granularity = 'month'",
    "UPDATE usage_aggregate SET peak = peak * 2",
    "DELETE FROM usage_aggregate",
])
def test_the_application_cannot_edit_a_usage_total(db, used, statement):
    as_application_role(db)
    with pytest.raises(sa.exc.DBAPIError):
        db.execute(sa.text(statement))
    db.rollback()
    assert month_total(db) == 12


def test_the_application_cannot_add_an_aggregate_row_of_its_own(db, used):
    as_application_role(db)
    with pytest.raises(sa.exc.DBAPIError):
        db.execute(sa.text(
            "INSERT INTO usage_aggregate (tenant_code, metric, granularity, period_start, total, peak, events, last_value, last_at) "
            "VALUES ('432024', 'api_calls', 'month', :month, 1000, 1000, 1, 1000, :at)"),
            {"month": current_month(), "at": dt.datetime.now(dt.timezone.utc)})
    db.rollback()
    assert month_total(db, "432024") is None


def _forge(db, batch_id: int, total: int):
    """Ingest's own function called by hand: a month's api_calls for 431001 with no event behind it."""
    month = current_month()
    at = month_start_utc(month).isoformat()
    return db.execute(sa.text(
        f"SELECT * FROM {USAGE_ADD_FUNCTION}(:id, now(), 'api', 'x', 'x', 'x', NULL, NULL, 1, 1, 0, "
        "ARRAY['431001','431001']::varchar[], ARRAY['api_calls','api_calls']::varchar[], "
        "ARRAY['day','month']::varchar[], ARRAY[:day, :month]::date[], ARRAY[:total, :total]::bigint[], "
        "ARRAY[:total, :total]::bigint[], ARRAY[1, 1]::bigint[], ARRAY[:total, :total]::bigint[], "
        "ARRAY[:at, :at]::timestamptz[])"),
        {"id": batch_id, "day": month, "month": month, "total": total, "at": at}).all()


def test_ingests_function_refuses_totals_that_its_batch_did_not_store(db, used):
    """The function the application role writes aggregates through checks them against the batch's
    stored events: called by hand with a new batch and no events, or with a batch already counted,
    it writes nothing."""
    if db.get_bind().dialect.name != "postgresql":
        pytest.skip("the function is PostgreSQL's; SQLite's triggers are tested above")
    fresh = db.execute(sa.text("SELECT nextval(pg_get_serial_sequence('usage_batch', 'id'))")).scalar()
    with pytest.raises(sa.exc.IntegrityError, match="not the sum of the batch's stored events"):
        _forge(db, fresh, 1000)
    db.rollback()
    counted = db.execute(sa.text("SELECT max(batch_id) FROM usage_event")).scalar()
    with pytest.raises(sa.exc.IntegrityError):  # the batch row exists: a batch counts once
        _forge(db, counted, 7)
    db.rollback()
    assert month_total(db) == 12


def test_check_passes_when_every_total_is_its_events_sum(app, db, used):
    # a resend (all duplicates) and a batch partly stored before change nothing that check sees
    first = {"tenant": "431001", "metric": "api_calls", "quantity": 3,
             "timestamp": month_start_utc(current_month()).isoformat(), "event_id": "gw-1"}
    metering.ingest(db, OPERATOR, [first])
    metering.ingest(db, OPERATOR, [first, {**first, "event_id": "gw-2", "quantity": 4}])
    db.commit()
    assert month_total(db) == 19
    result = check(app)
    assert result.exit_code == 0, result.output
    assert "usage aggregates from" in result.output


def test_an_owners_edit_of_a_total_is_named_by_check(app, db, used):
    owner = play_the_owner(db)
    month = current_month()
    with owner.begin() as connection:
        connection.execute(sa.text(
            "UPDATE usage_aggregate SET total = total + 1 WHERE tenant_code = '431001' AND metric = 'api_calls' "
            "AND granularity = 'month'"))
    assert month_total(db) == 13  # what reports and billing would now read

    result = check(app)

    assert result.exit_code == 1, result.output
    assert (f"tenant 431001, api_calls, month {month.isoformat()}: stored total 13, peak 7, events 2; "
            "the events add up to total 12, peak 7, events 2") in result.output
    assert f"団体 431001 の api_calls（月 {month.isoformat()}）" in result.output


def test_a_row_without_events_and_a_deleted_row_are_each_named(app, db, used):
    owner = play_the_owner(db)
    month = current_month()
    with owner.begin() as connection:
        connection.execute(sa.text(
            "DELETE FROM usage_aggregate WHERE tenant_code = '432024' AND granularity = 'day'"))
        connection.execute(sa.text(
            "INSERT INTO usage_aggregate (tenant_code, metric, granularity, period_start, total, peak, events, last_value, last_at) "
            "VALUES ('432024', 'api_calls', 'month', :month, 500, 500, 1, 500, :at)"),
            {"month": month, "at": dt.datetime.now(dt.timezone.utc)})

    result = check(app)

    assert result.exit_code == 1
    assert (f"tenant 432024, storage_bytes, day {month.isoformat()}: stored no aggregate row; "
            "the events add up to total 300, peak 300, events 1") in result.output
    assert (f"tenant 432024, api_calls, month {month.isoformat()}: stored total 500, peak 500, events 1; "
            "the events add up to no events") in result.output


def test_periods_whose_events_may_be_purged_are_not_compared(app, db, used):
    """Before the retention cutoff the raw events may be gone (purged): those aggregates stand alone."""
    owner = play_the_owner(db)
    long_ago = add_months(current_month(), -(metering.DEFAULT_SETTINGS.retention_months + 1))
    with owner.begin() as connection:
        connection.execute(sa.text(
            "INSERT INTO usage_aggregate (tenant_code, metric, granularity, period_start, total, peak, events, last_value, last_at) "
            "VALUES ('431001', 'api_calls', 'month', :month, 900, 900, 9, 900, :at)"),
            {"month": long_ago, "at": month_start_utc(long_ago)})
    result = check(app)
    assert result.exit_code == 0, result.output
