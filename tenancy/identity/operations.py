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
import re
import secrets
import uuid
from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from core import audit
from core import authz, search
from core.actor import CLI_ISSUER, Actor
from core.errors import Conflict, DomainError, Invalid, NotFound, problem
from tenancy.identity import denylist, people_index
from tenancy.identity.models import IdentityIncident, InvitationDecoy
from tenancy.identity.keycloak import (CONFIGURE_TOTP, TOTP_ROLES, UPDATE_PASSWORD, VERIFY_EMAIL, Account,
                                      IdentityDirectory)
from tenancy.registry.models import Tenant, TenantStatus
from tenancy.registry.operations import get_tenant, list_tenants
from core.codes import is_corporate_number
from core.validation import email_problem, text_field_problem
from tenancy.members.models import (MemberStatus, Organisation, get_organisation_account, open_organisation,
                                    organisations_with_accounts)

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
            f"団体コード {code} は現在「{TenantStatus(status).ja}」のため、利用者を変更できません。",
        )

@dataclasses.dataclass(frozen=True)
class Invitation:
    username: str
    email: str
    first_name: str
    last_name: str
    roles: frozenset[str]


class InvitationInvalid(Invalid):
    def __init__(self, problems: list[dict[str, str]]) -> None:
        super().__init__("The invitation has errors; nobody was invited.",
                         "招待の内容に誤りがあります。誰も招待していません。", problems=problems)


class AccountTaken(Conflict):
    """The username or e-mail address already belongs to an account (field problems say which)."""

    def __init__(self, problems: list[dict[str, str]]) -> None:
        super().__init__("An account with this username or e-mail address already exists; nobody was invited.",
                         "同じユーザー名またはメールアドレスのアカウントがすでにあります。誰も招待していません。",
                         problems=problems)


# How a person gets in for the first time (or again, after a reset).
SETUP_EMAIL = "email"                    # Keycloak's execute-actions e-mail with a link
SETUP_TEMPORARY_PASSWORD = "temporary_password"  # shown once to the inviting admin, to pass on


@dataclasses.dataclass(frozen=True)
class SetUp:
    """What was done so that the person can sign in.

    ``temporary_password`` is set only for :data:`SETUP_TEMPORARY_PASSWORD`: it is shown once to the
    admin who acted and is never stored by renkei nor written to the audit log (Keycloak keeps
    only its hash, and asks for a new password at the first sign-in).
    """

    method: str
    username: str
    email: str
    temporary_password: str | None = dataclasses.field(default=None, repr=False)


@dataclasses.dataclass(frozen=True)
class Invited:
    account: Account
    setup: SetUp | None  # None: no set-up was started (the API's invitation without e-mail)


USERNAME_PATTERN = re.compile(r"^[A-Za-z0-9._@-]{3,64}$")
_PASSWORD_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789"  # no 0/O, 1/l/I


def temporary_password() -> str:
    """A random one-time password easy to read out: four groups of four, with upper, lower and digits."""
    while True:
        chars = "".join(secrets.choice(_PASSWORD_ALPHABET) for _ in range(16))
        if any(c.isupper() for c in chars) and any(c.islower() for c in chars) and any(c.isdigit() for c in chars):
            return "-".join(chars[i:i + 4] for i in range(0, 16, 4))


def setup_method(directory: IdentityDirectory) -> str:
    """By configuration: Keycloak's e-mail when the realm has a mail server, else a temporary password."""
    return SETUP_EMAIL if directory.sends_mail else SETUP_TEMPORARY_PASSWORD


def invitation_problems(invitation: Invitation) -> list[dict[str, str]]:
    """What is wrong with an invitation's fields (field names as in :class:`Invitation`)."""
    found = []
    if not invitation.username:
        found.append(problem("username", "Enter a username.", "ユーザー名を入力してください。"))
    elif not USERNAME_PATTERN.match(invitation.username):
        found.append(problem("username", "Use 3 to 64 letters, digits or . _ @ - in a username.",
                             "ユーザー名は半角英数字と . _ @ - で 3〜64 文字にしてください。"))
    if (wrong := email_problem("email", invitation.email)) is not None:
        found.append(wrong)
    for name, en, ja in (("last_name", "family name", "姓"), ("first_name", "given name", "名")):
        if (wrong := text_field_problem(name, getattr(invitation, name), en, ja, 100, required=True)) is not None:
            found.append(wrong)
    if not invitation.roles:
        found.append(problem("roles", "Choose at least one role.", "役割を一つ以上選んでください。"))
    elif not invitation.roles <= set(authz.PEOPLE_ROLES):
        found.append(problem("roles", "Choose roles from the list.", "役割は一覧から選んでください。"))
    return found


