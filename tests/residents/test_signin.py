"""Sign-in with the My Number card (issue 42 item 4), end to end with a real Keycloak.

A second realm of the session's Keycloak stands up as the card provider (デジタル認証アプリ's claims: name,
address, birthdate, gender, from user attributes through protocol mappers); the residents' realm and the provider
are configured by `renkei residents realm-setup` and `provider-add` from the provider's discovery URL; a resident
signs in through the portal (the browser's part driven with requests, posting Keycloak's login form), enrols and
has a common ID. A renewal that gives a new identifier (the provider's user deleted and made again with the same
基本4情報) waits for the desk, which joins it to the same person; a counter enrolment of the same person sends the sign-in to review; the
residents' sessions and tokens never open a staff page or the API, nor a staff session the portal.
"""

from __future__ import annotations

import html
import re
import uuid
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
import requests
import sqlalchemy as sa

from core.audit import AuditRecord
from residents import operations as residents
from residents.models import Resident, ResidentIdentity, ResidentReview, ResidentSignIn
from tests.conftest import sign_in as staff_sign_in
from tests.residents.conftest import KUMAMOTO, desk

pytestmark = pytest.mark.keycloak

PROVIDER_CLIENT, PROVIDER_SECRET = "renkei-residents", "card-provider-secret-0123456789"
PORTAL_SECRET = "portal-client-secret-0123456789"
PASSWORD = "Card-password-1"
TARO = {"full_name": "髙橋 太郎", "address": "熊本県熊本市中央区水前寺6丁目18番1号", "birthdate": "1980-04-01", "gender": "male"}


class CardProvider:
    """A realm playing the card provider, made by the demo's own stand-in (tenancy.identity.keycloak.card_standin):
    scopes ``name``, ``birthdate``, ``gender`` (and Keycloak's own ``address``) put the user's attributes in the ID
    token, as the provider's claims."""

    def __init__(self, keycloak_server, residents_realm: str):
        from tenancy.identity.keycloak import ensure_card_standin, master_admin

        self.url = keycloak_server.url
        self.realm = f"card-{uuid.uuid4().hex[:8]}"
        self.admin = master_admin(self.url, keycloak_server.admin_user, keycloak_server.admin_password, "master")
        ensure_card_standin(self.admin, self.realm, PROVIDER_CLIENT, PROVIDER_SECRET,
                            f"{self.url}/realms/{residents_realm}/broker/*")

    @property
    def discovery_url(self) -> str:
        return f"{self.url}/realms/{self.realm}/.well-known/openid-configuration"

    @property
    def issuer(self) -> str:
        return f"{self.url}/realms/{self.realm}"

    def person(self, username: str, items: dict[str, str] = TARO) -> str:
        """The card's holder (their identifier at the provider, ``sub``)."""
        from tenancy.identity.keycloak import ensure_card_holder

        return ensure_card_holder(self.admin, self.realm, username, PASSWORD, items)

    def renew(self, username: str, items: dict[str, str] = TARO) -> str:
        """A renewed certificate: the same person under a new identifier."""
        self.admin.change_current_realm(self.realm)
        self.admin.delete_user(self.admin.get_user_id(username))
        return self.person(username, items)

    def close(self) -> None:
        self.admin.change_current_realm("master")
        self.admin.delete_realm(self.realm)


@pytest.fixture(scope="module")
def realms(keycloak_server):
    from tenancy.identity.keycloak import master_admin

    residents_realm = f"residents-{uuid.uuid4().hex[:8]}"
    provider = CardProvider(keycloak_server, residents_realm)
    yield residents_realm, provider
    provider.close()
    admin = master_admin(keycloak_server.url, keycloak_server.admin_user, keycloak_server.admin_password, "master")
    if any(realm["realm"] == residents_realm for realm in admin.get_realms()):
        admin.delete_realm(residents_realm)


