"""The tenant lifecycle: an explicit transition table, pluggable guards, one error per illegal move.

::

    applied ──screen──▶ screening ──approve──▶ approved ──start_provisioning──▶ provisioning
                                                                                   │ activate
                                            suspended ◀──suspend── active ◀────────┘
                                                │      ──resume──▶
    any state except withdrawn ──withdraw──▶ withdrawn ──reapply (operator only)──▶ applied

Invariants:

* A status changes only through :func:`move` (or the verb functions built on it), which writes
  the :class:`~tenancy.registry.models.TenantTransition` row (who, when, why) through
  :func:`tenancy.registry.history.record_transition`, one audit record ``tenant.<transition>``, and one
  notification to the tenant's contacts, all in the caller's transaction.
* Everything that can refuse a move (authorization, the table, a missing reason, the guards) is
  checked before anything is written, so a refused move changes nothing and leaves no audit
  record or notification. Each refusal is its own :class:`IllegalTransition` subclass whose
  message says why and what to do; guard failures are :class:`GuardRefused` listing every unmet
  condition. Both are conflicts (HTTP 409).

Verbs: :func:`register_application`, :func:`screen`, :func:`approve` (the council calls it to
admit a municipality), :func:`activate`, :func:`reapply` and :func:`check_item` are here. The
moves with effects outside the database are in :mod:`tenancy.onboarding.saga`: ``provision``/``retry``
(the saga behind ``start_provisioning``), ``suspend``, ``resume`` and ``withdraw``; call those, not
:func:`move`, which changes only the status.

Guards (the pluggable part)
---------------------------

A guard is a callable ``guard(session, tenant, move) -> Iterable[dict]`` returning the problems
that block ``move`` (each made with :func:`core.db.problem`; an empty result lets the move
pass). ``move`` is a :class:`Move` (transition name, from/to status, actor, reason). Register one
with::

    from tenancy.lifecycle import register_guard
    register_guard(TenantStatus.approved, fees_paid, name="fees_paid")

Guards are keyed by target status and name; registering a name again replaces the guard of that
name. The defaults:

================  =====================================================================
target status     guards
================  =====================================================================
screening         ``admin_contact_set``
approved          ``screening_checklist_passed``, ``agreements_accepted`` (the default: the
                  recorded screening checklist item "agreements accepted"),
                  ``approved_by_operator``
provisioning      ``admin_contact_set``
active            ``provisioning_complete`` (when coming from provisioning)
================  =====================================================================

Governance and billing register theirs at start-up (``admin/wiring.py``). Registering a guard
named ``agreements_accepted`` for any status retires the default checklist-item guard: governance
checks the accepted agreement versions before ``active`` (a municipal admin accepts them, and the
first admin exists only after provisioning), so a tenant whose admin has not accepted yet stays in
``provisioning`` with every step done until :func:`tenancy.onboarding.saga.retry` (or ``activate``)
is run after the acceptance.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable, Iterable
from typing import Any, ClassVar

import sqlalchemy as sa
from sqlalchemy.orm import Session

from core import audit
from core import authz, outbox
from core import lifecycle as tables
from core.actor import Actor
from core.errors import Conflict, Invalid, problem
from core.calendar import jst_text_ja
from core.db import utcnow
from core.labelled import labels
from tenancy.errors import TenancyError, TenantNotFound
from tenancy.registry.history import record_transition
from tenancy.registry.models import Tenant, TenantKind, TenantStatus, TenantTransition
from tenancy.registry.operations import create_tenant
from tenancy.onboarding.models import PROVISIONING_STEPS, STEPS_LIFECYCLE, ChecklistItem, ProvisioningStep, StepStatus

S = TenantStatus


# The table, declared with the one mechanism (core.lifecycle); a refusal is this module's own
# IllegalTransition subclass per move (its words, below). The guards of a move are pluggable and
# keyed by its target status (register_guard), asked by check() after the table.
Transition = tables.Move

TENANTS = tables.Lifecycle("団体", "tenant", TenantStatus, labels(TenantStatus), (
    Transition("screen", frozenset({S.applied}), S.screening, "審査開始", "start screening"),
    Transition("approve", frozenset({S.screening}), S.approved, "承認", "approve"),
    Transition("start_provisioning", frozenset({S.approved}), S.provisioning, "環境構築開始", "start provisioning"),
    Transition("activate", frozenset({S.provisioning}), S.active, "利用開始", "activate"),
    Transition("suspend", frozenset({S.active}), S.suspended, "利用停止", "suspend", reason_required=True),
    Transition("resume", frozenset({S.suspended}), S.active, "利用再開", "resume"),
    Transition("withdraw", frozenset(set(S) - {S.withdrawn}), S.withdrawn, "脱退", "withdraw", reason_required=True),
    Transition("reapply", frozenset({S.withdrawn}), S.applied, "再申請", "re-apply", reason_required=True),
), initial=(S.applied,), refusal=lambda move, _status, tenant: REFUSALS[move.name](tenant))

TRANSITIONS: dict[str, Transition] = TENANTS.moves

# from -> to -> transition name: the table the board and the API read "what can happen next" from.
TABLE: dict[TenantStatus, dict[TenantStatus, str]] = {
    status: {t.target: t.name for t in TRANSITIONS.values() if status in t.sources} for status in S
}


def status_label(status: TenantStatus | str | None) -> str:
    return TenantStatus(status).ja if status else "（新規）"


# --- errors ------------------------------------------------------------------------------------

class LifecycleError(TenancyError):
    """Root of lifecycle refusals."""


class IllegalTransition(LifecycleError, tables.IllegalMove):
    """A move the transition table does not allow from the tenant's current status."""

    transition: ClassVar[str] = ""
    why_en: ClassVar[str] = ""
    why_ja: ClassVar[str] = ""

    def __init__(self, tenant: Tenant) -> None:
        status = TenantStatus(tenant.status)
        super().__init__(
            f"{tenant.name_en} ({tenant.code}) is {status.value}: {self.why_en} Nothing was changed.",
            f"{tenant.name_ja}（{tenant.code}）は現在「{status.ja}」です。{self.why_ja}変更は行っていません。",
            code=tenant.code, status=status.value, transition=self.transition,
        )


