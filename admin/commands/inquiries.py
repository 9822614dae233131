"""`renkei inquiries ...`: the secretariat's inquiry log (secretariat/inquiries.py) from the command line.

* ``list [--overdue] [--status S]``: the log by due date;
* ``record --kind K --channel C --category C --subject S --question Q [--name --email ...]``: one taken by mail,
  phone or in person (its due date in business days, ``RENKEI_INQUIRY_RESPONSE_DAYS``);
* ``reply ID --body TEXT``: a reply queued in the outbox and kept with the inquiry;
* ``move ID start|answer|close|reopen``; ``assign ID --name NAME``;
* ``purge``: remove the personal data of inquiries closed ``RENKEI_INQUIRY_RETENTION_DAYS`` ago (the due job's).
Every act is audited by the operation.
"""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import with_appcontext

from admin.commands.acting import acting
from admin.commands.output import committed
from admin.extensions import db
from core import authz
from core.calendar import today_jst
from secretariat import inquiries as inq


@click.group("inquiries")
def group() -> None:
    """Inquiries to the secretariat (問合せ窓口)."""


@group.command("list")
@click.option("--overdue", is_flag=True, help="Only open inquiries past their due day.")
@click.option("--status", type=click.Choice([s.value for s in inq.InquiryStatus]))
@with_appcontext
@acting(authz.OPERATOR)
def list_command(overdue: bool, status: str | None, actor) -> None:
    """The inquiry log: number, due day, status, category, subject."""
    rows = committed(lambda: inq.list_inquiries(db.session, actor, status=status,
                                                overdue_on=today_jst() if overdue else None))
    for row in rows:
        late = " 期限超過/overdue" if inq.is_overdue(row) else ""
        click.echo(f"{row.id}\t{row.due_on.isoformat()}\t{row.status.ja}\t"
                   f"{row.category.ja}\t{row.subject}{late}")


@group.command("record")
@click.option("--kind", "inquirer_kind", required=True, type=click.Choice([k.value for k in inq.InquirerKind]))
@click.option("--channel", required=True, type=click.Choice([c.value for c in inq.Channel]))
@click.option("--category", required=True, type=click.Choice([c.value for c in inq.Category]))
@click.option("--subject", required=True)
@click.option("--question", required=True)
@click.option("--name", "inquirer_name", default="")
@click.option("--organisation", "organisation_name", default="")
@click.option("--email", default="")
@click.option("--phone", default="")
@click.option("--member", "member_number", default="")
@click.option("--tenant", "tenant_code", default="")
@click.option("--dataset", "dataset_uid", default="")
@click.option("--incident", "incident_ref", default="")
@with_appcontext
@acting(authz.OPERATOR)
def record_command(actor, **fields) -> None:
    """Record an inquiry taken by mail, phone or in person."""
    days = int(current_app.config.get("RENKEI_INQUIRY_RESPONSE_DAYS", inq.DEFAULT_RESPONSE_DAYS))
    row = committed(lambda: inq.record_inquiry(db.session, actor, inq.InquiryDraft(**fields), response_days=days))
    click.echo(f"問合せ {row.id} を登録しました（回答期限 {row.due_on.isoformat()}） / inquiry {row.id} recorded, "
               f"due {row.due_on.isoformat()}")


@group.command("reply")
@click.argument("inquiry_id", type=click.IntRange(1, 2**31 - 1))
@click.option("--body", required=True)
@with_appcontext
@acting(authz.OPERATOR)
def reply_command(inquiry_id: int, body: str, actor) -> None:
    """Reply to the inquirer: queued in the outbox and kept with the inquiry."""
    sent = committed(lambda: inq.reply(db.session, actor, inquiry_id, body))
    click.echo(f"回答を送信待ちにしました（通知 {sent.notification_id}） / reply queued (notification {sent.notification_id})")


@group.command("move")
@click.argument("inquiry_id", type=click.IntRange(1, 2**31 - 1))
@click.argument("move", type=click.Choice(list(inq.INQUIRIES.moves)))
@with_appcontext
@acting(authz.OPERATOR)
def move_command(inquiry_id: int, move: str, actor) -> None:
    """Move an inquiry: start, answer, close or reopen."""
    row = committed(lambda: inq.transition(db.session, actor, inquiry_id, move))
    click.echo(f"{row.id}: {row.status.ja} / {row.status.en}")


@group.command("assign")
@click.argument("inquiry_id", type=click.IntRange(1, 2**31 - 1))
@click.option("--name", required=True, help="The secretariat person who handles it.")
@with_appcontext
@acting(authz.OPERATOR)
def assign_command(inquiry_id: int, name: str, actor) -> None:
    """Give an inquiry to a secretariat person."""
    row = committed(lambda: inq.assign(db.session, actor, inquiry_id, subject="", name=name))
    click.echo(f"{row.id}: {row.assignee_name}")


def purge_due(actor) -> int:
    """The due job's purge: personal data of inquiries closed longer ago than the setting."""
    days = int(current_app.config.get("RENKEI_INQUIRY_RETENTION_DAYS", 1095))
    return inq.purge_personal_data(db.session, actor, retention_days=days)


@group.command("purge")
@with_appcontext
@acting(authz.OPERATOR)
def purge_command(actor) -> None:
    """Remove the personal data of inquiries closed longer ago than RENKEI_INQUIRY_RETENTION_DAYS."""
    count = committed(lambda: purge_due(actor))
    click.echo(f"問合せ {count} 件の個人情報を削除しました / removed the personal data of {count} inquiries")
