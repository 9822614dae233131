"""Smart-city services, ideas and the municipalities' needs (スマートシティサービス・アイデア・市町の課題とニーズ,
issue 57 item 5; seed 003: スマートシティサービス案の掘り起こし, 2サービス以上; 県内市町が抱える課題の調査).

Rules:

* A **service** (スマートシティサービス) has a name, a summary, a field (分野), a scope (the prefecture's own project
  or a regional one with the municipalities) and the day it was found (掘り起こした日). Its status moves only by
  the table :data:`SERVICES`: 提案 → 実証中 → 運用中, and 取り下げ from 提案 or 実証中 (a reason required). A service
  names the ideas it came from (service → idea).
* An **idea** (アイデア) comes from a workshop (its name, free text) on a day; its proposer is an approved member
  organisation (picked; its name kept as it was then) or, for anyone else, their name as free text, never both.
  It names the needs it answers (idea → need). Its stage moves by the table :data:`IDEAS`: 発案 → 検討中 → サービス案に
  採用, and 見送り from 発案 or 検討中 (a reason required).
* A **need** (課題・ニーズ) is a municipality's answer to the yearly survey, for one fiscal year: a field, a title and
  the detail. A municipality's admin or staff write and change their own municipality's only
  (``smartcity.need.answer`` scoped to the tenant); the operator and the secretariat read every one
  (``smartcity.need.read``) and link them from ideas.
* The secretariat (or the operator) keeps services and ideas (``smartcity.manage``) and sets the fiscal year's
  **target** of services found (``smartcity.target``; :data:`DEFAULT_TARGET` when unset). :func:`progress_of` is
  the one count of services found in a fiscal year: those whose day found lies in it, withdrawn ones not counted.

Every change is audited with before and after: ``smartcity.service.create`` / ``.update`` / ``.move``,
``smartcity.idea.create`` / ``.update`` / ``.move``, ``smartcity.need.create`` / ``.update`` and ``smartcity.target``.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any, Optional

import sqlalchemy as sa
from sqlalchemy.orm import Session
from sqlmodel import Field, SQLModel

from core import audit, authz
from core.actor import Actor
from core.calendar import fiscal_year_of, is_supported_fiscal_year
from core.db import enum_column, timestamp_column, utcnow
from core.errors import Invalid, NotFound, problem
from core.labelled import LabelledEnum, labels
from core.lifecycle import Lifecycle, Move, require_reason
from core.validation import INT32_MAX, text_field_problem

READ, MANAGE, TARGET = "smartcity.read", "smartcity.manage", "smartcity.target"
NEED_READ, NEED_ANSWER = "smartcity.need.read", "smartcity.need.answer"
NAME_MAX, TEXT_MAX, WORKSHOP_MAX, REASON_MAX = 200, 2000, 200, 1000
MAX_LINKS = 50
DEFAULT_TARGET = 2  # seed 003: 2サービス以上の掘り起こしを想定
MAX_TARGET = 1000


class ServiceField(LabelledEnum):
    tourism = "tourism", "観光", "Tourism"
    disaster = "disaster", "防災", "Disaster prevention"
    mobility = "mobility", "交通・移動", "Transport and mobility"
    health = "health", "健康・医療・福祉", "Health and welfare"
    childcare = "childcare", "子育て・教育", "Childcare and education"
    administration = "administration", "行政サービス", "Public services"
    environment = "environment", "環境・エネルギー", "Environment and energy"
    industry = "industry", "産業・農林業", "Industry and agriculture"
    other = "other", "その他", "Other"


class ServiceScope(LabelledEnum):
    prefecture = "prefecture", "県の事業", "The prefecture's project"
    regional = "regional", "県と市町の広域連携", "Regional, with the municipalities"


class ServiceStatus(LabelledEnum):
    proposed = "proposed", "提案", "Proposed"
    piloting = "piloting", "実証中", "Piloting"
    running = "running", "運用中", "Running"
    withdrawn = "withdrawn", "取り下げ", "Withdrawn"


class IdeaStage(LabelledEnum):
    raised = "raised", "発案", "Raised"
    studying = "studying", "検討中", "Under study"
    adopted = "adopted", "サービス案に採用", "Adopted as a service"
    dropped = "dropped", "見送り", "Dropped"


SS, IS = ServiceStatus, IdeaStage
SERVICES = Lifecycle("スマートシティサービス", "smart-city service", ServiceStatus, labels(ServiceStatus), (
    Move("pilot", frozenset({SS.proposed}), SS.piloting, "実証の開始", "start piloting", grant=MANAGE),
    Move("run", frozenset({SS.piloting}), SS.running, "運用の開始", "start running", grant=MANAGE),
    Move("withdraw", frozenset({SS.proposed, SS.piloting}), SS.withdrawn, "取り下げ", "withdraw", reason_required=True,
         grant=MANAGE),
), initial=(SS.proposed,))
"""A service is proposed, piloted, then run; withdrawn before it runs (:func:`move_service`, the one place it moves)."""

IDEAS = Lifecycle("アイデア", "idea", IdeaStage, labels(IdeaStage), (
    Move("study", frozenset({IS.raised}), IS.studying, "検討の開始", "start studying", grant=MANAGE),
    Move("adopt", frozenset({IS.raised, IS.studying}), IS.adopted, "サービス案に採用", "adopt as a service", grant=MANAGE),
    Move("drop", frozenset({IS.raised, IS.studying}), IS.dropped, "見送り", "drop", reason_required=True, grant=MANAGE),
), initial=(IS.raised,))
"""An idea is raised, studied, then adopted as a service or dropped (:func:`move_idea`, the one place it moves)."""


class SmartService(SQLModel, table=True):
    __tablename__ = "smartcity_service"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=NAME_MAX)
    summary: str = Field(default="", sa_column=sa.Column(sa.Text, nullable=False, server_default=""))
    field: ServiceField = Field(sa_column=enum_column(ServiceField, length=16))
    scope: ServiceScope = Field(sa_column=enum_column(ServiceScope, length=16))
    found_on: dt.date = Field(index=True)
    status: ServiceStatus = Field(sa_column=enum_column(ServiceStatus, length=16, checked=True, index=True))
    status_reason: str = Field(default="", sa_column=sa.Column(sa.Text, nullable=False, server_default=""))
    created_by: str = Field(default="", max_length=255)
    created_at: dt.datetime = Field(default_factory=utcnow, sa_column=timestamp_column(nullable=False))


class SmartServiceIdea(SQLModel, table=True):
    __tablename__ = "smartcity_idea"

    id: int | None = Field(default=None, primary_key=True)
    title: str = Field(max_length=NAME_MAX)
    description: str = Field(default="", sa_column=sa.Column(sa.Text, nullable=False, server_default=""))
    workshop: str = Field(default="", max_length=WORKSHOP_MAX)  # the workshop it came from, as the desk names it
    proposed_on: dt.date = Field(index=True)
    proposer_number: str = Field(default="", max_length=13)  # a member organisation's corporate number, or ""
    proposer_name: str = Field(max_length=NAME_MAX)  # the member's name then, or the free text
    stage: IdeaStage = Field(sa_column=enum_column(IdeaStage, length=16, checked=True, index=True))
    stage_reason: str = Field(default="", sa_column=sa.Column(sa.Text, nullable=False, server_default=""))
    created_by: str = Field(default="", max_length=255)
    created_at: dt.datetime = Field(default_factory=utcnow, sa_column=timestamp_column(nullable=False))


class MunicipalNeed(SQLModel, table=True):
    __tablename__ = "smartcity_need"

    id: int | None = Field(default=None, primary_key=True)
    tenant_code: str = Field(max_length=6, index=True)
    fiscal_year: int = Field(index=True)
    field: ServiceField = Field(sa_column=enum_column(ServiceField, length=16))
    title: str = Field(max_length=NAME_MAX)
    detail: str = Field(default="", sa_column=sa.Column(sa.Text, nullable=False, server_default=""))
    answered_by: str = Field(default="", max_length=255)
    answered_at: dt.datetime = Field(default_factory=utcnow, sa_column=timestamp_column(nullable=False))
    updated_at: Optional[dt.datetime] = Field(default=None, sa_column=timestamp_column(nullable=True))


class IdeaNeed(SQLModel, table=True):
    """An idea answers a need."""

    __tablename__ = "smartcity_idea_need"

    idea_id: int = Field(foreign_key="smartcity_idea.id", primary_key=True)
    need_id: int = Field(foreign_key="smartcity_need.id", primary_key=True, index=True)


class ServiceIdea(SQLModel, table=True):
    """A service came from an idea."""

    __tablename__ = "smartcity_service_idea"

    service_id: int = Field(foreign_key="smartcity_service.id", primary_key=True)
    idea_id: int = Field(foreign_key="smartcity_idea.id", primary_key=True, index=True)


class ServiceTarget(SQLModel, table=True):
    """The fiscal year's target of services found; a year without a row has :data:`DEFAULT_TARGET`."""

    __tablename__ = "smartcity_service_target"

    fiscal_year: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    target: int
    set_by: str = Field(default="", max_length=255)
    set_at: dt.datetime = Field(default_factory=utcnow, sa_column=timestamp_column(nullable=False))


