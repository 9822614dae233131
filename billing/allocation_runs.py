"""Use cases of billing's allocation runs (按分計算): computing, reviewing, approving
(posting to the ledger), reversing and discarding. The conventions of every billing operation are
stated in :mod:`billing.operations`.

The life of an allocation run (按分計算)::

    computed ──review──▶ reviewed ──approve──▶ approved ──reverse──▶ reversed
        └──────────discard──────────┘ (never posted)

*Approve* posts the run to the ledger (one entry per payer, one for the year's costs) through
:mod:`billing.ledger`, the only writer of entries; approving an approved run posts nothing new.
*Reverse* posts a reversal entry for each of the run's entries; the run stays visible with
status ``reversed`` and a new run can then be computed and approved for the year.

The year's inputs (members, their months and usage) and previews are in :mod:`billing.allocation_previews`.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from billing import allocation, ledger
from billing.allocation_previews import _allocate_year
from billing.ledger_errors import (BillingConflict, BillingNotFound, FourEyesRefused, IllegalTransition,
                                   InvalidBillingData)
from billing.models import (RUN_ENTRY_KINDS, RUN_KIND_SLOT,
                            AllocationPolicy, AllocationRun, AllocationRunLine, CostItem, EntryKind, JournalEntry,
                            RunKind, RunStatus)
from billing.run_lifecycle import RUN_TRANSITIONS
from billing.operations import (_cost_items, _key, _manage, _same_person, cost_item_summary,
                                require_all_tenants)
from billing.allocation_policies import adopted_policy, get_policy, policy_summary
from billing.closed_years import refuse_if_closed
from billing.posted_year_guards import is_charged_twice
from billing.grants import grant_summary, year_grants
from billing.schemas import fraction_text
from core import audit, authz
from core.actor import Actor
from core.calendar import fiscal_year_ja, today_jst
from core.db import lock_key, utcnow
from tenancy.registry.models import Tenant

def _grants_snapshot(session: Session, fiscal_year: int, result: allocation.AllocationResult) -> list[dict[str, Any]]:
    """Each grant of the year as the run computed with it: the grant, its eligible costs and what it funds."""
    shares = {share.id: share for share in result.grants}
    rows = []
    for grant in year_grants(session, fiscal_year):
        share = shares[str(grant.id)]
        rows.append({**grant_summary(grant), "eligible": share.eligible, "by_rate": share.by_rate,
                     "amount": share.amount, "capped": share.capped})
    return rows


def default_year(session: Session, actor: Actor, this_year: int) -> int:
    """The year the billing pages open on: the fiscal year in progress when it has data, else the latest
    year with data up to it (a later year holds only amortised shares entered ahead), else this year."""
    grant = authz.authorize(actor, "billing.read")
    if grant.all_tenants:
        columns = (CostItem.fiscal_year, AllocationRun.fiscal_year)
        years = [session.scalar(sa.select(sa.func.max(column)).where(column <= this_year)) for column in columns]
    else:
        years = [session.scalar(sa.select(sa.func.max(JournalEntry.fiscal_year)).where(
            JournalEntry.kind == EntryKind.charge, JournalEntry.tenant_code.in_(sorted(actor.tenant_codes)),
            JournalEntry.fiscal_year <= this_year))]
    found = [year for year in years if year is not None]
    return max(found) if found else (latest_year_with_data(session, actor) or this_year)


def latest_year_with_data(session: Session, actor: Actor) -> int | None:
    """The latest fiscal year with cost items or runs (what finance opens on), or for someone who
    reads only their own tenant, the latest year with a posted charge to it."""
    grant = authz.authorize(actor, "billing.read")
    if not grant.all_tenants:
        return session.scalar(sa.select(sa.func.max(JournalEntry.fiscal_year)).where(
            JournalEntry.kind == EntryKind.charge, JournalEntry.tenant_code.in_(sorted(actor.tenant_codes))))
    years = [session.scalar(sa.select(sa.func.max(CostItem.fiscal_year))),
             session.scalar(sa.select(sa.func.max(AllocationRun.fiscal_year)))]
    years = [year for year in years if year is not None]
    return max(years) if years else None


def statement_years(session: Session, actor: Actor, tenant_code: str) -> list[int]:
    """The fiscal years for which the tenant has a posted charge (a statement), newest first."""
    authz.authorize(actor, "billing.read", tenant_code)
    reversed_ids = set(session.scalars(sa.select(JournalEntry.reverses_id).where(JournalEntry.reverses_id.is_not(None))))
    rows = session.execute(sa.select(JournalEntry.id, JournalEntry.fiscal_year).where(
        JournalEntry.kind == EntryKind.charge, JournalEntry.tenant_code == tenant_code)).all()
    return sorted({year for entry_id, year in rows if entry_id not in reversed_ids}, reverse=True)


def _computed(session: Session, fiscal_year: int, policy: AllocationPolicy):
    """The year's allocation by ``policy`` now, and the snapshot a run keeps of it."""
    items, prefecture, participants, tenants, result = _allocate_year(session, fiscal_year, policy)
    snapshot = {
        "fiscal_year": fiscal_year,
        "computed_at": utcnow().isoformat(),
        "policy": policy_summary(policy),
        "prefecture": {"code": prefecture.code, "name": prefecture.name_ja} if prefecture is not None else None,
        "cost_items": [cost_item_summary(item) for item in items],
        "participants": [
            {"code": p.code, "name": tenants[p.code].name_ja, "population": p.population,
             "population_source": tenants[p.code].population_source, "months": p.months, "usage": dict(p.usage)}
            for p in participants
        ],
        "total": result.total,
        "cost_total": result.cost_total,
        "grant_total": result.grant_total,
        "grants": _grants_snapshot(session, fiscal_year, result),
        "municipal_total": fraction_text(result.municipal_total),
        "scale": fraction_text(result.scale),
    }
    return prefecture, participants, tenants, result, snapshot


