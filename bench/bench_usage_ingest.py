"""Benchmark: usage ingestion on PostgreSQL, next to a raw ``COPY`` of the same rows.

    python bench/bench_usage_ingest.py [--quick] [--events N] [--batch 5000] [--rounds R] [--database-url URL]

Ingests N events (default 1,000,000) in batches of 5,000 through :func:`tenancy.usage.metering.ingest`
(validation, idempotent insert, day and month aggregates, threshold alerts) with one commit
per batch, as ``POST /api/v1/usage`` does. Then a smaller part of the
same kind of data goes through the HTTP endpoint (Flask, JSON parsing, pydantic body) to show
what the web layer adds, and the first batches are sent again to time a resend (all duplicates).

The limit, in the same run: ``COPY`` of the same rows, the same batch size and one commit per
batch, into a table with the same columns and indexes as ``usage_event`` — the fastest way
PostgreSQL takes rows, without validation, deduplication or aggregates. The two sides alternate
(ingest, COPY, ingest, COPY, ...) over R rounds of the same rows; the rates reported are the
medians of the rounds. Project target (issue #12): ingest at >= 0.5 of raw COPY's rate.

The database (default: ``RENKEI_BENCH_DATABASE_URL``, else the local ``renkei_usage`` test
database) is wiped: its ``public`` schema is dropped and rebuilt. Never point it at real data.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import sqlalchemy as sa  # noqa: E402

from core.calendar import JST  # noqa: E402
from bench import common  # noqa: E402

DEFAULT_URL = "postgresql+psycopg://renkei:renkei@127.0.0.1:5432/renkei_usage"
GAUGES = ("broker_entities", "storage_bytes", "datasets")
NOW = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)  # one base, so a resend has the same rows


def make_app(url: str):
    from admin import create_app

    var = Path(os.environ.get("TMPDIR", "/tmp")) / "renkei-bench-usage"
    return create_app({"RENKEI_ENV": "development", "SECRET_KEY": "bench", "SQLALCHEMY_DATABASE_URI": url,
                       "RENKEI_VAR_DIR": str(var), "RENKEI_API_OPEN_FOR_DEVELOPMENT": True, "TESTING": True})


def reset_schema(db) -> None:
    with db.engine.begin() as connection:
        connection.execute(sa.text("DROP SCHEMA IF EXISTS public CASCADE"))
        connection.execute(sa.text("CREATE SCHEMA public"))
    db.create_all()


def batches(codes: list[str], total: int, size: int, seed: int, prefix: str):
    """Gateway-like traffic: 90 % api_calls counts, 10 % gauge levels, over the last 20 days."""
    rng = random.Random(seed)
    now = NOW
    start = now - dt.timedelta(days=20)
    span = int((now - start).total_seconds()) - 60
    serial = 0
    while serial < total:
        batch = []
        for _ in range(min(size, total - serial)):
            at = start + dt.timedelta(seconds=rng.randrange(span))
            if rng.random() < 0.9:
                metric, quantity = "api_calls", rng.randint(1, 50)
            else:
                metric, quantity = rng.choice(GAUGES), rng.randint(0, 100_000)
            batch.append({"tenant": rng.choice(codes), "metric": metric, "quantity": quantity,
                          "timestamp": at.astimezone(JST).isoformat(), "event_id": f"{prefix}-{serial:09d}"})
            serial += 1
        yield batch


def run_ingest(db, actor, codes, total, size, part=None) -> float:
    from tenancy.usage import metering

    elapsed = 0.0
    known = metering.tenant_codes(db.session)
    for batch in part if part is not None else batches(codes, total, size, seed=1, prefix="ev"):
        started = time.perf_counter()
        metering.ingest(db.session, actor, batch, known_tenants=known)
        db.session.commit()
        elapsed += time.perf_counter() - started
    return elapsed


def create_copy_table(db) -> None:
    with db.engine.begin() as connection:
        connection.execute(sa.text("DROP TABLE IF EXISTS bench_usage_copy"))
        connection.execute(sa.text("CREATE TABLE bench_usage_copy (LIKE usage_event INCLUDING ALL)"))


def run_copy(db, codes, total, size, part=None) -> float:
    """The limit: COPY of the same rows (parsed timestamps, no checks) into a twin of usage_event."""
    if part is None:
        create_copy_table(db)
    raw = db.engine.raw_connection()
    elapsed = 0.0
    try:
        connection = raw.driver_connection
        for batch in part if part is not None else batches(codes, total, size, seed=1, prefix="ev"):
            rows = [(e["event_id"], e["tenant"], e["metric"], e["quantity"], dt.datetime.fromisoformat(e["timestamp"]), 0)
                    for e in batch]
            started = time.perf_counter()
            with connection.cursor() as cursor:
                with cursor.copy("COPY bench_usage_copy (event_id, tenant_code, metric, quantity, occurred_at, batch_id) "
                                 "FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row(row)
            connection.commit()
            elapsed += time.perf_counter() - started
    finally:
        raw.close()
    return elapsed


def run_http(app, codes, total, size) -> float:
    client = app.test_client()
    elapsed = 0.0
    for batch in batches(codes, total, size, seed=2, prefix="http"):
        body = {"events": batch}
        started = time.perf_counter()
        response = client.post("/api/v1/usage", json=body)
        elapsed += time.perf_counter() - started
        assert response.status_code == 200, response.get_data(as_text=True)[:500]
    return elapsed


def run_resend(db, actor, codes, total, size) -> float:
    from tenancy.usage import metering

    elapsed = 0.0
    for batch in batches(codes, total, size, seed=1, prefix="ev"):
        started = time.perf_counter()
        result = metering.ingest(db.session, actor, batch)
        db.session.commit()
        elapsed += time.perf_counter() - started
        assert result.accepted == 0
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--batch", type=int, default=5_000)
    parser.add_argument("--rounds", type=int, default=5, help="alternating rounds (ingest, COPY) sharing the events")
    parser.add_argument("--quick", action="store_true", help="100,000 events")
    common.add_database_option(parser, DEFAULT_URL)
    args = parser.parse_args()
    total = 100_000 if args.quick else args.events

    from admin.extensions import db
    from tenancy.usage import quotas
    from core.actor import console_actor
    from tenancy.registry.sample import load_kumamoto

    app = make_app(args.database_url)
    actor = console_actor("bench", {"platform-operator"})
    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            sys.exit("this benchmark needs PostgreSQL (--database-url postgresql+psycopg://...)")
        reset_schema(db)
        load_kumamoto(db.session, actor)
        quotas.load_default_plans(db.session, actor)
        db.session.commit()
        codes = sorted(quotas.active_tenant_codes(db.session))
        server = db.session.execute(sa.text("SHOW server_version")).scalar()
        print(f"PostgreSQL {server}; {len(codes)} active tenants; {total:,} events in batches of {args.batch:,}")

        print(common.noisy_machine_note())
        create_copy_table(db)
        every = list(batches(codes, total, args.batch, seed=1, prefix="ev"))
        rounds = max(1, min(args.rounds, len(every)))
        parts = [every[n::rounds] for n in range(rounds)]
        samples = common.alternate({
            "ingest": lambda n: sum(map(len, parts[n])) / run_ingest(db, actor, codes, 0, args.batch, part=parts[n]),
            "copy": lambda n: sum(map(len, parts[n])) / run_copy(db, codes, 0, args.batch, part=parts[n]),
        }, rounds)
        http_total = max(args.batch, total // 10)
        http_s = run_http(app, codes, http_total, args.batch)
        resend_total = max(args.batch, total // 10)
        resend_s = run_resend(db, actor, codes, resend_total, args.batch)
        events = db.session.execute(sa.text("SELECT count(*) FROM usage_event")).scalar()
        aggregates = db.session.execute(sa.text("SELECT count(*) FROM usage_aggregate")).scalar()
        alerts = db.session.execute(sa.text("SELECT count(*) FROM notification WHERE kind = 'quota.threshold'")).scalar()

    ingest_rate, copy_rate = common.median(samples["ingest"]), common.median(samples["copy"])
    print(f"ingest rounds (events/s): {', '.join(f'{v:,.0f}' for v in samples['ingest'])}")
    print(f"COPY rounds   (events/s): {', '.join(f'{v:,.0f}' for v in samples['copy'])}")
    common.report("usage ingest (domain, commit per batch)", ingest_rate, copy_rate, "usage-ingest", "events/s")
    print("  limit = raw COPY of the same rows and batches, one commit per batch, into a twin of usage_event")
    print(f"over HTTP (Flask test client, JSON body): {http_total:>9,} events in {http_s:7.2f} s = {http_total / http_s:>9,.0f} events/s")
    print(f"resend of already recorded batches:       {resend_total:>9,} events in {resend_s:7.2f} s = {resend_total / resend_s:>9,.0f} events/s")
    print(f"stored: {events:,} events, {aggregates:,} aggregate rows, {alerts:,} threshold alerts")


if __name__ == "__main__":
    main()