class CannotScreen(IllegalTransition):
    transition = "screen"
    why_en = "screening starts only from a received application (applied)."
    why_ja = "審査は「申請受付」の団体についてのみ開始できます。"


class CannotApprove(IllegalTransition):
    transition = "approve"
    why_en = "only a tenant under screening can be approved; start screening first."
    why_ja = "承認できるのは「審査中」の団体のみです。先に審査を開始してください。"


class NotApproved(IllegalTransition):
    transition = "start_provisioning"
    why_en = "provisioning starts only after approval (approved); a tenant already provisioning is finished with retry."
    why_ja = "環境構築は「承認済」の団体についてのみ開始できます（環境構築中の団体は再実行で完了させてください）。"


class CannotActivate(IllegalTransition):
    transition = "activate"
    why_en = "a tenant is activated only when its provisioning has finished (from provisioning)."
    why_ja = "利用開始できるのは環境構築を終えた「環境構築中」の団体のみです。"


class CannotSuspend(IllegalTransition):
    transition = "suspend"
    why_en = "only an active tenant can be suspended."
    why_ja = "利用停止できるのは「利用中」の団体のみです。"


class CannotResume(IllegalTransition):
    transition = "resume"
    why_en = "only a suspended tenant can resume."
    why_ja = "利用再開できるのは「利用停止」中の団体のみです。"


class AlreadyWithdrawn(IllegalTransition):
    transition = "withdraw"
    why_en = "the tenant has already withdrawn."
    why_ja = "この団体はすでに脱退しています。"