def _line_rows(result: allocation.AllocationResult, prefecture: Tenant | None, participants, tenants) -> list[AllocationRunLine]:
    usage_by_code = {participant.code: dict(participant.usage) for participant in participants}
    rows = []
    for line in result.lines:
        tenant = tenants.get(line.code) or prefecture
        rows.append(AllocationRunLine(
            tenant_code=line.code, tenant_name=tenant.name_ja, is_prefecture=line.is_prefecture,
            months=line.months, population=None if line.is_prefecture else tenant.population,
            population_source="" if line.is_prefecture else tenant.population_source,
            usage_json=json.dumps({} if line.is_prefecture else usage_by_code[line.code]),
            amount=line.amount, components_json=json.dumps(dict(line.components)), bound=line.bound,
        ))
    return rows


def _store(session: Session, run: AllocationRun, lines: list[AllocationRunLine]) -> AllocationRun:
    session.add(run)
    session.flush()
    for line in lines:
        line.run_id = run.id
        session.add(line)
    session.flush()
    return run


def create_run(session: Session, actor: Actor, fiscal_year: int, policy_id: int | None = None, *,
               kind: RunKind = RunKind.final) -> AllocationRun:
    """Snapshot a fiscal year's inputs and compute the shares (status ``computed``). ``kind`` is
    確定 (``final``, the year charged once) or 概算 (``provisional``: charged now, settled by a 精算
    once the grants are fixed and the costs known; see :func:`create_settlement`)."""
    _manage(actor)
    kind = RunKind(kind)
    if kind == RunKind.settlement:
        raise InvalidBillingData("a settlement is computed from the year's provisional run, not as a new run",
                                 "精算は概算の按分計算から行います（「精算する」を使ってください）。",
                                 problems=[{"field": "kind", "message_en": "Choose final or provisional.",
                                            "message_ja": "確定または概算を選んでください。"}])
    refuse_if_closed(session, fiscal_year)
    policy = get_policy(session, policy_id) if policy_id is not None else adopted_policy(session)
    if policy is None:
        raise InvalidBillingData("no allocation policy is adopted; adopt one or name a policy version",
                                 "採用中の按分方式がありません。按分方式を採用するか、使う版を指定してください。")
    prefecture, participants, tenants, result, snapshot = _computed(session, fiscal_year, policy)
    run = _store(session, AllocationRun(fiscal_year=fiscal_year, kind=kind, policy_id=policy.id, total=result.total,
                                        prefecture_code=result.prefecture_code, created_by=actor.recorded_name,
                                        created_by_key=_key(actor), snapshot_json=json.dumps(snapshot, ensure_ascii=False)),
                 _line_rows(result, prefecture, participants, tenants))
    audit.record(session, actor, "billing.run.create", "allocation_run", str(run.id),
                 after={"fiscal_year": fiscal_year, "kind": kind.value, "policy_id": policy.id, "total": result.total,
                        "cost_total": result.cost_total, "grant_total": result.grant_total,
                        "amounts": result.amounts()})
    return run


