"""Hash chains: the one rule shared by renkei's append-only logs.

The hash rule itself is :mod:`core.chainhash` (pure, so that a printed receipt is recomputed
without a database); this module keeps the chains in the database.

The audit log (:mod:`core.audit`), the consent records and the linkage records
(:mod:`residents.consent`) are each a chain: every entry stores ``seq`` (1, 2, 3… without gaps),
``prev_hash`` and ``hash = sha256(prev_hash + canonical JSON of its hashed fields)``, where the
canonical JSON has sorted keys, no spaces, UTF-8, and ``occurred_at`` written by
:func:`timestamp_text`. So a modified, deleted, inserted or reordered entry breaks the chain at a
point that :func:`verify_chain` names.

Every chain appends through :func:`append`: the entry is written after a head it believes current
by an UPDATE of the head row that succeeds only if the row still holds that head (taking the row's
lock on PostgreSQL, the write lock on SQLite, until the transaction ends), and after the head read
under lock when it does not; so two writers can never extend the same hash.

A chain whose oldest entries were archived and purged (:mod:`core.chain_archive`) starts from its
anchor: the last purged entry's seq and hash. Anchors only move forward and are never deleted
(:func:`anchor_guards_sqlite`, :func:`anchor_guard_pg`: the database refuses anything else).
Every chain is verified by :func:`verify_table`, from its anchor through its head.

Where a chain's head and anchor are kept is said by :class:`HeadRow` and :class:`AnchorRow`: the
audit log keeps its own single-row tables (``audit_chain_head``, ``audit_anchor``:
:mod:`core.audit`); the newer chains share :class:`ChainHead` and :class:`ChainAnchor`, one row
per chain. The columns are declared once (:class:`HeadColumns`, :class:`AnchorColumns`).
:class:`Chain` names all of it for one chain.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session
from sqlmodel import Field, SQLModel

from core.chainhash import (CANONICAL_JSON, GENESIS_HASH, link_hash, parse_timestamp_text,  # noqa: F401 (re-exported)
                            payload_hash, timestamp_text)
from core.db import UTCDateTime, pg_guard_installer, row_guards_pg, utcnow


def entry_hash(entry: Any, fields: Sequence[str], prev_hash: str) -> str:
    """The hash of an entry (a model instance, a plain row or a mapping) chained after ``prev_hash``:
    its ``fields`` and its ``occurred_at`` (the one rule: :func:`core.chainhash.payload_hash`)."""
    if isinstance(entry, sa.Row):
        values: Any = entry._mapping
    elif isinstance(entry, dict):
        values = entry
    else:
        values = {name: getattr(entry, name) for name in (*fields, "occurred_at")}
    return payload_hash(values, fields, prev_hash)


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


# --- heads and anchors ---------------------------------------------------------------------------

class HeadColumns(SQLModel):
    """The columns of a chain's head: the last sequence number and hash (:class:`ChainHead`, the audit
    log's ``core.audit.AuditChainHead``). Moved by :func:`append`."""

    last_seq: int = Field(default=0, sa_type=sa.BigInteger, nullable=False)
    last_hash: str = Field(max_length=64)


class ChainHead(HeadColumns, table=True):
    """One row per chain (``name``: its table)."""

    __tablename__ = "chain_head"

    name: str = Field(primary_key=True, max_length=64)


class AnchorColumns(SQLModel):
    """The columns of a chain's anchor (:class:`ChainAnchor`, the audit log's ``core.audit.AuditAnchor``):
    the entries up to ``purged_through_seq`` were archived and purged; verification of the rest
    starts from ``purged_through_hash``; the archive file (``archive_name``, whose SHA-256 is
    ``archive_sha256``) verifies the purged part. Moved only by :func:`core.chain_archive.purge`, and
    only forward (the database's guards)."""

    purged_through_seq: int = Field(default=0, sa_type=sa.BigInteger, nullable=False)
    purged_through_hash: str = Field(max_length=64)
    purged_count: int = Field(default=0, sa_type=sa.BigInteger, nullable=False)
    purged_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime(timezone=True), nullable=False)
    archive_name: str = Field(default="", max_length=255)
    archive_sha256: str = Field(default="", max_length=64)


