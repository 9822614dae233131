"""Hash chains: the one rule shared by renkei's append-only logs.

The audit log (:mod:`core.audit`), the consent records and the linkage records
(:mod:`governance.consent`) are each a chain: every entry stores ``seq`` (1, 2, 3… without gaps),
``prev_hash`` and ``hash = sha256(prev_hash + canonical JSON of its hashed fields)``, where the
canonical JSON has sorted keys, no spaces, UTF-8, and ``occurred_at`` written by
:func:`timestamp_text`. So a modified, deleted, inserted or reordered entry breaks the chain at a
point that :func:`verify_chain` names.

Every chain appends through :func:`append`: the entry is written after a head it believes current
by an UPDATE of the head row that succeeds only if the row still holds that head (taking the row's
lock on PostgreSQL, the write lock on SQLite, until the transaction ends), and after the head read
under lock when it does not; so two writers can never extend the same hash. The audit log keeps
its own head and anchor tables (:mod:`core.audit`); newer chains share :class:`ChainHead` and
:class:`ChainAnchor`, one row per chain.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import hashlib
import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session
from sqlmodel import Field, SQLModel

from core.db import timestamp_column, utcnow

GENESIS_HASH = "0" * 64


def timestamp_text(moment: dt.datetime) -> str:
    if moment.tzinfo is None:  # a naive value is UTC by renkei's convention (core.db.UTCDateTime)
        moment = moment.replace(tzinfo=dt.timezone.utc)
    return moment.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_timestamp_text(text: str) -> dt.datetime:
    return dt.datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=dt.timezone.utc)


def link_hash(prev_hash: str, payload: dict[str, Any]) -> str:
    """``sha256(prev_hash + canonical JSON of payload)`` (hex)."""
    text = prev_hash + json.dumps(payload, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def entry_hash(entry: Any, fields: Sequence[str], prev_hash: str) -> str:
    """The hash of an entry (a model instance, a plain row or a mapping) chained after ``prev_hash``:
    its ``fields`` and its ``occurred_at``."""
    if isinstance(entry, sa.Row):
        values: Any = entry._mapping
    elif isinstance(entry, dict):
        values = entry
    else:
        values = None
    payload = {name: values[name] for name in fields} if values is not None else \
        {name: getattr(entry, name) for name in fields}
    for name, value in payload.items():
        if isinstance(value, dt.datetime):  # a moment is hashed as timestamp_text writes it
            payload[name] = timestamp_text(value)
    occurred = values["occurred_at"] if values is not None else entry.occurred_at
    payload["occurred_at"] = timestamp_text(occurred)
    return link_hash(prev_hash, payload)


@dataclasses.dataclass(frozen=True)
class ChainBreak:
    """The first broken link: the entry's sequence number, its row id (None when it is missing) and why."""

    seq: int | None
    record_id: int | None
    reason: str

    def describe(self) -> str:
        row = f" (row id {self.record_id})" if self.record_id is not None else ""
        return f"record #{self.seq}{row}: {self.reason}" if self.seq is not None else self.reason


def verify_chain(entries: Iterable[Any], hash_of: Callable[[Any, str], str], start_hash: str = GENESIS_HASH,
                 start_seq: int = 0) -> ChainBreak | None:
    """Walk the entries in sequence order; return the first broken link, or None if intact."""
    prev_hash, expected_seq = start_hash, start_seq + 1
    for entry in entries:
        if entry.seq > expected_seq:
            missing = f"#{expected_seq}" if entry.seq == expected_seq + 1 else f"#{expected_seq}–#{entry.seq - 1}"
            return ChainBreak(expected_seq, None,
                              f"missing (deleted): the log jumps from #{expected_seq - 1} to #{entry.seq}; record(s) {missing} are gone")
        if entry.seq < expected_seq:
            return ChainBreak(entry.seq, entry.id,
                              f"out of place: expected #{expected_seq} next (inserted, reordered, or left behind by a purge)")
        if entry.prev_hash != prev_hash:
            return ChainBreak(entry.seq, entry.id,
                              "does not follow the previous record's hash (a record before it was deleted, inserted or reordered, or this one was replaced)")
        if hash_of(entry, prev_hash) != entry.hash:
            return ChainBreak(entry.seq, entry.id, "modified after it was written (its content no longer matches its hash)")
        prev_hash, expected_seq = entry.hash, expected_seq + 1
    return None


# --- the heads and anchors of the newer chains ----------------------------------------------------

class ChainHead(SQLModel, table=True):
    """One row per chain (``name``: its table): the last sequence number and hash. Moved by :func:`append`."""

    __tablename__ = "chain_head"

    name: str = Field(primary_key=True, max_length=64)
    last_seq: int = Field(default=0, sa_column=sa.Column(sa.BigInteger, nullable=False))
    last_hash: str = Field(max_length=64)


