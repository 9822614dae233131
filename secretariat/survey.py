"""The consortium's yearly survey of organisations (年次アンケート, issue 58 item 5).

Rules:

* A **question** (:class:`SurveyQuestion`) belongs to a fiscal year's questionnaire: a kind (single choice,
  multiple choice, free text), its text and, for the choices, one choice a line. A question carried from a
  previous year (:func:`carry_questions`) keeps its ``key``: answers to the same key compare year by year. A
  question whose key was not asked the year before is new (新規, :func:`is_new`).
* A **recipient** (:class:`SurveyRecipient`) is an address the year's survey goes to: a member (every approved
  member's contact address, :func:`members_as_recipients`) or a non-member the desk imported; at most :data:`MAX_RECIPIENTS` a year, one per address.
* Each recipient has a **one-time token**; only its SHA-256 is stored. :func:`answer` takes the token once: a
  bad or used token is refused with :class:`NotFound` / :class:`Conflict`, an over-long or hostile value with
  :class:`Invalid` naming the field.
* The **response rate** (:func:`response_rate`) is answered over recipients against :data:`TARGET_RATE`; a year
  with no recipients has no rate (None), never 0 %.

Every change by the desk is audited: ``survey.question.create``, ``survey.recipients.add``, ``survey.send``.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import secrets
from fractions import Fraction
from typing import Optional

import sqlalchemy as sa
from sqlalchemy.orm import Session
from sqlmodel import Field, SQLModel

from core import audit, authz, csvfile, outbox, report_document
from core.actor import Actor
from core.calendar import fiscal_year_ja, today_jst
from core.db import enum_column, timestamp_column, utcnow
from core.errors import Conflict, Invalid, NotFound, problem
from core.labelled import LabelledEnum
from core.report_document import Section
from core.validation import email_problem, text_field_problem
from tenancy.members.models import MemberStatus, Organisation

READ, MANAGE = "survey.read", "survey.manage"
MAX_RECIPIENTS = 1500
TARGET_RATE = Fraction(30, 100)
TEXT_MAX, CHOICE_MAX, ANSWER_MAX, KEY_MAX = 1000, 200, 2000, 40


class QuestionKind(LabelledEnum):
    single = "single", "単一選択", "Single choice"
    multiple = "multiple", "複数選択", "Multiple choice"
    free_text = "free_text", "自由記述", "Free text"


class SurveyQuestion(SQLModel, table=True):
    __tablename__ = "survey_question"
    __table_args__ = (sa.UniqueConstraint("fiscal_year", "key"),)

    id: Optional[int] = Field(default=None, primary_key=True)
    fiscal_year: int = Field(index=True)
    key: str = Field(max_length=KEY_MAX)
    position: int
    kind: QuestionKind = Field(sa_column=enum_column(QuestionKind))
    text: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    choices: str = Field(default="", sa_column=sa.Column(sa.Text, nullable=False, server_default=""))

    @property
    def choice_list(self) -> list[str]:
        return [line for line in self.choices.split("\n") if line]


class SurveyRecipient(SQLModel, table=True):
    __tablename__ = "survey_recipient"
    __table_args__ = (sa.UniqueConstraint("fiscal_year", "email"),)

    id: Optional[int] = Field(default=None, primary_key=True)
    fiscal_year: int = Field(index=True)
    email: str = Field(max_length=254)
    name: str = Field(default="", max_length=200)
    member: bool = False
    token_hash: str = Field(max_length=64, unique=True)
    sent_at: Optional[dt.datetime] = Field(default=None, sa_column=timestamp_column(nullable=True))
    answered_at: Optional[dt.datetime] = Field(default=None, sa_column=timestamp_column(nullable=True))


class SurveyAnswer(SQLModel, table=True):
    __tablename__ = "survey_answer"
    id: Optional[int] = Field(default=None, primary_key=True)
    recipient_id: int = Field(foreign_key="survey_recipient.id", index=True)
    question_id: int = Field(foreign_key="survey_question.id", index=True)
    value: str = Field(sa_column=sa.Column(sa.Text, nullable=False))


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def questions_of(session: Session, year: int) -> list[SurveyQuestion]:
    return list(session.scalars(sa.select(SurveyQuestion).where(SurveyQuestion.fiscal_year == year)
                                .order_by(SurveyQuestion.position, SurveyQuestion.id)))


def is_new(session: Session, question: SurveyQuestion) -> bool:
    """新規: the question's key was not asked the year before."""
    return session.scalar(sa.select(SurveyQuestion.id).where(
        SurveyQuestion.fiscal_year == question.fiscal_year - 1, SurveyQuestion.key == question.key)) is None


