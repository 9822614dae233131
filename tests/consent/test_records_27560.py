"""Consent records completed (issue 37 item 8): a consent past its expiry reads 期限切れ everywhere,
before and after its expiry is written to the chain; consent per purpose where the text marks purposes
optional; the ISO/IEC TS 27560 fields of the processing in the receipt and the history's export; an
identifier shaped like a 個人番号 refused; a printed record checked against its chain by its hash."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json

import pytest
import sqlalchemy as sa

from core import chain
from core.audit import AuditRecord
from core.codes import is_my_number_shaped, my_number_check_digit
from core.errors import Conflict, Invalid
from residents.consent import check, history, operations as consent
from residents.consent.models import ConsentEvent, ConsentRecord, LinkageRecord, LINKAGE_HASHED_FIELDS
from tests.conftest import sign_in
from tests.consent.conftest import BROKER, KUMAMOTO, SERVICE, clerk, person
from tests.consent.test_chains import guards_dropped


def cli(app, *args, role: str | None = None):
    roles = ["--role", role] if role else []
    return app.test_cli_runner().invoke(args=["consent", *args, "--as", "cli-test", *roles])


def _ask(db, service, subject, purpose="子育て支援サービスの案内"):
    decision = check.consent_check(db, BROKER, {"service_id": service.id, "tenant_code": KUMAMOTO, "subject_id": subject,
                                                "items": ["生年月日"], "purpose": purpose})
    db.commit()
    return decision


@pytest.fixture
def lapsed(db, consent_setup, monkeypatch):
    """A consent given two days ago that expired yesterday, its expiry not written yet."""
    service = consent_setup()
    subject = person()
    past = dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=2)
    with monkeypatch.context() as patched:  # the clerk recorded it two days ago
        patched.setattr(consent, "utcnow", lambda: past)
        record = consent.give_consent(db, clerk(), {
            "service_id": service.id, "tenant_code": KUMAMOTO, "subject_id": subject, "method": "paper",
            "content_hash": consent.current_text(db, service).content_hash, "assurance_level": 2,
            "expires_at": past + dt.timedelta(days=1)})
    db.commit()
    return service, subject, record


def _history_states(db, operator, subject) -> list[tuple[str, str]]:
    found = history.person_history(db, operator, KUMAMOTO, subject)
    rows = list(csv.reader(io.StringIO(history.history_csv(found).decode("utf-8-sig"))))
    db.commit()  # the read is audited
    column = rows[0].index("現在の状態")
    return [(row[3], row[column]) for row in rows[1:] if row[0] == "同意記録"]


def test_a_consent_past_its_expiry_reads_expired_everywhere_before_and_after_the_expiry_is_recorded(
        app, client, db, operator, lapsed):
    service, subject, record = lapsed
    # before the expiry is written: the check, the receipt, the history and its export, the printed record
    assert _ask(db, service, subject).reason == "expired"
    assert consent.receipt(db, record)["state"] == "expired"
    assert _history_states(db, operator, subject) == [("同意", "期限切れ")]
    sign_in(client, csrf="t")
    page = client.get(f"/admin/consent/receipt/{record.receipt_id}").get_data(as_text=True)
    assert "この同意は有効期限を過ぎ、期限切れです" in page
    assert "現在の状態</dt><dd class=\"col-sm-9\">期限切れ" in page
    shown = client.get(f"/admin/consent-history/?tenant={KUMAMOTO}&subject={subject}").get_data(as_text=True)
    assert "<td>同意</td><td>期限切れ</td>" in shown
    with pytest.raises(Conflict):  # nothing to withdraw: it has ended
        consent.withdraw_consent(db, clerk(), {"service_id": service.id, "tenant_code": KUMAMOTO, "subject_id": subject})
    db.rollback()

    # the expiry written to the chain by the command, once
    result = cli(app, "expire")
    assert result.exit_code == 0 and "期限切れを記録した同意 1 件" in result.output, result.output
    db.expire_all()
    written = db.scalars(sa.select(ConsentRecord).where(ConsentRecord.subject_id == subject)
                         .order_by(ConsentRecord.seq)).all()
    assert [ConsentEvent(r.event) for r in written] == [ConsentEvent.given, ConsentEvent.expired]
    assert written[1].refers_to == record.id and written[1].hash != record.hash
    assert consent.receipt(db, written[1])["state"] == "expired" and consent.receipt(db, record)["state"] == "expired"
    assert _history_states(db, operator, subject) == [("同意", "期限切れ"), ("期限切れ", "期限切れ")]
    assert db.scalar(sa.select(sa.func.count()).select_from(AuditRecord).where(AuditRecord.action == "consent.expire")) == 1
    again = app.test_cli_runner().invoke(args=["jobs", "run-due", "--as", "jobs-test", "--only", "consent-expiry"])
    assert "[SKIP] consent-expiry" in again.output, again.output
    assert db.scalar(sa.select(sa.func.count()).select_from(ConsentRecord).where(ConsentRecord.subject_id == subject)) == 2
    assert _ask(db, service, subject).reason == "expired"
    assert cli(app, "verify").exit_code == 0


def test_the_due_job_records_the_expiry_and_a_consent_not_yet_expired_is_left(app, db, consent_setup, give, lapsed):
    service, subject, _record = lapsed
    other = person()
    give(service, other, expires_at=dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=30))
    ran = app.test_cli_runner().invoke(args=["jobs", "run-due", "--as", "jobs-test", "--only", "consent-expiry"])
    assert "[OK  ] consent-expiry" in ran.output, ran.output
    db.expire_all()
    events = dict(db.execute(sa.select(ConsentRecord.subject_id, sa.func.count()).group_by(ConsentRecord.subject_id)).all())
    assert events == {subject: 2, other: 1}
    assert _ask(db, service, other).allowed


OPTIONAL = {**SERVICE["text"], "purposes": ["子育て支援サービスの案内"], "optional_purposes": ["健診の案内", "イベントのお知らせ"]}


def test_a_person_consents_to_the_required_purposes_and_any_optional_ones_and_the_check_asks_per_purpose(
        db, consent_setup, give):
    service = consent_setup(text=OPTIONAL)
    only_required, with_one = person(), person()
    give(service, only_required)
    chosen = give(service, with_one, optional_purposes=["健診の案内"])
    assert _ask(db, service, only_required).allowed
    assert _ask(db, service, only_required, "健診の案内").reason == "purpose_not_covered"
    assert _ask(db, service, with_one, "健診の案内").allowed
    assert _ask(db, service, with_one, "イベントのお知らせ").reason == "purpose_not_covered"
    receipt = consent.receipt(db, chosen)
    assert receipt["purposes"] == ["子育て支援サービスの案内", "健診の案内"]
    assert receipt["purpose_necessity"] == [
        {"purpose": "子育て支援サービスの案内", "necessity": "required", "consented": True},
        {"purpose": "健診の案内", "necessity": "optional", "consented": True},
        {"purpose": "イベントのお知らせ", "necessity": "optional", "consented": False}]
    with pytest.raises(Invalid) as refused:  # only the text's optional purposes can be chosen
        give(service, person(), optional_purposes=["子育て支援サービスの案内"])
    assert refused.value.problems[0]["field"] == "optional_purposes[0]"
    db.rollback()
    with pytest.raises(Invalid):  # a purpose both required and optional
        consent_setup(text={**OPTIONAL, "optional_purposes": ["子育て支援サービスの案内"]})
    db.rollback()


def test_a_clerk_ticks_the_optional_purposes_the_person_agreed_to(client, db, consent_setup):
    service = consent_setup(text=OPTIONAL)
    text = consent.current_text(db, service)
    sign_in(client, ["municipal-staff"], [KUMAMOTO], csrf="t")
    page = client.get("/admin/consent/").get_data(as_text=True)
    assert "健診の案内（任意）" in page and f'form="give-form" name="optional_purpose" value="{text.id}|健診の案内"' in page
    subject = person()
    saved = client.post("/admin/consent/give", data={
        "csrf_token": "t", "tenant_code": KUMAMOTO, "subject_id": subject, "text_choice": f"{service.id}:{text.id}",
        "method": "paper", "assurance_level": "2", "optional_purpose": [f"{text.id}|イベントのお知らせ"]})
    assert saved.status_code == 302
    record = db.scalar(sa.select(ConsentRecord).where(ConsentRecord.subject_id == subject))
    assert json.loads(record.purposes) == ["子育て支援サービスの案内", "イベントのお知らせ"]
    shown = client.get(saved.headers["Location"]).get_data(as_text=True)
    assert "健診の案内（任意: 同意なし）" in shown and "イベントのお知らせ（任意: 同意あり）" in shown


TERMS = {"legal_basis": "appi-69-2-1", "special_care": True, "processing": ["collect", "store", "use"],
         "jurisdiction": "JP-43"}


def test_the_receipt_and_the_history_export_carry_the_ts27560_fields(app, db, consent_setup, give):
    service = consent_setup(text={**SERVICE["text"], **TERMS}, retention_days=730)
    plain = consent_setup(name="健診予約")
    assert consent.current_text(db, service).content_hash != consent.current_text(db, plain).content_hash
    subject = person()
    record = give(service, subject)
    receipt = consent.receipt(db, record)
    assert [basis["code"] for basis in receipt["legal_basis"]] == ["appi-69-2-1", "appi-20-2"]
    assert "第69条第2項第1号" in receipt["legal_basis"][0]["label_ja"] and receipt["legal_basis"][1]["dpv"]
    assert receipt["special_care_personal_data"] is True
    assert [(p["code"], p["dpv"]) for p in receipt["processing"]] == [
        ("collect", "dpv:Collect"), ("store", "dpv:Store"), ("use", "dpv:Use")]
    assert receipt["jurisdiction"] == "JP-43" and "個人情報の保護に関する法律" in receipt["applicable_law"]["label_ja"]
    assert receipt["storage_duration"] == {"days": 730, "iso8601": "P730D"}
    assert receipt["controller"]["name"] == "熊本市長" and receipt["record_hash"] == record.hash
    exported = cli(app, "history", KUMAMOTO, subject, "--format", "json")
    assert exported.exit_code == 0, exported.output
    first = json.loads(exported.stdout)["consents"][0]
    assert {key: first[key] for key in ("legal_basis", "special_care_personal_data", "processing", "jurisdiction",
                                        "storage_duration", "controller")} == \
        {key: receipt[key] for key in ("legal_basis", "special_care_personal_data", "processing", "jurisdiction",
                                       "storage_duration", "controller")}
    plain_receipt = consent.receipt(db, give(plain, subject))
    assert [b["code"] for b in plain_receipt["legal_basis"]] == ["appi-27-1"]
    assert plain_receipt["special_care_personal_data"] is False


def test_my_number_check_digit():
    assert my_number_check_digit("12345678901") == 8
    assert is_my_number_shaped("123456789018")
    assert not is_my_number_shaped("123456789012") and not is_my_number_shaped("12345678901")
    assert not is_my_number_shaped("１２３４５６７８９０１８")


@pytest.mark.parametrize("subject", ["123456789018", "1234-5678-9018"])
def test_an_identifier_shaped_like_a_my_number_is_refused_and_nothing_is_written(client, db, consent_setup, subject):
    service = consent_setup()
    text = consent.current_text(db, service)
    with pytest.raises(Invalid) as refused:
        consent.give_consent(db, clerk(), {"service_id": service.id, "tenant_code": KUMAMOTO, "subject_id": subject,
                                           "content_hash": text.content_hash, "assurance_level": 2})
    assert refused.value.problems[0]["field"] == "subject_id"
    assert "個人番号" in refused.value.problems[0]["message_ja"]
    db.rollback()
    with pytest.raises(Invalid):
        check.consent_check(db, BROKER, {"service_id": service.id, "tenant_code": KUMAMOTO, "subject_id": subject,
                                         "items": ["生年月日"], "purpose": "子育て支援サービスの案内"})
    db.rollback()
    assert db.scalar(sa.select(sa.func.count()).select_from(ConsentRecord)) == 0
    assert db.scalar(sa.select(sa.func.count()).select_from(LinkageRecord)) == 0
    sign_in(client, ["municipal-staff"], [KUMAMOTO], csrf="t")
    page = client.post("/admin/consent/give", data={
        "csrf_token": "t", "tenant_code": KUMAMOTO, "subject_id": subject, "text_choice": f"{service.id}:{text.id}",
        "method": "paper", "assurance_level": "2"})
    assert page.status_code == 422 and 'id="subject_id-error"' in page.get_data(as_text=True)
    assert "個人番号（マイナンバー）の形" in page.get_data(as_text=True)


def test_twelve_digits_without_a_valid_check_digit_are_a_pseudonymous_identifier(db, consent_setup, give):
    service = consent_setup()
    assert give(service, "123456789012").subject_id == "123456789012"


@pytest.fixture
def printed(db, consent_setup, give, operator):
    """A person's history with two linkage records, and the hashes its export printed."""
    service = consent_setup()
    subject = person()
    give(service, subject)
    _ask(db, service, subject)
    _ask(db, service, subject, "広告配信")
    found = history.person_history(db, operator, KUMAMOTO, subject)
    rows = list(csv.reader(io.StringIO(history.history_csv(found).decode("utf-8-sig"))))
    db.commit()
    hashes = {(row[0], int(row[1])): row[-1] for row in rows[1:]}
    assert rows[0][-1] == "記録のハッシュ値" and all(len(h) == 64 for h in hashes.values())
    return hashes


