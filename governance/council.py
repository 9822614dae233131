"""The members' council (協議会): proposals, votes, resolutions, and enactment of adopted changes.

Rules:

* Members are the active tenants and the prefecture. The electorate of a proposal is fixed
  when it is made; each member votes once (for, against, abstain) within the window
  ``[opens_at, closes_at)``, through a person of that member: its municipal admin, or for the
  prefecture a platform operator whose account belongs to the prefecture's tenant.
* Quorum counts ballots (abstentions included) against the number of members; the threshold
  counts votes *for* against the ballots cast, abstentions included (an abstaining member is
  present but not in favour, as in 出席者の過半数). Rules: ``majority`` (more than half),
  ``two_thirds`` / ``three_quarters`` (at least), ``unanimous``. Defaults: quorum a majority of
  members; threshold a majority, two thirds for agreements and cost policies.
* Closing (after the window, or earlier once every member has voted) records a numbered
  resolution, adopted or rejected. An adopted typed change is then enacted in the same
  transaction by the handler its owning package registered (:func:`register_enactor`), so
  governance never writes another package's tables; the handler receives the resolution and
  the enacted change refers to :attr:`CouncilResolution.ref`. If enactment is refused, the
  close is refused as a whole (nothing is recorded) with the reason, and the operator fixes
  the cause and closes again, or withdraws the proposal.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from core import audit
from governance.agreements import tenant_for
from governance.errors import InvalidProposal, NoEnactor, ProposalNotClosable, ProposalNotFound, VoteRefused
from governance.models import ChangeType, CouncilProposal, CouncilResolution, CouncilVote, ProposalStatus, VoteChoice
from governance.schemas import ProposalCreate, change_params
from core import authz, search
from core.actor import Actor
from core.errors import DomainError, problem
from core.labelled import labels
from core.lifecycle import IllegalMove, Lifecycle, Move, WhyNot
from core.calendar import fiscal_year_of, jst_text
from core.db import lock_key, utcnow
from tenancy.registry.models import Tenant, TenantKind, TenantStatus

# --- enactment registry ---------------------------------------------------------------------------

Enactor = Callable[[Session, Actor, dict, CouncilResolution], Any]
Checker = Callable[[Session, dict], None]


@dataclasses.dataclass(frozen=True)
class Registration:
    change_type: ChangeType
    enact: Enactor
    check: Checker | None = None


_ENACTORS: dict[ChangeType, Registration] = {}


def register_enactor(change_type: ChangeType | str, handler: Enactor, *, check: Checker | None = None) -> None:
    """Install the owning package's operation that enacts an adopted change of ``change_type``.

    ``handler(session, actor, params, resolution)`` performs the change through the owning
    package's operation (which audits it and stores ``resolution.ref``) and returns a short
    reference of what it changed. ``check(session, params)``, if given, refuses a proposal
    whose change could not be enacted (e.g. an unknown policy) when it is made.
    Registering again replaces the handler (the app factory may run more than once).
    """
    change_type = ChangeType(change_type)
    if change_type == ChangeType.free_text:
        raise ValueError("free-text proposals have nothing to enact")
    _ENACTORS[change_type] = Registration(change_type, handler, check)


def unregister_enactor(change_type: ChangeType | str) -> None:
    _ENACTORS.pop(ChangeType(change_type), None)


def enactor_for(change_type: ChangeType) -> Registration:
    registration = _ENACTORS.get(ChangeType(change_type))
    if registration is None:
        raise NoEnactor(ChangeType(change_type).value)
    return registration


def installed_change_types() -> list[ChangeType]:
    return [t for t in ChangeType if t == ChangeType.free_text or t in _ENACTORS]


# --- voting rules ---------------------------------------------------------------------------------

RULES: dict[str, tuple[int, int, bool]] = {
    # name: (numerator, denominator, inclusive) — count/base > n/d, or >= when inclusive
    "majority": (1, 2, False),
    "two_thirds": (2, 3, True),
    "three_quarters": (3, 4, True),
    "unanimous": (1, 1, True),
}
RULE_LABELS = {"majority": ("過半数", "a majority"), "two_thirds": ("3分の2以上", "two thirds or more"),
               "three_quarters": ("4分の3以上", "three quarters or more"), "unanimous": ("全員", "all")}
DEFAULT_QUORUM = "majority"
SUPERMAJORITY_TYPES = {ChangeType.adopt_allocation_policy, ChangeType.publish_agreement_version}


def default_threshold(change_type: ChangeType) -> str:
    return "two_thirds" if ChangeType(change_type) in SUPERMAJORITY_TYPES else "majority"


def meets(count: int, base: int, rule: str) -> bool:
    """Exact integer comparison of count/base with the rule's fraction; nothing meets a rule over zero."""
    numerator, denominator, inclusive = RULES[rule]
    if base <= 0:
        return False
    return count * denominator >= numerator * base if inclusive else count * denominator > numerator * base


