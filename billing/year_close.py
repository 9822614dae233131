"""Use cases of closing a fiscal year (決算). The conventions of every billing operation are stated
in :mod:`billing.operations`.

After the 出納整理期間 (1 April – 31 May after the year, 地方自治法) a finance officer asks to close
the year; a second finance officer closes it (two people, as for money leaving the office). From
then on the database itself refuses writing any journal entry, posting, cost item, grant or allocation
run of that year, for the application's role too (:mod:`billing.year_close_guards`); a year holding
pending entries is not closed; only a council resolution
of type ``reopen_fiscal_year`` reopens it (:func:`reopen_year`, enacted through admin.wiring).

Closing records the year's 収支決算 (:func:`accounts_of_year`: revenue by source — the
municipalities' 負担金, the prefecture's share, the grants —, expenditure by cost category, the
balance and what is still owed), keeps it on the close with its SHA-256, which the close's audit
record carries into the hash chain with the SHA-256 of each of the year's runs (:func:`run_digests`,
compared by ``renkei check``), and renders it as xlsx and PDF for the council and the auditor.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import html
import io
import json
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from billing import ledger
from billing.ledger_errors import BillingConflict, BillingNotFound, FourEyesRefused
from billing.models import (Account, AllocationRun, AllocationRunLine,
                            CostCategory, EntryStatus,
                            JournalEntry, Posting, YearClose, YearCloseStatus)
from billing.operations import _key, _manage, _same_person
from core import audit, authz
from core.actor import Actor
from core.calendar import date_ja, day_text, fiscal_year_ja, today_jst
from core.db import utcnow
from core.lifecycle import Lifecycle, Move

YEAR_CLOSES = Lifecycle("年度の締め", "fiscal year close", YearCloseStatus,
                        {status: (status.ja, status.value) for status in YearCloseStatus}, (
    Move("close", frozenset({YearCloseStatus.requested}), YearCloseStatus.closed, "締め", "close", grant="billing.manage"),
    Move("withdraw", frozenset({YearCloseStatus.requested}), YearCloseStatus.withdrawn, "取下げ", "withdraw",
         grant="billing.manage"),
    Move("reopen", frozenset({YearCloseStatus.closed}), YearCloseStatus.reopened, "再開", "reopen", grant="council.manage"),
), initial=(YearCloseStatus.requested,))
"""A fiscal year close's lifecycle: requested, closed by a second person (or withdrawn), reopened by the council."""

FOUR_EYES_CLOSE_JA = "年度の締めを申請した人とは別の財政担当者が締めてください（二人の確認）。"


def closable_from(fiscal_year: int) -> dt.date:
    """The first day a year may be closed: after the 出納整理期間, which ends on 31 May after the year."""
    return dt.date(fiscal_year + 1, 6, 1)