@pytest.fixture
def portal(app, db, consent_setup, realms, keycloak_server, monkeypatch):
    """The app set up for the residents' realm of this module, the realm and the card provider configured by
    the commands (the operator), Kumamoto's portal."""
    residents_realm, provider = realms
    for name, value in {"RENKEI_RESIDENTS_REALM": residents_realm, "RENKEI_RESIDENTS_CLIENT_SECRET": PORTAL_SECRET,
                        "RENKEI_PORTAL_TENANT": KUMAMOTO, "RENKEI_PUBLIC_URL": "http://renkei.test",
                        "RENKEI_KEYCLOAK_ADMIN_USER": keycloak_server.admin_user,
                        "RENKEI_KEYCLOAK_ADMIN_PASSWORD": keycloak_server.admin_password}.items():
        monkeypatch.setitem(app.config, name, value)
    assert command(app, "realm-setup").exit_code == 0
    added = command(app, "provider-add", "--alias", "mynumber-card", "--discovery-url", provider.discovery_url,
                    "--client-id", PROVIDER_CLIENT, "--client-secret", PROVIDER_SECRET, "--assurance-level", "3",
                    "--display-name", "マイナンバーカード")
    assert added.exit_code == 0, added.output
    return provider


def command(app, *args):
    return app.test_cli_runner().invoke(args=["residents", *args, "--as", "cli-operator", "--role", "platform-operator"])


def _keycloak(browser: requests.Session, response: requests.Response) -> requests.Response:
    """Follow Keycloak's redirects (the browser's part) until one leaves for renkei."""
    while True:
        for cookie in browser.cookies:  # browsers send Secure cookies to http://127.0.0.1; requests does not
            cookie.secure = False
        location = response.headers.get("Location", "")
        if response.status_code not in (302, 303) or location.startswith("http://renkei.test"):
            return response
        response = browser.get(location, allow_redirects=False, timeout=30)


def card_sign_in(client, username: str, provider: str | None = None):
    """A resident signs in at /portal/login through the card provider's login form; the portal's answer."""
    start = client.get("/portal/login" + (f"?provider={provider}" if provider else ""))
    assert start.status_code == 302, start.get_data(as_text=True)[:500]
    browser = requests.Session()
    page = _keycloak(browser, browser.get(start.headers["Location"], allow_redirects=False, timeout=30))
    assert page.status_code == 200, page.text[:300]
    action = html.unescape(re.search(r'<form[^>]+action="([^"]+)"', page.text).group(1))
    back = _keycloak(browser, browser.post(action, data={"username": username, "password": PASSWORD, "credentialId": ""},
                                           allow_redirects=False, timeout=30))
    assert back.status_code == 302 and back.headers["Location"].startswith("http://renkei.test/portal/callback"), \
        back.text[:500]
    return client.get(back.headers["Location"].removeprefix("http://renkei.test"))


def test_a_resident_signs_in_with_the_card_and_is_issued_a_common_id(app, client, db, portal, keys, monkeypatch):
    sub = portal.person("taro")
    landed = card_sign_in(client, "taro")
    assert landed.status_code == 302 and landed.headers["Location"].endswith("/portal/")
    page = client.get("/portal/").get_data(as_text=True)
    resident = db.scalar(sa.select(Resident))
    assert resident.common_id and resident.common_id in page and "共通ID" in page
    assert "マイナンバーカード" in page and '<html lang="ja">' in page
    assert "Your common ID" in client.get("/portal/?lang=en").get_data(as_text=True)
    # the provider's identifier, the verified claims (stored encrypted), the assurance and when
    identity = db.scalar(sa.select(ResidentIdentity))
    assert (identity.issuer, identity.subject, identity.resident_id) == (portal.issuer, sub, resident.id)
    signed = db.scalar(sa.select(ResidentSignIn))
    assert signed.assurance_level == 3 and signed.subject == sub and signed.signed_in_at is not None
    assert "renkei_birthdate" in signed.verified_claims
    # the ID token the session keeps (and sends back to Keycloak at sign-out, in the URL) holds none of the 基本4情報
    import base64
    import json

    with client.session_transaction() as session:
        id_token = session["resident_id_token"]
    payload = json.loads(base64.urlsafe_b64decode(id_token.split(".")[1] + "=="))
    assert payload["sub"] and not [name for name in payload if name.startswith("renkei_")], sorted(payload)
    assert not any(value in json.dumps(payload, ensure_ascii=False) for value in TARO.values())
    assert resident.verification.value == "provider" and resident.assurance_level == 3
    assert "髙橋" not in resident.full_name  # ciphertext
    from admin.resident_keys import keyring

    with app.app_context():
        items = residents.personal_items(resident, keyring())
    assert items == {"full_name": TARO["full_name"], "address": TARO["address"], "birth_date": "1980-04-01", "sex": "1"}
    # signing in again is the same person
    client.get("/portal/logout")
    assert "id=\"common-id\"" not in client.get("/portal/").get_data(as_text=True)
    card_sign_in(client, "taro")
    assert db.scalar(sa.select(sa.func.count()).select_from(Resident)) == 1
    assert db.scalar(sa.select(sa.func.count()).select_from(ResidentSignIn)) == 2
    assert resident.common_id in client.get("/portal/").get_data(as_text=True)


