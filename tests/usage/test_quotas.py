"""Quotas: plans by population band, overrides, threshold alerts once per period, the gateway's quota check."""

import datetime as dt
import json

import pytest
import sqlalchemy as sa

from core.audit import AuditRecord
from usage import metering, quota_plans, quotas
from core.outbox import Notification
from tests.usage.conftest import JST, event


def plan(db, operator, code="test", api_calls=100, enforcement="hard", thresholds=(80, 100), **band):
    change = {"name_ja": "テストプラン", "population_min": 0, **band,
              "limits": [{"metric": "api_calls", "limit": api_calls, "enforcement": enforcement,
                          "thresholds": list(thresholds)}]}
    created = quota_plans.change_quota_plan(db, operator, code, change)
    db.commit()
    return created


def alerts(db):
    db.expire_all()
    return list(db.scalars(sa.select(Notification).where(Notification.kind == "quota.threshold").order_by(Notification.id)))


def send(client, headers, code, quantity, at=None):
    response = client.post("/api/v1/usage", json={"events": [event(code, quantity=quantity, at=at)]}, headers=headers)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def check(client, headers, code="431001", metric="api_calls", quantity=1):
    response = client.get(f"/api/v1/tenants/{code}/quota-check?metric={metric}&quantity={quantity}", headers=headers)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


@pytest.fixture
def kumamoto(tenant_factory):
    return tenant_factory("431001")


def test_crossing_80_then_100_percent_alerts_exactly_once_each(client, db, kumamoto, operator, metering_headers):
    plan(db, operator, api_calls=100)
    send(client, metering_headers, "431001", 79)
    assert alerts(db) == []
    assert send(client, metering_headers, "431001", 1)["alerts"] == 1  # 80 of 100
    send(client, metering_headers, "431001", 5)  # 85: still one alert
    assert len(alerts(db)) == 1
    send(client, metering_headers, "431001", 20)  # 105: the 100 % alert
    send(client, metering_headers, "431001", 20)  # 125: nothing new
    sent = alerts(db)
    assert len(sent) == 2
    month = dt.datetime.now(JST).strftime("%Y-%m")
    assert [n.dedupe_key for n in sent] == [f"quota:431001:api_calls:{month}:80", f"quota:431001:api_calls:{month}:100"]
    assert all(n.tenant_code == "431001" and n.status == "queued" for n in sent)
    assert "80%" in sent[0].subject and "熊本市" in sent[0].subject
    assert "105" in sent[1].body and "100" in sent[1].body


def test_an_alert_of_a_batch_rolled_back_is_queued_by_the_next_batch_and_never_twice(db, kumamoto, operator):
    """Ingest remembers which alerts are in the outbox, but only once their transaction commits."""
    plan(db, operator, api_calls=100)
    assert metering.ingest(db, operator, [event("431001", quantity=85)]).alerts == 1
    db.rollback()  # the batch and its alert are gone
    assert alerts(db) == []
    assert metering.ingest(db, operator, [event("431001", quantity=85)]).alerts == 1
    db.commit()
    assert metering.ingest(db, operator, [event("431001", quantity=1)]).alerts == 0  # known now: not asked again
    db.commit()
    quotas.reset_quota_caches()  # as another process would start: it finds the alert in the outbox
    assert metering.ingest(db, operator, [event("431001", quantity=1)]).alerts == 0
    db.commit()
    assert [n.dedupe_key.rsplit(":", 1)[1] for n in alerts(db)] == ["80"]


def test_a_limit_lowered_after_a_batch_alerts_on_the_very_next_batch(client, db, kumamoto, operator, metering_headers):
    """Ingest keeps every tenant's limits in memory for its alerts: a plan change committed in the
    process must reach the next batch at once, not after the memory's bound."""
    plan(db, operator, api_calls=1_000)
    assert send(client, metering_headers, "431001", 100)["alerts"] == 0  # 10 %: the limits are now in memory
    plan(db, operator, api_calls=100)  # the same plan, lowered
    assert send(client, metering_headers, "431001", 1)["alerts"] == 2  # 101 of 100: both lines at once
    assert [n.dedupe_key.rsplit(":", 1)[1] for n in alerts(db)] == ["80", "100"]


