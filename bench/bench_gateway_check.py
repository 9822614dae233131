"""Benchmark: the API gateway's checks (GET /api/v1/gateway/auth, POST /api/v1/gateway/check) beside the quota check, same run.

    python bench/bench_gateway_check.py [--quick] [--requests N] [--rounds R] [--database-url URL] [--smoke]
        [--call-log-sync each|interval] [--fold-seconds S] [--fold-in-process]

Both endpoints are called in this process as a WSGI server calls them (the environ built once,
the app called with a fresh copy each time, the request log line written into /dev/null), in
alternating rounds (gateway, quota, gateway, quota, ...); figures are medians of the rounds.

* ``gateway auth``: ``GET /api/v1/gateway/auth`` as nginx's ``auth_request`` asks it (the
  gateway's Basic credential, remembered after its first exchange as in production; the call in
  X-Original-* headers; a new X-Request-ID each call), i.e. the check below with the call's scope
  from the route table, and the allowed call **counted**: its usage event made durable in the
  process's call log before the answer (written and ``fdatasync``-ed; no database commit per call),
  the segment sealed every 0.5 s by the process's thread and folded into the database by the folder,
  ``renkei gateway fold``, started here as a process of its own as in production, which runs during
  the measurement on the same cores (docs/gateway.md, "Counting"). ``--fold-in-process``: no folder
  process, so the request process's thread folds (the fallback; the figure before issue 36's folder). ``(uncounted repeat)``: the same
  check with one X-Request-ID again and again, so nothing is written (the count alone left out).
  ``(address refused)``: refused with 403, nothing written. After the rounds the calls left in
  the log are folded and the database's count is compared with the calls answered "counted".
* ``gateway check``: a client-credentials token of an API client (RS256, signed here with a key
  whose JWKS the validator is given, so no Keycloak is needed; the validator is renkei's own
  :class:`TokenValidator`, which remembers a verified token until its expiry, as in production
  where a gateway sends the same token many times), the client's state from the per-process
  client state cache (read from the database at most once a second per credential, so its reloads
  are part of the figures; a revocation in the same process clears it at once), the allowlist
  matched, then the tenant's api_calls quota from the quota cache.
* ``disk flush alone``: what ``each`` adds per call at least, measured in the same rounds: one
  130-byte line written into a pre-made file in the call log's folder and ``fdatasync``-ed (the
  disk's own latency; on a shared disk its tail is other people's writes).
* ``quota check`` (the limit, measured in the same run): ``GET /api/v1/tenants/431001/quota-check``,
  the check the gateway check folds in.

The caller's own bearer token is not checked (``RENKEI_API_OPEN_FOR_DEVELOPMENT``), as in
bench_quota_check.py. Project targets: p99 < 2 ms in-process (issue #12, the quota check's); the
counted gateway auth's p99 within 1.5x the uncounted check's (``gateway check (allowed)``, issue
36 item 7), both measured in this run.
The database (default: a fresh SQLite file under $TMPDIR; or ``--database-url``/
``RENKEI_BENCH_DATABASE_URL``, which is emptied) is rebuilt.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import io
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from bench import common, inprocess  # noqa: E402
from bench.local_token import install_gateway_credential, install_validator  # noqa: E402

QUOTA_PATH = "/api/v1/tenants/431001/quota-check"
GATEWAY_PATH = "/api/v1/gateway/check"
AUTH_PATH = "/api/v1/gateway/auth"


def _settings(url: str, sync: str = "each", fold_seconds: float = 0.5) -> dict:
    var = Path(os.environ.get("TMPDIR", "/tmp")) / "renkei-bench-gateway"
    return {"RENKEI_ENV": "development", "SECRET_KEY": "bench", "SQLALCHEMY_DATABASE_URI": url,
            "RENKEI_REQUEST_LOG": "off",
            "RENKEI_VAR_DIR": str(var), "RENKEI_API_OPEN_FOR_DEVELOPMENT": True,
            # this run's own call log (a folder left by an earlier run would be folded into this database)
            "RENKEI_GATEWAY_CALL_LOG_DIR": tempfile.mkdtemp(prefix="renkei-bench-calls-"),
            "RENKEI_GATEWAY_CALL_LOG_SYNC": sync, "RENKEI_GATEWAY_FOLD_SECONDS": fold_seconds}


class _Directory:
    """Stands for Keycloak when the client is registered (the benchmark measures the check, not creation)."""

    def create_api_client(self, client_id, name, description, claims, optional_scopes=()):
        return "bench-secret"

    def set_api_client_enabled(self, client_id, enabled):
        pass


def prepare(app, allowlist: tuple[str, ...] = ("10.0.0.0/8", "192.0.2.0/24")) -> str:
    """A fresh schema, Kumamoto's tenants, default plans, some usage, one API client; its Keycloak client id."""
    from admin.extensions import db
    from core.actor import console_actor
    from tenancy.identity import api_clients

    actor = console_actor("bench", {"platform-operator"})
    with app.app_context():
        common.kumamoto_with_plans(db, actor, usage=True)
        issued = api_clients.create_api_client(db.session, actor, _Directory(), "431001", {
            "name": "bench", "purpose": "benchmark", "scopes": ["broker.read"], "allowlist": list(allowlist),
            "expires_on": (dt.date.today() + dt.timedelta(days=30)).isoformat()})
        db.session.commit()
        return issued.keycloak_client_id


