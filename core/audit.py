"""The audit log's append (操作ログ): :func:`record` and :func:`act`, which every operation calls.

Invariants:

* Records are only ever appended. Nothing in renkei updates or deletes one except the purge in
  :mod:`core.chain_archive`, which archives them to a file first; the database refuses any other
  UPDATE or DELETE (triggers, :data:`AUDIT_GUARD_DDL`).
* Each record stores ``prev_hash`` and ``hash = sha256(prev_hash + canonical payload)``, so a
  modified, deleted, inserted or reordered record breaks the chain at a point that
  verification (:mod:`governance.audit`) names.
* Appends are serialised on the single ``audit_chain_head`` row by the chain's one append
  (:func:`core.chain.append`), so two concurrent writers cannot both extend the same hash: the
  head's UPDATE only succeeds if the row still holds the seq and hash the new record was chained
  to (the process's last known head first, saving a read; else the row locked and read), so
  nothing is ever appended off the chain.
* The head is taken only for the moment of the append, **at the end of the act's transaction**:
  :func:`record` keeps the record in the session, and the session's commit appends every record
  kept (chain fields filled in then, the head's lock taken last: :func:`append_pending`), so a long
  import or export never holds other acts behind the head. A read of the audit tables in the same
  transaction appends them first (the transaction sees its own records, as before); so does
  :func:`lock_head`, after which the transaction holds the head and appends at once.
* The record is written in the caller's transaction: if the operation rolls back (or the savepoint
  it was recorded in), so does its audit record, and a refused act leaves no record claiming a change.

The audit log is one of renkei's hash chains (:data:`AUDIT_CHAIN`): its verification from the
anchor (:func:`core.chain.verify_table`), archives and purge (:mod:`core.chain_archive`) are every
chain's rule; the governance package answers with them (:mod:`governance.audit`,
:mod:`governance.audit_export`).
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import json
from collections.abc import Callable, Iterator
from typing import Any

import sqlalchemy as sa
from sqlalchemy import DDL, event
from sqlalchemy.orm import Session
from sqlmodel import Field, SQLModel

from core import chain
from core.actor import Actor
from core.chain import GENESIS_HASH, entry_hash, parse_timestamp_text, timestamp_text  # noqa: F401 (re-exported)
from core.db import pg_guard_installer, row_guards_pg, timestamp_column as _timestamp_column, utcnow


# --- tables ---------------------------------------------------------------------------------------

class AuditRecord(SQLModel, table=True):
    """One administrative act. Append-only; each record carries the hash of the previous one."""

    __tablename__ = "audit_record"
    __table_args__ = (
        # a person's or a thing's records by id (the log names people of records written before names
        # were stored from their other records: admin.views.labels, governance.audit.known_people)
        sa.Index("ix_audit_record_target", "target_type", "target_id"),
        sa.Index("ix_audit_record_actor_subject", "actor_subject"),
        # the log's oldest and latest record and its recent ones (?recent=30, the auditor's home page),
        # read from the index instead of every record
        sa.Index("ix_audit_record_occurred_at", "occurred_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    seq: int = Field(sa_column=sa.Column(sa.BigInteger, nullable=False, unique=True))
    occurred_at: dt.datetime = Field(
        default_factory=utcnow, sa_column=_timestamp_column(nullable=False)
    )
    actor_issuer: str = Field(max_length=255)
    actor_subject: str = Field(max_length=255)
    actor_name: str = Field(default="", max_length=255)
    actor_role: str = Field(default="", max_length=64)
    tenant_code: str | None = Field(default=None, max_length=13, index=True)  # or a member's corporate number
    action: str = Field(max_length=80, index=True)
    target_type: str = Field(max_length=80)
    target_id: str = Field(max_length=255)
    before: str | None = Field(default=None, sa_column=sa.Column(sa.Text, nullable=True))
    after: str | None = Field(default=None, sa_column=sa.Column(sa.Text, nullable=True))
    request_id: str | None = Field(default=None, max_length=64)
    source_ip: str | None = Field(default=None, max_length=64)
    prev_hash: str = Field(max_length=64)
    hash: str = Field(max_length=64)


class AuditChainHead(chain.HeadColumns, table=True):
    """A single row holding the last sequence number and hash; locked to serialise appends."""

    __tablename__ = "audit_chain_head"

    id: int = Field(default=1, primary_key=True)


class AuditAnchor(chain.AnchorColumns, table=True):
    """A single row: the records up to ``purged_through_seq`` were archived and purged (the anchor of
    every chain, :class:`core.chain.AnchorColumns`). The row only moves forward (a trigger refuses
    lowering it or deleting it), and the purge's own audit record repeats these values, so a forged
    anchor does not match the chain (:func:`anchor_confirmed`).
    """

    __tablename__ = "audit_anchor"

    id: int = Field(default=1, primary_key=True)


# The database's own refusal to change or remove audit records. The purge (core.chain_archive.purge)
# first moves the anchor forward, then deletes only records at or below it; on PostgreSQL it must
# also set the transaction-local flag renkei.audit_purge. The chain head and the anchor only move
# forward and cannot be deleted. A database owner can still drop these
# triggers: the hash chain is what makes such tampering visible (docs/audit-log.md).
AUDIT_GUARD_DDL: dict[str, dict[str, list[str]]] = {
    "sqlite": {
        "audit_record": [
            "CREATE TRIGGER audit_record_no_update BEFORE UPDATE ON audit_record BEGIN "
            "SELECT RAISE(ABORT, 'audit_record is append-only: UPDATE refused'); END",
            "CREATE TRIGGER audit_record_no_delete BEFORE DELETE ON audit_record "
            "WHEN OLD.seq > COALESCE((SELECT purged_through_seq FROM audit_anchor WHERE id = 1), 0) BEGIN "
            "SELECT RAISE(ABORT, 'audit_record is append-only: DELETE refused (only renkei audit purge removes archived records)'); END",
        ],
        "audit_chain_head": [
            "CREATE TRIGGER audit_chain_head_forward_only BEFORE UPDATE ON audit_chain_head "
            "WHEN NEW.last_seq <= OLD.last_seq BEGIN "
            "SELECT RAISE(ABORT, 'audit_chain_head only moves forward'); END",
            "CREATE TRIGGER audit_chain_head_no_delete BEFORE DELETE ON audit_chain_head BEGIN "
            "SELECT RAISE(ABORT, 'audit_chain_head cannot be deleted'); END",
        ],
        "audit_anchor": chain.anchor_guards_sqlite("audit_anchor"),  # the rule of every chain's anchor
    },
}

# Names of the guard triggers per dialect and table (tests drop them to play the attacker).
AUDIT_GUARD_TRIGGERS = {
    "postgresql": {"audit_record": ["audit_record_append_only"], "audit_chain_head": ["audit_chain_head_forward_only"],
                   "audit_anchor": ["audit_anchor_forward_only"]},
    "sqlite": {"audit_record": ["audit_record_no_update", "audit_record_no_delete"],
               "audit_chain_head": ["audit_chain_head_forward_only", "audit_chain_head_no_delete"],
               "audit_anchor": ["audit_anchor_forward_only", "audit_anchor_no_delete"]},
}

# The PostgreSQL guards (installed by create_all and since migration 0006; the form migration 0001
# installed is history, kept with the migrations in admin/migrations/legacy_guards.py): tables named with their schema (``{s}``, quoted)
# and search_path fixed to pg_catalog, pg_temp, so a TEMP table named audit_anchor cannot vouch
# for a deletion.
_PG_AUDIT_FUNCTIONS = {
    "audit_record": ("renkei_audit_record_guard", """
