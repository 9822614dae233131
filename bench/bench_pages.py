"""Benchmark: every admin page and download at national size, for each role (issue #12, item 2).

    python bench/bench_pages.py [--rounds 2] [--warm-up] [--role ROLE] [--database-url URL] [--rebuild]
                                [--tenants 1741] [--audit-records 100000] [--progress] [--only PATH-PREFIX] [--smoke]

The data set: 1,741 tenants (Kumamoto's reference tenants plus synthetic municipalities with
valid codes), 12 months of monthly usage aggregates for the 5 metrics, three fiscal years of
allocation runs approved and posted to the ledger, 30 datasets per tenant (52,230; the
coverage matrix is 1,741 municipalities x 10 standard kinds), and 100,000 audit records (chained with
core.audit's hashing, inserted in bulk). On SQLite (the default) the built database is kept in
/tmp, keyed by size and schema, and reused (``--rebuild`` builds it again); ``--database-url`` builds it in
a PostgreSQL database, which is EMPTIED first.

For each role (platform operator, finance officer, auditor, municipal admin of 431001) every
GET page under /admin (from the app's url_map) and every download is requested through the
Flask test client, signed in as tests/conftest.py ``sign_in`` does, ``--rounds`` times (pages
alternate within each round, so noise spreads over all of them). Printed per page: p50/p95
server time (ms, in-process) and bytes, beside the LIMIT measured in the same run — the
layout page with no content, served by a view registered only by this benchmark — and the
project's goal (issue 55, item 5): p95 < 150 ms for pages, < 1 s for downloads (common.TARGETS).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import re
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import common  # noqa: E402

MONTHS = 12
ROLES = {
    "operator": (("platform-operator",), ()),
    "finance": (("finance-officer",), ()),
    "auditor": (("auditor",), ()),
    "municipal-admin 431001": (("municipal-admin",), ("431001",)),
}
DOWNLOAD = re.compile(r"(chart\.png|report\.|statements/.+\.(xlsx|csv)$|summary/.+\.(xlsx|csv)$|/export)")
# a file, not a page (DOWNLOAD's paths, or any path naming a file's format): timed against the downloads' goal
# (< 1 s; the annual report's PDF was timed as a page before); --smoke generates each one for the first role
# answered 200 only, as its code path is the same for the next roles (a PDF is seconds of CPU)
FILE = re.compile(DOWNLOAD.pattern + r"|\.(pdf|xlsx|csv|png|jsonl|zip)(\?|$)|[?&]format=")
LIMIT_PATH = "/admin/_bench_limit/"
SMOKE_TENANTS, SMOKE_AUDIT = 60, 200  # --smoke: Kumamoto's 45 tenants and a few synthetic ones


def settings(url: str, var: Path) -> dict:
    return {"RENKEI_ENV": "testing", "TESTING": True, "SECRET_KEY": "bench", "SQLALCHEMY_DATABASE_URI": url,
            "RENKEI_VAR_DIR": str(var), "SERVER_NAME": "renkei.test", "RENKEI_API_OPEN_FOR_DEVELOPMENT": False,
            # pages that ask Keycloak (the users page) meet a closed port: they fail fast, as without Keycloak
            "RENKEI_KEYCLOAK_URL": "http://127.0.0.1:9", "RENKEI_KEYCLOAK_PUBLIC_URL": "http://127.0.0.1:9",
            "RENKEI_KEYCLOAK_REALM": "bench", "RENKEI_OIDC_CLIENT_SECRET": "x", "RENKEI_SERVICE_CLIENT_SECRET": "x"}


# --- the national data set ------------------------------------------------------------------------

def fill_audit(session, count: int, end: dt.datetime) -> None:
    """``count`` chained records from the genesis, over the three years before ``end``, in bulk."""
    import sqlalchemy as sa

    from core import audit as core_audit
    from core.audit import AuditChainHead, AuditRecord
    from governance.audit import record_dict

    prev = core_audit.GENESIS_HASH
    step = dt.timedelta(days=3 * 365) / max(count, 1)
    start = end - dt.timedelta(days=3 * 365)
    actions = ("tenant.update", "usage.plan.assign", "billing.cost_item.create", "user.invite", "notice.publish")
    batch: list[dict] = []
    for index in range(count):
        code = f"4{index % 7}{index % 900 + 100:03d}1"[:6]
        entry = AuditRecord(seq=index + 1, occurred_at=start + step * index, actor_issuer="urn:bench",
                            actor_subject=f"person-{index % 40}", actor_name=f"担当 {index % 40}",
                            actor_role="platform-operator", tenant_code=code, action=actions[index % len(actions)],
                            target_type="tenant", target_id=code,
                            before=core_audit._canonical({"population": 10_000 + index}),
                            after=core_audit._canonical({"population": 10_001 + index}),
                            request_id=f"{index:032x}", source_ip="10.0.0.1", prev_hash=prev, hash="")
        entry.hash = prev = core_audit.compute_hash(entry, prev)
        batch.append({**record_dict(entry), "occurred_at": entry.occurred_at})
        if len(batch) == 5_000:
            session.execute(sa.insert(AuditRecord.__table__), batch)
            batch = []
    if batch:
        session.execute(sa.insert(AuditRecord.__table__), batch)
    session.add(AuditChainHead(id=1, last_seq=count, last_hash=prev))
    session.flush()


def build(app, tenants: int, audit_records: int) -> dict:
    import sqlalchemy as sa

    from admin.extensions import db
    from billing import allocation_policies, allocation_runs, operations
    from billing.schemas import CostItemCreate, PaymentCreate, PolicyCreate
    from core.actor import Actor
    from core.calendar import fiscal_year_of, today_jst
    from tenancy.registry.models import Tenant
    from tenancy.registry.sample import load_kumamoto
    from usage import quota_plans
    from usage.models import METRICS, MetricKind, UsageAggregate, usage_guards_sqlite

    operator = Actor(issuer="urn:bench", subject="operator-1", name="県 運営者", roles=frozenset({"platform-operator"}))
    finance = [Actor(issuer="urn:bench", subject=f"finance-{n}", name=f"県 財政担当{n}", roles=frozenset({"finance-officer"}))
               for n in (1, 2, 3)]
    started = time.perf_counter()
    with app.app_context():
        common.reset_schema(db)
        session = db.session
        now = dt.datetime.now(dt.timezone.utc)
        fill_audit(session, audit_records, now - dt.timedelta(days=1))
        load_kumamoto(session, operator)
        quota_plans.load_default_plans(session, operator)
        session.commit()
        taken = set(session.scalars(sa.select(Tenant.code)))
        this_year = fiscal_year_of(today_jst())
        rng = random.Random(12)
        statuses = ["active"] * 16 + ["applied", "approved", "withdrawn", "suspended"]
        rows = []
        for i, code in enumerate(common.synthetic_codes(tenants - len(taken), taken)):
            status = statuses[i % len(statuses)]
            rows.append({"code": code, "name_ja": f"架空{i}町", "name_en": f"Kaku {i}", "kind": "town",
                         "population": rng.randint(800, 400_000), "population_source": "synthetic", "status": status,
                         "wave_fiscal_year": this_year - 3, "created_at": now, "updated_at": now})
        session.execute(Tenant.__table__.insert(), rows)
        session.commit()

        # 12 months of monthly aggregates, 5 metrics, every tenant
        codes = sorted(session.scalars(sa.select(Tenant.code)))
        first = dt.date(today_jst().year, today_jst().month, 1)
        months = []
        for back in range(MONTHS):
            y, m = divmod(first.year * 12 + first.month - 1 - back, 12)
            months.append(dt.date(y, m + 1, 1))
        # they are the data set's, not ingest's: on SQLite the guard triggers (which admit only the newest batch's
        # stored sums) are lifted for the bulk load and put back as create_all makes them; on PostgreSQL the
        # benchmark writes as the schema's owner, whom the guard (a grant to the application role) does not bind
        lifted = usage_guards_sqlite() if db.engine.dialect.name == "sqlite" else {}
        for name in lifted:
            session.connection().exec_driver_sql(f"DROP TRIGGER IF EXISTS {name}")
        aggregates = []
        for code in codes:
            for metric, spec in METRICS.items():
                for month in months:
                    value = rng.randint(0, 2_000_000) if spec.kind is MetricKind.counter else rng.randint(0, 50_000)
                    aggregates.append({"tenant_code": code, "metric": metric, "granularity": "month",
                                       "period_start": month, "total": value, "peak": value, "events": 30,
                                       "last_value": value, "last_at": now})
            if len(aggregates) >= 20_000:
                session.execute(UsageAggregate.__table__.insert(), aggregates)
                aggregates = []
        if aggregates:
            session.execute(UsageAggregate.__table__.insert(), aggregates)
        for statement in lifted.values():
            session.connection().exec_driver_sql(statement)
        session.commit()

        # the dataset register at national size (issue 22): 30 datasets per tenant, a third of the ten standard
        # kinds each, so the coverage matrix is 1,741 municipalities x 10 kinds
        from bench.fill import fill_datasets

        datasets = fill_datasets(session, codes, 30)

        # three fiscal years of runs, approved (posted to the ledger), a payment each year
        policy = allocation_policies.create_policy(session, finance[0], PolicyCreate.model_validate({
            "name": "共同利用負担金の按分", "prefecture_share": "1/2",
            # no usage basis: the usage kept covers the last 12 months, not the three years' runs
            "components": [{"basis": "equal", "weight": "1/2"}, {"basis": "population", "weight": "1/2"}]}))
        allocation_policies.adopt_policy(session, finance[2], policy.id)  # four eyes: not the drafter
        session.commit()
        years = [this_year - 3, this_year - 2, this_year - 1]
        for year in years:
            operations.create_cost_item(session, finance[0], CostItemCreate.model_validate({
                "fiscal_year": year, "name": "クラウド利用料", "category": "run", "amount": 120_000_000,
                "tax_treatment": "taxable_10", "vendor": "クラウド事業者", "reference": f"INV-{year}"}))
            run = allocation_runs.create_run(session, finance[0], year)
            allocation_runs.review_run(session, finance[1], run.id)
            allocation_runs.approve_run(session, finance[2], run.id, posted_on=dt.date(year, 7, 31))
            operations.record_payment(session, finance[0], PaymentCreate(
                tenant_code="431001", fiscal_year=year, amount=1_000_000, received_on=dt.date(year, 9, 1),
                reference=f"振込 {year}"))
            session.commit()
        run_id = allocation_runs.list_runs(session, finance[0])[0].id
        item_id = operations.list_cost_items(session, finance[0])[0].id
    facts = {"run_id": run_id, "item_id": item_id, "fiscal_year": years[-1], "month": f"{first:%Y-%m}",
             "tenants": tenants, "audit_records": audit_records, "datasets": datasets,
             "build_seconds": round(time.perf_counter() - started, 1)}
    return facts


# --- the pages ---------------------------------------------------------------------------------------

def audit_checkpoint(app) -> str:
    """The audit checkpoint a deployment has: what ``renkei jobs run-due`` writes after a full
    verification (its own job function, run once when the data set has none). The verification page
    re-hashes only the records after it, so without one the page would measure the full walk."""
    from admin.commands import jobs
    from admin.extensions import db
    from maintenance import signing as settings
    from core import signing
    from core.actor import console_actor
    from governance.integrity import latest_checkpoint

    with app.app_context():
        found = latest_checkpoint(settings.checkpoint_dir(app.config), settings.trusted_keys(app.config))
        if found is not None:
            return f"audit checkpoint: #{found.seq} ({found.source}), as written by renkei jobs run-due"
        if settings.signer_or_none(app.config) is None:  # the bench's own data set: its own key, as an operator makes once
            signing.generate_key(settings.signing_key_path(app.config), settings.signing_key_path(app.config).parent)
        started = time.perf_counter()
        seq, _hash, path = jobs.write_audit_checkpoint(console_actor("bench", ["auditor"]))
        db.session.rollback()
        return (f"audit checkpoint: #{seq} written to {path} by the run-due job's full verification "
                f"in {time.perf_counter() - started:.1f} s (not timed as a page)")


def register_limit(app) -> None:
    """The limit: the layout page with no content, behind the same sign-in check as every page."""
    from admin.views.base import SecureView
    from flask_admin import expose

    class LimitView(SecureView):
        def is_accessible(self) -> bool:
            from flask import g

            return getattr(g, "actor", None) is not None

        def is_visible(self) -> bool:
            return False

        @expose("/")
        def index(self):
            return self.render("renkei/layout.html")

    app.extensions["admin"][0].add_view(LimitView(name="bench limit", endpoint="bench_limit", url=LIMIT_PATH.rstrip("/")))


# Parameters naming rows the national data set does not make (their pages are listed, not requested). A
# route with any other parameter that page_paths cannot fill stops the benchmark, naming the route: a new
# page is timed or deliberately left out here, never skipped silently.
NOT_IN_DATA_SET = {
    "document": "agreements", "number": "agreement versions and members", "client_id": "API clients",
    "grant_id": "grants", "community_group_id": "community groups", "contract_id": "competition contracts",
    "call_id": "competition calls", "group_id": "project groups", "selection_id": "competition selections",
    "service_id": "consent services", "receipt_id": "consent receipts", "proposal_id": "council proposals",
    "ident": "dataset terms", "event_id": "events", "incident_id": "incidents", "kind": "incident reports",
    "meeting_id": "meetings", "report_id": "service monthly reports", "inquiry_id": "inquiries",
    "reminder_id": "reminders (督促状)", "adviser_id": "advisers", "breach_id": "personal-data breaches",
    "ext": "breach reports' files", "mailing_id": "mailings", "subcontract_id": "subcontract requests",
    "submission_id": "documents owed to the prefecture", "solution_id": "members' solutions",
    "smart_service_id": "smart-city services", "idea_id": "smart-city service ideas", "need_id": "municipalities' needs",
}
# the formats a download route serves, where not xlsx and csv (by endpoint)
FORMATS = {"member_report.download": ("pdf", "xlsx"), "progress.download": ("pdf", "xlsx"),
           "annual_reports.download": ("pdf", "xlsx"), "billing.accounts_file": ("pdf", "xlsx"), "kpis.download": ("pdf", "xlsx"),
           "survey_desk.results": ("pdf", "xlsx")}
# downloads of a fiscal year requested for the year in progress too (by endpoint), not only for the data set's last
# closed year: the annual report of the current year reads every dataset (52,230) and the live figures
CURRENT_YEAR_TOO = {"annual_reports.download"}


class UnfilledRoute(LookupError):
    """A GET page's parameter that neither the data set's values nor NOT_IN_DATA_SET account for."""


def path_values(facts: dict) -> dict[str, str]:
    """A value for each route parameter the data set can fill, from the rows it made (``facts``)."""
    from secretariat.member_report import current_quarter

    return {"code": "431001", "fiscal_year": str(facts["fiscal_year"]), "run_id": str(facts["run_id"]),
            "item_id": str(facts["item_id"]), "uid": "431001-0002", "month": facts["month"],
            "period": current_quarter().key, "export_type": "csv"}


def page_paths(app, facts: dict) -> tuple[list[str], list[str]]:
    """Every GET page under /admin with sensible arguments, and the downloads; plus what is not requested
    (forms of read-only lists, the error frame, pages of rows the data set does not make).
    Raises :class:`UnfilledRoute` naming every route with a parameter nothing fills."""
    from core.calendar import fiscal_year_of, today_jst

    values = path_values(facts)
    month, year = facts["month"], facts["fiscal_year"]
    current_year = fiscal_year_of(today_jst())
    paths, skipped, unfilled = [], [], []

    def filled(rule, extra: dict) -> str:
        path = rule.rule
        for name in rule.arguments:
            value = "small" if name == "code" and "/plans/" in rule.rule else {**values, **extra}[name]  # a quota plan's code
            path = re.sub(rf"<(?:[a-z]+:)?{name}>", value, path)
        return path

    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        if "GET" not in rule.methods or not rule.rule.startswith("/admin") or "static" in rule.rule \
                or "/ajax/" in rule.rule or rule.rule == LIMIT_PATH:
            continue
        if rule.rule.endswith("/_frame/") or any(part in rule.rule for part in ("/details/", "/edit/", "/new/")):  # flask-admin forms of read-only views
            skipped.append(rule.rule)
            continue
        missing = set(rule.arguments) - set(values) - {"fmt"}
        if missing - set(NOT_IN_DATA_SET):
            unfilled.append(f"{rule.rule} ({rule.endpoint}: {', '.join(sorted(missing - set(NOT_IN_DATA_SET)))})")
            continue
        if missing:
            skipped.append(rule.rule)
            continue
        if "fmt" in rule.arguments:
            years = [year, current_year] if rule.endpoint in CURRENT_YEAR_TOO else [year]
            for fiscal_year in years:
                for fmt in FORMATS.get(rule.endpoint, ("xlsx", "csv")):
                    path = filled(rule, {"fmt": fmt, "fiscal_year": str(fiscal_year)})
                    if "report." in path:
                        path += f"?month={month}"
                    paths.append(path)
            continue
        path = filled(rule, {})
        if path.endswith("chart.png"):
            path += f"?metric=api_calls&month={month}"
        elif path.endswith("/usage/"):
            path += f"?month={month}"
        elif path.endswith("/audit-verify/export"):
            paths.append(path + "?format=jsonl")
            path += "?format=csv"
        elif path.endswith("/billing/"):
            path += f"?fy={year}"
        paths.append(path)
    if unfilled:
        raise UnfilledRoute("bench_pages cannot fill these routes' parameters: give page_paths a value from the "
                            "data set (path_values) or name the parameter in NOT_IN_DATA_SET: " + "; ".join(unfilled))
    paths.append("/admin/tenants/details/?id=1")
    # the paged and searchable tenant lists, deep and searched, not only their first page
    paths += ["/admin/agreements/?page=20", "/admin/agreements/?q=%E7%94%BA",  # 町
              "/admin/onboarding/?status=active&page=10", "/admin/onboarding/?q=%E6%9D%91",  # 村
              "/admin/users/?q=%E5%B8%82"]  # 市
    return list(dict.fromkeys(paths)), skipped  # two views may share a URL (the first answers)


def sign_in(client, roles, tenants) -> None:
    """As tests/conftest.py ``sign_in``: the session holds the actor as the login callback stores it."""
    with client.session_transaction() as session:
        session["actor"] = {"issuer": "urn:bench", "subject": f"{'-'.join(sorted(roles))}-1", "name": "ベンチ 利用者",
                            "roles": sorted(roles), "tenant_codes": sorted(tenants)}


def fetch(client, path: str) -> tuple[int, int, float]:
    started = time.perf_counter()
    response = client.get(path)
    body = response.get_data()
    elapsed = (time.perf_counter() - started) * 1000
    return response.status_code, len(body), elapsed


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--warm-up", action="store_true", help="request every page once before the rounds "
                        "(else the first round includes compiling each template)")
    parser.add_argument("--progress", action="store_true", help="print each request's time to stderr")
    parser.add_argument("--tenants", type=int, default=1741)
    parser.add_argument("--audit-records", type=int, default=100_000)
    parser.add_argument("--rebuild", action="store_true", help="build the SQLite data set again")
    parser.add_argument("--role", action="append", choices=list(ROLES), help="only these roles (default all)")
    parser.add_argument("--only", action="append", metavar="PATH-PREFIX",
                        help="only the pages whose path starts with this (repeatable; default every page)")
    common.add_smoke_option(parser, f"{SMOKE_TENANTS} tenants, {SMOKE_AUDIT:,} audit records, built afresh, every page "
                                    "for every role once, each file (PDF, xlsx, csv, chart) for the first role answered "
                                    "200 only")
    common.add_database_option(parser, None, help_text="PostgreSQL to build the data set in (EMPTIED); default SQLite in /tmp")
    args = parser.parse_args()
    if args.smoke:
        args.tenants, args.audit_records, args.rounds, args.warm_up = SMOKE_TENANTS, SMOKE_AUDIT, 1, False
    return args


def _data_set(args: argparse.Namespace):
    """The app on the data set: the SQLite one built before when it is there (unless --rebuild),
    else built now. Returns (app, database URL, facts of the data set, whether it was cached)."""
    from admin import create_app

    # keyed by size and by the schema (common.schema_key): a data set of another schema is not reused
    if args.smoke:  # built afresh, so that the build is exercised too
        var = Path(tempfile.mkdtemp(prefix="renkei-bench-pages-smoke-"))
    else:
        var = Path(os.environ.get("TMPDIR", "/tmp")) / \
            f"renkei-bench-pages-{args.tenants}-{args.audit_records}-{common.schema_key()}"
        var.mkdir(parents=True, exist_ok=True)
    url = args.database_url or f"sqlite:///{var / 'pages.db'}"
    facts_file = var / "facts.json"
    app = create_app(settings(url, var))
    cached = not args.database_url and not args.rebuild and facts_file.exists() and (var / "pages.db").exists()
    if cached:
        return app, url, json.loads(facts_file.read_text()), True
    if not args.database_url and (var / "pages.db").exists():
        from core.db import sqlite_files

        for path in sqlite_files(var / "pages.db"):  # and its WAL files, which a new file would replay
            path.unlink(missing_ok=True)
    print(f"building the data set ({args.tenants:,} tenants, {args.audit_records:,} audit records) ...", flush=True)
    facts = build(app, args.tenants, args.audit_records)
    if not args.database_url:
        facts_file.write_text(json.dumps(facts))
    return app, url, facts, False


def _measure_role(app, role: str, paths: list[str], args: argparse.Namespace) -> tuple[dict, dict]:
    """Every page as ``role`` sees it, ``args.rounds`` times in turn with the limit page in every
    round: (samples in ms by path, (status, bytes) by path)."""
    roles, tenants = ROLES[role]
    client = app.test_client()
    sign_in(client, roles, tenants)
    fetch(client, LIMIT_PATH)
    if args.warm_up and role == (args.role or list(ROLES))[0]:
        for path in paths:  # compile every template once, before any figure
            fetch(client, path)
    samples: dict[str, list[float]] = {path: [] for path in [LIMIT_PATH, *paths]}
    status: dict[str, tuple[int, int]] = {}
    for _ in range(args.rounds):
        for path in samples:  # A B C ... A B C: the limit sits in every round
            code, size, ms = fetch(client, path)
            if args.progress:
                print(f"  {role} {path} {code} {ms:.0f} ms", file=sys.stderr, flush=True)
            samples[path].append(ms)
            status[path] = (code, size)
    return samples, status


def _role_rows(role: str, paths: list[str], samples: dict, status: dict) -> list[tuple]:
    """Prints the role's table beside its limit; returns its rows (role, path, kind, status, p50, p95, bytes, limit p95, over)."""
    limit50 = common.percentile(samples[LIMIT_PATH], 0.5)
    limit95 = common.percentile(samples[LIMIT_PATH], 0.95)
    print(f"\n== {role}: limit (layout page, no content) p50 {limit50:.1f} ms p95 {limit95:.1f} ms, "
          f"{status[LIMIT_PATH][1]:,} bytes")
    print(f"{'page':<58}{'status':>7}{'p50 ms':>10}{'p95 ms':>10}{'bytes':>12}{'x limit':>9}  goal")
    rows = []
    for path in paths:
        code, size = status[path]
        p50, p95 = common.percentile(samples[path], 0.5), common.percentile(samples[path], 0.95)
        kind = "download" if FILE.search(path) else "page"
        goal = common.TARGETS[kind]
        over = code == 200 and p95 >= goal.ratio
        mark = f"OVER ({kind} p95 < {goal.ratio:.0f} ms)" if over else ("" if code == 200 else f"(HTTP {code}: not timed against the goal)")
        print(f"{path:<58}{code:>7}{p50:>10.1f}{p95:>10.1f}{size:>12,}{p95 / limit95:>9.1f}  {mark}")
        rows.append((role, path, kind, code, p50, p95, size, limit95, over))
    return rows


