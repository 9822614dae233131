"""renkei keycloak bootstrap: creates the realm once; running it again changes nothing."""

import uuid

import pytest

from tenancy.identity.keycloak import KeycloakSettings, bootstrap_realm, client_credentials_token, master_admin


@pytest.fixture
def fresh_realm(keycloak_server):
    realm = f"bootstrap-{uuid.uuid4().hex[:6]}"
    master = master_admin(keycloak_server.url, keycloak_server.admin_user, keycloak_server.admin_password, "master")
    yield realm, master
    master.change_current_realm("master")
    master.delete_realm(realm)


def test_bootstrap_twice_changes_nothing_the_second_time(fresh_realm, keycloak_server):
    realm, master = fresh_realm
    settings = KeycloakSettings(url=keycloak_server.url, realm=realm, admin_client_secret="a-secret-for-the-admin-ui",
                                service_client_secret="a-secret-for-the-service", metering_client_secret="a-secret-for-metering",
                                redirect_uris=("http://127.0.0.1:5000/*", "http://127.0.0.1:5000/*", "http://localhost:5000/*"))
    first = bootstrap_realm(master, settings)
    assert f"realm {realm}" in first
    assert {"realm role municipal-admin", "client renkei-admin", "client renkei-service", "group /tenants"} <= set(first)
    second = bootstrap_realm(master_admin(keycloak_server.url, keycloak_server.admin_user, keycloak_server.admin_password,
                                          "master"), settings)
    assert second == []
    # the service account it set up works, and holds only the user-management roles
    token = client_credentials_token(settings, "renkei-service", "a-secret-for-the-service")
    assert token["access_token"]
    master.change_current_realm(realm)
    service_user = master.get_client_service_account_user(master.get_client_id("renkei-service"))
    management = master.get_client_id("realm-management")
    held = {r["name"] for r in master.get_client_roles_of_user(service_user["id"], management)}
    assert {"manage-users", "view-users", "query-groups", "view-realm", "view-events"} <= held


def test_bootstrap_repairs_what_was_removed(fresh_realm, keycloak_server):
    realm, master = fresh_realm
    settings = KeycloakSettings(url=keycloak_server.url, realm=realm, admin_client_secret="x" * 24,
                                service_client_secret="y" * 24, metering_client_secret="z" * 24)
    bootstrap_realm(master, settings)
    master.change_current_realm(realm)
    master.delete_realm_role("auditor")
    changes = bootstrap_realm(master, settings)
    assert changes == ["realm role auditor"]


def test_bootstrap_closes_the_password_grant_of_keycloaks_built_in_clients(fresh_realm, keycloak_server):
    """admin-cli, which Keycloak creates in every realm, accepts the password grant by default: a
    second door for guessing passwords. After bootstrap a correct password is refused there, while
    renkei's own client (direct grants on, as in tests) takes the same password."""
    import requests

    realm, master = fresh_realm
    settings = KeycloakSettings(url=keycloak_server.url, realm=realm, admin_client_secret="x" * 24,
                                service_client_secret="y" * 24, metering_client_secret="z" * 24, direct_grants=True)
    changes = bootstrap_realm(master, settings)
    assert "client admin-cli: password grant off" in changes
    master.change_current_realm(realm)
    user_id = master.create_user({"username": "door-probe", "email": "door-probe@example.jp", "firstName": "扉",
                                  "lastName": "確認", "enabled": True, "emailVerified": True})
    master.set_user_password(user_id, "Door-probe-password-1", temporary=False)
    token_url = f"{keycloak_server.url}/realms/{realm}/protocol/openid-connect/token"

    def password_grant(client_id: str, secret: str | None = None):
        data = {"grant_type": "password", "client_id": client_id, "username": "door-probe",
                "password": "Door-probe-password-1", "scope": "openid"}
        if secret:
            data["client_secret"] = secret
        return requests.post(token_url, data=data, timeout=30)

    assert password_grant(settings.admin_client_id, "x" * 24).status_code == 200  # the password is right
    refused = password_grant("admin-cli")
    assert refused.status_code in (400, 401) and "access_token" not in refused.json()
    assert refused.json()["error"] == "unauthorized_client"
    master.change_current_realm(realm)
    built_in = {c["clientId"]: c for c in master.get_clients() if c["clientId"] in ("admin-cli", "account-console")}
    assert not any(c.get("directAccessGrantsEnabled") for c in built_in.values())
