"""Benchmark: the gateway's quota check over HTTP, next to a bare Flask endpoint in the same run.

    python bench/bench_quota_check.py [--quick] [--requests N] [--threads T] [--database-url URL]

Both apps are served the same way (gunicorn, one worker process, gthread with 8 threads,
keep-alive) on 127.0.0.1, and called by the same client (``http.client`` with keep-alive):

* latency: N sequential requests (after a warm-up), p50 and p99 in milliseconds;
* throughput: T client threads, each on its own connection, N requests in all.

``renkei``: ``GET /api/v1/tenants/431001/quota-check?metric=api_calls`` answered from the
per-process quota cache (reloaded every 5 s; its reloads are part of the figures). The API is
opened for development (``RENKEI_API_OPEN_FOR_DEVELOPMENT``), so the figures leave out bearer
token validation (one RS256 signature check per request, about 0.1 ms). ``bare Flask``: a Flask
app whose one route returns a constant JSON body of the same shape: the limit for any Flask
endpoint on this server.

The database (default ``RENKEI_BENCH_DATABASE_URL``, else the local ``renkei_usage`` test
database) is wiped and rebuilt. The client and the server share this machine's cores.
"""

from __future__ import annotations

import argparse
import datetime as dt
import http.client
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

DEFAULT_URL = "postgresql+psycopg://renkei:renkei@127.0.0.1:5432/renkei_usage"
RENKEI_PATH = "/api/v1/tenants/431001/quota-check?metric=api_calls"
BARE_PATH = "/check"


def _settings(url: str) -> dict:
    var = Path(os.environ.get("TMPDIR", "/tmp")) / "renkei-bench-quota"
    return {"RENKEI_ENV": "development", "SECRET_KEY": "bench", "SQLALCHEMY_DATABASE_URI": url,
            "RENKEI_VAR_DIR": str(var), "RENKEI_API_OPEN_FOR_DEVELOPMENT": True}


def renkei_app():
    """gunicorn factory: the renkei app on the benchmark database."""
    from admin import create_app

    return create_app(_settings(os.environ["RENKEI_BENCH_DATABASE_URL"]))


def bare_app():
    """gunicorn factory: the limit, a Flask app that answers a constant quota decision."""
    from flask import Flask, jsonify

    app = Flask("bare")
    body = {"tenant": "431001", "metric": "api_calls", "period": "2026-11", "allowed": True, "reason": "within_limit",
            "used": 12345, "limit": 20000000, "remaining": 19987655, "enforcement": "hard",
            "as_of": "2026-11-21T00:00:00+00:00", "max_staleness_seconds": 5.0}

    @app.get(BARE_PATH)
    def check():
        return jsonify(body)

    return app


def prepare(url: str) -> None:
    import sqlalchemy as sa

    from admin import create_app
    from admin.extensions import db
    from tenancy.usage import metering, quotas
    from core.actor import console_actor
    from tenancy.registry.sample import load_kumamoto

    app = create_app(_settings(url))
    actor = console_actor("bench", {"platform-operator"})
    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            sys.exit("this benchmark needs PostgreSQL (--database-url postgresql+psycopg://...)")
        with db.engine.begin() as connection:
            connection.execute(sa.text("DROP SCHEMA IF EXISTS public CASCADE"))
            connection.execute(sa.text("CREATE SCHEMA public"))
        db.create_all()
        load_kumamoto(db.session, actor)
        quotas.load_default_plans(db.session, actor)
        now = dt.datetime.now(dt.timezone.utc)
        metering.ingest(db.session, actor, [
            {"tenant": "431001", "metric": "api_calls", "quantity": 12345, "timestamp": now.isoformat(), "event_id": "bench-1"}])
        db.session.commit()
        db.engine.dispose()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def serve(factory: str, url: str) -> tuple[subprocess.Popen, int]:
    port = free_port()
    env = {**os.environ, "RENKEI_BENCH_DATABASE_URL": url, "PYTHONPATH": f"{HERE.parent}:{HERE}"}
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "--workers", "1", "--worker-class", "gthread", "--threads", "8",
         "--bind", f"127.0.0.1:{port}", "--log-level", "warning", "--keep-alive", "30", f"bench_quota_check:{factory}()"],
        env=env, cwd=str(HERE))
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return process, port
        except OSError:
            if process.poll() is not None:
                sys.exit(f"the {factory} server did not start")
            time.sleep(0.2)
    process.kill()
    sys.exit(f"the {factory} server did not answer within 60 s")


def call(connection: http.client.HTTPConnection, path: str) -> None:
    connection.request("GET", path)
    response = connection.getresponse()
    body = response.read()
    if response.status != 200:
        raise RuntimeError(f"{path}: HTTP {response.status} {body[:300]!r}")


def latency(port: int, path: str, count: int) -> tuple[float, float]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    for _ in range(min(200, count)):
        call(connection, path)
    samples = []
    for _ in range(count):
        started = time.perf_counter()
        call(connection, path)
        samples.append(time.perf_counter() - started)
    connection.close()
    samples.sort()
    return statistics.median(samples) * 1000, samples[min(len(samples) - 1, int(len(samples) * 0.99))] * 1000


def throughput(port: int, path: str, count: int, threads: int) -> float:
    each = count // threads
    errors: list[BaseException] = []

    def work():
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            for _ in range(each):
                call(connection, path)
            connection.close()
        except BaseException as error:  # noqa: BLE001  (reported after the run)
            errors.append(error)

    workers = [threading.Thread(target=work) for _ in range(threads)]
    started = time.perf_counter()
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    elapsed = time.perf_counter() - started
    if errors:
        raise errors[0]
    return each * threads / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=10_000)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--quick", action="store_true", help="2,000 requests")
    parser.add_argument("--database-url", default=os.environ.get("RENKEI_BENCH_DATABASE_URL", DEFAULT_URL))
    args = parser.parse_args()
    count = 2_000 if args.quick else args.requests

    prepare(args.database_url)
    results = {}
    for name, factory, path in (("renkei quota-check", "renkei_app", RENKEI_PATH), ("bare Flask", "bare_app", BARE_PATH)):
        process, port = serve(factory, args.database_url)
        try:
            p50, p99 = latency(port, path, count)
            rate = throughput(port, path, count, args.threads)
        finally:
            process.terminate()
            process.wait(timeout=30)
        results[name] = (p50, p99, rate)
        print(f"{name:<20} sequential {count:,} requests: p50 {p50:6.2f} ms  p99 {p99:6.2f} ms; "
              f"{args.threads} client threads: {rate:8,.0f} requests/s")
    (r50, r99, rrate), (b50, b99, brate) = results["renkei quota-check"], results["bare Flask"]
    print(f"ratio renkei / bare Flask: p50 {r50 / b50:.2f}x, p99 {r99 / b99:.2f}x, throughput {rrate / brate:.2f}x")
    print("(gunicorn gthread, 1 worker × 8 threads, keep-alive; client on the same 2-core machine; no token validation)")


if __name__ == "__main__":
    main()