# --- shared checks -------------------------------------------------------------------------------------

def _choice(field: str, value: Any, enum_cls: type[LabelledEnum], en: str, ja: str) -> dict[str, str] | None:
    if value in {member.value for member in enum_cls}:
        return None
    return problem(field, f"Choose the {en}.", f"{ja}を選んでください。")


def _date_problem(field: str, value: dt.date | None, en: str, ja: str) -> dict[str, str] | None:
    if value is None:
        return problem(field, f"Enter the {en}.", f"{ja}を入力してください。")
    if not is_supported_fiscal_year(fiscal_year_of(value)):
        return problem(field, f"The {en} is outside the years renkei keeps.", f"{ja}が扱える年度の範囲外です。")
    return None


def _refuse(found: list[dict[str, str]], en: str, ja: str) -> None:
    if found:
        raise Invalid(f"The {en} has problems; nothing was saved.", f"{ja}の内容に誤りがあります。保存していません。",
                      problems=found)


def _ids(values: Any) -> tuple[int, ...]:
    return tuple(sorted({int(v) for v in values or ()}))


def _missing_ids(session: Session, model: Any, ids: tuple[int, ...]) -> list[int]:
    askable = [i for i in ids if 1 <= i <= INT32_MAX]  # a larger id names no row (and PostgreSQL refuses it)
    found = set(session.scalars(sa.select(model.id).where(model.id.in_(askable)))) if askable else set()
    return [i for i in ids if i not in found]


