"""The gateway's counted calls made durable without a commit per call: a local write-ahead log
(issue 36, item 7; docs/gateway.md, "Counting").

* **Append before the answer.** :meth:`CallLog.append` writes the call's usage event (one JSON line,
  built by :func:`usage.metering.gateway_call_event`) to this process's open *segment*
  file and returns once the line is on disk (``fdatasync``). Group commit: callers arriving while a
  flush runs queue their lines; when it ends one of them writes and flushes them all at once and
  every one of them returns. So a call answered 200 is on disk before the answer leaves, and many
  concurrent calls share one flush. A flush that fails raises :class:`CallLogUnavailable` to every
  caller of that group (the gateway answers 503, never an uncounted 200); the segment is then
  sealed and the next call opens a new one.
* **Segments and their owners.** A segment is ``<host>-<pid>-<ns>-<n>.calls`` in the log's
  directory. Its writer holds an exclusive ``flock`` on it from before it has that name (it is made
  under a ``.open`` name, locked, then renamed) while it writes to it; the kernel releases the lock
  when the process dies, however it dies. :meth:`CallLog.rotate` seals the open segment (no more
  lines go to it), puts it on the disk and lets go of its lock: a sealed segment is the folder's.
* **Folding, in a process of its own.** :func:`fold_file` reads a segment's events and records them
  through the usage ingest (:func:`usage.metering.fold_gateway_calls`) in one transaction,
  which also records the segment's name (``gateway_folded_segment``), then removes the file; a
  segment whose name is recorded already (a crash between the commit and the removal) is removed
  unread, so the dataset use its lines carry is added once. The ingest knows an event by its
  ``event_id`` and instant, so the same lines folded twice otherwise (two folders at once, a copy)
  count once. The folder (:func:`fold_orphans`, run in a loop by ``renkei gateway fold``) folds every
  segment nobody holds a lock on: the sealed ones, and a dead process's, whatever state it left.
  While it runs it holds the directory's :data:`FOLDER_LOCK` (:func:`hold_folder`); a writer that
  finds nobody holding it folds in its own process instead (:func:`folder_running`), so calls never
  wait on disk for a folder that is not there. A writer learns that its sealed segment was folded
  when the file is gone (removed only after the commit): :meth:`CallLog.collect_folded`.
* **A torn line** (a process killed in the middle of a write) is skipped: its caller never got an
  answer. A call whose line reached the file but whose flush failed (answered 503) may still be
  counted when the line is read back; a call answered 200 is never lost.

No Flask here; the web shell (admin/service/gateway_calls.py) gives each process its log and a thread that
seals it, and runs the folder.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import fcntl
import itertools
import json
import logging
import os
import socket
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from core.actor import Actor
from core.errors import Unavailable
from usage import metering

log = logging.getLogger(__name__)

SUFFIX = ".calls"
OPENING = ".open"  # a segment being made: not yet locked, never folded
FOLDER_LOCK = "folder.lock"  # held (exclusive flock) by the directory's folder process while it runs
RECENT_IDS = 100_000  # event ids this process appended, remembered to answer a repeat "not counted"
# A segment is made this long, filled with zeros and flushed, before it takes lines: a flush of lines
# written into it then writes data only (no file size, no extents to record), a tenth of the cost
# of a flush after an append (measured on ext4, about 0.08 ms against 4 ms). About 7,000 calls.
SEGMENT_BYTES = 1 << 20
# The spare made at a rotation is sized to the need: twice what the segment just sealed took, at
# least this (about 450 calls), at most SEGMENT_BYTES. A process rotating every 0.5 s at 1,800 calls/s
# then zero-fills about 270 KiB a rotation instead of 1 MiB: less of the disk taken from the calls'
# own flushes, which wait behind it. A burst past the spare's room makes a full segment (one group waits).
MIN_SPARE_BYTES = 64 << 10


class CallLogUnavailable(Unavailable):
    """The call's count could not be made durable: the call must not pass (503)."""

    def __init__(self, error: OSError) -> None:
        super().__init__(
            f"The API call could not be counted ({error.strerror or error}); it was not let through. Try again shortly.",
            "API 呼び出しを利用実績として記録できなかったため、通していません。しばらくしてから再度お試しください。",
            reason="check_unavailable")


@dataclasses.dataclass
class Segment:
    path: Path
    fd: int  # open for writing, holding the exclusive flock
    capacity: int  # bytes made (zeros) before the first line
    offset: int = 0  # where the next line goes
    flushed: int = 0  # bytes known to be on the disk
    lines: int = 0
    broken: bool = False  # a write or flush failed: sealed at once
    events: list[dict[str, Any]] = dataclasses.field(default_factory=list)  # answered: not yet folded