@dataclasses.dataclass(frozen=True)
class Tally:
    members: int
    votes_for: int
    votes_against: int
    votes_abstain: int

    @property
    def cast(self) -> int:
        return self.votes_for + self.votes_against + self.votes_abstain


def outcome(tally: Tally, quorum: str, threshold: str) -> tuple[bool, str]:
    """(adopted, reason): reason is ``adopted``, ``quorum_not_met`` or ``threshold_not_met``."""
    if not meets(tally.cast, tally.members, quorum):
        return False, "quorum_not_met"
    if not meets(tally.votes_for, tally.cast, threshold):
        return False, "threshold_not_met"
    return True, "adopted"


# --- helpers --------------------------------------------------------------------------------------

def _aware(moment: dt.datetime) -> dt.datetime:
    return moment.replace(tzinfo=dt.timezone.utc) if moment.tzinfo is None else moment


def electorate_of(proposal: CouncilProposal) -> list[str]:
    return json.loads(proposal.electorate)


def params_of(proposal: CouncilProposal) -> dict:
    return json.loads(proposal.change_params or "{}")


def _member_filter():
    return sa.or_(Tenant.status == TenantStatus.active,
                  sa.and_(Tenant.kind == TenantKind.prefecture, Tenant.status != TenantStatus.withdrawn))


def _members(session: Session) -> list[Tenant]:
    return list(session.scalars(sa.select(Tenant).where(_member_filter()).order_by(Tenant.code).options(
        sa.orm.lazyload(Tenant.contacts))))  # contacts unused


def members(session: Session, actor: Actor) -> list[Tenant]:
    """The council's members now: active tenants, and the prefecture unless it has withdrawn."""
    authz.authorize(actor, "governance.read")
    return _members(session)


def member_names(session: Session, actor: Actor) -> list[str]:
    """The Japanese names of :func:`members`, in the same order, in one query of two columns (no tenant
    is loaded as an object, so a national council of 1,741 members costs little)."""
    authz.authorize(actor, "governance.read")
    return list(session.scalars(sa.select(Tenant.name_ja).where(_member_filter()).order_by(Tenant.code)))


def electorate_names(session: Session, actor: Actor, proposal: CouncilProposal) -> dict[str, str]:
    """The Japanese name of each member of the proposal's electorate (its code when no longer registered);
    part of the proposal, shown to everyone who reads the council."""
    authz.authorize(actor, "governance.read")
    codes = electorate_of(proposal)
    names = dict(session.execute(sa.select(Tenant.code, Tenant.name_ja).where(Tenant.code.in_(codes))).all()) if codes else {}
    return {code: names.get(code, code) for code in codes}


def proposal_summary(proposal: CouncilProposal) -> dict:
    return {"id": proposal.id, "title": proposal.title, "change_type": ChangeType(proposal.change_type).value,
            "params": params_of(proposal), "quorum": proposal.quorum_rule, "threshold": proposal.threshold_rule,
            "opens_at": audit.timestamp_text(proposal.opens_at), "closes_at": audit.timestamp_text(proposal.closes_at),
            "electorate": electorate_of(proposal), "status": ProposalStatus(proposal.status).value}