def taken_problems(directory: IdentityDirectory, invitation: Invitation) -> list[dict[str, str]]:
    """Whether the username or e-mail address already belongs to an account (read only)."""
    found = []
    if directory.find_user(invitation.username.lower()) is not None:
        found.append(problem("username", f"The username {invitation.username} is already in use; choose another.",
                             f"ユーザー名 {invitation.username} はすでに使われています。別のユーザー名にしてください。"))
    if directory.find_user_by_email(invitation.email.lower()) is not None:
        found.append(problem("email", f"An account with {invitation.email} already exists.",
                             f"メールアドレス {invitation.email} のアカウントがすでにあります。"))
    return found

def _manageable_roles(actor: Actor) -> frozenset[str]:
    return authz.grantable_roles(actor)

def _member(directory: IdentityDirectory, code: str, user_id: str, session: Session | None = None) -> Account:
    """A member of ``code`` (with ``session``: a decoy of the tenant too), else 404."""
    if session is not None and (decoy := _decoy(session, code, user_id)) is not None:
        return _decoy_account(decoy)
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


@dataclasses.dataclass(frozen=True)
class OpenTenant:
    """What a change of a tenant's users needs to know of the tenant (read by :func:`open_tenant`)."""
    code: str
    name_ja: str
    status: TenantStatus
    user_seat_limit: int | None


# Built once: three columns of the table, no entity loaded (an invitation's seat check runs it on
# every invitation). Run through the session, which flushes first: a tenant changed earlier in the
# same transaction is seen as it now is.
_TENANT_COLUMNS = Tenant.__table__.c
_OPEN_TENANT = sa.select(_TENANT_COLUMNS.name_ja, _TENANT_COLUMNS.status, _TENANT_COLUMNS.user_seat_limit) \
    .where(_TENANT_COLUMNS.code == sa.bindparam("code"))


def open_tenant(session: Session, code: str):
    """The tenant whose users are about to change, as :class:`OpenTenant` (one query of the three
    columns needed here), or a member organisation (tenancy/members); refused when it is closed."""
    if is_corporate_number(code):  # a member organisation's people (tenancy/members)
        return open_organisation(session, code)
    found = session.execute(_OPEN_TENANT, {"code": code}).first()
    if found is None:
        get_tenant(session, code)  # raises the registry's own "not found"
    tenant = OpenTenant(code, found.name_ja, found.status, found.user_seat_limit)
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
    if is_corporate_number(code):
        get_organisation_account(session, code)
    else:
        get_tenant(session, code)
    return sorted([*directory.tenant_members(code), *map(_decoy_account, _decoys(session, code))],
                  key=lambda a: a.username)


def codes_with_readable_users(session: Session, actor: Actor) -> list[str] | None:
    """The places whose accounts the actor may list (``user.read``): None for every one; else the codes of
    their own municipalities the registry holds and their own approved organisations, read in one query
    (the search box asks it on every keystroke). :func:`tenants_with_readable_users` lists these places."""
    grant = authz.authorize(actor, "user.read")
    if grant.all_tenants:
        return None
    codes = sorted(c for c in grant.tenant_codes if not is_corporate_number(c))
    numbers = sorted(c for c in grant.tenant_codes if is_corporate_number(c))
    held = [*([sa.select(Tenant.code.label("code")).where(Tenant.code.in_(codes))] if codes else []),
            *([sa.select(Organisation.corporate_number.label("code")).where(
                Organisation.status == MemberStatus.approved, Organisation.corporate_number.in_(numbers))]
              if numbers else [])]
    if not held:
        return []
    return sorted(session.scalars(held[0] if len(held) == 1 else sa.union_all(*held)))


