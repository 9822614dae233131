"""Fixtures of the onboarding tests: applicants with unique codes and contacts, Keycloak look-ups.

Keycloak is shared by the whole test session (the database is not), so tests that assert on what
was *created* in Keycloak use tenants with codes and e-mail addresses of their own.
"""

from __future__ import annotations

import random
import re
import uuid

import pytest
import sqlalchemy as sa

from core.audit import AuditRecord
from core.codes import with_check_digit
from core.outbox import Notification
from tenancy.registry.models import Tenant, TenantTransition

_used: set[str] = set()


def fresh_code() -> str:
    """A valid local government code (check digit right) outside Kumamoto, new to this session."""
    while True:
        code = with_check_digit(f"{random.randint(1, 42):02d}{random.randint(500, 999)}")
        if code not in _used:
            _used.add(code)
            return code


@pytest.fixture
def applicant(tenant_factory):
    """A tenant in ``applied`` with an administrative contact of its own."""

    def make(code: str | None = None, *, contact: bool = True, **fields):
        code = code or fresh_code()
        contacts = [{"role": "admin", "name": "熊本 花子", "department": "デジタル推進課",
                     "email": f"admin-{code}-{uuid.uuid4().hex[:6]}@example.jp"}] if contact else []
        return tenant_factory(code, status="applied", contacts=contacts, **fields)

    return make


@pytest.fixture
def screened(db, operator, applicant):
    """A tenant in ``screening`` with every screening item confirmed (ready to approve)."""
    from tenancy.onboarding import lifecycle

    def make(code: str | None = None, **fields):
        tenant = applicant(code, **fields)
        lifecycle.screen(db, operator, tenant.code, "申込書受領")
        for entry in lifecycle.SCREENING_ITEMS:
            lifecycle.check_item(db, operator, tenant.code, "screening", entry.key, True)
        db.commit()
        return tenant

    return make


@pytest.fixture
def approved(db, operator, screened):
    from tenancy.onboarding import lifecycle

    def make(code: str | None = None, **fields):
        tenant = screened(code, **fields)
        lifecycle.approve(db, operator, tenant.code, "審査完了")
        db.commit()
        return tenant

    return make


class Snapshot:
    """What a refused act must leave untouched: status, history, audit log, outbox."""

    def __init__(self, db, code: str):
        db.expire_all()
        tenant = db.scalars(sa.select(Tenant).where(Tenant.code == code)).one()
        self.status = tenant.status
        self.transitions = db.scalar(sa.select(sa.func.count()).select_from(TenantTransition)
                                     .where(TenantTransition.tenant_id == tenant.id))
        self.audit = db.scalar(sa.select(sa.func.count()).select_from(AuditRecord))
        self.outbox = db.scalar(sa.select(sa.func.count()).select_from(Notification))

    def __eq__(self, other):
        return vars(self) == vars(other)

    def __repr__(self):
        return f"Snapshot({vars(self)})"


@pytest.fixture
def default_guards():
    """Only the lifecycle's own guards during the test (the app wires governance's at start-up)."""
    from tenancy.onboarding import lifecycle

    saved = {status: lifecycle.guards_for(status) for status in lifecycle.TenantStatus}
    lifecycle.reset_guards()
    yield
    for status, guards in saved.items():
        lifecycle._GUARDS[status].clear()
        lifecycle._GUARDS[status].update(guards)


@pytest.fixture
def snapshot(db):
    return lambda code: Snapshot(db, code)


def audit_actions(db, code: str | None = None) -> list[str]:
    """Actions in the audit log, with the steps folded into multi-step acts (saga, wave) in order."""
    from core.audit import acts_within

    db.expire_all()
    actions = []
    for record in db.scalars(sa.select(AuditRecord).order_by(AuditRecord.seq)):
        for action, tenant_code in acts_within(record):
            if code is None or tenant_code == code or (tenant_code is None and record.tenant_code == code):
                actions.append(action)
    return actions


def tenant_groups(directory, code: str) -> list[dict]:
    """Every group named ``code`` under /tenants, straight from Keycloak."""
    parent = directory.admin.get_group_by_path("/tenants")
    children = directory.admin.get_group_children(parent["id"], {"max": 10000, "briefRepresentation": True})
    return [group for group in children if group["name"] == code]


def users_named(directory, username: str) -> list[dict]:
    return directory.admin.get_users({"username": username, "exact": True})


def users_with_email(directory, email: str) -> list[dict]:
    return [u for u in directory.admin.get_users({"email": email, "exact": True}) if u.get("email") == email.lower()]


def csrf_token(html: str) -> str:
    match = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html) or \
        re.search(r'id="csrf_token" name="csrf_token" type="hidden" value="([^"]+)"', html) or \
        re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html)
    assert match, "no CSRF token in the page"
    return match.group(1)
