"""The residents' portal's door (issue 42 item 4): sign-in with the My Number card through the residents' realm.

* ``/portal/``: signed out, the way in; signed in, the resident's common ID and its status (Japanese first,
  English by ``?lang=en``; phone first).
* ``/portal/login``: the authorization-code flow (PKCE) against the residents' realm (RENKEI_RESIDENTS_REALM,
  never the staff realm), sent straight on to a provider (``kc_idp_hint``: ``?provider=ALIAS``, by default
  the provider of the highest assurance).
* ``/portal/callback``: the ID token verified (signature, issuer, audience, nonce), the person found or
  enrolled (residents.signin), the resident's session kept apart from staff's (admin/portal/session.py).
* ``/portal/logout``: the resident's session ended, and the realm's.

The rest of the portal (links, consents, history, questions about the data's use, download, leave) is built on :func:`current_resident`.
"""

from __future__ import annotations

from flask import Flask, current_app, redirect, render_template, request, session, url_for

from admin.portal import blueprint as portal_blueprint, records as portal_records
from admin.extensions import db
from admin.problems import status_of
from admin.resident_keys import keyring
from admin.portal.session import current_resident, sign_in_resident, sign_out_resident
from core.calendar import jst_text
from core.errors import DomainError, Unavailable
from residents.consent.models import AssuranceLevel
from residents import operations, signin
from residents import portal as resident_portal
from residents import moves as resident_moves, portal_municipalities
from residents.models import Resident, ResidentProvider, ResidentStatus

bp = portal_blueprint.bp
portal_records.register(bp)  # history, notices, download, leave (admin/portal/records.py)

NOT_CONFIGURED = Unavailable(
    "Sign-in to the residents' portal is not set up yet: no identity provider is configured.",
    "住民ポータルのサインインはまだ設定されていません（認証事業者が未設定です）。")
SAME_REALM = Unavailable(
    "The residents' portal is switched off: its realm must not be the staff realm.",
    "住民ポータルは停止しています。住民用レルムを職員用レルムと別にしてください。")


def _realm_base() -> str:
    config = current_app.config
    if config["RENKEI_RESIDENTS_REALM"] == config["RENKEI_KEYCLOAK_REALM"]:
        raise SAME_REALM  # fail closed: residents never sign in where staff do
    return f"{config['RENKEI_KEYCLOAK_URL']}/realms/{config['RENKEI_RESIDENTS_REALM']}"


def _client():
    """The residents' realm's OpenID Connect client, made on first use (the app starts without it) and again
    when the settings it was made from change."""
    oauth = current_app.extensions["renkei_oauth"]
    config = current_app.config
    base = _realm_base()
    made_from = (base, config["RENKEI_RESIDENTS_CLIENT_ID"], config["RENKEI_RESIDENTS_CLIENT_SECRET"])
    if current_app.extensions.get("renkei_residents_client") != made_from:
        oauth._clients.pop("residents", None)  # authlib keeps a made client by name; register anew
        oauth.register("residents", client_id=config["RENKEI_RESIDENTS_CLIENT_ID"],
                       client_secret=config["RENKEI_RESIDENTS_CLIENT_SECRET"],
                       server_metadata_url=f"{base}/.well-known/openid-configuration",
                       client_kwargs={"scope": "openid", "code_challenge_method": "S256",
                                      "default_timeout": float(config.get("RENKEI_KEYCLOAK_TIMEOUT", 3))},
                       overwrite=True)
        current_app.extensions["renkei_residents_client"] = made_from
    return oauth.create_client("residents")


def _page(status: int = 200, error: DomainError | None = None):
    resident = current_resident()
    context = {"resident": resident, "common_id": None, "error": error}
    if resident is not None:
        ja = current_language_is_ja()
        row = db.session.get(Resident, resident.resident_id)  # as it is now: the desk may have decided a review since
        # the resident's status, not the page's HTTP status (``status``), which this function returns
        common_id, resident_status = (row.common_id, row.status) if row is not None else (
            resident.common_id, ResidentStatus(resident.status))
        label = ResidentStatus(resident_status).label
        level = db.session.get(AssuranceLevel, resident.assurance_level)
        provider = db.session.query(ResidentProvider).filter_by(alias=resident.provider).one_or_none()
        context.update(common_id=common_id, status_label=label[0] if ja else label[1],
                       level_label=level.label(ja) if level else "",
                       provider_name=provider.display_name if provider else resident.provider,
                       signed_in_at=jst_text(resident.signed_in_at))
        todo = (resident_portal.to_do(db.session, row) if row is not None and row.common_id
                and row.status is ResidentStatus.active else [])
        context.update(todo=[{"kind": item.kind, "name": item.service_name,
                              "url": url_for("portal.service", service_id=item.service_id) if item.kind == "consent"
                              else url_for("portal.services")} for item in todo])
        if row is not None and row.status is ResidentStatus.active and resident.representative_id is None:
            context.update(move_to=resident_moves.destination(db.session, keyring(), row))
        context.update(moved_in=request.args.get("moved") == "1" and row is not None and bool(row.moved_from))
        context.update(municipality=_municipality_name(resident.tenant_code, ja),
                       welcome=portal_municipalities.welcome(db.session, resident.tenant_code, ja),
                       others=[(code, _municipality_name(code, ja)) for code in resident.municipalities
                               if code != resident.tenant_code])
        context.update(unread=portal_records.unread_notices(),
                       updated=[row.title_ja if ja else row.title_en
                                for row in operations.updates_unread(db.session, resident.resident_id)])
    return render_template("portal/index.html", **context), status


