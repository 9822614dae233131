"""`renkei competition ...`: the project competition (competition/operations.py).

* ``list``; ``create FISCAL_YEAR [--title --cap-yen --commission-count]`` (from seed 000's template);
  ``show CALL_ID`` (the schedule and the scoring table); ``publish CALL_ID``;
* ``questions CALL_ID``; ``answer QUESTION_ID TEXT``; ``publish-answers CALL_ID``;
* ``declarations CALL_ID``; ``declare CALL_ID GROUP_ID --document KIND=PATH...`` and
  ``propose CALL_ID GROUP_ID --pdf PATH --line ITEM=YEN... --total YEN`` (for a group, as the operator
  receiving its documents by mail);
* ``select CALL_ID first|second --group ID...`` (a closed stage's selection and its notices);
  ``notice CALL_ID SELECTION_ID OUTPUT.pdf`` (a notice letter);
* ``contracts CALL_ID``; ``contract CALL_ID GROUP_ID --representative N --amount YEN --period FROM TO
  --signed DATE --line CATEGORY:ITEM=YEN... [--item KIND:TITLE=DUE...]`` (the selected group's contract);
  ``deliver CONTRACT_ID ITEM_ID DATE [--dataset ID]``; ``data-rule CONTRACT_ID`` (the rule decided from the
  register); ``cost CONTRACT_ID GRANT_ID [--category run]`` (finance: the cost under the year's grant).
Every act is audited by the operation.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import click
from flask.cli import with_appcontext

from admin.commands.acting import acting
from admin.commands.output import committed
from admin.extensions import db
from competition import operations as comp
from competition import contracts, selection
from competition.models import MAX_UPLOAD_BYTES
from core import authz
from core.calendar import JST, day_text, jst_text, read_date
from core.validation import whole_number

ROW_ID = click.IntRange(1, 2**31 - 1)


@click.group("competition")
def group() -> None:
    """The data-utilisation project competition (企画コンペ): calls, questions, declarations, proposals."""


@group.command("list")
@with_appcontext
@acting(authz.OPERATOR)
def list_command(actor) -> None:
    """The calls, the latest fiscal year first."""
    for row in committed(lambda: comp.list_calls(db.session, actor)):
        state = "公開中/published" if row.published_at else "未公開/draft"
        click.echo(f"{row.id}\t{row.fiscal_year}\t{row.title}\t{row.cap_yen:,}\t{row.commission_count}\t{state}")


@group.command("create")
@click.argument("fiscal_year", type=click.IntRange(1989, 2100))
@click.option("--title", default="")
@click.option("--cap-yen", type=click.IntRange(1, 10**12), default=None, help="Per project, tax included (5000000).")
@click.option("--commission-count", type=click.IntRange(1, 50), default=None, help="How many to commission (3).")
@with_appcontext
@acting(authz.OPERATOR)
def create_command(fiscal_year, title, cap_yen, commission_count, actor) -> None:
    """Create a fiscal year's call from the default template."""
    row = committed(lambda: comp.create_call(db.session, actor, fiscal_year, title=title, cap_yen=cap_yen,
                                             commission_count=commission_count))
    click.echo(f"公募 {row.id} を作成しました / call {row.id} created: {row.title}")


@group.command("show")
@click.argument("call_id", type=ROW_ID)
@with_appcontext
@acting(authz.OPERATOR)
def show_command(call_id, actor) -> None:
    """The call's schedule and scoring table."""
    def read():
        authz.authorize(actor, "competition.read")
        call = comp.get_call(db.session, call_id)
        return call, comp.milestones(db.session, call.id), comp.criteria(db.session, call.id)

    call, milestones, criteria = committed(read)
    click.echo(f"{call.title}\t委託限度額/cap {call.cap_yen:,}\t委託予定件数/to commission {call.commission_count}")
    for m in milestones:
        at = m.at.astimezone(JST)
        click.echo(f"{m.position}\t{m.label_ja}\t{jst_text(at) if m.timed else day_text(at)}")
    for c in criteria:
        click.echo(f"評価/criterion\t{c.title}\t{'可・否' if c.kind.value == 'gate' else c.max_score}")
    click.echo(f"計/total\t{comp.total_points(db.session, call.id)}")


