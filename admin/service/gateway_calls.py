"""Each process's log of the gateway's counted calls, the thread that seals it, and the folder
process that records the sealed segments in the database (issue 36, item 7; docs/gateway.md, "Counting").

``GET /api/v1/gateway/auth`` counts an allowed call by appending its usage event to this process's
:class:`usage.call_log.CallLog` (durable before the answer; no database commit per call).
:class:`GatewayCalls` keeps that log and a daemon thread, started by the first gateway check the
process serves (after a fork: each gunicorn worker its own), that every
``RENKEI_GATEWAY_FOLD_SECONDS`` (default 0.5; 0: no thread, folded only by :func:`fold_now`) seals
the open segment and lets go of it, and takes the calls a folder has committed out of the
process's unfolded counts (its quota decisions then read them from the database).

**The folder** is a process of its own, ``renkei gateway fold`` (:func:`run_folder`), one per host,
next to the server: every ``RENKEI_GATEWAY_FOLD_SECONDS`` it records every segment nobody holds (the
sealed ones, and what a process that ended left: a worker killed, the host restarted) in the
database through the usage ingest. So the request processes spend no time in the database for
the counts. While no folder runs (it holds the directory's lock: :func:`usage.call_log.folder_running`),
each process's thread folds in its process, as a fallback, and says so in the log once.

The log's folder: ``RENKEI_GATEWAY_CALL_LOG_DIR`` (default ``<RENKEI_VAR_DIR>/gateway-calls``), on a
local disk of the host, shared by that host's processes. A fold that fails (the database away) is
tried again at the next round; the calls stay on disk meanwhile.
"""

from __future__ import annotations

import os
import threading
import weakref
from pathlib import Path

from flask import Flask, current_app

from core.actor import Actor
from usage import metering, quotas
from usage import call_log
from usage.call_log import CallLog, Folded

EXTENSION = "renkei_gateway_calls"
_MAKING = threading.Lock()  # one log per process: two first checks at once make one
# who folds: the metering role's right to ingest, as the gateway's own credential has it
FOLDER = Actor(issuer="urn:renkei:gateway-call-log", subject="gateway-call-log", name="gateway call log",
               roles=frozenset({"metering-client"}))


def fold_interval(app: Flask) -> float:
    return float(app.config.get("RENKEI_GATEWAY_FOLD_SECONDS", 0.5))


def sync_mode(app: Flask) -> str:
    """``each``: every group of calls flushed to the disk before they are answered; ``interval``:
    written to the operating system before the answer, flushed every ``RENKEI_GATEWAY_CALL_LOG_FLUSH_SECONDS``."""
    mode = str(app.config.get("RENKEI_GATEWAY_CALL_LOG_SYNC") or "interval")
    return mode if mode in ("each", "interval") else "each"  # a mistyped value gets the stricter mode


def log_directory(app: Flask) -> Path:
    return Path(app.config.get("RENKEI_GATEWAY_CALL_LOG_DIR") or Path(app.config["RENKEI_VAR_DIR"]) / "gateway-calls")


class GatewayCalls:
    """One process's call log and its folding thread."""

    def __init__(self, app: Flask, engine) -> None:
        self.pid = os.getpid()
        self.log = CallLog(log_directory(app), sync=sync_mode(app) == "each")
        self.engine = engine
        self.cache = quotas.quota_cache(engine)
        self.failures = 0
        self._app = weakref.ref(app)
        self._thread: threading.Thread | None = None
        self._flusher: threading.Thread | None = None
        self.flush_seconds = float(app.config.get("RENKEI_GATEWAY_CALL_LOG_FLUSH_SECONDS") or 0.01)
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self.folding_here = False  # no folder process was found: this process folds (logged once)

    def session(self):
        from sqlalchemy.orm import Session

        return Session(bind=self.engine)

    def _settle(self, events: list[dict]) -> None:
        """The process's own counts in ``events`` are in the database now: out of its unfolded counts,
        and the entries they touch read again here, in this thread, rather than by the next check."""
        from usage.event_checks import _parse_timestamp

        # summed by tenant, metric and hour first (the log writes UTC times, and a UTC hour lies in one
        # month: Japan's months begin on a whole hour), so that a round of a thousand calls holds this
        # process's interpreter for a few quota updates, not a thousand
        sums: dict[tuple[str, str, str], list] = {}
        for event in events:
            if not metering.is_counted_call(event):  # an organisation's dataset use: no quota
                continue
            key = (event["tenant"], event["metric"], event["timestamp"][:13])
            found = sums.get(key)
            if found is None:
                sums[key] = [event["timestamp"], int(event["quantity"])]
            else:
                found[1] += int(event["quantity"])
        touched = set()
        for (tenant, metric, _hour), (timestamp, quantity) in sums.items():
            self.cache.note_folded(tenant, metric, _parse_timestamp(timestamp), quantity)
            touched.add((tenant, metric))
        if touched:
            with self.session() as session:
                for tenant, metric in sorted(touched):
                    try:
                        self.cache.check(session, tenant, metric)
                    except Exception:  # noqa: BLE001  (a tenant gone, the database away: the next check reads it)
                        session.rollback()

    def fold(self) -> Folded:
        """Fold in this process, now (tests, the fallback when no folder runs)."""
        return self.log.fold(self.session, FOLDER, self._settle)

    def seal(self) -> None:
        """One round of the thread: seal and let go of the open segment, have it folded (by the folder
        process, or here when none runs), and settle what was folded."""
        if call_log.folder_running(self.log.directory):
            if self.folding_here:
                self._log("info", "gateway calls: a folder process runs again for %s; this process only writes",
                          self.log.directory)
                self.folding_here = False
            self.log.rotate()
            self._settle(self.log.collect_folded())
            return
        if not self.folding_here:
            self._log("warning", "gateway calls: no folder process runs for %s (renkei gateway fold); "
                                 "this process folds its calls itself meanwhile", self.log.directory)
            self.folding_here = True
        self.fold()

    def _log(self, level: str, message: str, *args) -> None:
        app = self._app()
        if app is not None:
            getattr(app.logger, level)(message, *args)

    def ensure_folding(self) -> None:
        if not self.log.sync and (self._flusher is None or not self._flusher.is_alive()):
            with self._lock:
                if self._flusher is None or not self._flusher.is_alive():
                    self._flusher = threading.Thread(target=self._flush, name="renkei-gateway-flush", daemon=True)
                    self._flusher.start()
        app = self._app()
        if app is None or fold_interval(app) <= 0:
            return
        thread = self._thread
        if thread is not None and thread.is_alive():
            return
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="renkei-gateway-fold", daemon=True)
                self._thread.start()

    def _flush(self) -> None:
        while not self._stop.wait(self.flush_seconds):
            try:
                self.log.flush()
            except OSError as error:  # the disk: the written lines stay in the operating system's care
                app = self._app()
                if app is not None:
                    app.logger.error("gateway call log could not be flushed to the disk: %s", error)
                del app
                self._stop.wait(1)

    def _run(self) -> None:
        while not self._stop.is_set():
            app = self._app()
            if app is None or app.extensions.get(EXTENSION) is not self:
                return
            interval = fold_interval(app)
            del app
            try:
                self.seal()
                self.failures = 0
            except Exception as error:  # noqa: BLE001  (the database away: the calls stay on disk, tried again)
                self.failures += 1
                self._log("warning", "gateway calls could not be sealed or folded (%s: %s); tried again",
                          type(error).__name__, error)
            self._stop.wait(max(interval, 0.05) * min(2 ** self.failures, 20))

    def stop(self) -> None:
        self._stop.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=30)


