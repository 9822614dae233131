"""/api/v1/competition: the project competition (competition/operations.py): calls from the default template,
their publication, questions and answers, declarations of participation with their documents and proposals
with their estimates (files as base64 in the JSON body)."""

from __future__ import annotations

import base64
import datetime as dt
from decimal import Decimal
from typing import Annotated, Literal

import sqlalchemy as sa
from flask import jsonify
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from admin.api.contract import BASE64
from admin.api import API_PREFIX, BEARER, PROBLEM_RESPONSES, tag
from admin.api.fields import line
from admin.auth import current_actor
from admin.edge import StrictAPIBlueprint
from admin.extensions import db
from admin.identity import identity_directory
from competition import operations as comp
from competition import contracts, review, selection, stages, versions
from competition.models import MAX_UPLOAD_BYTES, CallStatus, DocumentKind
from core import authz
from core.calendar import FIRST_FISCAL_YEAR, LAST_FISCAL_YEAR
from core.errors import Invalid, problem
from core.validation import ID_RANGE, NOT_BLANK, PlainText, SingleLineText

bp = StrictAPIBlueprint("api_competition", __name__, url_prefix=API_PREFIX,
                        abp_tags=tag("competition", "企画コンペ / project competition"), abp_security=BEARER,
                        abp_responses=PROBLEM_RESPONSES)

Kind = Literal[tuple(k.value for k in DocumentKind if k is not DocumentKind.proposal)]  # type: ignore[valid-type]
Yen = Annotated[int, Field(ge=0, le=10**12, strict=True)]


class CallPath(BaseModel):
    call_id: int = Field(**ID_RANGE)


class QuestionPath(BaseModel):
    question_id: int = Field(**ID_RANGE)


class CallGroupPath(BaseModel):
    call_id: int = Field(**ID_RANGE)
    group_id: int = Field(**ID_RANGE)


class CallBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    fiscal_year: int = Field(ge=FIRST_FISCAL_YEAR, le=LAST_FISCAL_YEAR, strict=True)
    title: line(200) = Field(default="", description="The template's title when empty")
    cap_yen: int = Field(default=5_000_000, ge=1, le=10**12, strict=True, description="Per project, tax included")
    commission_count: int = Field(default=3, ge=1, le=50, strict=True)


class QuestionBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    question: Annotated[PlainText, StringConstraints(min_length=1, max_length=4000), NOT_BLANK]
    asked_for: Annotated[str, StringConstraints(pattern=r"^([0-9]{6}|[0-9]{13})?$")] = Field(
        default="", description="The tenant code or corporate number asked for (when one belongs to several)")


class AnswerBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    answer: Annotated[PlainText, StringConstraints(min_length=1, max_length=8000), NOT_BLANK]


class FileBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    filename: Annotated[SingleLineText, StringConstraints(min_length=1, max_length=255), NOT_BLANK]
    content_base64: str = Field(max_length=MAX_UPLOAD_BYTES * 4 // 3 + 4, description="The file's bytes, base64",
                                json_schema_extra={"pattern": BASE64})


class CompetitionDocumentBody(FileBody):
    kind: Kind


class DeclarationBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    documents: list[CompetitionDocumentBody] = Field(max_length=4, description="参加表明書, 会社概要, 誓約書 (and 申出書 if any)")


class LineBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    item: Annotated[SingleLineText, StringConstraints(min_length=1, max_length=200), NOT_BLANK]
    amount_yen: Yen


class ProposalBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    proposal: FileBody
    lines: list[LineBody] = Field(min_length=1, max_length=200, description="The estimate's lines (積算書), integer yen")
    total_yen: Yen = Field(description="The estimate's total, tax included; within the call's cap")


class MilestoneOut(BaseModel):
    key: str
    label_ja: str
    label_en: str
    at: dt.datetime
    timed: bool
    ends_on: dt.date | None
    note: str
    documents: list[str]


class CriterionOut(BaseModel):
    title: str
    kind: Literal["gate", "score"]
    max_score: int
    description: str