def tenants_with_readable_users(session: Session, actor: Actor) -> list[Tenant]:
    """The tenants whose accounts the actor may list (``user.read``): every tenant, or only their own
    (:func:`codes_with_readable_users`); then the organisations among them."""
    places = codes_with_readable_users(session, actor)
    codes = None if places is None else [c for c in places if not is_corporate_number(c)]
    tenants, _ = list_tenants(session, actor, codes=codes, per_page=10000) if codes != [] else ([], 0)
    numbers = None if places is None else frozenset(c for c in places if is_corporate_number(c))
    return [*tenants, *organisations_with_accounts(session, numbers)]


def _holds(query: search.Query, account: Account) -> bool:
    folded = query.folded
    return any(folded in text.lower() for text in (account.username, account.email, account.display_name,
                                                   f"{account.last_name}{account.first_name}") if text)


def search_people(session: Session, actor: Actor, directory: IdentityDirectory, query: search.Query,
                  limit: int = search.LIMIT) -> search.Found:
    """The people the actor may list (the users page's scope, ``user.read``, through
    :func:`codes_with_readable_users`) whose username, e-mail or name holds the query's text; by
    username. Read from the people index (:mod:`tenancy.identity.people_index`), the answer marked with
    the time the index last matched Keycloak; while the index was never built, from Keycloak itself (a
    reader of every tenant's people asks its search; a reader of their own tenants' reads those groups).
    Each hit's ``scope`` is the tenant (or organisation) whose users page shows the person; decoys
    count as the people they stand for."""
    grant = authz.authorize(actor, "user.read")
    places = codes_with_readable_users(session, actor)
    indexed = people_index.find(session, query, places, limit)
    if indexed is not None:
        found, total, as_of = indexed.people, indexed.total, indexed.as_of
        total = total + 1 if indexed.capped else total
    else:
        found, total = _people_from_keycloak(directory, query, places, limit)
        as_of = None
    decoys = _decoys_found(session, query, places)
    found = sorted([*found, *decoys], key=lambda account: account.username)[:limit]
    total += len(decoys)
    # a Keycloak group of a municipality the registry does not hold has no users page: shown unscoped there
    # (the places of a reader of their own are those the registry holds: no query for them)
    codes = {c for account in found for c in account.tenant_codes if len(c) == 6 and c.isdigit()}
    if places is not None:
        unknown = codes - set(places)
    else:
        unknown = codes - set(session.scalars(sa.select(Tenant.code).where(Tenant.code.in_(codes)))) if codes else set()
    return search.Found([search.Hit(account.id, account.display_name, account.username,
                                    min((c for c in account.tenant_codes if grant.covers(c) and c not in unknown),
                                        default=""))
                         for account in found], min(total, search.COUNTED), total > search.COUNTED, as_of)


def _people_from_keycloak(directory: IdentityDirectory, query: search.Query, places: list[str] | None,
                          limit: int) -> tuple[list[Account], int]:
    """The people matching ``query`` as Keycloak answers (no index yet): the realm's search for a reader
    of every tenant (``places`` None), else the groups of ``places`` read and picked here."""
    if places is None:
        return directory.find_people(query.text, limit)
    found = []
    for code in places:
        try:
            found += directory.group_people(code)
        except NotFound:  # not provisioned yet: no group, nobody in it
            pass
    found = [account for account in found if _holds(query, account)]
    return found, len(found)


def _decoys_found(session: Session, query: search.Query, places: list[str] | None) -> list[Account]:
    """The invitation decoys (people to the admin who invited them) in ``places`` (None: all) matching ``query``."""
    decoys = sa.select(InvitationDecoy).order_by(InvitationDecoy.username)
    if places is not None:
        if not places:
            return []
        decoys = decoys.where(InvitationDecoy.tenant_code.in_(places))
    return [d for d in map(_decoy_account, session.scalars(decoys)) if _holds(query, d)]


def invite_user(session: Session, actor: Actor, directory: IdentityDirectory, code: str,
                invitation: Invitation, send_email: bool = False) -> Account:
    """Invite without a one-time password: with ``send_email`` Keycloak mails the set-up link."""
    return _invite(session, actor, directory, code, invitation, SETUP_EMAIL if send_email else None).account