def add_question(session: Session, actor: Actor, year: int, key: str, kind: str, text: str,
                 choices: tuple[str, ...] = ()) -> SurveyQuestion:
    authz.authorize(actor, MANAGE)
    problems = [p for p in (
        text_field_problem("key", key, "Key", "設問コード", KEY_MAX, required=True),
        text_field_problem("text", text, "Question", "設問", TEXT_MAX, required=True, single_line=False),
        *(text_field_problem("choices", c, "Choice", "選択肢", CHOICE_MAX, required=True) for c in choices)) if p]
    if kind not in {k.value for k in QuestionKind}:
        problems.append(problem("kind", "Choose a kind.", "設問の種類を選んでください。"))
    elif kind != QuestionKind.free_text.value and len(choices) < 2:
        problems.append(problem("choices", "Give at least two choices.", "選択肢を2つ以上入力してください。"))
    if session.scalar(sa.select(SurveyQuestion.id).where(SurveyQuestion.fiscal_year == year,
                                                         SurveyQuestion.key == key)) is not None:
        problems.append(problem("key", "This key is already asked this year.", "この設問コードは今年度すでにあります。"))
    if problems:
        raise Invalid("The question was not added.", "設問を追加できませんでした。", problems=problems)
    position = (session.scalar(sa.select(sa.func.max(SurveyQuestion.position))
                               .where(SurveyQuestion.fiscal_year == year)) or 0) + 1
    question = SurveyQuestion(fiscal_year=year, key=key, position=position, kind=QuestionKind(kind), text=text,
                              choices="\n".join(choices))
    session.add(question)
    session.flush()
    audit.record(session, actor, "survey.question.create", "survey_question", str(question.id),
                 after={"fiscal_year": year, "key": key, "kind": kind, "text": text, "choices": list(choices)})
    return question


def carry_questions(session: Session, actor: Actor, from_year: int, to_year: int) -> list[SurveyQuestion]:
    """The previous year's questions asked again, same keys (those already asked in ``to_year`` left as they are)."""
    return [add_question(session, actor, to_year, q.key, q.kind.value, q.text, tuple(q.choice_list))
            for q in questions_of(session, from_year)
            if session.scalar(sa.select(SurveyQuestion.id).where(SurveyQuestion.fiscal_year == to_year,
                                                                 SurveyQuestion.key == q.key)) is None]


@dataclasses.dataclass(frozen=True)
class Addressee:
    email: str
    name: str = ""
    member: bool = False


RECIPIENT_COLUMNS = csvfile.Columns(
    {"email": "email", "メールアドレス": "email", "メール": "email", "name": "name", "名称": "name", "団体名": "name"},
    required=("email",), labels_ja={"email": "メールアドレス", "name": "名称"}, max_rows=MAX_RECIPIENTS)


def import_recipients(session: Session, actor: Actor, year: int, source: bytes) -> list[SurveyRecipient]:
    """Non-member addresses from a CSV (UTF-8 or CP932) or an .xlsx, all or nothing, problems named by file line."""
    authz.authorize(actor, MANAGE)
    rows = list(csvfile.source_rows(source, RECIPIENT_COLUMNS))
    shape = [p for row in rows for p in row.problems]
    if shape:
        raise Invalid("No recipient was added.", "送付先を追加しませんでした。", problems=shape)
    return _add(session, actor, year, [(row.line, Addressee(row.values.get("email", ""), row.values.get("name", "")))
                                       for row in rows])


def add_recipients(session: Session, actor: Actor, year: int, addressees: list[Addressee]) -> list[SurveyRecipient]:
    """All or nothing: a bad or repeated address refuses the whole list, naming its line (1-based)."""
    authz.authorize(actor, MANAGE)
    return _add(session, actor, year, list(enumerate(addressees, start=1)))


def _add(session: Session, actor: Actor, year: int, lines: list[tuple[int, Addressee]]) -> list[SurveyRecipient]:
    addressees = [who for _line, who in lines]
    known = set(session.scalars(sa.select(SurveyRecipient.email).where(SurveyRecipient.fiscal_year == year)))
    problems, seen = [], set()
    for line, who in lines:
        email = who.email.strip().lower()
        found = email_problem(f"line {line}", email) or text_field_problem(f"line {line}", who.name, "Name", "名称", 200)
        if found is None and (email in seen or email in known):
            found = problem(f"line {line}", "This address is already a recipient.", f"{line}行目: 送付先が重複しています。")
        if found:
            problems.append(found)
        seen.add(email)
    if len(known) + len(seen) > MAX_RECIPIENTS:
        problems.append(problem("file", f"At most {MAX_RECIPIENTS} recipients a year.",
                                f"送付先は1年度あたり{MAX_RECIPIENTS}件までです。"))
    if problems:
        raise Invalid("No recipient was added.", "送付先を追加しませんでした。", problems=problems)
    added = [SurveyRecipient(fiscal_year=year, email=who.email.strip().lower(), name=who.name, member=who.member,
                             token_hash=_hash(secrets.token_urlsafe(24))) for who in addressees]
    session.add_all(added)
    session.flush()
    audit.record(session, actor, "survey.recipients.add", "survey", str(year), after={"count": len(added)})
    return added


