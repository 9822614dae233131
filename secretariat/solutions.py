"""The solution register of the members' site (ソリューション情報, issue 58 item 2; seed 001: 「ソリューション情報の
登録・検索…が行える会員専用サイト」).

Rules:

* A **solution** belongs to one approved member organisation (its corporate number). The member's own people
  (``solution.manage`` scoped to the member: its admin, data providers and users) list it, change it and withdraw it;
  nobody changes another member's (the grant does not cover it: refused, never found by id to change).
* A solution has a title, a description, one or more categories from the fixed list :class:`SolutionCategory`
  (shown in Japanese), the municipalities' needs it answers (ids of :class:`secretariat.smart_services.MunicipalNeed`,
  at most :data:`MAX_NEEDS`) and a contact (a name and an e-mail address). Its industry is its member's
  (日本標準産業分類, ``member_organisation.industry``), never typed twice.
* Its status moves only by :data:`SOLUTIONS`: listed → withdrawn (a reason required); a withdrawn solution is no
  longer found nor changed.
* **Search** (:func:`search_solutions`, ``solution.read``: signed-in members' people and the desk): the listed
  solutions of approved members, by words (each a substring of the title or description, after the query's
  normalisation :func:`core.search.read_query`: NFKC folds full-width and half-width, hiragana read as katakana,
  case ignored; the stored :attr:`Solution.search_text` is folded the same way), a category and an industry.

Every change is audited with before and after: ``solution.create``, ``solution.update``, ``solution.withdraw``.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import unicodedata
from typing import Any, Optional

import sqlalchemy as sa
from sqlalchemy.orm import Session
from sqlmodel import Field, SQLModel

from core import audit, authz, search
from core.actor import Actor
from core.codes import INDUSTRY_MAJOR_GROUPS
from core.db import enum_column, timestamp_column, utcnow
from core.errors import Invalid, NotFound, problem
from core.labelled import LabelledEnum, labels
from core.lifecycle import Lifecycle, Move, require_reason
from core.validation import email_problem, text_field_problem
from secretariat.smart_services import MunicipalNeed
from tenancy.members.models import MemberStatus, Organisation, open_organisation
from tenancy.registry.models import Tenant

READ, MANAGE = "solution.read", "solution.manage"
TITLE_MAX, TEXT_MAX, CONTACT_MAX, EMAIL_MAX, REASON_MAX = 200, 4000, 100, 254, 1000
MAX_NEEDS = 20
MAX_WORDS = 5
RESULTS_MAX = 200


class SolutionCategory(LabelledEnum):
    data_platform = "data_platform", "データ連携基盤・API", "Data platform and APIs"
    open_data = "open_data", "オープンデータ", "Open data"
    analytics = "analytics", "AI・データ分析", "AI and analytics"
    iot = "iot", "IoT・センサー", "IoT and sensors"
    government_dx = "government_dx", "行政手続・自治体DX", "Public services and government DX"
    mobility = "mobility", "交通・モビリティ", "Transport and mobility"
    disaster = "disaster", "防災・減災", "Disaster prevention"
    health = "health", "医療・健康・福祉", "Health and welfare"
    education = "education", "教育・人材育成", "Education and skills"
    tourism = "tourism", "観光・地域振興", "Tourism and local economy"
    agriculture = "agriculture", "農林水産業", "Agriculture, forestry and fisheries"
    environment = "environment", "環境・エネルギー", "Environment and energy"
    security = "security", "セキュリティ・本人確認", "Security and identity"
    other = "other", "その他", "Other"


class SolutionStatus(LabelledEnum):
    listed = "listed", "掲載中", "Listed"
    withdrawn = "withdrawn", "取下げ", "Withdrawn"


SOLUTIONS = Lifecycle("ソリューション", "solution", SolutionStatus, labels(SolutionStatus), (
    Move("withdraw", frozenset({SolutionStatus.listed}), SolutionStatus.withdrawn, "取下げ", "withdraw",
         reason_required=True, grant=MANAGE),
), initial=(SolutionStatus.listed,))
"""A solution is listed, then withdrawn by its member (:func:`withdraw_solution`, the one place its status moves)."""


class Solution(SQLModel, table=True):
    __tablename__ = "member_solution"

    id: int | None = Field(default=None, primary_key=True)
    corporate_number: str = Field(max_length=13, index=True)  # the member it belongs to
    title: str = Field(max_length=TITLE_MAX)
    description: str = Field(default="", sa_column=sa.Column(sa.Text, nullable=False, server_default=""))
    contact_name: str = Field(max_length=CONTACT_MAX)
    contact_email: str = Field(max_length=EMAIL_MAX)
    status: SolutionStatus = Field(sa_column=enum_column(SolutionStatus, length=16, checked=True, index=True))
    status_reason: str = Field(default="", sa_column=sa.Column(sa.Text, nullable=False, server_default=""))
    # the title and description folded as a query is (see the module's docstring): what a word is looked for in
    search_text: str = Field(default="", sa_column=sa.Column(sa.Text, nullable=False, server_default=""))
    created_by: str = Field(default="", max_length=255)
    created_at: dt.datetime = Field(default_factory=utcnow, sa_column=timestamp_column(nullable=False))
    updated_at: Optional[dt.datetime] = Field(default=None, sa_column=timestamp_column(nullable=True))


class SolutionCategoryLink(SQLModel, table=True):
    """A solution is in a category."""

    __tablename__ = "member_solution_category"

    solution_id: int = Field(foreign_key="member_solution.id", primary_key=True)
    category: SolutionCategory = Field(sa_column=enum_column(SolutionCategory, length=24, primary_key=True, index=True))


class SolutionNeed(SQLModel, table=True):
    """A solution answers a municipality's need."""

    __tablename__ = "member_solution_need"

    solution_id: int = Field(foreign_key="member_solution.id", primary_key=True)
    need_id: int = Field(foreign_key="smartcity_need.id", primary_key=True, index=True)