class _Group:
    """The lines one flush writes, and its outcome."""

    __slots__ = ("lines", "events", "done", "error")

    def __init__(self) -> None:
        self.lines: list[bytes] = []
        self.events: list[dict[str, Any]] = []
        self.done = False
        self.error: OSError | None = None


def _write_all(fd: int, data: bytes, offset: int) -> None:
    view = memoryview(data)
    while view:
        written = os.pwrite(fd, view, offset)
        view, offset = view[written:], offset + written


def _fsync_directory(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@dataclasses.dataclass(frozen=True)
class Folded:
    files: int
    events: int  # lines read back
    counted: int  # events newly counted (not replays, not repeats of a request id)


class CallLog:
    """One process's log of counted calls (see the module's text). ``sync`` True: each group is
    flushed to the disk (``fdatasync``) before its callers are answered, so an answered call
    survives a crash of the host too. False: each group is written to the operating system before
    the answer (it survives the process's death, a SIGKILL included, as the page cache outlives
    it) and :meth:`flush` (a thread calling it every few milliseconds) puts it on the disk: a crash
    of the host may lose the calls of that last moment, as ``synchronous_commit off`` would."""

    def __init__(self, directory: str | os.PathLike, *, sync: bool = True, segment_bytes: int = SEGMENT_BYTES) -> None:
        self.directory = Path(directory)
        self.segment_bytes = segment_bytes  # the largest segment made ahead (and the size a full one is replaced by)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.sync = sync
        self.pid = os.getpid()
        self._cond = threading.Condition(threading.Lock())
        self._segment: Segment | None = None
        self._group = _Group()
        self._flushing = False
        self._sealed: list[Segment] = []  # sealed, lock let go, not known to be folded yet
        self._names = itertools.count()
        self._fold_lock = threading.Lock()
        self._sync_lock = threading.Lock()  # a segment's fd is not closed during a flush of it
        self._closed = False
        self._recent: dict[str, float] = {}  # event id -> when appended (time.monotonic)
        self._spare: Segment | None = None  # made by the folder ahead of need, so a call never waits for one

    # --- writing --------------------------------------------------------------------------------

    def _open_segment(self, at_least: int = 0, size: int | None = None) -> Segment:
        """A new segment of ``size`` (default ``segment_bytes``) zeros, or ``at_least``, flushed, locked, then named."""
        stem = f"{socket.gethostname()}-{self.pid}-{time.time_ns()}-{next(self._names)}"
        opening = self.directory / f"{stem}{OPENING}"
        capacity = max(self.segment_bytes if size is None else size, at_least)
        fd = os.open(opening, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # held until folded: nobody else folds it
            _write_all(fd, bytes(capacity), 0)
            os.fsync(fd)
            path = self.directory / f"{stem}{SUFFIX}"
            os.rename(opening, path)
            _fsync_directory(self.directory)  # the file's name survives a crash of the host
        except OSError:
            os.close(fd)
            opening.unlink(missing_ok=True)
            raise
        return Segment(path, fd, capacity)

    def append(self, event: dict[str, Any]) -> bool:
        """Write ``event`` and return True once it is durable (shared flush); :class:`CallLogUnavailable`
        if it cannot be. False, writing nothing, for an ``event_id`` this log took within the gateway's
        repeat window (the same request asked again; the fold drops one another process took)."""
        line = json.dumps(event, ensure_ascii=False, separators=(",", ":")).encode() + b"\n"
        event_id, clock = event["event_id"], time.monotonic()
        with self._cond:
            seen = self._recent.get(event_id)
            if seen is not None and clock - seen < metering.GATEWAY_REPEAT_WINDOW.total_seconds():
                return False
            group = self._group
            group.lines.append(line)
            group.events.append(event)
            while not group.done:
                if self._flushing:
                    self._cond.wait()
                else:
                    self._flush_group()
            if group.error is None:
                self._remember(event_id, clock)
        if group.error is not None:
            raise CallLogUnavailable(group.error)
        return True

    def _remember(self, event_id: str, clock: float) -> None:
        if len(self._recent) >= RECENT_IDS:  # the older half goes (a dict keeps the order of insertion)
            self._recent = dict(itertools.islice(self._recent.items(), RECENT_IDS // 2, None))
        self._recent[event_id] = clock

    def _flush_group(self) -> None:
        """Lead one flush of the waiting lines (called holding the condition's lock; released meanwhile)."""
        flushing, self._group = self._group, _Group()
        self._flushing = True
        # until the lines are written (whatever stops it, its callers are refused, never answered 200)
        error: OSError | None = OSError(0, "the call log could not be written")
        try:
            if self._closed:
                raise OSError(0, "the call log is closed")
            data = b"".join(flushing.lines)
            if self._segment is not None and self._segment.offset + len(data) > self._segment.capacity:
                self._seal()  # full: the folder takes it
            if self._segment is None:
                self._segment = self._take_spare(len(data)) or self._open_segment(len(data))
            segment = self._segment
            self._cond.release()
            try:
                _write_all(segment.fd, data, segment.offset)
                if self.sync:
                    os.fdatasync(segment.fd)
                error = None
            except OSError as failed:
                error = failed
            finally:
                self._cond.acquire()
            segment.offset += len(data)
            if error is None:
                segment.lines += len(flushing.lines)
                segment.events.extend(flushing.events)
                if self.sync:
                    segment.flushed = segment.offset
            else:  # what the file holds now is unknown: no more lines go to it
                log.error("gateway call log %s: a write failed (%s); the calls were refused (503)", segment.path, error)
                segment.broken = True
                self._seal()
        except OSError as failed:  # no segment could be opened (the disk full, the folder gone)
            log.error("gateway call log in %s: no segment could be opened (%s); the calls were refused (503)",
                      self.directory, failed)
            error = failed
        finally:
            self._flushing = False
            flushing.done, flushing.error = True, error
            self._cond.notify_all()

    def _take_spare(self, size: int) -> Segment | None:
        spare = self._spare
        if spare is None or spare.capacity < size:
            return None
        self._spare = None
        return spare

    def _seal(self) -> None:
        if self._segment is not None:
            self._sealed.append(self._segment)
            self._segment = None

    def _release_sealed(self) -> None:
        """Put every sealed segment still open on the disk and let go of its lock: the folder's now.
        One whose flush fails keeps its lock (tried again at the next rotation); its calls stay counted."""
        with self._cond:
            held = [segment for segment in self._sealed if segment.fd >= 0]
        for segment in held:
            with self._sync_lock:
                if segment.fd < 0:
                    continue
                if segment.flushed < segment.offset and not segment.broken:
                    try:
                        os.fdatasync(segment.fd)
                    except OSError as error:
                        log.error("gateway call log %s could not be flushed to the disk (%s); kept", segment.path, error)
                        continue
                    segment.flushed = segment.offset
                os.close(segment.fd)
                segment.fd = -1

    def collect_folded(self) -> list[dict[str, Any]]:
        """The answered events of this log's sealed segments that a folder has folded since the last call
        (their file gone: removed only after its commit); they are forgotten here."""
        with self._cond:
            done = [segment for segment in self._sealed if segment.fd < 0 and not segment.path.exists()]
            for segment in done:
                self._sealed.remove(segment)
        return [event for segment in done for event in segment.events]

    def flush(self) -> None:
        """Put what the open segment was given on the disk (with ``sync`` False: a thread's job)."""
        with self._cond:
            segment = self._segment
            if segment is None or segment.flushed == segment.offset:
                return
            offset = segment.offset
        with self._sync_lock:  # not the calls' lock: they go on meanwhile; the fold does not close it meanwhile
            if segment.fd >= 0:
                os.fdatasync(segment.fd)
                segment.flushed = max(segment.flushed, offset)

    def spare_bytes(self, used: int) -> int:
        """The size of the spare made after a segment that took ``used`` bytes (see :data:`MIN_SPARE_BYTES`)."""
        wanted = max(MIN_SPARE_BYTES, 2 * used)
        return min(self.segment_bytes, -(-wanted // 4096) * 4096)  # whole pages

    def rotate(self) -> None:
        """Seal the open segment if it holds anything, and have the next one ready (made here, by the
        folder, not by a call); an empty open segment stays."""
        with self._cond:
            if self._closed or (self._segment is not None and not self._segment.lines and self._spare is None):
                idle = True
            else:
                idle, spare_needed = False, self._spare is None
                used = self._segment.offset if self._segment is not None else self.segment_bytes
        if idle:
            self._release_sealed()  # a segment sealed by a failed write, or whose flush failed before
            return
        spare = self._open_segment(size=self.spare_bytes(used)) if spare_needed else None
        with self._cond:
            while self._flushing:
                self._cond.wait()
            if spare is not None:
                if self._spare is None and not self._closed:
                    self._spare, spare = spare, None
            sealed = self._segment if self._segment is not None and self._segment.lines else None
            if sealed is not None:
                self._seal()
        self._release_sealed()
        if spare is not None:  # not needed after all (closed, or a call made one meanwhile)
            self._close(spare)
            spare.path.unlink(missing_ok=True)

    # --- folding --------------------------------------------------------------------------------

    def fold(self, session_factory: Callable[[], Session], actor: Actor,
             after_commit: Callable[[list[dict[str, Any]]], None] | None = None, *,
             now: dt.datetime | None = None) -> Folded:
        """Fold now, in this process: seal the open segment and let it go, fold every segment of the
        directory nobody holds (this process's sealed ones, a dead process's), then tell
        ``after_commit(events)`` this process's events that are in the database now (the quota
        cache's unfolded counts), whoever folded them."""
        with self._fold_lock:
            self.rotate()
            folded = fold_orphans(self.directory, session_factory, actor, now=now)
            if after_commit is not None:
                after_commit(self.collect_folded())
        return folded

    def close(self) -> None:
        """Stop taking lines (later calls are refused) and let go of the open segments' locks; what they
        hold stays in the directory for a folder."""
        with self._cond:
            while self._flushing:
                self._cond.wait()
            self._closed = True
            self._seal()
            sealed, self._sealed = self._sealed, []
            spare, self._spare = self._spare, None
        for segment in sealed:
            self._close(segment)
        if spare is not None:
            self._close(spare)
            spare.path.unlink(missing_ok=True)

    def _close(self, segment: Segment) -> None:
        with self._sync_lock:
            if segment.fd >= 0:
                os.close(segment.fd)
                segment.fd = -1

    def discard(self) -> None:
        """Close and delete every segment of the directory (tests: the database they described is gone)."""
        self.close()
        for path in self.directory.glob("*"):
            if path.suffix in (SUFFIX, OPENING):
                path.unlink(missing_ok=True)


def read_events(path: Path) -> list[dict[str, Any]]:
    """The events of a segment; a torn or unreadable line is skipped (its caller was never answered)."""
    events = []
    with open(path, "rb") as file:
        for number, line in enumerate(file.read().split(b"\n"), 1):
            line = line.strip(b"\0")  # the zeros the segment was made of, after its last line
            if not line:
                continue
            try:
                event = json.loads(line)
            except ValueError:
                log.warning("gateway call log %s line %d: not a whole event (a write cut short); skipped", path, number)
                continue
            if isinstance(event, dict):
                events.append(event)
    return events


def fold_file(path: Path, session_factory: Callable[[], Session], actor: Actor, *,
              now: dt.datetime | None = None) -> tuple[list[dict[str, Any]], int]:
    """Record the events of one segment (one transaction) and remove the file: (events read, newly counted).
    The caller holds the segment's lock (its own, or one it took from a dead process)."""
    events = read_events(path)
    counted = 0
    if events:
        with session_factory() as session:
            if metering.segment_already_folded(session, path.name):  # committed, then stopped before the removal
                log.info("gateway call log %s was folded already; removed", path.name)
            else:
                counted = metering.fold_gateway_calls(session, actor, events, now=now)
                metering.note_segment_folded(session, path.name, now)
                session.commit()
    path.unlink(missing_ok=True)
    return events, counted


def fold_orphans(directory: Path, session_factory: Callable[[], Session], actor: Actor, *,
                 now: dt.datetime | None = None) -> Folded:
    """Fold every segment of ``directory`` whose lock nobody holds (its writer died, or closed it)."""
    files = events = counted = 0
    for path in sorted(directory.glob(f"*{SUFFIX}")):
        try:
            fd = os.open(path, os.O_RDONLY)
        except FileNotFoundError:  # folded and removed meanwhile
            continue
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:  # a live writer's, or another folder's now
                continue
            if os.fstat(fd).st_nlink == 0:  # folded and removed between the listing and the lock
                continue
            read, newly = fold_file(path, session_factory, actor, now=now)
            files, events, counted = files + 1, events + len(read), counted + newly
            log.debug("gateway call log: folded %s (%d events, %d counted)", path.name, len(read), newly)
        finally:
            os.close(fd)
    return Folded(files, events, counted)


def hold_folder(directory: str | os.PathLike, *, wait: bool = True) -> int | None:
    """Take the directory's :data:`FOLDER_LOCK` for this process (the one folder of a host's call log):
    its file descriptor, held until closed or the process ends; None if another folder holds it
    and ``wait`` is False."""
    Path(directory).mkdir(parents=True, exist_ok=True)
    fd = os.open(Path(directory) / FOLDER_LOCK, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX if wait else fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None
    return fd


def folder_running(directory: str | os.PathLike) -> bool:
    """Whether a folder process holds the directory's :data:`FOLDER_LOCK` now."""
    try:
        fd = os.open(Path(directory) / FOLDER_LOCK, os.O_RDONLY)
    except FileNotFoundError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        return False
    except BlockingIOError:
        return True
    finally:
        os.close(fd)  # a shared lock taken here goes with it
