"""Advisers (issue 58 item 6): a member's consultations with the secretariat's advisers are refused past the
adviser's hours of the month or on a taken slot, recorded with their outcome, and counted (with their hours)
in the monthly progress report; a member's admin books only for their own member; every act is audited."""

from __future__ import annotations

import datetime as dt
import json

import pytest
import sqlalchemy as sa

from core.actor import Actor
from core.audit import AuditRecord
from core.calendar import JST
from core.errors import Invalid, NotPermitted
from core.lifecycle import IllegalMove
from secretariat import advisers as adv
from secretariat import progress
from secretariat.member_report import parse_period
from tenancy.members.models import MemberStatus, Organisation, OrganisationKind
from tests.conftest import OPERATOR

OURS, THEIRS = "7000012050002", "8000012050001"
OUR_ADMIN = Actor(issuer="urn:test", subject="org-admin-1", name="会員 一郎", roles=frozenset({"org-admin"}),
                  tenant_codes=frozenset({OURS}))


def _member(db, number: str) -> None:
    db.add(Organisation(corporate_number=number, name=f"会員{number[-2:]}株式会社", kind=OrganisationKind.company,
                        prefecture="熊本県", representative="代表 太郎", contact_name="担当 花子",
                        contact_email="m@example.jp", status=MemberStatus.approved))
    db.flush()


@pytest.fixture
def adviser(db) -> adv.Adviser:
    _member(db, OURS)
    _member(db, THEIRS)
    return adv.create_adviser(db, OPERATOR, adv.AdviserDraft(name="山田 太郎", fields="データ連携、個人情報保護",
                                                             monthly_hours=4))


def _book(db, adviser, *, day=10, hour=10, hours=1, number=OURS, actor=OUR_ADMIN, month=6) -> adv.Consultation:
    return adv.book(db, actor, adv.Booking(adviser.id, number, dt.datetime(2026, month, day, hour, tzinfo=JST), hours,
                                           "オープンデータの公開手順"))


def test_a_booking_beyond_the_advisers_hours_of_the_month_is_refused_and_the_next_month_is_fresh(db, adviser):
    _book(db, adviser, day=1, hours=3)
    with pytest.raises(adv.AdviserHoursExceeded) as refused:
        _book(db, adviser, day=2, hours=2)
    assert "残り時間は 4 時間中 1 時間" in refused.value.message_ja
    assert _book(db, adviser, day=2, hours=1).hours == 1  # exactly the 4 hours
    assert _book(db, adviser, day=1, hours=4, month=7).hours == 4  # July has its own 4
    assert adv.booked_hours(db, adviser.id, dt.datetime(2026, 6, 15, tzinfo=JST)) == 4


def test_a_taken_slot_is_refused_and_a_cancelled_one_frees_it(db, adviser):
    first = _book(db, adviser, hour=10, hours=2)
    for hour in (10, 11):
        with pytest.raises(adv.SlotTaken):
            _book(db, adviser, hour=hour)
    assert _book(db, adviser, hour=12).starts_at.astimezone(JST).hour == 12  # right after is free
    adv.record(db, OPERATOR, first.id, held=False, outcome="先方都合により中止")
    assert _book(db, adviser, hour=10).status is adv.ConsultationStatus.booked


def test_the_outcome_is_recorded_once_and_required(db, adviser):
    booked = _book(db, adviser)
    with pytest.raises(Invalid) as empty:
        adv.record(db, OPERATOR, booked.id, held=True, outcome="  ")
    assert empty.value.problems[0]["field"] == "outcome"
    adv.record(db, OPERATOR, booked.id, held=True, outcome="公開手順を確認し、次回までに一覧を作成。")
    assert booked.status is adv.ConsultationStatus.held and booked.outcome.startswith("公開手順")
    with pytest.raises(IllegalMove) as again:  # the lifecycle's table has no move from held
        adv.record(db, OPERATOR, booked.id, held=False, outcome="取消")
    assert isinstance(again.value, adv.AlreadyRecorded) and "「実施済み」として記録済み" in again.value.message_ja
    with pytest.raises(NotPermitted):
        adv.record(db, OUR_ADMIN, booked.id, held=True, outcome="x")
    entry = db.scalars(sa.select(AuditRecord).where(AuditRecord.action == "adviser.consultation.record")).one()
    assert (json.loads(entry.before)["status"], json.loads(entry.after)["status"]) == ("booked", "held")


