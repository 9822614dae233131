"""Months of participation come from the status history (the rule billing charges by)."""

import datetime as dt

from core.calendar import JST
from tenancy.registry.history import history, participation_months, record_transition
from tenancy.registry.models import TenantStatus


def at(y, m, d):
    return dt.datetime(y, m, d, 10, 0, tzinfo=JST)


def test_a_member_active_before_the_year_counts_twelve_months(db, tenant_factory):
    tenant = tenant_factory("431001", status="active")
    assert participation_months(db, tenant, 2025) == 12


def test_joining_in_october_counts_october_to_march(db, tenant_factory, operator):
    tenant = tenant_factory("432024", status="provisioning")
    record_transition(db, operator, tenant, TenantStatus.active, "activated", at=at(2025, 10, 15))
    assert participation_months(db, tenant, 2025) == 6
    assert participation_months(db, tenant, 2024) == 0
    assert participation_months(db, tenant, 2026) == 12


def test_suspension_stops_billing_from_the_next_month(db, tenant_factory, operator):
    tenant = tenant_factory("432032", status="provisioning")
    record_transition(db, operator, tenant, TenantStatus.active, at=at(2025, 4, 1))
    record_transition(db, operator, tenant, TenantStatus.suspended, "unpaid", at=at(2025, 11, 20))
    # April..November = 8 months; December..March not billed
    assert participation_months(db, tenant, 2025) == 8
    record_transition(db, operator, tenant, TenantStatus.active, "resumed", at=at(2026, 2, 3))
    # February and March again
    assert participation_months(db, tenant, 2025) == 10


def test_a_month_boundary_in_japan_time(db, tenant_factory, operator):
    tenant = tenant_factory("432041", status="provisioning")
    # 2026-03-31 16:00 UTC is 2026-04-01 01:00 in Japan: the first day of FY2026, nothing in FY2025
    record_transition(db, operator, tenant, TenantStatus.active, at=dt.datetime(2026, 3, 31, 16, 0, tzinfo=dt.timezone.utc))
    assert participation_months(db, tenant, 2025) == 0
    assert participation_months(db, tenant, 2026) == 12


def test_an_imported_active_member_suspended_mid_year_pays_until_the_suspension_month(db, tenant_factory, operator):
    tenant = tenant_factory("432067", status="active")  # registered active, no history (wave 1 import)
    record_transition(db, operator, tenant, TenantStatus.suspended, "unpaid", at=at(2025, 11, 20))
    # April..November = 8 months
    assert participation_months(db, tenant, 2025) == 8


def test_an_imported_active_member_of_a_wave_counts_from_its_wave_year(db, tenant_factory):
    tenant = tenant_factory("432083", status="active", wave_fiscal_year=2025)  # wave FY2025, no recorded activation
    assert participation_months(db, tenant, 2024) == 0
    assert participation_months(db, tenant, 2025) == 12


def test_a_time_given_in_japan_time_is_stored_as_that_moment(db, tenant_factory, operator):
    """Activated at 23:30 JST on 31 March: March of FY2025 counts, on SQLite as on PostgreSQL."""
    tenant = tenant_factory("432105", status="provisioning")
    record_transition(db, operator, tenant, TenantStatus.active, at=dt.datetime(2026, 3, 31, 23, 30, tzinfo=JST))
    db.commit()
    db.expire_all()
    assert participation_months(db, tenant, 2025) == 1
    [stored] = [transition.at for transition in history(db, tenant)]
    assert stored == dt.datetime(2026, 3, 31, 14, 30, tzinfo=dt.timezone.utc)