def send_links(session: Session, actor: Actor, year: int, answer_url) -> int:
    """A fresh one-time token per recipient not yet answered, its link mailed through the outbox."""
    authz.authorize(actor, MANAGE)
    sent = 0
    for recipient in session.scalars(sa.select(SurveyRecipient).where(SurveyRecipient.fiscal_year == year,
                                                                       SurveyRecipient.answered_at.is_(None))):
        token = secrets.token_urlsafe(24)
        recipient.token_hash, recipient.sent_at = _hash(token), utcnow()
        outbox.queue(session, kind="survey.link", recipients=recipient.email,
                     subject=f"【ご協力のお願い】{fiscal_year_ja(year)} コンソーシアム年次アンケート",
                     body=f"{recipient.name} 様\n\n年次アンケートへのご回答をお願いします。\n{answer_url(token)}\n"
                          "このリンクは一度だけ使えます。")
        sent += 1
    session.flush()
    audit.record(session, actor, "survey.send", "survey", str(year), after={"sent": sent})
    return sent


def members_as_recipients(session: Session, actor: Actor, year: int) -> list[SurveyRecipient]:
    """Every approved member with a contact address, as the year's recipients (those already on the list, by
    address, left as they are): all or nothing, as :func:`add_recipients`."""
    authz.authorize(actor, MANAGE)
    known = set(session.scalars(sa.select(SurveyRecipient.email).where(SurveyRecipient.fiscal_year == year)))
    rows = session.execute(sa.select(Organisation.contact_email, Organisation.name)
                           .where(Organisation.status == MemberStatus.approved, Organisation.contact_email != "")
                           .order_by(Organisation.corporate_number)).all()
    chosen: dict[str, Addressee] = {}
    for email, name in rows:
        address = (email or "").strip().lower()
        if address and address not in known and address not in chosen:
            chosen[address] = Addressee(address, name[:200], member=True)
    return _add(session, actor, year, list(enumerate(chosen.values(), start=1))) if chosen else []


@dataclasses.dataclass(frozen=True)
class Overview:
    """A year's survey as the desk's page shows it."""

    year: int
    questions: list[tuple[SurveyQuestion, bool]]  # each question and whether it is new (新規)
    members: int
    others: int
    sent: int
    answered: int
    rate: Rate | None
    previous_questions: int  # the year before's questions, to carry over


def overview(session: Session, actor: Actor, year: int) -> Overview:
    authz.authorize(actor, READ)
    members, others, sent = session.execute(sa.select(
        sa.func.count(SurveyRecipient.id).filter(SurveyRecipient.member.is_(True)),
        sa.func.count(SurveyRecipient.id).filter(SurveyRecipient.member.is_(False)),
        sa.func.count(SurveyRecipient.sent_at)).where(SurveyRecipient.fiscal_year == year)).one()
    rate = response_rate(session, year)
    return Overview(year, [(q, is_new(session, q)) for q in questions_of(session, year)], members, others, sent,
                    rate.answered if rate else 0, rate, len(questions_of(session, year - 1)))


def recipient_of_token(session: Session, token: str, *, lock: bool = False) -> SurveyRecipient:
    """The recipient a one-time link names (locked for the answer when ``lock``): a bad link is not found, a used
    one a conflict."""
    query = sa.select(SurveyRecipient).where(SurveyRecipient.token_hash == _hash(token or ""))
    recipient = session.scalar(query.with_for_update() if lock else query)
    if recipient is None:
        raise NotFound("This link is not valid.", "このリンクは無効です。")
    if recipient.answered_at is not None:
        raise Conflict("This link was already used.", "このリンクはすでに使われています。")
    return recipient