def fold(text: str) -> str:
    """``text`` as words are looked for in it: NFKC, hiragana as katakana, lower case (as :func:`core.search.read_query`
    reads a query)."""
    return search.katakana(unicodedata.normalize("NFKC", text or "")).lower()


@dataclasses.dataclass(frozen=True)
class SolutionDraft:
    """What a member says of a solution, as its form and the API take it. ``corporate_number`` "" is the actor's
    only member."""

    title: str
    description: str
    categories: tuple[str, ...]
    contact_name: str
    contact_email: str
    need_ids: tuple[int, ...] = ()
    corporate_number: str = ""


def _clean(draft: SolutionDraft) -> SolutionDraft:
    return dataclasses.replace(
        draft, title=(draft.title or "").strip(), description=(draft.description or "").strip(),
        contact_name=(draft.contact_name or "").strip(), contact_email=(draft.contact_email or "").strip(),
        categories=tuple(dict.fromkeys(str(c) for c in (draft.categories or ()))),
        need_ids=tuple(dict.fromkeys(draft.need_ids or ())), corporate_number=(draft.corporate_number or "").strip())


def _problems(session: Session, draft: SolutionDraft) -> list[dict[str, str]]:
    found = [p for p in (
        text_field_problem("title", draft.title, "title", "名称", TITLE_MAX, required=True),
        text_field_problem("description", draft.description, "description", "概要", TEXT_MAX, required=True,
                           single_line=False),
        text_field_problem("contact_name", draft.contact_name, "contact person", "担当者", CONTACT_MAX, required=True),
        email_problem("contact_email", draft.contact_email),
    ) if p is not None]
    known = {c.value for c in SolutionCategory}
    if not draft.categories:
        found.append(problem("categories", "Choose at least one category.", "分類を1つ以上選んでください。"))
    elif any(c not in known for c in draft.categories):
        found.append(problem("categories", "Choose categories from the list.", "分類は一覧から選んでください。"))
    if len(draft.need_ids) > MAX_NEEDS:
        found.append(problem("need_ids", f"Choose at most {MAX_NEEDS} needs.", f"課題・ニーズは {MAX_NEEDS} 件までです。"))
    elif draft.need_ids:
        present = set(session.scalars(sa.select(MunicipalNeed.id).where(MunicipalNeed.id.in_(draft.need_ids))))
        if missing := [i for i in draft.need_ids if i not in present]:
            found.append(problem("need_ids", f"No need {missing[0]}.", f"課題・ニーズ {missing[0]} はありません。"))
    return found


def _refuse(found: list[dict[str, str]]) -> None:
    if found:
        raise Invalid("The solution has problems; nothing was saved.", "ソリューションの内容に誤りがあります。保存していません。",
                      problems=found)


def categories_of(session: Session, solution_ids: list[int]) -> dict[int, list[SolutionCategory]]:
    rows = session.execute(sa.select(SolutionCategoryLink.solution_id, SolutionCategoryLink.category)
                           .where(SolutionCategoryLink.solution_id.in_(solution_ids))) if solution_ids else []
    found: dict[int, list[SolutionCategory]] = {i: [] for i in solution_ids}
    for solution_id, category in rows:
        found[solution_id].append(SolutionCategory(category))
    order = list(SolutionCategory)
    return {i: sorted(cats, key=order.index) for i, cats in found.items()}


def needs_of(session: Session, solution_ids: list[int]) -> dict[int, list[int]]:
    rows = session.execute(sa.select(SolutionNeed.solution_id, SolutionNeed.need_id)
                           .where(SolutionNeed.solution_id.in_(solution_ids))
                           .order_by(SolutionNeed.need_id)) if solution_ids else []
    found: dict[int, list[int]] = {i: [] for i in solution_ids}
    for solution_id, need_id in rows:
        found[solution_id].append(need_id)
    return found


