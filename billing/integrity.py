"""Integrity of billing as a whole: what ``renkei check`` asks of the runs, the ledger and the accounts.

The database guards (:data:`billing.ledger_guards.LEDGER_GUARD_DDL`) stop changes through the
application; these checks look at the result, so they also notice what a restore lost or what
someone with the owner's rights did:

* ``runs``: every approved (or later reversed) run has exactly its lines posted: one posted
  charge per nonzero line and one posted cost entry, each under the run's idempotency key with
  exactly the legs the approval would post (:func:`billing.allocation_runs._run_entries`, the one
  place that says what a run posts), no other entry under the run's keys, and nothing
  ``pending`` under them. A reversed run's entries are each reversed.
* ``years``: in each fiscal year the charges (income: municipalities' and the prefecture's
  shares) and the grants (grant revenue) add up to the costs (the cost accounts), reversals included; and those charges are the
  costs of exactly one approved run, every posted charge and cost not reversed being that run's
  (so a run set back from approved and discarded with its entries left in the ledger, and another
  approved, is named with the year, the runs and the entries).
* ``payments``: every posted payment entry has the audit record its recording wrote
  (:data:`billing.operations.PAYMENT_ACTION`, :func:`billing.operations.record_payment`) for the
  same entry, tenant, amount and fiscal year, and the entry's ``created_by`` is that record's
  actor: a balanced payment the application role posts by raw SQL (it holds the ledger writer's
  rights) has none. Payments older than the oldest audit record kept (the log's purged part) are
  counted, not matched.
* ``payments`` (bank lines): every posted payment entry has a bank line behind it
  (:class:`billing.bank_models.BankPayment`) or a manual payment approved by a second person
  (:class:`billing.bank_models.ManualPayment`), :func:`check_payment_evidence`.
* ``closed years``: nothing of a closed fiscal year (決算) changed after its close: no entry of the
  year is pending, none was created after the close, the year's 収支決算 from the ledger still has the
  figures the close recorded (:func:`_figures`), and every allocation run of the year (its columns, its snapshot, its
  lines) still has the SHA-256 the close's audit record keeps (:func:`billing.year_close.run_digests`;
  closes recorded before the digests were kept are counted, not compared). The database guards
  (:mod:`billing.year_close_guards`) refuse these writes; this names what the owner's rights did.
* ``accounts``: every receivable account belongs to the registered tenant its code names, and
  every posting on a receivable account is for that account's tenant (a swapped or renamed
  account breaks this).

Each check reads the database only; nothing here writes. The policy action is ``system.check``.
"""

from __future__ import annotations

import dataclasses
import json
from collections import Counter, defaultdict
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session, aliased

from billing import ledger
from billing.models import (RUN_ENTRY_KINDS, RUN_KIND_SLOT, RunKind, Account, AllocationRun, AllocationRunLine, EntryKind, EntryStatus,
                            JournalEntry, Posting, RunStatus, YearClose, YearCloseStatus)
from core import authz
from core.actor import Actor
from core.audit import AuditAnchor, AuditRecord
from core.calendar import fiscal_year_ja
from tenancy.registry.models import Tenant


@dataclasses.dataclass(frozen=True)
class Finding:
    """One problem: which check found it, in English and Japanese."""

    check: str
    message_en: str
    message_ja: str

    def describe(self) -> str:
        return f"{self.check}: {self.message_en} / {self.message_ja}"


@dataclasses.dataclass
class Report:
    """What was checked (counts by name, or what a chain was checked against) and what was found,
    in the order found; ``renkei check`` extends the ledger's report with its own checks."""

    checked: dict[str, Any] = dataclasses.field(default_factory=dict)
    findings: list[Finding] = dataclasses.field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.findings

    @property
    def first(self) -> Finding | None:
        return self.findings[0] if self.findings else None

    def add(self, check: str, en: str, ja: str) -> None:
        self.findings.append(Finding(check, en, ja))


