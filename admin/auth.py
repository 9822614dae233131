"""Authentication for the API (Bearer tokens) and the admin UI (OIDC login through Keycloak).

* ``/api/*``: every request carries ``Authorization: Bearer <access token>``, validated by
  :class:`tenancy.identity.tokens.TokenValidator`; no token is 401. Only in development mode with
  ``RENKEI_API_OPEN_FOR_DEVELOPMENT`` on does a request without a token act as a development
  operator (never in production: the configuration check refuses it).
* ``/admin``: authorization code flow with PKCE through Authlib; the signed session keeps the
  actor (issuer, subject, roles, tenants) and the ID token for logout.

Authorization itself is :mod:`core.authz`, asked through :func:`require`.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable, Iterable

from authlib.integrations.flask_client import OAuth
from flask import Blueprint, Flask, current_app, g, redirect, request, session, url_for
from flask.sessions import SecureCookieSessionInterface

from admin import admin_events
from admin.problems import from_domain_error, problem_response
from core import authz, request_context
from core.actor import Actor
from core.errors import DomainError
from tenancy.identity.denylist import DenyListCache
from tenancy.identity import api_clients, client_access
from tenancy.identity.allowlist import ANY, address_allowed
from tenancy.identity.tokens import InvalidToken, TokenValidator, actor_from_claims

bp = Blueprint("auth", __name__)

_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")
KNOWN_ROLES = frozenset(authz.PEOPLE_ROLES) | {authz.METERING}
DEV_ISSUER = "urn:renkei:development"
# API paths whose module authenticates the caller itself (before-request step by path; see own_authentication)
_OWN_AUTHENTICATION: dict[str, Callable] = {}


def issuer(app: Flask) -> str:
    return f"{app.config['RENKEI_KEYCLOAK_PUBLIC_URL']}/realms/{app.config['RENKEI_KEYCLOAK_REALM']}"


def token_validator(app: Flask | None = None) -> TokenValidator:
    """The app's validator (``app``: outside a request, e.g. a renewal's thread)."""
    app = app or current_app._get_current_object()
    validator = app.extensions.get("renkei_token_validator")
    if validator is None:
        jwks = f"{app.config['RENKEI_KEYCLOAK_URL']}/realms/{app.config['RENKEI_KEYCLOAK_REALM']}/protocol/openid-connect/certs"
        validator = TokenValidator(issuer(app), jwks, app.config["RENKEI_API_AUDIENCE"],
                                   leeway=app.config["RENKEI_TOKEN_LEEWAY_SECONDS"],
                                   cache_seconds=float(app.config.get("RENKEI_JWKS_CACHE_SECONDS") or 300),
                                   keep_seconds=float(app.config.get("RENKEI_JWKS_KEEP_SECONDS") or 900))
        app.extensions["renkei_token_validator"] = validator
    return validator


def _context() -> dict[str, str | None]:
    return {"request_id": g.get("request_id"), "source_ip": request.remote_addr}


def current_actor() -> Actor:
    return g.actor


def require(action: str, tenant_code: str | None = None) -> authz.Grant:
    return authz.authorize(current_actor(), action, tenant_code)


def _dev_actor() -> Actor:
    return Actor(issuer=DEV_ISSUER, subject="developer", name="developer (open API)",
                 roles=frozenset({authz.OPERATOR}), **_context())


def _loopback(address: str | None) -> bool:
    import ipaddress

    try:
        return ipaddress.ip_address((address or "").split("%")[0]).is_loopback
    except ValueError:
        return False


def open_for_development(app: Flask, environ: dict) -> bool:
    """Whether a request without a token acts as the development operator: only with
    RENKEI_API_OPEN_FOR_DEVELOPMENT on in development mode (the configuration check refuses the
    flag in any other mode; a test app, built by code, may turn it on as the ``open_api`` fixture
    does), and only for a caller on this machine: the connection's own peer and the address
    renkei believes (after any proxy headers) both loopback, so a server bound to another
    address, or a proxy on this machine passing on a remote caller, opens nothing."""
    config = app.config
    if not config["RENKEI_API_OPEN_FOR_DEVELOPMENT"] or not (config["RENKEI_ENV"] == "development" or app.testing):
        return False
    peer = environ.get("renkei.proxy_peer", environ.get("REMOTE_ADDR"))  # admin/proxies.py keeps the connection's own peer
    if peer is None and app.testing:  # an in-process call of test code (no socket: a server always sets it)
        return True
    return _loopback(peer) and _loopback(environ.get("REMOTE_ADDR"))


def _bearer(header: str) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header; ``None`` for any other form."""
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def _authenticate_api(request_):
    header = request_.headers.get("Authorization", "")
    token = _bearer(header)
    if not header:
        if open_for_development(current_app, request_.environ):
            g.actor = _dev_actor()
            return None
        return problem_response(401, "Sign in first: send an access token as 'Authorization: Bearer <token>'.",
                                "ログインが必要です。アクセストークンを Authorization: Bearer で送ってください。")
    if token is None:
        return problem_response(401, "The Authorization header must be 'Bearer <token>'.",
                                "Authorization ヘッダーは「Bearer トークン」の形式にしてください。")
    try:
        claims = token_validator().claims(token)
    except DomainError as error:
        return from_domain_error(error)
    admin_events.keep_reading()  # a thread of this process reads them; the request never waits for Keycloak
    # asked on every request, also for a token the validator remembered (its access may have ended since)
    if deny_list().refused(_db_session(), claims["sub"], claims.get("iat")):
        return from_domain_error(AccessEnded())
    address = request_.remote_addr
    if _is_client_token(claims) and (ended := _client_access_ended(claims)) is not None:
        return ended
    if "renkei_allowlist" in claims and not address_allowed(_allowlist_now(claims), address):
        return problem_response(403, f"This API client may not call from {address}: the address is not "
                                     "in its IP allowlist.",
                                f"この API クライアントは接続元 {address} からは利用できません"
                                "（許可された IP アドレスではありません）。")
    context = g._get_current_object()
    context.actor = actor_from_claims(claims, KNOWN_ROLES, request_id=getattr(context, "request_id", None),
                                      source_ip=address)
    return None


