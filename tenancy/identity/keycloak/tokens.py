"""Tokens and sign-in: the password, client-credentials, refresh and device grants, and the sign-in service's health."""

from __future__ import annotations

from keycloak import KeycloakOpenID
from keycloak.exceptions import KeycloakError

from tenancy.errors import IdentityUnavailable
from tenancy.identity.keycloak.common import KeycloakSettings, translate_errors

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


DEVICE_PENDING = "authorization_pending"  # the device flow's code not confirmed yet (RFC 8628, 3.5)
DEVICE_SLOW_DOWN = "slow_down"  # not confirmed yet, and the client polled too often: 5 s more between polls


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
def device_token(settings: KeycloakSettings, device_code: str, code_verifier: str = "") -> dict | str:
    """The tokens once the person approved the device code; while it is still pending, Keycloak's
    reason: ``"authorization_pending"``, or ``"slow_down"`` (RFC 8628, 3.5: the client polls too
    often, and waits 5 s more between its polls from then on)."""
    from keycloak.exceptions import KeycloakPostError

    try:
        return _openid(settings).token(grant_type="urn:ietf:params:oauth:grant-type:device_code",
                                       device_code=device_code, **({"code_verifier": code_verifier} if code_verifier else {}))
    except KeycloakPostError as error:
        for pending in (DEVICE_SLOW_DOWN, DEVICE_PENDING):
            if pending.encode("ascii") in (error.response_body or b""):
                return pending
        raise