class DiskFlush:
    """One call-log line written into a pre-made segment-like file and flushed, as ``each`` does per group."""

    def __init__(self, directory: str) -> None:
        self.fd = os.open(Path(directory) / "disk-flush-probe", os.O_RDWR | os.O_CREAT, 0o600)
        os.pwrite(self.fd, bytes(1 << 20), 0)
        os.fsync(self.fd)
        self.offset = 0

    def __call__(self) -> None:
        if self.offset + 130 > 1 << 20:
            self.offset = 0
        os.pwrite(self.fd, b"x" * 129 + b"\n", self.offset)
        os.fdatasync(self.fd)
        self.offset += 130

    def close(self) -> None:
        os.close(self.fd)


def start_folder(app) -> subprocess.Popen | common.Forked:
    """``renkei gateway fold`` on the app's database and call log, a process of its own (as systemd runs
    it beside gunicorn); returns once it holds the folder lock."""
    from usage import call_log

    config = app.config
    env = {**os.environ, "RENKEI_ENV": "development", "RENKEI_SECRET_KEY": "bench-folder-secret-0123456789abcdef",
           "RENKEI_DATABASE_URL": config["SQLALCHEMY_DATABASE_URI"], "RENKEI_VAR_DIR": config["RENKEI_VAR_DIR"],
           "RENKEI_GATEWAY_CALL_LOG_DIR": config["RENKEI_GATEWAY_CALL_LOG_DIR"], "RENKEI_REQUEST_LOG": "off",
           "RENKEI_GATEWAY_FOLD_SECONDS": str(config["RENKEI_GATEWAY_FOLD_SECONDS"]),
           "RENKEI_ADMIN_EVENTS_INTERVAL": "0"}
    folder = common.start_python(["-c", "from admin.cli import main; main()", "gateway", "fold"], cwd=str(HERE.parent),
                                 env=env)
    deadline = time.monotonic() + 120
    while not call_log.folder_running(config["RENKEI_GATEWAY_CALL_LOG_DIR"]):
        if folder.poll() is not None or time.monotonic() > deadline:
            raise SystemExit("renkei gateway fold did not start")
        time.sleep(0.05)  # polling the condition (the folder holds its lock), with a deadline
    return folder