def resolution_summary(resolution: CouncilResolution) -> dict:
    return {"id": resolution.id, "ref": resolution.ref, "fiscal_year": resolution.fiscal_year,
            "number": resolution.number, "adopted": resolution.adopted, "reason": resolution.reason,
            "members": resolution.members, "for": resolution.votes_for, "against": resolution.votes_against,
            "abstain": resolution.votes_abstain, "quorum": resolution.quorum_rule, "threshold": resolution.threshold_rule}


# --- queries --------------------------------------------------------------------------------------

# The public reads take the actor and ask ``governance.read`` themselves (the council's
# proceedings are open to every member); the helpers with a leading underscore serve the use
# cases after they have authorised.

def _get_proposal(session: Session, proposal_id: int, *, lock: bool = False) -> CouncilProposal:
    query = sa.select(CouncilProposal).where(CouncilProposal.id == proposal_id)
    proposal = session.scalars(query.with_for_update() if lock else query).one_or_none()
    if proposal is None:
        raise ProposalNotFound(proposal_id)
    return proposal


def get_proposal(session: Session, actor: Actor, proposal_id: int) -> CouncilProposal:
    authz.authorize(actor, "governance.read")
    return _get_proposal(session, proposal_id)


def list_proposals(session: Session, actor: Actor, status: ProposalStatus | None = None) -> list[CouncilProposal]:
    """Proposals, newest first."""
    authz.authorize(actor, "governance.read")
    query = sa.select(CouncilProposal)
    if status is not None:
        query = query.where(CouncilProposal.status == status)
    return list(session.scalars(query.order_by(CouncilProposal.id.desc())))


def search_proposals(session: Session, actor: Actor, query: search.Query, limit: int = search.LIMIT) -> search.Found:
    """The proposals the actor may read (the list's rule: ``governance.read``, the council's proceedings
    open to every member) whose title holds the query's text or whose number is the query; newest first."""
    authz.authorize(actor, "governance.read")
    said = [sa.func.lower(CouncilProposal.title).like(search.contains(query.folded), escape=search.ESCAPE)]
    if query.digits and len(query.digits) <= 9:
        said.append(CouncilProposal.id == int(query.digits))
    where = sa.or_(*said)
    rows, total, capped = search.counted(session, [CouncilProposal.id, CouncilProposal.title], where,
                                         lambda row: -row[0], limit)
    return search.Found([search.Hit(str(proposal_id), title, f"#{proposal_id}") for proposal_id, title in rows],
                        total, capped)


def _votes(session: Session, proposal_id: int) -> list[CouncilVote]:
    return list(session.scalars(sa.select(CouncilVote).where(CouncilVote.proposal_id == proposal_id)
                                .order_by(CouncilVote.cast_at, CouncilVote.id)))


@dataclasses.dataclass(frozen=True)
class Ballot:
    """One member's vote as a reader sees it: who voted, when and through whom; how (``choice``)
    only once voting has ended, so that while it is open no member votes by the tally so far."""

    tenant_code: str
    cast_at: dt.datetime
    cast_by: str
    choice: VoteChoice | None


def ballots(session: Session, actor: Actor, proposal: CouncilProposal) -> list[Ballot]:
    """The votes cast on ``proposal`` in the order cast; ``choice`` is None while the proposal is open."""
    authz.authorize(actor, "governance.read")
    secret = ProposalStatus(proposal.status) == ProposalStatus.open
    return [Ballot(vote.tenant_code, vote.cast_at, vote.actor_name or vote.actor_subject,
                   None if secret else VoteChoice(vote.choice)) for vote in _votes(session, proposal.id)]


@dataclasses.dataclass(frozen=True)
class ProposalRow:
    """A proposal as the council's list shows it: how many of its electorate have voted, and its resolution."""

    proposal: CouncilProposal
    voted: int
    members: int
    resolution: CouncilResolution | None