def own_authentication(paths: Iterable[str], authenticate: Callable) -> None:
    """``authenticate(request)`` (a refusal response, or None having set ``g.actor`` if it wants one)
    replaces the bearer token check for ``paths``: the API gateway's check authenticates the gateway
    by its client id and secret, and its refusal explainer needs no sign-in (admin/api/gateway.py)."""
    _OWN_AUTHENTICATION.update(dict.fromkeys(paths, authenticate))


def client_states() -> client_access.ClientStateCache:
    """This process's memory of API clients' states (RENKEI_GATEWAY_CACHE_SECONDS, default 1): the
    gateway check's and this API's."""
    app = current_app._get_current_object()
    states = app.extensions.get("renkei_client_states")
    if states is None:
        states = app.extensions["renkei_client_states"] = client_access.ClientStateCache(
            float(app.config.get("RENKEI_GATEWAY_CACHE_SECONDS") or 1.0))
    return states


def _is_client_token(claims: dict) -> bool:
    """A token of one of renkei's API clients (its claims name it): judged by the client's state."""
    return api_clients.CLAIM_CLIENT in claims or api_clients.CLAIM_ALLOWLIST in claims


def _client_access_ended(claims: dict):
    """An API client's token is refused by renkei's own API as by the gateway check
    (:func:`tenancy.identity.client_access.state_refusal`, the client's state at most
    RENKEI_GATEWAY_CACHE_SECONDS old): revoked, disabled, waiting, expired, rotated out, missing in
    Keycloak, or not in renkei's records at all. ``None``: it may go on."""
    from core.db import utcnow

    row = client_states().row(_db_session(), str(claims.get("azp") or claims.get("client_id") or ""))
    reason = "not_an_api_client" if row is None else client_access.state_refusal(row, utcnow())
    if reason is None:
        return None
    en, ja = client_access.REASONS[reason]
    return problem_response(401, f"The access token was refused: {en}.", f"アクセストークンは使えません。{ja}。")


