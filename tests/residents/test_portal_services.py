"""The residents' portal, my services (issue 42 items 2, 5, 7): a resident links a service with the one-time code
it issued (once, never twice; a wrong or expired code refused beside the field with what was typed kept; a
sign-in below the service's level refused), sees only their own municipality's services, gives consent with the
items the service may receive (the brokerage then sends only those), withdraws (the next request is refused)
and ends a link (kept, ended)."""

from __future__ import annotations

import datetime as dt
import json
import time

import pytest
import sqlalchemy as sa

from core.actor import Actor
from core.audit import AuditRecord
from residents.consent import operations as consent
from residents.consent.models import ConsentRecord, DataService
from residents import brokerage, operations as residents, portal
from residents.models import ResidentDisclosure, ResidentLinkCode, ServiceLink
from tenancy.identity.models import ApiClient
from tests.residents.conftest import KUMAMOTO, YATSUSHIRO, api_client, desk, person


@pytest.fixture
def keys(app):
    """The app's own key ring (not the suite's test ring): these tests open the portal's pages, which read the
    residents' items with it, as production does."""
    from admin.resident_keys import keyring

    with app.app_context():
        return keyring()


TEXT = {"title": "くらしナビへの情報提供の同意", "body_ja": "氏名・住所を案内に利用します。", "body_en": "We use your name and address.",
        "purposes": ["行政サービスの案内"], "optional_purposes": ["イベントのお知らせ"],
        "items": {"氏名": {}, "住所": {}, "世帯構成": {}}}


def _service_actor(client_id: int) -> Actor:
    return Actor(issuer="urn:test", subject=f"service-{client_id}", name="くらしナビ", roles=frozenset({"brokerage-client"}),
                 client_id=client_id)


def _resident_session(client, resident_id: int, tenant: str = KUMAMOTO, level: int = 3) -> None:
    with client.session_transaction() as session:
        session["resident"] = {"resident_id": resident_id, "tenant_code": tenant, "common_id": None, "status": "active",
                               "provider": "mynumber-card", "assurance_level": level,
                               "signed_in_at": "2026-11-25T10:00:00+00:00", "seen": time.time()}


def _csrf(client) -> str:
    with client.session_transaction() as session:
        session.setdefault("csrf", "test-csrf-token")
        return session["csrf"]


@pytest.fixture
def city(app, db, consent_setup, keys, monkeypatch):
    """Kumamoto's くらしナビ (level 2, its own API client) and 健康ポイント (level 3), a resident of Kumamoto."""
    monkeypatch.setitem(app.config, "RENKEI_PORTAL_TENANT", KUMAMOTO)
    navi_client = api_client(db, "くらしナビ")
    navi = consent_setup(name="くらしナビ", text=TEXT, api_client_id=navi_client, required_level=2)
    health = consent_setup(name="健康ポイント", text=TEXT, api_client_id=api_client(db, "健康ポイント"), required_level=3)
    resident = residents.enrol(db, desk(), keys, person()).resident
    db.commit()
    return {"navi": navi, "navi_client": navi_client, "health": health, "resident": resident}


def _code(db, service: DataService, user_id: str, *, issued_at: dt.datetime | None = None) -> str:
    _, code = portal.issue_link_code(db, _service_actor(service.api_client_id),
                                     {"service_id": service.id, "service_user_id": user_id}, now=issued_at)
    db.commit()
    return code


def _link(client, service_id, code):
    return client.post("/portal/services/link", data={"csrf_token": _csrf(client), "service_id": str(service_id),
                                                      "code": code})


