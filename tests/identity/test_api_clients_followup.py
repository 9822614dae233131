"""Issue 15 follow-up on API clients: disable and enable on the client page (asked first, audited,
effective at once in Keycloak and at the gateway), the api_clients quota level shown where quota
levels are shown, and a member organisation's admin registering a client for it (API and page)."""

from __future__ import annotations

import datetime as dt
import random
import re

import pytest
import sqlalchemy as sa
from keycloak.exceptions import KeycloakError

from core.audit import AuditRecord
from core.calendar import today_jst
from core.codes import corporate_check_digit
from tenancy.identity import api_clients, client_access
from tenancy.identity.keycloak import client_credentials_token
from tenancy.members import operations as members
from tenancy.members.models import MemberStatus, Organisation
from usage import quota_alerts, quota_plans, quotas
from tests.conftest import sign_in
from tests.members.conftest import token_from_outbox
from tests.identity.gateway_status import STATUS_OF

CSRF = "api-clients-followup-token"
OUTSIDE = "203.0.113.9"


def body(**fields):
    data = {"name": "防災ダッシュボード連携", "purpose": "避難所の開設状況を取得する", "scopes": ["broker.read"],
            "expires_on": (today_jst() + dt.timedelta(days=30)).isoformat(), "allowlist": ["127.0.0.1/32"]}
    return {**data, **fields}


def form(tenant="431001", **fields):
    data = {"csrf_token": CSRF, "tenant": tenant, "name": "観光案内連携", "purpose": "観光施設の混雑状況を配信する",
            "scopes": ["broker.read"], "expires_on": (today_jst() + dt.timedelta(days=90)).isoformat(),
            "allowlist": "127.0.0.1/32"}
    return {**data, **fields}


def shown_secret(page: str) -> tuple[str, str]:
    client_id = re.search(r"renkei-client-[0-9]+-[0-9]+-[0-9]+-[0-9a-f]+", page).group(0)
    return client_id, re.search(r'<code id="client-secret">([^<]+)</code>', page).group(1)


def gateway(client, headers, token, address="127.0.0.1"):
    answer = client.post("/api/v1/gateway/check", json={"token": token, "address": address}, headers=headers)
    decided = answer.get_json()
    # the status is the decision (a gateway reads it); the body says the same
    assert answer.status_code == STATUS_OF[decided["reason"]], decided
    assert decided["allowed"] is (answer.status_code == 200)
    return decided


def actions(db, client_id: int) -> list[str]:
    db.expire_all()
    return list(db.scalars(sa.select(AuditRecord.action).where(AuditRecord.target_id == str(client_id),
                                                               AuditRecord.action.like("api_client.%"))
                           .order_by(AuditRecord.seq)))


class FakeDirectory:
    def __init__(self):
        self.enabled = {}

    def create_api_client(self, client_id, name, description, claims, optional_scopes=()):
        self.enabled[client_id] = True
        return "secret"

    def set_api_client_enabled(self, client_id, enabled):
        self.enabled[client_id] = enabled


# --- 1. disable and enable on the page --------------------------------------------------------------

