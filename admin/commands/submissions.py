"""`renkei submissions ...`: the documents a contractor owes the prefecture (提出・検査・承認) on the command line.

* ``list [--overdue]``: the documents the person may see: number, kind, title, due date, state (Japanese first);
* ``submit ID --file F`` (or ``--text T``): a new version, by the contractor that owes it;
* ``approve ID`` / ``return ID --reason R``: the prefecture's inspection (both ask first: an approval freezes the
  document, a return sends it back).

The rules are :mod:`governance.submissions`', exactly as for the console and the API; every act is audited there.
"""

from __future__ import annotations

from pathlib import Path

import click
from flask.cli import with_appcontext

from admin.commands.acting import acting
from admin.commands.output import committed
from admin.extensions import db
from core import authz
from core.calendar import day_text, today_jst
from governance import submissions as subs


@click.group("submissions")
def group() -> None:
    """The documents contractors owe the prefecture (提出・検査・承認): list, submit, approve, return."""


@group.command("list")
@click.option("--overdue", is_flag=True, help="Only those past their due date and awaiting their contractor.")
@with_appcontext
@acting(authz.OPERATOR)
def list_command(overdue, actor) -> None:
    """Number, kind, title, due date and state of each document the person may see."""
    rows = committed(lambda: subs.overdue(db.session, actor) if overdue else subs.submissions(db.session, actor))
    today = today_jst()
    for row in rows:
        late = "\t期限超過 / overdue" if subs.is_overdue(row, today) else ""
        click.echo(f"#{row.id}\t{row.kind.ja}\t{row.title}\t{day_text(row.due_on)}\t{row.status.ja}{late}")
    if not rows:
        click.echo("該当する書類はありません / none")


@group.command("submit")
@click.argument("submission_id", type=int)
@click.option("--file", "file", type=click.Path(exists=True, dir_okay=False, path_type=Path), help="The document's file.")
@click.option("--text", default="", help="The document as text (instead of a file).")
@with_appcontext
@acting(authz.SECRETARIAT)
def submit_command(submission_id, file, text, actor) -> None:
    """Submit a new version of a document the person's contractor owes."""
    if (file is None) == (not text):
        raise click.UsageError("Give either --file or --text / --file か --text のどちらかを指定してください。")
    data = file.read_bytes() if file is not None else None
    version = committed(lambda: subs.submit(db.session, actor, submission_id, text=text, file=data,
                                            filename=file.name if file is not None else ""))
    click.echo(f"第{version.number}版を提出しました / version {version.number} submitted (SHA-256 {version.sha256})")


@group.command("approve")
@click.argument("submission_id", type=int)
@click.confirmation_option(prompt="この版を承認し、確定します。取り消しはできません。続けますか / Approve and freeze it?")
@with_appcontext
@acting(authz.OPERATOR)
def approve_command(submission_id, actor) -> None:
    """Approve the version awaiting inspection: the document is final, its SHA-256 in the audit chain."""
    row = committed(lambda: subs.approve(db.session, actor, submission_id))
    click.echo(f"承認しました / approved: #{row.id} (SHA-256 {row.approved_sha256})")


@group.command("return")
@click.argument("submission_id", type=int)
@click.option("--reason", required=True, help="Why it is returned (the contractor reads it).")
@click.confirmation_option(prompt="この版を理由を付けて差し戻します。続けますか / Return it with the reason?")
@with_appcontext
@acting(authz.OPERATOR)
def return_command(submission_id, reason, actor) -> None:
    """Return the version awaiting inspection to its contractor, with the reason."""
    row = committed(lambda: subs.return_submission(db.session, actor, submission_id, reason))
    click.echo(f"差し戻しました / returned: #{row.id}")