def test_a_code_links_once_and_never_twice(client, db, city):
    code = _code(db, city["navi"], "navi-user-0001")
    assert len(code) == 8 and not set(code) & set("O0I1L")
    assert db.scalar(sa.select(ResidentLinkCode.code_hash)) != code  # only its hash is kept
    _resident_session(client, city["resident"].id)
    answer = _link(client, city["navi"].id, code.lower())
    assert answer.status_code == 302
    page = client.get("/portal/services").get_data(as_text=True)
    assert 'id="services"' in page and "くらしナビ" in page and "navi-user-0001" in page
    assert "ポータル（ワンタイムコード）" in page and "マイナンバーカード" in page
    link = db.scalar(sa.select(ServiceLink).where(ServiceLink.service_id == city["navi"].id))
    assert link.resident_id == city["resident"].id and link.assurance_level == 3
    record = db.scalar(sa.select(AuditRecord).where(AuditRecord.action == "resident.link").order_by(AuditRecord.seq.desc()))
    assert record.actor_name.startswith("住民本人")

    # ended by the resident, the same code does not link again
    assert client.post(f"/portal/services/{city['navi'].id}/unlink", data={"csrf_token": _csrf(client)}).status_code == 302
    again = _link(client, city["navi"].id, code)
    assert again.status_code == 422 and "既に使われています" in again.get_data(as_text=True)


def test_a_wrong_or_expired_code_is_refused_beside_the_field_with_what_was_typed(client, db, city):
    code = _code(db, city["navi"], "navi-user-0002")
    _resident_session(client, city["resident"].id)
    wrong = _link(client, city["navi"].id, "ACDE-FGHJ")
    page = wrong.get_data(as_text=True)
    assert wrong.status_code == 422 and 'id="code-error"' in page and 'value="ACDE-FGHJ"' in page
    assert f'<option value="{city["navi"].id}" selected>' in page
    # the right code for another service is wrong for this one
    assert _link(client, city["health"].id, code).status_code == 422
    code = _code(db, city["navi"], "navi-user-0002", issued_at=dt.datetime.now(dt.timezone.utc) - dt.timedelta(minutes=11))
    expired = _link(client, city["navi"].id, code)
    assert expired.status_code == 422 and f'value="{code}"' in expired.get_data(as_text=True)
    english = client.post("/portal/services/link?lang=en", data={"csrf_token": _csrf(client), "service_id": str(city["navi"].id),
                                                                 "code": code})
    assert "has expired" in english.get_data(as_text=True)
    assert db.scalar(sa.select(sa.func.count()).select_from(ServiceLink)) == 0


def test_a_level_2_sign_in_cannot_link_a_level_3_service(client, db, city):
    code = _code(db, city["health"], "health-user-0001")
    _resident_session(client, city["resident"].id, level=2)
    refused = _link(client, city["health"].id, code)
    page = refused.get_data(as_text=True)
    assert refused.status_code == 422 and "個人認証レベル 3 以上" in page and 'id="service_id-error"' in page
    assert db.scalar(sa.select(sa.func.count()).select_from(ServiceLink)) == 0
    _resident_session(client, city["resident"].id, level=3)
    assert _link(client, city["health"].id, code).status_code == 302  # the refusal did not use the code up


def test_another_municipalitys_resident_neither_sees_nor_links_my_services(client, db, city, keys):
    code = _code(db, city["navi"], "navi-user-0003")
    _resident_session(client, city["resident"].id)
    assert _link(client, city["navi"].id, code).status_code == 302
    other = residents.enrol(db, desk(YATSUSHIRO), keys, person(tenant_code=YATSUSHIRO, full_name="八代 花子")).resident
    db.commit()
    _resident_session(client, other.id, tenant=YATSUSHIRO)
    page = client.get("/portal/services").get_data(as_text=True)
    assert "くらしナビ" not in page and "navi-user-0003" not in page
    assert client.get(f"/portal/services/{city['navi'].id}").status_code == 404
    second = _code(db, city["navi"], "navi-user-0004")
    assert _link(client, city["navi"].id, second).status_code == 422
    # a session naming my row under another municipality sees nothing of mine
    _resident_session(client, city["resident"].id, tenant=YATSUSHIRO)
    assert "navi-user-0003" not in client.get("/portal/services").get_data(as_text=True)
    assert client.get(f"/portal/services/{city['navi'].id}").status_code == 404


