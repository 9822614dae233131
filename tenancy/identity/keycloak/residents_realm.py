"""The residents' realm (issue 42 item 4): residents sign in to the portal through a Keycloak realm of
their own, never the platform (staff) realm, brokered to identity providers such as the My Number card's
(デジタル認証アプリ). The realm has no roles of renkei's, no registration, no local passwords to set (nor
Keycloak's account console to set one in); each
provider is an OpenID Connect identity provider configured from its discovery document, asked for
``openid name address birthdate gender``, whose claims (and its own identifier of the person) are brought
in as notes of the sign-in's session (never user attributes: Keycloak keeps no 基本4情報, issue 50) and put
in the portal client's ID token, with the provider's alias taken from the sign-in itself. The brokered
account holds only its username (``<alias>.<sub>``) and its link to the provider: not even a name (the
first and last name Keycloak would take from the ``name`` claim are blanked by a mapper).

Made idempotently with the master realm's admin client; each function returns the changes it made.
"""

from __future__ import annotations

import json
from typing import Any

from keycloak import KeycloakAdmin
from keycloak.exceptions import KeycloakError

from tenancy.identity.keycloak.common import translate_errors

# what a provider is asked for: the 基本4情報 (name, address, date of birth, sex), never the 個人番号
PROVIDER_SCOPES = "openid name address birthdate gender"
# the provider's claim each session note is brought in from (the note is named as the claim), and the ID
# token claim renkei reads it as (CLAIM_PREFIX + the key)
CLAIM_PREFIX = "renkei_"
IMPORTED_CLAIMS = {"subject": "sub", "name": "name", "address": "address.formatted", "birthdate": "birthdate",
                   "gender": "gender"}
PROVIDER_CLAIM = CLAIM_PREFIX + "idp"  # the alias of the provider of this sign-in (the session's note)
# user attributes earlier versions brought the claims in as, erased by `renkei residents erase-realm-attributes`,
# and the account's own fields Keycloak fills from the ``name`` and ``email`` claims
STORED_CLAIM_ATTRIBUTES = tuple(CLAIM_PREFIX + name for name in IMPORTED_CLAIMS if name != "subject")
PROFILE_FIELDS = ("firstName", "lastName", "email")
SESSION_NOTE_MAPPER, NOTE_MATCHES_ANY = "oidc-user-session-note-idp-mapper", "(?s).*"
BLANK = "-"  # what the first and last name are set to (Keycloak refuses an empty hardcoded value)


# the claims are given by the realm's userinfo endpoint only, which the portal asks server to server: never in the ID
# token, which the browser carries back to Keycloak when the resident signs out (id_token_hint, in the URL)
ONLY_IN_USERINFO = {"id.token.claim": "false", "access.token.claim": "false", "userinfo.token.claim": "true"}


def _portal_mappers() -> list[dict[str, Any]]:
    mappers = [{"name": CLAIM_PREFIX + name, "protocol": "openid-connect",
                "protocolMapper": "oidc-usersessionmodel-note-mapper",
                "config": {"user.session.note": claim, "claim.name": CLAIM_PREFIX + name, **ONLY_IN_USERINFO,
                           "jsonType.label": "String"}} for name, claim in IMPORTED_CLAIMS.items()]
    mappers.append({"name": PROVIDER_CLAIM, "protocol": "openid-connect",
                    "protocolMapper": "oidc-usersessionmodel-note-mapper",
                    "config": {"user.session.note": "identity_provider", "claim.name": PROVIDER_CLAIM,
                               **ONLY_IN_USERINFO, "jsonType.label": "String"}})
    return mappers


def _ensure_realm(admin: KeycloakAdmin, realm: str) -> list[str]:
    if any(r["realm"] == realm for r in admin.get_realms()):
        return []
    admin.create_realm({"realm": realm, "enabled": True, "displayName": "住民ポータル / Residents' portal",
                        "registrationAllowed": False, "resetPasswordAllowed": False, "rememberMe": False,
                        "loginWithEmailAllowed": False, "accessTokenLifespan": 300,
                        "internationalizationEnabled": True, "supportedLocales": ["ja", "en"], "defaultLocale": "ja"})
    return [f"realm {realm}"]


