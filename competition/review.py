"""The review (審査) of a call's proposals: reviewers assigned to the call, conflicts of interest, scores on
the call's table, sealed until the stage closes, then totals, averages and ranks computed exactly.

Rules:

* A reviewer is a person (a Keycloak account: prefecture staff or an outside expert) the operator assigns
  to one call (``competition.manage``); the assignment is the reviewer's right for that call only, asked
  by every review operation (a person not assigned is refused, whatever their roles).
* A reviewer is a real account: found in the identity directory by its id, recorded with the account's name
  and the member organisations it is tied to (its ``/tenants/<code>`` groups, by corporate number); an
  account the directory does not hold, or a disabled one, is refused in words.
* A reviewer declares a conflict of interest with a group (:func:`declare_conflict`); renkei also finds one
  (:func:`affiliated`): a reviewer whose organisation (the same corporate number) is a member of a group
  applying in the call. Either way the tied reviewer cannot score that group's proposal at either stage,
  nor read it.
* A reviewer scores each proposal once per stage (first: 書面, second: ヒアリング) on every criterion:
  a gate 可 or 否, a score from 0 to its maximum, a comment per criterion.
* A reviewer may correct their own scores until the stage closes (:func:`correct_score`); each earlier value is
  kept (competition_score_revision) and the correction audited with the values before and after. A correction
  asks the conflicts again as scoring does (:func:`keep_out_if_tied`): a reviewer tied to the group since they
  scored cannot correct.
* Sealed: until the operator closes the stage (:func:`close_stage`), a reviewer sees only their own
  scores and no one sees results; afterwards no score is added.
* Results (:func:`results`): a reviewer's total is the sum of their points; the proposal's average is
  the exact fraction (sum of totals ÷ number of reviewers who scored it). A proposal any reviewer judged 否
  on a gate fails the gate and ranks after every passing one. Ranking: passing first, then the higher
  average, then (the tie rule) the higher average on the first scored criterion of the table, then the
  earlier declaration; every rank is distinct.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from fractions import Fraction
from typing import Optional, Protocol

import sqlalchemy as sa
from sqlalchemy.orm import Session
from sqlmodel import Field, SQLModel

from competition import stages
from competition.models import (ACTIVE_DECLARATION, CURRENT_PROPOSAL, CallStatus, Criterion, CriterionKind, Declaration,
                                Proposal, ScoreRevision, Selection, Stage)
from competition.operations import criteria, get_call
from core import audit, authz
from core.actor import Actor
from core.db import enum_column, timestamp_column, utcnow
from core.errors import Conflict, Invalid, NotFound, NotPermitted, problem
from tenancy.identity.keycloak import Account
from tenancy.members import operations as members


class Reviewer(SQLModel, table=True):
    __tablename__ = "competition_reviewer"
    __table_args__ = (sa.UniqueConstraint("call_id", "subject"),)

    id: int | None = Field(default=None, primary_key=True)
    call_id: int = Field(foreign_key="competition_call.id", index=True)
    subject: str = Field(max_length=255)  # the person's Keycloak identity
    name: str = Field(max_length=100)
    # the member organisations the account is tied to when assigned (tenancy.members.operations.affiliations):
    # their names (、-separated) and corporate numbers (comma-separated); empty for an outside expert
    organisation: str = Field(default="", max_length=500, sa_column_kwargs={"server_default": ""})
    corporate_numbers: str = Field(default="", max_length=500, sa_column_kwargs={"server_default": ""})
    assigned_by: str = Field(max_length=255)
    assigned_at: dt.datetime = Field(default_factory=utcnow, sa_column=timestamp_column(nullable=False))


class ConflictOfInterest(SQLModel, table=True):
    __tablename__ = "competition_conflict"
    __table_args__ = (sa.UniqueConstraint("reviewer_id", "group_id"),)

    id: int | None = Field(default=None, primary_key=True)
    reviewer_id: int = Field(foreign_key="competition_reviewer.id", index=True)
    group_id: int = Field(foreign_key="member_project_group.id")
    note: str = Field(default="", max_length=500)
    declared_at: dt.datetime = Field(default_factory=utcnow, sa_column=timestamp_column(nullable=False))


class Score(SQLModel, table=True):
    """One reviewer's mark on one criterion of one proposal in one stage."""

    __tablename__ = "competition_score"
    __table_args__ = (sa.UniqueConstraint("stage", "declaration_id", "reviewer_id", "criterion_id"),)

    id: int | None = Field(default=None, primary_key=True)
    stage: Stage = Field(sa_column=enum_column(Stage, length=8))
    declaration_id: int = Field(foreign_key="competition_declaration.id", index=True)
    reviewer_id: int = Field(foreign_key="competition_reviewer.id", index=True)
    criterion_id: int = Field(foreign_key="competition_criterion.id")
    passed: Optional[bool] = Field(default=None)  # a gate's 可 (True) or 否 (False)
    points: int = Field(default=0)
    comment: str = Field(default="", max_length=2000)
    scored_at: dt.datetime = Field(default_factory=utcnow, sa_column=timestamp_column(nullable=False))


