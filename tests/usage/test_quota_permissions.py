"""Quotas, metering and usage reports ask the authorization policy themselves: called directly,
with no web layer in between, an actor without the right is refused and nothing is written."""

import pytest
import sqlalchemy as sa

from core.actor import Actor
from core.audit import AuditRecord
from core.calendar import current_month
from core.errors import NotPermitted
from usage import metering, quota_plans, quotas, reports
from usage.models import QuotaPlan, UsageEvent
from tests.usage.conftest import event


def person(subject, *roles, tenants=()):
    return Actor(issuer="urn:test", subject=subject, name=subject, roles=frozenset(roles), tenant_codes=frozenset(tenants))


KUMAMOTO_STAFF = person("kumamoto-staff", "municipal-staff", tenants=["431001"])
YATSUSHIRO_ADMIN = person("yatsushiro-admin", "municipal-admin", tenants=["432024"])
AUDITOR = person("auditor-1", "auditor")
GATEWAY = person("gateway", "metering-client")

SMALL = {"name_ja": "小規模", "population_min": 0, "limits": [{"metric": "api_calls", "limit": 1000}]}


def count(db, model):
    db.expire_all()
    return db.scalar(sa.select(sa.func.count()).select_from(model))


@pytest.fixture
def two_cities(db, tenant_factory):
    tenant_factory("431001")
    tenant_factory("432024")
    db.commit()


def test_municipal_staff_may_not_change_a_quota_plan_and_nothing_is_written(db):
    with pytest.raises(NotPermitted):
        quota_plans.change_quota_plan(db, KUMAMOTO_STAFF, "small", SMALL)
    assert (count(db, QuotaPlan), count(db, AuditRecord)) == (0, 0)


def test_the_operator_changes_a_quota_plan(db, operator):
    plan = quota_plans.change_quota_plan(db, operator, "small", SMALL)
    assert plan.code == "small"
    assert count(db, AuditRecord) == 1


def test_an_auditor_may_not_assign_a_plan_or_override_a_limit(db, operator, two_cities):
    quota_plans.change_quota_plan(db, operator, "small", SMALL)
    db.commit()
    before = count(db, AuditRecord)
    with pytest.raises(NotPermitted):
        quota_plans.assign_quota_plan(db, AUDITOR, "431001", "small")
    with pytest.raises(NotPermitted):
        quota_plans.set_quota_override(db, AUDITOR, "431001", {"metric": "api_calls", "limit": 5})
    assert count(db, AuditRecord) == before


def test_a_municipal_admin_reads_their_own_usage_and_not_another_tenants(db, operator, two_cities):
    metering.ingest(db, operator, [event("431001", quantity=7), event("432024", quantity=3)])
    db.commit()
    own = reports.tenant_usage(db, YATSUSHIRO_ADMIN, "432024")
    assert own["tenant"] == "432024"
    with pytest.raises(NotPermitted):
        reports.tenant_usage(db, YATSUSHIRO_ADMIN, "431001")
    with pytest.raises(NotPermitted):
        quotas.tenant_quota_status(db, YATSUSHIRO_ADMIN, "431001")
    with pytest.raises(NotPermitted):
        reports.build_report(db, YATSUSHIRO_ADMIN, current_month(), ["431001"])
    # asked for every tenant, a municipal admin's report holds their own tenant only
    report = reports.build_report(db, YATSUSHIRO_ADMIN, current_month())
    assert [row.code for row in report.tenants] == ["432024"] and not report.platform


def test_the_quota_check_needs_quota_check_on_the_tenant(db, two_cities):
    cache = quotas.QuotaCache()
    assert quotas.check_quota(db, GATEWAY, cache, "431001", "api_calls").allowed
    assert quotas.check_quota(db, KUMAMOTO_STAFF, cache, "431001", "api_calls").allowed
    with pytest.raises(NotPermitted):
        quotas.check_quota(db, KUMAMOTO_STAFF, cache, "432024", "api_calls")


def test_only_a_metering_client_or_the_operator_reports_usage(db, two_cities):
    with pytest.raises(NotPermitted):
        metering.ingest(db, YATSUSHIRO_ADMIN, [event("432024", quantity=1_000_000)])
    assert count(db, UsageEvent) == 0
    metering.ingest(db, GATEWAY, [event("432024", quantity=1)])
    assert count(db, UsageEvent) == 1
