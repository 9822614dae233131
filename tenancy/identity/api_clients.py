"""The platform's API clients: client-credentials clients of a tenant with an IP allowlist (the
allowlist itself: :mod:`tenancy.identity.allowlist`; the gateway check and the state rule every
client token is judged by: :mod:`tenancy.identity.client_access`).

* A client is created by its tenant's admin (or the operator) as a confidential Keycloak client
  (client credentials only) whose access tokens carry, by hardcoded claim mappers, the claims
  ``renkei_client`` (this row's id), ``renkei_tenant`` and ``renkei_allowlist`` (space-separated
  CIDRs, ``*`` for any). The secret is shown once and never stored by renkei.
* The allowlist is IPv4/IPv6 CIDRs checked with :mod:`ipaddress`; empty means no address is
  allowed, unless the operator permits any address (``allow_any``).
* **Rotation.** Keycloak 26 has client secret rotation only as a preview feature
  (``client-secret-rotation``, a realm-wide client policy), not enabled on the platform's server and
  giving one overlap for the whole realm. So a rotation here creates a *new credential*: a new
  Keycloak client (new client id and secret) with the same claims, and the previous one stays valid
  for the overlap (``valid_until``). During the overlap both work; after it the gateway check refuses
  tokens of the old one at once and :func:`retire_due` disables it in Keycloak (no new token).
  The caller therefore switches client id *and* secret, both shown once.
* Revoke and disable disable every credential in Keycloak at once (no new token), and the gateway
  check refuses tokens already issued, because it reads the client's state on every call.
* **The operator's policy** (:mod:`tenancy.identity.client_policy`): a registration or an edit by
  a tenant's admin that goes beyond it (a network wider than allowed, a scope that needs approval, an
  expiry past the limit) waits for the operator. A registration waits as a ``pending`` client (its
  Keycloak client made disabled: the secret is shown once at registration, but no token is issued
  until approved); an edit waits as a pending :class:`ApiClientRequest` while the client keeps its
  current settings. "Any address" in any spelling is the operator's alone and refused outright.
* **The lifecycle** is :data:`CLIENTS` (a :class:`core.lifecycle.Lifecycle`: a transition table with the grant each move needs);
  :class:`ClientStatus` is the state. ``revoked`` and ``rejected`` are final.
* **Access ends when it ends**: the gateway check and renkei's own API judge a client token by the
  same :func:`tenancy.identity.client_access.state_refusal` (status, expiry, rotated credential,
  credential missing in Keycloak), reading the client's state at most ``RENKEI_GATEWAY_CACHE_SECONDS``
  (1 s) old; every change of a client's state here clears that memory at once.
* Clients count against the quota ``api_clients`` (a gauge in :mod:`usage.models`): with a
  hard limit, a client beyond it is refused. The level is not reported as usage: it is counted from
  this table by :func:`usage.quotas.api_client_counts` (its one home), which the quota pages,
  the alerts and the check here all read.

The owner (``api_client.tenant_code``) is an account holder: a tenant's six-digit code, or an
approved member organisation's 13-digit corporate number (:mod:`tenancy.members`; its admin holds
the same grants on it). Organisations have no quota plan, so their clients are not limited and their
gateway checks fold in no api_calls quota; a withdrawn organisation's clients are refused
(``tenant_not_active``). Every act is audited; permissions: ``api_client.read``,
``api_client.manage`` (and ``api_client.allow_any`` for an allowlist of any address), ``gateway.check``.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import secrets
from collections.abc import Iterable
from typing import Any, Protocol

import sqlalchemy as sa
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy.orm import Session

from core import audit, authz, lifecycle, search
from core.actor import Actor
from core.calendar import current_month, today_jst
from core.codes import is_corporate_number
from core.db import utcnow
from core.errors import Conflict, Invalid, NotFound, problem
from core.labelled import labels
from core.lifecycle import Lifecycle, Move
from core.validation import problems_from
from tenancy.identity import client_policy
from tenancy.identity.allowlist import ANY, parse_allowlist
from tenancy.identity.client_access import forget_client_states
from tenancy.identity.keycloak.common import KEYCLOAK_TEXT_MAX
from tenancy.identity.models import (ApiClient, ApiClientCredential, ApiClientRequest, ClientStatus, RequestKind,
                                     RequestStatus)
from tenancy.members.models import open_organisation
from usage import quotas
from usage.models import Enforcement

# The scopes a client may ask for (optional client scopes in Keycloak): name -> (Japanese, English)
SCOPES: dict[str, tuple[str, str]] = {
    "broker.read": ("コンテキストブローカーの参照", "Context broker: read"),
    "broker.write": ("コンテキストブローカーへの登録・更新", "Context broker: write"),
    "catalog.read": ("データカタログの参照", "Data catalogue: read"),
    "catalog.write": ("データカタログへの登録", "Data catalogue: write"),
    "consent:write": ("本人同意・撤回の記録（住民向けアプリ）", "Consent: record and withdraw (resident app)"),
    "residents:broker": ("住民データの仲介（データ利用サービス）", "Residents' data brokerage (a data service)"),
}
STATUSES = tuple(status.value for status in ClientStatus)
DEFAULT_OVERLAP_SECONDS = 24 * 3600
MAX_OVERLAP_SECONDS = 30 * 24 * 3600

CLAIM_CLIENT, CLAIM_TENANT, CLAIM_ALLOWLIST = "renkei_client", "renkei_tenant", "renkei_allowlist"


class Directory(Protocol):
    def create_api_client(self, client_id: str, name: str, description: str, claims: dict[str, str],
                          optional_scopes: Iterable[str] = (), *, enabled: bool = True) -> str: ...

    def set_api_client_enabled(self, client_id: str, enabled: bool) -> None: ...

    def update_api_client(self, client_id: str, name: str, description: str, claims: dict[str, str],
                          optional_scopes: Iterable[str], managed_scopes: Iterable[str]) -> None: ...


# --- input ------------------------------------------------------------------------------------

# An API client's purpose is its description in Keycloak too: at most what Keycloak stores.
PURPOSE_MAX = KEYCLOAK_TEXT_MAX


class ApiClientCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=100, description="A name people recognise, e.g. 防災ダッシュボード連携")
    purpose: str = Field(min_length=1, max_length=PURPOSE_MAX, description="What the client is for")
    scopes: list[str] = Field(default_factory=list, description=f"Scopes it may ask for: {', '.join(SCOPES)}")
    expires_on: dt.date = Field(description="Last day the client may be used (Japan time), after today")
    allowlist: list[str] | str = Field(default_factory=list, description="IPv4/IPv6 CIDRs allowed to call")
    allow_any: bool = Field(default=False, description="Any source address (operator only)")


def _validated(payload: ApiClientCreate | dict) -> ApiClientCreate:
    if isinstance(payload, ApiClientCreate):
        return payload
    try:
        return ApiClientCreate.model_validate(payload)
    except ValidationError as error:
        raise Invalid("Some fields are missing or wrong.", "入力に誤りがあります。", problems=problems_from(error)) from None


def _check(session: Session, actor: Actor, tenant_code: str, data: ApiClientCreate, today: dt.date,
           changed: Iterable[str] | None = None) -> list[str]:
    """The rules of a client's fields, at creation (every field) and at an edit (``changed`` only:
    an expiry or an operator's "any address" left as they were are not judged again)."""
    problems = []
    judged = set(ApiClientCreate.model_fields) if changed is None else set(changed)
    unknown = [s for s in data.scopes if s not in SCOPES]
    if unknown:
        problems.append(problem("scopes", f"Unknown scope(s): {', '.join(unknown)}.",
                                f"選択できないスコープです: {', '.join(unknown)}"))
    if "expires_on" in judged and data.expires_on <= today:
        problems.append(problem("expires_on", f"The expiry date must be after today ({today.isoformat()}).",
                                f"有効期限は本日（{today.isoformat()}）より後の日付にしてください。"))
    try:
        allowlist = parse_allowlist(data.allowlist)
    except Invalid as error:
        problems += error.problems
        allowlist = []
    if data.allow_any and "allow_any" in judged:
        if not authz.allowed(actor, "api_client.allow_any"):
            problems.append(problem("allow_any", "Only the platform operator may allow every source address.",
                                    "すべての接続元を許可できるのは運営者（県）のみです。"))
    spaces = client_policy.every_address(allowlist) if "allowlist" in judged else []
    if spaces and not authz.allowed(actor, "api_client.allow_any"):
        problems.append(problem("allowlist", f"These networks together allow every {' and '.join(spaces)} address; "
                                             "only the platform operator may allow any address.",
                                f"すべての {'・'.join(spaces)} アドレスを許可する指定です。すべての接続元を許可できるのは"
                                "運営者（県）のみです。"))
    if problems and changed is not None:
        raise Invalid("The API client was not changed: some fields are wrong.",
                      "API クライアントを変更できませんでした。入力に誤りがあります。", problems=problems)
    if problems:
        raise Invalid("The API client was not created: some fields are wrong.",
                      "API クライアントを登録できませんでした。入力に誤りがあります。", problems=problems)
    return allowlist


