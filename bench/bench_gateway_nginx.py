"""Benchmark: a consumer's call through Debian's nginx with the shipped recipe (the check asked of
renkei and counted) beside the upstream alone, at 1, 8 and 64 concurrent clients, same run.

    python bench/bench_gateway_nginx.py [--seconds S] [--concurrency 1,8,64] [--workers W]
                                        [--call-log-sync each|interval] [--freeze-seconds 30]
                                        [--database-url URL] [--smoke]

* ``upstream alone``: the API behind the gateway called directly. It is a ``return 200`` of nginx
  itself (the fastest upstream there is), so what the gateway adds is all that differs.
* ``through the gateway``: the same call through ``docs/gateway/renkei-gateway.conf`` as shipped
  (``auth_request`` to ``GET /api/v1/gateway/auth``, the refusal pages, keepalive upstreams), with a
  client's bearer token; renkei under gunicorn (``--workers`` processes, gthread, 8 threads each, as
  docs/deployment.md runs it), each allowed call counted in the worker's call log (docs/gateway.md,
  "Counting") and folded into the database by the workers' threads.
* Clients: bench/loadgen.py, one process per client with a keep-alive connection, closed loop.
* ``Keycloak frozen`` (issue 51, item 4): at 8 clients, ``--freeze-seconds`` (default 30) through the
  gateway with Keycloak answering, then as long with it frozen (its token endpoint and JWKS accept
  and never answer, as a SIGSTOPped JVM). The gateway credential's and the keys' lifetimes are one
  second here, so they are renewed during the freeze. Limit: the frozen p99 within 2x the unfrozen
  run's, same run, and no call refused.

Tokens come from bench/local_token.py (a local RSA key whose JWKS renkei reads as Keycloak's; the
gateway's Basic credential is exchanged at its token endpoint). After the runs the benchmark waits
for the workers to fold and prints the calls answered 200 through the gateway beside the
api_calls events in the database (none lost, none doubled). Needs ``/usr/sbin/nginx``. The database
(default: a fresh SQLite file; or ``--database-url``/``RENKEI_BENCH_DATABASE_URL``, emptied) is rebuilt.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from bench import common, loadgen  # noqa: E402

RECIPE = HERE.parent / "docs" / "gateway" / "renkei-gateway.conf"
CREDENTIAL = base64.b64encode(b"bench-gateway:bench-secret").decode()


def renkei_app():
    """gunicorn factory: renkei with the settings the benchmark put in RENKEI_BENCH_SETTINGS."""
    from admin import create_app

    return create_app(json.loads(os.environ["RENKEI_BENCH_SETTINGS"]))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_port(port: int, process: subprocess.Popen, what: str) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            sys.exit(f"{what} stopped at start (exit {process.returncode})")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.1)
    sys.exit(f"{what} did not listen within 60 s")


def nginx_config(prefix: Path, renkei_port: int, upstream_port: int, gateway_port: int) -> Path:
    recipe = RECIPE.read_text(encoding="utf-8")
    for word, value in (("RENKEI_ADDRESS", f"127.0.0.1:{renkei_port}"), ("RENKEI_HOST", "127.0.0.1"),
                        ("UPSTREAM_ADDRESS", f"127.0.0.1:{upstream_port}"),
                        ("LISTEN_ADDRESS", f"127.0.0.1:{gateway_port}"), ("GATEWAY_CREDENTIAL", CREDENTIAL)):
        recipe = recipe.replace(word, value)
    (prefix / "logs").mkdir(parents=True, exist_ok=True)
    (prefix / "renkei-gateway.conf").write_text(recipe, encoding="utf-8")
    config = prefix / "nginx.conf"
    config.write_text(
        "daemon off;\nmaster_process off;\nworker_processes 1;\nerror_log logs/error.log error;\npid logs/nginx.pid;\n"
        "events { worker_connections 1024; }\n"
        "http {\n  access_log off;\n  client_body_temp_path body;\n  proxy_temp_path proxy;\n"
        "  fastcgi_temp_path fastcgi;\n  uwsgi_temp_path uwsgi;\n  scgi_temp_path scgi;\n"
        "  keepalive_requests 1000000;\n"
        "  include renkei-gateway.conf;\n"
        f"  server {{ listen 127.0.0.1:{upstream_port}; keepalive_requests 1000000;\n"
        "    location / { default_type application/json; return 200 '{\"ok\":true}'; } }\n}\n", encoding="utf-8")
    return config


def consumer_token(issuer, azp: str) -> str:
    import jwt

    from bench.local_token import AUDIENCE, REALM

    now = int(time.time())
    return jwt.encode({"iss": f"{issuer.url}/realms/{REALM}", "aud": AUDIENCE, "sub": "bench-client", "azp": azp,
                       "iat": now, "exp": now + 7200, "renkei_tenant": "431001", "scope": "broker.read"},
                      issuer.key, algorithm="RS256", headers={"kid": "bench"})


def first_answers(port: int, headers: dict, count: int, *, direct: bool = False) -> int:
    """Calls made one by one until they are answered, then ``count`` more; how many were answered 200.
    ``direct``: asked of renkei's check itself, as nginx asks it (``port`` is renkei's), with no
    timeout: a fresh worker loads the app on its first calls, which may take longer than the
    recipe's read timeout on the check (nginx then answers 503 for a call renkei goes on to count)."""
    import http.client
    import uuid

    deadline, answered = time.monotonic() + 180, 0
    while answered < count:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        try:
            if direct:
                connection.request("GET", "/api/v1/gateway/auth", headers={
                    "Host": "127.0.0.1", "Authorization": f"Basic {CREDENTIAL}", "X-Original-Method": "GET",
                    "X-Original-URI": "/v2/entities?type=Shelter", "X-Original-Remote-Addr": "127.0.0.1",
                    "X-Original-Authorization": headers["Authorization"], "X-Request-ID": uuid.uuid4().hex})
            else:
                connection.request("GET", "/v2/entities?type=Shelter", headers=headers)
            response = connection.getresponse()
            body = response.read()
        finally:
            connection.close()
        if response.status == 200:
            answered += 1
        elif time.monotonic() > deadline:
            sys.exit(f"the gateway does not let the benchmark's calls through: {response.status} {body[:300]!r}")
        else:
            time.sleep(0.5)
    return answered


