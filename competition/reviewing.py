"""What the review's pages show (issue 41 items 4 and 7): the operator's view of a call's review (its
reviewers, each stage open or closed) and a reviewer's desk (the calls they review, the proposals of the
stage in progress, the groups they declared a conflict with, their own marks and nothing of anyone else's).

Rules (read here, decided in competition/review.py and competition/selection.py):

* The stage in progress is the first stage not closed (一次審査, then 二次審査); none once both are closed.
* At the first stage a reviewer reviews every proposal of the call; at the second, the proposals the
  first-stage selection sent on (every proposal while that selection is not recorded).
* A reviewer sees only their own marks; a group they declared a conflict with, or one renkei found them tied
  to (their organisation is among its members), is shown as one they cannot score, and its proposal file is
  not given to them.
"""

from __future__ import annotations

import dataclasses

import sqlalchemy as sa
from sqlalchemy.orm import Session

from competition.models import ACTIVE_DECLARATION, CURRENT_PROPOSAL, Call, Declaration, Document, Proposal, Selection, Stage
from competition.operations import get_call
from competition.review import ConflictOfInterest, Reviewer, Score, StageClosed, affiliated, reviewer_of
from core import authz
from core.actor import Actor
from core.errors import NotFound, NotPermitted


@dataclasses.dataclass(frozen=True)
class StageState:
    stage: Stage
    closed: StageClosed | None


def stages(session: Session, call_id: int) -> list[StageState]:
    """Each stage of the call's review and its closing (None while open)."""
    closings = {row.stage: row for row in session.scalars(sa.select(StageClosed).where(StageClosed.call_id == call_id))}
    return [StageState(stage, closings.get(stage)) for stage in Stage]


def stage_in_progress(session: Session, call_id: int) -> Stage | None:
    """The first stage not closed; None once the review is over."""
    return next((s.stage for s in stages(session, call_id) if s.closed is None), None)


def reviewers(session: Session, actor: Actor, call_id: int) -> list[Reviewer]:
    """The call's reviewers, in the order they were assigned (the operator's and the auditor's list)."""
    authz.authorize(actor, "competition.read")
    get_call(session, call_id)
    return list(session.scalars(sa.select(Reviewer).where(Reviewer.call_id == call_id).order_by(Reviewer.id)))


@dataclasses.dataclass(frozen=True)
class Tie:
    """A reviewer's conflict of interest with a group of the call: declared by them, or found by renkei (their
    organisation is a member of the group)."""

    group_id: int
    group_name: str
    declared: bool
    found: bool


def ties(session: Session, actor: Actor, call_id: int) -> dict[int, list[Tie]]:
    """Each reviewer's conflicts with the call's groups (reviewer id → ties, in declaration order): the
    operator's page shows the found ones beside the declared ones."""
    authz.authorize(actor, "competition.read")
    declarations = list(session.scalars(sa.select(Declaration).where(Declaration.call_id == call_id)
                                        .order_by(Declaration.declared_at, Declaration.id)))
    declared = {(reviewer_id, group_id) for reviewer_id, group_id in session.execute(
        sa.select(ConflictOfInterest.reviewer_id, ConflictOfInterest.group_id)
        .join(Reviewer, Reviewer.id == ConflictOfInterest.reviewer_id).where(Reviewer.call_id == call_id))}
    found: dict[int, list[Tie]] = {}
    for reviewer in session.scalars(sa.select(Reviewer).where(Reviewer.call_id == call_id).order_by(Reviewer.id)):
        found[reviewer.id] = [Tie(d.group_id, d.group_name, (reviewer.id, d.group_id) in declared, bool(affiliated(reviewer, d)))
                              for d in declarations
                              if (reviewer.id, d.group_id) in declared or affiliated(reviewer, d)]
    return found


def calls_to_review(session: Session, actor: Actor) -> list[Call]:
    """The calls the actor is assigned to review (none for a person with the role but no assignment)."""
    if not authz.allowed(actor, "competition.review"):
        return []
    return list(session.scalars(sa.select(Call).join(Reviewer, Reviewer.call_id == Call.id)
                                .where(Reviewer.subject == actor.subject).order_by(Call.fiscal_year.desc())))