def _summary(rows: list[tuple], smoke: bool = False) -> int:
    """Prints the worst pages and the summary; 1 when a page or download is over its goal (not in the smoke form,
    which is judged on errors only) or a server error was answered."""
    shown = [r for r in rows if r[3] == 200]
    pages_over = sum(1 for r in shown if r[8] and r[2] == "page")
    downloads_over = sum(1 for r in shown if r[8] and r[2] == "download")
    errors = [r for r in rows if r[3] >= 500 and r[3] != 503]
    away = [r for r in rows if r[3] == 503]  # a dependency away: Keycloak is a closed port here, by design
    print("\nworst 15 (by p95, status 200):")
    for role, path, kind, code, p50, p95, size, limit95, over in sorted(shown, key=lambda r: -r[5])[:15]:
        print(f"  {role:<24}{path:<56}{p95:>9.1f} ms{size:>12,} B  {'OVER' if over else ''}")
    print(f"SUMMARY: {pages_over} of {sum(1 for r in shown if r[2] == 'page')} pages over the goal ({common.TARGETS['page'].text}), "
          f"{downloads_over} of {sum(1 for r in shown if r[2] == 'download')} downloads over the goal (p95 < 1 s); "
          f"{len(errors)} server errors{': ' + ', '.join(f'{r[0]} {r[1]} {r[3]}' for r in errors) if errors else ''}; "
          f"{len(away)} answered 503 as without Keycloak (its port is closed here){': ' + ', '.join(f'{r[0]} {r[1]}' for r in away) if away else ''}")
    return 1 if errors or (not smoke and (pages_over or downloads_over)) else 0


