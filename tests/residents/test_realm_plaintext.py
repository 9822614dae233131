"""The 基本4情報 nowhere in plain text (renkei issue 50 item 1), with a real Keycloak: a card sign-in brings
the claims to renkei through the sign-in's session, never onto the residents' realm's account; the realm's
copy a backup makes holds none of them; what an earlier version stored is erased and its mappers replaced;
leaving deletes the resident's realm accounts."""

from __future__ import annotations

import datetime as dt
import json

import pytest
import sqlalchemy as sa

from core.actor import Actor
from core.audit import AuditRecord
from residents import operations as residents
from residents.models import Resident, ResidentIdentity
from tests.residents.test_signin import TARO, card_sign_in, command, portal, realms  # noqa: F401  (fixtures)

pytestmark = pytest.mark.keycloak

ITEMS = ("髙橋", "太郎", TARO["address"], "水前寺", TARO["birthdate"])


def _master(keycloak_server):
    from tenancy.identity.keycloak import master_admin

    return master_admin(keycloak_server.url, keycloak_server.admin_user, keycloak_server.admin_password, "master")


def _realm_users(keycloak_server, realm: str) -> list[dict]:
    admin = _master(keycloak_server)
    admin.change_current_realm(realm)
    return admin.get_users({"briefRepresentation": False})


def _accounts(keycloak_server, realm: str, *subjects: str) -> list[dict]:
    """The realm's accounts of these provider identifiers (the module's realm holds other tests' too)."""
    names = {f"mynumber-card.{subject}" for subject in subjects}
    return [user for user in _realm_users(keycloak_server, realm) if user["username"] in names]


def _held(text: str) -> list[str]:
    return [item for item in ITEMS if item in text]


def test_a_card_sign_in_leaves_no_basic_four_on_the_realm_account(app, client, db, portal, realms, keys,
                                                                   keycloak_server):
    from admin.resident_keys import keyring
    from tenancy.identity import realm_copy

    residents_realm, _ = realms
    sub = portal.person("taro")
    card_sign_in(client, "taro")
    # renkei received the items: the resident is enrolled with them
    resident = db.scalar(sa.select(Resident))
    with app.app_context():
        assert residents.personal_items(resident, keyring()) == {
            "full_name": TARO["full_name"], "address": TARO["address"], "birth_date": "1980-04-01", "sex": "1"}
    # the realm's account holds none of them
    users = _realm_users(keycloak_server, residents_realm)
    assert [user["username"] for user in users] == [f"mynumber-card.{sub}"]
    assert not _held(repr(users)), users
    assert not {"renkei_name", "renkei_address", "renkei_birthdate", "renkei_gender"} & set(users[0].get("attributes") or {})
    # nor does the realm's copy a backup makes
    copied = json.dumps(realm_copy.export_realm(_master(keycloak_server), residents_realm), ensure_ascii=False)
    assert "mynumber-card." in copied and not _held(copied)
    # signing in again (the claims refreshed at every sign-in) stores none either, and renkei still reads them
    client.get("/portal/logout")
    card_sign_in(client, "taro")
    assert resident.common_id in client.get("/portal/").get_data(as_text=True)
    assert not _held(repr(_realm_users(keycloak_server, residents_realm)))