def posted_run_of_kind(session: Session, fiscal_year: int, kind: RunKind) -> AllocationRun | None:
    """The year's approved (posted, not reversed) run of ``kind``, if any."""
    return session.scalars(sa.select(AllocationRun).where(
        AllocationRun.fiscal_year == fiscal_year, AllocationRun.kind == kind,
        AllocationRun.status == RunStatus.approved)).first()


def settlement_due(session: Session, fiscal_year: int) -> AllocationRun | None:
    """The year's posted 概算 run while it has no posted 精算: the year a 精算 is due for (the finance
    page offers it; :func:`create_settlement` refuses, in words, what is still missing)."""
    provisional = posted_run_of_kind(session, fiscal_year, RunKind.provisional)
    if provisional is None or posted_run_of_kind(session, fiscal_year, RunKind.settlement) is not None:
        return None
    return provisional


def _refuse_settling(session: Session, fiscal_year: int) -> AllocationRun:
    """The year's posted 概算 run, which a 精算 can settle now; else a refusal saying what is missing."""
    era = fiscal_year_ja(fiscal_year)
    provisional = posted_run_of_kind(session, fiscal_year, RunKind.provisional)
    if provisional is None:
        raise BillingConflict(f"FY{fiscal_year} has no posted provisional (概算) run to settle",
                              f"{era}には計上済みの概算の按分計算がないため、精算できません。", fiscal_year=fiscal_year)
    settled = posted_run_of_kind(session, fiscal_year, RunKind.settlement)
    if settled is not None:
        raise BillingConflict(
            f"FY{fiscal_year} is settled by run #{settled.id}; reverse it before settling again",
            f"{era}は按分計算 #{settled.id} で精算済みです。精算し直す場合は先に #{settled.id} を取り消してください。",
            fiscal_year=fiscal_year, run_id=settled.id)
    unfixed = [grant.name for grant in year_grants(session, fiscal_year) if grant.fixed_amount is None]
    if unfixed:
        raise BillingConflict(
            f"the grants of FY{fiscal_year} are not fixed yet (額の確定): {', '.join(unfixed)}; record their fixed amounts first",
            f"{era}の交付金の額が確定していません（{'、'.join(unfixed)}）。先に確定額を登録してください。",
            fiscal_year=fiscal_year)
    return provisional


def create_settlement(session: Session, actor: Actor, fiscal_year: int) -> AllocationRun:
    """Compute the year's 精算: the shares again with the actual cost items and the grants' fixed amounts,
    by the 概算 run's policy, and per payer only the difference from what the 概算 charged (a refund
    when negative, an additional charge when positive). Reviewed and approved like any run; approving
    posts the differences as new entries, never editing the 概算's. The differences add up exactly to
    the change in the total shared."""
    _manage(actor)
    refuse_if_closed(session, fiscal_year)
    provisional = _refuse_settling(session, fiscal_year)
    policy = get_policy(session, provisional.policy_id)
    prefecture, participants, tenants, result, snapshot = _computed(session, fiscal_year, policy)
    before = json.loads(provisional.snapshot_json)
    estimated = {line.tenant_code: line for line in run_lines(session, provisional)}
    actual = {line.tenant_code: line for line in _line_rows(result, prefecture, participants, tenants)}
    actual_amounts = {code: line.amount for code, line in actual.items()}
    lines = []
    for code in sorted(set(estimated) | set(actual)):
        line = actual.get(code)
        if line is None:  # charged by the 概算, no share in the actual year: all of it comes back
            old = estimated[code]
            line = AllocationRunLine(tenant_code=code, tenant_name=old.tenant_name, is_prefecture=old.is_prefecture,
                                     months=0, population=old.population, population_source=old.population_source,
                                     usage_json="{}", amount=0, components_json="{}", bound=None)
        line.amount = line.amount - (estimated[code].amount if code in estimated else 0)
        lines.append(line)
    grants_before = {str(grant["id"]): grant["amount"] for grant in before.get("grants", [])}
    grants_now = {str(grant["id"]): grant for grant in snapshot["grants"]}
    snapshot["settlement"] = {
        "settles_run_id": provisional.id,
        "provisional": {"total": provisional.total, "cost_total": before.get("cost_total", provisional.total),
                        "grant_total": before.get("grant_total", 0),
                        "amounts": {code: line.amount for code, line in estimated.items()}},
        "actual_amounts": actual_amounts,
        "grant_differences": [
            {"id": grant_id, "name": grant["name"], "amount": grant["amount"] - grants_before.get(grant_id, 0)}
            for grant_id, grant in sorted(grants_now.items())],
        "cost_differences": _cost_differences(before["cost_items"], snapshot["cost_items"]),
    }
    run = _store(session, AllocationRun(fiscal_year=fiscal_year, kind=RunKind.settlement, settles_run_id=provisional.id,
                                        policy_id=policy.id, total=result.total - provisional.total,
                                        prefecture_code=result.prefecture_code, created_by=actor.recorded_name,
                                        created_by_key=_key(actor), snapshot_json=json.dumps(snapshot, ensure_ascii=False)),
                 lines)
    audit.record(session, actor, "billing.run.settle", "allocation_run", str(run.id),
                 after={"fiscal_year": fiscal_year, "kind": RunKind.settlement.value, "settles_run_id": provisional.id,
                        "policy_id": policy.id, "total": run.total, "actual_total": result.total,
                        "provisional_total": provisional.total,
                        "differences": {line.tenant_code: line.amount for line in lines}})
    return run


