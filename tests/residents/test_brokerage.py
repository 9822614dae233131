"""The brokerage over HTTP against the real Keycloak (issue 42 item 6): a data service's API client with the
residents:broker scope asks for a person by its own user ID and receives only what the resident's disclosure
range and consent allow; a withdrawal refuses the next request; no answer ever holds the common ID or the
other service's ID."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from core import chain
from core.calendar import today_jst
from residents.consent.models import LinkageRecord
from tenancy.identity.keycloak import client_credentials_token
from tests.consent.conftest import SERVICE
from tests.residents.conftest import KUMAMOTO

pytestmark = pytest.mark.keycloak

PERSON = {"full_name": "髙橋 太郎", "address": "熊本県熊本市中央区水前寺六丁目18番1号", "birth_date": "1980-04-01", "sex": "1",
          "verification": "my_number_card", "assurance_level": 3}
TEXT = {"title": "くらしナビへの情報提供の同意", "body_ja": "氏名・住所・生年月日を案内に利用します。", "purposes": ["行政サービスの案内"],
        "items": {"氏名": {}, "住所": {}, "生年月日": {}}}


def service_client(client, settings, admin, name):
    """An API client of the city with the residents:broker scope, and its token's headers."""
    created = client.post(f"/api/v1/tenants/{KUMAMOTO}/api-clients", headers=admin, json={
        "name": name, "purpose": "住民データの仲介", "scopes": ["residents:broker"],
        "expires_on": (today_jst() + dt.timedelta(days=30)).isoformat(), "allowlist": ["127.0.0.1/32"]})
    assert created.status_code == 201, created.get_json()
    answer = created.get_json()
    token = client_credentials_token(settings, answer["client_id"], answer["client_secret"])["access_token"]
    return answer["client"]["id"], {"Authorization": f"Bearer {token}"}


def test_a_service_receives_only_what_the_resident_allowed_and_a_withdrawal_refuses_the_next(
        client, db, consent_setup, user_factory, keycloak_settings):
    _, admin = user_factory(("municipal-admin",), KUMAMOTO)
    _, desk = user_factory(("resident-desk",), KUMAMOTO)
    _, clerk = user_factory(("municipal-staff",), KUMAMOTO)
    a_client, a_headers = service_client(client, keycloak_settings, admin, "くらしナビ")
    b_client, b_headers = service_client(client, keycloak_settings, admin, "健康ポイント")
    service_a = consent_setup(name="くらしナビ", text=TEXT, api_client_id=a_client)
    service_b = consent_setup(name="健康ポイント", text=TEXT, api_client_id=b_client)
    base = f"/api/v1/tenants/{KUMAMOTO}"
    common_id = client.post(f"{base}/residents", json=PERSON, headers=desk).get_json()["common_id"]
    for service, user_id in ((service_a, "navi-user-0001"), (service_b, "health-77-0001")):
        linked = client.post(f"{base}/residents/{common_id}/links", headers=desk, json={
            "service_id": service.id, "service_user_id": user_id, "assurance_level": 3})
        assert linked.status_code == 201, linked.get_json()
        given = client.post("/api/v1/consent/records", headers=clerk, json={
            "service_id": service.id, "tenant_code": KUMAMOTO, "subject_id": user_id, "method": "paper",
            "assurance_level": 3, "content_hash": client.get(f"/api/v1/consent/services/{service.id}", headers=admin)
            .get_json()["current_text"]["content_hash"]})
        assert given.status_code == 201, given.get_json()
    # the resident lets A have the name only, B the name and the address
    for service, items in ((service_a, ["氏名"]), (service_b, ["氏名", "住所"])):
        assert client.put(f"{base}/residents/{common_id}/disclosure", headers=desk, json={
            "service_id": service.id, "items": items, "reason": "本人の申出"}).status_code == 200

    bodies = []

    def ask(headers, **fields):
        response = client.post("/api/v1/residents/broker", headers=headers, json={
            "service_id": service_a.id, "service_user_id": "navi-user-0001", "items": ["氏名", "住所"],
            "purpose": "行政サービスの案内", **fields})
        bodies.append(response.get_data(as_text=True))
        assert response.status_code == 200, response.get_json()
        return response.get_json()

    first = ask(a_headers)
    assert first["allowed"] and first["items"] == {"氏名": "髙橋 太郎"} and first["withheld"] == ["住所"]
    # the brokerage's one read holds the consent check's own: its statements on the service, the person and the
    # linkage chain are the consent check's alone (tests/consent/test_check.py), no round trip more
    chain._known_heads.clear()  # as in another server process, which never appended: the read gives the head
    seen: list[tuple[str, str]] = []

    def note(conn, cursor, statement, params, context, executemany):
        if any(table in statement for table in ("data_service", "chain_head", "linkage_record", "service_link")):
            seen.append(("app" if conn.engine is db.get_bind() else "autocommit",
                         statement.lstrip().split(None, 1)[0].upper()))

    sa.event.listen(sa.engine.Engine, "before_cursor_execute", note)
    try:
        again = ask(a_headers, items=["氏名"])
    finally:
        sa.event.remove(sa.engine.Engine, "before_cursor_execute", note)
    assert again["allowed"] and again["items"] == {"氏名": "髙橋 太郎"}
    if db.get_bind().dialect.name == "postgresql":
        assert seen == [("autocommit", "SELECT"), ("autocommit", "WITH")]
    else:
        assert seen == [("app", "SELECT"), ("app", "UPDATE"), ("app", "INSERT")]
    # B's client may not ask as A; an unknown user ID of A's is "not linked", nothing about anyone else
    assert ask(b_headers)["reason"] == "not_your_service"
    assert ask(a_headers, service_user_id="navi-user-9999")["reason"] == "not_linked"
    assert ask(a_headers, items=["住所"])["reason"] == "not_disclosed"
    # a person's own staff token is not a service client
    assert client.post("/api/v1/residents/broker", headers=desk, json={
        "service_id": service_a.id, "service_user_id": "navi-user-0001", "items": ["氏名"],
        "purpose": "行政サービスの案内"}).status_code == 403

    withdrawn = client.post("/api/v1/consent/withdrawals", headers=clerk, json={
        "service_id": service_a.id, "tenant_code": KUMAMOTO, "subject_id": "navi-user-0001", "method": "paper"})
    assert withdrawn.status_code == 201, withdrawn.get_json()
    refused = ask(a_headers)
    assert not refused["allowed"] and refused["reason"] == "withdrawn" and refused["items"] == {}

    db.expire_all()
    records = db.scalars(sa.select(LinkageRecord).where(LinkageRecord.service_id == service_a.id)
                         .order_by(LinkageRecord.seq)).all()
    # what was sent, and each item the resident did not tick refused beside it: the history shows both
    assert [(r.subject_id, r.items, r.allowed, r.reason) for r in records] == [
        ("navi-user-0001", '["氏名"]', True, "allowed"), ("navi-user-0001", '["住所"]', False, "not_disclosed"),
        ("navi-user-0001", '["氏名"]', True, "allowed"),
        ("navi-user-0001", '["住所"]', False, "not_disclosed"),
        ("navi-user-0001", '["氏名"]', False, "withdrawn"), ("navi-user-0001", '["住所"]', False, "withdrawn")]
    assert first["linkage_record"] == records[0].seq and refused["linkage_record"] == records[4].seq
    every = "\n".join(bodies)
    assert common_id not in every and "health-77-0001" not in every