def summary(session: Session, solution: Solution) -> dict[str, Any]:
    return {"corporate_number": solution.corporate_number, "title": solution.title, "description": solution.description,
            "categories": [c.value for c in categories_of(session, [solution.id])[solution.id]],
            "need_ids": needs_of(session, [solution.id])[solution.id], "contact_name": solution.contact_name,
            "contact_email": solution.contact_email, "status": solution.status.value}


def _write_links(session: Session, solution: Solution, draft: SolutionDraft) -> None:
    session.execute(sa.delete(SolutionCategoryLink).where(SolutionCategoryLink.solution_id == solution.id))
    session.execute(sa.delete(SolutionNeed).where(SolutionNeed.solution_id == solution.id))
    session.add_all([SolutionCategoryLink(solution_id=solution.id, category=SolutionCategory(c)) for c in draft.categories])
    session.add_all([SolutionNeed(solution_id=solution.id, need_id=n) for n in draft.need_ids])
    session.flush()


def _fill(solution: Solution, draft: SolutionDraft) -> None:
    solution.title, solution.description = draft.title, draft.description
    solution.contact_name, solution.contact_email = draft.contact_name, draft.contact_email
    solution.search_text = fold(f"{draft.title}\n{draft.description}")


def create_solution(session: Session, actor: Actor, draft: SolutionDraft) -> Solution:
    """A member's people list a solution of their own member (an approved one); audited."""
    draft = _clean(draft)
    number = authz.acting_for(actor, draft.corporate_number, "corporate_number", "the member", "会員")
    authz.authorize(actor, MANAGE, number)
    open_organisation(session, number)
    _refuse(_problems(session, draft))
    solution = Solution(corporate_number=number, title="", contact_name="", contact_email="",
                        status=SolutionStatus.listed, created_by=actor.recorded_name)
    _fill(solution, draft)
    session.add(solution)
    session.flush()
    _write_links(session, solution, draft)
    audit.record(session, actor, "solution.create", "member_solution", str(solution.id), tenant_code=number,
                 after=summary(session, solution))
    return solution


def get_solution(session: Session, actor: Actor, solution_id: int) -> Solution:
    """A solution the actor may read: a listed one of an approved member for a member's people, or any of their own
    member's; every one for the desk."""
    grant = authz.authorize(actor, READ)
    solution = session.get(Solution, solution_id)
    if solution is None or not (grant.all_tenants or grant.covers(solution.corporate_number)
                                or (solution.status is SolutionStatus.listed and _approved(session, solution))):
        raise NotFound(f"No solution {solution_id}.", f"ソリューション {solution_id} はありません。")
    return solution


def _approved(session: Session, solution: Solution) -> bool:
    return session.scalar(sa.select(Organisation.status).where(
        Organisation.corporate_number == solution.corporate_number)) == MemberStatus.approved


def _own(session: Session, actor: Actor, solution_id: int) -> Solution:
    """The solution to change: its member's people only (another member's is refused)."""
    authz.authorize(actor, MANAGE)  # who may change none is refused before learning whether it exists
    solution = session.get(Solution, solution_id, with_for_update=True)
    if solution is None:
        raise NotFound(f"No solution {solution_id}.", f"ソリューション {solution_id} はありません。")
    authz.authorize(actor, MANAGE, solution.corporate_number)
    return solution


def update_solution(session: Session, actor: Actor, solution_id: int, draft: SolutionDraft) -> Solution:
    """A member's people change their own member's listed solution; audited with before and after."""
    solution = _own(session, actor, solution_id)
    if solution.status is not SolutionStatus.listed:
        raise SOLUTIONS.refuse("withdraw", solution.status, solution)
    draft = dataclasses.replace(_clean(draft), corporate_number=solution.corporate_number)
    _refuse(_problems(session, draft))
    before = summary(session, solution)
    _fill(solution, draft)
    solution.updated_at = utcnow()
    _write_links(session, solution, draft)
    audit.record(session, actor, "solution.update", "member_solution", str(solution.id),
                 tenant_code=solution.corporate_number, before=before, after=summary(session, solution))
    return solution


def withdraw_solution(session: Session, actor: Actor, solution_id: int, reason: str) -> Solution:
    """A member's people withdraw their own member's solution (a reason kept); it is no longer found; audited."""
    solution = _own(session, actor, solution_id)
    move = SOLUTIONS.move("withdraw", solution.status, solution)
    reason = require_reason(move, reason)
    if (wrong := text_field_problem("reason", reason, "reason", "理由", REASON_MAX, single_line=False)) is not None:
        raise Invalid("The reason has problems.", "理由に誤りがあります。", problems=[wrong])
    before = {"status": solution.status.value}
    solution.status, solution.status_reason, solution.updated_at = move.target, reason, utcnow()
    session.flush()
    audit.record(session, actor, "solution.withdraw", "member_solution", str(solution.id),
                 tenant_code=solution.corporate_number, before=before,
                 after={"status": solution.status.value, "reason": reason})
    return solution


