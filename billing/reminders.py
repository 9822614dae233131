"""Reminders (督促状): a statement still unpaid after its due date is reminded, one A4 letter per municipality.

Finance (``billing.manage``, the role that issues the 納入通知書) sees the statements unpaid after their
due date (:func:`overdue_list`, the one fact of :mod:`billing.overdue`) and issues 督促状 for those it
picks with a new 納期限 it chooses (:func:`issue_reminders`). Each reminder is numbered from the office's
one letter sequence (:func:`billing.documents.next_sequences`), carries the letter head and the seal
or 「公印省略」 as the prefecture's settings say, names the letter it follows (its number and date), the
amount still unpaid and the new 納期限; its file is rendered once and kept (:mod:`billing.letter_files`,
kind ``reminder``) with its SHA-256 in the issue's audit record, so a download is the letter sent.

Refused in words: a statement paid off, one not yet due (or never issued), a new 納期限 not after today,
and a second reminder of the same statement with the same new 納期限. Reminders post nothing to the
ledger, so a closed fiscal year (決算) does not refuse them: arrears of a closed year are still reminded.

A municipal user reads its own reminders (:func:`reminders_of`, ``billing.read`` on the tenant); the
paid date is recorded by the payment that pays the statement off (:func:`billing.overdue.mark_paid`).
"""

from __future__ import annotations

import datetime as dt
import html
from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.orm import Session

from billing import ledger, letter_files, overdue
from billing.documents import (bank_text, contact_text, issuer_line, letter_head, next_sequences, pdf_of, rows_html,
                               yen_in_words)
from billing.ledger_errors import BillingConflict, BillingNotFound, InvalidBillingData
from billing.models import LetterFileKind, Reminder, StatementDocument
from billing.statements import TAX_NOTE, addressee
from core import audit, authz
from core.actor import Actor
from core.calendar import date_ja, fiscal_year_ja, fiscal_year_of, today_jst
from tenancy.registry.models import PrefectureSettings, Tenant
from tenancy.registry.prefecture import require_settings

ISSUE_ACTION = "billing.reminder.issue"


# --- reads ------------------------------------------------------------------------------------------------

def overdue_list(session: Session, actor: Actor, on: dt.date | None = None) -> list[overdue.Overdue]:
    """Every statement unpaid after its due date today (in Japan): finance's reminder list."""
    authz.authorize(actor, "billing.manage")
    return overdue.overdue_statements(session, on or today_jst())


def overdue_of(session: Session, actor: Actor, tenant_code: str, on: dt.date | None = None) -> list[overdue.Overdue]:
    """The tenant's statements unpaid after their due date (``billing.read`` on the tenant): what its
    pages say is overdue, by the same fact as finance's list."""
    authz.authorize(actor, "billing.read", tenant_code)
    return overdue.overdue_statements(session, on or today_jst(), [tenant_code])


def reminders_of(session: Session, actor: Actor, tenant_code: str, fiscal_year: int | None = None) -> list[Reminder]:
    """The tenant's reminders (of one fiscal year, or all), oldest first (``billing.read`` on the tenant)."""
    authz.authorize(actor, "billing.read", tenant_code)
    query = sa.select(Reminder).where(Reminder.tenant_code == tenant_code).order_by(Reminder.issued_on, Reminder.id)
    if fiscal_year is not None:
        query = query.where(Reminder.fiscal_year == fiscal_year)
    return list(session.scalars(query))


def get_reminder(session: Session, actor: Actor, reminder_id: int) -> Reminder:
    """One reminder, for its own tenant's readers and finance; another tenant's is not found (not told apart)."""
    authz.authorize(actor, "billing.read")  # someone without billing.read at all: refused as such
    reminder = session.get(Reminder, reminder_id)
    if reminder is None or not authz.allowed(actor, "billing.read", reminder.tenant_code):
        raise BillingNotFound(f"no reminder #{reminder_id}", f"督促状 #{reminder_id} はありません。",
                              reminder_id=reminder_id)
    return reminder


