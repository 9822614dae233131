"""`renkei keycloak bootstrap` sets the realm's sign-in security (issue 14, build item 7)."""

from __future__ import annotations

import uuid

import jwt
import pytest
from keycloak import KeycloakOpenID
from keycloak.exceptions import KeycloakError

from tenancy.identity.keycloak import KeycloakSettings, bootstrap_realm, master_admin


@pytest.fixture
def fresh_realm(keycloak_server):
    realm = f"signin-{uuid.uuid4().hex[:6]}"
    master = master_admin(keycloak_server.url, keycloak_server.admin_user, keycloak_server.admin_password, "master")
    yield realm, master
    master.change_current_realm("master")
    master.delete_realm(realm)


def _settings(keycloak_server, realm, **extra):
    return KeycloakSettings(url=keycloak_server.url, realm=realm, admin_client_secret="a-secret-for-the-admin-ui",
                            service_client_secret="a-secret-for-the-service", metering_client_secret="a-secret-for-metering",
                            direct_grants=True, **extra)


def test_bootstrap_sets_password_policy_brute_force_short_tokens_and_admin_events(fresh_realm, keycloak_server):
    realm, master = fresh_realm
    settings = _settings(keycloak_server, realm)
    bootstrap_realm(master, settings)
    master.change_current_realm(realm)
    # behaviour a person meets: a short password, or the username as password, is refused
    user_id = master.create_user({"username": "tanaka", "email": "tanaka@example.jp", "enabled": True,
                                  "firstName": "太郎", "lastName": "田中", "emailVerified": True})
    for weak in ("Short-pw-1", "tanaka"):
        with pytest.raises(KeycloakError):
            master.set_user_password(user_id, weak, temporary=False)
    master.set_user_password(user_id, "A-long-enough-pass-1", temporary=False)
    with pytest.raises(KeycloakError):  # history: the same password again is refused
        master.set_user_password(user_id, "A-long-enough-pass-1", temporary=False)

    # a person's access token lives 5 minutes
    oidc = KeycloakOpenID(server_url=keycloak_server.url + "/", realm_name=realm, client_id="renkei-admin",
                          client_secret_key="a-secret-for-the-admin-ui")
    token = oidc.token("tanaka", "A-long-enough-pass-1")
    # read from the token's own claims: expires_in counts down from the server's clock and may
    # already read 299 when a second turns between issuing and answering; Keycloak reads its clock
    # once for iat and again for exp, so a second turning between the two makes the span 301
    claims = jwt.decode(token["access_token"], options={"verify_signature": False})
    assert claims["exp"] - claims["iat"] in (5 * 60, 5 * 60 + 1)
    assert master.get_realm(realm)["accessTokenLifespan"] == 5 * 60
    assert 0 < token["expires_in"] <= 5 * 60

    # five wrong passwords lock the account for a while, even for the right one
    for _ in range(5):
        with pytest.raises(KeycloakError):
            oidc.token("tanaka", "wrong-password-123")
    with pytest.raises(KeycloakError):
        oidc.token("tanaka", "A-long-enough-pass-1")

    current = master.get_realm(realm)
    assert current["adminEventsEnabled"] and current["adminEventsDetailsEnabled"]


def test_bootstrap_requires_totp_of_privileged_people_only(fresh_realm, keycloak_server):
    realm, master = fresh_realm
    settings = _settings(keycloak_server, realm, require_totp=True)
    bootstrap_realm(master, settings)
    master.change_current_realm(realm)
    people = {}
    for name, role in (("op-1", "platform-operator"), ("fin-1", "finance-officer"), ("aud-1", "auditor"),
                       ("madmin", "municipal-admin"), ("staff", "municipal-staff"), ("orgadmin", "org-admin"),
                       ("datauser", "data-user")):
        people[name] = master.create_user({"username": name, "email": f"{name}@example.jp", "enabled": True})
        master.assign_realm_roles(people[name], [master.get_realm_role(role)])
    second = bootstrap_realm(master, settings)
    master.change_current_realm(realm)
    required = {name: set(master.get_user(uid).get("requiredActions") or []) for name, uid in people.items()}
    # an organisation's admin manages people and API clients as a municipal admin does (issue 26)
    assert {name for name, actions in required.items() if "CONFIGURE_TOTP" in actions} == {
        "op-1", "fin-1", "aud-1", "madmin", "orgadmin"}
    assert len(second) == 5
    assert bootstrap_realm(master, settings) == []  # the third run changes nothing