def test_the_monthly_progress_report_counts_the_consultations_held_that_month_and_their_hours(db, adviser):
    held = [_book(db, adviser, day=3, hours=2), _book(db, adviser, day=30, hour=23, hours=1, actor=OPERATOR)]
    not_held = _book(db, adviser, day=4, hours=1)
    next_month = _book(db, adviser, day=1, hour=0, hours=1, month=7)  # 00:00 JST on 1 July is July's
    for c in held + [next_month]:
        adv.record(db, OPERATOR, c.id, held=True, outcome="助言済み")
    adv.record(db, OPERATOR, not_held.id, held=False, outcome="欠席")
    report = progress.build_report(db, OPERATOR, parse_period("2026-06"), now=dt.datetime(2026, 8, 1, tzinfo=JST))
    assert report.consultations == adv.Held(2, 3)
    summary = dict(progress.sections(report)[0].rows)
    assert summary["当月に実施したアドバイザー相談"] == "2 件（3 時間）"


def test_another_members_admin_cannot_book_for_a_member_not_theirs(db, adviser):
    with pytest.raises(NotPermitted):
        _book(db, adviser, number=THEIRS)
    assert db.scalar(sa.select(sa.func.count(adv.Consultation.id))) == 0
    assert _book(db, adviser, number=THEIRS, actor=OPERATOR).member_number == THEIRS  # the secretariat books for any
    with pytest.raises(NotPermitted):
        adv.consultations(db, OUR_ADMIN, member_number=THEIRS)
    with pytest.raises(NotPermitted):
        adv.create_adviser(db, OUR_ADMIN, adv.AdviserDraft(name="x", fields="y", monthly_hours=1))


def test_the_adviser_is_kept_with_field_errors_and_audited_with_before_and_after(db, adviser):
    with pytest.raises(Invalid) as wrong:
        adv.create_adviser(db, OPERATOR, adv.AdviserDraft(name="", fields="統計", monthly_hours=0))
    assert {p["field"] for p in wrong.value.problems} == {"name", "monthly_hours"}
    adv.update_adviser(db, OPERATOR, adviser.id, adv.AdviserDraft(name="山田 太郎", fields="統計", monthly_hours=6,
                                                                  active=False))
    entry = db.scalars(sa.select(AuditRecord).where(AuditRecord.action == "adviser.update")).one()
    assert json.loads(entry.before)["monthly_hours"] == 4 and json.loads(entry.after) == {"name": "山田 太郎", "fields": "統計",
                                                                   "monthly_hours": 6, "active": False}
    with pytest.raises(Invalid):  # an inactive adviser takes no booking
        _book(db, adviser)
    assert adv.list_advisers(db, OUR_ADMIN) == []


def test_the_api_books_refuses_a_taken_slot_in_both_languages_and_records_the_outcome(open_api, db):
    _member(db, OURS)
    db.commit()
    created = open_api.post("/api/v1/advisers", json={"name": "山田 太郎", "fields": "データ連携", "monthly_hours": 2})
    assert created.status_code == 201, created.get_json()
    body = {"adviser_id": created.get_json()["id"], "member_number": OURS, "starts_at": "2026-06-10T10:00:00",
            "hours": 1, "topic": "API の使い方"}
    booked = open_api.post("/api/v1/consultations", json=body)
    assert booked.status_code == 201 and booked.get_json()["starts_at"].startswith("2026-06-10T10:00:00+09:00")
    taken = open_api.post("/api/v1/consultations", json=body)
    assert taken.status_code == 409 and taken.content_type == "application/problem+json"
    assert "別の相談" in taken.get_json()["detail_ja"] and "another consultation" in taken.get_json()["detail_en"]
    recorded = open_api.post(f"/api/v1/consultations/{booked.get_json()['id']}/record",
                             json={"held": True, "outcome": "認証の手順を説明。"})
    assert recorded.get_json()["status_ja"] == "実施済み"
    twice = open_api.post(f"/api/v1/consultations/{booked.get_json()['id']}/record", json={"held": False, "outcome": "中止"})
    assert twice.status_code == 409 and twice.content_type == "application/problem+json"
    assert "記録済み" in twice.get_json()["detail_ja"] and "recorded already" in twice.get_json()["detail_en"]
    assert "/api/v1/consultations" in open_api.get("/api/v1/openapi.json").get_json()["paths"]