class ChainAnchor(AnchorColumns, table=True):
    """One row per chain whose oldest entries were purged (``name``: its table)."""

    __tablename__ = "chain_anchor"

    name: str = Field(primary_key=True, max_length=64)


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

    def read(self, reader: Session | sa.Connection) -> tuple[int, str] | None:
        """The head (seq, hash) as stored, without a lock; None when the chain has no head row."""
        row = reader.execute(sa.select(self.table.c.last_seq, self.table.c.last_hash).where(self.condition)).first()
        return (int(row[0]), row[1]) if row is not None else None


def head_row(table: sa.Table) -> HeadRow:
    """The head of the chain of ``table``: its row of :class:`ChainHead`, named after the table."""
    return HeadRow(ChainHead.__table__, "name", table.name)


@dataclasses.dataclass(frozen=True)
class AnchorRow:
    """Where a chain's anchor is kept: the row of ``model`` (columns :class:`AnchorColumns`) whose
    ``key_column`` holds ``key``. The newer chains share :class:`ChainAnchor` (:func:`anchor_row`); the
    audit log keeps a single-row table of its own (``core.audit.AUDIT_ANCHOR``). No row: the chain
    was never purged and starts from the genesis."""

    model: type[SQLModel]
    key_column: str
    key: Any

    @property
    def table(self) -> sa.Table:
        return self.model.__table__

    def row(self, reader: Session | sa.Connection) -> sa.Row | None:
        """The anchor as stored (its :class:`AnchorColumns`), read anew; None when the chain was never purged."""
        return reader.execute(sa.select(self.table).where(self.table.c[self.key_column] == self.key)).first()

    def read(self, reader: Session | sa.Connection) -> tuple[int, str]:
        """(seq, hash) the chain in the database starts from: the last purged entry, or the genesis."""
        row = self.row(reader)
        return (int(row.purged_through_seq), row.purged_through_hash) if row is not None else (0, GENESIS_HASH)

    def get(self, session: Session, *, lock: bool = False) -> Any:
        """The anchor row (None when the chain was never purged); with ``lock``, locked until the
        transaction ends (PostgreSQL: the purge's; appends do not wait on it)."""
        return session.get(self.model, self.key, with_for_update=lock or None, populate_existing=lock)

    def move(self, session: Session, through_seq: int, through_hash: str, count: int, at: dt.datetime,
             archive_name: str, archive_sha256: str) -> Any:
        """Move the anchor forward to ``through_seq`` (made if the chain has none yet), flushed: the
        delete guards of the chain's entries allow only rows at or below it."""
        anchor = self.get(session)
        if anchor is None:
            anchor = self.model(**{self.key_column: self.key}, purged_through_seq=0, purged_through_hash=GENESIS_HASH,
                                purged_count=0)
            session.add(anchor)
        anchor.purged_through_seq, anchor.purged_through_hash = through_seq, through_hash
        anchor.purged_count += count
        anchor.purged_at, anchor.archive_name, anchor.archive_sha256 = at, archive_name, archive_sha256
        session.flush()
        return anchor


def anchor_row(table: sa.Table) -> AnchorRow:
    """The anchor of the chain of ``table``: its row of :class:`ChainAnchor`, named after the table."""
    return AnchorRow(ChainAnchor, "name", table.name)


# An anchor only moves forward and is never deleted, on every chain: the database's guards, one
# statement of the rule for both databases and every anchor table (the audit log's since migration
# 0001, chain_anchor's since 0043). A database owner can drop them; a moved anchor is then what the
# signed checkpoints show (core.checkpoints.anchor_moved).

def anchor_guards_sqlite(table: str) -> list[str]:
    """SQLite's triggers guarding the anchor table ``table``."""
    return [
        f"CREATE TRIGGER {table}_forward_only BEFORE UPDATE ON {table} "
        "WHEN NEW.purged_through_seq < OLD.purged_through_seq BEGIN "
        f"SELECT RAISE(ABORT, '{table} only moves forward'); END",
        f"CREATE TRIGGER {table}_no_delete BEFORE DELETE ON {table} BEGIN "
        f"SELECT RAISE(ABORT, '{table} cannot be deleted'); END",
    ]


def anchor_guard_pg(table: str) -> tuple[str, str, str]:
    """PostgreSQL's guard of the anchor table ``table``, as :func:`core.db.row_guards_pg` takes it:
    (function, body, trigger)."""
    return (f"renkei_{table}_guard", f"""
BEGIN
    IF TG_OP = 'UPDATE' AND NEW.purged_through_seq >= OLD.purged_through_seq THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION USING
        MESSAGE = '{table} only moves forward: ' || TG_OP || ' refused',
        ERRCODE = 'insufficient_privilege';
END""", f"{table}_forward_only")