# --- services ------------------------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class ServiceDraft:
    name: str
    summary: str
    field: str
    scope: str
    found_on: dt.date | None
    idea_ids: tuple[int, ...] = ()


def service_summary(service: SmartService, idea_ids: list[int] | tuple[int, ...]) -> dict[str, Any]:
    return {"name": service.name, "summary": service.summary, "service_field": service.field.value, "scope": service.scope.value,
            "found_on": service.found_on.isoformat(), "status": service.status.value, "idea_ids": list(idea_ids)}


def _service_problems(session: Session, draft: ServiceDraft) -> list[dict[str, str]]:
    found = [p for p in (
        text_field_problem("name", draft.name, "name", "サービス名", NAME_MAX, required=True),
        text_field_problem("summary", draft.summary, "summary", "概要", TEXT_MAX, single_line=False),
        _choice("field", draft.field, ServiceField, "field", "分野"),
        _choice("scope", draft.scope, ServiceScope, "scope", "実施の範囲"),
        _date_problem("found_on", draft.found_on, "day found", "掘り起こした日"),
    ) if p is not None]
    if len(draft.idea_ids) > MAX_LINKS:
        found.append(problem("idea_ids", f"Choose at most {MAX_LINKS} ideas.", f"アイデアは {MAX_LINKS} 件までです。"))
    elif missing := _missing_ids(session, SmartServiceIdea, draft.idea_ids):
        found.append(problem("idea_ids", f"No idea {missing[0]}.", "選んだアイデアが見つかりません。"))
    return found