BEGIN
    IF TG_OP = 'DELETE'
       AND current_setting('renkei.audit_purge', true) = 'on'
       AND OLD.seq <= COALESCE((SELECT purged_through_seq FROM {s}.audit_anchor WHERE id = 1), 0) THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION USING
        MESSAGE = 'audit_record is append-only: ' || TG_OP || ' of record #' || OLD.seq || ' refused',
        HINT = 'Records leave the log only through renkei audit purge, which archives them first.',
        ERRCODE = 'insufficient_privilege';
END""", "audit_record_append_only"),
    "audit_chain_head": ("renkei_audit_head_guard", """
BEGIN
    IF TG_OP = 'UPDATE' AND NEW.last_seq > OLD.last_seq THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION USING
        MESSAGE = 'audit_chain_head only moves forward: ' || TG_OP || ' refused',
        ERRCODE = 'insufficient_privilege';
END""", "audit_chain_head_forward_only"),
    "audit_anchor": chain.anchor_guard_pg("audit_anchor"),
}


def audit_guards_pg(schema: str, table: str | None = None) -> list[str]:
    """The PostgreSQL guards of the audit tables (or of ``table`` only) in ``schema`` (quoted).
    Used by ``create_all`` and by migration 0006."""
    return row_guards_pg(schema, _PG_AUDIT_FUNCTIONS, table)


for _table, _statements in AUDIT_GUARD_DDL["sqlite"].items():
    _target = {"audit_record": AuditRecord, "audit_chain_head": AuditChainHead, "audit_anchor": AuditAnchor}[_table].__table__
    for _statement in _statements:
        event.listen(_target, "after_create", DDL(_statement).execute_if(dialect="sqlite"))
    event.listen(_target, "after_create", pg_guard_installer(lambda schema, _name=_table: audit_guards_pg(schema, _name)))


# --- append -------------------------------------------------------------------------------------

def _canonical(value: Any) -> str | None:
    if value is None:
        return None
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=str)


HASHED_FIELDS = (
    "seq", "actor_issuer", "actor_subject", "actor_name", "actor_role", "tenant_code", "action",
    "target_type", "target_id", "before", "after", "request_id", "source_ip",
)


def compute_hash(entry: AuditRecord | sa.Row, prev_hash: str) -> str:
    """The record's hash after ``prev_hash``: the chain rule of :mod:`core.chain` over :data:`HASHED_FIELDS`."""
    return entry_hash(entry, HASHED_FIELDS, prev_hash)