def test_a_printed_record_is_checked_against_its_chain_by_its_hash(app, db, printed):
    linkage_hash = printed[("連携記録", 2)]
    intact = cli(app, "verify", "--record", linkage_hash, role="auditor")
    assert intact.exit_code == 0 and "連携記録 #2 は印字どおり" in intact.output, intact.output
    consent_hash = printed[("同意記録", 1)]
    assert "同意記録 #1 は印字どおり" in cli(app, "verify", "--record", consent_hash.upper()).output
    unknown = cli(app, "verify", "--record", "a" * 64)
    assert unknown.exit_code == 1 and "このハッシュ値の記録はありません" in unknown.output
    assert cli(app, "verify", "--record", "not-a-hash").exit_code != 0
    searched = cli(app, "linkages", role="auditor")  # the linkage search's export carries each hash too
    rows = list(csv.reader(io.StringIO(searched.stdout_bytes.decode("utf-8-sig"))))
    assert rows[0][-1] == "記録のハッシュ値" and {row[-1] for row in rows[1:]} == {
        printed[("連携記録", 1)], printed[("連携記録", 2)]}


def test_a_record_changed_after_it_was_printed_is_named_from_its_printed_hash(app, db, printed):
    with guards_dropped(db) as bind:
        with bind.begin() as connection:
            connection.execute(sa.text("UPDATE linkage_record SET allowed = true WHERE seq = 2"))
        changed = cli(app, "verify", "--record", printed[("連携記録", 2)])
    assert changed.exit_code == 1 and "連携記録 #2 は記録後に変更されています" in changed.output, changed.output


def test_a_record_rewritten_and_rehashed_after_it_was_printed_is_named(app, db, printed):
    row = db.execute(sa.select(LinkageRecord.__table__).where(LinkageRecord.seq == 1)).first()
    forged = {**row._mapping, "purpose": "広告配信"}
    new_hash = chain.entry_hash(forged, LINKAGE_HASHED_FIELDS, row.prev_hash)
    db.commit()
    with guards_dropped(db) as bind:
        with bind.begin() as connection:
            connection.execute(sa.text("UPDATE linkage_record SET purpose = '広告配信', hash = :h WHERE seq = 1"),
                               {"h": new_hash})
        rewritten = cli(app, "verify", "--record", printed[("連携記録", 1)])
    assert rewritten.exit_code == 1 and "連携記録 #1 が印字後に書き換えられています" in rewritten.output, rewritten.output
