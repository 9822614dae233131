"""Benchmark: the gateway's quota check over HTTP, next to a bare Flask endpoint in the same run.

    python bench/bench_quota_check.py [--quick] [--requests N] [--threads T] [--rounds R] [--database-url URL] [--smoke]

Both apps are served the same way (gunicorn, one worker process, gthread with 8 threads,
keep-alive) on 127.0.0.1, and called by the same client (``http.client`` with keep-alive):

* latency: N sequential requests (after a warm-up), p50 and p99 in milliseconds;
* throughput: T client threads, each on its own connection, N requests in all;
* in-process: N calls of the same endpoint's WSGI app in this process (no network, no
  gunicorn, no test client: the environ is built once, as a server would): p50 and p99, for the
  project's p99 < 2 ms.

Both servers run at once and the measurements alternate (renkei, bare, renkei, bare, ...) for R
rounds; the figures are the medians of the rounds. Project targets (issue #12): throughput
>= 0.8 of bare Flask's, and p99 < 2 ms in-process.

``renkei``: ``GET /api/v1/tenants/431001/quota-check?metric=api_calls`` answered from the
per-process quota cache (reloaded every 5 s; its reloads are part of the figures). Every renkei
request carries a real bearer token of a metering client (RS256, signed with a key made for the
run and served as a JWKS on loopback, :mod:`bench.local_token`), checked by renkei's ordinary
validator: the verified-token cache and the deny list are in the figures. ``bare Flask``: a Flask
app whose one route returns a constant JSON body of the same shape: the limit for any Flask
endpoint on this server. In-process, both apps are also measured in CPU time per request
(``time.process_time``, alternated), a figure the shared machine's other load does not move.

The database (default ``RENKEI_BENCH_DATABASE_URL``, else the local ``renkei_usage`` test
database) is wiped and rebuilt. The client and the server share this machine's cores.
"""

from __future__ import annotations

import argparse
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

from bench import common  # noqa: E402

DEFAULT_URL = "postgresql+psycopg://renkei:renkei@127.0.0.1:5432/renkei_usage"
RENKEI_PATH = "/api/v1/tenants/431001/quota-check?metric=api_calls"
BARE_PATH = "/check"


TOKEN_SETTINGS = ("RENKEI_KEYCLOAK_URL", "RENKEI_KEYCLOAK_PUBLIC_URL", "RENKEI_KEYCLOAK_REALM", "RENKEI_API_AUDIENCE")


def _settings(url: str) -> dict:
    """The app's settings; the token issuer's come from the environment main() sets (inherited by gunicorn)."""
    var = Path(os.environ.get("TMPDIR", "/tmp")) / "renkei-bench-quota"
    return {"RENKEI_ENV": "development", "SECRET_KEY": "bench", "SQLALCHEMY_DATABASE_URI": url,
            "RENKEI_VAR_DIR": str(var), **{name: os.environ[name] for name in TOKEN_SETTINGS if name in os.environ}}


def _headers(path: str) -> dict:
    return {"Authorization": f"Bearer {os.environ['RENKEI_BENCH_TOKEN']}"} if path == RENKEI_PATH else {}


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


def prepare(url: str):
    """The data set (Kumamoto's tenants, the default plans, a batch of usage); returns the app that made it."""
    from admin import create_app
    from admin.extensions import db
    from core.actor import console_actor

    app = create_app(_settings(url))
    actor = console_actor("bench", {"platform-operator"})
    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            sys.exit("this benchmark needs PostgreSQL (--database-url postgresql+psycopg://...)")
        common.kumamoto_with_plans(db, actor, usage=True)
        db.engine.dispose()
    return app


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def serve(factory: str, url: str) -> tuple[subprocess.Popen | common.Forked, int]:
    port = free_port()
    env = {**os.environ, "RENKEI_BENCH_DATABASE_URL": url, "PYTHONPATH": f"{HERE.parent}:{HERE}"}
    process = common.start_python(
        ["-m", "gunicorn", "--workers", "1", "--worker-class", "gthread", "--threads", "8",
         "--bind", f"127.0.0.1:{port}", "--log-level", "warning", "--keep-alive", "30", f"bench_quota_check:{factory}()"],
        # renkei writes its request log line (stdout) as in production; into /dev/null, not this terminal
        env=env, cwd=str(HERE))
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                pass
        except OSError:
            if process.poll() is not None:
                sys.exit(f"the {factory} server did not start")
            time.sleep(0.2)
            continue
        # the first request may load what the app imports lazily: answered before any clock starts
        first = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        try:
            call(first, RENKEI_PATH if factory == "renkei_app" else BARE_PATH)
            return process, port
        finally:
            first.close()
    process.kill()
    sys.exit(f"the {factory} server did not answer within 60 s")


def call(connection: http.client.HTTPConnection, path: str) -> None:
    connection.request("GET", path, headers=_headers(path))
    response = connection.getresponse()
    body = response.read()
    if response.status != 200:
        raise RuntimeError(f"{path}: HTTP {response.status} {body[:300]!r}")


def latency(port: int, path: str, count: int) -> tuple[float, float]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    for _ in range(common.warm_up_calls(count)):
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


