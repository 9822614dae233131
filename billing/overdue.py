"""Unpaid after the due date (滞納): the one fact every page and the 督促状 ask.

A statement (a tenant's fiscal year) is *overdue* on a day when its receivable still shows money owed
(:func:`billing.ledger.receivable_balances`: what was charged less what was paid, from posted entries)
and the 納期限 of its newest letter (:class:`billing.models.StatementDocument`: the 納入通知書, or the
精算書 once the year is settled) is before that day. The reminder list, the refusals of
:mod:`billing.reminders` and the pages that show a reminder all read :func:`overdue_statements`.

Once a payment pays a statement off, its reminders are marked paid with the payment's date
(:func:`mark_paid`, called by :func:`billing.operations.record_payment`).

No authorisation here: the callers (:mod:`billing.reminders`) authorise the reader first.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterable, Sequence

import sqlalchemy as sa
from sqlalchemy.orm import Session

from billing import ledger
from billing.models import Reminder, StatementDocument
from tenancy.registry.models import Tenant


@dataclasses.dataclass(frozen=True)
class Overdue:
    """A statement unpaid after its due date, with the letter whose 納期限 passed and its reminders."""

    tenant_code: str
    tenant_name: str
    fiscal_year: int
    owed: int  # yen still unpaid
    document: StatementDocument  # the newest letter of the statement
    reminders: tuple[Reminder, ...]  # sent so far, oldest first

    @property
    def due_on(self) -> dt.date:
        return self.document.due_on

    @property
    def last_reminder(self) -> Reminder | None:
        return self.reminders[-1] if self.reminders else None


def latest_documents(session: Session, keys: Iterable[tuple[str, int]]) -> dict[tuple[str, int], StatementDocument]:
    """(tenant code, fiscal year) → the statement's newest letter (the one whose 納期限 counts)."""
    keys = set(keys)
    if not keys:
        return {}
    found: dict[tuple[str, int], StatementDocument] = {}
    query = (sa.select(StatementDocument)
             .where(StatementDocument.tenant_code.in_({code for code, _year in keys}),
                    StatementDocument.fiscal_year.in_({year for _code, year in keys}))
             .order_by(StatementDocument.issued_on, StatementDocument.id))
    for document in session.scalars(query):
        key = (document.tenant_code, document.fiscal_year)
        if key in keys:
            found[key] = document  # the later one wins
    return found


def reminders_by_statement(session: Session, keys: Iterable[tuple[str, int]]) -> dict[tuple[str, int], list[Reminder]]:
    keys = set(keys)
    found: dict[tuple[str, int], list[Reminder]] = {}
    if not keys:
        return found
    query = (sa.select(Reminder).where(Reminder.tenant_code.in_({code for code, _year in keys}))
             .order_by(Reminder.issued_on, Reminder.id))
    for reminder in session.scalars(query):
        key = (reminder.tenant_code, reminder.fiscal_year)
        if key in keys:
            found.setdefault(key, []).append(reminder)
    return found


def overdue_statements(session: Session, on: dt.date, tenant_codes: Sequence[str] | None = None) -> list[Overdue]:
    """The statements unpaid after their due date on ``on`` (of ``tenant_codes``, or every tenant), by
    fiscal year then tenant code; a bounded number of queries whatever the number of tenants."""
    balances = ledger.receivable_balances(tenant_codes).subquery()
    owed = {(code, int(year)): int(balance) for code, year, balance in session.execute(
        sa.select(balances.c.tenant_code, balances.c.fiscal_year, balances.c.balance).where(balances.c.balance > 0))}
    documents = latest_documents(session, owed)
    due = sorted((key for key, document in documents.items() if document.due_on < on), key=lambda key: (key[1], key[0]))
    if not due:
        return []
    names = dict(session.execute(sa.select(Tenant.code, Tenant.name_ja).where(
        Tenant.code.in_({code for code, _year in due}))).all())
    reminders = reminders_by_statement(session, due)
    return [Overdue(code, names.get(code, code), year, owed[(code, year)], documents[(code, year)],
                    tuple(reminders.get((code, year), ()))) for code, year in due]


def mark_paid(session: Session, tenant_code: str, fiscal_year: int, paid_on: dt.date) -> int:
    """Record ``paid_on`` on the statement's reminders not marked paid yet, if it is now paid off
    (nothing owed); how many were marked."""
    if ledger.tenant_balance(session, tenant_code, fiscal_year=fiscal_year) > 0:
        return 0
    result = session.execute(sa.update(Reminder).where(
        Reminder.tenant_code == tenant_code, Reminder.fiscal_year == fiscal_year, Reminder.paid_on.is_(None))
        .values(paid_on=paid_on).execution_options(synchronize_session="fetch"))
    return result.rowcount or 0