@pytest.mark.keycloak
def test_a_municipal_admin_disables_after_being_told_the_consequence_and_enables_again(
        client, db, tenant_factory, directory, keycloak_settings, as_operator):
    tenant_factory("431001")
    sign_in(client, ["municipal-admin"], ["431001"], csrf=CSRF)
    created = client.post("/admin/api-clients/new", data=form())
    assert created.status_code == 200, created.get_data(as_text=True)
    client_id, secret = shown_secret(created.get_data(as_text=True))
    token = client_credentials_token(keycloak_settings, client_id, secret)["access_token"]
    number = int(re.search(r"/admin/api-clients/(\d+)/disable", client.get("/admin/api-clients/").get_data(as_text=True))
                 .group(1))

    asked = client.post(f"/admin/api-clients/{number}/disable", data={"csrf_token": CSRF}).get_data(as_text=True)
    assert "一時停止しますか" in asked and "発行済みのものを含む" in asked and "新しいトークンも発行されなくなります" in asked
    assert gateway(client, as_operator, token)["allowed"] is True  # nothing happened before the confirmation
    assert actions(db, number) == ["api_client.create"]

    done = client.post(f"/admin/api-clients/{number}/disable", data={"csrf_token": CSRF, "confirmed": "1"},
                       follow_redirects=True).get_data(as_text=True)
    assert "API クライアントを一時停止しました。" in done
    row = done.split("<tbody>")[1]
    assert "一時停止" in row and "再開する" in row and f"/admin/api-clients/{number}/disable" not in row
    assert actions(db, number) == ["api_client.create", "api_client.disable"]
    refused = gateway(client, as_operator, token)  # a token issued before: refused at once
    assert refused["allowed"] is False and refused["reason"] == "client_disabled"
    with pytest.raises(KeycloakError):  # and no new token
        client_credentials_token(keycloak_settings, client_id, secret)

    enabled = client.post(f"/admin/api-clients/{number}/enable", data={"csrf_token": CSRF},
                          follow_redirects=True).get_data(as_text=True)
    assert "API クライアントを再開しました。" in enabled
    assert actions(db, number) == ["api_client.create", "api_client.disable", "api_client.enable"]
    fresh = client_credentials_token(keycloak_settings, client_id, secret)["access_token"]
    assert gateway(client, as_operator, fresh)["allowed"] is True


def test_another_tenants_admin_cannot_disable_a_client_from_the_page(client, db, tenant_factory, operator):
    tenant_factory("431001")
    tenant_factory("432024")
    issued = api_clients.create_api_client(db, operator, FakeDirectory(), "431001", body())
    db.commit()
    sign_in(client, ["municipal-admin"], ["432024"], csrf=CSRF)
    answer = client.post(f"/admin/api-clients/{issued.client.id}/disable",
                         data={"csrf_token": CSRF, "confirmed": "1"}, follow_redirects=True)
    assert "API クライアント" in answer.get_data(as_text=True) and "はありません" in answer.get_data(as_text=True)
    db.expire_all()
    assert db.get(type(issued.client), issued.client.id).status == "active"
    assert actions(db, issued.client.id) == ["api_client.create"]


# --- 2. the api_clients level where quota levels are shown ----------------------------------------------

def test_the_quota_page_shows_the_clients_a_tenant_has_against_its_limit(client, db, tenant_factory, operator):
    tenant_factory("431001")
    quota_plans.set_quota_override(db, operator, "431001", {"metric": "api_clients", "limit": 3, "enforcement": "hard"})
    directory = FakeDirectory()
    kept = [api_clients.create_api_client(db, operator, directory, "431001", body(name=f"連携{i}")) for i in range(2)]
    gone = api_clients.create_api_client(db, operator, directory, "431001", body(name="廃止予定"))
    api_clients.revoke_api_client(db, operator, directory, gone.client.id)
    db.commit()

    sign_in(client)
    page = client.get("/admin/usage/tenants/431001/").get_data(as_text=True)
    row = re.search(r'<tr data-metric="api_clients">(.*?)</tr>', page, re.S).group(1)
    cells = [re.sub(r"<[^>]+>", "", cell).strip() for cell in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]
    assert cells[:2] == ["2", "3"]  # two clients (the revoked one does not count) against a limit of three

    # the same level in the quota status and the alerts once the limit is reached
    status = {r["metric"]: r for r in quotas.tenant_quota_status(db, operator, "431001")}
    assert (status["api_clients"]["used"], status["api_clients"]["limit"]) == (2, 3)
    quota_plans.set_quota_override(db, operator, "431001", {"metric": "api_clients", "limit": 2, "enforcement": "hard"})
    alerts = [a for a in quota_alerts.quota_alerts(db, operator) if a.metric == "api_clients"]
    assert [(a.tenant_code, a.used, a.limit) for a in alerts] == [("431001", 2, 2)]
    assert kept[0].client.status == "active"


# --- 3. a member organisation's clients -------------------------------------------------------------------

def fresh_number() -> str:
    base = f"{random.randint(1, 9)}{random.randrange(10 ** 11):011d}"
    return f"{corporate_check_digit(base)}{base}"