LINKAGE = "くらしナビと健康ポイントの連携"
ID_TEXT = {"title": "サービス間の連携への同意", "body_ja": "利用者IDを連携先のサービスとやり取りします。",
           "purposes": [LINKAGE], "items": {"利用者ID": {}, "氏名": {}}}


def test_a_service_receives_the_persons_id_at_another_service_only_for_a_linkage_both_consents_cover(
        client, db, consent_setup, user_factory, keycloak_settings):
    _, admin = user_factory(("municipal-admin",), KUMAMOTO)
    _, desk = user_factory(("resident-desk",), KUMAMOTO)
    _, clerk = user_factory(("municipal-staff",), KUMAMOTO)
    a_client, a_headers = service_client(client, keycloak_settings, admin, "くらしナビ")
    b_client, b_headers = service_client(client, keycloak_settings, admin, "健康ポイント")
    service_a = consent_setup(name="くらしナビ", text=ID_TEXT, api_client_id=a_client)
    service_b = consent_setup(name="健康ポイント", text=ID_TEXT, api_client_id=b_client)
    base = f"/api/v1/tenants/{KUMAMOTO}"

    def enrol_and_link(person, links):
        common_id = client.post(f"{base}/residents", json=person, headers=desk).get_json()["common_id"]
        for service, user_id in links:
            assert client.post(f"{base}/residents/{common_id}/links", headers=desk, json={
                "service_id": service.id, "service_user_id": user_id, "assurance_level": 3}).status_code == 201
            content_hash = client.get(f"/api/v1/consent/services/{service.id}", headers=admin).get_json()[
                "current_text"]["content_hash"]
            assert client.post("/api/v1/consent/records", headers=clerk, json={
                "service_id": service.id, "tenant_code": KUMAMOTO, "subject_id": user_id, "method": "paper",
                "assurance_level": 3, "content_hash": content_hash}).status_code == 201
            assert client.put(f"{base}/residents/{common_id}/disclosure", headers=desk, json={  # the resident's ticks
                "service_id": service.id, "items": ["利用者ID"], "reason": "本人の申出"}).status_code == 200
        return common_id

    taro = enrol_and_link(PERSON, [(service_a, "navi-user-0001"), (service_b, "health-77-0001")])
    hanako = enrol_and_link({**PERSON, "full_name": "佐藤 花子", "birth_date": "1990-01-02", "sex": "2"},
                            [(service_a, "navi-user-0002")])  # known to A only
    jiro = enrol_and_link({**PERSON, "full_name": "鈴木 次郎", "birth_date": "1970-05-05"},
                          [(service_a, "navi-user-0003"), (service_b, "health-77-0003")])
    assert client.post("/api/v1/consent/withdrawals", headers=clerk, json={
        "service_id": service_b.id, "tenant_code": KUMAMOTO, "subject_id": "health-77-0003",
        "method": "paper"}).status_code == 201
    bodies = []

    def ask(headers, **fields):
        response = client.post("/api/v1/residents/broker/linked-id", headers=headers, json={
            "service_id": service_a.id, "service_user_id": "navi-user-0001", "target_service_id": service_b.id,
            "purpose": LINKAGE, **fields})
        bodies.append(response.get_data(as_text=True))
        assert response.status_code == 200, response.get_json()
        return response.get_json()

    first = ask(a_headers)
    assert first["allowed"] and first["target_service_user_id"] == "health-77-0001"
    # B knows the person by its own ID and asks the other way
    back = ask(b_headers, service_id=service_b.id, service_user_id="health-77-0001", target_service_id=service_a.id)
    assert back["allowed"] and back["target_service_user_id"] == "navi-user-0001"
    # not linked at B and withdrawn at B: the same refusal, nothing tells them apart
    not_there = ask(a_headers, service_user_id="navi-user-0002")
    withdrawn = ask(a_headers, service_user_id="navi-user-0003")
    for refused in (not_there, withdrawn):
        assert (refused["allowed"], refused["reason"], refused["target_service_user_id"]) == (
            False, "target_not_consented", None)
    assert not_there.keys() == withdrawn.keys()
    # the asking side's own rules say what they are
    assert ask(a_headers, purpose="別の目的")["reason"] == "purpose_not_covered"
    assert ask(b_headers)["reason"] == "not_your_service"
    assert ask(a_headers, service_user_id="navi-user-9999")["reason"] == "not_linked"
    assert ask(a_headers, target_service_id=service_a.id)["reason"] == "same_service"
    assert client.post("/api/v1/residents/broker/linked-id", headers=desk, json={
        "service_id": service_a.id, "service_user_id": "navi-user-0001", "target_service_id": service_b.id,
        "purpose": LINKAGE}).status_code == 403

    db.expire_all()
    records = db.scalars(sa.select(LinkageRecord).order_by(LinkageRecord.seq)).all()
    first_two = [(r.service_id, r.subject_id, r.items, r.allowed, r.client) for r in records[:4]]
    assert first_two == [
        (service_a.id, "navi-user-0001", '["利用者ID"]', True, f"brokerage:{a_client}:from:{service_b.id}"),
        (service_b.id, "health-77-0001", '["利用者ID"]', True, f"brokerage:{a_client}:to:{service_a.id}"),
        (service_b.id, "health-77-0001", '["利用者ID"]', True, f"brokerage:{b_client}:from:{service_a.id}"),
        (service_a.id, "navi-user-0001", '["利用者ID"]', True, f"brokerage:{b_client}:to:{service_b.id}")]
    assert [(r.subject_id, r.allowed, r.reason) for r in records if r.service_id == service_b.id][2:] == [
        ("health-77-0003", False, "withdrawn")]
    every = "\n".join(bodies)
    assert taro not in every and hanako not in every and jiro not in every and "health-77-0003" not in every
    # the resident unticks 利用者ID at B: B's side refuses as any refusal there (renkei issue 50 item 4)
    assert client.put(f"{base}/residents/{taro}/disclosure", headers=desk, json={
        "service_id": service_b.id, "items": ["氏名"], "reason": "本人の申出"}).status_code == 200
    unticked = ask(a_headers)
    assert (unticked["allowed"], unticked["reason"], unticked["target_service_user_id"]) == (
        False, "target_not_consented", None)
    db.expire_all()
    last = db.scalars(sa.select(LinkageRecord).order_by(LinkageRecord.seq.desc()).limit(1)).one()
    assert (last.service_id, last.allowed, last.reason) == (service_b.id, False, "not_disclosed")
