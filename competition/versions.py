"""Applicants' rights before a deadline (issue 59 item 2): a project group withdraws its declaration or its
proposal, amends its declaration's documents, and resubmits its proposal, while that stage's deadline has not
passed.

Rules:

* Who may act: the people who may declare and submit (``competition.submit`` for the group's representative
  member: competition.operations' :func:`~competition.operations.applicant_declaration`).
* When: the call open (competition.stages' :func:`~competition.stages.applicants_may_act`) and before the
  stage's own deadline (a declaration's acts: the declaration deadline; a proposal's: the proposal deadline),
  refused in words naming the deadline or the call's stage otherwise. Nothing is written when an act is refused.
* Nothing is overwritten: a resubmission adds the proposal's next version and marks the one before replaced; a
  withdrawal marks the declaration or proposal withdrawn (a declaration's withdrawal withdraws its current
  proposal with it); an amendment adds the new documents and marks those of the same kinds replaced.
* Only the current version (:data:`~competition.models.CURRENT_PROPOSAL`: neither replaced nor withdrawn) of a
  declaration not withdrawn is reviewed, counted and ranked. Scores attach to the declaration and are taken only
  once the proposal deadline has passed (the call in its first review), when no version can be added: so every
  score is on the final version, and a resubmission never carries scores over.
* A group that withdrew its proposal may submit again before the deadline (a new version); a group that withdrew
  its declaration takes no further part in the call (it cannot declare again).
* Each act is audited once and its receipt (competition.receipts) queued for the representative's contact.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterable, Sequence

import sqlalchemy as sa
from sqlalchemy.orm import Session

from competition import receipts
from competition.models import (CURRENT_DOCUMENT, DECLARATION_OPTIONAL, DECLARATION_REQUIRED, MAX_UPLOAD_BYTES,
                                Declaration, Document, DocumentKind, Proposal)
from competition.operations import (Line, Upload, applicant_declaration, before_deadline, current_proposal, new_document,
                                    take_proposal)
from competition.files import content_type_of
from core import audit
from core.actor import Actor
from core.db import utcnow
from core.errors import Conflict, Invalid, problem

DECLARATION_STEP = ("declaration_deadline", "a change to the declaration of participation", "参加表明の変更")
PROPOSAL_STEP = ("proposal_deadline", "a change to the proposal", "企画提案書の変更")


def _file(d: Document) -> dict:
    return {"kind": d.kind.value, "filename": d.filename, "size": d.size, "sha256": d.sha256}


def _documents_of(session: Session, declaration_id: int, *, current: bool = True) -> list[Document]:
    query = sa.select(Document).where(Document.declaration_id == declaration_id, Document.kind != DocumentKind.proposal)
    return list(session.scalars((query.where(CURRENT_DOCUMENT) if current else query).order_by(Document.id)))


def withdraw_declaration(session: Session, actor: Actor, call_id: int, group_id: int, *,
                         now: dt.datetime | None = None) -> Declaration:
    """The group withdraws its declaration of participation (with its current proposal), before the declaration
    deadline."""
    call, declaration = applicant_declaration(session, actor, call_id, group_id)
    before_deadline(session, call, *DECLARATION_STEP, now)
    moment = utcnow()
    declaration.withdrawn_at, declaration.withdrawn_by = moment, actor.subject
    proposal = current_proposal(session, declaration.id)
    if proposal is not None:
        proposal.withdrawn_at, proposal.withdrawn_by = moment, actor.subject
    session.flush()
    number = receipts.send(session, call, declaration, "declaration_withdrawal", declaration.id, moment,
                           _documents_of(session, declaration.id))
    audit.record(session, actor, "competition.declaration.withdraw", "competition_declaration", str(declaration.id),
                 tenant_code=declaration.representative, before={"withdrawn": False},
                 after={"call_id": call.id, "group_id": group_id, "group_name": declaration.group_name, "withdrawn": True,
                        "proposal_withdrawn": proposal.version if proposal else None, "receipt": number})
    return declaration


def amend_declaration(session: Session, actor: Actor, call_id: int, group_id: int, uploads: Iterable[Upload], *,
                      now: dt.datetime | None = None) -> list[Document]:
    """The group replaces documents of its declaration (one or more kinds; the earlier files kept, marked
    replaced), before the declaration deadline; the new documents."""
    call, declaration = applicant_declaration(session, actor, call_id, group_id)
    before_deadline(session, call, *DECLARATION_STEP, now)
    uploads = list(uploads)
    allowed = {k.value for k in DECLARATION_REQUIRED + DECLARATION_OPTIONAL}
    found = [problem(u.kind, f"{u.kind} is not a document of the declaration.", f"「{u.kind}」は参加表明の書類ではありません。")
             for u in uploads if u.kind not in allowed]
    if not uploads:
        found.append(problem("documents", "Attach at least one document to replace.", "差し替える書類を1件以上添付してください。"))
    if len({u.kind for u in uploads}) != len(uploads):
        found.append(problem("documents", "Attach one file per kind of document.", "書類の種類ごとに1件ずつ添付してください。"))
    if found:
        raise Invalid.listing("The declaration was not amended.", "参加表明の書類を差し替えられません。", found)
    for upload in uploads:  # every file checked before anything is written
        content_type_of(upload.kind, upload.filename, upload.content, MAX_UPLOAD_BYTES)
    kinds = {u.kind for u in uploads}
    replaced = [d for d in _documents_of(session, declaration.id) if d.kind.value in kinds]
    moment = utcnow()
    for d in replaced:
        d.replaced_at = moment
    documents = [new_document(declaration.id, u, actor) for u in uploads]
    session.add_all(documents)
    session.flush()
    number = receipts.send(session, call, declaration, "amendment", documents[0].id, moment, documents)
    audit.record(session, actor, "competition.declaration.amend", "competition_declaration", str(declaration.id),
                 tenant_code=declaration.representative, before={"documents": [_file(d) for d in replaced]},
                 after={"call_id": call.id, "group_id": group_id, "documents": [_file(d) for d in documents],
                        "receipt": number})
    return documents


def withdraw_proposal(session: Session, actor: Actor, call_id: int, group_id: int, *,
                      now: dt.datetime | None = None) -> Proposal:
    """The group withdraws its current proposal (kept, marked withdrawn), before the proposal deadline; it may
    submit again before the deadline."""
    call, declaration = applicant_declaration(session, actor, call_id, group_id)
    before_deadline(session, call, *PROPOSAL_STEP, now)
    proposal = current_proposal(session, declaration.id)
    if proposal is None:
        raise Conflict("The group has no proposal to withdraw.", "取り下げる企画提案書がありません。")
    proposal.withdrawn_at, proposal.withdrawn_by = utcnow(), actor.subject
    session.flush()
    document = session.get(Document, proposal.document_id)
    number = receipts.send(session, call, declaration, "proposal_withdrawal", proposal.id, proposal.withdrawn_at,
                           [document])
    audit.record(session, actor, "competition.proposal.withdraw", "competition_proposal", str(proposal.id),
                 tenant_code=declaration.representative, before={"withdrawn": False},
                 after={"call_id": call.id, "group_id": group_id, "version": proposal.version, "withdrawn": True,
                        "document": _file(document), "receipt": number})
    return proposal


def resubmit_proposal(session: Session, actor: Actor, call_id: int, group_id: int, proposal: Upload,
                      lines: Sequence[Line], total_yen: int, *, now: dt.datetime | None = None) -> Proposal:
    """The group's proposal replaced by its next version (the earlier one kept, marked replaced; or, after a
    withdrawal, submitted again), before the proposal deadline; the new version."""
    call, declaration = applicant_declaration(session, actor, call_id, group_id)
    before_deadline(session, call, *PROPOSAL_STEP, now)
    earlier = current_proposal(session, declaration.id) or session.scalars(  # else the last version withdrawn
        sa.select(Proposal).where(Proposal.declaration_id == declaration.id).order_by(Proposal.version.desc())).first()
    if earlier is None:
        raise Conflict("The group has no proposal to resubmit: submit it instead.",
                       "再提出する企画提案書がありません。企画提案書を提出してください。")
    row, document, pages = take_proposal(session, actor, call, declaration, proposal, lines, total_yen)
    if earlier.withdrawn_at is None:
        earlier.replaced_at = row.submitted_at
    session.flush()
    number = receipts.send(session, call, declaration, "resubmission", row.id, row.submitted_at, [document])
    audit.record(session, actor, "competition.proposal.resubmit", "competition_proposal", str(row.id),
                 tenant_code=declaration.representative,
                 before={"version": earlier.version, "proposal_id": earlier.id, "withdrawn": earlier.withdrawn_at is not None, "pages": earlier.pages,
                         "total_yen": earlier.estimate_total_yen},
                 after={"call_id": call.id, "group_id": group_id, "version": row.version, "pages": pages,
                        "total_yen": total_yen, "lines": [{"item": l.item, "amount_yen": l.amount_yen} for l in lines],
                        "document": _file(document), "receipt": number})
    return row


@dataclasses.dataclass(frozen=True)
class Standing:
    """Where a group stands in a call, for its representative's page: its declaration (None: not declared), whether
    it is withdrawn, its current proposal's version (None: none current) and how many versions it submitted."""

    declared: bool
    withdrawn: bool
    current_version: int | None
    versions: int


def standing(session: Session, call_id: int, group_id: int) -> Standing:
    declaration = session.scalars(sa.select(Declaration).where(Declaration.call_id == call_id,
                                                               Declaration.group_id == group_id)).one_or_none()
    if declaration is None:
        return Standing(False, False, None, 0)
    current = current_proposal(session, declaration.id)
    count = session.scalar(sa.select(sa.func.count()).select_from(Proposal).where(Proposal.declaration_id == declaration.id))
    return Standing(True, declaration.withdrawn_at is not None, current.version if current else None, count)
