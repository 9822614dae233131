"""The competition's operations: the call from the default template, its publication, questions and
answers, declarations of participation and proposals with their estimates.

Rules:

* A call (``competition.manage``: the operator) is made per fiscal year from the seed's template
  (:func:`create_call`): the thirteen dated milestones, the 200-point scoring table, the cap per project
  (integer yen, tax included), the number to commission, eligible and ineligible costs, the themes. It is
  shown on the public page once published (:func:`publish_call`).
* Questions (``competition.ask``: members' and municipalities' people; the operator on a member's
  behalf) are taken until the question deadline; the operator answers (``competition.manage``) and
  publishes every answered question at once (:func:`publish_answers`); the public page shows questions
  and answers without who asked.
* A declaration of participation (``competition.submit``: the representative member's people, or the
  operator for them) is taken until the declaration deadline with the required documents (type by the
  file's first bytes, size up to :data:`MAX_UPLOAD_BYTES`); the group's composition rule is checked
  again by tenancy.members' own check (:func:`tenancy.members.operations.group_problems`).
* A proposal is taken until the proposal deadline from a declared group: a PDF of at most the call's
  page limit, and an estimate (積算書) of lines in integer yen whose total is within the cap.
* A late submission is refused naming the deadline (:class:`DeadlinePassed`). Every act is audited.
* Before its deadline a group may withdraw its declaration or proposal, amend its declaration's documents and
  resubmit its proposal (competition/versions.py); earlier versions are kept, only the current one is reviewed.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
from collections.abc import Iterable, Sequence

import sqlalchemy as sa
from sqlalchemy.orm import Session

from competition import receipts, stages
from competition.files import content_type_of, pdf_pages
from competition.models import (DECLARATION_OPTIONAL, DECLARATION_REQUIRED, DEFAULT_CRITERIA, DEFAULT_ELIGIBLE,
                                DEFAULT_INELIGIBLE, DEFAULT_SCHEDULE, DEFAULT_THEMES, MAX_UPLOAD_BYTES,
                                CURRENT_PROPOSAL, Call, Criterion, CriterionKind, Declaration, Document, DocumentKind,
                                EstimateLine, Milestone, Proposal, Question)
from core import audit, authz
from core.actor import Actor
from core.calendar import JST, fiscal_year_ja, is_supported_fiscal_year, jst_text, jst_text_ja
from core.codes import LOCAL_GOVERNMENT_BASE_PREFIX
from core.db import utcnow
from core.errors import Conflict, Invalid, NotFound, problem
from core.validation import text_field_problem
from tenancy.members import operations as members
from tenancy.members.models import ProjectGroup, ProjectGroupMember


class DeadlinePassed(Conflict):
    def __init__(self, what_en: str, what_ja: str, deadline: dt.datetime) -> None:
        when_ja = jst_text_ja(deadline)
        super().__init__(f"The deadline for {what_en} was {jst_text(deadline)} (JST); it was not accepted.",
                         f"{what_ja}の期限（{when_ja}）を過ぎているため、受け付けられません。", deadline=deadline.isoformat())


class CompositionBroken(Invalid):
    def __init__(self, problems: list[dict[str, str]]) -> None:
        super().__init__("The project group no longer meets the programme's composition rule; it cannot declare. "
                         + " ".join(p["message_en"] for p in problems),
                         "提案グループが構成要件を満たしていないため、参加表明できません。"
                         + " ".join(p["message_ja"] for p in problems), problems=problems)


# --- the call -------------------------------------------------------------------------------------

def _milestones_from_template(fiscal_year: int) -> list[Milestone]:
    """The seed's thirteen steps dated in ``fiscal_year`` (公募開始 in the March before it starts)."""
    found = []
    for position, step in enumerate(DEFAULT_SCHEDULE, start=1):
        day = dt.date(fiscal_year, step.month, step.day)  # the seed's calendar year is its fiscal year's number
        at = dt.datetime(day.year, day.month, day.day, step.hour or 0, tzinfo=JST)
        ends = day + dt.timedelta(days=step.end_day_offset) if step.end_day_offset else None
        found.append(Milestone(position=position, key=step.key, label_ja=step.label_ja, label_en=step.label_en,
                               at=at.astimezone(dt.timezone.utc), timed=step.hour is not None, ends_on=ends,
                               note=step.note, documents=",".join(step.documents)))
    return found


