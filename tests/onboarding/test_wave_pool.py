"""A wave on PostgreSQL provisions several municipalities at once (waves.WAVE_WORKERS), with the
same outcome as one at a time: every municipality active, the shared default quota plans made
once, one audit record for the wave holding every municipality's acts, an intact audit chain."""

import threading
import uuid

import pytest
import sqlalchemy as sa

from core.actor import console_actor
from core.audit import AuditRecord, acts_within
from governance.audit import verification
from tenancy.onboarding import waves
from tenancy.registry.models import Tenant, TenantStatus
from tenancy.registry.sample import WAVE_2
from usage.models import QuotaPlan
from usage.quota_plans import DEFAULT_PLANS

from .test_wave import HEADER


def test_a_wave_runs_several_municipalities_at_once_and_stays_one_act(db, directory):
    if db.get_bind().dialect.name != "postgresql":
        pytest.skip("SQLite has one writer: a wave runs one municipality at a time there")
    actor = console_actor("wave-pool-test", {"platform-operator"})
    tag = uuid.uuid4().hex[:6]
    csv = HEADER + "".join(f"{code},熊本 花子,pool-{tag}-{code}@example.jp,済,済,済,済\n" for code in WAVE_2)
    rows = waves.parse_wave_csv(csv.encode())
    assert db.scalar(sa.select(sa.func.count()).select_from(QuotaPlan)) == 0  # the first wave makes them
    seen_in = []
    outcomes = waves.run_wave(db, actor, directory, 2025, rows, workers=4,
                                   progress=lambda outcome: seen_in.append(threading.current_thread()))

    assert [o.code for o in outcomes] == [row.code for row in rows]  # the file's order, whatever finished first
    assert all(o.ok for o in outcomes), [(o.code, o.message_en) for o in outcomes if not o.ok]
    assert seen_in == [threading.current_thread()] * len(rows)  # progress is told in the caller's thread
    db.expire_all()
    assert {t.code: t.status for t in db.scalars(sa.select(Tenant))} == {code: TenantStatus.active for code in WAVE_2}
    assert sorted(db.scalars(sa.select(QuotaPlan.code))) == sorted(DEFAULT_PLANS)  # each plan once
    [record] = db.scalars(sa.select(AuditRecord).where(AuditRecord.action == "onboarding.wave")).all()
    acts = acts_within(record)
    for code in WAVE_2:
        assert ("tenant.activate", code) in acts and ("provisioning.admin_invited", code) in acts
    assert db.scalar(sa.select(sa.func.count()).select_from(AuditRecord)) == 1  # nothing outside the wave's act
    assert verification(db, actor).intact