def test_a_renewal_that_changes_the_identifier_waits_for_the_desk_then_signs_in_as_the_same_person(client, db, portal):
    """A new identifier is joined to a person only by the desk (renkei issue 50 item 2): the renewed card's
    sign-in waits for review, without a second common ID; decided the same person, it signs in as them."""
    first = portal.person("hanako", {**TARO, "full_name": "山田 花子", "gender": "female"})
    card_sign_in(client, "hanako")
    common_id = db.scalar(sa.select(Resident.common_id))
    renewed = portal.renew("hanako", {**TARO, "full_name": "山田　花子", "gender": "female",
                                      "address": "熊本県熊本市東区東町4丁目1-1"})  # moved house: a new certificate
    assert renewed != first
    client.get("/portal/logout")
    card_sign_in(client, "hanako")
    assert db.scalars(sa.select(Resident.common_id).where(Resident.common_id.is_not(None))).all() == [common_id]
    review = db.scalar(sa.select(ResidentReview))
    assert review is not None and review.reason.value == "basic_four" and not review.address_matches
    residents.decide_review(db, desk(), KUMAMOTO, review.id, same_person=True, reason="カード更新と確認")
    db.commit()
    client.get("/portal/logout")
    card_sign_in(client, "hanako")
    assert {row.subject for row in db.scalars(sa.select(ResidentIdentity))} == {first, renewed}
    assert common_id in client.get("/portal/").get_data(as_text=True)


def test_a_counter_enrolment_of_the_same_person_sends_the_sign_in_to_review(client, db, portal, keys):
    from admin.resident_keys import keyring

    counter = residents.enrol(db, desk(), keyring(), {
        "tenant_code": KUMAMOTO, "full_name": "髙橋　太郎", "address": "熊本市中央区水前寺六丁目18番1号",
        "birth_date": "1980-04-01", "sex": "1", "verification": "photo_id", "assurance_level": 2}).resident
    db.commit()
    portal.person("taro2")
    card_sign_in(client, "taro2")
    assert db.scalars(sa.select(Resident.common_id).where(Resident.common_id.is_not(None))).all() == [counter.common_id]
    review = db.scalar(sa.select(ResidentReview))
    assert review.matched_id == counter.id and review.reason.value == "basic_four"
    page = client.get("/portal/").get_data(as_text=True)
    assert 'id="common-id-pending"' in page and counter.common_id not in page
    # signing in again while the review waits makes no second review
    client.get("/portal/logout")
    card_sign_in(client, "taro2")
    assert db.scalar(sa.select(sa.func.count()).select_from(ResidentReview)) == 1
    # the desk decides a different person: the portal shows the common ID issued, without signing in again
    residents.decide_review(db, desk(), KUMAMOTO, review.id, same_person=False, reason="別人と確認（窓口で書類確認）")
    db.commit()
    issued = db.scalar(sa.select(Resident.common_id).where(Resident.id == review.candidate_id))
    assert issued and issued in client.get("/portal/").get_data(as_text=True)


def test_a_second_provider_signs_in_at_its_own_lower_assurance(app, client, db, portal, consent_setup):
    added = command(app, "provider-add", "--alias", "city-line", "--discovery-url", portal.discovery_url,
                    "--client-id", PROVIDER_CLIENT, "--client-secret", PROVIDER_SECRET, "--assurance-level", "2",
                    "--display-name", "くまもと市民ポータル（LINE）")
    assert added.exit_code == 0, added.output
    portal.person("jiro", {**TARO, "full_name": "佐藤 次郎"})
    card_sign_in(client, "jiro", provider="city-line")
    resident = db.scalar(sa.select(Resident))
    signed = db.scalar(sa.select(ResidentSignIn))
    assert signed.assurance_level == 2 and resident.assurance_level == 2
    assert "くまもと市民ポータル（LINE）" in client.get("/portal/").get_data(as_text=True)
    # a service that requires the card's level refuses a link at this one
    from core.errors import Invalid

    card_only = consent_setup(name="マイナ手続きナビ", required_level=3)
    with pytest.raises(Invalid):
        residents.link_service(db, desk(), KUMAMOTO, resident.common_id, {
            "service_id": card_only.id, "service_user_id": "navi-user-0009", "assurance_level": signed.assurance_level})


