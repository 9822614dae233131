"""Provisioning as a resumable saga, and offboarding (suspend, resume, withdraw).

Provisioning
    :func:`provision` moves an approved tenant to ``provisioning`` and runs :data:`STEPS` in order;
    when all are done it activates the tenant. Each step is idempotent: it looks in Keycloak (by
    group path and username) or in the database before it creates anything, so repeating a finished
    step creates no duplicate. Progress is stored in :class:`ProvisioningStep` rows and committed
    by the saga itself, so a failure leaves the tenant in ``provisioning`` with the failed step and
    its error on record; :func:`retry` resumes from the first step not done.

    When it commits: after the start (the tenant in ``provisioning``, its steps pending, before
    Keycloak is touched), and once for every step together with the activation. A failing step
    rolls that transaction back; what the Keycloak steps before it did there (no rollback undoes
    it) is put back on record from their results (step rows, the admin's message: ``Step.keep``)
    and committed with the failure, and the database-only steps rolled back with it are run again
    by the retry. A crash before the final commit loses the record of those steps, and the retry
    repeats them safely because each is idempotent: the group and the account are created first
    and, on 409, found; the messages are queued under a dedupe key. Each step's audit record is written with the
    commit that keeps it. The Keycloak steps also skip questions whose answer is known: the
    group is created (not looked up first), its id is remembered by the directory, and a new
    account's roles are not read back.

    Committing is the one deliberate exception to "operations flush, the request (or command)
    commits once": Keycloak is not transactional, so what a step did there is done whatever the
    request does next, and the record of it must survive the failure of a later step (or of the
    request). :func:`provision`, :func:`retry`, :func:`transition` and :func:`run_wave` therefore
    commit their checkpoints through ``session.commit()``; callers (API, admin views, command line)
    pass nothing and never commit on the saga's behalf. ``checkpoint`` replaces that commit only
    for tests that need to act between two steps.

Offboarding
    :func:`suspend` disables the tenant's accounts in Keycloak and records which accounts it
    disabled, so that :func:`resume` re-enables exactly those. Its quotas are zero while it is
    suspended: the quota check (:mod:`usage.quotas`) denies every request of a tenant that is not
    active or provisioning, whatever its limits, and allows them again on resume. Billing stops from
    the month after the suspension (the participation-month rule of :mod:`tenancy.registry.history`).
    :func:`withdraw` takes every account out of the tenant, opens the data-handover checklist and
    raises the final-settlement flag billing reads (:func:`final_settlements_due`); only the
    operator's re-application (:func:`tenancy.onboarding.lifecycle.reapply`) brings the tenant back.
    Keycloak work happens after every check and before the database writes; if Keycloak fails half
    way, what was already changed there is undone (or, if even that fails, recorded as an identity
    incident) and the error is raised, so the database and Keycloak agree.

Waves (:mod:`tenancy.onboarding.waves`) and what the onboarding pages read
(:mod:`tenancy.onboarding.board`) build on this module.

    ``step_rows``, ``platform_resource`` and ``final_settlements_due`` are helpers for operations
    that have authorised their act already.
"""

from __future__ import annotations

import dataclasses
import json
import re
import unicodedata
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from core import audit
from core import authz, outbox
from tenancy.onboarding import lifecycle
from core.actor import Actor
from core.errors import Conflict, DomainError, Unavailable
from core.db import utcnow
from tenancy.errors import TenancyError
from tenancy.identity import denylist, people_index
from tenancy.identity.operations import record_incident
from tenancy.identity.keycloak import Account, IdentityDirectory
from tenancy.onboarding.lifecycle import HANDOVER, admin_contact, get_tenant
from tenancy.registry.models import Tenant, TenantStatus, TenantTransition
from tenancy.onboarding.models import (
    PROVISIONING_STEPS,
    STEPS_LIFECYCLE,
    ChecklistItem,
    PlatformResource,
    ProvisioningStep,
    StepStatus,
    SuspendedAccount,
    TenantOnboarding,
)
from usage import quota_plans

Checkpoint = Callable[[], None]
ADMIN_ROLE = authz.MUNICIPAL_ADMIN


# --- platform resource names -------------------------------------------------------------------