def _allowlist_now(claims: dict) -> str:
    """A machine token's allowlist as the client's owner set it last, as the gateway check reads it (an
    edit applies at once to tokens issued before it); the token's claim when the client is not in
    renkei's records."""
    row = client_states().row(_db_session(), str(claims.get("azp") or claims.get("client_id") or ""))
    if row is None:
        return str(claims["renkei_allowlist"])
    return ANY if row.allow_any else row.allowlist


class AccessEnded(InvalidToken):
    def __init__(self) -> None:
        DomainError.__init__(
            self, "The access token was refused: this account was disabled, removed or its roles changed after the "
                  "token was issued. Sign in again if you still have access.",
            "アクセストークンが無効です。トークンの発行後にこのアカウントが無効化・削除されたか、役割が変更されました。"
            "引き続き利用できる場合は、もう一度ログインしてください。", reason="access ended")


def deny_list() -> DenyListCache:
    """This process's copy of the deny list (:mod:`tenancy.identity.denylist`; staleness bound there)."""
    app = current_app._get_current_object()
    cache = app.extensions.get("renkei_deny_list")
    if cache is None:
        cache = DenyListCache(max_age=float(app.config.get("RENKEI_DENY_LIST_MAX_AGE", 1.0)))
        app.extensions["renkei_deny_list"] = cache
    return cache


def _db_session():
    from admin.extensions import db

    return db.session


def session_actor() -> Actor | None:
    data = session.get("actor")
    if not data:
        return None
    return Actor(issuer=data["issuer"], subject=data["subject"], name=data.get("name", ""),
                 roles=frozenset(data.get("roles", [])), tenant_codes=frozenset(data.get("tenant_codes", [])), **_context())


def request_id(sent: str) -> str:
    """The request's id: a client's ``X-Request-ID`` is kept only if it is a plausible id; renkei
    makes its own otherwise (128 random bits, hex)."""
    return sent if _REQUEST_ID.fullmatch(sent) else os.urandom(16).hex()


# Public reads under /api: a reader without a token is anonymous (their blueprint asks
# :func:`optional_actor`); every other address under /api needs a token.
PUBLIC_API_PREFIXES = ("/api/3/", "/api/3", "/api/action/")


def optional_actor(request_) -> Actor | None:
    """The reader of a public read (the CKAN Action API): None without a token; with one (sent as
    ``Authorization: Bearer <token>`` or, as CKAN's clients send their key, the bare token) the
    person it names, after the same checks as every API request. A bad or ended token raises
    :class:`core.errors.DomainError` (never read as anonymous)."""
    header = request_.headers.get("Authorization", "").strip() or request_.headers.get("X-CKAN-API-Key", "").strip()
    if not header:
        return None
    token = _bearer(header) or header
    claims = token_validator().claims(token)
    admin_events.keep_reading()  # a thread of this process reads them; the request never waits for Keycloak
    if deny_list().refused(_db_session(), claims["sub"], claims.get("iat")):
        raise AccessEnded()
    address = request_.remote_addr
    if "renkei_allowlist" in claims and not address_allowed(_allowlist_now(claims), address):
        raise AccessEnded()
    return actor_from_claims(claims, KNOWN_ROLES, request_id=g.get("request_id"), source_ip=address)


def _before_request():
    req = request._get_current_object()  # one look-up through Flask's proxy
    g.request_id = request_id(req.headers.get("X-Request-Id", ""))
    g.request_id_token = request_context.REQUEST_ID.set(g.request_id)  # every log line of the request carries it
    path = req.path
    own = _OWN_AUTHENTICATION.get(path)
    if own is not None:  # e.g. the gateway's check: its own credential (admin/api/gateway.py)
        return own(req)
    if path.startswith(PUBLIC_API_PREFIXES):
        return None
    if path.startswith("/api/") and path != "/api/v1/openapi.json":
        return _authenticate_api(req)
    if session.get("actor") and not _session_still_valid():
        session.clear()  # signed out: the next page asks to sign in again
        return None
    actor = session_actor()
    if actor is not None:
        g.actor = actor
    return None