def reminder_file(session: Session, actor: Actor, reminder_id: int) -> tuple[Reminder, bytes]:
    """The reminder's file as it was sent (kept when issued), never a new rendering."""
    reminder = get_reminder(session, actor, reminder_id)
    kept = letter_files.latest(session, LetterFileKind.reminder, reminder.id)
    if kept is None:  # every reminder keeps its file when issued; a missing one is a fault, said in words
        raise BillingNotFound(f"the file of reminder {reminder.number} is missing",
                              f"督促状 {reminder.number} のファイルがありません。管理者に連絡してください。",
                              reminder_id=reminder.id)
    return reminder, kept.content


# --- issuing ------------------------------------------------------------------------------------------------

def _refused(code: str, year: int, name: str, en: str, ja: str, rule: str) -> BillingConflict:
    return BillingConflict(f"{name} ({code}), FY{year}: {en}", f"{name}（{code}）{fiscal_year_ja(year)}: {ja}",
                           code=code, fiscal_year=year, rule=rule)


def check_due_on(due_on: dt.date | None, today: dt.date) -> dt.date:
    if due_on is None or due_on <= today:
        raise InvalidBillingData(
            "the new payment deadline must be after today", "新たな納期限は今日より後の日付にしてください。",
            problems=[{"field": "due_on", "message_en": f"Choose a date after today ({today.isoformat()}).",
                       "message_ja": f"新たな納期限は今日（{date_ja(today)}）より後の日付にしてください。"}])
    return due_on


def check_chosen(statements: Sequence[tuple[str, int]]) -> list[tuple[str, int]]:
    """The statements chosen, by fiscal year then tenant code; refused in words when none is."""
    if not statements:
        raise InvalidBillingData("choose the statements to remind", "督促する負担金を選んでください。",
                                 problems=[{"field": "statements", "message_en": "Choose at least one statement.",
                                            "message_ja": "督促する負担金を1件以上選んでください。"}])
    return sorted(set(statements), key=lambda key: (key[1], key[0]))


def _why_not(session: Session, code: str, year: int, today: dt.date) -> BillingConflict:
    """Why the statement is not on the reminder list today, in words."""
    name = session.scalar(sa.select(Tenant.name_ja).where(Tenant.code == code)) or code
    document = overdue.latest_documents(session, [(code, year)]).get((code, year))
    if document is None:
        return _refused(code, year, name, "no statement letter was issued, so nothing is overdue",
                        "納入通知書が発行されていないため、督促できません。", "not_issued")
    if ledger.tenant_balance(session, code, fiscal_year=year) <= 0:
        return _refused(code, year, name, "the statement is paid; no reminder is sent",
                        "この負担金は納入済みのため、督促状は発行できません。", "paid")
    return _refused(code, year, name, f"the payment deadline ({document.due_on.isoformat()}) has not passed yet",
                    f"納期限（{date_ja(document.due_on)}）を過ぎていないため、督促状は発行できません。", "not_due")


