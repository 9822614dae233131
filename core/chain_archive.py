"""Every hash chain's archives and purge: the one rule for the audit log (``renkei audit purge``,
``verify-archive``: :mod:`governance.audit_export`) and the linkage records (``renkei consent purge``,
``verify-archive``: :mod:`residents.consent.linkage`).

* :func:`purge` verifies the whole chain first (:func:`core.chain.verify_table`) and refuses a broken
  one (the evidence would go with it); then writes the entries up to the first one still within the
  retention period to an archive file (one JSON line per entry, then a manifest: where the chain
  starts and ends, the count and the SHA-256 of the entries' lines), moves the chain's anchor to the
  last archived entry with the file's SHA-256, and only then deletes the entries at or below it
  (the database refuses any other deletion, and any anchor moved back or deleted:
  :func:`core.chain.anchor_guards_sqlite`, :func:`core.chain.anchor_guard_pg`).
* :func:`confirm_archive` says whether an archive a purge recorded (its name and SHA-256) is still
  in one of the folders it may be in, unchanged: what ``renkei check`` asks of every purge.
* :func:`verify_lines` checks an archive (or, where the chain has them, a JSON-lines export: entries
  only) by hashing its entries again; :func:`continues` whether one archive follows another;
  :func:`anchor_findings` the last archive against the database's anchor (end hash, file SHA-256).

Each chain keeps its own archive format (:class:`ArchiveFormat`: the manifest's ``format`` string,
its names for the end, the files' names): archives written before this module verify as they did.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import os
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from core.chain import (CANONICAL_JSON, GENESIS_HASH, Chain, ChainBreak, iter_entries, parse_timestamp_text,
                        timestamp_text, verify_chain, verify_table)
from core.db import utcnow
from core.errors import Conflict
from core.signing import open_private, private_dir

# Groups of entries as archive text: (how many, their JSON lines, the last one's (seq, hash)).
Lines = Iterator[tuple[int, str, tuple[int, str]]]


def entry_dict(entry: sa.Row) -> dict[str, Any]:
    """An entry (a row of :func:`core.chain.iter_entries`) as it is archived: its columns, its
    ``occurred_at`` as :func:`core.chain.timestamp_text` writes it."""
    data = dict(entry._mapping)
    data["occurred_at"] = timestamp_text(data["occurred_at"])
    return data


def canonical_lines(entries: Iterable[sa.Row]) -> Lines:
    """Each entry as one line of canonical JSON (:data:`core.chain.CANONICAL_JSON`) of :func:`entry_dict`."""
    for entry in entries:
        yield 1, CANONICAL_JSON.encode(entry_dict(entry)) + "\n", (entry.seq, entry.hash)


@dataclasses.dataclass(frozen=True)
class ArchiveFormat:
    """A chain's archive files: the manifest's ``name`` (its ``format``), the manifest's keys for the
    last entry (``end_keys``: seq, hash), the file's name for the entries ``first`` .. ``through``
    purged at a moment, how entries become lines (``lines``; the audit log's is a faster path to the
    same text), and whether a file without a manifest is a chain's export (``exports``) or no archive."""

    name: str
    file_name: Callable[[int, int, dt.datetime], str]
    end_keys: tuple[str, str] = ("last_seq", "last_hash")
    lines: Callable[[Iterable[sa.Row]], Lines] = canonical_lines
    exports: bool = False


# --- writing --------------------------------------------------------------------------------------

def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def write_archive(path: Path, fmt: ArchiveFormat, entries: Iterable[sa.Row], manifest: dict[str, Any],
                  start: tuple[int, str]) -> tuple[int, tuple[int, str], str]:
    """Write the entries, then the manifest, to ``path`` atomically (a ``.partial`` file with mode
    0600, synced, renamed: entries name people). Returns the count, the last entry (seq, hash;
    ``start`` when none) and the file's SHA-256."""
    digest, count, last = hashlib.sha256(), 0, start
    partial = path.with_name(path.name + ".partial")
    partial.unlink(missing_ok=True)
    with open_private(partial) as out:
        for number, text, last in fmt.lines(entries):
            data = text.encode("utf-8")
            digest.update(data)
            out.write(data)
            count += number
        manifest = {**manifest, "count": count, fmt.end_keys[0]: last[0], fmt.end_keys[1]: last[1],
                    "records_sha256": digest.hexdigest()}
        out.write((CANONICAL_JSON.encode({"manifest": manifest}) + "\n").encode("utf-8"))
        out.flush()
        os.fsync(out.fileno())
    partial.replace(path)
    return count, last, file_sha256(path)


