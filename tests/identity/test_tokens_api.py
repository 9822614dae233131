"""Bearer tokens on the API, checked against the real realm; login redirect on /admin."""

import base64
import json
import time
import uuid

import pytest
import requests

from tenancy.identity.keycloak import client_credentials_token, master_admin
from tests.conftest import SERVICE_SECRET, sign_in


def tamper_signature(token: str) -> str:
    header, payload, signature = token.split(".")
    flipped = ("A" if signature[10] != "A" else "B")
    return ".".join([header, payload, signature[:10] + flipped + signature[11:]])


def b64(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def problem(response):
    assert response.mimetype == "application/problem+json"
    return response.get_json()


def test_no_token_is_401(client):
    response = client.get("/api/v1/tenants")
    assert response.status_code == 401
    assert "ログイン" in problem(response)["detail_ja"]
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize("header", ["Bearer", "Bearer not.a.jwt", "Basic dXNlcjpwYXNz", "Bearer a.b"])
def test_malformed_authorization_is_401(client, header):
    assert client.get("/api/v1/tenants", headers={"Authorization": header}).status_code == 401


def test_a_tampered_signature_is_401(client, as_operator):
    token = as_operator["Authorization"].split()[1]
    response = client.get("/api/v1/tenants", headers={"Authorization": f"Bearer {tamper_signature(token)}"})
    assert response.status_code == 401


def test_alg_none_is_401(client, as_operator):
    token = as_operator["Authorization"].split()[1]
    header, payload, _ = token.split(".")
    forged = f"{b64({'alg': 'none', 'typ': 'JWT'})}.{payload}."
    response = client.get("/api/v1/tenants", headers={"Authorization": f"Bearer {forged}"})
    assert response.status_code == 401
    assert "none" in problem(response)["detail_en"]


def test_a_token_for_another_audience_is_401(client, keycloak_settings):
    # renkei's own service account gets tokens without the renkei-api audience
    token = client_credentials_token(keycloak_settings, keycloak_settings.service_client_id, SERVICE_SECRET)["access_token"]
    response = client.get("/api/v1/tenants", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401
    assert "audience" in problem(response)["detail_en"]


def test_a_token_from_another_issuer_is_401(client, keycloak_server):
    # a perfectly valid token of the master realm: another issuer, other keys
    token = requests.post(f"{keycloak_server.url}/realms/master/protocol/openid-connect/token", data={
        "grant_type": "password", "client_id": "admin-cli",
        "username": keycloak_server.admin_user, "password": keycloak_server.admin_password}, timeout=10).json()["access_token"]
    assert client.get("/api/v1/tenants", headers={"Authorization": f"Bearer {token}"}).status_code == 401


def test_an_expired_token_is_401(client, keycloak_server, keycloak_settings):
    master = master_admin(keycloak_settings.url, keycloak_server.admin_user, keycloak_server.admin_password, "master")
    master.change_current_realm(keycloak_settings.realm)
    client_id, secret = f"short-lived-{uuid.uuid4().hex[:6]}", "short-lived-secret-0123456789"
    master.create_client({"clientId": client_id, "secret": secret, "publicClient": False, "serviceAccountsEnabled": True,
                          "standardFlowEnabled": False, "attributes": {"access.token.lifespan": "1"},
                          "defaultClientScopes": ["roles", "basic", "renkei-api"]})
    token = client_credentials_token(keycloak_settings, client_id, secret)["access_token"]
    deadline = time.monotonic() + 30  # the token lives 1 s (plus the stated leeway): waited for, not slept on
    # while it is valid the token (no role) is refused 403; once expired, 401
    while (response := client.get("/api/v1/tenants", headers={"Authorization": f"Bearer {token}"})).status_code == 403:
        assert time.monotonic() < deadline, "an expired token was still accepted 30 s after it was issued"
        time.sleep(0.2)  # polling the condition
    assert response.status_code == 401
    assert "expired" in problem(response)["detail_en"]


def test_admin_without_login_redirects_to_the_login(client):
    response = client.get("/admin/tenants/")
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]


def test_a_signed_in_user_without_the_grant_gets_403_in_admin(client, tenant_factory, user_factory):
    tenant_factory("431001")
    sign_in(client, ["finance-officer"])
    assert client.get("/admin/audit/").status_code == 403