def in_process_cpu(url: str, count: int, rounds: int, app=None) -> dict[str, list[float]]:
    """CPU microseconds per request (this process) of renkei's quota check and of the bare app,
    alternated for ``rounds`` rounds (:mod:`bench.inprocess`); ``app``: renkei's app (default a new one)."""
    from admin import create_app
    from bench import inprocess

    renkei = inprocess.caller(app or create_app(_settings(url)), RENKEI_PATH, _headers(RENKEI_PATH))
    bare = inprocess.caller(bare_app(), BARE_PATH)
    for side in (renkei, bare):
        inprocess.cpu_per_call(side, common.warm_up_calls(count, 500))
    return common.alternate({"renkei quota-check": lambda n: inprocess.cpu_per_call(renkei, count),
                             "bare Flask": lambda n: inprocess.cpu_per_call(bare, count)}, rounds)


def in_process(url: str, count: int, app=None) -> tuple[float, float]:
    """p50 and p99 (ms) of the endpoint called in this process, as a WSGI server calls it: the
    request's environ is built once by werkzeug's test builder (as gunicorn would parse it) and
    the app is called with a fresh copy each time, so the figure is the app's work, not the test
    client's. The request log line is written as in production, into /dev/null. ``app``: renkei's app (default a
    new one)."""
    from admin import create_app
    from bench import inprocess

    call = inprocess.caller(app or create_app(_settings(url)), RENKEI_PATH, _headers(RENKEI_PATH))
    p50, p99, _rate = inprocess.latency(call, count)
    return p50, p99


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=10_000, help="requests per side and round")
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="2,000 requests")
    parser.add_argument("--in-process-only", action="store_true", help="skip the HTTP part (gunicorn and load)")
    common.add_smoke_option(parser, f"{common.SMOKE_CALLS} requests, 2 client threads, one round, in process and over HTTP",
                            processes=2)  # the two gunicorns
    common.add_database_option(parser, DEFAULT_URL)
    args = parser.parse_args()
    if args.smoke:
        args.requests, args.threads, args.rounds, args.quick = common.SMOKE_CALLS, 2, 1, False
    count = 2_000 if args.quick else args.requests

    from bench.local_token import LocalIssuer

    issuer = LocalIssuer()  # lives as long as this process; the servers fetch its JWKS on first use
    os.environ.update(issuer.settings())
    os.environ["RENKEI_BENCH_TOKEN"] = issuer.token(roles=["metering-client"], subject="bench-gateway")
    prepared = prepare(args.database_url)
    app = common.reused_in_smoke(prepared)  # the full run times a fresh app in each part
    print(common.noisy_machine_note())
    cpu = in_process_cpu(args.database_url, count, args.rounds, app)
    medians = {name: common.median(runs) for name, runs in cpu.items()}
    print(f"in-process CPU per request (time.process_time; {args.rounds} alternating rounds of {count:,} calls):")
    for name, runs in cpu.items():
        print(f"  {name:<20} median {medians[name]:8,.1f} us CPU (rounds {', '.join(f'{r:,.1f}' for r in runs)})")
    common.report("quota check in-process (requests per CPU s)", 1e6 / medians["renkei quota-check"],
                  1e6 / medians["bare Flask"], "quota-check", "req/CPU s")
    p50, p99 = in_process(args.database_url, count, app)
    print(f"in-process wall time (the WSGI app called in this process, {count:,} calls): p50 {p50:.3f} ms")
    common.report("quota check p99 in-process", p99, None, "quota-check-p99", "ms", higher_is_better=False)
    if args.in_process_only:
        return
    servers = {name: serve(factory, args.database_url) for name, factory in
               (("renkei quota-check", "renkei_app"), ("bare Flask", "bare_app"))}
    paths = {"renkei quota-check": RENKEI_PATH, "bare Flask": BARE_PATH}
    try:
        def side(name):
            def measure(_round: int):
                port = servers[name][1]
                p50, p99 = latency(port, paths[name], count)
                return p50, p99, throughput(port, paths[name], count, args.threads)
            return measure

        samples = common.alternate({name: side(name) for name in servers}, args.rounds)
    finally:
        for process, _ in servers.values():
            process.terminate()
            process.wait(timeout=30)
    print(f"bench_quota_check: {args.rounds} alternating rounds; per side and round {count:,} sequential requests, "
          f"then {count:,} over {args.threads} client threads")
    print(common.noisy_machine_note())
    medians = {}
    for name, runs in samples.items():
        medians[name] = tuple(common.median(run[i] for run in runs) for i in range(3))
        p50, p99, rate = medians[name]
        print(f"{name:<20} sequential: p50 {p50:6.2f} ms  p99 {p99:6.2f} ms; {args.threads} client threads: {rate:8,.0f} "
              f"requests/s (rounds {', '.join(f'{run[2]:,.0f}' for run in runs)})")
    common.report("quota check throughput over HTTP", medians["renkei quota-check"][2], medians["bare Flask"][2],
                  "quota-check", "req/s")
    print("(gunicorn gthread, 1 worker x 8 threads, keep-alive; client on the same machine; a real bearer token "
          "on every renkei request)")


if __name__ == "__main__":
    main()
