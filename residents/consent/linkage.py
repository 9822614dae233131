"""The consent and linkage chains: verification (for ``renkei check``) and the linkage records'
retention (kept at least a year, then archived to a file and purged, never silently lost; the
``linkage-retention`` job of ``renkei jobs run-due`` and ``renkei consent purge``; an archive is
checked with :func:`verify_archive`).

The purge is the audit log's, every chain's (:mod:`core.chain_archive`): the chain is verified
first and a broken one is not purged; records older than the retention are written to a JSON-lines
archive ending with a manifest (count, first and last seq, the hash the chain starts from and ends
at, the SHA-256 of the records' lines; :data:`LINKAGE_ARCHIVE`); then the chain's anchor
(:class:`core.chain.ChainAnchor`) moves to the last archived record, and only then are the records
at or below it deleted (the database refuses any other deletion, and any anchor moved back or
deleted). Verification continues from the anchor, and the purge's own audit record repeats it.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from core import audit, authz, chain, chain_archive, receipt_proof, retention
from core.actor import Actor
from core.errors import Invalid, problem
from governance.errors import ChainBroken
from residents.consent.models import (CONSENT_HASHED_FIELDS, LINKAGE_HASHED_FIELDS, RECORD_FIELD_LABELS, ConsentRecord,
                                       LinkageRecord)

RETENTION_DAYS = 365
ARCHIVE_FORMAT = "renkei-linkage-archive/1"

CONSENT_CHAIN = chain.chain_of(ConsentRecord.__table__, CONSENT_HASHED_FIELDS)
LINKAGE_CHAIN = chain.chain_of(LinkageRecord.__table__, LINKAGE_HASHED_FIELDS, archive_command="renkei consent verify-archive")
CHAINS = {found.name: (found.table, found.fields) for found in (CONSENT_CHAIN, LINKAGE_CHAIN)}  # name: (table, hashed fields)
CHAIN_LABELS = {"consent_record": ("同意記録", "consent records"), "linkage_record": ("連携記録", "linkage records")}


def verify_chains(session: Session,
                  checkpoints: Mapping[str, Sequence[tuple[int, str]]] | None = None) -> list[chain.ChainStatus]:
    """Both chains, each verified from its anchor through its head, and against the trusted
    ``checkpoints`` (seq, hash) of its name (:func:`core.chain.verify_table`)."""
    checkpoints = checkpoints or {}
    return [chain.verify_table(session, found, checkpoints.get(found.name, ())) for found in (CONSENT_CHAIN, LINKAGE_CHAIN)]


Seals = Mapping[str, "receipt_proof.Seal | None"]  # chain name: its newest signed checkpoint (the shell reads them)


def record_proof(record: ConsentRecord | LinkageRecord, seals: Seals | None = None) -> dict[str, Any]:
    """The proof a printed consent or linkage record carries (:func:`core.receipt_proof.proof`): the
    fields its hash covers, the previous record's hash, and its chain's newest signed checkpoint in
    ``seals`` (docs/receipts.md; ``renkei verify-receipt`` checks it without a database)."""
    found = CONSENT_CHAIN if isinstance(record, ConsentRecord) else LINKAGE_CHAIN
    values = {name: getattr(record, name) for name in (*found.fields, "occurred_at")}
    return receipt_proof.proof(found.name, values, found.fields, RECORD_FIELD_LABELS, record.prev_hash, record.hash,
                               (seals or {}).get(found.name))


def _archive_name(first: int, through: int, _now: dt.datetime) -> str:
    return f"linkage-{first:012d}-{through:012d}.jsonl"


# The linkage records' archives: JSON lines of every column, a manifest naming the last record
# (through_seq, through_hash).
LINKAGE_ARCHIVE = chain_archive.ArchiveFormat(ARCHIVE_FORMAT, _archive_name, ("through_seq", "through_hash"))


@dataclasses.dataclass(frozen=True)
class PurgeResult:
    purged: int
    through_seq: int
    through_hash: str
    archive: Path | None


def _refuse(broken: chain.ChainBreak) -> ChainBroken:
    return ChainBroken(
        f"The linkage records' chain is broken at {broken.describe()}; nothing was purged. Investigate first.",
        f"連携記録の改ざん・欠落を検出しました（{broken.describe()}）。削除は行いません。先に調査してください。",
    )


def purge_linkages(session: Session, actor: Actor, archive_dir: Path, *, retention_days: int = RETENTION_DAYS,
                   now: dt.datetime | None = None) -> PurgeResult:
    """Archive, then delete, the linkage records older than ``retention_days`` (at least a year):
    :func:`core.chain_archive.purge` (the chain verified first, a broken chain not purged); the
    purge is audited (``consent.linkage.purge``, repeating the new anchor)."""
    authz.authorize(actor, "consent.manage")
    now = now or chain_archive.utcnow()  # the purge's own clock
    retention.refuse_before("linkage", now - dt.timedelta(days=retention_days), now)  # the one table
    result = chain_archive.purge(session, LINKAGE_CHAIN, LINKAGE_ARCHIVE, archive_dir, retention_days=retention_days,
                                 refuse=_refuse, now=now)
    if result is None:
        start_seq, start_hash = LINKAGE_CHAIN.anchor.read(session)
        return PurgeResult(0, start_seq, start_hash, None)
    audit.record(session, actor, "consent.linkage.purge", "linkage_record", f"{result.first_seq}-{result.through_seq}",
                 after={"count": result.count, "through_seq": result.through_seq, "through_hash": result.through_hash,
                        "archive_name": result.archive_path.name, "archive_sha256": result.archive_sha256,
                        "archive_dir": str(result.archive_path.parent.resolve()), "retention_days": retention_days})
    return PurgeResult(result.count, result.through_seq, result.through_hash, result.archive_path)


def verify_archive(path: Path) -> chain_archive.ArchiveReport:
    """Re-hash an archive's records from its manifest's start hash, and compare count, end and the
    records' SHA-256 with the manifest (:func:`core.chain_archive.verify_lines`)."""
    return chain_archive.verify_archive(path, LINKAGE_CHAIN, LINKAGE_ARCHIVE)


