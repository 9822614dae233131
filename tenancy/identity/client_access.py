"""Whether an API client's token may be used now: the one state rule and the gateway check.

* **Access ends when it ends**: the gateway check and renkei's own API judge a client token by the
  same :func:`state_refusal` (status, expiry, rotated credential, credential missing in Keycloak),
  reading the client's state at most ``RENKEI_GATEWAY_CACHE_SECONDS`` (1 s) old
  (:class:`ClientStateCache`; the operations of :mod:`tenancy.identity.api_clients` clear it on
  every change of a client's state through :func:`forget_client_states`).
* :func:`gateway_check` adds the allowlist (:mod:`tenancy.identity.allowlist`), the scope of the
  call and the tenant's api_calls quota; a member organisation's client folds in no quota.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import time
import weakref
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from core import authz
from core.actor import Actor
from core.calendar import today_jst
from core.db import utcnow
from core.errors import DomainError
from tenancy.identity.allowlist import ANY, address_allowed
from tenancy.identity.models import ApiClient, ApiClientCredential, ClientStatus
from tenancy.members.models import MemberStatus, Organisation
from usage import quotas

# Each reason as a phrase without its closing mark: a message adds it (GatewayDecision.summary).
REASONS: dict[str, tuple[str, str]] = {
    "allowed": ("Allowed", "許可します"),
    "token_invalid": ("The access token is not valid", "アクセストークンが無効です"),
    "not_an_api_client": ("The token was not issued to a registered API client", "登録された API クライアントのトークンではありません"),
    "client_revoked": ("The API client is revoked", "API クライアントは失効しています"),
    "client_pending": ("The API client waits for the operator's approval", "API クライアントは運営者の承認待ちです"),
    "client_missing": ("The API client no longer exists in the identity server", "API クライアントが認証サーバーにありません"),
    "client_disabled": ("The API client is disabled", "API クライアントは一時停止中です"),
    "client_expired": ("The API client's expiry date has passed", "API クライアントの有効期限が過ぎています"),
    "secret_rotated": ("This credential was replaced and its overlap has ended", "このシークレットは更新済みで、猶予期間が終わっています"),
    "address_not_allowed": ("The source address is not in the client's allowlist", "接続元の IP アドレスが許可されていません"),
    "tenant_not_active": ("The tenant is not active", "団体が利用中ではありません"),
    "hard_limit_reached": ("The tenant's API call quota is used up", "団体の API 呼び出し回数が上限に達しています"),
    "scope_missing": ("The token's scopes do not cover this API and method",
                      "アクセストークンのスコープでは、この API をこの方法で呼び出せません"),
    "route_not_known": ("No API of the platform is served at this address", "このアドレスで提供されている API はありません"),
}
# what a call to no API of the gateway's route table asks for (see tenancy/identity/gateway.py)
UNROUTED = ""


@dataclasses.dataclass(frozen=True)
class GatewayDecision:
    allowed: bool
    reason: str
    detail: str = ""
    client: int | None = None
    tenant: str | None = None
    quota: quotas.QuotaDecision | None = None

    def summary(self) -> dict[str, Any]:
        en, ja = REASONS[self.reason]
        return {"allowed": self.allowed, "reason": self.reason,
                "message_en": f"{en}{': ' + self.detail if self.detail else ''}".rstrip(".") + ".",
                "message_ja": ja.rstrip("。") + "。", "client": self.client, "tenant": self.tenant,
                "quota": self.quota.summary() if self.quota is not None else None}


_CLIENT, _CREDENTIAL = ApiClient.__table__, ApiClientCredential.__table__
# a Core statement on the tables (no ORM loading on the hot path), compiled once per dialect and cached
_ORGANISATION = Organisation.__table__
# a member organisation's status (NULL for a tenant's client): one unique-index probe
_OWNER_STATUS = (sa.select(_ORGANISATION.c.status).where(_ORGANISATION.c.corporate_number == _CLIENT.c.tenant_code)
                 .scalar_subquery().label("organisation_status"))
_LOOKUP = (sa.select(_CLIENT.c.id, _CLIENT.c.tenant_code, _CLIENT.c.status, _CLIENT.c.expires_on, _CLIENT.c.allowlist,
                     _CLIENT.c.allow_any, _CREDENTIAL.c.valid_until, _CREDENTIAL.c.missing_since, _OWNER_STATUS,
                     _CLIENT.c.scopes)
           .join(_CREDENTIAL, _CREDENTIAL.c.api_client_id == _CLIENT.c.id)
           .where(_CREDENTIAL.c.keycloak_client_id == sa.bindparam("azp")))


class ClientStateCache:
    """Per-process memory of each credential's client state (one indexed read per credential and
    ``max_age`` seconds, as the deny list and the quota cache do). A revocation, disabling or
    rotation made in this process clears every cache at once; one made by another server process
    reaches this one within ``max_age`` (default 1 s). Keycloak refuses new tokens at once anyway."""

    def __init__(self, max_age: float = 1.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.max_age = float(max_age)
        self._clock = clock
        self._rows: dict[str, tuple[float, Any]] = {}
        _STATE_CACHES.add(self)

    def clear(self) -> None:
        self._rows = {}

    def row(self, session: Session, azp: str) -> Any:
        now = self._clock()
        remembered = self._rows.get(azp)
        if remembered is not None and now - remembered[0] < self.max_age:  # never served at max_age or older
            return remembered[1]
        row = session.connection().execute(_LOOKUP, {"azp": azp}).first()
        if len(self._rows) >= 100_000:
            self._rows = {}
        self._rows[azp] = (now, row)
        return row


_STATE_CACHES: "weakref.WeakSet[ClientStateCache]" = weakref.WeakSet()


def forget_client_states() -> None:
    """After a change of a client's state: every cache in this process reads it again."""
    for cache in list(_STATE_CACHES):
        cache.clear()


