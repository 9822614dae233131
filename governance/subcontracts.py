"""Subcontracting (再委託, issue 57 item 3): a contractor of the prefecture asks approval for a subcontractor
before it works; the prefecture approves or refuses; the approved ones are listed in the contractor's monthly
report.

Rules:

* The **contractors** are the two contracted roles of :mod:`core.authz` (:class:`Contractor`): the consortium
  secretariat (``secretariat``) and the platform vendor (``platform-vendor``). A request belongs to the
  contractor that asks; a person holding both roles says which. A contractor's people see and act on their own
  contractor's requests only; the prefecture (the operator) and the auditor see every request.
* A **request** names the subcontractor (its name; its 法人番号, optional, checked by its check digit), its
  address, the part of the work subcontracted (再委託する業務の範囲), why, the amount (whole yen, optional) and
  the period (from, until; until not before from).
* Its lifecycle (:data:`SUBCONTRACTS`): 申請中 → 承認 or 不承認 (the prefecture: ``subcontract.decide``;
  refusing takes its reason); 申請中 → 取下げ (the contractor, while pending); 承認 → 終了 when the
  subcontract ends early or is over (the contractor or the prefecture; the day it ended is recorded, Japan time).
* :func:`approved_in` is the one list of a contractor's subcontractors approved and in effect in a period
  (approved by its last day, their period overlapping it, not ended before its first day): the secretariat's
  monthly progress report (:mod:`secretariat.progress`) and the vendor's monthly report to the prefecture
  (:mod:`service.monthly_report`) both list it.

Every act is audited with before and after: ``subcontract.request``, ``subcontract.approve``,
``subcontract.refuse``, ``subcontract.withdraw``, ``subcontract.end``.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any, Optional

import sqlalchemy as sa
from sqlalchemy.orm import Session
from sqlmodel import Field, SQLModel

from core import audit, authz
from core.actor import Actor
from core.calendar import FIRST_FISCAL_YEAR, LAST_FISCAL_YEAR, fiscal_year_of, jst_day, today_jst
from core.codes import corporate_number_problem
from core.db import enum_column, timestamp_column, utcnow
from core.errors import Invalid, NotFound, problem
from core.labelled import LabelledEnum, labels
from core.lifecycle import Lifecycle, Move, require_reason
from core.validation import text_field_problem, whole_number

READ, READ_ALL = "subcontract.read", "subcontract.read_all"
REQUEST, DECIDE = "subcontract.request", "subcontract.decide"
NAME_MAX, ADDRESS_MAX, TEXT_MAX = 200, 300, 2000
AMOUNT_MAX = 10**12 - 1  # under a trillion yen: a typing slip otherwise


class Contractor(LabelledEnum):
    secretariat = "secretariat", "コンソーシアム事務局（受託事業者）", "Consortium secretariat (contractor)"
    vendor = "vendor", "基盤運用事業者（受託事業者）", "Platform vendor (contractor)"


ROLE_OF = {Contractor.secretariat: authz.SECRETARIAT, Contractor.vendor: authz.VENDOR}


class SubcontractStatus(LabelledEnum):
    pending = "pending", "申請中", "Pending"
    approved = "approved", "承認", "Approved"
    refused = "refused", "不承認", "Refused"
    withdrawn = "withdrawn", "取下げ", "Withdrawn"
    ended = "ended", "終了", "Ended"


S = SubcontractStatus
SUBCONTRACTS = Lifecycle("再委託の承認申請", "subcontract request", SubcontractStatus, labels(SubcontractStatus), (
    Move("approve", frozenset({S.pending}), S.approved, "承認", "approve", grant=DECIDE),
    Move("refuse", frozenset({S.pending}), S.refused, "不承認", "refuse", reason_required=True, grant=DECIDE),
    Move("withdraw", frozenset({S.pending}), S.withdrawn, "取下げ", "withdraw", grant=REQUEST),
    Move("end", frozenset({S.approved}), S.ended, "終了", "end"),
), initial=(S.pending,))
"""A request is pending, then approved or refused by the prefecture, or withdrawn by its contractor; an
approved subcontract ends."""


class Subcontract(SQLModel, table=True):
    __tablename__ = "subcontract"

    id: int | None = Field(default=None, primary_key=True)
    contractor: Contractor = Field(sa_column=enum_column(Contractor, length=16, checked=True, index=True))
    name: str = Field(max_length=NAME_MAX)  # the subcontractor's
    corporate_number: str = Field(default="", max_length=13)  # "" when not given
    address: str = Field(max_length=ADDRESS_MAX)
    scope: str = Field(sa_column=sa.Column(sa.Text, nullable=False))  # 再委託する業務の範囲
    reason: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    amount_yen: Optional[int] = Field(default=None, sa_column=sa.Column(sa.BigInteger, nullable=True))
    starts_on: dt.date
    ends_on: dt.date
    status: SubcontractStatus = Field(sa_column=enum_column(SubcontractStatus, length=16, checked=True, index=True))
    requested_at: dt.datetime = Field(default_factory=utcnow, sa_column=timestamp_column(nullable=False))
    requested_by: str = Field(max_length=200)
    decided_at: Optional[dt.datetime] = Field(default=None, sa_column=timestamp_column(nullable=True))
    decided_by: str = Field(default="", max_length=200)
    refusal_reason: str = Field(default="", sa_column=sa.Column(sa.Text, nullable=False, server_default=""))
    closed_on: Optional[dt.date] = Field(default=None)  # the day it was withdrawn or ended (Japan time)
    closed_by: str = Field(default="", max_length=200)


class SubcontractInvalid(Invalid):
    def __init__(self, problems: list[dict[str, str]]) -> None:
        super().__init__("The request has problems; nothing was saved.", "申請の内容に誤りがあります。保存していません。",
                         problems=problems)


# --- who is asking --------------------------------------------------------------------------------

def contractors_of(actor: Actor) -> list[Contractor]:
    """The contractors whose role the actor holds (in declaration order)."""
    return [contractor for contractor, role in ROLE_OF.items() if role in actor.roles]


def _sees_all(actor: Actor) -> bool:
    return authz.allowed(actor, READ_ALL)


def _may_see(actor: Actor, row: Subcontract) -> bool:
    return _sees_all(actor) or row.contractor in contractors_of(actor)


def _contractor(actor: Actor, named: str | None) -> Contractor | dict[str, str]:
    mine = contractors_of(actor)
    if named:
        try:
            chosen = Contractor(named)
        except ValueError:
            chosen = None
        if chosen in mine:
            return chosen
    elif len(mine) == 1:
        return mine[0]
    return problem("contractor", "Say for which of your contractors you ask.", "どの受託事業者としての申請かを選んでください。")


# --- the request ------------------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class Draft:
    """A request as typed: text from a form or a client, read and checked by :func:`request`."""

    name: str
    address: str
    scope: str
    reason: str
    starts_on: Any  # a date, or YYYY-MM-DD
    ends_on: Any
    corporate_number: str = ""
    amount_yen: Any = None  # whole yen (1,200,000 accepted), or empty
    contractor: str = ""  # which of the actor's contractors; may be left out when they hold one


def _day(field: str, value: Any, en: str, ja: str) -> tuple[dt.date | None, list[dict[str, str]]]:
    if isinstance(value, str):
        try:
            value = dt.date.fromisoformat(value.strip())
        except ValueError:
            value = None
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime) \
            and FIRST_FISCAL_YEAR <= fiscal_year_of(value) <= LAST_FISCAL_YEAR:
        return value, []
    return None, [problem(field, f"Give the {en} as a date (YYYY-MM-DD).", f"{ja}を日付（YYYY-MM-DD）で入力してください。")]


def _amount(value: Any) -> tuple[int | None, list[dict[str, str]]]:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None, []
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    else:
        number = whole_number(str(value).strip().replace(",", "").removesuffix("円"), max_digits=13)
    if number is None or not 0 <= number <= AMOUNT_MAX:
        return None, [problem("amount_yen", f"The amount is whole yen from 0 to {AMOUNT_MAX:,}, or empty.",
                              f"金額は 0〜{AMOUNT_MAX:,} 円の整数で入力するか、空欄にしてください。")]
    return number, []


def _checked(draft: Draft) -> tuple[dict[str, Any], list[dict[str, str]]]:
    text = {key: (getattr(draft, key) or "").strip() if isinstance(getattr(draft, key), str) else getattr(draft, key)
            for key in ("name", "address", "scope", "reason", "corporate_number")}
    found = [p for p in (
        text_field_problem("name", text["name"], "subcontractor's name", "再委託先の名称", NAME_MAX, required=True),
        text_field_problem("address", text["address"], "address", "所在地", ADDRESS_MAX, required=True),
        text_field_problem("scope", text["scope"], "part of the work", "再委託する業務の範囲", TEXT_MAX, required=True,
                           single_line=False),
        text_field_problem("reason", text["reason"], "reason", "再委託の理由", TEXT_MAX, required=True, single_line=False),
    ) if p is not None]
    number = text["corporate_number"] if isinstance(text["corporate_number"], str) else ""
    if number and (wrong := corporate_number_problem(number)):
        found.append(problem("corporate_number", *wrong))
    starts, wrong_start = _day("starts_on", draft.starts_on, "start of the period", "再委託の期間（開始日）")
    ends, wrong_end = _day("ends_on", draft.ends_on, "end of the period", "再委託の期間（終了日）")
    amount, wrong_amount = _amount(draft.amount_yen)
    found += wrong_start + wrong_end + wrong_amount
    if starts and ends and ends < starts:
        found.append(problem("ends_on", "The period ends before it starts.", "終了日が開始日より前です。"))
    return {**text, "corporate_number": number, "starts_on": starts, "ends_on": ends, "amount_yen": amount}, found


def summary(row: Subcontract) -> dict[str, Any]:
    """What the audit record keeps of a request."""
    return {"contractor": row.contractor.value, "name": row.name, "corporate_number": row.corporate_number,
            "address": row.address, "scope": row.scope, "reason": row.reason, "amount_yen": row.amount_yen,
            "starts_on": row.starts_on.isoformat(), "ends_on": row.ends_on.isoformat(), "status": row.status.value,
            "refusal_reason": row.refusal_reason, "closed_on": row.closed_on.isoformat() if row.closed_on else None}


def request(session: Session, actor: Actor, draft: Draft) -> Subcontract:
    """A contractor asks approval for a subcontractor; audited ``subcontract.request``."""
    authz.authorize(actor, REQUEST)
    values, found = _checked(draft)
    contractor = _contractor(actor, draft.contractor)
    if isinstance(contractor, dict):
        found.insert(0, contractor)
    if found:
        raise SubcontractInvalid(found)
    row = Subcontract(contractor=contractor, status=S.pending, requested_by=actor.recorded_name[:200], **values)
    session.add(row)
    session.flush()
    audit.record(session, actor, "subcontract.request", "subcontract", str(row.id), after=summary(row))
    return row


def get(session: Session, actor: Actor, subcontract_id: int) -> Subcontract:
    """One request: another contractor's is as if it did not exist."""
    authz.authorize(actor, READ)
    row = session.get(Subcontract, subcontract_id)
    if row is None or not _may_see(actor, row):
        raise NotFound(f"No subcontract request {subcontract_id}.", f"再委託の承認申請 {subcontract_id} はありません。")
    return row


