"""Where a call stands (issue 59 item 1): its stages as a declared transition table (:data:`CALLS`, on
:mod:`core.lifecycle`) and the one reading of its dates (:func:`deadline_of`, :func:`opens_at`).

Rules:

* draft → open when the call is published; the applicants' acts (questions, declarations, proposals) are
  taken only while it is open, from the moment the call opens (公募開始) until their own deadlines.
* open → first_review once the proposal deadline has passed: moved by the review's first act (a score, or
  closing the stage), so that no proposal can come in after a reviewer has read the others.
* first_review → hearing when the first-stage selection is recorded; hearing → contracts when the final
  selection is; only the groups the first stage passed on take part in the hearing, its scores and ranking.
* A call with nothing to review (no proposal) closes with a reason instead (open or first_review → closed);
  the operator may reopen it (closed → open, with a reason), after which the milestones are moved as usual.
* Every move is audited: in the record of the act that made it (publish, a score, a stage closed, a selection:
  ``call_status``, the move and the statuses before and after), or as ``competition.call.move`` where the move is
  the act (closing without a selection, reopening: with the reason).
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Session

from competition.models import ACTIVE_DECLARATION, CURRENT_PROPOSAL, Call, CallStatus, Declaration, Milestone, Proposal
from core import audit
from core.actor import Actor
from core.calendar import date_ja, jst_day, jst_text, jst_text_ja
from core.db import lock_key, utcnow
from core.errors import Conflict, Invalid
from core.labelled import labels
from core.lifecycle import IllegalMove, Lifecycle, Move, WhyNot, require_reason
from core.validation import text_field_problem

S = CallStatus


def milestone(session: Session, call_id: int, key: str) -> Milestone:
    return session.scalars(sa.select(Milestone).where(Milestone.call_id == call_id, Milestone.key == key)).one()


def deadline_of(row: Milestone) -> dt.datetime:
    """The moment a milestone's step ends: a timed deadline at its time, a day's step at the day's end."""
    return row.at if row.timed else row.at + dt.timedelta(days=1)


def when_ja(row: Milestone) -> str:
    return jst_text_ja(row.at) if row.timed else date_ja(jst_day(row.at))


def opens_at(session: Session, call_id: int) -> Milestone:
    """The call's first milestone (公募開始): nothing is taken from applicants before it."""
    return session.scalars(sa.select(Milestone).where(Milestone.call_id == call_id).order_by(Milestone.position)).first()


def has_proposals(session: Session, call_id: int) -> bool:
    return session.scalar(sa.select(Proposal.id).join(Declaration, Declaration.id == Proposal.declaration_id)
                          .where(Declaration.call_id == call_id, ACTIVE_DECLARATION, CURRENT_PROPOSAL).limit(1)) is not None


def _proposals_closed(call: Call, session: Session, now: dt.datetime) -> WhyNot | None:
    row = milestone(session, call.id, "proposal_deadline")
    if now < deadline_of(row):
        return WhyNot(f"Proposals are taken until {jst_text(deadline_of(row))} (JST); the review starts after that.",
                      f"企画提案書の提出期限（{when_ja(row)}）までは審査を始められません。")
    return None


def _nothing_to_review(call: Call, session: Session, now: dt.datetime) -> WhyNot | None:
    if has_proposals(session, call.id):
        return WhyNot("The call has proposals to review; it closes by its selection.",
                      "この公募には審査する企画提案があります。選定によって終了します。")
    return None


CALLS = Lifecycle("公募", "call", CallStatus, labels(CallStatus), (
    Move("publish", frozenset({S.draft}), S.open, "公開する", "publish"),
    Move("start_review", frozenset({S.open}), S.first_review, "一次審査を始める", "start the first review",
         guard=_proposals_closed),
    Move("send_on", frozenset({S.first_review}), S.hearing, "二次審査に進める", "send groups on to the hearing"),
    Move("select", frozenset({S.hearing}), S.contracts, "選定する", "record the final selection"),
    Move("close_unfilled", frozenset({S.open, S.first_review}), S.closed, "選定なしで終了する",
         "close without a selection", guard=_nothing_to_review, reason_required=True),
    Move("reopen", frozenset({S.closed}), S.open, "公募を再開する", "reopen", reason_required=True),
), initial=(S.draft,))


def advance(session: Session, call: Call, name: str, *, reason: str = "", now: dt.datetime | None = None) -> dict:
    """Move the call along :data:`CALLS` (refused: IllegalMove, nothing changed) as part of another act, whose one
    audit record carries what this returns (the move, the statuses before and after, the reason). Two moves of
    one call at once run one after the other, the second deciding on the status the first left."""
    lock_key(session, "competition.call", call.id)
    session.refresh(call, ["status"])
    step = CALLS.move(name, call.status, call, session, now or utcnow())
    reason = require_reason(step, reason)
    if why := text_field_problem("reason", reason, "reason", "理由", 500, single_line=False):
        raise Invalid(why["message_en"], why["message_ja"], problems=[why])
    before = CallStatus(call.status)
    call.status = step.target
    call.closed_reason = reason if step.target is S.closed else ""
    session.flush()
    return {"move": name, "from": before.value, "to": step.target.value, **({"reason": reason} if reason else {})}


def move(session: Session, actor: Actor, call: Call, name: str, *, reason: str = "", **extra) -> dict:
    """A move that is the act itself (closing without a selection, reopening), audited as
    ``competition.call.move``."""
    moved = advance(session, call, name, reason=reason)
    audit.record(session, actor, "competition.call.move", "competition_call", str(call.id),
                 before={"status": moved["from"]}, after={"status": moved["to"], **moved, **extra})
    return moved


def require(call: Call, *statuses: CallStatus, what_en: str, what_ja: str) -> None:
    """Refuse an act the call's stage does not allow, naming the stage."""
    if CallStatus(call.status) not in statuses:
        ja, en = CALLS.label(call.status)
        raise IllegalMove(f"The call is {en.lower()}: {what_en} is not taken now. Nothing was changed.",
                          f"この公募は「{ja}」のため、{what_ja}は受け付けられません。", status=CallStatus(call.status).value)


def enter_review(session: Session, call: Call, now: dt.datetime | None = None) -> dict | None:
    """The first review's acts: an open call whose proposal deadline has passed moves to its first review (the
    move, for the act's audit record)."""
    moved = advance(session, call, "start_review", now=now) if CallStatus(call.status) is S.open else None
    require(call, S.first_review, what_en="the first review", what_ja="一次審査")
    return moved


def require_published(call: Call) -> None:
    """Refuse an applicant's act on a call not yet published (a question, a declaration, a proposal)."""
    if call.published_at is None:
        raise Conflict("The call is not published yet.", "この公募はまだ公開されていません。")


def applicants_may_act(session: Session, call: Call, what_en: str, what_ja: str, now: dt.datetime) -> None:
    """An applicant's act (a question, a declaration, a proposal): the call published, open and already opened."""
    require_published(call)
    require(call, S.open, what_en=what_en, what_ja=what_ja)
    first = opens_at(session, call.id)
    if first is not None and now < first.at:
        raise Conflict(f"The call opens on {jst_text(first.at)} (JST); {what_en} is not taken before that.",
                       f"公募開始（{when_ja(first)}）より前のため、{what_ja}は受け付けられません。",
                       opens=first.at.isoformat())