class StageClosed(SQLModel, table=True):
    __tablename__ = "competition_stage_closed"
    __table_args__ = (sa.UniqueConstraint("call_id", "stage"),)

    id: int | None = Field(default=None, primary_key=True)
    call_id: int = Field(foreign_key="competition_call.id")
    stage: Stage = Field(sa_column=enum_column(Stage, length=8))
    closed_by: str = Field(max_length=255)
    closed_at: dt.datetime = Field(default_factory=utcnow, sa_column=timestamp_column(nullable=False))


@dataclasses.dataclass(frozen=True)
class Mark:
    criterion_id: int
    passed: bool | None = None
    points: int = 0
    comment: str = ""

    def kept(self, kind: CriterionKind) -> tuple[bool | None, int, str]:
        """What a score keeps of this mark for a criterion of ``kind``: (passed, points, comment) — a gate's pass
        or fail, a scored criterion's points, the comment cut to 2,000 characters."""
        return (self.passed if kind == CriterionKind.gate else None,
                self.points if kind == CriterionKind.score else 0, (self.comment or "")[:2000])


class People(Protocol):
    """Where reviewers are found: the identity directory (:class:`tenancy.identity.keycloak.IdentityDirectory`)."""

    def person(self, user_id: str) -> tuple[Account, str]: ...


def assign_reviewer(session: Session, actor: Actor, people: People, call_id: int, subject: str) -> Reviewer:
    """Make the person (their Keycloak account, by its id: the token's subject) a reviewer of this call only,
    recorded with the account's name and the member organisations it is tied to. An account Keycloak does not
    hold, or a disabled one, is refused in words."""
    authz.authorize(actor, "competition.manage")
    get_call(session, call_id)
    subject = (subject or "").strip()
    if not subject or len(subject) > 255:
        raise Invalid("Choose the reviewer's account.", "審査員のアカウントを選んでください。",
                      problems=[problem("subject", "Required.", "必須項目です。")])
    try:
        account, _kana = people.person(subject)
    except NotFound:
        raise Invalid(f"No account {subject} is known: a reviewer is chosen from the people with an account.",
                      f"アカウント「{subject}」は登録されていません。審査員はアカウントのある利用者から選んでください。",
                      problems=[problem("subject", "No such account.", "このアカウントは登録されていません。")]) from None
    if not account.enabled:
        raise Invalid(f"The account {account.username} is disabled; it cannot review.",
                      f"アカウント「{account.username}」は無効にされているため、審査員にできません。",
                      problems=[problem("subject", "The account is disabled.", "このアカウントは無効です。")])
    if session.scalar(sa.select(Reviewer.id).where(Reviewer.call_id == call_id, Reviewer.subject == subject)):
        raise Conflict("The person is already a reviewer of this call.", "この方はすでにこの公募の審査員です。")
    tied = members.affiliations(session, account.tenant_codes)
    row = Reviewer(call_id=call_id, subject=subject, name=account.display_name[:100], assigned_by=actor.subject,
                   organisation="、".join(name for _n, name in tied)[:500],
                   corporate_numbers=",".join(number for number, _name in tied)[:500])
    session.add(row)
    session.flush()
    audit.record(session, actor, "competition.reviewer.assign", "competition_call", str(call_id),
                 after={"reviewer": subject, "name": row.name, "organisation": row.organisation,
                        "corporate_numbers": row.corporate_numbers})
    return row


