"""renkei's use of Keycloak, and the only module that imports python-keycloak.

Two parts:

* :func:`bootstrap_realm` (run with the master realm's admin credentials) creates, idempotently,
  the platform realm, its roles, the ``/tenants`` group, the clients and the token mappers. It
  returns the list of changes it made: empty on a second run.
* :class:`IdentityDirectory` (run with renkei's own service account, which holds only
  ``manage-users``, ``view-users``, ``query-groups`` and ``view-realm`` of realm-management) does
  the per-tenant work: tenant groups, invitations, roles, enable/disable, removal.

Tenants are groups under ``/tenants/<code>``; see docs/identity.md for why not Organizations.
Keycloak errors become domain errors: a duplicate is :class:`Conflict`; Keycloak unreachable or
answering 5xx is :class:`IdentityUnavailable` (retryable).
"""

from __future__ import annotations

import dataclasses
import datetime
import functools
from collections.abc import Callable, Iterable
from typing import Any, TypeVar
from urllib.parse import urlsplit

from keycloak import KeycloakAdmin, KeycloakOpenID
from keycloak.exceptions import KeycloakConnectionError, KeycloakError

from core import authz
from core.errors import Conflict, Invalid, NotFound, problem
from tenancy.errors import IdentityUnavailable
from tenancy.identity.groups import TENANTS_GROUP, tenant_codes_from_groups, tenant_group_path

T = TypeVar("T")

SERVICE_ACCOUNT_ROLES = ("manage-users", "view-users", "query-groups", "view-realm",
                         "manage-clients",  # manage-clients: the API clients of tenants (tenancy/identity/api_clients.py)
                         "view-events")  # view-events: admin events polled so that access ends (denylist.py)
API_AUDIENCE_SCOPE = "renkei-api"
TENANTS_SCOPE = "renkei-tenants"
REALM_ROLES = tuple(authz.PEOPLE_ROLES) + (authz.METERING,)
UPDATE_PASSWORD = "UPDATE_PASSWORD"  # Keycloak's required actions
VERIFY_EMAIL = "VERIFY_EMAIL"
CONFIGURE_TOTP = "CONFIGURE_TOTP"
# who must sign in with a second factor (TOTP) when RENKEI_REQUIRE_TOTP is on
TOTP_ROLES = frozenset({authz.OPERATOR, authz.FINANCE, authz.AUDITOR, authz.MUNICIPAL_ADMIN, authz.ORG_ADMIN})
# each call to Keycloak may take this long (RENKEI_KEYCLOAK_TIMEOUT): short, as these calls are on request
# paths; python-keycloak lets urllib3 resend a call once, so a frozen Keycloak costs a request at most twice this
DEFAULT_TIMEOUT_SECONDS = 3.0
DEVICE_GRANT = "oauth2.device.authorization.grant.enabled"  # the admin client's device flow (`renkei login`)
SETUP_LINK_LIFESPAN_SECONDS = 72 * 3600  # the set-up e-mail's link: three days to act on an invitation
ROLE_DESCRIPTIONS = {
    authz.OPERATOR: "Platform operator (県 デジタル戦略課)",
    authz.MUNICIPAL_ADMIN: "Municipal administrator (市町村 管理者)",
    authz.MUNICIPAL_STAFF: "Municipal staff (市町村 職員)",
    authz.FINANCE: "Finance officer (財政・会計担当)",
    authz.AUDITOR: "Auditor (監査)",
    authz.METERING: "Machine client that reports usage (API gateway, metering)",
    authz.ORG_ADMIN: "Member organisation's administrator (団体管理者)",
    authz.DATA_PROVIDER: "Member organisation's data provider (データ提供者)",
    authz.DATA_USER: "Member organisation's data user (データ利用者)",
}


@dataclasses.dataclass(frozen=True)
class KeycloakSettings:
    url: str
    realm: str
    admin_client_id: str = "renkei-admin"
    admin_client_secret: str = ""
    service_client_id: str = "renkei-service"
    service_client_secret: str = ""
    metering_client_id: str = "renkei-metering"
    metering_client_secret: str = ""
    api_audience: str = "renkei-api"
    redirect_uris: tuple[str, ...] = ("http://127.0.0.1:5000/*", "http://localhost:5000/*")
    direct_grants: bool = False  # password grant on the admin client: tests and demo only
    # The realm's mail server, so that Keycloak can send the set-up e-mail (required actions) of
    # an invitation: {"host", "port", "from", "user", "password", "starttls"}; None leaves it unset.
    smtp: dict[str, Any] | None = None
    # seconds each call to Keycloak may take (connect and each read); RENKEI_KEYCLOAK_TIMEOUT
    timeout: float = DEFAULT_TIMEOUT_SECONDS
    # sign-in security set by bootstrap_realm (docs/identity.md)
    access_token_seconds: int = 300
    password_min_length: int = 12
    password_history: int = 5
    require_totp: bool = False  # CONFIGURE_TOTP for TOTP_ROLES (RENKEI_REQUIRE_TOTP; the demo relaxes it)