def test_one_batch_jumping_past_both_thresholds_queues_both(client, db, kumamoto, operator, metering_headers):
    plan(db, operator, api_calls=10)
    assert send(client, metering_headers, "431001", 12)["alerts"] == 2
    assert len(alerts(db)) == 2


def test_a_hard_limit_makes_the_quota_check_deny(client, db, kumamoto, operator, metering_headers):
    plan(db, operator, api_calls=100, enforcement="hard")
    send(client, metering_headers, "431001", 99)
    allowed = check(client, metering_headers)
    assert (allowed["allowed"], allowed["remaining"], allowed["used"], allowed["limit"]) == (True, 1, 99, 100)
    assert check(client, metering_headers, quantity=2)["allowed"] is False  # 99 + 2 would pass the limit
    send(client, metering_headers, "431001", 1)
    denied = check(client, metering_headers)
    assert (denied["allowed"], denied["remaining"], denied["reason"]) == (False, 0, "hard_limit_reached")


def test_an_override_keeps_the_plans_hard_stop_unless_it_says_soft(client, db, kumamoto, operator, metering_headers,
                                                                    as_operator):
    """Issue 36: an override lowering a plan's hard limit used to default to soft, silently ending the stop."""
    plan(db, operator, api_calls=100, enforcement="hard")
    lowered = client.put("/api/v1/tenants/431001/quota-override", headers=as_operator,
                         json={"metric": "api_calls", "limit": 50, "reason": "協議会決定"})
    assert lowered.status_code == 200, lowered.get_json()
    now = next(m for m in lowered.get_json()["now"] if m["metric"] == "api_calls")
    assert (now["limit"], now["enforcement"], now["source"]) == (50, "hard", "override")
    send(client, metering_headers, "431001", 50)
    assert check(client, metering_headers)["reason"] == "hard_limit_reached"
    record = db.scalars(sa.select(AuditRecord).where(AuditRecord.action == "quota.override")).one()
    assert json.loads(record.after)["enforcement_from"] == "plan"

    said = client.put("/api/v1/tenants/431001/quota-override", headers=as_operator,
                      json={"metric": "api_calls", "limit": 50, "enforcement": "soft", "reason": "試験運用"})
    assert said.status_code == 200
    assert check(client, metering_headers)["reason"] == "over_soft_limit"


def test_a_soft_limit_warns_but_never_denies(client, db, kumamoto, operator, metering_headers):
    plan(db, operator, api_calls=10, enforcement="soft")
    send(client, metering_headers, "431001", 15)
    result = check(client, metering_headers)
    assert (result["allowed"], result["reason"], result["remaining"]) == (True, "over_soft_limit", 0)
    assert len(alerts(db)) == 2


def test_a_tenant_without_a_plan_is_not_limited(client, db, kumamoto, metering_headers):
    send(client, metering_headers, "431001", 10_000)
    result = check(client, metering_headers)
    assert (result["allowed"], result["reason"], result["limit"], result["remaining"]) == (True, "no_limit", None, None)


def test_a_suspended_tenant_is_denied(client, db, tenant_factory, metering_headers):
    tenant_factory("432024", status="suspended")
    assert check(client, metering_headers, "432024")["reason"] == "tenant_not_active"


def test_a_new_month_starts_the_counter_again_and_alerts_again(db, kumamoto, operator):
    plan(db, operator, api_calls=100)
    may_end = dt.datetime(2026, 5, 31, 23, 0, tzinfo=JST)
    june = dt.datetime(2026, 6, 1, 0, 5, tzinfo=JST)
    metering.ingest(db, operator, [event("431001", quantity=100, at=may_end)], now=may_end)
    db.commit()
    cache = quotas.quota_cache(db.get_bind())
    assert cache.check(db, "431001", "api_calls", now=may_end + dt.timedelta(minutes=1)).allowed is False
    in_june = cache.check(db, "431001", "api_calls", now=june)
    assert (in_june.allowed, in_june.used, in_june.period) == (True, 0, dt.date(2026, 6, 1))
    metering.ingest(db, operator, [event("431001", quantity=90, at=june)], now=june)
    db.commit()
    assert [n.dedupe_key.rsplit(":", 2)[1:] for n in alerts(db)] == [["2026-05", "80"], ["2026-05", "100"], ["2026-06", "80"]]


