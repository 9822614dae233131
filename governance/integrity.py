"""The audit log's part of ``renkei check``: the chain verified against the newest signed checkpoint.

A checkpoint (:mod:`core.checkpoints`) is the chain head (sequence number and hash), signed with
the operator's key and kept outside the database (the due jobs write one after every run into the
checkpoint folder; every backup manifest carries one). A database owner who shortens the chain
and rewinds its head, or deletes a record and rehashes the chain with renkei's own function,
cannot make it agree with a checkpoint written before, nor sign a newer one.

Only checkpoints whose signature verifies count; files without a signature are ignored (they
could vouch for anything) and files whose signature fails are the caller's to report.

The verification page starts from the newest checkpoint (:func:`verify_since_latest`) and re-hashes
only the records after it.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from core.actor import Actor
from core import checkpoints
from core.audit import AuditAnchor, AuditRecord
from core.chain import ChainAnchor
from core.checkpoints import Checkpoint, scan
from governance import audit

CHAIN = "audit"

__all__ = ["CHAIN", "Checkpoint", "RecordedArchive", "anchor_moved", "check_chain", "latest_checkpoint", "purge_archives",
           "verify_since_latest"]

# The purges' own audit records: action -> (the chain, the key naming its archive)
PURGE_ACTIONS = {"audit.purge": (CHAIN, "archive"), "consent.linkage.purge": ("linkage_record", "archive_name")}


@dataclasses.dataclass(frozen=True)
class RecordedArchive:
    """An archive a purge says it wrote: its chain, file name, SHA-256, the folder it was written
    to (None: not recorded, purges before issue 35) and where that is said."""

    chain: str
    name: str
    sha256: str
    folder: str | None
    source: str


def purge_archives(session: Session) -> list[RecordedArchive]:
    """Every archive the purges recorded: in their audit records still kept (``audit.purge``,
    ``consent.linkage.purge``) and in each chain's anchor (the last purge's, which outlives its
    record once the audit log is purged too); one per chain and file name, the record first."""
    found: dict[tuple[str, str], RecordedArchive] = {}
    for record in session.scalars(sa.select(AuditRecord).where(AuditRecord.action.in_(list(PURGE_ACTIONS)))
                                  .order_by(AuditRecord.seq)):
        chain, key = PURGE_ACTIONS[record.action]
        try:
            after = json.loads(record.after or "{}")
        except ValueError:
            continue  # the chain's verification names a record that is not what was hashed
        if isinstance(after, dict) and after.get(key):
            folder = after.get("archive_dir")
            found.setdefault((chain, str(after[key])), RecordedArchive(
                chain, str(after[key]), str(after.get("archive_sha256") or ""), str(folder) if folder else None,
                f"audit record #{record.seq} ({record.action})"))
    anchors = [(CHAIN, row) for row in session.scalars(sa.select(AuditAnchor))]
    anchors += [(row.name, row) for row in session.scalars(sa.select(ChainAnchor))]
    for chain, row in anchors:
        if row.archive_name:
            found.setdefault((chain, row.archive_name), RecordedArchive(
                chain, row.archive_name, row.archive_sha256, None, f"the {chain} purge anchor"))
    return list(found.values())


def anchor_moved(checkpoint: Checkpoint | None, anchor_seq: int, anchor_hash: str) -> str | None:
    """Why the purge anchor in the database disagrees with the one the checkpoint was written at
    (:func:`core.checkpoints.anchor_moved`). ``renkei audit purge`` writes a signed checkpoint with
    its new anchor, so an anchor moved by anyone else (the purge's rights allow it to the
    application role) no longer matches the newest checkpoint."""
    return checkpoints.anchor_moved(checkpoint, anchor_seq, anchor_hash, purge="renkei audit purge")


def latest_checkpoint(directory: Path | Iterable[Path | None], trusted: Mapping[str, Any]) -> Checkpoint | None:
    """The newest signed audit checkpoint in ``directory``, or in any of several (the checkpoint
    folder and its off-host copy); None when none exists or holds one."""
    folders = [directory] if isinstance(directory, Path) else [folder for folder in directory if folder is not None]
    return checkpoints.newest(scan(folder, CHAIN, trusted).newest for folder in folders)


def check_chain(session: Session, actor: Actor, checkpoints: list[Checkpoint]) -> audit.Verification:
    """Verify the chain in the database and that each checkpoint's record still has its hash."""
    return audit.verification(session, actor, [(c.seq, c.hash) for c in checkpoints])


def verify_since_latest(session: Session, actor: Actor, directory: Path | Iterable[Path | None],
                        trusted: Mapping[str, Any]) -> tuple[audit.Verification, Checkpoint | None]:
    """Verify the records after the newest signed checkpoint in ``directory`` (or several folders:
    :func:`latest_checkpoint`; the full verification from the anchor when there is none), and the
    checkpoint used."""
    checkpoint = latest_checkpoint(directory, trusted)
    result = audit.verification_since(session, actor, (checkpoint.seq, checkpoint.hash) if checkpoint else None)
    return result, checkpoint if result.from_checkpoint else None