def proposal_rows(session: Session, actor: Actor) -> list[ProposalRow]:
    """Every proposal, newest first (as :func:`list_proposals`), with its vote count and resolution, in three
    queries whatever the number of proposals or members (votes are counted in the database, not loaded)."""
    proposals = list_proposals(session, actor)
    if not proposals:
        return []
    ids = [p.id for p in proposals]
    voted = dict(session.execute(sa.select(CouncilVote.proposal_id, sa.func.count())
                                 .where(CouncilVote.proposal_id.in_(ids)).group_by(CouncilVote.proposal_id)).all())
    resolutions = {r.proposal_id: r for r in session.scalars(
        sa.select(CouncilResolution).where(CouncilResolution.proposal_id.in_(ids)))}
    return [ProposalRow(p, int(voted.get(p.id, 0)), len(electorate_of(p)), resolutions.get(p.id)) for p in proposals]


@dataclasses.dataclass(frozen=True)
class OpenVote:
    """An open proposal, and which of the reader's member tenants have not voted on it yet."""

    proposal: CouncilProposal
    not_voted: tuple[str, ...]  # the reader's tenants in the electorate without a vote
    votes: int
    members: int


def open_votes(session: Session, actor: Actor) -> list[OpenVote]:
    """Proposals open for voting, oldest closing first, in two queries whatever their number:
    everyone who reads the council sees them all; ``not_voted`` names the reader's own tenants
    (for someone with an own-tenant grant) that are in the electorate and have not voted."""
    grant = authz.authorize(actor, "governance.read")
    proposals = list(session.scalars(sa.select(CouncilProposal).where(CouncilProposal.status == ProposalStatus.open)
                                     .order_by(CouncilProposal.closes_at, CouncilProposal.id)))
    if not proposals:
        return []
    cast: dict[int, set[str]] = {}
    for proposal_id, code in session.execute(sa.select(CouncilVote.proposal_id, CouncilVote.tenant_code)
                                             .where(CouncilVote.proposal_id.in_([p.id for p in proposals]))):
        cast.setdefault(proposal_id, set()).add(code)
    own = set() if grant.all_tenants else set(grant.tenant_codes)
    result = []
    for proposal in proposals:
        electorate, voted = electorate_of(proposal), cast.get(proposal.id, set())
        result.append(OpenVote(proposal, tuple(c for c in electorate if c in own and c not in voted),
                               len(voted), len(electorate)))
    return result


def resolution_of(session: Session, actor: Actor, proposal_id: int) -> CouncilResolution | None:
    """The resolution that closed the proposal, if it is closed."""
    authz.authorize(actor, "governance.read")
    return session.scalars(sa.select(CouncilResolution).where(CouncilResolution.proposal_id == proposal_id)).one_or_none()


def get_resolution(session: Session, actor: Actor, resolution_id: int) -> CouncilResolution:
    authz.authorize(actor, "governance.read")
    resolution = session.get(CouncilResolution, resolution_id)
    if resolution is None:
        raise ProposalNotFound(resolution_id)
    return resolution


def resolutions_with_proposals(session: Session, resolution_id: int | None = None
                               ) -> list[tuple[CouncilResolution, CouncilProposal]]:
    """Resolutions (one, or all, newest first) with the proposal each closed: what another package
    reads through the composition root (billing's picker of the resolution that adopts a policy).
    A helper: the caller has authorised its act."""
    query = sa.select(CouncilResolution, CouncilProposal).join(
        CouncilProposal, CouncilProposal.id == CouncilResolution.proposal_id)
    if resolution_id is not None:
        query = query.where(CouncilResolution.id == resolution_id)
    query = query.order_by(CouncilResolution.fiscal_year.desc(), CouncilResolution.number.desc())
    return [(resolution, proposal) for resolution, proposal in session.execute(query)]


def note_enacted(session: Session, resolution_id: int, reference: str) -> None:
    """Note on an adopted resolution what carried it out (``allocation_policy:3``), once: a
    resolution of an other matter (free text) that another package acted on. A helper: the
    caller audits its act, which names the resolution."""
    resolution = session.get(CouncilResolution, resolution_id)
    if resolution is None or not resolution.adopted or resolution.enacted_at is not None:
        return
    resolution.enacted_at, resolution.enacted_ref = utcnow(), reference[:255]
    session.flush()


