"""Benchmark: the audit log on PostgreSQL — appending records, verifying the chain, exporting.

    python bench/bench_audit.py [--database-url URL] [--records N] [--appends A] [--rounds R] [--quick] [--smoke]

The URL (``--database-url``, formerly ``--url``) defaults to ``RENKEI_BENCH_DATABASE_URL`` or
``postgresql+psycopg://renkei:renkei@127.0.0.1:5432/renkei_governance``. The benchmark works in
a schema of its own (``bench_audit``, dropped and re-created with ``create_all`` so the guard
triggers are installed as in production) and touches nothing else.

* **append**: A acts, each ``core.audit.record`` + commit (what one request does: lock the
  chain head, hash, insert). Limit, same run, on the same chain: the same kind of row with a
  raw ``SELECT ... FOR UPDATE`` of the head, the same SHA-256, a raw ``INSERT`` + ``UPDATE`` of
  the head + commit each — the least a serialised append can do. The two alternate in R rounds.
* **verify**: ``governance.audit.verification`` over N records (a year of a large consortium is
  well under 200,000). Limit, same run: fetching the same rows with one raw query and computing
  the same SHA-256 over the same canonical text — the least any verifier must do.
* **export**: JSON lines of all N records to a temporary file. Limit: raw fetch + ``json.dumps``.

Verify and export alternate with their limits for R rounds too; medians are reported. Issue #12
sets no target of its own for these figures (the audit-verify page and the export are held to
the pages' goal by bench/bench_pages.py).
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import sqlalchemy as sa  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

from core import audit as core_audit  # noqa: E402
from governance import audit, audit_export  # noqa: E402
from core.audit import AuditAnchor, AuditChainHead, AuditRecord  # noqa: E402
from core.actor import Actor  # noqa: E402
from bench import common  # noqa: E402

DEFAULT_URL = "postgresql+psycopg://renkei:renkei@127.0.0.1:5432/renkei_governance"
SCHEMA = "bench_audit"
ACTOR = Actor(issuer="https://keycloak.example/realms/renkei", subject="6f1c0a9e-0000-4000-8000-000000000001",
              name="熊本県 運営者", roles=frozenset({"platform-operator"}), request_id="0" * 32, source_ip="10.0.0.1")


def fresh_engine(url: str) -> sa.Engine:
    return common.schema_engine(url, SCHEMA, [AuditRecord.__table__, AuditChainHead.__table__, AuditAnchor.__table__])


def reset(engine: sa.Engine) -> None:
    with engine.begin() as connection:  # TRUNCATE fires no row trigger: only the benchmark does this
        connection.execute(sa.text("TRUNCATE audit_record, audit_chain_head, audit_anchor RESTART IDENTITY"))


def act(index: int) -> dict:
    code = f"43{index % 900 + 100:03d}1"
    return {"action": "tenant.update", "target_type": "tenant", "target_id": code, "tenant_code": code[:6],
            "before": {"population": 10_000 + index}, "after": {"population": 10_001 + index}}


def append_writer(engine: sa.Engine, first: int, count: int) -> float:
    with Session(engine) as session:
        started = time.perf_counter()
        for index in range(first, first + count):
            data = act(index)
            core_audit.record(session, ACTOR, data["action"], data["target_type"], data["target_id"],
                              tenant_code=data["tenant_code"], before=data["before"], after=data["after"])
            session.commit()
        return time.perf_counter() - started


def append_raw(engine: sa.Engine, first: int, count: int) -> float:
    """Lock the head, hash the same fields the same way, INSERT, move the head, commit: each record."""
    insert = sa.insert(AuditRecord.__table__)
    head = sa.text("UPDATE audit_chain_head SET last_seq = :s, last_hash = :h WHERE id = 1")
    with engine.connect() as connection:
        started = time.perf_counter()
        for index in range(first, first + count):
            seq, prev = connection.execute(
                sa.text("SELECT last_seq, last_hash FROM audit_chain_head WHERE id = 1 FOR UPDATE")).one()
            data = act(index)
            entry = AuditRecord(seq=seq + 1, occurred_at=dt.datetime.now(dt.timezone.utc), actor_issuer=ACTOR.issuer,
                                actor_subject=ACTOR.subject, actor_name=ACTOR.name, actor_role=ACTOR.primary_role,
                                tenant_code=data["tenant_code"], action=data["action"], target_type=data["target_type"],
                                target_id=data["target_id"], before=core_audit._canonical(data["before"]),
                                after=core_audit._canonical(data["after"]), request_id=ACTOR.request_id,
                                source_ip=ACTOR.source_ip, prev_hash=prev, hash="")
            entry.hash = core_audit.compute_hash(entry, prev)
            connection.execute(insert, {**audit.record_dict(entry), "occurred_at": entry.occurred_at})
            connection.execute(head, {"s": seq + 1, "h": entry.hash})
            connection.commit()
        return time.perf_counter() - started


def bench_append(engine: sa.Engine, count: int, rounds: int) -> dict[str, list[float]]:
    """Records/s of each side per round, alternating on one chain."""
    reset(engine)
    with Session(engine) as session:  # the chain head exists before the clock starts
        core_audit.lock_head(session)
        session.commit()
    each = max(1, count // rounds)
    return common.alternate({
        "renkei": lambda n: each / append_writer(engine, 2 * n * each, each),
        "limit": lambda n: each / append_raw(engine, (2 * n + 1) * each, each),
    }, rounds)


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
        audit_export.write_export(out, audit_export.records_in_period(session, ACTOR, None, None), "jsonl")
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
    common.add_database_option(parser, DEFAULT_URL)
    parser.add_argument("--url", dest="database_url", help=argparse.SUPPRESS)  # the former name
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--appends", type=int, default=2_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="20,000 records, 500 appends")
    common.add_smoke_option(parser, "200 records, 20 appends, one round")
    args = parser.parse_args()
    records, appends = (200, 20) if args.smoke else (20_000, 500) if args.quick else (args.records, args.appends)
    if args.smoke:
        args.rounds = 1
    engine = fresh_engine(args.database_url)
    print(f"bench_audit: {args.rounds} alternating rounds (renkei, limit); PostgreSQL schema {SCHEMA}")
    print(common.noisy_machine_note())
    try:
        samples = bench_append(engine, appends, args.rounds)
        with Session(engine) as session:
            assert audit.verification(session, ACTOR).intact, "the appended chain must verify"
        common.report(f"append ({appends:,} records, commit each)", common.median(samples["renkei"]),
                      common.median(samples["limit"]), None, "records/s")
        print("  limit = raw head lock + same SHA-256 + INSERT + head UPDATE + commit, on the same chain")
        fill(engine, records)
        verify = common.alternate({"renkei": lambda n: bench_verify(engine)}, args.rounds)["renkei"]
        assert all(intact and raw_ok for _, _, intact, raw_ok in verify), "the filled chain must verify"
        common.report(f"verify ({records:,} records)", records / common.median(v[0] for v in verify),
                      records / common.median(v[1] for v in verify), None, "records/s")
        print("  limit = raw fetch + the same SHA-256 over the same canonical text")
        export = common.alternate({"renkei": lambda n: bench_export(engine)}, args.rounds)["renkei"]
        common.report(f"export ({records:,} records, JSON lines)", records / common.median(e[0] for e in export),
                      records / common.median(e[1] for e in export), None, "records/s")
        print("  limit = raw fetch + json.dumps")
    finally:
        with engine.begin() as connection:
            connection.execute(sa.text(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE"))
        engine.dispose()


if __name__ == "__main__":
    main()