def _check_quota(session: Session, tenant_code: str) -> None:
    if is_corporate_number(tenant_code):  # a member organisation: must be approved; it has no quota plan
        open_organisation(session, tenant_code)
        return
    tenant = quotas._tenant(session, tenant_code)
    limit = quotas.effective_limits(session, tenant).get("api_clients")
    if limit is None or Enforcement(limit.enforcement) is not Enforcement.hard:
        return
    count = quotas.current_level(session, tenant_code, "api_clients", current_month())
    if count + 1 > limit.limit:
        raise Conflict(f"Tenant {tenant_code} already has {count} API clients, its limit (api_clients {limit.limit}). "
                       "Revoke one it no longer needs, or ask the operator to raise the limit.",
                       f"団体コード {tenant_code} の API クライアントはすでに {count} 件で、上限（{limit.limit} 件）に達しています。"
                       "不要なクライアントを失効させるか、運営者に上限の変更を依頼してください。",
                       problems=[problem("quota", f"api_clients limit {limit.limit} reached",
                                         f"API クライアント数の上限（{limit.limit} 件）に達しています。")])


# --- operations -------------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class IssuedSecret:
    """What is shown once: the Keycloak client id and its secret."""

    client: ApiClient
    keycloak_client_id: str
    secret: str
    previous_valid_until: dt.datetime | None = None