class CannotReapply(IllegalTransition):
    transition = "reapply"
    why_en = "only a withdrawn tenant can apply again."
    why_ja = "再申請できるのは「脱退」した団体のみです。"


class NothingToRetry(IllegalTransition):
    transition = "retry"
    why_en = "retry finishes the provisioning of a tenant in provisioning only."
    why_ja = "再実行できるのは「環境構築中」の団体のみです。"


REFUSALS: dict[str, type[IllegalTransition]] = {
    cls.transition: cls for cls in (CannotScreen, CannotApprove, NotApproved, CannotActivate, CannotSuspend,
                                    CannotResume, AlreadyWithdrawn, CannotReapply, NothingToRetry)
}


class GuardRefused(LifecycleError, Conflict):
    """The move is in the table but conditions for it are not met; ``problems`` lists each one."""

    def __init__(self, tenant: Tenant, transition: Transition, problems: list[dict[str, Any]]) -> None:
        super().__init__(
            f"{tenant.name_en} ({tenant.code}) cannot {transition.label_en} yet: "
            f"{len(problems)} condition(s) are not met. Nothing was changed.",
            f"{tenant.name_ja}（{tenant.code}）はまだ「{transition.label_ja}」できません。"
            f"満たしていない条件が {len(problems)} 件あります。変更は行っていません。",
            problems=problems, code=tenant.code, transition=transition.name,
        )


class PrefectureProtected(LifecycleError, Conflict):
    """The prefecture's own tenant runs the platform: suspending or withdrawing it would disable
    every platform operator (the caller included)."""

    def __init__(self, tenant: Tenant, transition: Transition) -> None:
        super().__init__(
            f"{tenant.name_en} ({tenant.code}) is the prefecture that runs the platform; it cannot "
            f"{transition.label_en}: that would sign out and disable every platform operator. Nothing was changed.",
            f"{tenant.name_ja}（{tenant.code}）は基盤を運営する県の団体のため「{transition.label_ja}」できません。"
            "行うと運営者（県）全員のアカウントが無効になります。変更は行っていません。",
            code=tenant.code, transition=transition.name,
        )


# moves the prefecture's own tenant never makes
PREFECTURE_FORBIDDEN = frozenset({"suspend", "withdraw"})


class ReasonRequired(LifecycleError, Invalid):
    def __init__(self, transition: Transition) -> None:
        super().__init__(
            f"Give the reason to {transition.label_en}; it is kept in the tenant's history.",
            f"「{transition.label_ja}」の理由を入力してください。理由は参加状態の履歴に残ります。",
            problems=[problem("reason", "A reason is required.", "理由は必須です。")],
        )


# --- checklists --------------------------------------------------------------------------------

SCREENING = "screening"
HANDOVER = "handover"


@dataclasses.dataclass(frozen=True)
class ChecklistEntry:
    key: str
    label_ja: str
    label_en: str


# The consortium's membership screening (参加審査) and the recorded agreements item.
SCREENING_ITEMS = (
    ChecklistEntry("application_received", "参加申込書の受領", "application form received"),
    ChecklistEntry("eligibility_confirmed", "参加資格の確認（県内の地方公共団体であること）",
                   "eligibility confirmed (a local government of the prefecture)"),
    ChecklistEntry("no_antisocial_ties", "反社会的勢力でないことの確認", "confirmed: no ties to anti-social forces"),
    ChecklistEntry("agreements_accepted", "共同利用協定・運用規約への同意", "joint-use agreement and operating rules accepted"),
)
AGREEMENTS_ITEM = "agreements_accepted"

# What must happen to the tenant's data after it withdraws (データの引き渡し).
HANDOVER_ITEMS = (
    ChecklistEntry("data_returned", "保有データの返却（引き渡し）", "the tenant's data handed back"),
    ChecklistEntry("data_erased", "基盤上のデータ消去の確認", "the tenant's data erased from the platform"),
    ChecklistEntry("erasure_certified", "データ消去証明書の交付", "erasure certificate issued"),
    ChecklistEntry("catalog_unpublished", "データカタログ掲載の終了", "data catalog entries unpublished"),
)
CHECKLISTS = {SCREENING: SCREENING_ITEMS, HANDOVER: HANDOVER_ITEMS}


