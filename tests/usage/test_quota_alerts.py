"""The operator's quota alerts (the home page's "quota limits reached this month"), computed in the database:
each limit resolved as the quota check resolves it, every alert counted, only the lines shown loaded."""

import datetime as dt

import pytest

from core.calendar import current_month
from core.codes import with_check_digit
from tenancy.registry.models import Tenant, TenantKind, TenantStatus
from usage import quota_alerts, quota_plans
from tests.conftest import record_usage, sign_in


def _usage(db, code, metric, level, month=None):
    record_usage(db, code, metric, level, month)


def _town(db, n, population=1_000, status=TenantStatus.active, **fields):
    code = with_check_digit(f"{47000 + n:05d}")
    db.add(Tenant(code=code, name_ja=f"試験町{n:02d}", name_en=f"Test {n}", kind=TenantKind.town,
                  population=population, status=status, **fields))
    return code


@pytest.fixture
def plans(db, operator):
    """small: 0-49,999 people, 100 API calls (hard), 10 datasets (soft); large: 50,000 and over, 1,000 API calls."""
    quota_plans.change_quota_plan(db, operator, "small", {"name_ja": "小", "population_min": 0, "population_max": 49_999, "limits": [
        {"metric": "api_calls", "limit": 100, "enforcement": "hard"}, {"metric": "datasets", "limit": 10, "enforcement": "soft"}]})
    quota_plans.change_quota_plan(db, operator, "large", {"name_ja": "大", "population_min": 50_000, "limits": [
        {"metric": "api_calls", "limit": 1_000, "enforcement": "hard"}]})
    db.commit()


def test_each_limit_is_resolved_as_the_quota_check_resolves_it(db, operator, plans):
    band = _town(db, 1)  # small band: 100 calls
    large = _town(db, 2, population=80_000)  # large band: 150 calls are within its 1,000
    assigned = _town(db, 3, population=80_000)  # large band but assigned small: 150 calls are over
    overridden = _town(db, 4)  # small band, its own limit of 500 calls (soft)
    seats = _town(db, 5, user_seat_limit=3)  # the registry's seat limit, hard
    gauge = _town(db, 6)  # datasets reported last month and not since: the level carries over
    closed = _town(db, 7, status=TenantStatus.suspended)  # over, but not active: no alert
    db.commit()
    quota_plans.assign_quota_plan(db, operator, assigned, "small")
    quota_plans.set_quota_override(db, operator, overridden, {"metric": "api_calls", "limit": 500, "enforcement": "soft"})
    for code in (band, large, assigned, overridden, closed):
        _usage(db, code, "api_calls", 150)
    _usage(db, overridden, "api_calls", 150, month=current_month() - dt.timedelta(days=20))  # a past month: ignored
    _usage(db, seats, "user_seats", 3)
    last_month = (current_month() - dt.timedelta(days=1)).replace(day=1)
    _usage(db, gauge, "datasets", 12, month=last_month)
    db.commit()

    alerts, total = quota_alerts.quota_alerts_shown(db, operator, 10)
    assert [(a.tenant_code, a.metric, a.used, a.limit, a.enforcement) for a in alerts] == [
        (band, "api_calls", 150, 100, "hard"),
        (assigned, "api_calls", 150, 100, "hard"),
        (seats, "user_seats", 3, 3, "hard"),
        (gauge, "datasets", 12, 10, "soft"),
    ]
    assert total == 4 and alerts[0].tenant_name == "試験町01" and alerts[0].percent == 150
    assert quota_alerts.quota_alerts(db, operator) == alerts


def test_alerts_beyond_the_lines_shown_are_still_counted(client, db, operator, plans):
    codes = [_town(db, n) for n in range(1, 15)]  # 14 towns, each over its 100 calls
    db.commit()
    for code in codes:
        _usage(db, code, "api_calls", 120)
    _usage(db, codes[-1], "datasets", 11)  # the last town is over two limits
    db.commit()

    alerts, total = quota_alerts.quota_alerts_shown(db, operator, 10)
    assert total == 15 and [a.tenant_code for a in alerts] == codes[:10]

    sign_in(client, ["platform-operator"])
    page = client.get("/admin/").get_data(as_text=True)
    from tests.admin.test_home_pages import attention
    count, text = attention(page, "今月利用上限に達した項目")
    assert count == 15 and "ほか 5 件" in text and "試験町10" in text and "試験町11" not in text


def test_a_municipal_admin_counts_only_their_own_tenants_alerts(db, plans):
    from core.actor import Actor

    own, other = _town(db, 1), _town(db, 2)
    db.commit()
    _usage(db, own, "api_calls", 101)
    _usage(db, other, "api_calls", 200)
    db.commit()
    admin = Actor(issuer="test", subject="town-admin", roles=frozenset({"municipal-admin"}), tenant_codes=frozenset({own}))
    alerts, total = quota_alerts.quota_alerts_shown(db, admin, 10)
    assert total == 1 and [a.tenant_code for a in alerts] == [own]