def main() -> int:
    """The data set, the limit page's check, then each role's pages in rounds, and the summary."""
    args = _arguments()
    app, url, facts, cached = _data_set(args)
    checkpoint_note = audit_checkpoint(app)
    register_limit(app)
    # What create_app does outside testing (this app runs with TESTING for the test client):
    # admin.settle_heap, the start-up heap kept out of the collector's full passes and the serving
    # thresholds, without which a page that loads a few thousand rows costs ~80-200 ms more now and
    # then at this size (a measure of the benchmark's set-up, not of the page as served).
    import gc

    from admin import settle_heap

    gc.collect()
    settle_heap()  # as create_app does outside testing: the start-up heap frozen, the serving thresholds
    paths, skipped = page_paths(app, facts)
    if args.only:
        paths = [path for path in paths if path.startswith(tuple(args.only))]
    print(f"bench_pages: {facts['tenants']:,} tenants, {MONTHS} months x 5 metrics of usage, 3 fiscal years posted, "
          f"{facts['audit_records']:,} audit records on {url.split(':')[0]}"
          f"{' (cached data set)' if cached else ' (built in %s s)' % facts['build_seconds']}; "
          f"{args.rounds} rounds; {len(paths)} pages and downloads per role; server time in-process (Flask test client)")
    print(f"not requested (an id the data set has no value for, forms of read-only lists, the error frame): "
          f"{len(skipped)}: {', '.join(skipped)}")
    print(checkpoint_note)
    print(common.noisy_machine_note())
    rows = []  # (role, path, kind, status, p50, p95, bytes, limit_p95, over)
    generated: set[str] = set()  # --smoke: the files answered 200 already, not generated again for the next roles
    for role in args.role or list(ROLES):
        role_paths = [path for path in paths if path not in generated]
        samples, status = _measure_role(app, role, role_paths, args)
        rows += _role_rows(role, role_paths, samples, status)
        if args.smoke:
            generated |= {path for path in role_paths if FILE.search(path) and status[path][0] == 200}
    return _summary(rows, args.smoke)


if __name__ == "__main__":
    raise SystemExit(main())
