"""Benchmark: usage ingestion on PostgreSQL (or SQLite), next to a raw ``COPY`` (SQLite: a plain
``INSERT``) of the same rows.

    python bench/bench_usage_ingest.py [--quick] [--events N] [--batch 5000] [--rounds R] [--heap M] [--database-url URL]
    python bench/bench_usage_ingest.py --smoke [--database-url URL]
    python bench/bench_usage_ingest.py --national-year [--months 12] [--tenants 1741] [--database-url URL]

Ingests N events (default 1,000,000) in batches of 5,000 through :func:`usage.metering.ingest`
(validation, idempotent insert, day and month aggregates, threshold alerts) with one commit
per batch, as ``POST /api/v1/usage`` does. Then a smaller part of the
same kind of data goes through the HTTP endpoint (Flask, JSON parsing, pydantic body) to show
what the web layer adds, and the first batches are sent again to time a resend (all duplicates).

The limit, in the same run: ``COPY`` of the same rows, the same batch size and one commit per
batch, into a table with the same columns and indexes as ``usage_event`` — the fastest way
PostgreSQL takes rows, without validation, deduplication or aggregates. The two sides alternate
(ingest, COPY, ingest, COPY, ...) over R rounds of the same rows; the rates reported are the
medians of the rounds. Project target (issue #12): ingest at >= 0.5 of raw COPY's rate.

On SQLite (``--database-url sqlite:///FILE``, its tables dropped and made again) the limit is a plain
``executemany`` INSERT of the same rows into a twin of ``usage_event``, one commit per batch.

``--heap M`` keeps M million small long-lived objects in the process while it runs, as a loaded
server holds: CPython's cyclic garbage collector walks them in every full collection, so what a
batch costs the collector shows (0, the default: the benchmark's own heap only).

``--national-year`` (issue #12, item 4) ingests instead every tenant (1,741: Kumamoto's and
synthetic ones) x 5 metrics x every hour of the last 12 whole months (about 76 million events;
``--months N`` for fewer), generated and sent one batch at a time (never all in memory), into the
monthly partitions, and prints the ingest time, events/s, ``pg_database_size`` and the size of
each partition; with fewer than 12 months it prints a linear extrapolation to the year, marked as such.

The database (default: ``RENKEI_BENCH_DATABASE_URL``, else the local ``renkei_usage`` test
database) is wiped: its ``public`` schema is dropped and rebuilt. Never point it at real data.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
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
CLIENT_GAUGES = ("broker_entities", "storage_bytes")  # what a client reports: datasets is counted from the register
NOW = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)  # one base, so a resend has the same rows


def make_app(url: str):
    from admin import create_app

    var = Path(os.environ.get("TMPDIR", "/tmp")) / "renkei-bench-usage"
    return create_app({"RENKEI_ENV": "development", "SECRET_KEY": "bench", "SQLALCHEMY_DATABASE_URI": url,
                       "RENKEI_VAR_DIR": str(var), "RENKEI_API_OPEN_FOR_DEVELOPMENT": True, "TESTING": True})


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
                metric, quantity = rng.choice(CLIENT_GAUGES), rng.randint(0, 100_000)
            batch.append({"tenant": rng.choice(codes), "metric": metric, "quantity": quantity,
                          "timestamp": at.astimezone(JST).isoformat(), "event_id": f"{prefix}-{serial:09d}"})
            serial += 1
        yield batch


INGEST_TIME = {"wall": 0.0, "cpu": 0.0}  # over every ingest round: elapsed, and this process's CPU time in it


def run_ingest(db, actor, codes, total, size, part=None) -> float:
    from usage import metering

    elapsed = 0.0
    known = metering.tenant_codes(db.session)
    for batch in part if part is not None else batches(codes, total, size, seed=1, prefix="ev"):
        started, cpu = time.perf_counter(), time.process_time()
        metering.ingest(db.session, actor, batch, known_tenants=known)
        db.session.commit()
        elapsed += time.perf_counter() - started
        INGEST_TIME["cpu"] += time.process_time() - cpu
    INGEST_TIME["wall"] += elapsed
    return elapsed


def _twin(db) -> sa.Table:
    """A table with usage_event's columns and keys (SQLite: the limit's table)."""
    from usage.models import UsageEvent

    return UsageEvent.__table__.to_metadata(sa.MetaData(), name="bench_usage_copy")


def create_copy_table(db) -> None:
    with db.engine.begin() as connection:
        connection.execute(sa.text("DROP TABLE IF EXISTS bench_usage_copy"))
        if db.engine.dialect.name == "sqlite":
            _twin(db).create(connection)
        else:
            connection.execute(sa.text("CREATE TABLE bench_usage_copy (LIKE usage_event INCLUDING ALL)"))


def run_insert(db, part) -> float:
    """SQLite's limit: a plain executemany INSERT of the same rows (parsed timestamps, no checks)
    into a twin of usage_event, one commit per batch."""
    table = _twin(db)
    elapsed = 0.0
    for batch in part:
        rows = [{"event_id": e["event_id"], "tenant_code": e["tenant"], "metric": e["metric"], "quantity": e["quantity"],
                 "occurred_at": dt.datetime.fromisoformat(e["timestamp"]), "batch_id": 0} for e in batch]
        started = time.perf_counter()
        with db.engine.begin() as connection:
            connection.execute(table.insert(), rows)
        elapsed += time.perf_counter() - started
    return elapsed


def run_copy(db, codes, total, size, part=None) -> float:
    """The limit: COPY of the same rows (parsed timestamps, no checks) into a twin of usage_event."""
    if db.engine.dialect.name == "sqlite":
        return run_insert(db, part)
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
    from usage import metering

    elapsed = 0.0
    for batch in batches(codes, total, size, seed=1, prefix="ev"):
        started = time.perf_counter()
        result = metering.ingest(db.session, actor, batch)
        db.session.commit()
        elapsed += time.perf_counter() - started
        assert result.accepted == 0
    return elapsed


# --- a year of national usage (issue #12, item 4) ------------------------------------------------

NATIONAL_TENANTS = 1_741
METRIC_NAMES = ("api_calls", "broker_entities", "storage_bytes", "datasets", "user_seats")


def national_months(months: int) -> list[dt.date]:
    """The ``months`` whole Japan-time months before the current one, oldest first."""
    from core.calendar import add_months, current_month

    this = current_month(NOW)
    return [add_months(this, -offset) for offset in range(months, 0, -1)]


def national_events(codes: list[str], months: list[dt.date]):
    """Every tenant x 5 metrics x every hour of ``months``, one hour at a time (never all in memory)."""
    from core.calendar import add_months, month_start_utc

    rng = random.Random(76)
    levels = {(code, metric): rng.randint(1_000, 1_000_000) for code in codes for metric in GAUGES}
    seats = {code: rng.randint(5, 400) for code in codes}
    for month in months:
        hour, end = month_start_utc(month), month_start_utc(add_months(month, 1))
        while hour < end:
            stamp, tag = hour.isoformat(), f"{hour:%Y%m%d%H}"
            for code in codes:
                for metric in METRIC_NAMES:
                    if metric == "api_calls":
                        quantity = rng.randint(0, 2_000)
                    elif metric == "user_seats":
                        quantity = seats[code]
                    else:
                        quantity = levels[(code, metric)] = levels[(code, metric)] + rng.randint(-50, 100)
                    yield {"tenant": code, "metric": metric, "quantity": max(quantity, 0), "timestamp": stamp,
                           "event_id": f"nat-{code}-{metric}-{tag}"}
            hour += dt.timedelta(hours=1)


def add_national_tenants(db, count: int) -> list[str]:
    """Synthetic active municipalities beside Kumamoto's, up to ``count`` tenants in all."""
    from bench.bench_pages import synthetic_codes
    from tenancy.registry.models import Tenant

    now = dt.datetime.now(dt.timezone.utc)
    taken = set(db.session.scalars(sa.select(Tenant.code)))
    rows = [{"code": code, "name_ja": f"架空{i}町", "name_en": f"Kaku {i}", "kind": "town", "population": 10_000 + i,
             "population_source": "synthetic", "status": "active", "created_at": now, "updated_at": now}
            for i, code in enumerate(synthetic_codes(max(0, count - len(taken)), taken))]
    if rows:
        db.session.execute(Tenant.__table__.insert(), rows)
    db.session.commit()
    return sorted(db.session.scalars(sa.select(Tenant.code)))