def stop_folder(folder: subprocess.Popen | common.Forked | None) -> None:
    if folder is not None and folder.poll() is None:
        folder.send_signal(signal.SIGTERM)  # ends between two folds
        folder.wait(timeout=60)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=10_000, help="calls per side and round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="2,000 calls")
    parser.add_argument("--call-log-sync", choices=("each", "interval"), default="interval",
                        help="RENKEI_GATEWAY_CALL_LOG_SYNC: each call's count written to the operating system before "
                             "its answer and flushed every 10 ms (interval, the default), or flushed to the disk before "
                             "its answer (each)")
    parser.add_argument("--fold-seconds", type=float, default=0.5,
                        help="RENKEI_GATEWAY_FOLD_SECONDS (0: no folding thread, the calls folded after the rounds): "
                             "how much of the counted p99 the fold's thread costs")
    parser.add_argument("--fold-in-process", action="store_true",
                        help="no folder process: the request process's thread folds (the fallback when none runs)")
    common.add_smoke_option(parser, f"{common.SMOKE_CALLS} calls, one round, with the folder process",
                            processes=1)  # the folder
    common.add_database_option(parser)
    args = parser.parse_args()
    if args.smoke:
        args.requests, args.rounds, args.quick = common.SMOKE_CALLS, 1, False
    count = 2_000 if args.quick else args.requests
    url = args.database_url or f"sqlite:///{tempfile.mkdtemp(prefix='renkei-bench-gateway-')}/bench.db"

    from admin import create_app

    app = create_app(_settings(url, args.call_log_sync, args.fold_seconds))
    azp = prepare(app)
    token = install_validator(app)(azp)
    allowed = json.dumps({"token": token, "address": "192.0.2.10"}).encode()
    refused = json.dumps({"token": token, "address": "198.51.100.7"}).encode()
    gateway = inprocess.caller(app, GATEWAY_PATH, method="POST", body=allowed)
    gateway_refused = inprocess.caller(app, GATEWAY_PATH, method="POST", body=refused, status="403")
    quota = inprocess.caller(app, f"{QUOTA_PATH}?metric=api_calls")
    call = {**install_gateway_credential(app), "X-Original-Method": "GET", "X-Original-URI": "/v2/entities?type=Shelter",
            "X-Original-Authorization": f"Bearer {token}"}
    serial = iter(range(10**12))
    counted = iter(range(10**12))  # the request ids of the calls that pass (each one counted)

    def new_request_id(environ: dict) -> None:
        environ["HTTP_X_REQUEST_ID"] = f"bench{next(serial):027d}"

    def counted_request_id(environ: dict) -> None:
        environ["HTTP_X_REQUEST_ID"] = f"benchcounted{next(counted):020d}"

    auth = inprocess.caller(app, AUTH_PATH, {**call, "X-Original-Remote-Addr": "192.0.2.10"},
                            per_call=counted_request_id)
    auth_refused = inprocess.caller(app, AUTH_PATH, {**call, "X-Original-Remote-Addr": "198.51.100.7"},
                                    status="403", per_call=new_request_id)
    auth_repeat = inprocess.caller(app, AUTH_PATH, {**call, "X-Original-Remote-Addr": "192.0.2.10",
                                                    "X-Request-ID": "bench-repeated-request"})
    folder = start_folder(app) if args.fold_seconds > 0 and not args.fold_in_process else None
    try:
        flush = DiskFlush(tempfile.mkdtemp(prefix="renkei-bench-flush-", dir=Path(app.config["RENKEI_GATEWAY_CALL_LOG_DIR"]).parent))
        samples = measure(args, count, auth, auth_repeat, auth_refused, gateway, gateway_refused, quota, flush)
        flush.close()
    finally:
        from admin.service.gateway_calls import calls

        calls(app).stop()  # this process's thread first: without the folder it would fold here
        stop_folder(folder)
    if not report(app, args, samples, next(counted)):
        raise SystemExit("counted calls were lost or doubled")