class UnknownChecklistItem(LifecycleError, Invalid):
    def __init__(self, checklist: str, item: str) -> None:
        known = ", ".join(e.key for e in CHECKLISTS.get(checklist, ()))
        super().__init__(
            f"{checklist}/{item} is not a checklist item (items: {known or 'none'}).",
            f"{checklist}/{item} はチェック項目にありません（項目: {known or 'なし'}）。",
            problems=[problem("item", f"Unknown item {item!r}.", f"項目 {item!r} はありません。")],
        )


def checklist(session: Session, tenant: Tenant, name: str) -> list[tuple[ChecklistEntry, ChecklistItem | None]]:
    """Every item of checklist ``name`` with its stored row (None when never ticked)."""
    held = _remembered(session, _CHECKLISTS_HELD)
    rows = held.get((tenant.id, name)) if held is not None else None
    if rows is None:
        rows = {row.item: row for row in session.scalars(
            sa.select(ChecklistItem).where(ChecklistItem.tenant_id == tenant.id, ChecklistItem.checklist == name))}
    return [(entry, rows.get(entry.key)) for entry in CHECKLISTS[name]]


# The checklists :func:`check_items` has just read and written, kept for the rest of its transaction
# (the approval's guards read them next: a wave's municipality ticks its items, then is approved).
# Every other writer of checklist rows forgets them (:func:`forget_checklists`).
_CHECKLISTS_HELD = "renkei_checklists_held"


def forget_checklists(session: Session) -> None:
    session.info.pop(_CHECKLISTS_HELD, None)


def check_item(session: Session, actor: Actor, code: str, name: str, item: str, checked: bool = True,
               note: str = "") -> ChecklistItem:
    """Tick (or untick) one checklist item; audited as ``tenant.checklist`` when it changes."""
    authz.authorize(actor, "tenant.transition", code)
    if name not in CHECKLISTS or item not in {e.key for e in CHECKLISTS[name]}:
        raise UnknownChecklistItem(name, item)
    tenant = get_tenant(session, code)
    forget_checklists(session)
    row = session.scalars(sa.select(ChecklistItem).where(
        ChecklistItem.tenant_id == tenant.id, ChecklistItem.checklist == name, ChecklistItem.item == item)).one_or_none()
    if row is None:
        row = ChecklistItem(tenant_id=tenant.id, checklist=name, item=item)
        session.add(row)
    if row.checked == checked and (note or "") == (row.note or ""):
        return row
    before = {"checked": bool(row.checked), "note": row.note or ""}
    row.checked, row.note = checked, note or ""
    row.checked_at = utcnow() if checked else None
    row.checked_by = actor.recorded_name if checked else ""
    session.flush()
    audit.record(session, actor, "tenant.checklist", "tenant", code, tenant_code=code,
                 before={"item": f"{name}/{item}", **before}, after={"item": f"{name}/{item}", "checked": checked, "note": row.note})
    return row


