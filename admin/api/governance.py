"""/api/v1 endpoints of governance: agreements, the council, and the audit log.

The use cases authorise their own acts (accepting and voting depend on the person's tenant), and
the reads of agreements, the council and the audit log authorise themselves (a municipal user's
board and standing cover their own tenant), so the API, the admin views and the CLI apply one policy.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from flask import Response, jsonify
from pydantic import BaseModel, Field

from admin.api import API_PREFIX, BEARER, PROBLEM_RESPONSES, tag
from admin.api.paging import PageNumber, PerPage
from admin.api.contract import media
from admin.auth import current_actor
from admin.edge import StrictAPIBlueprint
from admin.extensions import db
from governance import agreements, audit, audit_export, council, meetings
from governance.models import AgreementDocument, ChangeType, CouncilProposal, ProposalStatus, VersionStatus
from governance.schemas import AcceptanceIn, ProposalCreate, VersionDraft, VersionPublish, VoteIn, WithdrawIn
from core import checkpoints
from core.validation import ID_RANGE, StatedInSchema, TenantCode
from usage.quotas import QuotaPlanChange

bp = StrictAPIBlueprint("api_governance", __name__, url_prefix=API_PREFIX,
                        abp_tags=tag("governance", "協定・協議会・操作ログ / agreements, council, audit log"),
                        abp_security=BEARER, abp_responses=PROBLEM_RESPONSES)


# --- shapes ---------------------------------------------------------------------------------------

class DocumentPath(BaseModel):
    document: AgreementDocument


class VersionPath(BaseModel):
    document: AgreementDocument
    number: int = Field(ge=1)


class TenantPath(BaseModel):
    code: TenantCode


class ProposalPath(BaseModel):
    proposal_id: int = Field(**ID_RANGE)


class BoardQuery(BaseModel):
    overdue_only: bool = False


class ProposalQuery(BaseModel):
    status: ProposalStatus | None = None


class AuditQuery(BaseModel):
    date_from: dt.date | None = Field(default=None, alias="from", description="First day (JST), inclusive")
    date_to: dt.date | None = Field(default=None, alias="to", description="Last day (JST), inclusive")
    action: str | None = Field(default=None, max_length=80)
    tenant: str | None = Field(default=None, max_length=6)
    page: PageNumber = 1
    per_page: PerPage = 100


class ExportQuery(BaseModel):
    date_from: dt.date | None = Field(default=None, alias="from", description="First day (JST), inclusive")
    date_to: dt.date | None = Field(default=None, alias="to", description="Last day (JST), inclusive")
    format: Literal["csv", "jsonl"] = "csv"
    english_headers: bool = False


class VerificationQuery(BaseModel):
    checkpoint: list[Annotated[str, StatedInSchema(pattern=checkpoints.PAIR_PATTERN)]] = Field(
        default_factory=list, description="SEQ:HASH pairs written down earlier")


class VersionOut(BaseModel):
    document: str
    number: int
    title: str
    effective_on: dt.date
    required: bool
    content_hash: str
    status: str
    published_at: dt.datetime | None = None
    deadline_on: dt.date | None = None
    resolution_id: int | None = None
    body_md: str | None = None


class AcceptanceOut(BaseModel):
    tenant_code: str
    document: str
    number: int
    content_hash: str
    accepted_at: dt.datetime
    accepted_by: str


class ResolutionOut(BaseModel):
    id: int
    ref: str
    label: str
    adopted: bool
    reason: str
    members: int
    votes_for: int
    votes_against: int
    votes_abstain: int
    enacted_ref: str


class ProposalParamsOut(BaseModel):
    """The parameters of the proposal's change, as governance.schemas checked and stored them: each change
    type fills its own fields and leaves the rest out (free text: none, ``{}``)."""

    policy_id: int | None = Field(default=None, description="adopt_allocation_policy: the allocation policy version")
    tenant_code: str | None = Field(default=None, description="admit_municipality: the municipality in screening")
    plan_code: str | None = Field(default=None, description="change_quota_plan: the plan created or changed")
    change: QuotaPlanChange | None = Field(default=None, description="change_quota_plan: the change as proposed")
    document: AgreementDocument | None = Field(default=None, description="publish_agreement_version: the document")
    number: int | None = Field(default=None, description="publish_agreement_version: the version to publish")
    reacceptance_days: int | None = Field(default=None, description="publish_agreement_version: days to re-accept")


class DecidedAtOut(BaseModel):
    """The meeting at which the proposal was decided (governance.meetings)."""
    meeting_id: int
    title: str
    kind: str
    held_at: dt.datetime


class ProposalOut(BaseModel):
    id: int
    title: str
    status: str
    change_type: str
    params: ProposalParamsOut
    opens_at: dt.datetime
    closes_at: dt.datetime
    electorate: list[str]
    voted: list[str]
    resolution: ResolutionOut | None = None
    decided_at_meeting: DecidedAtOut | None = Field(default=None, description="The meeting that decided it, once recorded")


class VoteOut(BaseModel):
    proposal_id: int
    tenant_code: str
    choice: str
    cast_at: dt.datetime


class DocumentEntry(BaseModel):
    document: str
    title_ja: str
    title_en: str
    current: VersionOut | None
    required: VersionOut | None


class DocumentList(BaseModel):
    items: list[DocumentEntry]


class VersionList(BaseModel):
    items: list[VersionOut]


class DocumentStandingOut(BaseModel):
    document: str
    accepted_number: int | None
    accepted_at: str | None = Field(description="UTC, e.g. 2025-04-01T00:00:00.000000Z")
    required_number: int | None
    current_number: int | None
    deadline_on: dt.date | None
    state: Literal["ok", "not_required", "pending", "overdue"]


class TenantStandingOut(BaseModel):
    tenant_code: str
    tenant_name: str
    tenant_status: str
    overdue: bool
    in_reacceptance: bool
    earliest_deadline: dt.date | None
    documents: list[DocumentStandingOut]


class BoardOut(BaseModel):
    items: list[TenantStandingOut]
    overdue: int
    in_reacceptance: int


class TenantAgreementsOut(TenantStandingOut):
    """A tenant's standing on the board, with its acceptances."""

    acceptances: list[AcceptanceOut]


