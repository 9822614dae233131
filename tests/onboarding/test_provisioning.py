"""Provisioning as a resumable saga, against the real Keycloak of the test session."""

import dataclasses
import json
import re

import pytest
import sqlalchemy as sa

from core.errors import Unavailable
from core.outbox import Notification
from tenancy.onboarding import saga as onboarding
from tenancy.errors import IdentityUnavailable
from tenancy.identity.keycloak import IdentityDirectory
from tenancy.registry.models import Tenant, TenantStatus
from tenancy.onboarding.models import PlatformResource, ProvisioningStep

from .conftest import audit_actions, tenant_groups, users_named, users_with_email


def steps(db, tenant):
    db.expire_all()
    return {row.step: row for row in db.scalars(sa.select(ProvisioningStep).where(ProvisioningStep.tenant_id == tenant.id))}


class Flaky(IdentityDirectory):
    """The real directory, with Keycloak 'unreachable' for chosen calls."""

    def __init__(self, settings, *failing: str):
        super().__init__(settings)
        self.failing = set(failing)

    def _maybe_fail(self, name):
        if name in self.failing:
            raise IdentityUnavailable("Keycloak did not answer (test).", "認証サーバーに接続できませんでした（テスト）。")

    def create_user(self, *args, **kwargs):
        self._maybe_fail("create_user")
        return super().create_user(*args, **kwargs)

    def set_roles(self, *args, **kwargs):
        self._maybe_fail("set_roles")
        return super().set_roles(*args, **kwargs)


def test_provisioning_creates_the_group_invites_the_admin_registers_resources_and_activates(
        db, operator, approved, directory):
    tenant = approved()
    email = tenant.contacts[0].email
    outcome = onboarding.provision(db, operator, directory, tenant.code)
    assert outcome.status == TenantStatus.active
    assert outcome.steps_run == ("keycloak_group", "admin_invited", "default_quotas", "platform_resources")

    assert len(tenant_groups(directory, tenant.code)) == 1
    [user] = users_named(directory, email)
    account = directory.account(user["id"])
    assert account.email == email
    assert account.roles == {"municipal-admin"}
    assert account.tenant_codes == {tenant.code}
    assert user["firstName"] == "花子" and user["lastName"] == "熊本"
    assert set(user.get("requiredActions", [])) == {"UPDATE_PASSWORD", "VERIFY_EMAIL"}

    resource = db.scalars(sa.select(PlatformResource).where(PlatformResource.tenant_id == tenant.id)).one()
    # tenant_factory names a non-Kumamoto tenant "Test <code>": <romanised name>_<code>
    assert resource.fiware_service == f"test_{tenant.code}_{tenant.code}"
    assert resource.catalog_organization == f"test-{tenant.code}-{tenant.code}"
    saga = [a for a in audit_actions(db, tenant.code) if a.startswith(("tenant.", "provisioning."))]
    assert saga[-7:] == ["tenant.provision",
        "tenant.start_provisioning", "provisioning.keycloak_group", "provisioning.admin_invited",
        "provisioning.default_quotas", "provisioning.platform_resources", "tenant.activate"]


def test_keycloak_unreachable_stops_at_the_first_step_and_retry_finishes_without_duplicates(
        db, operator, approved, directory, keycloak_settings):
    tenant = approved()
    down = IdentityDirectory(dataclasses.replace(keycloak_settings, url="http://127.0.0.1:9"))
    with pytest.raises(onboarding.ProvisioningFailed) as failed:
        onboarding.provision(db, operator, down, tenant.code)
    assert failed.value.kind == "unavailable"
    assert failed.value.details["failed_step"] == "keycloak_group"
    assert "認証サーバー（Keycloak）の団体グループ作成" in failed.value.message_ja
    db.rollback()  # what a request does on an error response: the progress must already be stored

    db.expire_all()
    assert db.get(Tenant, tenant.id).status == TenantStatus.provisioning
    rows = steps(db, tenant)
    assert rows["keycloak_group"].status == "failed" and "Keycloak" in rows["keycloak_group"].last_error
    assert rows["admin_invited"].status == "pending"
    assert tenant_groups(directory, tenant.code) == []

    outcome = onboarding.retry(db, operator, directory, tenant.code)
    assert outcome.status == TenantStatus.active
    assert len(tenant_groups(directory, tenant.code)) == 1
    assert len(users_with_email(directory, tenant.contacts[0].email)) == 1
    assert steps(db, tenant)["keycloak_group"].attempts == 2


