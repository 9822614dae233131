"""The operator's policy for API clients: what a tenant's (or organisation's) admin may give a client
without the operator's approval.

* **The widest network** (``max_prefix_v4``, default /16; ``max_prefix_v6``, default /48): an
  allowlist whose networks, merged where they touch (``10.0.0.0/17`` and ``10.0.128.0/17`` are one
  /16), include one wider than this needs approval. IPv4 written inside IPv6 (``::ffff:0:0/96``
  mapped, ``64:ff9b::/96`` NAT64, ``::/96`` compatible) is judged as the IPv4 network it spells.
* **Any address** is operator-only whatever the policy, in every spelling: ``0.0.0.0/0``, ``::/0``,
  pieces that merge into either (``0.0.0.0/1`` + ``128.0.0.0/1``), ``::ffff:0:0/96`` (every IPv4
  address, mapped), or an IPv6 network holding one of the IPv4 embeddings whole (``::/64``).
  A tenant's admin asking for it is refused (not queued): only the operator sets it.
* **Scopes that need approval** (``approval_scopes``, default the write scopes).
* **The longest expiry** (``max_expiry_days`` from today, Japan time; default 365).

A registration or an edit by anyone but the operator that goes beyond any of these (for an edit:
beyond what the client already holds, i.e. a network, scope or expiry it was not given before) waits
for the operator (:mod:`tenancy.identity.api_clients`). The policy is one row edited by the operator
(``api_client.policy``; audited ``api_client.policy.update``); without the row the defaults apply.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
from collections.abc import Iterable
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy.orm import Session

from core import audit, authz
from core.actor import Actor
from core.db import utcnow
from core.errors import Invalid, problem
from core.validation import messages_of
from tenancy.identity.models import ApiClientPolicy

POLICY_ID = 1
DEFAULT_MAX_PREFIX_V4 = 16
DEFAULT_MAX_PREFIX_V6 = 48
DEFAULT_APPROVAL_SCOPES = ("broker.write", "catalog.write")
DEFAULT_MAX_EXPIRY_DAYS = 365
MAX_EXPIRY_DAYS_BOUND = 3650

# IPv6 prefixes that carry an IPv4 address in their last 32 bits
_V4_EMBEDDINGS = tuple(ipaddress.IPv6Network(n) for n in ("::ffff:0:0/96", "64:ff9b::/96", "::/96"))
_EVERY_V4 = ipaddress.IPv4Network("0.0.0.0/0")
_EVERY_V6 = ipaddress.IPv6Network("::/0")


def current_policy(session: Session) -> ApiClientPolicy:
    """The policy in force: the operator's row, or the defaults (a row not added to the session)."""
    row = session.get(ApiClientPolicy, POLICY_ID)
    if row is not None:
        return row
    return ApiClientPolicy(id=POLICY_ID, max_prefix_v4=DEFAULT_MAX_PREFIX_V4, max_prefix_v6=DEFAULT_MAX_PREFIX_V6,
                           approval_scopes=" ".join(DEFAULT_APPROVAL_SCOPES), max_expiry_days=DEFAULT_MAX_EXPIRY_DAYS,
                           updated_by="")


def read_policy(session: Session, actor: Actor) -> ApiClientPolicy:
    """The policy, for whoever may see API clients (an admin sees what waits for approval and why)."""
    authz.authorize(actor, "api_client.read")
    return current_policy(session)


def summary(policy: ApiClientPolicy) -> dict[str, Any]:
    return {"max_prefix_v4": policy.max_prefix_v4, "max_prefix_v6": policy.max_prefix_v6,
            "approval_scopes": policy.approval_scopes.split(), "max_expiry_days": policy.max_expiry_days,
            "updated_at": policy.updated_at.isoformat() if policy.updated_at and policy.updated_by else None,
            "updated_by": policy.updated_by or None}


class PolicyUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    max_prefix_v4: int = Field(ge=1, le=32, description="The widest IPv4 network without approval (prefix length)")
    max_prefix_v6: int = Field(ge=1, le=128, description="The widest IPv6 network without approval (prefix length)")
    approval_scopes: list[str] = Field(default_factory=list, description="Scopes that need the operator's approval")
    max_expiry_days: int = Field(ge=1, le=MAX_EXPIRY_DAYS_BOUND, description="The longest expiry, in days from today")


_FIELD_JA = {"max_prefix_v4": "IPv4 の最も広いネットワークは /1〜/32 で指定してください。",
             "max_prefix_v6": "IPv6 の最も広いネットワークは /1〜/128 で指定してください。",
             "max_expiry_days": f"有効期限の上限は 1〜{MAX_EXPIRY_DAYS_BOUND} 日で指定してください。"}


