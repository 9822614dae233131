"""In-process CPU per request: a WSGI app called in this process with a prebuilt environ, as a
server would call it (no network, no server, no test client). On a loaded, shared machine the
CPU time this process spends (``time.process_time``) is a steadier figure than wall-clock
throughput: other processes' load does not count in it. Compared with the bare Flask app
returning the same body, measured the same way and alternated with it (A B A B), its ratio is
the in-process form of the throughput ratio (bare CPU per request / renkei CPU per request).
"""

from __future__ import annotations

import contextlib
import io
import os
import time
from typing import Callable


def environ_for(path: str, headers: dict[str, str] | None = None) -> dict:
    from werkzeug.test import EnvironBuilder

    base, _, query = path.partition("?")
    builder = EnvironBuilder(path=base, query_string=query, base_url="http://127.0.0.1:8000", headers=headers or {})
    try:
        return builder.get_environ()
    finally:
        builder.close()


def caller(app, path: str, headers: dict[str, str] | None = None) -> Callable[[], bytes]:
    """A function calling ``app`` once for ``path`` (200 expected) and returning the body."""
    template = environ_for(path, headers)
    statuses: list[str] = []

    def start_response(status, response_headers, exc_info=None):
        statuses.append(status)

    def call() -> bytes:
        environ = dict(template)
        environ["wsgi.input"] = io.BytesIO(b"")
        body = app(environ, start_response)
        try:
            data = b"".join(body)
        finally:
            if hasattr(body, "close"):
                body.close()
        status = statuses.pop()
        if not status.startswith("200"):
            raise RuntimeError(f"{path}: {status} {data[:300]!r}")
        return data

    return call


def cpu_per_call(call: Callable[[], object], count: int) -> float:
    """CPU microseconds per call (this process), over ``count`` calls; stdout (the request log) to /dev/null."""
    with open(os.devnull, "w") as devnull, contextlib.redirect_stdout(devnull):
        started = time.process_time()
        for _ in range(count):
            call()
        return (time.process_time() - started) / count * 1e6


def latencies_ms(call: Callable[[], object], count: int) -> list[float]:
    with open(os.devnull, "w") as devnull, contextlib.redirect_stdout(devnull):
        samples = []
        for _ in range(count):
            started = time.perf_counter()
            call()
            samples.append((time.perf_counter() - started) * 1000)
    return samples
