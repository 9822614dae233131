"""The broker's consent check: each refusal reason, the consent relied on, and every call recorded."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import threading

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from core import chain
from residents.consent import check, operations as consent
from residents.consent.linkage import verify_chains
from residents.consent.models import LinkageRecord
from tests.conftest import drop_server_connection
from tests.consent.conftest import BROKER, KUMAMOTO, YATSUSHIRO, admin_of, clerk, person
from tests.governance.test_audit_append import statements_of


def ask(db, service, subject, *, items=("生年月日",), purpose="子育て支援サービスの案内", tenant=KUMAMOTO,
        autocommit=None, **extra):
    decision = check.consent_check(db, BROKER, {"service_id": service.id if hasattr(service, "id") else service,
                                                "tenant_code": tenant, "subject_id": subject, "items": list(items),
                                                "purpose": purpose, "client": "kosodate-app", **extra},
                                   autocommit=autocommit)
    db.commit()
    return decision


def test_a_consent_allows_the_items_and_purpose_it_covers(db, consent_setup, give):
    service = consent_setup()
    subject = person()
    record = give(service, subject)
    decision = ask(db, service, subject, items=("生年月日", "世帯構成"))
    assert (decision.allowed, decision.reason, decision.consent_receipt_id) == (True, "allowed", record.receipt_id)
    linkage = db.scalars(sa.select(LinkageRecord)).one()
    assert (linkage.allowed, linkage.consent_receipt_id, linkage.client, json.loads(linkage.items)) == \
        (True, record.receipt_id, "kosodate-app", ["生年月日", "世帯構成"])


@pytest.mark.parametrize("items,purpose,reason", [
    (("生年月日", "所得"), "子育て支援サービスの案内", "item_not_covered"),
    (("生年月日",), "広告配信", "purpose_not_covered"),
])
def test_an_item_or_purpose_outside_the_consent_is_refused(db, consent_setup, give, items, purpose, reason):
    service = consent_setup()
    subject = person()
    record = give(service, subject)
    decision = ask(db, service, subject, items=items, purpose=purpose)
    assert (decision.allowed, decision.reason, decision.consent_receipt_id) == (False, reason, record.receipt_id)
    if reason == "item_not_covered":
        assert decision.not_covered == ("所得",)


def test_no_consent_is_refused(db, consent_setup):
    service = consent_setup()
    decision = ask(db, service, person())
    assert (decision.allowed, decision.reason, decision.consent_receipt_id) == (False, "no_consent", None)


def test_a_withdrawn_consent_is_refused_at_the_next_check(db, consent_setup, give):
    service = consent_setup()
    subject = person()
    give(service, subject)
    assert ask(db, service, subject).allowed
    withdrawal = consent.withdraw_consent(db, clerk(), {"service_id": service.id, "tenant_code": KUMAMOTO,
                                                         "subject_id": subject, "method": "paper"})
    db.commit()
    decision = ask(db, service, subject)
    assert (decision.allowed, decision.reason, decision.consent_receipt_id) == (False, "withdrawn", withdrawal.receipt_id)


def test_an_expired_consent_is_refused(db, consent_setup, give, monkeypatch):
    service = consent_setup()
    subject = person()
    expiry = dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=30)
    record = give(service, subject, expires_at=expiry.isoformat())
    assert ask(db, service, subject).allowed
    monkeypatch.setattr("residents.consent.check.utcnow", lambda: expiry + dt.timedelta(seconds=1))
    decision = ask(db, service, subject)
    assert (decision.allowed, decision.reason, decision.consent_receipt_id) == (False, "expired", record.receipt_id)


def test_an_unapproved_service_is_refused(db, consent_setup):
    service = consent_setup(approve=False)
    assert ask(db, service, person()).reason == "service_not_approved"


def test_a_suspended_or_ended_service_is_refused_though_the_person_consented(db, operator, consent_setup, give):
    service = consent_setup()
    subject = person()
    give(service, subject)
    consent.move_service(db, operator, service.id, "suspend", "委託先の事故調査中")
    db.commit()
    assert (ask(db, service, subject).reason, ask(db, service, subject).allowed) == ("service_suspended", False)
    consent.move_service(db, operator, service.id, "resume")
    db.commit()
    assert ask(db, service, subject).allowed
    consent.move_service(db, operator, service.id, "end", "サービス終了")
    db.commit()
    assert ask(db, service, subject).reason == "service_ended"


def test_an_unknown_service_is_refused_and_recorded(db, consent_setup):
    decision = ask(db, 99999, person())
    assert (decision.allowed, decision.reason) == (False, "unknown_service")
    assert db.scalar(sa.select(sa.func.count()).select_from(LinkageRecord)) == 1


def test_a_lower_assurance_level_than_the_service_requires_is_refused(db, consent_setup, give):
    service = consent_setup(required_level=3)
    subject = person()
    give(service, subject, level=2)
    assert ask(db, service, subject).reason == "assurance_too_low"
    other = person()
    give(service, other, level=3)
    assert ask(db, service, other).allowed
    # identified at a lower level now than when consenting: refused too
    assert ask(db, service, other, assurance_level=1).reason == "assurance_too_low"


def test_a_new_text_version_needs_new_consent(db, consent_setup, give):
    service = consent_setup()
    subject = person()
    give(service, subject)
    consent.revise_text(db, admin_of(KUMAMOTO), service.id,
                        {"title": "第2版", "body_ja": "所得も利用します。", "purposes": ["子育て支援サービスの案内"],
                         "items": {"生年月日": {}, "所得": {}}})
    db.commit()
    assert ask(db, service, subject).reason == "text_superseded"
    give(service, subject)
    assert ask(db, service, subject, items=("所得",)).allowed


def test_no_check_goes_unrecorded_over_ten_thousand_calls_from_eight_threads(app, db, consent_setup, give):
    service = consent_setup()
    subjects = [person() for _ in range(4)]
    for subject in subjects[:2]:
        give(service, subject)
    service_id, engine = service.id, db.get_bind()
    turns: contextlib.AbstractContextManager = contextlib.nullcontext()
    autocommit = None
    if engine.dialect.name == "sqlite":
        # SQLite has one writer at a time and its busy handler makes waiting writers sleep: there the
        # threads take turns through a lock of their own, on connections that do not wait for the disk
        # at each commit (10,000 synced commits took half a minute at load 4; durability is not what this is about).
        # On PostgreSQL they run at once and queue on the chain head's row lock.
        turns = threading.Lock()
        engine = sa.create_engine(engine.url)
        sa.event.listen(engine, "connect", lambda connection, _: connection.execute("PRAGMA synchronous = OFF"))
    else:
        # as the API checks on PostgreSQL: the read and the record's write on a connection in
        # autocommit; the session's transaction when another thread appended in between
        autocommit = sa.create_engine(engine.url, isolation_level="AUTOCOMMIT", pool_size=8)
    errors: list[BaseException] = []
    answered = [0] * 8

    def worker(index: int) -> None:
        try:
            with Session(bind=engine) as session, \
                    (autocommit.connect() if autocommit is not None else contextlib.nullcontext()) as direct:
                for n in range(1250):
                    subject = subjects[(index + n) % 4]
                    with turns:
                        check.consent_check(session, BROKER, {
                            "service_id": service_id, "tenant_code": KUMAMOTO, "subject_id": subject,
                            "items": ["生年月日"], "purpose": "子育て支援サービスの案内"}, autocommit=direct)
                        session.commit()
                    answered[index] += 1
        except BaseException as error:  # noqa: BLE001  (reported by the assertion below)
            errors.append(error)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for made in (engine if engine is not db.get_bind() else None, autocommit):
        if made is not None:
            made.dispose()
    assert errors == []
    assert sum(answered) == 10_000
    counts = dict(db.execute(sa.select(LinkageRecord.allowed, sa.func.count()).group_by(LinkageRecord.allowed)).all())
    assert counts == {True: 5000, False: 5000}
    assert db.scalar(sa.select(sa.func.max(LinkageRecord.seq))) == 10_000
    assert [status.broken for status in verify_chains(db)] == [None, None]


def test_a_check_reads_once_and_writes_its_record_in_one_statement_on_postgresql_two_on_sqlite(db, consent_setup, give):
    """The check's round trips to the database: one read of the service, the person's latest consent
    and the linkage chain's head; then the record written after that head (PostgreSQL: the head's
    move and the INSERT in one statement)."""
    service = consent_setup()
    subject = person()
    give(service, subject)
    service_id = service.id
    ask(db, service_id, subject)
    chain._known_heads.clear()  # as in another server process, which never appended: the read gives the head
    statements = statements_of(db, lambda: ask(db, service_id, subject))
    seen = [statement.lstrip().split(None, 1)[0].upper() for statement in statements]
    expected = ["SELECT", "WITH"] if db.get_bind().dialect.name == "postgresql" else ["SELECT", "UPDATE", "INSERT"]
    assert seen == expected, statements
    assert [status.broken for status in verify_chains(db)] == [None, None]


@pytest.mark.parametrize("path", ["in the transaction", "by a statement of its own"])
def test_a_record_whose_head_moved_after_the_read_still_lands_on_the_chain(db, consent_setup, give, monkeypatch, path):
    """Another check (another process) appends between this check's read and its write: the record
    goes after the other one, never beside it, whether it is written in the caller's transaction or
    by a statement of its own on a connection in autocommit (PostgreSQL; then in the transaction)."""
    engine = db.get_bind()
    if path == "by a statement of its own" and engine.dialect.name != "postgresql":
        pytest.skip("an append is one statement on PostgreSQL only; SQLite appends in a transaction")
    service = consent_setup()
    subject = person()
    give(service, subject)
    ask(db, service, subject)
    real_decide, service_id, interleaved = check.decide, service.id, []

    def decide_while_another_appends(*args):
        if not interleaved:  # this check has read the head; the other one appends now (once)
            interleaved.append(True)
            with Session(bind=engine) as elsewhere:
                check.consent_check(elsewhere, BROKER, {"service_id": service_id, "tenant_code": KUMAMOTO,
                                                        "subject_id": subject, "items": ["生年月日"],
                                                        "purpose": "子育て支援サービスの案内"})
                elsewhere.commit()
        return real_decide(*args)

    monkeypatch.setattr(check, "decide", decide_while_another_appends)
    autocommit = sa.create_engine(engine.url, isolation_level="AUTOCOMMIT") if path != "in the transaction" else None
    try:
        with (autocommit.connect() if autocommit is not None else contextlib.nullcontext()) as direct:
            decision = ask(db, service_id, subject, autocommit=direct)
    finally:
        if autocommit is not None:
            autocommit.dispose()
    assert decision.allowed and decision.linkage_seq == 3
    assert db.scalars(sa.select(LinkageRecord.seq).order_by(LinkageRecord.seq)).all() == [1, 2, 3]
    assert [status.broken for status in verify_chains(db)] == [None, None]


def test_through_the_api_a_check_is_one_read_and_one_write(app, db, open_api, consent_setup, give):
    """The API's consent check on PostgreSQL: the read and the record's one statement on the app's
    connection in autocommit (no BEGIN, no COMMIT: two round trips), the request's session untouched;
    on SQLite the read and the append's two statements in the request's transaction."""
    service = consent_setup()
    subject = person()
    give(service, subject)
    question = {"service_id": service.id, "tenant_code": KUMAMOTO, "subject_id": subject, "items": ["生年月日"],
                "purpose": "子育て支援サービスの案内", "client": "kosodate-app"}
    assert open_api.post("/api/v1/consent/check", json=question).get_json()["allowed"]
    chain._known_heads.clear()  # as in another server process, which never appended: the read gives the head
    seen: list[tuple[str, str]] = []

    def note(conn, cursor, statement, params, context, executemany):
        engine = "app" if conn.engine is db.get_bind() else "autocommit"
        seen.append((engine, statement.lstrip().split(None, 1)[0].upper()))

    sa.event.listen(sa.engine.Engine, "before_cursor_execute", note)
    try:
        answer = open_api.post("/api/v1/consent/check", json=question).get_json()
    finally:
        sa.event.remove(sa.engine.Engine, "before_cursor_execute", note)
    assert (answer["allowed"], answer["linkage_record"]) == (True, 2)
    if db.get_bind().dialect.name == "postgresql":
        assert seen == [("autocommit", "SELECT"), ("autocommit", "WITH")]
    else:
        assert seen == [("app", "SELECT"), ("app", "UPDATE"), ("app", "INSERT")]
    assert [status.broken for status in verify_chains(db)] == [None, None]


def test_a_check_still_answers_after_the_database_dropped_its_connection(app, db, open_api, consent_setup, give):
    """A restart drops the autocommit connection the checks keep between requests: the next check
    notices at check-out (no round trip), takes a fresh connection, answers and records, no 500."""
    if db.get_bind().dialect.name != "postgresql":
        pytest.skip("dropping server connections is a PostgreSQL test; SQLite checks in the request's transaction")
    service = consent_setup()
    subject = person()
    give(service, subject)
    question = {"service_id": service.id, "tenant_code": KUMAMOTO, "subject_id": subject, "items": ["生年月日"],
                "purpose": "子育て支援サービスの案内"}
    assert open_api.post("/api/v1/consent/check", json=question).get_json()["allowed"]
    with app.extensions["renkei_autocommit_engine"].connect() as kept:  # the connection the checks keep
        pid = kept.execute(sa.text("SELECT pg_backend_pid()")).scalar()
    drop_server_connection(db.get_bind().url, pid)  # as a restart would
    answer = open_api.post("/api/v1/consent/check", json=question)
    assert answer.status_code == 200, answer.get_data(as_text=True)
    assert (answer.get_json()["allowed"], answer.get_json()["linkage_record"]) == (True, 2)
    assert [status.broken for status in verify_chains(db)] == [None, None]


def test_a_consent_is_recorded_only_for_a_service_of_the_persons_tenant(db, consent_setup, client):
    """熊本市's consent application (and clerk) could record a consent to 八代市's service, which it
    cannot even read (404): now that service is not found for it, nothing is recorded, and the
    clerk's form does not offer it."""
    from core.actor import Actor
    from core.errors import NotFound
    from residents.consent.models import ConsentRecord
    from tests.conftest import sign_in

    ours = consent_setup(KUMAMOTO, name="子育て支援ナビ")
    theirs = consent_setup(YATSUSHIRO, name="八代 健診予約")
    app = Actor(issuer="urn:test", subject="app-431001", name="くまもと暮らしアプリ",
                roles=frozenset({"consent-app"}), tenant_codes=frozenset({KUMAMOTO}))
    for actor in (app, clerk(KUMAMOTO)):
        with pytest.raises(NotFound):
            consent.give_consent(db, actor, {
                "service_id": theirs.id, "tenant_code": KUMAMOTO, "subject_id": person(), "method": "app",
                "content_hash": consent.current_text(db, theirs).content_hash, "assurance_level": 2})
        db.rollback()
    assert db.scalar(sa.select(sa.func.count()).select_from(ConsentRecord)) == 0
    assert consent.approved_services(db, clerk(KUMAMOTO)) == [ours]
    sign_in(client, ["municipal-staff"], [KUMAMOTO])
    page = client.get("/admin/consent/").get_data(as_text=True)
    assert "子育て支援ナビ" in page and "八代 健診予約" not in page