def _tally(session: Session, proposal: CouncilProposal) -> Tally:
    counts = {choice: 0 for choice in VoteChoice}
    for vote in _votes(session, proposal.id):
        counts[VoteChoice(vote.choice)] += 1
    return Tally(len(electorate_of(proposal)), counts[VoteChoice.for_], counts[VoteChoice.against], counts[VoteChoice.abstain])


# --- use cases ------------------------------------------------------------------------------------

def propose(session: Session, actor: Actor, data: ProposalCreate, *, now: dt.datetime | None = None) -> CouncilProposal:
    """Put a matter to the council: a typed change (checked now) or free text, with its voting window."""
    authz.authorize(actor, "council.manage")
    now = now or utcnow()
    change_type = ChangeType(data.change_type)
    params = change_params(change_type, data.params)
    if change_type != ChangeType.free_text:
        registration = enactor_for(change_type)
        if registration.check is not None:
            registration.check(session, params)
    opens_at = _aware(data.opens_at) if data.opens_at else now
    closes_at = _aware(data.closes_at)
    problems = []
    if closes_at <= opens_at:
        problems.append(problem("closes_at", "The window must close after it opens.", "投票締切は投票開始より後にしてください。"))
    if closes_at <= now:
        problems.append(problem("closes_at", "The window must close in the future.", "投票締切は現在より後にしてください。"))
    electorate = [t.code for t in _members(session)]
    if not electorate:
        problems.append(problem("electorate", "The council has no members (no active tenant, no prefecture).",
                                "協議会の構成員（利用中の参加団体・県）がいません。"))
    if problems:
        raise InvalidProposal("The proposal cannot be opened as given; nothing was saved.",
                              "議案の内容に誤りがあります。保存していません。", problems=problems)
    proposal = CouncilProposal(
        title=data.title, description=data.description, change_type=change_type,
        change_params=json.dumps(params, ensure_ascii=False, sort_keys=True),
        quorum_rule=data.quorum or DEFAULT_QUORUM, threshold_rule=data.threshold or default_threshold(change_type),
        opens_at=opens_at, closes_at=closes_at, electorate=json.dumps(electorate), created_by=actor.recorded_name,
    )
    session.add(proposal)
    session.flush()
    audit.record(session, actor, "council.propose", "council_proposal", str(proposal.id), after=proposal_summary(proposal))
    return proposal


def _refuse(reason: str, en: str, ja: str, **details: Any) -> VoteRefused:
    return VoteRefused(en, ja, reason=reason, **details)


def cast_vote(session: Session, actor: Actor, proposal_id: int, choice: VoteChoice, tenant_code: str | None = None,
              *, now: dt.datetime | None = None) -> CouncilVote:
    """One member's vote, cast by a person of that member; refused (409) with the reason otherwise."""
    authz.authorize(actor, "council.vote", tenant_code)  # someone without the right is refused before being asked which tenant
    code = tenant_for(actor, tenant_code)
    authz.authorize(actor, "council.vote", code)
    proposal = _get_proposal(session, proposal_id, lock=True)  # serialises with close
    now = now or utcnow()
    if ProposalStatus(proposal.status) != ProposalStatus.open:
        raise _refuse("proposal_closed", f"Proposal #{proposal.id} is {ProposalStatus(proposal.status).value}; voting has ended.",
                      f"議案 第{proposal.id}号は投票を締め切っています。", proposal=proposal.id)
    if now < _aware(proposal.opens_at):
        raise _refuse("not_open_yet", f"Voting on proposal #{proposal.id} opens at {audit.timestamp_text(proposal.opens_at)}.",
                      f"議案 第{proposal.id}号の投票は {jst_text(proposal.opens_at)} に始まります。",
                      proposal=proposal.id)
    if now >= _aware(proposal.closes_at):
        raise _refuse("window_closed", f"Voting on proposal #{proposal.id} closed at {audit.timestamp_text(proposal.closes_at)}.",
                      f"議案 第{proposal.id}号の投票は {jst_text(proposal.closes_at)} に締め切られました。",
                      proposal=proposal.id)
    if code not in electorate_of(proposal) or code not in {tenant.code for tenant in _members(session)}:
        raise _refuse("not_member", f"Tenant {code} is not a member of the council for proposal #{proposal.id} "
                      "(members are the tenants active when it was proposed, and still active, and the prefecture).",
                      f"団体コード {code} は議案 第{proposal.id}号の議決権を持つ構成員ではありません（提案時点から引き続き利用中の団体と県が構成員です）。",
                      proposal=proposal.id, tenant=code)
    earlier = session.scalars(sa.select(CouncilVote).where(CouncilVote.proposal_id == proposal.id,
                                                           CouncilVote.tenant_code == code)).one_or_none()
    if earlier is not None:
        raise _refuse("already_voted", f"Tenant {code} has already voted on proposal #{proposal.id}; a vote cannot be changed.",
                      f"団体コード {code} は議案 第{proposal.id}号に投票済みです。投票は変更できません。",
                      proposal=proposal.id, tenant=code)
    vote = CouncilVote(proposal_id=proposal.id, tenant_code=code, choice=VoteChoice(choice), cast_at=now,
                       actor_issuer=actor.issuer, actor_subject=actor.subject, actor_name=actor.name)
    session.add(vote)
    session.flush()
    audit.record(session, actor, "council.vote", "council_proposal", str(proposal.id), tenant_code=code,
                 after={"proposal": proposal.id, "tenant_code": code, "choice": VoteChoice(choice).value})
    return vote


