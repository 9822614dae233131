"""The audit log (操作ログ): verification, export and purge. The append (:func:`core.audit.record`) is the kernel's.

Invariants:

* Records are only ever appended. Nothing in renkei updates or deletes one except
  :func:`purge`, which archives them to a file first; the database refuses any other UPDATE or
  DELETE (triggers, see :data:`GUARD_DDL`).
* Each record stores ``prev_hash`` and ``hash = sha256(prev_hash + canonical payload)``, so a
  modified, deleted, inserted or reordered record breaks the chain at a point that
  :func:`verify` names.
* Appends are serialised by locking the single ``audit_chain_head`` row, so two concurrent
  writers cannot both extend the same hash.
* The record is written in the caller's transaction: if the operation rolls back, so does its
  audit record, and a refused act leaves no record claiming a change.
* After a purge, the chain in the database starts from the anchor (last purged seq and hash);
  the archive file holds the purged records and ends with a manifest naming the same hash, so
  archive and database together verify from the first record ever written.

Trust boundary: the triggers stop the application and anyone using its queries; a database
owner can drop them. What they cannot do unnoticed is change history without breaking the
chain, unless they rewrite every later record too. Writing down the head hash from
``renkei audit verify`` now and then (and checking it later with ``--checkpoint``) closes that gap.

Who may read it (the policy is :mod:`core.authz`): listing and exporting records
(:func:`read_records`, :func:`records_in_period`) need ``audit.read``; verifying the chain
(:func:`verification`) needs ``audit.verify``. Each of these takes the actor and asks the policy
itself, so the API, the admin views and the command line cannot forget it.
"""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import hashlib
import io
import json
import os
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any, BinaryIO

import sqlalchemy as sa
from sqlalchemy.orm import Session

from governance.errors import ChainBroken
from core import audit as core_audit
from core.audit import (AUDIT_GUARD_DDL, GENESIS_HASH, AuditAnchor, AuditChainHead, AuditRecord, HASHED_FIELDS,
                        lock_head, parse_timestamp_text, timestamp_text, compute_hash)
from core import authz
from core.actor import Actor
from core.errors import Invalid
from core.calendar import day_start_utc
from core.db import utcnow

GUARD_DDL = AUDIT_GUARD_DDL
RETENTION_DAYS = 365
MIN_RETENTION_DAYS = 365  # DOMAIN: logs are kept at least one year
ARCHIVE_FORMAT = "renkei-audit-archive/1"


# --- verification ---------------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class ChainBreak:
    """The first broken link: the record's sequence number, its row id (None when it is missing) and why."""

    seq: int | None
    record_id: int | None
    reason: str

    def describe(self) -> str:
        row = f" (row id {self.record_id})" if self.record_id is not None else ""
        return f"record #{self.seq}{row}: {self.reason}" if self.seq is not None else self.reason


_COLUMNS = tuple(AuditRecord.__table__.columns)


def iter_records(session: Session, batch: int = 5000, *, after_seq: int = 0,
                 through_seq: int | None = None) -> Iterator[sa.Row]:
    """Records in sequence order as read-only rows (attribute access like a record), in batches:
    the log may be large, and plain rows skip the ORM's identity map."""
    last = after_seq
    while True:
        query = sa.select(*_COLUMNS).where(AuditRecord.seq > last)
        if through_seq is not None:
            query = query.where(AuditRecord.seq <= through_seq)
        rows = session.execute(query.order_by(AuditRecord.seq).limit(batch)).all()
        if not rows:
            return
        yield from rows
        last = rows[-1].seq


def verify(records: Iterable[AuditRecord], start_hash: str = GENESIS_HASH, start_seq: int = 0) -> ChainBreak | None:
    """Walk the chain in sequence order; return the first broken link, or None if intact."""
    prev_hash, expected_seq = start_hash, start_seq + 1
    for entry in records:
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
        if compute_hash(entry, prev_hash) != entry.hash:
            return ChainBreak(entry.seq, entry.id, "modified after it was written (its content no longer matches its hash)")
        prev_hash, expected_seq = entry.hash, expected_seq + 1
    return None


