"""The residents' desk page's forms on a person found (issue 42 items 2, 5, 8): link a service's user ID at the
counter (the service picked by name, how identity was verified and the assurance picked by label) and set a
linked service's disclosure range with a reason; a refused form comes back 422 as typed with the problem beside
its field and saves nothing; both acts are audited; another municipality's staff get nothing."""

from __future__ import annotations

import json
import re

import sqlalchemy as sa

from admin.resident_keys import keyring
from core.actor import Actor
from core.audit import AuditRecord
from residents import brokerage
from residents.models import Resident, ResidentDisclosure, ServiceLink, VerificationMethod
from tests.conftest import sign_in
from tests.residents.conftest import KUMAMOTO, YATSUSHIRO, api_client
from tests.residents.test_recovery import give

PERSON = {"full_name": "髙橋 太郎", "address": "熊本市中央区水前寺6-18-1", "birth_date": "1980-04-01", "sex": "1",
          "verification": "my_number_card", "assurance_level": "3", "csrf_token": "t"}
TEXT = {"title": "くらしナビへの情報提供の同意", "body_ja": "氏名・住所を案内に利用します。", "purposes": ["行政サービスの案内"],
        "items": {"氏名": {}, "住所": {}, "生年月日": {}}}


def enrolled(client, db, **fields) -> str:
    client.post("/admin/residents/enrol", data={**PERSON, **fields})
    return db.scalars(sa.select(Resident.common_id).where(Resident.common_id.is_not(None))
                      .order_by(Resident.id.desc())).first()


def link_form(common_id: str, service_id: int, user_id: str = "navi-user-0001", **fields) -> dict:
    return {"common_id": common_id, "lookup_reason": "窓口での連携手続", "link_service": str(service_id),
            "link_user_id": user_id, "link_verification": "photo_id", "link_assurance": "3", "csrf_token": "t", **fields}


def error_beside(page: str, field: str) -> str:
    """The problem shown beside ``field`` (the element its aria-describedby names)."""
    found = re.search(rf'id="{field}-error"[^>]*>([^<]+)<', page)
    return found.group(1) if found else ""


def actions(db, action: str) -> list[dict]:
    return [json.loads(row.after) for row in db.scalars(sa.select(AuditRecord).where(AuditRecord.action == action)
                                                          .order_by(AuditRecord.seq))]


def test_a_link_made_on_the_page_shows_on_the_person_and_is_audited(client, db, consent_setup):
    navi = consent_setup(name="くらしナビ", text=TEXT)
    consent_setup(name="よそのサービス", owner=YATSUSHIRO)  # another municipality's: never offered
    sign_in(client, ["resident-desk"], [KUMAMOTO], csrf="t")
    common_id = enrolled(client, db)
    seen = client.post("/admin/residents/lookup", data={"common_id": common_id, "reason": "窓口での連携手続",
                                                        "csrf_token": "t"}).get_data(as_text=True)
    assert "サービスとの連携（窓口）" in seen
    assert f'<option value="{navi.id}">くらしナビ</option>' in seen and "よそのサービス" not in seen
    assert "顔写真付き本人確認書類" in seen and "レベル 3" in seen  # the pickers speak Japanese

    linked = client.post("/admin/residents/link", data=link_form(common_id, navi.id))
    page = linked.get_data(as_text=True)
    assert linked.status_code == 200 and "くらしナビ の利用者ID navi-user-0001 と連携しました" in page
    assert "<code>navi-user-0001</code>" in page and "顔写真付き本人確認書類" in page  # the person's links, again
    row = db.scalar(sa.select(ServiceLink))
    assert (row.service_id, row.verification, row.assurance_level) == (navi.id, VerificationMethod.photo_id, 3)
    [audited] = actions(db, "resident.link")
    assert (audited["common_id"], audited["service_user_id"], audited["verification"]) == (
        common_id, "navi-user-0001", "photo_id")
    assert [view["reason"] for view in actions(db, "resident.view")] == ["窓口での連携手続"] * 2  # each showing


def test_a_duplicate_link_or_a_user_id_of_no_known_shape_comes_back_as_typed_beside_the_field(client, db, consent_setup):
    navi = consent_setup(name="くらしナビ", text=TEXT)
    sign_in(client, ["resident-desk"], [KUMAMOTO], csrf="t")
    first = enrolled(client, db)
    second = enrolled(client, db, full_name="別人 花子", birth_date="1990-02-02")
    assert client.post("/admin/residents/link", data=link_form(first, navi.id)).status_code == 200

    taken = client.post("/admin/residents/link", data=link_form(second, navi.id))
    page = taken.get_data(as_text=True)
    assert taken.status_code == 422 and "すでに住民と連携されています" in error_beside(page, "link_user_id")
    assert 'value="navi-user-0001"' in page and f'<option value="{navi.id}" selected>' in page
    again = client.post("/admin/residents/link", data=link_form(first, navi.id, "navi-user-0002"))
    assert again.status_code == 422 and "連携済みです" in error_beside(again.get_data(as_text=True), "link_service")

    shapeless = client.post("/admin/residents/link", data=link_form(second, navi.id, "ナビ 12"))
    page = shapeless.get_data(as_text=True)
    assert shapeless.status_code == 422 and error_beside(page, "link_user_id") and 'value="ナビ 12"' in page
    unverified = client.post("/admin/residents/link", data=link_form(second, navi.id, "navi-user-0003",
                                                                     link_verification=""))
    assert unverified.status_code == 422 and error_beside(unverified.get_data(as_text=True), "link_verification")
    assert db.scalar(sa.select(sa.func.count()).select_from(ServiceLink)) == 1  # nothing saved
    assert len(actions(db, "resident.link")) == 1