def invite_with_setup(session: Session, actor: Actor, directory: IdentityDirectory, code: str,
                      invitation: Invitation) -> Invited:
    """Invite a person so that they can sign in: Keycloak's set-up e-mail when the realm has a mail
    server, otherwise a temporary password returned (once) for the inviting admin to pass on."""
    return _invite(session, actor, directory, code, invitation, setup_method(directory))


def _invite(session: Session, actor: Actor, directory: IdentityDirectory, code: str, invitation: Invitation,
            method: str | None) -> Invited:
    authz.authorize(actor, "user.manage", code)
    invitation = _normalised(invitation)
    problems = invitation_problems(invitation)
    if problems:
        raise InvitationInvalid(problems)
    authz.check_grantable(actor, invitation.roles)
    tenant = open_tenant(session, code)
    group_id = directory.ensure_tenant_group(code, tenant.name_ja)
    if tenant.user_seat_limit is not None and seats_used(session, directory, code) >= tenant.user_seat_limit:
        raise SeatLimitReached(code, tenant.user_seat_limit)
    try:
        return create_member(session, actor, directory, code, group_id, invitation, method)
    except Conflict:
        # Keycloak refuses a taken username or e-mail address (409) before it creates anything;
        # only then is it asked which of the two is taken, so that the message can say so (two
        # look-ups saved on every invitation that succeeds).
        unfinished = _unfinished_invitation(directory, code, invitation)
        if unfinished is not None:  # an earlier attempt's reply was lost: this retry completes it
            return create_member(session, actor, directory, code, group_id, invitation, method, existing=unfinished)
        taken = taken_problems(directory, invitation)
        if taken:
            hidden = _hidden_conflict(session, actor, directory, code, invitation, method, taken)
            if hidden is not None:
                return hidden
            raise AccountTaken(taken) from None
        raise


def seats_used(session: Session, directory: IdentityDirectory, code: str) -> int:
    """The tenant's user seats in use now: the accounts in its Keycloak group (enabled or not; removing
    an account frees its seat) and the invitations that stand for one (decoys, which the admin was told
    are accounts). The one count of the seat limit, of the invitations' check and of the pages that
    show 利用者アカウント数 (never the stored usage figure, which is only as fresh as its last count)."""
    try:
        members = directory.count_members(code)
    except NotFound:  # no group yet (not provisioned): nobody
        members = 0
    return members + len(_decoys(session, code))


def _hidden_conflict(session: Session, actor: Actor, directory: IdentityDirectory, code: str,
                     invitation: Invitation, method: str | None, taken: list[dict[str, str]]) -> Invited | None:
    """No enumeration: an admin of one tenant must not learn that a username or e-mail address
    exists elsewhere in the realm. When a conflicting account is outside ``code`` and the actor
    manages only their own tenants, nobody is invited but the answer looks like an invitation; the
    conflict is written to the audit log, which only the operator and the auditor read.
    ``None``: the actor may be told (an operator, or every conflicting account is in ``code``)."""
    conflicting = concealed_conflicts(session, actor, directory, code, invitation)
    if not conflicting:
        return None
    audit.record(session, actor, "user.invite.conflict", "user", conflicting[0]["id"] if conflicting else "",
                 tenant_code=code, after={"username": invitation.username.lower(), "email": invitation.email.lower(),
                                          "taken": sorted(p["field"] for p in taken), "invited": False})
    password = temporary_password() if method == SETUP_TEMPORARY_PASSWORD else None
    account = Account(id=str(uuid.uuid4()), username=invitation.username.lower(), email=invitation.email.lower(),
                      first_name=invitation.first_name, last_name=invitation.last_name, enabled=True,
                      roles=frozenset(invitation.roles), tenant_codes=frozenset({code}),
                      required_actions=frozenset({UPDATE_PASSWORD} if password else {UPDATE_PASSWORD, VERIFY_EMAIL}))
    session.add(InvitationDecoy(id=account.id, tenant_code=code, username=account.username, email=account.email,
                                first_name=account.first_name, last_name=account.last_name,
                                roles=" ".join(sorted(account.roles)), created_by=actor.recorded_name))
    session.flush()
    return Invited(account, None if method is None else SetUp(method, account.username, account.email, password))


