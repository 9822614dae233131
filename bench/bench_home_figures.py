"""Benchmark and check: every figure on every role's home page against the count of the list it
links to, at national size (issue 38 item 3, "in the demo and at national size").

    python bench/bench_home_figures.py [--rounds 3] [--database-url URL] [--rebuild] [--smoke]
                                       [--tenants 1741] [--audit-records 100000]

The data set is bench/bench_pages.py's (1,741 tenants, a twentieth of them applied, 12 months of
usage, three fiscal years posted with thousands of statements unpaid, 52,230 datasets, 100,000 audit
records; on SQLite kept in /tmp and reused). For each role the home page is fetched, each figure
followed to its list (bench/home_figures.py, the walk tests/admin/test_home_figures.py makes on a
small seeded database) and compared with the count the list shows. Printed: each figure beside its
list's count, and the home page's server time (p50/p95 over ``--rounds``) beside the LIMIT measured
in the same run (the layout page with no content) and the pages' goal (p95 < 150 ms). Exit 1 when a
figure disagrees with its list or a page is not answered 200.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import bench_pages, common  # noqa: E402
from bench.home_figures import compare  # noqa: E402

ROLES = {
    **bench_pages.ROLES,
    "municipal-staff 431001": (("municipal-staff",), ("431001",)),
    "data-provider 431001": (("data-provider",), ("431001",)),
}


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--tenants", type=int, default=1741)
    parser.add_argument("--audit-records", type=int, default=100_000)
    parser.add_argument("--rebuild", action="store_true", help="build the SQLite data set again")
    common.add_smoke_option(parser, f"bench_pages' smoke data set ({bench_pages.SMOKE_TENANTS} tenants, built afresh), "
                                    "one round")
    common.add_database_option(parser, None, help_text="PostgreSQL to build the data set in (EMPTIED); default SQLite in /tmp")
    args = parser.parse_args()
    if args.smoke:
        args.tenants, args.audit_records, args.rounds = bench_pages.SMOKE_TENANTS, bench_pages.SMOKE_AUDIT, 1
    return args


def _role(app, role: str, rounds: int) -> tuple[int, list[float], list[float]]:
    """Prints the role's figures beside their lists; returns (disagreements, home ms samples, limit ms samples)."""
    roles, tenants = ROLES[role]
    client = app.test_client()
    bench_pages.sign_in(client, roles, tenants)
    figures = compare(client)
    wrong = [figure for figure in figures if not figure.agrees]
    print(f"\n== {role}: {len(figures)} figures, {len(wrong)} disagreeing")
    for figure in figures:
        print(f"  {figure.href:<62}{figure.shown:>9,}{'' if figure.listed is None else format(figure.listed, ','):>9}"
              f"  {'ok' if figure.agrees else 'DISAGREES (HTTP %d)' % figure.status}")
    home, limit = [], []
    for _ in range(rounds):
        for path, samples in (("/admin/", home), (bench_pages.LIMIT_PATH, limit)):
            code, _size, ms = bench_pages.fetch(client, path)
            if code != 200:
                wrong.append(path)
            samples.append(ms)
    p50, p95 = common.percentile(home, 0.5), common.percentile(home, 0.95)
    print(f"  home page p50 {p50:.0f} ms p95 {p95:.0f} ms; limit (layout page, no content) p95 "
          f"{common.percentile(limit, 0.95):.0f} ms; goal p95 < {common.TARGETS['page'].ratio:.0f} ms")
    return len(wrong), home, limit


def main() -> int:
    args = _arguments()
    app, url, facts, cached = bench_pages._data_set(args)
    bench_pages.register_limit(app)
    print(f"bench_home_figures: {facts['tenants']:,} tenants, {facts['datasets']:,} datasets, "
          f"{facts['audit_records']:,} audit records on {url.split(':')[0]}"
          f"{' (cached data set)' if cached else ' (built in %s s)' % facts['build_seconds']}; {args.rounds} rounds")
    print(common.noisy_machine_note())
    wrong = 0
    for role in ROLES:
        disagreeing, _home, _limit = _role(app, role, args.rounds)
        wrong += disagreeing
    print(f"SUMMARY: {wrong} figures disagreeing with their lists (or pages not answered) over {len(ROLES)} roles")
    return 1 if wrong else 0


if __name__ == "__main__":
    raise SystemExit(main())