def _legs_by_entry(session: Session, entry_ids: list[int]) -> dict[int, Counter]:
    legs: dict[int, Counter] = defaultdict(Counter)
    for start in range(0, len(entry_ids), 1000):
        chunk = entry_ids[start:start + 1000]
        for entry_id, code, amount in session.execute(
                sa.select(Posting.entry_id, Account.code, Posting.amount).join(Account, Account.id == Posting.account_id)
                .where(Posting.entry_id.in_(chunk))):
            legs[entry_id][(code, int(amount))] += 1
    return legs


def check_runs(session: Session, report: Report) -> None:
    from billing.allocation_runs import _run_entries  # what an approval posts: one definition

    runs = session.scalars(sa.select(AllocationRun).where(
        AllocationRun.status.in_([RunStatus.approved, RunStatus.reversed])).order_by(AllocationRun.id)).all()
    report.checked["approved runs"] = len(runs)
    for run in runs:
        lines = list(session.scalars(sa.select(AllocationRunLine).where(AllocationRunLine.run_id == run.id)
                                     .order_by(AllocationRunLine.id)))
        if not run.posted_on:
            report.add("runs", f"run #{run.id} (FY{run.fiscal_year}) is {RunStatus(run.status).value} but has no posting date",
                       f"按分計算 #{run.id}（{run.fiscal_year}年度）は承認済みですが計上日がありません。")
            return
        try:
            expected = {entry.idempotency_key: Counter((leg.account, leg.amount) for leg in entry.legs)
                        for entry in _run_entries(run, lines, run.posted_on, "")}
        except (KeyError, TypeError, ValueError, AttributeError):  # a snapshot written outside renkei
            report.add("runs", f"run #{run.id} (FY{run.fiscal_year}): its snapshot cannot be read as a run's snapshot",
                       f"按分計算 #{run.id}（{run.fiscal_year}年度）: スナップショットを按分計算のものとして読めません。")
            return
        found = session.execute(sa.select(JournalEntry.id, JournalEntry.idempotency_key, JournalEntry.status)
                                .where(sa.or_(JournalEntry.idempotency_key.like(f"run:{run.id}:%"),
                                              JournalEntry.run_id == run.id),
                                       JournalEntry.kind != EntryKind.reversal)).all()
        by_key = {key: (entry_id, EntryStatus(status)) for entry_id, key, status in found}
        pending = sorted(key for key, (_, status) in by_key.items() if status != EntryStatus.posted)
        if pending:
            report.add("runs", f"run #{run.id} (FY{run.fiscal_year}): entry {pending[0]} under its keys is pending, not posted",
                       f"按分計算 #{run.id}（{run.fiscal_year}年度）: 仕訳 {pending[0]} が未確定（pending）のまま残っています。")
            return
        missing = sorted(set(expected) - set(by_key))
        if missing:
            report.add("runs", f"run #{run.id} (FY{run.fiscal_year}) is approved but {len(missing)} of its {len(expected)} "
                               f"entries are not in the ledger (first: {missing[0]})",
                       f"按分計算 #{run.id}（{run.fiscal_year}年度）は承認済みですが、仕訳 {len(expected)} 件のうち "
                       f"{len(missing)} 件が会計帳簿にありません（最初: {missing[0]}）。")
            return
        extra = sorted(set(by_key) - set(expected))
        if extra:
            report.add("runs", f"run #{run.id} (FY{run.fiscal_year}): entry {extra[0]} is under its keys but is not one of its lines",
                       f"按分計算 #{run.id}（{run.fiscal_year}年度）: 仕訳 {extra[0]} は明細にない仕訳です。")
            return
        legs = _legs_by_entry(session, [entry_id for entry_id, _ in by_key.values()])
        for key, wanted in sorted(expected.items()):
            if legs.get(by_key[key][0], Counter()) != wanted:
                report.add("runs", f"run #{run.id} (FY{run.fiscal_year}): entry {key} does not post the run's amounts",
                           f"按分計算 #{run.id}（{run.fiscal_year}年度）: 仕訳 {key} の金額が明細と一致しません。")
                return
        if RunStatus(run.status) == RunStatus.reversed:
            ids = [entry_id for entry_id, _ in by_key.values()]
            reversed_ids = ledger.reversed_entry_ids(session, ids)
            unreversed = sorted(set(ids) - set(reversed_ids))
            if unreversed:
                report.add("runs", f"run #{run.id} (FY{run.fiscal_year}) is reversed but entry {unreversed[0]} has no reversal",
                           f"按分計算 #{run.id}（{run.fiscal_year}年度）は取消済みですが、仕訳 {unreversed[0]} の逆仕訳がありません。")
                return
    stray = session.scalar(sa.select(JournalEntry.idempotency_key).where(
        JournalEntry.status == EntryStatus.pending, JournalEntry.idempotency_key.like("run:%")).limit(1))
    if stray is not None:
        report.add("runs", f"entry {stray} under a run's key is pending (never posted)",
                   f"按分計算の仕訳 {stray} が未確定（pending）のまま残っています。")


