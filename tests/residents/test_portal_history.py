"""What the resident sees of their own record (renkei issue 50 item 5): each look-up by municipal staff (who by
name, municipality, when, why; nobody else's), each service's request in words (purpose, asked, given, refused),
their 基本4情報 on screen, a dispute that opens an inquiry naming the record, and the audit log (where the
look-ups live) kept at least as long as the linkage records."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from admin.resident_keys import keyring
from core.actor import Actor
from core.audit import AuditRecord
from core.errors import Invalid, NotFound
from governance import audit_export
from residents import data_inquiries, operations as residents, portal_history
from residents.consent.check import consent_check
from residents.models import ResidentNotice
from secretariat.inquiries import Category, InquirerKind, Inquiry
from tests.consent.conftest import BROKER
from tests.residents.conftest import KUMAMOTO, desk
from tests.residents.test_portal_records import ME, SOMEONE_ELSE, signed_in, story  # noqa: F401  (the fixture)


def staff(name: str = "熊本 窓口子", subject: str = "kc-0f3a9c1e-desk") -> Actor:
    return Actor(issuer="urn:test", subject=subject, name=name, roles=frozenset({"resident-desk"}),
                 tenant_codes=frozenset({KUMAMOTO}))


def look_up(db, resident, reason: str, actor: Actor | None = None) -> None:
    residents.look_up(db, actor or staff(), keyring(), KUMAMOTO, reason=reason, common_id=resident.common_id)
    db.commit()


def _csrf(client) -> str:
    with client.session_transaction() as session:
        session["csrf"] = "token"
    return "token"


# --- the desk's look-ups --------------------------------------------------------------------------

def test_each_desk_look_up_of_me_is_listed_by_name_municipality_and_reason_and_nobody_else_s(app, db, story):
    look_up(db, story["me"], "転入届の確認のため")
    look_up(db, story["other"], "他人の用件")
    residents.search_by_name(db, staff("天草 次郎", "kc-77aa"), keyring(), KUMAMOTO, reason="電話での本人確認", full_name=ME)
    db.commit()
    found = portal_history.desk_lookups(db, story["me"])
    assert [(row.who, row.municipality, row.reason) for row in found] == [
        ("天草 次郎", "熊本市", "電話での本人確認"), ("熊本 窓口子", "熊本市", "転入届の確認のため")]
    assert all(row.at for row in found)
    english = portal_history.desk_lookups(db, story["me"], "en")
    assert english[0].municipality == "Kumamoto"


def test_a_look_up_recorded_without_a_name_never_shows_the_staff_member_s_id(app, db, story):
    look_up(db, story["me"], "住所変更の確認", staff(name="", subject="kc-5e1d-unnamed"))
    [row] = portal_history.desk_lookups(db, story["me"])
    assert row.who == "市町村の職員" and "kc-5e1d" not in repr(row)


def test_the_lookups_page_shows_who_municipality_when_and_why_in_japanese_and_english(app, client, db, story):
    look_up(db, story["me"], "転入届の確認のため")
    signed_in(client, story["me"])
    page = client.get("/portal/lookups").get_data(as_text=True)
    assert "窓口での閲覧の記録" in page and "熊本 窓口子" in page and "熊本市" in page and "転入届の確認のため" in page
    assert "kc-0f3a9c1e" not in page and '"reason"' not in page  # no Keycloak id, no raw audit JSON
    english = client.get("/portal/lookups?lang=en").get_data(as_text=True)
    assert "Who looked you up" in english and "Kumamoto" in english and "Reason given" in english


def test_the_lookups_page_is_for_the_signed_in_resident_only(app, client, db, story):
    assert client.get("/portal/lookups").status_code == 302


# --- the services' requests -----------------------------------------------------------------------

def test_each_request_shows_its_purpose_the_items_asked_given_and_refused(app, client, db, story):
    residents.set_disclosure(db, desk(), KUMAMOTO, story["me"].common_id,
                             {"service_id": story["navi"].id, "items": ["氏名"], "reason": "本人の申出"})
    db.commit()
    consent_check(db, BROKER, {"service_id": story["navi"].id, "tenant_code": KUMAMOTO, "subject_id": "navi-0001",
                               "items": ["氏名", "住所"], "purpose": "行政サービスの案内"})
    db.commit()
    signed_in(client, story["me"])
    page = client.get("/portal/history").get_data(as_text=True)
    newest = page.split('id="history"', 1)[1].split("<li>")[1]
    assert "行政サービスの案内" in newest and "氏名、住所" in newest
    given = newest.split('class="request-given"', 1)[1].split("</dd>")[0]
    refused = newest.split('class="request-refused"', 1)[1].split("</dd>")[0]
    assert "なし" in given and "氏名、住所" in refused and "本人が提供を許可していない" in newest
    allowed = page.split('id="history"', 1)[1].split("<li>")[2]
    assert "氏名" in allowed.split('class="request-given"', 1)[1].split("</dd>")[0]
    english = client.get("/portal/history?lang=en").get_data(as_text=True)
    assert "Items refused" in english and "name, address" not in english and "name、address" in english


# --- the resident's own items ---------------------------------------------------------------------

def test_my_items_are_on_screen_for_me_and_nobody_else_s(app, client, db, story):
    signed_in(client, story["me"])
    page = client.get("/portal/data").get_data(as_text=True)
    table = page.split('id="own-items"', 1)[1].split("</table>", 1)[0]
    assert ME in table and "熊本県熊本市中央区水前寺六丁目18番1号" in table and "1980-04-01" in table and "男" in table
    assert SOMEONE_ELSE not in page
    assert "Date of birth" not in page and "生年月日" in table
    english = client.get("/portal/data?lang=en").get_data(as_text=True)
    assert "date of birth" in english and "Male" in english


def test_my_items_are_not_shown_to_a_visitor_who_is_not_signed_in(app, client, db, story):
    answer = client.get("/portal/data")
    assert answer.status_code == 302 and ME not in answer.get_data(as_text=True)


# --- disputing a record ---------------------------------------------------------------------------

def _lookup_ref(db, story) -> str:
    look_up(db, story["me"], "転入届の確認のため")
    return f"lookup-{portal_history.desk_lookups(db, story['me'])[0].seq}"


def test_a_dispute_opens_an_inquiry_naming_the_record_and_i_see_it_was_sent(app, client, db, story):
    ref = _lookup_ref(db, story)
    signed_in(client, story["me"])
    form = client.get(f"/portal/dispute?record={ref}").get_data(as_text=True)
    assert "窓口での閲覧の記録（番号" in form and 'name="text"' in form
    answer = client.post("/portal/dispute", data={"csrf_token": _csrf(client), "record": ref,
                                                  "text": "この日は窓口に行っていません。"})
    assert answer.status_code == 302 and "/portal/dispute/sent" in answer.headers["Location"]
    inquiry = db.scalars(sa.select(Inquiry)).one()
    assert inquiry.category is Category.personal_data and inquiry.inquirer_kind is InquirerKind.resident
    assert ref in inquiry.question and "窓口での閲覧の記録" in inquiry.subject and inquiry.tenant_code == KUMAMOTO
    assert "この日は窓口に行っていません。" in inquiry.question
    # the desk's text never names the resident: the resident_inquiry row ties the inquiry to them
    assert story["me"].common_id not in inquiry.question + inquiry.subject + (inquiry.inquirer_name or "")
    assert [row.number for row in data_inquiries.my_inquiries(db, story["me"])] == [inquiry.id]
    sent = client.get(answer.headers["Location"]).get_data(as_text=True)
    assert f"受付番号：{inquiry.id}" in sent
    notice = db.scalars(sa.select(ResidentNotice).where(ResidentNotice.kind == "resident.dispute")).one()
    assert notice.resident_id == story["me"].id and str(inquiry.id) in notice.body_ja
    assert "異議を申し立てました" in client.get("/portal/lookups").get_data(as_text=True)
    audited = db.scalars(sa.select(AuditRecord).where(AuditRecord.action == "resident.dispute")).one()
    assert "行っていません" not in audited.after  # the text goes to the inquiry, not the log


def test_a_linkage_record_of_mine_can_be_disputed(app, client, db, story):
    signed_in(client, story["me"])
    answer = client.post("/portal/dispute", data={"csrf_token": _csrf(client), "record": f"linkage-{story['mine'][0]}",
                                                  "text": "依頼した覚えがありません。"})
    assert answer.status_code == 302
    assert f"linkage-{story['mine'][0]}" in db.scalars(sa.select(Inquiry.question)).one()


@pytest.mark.parametrize("text, message", [("", "異議の内容を入力してください。"), ("   ", "異議の内容を入力してください。"),
                                           ("あ" * 2001, "異議の内容は 2000 文字以内にしてください。")])
def test_an_empty_or_over_long_dispute_returns_the_form_with_the_error_beside_the_field(app, client, db, story, text,
                                                                                       message):
    ref = _lookup_ref(db, story)
    signed_in(client, story["me"])
    answer = client.post("/portal/dispute", data={"csrf_token": _csrf(client), "record": ref, "text": text})
    page = answer.get_data(as_text=True)
    assert answer.status_code == 422
    beside = page.split('id="text-error"', 1)[1].split("</p>", 1)[0]
    assert message in beside and 'aria-invalid="true"' in page and 'href="#text"' in page
    if text.strip():
        assert text in page  # what was typed is kept
    assert db.scalar(sa.select(sa.func.count()).select_from(Inquiry)) == 0


@pytest.mark.parametrize("record", ["lookup-abc", "linkage-", "other-1", "lookup-99999999999999999999999", ""])
def test_a_record_that_is_not_mine_or_not_a_record_is_not_found_never_a_500(app, client, db, story, record):
    signed_in(client, story["me"])
    assert client.get(f"/portal/dispute?record={record}").status_code == 404
    answer = client.post("/portal/dispute", data={"csrf_token": _csrf(client), "record": record, "text": "誤りです"})
    assert answer.status_code == 404 and "該当するあなたの記録は見つかりません" in answer.get_data(as_text=True)


def test_someone_else_s_records_cannot_be_disputed(app, client, db, story):
    look_up(db, story["other"], "他人の用件")
    other_lookup = portal_history.desk_lookups(db, story["other"])[0].seq
    signed_in(client, story["me"])
    for record in (f"lookup-{other_lookup}", f"linkage-{story['others'][1]}"):
        answer = client.post("/portal/dispute", data={"csrf_token": _csrf(client), "record": record, "text": "誤りです"})
        assert answer.status_code == 404
    with pytest.raises(NotFound):
        portal_history.disputed_record(db, story["me"], f"lookup-{other_lookup}")


def test_a_dispute_needs_the_form_s_token(app, client, db, story):
    ref = _lookup_ref(db, story)
    signed_in(client, story["me"])
    assert client.post("/portal/dispute", data={"record": ref, "text": "誤りです"}).status_code == 400


# --- the look-up history is kept as long as the linkage records ------------------------------------

def test_the_audit_log_cannot_be_purged_sooner_than_the_linkage_records_are_kept(app, db, story, tmp_path):
    look_up(db, story["me"], "転入届の確認のため")
    later = dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=800)
    with pytest.raises(Invalid) as refused:
        audit_export.purge(db, staff(), tmp_path, retention_days=400, now=later, linkage_retention_days=730)
    assert "730" in refused.value.message_ja and refused.value.problems[0]["field"] == "retention_days"
    db.rollback()
    assert [row.reason for row in portal_history.desk_lookups(db, story["me"])] == ["転入届の確認のため"]
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize("text", ["誤り\x00です", "誤り\x07です"])
def test_a_dispute_with_a_character_that_cannot_be_stored_is_refused_beside_the_field(app, client, db, story, text):
    ref = _lookup_ref(db, story)
    signed_in(client, story["me"])
    answer = client.post("/portal/dispute", data={"csrf_token": _csrf(client), "record": ref, "text": text})
    assert answer.status_code == 422 and 'id="text-error"' in answer.get_data(as_text=True)
    assert db.scalar(sa.select(sa.func.count()).select_from(Inquiry)) == 0


def test_a_record_is_disputed_once_and_a_second_dispute_is_refused_in_words(app, client, db, story):
    ref = _lookup_ref(db, story)
    signed_in(client, story["me"])
    assert client.post("/portal/dispute", data={"csrf_token": _csrf(client), "record": ref, "text": "誤りです"}).status_code == 302
    again = client.post("/portal/dispute", data={"csrf_token": _csrf(client), "record": ref, "text": "もう一度"})
    assert again.status_code == 409 and "すでに異議を申し立てています" in again.get_data(as_text=True)
    assert db.scalar(sa.select(sa.func.count()).select_from(Inquiry)) == 1
