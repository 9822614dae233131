"""Benchmark: the secretariat imports its 500 existing members in seconds (issue 40 item 1, Done-when 1).

Times, each beside the reading of the same file alone (core.csvfile's reader: the xlsx opened or the
CP932 CSV decoded, every row split into the import's fields, nothing checked: the limit measured in
the same run), medians of ``--rounds`` alternating rounds:

* the list with three faulty rows (a bad check digit, a duplicate, a missing name): refused;
* the fixed list: checked and previewed (``check_file``: every row, the register asked, nothing written);
* the fixed list: checked and written (``import_file``: 500 members and one audit record), rolled back.

The issue's budget: 500 rows import "in seconds" (taken here as under 5 s).

    python bench/bench_member_import.py [--rows 500] [--rounds 3] [--database-url URL] [--smoke]
    (without a database URL, SQLite in a temporary folder; a PostgreSQL database given is EMPTIED)
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import common  # noqa: E402

IN_SECONDS = common.Target(5000.0, False, "500 rows in seconds (< 5 s, issue 40)", absolute=True)


def reading(raw: bytes) -> float:
    """The limit: the file read by the import's reader into its fields, nothing checked (ms)."""
    from secretariat.members_import import parse

    start = time.perf_counter()
    for _ in parse(raw):
        pass
    return (time.perf_counter() - start) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=3)
    common.add_database_option(parser, None, help_text="a scratch database the benchmark empties "
                                                       "(default: SQLite in a temporary folder)")
    common.add_smoke_option(parser, "400 rows (the faulty file's last fault is on line 401), one round")
    args = parser.parse_args()
    if args.smoke:
        args.rows, args.rounds = 400, 1

    from admin import create_app
    from admin.extensions import db
    from bench.bench_pages import settings
    from bench.member_files import as_csv, as_xlsx, faulty, member_rows
    from core.actor import Actor
    from secretariat import members_import
    from tenancy.errors import ImportRejected
    from tenancy.registry.models import Tenant, TenantKind, TenantStatus

    var = Path(tempfile.mkdtemp(prefix="renkei-bench-members-"))
    url = args.database_url or f"sqlite:///{var / 'members.db'}"
    app = create_app({**settings(url, var), "RENKEI_REQUEST_LOG": "off"})
    operator = Actor(issuer="urn:bench", subject="operator", name="事務局", roles=frozenset({"platform-operator"}))
    rows = member_rows(args.rows)
    files = {f"{kind} {fmt}": write(faulty(rows) if kind == "faulty" else rows)
             for kind in ("faulty", "fixed") for fmt, write in (("xlsx", as_xlsx), ("CP932 CSV", as_csv))}

    def timed(raw: bytes, *, write: bool, refused: bool) -> float:
        start = time.perf_counter()
        try:
            (members_import.import_file if write else members_import.check_file)(db.session, operator, raw)
        except ImportRejected:
            if not refused:
                raise
        else:
            if refused:
                raise AssertionError("the faulty file was not refused")
        finally:
            db.session.rollback()
        return (time.perf_counter() - start) * 1000

    cases = {}
    for name, raw in files.items():
        if name.startswith("faulty"):
            cases[f"{name}: refused"] = (raw, False, True)
        else:
            cases[f"{name}: checked and previewed"] = (raw, False, False)
            cases[f"{name}: checked and written"] = (raw, True, False)
    with app.app_context():
        common.reset_schema(db)
        db.session.add(Tenant(code="430005", name_ja="熊本県", kind=TenantKind.prefecture, population=1,
                              status=TenantStatus.active))
        db.session.commit()
        samples = {name: [] for name in cases} | {f"{name} read": [] for name in cases}
        for _ in range(args.rounds):
            for name, (raw, write, refused) in cases.items():
                samples[f"{name} read"].append(reading(raw))
                samples[name].append(timed(raw, write=write, refused=refused))
    print(f"member import, {args.rows:,} rows, {args.rounds} rounds, "
          f"{'PostgreSQL' if url.startswith('postgresql') else 'SQLite'} {common.noisy_machine_note()}")
    for name in cases:
        common.report(name, common.median(samples[name]), common.median(samples[f"{name} read"]), IN_SECONDS, "ms",
                      higher_is_better=False, width=40)


if __name__ == "__main__":
    os.environ.setdefault("RENKEI_ENV", "testing")
    main()
