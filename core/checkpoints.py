"""Signed checkpoints of hash chains, kept outside the database: one small mechanism for every chain
(the audit log's ``audit``; the consent and linkage records' ``consent_record`` and
``linkage_record``, named as their :class:`core.chain.ChainHead` rows).

A checkpoint says "chain NAME had its record SEQ with hash HASH at time AT", signed
(:mod:`core.signing`). Whoever rewrites the chain in the database (shortens it and rewinds its
head, or deletes a record and rehashes everything after it) cannot make the chain agree with a
checkpoint written before, nor write a newer checkpoint without the private key. The chain's own
verification compares itself with the newest checkpoint (:func:`newest`).

A checkpoint document (a file ``<chain>-checkpoint-<UTC time>-<seq>.json``, or inside a backup
manifest or a mail)::

    {"format": "renkei-checkpoint/1", "chain": "audit", "seq": 1234, "hash": "<64 hex>",
     "at": "2026-11-22T03:00:00.123456+00:00", "anchor": {"seq": 0, "hash": "<64 hex>"},
     "signature": {"algorithm": "Ed25519", "key_id": "…", "value": "…"}}

The signature covers the document without ``signature`` (:func:`core.signing.canonical`).
Reading a folder (:func:`scan`, the newest files by name: see there) keeps apart the checkpoints that verify, the files that carry a
signature that does not (forged or damaged: the caller fails on them) and the files with no
signature (written before checkpoints were signed: ignored, they would vouch for anything).
"Newest" is by the signed time ``at`` (never the file name or its date, which anyone can change).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from core import signing

FORMAT = "renkei-checkpoint/1"
# the owner's window: a checkpoint is due when the newest is this old (or this many records back) and
# records were appended since (``renkei jobs checkpoint``, run every minute by the installation's timer);
# what is written after the newest checkpoint is unproven until then
DUE_MINUTES = 5
DUE_RECORDS = 1_000
TIMER_MINUTES = 1  # how often the installation's timer asks (docs/deployment.md)
_HASH = re.compile(r"^[0-9a-f]{64}$")
# A head written down by hand (as a verification prints it): SEQ:HASH, the record's number (the
# sequence is a bigint column: at most 18 digits are taken, every such number fits) and its hash.
PAIR_PATTERN = r"^[0-9]{1,18}:[0-9a-fA-F]{64}$"


def parse_pair(text: str) -> tuple[int, str]:
    """``SEQ:HASH`` as (seq, hash in lower case); ``ValueError`` for any other text."""
    if re.fullmatch(PAIR_PATTERN, text) is None:
        raise ValueError(f"{text!r} is not SEQ:HASH (a number of at most 18 digits, a colon, 64 hex digits)")
    seq, _, digest = text.partition(":")
    return int(seq), digest.lower()


@dataclasses.dataclass(frozen=True)
class Checkpoint:
    chain: str
    seq: int
    hash: str
    at: dt.datetime
    source: str  # where it was read (a file name, "backup manifest NAME", …)
    key_id: str = ""
    data: Mapping[str, Any] | None = dataclasses.field(default=None, compare=False, repr=False)  # the signed document
    # where the chain in the database started (a purge's anchor: seq, hash) when it was written; None: not said
    anchor: tuple[int, str] | None = None
    database: str | None = None  # the database whose chain it is (maintenance.signing.database_identity); None: not said

    def pair(self) -> tuple[int, str]:
        return self.seq, self.hash

    def describe(self) -> str:
        return f"#{self.seq} of {self.at:%Y-%m-%d %H:%M} UTC ({self.source})"


def document(chain: str, seq: int, head_hash: str, at: dt.datetime, signer: signing.Signer, *,
             anchor: tuple[int, str] | None = None, database: str | None = None) -> dict[str, Any]:
    """A signed checkpoint document; ``anchor`` (seq, hash), for a chain whose oldest records are
    purged, is where the chain in the database starts: a purge made without a new signed checkpoint
    then shows as an anchor that moved. ``database`` names the database whose chain it is, so a
    checkpoint of another one (a restore drill's) is told apart from a rewritten chain."""
    body = {"format": FORMAT, "chain": chain, "seq": int(seq), "hash": head_hash.lower(),
            "at": at.astimezone(dt.timezone.utc).isoformat()}
    if anchor is not None:
        body["anchor"] = {"seq": int(anchor[0]), "hash": anchor[1]}
    if database is not None:
        body["database"] = database
    return {**body, "signature": signer.sign(signing.canonical(body))}


def parse(data: object, trusted: Mapping[str, Any], source: str) -> Checkpoint:
    """The checkpoint in a document; :class:`core.signing.SignatureRefused` when it is unsigned or
    its signature does not verify, :class:`ValueError` when it is no checkpoint document at all."""
    if not isinstance(data, Mapping) or data.get("format") != FORMAT:
        raise ValueError(f"{source} is not a checkpoint document")
    body = {key: value for key, value in data.items() if key != "signature"}
    if not isinstance(body.get("chain"), str) or not isinstance(body.get("seq"), int) \
            or not isinstance(body.get("hash"), str) or not _HASH.match(body["hash"]):
        raise ValueError(f"{source}: chain, seq or hash missing")
    try:
        at = dt.datetime.fromisoformat(str(body.get("at")))
    except ValueError:
        raise ValueError(f"{source}: no valid time") from None
    at = at if at.tzinfo else at.replace(tzinfo=dt.timezone.utc)
    kid = signing.verify(signing.canonical(body), data.get("signature"), trusted,
                         f"checkpoint {source}", f"チェックポイント {source} ")
    anchor = body.get("anchor")
    anchor = (anchor["seq"], anchor["hash"]) if isinstance(anchor, Mapping) and isinstance(anchor.get("seq"), int) \
        and isinstance(anchor.get("hash"), str) else None
    database = body.get("database") if isinstance(body.get("database"), str) else None
    return Checkpoint(body["chain"], body["seq"], body["hash"], at, source, kid, dict(data), anchor, database)


def file_name(chain: str, seq: int, at: dt.datetime) -> str:
    return f"{chain}-checkpoint-{at.astimezone(dt.timezone.utc):%Y%m%dT%H%M%S%fZ}-{seq}.json"


def write(directory: Path, data: Mapping[str, Any], *, copy: Path | None = None) -> Path:
    """Write a checkpoint document into ``directory`` (0600 file, 0700 folder), and the same file
    into ``copy`` when given (the copy held where the database owner cannot rewrite it:
    ``RENKEI_CHECKPOINT_COPY_DIR``, :func:`maintenance.signing.checkpoint_copy_dir`); the path in
    ``directory``. A copy that cannot be written raises (:class:`OSError`) after the first is written."""
    at = dt.datetime.fromisoformat(data["at"])
    text = (json.dumps(dict(data), ensure_ascii=False, indent=1) + "\n").encode("utf-8")
    written = []
    for folder in (directory, copy):
        if folder is None:
            continue
        signing.private_dir(folder, tighten=True)
        written.append(signing.write_private(folder / file_name(data["chain"], data["seq"], at), text))
    return written[0]


@dataclasses.dataclass
class Scan:
    """What a folder of checkpoint files holds for one chain."""

    valid: list[Checkpoint] = dataclasses.field(default_factory=list)
    forged: list[tuple[str, signing.SignatureRefused]] = dataclasses.field(default_factory=list)
    unsigned: list[str] = dataclasses.field(default_factory=list)

    @property
    def newest(self) -> Checkpoint | None:
        return newest(self.valid)


_NAMED = re.compile(r"^([a-z0-9_]+)-checkpoint-")


def _named_for(name: str) -> str | None:
    """The chain a file's name is written for (:func:`file_name`); None for any other name (read
    for every chain: what decides is the chain inside, which the signature covers)."""
    match = _NAMED.match(name)
    return match.group(1) if match else None


RECENT = 50  # files read by :func:`scan` beyond the first that verifies (names carry the time they were written)


def scan(directory: Path | None, chain: str, trusted: Mapping[str, Any], *, recent: int = RECENT) -> Scan:
    """Read the ``.json`` files of ``directory`` for ``chain``, newest name first: the ``recent``
    newest, and further until one verifies. A year of hourly checkpoints is 8,760 files; verifying
    them all would cost seconds on every check, and an older file cannot weaken the newest one.
    (The choice among the files read is still by the signed time, never by the name.)"""
    found = Scan()
    if directory is None or not directory.is_dir():
        return found
    files = sorted((path for path in directory.iterdir()
                    if path.suffix == ".json" and not path.name.endswith(".partial") and path.is_file()
                    and _named_for(path.name) in (None, chain)),
                   key=lambda path: path.name, reverse=True)
    for number, path in enumerate(files):
        if number >= recent and found.valid:
            break
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (ValueError, OSError):
            continue
        if not isinstance(data, dict) or data.get("chain", chain) != chain:
            continue
        if data.get("format") != FORMAT or "signature" not in data:
            found.unsigned.append(path.name)
            continue
        try:
            found.valid.append(parse(data, trusted, path.name))
        except signing.SignatureRefused as refused:
            found.forged.append((path.name, refused))
        except ValueError:
            found.forged.append((path.name, signing.SignatureRefused(f"checkpoint {path.name} is malformed",
                                                                     f"チェックポイント {path.name} の形式が不正です。")))
    return found


def anchor_moved(checkpoint: Checkpoint | None, anchor_seq: int, anchor_hash: str, *, purge: str) -> str | None:
    """Why a chain's purge anchor in the database disagrees with the one its newest checkpoint was
    written at (None when it agrees, or the checkpoint does not say). A purge (``purge``: the
    command that does it) writes a signed checkpoint with its new anchor, so an anchor moved by
    anyone else, with records deleted below it, no longer matches the newest checkpoint."""
    if checkpoint is None or checkpoint.anchor is None or checkpoint.anchor == (anchor_seq, anchor_hash):
        return None
    return (f"the purge anchor is #{anchor_seq} but the newest checkpoint ({checkpoint.describe()}) was written with "
            f"#{checkpoint.anchor[0]}: records were removed without {purge}")


def newest(checkpoints: Iterable[Checkpoint | None]) -> Checkpoint | None:
    """The checkpoint written last (by its signed time; the higher seq on a tie)."""
    present = [c for c in checkpoints if c is not None]
    return max(present, key=lambda c: (c.at, c.seq)) if present else None