def test_usage_of_a_past_month_does_not_alert(db, kumamoto, operator):
    plan(db, operator, api_calls=10)
    now = dt.datetime.now(JST)
    last_month = (now.replace(day=1) - dt.timedelta(days=2))
    metering.ingest(db, operator, [event("431001", quantity=50, at=last_month)], now=now)
    db.commit()
    assert alerts(db) == []


def test_quota_check_reflects_this_process_at_once_and_others_within_the_bound(db, kumamoto, operator, monkeypatch):
    plan(db, operator, api_calls=1000)
    clock = [1000.0]
    cache = quotas.QuotaCache(max_age_seconds=5, clock=lambda: clock[0])
    monkeypatch.setitem(quotas._CACHES, quotas._bind_key(db.get_bind()), cache)
    assert cache.check(db, "431001", "api_calls").used == 0
    metering.ingest(db, operator, [event("431001", quantity=7)])
    assert cache.check(db, "431001", "api_calls").used == 0  # not committed yet
    db.commit()
    assert cache.check(db, "431001", "api_calls").used == 7  # this process: at once
    metering.ingest(db, operator, [event("431001", quantity=3)])
    db.rollback()
    assert cache.check(db, "431001", "api_calls").used == 7  # a rolled-back batch never counted
    # another process records usage: this one sees it only once its entry is older than the bound
    # (ingest is the aggregates' only writer: a session of its own whose note to this process's memory
    # is dropped before it commits, as another process's memory is not this one's)
    from sqlalchemy.orm import Session as OrmSession

    with OrmSession(db.get_bind()) as other:
        metering.ingest(other, operator, [event("431001", quantity=493, event_id="other-process-1")])
        other.info.pop(quotas._PENDING, None)
        other.commit()
    clock[0] += 4.9
    assert cache.check(db, "431001", "api_calls").used == 7
    clock[0] += 0.2
    assert cache.check(db, "431001", "api_calls").used == 500


def test_a_plan_change_applies_at_once_in_this_process(client, db, kumamoto, operator, metering_headers, as_operator):
    plan(db, operator, api_calls=10)
    send(client, metering_headers, "431001", 10)
    assert check(client, metering_headers)["allowed"] is False
    response = client.put("/api/v1/quota-plans/test", json={"limits": [{"metric": "api_calls", "limit": 20,
                                                                          "enforcement": "hard"}]}, headers=as_operator)
    assert response.status_code == 200, response.get_json()
    assert check(client, metering_headers)["remaining"] == 10


def test_plans_apply_by_population_band_and_an_override_wins(client, db, tenant_factory, operator, as_operator):
    tenant_factory("431001")  # 熊本市, about 738,000
    tenant_factory("432024")  # 八代市, about 123,000
    quota_plans.load_default_plans(db, operator)
    db.commit()

    def limit(code, metric="api_calls"):
        now = client.get(f"/api/v1/tenants/{code}/usage", headers=as_operator).get_json()["now"]
        return next((m["limit"], m["source"]) for m in now if m["metric"] == metric)

    assert limit("431001") == (20_000_000, "plan:large")
    assert limit("432024") == (5_000_000, "plan:medium")
    response = client.put("/api/v1/tenants/432024/quota-override", headers=as_operator,
                          json={"metric": "api_calls", "limit": 8_000_000, "enforcement": "hard", "reason": "協議会決定"})
    assert response.status_code == 200
    assert limit("432024") == (8_000_000, "override")
    client.put("/api/v1/tenants/431001/quota-plan", json={"plan": "small"}, headers=as_operator)
    assert limit("431001") == (1_000_000, "plan:small")
    client.put("/api/v1/tenants/431001/quota-plan", json={"plan": None}, headers=as_operator)
    assert limit("431001") == (20_000_000, "plan:large")


def test_the_registry_seat_limit_is_the_user_seats_limit(client, db, tenant_factory, operator, as_operator):
    tenant_factory("431001", user_seat_limit=12)
    now = client.get("/api/v1/tenants/431001/usage", headers=as_operator).get_json()["now"]
    seats = next(m for m in now if m["metric"] == "user_seats")
    assert (seats["limit"], seats["enforcement"], seats["source"]) == (12, "hard", "registry")