def test_the_page_keeps_what_was_typed_beside_a_refusal_and_asks_before_recording(client, db):
    from tests.conftest import sign_in
    csrf = "a" * 32
    _member(db, OURS)
    db.commit()
    sign_in(client, csrf=csrf)
    added = client.post("/admin/advisers/advisers", data={"csrf_token": csrf, "name": "山田 太郎", "fields": "データ連携",
                                                          "monthly_hours": "2", "active": "y"})
    assert added.status_code == 302
    [adviser] = adv.list_advisers(db, OPERATOR)
    page = client.get("/admin/advisers/").get_data(as_text=True)
    assert f'<option value="{OURS}">会員02株式会社（{OURS}）</option>' in page  # the desk picks the member by name
    form = {"csrf_token": csrf, "adviser_id": str(adviser.id), "member_number": OURS, "starts_at": "2026-06-10T10:00",
            "hours": "3", "topic": "統計データの公開"}
    refused = client.post("/admin/advisers/consultations", data=form)
    html = refused.get_data(as_text=True)
    assert refused.status_code == 422 and "その月の残りは 2 時間です" in html and 'value="統計データの公開"' in html
    assert client.post("/admin/advisers/consultations", data={**form, "hours": "2"}).status_code == 302
    [booked] = adv.consultations(db, OPERATOR)
    empty = client.post(f"/admin/advisers/consultations/{booked.id}/record", data={"csrf_token": csrf, "held": "0",
                                                                                  "outcome": "  "})
    html = empty.get_data(as_text=True)  # beside the field, the choice kept; not asked first, nothing recorded
    assert empty.status_code == 422 and f'id="outcome-{booked.id}-error"' in html and "結果（中止の場合はその理由）を入力してください" in html
    assert '<option value="0" selected>' in html and "後から変更できません" not in html
    assert booked.status is adv.ConsultationStatus.booked
    record = {"csrf_token": csrf, "held": "1", "outcome": "公開範囲を整理"}
    asked = client.post(f"/admin/advisers/consultations/{booked.id}/record", data=record)
    assert "後から変更できません" in asked.get_data(as_text=True) and booked.status is adv.ConsultationStatus.booked
    client.post(f"/admin/advisers/consultations/{booked.id}/record", data={**record, "confirmed": "1"})
    db.expire_all()
    assert db.get(adv.Consultation, booked.id).status is adv.ConsultationStatus.held
    assert "公開範囲を整理" in client.get("/admin/advisers/").get_data(as_text=True)


def test_the_desk_changes_an_adviser_on_its_page_with_what_was_typed_kept_and_the_change_audited(client, db, adviser):
    from tests.conftest import sign_in
    csrf = "b" * 32
    db.commit()
    sign_in(client, csrf=csrf)
    url = f"/admin/advisers/advisers/{adviser.id}/edit"
    page = client.get(url).get_data(as_text=True)
    assert 'value="データ連携、個人情報保護"' in page and 'value="4"' in page
    form = {"csrf_token": csrf, "name": "山田 太郎", "fields": "統計、オープンデータ", "monthly_hours": "0"}
    wrong = client.post(url, data=form)
    html = wrong.get_data(as_text=True)
    assert wrong.status_code == 422 and 'id="monthly_hours-error"' in html and 'value="統計、オープンデータ"' in html
    assert client.post(url, data={**form, "monthly_hours": "6"}).status_code == 302  # "active" left unticked
    db.expire_all()
    entry = db.scalars(sa.select(AuditRecord).where(AuditRecord.action == "adviser.update")).one()
    assert (json.loads(entry.before)["fields"], json.loads(entry.before)["active"]) == ("データ連携、個人情報保護", True)
    assert json.loads(entry.after) == {"name": "山田 太郎", "fields": "統計、オープンデータ", "monthly_hours": 6, "active": False}
    sign_in(client, ["org-admin"], [OURS], csrf=csrf)
    assert client.get(url).status_code == 403
    own = client.get("/admin/advisers/").get_data(as_text=True)  # a member's admin books for their own member only
    assert f'<option value="{OURS}">' in own and THEIRS not in own
