"""Provisioning as a resumable saga, offboarding (suspend, resume, withdraw), and onboarding waves.

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
    suspended: the quota check (:mod:`tenancy.usage.quotas`) denies every request of a tenant that is not
    active or provisioning, whatever its limits, and allows them again on resume. Billing stops from
    the month after the suspension (the participation-month rule of :mod:`tenancy.registry.history`).
    :func:`withdraw` takes every account out of the tenant, opens the data-handover checklist and
    raises the final-settlement flag billing reads (:func:`final_settlements_due`); only the
    operator's re-application (:func:`tenancy.onboarding.lifecycle.reapply`) brings the tenant back.
    Keycloak work happens after every check and before the database writes; if Keycloak fails half
    way, what was already changed there is undone (or, if even that fails, recorded as an identity
    incident) and the error is raised, so the database and Keycloak agree.

Waves
    :func:`parse_wave_csv` validates a whole file first (nothing is written if a row is wrong);
    :func:`run_wave` then applies, screens, approves and provisions each municipality, up to
    :data:`WAVE_WORKERS` at once on PostgreSQL (each worker its own session and Keycloak client;
    the shared default quota plans are made before the fan-out), one at a time on SQLite. One
    municipality's failure is recorded in its :class:`WaveOutcome` and does not stop the others.

Reading
    :func:`board`, :func:`detail`, :func:`timeline` and :func:`platform_resources` take the actor
    and ask for ``tenant.read`` themselves: a tenant's page needs the right on that tenant, and the
    board and the resource list show every tenant only to someone who may read them all (a
    municipal user sees their own tenants). ``step_rows``, ``platform_resource`` and
    ``final_settlements_due`` are helpers for operations that have authorised their act already.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import json
import logging
import re
import threading
import unicodedata
from collections.abc import Callable, Sequence
from typing import Any

import sqlalchemy as sa
from pydantic import ValidationError
from sqlalchemy.orm import Session, scoped_session

from core import audit
from core import authz, outbox
from tenancy.onboarding import lifecycle
from core import codes as code_rules
from core import csvfile
from core.actor import Actor
from core.errors import Conflict, DomainError, Unavailable, problem
from core.calendar import (FIRST_FISCAL_YEAR, LAST_FISCAL_YEAR, fiscal_year_ja, is_supported_fiscal_year,
                           read_fiscal_year)
from core.db import utcnow
from tenancy.errors import ImportRejected, TenancyError, TenantExists
from tenancy.identity import denylist
from tenancy.identity.operations import record_incident
from tenancy.registry.history import history
from tenancy.registry.importing import EXPORT_HEADERS_JA, HEADER_ALIASES, reference_municipalities
from tenancy.identity.keycloak import IdentityDirectory
from tenancy.onboarding.lifecycle import HANDOVER, SCREENING, SCREENING_ITEMS, admin_contact, get_tenant
from tenancy.registry.models import Tenant, TenantKind, TenantStatus, TenantTransition
from tenancy.registry.operations import find_tenant, update_tenant
from tenancy.onboarding.models import (
    PROVISIONING_STEPS,
    ChecklistItem,
    PlatformResource,
    ProvisioningStep,
    SuspendedAccount,
    TenantOnboarding,
)
from tenancy.registry.schemas import ContactIn, TenantCreate, TenantUpdate
from tenancy.usage import quota_plans
from tenancy.usage.models import QuotaPlan
from core.validation import problems_from

log = logging.getLogger(__name__)
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
    row.status, row.attempts, row.last_error = "done", row.attempts + 1, ""
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
        if row.status == "done":
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
            row.status, row.attempts, row.updated_at = "failed", row.attempts + 1, utcnow()
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


# --- waves -------------------------------------------------------------------------------------

# The columns a wave file shares with a tenant import are named as the registry names them.
_SHARED_WITH_IMPORT = ("code", "name_ja", "contact_name", "contact_department", "contact_email", "contact_phone")
WAVE_HEADERS: dict[str, str] = {name: f for name, f in HEADER_ALIASES.items() if f in _SHARED_WITH_IMPORT} | {
    "admin_username": "admin_username", "管理者ユーザー名": "admin_username",
    "application_received": "application_received", "申込書受領": "application_received",
    "eligibility_confirmed": "eligibility_confirmed", "参加資格確認": "eligibility_confirmed",
    "no_antisocial_ties": "no_antisocial_ties", "反社会的勢力でないことの確認": "no_antisocial_ties",
    "agreements_accepted": "agreements_accepted", "協定同意": "agreements_accepted",
}
WAVE_COLUMNS_JA = {f: EXPORT_HEADERS_JA[f] for f in _SHARED_WITH_IMPORT} | {
    "admin_username": "管理者ユーザー名",
    "application_received": "申込書受領", "eligibility_confirmed": "参加資格確認",
    "no_antisocial_ties": "反社会的勢力でないことの確認", "agreements_accepted": "協定同意",
}
REQUIRED_WAVE_COLUMNS = ("code", "contact_name", "contact_email")
WAVE_COLUMNS = csvfile.Columns(WAVE_HEADERS, required=REQUIRED_WAVE_COLUMNS, labels_ja=WAVE_COLUMNS_JA)
YES = {"済", "確認済", "○", "〇", "yes", "y", "true", "1", "done"}
NO = {"", "未", "未確認", "×", "no", "n", "false", "0"}
USERNAME_PATTERN = re.compile(r"^[a-z0-9._@-]{3,64}$")


@dataclasses.dataclass(frozen=True)
class WaveRow:
    line: int
    code: str
    contact: ContactIn
    admin_username: str = ""
    confirmed: frozenset[str] = frozenset()  # screening items confirmed in the file


@dataclasses.dataclass
class WaveOutcome:
    code: str
    name_ja: str
    status: str
    ok: bool
    failed_step: str = ""
    message_en: str = ""
    message_ja: str = ""


def parse_fiscal_year(text: str) -> int:
    """``FY2025``, ``2025``, ``R7``, ``令和7年度`` → 2025 (also 平成/H years; the reading is
    :func:`core.calendar.read_fiscal_year`), within the supported years, or ImportRejected in words."""
    year = read_fiscal_year(text)
    if year is not None:
        if not is_supported_fiscal_year(year):
            first, last = FIRST_FISCAL_YEAR, LAST_FISCAL_YEAR
            raise ImportRejected(
                f"{text!r} is outside the supported fiscal years FY{first}-FY{last}.",
                f"{text!r} は対象外の年度です（{fiscal_year_ja(first)}（{first}年度）から{last}年度まで）。",
                problems=[problem("fiscal_year", f"Outside FY{first}-FY{last}.", f"{first}〜{last}年度の範囲外です。")])
        return year
    raise ImportRejected(f"{text!r} is not a fiscal year (write FY2025, 2025 or 令和7年度).",
                         f"{text!r} は年度として読めません（FY2025、2025、令和7年度 のように指定してください）。",
                         problems=[problem("fiscal_year", "Not a fiscal year.", "年度の形式ではありません。")])


def parse_wave_csv(source: csvfile.Source) -> list[WaveRow]:
    """Rows of a wave file (UTF-8 with or without BOM, or CP932), every row checked; all problems raised together.

    ``source``: the file's bytes or text, its path or an upload's binary stream, read row by row in
    one pass (a path or stream is never held whole); once a row fails, checked rows are no longer kept.
    """
    problems = csvfile.Problems()  # the first ones listed, all counted: the report stays small
    rows: list[WaveRow] = []
    seen: dict[str, int] = {}
    for row in csvfile.source_rows(source, WAVE_COLUMNS, rejected=ImportRejected):
        line, where, cells = row.line, row.where, row.values
        if row.problems:
            problems.add(*row.problems)
            continue
        code = cells.get("code", "")
        row_problems = []
        issue = code_rules.code_problem(code)
        if issue:
            row_problems.append(problem(f"{where}: code", issue[0], issue[1]))
        elif code in seen:
            row_problems.append(problem(f"{where}: code", f"Code {code} also appears on line {seen[code]}.",
                                        f"団体コード {code} は {seen[code]} 行目と重複しています。"))
        try:
            contact = ContactIn(role="admin", name=cells.get("contact_name", ""), department=cells.get("contact_department", ""),
                                email=cells.get("contact_email", ""), phone=cells.get("contact_phone", ""))
        except ValidationError as error:
            contact = None
            row_problems += [problem(f"{where}: contact_{p['field']}", p["message_en"], p["message_ja"]) for p in problems_from(error)]
        username = cells.get("admin_username", "").lower()
        if username and not USERNAME_PATTERN.match(username):
            row_problems.append(problem(f"{where}: admin_username", "Use 3-64 characters: a-z, 0-9, '.', '_', '@', '-'.",
                                        "3〜64 文字の半角英小文字・数字・「. _ @ -」で指定してください。"))
        confirmed = set()
        for entry in SCREENING_ITEMS:
            value = unicodedata.normalize("NFKC", cells.get(entry.key, "")).strip().lower()
            if value in YES or cells.get(entry.key, "").strip() in YES:
                confirmed.add(entry.key)
            elif value not in NO and cells.get(entry.key, "").strip() not in NO:
                row_problems.append(problem(f"{where}: {entry.key}", f"Write 済 (done) or leave empty, not {cells[entry.key]!r}.",
                                            f"「済」と記入するか空欄にしてください（{cells[entry.key]!r} は読めません）。"))
        if row_problems:
            problems.add(*row_problems)
            continue
        seen[code] = line
        if not problems:  # after a failure nothing will run: keep no rows
            rows.append(WaveRow(line, code, contact, username, frozenset(confirmed)))
    if not rows and not problems:
        problems.add(problem("line 2", "The file has no data rows.", "データ行がありません。"))
    if problems:
        listed_en, listed_ja = problems.summary()
        raise ImportRejected(
            f"{problems.total:,} problem(s) found in the wave file{listed_en}; nothing was done. Correct the lines named and run the whole file again.",
            f"参加募集ファイルに {problems.total:,} 件の誤りがあります{listed_ja}。何も処理していません。該当行を修正し、ファイル全体をもう一度実行してください。",
            problems=problems.listed, errors_total=problems.total, errors_listed=len(problems.listed))
    return rows


def validate_wave(session: Session, fiscal_year: int, rows: Sequence[WaveRow]) -> frozenset[str]:
    """Checks against the registry, all rows first: nothing runs if one row cannot. Returns the
    codes of the rows that are registered already (the others are registered by the wave)."""
    problems = []
    registered = {t.code: t for t in session.scalars(  # one query for the whole file
        sa.select(Tenant).where(Tenant.code.in_(sorted({row.code for row in rows}))).options(sa.orm.lazyload(Tenant.contacts)))}
    for row in rows:
        where = f"line {row.line}: code"
        tenant = registered.get(row.code)
        if tenant is None:
            if row.code not in reference_municipalities():
                problems.append(problem(where, f"{row.code} is neither registered nor in the reference data; register it first (renkei tenants import).",
                                        f"{row.code} は登録も参照データもありません。先に参加団体として登録してください（renkei tenants import）。"))
            continue
        if tenant.status in (TenantStatus.suspended, TenantStatus.withdrawn):
            problems.append(problem(where, f"{row.code} is {tenant.status.value}; a wave does not bring it back (resume, or re-apply first).",
                                    f"{row.code} は「{lifecycle.status_label(tenant.status)}」のため参加募集では扱えません（利用再開または再申請を先に行ってください）。"))
        elif tenant.wave_fiscal_year not in (None, fiscal_year):
            problems.append(problem(where, f"{row.code} belongs to wave FY{tenant.wave_fiscal_year}, not FY{fiscal_year}.",
                                    f"{row.code} は {tenant.wave_fiscal_year} 年度の参加募集に登録されています。"))
    if problems:
        raise ImportRejected(
            f"{len(problems)} row(s) cannot be onboarded; nothing was done.",
            f"{len(problems)} 行は参加手続きを進められません。何も処理していません。",
            problems=problems)
    return frozenset(registered)


def _prepare(session: Session, actor: Actor, fiscal_year: int, row: WaveRow, *, unregistered: bool = False) -> Tenant:
    """The tenant of ``row``, registered (as applied) or updated for the wave. ``unregistered``: the
    wave's check (one query for the whole file) found no tenant of this code, so it is not looked up
    again; one registered since is refused by the registration before it writes, and then found."""
    tenant = None if unregistered else find_tenant(session, row.code)
    registered = False
    if tenant is None:
        ref = reference_municipalities()[row.code]
        data = TenantCreate(code=row.code, name_ja=ref["name_ja"], name_en=ref["name_en"], kind=ref["kind"],
                            population=int(ref["population"]), population_source=ref["population_source"],
                            wave_fiscal_year=fiscal_year, contacts=[row.contact])
        try:
            tenant = lifecycle.register_application(session, actor, data, f"{fiscal_year_ja(fiscal_year)} 参加募集")
            registered = True
        except TenantExists:  # registered by someone else since the wave was checked
            tenant = find_tenant(session, row.code)
            if tenant is None:
                raise
    if not registered:
        changes: dict[str, Any] = {}
        if tenant.wave_fiscal_year is None:
            changes["wave_fiscal_year"] = fiscal_year
        if admin_contact(tenant) is None:
            changes["contacts"] = [row.contact] + [ContactIn.model_validate(c, from_attributes=True) for c in tenant.contacts]
        if changes:
            tenant = update_tenant(session, actor, row.code, TenantUpdate(**changes))
    if row.admin_username:
        onboarding_record(session, tenant).admin_username = row.admin_username
        session.flush()
    return tenant


def onboard(session: Session, actor: Actor, directory: IdentityDirectory, fiscal_year: int, row: WaveRow, *,
            checkpoint: Checkpoint | None = None, unregistered: bool = False) -> WaveOutcome:
    """One municipality of a wave, as far as it can go (see the module docstring).

    The database-only stages (registration, screening, the confirmed items, approval, the start of
    provisioning) are committed together, before the first Keycloak step: a failure or crash
    before that commit rolls them back together and running the wave again repeats them, each
    being idempotent; a refused move commits what came before it, so the registration and the
    confirmations stay on record. From the start of provisioning on, the saga commits as
    :func:`provision` does. ``unregistered``: the wave found no tenant of this code (see :func:`_prepare`)."""
    checkpoint = _commits(session, checkpoint)
    tenant = _prepare(session, actor, fiscal_year, row, unregistered=unregistered)
    code = tenant.code
    reason = f"{fiscal_year_ja(fiscal_year)} 参加募集"
    try:
        if tenant.status == TenantStatus.applied:
            lifecycle.screen(session, actor, code, reason)
        if get_tenant(session, code).status == TenantStatus.screening:
            lifecycle.check_items(session, actor, code, SCREENING, sorted(row.confirmed), note=reason)
            lifecycle.approve(session, actor, code, reason)
    except DomainError:
        # a refusal (a guard) is raised before its move writes anything: what came before it stays
        # on record (the registration, the confirmations), as when every stage was committed
        checkpoint()
        raise
    name_ja, status = tenant.name_ja, get_tenant(session, code).status
    outcome = None
    if status == TenantStatus.approved:
        outcome = provision(session, actor, directory, code, checkpoint=checkpoint, reason=reason)
    elif status == TenantStatus.provisioning:
        outcome = retry(session, actor, directory, code, checkpoint=checkpoint)
    else:
        checkpoint()  # nothing to provision (e.g. active from an earlier run): what _prepare changed is kept
    status = TenantStatus(outcome.status if outcome is not None else status)  # the saga's last word, committed
    if outcome is not None and outcome.waiting_for:
        # provisioned; activation waits for the municipality itself (its admin accepts the agreements)
        return WaveOutcome(code, name_ja, status.value, True,
                           message_en="provisioned; activation waits for the agreements to be accepted",
                           message_ja="環境構築済み。協定への同意後に利用開始となります：" + "、".join(outcome.waiting_for))
    return WaveOutcome(code, name_ja, status.value, status == TenantStatus.active)


# Municipalities of a wave provisioned at once on PostgreSQL (a bounded pool: each worker holds a
# database connection and makes Keycloak calls, so this also bounds the load put on both).
WAVE_WORKERS = 4


def run_wave(session: Session, actor: Actor, directory: IdentityDirectory, fiscal_year: int, rows: Sequence[WaveRow], *,
             progress: Callable[[WaveOutcome], None] | None = None,
             checkpoint: Checkpoint | None = None, workers: int | None = None) -> list[WaveOutcome]:
    """Onboard every row; one failure is recorded in its outcome and does not stop the others.
    The outcomes come back in the file's order.

    ``workers`` municipalities at once (default :data:`WAVE_WORKERS` on PostgreSQL, one at a time on
    SQLite, whose single writer gains nothing from threads); ``progress`` is called in the caller's
    thread as each municipality finishes. Each worker has a session of its own on the same
    database, and commits its municipality as :func:`onboard` does (the database stages together
    before the first Keycloak step, then the steps with the activation), so resuming after a failure or a crash is the same
    as one at a time. The rows shared by every tenant (the
    default quota plans) are created once before the fan-out. With a ``checkpoint`` given (tests
    acting between two steps) the wave runs one at a time in ``session``.

    The wave is one administrative act and gets one audit record (``onboarding.wave``) holding
    every municipality's acts as steps (:func:`core.audit.part_of_act` for the workers).
    """
    if workers is None:
        workers = WAVE_WORKERS
    if checkpoint is not None or session.get_bind().dialect.name != "postgresql":
        workers = 1
    checkpoint = _commits(session, checkpoint)
    with audit.act(session, actor, "onboarding.wave", "wave", f"FY{fiscal_year}", persist=checkpoint):
        return _run_wave(session, actor, directory, fiscal_year, rows, checkpoint=checkpoint, progress=progress,
                         workers=max(1, min(workers, len(rows))))


def _onboard_or_fail(session: Session, actor: Actor, directory: IdentityDirectory, fiscal_year: int, row: WaveRow,
                     checkpoint: Checkpoint, unregistered: bool = False) -> WaveOutcome:
    try:
        return onboard(session, actor, directory, fiscal_year, row, checkpoint=checkpoint, unregistered=unregistered)
    except Exception as error:  # noqa: BLE001  (one municipality's failure must not stop the wave)
        session.rollback()
        return _failed(session, fiscal_year, row, error)


def _worker_directory(directory: IdentityDirectory) -> IdentityDirectory:
    """A directory for a worker thread (its own HTTP session and token, the answers already known
    shared: :meth:`IdentityDirectory.sibling`); test doubles are shared as they are."""
    return directory.sibling() if isinstance(directory, IdentityDirectory) else directory


def _onboard_in_worker(session: Session, bind: sa.engine.Engine | sa.engine.Connection, actor: Actor,
                       directory: IdentityDirectory, fiscal_year: int, row: WaveRow, unregistered: bool) -> WaveOutcome:
    """One municipality in a worker thread: its own session on the wave's database (``bind``, found
    in the caller's thread), its records steps of the act of ``session``, the wave's own."""
    with Session(bind=bind, expire_on_commit=False) as own, audit.part_of_act(own, session):
        return _onboard_or_fail(own, actor, directory, fiscal_year, row, own.commit, unregistered)


def _run_wave(session: Session, actor: Actor, directory: IdentityDirectory, fiscal_year: int, rows: Sequence[WaveRow], *,
              checkpoint: Checkpoint, progress: Callable[[WaveOutcome], None] | None,
              workers: int = 1) -> list[WaveOutcome]:
    authz.authorize(actor, "tenant.transition")
    registered = validate_wave(session, fiscal_year, rows)
    outcomes: list[WaveOutcome] = []
    if workers == 1:
        for row in rows:
            outcome = _onboard_or_fail(session, actor, directory, fiscal_year, row, checkpoint, row.code not in registered)
            outcomes.append(outcome)
            if progress is not None:
                progress(outcome)
    else:
        # shared rows first: two municipalities at once must not both create the default plans
        if session.scalar(sa.select(sa.func.count()).select_from(QuotaPlan)) == 0:
            quota_plans.load_default_plans(session, actor)
        checkpoint()
        local = threading.local()
        wave_session = session.registry() if isinstance(session, scoped_session) else session  # the caller's thread's
        bind = session.get_bind()

        def work(row: WaveRow) -> WaveOutcome:
            if not hasattr(local, "directory"):
                local.directory = _worker_directory(directory)
            return _onboard_in_worker(wave_session, bind, actor, local.directory, fiscal_year, row, row.code not in registered)

        by_code: dict[str, WaveOutcome] = {}
        with concurrent.futures.ThreadPoolExecutor(max_workers=workers, thread_name_prefix="wave") as pool:
            futures = {pool.submit(work, row): row for row in rows}
            for future in concurrent.futures.as_completed(futures):
                outcome = future.result()
                by_code[futures[future].code] = outcome
                if progress is not None:
                    progress(outcome)
        outcomes = [by_code[row.code] for row in rows]
    audit.record(session, actor, "onboarding.wave", "wave", f"FY{fiscal_year}",
                 after={"fiscal_year": fiscal_year, "rows": len(rows),
                        "active": sorted(o.code for o in outcomes if o.ok),
                        "not_active": {o.code: o.status for o in outcomes if not o.ok}})
    checkpoint()
    return outcomes


def _failed(session: Session, fiscal_year: int, row: WaveRow, error: Exception) -> WaveOutcome:
    tenant = find_tenant(session, row.code)
    if isinstance(error, DomainError):
        message_en = " ".join([error.message_en, *(f"[{p['message_en']}]" for p in error.problems)])
        message_ja = "".join([error.message_ja, *(f"［{p['message_ja']}］" for p in error.problems)])
    else:
        log.exception("onboarding %s in wave FY%s failed unexpectedly", row.code, fiscal_year)
        message_en = f"Unexpected error: {type(error).__name__}: {error}"
        message_ja = "予期しないエラーが発生しました。運用担当者に連絡してください。"
    return WaveOutcome(
        row.code, tenant.name_ja if tenant else reference_municipalities().get(row.code, {}).get("name_ja", ""),
        TenantStatus(tenant.status).value if tenant else "-", False,
        failed_step=error.details.get("failed_step", "") if isinstance(error, DomainError) else "",
        message_en=message_en, message_ja=message_ja,
    )


# --- reading ----------------------------------------------------------------------------------

def _readable(actor: Actor) -> list[str] | None:
    """The tenant codes the actor may read (``tenant.read``), or None for every tenant."""
    grant = authz.authorize(actor, "tenant.read")
    return None if grant.all_tenants else sorted(grant.tenant_codes)


def attention(session: Session, actor: Actor) -> dict[str, list[dict[str, Any]]]:
    """What onboarding needs from someone now, in two queries whatever the number of tenants:
    applications awaiting screening (applied or screening) and provisioning failures (a tenant in
    provisioning with a failed step), each ``{code, name_ja, name_en, status, step_label_ja, step_label_en}``."""
    codes = _readable(actor)
    waiting = sa.select(Tenant.code, Tenant.name_ja, Tenant.name_en, Tenant.status).where(
        Tenant.status.in_([TenantStatus.applied, TenantStatus.screening])).order_by(Tenant.code)
    failed = (sa.select(Tenant.code, Tenant.name_ja, Tenant.name_en, Tenant.status, ProvisioningStep.step)
              .join(ProvisioningStep, ProvisioningStep.tenant_id == Tenant.id)
              .where(Tenant.status == TenantStatus.provisioning, ProvisioningStep.status == "failed")
              .order_by(Tenant.code))
    if codes is not None:
        waiting, failed = waiting.where(Tenant.code.in_(codes)), failed.where(Tenant.code.in_(codes))

    def row(code, name_ja, name_en, status, step=None) -> dict[str, Any]:
        label = STEP_BY_NAME.get(step) if step else None
        return {"code": code, "name_ja": name_ja, "name_en": name_en, "status": TenantStatus(status).value,
                "step_label_ja": label.label_ja if label else None, "step_label_en": label.label_en if label else None}

    return {"awaiting_screening": [row(*r) for r in session.execute(waiting)],
            "provisioning_failures": [row(*r) for r in session.execute(failed)]}


def board(session: Session, actor: Actor) -> dict[str, Any]:
    """Tenants by status, counts per wave, and the failed provisioning step of each tenant that has one.

    Every tenant for someone who may read them all; a municipal user's board holds their own tenants.
    """
    codes = _readable(actor)
    query = sa.select(Tenant).order_by(Tenant.code)
    if codes is not None:
        query = query.where(Tenant.code.in_(codes))
    tenants = list(session.scalars(query))
    failures = {row.tenant_id: row for row in session.scalars(
        sa.select(ProvisioningStep).where(ProvisioningStep.status == "failed"))}
    steps_done = dict(session.execute(sa.select(ProvisioningStep.tenant_id, sa.func.count())
                                      .where(ProvisioningStep.status == "done").group_by(ProvisioningStep.tenant_id)).all())
    columns: dict[str, list[dict[str, Any]]] = {status.value: [] for status in TenantStatus}
    waves: dict[str, dict[str, int]] = {}
    for tenant in tenants:
        failure = failures.get(tenant.id)
        step = STEP_BY_NAME.get(failure.step) if failure is not None else None
        columns[TenantStatus(tenant.status).value].append({
            "code": tenant.code, "name_ja": tenant.name_ja, "name_en": tenant.name_en, "kind": TenantKind(tenant.kind).value,
            "wave_fiscal_year": tenant.wave_fiscal_year,
            "failed_step": failure.step if failure is not None and tenant.status == TenantStatus.provisioning else None,
            "failed_step_label_ja": step.label_ja if step and tenant.status == TenantStatus.provisioning else None,
            "error": failure.last_error if failure is not None and tenant.status == TenantStatus.provisioning else None,
            # every step done but not active: a guard (e.g. agreements not yet accepted) holds the activation
            "awaiting_activation": tenant.status == TenantStatus.provisioning and steps_done.get(tenant.id, 0) == len(STEPS),
        })
        wave = str(tenant.wave_fiscal_year) if tenant.wave_fiscal_year else "-"
        counts = waves.setdefault(wave, {status.value: 0 for status in TenantStatus})
        counts[TenantStatus(tenant.status).value] += 1
    return {
        "columns": columns,
        "counts": {status: len(items) for status, items in columns.items()},
        "active_municipalities": sum(1 for t in tenants if t.status == TenantStatus.active and TenantKind(t.kind) != TenantKind.prefecture),
        "waves": dict(sorted(waves.items())),
    }


def _iso(moment) -> str | None:
    return moment.isoformat() if moment is not None else None


def _timeline(session: Session, tenant: Tenant) -> list[dict[str, Any]]:
    return [
        {"from_status": TenantStatus(t.from_status).value if t.from_status else None,
         "to_status": TenantStatus(t.to_status).value, "at": _iso(t.at), "actor": t.actor_name or t.actor_subject,
         "actor_subject": t.actor_subject, "reason": t.reason}
        for t in history(session, tenant)
    ]


def timeline(session: Session, actor: Actor, code: str) -> list[dict[str, Any]]:
    """A tenant's status changes, oldest first (who, when, why), as JSON-able values; ``tenant.read`` on it."""
    authz.authorize(actor, "tenant.read", code)
    return _timeline(session, get_tenant(session, code))