def run_national(db, actor, months_count: int, batch_size: int, tenants: int) -> None:
    """Ingest ``months_count`` months of hourly usage of every tenant; print time, rate and sizes."""
    import itertools

    from usage import metering

    codes = add_national_tenants(db, tenants)
    months = national_months(months_count)
    settings = metering.MeteringSettings(retention_months=max(13, months_count + 1), max_batch=max(batch_size, 10_000))
    metering.prepare_partitions(db.session, now=NOW, settings=settings, ahead=1)
    db.session.commit()
    expected = len(codes) * len(METRIC_NAMES) * sum(
        24 * ((month.replace(day=28) + dt.timedelta(days=4)).replace(day=1) - month).days for month in months)
    print(f"national usage: {len(codes):,} tenants x {len(METRIC_NAMES)} metrics x hourly, {len(months)} month(s) "
          f"({months[0]:%Y-%m} .. {months[-1]:%Y-%m}) = {expected:,} events in batches of {batch_size:,}, "
          "one commit per batch", flush=True)
    known = metering.tenant_codes(db.session)
    stream = national_events(codes, months)
    ingest_s, done, started = 0.0, 0, time.perf_counter()
    while True:
        batch = list(itertools.islice(stream, batch_size))
        if not batch:
            break
        begun = time.perf_counter()
        result = metering.ingest(db.session, actor, batch, known_tenants=known, settings=settings, source="bench")
        db.session.commit()
        ingest_s += time.perf_counter() - begun
        done += result.accepted
        if done % 500_000 < batch_size:
            print(f"  {done:>12,} events, {done / ingest_s:,.0f} events/s", flush=True)
    wall = time.perf_counter() - started
    print(f"ingested {done:,} events: ingest time {ingest_s:,.1f} s ({done / ingest_s:,.0f} events/s); "
          f"wall time with generating the events {wall:,.1f} s", flush=True)

    def size(relation: str) -> int:
        return db.session.execute(sa.text("SELECT pg_total_relation_size(to_regclass(:r))"), {"r": relation}).scalar() or 0

    db.session.execute(sa.text("ANALYZE usage_event"))  # row estimates of the partitions below
    database = db.session.execute(sa.text("SELECT pg_database_size(current_database())")).scalar()
    parts = db.session.execute(sa.text(
        "SELECT c.relname, pg_total_relation_size(c.oid), c.reltuples::bigint FROM pg_inherits i "
        "JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = 'usage_event'::regclass ORDER BY c.relname")).all()
    mib = 1024 * 1024
    print(f"database size (pg_database_size): {database / mib:,.0f} MiB")
    for name, bytes_, rows in parts:
        if bytes_ > 8192 * 4:
            print(f"  {name:<24} {bytes_ / mib:>9,.0f} MiB  ~{max(rows, 0):,} rows")
    for relation in ("usage_aggregate", "usage_batch"):
        print(f"  {relation:<24} {size(relation) / mib:>9,.0f} MiB")
    if len(months) < 12:
        year = len(codes) * len(METRIC_NAMES) * 24 * 365
        factor = year / done if done else 0
        print(f"extrapolated to a year ({year:,} events), NOT run: about {ingest_s * factor / 3600:,.2f} h of ingest "
              f"at this rate and about {database * factor / 1024 ** 3:,.1f} GiB (linear in events)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--batch", type=int, default=5_000)
    parser.add_argument("--rounds", type=int, default=5, help="alternating rounds (ingest, COPY) sharing the events")
    parser.add_argument("--quick", action="store_true", help="100,000 events")
    parser.add_argument("--national-year", action="store_true",
                        help=f"instead: ingest a year of national usage ({NATIONAL_TENANTS:,} tenants x 5 metrics x hourly "
                             "events, about 76 million) and print the time and the database size")
    parser.add_argument("--months", type=int, default=12, help="with --national-year: how many months (default 12)")
    parser.add_argument("--tenants", type=int, default=NATIONAL_TENANTS, help="with --national-year: tenants in all")
    parser.add_argument("--heap", type=float, default=0,
                        help="millions of small long-lived objects kept while it runs, as a loaded server holds (default 0)")
    common.add_smoke_option(parser, "500 events in batches of 100, one round (SQLite or PostgreSQL; not --national-year)")
    common.add_database_option(parser, DEFAULT_URL)
    args = parser.parse_args()
    if args.smoke:
        args.events, args.batch, args.rounds, args.quick = 500, 100, 1, False
    heap = [[n] for n in range(int(args.heap * 1_000_000))]  # noqa: F841 (kept alive: the collector walks it)
    total = 100_000 if args.quick else args.events

    from admin.extensions import db
    from usage import quotas
    from core.actor import console_actor

    app = make_app(args.database_url)
    actor = console_actor("bench", {"platform-operator"})
    with app.app_context():
        sqlite = db.engine.dialect.name == "sqlite"
        if sqlite and args.national_year:
            sys.exit("--national-year needs PostgreSQL (--database-url postgresql+psycopg://...)")
        if sqlite:
            db.drop_all()
        common.kumamoto_with_plans(db, actor)
        if args.national_year:
            run_national(db, actor, args.months, args.batch, args.tenants)
            return
        codes = sorted(quotas.active_tenant_codes(db.session))
        server = ("SQLite " + db.session.execute(sa.text("SELECT sqlite_version()")).scalar() if sqlite
                  else db.session.execute(sa.text("SHOW server_version")).scalar())
        print(f"{server}; {len(codes)} active tenants; {total:,} events in batches of {args.batch:,}; "
              f"heap: {len(gc.get_objects()):,} objects the collector tracks")

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
    print(f"{'INSERT' if sqlite else 'COPY':<6} rounds (events/s): {', '.join(f'{v:,.0f}' for v in samples['copy'])}")
    common.report("usage ingest (domain, commit per batch)", ingest_rate, copy_rate, "usage-ingest", "events/s")
    print(f"  limit = raw {'INSERT' if sqlite else 'COPY'} of the same rows and batches, one commit per batch, "
          "into a twin of usage_event")
    print(f"  of the ingest time, Python (this process's CPU time): {INGEST_TIME['cpu']:.2f} s of {INGEST_TIME['wall']:.2f} s "
          f"({INGEST_TIME['cpu'] / INGEST_TIME['wall']:.0%}); the rest waits on PostgreSQL (or on a busy machine)")
    print(f"over HTTP (Flask test client, JSON body): {http_total:>9,} events in {http_s:7.2f} s = {http_total / http_s:>9,.0f} events/s")
    print(f"resend of already recorded batches:       {resend_total:>9,} events in {resend_s:7.2f} s = {resend_total / resend_s:>9,.0f} events/s")
    print(f"stored: {events:,} events, {aggregates:,} aggregate rows, {alerts:,} threshold alerts")
    from usage.event_checks import fall_throughs

    handed = fall_throughs()
    print(f"fast check fall-throughs (events the one rule decided): {handed['refused']:,} refused, "
          f"{handed['unusual']:,} of an unusual form accepted")


if __name__ == "__main__":
    main()