@group.command("publish")
@click.argument("call_id", type=ROW_ID)
@with_appcontext
@acting(authz.OPERATOR)
def publish_command(call_id, actor) -> None:
    """Publish the call on the public page."""
    committed(lambda: comp.publish_call(db.session, actor, call_id))
    click.echo("公開しました / published")


@group.command("questions")
@click.argument("call_id", type=ROW_ID)
@with_appcontext
@acting(authz.OPERATOR)
def questions_command(call_id, actor) -> None:
    """The call's questions (who asked for whom, answered, published)."""
    for q in committed(lambda: comp.list_questions(db.session, actor, call_id)):
        state = "公開/published" if q.published_at else ("回答済/answered" if q.answered_at else "未回答/open")
        click.echo(f"{q.id}\t{q.asked_for}\t{state}\t{q.question}")


@group.command("answer")
@click.argument("question_id", type=ROW_ID)
@click.argument("text")
@with_appcontext
@acting(authz.OPERATOR)
def answer_command(question_id, text, actor) -> None:
    """Answer a question (published with the others by publish-answers)."""
    committed(lambda: comp.answer(db.session, actor, question_id, text))
    click.echo("回答を保存しました / answer saved")


@group.command("publish-answers")
@click.argument("call_id", type=ROW_ID)
@with_appcontext
@acting(authz.OPERATOR)
def publish_answers_command(call_id, actor) -> None:
    """Publish every answered question at once, without who asked."""
    count = committed(lambda: comp.publish_answers(db.session, actor, call_id))
    click.echo(f"{count} 件の回答を公開しました / {count} answers published")


@group.command("declarations")
@click.argument("call_id", type=ROW_ID)
@with_appcontext
@acting(authz.OPERATOR)
def declarations_command(call_id, actor) -> None:
    """The groups that declared, with their proposals' pages and totals."""
    for d, p in committed(lambda: comp.list_declarations(db.session, actor, call_id)):
        click.echo(f"{d.group_id}\t{d.group_name}\t{d.representative}\t"
                   + (f"{p.pages} ページ/pages\t{p.estimate_total_yen:,}" if p else "提案未提出/no proposal yet"))


def _read(path: str) -> tuple[str, bytes]:
    file = Path(path)
    try:
        with file.open("rb") as handle:
            return file.name, handle.read(MAX_UPLOAD_BYTES + 1)
    except OSError as error:
        raise click.BadParameter(f"{path}: {error.strerror}") from None


