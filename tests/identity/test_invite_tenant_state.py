"""An invitation reads the tenant as it is in the caller's transaction, changes not yet flushed included.

The seat check reads only the tenant's status, name and seat limit (no tenant entity is loaded, a
hot path: 100 invitations, bench/bench_invite.py); a change made earlier in the same unit of work
(a command that suspends a tenant or lowers its seat limit, then invites) must still count.
"""

import uuid

import pytest
import sqlalchemy as sa

from core.audit import AuditRecord
from tenancy.identity import operations as identity
from tenancy.registry.models import Tenant, TenantStatus


def invitation() -> identity.Invitation:
    name = f"state-{uuid.uuid4().hex[:8]}"
    return identity.Invitation(name, f"{name}@example.jp", "花子", "熊本", frozenset({"municipal-staff"}))


def invite_records(db) -> int:
    return db.scalar(sa.select(sa.func.count()).select_from(AuditRecord).where(AuditRecord.action == "user.invite"))


def test_a_tenant_suspended_earlier_in_the_same_transaction_takes_no_invitation(db, tenant_factory, operator, directory):
    tenant_factory("431001")
    db.commit()
    tenant = db.scalars(sa.select(Tenant).where(Tenant.code == "431001")).one()
    tenant.status = TenantStatus.suspended  # not flushed yet
    wanted = invitation()
    with pytest.raises(identity.TenantClosed) as refused:
        identity.invite_user(db, operator, directory, "431001", wanted)
    assert "利用者を変更できません" in refused.value.message_ja
    assert directory.find_user(wanted.username) is None
    assert invite_records(db) == 0


def test_a_seat_limit_lowered_earlier_in_the_same_transaction_counts(db, tenant_factory, operator, directory):
    tenant_factory("431001")
    db.commit()
    identity.invite_user(db, operator, directory, "431001", invitation())  # at least one user
    db.commit()
    members = directory.count_members("431001")  # the realm is shared: other tests' users count too
    tenant = db.scalars(sa.select(Tenant).where(Tenant.code == "431001")).one()
    tenant.user_seat_limit = members  # the tenant is now full (not flushed yet)
    wanted = invitation()
    with pytest.raises(identity.SeatLimitReached) as refused:
        identity.invite_user(db, operator, directory, "431001", wanted)
    assert f"（{members} 人）" in refused.value.message_ja
    assert directory.find_user(wanted.username) is None
    assert directory.count_members("431001") == members
