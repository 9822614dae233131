"""A stand-in for the Digital Agency's card app (デジタル認証アプリ), for the demo and the tests only.

The real provider signs a resident in with the My Number card and gives renkei the card's 基本4情報 as
OpenID Connect claims (``name``, ``address.formatted``, ``birthdate``, ``gender``). A realm of the same
Keycloak plays it, named so that nobody takes it for the real one (``card-app-standin``, shown as
「デジタル認証アプリ（デモ用の代役）」): scopes ``name``, ``birthdate`` and ``gender`` (and Keycloak's own
``address``) put each user's attributes in the ID token as those claims; one client, renkei's at the
provider, whose redirect is the residents' realm's broker endpoint; its users are sample card holders with
a password instead of a card.

Made idempotently with the master realm's admin client (``renkei demo`` runs again on the same Keycloak);
each function returns the changes it made, or the holder's identifier (``sub``).
"""

from __future__ import annotations

from keycloak import KeycloakAdmin

from tenancy.identity.keycloak.common import translate_errors

STANDIN_REALM = "card-app-standin"
STANDIN_NAME = "デジタル認証アプリ（デモ用の代役） / Digital authentication app (demo stand-in)"
# the provider's claims and the user attribute each is taken from (``address`` is Keycloak's own scope,
# which reads the attribute ``formatted``)
CLAIM_ATTRIBUTES = {"name": "full_name", "birthdate": "birthdate", "gender": "gender"}
SCOPES = ["basic", "name", "birthdate", "gender", "address"]


def _scope(claim: str, attribute: str) -> dict:
    return {"name": claim, "protocol": "openid-connect", "attributes": {"include.in.token.scope": "true"},
            "protocolMappers": [{"name": claim, "protocol": "openid-connect",
                                 "protocolMapper": "oidc-usermodel-attribute-mapper",
                                 "config": {"user.attribute": attribute, "claim.name": claim, "id.token.claim": "true",
                                            "access.token.claim": "true", "userinfo.token.claim": "true",
                                            "jsonType.label": "String"}}]}


@translate_errors
def ensure_card_standin(admin: KeycloakAdmin, realm: str, client_id: str, client_secret: str,
                        broker_redirect: str) -> list[str]:
    """The stand-in realm ``realm``, its claims' scopes and renkei's client (``client_id``/``client_secret``,
    redirecting to ``broker_redirect``: the residents' realm's ``…/broker/*``) created or corrected."""
    changes = []
    admin.change_current_realm("master")
    if not any(r["realm"] == realm for r in admin.get_realms()):
        admin.create_realm({"realm": realm, "enabled": True, "displayName": STANDIN_NAME,
                            "registrationAllowed": False, "resetPasswordAllowed": False,
                            "internationalizationEnabled": True, "supportedLocales": ["ja", "en"],
                            "defaultLocale": "ja"})
        changes.append(f"realm {realm} (stand-in for デジタル認証アプリ)")
    admin.change_current_realm(realm)
    profile = admin.get_realm_users_profile()
    if profile.get("unmanagedAttributePolicy") != "ENABLED":  # the holders' attributes are the claims' source
        admin.update_realm_users_profile({**profile, "unmanagedAttributePolicy": "ENABLED"})
        changes.append("user profile: attributes kept")
    present = {scope["name"] for scope in admin.get_client_scopes()}
    for claim, attribute in CLAIM_ATTRIBUTES.items():
        if claim not in present:
            admin.create_client_scope(_scope(claim, attribute), skip_exists=True)
            changes.append(f"client scope {claim}")
    payload = {"clientId": client_id, "secret": client_secret, "publicClient": False, "standardFlowEnabled": True,
               "directAccessGrantsEnabled": False, "redirectUris": [broker_redirect], "defaultClientScopes": SCOPES}
    existing = admin.get_client_id(client_id)
    if existing is None:
        admin.create_client(payload)
        changes.append(f"client {client_id}")
    else:
        current = admin.get_client(existing)
        if current.get("redirectUris") != [broker_redirect] or current.get("secret") != client_secret:
            admin.update_client(existing, {**current, "redirectUris": [broker_redirect], "secret": client_secret})
            changes.append(f"client {client_id}: redirect URI and secret")
    return changes


@translate_errors
def ensure_card_holder(admin: KeycloakAdmin, realm: str, username: str, password: str, items: dict[str, str]) -> str:
    """A sample card holder of the stand-in realm with the card's 基本4情報 ``items`` (``full_name``,
    ``address``, ``birthdate`` as 1980-04-01, ``gender`` as male/female) and a password for the card: made,
    or brought back to these values; their identifier at the provider (``sub``)."""
    admin.change_current_realm(realm)
    attributes = {"full_name": [items["full_name"]], "birthdate": [items["birthdate"]], "gender": [items["gender"]],
                  "formatted": [items["address"]]}
    user = {"username": username, "enabled": True, "email": f"{username}@example.jp", "emailVerified": True,
            "firstName": "カード", "lastName": "利用者", "attributes": attributes}
    existing = admin.get_user_id(username)
    if existing is None:
        return admin.create_user({**user, "credentials": [{"type": "password", "value": password, "temporary": False}]})
    admin.update_user(existing, user)
    admin.set_user_password(existing, password, temporary=False)
    return existing