def create_call(session: Session, actor: Actor, fiscal_year: int, *, title: str = "", themes: Sequence[str] | None = None,
                cap_yen: int | None = None, commission_count: int | None = None) -> Call:
    """A call for ``fiscal_year`` from the default template (seed 000); the title, themes, cap and number
    to commission may be given instead of the template's."""
    authz.authorize(actor, "competition.manage")
    title = (title or "").strip() or f"{fiscal_year_ja(fiscal_year)} データ活用事例創出事業 公募型企画コンペ"
    found = [p for p in (text_field_problem("title", title, "title", "件名", 200, required=True),) if p]
    if not is_supported_fiscal_year(fiscal_year):
        found.append(problem("fiscal_year", f"{fiscal_year} is not a supported fiscal year.",
                             f"{fiscal_year} 年度は扱えない年度です。"))
    cap = 5_000_000 if cap_yen is None else cap_yen
    count = 3 if commission_count is None else commission_count
    if not isinstance(cap, int) or cap <= 0:
        found.append(problem("cap_yen", "The cap is a positive whole number of yen.", "委託限度額は1円以上の整数（円）で入力してください。"))
    if not isinstance(count, int) or not 1 <= count <= 50:
        found.append(problem("commission_count", "Commission 1 to 50 projects.", "委託予定件数は1～50件で入力してください。"))
    if found:
        raise Invalid.listing("The call was not created.", "公募を作成できません。", found)
    if session.scalar(sa.select(Call.id).where(Call.fiscal_year == fiscal_year)) is not None:
        raise Conflict(f"The fiscal year {fiscal_year} already has its call.", f"{fiscal_year_ja(fiscal_year)}の公募はすでにあります。")
    themes = [t.strip() for t in (DEFAULT_THEMES if themes is None else themes) if t and t.strip()]
    call = Call(fiscal_year=fiscal_year, title=title, themes="\n".join(themes), cap_yen=cap, commission_count=count,
                eligible_costs=DEFAULT_ELIGIBLE, ineligible_costs=DEFAULT_INELIGIBLE)
    session.add(call)
    session.flush()
    for milestone in _milestones_from_template(fiscal_year):
        milestone.call_id = call.id
        session.add(milestone)
    for position, c in enumerate(DEFAULT_CRITERIA, start=1):
        session.add(Criterion(call_id=call.id, position=position, title=c.title, kind=c.kind, max_score=c.max_score,
                              description=c.description))
    session.flush()
    audit.record(session, actor, "competition.call.create", "competition_call", str(call.id),
                 after={"fiscal_year": fiscal_year, "title": title, "cap_yen": cap, "commission_count": count,
                        "milestones": len(DEFAULT_SCHEDULE), "total_points": total_points(session, call.id)})
    return call


def get_call(session: Session, call_id: int) -> Call:
    call = session.get(Call, call_id)
    if call is None:
        raise NotFound(f"No call {call_id}.", "この公募はありません。")
    return call


def list_calls(session: Session, actor: Actor) -> list[Call]:
    authz.authorize(actor, "competition.read")
    return list(session.scalars(sa.select(Call).order_by(Call.fiscal_year.desc())))


def milestones(session: Session, call_id: int) -> list[Milestone]:
    return list(session.scalars(sa.select(Milestone).where(Milestone.call_id == call_id).order_by(Milestone.position)))


def criteria(session: Session, call_id: int) -> list[Criterion]:
    return list(session.scalars(sa.select(Criterion).where(Criterion.call_id == call_id).order_by(Criterion.position)))