class ChainAnchor(SQLModel, table=True):
    """One row per chain whose oldest entries were archived and purged: verification of the rest
    starts from ``purged_through_hash``; the archive file (``archive_name``, ``archive_sha256``)
    verifies the purged part."""

    __tablename__ = "chain_anchor"

    name: str = Field(primary_key=True, max_length=64)
    purged_through_seq: int = Field(default=0, sa_column=sa.Column(sa.BigInteger, nullable=False))
    purged_through_hash: str = Field(max_length=64)
    purged_count: int = Field(default=0, sa_column=sa.Column(sa.BigInteger, nullable=False))
    purged_at: dt.datetime = Field(default_factory=utcnow, sa_column=timestamp_column())
    archive_name: str = Field(default="", max_length=255)
    archive_sha256: str = Field(default="", max_length=64)


@dataclasses.dataclass(frozen=True)
class HeadRow:
    """Where a chain's head is kept: the row of ``table`` (columns ``last_seq``, ``last_hash``) whose
    ``key_column`` holds ``key``. The newer chains share :class:`ChainHead` (:func:`head_row`); the
    audit log keeps a single-row table of its own (``core.audit.AUDIT_HEAD``)."""

    table: sa.Table
    key_column: str
    key: Any

    @property
    def condition(self) -> sa.ColumnElement[bool]:
        """This chain's row of the head table (to join it into a caller's read, :func:`append`'s ``after``)."""
        return self.table.c[self.key_column] == self.key


def head_row(table: sa.Table) -> HeadRow:
    """The head of the chain of ``table``: its row of :class:`ChainHead`, named after the table."""
    return HeadRow(ChainHead.__table__, "name", table.name)


@functools.cache
def _write_statements(table: sa.Table, head: HeadRow, dialect: str) -> tuple[sa.Executable, ...]:
    """The append's statements, built once per process (building and keying a new statement on
    every append cost more than executing it): the head's conditional UPDATE (``head_seq``,
    ``head_hash`` -> ``new_seq``, ``new_hash``) and the entry's INSERT (``v_<column>``). On
    PostgreSQL one statement: the INSERT selects from the UPDATE's CTE, so no row is inserted when
    the head has moved on."""
    heads = head.table
    move = (sa.update(heads)
            .where(head.condition, heads.c.last_seq == sa.bindparam("head_seq"),
                   heads.c.last_hash == sa.bindparam("head_hash"))
            .values(last_seq=sa.bindparam("new_seq"), last_hash=sa.bindparam("new_hash")))
    names = [column.name for column in table.columns if column.name != "id"]
    if dialect == "postgresql":
        moved = move.returning(heads.c[head.key_column]).cte("moved")
        return (sa.insert(table)
                .from_select(names, sa.select(*(sa.bindparam(f"v_{name}", type_=table.c[name].type) for name in names))
                             .select_from(moved))
                .returning(table.c.id).add_cte(moved),)
    return move, sa.insert(table).values({name: sa.bindparam(f"v_{name}") for name in names})


def _write_after(connection: sa.Connection, table: sa.Table, fields: Sequence[str], values: dict[str, Any],
                 head: HeadRow, after: tuple[int, str]) -> dict[str, Any] | None:
    """The entry appended right after ``after`` (seq, hash) if the head row still holds exactly that
    (its UPDATE locks the row until the transaction ends); None when it does not."""
    seq, prev_hash = int(after[0]) + 1, after[1]
    entry = {**values, "seq": seq, "prev_hash": prev_hash}
    entry["hash"] = entry_hash(entry, fields, prev_hash)
    moved = {"head_seq": seq - 1, "head_hash": prev_hash, "new_seq": seq, "new_hash": entry["hash"]}
    row = {f"v_{column.name}": entry.get(column.name) for column in table.columns if column.name != "id"}
    statements = _write_statements(table, head, connection.dialect.name)
    if len(statements) == 1:  # PostgreSQL: the head's move and the INSERT in one statement
        entry["id"] = connection.execute(statements[0], {**moved, **row}).scalar_one_or_none()
        return entry if entry["id"] is not None else None
    if connection.execute(statements[0], moved).rowcount != 1:
        return None
    entry["id"] = connection.execute(statements[1], row).inserted_primary_key[0]
    return entry