def realm_smtp(smtp: dict[str, Any]) -> dict[str, str]:
    """Keycloak's smtpServer representation (all values are strings)."""
    server = {"host": smtp["host"], "port": str(smtp.get("port", 25)), "from": smtp.get("from", ""),
              "fromDisplayName": "renkei 連携基盤", "starttls": "true" if smtp.get("starttls") else "false",
              "ssl": "false", "auth": "true" if smtp.get("user") else "false"}
    if smtp.get("user"):
        server.update({"user": smtp["user"], "password": smtp.get("password", "")})
    return server


def outcome_unknown(error: BaseException) -> bool:
    """Whether a failed call may have been carried out by Keycloak all the same.

    A request that was sent but whose answer never came (read timeout, connection reset or closed
    after sending) may have been done; a refused connection or a connect timeout sent nothing, and
    a read (GET) changes nothing either way."""
    import requests

    cause: BaseException | None = error
    while cause is not None and not isinstance(cause, requests.RequestException):
        cause = cause.__cause__ or cause.__context__
    if cause is None:
        return False
    request = getattr(cause, "request", None)
    if request is not None and ((getattr(request, "method", "") or "").upper() in {"GET", "HEAD", "OPTIONS"}
                                or "/protocol/openid-connect/" in (getattr(request, "url", "") or "")):
        return False  # a read, or a token: nothing changes in Keycloak
    if isinstance(cause, requests.ConnectTimeout):
        return False
    if isinstance(cause, requests.ReadTimeout):
        return True
    if isinstance(cause, requests.ConnectionError):
        # python-keycloak lets urllib3 resend once, so a read timeout can arrive wrapped in MaxRetryError
        text = repr(cause.args)
        if any(word in text for word in ("NewConnectionError", "Connection refused", "NameResolutionError",
                                         "ConnectTimeoutError")):
            return False  # nothing reached Keycloak
        return any(word in text for word in ("ReadTimeoutError", "Read timed out", "RemoteDisconnected",
                                             "Connection reset", "Connection aborted", "ProtocolError", "BrokenPipe"))
    return False


def _unavailable(error: Exception) -> IdentityUnavailable:
    if outcome_unknown(error):
        return IdentityUnavailable(
            f"The identity server (Keycloak) did not answer in time ({type(error).__name__}); the step may have "
            "been partly done in Keycloak. Retrying the same action completes it safely (what was already done "
            "there is found and reused).",
            "認証サーバー（Keycloak）から時間内に応答がありませんでした。この手順は Keycloak 側で一部実行済みの"
            "可能性があります。同じ操作を再実行すると、実行済みの部分を確認して安全に完了します。",
            outcome_unknown=True,
        )
    return IdentityUnavailable(
        f"The identity server (Keycloak) did not answer ({type(error).__name__}); nothing was changed there. Try again shortly.",
        "認証サーバー（Keycloak）に接続できませんでした。Keycloak 側は変更されていません。しばらくしてから再度お試しください。",
    )


# The e-mail addresses Keycloak's user profile accepts for an account (its own check, after renkei's):
# dot-separated atoms before the "@" (at most 64 characters; stated here as at most three atoms of
# 32, 15 and 15), host-name labels after it, ASCII only.
_ATOM = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]"
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
ACCOUNT_EMAIL_PATTERN = rf"^{_ATOM}{{1,32}}(?:\.{_ATOM}{{1,15}}){{0,2}}@{_LABEL}(?:\.{_LABEL})+$"

# Keycloak's user-profile fields as renkei's forms name them
_PROFILE_FIELDS = {"email": ("email", "e-mail address", "メールアドレス"), "username": ("username", "username", "ユーザー名"),
                   "firstName": ("first_name", "given name", "名"), "lastName": ("last_name", "family name", "姓")}