class CouncilMemberOut(BaseModel):
    code: str
    name_ja: str
    kind: str
    status: str


class CouncilMemberList(BaseModel):
    items: list[CouncilMemberOut]


class ProposalList(BaseModel):
    items: list[ProposalOut]


class AuditRecordOut(BaseModel):
    seq: int
    occurred_at: str = Field(description="UTC, e.g. 2025-04-01T00:00:00.000000Z")
    actor_issuer: str
    actor_subject: str
    actor_name: str
    actor_role: str
    tenant_code: str | None
    action: str
    target_type: str
    target_id: str
    before: str | None = Field(description="The stored JSON text, exactly as hashed")
    after: str | None = Field(description="The stored JSON text, exactly as hashed")
    request_id: str | None
    source_ip: str | None
    prev_hash: str
    hash: str


class AuditPage(BaseModel):
    items: list[AuditRecordOut]
    total: int
    page: int
    per_page: int


class ChainBreakOut(BaseModel):
    seq: int | None = Field(description="The record's sequence number (null: not one record)")
    record_id: int | None = Field(description="Its row id (null when it is missing)")
    reason: str
    description: str


class VerificationOut(BaseModel):
    broken: ChainBreakOut | None = Field(description="The first break in the hash chain, or null when the chain holds")


# --- serialisers ----------------------------------------------------------------------------------

def _iso(moment: dt.datetime | None) -> str | None:
    if moment is None:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.timezone.utc)
    return moment.isoformat()


def _version(version, with_body: bool = False) -> dict:
    data = {"document": AgreementDocument(version.document).value, "number": version.number, "title": version.title,
            "effective_on": version.effective_on.isoformat(), "required": version.required,
            "content_hash": version.content_hash, "status": VersionStatus(version.status).value,
            "published_at": _iso(version.published_at),
            "deadline_on": version.deadline_on.isoformat() if version.deadline_on else None,
            "resolution_id": version.resolution_id}
    if with_body:
        data["body_md"] = version.body_md
    return data


def _acceptance(row) -> dict:
    return {"tenant_code": row.tenant_code, "document": AgreementDocument(row.document).value,
            "number": row.version_number, "content_hash": row.content_hash, "accepted_at": _iso(row.accepted_at),
            "accepted_by": row.actor_name or row.actor_subject}


def _resolution(resolution) -> dict | None:
    if resolution is None:
        return None
    return {"id": resolution.id, "ref": resolution.ref, "label": resolution.label_ja, "label_en": resolution.label_en,
            "fiscal_year": resolution.fiscal_year, "number": resolution.number, "adopted": resolution.adopted,
            "reason": resolution.reason, "members": resolution.members, "votes_for": resolution.votes_for,
            "votes_against": resolution.votes_against, "votes_abstain": resolution.votes_abstain,
            "quorum": resolution.quorum_rule, "threshold": resolution.threshold_rule,
            "decided_at": _iso(resolution.decided_at), "enacted_at": _iso(resolution.enacted_at),
            "enacted_ref": resolution.enacted_ref}


def _decided_at(proposal_id: int) -> dict | None:
    meeting = meetings.meeting_of_proposal(db.session, proposal_id)
    if meeting is None:
        return None
    return {"meeting_id": meeting.id, "title": meeting.title, "kind": meeting.kind.value, "held_at": _iso(meeting.held_at)}