def total_points(session: Session, call_id: int) -> int:
    return sum(c.max_score for c in criteria(session, call_id) if c.kind == CriterionKind.score)


def set_milestone(session: Session, actor: Actor, call_id: int, key: str, at: dt.datetime) -> Milestone:
    """Move one milestone to another moment (a deadline's date and time)."""
    authz.authorize(actor, "competition.manage")
    get_call(session, call_id)
    milestone = session.scalars(sa.select(Milestone).where(Milestone.call_id == call_id, Milestone.key == key)).one_or_none()
    if milestone is None:
        raise NotFound(f"The call has no milestone {key}.", f"この公募に日程「{key}」はありません。")
    if at.tzinfo is None:
        raise Invalid("Give the moment with its time zone.", "日時をタイムゾーン付きで指定してください。")
    _keep_order(session, milestone, at)
    before = milestone.at.isoformat()
    milestone.at = at.astimezone(dt.timezone.utc)
    session.flush()
    audit.record(session, actor, "competition.milestone.set", "competition_call", str(call_id),
                 before={"key": key, "at": before}, after={"key": key, "at": milestone.at.isoformat()})
    return milestone


def _keep_order(session: Session, moved: Milestone, at: dt.datetime) -> None:
    """The schedule stays in its steps' order: a milestone moves no earlier than the step before it and no
    later than the step after it (refused naming the neighbour)."""
    rows = milestones(session, moved.call_id)
    index = next(n for n, row in enumerate(rows) if row.id == moved.id)
    before, after = (rows[index - 1] if index else None), (rows[index + 1] if index + 1 < len(rows) else None)
    if before is not None and at < before.at:
        why = problem("at", f"{moved.label_en} cannot come before {before.label_en} ({jst_text(before.at)} JST).",
                      f"「{moved.label_ja}」は「{before.label_ja}」（{stages.when_ja(before)}）より前にできません。")
    elif after is not None and at > after.at:
        why = problem("at", f"{moved.label_en} cannot come after {after.label_en} ({jst_text(after.at)} JST).",
                      f"「{moved.label_ja}」は「{after.label_ja}」（{stages.when_ja(after)}）より後にできません。")
    else:
        return
    raise Invalid(why["message_en"], why["message_ja"], problems=[why])


def publish_call(session: Session, actor: Actor, call_id: int) -> Call:
    """Show the call on the public page."""
    authz.authorize(actor, "competition.manage")
    call = get_call(session, call_id)
    if call.published_at is not None:
        raise Conflict("The call is already published.", "この公募はすでに公開されています。")
    call.published_at = utcnow()
    moved = stages.advance(session, call, "publish")
    audit.record(session, actor, "competition.call.publish", "competition_call", str(call.id),
                 after={"published_at": call.published_at.isoformat(), "call_status": moved})
    return call


@dataclasses.dataclass(frozen=True)
class PublicCall:
    call: Call
    milestones: list[Milestone]
    criteria: list[Criterion]
    total_points: int
    answers: list[tuple[int, str, str]]  # (number, question, answer), published, without who asked


def public_call(session: Session, fiscal_year: int | None = None) -> PublicCall:
    """The published call of ``fiscal_year`` (the latest published when None), for the public page."""
    query = sa.select(Call).where(Call.published_at.is_not(None))
    if fiscal_year is not None:
        query = query.where(Call.fiscal_year == fiscal_year)
    call = session.scalars(query.order_by(Call.fiscal_year.desc()).limit(1)).first()
    if call is None:
        raise NotFound("No call is published.", "公開中の公募はありません。")
    published = session.scalars(sa.select(Question).where(Question.call_id == call.id, Question.published_at.is_not(None))
                                .order_by(Question.id))
    answers = [(n, q.question, q.answer) for n, q in enumerate(published, start=1)]
    return PublicCall(call, milestones(session, call.id), criteria(session, call.id), total_points(session, call.id), answers)