def _ensure_profile(admin: KeycloakAdmin) -> list[str]:
    """The imported attributes are written by Keycloak and administrators only (a resident cannot edit
    them); e-mail and names are not asked for (the provider's claims are what count)."""
    profile = admin.get_realm_users_profile()
    wanted = json.loads(json.dumps(profile))
    wanted["unmanagedAttributePolicy"] = "ADMIN_EDIT"
    for attribute in wanted.get("attributes", []):
        if attribute.get("name") in ("email", "firstName", "lastName"):
            attribute.pop("required", None)
    if wanted == profile:
        return []
    admin.update_realm_users_profile(wanted)
    return ["user profile (provider attributes: administrators only; e-mail and names optional)"]


def _ensure_first_login(admin: KeycloakAdmin) -> list[str]:
    """A first sign-in through a provider creates the account without a form to review."""
    for execution in admin.get_authentication_flow_executions("first broker login"):
        if execution.get("providerId") == "idp-review-profile" and execution.get("authenticationConfig"):
            config = admin.get_authenticator_config(execution["authenticationConfig"])
            if config.get("config", {}).get("update.profile.on.first.login") != "off":
                config.setdefault("config", {})["update.profile.on.first.login"] = "off"
                admin.update_authenticator_config(config, execution["authenticationConfig"])
                return ["first broker login: no profile review"]
    return []


def _ensure_portal_client(admin: KeycloakAdmin, client_id: str, secret: str, redirect_uris: tuple[str, ...]) -> list[str]:
    payload = {"clientId": client_id, "name": "renkei residents' portal", "protocol": "openid-connect",
               "publicClient": False, "secret": secret or None, "standardFlowEnabled": True,
               "directAccessGrantsEnabled": False, "serviceAccountsEnabled": False, "implicitFlowEnabled": False,
               "redirectUris": sorted(set(redirect_uris)), "attributes": {"pkce.code.challenge.method": "S256"},
               "defaultClientScopes": ["basic"], "optionalClientScopes": [], "protocolMappers": _portal_mappers()}
    existing = admin.get_client_id(client_id)
    if existing is None:
        admin.create_client(payload)
        return [f"client {client_id}"]
    current = admin.get_client(existing)
    present = {mapper["name"]: mapper for mapper in current.get("protocolMappers", [])}
    changes = []
    for mapper in payload["protocolMappers"]:
        old = present.get(mapper["name"])
        if old is not None and old.get("protocolMapper") == mapper["protocolMapper"] \
                and all(old.get("config", {}).get(key) == value for key, value in mapper["config"].items()):
            continue
        if old is not None:  # an earlier version's (a stored attribute's claim): replaced
            admin.remove_client_mapper(existing, old["id"])
        admin.add_mapper_to_client(existing, mapper)
        changes.append(f"client {client_id}: mapper {mapper['name']}" + (" replaced" if old is not None else ""))
    if sorted(current.get("redirectUris", [])) != payload["redirectUris"] or (secret and current.get("secret") != secret):
        admin.update_client(existing, {**current, "redirectUris": payload["redirectUris"],
                                       **({"secret": secret} if secret else {})})
        changes.append(f"client {client_id}: redirect URIs and secret")
    return changes


# Keycloak's own self-service for a realm's users (/realms/<realm>/account): a resident could set a password or
# unlink the card there, which the portal refuses; the residents' realm has it off (no account roles by default,
# the console's clients disabled)
ACCOUNT_ROLES = ("manage-account", "view-profile")
ACCOUNT_CLIENTS = ("account-console", "account")


