"""Bootstrap: the platform realm, its roles, groups, client scopes, clients and sign-in security, made idempotently
with the master realm's admin credentials (:func:`bootstrap_realm` returns the changes it made)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from keycloak import KeycloakAdmin
from keycloak.exceptions import KeycloakError

from core import authz
from tenancy.identity.groups import TENANTS_GROUP
from tenancy.identity.keycloak.common import (API_AUDIENCE_SCOPE, CONFIGURE_TOTP, DEVICE_GRANT, REALM_ROLES,
                                              ROLE_DESCRIPTIONS, SERVICE_ACCOUNT_ROLES, TENANTS_SCOPE, TOTP_ROLES,
                                              KeycloakSettings, realm_smtp, translate_errors)

def master_admin(url: str, user: str, password: str, realm: str, timeout: float = 30) -> KeycloakAdmin:
    """The master realm's admin (bootstrap only: creating a realm can take longer than a user call)."""
    return KeycloakAdmin(server_url=url + "/", username=user, password=password, realm_name=realm,
                         user_realm_name="master", timeout=timeout)


def _client_payload(settings: KeycloakSettings) -> list[dict[str, Any]]:
    default_scopes = ["profile", "email", "roles", "web-origins", "basic", API_AUDIENCE_SCOPE, TENANTS_SCOPE]
    return [
        {   # the admin UI: authorization code with PKCE
            "clientId": settings.admin_client_id,
            "name": "renkei admin UI",
            "protocol": "openid-connect",
            "publicClient": False,
            "secret": settings.admin_client_secret or None,
            "standardFlowEnabled": True,
            "directAccessGrantsEnabled": settings.direct_grants,
            "serviceAccountsEnabled": False,
            "redirectUris": sorted(set(settings.redirect_uris)),
            "attributes": {"pkce.code.challenge.method": "S256",
                           "post.logout.redirect.uris": "+",
                           DEVICE_GRANT: "true"},  # `renkei login` on the command line
            "defaultClientScopes": default_scopes,
        },
        {   # renkei's own Keycloak admin calls
            "clientId": settings.service_client_id,
            "name": "renkei service account",
            "protocol": "openid-connect",
            "publicClient": False,
            "secret": settings.service_client_secret or None,
            "standardFlowEnabled": False,
            "directAccessGrantsEnabled": False,
            "serviceAccountsEnabled": True,
            "defaultClientScopes": ["roles", "basic"],
        },
        {   # machine clients of the platform (API gateway, metering): client credentials
            "clientId": settings.metering_client_id,
            "name": "platform metering (client credentials)",
            "protocol": "openid-connect",
            "publicClient": False,
            "secret": settings.metering_client_secret or None,
            "standardFlowEnabled": False,
            "directAccessGrantsEnabled": False,
            "serviceAccountsEnabled": True,
            "defaultClientScopes": ["roles", "basic", API_AUDIENCE_SCOPE],
        },
    ]


def _scope_payloads(settings: KeycloakSettings) -> list[dict[str, Any]]:
    return [
        {
            "name": API_AUDIENCE_SCOPE,
            "protocol": "openid-connect",
            "attributes": {"include.in.token.scope": "false", "display.on.consent.screen": "false"},
            "protocolMappers": [{
                "name": "renkei-api-audience",
                "protocol": "openid-connect",
                "protocolMapper": "oidc-audience-mapper",
                "config": {"included.custom.audience": settings.api_audience,
                           "access.token.claim": "true", "id.token.claim": "false"},
            }],
        },
        {
            "name": TENANTS_SCOPE,
            "protocol": "openid-connect",
            "attributes": {"include.in.token.scope": "false", "display.on.consent.screen": "false"},
            "protocolMappers": [{
                "name": "tenant-groups",
                "protocol": "openid-connect",
                "protocolMapper": "oidc-group-membership-mapper",
                "config": {"claim.name": "groups", "full.path": "true", "access.token.claim": "true",
                           "id.token.claim": "true", "userinfo.token.claim": "true"},
            }],
        },
    ]