# --- purge ----------------------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class PurgeResult:
    first_seq: int
    through_seq: int
    through_hash: str
    count: int
    archive_path: Path
    archive_sha256: str


def purge(session: Session, chain: Chain, fmt: ArchiveFormat, archive_dir: Path, *, retention_days: int,
          refuse: Callable[[ChainBreak], Exception], now: dt.datetime | None = None) -> PurgeResult | None:
    """Archive, then remove, the chain's entries older than ``retention_days``; None if there are none.

    The whole chain is verified first: a broken chain is not purged (``refuse(break)`` is raised).
    Only a leading stretch is purged (the entries up to the first one still within the retention
    period), so what stays is one contiguous chain from the new anchor. Appends go on meanwhile
    (the broker's consent checks do not wait for a purge): they lie beyond the head the
    verification read first, and the entries archived cannot change (the database's guards).
    Two purges of one chain at once: on PostgreSQL the second waits until the first ends
    (:func:`_one_purge_at_a_time`); anywhere, the one that moves the anchor second finds it moved
    and removes nothing (:class:`core.errors.Conflict`). The caller records the purge (its own
    audit record, repeating the anchor) and commits."""
    _one_purge_at_a_time(session, chain)
    found = verify_table(session, chain)
    if found.broken is not None:
        raise refuse(found.broken)
    if found.head is None:  # never written
        return None
    now = now or utcnow()
    cutoff = now - dt.timedelta(days=retention_days)
    start_seq, start_hash = found.anchor_seq, found.anchor_hash
    table = chain.table
    first_kept = session.scalar(sa.select(sa.func.min(table.c.seq))
                                .where(table.c.seq > start_seq, table.c.occurred_at >= cutoff))
    through = first_kept - 1 if first_kept is not None else found.head[0]
    if through <= start_seq:
        return None
    private_dir(archive_dir)
    path = archive_dir / fmt.file_name(start_seq + 1, through, now)
    manifest = {"format": fmt.name, "first_seq": start_seq + 1, "start_hash": start_hash,
                "created_at": timestamp_text(now), "cutoff": timestamp_text(cutoff), "retention_days": retention_days}
    entries = iter_entries(session, table, after_seq=start_seq, through_seq=through)
    count, (_last_seq, through_hash), sha = write_archive(path, fmt, entries, manifest, (start_seq, start_hash))
    _move_anchor(session, chain, start_seq, (through, through_hash, count, now, path.name, sha))
    _delete_through(session, chain, through)
    return PurgeResult(start_seq + 1, through, through_hash, count, path, sha)