@dataclasses.dataclass(frozen=True)
class ToReview:
    group_id: int
    group_name: str
    declaration_id: int
    has_proposal: bool
    in_stage: bool  # reviewed at the stage in progress
    conflict: ConflictOfInterest | None
    scored: bool  # by this reviewer at the stage in progress
    affiliated: bool = False  # the reviewer's organisation is a member of the group (a conflict renkei found)

    @property
    def excluded(self) -> bool:
        """The reviewer is kept out of this group's review: a conflict declared or found."""
        return self.conflict is not None or self.affiliated


@dataclasses.dataclass(frozen=True)
class Desk:
    call: Call
    reviewer: Reviewer
    stage: Stage | None
    groups: list[ToReview]  # every declared group of the call, in declaration order

    @property
    def to_score(self) -> list[ToReview]:
        return [g for g in self.groups if g.in_stage]


def _in_stage(session: Session, call_id: int, stage: Stage | None) -> set[int] | None:
    """The declarations reviewed at ``stage``: None for all of them."""
    if stage is not Stage.second:
        return None
    sent_on = session.execute(sa.select(Selection.declaration_id, Selection.selected)
                              .where(Selection.call_id == call_id, Selection.stage == Stage.first)).all()
    return {d for d, chosen in sent_on if chosen} if sent_on else None


def desk(session: Session, actor: Actor, call_id: int) -> Desk:
    """The reviewer's desk for a call they are assigned to (refused to anyone else)."""
    reviewer = reviewer_of(session, actor, call_id)
    stage = stage_in_progress(session, call_id)
    sent_on = _in_stage(session, call_id, stage)
    conflicts = {c.group_id: c for c in session.scalars(sa.select(ConflictOfInterest)
                                                         .where(ConflictOfInterest.reviewer_id == reviewer.id))}
    scored = set(session.scalars(sa.select(Score.declaration_id).where(Score.reviewer_id == reviewer.id,
                                                                       Score.stage == stage))) if stage else set()
    rows = session.execute(sa.select(Declaration, Proposal.id).outerjoin(
        Proposal, sa.and_(Proposal.declaration_id == Declaration.id, CURRENT_PROPOSAL))
                           .where(Declaration.call_id == call_id, ACTIVE_DECLARATION).order_by(Declaration.declared_at, Declaration.id)).all()
    groups = [ToReview(d.group_id, d.group_name, d.id, proposal_id is not None,
                       stage is not None and proposal_id is not None and (sent_on is None or d.id in sent_on),
                       conflicts.get(d.group_id), d.id in scored, bool(affiliated(reviewer, d))) for d, proposal_id in rows]
    return Desk(get_call(session, call_id), reviewer, stage, groups)


def to_review(session: Session, actor: Actor, call_id: int, group_id: int) -> tuple[Desk, ToReview]:
    """The reviewer's desk and one group of it (NotFound for a group that did not declare)."""
    found = desk(session, actor, call_id)
    group = next((g for g in found.groups if g.group_id == group_id), None)
    if group is None:
        raise NotFound("The group did not declare for this call.", "このグループはこの公募に参加表明していません。")
    return found, group


def proposal_file(session: Session, actor: Actor, call_id: int, group_id: int) -> Document:
    """The proposal's PDF, for a reviewer of the call not tied to the group."""
    _desk, group = to_review(session, actor, call_id, group_id)
    if group.conflict is not None:
        raise NotPermitted("You declared a conflict of interest with this group.",
                           "この提案グループとの利害関係を申告しています。", action="competition.review")
    if group.affiliated:
        raise NotPermitted("Your organisation is a member of this group (a conflict of interest).",
                           "所属団体がこの提案グループの構成員です（利害関係）。", action="competition.review")
    document = session.scalar(sa.select(Document).join(Proposal, Proposal.document_id == Document.id)
                              .where(Proposal.declaration_id == group.declaration_id, CURRENT_PROPOSAL))
    if document is None:
        raise NotFound("The group has no proposal in this call.", "このグループの企画提案書はありません。")
    return document