def _session_still_valid() -> bool:
    """The /admin session's checks (docs/identity.md, "When access ends"): idle for at most
    RENKEI_SESSION_IDLE_MINUTES; the person not on the deny list since signing in; and, for a person
    of the platform realm, their enabled state, roles and tenants read again from Keycloak at least
    every RENKEI_SESSION_RECHECK_SECONDS (a disabled or removed person is signed out, changed roles
    apply)."""
    config = current_app.config
    now = time.time()
    seen = session.get("seen")
    if seen is not None and now - float(seen) > float(config["RENKEI_SESSION_IDLE_MINUTES"]) * 60:
        return False
    if now - float(seen or 0) >= 5:  # the cookie is rewritten at most every 5 s, not on every request
        session["seen"] = now
    data = session["actor"]
    signed_in = session.get("signed_in_at")
    if signed_in is not None and deny_list().refused(_db_session(), data["subject"], signed_in):
        return False
    if data.get("issuer") != issuer(current_app):
        return True  # not a person of the platform realm (the development sign-in, tests): nothing to ask
    checked = session.get("checked")
    if checked is None:
        session["checked"] = now
    elif now - float(checked) >= float(config["RENKEI_SESSION_RECHECK_SECONDS"]):
        return _recheck(data, now)
    return True


def _recheck(data: dict, now: float) -> bool:
    from admin.identity import identity_directory
    from core.errors import NotFound
    from tenancy.errors import IdentityUnavailable

    try:
        account = identity_directory().account(data["subject"])
    except NotFound:
        return False
    except IdentityUnavailable:
        # Keycloak cannot answer: the session goes on and is checked again in 30 s
        current_app.logger.warning("session re-check: identity server unavailable", exc_info=True)
        session["checked"] = now - float(current_app.config["RENKEI_SESSION_RECHECK_SECONDS"]) + 30
        return True
    if not account.enabled:
        return False
    session["actor"] = {**data, "roles": sorted(account.roles & KNOWN_ROLES), "tenant_codes": sorted(account.tenant_codes)}
    session["checked"] = now
    return True


RETRY_AFTER_SECONDS = 30  # what a 503 of the sign-in service asks the browser to wait


def sign_in_unavailable(cause: object):
    """The 503 page (inside the layout, in the reader's language, with Retry-After) for sign-in
    while Keycloak cannot answer; one log line names the cause."""
    from admin.views.frame import render_error
    from tenancy.errors import IdentityUnavailable
    from tenancy.identity.keycloak import SIGN_IN_UNAVAILABLE

    current_app.logger.warning("sign-in unavailable: the identity server (Keycloak) at %s did not answer: %s",
                               current_app.config["RENKEI_KEYCLOAK_URL"], cause)
    body, status = render_error(503, error=IdentityUnavailable(*SIGN_IN_UNAVAILABLE))
    return body, status, {"Retry-After": str(RETRY_AFTER_SECONDS)}


@bp.route("/login")
def login():
    import requests

    from admin.identity import keycloak_settings
    from tenancy.errors import IdentityUnavailable
    from tenancy.identity.keycloak import check_sign_in_service

    target = request.args.get("next") or url_for("admin.index")
    session["login_next"] = target if target.startswith("/") and not target.startswith("//") else "/admin/"
    try:
        check_sign_in_service(keycloak_settings())  # asked every time: the client keeps metadata it read once
        return _oauth().keycloak.authorize_redirect(url_for("auth.callback", _external=True))
    except IdentityUnavailable as error:
        return sign_in_unavailable(error.details.get("cause") or error.message_en)
    except requests.RequestException as error:  # the OIDC client's own metadata fetch
        return sign_in_unavailable(f"{type(error).__name__}: {error}")


LOGIN_NOT_CONFIRMED = DomainError(
    "Your sign-in could not be confirmed, so you are not signed in. Sign in again; if this keeps happening, "
    "tell the platform operator the time it happened.",
    "ログインを確認できなかったため、ログインしていません。もう一度ログインしてください。"
    "繰り返し起きる場合は、起きた時刻を添えて基盤の運用担当者に連絡してください。")


def _record_sign_in(actor: Actor) -> None:
    """A sign-in to the admin is audited (``auth.sign_in``): the monthly report counts them from here
    (renkei does not read Keycloak's login events)."""
    import dataclasses

    from admin.extensions import db
    from core import audit

    audit.record(db.session, dataclasses.replace(actor, request_id=getattr(g, "request_id", None),
                                                 source_ip=request.remote_addr),
                 "auth.sign_in", "user", actor.subject)
    db.session.commit()