def check_items(session: Session, actor: Actor, code: str, name: str, items: Iterable[str], note: str = "") -> None:
    """Tick several items of checklist ``name`` at once (a wave file's confirmations): as
    :func:`check_item` for each, one ``tenant.checklist`` audit record per item that changes, with
    the tenant and the checklist read once and the new rows written together."""
    items = list(items)
    authz.authorize(actor, "tenant.transition", code)
    known = {e.key for e in CHECKLISTS.get(name, ())}
    for item in items:
        if item not in known:
            raise UnknownChecklistItem(name, item)
    if not items:
        return
    tenant = get_tenant(session, code)
    rows = {row.item: row for row in session.scalars(sa.select(ChecklistItem).where(
        ChecklistItem.tenant_id == tenant.id, ChecklistItem.checklist == name))}
    changed = []
    for item in items:
        row = rows.get(item)
        if row is None:
            row = rows[item] = ChecklistItem(tenant_id=tenant.id, checklist=name, item=item)
            session.add(row)
        if row.checked and (note or "") == (row.note or ""):
            continue
        changed.append((item, {"checked": bool(row.checked), "note": row.note or ""}))
        row.checked, row.note, row.checked_at, row.checked_by = True, note or "", utcnow(), actor.recorded_name
    session.flush()
    _memory(session, _CHECKLISTS_HELD)[(tenant.id, name)] = rows  # every row of this checklist: those read and those just added
    for item, before in changed:
        audit.record(session, actor, "tenant.checklist", "tenant", code, tenant_code=code,
                     before={"item": f"{name}/{item}", **before}, after={"item": f"{name}/{item}", "checked": True, "note": note or ""})


def reset_checklist(session: Session, tenant: Tenant, name: str) -> None:
    forget_checklists(session)
    for row in session.scalars(sa.select(ChecklistItem).where(ChecklistItem.tenant_id == tenant.id,
                                                              ChecklistItem.checklist == name)):
        row.checked, row.checked_at, row.checked_by = False, None, ""
    session.flush()


# --- guards ------------------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class Move:
    transition: str
    from_status: TenantStatus
    to_status: TenantStatus
    actor: Actor
    reason: str


Guard = Callable[[Session, Tenant, Move], Iterable[dict[str, Any]]]
_GUARDS: dict[TenantStatus, dict[str, Guard]] = {status: {} for status in S}


def register_guard(to_status: TenantStatus | str, guard: Guard, *, name: str | None = None) -> None:
    """Add ``guard`` before every move to ``to_status``; a guard of the same ``name`` is replaced.

    Registering a real ``agreements_accepted`` guard (for any status) retires the default one,
    the recorded checklist item before approval: the real check supersedes the placeholder.
    """
    name = name or getattr(guard, "__name__", repr(guard))
    if name == AGREEMENTS_GUARD and guard is not agreements_accepted:
        for guards in _GUARDS.values():
            if guards.get(AGREEMENTS_GUARD) is agreements_accepted:
                del guards[AGREEMENTS_GUARD]
    _GUARDS[TenantStatus(to_status)][name] = guard


def unregister_guard(to_status: TenantStatus | str, name: str) -> None:
    _GUARDS[TenantStatus(to_status)].pop(name, None)


def guards_for(to_status: TenantStatus | str) -> dict[str, Guard]:
    return dict(_GUARDS[TenantStatus(to_status)])


def admin_contact_set(session: Session, tenant: Tenant, move: Move) -> list[dict[str, Any]]:
    if admin_contact(tenant) is None:
        return [problem("contacts", "No administrative contact with an e-mail address is registered.",
                        "事務担当者（メールアドレス付き）が登録されていません。")]
    return []


def screening_checklist_passed(session: Session, tenant: Tenant, move: Move) -> list[dict[str, Any]]:
    return [
        problem(f"checklist.screening.{entry.key}", f"Screening item not confirmed: {entry.label_en}.",
                f"審査項目が未確認です：{entry.label_ja}")
        for entry, row in checklist(session, tenant, SCREENING)
        if entry.key != AGREEMENTS_ITEM and not (row is not None and row.checked)
    ]


def agreements_accepted(session: Session, tenant: Tenant, move: Move) -> list[dict[str, Any]]:
    """Default until governance registers its check: the recorded checklist item."""
    rows = dict(checklist(session, tenant, SCREENING))
    row = next((r for e, r in rows.items() if e.key == AGREEMENTS_ITEM), None)
    if row is not None and row.checked:
        return []
    return [problem(f"checklist.screening.{AGREEMENTS_ITEM}",
                    "Acceptance of the joint-use agreement and operating rules is not recorded.",
                    "共同利用協定・運用規約への同意が確認されていません。")]


