"""Benchmark: the tenant API (get by code; list page of 100) with 1,741 tenants loaded.

renkei is served by gunicorn on loopback and loaded from separate processes; beside it, in the
same run and the same way, a bare Flask app returning a constant JSON body of the same size
(the limit). Prints requests/s, p50/p99 latency and the ratio renkei / bare.

The API runs with RENKEI_API_OPEN_FOR_DEVELOPMENT (no token check), so the figure is the cost
of renkei's request handling, validation and database read, not of Keycloak.

    python bench/bench_tenant_api.py [--seconds 5] [--concurrency 4] [--database-url URL]
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

from bench import loadgen  # noqa: E402
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
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--database-url")
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
                  f"{args.concurrency} client processes x {args.seconds:.0f} s; bodies {len(one)} B and {len(page)} B")
            sample = [f"/api/v1/tenants/{code}" for code in random.Random(7).sample(codes, 500)]
            pages = [f"/api/v1/tenants?per_page=100&page={p}" for p in range(1, 18)]
            results = {}
            for label, port, paths in [
                ("renkei GET /tenants/{code}", renkei_port, sample),
                ("bare Flask, same body (limit)", bare_port, ["/one"]),
                ("renkei GET /tenants?per_page=100", renkei_port, pages),
                ("bare Flask, same page body (limit)", bare_port, ["/page"]),
            ]:
                loadgen.run(port, paths, seconds=1.0, concurrency=args.concurrency)  # warm up
                results[label] = loadgen.run(port, paths, seconds=args.seconds, concurrency=args.concurrency)
                print(results[label].line(label))
            get_ratio = results["renkei GET /tenants/{code}"].rps / results["bare Flask, same body (limit)"].rps
            list_ratio = results["renkei GET /tenants?per_page=100"].rps / results["bare Flask, same page body (limit)"].rps
            print(f"ratio get-by-code renkei/bare = {get_ratio:.2f} (target >= 0.5: {'OK' if get_ratio >= 0.5 else 'BELOW'})")
            print(f"ratio list page   renkei/bare = {list_ratio:.2f}")
        finally:
            bare.terminate()
            bare.wait()
    finally:
        renkei.terminate()
        renkei.wait()


if __name__ == "__main__":
    time.sleep(0)
    main()
