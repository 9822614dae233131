"""Two writers of the people index at once (issue 38): every process's admin-events reader applies the same
events, and a request writes the people it invites, so two transactions often write the same person. They
must wait for each other, not deadlock: a deadlock throws away one reader's whole poll (and PostgreSQL
makes it wait a second first). PostgreSQL only: SQLite lets one writer in at a time."""

from __future__ import annotations

import dataclasses
import threading
import time
import uuid

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session


def _person(last: str):
    from tenancy.identity.keycloak import Account

    return Account(id=str(uuid.uuid4()), username=f"writer-{uuid.uuid4().hex[:8]}", email=f"{last}@example.jp",
                   first_name="花子", last_name=last, enabled=True, roles=frozenset(), tenant_codes=frozenset({"431001"}))


class _Nobody:
    def all_people(self):
        return []


def _waiting_for_a_lock(engine, pid: int) -> bool:
    with engine.connect() as connection:
        return connection.scalar(sa.text("SELECT wait_event_type = 'Lock' FROM pg_stat_activity WHERE pid = :pid"),
                                 {"pid": pid}) is True


def test_two_writers_of_the_same_people_wait_for_each_other_and_both_land(app, db):
    from tenancy.identity import people_index
    from tenancy.identity.models import IndexedPerson

    engine = db.get_bind()
    if engine.dialect.name != "postgresql":
        pytest.skip("the PostgreSQL run checks this (SQLite lets one writer in at a time)")
    people_index.rebuild(db, _Nobody())
    db.commit()
    first, shared = _person("先行"), _person("共有")
    later = dataclasses.replace(shared, last_name="後着")

    first_writer = Session(bind=engine)
    people_index.record_person(first_writer, first)  # the first reader's poll: one person written, not committed
    other: dict = {}

    def second_reader() -> None:  # another process's reader, the same moment: the shared person
        with Session(bind=engine) as own:
            other["pid"] = own.scalar(sa.text("SELECT pg_backend_pid()"))
            try:
                people_index.record_person(own, later)
                own.commit()
            except Exception as error:  # noqa: BLE001  (reported below, as the test's failure)
                other["error"] = error

    thread = threading.Thread(target=second_reader)
    thread.start()
    deadline = time.monotonic() + 60
    while "error" not in other and not ("pid" in other and _waiting_for_a_lock(engine, other["pid"])):
        assert time.monotonic() < deadline, "the second writer never waited for the first"
        time.sleep(0.05)  # polling a condition (the second writer blocked), with a deadline
    try:
        people_index.record_person(first_writer, shared)  # the first reader's poll goes on to the shared person
        first_writer.commit()
    finally:
        first_writer.close()
        thread.join(60)
    assert "error" not in other, other.get("error")
    db.expire_all()
    assert db.get(IndexedPerson, first.id).last_name == "先行"
    assert db.get(IndexedPerson, shared.id).last_name == "後着"  # written last, after the first committed