def _one_purge_at_a_time(session: Session, chain: Chain) -> None:
    """PostgreSQL: a lock of this chain's purge until the transaction ends (an advisory lock: appends,
    which lock the head row, do not wait on it). SQLite has one writer at a time: a second purge
    fails at its first write, or finds the anchor moved (:func:`_move_anchor`)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(sa.text("SELECT pg_advisory_xact_lock(hashtext(:key))"), {"key": f"renkei purge {chain.name}"})


def _move_anchor(session: Session, chain: Chain, start_seq: int, to: tuple[int, str, int, dt.datetime, str, str]) -> None:
    """Move the anchor (locked until the transaction ends) from ``start_seq``, where the purge found
    it, to the archived end (flushed: the delete guards allow only rows at or below it); refused
    when another purge moved it (or made it) meanwhile."""
    raced = Conflict(f"Another purge of {chain.name} ran at the same time; this one removed nothing. Run it again.",
                     f"{chain.name} の別の削除処理が同時に実行されました。この処理では何も削除していません。もう一度実行してください。")
    anchor = chain.anchor.get(session, lock=True)
    if (anchor.purged_through_seq if anchor is not None else 0) != start_seq:
        raise raced
    try:
        with session.begin_nested():
            chain.anchor.move(session, *to)
    except sa.exc.IntegrityError as error:  # the other purge made the chain's first anchor
        raise raced from error


def _delete_through(session: Session, chain: Chain, through: int) -> None:
    """Delete the entries at or below the (moved) anchor, with the chain's transaction-local setting
    on PostgreSQL when its delete guard asks for one; no stale copy stays in the session."""
    setting = chain.purge_setting if session.get_bind().dialect.name == "postgresql" else ""
    if setting:
        session.execute(sa.text("SELECT set_config(:name, 'on', true)"), {"name": setting})
    session.execute(sa.delete(chain.table).where(chain.table.c.seq <= through),
                    execution_options={"synchronize_session": False})
    if setting:
        session.execute(sa.text("SELECT set_config(:name, 'off', true)"), {"name": setting})
    for entry in [o for o in session.identity_map.values()
                  if getattr(type(o), "__table__", None) is chain.table and o.seq <= through]:
        session.expunge(entry)


# --- verification ---------------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class ArchiveReport:
    """What an archive (or an export) holds, and whether it verifies."""

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


class _Archived:
    """An archived entry read back: its fields as attributes, ``occurred_at`` a moment again."""

    def __init__(self, data: dict[str, Any], chain: Chain) -> None:
        missing = [name for name in ("seq", "occurred_at", "prev_hash", "hash", *chain.fields) if name not in data]
        if missing or not isinstance(data["seq"], int):
            raise ValueError(f"missing {', '.join(missing)}" if missing else "its seq is not a number")
        self.__dict__.update(data)
        self.id = data.get("id")
        self.occurred_at = parse_timestamp_text(data["occurred_at"])


def _read(lines: Iterable[bytes], chain: Chain) -> tuple[list[_Archived], dict | None, str, ChainBreak | None]:
    """The entries, the manifest, the SHA-256 of the entries' lines, and a line that is no entry."""
    entries: list[_Archived] = []
    digest, manifest = hashlib.sha256(), None
    for number, raw in enumerate(lines, start=1):
        if not raw.strip():
            continue
        if manifest is not None:
            return entries, manifest, "", ChainBreak(None, None, f"line {number}: data after the manifest")
        try:
            data = json.loads(raw)
        except ValueError as error:
            return entries, None, "", ChainBreak(None, None, f"line {number} is not JSON: {error}")
        if isinstance(data, dict) and "manifest" in data:
            manifest = data["manifest"]
            continue
        digest.update(raw if raw.endswith(b"\n") else raw + b"\n")
        try:
            entries.append(_Archived(data, chain))
        except (AttributeError, TypeError, ValueError) as error:
            return entries, None, "", ChainBreak(None, None, f"line {number} is not an entry of {chain.name}: {error}")
    return entries, manifest, digest.hexdigest(), None


def verify_lines(lines: Iterable[bytes], chain: Chain, fmt: ArchiveFormat, name: str = "") -> ArchiveReport:
    """Verify an archive (entries + manifest) or an export (entries only, where ``fmt.exports``).

    An archive's entries must chain from the manifest's ``start_hash``, end at its last entry, and
    hash (as bytes) to its ``records_sha256``; an export only has to be a contiguous, unmodified
    stretch of the chain."""
    entries, manifest, digest, broken = _read(lines, chain)
    if broken is not None:
        return ArchiveReport(name, len(entries), None, None, None, None, manifest is not None, broken)
    first, last = (entries[0], entries[-1]) if entries else (None, None)
    if manifest is not None:
        start_seq, start_hash = manifest.get("first_seq", 1) - 1, manifest.get("start_hash")
    else:
        start_seq, start_hash = (first.seq - 1, first.prev_hash) if first else (0, GENESIS_HASH)
    broken = verify_chain(entries, chain.hash_of, start_hash, start_seq) or _manifest_break(manifest, fmt, entries, digest)
    return ArchiveReport(name, len(entries), first.seq if first else None, last.seq if last else None,
                         start_hash, last.hash if last else start_hash, manifest is not None, broken)