# --- decoys: what an admin was told was invited (no enumeration) ------------------------------------

def _decoys(session: Session, code: str, invitation: Invitation | None = None) -> list[InvitationDecoy]:
    """The tenant's decoys (those of ``invitation``'s username or e-mail address, if given)."""
    query = sa.select(InvitationDecoy).where(InvitationDecoy.tenant_code == code)
    if invitation is not None:
        query = query.where(sa.or_(InvitationDecoy.username == invitation.username.lower(),
                                   InvitationDecoy.email == invitation.email.lower()))
    return list(session.scalars(query))


def _decoy(session: Session, code: str, user_id: str) -> InvitationDecoy | None:
    decoy = session.get(InvitationDecoy, user_id) if len(user_id) <= 64 else None
    return decoy if decoy is not None and decoy.tenant_code == code else None


def _decoy_account(decoy: InvitationDecoy) -> Account:
    """The decoy as the member it stands for: set-up never finished."""
    return Account(id=decoy.id, username=decoy.username, email=decoy.email, first_name=decoy.first_name,
                   last_name=decoy.last_name, enabled=decoy.enabled, roles=frozenset(decoy.roles.split()),
                   tenant_codes=frozenset({decoy.tenant_code}), required_actions=frozenset({UPDATE_PASSWORD, VERIFY_EMAIL}))


def _decoy_act(session: Session, actor: Actor, action: str, decoy: InvitationDecoy, **after: Any) -> None:
    """A decoy's act, in the audit log as the act it looks like, marked so the operator knows it touched nobody."""
    audit.record(session, actor, action, "user", decoy.id, tenant_code=decoy.tenant_code,
                 after={**_who(_decoy_account(decoy)), **after, "decoy": True})


hidden_conflict = _hidden_conflict  # the bulk invitation's way to the same answer


def concealed_conflicts(session: Session, actor: Actor, directory: IdentityDirectory, code: str,
                        invitation: Invitation) -> list[dict[str, Any]]:
    """The accounts taking the invitation's username or e-mail address that the actor must not be
    told about (some outside ``code``, the actor managing only their own tenants, and no decoy of
    the same in ``code`` already: that one is taken as a member's would be); empty: tell."""
    if authz.authorize(actor, "user.manage", code).all_tenants:
        return []
    conflicting = [found for found in (directory.find_user(invitation.username.lower()),
                                       directory.find_user_by_email(invitation.email.lower())) if found]
    if all(code in directory.account(found["id"]).tenant_codes for found in conflicting):
        return []
    if _decoys(session, code, invitation):
        return []
    return conflicting


def _normalised(invitation: Invitation) -> Invitation:
    return dataclasses.replace(invitation, username=invitation.username.strip(), email=invitation.email.strip(),
                               first_name=invitation.first_name.strip(), last_name=invitation.last_name.strip())


def _unfinished_invitation(directory: IdentityDirectory, code: str, invitation: Invitation) -> Account | None:
    """The account an earlier attempt of this same invitation created when its outcome was unknown
    (Keycloak did the work but the answer never came): same username and e-mail address, set-up
    never finished, in no tenant but this one and holding no role beyond the invitation's."""
    found = directory.find_user(invitation.username.lower())
    if found is None or (found.get("email") or "").lower() != invitation.email.lower():
        return None
    account = directory.account(found["id"])
    if not account.setup_pending or not account.tenant_codes <= {code} or not account.roles <= invitation.roles:
        return None
    if code in account.tenant_codes and account.roles == invitation.roles:
        return None  # nothing was left undone: this is a second invitation of the same person (409)
    return account