def summary(client: ApiClient, credentials: Iterable[ApiClientCredential] = ()) -> dict[str, Any]:
    return {
        "id": client.id, "tenant": client.tenant_code, "name": client.name, "purpose": client.purpose,
        "scopes": client.scopes.split(), "allowlist": client.allowlist.split(), "allow_any": client.allow_any,
        "expires_on": client.expires_on.isoformat(), "status": ClientStatus(client.status).value,
        "created_at": client.created_at.isoformat(), "created_by": client.created_by,
        "revoked_at": client.revoked_at.isoformat() if client.revoked_at else None,
        "credentials": [{"client_id": c.keycloak_client_id, "generation": c.generation,
                         "created_at": c.created_at.isoformat(),
                         "valid_until": c.valid_until.isoformat() if c.valid_until else None,
                         "retired": c.retired,
                         "missing_in_keycloak": c.missing_since is not None} for c in credentials],
    }


def _claims(client: ApiClient) -> dict[str, str]:
    return {CLAIM_CLIENT: str(client.id), CLAIM_TENANT: client.tenant_code,
            CLAIM_ALLOWLIST: ANY if client.allow_any else client.allowlist}


def _keycloak_name(client: ApiClient) -> str:
    return f"{client.name} ({client.tenant_code})"


KEYCLOAK_PREFIX = "renkei-client-"


def _new_credential(session: Session, directory: Directory, client: ApiClient, generation: int) -> IssuedSecret:
    keycloak_id = f"{KEYCLOAK_PREFIX}{client.tenant_code}-{client.id}-{generation}-{secrets.token_hex(3)}"
    session.add(ApiClientCredential(api_client_id=client.id, keycloak_client_id=keycloak_id, generation=generation))
    session.flush()
    waiting = {"enabled": False} if client.status is ClientStatus.pending else {}  # no token before approval
    secret = directory.create_api_client(keycloak_id, _keycloak_name(client), client.purpose,
                                         _claims(client), client.scopes.split(), **waiting)
    return IssuedSecret(client, keycloak_id, secret)


def create_api_client(session: Session, actor: Actor, directory: Directory, tenant_code: str,
                      payload: ApiClientCreate | dict, *, today: dt.date | None = None) -> IssuedSecret:
    """A new client of ``tenant_code`` and its first secret (shown once; audited ``api_client.create``).
    Beyond the operator's policy (:func:`needs_approval`) the client waits in ``pending`` for the
    operator, with an :class:`ApiClientRequest` saying why; its Keycloak client issues no token until then."""
    authz.authorize(actor, "api_client.manage", tenant_code)
    data = _validated(payload)
    today = today or today_jst()
    allowlist = _check(session, actor, tenant_code, data, today)
    _check_quota(session, tenant_code)
    scopes = sorted(set(data.scopes))
    reasons = needs_approval(session, actor, allowlist=allowlist, scopes=scopes, expires_on=data.expires_on, today=today)
    client = ApiClient(tenant_code=tenant_code, name=data.name.strip(), purpose=data.purpose.strip(),
                       scopes=" ".join(scopes), allowlist=" ".join(allowlist), allow_any=data.allow_any,
                       expires_on=data.expires_on, created_by=actor.recorded_name,
                       status=ClientStatus.pending if reasons else ClientStatus.active)
    session.add(client)
    session.flush()
    issued = _new_credential(session, directory, client, 1)
    if reasons:
        _request(session, actor, client, RequestKind.create, _stored(client), reasons)
    audit.record(session, actor, "api_client.create", "api_client", str(client.id), tenant_code=tenant_code,
                 after={**summary(client), "client_id": issued.keycloak_client_id,
                        **({"waits_for_approval": [r["field"] for r in reasons]} if reasons else {})})
    return issued