def _cost_differences(before: list[dict[str, Any]], now: list[dict[str, Any]]) -> dict[str, int]:
    """Per cost category, the actual costs less those the 概算 took."""
    totals: dict[str, int] = {}
    for sign, items in ((-1, before), (1, now)):
        for item in items:
            totals[item["category"]] = totals.get(item["category"], 0) + sign * item["amount"]
    return dict(sorted(totals.items()))


def get_run(session: Session, run_id: int, *, lock: bool = False) -> AllocationRun:
    """The run; ``lock`` takes its row lock (and rereads it) so that two approvals or reversals
    of the same run queue up and the second sees the first's outcome (:func:`core.db.lock_key` first:
    SQLite has no row lock, and its reads before the first write are not in the transaction)."""
    if lock:
        lock_key(session, "billing.run", run_id)
    run = session.get(AllocationRun, run_id, with_for_update=lock, populate_existing=lock)
    if run is None:
        raise BillingNotFound(f"no allocation run {run_id}", f"按分計算 {run_id} はありません。", run_id=run_id)
    return run


def read_run(session: Session, actor: Actor, run_id: int) -> AllocationRun:
    """One run (its lines show every tenant's share: see :func:`require_all_tenants`)."""
    require_all_tenants(actor)
    return get_run(session, run_id)


def list_runs(session: Session, actor: Actor, fiscal_year: int | None = None) -> list[AllocationRun]:
    require_all_tenants(actor)
    query = sa.select(AllocationRun).order_by(AllocationRun.fiscal_year, AllocationRun.id)
    if fiscal_year is not None:
        query = query.where(AllocationRun.fiscal_year == fiscal_year)
    return list(session.scalars(query))


def run_lines(session: Session, run: AllocationRun) -> list[AllocationRunLine]:
    return list(session.scalars(sa.select(AllocationRunLine).where(AllocationRunLine.run_id == run.id)
                                .order_by(AllocationRunLine.tenant_code)))


def run_funding(run: AllocationRun) -> dict[str, int]:
    """事業費 (``cost_total``), 交付金充当額 (``grant_total``) and 負担対象額 (``total``, what the
    payers share) of a run, from its snapshot (a run computed before grants existed had none)."""
    snapshot = json.loads(run.snapshot_json)
    grant_total = snapshot.get("grant_total", 0)
    return {"cost_total": snapshot.get("cost_total", run.total + grant_total), "grant_total": grant_total}