def _income_codes() -> tuple[str, ...]:
    return (ledger.COST_RECOVERY, ledger.PREFECTURE_SHARE)


def year_totals(session: Session) -> dict[int, dict[str, int]]:
    """Per fiscal year, from posted entries (reversals included): ``charges`` (the payers' shares
    credited), ``grants`` (grant revenue credited), ``costs`` (cost accounts debited), ``payments``
    (bank debited), ``entries`` (posted entries)."""
    totals: dict[int, dict[str, int]] = defaultdict(lambda: {"charges": 0, "grants": 0, "costs": 0, "payments": 0,
                                                             "entries": 0})
    rows = session.execute(
        sa.select(JournalEntry.fiscal_year, Account.code, sa.func.sum(Posting.amount))
        .join(Posting, Posting.entry_id == JournalEntry.id).join(Account, Account.id == Posting.account_id)
        .where(JournalEntry.status == EntryStatus.posted)
        .group_by(JournalEntry.fiscal_year, Account.code)).all()
    for year, code, amount in rows:
        amount = int(amount or 0)
        if code in _income_codes():
            totals[year]["charges"] -= amount  # income is credited: negative raw amounts
        elif code == ledger.GRANT_REVENUE:
            totals[year]["grants"] -= amount
        elif code.startswith(ledger.COST_PREFIX):
            totals[year]["costs"] += amount
        elif code == ledger.BANK:
            totals[year]["payments"] += amount
    for year, count in session.execute(sa.select(JournalEntry.fiscal_year, sa.func.count(JournalEntry.id))
                                       .where(JournalEntry.status == EntryStatus.posted)
                                       .group_by(JournalEntry.fiscal_year)).all():
        totals[year]["entries"] = int(count)
    return {year: dict(values) for year, values in sorted(totals.items())}


def _unreversed_run_entries(session: Session) -> dict[int, list[tuple[str, int | None]]]:
    """Per fiscal year, the posted charges and costs that no posted reversal undoes: (key, run id)."""
    reversal = aliased(JournalEntry)
    rows = session.execute(
        sa.select(JournalEntry.fiscal_year, JournalEntry.idempotency_key, JournalEntry.run_id)
        .where(JournalEntry.status == EntryStatus.posted, JournalEntry.reverses_id.is_(None),
               JournalEntry.kind.in_(RUN_ENTRY_KINDS),
               ~sa.exists().where(reversal.reverses_id == JournalEntry.id, reversal.status == EntryStatus.posted))
        .order_by(JournalEntry.id)).all()
    by_year: dict[int, list[tuple[str, int | None]]] = defaultdict(list)
    for year, key, run_id in rows:
        by_year[year].append((key, run_id))
    return by_year