def affiliated(reviewer: Reviewer, declaration: Declaration) -> list[str]:
    """The corporate numbers the reviewer's organisations share with the group's members at declaration: a
    conflict renkei finds (利害関係：所属が応募グループの構成員), which keeps the reviewer out of that group's
    review at both stages exactly as a declared one does (empty: none)."""
    theirs = {n for n in reviewer.corporate_numbers.split(",") if n}
    return sorted(theirs & {n for n in declaration.members.split(",") if n})


def affiliated_groups(session: Session, reviewer: Reviewer) -> set[int]:
    """The groups of the reviewer's call whose members include the reviewer's organisation."""
    if not reviewer.corporate_numbers:
        return set()
    return {d.group_id for d in session.scalars(sa.select(Declaration).where(Declaration.call_id == reviewer.call_id))
            if affiliated(reviewer, d)}


def reviewer_of(session: Session, actor: Actor, call_id: int) -> Reviewer:
    """The actor's assignment as a reviewer of the call, asked by every review operation (refused otherwise)."""
    authz.authorize(actor, "competition.review")
    get_call(session, call_id)
    row = session.scalars(sa.select(Reviewer).where(Reviewer.call_id == call_id, Reviewer.subject == actor.subject)).first()
    if row is None:
        raise NotPermitted("You are not a reviewer of this call.", "この公募の審査員ではありません。",
                           action="competition.review")
    return row


def declare_conflict(session: Session, actor: Actor, call_id: int, group_id: int, note: str = "") -> ConflictOfInterest:
    """The reviewer's own declaration that they are tied to a group (利害関係)."""
    reviewer = reviewer_of(session, actor, call_id)
    if session.scalar(sa.select(Declaration.id).where(Declaration.call_id == call_id,
                                                      Declaration.group_id == group_id)) is None:
        raise NotFound("The group has not declared participation in this call.",
                       "このグループはこの公募に参加表明していません。")
    if session.scalar(sa.select(ConflictOfInterest.id).where(ConflictOfInterest.reviewer_id == reviewer.id,
                                                             ConflictOfInterest.group_id == group_id)):
        raise Conflict("The conflict is already declared.", "この利害関係はすでに申告済みです。")
    row = ConflictOfInterest(reviewer_id=reviewer.id, group_id=group_id, note=(note or "").strip()[:500])
    session.add(row)
    session.flush()
    audit.record(session, actor, "competition.conflict.declare", "competition_call", str(call_id),
                 after={"reviewer": actor.subject, "group_id": group_id, "note": row.note})
    return row


def stage_closed(session: Session, call_id: int, stage: Stage) -> bool:
    """Whether the operator closed this stage of the call's review."""
    return session.scalar(sa.select(StageClosed.id).where(StageClosed.call_id == call_id, StageClosed.stage == stage)) is not None


def _mark_problem(c: Criterion, mark: Mark | None) -> dict[str, str] | None:
    """What is wrong with one criterion's mark (missing, a gate not judged, points out of range), or None."""
    if mark is None:
        return problem(f"criterion {c.id}", f"Mark {c.title}.", f"「{c.title}」を評価してください。")
    if c.kind == CriterionKind.gate and mark.passed is None:
        return problem(f"criterion {c.id}", f"Judge {c.title} pass or fail.", f"「{c.title}」の可・否を選んでください。")
    if c.kind == CriterionKind.score and not (isinstance(mark.points, int) and 0 <= mark.points <= c.max_score):
        return problem(f"criterion {c.id}", f"{c.title} is scored from 0 to {c.max_score}.",
                       f"「{c.title}」は0～{c.max_score}点で採点してください。")
    return None


def _marks_problems(table: list[Criterion], marks: list[Mark]) -> list[dict[str, str]]:
    by_id = {m.criterion_id: m for m in marks}
    found = []
    for c in table:
        wrong = _mark_problem(c, by_id.get(c.id))
        if wrong is not None:
            found.append(wrong)
    if set(by_id) - {c.id for c in table}:
        found.append(problem("criterion", "A mark names no criterion of this call.", "この公募の評価項目ではない採点があります。"))
    return found