def approved_by_operator(session: Session, tenant: Tenant, move: Move) -> list[dict[str, Any]]:
    if authz.OPERATOR not in move.actor.roles:
        return [problem("actor", "Only the platform operator approves a tenant.", "参加の承認は運営者のみが行えます。")]
    return []


def provisioning_complete(session: Session, tenant: Tenant, move: Move) -> list[dict[str, Any]]:
    if move.from_status != TenantStatus.provisioning:
        return []
    held = _remembered(session, _STEPS_HELD)
    rows = held.get(tenant.id) if held is not None else None
    if rows is not None:
        done = {name for name, row in rows.items() if row.status == StepStatus.done}
    else:
        done = set(session.scalars(sa.select(ProvisioningStep.step).where(
            ProvisioningStep.tenant_id == tenant.id, ProvisioningStep.status == StepStatus.done)))
    return [problem(f"provisioning.{step.name}", f"Provisioning step not done: {step.label_en}.",
                    f"環境構築の手順が未完了です：{step.label_ja}") for step in PROVISIONING_STEPS if step.name not in done]


# The provisioning steps of the tenant whose saga runs in this transaction, read under the tenant's
# row lock (which every writer of those rows takes first) and kept up to date by the saga itself:
# its activation's guard reads them instead of asking again.
_STEPS_HELD = "renkei_steps_held"


def hold_steps(session: Session, tenant: Tenant, rows: dict[str, ProvisioningStep]) -> None:
    _memory(session, _STEPS_HELD)[tenant.id] = rows


AGREEMENTS_GUARD = "agreements_accepted"
DEFAULT_GUARDS: tuple[tuple[TenantStatus, str, Guard], ...] = (
    (S.screening, "admin_contact_set", admin_contact_set),
    (S.approved, "screening_checklist_passed", screening_checklist_passed),
    (S.approved, AGREEMENTS_GUARD, agreements_accepted),
    (S.approved, "approved_by_operator", approved_by_operator),
    (S.provisioning, "admin_contact_set", admin_contact_set),
    (S.active, "provisioning_complete", provisioning_complete),
)


def reset_guards() -> None:
    """Back to :data:`DEFAULT_GUARDS` only (tests; the app registers the others again at start-up)."""
    for guards in _GUARDS.values():
        guards.clear()
    for status, name, guard in DEFAULT_GUARDS:
        _GUARDS[status][name] = guard


reset_guards()


def agreements_item_in_use() -> bool:
    """True while the recorded checklist item is what stands for "agreements accepted"."""
    return any(guards.get(AGREEMENTS_GUARD) is agreements_accepted for guards in _GUARDS.values())


# --- moving ------------------------------------------------------------------------------------

def admin_contact(tenant: Tenant):
    """The tenant's administrative contact (role ``admin`` first, else the first with an e-mail)."""
    with_email = [c for c in tenant.contacts if c.email]
    return next((c for c in with_email if c.role == "admin"), with_email[0] if with_email else None)


_LOCKED = "renkei_tenants_locked"


def _transaction_key(session: Session) -> tuple[Any, Any]:
    if isinstance(session, sa.orm.scoped_session):  # the request's session (Flask-SQLAlchemy)
        session = session()
    return session.get_transaction(), session.get_nested_transaction()


def _remembered(session: Session, name: str) -> dict[Any, Any] | None:
    """What this transaction (or savepoint) has kept under ``name`` (:func:`_memory`); None when
    it has kept nothing there, or only an earlier transaction did."""
    held = session.info.get(name)
    return held[1] if held is not None and held[0] == _transaction_key(session) else None


def _memory(session: Session, name: str) -> dict[Any, Any]:
    """A memory kept in ``session.info`` under ``name`` for this transaction (or savepoint) only:
    a new transaction starts with an empty one."""
    held = _remembered(session, name)
    if held is None:
        held = {}
        session.info[name] = (_transaction_key(session), held)
    return held