def _name_entries(session: Session, entries: list[tuple[str, int | None]]) -> tuple[str, str]:
    """``run #1 (discarded): run:1:charge:430005, …`` in English and Japanese, at most 5 keys per run."""
    by_run: dict[int | None, list[str]] = defaultdict(list)
    for key, run_id in entries:
        by_run[run_id].append(key)
    statuses = dict(session.execute(sa.select(AllocationRun.id, AllocationRun.status)
                                    .where(AllocationRun.id.in_([r for r in by_run if r is not None]))).all())
    en, ja = [], []
    for run_id, keys in by_run.items():
        shown = ", ".join(keys[:5]) + (f", … ({len(keys)} entries)" if len(keys) > 5 else "")
        shown_ja = "、".join(keys[:5]) + (f" ほか（計 {len(keys)} 件）" if len(keys) > 5 else "")
        if run_id is None:
            en.append(f"without a run: {shown}")
            ja.append(f"按分計算のない仕訳: {shown_ja}")
            continue
        status = RunStatus(statuses[run_id]) if run_id in statuses else None
        en.append(f"run #{run_id} ({status.value if status else 'missing'}): {shown}")
        ja.append(f"按分計算 #{run_id}（{status.ja if status else 'なし'}）: {shown_ja}")
    return "; ".join(en), "；".join(ja)


def check_years(session: Session, report: Report) -> None:
    """Per fiscal year: the charges equal the costs, and the charges net of reversals are the costs
    of exactly one approved run, every unreversed charge and cost being that run's (none when no run
    is approved). A run set back from approved and discarded, with its entries left in the ledger
    and a second run approved (charges and costs both doubled), fails the second part."""
    totals = year_totals(session)
    approved: dict[int, list[AllocationRun]] = defaultdict(list)
    for run in session.scalars(sa.select(AllocationRun).where(AllocationRun.status == RunStatus.approved)
                               .order_by(AllocationRun.id)):
        approved[run.fiscal_year].append(run)
    unreversed = _unreversed_run_entries(session)
    years = sorted(set(totals) | set(approved) | set(unreversed))
    report.checked["fiscal years"] = len(years)
    for year in years:
        values = totals.get(year, {"charges": 0, "grants": 0, "costs": 0})
        era = fiscal_year_ja(year)
        if values["charges"] + values["grants"] != values["costs"]:
            report.add("years", f"FY{year}: charges {values['charges']:,} yen and grants {values['grants']:,} yen "
                                f"do not add up to the costs {values['costs']:,} yen",
                       f"{era}: 負担金 {values['charges']:,}円 と交付金 {values['grants']:,}円 の合計が費用 "
                       f"{values['costs']:,}円 と一致しません。")
            return
        runs = approved.get(year, [])
        slots = Counter(RUN_KIND_SLOT[RunKind(run.kind)] for run in runs)
        settles = [run for run in runs if RunKind(run.kind) == RunKind.settlement]
        if any(count > 1 for count in slots.values()) or any(
                run.settles_run_id not in {other.id for other in runs} for run in settles):
            ids = ", ".join(f"#{run.id}" for run in runs)
            report.add("years", f"FY{year}: {len(runs)} runs are approved ({ids}); a year has one posted run "
                                "(or one provisional run and its settlement)",
                       f"{era}: 承認済みの按分計算が {len(runs)} 件あります（{ids}）。年度に計上できるのは一件"
                       "（概算の場合はその精算と合わせて二件）です。")
            return
        ids = {run.id for run in runs}
        foreign = [(key, run_id) for key, run_id in unreversed.get(year, []) if run_id not in ids]
        expected = sum(run.total for run in runs)
        if values["charges"] == expected and not foreign:
            continue
        named = "、".join(f"#{run.id}" for run in runs)
        which_en = (f"approved run #{runs[0].id} costs {expected:,} yen" if len(runs) == 1
                    else f"approved runs {named} charge {expected:,} yen" if runs else "no run is approved")
        which_ja = (f"承認済みの按分計算 {named} の費用は {expected:,}円" if len(runs) == 1
                    else f"承認済みの按分計算 {named} の負担金は {expected:,}円" if runs else "承認済みの按分計算はありません")
        en = f"FY{year}: posted charges net of reversals are {values['charges']:,} yen, but {which_en}"
        ja = f"{era}: 取消を差し引いた計上済みの負担金は {values['charges']:,}円ですが、{which_ja}"
        if foreign:
            named_en, named_ja = _name_entries(session, foreign)
            en += f"; posted entries not of that run and not reversed: {named_en}"
            ja += f"。その按分計算のものではない、取り消されていない計上済みの仕訳: {named_ja}"
        report.add("years", en, ja + "。")
        return