AUDIT_HEAD = chain.HeadRow(AuditChainHead.__table__, "id", 1)  # the audit log's head: its single row
AUDIT_ANCHOR = chain.AnchorRow(AuditAnchor, "id", 1)  # and its anchor


def anchor_confirmed(session: Session, anchor_seq: int, anchor_hash: str) -> chain.ChainBreak | None:
    """The audit log's own evidence for its anchor: the purge that moved it appended an ``audit.purge``
    record naming it (after it, in the chain); a break when no such record exists."""
    for entry in session.scalars(
        sa.select(AuditRecord).where(AuditRecord.action == "audit.purge", AuditRecord.seq > anchor_seq)
        .order_by(AuditRecord.seq)
    ):
        after = json.loads(entry.after or "{}")
        if after.get("through_seq") == anchor_seq and after.get("through_hash") == anchor_hash:
            return None
    return chain.ChainBreak(anchor_seq, None, "the purge anchor is not confirmed by any audit.purge record: "
                                              "records were removed outside renkei audit purge")


# The audit log as a hash chain (core.chain): verified by core.chain.verify_table, archived and
# purged by core.chain_archive (governance.audit_export).
AUDIT_CHAIN = chain.Chain(AuditRecord.__table__, HASHED_FIELDS, AUDIT_HEAD, AUDIT_ANCHOR,
                          archive_command="renkei audit verify-archive", confirm_anchor=anchor_confirmed,
                          purge_setting="renkei.audit_purge")


def lock_head(session: Session) -> AuditChainHead:
    """The audit log's head row, locked until the transaction ends (made first if the log is new):
    no append while the caller works (the chain head made before a benchmark's clock starts)."""
    append_pending(session)
    chain.locked_head(session, AUDIT_HEAD)
    _real(session).info[_HOLDS_HEAD_KEY] = _real(session).get_transaction()
    return session.scalars(sa.select(AuditChainHead).where(AuditChainHead.id == 1)
                           .execution_options(populate_existing=True)).one()


def record(
    session: Session,
    actor: Actor,
    action: str,
    target_type: str,
    target_id: str,
    *,
    tenant_code: str | None = None,
    before: Any = None,
    after: Any = None,
) -> AuditRecord | None:
    """Append one audit record for an administrative act, in the caller's transaction.

    ``action`` is a dotted verb (``tenant.create``); ``before``/``after`` are JSON-able
    summaries of what changed (None where nothing existed before or after).

    Inside :func:`act`, the record becomes a step of that act instead (and None is returned):
    one administrative act, one record.
    """
    acts = session.info.get(_ACTS_KEY)
    if acts:
        acts[-1].steps.append({"action": action, "target_type": target_type, "target_id": str(target_id),
                               "tenant_code": tenant_code, "before": before, "after": after})
        return None
    return _append(session, actor, action, target_type, target_id, tenant_code=tenant_code, before=before, after=after)


_ACTS_KEY = "renkei_audit_acts"


@dataclasses.dataclass
class _Act:
    action: str
    steps: list[dict[str, Any]] = dataclasses.field(default_factory=list)


