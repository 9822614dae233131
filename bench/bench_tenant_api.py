"""Benchmark: the tenant API (get by code; list page of 100) with 1,741 tenants loaded.

renkei is served by gunicorn on loopback and loaded from separate processes; beside it, in the
same run and the same way, a bare Flask app returning a constant JSON body of the same size
(the limit). The two alternate (renkei, bare, renkei, bare, ...) for ``--rounds`` rounds of
``--seconds`` each; printed: the median of the rounds' requests/s and p50/p99 latency, the
ratio renkei / bare and the project's targets (issue #12): get-by-code >= 0.8 of bare Flask,
list page of 100 >= 0.5.

The API runs with RENKEI_API_OPEN_FOR_DEVELOPMENT (no token check), so the figure is the cost
of renkei's request handling, validation and database read, not of Keycloak.

    python bench/bench_tenant_api.py [--seconds 2] [--rounds 3] [--concurrency 4] [--database-url URL]
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

from bench import common, loadgen  # noqa: E402
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


def load_tenants(database_url: str, var: Path) -> list[str]:
    os.environ.update({"RENKEI_ENV": "development", "RENKEI_DATABASE_URL": database_url, "RENKEI_VAR_DIR": str(var)})
    from admin import create_app
    from admin.extensions import db
    from tenancy.registry.models import Tenant

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
        db.session.commit()
    return codes


def serve(target: str, port: int, env: dict) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-w", "2", "-k", "gthread", "--threads", "4", "-b", f"127.0.0.1:{port}",
         "--log-level", "warning", target],
        cwd=ROOT, env={**os.environ, **env}, stdout=subprocess.DEVNULL,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=2.0, help="seconds per side and round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=4)
    common.add_database_option(parser, None)
    args = parser.parse_args()

    var = Path(tempfile.mkdtemp(prefix="renkei-bench-"))
    database_url = args.database_url or f"sqlite:///{var / 'bench.db'}"
    codes = load_tenants(database_url, var)
    renkei_port, bare_port = free_port(), free_port()
    renkei = serve("admin:create_app()", renkei_port, {"RENKEI_API_OPEN_FOR_DEVELOPMENT": "1"})
    try:
        loadgen.wait_for(renkei_port, f"/api/v1/tenants/{codes[0]}")
        import urllib.request

        one = urllib.request.urlopen(f"http://127.0.0.1:{renkei_port}/api/v1/tenants/{codes[0]}").read()
        page = urllib.request.urlopen(f"http://127.0.0.1:{renkei_port}/api/v1/tenants?per_page=100&page=3").read()
        (var / "one.json").write_bytes(one)
        (var / "page.json").write_bytes(page)
        bare = serve("bench.bare_app:create()", bare_port,
                     {"BENCH_BODY_ONE": str(var / "one.json"), "BENCH_BODY_PAGE": str(var / "page.json")})
        try:
            loadgen.wait_for(bare_port, "/one")
            print(f"bench_tenant_api: {TENANTS} tenants on {database_url.split(':')[0]}; gunicorn 2 workers x 4 threads; "
                  f"{args.concurrency} client processes; {args.rounds} alternating rounds x {args.seconds:.0f} s per side; "
                  f"bodies {len(one)} B and {len(page)} B")
            print(common.noisy_machine_note())
            sample = [f"/api/v1/tenants/{code}" for code in random.Random(7).sample(codes, 500)]
            pages = [f"/api/v1/tenants?per_page=100&page={p}" for p in range(1, 18)]
            sides = {
                "renkei GET /tenants/{code}": (renkei_port, sample),
                "bare Flask, same body (limit)": (bare_port, ["/one"]),
                "renkei GET /tenants?per_page=100": (renkei_port, pages),
                "bare Flask, same page body (limit)": (bare_port, ["/page"]),
            }
            for port, paths in sides.values():
                loadgen.run(port, paths, seconds=1.0, concurrency=args.concurrency)  # warm up
            results = common.alternate({
                label: (lambda n, port=port, paths=paths: loadgen.run(port, paths, seconds=args.seconds,
                                                                     concurrency=args.concurrency))
                for label, (port, paths) in sides.items()}, args.rounds)
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
        finally:
            bare.terminate()
            bare.wait()
    finally:
        renkei.terminate()
        renkei.wait()


if __name__ == "__main__":
    time.sleep(0)
    main()
