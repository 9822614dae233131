"""Selection and notices (選定・通知, issue 41 item 5): the operator records who goes on from a closed stage
of the review, and renkei tells each group's representative as a numbered letter and a message.

Rules:

* The first-stage selection (一次審査の結果) names the groups that go to the second stage, chosen from the
  first stage's closed results (a proposal that failed a gate cannot be chosen); the final selection
  (選定結果) names at most the call's number to commission, chosen from the second stage's closed results
  and only among the groups the first-stage selection sent on. Each is recorded once.
* Every ranked group gets a letter (選定 or 非選定), numbered in the office's one sequence of letters
  (:func:`billing.documents.next_sequences`; the table is marked ``letter_numbers``), one A4 page rendered
  by the letters' own machinery, and a message to the representative's contact (the outbox).
* Once the final selection is recorded, the public page shows the selected groups (:func:`selected`).
* Audited: ``competition.select`` (the stage, the chosen groups, the letters' numbers).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import html
from typing import Optional, Sequence

import sqlalchemy as sa
from sqlalchemy.orm import Session

from billing.documents import LETTER_STYLE, contact_text, letter_head, next_sequences, pdf_of, rows_html
from competition import stages
from competition.receipts import addressee
from competition.models import Call, CallStatus, Declaration, Milestone, Selection, Stage
from competition.operations import get_call
from competition.review import Result, results
from core import audit, authz, outbox
from core.actor import Actor
from core.calendar import date_ja, fiscal_year_of, jst_day, jst_text_ja, today_jst
from core.errors import Conflict, Invalid, NotFound, problem
from tenancy.registry.prefecture import require_settings

NOTICE_KIND = "competition.notice"  # the outbox kind of a selection notice


def _recorded(session: Session, call_id: int, stage: Stage) -> list[Selection]:
    return list(session.scalars(sa.select(Selection).where(Selection.call_id == call_id, Selection.stage == stage)
                                .order_by(Selection.rank)))


def _choice_problems(call: Call, stage: Stage, ranked: list[Result], chosen: set[int],
                     sent_on: set[int] | None) -> list[dict[str, str]]:
    by_id = {r.declaration_id: r for r in ranked}
    found = []
    if not chosen:
        found.append(problem("groups", "Choose at least one group.", "選定するグループを1つ以上選んでください。"))
    for d in sorted(chosen):
        result = by_id.get(d)
        if result is None or (sent_on is not None and d not in sent_on):
            found.append(problem("groups", "A chosen group is not among this stage's results.",
                                 "選んだグループがこの審査の結果にありません。"))
        elif not result.gate_passed:
            found.append(problem("groups", f"{result.group_name} failed a pass/fail criterion and cannot be chosen.",
                                 f"「{result.group_name}」は課題要件への適合性で否と判定されたため、選定できません。"))
    if stage is Stage.second and len(chosen) > call.commission_count:
        found.append(problem("groups", f"At most {call.commission_count} projects are commissioned.",
                             f"選定できるのは委託予定件数の{call.commission_count}件までです。"))
    return found


def addressee_name(session: Session, number: str) -> str:
    """A member's name by its corporate number (an organisation's, or a municipality's)."""
    return addressee(session, number)[0]


def select(session: Session, actor: Actor, call_id: int, stage: Stage, group_ids: Sequence[int], *,
           issued_on: dt.date | None = None) -> list[Selection]:
    """Record a stage's selection from its closed results and issue every ranked group's notice."""
    authz.authorize(actor, "competition.manage")
    call = get_call(session, call_id)
    stage = Stage(stage)
    if _recorded(session, call_id, stage):
        raise Conflict("This stage's selection is already recorded and notified.", "この審査の選定はすでに記録し、通知済みです。")
    sent_on = None
    if stage is Stage.second:
        first = _recorded(session, call_id, Stage.first)
        if not first:
            raise Conflict("Record the first-stage selection first.", "先に一次審査の選定を記録してください。")
        sent_on = {s.declaration_id for s in first if s.selected}
        stages.require(call, CallStatus.hearing, what_en="the final selection", what_ja="選定")
    ranked = [r for r in results(session, actor, call_id, stage) if sent_on is None or r.declaration_id in sent_on]
    if stage is Stage.first:  # its results are unsealed (the stage closed), and the call is in its first review
        stages.require(call, CallStatus.first_review, what_en="the first-stage selection", what_ja="一次審査の選定")
    declarations = {d.group_id: d.id for d in session.scalars(sa.select(Declaration).where(Declaration.call_id == call_id))}
    chosen = {declarations.get(g, -1) for g in group_ids}
    found = _choice_problems(call, stage, ranked, chosen, sent_on)
    if found:
        raise Invalid("The selection cannot be recorded.", "選定を記録できません。", problems=found)
    moved = stages.advance(session, call, "send_on" if stage is Stage.first else "select")
    return _issue(session, actor, call, stage, ranked, chosen, issued_on or today_jst(), moved)