def check_accounts(session: Session, report: Report) -> None:
    accounts = session.scalars(sa.select(Account).where(Account.code.like(f"{ledger.RECEIVABLE_PREFIX}%"))
                               .order_by(Account.code)).all()
    report.checked["receivable accounts"] = len(accounts)
    tenants = set(session.scalars(sa.select(Tenant.code)))
    for account in accounts:
        code = account.code[len(ledger.RECEIVABLE_PREFIX):]
        if account.tenant_code != code:
            report.add("accounts", f"account {account.code} is recorded as tenant {account.tenant_code}'s",
                       f"勘定 {account.code} の団体コードが {account.tenant_code} になっています。")
            return
        if code not in tenants:
            report.add("accounts", f"account {account.code} names tenant {code}, which is not registered",
                       f"勘定 {account.code} の団体 {code} は登録されていません。")
            return
    wrong = session.execute(
        sa.select(JournalEntry.idempotency_key, JournalEntry.tenant_code, Account.code)
        .join(Posting, Posting.entry_id == JournalEntry.id).join(Account, Account.id == Posting.account_id)
        .where(Account.code.like(f"{ledger.RECEIVABLE_PREFIX}%"), JournalEntry.tenant_code.is_not(None),
               Account.tenant_code != JournalEntry.tenant_code).limit(1)).first()
    if wrong is not None:
        key, tenant, code = wrong
        report.add("accounts", f"entry {key} is for tenant {tenant} but posts to {code}",
                   f"仕訳 {key} は団体 {tenant} のものですが、勘定 {code} に計上されています。")


MAX_PAYMENTS_LISTED = 20  # payment findings named one by one; the rest are counted


def _payment_records(session: Session) -> dict[str, list[AuditRecord]]:
    """The payments' audit records by the entry id they name (one query)."""
    from billing.operations import PAYMENT_ACTION

    records: dict[str, list[AuditRecord]] = defaultdict(list)
    for record in session.scalars(sa.select(AuditRecord).where(AuditRecord.action == PAYMENT_ACTION,
                                                               AuditRecord.target_type == "journal_entry")):
        records[record.target_id].append(record)
    return records


def _kept_audit_since(session: Session) -> Any:
    """When the kept audit log starts (None: nothing was ever purged, every record is kept)."""
    anchor = session.scalar(sa.select(AuditAnchor.purged_through_seq).where(AuditAnchor.id == 1))
    if not anchor:
        return None
    return session.scalar(sa.select(sa.func.min(AuditRecord.occurred_at)))