FIWARE_SERVICE_PATTERN = re.compile(r"^[a-z0-9_]{1,50}$")
CATALOG_ORGANIZATION_PATTERN = re.compile(r"^[a-z0-9_-]{2,100}$")


def _ascii_words(text: str) -> list[str]:
    folded = unicodedata.normalize("NFKD", text or "").encode("ascii", "ignore").decode().lower()
    return re.findall(r"[a-z0-9]+", folded)


def fiware_service_name(tenant: Tenant) -> str:
    """The tenant's FIWARE service (``Fiware-Service`` header): lowercase alphanumerics and ``_``, at most 50.

    ``<romanised name>_<code>`` (e.g. ``minamata_432059``); the code keeps it unique and stable.
    """
    words = "_".join(_ascii_words(tenant.name_en))[: 50 - len(tenant.code) - 1].strip("_")
    return f"{words}_{tenant.code}" if words else f"t{tenant.code}"


def catalog_organization_name(tenant: Tenant) -> str:
    """The data catalog organisation (CKAN-style name: lowercase alphanumerics, ``-`` and ``_``)."""
    words = "-".join(_ascii_words(tenant.name_en))[: 100 - len(tenant.code) - 1].strip("-")
    return f"{words}-{tenant.code}" if words else f"t{tenant.code}"


# --- the saga ----------------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class SagaContext:
    session: Session
    actor: Actor
    directory: IdentityDirectory
    tenant: Tenant


@dataclasses.dataclass(frozen=True)
class Step:
    name: str
    label_ja: str
    label_en: str
    run: Callable[[SagaContext], dict[str, Any]]
    # a step that changes Keycloak: the database writes that go with what it did there (beyond its
    # step row), written again from its result when a later step's failure rolls them back
    keep: Callable[[SagaContext, dict[str, Any]], None] | None = None
    changes_keycloak: bool = False


def _split_name(full_name: str) -> tuple[str, str]:
    """(family, given) from "熊本 太郎" (Japanese order; full- or half-width space)."""
    parts = full_name.replace("\u3000", " ").split()
    return (parts[0], " ".join(parts[1:])) if parts else ("", "")


def onboarding_record(session: Session, tenant: Tenant) -> TenantOnboarding:
    record = session.scalars(sa.select(TenantOnboarding).where(TenantOnboarding.tenant_id == tenant.id)).one_or_none()
    if record is None:
        record = TenantOnboarding(tenant_id=tenant.id)
        session.add(record)
        session.flush()
    return record


def admin_username(session: Session, tenant: Tenant) -> str:
    """The first admin's username: given in the wave file, else the admin contact's e-mail address."""
    given = session.scalar(sa.select(TenantOnboarding.admin_username).where(TenantOnboarding.tenant_id == tenant.id))
    if given:  # (read only: no record is made for a tenant that has none)
        return given
    contact = admin_contact(tenant)
    return contact.email.strip().lower() if contact is not None else ""


def _keycloak_group(ctx: SagaContext) -> dict[str, Any]:
    group_id = ctx.directory.ensure_tenant_group(ctx.tenant.code, ctx.tenant.name_ja)  # created first; 409 → looked up
    return {"group_id": group_id, "path": f"/tenants/{ctx.tenant.code}"}


def _admin_invited(ctx: SagaContext) -> dict[str, Any]:
    contact = admin_contact(ctx.tenant)
    if contact is None:
        raise MissingAdminContact(ctx.tenant)
    username = admin_username(ctx.session, ctx.tenant)
    family, given = _split_name(contact.name)
    found = None
    try:  # created first; only a refusal (409) asks Keycloak who is there: a retry finds what a lost reply created
        user_id, created = ctx.directory.create_user(username, contact.email, given, family), True
    except Conflict:
        found = ctx.directory.find_user(username)
        if found is None:  # the e-mail address belongs to another account
            raise
        user_id, created = found["id"], False
        if not found.get("enabled", True):
            ctx.directory.set_enabled(user_id, True)
    ctx.directory.add_to_tenant(user_id, ctx.tenant.code)  # the group id is known from the previous step
    people_index.record_joined(ctx.session, Account(  # the search box finds them at once
        id=user_id, username=username.lower(), email=(contact.email or "").lower(), first_name=given, last_name=family,
        enabled=True, roles=frozenset(), tenant_codes=frozenset({ctx.tenant.code})))
    # a new account holds no role: nothing to read back and compare
    ctx.directory.set_roles(user_id, {ADMIN_ROLE}, {ADMIN_ROLE}, **({"held": ()} if created else {}))
    mailed = False
    if ctx.directory.settings.smtp and (created or (found or {}).get("requiredActions")):
        # Keycloak mails the link for setting a password and verifying the address; without a
        # mail server the operator sends it later (or sets a temporary password in Keycloak)
        ctx.directory.send_setup_email(user_id)
        mailed = True
    result = {"user_id": user_id, "username": username, "created": created, "setup_email_sent": mailed}
    _admin_message(ctx, result)
    return result