def counted_in_database(app) -> int:
    import sqlalchemy as sa

    from admin.extensions import db
    from usage.models import UsageEvent

    table = UsageEvent.__table__
    with app.app_context():
        count = db.session.execute(sa.select(sa.func.count()).where(table.c.event_id.like("gateway:%"))).scalar_one()
        db.session.remove()
    return int(count)


def frozen_keycloak(issuer, port: int, headers: dict, seconds: float, concurrency: int = 8,
                    answering_seconds: float | None = None) -> int:
    """The same load with Keycloak answering (``answering_seconds``, default as long), then frozen (token endpoint
    and JWKS, ``seconds``): the calls answered."""
    unfrozen = loadgen.run(port, ["/v2/entities?type=Shelter"], seconds=answering_seconds or seconds,
                           concurrency=concurrency, headers=headers)
    issuer.freeze(keys=True)
    try:
        frozen = loadgen.run(port, ["/v2/entities?type=Shelter"], seconds=seconds, concurrency=concurrency, headers=headers)
    finally:
        issuer.thaw()
    print(unfrozen.line(f"{concurrency:>2} clients: Keycloak answering"))
    print(frozen.line(f"{concurrency:>2} clients: Keycloak frozen"))
    common.report(f"{concurrency:>2} clients p99 Keycloak frozen vs answering", frozen.percentile(0.99),
                  unfrozen.percentile(0.99), "gateway-frozen-keycloak", "ms", higher_is_better=False)
    if frozen.errors or unfrozen.errors:
        raise SystemExit(f"calls refused: {frozen.errors} with Keycloak frozen, {unfrozen.errors} answering")
    return unfrozen.requests + frozen.requests


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0, help="seconds of load per side and concurrency")
    parser.add_argument("--concurrency", default="1,8,64")
    parser.add_argument("--workers", type=int, default=None,
                        help="gunicorn worker processes of renkei (default 2; 1 on SQLite, which has one writer)")
    parser.add_argument("--call-log-sync", choices=("each", "interval"), default="interval")
    parser.add_argument("--freeze-seconds", type=float, default=30.0,
                        help="seconds of load with Keycloak frozen, and as many unfrozen just before (0: none)")
    common.add_smoke_option(parser, "0.2 s per side at 2 clients, no warm-up run, one gunicorn worker, Keycloak "
                                    "answering 0.2 s then frozen 2 s at 1 client", processes=1)  # renkei's gunicorn
    common.add_database_option(parser)
    args = parser.parse_args()
    if args.smoke:
        args.seconds, args.concurrency, args.workers, args.freeze_seconds = 0.2, "2", 1, 2.0
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    if not Path(nginx).exists():
        sys.exit("nginx is not installed (apt-get install nginx)")
    work = Path(tempfile.mkdtemp(prefix="renkei-bench-nginx-"))
    url = args.database_url or f"sqlite:///{work}/bench.db"
    args.workers = args.workers or (1 if url.startswith("sqlite") else 2)

    from admin import create_app
    from bench.bench_gateway_check import prepare
    from bench.local_token import LocalIssuer

    issuer = LocalIssuer()
    settings = {"RENKEI_ENV": "development", "SECRET_KEY": "bench", "SQLALCHEMY_DATABASE_URI": url,
                "RENKEI_VAR_DIR": str(work / "var"), "RENKEI_GATEWAY_CALL_LOG_DIR": str(work / "calls"),
                "RENKEI_GATEWAY_CALL_LOG_SYNC": args.call_log_sync, **issuer.settings(),
                # renewed every second, so that the frozen run renews them while Keycloak does not answer
                "RENKEI_GATEWAY_CREDENTIAL_SECONDS": 1, "RENKEI_JWKS_CACHE_SECONDS": 1}
    app = create_app(settings)
    azp = prepare(app, ("127.0.0.0/8",))  # the clients call from loopback
    with app.app_context():
        from admin.extensions import db

        db.engine.dispose()
    token = consumer_token(issuer, azp)

    renkei_port, upstream_port, gateway_port = free_port(), free_port(), free_port()
    env = {**os.environ, "RENKEI_BENCH_SETTINGS": json.dumps(settings), "PYTHONPATH": f"{HERE.parent}:{HERE}"}
    renkei = common.start_python(
        ["-m", "gunicorn", "--workers", str(args.workers), "--worker-class", "gthread", "--threads", "8",
         "--bind", f"127.0.0.1:{renkei_port}", "--log-level", "warning", "--keep-alive", "30", "--graceful-timeout", "5",
         "bench_gateway_nginx:renkei_app()"], env=env, cwd=str(HERE))
    server = None
    try:
        wait_port(renkei_port, renkei, "renkei (gunicorn)")
        config = nginx_config(work / "nginx", renkei_port, upstream_port, gateway_port)
        server = subprocess.Popen([nginx, "-p", str(work / "nginx"), "-c", str(config)],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_port(gateway_port, server, "nginx")
        headers = {"Authorization": f"Bearer {token}"}
        passed = first_answers(renkei_port, headers, args.workers * 8, direct=True)  # the workers loaded
        passed += first_answers(gateway_port, headers, args.workers * 8)
        if not args.smoke:  # every worker's first calls (imports, the credential's exchange); the smoke form's are
            # the first answers above, its timed runs not judged
            warm = loadgen.run(gateway_port, ["/v2/entities?type=Shelter"], seconds=min(2, 2 * args.seconds),
                               concurrency=args.workers * 2, headers=headers)
            if warm.errors:
                sys.exit(f"the gateway refused the benchmark's calls ({warm.errors} of {warm.requests}): "
                         f"see {work / 'nginx' / 'logs'}")
            passed += warm.requests
        print(f"bench_gateway_nginx: nginx {nginx} (1 worker) with docs/gateway/renkei-gateway.conf; renkei under "
              f"gunicorn ({args.workers} workers x 8 threads); database {url.split(':')[0]}; call log sync "
              f"{args.call_log_sync}; {args.seconds:g} s per side and concurrency")
        print(f"(shared machine with {os.cpu_count()} cores, the clients on it too: figures are noisy; at each "
              "concurrency the upstream alone runs just before the gateway)")
        for concurrency in [int(c) for c in args.concurrency.split(",")]:
            alone = loadgen.run(upstream_port, ["/v2/entities?type=Shelter"], seconds=args.seconds,
                                concurrency=concurrency, headers=headers)
            through = loadgen.run(gateway_port, ["/v2/entities?type=Shelter"], seconds=args.seconds,
                                  concurrency=concurrency, headers=headers)
            passed += through.requests - through.errors
            print(alone.line(f"{concurrency:>2} clients: upstream alone"))
            print(through.line(f"{concurrency:>2} clients: through the gateway"))
            common.report(f"{concurrency:>2} clients p50 gateway vs upstream alone", through.percentile(0.5),
                          alone.percentile(0.5), None, "ms", higher_is_better=False)
            common.report(f"{concurrency:>2} clients p99 gateway vs upstream alone", through.percentile(0.99),
                          alone.percentile(0.99), None, "ms", higher_is_better=False)
        if args.freeze_seconds > 0:
            # the smoke form: answering as long as its other runs (the same path as "through the gateway"); frozen
            # longer than the credential's and the keys' lifetimes, so that they are renewed during the freeze; one
            # client, not 8 (8 closed-loop clients keep both cores busy for the 2 s the freeze has to last)
            passed += frozen_keycloak(issuer, gateway_port, headers, args.freeze_seconds,
                                      **({"answering_seconds": args.seconds, "concurrency": 1} if args.smoke else {}))
        deadline = time.monotonic() + 60
        stored = counted_in_database(app)
        while stored < passed and time.monotonic() < deadline:  # the workers fold every 0.5 s
            time.sleep(0.5)
            stored = counted_in_database(app)
        print(f"calls answered 200 through the gateway: {passed:,}; api_calls events in the database: {stored:,} "
              f"({'none lost, none doubled' if stored == passed else 'MISMATCH'})")
        if stored != passed:
            raise SystemExit("calls through the gateway were lost or doubled")
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=20)
        renkei.terminate()
        try:
            renkei.wait(timeout=30)
        except subprocess.TimeoutExpired:
            renkei.kill()
        issuer.close()


if __name__ == "__main__":
    main()
