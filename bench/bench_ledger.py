"""Benchmark: posting journal entries through the ledger writer on PostgreSQL.

    python bench/bench_ledger.py [--database-url URL] [--entries N] [--batch B] [--rounds R] [--quick] [--smoke]

The URL (``--database-url``, formerly ``--url``) defaults to ``RENKEI_BENCH_DATABASE_URL`` or
``postgresql+psycopg://renkei:renkei@127.0.0.1:5432/renkei_billing``. The benchmark works in a
schema of its own (``bench_ledger``, dropped and re-created with ``create_all``, so the ledger's
guard triggers are installed exactly as in production) and leaves nothing else touched.

It posts N two-line entries (a tenant's charge: debit its receivable, credit cost recovery) in
batches of B, one commit per batch, in R rounds that alternate the two sides (writer, limit,
writer, limit, ...) on the same tables, so a noisy shared machine slows both alike; the figure
of each side is the median of its rounds:

* **writer**: :func:`billing.ledger.post_entries` — validation, the idempotency look-up,
  account resolution, entries inserted pending, postings, then marked posted; the database's
  guard triggers (deferred balance check, posting checks) run as always.
* **limit**: the same rows with raw guarded INSERTs on the same tables: ids drawn from the
  sequence in one query, one multi-row ``INSERT`` of the entries (pending) and one of the
  postings, one ``UPDATE`` to mark the batch posted. The guard triggers run here too: no writer
  can skip them. (Not COPY: the ledger's guards are part of the work, issue #12.)
* **limit without guards** (for reference, after the rounds): the raw SQL with the tables'
  user triggers disabled, to show what the database guards themselves cost.

Project target (issue #12): the writer posts at >= 0.5 of the raw guarded INSERT's rate. Also
printed: the single-entry path (:func:`post_entry`, one commit per entry) on a smaller count.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import sqlalchemy as sa  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

from billing import ledger  # noqa: E402
from billing.models import Account, EntryKind, JournalEntry, Posting  # noqa: E402
from core.codes import with_check_digit  # noqa: E402
from bench import common  # noqa: E402

DEFAULT_URL = "postgresql+psycopg://renkei:renkei@127.0.0.1:5432/renkei_billing"
SCHEMA = "bench_ledger"
TENANTS = [f"43{n:03d}" for n in range(100, 150)]  # 50 synthetic receivable accounts (codes, not checked here)
ON = dt.date(2025, 7, 31)


def tenant_code(index: int) -> str:
    # A valid local-government code (check digit), so that the writer accepts its receivable.
    return with_check_digit(f"{TENANTS[index % len(TENANTS)]}")


def fresh_engine(url: str) -> sa.Engine:
    """Every table of renkei in the benchmark's schema: the writer reads the closed years, and the guards installed
    with the runs read and guard the cost items, grants and the council's tables (a list of the ledger's own tables
    fell behind them)."""
    from admin import _import_models

    _import_models()
    return common.schema_engine(url, SCHEMA, None)


def truncate(engine: sa.Engine) -> None:
    with engine.begin() as connection:
        connection.execute(sa.text("TRUNCATE billing_posting, billing_journal_entry, billing_account RESTART IDENTITY CASCADE"))


def new_entries(start: int, count: int, prefix: str) -> list[ledger.NewEntry]:
    return [
        ledger.NewEntry(
            idempotency_key=f"{prefix}:{index}", kind=EntryKind.charge, fiscal_year=2025, occurred_on=ON,
            legs=(ledger.debit(ledger.receivable(tenant_code(index)), 1_000 + index % 997),
                  ledger.credit(ledger.COST_RECOVERY, 1_000 + index % 997)),
            description="bench charge", tenant_code=tenant_code(index),
        )
        for index in range(start, start + count)
    ]


def bench_writer(engine: sa.Engine, total: int, batch: int, first: int = 0) -> float:
    started = time.perf_counter()
    with Session(engine) as session:
        for start in range(first, first + total, batch):
            ledger.post_entries(session, new_entries(start, min(batch, first + total - start), "writer"))
            session.commit()
    return time.perf_counter() - started


def bench_single(engine: sa.Engine, total: int) -> float:
    started = time.perf_counter()
    with Session(engine) as session:
        for entry in new_entries(0, total, "single"):
            ledger.post_entry(session, entry)
            session.commit()
    return time.perf_counter() - started


def create_accounts(engine: sa.Engine) -> dict[str, int]:
    """The accounts both sides use, created before anything is timed."""
    with Session(engine) as session:
        accounts = ledger.accounts_by_code(session, [ledger.COST_RECOVERY, *(ledger.receivable(tenant_code(i)) for i in range(500))])
        session.commit()
    return accounts


ENTRY_INSERT = """
    INSERT INTO billing_journal_entry (id, idempotency_key, status, kind, fiscal_year, occurred_on, description,
                                       tenant_code, created_at, created_by)
    SELECT id, key, 'pending', 'charge', 2025, %s, 'bench charge', code, %s, ''
    FROM unnest(%s::bigint[], %s::text[], %s::text[]) AS rows (id, key, code)
"""
POSTING_INSERT = """
    INSERT INTO billing_posting (entry_id, account_id, amount)
    SELECT * FROM unnest(%s::bigint[], %s::bigint[], %s::bigint[])