def _clean_service(draft: ServiceDraft) -> ServiceDraft:
    return dataclasses.replace(draft, name=draft.name.strip(), summary=draft.summary.strip(), idea_ids=_ids(draft.idea_ids))


def idea_ids_of(session: Session, service_id: int) -> list[int]:
    return list(session.scalars(sa.select(ServiceIdea.idea_id).where(ServiceIdea.service_id == service_id)
                                .order_by(ServiceIdea.idea_id)))


def _link_ideas(session: Session, service_id: int, idea_ids: tuple[int, ...]) -> None:
    session.execute(sa.delete(ServiceIdea).where(ServiceIdea.service_id == service_id))
    session.add_all(ServiceIdea(service_id=service_id, idea_id=idea_id) for idea_id in idea_ids)


def create_service(session: Session, actor: Actor, draft: ServiceDraft) -> SmartService:
    """The desk registers a service found (提案, the table's start)."""
    authz.authorize(actor, MANAGE)
    draft = _clean_service(draft)
    _refuse(_service_problems(session, draft), "service", "サービス")
    service = SmartService(name=draft.name, summary=draft.summary, field=ServiceField(draft.field),
                           scope=ServiceScope(draft.scope), found_on=draft.found_on, status=ServiceStatus.proposed,
                           created_by=actor.recorded_name)
    session.add(service)
    session.flush()
    _link_ideas(session, service.id, draft.idea_ids)
    session.flush()
    audit.record(session, actor, "smartcity.service.create", "smartcity_service", str(service.id),
                 after=service_summary(service, draft.idea_ids))
    return service


def get_service(session: Session, actor: Actor, service_id: int) -> SmartService:
    authz.authorize(actor, READ)
    service = session.get(SmartService, service_id)
    if service is None:
        raise NotFound(f"No service {service_id}.", f"サービス {service_id} はありません。")
    return service


def update_service(session: Session, actor: Actor, service_id: int, draft: ServiceDraft) -> SmartService:
    """The desk changes a service's details and the ideas it came from (never its status: :func:`move_service`)."""
    authz.authorize(actor, MANAGE)
    service = get_service(session, actor, service_id)
    draft = _clean_service(draft)
    _refuse(_service_problems(session, draft), "service", "サービス")
    before = service_summary(service, idea_ids_of(session, service.id))
    service.name, service.summary, service.field = draft.name, draft.summary, ServiceField(draft.field)
    service.scope, service.found_on = ServiceScope(draft.scope), draft.found_on
    _link_ideas(session, service.id, draft.idea_ids)
    session.flush()
    audit.record(session, actor, "smartcity.service.update", "smartcity_service", str(service.id), before=before,
                 after=service_summary(service, draft.idea_ids))
    return service


def _move_name(lifecycle: Lifecycle, name: str) -> str:
    if name not in lifecycle.moves:
        raise Invalid(f"Unknown move {name!r}.", "その操作はありません。",
                      problems=[problem("move", "Choose what to do.", "操作を選んでください。")])
    return name


def _reason(move: Move, reason: str | None) -> str:
    reason = require_reason(move, reason)
    if (wrong := text_field_problem("reason", reason, "reason", "理由", REASON_MAX, single_line=False)) is not None:
        raise Invalid("The reason has problems; nothing was changed.", "理由に誤りがあります。変更していません。",
                      problems=[wrong])
    return reason


def move_service(session: Session, actor: Actor, service_id: int, move: str, reason: str = "") -> SmartService:
    """Move a service's status by the table :data:`SERVICES` (refused, HTTP 409, when it does not allow it)."""
    authz.authorize(actor, MANAGE)
    service = get_service(session, actor, service_id)
    allowed = SERVICES.move(_move_name(SERVICES, move), service.status, service)
    reason = _reason(allowed, reason)
    before = {"status": service.status.value}
    service.status, service.status_reason = allowed.target, reason
    session.flush()
    audit.record(session, actor, "smartcity.service.move", "smartcity_service", str(service.id), before=before,
                 after={"status": service.status.value, "reason": reason})
    return service