def create_member(session: Session, actor: Actor, directory: IdentityDirectory, code: str, group_id: str,
                  invitation: Invitation, method: str | None, *, existing: Account | None = None) -> Invited:
    """Create the account in the tenant's group with its roles and start its set-up; the caller has
    authorized and checked the invitation. A failure after the account exists deletes it again.

    ``existing``: the account a lost reply left behind (:func:`_unfinished_invitation`); it is
    completed instead of created (a new temporary password replaces the unknown one)."""
    password = temporary_password() if method == SETUP_TEMPORARY_PASSWORD else None
    settings = getattr(directory, "settings", None)
    totp = (CONFIGURE_TOTP,) if getattr(settings, "require_totp", False) and invitation.roles & TOTP_ROLES else ()
    if existing is None:
        user_id = directory.create_user(invitation.username, invitation.email, invitation.first_name,
                                        invitation.last_name, temporary_password=password,
                                        **({"extra_actions": totp} if totp else {}))
    else:
        user_id = existing.id
        if password is not None:
            directory.set_temporary_password(user_id, password)
    step = "add to tenant group"
    try:
        if existing is None or code not in existing.tenant_codes:
            directory.add_to_tenant(user_id, code, group_id)
        step = "grant roles"
        directory.grant_roles(user_id, invitation.roles - (existing.roles if existing else frozenset()))
        if method == SETUP_EMAIL:
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
                      roles=frozenset(invitation.roles), tenant_codes=frozenset({code}),
                      required_actions=frozenset({UPDATE_PASSWORD} if password else {UPDATE_PASSWORD, VERIFY_EMAIL})
                      | frozenset(totp))
    people_index.record_person(session, account)  # the search finds them at once
    audit.record(session, actor, "user.invite", "user", account.id, tenant_code=code,
                 after={**_who(account), **account.summary(), **_setup_record(method)})
    setup = None if method is None else SetUp(method, account.username, account.email, password)
    return Invited(account, setup)


def resend_setup(session: Session, actor: Actor, directory: IdentityDirectory, code: str, user_id: str) -> SetUp:
    """Start the person's set-up again: the e-mail once more, or a new temporary password (the old one stops working)."""
    account = _manageable_member(session, actor, directory, code, user_id)
    if (decoy := _decoy(session, code, user_id)) is not None:
        return _decoy_setup(session, actor, directory, decoy, "user.setup.resend")
    if not account.setup_pending:
        raise Conflict(f"{account.username} has already finished the set-up; use Reset password instead.",
                       f"{account.username} さんは初回設定を済ませています。パスワードを再設定する場合は「パスワードを再設定」を使ってください。")
    actions = [UPDATE_PASSWORD] + ([] if account.email_verified else [VERIFY_EMAIL])
    setup = _start_setup(directory, account, actions)
    audit.record(session, actor, "user.setup.resend", "user", user_id, tenant_code=code,
                 after={**_who(account), **_setup_record(setup.method)})
    return setup


def reset_password(session: Session, actor: Actor, directory: IdentityDirectory, code: str, user_id: str) -> SetUp:
    """A forgotten password: Keycloak's e-mail to choose a new one, or a temporary password that
    replaces the current one at once (and signs the person out everywhere)."""
    account = _manageable_member(session, actor, directory, code, user_id)
    if (decoy := _decoy(session, code, user_id)) is not None:
        return _decoy_setup(session, actor, directory, decoy, "user.password.reset")
    setup = _start_setup(directory, account, [UPDATE_PASSWORD])
    if setup.method == SETUP_TEMPORARY_PASSWORD:
        directory.end_sessions(user_id)
    audit.record(session, actor, "user.password.reset", "user", user_id, tenant_code=code,
                 after={**_who(account), **_setup_record(setup.method)})
    return setup


def _decoy_setup(session: Session, actor: Actor, directory: IdentityDirectory, decoy: InvitationDecoy,
                 action: str) -> SetUp:
    method = setup_method(directory)
    password = temporary_password() if method == SETUP_TEMPORARY_PASSWORD else None  # works nowhere
    _decoy_act(session, actor, action, decoy, **_setup_record(method))
    return SetUp(method, decoy.username, decoy.email, password)


def _manageable_member(session: Session, actor: Actor, directory: IdentityDirectory, code: str, user_id: str) -> Account:
    authz.authorize(actor, "user.manage", code)
    open_tenant(session, code)
    account = _member(directory, code, user_id, session)
    _check_can_manage(actor, account)
    if not account.enabled:
        raise Conflict(f"The account {account.username} is disabled; enable it first.",
                       f"アカウント {account.username} は無効になっています。先に有効にしてください。")
    return account


def _who(account: Account) -> dict[str, str]:
    """Whom a user act was about, in the audit log as the person was named then (their name may change
    or the account go): 「利用者 田中 太郎（tanaka）」 on the log's page and in its CSV."""
    return {"full_name": account.display_name, "username": account.username}