# --- one printed record against its chain ---------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class RecordCheck:
    """What :func:`verify_record` found for a hash printed on a receipt or a history: the chain and
    record it names (None: none has it), whether that record is intact, and why, in both languages."""

    intact: bool
    chain: str | None
    seq: int | None
    message_ja: str
    message_en: str


def _printed_hash(text: str) -> str:
    found = text.strip().lower()
    if len(found) != 64 or any(c not in "0123456789abcdef" for c in found):
        raise Invalid("A record hash is 64 hexadecimal characters, as printed.",
                      "記録のハッシュ値は、印字されたとおりの 64 桁の16進数で指定してください。",
                      problems=[problem("record", "Give the 64-character hash.", "64 桁のハッシュ値を入力してください。")])
    return found


def _neighbour_break(session: Session, found: chain.Chain, row: Any, anchor_seq: int) -> tuple[str, str] | None:
    """Where the record's place in the chain is broken: the record before it no longer gives its
    ``prev_hash``, or the record after it no longer follows it."""
    table = found.table
    if row.seq - 1 > anchor_seq:
        before = session.scalar(sa.select(table.c.hash).where(table.c.seq == row.seq - 1))
        if before != row.prev_hash:
            return (f"#{row.seq - 1}（その前の記録）が変更または削除されています",
                    f"record #{row.seq - 1}, the one before it, was changed or removed")
    after = session.scalar(sa.select(table.c.prev_hash).where(table.c.seq == row.seq + 1))
    if after is not None and after != row.hash:
        return (f"#{row.seq + 1}（その次の記録）がこの記録に続いていません",
                f"record #{row.seq + 1}, the one after it, does not follow it")
    return None


def verify_record(session: Session, actor: Actor, printed: str) -> RecordCheck:
    """Check the consent or linkage record whose hash was printed (a receipt, a history, their
    exports) against its chain: the record with that hash must exist, its content must still give
    that hash, its neighbours must still hold it in place, and its chain must be whole from its
    anchor to its head. A record changed after printing no longer has the printed hash: the chain is
    then verified and the first broken record named (the tampered one). The operator and the auditor
    (``consent.linkage.read``); a read of the chains, not audited as a person's history is."""
    authz.authorize(actor, "consent.linkage.read")
    wanted = _printed_hash(printed)
    for found in (CONSENT_CHAIN, LINKAGE_CHAIN):
        ja, en = CHAIN_LABELS[found.name]
        row = session.execute(sa.select(found.table).where(found.table.c.hash == wanted)).first()
        if row is None:
            continue
        if found.hash_of(row, row.prev_hash) != wanted:
            return RecordCheck(False, found.name, row.seq, f"{ja} #{row.seq} は記録後に変更されています（内容から印字のハッシュ値になりません）",
                               f"{en} #{row.seq} was modified after it was written (its content no longer gives the printed hash)")
        anchor_seq, _anchor_hash = found.anchor.read(session)
        neighbour = _neighbour_break(session, found, row, anchor_seq)
        if neighbour is not None:
            return RecordCheck(False, found.name, row.seq, f"{ja} #{row.seq}: {neighbour[0]}", f"{en} #{row.seq}: {neighbour[1]}")
        status = chain.verify_table(session, found)
        if status.broken is not None:
            return RecordCheck(False, found.name, row.seq,
                               f"{ja} #{row.seq} は記録どおりですが、同じ連鎖の {status.broken.describe()} に改ざん・欠落があります",
                               f"{en} #{row.seq} is as printed, but the chain is broken at {status.broken.describe()}")
        return RecordCheck(True, found.name, row.seq,
                           f"{ja} #{row.seq} は印字どおりで、連鎖は起点から末尾まで問題ありません",
                           f"{en} #{row.seq} is as printed, and its chain is intact from its anchor to its head")
    for found in (CONSENT_CHAIN, LINKAGE_CHAIN):  # the record after the printed one still names its hash
        follower = session.execute(sa.select(found.table.c.seq).where(found.table.c.prev_hash == wanted)).first()
        if follower is not None:
            ja, en = CHAIN_LABELS[found.name]
            seq = follower.seq - 1
            return RecordCheck(False, found.name, seq,
                               f"{ja} #{seq} が印字後に書き換えられています（次の記録 #{follower.seq} は印字のハッシュ値に続いています）",
                               f"{en} #{seq} was rewritten after it was printed (record #{follower.seq} still follows "
                               "the printed hash)")
    for found in (CONSENT_CHAIN, LINKAGE_CHAIN):
        status = chain.verify_table(session, found)
        if status.broken is not None:
            ja, en = CHAIN_LABELS[found.name]
            return RecordCheck(False, found.name, status.broken.seq,
                               f"このハッシュ値の記録はありません。{ja}の {status.broken.describe()} が改ざん・欠落しています（印字された記録が変更された可能性があります）",
                               f"no record has this hash; the {en}' chain is broken at {status.broken.describe()} "
                               "(the printed record may have been changed)")
    return RecordCheck(False, None, None,
                       "このハッシュ値の記録はありません（連鎖は両方とも問題ありません）。この基盤の記録でないか、保存期間を過ぎて保管ファイルに移された連携記録です（renkei consent verify-archive）",
                       "no record has this hash (both chains are intact): not a record of this platform, or a linkage "
                       "record archived after its retention (renkei consent verify-archive)")