class CompetitionCallOut(BaseModel):
    id: int
    fiscal_year: int
    title: str
    themes: list[str]
    cap_yen: int
    commission_count: int
    page_limit: int
    eligible_costs: str
    ineligible_costs: str
    published_at: dt.datetime | None
    status: Literal["draft", "open", "first_review", "hearing", "contracts", "closed"] = Field(
        description="Where the call stands: draft, open (applicants act by the deadlines), first_review, hearing "
                    "(the groups the first stage passed on), contracts (selected), closed (without a selection)")
    status_ja: str
    closed_reason: str = Field(description="Why the call closed without a selection (empty otherwise)")
    total_points: int
    milestones: list[MilestoneOut]
    criteria: list[CriterionOut]


class CallList(BaseModel):
    items: list[CompetitionCallOut]
    total: int


class QuestionOut(BaseModel):
    id: int
    call_id: int
    question: str
    asked_for: str
    asked_at: dt.datetime
    answer: str
    answered_at: dt.datetime | None
    published_at: dt.datetime | None


class QuestionList(BaseModel):
    items: list[QuestionOut]
    total: int


class PublishedOut(BaseModel):
    published: int


class DeclarationOut(BaseModel):
    id: int
    call_id: int
    group_id: int
    group_name: str
    representative: str
    declared_at: dt.datetime
    proposal_pages: int | None
    estimate_total_yen: int | None
    withdrawn_at: dt.datetime | None = Field(description="When the group withdrew its declaration (null: it takes part)")
    proposal_version: int | None = Field(description="The current proposal's version (1 first, +1 per resubmission)")


class DeclarationList(BaseModel):
    items: list[DeclarationOut]
    total: int


def _call(call) -> dict:
    return {"id": call.id, "fiscal_year": call.fiscal_year, "title": call.title,
            "themes": [t for t in call.themes.splitlines() if t], "cap_yen": call.cap_yen,
            "commission_count": call.commission_count, "page_limit": call.page_limit,
            "eligible_costs": call.eligible_costs, "ineligible_costs": call.ineligible_costs,
            "published_at": call.published_at.isoformat() if call.published_at else None,
            "status": CallStatus(call.status).value, "status_ja": stages.CALLS.label(call.status)[0],
            "closed_reason": call.closed_reason,
            "total_points": comp.total_points(db.session, call.id),
            "milestones": [{"key": m.key, "label_ja": m.label_ja, "label_en": m.label_en, "at": m.at.isoformat(),
                            "timed": m.timed, "ends_on": m.ends_on.isoformat() if m.ends_on else None, "note": m.note,
                            "documents": [d for d in m.documents.split(",") if d]}
                           for m in comp.milestones(db.session, call.id)],
            "criteria": [{"title": c.title, "kind": c.kind.value, "max_score": c.max_score, "description": c.description}
                         for c in comp.criteria(db.session, call.id)]}


def _question(row) -> dict:
    return {"id": row.id, "call_id": row.call_id, "question": row.question, "asked_for": row.asked_for,
            "asked_at": row.asked_at.isoformat(), "answer": row.answer,
            "answered_at": row.answered_at.isoformat() if row.answered_at else None,
            "published_at": row.published_at.isoformat() if row.published_at else None}


def _declaration(declaration, proposal) -> dict:
    return {"id": declaration.id, "call_id": declaration.call_id, "group_id": declaration.group_id,
            "group_name": declaration.group_name, "representative": declaration.representative,
            "declared_at": declaration.declared_at.isoformat(),
            "proposal_pages": proposal.pages if proposal else None,
            "estimate_total_yen": proposal.estimate_total_yen if proposal else None,
            "withdrawn_at": declaration.withdrawn_at.isoformat() if declaration.withdrawn_at else None,
            "proposal_version": proposal.version if proposal else None}