def _pair(text: str, what: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key.strip() or not value.strip():
        raise click.BadParameter(f"write {what}")
    return key.strip(), value.strip()


@group.command("declare")
@click.argument("call_id", type=ROW_ID)
@click.argument("group_id", type=ROW_ID)
@click.option("--document", "documents", multiple=True, required=True,
              help="KIND=PATH: participation_form, company_profile, pledge (initiatives if any).")
@with_appcontext
@acting(authz.OPERATOR)
def declare_command(call_id, group_id, documents, actor) -> None:
    """Declare a group's participation with its documents (before the deadline)."""
    uploads = [comp.Upload(kind, *_read(path)) for kind, path in (_pair(d, "KIND=PATH") for d in documents)]
    row = committed(lambda: comp.declare(db.session, actor, call_id, group_id, uploads))
    click.echo(f"参加表明 {row.id} を受け付けました / declaration {row.id} received")


@group.command("propose")
@click.argument("call_id", type=ROW_ID)
@click.argument("group_id", type=ROW_ID)
@click.option("--pdf", "pdf", required=True, help="The proposal (PDF, within the page limit).")
@click.option("--line", "lines", multiple=True, required=True, help="ITEM=YEN, one per estimate line.")
@click.option("--total", type=click.IntRange(0, 10**12), required=True, help="The estimate's total, tax included.")
@with_appcontext
@acting(authz.OPERATOR)
def propose_command(call_id, group_id, pdf, lines, total, actor) -> None:
    """Submit a declared group's proposal and estimate (before the deadline)."""
    estimate = []
    for text in lines:
        item, amount = _pair(text, "ITEM=YEN")
        estimate.append(comp.Line(item, _yen(amount)))
    upload = comp.Upload("proposal", *_read(pdf))
    row = committed(lambda: comp.submit_proposal(db.session, actor, call_id, group_id, upload, estimate, total))
    click.echo(f"企画提案書を受け付けました（{row.pages} ページ、{row.estimate_total_yen:,} 円） / proposal received")


@group.command("select")
@click.argument("call_id", type=ROW_ID)
@click.argument("stage", type=click.Choice(["first", "second"]))
@click.option("--group", "group_ids", type=ROW_ID, multiple=True, required=True, help="A chosen group's id (repeat).")
@with_appcontext
@acting(authz.OPERATOR)
def select_command(call_id, stage, group_ids, actor) -> None:
    """Record a closed stage's selection and send every ranked group its numbered notice."""
    rows = committed(lambda: selection.select(db.session, actor, call_id, stage, list(group_ids)))
    for row in rows:
        click.echo(f"{row.rank}\t{'選定' if row.selected else '非選定'}\t{row.number}\t{row.id}")


@group.command("notice")
@click.argument("call_id", type=ROW_ID)
@click.argument("selection_id", type=ROW_ID)
@click.argument("output", type=click.Path(dir_okay=False, writable=True))
@with_appcontext
@acting(authz.OPERATOR)
def notice_command(call_id, selection_id, output, actor) -> None:
    """Write a group's notice letter (one A4 page of PDF) to OUTPUT."""
    letter = committed(lambda: selection.letter_of(db.session, actor, call_id, selection_id))
    Path(output).write_bytes(selection.letter_pdf(letter))
    click.echo(f"{letter.selection.number} {letter.title} → {output}")


# --- contract and delivery (competition/contracts.py) ----------------------------------------------------

def _date(text: str) -> dt.date:
    day = read_date(text)
    if day is None:
        raise click.BadParameter(f"{text}: write a date (2025-06-10)")
    return day


def _yen(text: str) -> int:
    value = whole_number(text.replace(",", ""), max_digits=13)
    if value is None:
        raise click.BadParameter(f"{text}: write whole yen")
    return value


def _budget_line(text: str) -> contracts.BudgetLine:
    head, amount = _pair(text, "CATEGORY:ITEM=YEN")
    category, sep, item = head.partition(":")
    if not sep:
        raise click.BadParameter(f"write CATEGORY:ITEM=YEN ({', '.join(contracts.COST_CATEGORIES)})")
    return contracts.BudgetLine(category.strip(), item.strip(), _yen(amount))


def _deliverable(text: str) -> contracts.Deliverable:
    head, due = _pair(text, "KIND:TITLE=DUE")
    kind, sep, title = head.partition(":")
    if not sep:
        raise click.BadParameter("write KIND:TITLE=DUE (milestone, report, dataset)")
    return contracts.Deliverable(kind.strip(), title.strip(), _date(due))


@group.command("contracts")
@click.argument("call_id", type=ROW_ID)
@with_appcontext
@acting(authz.OPERATOR)
def contracts_command(call_id, actor) -> None:
    """The call's contracts."""
    for c, d in committed(lambda: contracts.list_contracts(db.session, actor, call_id)):
        click.echo(f"{c.id}\t{d.group_name}\t{c.amount_yen:,}\t{c.starts_on}～{c.ends_on}\t"
                   + ("計上済/cost entered" if c.cost_item_id else "未計上/cost not entered"))


@group.command("contract")
@click.argument("call_id", type=ROW_ID)
@click.argument("group_id", type=ROW_ID)
@click.option("--representative", required=True, help="The representative member's corporate number.")
@click.option("--amount", required=True, help="Yen, tax included, within the cap.")
@click.option("--period", nargs=2, required=True, help="FROM TO (dates).")
@click.option("--signed", required=True, help="The contract date.")
@click.option("--line", "lines", multiple=True, required=True, help="CATEGORY:ITEM=YEN, one per budget line.")
@click.option("--item", "items", multiple=True, help="KIND:TITLE=DUE (milestone, report, dataset).")
@with_appcontext
@acting(authz.OPERATOR)
def contract_command(call_id, group_id, representative, amount, period, signed, lines, items, actor) -> None:
    """Record the selected group's contract with its budget lines and deliverables."""
    terms = contracts.Terms(representative, _yen(amount), _date(period[0]), _date(period[1]), _date(signed))
    budget, deliverables = [_budget_line(t) for t in lines], [_deliverable(t) for t in items]
    row = committed(lambda: contracts.create_contract(db.session, actor, call_id, group_id, terms, budget, deliverables))
    click.echo(f"委託契約 {row.id} を登録しました / contract {row.id} recorded ({row.amount_yen:,} 円)")


@group.command("deliver")
@click.argument("contract_id", type=ROW_ID)
@click.argument("item_id", type=ROW_ID)
@click.argument("day")
@click.option("--dataset", "dataset_id", type=ROW_ID, default=None, help="The dataset connected (a dataset deliverable).")
@with_appcontext
@acting(authz.OPERATOR)
def deliver_command(contract_id, item_id, day, dataset_id, actor) -> None:
    """Record a milestone or deliverable delivered."""
    when = _date(day)
    item = committed(lambda: contracts.deliver(db.session, actor, contract_id, item_id, when, dataset_id))
    click.echo(f"{item.title}: 完了/delivered {item.delivered_on}")


@group.command("data-rule")
@click.argument("contract_id", type=ROW_ID)
@with_appcontext
@acting(authz.OPERATOR)
def data_rule_command(contract_id, actor) -> None:
    """The data rule decided from the dataset register (exit status 1 when it is not met)."""
    rule = committed(lambda: contracts.check_data_rule(db.session, actor, contract_id))
    for fact in rule.used:
        click.echo(f"利用/used\t{fact.name}\t{fact.provider_code}\t{fact.kind_label}\t{fact.calls}")
    for fact in rule.connected:
        why = "・".join(f"{c.ja}/{c.en}" for c in fact.connected_by)
        click.echo(f"接続/connected\t{fact.name}\t{fact.provider_code}\t{fact.kind_label}\t{why}")
    click.echo(f"種類/kinds\t{len(rule.kinds)}")
    if rule.met:
        click.echo("データ活用の要件を満たしています / the data rule is met")
        return
    for ja, en in rule.reasons:
        click.echo(f"{ja} / {en}")
    raise click.exceptions.Exit(1)


@group.command("cost")
@click.argument("contract_id", type=ROW_ID)
@click.argument("grant_id", type=ROW_ID)
@click.option("--category", type=click.Choice(["build", "run", "overhead"]), default="run", show_default=True)
@with_appcontext
@acting(authz.FINANCE)
def cost_command(contract_id, grant_id, category, actor) -> None:
    """Enter the contract's amount among the year's costs under a grant."""
    row = committed(lambda: contracts.record_cost(db.session, actor, contract_id, grant_id, category))
    click.echo(f"費目 {row.cost_item_id} を交付金 {row.grant_id} の対象として計上しました / cost item {row.cost_item_id} "
               f"entered under grant {row.grant_id}")