def anchor_of(session: Session) -> tuple[int, str]:
    """(seq, hash) where the chain in the database starts: the last purged record, or the genesis."""
    anchor = session.get(AuditAnchor, 1)
    if anchor is None:
        return 0, GENESIS_HASH
    return anchor.purged_through_seq, anchor.purged_through_hash


@dataclasses.dataclass(frozen=True)
class Verification:
    """The result of verifying the log in the database."""

    intact: bool
    checked: int
    first_seq: int | None
    last_seq: int
    head_hash: str
    anchor_seq: int
    anchor_hash: str
    archive_name: str
    archive_sha256: str
    broken: ChainBreak | None
    checked_at: dt.datetime

    def as_dict(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["checked_at"] = timestamp_text(self.checked_at)
        return data


class _Counter:
    def __init__(self, records: Iterable[AuditRecord]) -> None:
        self.records, self.count, self.first, self.last = records, 0, None, None

    def __iter__(self) -> Iterator[AuditRecord]:
        for entry in self.records:
            self.count += 1
            self.first = self.first if self.first is not None else entry
            self.last = entry
            yield entry


def _confirmed_anchor(session: Session, anchor_seq: int, anchor_hash: str) -> bool:
    """The latest purge wrote an ``audit.purge`` record naming this anchor (after it, in the chain)."""
    for entry in session.scalars(
        sa.select(AuditRecord).where(AuditRecord.action == "audit.purge", AuditRecord.seq > anchor_seq)
        .order_by(AuditRecord.seq)
    ):
        after = json.loads(entry.after or "{}")
        if after.get("through_seq") == anchor_seq and after.get("through_hash") == anchor_hash:
            return True
    return False


def _check_checkpoints(session: Session, checkpoints: Sequence[tuple[int, str]], anchor_seq: int,
                       anchor_hash: str) -> ChainBreak | None:
    for seq, expected in checkpoints:
        if seq == anchor_seq and seq > 0:
            actual = anchor_hash
        elif seq <= anchor_seq:
            # In the purged part: the log cannot confirm it, and an unconfirmed checkpoint must not
            # pass as confirmed (a moved anchor is exactly how a rewrite would hide).
            return ChainBreak(seq, None, f"the checkpoint lies in the purged part (up to #{anchor_seq}); "
                                         "check it against the archive with renkei audit verify-archive")
        else:
            entry = session.scalars(sa.select(AuditRecord).where(AuditRecord.seq == seq)).one_or_none()
            if entry is None:
                return ChainBreak(seq, None, "the checkpoint names a record that is not in the log")
            actual = entry.hash
        if actual != expected:
            return ChainBreak(seq, None, f"its hash is {actual}, not the checkpoint's {expected}: history was rewritten up to here")
    return None


def verification(session: Session, actor: Actor, checkpoints: Sequence[tuple[int, str]] = ()) -> Verification:
    """Verify the stored chain from the anchor, its end against the chain head, and any checkpoints
    (``audit.verify``)."""
    authz.authorize(actor, "audit.verify")
    return _verification(session, checkpoints)


def _verification(session: Session, checkpoints: Sequence[tuple[int, str]] = ()) -> Verification:
    anchor = session.get(AuditAnchor, 1)
    anchor_seq, anchor_hash = anchor_of(session)
    counter = _Counter(iter_records(session))
    broken = verify(counter, anchor_hash, anchor_seq)
    head = session.get(AuditChainHead, 1)
    if broken is None:
        last_seq, last_hash = (counter.last.seq, counter.last.hash) if counter.last else (anchor_seq, anchor_hash)
        if head is None and (counter.count or anchor_seq):
            broken = ChainBreak(None, None, "the chain head row is missing although records were written")
        elif head is not None and head.last_seq > last_seq:
            broken = ChainBreak(last_seq + 1, None,
                                f"missing (deleted at the end): the log ends at #{last_seq} but #{head.last_seq} was the last record written")
        elif head is not None and head.last_seq < last_seq:
            broken = ChainBreak(head.last_seq + 1, None,
                                f"added without renkei: the chain head says #{head.last_seq} was the last record written")
        elif head is not None and head.last_hash != last_hash:
            broken = ChainBreak(last_seq, counter.last.id if counter.last else None,
                                "replaced: its hash differs from the chain head's")
    if broken is None and anchor_seq and not _confirmed_anchor(session, anchor_seq, anchor_hash):
        broken = ChainBreak(anchor_seq, None,
                            "the purge anchor is not confirmed by any audit.purge record: records were removed outside renkei audit purge")
    if broken is None:
        broken = _check_checkpoints(session, checkpoints, anchor_seq, anchor_hash)
    return Verification(
        intact=broken is None, checked=counter.count,
        first_seq=counter.first.seq if counter.first else None,
        last_seq=head.last_seq if head else 0, head_hash=head.last_hash if head else GENESIS_HASH,
        anchor_seq=anchor_seq, anchor_hash=anchor_hash,
        archive_name=anchor.archive_name if anchor else "", archive_sha256=anchor.archive_sha256 if anchor else "",
        broken=broken, checked_at=utcnow(),
    )


def verify_database(session: Session) -> ChainBreak | None:
    """The first broken link of the log in the database, or None when it is intact."""
    return _verification(session).broken


# --- serialisation: export and archive ------------------------------------------------------------

RECORD_FIELDS = ("seq", "occurred_at", *[f for f in HASHED_FIELDS if f != "seq"], "prev_hash", "hash")

EXPORT_HEADERS_JA = {
    "seq": "番号", "occurred_at": "日時(UTC)", "actor_issuer": "操作者の発行者", "actor_subject": "操作者ID",
    "actor_name": "操作者", "actor_role": "役割", "tenant_code": "団体コード", "action": "操作",
    "target_type": "対象種別", "target_id": "対象", "before": "変更前", "after": "変更後",
    "request_id": "リクエストID", "source_ip": "接続元IP", "prev_hash": "前レコードのハッシュ", "hash": "ハッシュ",
}


def record_dict(entry: AuditRecord) -> dict[str, Any]:
    """A record as plain values, exactly as hashed (``before``/``after`` stay the stored JSON text)."""
    values = entry._mapping if isinstance(entry, sa.Row) else None
    data = {name: values[name] for name in RECORD_FIELDS} if values is not None else \
        {name: getattr(entry, name) for name in RECORD_FIELDS}
    data["occurred_at"] = timestamp_text(entry.occurred_at)
    return data


def record_from_dict(data: dict[str, Any]) -> AuditRecord:
    """A transient record (never added to a session) from :func:`record_dict`'s shape."""
    values = {name: data.get(name) for name in RECORD_FIELDS}
    values["occurred_at"] = parse_timestamp_text(data["occurred_at"])
    return AuditRecord(**values)


def _jsonl(data: dict[str, Any]) -> str:
    return json.dumps(data, ensure_ascii=False, sort_keys=True, separators=(",", ":")) + "\n"


def period_bounds(first_day: dt.date | None, last_day: dt.date | None) -> tuple[dt.datetime | None, dt.datetime | None]:
    """[start, end) in UTC for whole Japanese (JST) days ``first_day`` .. ``last_day`` inclusive."""
    start = day_start_utc(first_day) if first_day else None
    end = day_start_utc(last_day + dt.timedelta(days=1)) if last_day else None
    return start, end


def _check_period(first_day: dt.date | None, last_day: dt.date | None) -> None:
    if first_day and last_day and last_day < first_day:
        raise Invalid("The period ends before it starts.", "期間の終わりが始まりより前です。",
                      problems=[{"field": "to", "message_en": "Must not be before 'from'.",
                                 "message_ja": "開始日以降の日付を指定してください。"}])


def records_in_period(session: Session, actor: Actor, first_day: dt.date | None, last_day: dt.date | None,
                      batch: int = 5000) -> Iterator[sa.Row]:
    """Records of whole JST days ``first_day`` .. ``last_day`` (either open), in sequence order, for
    an export (``audit.read``).

    The right and the period are checked at once (not when the first record is read), so a
    refusal or a bad period is an error before any output is written.
    """
    authz.authorize(actor, "audit.read")
    _check_period(first_day, last_day)
    start, end = period_bounds(first_day, last_day)
    return _records_between(session, start, end, batch)


def read_records(session: Session, actor: Actor, *, first_day: dt.date | None = None, last_day: dt.date | None = None,
                 action: str | None = None, tenant_code: str | None = None, page: int = 1,
                 per_page: int = 100) -> tuple[list[AuditRecord], int]:
    """One page of records, newest first, and the total matching: filtered by whole JST days,
    action and tenant (``audit.read``)."""
    authz.authorize(actor, "audit.read")
    start, end = period_bounds(first_day, last_day)
    query = sa.select(AuditRecord)
    if start is not None:
        query = query.where(AuditRecord.occurred_at >= start)
    if end is not None:
        query = query.where(AuditRecord.occurred_at < end)
    if action:
        query = query.where(AuditRecord.action == action)
    if tenant_code:
        query = query.where(AuditRecord.tenant_code == tenant_code)
    total = session.scalar(sa.select(sa.func.count()).select_from(query.subquery()))
    rows = session.scalars(query.order_by(AuditRecord.seq.desc()).offset((page - 1) * per_page).limit(per_page)).all()
    return list(rows), total


def _records_between(session: Session, start: dt.datetime | None, end: dt.datetime | None,
                     batch: int) -> Iterator[sa.Row]:
    last = 0
    while True:
        query = sa.select(*_COLUMNS).where(AuditRecord.seq > last)
        if start is not None:
            query = query.where(AuditRecord.occurred_at >= start)
        if end is not None:
            query = query.where(AuditRecord.occurred_at < end)
        rows = session.execute(query.order_by(AuditRecord.seq).limit(batch)).all()
        if not rows:
            return
        yield from rows
        last = rows[-1].seq


def export_jsonl(records: Iterable[AuditRecord]) -> Iterator[str]:
    """One JSON object per line; the lines verify with :func:`verify_archive_lines`."""
    for entry in records:
        yield _jsonl(record_dict(entry))


def export_csv(records: Iterable[AuditRecord], japanese_headers: bool = True) -> Iterator[str]:
    """CSV for Excel: a BOM, then a header row, then one row per record (times in UTC, ISO 8601)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([EXPORT_HEADERS_JA[f] if japanese_headers else f for f in RECORD_FIELDS])
    yield "\ufeff" + buffer.getvalue()
    for entry in records:
        buffer.seek(0)
        buffer.truncate()
        data = record_dict(entry)
        writer.writerow(["" if data[f] is None else data[f] for f in RECORD_FIELDS])
        yield buffer.getvalue()


def write_export(out: BinaryIO, records: Iterable[AuditRecord], fmt: str = "csv", japanese_headers: bool = True) -> int:
    """Write an export (``csv`` or ``jsonl``) to a binary file; returns the number of bytes written."""
    chunks = export_jsonl(records) if fmt == "jsonl" else export_csv(records, japanese_headers=japanese_headers)
    written = 0
    for chunk in chunks:
        written += out.write(chunk.encode("utf-8"))
    return written


# --- archives -------------------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class ArchiveReport:
    """What an archive (or a JSON-lines export) holds, and whether it verifies."""

    name: str
    count: int
    first_seq: int | None
    last_seq: int | None
    start_hash: str | None
    last_hash: str | None
    has_manifest: bool
    broken: ChainBreak | None

    @property
    def intact(self) -> bool:
        return self.broken is None


def verify_archive_lines(lines: Iterable[bytes], name: str = "") -> ArchiveReport:
    """Verify a purge archive (records + manifest) or a JSON-lines export (records only).

    An archive's records must chain from the manifest's ``start_hash``, end at its
    ``last_hash``, and hash (as bytes) to its ``records_sha256``; an export only has to be a
    contiguous, unmodified stretch of the chain.
    """
    records: list[AuditRecord] = []
    digest = hashlib.sha256()
    manifest = None
    for number, raw in enumerate(lines, start=1):
        if not raw.strip():
            continue
        if manifest is not None:
            return ArchiveReport(name, len(records), None, None, None, None, True,
                                 ChainBreak(None, None, f"line {number}: data after the manifest"))
        try:
            data = json.loads(raw)
        except ValueError as error:
            return ArchiveReport(name, len(records), None, None, None, None, False,
                                 ChainBreak(None, None, f"line {number} is not JSON: {error}"))
        if "manifest" in data:
            manifest = data["manifest"]
            continue
        digest.update(raw if raw.endswith(b"\n") else raw + b"\n")
        try:
            records.append(record_from_dict(data))
        except (KeyError, TypeError, ValueError) as error:
            return ArchiveReport(name, len(records), None, None, None, None, False,
                                 ChainBreak(None, None, f"line {number} is not an audit record: {error}"))
    first, last = (records[0], records[-1]) if records else (None, None)
    if manifest is not None:
        start_seq, start_hash = manifest.get("first_seq", 1) - 1, manifest.get("start_hash")
    else:
        start_seq, start_hash = (first.seq - 1, first.prev_hash) if first else (0, GENESIS_HASH)
    broken = verify(records, start_hash, start_seq)
    if broken is None and manifest is not None:
        if manifest.get("format") != ARCHIVE_FORMAT:
            broken = ChainBreak(None, None, f"unknown archive format {manifest.get('format')!r}")
        elif manifest.get("count") != len(records):
            broken = ChainBreak(None, None, f"the manifest counts {manifest.get('count')} records but the file has {len(records)} (records removed or added)")
        elif last is not None and (manifest.get("last_seq"), manifest.get("last_hash")) != (last.seq, last.hash):
            broken = ChainBreak(last.seq, None, "the manifest's last record differs from the file's last record")
        elif manifest.get("records_sha256") != digest.hexdigest():
            broken = ChainBreak(None, None, "the records' checksum differs from the manifest's")
    return ArchiveReport(name, len(records), first.seq if first else None, last.seq if last else None,
                         start_hash, last.hash if last else start_hash, manifest is not None, broken)


def verify_archive(path: Path) -> ArchiveReport:
    with path.open("rb") as handle:
        return verify_archive_lines(handle, path.name)


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


# --- retention: purge with archive ----------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class PurgeResult:
    first_seq: int
    through_seq: int
    through_hash: str
    count: int
    archive_path: Path
    archive_sha256: str


def _write_archive(path: Path, records: Iterable[AuditRecord], manifest: dict[str, Any]) -> tuple[int, str]:
    """Write records then the manifest to ``path`` atomically (temp file, fsync, rename)."""
    digest, count, last = hashlib.sha256(), 0, None
    tmp = path.with_name(path.name + ".partial")
    with tmp.open("wb") as out:
        for entry in records:
            line = _jsonl(record_dict(entry)).encode("utf-8")
            digest.update(line)
            out.write(line)
            count, last = count + 1, entry
        manifest = {**manifest, "count": count, "last_seq": last.seq if last else None,
                    "last_hash": last.hash if last else None, "records_sha256": digest.hexdigest()}
        out.write(_jsonl({"manifest": manifest}).encode("utf-8"))
        out.flush()
        os.fsync(out.fileno())
    tmp.replace(path)
    return count, file_sha256(path)


def purge(session: Session, actor: Actor, archive_dir: Path, *, retention_days: int = RETENTION_DAYS,
          now: dt.datetime | None = None) -> PurgeResult | None:
    """Archive, then remove, the records older than the retention period; None if there are none.

    Only a leading stretch of the chain is purged (records up to the first one still within
    the retention period), so what stays is one contiguous chain from the new anchor. The chain
    is verified first: a broken log is not purged (the evidence would go with it).
    """
    if retention_days < MIN_RETENTION_DAYS:
        raise Invalid(
            f"The audit log is kept at least {MIN_RETENTION_DAYS} days; {retention_days} is too short.",
            f"操作ログは少なくとも {MIN_RETENTION_DAYS} 日間保存します。{retention_days} 日は短すぎます。",
            problems=[{"field": "retention_days", "message_en": f"At least {MIN_RETENTION_DAYS}.",
                       "message_ja": f"{MIN_RETENTION_DAYS} 以上を指定してください。"}],
        )
    head = lock_head(session)  # no append (and no other purge) while this runs
    found = _verification(session)
    if found.broken is not None:
        raise ChainBroken(
            f"The audit log is broken at {found.broken.describe()}; it is not purged. Investigate first.",
            f"操作ログの改ざん・欠落を検出しました（{found.broken.describe()}）。削除は行いません。先に調査してください。",
        )
    now = now or utcnow()
    cutoff = now - dt.timedelta(days=retention_days)
    start_seq, start_hash = anchor_of(session)
    first_kept = session.scalar(sa.select(sa.func.min(AuditRecord.seq))
                                .where(AuditRecord.seq > start_seq, AuditRecord.occurred_at >= cutoff))
    through = (first_kept - 1) if first_kept is not None else head.last_seq
    if through <= start_seq:
        return None
    archive_dir.mkdir(parents=True, exist_ok=True)
    path = archive_dir / f"audit-archive-{start_seq + 1:09d}-{through:09d}-{now.astimezone(dt.timezone.utc):%Y%m%dT%H%M%SZ}.jsonl"
    manifest = {"format": ARCHIVE_FORMAT, "first_seq": start_seq + 1, "start_hash": start_hash,
                "created_at": timestamp_text(now), "cutoff": timestamp_text(cutoff), "retention_days": retention_days}
    count, sha = _write_archive(path, iter_records(session, after_seq=start_seq, through_seq=through), manifest)
    through_hash = session.scalar(sa.select(AuditRecord.hash).where(AuditRecord.seq == through))

    anchor = session.get(AuditAnchor, 1, with_for_update=True)
    if anchor is None:
        anchor = AuditAnchor(id=1, purged_through_seq=0, purged_through_hash=GENESIS_HASH, purged_count=0)
        session.add(anchor)
    anchor.purged_through_seq, anchor.purged_through_hash = through, through_hash
    anchor.purged_count += count
    anchor.purged_at, anchor.archive_name, anchor.archive_sha256 = now, path.name, sha
    session.flush()  # the delete trigger allows only rows at or below the anchor
    if session.get_bind().dialect.name == "postgresql":
        session.execute(sa.text("SELECT set_config('renkei.audit_purge', 'on', true)"))
    session.execute(sa.delete(AuditRecord).where(AuditRecord.seq <= through), execution_options={"synchronize_session": False})
    if session.get_bind().dialect.name == "postgresql":
        session.execute(sa.text("SELECT set_config('renkei.audit_purge', 'off', true)"))
    for entry in [o for o in session.identity_map.values() if isinstance(o, AuditRecord) and o.seq <= through]:
        session.expunge(entry)  # gone from the table: no stale copy for the rest of the transaction
    core_audit.record(session, actor, "audit.purge", "audit_log", f"{start_seq + 1}-{through}",
           after={"first_seq": start_seq + 1, "through_seq": through, "through_hash": through_hash, "count": count,
                  "archive": path.name, "archive_sha256": sha, "retention_days": retention_days})
    return PurgeResult(start_seq + 1, through, through_hash, count, path, sha)
