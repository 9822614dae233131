"""Benchmark: the catalogue at national size (issue 22): CKAN's package_search, package_show and a page of the DCAT feed.

    python bench/bench_catalogue.py [--rounds 60] [--providers 1741] [--per-provider 30] [--rebuild] [--smoke]
                                    [--database-url URL]

The data set: 1,741 providers (Kumamoto's reference tenants plus synthetic municipalities with
valid codes, as bench_pages builds them) with 30 datasets each, about 52,000 datasets with a
distribution each (most published and open; some for members only; a third of a standard kind).
On SQLite (the default) the database is kept in /tmp, keyed by size and schema
(``common.schema_key``), and reused (``--rebuild`` builds it again); ``--database-url`` builds it in a
PostgreSQL database, which is EMPTIED first (and vacuumed and analysed after the bulk load, as
autovacuum leaves it soon after), and reused by the next run when it still holds that data set
(same size and schema: the facts file in /tmp names them, the database's counts must agree).
The request log is off: only the figures are printed.

Requests go through the Flask test client (in-process server time), anonymous, and alternate in
every round with the LIMIT measured in the same run: the layout page with no content (signed in,
as bench_pages measures it). Printed: p50 and p95 of each beside the limit's, and the project's
goal for the catalogue (p95 < 100 ms): package_search with a text query and each filter CKAN
clients use (organization, res_format, tags, license_id), package_show, a page of the DCAT feed in
Turtle and in JSON-LD, a Solr OR query and CKAN's five facet fields counted for a text query (issue
37); and, without a goal, a text query whose word is in most of the register (一覧, in 73% of the
titles: its count reads most rows) and the five facet fields counted over the whole catalogue.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import os
import random
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import common  # noqa: E402
from bench.fill import fill_datasets  # noqa: E402

# a word most titles hold (一覧): its count reads most of the register; printed without the goal
BROAD = "search q in 73% of titles + fq res_format"
# CKAN's five facet fields counted over the whole catalogue: every published dataset grouped five times (as
# BROAD, it reads most rows; printed without the goal)
ALL_FACETS = "package_search 5 facet fields, whole catalogue"
FACETS = "%5B%22organization%22%2C%22groups%22%2C%22tags%22%2C%22res_format%22%2C%22license_id%22%5D"


def build(app, providers: int, per_provider: int) -> dict:
    import sqlalchemy as sa

    from admin.extensions import db
    from core.actor import Actor
    from tenancy.registry.models import Tenant
    from tenancy.registry.sample import load_kumamoto

    operator = Actor(issuer="urn:bench", subject="operator-1", name="県 運営者", roles=frozenset({"platform-operator"}))
    started = time.perf_counter()
    with app.app_context():
        common.reset_schema(db)
        session = db.session
        load_kumamoto(session, operator)
        session.commit()
        taken = set(session.scalars(sa.select(Tenant.code)))
        now = dt.datetime.now(dt.timezone.utc)
        session.execute(Tenant.__table__.insert(), [
            {"code": code, "name_ja": f"架空{i}町", "name_en": f"Kaku {i}", "kind": "town", "population": 10_000,
             "population_source": "synthetic", "status": "active", "created_at": now, "updated_at": now}
            for i, code in enumerate(common.synthetic_codes(providers - len(taken), taken))])
        session.commit()
        codes = sorted(session.scalars(sa.select(Tenant.code)))
        count = fill_datasets(session, codes, per_provider)
        if db.engine.dialect.name == "postgresql":  # as autovacuum leaves tables soon after a bulk load
            with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
                connection.execute(sa.text("VACUUM ANALYZE dataset, dataset_distribution, dataset_search_gram, tenant"))
    return {"providers": len(codes), "datasets": count, "build_seconds": round(time.perf_counter() - started, 1)}


def still_there(app, facts: dict) -> bool:
    """Whether the PostgreSQL database still holds the data set ``facts`` describes (the tests or another
    benchmark may have emptied it since): its datasets and providers, counted."""
    import sqlalchemy as sa

    from admin.extensions import db
    from catalogue.models import Dataset
    from tenancy.registry.models import Tenant

    with app.app_context():
        try:
            counts = (db.session.scalar(sa.select(sa.func.count(Dataset.id))),
                      db.session.scalar(sa.select(sa.func.count(Tenant.id))))
        except sa.exc.SQLAlchemyError:  # no such table or column: another schema
            return False
        finally:
            db.session.rollback()
    return counts == (facts["datasets"], facts["providers"])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=60)
    parser.add_argument("--providers", type=int, default=1741)
    parser.add_argument("--per-provider", type=int, default=30)
    parser.add_argument("--rebuild", action="store_true")
    common.add_smoke_option(parser, "60 providers x 5 datasets, built afresh, one round")
    common.add_database_option(parser, None, help_text="PostgreSQL to build the data set in (EMPTIED); default SQLite in /tmp")
    args = parser.parse_args()
    if args.smoke:
        args.providers, args.per_provider, args.rounds, args.rebuild = 60, 5, 1, True

    from admin import create_app
    from bench.bench_pages import LIMIT_PATH, register_limit, settings, sign_in

    if args.smoke:  # built afresh in a folder of its own, so that the build is exercised too
        var = Path(tempfile.mkdtemp(prefix="renkei-bench-catalogue-smoke-"))
    else:
        var = Path(os.environ.get("TMPDIR", "/tmp")) / \
            f"renkei-bench-catalogue-{args.providers}-{args.per_provider}-{common.schema_key()}"
        var.mkdir(parents=True, exist_ok=True)
    url = args.database_url or f"sqlite:///{var / 'catalogue.db'}"
    # one facts file per database: SQLite's file here, or the PostgreSQL database named by its address
    facts_file = var / (f"facts-{hashlib.sha256(url.encode()).hexdigest()[:12]}.json" if args.database_url else "facts.json")
    # only the figures are printed: the request log (a JSON line per request) is off
    app = create_app({**settings(url, var), "RENKEI_REQUEST_LOG": "off"})
    facts = None if args.rebuild or not facts_file.exists() else json.loads(facts_file.read_text())
    cached = facts is not None and (still_there(app, facts) if args.database_url else (var / "catalogue.db").exists())
    if not cached:
        if not args.database_url and (var / "catalogue.db").exists():
            from core.db import sqlite_files

            for path in sqlite_files(var / "catalogue.db"):  # and its WAL files, which a new file would replay
                path.unlink(missing_ok=True)
        print(f"building the data set ({args.providers:,} providers x {args.per_provider} datasets) ...", flush=True)
        facts = build(app, args.providers, args.per_provider)
        facts_file.write_text(json.dumps(facts))
    register_limit(app)
    import gc

    from admin import settle_heap

    gc.collect()
    settle_heap()  # as create_app does outside testing: the start-up heap frozen, the serving thresholds
    signed_in, anonymous = app.test_client(), app.test_client()
    sign_in(signed_in, ("platform-operator",), ())
    rng = random.Random(7)
    with app.app_context():  # what an anonymous reader may be shown: published, open
        import sqlalchemy as sa

        from admin.extensions import db
        from catalogue.models import Dataset

        names = list(db.session.scalars(sa.select(Dataset.name).where(
            Dataset.status == "published", Dataset.access == "open").order_by(Dataset.id).limit(2000)))
    total = facts["datasets"]

    def timed(client, path: str) -> float:
        started = time.perf_counter()
        response = client.get(path)
        response.get_data()
        elapsed = (time.perf_counter() - started) * 1000
        if response.status_code != 200:
            raise SystemExit(f"{path}: HTTP {response.status_code} {response.get_data(as_text=True)[:300]}")
        return elapsed

    sides = {
        "limit: layout page (signed in)": lambda n: timed(signed_in, LIMIT_PATH),
        "package_search q + fq organization": lambda n: timed(
            anonymous, "/api/3/action/package_search?q=AED&fq=organization:431001"),
        "package_search q + fq res_format, 10 rows": lambda n: timed(
            anonymous, "/api/3/action/package_search?q=%E9%81%BF%E9%9B%A3&fq=res_format:CSV&rows=10"),  # 避難
        "package_search q + fq tags": lambda n: timed(  # 避難, tags:指定緊急避難場所
            anonymous, "/api/3/action/package_search?q=%E9%81%BF%E9%9B%A3"
                       "&fq=tags:%E6%8C%87%E5%AE%9A%E7%B7%8A%E6%80%A5%E9%81%BF%E9%9B%A3%E5%A0%B4%E6%89%80"),
        "package_search q + fq license_id": lambda n: timed(
            anonymous, "/api/3/action/package_search?q=%E9%81%BF%E9%9B%A3&fq=license_id:PDL-1.0"),
        "package_search q OR q (Solr form)": lambda n: timed(  # AED OR 避難
            anonymous, "/api/3/action/package_search?q=AED%20OR%20%E9%81%BF%E9%9B%A3"),
        "package_search q + 5 facet fields": lambda n: timed(anonymous, f"/api/3/action/package_search?q=%E9%81%BF%E9%9B%A3"
                                                                      f"&facet.field={FACETS}"),
        ALL_FACETS: lambda n: timed(anonymous, f"/api/3/action/package_search?facet.field={FACETS}&rows=10"),
        "package_show": lambda n: timed(anonymous, f"/api/3/action/package_show?id={names[rng.randrange(len(names))]}"),
        "DCAT feed page (Turtle, 50 datasets)": lambda n: timed(
            anonymous, f"/catalog.ttl?start={rng.randrange(0, max(1, total - 3000)) // 50 * 50}"),
        "DCAT feed page (JSON-LD, 50 datasets)": lambda n: timed(
            anonymous, f"/catalog.jsonld?start={rng.randrange(0, max(1, total - 3000)) // 50 * 50}"),
        BROAD: lambda n: timed(anonymous, "/api/3/action/package_search?q=%E4%B8%80%E8%A6%A7&fq=res_format:CSV"),  # 一覧
    }
    for side in sides.values():  # compile templates, warm caches
        side(0)
    samples = common.alternate(sides, args.rounds)
    print(f"bench_catalogue: {facts['providers']:,} providers, {total:,} datasets on {url.split(':')[0]}"
          f"{' (cached data set)' if cached else ' (built in %s s)' % facts['build_seconds']}; {args.rounds} rounds; "
          "server time in-process (Flask test client), anonymous reader")
    print(common.noisy_machine_note())
    limit_name = next(iter(sides))
    limit95 = common.percentile(samples[limit_name], 0.95)
    print(f"{limit_name:<44} p50 {common.percentile(samples[limit_name], 0.5):8.2f} ms  p95 {limit95:8.2f} ms")
    met = []
    for name in list(sides)[1:]:
        p50, p95 = common.percentile(samples[name], 0.5), common.percentile(samples[name], 0.95)
        print(f"{name:<44} p50 {p50:8.2f} ms", end="  ")
        goal = None if name in (BROAD, ALL_FACETS) else "catalogue"
        met.append(common.report("p95", p95, limit95, goal, "ms", width=3, value_width=8) is not False)
    return 0 if all(met) or args.smoke else 1  # the smoke form is judged on errors only


if __name__ == "__main__":
    raise SystemExit(main())