def test_plan_changes_are_audited_once_and_refused_to_municipal_admins(client, db, kumamoto, user_factory, as_operator):
    body = {"name_ja": "特別プラン", "limits": [{"metric": "datasets", "limit": 50}]}
    _, municipal = user_factory(("municipal-admin",), "431001")
    assert client.put("/api/v1/quota-plans/special", json=body, headers=municipal).status_code == 403
    assert client.put("/api/v1/tenants/431001/quota-plan", json={"plan": "special"}, headers=municipal).status_code == 403
    assert client.put("/api/v1/quota-plans/special", json=body, headers=as_operator).status_code == 200
    assert client.put("/api/v1/quota-plans/special", json=body, headers=as_operator).status_code == 200  # no change
    records = list(db.scalars(sa.select(AuditRecord).where(AuditRecord.action.like("quota.%"))))
    assert [(r.action, r.target_id) for r in records] == [("quota.plan.change", "special")]


@pytest.mark.parametrize("body", [
    {"limits": [{"metric": "api_calls", "limit": 10}]},  # a new plan needs a name
    {"name_ja": "x", "limits": [{"metric": "cpu", "limit": 10}]},
    {"name_ja": "x", "limits": [{"metric": "api_calls", "limit": -1}]},
    {"name_ja": "x", "limits": [{"metric": "api_calls", "limit": 5, "thresholds": [0]}]},
    {"name_ja": "x", "population_min": 10, "population_max": 5},
])
def test_bad_plan_input_is_422_and_changes_nothing(client, db, kumamoto, as_operator, body):
    response = client.put("/api/v1/quota-plans/p1", json=body, headers=as_operator)
    assert response.status_code == 422
    assert client.get("/api/v1/quota-plans", headers=as_operator).get_json()["items"] == []


def test_quota_check_scope_and_input(client, db, tenant_factory, user_factory, metering_headers):
    tenant_factory("431001")
    tenant_factory("432024")
    _, kumamoto_admin = user_factory(("municipal-admin",), "431001")
    assert client.get("/api/v1/tenants/431001/quota-check", headers=kumamoto_admin).status_code == 200
    assert client.get("/api/v1/tenants/432024/quota-check", headers=kumamoto_admin).status_code == 403
    assert client.get("/api/v1/tenants/431001/quota-check?metric=cpu", headers=metering_headers).status_code == 422
    assert client.get("/api/v1/tenants/432016/quota-check", headers=metering_headers).status_code == 404  # not registered
    assert client.get("/api/v1/tenants/431001/quota-check").status_code == 401


def test_user_seats_are_counted_from_keycloak(app, db, tenant_factory, user_factory, directory):
    tenant_factory("434256")  # 産山村: no other test gives it users
    for _ in range(2):
        user_factory(("municipal-staff",), "434256", fresh=True)
    result = app.test_cli_runner().invoke(args=["usage", "count-seats"])
    assert result.exit_code == 0, result.output
    db.expire_all()
    assert quotas.quota_cache(db.get_bind()).check(db, "434256", "user_seats").used == 2


def test_onboarding_applies_default_quotas_once(db, tenant_factory, operator):
    yatsushiro = tenant_factory("432024")  # about 123,000 people: the medium band
    first = quota_plans.apply_default_quotas(db, operator, yatsushiro)
    again = quota_plans.apply_default_quotas(db, operator, yatsushiro)
    assert first == again
    assert first["plan"] == "medium" and first["limits"]["api_calls"]["limit"] == 5_000_000
    changes = db.scalars(sa.select(AuditRecord.target_id).where(AuditRecord.action == "quota.plan.change")).all()
    assert sorted(changes) == ["large", "medium", "small"]


def test_a_metric_named_twice_is_refused_beside_the_limits(client, db, kumamoto, as_operator):
    body = {"name_ja": "二重", "limits": [{"metric": "api_calls", "limit": 10}, {"metric": "api_calls", "limit": 20}]}
    response = client.put("/api/v1/quota-plans/twice", json=body, headers=as_operator)
    assert response.status_code == 422
    assert [e["field"] for e in response.get_json()["errors"]] == ["limits"]
    assert client.get("/api/v1/quota-plans", headers=as_operator).get_json()["items"] == []
