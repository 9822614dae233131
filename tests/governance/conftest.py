"""Fixtures of the governance tests: a controllable audit clock, an attacker with DB-owner rights,
council members with real Keycloak accounts."""

from __future__ import annotations

import contextlib
import datetime as dt

import pytest
import sqlalchemy as sa

from core.audit import AUDIT_GUARD_DDL, AUDIT_GUARD_TRIGGERS
from tests.conftest import owner_bind


@pytest.fixture
def audit_clock(monkeypatch):
    """Set the time the audit log stamps on new records: ``audit_clock.set(datetime)``."""

    class Clock:
        moment: dt.datetime | None = None

        def set(self, moment: dt.datetime) -> None:
            self.moment = moment

        def __call__(self) -> dt.datetime:
            return self.moment or dt.datetime.now(dt.timezone.utc)

    clock = Clock()
    monkeypatch.setattr("core.audit.utcnow", clock)
    monkeypatch.setattr("governance.audit.utcnow", clock)
    monkeypatch.setattr("core.chain_archive.utcnow", clock)
    return clock


@contextlib.contextmanager
def guards_disabled(session, *tables: str):
    """Play a database owner: switch off the append-only triggers, and put them back afterwards."""
    bind = owner_bind(session)
    dialect = bind.dialect.name
    tables = tables or ("audit_record", "audit_chain_head", "audit_anchor")
    session.commit()
    with bind.begin() as connection:
        for table in tables:
            for name in AUDIT_GUARD_TRIGGERS[dialect][table]:
                if dialect == "postgresql":
                    connection.exec_driver_sql(f"ALTER TABLE {table} DISABLE TRIGGER {name}")
                else:
                    connection.exec_driver_sql(f"DROP TRIGGER {name}")
    try:
        yield
    finally:
        session.rollback()
        with bind.begin() as connection:
            for table in tables:
                if dialect == "postgresql":
                    for name in AUDIT_GUARD_TRIGGERS[dialect][table]:
                        connection.exec_driver_sql(f"ALTER TABLE {table} ENABLE TRIGGER {name}")
                else:
                    for statement in AUDIT_GUARD_DDL["sqlite"][table]:
                        connection.exec_driver_sql(statement)


def raw(session, statement: str, **params) -> None:
    """One raw SQL statement in its own committed transaction (the attacker's session: the schema
    owner, so that what refuses it is the guard trigger, not the application role's rights)."""
    session.commit()
    with owner_bind(session).begin() as connection:
        connection.execute(sa.text(statement), params)
    session.expire_all()


@pytest.fixture
def member_admin(user_factory):
    """Headers of a (cached) municipal admin of ``code``."""

    def make(code: str):
        return user_factory(("municipal-admin",), code)[1]

    return make