def test_configuring_the_realm_and_a_provider_is_audited(app, db, portal, realms):
    residents_realm, _ = realms
    again = command(app, "realm-setup")  # safe to run again: nothing left to change, still recorded
    assert again.exit_code == 0 and "no change" in again.output, again.output
    assert db.scalar(sa.select(sa.func.count()).select_from(AuditRecord).where(
        AuditRecord.action == "resident.realm.setup")) == 2
    actions = {row.action: row for row in db.scalars(sa.select(AuditRecord).where(
        AuditRecord.action.in_(("resident.realm.setup", "resident.provider.add"))))}
    assert actions["resident.realm.setup"].target_id == residents_realm
    added = actions["resident.provider.add"]
    assert added.target_id == "mynumber-card" and portal.issuer in added.after
    assert PROVIDER_SECRET not in added.after  # the secret goes to Keycloak only


def _residents_token(provider: CardProvider, residents_realm: str, username: str) -> str:
    """An access token of the residents' realm, as the portal's client receives it."""
    import base64
    import hashlib
    import secrets

    browser = requests.Session()
    verifier = secrets.token_urlsafe(48)  # the portal's client requires PKCE
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    query = urlencode({"client_id": "renkei-portal", "response_type": "code", "scope": "openid",
                       "redirect_uri": "http://renkei.test/portal/callback", "kc_idp_hint": "mynumber-card",
                       "state": "s", "nonce": "n", "code_challenge": challenge, "code_challenge_method": "S256"})
    page = _keycloak(browser, browser.get(f"{provider.url}/realms/{residents_realm}/protocol/openid-connect/auth?{query}",
                                          allow_redirects=False, timeout=30))
    action = html.unescape(re.search(r'<form[^>]+action="([^"]+)"', page.text).group(1))
    back = _keycloak(browser, browser.post(action, data={"username": username, "password": PASSWORD, "credentialId": ""},
                                           allow_redirects=False, timeout=30))
    code = parse_qs(urlsplit(back.headers["Location"]).query)["code"][0]
    token = requests.post(f"{provider.url}/realms/{residents_realm}/protocol/openid-connect/token", timeout=30, data={
        "grant_type": "authorization_code", "code": code, "client_id": "renkei-portal", "client_secret": PORTAL_SECRET,
        "redirect_uri": "http://renkei.test/portal/callback", "code_verifier": verifier})
    assert token.status_code == 200, token.text
    return token.json()["access_token"]


def test_residents_and_staff_never_open_each_others_doors(app, client, db, portal, realms):
    residents_realm, _ = realms
    portal.person("saburo", {**TARO, "full_name": "鈴木 三郎"})
    card_sign_in(client, "saburo")
    assert 'id="common-id"' in client.get("/portal/").get_data(as_text=True)
    # the resident's session opens no staff page
    for path in ("/admin/", "/admin/residents/", "/admin/tenants/"):
        answer = client.get(path)
        assert answer.status_code == 302 and "/login" in answer.headers["Location"], path
    # a residents' realm token opens no API
    token = _residents_token(portal, residents_realm, "saburo")
    for path in ("/api/v1/tenants", f"/api/v1/tenants/{KUMAMOTO}/resident-reviews"):
        assert client.get(path, headers={"Authorization": f"Bearer {token}"}).status_code == 401, path
    # a staff session (even the residents' desk of the city) does not open the portal
    staff = app.test_client()
    staff_sign_in(staff, ("resident-desk",), (KUMAMOTO,))
    page = staff.get("/portal/").get_data(as_text=True)
    assert 'id="sign-in"' in page and 'id="common-id"' not in page


def test_a_forged_callback_signs_no_one_in(client, db, portal):
    answer = client.get("/portal/callback?code=forged&state=forged")
    assert answer.status_code == 401
    assert 'id="sign-in"' in client.get("/portal/").get_data(as_text=True)