def _admin_message(ctx: SagaContext, result: dict[str, Any]) -> None:
    """The new admin's message (queued once per account: dedupe key)."""
    contact = admin_contact(ctx.tenant)
    if contact is None:  # (gone since the account was made: nobody to write to)
        return
    user_id, username = result["user_id"], result["username"]
    outbox.queue(
        ctx.session, kind="tenant.admin_invited", tenant=ctx.tenant, dedupe_key=f"admin-invited:{ctx.tenant.code}:{user_id}",
        subject=f"【エリアデータ連携基盤】{ctx.tenant.name_ja}：管理者アカウントを発行しました",
        body="\n".join([
            f"{ctx.tenant.name_ja} {contact.name} 様", "",
            "エリアデータ連携基盤（共同利用）の貴団体の管理者アカウントを発行しました。", "",
            f"　ユーザー名：{username}", f"　メールアドレス：{contact.email}", "",
            ("パスワードの設定とメールアドレスの確認のためのリンクを、別のメール（送信元: エリアデータ連携基盤の認証サービス）で"
             "お送りしました。そのリンクから設定してください。" if result.get("setup_email_sent") else
             "パスワードの設定方法は、運営者（県）から別途ご連絡します（初期パスワードの発行、または設定用メールの送信）。"),
            "ログイン後は、貴団体の職員アカウントをご自身で追加・管理できます。", "",
            "本メールは共同利用管理システム（renkei）から自動で送信しています。",
        ]),
    )


def _default_quotas(ctx: SagaContext) -> dict[str, Any]:
    result = quota_plans.apply_default_quotas(ctx.session, ctx.actor, ctx.tenant)
    return {"result": _jsonable(result)}


def _platform_resources(ctx: SagaContext) -> dict[str, Any]:
    resource = platform_resource(ctx.session, ctx.tenant)
    if resource is None:
        resource = PlatformResource(tenant_id=ctx.tenant.id, fiware_service=fiware_service_name(ctx.tenant),
                                    catalog_organization=catalog_organization_name(ctx.tenant))
        ctx.session.add(resource)
        ctx.session.flush()
    return {"fiware_service": resource.fiware_service, "catalog_organization": resource.catalog_organization}


_ACTIONS: dict[str, Callable[[SagaContext], dict[str, Any]]] = {
    "keycloak_group": _keycloak_group,
    "admin_invited": _admin_invited,
    "default_quotas": _default_quotas,
    "platform_resources": _platform_resources,
}
assert set(_ACTIONS) == {step.name for step in PROVISIONING_STEPS}
# The steps whose work no rollback undoes, and what each keeps in the database with it.
_KEYCLOAK_STEPS: dict[str, Callable[[SagaContext, dict[str, Any]], None] | None] = {
    "keycloak_group": None, "admin_invited": _admin_message}
STEPS: tuple[Step, ...] = tuple(
    Step(step.name, step.label_ja, step.label_en, _ACTIONS[step.name], keep=_KEYCLOAK_STEPS.get(step.name),
         changes_keycloak=step.name in _KEYCLOAK_STEPS)
    for step in PROVISIONING_STEPS)
STEP_BY_NAME = {step.name: step for step in STEPS}


def _jsonable(value: Any) -> Any:
    try:
        json.dumps(value)
        return value
    except (TypeError, ValueError):
        return repr(value)[:500]