def test_another_municipality_gets_nothing_from_the_forms(client, db, consent_setup):
    navi = consent_setup(name="くらしナビ", text=TEXT)
    sign_in(client, ["resident-desk"], [KUMAMOTO], csrf="t")
    common_id = enrolled(client, db)
    sign_in(client, ["resident-desk"], [YATSUSHIRO], csrf="t")
    other = client.post("/admin/residents/link", data=link_form(common_id, navi.id))
    assert other.status_code == 404 and "髙橋" not in other.get_data(as_text=True)
    forced = client.post(f"/admin/residents/link?tenant={KUMAMOTO}", data=link_form(common_id, navi.id))
    assert forced.status_code == 403
    disclosure = {"common_id": common_id, "lookup_reason": "確認", "disclosure_service": str(navi.id),
                  "disclosure_items": ["氏名"], "disclosure_reason": "申出", "csrf_token": "t"}
    assert client.post(f"/admin/residents/disclosure?tenant={KUMAMOTO}", data=disclosure).status_code == 403
    sign_in(client, ["municipal-admin"], [KUMAMOTO], csrf="t")
    assert client.post("/admin/residents/link", data=link_form(common_id, navi.id)).status_code == 403
    assert client.post("/admin/residents/disclosure", data=disclosure).status_code == 403
    assert db.scalar(sa.select(sa.func.count()).select_from(ServiceLink)) == 0
    assert db.scalar(sa.select(sa.func.count()).select_from(ResidentDisclosure)) == 0


def test_the_range_set_on_the_page_is_what_the_brokerage_sends(client, db, consent_setup):
    client_id = api_client(db, "くらしナビ")
    navi = consent_setup(name="くらしナビ", text=TEXT, api_client_id=client_id)
    sign_in(client, ["resident-desk"], [KUMAMOTO], csrf="t")
    common_id = enrolled(client, db)
    linked = client.post("/admin/residents/link", data=link_form(common_id, navi.id)).get_data(as_text=True)
    assert "くらしナビ が受け取れる項目" in linked and 'value="住所"' in linked  # the text's items to tick
    give(db, navi, "navi-user-0001")
    db.commit()
    form = {"common_id": common_id, "lookup_reason": "窓口での連携手続", "disclosure_service": str(navi.id),
            "disclosure_items": ["氏名", "住所"], "csrf_token": "t"}
    refused = client.post("/admin/residents/disclosure", data=form)
    page = refused.get_data(as_text=True)
    assert refused.status_code == 422 and error_beside(page, f"disclosure-{navi.id}-reason")
    assert page.count(" checked>") == 2  # the ticks as typed
    assert db.scalar(sa.select(sa.func.count()).select_from(ResidentDisclosure)) == 0

    saved = client.post("/admin/residents/disclosure", data={**form, "disclosure_items": ["氏名"],
                                                             "disclosure_reason": "本人の申出（住所は渡さない）"})
    assert saved.status_code == 200 and "くらしナビ の公開範囲を保存しました" in saved.get_data(as_text=True)
    [audited] = actions(db, "resident.disclosure.set")
    assert (audited["items"], audited["reason"]) == (["氏名"], "本人の申出（住所は渡さない）")

    navi_client = Actor(issuer="urn:test", subject="svc-navi", roles=frozenset({"brokerage-client"}), client_id=client_id)
    with client.application.app_context():
        answer = brokerage.broker(db, navi_client, keyring(), {
            "service_id": navi.id, "service_user_id": "navi-user-0001", "items": ["氏名", "住所"],
            "purpose": "行政サービスの案内"})
    assert answer.allowed and answer.items == {"氏名": "髙橋 太郎"} and answer.withheld == ("住所",)


def test_the_forms_are_offered_on_a_person_found_by_a_services_user_id_or_by_name(client, db, consent_setup):
    navi = consent_setup(name="くらしナビ", text=TEXT)
    sign_in(client, ["resident-desk"], [KUMAMOTO], csrf="t")
    common_id = enrolled(client, db)
    client.post("/admin/residents/link", data=link_form(common_id, navi.id))
    by_service = client.post("/admin/residents/lookup", data={
        "lookup_service": str(navi.id), "lookup_user_id": "navi-user-0001", "reason": "サービスからの照会",
        "csrf_token": "t"}).get_data(as_text=True)
    assert "髙橋 太郎" in by_service and f'name="common_id" value="{common_id}"' in by_service
    assert "くらしナビ の公開範囲を保存する" in by_service

    found = client.post("/admin/residents/search", data={"search_name": "髙橋 太郎", "search_reason": "福祉課からの照会",
                                                         "csrf_token": "t"}).get_data(as_text=True)
    assert f"{common_id} を開く（連携と公開範囲）" in found  # each person found can be opened, with the search's reason
    opened = client.post("/admin/residents/lookup", data={"common_id": common_id, "reason": "福祉課からの照会",
                                                          "csrf_token": "t"}).get_data(as_text=True)
    assert "サービスとの連携（窓口）" in opened
    # the opening is a view of its own, audited with the search's reason (the search's record holds its own views)
    assert [view["reason"] for view in actions(db, "resident.view")] == ["窓口での連携手続", "サービスからの照会",
                                                                         "福祉課からの照会"]