def run_summary(run: AllocationRun, lines: list[AllocationRunLine] | None = None) -> dict[str, Any]:
    summary: dict[str, Any] = {
        "id": run.id,
        "fiscal_year": run.fiscal_year,
        "status": RunStatus(run.status).value,
        "status_ja": RunStatus(run.status).ja,
        "kind": RunKind(run.kind).value,
        "kind_ja": RunKind(run.kind).ja,
        "settles_run_id": run.settles_run_id,
        "policy_id": run.policy_id,
        "total": run.total,
        **run_funding(run),
        "prefecture_code": run.prefecture_code,
        "created_at": run.created_at.isoformat() if run.created_at else None,
        "created_by": run.created_by,
        "reviewed_by": run.reviewed_by,
        "review_note": run.review_note,
        "approved_by": run.approved_by,
        "posted_on": run.posted_on.isoformat() if run.posted_on else None,
        "reversed_by": run.reversed_by,
        "reversal_reason": run.reversal_reason,
        "four_eyes": run.four_eyes,
    }
    if lines is not None:
        summary["lines"] = [
            {"tenant_code": line.tenant_code, "tenant_name": line.tenant_name, "is_prefecture": line.is_prefecture,
             "months": line.months, "population": line.population, "population_source": line.population_source,
             "usage": json.loads(line.usage_json), "amount": line.amount,
             "components": json.loads(line.components_json), "bound": line.bound}
            for line in lines
        ]
        summary["snapshot"] = json.loads(run.snapshot_json)
    return summary


RUN_ACTION_LABELS_JA = {name: move.label_ja for name, move in RUN_TRANSITIONS.items()}


def allowed_run_actions(run: AllocationRun) -> list[str]:
    """The actions (review, approve, reverse, discard) the run's status allows now."""
    status = RunStatus(run.status)
    return [name for name, move in RUN_TRANSITIONS.items() if status in move.sources]


def _move(run: AllocationRun, action: str) -> RunStatus:
    """The status ``action`` moves ``run`` to, by :data:`billing.run_lifecycle.RUN_TRANSITIONS` (the table
    the database guard is built from too); refused when the run's status is not one of its sources."""
    move = RUN_TRANSITIONS[action]
    allowed, label_ja = move.sources, move.label_ja
    current = RunStatus(run.status)
    if current not in allowed:
        needed = "、".join(status.ja for status in sorted(allowed, key=lambda s: s.value))
        raise IllegalTransition(
            f"allocation run #{run.id} is {current.value}; only a run that is "
            f"{' or '.join(sorted(status.value for status in allowed))} can be {move.target.value}",
            f"按分計算 #{run.id} は「{current.ja}」のため{label_ja}できません"
            f"（{label_ja}できるのは「{needed}」の按分計算です）。",
            run_id=run.id, status=current.value,
        )
    return move.target


FOUR_EYES_APPROVE_JA = "計算または確認をした担当者は承認できません。別の財政担当者が承認してください。"


def four_eyes_refusals(run: AllocationRun, actor: Actor) -> dict[str, tuple[str, str]]:
    """The steps (review, approve) the four-eyes rule would refuse ``actor`` on this run, with why
    (Japanese, English): for pages that explain instead of offering a button that will be refused."""
    refusals = {}
    if _same_person(actor, run.created_by_key, run.created_by) or _same_person(actor, run.reviewed_by_key, run.reviewed_by):
        refusals["approve"] = (FOUR_EYES_APPROVE_JA,
                               "You computed or reviewed this run; another finance officer must approve it.")
    return refusals


def review_run(session: Session, actor: Actor, run_id: int, note: str = "", *, four_eyes: bool = True) -> AllocationRun:
    """Mark a computed run as reviewed. The person who computed it may review it: four eyes means
    that two different finance officers take part, so it is the approval (:func:`approve_run`)
    that must come from someone who neither computed nor reviewed the run. Without ``four_eyes``
    (the setting is the caller's), the run records that the rule was off."""
    _manage(actor)
    run = get_run(session, run_id)
    target = _move(run, "review")
    run.status = target
    run.reviewed_at, run.reviewed_by, run.review_note = utcnow(), actor.recorded_name, note
    run.reviewed_by_key = _key(actor)
    run.four_eyes = bool(run.four_eyes and four_eyes)
    session.flush()
    audit.record(session, actor, "billing.run.review", "allocation_run", str(run.id),
                 before={"status": "computed"}, after={"status": "reviewed", "note": note, "four_eyes": four_eyes})
    return run


def discard_run(session: Session, actor: Actor, run_id: int) -> AllocationRun:
    _manage(actor)
    run = get_run(session, run_id)
    before = RunStatus(run.status).value
    run.status = _move(run, "discard")
    session.flush()
    audit.record(session, actor, "billing.run.discard", "allocation_run", str(run.id),
                 before={"status": before}, after={"status": "discarded"})
    return run


