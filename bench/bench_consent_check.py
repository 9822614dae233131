"""Benchmark: the broker's consent check (POST /api/v1/consent/check) beside the gateway check, same run.

    python bench/bench_consent_check.py [--quick] [--requests N] [--rounds R] [--database-url URL] [--smoke]

Both endpoints are called in this process as a WSGI server calls them (bench/inprocess.py), in
alternating rounds (consent allowed, consent refused, gateway, ...); figures are medians of the rounds.

* ``consent check``: a service of 熊本市 approved with one consent text, a person who consented
  (allowed) and one who withdrew (refused); each call reads the service, the person's latest
  consent event and the linkage chain's head, and appends one hash-chained linkage record after
  that head, and the request commits: the linkage record's write (and the database's commit) is
  part of every figure, as it is of every call.
* ``gateway check`` (the limit, measured in the same run): as bench/bench_gateway_check.py.
* ``durable commit alone``: one small row inserted into a table of its own and committed, through
  the same engine: the floor of any call that answers only once its record is durable (on SQLite
  one sync of its write-ahead log, journal_mode WAL with synchronous FULL, core.db; a WAL flush on
  PostgreSQL). No durable per-call record can be faster than this.
* ``consent check, not committed``: the operation itself (the read, the decision, the linkage
  record appended to its chain) called directly as the API calls it and rolled back instead of
  committed: what the check costs above the commit (without Flask's request handling; on
  PostgreSQL, whose API path needs no BEGIN or COMMIT, with a BEGIN and a ROLLBACK).

Project target (issue #23, the quota check's figure): p99 < 2 ms in-process. It is printed for the
consent check (beside the gateway check's p99, same run); the consent check's p99 is printed beside
the durable commit's p99 (its floor) too, and the part not committed without a target (on
PostgreSQL it counts a BEGIN and a ROLLBACK that the API's path does not make). The database (default: a fresh SQLite file under $TMPDIR; or
``--database-url``/``RENKEI_BENCH_DATABASE_URL``, which is emptied) is rebuilt.
"""

from __future__ import annotations

import contextlib
import io
import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from bench import bench_gateway_check as gateway_bench, common, inprocess  # noqa: E402

CHECK_PATH = "/api/v1/consent/check"
ITEMS = ["生年月日", "世帯構成"]
PURPOSE = "子育て支援サービスの案内"


def prepare_consent(app) -> int:
    """An approved service of 熊本市, a consent of person A, a consent withdrawn of person B; the service id."""
    from admin.extensions import db
    from core.actor import Actor, console_actor
    from residents.consent import operations as consent

    operator = console_actor("bench", {"platform-operator"})
    clerk = Actor(issuer="urn:bench", subject="clerk", name="窓口", roles=frozenset({"municipal-staff"}),
                  tenant_codes=frozenset({"431001"}))
    with app.app_context():
        consent.ensure_default_levels(db.session, operator)
        service = consent.register_service(db.session, operator, {
            "owner_code": "431001", "name": "子育て支援ナビ", "provider": "熊本市", "controller": "熊本市長",
            "retention_days": 365, "required_level": 2,
            "text": {"title": "同意書", "body_ja": "子育て支援のために利用します。", "purposes": [PURPOSE],
                     "items": {name: {} for name in ITEMS}}})
        consent.move_service(db.session, operator, service.id, "approve")
        text = consent.current_text(db.session, service)
        for subject in ("pid-bench-allowed", "pid-bench-withdrawn"):
            consent.give_consent(db.session, clerk, {"service_id": service.id, "tenant_code": "431001",
                                                     "subject_id": subject, "content_hash": text.content_hash,
                                                     "method": "paper", "assurance_level": 2})
        consent.withdraw_consent(db.session, clerk, {"service_id": service.id, "tenant_code": "431001",
                                                     "subject_id": "pid-bench-withdrawn", "method": "paper"})
        db.session.commit()
        return service.id


def commit_floor(app):
    """One small row inserted into a table of the benchmark's own and committed, through the app's engine."""
    import sqlalchemy as sa

    from admin.extensions import db

    metadata = sa.MetaData()
    table = sa.Table("bench_commit_floor", metadata, sa.Column("id", sa.Integer, primary_key=True),
                     sa.Column("note", sa.String(200), nullable=False))
    with app.app_context():
        metadata.drop_all(db.engine)
        metadata.create_all(db.engine)
    row = {"note": "連携記録の大きさの行 / a row of about a linkage record's size " * 2}

    def call() -> None:
        with app.app_context(), db.engine.begin() as connection:
            connection.execute(table.insert(), row)

    return call