def _setup_record(method: str | None) -> dict[str, bool]:
    """How the set-up went, for the audit log: never the password itself."""
    return {"setup_email": method == SETUP_EMAIL, "one_time_password": method == SETUP_TEMPORARY_PASSWORD}


def _start_setup(directory: IdentityDirectory, account: Account, actions: list[str]) -> SetUp:
    if setup_method(directory) == SETUP_EMAIL:
        directory.send_setup_email(account.id, actions)
        return SetUp(SETUP_EMAIL, account.username, account.email)
    password = temporary_password()
    directory.set_temporary_password(account.id, password)
    return SetUp(SETUP_TEMPORARY_PASSWORD, account.username, account.email, password)


def change_roles(session: Session, actor: Actor, directory: IdentityDirectory, code: str, user_id: str,
                 roles: frozenset[str]) -> Account:
    authz.authorize(actor, "user.manage", code)
    authz.check_grantable(actor, roles)
    open_tenant(session, code)
    before = _member(directory, code, user_id, session)
    _check_can_manage(actor, before)
    if (decoy := _decoy(session, code, user_id)) is not None:
        if set(roles) != before.roles:
            decoy.roles = " ".join(sorted(roles))
            _decoy_act(session, actor, "user.roles", decoy, roles=sorted(roles))
        return _decoy_account(decoy)
    _keep_an_operator(directory, before, before.roles - set(roles))
    directory.set_roles(user_id, roles, _manageable_roles(actor))
    if getattr(getattr(directory, "settings", None), "require_totp", False) and (set(roles) - before.roles) & TOTP_ROLES:
        directory.require_totp_setup(user_id)  # a second factor comes with the role, as at invitation
    after = directory.account(user_id)
    if before.roles - after.roles:  # a token still carries the roles taken away
        denylist.deny(session, [user_id], "roles taken away")
    if after.roles != before.roles:
        audit.record(session, actor, "user.roles", "user", user_id, tenant_code=code,
                     before={"roles": sorted(before.roles)}, after={**_who(after), "roles": sorted(after.roles)})
    return after

def change_role(session: Session, actor: Actor, directory: IdentityDirectory, code: str, user_id: str,
                role: str, *, add: bool = False) -> Account:
    """Give the person ``role`` instead of the roles they hold (those the actor may grant; a role the
    actor may not grant stays as it is), or with ``add`` beside them: a change of role replaces it,
    adding one is the explicit choice (issue 25)."""
    authz.authorize(actor, "user.manage", code)
    if not role:
        raise Invalid("Choose a role.", "役割を選んでください。",
                      problems=[problem("role", "Choose a role from the list.", "役割を一覧から選んでください。")])
    roles = {role}
    if add:
        roles |= set(_member(directory, code, user_id, session).roles) & _manageable_roles(actor)
    return change_roles(session, actor, directory, code, user_id, frozenset(roles))


class OwnAccount(Conflict):
    """Nobody disables or removes their own account: they would lock themselves out with no way back
    but another administrator, who is the one to ask."""

    def __init__(self, act_en: str, act_ja: str) -> None:
        super().__init__(f"You cannot {act_en} your own account; ask another administrator. Nothing was changed.",
                         f"ご自身のアカウントを{act_ja}ことはできません。必要なときは別の管理者に依頼してください。変更は行っていません。")


def is_own_account(actor: Actor, account: Account) -> bool:
    """The account is the actor's own: the same Keycloak user, or the username a command acts for."""
    return account.id == actor.subject or (actor.issuer == CLI_ISSUER and account.username == actor.subject.lower())


