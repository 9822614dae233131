"""A process's memory of tenants' JSON bodies (UTF-8 bytes, as sent) as read by code (the API's most frequent read).

Staleness bound: an entry is served for at most ``max_age`` seconds after the read that made it
(``RENKEI_TENANT_CACHE_SECONDS``, default 1 s; 0 turns the cache off). Any commit in this process
that wrote anything (any statement other than a ``SELECT`` on a connection that then commits: a
tenant's update, a contact's change, a status transition, an import) empties every cache of the
process at once, so a change made in this process is seen by its very next read. A change made
in another process (another worker, another app server, the command line) is seen within
``max_age`` seconds. A read that began before such a commit is not kept (a generation count), so
an older body can never outlive the commit that replaced it. Disposing of an engine (a database
restored under the app) empties them too.

On PostgreSQL a miss loads every tenant's body in one statement (the whole registry, about 1 MB
at 1,741 municipalities; one thread loads while the others asking wait for it), so a process
answers any code from memory for the rest of the bound, and a code the registry does not hold is
answered "not found" from the same snapshot. Pages of the tenant list without filters are cut
from that snapshot (codes in order); filtered pages are kept by their filters, page and the set
of tenants the reader may see. When the app gives the cache a ``refresher`` (PostgreSQL), a
request that finds the snapshot past :data:`REFRESH_AT` of its bound starts one background read
of it, so requests go on being answered from the snapshot still within its bound instead of
waiting for the read every second.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import sqlalchemy as sa

# Bumped by every commit of a connection that wrote: the caches of this process start empty again.
_generation = [0]
_lock = threading.Lock()
_WROTE = "renkei_wrote"


REFRESH_AT = 0.7  # of the bound: the snapshot's age from which one background read renews it
ABSENT = object()  # what get() answers for a code the current snapshot of the whole registry does not hold


class TenantBodyCache:
    """code → (loaded at, generation, JSON body), bounded in size and age; a snapshot of every
    tenant's body (PostgreSQL); list pages by key."""

    def __init__(self, max_age: float = 1.0, max_entries: int = 10_000, max_pages: int = 256,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.max_age = float(max_age)
        self.max_entries = max_entries
        self.max_pages = max_pages
        self._clock = clock
        self._entries: dict[str, tuple[float, int, bytes]] = {}
        self._snapshot: tuple[float, int, dict[str, bytes], list[str]] | None = None
        self._pages: dict[tuple, tuple[float, int, object]] = {}
        self._loading = threading.Lock()
        self.refresher: Callable[[], None] | None = None  # reads the snapshot again and fills it
        self._refreshing = False
        self._refresh_lock = threading.Lock()

    def generation(self) -> int:
        """Taken before a read: pass it to :meth:`put` with what the read found."""
        return _generation[0]

    def _fresh(self, loaded_at: float, generation: int) -> bool:
        return generation == _generation[0] and self._clock() - loaded_at <= self.max_age

    def get(self, code: str) -> bytes | object | None:
        """The kept body of ``code``; :data:`ABSENT` when the registry's snapshot, still within its
        bound, does not hold it; ``None`` when nothing kept answers."""
        entry = self._entries.get(code)
        if entry is not None:
            if self._fresh(entry[0], entry[1]):
                return entry[2]
            self._entries.pop(code, None)
        snapshot = self._snapshot
        if snapshot is not None and self._fresh(snapshot[0], snapshot[1]):
            self._renew_ahead(snapshot[0])
            return snapshot[2].get(code, ABSENT)
        return None

    def _renew_ahead(self, loaded_at: float) -> None:
        if self.refresher is None or self._refreshing or self._clock() - loaded_at < self.max_age * REFRESH_AT:
            return
        with self._refresh_lock:
            if self._refreshing:
                return
            self._refreshing = True
        threading.Thread(target=self._refresh, name="renkei-registry-refresh", daemon=True).start()

    def _refresh(self) -> None:
        try:
            self.refresher()
        except Exception:  # noqa: BLE001 - the database away: a request past the bound reads it itself, and says so
            pass
        finally:
            self._refreshing = False

    def registry(self) -> tuple[list[str], dict[str, bytes]] | None:
        """The snapshot of every tenant's body within its bound: (codes in order, body by code)."""
        snapshot = self._snapshot
        if snapshot is None or not self._fresh(snapshot[0], snapshot[1]):
            return None
        self._renew_ahead(snapshot[0])
        return snapshot[3], snapshot[2]

    def loading(self) -> threading.Lock:
        """Held while one thread loads the snapshot: the others asking meanwhile wait for it."""
        return self._loading

    def fill(self, bodies: dict[str, bytes], generation: int, loaded_at: float) -> list[str]:
        """Keep ``bodies`` (every tenant's) as the snapshot, unless a write was committed since
        ``generation`` was taken; returns their codes in order (as the snapshot keeps them)."""
        ordered = sorted(bodies)
        if self.max_age > 0 and generation == _generation[0]:
            self._snapshot = (loaded_at, generation, bodies, ordered)
        return ordered

    def get_page(self, key: tuple) -> object | None:
        entry = self._pages.get(key)
        if entry is None:
            return None
        if not self._fresh(entry[0], entry[1]):
            self._pages.pop(key, None)
            return None
        return entry[2]

    def put_page(self, key: tuple, page: object, generation: int, loaded_at: float) -> None:
        if self.max_age <= 0 or generation != _generation[0]:
            return
        if len(self._pages) >= self.max_pages:
            self._pages.clear()
        self._pages[key] = (loaded_at, generation, page)

    def put(self, code: str, body: bytes, generation: int, loaded_at: float | None = None) -> None:
        """Keep ``body`` unless a write was committed since ``generation`` was taken (then it may
        be older than that write)."""
        if self.max_age <= 0 or generation != _generation[0]:
            return
        if len(self._entries) >= self.max_entries:
            self._entries.clear()
        self._entries[code] = (self._clock() if loaded_at is None else loaded_at, generation, body)

    def clock(self) -> float:
        return self._clock()


def written(*_args) -> None:
    """Mark the caches of this process out of date (a write was committed)."""
    with _lock:
        _generation[0] += 1


def _before_cursor_execute(connection, cursor, statement, parameters, context, executemany) -> None:
    if not statement.lstrip()[:6].upper() == "SELECT":
        connection.info[_WROTE] = True


def _commit(connection) -> None:
    if connection.info.pop(_WROTE, False):
        written()


def _rollback(connection) -> None:
    connection.info.pop(_WROTE, None)


if not sa.event.contains(sa.engine.Engine, "commit", _commit):
    sa.event.listen(sa.engine.Engine, "before_cursor_execute", _before_cursor_execute)
    sa.event.listen(sa.engine.Engine, "commit", _commit)
    sa.event.listen(sa.engine.Engine, "rollback", _rollback)
    # a database swapped under the app (a restore; the tests' reset of a SQLite file) disposes its engine
    sa.event.listen(sa.engine.Engine, "engine_disposed", written)
