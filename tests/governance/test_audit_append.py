"""The audit append reads the chain head only when it must (issue #12: fewer database round trips
per act), and whatever happened since this process's last append (another process or thread
appended, a transaction rolled back, the head row is new) the record still lands on the chain."""

from __future__ import annotations

import threading

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from core import audit as core_audit, chain as core_chain
from core.audit import AuditChainHead, AuditRecord
from governance.audit import verify_database


def append(session, operator, n):
    core_audit.record(session, operator, "tenant.update", "tenant", "431001", tenant_code="431001",
                      before={"population": n}, after={"population": n + 1})


def chain(db):
    return [(r.seq, r.after) for r in db.scalars(sa.select(AuditRecord).order_by(AuditRecord.seq))]


def statements_of(db, work):
    seen: list[str] = []

    def count(conn, cursor, statement, params, context, executemany):
        seen.append(statement)

    engine = db.get_bind()
    sa.event.listen(engine, "before_cursor_execute", count)
    try:
        work()
    finally:
        sa.event.remove(engine, "before_cursor_execute", count)
    return seen


def test_a_second_act_does_not_read_the_chain_head_first(db, operator):
    append(db, operator, 1)
    db.commit()

    def act() -> None:
        append(db, operator, 2)
        db.commit()  # the record is appended by the commit (the head is taken last)

    seen = [s for s in statements_of(db, act) if not s.lstrip().upper().startswith(("BEGIN", "COMMIT"))]
    assert not [s for s in seen if s.lstrip().upper().startswith("SELECT")], seen
    # PostgreSQL: the head's move and the record in one statement; SQLite: one each
    assert len(seen) == (1 if db.get_bind().dialect.name == "postgresql" else 2), seen
    assert verify_database(db) is None
    assert [seq for seq, _ in chain(db)] == [1, 2]


def test_an_act_after_another_process_appended_still_extends_the_chain(app, db, operator):
    append(db, operator, 1)
    db.commit()
    believed = dict(core_chain._known_heads)  # what this process knows: the head after record 1
    with Session(bind=db.get_bind()) as elsewhere:  # another process appends records 2 and 3
        append(elsewhere, operator, 2)
        append(elsewhere, operator, 3)
        elsewhere.commit()
    core_chain._known_heads.clear()
    core_chain._known_heads.update(believed)  # ... which this process never saw
    append(db, operator, 4)
    db.commit()
    assert verify_database(db) is None
    assert [seq for seq, _ in chain(db)] == [1, 2, 3, 4]
    head = db.get(AuditChainHead, 1)
    assert head.last_seq == 4


def test_an_act_after_a_rolled_back_one_takes_its_place(db, operator):
    append(db, operator, 1)
    db.commit()
    append(db, operator, 2)
    db.rollback()  # the act failed: its record goes, and the head stays after record 1
    append(db, operator, 3)
    db.commit()
    assert verify_database(db) is None
    assert chain(db) == [(1, '{"population":2}'), (2, '{"population":4}')]


def test_a_head_loaded_in_the_session_shows_the_new_record(db, operator):
    append(db, operator, 1)
    head = core_audit.lock_head(db)  # a caller holding the head, then appending
    append(db, operator, 2)
    assert (head.last_seq, head.last_hash) == (2, db.scalars(sa.select(AuditRecord.hash).where(AuditRecord.seq == 2)).one())
    db.commit()
    assert verify_database(db) is None


def test_writers_in_several_threads_keep_one_chain(db, operator):
    if db.get_bind().dialect.name != "postgresql":
        pytest.skip("SQLite has one writer at a time")
    engine = db.get_bind()
    errors: list[BaseException] = []

    def writer(offset: int) -> None:
        try:
            for n in range(15):
                with Session(bind=engine) as session:
                    append(session, operator, offset + n)
                    session.commit()
        except BaseException as error:  # noqa: BLE001  (reported by the assertion below)
            errors.append(error)

    threads = [threading.Thread(target=writer, args=(1000 * i,)) for i in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert verify_database(db) is None
    assert [seq for seq, _ in chain(db)] == list(range(1, 46))


# --- no global wait behind a long act (issue 51, item 7) -------------------------------------------

def _long_act_and_a_short_one(app, db, operator, long_act):
    """``long_act`` (an audited import or export) keeps its transaction open until another act's
    audited write has committed (an event, never a sleep): whether that act committed meanwhile."""
    from sqlalchemy.orm import Session as OrmSession

    from tests.race import PATIENCE_SECONDS, race
    from tenancy.registry.operations import create_tenant
    from tenancy.registry.schemas import TenantCreate

    holding, committed = threading.Event(), threading.Event()

    def long(session):
        long_act(session)  # its audit record is kept: the chain's head is not taken yet
        holding.set()
        return committed.wait(PATIENCE_SECONDS)  # the act goes on (a large file written) until the other commits

    def short(session):
        assert holding.wait(PATIENCE_SECONDS)
        real = session() if isinstance(session, sa.orm.scoped_session) else session
        assert isinstance(real, OrmSession)
        sa.event.listen(real, "after_commit", lambda _session: committed.set(), once=True)
        create_tenant(session, operator, TenantCreate.model_validate(
            {"code": "432024", "name_ja": "八代市", "name_en": "Yatsushiro", "kind": "city", "population": 123000,
             "population_source": "test", "status": "active"}))

    outcomes = race(app, [long, short])
    assert [outcome.error for outcome in outcomes] == [None, None]
    return outcomes[0].result


def test_a_long_export_holds_no_other_audited_act(app, db, operator):
    from tenancy.members.operations import export_rows

    other_committed_first = _long_act_and_a_short_one(app, db, operator, lambda session: export_rows(session, operator))
    assert other_committed_first, "the other act waited for the export to end"
    assert verify_database(db) is None
    assert [r.action for r in db.scalars(sa.select(AuditRecord).order_by(AuditRecord.seq))] == \
        ["tenant.create", "member.export"]  # one chain, in commit order


def test_a_long_import_holds_no_other_audited_act(app, db, operator):
    import io

    from tenancy.registry.importing import import_csv

    if db.get_bind().dialect.name != "postgresql":
        pytest.skip("SQLite has one writer at a time: an import's own rows hold every other writer until it ends")
    registry = "団体コード,団体名,種別,人口\n431001,熊本市,市,738865\n".encode("cp932")
    other_committed_first = _long_act_and_a_short_one(
        app, db, operator, lambda session: import_csv(session, operator, io.BytesIO(registry)))
    assert other_committed_first, "the other act waited for the import to end"
    assert verify_database(db) is None
    assert [r.action for r in db.scalars(sa.select(AuditRecord).order_by(AuditRecord.seq))] == \
        ["tenant.create", "tenant.import"]


def test_a_record_made_in_a_savepoint_rolled_back_goes_with_it(db, operator):
    """A record kept for the commit belongs to where it was made: a savepoint rolled back takes its
    record with it, one released keeps it, as when the record was written at once."""
    append(db, operator, 1)
    try:
        with db.begin_nested():
            append(db, operator, 2)
            raise ValueError("the step failed")
    except ValueError:
        pass
    with db.begin_nested():
        append(db, operator, 3)
    db.commit()
    assert verify_database(db) is None
    assert chain(db) == [(1, '{"population":2}'), (2, '{"population":4}')]


def test_the_transaction_reads_its_own_records_before_the_commit(db, operator):
    append(db, operator, 1)
    assert [seq for seq, _ in chain(db)] == [1]  # a read of the log appends first
    db.rollback()
    assert chain(db) == []