@translate_errors
def bootstrap_realm(admin: KeycloakAdmin, settings: KeycloakSettings) -> list[str]:
    """Create what is missing; return a description of each change (empty when nothing changed).

    The steps, in order (each creates or corrects only what differs from what renkei keeps): the
    realm, its mail server, the realm roles, the tenants group, the client scopes, the clients,
    the service accounts' roles, the sign-in security."""
    changes = _ensure_realm(admin, settings)
    admin.change_current_realm(settings.realm)
    changes += _ensure_mail_server(admin, settings)
    changes += _ensure_realm_roles(admin)
    changes += _ensure_tenants_group(admin)
    changes += _ensure_client_scopes(admin, settings)
    for payload in _client_payload(settings):
        changes += _ensure_client(admin, payload)
    changes += _grant_service_account(admin, settings.service_client_id, client_roles=SERVICE_ACCOUNT_ROLES)
    changes += _grant_service_account(admin, settings.metering_client_id, realm_roles=(authz.METERING,))
    changes += _sign_in_security(admin, settings)
    changes += _login_events(admin, settings)
    changes += _close_built_in_password_grants(admin)
    return changes


# The clients Keycloak creates in every realm. renkei signs nobody in through them; admin-cli accepts
# the password grant by default, a second door for guessing passwords beside renkei's own clients.
BUILT_IN_CLIENTS = ("admin-cli", "account", "account-console", "broker", "realm-management", "security-admin-console")


def _close_built_in_password_grants(admin: KeycloakAdmin) -> list[str]:
    """The password grant (direct access grants) turned off on the realm's built-in clients."""
    changes = []
    for client in admin.get_clients():
        if client.get("clientId") in BUILT_IN_CLIENTS and client.get("directAccessGrantsEnabled"):
            admin.update_client(client["id"], {**client, "directAccessGrantsEnabled": False})
            changes.append(f"client {client['clientId']}: password grant off")
    return changes


def _ensure_realm(admin: KeycloakAdmin, settings: KeycloakSettings) -> list[str]:
    """The realm, created (Japanese by default, English too) when it is missing."""
    if settings.realm in {r["realm"] for r in admin.get_realms()}:
        return []
    admin.create_realm({"realm": settings.realm, "enabled": True, "displayName": "renkei",
                        "internationalizationEnabled": True, "supportedLocales": ["ja", "en"],
                        "defaultLocale": "ja", "loginWithEmailAllowed": True,
                        "duplicateEmailsAllowed": False})
    return [f"realm {settings.realm}"]


def _ensure_mail_server(admin: KeycloakAdmin, settings: KeycloakSettings) -> list[str]:
    """The realm's mail server as configured (when one is), set again where it differs."""
    if not settings.smtp:
        return []
    wanted = realm_smtp(settings.smtp)
    current = admin.get_realm(settings.realm).get("smtpServer") or {}
    # Keycloak masks a stored password as "**********"; compare everything else
    if {k: v for k, v in current.items() if k != "password"} == {k: v for k, v in wanted.items() if k != "password"}:
        return []
    admin.update_realm(settings.realm, {"smtpServer": wanted})
    return ["realm mail server"]


def _ensure_realm_roles(admin: KeycloakAdmin) -> list[str]:
    """Each of :data:`REALM_ROLES` that is missing, created with its description."""
    existing = {r["name"] for r in admin.get_realm_roles(brief_representation=True)}
    changes = []
    for role in REALM_ROLES:
        if role not in existing:
            admin.create_realm_role({"name": role, "description": ROLE_DESCRIPTIONS[role]})
            changes.append(f"realm role {role}")
    return changes


def _ensure_tenants_group(admin: KeycloakAdmin) -> list[str]:
    """The top group whose subgroups are the tenants, created when Keycloak answers 404 for it."""
    try:
        admin.get_group_by_path(f"/{TENANTS_GROUP}")
        return []
    except KeycloakError as error:
        if getattr(error, "response_code", None) != 404:
            raise
    admin.create_group({"name": TENANTS_GROUP})
    return [f"group /{TENANTS_GROUP}"]


def _ensure_client_scopes(admin: KeycloakAdmin, settings: KeycloakSettings) -> list[str]:
    """The client scopes renkei's tokens need (API audience, tenant groups), created when missing."""
    scopes = {s["name"] for s in admin.get_client_scopes()}
    changes = []
    for payload in _scope_payloads(settings):
        if payload["name"] not in scopes:
            admin.create_client_scope(payload)
            changes.append(f"client scope {payload['name']}")
    return changes


