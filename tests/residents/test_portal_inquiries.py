"""「データの使われ方について問い合わせる」 (issue 56 item 6): a signed-in resident asks the desk about a service linked to
them (or 「その他・わからない」); the inquiry is the municipality's, personal data, due in the desk's business days, and
names the service but never the resident to the secretariat; the resident sees its status and the answer; nobody
else does; a bad form comes back with the error beside the field and what was typed."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from core.actor import Actor
from core.audit import AuditRecord
from core.calendar import add_business_days
from residents import data_inquiries
from residents.models import ResidentInquiry
from secretariat import inquiries as inq
from tenancy.registry.prefecture import office_closed_days
from tests.conftest import OPERATOR, sign_in
from tests.residents.conftest import KUMAMOTO, YATSUSHIRO
from tests.residents.test_portal_records import ME, SOMEONE_ELSE, signed_in, story  # noqa: F401  (the fixture)

QUESTION = "くらしナビに住所が渡っているのはなぜですか。"


def _csrf(client) -> str:
    with client.session_transaction() as session:
        session["csrf"] = "token"
    return "token"


def _ask(client, service: str, question: str = QUESTION, csrf: bool = True):
    data = {"service": service, "question": question}
    if csrf:
        data["csrf_token"] = _csrf(client)
    return client.post("/portal/inquiries", data=data)


def _inquiries(db) -> list[inq.Inquiry]:
    db.expire_all()
    return list(db.scalars(sa.select(inq.Inquiry)))


def test_a_question_about_a_linked_service_opens_a_personal_data_inquiry_of_my_municipality_due_in_business_days(
        app, client, db, story):
    signed_in(client, story["me"])
    form = client.get("/portal/inquiries").get_data(as_text=True)
    picker = form.split('id="service"', 1)[1].split("</select>", 1)[0]
    assert "データの使われ方について問い合わせる" in form
    assert "くらしナビ" in picker and "その他・わからない" in picker and "健康ポイント" not in picker  # its link was split
    answer = _ask(client, str(story["navi"].id))
    assert answer.status_code == 302 and "/portal/inquiries" in answer.headers["Location"]
    [inquiry] = _inquiries(db)
    assert inquiry.tenant_code == KUMAMOTO and inquiry.category is inq.Category.personal_data
    assert inquiry.channel is inq.Channel.portal and inquiry.inquirer_kind is inq.InquirerKind.resident
    assert "くらしナビ" in inquiry.subject and inquiry.question == QUESTION
    assert inquiry.due_on == add_business_days(inquiry.received_on, 3, office_closed_days(db))
    asked = db.scalars(sa.select(ResidentInquiry)).one()
    assert (asked.resident_id, asked.service_id, asked.inquiry_id) == (story["me"].id, story["navi"].id, inquiry.id)
    record = db.scalars(sa.select(AuditRecord).where(AuditRecord.action == "resident.data_inquiry")).one()
    assert record.target_id == story["me"].common_id and record.tenant_code == KUMAMOTO
    assert "住民本人" in record.actor_name and QUESTION not in (record.after or "")
    page = client.get(answer.headers["Location"]).get_data(as_text=True)
    assert f"受付番号 {inquiry.id}" in page
    assert 'id="sent"' not in client.get(f"/portal/inquiries?sent={inquiry.id + 1}").get_data(as_text=True)  # not mine


def test_i_see_my_question_its_status_and_the_desks_answer_and_another_resident_does_not(app, client, db, story):
    signed_in(client, story["me"])
    _ask(client, str(story["navi"].id))
    [inquiry] = _inquiries(db)
    mine = client.get("/portal/inquiries").get_data(as_text=True).split('id="asked"', 1)[1]
    assert QUESTION in mine and "受付済" in mine and "くらしナビ" in mine
    inq.reply(db, OPERATOR, inquiry.id, "本人が許可した項目だけを提供しています。")
    db.commit()
    mine = client.get("/portal/inquiries").get_data(as_text=True).split('id="asked"', 1)[1]
    assert "回答済" in mine and "本人が許可した項目だけを提供しています。" in mine
    assert "Answered" in client.get("/portal/inquiries?lang=en").get_data(as_text=True)
    signed_in(client, story["other"])
    theirs = client.get("/portal/inquiries").get_data(as_text=True)
    assert QUESTION not in theirs and "本人が許可した項目" not in theirs and f'id="inquiry-{inquiry.id}"' not in theirs
    assert data_inquiries.my_inquiries(db, story["other"]) == []


def test_other_or_i_do_not_know_opens_an_inquiry_naming_no_service(app, client, db, story):
    signed_in(client, story["me"])
    assert _ask(client, data_inquiries.OTHER).status_code == 302
    [inquiry] = _inquiries(db)
    assert "その他・わからない" in inquiry.subject
    assert db.scalars(sa.select(ResidentInquiry)).one().service_id is None


def test_a_service_not_linked_to_me_is_refused_beside_the_field_and_nothing_is_sent(app, client, db, story):
    signed_in(client, story["me"])
    answer = _ask(client, str(story["health"].id))  # linked once, split as wrong: not mine now
    page = answer.get_data(as_text=True)
    assert answer.status_code == 422
    assert "連携しているサービス" in page.split('id="service-error"', 1)[1].split("</p>", 1)[0]
    assert QUESTION in page.split('id="question"', 1)[1].split("</textarea>", 1)[0]  # what was typed is kept
    assert _inquiries(db) == [] and db.scalars(sa.select(ResidentInquiry)).all() == []


def test_an_over_long_question_is_a_field_error_with_the_limit_not_a_500(app, client, db, story):
    signed_in(client, story["me"])
    typed = "あ" * (data_inquiries.QUESTION_MAX + 1)
    answer = _ask(client, str(story["navi"].id), typed)
    page = answer.get_data(as_text=True)
    assert answer.status_code == 422
    assert "2000 文字以内" in page.split('id="question-error"', 1)[1].split("</p>", 1)[0]
    assert typed in page and f'value="{story["navi"].id}" selected' in page
    assert _inquiries(db) == []
    english = client.post("/portal/inquiries?lang=en", data={"csrf_token": _csrf(client), "service": str(story["navi"].id),
                                                              "question": typed}).get_data(as_text=True)
    assert "longer than 2000 characters" in english.split('id="question-error"', 1)[1].split("</p>", 1)[0]


def test_a_form_without_its_token_is_refused_and_records_nothing(app, client, db, story):
    signed_in(client, story["me"])
    assert _ask(client, str(story["navi"].id), csrf=False).status_code == 400
    assert _inquiries(db) == []


def test_a_visitor_who_is_not_signed_in_is_sent_to_sign_in(app, client, db, story):
    assert client.get("/portal/inquiries").status_code == 302
    assert _ask(client, str(story["navi"].id)).status_code == 302 and _inquiries(db) == []


def test_the_secretariat_sees_the_service_but_never_who_the_resident_is(app, client, db, story):
    signed_in(client, story["me"])
    _ask(client, str(story["navi"].id))
    [inquiry] = _inquiries(db)
    sign_in(client)  # the operator: inquiry.read, no resident.read
    listed = client.get("/admin/inquiries/?category=personal_data").get_data(as_text=True)
    assert "くらしナビ" in listed.split('class="portal-service"', 1)[1].split("</small>", 1)[0]
    detail = client.get(f"/admin/inquiries/{inquiry.id}").get_data(as_text=True)
    assert "くらしナビ" in detail.split('id="portal-service"', 1)[1].split("</dd>", 1)[0]
    for page in (listed, detail):
        assert story["me"].common_id not in page and ME not in page and "水前寺" not in page and "1980" not in page
    # one who may see 熊本市's residents is shown the common ID (never the 基本4情報: those are looked up with a reason)
    desk_too = Actor(issuer="urn:test", subject="both", name="窓口兼務", roles=frozenset({"platform-operator", "resident-desk"}),
                     tenant_codes=frozenset({KUMAMOTO}))
    assert data_inquiries.facts_of(db, desk_too, inquiry.id).common_id == story["me"].common_id
    assert data_inquiries.facts_of(db, OPERATOR, inquiry.id).common_id is None
    other_city = Actor(issuer="urn:test", subject="yatsushiro", name="八代", roles=frozenset({"resident-desk"}),
                       tenant_codes=frozenset({YATSUSHIRO}))
    assert data_inquiries.facts_of(db, other_city, inquiry.id).common_id is None


def test_the_secretariat_cannot_record_a_portal_inquiry_by_hand(app, db):
    draft = inq.InquiryDraft(inquirer_kind="resident", channel="portal", category="personal_data", subject="件名",
                             question="本文")
    with pytest.raises(inq.InquiryInvalid) as refused:
        inq.record_inquiry(db, OPERATOR, draft)
    assert [p["field"] for p in refused.value.problems] == ["channel"]
    assert _inquiries(db) == []


def test_my_questions_and_their_answers_are_in_my_download(app, client, db, story):
    signed_in(client, story["me"])
    _ask(client, str(story["navi"].id))
    [inquiry] = _inquiries(db)
    inq.reply(db, OPERATOR, inquiry.id, "案内の送付先にだけ使っています。")
    db.commit()
    [asked] = client.get("/portal/data.json").get_json()["inquiries"]
    assert (asked["id"], asked["service"], asked["question"], asked["status"]) == (inquiry.id, "くらしナビ", QUESTION, "回答済")
    assert asked["answers"][0].endswith("案内の送付先にだけ使っています。")
    sheet = client.get("/portal/data.csv").data.decode("utf-8-sig")
    assert "データの使われ方の問い合わせ / question about your data" in sheet and QUESTION in sheet
    signed_in(client, story["other"])
    assert client.get("/portal/data.json").get_json()["inquiries"] == []


def test_a_question_asked_under_a_common_id_later_merged_into_mine_stays_mine(app, client, db, story):
    from admin.resident_keys import keyring
    from residents import operations as residents, recovery
    from residents.portal import resident_actor
    from tests.residents.conftest import desk, person
    from tests.residents.test_portal_records import second_desk

    enrolment = residents.enrol(db, desk(), keyring(), person(full_name="高橋　太郎"))  # me again, decided another person
    residents.decide_review(db, desk(), KUMAMOTO, enrolment.review.id, False, "別人と判断")
    db.commit()
    second = enrolment.resident
    data_inquiries.ask(db, resident_actor(db, second.id, "mynumber-card"), second, data_inquiries.OTHER, QUESTION)
    db.commit()
    assert data_inquiries.my_inquiries(db, story["me"]) == []
    proposal = recovery.propose_merge(db, desk(), KUMAMOTO, story["me"].common_id, second.common_id, "同一人物の二重登録")
    db.commit()
    recovery.approve(db, second_desk(), KUMAMOTO, proposal.id, "券面で確認")
    db.commit()
    assert [row.question for row in data_inquiries.my_inquiries(db, story["me"])] == [QUESTION]
    assert data_inquiries.my_inquiries(db, story["other"]) == []