def test_a_resident_without_a_common_id_is_told_why(client, db, city, keys):
    waiting = residents.enrol(db, desk(), keys, person(address="熊本市東区1-1")).resident  # the same person: review
    db.commit()
    assert waiting.common_id is None
    _resident_session(client, waiting.id)
    page = client.get("/portal/services").get_data(as_text=True)
    assert 'id="refusal"' in page and "共通IDがまだ発行されていない" in page and 'id="link-form"' not in page


def _broker(db, keys, city, items=("氏名", "住所")):
    return brokerage.broker(db, _service_actor(city["navi_client"]), keys, {
        "service_id": city["navi"].id, "service_user_id": "navi-user-0005", "items": list(items),
        "purpose": "行政サービスの案内"})


def test_consent_per_item_then_withdraw_then_the_brokerage_refuses(client, db, city, keys):
    _resident_session(client, city["resident"].id)
    assert _link(client, city["navi"].id, _code(db, city["navi"], "navi-user-0005")).status_code == 302
    page = client.get(f"/portal/services/{city['navi'].id}").get_data(as_text=True)
    assert 'id="consent-form"' in page and "くらしナビへの情報提供の同意" in page and "イベントのお知らせ" in page
    assert "このサービスにはまだ同意していません" in page and 'id="withdraw"' not in page
    text_hash = consent.current_text(db, city["navi"]).content_hash
    saved = client.post(f"/portal/services/{city['navi'].id}/consent", data={
        "csrf_token": _csrf(client), "content_hash": text_hash, "items": ["氏名"], "optional_purposes": []})
    assert saved.status_code == 302, saved.get_data(as_text=True)
    record = db.scalar(sa.select(ConsentRecord).order_by(ConsentRecord.seq.desc()))
    assert (record.subject_id, record.method.value, record.text_hash) == ("navi-user-0005", "web", text_hash)
    assert json.loads(db.scalar(sa.select(ResidentDisclosure.items).order_by(ResidentDisclosure.id.desc()))) == ["氏名"]
    page = client.get(f"/portal/services/{city['navi'].id}").get_data(as_text=True)
    assert "同意しています" in page and 'id="withdraw"' in page

    answer = _broker(db, keys, city)
    assert answer.allowed and answer.items == {"氏名": "髙橋 太郎"} and answer.withheld == ("住所",)
    db.commit()

    confirm = client.get(f"/portal/services/{city['navi'].id}/withdraw").get_data(as_text=True)
    assert "次の問合せは拒否され" in confirm and 'id="confirm-withdraw"' in confirm
    assert client.post(f"/portal/services/{city['navi'].id}/withdraw", data={"csrf_token": _csrf(client)}).status_code == 302
    refused = _broker(db, keys, city)
    assert not refused.allowed and refused.reason == "withdrawn" and refused.items == {}
    assert "撤回しました" in client.get(f"/portal/services/{city['navi'].id}").get_data(as_text=True)


def test_a_consent_to_a_text_not_shown_is_refused_with_the_choices_kept(client, db, city):
    _resident_session(client, city["resident"].id)
    assert _link(client, city["navi"].id, _code(db, city["navi"], "navi-user-0006")).status_code == 302
    refused = client.post(f"/portal/services/{city['navi'].id}/consent", data={
        "csrf_token": _csrf(client), "content_hash": "0" * 64, "items": ["住所"], "optional_purposes": ["イベントのお知らせ"]})
    page = refused.get_data(as_text=True)
    assert refused.status_code == 422 and "現行の版ではありません" in page
    assert 'value="住所" checked' in page and 'value="氏名" checked' not in page
    assert db.scalar(sa.select(sa.func.count()).select_from(ConsentRecord)) == 0


