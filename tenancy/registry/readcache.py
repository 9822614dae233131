"""A process's memory of tenants' JSON bodies as read by code (the API's most frequent read).

Staleness bound: an entry is served for at most ``max_age`` seconds after the read that made it
(``RENKEI_TENANT_CACHE_SECONDS``, default 1 s; 0 turns the cache off). Any commit in this process
that wrote anything (any statement other than a ``SELECT`` on a connection that then commits: a
tenant's update, a contact's change, a status transition, an import) empties every cache of the
process at once, so a change made in this process is seen by its very next read. A change made
in another process (another worker, another app server, the command line) is seen within
``max_age`` seconds. A read that began before such a commit is not kept (a generation count), so
an older body can never outlive the commit that replaced it. Disposing of an engine (a database
restored under the app) empties them too.
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


class TenantBodyCache:
    """code → (loaded at, generation, JSON text), bounded in size and age."""

    def __init__(self, max_age: float = 1.0, max_entries: int = 10_000,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.max_age = float(max_age)
        self.max_entries = max_entries
        self._clock = clock
        self._entries: dict[str, tuple[float, int, str]] = {}

    def generation(self) -> int:
        """Taken before a read: pass it to :meth:`put` with what the read found."""
        return _generation[0]

    def get(self, code: str) -> str | None:
        entry = self._entries.get(code)
        if entry is None:
            return None
        if entry[1] != _generation[0] or self._clock() - entry[0] > self.max_age:
            self._entries.pop(code, None)
            return None
        return entry[2]

    def put(self, code: str, body: str, generation: int, loaded_at: float | None = None) -> None:
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