def before_deadline(session: Session, call: Call, step: str, what_en: str, what_ja: str, now: dt.datetime | None) -> None:
    """An applicant's act: the call published, open (and opened), the step's deadline not passed
    (:func:`competition.stages.applicants_may_act`)."""
    now = now or utcnow()
    stages.applicants_may_act(session, call, what_en, what_ja, now)
    milestone = stages.milestone(session, call.id, step)
    if now >= stages.deadline_of(milestone):
        raise DeadlinePassed(what_en, what_ja, stages.deadline_of(milestone) if milestone.timed else milestone.at)


# --- questions and answers ------------------------------------------------------------------------

def ask(session: Session, actor: Actor, call_id: int, question: str, *, asked_for: str | None = None,
        now: dt.datetime | None = None) -> Question:
    """A member's question, taken until the question deadline."""
    authz.authorize(actor, "competition.ask")
    code = authz.acting_for(actor, asked_for, "asked_for", "whom you ask for", "質問する団体")
    authz.authorize(actor, "competition.ask", code)
    call = get_call(session, call_id)
    stages.require_published(call)  # before the question's text is judged
    question = (question or "").strip()
    why = text_field_problem("question", question, "question", "質問", 4000, required=True, single_line=False)
    if why:
        raise Invalid(why["message_en"], why["message_ja"], problems=[why])
    before_deadline(session, call, "question_deadline", "questions", "質問書の提出", now)
    row = Question(call_id=call.id, question=question, asked_by=actor.subject, asked_for=code)
    session.add(row)
    session.flush()
    audit.record(session, actor, "competition.question.ask", "competition_question", str(row.id), tenant_code=code,
                 after={"call_id": call.id, "question": question})
    return row


def list_questions(session: Session, actor: Actor, call_id: int) -> list[Question]:
    authz.authorize(actor, "competition.read")
    return list(session.scalars(sa.select(Question).where(Question.call_id == call_id).order_by(Question.id)))


def answer(session: Session, actor: Actor, question_id: int, text: str) -> Question:
    """The secretariat's answer; it stays unpublished until :func:`publish_answers`."""
    authz.authorize(actor, "competition.manage")
    row = session.get(Question, question_id)
    if row is None:
        raise NotFound(f"No question {question_id}.", "この質問はありません。")
    if row.published_at is not None:
        raise Conflict("The answer is already published; it is not changed.", "回答は公開済みのため変更できません。")
    text = (text or "").strip()
    why = text_field_problem("answer", text, "answer", "回答", 8000, required=True, single_line=False)
    if why:
        raise Invalid(why["message_en"], why["message_ja"], problems=[why])
    before = row.answer
    row.answer, row.answered_by, row.answered_at = text, actor.subject, utcnow()
    session.flush()
    audit.record(session, actor, "competition.question.answer", "competition_question", str(row.id),
                 before={"answer": before}, after={"answer": text})
    return row


def publish_answers(session: Session, actor: Actor, call_id: int) -> int:
    """Publish every answered, unpublished question at once; how many were published."""
    authz.authorize(actor, "competition.manage")
    call = get_call(session, call_id)
    rows = list(session.scalars(sa.select(Question).where(Question.call_id == call.id, Question.published_at.is_(None),
                                                           Question.answered_at.is_not(None)).order_by(Question.id)))
    if not rows:
        raise Conflict("No answered question is waiting to be published.", "公開を待つ回答済みの質問はありません。")
    unanswered = session.scalar(sa.select(sa.func.count()).select_from(Question).where(
        Question.call_id == call.id, Question.answered_at.is_(None)))
    moment = utcnow()
    for row in rows:
        row.published_at = moment
    session.flush()
    audit.record(session, actor, "competition.answers.publish", "competition_call", str(call.id),
                 after={"published": [r.id for r in rows], "unanswered": unanswered})
    return len(rows)


# --- declarations and proposals -------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class Upload:
    kind: str
    filename: str
    content: bytes