def issue_reminders(session: Session, actor: Actor, statements: Sequence[tuple[str, int]], due_on: dt.date | None,
                    *, issued_on: dt.date | None = None) -> list[Reminder]:
    """Issue a numbered 督促状 for each statement (tenant code, fiscal year) with the new 納期限 ``due_on``,
    kept as issued and audited one by one; all or nothing (see the module's docstring for the refusals)."""
    authz.authorize(actor, "billing.manage")
    today = issued_on or today_jst()
    check_due_on(due_on, today)
    wanted = check_chosen(statements)
    settings = require_settings(session)
    # the year's numbering is held first (until the transaction ends): a reminder sent at the same moment by
    # someone else is then seen below, and the same new due date is refused in words, not by the unique key
    sequences = next_sequences(session, fiscal_year_of(today))
    found = {(item.tenant_code, item.fiscal_year): item
             for item in overdue.overdue_statements(session, today, sorted({code for code, _year in wanted}))}
    for code, year in wanted:
        item = found.get((code, year))
        if item is None:
            raise _why_not(session, code, year, today)
        if any(reminder.due_on == due_on for reminder in item.reminders):
            raise _refused(code, year, item.tenant_name,
                           f"a reminder with the payment deadline {due_on.isoformat()} was sent already",
                           f"新たな納期限 {date_ja(due_on)} の督促状は発行済みです。別の納期限を選んでください。", "repeated")
    issued = []
    for code, year in wanted:
        item = found[(code, year)]
        sequence = next(sequences)
        reminder = Reminder(document_id=item.document.id, tenant_code=code, fiscal_year=year,
                            number_year=fiscal_year_of(today), sequence=sequence,
                            number=f"{settings.document_symbol}第{sequence}号", issued_on=today, due_on=due_on,
                            amount=item.owed, issued_by=actor.recorded_name)
        session.add(reminder)
        session.flush()
        kept = letter_files.keep(session, LetterFileKind.reminder, reminder.id, edition=0, number=reminder.number,
                                 tenant_code=code, fiscal_year=year,
                                 content=render_reminders([(reminder, item.document, item.tenant_name)], settings))
        audit.record(session, actor, ISSUE_ACTION, "billing_reminder", reminder.number, tenant_code=code,
                     before={"fiscal_year": year, "unpaid": item.owed, "letter": item.document.number,
                             "due_on": item.due_on.isoformat(), "reminders_sent": len(item.reminders)},
                     after={"reminder_number": reminder.number, "issued_on": today.isoformat(),
                            "new_due_on": due_on.isoformat(), "amount": reminder.amount, "file_sha256": kept.sha256})
        issued.append(reminder)
    return issued


# --- the letter ---------------------------------------------------------------------------------------------

def reminder_rows(reminder: Reminder, document: StatementDocument) -> list[tuple[str, str]]:
    """The reminder's facts, label and value (the letter's table)."""
    return [("督促する通知", f"{date_ja(document.issued_on)}付け {document.number}"),
            ("当初の納期限", date_ja(document.due_on)),
            ("未納額", f"{yen_in_words(reminder.amount)}（{reminder.amount:,}円）"),
            ("新たな納期限", date_ja(reminder.due_on))]


def reminder_html(reminder: Reminder, document: StatementDocument, tenant_name: str, settings: PrefectureSettings) -> str:
    """One 督促状 as an HTML section (one A4 page); every value escaped."""
    e = html.escape
    era = fiscal_year_ja(reminder.fiscal_year)
    return (
        '<section class="letter">'
        f"{letter_head(reminder.number, reminder.issued_on, addressee(tenant_name), issuer_line(settings), settings=settings)}"
        f"<h1>{e(era)} 連携基盤共同利用負担金 督促状</h1>"
        f"<p>{e(date_ja(document.issued_on))}付け{e(document.number)}で通知した{e(era)}の連携基盤共同利用負担金は、"
        f"納期限（{e(date_ja(document.due_on))}）を過ぎても納入が確認できていません。"
        "下記の未納額を新たな納期限までに納入してください。</p>"
        f'<div class="due">未納額　<strong>{e(yen_in_words(reminder.amount))}</strong>（{reminder.amount:,}円）'
        f"<br>新たな納期限　<strong>{e(date_ja(reminder.due_on))}</strong></div>"
        f"<h2>督促の内容</h2><table>{rows_html(reminder_rows(reminder, document))}</table>"
        f"<h2>納入方法</h2><table>{rows_html([('振込先（指定金融機関）', bank_text(settings))])}</table>"
        f'<p class="note">{e(TAX_NOTE)}</p>'
        '<p class="note">この督促状と行き違いに納入済みの場合は、ご容赦ください。</p>'
        f"<h2>問い合わせ先</h2><p>{e(contact_text(settings))}</p>"
        "</section>"
    )


def render_reminders(letters: Sequence[tuple[Reminder, StatementDocument, str]], settings: PrefectureSettings) -> bytes:
    """The reminders as they go out now (each a new A4 page): used once, when issued; then kept."""
    return pdf_of("督促状", "".join(reminder_html(reminder, document, name, settings) for reminder, document, name in letters))

