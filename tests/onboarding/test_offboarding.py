"""Suspension (reversible) and withdrawal (irreversible except by re-application), against Keycloak."""

import dataclasses
import datetime as dt
import uuid

import pytest
import sqlalchemy as sa

from core.calendar import JST
from tenancy.onboarding import lifecycle, saga as onboarding
from tenancy.errors import IdentityUnavailable
from tenancy.registry.history import participation_months
from tenancy.identity.keycloak import IdentityDirectory
from tenancy.registry.models import TenantStatus
from tenancy.onboarding.models import SuspendedAccount
from usage.quotas import QuotaCache

from .conftest import audit_actions, tenant_groups, users_named


@pytest.fixture
def active_tenant(db, operator, approved, directory):
    """An active tenant provisioned by the saga, with its admin plus two staff accounts (one disabled)."""

    def make():
        tenant = approved()
        onboarding.provision(db, operator, directory, tenant.code)
        staff = {}
        for label in ("staff", "off"):
            username = f"{label}-{tenant.code}-{uuid.uuid4().hex[:4]}"
            user_id = directory.create_user(username, f"{username}@example.jp", "職員", "町")
            directory.add_to_tenant(user_id, tenant.code)
            directory.set_roles(user_id, {"municipal-staff"}, {"municipal-staff"})
            staff[label] = user_id
        directory.set_enabled(staff["off"], False)  # disabled by the municipal admin before any suspension
        [admin] = users_named(directory, tenant.contacts[0].email)
        return tenant, admin["id"], staff["staff"], staff["off"]

    return make


def enabled(directory, user_id):
    return directory.account(user_id).enabled


def this_fiscal_year():
    today = dt.datetime.now(JST).date()
    return today.year if today.month >= 4 else today.year - 1


def test_suspension_disables_users_denies_quota_and_resume_restores_exactly_what_it_changed(
        db, operator, directory, active_tenant):
    tenant, admin_id, staff_id, off_id = active_tenant()
    quota = QuotaCache(max_age_seconds=0)
    assert quota.check(db, tenant.code, "api_calls").allowed

    onboarding.suspend(db, operator, directory, tenant.code, "負担金の未納")
    db.commit()
    assert tenant.status == TenantStatus.suspended
    assert (enabled(directory, admin_id), enabled(directory, staff_id), enabled(directory, off_id)) == (False, False, False)
    decision = quota.check(db, tenant.code, "api_calls")
    assert (decision.allowed, decision.reason) == (False, "tenant_not_active")
    # activated and suspended in this month: this month is billed, no month after it
    assert participation_months(db, tenant, this_fiscal_year()) == 1
    assert participation_months(db, tenant, this_fiscal_year() + 1) == 0

    onboarding.resume(db, operator, directory, tenant.code, "納付を確認")
    db.commit()
    assert tenant.status == TenantStatus.active
    # the account its admin had disabled stays disabled
    assert (enabled(directory, admin_id), enabled(directory, staff_id), enabled(directory, off_id)) == (True, True, False)
    assert quota.check(db, tenant.code, "api_calls").allowed
    assert audit_actions(db, tenant.code)[-2:] == ["tenant.suspend", "tenant.resume"]
    assert db.scalar(sa.select(sa.func.count()).select_from(SuspendedAccount)) == 0


def test_keycloak_unreachable_during_suspension_changes_nothing(db, operator, directory, active_tenant, keycloak_settings,
                                                                  snapshot):
    tenant, admin_id, staff_id, _ = active_tenant()
    before = snapshot(tenant.code)
    down = IdentityDirectory(dataclasses.replace(keycloak_settings, url="http://127.0.0.1:9"))
    with pytest.raises(IdentityUnavailable):
        onboarding.suspend(db, operator, down, tenant.code, "テスト")
    db.rollback()
    assert snapshot(tenant.code) == before
    assert enabled(directory, admin_id) and enabled(directory, staff_id)