def locked_head(session: Session, head: HeadRow) -> tuple[int, str]:
    """The head (seq, hash), its row locked until the transaction ends (made first if the chain has
    none yet: a concurrent first writer may win). SQLite has no row locks: its write lock is taken by
    the transaction's first write (an append that missed has taken it)."""
    heads = head.table
    query = sa.select(heads.c.last_seq, heads.c.last_hash).where(head.condition).with_for_update()
    row = session.connection().execute(query).first()
    if row is None:
        try:
            with session.begin_nested():
                session.connection().execute(sa.insert(heads).values(
                    {head.key_column: head.key, "last_seq": 0, "last_hash": GENESIS_HASH}))
        except sa.exc.IntegrityError:
            pass
        row = session.connection().execute(query).one()
    return int(row[0]), row[1]


# The head each chain had after this process's last append to it, per database (the engine's URL)
# and head row. Only a guess, never trusted: the append's UPDATE of the head row is conditional on
# it (same seq and hash), under the row lock that UPDATE takes; when another process or thread
# appended since, or a transaction of ours rolled back, the guess misses and the head is locked and
# read first (:func:`locked_head`). A hit saves that read.
_known_heads: dict[tuple[str, str, Any], tuple[int, str]] = {}


def append(session: Session, table: sa.Table, fields: Sequence[str], values: dict[str, Any], *,
           head: HeadRow | None = None, after: tuple[int, str] | None = None) -> dict[str, Any]:
    """Append one entry to the chain of ``table`` (whose hashed ``fields`` and ``occurred_at`` are in
    ``values``), in the caller's transaction; returns the stored values with ``id``, ``seq``,
    ``prev_hash`` and ``hash``. The one append of every chain: the audit log's, the consent and
    the linkage records'.

    ``head``: where the chain's head is kept (default :func:`head_row`). ``after``: the head (seq,
    hash) the caller read in a statement of its own (the consent check reads it with its inputs),
    else this process's last known head of the chain. The entry is written after it only if the
    head row still holds exactly that: the head's UPDATE is conditional and takes the row's lock
    (the database's write lock on SQLite) until the transaction ends, so two writers can never
    extend the same hash. When it does not (no guess, another writer appended since), the head is
    read under lock (:func:`locked_head`) and the entry written after it; nothing is ever appended
    off the chain."""
    head = head or head_row(table)
    connection = session.connection()
    known = _known_key(connection, head)
    guess = after if after is not None else _known_heads.get(known)
    entry = _write_after(connection, table, fields, values, head, guess) if guess is not None else None
    if entry is None:
        # PostgreSQL: the row lock makes the write certain. SQLite: a write that missed took the
        # write lock, so a second read and write cannot miss; a first write can, if another
        # connection committed between the read and it.
        for _attempt in range(2):
            entry = _write_after(connection, table, fields, values, head, locked_head(session, head))
            if entry is not None:
                break
        else:
            raise RuntimeError(f"the head of {table.name}'s chain moved while locked")
    _known_heads[known] = (entry["seq"], entry["hash"])
    return entry


def append_alone(connection: sa.Connection, table: sa.Table, fields: Sequence[str], values: dict[str, Any],
                 after: tuple[int, str]) -> dict[str, Any] | None:
    """The entry appended after ``after`` (seq, hash) by one statement of its own, for a connection
    in autocommit: where the head's conditional move and the INSERT are one statement (PostgreSQL),
    that statement is the whole transaction, and the entry is committed when it returns (one round
    trip; no BEGIN, no COMMIT). The same write as :func:`append`'s. None when the head no longer
    holds ``after`` (nothing was written): the caller then appends in a transaction (:func:`append`).
    Where the append takes two statements (SQLite) it refuses: they would be two transactions."""
    head = head_row(table)
    if len(_write_statements(table, head, connection.dialect.name)) != 1:
        raise ValueError(f"on {connection.dialect.name} an append is two statements: append in a transaction")
    entry = _write_after(connection, table, fields, values, head, after)
    if entry is not None:
        _known_heads[_known_key(connection, head)] = (entry["seq"], entry["hash"])
    return entry


def _known_key(connection: sa.Connection, head: HeadRow) -> tuple[str, str, Any]:
    return connection.engine.url.render_as_string(hide_password=True), head.table.name, head.key


def iter_entries(session: Session, table: sa.Table, batch: int = 5000, *, after_seq: int = 0,
                 through_seq: int | None = None) -> Iterator[sa.Row]:
    """The entries of ``table`` in sequence order (up to ``through_seq`` when given), as plain rows, in batches."""
    last = after_seq
    while True:
        query = sa.select(table).where(table.c.seq > last)
        if through_seq is not None:
            query = query.where(table.c.seq <= through_seq)
        rows = session.execute(query.order_by(table.c.seq).limit(batch)).all()
        if not rows:
            return
        yield from rows
        last = rows[-1].seq