def representative_codes(representative: str) -> set[str]:
    """The codes people of the representative member act under: its corporate number, and a
    municipality's tenant code."""
    codes = {representative}
    if representative[1:7] == LOCAL_GOVERNMENT_BASE_PREFIX:
        codes.add(representative[7:])
    return codes


def _authorize_representative(actor: Actor, representative: str) -> None:
    grant = authz.authorize(actor, "competition.submit")
    if not grant.all_tenants and not (representative_codes(representative) & grant.tenant_codes):
        authz.authorize(actor, "competition.submit", representative)  # refused, naming the member


def new_document(declaration_id: int, upload: Upload, actor: Actor, *, pdf_only: bool = False) -> Document:
    """A declaration's document from an upload, its file checked (kind, size, PDF or not; refused in words), not
    yet added to the session."""
    content_type = content_type_of(upload.kind, upload.filename, upload.content, MAX_UPLOAD_BYTES, pdf_only=pdf_only)
    return Document(declaration_id=declaration_id, kind=DocumentKind(upload.kind), filename=upload.filename[:255],
                    content_type=content_type, size=len(upload.content),
                    sha256=hashlib.sha256(upload.content).hexdigest(), content=upload.content, uploaded_by=actor.subject)


def _declaration_uploads(uploads: Iterable[Upload]) -> list[Upload]:
    allowed = {k.value for k in DECLARATION_REQUIRED + DECLARATION_OPTIONAL}
    uploads = list(uploads)
    found = []
    for upload in uploads:
        if upload.kind not in allowed:
            found.append(problem(upload.kind, f"{upload.kind} is not a document of the declaration.",
                                 f"「{upload.kind}」は参加表明の書類ではありません。"))
    given = {u.kind for u in uploads}
    for kind in DECLARATION_REQUIRED:
        if kind.value not in given:
            ja, en = DocumentKind(kind).label
            found.append(problem(kind.value, f"Attach the {en}.", f"{ja}を添付してください。"))
    if found:
        raise Invalid.listing("The declaration lacks documents.", "参加表明の書類が足りません。", found)
    return uploads


def declare(session: Session, actor: Actor, call_id: int, group_id: int, uploads: Iterable[Upload], *,
            now: dt.datetime | None = None) -> Declaration:
    """The group's declaration of participation with its documents, until the declaration deadline."""
    authz.authorize(actor, "competition.submit")
    group, numbers = _group(session, group_id)
    _authorize_representative(actor, group.representative)
    call = get_call(session, call_id)
    before_deadline(session, call, "declaration_deadline", "declarations of participation", "参加表明書の提出", now)
    broken = members.group_problems(session, group.name, group.representative, numbers, group_id=group.id)
    if broken:
        raise CompositionBroken(broken)
    earlier = session.scalars(sa.select(Declaration).where(Declaration.call_id == call.id,
                                                           Declaration.group_id == group.id)).first()
    if earlier is not None and earlier.withdrawn_at is not None:
        raise Conflict(f"{group.name} withdrew its declaration; it cannot declare again in this call.",
                       f"「{group.name}」は参加表明を取り下げているため、この公募に再び参加表明することはできません。")
    if earlier is not None:
        raise Conflict(f"{group.name} has already declared; amend its documents instead.",
                       f"「{group.name}」はすでに参加表明しています。書類を差し替える場合は修正してください。")
    uploads = _declaration_uploads(uploads)
    for upload in uploads:  # every file checked before anything is written
        content_type_of(upload.kind, upload.filename, upload.content, MAX_UPLOAD_BYTES)
    declaration = Declaration(call_id=call.id, group_id=group.id, group_name=group.name,
                              representative=group.representative, members=",".join(numbers), declared_by=actor.subject)
    session.add(declaration)
    session.flush()
    documents = [new_document(declaration.id, u, actor) for u in uploads]
    session.add_all(documents)
    session.flush()
    number = receipts.send(session, call, declaration, "declaration", declaration.id, declaration.declared_at, documents)
    audit.record(session, actor, "competition.declare", "competition_declaration", str(declaration.id),
                 tenant_code=group.representative,
                 after={"call_id": call.id, "group_id": group.id, "group_name": group.name, "members": numbers,
                        "documents": [{"kind": d.kind.value, "filename": d.filename, "size": d.size, "sha256": d.sha256}
                                      for d in documents], "receipt": number})
    return declaration