def _manifest_break(manifest: dict | None, fmt: ArchiveFormat, entries: list[_Archived], digest: str) -> ChainBreak | None:
    if manifest is None:
        return None if fmt.exports else ChainBreak(None, None, f"no manifest: not a {fmt.name} archive")
    if manifest.get("format") != fmt.name:
        return ChainBreak(None, None, f"unknown archive format {manifest.get('format')!r}")
    if manifest.get("count") != len(entries):
        return ChainBreak(None, None, f"the manifest counts {manifest.get('count')} records but the file has "
                                      f"{len(entries)} (records removed or added)")
    if entries and (manifest.get(fmt.end_keys[0]), manifest.get(fmt.end_keys[1])) != (entries[-1].seq, entries[-1].hash):
        return ChainBreak(entries[-1].seq, None, "the manifest's last record differs from the file's last record")
    if manifest.get("records_sha256") != digest:
        return ChainBreak(None, None, "the records' checksum differs from the manifest's")
    return None


def verify_archive(path: Path, chain: Chain, fmt: ArchiveFormat) -> ArchiveReport:
    with path.open("rb") as handle:
        return verify_lines(handle, chain, fmt, path.name)


def continues(previous: ArchiveReport, report: ArchiveReport) -> bool:
    """Whether ``report``'s entries follow ``previous``'s (no gap, the same hash between them)."""
    if report.first_seq is None or previous.last_seq is None:
        return True
    return report.first_seq == previous.last_seq + 1 and report.start_hash == previous.last_hash


def anchor_findings(session: Session, chain: Chain, last: ArchiveReport, path: Path) -> list[tuple[bool, str]]:
    """The last archive against the chain's anchor in the database, as (fine, what) lines: when it
    ends where the chain now starts, its end hash must be the anchor's, and when it is the file the
    purge wrote, its SHA-256 the one recorded then. Nothing when it ends elsewhere (an older archive)."""
    anchor = chain.anchor.row(session)
    if anchor is None or last.last_seq is None or last.last_seq != anchor.purged_through_seq:
        return []
    findings = [(False, "its last hash differs from the database's purge anchor") if last.last_hash != anchor.purged_through_hash
                else (True, f"matches the database's purge anchor (#{anchor.purged_through_seq})")]
    if anchor.archive_name == last.name and file_sha256(path) != anchor.archive_sha256:
        findings.append((False, "file checksum differs from the one recorded at purge"))
    return findings


# --- the archives the purges recorded ---------------------------------------------------------

def confirm_archive(name: str, sha256: str, folders: Iterable[Path]) -> tuple[str, str] | None:
    """Whether the archive ``name`` a purge wrote (and recorded with its file's ``sha256``) is in one
    of ``folders`` (the one the purge recorded first, then where such archives are kept) with that
    checksum: None when it is, else why not (English, Japanese). A deleted archive is the only copy
    of the entries purged; an altered one no longer proves them."""
    searched = [folder for folder in dict.fromkeys(folders)]
    if not name or Path(name).name != name:
        return (f"the archive name {name!r} recorded by the purge is not a file name",
                f"削除時に記録されたアーカイブ名 {name!r} はファイル名ではありません。")
    for folder in searched:
        path = folder / name
        if path.is_file():
            if file_sha256(path) != sha256:
                return (f"archive {path} was altered: its SHA-256 differs from the one recorded at purge",
                        f"アーカイブ {path} が変更されています（SHA-256 が削除時の記録と一致しません）。")
            return None
    places = " or ".join(str(folder) for folder in searched) or "no folder"
    places_ja = "・".join(str(folder) for folder in searched) or "（フォルダなし）"
    return (f"archive {name} recorded by the purge is missing (looked in {places}): the entries it holds exist nowhere else",
            f"削除時に記録されたアーカイブ {name} が見つかりません（{places_ja}）。そこに保存した記録は他に残っていません。")