def update_policy(session: Session, actor: Actor, payload: PolicyUpdate | dict, scopes: Iterable[str]) -> ApiClientPolicy:
    """Set the policy (operator; audited ``api_client.policy.update`` with before and after).
    ``scopes``: the scopes that exist (:data:`tenancy.identity.api_clients.SCOPES`)."""
    authz.authorize(actor, "api_client.policy")
    try:
        data = payload if isinstance(payload, PolicyUpdate) else PolicyUpdate.model_validate(payload)
    except ValidationError as error:
        problems = [problem(str(e["loc"][0]) if e["loc"] else "body", messages_of(e)[0],
                            _FIELD_JA.get(str(e["loc"][0]) if e["loc"] else "", "値が正しくありません。"))
                    for e in error.errors()]
        raise Invalid("The policy was not changed: some fields are wrong.",
                      "方針を変更できませんでした。入力に誤りがあります。", problems=problems) from None
    unknown = sorted(set(data.approval_scopes) - set(scopes))
    if unknown:
        raise Invalid("The policy was not changed: unknown scopes.", "方針を変更できませんでした。",
                      problems=[problem("approval_scopes", f"Unknown scope(s): {', '.join(unknown)}.",
                                        f"存在しないスコープです: {', '.join(unknown)}")])
    row = session.get(ApiClientPolicy, POLICY_ID)
    before = summary(current_policy(session))
    if row is None:
        row = ApiClientPolicy(id=POLICY_ID)
        session.add(row)
    row.max_prefix_v4, row.max_prefix_v6 = data.max_prefix_v4, data.max_prefix_v6
    row.approval_scopes = " ".join(sorted(set(data.approval_scopes)))
    row.max_expiry_days = data.max_expiry_days
    row.updated_at, row.updated_by = utcnow(), actor.recorded_name
    session.flush()
    after = summary(row)
    keys = ("max_prefix_v4", "max_prefix_v6", "approval_scopes", "max_expiry_days")
    audit.record(session, actor, "api_client.policy.update", "api_client_policy", str(POLICY_ID),
                 before={k: before[k] for k in keys}, after={k: after[k] for k in keys})
    return row


# --- judging an allowlist ---------------------------------------------------------------------

def _v4_spelled(network: ipaddress.IPv6Network) -> ipaddress.IPv4Network | None:
    """The IPv4 network an IPv6 network spells through an embedding; every IPv4 address when it holds
    an embedding whole; None when it has nothing to do with IPv4."""
    for embedding in _V4_EMBEDDINGS:
        if network.subnet_of(embedding):
            offset = int(network.network_address) - int(embedding.network_address)
            return ipaddress.IPv4Network((offset, network.prefixlen - 96))
        if embedding.subnet_of(network):
            return _EVERY_V4
    return None


def _merged(networks: Iterable[str]) -> tuple[list[ipaddress.IPv4Network], list[ipaddress.IPv6Network]]:
    """The allowlist's IPv4 networks (with those spelled in IPv6) and its other IPv6 networks, each
    merged where they touch."""
    v4: list[ipaddress.IPv4Network] = []
    v6: list[ipaddress.IPv6Network] = []
    for entry in networks:
        network = ipaddress.ip_network(entry, strict=False)
        if network.version == 4:
            v4.append(network)
            continue
        spelled = _v4_spelled(network)
        if spelled is not None:
            v4.append(spelled)
        if spelled is None or spelled == _EVERY_V4:
            v6.append(network)
    return list(ipaddress.collapse_addresses(v4)), list(ipaddress.collapse_addresses(v6))


def every_address(networks: Iterable[str]) -> list[str]:
    """Which whole address spaces the allowlist covers, in any spelling: ``"IPv4"``, ``"IPv6"``, both or none."""
    v4, v6 = _merged(networks)
    return [name for name, merged, every in (("IPv4", v4, _EVERY_V4), ("IPv6", v6, _EVERY_V6)) if every in merged]


def wider_networks(policy: ApiClientPolicy, networks: Iterable[str]) -> list[str]:
    """The allowlist's (merged) networks wider than the policy allows."""
    v4, v6 = _merged(networks)
    return ([str(n) for n in v4 if n.prefixlen < policy.max_prefix_v4]
            + [str(n) for n in v6 if n.prefixlen < policy.max_prefix_v6])


def _covered(network: str, held: Iterable[str]) -> bool:
    """Whether ``network`` lies inside the networks the client already holds (after merging them)."""
    wanted = ipaddress.ip_network(network, strict=False)
    v4, v6 = _merged(held)
    return any(wanted.version == have.version and wanted.subnet_of(have) for have in (*v4, *v6))


def beyond(policy: ApiClientPolicy, *, allowlist: list[str], scopes: Iterable[str], expires_on: dt.date,
           today: dt.date, held: dict[str, Any] | None = None,
           scope_labels: dict[str, tuple[str, str]] | None = None) -> list[dict[str, str]]:
    """Why these settings need the operator's approval (problems, one per reason); empty: they do not.

    ``held``: for an edit, what the client has now (``allowlist``, ``scopes``, ``expires_on``): a wide
    network, a scope or an expiry it already holds was approved before and is not asked again."""
    reasons = []
    held_allowlist = held["allowlist"] if held else []
    wide = [n for n in wider_networks(policy, allowlist) if not (held and _covered(n, held_allowlist))]
    if wide:
        limits = f"/{policy.max_prefix_v4} (IPv4), /{policy.max_prefix_v6} (IPv6)"
        reasons.append(problem("allowlist", f"Networks wider than the policy allows ({limits}): {', '.join(wide)}.",
                               f"運営者の方針（IPv4 は /{policy.max_prefix_v4}、IPv6 は /{policy.max_prefix_v6} まで）"
                               f"より広いネットワークです: {', '.join(wide)}"))
    needing = sorted(set(scopes) & set(policy.approval_scopes.split()) - set(held["scopes"] if held else ()))
    if needing:
        named = [(scope_labels or {}).get(scope, (scope, scope))[0] for scope in needing]
        reasons.append(problem("scopes", f"Scopes that need the operator's approval: {', '.join(needing)}.",
                               f"運営者の承認が必要なスコープです: {'、'.join(named)}"))
    latest = today + dt.timedelta(days=policy.max_expiry_days)
    if expires_on > latest and not (held and expires_on <= held["expires_on"]):
        reasons.append(problem("expires_on", f"The expiry is later than the policy's limit ({latest.isoformat()}, "
                                             f"{policy.max_expiry_days} days from today).",
                               f"有効期限が運営者の方針の上限（本日から {policy.max_expiry_days} 日、"
                               f"{latest.isoformat()}）より後です。"))
    return reasons