def checkpoint_break(seq: int, expected: str, anchor_seq: int, anchor_hash: str,
                     hash_at: Callable[[int], str | None]) -> ChainBreak | None:
    """The one rule comparing a chain with a trusted checkpoint (``seq``, ``expected`` hash) of it:
    the entry ``seq`` must still be there with that hash (``hash_at(seq)``: its stored hash, None
    when it is gone), or be the anchor the chain starts from. A chain shortened and its head
    rewound lacks the entry; a chain rehashed after a deletion has another hash there. A checkpoint
    below the anchor cannot be confirmed by the database and does not pass as confirmed (a moved
    anchor is exactly how a rewrite would hide): the purge's archive confirms it."""
    if seq == anchor_seq and seq > 0:
        actual = anchor_hash
    elif seq <= anchor_seq:
        return ChainBreak(seq, None, f"the checkpoint lies in the purged part (up to #{anchor_seq}); "
                                     "check it against the purge's archive")
    else:
        actual = hash_at(seq)
        if actual is None:
            return ChainBreak(seq, None, "the checkpoint names a record that is not in the log "
                                         "(the chain was shortened after the checkpoint was written)")
    if actual != expected.lower():
        return ChainBreak(seq, None, f"its hash is {actual}, not the checkpoint's {expected}: history was rewritten up to here")
    return None


@dataclasses.dataclass(frozen=True)
class ChainStatus:
    name: str
    checked: int
    last_seq: int
    head_hash: str
    broken: ChainBreak | None
    anchor_seq: int = 0  # where the chain in the database starts (a purge's anchor, or the genesis)
    anchor_hash: str = GENESIS_HASH
    exists: bool = True  # False: the chain was never written (no head, no anchor)


def anchor_of(session: Session, name: str) -> tuple[int, str]:
    anchor = session.get(ChainAnchor, name)
    return (anchor.purged_through_seq, anchor.purged_through_hash) if anchor else (0, GENESIS_HASH)


def verify_table(session: Session, table: sa.Table, fields: Sequence[str],
                 checkpoints: Sequence[tuple[int, str]] = ()) -> ChainStatus:
    """Verify a whole chain in the database: from its anchor (or the genesis) through every entry,
    its end against its head row (so a deleted newest entry is found too), and then that every
    trusted ``checkpoints`` (seq, hash) still holds (:func:`checkpoint_break`)."""
    anchor = session.get(ChainAnchor, table.name)
    start_seq, start_hash = (anchor.purged_through_seq, anchor.purged_through_hash) if anchor else (0, GENESIS_HASH)
    counted = [0, start_seq, start_hash]
    # The head first, and the walk up to it: an append commits its entry and the head's move
    # together, so entries appended while the walk runs (a busy broker) are not taken for tampering.
    head_query = sa.select(ChainHead.last_seq, ChainHead.last_hash).where(ChainHead.name == table.name)
    head = session.execute(head_query).first()
    head_seq, head_hash = (int(head[0]), head[1]) if head else (0, GENESIS_HASH)

    def counting() -> Iterator[sa.Row]:
        for entry in iter_entries(session, table, after_seq=start_seq, through_seq=head_seq):
            counted[0] += 1
            counted[1], counted[2] = entry.seq, entry.hash
            yield entry

    broken = verify_chain(counting(), lambda entry, prev: entry_hash(entry, fields, prev), start_hash, start_seq)
    if broken is None and (head_seq, head_hash) != (counted[1], counted[2]):
        if head_seq > counted[1]:
            broken = ChainBreak(counted[1] + 1, None, f"missing (deleted): the chain's head is #{head_seq} but its "
                                                      f"last record is #{counted[1]}")
        else:
            broken = ChainBreak(counted[1], None, f"the chain's head (#{head_seq}) does not name its last record")
    if broken is None:
        beyond = session.scalar(sa.select(sa.func.max(table.c.seq)).where(table.c.seq > head_seq))
        if beyond is not None:  # read before the head again: a committed append moved it past its entry
            now_head = session.execute(head_query).first()
            if now_head is None or int(now_head[0]) < beyond:
                broken = ChainBreak(head_seq + 1, None, f"added without renkei: record #{beyond} lies beyond the "
                                                        f"chain's head (#{now_head[0] if now_head else 0})")
    def hash_at(seq: int) -> str | None:
        return session.scalar(sa.select(table.c.hash).where(table.c.seq == seq))

    for seq, expected in checkpoints:
        if broken is None:
            broken = checkpoint_break(seq, expected, start_seq, start_hash, hash_at)
    return ChainStatus(table.name, counted[0], counted[1], counted[2], broken, start_seq, start_hash,
                       exists=head is not None or anchor is not None)
