"""`renkei backup` / `renkei restore` carry the residents' realm (RENKEI_RESIDENTS_REALM, issue 42) beside the platform
realm, with a real Keycloak: its identity provider (the card provider, configured from its discovery URL) with its
mappers and the residents' links to it come back after both realms were deleted; the REST copy holds no provider
secret (Keycloak never returns one) and says so. In the style of tests/admin/test_backup_keycloak_export.py (its
fixture: a platform realm of its own, renkei on SQLite databases of its own)."""

from __future__ import annotations

import json
import tarfile
import uuid

import pytest

from tests.admin.test_backup_keycloak_export import _backup, _restore, setup  # noqa: F401  (the fixture)
from tests.residents.test_signin import PROVIDER_CLIENT, PROVIDER_SECRET, TARO, CardProvider

pytestmark = pytest.mark.keycloak


@pytest.fixture
def residents_realm(setup, keycloak_server):  # noqa: F811
    """The residents' realm set up as `renkei residents realm-setup` and `provider-add` do, with one resident who
    signed in through the card provider (their account and its link to the provider)."""
    from tenancy.identity import realm_copy
    from tenancy.identity.keycloak import ensure_provider, ensure_residents_realm

    _, master, _, _ = setup
    realm = f"residents-{uuid.uuid4().hex[:8]}"
    provider = CardProvider(keycloak_server, realm)
    try:
        ensure_residents_realm(master, realm, "renkei-portal", "portal-secret-0123456789",
                               ("http://renkei.test/portal/callback",))
        ensure_provider(master, realm, "mynumber-card", provider.discovery_url, PROVIDER_CLIENT, PROVIDER_SECRET,
                        "マイナンバーカード")
        master.change_current_realm(realm)
        # an account as an earlier version left it: the 基本4情報 stored on it (issue 50)
        resident = master.create_user({"username": "mynumber-card.card-subject-0001", "enabled": True,
                                       "firstName": "髙橋", "lastName": "太郎",
                                       "attributes": {"renkei_subject": ["card-subject-0001"],
                                                      "renkei_name": [TARO["full_name"]],
                                                      "renkei_address": [TARO["address"]],
                                                      "renkei_birthdate": [TARO["birthdate"]]}})
        linked = master.connection.raw_post(
            f"admin/realms/{realm}/users/{resident}/federated-identity/mynumber-card",
            data=json.dumps({"identityProvider": "mynumber-card", "userId": "card-subject-0001",
                             "userName": "card-subject-0001"}))
        assert linked.status_code == 204, linked.text
        master.change_current_realm("master")
        yield realm, resident
    finally:
        master.change_current_realm("master")
        realm_copy.delete_realm(master, realm)
        provider.close()


def test_the_residents_realm_and_its_provider_come_back_after_a_restore(setup, residents_realm, tmp_path):  # noqa: F811
    from tenancy.identity import realm_copy

    settings, master, make_app, _ = setup
    realm, resident = residents_realm
    quick = {"RENKEI_KEYCLOAK_STATE_DIR": str(tmp_path / "no-server"), "RENKEI_RESIDENTS_REALM": realm}  # REST copies
    archive_file = tmp_path / "with-residents.tar"
    made = _backup(make_app("source.db", **quick), archive_file)
    assert made.exit_code == 0, made.output
    assert f"residents' realm: {realm}" in made.output and "mynumber-card" in made.output
    assert "provider-add" in made.output  # the provider's secret is not in a REST copy: the operator is told
    with tarfile.open(archive_file) as tar:
        manifest = json.loads(tar.extractfile("manifest.json").read())
        held = tar.extractfile("keycloak-residents-realm.json").read().decode()
    assert manifest["residents_realm"]["identity_providers"] == ["mynumber-card"]
    assert manifest["residents_realm"]["counts"]["users"] == 1
    assert PROVIDER_SECRET not in held and "**********" not in held  # neither the secret nor a made-up one
    # none of the resident's 基本4情報 an earlier version left on the account (issue 50)
    assert not [item for item in ("髙橋", "太郎", TARO["address"], TARO["birthdate"]) if item in held]
    assert manifest["residents_realm"]["accounts_with_items_left_out"] == 1

    realm_copy.delete_realm(master, settings.realm)
    realm_copy.delete_realm(master, realm)
    assert not realm_copy.realm_exists(master, realm)
    restored = _restore(make_app("restored.db", **quick), archive_file)
    assert restored.exit_code == 0, restored.output
    assert f"residents' realm {realm}: identity providers mynumber-card" in restored.output

    assert realm_copy.realm_exists(master, realm) and realm_copy.realm_exists(master, settings.realm)
    master.change_current_realm(realm)
    [provider] = master.get_idps()
    assert (provider["alias"], provider["config"]["clientId"], provider["config"]["defaultScope"]) == (
        "mynumber-card", PROVIDER_CLIENT, "openid name address birthdate gender")
    assert {mapper["name"] for mapper in master.get_idp_mappers("mynumber-card")} >= {"renkei_claims", "username"}
    links = master.connection.raw_get(f"admin/realms/{realm}/users/{resident}/federated-identity").json()
    assert [(link["identityProvider"], link["userId"]) for link in links] == [("mynumber-card", "card-subject-0001")]
    master.change_current_realm("master")

    # a restore while the residents' realm exists is refused before anything is written (the platform realm too)
    realm_copy.delete_realm(master, settings.realm)
    again = _restore(make_app("again.db", **quick), archive_file)
    assert again.exit_code == 1 and f"the Keycloak realm {realm} exists" in again.output
    assert not realm_copy.realm_exists(master, settings.realm)
