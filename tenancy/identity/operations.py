"""Identity use cases: a tenant's user accounts, managed through Keycloak on the actor's behalf.

Keycloak is the source of truth for accounts; renkei enforces the tenant scope (a municipal
admin manages their own tenant's users and grants only municipal roles) and audits every act.

Multi-step operations (create the account, put it in the tenant's group, grant roles) undo what
they did when a later step fails. If even the undo fails (Keycloak went away in between), an
:class:`IdentityIncident` is written in its own transaction, so the half-done state is on
record for the operator and survives the request's rollback.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from core import audit
from core import authz
from core.actor import Actor
from core.errors import Conflict, DomainError, NotFound
from tenancy.identity.models import IdentityIncident
from tenancy.identity.keycloak import Account, IdentityDirectory
from tenancy.registry.models import Tenant, TenantStatus
from tenancy.registry.operations import get_tenant, list_tenants

class SeatLimitReached(Conflict):
    def __init__(self, code: str, limit: int) -> None:
        super().__init__(
            f"Tenant {code} already has {limit} user(s), its user-seat limit; disable or remove a user, or ask the operator to raise the limit.",
            f"団体コード {code} の利用者数が上限（{limit} 人）に達しています。不要な利用者を削除するか、運営者に上限の変更を依頼してください。",
            code=code, limit=limit,
        )

class TenantClosed(Conflict):
    def __init__(self, code: str, status: str) -> None:
        super().__init__(
            f"Tenant {code} is {status}; its users cannot be changed.",
            f"団体コード {code} は現在「{status}」のため、利用者を変更できません。",
        )

@dataclasses.dataclass(frozen=True)
class Invitation:
    username: str
    email: str
    first_name: str
    last_name: str
    roles: frozenset[str]

def _manageable_roles(actor: Actor) -> frozenset[str]:
    return frozenset(authz.PEOPLE_ROLES) if authz.OPERATOR in actor.roles else authz.TENANT_ROLES

def _member(directory: IdentityDirectory, code: str, user_id: str) -> Account:
    try:
        account = directory.account(user_id)
    except NotFound:
        account = None
    if account is None or code not in account.tenant_codes:
        raise NotFound(f"No user {user_id} in tenant {code}.", f"団体コード {code} にこの利用者はいません。")
    return account

def _check_can_manage(actor: Actor, account: Account) -> None:
    """A municipal admin may not touch accounts that hold roles beyond the municipal ones."""
    beyond = set(account.roles) - _manageable_roles(actor)
    if beyond:
        authz.check_grantable(actor, beyond)

def _open_tenant(session: Session, code: str):
    tenant = get_tenant(session, code)
    if tenant.status in (TenantStatus.withdrawn, TenantStatus.suspended):
        raise TenantClosed(code, tenant.status.value)
    return tenant

def record_incident(session: Session, operation: str, tenant_code: str, username: str, user_id: str | None,
                    step: str, error: BaseException) -> None:
    """Write an incident in a transaction of its own: it must outlive the request's rollback."""
    with Session(bind=session.get_bind()) as own:
        own.add(IdentityIncident(operation=operation, tenant_code=tenant_code, username=username,
                                 keycloak_user_id=user_id, step=step, error=f"{type(error).__name__}: {error}"))
        own.commit()

def list_users(session: Session, actor: Actor, directory: IdentityDirectory, code: str) -> list[Account]:
    authz.authorize(actor, "user.read", code)
    get_tenant(session, code)
    return sorted(directory.tenant_members(code), key=lambda a: a.username)

def tenants_with_readable_users(session: Session, actor: Actor) -> list[Tenant]:
    """The tenants whose accounts the actor may list (``user.read``): every tenant, or only their own."""
    grant = authz.authorize(actor, "user.read")
    tenants, _ = list_tenants(session, actor, codes=None if grant.all_tenants else sorted(grant.tenant_codes),
                              per_page=10000)
    return tenants