def _municipality_name(code: str, ja: bool) -> str:
    from tenancy.registry.models import Tenant

    tenant = db.session.query(Tenant).filter_by(code=code).one_or_none()
    if tenant is None:
        return code
    return tenant.name_ja if ja else tenant.name_en_shown


def current_language_is_ja() -> bool:
    from admin.i18n import current_language

    return current_language() == "ja"


@bp.route("/")
def index():
    return _page()


def _provider(alias: str | None) -> ResidentProvider:
    query = db.session.query(ResidentProvider)
    provider = query.filter_by(alias=alias).one_or_none() if alias else None
    provider = provider or query.order_by(ResidentProvider.assurance_level.desc(), ResidentProvider.id).first()
    if provider is None:
        raise NOT_CONFIGURED
    return provider


@bp.route("/login")
def login():
    import requests

    try:
        signin.portal_open(db.session, current_app.config["RENKEI_PORTAL_TENANT"])
        provider = _provider(request.args.get("provider"))
        chosen = (request.args.get("municipality") or "").strip()
        if chosen.isdigit() and len(chosen) == 6:  # the resident picked one of theirs: checked at the callback
            session["portal_municipality"] = chosen
        return _client().authorize_redirect(url_for("portal.callback", _external=True), kc_idp_hint=provider.alias)
    except DomainError as error:
        return _page(status_of(error), error)
    except requests.RequestException as error:  # the residents' realm could not be reached
        current_app.logger.warning("portal sign-in unavailable: %s", error)
        return _page(503, Unavailable("The sign-in service cannot be reached. Try again shortly.",
                                      "サインインのサービスに接続できません。しばらくしてから再度お試しください。"))


SIGN_IN_NOT_CONFIRMED = DomainError(
    "Your sign-in could not be confirmed, so you are not signed in. Sign in again.",
    "サインインを確認できなかったため、サインインしていません。もう一度サインインしてください。")


@bp.route("/callback")
def callback():
    import requests

    try:
        client = _client()
        token = client.authorize_access_token()
        # the ID token's claims, verified by authlib: signature (the realm's keys), issuer, audience, nonce
        verified = dict(token.get("userinfo") or {})
        # the provider's claims (the 基本4情報) are never in the ID token, which the browser carries back at sign-out
        # (tenancy.identity.keycloak.residents_realm): read from the realm's userinfo endpoint, for the same person
        claims = dict(client.userinfo(token=token))
        if not verified.get("sub") or claims.get("sub") != verified["sub"]:
            raise ValueError("the userinfo endpoint answered for another subject than the ID token's")
    except DomainError as error:
        return _page(status_of(error), error)
    except requests.RequestException as error:
        current_app.logger.warning("portal sign-in unavailable: %s", error)
        return _page(503, Unavailable("The sign-in service cannot be reached. Try again shortly.",
                                      "サインインのサービスに接続できません。しばらくしてから再度お試しください。"))
    except Exception:  # noqa: BLE001  (authlib raises several kinds for a bad, forged or replayed callback)
        current_app.logger.warning("portal sign-in callback refused", exc_info=True)
        return _page(401, SIGN_IN_NOT_CONFIRMED)
    try:
        signed = signin.sign_in(db.session, keyring(), current_app.config["RENKEI_PORTAL_TENANT"], claims,
                                chosen=session.pop("portal_municipality", None))
        db.session.commit()
    except DomainError as error:
        db.session.rollback()
        return _page(status_of(error), error)
    sign_out_resident()
    sign_in_resident(signed)
    session["resident_id_token"] = token.get("id_token")
    return redirect(url_for("portal.index"))


@bp.route("/logout")
def logout():
    id_token = session.pop("resident_id_token", None)
    sign_out_resident()
    back = url_for("portal.index", _external=True)
    if id_token:
        end = (f"{current_app.config['RENKEI_KEYCLOAK_PUBLIC_URL']}/realms/"
               f"{current_app.config['RENKEI_RESIDENTS_REALM']}/protocol/openid-connect/logout")
        from urllib.parse import urlencode

        return redirect(f"{end}?{urlencode({'id_token_hint': id_token, 'post_logout_redirect_uri': back})}")
    return redirect(back)


def init_app(app: Flask) -> None:
    from admin.portal import inquiries, moves, representation, services  # noqa: F401  (their routes, on this blueprint)

    app.register_blueprint(bp)


def realm_settings() -> signin.RealmSettings:
    """The residents' realm as the settings name it, with the portal's callback as its redirect URIs (the
    public address; 127.0.0.1 and localhost are one address to a browser's user)."""
    config = current_app.config
    public = config.get("RENKEI_PUBLIC_URL", "http://127.0.0.1:5000").rstrip("/")
    uris = (f"{public}/portal/*", f"{public.replace('://127.0.0.1:', '://localhost:')}/portal/*")
    return signin.RealmSettings(realm=config["RENKEI_RESIDENTS_REALM"], client_id=config["RENKEI_RESIDENTS_CLIENT_ID"],
                                client_secret=config["RENKEI_RESIDENTS_CLIENT_SECRET"],
                                redirect_uris=tuple(dict.fromkeys(uris)))