def _found_during(fiscal_year: int) -> sa.ColumnElement[bool]:
    """A service's day found lies in ``fiscal_year`` (April to March)."""
    return sa.and_(SmartService.found_on >= dt.date(fiscal_year, 4, 1), SmartService.found_on < dt.date(fiscal_year + 1, 4, 1))


def list_services(session: Session, actor: Actor, *, fiscal_year: int | None = None) -> list[SmartService]:
    """Every service, or those found in ``fiscal_year``; the latest found first."""
    authz.authorize(actor, READ)
    query = sa.select(SmartService).order_by(SmartService.found_on.desc(), SmartService.id.desc())
    if fiscal_year is not None:
        query = query.where(_found_during(fiscal_year))
    return list(session.scalars(query))


def idea_links(session: Session, service_ids: list[int]) -> dict[int, list[int]]:
    """service id → the ids of the ideas it came from, for many services in one query."""
    links: dict[int, list[int]] = {service_id: [] for service_id in service_ids}
    if service_ids:
        for service_id, idea_id in session.execute(sa.select(ServiceIdea.service_id, ServiceIdea.idea_id).where(
                ServiceIdea.service_id.in_(service_ids)).order_by(ServiceIdea.idea_id)):
            links[service_id].append(idea_id)
    return links


# --- ideas ---------------------------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class IdeaDraft:
    title: str
    description: str
    workshop: str
    proposed_on: dt.date | None
    proposer_number: str = ""  # an approved member's corporate number, or "" for free text
    proposer_name: str = ""    # the free text when no member is chosen
    need_ids: tuple[int, ...] = ()


def idea_summary(idea: SmartServiceIdea, need_ids: list[int] | tuple[int, ...]) -> dict[str, Any]:
    return {"title": idea.title, "description": idea.description, "workshop": idea.workshop,
            "proposed_on": idea.proposed_on.isoformat(), "proposer_number": idea.proposer_number,
            "proposer_name": idea.proposer_name, "idea_stage": idea.stage.value, "need_ids": list(need_ids)}


def proposer_members(session: Session, actor: Actor) -> list[tuple[str, str]]:
    """(corporate number, name) of the approved member organisations, by reading (the proposer picker)."""
    from tenancy.members.models import MemberStatus, Organisation

    authz.authorize(actor, READ)
    return [(number, name) for number, name in session.execute(
        sa.select(Organisation.corporate_number, Organisation.name).where(Organisation.status == MemberStatus.approved)
        .order_by(Organisation.name_kana, Organisation.name, Organisation.corporate_number))]


def _proposer(session: Session, draft: IdeaDraft) -> tuple[str, list[dict[str, str]]]:
    """The proposer's name to keep, or the problems of the proposer fields."""
    from tenancy.members.models import MemberStatus, Organisation

    if draft.proposer_number:
        if draft.proposer_name:
            return "", [problem("proposer_name", "Leave the name empty when a member is chosen.",
                                "会員を選んだときは提案者名を空にしてください。")]
        org = session.scalars(sa.select(Organisation).where(
            Organisation.corporate_number == draft.proposer_number)).one_or_none()
        if org is None or org.status != MemberStatus.approved:
            return "", [problem("proposer_number", "Choose an approved member.", "会員を選んでください。")]
        return org.name[:NAME_MAX], []
    wrong = text_field_problem("proposer_name", draft.proposer_name, "proposer", "提案者", NAME_MAX)
    if wrong is None and not draft.proposer_name:
        wrong = problem("proposer_name", "Choose a member or write who proposed it.",
                        "会員を選ぶか、提案者を入力してください。")
    return draft.proposer_name, [wrong] if wrong else []


