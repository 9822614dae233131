"""Benchmark: posting journal entries through the ledger writer on PostgreSQL.

    python bench/bench_ledger.py [--url URL] [--entries N] [--batch B] [--quick]

The URL defaults to ``RENKEI_BENCH_DATABASE_URL`` or
``postgresql+psycopg://renkei:renkei@127.0.0.1:5432/renkei_billing``. The benchmark works in a
schema of its own (``bench_ledger``, dropped and re-created with ``create_all``, so the ledger's
guard triggers are installed exactly as in production) and leaves nothing else touched.

It posts N two-line entries (a tenant's charge: debit its receivable, credit cost recovery) in
batches of B, one commit per batch:

* **writer**: :func:`billing.ledger.post_entries` — validation, the idempotency look-up,
  account resolution, entries inserted pending, postings, then marked posted; the database's
  guard triggers (deferred balance check, posting checks) run as always.
* **limit**: the same rows with raw SQL on the same tables in the same run: ids drawn from
  the sequence in one query, ``COPY`` of the entries and of the postings, one ``UPDATE`` to
  mark the batch posted. The triggers run here too: no writer can skip them.
* **limit without guards** (for reference): the raw SQL again with the tables' user triggers
  disabled, to show what the database guards themselves cost.

Target: the writer posts ≥ 2,000 entries/s. Also printed: the single-entry path
(:func:`post_entry`, one commit per entry) on a smaller count.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import sqlalchemy as sa  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

from billing import ledger  # noqa: E402
from billing.models import Account, EntryKind, JournalEntry, Posting  # noqa: E402
from billing.models import AllocationPolicy, AllocationRun  # noqa: E402
from core.db import metadata  # noqa: E402

DEFAULT_URL = "postgresql+psycopg://renkei:renkei@127.0.0.1:5432/renkei_billing"
SCHEMA = "bench_ledger"
TARGET_PER_SECOND = 2_000
TENANTS = [f"43{n:03d}" for n in range(100, 150)]  # 50 synthetic receivable accounts (codes, not checked here)
ON = dt.date(2025, 7, 31)


def tenant_code(index: int) -> str:
    # Only the ledger's account-code shape matters here: six digits.
    return f"{TENANTS[index % len(TENANTS)]}{index % 10}"


def fresh_engine(url: str) -> sa.Engine:
    admin = sa.create_engine(url)
    with admin.begin() as connection:
        connection.execute(sa.text(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE"))
        connection.execute(sa.text(f"CREATE SCHEMA {SCHEMA}"))
    admin.dispose()
    engine = sa.create_engine(url, connect_args={"options": f"-csearch_path={SCHEMA}"})
    tables = [model.__table__ for model in (AllocationPolicy, AllocationRun, Account, JournalEntry, Posting)]
    metadata.create_all(engine, tables=tables)
    return engine


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


def bench_writer(engine: sa.Engine, total: int, batch: int) -> float:
    started = time.perf_counter()
    with Session(engine) as session:
        for start in range(0, total, batch):
            ledger.post_entries(session, new_entries(start, min(batch, total - start), "writer"))
            session.commit()
    return time.perf_counter() - started


def bench_single(engine: sa.Engine, total: int) -> float:
    started = time.perf_counter()
    with Session(engine) as session:
        for entry in new_entries(0, total, "single"):
            ledger.post_entry(session, entry)
            session.commit()
    return time.perf_counter() - started


def bench_raw(engine: sa.Engine, total: int, batch: int) -> float:
    """The same rows with plain SQL on a psycopg connection: the limit for any writer."""
    with Session(engine) as session:  # the accounts exist before either run is timed
        accounts = ledger.accounts_by_code(session, [ledger.COST_RECOVERY, *(ledger.receivable(tenant_code(i)) for i in range(500))])
        session.commit()
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        now = dt.datetime.now(dt.timezone.utc)
        started = time.perf_counter()
        for start in range(0, total, batch):
            indexes = range(start, min(start + batch, total))
            cursor.execute("SELECT nextval('billing_journal_entry_id_seq') FROM generate_series(1, %s)", (len(indexes),))
            ids = [row[0] for row in cursor.fetchall()]
            with cursor.copy("COPY billing_journal_entry (id, idempotency_key, status, kind, fiscal_year, occurred_on, "
                             "description, tenant_code, created_at, created_by) FROM STDIN") as copy:
                for entry_id, index in zip(ids, indexes):
                    copy.write_row((entry_id, f"raw:{index}", "pending", "charge", 2025, ON, "bench charge",
                                    tenant_code(index), now, ""))
            with cursor.copy("COPY billing_posting (entry_id, account_id, amount) FROM STDIN") as copy:
                for entry_id, index in zip(ids, indexes):
                    amount = 1_000 + index % 997
                    copy.write_row((entry_id, accounts[ledger.receivable(tenant_code(index))], amount))
                    copy.write_row((entry_id, accounts[ledger.COST_RECOVERY], -amount))
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
    parser.add_argument("--url", default=os.environ.get("RENKEI_BENCH_DATABASE_URL", DEFAULT_URL))
    parser.add_argument("--entries", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=1_000)
    parser.add_argument("--single", type=int, default=2_000, help="entries for the one-entry-per-commit path")
    parser.add_argument("--quick", action="store_true", help="10,000 entries, 500 single")
    args = parser.parse_args(argv)
    if args.quick:
        args.entries, args.single = 10_000, 500
    if not args.url.startswith("postgresql"):
        parser.error("the ledger benchmark needs PostgreSQL (its guards are deferred constraint triggers)")

    engine = fresh_engine(args.url)
    print(f"ledger benchmark: {args.entries:,} two-line entries in batches of {args.batch:,}, PostgreSQL schema {SCHEMA}")

    writer_s = bench_writer(engine, args.entries, args.batch)
    check(engine, args.entries)
    truncate(engine)
    raw_s = bench_raw(engine, args.entries, args.batch)
    check(engine, args.entries)
    truncate(engine)
    set_guards(engine, False)
    bare_s = bench_raw(engine, args.entries, args.batch)
    set_guards(engine, True)
    truncate(engine)
    single_s = bench_single(engine, args.single)
    check(engine, args.single)

    writer_rate, raw_rate, bare_rate = rate(args.entries, writer_s), rate(args.entries, raw_s), rate(args.entries, bare_s)
    print(f"writer  post_entries          {writer_s:8.2f} s  {writer_rate:10,.0f} entries/s")
    print(f"limit   raw SQL (same guards) {raw_s:8.2f} s  {raw_rate:10,.0f} entries/s")
    print(f"ratio   writer / limit        {writer_rate / raw_rate:8.2f}")
    print(f"ref.    raw SQL, guards off   {bare_s:8.2f} s  {bare_rate:10,.0f} entries/s  (guards cost {raw_s / bare_s:.2f}x)")
    print(f"single  post_entry + commit   {single_s:8.2f} s  {rate(args.single, single_s):10,.0f} entries/s ({args.single:,} entries)")
    verdict = "met" if writer_rate >= TARGET_PER_SECOND else "MISSED"
    print(f"target  ≥ {TARGET_PER_SECOND:,} entries/s through the writer: {verdict}")
    with engine.begin() as connection:
        connection.execute(sa.text(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE"))
    engine.dispose()
    return 0 if verdict == "met" else 1


if __name__ == "__main__":
    raise SystemExit(main())
