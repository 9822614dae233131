"""A test's own HTTP server (a JWKS, a stand-in component, the app under werkzeug), served from a thread.

``socketserver``'s ``serve_forever`` looks for a shutdown request once per ``poll_interval``, half a second by
default, and ``shutdown()`` waits for it: every fixture that stopped its server so waited up to 0.5 s, about 0.5 s
per test in tests/identity/test_token_validator.py, whose tests otherwise take milliseconds. Served here, a stop
takes a few milliseconds. tests/test_suite_hygiene.py refuses a ``serve_forever`` started anywhere else.
"""

from __future__ import annotations

import contextlib
import socketserver
import threading
from collections.abc import Iterator

# how often the serving thread looks for a stop; a request is answered as soon as it comes whatever this is
POLL_SECONDS = 0.01


def serve_in_thread(server: socketserver.BaseServer, name: str | None = None) -> threading.Thread:
    """``server`` serving from a daemon thread, started; stop it with :func:`stop`."""
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": POLL_SECONDS},
                              name=name or f"test-server-{type(server).__name__}", daemon=True)
    thread.start()
    return thread


def stop(server: socketserver.BaseServer, thread: threading.Thread | None = None) -> None:
    """The serving loop ended, the listening socket closed and (when given) the thread joined."""
    server.shutdown()
    server.server_close()
    if thread is not None:
        thread.join(timeout=10)


@contextlib.contextmanager
def served(server: socketserver.BaseServer, name: str | None = None) -> Iterator[socketserver.BaseServer]:
    """``server`` serving in a thread while the block runs, stopped after it (also when it raises)."""
    thread = serve_in_thread(server, name)
    try:
        yield server
    finally:
        stop(server, thread)