def needs_approval(session: Session, actor: Actor, *, allowlist: list[str], scopes: Iterable[str],
                   expires_on: dt.date, today: dt.date, held: dict[str, Any] | None = None) -> list[dict[str, str]]:
    """Why these settings wait for the operator (empty: they do not; never for the operator, who approves)."""
    if authz.allowed(actor, "api_client.approve"):
        return []
    return client_policy.beyond(client_policy.current_policy(session), allowlist=allowlist, scopes=scopes,
                                expires_on=expires_on, today=today, held=held, scope_labels=SCOPES)


def _jsonable(values: dict[str, Any]) -> dict[str, Any]:
    return {k: v.isoformat() if isinstance(v, dt.date) else v for k, v in values.items()}


def _request(session: Session, actor: Actor, client: ApiClient, kind: RequestKind, changes: dict[str, Any],
             reasons: list[dict[str, str]]) -> ApiClientRequest:
    """Record what waits for the operator; a change still waiting for this client is superseded."""
    for earlier in session.scalars(sa.select(ApiClientRequest).where(
            ApiClientRequest.api_client_id == client.id, ApiClientRequest.status == RequestStatus.pending)):
        _move_request(earlier, "supersede", actor, "replaced by a later request")
    request = ApiClientRequest(api_client_id=client.id, kind=kind, changes=json.dumps(_jsonable(changes), ensure_ascii=False),
                               reasons=json.dumps(reasons, ensure_ascii=False), requested_by=actor.recorded_name)
    session.add(request)
    session.flush()
    return request


def _visible(session: Session, actor: Actor, client_id: int, action: str) -> ApiClient:
    client = session.get(ApiClient, client_id)
    grant = authz.grant_for(actor, "api_client.read")
    if client is None or grant is None or not grant.covers(client.tenant_code):
        if client is not None and grant is None:
            authz.authorize(actor, "api_client.read", client.tenant_code)
        raise NotFound(f"No API client {client_id}.", f"API クライアント {client_id} はありません。")
    authz.authorize(actor, action, client.tenant_code)
    return client


def credentials_of(session: Session, client: ApiClient) -> list[ApiClientCredential]:
    return list(session.scalars(sa.select(ApiClientCredential).where(ApiClientCredential.api_client_id == client.id)
                                .order_by(ApiClientCredential.generation.desc())))


def get_api_client(session: Session, actor: Actor, client_id: int, *, to_change: bool = False) -> ApiClient:
    """One client, if the actor may see it (another tenant's client is 'not found'); ``to_change``:
    and may manage it (e.g. for its edit form)."""
    return _visible(session, actor, client_id, "api_client.manage" if to_change else "api_client.read")


def _readable_clients(actor: Actor, tenant_code: str | None = None) -> Any:
    """The clients the actor may read (``api_client.read``): one owner's, every owner's, or their own owners'."""
    grant = authz.authorize(actor, "api_client.read", tenant_code)
    if tenant_code is not None:
        return ApiClient.tenant_code == tenant_code
    return sa.true() if grant.all_tenants else ApiClient.tenant_code.in_(sorted(grant.tenant_codes))


def list_api_clients(session: Session, actor: Actor, tenant_code: str | None = None) -> list[ApiClient]:
    query = sa.select(ApiClient).where(_readable_clients(actor, tenant_code)).order_by(ApiClient.tenant_code, ApiClient.id)
    return list(session.scalars(query))


def search_api_clients(session: Session, actor: Actor, query: search.Query, limit: int = search.LIMIT) -> search.Found:
    """The clients the actor may read (the list's scope) whose name holds the query's text, or whose id
    or owner's code is the query's number; by owner and id."""
    said = [sa.func.lower(ApiClient.name).like(search.contains(query.folded), escape=search.ESCAPE)]
    if query.digits:
        said.append(ApiClient.tenant_code == query.digits)
        if len(query.digits) <= 9:
            said.append(ApiClient.id == int(query.digits))
    where = sa.and_(_readable_clients(actor), sa.or_(*said))
    rows, total, capped = search.counted(session, [ApiClient.id, ApiClient.name, ApiClient.tenant_code], where,
                                         lambda row: (row[2], row[0]), limit)
    return search.Found([search.Hit(str(client_id), name, owner, owner) for client_id, name, owner in rows], total, capped)