@contextlib.contextmanager
def act(session: Session, actor: Actor, action: str, target_type: str, target_id: str, *,
        tenant_code: str | None = None, persist: Callable[[], None] | None = None) -> Iterator[None]:
    """One administrative act made of several steps (provisioning saga, wave, council close) → one record.

    The operations called inside keep calling :func:`record`; their records become the act's
    ``steps``. A step whose action equals the act's gives the record its before/after. If
    nothing was recorded inside (the act was refused before it changed anything), no record is
    written. If the act fails after some steps, the record says so (``outcome: failed``).
    ``persist`` (a commit, for sagas that commit step by step) is called once the record is
    written, so that it is kept with the steps it describes, whatever the outcome.
    """
    stack = session.info.setdefault(_ACTS_KEY, [])
    current = _Act(action)
    stack.append(current)
    failure: BaseException | None = None
    try:
        yield
    except BaseException as error:
        failure = error
        raise
    finally:
        stack.pop()
        if current.steps:
            primary = next((step for step in current.steps if step["action"] == action), None)
            others = [step for step in current.steps if step is not primary]
            after = dict(primary["after"]) if primary and isinstance(primary["after"], dict) else \
                ({"result": primary["after"]} if primary and primary["after"] is not None else {})
            if others:
                after["steps"] = others
            if failure is not None:
                after["outcome"] = "failed"
                after["error"] = getattr(failure, "message_en", None) or type(failure).__name__
            tenants = {step["tenant_code"] for step in current.steps}
            scope = tenant_code or (primary["tenant_code"] if primary else None) or \
                (next(iter(tenants)) if len(tenants) == 1 else None)
            record(session, actor, action, target_type, target_id, tenant_code=scope,
                   before=primary["before"] if primary else None, after=after)
            if persist is not None:
                persist()


@contextlib.contextmanager
def part_of_act(worker: Session, session: Session) -> Iterator[None]:
    """Inside, what is recorded through ``worker`` becomes steps of the act open in ``session``
    (a wave's municipalities provisioned at once, each thread with its own session): still one
    act, one record, written by ``session`` when its act ends. Without an open act, nothing changes."""
    outer = session.info.get(_ACTS_KEY)
    if not outer:
        yield
        return
    shared = _Act(outer[-1].action, outer[-1].steps)  # the same list: appends from threads are atomic
    stack = worker.info.setdefault(_ACTS_KEY, [])
    stack.append(shared)
    try:
        yield
    finally:
        stack.remove(shared)


def acts_within(entry: AuditRecord) -> list[tuple[str, str | None]]:
    """(action, tenant code) of the record and, in order, of every step folded into it by :func:`act`."""
    found = [(entry.action, entry.tenant_code)]

    def walk(steps: list[dict[str, Any]]) -> None:
        for step in steps:
            found.append((step["action"], step.get("tenant_code")))
            if isinstance(step.get("after"), dict):
                walk(step["after"].get("steps", []))

    after = json.loads(entry.after) if entry.after else None
    if isinstance(after, dict):
        walk(after.get("steps", []))
    return found


def _append(
    session: Session,
    actor: Actor,
    action: str,
    target_type: str,
    target_id: str,
    *,
    tenant_code: str | None,
    before: Any,
    after: Any,
) -> AuditRecord:
    """The record, kept in the session until its transaction commits (:func:`append_pending`), or
    appended at once when this transaction holds the head already. The returned record's ``seq``,
    ``prev_hash`` and ``hash`` are filled in when it is appended."""
    session.flush()  # the act's own changes now, as before (a constraint they break is raised here)
    values = dict(
        occurred_at=utcnow(),
        actor_issuer=actor.issuer,
        actor_subject=actor.subject,
        actor_name=actor.name,
        actor_role=actor.primary_role,
        tenant_code=tenant_code,
        action=action,
        target_type=target_type,
        target_id=str(target_id),
        before=_canonical(before),
        after=_canonical(after),
        request_id=actor.request_id,
        source_ip=actor.source_ip,
    )
    session = _real(session)
    if session.get_transaction() is None:
        session.begin()  # the transaction the record belongs to (its rollback forgets it); no connection yet
    entry = AuditRecord(seq=0, prev_hash="", hash="", **values)
    pending = _Pending(values, entry, session.get_nested_transaction())
    holder = session.info.get(_HOLDS_HEAD_KEY)
    if holder is not None and holder is session.get_transaction():
        _write(session, [pending])
    else:
        session.info.setdefault(_PENDING_KEY, []).append(pending)
    return entry


