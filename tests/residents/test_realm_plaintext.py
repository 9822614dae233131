"""The 基本4情報 nowhere in plain text (renkei issue 50 item 1), with a real Keycloak: a card sign-in brings
the claims to renkei through the sign-in's session, never onto the residents' realm's account; the realm's
export and the backup archive hold none of them; an earlier version's stored attributes are erased; leaving
deletes the resident's realm accounts."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from residents import operations as residents
from residents.models import Resident
from tests.residents.test_signin import TARO, card_sign_in, command, portal, realms  # noqa: F401  (fixtures)

pytestmark = pytest.mark.keycloak

ITEMS = ("髙橋", "太郎", TARO["address"], "水前寺", TARO["birthdate"])


def _realm_users(keycloak_server, realm: str) -> list[dict]:
    from tenancy.identity.keycloak import master_admin

    admin = master_admin(keycloak_server.url, keycloak_server.admin_user, keycloak_server.admin_password, "master")
    admin.change_current_realm(realm)
    return admin.get_users({"briefRepresentation": False})


def test_a_card_sign_in_leaves_no_basic_four_on_the_realm_account(app, client, db, portal, realms, keys,
                                                                   keycloak_server):
    residents_realm, _ = realms
    portal.person("taro")
    card_sign_in(client, "taro")
    # renkei received the items: the resident is enrolled with them
    from admin.resident_keys import keyring

    resident = db.scalar(sa.select(Resident))
    with app.app_context():
        assert residents.personal_items(resident, keyring()) == {
            "full_name": TARO["full_name"], "address": TARO["address"], "birth_date": "1980-04-01", "sex": "1"}
    # the realm's account holds none of them
    users = _realm_users(keycloak_server, residents_realm)
    print(users)
    assert [user["username"].split(".")[0] for user in users] == ["mynumber-card"]
    text = repr(users)
    assert not [item for item in ITEMS if item in text], text
    assert not {"renkei_name", "renkei_address", "renkei_birthdate", "renkei_gender"} & set(users[0].get("attributes") or {})