def requests(session: Session, actor: Actor, *, status: SubcontractStatus | None = None) -> list[Subcontract]:
    """Every request the actor may see (the pending first, then the newest)."""
    authz.authorize(actor, READ)
    query = sa.select(Subcontract)
    if not _sees_all(actor):
        if not contractors_of(actor):
            return []
        query = query.where(Subcontract.contractor.in_(contractors_of(actor)))
    if status is not None:
        query = query.where(Subcontract.status == status)
    pending_first = sa.case((Subcontract.status == S.pending, 0), else_=1)
    return list(session.scalars(query.order_by(pending_first, Subcontract.requested_at.desc(), Subcontract.id.desc())))


def refusal_reason(text: str | None) -> str:
    """The reason a refusal takes (Invalid on the field ``reason`` when empty): asked before the refusal
    is confirmed, and again by :func:`refuse`."""
    reason = require_reason(SUBCONTRACTS.moves["refuse"], text)
    if wrong := text_field_problem("reason", reason, "reason", "理由", TEXT_MAX, single_line=False):
        raise Invalid("The reason cannot be kept as typed.", "理由をそのまま記録できません。", problems=[wrong])
    return reason


def _decide(session: Session, actor: Actor, subcontract_id: int, name: str, reason: str = "") -> Subcontract:
    authz.authorize(actor, DECIDE)
    row = get(session, actor, subcontract_id)
    move = SUBCONTRACTS.move(name, row.status, row)
    before = summary(row)
    row.status, row.decided_at, row.decided_by, row.refusal_reason = move.target, utcnow(), actor.recorded_name[:200], reason
    session.flush()
    audit.record(session, actor, f"subcontract.{name}", "subcontract", str(row.id), before=before, after=summary(row))
    return row


