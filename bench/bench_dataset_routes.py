"""Benchmark: naming a call's dataset in the gateway check (issue 37) beside the same check of a call of no dataset, same run.

    python bench/bench_dataset_routes.py [--quick] [--requests N] [--rounds R] [--routes N] [--database-url URL] [--smoke]

Both sides are ``GET /api/v1/gateway/auth`` as nginx asks it, in this process as a WSGI server calls
it (bench_gateway_check.py's setup: the gateway's credential remembered, the client's token verified
once, a new X-Request-ID each call), in alternating rounds; figures are medians of the rounds.

* ``dataset call``: the call's route (Fiware-Service, Fiware-ServicePath, ``type=``) is one of
  ``--routes`` datasets' API distributions (default 2,000: every municipality of a prefecture with
  a few APIs each); the matcher answers from its in-memory index (built once), and the allowed call
  is counted with its dataset named and added to ``usage_dataset_call``.
* ``no dataset`` (the limit, measured in the same run): the same call on a route no dataset has:
  counted as before, no dataset named.
* ``matcher alone``: :func:`catalogue.routes.match_in` of the same call on the same index,
  in microseconds, beside nothing (no project target).

The database (default: a fresh SQLite file under $TMPDIR; or ``--database-url``), is rebuilt.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from bench import common, inprocess  # noqa: E402
from bench.bench_gateway_check import (  # noqa: E402
    AUTH_PATH, _settings, install_gateway_credential, install_validator, prepare)


def add_routed_datasets(app, count: int) -> None:
    """``count`` datasets of 熊本市 with an API distribution each: service kumamoto, path /ds<n>, type T<n>."""
    from admin.extensions import db
    from core.actor import console_actor
    from catalogue import operations

    actor = console_actor("bench", {"platform-operator"})
    with app.app_context():
        for n in range(count):
            operations.register(db.session, actor, operations.DatasetDraft(
                provider_code="431001", title_ja=f"API {n}", category_code="health_welfare", licence_code="CC-BY-4.0",
                distributions=(operations.DistributionDraft(
                    url=f"https://broker.example.jp/v2/entities?type=T{n}", format="API", is_api=True,
                    route_service="kumamoto", route_service_path=f"/ds{n}", route_entity_type=f"T{n}"),)))
        db.session.commit()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=10_000, help="calls per side and round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--routes", type=int, default=2_000, help="datasets with a route")
    parser.add_argument("--quick", action="store_true", help="2,000 calls")
    common.add_smoke_option(parser, f"{common.SMOKE_CALLS} calls, 20 routed datasets, one round")
    common.add_database_option(parser)
    args = parser.parse_args()
    if args.smoke:
        args.requests, args.routes, args.rounds, args.quick = common.SMOKE_CALLS, 20, 1, False
    count = 2_000 if args.quick else args.requests
    url = args.database_url or f"sqlite:///{tempfile.mkdtemp(prefix='renkei-bench-routes-')}/bench.db"

    from admin import create_app
    from catalogue import routes
    from tenancy.identity.gateway import normalised_path

    app = create_app(_settings(url))
    azp = prepare(app)
    add_routed_datasets(app, args.routes)
    token = install_validator(app)(azp)
    middle = args.routes // 2
    base = {**install_gateway_credential(app), "X-Original-Method": "GET", "X-Original-Remote-Addr": "192.0.2.10",
            "X-Original-Authorization": f"Bearer {token}", "X-Original-Fiware-Service": "kumamoto",
            "X-Original-URI": f"/v2/entities?type=T{middle}&limit=100"}
    serial = iter(range(10**12))

    def new_request_id(environ: dict) -> None:
        environ["HTTP_X_REQUEST_ID"] = f"bench{next(serial):027d}"

    named = inprocess.caller(app, AUTH_PATH, {**base, "X-Original-Fiware-ServicePath": f"/ds{middle}"},
                             per_call=new_request_id)
    unnamed = inprocess.caller(app, AUTH_PATH, {**base, "X-Original-Fiware-ServicePath": "/nowhere"},
                               per_call=new_request_id)
    with contextlib.redirect_stdout(io.StringIO()):
        assert json.loads(named())["dataset"] == f"431001-{middle + 1:04d}", "the call should name its dataset"
        assert json.loads(unnamed())["dataset"] is None
    with app.app_context():
        from admin.extensions import db

        index = app.extensions["renkei_dataset_routes"].index(db.session)
    call = routes.Call("GET", base["X-Original-URI"], "kumamoto", f"/ds{middle}")

    def matcher() -> float:
        """µs per match, over ``count`` matches."""
        started = time.perf_counter()
        for _ in range(count):
            routes.match_in(index, call, normalised_path)
        return (time.perf_counter() - started) / count * 1e6

    samples = common.alternate({"gateway auth (dataset call)": lambda _: inprocess.latency(named, count),
                                "gateway auth (no dataset)": lambda _: inprocess.latency(unnamed, count)}, args.rounds)
    matched = common.median(matcher() for _ in range(args.rounds))
    print(f"bench_dataset_routes: {args.rounds} alternating rounds of {count:,} sequential in-process calls per side; "
          f"{args.routes:,} routed datasets; database {app.config['SQLALCHEMY_DATABASE_URI'].split(':')[0]}; "
          f"index built {app.extensions['renkei_dataset_routes'].builds} time(s)")
    print(common.noisy_machine_note())
    medians = common.print_latency_medians(samples)
    common.report("dataset call rate vs no dataset", medians["gateway auth (dataset call)"][2],
                  medians["gateway auth (no dataset)"][2], None, "calls/s")
    common.report("dataset call p50 vs no dataset", medians["gateway auth (dataset call)"][0],
                  medians["gateway auth (no dataset)"][0], None, "ms", higher_is_better=False)
    common.report("matcher alone", matched, None, None, "µs/call", higher_is_better=False)


if __name__ == "__main__":
    main()
