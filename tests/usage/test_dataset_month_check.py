"""`renkei check` sums the events naming each dataset again and names every per-dataset month figure
they do not add up to (issue 35, item 9).

``usage_dataset_month`` (what the monthly report's usage by dataset reads) is written by ingest's
upsert, so the application role holds INSERT and UPDATE (total, events) on it: on PostgreSQL these
forgeries run as that role (the app's own connection), on SQLite on the database file.
"""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from core.calendar import current_month, month_start_utc
from tests.datasets.conftest import KUMAMOTO_ADMIN, draft


def check(app, *args):
    return app.test_cli_runner().invoke(args=["check", "--as", "kensa", *args])


@pytest.fixture
def aed(db, operator, tenant_factory) -> str:
    """熊本市's AED dataset, used twice this month (600 calls)."""
    from catalogue import operations
    from usage import metering

    tenant_factory("431001")
    name = operations.register(db, KUMAMOTO_ADMIN, draft(standard_kind=None)).name
    at = month_start_utc(current_month()).isoformat()
    metering.ingest(db, operator, [
        {"tenant": "431001", "metric": "api_calls", "quantity": 500, "timestamp": at, "event_id": "aed-1", "dataset": name},
        {"tenant": "431001", "metric": "api_calls", "quantity": 100, "timestamp": at, "event_id": "aed-2", "dataset": name},
    ])
    db.commit()
    return name


def test_usage_by_dataset_that_is_its_events_sum_passes(app, db, aed):
    result = check(app)
    assert result.exit_code == 0, result.output
    assert re.search(r"usage by dataset from \d{4}-\d{2}-01: 1\b", result.output), result.output


def test_a_dataset_month_inserted_with_no_events_behind_it_is_named(app, db, aed):
    month = current_month()
    db.execute(sa.text("INSERT INTO usage_dataset_month (period_start, metric, tenant_code, dataset, total, events) "
                       "VALUES (:month, 'api_calls', '431001', 'kumamoto-forged', 1000000, 1)"), {"month": month})
    db.commit()  # committed: the role may insert

    result = check(app)

    assert result.exit_code == 1
    assert (f"usage: dataset kumamoto-forged of tenant 431001, api_calls, month {month.isoformat()}: "
            "stored total 1,000,000, events 1; the events add up to no events") in result.output
    assert "データセット kumamoto-forged の api_calls" in result.output


def test_a_dataset_month_raised_past_its_events_is_named(app, db, aed):
    db.execute(sa.text("UPDATE usage_dataset_month SET total = total + 4000 WHERE dataset = :d"), {"d": aed})
    db.commit()

    result = check(app)

    assert result.exit_code == 1
    assert (f"dataset {aed} of tenant 431001, api_calls, month {current_month().isoformat()}: "
            "stored total 4,600, events 2; the events add up to total 600, events 2") in result.output
