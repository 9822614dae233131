"""The consent API against the real Keycloak: a service registered and approved, a consent recorded by
the resident app's API client (consent:write), the broker's check, a withdrawal, the person's history;
and who may see whose people and linkages."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest
from openpyxl import load_workbook

from core.calendar import today_jst
from tenancy.identity.keycloak import client_credentials_token
from tests.consent.conftest import KUMAMOTO, SERVICE, YATSUSHIRO, person

pytestmark = pytest.mark.keycloak


@pytest.fixture
def levels(db, operator, tenant_factory):
    from residents.consent import operations as consent

    tenant_factory(KUMAMOTO)
    tenant_factory(YATSUSHIRO)
    consent.ensure_default_levels(db, operator)
    db.commit()


def register(client, headers, owner=KUMAMOTO, **fields):
    response = client.post("/api/v1/consent/services", json={**SERVICE, "owner_code": owner, **fields}, headers=headers)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def resident_app(client, settings, admin_headers, code=KUMAMOTO):
    """An API client of the city with the consent:write scope, and a token of it asked with that scope."""
    created = client.post(f"/api/v1/tenants/{code}/api-clients", headers=admin_headers, json={
        "name": "くまもと暮らしアプリ", "purpose": "住民の同意の記録", "scopes": ["consent:write"],
        "expires_on": (today_jst() + dt.timedelta(days=30)).isoformat(), "allowlist": ["127.0.0.1/32"]})
    assert created.status_code == 201, created.get_json()
    answer = created.get_json()
    token = client_credentials_token(settings, answer["client_id"], answer["client_secret"], "consent:write")["access_token"]
    return {"Authorization": f"Bearer {token}"}


def test_consent_by_the_app_checked_by_the_broker_withdrawn_and_shown_in_the_history(
        client, db, levels, user_factory, keycloak_settings, as_operator):
    _, kumamoto_admin = user_factory(("municipal-admin",), KUMAMOTO)
    _, kumamoto_clerk = user_factory(("municipal-staff",), KUMAMOTO)
    _, broker = user_factory(("platform-operator",))
    service = register(client, kumamoto_admin)
    assert service["status"] == "registered" and service["current_text"]["purposes"] == ["子育て支援サービスの案内"]
    subject = person()
    app_headers = resident_app(client, keycloak_settings, kumamoto_admin)
    consent_body = {"service_id": service["id"], "tenant_code": KUMAMOTO, "subject_id": subject,
                    "content_hash": service["current_text"]["content_hash"], "method": "app", "assurance_level": 2}
    # not approved yet: no consent can be collected
    assert client.post("/api/v1/consent/records", json=consent_body, headers=app_headers,
                       environ_base={"REMOTE_ADDR": "127.0.0.1"}).status_code == 409
    assert client.post(f"/api/v1/consent/services/{service['id']}/approve", json={}, headers=as_operator).status_code == 200

    given = client.post("/api/v1/consent/records", json=consent_body, headers=app_headers,
                        environ_base={"REMOTE_ADDR": "127.0.0.1"})
    assert given.status_code == 201, given.get_json()
    receipt = given.get_json()
    assert (receipt["event"], receipt["method"], receipt["state"]) == ("given", "app", "given")
    assert receipt["personal_data_categories"] == ["生年月日", "世帯構成"]
    assert receipt["controller"]["name"] == "熊本市長"
    # the app records for its own city's residents only
    assert client.post("/api/v1/consent/records", json={**consent_body, "tenant_code": YATSUSHIRO}, headers=app_headers,
                       environ_base={"REMOTE_ADDR": "127.0.0.1"}).status_code == 403

    question = {"service_id": service["id"], "tenant_code": KUMAMOTO, "subject_id": subject, "items": ["生年月日"],
                "purpose": "子育て支援サービスの案内", "client": "kosodate-navi"}
    allowed = client.post("/api/v1/consent/check", json=question, headers=broker).get_json()
    assert (allowed["allowed"], allowed["reason"], allowed["consent_record"]) == (True, "allowed", receipt["record_id"])

    withdrawn = client.post("/api/v1/consent/withdrawals", headers=app_headers, environ_base={"REMOTE_ADDR": "127.0.0.1"},
                            json={"service_id": service["id"], "tenant_code": KUMAMOTO, "subject_id": subject, "method": "app"})
    assert withdrawn.status_code == 201, withdrawn.get_json()
    refused = client.post("/api/v1/consent/check", json=question, headers=broker).get_json()
    assert (refused["allowed"], refused["reason"]) == (False, "withdrawn")
    assert refused["reason_ja"] == "同意が撤回されている"
    assert client.get(f"/api/v1/consent/records/{receipt['record_id']}", headers=kumamoto_clerk).get_json()["state"] == "withdrawn"

    found = client.get(f"/api/v1/tenants/{KUMAMOTO}/people/{subject}/consent-history", headers=kumamoto_clerk)
    assert found.status_code == 200, found.get_json()
    data = found.get_json()
    assert [c["event"] for c in data["consents"]] == ["given", "withdrawn"]
    assert [(li["result"], li["consent"]) for li in data["linkages"]] == \
        [("許可", receipt["record_id"]), ("拒否", withdrawn.get_json()["record_id"])]
    as_csv = client.get(f"/api/v1/tenants/{KUMAMOTO}/people/{subject}/consent-history?format=csv", headers=kumamoto_clerk)
    rows = list(csv.reader(io.StringIO(as_csv.get_data(as_text=True).lstrip("\ufeff"))))
    assert rows[0][0] == "区分" and [row[0] for row in rows[1:]] == ["同意記録", "同意記録", "連携記録", "連携記録"]
    assert rows[-1][9] == "同意が撤回されている"
    as_xlsx = client.get(f"/api/v1/tenants/{KUMAMOTO}/people/{subject}/consent-history?format=xlsx", headers=kumamoto_clerk)
    sheet = load_workbook(io.BytesIO(as_xlsx.data)).active
    assert sheet.max_row == 5


def test_yatsushiro_clerk_cannot_see_kumamoto_people(client, db, levels, user_factory):
    _, yatsushiro_clerk = user_factory(("municipal-staff",), YATSUSHIRO)
    subject = person()
    refused = client.get(f"/api/v1/tenants/{KUMAMOTO}/people/{subject}/consent-history", headers=yatsushiro_clerk)
    assert refused.status_code == 403
    own = client.get(f"/api/v1/tenants/{YATSUSHIRO}/people/{subject}/consent-history", headers=yatsushiro_clerk)
    assert own.status_code == 200 and own.get_json()["consents"] == []


def test_a_service_admin_sees_their_own_services_linkages_only(client, db, levels, user_factory, as_operator):
    _, kumamoto_admin = user_factory(("municipal-admin",), KUMAMOTO)
    _, yatsushiro_admin = user_factory(("municipal-admin",), YATSUSHIRO)
    ours = register(client, kumamoto_admin)
    theirs = register(client, yatsushiro_admin, YATSUSHIRO, name="八代 見守りサービス")
    for service in (ours, theirs):
        client.post(f"/api/v1/consent/services/{service['id']}/approve", json={}, headers=as_operator)
        client.post("/api/v1/consent/check", headers=as_operator, json={
            "service_id": service["id"], "tenant_code": KUMAMOTO, "subject_id": person(), "items": ["生年月日"],
            "purpose": "子育て支援サービスの案内"})
    own = client.get(f"/api/v1/consent/services/{ours['id']}/linkages", headers=kumamoto_admin)
    assert own.status_code == 200 and [li["reason"] for li in own.get_json()["items"]] == ["本人の同意がない"]
    assert client.get(f"/api/v1/consent/services/{theirs['id']}/linkages", headers=kumamoto_admin).status_code == 404
    assert client.get(f"/api/v1/consent/services/{theirs['id']}", headers=kumamoto_admin).status_code == 404
    listed = client.get("/api/v1/consent/services", headers=kumamoto_admin).get_json()["items"]
    assert [s["id"] for s in listed] == [ours["id"]]
    # the auditor searches across tenants
    _, auditor = user_factory(("auditor",))
    everything = client.get("/api/v1/consent/linkages?result=refused", headers=auditor).get_json()["items"]
    assert len(everything) == 2


def test_another_owners_service_is_not_found_for_every_act_not_forbidden(client, db, levels, user_factory):
    """Issue 36: reading another owner's service answered 404 but revising its text 403, so the
    answer told which ids exist. Now both are 404, as for an id nobody registered; a role that may
    never revise a text is refused (403) whatever the id, before its text is read."""
    _, kumamoto_admin = user_factory(("municipal-admin",), KUMAMOTO)
    _, yatsushiro_admin = user_factory(("municipal-admin",), YATSUSHIRO)
    theirs = register(client, yatsushiro_admin, YATSUSHIRO, name="八代 見守りサービス")
    nobody = theirs["id"] + 1000
    for service_id in (theirs["id"], nobody):
        assert client.get(f"/api/v1/consent/services/{service_id}", headers=kumamoto_admin).status_code == 404
        revised = client.post(f"/api/v1/consent/services/{service_id}/texts", json=SERVICE["text"], headers=kumamoto_admin)
        assert revised.status_code == 404 and revised.mimetype == "application/problem+json", revised.get_json()
    _, clerk = user_factory(("municipal-staff",), YATSUSHIRO)
    assert client.post(f"/api/v1/consent/services/{theirs['id']}/texts", json={}, headers=clerk).status_code == 403
    own = client.post(f"/api/v1/consent/services/{theirs['id']}/texts", json=SERVICE["text"], headers=yatsushiro_admin)
    assert own.status_code == 201, own.get_json()
