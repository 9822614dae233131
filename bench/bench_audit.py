"""Benchmark: the audit log on PostgreSQL — appending records, verifying the chain, exporting.

    python bench/bench_audit.py [--url URL] [--records N] [--appends A] [--quick]

The URL defaults to ``RENKEI_BENCH_DATABASE_URL`` or
``postgresql+psycopg://renkei:renkei@127.0.0.1:5432/renkei_governance``. The benchmark works in
a schema of its own (``bench_audit``, dropped and re-created with ``create_all`` so the guard
triggers are installed as in production) and touches nothing else.

* **append**: A acts, each ``core.audit.record`` + commit (what one request does: lock the
  chain head, hash, insert). Limit, same run: the same rows (hashes computed beforehand) with a
  raw ``INSERT`` + ``UPDATE`` of the head + commit each — the least a serialised append can do.
* **verify**: ``governance.audit.verification`` over N records (a year of a large consortium is
  well under 200,000). Limit, same run: fetching the same rows with one raw query and computing
  the same SHA-256 over the same canonical text — the least any verifier must do.
* **export**: JSON lines of all N records to a temporary file. Limit: raw fetch + ``json.dumps``.

Targets: append ≥ 100 records/s (each administrative request appends one record; a consortium
of 21 tenants makes a few thousand a day, not a second); verify ≥ 20,000 records/s (a year's
log, well under 200,000 records, in seconds: the auditor runs it from the admin page).
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import sqlalchemy as sa  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

from core import audit as core_audit  # noqa: E402
from governance import audit  # noqa: E402
from core.audit import AuditAnchor, AuditChainHead, AuditRecord  # noqa: E402
from core.actor import Actor  # noqa: E402
from core.db import metadata  # noqa: E402

DEFAULT_URL = "postgresql+psycopg://renkei:renkei@127.0.0.1:5432/renkei_governance"
SCHEMA = "bench_audit"
ACTOR = Actor(issuer="https://keycloak.example/realms/renkei", subject="6f1c0a9e-0000-4000-8000-000000000001",
              name="熊本県 運営者", roles=frozenset({"platform-operator"}), request_id="0" * 32, source_ip="10.0.0.1")
APPEND_TARGET = 100
VERIFY_TARGET = 20_000


def fresh_engine(url: str) -> sa.Engine:
    admin = sa.create_engine(url)
    with admin.begin() as connection:
        connection.execute(sa.text(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE"))
        connection.execute(sa.text(f"CREATE SCHEMA {SCHEMA}"))
    admin.dispose()
    engine = sa.create_engine(url, connect_args={"options": f"-csearch_path={SCHEMA}"})
    metadata.create_all(engine, tables=[AuditRecord.__table__, AuditChainHead.__table__, AuditAnchor.__table__])
    return engine


def reset(engine: sa.Engine) -> None:
    with engine.begin() as connection:  # TRUNCATE fires no row trigger: only the benchmark does this
        connection.execute(sa.text("TRUNCATE audit_record, audit_chain_head, audit_anchor RESTART IDENTITY"))


def act(index: int) -> dict:
    code = f"43{index % 900 + 100:03d}1"
    return {"action": "tenant.update", "target_type": "tenant", "target_id": code, "tenant_code": code[:6],
            "before": {"population": 10_000 + index}, "after": {"population": 10_001 + index}}


def bench_append(engine: sa.Engine, count: int) -> tuple[float, float]:
    reset(engine)
    with Session(engine) as session:
        started = time.perf_counter()
        for index in range(count):
            data = act(index)
            core_audit.record(session, ACTOR, data["action"], data["target_type"], data["target_id"],
                         tenant_code=data["tenant_code"], before=data["before"], after=data["after"])
            session.commit()
        writer = time.perf_counter() - started
    # Limit: rows prepared in memory (hash included), then one INSERT + head UPDATE + commit each.
    rows = []
    with Session(engine) as session:
        rows = [audit.record_dict(r) for r in audit.iter_records(session)]
    reset(engine)
    with engine.connect() as connection:
        connection.execute(sa.text("INSERT INTO audit_chain_head (id, last_seq, last_hash) VALUES (1, 0, :h)"),
                           {"h": core_audit.GENESIS_HASH})
        connection.commit()
        insert = sa.insert(AuditRecord.__table__)
        head = sa.text("UPDATE audit_chain_head SET last_seq = :s, last_hash = :h WHERE id = 1")
        started = time.perf_counter()
        for row in rows:
            connection.execute(sa.text("SELECT last_seq FROM audit_chain_head WHERE id = 1 FOR UPDATE"))
            connection.execute(insert, {**row, "occurred_at": dt.datetime.now(dt.timezone.utc)})
            connection.execute(head, {"s": row["seq"], "h": row["hash"]})
            connection.commit()
        limit = time.perf_counter() - started
    return writer, limit


def fill(engine: sa.Engine, count: int) -> None:
    """N chained records, inserted in bulk (hashes computed as audit.record does)."""
    reset(engine)
    prev = core_audit.GENESIS_HASH
    start = dt.datetime(2025, 4, 1, tzinfo=dt.timezone.utc)
    batch: list[dict] = []
    with engine.begin() as connection:
        for index in range(count):
            data = act(index)
            entry = AuditRecord(seq=index + 1, occurred_at=start + dt.timedelta(seconds=index * 90),
                                actor_issuer=ACTOR.issuer, actor_subject=ACTOR.subject, actor_name=ACTOR.name,
                                actor_role=ACTOR.primary_role, tenant_code=data["tenant_code"], action=data["action"],
                                target_type=data["target_type"], target_id=data["target_id"],
                                before=core_audit._canonical(data["before"]), after=core_audit._canonical(data["after"]),
                                request_id=ACTOR.request_id, source_ip=ACTOR.source_ip, prev_hash=prev, hash="")
            entry.hash = prev = core_audit.compute_hash(entry, prev)
            batch.append({**audit.record_dict(entry), "occurred_at": entry.occurred_at})
            if len(batch) == 5_000:
                connection.execute(sa.insert(AuditRecord.__table__), batch)
                batch = []
        if batch:
            connection.execute(sa.insert(AuditRecord.__table__), batch)
        connection.execute(sa.text("INSERT INTO audit_chain_head (id, last_seq, last_hash) VALUES (1, :s, :h)"),
                           {"s": count, "h": prev})


FIELDS = ", ".join(["seq", "occurred_at", "actor_issuer", "actor_subject", "actor_name", "actor_role", "tenant_code", "action",
                    "target_type", "target_id", "before", "after", "request_id", "source_ip", "prev_hash", "hash"])


def raw_verify(engine: sa.Engine) -> bool:
    prev = core_audit.GENESIS_HASH
    with engine.connect() as connection:
        result = connection.execution_options(stream_results=True, yield_per=5_000).execute(
            sa.text(f"SELECT {FIELDS} FROM audit_record ORDER BY seq"))
        for row in result:
            data = row._asdict()
            data["occurred_at"] = data["occurred_at"].astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
            del data["prev_hash"], data["hash"]
            text = prev + json.dumps(data, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
            digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
            if digest != row.hash:
                return False
            prev = digest
    return True


def bench_verify(engine: sa.Engine) -> tuple[float, float, bool, bool]:
    with Session(engine) as session:
        started = time.perf_counter()
        result = audit.verification(session, ACTOR)
        renkei = time.perf_counter() - started
    started = time.perf_counter()
    raw_ok = raw_verify(engine)
    limit = time.perf_counter() - started
    return renkei, limit, result.intact, raw_ok


def bench_export(engine: sa.Engine) -> tuple[float, float]:
    with Session(engine) as session, tempfile.TemporaryFile() as out:
        started = time.perf_counter()
        audit.write_export(out, audit.records_in_period(session, ACTOR, None, None), "jsonl")
        renkei = time.perf_counter() - started
    with engine.connect() as connection, tempfile.TemporaryFile() as out:
        started = time.perf_counter()
        result = connection.execution_options(stream_results=True, yield_per=5_000).execute(
            sa.text(f"SELECT {FIELDS} FROM audit_record ORDER BY seq"))
        for row in result:
            out.write((json.dumps(row._asdict(), ensure_ascii=False, default=str) + "\n").encode("utf-8"))
        limit = time.perf_counter() - started
    return renkei, limit


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", default=os.environ.get("RENKEI_BENCH_DATABASE_URL", DEFAULT_URL))
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--appends", type=int, default=2_000)
    parser.add_argument("--quick", action="store_true", help="20,000 records, 500 appends")
    args = parser.parse_args()
    records, appends = (20_000, 500) if args.quick else (args.records, args.appends)
    engine = fresh_engine(args.url)
    try:
        writer, limit = bench_append(engine, appends)
        print(f"append  {appends:>7,} records: renkei {appends / writer:>9,.0f} records/s   "
              f"limit (raw INSERT + head UPDATE + commit) {appends / limit:>9,.0f} records/s   "
              f"ratio {writer / limit:.2f}x   target ≥ {APPEND_TARGET}/s: {'met' if appends / writer >= APPEND_TARGET else 'MISSED'}")
        fill(engine, records)
        renkei, limit, intact, raw_ok = bench_verify(engine)
        assert intact and raw_ok, "the filled chain must verify"
        print(f"verify  {records:>7,} records: renkei {records / renkei:>9,.0f} records/s ({renkei:.2f} s)   "
              f"limit (raw fetch + same SHA-256) {records / limit:>9,.0f} records/s ({limit:.2f} s)   "
              f"ratio {renkei / limit:.2f}x   target ≥ {VERIFY_TARGET:,}/s: {'met' if records / renkei >= VERIFY_TARGET else 'MISSED'}")
        renkei, limit = bench_export(engine)
        print(f"export  {records:>7,} records (JSON lines): renkei {records / renkei:>9,.0f} records/s ({renkei:.2f} s)   "
              f"limit (raw fetch + json.dumps) {records / limit:>9,.0f} records/s ({limit:.2f} s)   ratio {renkei / limit:.2f}x")
    finally:
        with engine.begin() as connection:
            connection.execute(sa.text(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE"))
        engine.dispose()


if __name__ == "__main__":
    main()