def test_a_password_set_in_the_residents_realm_is_no_card_sign_in(app, client, db, portal, realms, keycloak_server):
    """Should a resident's account in the residents' realm get a password (the account console, an
    administrator), signing in with it directly is no sign-in through a provider: the portal enrols no one."""
    from tenancy.identity.keycloak import master_admin

    residents_realm, _ = realms
    subject = portal.person("shiro", {**TARO, "full_name": "田中 四郎"})
    card_sign_in(client, "shiro")
    client.get("/portal/logout")
    admin = master_admin(keycloak_server.url, keycloak_server.admin_user, keycloak_server.admin_password, "master")
    admin.change_current_realm(residents_realm)
    account = admin.get_users({"briefRepresentation": True, "search": "mynumber-card."})[0]
    admin.set_user_password(account["id"], PASSWORD, temporary=False)
    start = client.get("/portal/login")
    direct = start.headers["Location"].replace("kc_idp_hint=mynumber-card", "kc_idp_hint=")
    browser = requests.Session()
    page = _keycloak(browser, browser.get(direct, allow_redirects=False, timeout=30))
    assert f"/realms/{residents_realm}/" in page.url  # the residents' realm's own form, not the provider's
    action = html.unescape(re.search(r'<form[^>]+action="([^"]+)"', page.text).group(1))
    back = _keycloak(browser, browser.post(action, data={"username": account["username"], "password": PASSWORD,
                                                         "credentialId": ""}, allow_redirects=False, timeout=30))
    assert back.headers["Location"].startswith("http://renkei.test/portal/callback"), back.text[:300]
    answer = client.get(back.headers["Location"].removeprefix("http://renkei.test"))
    assert answer.status_code == 422 and "認証事業者" in answer.get_data(as_text=True)
    assert 'id="common-id"' not in client.get("/portal/").get_data(as_text=True)
    assert db.scalar(sa.select(sa.func.count()).select_from(ResidentSignIn)) == 1


def test_only_the_operator_configures_the_residents_sign_in(app, db, portal, realms):
    from residents.models import ResidentProvider

    before = db.scalar(sa.select(sa.func.count()).select_from(AuditRecord))
    for role in ("resident-desk", "municipal-admin", "auditor"):
        refused = app.test_cli_runner().invoke(args=[
            "residents", "provider-add", "--alias", "sneaky", "--discovery-url", portal.discovery_url, "--client-id", "x",
            "--client-secret", "y", "--assurance-level", "3", "--as", "cli-someone", "--role", role])
        assert refused.exit_code == 1 and "sneaky" not in refused.output, (role, refused.output)
        assert "Error" in refused.output, refused.output
        assert app.test_cli_runner().invoke(args=["residents", "realm-setup", "--as", "cli-someone",
                                                  "--role", role]).exit_code != 0
    assert db.scalar(sa.select(sa.func.count()).select_from(AuditRecord)) == before
    assert db.scalar(sa.select(ResidentProvider.id).where(ResidentProvider.alias == "sneaky")) is None
    admin = portal.admin
    admin.change_current_realm(realms[0])
    assert "sneaky" not in {idp["alias"] for idp in admin.get_idps()}


def test_the_residents_realm_has_no_account_console_and_a_resident_no_account_roles(app, client, db, portal, realms,
                                                                                     keycloak_server):
    """Keycloak's account console would let a resident set a password (the portal signs in with the card only):
    realm-setup disables its clients and leaves the account roles out of the realm's default roles."""
    from tenancy.identity.keycloak import master_admin

    residents_realm, _ = realms
    subject = portal.person("goro", {**TARO, "full_name": "伊藤 五郎"})
    card_sign_in(client, "goro")
    admin = master_admin(keycloak_server.url, keycloak_server.admin_user, keycloak_server.admin_password, "master")
    admin.change_current_realm(residents_realm)
    for client_id in ("account-console", "account"):
        assert admin.get_client(admin.get_client_id(client_id))["enabled"] is False, client_id
    resident = admin.get_user_id(f"mynumber-card.{subject}")  # the account the card's sign-in made
    assert resident is not None
    assert admin.get_composite_client_roles_of_user(resident, admin.get_client_id("account")) == []
    assert requests.get(f"{keycloak_server.url}/realms/{residents_realm}/account/", timeout=30).status_code >= 400


