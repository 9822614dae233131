"""Benchmark: the imports answer the largest file in seconds (issue 36, item 8). "One authorised
dataset import of 400,000 rows with a bad category kept a worker at 100 % CPU for over 12 minutes".

Times, each beside the reading of the same file alone (csvfile's decoding and CSV rows, no check:
the limit measured in the same run), medians of ``--rounds`` alternating rounds:

* a 400,000-row dataset list, every row with a bad category: refused at the row cap
  as it is read;
* a file at the datasets' cap (catalogue.importing.MAX_ROWS), every row with a bad category: judged (every row checked, all problems counted);
* a file at the cap of good rows: judged (``judge_import``: the checks, not the write);
* a file of good rows (``--written``, by default at the cap) judged and written, then rolled back
  (each dataset registered as the form registers one, audited, indexed for search);
* the tenant registry's file one row over the cap: refused.

The project's budget (docs/datasets.md, "Imports: a row cap and a time budget"): a refusal over the
cap in under 2 s, a file at the cap judged in under 10 s (and the datasets' written in under a minute).

    python bench/bench_imports.py [--rounds 3] [--database-url URL] [--smoke]
    (without a database URL, SQLite in a temporary folder; a PostgreSQL database given is EMPTIED)
"""

from __future__ import annotations

import argparse
import csv
import io
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import common  # noqa: E402

REFUSED = common.Target(2000.0, False, "refused in < 2 s (docs/datasets.md)", absolute=True)
WRITTEN = common.Target(60000.0, False, "written in < 1 min (docs/datasets.md)", absolute=True)
JUDGED = common.Target(10000.0, False, "judged in < 10 s (docs/datasets.md)", absolute=True)


def dataset_file(count: int, category: str) -> bytes:
    providers = ("431001", "432024")
    rows = "".join(f"{providers[i % 2]},t{i},{category},CC-BY-4.0,毎年\n" for i in range(count))
    return ("提供者コード,タイトル,分野,ライセンス,更新頻度\n" + rows).encode("utf-8")


def reading(raw: bytes) -> float:
    """The limit: the file decoded and split into CSV rows, nothing checked (ms)."""
    from core import csvfile

    start = time.perf_counter()
    for _ in csv.reader(io.StringIO(csvfile.decode(raw), newline="")):
        pass
    return (time.perf_counter() - start) * 1000


def timed(work, refused: bool) -> float:
    """``work``'s time (ms); it must be refused (ImportRejected) or not, as ``refused`` says."""
    from tenancy.errors import ImportRejected as TenantsRejected
    from catalogue.importing import ImportRejected

    start = time.perf_counter()
    try:
        work()
    except (ImportRejected, TenantsRejected):
        if not refused:
            raise
    else:
        if refused:
            raise AssertionError("the file was not refused")
    return (time.perf_counter() - start) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--written", type=int, default=None, help="rows of the file judged and written (rolled back)")
    common.add_database_option(parser, None, help_text="a scratch database the benchmark empties "
                                                       "(default: SQLite in a temporary folder)")
    common.add_smoke_option(parser, "one round, 50 rows written, the datasets' list refused one row over the cap (as the "
                                    "tenants' file; the files judged stay at the cap they measure)")
    args = parser.parse_args()
    if args.smoke:
        args.rounds, args.written = 1, 50

    from admin import create_app
    from admin.extensions import db
    from bench.bench_pages import settings
    from core.actor import Actor
    from core.csvfile import IMPORT_MAX_ROWS
    from catalogue import lists
    from catalogue.importing import MAX_ROWS, import_datasets, judge_import
    from tenancy.registry.importing import parse_csv, validate_rows
    from tenancy.registry.models import Tenant, TenantKind, TenantStatus

    var = Path(tempfile.mkdtemp(prefix="renkei-bench-imports-"))
    url = args.database_url or f"sqlite:///{var / 'imports.db'}"
    app = create_app({**settings(url, var), "RENKEI_REQUEST_LOG": "off"})
    operator = Actor(issuer="urn:bench", subject="operator", name="運営者", roles=frozenset({"platform-operator"}))
    over = MAX_ROWS + 1 if args.smoke else 400_000  # the datasets' list refused: the smoke form's, the same refusal
    files = {"over": dataset_file(over, "bad"), "bad": dataset_file(MAX_ROWS, "bad"),
             "good": dataset_file(MAX_ROWS, "防災"),
             "tenants": ("code,name_ja,kind,population\n" + "431001,熊本市,市,1\n" * (IMPORT_MAX_ROWS + 1)).encode()}
    with app.app_context():
        common.reset_schema(db)
        for code, name in (("431001", "熊本市"), ("432024", "八代市")):
            db.session.add(Tenant(code=code, name_ja=name, kind=TenantKind.city, population=1, status=TenantStatus.active))
        lists.ensure_lists(db.session)
        db.session.commit()

        def judge(raw: bytes, *, write: bool = False):
            def work():
                try:
                    (import_datasets if write else judge_import)(db.session, operator, raw)
                finally:
                    db.session.rollback()
            return work

        args.written = args.written or MAX_ROWS
        files["written"] = dataset_file(args.written, "防災")
        sides = {"over": judge(files["over"]), "bad": judge(files["bad"]), "good": judge(files["good"]),
                 "tenants": lambda: validate_rows(db.session, parse_csv(files["tenants"])),
                 "written": judge(files["written"], write=True)}
        samples = {name: [] for name in sides} | {f"{name} read": [] for name in sides}
        for _ in range(args.rounds):
            for name, work in sides.items():
                samples[f"{name} read"].append(reading(files[name]))
                samples[name].append(timed(work, refused=name in ("over", "bad", "tenants")))
    print(f"imports, {args.rounds} rounds, {'PostgreSQL' if url.startswith('postgresql') else 'SQLite'}; "
          f"row caps: datasets {MAX_ROWS:,}, tenants {IMPORT_MAX_ROWS:,} {common.noisy_machine_note()}")
    labels = {"over": (f"datasets: {over:,} rows, refused at the cap", REFUSED),
              "bad": (f"datasets: {MAX_ROWS:,} bad rows, judged", JUDGED),
              "good": (f"datasets: {MAX_ROWS:,} good rows, judged", JUDGED),
              "tenants": (f"tenants: {IMPORT_MAX_ROWS + 1:,} rows, refused at the cap", REFUSED),
              "written": (f"datasets: {args.written:,} good rows, judged and written", WRITTEN)}
    for name, (label, target) in labels.items():
        common.report(label, common.median(samples[name]), common.median(samples[f"{name} read"]), target, "ms",
                      higher_is_better=False, width=46)


if __name__ == "__main__":
    os.environ.setdefault("RENKEI_ENV", "testing")
    main()
