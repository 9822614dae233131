"""The platform's API clients: client-credentials clients of a tenant with an IP allowlist, and the
gateway check.

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
* Clients count against the quota ``api_clients`` (a gauge in :mod:`tenancy.usage.models`): with a
  hard limit, a client beyond it is refused. The level is not reported as usage: it is counted from
  this table by :func:`tenancy.usage.quotas.api_client_counts` (its one home), which the quota pages,
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
import functools
import ipaddress
import secrets
import time
import weakref
from collections.abc import Callable, Iterable
from typing import Any, Protocol

import sqlalchemy as sa
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy.orm import Session

from core import audit, authz
from core.actor import Actor
from core.calendar import current_month, today_jst
from core.codes import is_corporate_number
from core.db import utcnow
from core.errors import Conflict, DomainError, Invalid, NotFound, problem
from tenancy.identity.models import ApiClient, ApiClientCredential
from tenancy.members.models import MemberStatus, Organisation, open_organisation
from tenancy.usage import quotas
from tenancy.usage.models import Enforcement

# The scopes a client may ask for (optional client scopes in Keycloak): name -> (Japanese, English)
SCOPES: dict[str, tuple[str, str]] = {
    "broker.read": ("コンテキストブローカーの参照", "Context broker: read"),
    "broker.write": ("コンテキストブローカーへの登録・更新", "Context broker: write"),
    "catalog.read": ("データカタログの参照", "Data catalogue: read"),
    "catalog.write": ("データカタログへの登録", "Data catalogue: write"),
    "consent:write": ("本人同意・撤回の記録（住民向けアプリ）", "Consent: record and withdraw (resident app)"),
}
STATUSES = ("active", "disabled", "revoked")
STATUS_LABELS = {"active": ("有効", "Active"), "disabled": ("一時停止", "Disabled"), "revoked": ("失効", "Revoked")}
DEFAULT_OVERLAP_SECONDS = 24 * 3600
MAX_OVERLAP_SECONDS = 30 * 24 * 3600
ANY = "*"

CLAIM_CLIENT, CLAIM_TENANT, CLAIM_ALLOWLIST = "renkei_client", "renkei_tenant", "renkei_allowlist"


class Directory(Protocol):
    def create_api_client(self, client_id: str, name: str, description: str, claims: dict[str, str],
                          optional_scopes: Iterable[str] = ()) -> str: ...

    def set_api_client_enabled(self, client_id: str, enabled: bool) -> None: ...

    def update_api_client(self, client_id: str, name: str, description: str, claims: dict[str, str],
                          optional_scopes: Iterable[str], managed_scopes: Iterable[str]) -> None: ...


# --- the allowlist ----------------------------------------------------------------------------

def parse_allowlist(entries: str | Iterable[str], field: str = "allowlist") -> list[str]:
    """Normalised CIDRs (a bare address becomes /32 or /128); every bad entry named in words."""
    if isinstance(entries, str):
        entries = entries.replace(",", " ").split()
    networks: list[str] = []
    problems = []
    for entry in (e.strip() for e in entries):
        if not entry:
            continue
        try:
            network = ipaddress.ip_network(entry, strict=True)
        except ValueError as error:
            problems.append(_cidr_problem(field, entry, error))
            continue
        if str(network) not in networks:
            networks.append(str(network))
    if problems:
        raise Invalid("The IP allowlist has entries that are not IPv4/IPv6 networks (CIDR).",
                      "許可する接続元（IP アドレス）に、CIDR 表記として正しくないものがあります。", problems=problems)
    return networks


def _cidr_problem(field: str, entry: str, error: ValueError) -> dict[str, str]:
    address, _, prefix = entry.partition("/")
    try:
        version = ipaddress.ip_address(address).version
    except ValueError:
        version = None
    if version and prefix:
        most = 32 if version == 4 else 128
        if not prefix.isdigit() or int(prefix) > most:
            return problem(field, f"{entry!r}: the prefix length of an IPv{version} network is 0 to {most}, not /{prefix}.",
                           f"「{entry}」: IPv{version} のプレフィックス長は 0〜{most} です（/{prefix} は使えません）。")
        if "host bits" in str(error):
            suggested = ipaddress.ip_network(entry, strict=False)
            return problem(field, f"{entry!r} has bits set after the prefix; did you mean {suggested}?",
                           f"「{entry}」はネットワークアドレスではありません。{suggested} のことですか。")
    return problem(field, f"{entry!r} is not an IPv4 or IPv6 address or network (e.g. 192.0.2.0/24, 2001:db8::/32).",
                   f"「{entry}」は IPv4/IPv6 のアドレスまたはネットワークではありません（例: 192.0.2.0/24、2001:db8::/32）。")


@functools.lru_cache(maxsize=4096)
def _networks(allowlist: str) -> tuple[Any, ...] | None:
    """None: any address."""
    if allowlist.strip() == ANY:
        return None
    return tuple(ipaddress.ip_network(entry, strict=False) for entry in allowlist.split())


def address_allowed(allowlist: str, address: str | None) -> bool:
    """Whether ``address`` is inside the space-separated ``allowlist`` (``*``: any address)."""
    networks = _networks(allowlist or "")
    if networks is None:
        return True
    if not address:
        return False
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return False
    if ip.version == 6 and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return any(ip.version == network.version and ip in network for network in networks)


# --- input ------------------------------------------------------------------------------------

class ApiClientCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=100, description="A name people recognise, e.g. 防災ダッシュボード連携")
    purpose: str = Field(min_length=1, max_length=2000, description="What the client is for")
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
        problems = [problem(".".join(str(p) for p in e["loc"]) or "body", e["msg"], _ja_of(e)) for e in error.errors()]
        raise Invalid("Some fields are missing or wrong.", "入力に誤りがあります。", problems=problems) from None


def _ja_of(error: dict) -> str:
    kind = error.get("type", "")
    if kind == "missing":
        return "入力してください。"
    if kind.startswith("string_too_short"):
        return "入力してください。"
    if kind.startswith("string_too_long"):
        return "長すぎます。"
    if kind.startswith("date"):
        return "日付を YYYY-MM-DD の形で入力してください。"
    return "値が正しくありません。"


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
        "expires_on": client.expires_on.isoformat(), "status": client.status,
        "created_at": client.created_at.isoformat(), "created_by": client.created_by,
        "revoked_at": client.revoked_at.isoformat() if client.revoked_at else None,
        "credentials": [{"client_id": c.keycloak_client_id, "generation": c.generation,
                         "created_at": c.created_at.isoformat(),
                         "valid_until": c.valid_until.isoformat() if c.valid_until else None,
                         "retired": c.retired} for c in credentials],
    }


def _claims(client: ApiClient) -> dict[str, str]:
    return {CLAIM_CLIENT: str(client.id), CLAIM_TENANT: client.tenant_code,
            CLAIM_ALLOWLIST: ANY if client.allow_any else client.allowlist}


def _keycloak_name(client: ApiClient) -> str:
    return f"{client.name} ({client.tenant_code})"


def _new_credential(session: Session, directory: Directory, client: ApiClient, generation: int) -> IssuedSecret:
    keycloak_id = f"renkei-client-{client.tenant_code}-{client.id}-{generation}-{secrets.token_hex(3)}"
    session.add(ApiClientCredential(api_client_id=client.id, keycloak_client_id=keycloak_id, generation=generation))
    session.flush()
    secret = directory.create_api_client(keycloak_id, _keycloak_name(client), client.purpose,
                                         _claims(client), client.scopes.split())
    return IssuedSecret(client, keycloak_id, secret)


def create_api_client(session: Session, actor: Actor, directory: Directory, tenant_code: str,
                      payload: ApiClientCreate | dict, *, today: dt.date | None = None) -> IssuedSecret:
    """A new client of ``tenant_code`` and its first secret (shown once; audited ``api_client.create``)."""
    authz.authorize(actor, "api_client.manage", tenant_code)
    data = _validated(payload)
    allowlist = _check(session, actor, tenant_code, data, today or today_jst())
    _check_quota(session, tenant_code)
    client = ApiClient(tenant_code=tenant_code, name=data.name.strip(), purpose=data.purpose.strip(),
                       scopes=" ".join(sorted(set(data.scopes))), allowlist=" ".join(allowlist),
                       allow_any=data.allow_any, expires_on=data.expires_on, created_by=actor.name or actor.subject)
    session.add(client)
    session.flush()
    issued = _new_credential(session, directory, client, 1)
    audit.record(session, actor, "api_client.create", "api_client", str(client.id), tenant_code=tenant_code,
                 after={**summary(client), "client_id": issued.keycloak_client_id})
    return issued


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


def list_api_clients(session: Session, actor: Actor, tenant_code: str | None = None) -> list[ApiClient]:
    grant = authz.authorize(actor, "api_client.read", tenant_code)
    query = sa.select(ApiClient).order_by(ApiClient.tenant_code, ApiClient.id)
    if tenant_code is not None:
        query = query.where(ApiClient.tenant_code == tenant_code)
    elif not grant.all_tenants:
        query = query.where(ApiClient.tenant_code.in_(sorted(grant.tenant_codes)))
    return list(session.scalars(query))


def _must_be_usable(client: ApiClient) -> None:
    if client.status == "revoked":
        raise Conflict("This API client is revoked; create a new one.",
                       "この API クライアントは失効しています。新しく登録してください。")


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


def _set_status(session: Session, actor: Actor, directory: Directory, client_id: int, status: str,
                action: str, now: dt.datetime | None) -> ApiClient:
    client = _visible(session, actor, client_id, "api_client.manage")
    _must_be_usable(client)
    before = client.status
    if before == status:
        return client
    for credential in credentials_of(session, client):
        if not credential.retired:
            directory.set_api_client_enabled(credential.keycloak_client_id, status == "active")
            if status == "revoked":
                credential.retired = True
    client.status = status
    if status == "revoked":
        client.revoked_at = now or utcnow()
    session.flush()
    forget_client_states()
    audit.record(session, actor, action, "api_client", str(client.id), tenant_code=client.tenant_code,
                 before={"status": before}, after={"status": status})
    return client


def revoke_api_client(session: Session, actor: Actor, directory: Directory, client_id: int,
                      now: dt.datetime | None = None) -> ApiClient:
    """No new token at once (Keycloak clients disabled) and the gateway refuses existing ones."""
    return _set_status(session, actor, directory, client_id, "revoked", "api_client.revoke", now)


def disable_api_client(session: Session, actor: Actor, directory: Directory, client_id: int) -> ApiClient:
    return _set_status(session, actor, directory, client_id, "disabled", "api_client.disable", None)


def enable_api_client(session: Session, actor: Actor, directory: Directory, client_id: int) -> ApiClient:
    return _set_status(session, actor, directory, client_id, "active", "api_client.enable", None)


EDITABLE = ("name", "purpose", "scopes", "expires_on", "allowlist", "allow_any")
# what Keycloak holds of a client: its name and description, the claims of its tokens, its optional scopes
_IN_KEYCLOAK = {"name", "purpose", "scopes", "allowlist", "allow_any"}


def _stored(client: ApiClient) -> dict[str, Any]:
    return {"name": client.name, "purpose": client.purpose, "scopes": client.scopes.split(),
            "expires_on": client.expires_on, "allowlist": client.allowlist.split(), "allow_any": client.allow_any}


def edit_api_client(session: Session, actor: Actor, directory: Directory, client_id: int, changes: dict[str, Any],
                    *, today: dt.date | None = None) -> ApiClient:
    """Change any of a client's name, purpose, scopes, expiry date and allowlist (and, for the operator,
    "any address"), judged by the rules of :func:`create_api_client`. Every live credential in Keycloak
    follows (name, claims, optional scopes), so a token issued after the edit carries the new allowlist
    and may ask only for the new scopes; the gateway check compares the stored allowlist, so it applies
    the new one at once to every token, old or new. A revoked client cannot be edited; an edit that
    changes nothing writes nothing (audited ``api_client.edit`` with before/after of what changed)."""
    client = _visible(session, actor, client_id, "api_client.manage")
    _must_be_usable(client)
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
    allowlist = _check(session, actor, client.tenant_code, data, today or today_jst(), changed)
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


# --- the gateway check --------------------------------------------------------------------------

REASONS: dict[str, tuple[str, str]] = {
    "allowed": ("Allowed.", "許可します。"),
    "token_invalid": ("The access token is not valid", "アクセストークンが無効です"),
    "not_an_api_client": ("The token was not issued to a registered API client", "登録された API クライアントのトークンではありません"),
    "client_revoked": ("The API client is revoked", "API クライアントは失効しています"),
    "client_disabled": ("The API client is disabled", "API クライアントは一時停止中です"),
    "client_expired": ("The API client's expiry date has passed", "API クライアントの有効期限が過ぎています"),
    "secret_rotated": ("This credential was replaced and its overlap has ended", "このシークレットは更新済みで、猶予期間が終わっています"),
    "address_not_allowed": ("The source address is not in the client's allowlist", "接続元の IP アドレスが許可されていません"),
    "tenant_not_active": ("The tenant is not active", "団体が利用中ではありません"),
    "hard_limit_reached": ("The tenant's API call quota is used up", "団体の API 呼び出し回数が上限に達しています"),
}


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
                "message_en": f"{en}{': ' + self.detail if self.detail else ''}.".replace("..", "."),
                "message_ja": f"{ja}。", "client": self.client, "tenant": self.tenant,
                "quota": self.quota.summary() if self.quota is not None else None}


_CLIENT, _CREDENTIAL = ApiClient.__table__, ApiClientCredential.__table__
# a Core statement on the tables (no ORM loading on the hot path), compiled once per dialect and cached
_ORGANISATION = Organisation.__table__
# a member organisation's status (NULL for a tenant's client): one unique-index probe
_OWNER_STATUS = (sa.select(_ORGANISATION.c.status).where(_ORGANISATION.c.corporate_number == _CLIENT.c.tenant_code)
                 .scalar_subquery().label("organisation_status"))
_LOOKUP = (sa.select(_CLIENT.c.id, _CLIENT.c.tenant_code, _CLIENT.c.status, _CLIENT.c.expires_on, _CLIENT.c.allowlist,
                     _CLIENT.c.allow_any, _CREDENTIAL.c.valid_until, _OWNER_STATUS)
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
        if remembered is not None and now - remembered[0] <= self.max_age:
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


def gateway_check(session: Session, actor: Actor, claims_of: Callable[[str], dict[str, Any]], token: str,
                  address: str, quota_cache: quotas.QuotaCache, *, quantity: int = 1,
                  now: dt.datetime | None = None, states: ClientStateCache | None = None) -> GatewayDecision:
    """Whether a call with ``token`` from ``address`` may pass: token valid, client active, not revoked,
    not expired, credential not past its overlap, address allowed, tenant's api_calls quota not used up.
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
    if row.status != "active":
        return decided(False, "client_revoked" if row.status == "revoked" else "client_disabled")
    if row.expires_on < today_jst(now):
        return decided(False, "client_expired")
    if row.valid_until is not None and row.valid_until <= now:
        return decided(False, "secret_rotated")
    if not address_allowed(ANY if row.allow_any else row.allowlist, address):
        return decided(False, "address_not_allowed", f"{address}")
    if row.organisation_status is not None or len(row.tenant_code) == 13:
        # a member organisation's client: no quota plan (organisations join no cost split)
        if row.organisation_status != MemberStatus.approved.value:
            return decided(False, "tenant_not_active")
        return decided(True, "allowed")
    quota = quota_cache.check(session, row.tenant_code, "api_calls", quantity, now)
    if not quota.allowed:
        return decided(False, quota.reason, quota=quota)
    return decided(True, "allowed", quota=quota)