def test_unlink_ends_the_link_and_keeps_the_row(client, db, city, keys):
    _resident_session(client, city["resident"].id)
    assert _link(client, city["navi"].id, _code(db, city["navi"], "navi-user-0005")).status_code == 302
    confirm = client.get(f"/portal/services/{city['navi'].id}/unlink").get_data(as_text=True)
    assert "受け取らなくなります" in confirm and "削除はされません" in confirm
    assert client.post(f"/portal/services/{city['navi'].id}/unlink", data={"csrf_token": _csrf(client)}).status_code == 302
    db.expire_all()
    link = db.scalar(sa.select(ServiceLink).where(ServiceLink.service_id == city["navi"].id))
    assert link is not None and link.ended_at is not None and link.ended_reason == "本人による連携解除"
    assert link.ended_by.startswith("住民本人")
    assert "navi-user-0005" not in client.get("/portal/services").get_data(as_text=True)
    assert _broker(db, keys, city).reason == "not_linked"
    record = db.scalar(sa.select(AuditRecord).where(AuditRecord.action == "resident.unlink"))
    assert record is not None and record.tenant_code == KUMAMOTO


def test_a_form_without_the_csrf_token_is_refused(client, db, city):
    _resident_session(client, city["resident"].id)
    answer = client.post("/portal/services/link", data={"service_id": str(city["navi"].id), "code": "ACDEFGHJ"})
    assert answer.status_code == 400


def test_the_portal_door_leads_to_my_services(client, db, city):
    _resident_session(client, city["resident"].id)
    page = client.get("/portal/").get_data(as_text=True)
    assert "/portal/services" in page and "連携しているサービス" in page
    assert "Linked services" in client.get("/portal/?lang=en").get_data(as_text=True)


@pytest.mark.keycloak
def test_a_service_issues_a_code_over_the_api_for_its_own_service_only(client, db, consent_setup, user_factory,
                                                                      keycloak_settings):
    from tests.residents.test_brokerage import service_client

    _, admin = user_factory(("municipal-admin",), KUMAMOTO)
    _, staff = user_factory(("resident-desk",), KUMAMOTO)
    own_client, own = service_client(client, keycloak_settings, admin, "くらしナビ")
    _, other = service_client(client, keycloak_settings, admin, "健康ポイント")
    service = consent_setup(name="くらしナビ", text=TEXT, api_client_id=own_client)
    body = {"service_id": service.id, "service_user_id": "navi-user-0100"}
    issued = client.post("/api/v1/residents/link-codes", json=body, headers=own)
    assert issued.status_code == 201, issued.get_json()
    answer = issued.get_json()
    assert len(answer["code"]) == 8 and answer["service_user_id"] == "navi-user-0100"
    valid_for = dt.datetime.fromisoformat(answer["expires_at"]) - dt.datetime.now(dt.timezone.utc)
    assert dt.timedelta(minutes=9) < valid_for <= dt.timedelta(minutes=10)
    assert answer["code"] not in db.scalar(sa.select(ResidentLinkCode.code_hash))
    assert db.scalar(sa.select(AuditRecord).where(AuditRecord.action == "resident.link_code.issue")) is not None
    refused = client.post("/api/v1/residents/link-codes", json=body, headers=other)  # not its service
    assert refused.status_code == 404 and refused.mimetype == "application/problem+json"
    assert client.post("/api/v1/residents/link-codes", json=body, headers=staff).status_code == 403  # a person


