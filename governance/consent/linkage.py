"""The consent and linkage chains: verification (for ``renkei check``) and the linkage records'
retention (kept at least a year, then archived to a file and purged, never silently lost; the
``linkage-retention`` job of ``renkei jobs run-due`` and ``renkei consent purge``; an archive is
checked with :func:`verify_archive`).

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


@dataclasses.dataclass(frozen=True)
class ArchiveReport:
    count: int
    first_seq: int | None
    through_seq: int | None
    start_hash: str | None
    through_hash: str | None
    problem: str | None  # None: intact


def verify_archive(path: Path) -> ArchiveReport:
    """Re-hash an archive's records from its manifest's start hash, and compare count, range, end hash
    and the records' SHA-256 with the manifest (the last line)."""
    lines = path.read_bytes().splitlines(keepends=True)
    try:
        manifest = json.loads(lines[-1])["manifest"] if lines else None
    except (ValueError, KeyError, TypeError):
        manifest = None
    if not manifest or manifest.get("format") != ARCHIVE_FORMAT:
        return ArchiveReport(0, None, None, None, None, "no manifest: not a linkage archive")
    digest, previous, expected, count = hashlib.sha256(), manifest["start_hash"], manifest["first_seq"], 0
    for raw in lines[:-1]:
        digest.update(raw)
        entry = json.loads(raw)
        if entry["seq"] != expected:
            return _report(manifest, count, f"record #{expected} is missing (found #{entry['seq']})")
        if entry["prev_hash"] != previous or chain.entry_hash(_Entry(entry), LINKAGE_HASHED_FIELDS, previous) != entry["hash"]:
            return _report(manifest, count, f"record #{entry['seq']} does not match its hash")
        previous, expected, count = entry["hash"], expected + 1, count + 1
    if (count, expected - 1, previous) != (manifest["count"], manifest["through_seq"], manifest["through_hash"]):
        return _report(manifest, count, "the records do not end where the manifest says")
    if digest.hexdigest() != manifest["records_sha256"]:
        return _report(manifest, count, "the records' SHA-256 differs from the manifest's")
    return _report(manifest, count, None)


class _Entry:
    """An archived record read back: its fields as attributes, its timestamp as a datetime again."""

    def __init__(self, data: dict):
        self.__dict__.update(data)
        self.occurred_at = chain.parse_timestamp_text(data["occurred_at"])


def _report(manifest: dict, count: int, problem: str | None) -> ArchiveReport:
    return ArchiveReport(count, manifest["first_seq"], manifest["through_seq"], manifest["start_hash"],
                         manifest["through_hash"], problem)


def anchor_mismatch(session: Session, last: ArchiveReport) -> str | None:
    """Whether the last archive ends where the database's linkage chain now starts (None: it does,
    or it is an older archive)."""
    anchor = session.get(chain.ChainAnchor, LinkageRecord.__tablename__)
    if anchor is None or last.through_seq != anchor.purged_through_seq:
        return None
    if last.through_hash != anchor.purged_through_hash:
        return "its last hash differs from the database's anchor"
    return None