def calls(app: Flask | None = None) -> GatewayCalls:
    """This process's call log (made on first use; a forked process makes its own)."""
    from admin.extensions import db

    app = app or current_app._get_current_object()
    found = app.extensions.get(EXTENSION)
    if isinstance(found, GatewayCalls) and found.pid == os.getpid():
        return found
    with _MAKING:
        found = app.extensions.get(EXTENSION)
        if not isinstance(found, GatewayCalls) or found.pid != os.getpid():
            with app.app_context():
                engine = db.engine
            found = app.extensions[EXTENSION] = GatewayCalls(app, engine)
    return found


def keep_folding() -> GatewayCalls:
    """What a gateway check does about the fold: make sure this process's thread runs."""
    found = calls()
    found.ensure_folding()
    return found


def fold_now(app: Flask) -> Folded:
    """Fold what this process and the ended ones logged, now (tests, `renkei` commands)."""
    return calls(app).fold()


def forget(app: Flask) -> None:
    """Tests: the database was wiped, so the calls logged for it go too (and their unfolded counts)."""
    found = app.extensions.pop(EXTENSION, None)
    if isinstance(found, GatewayCalls) and found.pid == os.getpid():
        found.stop()
        found.log.discard()
        found.cache.forget_unfolded()
    else:
        CallLog(log_directory(app)).discard()


def run_folder(app: Flask, stop: threading.Event, *, seconds: float | None = None, rounds: int | None = None,
               on_round=None, lock: bool = True) -> int:
    """The folder process's loop (``renkei gateway fold``): take the directory's folder lock (waiting
    while another folder holds it), then every ``seconds`` (``RENKEI_GATEWAY_FOLD_SECONDS``) fold
    every segment nobody holds, until ``stop`` is set or after ``rounds``. A round that fails (the
    database away) is logged and tried again after a growing wait. ``on_round(folded)``: told each
    round's outcome. ``lock`` False: fold without the folder lock (``--once`` beside a running folder;
    each segment's own lock keeps two folders off one segment). Returns the events newly counted."""
    from sqlalchemy.orm import Session

    from admin.extensions import db

    directory = log_directory(app)
    seconds = seconds if seconds is not None else (fold_interval(app) or 0.5)
    with app.app_context():
        engine = db.engine
    held = call_log.hold_folder(directory) if lock else None
    counted = failures = done = 0
    try:
        while not stop.is_set() and (rounds is None or done < rounds):
            try:
                folded = call_log.fold_orphans(directory, lambda: Session(bind=engine), FOLDER)
                counted, failures = counted + folded.counted, 0
                if on_round is not None:
                    on_round(folded)
            except Exception as error:  # noqa: BLE001  (the database away: the calls stay on disk, tried again)
                failures += 1
                app.logger.warning("gateway calls could not be folded into the database (%s: %s); tried again",
                                   type(error).__name__, error)
            done += 1
            if rounds is None or done < rounds:
                stop.wait(max(seconds, 0.05) * min(2 ** failures, 20))
    finally:
        if held is not None:
            os.close(held)
    return counted