def get_tenant(session: Session, code: str, *, lock: bool = False) -> Tenant:
    """The tenant, its row locked for the transaction on PostgreSQL when ``lock`` (two moves at once).

    Once locked (and read afresh), the row cannot change under the transaction that holds the
    lock, so later calls in that same transaction (or savepoint) return the tenant as it is in
    the session without asking again: the moves of a wave's municipality, committed together,
    read their tenant once."""
    held = _remembered(session, _LOCKED)
    if held is not None and code in held and held[code] in session:
        return held[code]
    # contacts only when asked for (admin_contact): a move reads the tenant many times and rarely them
    query = sa.select(Tenant).where(Tenant.code == code).options(sa.orm.lazyload(Tenant.contacts))
    if lock:
        query = query.with_for_update().execution_options(populate_existing=True)
    tenant = session.scalars(query).one_or_none()
    if tenant is None:
        raise TenantNotFound(code)
    if lock:
        _hold(session, tenant)
    return tenant


def _hold(session: Session, tenant: Tenant) -> None:
    """Remember that this transaction holds ``tenant``'s row (locked, or inserted by it: no other
    transaction sees a row before it is committed), so :func:`get_tenant` need not ask again."""
    _memory(session, _LOCKED)[tenant.code] = tenant  # in the transaction the query began, if none was open


def allowed_transitions(tenant: Tenant) -> list[Transition]:
    status = TenantStatus(tenant.status)
    prefecture = tenant.kind == TenantKind.prefecture
    return [t for t in TRANSITIONS.values()
            if status in t.sources and not (prefecture and t.name in PREFECTURE_FORBIDDEN)]


def check(session: Session, actor: Actor, tenant: Tenant, name: str, reason: str = "") -> Move:
    """Everything that can refuse ``name`` on ``tenant``, checked without writing anything."""
    authz.authorize(actor, "tenant.transition", tenant.code)
    transition = TRANSITIONS[name]
    status = TenantStatus(tenant.status)
    if status not in transition.sources:
        raise TENANTS.refuse(name, status, tenant)
    if name in PREFECTURE_FORBIDDEN and tenant.kind == TenantKind.prefecture:
        raise PrefectureProtected(tenant, transition)
    reason = (reason or "").strip()
    if transition.reason_required and not reason:
        raise ReasonRequired(transition)
    move = Move(name, status, transition.target, actor, reason)
    problems: list[dict[str, Any]] = []
    for guard in _GUARDS[transition.target].values():
        problems.extend(guard(session, tenant, move) or [])
    if problems:
        raise GuardRefused(tenant, transition, problems)
    return move


def enact(session: Session, tenant: Tenant, move: Move, *, details: dict[str, Any] | None = None) -> TenantTransition:
    """Write a move that :func:`check` passed: history row, audit record, notification."""
    row = record_transition(session, move.actor, tenant, move.to_status, move.reason)
    audit.record(session, move.actor, f"tenant.{move.transition}", "tenant", tenant.code, tenant_code=tenant.code,
                 before={"status": move.from_status.value},
                 after={"status": move.to_status.value, "reason": move.reason, **(details or {})})
    notify(session, tenant, row)
    return row


def move(session: Session, actor: Actor, code: str, name: str, reason: str = "", *,
         details: dict[str, Any] | None = None) -> TenantTransition:
    """Check and enact transition ``name`` of tenant ``code`` in the caller's transaction."""
    tenant = get_tenant(session, code, lock=True)
    checked = check(session, actor, tenant, name, reason)
    return enact(session, tenant, checked, details=details)


# The verbs other packages call (the council enacts "admit a municipality" with approve).

def screen(session: Session, actor: Actor, code: str, reason: str = "") -> TenantTransition:
    return move(session, actor, code, "screen", reason)