def test_a_failure_midway_keeps_the_steps_done_and_retry_resumes_from_the_failed_one(
        db, operator, approved, directory, keycloak_settings):
    tenant = approved()
    with pytest.raises(onboarding.ProvisioningFailed) as failed:
        onboarding.provision(db, operator, Flaky(keycloak_settings, "set_roles"), tenant.code)
    assert failed.value.details["failed_step"] == "admin_invited"
    db.rollback()
    rows = steps(db, tenant)
    assert (rows["keycloak_group"].status, rows["admin_invited"].status) == ("done", "failed")
    # the account was created in Keycloak before the role grant failed: on record there, not in renkei's memory
    assert len(users_named(directory, tenant.contacts[0].email)) == 1

    outcome = onboarding.retry(db, operator, directory, tenant.code)
    assert outcome.steps_run == ("admin_invited", "default_quotas", "platform_resources")
    rows = steps(db, tenant)
    assert rows["keycloak_group"].attempts == 1 and rows["admin_invited"].attempts == 2
    assert json.loads(rows["admin_invited"].result)["created"] is False  # found, not created again
    [user] = users_named(directory, tenant.contacts[0].email)
    assert directory.account(user["id"]).roles == {"municipal-admin"}
    assert len(tenant_groups(directory, tenant.code)) == 1
    assert audit_actions(db, tenant.code).count("provisioning.keycloak_group") == 1


def test_a_failure_after_the_keycloak_steps_keeps_them_on_record_with_the_admins_message(
        db, operator, approved, directory, monkeypatch):
    """The steps share one transaction with the activation: a failing step rolls it back, and what
    the Keycloak steps did is put back on record with the failure (the database-only steps are run
    again by the retry)."""
    tenant = approved()

    def unreachable(ctx):
        raise Unavailable("The data catalog did not answer (test).", "データカタログが応答しませんでした（テスト）。")

    monkeypatch.setattr(onboarding, "STEPS", tuple(
        dataclasses.replace(step, run=unreachable) if step.name == "platform_resources" else step for step in onboarding.STEPS))
    with pytest.raises(onboarding.ProvisioningFailed) as failed:
        onboarding.provision(db, operator, directory, tenant.code)
    assert failed.value.details["failed_step"] == "platform_resources"
    db.rollback()  # what a request does on an error response: the progress must already be stored

    assert db.get(Tenant, tenant.id).status == TenantStatus.provisioning
    rows = steps(db, tenant)
    assert {name: row.status for name, row in rows.items()} == {
        "keycloak_group": "done", "admin_invited": "done", "default_quotas": "pending", "platform_resources": "failed"}
    [user] = users_with_email(directory, tenant.contacts[0].email)
    assert json.loads(rows["admin_invited"].result)["user_id"] == user["id"]
    invited = sa.select(sa.func.count()).select_from(Notification).where(
        Notification.tenant_code == tenant.code, Notification.kind == "tenant.admin_invited")
    assert db.scalar(invited) == 1  # the admin's message, kept with the account
    assert audit_actions(db, tenant.code).count("provisioning.admin_invited") == 1

    monkeypatch.undo()
    outcome = onboarding.retry(db, operator, directory, tenant.code)
    assert (outcome.status, outcome.steps_run) == (TenantStatus.active, ("default_quotas", "platform_resources"))
    assert db.scalar(invited) == 1
    assert len(users_with_email(directory, tenant.contacts[0].email)) == 1
    actions = audit_actions(db, tenant.code)
    assert [actions.count(f"provisioning.{name}") for name in ("keycloak_group", "admin_invited", "default_quotas",
                                                                "platform_resources")] == [1, 1, 1, 1]


