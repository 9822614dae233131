"""The audit log (操作ログ): one function, :func:`record`, that every operation calls.

Invariants:

* Records are only ever appended. Nothing in renkei updates or deletes one; the database
  refuses it too (triggers, see :data:`GUARD_DDL`).
* Each record stores ``prev_hash`` and ``hash = sha256(prev_hash + canonical payload)``, so a
  modified, deleted, inserted or reordered record breaks the chain at a point that
  :func:`verify` names.
* Appends are serialised by locking the single ``audit_chain_head`` row, so two concurrent
  writers cannot both extend the same hash.
* The record is written in the caller's transaction: if the operation rolls back, so does its
  audit record, and a refused act leaves no record claiming a change.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
from collections.abc import Iterable, Iterator
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from governance.models import AuditChainHead, AuditRecord
from tenancy.base import Actor

GENESIS_HASH = "0" * 64


def _canonical(value: Any) -> str | None:
    if value is None:
        return None
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=str)


def _timestamp(moment: dt.datetime) -> str:
    if moment.tzinfo is None:  # SQLite hands back naive datetimes; renkei stores UTC
        moment = moment.replace(tzinfo=dt.timezone.utc)
    return moment.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


_HASHED_FIELDS = (
    "seq", "actor_issuer", "actor_subject", "actor_name", "actor_role", "tenant_code", "action",
    "target_type", "target_id", "before", "after", "request_id", "source_ip",
)


def compute_hash(entry: AuditRecord, prev_hash: str) -> str:
    payload = {name: getattr(entry, name) for name in _HASHED_FIELDS}
    payload["occurred_at"] = _timestamp(entry.occurred_at)
    text = prev_hash + json.dumps(payload, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _lock_head(session: Session) -> AuditChainHead:
    head = session.scalars(
        sa.select(AuditChainHead).where(AuditChainHead.id == 1).with_for_update()
    ).one_or_none()
    if head is None:
        head = AuditChainHead(id=1, last_seq=0, last_hash=GENESIS_HASH)
        session.add(head)
        session.flush()
    return head


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
) -> AuditRecord:
    """Append one audit record for an administrative act, in the caller's transaction.

    ``action`` is a dotted verb (``tenant.create``); ``before``/``after`` are JSON-able
    summaries of what changed (None where nothing existed before or after).
    """
    head = _lock_head(session)
    entry = AuditRecord(
        seq=head.last_seq + 1,
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
        prev_hash=head.last_hash,
        hash="",
    )
    entry.hash = compute_hash(entry, head.last_hash)
    head.last_seq = entry.seq
    head.last_hash = entry.hash
    session.add(entry)
    session.flush()
    return entry


def changes(before: dict[str, Any], after: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Only the keys whose values differ, as (before, after) summaries."""
    keys = [k for k in after if before.get(k) != after.get(k)]
    return {k: before.get(k) for k in keys}, {k: after.get(k) for k in keys}


@dataclasses.dataclass(frozen=True)
class ChainBreak:
    seq: int | None
    record_id: int | None
    reason: str


def iter_records(session: Session, batch: int = 1000) -> Iterator[AuditRecord]:
    last = 0
    while True:
        rows = session.scalars(
            sa.select(AuditRecord).where(AuditRecord.seq > last).order_by(AuditRecord.seq).limit(batch)
        ).all()
        if not rows:
            return
        yield from rows
        last = rows[-1].seq


def verify(records: Iterable[AuditRecord], start_hash: str = GENESIS_HASH, start_seq: int = 0) -> ChainBreak | None:
    """Walk the chain in sequence order; return the first broken link, or None if intact."""
    prev_hash, expected_seq = start_hash, start_seq + 1
    for entry in records:
        if entry.seq != expected_seq:
            return ChainBreak(entry.seq, entry.id, f"expected record #{expected_seq} next, found #{entry.seq} (a record is missing or inserted)")
        if entry.prev_hash != prev_hash:
            return ChainBreak(entry.seq, entry.id, f"record #{entry.seq} does not follow the previous record's hash (deleted, inserted or reordered before it)")
        if compute_hash(entry, prev_hash) != entry.hash:
            return ChainBreak(entry.seq, entry.id, f"record #{entry.seq} was modified after it was written")
        prev_hash, expected_seq = entry.hash, expected_seq + 1
    return None


def verify_database(session: Session) -> ChainBreak | None:
    """Verify the whole stored chain, and that its end matches the chain head (a deleted last record)."""
    broken = verify(iter_records(session))
    if broken:
        return broken
    head = session.get(AuditChainHead, 1)
    last = session.scalars(sa.select(AuditRecord).order_by(AuditRecord.seq.desc()).limit(1)).one_or_none()
    last_seq, last_hash = (last.seq, last.hash) if last else (0, GENESIS_HASH)
    if head is not None and (head.last_seq, head.last_hash) != (last_seq, last_hash):
        return ChainBreak(head.last_seq, None, f"the log ends at record #{last_seq} but record #{head.last_seq} was written (records deleted at the end)")
    return None
