"""The yearly re-screening of the members (issue 58 item 4, 会員の年次再確認).

Once a fiscal year the secretariat goes through every member organisation again:

* **A round per fiscal year** (:func:`start_round`, ``rescreening.manage``: the operator or the secretariat).
* **The registry's changes**: the 国税庁 法人番号公表サイト's difference files (:mod:`secretariat.corporate_registry`,
  imported offline, one or several at a time, all or nothing) are matched against the approved members'
  corporate numbers (:func:`import_files`). A member whose number was closed (21), absorbed in a merger (71,
  with its successor's number) or deleted (99) is listed **for decision**; a change of name or address (11, 12,
  13) and the other codes are listed for information. The same file twice in a round is refused.
* **The declaration** (反社会的勢力でないことの再確認): each member's own organisation admin re-confirms it through
  its member page while the round is open (:func:`declare`, ``rescreening.declare``, own member only); the
  round's page shows who has not.
* **The decision per member** (:func:`decide`, ``rescreening.decide``: the operator or the secretariat): 継続,
  退会手続き or 確認中, always with a reason; it may be changed while checking goes on (each change audited). A
  decision of 退会手続き records the outcome only: the withdrawal itself is the members' own act
  (:func:`tenancy.members.operations.withdraw`), which disables the accounts.
* **The outcome per member** (:func:`standings`): the decision when recorded, else what is still awaited.

Every act is audited: ``rescreening.start``, ``rescreening.import``, ``rescreening.declare``,
``rescreening.decide``.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
from collections.abc import Iterable
from typing import Optional

import sqlalchemy as sa
from sqlalchemy.orm import Session
from sqlmodel import Field, SQLModel

from core import audit, authz
from core.actor import Actor
from core.calendar import fiscal_year_of
from core.db import enum_column, timestamp_column, utcnow
from core.errors import Conflict, Invalid, NotFound, problem
from core.labelled import LabelledEnum
from secretariat import corporate_registry
from secretariat.corporate_registry import FOR_DECISION, CloseCause, Process
from tenancy.members.models import MemberStatus, Organisation

READ, MANAGE, DECIDE, DECLARE = "rescreening.read", "rescreening.manage", "rescreening.decide", "rescreening.declare"
REASON_MAX, FILE_NAME_MAX = 2000, 255
DECLARATION = ("当団体（役員等を含む）は、暴力団、暴力団員その他の反社会的勢力に該当せず、これらと関係を有していないことを"
               "あらためて確認します。",
               "We confirm again that our organisation (its officers included) is not, and has no ties with, an "
               "organised crime group, its members or any other antisocial force.")


class Decision(LabelledEnum):
    """What the secretariat decided for a member in the round."""

    continued = "continued", "継続", "Continue"
    withdrawal = "withdrawal", "退会手続き", "Withdrawal procedure"
    checking = "checking", "確認中", "Being checked"


class Outcome(LabelledEnum):
    """Where a member stands in the round (derived; the decision is what is recorded)."""

    continued = "continued", "継続", "Continue"
    withdrawal = "withdrawal", "退会手続き", "Withdrawal procedure"
    checking = "checking", "確認中", "Being checked"
    awaiting_decision = "awaiting_decision", "事務局の判断待ち", "Awaiting the secretariat's decision"
    awaiting_declaration = "awaiting_declaration", "再確認待ち", "Not yet re-confirmed"
    declared = "declared", "再確認済み", "Re-confirmed"


class RescreeningRound(SQLModel, table=True):
    __tablename__ = "member_rescreening_round"

    id: int | None = Field(default=None, primary_key=True)
    fiscal_year: int = Field(sa_column_kwargs={"unique": True})
    started_by: str = Field(max_length=255)
    started_at: dt.datetime = Field(default_factory=utcnow, sa_column=timestamp_column(nullable=False))


class RescreeningFile(SQLModel, table=True):
    """A difference file imported in a round: its name, its digest (the same file is not imported twice)."""

    __tablename__ = "member_rescreening_file"
    __table_args__ = (sa.UniqueConstraint("round_id", "sha256"),)

    id: int | None = Field(default=None, primary_key=True)
    round_id: int = Field(foreign_key="member_rescreening_round.id", index=True)
    file_name: str = Field(max_length=FILE_NAME_MAX)
    sha256: str = Field(max_length=64)
    rows: int
    matched: int
    imported_by: str = Field(max_length=255)
    imported_at: dt.datetime = Field(default_factory=utcnow, sa_column=timestamp_column(nullable=False))


class RescreeningFinding(SQLModel, table=True):
    """One row of a difference file that names a member."""

    __tablename__ = "member_rescreening_finding"

    id: int | None = Field(default=None, primary_key=True)
    round_id: int = Field(foreign_key="member_rescreening_round.id", index=True)
    file_id: int = Field(foreign_key="member_rescreening_file.id", index=True)
    line: int
    corporate_number: str = Field(max_length=13, index=True)
    process: Process = Field(sa_column=enum_column(Process, length=24))
    updated_on: dt.date
    changed_on: dt.date
    name: str = Field(default="", max_length=300)
    address: str = Field(default="", max_length=600)
    closed_on: Optional[dt.date] = Field(default=None)
    close_cause: Optional[CloseCause] = Field(default=None, sa_column=enum_column(CloseCause, length=24, nullable=True))
    successor: str = Field(default="", max_length=13)

    @property
    def for_decision(self) -> bool:
        return self.process in FOR_DECISION


class RescreeningEntry(SQLModel, table=True):
    """A member's record in the round: its declaration and the secretariat's decision."""

    __tablename__ = "member_rescreening_entry"
    __table_args__ = (sa.UniqueConstraint("round_id", "corporate_number"),)

    id: int | None = Field(default=None, primary_key=True)
    round_id: int = Field(foreign_key="member_rescreening_round.id", index=True)
    corporate_number: str = Field(max_length=13)
    declared_at: Optional[dt.datetime] = Field(default=None, sa_column=timestamp_column(nullable=True))
    declared_by: str = Field(default="", max_length=255)
    decision: Optional[Decision] = Field(default=None, sa_column=enum_column(Decision, length=16, nullable=True))
    decision_reason: str = Field(default="", sa_column=sa.Column(sa.Text, nullable=False, server_default=""))
    decided_by: str = Field(default="", max_length=255)
    decided_at: Optional[dt.datetime] = Field(default=None, sa_column=timestamp_column(nullable=True))


@dataclasses.dataclass(frozen=True)
class Standing:
    """A member in the round, for the round's page."""

    corporate_number: str
    name: str
    status: MemberStatus
    findings: list[RescreeningFinding]
    entry: RescreeningEntry | None

    @property
    def for_decision(self) -> bool:
        return any(f.for_decision for f in self.findings)

    @property
    def declared(self) -> bool:
        return self.entry is not None and self.entry.declared_at is not None

    @property
    def outcome(self) -> Outcome:
        if self.entry is not None and self.entry.decision is not None:
            return Outcome(self.entry.decision.value)
        if self.for_decision:
            return Outcome.awaiting_decision
        return Outcome.declared if self.declared else Outcome.awaiting_declaration


