"""The audit log's part of ``renkei check``: the chain verified against the last exported checkpoint.

A checkpoint is the chain head (sequence number and hash) written somewhere renkei's database
administrators cannot change (the due jobs export one to a directory; ``renkei audit verify``
prints one). Verification uses :func:`governance.audit.verification`; this module only finds the
newest checkpoint file and reads it.

A checkpoint file is either JSON with the sequence number (``seq``, ``last_seq`` or
``head_seq``) and the hash (``hash``, ``head_hash`` or ``last_hash``), or text whose last
``SEQ:HASH`` token is the checkpoint. The newest file is the one whose name sorts last (names
carry the time, e.g. ``audit-checkpoint-20261122T030000Z.json``); files ending in ``.partial``
are ignored. The time the checkpoint was written (the full verification that produced it) is the
JSON's ``at``, else the time in the file name, else unknown.

The verification page starts from the newest checkpoint (:func:`verify_since_latest`) and re-hashes
only the records after it.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import re
from pathlib import Path

from sqlalchemy.orm import Session

from core.actor import Actor
from governance import audit

_PAIR = re.compile(r"(\d+):([0-9a-fA-F]{64})")
_NAME_TIME = re.compile(r"(\d{8}T\d{6}Z)")


@dataclasses.dataclass(frozen=True)
class Checkpoint:
    seq: int
    hash: str
    source: str
    at: dt.datetime | None = None  # when it was written (UTC), None when the file does not say


def _written_at(data: object, name: str) -> dt.datetime | None:
    text = data.get("at") if isinstance(data, dict) else None
    if isinstance(text, str):
        try:
            moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
            return moment if moment.tzinfo else moment.replace(tzinfo=dt.timezone.utc)
        except ValueError:
            pass
    found = _NAME_TIME.search(name)
    if found:
        return dt.datetime.strptime(found.group(1), "%Y%m%dT%H%M%SZ").replace(tzinfo=dt.timezone.utc)
    return None


def read_checkpoint(path: Path) -> Checkpoint | None:
    """The checkpoint in one file, or None if the file holds none."""
    text = path.read_text(encoding="utf-8", errors="replace")
    try:
        data = json.loads(text)
    except ValueError:
        data = None
    if isinstance(data, dict):
        seq = next((data[k] for k in ("seq", "last_seq", "head_seq") if isinstance(data.get(k), int)), None)
        digest = next((data[k] for k in ("hash", "head_hash", "last_hash") if isinstance(data.get(k), str)), None)
        if seq is not None and digest and len(digest) == 64:
            return Checkpoint(seq, digest.lower(), path.name, _written_at(data, path.name))
    pairs = _PAIR.findall(text)
    if pairs:
        seq, digest = pairs[-1]
        return Checkpoint(int(seq), digest.lower(), path.name, _written_at(None, path.name))
    return None


def latest_checkpoint(directory: Path) -> Checkpoint | None:
    """The newest checkpoint in ``directory`` (None when it does not exist or holds none)."""
    if not directory.is_dir():
        return None
    for path in sorted((p for p in directory.iterdir() if p.is_file() and not p.name.endswith(".partial")),
                       key=lambda p: p.name, reverse=True):
        found = read_checkpoint(path)
        if found is not None:
            return found
    return None


def check_chain(session: Session, actor: Actor, checkpoints: list[Checkpoint]) -> audit.Verification:
    """Verify the chain in the database and that each checkpoint's record still has its hash."""
    return audit.verification(session, actor, [(c.seq, c.hash) for c in checkpoints])


def verify_since_latest(session: Session, actor: Actor, directory: Path) -> tuple[audit.Verification, Checkpoint | None]:
    """Verify the records after the newest checkpoint in ``directory`` (the full verification from
    the anchor when there is none), and the checkpoint used."""
    checkpoint = latest_checkpoint(directory)
    result = audit.verification_since(session, actor, (checkpoint.seq, checkpoint.hash) if checkpoint else None)
    return result, checkpoint if result.from_checkpoint else None