def _ensure_client(admin: KeycloakAdmin, payload: dict[str, Any]) -> list[str]:
    """One of renkei's clients: created when missing; else its flows, redirects, secret and device
    grant corrected where they differ, and its missing default client scopes added."""
    client_uuid = admin.get_client_id(payload["clientId"])
    if client_uuid is None:
        admin.create_client({k: v for k, v in payload.items() if v is not None})
        return [f"client {payload['clientId']}"]
    changes = []
    current = admin.get_client(client_uuid)
    differs = _client_differences(current, payload)
    if differs:
        admin.update_client(client_uuid, {**current, **differs})
        changes.append(f"client {payload['clientId']}: {', '.join(sorted(differs))}")
    present = {s["name"] for s in admin.get_client_default_client_scopes(client_uuid)}
    all_scopes = {s["name"]: s["id"] for s in admin.get_client_scopes()}
    for scope in payload.get("defaultClientScopes", []):
        if scope not in present and scope in all_scopes:
            admin.add_client_default_client_scope(client_uuid, all_scopes[scope], {})
            changes.append(f"client {payload['clientId']}: scope {scope}")
    return changes


def _client_differences(current: dict[str, Any], payload: dict[str, Any]) -> dict[str, Any]:
    """What of a client's kept settings differs in Keycloak (``current``) from ``payload``: the
    corrected values by key (lists compared as sets; the secret only when one is configured)."""
    wanted = {k: payload[k] for k in ("redirectUris", "directAccessGrantsEnabled", "standardFlowEnabled",
                                        "serviceAccountsEnabled") if k in payload}
    if payload.get("secret"):
        wanted["secret"] = payload["secret"]
    differs = {k: v for k, v in wanted.items()
               if (set(current.get(k) or []) != set(v) if isinstance(v, list) else current.get(k) != v)}
    device = payload.get("attributes", {}).get(DEVICE_GRANT)
    if device and (current.get("attributes") or {}).get(DEVICE_GRANT) != device:
        differs["attributes"] = {**(current.get("attributes") or {}), DEVICE_GRANT: device}
    return differs


LOWERED_HASH_ALGORITHM = "pbkdf2-sha256"  # the passwords' hashing when its cost is lowered (never in production)


def realm_security(settings: KeycloakSettings) -> dict[str, Any]:
    """The realm's sign-in settings renkei keeps (docs/identity.md, "Sign-in security")."""
    policy = (f"length({settings.password_min_length}) and notUsername and notEmail "
              f"and passwordHistory({settings.password_history})")
    if settings.password_hash_iterations is not None:
        # Keycloak's own algorithm (Argon2) spends most of its cost on memory whatever its iterations (about 45 ms
        # of the server's CPU a sign-in at one iteration): a lowered cost names the algorithm whose cost is the count
        policy += f" and hashAlgorithm({LOWERED_HASH_ALGORITHM}) and hashIterations({settings.password_hash_iterations})"
    return {
        "passwordPolicy": policy,
        "bruteForceProtected": True,
        "failureFactor": 5,              # five wrong passwords (or codes) in a row ...
        "waitIncrementSeconds": 60,      # ... lock the account for a minute, doubling ...
        "maxFailureWaitSeconds": 900,    # ... up to 15 minutes
        "maxDeltaTimeSeconds": 43200,    # failures are forgotten after 12 hours
        "permanentLockout": False,
        "accessTokenLifespan": settings.access_token_seconds,
        "adminEventsEnabled": True,      # renkei polls them: a person disabled in Keycloak is cut off
        "adminEventsDetailsEnabled": True,
    }


# The sign-in events the realm stores, which renkei reads into its own table every run of the due job
# (service/sign_ins.py) for the monthly report's sign-ins. Keycloak keeps them this long: more than a
# report's month and the days before the job reads them; renkei's table keeps them after that.
LOGIN_EVENT = "LOGIN"
LOGIN_EVENTS_SECONDS = 62 * 24 * 3600


def _login_events(admin: KeycloakAdmin, settings: KeycloakSettings) -> list[str]:
    """User events stored (``eventsEnabled``), LOGIN among the types stored (added to those already
    chosen), kept at least :data:`LOGIN_EVENTS_SECONDS`."""
    current = admin.get_realm(settings.realm)
    types = list(current.get("enabledEventTypes") or [])
    differs: dict[str, Any] = {}
    if not current.get("eventsEnabled"):
        differs["eventsEnabled"] = True
    if LOGIN_EVENT not in types:
        differs["enabledEventTypes"] = [*types, LOGIN_EVENT]
    if int(current.get("eventsExpiration") or 0) < LOGIN_EVENTS_SECONDS:
        differs["eventsExpiration"] = LOGIN_EVENTS_SECONDS
    if not differs:
        return []
    admin.update_realm(settings.realm, differs)
    return [f"realm sign-in events: {', '.join(sorted(differs))}"]


