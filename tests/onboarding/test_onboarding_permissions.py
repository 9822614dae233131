"""Onboarding's reads and the outbox ask the authorization policy themselves: called directly, with
no web layer in between, someone without the right is refused, and a municipal user sees only
their own tenant. The provisioning saga commits its own steps: the caller passes no commit."""

import pytest
import sqlalchemy as sa

from core import outbox
from core.actor import Actor
from core.errors import NotPermitted
from tenancy.errors import IdentityUnavailable
from tenancy.onboarding import board as onboarding_board, lifecycle, saga as onboarding
from tenancy.onboarding.models import PlatformResource, ProvisioningStep
from tenancy.registry.models import Tenant, TenantStatus


def person(subject, *roles, tenants=()):
    return Actor(issuer="urn:test", subject=subject, name=subject, roles=frozenset(roles), tenant_codes=frozenset(tenants))


KUMAMOTO_ADMIN = person("kumamoto-admin", "municipal-admin", tenants=["431001"])
KUMAMOTO_STAFF = person("kumamoto-staff", "municipal-staff", tenants=["431001"])
ADMIN_OF_NO_TENANT = person("nobodys-admin", "municipal-admin")
AUDITOR = person("auditor-1", "auditor")
GATEWAY = person("gateway", "metering-client")


@pytest.fixture
def two_cities(db, tenant_factory):
    for code in ("431001", "432024"):
        tenant = tenant_factory(code)
        db.add(PlatformResource(tenant_id=tenant.id, fiware_service=f"city_{code}", catalog_organization=f"city-{code}"))
    db.commit()


@pytest.fixture
def messages(db):
    """One message to Kumamoto City, two to Yatsushiro City (one of them failed), one to no tenant."""
    outbox.queue(db, kind="tenant.admin_invited", tenant_code="431001", subject="熊本市への通知", body="本文")
    outbox.queue(db, kind="quota.alert", tenant_code="432024", subject="八代市への通知", body="本文")
    failed = outbox.queue(db, kind="quota.alert", tenant_code="432024", subject="八代市への再送", body="本文")
    failed.status = "failed"
    outbox.queue(db, kind="platform.notice", subject="基盤全体のお知らせ", body="本文")
    db.commit()


def board_codes(board):
    return sorted(card["code"] for cards in board["columns"].values() for card in cards)


# --- the board and a tenant's page ------------------------------------------------------------------

@pytest.mark.parametrize("actor", [GATEWAY, ADMIN_OF_NO_TENANT], ids=["metering-client", "admin-of-no-tenant"])
def test_the_board_is_refused_to_someone_who_may_read_no_tenant(db, two_cities, actor):
    with pytest.raises(NotPermitted):
        onboarding_board.board(db, actor)
    with pytest.raises(NotPermitted):
        onboarding_board.platform_resources(db, actor)


def test_the_operator_and_the_auditor_see_every_tenant_on_the_board(db, operator, two_cities):
    assert board_codes(onboarding_board.board(db, operator)) == ["431001", "432024"]
    assert board_codes(onboarding_board.board(db, AUDITOR)) == ["431001", "432024"]
    assert [row["code"] for row in onboarding_board.platform_resources(db, AUDITOR)] == ["431001", "432024"]


def test_a_municipal_user_sees_only_their_own_tenant_on_the_board(db, two_cities):
    board = onboarding_board.board(db, KUMAMOTO_STAFF)
    assert board_codes(board) == ["431001"]
    assert board["counts"]["active"] == 1
    assert [row["code"] for row in onboarding_board.platform_resources(db, KUMAMOTO_STAFF)] == ["431001"]


def test_a_municipal_user_reads_their_own_tenants_onboarding_and_not_anothers(db, operator, applicant):
    own, other = applicant(), applicant()
    lifecycle.screen(db, operator, own.code, "申込書受領")
    db.commit()
    staff = person("staff", "municipal-staff", tenants=[own.code])
    assert onboarding_board.detail(db, staff, own.code)["status"] == "screening"
    assert [(t["to_status"], t["reason"]) for t in onboarding_board.timeline(db, staff, own.code)][-1] == ("screening", "申込書受領")
    with pytest.raises(NotPermitted):
        onboarding_board.detail(db, staff, other.code)
    with pytest.raises(NotPermitted):
        onboarding_board.timeline(db, staff, other.code)


# --- the outbox ----------------------------------------------------------------------------------

def subjects(items):
    return sorted(message.subject for message in items)


def test_the_operator_sees_every_notification(db, operator, messages):
    assert subjects(outbox.read_notifications(db, operator)) == ["八代市への再送", "八代市への通知", "基盤全体のお知らせ", "熊本市への通知"]
    assert subjects(outbox.read_notifications(db, operator, tenant_code="432024", status="failed")) == ["八代市への再送"]


def test_a_municipal_admin_sees_only_their_own_tenants_notifications(db, messages):
    assert subjects(outbox.read_notifications(db, KUMAMOTO_ADMIN)) == ["熊本市への通知"]
    assert subjects(outbox.read_notifications(db, KUMAMOTO_ADMIN, tenant_code="431001")) == ["熊本市への通知"]
    with pytest.raises(NotPermitted):
        outbox.read_notifications(db, KUMAMOTO_ADMIN, tenant_code="432024")


@pytest.mark.parametrize("actor", [KUMAMOTO_STAFF, GATEWAY], ids=["municipal-staff", "metering-client"])
def test_the_outbox_is_refused_to_someone_without_the_right(db, messages, actor):
    with pytest.raises(NotPermitted):
        outbox.read_notifications(db, actor)


# --- the saga commits its own steps ----------------------------------------------------------------

class KeycloakDown:
    """A directory whose first call fails as if Keycloak did not answer."""

    def ensure_tenant_group(self, code, name_ja):
        raise IdentityUnavailable("Keycloak did not answer (test).", "認証サーバーに接続できませんでした（テスト）。")


def test_a_failed_step_stays_on_record_though_the_caller_only_rolls_back(db, operator, approved):
    tenant = approved()
    with pytest.raises(onboarding.ProvisioningFailed):
        onboarding.provision(db, operator, KeycloakDown(), tenant.code)
    db.rollback()  # what a request does on an error response; nobody committed for the saga
    db.expire_all()
    assert db.get(Tenant, tenant.id).status == TenantStatus.provisioning
    step = db.scalars(sa.select(ProvisioningStep).where(ProvisioningStep.tenant_id == tenant.id,
                                                        ProvisioningStep.step == "keycloak_group")).one()
    assert step.status == "failed" and "Keycloak" in step.last_error