def keep_out_if_tied(session: Session, reviewer: Reviewer, group_id: int, declaration: Declaration | None) -> None:
    """Refuse the reviewer a group's proposal they are tied to: a conflict they declared with the group, or one
    renkei finds (:func:`affiliated`). Asked whenever a score is given or corrected, so that a conflict declared
    or found after scoring also stops a correction."""
    if session.scalar(sa.select(ConflictOfInterest.id).where(ConflictOfInterest.reviewer_id == reviewer.id,
                                                             ConflictOfInterest.group_id == group_id)):
        raise NotPermitted("You declared a conflict of interest with this group; you cannot score it.",
                           "この提案グループとの利害関係を申告しているため、採点できません。", action="competition.review")
    if declaration is not None and affiliated(reviewer, declaration):  # kept out as a declared one is
        raise NotPermitted("Your organisation is a member of this group (a conflict of interest); you cannot score it.",
                           "所属団体がこの提案グループの構成員であるため（利害関係）、採点できません。", action="competition.review")


def score(session: Session, actor: Actor, call_id: int, stage: Stage, group_id: int, marks: list[Mark]) -> list[Score]:
    """The reviewer's marks on a group's proposal in a stage: every criterion, once."""
    reviewer = reviewer_of(session, actor, call_id)
    stage = Stage(stage)
    if stage_closed(session, call_id, stage):
        raise Conflict("This stage of the review is closed.", "この審査は締め切られています。")
    moved = _in_stage(session, call_id, stage)
    declaration = session.scalars(sa.select(Declaration).where(Declaration.call_id == call_id,
                                                               Declaration.group_id == group_id)).one_or_none()
    keep_out_if_tied(session, reviewer, group_id, declaration)
    if declaration is None or declaration.withdrawn_at is not None or session.scalar(
            sa.select(Proposal.id).where(Proposal.declaration_id == declaration.id, CURRENT_PROPOSAL)) is None:
        raise NotFound("The group has no proposal in this call.", "このグループの企画提案書はありません。")
    if stage is Stage.second and declaration.id not in sent_on(session, call_id):
        raise Conflict(f"{declaration.group_name} was not passed on by the first review; it takes no part in the hearing.",
                       f"「{declaration.group_name}」は一次審査を通過していないため、二次審査の対象ではありません。")
    if session.scalar(sa.select(Score.id).where(Score.stage == stage, Score.declaration_id == declaration.id,
                                                Score.reviewer_id == reviewer.id).limit(1)):
        raise Conflict("You have already scored this proposal in this stage.", "この提案はすでに採点済みです。")
    table = criteria(session, call_id)
    found = _marks_problems(table, marks)
    if found:
        raise Invalid.listing("The scores were not saved.", "採点を保存できません。", found)
    kinds = {c.id: c.kind for c in table}
    rows = []
    for m in marks:
        passed, points, comment = m.kept(kinds[m.criterion_id])
        rows.append(Score(stage=stage, declaration_id=declaration.id, reviewer_id=reviewer.id,
                          criterion_id=m.criterion_id, passed=passed, points=points, comment=comment))
    session.add_all(rows)
    session.flush()
    audit.record(session, actor, "competition.score", "competition_proposal", str(declaration.id),
                 after={"stage": stage.value, "group_id": group_id,
                        "marks": [{"criterion_id": r.criterion_id, "passed": r.passed, "points": r.points,
                                   "comment": r.comment} for r in rows], **({"call_status": moved} if moved else {})})
    return rows