def anchor_guards_pg(schema: str, table: str) -> list[str]:
    """The statements of :func:`anchor_guard_pg` in ``schema`` (quoted)."""
    return row_guards_pg(schema, {table: anchor_guard_pg(table)})


def _guard_anchor_table(table: sa.Table) -> None:
    for statement in anchor_guards_sqlite(table.name):
        sa.event.listen(table, "after_create", sa.DDL(statement).execute_if(dialect="sqlite"))
    sa.event.listen(table, "after_create", pg_guard_installer(lambda schema: anchor_guards_pg(schema, table.name)))


_guard_anchor_table(ChainAnchor.__table__)


@dataclasses.dataclass(frozen=True)
class Chain:
    """One hash chain, all the rule needs of it: its entries' ``table`` and hashed ``fields``, where
    its ``head`` and its ``anchor`` are kept, the command that verifies its archives
    (``archive_command``, named when a checkpoint lies in the purged part), ``confirm_anchor``:
    the chain's own evidence for its anchor, if it has any (the audit log's purge records itself in
    the log: ``core.audit``), a break when it is missing, and ``purge_setting``: the
    transaction-local setting the delete guard of its entries asks for on PostgreSQL, if any (the
    audit log's ``renkei.audit_purge``; :func:`core.chain_archive.purge` sets it)."""

    table: sa.Table
    fields: tuple[str, ...]
    head: HeadRow
    anchor: AnchorRow
    archive_command: str = ""
    confirm_anchor: Callable[[Session, int, str], ChainBreak | None] | None = None
    purge_setting: str = ""

    @property
    def name(self) -> str:
        return self.table.name

    def hash_of(self, entry: Any, prev_hash: str) -> str:
        return entry_hash(entry, self.fields, prev_hash)


def chain_of(table: sa.Table, fields: Sequence[str], archive_command: str = "") -> Chain:
    """A chain whose head and anchor are rows of :class:`ChainHead` and :class:`ChainAnchor`."""
    return Chain(table, tuple(fields), head_row(table), anchor_row(table), archive_command)


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
                     hash_at: Callable[[int], str | None], archive_command: str = "") -> ChainBreak | None:
    """The one rule comparing a chain with a trusted checkpoint (``seq``, ``expected`` hash) of it:
    the entry ``seq`` must still be there with that hash (``hash_at(seq)``: its stored hash, None
    when it is gone), or be the anchor the chain starts from. A chain shortened and its head
    rewound lacks the entry; a chain rehashed after a deletion has another hash there. A checkpoint
    below the anchor cannot be confirmed by the database and does not pass as confirmed (a moved
    anchor is exactly how a rewrite would hide): the purge's archive confirms it (with
    ``archive_command``, when given)."""
    if seq == anchor_seq and seq > 0:
        actual = anchor_hash
    elif seq <= anchor_seq:
        command = f" with {archive_command}" if archive_command else ""
        return ChainBreak(seq, None, f"the checkpoint lies in the purged part (up to #{anchor_seq}); "
                                     f"check it against the purge's archive{command}")
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
    """What :func:`verify_table` found: the entries walked (``checked``, the ``first_seq`` and the last,
    ``last_seq`` and ``head_hash``: the head when intact), the first broken link, where the chain
    starts (its anchor), where the walk started (``from_seq``: the anchor, or a trusted checkpoint
    after it), the head row as read before the walk, and the anchor's archive (file name, SHA-256)."""

    name: str
    checked: int
    last_seq: int
    head_hash: str
    broken: ChainBreak | None
    anchor_seq: int = 0  # where the chain in the database starts (a purge's anchor, or the genesis)
    anchor_hash: str = GENESIS_HASH
    exists: bool = True  # False: the chain was never written (no head, no anchor)
    first_seq: int | None = None
    from_seq: int = 0
    from_checkpoint: bool = False
    head: tuple[int, str] | None = None
    archive: tuple[str, str] = ("", "")


class _Walk:
    """The entries walked, counted: how many, the first and the last (``start`` before any)."""

    def __init__(self, entries: Iterable[Any], start: tuple[int, str]) -> None:
        self.entries, self.count, self.first = entries, 0, None
        self.last_seq, self.last_hash, self.last_id = start[0], start[1], None

    def __iter__(self) -> Iterator[Any]:
        for entry in self.entries:
            self.count += 1
            self.first = entry.seq if self.first is None else self.first
            self.last_seq, self.last_hash, self.last_id = entry.seq, entry.hash, entry.id
            yield entry