class MissingAdminContact(TenancyError, Conflict):
    def __init__(self, tenant: Tenant) -> None:
        super().__init__(
            f"{tenant.name_en} ({tenant.code}) has no administrative contact with an e-mail address to invite.",
            f"{tenant.name_ja}（{tenant.code}）に招待先の事務担当者（メールアドレス）が登録されていません。",
        )


class ProvisioningFailed(TenancyError):
    """A saga step failed; the tenant stays in provisioning with the step and the error on record."""

    retryable = True

    def __init__(self, tenant: Tenant, step: Step, cause: BaseException) -> None:
        cause_en = getattr(cause, "message_en", None) or f"{type(cause).__name__}: {cause}"
        cause_ja = getattr(cause, "message_ja", None) or cause_en
        super().__init__(
            f"Provisioning of {tenant.name_en} ({tenant.code}) stopped at step '{step.label_en}': {cause_en} "
            "The tenant stays in provisioning and the steps already done are kept; retry when the cause is fixed.",
            f"{tenant.name_ja}（{tenant.code}）の環境構築が「{step.label_ja}」で止まりました：{cause_ja}"
            "団体は「環境構築中」のままで、完了した手順は保持しています。原因を解消してから再実行してください。",
            code=tenant.code, failed_step=step.name, error=cause_en,
        )
        self.kind = "unavailable" if isinstance(cause, Unavailable) else "conflict"
        self.step = step


@dataclasses.dataclass(frozen=True)
class ProvisioningOutcome:
    code: str
    status: TenantStatus
    steps_run: tuple[str, ...]
    # every step done, but activation waits for these (e.g. the new admin's acceptance of the agreements)
    waiting_for: tuple[str, ...] = ()


def step_rows(session: Session, tenant: Tenant) -> dict[str, ProvisioningStep]:
    # read afresh also into a session that keeps its objects across commits (a wave's workers)
    rows = {row.step: row for row in session.scalars(
        sa.select(ProvisioningStep).where(ProvisioningStep.tenant_id == tenant.id)
        .execution_options(populate_existing=True))}
    for step in STEPS:
        if step.name not in rows:
            rows[step.name] = ProvisioningStep(tenant_id=tenant.id, step=step.name)
            session.add(rows[step.name])
    session.flush()
    return rows


def platform_resource(session: Session, tenant: Tenant) -> PlatformResource | None:
    return session.scalars(sa.select(PlatformResource).where(PlatformResource.tenant_id == tenant.id)).one_or_none()


def _commits(session: Session, checkpoint: Checkpoint | None) -> Checkpoint:
    """How the saga makes its progress durable: its own commit (see the module docstring)."""
    return checkpoint if checkpoint is not None else session.commit


def provision(session: Session, actor: Actor, directory: IdentityDirectory, code: str, *,
              reason: str = "", checkpoint: Checkpoint | None = None) -> ProvisioningOutcome:
    """Start provisioning an approved tenant and run the saga to activation (see the module docstring).

    Commits after the start and with the activation (``checkpoint`` replaces the commit for tests
    only). One audit record for the whole act (``tenant.provision``), its steps inside; a failure after some steps is
    recorded as such and committed with the step progress.
    """
    checkpoint = _commits(session, checkpoint)
    with audit.act(session, actor, "tenant.provision", "tenant", code, tenant_code=code, persist=checkpoint):
        return _provision(session, actor, directory, code, checkpoint=checkpoint, reason=reason)


def _provision(session: Session, actor: Actor, directory: IdentityDirectory, code: str, *,
               checkpoint: Checkpoint, reason: str) -> ProvisioningOutcome:
    tenant = get_tenant(session, code, lock=True)
    move = lifecycle.check(session, actor, tenant, "start_provisioning", reason)
    lifecycle.enact(session, tenant, move)
    step_rows(session, tenant)
    checkpoint()
    return _run(session, actor, directory, code, checkpoint)


def retry(session: Session, actor: Actor, directory: IdentityDirectory, code: str, *,
          checkpoint: Checkpoint | None = None) -> ProvisioningOutcome:
    """Resume a tenant's provisioning from its first step not done (the failed one); one audit record.

    Commits as :func:`provision` does."""
    checkpoint = _commits(session, checkpoint)
    with audit.act(session, actor, "tenant.retry", "tenant", code, tenant_code=code, persist=checkpoint):
        return _retry(session, actor, directory, code, checkpoint=checkpoint)