_PENDING_KEY = "renkei_audit_pending"  # the records kept until the commit, in order
_ROLLED_BACK_KEY = "renkei_audit_rolled_back"  # savepoints rolled back in this transaction
_HOLDS_HEAD_KEY = "renkei_audit_holds_head"  # the transaction that holds the head (appends at once)
AUDIT_TABLES = frozenset({"audit_record", "audit_chain_head"})


@dataclasses.dataclass
class _Pending:
    values: dict[str, Any]
    entry: AuditRecord
    savepoint: Any  # the innermost savepoint open when it was recorded (None: the transaction itself)


def _real(session: Any) -> Session:
    """The session itself behind a scoped session (Flask-SQLAlchemy's ``db.session``)."""
    return session.registry() if isinstance(session, sa.orm.scoped_session) else session


def _rolled_back(session: Session, savepoint: Any) -> bool:
    undone = session.info.get(_ROLLED_BACK_KEY) or []
    while savepoint is not None:
        if any(savepoint is gone for gone in undone):
            return True
        savepoint = savepoint.parent
    return False


def append_pending(session: Session) -> int:
    """Append the records kept in ``session`` (in the order they were recorded, leaving out those
    of savepoints rolled back), after the session's own changes: the chain's head is taken here,
    last, and held until the transaction ends. Called by the commit (and before a read of the
    audit tables); how many were appended."""
    session = _real(session)
    pending = session.info.pop(_PENDING_KEY, None)
    if not pending:
        return 0
    live = [item for item in pending if not _rolled_back(session, item.savepoint)]
    if live:
        _write(session, live)
    return len(live)


def _write(session: Session, items: list[_Pending]) -> None:
    session.flush()  # the act's own changes first: the head's lock is the transaction's last
    for item in items:
        # the chain's one append: after this process's last known head when it still holds (one
        # statement on PostgreSQL, two on SQLite), else after the head read under lock
        stored = chain.append(session, AuditRecord.__table__, HASHED_FIELDS, item.values, head=AUDIT_HEAD)
        for name in ("id", "seq", "prev_hash", "hash"):
            setattr(item.entry, name, stored[name])
    session.info[_HOLDS_HEAD_KEY] = session.get_transaction()
    head = session.identity_map.get(session.identity_key(AuditChainHead, (1,)))
    if head is not None:  # a head loaded in this session (lock_head) shows the new values
        sa.orm.attributes.set_committed_value(head, "last_seq", items[-1].entry.seq)
        sa.orm.attributes.set_committed_value(head, "last_hash", items[-1].entry.hash)


def _reads_the_log(statement: Any) -> bool:
    from sqlalchemy.sql.util import find_tables

    if isinstance(statement, sa.TextClause):
        return "audit_" in statement.text
    try:
        return any(table.name in AUDIT_TABLES for table in find_tables(statement, include_crud=True)
                   if isinstance(table, sa.Table))
    except Exception:  # noqa: BLE001 (a statement not walked: appended first, as before this change)
        return True


@event.listens_for(Session, "before_commit")
def _append_at_commit(session: Session) -> None:
    if not session.in_nested_transaction():  # a savepoint's release keeps them for the commit
        append_pending(session)


@event.listens_for(Session, "do_orm_execute")
def _append_before_reading_the_log(state: Any) -> None:
    if state.session.info.get(_PENDING_KEY) and _reads_the_log(state.statement):
        append_pending(state.session)


@event.listens_for(Session, "after_soft_rollback")
def _forget_rolled_back(session: Session, transaction: Any) -> None:
    if transaction.nested:
        session.info.setdefault(_ROLLED_BACK_KEY, []).append(transaction)


@event.listens_for(Session, "after_transaction_end")
def _forget_at_the_end(session: Session, transaction: Any) -> None:
    if transaction.parent is None:  # committed (appended) or rolled back (gone with it)
        for key in (_PENDING_KEY, _ROLLED_BACK_KEY, _HOLDS_HEAD_KEY):
            session.info.pop(key, None)


def changes(before: dict[str, Any], after: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Only the keys whose values differ, as (before, after) summaries."""
    keys = [k for k in after if before.get(k) != after.get(k)]
    return {k: before.get(k) for k in keys}, {k: after.get(k) for k in keys}