# --- 収支決算 -------------------------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class AccountsOfYear:
    """The year's 収支決算 from the ledger: revenue by source, expenditure by category, balance."""

    fiscal_year: int
    revenue: tuple[tuple[str, int], ...]
    expenditure: tuple[tuple[str, int], ...]
    outstanding: int  # 負担金 charged and not yet paid (the receivables' balance)

    @property
    def revenue_total(self) -> int:
        return sum(amount for _, amount in self.revenue)

    @property
    def expenditure_total(self) -> int:
        return sum(amount for _, amount in self.expenditure)

    @property
    def balance(self) -> int:
        return self.revenue_total - self.expenditure_total

    def as_json(self) -> dict[str, Any]:
        return {"fiscal_year": self.fiscal_year, "era": fiscal_year_ja(self.fiscal_year),
                "revenue": [{"source": name, "amount": amount} for name, amount in self.revenue],
                "revenue_total": self.revenue_total,
                "expenditure": [{"category": name, "amount": amount} for name, amount in self.expenditure],
                "expenditure_total": self.expenditure_total, "balance": self.balance, "outstanding": self.outstanding}

    def sha256(self) -> str:
        text = json.dumps(self.as_json(), ensure_ascii=False, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()


def _balances(session: Session, fiscal_year: int) -> dict[str, int]:
    rows = session.execute(
        sa.select(Account.code, sa.func.sum(Posting.amount))
        .join(Posting, Posting.account_id == Account.id).join(JournalEntry, JournalEntry.id == Posting.entry_id)
        .where(JournalEntry.status == EntryStatus.posted, JournalEntry.fiscal_year == fiscal_year)
        .group_by(Account.code)).all()
    return {code: int(total or 0) for code, total in rows}


def accounts_of_year(session: Session, actor: Actor, fiscal_year: int) -> AccountsOfYear:
    """The year's 収支決算 as the ledger holds it now (income is credited: its raw balance is negative)."""
    authz.authorize(actor, "billing.read")
    return statement_of_year(session, fiscal_year)


def statement_of_year(session: Session, fiscal_year: int) -> AccountsOfYear:
    """:func:`accounts_of_year` for a caller already authorised (``renkei check``)."""
    balances = _balances(session, fiscal_year)
    revenue = (("負担金収入（市町村）", -balances.get(ledger.COST_RECOVERY, 0)),
               ("県負担金", -balances.get(ledger.PREFECTURE_SHARE, 0)),
               ("交付金収入", -balances.get(ledger.GRANT_REVENUE, 0)))
    expenditure = tuple((category.ja, balances.get(ledger.cost_account(category.value), 0))
                        for category in CostCategory)
    outstanding = sum(amount for code, amount in balances.items() if code.startswith(ledger.RECEIVABLE_PREFIX))
    return AccountsOfYear(fiscal_year, revenue, expenditure, outstanding)


def accounts_rows(accounts: AccountsOfYear) -> list[list[Any]]:
    return [["区分", "科目", "金額（円）"],
            *(["収入", name, amount] for name, amount in accounts.revenue),
            ["収入", "収入合計", accounts.revenue_total],
            *(["支出", name, amount] for name, amount in accounts.expenditure),
            ["支出", "支出合計", accounts.expenditure_total],
            ["差引", "収支差額（収入 − 支出）", accounts.balance],
            ["参考", "負担金の未収額", accounts.outstanding]]


def accounts_xlsx(accounts: AccountsOfYear, close: YearClose | None = None) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Font

    book = Workbook()
    sheet = book.active
    sheet.title = "収支決算"
    sheet.append([f"{fiscal_year_ja(accounts.fiscal_year)} 連携基盤共同利用事業 収支決算書"])
    sheet["A1"].font = Font(bold=True, size=13)
    sheet.append([_close_line(close)])
    for row in accounts_rows(accounts):
        sheet.append(row)
    for row in sheet.iter_rows(min_row=4, min_col=3, max_col=3):
        for cell in row:
            cell.number_format = '#,##0"円";[Red]-#,##0"円"'
    sheet.append([f"SHA-256: {accounts.sha256()}"])
    for column, width in (("A", 10), ("B", 34), ("C", 20)):
        sheet.column_dimensions[column].width = width
    sheet.page_setup.paperSize = sheet.PAPERSIZE_A4
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _close_line(close: YearClose | None) -> str:
    if close is None or YearCloseStatus(close.status) != YearCloseStatus.closed:
        return "（締め前の見込み）"
    return (f"締め: {date_ja(close.closed_at.date())}（申請 {close.requested_by}、締め {close.closed_by}）")


def accounts_html(accounts: AccountsOfYear, close: YearClose | None = None) -> str:
    e = html.escape
    rows = "".join(f'<tr><td>{e(kind)}</td><th scope="row">{e(name)}</th><td class="yen">{amount:,}円</td></tr>'
                   for kind, name, amount in accounts_rows(accounts)[1:])
    return (f'<!DOCTYPE html><html lang="ja"><head><meta charset="utf-8"><title>{e(fiscal_year_ja(accounts.fiscal_year))} 収支決算書</title>'
            "<style>@page { size: A4; margin: 20mm; } body { font-family: 'IPAGothic', 'IPAゴシック', sans-serif; font-size: 10.5pt; }"
            " table { border-collapse: collapse; width: 100%; } th, td { border: 0.8px solid #000; padding: 1.5mm 2mm; text-align: left; }"
            " td.yen { text-align: right; } h1 { font-size: 14pt; text-align: center; } .hash { font-size: 7.5pt; word-break: break-all; }</style>"
            f"</head><body><h1>{e(fiscal_year_ja(accounts.fiscal_year))} 連携基盤共同利用事業 収支決算書</h1>"
            f"<p>{e(_close_line(close))}</p><table><thead><tr><th scope=\"col\">区分</th><th scope=\"col\">科目</th>"
            f"<th scope=\"col\">金額</th></tr></thead><tbody>{rows}</tbody></table>"
            f'<p class="hash">SHA-256: {accounts.sha256()}</p></body></html>')


def accounts_pdf(accounts: AccountsOfYear, close: YearClose | None = None) -> bytes:
    import weasyprint

    return weasyprint.HTML(string=accounts_html(accounts, close)).write_pdf()


def _plain(value: Any) -> Any:
    """A column's value as the same text on SQLite and PostgreSQL (timestamps in UTC, naive)."""
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(dt.timezone.utc).replace(tzinfo=None)
        return value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if hasattr(value, "value"):  # an enum
        return value.value
    return value


def digested_columns() -> dict[str, list[str]]:
    """The columns :func:`run_digests` reads, kept beside the digests (a column added later is not a change)."""
    return {"run_columns": [column.name for column in AllocationRun.__table__.columns],
            "line_columns": [column.name for column in AllocationRunLine.__table__.columns]}


def run_digests(session: Session, fiscal_year: int, run_columns: list[str] | None = None,
                line_columns: list[str] | None = None) -> dict[str, str]:
    """The SHA-256 of each allocation run of the year (its columns, its snapshot included, and its
    lines' columns; by default every one), by run id as text: the close's audit record keeps them,
    ``renkei check`` compares."""
    digests = {}
    run_columns = run_columns or digested_columns()["run_columns"]
    line_columns = line_columns or digested_columns()["line_columns"]
    for run in session.scalars(sa.select(AllocationRun).where(AllocationRun.fiscal_year == fiscal_year)
                               .order_by(AllocationRun.id)):
        lines = session.scalars(sa.select(AllocationRunLine).where(AllocationRunLine.run_id == run.id)
                                .order_by(AllocationRunLine.id)).all()
        text = json.dumps({"run": {name: _plain(getattr(run, name, None)) for name in run_columns},
                           "lines": [{name: _plain(getattr(line, name, None)) for name in line_columns} for line in lines]},
                          ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=str)
        digests[str(run.id)] = hashlib.sha256(text.encode()).hexdigest()
    return digests


# --- the close --------------------------------------------------------------------------------------

def year_close(session: Session, fiscal_year: int) -> YearClose | None:
    """The year's latest close (requested, closed, withdrawn or reopened), None if never asked."""
    return session.scalars(sa.select(YearClose).where(YearClose.fiscal_year == fiscal_year)
                           .order_by(YearClose.id.desc())).first()


def close_summary(close: YearClose | None, fiscal_year: int) -> dict[str, Any]:
    if close is None:
        return {"fiscal_year": fiscal_year, "status": "open", "status_ja": "締め前",
                "closable_from": closable_from(fiscal_year).isoformat()}
    return {"fiscal_year": fiscal_year, "id": close.id, "status": YearCloseStatus(close.status).value,
            "status_ja": YearCloseStatus(close.status).ja,
            "closable_from": closable_from(fiscal_year).isoformat(),
            "requested_by": close.requested_by, "requested_at": audit.timestamp_text(close.requested_at),
            "closed_by": close.closed_by or None,
            "closed_at": audit.timestamp_text(close.closed_at) if close.closed_at else None,
            "statement_sha256": close.statement_sha256 or None,
            "reopen_resolution_id": close.reopen_resolution_id}


def read_close(session: Session, actor: Actor, fiscal_year: int) -> YearClose | None:
    authz.authorize(actor, "billing.read")
    return year_close(session, fiscal_year)


def request_close(session: Session, actor: Actor, fiscal_year: int, *, today: dt.date | None = None) -> YearClose:
    """Ask to close the year; a second finance officer then closes it."""
    _manage(actor)
    today = today or today_jst()
    first = closable_from(fiscal_year)
    if today < first:
        raise BillingConflict(
            f"FY{fiscal_year} can be closed from {day_text(first)}, after the settlement period (出納整理期間) ends on 31 May.",
            f"{fiscal_year_ja(fiscal_year)}は出納整理期間（5月31日まで）の後、{date_ja(first)}から締めることができます。",
            fiscal_year=fiscal_year, closable_from=first.isoformat())
    current = year_close(session, fiscal_year)
    if current is not None and YearCloseStatus(current.status) in (YearCloseStatus.requested, YearCloseStatus.closed):
        label = YearCloseStatus(current.status).ja
        raise BillingConflict(f"FY{fiscal_year} is {YearCloseStatus(current.status).value} already.",
                              f"{fiscal_year_ja(fiscal_year)}はすでに「{label}」です。", fiscal_year=fiscal_year)
    close = YearClose(fiscal_year=fiscal_year, requested_by=actor.recorded_name, requested_by_key=_key(actor))
    session.add(close)
    session.flush()
    audit.record(session, actor, "billing.year.close_request", "fiscal_year", str(fiscal_year),
                 after=close_summary(close, fiscal_year))
    return close


def _requested(session: Session, fiscal_year: int) -> YearClose:
    close = year_close(session, fiscal_year)
    if close is None or YearCloseStatus(close.status) != YearCloseStatus.requested:
        raise BillingNotFound(f"FY{fiscal_year} has no close request.",
                              f"{fiscal_year_ja(fiscal_year)}の締めは申請されていません。", fiscal_year=fiscal_year)
    return close


MAX_PENDING_NAMED = 10


def _refuse_pending(session: Session, fiscal_year: int) -> None:
    """A year holding pending journal entries is not closed: once closed, they could neither be posted
    nor removed, and the 収支決算 would not say what they were (the database refuses it too,
    :mod:`billing.year_close_guards`)."""
    pending = session.scalars(sa.select(JournalEntry.id).where(
        JournalEntry.fiscal_year == fiscal_year, JournalEntry.status == EntryStatus.pending)
        .order_by(JournalEntry.id)).all()
    if pending:
        named = ", ".join(f"#{entry_id}" for entry_id in pending[:MAX_PENDING_NAMED])
        more = len(pending) - MAX_PENDING_NAMED
        named += f" (+{more})" if more > 0 else ""
        raise BillingConflict(
            f"FY{fiscal_year} holds {len(pending)} pending journal entr{'y' if len(pending) == 1 else 'ies'} ({named}): "
            "a year is closed only when none of its entries is pending; post or delete them first.",
            f"{fiscal_year_ja(fiscal_year)}には計上されていない（保留中の）仕訳が {len(pending)} 件あります（{named}）。"
            "保留中の仕訳を計上するか削除してから締めてください。",
            fiscal_year=fiscal_year, rule="pending_entries", pending_entries=list(pending))


def close_year(session: Session, actor: Actor, fiscal_year: int, *, four_eyes: bool = True) -> YearClose:
    """Close the year (a second finance officer): its 収支決算 is fixed with its SHA-256 and the database
    refuses anything dated in the year from now on."""
    _manage(actor)
    close = _requested(session, fiscal_year)
    move = YEAR_CLOSES.move("close", close.status, close)
    if four_eyes and _same_person(actor, close.requested_by_key, close.requested_by):
        raise FourEyesRefused(f"You asked to close FY{fiscal_year}; another finance officer must close it (four eyes).",
                              FOUR_EYES_CLOSE_JA, fiscal_year=fiscal_year, rule="four_eyes")
    _refuse_pending(session, fiscal_year)
    accounts = accounts_of_year(session, actor, fiscal_year)
    close.statement_json = json.dumps(accounts.as_json(), ensure_ascii=False, sort_keys=True)
    close.statement_sha256 = accounts.sha256()
    close.status, close.closed_at, close.closed_by = move.target, utcnow(), actor.recorded_name
    session.flush()
    audit.record(session, actor, "billing.year.close", "fiscal_year", str(fiscal_year),
                 before={"status": "requested", "requested_by": close.requested_by},
                 after={"status": "closed", "statement_sha256": close.statement_sha256, "four_eyes": four_eyes,
                        **accounts.as_json(), "runs": run_digests(session, fiscal_year), **digested_columns()})
    return close


def withdraw_close(session: Session, actor: Actor, fiscal_year: int) -> YearClose:
    _manage(actor)
    close = _requested(session, fiscal_year)
    close.status = YEAR_CLOSES.move("withdraw", close.status, close).target
    session.flush()
    audit.record(session, actor, "billing.year.close_withdraw", "fiscal_year", str(fiscal_year),
                 before={"status": "requested"}, after={"status": "withdrawn"})
    return close


def reopen_year(session: Session, actor: Actor, fiscal_year: int, resolution_id: int, resolution_ref: str) -> YearClose:
    """The council reopens a closed year (its enactment of a ``reopen_fiscal_year`` resolution)."""
    close = year_close(session, fiscal_year)
    if close is None or YearCloseStatus(close.status) != YearCloseStatus.closed:
        raise BillingConflict(f"FY{fiscal_year} is not closed.", f"{fiscal_year_ja(fiscal_year)}は締められていません。",
                              fiscal_year=fiscal_year,
                              problems=[{"field": "params.fiscal_year", "message_en": "Not closed.",
                                         "message_ja": "締められていない年度です。"}])
    move = YEAR_CLOSES.move("reopen", close.status, close)
    authz.authorize(actor, move.grant)
    close.status, close.reopened_at, close.reopen_resolution_id = move.target, utcnow(), resolution_id
    session.flush()
    audit.record(session, actor, "billing.year.reopen", "fiscal_year", str(fiscal_year),
                 before={"status": "closed", "statement_sha256": close.statement_sha256},
                 after={"status": "reopened", "resolution_ref": resolution_ref})
    return close


def check_reopenable(session: Session, fiscal_year: int) -> None:
    close = year_close(session, fiscal_year)
    if close is None or YearCloseStatus(close.status) != YearCloseStatus.closed:
        raise BillingConflict(f"FY{fiscal_year} is not closed; only a closed year can be reopened.",
                              f"{fiscal_year_ja(fiscal_year)}は締められていないため、再開の議案にできません。",
                              problems=[{"field": "params.fiscal_year", "message_en": "Not closed.",
                                         "message_ja": "締められていない年度です。"}])
