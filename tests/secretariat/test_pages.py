"""The desk's pages in Japanese: a refused inquiry keeps what was typed with the problem beside the field; a
reply shows on the inquiry and is queued; an overdue inquiry shows on the operator's home page; the public
inquiry form's CSRF, honeypot and limit; events from creation to registration and the waiting list."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from core.calendar import JST, UTC
from core.outbox import Notification
from secretariat import events as ev
from secretariat import inquiries as inq
from tests.conftest import OPERATOR, sign_in

CSRF = "desk-csrf"


def _operator(client):
    sign_in(client, ["platform-operator"], ["430005"], subject="operator-1", name="県 運営者", csrf=CSRF)


def _public_csrf(client) -> str:
    client.get("/inquiry/")
    with client.session_transaction() as session:
        return session["csrf"]


def test_a_refused_inquiry_keeps_the_input_and_names_the_field(client, db):
    _operator(client)
    page = client.post("/admin/inquiries/record", data={
        "csrf_token": CSRF, "inquirer_kind": "member", "channel": "phone", "category": "joining", "subject": "入会の件",
        "question": "書類は？", "email": "not-an-address", "member_number": "8000012050001"})
    html = page.get_data(as_text=True)
    assert "入会の件" in html and "書類は？" in html  # kept
    assert 'id="email-error"' in html and 'id="member_number-error"' in html and "会員の法人番号が見つかりません" in html
    assert db.scalar(sa.select(sa.func.count(inq.Inquiry.id))) == 0


def test_a_reply_from_the_page_is_on_the_inquiry_and_in_the_outbox(client, db):
    _operator(client)
    done = client.post("/admin/inquiries/record", data={
        "csrf_token": CSRF, "inquirer_kind": "resident", "channel": "mail", "category": "personal_data",
        "subject": "同意の撤回", "question": "撤回の方法は？", "email": "r@example.jp", "inquirer_name": "住民 一"})
    assert done.status_code == 302
    inquiry = db.scalar(sa.select(inq.Inquiry))
    client.post(f"/admin/inquiries/{inquiry.id}/reply", data={"csrf_token": CSRF, "body": "窓口で撤回できます。"})
    page = client.get(f"/admin/inquiries/{inquiry.id}").get_data(as_text=True)
    assert "窓口で撤回できます。" in page and "回答済" in page
    assert db.scalar(sa.select(Notification.recipients).where(Notification.kind == "inquiry.reply")) == "r@example.jp"


def test_an_overdue_inquiry_shows_on_the_operators_home_page(client, db):
    received = dt.datetime.now(UTC) - dt.timedelta(days=30)
    late = inq.record_inquiry(db, OPERATOR, inq.InquiryDraft("resident", "phone", "fault", "API が応答しない", "障害です"),
                              now=received)
    on_time = inq.record_inquiry(db, OPERATOR, inq.InquiryDraft("resident", "phone", "other", "期限内の問合せ", "質問"))
    db.commit()
    _operator(client)
    home = client.get("/admin/").get_data(as_text=True)
    assert "回答期限を過ぎた問合せ" in home and "API が応答しない" in home
    assert f"/admin/inquiries/{late.id}" in home and "期限内の問合せ" not in home
    listed = client.get("/admin/inquiries/?overdue=1").get_data(as_text=True)
    assert "API が応答しない" in listed and "期限超過" in listed and on_time.subject not in listed


def test_the_public_form_needs_its_token_refuses_a_robot_and_keeps_a_refused_input(client, db, app):
    fields = {"inquirer_kind": "resident", "category": "technical", "subject": "API", "question": "認証は？",
              "inquirer_name": "住民 二", "email": "two@example.jp"}
    assert client.post("/inquiry/", data=fields).status_code == 400  # no CSRF token
    token = _public_csrf(client)
    assert client.post("/inquiry/", data={**fields, "csrf_token": token, "website": "http://spam"}).status_code == 400
    wrong = client.post("/inquiry/", data={**fields, "csrf_token": token, "email": "two"})
    assert wrong.status_code == 422 and 'id="email-error"' in wrong.get_data(as_text=True)
    assert "認証は？" in wrong.get_data(as_text=True)
    done = client.post("/inquiry/", data={**fields, "csrf_token": token})
    assert done.status_code == 200 and "受付番号" in done.get_data(as_text=True)
    assert db.scalar(sa.select(inq.Inquiry.channel)) is inq.Channel.web_form
    app.config["RENKEI_PUBLIC_FORM_HOURLY_LIMIT"] = 1
    try:
        assert client.post("/inquiry/", data={**fields, "csrf_token": token}).status_code == 429
    finally:
        app.config["RENKEI_PUBLIC_FORM_HOURLY_LIMIT"] = 5


def test_a_seminar_from_its_page_to_the_waiting_list_and_back(client, db):
    _operator(client)
    starts = (dt.datetime.now(JST) + dt.timedelta(days=14)).replace(hour=14, minute=0, second=0, microsecond=0)
    refused = client.post("/admin/events/create", data={
        "csrf_token": CSRF, "kind": "member_seminar", "audience": "anyone", "title": "DX 事例セミナー",
        "starts_at": starts.strftime("%Y-%m-%dT%H:%M"), "ends_at": starts.strftime("%Y-%m-%dT%H:%M"), "capacity": "1",
        "place": "県庁"})
    assert 'id="ends_at-error"' in refused.get_data(as_text=True) and "DX 事例セミナー" in refused.get_data(as_text=True)
    created = client.post("/admin/events/create", data={
        "csrf_token": CSRF, "kind": "member_seminar", "audience": "anyone", "title": "DX 事例セミナー",
        "starts_at": starts.strftime("%Y-%m-%dT%H:%M"),
        "ends_at": (starts + dt.timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M"), "capacity": "1", "place": "県庁"})
    assert created.status_code == 302
    event = db.scalar(sa.select(ev.Event))
    assert event.starts_at == starts.astimezone(UTC)
    public = client.get("/events/").get_data(as_text=True)
    assert "DX 事例セミナー" in public
    with client.session_transaction() as session:
        token = session["csrf"]
    for n in (1, 2):
        client.post(f"/events/{event.id}", data={"csrf_token": token, "name": f"参加 {n}", "email": f"{n}@example.jp"})
    page = client.get(f"/admin/events/{event.id}").get_data(as_text=True)
    assert "参加登録済み" in page and "キャンセル待ち" in page
    first = db.scalar(sa.select(ev.EventRegistration).order_by(ev.EventRegistration.id))
    client.post(f"/admin/events/registrations/{first.id}/cancel", data={"csrf_token": CSRF, "event_id": str(event.id)})
    db.expire_all()
    statuses = [r.status for r in db.scalars(sa.select(ev.EventRegistration).order_by(ev.EventRegistration.id))]
    assert statuses == [ev.R.cancelled, ev.R.registered]
    year = client.get("/admin/events/").get_data(as_text=True)
    assert "年度の目標と実績" in year and "会員セミナー" in year


def test_municipal_staff_register_signed_in_for_staff_training_only(client, db):
    starts = dt.datetime.now(UTC) + dt.timedelta(days=10)
    for kind, audience, title in (("staff_training", "staff", "操作研修"), ("member_seminar", "members", "会員限定セミナー")):
        ev.create_event(db, OPERATOR, ev.EventDraft(kind, title, starts, starts + dt.timedelta(hours=2), 20, audience,
                                                    place="県庁"))
    db.commit()
    sign_in(client, ["municipal-staff"], ["431001"], subject="staff-9", name="市 職員", csrf=CSRF)
    page = client.get("/admin/my-events/").get_data(as_text=True)
    assert "操作研修" in page and "会員限定セミナー" not in page
    training = db.scalar(sa.select(ev.Event).where(ev.Event.title == "操作研修"))
    client.post(f"/admin/my-events/{training.id}/register", data={"csrf_token": CSRF, "name": "市 職員",
                                                                  "email": "staff9@example.jp"})
    assert "参加登録済み" in client.get("/admin/my-events/").get_data(as_text=True)
    assert client.get("/admin/inquiries/").status_code == 403
