"""A small HTTP load generator for the benchmarks: keep-alive connections from worker processes.

Used by the bench/*.py commands so that renkei and the bare limit are loaded the same way, from
a second process, on loopback only.
"""

from __future__ import annotations

import http.client
import multiprocessing

import time
from dataclasses import dataclass


@dataclass
class LoadResult:
    requests: int
    seconds: float
    latencies_ms: list[float]
    errors: int

    @property
    def rps(self) -> float:
        return self.requests / self.seconds

    def percentile(self, p: float) -> float:
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, int(len(ordered) * p))]

    def line(self, label: str) -> str:
        return (f"{label:<34} {self.rps:9.0f} req/s   p50 {self.percentile(0.50):6.2f} ms   "
                f"p99 {self.percentile(0.99):6.2f} ms   ({self.requests} requests, {self.errors} errors)")


def _worker(port: int, paths: list[str], headers: dict, seconds: float, queue) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    latencies, errors, count, i = [], 0, 0, 0
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        path = paths[i % len(paths)]
        i += 1
        started = time.perf_counter()
        try:
            connection.request("GET", path, headers=headers)
            response = connection.getresponse()
            response.read()
            if response.status != 200:
                errors += 1
        except (OSError, http.client.HTTPException):
            errors += 1
            connection.close()
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            continue
        latencies.append((time.perf_counter() - started) * 1000)
        count += 1
    queue.put((count, latencies, errors))


def run(port: int, paths: list[str], *, seconds: float = 5.0, concurrency: int = 4,
        headers: dict | None = None) -> LoadResult:
    queue = multiprocessing.get_context("fork").Queue()
    workers = [multiprocessing.get_context("fork").Process(target=_worker, args=(port, paths, headers or {}, seconds, queue))
               for _ in range(concurrency)]
    started = time.perf_counter()
    for worker in workers:
        worker.start()
    results = [queue.get() for _ in workers]
    for worker in workers:
        worker.join()
    elapsed = time.perf_counter() - started
    latencies = [value for _, lats, _ in results for value in lats]
    return LoadResult(sum(r[0] for r in results), elapsed, latencies, sum(r[2] for r in results))


def wait_for(port: int, path: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            connection.request("GET", path)
            if connection.getresponse().status < 500:
                return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"nothing answers on 127.0.0.1:{port}{path}")