@dataclasses.dataclass(frozen=True)
class Imported:
    files: int
    rows: int
    findings: list[RescreeningFinding]

    @property
    def for_decision(self) -> list[str]:
        return sorted({f.corporate_number for f in self.findings if f.for_decision})


def current_fiscal_year() -> int:
    return fiscal_year_of(utcnow())


def find_round(session: Session, fiscal_year: int) -> RescreeningRound | None:
    return session.scalar(sa.select(RescreeningRound).where(RescreeningRound.fiscal_year == fiscal_year))


def _round(session: Session, fiscal_year: int) -> RescreeningRound:
    found = find_round(session, fiscal_year)
    if found is None:
        raise NotFound(f"The re-screening of fiscal year {fiscal_year} has not been started.",
                       f"{fiscal_year} 年度の年次再確認は開始されていません。")
    return found


def start_round(session: Session, actor: Actor, fiscal_year: int) -> RescreeningRound:
    """Start the year's round (already started: that one, unchanged)."""
    authz.authorize(actor, MANAGE)
    found = find_round(session, fiscal_year)
    if found is not None:
        return found
    members = session.scalar(sa.select(sa.func.count(Organisation.id)).where(Organisation.status == MemberStatus.approved))
    started = RescreeningRound(fiscal_year=fiscal_year, started_by=actor.recorded_name)
    session.add(started)
    session.flush()
    audit.record(session, actor, "rescreening.start", "rescreening", str(fiscal_year), before=None,
                 after={"fiscal_year": fiscal_year, "members": members})
    return started