def answer(session: Session, token: str, values: dict[str, list[str]]) -> SurveyRecipient:
    """The recipient's answers, once: ``values`` maps each question's key to the chosen choices or the text."""
    recipient = recipient_of_token(session, token, lock=True)
    problems, rows = [], []
    for question in questions_of(session, recipient.fiscal_year):
        given = [v for v in values.get(question.key, []) if v]
        field = f"q_{question.key}"
        if question.kind is QuestionKind.free_text:
            text = given[0] if given else ""
            found = text_field_problem(field, text, "Answer", "回答", ANSWER_MAX, single_line=False)
            if found:
                problems.append(found)
            elif text:
                rows.append((question, text))
            continue
        if any(v not in question.choice_list for v in given) or (
                question.kind is QuestionKind.single and len(given) > 1):
            problems.append(problem(field, "Choose from the list.", "選択肢から選んでください。"))
            continue
        rows.extend((question, v) for v in dict.fromkeys(given))
    if problems:
        raise Invalid("The answers were not sent.", "回答を送信できませんでした。", problems=problems)
    session.add_all(SurveyAnswer(recipient_id=recipient.id, question_id=q.id, value=v) for q, v in rows)
    recipient.answered_at = utcnow()
    session.flush()
    return recipient


@dataclasses.dataclass(frozen=True)
class Rate:
    answered: int
    recipients: int
    target: Fraction = TARGET_RATE

    @property
    def rate(self) -> Fraction:
        return Fraction(self.answered, self.recipients)

    @property
    def met(self) -> bool:
        return self.rate >= self.target


def response_rate(session: Session, year: int) -> Rate | None:
    """None when the year has no recipients: nothing measured is never 0 %."""
    recipients, answered = session.execute(sa.select(
        sa.func.count(SurveyRecipient.id), sa.func.count(SurveyRecipient.answered_at))
        .where(SurveyRecipient.fiscal_year == year)).one()
    return Rate(answered, recipients) if recipients else None


def _counts(session: Session, year: int, key: str) -> dict[str, int]:
    rows = session.execute(sa.select(SurveyAnswer.value, sa.func.count(SurveyAnswer.id))
                           .join(SurveyQuestion, SurveyQuestion.id == SurveyAnswer.question_id)
                           .where(SurveyQuestion.fiscal_year == year, SurveyQuestion.key == key)
                           .group_by(SurveyAnswer.value))
    return dict(rows.all())


@dataclasses.dataclass(frozen=True)
class QuestionResult:
    question: SurveyQuestion
    new: bool
    years: tuple[int, ...]  # this year first, then the previous years that asked the same key
    counts: dict[int, dict[str, int]]  # year → choice (or text) → answers


def results(session: Session, actor: Actor, year: int, previous: int = 2) -> list[QuestionResult]:
    authz.authorize(actor, READ)
    out = []
    for question in questions_of(session, year):
        years = tuple(y for y in range(year, year - previous - 1, -1)
                      if y == year or session.scalar(sa.select(SurveyQuestion.id).where(
                          SurveyQuestion.fiscal_year == y, SurveyQuestion.key == question.key)) is not None)
        out.append(QuestionResult(question, is_new(session, question), years,
                                  {y: _counts(session, y, question.key) for y in years}))
    return out


def _percent(rate: Rate | None) -> str:
    return "—（送付先なし）" if rate is None else f"{float(rate.rate) * 100:.1f}%（{rate.answered:,} / {rate.recipients:,}）"


def sections(session: Session, actor: Actor, year: int, previous: int = 2) -> list[Section]:
    """The report's sections: the rates of this year and the previous ones, then one per question, the years side
    by side (a question not asked in a year shows nothing for it)."""
    years = tuple(range(year, year - previous - 1, -1))
    rates = tuple((fiscal_year_ja(y), _percent(response_rate(session, y)), f"{float(TARGET_RATE) * 100:.0f}%") for y in years)
    out = [Section("回答率", ("年度", "回答率", "目標"), rates)]
    for number, result in enumerate(results(session, actor, year, previous), start=1):
        question = result.question
        values = question.choice_list or sorted({v for counts in result.counts.values() for v in counts})
        rows = tuple((value, *(result.counts[y].get(value, 0) if y in result.counts else None for y in years))
                     for value in values)
        title = f"問{number}{'（新規）' if result.new else ''}"
        out.append(Section(title, ("回答", *(fiscal_year_ja(y) for y in years)), rows,
                           note=f"{question.text}（{question.kind.ja}）"))
    return out


def to_xlsx(session: Session, actor: Actor, year: int) -> bytes:
    return report_document.to_xlsx(f"{fiscal_year_ja(year)} 年次アンケート結果", sections(session, actor, year))


def to_pdf(session: Session, actor: Actor, year: int, issuer: str) -> bytes:
    title = f"{fiscal_year_ja(year)} 年次アンケート結果"
    return report_document.to_pdf(report_document.to_html(title, issuer, today_jst(), sections(session, actor, year)),
                                  "survey report", "年次アンケート結果")
