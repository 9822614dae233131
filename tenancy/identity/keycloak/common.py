"""Settings, constants and the translation of Keycloak's errors shared by the package's modules."""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable
from typing import Any, TypeVar

from keycloak.exceptions import KeycloakConnectionError, KeycloakError

from core import authz
from core.errors import Conflict, Invalid, NotFound, problem
from tenancy.errors import IdentityUnavailable

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
TOTP_ROLES = frozenset({authz.OPERATOR, authz.FINANCE, authz.AUDITOR, authz.MUNICIPAL_ADMIN, authz.ORG_ADMIN,
                        authz.RESIDENT_DESK, authz.SECRETARIAT, authz.VENDOR})
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
    authz.RESIDENT_DESK: "Municipal residents' desk (住民窓口担当)",
    authz.SECRETARIAT: "Contracted consortium secretariat (コンソーシアム事務局)",
    authz.VENDOR: "Contracted platform vendor: service operations (基盤運用事業者)",
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
    # the passwords' hashing cost: None keeps Keycloak's own (Argon2 at its own cost), as production must; the test
    # suite lowers it (RENKEI_KEYCLOAK_PASSWORD_HASH_ITERATIONS: PBKDF2-SHA256 at that many iterations, realm.py),
    # since every sign-in and new password of its thousands of people otherwise spends the machine's CPU on hashing
    password_hash_iterations: int | None = None
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


# The longest name or description Keycloak stores for a client (its columns are VARCHAR(255), in
# characters): a longer one is refused with a bare 500 "unknown_error", which reads as an outage. The
# schemas that send text there (an API client's name and purpose) state this limit.
KEYCLOAK_TEXT_MAX = 255


def keycloak_text(value: str) -> str:
    """``value`` as Keycloak can hold it (at most :data:`KEYCLOAK_TEXT_MAX` characters): a label there,
    renkei keeps the whole text (a purpose stored before the limit was stated)."""
    return value[:KEYCLOAK_TEXT_MAX]


def _refusal_reason(error: Exception) -> str:
    """Keycloak's own words for a refusal (``errorMessage``, ``error_description`` or ``error``), or ''."""
    import json

    try:
        body = json.loads(getattr(error, "response_body", b"") or b"{}")
    except (ValueError, TypeError):
        return ""
    if not isinstance(body, dict):
        return ""
    for key in ("errorMessage", "error_description", "error"):
        if isinstance(body.get(key), str) and body[key].strip():
            return body[key].strip()[:300]
    return ""


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
            if code not in (400, 413, 422):
                raise
            # any other refusal of what renkei sent: the request's fault (422 with Keycloak's reason), not
            # an outage; only an unreachable or failing Keycloak is 503 (above)
            reason = _refusal_reason(error) or f"HTTP {code}"
            raise Invalid(f"The identity server (Keycloak) refused the change: {reason}. Nothing was changed.",
                          f"認証サーバー（Keycloak）が変更を受け付けませんでした（{reason}）。変更は行っていません。") from None
        except OSError as error:  # a refused connection below requests
            raise _unavailable(error) from None

    return wrapper