"""


def bench_raw(engine: sa.Engine, total: int, batch: int, accounts: dict[str, int], first: int = 0,
              prefix: str = "raw") -> float:
    """The same rows with plain guarded INSERTs on a psycopg connection: the limit for any writer."""
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        now = dt.datetime.now(dt.timezone.utc)
        started = time.perf_counter()
        for start in range(first, first + total, batch):
            indexes = range(start, min(start + batch, first + total))
            cursor.execute("SELECT nextval('billing_journal_entry_id_seq') FROM generate_series(1, %s)", (len(indexes),))
            ids = [row[0] for row in cursor.fetchall()]
            cursor.execute(ENTRY_INSERT, (ON, now, ids, [f"{prefix}:{index}" for index in indexes],
                                          [tenant_code(index) for index in indexes]))
            entry_ids, account_ids, amounts = [], [], []
            for entry_id, index in zip(ids, indexes):
                amount = 1_000 + index % 997
                entry_ids += [entry_id, entry_id]
                account_ids += [accounts[ledger.receivable(tenant_code(index))], accounts[ledger.COST_RECOVERY]]
                amounts += [amount, -amount]
            cursor.execute(POSTING_INSERT, (entry_ids, account_ids, amounts))
            cursor.execute("UPDATE billing_journal_entry SET status = 'posted' WHERE id = ANY(%s)", (ids,))
            raw.commit()
        return time.perf_counter() - started
    finally:
        raw.close()


def set_guards(engine: sa.Engine, enabled: bool) -> None:
    word = "ENABLE" if enabled else "DISABLE"
    with engine.begin() as connection:
        for table in ("billing_journal_entry", "billing_posting"):
            connection.execute(sa.text(f"ALTER TABLE {table} {word} TRIGGER USER"))


def check(engine: sa.Engine, expected_entries: int) -> None:
    with Session(engine) as session:
        posted = session.scalar(sa.select(sa.func.count()).select_from(JournalEntry).where(JournalEntry.status == "posted"))
        assert posted == expected_entries, (posted, expected_entries)
        assert ledger.trial_balance(session).difference == 0


def rate(count: int, seconds: float) -> float:
    return count / seconds if seconds else float("inf")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    common.add_database_option(parser, DEFAULT_URL)
    parser.add_argument("--url", dest="database_url", help=argparse.SUPPRESS)  # the former name
    parser.add_argument("--entries", type=int, default=100_000, help="entries per side")
    parser.add_argument("--batch", type=int, default=1_000)
    parser.add_argument("--rounds", type=int, default=5, help="alternating rounds (writer, limit) sharing the entries")
    parser.add_argument("--single", type=int, default=2_000, help="entries for the one-entry-per-commit path")
    parser.add_argument("--quick", action="store_true", help="10,000 entries, 500 single")
    common.add_smoke_option(parser, "100 entries in batches of 50, 20 single, one round")
    args = parser.parse_args(argv)
    if args.quick:
        args.entries, args.single = 10_000, 500
    if args.smoke:
        args.entries, args.batch, args.single, args.rounds = 100, 50, 20, 1
    if not args.database_url.startswith("postgresql"):
        parser.error("the ledger benchmark needs PostgreSQL (its guards are deferred constraint triggers)")

    engine = fresh_engine(args.database_url)
    per_round = max(args.batch, args.entries // args.rounds)
    print(f"ledger benchmark: {args.rounds} rounds x {per_round:,} two-line entries per side in batches of "
          f"{args.batch:,}, PostgreSQL schema {SCHEMA}, one commit per batch")
    print(common.noisy_machine_note())
    accounts = create_accounts(engine)
    samples = common.alternate({
        "writer": lambda n: per_round / bench_writer(engine, per_round, args.batch, first=n * per_round),
        "limit": lambda n: per_round / bench_raw(engine, per_round, args.batch, accounts, first=n * per_round),
    }, args.rounds)
    check(engine, 2 * per_round * args.rounds)
    set_guards(engine, False)
    bare_s = bench_raw(engine, per_round, args.batch, accounts, prefix="unguarded")
    set_guards(engine, True)
    truncate(engine)
    single_s = bench_single(engine, args.single)
    check(engine, args.single)

    writer_rate, raw_rate = common.median(samples["writer"]), common.median(samples["limit"])
    print(f"writer rounds (entries/s): {', '.join(f'{v:,.0f}' for v in samples['writer'])}")
    print(f"limit rounds  (entries/s): {', '.join(f'{v:,.0f}' for v in samples['limit'])}")
    met = common.report("ledger post_entries (median of rounds)", writer_rate, raw_rate, "ledger-posting", "entries/s")
    print("  limit = raw guarded INSERT (same tables, guards on, same batches and commits)")
    print(f"ref.    raw INSERT, guards off    {rate(per_round, bare_s):10,.0f} entries/s  "
          f"(guards cost {rate(per_round, bare_s) / raw_rate:.2f}x)")
    print(f"single  post_entry + commit       {rate(args.single, single_s):10,.0f} entries/s ({args.single:,} entries)")
    with engine.begin() as connection:
        connection.execute(sa.text(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE"))
    engine.dispose()
    return 0 if met or args.smoke else 1  # the smoke form is judged on errors only


if __name__ == "__main__":
    raise SystemExit(main())
