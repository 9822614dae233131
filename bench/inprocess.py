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


def environ_for(path: str, headers: dict[str, str] | None = None, *, method: str = "GET", body: bytes = b"") -> dict:
    from werkzeug.test import EnvironBuilder

    base, _, query = path.partition("?")
    # the connection's peer is this machine, as for a local server (the open development API is loopback-only)
    builder = EnvironBuilder(method=method, path=base, query_string=query, base_url="http://127.0.0.1:8000",
                             environ_base={"REMOTE_ADDR": "127.0.0.1"}, headers=headers or {}, data=body or None,
                             content_type="application/json" if body else None)
    try:
        return builder.get_environ()
    finally:
        builder.close()


def caller(app, path: str, headers: dict[str, str] | None = None, *, method: str = "GET",
           body: bytes = b"", status: str = "200",
           per_call: Callable[[dict], None] | None = None) -> Callable[[], bytes]:
    """A function calling ``app`` once for ``path`` (``status`` expected, 200 by default) and
    returning the answer's body; ``body``: the request's (JSON); ``per_call(environ)``: changes each
    call's own copy of the environ (e.g. a new request id)."""
    template = environ_for(path, headers, method=method, body=body)
    statuses: list[str] = []

    def start_response(answered, response_headers, exc_info=None):
        statuses.append(answered)

    def call() -> bytes:
        environ = dict(template)
        environ["wsgi.input"] = io.BytesIO(body)
        if per_call is not None:
            per_call(environ)
        answer = app(environ, start_response)
        try:
            data = b"".join(answer)
        finally:
            if hasattr(answer, "close"):
                answer.close()
        answered = statuses.pop()
        if not answered.startswith(status):
            raise RuntimeError(f"{method} {path}: {answered} {data[:300]!r}")
        return data

    return call


def cpu_per_call(call: Callable[[], object], count: int) -> float:
    """CPU microseconds per call (this process), over ``count`` calls (none: 0.0, a warm-up the smoke form leaves
    out); stdout (the request log) to /dev/null."""
    if count == 0:
        return 0.0
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


def latency(call: Callable[[], object], count: int) -> tuple[float, float, float]:
    """p50, p99 (ms) and calls per second of ``count`` sequential calls, after up to 200 to warm
    up (none in the smoke form: :func:`bench.common.warm_up_calls`); stdout (the request log) to /dev/null."""
    from bench import common

    samples = []
    with open(os.devnull, "w") as devnull, contextlib.redirect_stdout(devnull):
        for _ in range(common.warm_up_calls(count)):
            call()
        started = time.perf_counter()
        for _ in range(count):
            begin = time.perf_counter()
            call()
            samples.append((time.perf_counter() - begin) * 1000)
        elapsed = time.perf_counter() - started
    return common.percentile(samples, 0.5), common.percentile(samples, 0.99), count / elapsed


def interleaved_latency(calls: dict[str, Callable[[], object]], count: int) -> dict[str, tuple[float, float, float]]:
    """p50, p99 (ms) and calls per second of each of ``calls``, measured together: up to 200 calls of
    each to warm them all up (none in the smoke form), then ``count`` calls of each taken in turn call by call, the order
    reversed every other turn (A B, B A, ...), so that a burst of the shared machine's other load, or
    what one call leaves for the next (a cache, a collection of garbage), falls on every side alike.
    Calls per second: ``count`` over the side's own time. Stdout (the request log) to /dev/null."""
    from bench import common

    names = list(calls)
    samples: dict[str, list[float]] = {name: [] for name in names}
    with open(os.devnull, "w") as devnull, contextlib.redirect_stdout(devnull):
        for _ in range(common.warm_up_calls(count)):
            for name in names:
                calls[name]()
        for turn in range(count):
            for name in (names if turn % 2 == 0 else reversed(names)):
                begin = time.perf_counter()
                calls[name]()
                samples[name].append((time.perf_counter() - begin) * 1000)
    return {name: (common.percentile(values, 0.5), common.percentile(values, 0.99), 1000 * count / sum(values))
            for name, values in samples.items()}