def approved_organisation(db, name="くまもとデータ株式会社") -> str:
    number = fresh_number()
    members.apply(db, members.Application(number, name, "company", "熊本県", "代表 太郎", "担当 花子",
                                          f"{number}@example.jp"),
                  confirm_url=lambda token: f"http://renkei.test/join/confirm/{token}")
    members.confirm_email(db, token_from_outbox(db, number))
    db.scalar(sa.select(Organisation).where(Organisation.corporate_number == number)).status = MemberStatus.approved
    db.commit()
    return number


@pytest.mark.keycloak
def test_an_organisation_admin_creates_a_client_through_the_api(client, db, tenant_factory, user_factory,
                                                                keycloak_settings, as_operator):
    number = approved_organisation(db)
    _, org_admin = user_factory(("org-admin",), number, fresh=True)
    created = client.post(f"/api/v1/tenants/{number}/api-clients", json=body(), headers=org_admin)
    assert created.status_code == 201, created.get_json()
    answer = created.get_json()
    assert answer["client"]["tenant"] == number
    listed = client.get(f"/api/v1/tenants/{number}/api-clients", headers=org_admin).get_json()
    assert [c["id"] for c in listed["items"]] == [answer["client"]["id"]]

    token = client_credentials_token(keycloak_settings, answer["client_id"], answer["client_secret"])["access_token"]
    allowed = gateway(client, as_operator, token)
    assert allowed["allowed"] is True and allowed["tenant"] == number
    outside = gateway(client, as_operator, token, OUTSIDE)
    assert outside["allowed"] is False and outside["reason"] == "address_not_allowed"

    # 熊本市's admin neither sees nor creates the organisation's clients
    tenant_factory("431001")
    _, kumamoto = user_factory(("municipal-admin",), "431001")
    assert client.get(f"/api/v1/api-clients/{answer['client']['id']}", headers=kumamoto).status_code == 404
    assert client.post(f"/api/v1/tenants/{number}/api-clients", json=body(), headers=kumamoto).status_code == 403

    # a withdrawn organisation's client is refused by the gateway, with the reason
    db.scalar(sa.select(Organisation).where(Organisation.corporate_number == number)).status = MemberStatus.withdrawn
    db.commit()
    client_access.forget_client_states()
    closed = gateway(client, as_operator, token)
    assert closed["allowed"] is False and closed["reason"] == "tenant_not_active"
    refused = client.post(f"/api/v1/tenants/{number}/api-clients", json=body(name="二つ目"), headers=org_admin)
    assert refused.status_code == 409, refused.get_json()


@pytest.mark.keycloak
def test_a_corporate_number_with_a_wrong_check_digit_is_refused(client, db, user_factory):
    _, operator = user_factory(("platform-operator",))
    wrong = "1000012050002"  # 国税庁 (7000012050002) with a wrong check digit
    answer = client.post(f"/api/v1/tenants/{wrong}/api-clients", json=body(), headers=operator)
    assert answer.status_code == 422 and "7000012050002" in answer.get_data(as_text=True)
    unknown = client.post(f"/api/v1/tenants/{fresh_number()}/api-clients", json=body(), headers=operator)
    assert unknown.status_code == 404  # a valid number of no member organisation


@pytest.mark.keycloak
def test_an_organisation_admin_registers_a_client_on_the_page(client, db, directory):
    number = approved_organisation(db, name="熊本大学データ連携室")
    sign_in(client, ["org-admin"], [number], csrf=CSRF)
    page = client.get("/admin/api-clients/new").get_data(as_text=True)
    assert f'<option value="{number}"' in page and "熊本大学データ連携室" in page
    created = client.post("/admin/api-clients/new", data=form(tenant=number))
    assert created.status_code == 200, created.get_data(as_text=True)
    assert "一度だけ" in created.get_data(as_text=True)
    listing = client.get("/admin/api-clients/").get_data(as_text=True)
    assert f"{number} 熊本大学データ連携室" in listing and "観光案内連携" in listing