def _proposal(proposal: CouncilProposal, detail: bool = False) -> dict:
    actor = current_actor()
    votes = council.ballots(db.session, actor, proposal)
    closed = ProposalStatus(proposal.status) != ProposalStatus.open
    data = {"id": proposal.id, "title": proposal.title, "description": proposal.description,
            "status": ProposalStatus(proposal.status).value, "change_type": ChangeType(proposal.change_type).value,
            "params": council.params_of(proposal), "quorum": proposal.quorum_rule, "threshold": proposal.threshold_rule,
            "opens_at": _iso(proposal.opens_at), "closes_at": _iso(proposal.closes_at),
            "electorate": council.electorate_of(proposal), "voted": sorted(v.tenant_code for v in votes),
            "created_by": proposal.created_by, "closed_at": _iso(proposal.closed_at),
            "withdrawn_reason": proposal.withdrawn_reason or None,
            "resolution": _resolution(council.resolution_of(db.session, actor, proposal.id)),
            "decided_at_meeting": _decided_at(proposal.id)}
    if detail and closed:  # the ballots carry their choices once voting has ended (council.ballots)
        data["votes"] = [{"tenant_code": v.tenant_code, "choice": v.choice.value if v.choice else None,
                          "cast_at": _iso(v.cast_at), "cast_by": v.cast_by} for v in votes]
    return data


# --- agreements -----------------------------------------------------------------------------------

@bp.get("/agreements", responses={200: DocumentList}, summary="Governance documents with their current and required versions")
def list_documents():
    actor = current_actor()
    items = []
    for document in AgreementDocument:
        current = agreements.current_version(db.session, actor, document)
        required = agreements.required_version(db.session, actor, document)
        items.append({"document": document.value, "title_ja": agreements.label(document, "ja"),
                      "title_en": agreements.label(document, "en"),
                      "current": _version(current) if current else None,
                      "required": _version(required) if required else None})
    return jsonify({"items": items})


@bp.get("/agreements/<document>/versions", responses={200: VersionList}, summary="Versions of a document (drafts only for the operator)")
def list_versions(path: DocumentPath):
    versions = agreements.read_versions(db.session, current_actor(), path.document)
    return jsonify({"items": [_version(v) for v in versions]})


@bp.get("/agreements/<document>/versions/<int:number>", responses={200: VersionOut},
        summary="One version with its Markdown text and content hash")
def get_version(path: VersionPath):
    version = agreements.read_version(db.session, current_actor(), path.document, path.number)
    return jsonify(_version(version, with_body=True))


@bp.post("/agreements/<document>/versions", responses={201: VersionOut}, summary="Create the next version as a draft")
def draft_version(path: DocumentPath, body: VersionDraft):
    version = agreements.draft_version(db.session, current_actor(), path.document, body)
    return jsonify(_version(version, with_body=True)), 201


@bp.post("/agreements/<document>/versions/<int:number>/publish", responses={200: VersionOut},
         summary="Publish a draft; a required version opens the re-acceptance window for active tenants")
def publish_version(path: VersionPath, body: VersionPublish):
    version = agreements.publish_version(db.session, current_actor(), path.document, path.number, body.reacceptance_days)
    return jsonify(_version(version))


@bp.post("/agreements/<document>/versions/<int:number>/acceptances", responses={201: AcceptanceOut},
         summary="Accept the current version for your tenant (municipal admin), sending the content hash you read")
def accept_version(path: VersionPath, body: AcceptanceIn):
    row = agreements.accept_version(db.session, current_actor(), path.document, path.number, body.content_hash,
                                    body.tenant_code)
    return jsonify(_acceptance(row)), 201


@bp.get("/agreements/board", responses={200: BoardOut}, summary="Each tenant's accepted version, minimum required version and deadline")
def agreement_board(query: BoardQuery):
    rows = agreements.board(db.session, current_actor())
    if query.overdue_only:
        rows = [r for r in rows if r.overdue]
    return jsonify({"items": [r.as_dict() for r in rows], "overdue": sum(1 for r in rows if r.overdue),
                    "in_reacceptance": sum(1 for r in rows if r.in_reacceptance)})


@bp.get("/tenants/<code>/agreements", responses={200: TenantAgreementsOut}, summary="A tenant's standing with every document, and its acceptances")
def tenant_agreements(path: TenantPath):
    actor = current_actor()
    standing = agreements.tenant_agreements(db.session, actor, path.code)
    return jsonify({**standing.as_dict(),
                    "acceptances": [_acceptance(a) for a in agreements.acceptances(db.session, actor, path.code)]})


# --- council --------------------------------------------------------------------------------------

@bp.get("/council/members", responses={200: CouncilMemberList}, summary="The council's members now (active tenants and the prefecture)")
def council_members():
    return jsonify({"items": [{"code": t.code, "name_ja": t.name_ja, "kind": t.kind.value, "status": t.status.value}
                              for t in council.members(db.session, current_actor())]})