def _idea_problems(session: Session, draft: IdeaDraft) -> tuple[str, list[dict[str, str]]]:
    found = [p for p in (
        text_field_problem("title", draft.title, "title", "アイデア名", NAME_MAX, required=True),
        text_field_problem("description", draft.description, "description", "内容", TEXT_MAX, single_line=False),
        text_field_problem("workshop", draft.workshop, "workshop", "ワークショップ", WORKSHOP_MAX),
        _date_problem("proposed_on", draft.proposed_on, "day proposed", "提案日"),
    ) if p is not None]
    name, wrong = _proposer(session, draft)
    found += wrong
    if len(draft.need_ids) > MAX_LINKS:
        found.append(problem("need_ids", f"Choose at most {MAX_LINKS} needs.", f"課題・ニーズは {MAX_LINKS} 件までです。"))
    elif missing := _missing_ids(session, MunicipalNeed, draft.need_ids):
        found.append(problem("need_ids", f"No need {missing[0]}.", "選んだ課題・ニーズが見つかりません。"))
    return name, found


def _clean_idea(draft: IdeaDraft) -> IdeaDraft:
    return dataclasses.replace(draft, title=draft.title.strip(), description=draft.description.strip(),
                               workshop=draft.workshop.strip(), proposer_number=draft.proposer_number.strip(),
                               proposer_name=draft.proposer_name.strip(), need_ids=_ids(draft.need_ids))


def need_ids_of(session: Session, idea_id: int) -> list[int]:
    return list(session.scalars(sa.select(IdeaNeed.need_id).where(IdeaNeed.idea_id == idea_id).order_by(IdeaNeed.need_id)))


def _link_needs(session: Session, idea_id: int, need_ids: tuple[int, ...]) -> None:
    session.execute(sa.delete(IdeaNeed).where(IdeaNeed.idea_id == idea_id))
    session.add_all(IdeaNeed(idea_id=idea_id, need_id=need_id) for need_id in need_ids)


def create_idea(session: Session, actor: Actor, draft: IdeaDraft) -> SmartServiceIdea:
    """The desk records an idea from a workshop (発案, the table's start) and the needs it answers."""
    authz.authorize(actor, MANAGE)
    draft = _clean_idea(draft)
    name, found = _idea_problems(session, draft)
    _refuse(found, "idea", "アイデア")
    idea = SmartServiceIdea(title=draft.title, description=draft.description, workshop=draft.workshop,
                            proposed_on=draft.proposed_on, proposer_number=draft.proposer_number, proposer_name=name,
                            stage=IdeaStage.raised, created_by=actor.recorded_name)
    session.add(idea)
    session.flush()
    _link_needs(session, idea.id, draft.need_ids)
    session.flush()
    audit.record(session, actor, "smartcity.idea.create", "smartcity_idea", str(idea.id), after=idea_summary(idea, draft.need_ids))
    return idea


def get_idea(session: Session, actor: Actor, idea_id: int) -> SmartServiceIdea:
    authz.authorize(actor, READ)
    idea = session.get(SmartServiceIdea, idea_id)
    if idea is None:
        raise NotFound(f"No idea {idea_id}.", f"アイデア {idea_id} はありません。")
    return idea


def update_idea(session: Session, actor: Actor, idea_id: int, draft: IdeaDraft) -> SmartServiceIdea:
    """The desk changes an idea's details and the needs it answers (never its stage: :func:`move_idea`)."""
    authz.authorize(actor, MANAGE)
    idea = get_idea(session, actor, idea_id)
    draft = _clean_idea(draft)
    name, found = _idea_problems(session, draft)
    _refuse(found, "idea", "アイデア")
    before = idea_summary(idea, need_ids_of(session, idea.id))
    idea.title, idea.description, idea.workshop, idea.proposed_on = draft.title, draft.description, draft.workshop, draft.proposed_on
    idea.proposer_number, idea.proposer_name = draft.proposer_number, name
    _link_needs(session, idea.id, draft.need_ids)
    session.flush()
    audit.record(session, actor, "smartcity.idea.update", "smartcity_idea", str(idea.id), before=before,
                 after=idea_summary(idea, draft.need_ids))
    return idea