def _ensure_no_account_console(admin: KeycloakAdmin, realm: str) -> list[str]:
    changes = []
    account = admin.get_client_id("account")
    if account is not None:
        default_role = admin.get_default_realm_role_id()
        response = admin.connection.raw_get(f"admin/realms/{realm}/roles-by-id/{default_role}/composites/clients/{account}")
        if response.status_code >= 400:
            raise KeycloakError(error_message=response.text, response_code=response.status_code,
                                response_body=response.content)
        granted = [role for role in response.json() if role.get("name") in ACCOUNT_ROLES]
        if granted:
            admin.remove_realm_default_roles(granted)
            changes.append("default roles: without " + ", ".join(sorted(role["name"] for role in granted)))
    for client_id in ACCOUNT_CLIENTS:
        existing = admin.get_client_id(client_id)
        if existing is None:
            continue
        current = admin.get_client(existing)
        if current.get("enabled", True):
            admin.update_client(existing, {**current, "enabled": False})
            changes.append(f"client {client_id}: disabled")
    return changes


@translate_errors
def ensure_residents_realm(admin: KeycloakAdmin, realm: str, client_id: str, client_secret: str,
                           redirect_uris: tuple[str, ...]) -> list[str]:
    """Create what is missing of the residents' realm and the portal's client; the changes made."""
    changes = _ensure_realm(admin, realm)
    admin.change_current_realm(realm)
    changes += _ensure_profile(admin)
    changes += _ensure_first_login(admin)
    changes += _ensure_no_account_console(admin, realm)
    changes += _ensure_portal_client(admin, client_id, client_secret, redirect_uris)
    changes += _ensure_providers_mappers(admin, realm)
    return changes


def _import_discovery(admin: KeycloakAdmin, realm: str, discovery_url: str) -> dict[str, Any]:
    """Keycloak reads the provider's discovery document itself (its issuer, endpoints and keys' address)."""
    response = admin.connection.raw_post(f"admin/realms/{realm}/identity-provider/import-config",
                                         data=json.dumps({"providerId": "oidc", "fromUrl": discovery_url}))
    if response.status_code >= 400:
        raise KeycloakError(error_message=response.text, response_code=response.status_code,
                            response_body=response.content)
    return response.json()


def _idp_mappers(alias: str) -> list[dict[str, Any]]:
    # the claims as notes of the sign-in's session, never stored on the account
    claims = json.dumps([{"key": claim, "value": NOTE_MATCHES_ANY} for claim in IMPORTED_CLAIMS.values()])
    mappers = [{"name": CLAIM_PREFIX + "claims", "identityProviderAlias": alias, "identityProviderMapper": SESSION_NOTE_MAPPER,
                "config": {"syncMode": "INHERIT", "claims": claims, "are.claim.values.regex": "true"}}]
    # Keycloak would otherwise keep the ``name`` claim as the account's first and last name
    mappers += [{"name": f"blank-{field}", "identityProviderAlias": alias,
                 "identityProviderMapper": "hardcoded-attribute-idp-mapper",
                 "config": {"syncMode": "FORCE", "attribute": field, "attribute.value": BLANK}}
                for field in ("firstName", "lastName")]
    # one account per identifier the provider gives: a renewed certificate with a new identifier is a new
    # account here, and renkei finds the person (residents.signin), never Keycloak by a username
    mappers.append({"name": "username", "identityProviderAlias": alias,
                    "identityProviderMapper": "oidc-username-idp-mapper",
                    "config": {"syncMode": "INHERIT", "template": "${ALIAS}.${CLAIM.sub}"}})
    return mappers


def _ensure_idp_mappers(admin: KeycloakAdmin, realm: str, alias: str) -> list[str]:
    """The provider's mappers as :func:`_idp_mappers` makes them; any other (an earlier version's attribute
    importers of the 基本4情報) removed."""
    wanted = {mapper["name"]: mapper for mapper in _idp_mappers(alias)}
    changes = []
    for mapper in admin.get_idp_mappers(alias):
        goal = wanted.get(mapper["name"])
        if goal is not None and mapper.get("identityProviderMapper") == goal["identityProviderMapper"] \
                and mapper.get("config") == goal["config"]:
            del wanted[mapper["name"]]
            continue
        response = admin.connection.raw_delete(
            f"admin/realms/{realm}/identity-provider/instances/{alias}/mappers/{mapper['id']}")
        if response.status_code >= 400:
            raise KeycloakError(error_message=response.text, response_code=response.status_code,
                                response_body=response.content)
        if goal is None:
            changes.append(f"identity provider {alias}: mapper {mapper['name']} removed")
    for mapper in wanted.values():
        admin.add_mapper_to_idp(alias, mapper)
        changes.append(f"identity provider {alias}: mapper {mapper['name']}")
    return changes