def approve(session: Session, actor: Actor, code: str, reason: str = "") -> TenantTransition:
    return move(session, actor, code, "approve", reason)


def activate(session: Session, actor: Actor, code: str, reason: str = "") -> TenantTransition:
    return move(session, actor, code, "activate", reason)


def reapply(session: Session, actor: Actor, code: str, reason: str) -> TenantTransition:
    """A withdrawn tenant applies again (operator only): screening and provisioning start afresh."""
    tenant = get_tenant(session, code, lock=True)
    checked = check(session, actor, tenant, "reapply", reason)
    reset_checklist(session, tenant, SCREENING)
    for step in session.scalars(sa.select(ProvisioningStep).where(ProvisioningStep.tenant_id == tenant.id)):
        step.status = STEPS_LIFECYCLE.move("reset", step.status).target
        step.last_error, step.finished_at = "", None
    return enact(session, tenant, checked)


def register_application(session: Session, actor: Actor, data, reason: str = "") -> Tenant:
    """A new tenant in ``applied`` (audited as ``tenant.create``), with the first row of its timeline."""
    authz.authorize(actor, "tenant.create")
    tenant = create_tenant(session, actor, data.model_copy(update={"status": TenantStatus.applied}))
    row = TenantTransition(tenant_id=tenant.id, from_status=None, to_status=TenantStatus.applied, at=tenant.created_at,
                           actor_issuer=actor.issuer, actor_subject=actor.subject, actor_name=actor.name,
                           reason=reason or "参加申込の受付")
    session.add(row)
    session.flush()
    _hold(session, tenant)  # inserted by this transaction: the moves that follow in it need not read it again
    notify(session, tenant, row)
    return tenant


# --- notifications -----------------------------------------------------------------------------

NEXT_STEPS_JA = {
    S.applied: "参加申込を受け付けました。審査の結果は追ってお知らせします。",
    S.screening: "参加審査を開始しました。確認事項について運営者からご連絡する場合があります。",
    S.approved: "参加が承認されました。続いて環境構築（管理者アカウントの発行等）を行います。",
    S.provisioning: "環境構築を開始しました。完了後に利用開始のお知らせをお送りします。",
    S.active: "エリアデータ連携基盤をご利用いただけます。管理者アカウントの初期設定（パスワード設定）のご案内を別途お送りします。",
    S.suspended: "利用を停止しました。停止中は貴団体の利用者はログインできません。負担金は停止した月の翌月分から算定の対象外となります。",
    S.withdrawn: "脱退の手続きを行いました。データの返却・消去および最終精算について、運営者から別途ご連絡します。",
}


def _jst_text(moment: dt.datetime) -> str:
    return f"{jst_text_ja(moment)}（日本時間）"


def notify(session: Session, tenant: Tenant, row: TenantTransition) -> None:
    """Queue the Japanese message about one status change (sent later; see core.outbox)."""
    to_status = TenantStatus(row.to_status)
    label = to_status.ja
    body = "\n".join([
        f"{tenant.name_ja} ご担当者様",
        "",
        "エリアデータ連携基盤（共同利用）における貴団体の参加状態が変わりましたので、お知らせします。",
        "",
        f"　団体コード：{tenant.code}",
        f"　変更前：{status_label(row.from_status)}",
        f"　変更後：{label}",
        f"　日時：{_jst_text(row.at)}",
        f"　理由：{row.reason or '（記載なし）'}",
        "",
        NEXT_STEPS_JA[to_status],
        "",
        "本メールは共同利用管理システム（renkei）から自動で送信しています。",
        "ご不明な点は運営者（県 デジタル戦略課）までお問い合わせください。",
    ])
    outbox.queue(session, kind=f"tenant.{to_status.value}", tenant=tenant, body=body,
                        subject=f"【エリアデータ連携基盤】{tenant.name_ja}：参加状態が「{label}」になりました",
                        dedupe_key=f"tenant-transition:{row.id}")