def test_only_the_items_the_resident_ticked_are_allowed_by_the_consent_check_and_the_history_says_so(
        client, db, city, keys, open_api):
    """Renkei issue 50 item 4: with only 氏名 ticked, the platform's consent check (/api/v1/consent/check) refuses
    住所 (held by renkei) and 世帯構成 (not held), as the brokerage does (which records its refusal of the unticked 住所
    beside what it gave); the resident's history shows them refused."""
    _resident_session(client, city["resident"].id)
    assert _link(client, city["navi"].id, _code(db, city["navi"], "navi-user-0005")).status_code == 302
    saved = client.post(f"/portal/services/{city['navi'].id}/consent", data={
        "csrf_token": _csrf(client), "content_hash": consent.current_text(db, city["navi"]).content_hash,
        "items": ["氏名"], "optional_purposes": []})
    assert saved.status_code == 302, saved.get_data(as_text=True)

    def check(items):
        answer = open_api.post("/api/v1/consent/check", json={
            "service_id": city["navi"].id, "tenant_code": KUMAMOTO, "subject_id": "navi-user-0005", "items": items,
            "purpose": "行政サービスの案内", "client": "navi-app"})
        assert answer.status_code == 200, answer.get_json()
        return answer.get_json()

    for item in ("世帯構成", "住所"):
        refused = check([item])
        assert (refused["allowed"], refused["reason"], refused["not_covered"]) == (False, "not_disclosed", [item])
    assert check(["氏名"])["allowed"]
    assert not check(["氏名", "世帯構成"])["allowed"]
    answer = _broker(db, keys, city)  # the brokerage: the same ticks
    assert answer.allowed and answer.items == {"氏名": "髙橋 太郎"} and answer.withheld == ("住所",)
    db.commit()

    page = client.get("/portal/history").get_data(as_text=True)
    rows = page.split('id="history"', 1)[1].split("</ol>", 1)[0].split("<li>")[1:]
    results = [("世帯構成" in row, "住所" in row, "提供しました" in row, "提供していません" in row) for row in rows]
    # newest first: the brokerage's 住所 (refused: not ticked) and 氏名 (given), then the checks' 氏名+世帯構成, 氏名,
    # 住所, 世帯構成
    assert results == [(False, True, False, True), (False, False, True, False),
                       (True, False, False, True), (False, False, True, False),
                       (False, True, False, True), (True, False, False, True)]
    assert "本人が提供を許可していないデータ項目" in page
    form = client.get(f"/portal/services/{city['navi'].id}").get_data(as_text=True)
    assert "チェックしない場合、連携基盤を通じた提供は拒否されます" in form  # 世帯構成's tick matters too
    # ticking 住所 as well allows it at once, everywhere
    client.post(f"/portal/services/{city['navi'].id}/consent", data={
        "csrf_token": _csrf(client), "content_hash": consent.current_text(db, city["navi"]).content_hash,
        "items": ["氏名", "住所"], "optional_purposes": []})
    assert check(["住所"])["allowed"] and not check(["世帯構成"])["allowed"]


def _to_do(client) -> str:
    page = client.get("/portal/").get_data(as_text=True)
    return page[page.index('id="todo"'):page.index('id="records-heading"')] if 'id="todo"' in page else ""


def test_the_home_page_lists_a_consent_to_give_and_the_services_to_link(client, db, city):
    """The home page says what the resident may act on (issue 55 item 2): a linked service without their consent
    to its current text first, then the services they may link; a consent given, that item goes."""
    _resident_session(client, city["resident"].id)
    todo = _to_do(client)
    assert todo.count('class="todo-link"') == 2 and 'class="todo-consent"' not in todo
    assert _link(client, city["navi"].id, _code(db, city["navi"], "navi-user-0007")).status_code == 302
    todo = _to_do(client)
    assert f'href="/portal/services/{city["navi"].id}">同意の確認が必要です：くらしナビ' in todo
    assert todo.count('class="todo-link"') == 1 and "健康ポイント" in todo
    saved = client.post(f"/portal/services/{city['navi'].id}/consent", data={
        "csrf_token": _csrf(client), "content_hash": consent.current_text(db, city["navi"]).content_hash,
        "items": ["氏名"], "optional_purposes": []})
    assert saved.status_code == 302, saved.get_data(as_text=True)
    todo = _to_do(client)
    assert 'class="todo-consent"' not in todo and "健康ポイント" in todo
    assert "Give or review your consent" not in client.get("/portal/?lang=en").get_data(as_text=True)
    assert "You can link 健康ポイント" in client.get("/portal/?lang=en").get_data(as_text=True)