@bp.route("/auth/callback")
def callback():
    import requests

    try:
        token = _oauth().keycloak.authorize_access_token()
        claims = token_validator().claims(token["access_token"])
    except requests.RequestException as error:  # Keycloak went away between the redirect and the callback
        return sign_in_unavailable(f"{type(error).__name__}: {error}")
    except DomainError as error:  # the layout's error page, in the reader's language, still a 401
        from admin.views.frame import render_error

        if error.kind == "unavailable":  # the token's keys could not be read: Keycloak, not the person
            return sign_in_unavailable(error.message_en)
        if isinstance(error, InvalidToken):  # its reason is technical English: logged, not shown to the person
            current_app.logger.warning("login refused: %s", error.message_en)
            error = LOGIN_NOT_CONFIRMED
        return render_error(401, error=error)
    except Exception:  # noqa: BLE001  (authlib raises several kinds for a bad or replayed callback)
        current_app.logger.warning("login callback failed", exc_info=True)
        return redirect(url_for("auth.login"))
    actor = actor_from_claims(claims, KNOWN_ROLES)
    _record_sign_in(actor)
    target = session.get("login_next")
    session.clear()
    session["actor"] = {"issuer": actor.issuer, "subject": actor.subject, "name": actor.name,
                        "roles": sorted(actor.roles), "tenant_codes": sorted(actor.tenant_codes)}
    session["signed_in_at"] = session["checked"] = session["seen"] = time.time()
    session["id_token"] = token.get("id_token")
    return redirect(target or url_for("admin.index"))


@bp.route("/logout")
def logout():
    id_token = session.get("id_token")
    session.clear()
    app = current_app
    end = f"{app.config['RENKEI_KEYCLOAK_PUBLIC_URL']}/realms/{app.config['RENKEI_KEYCLOAK_REALM']}/protocol/openid-connect/logout"
    back = url_for("admin.index", _external=True)
    if id_token:
        return redirect(f"{end}?id_token_hint={id_token}&post_logout_redirect_uri={back}")
    return redirect(back)


class _CookieSessionOutsideApi(SecureCookieSessionInterface):
    """The signed cookie session for the admin UI only. An ``/api/*`` request is authenticated by
    its bearer token alone, so it never reads or writes the cookie session (it gets an empty one
    that is not kept): an API client's cookies cannot make it act as a signed-in person, and the
    hot API paths do not pay for opening a signed session."""

    def open_session(self, app, request):
        if request.path.startswith("/api/"):
            return self.session_class()
        return super().open_session(app, request)

    def save_session(self, app, session, response) -> None:
        if request.path.startswith("/api/"):
            return
        super().save_session(app, session, response)


def _oauth() -> OAuth:
    return current_app.extensions["renkei_oauth"]


def init_app(app: Flask) -> None:
    oauth = OAuth(app)  # one registry per app: several apps (tests) must not share client settings
    app.extensions["renkei_oauth"] = oauth
    base = f"{app.config['RENKEI_KEYCLOAK_URL']}/realms/{app.config['RENKEI_KEYCLOAK_REALM']}"
    oauth.register(
        "keycloak",
        client_id=app.config["RENKEI_OIDC_CLIENT_ID"],
        client_secret=app.config["RENKEI_OIDC_CLIENT_SECRET"],
        server_metadata_url=f"{base}/.well-known/openid-configuration",
        client_kwargs={"scope": "openid profile email", "code_challenge_method": "S256",
                       # each call of the sign-in (metadata, token, keys) gives up after RENKEI_KEYCLOAK_TIMEOUT
                       "default_timeout": float(app.config.get("RENKEI_KEYCLOAK_TIMEOUT", 3))},
        overwrite=True,
    )
    app.session_interface = _CookieSessionOutsideApi()
    # Secure only in production (the demo and tests run on plain http); HttpOnly and SameSite always (config.py)
    app.config["SESSION_COOKIE_SECURE"] = app.config["RENKEI_ENV"] == "production"
    app.before_request(_before_request)
    app.register_blueprint(bp)
