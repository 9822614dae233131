"""/api/v1/me and /api/v1/tenants/{code}/users: delegated user management through Keycloak."""

from __future__ import annotations

from flask import current_app, jsonify
from pydantic import BaseModel, ConfigDict, Field, StringConstraints
from typing import Annotated, Literal

from admin.api import API_PREFIX, BEARER, PROBLEM_RESPONSES, tag
from admin.auth import current_actor
from admin.edge import StrictAPIBlueprint
from admin.extensions import db
from admin.identity import identity_directory
from tenancy.identity import operations as identity
from core.validation import NOT_BLANK, SINGLE_LINE, AccountHolderCode, StatedInSchema
from tenancy.identity.keycloak import ACCOUNT_EMAIL_PATTERN
from tenancy.registry.schemas import Email

bp = StrictAPIBlueprint("api_users", __name__, url_prefix=API_PREFIX, abp_tags=tag("users", "利用者 / users"),
                        abp_security=BEARER, abp_responses=PROBLEM_RESPONSES)

# every role a person may hold (core.authz.PEOPLE_ROLES); who may grant which is core.authz.check_grantable
Role = Literal["platform-operator", "municipal-admin", "municipal-staff", "finance-officer", "auditor",
               "org-admin", "data-provider", "data-user", "secretariat", "platform-vendor"]
Username = Annotated[str, StringConstraints(strip_whitespace=True, min_length=3, max_length=64, pattern=r"^[A-Za-z0-9._@-]+$")]
# a person's name is one line (tenancy/identity/operations.invitation_problems refuses tab, line breaks and format
# characters in it): stated, so that a client (and the contract test) knows it
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100), NOT_BLANK, SINGLE_LINE]


class TenantPath(BaseModel):
    code: AccountHolderCode


class UserPath(BaseModel):
    code: AccountHolderCode
    user_id: Annotated[str, StringConstraints(pattern=r"^[0-9a-fA-F-]{36}$")] = Field(description="Keycloak user id")


class InviteBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    username: Username
    email: Annotated[Email, StatedInSchema(pattern=ACCOUNT_EMAIL_PATTERN)] = Field(
        description="The account's e-mail address, as Keycloak takes one (ASCII)")
    first_name: Name
    last_name: Name
    roles: list[Role] = Field(min_length=1, max_length=8)
    send_email: bool = False


class RolesBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    roles: list[Role] = Field(max_length=8)


class UserOut(BaseModel):
    id: str
    username: str
    email: str
    first_name: str
    last_name: str
    enabled: bool
    roles: list[str]
    tenants: list[str]


class UserPage(BaseModel):
    items: list[UserOut]
    total: int


class MeOut(BaseModel):
    issuer: str
    subject: str
    name: str
    roles: list[str]
    tenants: list[str]
    permissions: list[str]


def _out(account) -> dict:
    return {"id": account.id, "username": account.username, "email": account.email,
            "first_name": account.first_name, "last_name": account.last_name, "enabled": account.enabled,
            "roles": sorted(account.roles), "tenants": sorted(account.tenant_codes)}


@bp.get("/me", responses={200: MeOut}, summary="Who am I: identity, roles, tenants and permissions")
def get_me():
    return jsonify(identity.me(current_actor()))


@bp.get("/tenants/<code>/users", responses={200: UserPage}, summary="List a tenant's users")
def list_users(path: TenantPath):
    accounts = identity.list_users(db.session, current_actor(), identity_directory(), path.code)
    return jsonify({"items": [_out(a) for a in accounts], "total": len(accounts)})


@bp.post("/tenants/<code>/users", responses={201: UserOut}, summary="Invite a user into a tenant")
def invite_user(path: TenantPath, body: InviteBody):
    invitation = identity.Invitation(body.username, body.email, body.first_name, body.last_name, frozenset(body.roles))
    send = body.send_email and bool(current_app.config.get("RENKEI_SMTP_HOST"))
    account = identity.invite_user(db.session, current_actor(), identity_directory(), path.code, invitation, send_email=send)
    return jsonify(_out(account)), 201


@bp.put("/tenants/<code>/users/<user_id>/roles", responses={200: UserOut}, summary="Set a user's roles")
def change_roles(path: UserPath, body: RolesBody):
    account = identity.change_roles(db.session, current_actor(), identity_directory(), path.code, path.user_id,
                                    frozenset(body.roles))
    return jsonify(_out(account))


@bp.post("/tenants/<code>/users/<user_id>/disable", responses={200: UserOut}, summary="Disable a user")
def disable_user(path: UserPath):
    return jsonify(_out(identity.set_user_enabled(db.session, current_actor(), identity_directory(), path.code, path.user_id, False)))


@bp.post("/tenants/<code>/users/<user_id>/enable", responses={200: UserOut}, summary="Enable a user")
def enable_user(path: UserPath):
    return jsonify(_out(identity.set_user_enabled(db.session, current_actor(), identity_directory(), path.code, path.user_id, True)))


@bp.delete("/tenants/<code>/users/<user_id>", responses={204: None}, summary="Remove a user from the tenant")
def remove_user(path: UserPath):
    identity.remove_user(db.session, current_actor(), identity_directory(), path.code, path.user_id)
    return "", 204
