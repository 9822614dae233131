"""The API gateway's check of one call, as a stock gateway asks it (nginx ``auth_request``).

* **What the call needs.** :data:`ROUTES` is the table of the platform's APIs behind the gateway:
  a path prefix and the methods, and the scope a client must hold to call them. The first row
  that matches decides; a call to no row is refused (``route_not_known``: fail closed). The table
  is what the operator reads (``GET /api/v1/gateway/routes``, docs/gateway.md).
* **The check.** :func:`check_call` is :func:`tenancy.identity.client_access.gateway_check` (token,
  client state, allowlist, scope, quota) with the scope of the call, and then, for an allowed call
  of a tenant's client, the call counted as api_calls before it is answered
  (:func:`usage.metering.count_gateway_call`: durable in the process's call log, folded into
  the database by a thread, once per request id). So hard limits hold without the gateway posting
  usage separately.
* **The gateway's own credential.** :class:`GatewayCredentials`: the gateway sends a Keycloak
  client's id and secret (HTTP Basic) on every call, a credential that does not expire; renkei
  exchanges them at Keycloak for a token (client credentials grant) and remembers the answer by a
  hash of the pair, never past that token's expiry. After ``max_age`` seconds the answer is still
  served at once and renewed in the background (one renewal per pair at a time): a call never waits
  for Keycloak once the pair is known. A renewal Keycloak refuses (a secret changed, a client
  disabled) forgets the pair at once, so it stops working within ``max_age`` plus one exchange; a
  renewal that cannot reach Keycloak keeps the pair until its token's own exp.
* **The recipe it is bound to.** A gateway credential may be bound to the auth location that passed
  ``renkei gateway lint`` (:func:`recipe_refusal`): the lint gives the location's recipe hash, nginx
  sends it in ``X-Renkei-Recipe``, and renkei, which has it registered for the credential's client id
  (``RENKEI_GATEWAY_RECIPES``), refuses a check without it. So a config that never passed the lint
  (one that passes the consumer's headers on) is refused at run time, not only named by the lint.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import hmac
import posixpath
import re
import threading
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import unquote

from sqlalchemy.orm import Session

from core.actor import Actor
from catalogue import routes as dataset_routes
from tenancy.identity import api_clients, client_access
from tenancy.identity.renewal import SingleFlight
from tenancy.identity.tokens import InvalidToken
from usage import dataset_use, metering, quotas

READ_METHODS = ("GET", "HEAD")
WRITE_METHODS = ("POST", "PUT", "PATCH", "DELETE")


@dataclasses.dataclass(frozen=True)
class Route:
    prefix: str  # a path prefix, e.g. /v2/ (matched against the normalised path)
    methods: tuple[str, ...]
    scope: str  # one of api_clients.SCOPES
    api_ja: str
    api_en: str

    def matches(self, method: str, path: str) -> bool:
        return method in self.methods and (path == self.prefix.rstrip("/") or path.startswith(self.prefix))

    def summary(self) -> dict[str, Any]:
        return {"prefix": self.prefix, "methods": list(self.methods), "scope": self.scope,
                "api_ja": self.api_ja, "api_en": self.api_en}


ROUTES: tuple[Route, ...] = (
    # NGSIv2's query operation is a POST that only reads
    Route("/v2/op/query", ("POST",), "broker.read", "コンテキストブローカー（NGSIv2）の検索", "Context broker (NGSIv2): query"),
    Route("/v2/", READ_METHODS, "broker.read", "コンテキストブローカー（NGSIv2）", "Context broker (NGSIv2)"),
    Route("/v2/", WRITE_METHODS, "broker.write", "コンテキストブローカー（NGSIv2）", "Context broker (NGSIv2)"),
    Route("/ngsi-ld/v1/", READ_METHODS, "broker.read", "コンテキストブローカー（NGSI-LD）", "Context broker (NGSI-LD)"),
    Route("/ngsi-ld/v1/", WRITE_METHODS, "broker.write", "コンテキストブローカー（NGSI-LD）", "Context broker (NGSI-LD)"),
    Route("/catalog/", READ_METHODS, "catalog.read", "データカタログ", "Data catalogue"),
    Route("/catalog/", WRITE_METHODS, "catalog.write", "データカタログ", "Data catalogue"),
)
assert {route.scope for route in ROUTES} <= set(api_clients.SCOPES)


def normalised_path(uri: str) -> str:
    """The path of ``uri`` (the original request's, query string dropped) as the gateway's and the
    upstream's routing read it: percent-decoded, ``.`` and ``..`` resolved, repeated slashes
    collapsed, a trailing slash kept."""
    path = unquote(uri.split("?", 1)[0].split("#", 1)[0]) or "/"
    if not path.startswith("/"):
        path = "/" + path
    normal = posixpath.normpath(path)
    if normal.startswith("//"):
        normal = "/" + normal.lstrip("/")
    return normal + "/" if path.endswith("/") and normal != "/" else normal


def required_scope(method: str, uri: str) -> str:
    """The scope a call of ``method`` on ``uri`` needs: the first row of :data:`ROUTES` that matches;
    :data:`client_access.UNROUTED` when none does."""
    method, path = method.upper(), normalised_path(uri)
    for route in ROUTES:
        if route.matches(method, path):
            return route.scope
    return client_access.UNROUTED


@dataclasses.dataclass(frozen=True)
class CallDecision:
    decision: client_access.GatewayDecision
    scope: str
    counted: bool  # this check counted the call (False: refused, an organisation's client, or a repeat)
    dataset: str | None = None  # the dataset the allowed call uses (catalogue/routes.py)

    def summary(self) -> dict[str, Any]:
        return {**self.decision.summary(), "scope": self.scope or None, "counted": self.counted,
                "dataset": self.dataset}


def check_call(session: Session, actor: Actor, claims_of: Callable[[str], dict[str, Any]], token: str,
               address: str, method: str, uri: str, request_id: str, quota_cache: quotas.QuotaCache,
               call_log: Any, *, states: client_access.ClientStateCache | None = None,
               now: dt.datetime | None = None, datasets: dataset_routes.RouteIndex | None = None,
               fiware: tuple[str, str] = ("", "")) -> CallDecision:
    """May the call of ``method`` ``uri`` with ``token`` from ``address`` pass (the gateway check with
    the call's scope); an allowed call of a tenant's client is counted as one api_calls event known
    by ``request_id``, durable in ``call_log`` before this returns (else
    :class:`usage.call_log.CallLogUnavailable`). Needs ``gateway.check`` and ``usage.ingest``.

    With ``datasets`` (the register's routes) and ``fiware`` (the call's Fiware-Service and
    Fiware-ServicePath), an allowed call names the dataset its route reaches, if any: in its line of
    the call log, which the fold adds to that dataset's use by consumer (:mod:`usage.dataset_use`);
    an organisation's call (no quota, no count) has a line of its dataset use only, durable before
    this returns in the same way."""
    now = now or dt.datetime.now(dt.timezone.utc)
    scope = required_scope(method, uri)
    decision = client_access.gateway_check(session, actor, claims_of, token, address, quota_cache, now=now,
                                         states=states, scope=scope)
    counted = False
    used = (datasets.match(session, dataset_routes.Call(method.upper(), uri, *fiware), normalised_path)
            if decision.allowed and datasets is not None else None)
    if decision.allowed and decision.quota is not None:  # a tenant's client (an organisation has no quota)
        counted = metering.count_gateway_call(
            call_log, actor, decision.tenant, request_id, quota_cache=quota_cache, now=now,
            use=dataset_use.call_use(used.provider_code, used.name, decision.client) if used is not None else None)
    elif used is not None:  # an organisation's client: its dataset use only, in the call log as a count is
        metering.log_dataset_use(call_log, actor, decision.tenant, request_id,
                                 dataset_use.call_use(used.provider_code, used.name, decision.client), now=now)
    return CallDecision(decision, scope, counted, used.name if used else None)


@dataclasses.dataclass(frozen=True)
class _Known:
    client_id: str
    secret: str
    claims: dict[str, Any]
    fresh_until: float  # (monotonic) served without a renewal until then
    expires: float  # (monotonic) the token's own exp: never served at or after it
    retry_at: float = 0.0  # (monotonic) after a renewal that could not reach Keycloak, the next one not before


RECIPE_HEADER = "X-Renkei-Recipe"


def registered_recipes(setting: str) -> dict[str, frozenset[str]]:
    """``RENKEI_GATEWAY_RECIPES``: ``<client id>=<recipe hash>`` words (space or comma between them; a
    client id may have several, e.g. the old and the new while a secret is rotated); raises
    ValueError naming a word that is not one."""
    bound: dict[str, set[str]] = {}
    for word in setting.replace(",", " ").split():
        client_id, equals, digest = word.partition("=")
        if not equals or not client_id or not re.fullmatch(r"[0-9a-f]{32}", digest):
            raise ValueError(f"RENKEI_GATEWAY_RECIPES: {word!r} is not <client id>=<recipe hash of renkei gateway lint>")
        bound.setdefault(client_id, set()).add(digest)
    return {client_id: frozenset(digests) for client_id, digests in bound.items()}


def recipe_refusal(bound: dict[str, frozenset[str]], client_id: str, sent: str | None) -> str | None:
    """Why a check from the gateway credential ``client_id`` carrying ``sent`` as its recipe hash is
    refused, in English; None when it is not bound or sends a hash registered for it."""
    digests = bound.get(client_id)
    if not digests:
        return None
    if not sent:
        return f"no {RECIPE_HEADER}: this gateway's configuration did not pass renkei gateway lint"
    if not any(hmac.compare_digest(sent.strip(), digest) for digest in digests):
        return f"{RECIPE_HEADER} is not a recipe registered for this gateway credential"
    return None


class GatewayCredentials:
    """The gateway's client id and secret, checked on every call (see the module's text)."""

    def __init__(self, exchange: Callable[[str, str], dict[str, Any] | None], max_age: float = 60.0,
                 clock: Callable[[], float] = time.monotonic, wall_clock: Callable[[], float] = time.time,
                 retry_seconds: float = 5.0) -> None:
        """``exchange(client_id, secret)``: the claims of a token Keycloak issued for the pair (validated),
        or None when Keycloak refuses the pair; it raises when Keycloak cannot be asked.
        ``retry_seconds``: after a renewal that could not reach Keycloak, the next one waits this long
        (at most ``max_age``)."""
        self._exchange = exchange
        self.max_age = float(max_age)
        self.retry_seconds = min(float(retry_seconds), self.max_age)
        self._clock, self._wall = clock, wall_clock
        self._known: dict[bytes, _Known] = {}
        self._lock = threading.Lock()
        self.renewals = SingleFlight("the gateway credential")

    def clear(self) -> None:
        with self._lock:
            self._known = {}

    def claims(self, client_id: str, secret: str) -> dict[str, Any] | None:
        """The claims of the pair's token (as the gateway's actor), or None when Keycloak refuses it.

        Known and fresh: served. Known, older than ``max_age`` but before the token's exp: served at
        once, and renewed in the background (one renewal per pair at a time); a renewal that Keycloak
        refuses forgets the pair at once (the next call is refused), one that cannot reach Keycloak
        keeps it, until the token's exp. Not known (or past its exp): asked of Keycloak now."""
        key = hashlib.sha256(f"{client_id}\0{secret}".encode()).digest()
        now = self._clock()
        known = self._known.get(key)
        if known is not None and now < known.expires:
            if now >= known.fresh_until and now >= known.retry_at:
                self.renewals.start(key, lambda: self._renew(key, client_id, secret))
            return known.claims
        return self._ask(key, client_id, secret)

    def _ask(self, key: bytes, client_id: str, secret: str) -> dict[str, Any] | None:
        now = self._clock()
        try:
            claims = self._exchange(client_id, secret)
        except InvalidToken:  # Keycloak answered with a token this realm does not accept: refused
            claims = None
        if claims is None:
            with self._lock:
                self._known.pop(key, None)
            return None
        remaining = float(claims.get("exp", 0)) - self._wall()
        if remaining > 0:
            with self._lock:
                if len(self._known) >= 1000:
                    self._known = {}
                self._known[key] = _Known(client_id, secret, claims, now + min(self.max_age, remaining),
                                          now + remaining)
        return claims

    def _renew(self, key: bytes, client_id: str, secret: str) -> None:
        try:
            self._ask(key, client_id, secret)
        except Exception:  # Keycloak could not be asked: keep what is known (until its exp), try again later
            with self._lock:
                known = self._known.get(key)
                if known is not None:
                    self._known[key] = dataclasses.replace(known, retry_at=self._clock() + self.retry_seconds)
            raise