def _retry(session: Session, actor: Actor, directory: IdentityDirectory, code: str, *,
           checkpoint: Checkpoint) -> ProvisioningOutcome:
    tenant = get_tenant(session, code, lock=True)
    authz.authorize(actor, "tenant.transition", code)
    if tenant.status != TenantStatus.provisioning:
        raise lifecycle.NothingToRetry(tenant)
    checkpoint()
    return _run(session, actor, directory, code, checkpoint)


def _record_steps(session: Session, actor: Actor, code: str, done: list[tuple[str, dict[str, Any]]]) -> None:
    """The audit steps of the steps done since the last checkpoint (only what is committed is told)."""
    for name, result in done:
        audit.record(session, actor, f"provisioning.{name}", "tenant", code, tenant_code=code,
                     after={"step": name, **result})
    done.clear()


def _mark_done(row: ProvisioningStep, result: dict[str, Any]) -> None:
    row.status = STEPS_LIFECYCLE.move("finish", row.status).target
    row.attempts, row.last_error = row.attempts + 1, ""
    row.result = json.dumps(result, ensure_ascii=False, sort_keys=True)
    row.updated_at = row.finished_at = utcnow()


def _run(session: Session, actor: Actor, directory: IdentityDirectory, code: str,
         checkpoint: Checkpoint) -> ProvisioningOutcome:
    # The steps and the activation are one transaction, committed once at the end, holding the
    # tenant's row lock from here to that commit: a second provision or retry waits and then finds
    # the steps done, and a tenant withdrawn or suspended since the last checkpoint stops the saga
    # here, before it is given a group or an admin account. A failing step rolls the transaction
    # back; what the Keycloak steps before it did there (which no rollback undoes) is put back on
    # record from their results (their step rows, the admin's message) and committed with the
    # failure, while the database-only steps rolled back are simply run again by the retry. A crash
    # before the commit loses the record of every step of this transaction, and the retry repeats
    # them safely: each is idempotent, the Keycloak ones included (created first; on 409, found).
    tenant = get_tenant(session, code, lock=True)
    if tenant.status != TenantStatus.provisioning:
        raise lifecycle.NothingToRetry(tenant)
    rows = step_rows(session, tenant)
    lifecycle.hold_steps(session, tenant, rows)  # (the activation's guard reads them, not the database)
    ran: list[str] = []
    done: list[tuple[str, dict[str, Any]]] = []  # steps done in this transaction, audited with its commit
    for step in STEPS:
        row = rows[step.name]
        if row.status == StepStatus.done:
            continue
        try:
            result = step.run(SagaContext(session, actor, directory, tenant))
        except Exception as error:  # noqa: BLE001  (any failure of a step is recorded, then re-raised)
            session.rollback()  # everything since the last checkpoint: this step's writes and the steps before it
            tenant = get_tenant(session, code)
            rows = step_rows(session, tenant)
            done = [(name, kept) for name, kept in done if STEP_BY_NAME[name].changes_keycloak]
            for name, kept in done:  # done in Keycloak whatever the rollback: on record again
                _mark_done(rows[name], kept)
                if STEP_BY_NAME[name].keep is not None:
                    STEP_BY_NAME[name].keep(SagaContext(session, actor, directory, tenant), kept)
            row = rows[step.name]
            row.status = STEPS_LIFECYCLE.move("fail", row.status).target
            row.attempts, row.updated_at = row.attempts + 1, utcnow()
            if isinstance(error, DomainError):
                row.last_error = error.message_ja if error.message_ja == error.message_en else f"{error.message_ja} / {error.message_en}"
            else:
                row.last_error = f"{type(error).__name__}: {error}"
            session.flush()
            _record_steps(session, actor, code, done)
            checkpoint()
            raise ProvisioningFailed(tenant, step, error) from (None if isinstance(error, DomainError) else error)
        _mark_done(row, result)
        done.append((step.name, result))
        ran.append(step.name)
    _record_steps(session, actor, code, done)  # committed with the activation (or with the wait for it)
    tenant = get_tenant(session, code, lock=True)  # still held since the start: not asked again
    try:
        move = lifecycle.check(session, actor, tenant, "activate", "環境構築の完了")
    except lifecycle.GuardRefused as waiting:
        # Provisioning itself succeeded; the tenant stays in provisioning until what the guards
        # name is done (then `activate` or `retry` finishes it). Not a failure of the saga.
        checkpoint()
        return ProvisioningOutcome(code, TenantStatus.provisioning, tuple(ran),
                                   waiting_for=tuple(problem["message_ja"] for problem in waiting.problems))
    lifecycle.enact(session, tenant, move)
    checkpoint()
    return ProvisioningOutcome(code, TenantStatus(move.to_status), tuple(ran))  # (the committed tenant is not re-read)


