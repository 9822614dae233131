"""The gateway's counted calls made durable without a commit per call: a local write-ahead log
(issue 36, item 7; docs/gateway.md, "Counting").

* **Append before the answer.** :meth:`CallLog.append` writes the call's usage event (one JSON line,
  built by :func:`tenancy.usage.metering.gateway_call_event`) to this process's open *segment*
  file and returns once the line is on disk (``fdatasync``). Group commit: callers arriving while a
  flush runs queue their lines; when it ends one of them writes and flushes them all at once and
  every one of them returns. So a call answered 200 is on disk before the answer leaves, and many
  concurrent calls share one flush. A flush that fails raises :class:`CallLogUnavailable` to every
  caller of that group (the gateway answers 503, never an uncounted 200); the segment is then
  sealed and the next call opens a new one.
* **Segments and their owners.** A segment is ``<host>-<pid>-<ns>-<n>.calls`` in the log's
  directory. Its writer holds an exclusive ``flock`` on it from before it has that name (it is made
  under a ``.open`` name, locked, then renamed) until it has been folded; the kernel releases the
  lock when the process dies, however it dies. :meth:`CallLog.rotate` seals the open segment (no
  more lines go to it) and a new one is opened.
* **Folding.** :func:`fold_file` reads a segment's events and records them through the usage
  ingest (:func:`tenancy.usage.metering.fold_gateway_calls`) in one transaction, then removes the
  file. The ingest knows an event by its ``event_id`` and instant, so folding the same lines twice
  (a crash between the commit and the removal, two folders at once) counts them once. A folder
  folds its own sealed segments, and every segment nobody holds a lock on (a dead process's
  leftovers, at start-up or whenever a folder looks): :meth:`CallLog.fold`.
* **A torn line** (a process killed in the middle of a write) is skipped: its caller never got an
  answer. A call whose line reached the file but whose flush failed (answered 503) may still be
  counted when the line is read back; a call answered 200 is never lost.

No Flask here; the web shell (admin/gateway_calls.py) gives each process its log and a thread that
folds it.
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
from tenancy.usage import metering

log = logging.getLogger(__name__)

SUFFIX = ".calls"
OPENING = ".open"  # a segment being made: not yet locked, never folded
RECENT_IDS = 100_000  # event ids this process appended, remembered to answer a repeat "not counted"
# A segment is made this long, filled with zeros and flushed, before it takes lines: a flush of lines
# written into it then writes data only (no file size, no extents to record), a tenth of the cost
# of a flush after an append (measured on ext4, about 0.08 ms against 4 ms). About 7,000 calls.
SEGMENT_BYTES = 1 << 20


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


class _Group:
    """The lines one flush writes, and its outcome."""

    __slots__ = ("lines", "done", "error")

    def __init__(self) -> None:
        self.lines: list[bytes] = []
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

    def __init__(self, directory: str | os.PathLike, *, sync: bool = True) -> None:
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.sync = sync
        self.pid = os.getpid()
        self._cond = threading.Condition(threading.Lock())
        self._segment: Segment | None = None
        self._group = _Group()
        self._flushing = False
        self._sealed: list[Segment] = []
        self._names = itertools.count()
        self._fold_lock = threading.Lock()
        self._sync_lock = threading.Lock()  # a segment's fd is not closed during a flush of it
        self._closed = False
        self._recent: dict[str, float] = {}  # event id -> when appended (time.monotonic)
        self._spare: Segment | None = None  # made by the folder ahead of need, so a call never waits for one

    # --- writing --------------------------------------------------------------------------------

    def _open_segment(self, at_least: int = 0) -> Segment:
        """A new segment of :data:`SEGMENT_BYTES` zeros (or ``at_least``), flushed, locked, then named."""
        stem = f"{socket.gethostname()}-{self.pid}-{time.time_ns()}-{next(self._names)}"
        opening = self.directory / f"{stem}{OPENING}"
        capacity = max(SEGMENT_BYTES, at_least)
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

    def rotate(self) -> None:
        """Seal the open segment if it holds anything, and have the next one ready (made here, by the
        folder, not by a call); an empty open segment stays."""
        with self._cond:
            if self._closed or (self._segment is not None and not self._segment.lines and self._spare is None):
                return
            spare_needed = self._spare is None
        spare = self._open_segment() if spare_needed else None
        with self._cond:
            while self._flushing:
                self._cond.wait()
            if spare is not None:
                if self._spare is None and not self._closed:
                    self._spare, spare = spare, None
            sealed = self._segment if self._segment is not None and self._segment.lines else None
            if sealed is not None:
                self._seal()
        if sealed is not None and sealed.flushed < sealed.offset:
            with self._sync_lock:
                if sealed.fd >= 0:
                    os.fdatasync(sealed.fd)
                    sealed.flushed = sealed.offset
        if spare is not None:  # not needed after all (closed, or a call made one meanwhile)
            self._close(spare)
            spare.path.unlink(missing_ok=True)

    # --- folding --------------------------------------------------------------------------------

    def fold(self, session_factory: Callable[[], Session], actor: Actor,
             after_commit: Callable[[list[dict[str, Any]]], None] | None = None, *,
             now: dt.datetime | None = None) -> Folded:
        """Seal the open segment, then fold this process's sealed segments and every segment of the
        directory nobody holds (a dead process's). ``after_commit(events)``: told the events of this
        process's own segments once they are committed (the quota cache's unfolded counts)."""
        with self._fold_lock:
            self.rotate()
            with self._cond:
                own = list(self._sealed)
            files = events = counted = 0
            for segment in own:
                read, newly = fold_file(segment.path, session_factory, actor, now=now)
                with self._cond:
                    self._sealed.remove(segment)
                self._close(segment)  # its lock released only now that it is folded and gone
                files, events, counted = files + 1, events + len(read), counted + newly
                if after_commit is not None:
                    after_commit(read)
            orphans = fold_orphans(self.directory, session_factory, actor, now=now)
        return Folded(files + orphans.files, events + orphans.events, counted + orphans.counted)

    def close(self) -> None:
        """Stop taking lines (later calls are refused) and let go of the open segments' locks; what they
        hold stays in the directory for a folder (another process's, or the next start's)."""
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
            counted = metering.fold_gateway_calls(session, actor, events, now=now)
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
            log.info("gateway call log: folded %s, left by a process that ended (%d events, %d counted)",
                     path.name, len(read), newly)
        finally:
            os.close(fd)
    return Folded(files, events, counted)