# --- the lifecycle ------------------------------------------------------------------------------
#
#   pending ──approve──▶ active ◀──enable── disabled
#      │ reject             │ ──disable──▶    │
#      ▼                    ▼ revoke          ▼ revoke
#   rejected             revoked ◀─────────────        (pending ──revoke──▶ revoked: withdrawn by its owner)

def _client_refusal(move: Move, status: ClientStatus, client: ApiClient) -> "IllegalMove":
    return IllegalMove(client, move.name)


CLIENTS = Lifecycle("API クライアント", "API client", ClientStatus, labels(ClientStatus), (
    Move("approve", frozenset({ClientStatus.pending}), ClientStatus.active, "承認", "approve", grant="api_client.approve"),
    Move("reject", frozenset({ClientStatus.pending}), ClientStatus.rejected, "却下", "reject", grant="api_client.approve"),
    Move("disable", frozenset({ClientStatus.active}), ClientStatus.disabled, "一時停止", "disable", grant="api_client.manage"),
    Move("enable", frozenset({ClientStatus.disabled}), ClientStatus.active, "再開", "enable", grant="api_client.manage"),
    Move("revoke", frozenset({ClientStatus.pending, ClientStatus.active, ClientStatus.disabled}), ClientStatus.revoked,
         "失効", "revoke", grant="api_client.manage"),
), initial=(ClientStatus.pending, ClientStatus.active), refusal=_client_refusal)
"""An API client's lifecycle; each move is audited ``api_client.<move>`` and needs its ``grant``."""
MOVES = CLIENTS.moves
FINAL = frozenset(status for status in ClientStatus if not CLIENTS.moves_from(status))


class RequestDecided(lifecycle.IllegalMove):
    def __init__(self, request: ApiClientRequest) -> None:
        super().__init__(f"Request {request.id} is already decided.", f"申請 {request.id} は処理済みです。",
                         status=RequestStatus(request.status).value)


REQUESTS = Lifecycle("申請", "request", RequestStatus, labels(RequestStatus), (
    Move("approve", frozenset({RequestStatus.pending}), RequestStatus.approved, "承認", "approve"),
    Move("reject", frozenset({RequestStatus.pending}), RequestStatus.rejected, "却下", "reject"),
    Move("supersede", frozenset({RequestStatus.pending}), RequestStatus.superseded, "置き換え", "supersede"),
), initial=(RequestStatus.pending,), refusal=lambda move, status, request: RequestDecided(request))
"""A request waiting for the operator: decided once (approved, rejected, or superseded by a later one)."""


class IllegalMove(lifecycle.IllegalMove):
    def __init__(self, client: ApiClient, move: str) -> None:
        status = ClientStatus(client.status)
        ja, en = status.label
        super().__init__(f"API client {client.id} is {en.lower()}; '{move}' is not possible in that state.",
                         f"API クライアント {client.id} は「{ja}」のため、この操作はできません。",
                         status=status.value, move=move)


def _must_be_usable(client: ApiClient) -> None:
    """Rotation and edits: not on a final client, nor on one still waiting for approval."""
    status = ClientStatus(client.status)
    if status is ClientStatus.revoked:
        raise Conflict("This API client is revoked; create a new one.",
                       "この API クライアントは失効しています。新しく登録してください。")
    if status is ClientStatus.rejected:
        raise Conflict("This API client was not approved; register a new one.",
                       "この API クライアントは承認されませんでした。新しく登録してください。")
    if status is ClientStatus.pending:
        raise Conflict("This API client is waiting for the operator's approval; it can be changed once approved "
                       "(or revoked and registered again).",
                       "この API クライアントは運営者の承認待ちです。承認後に変更するか、失効させて登録し直してください。")


def _move_request(request: ApiClientRequest, name: str, actor: Actor, note: str | None) -> None:
    request.status, request.decided_at = REQUESTS.move(name, request.status, request).target, utcnow()
    request.decided_by, request.decision_note = actor.recorded_name, note