def import_files(session: Session, actor: Actor, fiscal_year: int, files: Iterable[tuple[str, bytes]]) -> Imported:
    """Import one or several difference files into the round, all or nothing: every row is checked first
    (:func:`secretariat.corporate_registry.read`), then the rows naming an approved member are kept."""
    authz.authorize(actor, MANAGE)
    found = _round(session, fiscal_year)
    files = [((name or "").strip()[:FILE_NAME_MAX] or "difference.csv", raw) for name, raw in files]
    if not files:
        raise Invalid("Choose a difference file.", "差分データのファイルを選んでください。",
                      problems=[problem("file", "Choose a difference file.", "差分データのファイルを選んでください。")])
    read = []
    seen = set(session.scalars(sa.select(RescreeningFile.sha256).where(RescreeningFile.round_id == found.id)))
    for name, raw in files:
        digest = hashlib.sha256(raw).hexdigest()
        if digest in seen:
            raise Conflict(f"{name} was already imported in this round; nothing was imported.",
                           f"{name} はこの年度の再確認で取り込み済みです。何も取り込んでいません。",
                           problems=[problem("file", "Already imported.", "取り込み済みのファイルです。")])
        seen.add(digest)
        try:
            read.append((name, digest, corporate_registry.read(raw)))
        except corporate_registry.DifferenceFileRejected as error:
            for found_problem in error.problems:  # which file each line is of, when several are imported at once
                found_problem["file"] = name
            raise
    numbers = {row.corporate_number for _n, _d, rows in read for row in rows}
    members = set(session.scalars(sa.select(Organisation.corporate_number).where(
        Organisation.status == MemberStatus.approved, Organisation.corporate_number.in_(sorted(numbers)))))
    findings = []
    for name, digest, rows in read:
        matched = [row for row in rows if row.corporate_number in members]
        kept = RescreeningFile(round_id=found.id, file_name=name, sha256=digest, rows=len(rows), matched=len(matched),
                               imported_by=actor.recorded_name)
        session.add(kept)
        session.flush()
        for row in matched:
            finding = RescreeningFinding(
                round_id=found.id, file_id=kept.id, line=row.line, corporate_number=row.corporate_number,
                process=row.process, updated_on=row.updated_on, changed_on=row.changed_on, name=row.name[:300],
                address=row.address[:600], closed_on=row.closed_on, close_cause=row.close_cause, successor=row.successor)
            session.add(finding)
            findings.append(finding)
    session.flush()
    result = Imported(len(read), sum(len(rows) for _n, _d, rows in read), findings)
    audit.record(session, actor, "rescreening.import", "rescreening", str(fiscal_year), before=None,
                 after={"files": [name for name, _d, _r in read], "rows": result.rows, "matched": len(findings),
                        "for_decision": result.for_decision})
    return result


def _entry(session: Session, found: RescreeningRound, number: str) -> RescreeningEntry | None:
    return session.scalar(sa.select(RescreeningEntry).where(RescreeningEntry.round_id == found.id,
                                                            RescreeningEntry.corporate_number == number))


def _member(session: Session, found: RescreeningRound, number: str) -> Organisation:
    """A member of the round: an approved organisation, or one the round has already recorded something of."""
    org = session.scalar(sa.select(Organisation).where(Organisation.corporate_number == number))
    in_round = org is not None and (org.status == MemberStatus.approved or _entry(session, found, number) is not None
                                    or session.scalar(sa.select(RescreeningFinding.id).where(
                                        RescreeningFinding.round_id == found.id,
                                        RescreeningFinding.corporate_number == number).limit(1)) is not None)
    if not in_round:
        raise NotFound(f"No member {number} in this round.", f"法人番号 {number} はこの年度の再確認の対象の会員ではありません。")
    return org


def _or_new_entry(session: Session, found: RescreeningRound, number: str) -> RescreeningEntry:
    entry = _entry(session, found, number)
    if entry is None:
        entry = RescreeningEntry(round_id=found.id, corporate_number=number)
        session.add(entry)
    return entry