def test_a_moved_address_on_the_card_replaces_the_one_renkei_held(app, client, db, portal):
    from admin.resident_keys import keyring

    portal.person("moving-jiro", {**TARO, "full_name": "髙橋 次郎"})
    card_sign_in(client, "moving-jiro")
    resident = db.scalar(sa.select(Resident))
    client.get("/portal/logout")
    portal.admin.change_current_realm(portal.realm)  # the resident moved house: the provider's address changed
    user_id = portal.admin.get_user_id("moving-jiro")
    user = portal.admin.get_user(user_id)
    portal.admin.update_user(user_id, {**user, "attributes": {**user["attributes"],
                                                              "formatted": ["熊本県八代市松江城町1番25号"]}})
    card_sign_in(client, "moving-jiro")
    db.expire_all()
    assert db.scalar(sa.select(sa.func.count()).select_from(Resident)) == 1
    with app.app_context():
        items = residents.personal_items(db.get(Resident, resident.id), keyring())
    assert items["address"] == "熊本県八代市松江城町1番25号" and items["full_name"] == "髙橋 次郎"
    record = db.scalar(sa.select(AuditRecord).where(AuditRecord.action == "resident.claims.update"))
    assert record is not None and resident.common_id in record.after and "八代" not in record.after
    page = client.get("/portal/").get_data(as_text=True)
    assert 'id="updated-from-card"' in page and "住所" in page


def test_two_residents_of_two_municipalities_sign_in_at_the_one_portal_each_under_their_own(app, client, db, portal,
                                                                                           monkeypatch, user_factory):
    """Issue 56 item 1: no RENKEI_PORTAL_TENANT; 熊本市 and 八代市 take part; each card's address places its holder
    under their own municipality, with its own words; neither desk finds the other's resident."""
    from core.errors import NotFound, NotPermitted
    from residents import portal_municipalities as pm
    from tests.conftest import OPERATOR
    from tests.residents.conftest import YATSUSHIRO

    monkeypatch.setitem(app.config, "RENKEI_PORTAL_TENANT", "")
    pm.set_portal(db, OPERATOR, KUMAMOTO, opted_in=True, welcome_ja="熊本市 市民課からのご案内")
    pm.set_portal(db, OPERATOR, YATSUSHIRO, opted_in=True, welcome_ja="八代市 市民課からのご案内")
    db.commit()
    portal.person("taro")
    portal.person("hana", {"full_name": "八代 花", "address": "熊本県八代市松江城町1番25号", "birthdate": "1990-01-02",
                           "gender": "female"})
    card_sign_in(client, "taro")
    kumamoto_page = client.get("/portal/").get_data(as_text=True)
    other = app.test_client()
    card_sign_in(other, "hana")
    yatsushiro_page = other.get("/portal/").get_data(as_text=True)
    taro = db.scalar(sa.select(Resident).where(Resident.tenant_code == KUMAMOTO))
    hana = db.scalar(sa.select(Resident).where(Resident.tenant_code == YATSUSHIRO))
    assert taro.common_id in kumamoto_page and "熊本市 市民課からのご案内" in kumamoto_page
    assert hana.common_id in yatsushiro_page and "八代市 市民課からのご案内" in yatsushiro_page
    assert taro.common_id not in yatsushiro_page and "熊本市 市民課" not in yatsushiro_page
    assert 'id="other-municipalities"' not in kumamoto_page  # enrolled with one municipality: nothing to choose
    from admin.resident_keys import keyring

    with app.app_context():
        keys = keyring()
    found = residents.look_up(db, desk(YATSUSHIRO), keys, YATSUSHIRO, reason="本人確認", common_id=hana.common_id)
    assert found["common_id"] == hana.common_id
    with pytest.raises(NotFound):  # 熊本市's resident is not in 八代市's desk
        residents.look_up(db, desk(YATSUSHIRO), keys, YATSUSHIRO, reason="本人確認", common_id=taro.common_id)
    with pytest.raises(NotPermitted):
        residents.look_up(db, desk(YATSUSHIRO), keys, KUMAMOTO, reason="本人確認", common_id=taro.common_id)
    # the API's search, as 八代市's desk: its resident found, 熊本市's not, 熊本市's residents refused
    _, yatsushiro_desk = user_factory(("resident-desk",), YATSUSHIRO)
    api = app.test_client()
    for code, name, found in ((YATSUSHIRO, "八代 花", [hana.common_id]), (YATSUSHIRO, TARO["full_name"], [])):
        answer = api.post(f"/api/v1/tenants/{code}/residents/search-by-name", headers=yatsushiro_desk,
                          json={"full_name": name, "reason": "本人確認"})
        assert answer.status_code == 200 and [row["common_id"] for row in answer.get_json()["items"]] == found
    refused = api.post(f"/api/v1/tenants/{KUMAMOTO}/residents/search-by-name", headers=yatsushiro_desk,
                       json={"full_name": TARO["full_name"], "reason": "本人確認"})
    assert refused.status_code == 403
