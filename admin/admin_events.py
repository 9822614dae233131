"""Keycloak's admin events read by a thread of each process, never by a request (issue 36).

A person disabled or deleted in Keycloak's console, a role or group taken from them there (or from a
group they are in, or from a composite role they hold; or their group deleted), or an API client
deleted there, is reported in the realm's admin events (and so is a person created,
changed, or put into or taken out of a group, which the people index follows:
:mod:`tenancy.identity.people_index`). :class:`AdminEventsPoller`
reads them every ``RENKEI_ADMIN_EVENTS_INTERVAL`` seconds (default 1) in a daemon thread of the
process, started by the first API request the process serves (after a fork: gunicorn's workers
each start their own). The people named go on the deny list and deleted clients are marked
missing, committed at once in a session of the thread's own; that commit refreshes this process's
deny-list copy (:mod:`tenancy.identity.denylist`), so a person disabled in Keycloak directly is
refused within the interval plus one round trip to Keycloak, as when a request read them.

A request never waits for Keycloak here: it only makes sure the thread runs. When a read fails
(Keycloak stopped, frozen or refusing), the thread backs off, doubling the wait after each failure
up to ``RENKEI_ADMIN_EVENTS_BACKOFF_MAX`` seconds (default 5), and reads again at the interval
after its first success; the token's own expiry still bounds the access meanwhile.
"""

from __future__ import annotations

import os
import threading
import time
import weakref

from flask import Flask, current_app

EXTENSION = "renkei_admin_events"


def interval_of(app: Flask) -> float:
    """Seconds between two reads of Keycloak's admin events (0: never read)."""
    return float(app.config.get("RENKEI_ADMIN_EVENTS_INTERVAL", 1))


class AdminEventsPoller:
    """One process's reader of the admin events (see the module's text)."""

    def __init__(self, app: Flask) -> None:
        start = time.time() - int(app.config.get("RENKEI_ACCESS_TOKEN_SECONDS", 300)) - 60
        self.since_ms = int(start * 1000)
        self.failures = 0
        self.polls = 0  # reads that succeeded
        self._app = weakref.ref(app)
        self._pid: int | None = None
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._wake = threading.Event()

    def ensure_running(self) -> None:
        """Start this process's thread if it does not run (the first request, or the first after a fork)."""
        thread = self._thread
        if thread is not None and self._pid == os.getpid() and thread.is_alive():
            return
        with self._lock:
            if self._thread is not None and self._pid == os.getpid() and self._thread.is_alive():
                return
            self._pid = os.getpid()
            self._thread = threading.Thread(target=self._run, name="renkei-admin-events", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        self._wake.set()

    def thread_ident(self) -> int | None:
        return self._thread.ident if self._thread is not None else None

    def _current(self, app: Flask | None) -> bool:
        """This poller is still its app's (a test or a reset replaces it: the old thread ends)."""
        return app is not None and not self._wake.is_set() and app.extensions.get(EXTENSION) is self

    def _run(self) -> None:
        while True:
            app = self._app()
            if not self._current(app):
                return
            interval = interval_of(app)
            if interval > 0:
                with app.app_context():
                    ok = self.poll_once()
                self.failures = 0 if ok else self.failures + 1
            wait = self.next_wait(interval, app)
            del app  # the thread keeps no app alive while it waits
            if self._wake.wait(wait):
                return

    def next_wait(self, interval: float, app: Flask) -> float:
        """The interval; after failures, the circuit breaker's doubled wait (at most the bound)."""
        if interval <= 0:
            return 0.5  # switched off: look at the setting again soon
        if not self.failures:
            return interval
        bound = float(app.config.get("RENKEI_ADMIN_EVENTS_BACKOFF_MAX", 5))
        return max(interval, min(bound, interval * 2 ** self.failures))

    def poll_once(self) -> bool:
        """Read the events since the last one read and act on them; False when Keycloak could not be read."""
        from sqlalchemy.orm import Session as OwnSession

        from admin.extensions import db
        from admin.identity import identity_directory
        from tenancy.identity import api_clients, denylist, people_index

        try:
            directory = identity_directory()
            events = directory.admin_events(self.since_ms)
            found = denylist.subjects_from_admin_events(events)
            deleted = api_clients.clients_deleted(events)
            if found or deleted:
                with OwnSession(bind=db.engine) as own:
                    for subject, (reason, at) in found.items():
                        denylist.deny(own, [subject], reason, now=at)
                    if deleted:  # a client deleted in Keycloak directly: refused
                        api_clients.mark_missing(own, directory)
                    own.commit()
            # a role taken from a group or a composite role, a group deleted: its people asked of Keycloak
            # after the denials above are committed (a failure here raises, and the events are read again)
            reached, unknown = denylist.subjects_reached(directory, denylist.reaches_from_admin_events(events))
            for words in unknown:
                current_app.logger.warning("admin event not followed to its people: %s", words)
            if reached:
                current_app.logger.info("admin events: %d people whose roles changed through a group or a "
                                        "composite role are denied", len(reached))
                with OwnSession(bind=db.engine) as own:
                    for subject, (reason, at) in reached.items():
                        denylist.deny(own, [subject], reason, now=at)
                    own.commit()
            if events:  # the people index (after the denials: a failure here never holds a denial back)
                with OwnSession(bind=db.engine) as own:
                    if people_index.apply_events(own, directory, events):
                        own.commit()
            if events:  # moved on only once acted upon: a failed write reads them again
                self.since_ms = max(int(e.get("time", 0)) for e in events)
        except Exception as error:  # noqa: BLE001  (Keycloak away, or no view-events before `renkei keycloak bootstrap`)
            # no traceback: formatting one parses source (ast) in this thread, which CPython 3.11 does not
            # allow beside another thread's ast.parse ("AST constructor recursion depth mismatch")
            current_app.logger.warning("admin events could not be read from Keycloak: %s: %s",
                                       type(error).__name__, error)
            return False
        finally:
            db.session.remove()  # the thread's scoped session, if anything used it
        self.polls += 1
        return True


def poller(app: Flask | None = None) -> AdminEventsPoller:
    """This app's reader of the admin events (made on first use)."""
    app = app or current_app._get_current_object()
    found = app.extensions.get(EXTENSION)
    if not isinstance(found, AdminEventsPoller):
        found = app.extensions.setdefault(EXTENSION, AdminEventsPoller(app))
    return found


def keep_reading() -> None:
    """What a request does about the admin events: make sure this process's thread reads them."""
    app = current_app._get_current_object()
    if interval_of(app) > 0:
        poller(app).ensure_running()
