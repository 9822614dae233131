"""/api/v1/solutions, /api/v1/member-directory and /api/v1/event-archive: the members' site (issue 58 item 2).
Parse, authorise (the operation asks core.authz), call the operation; the request commits once. A member's people
list, change and withdraw their own member's solutions and find every member's by words, category and industry; the
directory shows what members publish; the archive the past events of the reader's audiences. The rules are
:mod:`secretariat.solutions`', :func:`tenancy.members.operations.member_directory`'s and
:func:`secretariat.events.event_archive`'s."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from flask import jsonify
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from admin.api import API_PREFIX, BEARER, PROBLEM_RESPONSES, CachedSchema, tag
from admin.auth import current_actor
from admin.edge import StrictAPIBlueprint
from admin.extensions import db
from core.codes import INDUSTRY_MAJOR_GROUPS
from core.search import MAX_QUERY
from core.validation import ID_RANGE, NOT_BLANK, PlainText, RowId, SingleLineText
from governance import meetings
from secretariat import events
from secretariat import solutions as sol
from tenancy.members import operations as members
from tenancy.registry.schemas import Email

bp = StrictAPIBlueprint("api_solutions", __name__, url_prefix=API_PREFIX,
                        abp_tags=tag("members' site", "会員専用サイト（ソリューション・会員名簿・アーカイブ） / members' site"),
                        abp_security=BEARER, abp_responses=PROBLEM_RESPONSES)

Category = Literal[tuple(c.value for c in sol.SolutionCategory)]  # type: ignore[valid-type]
Status = Literal[tuple(s.value for s in sol.SolutionStatus)]  # type: ignore[valid-type]
Industry = Literal[tuple(INDUSTRY_MAJOR_GROUPS)]  # type: ignore[valid-type]
Title = Annotated[SingleLineText, StringConstraints(strip_whitespace=True, min_length=1, max_length=sol.TITLE_MAX), NOT_BLANK]
Outline = Annotated[PlainText, StringConstraints(strip_whitespace=True, min_length=1, max_length=sol.TEXT_MAX), NOT_BLANK]
Contact = Annotated[SingleLineText, StringConstraints(strip_whitespace=True, min_length=1, max_length=sol.CONTACT_MAX),
                    NOT_BLANK]
Reason = Annotated[PlainText, StringConstraints(strip_whitespace=True, min_length=1, max_length=sol.REASON_MAX), NOT_BLANK]
Number = Annotated[str, StringConstraints(pattern=r"^\d{13}$")]


class SolutionPath(BaseModel):
    solution_id: int = Field(**ID_RANGE)


class SolutionBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    title: Title
    description: Outline = Field(description="What it does, for whom, what it has achieved (概要)")
    categories: list[Category] = Field(min_length=1, max_length=len(sol.SolutionCategory),
                                       description="One or more of the fixed categories (分類)")
    need_ids: list[RowId] = Field(default_factory=list, max_length=sol.MAX_NEEDS,
                                  description="The municipalities' needs it answers (/api/v1/solution-needs)")
    contact_name: Contact = Field(description="The contact person (担当者)")
    contact_email: Email
    corporate_number: Number | None = Field(default=None, description="Your member's corporate number (法人番号); "
                                                                      "needed only when you belong to several")

    def draft(self) -> sol.SolutionDraft:
        return sol.SolutionDraft(self.title, self.description, tuple(self.categories), self.contact_name,
                                 str(self.contact_email), tuple(self.need_ids), self.corporate_number or "")


class WithdrawBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: Reason


class SolutionOut(BaseModel):
    id: int
    corporate_number: str
    member_name: str
    industry: str
    title: str
    description: str
    categories: list[Category]
    categories_ja: list[str]
    need_ids: list[int]
    contact_name: str
    contact_email: str
    status: Status
    status_ja: str
    created_at: dt.datetime


class SolutionList(BaseModel):
    items: list[SolutionOut]


class SolutionQuery(CachedSchema):
    q: Annotated[str, StringConstraints(max_length=MAX_QUERY * 2)] = Field(
        default="", description="Words, each looked for in the title and description (full-width and half-width, "
                                "hiragana and katakana, case folded)")
    category: Category | None = None
    industry: Industry | None = Field(default=None, description="The member's industry (日本標準産業分類 major group)")


class NeedOut(BaseModel):
    id: int
    label: str


class NeedList(BaseModel):
    items: list[NeedOut]


class DirectoryEntry(BaseModel):
    corporate_number: str
    name: str
    kind: str
    prefecture: str
    industry: str
    public_profile: str


class DirectoryList(BaseModel):
    items: list[DirectoryEntry]


class DirectoryQuery(CachedSchema):
    industry: Industry | None = None


class ArchivedEvent(BaseModel):
    id: int
    kind: str
    kind_ja: str
    title: str
    starts_at: dt.datetime
    archive_url: str


class PublicMinutes(BaseModel):
    meeting_id: int
    kind: str
    kind_ja: str
    title: str
    held_at: dt.datetime
    pdf: str = Field(description="The minutes' PDF: GET /api/v1/meetings/{meeting_id}/minutes/pdf")


class ArchiveList(BaseModel):
    items: list[ArchivedEvent]
    minutes: list[PublicMinutes] = Field(description="The minutes made public that the caller may read, latest first")


def _solution(row: sol.SolutionRow) -> dict:
    s = row.solution
    return {"id": s.id, "corporate_number": s.corporate_number, "member_name": row.member_name, "industry": row.industry,
            "title": s.title, "description": s.description, "categories": [c.value for c in row.categories],
            "categories_ja": [c.ja for c in row.categories], "need_ids": row.need_ids, "contact_name": s.contact_name,
            "contact_email": s.contact_email, "status": s.status.value, "status_ja": s.status.ja,
            "created_at": s.created_at.isoformat()}


@bp.get("/solutions", responses={200: SolutionList},
        summary="Find the members' listed solutions by words, category and industry (signed-in members and the desk)")
def search_solutions(query: SolutionQuery):
    found = sol.search_solutions(db.session, current_actor(), words=query.q, category=query.category,
                                 industry=query.industry)
    return jsonify({"items": [_solution(row) for row in found]})


@bp.post("/solutions", responses={201: SolutionOut}, summary="List a solution of your own member; audited")
def create_solution(body: SolutionBody):
    actor = current_actor()
    solution = sol.create_solution(db.session, actor, body.draft())
    return jsonify(_solution(sol.solution_row(db.session, actor, solution.id))), 201


@bp.get("/solutions/<solution_id>", responses={200: SolutionOut}, summary="One solution")
def get_solution(path: SolutionPath):
    return jsonify(_solution(sol.solution_row(db.session, current_actor(), path.solution_id)))


@bp.put("/solutions/<solution_id>", responses={200: SolutionOut},
        summary="Change a listed solution of your own member (another member's is refused); audited")
def update_solution(path: SolutionPath, body: SolutionBody):
    actor = current_actor()
    sol.update_solution(db.session, actor, path.solution_id, body.draft())
    return jsonify(_solution(sol.solution_row(db.session, actor, path.solution_id)))


@bp.post("/solutions/<solution_id>/withdraw", responses={200: SolutionOut},
         summary="Withdraw a solution of your own member, with a reason: it is no longer found; audited")
def withdraw_solution(path: SolutionPath, body: WithdrawBody):
    actor = current_actor()
    sol.withdraw_solution(db.session, actor, path.solution_id, body.reason)
    return jsonify(_solution(sol.solution_row(db.session, actor, path.solution_id)))


@bp.get("/solution-needs", responses={200: NeedList},
        summary="The municipalities' needs a solution may answer (their titles), for a member's people")
def answerable_needs():
    return jsonify({"items": [{"id": need_id, "label": label}
                              for need_id, label in sol.answerable_needs(db.session, current_actor())]})


@bp.get("/member-directory", responses={200: DirectoryList},
        summary="The member directory: what each approved member publishes of itself (its public profile)")
def member_directory(query: DirectoryQuery):
    shown = members.member_directory(db.session, current_actor(), industry=query.industry)
    return jsonify({"items": [{"corporate_number": o.corporate_number, "name": o.name, "kind": o.kind.value,
                               "prefecture": o.prefecture, "industry": o.industry, "public_profile": o.public_profile}
                              for o in shown]})


@bp.get("/event-archive", responses={200: ArchiveList},
        summary="Past events with their archive link, of the audiences you belong to, and the minutes made public "
                "that you may read (never anonymous)")
def event_archive():
    actor = current_actor()
    return jsonify({"items": [{"id": e.id, "kind": e.kind.value, "kind_ja": e.kind.ja, "title": e.title,
                               "starts_at": e.starts_at.isoformat(), "archive_url": e.archive_url}
                              for e in events.event_archive(db.session, actor)],
                    "minutes": [{"meeting_id": m.id, "kind": meetings.MeetingKind(m.kind).value,
                                 "kind_ja": meetings.MeetingKind(m.kind).ja, "title": m.title,
                                 "held_at": m.held_at.isoformat(), "pdf": f"{API_PREFIX}/meetings/{m.id}/minutes/pdf"}
                                for m in meetings.archived_minutes(db.session, actor)]})