def test_the_erase_command_removes_what_an_earlier_version_stored_and_realm_setup_replaces_its_mappers(
        app, client, db, portal, realms, keys, keycloak_server):
    residents_realm, _ = realms
    sub = portal.person("taro3")
    card_sign_in(client, "taro3")
    admin = _master(keycloak_server)
    admin.change_current_realm(residents_realm)
    # the account and a mapper as an earlier version left them
    [user] = _accounts(keycloak_server, residents_realm, sub)
    admin.update_user(user["id"], {"username": user["username"], "firstName": "髙橋", "lastName": "太郎", "attributes": {
        "renkei_subject": ["card-sub"], "renkei_name": [TARO["full_name"]], "renkei_address": [TARO["address"]],
        "renkei_birthdate": [TARO["birthdate"]], "renkei_gender": ["male"]}})
    admin.add_mapper_to_idp("mynumber-card", {
        "name": "renkei_address", "identityProviderAlias": "mynumber-card",
        "identityProviderMapper": "oidc-user-attribute-idp-mapper",
        "config": {"syncMode": "INHERIT", "claim": "address.formatted", "user.attribute": "renkei_address"}})
    assert len(_held(repr(_accounts(keycloak_server, residents_realm, sub)))) == len(ITEMS)

    erased = command(app, "erase-realm-attributes")
    assert erased.exit_code == 0 and "accounts the 基本4情報 were erased from: 1" in erased.output, erased.output
    [after] = _accounts(keycloak_server, residents_realm, sub)
    assert not _held(repr(after)) and after["attributes"].get("renkei_subject") == ["card-sub"]
    record = db.scalar(sa.select(AuditRecord).where(AuditRecord.action == "resident.realm.erase"))
    assert record is not None and record.target_id == residents_realm
    again = command(app, "erase-realm-attributes")
    assert "erased from: 0" in again.output, again.output

    setup = command(app, "realm-setup")  # the earlier version's mapper goes
    assert setup.exit_code == 0 and "mapper renkei_address removed" in setup.output, setup.output
    admin.change_current_realm(residents_realm)
    assert {mapper["identityProviderMapper"] for mapper in admin.get_idp_mappers("mynumber-card")} == {
        "oidc-user-session-note-idp-mapper", "hardcoded-attribute-idp-mapper", "oidc-username-idp-mapper"}
    client.get("/portal/logout")
    card_sign_in(client, "taro3")
    assert not _held(repr(_realm_users(keycloak_server, residents_realm)))


def test_leaving_deletes_the_residents_realm_accounts(app, client, db, portal, realms, keys, keycloak_server):
    from admin.commands.jobs import _realm_accounts_deleter
    from residents import portal_records
    from residents.models import ResidentStatus

    residents_realm, _ = realms
    taro_sub = portal.person("taro4")
    card_sign_in(client, "taro4")
    client.get("/portal/logout")
    hanako_sub = portal.person("hanako4", {**TARO, "full_name": "山田 花子", "gender": "female"})
    card_sign_in(client, "hanako4")
    assert len(_accounts(keycloak_server, residents_realm, taro_sub, hanako_sub)) == 2
    taro, hanako = db.scalars(sa.select(Resident).order_by(Resident.id)).all()
    job = Actor(issuer="urn:test", subject="job", roles=frozenset({"platform-operator"}))

    # hanako leaves: the operator's command deletes her account, nobody else's
    hanako.status, hanako.left_at = ResidentStatus.left, dt.datetime.now(dt.timezone.utc)
    db.commit()
    deleted = command(app, "delete-left-accounts")
    assert deleted.exit_code == 0 and "accounts of residents who left deleted: 1" in deleted.output, deleted.output
    assert [user["username"] for user in _accounts(keycloak_server, residents_realm, taro_sub, hanako_sub)] == [
        f"mynumber-card.{taro_sub}"]
    assert db.scalar(sa.select(AuditRecord).where(AuditRecord.action == "resident.realm.accounts.delete")).target_id == \
        hanako.common_id

    # taro leaves at the portal; a year on the retention job deletes his account before erasing his identifiers
    client.get("/portal/logout")
    card_sign_in(client, "taro4")
    client.get("/portal/leave")
    with client.session_transaction() as session:
        token = session["csrf"]
    assert client.post("/portal/leave", data={"csrf_token": token}).status_code == 302
    assert db.get(Resident, taro.id).status is ResidentStatus.left
    later = dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=400)
    assert portal_records.erase_left(db, job, now=later, delete_accounts=_realm_accounts_deleter(job)) == 2
    db.commit()
    assert _accounts(keycloak_server, residents_realm, taro_sub, hanako_sub) == []
    assert db.scalar(sa.select(sa.func.count()).select_from(ResidentIdentity)) == 0