def set_user_enabled(session: Session, actor: Actor, directory: IdentityDirectory, code: str, user_id: str,
                     enabled: bool) -> Account:
    authz.authorize(actor, "user.manage", code)
    before = _member(directory, code, user_id, session)
    _check_can_manage(actor, before)
    if not enabled and is_own_account(actor, before):
        raise OwnAccount("disable", "無効にする")
    if enabled:
        tenant = open_tenant(session, code)
        if tenant.status == TenantStatus.suspended:
            raise TenantClosed(code, tenant.status.value)
    if before.enabled == enabled:
        return before
    if (decoy := _decoy(session, code, user_id)) is not None:
        decoy.enabled = enabled
        _decoy_act(session, actor, "user.enable" if enabled else "user.disable", decoy, enabled=enabled)
        return _decoy_account(decoy)
    if not enabled:
        _keep_an_operator(directory, before, before.roles)
    directory.set_enabled(user_id, enabled)
    if not enabled:
        denylist.deny(session, [user_id], "disabled")
    people_index.record_enabled(session, user_id, enabled)
    audit.record(session, actor, "user.enable" if enabled else "user.disable", "user", user_id, tenant_code=code,
                 before={"enabled": before.enabled}, after={**_who(before), "enabled": enabled})
    return dataclasses.replace(before, enabled=enabled)

class LastOperator(Conflict):
    def __init__(self, username: str) -> None:
        super().__init__(
            f"{username} is the last enabled platform operator; nobody could run the platform without them. "
            "Give another person the operator role first. Nothing was changed.",
            f"{username} さんは有効な最後の運営者（県）です。この操作を行うと基盤を運営できる人がいなくなります。"
            "先に別の人に運営者の役割を付与してください。変更は行っていません。",
            username=username,
        )


def _keep_an_operator(directory: IdentityDirectory, account: Account, losing: Iterable[str]) -> None:
    """Refuse to disable or demote the last enabled platform operator."""
    if authz.OPERATOR not in account.roles or authz.OPERATOR not in set(losing) or not account.enabled:
        return
    if not set(directory.enabled_role_holders(authz.OPERATOR)) - {account.id}:
        raise LastOperator(account.username)


def remove_user(session: Session, actor: Actor, directory: IdentityDirectory, code: str, user_id: str) -> None:
    """Take the account out of the tenant and drop its municipal roles (the account itself stays in Keycloak)."""
    authz.authorize(actor, "user.manage", code)
    before = _member(directory, code, user_id, session)
    _check_can_manage(actor, before)
    if is_own_account(actor, before):
        raise OwnAccount("remove from the organisation", "団体から外す")
    if (decoy := _decoy(session, code, user_id)) is not None:
        _decoy_act(session, actor, "user.remove", decoy)
        session.delete(decoy)
        session.flush()
        return
    directory.remove_from_tenant(user_id, code)
    remaining = directory.account(user_id)
    if not remaining.tenant_codes:
        directory.set_roles(user_id, set(), authz.TENANT_ROLES | authz.ORG_ROLES)
    denylist.deny(session, [user_id], "removed from tenant")  # their tokens still name the tenant
    people_index.record_left(session, user_id, code)
    audit.record(session, actor, "user.remove", "user", user_id, tenant_code=code,
                 before={**_who(before), **before.summary()}, after=None)

def open_incidents(session: Session) -> list[IdentityIncident]:
    return list(session.scalars(sa.select(IdentityIncident).where(IdentityIncident.resolved_at.is_(None))
                                .order_by(IdentityIncident.id)))


def unresolved_incidents_by_tenant(session: Session, actor: Actor) -> list[tuple[str, str, int]]:
    """(tenant code, tenant name, number of unresolved incidents) for the tenants whose users the
    actor may manage (``user.manage``), in one query."""
    grant = authz.authorize(actor, "user.manage")
    query = (sa.select(IdentityIncident.tenant_code, Tenant.name_ja, sa.func.count(IdentityIncident.id))
             .outerjoin(Tenant, Tenant.code == IdentityIncident.tenant_code)
             .where(IdentityIncident.resolved_at.is_(None))
             .group_by(IdentityIncident.tenant_code, Tenant.name_ja).order_by(IdentityIncident.tenant_code))
    if not grant.all_tenants:
        query = query.where(IdentityIncident.tenant_code.in_(sorted(grant.tenant_codes)))
    return [(code, name or "", int(count)) for code, name, count in session.execute(query)]

def me(actor: Actor) -> dict[str, Any]:
    return {"issuer": actor.issuer, "subject": actor.subject, "name": actor.name, "roles": sorted(actor.roles),
            "tenants": sorted(actor.tenant_codes),
            "permissions": sorted(a for a in authz.POLICY if authz.grant_for(actor, a) is not None)}

