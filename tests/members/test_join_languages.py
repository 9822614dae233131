"""The public application form (/join/) is Japanese by default and English with the language switch
(?lang=en, remembered), its problems shown beside the fields in the reader's language."""

from __future__ import annotations

import re

from tests.members.conftest import NTA


def _csrf(client) -> str:
    with client.session_transaction() as session:
        return session["csrf"]


def test_japanese_by_default_with_a_switch_to_english(client):
    page = client.get("/join/").get_data(as_text=True)
    assert '<html lang="ja">' in page and "法人番号（13桁）" in page and "申請する" in page
    assert re.search(r'href="[^"]*lang=en"[^>]*>English<', page)
    english = client.get("/join/?lang=en").get_data(as_text=True)
    assert '<html lang="en">' in english
    assert "Corporate number (13 digits)" in english and "Contact person's e-mail address" in english
    assert "法人番号（13桁）" not in english and ">Company<" in english  # the kinds too
    assert "Corporate number (13 digits)" in client.get("/join/").get_data(as_text=True)  # remembered


def test_an_english_reader_gets_the_problems_in_english(client):
    client.get("/join/?lang=en")
    wrong = client.post("/join/", data={"csrf_token": _csrf(client), "corporate_number": "1" + NTA[1:],
                                        "name": "Kumamoto Data Inc.", "kind": "company", "prefecture": "熊本県",
                                        "representative": "Taro", "contact_name": "Hanako",
                                        "contact_email": "not-an-address"})
    assert wrong.status_code == 422
    text = wrong.get_data(as_text=True)
    assert "Check digit of corporate number" in text and NTA in text  # beside the field, the right number named
    assert "is not an e-mail address" in text
    assert "検査用数字" not in text
    assert 'value="Kumamoto Data Inc."' in text  # nothing typed is lost


def test_the_confirmation_pages_speak_english_too(client, db):
    client.get("/join/?lang=en")
    done = client.post("/join/", data={"csrf_token": _csrf(client), "corporate_number": NTA, "name": "Kumamoto Data Inc.",
                                       "kind": "company", "prefecture": "熊本県", "representative": "Taro",
                                       "contact_name": "Hanako", "contact_email": "apply@example.jp"})
    assert done.status_code == 200 and "We sent a confirmation link to apply@example.jp" in done.get_data(as_text=True)
    failed = client.get("/join/confirm/not-a-token")
    assert failed.status_code == 404 and "The link could not be confirmed" in failed.get_data(as_text=True)


def test_an_english_applicant_is_mailed_in_english_and_the_link_opens_in_english(app, client, db):
    import sqlalchemy as sa

    from core.outbox import Notification

    client.get("/join/?lang=en")
    client.post("/join/", data={"csrf_token": _csrf(client), "corporate_number": NTA, "name": "Kumamoto Data Inc.",
                                "kind": "company", "prefecture": "熊本県", "representative": "Taro",
                                "contact_name": "Hanako", "contact_email": "apply@example.jp"})
    mail = db.scalars(sa.select(Notification).where(Notification.kind == "member.confirm_email")).one()
    assert mail.subject.startswith("Membership application: please confirm your e-mail address")
    assert mail.body.startswith("Dear Hanako (Kumamoto Data Inc.)")
    assert "入会申請を受け付けました" in mail.body  # the Japanese follows
    link = re.search(r"https?://\S+/join/confirm/\S+", mail.body).group(0)
    assert link.endswith("lang=en")
    other_browser = app.test_client()  # the mail is opened elsewhere: no session, no remembered language
    confirmed = other_browser.get(link.split("renkei.test", 1)[1])
    text = confirmed.get_data(as_text=True)
    assert confirmed.status_code == 200 and '<html lang="en">' in text and "Kumamoto Data Inc." in text


def test_a_japanese_applicant_is_mailed_in_japanese_only(client, db):
    import sqlalchemy as sa

    from core.outbox import Notification

    client.get("/join/")
    client.post("/join/", data={"csrf_token": _csrf(client), "corporate_number": NTA, "name": "熊本データ株式会社",
                                "kind": "company", "prefecture": "熊本県", "representative": "熊本太郎",
                                "contact_name": "熊本花子", "contact_email": "apply@example.jp"})
    mail = db.scalars(sa.select(Notification).where(Notification.kind == "member.confirm_email")).one()
    assert mail.subject == "【入会申請】メールアドレスの確認をお願いします"
    assert "Dear" not in mail.body and "lang=" not in mail.body