# --- the lifecycle ---------------------------------------------------------------------------------
#
#   open ──adopt──▶ adopted      (closing: which of adopt and reject is the tally's outcome)
#   open ──reject─▶ rejected
#   open ──withdraw──▶ withdrawn

def _voting_over(proposal: CouncilProposal, tally: Any, now: dt.datetime) -> WhyNot | None:
    """The guard of closing: the window has ended, or every member has voted."""
    if now >= _aware(proposal.closes_at) or tally.cast >= tally.members:
        return None
    return WhyNot(
        f"Voting on proposal #{proposal.id} is open until {audit.timestamp_text(proposal.closes_at)} and "
        f"{tally.cast} of {tally.members} members have voted; close it after the window or once all have voted.",
        f"議案 第{proposal.id}号は {jst_text(proposal.closes_at)} まで投票受付中です"
        f"（{tally.members} 団体中 {tally.cast} 団体が投票済み）。締切後、または全構成員の投票後に締め切ってください。",
        details={"proposal": proposal.id, "cast": tally.cast, "members": tally.members})


def _proposal_refusal(move: Move, status: ProposalStatus, proposal: CouncilProposal) -> IllegalMove:
    if move.name == "withdraw":
        return IllegalMove(f"Proposal #{proposal.id} is {status.value}; only an open proposal can be withdrawn.",
                           f"議案 第{proposal.id}号は締切済みのため、取り下げできません。", proposal=proposal.id,
                           status=status.value, move=move.name)
    return ProposalNotClosable(f"Proposal #{proposal.id} is already {status.value}.",
                               f"議案 第{proposal.id}号はすでに締め切られています。", proposal=proposal.id,
                               status=status.value, move=move.name)


P = ProposalStatus
PROPOSALS = Lifecycle("議案", "council proposal", ProposalStatus, labels(ProposalStatus), (
    Move("adopt", frozenset({P.open}), P.adopted, "可決", "adopt", _voting_over, grant="council.manage"),
    Move("reject", frozenset({P.open}), P.rejected, "否決", "reject", _voting_over, grant="council.manage"),
    Move("withdraw", frozenset({P.open}), P.withdrawn, "取下げ", "withdraw", grant="council.manage"),
), initial=(P.open,), refusal=_proposal_refusal)
"""A council proposal's lifecycle: proposed open; closed by the tally, or withdrawn."""


def _next_number(session: Session, fiscal_year: int) -> int:
    """The year's next resolution number; the year's numbering held until the transaction ends, so that
    proposals closed at once never take the same number."""
    lock_key(session, "council.resolution-number", fiscal_year)
    last = session.scalar(sa.select(sa.func.max(CouncilResolution.number)).where(CouncilResolution.fiscal_year == fiscal_year))
    return (last or 0) + 1


