"""Benchmark: the brokerage (POST /api/v1/residents/broker) beside the consent check alone, same run.

    python bench/bench_brokerage.py [--quick] [--requests N] [--rounds R] [--database-url URL] [--smoke]

Both endpoints are called in this process as a WSGI server calls them (bench/inprocess.py), both warmed
up, then taken in turn call by call (bench.inprocess.interleaved_latency: a burst of the shared machine's
other load falls on both alike); figures are medians of the rounds. Each side is its real request path:
on PostgreSQL both read and write on the API's connection in autocommit, the brokerage's one read
holding the consent check's, so both make two round trips (the read; the linkage record's write).

* ``brokerage (allowed)``: a service of 熊本市 with its API client, a resident enrolled with a common ID,
  linked to the service, who consented and set a disclosure range of 氏名 of the 氏名・住所 asked: each
  call reads the service, the link and the range (one read), asks the consent check (its read and its
  hash-chained linkage record, committed) and decrypts the name. The caller is the service's client
  (the open development API's actor is, on this path, that client's: the benchmark measures the
  brokerage, not the token check, which both sides pay alike in production).
* ``consent check (allowed)`` (the limit, same run): the same person and service, the same item, asked
  of ``/api/v1/consent/check`` by the open development API's operator.

Project target (issue 42, item 6): brokerage p99 within 1.5x of the consent check alone. The
database (default: a fresh SQLite file under $TMPDIR; or ``--database-url``/``RENKEI_BENCH_DATABASE_URL``,
which is emptied) is rebuilt.
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

BROKER_PATH = "/api/v1/residents/broker"
CHECK_PATH = "/api/v1/consent/check"
PURPOSE = "行政サービスの案内"
USER_ID = "bench-user-0001"


def prepare(app) -> tuple[int, int]:
    """The service (with the API client made by the gateway bench's preparation), the resident, the link,
    the consent and the disclosure range; (service id, API client id)."""
    import sqlalchemy as sa

    from admin.extensions import db
    from admin.resident_keys import keyring
    from core.actor import Actor, console_actor
    from residents.consent import operations as consent
    from residents import operations as residents
    from tenancy.identity.models import ApiClient

    operator = console_actor("bench", {"platform-operator"})
    clerk = Actor(issuer="urn:bench", subject="clerk", name="窓口", roles=frozenset({"municipal-staff"}),
                  tenant_codes=frozenset({"431001"}))
    desk = Actor(issuer="urn:bench", subject="desk", name="住民窓口", roles=frozenset({"resident-desk"}),
                 tenant_codes=frozenset({"431001"}))
    with app.app_context():
        client_id = db.session.scalar(sa.select(ApiClient.id).order_by(ApiClient.id.desc()).limit(1))
        consent.ensure_default_levels(db.session, operator)
        service = consent.register_service(db.session, operator, {
            "owner_code": "431001", "name": "くらしナビ", "provider": "熊本市", "controller": "熊本市長",
            "retention_days": 365, "required_level": 2, "api_client_id": client_id,
            "text": {"title": "同意書", "body_ja": "案内に利用します。", "purposes": [PURPOSE],
                     "items": {"氏名": {}, "住所": {}}}})
        consent.move_service(db.session, operator, service.id, "approve")
        common_id = residents.enrol(db.session, desk, keyring(), {
            "tenant_code": "431001", "full_name": "髙橋 太郎", "address": "熊本市中央区水前寺6-18-1",
            "birth_date": "1980-04-01", "sex": "1", "verification": "my_number_card",
            "assurance_level": 3}).resident.common_id
        residents.link_service(db.session, desk, "431001", common_id,
                               {"service_id": service.id, "service_user_id": USER_ID, "assurance_level": 3})
        residents.set_disclosure(db.session, desk, "431001", common_id,
                                 {"service_id": service.id, "items": ["氏名"], "reason": "ベンチマーク"})
        text = consent.current_text(db.session, service)
        consent.give_consent(db.session, clerk, {"service_id": service.id, "tenant_code": "431001",
                                                 "subject_id": USER_ID, "content_hash": text.content_hash,
                                                 "method": "paper", "assurance_level": 3})
        db.session.commit()
        return service.id, client_id


def main() -> None:
    args, count, url = common.latency_arguments(__doc__, requests=5_000, quick=1_000, prefix="renkei-bench-brokerage-")

    import dataclasses

    from flask import request

    from admin import auth, create_app

    app = create_app(gateway_bench._settings(url))
    gateway_bench.prepare(app)
    service_id, client_id = prepare(app)
    operator = auth._dev_actor

    def dev_actor():  # the open development API's actor; on the brokerage, the service's client (see above)
        actor = operator()
        if request.path != BROKER_PATH:
            return actor
        return dataclasses.replace(actor, subject="service-account-kurashi", name="くらしナビ",
                                   roles=frozenset({"brokerage-client"}), client_id=client_id)

    auth._dev_actor = dev_actor

    broker = inprocess.caller(app, BROKER_PATH, method="POST", body=json.dumps({
        "service_id": service_id, "service_user_id": USER_ID, "items": ["氏名", "住所"], "purpose": PURPOSE},
        ensure_ascii=False).encode())
    check = inprocess.caller(app, CHECK_PATH, method="POST", body=json.dumps({
        "service_id": service_id, "tenant_code": "431001", "subject_id": USER_ID, "items": ["氏名"],
        "purpose": PURPOSE, "client": "bench"}, ensure_ascii=False).encode())
    with contextlib.redirect_stdout(io.StringIO()):
        answer = json.loads(broker())
        assert answer["allowed"] is True and answer["items"] == {"氏名": "髙橋 太郎"}, answer
        assert json.loads(check())["allowed"] is True

    sides = {"brokerage (allowed)": broker, "consent check (allowed)": check}
    samples: dict[str, list[tuple[float, float, float]]] = {name: [] for name in sides}
    for _ in range(args.rounds):
        for name, figures in inprocess.interleaved_latency(sides, count).items():
            samples[name].append(figures)
    print(f"bench_brokerage: {args.rounds} rounds of {count:,} sequential in-process calls per side, the two sides "
          f"taken in turn call by call; database {app.config['SQLALCHEMY_DATABASE_URI'].split(':')[0]}; "
          "every call writes its linkage record")
    print(common.noisy_machine_note())
    medians = common.print_latency_medians(samples)
    common.report("brokerage p99 in-process", medians["brokerage (allowed)"][1],
                  medians["consent check (allowed)"][1], "brokerage", "ms", higher_is_better=False)


if __name__ == "__main__":
    main()