def rotate_secret(session: Session, actor: Actor, directory: Directory, client_id: int,
                  overlap_seconds: int = DEFAULT_OVERLAP_SECONDS, *, now: dt.datetime | None = None) -> IssuedSecret:
    """A new credential; the current ones stay valid for ``overlap_seconds`` (audited ``api_client.rotate``)."""
    client = _visible(session, actor, client_id, "api_client.manage")
    _must_be_usable(client)
    if not 0 <= overlap_seconds <= MAX_OVERLAP_SECONDS:
        raise Invalid("The overlap must be between 0 seconds and 30 days.", "旧シークレットの猶予期間は 0 秒〜30 日にしてください。",
                      problems=[problem("overlap_seconds", "0 to 2592000", "0〜2592000 秒にしてください。")])
    now = now or utcnow()
    until = now + dt.timedelta(seconds=overlap_seconds)
    current = credentials_of(session, client)
    for credential in current:
        if not credential.retired and (credential.valid_until is None or credential.valid_until > until):
            credential.valid_until = until
    issued = _new_credential(session, directory, client, (current[0].generation if current else 0) + 1)
    forget_client_states()
    audit.record(session, actor, "api_client.rotate", "api_client", str(client.id), tenant_code=client.tenant_code,
                 after={"client_id": issued.keycloak_client_id, "previous_valid_until": until.isoformat()})
    return dataclasses.replace(issued, previous_valid_until=until)


def _set_status(session: Session, actor: Actor, directory: Directory, client_id: int, name: str,
                now: dt.datetime | None, note: str | None = None) -> ApiClient:
    """Make the move ``name`` of :data:`MOVES`: its grant, its source states, then Keycloak and the row."""
    move = CLIENTS.moves[name]
    client = _visible(session, actor, client_id, "api_client.read")
    authz.authorize(actor, move.grant, client.tenant_code)
    before = ClientStatus(client.status)
    if before in FINAL:
        _must_be_usable(client)  # says it is final and what to do instead
    if before is move.target:
        return client
    CLIENTS.move(name, before, client)
    for credential in credentials_of(session, client):
        if not credential.retired:
            directory.set_api_client_enabled(credential.keycloak_client_id, move.target is ClientStatus.active)
            if move.target in FINAL:
                credential.retired = True
    client.status = move.target
    if move.target is ClientStatus.revoked:
        client.revoked_at = now or utcnow()
    for waiting in session.scalars(sa.select(ApiClientRequest).where(
            ApiClientRequest.api_client_id == client.id, ApiClientRequest.status == RequestStatus.pending)):
        _move_request(waiting, name if name in REQUESTS.moves else "supersede", actor, note)
    session.flush()
    forget_client_states()
    audit.record(session, actor, f"api_client.{name}", "api_client", str(client.id), tenant_code=client.tenant_code,
                 before={"status": before.value}, after={"status": move.target.value, **({"note": note} if note else {})})
    return client


def revoke_api_client(session: Session, actor: Actor, directory: Directory, client_id: int,
                      now: dt.datetime | None = None) -> ApiClient:
    """No new token at once (Keycloak clients disabled) and the gateway refuses existing ones."""
    return _set_status(session, actor, directory, client_id, "revoke", now)


def disable_api_client(session: Session, actor: Actor, directory: Directory, client_id: int) -> ApiClient:
    return _set_status(session, actor, directory, client_id, "disable", None)


def enable_api_client(session: Session, actor: Actor, directory: Directory, client_id: int) -> ApiClient:
    return _set_status(session, actor, directory, client_id, "enable", None)


# --- the operator's approval ------------------------------------------------------------------------

def list_requests(session: Session, actor: Actor, status: RequestStatus | None = RequestStatus.pending
                  ) -> list[tuple[ApiClientRequest, ApiClient]]:
    """Requests (default: those waiting) with their clients: the operator sees all, a holder's admin theirs."""
    grant = authz.authorize(actor, "api_client.read")
    query = (sa.select(ApiClientRequest, ApiClient).join(ApiClient, ApiClient.id == ApiClientRequest.api_client_id)
             .order_by(ApiClientRequest.requested_at, ApiClientRequest.id))
    if status is not None:
        query = query.where(ApiClientRequest.status == status)
    if not grant.all_tenants:
        query = query.where(ApiClient.tenant_code.in_(sorted(grant.tenant_codes)))
    return [(request, client) for request, client in session.execute(query)]


def request_summary(request: ApiClientRequest, client: ApiClient) -> dict[str, Any]:
    return {"id": request.id, "client": client.id, "tenant": client.tenant_code, "client_name": client.name,
            "kind": RequestKind(request.kind).value, "status": RequestStatus(request.status).value,
            "changes": json.loads(request.changes), "reasons": json.loads(request.reasons),
            "requested_at": request.requested_at.isoformat(), "requested_by": request.requested_by,
            "decided_at": request.decided_at.isoformat() if request.decided_at else None,
            "decided_by": request.decided_by, "decision_note": request.decision_note}