def decide(session: Session, actor: Actor, fiscal_year: int, number: str, decision: str,
           reason: str) -> RescreeningEntry:
    """The secretariat's decision for one member, with its reason (may be changed while the round goes on)."""
    authz.authorize(actor, DECIDE)
    found = _round(session, fiscal_year)
    _member(session, found, number)
    chosen = next((d for d in Decision if d.value == decision), None)
    reason = (reason or "").strip()
    problems = []
    if chosen is None:
        problems.append(problem("decision", "Choose continue, withdrawal procedure or being checked.",
                                "継続・退会手続き・確認中のいずれかを選んでください。"))
    if not reason or len(reason) > REASON_MAX or "\x00" in reason:
        problems.append(problem("reason", f"Give the reason (up to {REASON_MAX:,} characters).",
                                f"理由を {REASON_MAX:,} 文字以内で入力してください。"))
    if problems:
        raise Invalid("The decision was not recorded.", "判断を記録していません。", problems=problems)
    entry = _or_new_entry(session, found, number)
    before = None if entry.decision is None else {"decision": entry.decision.value, "reason": entry.decision_reason}
    entry.decision, entry.decision_reason = chosen, reason
    entry.decided_by, entry.decided_at = actor.recorded_name, utcnow()
    session.flush()
    audit.record(session, actor, "rescreening.decide", "member", number, tenant_code=number, before=before,
                 after={"fiscal_year": fiscal_year, "decision": chosen.value, "reason": reason})
    return entry


def own_round(session: Session, actor: Actor, number: str) -> tuple[RescreeningRound | None, RescreeningEntry | None]:
    """This fiscal year's round (None: not started) and the member's entry in it, for its own admin's page."""
    authz.authorize(actor, DECLARE, number)
    found = find_round(session, current_fiscal_year())
    return found, (None if found is None else _entry(session, found, number))


def declare(session: Session, actor: Actor, number: str) -> RescreeningEntry:
    """The member's own admin re-confirms the declaration (反社会的勢力でないこと) for this fiscal year's round."""
    authz.authorize(actor, DECLARE, number)
    fiscal_year = current_fiscal_year()
    found = _round(session, fiscal_year)
    org = session.scalar(sa.select(Organisation).where(Organisation.corporate_number == number))
    if org is None or org.status != MemberStatus.approved:
        raise Conflict(f"Organisation {number} is not a member; there is nothing to re-confirm.",
                       f"法人番号 {number} の団体は会員ではないため、再確認はできません。")
    entry = _or_new_entry(session, found, number)
    if entry.declared_at is not None:
        raise Conflict("The declaration was already re-confirmed this fiscal year.",
                       "今年度の宣誓はすでに再確認済みです。")
    entry.declared_at, entry.declared_by = utcnow(), actor.recorded_name
    session.flush()
    audit.record(session, actor, "rescreening.declare", "member", number, tenant_code=number,
                 before={"declared": False}, after={"fiscal_year": fiscal_year, "declared": True,
                                                    "declaration": DECLARATION[0]})
    return entry


def standings(session: Session, actor: Actor, fiscal_year: int) -> tuple[RescreeningRound | None, list[Standing]]:
    """The round (None: not started) and every member in it: the approved organisations and any the round has
    recorded something of, by corporate number, each with its findings, declaration and decision."""
    authz.authorize(actor, READ)
    found = find_round(session, fiscal_year)
    if found is None:
        return None, []
    findings: dict[str, list[RescreeningFinding]] = {}
    for finding in session.scalars(sa.select(RescreeningFinding).where(RescreeningFinding.round_id == found.id)
                                   .order_by(RescreeningFinding.changed_on, RescreeningFinding.id)):
        findings.setdefault(finding.corporate_number, []).append(finding)
    entries = {e.corporate_number: e for e in session.scalars(
        sa.select(RescreeningEntry).where(RescreeningEntry.round_id == found.id))}
    recorded = set(findings) | set(entries)
    orgs = session.scalars(sa.select(Organisation).where(sa.or_(
        Organisation.status == MemberStatus.approved, Organisation.corporate_number.in_(sorted(recorded))))
        .order_by(Organisation.corporate_number))
    return found, [Standing(org.corporate_number, org.name, org.status, findings.get(org.corporate_number, []),
                            entries.get(org.corporate_number)) for org in orgs]


def imported_files(session: Session, actor: Actor, found: RescreeningRound) -> list[RescreeningFile]:
    authz.authorize(actor, READ)
    return list(session.scalars(sa.select(RescreeningFile).where(RescreeningFile.round_id == found.id)
                                .order_by(RescreeningFile.id)))