def verify_table(session: Session, chain: Chain, checkpoints: Sequence[tuple[int, str]] = (), *,
                 start: tuple[int, str] | None = None) -> ChainStatus:
    """Verify a chain in the database, the one rule for every chain: its head read first, then every
    entry from its anchor (the genesis when never purged), or from ``start`` (seq, hash: a trusted
    checkpoint after the anchor, whose entry must still carry that hash; the entries up to it are
    not hashed again), through the head; the end against the head (so a deleted newest entry is
    found too) and nothing beyond it; the chain's own evidence for its anchor
    (:attr:`Chain.confirm_anchor`); then every trusted ``checkpoints`` (seq, hash)
    (:func:`checkpoint_break`). An append commits its entry and the head's move together, so
    entries appended while the walk runs (a busy broker, a purge's own record) lie beyond the head
    read first and are not taken for tampering."""
    table = chain.table
    anchor = chain.anchor.row(session)
    anchor_seq, anchor_hash = (int(anchor.purged_through_seq), anchor.purged_through_hash) if anchor else (0, GENESIS_HASH)
    head = chain.head.read(session)

    def hash_at(seq: int) -> str | None:
        return session.scalar(sa.select(table.c.hash).where(table.c.seq == seq))

    from_seq, from_hash, broken = anchor_seq, anchor_hash, None
    incremental = start is not None and start[0] > anchor_seq
    if incremental:
        from_seq, from_hash = start[0], start[1].lower()
        broken = checkpoint_break(from_seq, from_hash, anchor_seq, anchor_hash, hash_at, chain.archive_command)
    walk = _Walk(() if broken else iter_entries(session, table, after_seq=from_seq,
                                                through_seq=head[0] if head else None), (from_seq, from_hash))
    broken = broken or verify_chain(walk, chain.hash_of, from_hash, from_seq)
    broken = broken or _end_break(session, chain, head, walk, bool(walk.count or anchor_seq or incremental))
    if broken is None and anchor_seq and chain.confirm_anchor is not None:
        broken = chain.confirm_anchor(session, anchor_seq, anchor_hash)
    for seq, expected in checkpoints:
        broken = broken or checkpoint_break(seq, expected, anchor_seq, anchor_hash, hash_at, chain.archive_command)
    return ChainStatus(chain.name, walk.count, walk.last_seq, walk.last_hash, broken, anchor_seq, anchor_hash,
                       exists=head is not None or anchor is not None, first_seq=walk.first, from_seq=from_seq,
                       from_checkpoint=incremental, head=head,
                       archive=(anchor.archive_name, anchor.archive_sha256) if anchor else ("", ""))


def _end_break(session: Session, chain: Chain, head: tuple[int, str] | None, walk: _Walk,
               written: bool) -> ChainBreak | None:
    """Where the walked chain's end disagrees with its head (entries deleted or added at the end, the
    last one replaced, the head row gone although entries were ``written``), or an entry lies beyond
    the head that no append put there."""
    if head is None:
        return ChainBreak(None, None, "the chain head row is missing although records were written") if written else None
    head_seq, head_hash = head
    if head_seq > walk.last_seq:
        return ChainBreak(walk.last_seq + 1, None, f"missing (deleted at the end): the chain ends at #{walk.last_seq} "
                                                   f"but #{head_seq} was the last record written")
    if head_seq < walk.last_seq:  # the walk started after the head (a checkpoint beyond it)
        return ChainBreak(head_seq + 1, None, f"added without renkei: the chain head says #{head_seq} was the last record written")
    if head_hash != walk.last_hash:
        return ChainBreak(walk.last_seq, walk.last_id, "replaced: its hash differs from the chain head's")
    beyond = session.scalar(sa.select(sa.func.max(chain.table.c.seq)).where(chain.table.c.seq > head_seq))
    if beyond is not None:  # the head read again: a committed append moved it past its entry
        now = chain.head.read(session)
        if now is None or now[0] < beyond:
            return ChainBreak(head_seq + 1, None, f"added without renkei: record #{beyond} lies beyond the chain's head "
                                                  f"(#{now[0] if now else 0})")
    return None