def approve(session: Session, actor: Actor, subcontract_id: int) -> Subcontract:
    """The prefecture approves a pending request; audited ``subcontract.approve``."""
    return _decide(session, actor, subcontract_id, "approve")


def refuse(session: Session, actor: Actor, subcontract_id: int, reason: str | None) -> Subcontract:
    """The prefecture refuses a pending request, saying why; audited ``subcontract.refuse``."""
    authz.authorize(actor, DECIDE)
    return _decide(session, actor, subcontract_id, "refuse", refusal_reason(reason))


def _close(session: Session, actor: Actor, subcontract_id: int, name: str, now: dt.datetime | None) -> Subcontract:
    row = get(session, actor, subcontract_id)
    move = SUBCONTRACTS.move(name, row.status, row)
    before = summary(row)
    row.status, row.closed_on, row.closed_by = move.target, today_jst(now or utcnow()), actor.recorded_name[:200]
    session.flush()
    audit.record(session, actor, f"subcontract.{name}", "subcontract", str(row.id), before=before, after=summary(row))
    return row


def withdraw(session: Session, actor: Actor, subcontract_id: int, *, now: dt.datetime | None = None) -> Subcontract:
    """The contractor withdraws its pending request; audited ``subcontract.withdraw``."""
    authz.authorize(actor, REQUEST)
    return _close(session, actor, subcontract_id, "withdraw", now)


