"""Hash chains: the one rule shared by renkei's append-only logs.

The audit log (:mod:`core.audit`), the consent records and the linkage records
(:mod:`governance.consent`) are each a chain: every entry stores ``seq`` (1, 2, 3… without gaps),
``prev_hash`` and ``hash = sha256(prev_hash + canonical JSON of its hashed fields)``, where the
canonical JSON has sorted keys, no spaces, UTF-8, and ``occurred_at`` written by
:func:`timestamp_text`. So a modified, deleted, inserted or reordered entry breaks the chain at a
point that :func:`verify_chain` names.

The audit log keeps its own head and anchor tables (and a faster append, :mod:`core.audit`); newer
chains share :class:`ChainHead` and :class:`ChainAnchor`, one row per chain, and append through
:func:`append`, which moves the head first (an UPDATE that takes the row's lock on PostgreSQL and
the write lock on SQLite), so two writers can never extend the same hash.
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


@functools.cache
def _head_statements() -> tuple[sa.Executable, sa.Executable, sa.Executable]:
    table = ChainHead.__table__
    move = (sa.update(table).where(table.c.name == sa.bindparam("chain"))
            .values(last_seq=table.c.last_seq + 1).returning(table.c.last_seq, table.c.last_hash))
    settle = sa.update(table).where(table.c.name == sa.bindparam("chain")).values(last_hash=sa.bindparam("hash"))
    create = sa.insert(table).values(name=sa.bindparam("chain"), last_seq=0, last_hash=GENESIS_HASH)
    return move, settle, create


@functools.cache
def _insert_statement(table: sa.Table) -> sa.Executable:
    return sa.insert(table).values({c.name: sa.bindparam(f"v_{c.name}") for c in table.columns if c.name != "id"})


def append(session: Session, table: sa.Table, fields: Sequence[str], values: dict[str, Any]) -> dict[str, Any]:
    """Append one entry to the chain of ``table`` (whose hashed ``fields`` and ``occurred_at`` are in
    ``values``), in the caller's transaction; returns the stored values with ``id``, ``seq``,
    ``prev_hash`` and ``hash``.

    The head moves first: ``UPDATE … SET last_seq = last_seq + 1 RETURNING`` locks the head row (the
    database's write lock on SQLite) until the transaction ends and gives the previous hash, so
    concurrent writers queue there and each appends right after the one before."""
    connection = session.connection()
    move, settle, create = _head_statements()
    row = connection.execute(move, {"chain": table.name}).first()
    if row is None:  # the chain's first entry: make its head (a concurrent first writer may win)
        try:
            with session.begin_nested():
                session.connection().execute(create, {"chain": table.name})
        except sa.exc.IntegrityError:
            pass
        row = connection.execute(move, {"chain": table.name}).one()
    seq, prev_hash = int(row[0]), row[1]
    entry = {**values, "seq": seq, "prev_hash": prev_hash}
    entry["hash"] = entry_hash(entry, fields, prev_hash)
    params = {f"v_{c.name}": entry.get(c.name) for c in table.columns if c.name != "id"}
    entry["id"] = connection.execute(_insert_statement(table), params).inserted_primary_key[0]
    connection.execute(settle, {"chain": table.name, "hash": entry["hash"]})
    return entry


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