def _payment_problem(entry: sa.Row, records: list[AuditRecord]) -> tuple[str, str] | None:
    """Why a payment entry does not match its audit record (English, Japanese), or None."""
    import json

    from billing.operations import PAYMENT_ACTION
    from core.actor import recorded_name

    named = (f"payment entry {entry.idempotency_key} (#{entry.id}, FY{entry.fiscal_year}, tenant {entry.tenant_code}, "
             f"{int(entry.amount):,} yen)")
    named_ja = (f"入金の仕訳 {entry.idempotency_key}（#{entry.id}、{fiscal_year_ja(entry.fiscal_year)}、団体 {entry.tenant_code}、"
                f"{int(entry.amount):,}円）")
    if not records:
        return (f"{named} has no {PAYMENT_ACTION} audit record: it was not recorded through renkei",
                f"{named_ja}に操作ログ（{PAYMENT_ACTION}）がありません。renkei の入金登録を経ていません。")
    mismatched = []
    for record in records:
        try:
            after = json.loads(record.after or "{}")
        except ValueError:
            after = {}
        after = after if isinstance(after, dict) else {}
        if (record.tenant_code, after.get("amount"), after.get("fiscal_year")) != \
                (entry.tenant_code, int(entry.amount), entry.fiscal_year):
            mismatched.append(f"#{record.seq}: tenant {record.tenant_code}, {after.get('amount')} yen, "
                              f"FY{after.get('fiscal_year')}")
            continue
        recorder = recorded_name(record.actor_name, record.actor_subject)
        if entry.created_by != recorder:
            return (f"{named} was posted by {entry.created_by!r} but its audit record #{record.seq} was written by "
                    f"{recorder!r}",
                    f"{named_ja}の登録者は「{entry.created_by}」ですが、操作ログ #{record.seq} の実行者は「{recorder}」です。")
        return None
    shown = "; ".join(mismatched)
    return (f"{named} differs from its {PAYMENT_ACTION} audit record ({shown})",
            f"{named_ja}が操作ログ（{PAYMENT_ACTION}）の内容と一致しません（{shown}）。")


def check_payments(session: Session, report: Report) -> None:
    """Every posted payment entry against its audit record and recorder (two queries; named one by
    one up to :data:`MAX_PAYMENTS_LISTED`, the rest counted)."""
    amount = sa.func.sum(sa.case((Posting.amount > 0, Posting.amount), else_=0)).label("amount")
    entries = session.execute(
        sa.select(JournalEntry.id, JournalEntry.idempotency_key, JournalEntry.tenant_code, JournalEntry.fiscal_year,
                  JournalEntry.created_by, JournalEntry.created_at, amount)
        .join(Posting, Posting.entry_id == JournalEntry.id)
        .where(JournalEntry.kind == EntryKind.payment, JournalEntry.status == EntryStatus.posted)
        .group_by(JournalEntry.id, JournalEntry.idempotency_key, JournalEntry.tenant_code, JournalEntry.fiscal_year,
                  JournalEntry.created_by, JournalEntry.created_at)
        .order_by(JournalEntry.id)).all()
    records = _payment_records(session) if entries else {}
    kept_since = _kept_audit_since(session) if entries else None
    checked = older = 0
    problems: list[tuple[str, str]] = []
    for entry in entries:
        if kept_since is not None and entry.created_at < kept_since:
            older += 1  # its audit record went with the log's purged part (archived)
            continue
        checked += 1
        problem = _payment_problem(entry, records.get(str(entry.id), []))
        if problem is not None:
            problems.append(problem)
    report.checked["payments against their audit records"] = checked
    if older:
        report.checked["payments older than the kept audit log"] = older
    for en, ja in problems[:MAX_PAYMENTS_LISTED]:
        report.add("payments", en, ja)
    if len(problems) > MAX_PAYMENTS_LISTED:
        more = len(problems) - MAX_PAYMENTS_LISTED
        report.add("payments", f"and {more:,} more payment entries that do not match their audit records",
                   f"ほかに {more:,} 件の入金の仕訳が操作ログと一致しません。")


MAX_CLOSED_LISTED = 10


def _listed(ids: list[Any]) -> str:
    named = ", ".join(f"#{i}" for i in ids[:MAX_CLOSED_LISTED])
    return named + (f" (+{len(ids) - MAX_CLOSED_LISTED})" if len(ids) > MAX_CLOSED_LISTED else "")


