"""/api/v1/gateway: the check a stock API gateway asks before it forwards a call (nginx ``auth_request``).

* ``GET /api/v1/gateway/auth``: the answer's status is the decision (200 allowed; 401, 403, 429
  with ``Retry-After`` refused), with ``X-Renkei-Reason``, ``X-Renkei-Tenant``, ``X-Renkei-Client``
  and ``X-Renkei-Scope`` for the gateway to pass on, and a JSON body in Japanese and English. The
  call is described by the headers nginx sends (``X-Original-Method``, ``X-Original-URI``,
  ``X-Original-Remote-Addr``, ``X-Original-Authorization``: the consumer's own ``Authorization``,
  ``X-Original-Fiware-Service``, ``X-Original-Fiware-ServicePath``, ``X-Request-ID``); an allowed
  call is counted before it is answered, durable in the process's call log, naming the dataset its
  route reaches (tenancy/identity/gateway.py, admin/service/gateway_calls.py); when it cannot be, 503.
  The gateway authenticates with ``Authorization: Basic`` (a Keycloak client's id and secret,
  checked on every call; see :class:`tenancy.identity.gateway.GatewayCredentials`).
* ``GET /api/v1/gateway/refusal?reason=...``: what the gateway shows the consumer of a refusal
  (no sign-in: it only explains a reason), with the reason's status; nginx's ``auth_request``
  cannot pass the check's own body on (docs/gateway.md).
* ``GET /api/v1/gateway/routes``: the table of APIs and the scope each method needs.

:data:`admin.api.decisions.STATUS` (a reason's HTTP status) is the one home of that mapping; ``POST /gateway/check``
(admin/api/clients.py) answers with it too.
"""

from __future__ import annotations

import base64
import binascii
import re
from typing import Literal

from flask import Response, current_app, g, request
from pydantic import BaseModel, Field

from admin.api import API_PREFIX, BEARER, PROBLEM_RESPONSES, CachedSchema, Problem, tag
from admin.service import gateway_calls
from admin.api.decisions import STATUS, QuotaDecisionOut, answer, decision_headers, quota_cache, retry_after
from admin.auth import KNOWN_ROLES, client_states, current_actor, own_authentication, require, token_validator
from admin.edge import StrictAPIBlueprint
from admin.extensions import db
from admin.identity import keycloak_settings
from admin.edge import header_value_limit
from admin.problems import from_domain_error, problem_response
from core.errors import DomainError
from catalogue import routes
from tenancy.identity import client_access, gateway
from tenancy.identity.keycloak import client_token_or_none
from tenancy.identity.tokens import actor_from_claims
from usage.call_log import CallLogUnavailable

AUTH_PATH = f"{API_PREFIX}/gateway/auth"
REFUSAL_PATH = f"{API_PREFIX}/gateway/refusal"

bp = StrictAPIBlueprint("api_gateway", __name__, url_prefix=API_PREFIX,
                        abp_tags=tag("gateway", "API ゲートウェイの判定 / The API gateway's check"),
                        abp_responses=PROBLEM_RESPONSES)

# the gateway itself could not be verified, or the check did not answer: not the consumer's doing
UNAVAILABLE = "check_unavailable"
UNAVAILABLE_RETRY_SECONDS = 30


def dataset_routes() -> routes.RouteIndex:
    """The register's routes in this process's memory (catalogue/routes.py)."""
    app = current_app._get_current_object()
    index = app.extensions.get("renkei_dataset_routes")
    if index is None:
        index = app.extensions["renkei_dataset_routes"] = routes.RouteIndex(
            float(app.config.get("RENKEI_DATASET_ROUTES_SECONDS", 30)))
    return index


# --- the gateway's own credential ----------------------------------------------------------------

def gateway_credentials() -> gateway.GatewayCredentials:
    app = current_app._get_current_object()
    credentials = app.extensions.get("renkei_gateway_credentials")
    if credentials is None:
        settings = keycloak_settings(app)

        def exchange(client_id: str, secret: str) -> dict | None:  # also run by a renewal's thread
            token = client_token_or_none(settings, client_id, secret)
            return None if token is None else token_validator(app).claims(token)

        credentials = app.extensions["renkei_gateway_credentials"] = gateway.GatewayCredentials(
            exchange, float(app.config.get("RENKEI_GATEWAY_CREDENTIAL_SECONDS") or 60))
    return credentials