def _policy_names(policy: str | None) -> set[str]:
    return {part.strip().replace("(undefined)", "") for part in (policy or "").split(" and ") if part.strip()}


def _sign_in_security(admin: KeycloakAdmin, settings: KeycloakSettings) -> list[str]:
    changes = []
    current = admin.get_realm(settings.realm)
    wanted = realm_security(settings)
    differs = {k: v for k, v in wanted.items()
               if (_policy_names(current.get(k)) != _policy_names(v) if k == "passwordPolicy" else current.get(k) != v)}
    if differs:
        admin.update_realm(settings.realm, differs)
        changes.append(f"realm sign-in security: {', '.join(sorted(differs))}")
    if settings.require_totp:
        changes += _require_totp(admin)
    return changes


def _require_totp(admin: KeycloakAdmin) -> list[str]:
    """Ask every enabled holder of a role in :data:`TOTP_ROLES` without a TOTP device to set one up."""
    changes = []
    seen: set[str] = set()
    for role in sorted(TOTP_ROLES):
        for member in admin.get_realm_role_members(role, query={"briefRepresentation": False, "max": 10000}):
            if member["id"] in seen or not member.get("enabled", True):
                continue
            seen.add(member["id"])
            if ask_for_totp(admin, member):
                changes.append(f"user {member['username']}: TOTP set-up required")
    return changes


def ask_for_totp(admin: KeycloakAdmin, user: dict[str, Any]) -> bool:
    """Add CONFIGURE_TOTP to ``user``'s required actions unless it is there or a TOTP device exists;
    True when it was added (the one rule for bootstrap and for a role given later)."""
    actions = list(user.get("requiredActions") or [])
    if CONFIGURE_TOTP in actions or any(c.get("type") == "otp" for c in admin.get_credentials(user["id"])):
        return False
    admin.update_user(user["id"], {"requiredActions": actions + [CONFIGURE_TOTP]})
    return True


def _grant_service_account(admin: KeycloakAdmin, client_id: str, client_roles: Iterable[str] = (),
                           realm_roles: Iterable[str] = ()) -> list[str]:
    changes = []
    client_uuid = admin.get_client_id(client_id)
    account = admin.get_client_service_account_user(client_uuid)
    if client_roles:
        management = admin.get_client_id("realm-management")
        held = {r["name"] for r in admin.get_client_roles_of_user(account["id"], management)}
        missing = [admin.get_client_role(management, name) for name in client_roles if name not in held]
        if missing:
            admin.assign_client_role(account["id"], management, missing)
            changes.append(f"{client_id}: realm-management roles {', '.join(r['name'] for r in missing)}")
    if realm_roles:
        held = {r["name"] for r in admin.get_realm_roles_of_user(account["id"])}
        missing = [admin.get_realm_role(name) for name in realm_roles if name not in held]
        if missing:
            admin.assign_realm_roles(account["id"], missing)
            changes.append(f"{client_id}: realm roles {', '.join(r['name'] for r in missing)}")
    return changes


@translate_errors
def client_secret(admin: KeycloakAdmin, client_id: str) -> str:
    return admin.get_client_secrets(admin.get_client_id(client_id))["value"]


@translate_errors
def ensure_machine_client(admin: KeycloakAdmin, settings: KeycloakSettings, client_id: str, secret: str,
                          realm_roles: Iterable[str] = ()) -> list[str]:
    """A confidential client-credentials client (an API gateway, a meter) whose tokens carry the API audience.

    ``realm_roles`` are granted to its service account (e.g. ``metering-client``); returns the changes made.
    """
    admin.change_current_realm(settings.realm)
    changes = []
    if admin.get_client_id(client_id) is None:
        admin.create_client({"clientId": client_id, "name": f"machine client {client_id}", "protocol": "openid-connect",
                             "publicClient": False, "secret": secret, "standardFlowEnabled": False,
                             "directAccessGrantsEnabled": False, "serviceAccountsEnabled": True,
                             "defaultClientScopes": ["roles", "basic", API_AUDIENCE_SCOPE]})
        changes.append(f"client {client_id}")
    return changes + _grant_service_account(admin, client_id, realm_roles=tuple(realm_roles))