def uncommitted(app, question: dict):
    """The consent check operation called directly, as the API calls it, and rolled back (its work
    above the commit). On PostgreSQL the API reads and writes on a connection in autocommit, whose
    write commits itself: here the same two statements run on a connection in a transaction that
    is rolled back (so a BEGIN and a ROLLBACK are counted too)."""
    from admin.extensions import db
    from core.actor import console_actor
    from residents.consent import check

    actor = console_actor("bench", {"platform-operator"})

    def call() -> None:
        with app.app_context():
            try:
                if db.engine.dialect.name != "postgresql":
                    check.consent_check(db.session, actor, question)
                    return
                with db.engine.connect() as connection:
                    check.consent_check(db.session, actor, question, autocommit=connection)
                    connection.rollback()
            finally:
                db.session.rollback()

    return call


def main() -> None:
    args, count, url = common.latency_arguments(__doc__, requests=10_000, quick=2_000, prefix="renkei-bench-consent-")

    from admin import create_app

    app = create_app(gateway_bench._settings(url))
    azp = gateway_bench.prepare(app)
    service_id = prepare_consent(app)
    token = gateway_bench.install_validator(app)(azp)
    gateway = inprocess.caller(app, gateway_bench.GATEWAY_PATH, method="POST",
                               body=json.dumps({"token": token, "address": "192.0.2.10"}).encode())

    def asked(subject: str) -> dict:
        return {"service_id": service_id, "tenant_code": "431001", "subject_id": subject, "items": ITEMS,
                "purpose": PURPOSE, "client": "bench-app"}

    def question(subject: str) -> bytes:
        return json.dumps(asked(subject), ensure_ascii=False).encode()

    allowed = inprocess.caller(app, CHECK_PATH, method="POST", body=question("pid-bench-allowed"))
    refused = inprocess.caller(app, CHECK_PATH, method="POST", body=question("pid-bench-withdrawn"))
    floor = commit_floor(app)
    bare = uncommitted(app, asked("pid-bench-allowed"))
    with contextlib.redirect_stdout(io.StringIO()):
        assert json.loads(allowed())["allowed"] is True, "the benchmark's person should be allowed"
        assert json.loads(refused())["reason"] == "withdrawn"
        assert json.loads(gateway())["allowed"] is True

    samples = common.alternate({"consent check (allowed)": lambda _: inprocess.latency(allowed, count),
                                "consent check (withdrawn)": lambda _: inprocess.latency(refused, count),
                                "gateway check (allowed)": lambda _: inprocess.latency(gateway, count),
                                "durable commit alone": lambda _: inprocess.latency(floor, count),
                                "consent check, not committed": lambda _: inprocess.latency(bare, count)}, args.rounds)
    print(f"bench_consent_check: {args.rounds} alternating rounds of {count:,} sequential in-process calls per side; "
          f"database {app.config['SQLALCHEMY_DATABASE_URI'].split(':')[0]}; every consent check writes its linkage record")
    print(common.noisy_machine_note())
    medians = common.print_latency_medians(samples)
    common.report("consent check p99 in-process", medians["consent check (allowed)"][1],
                  medians["gateway check (allowed)"][1], "quota-check-p99", "ms", higher_is_better=False)
    common.report("gateway check p99 in-process (same run)", medians["gateway check (allowed)"][1], None,
                  "quota-check-p99", "ms", higher_is_better=False)
    common.report("consent check p99 / durable commit p99", medians["consent check (allowed)"][1],
                  medians["durable commit alone"][1], None, "ms", higher_is_better=False)
    common.report("consent check p99, not committed", medians["consent check, not committed"][1], None,
                  None, "ms", higher_is_better=False)
    print(f"(the floor: a durable per-call record waits for its commit, p50 {medians['durable commit alone'][0]:.2f} ms "
          f"and p99 {medians['durable commit alone'][1]:.2f} ms on this database and disk in this run)")


if __name__ == "__main__":
    main()