def _ensure_providers_mappers(admin: KeycloakAdmin, realm: str) -> list[str]:
    return [change for idp in admin.get_idps() if idp.get("providerId") == "oidc"
            for change in _ensure_idp_mappers(admin, realm, idp["alias"])]


@translate_errors
def erase_stored_claims(admin: KeycloakAdmin, realm: str) -> int:
    """Remove from every account of the residents' realm the 基本4情報 an earlier version stored (the
    claims' attributes; the first and last name and e-mail Keycloak took from the claims); the number of
    accounts changed."""
    admin.change_current_realm(realm)
    changed, first = 0, 0
    while True:
        users = admin.get_users({"first": first, "max": 200, "briefRepresentation": False})
        if not users:
            return changed
        for user in users:
            attributes = dict(user.get("attributes") or {})
            stored = [name for name in STORED_CLAIM_ATTRIBUTES if name in attributes]
            fields = [field for field in PROFILE_FIELDS if user.get(field) not in (None, "", BLANK)]
            if not stored and not fields:
                continue
            for name in stored:
                del attributes[name]
            update = {key: user[key] for key in ("username", "enabled", "emailVerified") if key in user}
            update.update({"attributes": attributes, "firstName": BLANK, "lastName": BLANK, "email": ""})
            admin.update_user(user["id"], update)
            changed += 1
        first += len(users)


@translate_errors
def delete_provider_accounts(admin: KeycloakAdmin, realm: str, identities: list[tuple[str, str]]) -> int:
    """Delete the accounts of the residents' realm linked to these providers' identifiers ``(alias, sub)``
    (a resident who left); the number deleted."""
    admin.change_current_realm(realm)
    deleted = 0
    for alias, subject in identities:
        for user in admin.get_users({"idpAlias": alias, "idpUserId": subject, "briefRepresentation": True}):
            admin.delete_user(user["id"])
            deleted += 1
    return deleted


@translate_errors
def ensure_provider(admin: KeycloakAdmin, realm: str, alias: str, discovery_url: str, client_id: str,
                    client_secret: str, display_name: str) -> tuple[list[str], str]:
    """Configure (or correct) the OpenID Connect identity provider ``alias`` of the residents' realm from
    its discovery document; return the changes made and the provider's issuer."""
    admin.change_current_realm(realm)
    config = _import_discovery(admin, realm, discovery_url)
    config.update({"clientId": client_id, "clientSecret": client_secret, "clientAuthMethod": "client_secret_post",
                   "defaultScope": PROVIDER_SCOPES, "syncMode": "FORCE", "validateSignature": "true",
                   "useJwksUrl": "true", "pkceEnabled": "true", "pkceMethod": "S256", "metadataDescriptorUrl": discovery_url})
    payload = {"alias": alias, "displayName": display_name, "providerId": "oidc", "enabled": True,
               "trustEmail": False, "storeToken": False, "addReadTokenRoleOnCreate": False,
               "firstBrokerLoginFlowAlias": "first broker login", "config": config}
    known = {idp["alias"] for idp in admin.get_idps()}
    if alias in known:
        admin.update_idp(alias, payload)
        changes = [f"identity provider {alias} (from {discovery_url})"]
    else:
        admin.create_idp(payload)
        changes = [f"identity provider {alias} created (from {discovery_url})"]
    changes += _ensure_idp_mappers(admin, realm, alias)
    return changes, str(config.get("issuer") or "")