TRANSITION_NAMES = ("screen", "approve", "provision", "retry", "activate", "suspend", "resume", "withdraw", "reapply")


def transition(session: Session, actor: Actor, directory: IdentityDirectory, code: str, name: str, reason: str, *,
               checkpoint: Checkpoint | None = None) -> None:
    """Make the named lifecycle move (the command line and the admin board both offer them by name).

    ``provision`` and ``retry`` commit their own steps; every other move only flushes."""
    if name in {"screen", "approve", "activate", "reapply"}:
        getattr(lifecycle, name)(session, actor, code, reason)
    elif name in {"suspend", "resume", "withdraw"}:
        offboarding = {"suspend": suspend, "resume": resume, "withdraw": withdraw}[name]
        offboarding(session, actor, directory, code, reason)
    elif name == "provision":
        provision(session, actor, directory, code, checkpoint=checkpoint, reason=reason)
    elif name == "retry":
        retry(session, actor, directory, code, checkpoint=checkpoint)
    else:
        raise ValueError(f"unknown transition {name!r}")


# --- offboarding -------------------------------------------------------------------------------

def _members(directory: IdentityDirectory, code: str):
    if directory.find_tenant_group(code) is None:
        return []
    return directory.tenant_members(code)


def _undo(session: Session, operation: str, code: str, done: list, undo: Callable[[Any], None]) -> None:
    for account in reversed(done):
        try:
            undo(account)
        except DomainError as error:
            record_incident(session, operation, code, account.username, account.id, "undo", error)


def suspend(session: Session, actor: Actor, directory: IdentityDirectory, code: str, reason: str) -> TenantTransition:
    """Active → suspended: accounts disabled, quota checks deny (zero), billing stops from the next month. Reversible."""
    tenant = get_tenant(session, code, lock=True)
    move = lifecycle.check(session, actor, tenant, "suspend", reason)
    disabled: list = []
    try:
        for account in _members(directory, code):
            if account.enabled:
                directory.set_enabled(account.id, False)
                disabled.append(account)
    except DomainError:
        _undo(session, "tenant.suspend", code, disabled, lambda a: directory.set_enabled(a.id, True))
        raise
    for account in disabled:
        session.add(SuspendedAccount(tenant_id=tenant.id, keycloak_user_id=account.id, username=account.username))
    session.flush()
    denylist.deny(session, [a.id for a in disabled], "tenant suspended")
    for account in disabled:
        people_index.record_enabled(session, account.id, False)
    return lifecycle.enact(session, tenant, move, details={"users_disabled": sorted(a.username for a in disabled)})


def resume(session: Session, actor: Actor, directory: IdentityDirectory, code: str, reason: str = "") -> TenantTransition:
    """Suspended → active: the accounts the suspension disabled are enabled again; quota checks allow again."""
    tenant = get_tenant(session, code, lock=True)
    move = lifecycle.check(session, actor, tenant, "resume", reason)
    suspended = list(session.scalars(sa.select(SuspendedAccount).where(SuspendedAccount.tenant_id == tenant.id)))
    enabled: list = []
    try:
        for row in suspended:
            if directory.find_user(row.username) is not None:
                directory.set_enabled(row.keycloak_user_id, True)
                enabled.append(_Ref(row.keycloak_user_id, row.username))
    except DomainError:
        _undo(session, "tenant.resume", code, enabled, lambda a: directory.set_enabled(a.id, False))
        raise
    for ref in enabled:
        people_index.record_enabled(session, ref.id, True)
    for row in suspended:
        session.delete(row)
    session.flush()
    return lifecycle.enact(session, tenant, move, details={"users_enabled": sorted(a.username for a in enabled)})