def _close_record(session: Session, fiscal_year: int) -> dict[str, Any] | None:
    """What the latest close's audit record of the year holds (its ``after``), None if not kept."""
    after = session.scalar(sa.select(AuditRecord.after).where(
        AuditRecord.action == "billing.year.close", AuditRecord.target_type == "fiscal_year",
        AuditRecord.target_id == str(fiscal_year)).order_by(AuditRecord.seq.desc()).limit(1))
    try:
        return json.loads(after) if after else None
    except ValueError:
        return None


def _loaded(text: str) -> dict[str, Any]:
    try:
        loaded = json.loads(text or "{}")
    except ValueError:
        return {}
    return loaded if isinstance(loaded, dict) else {}


def _figures(statement: dict[str, Any]) -> tuple:
    """A 収支決算's money, not its words: the totals, what is owed and every nonzero line's amount (so
    a relabelled category or a new empty one is not a change)."""
    lines = [row.get("amount") for part in ("revenue", "expenditure") for row in statement.get(part) or []
             if isinstance(row, dict)]
    return (statement.get("revenue_total"), statement.get("expenditure_total"), statement.get("outstanding"),
            sorted(amount for amount in lines if isinstance(amount, int) and amount))


def check_closed_years(session: Session, report: Report) -> None:
    """Each closed year: no pending entry, no entry created after the close, the 収支決算's SHA-256
    unchanged, each run's SHA-256 as the close's audit record keeps it; every difference is named."""
    from billing.year_close import run_digests, statement_of_year

    closes = session.scalars(sa.select(YearClose).where(YearClose.status == YearCloseStatus.closed)
                             .order_by(YearClose.fiscal_year)).all()
    report.checked["closed fiscal years"] = len(closes)
    unverified = 0
    for close in closes:
        year, era = close.fiscal_year, fiscal_year_ja(close.fiscal_year)
        pending = session.scalars(sa.select(JournalEntry.id).where(
            JournalEntry.fiscal_year == year, JournalEntry.status == EntryStatus.pending).order_by(JournalEntry.id)).all()
        if pending:
            report.add("closed years", f"FY{year} is closed but holds pending journal entries {_listed(pending)}",
                       f"締め済みの{era}に保留中の仕訳 {_listed(pending)} があります。")
        later = session.scalars(sa.select(JournalEntry.id).where(
            JournalEntry.fiscal_year == year, JournalEntry.created_at > close.closed_at).order_by(JournalEntry.id)).all()
        if close.closed_at is not None and later:
            report.add("closed years", f"FY{year}: journal entries {_listed(later)} were written after the year was closed",
                       f"{era}の締めの後に仕訳 {_listed(later)} が書き込まれています。")
        if _figures(statement_of_year(session, year).as_json()) != _figures(_loaded(close.statement_json)):
            report.add("closed years", f"FY{year}: the ledger of the closed year no longer adds up to the 収支決算 "
                       f"recorded at the close (SHA-256 {close.statement_sha256[:12]}…): entries of the year changed after the close",
                       f"締め済みの{era}の帳簿が締めの時に記録した収支決算（SHA-256 {close.statement_sha256[:12]}…）と"
                       "一致しません。締めの後に仕訳が変更されています。")
        record = _close_record(session, year) or {}
        recorded = record.get("runs")
        if not isinstance(recorded, dict):
            unverified += 1
            continue
        current = run_digests(session, year, record.get("run_columns"), record.get("line_columns"))
        changed = sorted((int(i) for i in recorded if i in current and current[i] != recorded[i]))
        gone = sorted(int(i) for i in recorded if i not in current)
        added = sorted(int(i) for i in current if i not in recorded)
        for ids, en, ja in ((changed, "changed after the close (their snapshot or fields differ from the close's audit record)",
                             "は締めの後に変更されています（スナップショットまたは項目が締めの操作ログと異なります）"),
                            (gone, "recorded at the close are missing", "は締めの時に記録されていましたが、見当たりません"),
                            (added, "were created after the close", "は締めの後に作られています")):
            if ids:
                report.add("closed years", f"FY{year}: allocation runs {_listed(ids)} {en}",
                           f"{era}の按分計算 {_listed(ids)} {ja}。")
    if unverified:
        report.checked["closed fiscal years without run digests (closed before they were kept)"] = unverified