def bound_recipes() -> dict[str, frozenset[str]]:
    """The gateway credentials bound to a recipe (RENKEI_GATEWAY_RECIPES, checked at start by admin/config.py)."""
    app = current_app._get_current_object()
    bound = app.extensions.get("renkei_gateway_recipes")
    if bound is None:
        bound = app.extensions["renkei_gateway_recipes"] = gateway.registered_recipes(
            app.config.get("RENKEI_GATEWAY_RECIPES") or "")
    return bound


def _basic(header: str) -> tuple[str, str] | None:
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "basic" or not value.strip():
        return None
    try:
        client_id, colon, secret = base64.b64decode(value.strip(), validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return None
    return (client_id, secret) if colon and client_id and secret else None


def _gateway_refused(reason_en: str, reason_ja: str) -> Response:
    response = problem_response(
        401, f"The API gateway's own credential was refused: {reason_en}. Send the gateway's client id and "
             "secret as 'Authorization: Basic' (docs/gateway.md).",
        f"API ゲートウェイ自身の認証に失敗しました（{reason_ja}）。ゲートウェイのクライアント ID とシークレットを "
        "Authorization: Basic で送ってください（docs/gateway.md）。", reason=UNAVAILABLE)
    response.headers["WWW-Authenticate"] = 'Basic realm="renkei gateway"'
    response.headers["X-Renkei-Reason"] = UNAVAILABLE
    return response


# A header sent twice reaches the application as one value, its copies joined with a comma (gunicorn
# and werkzeug join with ",", werkzeug's test client with ", "): the raw list is not kept in the WSGI
# environ. So a repeat is known by the join, for every X-Original-* name, by what one value can hold:
# * a method, an address, "Bearer <token>", a Fiware-Service, and any X-Original-* name renkei does not
#   read: no comma at all;
# * a request-target (X-Original-URI): no whitespace, and no comma right before a "/" (the start of a
#   second origin-form target); a comma elsewhere (a query's "a,b") is one value;
# * a Fiware-ServicePath: no comma. FIWARE lets a query name several paths ("/a,/b"), which cannot be
#   told from the header sent twice: the gateway's check takes one service path (docs/gateway.md).
ORIGINAL_PREFIX = "X-Original-"
# the names renkei reads, spelled as the documents spell them (a server hands them on title-cased)
_SPELLING = {name.lower(): name for name in (gateway.RECIPE_HEADER, "X-Original-Method", "X-Original-URI", "X-Original-Remote-Addr",
                                              "X-Original-Authorization", "X-Original-Fiware-Service",
                                              "X-Original-Fiware-ServicePath")}
_URI_JOINED = re.compile(r"\s|,/")


def _joined(name: str, value: str) -> bool:
    if name.lower() == "x-original-uri":
        return bool(_URI_JOINED.search(value))
    return "," in value


def repeated_original_headers(headers) -> list[str]:
    """The X-Original-* headers (and X-Renkei-Recipe) sent more than once (a consumer's copy beside
    nginx's own), any name; each named as it was sent, once."""
    found: dict[str, str] = {}
    for name, value in headers.items():
        if (name.lower().startswith(ORIGINAL_PREFIX.lower()) or name.lower() == gateway.RECIPE_HEADER.lower()) \
                and name.lower() not in found:
            if len(headers.getlist(name)) > 1 or _joined(name, value):
                found[name.lower()] = _SPELLING.get(name.lower(), name)
    return list(found.values())


def authenticate(request_) -> Response | None:
    """The before-request step of :data:`AUTH_PATH` and :data:`REFUSAL_PATH` (admin/auth.py): the
    refusal explainer needs no sign-in; the check needs the gateway's Basic credential."""
    if request_.path != AUTH_PATH:
        return None
    repeated = repeated_original_headers(request_.headers)
    if repeated:  # one came from the consumer beside nginx's own: which is which cannot be known
        return problem_response(
            400, f"The check was asked with {', '.join(repeated)} more than once: the gateway must set each "
                 "X-Original-* header itself and pass no consumer header (docs/gateway.md; renkei gateway lint).",
            f"{', '.join(repeated)} が複数あります。ゲートウェイは X-Original-* を自ら設定し、利用者のヘッダーを"
            "渡さないでください（docs/gateway.md、renkei gateway lint）。", allowed=False, reason=UNAVAILABLE)
    pair = _basic(request_.headers.get("Authorization", ""))
    if pair is None:
        return _gateway_refused("no 'Authorization: Basic' with the gateway's client id and secret",
                                "Authorization: Basic によるクライアント ID とシークレットがありません")
    try:
        claims = gateway_credentials().claims(*pair)
    except DomainError as error:  # Keycloak away: the check cannot be made (503), never an allowed call
        response = from_domain_error(error)
        response.headers["X-Renkei-Reason"] = UNAVAILABLE
        return response
    if claims is None:
        return _gateway_refused("the identity server does not accept this client id and secret",
                                "認証サーバーがこのクライアント ID とシークレットを受け付けません")
    refused = gateway.recipe_refusal(bound_recipes(), pair[0], request_.headers.get(gateway.RECIPE_HEADER))
    if refused is not None:  # the credential is bound to a recipe that passed the lint; this config is not it
        response = problem_response(
            403, f"The API gateway's configuration is not the recipe its credential is bound to ({refused}). Run "
                 "'renkei gateway lint' on it and register its recipe hash (RENKEI_GATEWAY_RECIPES, docs/gateway.md).",
            "API ゲートウェイの設定が、この認証情報に登録されたレシピではありません。設定に renkei gateway lint を実行し、"
            "そのレシピのハッシュを登録してください（RENKEI_GATEWAY_RECIPES、docs/gateway.md）。",
            allowed=False, reason=UNAVAILABLE)
        response.headers["X-Renkei-Reason"] = UNAVAILABLE
        return response
    context = g._get_current_object()
    context.actor = actor_from_claims(claims, KNOWN_ROLES, request_id=getattr(context, "request_id", None),
                                      source_ip=request_.remote_addr)
    return None


own_authentication((AUTH_PATH, REFUSAL_PATH), authenticate)


# --- endpoints -----------------------------------------------------------------------------------

class CallHeaders(CachedSchema):
    """The call the gateway asks about, as nginx describes it (docs/gateway.md)."""

    x_original_method: str = Field(default="", max_length=16, alias="X-Original-Method",
                                   description="The consumer's method ($request_method)")
    x_original_uri: str = Field(default="", max_length=header_value_limit("X-Original-URI"), alias="X-Original-URI",
                                description="The consumer's URI ($request_uri)")
    x_original_remote_addr: str = Field(default="", max_length=64, alias="X-Original-Remote-Addr",
                                        description="The consumer's address ($remote_addr)")
    x_original_authorization: str = Field(default="", max_length=header_value_limit("X-Original-Authorization"), alias="X-Original-Authorization",
                                          description="The consumer's Authorization header ($http_authorization)")
    x_original_fiware_service: str = Field(default="", max_length=64, alias="X-Original-Fiware-Service",
                                           description="The consumer's Fiware-Service ($http_fiware_service)")
    x_original_fiware_servicepath: str = Field(default="", max_length=header_value_limit("X-Original-Fiware-ServicePath"),
                                               alias="X-Original-Fiware-ServicePath",
                                               description="The consumer's Fiware-ServicePath ($http_fiware_servicepath)")
    x_renkei_recipe: str = Field(default="", max_length=64, alias="X-Renkei-Recipe",
                                 description="The recipe hash `renkei gateway lint` gave the auth location; required "
                                             "when the gateway's credential is bound to it (RENKEI_GATEWAY_RECIPES)")


class CallOut(BaseModel):
    allowed: bool
    reason: Literal[tuple(STATUS)] = Field(description="Why (see X-Renkei-Reason)")  # type: ignore[valid-type]
    message_en: str
    message_ja: str
    client: int | None
    tenant: str | None
    quota: QuotaDecisionOut | None
    scope: str | None = Field(description="The scope the API and method called need")
    counted: bool = Field(description="This check counted the call as api_calls (not again for a repeated request id)")
    dataset: str | None = Field(default=None, description="The dataset an allowed call uses, by its route (its catalogue name); "
                                                          "null: none")


class RefusalQuery(BaseModel):
    reason: str = Field(default="", max_length=64)


class RouteOut(BaseModel):
    prefix: str
    methods: list[str]
    scope: str
    api_ja: str
    api_en: str


class RoutesOut(BaseModel):
    items: list[RouteOut]


def _consumer_token(header: str) -> str:
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


@bp.get("/gateway/auth", responses={200: CallOut, 401: Problem, 403: Problem, 429: Problem, 431: Problem, 503: Problem},
        security=[{"gateway": []}],
        summary="For nginx auth_request: may this call pass? The status is the decision; an allowed call is counted",
        description=(
            "The gateway authenticates with `Authorization: Basic` (its Keycloak client id and secret, a "
            "metering-client). It describes the consumer's call with X-Original-Method, X-Original-URI, "
            "X-Original-Remote-Addr, X-Original-Authorization (the consumer's `Authorization: Bearer`) and "
            "X-Request-ID. Checked in this order: the consumer's token, that it is a registered API client's, "
            "active, not expired, not a rotated credential past its overlap, the address in its allowlist, the "
            "scope the API and method need (GET /gateway/routes) in the token and granted to the client now, "
            "the tenant's api_calls quota. 200: allowed, and counted as one api_calls event (once per "
            "X-Request-ID). 401/403/429 (with Retry-After): refused. X-Renkei-Reason, X-Renkei-Tenant, "
            "X-Renkei-Client and X-Renkei-Scope say why and for whom. 401 with X-Renkei-Reason "
            "check_unavailable: the gateway's own credential was refused; 503: the check could not be made."))
def gateway_auth(header: CallHeaders):
    token = _consumer_token(header.x_original_authorization)
    try:
        called = gateway.check_call(
            db.session, current_actor(), token_validator().claims, token, header.x_original_remote_addr,
            header.x_original_method, header.x_original_uri, g.request_id, quota_cache(),  # missing: no route, refused
            gateway_calls.keep_folding().log, states=client_states(), datasets=dataset_routes(),
            fiware=(header.x_original_fiware_service, header.x_original_fiware_servicepath))
    except CallLogUnavailable as error:  # the count could not be made durable: refused, never passed uncounted
        response = from_domain_error(error)
        response.headers["X-Renkei-Reason"] = UNAVAILABLE
        response.headers["Retry-After"] = str(UNAVAILABLE_RETRY_SECONDS)
        return response
    return answer(called.summary(), called.decision.reason, decision_headers(called.decision, called.scope))


# nginx's error page for a refused call, not an operation of the API (so not in its document)
@bp.get("/gateway/refusal", doc_ui=False)
def gateway_refusal(query: RefusalQuery):
    reason = query.reason if query.reason in STATUS and query.reason != "allowed" else UNAVAILABLE
    if reason == UNAVAILABLE:
        response = problem_response(
            503, "The API gateway could not check this call; nothing was forwarded. Try again shortly; if it keeps "
                 "happening, tell the platform operator.",
            "API ゲートウェイがこの呼び出しを確認できなかったため、転送していません。しばらくしてから再度お試しください。"
            "続く場合は基盤の運営者に連絡してください。", allowed=False, reason=reason)
        response.headers["Retry-After"] = str(UNAVAILABLE_RETRY_SECONDS)
    else:
        summary = client_access.GatewayDecision(False, reason).summary()
        response = answer(summary, reason, {})
        if reason == "hard_limit_reached":
            response.headers["Retry-After"] = str(retry_after())
    response.headers["X-Renkei-Reason"] = reason
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/gateway/routes", responses={200: RoutesOut}, security=BEARER,
        summary="The APIs behind the gateway and the scope each method needs (first match decides)")
def gateway_routes():
    require("gateway.check")
    return {"items": [route.summary() for route in gateway.ROUTES]}