def invite_user(session: Session, actor: Actor, directory: IdentityDirectory, code: str,
                invitation: Invitation, send_email: bool = False) -> Account:
    authz.authorize(actor, "user.manage", code)
    authz.check_grantable(actor, invitation.roles)
    tenant = _open_tenant(session, code)
    group_id = directory.ensure_tenant_group(code, tenant.name_ja)
    if tenant.user_seat_limit is not None and directory.count_members(code) >= tenant.user_seat_limit:
        raise SeatLimitReached(code, tenant.user_seat_limit)
    user_id = directory.create_user(invitation.username, invitation.email, invitation.first_name, invitation.last_name)
    step = "add to tenant group"
    try:
        directory.add_to_tenant(user_id, code, group_id)
        step = "grant roles"
        directory.grant_roles(user_id, invitation.roles)
        if send_email:
            step = "send set-up e-mail"
            directory.send_setup_email(user_id)
    except DomainError as error:
        try:
            directory.delete_user(user_id)
        except DomainError as undo_error:
            record_incident(session, "user.invite", code, invitation.username, user_id, step, undo_error)
        raise error from None
    account = Account(id=user_id, username=invitation.username.lower(), email=invitation.email.lower(),
                      first_name=invitation.first_name, last_name=invitation.last_name, enabled=True,
                      roles=frozenset(invitation.roles), tenant_codes=frozenset({code}))
    audit.record(session, actor, "user.invite", "user", account.id, tenant_code=code, after=account.summary())
    return account

def change_roles(session: Session, actor: Actor, directory: IdentityDirectory, code: str, user_id: str,
                 roles: frozenset[str]) -> Account:
    authz.authorize(actor, "user.manage", code)
    authz.check_grantable(actor, roles)
    _open_tenant(session, code)
    before = _member(directory, code, user_id)
    _check_can_manage(actor, before)
    directory.set_roles(user_id, roles, _manageable_roles(actor))
    after = directory.account(user_id)
    if after.roles != before.roles:
        audit.record(session, actor, "user.roles", "user", user_id, tenant_code=code,
                     before={"roles": sorted(before.roles)}, after={"roles": sorted(after.roles)})
    return after

def set_user_enabled(session: Session, actor: Actor, directory: IdentityDirectory, code: str, user_id: str,
                     enabled: bool) -> Account:
    authz.authorize(actor, "user.manage", code)
    before = _member(directory, code, user_id)
    _check_can_manage(actor, before)
    if enabled:
        tenant = _open_tenant(session, code)
        if tenant.status == TenantStatus.suspended:
            raise TenantClosed(code, tenant.status.value)
    if before.enabled == enabled:
        return before
    directory.set_enabled(user_id, enabled)
    audit.record(session, actor, "user.enable" if enabled else "user.disable", "user", user_id, tenant_code=code,
                 before={"enabled": before.enabled}, after={"enabled": enabled})
    return dataclasses.replace(before, enabled=enabled)

def remove_user(session: Session, actor: Actor, directory: IdentityDirectory, code: str, user_id: str) -> None:
    """Take the account out of the tenant and drop its municipal roles (the account itself stays in Keycloak)."""
    authz.authorize(actor, "user.manage", code)
    before = _member(directory, code, user_id)
    _check_can_manage(actor, before)
    directory.remove_from_tenant(user_id, code)
    remaining = directory.account(user_id)
    if not remaining.tenant_codes:
        directory.set_roles(user_id, set(), authz.TENANT_ROLES)
    audit.record(session, actor, "user.remove", "user", user_id, tenant_code=code, before=before.summary(), after=None)

def open_incidents(session: Session) -> list[IdentityIncident]:
    return list(session.scalars(sa.select(IdentityIncident).where(IdentityIncident.resolved_at.is_(None))
                                .order_by(IdentityIncident.id)))

def me(actor: Actor) -> dict[str, Any]:
    return {"issuer": actor.issuer, "subject": actor.subject, "name": actor.name, "roles": sorted(actor.roles),
            "tenants": sorted(actor.tenant_codes),
            "permissions": sorted(a for a in authz.POLICY if authz.grant_for(actor, a) is not None)}