def detail(session: Session, actor: Actor, code: str) -> dict[str, Any]:
    """Everything about one tenant's joining and leaving, as JSON-able values (API and views).

    Its status and next moves, checklists, provisioning steps, platform resources and timeline;
    ``tenant.read`` on that tenant.
    """
    authz.authorize(actor, "tenant.read", code)
    tenant = get_tenant(session, code)
    rows = {row.step: row for row in session.scalars(
        sa.select(ProvisioningStep).where(ProvisioningStep.tenant_id == tenant.id))}
    resource = platform_resource(session, tenant)
    record = session.scalars(sa.select(TenantOnboarding).where(TenantOnboarding.tenant_id == tenant.id)).one_or_none()
    return {
        "code": tenant.code,
        "name_ja": tenant.name_ja,
        "name_en": tenant.name_en,
        "status": TenantStatus(tenant.status).value,
        "status_label_ja": lifecycle.status_label(tenant.status),
        "wave_fiscal_year": tenant.wave_fiscal_year,
        "allowed_transitions": [t.name for t in lifecycle.allowed_transitions(tenant)]
                               + (["retry"] if tenant.status == TenantStatus.provisioning else []),
        "checklists": {
            name: [{"item": entry.key, "label_ja": entry.label_ja, "label_en": entry.label_en,
                    "checked": bool(row and row.checked), "checked_by": row.checked_by if row else "",
                    "checked_at": _iso(row.checked_at) if row else None, "note": row.note if row else ""}
                   for entry, row in lifecycle.checklist(session, tenant, name)]
            for name in (SCREENING, HANDOVER)
        },
        "provisioning": [
            {"step": step.name, "label_ja": step.label_ja, "label_en": step.label_en,
             "status": rows[step.name].status if step.name in rows else "pending",
             "attempts": rows[step.name].attempts if step.name in rows else 0,
             "error": rows[step.name].last_error if step.name in rows else "",
             "finished_at": _iso(rows[step.name].finished_at) if step.name in rows else None}
            for step in STEPS
        ],
        "platform_resources": None if resource is None else {
            "fiware_service": resource.fiware_service, "catalog_organization": resource.catalog_organization},
        "final_settlement_due": bool(record and record.final_settlement_due),
        "timeline": _timeline(session, tenant),
    }


def platform_resources(session: Session, actor: Actor) -> list[dict[str, Any]]:
    """The FIWARE service and data catalog organisation of each provisioned tenant the actor may read."""
    codes = _readable(actor)
    query = (sa.select(Tenant.code, Tenant.name_ja, PlatformResource.fiware_service, PlatformResource.catalog_organization)
             .join(PlatformResource, PlatformResource.tenant_id == Tenant.id).order_by(Tenant.code))
    if codes is not None:
        query = query.where(Tenant.code.in_(codes))
    return [{"code": code, "name_ja": name, "fiware_service": service, "catalog_organization": organization}
            for code, name, service, organization in session.execute(query)]

