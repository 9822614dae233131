"""Whether a fiscal year is closed (決算): the one question every billing write asks before the
database's own guard (billing.year_close_guards) would refuse it, so that the refusal is in words.
The closing itself is :mod:`billing.year_close`."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session

from billing.ledger_errors import BillingConflict
from billing.models import YearClose, YearCloseStatus
from core.calendar import fiscal_year_ja


def is_closed(session: Session, fiscal_year: int) -> bool:
    return session.scalar(sa.select(sa.func.count()).select_from(YearClose).where(
        YearClose.fiscal_year == fiscal_year, YearClose.status == YearCloseStatus.closed)) > 0


def refuse_if_closed(session: Session, *fiscal_years: int) -> None:
    """Refused in words when any of ``fiscal_years`` is closed: nothing may be written to it."""
    for fiscal_year in sorted(set(fiscal_years)):
        if is_closed(session, fiscal_year):
            raise BillingConflict(
                f"FY{fiscal_year} is closed (決算): nothing dated in it can be entered, changed or posted; "
                "only a council resolution reopens it.",
                f"{fiscal_year_ja(fiscal_year)}は決算済み（締め済み）のため、この年度の登録・変更・計上はできません。"
                "再開には協議会の議決が必要です。",
                fiscal_year=fiscal_year, rule="year_closed")