def _entry_word(run: AllocationRun, amount: int) -> str:
    kind = RunKind(run.kind)
    if kind == RunKind.settlement:
        return " 精算（追加納付）" if amount > 0 else " 精算（還付）"
    return " 概算" if kind == RunKind.provisional else ""


def _run_entries(run: AllocationRun, lines: list[AllocationRunLine], posted_on: dt.date, who: str) -> list[ledger.NewEntry]:
    snapshot = json.loads(run.snapshot_json)
    entries = []
    for line in lines:
        if line.amount == 0:
            continue
        income = ledger.PREFECTURE_SHARE if line.is_prefecture else ledger.COST_RECOVERY
        entries.append(ledger.NewEntry(
            idempotency_key=f"run:{run.id}:charge:{line.tenant_code}", kind=EntryKind.charge,
            fiscal_year=run.fiscal_year, occurred_on=posted_on,
            legs=(ledger.debit(ledger.receivable(line.tenant_code), line.amount), ledger.credit(income, line.amount)),
            description=f"{fiscal_year_ja(run.fiscal_year)} 負担金{_entry_word(run, line.amount)} {line.tenant_name}（按分計算 #{run.id}）",
            tenant_code=line.tenant_code, run_id=run.id, created_by=who,
        ))
    settlement = snapshot.get("settlement")
    for grant in settlement["grant_differences"] if settlement else snapshot.get("grants", []):
        if grant["amount"] == 0:
            continue
        entries.append(ledger.NewEntry(
            idempotency_key=f"run:{run.id}:grant:{grant['id']}", kind=EntryKind.grant, fiscal_year=run.fiscal_year,
            occurred_on=posted_on,
            legs=(ledger.debit(ledger.grant_receivable(grant["id"]), grant["amount"]),
                  ledger.credit(ledger.GRANT_REVENUE, grant["amount"])),
            description=f"{fiscal_year_ja(run.fiscal_year)} 交付金充当額 {grant['name']}（按分計算 #{run.id}）",
            run_id=run.id, created_by=who,
        ))
    by_category: dict[str, int] = {}
    for item in snapshot["cost_items"]:
        by_category[item["category"]] = by_category.get(item["category"], 0) + item["amount"]
    if settlement:  # a 精算 posts only what the actual costs add to (or take from) the 概算's
        by_category = dict(settlement["cost_differences"])
    cost_legs = [ledger.debit(ledger.cost_account(category), amount) for category, amount in sorted(by_category.items()) if amount]
    payable = sum(by_category.values())
    if cost_legs and (payable or len(cost_legs) > 1):
        entries.append(ledger.NewEntry(
            idempotency_key=f"run:{run.id}:costs", kind=EntryKind.cost, fiscal_year=run.fiscal_year,
            occurred_on=posted_on, legs=(*cost_legs, *([ledger.credit(ledger.PAYABLE, payable)] if payable else ())),
            description=f"{fiscal_year_ja(run.fiscal_year)} 費用の計上（按分計算 #{run.id}）", run_id=run.id, created_by=who,
        ))
    return entries


def approve_run(session: Session, actor: Actor, run_id: int, *, posted_on: dt.date | None = None,
                four_eyes: bool = True) -> AllocationRun:
    """Approve a reviewed run and post it to the ledger. Approving an approved run posts nothing.

    With ``four_eyes`` (the default; the setting is the caller's, e.g. ``RENKEI_FOUR_EYES``), the
    approver is neither the person who computed the run nor the one who reviewed it. Switched off
    (a one-person office), the run and the audit record keep that the rule did not apply.
    A run whose cost items changed since it was computed is refused: it would post costs that
    are no longer invoiced (or leave new ones unshared). Compute a new run instead.
    """
    _manage(actor)
    run = get_run(session, run_id, lock=True)
    if four_eyes and (_same_person(actor, run.created_by_key, run.created_by)
                      or _same_person(actor, run.reviewed_by_key, run.reviewed_by)):  # approved or not (issue 36)
        raise FourEyesRefused(
            f"You computed or reviewed allocation run #{run.id}; another finance officer must approve it (four eyes).",
            FOUR_EYES_APPROVE_JA, run_id=run.id, rule="four_eyes",
        )
    if RunStatus(run.status) == RunStatus.approved:
        return run
    target = _move(run, "approve")
    _check_never_approved(session, run)
    _check_costs_unchanged(session, run)
    _check_slot_free(session, run)
    posted_on = posted_on or today_jst()
    try:
        entry_ids = ledger.post_entries(session, _run_entries(run, run_lines(session, run), posted_on, actor.recorded_name))
    except Exception as error:  # the database's own rule (two approvals at once, or a run set back outside renkei)
        if not is_charged_twice(error):
            raise
        raise BillingConflict(
            f"FY{run.fiscal_year} already has posted charges of another run of this kind; nothing was posted",
            f"{fiscal_year_ja(run.fiscal_year)}には同じ種類の別の按分計算の負担金が計上されています。何も計上していません。",
            run_id=run.id) from None
    _check_only_its_entries(session, run, entry_ids)
    run.status = target
    run.approved_at, run.approved_by, run.posted_on = utcnow(), actor.recorded_name, posted_on
    run.four_eyes = bool(run.four_eyes and four_eyes)
    session.flush()
    audit.record(session, actor, "billing.run.approve", "allocation_run", str(run.id),
                 before={"status": "reviewed"},
                 after={"status": "approved", "posted_on": posted_on.isoformat(), "entries": entry_ids, "total": run.total,
                        "four_eyes": four_eyes, "single_person_approval": not run.four_eyes})
    return run


