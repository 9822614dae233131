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

import re
import uuid

from authlib.integrations.flask_client import OAuth
from flask import Blueprint, Flask, current_app, g, redirect, request, session, url_for

from admin.problems import from_domain_error, problem_response
from core import authz
from core.actor import Actor
from core.errors import DomainError
from tenancy.identity.tokens import InvalidToken, TokenValidator, actor_from_claims

bp = Blueprint("auth", __name__)

_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")
KNOWN_ROLES = frozenset(authz.PEOPLE_ROLES) | {authz.METERING}
DEV_ISSUER = "urn:renkei:development"


def issuer(app: Flask) -> str:
    return f"{app.config['RENKEI_KEYCLOAK_PUBLIC_URL']}/realms/{app.config['RENKEI_KEYCLOAK_REALM']}"


def token_validator() -> TokenValidator:
    app = current_app._get_current_object()
    validator = app.extensions.get("renkei_token_validator")
    if validator is None:
        jwks = f"{app.config['RENKEI_KEYCLOAK_URL']}/realms/{app.config['RENKEI_KEYCLOAK_REALM']}/protocol/openid-connect/certs"
        validator = TokenValidator(issuer(app), jwks, app.config["RENKEI_API_AUDIENCE"],
                                   leeway=app.config["RENKEI_TOKEN_LEEWAY_SECONDS"])
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


def _authenticate_api():
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if not header:
        if current_app.config["RENKEI_API_OPEN_FOR_DEVELOPMENT"] and current_app.config["RENKEI_ENV"] != "production":
            g.actor = _dev_actor()
            return None
        return problem_response(401, "Sign in first: send an access token as 'Authorization: Bearer <token>'.",
                                "ログインが必要です。アクセストークンを Authorization: Bearer で送ってください。")
    if scheme.lower() != "bearer" or not token.strip():
        return problem_response(401, "The Authorization header must be 'Bearer <token>'.",
                                "Authorization ヘッダーは「Bearer トークン」の形式にしてください。")
    try:
        claims = token_validator().claims(token.strip())
    except DomainError as error:
        return from_domain_error(error)
    g.actor = actor_from_claims(claims, KNOWN_ROLES, **_context())
    return None


def session_actor() -> Actor | None:
    data = session.get("actor")
    if not data:
        return None
    return Actor(issuer=data["issuer"], subject=data["subject"], name=data.get("name", ""),
                 roles=frozenset(data.get("roles", [])), tenant_codes=frozenset(data.get("tenant_codes", [])), **_context())


def _before_request():
    sent = request.headers.get("X-Request-Id", "")
    # a client's id is kept only if it is a plausible id; renkei makes its own otherwise
    g.request_id = sent if _REQUEST_ID.fullmatch(sent) else uuid.uuid4().hex
    if request.path.startswith("/api/") and request.path != "/api/v1/openapi.json":
        return _authenticate_api()
    actor = session_actor()
    if actor is not None:
        g.actor = actor
    return None


@bp.route("/login")
def login():
    target = request.args.get("next") or url_for("admin.index")
    session["login_next"] = target if target.startswith("/") and not target.startswith("//") else "/admin/"
    return _oauth().keycloak.authorize_redirect(url_for("auth.callback", _external=True))


LOGIN_NOT_CONFIRMED = DomainError(
    "Your sign-in could not be confirmed, so you are not signed in. Sign in again; if this keeps happening, "
    "tell the platform operator the time it happened.",
    "ログインを確認できなかったため、ログインしていません。もう一度ログインしてください。"
    "繰り返し起きる場合は、起きた時刻を添えて基盤の運用担当者に連絡してください。")


@bp.route("/auth/callback")
def callback():
    try:
        token = _oauth().keycloak.authorize_access_token()
        claims = token_validator().claims(token["access_token"])
    except DomainError as error:  # the layout's error page, in the reader's language, still a 401
        from admin.views.frame import render_error

        if isinstance(error, InvalidToken):  # its reason is technical English: logged, not shown to the person
            current_app.logger.warning("login refused: %s", error.message_en)
            error = LOGIN_NOT_CONFIRMED
        return render_error(401, error=error)
    except Exception:  # noqa: BLE001  (authlib raises several kinds for a bad or replayed callback)
        current_app.logger.warning("login callback failed", exc_info=True)
        return redirect(url_for("auth.login"))
    actor = actor_from_claims(claims, KNOWN_ROLES)
    target = session.get("login_next")
    session.clear()
    session["actor"] = {"issuer": actor.issuer, "subject": actor.subject, "name": actor.name,
                        "roles": sorted(actor.roles), "tenant_codes": sorted(actor.tenant_codes)}
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
        client_kwargs={"scope": "openid profile email", "code_challenge_method": "S256"},
        overwrite=True,
    )
    app.before_request(_before_request)
    app.register_blueprint(bp)