def test_the_demo_bootstrap_relaxes_totp(fresh_realm, keycloak_server):
    realm, master = fresh_realm
    settings = _settings(keycloak_server, realm, require_totp=False)
    bootstrap_realm(master, settings)
    master.change_current_realm(realm)
    uid = master.create_user({"username": "op-1", "email": "op@example.jp", "enabled": True})
    master.assign_realm_roles(uid, [master.get_realm_role("platform-operator")])
    bootstrap_realm(master, settings)
    master.change_current_realm(realm)
    assert "CONFIGURE_TOTP" not in (master.get_user(uid).get("requiredActions") or [])


def test_an_invited_municipal_admin_must_set_up_totp(client, db, tenant_factory, user_factory, directory, app,
                                                    monkeypatch):
    import dataclasses

    tenant_factory("432024")
    _, operator = user_factory(("platform-operator",))
    strict = type(directory)(dataclasses.replace(directory.settings, require_totp=True))
    monkeypatch.setitem(app.extensions, "renkei_identity", strict)
    for roles, expected in ((["municipal-admin"], True), (["municipal-staff"], False)):
        name = f"inv-{uuid.uuid4().hex[:8]}"
        answer = client.post("/api/v1/tenants/432024/users", headers=operator,
                             json={"username": name, "email": f"{name}@example.jp", "first_name": "花子",
                                   "last_name": "八代", "roles": roles})
        assert answer.status_code == 201, answer.get_json()
        actions = directory.admin.get_user(answer.get_json()["id"]).get("requiredActions") or []
        assert ("CONFIGURE_TOTP" in actions) is expected


def test_a_person_later_given_an_admin_role_must_set_up_totp(client, db, tenant_factory, user_factory, directory,
                                                             app, monkeypatch):
    """The second factor follows the role, not only the invitation: staff promoted to municipal admin
    are asked for a TOTP device at their next sign-in."""
    import dataclasses

    tenant_factory("432024")
    _, operator = user_factory(("platform-operator",))
    staff, _ = user_factory(("municipal-staff",), "432024")
    assert "CONFIGURE_TOTP" not in (directory.admin.get_user(staff.id).get("requiredActions") or [])
    strict = type(directory)(dataclasses.replace(directory.settings, require_totp=True))
    monkeypatch.setitem(app.extensions, "renkei_identity", strict)
    answer = client.put(f"/api/v1/tenants/432024/users/{staff.id}/roles", json={"roles": ["municipal-admin"]},
                        headers=operator)
    assert answer.status_code == 200, answer.get_json()
    assert "CONFIGURE_TOTP" in (directory.admin.get_user(staff.id).get("requiredActions") or [])


def _password_hashing(admin, user_id) -> tuple[str, int]:
    import json

    [credential] = [c for c in admin.get_credentials(user_id) if c.get("type") == "password"]
    data = json.loads(credential["credentialData"])
    return data["algorithm"], data["hashIterations"]


def test_keycloaks_own_hashing_unless_the_cost_is_lowered_then_pbkdf2_at_that_count(fresh_realm, keycloak_server,
                                                                                     directory, user_factory):
    """Production keeps Keycloak's own hashing (Argon2); the suite's realm (RENKEI_KEYCLOAK_PASSWORD_HASH_ITERATIONS,
    which production refuses) hashes with PBKDF2-SHA256 at one iteration: Argon2's cost is its memory, about 45 ms of
    the server's CPU a sign-in at one iteration. Its people still sign in with their passwords."""
    realm, master = fresh_realm
    bootstrap_realm(master, _settings(keycloak_server, realm))
    master.change_current_realm(realm)
    user_id = master.create_user({"username": "sato", "email": "sato@example.jp", "enabled": True,
                                  "firstName": "花子", "lastName": "佐藤", "emailVerified": True})
    master.set_user_password(user_id, "A-long-enough-pass-1", temporary=False)
    assert _password_hashing(master, user_id)[0] == "argon2"

    account, headers = user_factory(("municipal-staff",), "431001", fresh=True)  # signed in with its password
    assert headers["Authorization"].startswith("Bearer ")
    assert _password_hashing(directory.admin, account.id) == ("pbkdf2-sha256", 1)
