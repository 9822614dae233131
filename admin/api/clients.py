"""/api/v1 API clients of tenants (client credentials with an IP allowlist) and the gateway check."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from flask import current_app, jsonify
from pydantic import BaseModel, ConfigDict, Field

from admin.api import API_PREFIX, BEARER, PROBLEM_RESPONSES, tag
from admin.api.decisions import answer, decision_headers, quota_cache
from admin.auth import client_states, current_actor, token_validator
from admin.edge import StrictAPIBlueprint
from admin.extensions import db
from admin.identity import identity_directory
from core.validation import ID_RANGE, AccountHolderCode, StatedInSchema
from tenancy.identity import api_clients, client_access, client_policy
from tenancy.identity.allowlist import ALLOWLIST_ENTRY_SCHEMA
from tenancy.identity.models import ApiClientRequest, RequestStatus

bp = StrictAPIBlueprint("api_clients", __name__, url_prefix=API_PREFIX,
                        abp_tags=tag("api-clients", "API クライアント・ゲートウェイ判定 / API clients and the gateway check"),
                        abp_security=BEARER, abp_responses=PROBLEM_RESPONSES)

Scope = Literal["broker.read", "broker.write", "catalog.read", "catalog.write", "consent:write", "residents:broker"]
assert set(Scope.__args__) == set(api_clients.SCOPES)  # type: ignore[attr-defined]


class TenantPath(BaseModel):
    code: AccountHolderCode  # a tenant's code, or a member organisation's corporate number


class ClientPath(BaseModel):
    client_id: int = Field(**ID_RANGE)


AllowlistEntry = Annotated[str, StatedInSchema(**ALLOWLIST_ENTRY_SCHEMA)]


class CreateBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=100)
    purpose: str = Field(min_length=1, max_length=api_clients.PURPOSE_MAX)
    scopes: list[Scope] = Field(default_factory=list, max_length=len(api_clients.SCOPES))
    expires_on: dt.date = Field(description="Last day of use (Japan time); after today")
    allowlist: list[AllowlistEntry] = Field(default_factory=list, max_length=100,
                                 description="IPv4/IPv6 CIDRs, e.g. 192.0.2.0/24; empty: no address allowed")
    allow_any: bool = Field(default=False, description="Allow every source address (operator only)")


class EditBody(BaseModel):
    """The fields to change (at least one); those left out stay as they are."""
    model_config = ConfigDict(extra="forbid")
    name: str = Field(default=None, min_length=1, max_length=100)  # type: ignore[assignment]
    purpose: str = Field(default=None, min_length=1, max_length=api_clients.PURPOSE_MAX)  # type: ignore[assignment]
    scopes: list[Scope] = Field(default=None, max_length=len(api_clients.SCOPES))  # type: ignore[assignment]
    expires_on: dt.date = Field(default=None, description="Last day of use (Japan time); after today")  # type: ignore[assignment]
    allowlist: list[AllowlistEntry] = Field(default=None, max_length=100,  # type: ignore[assignment]
                                 description="IPv4/IPv6 CIDRs, e.g. 192.0.2.0/24; empty: no address allowed")
    allow_any: bool = Field(default=None, description="Allow every source address (operator only)")  # type: ignore[assignment]


class RotateBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    overlap_seconds: int | None = Field(default=None, ge=0, le=api_clients.MAX_OVERLAP_SECONDS,
                                        description="How long the previous secret keeps working (default: setting)")


class CredentialOut(BaseModel):
    client_id: str
    generation: int
    created_at: str
    valid_until: str | None
    retired: bool
    missing_in_keycloak: bool = Field(description="Keycloak no longer has this client (deleted there): refused")


class ClientOut(BaseModel):
    id: int
    tenant: str
    name: str
    purpose: str
    scopes: list[str]
    allowlist: list[str]
    allow_any: bool
    expires_on: str
    status: Literal["pending", "active", "disabled", "revoked", "rejected"]
    created_at: str
    created_by: str
    revoked_at: str | None
    credentials: list[CredentialOut]


class ClientList(BaseModel):
    items: list[ClientOut]
    total: int


class SecretOut(BaseModel):
    client: ClientOut
    client_id: str = Field(description="The OAuth client_id to use")
    client_secret: str = Field(description="Shown this once; renkei does not keep it")
    previous_valid_until: str | None = Field(description="After a rotation: until when the previous secret works")


class GatewayBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    token: str = Field(min_length=1, max_length=16384, description="The caller's access token (without 'Bearer')")
    address: str = Field(min_length=1, max_length=64, description="The caller's source IP address")
    quantity: int = Field(default=1, ge=1, le=1_000_000, description="API calls this request counts for")


class QuotaOut(BaseModel):
    tenant: str
    metric: str
    period: str
    allowed: bool
    reason: str
    used: int
    limit: int | None
    remaining: int | None
    enforcement: Literal["soft", "hard"] | None
    as_of: str
    max_staleness_seconds: float


class GatewayOut(BaseModel):
    allowed: bool
    reason: Literal["allowed", "token_invalid", "not_an_api_client", "client_revoked", "client_disabled",
                    "client_pending", "client_missing",
                    "client_expired", "secret_rotated", "address_not_allowed", "tenant_not_active",
                    "hard_limit_reached", "scope_missing", "route_not_known"]
    message_en: str
    message_ja: str
    client: int | None
    tenant: str | None
    quota: QuotaOut | None


class ClientRequestReason(BaseModel):
    field: str | None = None
    message_en: str
    message_ja: str


class ClientRequestChanges(BaseModel):
    name: str | None = None
    purpose: str | None = None
    scopes: list[str] | None = None
    expires_on: str | None = None
    allowlist: list[str] | None = None
    allow_any: bool | None = None


class ClientRequestOut(BaseModel):
    id: int
    client: int
    tenant: str
    client_name: str
    kind: Literal["create", "change"]
    status: Literal["pending", "approved", "rejected", "superseded"]
    changes: ClientRequestChanges = Field(description="The settings asked for (a registration: all; a change: the changed ones)")
    reasons: list[ClientRequestReason] = Field(description="Why it needs the operator's approval")
    requested_at: str
    requested_by: str
    decided_at: str | None
    decided_by: str | None
    decision_note: str | None


class ClientRequestList(BaseModel):
    items: list[ClientRequestOut]
    total: int


class ClientRequestQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    status: Literal["pending", "approved", "rejected", "superseded", "all"] = "pending"


class ClientRequestPath(BaseModel):
    request_id: int = Field(**ID_RANGE)


class ClientDecisionBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    note: str | None = Field(default=None, max_length=2000, description="Why")


class ClientRejectBody(BaseModel):
    """A rejection's note is required: stated here, refused (and its refusal recorded) by the operation."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"required": ["note"]})
    note: str = Field(default="", max_length=2000, json_schema_extra={"minLength": 1, "pattern": r"\S"},
                      description="Why it is rejected (not blank)")


class ClientPolicyBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    max_prefix_v4: int = Field(ge=1, le=32, description="The widest IPv4 network a holder's admin may allow (prefix)")
    max_prefix_v6: int = Field(ge=1, le=128, description="The widest IPv6 network a holder's admin may allow (prefix)")
    approval_scopes: list[Scope] = Field(default_factory=list, max_length=len(api_clients.SCOPES),
                                         description="Scopes that need the operator's approval")
    max_expiry_days: int = Field(ge=1, le=client_policy.MAX_EXPIRY_DAYS_BOUND, description="The longest expiry in days")


class ClientPolicyOut(BaseModel):
    max_prefix_v4: int
    max_prefix_v6: int
    approval_scopes: list[str]
    max_expiry_days: int
    updated_at: str | None
    updated_by: str | None


def _out(client) -> dict:
    return api_clients.summary(client, api_clients.credentials_of(db.session, client))


def _secret_out(issued: api_clients.IssuedSecret) -> dict:
    return {"client": _out(issued.client), "client_id": issued.keycloak_client_id, "client_secret": issued.secret,
            "previous_valid_until": issued.previous_valid_until.isoformat() if issued.previous_valid_until else None}


def overlap_seconds() -> int:
    return int(current_app.config.get("RENKEI_API_CLIENT_OVERLAP_SECONDS") or api_clients.DEFAULT_OVERLAP_SECONDS)


@bp.get("/api-clients", responses={200: ClientList}, summary="API clients the caller may see")
def list_clients():
    items = [_out(c) for c in api_clients.list_api_clients(db.session, current_actor())]
    return jsonify({"items": items, "total": len(items)})


@bp.get("/tenants/<code>/api-clients", responses={200: ClientList}, summary="A tenant's API clients")
def list_tenant_clients(path: TenantPath):
    items = [_out(c) for c in api_clients.list_api_clients(db.session, current_actor(), path.code)]
    return jsonify({"items": items, "total": len(items)})


@bp.post("/tenants/<code>/api-clients", responses={201: SecretOut},
         summary="Create an API client (client credentials); the secret is in this answer only")
def create_client(path: TenantPath, body: CreateBody):
    issued = api_clients.create_api_client(db.session, current_actor(), identity_directory(), path.code,
                                           body.model_dump())
    return jsonify(_secret_out(issued)), 201


@bp.get("/api-clients/<int:client_id>", responses={200: ClientOut}, summary="One API client")
def get_client(path: ClientPath):
    return jsonify(_out(api_clients.get_api_client(db.session, current_actor(), path.client_id)))


@bp.patch("/api-clients/<int:client_id>", responses={200: ClientOut, 202: ClientRequestOut},
          summary="Change an API client's name, purpose, scopes, expiry date or IP allowlist",
          description=("Fields left out stay as they are; the same rules as at creation. Keycloak follows at once: a "
                       "token issued after the change carries the new allowlist and may ask only for the new scopes. "
                       "The gateway check compares the stored allowlist, so it applies to tokens issued before the "
                       "change too; renkei's own API reads the allowlist in the token (see docs/api-clients.md). "
                       "A revoked client cannot be changed (409). A change by the holder's admin beyond the "
                       "operator's policy (a wider network, a scope that needs approval, a later expiry) is not made "
                       "yet: the answer is 202 with the request waiting for the operator, and the client keeps its "
                       "settings until the operator approves."))