_STATE_REASONS = {ClientStatus.revoked: "client_revoked", ClientStatus.rejected: "client_revoked",
                  ClientStatus.disabled: "client_disabled", ClientStatus.pending: "client_pending"}


def state_refusal(row: Any, now: dt.datetime) -> str | None:
    """Why a token of this credential (a row of the client-state look-up) is refused whatever the
    address: the reason of :data:`REASONS`, or None. The one rule the gateway check and renkei's own
    API both apply."""
    status = ClientStatus(row.status)
    if status is not ClientStatus.active:
        return _STATE_REASONS[status]
    if row.missing_since is not None:
        return "client_missing"
    if row.expires_on < today_jst(now):
        return "client_expired"
    if row.valid_until is not None and row.valid_until <= now:
        return "secret_rotated"
    return None


def gateway_check(session: Session, actor: Actor, claims_of: Callable[[str], dict[str, Any]], token: str,
                  address: str, quota_cache: quotas.QuotaCache, *, quantity: int = 1,
                  now: dt.datetime | None = None, states: ClientStateCache | None = None,
                  scope: str | None = None) -> GatewayDecision:
    """Whether a call with ``token`` from ``address`` may pass: token valid, client active, not revoked,
    not expired, credential not past its overlap, address allowed, ``scope`` (the scope the API and
    method called need; None: not asked, :data:`UNROUTED`: no known API) both in the token's ``scope``
    claim and granted to the client now, tenant's api_calls quota not used up.
    The client's state comes from ``states`` (at most its ``max_age`` old; see :class:`ClientStateCache`),
    else it is read from the database."""
    authz.authorize(actor, "gateway.check")
    try:
        claims = claims_of(token)
    except DomainError as error:
        if error.kind != "unauthenticated":  # e.g. the identity server unreachable: not the caller's fault
            raise
        return GatewayDecision(False, "token_invalid", str(error.details.get("reason", "")))
    azp = str(claims.get("azp") or claims.get("client_id") or "")
    row = states.row(session, azp) if states is not None else session.connection().execute(_LOOKUP, {"azp": azp}).first()
    if row is None:
        return GatewayDecision(False, "not_an_api_client")
    now = now or utcnow()
    decided = functools.partial(GatewayDecision, client=row.id, tenant=row.tenant_code)
    refused = state_refusal(row, now)
    if refused is not None:
        return decided(False, refused)
    if not address_allowed(ANY if row.allow_any else row.allowlist, address):
        return decided(False, "address_not_allowed", f"{address}")
    if scope is not None:
        if scope == UNROUTED:
            return decided(False, "route_not_known")
        if scope not in str(claims.get("scope") or "").split() or scope not in (row.scopes or "").split():
            return decided(False, "scope_missing", scope)
    if row.organisation_status is not None or len(row.tenant_code) == 13:
        # a member organisation's client: no quota plan (organisations join no cost split)
        if row.organisation_status != MemberStatus.approved.value:
            return decided(False, "tenant_not_active")
        return decided(True, "allowed")
    quota = quota_cache.check(session, row.tenant_code, "api_calls", quantity, now)
    if not quota.allowed:
        return decided(False, quota.reason, quota=quota)
    return decided(True, "allowed", quota=quota)
