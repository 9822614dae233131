"""Two transactions deny one person at about the same time (an admin takes a municipal admin's roles
away; renkei's reader of Keycloak's admin events sees the role mapping change and denies the same
person): the second to write finds the first's row, moves it forward, and the admin's act stands
(before, it failed with 409 and its audit record was lost, though Keycloak had changed)."""

from __future__ import annotations

import datetime as dt

from core.db import utcnow
from tenancy.identity import denylist
from tenancy.identity.models import DeniedSubject


def test_a_denial_written_by_another_transaction_after_the_read_is_moved_forward_not_a_failure(db, monkeypatch):
    earlier = utcnow() - dt.timedelta(minutes=1)
    listed = DeniedSubject(subject="kc-user-1", denied_at=earlier, keep_until=earlier + dt.timedelta(hours=1),
                           reason="admin event: role mapping")
    db.add(listed)
    db.flush()
    db.expunge(listed)  # as if another transaction had written it: not in this session's identity map
    real = db.scalars
    hidden = []

    def read_before_the_other_commits(statement, *args, **kwargs):
        if not hidden and "denied_subject" in str(statement):
            hidden.append(statement)
            return iter(())  # the row was not there yet when this transaction read
        return real(statement, *args, **kwargs)

    monkeypatch.setattr(db, "scalars", read_before_the_other_commits)
    now = utcnow()
    denylist.deny(db, ["kc-user-1"], "roles taken away", now=now)
    db.flush()
    assert hidden  # the race was taken: the read saw nothing, the write met the other's row
    monkeypatch.undo()
    row = db.get(DeniedSubject, "kc-user-1", populate_existing=True)
    assert row.reason == "roles taken away" and row.denied_at.replace(tzinfo=None) == now.replace(tzinfo=None)