@dataclasses.dataclass(frozen=True)
class SolutionRow:
    """A solution as the register shows it: with its member's name and industry, its categories and needs."""

    solution: Solution
    member_name: str
    industry: str
    categories: list[SolutionCategory]
    need_ids: list[int]

    @property
    def industry_label(self) -> str:
        return INDUSTRY_MAJOR_GROUPS.get(self.industry, ("", ""))[0] if self.industry else ""


def _rows(session: Session, query) -> list[SolutionRow]:
    found = list(session.execute(query))
    ids = [solution.id for solution, _name, _industry in found]
    cats, needs = categories_of(session, ids), needs_of(session, ids)
    return [SolutionRow(solution, name, industry or "", cats[solution.id], needs[solution.id])
            for solution, name, industry in found]


def _with_member():
    return sa.select(Solution, Organisation.name, Organisation.industry).join(
        Organisation, Organisation.corporate_number == Solution.corporate_number)


def solution_row(session: Session, actor: Actor, solution_id: int) -> SolutionRow:
    """One solution the actor may read (:func:`get_solution`), as the register shows it."""
    solution = get_solution(session, actor, solution_id)
    return _rows(session, _with_member().where(Solution.id == solution.id))[0]


def search_problems(category: str | None, industry: str | None) -> list[dict[str, str]]:
    found = []
    if category and category not in {c.value for c in SolutionCategory}:
        found.append(problem("category", "Choose a category from the list.", "分類は一覧から選んでください。"))
    if industry and industry not in INDUSTRY_MAJOR_GROUPS:
        found.append(problem("industry", "Choose an industry from the list.", "業種は一覧から選んでください。"))
    return found


def search_solutions(session: Session, actor: Actor, *, words: str = "", category: str | None = None,
                     industry: str | None = None, limit: int = RESULTS_MAX) -> list[SolutionRow]:
    """The listed solutions of approved members holding every word (see the module's docstring), in ``category`` and
    of members in ``industry`` when given; newest first, at most ``limit``."""
    authz.authorize(actor, READ)
    if found := search_problems(category, industry):
        raise Invalid("The search has problems.", "検索条件に誤りがあります。", problems=found)
    query = _with_member().where(Solution.status == SolutionStatus.listed,
                                 Organisation.status == MemberStatus.approved)
    for word in search.read_query(words).text.split(" ")[:MAX_WORDS]:
        if word:
            query = query.where(Solution.search_text.like(search.contains(fold(word)), escape=search.ESCAPE))
    if category:
        query = query.where(Solution.id.in_(sa.select(SolutionCategoryLink.solution_id).where(
            SolutionCategoryLink.category == SolutionCategory(category))))
    if industry:
        query = query.where(Organisation.industry == industry)
    return _rows(session, query.order_by(Solution.created_at.desc(), Solution.id.desc()).limit(limit))


def own_solutions(session: Session, actor: Actor) -> list[SolutionRow]:
    """The solutions of the actor's own members, listed and withdrawn (what they may change)."""
    grant = authz.authorize(actor, MANAGE)  # only ever a member's own: the policy grants no "all"
    return _rows(session, _with_member().where(Solution.corporate_number.in_(sorted(grant.tenant_codes)))
                 .order_by(Solution.status, Solution.created_at.desc(), Solution.id.desc()))


def answerable_needs(session: Session, actor: Actor) -> list[tuple[int, str]]:
    """The municipalities' needs a member's solution may name, as (id, "年度 市町村 題名") for its picker: the
    title and the municipality only (the survey's detail stays with the desk and the municipality)."""
    authz.authorize(actor, MANAGE)
    rows = session.execute(sa.select(MunicipalNeed.id, MunicipalNeed.fiscal_year, MunicipalNeed.title, Tenant.name_ja)
                           .join(Tenant, Tenant.code == MunicipalNeed.tenant_code, isouter=True)
                           .order_by(MunicipalNeed.fiscal_year.desc(), MunicipalNeed.tenant_code, MunicipalNeed.id))
    return [(need_id, f"{year}年度 {name or ''} {title}".replace("  ", " ")) for need_id, year, title, name in rows]


def need_titles(session: Session, need_ids: set[int]) -> dict[int, str]:
    """The titles of the needs solutions name (shown beside a found solution)."""
    if not need_ids:
        return {}
    return {need_id: title for need_id, title in session.execute(
        sa.select(MunicipalNeed.id, MunicipalNeed.title).where(MunicipalNeed.id.in_(sorted(need_ids))))}