@bp.get("/council/proposals", responses={200: ProposalList}, summary="Council proposals, newest first")
def list_proposals(query: ProposalQuery):
    return jsonify({"items": [_proposal(p) for p in council.list_proposals(db.session, current_actor(), query.status)]})


@bp.get("/council/proposals/<int:proposal_id>", responses={200: ProposalOut},
        summary="One proposal: who has voted, and once closed the votes and the resolution")
def get_proposal(path: ProposalPath):
    return jsonify(_proposal(council.get_proposal(db.session, current_actor(), path.proposal_id), detail=True))


@bp.post("/council/proposals", responses={201: ProposalOut}, summary="Put a matter to the council's vote")
def create_proposal(body: ProposalCreate):
    proposal = council.propose(db.session, current_actor(), body)
    return jsonify(_proposal(proposal)), 201


@bp.post("/council/proposals/<int:proposal_id>/votes", responses={201: VoteOut},
         summary="Vote for your tenant (municipal admin; the prefecture through an operator of tenant 430005)")
def cast_vote(path: ProposalPath, body: VoteIn):
    vote = council.cast_vote(db.session, current_actor(), path.proposal_id, body.choice, body.tenant_code)
    return jsonify({"proposal_id": vote.proposal_id, "tenant_code": vote.tenant_code, "choice": vote.choice.value,
                    "cast_at": _iso(vote.cast_at)}), 201


@bp.post("/council/proposals/<int:proposal_id>/close", responses={200: ResolutionOut},
         summary="Close the vote: record the resolution and enact an adopted change")
def close_proposal(path: ProposalPath):
    resolution = council.close_proposal(db.session, current_actor(), path.proposal_id)
    return jsonify(_resolution(resolution))


@bp.post("/council/proposals/<int:proposal_id>/withdraw", responses={200: ProposalOut},
         summary="Withdraw an open proposal (nothing is enacted)")
def withdraw_proposal(path: ProposalPath, body: WithdrawIn):
    proposal = council.withdraw_proposal(db.session, current_actor(), path.proposal_id, body.reason)
    return jsonify(_proposal(proposal))


# --- audit log ------------------------------------------------------------------------------------

@bp.get("/audit/records", responses={200: AuditPage}, summary="Audit records, newest first, filtered by period (JST days), action and tenant")
def list_audit_records(query: AuditQuery):
    rows, total = audit_export.read_records(db.session, current_actor(), first_day=query.date_from, last_day=query.date_to,
                                     action=query.action, tenant_code=query.tenant, page=query.page,
                                     per_page=query.per_page)
    return jsonify({"items": [audit.record_dict(r) for r in rows], "total": total, "page": query.page,
                    "per_page": query.per_page})


def _checkpoints(texts: list[str]) -> list[tuple[int, str]]:
    from core.errors import Invalid, problem

    pairs = []
    for text in texts:
        try:
            pairs.append(checkpoints.parse_pair(text))
        except ValueError:
            raise Invalid(f"Checkpoint {text!r} is not SEQ:HASH.", f"チェックポイント {text!r} は「番号:ハッシュ値」の形式ではありません。",
                          problems=[problem("checkpoint", "Use SEQ:HASH (a number of at most 18 digits, 64 hex digits).",
                                            "番号:ハッシュ値（18桁以内の番号、16進64桁）で指定してください。")]) from None
    return pairs


@bp.get("/audit/verification", responses={200: VerificationOut}, summary="Verify the audit log's hash chain now (auditor, operator)")
def verify_audit_log(query: VerificationQuery):
    result = audit.verification(db.session, current_actor(), _checkpoints(query.checkpoint))
    data = result.as_dict()
    data["broken"] = ({"seq": result.broken.seq, "record_id": result.broken.record_id, "reason": result.broken.reason,
                       "description": result.broken.describe()} if result.broken else None)
    return jsonify(data)


@bp.get("/audit/export", responses={200: media("text/csv", "application/x-ndjson")}, summary="Export a period as CSV (UTF-8 with BOM, for Excel) or JSON lines")
def export_audit_log(query: ExportQuery):
    # streamed: read in batches on a session of its own, sent as written (the first byte at once)
    pieces = audit_export.export_download(db.engine, current_actor(), query.date_from, query.date_to, query.format,
                                   japanese_headers=not query.english_headers)
    first = query.date_from.isoformat() if query.date_from else "start"
    last = query.date_to.isoformat() if query.date_to else "now"
    response = Response(pieces, mimetype="text/csv" if query.format == "csv" else "application/x-ndjson")
    response.headers["Content-Disposition"] = f'attachment; filename="audit-{first}-{last}.{query.format}"'
    return response