def _waiting(session: Session, actor: Actor, request_id: int) -> tuple[ApiClientRequest, ApiClient]:
    authz.authorize(actor, "api_client.approve")
    request = session.get(ApiClientRequest, request_id)
    if request is None:
        raise NotFound(f"No request {request_id}.", f"申請 {request_id} はありません。")
    if not REQUESTS.moves_from(request.status):  # decided: nothing more can happen to it
        raise RequestDecided(request)
    return request, session.get(ApiClient, request.api_client_id)


def approve_request(session: Session, actor: Actor, directory: Directory, request_id: int, note: str | None = None,
                    *, today: dt.date | None = None) -> ApiClient:
    """The operator approves: a waiting registration becomes active (its Keycloak client enabled); a
    waiting change is applied as an edit (judged again by the rules of registration). Audited
    ``api_client.approve`` (and ``api_client.edit`` for a change)."""
    request, client = _waiting(session, actor, request_id)
    if RequestKind(request.kind) is RequestKind.create:
        if client.expires_on <= (today or today_jst()):
            raise Conflict("The client's expiry date has passed while it waited; reject it.",
                           "承認待ちの間に有効期限が過ぎています。却下してください。")
        return _set_status(session, actor, directory, client.id, "approve", None, note)
    changes = json.loads(request.changes)
    _move_request(request, "approve", actor, note)
    edited = _apply_edit(session, actor, directory, client, changes, today or today_jst())
    audit.record(session, actor, "api_client.approve", "api_client", str(client.id), tenant_code=client.tenant_code,
                 after={"request": request.id, "changes": changes, **({"note": note} if note else {})})
    return edited


def reject_request(session: Session, actor: Actor, directory: Directory, request_id: int, note: str) -> ApiClient:
    """The operator refuses, saying why: a waiting registration ends ``rejected`` (its Keycloak client
    stays disabled); a waiting change is dropped and the client keeps its settings (audited)."""
    if not (note or "").strip():
        raise Invalid("Say why the request is rejected.", "却下の理由を入力してください。",
                      problems=[problem("note", "required", "却下の理由を入力してください。")])
    request, client = _waiting(session, actor, request_id)
    if RequestKind(request.kind) is RequestKind.create:
        return _set_status(session, actor, directory, client.id, "reject", None, note.strip())
    _move_request(request, "reject", actor, note.strip())
    session.flush()
    audit.record(session, actor, "api_client.reject", "api_client", str(client.id), tenant_code=client.tenant_code,
                 after={"request": request.id, "note": note.strip()})
    return client


EDITABLE = ("name", "purpose", "scopes", "expires_on", "allowlist", "allow_any")
# what Keycloak holds of a client: its name and description, the claims of its tokens, its optional scopes
_IN_KEYCLOAK = {"name", "purpose", "scopes", "allowlist", "allow_any"}


def _stored(client: ApiClient) -> dict[str, Any]:
    return {"name": client.name, "purpose": client.purpose, "scopes": client.scopes.split(),
            "expires_on": client.expires_on, "allowlist": client.allowlist.split(), "allow_any": client.allow_any}


def edit_api_client(session: Session, actor: Actor, directory: Directory, client_id: int, changes: dict[str, Any],
                    *, today: dt.date | None = None) -> ApiClient | ApiClientRequest:
    """Change any of a client's name, purpose, scopes, expiry date and allowlist (and, for the operator,
    "any address"), judged by the rules of :func:`create_api_client`. Every live credential in Keycloak
    follows (name, claims, optional scopes), so a token issued after the edit carries the new allowlist
    and may ask only for the new scopes; the gateway check compares the stored allowlist, so it applies
    the new one at once to every token, old or new. A revoked client cannot be edited; an edit that
    changes nothing writes nothing (audited ``api_client.edit`` with before/after of what changed).

    An edit by the owner's admin that widens the client beyond the operator's policy changes nothing
    yet: it returns the waiting :class:`ApiClientRequest` (audited ``api_client.change_requested``),
    applied when the operator approves it (:func:`approve_request`)."""
    client = _visible(session, actor, client_id, "api_client.manage")
    _must_be_usable(client)
    return _apply_edit(session, actor, directory, client, changes, today or today_jst(), asked=True)


