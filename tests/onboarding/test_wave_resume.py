"""A wave commits less often than once per stage, and still resumes after a crash at any point.

The process is made to die right before its n-th commit (nothing of that transaction is kept,
nothing after it runs), for every n a wave of two municipalities reaches; running the same wave
again in a new process (a new directory, which remembers nothing) must finish it: every
municipality active, one group and one admin account each in Keycloak, one activation each, and
an intact audit chain. A crash between a Keycloak step and its commit is among them: Keycloak
did the work, renkei's record of it was lost.
"""

import uuid

import pytest
import sqlalchemy as sa

from core.actor import console_actor
from core.outbox import Notification
from governance.audit import verification
from tenancy.identity.keycloak import IdentityDirectory
from tenancy.onboarding import lifecycle, waves
from tenancy.registry.models import Tenant, TenantStatus, TenantTransition
from tenancy.registry.schemas import ContactIn

from .conftest import fresh_code, tenant_groups, users_with_email


class Crash(BaseException):
    """The process dies: not an error the wave handles."""


def wave_rows(tenant_factory, count: int = 2) -> list[waves.WaveRow]:
    rows = []
    for line in range(count):
        code = fresh_code()
        email = f"resume-{code}-{uuid.uuid4().hex[:6]}@example.jp"
        tenant_factory(code, status="applied", contacts=[{"role": "admin", "name": "熊本 花子", "email": email}])
        rows.append(waves.WaveRow(line=line + 2, code=code, contact=ContactIn(role="admin", name="熊本 花子", email=email),
                                       confirmed=frozenset(entry.key for entry in lifecycle.SCREENING_ITEMS)))
    return rows


def run_until_crash(db, actor, directory, rows, crash_at: int) -> int:
    """The wave, dying right before its ``crash_at``-th commit; returns the commits it made (of a
    transaction that had begun: a commit with nothing begun sends nothing to the database)."""
    commits = []

    def checkpoint():
        if not db().in_transaction():
            return
        if len(commits) + 1 == crash_at:
            raise Crash
        db.commit()
        commits.append(1)

    try:
        waves.run_wave(db, actor, directory, 2025, rows, checkpoint=checkpoint)
    except Crash:
        pass
    db.rollback()  # what the dead process held uncommitted is gone
    db.expire_all()
    return len(commits)


def finished(db, directory, rows) -> None:
    db.expire_all()
    for row in rows:
        tenant = db.scalars(sa.select(Tenant).where(Tenant.code == row.code)).one()
        assert tenant.status == TenantStatus.active, row.code
        activations = db.scalar(sa.select(sa.func.count()).select_from(TenantTransition).where(
            TenantTransition.tenant_id == tenant.id, TenantTransition.to_status == TenantStatus.active))
        assert activations == 1
        assert len(tenant_groups(directory, row.code)) == 1
        [admin] = users_with_email(directory, row.contact.email)
        assert directory.account(admin["id"]).tenant_codes == {row.code}
        invited = db.scalar(sa.select(sa.func.count()).select_from(Notification).where(
            Notification.tenant_code == row.code, Notification.kind == "tenant.admin_invited"))
        assert invited == 1  # the admin's message: queued again if a crash lost it, never twice


def test_a_whole_wave_of_two_commits_far_fewer_times_than_it_has_stages(db, directory, tenant_factory):
    actor = console_actor("resume-test", {"platform-operator"})
    rows = wave_rows(tenant_factory)
    commits = run_until_crash(db, actor, directory, rows, crash_at=0)  # never crashes
    finished(db, directory, rows)
    # per municipality: the database stages with the start of provisioning, then every step
    # (both Keycloak ones included) with the activation; then the wave's own record (it was 8
    # each, then 4)
    assert commits <= 2 * len(rows) + 1


@pytest.mark.parametrize("crash_at", range(1, 2 * 2 + 2))  # before each commit of a wave of two, in turn
def test_a_wave_that_dies_before_any_of_its_commits_finishes_when_run_again(db, keycloak_settings, tenant_factory,
                                                                            crash_at):
    actor = console_actor("resume-test", {"platform-operator"})
    rows = wave_rows(tenant_factory)
    run_until_crash(db, actor, IdentityDirectory(keycloak_settings), rows, crash_at)

    again = IdentityDirectory(keycloak_settings)  # a new process: no remembered group ids
    outcomes = waves.run_wave(db, actor, again, 2025, rows)
    assert all(o.ok for o in outcomes), [(o.code, o.message_en) for o in outcomes if not o.ok]
    finished(db, again, rows)
    assert verification(db, actor).intact