def _group(session: Session, group_id: int) -> tuple[ProjectGroup, list[str]]:
    """The group and its members, read for the representative's own act (the secretariat's list of
    groups, ``project.read``, is not theirs to read)."""
    group = session.get(ProjectGroup, group_id)
    if group is None:
        raise NotFound(f"No project group {group_id}.", "この提案グループはありません。")
    numbers = list(session.scalars(sa.select(ProjectGroupMember.corporate_number)
                                   .where(ProjectGroupMember.group_id == group_id).order_by(ProjectGroupMember.id)))
    return group, numbers


@dataclasses.dataclass(frozen=True)
class Line:
    item: str
    amount_yen: int


def _estimate_line_problems(n: int, line: Line) -> list[dict[str, str]]:
    """One estimate line: an item named, an amount in whole yen, 0 or more."""
    found = []
    if not (line.item or "").strip():
        found.append(problem(f"lines[{n}]", f"Line {n} has no item.", f"{n}行目の費目を入力してください。"))
    if not isinstance(line.amount_yen, int) or isinstance(line.amount_yen, bool) or line.amount_yen < 0:
        found.append(problem(f"lines[{n}]", f"Line {n}'s amount is a whole number of yen, 0 or more.",
                             f"{n}行目の金額は0以上の整数（円）で入力してください。"))
    return found


def _estimate(lines: Sequence[Line], total_yen: int, cap_yen: int) -> list[dict[str, str]]:
    found = []
    if not lines:
        found.append(problem("estimate", "The estimate needs at least one line.", "積算書に1行以上の明細を入力してください。"))
    for n, line in enumerate(lines, start=1):
        found += _estimate_line_problems(n, line)
    if found:
        return found
    summed = sum(line.amount_yen for line in lines)
    if summed != total_yen:
        found.append(problem("total_yen", f"The lines add up to {summed:,} yen, not the total {total_yen:,} yen.",
                             f"明細の合計 {summed:,} 円が総額 {total_yen:,} 円と一致しません。"))
    if total_yen > cap_yen:
        found.append(problem("total_yen", f"The total {total_yen:,} yen exceeds the cap of {cap_yen:,} yen (tax included).",
                             f"総額 {total_yen:,} 円が委託限度額 {cap_yen:,} 円（税込）を超えています。"))
    return found


def submit_proposal(session: Session, actor: Actor, call_id: int, group_id: int, proposal: Upload,
                    lines: Sequence[Line], total_yen: int, *, now: dt.datetime | None = None) -> Proposal:
    """The declared group's proposal PDF and estimate, until the proposal deadline (after a withdrawal, a new
    version: competition/versions.py)."""
    call, declaration = applicant_declaration(session, actor, call_id, group_id)
    before_deadline(session, call, "proposal_deadline", "proposals", "企画提案書の提出", now)
    if current_proposal(session, declaration.id) is not None:
        raise Conflict("The group has already submitted its proposal; resubmit it to replace it.",
                       "このグループはすでに企画提案書を提出しています。差し替える場合は再提出してください。")
    row, document, pages = take_proposal(session, actor, call, declaration, proposal, lines, total_yen)
    number = receipts.send(session, call, declaration, "proposal", row.id, row.submitted_at, [document])
    audit.record(session, actor, "competition.propose", "competition_proposal", str(row.id),
                 tenant_code=declaration.representative,
                 after={"call_id": call.id, "group_id": group_id, "version": row.version, "pages": pages,
                        "total_yen": total_yen, "lines": [{"item": l.item, "amount_yen": l.amount_yen} for l in lines],
                        "document": {"filename": document.filename, "size": document.size, "sha256": document.sha256},
                        "receipt": number})
    return row


