"""Sign-ins kept from Keycloak's login events name a person's id: they go after their year
(core.retention ``sign_ins``), by the due job ``service-retention``, on both databases."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from service import sign_ins
from tests.admin.test_jobs_run_due import job_records, run
from service.models import SignInEvent

UTC = dt.timezone.utc


def kept(db, event_id: str, at: dt.datetime) -> None:
    db.add(SignInEvent(event_id=event_id, at=at, day=at.date(), client_id="renkei-admin", user_id=f"user-{event_id}"))


def test_sign_ins_older_than_a_year_are_removed_and_younger_ones_stay(db):
    now = dt.datetime(2026, 11, 1, 3, 0, tzinfo=UTC)
    kept(db, "old", now - dt.timedelta(days=365, seconds=1))
    kept(db, "young", now - dt.timedelta(days=364))
    db.commit()
    assert sign_ins.purge(db, now=now) == 1
    db.commit()
    assert list(db.scalars(sa.select(SignInEvent.event_id))) == ["young"]


def test_the_due_job_removes_them(app, db):
    kept(db, "ancient", dt.datetime(2020, 1, 1, tzinfo=UTC))
    db.commit()
    result = run(app, "--only", "service-retention")
    assert result.exit_code == 0, result.output
    assert job_records(db)["service-retention"]["sign_ins_purged"] == 1
    db.expire_all()
    assert db.scalar(sa.select(sa.func.count()).select_from(SignInEvent)) == 0
