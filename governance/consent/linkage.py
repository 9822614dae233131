"""The consent and linkage chains: verification (for ``renkei check``) and the linkage records'
retention (kept at least a year, then archived to a file and purged, never silently lost).

The purge works as the audit log's (:mod:`governance.audit`): records older than the retention are
written to a JSON-lines archive ending with a manifest (count, first and last seq, the hash the
chain starts from and ends at, the SHA-256 of the records' lines); then the chain's anchor
(:class:`core.chain.ChainAnchor`) moves to the last archived record, and only then are the records
at or below it deleted (the database refuses any other deletion). Verification continues from the
anchor, and the purge's own audit record repeats the anchor.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.orm import Session

from core import audit, authz, chain
from core.actor import Actor
from core.db import utcnow
from core.errors import Invalid
from governance.consent.models import CONSENT_HASHED_FIELDS, LINKAGE_HASHED_FIELDS, ConsentRecord, LinkageRecord

RETENTION_DAYS = 365
MIN_RETENTION_DAYS = 365  # Kasai's specification: linkage logs are kept a year
ARCHIVE_FORMAT = "renkei-linkage-archive/1"

CHAINS = {"consent_record": (ConsentRecord.__table__, CONSENT_HASHED_FIELDS),
          "linkage_record": (LinkageRecord.__table__, LINKAGE_HASHED_FIELDS)}
CHAIN_LABELS = {"consent_record": ("同意記録", "consent records"), "linkage_record": ("連携記録", "linkage records")}


def verify_chains(session: Session,
                  checkpoints: Mapping[str, Sequence[tuple[int, str]]] | None = None) -> list[chain.ChainStatus]:
    """Both chains, each verified from its anchor through its head, and against the trusted
    ``checkpoints`` (seq, hash) of its name (:func:`core.chain.checkpoint_break`)."""
    checkpoints = checkpoints or {}
    return [chain.verify_table(session, table, fields, checkpoints.get(name, ()))
            for name, (table, fields) in CHAINS.items()]


@dataclasses.dataclass(frozen=True)
class PurgeResult:
    purged: int
    through_seq: int
    through_hash: str
    archive: Path | None


def _row_dict(row: sa.Row) -> dict:
    data = dict(row._mapping)
    data["occurred_at"] = chain.timestamp_text(data["occurred_at"])
    return data


def purge_linkages(session: Session, actor: Actor, archive_dir: Path, *, retention_days: int = RETENTION_DAYS,
                   now: dt.datetime | None = None) -> PurgeResult:
    """Archive, then delete, the linkage records older than ``retention_days`` (at least a year)."""
    authz.authorize(actor, "consent.manage")
    if retention_days < MIN_RETENTION_DAYS:
        raise Invalid(f"Linkage records are kept at least {MIN_RETENTION_DAYS} days.",
                      f"連携記録の保存期間は {MIN_RETENTION_DAYS} 日以上です。")
    cutoff = (now or utcnow()) - dt.timedelta(days=retention_days)
    table = LinkageRecord.__table__
    anchor = session.get(chain.ChainAnchor, table.name)
    start_seq, start_hash = (anchor.purged_through_seq, anchor.purged_through_hash) if anchor else (0, chain.GENESIS_HASH)
    through = session.scalar(sa.select(sa.func.max(table.c.seq)).where(table.c.seq > start_seq, table.c.occurred_at < cutoff))
    if through is None:
        return PurgeResult(0, start_seq, start_hash, None)
    archive_dir.mkdir(parents=True, exist_ok=True)
    path = archive_dir / f"linkage-{start_seq + 1:012d}-{through:012d}.jsonl"
    digest, count, last_hash = hashlib.sha256(), 0, start_hash
    temporary = path.with_suffix(".part")
    with open(temporary, "w", encoding="utf-8") as out:
        for row in chain.iter_entries(session, table, after_seq=start_seq):
            if row.seq > through:
                break
            line = json.dumps(_row_dict(row), ensure_ascii=False, sort_keys=True, separators=(",", ":")) + "\n"
            digest.update(line.encode("utf-8"))
            out.write(line)
            count, last_hash = count + 1, row.hash
        manifest = {"format": ARCHIVE_FORMAT, "count": count, "first_seq": start_seq + 1, "through_seq": through,
                    "start_hash": start_hash, "through_hash": last_hash, "records_sha256": digest.hexdigest()}
        out.write(json.dumps({"manifest": manifest}, ensure_ascii=False, sort_keys=True) + "\n")
        out.flush()
        os.fsync(out.fileno())
    os.replace(temporary, path)
    archive_sha = hashlib.sha256(path.read_bytes()).hexdigest()
    if anchor is None:
        anchor = chain.ChainAnchor(name=table.name, purged_through_hash=last_hash)
        session.add(anchor)
    anchor.purged_through_seq, anchor.purged_through_hash = through, last_hash
    anchor.purged_count = (anchor.purged_count or 0) + count
    anchor.purged_at, anchor.archive_name, anchor.archive_sha256 = utcnow(), path.name, archive_sha
    session.flush()
    session.execute(sa.delete(table).where(table.c.seq <= through))
    audit.record(session, actor, "consent.linkage.purge", "linkage_record", f"{start_seq + 1}-{through}",
                 after={"count": count, "through_seq": through, "through_hash": last_hash, "archive_name": path.name,
                        "archive_sha256": archive_sha, "retention_days": retention_days})
    return PurgeResult(count, through, last_hash, path)
