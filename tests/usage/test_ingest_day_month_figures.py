"""The day and month figures of one batch (with ties on a timestamp) agree with the events sent."""

import datetime as dt

import pytest
import sqlalchemy as sa

from core.calendar import current_month
from usage import metering
from usage.models import UsageAggregate
from tests.conftest import OPERATOR
from tests.usage.conftest import JST, event


@pytest.fixture
def cities(tenant_factory):
    return tenant_factory("431001"), tenant_factory("432024")


def test_day_and_month_figures_of_one_batch_agree_with_its_events(db, cities):
    noon = dt.datetime.now(JST).replace(hour=12, minute=0, second=0, microsecond=0)
    if noon > dt.datetime.now(JST):
        noon -= dt.timedelta(days=1)
    same = noon - dt.timedelta(hours=1)
    sent = [  # (tenant, metric, quantity, when)
        ("431001", "storage_bytes", 500, same), ("431001", "storage_bytes", 40, same),  # a tie: the later one sent wins
        ("431001", "storage_bytes", 70, same - dt.timedelta(hours=2)),
        ("431001", "api_calls", 3, noon), ("431001", "api_calls", 4, same), ("432024", "api_calls", 9, noon),
    ]
    result = metering.ingest(db, OPERATOR, [event(t, metric=m, quantity=q, at=w) for t, m, q, w in sent])
    db.commit()
    assert result.accepted == len(sent)
    db.expire_all()
    rows = {(r.tenant_code, r.metric, r.granularity, r.period_start): (r.total, r.peak, r.events, r.last_value)
            for r in db.scalars(sa.select(UsageAggregate))}
    day, month = noon.date(), current_month(noon)
    for granularity, period in (("day", day), ("month", month)):
        assert rows[("431001", "storage_bytes", granularity, period)] == (610, 500, 3, 40)
        assert rows[("431001", "api_calls", granularity, period)] == (7, 4, 2, 3)
        assert rows[("432024", "api_calls", granularity, period)] == (9, 9, 1, 9)