def _issue(session: Session, actor: Actor, call: Call, stage: Stage, ranked: list[Result], chosen: set[int],
           issued_on: dt.date, moved: dict) -> list[Selection]:
    settings = require_settings(session)
    year = fiscal_year_of(issued_on)
    rows = []
    for result in ranked:
        sequence = next(next_sequences(session, year))
        row = Selection(call_id=call.id, stage=stage, declaration_id=result.declaration_id,
                        selected=result.declaration_id in chosen, rank=result.rank, number_year=year, sequence=sequence,
                        number=f"{settings.document_symbol}第{sequence}号", issued_on=issued_on,
                        recorded_by=actor.subject)
        session.add(row)
        session.flush()
        letter = notice_letter(session, row)
        name, address, tenant_code = addressee(session, letter.declaration.representative)
        outbox.queue(session, kind=NOTICE_KIND, subject=f"【{row.number}】{letter.title}", body=letter.message,
                     tenant_code=tenant_code, recipients=address, dedupe_key=f"competition-notice:{row.id}")
        rows.append(row)
    audit.record(session, actor, "competition.select", "competition_call", str(call.id),
                 after={"stage": stage.value,
                        "selected": [r.group_name for r in ranked if r.declaration_id in chosen],
                        "letters": [r.number for r in rows], "call_status": moved})
    return rows


def selections(session: Session, actor: Actor, call_id: int, stage: Stage) -> list[Selection]:
    authz.authorize(actor, "competition.read")
    get_call(session, call_id)
    return _recorded(session, call_id, Stage(stage))


def selected(session: Session, call_id: int) -> list[str]:
    """The groups finally selected (the public results page), in rank order; empty until the final selection."""
    return list(session.scalars(sa.select(Declaration.group_name).join(Selection, Selection.declaration_id == Declaration.id)
                                .where(Selection.call_id == call_id, Selection.stage == Stage.second,
                                       Selection.selected.is_(True)).order_by(Selection.rank)))


# --- the letters ----------------------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class NoticeLetter:
    selection: Selection
    call: Call
    declaration: Declaration
    addressee: str
    issuer: str
    contact: str
    next_step: Optional[Milestone]

    @property
    def title(self) -> str:
        return "一次審査結果通知書" if self.selection.stage is Stage.first else "選定結果通知書"

    @property
    def opening(self) -> str:
        what = f"「{self.call.title}」"
        if self.selection.stage is Stage.first:
            verdict = ("二次審査（ヒアリング）の対象として選定しました" if self.selection.selected
                       else "二次審査（ヒアリング）の対象として選定されませんでした")
            return f"{what}の一次審査（書面）の結果、貴グループの提案は{verdict}ので通知します。"
        verdict = "委託候補者として選定しました" if self.selection.selected else "選定されませんでした"
        return f"{what}の審査の結果、貴グループの提案は{verdict}ので通知します。"

    @property
    def rows(self) -> list[tuple[str, str]]:
        found = [("提案グループ", self.declaration.group_name), ("審査", Stage(self.selection.stage).ja),
                 ("結果", "選定" if self.selection.selected else "非選定")]
        if self.selection.stage is Stage.first and self.selection.selected and self.next_step is not None:
            at = self.next_step.at
            found.append((self.next_step.label_ja, jst_text_ja(at) if self.next_step.timed else date_ja(jst_day(at))))
        return found

    @property
    def message(self) -> str:
        return "\n".join([f"文書番号: {self.selection.number}", self.opening, ""]
                         + [f"{k}: {v}" for k, v in self.rows] + ["", f"問い合わせ先: {self.contact}"])


def notice_letter(session: Session, row: Selection) -> NoticeLetter:
    settings = require_settings(session)
    declaration = session.get(Declaration, row.declaration_id)
    call = session.get(Call, row.call_id)
    step = session.scalars(sa.select(Milestone).where(Milestone.call_id == row.call_id,
                                                      Milestone.key == "second_review")).first()
    name, _address, _tenant = addressee(session, declaration.representative)
    return NoticeLetter(row, call, declaration, name, settings.issuer_title, contact_text(settings), step)


def letter_of(session: Session, actor: Actor, call_id: int, selection_id: int) -> NoticeLetter:
    authz.authorize(actor, "competition.manage")
    row = session.get(Selection, selection_id)
    if row is None or row.call_id != call_id:
        raise NotFound("No such notice.", "その通知書はありません。")
    return notice_letter(session, row)


def letter_html(letter: NoticeLetter) -> str:
    e = html.escape
    selection = letter.selection
    to = f"{letter.declaration.group_name} 代表者 {letter.addressee} 様"
    return (f'<section class="letter">{letter_head(selection.number, selection.issued_on, to, letter.issuer)}'
            f"<h1>{e(letter.title)}</h1><p>{e(letter.opening)}</p><table>{rows_html(letter.rows)}</table>"
            f"<h2>問い合わせ先</h2><p>{e(letter.contact)}</p></section>")


def letter_pdf(letter: NoticeLetter) -> bytes:
    """The notice as one A4 page of PDF."""
    return pdf_of(letter.title, letter_html(letter), LETTER_STYLE)


@dataclasses.dataclass(frozen=True)
class StageBoard:
    """A stage on the secretariat's page: its results once closed, and its selection once recorded."""

    stage: Stage
    label: str
    closed: bool
    results: list[Result]
    recorded: list[Selection]
    groups: dict[int, int]  # declaration id → group id (the form names groups)


def boards(session: Session, actor: Actor, call_id: int) -> list[StageBoard]:
    from competition.review import stage_closed  # the review's own check of a closed stage

    authz.authorize(actor, "competition.read")
    groups = dict(session.execute(sa.select(Declaration.id, Declaration.group_id).where(Declaration.call_id == call_id)).all())
    found = []
    for stage in Stage:
        closed = stage_closed(session, call_id, stage)
        found.append(StageBoard(stage, Stage(stage).ja, closed,
                                results(session, actor, call_id, stage) if closed else [], _recorded(session, call_id, stage), groups))
    return found