def move_idea(session: Session, actor: Actor, idea_id: int, move: str, reason: str = "") -> SmartServiceIdea:
    """Move an idea's stage by the table :data:`IDEAS` (refused, HTTP 409, when it does not allow it)."""
    authz.authorize(actor, MANAGE)
    idea = get_idea(session, actor, idea_id)
    allowed = IDEAS.move(_move_name(IDEAS, move), idea.stage, idea)
    reason = _reason(allowed, reason)
    before = {"idea_stage": idea.stage.value}
    idea.stage, idea.stage_reason = allowed.target, reason
    session.flush()
    audit.record(session, actor, "smartcity.idea.move", "smartcity_idea", str(idea.id), before=before,
                 after={"idea_stage": idea.stage.value, "reason": reason})
    return idea


def list_ideas(session: Session, actor: Actor) -> list[SmartServiceIdea]:
    authz.authorize(actor, READ)
    return list(session.scalars(sa.select(SmartServiceIdea).order_by(SmartServiceIdea.proposed_on.desc(),
                                                                     SmartServiceIdea.id.desc())))


def need_links(session: Session, idea_ids: list[int]) -> dict[int, list[int]]:
    """idea id → the ids of the needs it answers, for many ideas in one query."""
    links: dict[int, list[int]] = {idea_id: [] for idea_id in idea_ids}
    if idea_ids:
        for idea_id, need_id in session.execute(sa.select(IdeaNeed.idea_id, IdeaNeed.need_id).where(
                IdeaNeed.idea_id.in_(idea_ids)).order_by(IdeaNeed.need_id)):
            links[idea_id].append(need_id)
    return links


# --- the municipalities' needs --------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class NeedDraft:
    tenant_code: str
    fiscal_year: int | None
    field: str
    title: str
    detail: str


def need_summary(need: MunicipalNeed) -> dict[str, Any]:
    return {"tenant_code": need.tenant_code, "fiscal_year": need.fiscal_year, "service_field": need.field.value,
            "title": need.title, "detail": need.detail}


def _need_problems(session: Session, draft: NeedDraft) -> list[dict[str, str]]:
    from tenancy.registry.models import Tenant

    found = [p for p in (
        text_field_problem("title", draft.title, "title", "課題・ニーズ", NAME_MAX, required=True),
        text_field_problem("detail", draft.detail, "detail", "詳細", TEXT_MAX, single_line=False),
        _choice("field", draft.field, ServiceField, "field", "分野"),
    ) if p is not None]
    if draft.fiscal_year is None or not is_supported_fiscal_year(draft.fiscal_year):
        found.append(problem("fiscal_year", "Choose the fiscal year.", "年度を選んでください。"))
    if session.scalar(sa.select(Tenant.id).where(Tenant.code == draft.tenant_code)) is None:
        found.append(problem("tenant_code", "Choose the municipality.", "市町村を選んでください。"))
    return found


def _clean_need(draft: NeedDraft) -> NeedDraft:
    return dataclasses.replace(draft, tenant_code=draft.tenant_code.strip(), title=draft.title.strip(),
                               detail=draft.detail.strip())


def record_need(session: Session, actor: Actor, draft: NeedDraft) -> MunicipalNeed:
    """A municipality's admin or staff answer the survey for their own municipality."""
    draft = _clean_need(draft)
    authz.authorize(actor, NEED_ANSWER, draft.tenant_code or None)
    _refuse(_need_problems(session, draft), "need", "課題・ニーズ")
    need = MunicipalNeed(tenant_code=draft.tenant_code, fiscal_year=draft.fiscal_year, field=ServiceField(draft.field),
                         title=draft.title, detail=draft.detail, answered_by=actor.recorded_name)
    session.add(need)
    session.flush()
    audit.record(session, actor, "smartcity.need.create", "smartcity_need", str(need.id), tenant_code=need.tenant_code,
                 after=need_summary(need))
    return need


def get_need(session: Session, actor: Actor, need_id: int) -> MunicipalNeed:
    """One need: every one for the desk, their own municipality's for its people (another's is not found)."""
    grant = authz.authorize(actor, NEED_READ)
    need = session.get(MunicipalNeed, need_id)
    if need is None or not grant.covers(need.tenant_code):
        raise NotFound(f"No need {need_id}.", f"課題・ニーズ {need_id} はありません。")
    return need


