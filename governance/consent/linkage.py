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

from sqlalchemy.orm import Session

from core import audit, authz, chain, chain_archive, retention
from core.actor import Actor
from governance.errors import ChainBroken
from governance.consent.models import CONSENT_HASHED_FIELDS, LINKAGE_HASHED_FIELDS, ConsentRecord, LinkageRecord

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