def _apply_edit(session: Session, actor: Actor, directory: Directory, client: ApiClient, changes: dict[str, Any],
                today: dt.date, *, asked: bool = False) -> Any:
    """Judge and apply an edit; ``asked``: by the client's owner, so an edit beyond the operator's
    policy is recorded as a waiting request instead (the client unchanged)."""
    unknown = sorted(set(changes) - set(EDITABLE))
    if unknown:
        raise Invalid("Some fields cannot be changed.", "変更できない項目があります。",
                      problems=[problem(name, "Not a field of an API client that can be changed.",
                                        "変更できる項目ではありません。") for name in unknown])
    current = _stored(client)
    data = _validated({**current, **{k: v for k, v in changes.items() if v is not None}})
    new = {"name": data.name.strip(), "purpose": data.purpose.strip(), "scopes": sorted(set(data.scopes)),
           "expires_on": data.expires_on, "allow_any": data.allow_any}
    try:
        new["allowlist"] = parse_allowlist(data.allowlist)
    except Invalid:
        new["allowlist"] = None  # judged and reported below, beside the other fields
    changed = [name for name in EDITABLE if new[name] != current[name]]
    if not changed:
        return client
    allowlist = _check(session, actor, client.tenant_code, data, today, changed)
    if asked:
        reasons = needs_approval(session, actor, allowlist=allowlist, scopes=new["scopes"], expires_on=new["expires_on"],
                                 today=today, held=current)
        if reasons:
            wanted = {name: new[name] for name in changed}
            request = _request(session, actor, client, RequestKind.change, wanted, reasons)
            audit.record(session, actor, "api_client.change_requested", "api_client", str(client.id),
                         tenant_code=client.tenant_code,
                         after={"request": request.id, **_jsonable(wanted), "waits_for_approval": [r["field"] for r in reasons]})
            return request
    client.name, client.purpose, client.scopes = new["name"], new["purpose"], " ".join(new["scopes"])
    client.expires_on, client.allowlist, client.allow_any = new["expires_on"], " ".join(allowlist), new["allow_any"]
    session.flush()
    if _IN_KEYCLOAK.intersection(changed):
        for credential in credentials_of(session, client):
            if not credential.retired:
                directory.update_api_client(credential.keycloak_client_id, _keycloak_name(client), client.purpose,
                                            _claims(client), client.scopes.split(), SCOPES)
    forget_client_states()

    def shown(values: dict[str, Any]) -> dict[str, Any]:
        return {name: values[name].isoformat() if name == "expires_on" else values[name] for name in changed}

    audit.record(session, actor, "api_client.edit", "api_client", str(client.id), tenant_code=client.tenant_code,
                 before=shown(current), after=shown(_stored(client)))
    return client


def mark_missing(session: Session, directory: Any, now: dt.datetime | None = None) -> list[str]:
    """Compare the live credentials with the clients Keycloak has (one call) and mark those it no
    longer has (deleted there directly): from then on their tokens are refused (``client_missing``)
    and the client's list says so. Returns the Keycloak client ids marked. Called when Keycloak's admin
    events report a client deleted, and by the due job ``api-client-reconcile``."""
    live = list(session.scalars(sa.select(ApiClientCredential).where(
        ApiClientCredential.retired.is_(False), ApiClientCredential.missing_since.is_(None))))
    if not live:
        return []
    present = directory.api_client_ids(KEYCLOAK_PREFIX)
    gone = [credential for credential in live if credential.keycloak_client_id not in present]
    for credential in gone:
        credential.missing_since = now or utcnow()
    session.flush()
    if gone:
        forget_client_states()
    return [credential.keycloak_client_id for credential in gone]


def clients_deleted(events: Iterable[dict[str, Any]]) -> bool:
    """Whether Keycloak's admin events report a client deleted (then :func:`mark_missing` is due)."""
    return any(e.get("resourceType") == "CLIENT" and e.get("operationType") == "DELETE" for e in events)


def retire_due(session: Session, actor: Actor, directory: Directory, now: dt.datetime | None = None) -> int:
    """Disable in Keycloak every credential whose overlap has ended (the scheduled job; operator)."""
    authz.authorize(actor, "api_client.allow_any")
    now = now or utcnow()
    due = list(session.scalars(sa.select(ApiClientCredential).where(
        ApiClientCredential.retired.is_(False), ApiClientCredential.valid_until.is_not(None),
        ApiClientCredential.valid_until <= now)))
    for credential in due:
        directory.set_api_client_enabled(credential.keycloak_client_id, False)
        credential.retired = True
        forget_client_states()
        audit.record(session, actor, "api_client.retire_credential", "api_client", str(credential.api_client_id),
                     after={"client_id": credential.keycloak_client_id})
    session.flush()
    return len(due)