def _refused_field(error: Exception) -> Invalid | None:
    """A 400 in which Keycloak's user profile refuses one field (e.g. an e-mail address renkei's own
    check let through): the request's fault, a 422 naming the field, never a 500."""
    import json

    try:
        body = json.loads(getattr(error, "response_body", b"") or b"{}")
    except (ValueError, TypeError):
        return None
    if not isinstance(body, dict):
        return None
    # one refused field ({"field": ...}) or several ({"errors": [{"field": ...}, ...]})
    named = [body.get("field")] + [item.get("field") for item in body.get("errors") or [] if isinstance(item, dict)]
    found = [_PROFILE_FIELDS[name] for name in dict.fromkeys(named) if name in _PROFILE_FIELDS]
    if not found:
        return None
    en_all, ja_all = " and ".join(en for _, en, _ in found), "・".join(ja for _, _, ja in found)
    return Invalid(f"Keycloak does not accept this {en_all}.", f"認証サーバーがこの{ja_all}を受け付けませんでした。",
                   problems=[problem(field, f"Keycloak does not accept this {en}.",
                                     f"認証サーバーがこの{ja}を受け付けませんでした。") for field, en, ja in found])


def translate_errors(func: Callable[..., T]) -> Callable[..., T]:
    """Keycloak's exceptions as renkei's domain errors."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> T:
        try:
            return func(*args, **kwargs)
        except KeycloakConnectionError as error:
            raise _unavailable(error) from None
        except KeycloakError as error:
            code = getattr(error, "response_code", None)
            if code is None or code >= 500:
                raise _unavailable(error) from None
            if code == 409:
                raise Conflict(
                    "An account with this username or e-mail already exists in Keycloak.",
                    "同じユーザー名またはメールアドレスのアカウントがすでに存在します。",
                ) from None
            if code == 404:
                raise NotFound("Keycloak does not know this account or group.",
                               "認証サーバーに該当するアカウントまたはグループがありません。") from None
            refused = _refused_field(error) if code == 400 else None
            if refused is not None:
                raise refused from None
            raise
        except OSError as error:  # a refused connection below requests
            raise _unavailable(error) from None

    return wrapper


# --- bootstrap --------------------------------------------------------------------------------

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


def realm_security(settings: KeycloakSettings) -> dict[str, Any]:
    """The realm's sign-in settings renkei keeps (docs/identity.md, "Sign-in security")."""
    return {
        "passwordPolicy": f"length({settings.password_min_length}) and notUsername and notEmail "
                          f"and passwordHistory({settings.password_history})",
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
            if _ask_for_totp(admin, member):
                changes.append(f"user {member['username']}: TOTP set-up required")
    return changes


def _ask_for_totp(admin: KeycloakAdmin, user: dict[str, Any]) -> bool:
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


# --- identity operations ---------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class Account:
    id: str
    username: str
    email: str
    first_name: str
    last_name: str
    enabled: bool
    roles: frozenset[str]
    tenant_codes: frozenset[str] = frozenset()
    # what Keycloak still asks of the person at their next sign-in (UPDATE_PASSWORD, VERIFY_EMAIL)
    required_actions: frozenset[str] = frozenset()
    email_verified: bool = False

    @property
    def setup_pending(self) -> bool:
        """The person has not finished the first sign-in (set a password, verify the e-mail)."""
        return bool(self.required_actions & {UPDATE_PASSWORD, VERIFY_EMAIL})

    @property
    def display_name(self) -> str:
        """「田中 太郎」: family name first, as the admin pages and the audit log show a person."""
        return f"{self.last_name} {self.first_name}".strip() or self.username

    def summary(self) -> dict[str, Any]:
        return {"id": self.id, "username": self.username, "email": self.email, "enabled": self.enabled,
                "roles": sorted(self.roles), "tenants": sorted(self.tenant_codes)}


def _environment_read_once(admin: KeycloakAdmin) -> None:
    """Read the environment's proxy and CA-bundle settings for Keycloak once per client, instead
    of on every call (requests does that by default: about a quarter of a call's own CPU time).
    Every call goes to the one Keycloak, so the answer for its scheme and host is reused."""
    session = getattr(admin.connection, "_s", None)
    if session is None:  # another python-keycloak layout: leave requests as it is
        return
    original, answers = session.merge_environment_settings, {}

    def merge_environment_settings(url, proxies, stream, verify, cert):
        key = (urlsplit(url)[:2], tuple(sorted((proxies or {}).items())), stream, verify, cert)
        if key not in answers:
            answers[key] = original(url, proxies, stream, verify, cert)
        found = answers[key]
        return {**found, "proxies": dict(found["proxies"])}

    session.merge_environment_settings = merge_environment_settings


class IdentityDirectory:
    """Keycloak operations on renkei's behalf, through renkei's service account."""

    def __init__(self, settings: KeycloakSettings, admin: KeycloakAdmin | None = None) -> None:
        self.settings = settings
        self._admin = admin
        self._roles: dict[str, dict] = {}  # realm role representations: created by bootstrap, never renamed
        # Answers already known, so not asked again (a wave's provisioning and 100 invitations ask
        # them hundreds of times): the id of ``/tenants`` (created by bootstrap, never moved) and of
        # each tenant group this process has created or found. A tenant group is never renamed or
        # deleted by renkei; if someone deletes one in Keycloak, the first call that uses its stale
        # id gets 404, the id is forgotten and the call is made once more with a fresh look-up.
        self._parent: dict[str, str] = {}  # {"id": the id of /tenants}, shared with siblings like the rest
        self._group_ids: dict[str, str] = {}

    def forget_groups(self) -> None:
        """Drop the remembered group ids (after a realm is rebuilt under a running process)."""
        self._parent.clear()
        self._group_ids.clear()

    def sibling(self) -> "IdentityDirectory":
        """A directory for another thread (a wave's worker): its own HTTP session, and the same
        remembered answers (group ids, role representations; shared dicts, whose single reads and
        writes are atomic), so a group one thread created is not looked up by another.

        It starts with this directory's service-account token while that is still valid (a token
        costs Keycloak more than a user call, and a wave's workers would each fetch one); each
        directory renews its own when it expires (or when Keycloak refuses it)."""
        other = type(self)(self.settings)
        other._roles, other._group_ids, other._parent = self._roles, self._group_ids, self._parent
        token, expires_at = self._valid_token()
        if token is not None:
            other._admin = other._connect(token)
            other._admin.connection._expires_at = expires_at  # the token's own expiry, not a fresh lifetime
        return other

    def _valid_token(self) -> tuple[dict | None, Any]:
        """This directory's service-account token and when it is to be renewed, if it has a valid one."""
        connection = getattr(self._admin, "connection", None)
        token, expires_at = getattr(connection, "token", None), getattr(connection, "expires_at", None)
        if token is None or expires_at is None or expires_at <= datetime.datetime.now(tz=datetime.timezone.utc):
            return None, None
        return token, expires_at

    def _realm_role(self, name: str) -> dict:
        if name not in self._roles:
            self._roles[name] = self.admin.get_realm_role(name)
        return self._roles[name]

    @property
    def admin(self) -> KeycloakAdmin:
        if self._admin is None:
            self._admin = self._connect()
        return self._admin

    @translate_errors
    def _connect(self, token: dict | None = None) -> KeycloakAdmin:
        admin = KeycloakAdmin(server_url=self.settings.url + "/", realm_name=self.settings.realm,
                              client_id=self.settings.service_client_id,
                              client_secret_key=self.settings.service_client_secret,
                              grant_type="client_credentials", timeout=self.settings.timeout, token=token)
        _environment_read_once(admin)
        return admin

    @translate_errors
    def find_tenant_group(self, code: str) -> dict | None:
        """``/tenants/<code>`` as Keycloak has it now (always asked; remembers its id)."""
        try:
            group = self.admin.get_group_by_path(tenant_group_path(code))
        except KeycloakError as error:
            if getattr(error, "response_code", None) == 404:
                self._group_ids.pop(code, None)
                return None
            raise
        self._group_ids[code] = group["id"]
        return group

    @translate_errors
    def ensure_tenant_group(self, code: str, name_ja: str = "") -> str:
        """The id of ``/tenants/<code>``: remembered, else created, else (409: it exists) looked up.

        Creating first costs one call where the group is new (provisioning) and stays idempotent:
        a retry after a lost reply gets 409 and finds the group the first attempt made."""
        if code in self._group_ids:
            return self._group_ids[code]
        if "id" not in self._parent:
            self._parent["id"] = self.admin.get_group_by_path(f"/{TENANTS_GROUP}")["id"]
        group_id = self.admin.create_group({"name": code, "attributes": {"tenant_code": [code], "name_ja": [name_ja]}},
                                           parent=self._parent["id"], skip_exists=True)
        if group_id is None:  # it existed (409): the id comes from a look-up
            return self._group_id(code)
        self._group_ids[code] = group_id
        return group_id

    def _group_id(self, code: str) -> str:
        if code in self._group_ids:
            return self._group_ids[code]
        group = self.find_tenant_group(code)
        if group is None:
            raise NotFound(f"Tenant {code} has no group in Keycloak yet; provision the tenant first.",
                           f"団体コード {code} のグループが認証サーバーにありません。先に環境構築を行ってください。")
        return group["id"]

    def _with_group(self, code: str, call: Callable[[str], T]) -> T:
        """``call(group id)``; a remembered id Keycloak no longer knows (404) is looked up afresh once."""
        remembered = code in self._group_ids
        try:
            return call(self._group_id(code))
        except KeycloakError as error:
            if not (remembered and getattr(error, "response_code", None) == 404):
                raise
            self._group_ids.pop(code, None)
            return call(self._group_id(code))

    @translate_errors
    def find_user(self, username: str) -> dict | None:
        users = self.admin.get_users({"username": username, "exact": True})
        return users[0] if users else None

    @translate_errors
    def account(self, user_id: str) -> Account:
        user = self.admin.get_user(user_id)
        roles = {r["name"] for r in self.admin.get_realm_roles_of_user(user_id)} & set(REALM_ROLES)
        groups = [g["path"] for g in self.admin.get_user_groups(user_id, brief_representation=True)]
        return Account(id=user["id"], username=user["username"], email=user.get("email", ""),
                       first_name=user.get("firstName", ""), last_name=user.get("lastName", ""),
                       enabled=user.get("enabled", True), roles=frozenset(roles),
                       tenant_codes=tenant_codes_from_groups(groups),
                       required_actions=frozenset(user.get("requiredActions") or ()),
                       email_verified=bool(user.get("emailVerified")))

    @translate_errors
    def tenant_members(self, code: str) -> list[Account]:
        members = self._with_group(code, lambda group_id: self.admin.get_group_members(
            group_id, {"briefRepresentation": True, "max": 10000}))
        return [self.account(member["id"]) for member in members]

    @translate_errors
    def count_members(self, code: str) -> int:
        return len(self._with_group(code, lambda group_id: self.admin.get_group_members(
            group_id, {"briefRepresentation": True, "max": 100000})))

    @translate_errors
    def find_user_by_email(self, email: str) -> dict | None:
        users = self.admin.get_users({"email": email, "exact": True})
        return users[0] if users else None

    @property
    def sends_mail(self) -> bool:
        """Whether the realm has a mail server (configured by :func:`bootstrap_realm` from renkei's settings)."""
        return bool(self.settings.smtp)

    @translate_errors
    def create_user(self, username: str, email: str, first_name: str, last_name: str,
                    password: str | None = None, *, temporary_password: str | None = None,
                    extra_actions: Iterable[str] = ()) -> str:
        """A new enabled account.

        With ``password``: ready to use. With ``temporary_password``: the person signs in with it once
        and must then choose their own (Keycloak's UPDATE_PASSWORD). With neither: they must set a
        password and verify their e-mail through Keycloak's set-up e-mail (:meth:`send_setup_email`).
        """
        if temporary_password is not None:
            required_actions = [UPDATE_PASSWORD]
            credentials = [{"type": "password", "value": temporary_password, "temporary": True}]
        elif password is not None:
            required_actions, credentials = [], [{"type": "password", "value": password, "temporary": False}]
        else:
            required_actions, credentials = [UPDATE_PASSWORD, VERIFY_EMAIL], []
        required_actions = required_actions + [a for a in extra_actions if a not in required_actions]
        payload: dict[str, Any] = {"username": username, "email": email, "firstName": first_name,
                                   "lastName": last_name, "enabled": True, "emailVerified": password is not None,
                                   "requiredActions": required_actions}
        if credentials:
            payload["credentials"] = credentials
        return self.admin.create_user(payload)

    @translate_errors
    def set_temporary_password(self, user_id: str, password: str) -> None:
        """Replace the password by one the person must change at their next sign-in.

        Without a mail server Keycloak cannot verify an e-mail address, so UPDATE_PASSWORD becomes
        the only required action (a VERIFY_EMAIL left over would lock the person out).
        """
        self.admin.set_user_password(user_id, password, temporary=True)
        self.admin.update_user(user_id, {"requiredActions": [UPDATE_PASSWORD]})

    @translate_errors
    def end_sessions(self, user_id: str) -> None:
        """Sign the person out everywhere (after a password reset)."""
        self.admin.user_logout(user_id)

    @translate_errors
    def add_to_tenant(self, user_id: str, code: str, group_id: str | None = None) -> None:
        if group_id is not None and group_id != self._group_ids.get(code):
            self.admin.group_user_add(user_id, group_id)
        else:
            self._with_group(code, lambda known: self.admin.group_user_add(user_id, known))

    @translate_errors
    def grant_roles(self, user_id: str, roles: Iterable[str]) -> None:
        """Add realm roles to a user (a new account: nothing to compare with)."""
        wanted = [self._realm_role(name) for name in sorted(roles)]
        if wanted:
            self.admin.assign_realm_roles(user_id, wanted)

    @translate_errors
    def remove_from_tenant(self, user_id: str, code: str) -> None:
        self._with_group(code, lambda group_id: self.admin.group_user_remove(user_id, group_id))

    @translate_errors
    def set_roles(self, user_id: str, roles: Iterable[str], manageable: Iterable[str], *,
                  held: Iterable[str] | None = None) -> None:
        """Make the user's realm roles among ``manageable`` exactly ``roles``; others stay untouched.

        ``held``: the roles the user is known to hold (an account just created holds none), so
        that they are not read back from Keycloak."""
        wanted, manageable = set(roles), set(manageable)
        held = set(held) if held is not None else {r["name"] for r in self.admin.get_realm_roles_of_user(user_id)}
        add = [self._realm_role(n) for n in sorted((wanted - held) & manageable)]
        drop = [self._realm_role(n) for n in sorted((held - wanted) & manageable)]
        if add:
            self.admin.assign_realm_roles(user_id, add)
        if drop:
            self.admin.delete_realm_roles_of_user(user_id, drop)

    @translate_errors
    def require_totp_setup(self, user_id: str) -> bool:
        """Ask the person to set up a TOTP device at their next sign-in (a second-factor role was
        given to them after their account was made); False when they have one or are asked already."""
        return _ask_for_totp(self.admin, self.admin.get_user(user_id))

    @translate_errors
    def admin_events(self, since_ms: int, limit: int = 500, page: int = 20) -> list[dict[str, Any]]:
        """The realm's admin events about users and clients after ``since_ms`` (POSIX milliseconds),
        newest first, at most ``limit`` (needs ``view-events``; the realm keeps them because bootstrap
        enables admin events). Read ``page`` at a time, newest first, until an older one shows: a poll
        with nothing new costs one small answer."""
        found: list[dict[str, Any]] = []
        while len(found) < limit:
            events = self.admin.get_admin_events({"resourceTypes": ["USER", "CLIENT"], "first": len(found), "max": page})
            newer = [e for e in events if int(e.get("time", 0)) > since_ms]
            found += newer
            if len(newer) < page or len(events) < page:
                break
        return found[:limit]

    @translate_errors
    def enabled_role_holders(self, role: str) -> list[str]:
        """The ids of the enabled accounts that hold the realm role ``role`` directly."""
        members = self.admin.get_realm_role_members(role, query={"briefRepresentation": True, "max": 10000})
        return [m["id"] for m in members if m.get("enabled", True)]

    @translate_errors
    def set_enabled(self, user_id: str, enabled: bool) -> None:
        self.admin.update_user(user_id, {"enabled": enabled})

    @translate_errors
    def delete_user(self, user_id: str) -> None:
        self.admin.delete_user(user_id)

    # --- API clients of tenants (tenancy/identity/api_clients.py) ---------------------------

    @translate_errors
    def create_api_client(self, client_id: str, name: str, description: str, claims: dict[str, str],
                          optional_scopes: Iterable[str] = (), *, enabled: bool = True) -> str:
        """A confidential client-credentials client whose tokens carry the API audience and
        ``claims`` (hardcoded claim mappers, access token only); returns its secret. ``optional_scopes``
        are the scopes granted to it (created as client scopes when missing): *default* client scopes of
        the client, so that every token it gets carries them in its ``scope`` claim. (As optional client
        scopes they were in a token only when the client asked for them by name, and a
        client-credentials token asked for none: its ``scope`` was empty, and the gateway check could
        not see what the client may call.) ``enabled`` False: it issues no token until enabled (a client
        waiting for the operator's approval)."""
        mappers = [_claim_mapper(claim, value) for claim, value in claims.items()]
        uuid_ = self.admin.create_client({
            "clientId": client_id, "name": name, "description": description, "protocol": "openid-connect",
            "publicClient": False, "standardFlowEnabled": False, "directAccessGrantsEnabled": False,
            "implicitFlowEnabled": False, "serviceAccountsEnabled": True, "enabled": enabled,
            "fullScopeAllowed": False, "protocolMappers": mappers,
            "defaultClientScopes": ["basic", API_AUDIENCE_SCOPE]}, skip_exists=False)
        self._add_granted_scopes(uuid_, optional_scopes)
        return self.admin.get_client_secrets(uuid_)["value"]

    def _add_granted_scopes(self, uuid_: str, scopes: Iterable[str]) -> None:
        """Make ``scopes`` default client scopes of a client (created as client scopes when missing)."""
        if not scopes:
            return
        present = {s["name"]: s["id"] for s in self.admin.get_client_scopes()}
        for scope in sorted(set(scopes)):
            if scope not in present:
                present[scope] = self.admin.create_client_scope(
                    {"name": scope, "protocol": "openid-connect",
                     "attributes": {"include.in.token.scope": "true", "display.on.consent.screen": "false"}},
                    skip_exists=True)
            self.admin.add_client_default_client_scope(uuid_, present[scope], {})

    @translate_errors
    def update_api_client(self, client_id: str, name: str, description: str, claims: dict[str, str],
                          optional_scopes: Iterable[str], managed_scopes: Iterable[str]) -> None:
        """Bring a client made by :meth:`create_api_client` to a new name, description, ``claims`` (its
        hardcoded claim mappers) and granted scopes (default client scopes, see :meth:`create_api_client`);
        of its scopes only ``managed_scopes`` (the API clients' scopes) are added or removed, the realm's
        default ones are left as they are. Tokens
        issued afterwards carry the new claims; tokens already issued keep theirs until they expire. A
        client Keycloak no longer has is left alone; calling it again with the same values changes nothing."""
        uuid_ = self.admin.get_client_id(client_id)
        if uuid_ is None:
            return
        self.admin.update_client(uuid_, {"name": name, "description": description})
        mappers = {m["name"]: m for m in self.admin.get_mappers_from_client(uuid_)}
        for claim, value in claims.items():
            wanted = _claim_mapper(claim, value)
            mapper = mappers.get(claim)
            if mapper is None:
                self.admin.add_mapper_to_client(uuid_, wanted)
            elif mapper.get("config", {}).get("claim.value") != value:
                self.admin.update_client_mapper(uuid_, mapper["id"],
                                                {**mapper, "config": {**mapper.get("config", {}), **wanted["config"]}})
        managed, wanted_scopes = set(managed_scopes), set(optional_scopes)
        # a client registered before the scopes were default ones has them as optional: they move
        for scope, scope_id in {s["name"]: s["id"] for s in self.admin.get_client_optional_client_scopes(uuid_)}.items():
            if scope in managed:
                self.admin.delete_client_optional_client_scope(uuid_, scope_id)
        present = {s["name"]: s["id"] for s in self.admin.get_client_default_client_scopes(uuid_)}
        for scope, scope_id in present.items():
            if scope in managed and scope not in wanted_scopes:
                self.admin.delete_client_default_client_scope(uuid_, scope_id)
        self._add_granted_scopes(uuid_, wanted_scopes - set(present))

    @translate_errors
    def set_api_client_enabled(self, client_id: str, enabled: bool) -> None:
        """Disable (no new token) or enable a client; a client Keycloak no longer has is left alone."""
        uuid_ = self.admin.get_client_id(client_id)
        if uuid_ is not None:
            self.admin.update_client(uuid_, {"enabled": enabled})

    @translate_errors
    def api_client_ids(self, prefix: str) -> set[str]:
        """The client ids of the realm's clients that start with ``prefix`` (renkei's API clients)."""
        return {c["clientId"] for c in self.admin.get_clients() if str(c.get("clientId", "")).startswith(prefix)}

    @translate_errors
    def delete_api_client(self, client_id: str) -> None:
        uuid_ = self.admin.get_client_id(client_id)
        if uuid_ is not None:
            self.admin.delete_client(uuid_)

    @translate_errors
    def send_setup_email(self, user_id: str, actions: Iterable[str] = (UPDATE_PASSWORD, VERIFY_EMAIL)) -> None:
        """Keycloak's own e-mail (execute actions) with a link to set a password and verify the address.

        The link stays valid for :data:`SETUP_LINK_LIFESPAN_SECONDS`.
        """
        self.admin.send_update_account(user_id, list(actions), client_id=self.settings.admin_client_id,
                                       lifespan=SETUP_LINK_LIFESPAN_SECONDS)


def _claim_mapper(claim: str, value: str) -> dict[str, Any]:
    """A hardcoded claim of an API client's access tokens (and introspection), not of ID tokens."""
    return {"name": claim, "protocol": "openid-connect", "protocolMapper": "oidc-hardcoded-claim-mapper",
            "config": {"claim.name": claim, "claim.value": value, "jsonType.label": "String",
                       "access.token.claim": "true", "id.token.claim": "false",
                       "userinfo.token.claim": "false", "introspection.token.claim": "true"}}


@translate_errors
def password_token(settings: KeycloakSettings, username: str, password: str) -> dict:
    """Tokens by the password grant (tests and the demo only: needs ``direct_grants``)."""
    oidc = KeycloakOpenID(server_url=settings.url + "/", realm_name=settings.realm,
                          client_id=settings.admin_client_id, client_secret_key=settings.admin_client_secret,
                          timeout=settings.timeout)
    return oidc.token(username, password)


@translate_errors
def client_credentials_token(settings: KeycloakSettings, client_id: str, secret: str, scope: str | None = None) -> dict:
    oidc = KeycloakOpenID(server_url=settings.url + "/", realm_name=settings.realm,
                          client_id=client_id, client_secret_key=secret, timeout=settings.timeout)
    return oidc.token(grant_type="client_credentials", **({"scope": scope} if scope else {}))


@translate_errors
def client_token_or_none(settings: KeycloakSettings, client_id: str, secret: str) -> str | None:
    """A client-credentials access token of ``client_id`` with ``secret``; None when Keycloak refuses
    the pair (no such client, a wrong secret, a disabled client). The API gateway's own credential is
    checked this way (tenancy/identity/gateway.py)."""
    try:
        return client_credentials_token(settings, client_id, secret)["access_token"]
    except KeycloakError as error:
        if getattr(error, "response_code", None) in (400, 401):
            return None
        raise


SIGN_IN_UNAVAILABLE = (
    "Sign-in is not available at the moment: the identity server (Keycloak) does not answer. Nothing was changed. "
    "If you are already signed in, you can go on working; otherwise try again in a few minutes.",
    "現在ログインできません。認証サーバー（Keycloak）が応答していません。変更は行っていません。"
    "ログイン済みの方はそのまま作業を続けられます。そうでない方は、数分後にもう一度お試しください。")


def check_sign_in_service(settings: KeycloakSettings) -> None:
    """Raise :class:`IdentityUnavailable` (naming the cause in English) unless the realm's sign-in
    metadata answers within ``settings.timeout``: asked before a browser is sent to Keycloak, so
    that a person never lands on a dead sign-in page (the OIDC client keeps the metadata it read
    once, which would otherwise send them there)."""
    import requests

    url = f"{settings.url}/realms/{settings.realm}/.well-known/openid-configuration"
    try:
        response = requests.get(url, timeout=settings.timeout)
        cause = None if response.status_code == 200 else f"{url} answered {response.status_code}"
    except requests.RequestException as error:
        cause = f"{url}: {type(error).__name__}"
    if cause is not None:
        raise IdentityUnavailable(f"{SIGN_IN_UNAVAILABLE[0]} ({cause})", SIGN_IN_UNAVAILABLE[1], cause=cause)


def _openid(settings: KeycloakSettings) -> KeycloakOpenID:
    return KeycloakOpenID(server_url=settings.url + "/", realm_name=settings.realm, client_id=settings.admin_client_id,
                          client_secret_key=settings.admin_client_secret, timeout=settings.timeout)


@translate_errors
def end_session(settings: KeycloakSettings, refresh_token: str) -> bool:
    """End the Keycloak session a command-line sign-in holds (``renkei logout``): its refresh token
    renews nothing any more. False when Keycloak refused the token (the session had ended already)."""
    from keycloak.exceptions import KeycloakPostError

    try:
        _openid(settings).logout(refresh_token)
    except KeycloakPostError as error:
        if getattr(error, "response_code", None) in (400, 401):
            return False
        raise
    return True


@translate_errors
def refresh_tokens(settings: KeycloakSettings, refresh_token: str) -> dict:
    """New tokens for a command-line session (the admin client's refresh grant, as the web session's)."""
    return _openid(settings).refresh_token(refresh_token)


@translate_errors
def device_authorization(settings: KeycloakSettings) -> dict:
    """Start the device flow (``renkei login``): ``user_code``, ``verification_uri_complete``,
    ``device_code``, and the PKCE ``code_verifier`` :func:`device_token` sends back.

    The admin client requires PKCE (S256) for every flow it allows, the device flow included, so
    the start carries a code challenge (python-keycloak's ``device()`` sends none: Keycloak
    refuses it with "Missing parameter: code_challenge_method")."""
    import base64
    import hashlib
    import secrets

    from keycloak.exceptions import KeycloakPostError, raise_error_from_response
    from keycloak.urls_patterns import URL_DEVICE

    verifier = secrets.token_urlsafe(64)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode("ascii")).digest()).rstrip(b"=").decode("ascii")
    oidc = _openid(settings)
    payload = {"client_id": settings.admin_client_id, "client_secret": settings.admin_client_secret, "scope": "openid",
               "code_challenge": challenge, "code_challenge_method": "S256"}
    started = raise_error_from_response(oidc.connection.raw_post(URL_DEVICE.format(**{"realm-name": settings.realm}),
                                                                 data=payload), KeycloakPostError)
    return {**started, "code_verifier": verifier}


@translate_errors
def device_token(settings: KeycloakSettings, device_code: str, code_verifier: str = "") -> dict | None:
    """The tokens once the person approved the device code; ``None`` while it is still pending."""
    from keycloak.exceptions import KeycloakPostError

    try:
        return _openid(settings).token(grant_type="urn:ietf:params:oauth:grant-type:device_code",
                                       device_code=device_code, **({"code_verifier": code_verifier} if code_verifier else {}))
    except KeycloakPostError as error:
        if b"authorization_pending" in (error.response_body or b"") or b"slow_down" in (error.response_body or b""):
            return None
        raise