def end(session: Session, actor: Actor, subcontract_id: int, *, now: dt.datetime | None = None) -> Subcontract:
    """An approved subcontract has ended (its contractor says so, or the prefecture records it); today (Japan
    time) is its last day in the reports; audited ``subcontract.end``."""
    if not authz.allowed(actor, DECIDE):
        authz.authorize(actor, REQUEST)
    return _close(session, actor, subcontract_id, "end", now)


def may(actor: Actor, row: Subcontract) -> dict[str, bool]:
    """Which moves the page offers the actor on ``row`` (the table's, and the actor's grants)."""
    allowed = {move.name for move in SUBCONTRACTS.moves_from(row.status)}
    decides = authz.allowed(actor, DECIDE)
    asks = authz.allowed(actor, REQUEST) and row.contractor in contractors_of(actor)
    return {"approve": "approve" in allowed and decides, "refuse": "refuse" in allowed and decides,
            "withdraw": "withdraw" in allowed and asks, "end": "end" in allowed and (decides or asks)}


# --- the monthly reports ---------------------------------------------------------------------------------

def approved_in(session: Session, contractor: Contractor, first_day: dt.date, last_day: dt.date) -> list[Subcontract]:
    """The contractor's subcontractors approved by ``last_day`` (Japan time) and in effect in the period: their
    period overlaps it and they did not end before ``first_day``. The monthly reports' one list (no actor: the
    report's own operation has authorised its reader)."""
    rows = session.scalars(sa.select(Subcontract).where(
        Subcontract.contractor == contractor, Subcontract.status.in_((S.approved, S.ended)),
        Subcontract.starts_on <= last_day, Subcontract.ends_on >= first_day,
        sa.or_(Subcontract.closed_on.is_(None), Subcontract.closed_on >= first_day))
        .order_by(Subcontract.starts_on, Subcontract.id))
    return [row for row in rows if row.decided_at is not None and jst_day(row.decided_at) <= last_day]


def period_text(row: Subcontract) -> str:
    until = row.closed_on if row.status is S.ended and row.closed_on and row.closed_on < row.ends_on else row.ends_on
    return f"{row.starts_on.isoformat()}〜{until.isoformat()}"


def amount_text(row: Subcontract) -> str:
    return "—" if row.amount_yen is None else f"{row.amount_yen:,} 円"


REPORT_HEADERS = ("再委託先", "法人番号", "所在地", "再委託する業務の範囲", "期間", "金額", "承認日")


def report_rows(rows: list[Subcontract]) -> tuple[tuple[Any, ...], ...]:
    """The reports' rows of :func:`approved_in` (the PDF's and the workbook's section, :data:`REPORT_HEADERS`)."""
    return tuple((row.name, row.corporate_number or "—", row.address, row.scope, period_text(row), amount_text(row),
                  jst_day(row.decided_at).isoformat() if row.decided_at else "") for row in rows)