def close_proposal(session: Session, actor: Actor, proposal_id: int, *, now: dt.datetime | None = None) -> CouncilResolution:
    """Count the votes, record the resolution, and enact an adopted typed change.

    One audit record (``council.close``): the enactment by the owning package is a step of it.
    """
    with audit.act(session, actor, "council.close", "council_proposal", str(proposal_id)):
        return _close_proposal(session, actor, proposal_id, now=now)


def _close_proposal(session: Session, actor: Actor, proposal_id: int, *, now: dt.datetime | None) -> CouncilResolution:
    authz.authorize(actor, "council.manage")
    proposal = _get_proposal(session, proposal_id, lock=True)
    now = now or utcnow()
    if not PROPOSALS.allows("adopt", proposal.status):  # refused before the votes are counted
        raise PROPOSALS.refuse("adopt", proposal.status, proposal)
    tally = _tally(session, proposal)
    adopted, reason = outcome(tally, proposal.quorum_rule, proposal.threshold_rule)
    move = PROPOSALS.move("adopt" if adopted else "reject", proposal.status, proposal, tally, now)
    fiscal_year = fiscal_year_of(now)
    resolution = CouncilResolution(
        proposal_id=proposal.id, fiscal_year=fiscal_year, number=_next_number(session, fiscal_year), adopted=adopted,
        reason=reason, members=tally.members, votes_for=tally.votes_for, votes_against=tally.votes_against,
        votes_abstain=tally.votes_abstain, quorum_rule=proposal.quorum_rule, threshold_rule=proposal.threshold_rule,
        decided_at=now, decided_by=actor.recorded_name,
    )
    before = ProposalStatus(proposal.status).value
    proposal.status = move.target
    proposal.closed_at = now
    session.add(resolution)
    session.flush()
    audit.record(session, actor, "council.close", "council_proposal", str(proposal.id),
                 before={"status": before}, after={"status": ProposalStatus(proposal.status).value,
                                                   "resolution": resolution_summary(resolution)})
    change_type = ChangeType(proposal.change_type)
    if adopted and change_type != ChangeType.free_text:
        _enact(session, actor, proposal, resolution, now)
    return resolution


def _enact(session: Session, actor: Actor, proposal: CouncilProposal, resolution: CouncilResolution,
           now: dt.datetime) -> None:
    change_type = ChangeType(proposal.change_type)
    registration = enactor_for(change_type)
    try:
        reference = registration.enact(session, actor, params_of(proposal), resolution)
    except Exception as error:  # the owning package's refusal; other packages' errors need not be DomainErrors
        if not isinstance(error, DomainError) and not hasattr(error, "message_ja"):
            raise
        label_ja, label_en = ChangeType(change_type).label
        raise ProposalNotClosable(
            f"The council adopted proposal #{proposal.id}, but its change ({label_en}) cannot be enacted: "
            f"{error.message_en} Nothing was recorded; fix the cause and close it again, or withdraw the proposal.",
            f"議案 第{proposal.id}号は可決されましたが、「{label_ja}」を実行できません: {error.message_ja} "
            "何も記録していません。原因を解消して再度締め切るか、議案を取り下げてください。",
            proposal=proposal.id, reason="enactment_refused",
        ) from error
    resolution.enacted_at = now
    resolution.enacted_ref = str(reference or "")[:255]
    session.flush()


def withdraw_proposal(session: Session, actor: Actor, proposal_id: int, reason: str) -> CouncilProposal:
    """Take an open proposal off the agenda (votes cast stay on record); nothing is enacted."""
    authz.authorize(actor, "council.manage")
    proposal = _get_proposal(session, proposal_id, lock=True)
    move = PROPOSALS.move("withdraw", proposal.status, proposal)
    before = ProposalStatus(proposal.status).value
    proposal.status, proposal.closed_at, proposal.withdrawn_reason = move.target, utcnow(), reason
    session.flush()
    audit.record(session, actor, "council.withdraw", "council_proposal", str(proposal.id),
                 before={"status": before}, after={"status": move.target.value, "reason": reason})
    return proposal