@dataclasses.dataclass(frozen=True)
class _Ref:
    id: str
    username: str


def withdraw(session: Session, actor: Actor, directory: IdentityDirectory, code: str, reason: str) -> TenantTransition:
    """Any state → withdrawn: accounts leave the tenant, handover checklist opened, final settlement due."""
    tenant = get_tenant(session, code, lock=True)
    move = lifecycle.check(session, actor, tenant, "withdraw", reason)
    removed: list = []
    try:
        for account in _members(directory, code):
            directory.remove_from_tenant(account.id, code)
            removed.append(account)
            if not (account.tenant_codes - {code}):  # in no tenant any more: no municipal role, no login
                directory.set_roles(account.id, set(), authz.TENANT_ROLES)
                directory.set_enabled(account.id, False)
    except DomainError:
        def put_back(account):
            directory.add_to_tenant(account.id, code)
            directory.set_roles(account.id, account.roles & authz.TENANT_ROLES, authz.TENANT_ROLES)
            directory.set_enabled(account.id, account.enabled)

        _undo(session, "tenant.withdraw", code, removed, put_back)
        raise
    denylist.deny(session, [a.id for a in removed], "tenant withdrawn")
    for account in removed:
        people_index.record_left(session, account.id, code)
        if not (account.tenant_codes - {code}):
            people_index.record_enabled(session, account.id, False)
    for row in session.scalars(sa.select(SuspendedAccount).where(SuspendedAccount.tenant_id == tenant.id)):
        session.delete(row)
    existing = {row.item for row in session.scalars(sa.select(ChecklistItem).where(
        ChecklistItem.tenant_id == tenant.id, ChecklistItem.checklist == HANDOVER))}
    for entry in lifecycle.HANDOVER_ITEMS:
        if entry.key not in existing:
            session.add(ChecklistItem(tenant_id=tenant.id, checklist=HANDOVER, item=entry.key))
    lifecycle.reset_checklist(session, tenant, HANDOVER)
    record = onboarding_record(session, tenant)
    settle = _was_ever_active(session, tenant, move.from_status)
    if settle:
        record.final_settlement_due, record.final_settlement_done_at = True, None
    session.flush()
    return lifecycle.enact(session, tenant, move, details={"users_removed": sorted(a.username for a in removed),
                                                          "final_settlement_due": settle})


def _was_ever_active(session: Session, tenant: Tenant, from_status: TenantStatus) -> bool:
    if from_status in (TenantStatus.active, TenantStatus.suspended):
        return True
    return session.scalar(sa.select(sa.func.count()).select_from(TenantTransition).where(
        TenantTransition.tenant_id == tenant.id, TenantTransition.to_status == TenantStatus.active)) > 0


def final_settlements_due(session: Session) -> list[Tenant]:
    """Withdrawn tenants whose final settlement billing has not done yet."""
    return list(session.scalars(sa.select(Tenant).join(TenantOnboarding, TenantOnboarding.tenant_id == Tenant.id)
                                .where(TenantOnboarding.final_settlement_due.is_(True)).order_by(Tenant.code)))


def mark_final_settlement_done(session: Session, actor: Actor, code: str) -> TenantOnboarding:
    """Billing calls this when the withdrawn tenant's final statement is settled (audited)."""
    authz.authorize(actor, "billing.manage", code)
    tenant = get_tenant(session, code)
    record = onboarding_record(session, tenant)
    if not record.final_settlement_due:
        raise Conflict(f"Tenant {code} has no final settlement due.", f"団体コード {code} に未了の最終精算はありません。")
    record.final_settlement_due, record.final_settlement_done_at = False, utcnow()
    session.flush()
    audit.record(session, actor, "tenant.final_settlement", "tenant", code, tenant_code=code,
                 before={"final_settlement_due": True}, after={"final_settlement_due": False})
    return record