def _check_slot_free(session: Session, run: AllocationRun) -> None:
    """A year is charged once (確定 or 概算) and settled once (精算, only while its 概算 stands)."""
    era = fiscal_year_ja(run.fiscal_year)
    kind = RunKind(run.kind)
    others = session.scalars(sa.select(AllocationRun).where(
        AllocationRun.fiscal_year == run.fiscal_year, AllocationRun.status == RunStatus.approved,
        AllocationRun.id != run.id)).all()
    other = next((found for found in others if RUN_KIND_SLOT[RunKind(found.kind)] == RUN_KIND_SLOT[kind]), None)
    if other is not None:
        raise BillingConflict(
            f"FY{run.fiscal_year} already has a posted run (#{other.id}); reverse it before approving run #{run.id}",
            f"{era}は按分計算 #{other.id}（{RunKind(other.kind).ja}）が計上済みです。"
            f"#{run.id} を承認する前に #{other.id} を取り消してください。",
            run_id=run.id, posted_run_id=other.id,
        )
    if kind == RunKind.settlement and not any(found.id == run.settles_run_id for found in others):
        raise BillingConflict(
            f"run #{run.id} settles run #{run.settles_run_id}, which is no longer posted; compute the settlement again",
            f"按分計算 #{run.id} が精算する概算 #{run.settles_run_id} は計上されていません。精算をやり直してください。",
            run_id=run.id, settles_run_id=run.settles_run_id)


def _check_never_approved(session: Session, run: AllocationRun) -> None:
    """A run is approved once: its approval (the approve move's record columns) and the approval's
    audit record are written once. A run that carries an approval, or has one in the audit
    log, yet is not approved had its status set back outside renkei; approving it again would post
    nothing new but overwrite who approved it and record a second approval."""
    recorded = session.scalar(
        sa.select(audit.AuditRecord.seq).where(audit.AuditRecord.action == "billing.run.approve",
                                               audit.AuditRecord.target_type == "allocation_run",
                                               audit.AuditRecord.target_id == str(run.id)).limit(1))
    if any(getattr(run, column) for column in RUN_TRANSITIONS["approve"].records) or recorded is not None:
        raise IllegalTransition(
            f"allocation run #{run.id} was approved before (audit record {recorded}, by {run.approved_by or 'unknown'}); "
            f"a run is approved once: compute a new run",
            f"按分計算 #{run.id} はすでに承認された記録があります（操作ログ {recorded}、承認者 {run.approved_by or '不明'}）。"
            f"承認は一度だけです。新しく按分計算を行ってください。",
            run_id=run.id, audit_seq=recorded,
        )


def _check_only_its_entries(session: Session, run: AllocationRun, entry_ids: list[int]) -> None:
    """The run's entries are exactly those its approval just posted: an entry someone else wrote
    under the run (its id or its keys) would count as the run's without being one of its lines."""
    foreign = session.scalars(
        sa.select(JournalEntry.idempotency_key)
        .where(sa.or_(JournalEntry.run_id == run.id, JournalEntry.idempotency_key.startswith(f"run:{run.id}:")),
               JournalEntry.id.not_in(entry_ids))
        .limit(1)
    ).first()
    if foreign is not None:
        raise BillingConflict(
            f"Journal entry {foreign} claims allocation run #{run.id} but is not one of its lines; nothing was posted.",
            f"仕訳 {foreign} は按分計算 #{run.id} のものとされていますが、その明細ではありません。何も計上していません。",
            run_id=run.id, idempotency_key=foreign,
        )