def test_objects_already_in_keycloak_are_found_not_duplicated(db, operator, approved, directory):
    tenant = approved()
    email = tenant.contacts[0].email
    # as if an earlier attempt had created both and its reply was lost
    directory.ensure_tenant_group(tenant.code, tenant.name_ja)
    directory.create_user(email, email, "花子", "熊本")
    onboarding.provision(db, operator, directory, tenant.code)
    assert len(tenant_groups(directory, tenant.code)) == 1
    assert len(users_with_email(directory, email)) == 1
    assert json.loads(steps(db, tenant)["admin_invited"].result)["created"] is False


def test_retry_is_only_for_a_tenant_in_provisioning(db, operator, approved, directory, snapshot):
    tenant = approved()
    before = snapshot(tenant.code)
    with pytest.raises(onboarding.lifecycle.NothingToRetry):
        onboarding.retry(db, operator, directory, tenant.code)
    assert snapshot(tenant.code) == before


def test_provisioning_without_approval_is_refused_before_keycloak_is_touched(db, operator, screened, directory, snapshot):
    tenant = screened()
    before = snapshot(tenant.code)
    with pytest.raises(onboarding.lifecycle.NotApproved):
        onboarding.provision(db, operator, directory, tenant.code)
    assert snapshot(tenant.code) == before
    assert tenant_groups(directory, tenant.code) == []


def test_the_admin_username_can_come_from_the_wave(db, operator, approved, directory):
    tenant = approved()
    username = f"admin.{tenant.code}"
    onboarding.onboarding_record(db, tenant).admin_username = username
    db.commit()
    onboarding.provision(db, operator, directory, tenant.code)
    [user] = users_named(directory, username)
    assert user["email"] == tenant.contacts[0].email.lower()


@pytest.mark.parametrize("name_en,code,service,organization", [
    ("Minamata", "432059", "minamata_432059", "minamata-432059"),
    ("Minamiaso", "434337", "minamiaso_434337", "minamiaso-434337"),
    ("Ōzu Town's Office", "434035", "ozu_town_s_office_434035", "ozu-town-s-office-434035"),
    ("熊本", "431001", "t431001", "t431001"),
    ("A" * 60, "432024", "a" * 43 + "_432024", "a" * 60 + "-432024"),
])
def test_platform_resource_names(name_en, code, service, organization):
    tenant = Tenant(code=code, name_ja="x", name_en=name_en, kind="city", population=1, status="approved")
    assert onboarding.fiware_service_name(tenant) == service
    assert onboarding.catalog_organization_name(tenant) == organization
    assert re.fullmatch(r"[a-z0-9_]{1,50}", service)


def test_a_tenant_withdrawn_while_its_saga_waits_is_not_given_an_admin(db, operator, approved, directory):
    """The saga re-reads the tenant under its lock after the start of provisioning is committed (the
    lock is then held to the end): a withdrawal in between stops it before Keycloak is touched."""
    from tenancy.onboarding import lifecycle as lc

    tenant = approved()
    calls = []

    def checkpoint():
        db.commit()
        calls.append(1)
        if len(calls) == 1:  # provisioning started, no step run yet: another request withdraws
            onboarding.withdraw(db, operator, directory, tenant.code, "申込の取下げ")
            db.commit()

    with pytest.raises(lc.NothingToRetry):
        onboarding.provision(db, operator, directory, tenant.code, checkpoint=checkpoint)
    db.expire_all()
    assert users_named(directory, tenant.contacts[0].email) == []
    assert tenant_groups(directory, tenant.code) == []
    assert db.get(Tenant, tenant.id).status == TenantStatus.withdrawn