def edit_client(path: ClientPath, body: EditBody):
    outcome = api_clients.edit_api_client(db.session, current_actor(), identity_directory(), path.client_id,
                                          body.model_dump(exclude_unset=True))
    if isinstance(outcome, ApiClientRequest):
        client = api_clients.get_api_client(db.session, current_actor(), outcome.api_client_id)
        return jsonify(api_clients.request_summary(outcome, client)), 202
    return jsonify(_out(outcome))


@bp.get("/api-client-requests", responses={200: ClientRequestList},
        summary="Registrations and changes of API clients waiting for (or decided by) the operator")
def list_requests(query: ClientRequestQuery):
    status = None if query.status == "all" else RequestStatus(query.status)
    items = [api_clients.request_summary(r, c) for r, c in api_clients.list_requests(db.session, current_actor(), status)]
    return jsonify({"items": items, "total": len(items)})


@bp.post("/api-client-requests/<int:request_id>/approve", responses={200: ClientOut},
         summary="The operator approves a registration (the client becomes active) or a change (applied)")
def approve_request(path: ClientRequestPath, body: ClientDecisionBody):
    client = api_clients.approve_request(db.session, current_actor(), identity_directory(), path.request_id, body.note)
    return jsonify(_out(client))


@bp.post("/api-client-requests/<int:request_id>/reject", responses={200: ClientOut},
         summary="The operator rejects a registration (the client ends 'rejected') or a change (dropped); note required")
def reject_request(path: ClientRequestPath, body: ClientRejectBody):
    client = api_clients.reject_request(db.session, current_actor(), identity_directory(), path.request_id, body.note)
    return jsonify(_out(client))


@bp.get("/api-client-policy", responses={200: ClientPolicyOut},
        summary="The operator's limits on what a holder's admin may give a client without approval")
def get_policy():
    return jsonify(client_policy.summary(client_policy.read_policy(db.session, current_actor())))


@bp.put("/api-client-policy", responses={200: ClientPolicyOut}, summary="Set the policy (operator)")
def put_policy(body: ClientPolicyBody):
    row = client_policy.update_policy(db.session, current_actor(), body.model_dump(), api_clients.SCOPES)
    return jsonify(client_policy.summary(row))


@bp.post("/api-clients/<int:client_id>/rotate", responses={200: SecretOut},
         summary="New secret; the previous one keeps working for the overlap")
def rotate_client(path: ClientPath, body: RotateBody):
    overlap = body.overlap_seconds if body.overlap_seconds is not None else overlap_seconds()
    issued = api_clients.rotate_secret(db.session, current_actor(), identity_directory(), path.client_id, overlap)
    return jsonify(_secret_out(issued))


@bp.post("/api-clients/<int:client_id>/revoke", responses={200: ClientOut}, summary="Revoke at once (irreversible)")
def revoke_client(path: ClientPath):
    return jsonify(_out(api_clients.revoke_api_client(db.session, current_actor(), identity_directory(), path.client_id)))


@bp.post("/api-clients/<int:client_id>/disable", responses={200: ClientOut}, summary="Disable at once")
def disable_client(path: ClientPath):
    return jsonify(_out(api_clients.disable_api_client(db.session, current_actor(), identity_directory(), path.client_id)))


@bp.post("/api-clients/<int:client_id>/enable", responses={200: ClientOut}, summary="Enable again")
def enable_client(path: ClientPath):
    return jsonify(_out(api_clients.enable_api_client(db.session, current_actor(), identity_directory(), path.client_id)))


@bp.post("/gateway/check", responses={200: GatewayOut},
         summary="For the API gateway: may this token call from this address now? (one round trip)",
         description=(
             "Checks, in this order: the token (signature, issuer, audience, expiry), that it belongs to a registered "
             "API client, that the client is active (not revoked or disabled) and not past its expiry date, that the "
             "credential is not a rotated one past its overlap, that the address is in the client's allowlist, and the "
             "tenant's api_calls quota (as /tenants/{code}/quota-check). A client's state is read at most once a second per "
             "server process (RENKEI_GATEWAY_CACHE_SECONDS); a revocation made elsewhere applies within that. The status is "
             "the decision, as GET /gateway/auth's (200 allowed; 401, 403, 429 with Retry-After refused), and the body "
             "says the same in `allowed` and `reason` (a refusal's body is problem+json with those fields too). It neither checks a scope nor "
             "counts the call: a gateway in front of the platform's APIs uses GET /gateway/auth (docs/gateway.md). "
             "Callers: metering-client or platform-operator."))
def gateway_check(body: GatewayBody):
    decision = client_access.gateway_check(db.session, current_actor(), token_validator().claims, body.token,
                                         body.address, quota_cache(), quantity=body.quantity, states=client_states())
    return answer(decision.summary(), decision.reason, decision_headers(decision))