def update_need(session: Session, actor: Actor, need_id: int, draft: NeedDraft) -> MunicipalNeed:
    """A municipality's people change their own municipality's answer (it stays their municipality's)."""
    need = get_need(session, actor, need_id)
    authz.authorize(actor, NEED_ANSWER, need.tenant_code)
    draft = dataclasses.replace(_clean_need(draft), tenant_code=need.tenant_code)
    _refuse(_need_problems(session, draft), "need", "課題・ニーズ")
    before = need_summary(need)
    need.fiscal_year, need.field, need.title, need.detail = draft.fiscal_year, ServiceField(draft.field), draft.title, draft.detail
    need.updated_at = utcnow()
    session.flush()
    audit.record(session, actor, "smartcity.need.update", "smartcity_need", str(need.id), tenant_code=need.tenant_code,
                 before=before, after=need_summary(need))
    return need


def list_needs(session: Session, actor: Actor, *, fiscal_year: int | None = None,
               tenant_code: str | None = None) -> list[MunicipalNeed]:
    """The needs the actor may read (every municipality's for the desk, their own for a municipality's people)."""
    grant = authz.authorize(actor, NEED_READ, tenant_code or None)
    query = sa.select(MunicipalNeed).order_by(MunicipalNeed.fiscal_year.desc(), MunicipalNeed.tenant_code, MunicipalNeed.id)
    if not grant.all_tenants:
        query = query.where(MunicipalNeed.tenant_code.in_(sorted(grant.tenant_codes)))
    if tenant_code:
        query = query.where(MunicipalNeed.tenant_code == tenant_code)
    if fiscal_year is not None:
        query = query.where(MunicipalNeed.fiscal_year == fiscal_year)
    return list(session.scalars(query))


# --- the year's target and its progress -------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class Progress:
    fiscal_year: int
    target: int
    found: int

    @property
    def percent(self) -> int:
        return min(100, self.found * 100 // self.target) if self.target else 100


def target_of(session: Session, fiscal_year: int) -> int:
    saved = session.get(ServiceTarget, fiscal_year)
    return saved.target if saved is not None else DEFAULT_TARGET


def found_in(session: Session, fiscal_year: int) -> int:
    """The services found in ``fiscal_year`` (their day found in it), withdrawn ones not counted."""
    return session.scalar(sa.select(sa.func.count(SmartService.id)).where(
        _found_during(fiscal_year), SmartService.status != ServiceStatus.withdrawn)) or 0


def progress_of(session: Session, actor: Actor, fiscal_year: int) -> Progress:
    """The fiscal year's target of services found and how many were found: the one count the register shows."""
    authz.authorize(actor, READ)
    return Progress(fiscal_year, target_of(session, fiscal_year), int(found_in(session, fiscal_year)))


def set_target(session: Session, actor: Actor, fiscal_year: int | None, target: int | None) -> ServiceTarget:
    """The operator or the secretariat sets the fiscal year's target of services found; audited."""
    authz.authorize(actor, TARGET)
    found = []
    if fiscal_year is None or not is_supported_fiscal_year(fiscal_year):
        found.append(problem("fiscal_year", "Choose the fiscal year.", "年度を選んでください。"))
    if target is None or not 1 <= target <= MAX_TARGET:
        found.append(problem("target", f"The target is a whole number from 1 to {MAX_TARGET}.",
                             f"目標は 1〜{MAX_TARGET} の整数で指定してください。"))
    _refuse(found, "target", "目標")
    saved = session.get(ServiceTarget, fiscal_year)
    before = saved.target if saved is not None else DEFAULT_TARGET
    if saved is None:
        saved = ServiceTarget(fiscal_year=fiscal_year, target=target)
        session.add(saved)
    saved.target, saved.set_by, saved.set_at = target, actor.recorded_name, utcnow()
    session.flush()
    audit.record(session, actor, "smartcity.target", "fiscal_year", str(fiscal_year), before={"target": before},
                 after={"target": target})
    return saved