class FailsOnSecondDisable(IdentityDirectory):
    def __init__(self, settings):
        super().__init__(settings)
        self.disables = 0

    def set_enabled(self, user_id, value):
        if not value:
            self.disables += 1
            if self.disables == 2:
                raise IdentityUnavailable("Keycloak did not answer (test).", "認証サーバーに接続できませんでした（テスト）。")
        return super().set_enabled(user_id, value)


def test_a_suspension_that_fails_half_way_is_undone_in_keycloak(db, operator, directory, active_tenant, keycloak_settings,
                                                                 snapshot):
    tenant, admin_id, staff_id, off_id = active_tenant()
    before = snapshot(tenant.code)
    with pytest.raises(IdentityUnavailable):
        onboarding.suspend(db, operator, FailsOnSecondDisable(keycloak_settings), tenant.code, "テスト")
    db.rollback()
    assert snapshot(tenant.code) == before
    assert (enabled(directory, admin_id), enabled(directory, staff_id), enabled(directory, off_id)) == (True, True, False)


def test_withdrawal_removes_users_opens_the_handover_checklist_and_flags_the_final_settlement(
        db, operator, directory, active_tenant):
    tenant, admin_id, staff_id, _ = active_tenant()
    onboarding.withdraw(db, operator, directory, tenant.code, "協議会にて脱退を承認")
    db.commit()
    assert tenant.status == TenantStatus.withdrawn
    assert directory.tenant_members(tenant.code) == []
    admin = directory.account(admin_id)
    assert admin.tenant_codes == frozenset() and admin.roles == frozenset() and not admin.enabled
    handover = lifecycle.checklist(db, tenant, "handover")
    assert [entry.key for entry, _ in handover] == ["data_returned", "data_erased", "erasure_certified", "catalog_unpublished"]
    assert not any(row.checked for _, row in handover)
    assert [t.code for t in onboarding.final_settlements_due(db)] == [tenant.code]
    assert audit_actions(db, tenant.code)[-1] == "tenant.withdraw"

    finance = dataclasses.replace(operator, subject="finance-1", roles=frozenset({"finance-officer"}))
    onboarding.mark_final_settlement_done(db, finance, tenant.code)
    db.commit()
    assert onboarding.final_settlements_due(db) == []


def test_withdrawing_twice_is_refused_and_changes_nothing(db, operator, directory, active_tenant, snapshot):
    tenant, *_ = active_tenant()
    onboarding.withdraw(db, operator, directory, tenant.code, "脱退")
    db.commit()
    before = snapshot(tenant.code)
    with pytest.raises(lifecycle.AlreadyWithdrawn):
        onboarding.withdraw(db, operator, directory, tenant.code, "脱退")
    db.rollback()
    assert snapshot(tenant.code) == before


def test_an_applicant_that_withdraws_owes_no_final_settlement(db, operator, directory, applicant):
    tenant = applicant()
    onboarding.withdraw(db, operator, directory, tenant.code, "申込の取下げ")
    db.commit()
    assert onboarding.final_settlements_due(db) == []


def test_after_reapplication_onboarding_again_creates_no_duplicates(db, operator, directory, active_tenant):
    tenant, admin_id, *_ = active_tenant()
    onboarding.withdraw(db, operator, directory, tenant.code, "脱退")
    lifecycle.reapply(db, operator, tenant.code, "再加入の申込")
    lifecycle.screen(db, operator, tenant.code)
    for entry in lifecycle.SCREENING_ITEMS:
        lifecycle.check_item(db, operator, tenant.code, "screening", entry.key)
    lifecycle.approve(db, operator, tenant.code)
    db.commit()
    onboarding.provision(db, operator, directory, tenant.code)
    assert tenant.status == TenantStatus.active
    assert len(tenant_groups(directory, tenant.code)) == 1
    [admin] = users_named(directory, tenant.contacts[0].email)
    assert admin["id"] == admin_id
    account = directory.account(admin_id)
    assert account.enabled and account.roles == {"municipal-admin"} and account.tenant_codes == {tenant.code}