def correct_score(session: Session, actor: Actor, call_id: int, stage: Stage, group_id: int,
                  marks: list[Mark]) -> list[Score]:
    """The reviewer corrects their own marks on a group's proposal while the stage is open (issue 59 item 2): every
    criterion given again; each changed score's earlier value kept (competition_score_revision), the act audited
    with the values before and after. Refused once the stage is closed."""
    reviewer = reviewer_of(session, actor, call_id)
    stage = Stage(stage)
    if stage_closed(session, call_id, stage):
        raise Conflict("This stage of the review is closed; its scores are no longer corrected.",
                       "この審査は締め切られているため、採点を修正できません。")
    _in_stage(session, call_id, stage)
    declaration = session.scalars(sa.select(Declaration).where(Declaration.call_id == call_id,
                                                               Declaration.group_id == group_id)).one_or_none()
    keep_out_if_tied(session, reviewer, group_id, declaration)  # a conflict declared or found since they scored
    rows = list(session.scalars(sa.select(Score).where(
        Score.stage == stage, Score.declaration_id == (declaration.id if declaration else -1),
        Score.reviewer_id == reviewer.id).order_by(Score.id)))
    if not rows:
        raise NotFound("You have not scored this proposal in this stage: score it first.",
                       "この提案はまだ採点していません。先に採点してください。")
    table = criteria(session, call_id)
    found = _marks_problems(table, marks)
    if found:
        raise Invalid.listing("The scores were not corrected.", "採点を修正できません。", found)
    kinds = {c.id: c.kind for c in table}
    by_criterion = {m.criterion_id: m for m in marks}
    moment, before, after = utcnow(), [], []
    for row in rows:
        passed, points, comment = by_criterion[row.criterion_id].kept(kinds[row.criterion_id])
        if (row.passed, row.points, row.comment) == (passed, points, comment):
            continue
        session.add(ScoreRevision(score_id=row.id, passed=row.passed, points=row.points, comment=row.comment,
                                  scored_at=row.scored_at, replaced_by=actor.subject, replaced_at=moment))
        before.append({"criterion_id": row.criterion_id, "passed": row.passed, "points": row.points, "comment": row.comment})
        row.passed, row.points, row.comment, row.scored_at = passed, points, comment, moment
        after.append({"criterion_id": row.criterion_id, "passed": passed, "points": points, "comment": comment})
    if not after:
        raise Conflict("The marks are the same as before; nothing was corrected.", "採点内容が修正前と同じです。")
    session.flush()
    audit.record(session, actor, "competition.score.correct", "competition_proposal", str(declaration.id),
                 before={"marks": before}, after={"stage": stage.value, "group_id": group_id, "marks": after})
    return rows


def my_scores(session: Session, actor: Actor, call_id: int, stage: Stage) -> list[Score]:
    """The reviewer's own scores (the only ones a reviewer sees before the stage closes)."""
    reviewer = reviewer_of(session, actor, call_id)
    return list(session.scalars(sa.select(Score).where(Score.reviewer_id == reviewer.id, Score.stage == Stage(stage))
                                .order_by(Score.id)))


def sent_on(session: Session, call_id: int) -> set[int]:
    """The declarations the first-stage selection passed on to the hearing (none before it is recorded)."""
    return set(session.scalars(sa.select(Selection.declaration_id).where(
        Selection.call_id == call_id, Selection.stage == Stage.first, Selection.selected.is_(True))))


def _in_stage(session: Session, call_id: int, stage: Stage) -> dict | None:
    """The call is in this stage of its review (the first: entered once the proposal deadline has passed; the
    move, if this act made it, for the act's audit record)."""
    call = get_call(session, call_id)
    if stage is Stage.first:
        return stages.enter_review(session, call)
    stages.require(call, CallStatus.hearing, what_en="the hearing", what_ja="二次審査（ヒアリング）")
    return None


def close_stage(session: Session, actor: Actor, call_id: int, stage: Stage, *, reason: str = "") -> StageClosed:
    """Close a stage: its scores unsealed, no more taken. A first stage with no proposal to review closes the
    call without a selection, with the reason given (:func:`close_without_selection`; :func:`reopen` undoes it)."""
    authz.authorize(actor, "competition.manage")
    get_call(session, call_id)
    stage = Stage(stage)
    if stage_closed(session, call_id, stage):
        raise Conflict("This stage is already closed.", "この審査はすでに締め切られています。")
    if stage is Stage.first and not stages.has_proposals(session, call_id):
        if not (reason or "").strip():
            raise Invalid("The call has no proposal to review: close it without a selection, giving the reason.",
                          "この公募には審査する企画提案がありません。理由を入力して、選定なしで公募を終了してください。",
                          problems=[problem("reason", "Give the reason.", "理由を入力してください。")])
        return close_without_selection(session, actor, call_id, reason)
    moved = _in_stage(session, call_id, stage)
    row = _close(session, actor, call_id, stage)
    audit.record(session, actor, "competition.review.close", "competition_call", str(call_id),
                 after={"stage": stage.value, **({"call_status": moved} if moved else {})})
    return row


def close_without_selection(session: Session, actor: Actor, call_id: int, reason: str) -> StageClosed:
    """A call with no proposal to review ends without a selection, with the reason given (its first stage closed
    with it; audited as the call's move); :func:`reopen` undoes it. A call with proposals is refused: it ends by
    its selection."""
    authz.authorize(actor, "competition.manage")
    call = get_call(session, call_id)
    stages.move(session, actor, call, "close_unfilled", reason=reason)
    if stage_closed(session, call_id, Stage.first):
        return session.scalars(sa.select(StageClosed).where(StageClosed.call_id == call_id,
                                                            StageClosed.stage == Stage.first)).one()
    return _close(session, actor, call_id, Stage.first)