def measure(args, count: int, auth, auth_repeat, auth_refused, gateway, gateway_refused, quota, flush) -> dict:
    with contextlib.redirect_stdout(io.StringIO()):
        assert json.loads(gateway())["allowed"] is True, "the benchmark's client should be allowed"
        assert json.loads(gateway_refused())["reason"] == "address_not_allowed"
        assert json.loads(auth())["counted"] is True, "GET /gateway/auth should allow and count the call"
        assert json.loads(auth_refused())["reason"] == "address_not_allowed"
        auth_repeat()
        assert json.loads(auth_repeat())["counted"] is False, "a repeated request id should not be counted"

    samples = common.alternate({"gateway auth (allowed, counted)": lambda _: inprocess.latency(auth, count),
                                "gateway auth (uncounted repeat)": lambda _: inprocess.latency(auth_repeat, count),
                                "gateway auth (address refused)": lambda _: inprocess.latency(auth_refused, count),
                                "gateway check (allowed)": lambda _: inprocess.latency(gateway, count),
                                "gateway check (address refused)": lambda _: inprocess.latency(gateway_refused, count),
                                "quota check": lambda _: inprocess.latency(quota, count),
                                "disk flush alone": lambda _: inprocess.latency(flush, count)}, args.rounds)
    return samples


def report(app, args, samples: dict, answered: int) -> bool:
    """Prints the figures; whether the counted calls are all in the database once each."""
    count = 2_000 if args.quick else args.requests
    if args.fold_seconds <= 0:
        folding = "no fold during the rounds"
    elif args.fold_in_process:
        folding = f"folded every {args.fold_seconds:g} s by the request process's thread (no folder process)"
    else:
        folding = f"sealed every {args.fold_seconds:g} s, folded by a folder process (renkei gateway fold)"
    print(f"bench_gateway_check: {args.rounds} alternating rounds of {count:,} sequential in-process calls per side; "
          f"database {app.config['SQLALCHEMY_DATABASE_URI'].split(':')[0]}; call log sync {args.call_log_sync}; {folding}")
    print(common.noisy_machine_note())
    medians = common.print_latency_medians(samples)
    common.report("gateway auth rate vs quota check", medians["gateway auth (allowed, counted)"][2],
                  medians["quota check"][2], None, "calls/s")
    common.report("gateway auth p99 in-process", medians["gateway auth (allowed, counted)"][1], None,
                  "quota-check-p99", "ms", higher_is_better=False)
    common.report("gateway check rate vs quota check", medians["gateway check (allowed)"][2],
                  medians["quota check"][2], None, "calls/s")
    common.report("gateway check p99 in-process", medians["gateway check (allowed)"][1], None,
                  "quota-check-p99", "ms", higher_is_better=False)
    common.report("quota check p99 in-process (same run)", medians["quota check"][1], None,
                  "quota-check-p99", "ms", higher_is_better=False)
    print("counted path (issue 36 item 7): the counted auth's p99 beside the uncounted check's, same run")
    common.report("counted auth p99 vs uncounted check p99", medians["gateway auth (allowed, counted)"][1],
                  medians["gateway check (allowed)"][1], "counted-gateway", "ms", higher_is_better=False)
    common.report("counted auth p99 vs same auth uncounted", medians["gateway auth (allowed, counted)"][1],
                  medians["gateway auth (uncounted repeat)"][1], "counted-gateway", "ms", higher_is_better=False)
    common.report("disk flush alone p99 vs uncounted check p99", medians["disk flush alone"][1],
                  medians["gateway check (allowed)"][1], None, "ms", higher_is_better=False)
    line = lost_or_doubled(app, answered)
    print(line)
    return "MISMATCH" not in line


def lost_or_doubled(app, answered: int) -> str:
    """The calls answered "counted" beside the api_calls in the database once the log is folded."""
    import sqlalchemy as sa

    from admin.extensions import db
    from admin.service.gateway_calls import fold_now
    from usage.models import UsageEvent

    fold_now(app)
    table = UsageEvent.__table__
    with app.app_context():
        stored = db.session.execute(sa.select(sa.func.count()).where(
            table.c.event_id.like("gateway:benchcounted%"))).scalar_one()
    return (f"counted calls answered 200: {answered:,}; in the database after the last fold: {stored:,} "
            f"({'none lost, none doubled' if stored == answered else 'MISMATCH'})")


if __name__ == "__main__":
    main()