def _bytes(field: str, text: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except ValueError:
        raise Invalid(f"{field} is not base64.", f"{field} が base64 ではありません。",
                      problems=[problem(field, "Not base64.", "base64 ではありません。")]) from None


@bp.get("/competition/calls", responses={200: CallList}, summary="The competition's calls, the latest year first")
def list_calls():
    rows = comp.list_calls(db.session, current_actor())
    return jsonify({"items": [_call(row) for row in rows], "total": len(rows)})


@bp.post("/competition/calls", responses={201: CompetitionCallOut},
         summary="Create a fiscal year's call from the default template (seed 000's schedule and 200-point table)")
def create_call(body: CallBody):
    call = comp.create_call(db.session, current_actor(), body.fiscal_year, title=body.title, cap_yen=body.cap_yen,
                            commission_count=body.commission_count)
    return jsonify(_call(call)), 201


@bp.get("/competition/calls/<call_id>", responses={200: CompetitionCallOut}, summary="One call with its schedule and scoring table")
def get_call(path: CallPath):
    authz.authorize(current_actor(), "competition.read")
    return jsonify(_call(comp.get_call(db.session, path.call_id)))


@bp.post("/competition/calls/<call_id>/publish", responses={200: CompetitionCallOut}, summary="Publish the call on the public page")
def publish_call(path: CallPath):
    return jsonify(_call(comp.publish_call(db.session, current_actor(), path.call_id)))


class CallReasonBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: Annotated[SingleLineText, StringConstraints(min_length=1, max_length=500), NOT_BLANK]


@bp.post("/competition/calls/<call_id>/close", responses={200: CompetitionCallOut},
         summary="Close a call that has no proposal to review, without a selection, giving the reason")
def close_call(path: CallPath, body: CallReasonBody):
    review.close_without_selection(db.session, current_actor(), path.call_id, body.reason)
    return jsonify(_call(comp.get_call(db.session, path.call_id)))


@bp.post("/competition/calls/<call_id>/reopen", responses={200: CompetitionCallOut},
         summary="Reopen a call closed without a selection, giving the reason (then move its milestones)")
def reopen_call(path: CallPath, body: CallReasonBody):
    review.reopen(db.session, current_actor(), path.call_id, body.reason)
    return jsonify(_call(comp.get_call(db.session, path.call_id)))


@bp.get("/competition/calls/<call_id>/questions", responses={200: QuestionList},
        summary="The call's questions with who asked for whom (the secretariat's view)")
def list_questions(path: CallPath):
    rows = comp.list_questions(db.session, current_actor(), path.call_id)
    return jsonify({"items": [_question(row) for row in rows], "total": len(rows)})


@bp.post("/competition/calls/<call_id>/questions", responses={201: QuestionOut},
         summary="Ask a question (質問書) until the question deadline")
def ask(path: CallPath, body: QuestionBody):
    row = comp.ask(db.session, current_actor(), path.call_id, body.question, asked_for=body.asked_for or None)
    return jsonify(_question(row)), 201


@bp.post("/competition/questions/<question_id>/answer", responses={200: QuestionOut},
         summary="Answer a question (published later with all the others)")
def answer(path: QuestionPath, body: AnswerBody):
    return jsonify(_question(comp.answer(db.session, current_actor(), path.question_id, body.answer)))


@bp.post("/competition/calls/<call_id>/answers/publish", responses={200: PublishedOut},
         summary="Publish every answered question at once, without who asked")
def publish_answers(path: CallPath):
    return jsonify({"published": comp.publish_answers(db.session, current_actor(), path.call_id)})


@bp.get("/competition/calls/<call_id>/declarations", responses={200: DeclarationList},
        summary="The groups that declared, with their proposals' pages and totals")
def list_declarations(path: CallPath):
    rows = comp.list_declarations(db.session, current_actor(), path.call_id)
    return jsonify({"items": [_declaration(d, p) for d, p in rows], "total": len(rows)})


@bp.post("/competition/calls/<call_id>/groups/<group_id>/declaration", responses={201: DeclarationOut},
         summary="Declare the group's participation (参加表明) with its documents, before the deadline")
def declare(path: CallGroupPath, body: DeclarationBody):
    uploads = [comp.Upload(d.kind, d.filename, _bytes(f"documents[{n}].content_base64", d.content_base64))
               for n, d in enumerate(body.documents)]
    row = comp.declare(db.session, current_actor(), path.call_id, path.group_id, uploads)
    return jsonify(_declaration(row, None)), 201


@bp.post("/competition/calls/<call_id>/groups/<group_id>/proposal", responses={201: DeclarationOut},
         summary="Submit the proposal PDF (page limit) and its estimate (within the cap), before the deadline")
def propose(path: CallGroupPath, body: ProposalBody):
    upload = comp.Upload("proposal", body.proposal.filename, _bytes("proposal.content_base64", body.proposal.content_base64))
    lines = [comp.Line(line.item, line.amount_yen) for line in body.lines]
    proposal = comp.submit_proposal(db.session, current_actor(), path.call_id, path.group_id, upload, lines, body.total_yen)
    declaration = db.session.get(comp.Declaration, proposal.declaration_id)
    return jsonify(_declaration(declaration, proposal)), 201


# --- applicants' rights before a deadline (competition/versions.py, issue 59 item 2) -------------------

class AmendmentBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    documents: list[CompetitionDocumentBody] = Field(min_length=1, max_length=4,
                                                     description="The documents to replace, one per kind")


def _declaration_now(call_id: int, group_id: int):
    row = db.session.scalars(sa.select(comp.Declaration).where(comp.Declaration.call_id == call_id,
                                                               comp.Declaration.group_id == group_id)).one()
    proposal = comp.current_proposal(db.session, row.id) if row.withdrawn_at is None else None
    return jsonify(_declaration(row, proposal))


@bp.post("/competition/calls/<call_id>/groups/<group_id>/declaration/withdraw", responses={200: DeclarationOut},
         summary="Withdraw the group's declaration of participation (and its proposal), before the declaration deadline")
def withdraw_declaration(path: CallGroupPath):
    versions.withdraw_declaration(db.session, current_actor(), path.call_id, path.group_id)
    return _declaration_now(path.call_id, path.group_id)


@bp.post("/competition/calls/<call_id>/groups/<group_id>/declaration/amend", responses={200: DeclarationOut},
         summary="Replace documents of the group's declaration (the earlier files kept), before the declaration deadline")
def amend_declaration(path: CallGroupPath, body: AmendmentBody):
    uploads = [comp.Upload(d.kind, d.filename, _bytes(f"documents[{n}].content_base64", d.content_base64))
               for n, d in enumerate(body.documents)]
    versions.amend_declaration(db.session, current_actor(), path.call_id, path.group_id, uploads)
    return _declaration_now(path.call_id, path.group_id)


@bp.post("/competition/calls/<call_id>/groups/<group_id>/proposal/withdraw", responses={200: DeclarationOut},
         summary="Withdraw the group's proposal (kept, no longer reviewed), before the proposal deadline")
def withdraw_proposal(path: CallGroupPath):
    versions.withdraw_proposal(db.session, current_actor(), path.call_id, path.group_id)
    return _declaration_now(path.call_id, path.group_id)


@bp.post("/competition/calls/<call_id>/groups/<group_id>/proposal/resubmit", responses={201: DeclarationOut},
         summary="Resubmit the group's proposal and estimate as a new version (the earlier kept), before the deadline")
def resubmit_proposal(path: CallGroupPath, body: ProposalBody):
    upload = comp.Upload("proposal", body.proposal.filename, _bytes("proposal.content_base64", body.proposal.content_base64))
    lines = [comp.Line(line.item, line.amount_yen) for line in body.lines]
    proposal = versions.resubmit_proposal(db.session, current_actor(), path.call_id, path.group_id, upload, lines,
                                          body.total_yen)
    return jsonify(_declaration(db.session.get(comp.Declaration, proposal.declaration_id), proposal)), 201


# --- the review (competition/review.py) -------------------------------------------------------------

Stage = Literal["first", "second"]


class StagePath(BaseModel):
    call_id: int = Field(**ID_RANGE)
    stage: Stage


class StageGroupPath(BaseModel):
    call_id: int = Field(**ID_RANGE)
    stage: Stage
    group_id: int = Field(**ID_RANGE)


class ReviewerBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    subject: Annotated[SingleLineText, StringConstraints(min_length=1, max_length=255), NOT_BLANK] = Field(
        description="The person's Keycloak account id (the token's subject); the name and organisation are the account's")


class ConflictBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    group_id: int = Field(ge=1, le=2**31 - 1, strict=True)
    note: line(500) = ""


class MarkBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    criterion_id: int = Field(ge=1, le=2**31 - 1, strict=True)
    passed: bool | None = Field(default=None, description="A gate's 可 (true) or 否 (false)")
    points: int = Field(default=0, ge=0, le=1000, strict=True, description="A score within the criterion's maximum")
    comment: line(2000) = ""


class ScoreBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    marks: list[MarkBody] = Field(min_length=1, max_length=50, description="One mark per criterion of the call")


class ReviewerOut(BaseModel):
    id: int
    call_id: int
    subject: str
    name: str = Field(description="The account's name")
    organisation: str = Field(description="The member organisations the account is tied to (、-separated; empty: none)")
    corporate_numbers: list[str] = Field(description="Their corporate numbers (法人番号)")


class ConflictOut(BaseModel):
    id: int
    group_id: int


class ScoreOut(BaseModel):
    criterion_id: int
    declaration_id: int
    passed: bool | None
    points: int
    comment: str


class ScoreList(BaseModel):
    items: list[ScoreOut]
    total: int


class StageOut(BaseModel):
    call_id: int
    stage: Stage
    closed_at: dt.datetime


class ResultOut(BaseModel):
    rank: int
    declaration_id: int
    group_name: str
    reviewers: int
    totals: list[int]
    average: str = Field(description="The exact average as a fraction (e.g. 309/2)")
    average_decimal: str = Field(description="The average to two decimal places (half to even), for reading")
    gate_passed: bool


class ResultList(BaseModel):
    items: list[ResultOut]
    total: int


def _scores(rows) -> dict:
    items = [{"criterion_id": s.criterion_id, "declaration_id": s.declaration_id, "passed": s.passed, "points": s.points,
              "comment": s.comment} for s in rows]
    return {"items": items, "total": len(items)}


@bp.post("/competition/calls/<call_id>/reviewers", responses={201: ReviewerOut},
         summary="Assign a person as a reviewer of this call only")
def assign_reviewer(path: CallPath, body: ReviewerBody):
    row = review.assign_reviewer(db.session, current_actor(), identity_directory(), path.call_id, body.subject)
    return jsonify({"id": row.id, "call_id": row.call_id, "subject": row.subject, "name": row.name,
                    "organisation": row.organisation,
                    "corporate_numbers": [n for n in row.corporate_numbers.split(",") if n]}), 201


@bp.post("/competition/calls/<call_id>/conflicts", responses={201: ConflictOut},
         summary="A reviewer declares a conflict of interest with a group (then cannot score it)")
def declare_conflict(path: CallPath, body: ConflictBody):
    row = review.declare_conflict(db.session, current_actor(), path.call_id, body.group_id, body.note)
    return jsonify({"id": row.id, "group_id": row.group_id}), 201


@bp.post("/competition/calls/<call_id>/stages/<stage>/groups/<group_id>/scores", responses={201: ScoreList},
         summary="A reviewer scores a group's proposal in a stage (every criterion, once)")
def score(path: StageGroupPath, body: ScoreBody):
    marks = [review.Mark(m.criterion_id, m.passed, m.points, m.comment) for m in body.marks]
    rows = review.score(db.session, current_actor(), path.call_id, path.stage, path.group_id, marks)
    return jsonify(_scores(rows)), 201


@bp.post("/competition/calls/<call_id>/stages/<stage>/groups/<group_id>/scores/correct", responses={200: ScoreList},
         summary="A reviewer corrects their marks on a group's proposal while the stage is open (earlier values kept)")
def correct_score(path: StageGroupPath, body: ScoreBody):
    marks = [review.Mark(m.criterion_id, m.passed, m.points, m.comment) for m in body.marks]
    return jsonify(_scores(review.correct_score(db.session, current_actor(), path.call_id, path.stage, path.group_id,
                                                marks)))


@bp.get("/competition/calls/<call_id>/stages/<stage>/my-scores", responses={200: ScoreList},
        summary="The reviewer's own scores (no one else's before the stage closes)")
def my_scores(path: StagePath):
    return jsonify(_scores(review.my_scores(db.session, current_actor(), path.call_id, path.stage)))


@bp.post("/competition/calls/<call_id>/stages/<stage>/close", responses={200: StageOut},
         summary="Close a stage of the review: the scores are unsealed and no more are taken")
def close_stage(path: StagePath):
    row = review.close_stage(db.session, current_actor(), path.call_id, path.stage)
    return jsonify({"call_id": row.call_id, "stage": row.stage.value, "closed_at": row.closed_at.isoformat()})


@bp.get("/competition/calls/<call_id>/stages/<stage>/results", responses={200: ResultList},
        summary="Totals, exact averages and ranks of a closed stage (sealed before)")
def results(path: StagePath):
    rows = review.results(db.session, current_actor(), path.call_id, path.stage)
    items = [{"rank": r.rank, "declaration_id": r.declaration_id, "group_name": r.group_name, "reviewers": r.reviewers,
              "totals": list(r.totals), "average": str(r.average),
              "average_decimal": f"{Decimal(r.average.numerator) / Decimal(r.average.denominator):.2f}",
              "gate_passed": r.gate_passed} for r in rows]
    return jsonify({"items": items, "total": len(items)})


# --- selection and notices (competition/selection.py) ---------------------------------------------------

class SelectionBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    group_ids: list[Annotated[int, Field(ge=1, le=2**31 - 1, strict=True)]] = Field(
        min_length=1, max_length=100, description="The project groups chosen from the stage's closed results")


class SelectionOut(BaseModel):
    id: int
    declaration_id: int
    rank: int
    selected: bool
    number: str = Field(description="The notice letter's number in the office's one sequence")
    issued_on: dt.date


class SelectionList(BaseModel):
    items: list[SelectionOut]
    total: int


def _selections(rows) -> dict:
    items = [{"id": s.id, "declaration_id": s.declaration_id, "rank": s.rank, "selected": s.selected, "number": s.number,
              "issued_on": s.issued_on.isoformat()} for s in rows]
    return {"items": items, "total": len(items)}


@bp.post("/competition/calls/<call_id>/stages/<stage>/selection", responses={201: SelectionList},
         summary="Record a closed stage's selection and send every ranked group its numbered notice")
def select(path: StagePath, body: SelectionBody):
    rows = selection.select(db.session, current_actor(), path.call_id, path.stage, body.group_ids)
    return jsonify(_selections(rows)), 201


@bp.get("/competition/calls/<call_id>/stages/<stage>/selection", responses={200: SelectionList},
        summary="A stage's recorded selection with its notices' numbers")
def list_selection(path: StagePath):
    return jsonify(_selections(selection.selections(db.session, current_actor(), path.call_id, path.stage)))


# --- contract and delivery (competition/contracts.py) ----------------------------------------------------

Category = Literal[tuple(contracts.COST_CATEGORIES)]  # type: ignore[valid-type]
ItemKindName = Literal[tuple(k.value for k in contracts.ItemKind)]  # type: ignore[valid-type]
Representative = Annotated[str, StringConstraints(pattern=r"^[0-9]{13}$")]


class ContractPath(BaseModel):
    contract_id: int = Field(**ID_RANGE)


class ContractItemPath(BaseModel):
    contract_id: int = Field(**ID_RANGE)
    item_id: int = Field(**ID_RANGE)


class BudgetLineBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    category: Category = Field(description="One of the call's eligible costs (対象経費)")
    item: Annotated[SingleLineText, StringConstraints(min_length=1, max_length=200), NOT_BLANK]
    amount_yen: Yen


class DeliverableBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kind: ItemKindName
    title: Annotated[SingleLineText, StringConstraints(min_length=1, max_length=200), NOT_BLANK]
    due_on: dt.date = Field(description="Within the contract's period")


class ContractBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    representative: Representative = Field(description="The representative member's corporate number (a group member)")
    amount_yen: Yen = Field(description="Tax included; within the call's cap")
    starts_on: dt.date
    ends_on: dt.date = Field(description="No later than the commissioning end (27 March after the fiscal year)")
    signed_on: dt.date = Field(description="The contract date, on or before the period's first day")
    lines: list[BudgetLineBody] = Field(min_length=1, max_length=100, description="Budget lines adding up to the amount")
    items: list[DeliverableBody] = Field(default_factory=list, max_length=100,
                                         description="Milestones and deliverables (reports, datasets connected)")


class DeliveredBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    delivered_on: dt.date
    dataset_id: int | None = Field(default=None, ge=1, le=2**31 - 1, strict=True,
                                   description="The dataset connected (a dataset deliverable only)")


class CostBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    grant_id: int = Field(ge=1, le=2**31 - 1, strict=True, description="A grant of the call's fiscal year")
    category: Literal["build", "run", "overhead"] = Field(default="run", description="The cost item's category")


class BudgetLineOut(BaseModel):
    category: str
    category_ja: str
    item: str
    amount_yen: int


class DeliverableOut(BaseModel):
    id: int
    kind: str
    title: str
    due_on: dt.date
    delivered_on: dt.date | None
    dataset_id: int | None


class ContractOut(BaseModel):
    id: int
    call_id: int
    declaration_id: int
    group_name: str
    representative: str
    amount_yen: int
    starts_on: dt.date
    ends_on: dt.date
    signed_on: dt.date
    cost_item_id: int | None
    grant_id: int | None
    lines: list[BudgetLineOut]
    items: list[DeliverableOut]


class ContractList(BaseModel):
    items: list[ContractOut]
    total: int


class ConnectedByOut(BaseModel):
    code: Literal[tuple(c.value for c in contracts.ConnectedBy)]  # type: ignore[valid-type]
    label_ja: str
    label_en: str


class DatasetFactOut(BaseModel):
    id: int
    name: str
    title_ja: str
    provider_code: str
    kind: str
    kind_label: str
    personal: bool
    calls: int
    connected_by: list[ConnectedByOut] = Field(
        default_factory=list, description="Why a newly connected dataset counts (empty for one only used): "
        "first published (初めて公開) and/or first connected by route (初めてルート接続) in the period, in that order of time")


class ReasonOut(BaseModel):
    message_ja: str
    message_en: str


class DataRuleOut(BaseModel):
    contract_id: int
    met: bool
    kinds: list[str] = Field(description="The distinct kinds of non-personal data (the same kind from two providers is one)")
    used: list[DatasetFactOut] = Field(description="Platform datasets the group's members called in the period")
    connected: list[DatasetFactOut] = Field(
        description="Datasets a member newly connected in the period: first published, or first connected by route")
    reasons: list[ReasonOut] = Field(description="Why the rule is not met (empty when it is)")


def _contract(contract) -> dict:
    declaration = db.session.get(comp.Declaration, contract.declaration_id)
    return {"id": contract.id, "call_id": contract.call_id, "declaration_id": contract.declaration_id,
            "group_name": declaration.group_name, "representative": contract.representative,
            "amount_yen": contract.amount_yen, "starts_on": contract.starts_on.isoformat(),
            "ends_on": contract.ends_on.isoformat(), "signed_on": contract.signed_on.isoformat(),
            "cost_item_id": contract.cost_item_id, "grant_id": contract.grant_id,
            "lines": [{"category": l.category, "category_ja": contracts.COST_CATEGORIES.get(l.category, (l.category,))[0],
                       "item": l.item, "amount_yen": l.amount_yen} for l in contracts.budget_lines(db.session, contract.id)],
            "items": [{"id": i.id, "kind": i.kind.value, "title": i.title, "due_on": i.due_on.isoformat(),
                       "delivered_on": i.delivered_on.isoformat() if i.delivered_on else None, "dataset_id": i.dataset_id}
                      for i in contracts.deliverables(db.session, contract.id)]}


def _fact(fact) -> dict:
    return {"id": fact.id, "name": fact.name, "title_ja": fact.title_ja, "provider_code": fact.provider_code,
            "kind": fact.kind, "kind_label": fact.kind_label, "personal": fact.personal, "calls": fact.calls,
            "connected_by": [{"code": c.value, "label_ja": c.ja, "label_en": c.en} for c in fact.connected_by]}


@bp.get("/competition/calls/<call_id>/contracts", responses={200: ContractList}, summary="The call's contracts")
def list_contracts(path: CallPath):
    rows = contracts.list_contracts(db.session, current_actor(), path.call_id)
    return jsonify({"items": [_contract(c) for c, _d in rows], "total": len(rows)})


@bp.post("/competition/calls/<call_id>/groups/<group_id>/contract", responses={201: ContractOut},
         summary="Record the selected group's contract (amount within the cap, period, budget lines, deliverables)")
def create_contract(path: CallGroupPath, body: ContractBody):
    terms = contracts.Terms(body.representative, body.amount_yen, body.starts_on, body.ends_on, body.signed_on)
    lines = [contracts.BudgetLine(l.category, l.item, l.amount_yen) for l in body.lines]
    items = [contracts.Deliverable(i.kind, i.title, i.due_on) for i in body.items]
    row = contracts.create_contract(db.session, current_actor(), path.call_id, path.group_id, terms, lines, items)
    return jsonify(_contract(row)), 201


@bp.get("/competition/contracts/<contract_id>", responses={200: ContractOut}, summary="One contract with its lines and deliverables")
def get_contract(path: ContractPath):
    return jsonify(_contract(contracts.get_contract(db.session, current_actor(), path.contract_id)))


@bp.get("/competition/contracts/<contract_id>/data-rule", responses={200: DataRuleOut},
        summary="The data rule decided from the dataset register: datasets used and newly connected in the period")
def data_rule(path: ContractPath):
    rule = contracts.check_data_rule(db.session, current_actor(), path.contract_id)
    return jsonify({"contract_id": path.contract_id, "met": rule.met, "kinds": rule.kinds,
                    "used": [_fact(f) for f in rule.used], "connected": [_fact(f) for f in rule.connected],
                    "reasons": [{"message_ja": ja, "message_en": en} for ja, en in rule.reasons]})


@bp.post("/competition/contracts/<contract_id>/items/<item_id>/delivered", responses={200: DeliverableOut},
         summary="Record a milestone or deliverable delivered (once)")
def deliver(path: ContractItemPath, body: DeliveredBody):
    item = contracts.deliver(db.session, current_actor(), path.contract_id, path.item_id, body.delivered_on, body.dataset_id)
    return jsonify({"id": item.id, "kind": item.kind.value, "title": item.title, "due_on": item.due_on.isoformat(),
                    "delivered_on": item.delivered_on.isoformat(), "dataset_id": item.dataset_id})


@bp.post("/competition/contracts/<contract_id>/cost", responses={200: ContractOut},
         summary="Enter the contract's amount among the year's costs under a grant (billing's cost item and grant)")
def record_cost(path: ContractPath, body: CostBody):
    row = contracts.record_cost(db.session, current_actor(), path.contract_id, body.grant_id, body.category)
    return jsonify(_contract(row))