def check_payment_evidence(session: Session, report: Report) -> None:
    """Every posted payment entry has a bank line behind it (:class:`billing.bank_models.BankPayment`) or
    a manual payment two people decided (:class:`billing.bank_models.ManualPayment`): a payment recorded
    any other way (posted by raw SQL, or through a path that skipped both) is named, up to
    :data:`MAX_PAYMENTS_LISTED`, the rest counted (one query)."""
    from billing.bank_models import BankPayment, ManualPayment

    amount = sa.func.sum(sa.case((Posting.amount > 0, Posting.amount), else_=0))
    backed = sa.union(sa.select(BankPayment.entry_id),
                      sa.select(ManualPayment.entry_id).where(ManualPayment.entry_id.is_not(None),
                                                             ManualPayment.approved_by != ""))
    rows = session.execute(
        sa.select(JournalEntry.id, JournalEntry.idempotency_key, JournalEntry.tenant_code, JournalEntry.fiscal_year, amount)
        .join(Posting, Posting.entry_id == JournalEntry.id)
        .where(JournalEntry.kind == EntryKind.payment, JournalEntry.status == EntryStatus.posted,
               JournalEntry.id.not_in(backed))
        .group_by(JournalEntry.id, JournalEntry.idempotency_key, JournalEntry.tenant_code, JournalEntry.fiscal_year)
        .order_by(JournalEntry.id)).all()
    report.checked["payments against their bank lines"] = session.scalar(
        sa.select(sa.func.count()).select_from(JournalEntry).where(
            JournalEntry.kind == EntryKind.payment, JournalEntry.status == EntryStatus.posted)) or 0
    for entry_id, key, tenant, year, yen in rows[:MAX_PAYMENTS_LISTED]:
        report.add("payments", f"payment entry {key} (#{entry_id}, FY{year}, tenant {tenant}, {int(yen):,} yen) has no "
                               "bank line behind it (nor a manual payment approved by a second person)",
                   f"入金の仕訳 {key}（#{entry_id}、{fiscal_year_ja(year)}、団体 {tenant}、{int(yen):,}円）に銀行の明細が"
                   "ありません（二人で承認した手動入金でもありません）。")
    if len(rows) > MAX_PAYMENTS_LISTED:
        more = len(rows) - MAX_PAYMENTS_LISTED
        report.add("payments", f"and {more:,} more payment entries with no bank line",
                   f"ほかに {more:,} 件の入金の仕訳に銀行の明細がありません。")


def check(session: Session, actor: Actor) -> Report:
    """Runs, years, payments, closed years and accounts, in that order; each check but payments stops at its first
    finding (payments names each, up to :data:`MAX_PAYMENTS_LISTED`)."""
    authz.authorize(actor, "system.check")
    report = Report()
    check_runs(session, report)
    check_years(session, report)
    check_payments(session, report)
    check_payment_evidence(session, report)
    check_closed_years(session, report)
    check_accounts(session, report)
    return report


def ledger_totals(session: Session, actor: Actor) -> dict[str, dict[str, int]]:
    """The per-year totals for a backup manifest (keys are the years as text, as in JSON)."""
    authz.authorize(actor, "system.check")
    return {str(year): values for year, values in year_totals(session).items()}


def summary(report: Report) -> dict[str, Any]:
    return {"checked": report.checked, "findings": [dataclasses.asdict(f) for f in report.findings]}