def _check_costs_unchanged(session: Session, run: AllocationRun) -> None:
    def key(item: dict[str, Any]) -> tuple:
        return item["id"], item["amount"], item["category"]

    def grant_key(grant: dict[str, Any]) -> tuple:
        return (grant["id"], grant["rate"], grant["categories"], grant["item_ids"], grant["cap"],
                grant.get("rounding", "yen"), grant.get("fixed_amount_authoritative", False))

    taken = json.loads(run.snapshot_json)
    snapshot = sorted(key(item) for item in taken["cost_items"])
    current = sorted(key(cost_item_summary(item)) for item in _cost_items(session, run.fiscal_year))
    grants_then = sorted(grant_key(grant) for grant in taken.get("grants", []))
    grants_now = sorted(grant_key(grant_summary(grant)) for grant in year_grants(session, run.fiscal_year))
    if grants_then != grants_now:
        raise BillingConflict(
            f"The grants of FY{run.fiscal_year} changed after run #{run.id} was computed; compute a new run and approve that one.",
            f"按分計算 #{run.id} の計算後に{fiscal_year_ja(run.fiscal_year)}の交付金が変更されました。新しく按分計算を行い、そちらを承認してください。",
            run_id=run.id,
        )
    if snapshot != current:
        raise BillingConflict(
            f"The cost items of FY{run.fiscal_year} changed after run #{run.id} was computed; compute a new run and approve that one.",
            f"按分計算 #{run.id} の計算後に{fiscal_year_ja(run.fiscal_year)}の費目が変更されました。新しく按分計算を行い、そちらを承認してください。",
            run_id=run.id,
        )


def run_entry_ids(session: Session, run: AllocationRun) -> list[int]:
    """The run's own posted entries (charges, costs and grants), not their reversals."""
    return list(session.scalars(
        sa.select(JournalEntry.id).where(JournalEntry.run_id == run.id, JournalEntry.reverses_id.is_(None),
                                         JournalEntry.kind.in_(RUN_ENTRY_KINDS))
        .order_by(JournalEntry.id)
    ))


def reverse_run(session: Session, actor: Actor, run_id: int, reason: str, *,
                reversed_on: dt.date | None = None) -> AllocationRun:
    """Undo a posted run with reversal entries; the run stays visible with status ``reversed``."""
    _manage(actor)
    run = get_run(session, run_id, lock=True)
    if RunStatus(run.status) == RunStatus.reversed:
        return run
    reason = (reason or "").strip()
    if not reason:
        raise InvalidBillingData("say why the run is reversed", "取消の理由を入力してください。",
                                 problems=[{"field": "reason", "message_en": "required", "message_ja": "必須項目です。"}])
    target = _move(run, "reverse")
    settling = session.scalars(sa.select(AllocationRun).where(AllocationRun.settles_run_id == run.id,
                                                              AllocationRun.status == RunStatus.approved)).first()
    if settling is not None:
        raise BillingConflict(
            f"provisional run #{run.id} is settled by run #{settling.id}; reverse the settlement first",
            f"概算の按分計算 #{run.id} は #{settling.id} で精算済みです。先に精算（#{settling.id}）を取り消してください。",
            run_id=run.id, settled_by=settling.id)
    reversed_on = reversed_on or today_jst()
    reversal_ids = ledger.reverse_entries(
        session, run_entry_ids(session, run), occurred_on=reversed_on,
        description=f"取消（按分計算 #{run.id}）: {reason}"[:500], created_by=actor.recorded_name,
    )
    run.status = target
    run.reversed_at, run.reversed_by, run.reversal_reason = utcnow(), actor.recorded_name, reason
    session.flush()
    audit.record(session, actor, "billing.run.reverse", "allocation_run", str(run.id),
                 before={"status": "approved"},
                 after={"status": "reversed", "reason": reason, "reversal_entries": reversal_ids,
                        "reversed_on": reversed_on.isoformat()})
    return run
