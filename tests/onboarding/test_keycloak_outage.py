"""Keycloak stopped during a wave, then started again: retry finishes with no duplicates.

The test stops and restarts Keycloak: the session's own server when the session started it
(tests/conftest.py), else (RENKEI_TEST_KEYCLOAK_URL names a shared server, which is never
stopped) one of its own on free ports. Marked ``stops_keycloak``, it runs in scripts/test.sh's own-Keycloak
session, beside the workers, on the server that session has started anyway: one Keycloak boot fewer a pass. Keycloak is really stopped after the third municipality of
the wave, so the other five meet a refused connection.
"""

import dataclasses
import time
import uuid

import pytest
import sqlalchemy as sa

from maintenance import keycloak_server as kc
from tenancy.onboarding import board as onboarding_board, saga as onboarding, waves
from core.actor import console_actor
from tenancy.identity.keycloak import (IdentityDirectory, KeycloakSettings, bootstrap_realm, client_credentials_token,
                                       master_admin)
from tenancy.registry.models import Tenant, TenantStatus
from tenancy.onboarding.models import ProvisioningStep
from tenancy.registry.sample import WAVE_2, load_kumamoto

from .conftest import tenant_groups
from .test_wave import WAVE_2_CSV


@pytest.fixture
def own_keycloak(keycloak_server):
    """A Keycloak this test may stop, with a realm of its own."""
    handle = keycloak_server if keycloak_server.started_here else kc.ensure_running(None)
    settings = KeycloakSettings(url=handle.url, realm=f"renkei-outage-{uuid.uuid4().hex[:6]}",
                                service_client_secret="outage-service-secret-0123456789")
    bootstrap_realm(master_admin(handle.url, handle.admin_user, handle.admin_password, "master"), settings)
    yield handle, settings
    if handle is not keycloak_server:
        handle.close()
    elif not kc.answers(handle.url):  # the test failed while it was stopped: the later tests need it
        restart(handle)


def restart(handle, settings: KeycloakSettings | None = None):
    """Start the stopped server again on its ports and state; the handle names the new process. With
    ``settings``, wait until the realm's service account gets a token: a server just started answers
    its first realm requests slowly, and the retry under test must meet a Keycloak that is back, not
    one still warming up (a condition, not a time: a slower machine waits longer, never fails)."""
    process = handle.process
    handle.process = kc.start(port=process.port, management_port=process.management_port, state_dir=process.state_dir,
                              admin_user=handle.admin_user, admin_password=handle.admin_password)
    if settings is not None:
        patient = dataclasses.replace(settings, timeout=60.0)
        deadline = time.monotonic() + 600
        while True:
            try:
                client_credentials_token(patient, settings.service_client_id, settings.service_client_secret)
                return
            except Exception:  # noqa: BLE001  (not answering yet: asked again until the deadline)
                if time.monotonic() > deadline:
                    raise
                time.sleep(1)  # polling the condition above; nothing to wait on instead


@pytest.mark.stops_keycloak
def test_keycloak_stopped_during_a_wave_then_retry_finishes_without_duplicates(db, own_keycloak):
    handle, settings = own_keycloak
    actor = console_actor("outage-test", {"platform-operator"})
    load_kumamoto(db, actor)
    db.commit()
    rows = waves.parse_wave_csv(WAVE_2_CSV.read_bytes())
    stopped = []

    def stop_after_three(outcome):
        if len(stopped) == 0 and sum(1 for row in rows if row.code <= outcome.code) == 3:
            kc.stop(state_dir=handle.process.state_dir)
            stopped.append(outcome.code)

    outcomes = waves.run_wave(db, actor, IdentityDirectory(settings), 2025, rows,
                                   progress=stop_after_three, workers=1)  # one at a time: "after the third" is exact
    by_code = {o.code: o for o in outcomes}
    first_three = [row.code for row in rows[:3]]
    rest = [row.code for row in rows[3:]]
    assert all(by_code[code].ok for code in first_three)
    for code in rest:
        assert (by_code[code].status, by_code[code].failed_step) == ("provisioning", "keycloak_group")
        assert "Keycloak" in by_code[code].message_en
    db.expire_all()
    failed = dict(db.execute(sa.select(Tenant.code, ProvisioningStep.step)
                             .join(ProvisioningStep, ProvisioningStep.tenant_id == Tenant.id)
                             .where(ProvisioningStep.status == "failed")).all())
    assert failed == {code: "keycloak_group" for code in rest}
    board = onboarding_board.board(db, actor)
    assert sorted(card["code"] for card in board["columns"]["provisioning"] if card["failed_step"] == "keycloak_group") == rest

    restart(handle, settings)
    directory = IdentityDirectory(settings)
    onboarding.retry(db, actor, directory, rest[0])  # one by hand…
    again = waves.run_wave(db, actor, directory, 2025, rows)  # …the rest by re-running the wave
    assert all(o.ok for o in again), [(o.code, o.message_en) for o in again if not o.ok]

    db.expire_all()
    assert {t.code: t.status for t in db.scalars(sa.select(Tenant).where(Tenant.code.in_(WAVE_2)))} == \
        {code: TenantStatus.active for code in WAVE_2}
    for row in rows:  # verified in Keycloak itself
        assert len(tenant_groups(directory, row.code)) == 1
        members = directory.tenant_members(row.code)
        assert [m.email for m in members] == [row.contact.email]
        assert len(directory.admin.get_users({"email": row.contact.email, "exact": True})) == 1
    assert directory.admin.users_count() == len(rows)  # the eight admins, nobody twice (service accounts are not counted)