def applicant_declaration(session: Session, actor: Actor, call_id: int, group_id: int) -> tuple[Call, Declaration]:
    """The call and the group's declaration in it, for an act of the group's representative (refused: the group
    not declared, or its declaration withdrawn)."""
    authz.authorize(actor, "competition.submit")
    call = get_call(session, call_id)
    declaration = session.scalars(sa.select(Declaration).where(Declaration.call_id == call.id,
                                                               Declaration.group_id == group_id)).one_or_none()
    if declaration is None:
        raise Conflict("The group has not declared participation in this call.", "このグループはこの公募に参加表明していません。")
    _authorize_representative(actor, declaration.representative)
    if declaration.withdrawn_at is not None:
        raise Conflict("The group withdrew its declaration of participation; it takes no further part in this call.",
                       "このグループは参加表明を取り下げているため、この公募には参加できません。")
    return call, declaration


def current_proposal(session: Session, declaration_id: int) -> Proposal | None:
    """The declaration's current proposal: the latest version, neither replaced nor withdrawn."""
    return session.scalars(sa.select(Proposal).where(Proposal.declaration_id == declaration_id, CURRENT_PROPOSAL)).first()


def take_proposal(session: Session, actor: Actor, call: Call, declaration: Declaration, proposal: Upload,
                  lines: Sequence[Line], total_yen: int) -> tuple[Proposal, Document, int]:
    """Check and write a proposal's next version (its PDF within the page limit, its estimate within the cap):
    the row, its document, its pages. Nothing is written when it is refused."""
    proposal = dataclasses.replace(proposal, kind=DocumentKind.proposal.value)
    document = new_document(declaration.id, proposal, actor, pdf_only=True)
    pages = pdf_pages(proposal.content)
    found = []
    if pages > call.page_limit:
        found.append(problem("proposal", f"The proposal has {pages} pages; at most {call.page_limit} are allowed.",
                             f"企画提案書が {pages} ページあります。{call.page_limit} ページ以内にしてください。"))
    found += _estimate(lines, total_yen, call.cap_yen)
    if found:
        raise Invalid.listing("The proposal was not accepted.", "企画提案書を受け付けられません。", found)
    version = (session.scalar(sa.select(sa.func.max(Proposal.version)).where(Proposal.declaration_id == declaration.id))
               or 0) + 1
    session.add(document)
    session.flush()
    row = Proposal(declaration_id=declaration.id, document_id=document.id, pages=pages, estimate_total_yen=total_yen,
                   submitted_by=actor.subject, version=version)
    session.add(row)
    session.flush()
    session.add_all(EstimateLine(proposal_id=row.id, position=n, item=line.item.strip(), amount_yen=line.amount_yen)
                    for n, line in enumerate(lines, start=1))
    session.flush()
    return row, document, pages


def list_declarations(session: Session, actor: Actor, call_id: int) -> list[tuple[Declaration, Proposal | None]]:
    authz.authorize(actor, "competition.read")
    rows = session.execute(sa.select(Declaration, Proposal).outerjoin(
        Proposal, sa.and_(Proposal.declaration_id == Declaration.id, CURRENT_PROPOSAL))
                           .where(Declaration.call_id == call_id).order_by(Declaration.id)).all()
    return [(d, p) for d, p in rows]


def groups_represented(session: Session, actor: Actor) -> list[ProjectGroup]:
    """The project groups the actor may declare and submit for: those whose representative is the actor's
    organisation or municipality (every group for the operator)."""
    grant = authz.authorize(actor, "competition.submit")
    groups = list(session.scalars(sa.select(ProjectGroup).order_by(ProjectGroup.id)))
    return [g for g in groups if grant.all_tenants or representative_codes(g.representative) & grant.tenant_codes]


def published_calls(session: Session) -> list[Call]:
    return list(session.scalars(sa.select(Call).where(Call.published_at.is_not(None)).order_by(Call.fiscal_year.desc())))
