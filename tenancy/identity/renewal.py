"""Renewals in the background, one at a time per thing renewed (single flight).

The gateway's hot path serves what it knows (the gateway credential's claims, the realm's signing
keys) and asks Keycloak again off the request: :class:`SingleFlight` starts a daemon thread for a
key unless one already runs for it, so a burst of calls that find the same entry old starts one
renewal, and a frozen Keycloak holds one thread, never a request.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Hashable

log = logging.getLogger(__name__)


class SingleFlight:
    def __init__(self, name: str) -> None:
        self.name = name
        self._running: dict[Hashable, threading.Thread] = {}
        self._lock = threading.Lock()

    def start(self, key: Hashable, work: Callable[[], None]) -> bool:
        """Run ``work`` in a thread of its own unless a renewal of ``key`` runs already; True if started."""
        with self._lock:
            if key in self._running:
                return False
            thread = threading.Thread(target=self._run, args=(key, work), daemon=True, name=f"renew {self.name}")
            self._running[key] = thread
        thread.start()
        return True

    def _run(self, key: Hashable, work: Callable[[], None]) -> None:
        try:
            work()
        except Exception as error:  # a renewal that failed leaves what is known as it was; a later one tries again
            log.warning("renewing %s failed (%s: %s); what is known is kept", self.name, type(error).__name__, error)
        finally:
            with self._lock:
                self._running.pop(key, None)

    def running(self) -> bool:
        with self._lock:
            return bool(self._running)

    def join(self, timeout: float) -> bool:
        """Wait for the renewals running now (tests, shutdown); True when none runs any more."""
        with self._lock:
            threads = list(self._running.values())
        for thread in threads:
            thread.join(timeout)
        return not self.running()
