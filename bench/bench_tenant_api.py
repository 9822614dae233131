"""Benchmark: the tenant API (get by code; list page of 100) with 1,741 tenants loaded.

renkei is served by gunicorn on loopback and loaded from separate processes; beside it, in the
same run and the same way, a bare Flask app returning a constant JSON body of the same size
(the limit). The two alternate (renkei, bare, renkei, bare, ...) for ``--rounds`` rounds of
``--seconds`` each; printed: the median of the rounds' requests/s and p50/p99 latency, the
ratio renkei / bare and the project's targets (issue #12): get-by-code >= 0.8 of bare Flask,
list page of 100 >= 0.5. Then get-by-code's p99 with Keycloak answering and with it frozen
(issue 36: no request waits for Keycloak; the admin events are read by a thread of each worker).

Every renkei request carries a real bearer token (RS256, signed with a key generated for the run
and served as a JWKS on loopback; :mod:`bench.local_token`), checked by renkei's ordinary token
validator: the verified-token cache and the deny list are in the figures. Each tenant has two
contacts, so a page of 100 is 200 joined rows. Bodies and pages come from the process's memory
(``tenancy/registry/readcache.py``) within ``RENKEI_TENANT_CACHE_SECONDS``; the figures include
the requests that read the database (the first of each process, a reload of the registry's
snapshot or of the deny list).

Then the same four endpoints IN-PROCESS (:mod:`bench.inprocess`): the WSGI apps called in this
process with a prebuilt environ, CPU time per request (``time.process_time``), alternated A B A B;
the ratio bare / renkei is the in-process form of the throughput ratio, and does not depend on
what else the shared machine runs.

    python bench/bench_tenant_api.py [--seconds 2] [--rounds 3] [--concurrency 4] [--calls 2000]
                                     [--in-process-only] [--database-url URL] [--smoke]
    (default database: SQLite in a temporary folder; a PostgreSQL database given is EMPTIED)
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import sqlalchemy as sa  # noqa: E402

from bench import common, inprocess, loadgen  # noqa: E402
from bench.local_token import LocalIssuer  # noqa: E402
from core.codes import with_check_digit  # noqa: E402

TENANTS = 1741  # every municipality of Japan, roughly


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def synthetic_codes(count: int) -> list[str]:
    rng = random.Random(20251)
    bases = rng.sample(range(1000, 47999), count)
    return sorted(with_check_digit(f"{base:05d}") for base in bases)


def load_tenants(database_url: str, var: Path, token_settings: dict) -> tuple[list[str], object]:
    """The tenants written; returns their codes and the app that wrote them."""
    os.environ.update({"RENKEI_ENV": "development", "RENKEI_DATABASE_URL": database_url, "RENKEI_VAR_DIR": str(var),
                       **token_settings})
    from admin import create_app
    from admin.extensions import db
    from tenancy.registry.models import Tenant, TenantContact

    app = create_app()
    codes = synthetic_codes(TENANTS)
    registered = dt.datetime(2025, 4, 1, tzinfo=dt.timezone.utc)
    with app.app_context():
        db.drop_all()
        db.create_all()
        db.session.execute(Tenant.__table__.insert(), [
            {"code": code, "name_ja": f"架空{i}町", "name_en": f"Fictional {i}", "kind": "town",
             "population": 1000 + i, "population_source": "synthetic", "status": "active",
             "wave_fiscal_year": 2024, "created_at": registered, "updated_at": registered}
            for i, code in enumerate(codes)
        ])
        ids = dict(db.session.execute(sa.select(Tenant.code, Tenant.id)).all())
        db.session.execute(TenantContact.__table__.insert(), [
            {"tenant_id": ids[code], "role": role, "name": f"担当 {i}", "department": "情報政策課",
             "email": f"{role}{i}@example.jp", "phone": "096-000-0000"}
            for i, code in enumerate(codes) for role in ("admin", "billing")
        ])
        db.session.commit()
        # the planner's statistics, as a database in service has them (autovacuum would gather
        # them only a minute later, after the timed part: a plan for empty tables is no one's figure)
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(sa.text("ANALYZE"))
    return codes, app


def serve(target: str, port: int, env: dict, workers: int = 2) -> subprocess.Popen | common.Forked:
    return common.start_python(
        ["-m", "gunicorn", "-w", str(workers), "-k", "gthread", "--threads", "4", "-b", f"127.0.0.1:{port}",
         "--log-level", "warning", target],
        cwd=str(ROOT), env={**os.environ, **env},
    )


def in_process(codes: list[str], token: str, var: Path, calls: int, rounds: int, renkei=None) -> None:
    """CPU per request of renkei's two reads and of the bare app's same bodies, in this process (``renkei``: the
    app, default a new one)."""
    from admin import create_app
    from bench.bare_app import create

    # the settings load_tenants put in the environment: same database, same token issuer
    renkei = renkei or create_app()
    headers = {"Authorization": f"Bearer {token}"}
    one = inprocess.caller(renkei, f"/api/v1/tenants/{codes[0]}", headers)
    page = inprocess.caller(renkei, "/api/v1/tenants?per_page=100&page=3", headers)
    (var / "one.json").write_bytes(one())
    (var / "page.json").write_bytes(page())
    os.environ.update({"BENCH_BODY_ONE": str(var / "one.json"), "BENCH_BODY_PAGE": str(var / "page.json")})
    bare = create()
    rng = random.Random(7)
    sample = [inprocess.caller(renkei, f"/api/v1/tenants/{code}", headers) for code in rng.sample(codes, 50)]
    pages = [inprocess.caller(renkei, f"/api/v1/tenants?per_page=100&page={p}", headers) for p in range(1, 18)]
    cycle = {"one": iter(()), "page": iter(())}

    def rotating(name, callers):
        def call():
            try:
                return next(cycle[name])()
            except StopIteration:
                cycle[name] = iter(callers)
                return next(cycle[name])()
        return call

    sides = {
        "renkei GET /tenants/{code}": (rotating("one", sample), calls),
        "bare Flask, same body": (inprocess.caller(bare, "/one"), calls),
        "renkei GET /tenants?per_page=100": (rotating("page", pages), max(50, calls // 10)),
        "bare Flask, same page body": (inprocess.caller(bare, "/page"), max(50, calls // 10)),
    }
    for call, count in sides.values():  # warm up
        inprocess.cpu_per_call(call, common.warm_up_calls(count))
    results = common.alternate({label: (lambda n, call=call, count=count: inprocess.cpu_per_call(call, count))
                                for label, (call, count) in sides.items()}, rounds)
    cpu = {label: common.median(runs) for label, runs in results.items()}
    print(f"in-process CPU per request (time.process_time in this process; {rounds} alternating rounds; "
          f"{calls:,} calls per round for one tenant, {max(50, calls // 10):,} for a page):")
    for label, runs in results.items():
        print(f"  {label:<36} median {cpu[label]:9,.1f} us CPU (rounds {', '.join(f'{r:,.1f}' for r in runs)})")
    # throughput is inversely proportional to CPU per request: the ratio is bare's CPU over renkei's
    common.report("get-by-code in-process (requests per CPU s)", 1e6 / cpu["renkei GET /tenants/{code}"],
                  1e6 / cpu["bare Flask, same body"], "get-by-code", "req/CPU s")
    common.report("list page of 100 in-process (requests per CPU s)", 1e6 / cpu["renkei GET /tenants?per_page=100"],
                  1e6 / cpu["bare Flask, same page body"], "list-page", "req/CPU s")


def frozen_keycloak(issuer: LocalIssuer, port: int, sample: list[str], headers: dict, args) -> None:
    """Issue 36: GET /tenants/{code} with a valid token, Keycloak answering and Keycloak frozen (its
    admin API accepts and never answers, as under SIGSTOP), alternating; each frozen round lasts
    longer than renkei's two 3 s timeouts, so a request that waited for Keycloak would show in p99."""
    seconds = max(args.seconds, args.frozen_seconds)

    def answering(_n):
        return loadgen.run(port, sample, seconds=seconds, concurrency=args.concurrency, headers=headers)

    def frozen(_n):
        issuer.freeze()
        try:
            return loadgen.run(port, sample, seconds=seconds, concurrency=args.concurrency, headers=headers)
        finally:
            issuer.thaw()

    results = common.alternate({"Keycloak answering (limit)": answering, "Keycloak frozen": frozen}, args.rounds)
    p99, slowest = {}, {}
    for label, runs in results.items():
        p99[label] = common.median(r.percentile(0.99) for r in runs)
        slowest[label] = max(r.percentile(1.0) for r in runs)
        print(f"GET /tenants/{{code}}, {label:<27} p50 {common.median(r.percentile(0.5) for r in runs):6.2f} ms, "
              f"p99 {p99[label]:7.2f} ms, slowest {slowest[label]:8.2f} ms; "
              f"{sum(r.errors for r in runs)} errors ({args.rounds} rounds x {seconds:.0f} s)")
    common.report("p99 with Keycloak frozen", p99["Keycloak frozen"], p99["Keycloak answering (limit)"], None, "ms",
                  higher_is_better=False)
    # a request that waited for Keycloak is one in thousands: it shows as the slowest (6 s before issue 36)
    common.report("slowest request with Keycloak frozen", slowest["Keycloak frozen"],
                  slowest["Keycloak answering (limit)"], None, "ms", higher_is_better=False)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=2.0, help="seconds per side and round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--calls", type=int, default=2000, help="in-process calls per round for one tenant")
    parser.add_argument("--in-process-only", action="store_true", help="skip the HTTP part (gunicorn and load)")
    parser.add_argument("--frozen-seconds", type=float, default=8.0,
                        help="seconds per round with Keycloak answering and frozen (at least the two 3 s timeouts)")
    common.add_smoke_option(parser, "50 calls in process, then over HTTP 0.2 s per side, 2 client processes, one round, "
                                    "no warm-up, Keycloak frozen 0.2 s (shorter than the timeouts: the path, not the figure)",
                            processes=2)  # the two gunicorns
    common.add_database_option(parser, None)
    args = parser.parse_args()
    if args.smoke:
        args.seconds, args.rounds, args.concurrency, args.calls, args.frozen_seconds = 0.2, 1, 2, 50, 0.2

    var = Path(tempfile.mkdtemp(prefix="renkei-bench-"))
    database_url = args.database_url or f"sqlite:///{var / 'bench.db'}"
    issuer = LocalIssuer()
    codes, loader = load_tenants(database_url, var, issuer.settings())
    token = issuer.token()
    print(f"bench_tenant_api: {TENANTS} tenants (2 contacts each) on {database_url.split(':')[0]}; "
          f"a real RS256 bearer token on every renkei request")
    print(common.noisy_machine_note())
    in_process(codes, token, var, args.calls, args.rounds, common.reused_in_smoke(loader))  # the full run: a fresh app
    if args.in_process_only:
        return
    headers = {"Authorization": f"Bearer {token}"}
    renkei_port, bare_port = free_port(), free_port()
    workers = 1 if args.smoke else 2  # the smoke form: one worker starting on the loaded machine, not two
    renkei = serve("admin:create_app()", renkei_port, {}, workers)
    try:
        loadgen.wait_for(renkei_port, "/healthz", timeout=180)  # a loaded machine starts slowly
        bare = serve("bench.bare_app:create()", bare_port,
                     {"BENCH_BODY_ONE": str(var / "one.json"), "BENCH_BODY_PAGE": str(var / "page.json")}, workers)
        try:
            loadgen.wait_for(bare_port, "/one", timeout=180)
            print(f"over HTTP: gunicorn {workers} workers x 4 threads; {args.concurrency} client processes; {args.rounds} "
                  f"alternating rounds x {args.seconds:.0f} s per side; bodies {(var / 'one.json').stat().st_size} B "
                  f"and {(var / 'page.json').stat().st_size} B")
            sample = [f"/api/v1/tenants/{code}" for code in random.Random(7).sample(codes, 500)]
            pages = [f"/api/v1/tenants?per_page=100&page={p}" for p in range(1, 18)]
            sides = {
                "renkei GET /tenants/{code}": (renkei_port, sample, headers),
                "bare Flask, same body (limit)": (bare_port, ["/one"], {}),
                "renkei GET /tenants?per_page=100": (renkei_port, pages, headers),
                "bare Flask, same page body (limit)": (bare_port, ["/page"], {}),
            }
            for port, paths, sent in sides.values() if not args.smoke else ():  # warm up (not in the smoke form)
                loadgen.run(port, paths, seconds=min(1.0, args.seconds), concurrency=args.concurrency, headers=sent)
            results = common.alternate({
                label: (lambda n, port=port, paths=paths, sent=sent: loadgen.run(
                    port, paths, seconds=args.seconds, concurrency=args.concurrency, headers=sent))
                for label, (port, paths, sent) in sides.items()}, args.rounds)
            rps = {}
            for label, runs in results.items():
                rps[label] = common.median(r.rps for r in runs)
                errors = sum(r.errors for r in runs)
                print(f"{label:<36} median {rps[label]:9,.0f} req/s (rounds {', '.join(f'{r.rps:,.0f}' for r in runs)}); "
                      f"p50 {common.median(r.percentile(0.5) for r in runs):6.2f} ms, "
                      f"p99 {common.median(r.percentile(0.99) for r in runs):6.2f} ms; {errors} errors")
            common.report("get-by-code throughput", rps["renkei GET /tenants/{code}"],
                          rps["bare Flask, same body (limit)"], "get-by-code", "req/s")
            common.report("list page of 100 throughput", rps["renkei GET /tenants?per_page=100"],
                          rps["bare Flask, same page body (limit)"], "list-page", "req/s")
            frozen_keycloak(issuer, renkei_port, sample, headers, args)
        finally:
            bare.terminate()
            bare.wait()
    finally:
        renkei.terminate()
        renkei.wait()
        issuer.close()


if __name__ == "__main__":
    time.sleep(0)
    main()
