"""Payments from the bank's files: import, match to statements, confirm; and the two-person exception.

A payment is recorded from a bank line: finance imports the bank's file (:mod:`billing.bank_files`:
the 全銀協 入出金取引明細 or 振込入金通知, or the common CSV), each credit is matched to an open
statement (a tenant's fiscal year with an amount owed) and a finance officer confirms it, which posts
the payment (:func:`billing.operations.record_payment`) and links it to its line (:class:`BankPayment`).

Matching. A credit *matches* a statement when its amount is exactly what the tenant owes for the year
and the payer (振込依頼人名, compared by :func:`core.kana.same_payer` with the tenant's kana name) or the
reference (a number equal to the sequence of the statement's 文書番号 ``{記号}第{n}号``, written in
the EDI field, the CSV's reference or in front of the payer's name) names the tenant. Any other credit gets
*suggestions*: the statements that agree on the amount, the payer or the reference, best first.

Import is all or nothing: a malformed file, a file imported before (same SHA-256) or a file holding a
credit already imported from another file is refused whole and writes nothing. A credit repeated inside
the one file is refused on its own (named in the result and the audit record); the rest is imported.

The exception: a payment with no bank line (cash at the counter, a bank file lost) is asked for by one
finance officer with a reason (:func:`request_manual_payment`) and posted only when another approves it
(:func:`approve_manual_payment`). ``renkei check`` names a payment entry that has neither
(:func:`billing.integrity.check_payment_evidence`).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from collections import defaultdict
from collections.abc import Callable

import sqlalchemy as sa
from sqlalchemy.orm import Session

from billing import bank_files, ledger, operations
from billing.bank_models import BankFile, BankLine, BankPayment, ManualPayment
from billing.ledger_errors import BillingConflict, BillingNotFound, FourEyesRefused, InvalidBillingData
from billing.models import StatementDocument
from billing.schemas import ManualPaymentCreate, PaymentCreate
from core import audit, authz
from core.actor import Actor, identity_key, same_person
from core.calendar import fiscal_year_ja
from core.kana import same_payer
from tenancy.registry.models import Tenant

IMPORT_ACTION = "billing.bank_file.import"
MANUAL_REQUEST_ACTION = "billing.manual_payment.request"
# confirming a line and approving a manual payment are recorded by the payment's own audit record
# (billing.operations.PAYMENT_ACTION), which names the bank line or the request: ``renkei check`` matches it
MAX_FILE_BYTES = 5 * 1024 * 1024


# --- import ---------------------------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class ImportResult:
    file: BankFile
    lines: tuple[BankLine, ...]
    refused: tuple[tuple[int, int], ...]  # (line, the earlier line of the file it repeats)


def import_bank_file(session: Session, actor: Actor, raw: bytes, filename: str = "") -> ImportResult:
    """Import one file of the bank, all or nothing (see the module's docstring)."""
    authz.authorize(actor, "billing.manage")
    if not raw:
        raise InvalidBillingData("the file is empty", "ファイルが空です。", problems=[_problem("file", "the file is empty", "ファイルが空です。")])
    if len(raw) > MAX_FILE_BYTES:
        raise InvalidBillingData("the file is larger than 5 MB", "ファイルが 5MB を超えています。",
                                 problems=[_problem("file", "the file is larger than 5 MB", "ファイルが 5MB を超えています。")])
    try:
        parsed = bank_files.read_bank_file(raw)
    except bank_files.MalformedBankFile as error:
        raise InvalidBillingData(f"the bank file cannot be read: {error.message_en}; nothing was imported",
                                 f"銀行のファイルを読み取れません。{error.message_ja}何も取り込んでいません。",
                                 problems=[_problem("file", error.message_en, error.message_ja)]) from None
    before = session.scalars(sa.select(BankFile).where(BankFile.sha256 == parsed.sha256)).first()
    if before is not None:
        raise BillingConflict(
            f"this file was imported already (import #{before.id}, {before.filename or 'no name'}); nothing was imported",
            f"このファイルは取込済みです（取込 #{before.id}「{before.filename or '名前なし'}」）。何も取り込んでいません。",
            file_id=before.id)
    first_of: dict[str, int] = {}
    kept: list[tuple[bank_files.CreditLine, str]] = []
    refused: list[tuple[int, int]] = []
    for credit in parsed.credits:
        identity = credit.identity(parsed.account)
        if identity in first_of:
            refused.append((credit.line_no, first_of[identity]))
            continue
        first_of[identity] = credit.line_no
        kept.append((credit, identity))
    if not kept:
        raise InvalidBillingData("the file holds no credit (no money received); nothing was imported",
                                 "ファイルに入金の明細がありません。何も取り込んでいません。",
                                 problems=[_problem("file", "the file holds no credit", "入金の明細がありません。")])
    known = dict(session.execute(sa.select(BankLine.identity, BankLine.file_id)
                                 .where(BankLine.identity.in_([identity for _, identity in kept]))).all())
    if known:
        lines = [credit.line_no for credit, identity in kept if identity in known]
        shown = ", ".join(str(number) for number in lines[:10])
        files = ", ".join(f"#{number}" for number in sorted(set(known.values())))
        raise BillingConflict(
            f"line(s) {shown} of the file were imported already (import {files}); nothing was imported",
            f"ファイルの {shown} 行目は取込済みです（取込 {files}）。何も取り込んでいません。", lines=lines)
    refused_text = "; ".join(f"{line}={earlier}" for line, earlier in refused)
    record = BankFile(sha256=parsed.sha256, filename=filename[:255], kind=parsed.kind, account=parsed.account,
                      credit_count=len(kept), credit_total=sum(credit.amount for credit, _ in kept),
                      refused_lines=refused_text[:2000], imported_by=actor.recorded_name)
    session.add(record)
    session.flush()
    lines = tuple(BankLine(file_id=record.id, line_no=credit.line_no, identity=identity, booked_on=credit.booked_on,
                           amount=credit.amount, payer=credit.payer[:100], reference=credit.reference[:150],
                           bank_ref=credit.bank_ref[:20], sender_bank=credit.sender_bank[:40])
                  for credit, identity in kept)
    session.add_all(lines)
    session.flush()
    audit.record(session, actor, IMPORT_ACTION, "bank_file", str(record.id), after={
        "filename": record.filename, "kind": record.kind, "sha256": record.sha256, "credits": record.credit_count,
        "total": record.credit_total, "refused_as_repeated": [{"line": line, "repeats": earlier} for line, earlier in refused]})
    return ImportResult(record, lines, tuple(refused))


def _problem(field: str, en: str, ja: str) -> dict[str, str]:
    return {"field": field, "message_en": en, "message_ja": ja}


# --- open statements and matching ----------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class OpenStatement:
    """A tenant's fiscal year with money owed, and the numbers of the letters that asked for it."""

    tenant_code: str
    tenant_name: str
    name_kana: str
    fiscal_year: int
    owed: int
    document_numbers: tuple[str, ...]
    sequences: frozenset[int]

    @property
    def label(self) -> str:
        numbers = "・".join(self.document_numbers)
        return (f"{self.tenant_name} {fiscal_year_ja(self.fiscal_year)} 未収 {self.owed:,}円"
                + (f"（{numbers}）" if numbers else ""))


@dataclasses.dataclass(frozen=True)
class Candidate:
    statement: OpenStatement
    amount: bool
    payer: bool
    reference: bool

    @property
    def matches(self) -> bool:
        return self.amount and (self.payer or self.reference)

    @property
    def score(self) -> int:
        return 4 * self.amount + 2 * self.payer + 2 * self.reference

    @property
    def reasons_ja(self) -> str:
        found = [word for flag, word in ((self.amount, "金額"), (self.payer, "振込依頼人"), (self.reference, "文書番号"))
                 if flag]
        return "・".join(found) + "が一致"


def open_statements(session: Session) -> list[OpenStatement]:
    """Every tenant's fiscal year whose receivable is above 0 (three queries, of the columns shown)."""
    balances = ledger.receivable_balances().subquery()
    rows = session.execute(
        sa.select(balances.c.tenant_code, balances.c.fiscal_year, balances.c.balance).where(balances.c.balance > 0)
        .order_by(balances.c.tenant_code, balances.c.fiscal_year)).all()
    if not rows:
        return []
    names = {code: (name_ja, name_kana) for code, name_ja, name_kana in session.execute(
        sa.select(Tenant.code, Tenant.name_ja, Tenant.name_kana).where(Tenant.code.in_({row[0] for row in rows})))}
    letters = _letters_by_year(session)
    return [_open_statement(code, names.get(code), year, int(owed), letters.get((code, year), []))
            for code, year, owed in rows]


def _letters_by_year(session: Session) -> dict[tuple[str, int], list[tuple[str, int]]]:
    """The statement letters issued, as (number, sequence) by (tenant, fiscal year), in the order they were issued."""
    letters: dict[tuple[str, int], list[tuple[str, int]]] = defaultdict(list)
    for code, year, number, sequence in session.execute(
            sa.select(StatementDocument.tenant_code, StatementDocument.fiscal_year, StatementDocument.number,
                      StatementDocument.sequence).order_by(StatementDocument.id)):
        letters[(code, year)].append((number, sequence))
    return letters


def _open_statement(code: str, names: tuple[str, str | None] | None, year: int, owed: int,
                    documents: list[tuple[str, int]]) -> OpenStatement:
    """A year's open statement with its tenant's names (the code when the tenant is gone) and its letters
    (number, sequence)."""
    name_ja, name_kana = names if names else (code, "")
    return OpenStatement(code, name_ja, name_kana or "", year, owed, tuple(number for number, _ in documents),
                         frozenset(sequence for _, sequence in documents))


def _numbers(*texts: str) -> set[int]:
    return {int(digits) for text in texts for digits in re.findall(r"\d+", text or "") if len(digits) <= 9}


def candidates(line: BankLine, statements: list[OpenStatement]) -> list[Candidate]:
    """The statements the line may pay, best first (only those agreeing on something)."""
    numbers = _numbers(line.reference, line.payer)
    found = []
    for statement in statements:
        candidate = Candidate(statement, line.amount == statement.owed,
                              bool(statement.name_kana) and same_payer(line.payer, statement.name_kana),
                              bool(numbers & statement.sequences))
        if candidate.score:
            found.append(candidate)
    found.sort(key=lambda c: (-c.score, c.statement.tenant_code, c.statement.fiscal_year))
    return found


@dataclasses.dataclass(frozen=True)
class LineView:
    line: BankLine
    payment: BankPayment | None
    match: Candidate | None  # the one statement it matches (None: none, or several)
    suggestions: tuple[Candidate, ...]

    @property
    def confirmed(self) -> bool:
        return self.payment is not None


def bank_lines(session: Session, actor: Actor, *, open_only: bool = False, file_id: int | None = None,
               statements: Callable[[], list[OpenStatement]] | None = None) -> list[LineView]:
    """The imported credits, newest first, each with its payment or its match and suggestions.
    ``statements`` gives :func:`open_statements` (a caller that shows them too passes its cached call, so that
    they are read once); it is called only when a line is still open."""
    operations.require_all_tenants(actor)
    query = sa.select(BankLine).order_by(BankLine.booked_on.desc(), BankLine.id.desc())
    if file_id is not None:
        query = query.where(BankLine.file_id == file_id)
    lines = list(session.scalars(query))
    if not lines:
        return []
    payments = {payment.bank_line_id: payment for payment in session.scalars(sa.select(BankPayment))}
    # only when a line is still open: a confirmed line needs none
    opened = (statements or (lambda: open_statements(session)))() if any(line.id not in payments for line in lines) else []
    views = []
    for line in lines:
        payment = payments.get(line.id)
        if payment is not None and open_only:
            continue
        found = () if payment is not None else tuple(candidates(line, opened))
        exact = [c for c in found if c.matches]
        views.append(LineView(line, payment, exact[0] if len(exact) == 1 else None, found))
    return views


def bank_files_imported(session: Session, actor: Actor) -> list[BankFile]:
    operations.require_all_tenants(actor)
    return list(session.scalars(sa.select(BankFile).order_by(BankFile.id.desc())))


# --- confirm -------------------------------------------------------------------------------------------

def confirm_line(session: Session, actor: Actor, line_id: int, tenant_code: str, fiscal_year: int) -> BankPayment:
    """Record the line's money as the tenant's payment for the year (the statement finance chose)."""
    authz.authorize(actor, "billing.manage")
    line = session.get(BankLine, line_id)
    if line is None:
        raise BillingNotFound(f"no bank line #{line_id}", f"銀行の明細 #{line_id} はありません。", line_id=line_id)
    done = session.scalars(sa.select(BankPayment).where(BankPayment.bank_line_id == line_id)).first()
    if done is not None:
        raise BillingConflict(f"bank line #{line_id} was confirmed already (by {done.confirmed_by})",
                              f"銀行の明細 #{line_id} は確認済みです（{done.confirmed_by}）。", line_id=line_id)
    statement = next((s for s in open_statements(session) if (s.tenant_code, s.fiscal_year) == (tenant_code, fiscal_year)),
                     None)
    if statement is None:
        raise BillingConflict(f"tenant {tenant_code} owes nothing for FY{fiscal_year}",
                              f"団体 {tenant_code} の{fiscal_year_ja(fiscal_year)}の未収金はありません。",
                              problems=[_problem("statement", "nothing is owed for this statement", "この負担金に未収金はありません。")])
    if line.amount > statement.owed:
        raise BillingConflict(
            f"{line.amount:,} yen is more than the {statement.owed:,} yen {statement.tenant_name} owes for FY{fiscal_year}",
            f"{line.amount:,}円は{statement.tenant_name}の{fiscal_year_ja(fiscal_year)}の未収金 {statement.owed:,}円を超えています。",
            problems=[_problem("statement", "the amount is more than is owed", "金額が未収金を超えています。")])
    # the payment's reference (what the statement shows, and its key): the bank's reference, and the line
    reference = " ".join(filter(None, (line.reference, f"銀行明細 #{line.id}",
                                       f"照会番号 {line.bank_ref}" if line.bank_ref else "")))[-150:]
    # the act's one audit record is the payment's (billing.payment.record), naming the bank line behind it
    entry = operations.record_payment(session, actor, PaymentCreate(
        tenant_code=tenant_code, fiscal_year=fiscal_year, amount=line.amount, received_on=line.booked_on,
        reference=reference), evidence={"bank_line_id": line.id, "bank_file_id": line.file_id, "payer": line.payer})
    payment = BankPayment(bank_line_id=line.id, entry_id=entry.id, tenant_code=tenant_code, fiscal_year=fiscal_year,
                          confirmed_by=actor.recorded_name)
    session.add(payment)
    session.flush()
    return payment


def confirm_matched(session: Session, actor: Actor, file_id: int | None = None) -> list[BankPayment]:
    """Confirm every line that matches exactly one statement, each statement at most once (two lines
    matching the same statement are left for finance to choose)."""
    authz.authorize(actor, "billing.manage")
    views = [view for view in bank_lines(session, actor, open_only=True, file_id=file_id) if view.match is not None]
    taken = defaultdict(int)
    for view in views:
        taken[(view.match.statement.tenant_code, view.match.statement.fiscal_year)] += 1
    done = []
    for view in sorted(views, key=lambda v: v.line.id):
        key = (view.match.statement.tenant_code, view.match.statement.fiscal_year)
        if taken[key] == 1:
            done.append(confirm_line(session, actor, view.line.id, *key))
    return done


# --- the exception: two people and a reason -----------------------------------------------------------

def request_manual_payment(session: Session, actor: Actor, data: ManualPaymentCreate) -> ManualPayment:
    """Ask for a payment with no bank line (a reason is required by the schema); another finance officer
    must approve it before it posts."""
    authz.authorize(actor, "billing.manage")
    reason = data.reason
    if session.scalars(sa.select(Tenant.id).where(Tenant.code == data.tenant_code)).first() is None:
        raise BillingNotFound(f"No tenant with code {data.tenant_code} is registered.",
                              f"団体コード {data.tenant_code} の参加団体は登録されていません。", code=data.tenant_code)
    request = ManualPayment(tenant_code=data.tenant_code, fiscal_year=data.fiscal_year, amount=data.amount,
                            received_on=data.received_on, reference=data.reference, reason=reason[:2000],
                            requested_by=actor.recorded_name, requested_by_key=identity_key(actor))
    session.add(request)
    session.flush()
    audit.record(session, actor, MANUAL_REQUEST_ACTION, "manual_payment", str(request.id), tenant_code=data.tenant_code,
                 after={"fiscal_year": data.fiscal_year, "amount": data.amount, "received_on": data.received_on.isoformat(),
                        "reference": data.reference, "reason": reason})
    return request


def approve_manual_payment(session: Session, actor: Actor, request_id: int) -> ManualPayment:
    """The second person approves: the payment is posted (four eyes: not the one who asked)."""
    authz.authorize(actor, "billing.manage")
    request = session.get(ManualPayment, request_id, with_for_update=True)
    if request is None:
        raise BillingNotFound(f"no manual payment #{request_id}", f"手動入金の申請 #{request_id} はありません。")
    if request.entry_id is not None:
        raise BillingConflict(f"manual payment #{request_id} was approved already",
                              f"手動入金の申請 #{request_id} は承認済みです。")
    if same_person(actor, request.requested_by_key, request.requested_by):
        raise FourEyesRefused("the person who asked for a manual payment may not approve it",
                              "手動入金を申請した人は承認できません。別の財政担当者が承認してください。")
    # the approval's one audit record is the payment's, naming the request, who asked and why
    entry = operations.record_payment(session, actor, PaymentCreate(
        tenant_code=request.tenant_code, fiscal_year=request.fiscal_year, amount=request.amount,
        received_on=request.received_on, reference=f"手動入金 #{request.id} {request.reference}".strip()[:150]),
        evidence={"manual_payment_id": request.id, "requested_by": request.requested_by, "reason": request.reason})
    request.entry_id, request.approved_by, request.approved_at = entry.id, actor.recorded_name, dt.datetime.now(dt.timezone.utc)
    session.flush()
    return request


def manual_payments(session: Session, actor: Actor) -> list[ManualPayment]:
    operations.require_all_tenants(actor)
    return list(session.scalars(sa.select(ManualPayment).order_by(ManualPayment.id.desc())))