def _close(session: Session, actor: Actor, call_id: int, stage: Stage) -> StageClosed:
    row = StageClosed(call_id=call_id, stage=stage, closed_by=actor.subject)
    session.add(row)
    session.flush()
    return row


def reopen(session: Session, actor: Actor, call_id: int, reason: str) -> None:
    """Reopen a call closed without a selection (the reason given): open again, its closed stages undone, so that
    the operator moves the milestones and applicants declare and propose again (audited as the call's move)."""
    authz.authorize(actor, "competition.manage")
    call = get_call(session, call_id)
    closed = list(session.scalars(sa.select(StageClosed).where(StageClosed.call_id == call_id)))
    stages.move(session, actor, call, "reopen", reason=reason, stages_reopened=[row.stage.value for row in closed])
    for row in closed:
        session.delete(row)
    session.flush()


@dataclasses.dataclass(frozen=True)
class Result:
    declaration_id: int
    group_name: str
    reviewers: int
    totals: tuple[int, ...]  # each reviewer's total, in reviewer order
    average: Fraction
    first_average: Fraction  # the tie rule's figure: the average on the first scored criterion
    gate_passed: bool
    rank: int


def rank_key(gate_passed: bool, average: Fraction, first_average: Fraction, declared_order: int) -> tuple:
    """The ranking order: passing the gates, the higher average, the higher first-criterion average, the earlier
    declaration."""
    return (not gate_passed, -average, -first_average, declared_order)


def results(session: Session, actor: Actor, call_id: int, stage: Stage) -> list[Result]:
    """Totals, averages and ranks of a closed stage (sealed before it closes)."""
    authz.authorize(actor, "competition.read")
    stage = Stage(stage)
    if not stage_closed(session, call_id, stage):
        raise Conflict("The scores are sealed until this stage of the review closes.", "審査が締め切られるまで採点結果は開示されません。")
    table = criteria(session, call_id)
    first_scored = next((c.id for c in table if c.kind == CriterionKind.score), None)
    declarations = list(session.scalars(sa.select(Declaration).where(Declaration.call_id == call_id, ACTIVE_DECLARATION)
                                        .order_by(Declaration.declared_at, Declaration.id)))
    if stage is Stage.second:  # only the groups the first stage passed on are ranked in the hearing
        passed_on = sent_on(session, call_id)
        declarations = [d for d in declarations if d.id in passed_on]
    entries = []
    for d in declarations:
        scores = session.scalars(sa.select(Score).where(Score.stage == stage, Score.declaration_id == d.id)
                                 .order_by(Score.reviewer_id, Score.id))
        entries.append(Entry(d.id, d.group_name, tuple(Marked(s.reviewer_id, s.criterion_id, s.passed, s.points)
                                                       for s in scores)))
    return tally(first_scored, entries)


@dataclasses.dataclass(frozen=True)
class Marked:
    reviewer_id: int
    criterion_id: int
    passed: bool | None
    points: int


@dataclasses.dataclass(frozen=True)
class Entry:
    declaration_id: int
    group_name: str
    marks: tuple[Marked, ...]


def tally(first_scored: int | None, entries: list[Entry]) -> list[Result]:
    """Results of the proposals ``entries`` (in declaration order; one without marks is left out)."""
    rows = []
    for order, entry in enumerate(entries):
        totals: dict[int, int] = {}
        firsts: dict[int, int] = {}
        for m in entry.marks:
            totals[m.reviewer_id] = totals.get(m.reviewer_id, 0) + m.points
            if m.criterion_id == first_scored:
                firsts[m.reviewer_id] = firsts.get(m.reviewer_id, 0) + m.points
        if not totals:
            continue
        n = len(totals)
        passed = all(m.passed is not False for m in entry.marks)
        rows.append((order, entry, tuple(totals[r] for r in sorted(totals)), Fraction(sum(totals.values()), n),
                     Fraction(sum(firsts.values()), n), passed))
    rows.sort(key=lambda r: rank_key(r[5], r[3], r[4], r[0]))
    return [Result(e.declaration_id, e.group_name, len(t), t, avg, first, passed, rank)
            for rank, (_o, e, t, avg, first, passed) in enumerate(rows, start=1)]
